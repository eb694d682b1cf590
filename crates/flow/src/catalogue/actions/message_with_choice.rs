use super::prelude::*;

/// One quick-reply button.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub label: Text<1, 100>,
}

/// Sends a message with buttons and branches on the reply.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageWithChoice {
    pub message: MessageText,
    /// Maximum response wait time in seconds (30 s to 3 h).
    pub wait_seconds: Int<30, 10_800>,
    /// Response k leads to Link k.
    pub choices: List<Choice, 1, 10>,
}

impl ActionType for MessageWithChoice {
    const TYPE: &'static str = "message_with_choice";
    const LABEL: &'static str = "Message with choice";
    const CATEGORY: Category = Category::Messaging;
    const FAMILIES: &'static [crate::ChannelFamily] = MESSAGING;
    const DESCRIPTION: &'static str = "Sends a prompt with 1 to 10 quick replies; each reply takes its own link.";
    const BRANCHES: &'static [BranchDef] = branches![links, error "Error"];

    fn check(&self, issues: &mut Vec<ParamIssue>) {
        for (i, c) in self.choices.iter().enumerate() {
            let key = c.label.0.trim().to_lowercase();
            if self.choices[..i].iter().any(|o| o.label.0.trim().to_lowercase() == key) {
                issues.push(ParamIssue::new(format!("choices[{i}].label"), format!("'{}' is offered twice", c.label.0)));
            }
        }
    }

    fn branch_reachable(&self, branch: &str) -> bool {
        link_index(branch).is_none_or(|k| k <= self.choices.len())
    }
}
