use super::prelude::*;

/// Forwards the inbound email.
///
/// Designed here (the seed names it only): the email is forwarded from a mailbox to the
/// recipients, with an optional comment above it and its attachments.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferEmail {
    /// Mailbox the email is sent from.
    pub mailbox: Selector,
    pub to: List<Template<1, 320>, 1, 50>,
    #[serde(default)]
    pub cc: List<Template<1, 320>, 0, 50>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<Template<1, 4_000>>,
    #[serde(default = "yes")]
    pub include_attachments: bool,
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

    fn references(&self) -> Vec<ObjectRef> {
        vec![ObjectRef::new(ObjectKind::Mailbox, &self.mailbox, "mailbox")]
    }
}
