use super::prelude::*;

/// Unit of the counting window.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PeriodUnit {
    Days,
    Weeks,
    Months,
}

/// The window over which previous contacts are counted.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Period {
    pub unit: PeriodUnit,
    pub value: Int<1, 366>,
}

/// Branches on the number of the customer's previous contacts.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckNthContact {
    pub period: Period,
    /// Threshold of Link 1, Link 2…: the interaction takes the link with the smallest threshold
    /// at or above the counted contacts; none → *No link*. Best written in increasing order.
    pub thresholds: List<Int<0, 100_000>, 1, 10>,
}

impl ActionType for CheckNthContact {
    const TYPE: &'static str = "check_nth_contact";
    const LABEL: &'static str = "Check Nth contact";
    const CATEGORY: Category = Category::Data;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Counts the customer's contacts over a period and branches on ordered thresholds.";
    const BRANCHES: &'static [BranchDef] = branches![links, no_link "No link"];

    fn branch_reachable(&self, branch: &str) -> bool {
        link_index(branch).is_none_or(|k| k <= self.thresholds.len())
    }
}
