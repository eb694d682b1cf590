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
    pub template: Of<kind::SmsTemplate>,
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

    runs_itself!();

    fn references(&self) -> Vec<ObjectRef> {
        vec![ObjectRef::of(&self.template, "template")]
    }
}

impl Run for SendSms {
    /// Renders the recipient, the content override and the template's variables in the
    /// interaction's context and asks the runtime to send ([`Effect::SendSms`]).
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let Some(template) = object_name(cx, &self.template) else {
            cx.set_error("the variable holding the SMS template's reference is empty");
            return Step::Branch("reference_not_found");
        };
        let variables = self
            .template_variables
            .0
            .iter()
            .map(|f| (f.field.0.clone(), cx.render(&f.value.0)))
            .collect();
        Step::Effect {
            effect: Effect::SendSms(SmsRequest {
                template,
                variables,
                content: self.content.as_ref().map(|c| cx.render(&c.0)),
                outgoing: matches!(self.send_type, SmsSendType::OutgoingInteraction),
                sender: self.sender.0.clone(),
                recipient: cx.render(&self.recipient.0).trim().to_owned(),
            }),
            memo: Value::Null,
        }
    }

    /// *OK* once the provider took it, *Not mobile* for a valid number that is no mobile's,
    /// *Reference not found* without the template, *Error* otherwise (`system.error` says why).
    fn resume(&self, cx: &mut dyn Cx, _memo: &Value, wake: Wake<'_>) -> Step {
        let outcome = match wake {
            Wake::Result(EffectResult::Sms(outcome)) => outcome,
            _ => return Step::Unavailable("an SMS waits for its outcome"),
        };
        match outcome {
            SmsOutcome::Sent => Step::Branch("ok"),
            SmsOutcome::NotMobile => {
                cx.set_error("the recipient's number is not a mobile number");
                Step::Branch("not_mobile")
            }
            SmsOutcome::ReferenceNotFound => {
                cx.set_error("no such SMS template");
                Step::Branch("reference_not_found")
            }
            SmsOutcome::Error { reason } => {
                cx.set_error(reason);
                Step::Branch("error")
            }
        }
    }
}
