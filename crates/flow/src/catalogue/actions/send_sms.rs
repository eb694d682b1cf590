use super::prelude::*;

/// How the SMS is sent.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SmsSendType {
    OutgoingInteraction,
    Basic,
}

/// Sends a templated SMS.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendSms {
    pub template: Selector,
    #[serde(default)]
    pub template_variables: List<FieldValue, 0, 50>,
    /// Overrides the template's content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Template<1, 1_600>>,
    pub send_type: SmsSendType,
    /// Sender number.
    pub sender: Text<1, 32>,
    /// Recipient phone number.
    pub recipient: Template<1, 64>,
}

impl ActionType for SendSms {
    const TYPE: &'static str = "send_sms";
    const LABEL: &'static str = "Send a SMS";
    const CATEGORY: Category = Category::Sending;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Sends an SMS built from a template to a phone number.";
    const BRANCHES: &'static [BranchDef] =
        branches![ok "OK", error "Error", not_mobile "Not mobile", reference_not_found "Reference not found"];

    fn references(&self) -> Vec<ObjectRef> {
        vec![ObjectRef::new(ObjectKind::SmsTemplate, &self.template, "template")]
    }
}
