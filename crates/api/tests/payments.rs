//! *Pay an invoice* in production against a local stand-in of the payment provider speaking
//! Stripe's contract (Checkout Sessions created with a Bearer key and an idempotency key; events
//! signed with `Stripe-Signature`): every branch taken — the link in the conversation and the
//! payment's outcome from the signed webhook, the link by SMS and by email, an invoice not
//! found, and a payment error for an inactive module, a refused key and a provider too slow —
//! signatures that fail, events delivered twice or replayed late, the invoice paid.
//!
//! The stand-in and its events are `support/stripe.rs`.

use std::sync::Arc;

use runtime::Clock;
use serde_json::{Value, json};

mod support;

use support::stripe::{API_KEY, Provider, WEBHOOK_SECRET, event, silent};
use support::{admin_client, call, callbacks};

struct Env {
    server: support::TestServer,
    base: String,
    provider: Provider,
    relay: support::Relay,
    talk: support::Talk,
    _stop: tokio::sync::watch::Sender<bool>,
}

impl Env {
    async fn get(&self, path: &str) -> Value {
        call(&self.base, reqwest::Method::GET, path, None).await.1
    }

    async fn webhook(&self, module: &str, body: &[u8], signature: Option<String>) -> (u16, Value) {
        let mut req = reqwest::Client::new()
            .post(format!("{}/webhooks/payments/{module}", self.server.root))
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(s) = signature {
            req = req.header("stripe-signature", s);
        }
        let r = req.send().await.unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// Sends an event signed now with the module's webhook secret.
    async fn signed(&self, body: &[u8]) -> u16 {
        let t = self.server.clock.now().as_second();
        let sig = channels::payment::sign(WEBHOOK_SECRET, t, body);
        self.webhook("PAY", body, Some(sig)).await.0
    }

    /// What `customer` is told once something comes after the first `before` deliveries.
    async fn told(&self, customer: &str, before: usize) -> String {
        let said = self.talk.answer(customer, before).await.unwrap_or_default();
        said.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    fn delivered(&self) -> usize {
        self.talk.got.lock().unwrap().len()
    }
}

async fn env() -> Env {
    let provider = Provider::start().await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (relay, relay_port) = support::Relay::start(stopped).await;
    let server = support::start(
        runtime::ServiceSettings {
            conversations: runtime::conversations::Settings {
                sms: Some(Arc::new(channels::sms::SmsProvider {
                    base: format!("{}/sms", provider.root),
                    account_sid: "AC0123456789".into(),
                    auth_token: "sms-auth-token".into(),
                })),
                relay: Some(Arc::new(
                    channels::relay::Relay::parse(
                        &format!("smtp://127.0.0.1:{relay_port}?tls=none"),
                        "sy.test",
                    )
                    .unwrap(),
                )),
                ..Default::default()
            },
            ..Default::default()
        },
        support::limits(),
    )
    .await;
    let base = format!("{}/api/v1", server.root);
    let (callback_url, got) = callbacks().await;
    let talk = support::Talk::new(&base, &got);
    let slow = silent().await;
    let module = |reference: &str, base_url: &str, active: bool, key: &str| {
        json!({"reference": reference, "name": reference, "secret": key, "webhook_secret": WEBHOOK_SECRET, "data": {
            "base_url": base_url, "active": active,
            "success_url": "https://shop.example/paid", "cancel_url": "https://shop.example/cancelled",
            "sms_sender": "+33700000000", "email_from": "billing@shop.example"
        }})
    };
    for body in [
        module("PAY", &provider.root, true, API_KEY),
        module("OFF", &provider.root, false, API_KEY),
        module("BADKEY", &provider.root, true, "sk_test_wrong_key_0000"),
        module("SLOW", &slow, true, API_KEY),
    ] {
        let (s, m) = call(&base, reqwest::Method::POST, "payment-modules", Some(body)).await;
        assert_eq!(s, 201, "{m}");
        assert_eq!(
            (m["secret_set"].as_bool(), m["webhook_secret_set"].as_bool()),
            (Some(true), Some(true)),
            "{m}"
        );
        assert!(!m.to_string().contains(API_KEY) && !m.to_string().contains(WEBHOOK_SECRET));
    }
    let csv = "number,name,amount,currency,mobile_phone,email,status\n\
               A-1,November,49.90,EUR,06 12 34 56 78,ana@example.com,open\n\
               A-2,October,10,EUR,,,paid\n\
               A-3,x,1,EUR,,,open\nA-4,x,1,EUR,,,open\nA-5,x,1,EUR,,,open\n\
               A-6,x,1,EUR,,,open\nA-7,x,1,EUR,,,open\n\
               A-8,December,20,EUR,06 12 34 56 78,,open\n\
               A-9,January,30,EUR,,ana@example.com,open\n\
               A-10,x,5,EUR,01 42 68 53 00,,open\n";
    let r = admin_client()
        .post(format!("{base}/invoices/import"))
        .body(csv)
        .send()
        .await
        .unwrap();
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["inserted"], 10, "{report}");
    let text = "{{ last_message.text }}";
    let branches = [
        "payment_stopped",
        "bank_transfer_error",
        "invoice_not_found",
        "fraudulent_payment",
        "failed_payment",
        "payment_error",
        "payment_successful",
        "notification_sent",
    ];
    let by_number = json!({"type": "invoice", "lookup": {"identify_by": "invoice_number", "value": text, "pick": "oldest"}});
    let routings = [
        ("inroute", by_number.clone(), "PAY", "smart_routing"),
        ("sms", by_number.clone(), "PAY", "sms"),
        ("email", by_number.clone(), "PAY", "email"),
        (
            "amount",
            json!({"type": "amount", "amount": 12.5, "currency": "EUR", "invoice_name": "Deposit", "invoice_reference": "D-{{ last_message.text }}", "comment": "paid in the chat"}),
            "PAY",
            "smart_routing",
        ),
        ("off", by_number.clone(), "OFF", "smart_routing"),
        ("badkey", by_number.clone(), "BADKEY", "smart_routing"),
        ("slow", by_number.clone(), "SLOW", "smart_routing"),
    ];
    for (reference, payment, module, mode) in routings {
        let doc = support::chain(
            reference,
            &[(
                "pay_invoice",
                json!({"payment": payment, "module": {"by": "reference", "reference": module}, "mode": mode}),
                &branches,
                None,
            )],
            "{{ system.error }}",
        );
        support::http_entry_point(&base, reference, doc, &callback_url).await;
    }
    Env {
        server,
        base,
        provider,
        relay,
        talk,
        _stop: stop,
    }
}

#[tokio::test]
async fn an_invoice_paid_in_the_conversation_resumes_the_routing_once() {
    let mut env = env().await;
    let said = env.talk.say("inroute", "ann", "A-1").await;
    let link = format!("{}/pay/cs_test_1", env.provider.root);
    assert_eq!(
        said,
        format!("To pay November (49.90 EUR), follow this link: {link}")
    );
    // the session as the provider's contract asks it
    {
        let sessions = env.provider.sessions.lock().unwrap();
        let (key, form) = &sessions[0];
        assert_eq!(form["mode"], "payment");
        assert_eq!(form["line_items[0][price_data][unit_amount]"], "4990");
        assert_eq!(form["line_items[0][price_data][currency]"], "eur");
        assert_eq!(
            form["line_items[0][price_data][product_data][name]"],
            "November"
        );
        assert_eq!(form["client_reference_id"], "A-1");
        assert_eq!(form["customer_email"], "ana@example.com");
        assert_eq!(
            *key, form["metadata[switchyard_payment]"],
            "the payment's id is the idempotency key"
        );
        assert_eq!(
            form["payment_intent_data[metadata][switchyard_payment]"],
            *key
        );
        let expires: i64 = form["expires_at"].parse().unwrap();
        assert_eq!(expires - env.server.clock.now().as_second(), 3600);
    }
    let (payment, session) = env.provider.session(1);
    let p = env.get(&format!("payments/{payment}")).await;
    assert_eq!(
        (&p["status"], &p["session"], &p["amount"], &p["mode"]),
        (
            &json!("pending"),
            &json!(session),
            &json!("49.90"),
            &json!("smart_routing")
        ),
        "{p}"
    );

    // signatures that fail: none, another secret, a body changed, an old timestamp (a replay)
    let paid = event(
        "evt_paid_1",
        "checkout.session.completed",
        &payment,
        &session,
        json!({"payment_status": "paid"}),
    );
    let now = env.server.clock.now().as_second();
    let before = env.delivered();
    for (signature, why) in [
        (None, "missing"),
        (
            Some(channels::payment::sign("whsec_another", now, &paid)),
            "does not match",
        ),
        (
            Some(channels::payment::sign(WEBHOOK_SECRET, now, b"{}")),
            "does not match",
        ),
        (
            Some(channels::payment::sign(WEBHOOK_SECRET, now - 301, &paid)),
            "more than 300 s",
        ),
        (Some(format!("t={now},v1=zz")), "64 lower-case hex"),
    ] {
        let (s, p) = env.webhook("PAY", &paid, signature).await;
        assert_eq!(
            (s, p["code"].as_str()),
            (401, Some("invalid_signature")),
            "{p}"
        );
        assert!(p["detail"].as_str().unwrap().contains(why), "{why}: {p}");
    }
    let (s, _) = env
        .webhook(
            "NOPE",
            &paid,
            Some(channels::payment::sign(WEBHOOK_SECRET, now, &paid)),
        )
        .await;
    assert_eq!(s, 404);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(env.delivered(), before, "a refused webhook changes nothing");

    // the signed event resumes the routing on Payment successful; the invoice is paid
    assert_eq!(env.signed(&paid).await, 200);
    assert_eq!(
        env.told("ann", before).await,
        "pay_invoice payment_successful:"
    );
    let p = env.get(&format!("payments/{payment}")).await;
    assert_eq!(p["status"], "succeeded", "{p}");
    let inv = env.get("invoices?status=paid").await;
    let paid_numbers: Vec<&str> = inv["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["number"].as_str().unwrap())
        .collect();
    assert!(paid_numbers.contains(&"A-1"), "{inv}");
    // delivered again: taken once
    let before = env.delivered();
    assert_eq!(env.signed(&paid).await, 200);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        env.delivered(),
        before,
        "an event delivered twice is taken once"
    );
    // the paid invoice is no longer one to pay; nor is one that does not exist
    for (customer, number) in [("ben", "A-1"), ("cid", "A-2"), ("dan", "Z-9")] {
        assert_eq!(
            env.talk.say("inroute", customer, number).await,
            "pay_invoice invoice_not_found: no open invoice matches"
        );
    }
    // the interaction's history records the payment
    let one = env
        .get(&format!(
            "interactions/{}",
            p["interaction_id"].as_str().unwrap()
        ))
        .await;
    let notes: Vec<&Value> = one["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["event"]["detail"])
        .filter(|d| d["note"] == "payment")
        .collect();
    assert_eq!(notes.len(), 1, "{one}");
    assert_eq!(
        (
            &notes[0]["module"],
            &notes[0]["amount_minor"],
            &notes[0]["status"]
        ),
        (&json!("PAY"), &json!(4990), &json!("pending"))
    );
    assert!(!one.to_string().contains(API_KEY));
}

#[tokio::test]
async fn each_outcome_of_the_provider_takes_its_branch() {
    let mut env = env().await;
    let cases = [
        (
            "A-3",
            "payment_intent.payment_failed",
            json!({}),
            "pay_invoice failed_payment: Your card was declined. (generic_decline)",
        ),
        (
            "A-4",
            "payment_intent.payment_failed",
            json!({"decline_code": "fraudulent"}),
            "pay_invoice fraudulent_payment: Your card was declined. (fraudulent)",
        ),
        (
            "A-5",
            "checkout.session.expired",
            json!({"payment_status": "unpaid", "status": "expired"}),
            "pay_invoice payment_stopped: the payment link expired unpaid",
        ),
        (
            "A-6",
            "checkout.session.async_payment_failed",
            json!({"payment_status": "unpaid"}),
            "pay_invoice bank_transfer_error: the bank transfer or debit failed",
        ),
        (
            "A-7",
            "payment_intent.canceled",
            json!({"cancellation_reason": "requested_by_customer"}),
            "pay_invoice payment_stopped: the payment was cancelled (requested_by_customer)",
        ),
    ];
    for (n, (number, kind, set, want)) in cases.iter().enumerate() {
        let customer = format!("c{n}");
        let said = env.talk.say("inroute", &customer, number).await;
        assert!(said.contains("/pay/cs_test_"), "{said}");
        let (payment, session) = env.provider.session(n + 1);
        let before = env.delivered();
        let body = event(&format!("evt_{n}"), kind, &payment, &session, set.clone());
        assert_eq!(env.signed(&body).await, 200);
        assert_eq!(env.told(&customer, before).await, *want, "{kind}");
    }
    // a bank transfer completed on the page is still on its way: nothing yet; then it succeeds
    let said = env.talk.say("amount", "eve", "7").await;
    assert_eq!(
        said,
        format!(
            "To pay Deposit (12.50 EUR), follow this link: {}/pay/cs_test_6",
            env.provider.root
        )
    );
    {
        let sessions = env.provider.sessions.lock().unwrap();
        let form = &sessions[5].1;
        assert_eq!(form["line_items[0][price_data][unit_amount]"], "1250");
        assert_eq!(form["client_reference_id"], "D-7");
        assert_eq!(form["metadata[comment]"], "paid in the chat");
    }
    let (payment, session) = env.provider.session(6);
    let before = env.delivered();
    let pending = event(
        "evt_pending",
        "checkout.session.completed",
        &payment,
        &session,
        json!({"payment_status": "unpaid"}),
    );
    assert_eq!(env.signed(&pending).await, 200);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(env.delivered(), before);
    let p = env.get(&format!("payments/{payment}")).await;
    assert_eq!(p["status"], "processing", "{p}");
    let done = event(
        "evt_done",
        "checkout.session.async_payment_succeeded",
        &payment,
        &session,
        json!({"payment_status": "paid"}),
    );
    assert_eq!(env.signed(&done).await, 200);
    assert_eq!(
        env.told("eve", before).await,
        "pay_invoice payment_successful:"
    );
    // an event of no payment of ours is acknowledged and does nothing
    let stray = event(
        "evt_stray",
        "checkout.session.completed",
        &uuid::Uuid::now_v7().to_string(),
        "cs_other",
        json!({}),
    );
    assert_eq!(env.signed(&stray).await, 200);
}

#[tokio::test]
async fn the_link_goes_by_sms_or_email_and_errors_take_payment_error() {
    let mut env = env().await;
    assert_eq!(
        env.talk.say("sms", "fay", "A-8").await,
        "pay_invoice notification_sent:"
    );
    {
        let sms = env.provider.sms.lock().unwrap();
        assert_eq!(sms.len(), 1);
        assert_eq!(
            (sms[0]["To"].as_str(), sms[0]["From"].as_str()),
            ("+33612345678", "+33700000000")
        );
        assert!(sms[0]["Body"].contains("/pay/cs_test_1"), "{:?}", sms[0]);
    }
    assert_eq!(
        env.talk.say("email", "gus", "A-9").await,
        "pay_invoice notification_sent:"
    );
    let mail = env.relay.wait(1).await;
    assert_eq!(mail[0].0, ["ana@example.com"]);
    // the body is quoted-printable: its soft line breaks joined
    let raw = mail[0].1.replace("=\r\n", "").replace("=\n", "");
    assert!(
        raw.contains("follow this link: http://") && raw.contains("/pay/cs_test_2"),
        "{raw}"
    );
    assert!(raw.contains("From: billing@shop.example"), "{raw}");
    assert!(raw.contains("Subject: Payment: January"), "{raw}");
    // the SMS mode needs a mobile phone, the email mode an address
    assert_eq!(
        env.talk.say("sms", "hal", "A-9").await,
        "pay_invoice payment_error: there is no mobile phone number to send the link to"
    );
    assert_eq!(
        env.talk.say("sms", "ian", "A-10").await,
        "pay_invoice payment_error: +33142685300 is not a mobile phone number"
    );
    assert_eq!(
        env.talk.say("email", "jon", "A-8").await,
        "pay_invoice payment_error: there is no email address to send the link to"
    );
    // the SMS and email modes do not wait: the payment's outcome marks the invoice paid
    let (payment, session) = env.provider.session(1);
    let paid = event(
        "evt_sms_paid",
        "checkout.session.completed",
        &payment,
        &session,
        json!({"payment_status": "paid"}),
    );
    let before = env.delivered();
    assert_eq!(env.signed(&paid).await, 200);
    let inv = env.get("invoices?status=paid").await;
    assert!(inv.to_string().contains("\"A-8\""), "{inv}");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(env.delivered(), before, "the SMS routing went on already");

    assert_eq!(
        env.talk.say("off", "kim", "A-3").await,
        "pay_invoice payment_error: the payment module OFF is not active"
    );
    let refused = env.talk.say("badkey", "lea", "A-3").await;
    assert!(
        refused.starts_with("pay_invoice payment_error: the payment provider answered 401"),
        "{refused}"
    );
    assert!(refused.contains("Invalid API Key provided"), "{refused}");
    assert!(
        !refused.contains("sk_test_wrong"),
        "the key is never echoed: {refused}"
    );
    // the provider never answers: the call's 10 s timeout
    let slow = env.talk_slowly("slow", "max", "A-3").await;
    assert!(
        slow.starts_with("pay_invoice payment_error: the payment provider could not be reached"),
        "{slow}"
    );
    let failed = env.get("payments?status=error").await;
    assert_eq!(failed["items"].as_array().unwrap().len(), 2, "{failed}");
}

impl Env {
    /// Like `say`, waiting past the provider's 10 s timeout.
    async fn talk_slowly(&mut self, ep: &str, customer: &str, text: &str) -> String {
        let url = format!("{}/channels/http/{ep}/messages", self.base);
        let before = self.delivered();
        let body =
            json!({"message_id": format!("slow-{customer}"), "from": customer, "text": text});
        let sent = tokio::spawn(async move {
            support::signed(admin_client().post(url), &body)
                .timeout(std::time::Duration::from_secs(30))
                .send()
                .await
                .map(|r| r.status().as_u16())
        });
        // three waits of 5 s
        for _ in 0..3 {
            if let Some(said) = self.talk.answer(customer, before).await {
                assert_eq!(sent.await.unwrap().unwrap(), 200);
                return said;
            }
        }
        panic!("no answer from {ep} within 15 s");
    }
}
