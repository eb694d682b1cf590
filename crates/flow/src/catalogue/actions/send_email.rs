use super::prelude::*;

/// How the email is sent.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum EmailSendType {
    /// Recorded as an outgoing interaction of a distribution queue.
    OutgoingInteraction { queue: Selector },
    /// Sent from a mailbox without creating an interaction.
    Basic { mailbox: Selector },
}

/// Sends a templated email.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendEmail {
    pub template: Selector,
    /// Values of the template's variables.
    #[serde(default)]
    pub template_variables: List<FieldValue, 0, 50>,
    pub send: EmailSendType,
    pub to: List<Template<1, 320>, 1, 50>,
    #[serde(default)]
    pub cc: List<Template<1, 320>, 0, 50>,
    #[serde(default)]
    pub bcc: List<Template<1, 320>, 0, 50>,
    /// Overrides the template's subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Template<1, 998>>,
}

impl ActionType for SendEmail {
    const TYPE: &'static str = "send_email";
    const LABEL: &'static str = "Send an email";
    const CATEGORY: Category = Category::Sending;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Sends an email built from a template, as an outgoing interaction or a basic send.";
    const BRANCHES: &'static [BranchDef] =
        branches![ok "OK", partially_sent "Partially sent", reference_not_found "Reference not found", error "Error"];

    fn references(&self) -> Vec<ObjectRef> {
        let mut refs = vec![ObjectRef::new(ObjectKind::EmailTemplate, &self.template, "template")];
        refs.push(match &self.send {
            EmailSendType::OutgoingInteraction { queue } => ObjectRef::new(ObjectKind::Queue, queue, "send.queue"),
            EmailSendType::Basic { mailbox } => ObjectRef::new(ObjectKind::Mailbox, mailbox, "send.mailbox"),
        });
        refs
    }
}
