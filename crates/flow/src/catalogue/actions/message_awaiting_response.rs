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
    pub variable: VarTarget,
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
    runs_itself!();
}

/// Longest accepted long-text answer, in characters.
pub const LONG_TEXT_MAX: usize = 10_000;

/// Checks an answer against its expected type; returns the value to store, or why it is refused.
pub fn validate_answer(kind: AnswerType, message: &crate::exec::Inbound, phone_region: &str) -> Result<Value, &'static str> {
    let text = message.text.trim();
    match kind {
        AnswerType::Number => {
            let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            let normal = if compact.contains(',') && !compact.contains('.') { compact.replacen(',', ".", 1) } else { compact };
            if normal.is_empty() || normal.len() > 40 || !normal.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+')) {
                return Err("not_a_number");
            }
            let n: f64 = normal.parse().map_err(|_| "not_a_number")?;
            if !n.is_finite() {
                return Err("not_a_number");
            }
            if n.fract() == 0.0 && n.abs() < 9.0e15 {
                Ok(json!(n as i64))
            } else {
                Ok(json!(n))
            }
        }
        AnswerType::Email => {
            if text.len() <= 254 && text.contains('.') && email_address::EmailAddress::is_valid(text) {
                Ok(Value::String(text.to_owned()))
            } else {
                Err("not_an_email")
            }
        }
        AnswerType::Date => crate::exec::parse_date(text).map(|d| Value::String(d.to_string())).ok_or("not_a_date"),
        AnswerType::LongText => {
            let n = text.chars().count();
            if n == 0 {
                Err("empty_answer")
            } else if n > LONG_TEXT_MAX {
                Err("text_too_long")
            } else {
                Ok(Value::String(text.to_owned()))
            }
        }
        AnswerType::Image => message
            .attachments
            .iter()
            .find(|a| a.content_type.starts_with("image/"))
            .map(|a| json!({"url": a.url, "content_type": a.content_type, "size": a.size}))
            .ok_or("not_an_image"),
        AnswerType::Phone => {
            let region = phone_region.parse::<phonenumber::country::Id>().ok();
            if text.len() > 40 {
                return Err("not_a_phone_number");
            }
            match phonenumber::parse(region, text) {
                Ok(number) if phonenumber::is_valid(&number) => Ok(Value::String(number.format().mode(phonenumber::Mode::E164).to_string())),
                _ => Err("not_a_phone_number"),
            }
        }
    }
}

/// Where a waiting question stands.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Progress {
    question: usize,
    attempts: i64,
}

impl MessageAwaitingResponse {
    fn ask(&self, cx: &mut dyn Cx, question: usize, attempts: i64) -> Step {
        let text = cx.render(&self.questions[question].question.0);
        cx.send(Outbound::Text { text });
        let until = cx.now() + jiff::SignedDuration::from_secs(self.wait_seconds.0);
        Step::Wait { message: true, until: Some(until), memo: json!(Progress { question, attempts }) }
    }
}

impl Run for MessageAwaitingResponse {
    fn run(&self, cx: &mut dyn Cx) -> Step {
        if let Some(welcome) = &self.message {
            let text = cx.render(&welcome.0);
            cx.send(Outbound::Text { text });
        }
        self.ask(cx, 0, 0)
    }

    /// A valid answer is stored and the next question asked (or *OK* after the last); an invalid
    /// one gets the error message and the question again, until the attempts run out (*Maximum
    /// number of attempts reached*); no answer in time takes *Error* with `system.error` set to
    /// `response_timeout`.
    fn resume(&self, cx: &mut dyn Cx, memo: &Value, wake: Wake<'_>) -> Step {
        let progress: Progress = serde_json::from_value(memo.clone()).unwrap_or_default();
        let Some(question) = self.questions.get(progress.question) else {
            cx.set_error("lost_question");
            return Step::Branch("error");
        };
        let message = match wake {
            Wake::Timeout => {
                cx.set_error("response_timeout");
                return Step::Branch("error");
            }
            Wake::Message(m) => m,
            Wake::Result(_) => return Step::Unavailable("a question waits for the customer, not for a result"),
        };
        match validate_answer(question.answer_type, message, cx.phone_region()) {
            Ok(value) => {
                if let Err(reason) = cx.set(&question.variable.0, value) {
                    cx.set_error(&reason);
                    return Step::Branch("error");
                }
                if progress.question + 1 == self.questions.len() {
                    Step::Branch("ok")
                } else {
                    self.ask(cx, progress.question + 1, 0)
                }
            }
            Err(reason) => {
                let attempts = progress.attempts + 1;
                if attempts >= self.max_attempts.0 {
                    cx.set_error(reason);
                    return Step::Branch("max_attempts");
                }
                let text = cx.render(&self.error_message.0);
                cx.send(Outbound::Text { text });
                self.ask(cx, progress.question, attempts)
            }
        }
    }
}
