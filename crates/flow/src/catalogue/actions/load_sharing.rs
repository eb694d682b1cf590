use super::prelude::*;

/// Splits traffic at random over up to ten branches by percentage.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadSharing {
    /// Load of Link 1, Link 2, … in percent; they must add up to 100.
    pub loads: List<Int<0, 100>, 1, 10>,
}

impl ActionType for LoadSharing {
    const TYPE: &'static str = "load_sharing";
    const LABEL: &'static str = "Load sharing";
    const CATEGORY: Category = Category::ActionsAndTree;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str =
        "Draws one of up to ten branches at random, weighted by percentages that add up to 100; \
         takes No link when the drawn branch is not connected.";
    const BRANCHES: &'static [BranchDef] = branches![links, no_link "No link"];
    runs_itself!();

    fn check(&self, issues: &mut Vec<ParamIssue>) {
        let sum: i64 = self.loads.iter().map(|l| l.0).sum();
        if sum != 100 {
            issues.push(ParamIssue::new("loads", format!("the loads add up to {sum}; they must add up to 100")));
        }
    }

    fn branch_reachable(&self, branch: &str) -> bool {
        match link_index(branch) {
            Some(k) => self.loads.get(k - 1).is_some_and(|l| l.0 > 0),
            None => true,
        }
    }
}

impl Run for LoadSharing {
    /// Draws a number in 0..100 and walks the cumulative loads; a drawn link that is not
    /// connected takes *No link*.
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let draw = (cx.random() % 100) as i64;
        let mut cumulative = 0;
        for (i, load) in self.loads.iter().enumerate() {
            cumulative += load.0;
            if draw < cumulative {
                let branch = LINKS[i];
                return Step::Branch(if cx.is_linked(branch) { branch } else { "no_link" });
            }
        }
        Step::Branch("no_link")
    }
}
