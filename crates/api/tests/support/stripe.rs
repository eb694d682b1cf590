//! A local stand-in of a payment provider speaking Stripe's contract, shared by the API's tests
//! and the binary's end-to-end tests: `POST /v1/checkout/sessions` (a Bearer key, an
//! idempotency key: the same key gives the same session), Twilio-style SMS, and events made
//! from the stripe-ruby-mock fixtures (`crates/channels/tests/fixtures/stripe`, MIT, see its
//! SOURCES.md), their ids, type, metadata and status fields set to a payment's.

// each test file uses its own part of it
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

pub const API_KEY: &str = "sk_test_switchyard_0123456789";
pub const WEBHOOK_SECRET: &str = "whsec_switchyard_test_0123456789abcdef";

/// A form's fields by name.
pub type Form = HashMap<String, String>;

/// What the stand-in was asked: each session's idempotency key and form, each SMS's form.
#[derive(Clone, Default)]
pub struct Provider {
    pub sessions: Arc<Mutex<Vec<(String, Form)>>>,
    pub sms: Arc<Mutex<Vec<Form>>>,
    pub root: String,
}

impl Provider {
    pub async fn start() -> Provider {
        let mut p = Provider::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        p.root = format!("http://{}", listener.local_addr().unwrap());
        let (sessions, sms, root) = (p.sessions.clone(), p.sms.clone(), p.root.clone());
        let app = axum::Router::new()
            .route(
                "/v1/checkout/sessions",
                axum::routing::post(
                    move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                        let (sessions, root) = (sessions.clone(), root.clone());
                        async move {
                            let auth = headers
                                .get("authorization")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default();
                            if auth != format!("Bearer {API_KEY}") {
                                return (
                                    axum::http::StatusCode::UNAUTHORIZED,
                                    axum::Json(json!({"error": {"message": "Invalid API Key provided", "type": "invalid_request_error"}})),
                                );
                            }
                            let key = headers
                                .get("idempotency-key")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_owned();
                            let form: Form =
                                form_urlencoded::parse(&body).into_owned().collect();
                            let mut all = sessions.lock().unwrap();
                            let n = match all.iter().position(|(k, _)| *k == key) {
                                Some(i) => i + 1,
                                None => {
                                    all.push((key, form.clone()));
                                    all.len()
                                }
                            };
                            (
                                axum::http::StatusCode::OK,
                                axum::Json(json!({
                                    "id": format!("cs_test_{n}"), "object": "checkout.session",
                                    "url": format!("{root}/pay/cs_test_{n}"), "status": "open", "payment_status": "unpaid",
                                    "amount_total": form.get("line_items[0][price_data][unit_amount]").and_then(|a| a.parse::<i64>().ok()),
                                    "currency": form.get("line_items[0][price_data][currency]"),
                                })),
                            )
                        }
                    },
                ),
            )
            .route(
                "/sms/2010-04-01/Accounts/AC0123456789/Messages.json",
                axum::routing::post(move |body: axum::body::Bytes| {
                    let sms = sms.clone();
                    async move {
                        sms.lock()
                            .unwrap()
                            .push(form_urlencoded::parse(&body).into_owned().collect());
                        (
                            axum::http::StatusCode::CREATED,
                            axum::Json(json!({"sid": "SM0001"})),
                        )
                    }
                }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        p
    }

    /// The payment id and session of the `n`-th session asked for (from 1).
    pub fn session(&self, n: usize) -> (String, String) {
        let all = self.sessions.lock().unwrap();
        let (_, form) = &all[n - 1];
        (
            form["metadata[switchyard_payment]"].clone(),
            format!("cs_test_{n}"),
        )
    }
}

/// A stand-in that takes the connection and never answers.
pub async fn silent() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    root
}

pub fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../channels/tests/fixtures/stripe/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// An event of `kind` about a payment: the session fixture for `checkout.session.*`, the
/// payment intent's for `payment_intent.*`, its id, metadata and `set` fields replaced.
pub fn event(id: &str, kind: &str, payment: &str, session: &str, set: Value) -> Vec<u8> {
    let mut e = if kind.starts_with("checkout.session") {
        fixture("checkout.session.completed.payment_mode")
    } else {
        fixture("payment_intent.payment_failed")
    };
    e["id"] = json!(id);
    e["type"] = json!(kind);
    let object = &mut e["data"]["object"];
    if kind.starts_with("checkout.session") {
        object["id"] = json!(session);
    }
    object["metadata"] = json!({"switchyard_payment": payment});
    for (k, v) in set.as_object().unwrap() {
        match k.as_str() {
            "decline_code" => object["last_payment_error"]["decline_code"] = v.clone(),
            _ => object[k] = v.clone(),
        }
    }
    serde_json::to_vec(&e).unwrap()
}
