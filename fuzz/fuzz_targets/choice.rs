//! Choice matching of *Message with choice*: whatever the labels and the message, the choice
//! found is one of the labels, and typing a label (in any case) picks a choice.
#![no_main]

use flow::catalogue::actions_api::{choose, fold};
use flow::exec::Inbound;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (Vec<String>, String, Option<u32>)| {
    let (labels, text, choice) = input;
    let labels: Vec<&str> = labels.iter().take(10).map(String::as_str).collect();
    let message = Inbound {
        text: text.clone(),
        choice,
        attachments: Vec::new(),
        email: None,
    };
    if let Some(i) = choose(&labels, &message) {
        assert!(i < labels.len());
    }
    if let Some(first) = labels.first() {
        let typed = Inbound {
            text: first.to_uppercase(),
            choice: None,
            attachments: Vec::new(),
            email: None,
        };
        let picked = choose(&labels, &typed);
        if !fold(first).is_empty() && fold(&first.to_uppercase()) == fold(first) {
            assert!(picked.is_some(), "{first:?} typed in capitals picks nothing");
        }
    }
});
