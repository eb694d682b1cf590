use super::prelude::*;

/// How the email is sent.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum EmailSendType {
    /// Recorded as an outgoing interaction of a distribution queue.
    OutgoingInteraction { queue: Of<kind::Queue> },
    /// Sent from a mailbox without creating an interaction.
    Basic { mailbox: Of<kind::Mailbox> },
}

/// Sends a templated email.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendEmail {
    pub template: Of<kind::EmailTemplate>,
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

    runs_itself!();

    fn references(&self) -> Vec<ObjectRef> {
        let mut refs = vec![ObjectRef::of(&self.template, "template")];
        refs.push(match &self.send {
            EmailSendType::OutgoingInteraction { queue } => ObjectRef::of(queue, "send.queue"),
            EmailSendType::Basic { mailbox } => ObjectRef::of(mailbox, "send.mailbox"),
        });
        refs
    }
}

/// The rendered, trimmed, non-empty recipients of a list.
pub(super) fn recipients(cx: &dyn Cx, list: &List<Template<1, 320>, 0, 50>) -> Vec<String> {
    list.0
        .iter()
        .flat_map(|t| {
            // a variable may hold several addresses, separated by commas or semicolons
            cx.render(&t.0)
                .split([',', ';'])
                .map(|a| a.trim().to_owned())
                .filter(|a| !a.is_empty())
                .collect::<Vec<_>>()
        })
        .take(100)
        .collect()
}

/// Maps an email's outcome to the branches both email-sending actions share: *OK*, *Partially
/// sent* (when the action has it; else *OK* with the refused recipients in `system.error`),
/// *Reference not found*, *Error* (`system.error` says why).
pub(super) fn email_branch(cx: &mut dyn Cx, wake: Wake<'_>, partial: bool) -> Step {
    let outcome = match wake {
        Wake::Result(EffectResult::Email(outcome)) => outcome,
        _ => return Step::Unavailable("an email waits for its outcome"),
    };
    match outcome {
        EmailOutcome::Sent => Step::Branch("ok"),
        EmailOutcome::PartiallySent { refused } => {
            cx.set_error(&format!("not sent to {}", refused.join(", ")));
            Step::Branch(if partial { "partially_sent" } else { "ok" })
        }
        EmailOutcome::ReferenceNotFound => {
            cx.set_error("no such template or mailbox");
            Step::Branch("reference_not_found")
        }
        EmailOutcome::Error { reason } => {
            cx.set_error(reason);
            Step::Branch("error")
        }
    }
}

impl Run for SendEmail {
    /// Renders the recipients, the subject override and the template's variables in the
    /// interaction's context and asks the runtime to send ([`Effect::SendEmail`]).
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let Some(template) = object_name(cx, &self.template) else {
            cx.set_error("the variable holding the email template's reference is empty");
            return Step::Branch("reference_not_found");
        };
        let sender = match &self.send {
            EmailSendType::OutgoingInteraction { queue } => object_name(cx, queue).map(|queue| EmailSender::OutgoingInteraction { queue }),
            EmailSendType::Basic { mailbox } => object_name(cx, mailbox).map(|mailbox| EmailSender::Basic { mailbox }),
        };
        let Some(sender) = sender else {
            cx.set_error("the variable holding the queue's or mailbox's reference is empty");
            return Step::Branch("reference_not_found");
        };
        let variables = self.template_variables.0.iter().map(|f| (f.field.0.clone(), cx.render(&f.value.0))).collect();
        let to = List::<Template<1, 320>, 0, 50>(self.to.0.clone());
        Step::Effect {
            effect: Effect::SendEmail(EmailRequest {
                template,
                variables,
                sender,
                to: recipients(cx, &to),
                cc: recipients(cx, &self.cc),
                bcc: recipients(cx, &self.bcc),
                subject: self.subject.as_ref().map(|s| cx.render(&s.0)),
            }),
            memo: Value::Null,
        }
    }

    /// *OK*, *Partially sent*, *Reference not found* or *Error*.
    fn resume(&self, cx: &mut dyn Cx, _memo: &Value, wake: Wake<'_>) -> Step {
        email_branch(cx, wake, true)
    }
}
