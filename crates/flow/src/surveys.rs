//! Surveys (seed 003 §10): the data of a `survey` business object — its questions (a rating,
//! a choice among options, free text), the message that opens it and the one that thanks —
//! and how it is conducted, as pure functions: the prompt of each question as a channel
//! carries it, a customer's message read as the answer to the current one, what follows.
//!
//! *Survey* attaches a survey to the interaction; when the interaction closes, the runtime
//! conducts it in the channel (messaging: the customer's next messages are its answers, until
//! it is answered, expires or the customer writes something else twice) or sends its link by
//! email (email family: the answers are given on a page of the public surface).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::exec::{Inbound, Outbound};
use crate::model::FieldError;

/// Bounds of surveys and their answers.
pub mod limits {
    /// Most questions of a survey.
    pub const QUESTIONS: usize = 20;
    /// Longest question key, question text, intro and thanks, in characters.
    pub const KEY: usize = 64;
    pub const TEXT: usize = 1_000;
    /// Most options of a choice question, and the longest one.
    pub const OPTIONS: usize = 10;
    pub const OPTION: usize = 100;
    /// Widest rating range (its bounds are within 0 to 100).
    pub const RATING_STEPS: i64 = 11;
    pub const RATING_MAX: i64 = 100;
    /// Longest free-text answer, in characters.
    pub const FREE_TEXT: usize = 2_000;
    /// How long a survey waits for its answers, in hours (default 24, at most a week).
    pub const HOURS_DEFAULT: u32 = 24;
    pub const HOURS_MAX: u32 = 168;
    /// Answers that are no answer to the current question before the survey is given up (the
    /// message that is none then opens a new interaction).
    pub const ATTEMPTS: u32 = 2;
}

/// What a question takes as its answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AnswerKind {
    /// A whole number from `min` to `max` (at most 11 steps, within 0 to 100): 1 to 5, 0 to 10.
    #[schemars(title = "Rating")]
    Rating { min: i64, max: i64 },
    /// One of the options (at most 10), by its number or its text.
    #[schemars(title = "Choice")]
    Choice { options: Vec<String> },
    /// Any text up to 2 000 characters.
    #[schemars(title = "Free text")]
    FreeText,
}

/// One question of a survey.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// Names the answer (an export's column): letters, digits, `_`, `-`; unique in the survey.
    pub key: String,
    pub text: String,
    pub answer: AnswerKind,
}

fn default_hours() -> u32 {
    limits::HOURS_DEFAULT
}

/// A survey: the data of a `survey` business object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyData {
    /// Sent before the first question (in the channel), or as the email's text before its link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intro: Option<String>,
    /// 1 to 20 questions, asked in order.
    pub questions: Vec<Question>,
    /// Sent once the last question is answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thanks: Option<String>,
    /// How long the survey waits for its answers after the interaction closed (1 to 168 hours;
    /// default 24, the window in which WhatsApp and Messenger let a business write).
    #[serde(default = "default_hours")]
    pub expires_after_hours: u32,
}

fn bad(message: String) -> FieldError {
    FieldError {
        field: "data",
        message,
    }
}

fn check_text(name: &str, text: &str) -> Result<(), FieldError> {
    let n = text.trim().chars().count();
    if n == 0 || text.chars().count() > limits::TEXT {
        return Err(bad(format!("{name} has 1 to {} characters", limits::TEXT)));
    }
    Ok(())
}

impl SurveyData {
    /// Checks a survey: 1 to 20 questions with unique keys, texts bounded, ratings of at most
    /// 11 steps within 0 to 100, choices of 2 to 10 distinct options, its expiry 1 to 168
    /// hours.
    pub fn check(&self) -> Result<(), FieldError> {
        if self.questions.is_empty() || self.questions.len() > limits::QUESTIONS {
            return Err(bad(format!(
                "a survey has 1 to {} questions",
                limits::QUESTIONS
            )));
        }
        for (name, text) in [("intro", &self.intro), ("thanks", &self.thanks)] {
            if let Some(t) = text {
                check_text(name, t)?;
            }
        }
        if !(1..=limits::HOURS_MAX).contains(&self.expires_after_hours) {
            return Err(bad(format!(
                "expires_after_hours is 1 to {}",
                limits::HOURS_MAX
            )));
        }
        let mut keys = std::collections::HashSet::new();
        for q in &self.questions {
            if q.key.is_empty()
                || q.key.chars().count() > limits::KEY
                || !q
                    .key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(bad(format!(
                    "a question key has 1 to {} letters, digits, '_' or '-' ('{}' does not)",
                    limits::KEY,
                    q.key.chars().take(limits::KEY).collect::<String>()
                )));
            }
            if !keys.insert(q.key.to_ascii_lowercase()) {
                return Err(bad(format!("two questions have the key '{}'", q.key)));
            }
            check_text(&format!("the text of question '{}'", q.key), &q.text)?;
            match &q.answer {
                AnswerKind::Rating { min, max } => {
                    if *min < 0 || *max > limits::RATING_MAX || max <= min {
                        return Err(bad(format!(
                            "the rating of '{}' goes from a lower to a higher whole number within 0 to {}",
                            q.key,
                            limits::RATING_MAX
                        )));
                    }
                    if max - min + 1 > limits::RATING_STEPS {
                        return Err(bad(format!(
                            "the rating of '{}' has at most {} steps",
                            q.key,
                            limits::RATING_STEPS
                        )));
                    }
                }
                AnswerKind::Choice { options } => {
                    if options.len() < 2 || options.len() > limits::OPTIONS {
                        return Err(bad(format!(
                            "the choice of '{}' has 2 to {} options",
                            q.key,
                            limits::OPTIONS
                        )));
                    }
                    let mut seen = std::collections::HashSet::new();
                    for o in options {
                        let n = o.trim().chars().count();
                        if n == 0 || o.chars().count() > limits::OPTION {
                            return Err(bad(format!(
                                "an option of '{}' has 1 to {} characters",
                                q.key,
                                limits::OPTION
                            )));
                        }
                        if !seen.insert(o.trim().to_lowercase()) {
                            return Err(bad(format!(
                                "the choice of '{}' has the option '{o}' twice",
                                q.key
                            )));
                        }
                    }
                }
                AnswerKind::FreeText => {}
            }
        }
        Ok(())
    }

    /// How long the survey waits for its answers.
    pub fn expiry(&self) -> jiff::SignedDuration {
        jiff::SignedDuration::from_hours(i64::from(self.expires_after_hours))
    }

    /// The first messages of a survey conducted in the channel: the intro (if any), then the
    /// first question.
    pub fn opening(&self) -> Vec<Outbound> {
        let mut out = Vec::new();
        if let Some(intro) = &self.intro {
            out.push(Outbound::Text {
                text: intro.clone(),
            });
        }
        if let Some(q) = self.questions.first() {
            out.push(q.prompt());
        }
        out
    }

    /// Reads a customer's message as the answer to the question at `progress`, and says what
    /// follows. A progress past the last question (a survey already answered) gives
    /// [`Turn::Done`] with nothing to say.
    pub fn answer(&self, progress: &Progress, message: &Inbound) -> Turn {
        let Some(q) = self.questions.get(progress.question as usize) else {
            return Turn::Done {
                progress: progress.clone(),
                say: Vec::new(),
            };
        };
        match q.read(message) {
            Ok(value) => {
                let mut next = progress.clone();
                next.answers.insert(q.key.clone(), value);
                next.question += 1;
                next.attempts = 0;
                match self.questions.get(next.question as usize) {
                    Some(q) => Turn::Next {
                        progress: next,
                        say: vec![q.prompt()],
                    },
                    None => Turn::Done {
                        progress: next,
                        say: self
                            .thanks
                            .iter()
                            .map(|t| Outbound::Text { text: t.clone() })
                            .collect(),
                    },
                }
            }
            Err(hint) if progress.attempts + 1 < limits::ATTEMPTS => {
                let mut next = progress.clone();
                next.attempts += 1;
                Turn::Next {
                    progress: next,
                    say: vec![Outbound::Text { text: hint }, q.prompt()],
                }
            }
            Err(_) => Turn::GivenUp,
        }
    }

    /// Reads the answers of the survey's page (the email family): each question's field by
    /// its key. `Err` names the first question whose answer is missing or does not fit.
    pub fn answers_of_form(
        &self,
        fields: &[(String, String)],
    ) -> Result<Map<String, Value>, String> {
        let mut answers = Map::new();
        for q in &self.questions {
            let given = fields
                .iter()
                .find(|(k, _)| k == &q.key)
                .map(|(_, v)| v.as_str())
                .unwrap_or_default();
            let message = Inbound {
                text: given.to_owned(),
                ..Inbound::default()
            };
            let value = q
                .read(&message)
                .map_err(|hint| format!("{}: {hint}", q.text))?;
            answers.insert(q.key.clone(), value);
        }
        Ok(answers)
    }
}

/// Where a survey conducted in the channel stands.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The question waiting for its answer (0-based).
    pub question: u32,
    /// Messages that were no answer to it so far.
    pub attempts: u32,
    /// The answers given, by question key.
    pub answers: Map<String, Value>,
}

/// What a customer's message does to a survey.
#[derive(Clone, Debug, PartialEq)]
pub enum Turn {
    /// Answered (or not, once): the next question, or the same one again with a hint.
    Next {
        progress: Progress,
        say: Vec<Outbound>,
    },
    /// The last question answered: the thanks.
    Done {
        progress: Progress,
        say: Vec<Outbound>,
    },
    /// The customer wrote something else again: the survey ends unanswered and the message is
    /// not for it.
    GivenUp,
}

impl Question {
    /// The question as the channel carries it: a rating or a choice with buttons (a channel
    /// with fewer renders them as a list or numbered text), free text as text.
    pub fn prompt(&self) -> Outbound {
        match &self.answer {
            AnswerKind::Rating { min, max } => Outbound::Choice {
                text: self.text.clone(),
                choices: (*min..=*max).map(|n| n.to_string()).collect(),
            },
            AnswerKind::Choice { options } => Outbound::Choice {
                text: self.text.clone(),
                choices: options.clone(),
            },
            AnswerKind::FreeText => Outbound::Text {
                text: self.text.clone(),
            },
        }
    }

    /// A message read as this question's answer: a rating by its button or as a number, a
    /// choice by its button, its number or its text (case and spaces aside), free text as
    /// written. `Err` is the hint for the customer.
    pub fn read(&self, m: &Inbound) -> Result<Value, String> {
        let text = m.text.trim();
        match &self.answer {
            AnswerKind::Rating { min, max } => {
                let by_button = m
                    .choice
                    .and_then(|c| i64::from(c).checked_add(*min - 1))
                    .filter(|n| (*min..=*max).contains(n));
                let by_text = text
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (*min..=*max).contains(n));
                by_button
                    .or(by_text)
                    .map(Value::from)
                    .ok_or_else(|| format!("Please answer with a number from {min} to {max}."))
            }
            AnswerKind::Choice { options } => {
                let by_number = |n: u32| {
                    (n as usize)
                        .checked_sub(1)
                        .and_then(|i| options.get(i))
                        .cloned()
                };
                m.choice
                    .and_then(by_number)
                    .or_else(|| text.parse::<u32>().ok().and_then(by_number))
                    .or_else(|| {
                        options
                            .iter()
                            .find(|o| o.trim().to_lowercase() == text.to_lowercase())
                            .cloned()
                    })
                    .map(Value::String)
                    .ok_or_else(|| {
                        format!(
                            "Please answer with one of: {}.",
                            options
                                .iter()
                                .enumerate()
                                .map(|(i, o)| format!("{} {o}", i + 1))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    })
            }
            AnswerKind::FreeText => {
                if text.is_empty() {
                    Err("Please answer in a few words.".into())
                } else if text.chars().count() > limits::FREE_TEXT {
                    Err(format!(
                        "Please answer in at most {} characters.",
                        limits::FREE_TEXT
                    ))
                } else {
                    Ok(Value::String(text.to_owned()))
                }
            }
        }
    }
}

/// Where a survey response is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResponseStatus {
    /// Attached to an interaction still open.
    Attached,
    /// The interaction closed: the survey waits for its answers.
    InProgress,
    Completed,
    /// The customer wrote something else than answers.
    Abandoned,
    /// Not answered in time.
    Expired,
}

impl ResponseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseStatus::Attached => "attached",
            ResponseStatus::InProgress => "in_progress",
            ResponseStatus::Completed => "completed",
            ResponseStatus::Abandoned => "abandoned",
            ResponseStatus::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<ResponseStatus> {
        [
            ResponseStatus::Attached,
            ResponseStatus::InProgress,
            ResponseStatus::Completed,
            ResponseStatus::Abandoned,
            ResponseStatus::Expired,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn survey() -> SurveyData {
        serde_json::from_value(json!({
            "intro": "Two questions about your conversation",
            "questions": [
                {"key": "score", "text": "How would you rate us?", "answer": {"type": "rating", "min": 1, "max": 5}},
                {"key": "solved", "text": "Was your problem solved?", "answer": {"type": "choice", "options": ["Yes", "No"]}},
                {"key": "comment", "text": "Anything to add?", "answer": {"type": "free_text"}}
            ],
            "thanks": "Thank you!"
        }))
        .unwrap()
    }

    fn said(text: &str) -> Inbound {
        Inbound {
            text: text.into(),
            ..Inbound::default()
        }
    }

    #[test]
    fn the_form_offers_the_answer_kinds_by_name() {
        let schema = serde_json::to_value(
            schemars::SchemaGenerator::default().into_root_schema_for::<SurveyData>(),
        )
        .unwrap();
        let kinds = &schema["$defs"]["AnswerKind"]["oneOf"];
        let titles: Vec<&str> = kinds
            .as_array()
            .unwrap_or_else(|| panic!("{schema:#}"))
            .iter()
            .map(|k| k["title"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(titles, ["Rating", "Choice", "Free text"]);
    }

    #[test]
    fn a_survey_is_checked() {
        let s = survey();
        assert!(s.check().is_ok());
        assert_eq!(s.expires_after_hours, 24);
        for wrong in [
            json!({"questions": []}),
            json!({"expires_after_hours": 0}),
            json!({"expires_after_hours": 169}),
            json!({"intro": " "}),
            json!({"questions": [{"key": "a b", "text": "x", "answer": {"type": "free_text"}}]}),
            json!({"questions": [{"key": "a", "text": "x", "answer": {"type": "free_text"}}, {"key": "A", "text": "y", "answer": {"type": "free_text"}}]}),
            json!({"questions": [{"key": "a", "text": "x", "answer": {"type": "rating", "min": 5, "max": 5}}]}),
            json!({"questions": [{"key": "a", "text": "x", "answer": {"type": "rating", "min": 0, "max": 20}}]}),
            json!({"questions": [{"key": "a", "text": "x", "answer": {"type": "choice", "options": ["Only"]}}]}),
            json!({"questions": [{"key": "a", "text": "x", "answer": {"type": "choice", "options": ["Yes", "yes "]}}]}),
        ] {
            let mut v = serde_json::to_value(&s).unwrap();
            v.as_object_mut()
                .unwrap()
                .extend(wrong.as_object().unwrap().clone());
            let d: SurveyData = serde_json::from_value(v).unwrap();
            assert!(d.check().is_err(), "{wrong}");
        }
    }

    #[test]
    fn a_survey_is_conducted_answer_by_answer() {
        let s = survey();
        let opening = s.opening();
        assert_eq!(opening.len(), 2);
        assert!(matches!(&opening[1], Outbound::Choice { choices, .. } if choices.len() == 5));
        // a rating by button, a choice by text, free text as written
        let by_button = Inbound {
            text: "4".into(),
            choice: Some(4),
            ..Inbound::default()
        };
        let Turn::Next { progress, .. } = s.answer(&Progress::default(), &by_button) else {
            panic!("the rating is an answer");
        };
        assert_eq!(progress.answers["score"], json!(4));
        let Turn::Next { progress, say } = s.answer(&progress, &said(" no ")) else {
            panic!("the choice is an answer");
        };
        assert_eq!(progress.answers["solved"], json!("No"));
        assert_eq!(
            say,
            vec![Outbound::Text {
                text: "Anything to add?".into()
            }]
        );
        let Turn::Done { progress, say } = s.answer(&progress, &said("Quick, thanks")) else {
            panic!("the last answer ends it");
        };
        assert_eq!(progress.answers.len(), 3);
        assert_eq!(
            say,
            vec![Outbound::Text {
                text: "Thank you!".into()
            }]
        );
    }

    #[test]
    fn a_message_that_is_no_answer_is_asked_again_once_then_the_survey_is_given_up() {
        let s = survey();
        let Turn::Next { progress, say } = s.answer(&Progress::default(), &said("I need help"))
        else {
            panic!("asked again");
        };
        assert_eq!(progress.attempts, 1);
        assert!(matches!(&say[0], Outbound::Text { text } if text.contains("1 to 5")));
        assert_eq!(s.answer(&progress, &said("hello?")), Turn::GivenUp);
        // numbers outside the range are no answer
        assert!(s.questions[0].read(&said("6")).is_err());
        assert!(s.questions[1].read(&said("3")).is_err());
        assert_eq!(s.questions[1].read(&said("1")), Ok(json!("Yes")));
    }

    #[test]
    fn the_page_answers_every_question() {
        let s = survey();
        let fields = |score: &str| {
            vec![
                ("score".to_owned(), score.to_owned()),
                ("solved".to_owned(), "Yes".to_owned()),
                ("comment".to_owned(), "Fine".to_owned()),
            ]
        };
        let answers = s.answers_of_form(&fields("5")).unwrap();
        assert_eq!(answers["score"], json!(5));
        let wrong = s.answers_of_form(&fields("9")).unwrap_err();
        assert!(wrong.starts_with("How would you rate us?"), "{wrong}");
    }
}
