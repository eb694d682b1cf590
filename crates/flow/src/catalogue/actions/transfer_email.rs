use super::prelude::*;

/// Forwards the inbound email.
///
/// Designed here (the seed names it only): the email is forwarded from a mailbox to the
/// recipients (static or read from variables; several in one value separated by `,` or `;`),
/// the original attached as a message (`message/rfc822`, the default) or forwarded inline with
/// its attachments, an optional comment above it, `In-Reply-To`/`References` naming the
/// original. *OK* once the relay took it for at least one recipient (the refused ones in
/// `system.error`), *Reference not found* without the mailbox, *Error* otherwise. With
/// `close_interaction` the interaction ends after *OK*, whatever follows the branch.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferEmail {
    /// Mailbox the email is sent from.
    pub mailbox: Of<kind::Mailbox>,
    pub to: List<Template<1, 320>, 1, 50>,
    #[serde(default)]
    pub cc: List<Template<1, 320>, 0, 50>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<Template<1, 4_000>>,
    #[serde(default = "yes")]
    pub include_attachments: bool,
    /// The original attached as a message (else forwarded inline).
    #[serde(default = "yes")]
    pub as_attachment: bool,
    /// Close the interaction once forwarded.
    #[serde(default = "yes")]
    pub close_interaction: bool,
}

fn yes() -> bool {
    true
}

impl ActionType for TransferEmail {
    const TYPE: &'static str = "transfer_email";
    const LABEL: &'static str = "Transfer the email";
    const CATEGORY: Category = Category::Interconnection;
    const FAMILIES: &'static [crate::ChannelFamily] = EMAIL;
    const DESCRIPTION: &'static str = "Forwards the inbound email to other addresses.";
    const BRANCHES: &'static [BranchDef] =
        branches![ok "OK", error "Error", reference_not_found "Reference not found"];

    runs_itself!();

    fn references(&self) -> Vec<ObjectRef> {
        vec![ObjectRef::of(&self.mailbox, "mailbox")]
    }
}

impl Run for TransferEmail {
    /// Asks the runtime to forward the interaction's email ([`Effect::TransferEmail`]).
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let Some(mailbox) = object_name(cx, &self.mailbox) else {
            cx.set_error("the variable holding the mailbox's reference is empty");
            return Step::Branch("reference_not_found");
        };
        let to = List::<Template<1, 320>, 0, 50>(self.to.0.clone());
        Step::Effect {
            effect: Effect::TransferEmail(TransferRequest {
                mailbox,
                to: super::send_email::recipients(cx, &to),
                cc: super::send_email::recipients(cx, &self.cc),
                comment: self.comment.as_ref().map(|c| cx.render(&c.0)),
                as_attachment: self.as_attachment,
                include_attachments: self.include_attachments,
            }),
            memo: Value::Null,
        }
    }

    fn resume(&self, cx: &mut dyn Cx, _memo: &Value, wake: Wake<'_>) -> Step {
        match super::send_email::email_branch(cx, wake, false) {
            Step::Branch("ok") if self.close_interaction => Step::End("ok"),
            other => other,
        }
    }
}
