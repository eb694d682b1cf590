use super::prelude::*;

/// Where keywords are searched.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchIn {
    Subject,
    Body,
    SubjectAndBody,
}

/// Keywords of one branch.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeywordGroup {
    pub keywords: List<Text<1, 100>, 1, 50>,
}

/// Branches on keywords found in the email.
///
/// Designed here (the seed names it only): groups are tried in order; the first group with a
/// keyword present (case- and accent-insensitive, whole words) takes its Link; none → *By default*.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DetectKeywords {
    pub search_in: SearchIn,
    pub groups: List<KeywordGroup, 1, 10>,
}

impl ActionType for DetectKeywords {
    const TYPE: &'static str = "detect_keywords";
    const LABEL: &'static str = "Detect keywords";
    const CATEGORY: Category = Category::Interconnection;
    const FAMILIES: &'static [crate::ChannelFamily] = EMAIL;
    const DESCRIPTION: &'static str = "Looks for groups of keywords in the subject and/or body; the first group found takes its link.";
    const BRANCHES: &'static [BranchDef] = branches![links, by_default "By default"];

    fn branch_reachable(&self, branch: &str) -> bool {
        link_index(branch).is_none_or(|k| k <= self.groups.len())
    }
}
