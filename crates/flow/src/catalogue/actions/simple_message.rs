use super::prelude::*;

/// Sends a message to the customer.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimpleMessage {
    pub message: MessageText,
}

impl ActionType for SimpleMessage {
    const TYPE: &'static str = "simple_message";
    const LABEL: &'static str = "Simple message";
    const CATEGORY: Category = Category::Messaging;
    const FAMILIES: &'static [crate::ChannelFamily] = MESSAGING;
    const DESCRIPTION: &'static str = "Sends a text to the customer; expects no answer.";
    const BRANCHES: &'static [BranchDef] = branches![ok "OK"];
    runs_itself!();
}

impl Run for SimpleMessage {
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let text = cx.render(&self.message.0);
        cx.send(Outbound::Text { text });
        Step::Branch("ok")
    }
}
