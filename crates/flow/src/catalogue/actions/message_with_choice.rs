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
    runs_itself!();

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

/// Folds text for comparison: accents removed, lower case, spaces collapsed.
pub fn fold(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let stripped: String = text.nfd().filter(|c| !unicode_normalization::char::is_combining_mark(*c)).collect();
    stripped.to_lowercase().split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Run for MessageWithChoice {
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let text = cx.render(&self.message.0);
        let choices = self.choices.iter().map(|c| c.label.0.clone()).collect();
        cx.send(Outbound::Choice { text, choices });
        let until = cx.now() + jiff::SignedDuration::from_secs(self.wait_seconds.0);
        Step::Wait { message: true, until: Some(until), memo: Value::Null }
    }

    /// A pressed button, the label typed (case- and accent-insensitive) or the choice's number
    /// takes its link; anything else, or no answer in time, takes *Error*.
    fn resume(&self, cx: &mut dyn Cx, _memo: &Value, wake: Wake<'_>) -> Step {
        let message = match wake {
            Wake::Timeout => {
                cx.set_error("response_timeout");
                return Step::Branch("error");
            }
            Wake::Message(m) => m,
            Wake::Result(_) => return Step::Unavailable("a question waits for the customer, not for a result"),
        };
        let labels: Vec<&str> = self.choices.iter().map(|c| c.label.0.as_str()).collect();
        match choose(&labels, message) {
            Some(i) => Step::Branch(LINKS[i]),
            None => {
                cx.set_error("invalid_choice");
                Step::Branch("error")
            }
        }
    }
}

/// Which choice (0-based) a customer message picks: a pressed button (1-based number), the
/// label typed (case-, accent- and space-insensitive), or the choice's number typed.
pub fn choose(labels: &[&str], message: &crate::exec::Inbound) -> Option<usize> {
    let n = labels.len();
    if let Some(k) = message.choice.map(|k| k as usize).filter(|k| (1..=n).contains(k)) {
        return Some(k - 1);
    }
    let typed = fold(&message.text);
    if let Some(i) = labels.iter().position(|l| fold(l) == typed) {
        return Some(i);
    }
    typed.parse::<usize>().ok().filter(|k| (1..=n).contains(k)).map(|k| k - 1)
}
