//! Answer validation of *Message awaiting response*: any text, any answer type, any region,
//! never a panic; a number answer is a number, an email answer a string.
#![no_main]

use flow::catalogue::actions_api::{AnswerType, validate_answer};
use flow::exec::Inbound;
use libfuzzer_sys::fuzz_target;

const KINDS: [AnswerType; 6] = [
    AnswerType::Number,
    AnswerType::Email,
    AnswerType::Date,
    AnswerType::LongText,
    AnswerType::Image,
    AnswerType::Phone,
];

fuzz_target!(|input: (u8, &str, &str)| {
    let (kind, text, region) = input;
    let kind = KINDS[kind as usize % KINDS.len()];
    let message = Inbound {
        text: text.to_owned(),
        choice: None,
        attachments: Vec::new(),
        email: None,
    };
    if let Ok(v) = validate_answer(kind, &message, region) {
        match kind {
            AnswerType::Number => assert!(v.is_number(), "{v}"),
            AnswerType::Email | AnswerType::Phone | AnswerType::LongText | AnswerType::Date => {
                assert!(v.is_string(), "{v}")
            }
            AnswerType::Image => {}
        }
    }
});
