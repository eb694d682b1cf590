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

    runs_itself!();
}

impl Run for DetectKeywords {
    /// Folds the searched text and the keywords alike ([`crate::email::fold`]: decomposed,
    /// accents removed, lower case; runs of white space as one space), finds every keyword with
    /// one aho-corasick automaton, keeps whole-word matches (no letter or digit either side)
    /// and takes the link of the first group, in the list's order, that has one. No email (a
    /// preview) searches nothing: *By default*.
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let Some(email) = crate::exec::email_of(cx) else {
            return Step::Branch("by_default");
        };
        let text = match self.search_in {
            SearchIn::Subject => email.subject,
            SearchIn::Body => email.text,
            SearchIn::SubjectAndBody => format!("{}\n{}", email.subject, email.text),
        };
        match first_group(&self.groups.0, &text) {
            Some(k) => Step::Branch(LINKS[k]),
            None => Step::Branch("by_default"),
        }
    }
}

fn squeeze(text: &str) -> String {
    crate::email::fold(text).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The index of the first group with a keyword present in `text` as whole words.
fn first_group(groups: &[KeywordGroup], text: &str) -> Option<usize> {
    let mut patterns = Vec::new();
    let mut group_of = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        for k in group.keywords.iter() {
            let k = squeeze(&k.0);
            if !k.is_empty() {
                patterns.push(k);
                group_of.push(g);
            }
        }
    }
    let automaton = aho_corasick::AhoCorasick::new(&patterns).ok()?;
    let text = squeeze(text);
    let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    automaton
        .find_overlapping_iter(&text)
        .filter(|m| {
            !word(text[..m.start()].chars().next_back()) && !word(text[m.end()..].chars().next())
        })
        .map(|m| group_of[m.pattern().as_usize()])
        .min()
}
