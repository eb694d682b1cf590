//! Template rendering: `{{ variable.field }}` placeholders are replaced once; text taken from
//! variables (customer input) is inserted as data and never rendered again.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &str)| {
    let (template, value) = input;
    let out = flow::exec::render(template, &|_| Some(value.to_owned()));
    // the output never holds more placeholders of the value than the value itself brought in
    // per placeholder: rendering is one pass, so the value's own braces survive untouched
    if !template.contains("{{") {
        assert_eq!(out, template);
    }
    let _ = flow::exec::render(template, &|_| None);
});
