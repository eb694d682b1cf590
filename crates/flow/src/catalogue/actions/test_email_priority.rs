use super::prelude::*;

/// Branches on the priority of the inbound email.
///
/// Designed here (the seed names it only): the priority is read from the `Importance`,
/// `Priority` and `X-Priority` headers. `X-Priority` 1–2, `Importance: high` or
/// `Priority: urgent` mean *High*; 4–5, `low` or `non-urgent` mean *Low*; anything else,
/// including no header, is *Normal*.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestEmailPriority {}

impl ActionType for TestEmailPriority {
    const TYPE: &'static str = "test_email_priority";
    const LABEL: &'static str = "Test an email priority";
    const CATEGORY: Category = Category::Interconnection;
    const FAMILIES: &'static [crate::ChannelFamily] = EMAIL;
    const DESCRIPTION: &'static str = "Branches on the priority the sender gave the email (High, Normal, Low).";
    const BRANCHES: &'static [BranchDef] = branches![high "High", normal "Normal", low "Low"];
}
