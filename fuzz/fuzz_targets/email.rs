//! The email parser: any bytes, with or without an envelope sender, never a panic; what it
//! accepts has a sender address and stays within the channel's limits.
#![no_main]

use channels::email::{Envelope, limits, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (bool, &[u8])| {
    // mail-parser 0.11 panics on some corrupted multiparts; the parser entry catches that and
    // refuses the message. libFuzzer's panic hook would abort before the catch: a hook that only
    // prints leaves it to work, and any other panic still reaches libFuzzer as a crash.
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| std::panic::set_hook(Box::new(|info| eprintln!("{info}"))));
    let (bounce, raw) = input;
    let envelope = Envelope { mail_from: bounce.then_some("") };
    if let Ok(parsed) = parse(raw, envelope, &|a| a == "support@shop.test") {
        let email = parsed.email();
        assert!(email.from.contains('@'));
        assert!(email.text.chars().count() <= limits::TEXT_CHARS);
        assert!(email.attachments.len() <= limits::ATTACHMENTS);
        assert_eq!(email.attachments.len(), parsed.attachments.len());
    }
});
