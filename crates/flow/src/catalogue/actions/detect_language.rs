use super::prelude::*;

/// Branches on the language of the email.
///
/// Designed here (the seed names it only): Link k is taken when the email is written in the
/// k-th language of the list with at least the minimum confidence; otherwise *By default*.
/// The detected ISO 639-1 code can be stored in a variable.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DetectLanguage {
    /// ISO 639-1 codes (`en`, `fr`, …), one per link.
    pub languages: List<Text<2, 2>, 1, 10>,
    /// Minimum confidence in percent.
    #[serde(default = "fifty")]
    pub min_confidence: Int<0, 100>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_in: Option<VarTarget>,
}

fn fifty() -> Int<0, 100> {
    Int(50)
}

impl ActionType for DetectLanguage {
    const TYPE: &'static str = "detect_language";
    const LABEL: &'static str = "Detection of the language";
    const CATEGORY: Category = Category::Interconnection;
    const FAMILIES: &'static [crate::ChannelFamily] = EMAIL;
    const DESCRIPTION: &'static str = "Detects the language of the email and branches on it.";
    const BRANCHES: &'static [BranchDef] = branches![links, by_default "By default"];

    fn check(&self, issues: &mut Vec<ParamIssue>) {
        for (i, code) in self.languages.iter().enumerate() {
            if !code.0.chars().all(|c| c.is_ascii_lowercase()) {
                issues.push(ParamIssue::new(format!("languages[{i}]"), "a language is a lower-case ISO 639-1 code such as 'en'"));
            } else if self.languages[..i].contains(code) {
                issues.push(ParamIssue::new(format!("languages[{i}]"), format!("'{}' is listed twice", code.0)));
            }
        }
    }

    fn branch_reachable(&self, branch: &str) -> bool {
        link_index(branch).is_none_or(|k| k <= self.languages.len())
    }
}
