use super::prelude::*;

/// Expected type of an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnswerType {
    Number,
    Email,
    Date,
    /// Free text of at most 10 000 characters.
    LongText,
    Image,
    /// Normalised to E.164.
    Phone,
}

/// One question.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub question: MessageText,
    pub answer_type: AnswerType,
    /// Variable (and field) receiving the validated answer.
    pub variable: VarPath,
}

/// Asks questions and stores validated answers.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageAwaitingResponse {
    /// Welcome text sent before the first question.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<MessageText>,
    /// Maximum response wait time in seconds (30 s to 3 h).
    pub wait_seconds: Int<30, 10_800>,
    /// Maximum number of response attempts per question.
    pub max_attempts: Int<1, 10>,
    /// Sent when an answer fails validation.
    pub error_message: MessageText,
    pub questions: List<Question, 1, 10>,
}

impl ActionType for MessageAwaitingResponse {
    const TYPE: &'static str = "message_awaiting_response";
    const LABEL: &'static str = "Message awaiting response";
    const CATEGORY: Category = Category::Messaging;
    const FAMILIES: &'static [crate::ChannelFamily] = MESSAGING;
    const DESCRIPTION: &'static str = "Sends a welcome text and 1 to 10 questions, validates each answer by type and stores it.";
    const BRANCHES: &'static [BranchDef] =
        branches![ok "OK", error "Error", max_attempts "Maximum number of attempts reached"];
}
