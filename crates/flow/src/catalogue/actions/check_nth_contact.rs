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
    runs_itself!();

    fn branch_reachable(&self, branch: &str) -> bool {
        link_index(branch).is_none_or(|k| k <= self.thresholds.len())
    }
}

impl Run for CheckNthContact {
    /// Counts the customer's earlier contacts in the period, then takes the link whose threshold
    /// is the smallest at or above that count (the first such link on ties); none → *No link*.
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let now = cx.now().to_zoned(cx.time_zone().clone());
        let span = match self.period.unit {
            PeriodUnit::Days => jiff::Span::new().days(self.period.value.0),
            PeriodUnit::Weeks => jiff::Span::new().weeks(self.period.value.0),
            PeriodUnit::Months => jiff::Span::new().months(self.period.value.0),
        };
        let since = now.checked_sub(span).map(|z| z.timestamp()).unwrap_or(jiff::Timestamp::MIN);
        let count = i64::from(cx.contacts_since(since));
        let best = self
            .thresholds
            .iter()
            .enumerate()
            .filter(|(_, t)| t.0 >= count)
            .min_by_key(|(i, t)| (t.0, *i));
        Step::Branch(best.map(|(i, _)| LINKS[i]).unwrap_or("no_link"))
    }
}
