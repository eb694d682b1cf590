//! Routing documents as `import` and `validate` read them: parsing (with the format upgrade
//! chain) and checking never panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(doc) = flow::document::parse(text) {
        let report = flow::document::check(&doc, &flow::compile::NoResolver);
        let _ = report.lines();
    }
});
