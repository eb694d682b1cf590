//! WhatsApp, Telegram and Messenger entry points over real HTTP, against local stand-ins of the
//! Graph API and the Telegram Bot API (real servers on loopback speaking those contracts,
//! recording what they get): the handshake, signatures checked on the raw bytes, customers
//! conversing with a production routing — buttons, lists, an image answer, a button press —
//! replies sent through each provider, duplicates recognised, delivery statuses and refusals
//! recorded in the history.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use reqwest::Method;
use serde_json::{Value, json};

mod support;

/// A PNG of 1×1 pixel.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

const WA_TOKEN: &str = "wa-access-token-0123";
const TG_TOKEN: &str = "123456:ABC-def_ghi";

/// What a stand-in got, and the answers it is told to give first.
#[derive(Clone, Default)]
struct Provider {
    base: Arc<Mutex<String>>,
    /// (API, path, body)
    got: Arc<Mutex<Vec<(String, String, Value)>>>,
    /// Answers to the next sends instead of a success: (status, body).
    fail: Arc<Mutex<VecDeque<(u16, Value)>>>,
}

impl Provider {
    fn sends(&self, api: &str) -> Vec<Value> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|(a, _, _)| a == api)
            .map(|(_, _, b)| b.clone())
            .collect()
    }

    /// Waits until `api` got `n` requests.
    async fn wait(&self, api: &str, n: usize) -> Vec<Value> {
        for _ in 0..200 {
            let got = self.sends(api);
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("{api} got {:?}, not {n} requests", self.sends(api));
    }

    fn failure(&self) -> Option<(u16, Value)> {
        self.fail.lock().unwrap().pop_front()
    }

    /// Records a request; how many `api` got so far (the provider's ids count per API).
    fn record(&self, api: &str, path: String, body: Value) -> usize {
        let mut got = self.got.lock().unwrap();
        got.push((api.to_owned(), path, body));
        got.iter().filter(|(a, _, _)| a == api).count()
    }
}

fn answer(status: u16, body: Value) -> Response {
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

async fn graph_send(
    State(p): State<Provider>,
    Path(phone): Path<String>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    // read receipts and "seen" markers are recorded apart from the replies
    let marker = body.get("status").is_some() || body.get("sender_action").is_some();
    let api = match (phone == "me", marker) {
        (true, false) => "messenger",
        (true, true) => "messenger_seen",
        (false, false) => "whatsapp",
        (false, true) => "whatsapp_read",
    };
    let token = if phone == "me" {
        "page-access-token-0123"
    } else {
        WA_TOKEN
    };
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {token}"))
    {
        return answer(
            401,
            json!({"error": {"message": "Invalid OAuth access token", "code": 190}}),
        );
    }
    if !marker && let Some((status, body)) = p.failure() {
        return answer(status, body);
    }
    let n = p.record(api, format!("/{phone}/messages"), body);
    if api == "messenger" {
        answer(
            200,
            json!({"recipient_id": "6789012345", "message_id": format!("m_out_{n}")}),
        )
    } else {
        answer(
            200,
            json!({"messaging_product": "whatsapp", "contacts": [{"input": "x", "wa_id": "x"}], "messages": [{"id": format!("wamid.out.{n}")}]}),
        )
    }
}

async fn graph_media(
    State(p): State<Provider>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {WA_TOKEN}"))
    {
        return answer(
            401,
            json!({"error": {"message": "Invalid OAuth access token", "code": 190}}),
        );
    }
    p.record("media", id.clone(), Value::Null);
    let base = p.base.lock().unwrap().clone();
    answer(
        200,
        json!({"messaging_product": "whatsapp", "url": format!("{base}/files/{id}"), "mime_type": "image/jpeg", "sha256": "x", "file_size": PNG.len(), "id": id}),
    )
}

async fn file(Path(_id): Path<String>) -> Response {
    // the claimed type is a lie: the server sniffs the bytes
    ([("content-type", "application/octet-stream")], PNG).into_response()
}

async fn telegram(
    State(p): State<Provider>,
    Path((bot, method)): Path<(String, String)>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if bot != format!("bot{TG_TOKEN}") {
        return answer(
            401,
            json!({"ok": false, "error_code": 401, "description": "Unauthorized"}),
        );
    }
    if method == "sendMessage"
        && let Some((status, body)) = p.failure()
    {
        return answer(status, body);
    }
    let n = p.record("telegram", method.clone(), body);
    match method.as_str() {
        "getFile" => answer(
            200,
            json!({"ok": true, "result": {"file_id": "f", "file_unique_id": "u", "file_size": PNG.len(), "file_path": "photos/file_1.png"}}),
        ),
        "answerCallbackQuery" => answer(200, json!({"ok": true, "result": true})),
        _ => answer(
            200,
            json!({"ok": true, "result": {"message_id": n, "chat": {"id": 1111111, "type": "private"}, "date": 0, "text": "x"}}),
        ),
    }
}

async fn telegram_file(Path((bot, _a, _b)): Path<(String, String, String)>) -> Response {
    if bot != format!("bot{TG_TOKEN}") {
        return StatusCode::NOT_FOUND.into_response();
    }
    PNG.into_response()
}

/// The SMS provider's Messages API (Twilio's contract: a form, basic authentication).
async fn sms_send(
    State(p): State<Provider>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if account != "AC0123456789" || auth != Some(basic("AC0123456789", "sms-auth-token").as_str()) {
        return answer(
            401,
            json!({"code": 20003, "message": "Authenticate", "status": 401}),
        );
    }
    if let Some((status, body)) = p.failure() {
        return answer(status, body);
    }
    let form: serde_json::Map<String, Value> = body
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), json!(form_decode(v))))
        .collect();
    let n = p.record("sms", account, Value::Object(form));
    answer(
        201,
        json!({"sid": format!("SM{n:032}"), "status": "queued"}),
    )
}

/// Decodes a value of an `application/x-www-form-urlencoded` body.
fn form_decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `Basic <base64(user:password)>`.
fn basic(user: &str, password: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{user}:{password}").into_bytes();
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(A[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    format!("Basic {out}")
}

async fn stand_in() -> (Provider, String) {
    let p = Provider::default();
    let app = axum::Router::new()
        .route("/graph/{phone}/messages", axum::routing::post(graph_send))
        .route("/graph/{id}", axum::routing::get(graph_media))
        .route("/files/{id}", axum::routing::get(file))
        .route("/tg/{bot}/{method}", axum::routing::post(telegram))
        .route(
            "/tg/file/{bot}/{dir}/{name}",
            axum::routing::get(telegram_file),
        )
        .route(
            "/sms/2010-04-01/Accounts/{account}/Messages.json",
            axum::routing::post(sms_send),
        )
        .with_state(p.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    *p.base.lock().unwrap() = base.clone();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (p, base)
}

struct Env {
    root: String,
    base: String,
    http: reqwest::Client,
    provider: Provider,
    server: support::TestServer,
}

fn routing_doc(reference: &str) -> Value {
    let id = |n: usize| uuid::Uuid::from_u128(n as u128 + 1).to_string();
    let actions = [
        ("start", json!({})),
        (
            "message_with_choice",
            json!({"message": "Sales or support?", "wait_seconds": 300, "choices": [{"label": "Sales"}, {"label": "Support"}]}),
        ),
        (
            "simple_message",
            json!({"message": "Sales here, {{ customer.name }}."}),
        ),
        (
            "message_awaiting_response",
            json!({"wait_seconds": 600, "max_attempts": 2, "error_message": "An image, please.", "questions": [{"question": "Send a photo of the damage", "answer_type": "image", "variable": "claim.photo"}]}),
        ),
        (
            "simple_message",
            json!({"message": "Got {{ claim.photo.content_type }}"}),
        ),
        (
            "message_with_choice",
            json!({"message": "Which day?", "wait_seconds": 300, "choices": (1..=5).map(|d| json!({"label": format!("Day {d}")})).collect::<Vec<_>>()}),
        ),
    ];
    let links = [
        (0, "ok", 1),
        (1, "link_1", 2),
        (1, "link_2", 3),
        (3, "ok", 4),
        (4, "ok", 5),
    ];
    json!({
        "format": "switchyard.routing", "format_version": 1,
        "routing": {"reference": reference, "name": reference, "kind": "interaction_start", "channel_family": "messaging"},
        "versions": [{"number": 1, "name": "v1", "status": "production", "tree": {
            "actions": actions.iter().enumerate().map(|(k, (ty, params))| json!({"id": id(k), "type": ty, "params": params})).collect::<Vec<_>>(),
            "links": links.iter().enumerate().map(|(k, (from, branch, to))| json!({"id": id(1_000 + k), "from": id(*from), "branch": branch, "to": id(*to)})).collect::<Vec<_>>()
        }}]
    })
}

impl Env {
    async fn start() -> Env {
        let (provider, standin) = stand_in().await;
        let server = support::start(
            runtime::ServiceSettings {
                conversations: runtime::conversations::Settings {
                    providers: channels::ProviderBases {
                        whatsapp: format!("{standin}/graph"),
                        telegram: format!("{standin}/tg"),
                        messenger: format!("{standin}/graph"),
                    },
                    sms: Some(std::sync::Arc::new(channels::sms::SmsProvider {
                        base: format!("{standin}/sms"),
                        account_sid: "AC0123456789".into(),
                        auth_token: "sms-auth-token".into(),
                    })),
                    ..Default::default()
                },
                ..Default::default()
            },
            support::limits(),
        )
        .await;
        Env {
            root: server.root.clone(),
            base: format!("{}/api/v1", server.root),
            http: support::admin_client(),
            provider,
            server,
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}/{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// A production routing, and an entry point of `channel` bound to it.
    async fn entry_point(
        &self,
        reference: &str,
        channel: &str,
        address: &str,
        secrets: Value,
    ) -> Value {
        let (s, r) = self
            .call(
                Method::POST,
                "routings/import",
                Some(routing_doc(&reference.to_uppercase())),
            )
            .await;
        assert_eq!(s, 201, "{r}");
        let (s, ep) = self
            .call(Method::POST, "entry-points", Some(json!({"reference": reference, "name": reference, "channel": channel, "address": address, "secrets": secrets, "start_routing_id": r["routing"]["id"]})))
            .await;
        assert_eq!(s, 201, "{ep}");
        ep
    }

    /// Posts a webhook with these headers.
    async fn webhook(&self, path: &str, body: &[u8], headers: &[(&str, &str)]) -> (u16, Value) {
        let mut req = reqwest::Client::new()
            .post(format!("{}/webhooks/{path}", self.root))
            .header("content-type", "application/json")
            .body(body.to_vec());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send().await.unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    async fn meta(&self, path: &str, secret: &str, body: &Value) -> (u16, Value) {
        let bytes = serde_json::to_vec(body).unwrap();
        let sig = channels::meta::sign(secret, &bytes);
        self.webhook(path, &bytes, &[("x-hub-signature-256", &sig)])
            .await
    }

    async fn history(&self, channel: &str) -> Vec<Value> {
        let (_, list) = self.call(Method::GET, "interactions?limit=10", None).await;
        let item = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["channel"] == channel || i["entry_point"]["channel"] == channel)
            .or_else(|| list["items"].as_array().unwrap().first())
            .cloned()
            .unwrap();
        let (_, detail) = self
            .call(
                Method::GET,
                &format!("interactions/{}", item["id"].as_str().unwrap()),
                None,
            )
            .await;
        detail["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event"].clone())
            .collect()
    }

    async fn until(
        &self,
        what: &str,
        check: impl Fn(&[Value]) -> bool,
        channel: &str,
    ) -> Vec<Value> {
        for _ in 0..200 {
            let h = self.history(channel).await;
            if check(&h) {
                return h;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("{what}: {:#?}", self.history(channel).await);
    }
}

fn wa_message(id: &str, kind: &str, content: Value) -> Value {
    let mut m = json!({"from": "16505551234", "id": id, "timestamp": "1744344496", "type": kind});
    m.as_object_mut().unwrap().insert(kind.to_owned(), content);
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
        "messages": [m]}}]}]})
}

#[tokio::test]
async fn a_whatsapp_customer_converses_with_buttons_a_list_and_an_image() {
    let env = Env::start().await;
    let secret = "wa-app-secret-0123";
    let ep = env
        .entry_point("wa", "whatsapp", "106540352242922", json!({"access_token": WA_TOKEN, "app_secret": secret, "verify_token": "wa-verify-token"}))
        .await;
    // the credentials are never shown, only their names
    assert!(ep.get("secrets").is_none());
    assert_eq!(
        ep["secrets_set"],
        json!(["access_token", "app_secret", "verify_token"])
    );
    assert!(!ep.to_string().contains(WA_TOKEN));

    // the subscription handshake
    let hub = |token: &str| {
        format!(
            "{}/webhooks/whatsapp/wa?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444",
            env.root
        )
    };
    let r = reqwest::get(hub("wa-verify-token")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "1158201444");
    let r = reqwest::get(hub("another")).await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.json::<Value>().await.unwrap()["code"],
        "verification_failed"
    );

    // unsigned, wrongly signed, upper-case hex: refused, nothing stored
    let hello = wa_message("wamid.in.1", "text", json!({"body": "hello"}));
    let bytes = serde_json::to_vec(&hello).unwrap();
    let good = channels::meta::sign(secret, &bytes);
    for bad in [
        None,
        Some(channels::meta::sign("wrong", &bytes)),
        Some(format!("sha256={}", good["sha256=".len()..].to_uppercase())),
        Some("sha1=abc".to_owned()),
    ] {
        let headers: Vec<(&str, &str)> = bad
            .as_deref()
            .map(|b| ("x-hub-signature-256", b))
            .into_iter()
            .collect();
        let (s, p) = env.webhook("whatsapp/wa", &bytes, &headers).await;
        assert_eq!(
            (s, p["code"].as_str()),
            (401, Some("invalid_signature")),
            "{bad:?}"
        );
    }
    let (_, none) = env.call(Method::GET, "interactions", None).await;
    assert_eq!(none["items"].as_array().unwrap().len(), 0);

    // the first message: the routing asks with two reply buttons
    let (s, ack) = env
        .webhook("whatsapp/wa", &bytes, &[("x-hub-signature-256", &good)])
        .await;
    assert_eq!((s, ack["messages"].as_u64()), (200, Some(1)), "{ack}");
    let sent = env.provider.wait("whatsapp", 1).await;
    assert_eq!(sent[0]["to"], "16505551234");
    assert_eq!(sent[0]["interactive"]["type"], "button");
    assert_eq!(
        sent[0]["interactive"]["action"]["buttons"][1]["reply"]["title"],
        "Support"
    );
    // the customer sees their message read
    let read = env.provider.wait("whatsapp_read", 1).await;
    assert_eq!(
        (read[0]["status"].as_str(), read[0]["message_id"].as_str()),
        (Some("read"), Some("wamid.in.1"))
    );
    // the provider sends it again: recognised, not answered twice
    let (_, again) = env
        .webhook("whatsapp/wa", &bytes, &[("x-hub-signature-256", &good)])
        .await;
    assert_eq!(again["duplicates"], 1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(env.provider.sends("whatsapp").len(), 1);
    // the customer is known by their wa_id, with their profile name
    let (_, customers) = env
        .call(Method::GET, "customers?channel=whatsapp", None)
        .await;
    assert_eq!(customers["items"][0]["address"], "16505551234");
    assert_eq!(customers["items"][0]["name"], "Sheena Nelson");

    // "Support" pressed: the image question
    let press = wa_message(
        "wamid.in.2",
        "interactive",
        json!({"type": "button_reply", "button_reply": {"id": "2", "title": "Support"}}),
    );
    assert_eq!(env.meta("whatsapp/wa", secret, &press).await.0, 200);
    let sent = env.provider.wait("whatsapp", 2).await;
    assert_eq!(sent[1]["text"]["body"], "Send a photo of the damage");
    // a photo: fetched through the media API (the type sniffed from its bytes), kept
    let photo = wa_message(
        "wamid.in.3",
        "image",
        json!({"id": "2754859441498128", "mime_type": "image/jpeg", "sha256": "x"}),
    );
    assert_eq!(env.meta("whatsapp/wa", secret, &photo).await.0, 200);
    let sent = env.provider.wait("whatsapp", 4).await;
    assert_eq!(sent[2]["text"]["body"], "Got image/png");
    // the provider sends the photo again: a duplicate, its medium not fetched twice
    let (_, again) = env.meta("whatsapp/wa", secret, &photo).await;
    assert_eq!(again["duplicates"], 1);
    assert_eq!(env.provider.sends("media").len(), 1);
    // five choices: a list
    assert_eq!(sent[3]["interactive"]["type"], "list");
    assert_eq!(
        sent[3]["interactive"]["action"]["sections"][0]["rows"][4]["title"],
        "Day 5"
    );
    let row = wa_message(
        "wamid.in.4",
        "interactive",
        json!({"type": "list_reply", "list_reply": {"id": "5", "title": "Day 5"}}),
    );
    assert_eq!(env.meta("whatsapp/wa", secret, &row).await.0, 200);
    let h = env
        .until(
            "the list reply is taken",
            |h| {
                h.iter()
                    .any(|e| e["type"] == "branch" && e["branch"] == "link_5")
            },
            "whatsapp",
        )
        .await;
    assert!(
        h.iter()
            .any(|e| e["type"] == "message_in" && e["attachments"] == 1),
        "{h:#?}"
    );
    // the photo is kept, readable by who reads interactions, with its sniffed type
    let set = h
        .iter()
        .find(|e| e["type"] == "variable_set" && e["path"] == "claim.photo")
        .unwrap_or_else(|| panic!("{h:#?}"));
    let url = set["value"]["url"].as_str().unwrap();
    assert!(url.starts_with("/api/v1/uploads/"), "{url}");
    let photo = env
        .http
        .get(format!("{}{url}", env.root))
        .send()
        .await
        .unwrap();
    assert_eq!(photo.headers()["content-type"], "image/png");
    assert_eq!(photo.bytes().await.unwrap().as_ref(), PNG);
    let anonymous = reqwest::get(format!("{}{url}", env.root)).await.unwrap();
    assert_eq!(anonymous.status(), 401);

    // delivery statuses go to the history of the reply
    let status = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "statuses": [{"id": "wamid.out.1", "status": "read", "timestamp": "1744344496", "recipient_id": "16505551234"}]}}]}]});
    let (s, ack) = env.meta("whatsapp/wa", secret, &status).await;
    assert_eq!((s, ack["statuses"].as_u64()), (200, Some(1)));
    env.until(
        "the read status is noted",
        |h| {
            h.iter()
                .any(|e| e["type"] == "channel" && e["detail"]["status"] == "read")
        },
        "whatsapp",
    )
    .await;
    // another phone number's webhook: acknowledged, ignored
    let mut other = hello.clone();
    other["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = json!("999");
    let (s, ack) = env.meta("whatsapp/wa", secret, &other).await;
    assert_eq!(
        (s, ack["ignored"].as_u64(), ack["messages"].as_u64()),
        (200, Some(1), Some(0))
    );

    // outside the 24-hour window: the provider refuses, the reply is given up and the history says why
    env.provider.fail.lock().unwrap().push_back((400, json!({"error": {"message": "(#131047) Re-engagement message", "type": "OAuthException", "code": 131047, "error_data": {"messaging_product": "whatsapp", "details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}})));
    let late = wa_message("wamid.in.5", "text", json!({"body": "are you there?"}));
    assert_eq!(env.meta("whatsapp/wa", secret, &late).await.0, 200);
    env.until(
        "the refusal is recorded",
        |h| {
            h.iter().any(|e| {
                e["type"] == "channel"
                    && e["detail"]["status"] == "failed"
                    && e["detail"]["error"]
                        .as_str()
                        .is_some_and(|x| x.contains("customer-service window"))
            })
        },
        "whatsapp",
    )
    .await;
    drop(env.server);
}

#[tokio::test]
async fn a_telegram_customer_presses_a_button_and_it_stops_spinning() {
    let env = Env::start().await;
    env.entry_point(
        "tg",
        "telegram",
        "switchyard_bot",
        json!({"bot_token": TG_TOKEN, "secret_token": "tg-secret_token-0123"}),
    )
    .await;
    let update = json!({"update_id": 500, "message": {"message_id": 1, "from": {"id": 1111111, "is_bot": false, "first_name": "Ada", "last_name": "Lovelace"}, "chat": {"id": 1111111, "type": "private"}, "date": 1441645532, "text": "hi"}});
    let bytes = serde_json::to_vec(&update).unwrap();
    for bad in [None, Some("another-token")] {
        let headers: Vec<(&str, &str)> = bad
            .map(|b| ("x-telegram-bot-api-secret-token", b))
            .into_iter()
            .collect();
        let (s, p) = env.webhook("telegram/tg", &bytes, &headers).await;
        assert_eq!((s, p["code"].as_str()), (401, Some("invalid_signature")));
    }
    let ok = [("x-telegram-bot-api-secret-token", "tg-secret_token-0123")];
    assert_eq!(env.webhook("telegram/tg", &bytes, &ok).await.0, 200);
    let sent = env.provider.wait("telegram", 1).await;
    assert_eq!(sent[0]["chat_id"], 1111111);
    assert_eq!(
        sent[0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"],
        "1"
    );
    // the press of "Sales": answered, and the routing goes on
    let press = json!({"update_id": 501, "callback_query": {"id": "4382bfdwdsb323b2d9", "from": {"id": 1111111, "is_bot": false, "first_name": "Ada"}, "message": {"message_id": 1, "chat": {"id": 1111111, "type": "private"}, "date": 0, "text": "Sales or support?"}, "chat_instance": "-1", "data": "1"}});
    assert_eq!(
        env.webhook("telegram/tg", &serde_json::to_vec(&press).unwrap(), &ok)
            .await
            .0,
        200
    );
    let sent = env.provider.wait("telegram", 3).await;
    let answered: Vec<&Value> = sent
        .iter()
        .filter(|b| b.get("callback_query_id").is_some())
        .collect();
    assert_eq!(answered[0]["callback_query_id"], "4382bfdwdsb323b2d9");
    let replies: Vec<&str> = sent.iter().filter_map(|b| b["text"].as_str()).collect();
    assert!(
        replies.contains(&"Sales here, Ada Lovelace."),
        "{replies:?}"
    );
    // a reaction and an edit are recorded, not answers
    let reaction = json!({"update_id": 502, "message_reaction": {"chat": {"id": 1111111, "type": "private"}, "message_id": 2, "date": 0, "old_reaction": [], "new_reaction": [{"type": "emoji", "emoji": "👍"}]}});
    let (_, ack) = env
        .webhook("telegram/tg", &serde_json::to_vec(&reaction).unwrap(), &ok)
        .await;
    assert_eq!(ack["notes"], 1);
    // rate-limited: the provider's Retry-After is waited out, then the reply goes
    env.provider.fail.lock().unwrap().push_back((429, json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 1", "parameters": {"retry_after": 1}})));
    let again = json!({"update_id": 503, "message": {"message_id": 3, "from": {"id": 2222222, "is_bot": false, "first_name": "Bob"}, "chat": {"id": 2222222, "type": "private"}, "date": 0, "text": "hello"}});
    assert_eq!(
        env.webhook("telegram/tg", &serde_json::to_vec(&again).unwrap(), &ok)
            .await
            .0,
        200
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !env.provider
            .sends("telegram")
            .iter()
            .any(|b| b["chat_id"] == 2222222)
    );
    env.server.clock.advance(jiff::SignedDuration::from_secs(2));
    let sent = env.provider.wait("telegram", 4).await;
    assert!(sent.iter().any(|b| b["chat_id"] == 2222222));
}

#[tokio::test]
async fn a_messenger_customer_answers_with_a_quick_reply() {
    let env = Env::start().await;
    let secret = "ms-app-secret-0123";
    env.entry_point("page", "messenger", "1234567890", json!({"page_access_token": "page-access-token-0123", "app_secret": secret, "verify_token": "ms-verify-token"}))
        .await;
    let r = reqwest::get(format!("{}/webhooks/messenger/page?hub.mode=subscribe&hub.verify_token=ms-verify-token&hub.challenge=CHALLENGE_ACCEPTED", env.root)).await.unwrap();
    assert_eq!(r.text().await.unwrap(), "CHALLENGE_ACCEPTED");
    let msg = |mid: &str, message: Value| {
        json!({"object": "page", "entry": [{"id": "1234567890", "time": 1, "messaging": [
        {"sender": {"id": "6789012345"}, "recipient": {"id": "1234567890"}, "timestamp": 1, "message": message.as_object().unwrap().clone().into_iter().chain([("mid".to_owned(), json!(mid))]).collect::<serde_json::Map<_, _>>()}]}]})
    };
    assert_eq!(
        env.meta("messenger/page", secret, &msg("m_1", json!({"text": "hi"})))
            .await
            .0,
        200
    );
    let sent = env.provider.wait("messenger", 1).await;
    assert_eq!(sent[0]["recipient"]["id"], "6789012345");
    assert_eq!(sent[0]["message"]["quick_replies"][0]["payload"], "1");
    let seen = env.provider.wait("messenger_seen", 1).await;
    assert_eq!(seen[0]["sender_action"], "mark_seen");
    // the page's own echo is ignored; the quick reply is the answer
    let echo = json!({"object": "page", "entry": [{"id": "1234567890", "time": 1, "messaging": [{"sender": {"id": "1234567890"}, "recipient": {"id": "6789012345"}, "timestamp": 1, "message": {"mid": "m_echo", "is_echo": true, "text": "Sales or support?"}}]}]});
    let (_, ack) = env.meta("messenger/page", secret, &echo).await;
    assert_eq!(ack["ignored"], 1);
    assert_eq!(
        env.meta(
            "messenger/page",
            secret,
            &msg(
                "m_2",
                json!({"text": "Sales", "quick_reply": {"payload": "1"}})
            )
        )
        .await
        .0,
        200
    );
    let sent = env.provider.wait("messenger", 2).await;
    assert_eq!(sent[1]["message"]["text"], "Sales here, .");
}

#[tokio::test]
async fn provider_entry_points_check_their_address_and_credentials() {
    let env = Env::start().await;
    let post = |body: Value| env.call(Method::POST, "entry-points", Some(body));
    // no address, a bad address, missing or unknown secrets, a malformed bot token
    for (body, field) in [
        (
            json!({"reference": "a", "name": "A", "channel": "whatsapp", "secrets": {"access_token": WA_TOKEN, "app_secret": "s3cr3t-app", "verify_token": "v3rify-tok"}}),
            "address",
        ),
        (
            json!({"reference": "a", "name": "A", "channel": "whatsapp", "address": "+33 1", "secrets": {"access_token": WA_TOKEN, "app_secret": "s3cr3t-app", "verify_token": "v3rify-tok"}}),
            "address",
        ),
        (
            json!({"reference": "a", "name": "A", "channel": "whatsapp", "address": "1", "secrets": {"access_token": WA_TOKEN}}),
            "secrets",
        ),
        (
            json!({"reference": "a", "name": "A", "channel": "whatsapp", "address": "1", "secrets": {"bot_token": TG_TOKEN}}),
            "secrets",
        ),
        (
            json!({"reference": "a", "name": "A", "channel": "telegram", "address": "my_bot", "secrets": {"bot_token": "not a token", "secret_token": "abcdefgh"}}),
            "secrets",
        ),
        (
            json!({"reference": "a", "name": "A", "channel": "web_chat", "address": "123"}),
            "address",
        ),
    ] {
        let (s, p) = post(body.clone()).await;
        assert_eq!(
            (s, p["code"].as_str()),
            (422, Some("invalid_field")),
            "{body}: {p}"
        );
        assert!(p.to_string().contains(field), "{p}");
    }
    // a change keeps the secrets not given
    let (s, ep) = post(json!({"reference": "wa", "name": "WA", "channel": "whatsapp", "address": "1", "secrets": {"access_token": WA_TOKEN, "app_secret": "s3cr3t-app", "verify_token": "v3rify-tok"}})).await;
    assert_eq!(s, 201);
    let id = ep["id"].as_str().unwrap();
    let (s, _) = env
        .call(
            Method::PATCH,
            &format!("entry-points/{id}"),
            Some(json!({"secrets": {"verify_token": "n3w-verify-token"}})),
        )
        .await;
    assert_eq!(s, 200);
    let r = reqwest::get(format!("{}/webhooks/whatsapp/wa?hub.mode=subscribe&hub.verify_token=n3w-verify-token&hub.challenge=42", env.root)).await.unwrap();
    assert_eq!(r.text().await.unwrap(), "42");
    // a webhook of another channel's entry point, or none: not found
    let r = reqwest::Client::new()
        .post(format!("{}/webhooks/telegram/wa", env.root))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn a_version_in_test_runs_on_its_whatsapp_entry_point_and_an_agent_answers_there() {
    let env = Env::start().await;
    let secret = "wa-app-secret-0123";
    let ep = env
        .entry_point("wa", "whatsapp", "106540352242922", json!({"access_token": WA_TOKEN, "app_secret": secret, "verify_token": "wa-verify-token"}))
        .await;
    let routing = ep["start_routing_id"].as_str().unwrap().to_owned();
    // an agent and a queue; a second version hands the conversation to it
    let (_, ann) = env
        .call(
            Method::POST,
            "users",
            Some(json!({"reference": "ann", "name": "Ann", "auto_accept": true})),
        )
        .await;
    let agent_token = ann["token"].as_str().unwrap().to_owned();
    let (s, _) = env
        .call(Method::POST, "groups", Some(json!({"reference": "SALES", "name": "Sales", "data": {"members": [ann["id"]], "algorithm": "least_chats"}})))
        .await;
    assert_eq!(s, 201);
    let (_, v2) = env
        .call(
            Method::POST,
            &format!("routings/{routing}/versions"),
            Some(json!({"name": "with agents"})),
        )
        .await;
    let v2 = v2["id"].as_str().unwrap().to_owned();
    let (_, version) = env.call(Method::GET, &format!("versions/{v2}"), None).await;
    let start = version["tree"]["actions"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, added) = env
        .call(Method::POST, &format!("versions/{v2}/actions"), Some(json!({"type": "distribute_to_queue", "params": {"target": {"to": "queue", "queue": {"by": "reference", "reference": "SALES"}}}, "after": {"action_id": start, "branch": "ok"}})))
        .await;
    assert_eq!(s, 201, "{added}");
    let (s, p) = env
        .call(
            Method::POST,
            &format!("versions/{v2}/put-in-test"),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    let ep_id = ep["id"].as_str().unwrap();
    let (s, p) = env
        .call(
            Method::PATCH,
            &format!("entry-points/{ep_id}"),
            Some(json!({"test_version_id": v2})),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    // the version's card shows the entry point it is tested on
    let (_, card) = env.call(Method::GET, &format!("versions/{v2}"), None).await;
    assert_eq!(card["test_entry_points"][0]["reference"], "wa");
    assert_eq!(card["test_entry_points"][0]["channel"], "whatsapp");
    assert_eq!(card["test_entry_points"][0]["address"], "106540352242922");

    // Ann is online; a customer writes: the version in test runs and gives her the conversation
    let agent = reqwest::Client::new();
    let r = agent
        .put(format!("{}/agent/presence", env.base))
        .bearer_auth(&agent_token)
        .json(&json!({"presence": "online"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let hello = wa_message("wamid.in.t1", "text", json!({"body": "I want to buy"}));
    assert_eq!(env.meta("whatsapp/wa", secret, &hello).await.0, 200);
    let mut conversation = None;
    for _ in 0..200 {
        let list: Value = agent
            .get(format!("{}/agent/conversations", env.base))
            .bearer_auth(&agent_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(c) = list.as_array().and_then(|l| l.first()) {
            conversation = Some(c.clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let conversation = conversation.expect("the agent got the conversation");
    let iid = conversation["id"].as_str().unwrap().to_owned();
    let (_, detail) = env
        .call(Method::GET, &format!("interactions/{iid}"), None)
        .await;
    assert_eq!(
        (detail["mode"].as_str(), detail["version_id"].as_str()),
        (Some("test"), Some(v2.as_str())),
        "{detail}"
    );
    // her reply goes to the customer through WhatsApp
    let r = agent
        .post(format!("{}/agent/conversations/{iid}/messages", env.base))
        .bearer_auth(&agent_token)
        .json(&json!({"text": "Ann here, how can I help?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let sent = env.provider.wait("whatsapp", 1).await;
    assert_eq!(
        (sent[0]["to"].as_str(), sent[0]["text"]["body"].as_str()),
        (Some("16505551234"), Some("Ann here, how can I help?"))
    );
}

#[tokio::test]
async fn send_a_sms_takes_each_of_its_branches() {
    let env = Env::start().await;
    let (s, t) = env
        .call(Method::POST, "sms-templates", Some(json!({"reference": "WELCOME", "name": "Welcome", "data": {"content": "Hello {{ first_name }}, your code is {{ code }}.", "variables": ["first_name", "code"]}})))
        .await;
    assert_eq!(s, 201, "{t}");
    // a template's content and variables are checked
    let (s, _) = env
        .call(Method::POST, "sms-templates", Some(json!({"reference": "BAD", "name": "Bad", "data": {"content": "", "variables": []}})))
        .await;
    assert_eq!(s, 422);
    let id = |n: usize| uuid::Uuid::from_u128(n as u128 + 1).to_string();
    let actions = [
        ("start", json!({})),
        (
            "send_sms",
            json!({"template": {"by": "reference", "reference": "WELCOME"}, "template_variables": [{"field": "first_name", "value": "{{ customer.name }}"}, {"field": "code", "value": "1234"}], "send_type": "outgoing_interaction", "sender": "Switchyard", "recipient": "+{{ customer.address }}"}),
        ),
        ("simple_message", json!({"message": "SMS sent"})),
        ("simple_message", json!({"message": "Not a mobile"})),
        (
            "simple_message",
            json!({"message": "SMS failed: {{ system.error }}"}),
        ),
    ];
    let links = [
        (0, "ok", 1),
        (1, "ok", 2),
        (1, "not_mobile", 3),
        (1, "error", 4),
    ];
    let doc = json!({
        "format": "switchyard.routing", "format_version": 1,
        "routing": {"reference": "SMS", "name": "SMS", "kind": "interaction_start", "channel_family": "messaging"},
        "versions": [{"number": 1, "name": "v1", "status": "production", "tree": {
            "actions": actions.iter().enumerate().map(|(k, (ty, params))| json!({"id": id(k), "type": ty, "params": params})).collect::<Vec<_>>(),
            "links": links.iter().enumerate().map(|(k, (from, branch, to))| json!({"id": id(1_000 + k), "from": id(*from), "branch": branch, "to": id(*to)})).collect::<Vec<_>>()
        }}]
    });
    let (s, r) = env.call(Method::POST, "routings/import", Some(doc)).await;
    assert_eq!(s, 201, "{r}");
    let secret = "wa-app-secret-0123";
    env.call(Method::POST, "entry-points", Some(json!({"reference": "wa", "name": "wa", "channel": "whatsapp", "address": "106540352242922", "secrets": {"access_token": WA_TOKEN, "app_secret": secret, "verify_token": "wa-verify-token"}, "start_routing_id": r["routing"]["id"]})))
        .await;
    let from = |wa_id: &str, id: &str| {
        let mut m = wa_message(id, "text", json!({"body": "hi"}));
        m["entry"][0]["changes"][0]["value"]["messages"][0]["from"] = json!(wa_id);
        m["entry"][0]["changes"][0]["value"]["contacts"][0]["wa_id"] = json!(wa_id);
        m
    };
    // a US mobile: sent, OK
    assert_eq!(
        env.meta("whatsapp/wa", secret, &from("16505551234", "w1"))
            .await
            .0,
        200
    );
    let sms = env.provider.wait("sms", 1).await;
    assert_eq!(sms[0]["To"], "+16505551234");
    assert_eq!(sms[0]["From"], "Switchyard");
    assert_eq!(sms[0]["Body"], "Hello Sheena Nelson, your code is 1234.");
    let replies = env.provider.wait("whatsapp", 1).await;
    assert_eq!(replies[0]["text"]["body"], "SMS sent");
    // sent as an outgoing interaction: one of its own, closed, its message the SMS
    let (_, outgoing) = env
        .call(Method::GET, "interactions?mode=outgoing", None)
        .await;
    let items = outgoing["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{outgoing}");
    assert_eq!(
        (items[0]["customer"].as_str(), items[0]["status"].as_str()),
        (Some("+16505551234"), Some("closed"))
    );
    let (_, detail) = env
        .call(
            Method::GET,
            &format!("interactions/{}", items[0]["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        detail["events"][0]["event"]["message"]["text"], "Hello Sheena Nelson, your code is 1234.",
        "{detail:#}"
    );
    // a French landline: Not mobile, nothing sent
    assert_eq!(
        env.meta("whatsapp/wa", secret, &from("33142685300", "w2"))
            .await
            .0,
        200
    );
    let replies = env.provider.wait("whatsapp", 2).await;
    assert_eq!(replies[1]["text"]["body"], "Not a mobile");
    // the provider refuses: Error, with its reason
    env.provider.fail.lock().unwrap().push_back((400, json!({"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400})));
    assert_eq!(
        env.meta("whatsapp/wa", secret, &from("33612345678", "w3"))
            .await
            .0,
        200
    );
    let replies = env.provider.wait("whatsapp", 3).await;
    let text = replies[2]["text"]["body"].as_str().unwrap();
    assert!(
        text.starts_with("SMS failed: the SMS provider answered 400") && text.contains("21211"),
        "{text}"
    );
    assert_eq!(env.provider.sends("sms").len(), 1);
}

#[tokio::test]
async fn a_message_over_the_channels_limits_is_acknowledged_and_ignored() {
    let env = Env::start().await;
    let secret = "wa-app-secret-0123";
    env.entry_point(
        "wa",
        "whatsapp",
        "106540352242922",
        json!({"access_token": WA_TOKEN, "app_secret": secret, "verify_token": "wa-verify-token"}),
    )
    .await;
    // a text longer than WhatsApp carries: the provider would send it again for ever if refused
    let long = wa_message(
        "wamid.long",
        "text",
        json!({"body": "x".repeat(channels::whatsapp::LIMITS.text_chars + 1)}),
    );
    let (s, ack) = env.meta("whatsapp/wa", secret, &long).await;
    assert_eq!(
        (s, ack["ignored"].as_u64(), ack["messages"].as_u64()),
        (200, Some(1), Some(0)),
        "{ack}"
    );
    let (_, list) = env.call(Method::GET, "interactions", None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
}
