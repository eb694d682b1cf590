//! Every provider payload of the corpus (`tests/fixtures/SOURCES.md`) parses, into what it
//! says.

use channels::{DeliveryStatus, Media, WebhookEvent};

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn messages(events: &[WebhookEvent]) -> Vec<(String, String, Option<u32>, Option<String>)> {
    events
        .iter()
        .filter_map(|e| match e {
            WebhookEvent::Message { received, name, .. } => Some((
                received.customer.clone(),
                received.message.text.clone(),
                received.message.choice,
                name.clone(),
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn every_payload_of_the_corpus_parses() {
    for (dir, parse) in [
        (
            "whatsapp",
            (|b: &[u8]| channels::whatsapp::parse(b, "106540352242922")) as fn(&[u8]) -> _,
        ),
        ("messenger", |b: &[u8]| {
            channels::messenger::parse(b, "1234567890")
        }),
        ("telegram", |b: &[u8]| channels::telegram::parse(b)),
    ] {
        let files = std::fs::read_dir(format!(
            "{}/tests/fixtures/{dir}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let mut n = 0;
        for f in files {
            let body = std::fs::read(f.unwrap().path()).unwrap();
            let events = parse(&body).unwrap();
            assert!(!events.is_empty());
            n += 1;
        }
        assert!(n >= 5, "{dir}: {n} payloads");
    }
}

#[test]
fn whatsapp_messages_replies_media_and_statuses() {
    let text = channels::whatsapp::parse(&fixture("whatsapp/text.json"), "123456123").unwrap();
    assert_eq!(
        messages(&text),
        vec![(
            "16315551181".into(),
            "this is a text message".into(),
            None,
            Some("test user name".into())
        )]
    );
    // another phone number id: acknowledged, ignored
    let other = channels::whatsapp::parse(&fixture("whatsapp/text.json"), "999").unwrap();
    assert!(matches!(other[..], [WebhookEvent::Ignored { .. }]));

    let image = channels::whatsapp::parse(&fixture("whatsapp/image.json"), "123456123").unwrap();
    match &image[0] {
        WebhookEvent::Message {
            received, media, ..
        } => {
            assert_eq!(received.message.text, "This is a caption");
            assert_eq!(
                media,
                &vec![Media::WhatsApp {
                    id: "2754859441498128".into()
                }]
            );
        }
        other => panic!("{other:?}"),
    }
    let n = "106540352242922";
    let button = channels::whatsapp::parse(&fixture("whatsapp/button_reply.json"), n).unwrap();
    assert_eq!(messages(&button)[0].1, "Cancel");
    assert_eq!(messages(&button)[0].2, Some(2));
    let list = channels::whatsapp::parse(&fixture("whatsapp/list_reply.json"), n).unwrap();
    assert_eq!(messages(&list)[0].2, Some(4));
    let quick =
        channels::whatsapp::parse(&fixture("whatsapp/template_quick_reply.json"), n).unwrap();
    assert_eq!(messages(&quick)[0].1, "Unsubscribe");
    let reaction = channels::whatsapp::parse(&fixture("whatsapp/reaction.json"), n).unwrap();
    assert!(matches!(&reaction[0], WebhookEvent::Noted { what, .. } if what.contains('👍')));

    let statuses =
        channels::whatsapp::parse(&fixture("whatsapp/statuses.json"), "114896151713920").unwrap();
    let kinds: Vec<&str> = statuses
        .iter()
        .filter_map(|e| match e {
            WebhookEvent::Status { status, .. } => Some(status.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, ["sent", "delivered", "read"]);
    let failed = channels::whatsapp::parse(&fixture("whatsapp/status_failed.json"), n).unwrap();
    assert!(
        matches!(&failed[0], WebhookEvent::Status { status: DeliveryStatus::Failed { error }, .. } if error.contains("131047"))
    );

    // every entry and every message of one POST, an unread kind noted
    let two = channels::whatsapp::parse(&fixture("whatsapp/two_entries.json"), n).unwrap();
    let m = messages(&two);
    assert_eq!(
        m.iter().map(|x| x.1.as_str()).collect::<Vec<_>>(),
        ["first", "second"]
    );
    assert_eq!(m[1].3.as_deref(), Some("Kerry Fisher"));
    assert!(matches!(&two[2], WebhookEvent::Noted { what, .. } if what.contains("location")));
}

#[test]
fn messenger_messages_quick_replies_postbacks_and_echoes() {
    let page = "1234567890";
    let text = channels::messenger::parse(&fixture("messenger/text.json"), page).unwrap();
    assert_eq!(
        messages(&text),
        vec![("6789012345".into(), "hello, world!".into(), None, None)]
    );
    let quick = channels::messenger::parse(&fixture("messenger/quick_reply.json"), page).unwrap();
    assert_eq!(messages(&quick)[0].2, Some(2));
    let postback = channels::messenger::parse(&fixture("messenger/postback.json"), page).unwrap();
    assert_eq!(messages(&postback)[0].1, "Get Started");
    assert_eq!(messages(&postback)[0].2, Some(1));
    let image =
        channels::messenger::parse(&fixture("messenger/attachment_reply_to.json"), page).unwrap();
    assert!(
        matches!(&image[0], WebhookEvent::Message { media, .. } if matches!(&media[..], [Media::Url { .. }]))
    );
    let mixed =
        channels::messenger::parse(&fixture("messenger/echo_delivery_read_reaction.json"), page)
            .unwrap();
    assert!(matches!(&mixed[0], WebhookEvent::Ignored { why } if why.contains("echo")));
    assert!(matches!(
        &mixed[1],
        WebhookEvent::Status {
            status: DeliveryStatus::Delivered,
            ..
        }
    ));
    assert!(matches!(&mixed[2], WebhookEvent::Noted { .. }));
    assert!(matches!(&mixed[3], WebhookEvent::Noted { what, .. } if what.contains("reacted")));
    // a delivery of several messages is a status for each
    let two = br#"{"object":"page","entry":[{"id":"1234567890","messaging":[{"sender":{"id":"6789012345"},"recipient":{"id":"1234567890"},"delivery":{"mids":["m_a","m_b"],"watermark":1}}]}]}"#;
    let statuses = channels::messenger::parse(two, page).unwrap();
    assert_eq!(statuses.len(), 2);
    assert!(
        matches!(&statuses[1], WebhookEvent::Status { provider_message_id, .. } if provider_message_id == "m_b")
    );
    // another page's entry
    let other = channels::messenger::parse(&fixture("messenger/text.json"), "42").unwrap();
    assert!(matches!(other[..], [WebhookEvent::Ignored { .. }]));
}

#[test]
fn telegram_messages_button_presses_edits_and_reactions() {
    let m = channels::telegram::parse(&fixture("telegram/message.json")).unwrap();
    assert_eq!(
        messages(&m),
        vec![(
            "1111111".into(),
            "/start".into(),
            None,
            Some("Test Firstname Test Lastname".into())
        )]
    );
    assert!(
        matches!(&m[0], WebhookEvent::Message { received, .. } if received.message_id == "update:10000")
    );
    let press = channels::telegram::parse(&fixture("telegram/callback_query.json")).unwrap();
    assert_eq!(messages(&press)[0].2, Some(2));
    assert!(matches!(&press[1], WebhookEvent::AnswerCallback { id } if id == "4382bfdwdsb323b2d9"));
    // a press on an inline message (no chat): answered, not an answer of a conversation
    let inline =
        channels::telegram::parse(&fixture("telegram/callback_query_inline.json")).unwrap();
    assert!(matches!(&inline[0], WebhookEvent::AnswerCallback { .. }));
    assert!(messages(&inline).is_empty());
    let edited = channels::telegram::parse(&fixture("telegram/edited_message.json")).unwrap();
    assert!(matches!(&edited[0], WebhookEvent::Noted { what, .. } if what.contains("Edited text")));
    let photo = channels::telegram::parse(&fixture("telegram/photo.json")).unwrap();
    assert!(
        matches!(&photo[0], WebhookEvent::Message { received, media, .. }
        if received.message.text == "my receipt" && media == &vec![Media::Telegram { file_id: "AgACAgQAAxkBAAIBsmO-large".into() }])
    );
    let reaction = channels::telegram::parse(&fixture("telegram/message_reaction.json")).unwrap();
    assert!(matches!(&reaction[0], WebhookEvent::Noted { .. }));
}

#[test]
fn malformed_bodies_are_refused_without_panic() {
    // none of these is a provider's webhook: each is refused (a panic would fail the test)
    for body in [
        &b""[..],
        b"{",
        b"[]",
        b"null",
        b"{\"object\":1}",
        &[0xff, 0xfe, 0x00],
    ] {
        assert!(channels::whatsapp::parse(body, "1").is_err(), "{body:?}");
        assert!(channels::messenger::parse(body, "1").is_err(), "{body:?}");
        assert!(channels::telegram::parse(body).is_err(), "{body:?}");
    }
    assert!(channels::telegram::parse(b"{\"no_update_id\":1}").is_err());
    // a webhook over the size limit is refused before it is read
    let huge = vec![b' '; channels::provider::WEBHOOK_MAX_BYTES + 1];
    assert!(channels::whatsapp::parse(&huge, "1").is_err());
}

#[test]
fn replies_render_to_each_providers_shape() {
    use flow::exec::Outbound;
    let choice = |n: usize, len: usize| Outbound::Choice {
        text: "Pick one".into(),
        choices: (1..=n)
            .map(|k| format!("{k}{}", "x".repeat(len.saturating_sub(1))))
            .collect(),
    };
    // WhatsApp: 3 short choices are buttons, 10 are a list, 11 are numbered text
    let b = channels::whatsapp::body("33612345678", &choice(3, 10));
    assert_eq!(
        b.pointer("/interactive/type").and_then(|v| v.as_str()),
        Some("button")
    );
    assert_eq!(
        b.pointer("/interactive/action/buttons/2/reply/id")
            .and_then(|v| v.as_str()),
        Some("3")
    );
    let l = channels::whatsapp::body("33612345678", &choice(10, 10));
    assert_eq!(
        l.pointer("/interactive/type").and_then(|v| v.as_str()),
        Some("list")
    );
    let wa = channels::of(flow::entry_point::Channel::WhatsApp);
    assert!(matches!(
        &wa.render(&choice(10, 22))[..],
        [Outbound::Choice { .. }]
    ));
    assert!(matches!(
        &wa.render(&choice(11, 5))[..],
        [Outbound::Text { .. }]
    ));
    assert!(matches!(
        &wa.render(&choice(3, 25))[..],
        [Outbound::Text { .. }]
    ));
    // a long prompt: its start as text, the buttons with the end (the interactive body is short)
    let long = Outbound::Choice {
        text: "word ".repeat(400),
        choices: vec!["A".into()],
    };
    let parts = wa.render(&long);
    assert!(
        parts.len() >= 2
            && matches!(parts.last(), Some(Outbound::Choice { text, .. }) if text.chars().count() <= 1024)
    );
    // Messenger quick replies, Telegram inline keyboard
    let m = channels::messenger::body("psid", &choice(2, 5));
    assert_eq!(
        m.pointer("/message/quick_replies/1/payload")
            .and_then(|v| v.as_str()),
        Some("2")
    );
    let t = channels::telegram::body("1111111", &choice(2, 5));
    assert_eq!(
        t.pointer("/reply_markup/inline_keyboard/1/0/callback_data")
            .and_then(|v| v.as_str()),
        Some("2")
    );
    assert_eq!(
        t.pointer("/chat_id").and_then(|v| v.as_i64()),
        Some(1111111)
    );
}

#[tokio::test]
async fn a_failed_call_is_described_without_its_token() {
    // nothing listens on port 9: the call fails, and what is said of it carries no token
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let keyed = channels::provider::Keyed {
        client: &client,
        key: "k",
    };
    let e = channels::telegram::send(
        &keyed,
        "http://127.0.0.1:9",
        "123456:VERY-SECRET-token",
        "42",
        &flow::exec::Outbound::Text { text: "hi".into() },
    )
    .await
    .unwrap_err();
    assert!(!e.permanent, "{e:?}");
    assert!(!e.reason.contains("VERY-SECRET"), "{}", e.reason);
}

#[test]
fn payment_events_of_the_corpus_read_as_what_they_say() {
    use channels::payment::{Happened, read_event, sign, verify};
    let paid = fixture("stripe/checkout.session.completed.payment_mode.json");
    let e = read_event(&paid).unwrap();
    assert_eq!(
        (e.id.as_str(), e.kind.as_str(), e.payment, e.happened),
        (
            "evt_00000000000000",
            "checkout.session.completed",
            None,
            Happened::Paid
        )
    );
    let failed = read_event(&fixture("stripe/payment_intent.payment_failed.json")).unwrap();
    assert_eq!(
        failed.happened,
        Happened::Failed {
            reason: "Your card was declined. (generic_decline)".into()
        }
    );
    let canceled = read_event(&fixture("stripe/payment_intent.canceled.json")).unwrap();
    assert_eq!(
        canceled.happened,
        Happened::Stopped {
            reason: "the payment was cancelled (requested_by_customer)".into()
        }
    );
    // the payment's id comes from the metadata; a fraud decline is told apart
    let mut v: serde_json::Value =
        serde_json::from_slice(&fixture("stripe/payment_intent.payment_failed.json")).unwrap();
    v["data"]["object"]["metadata"]["switchyard_payment"] =
        "0190a000-0000-7000-8000-000000000001".into();
    v["data"]["object"]["last_payment_error"]["decline_code"] = "stolen_card".into();
    let fraud = read_event(&serde_json::to_vec(&v).unwrap()).unwrap();
    assert_eq!(
        fraud.payment.as_deref(),
        Some("0190a000-0000-7000-8000-000000000001")
    );
    assert!(matches!(fraud.happened, Happened::Fraudulent { .. }));
    // signatures: Stripe's scheme over the raw bytes, a rolled secret's second v1 accepted,
    // the timestamp within five minutes
    let secret = "whsec_test_secret";
    let now = 1_700_000_000;
    let header = sign(secret, now, &paid);
    assert!(verify(secret, Some(header.as_bytes()), &paid, now + 299).is_ok());
    let rolled = format!(
        "{},v1={}",
        sign("whsec_old", now, &paid),
        &header[header.find("v1=").unwrap() + 3..]
    );
    assert!(
        verify(secret, Some(rolled.as_bytes()), &paid, now).is_ok(),
        "{rolled}"
    );
    for (h, at) in [
        (header.clone(), now + 301),
        (header.clone(), now - 301),
        (sign("whsec_other", now, &paid), now),
        (format!("t={now}"), now),
        (format!("v1={}", "0".repeat(64)), now),
        ("t=x,v1=".into(), now),
        ("\u{00e9}".into(), now),
    ] {
        assert!(
            verify(secret, Some(h.as_bytes()), &paid, at).is_err(),
            "{h} at {at}"
        );
    }
    assert!(verify(secret, None, &paid, now).is_err());
    let mut changed = paid.clone();
    changed[10] ^= 1;
    assert!(verify(secret, Some(header.as_bytes()), &changed, now).is_err());
    for bad in [
        &b"{}"[..],
        b"[]",
        b"not json",
        b"{\"id\":\"evt\",\"type\":\"x\"}",
    ] {
        assert!(read_event(bad).is_err(), "{}", String::from_utf8_lossy(bad));
    }
}
