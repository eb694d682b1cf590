//! Conversations over real HTTP on loopback: the HTTP channel with a real callback server,
//! timers on a manual clock, preview, history and bad input.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use jiff::SignedDuration;
use runtime::ManualClock;
use serde_json::{Value, json};
use store::SqliteStore;

mod support;

/// Deliveries the callback server received: (idempotency key, body).
#[derive(Clone, Default)]
struct Callbacks {
    got: Arc<Mutex<Vec<(String, Value)>>>,
    /// Requests still to refuse with 500.
    fail: Arc<Mutex<u32>>,
}

async fn callback(
    State(cb): State<Callbacks>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> StatusCode {
    {
        let mut fail = cb.fail.lock().unwrap();
        if *fail > 0 {
            *fail -= 1;
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
    }
    let key = headers
        .get("idempotency-key")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    cb.got.lock().unwrap().push((key, body.0));
    StatusCode::OK
}

/// A routing document with one production version: actions given as (type, parameters), linked
/// by (from, branch, to) positions.
fn routing_doc(
    reference: &str,
    actions: &[(&str, Value)],
    links: &[(usize, &str, usize)],
) -> Value {
    let id = |n: usize| uuid::Uuid::from_u128(n as u128 + 1).to_string();
    json!({
        "format": "switchyard.routing", "format_version": 1,
        "routing": {"reference": reference, "name": reference, "kind": "interaction_start", "channel_family": "messaging"},
        "versions": [{"number": 1, "name": "v1", "status": "production", "tree": {
            "actions": actions.iter().enumerate().map(|(k, (ty, params))| json!({"id": id(k), "type": ty, "params": params})).collect::<Vec<_>>(),
            "links": links.iter().enumerate().map(|(k, (from, branch, to))| json!({"id": id(1_000 + k), "from": id(*from), "branch": branch, "to": id(*to)})).collect::<Vec<_>>()
        }}]
    })
}

struct Env {
    base: String,
    http: reqwest::Client,
    clock: Arc<ManualClock>,
    callbacks: Callbacks,
    callback_url: String,
    store: SqliteStore,
    conversations: Arc<runtime::Conversations>,
    _server: support::TestServer,
}

impl Env {
    async fn start() -> Env {
        Env::start_with(runtime::conversations::Settings::default()).await
    }

    async fn start_with(settings: runtime::conversations::Settings) -> Env {
        runtime::install_crypto();
        let callbacks = Callbacks::default();
        let cb_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let callback_url = format!("http://{}/cb", cb_listener.local_addr().unwrap());
        let cb_app = axum::Router::new()
            .route("/cb", axum::routing::post(callback))
            .with_state(callbacks.clone());
        tokio::spawn(async move { axum::serve(cb_listener, cb_app).await.unwrap() });

        let server = support::start(
            runtime::ServiceSettings {
                conversations: settings,
                ..runtime::ServiceSettings::default()
            },
            support::limits(),
        )
        .await;
        Env {
            base: format!("{}/api/v1", server.root),
            http: support::admin_client(),
            clock: server.clock.clone(),
            callbacks,
            callback_url,
            store: server.store.clone(),
            conversations: server.conversations.clone(),
            _server: server,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}/{path}", self.base));
        if let Some(b) = body {
            // the HTTP channel's messages are signed with the entry point's secret
            req = if path.starts_with("channels/http/") {
                support::signed(req, &b)
            } else {
                req.json(&b)
            };
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let (status, body) = self.call(reqwest::Method::POST, path, Some(body)).await;
        assert!((200..300).contains(&status), "{path}: {status} {body}");
        body
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call(reqwest::Method::GET, path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    async fn say(&self, ep: &str, id: &str, from: &str, text: &str) -> Value {
        self.post(
            &format!("channels/http/{ep}/messages"),
            json!({"message_id": id, "from": from, "text": text}),
        )
        .await
    }

    /// Texts delivered to the callback for a customer, in order.
    fn delivered(&self, customer: &str) -> Vec<String> {
        self.callbacks
            .got
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, b)| b["customer"] == customer)
            .map(|(_, b)| b["message"]["text"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    async fn wait_delivered(&self, customer: &str, n: usize) -> Vec<String> {
        for _ in 0..300 {
            let got = self.delivered(customer);
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "{customer}: {} deliveries, expected {n}: {:?}",
            self.delivered(customer).len(),
            self.delivered(customer)
        );
    }

    /// A production messaging routing: email question → choice → goodbye; timeouts → "Too slow".
    async fn production_routing(&self, reference: &str) -> (String, String) {
        let r = self.post("routings", json!({"name": reference, "reference": reference, "kind": "interaction_start", "channel_family": "messaging"})).await;
        let rid = r["id"].as_str().unwrap().to_owned();
        let v = self
            .post(&format!("routings/{rid}/versions"), json!({"name": "v1"}))
            .await;
        let vid = v["id"].as_str().unwrap().to_owned();
        let start = v["tree"]["actions"][0]["id"].as_str().unwrap().to_owned();
        let add = |ty: &'static str, params: Value, after: Option<(String, &'static str)>| {
            let mut body = json!({"type": ty, "params": params, "record_passage": true});
            if let Some((a, b)) = after {
                body["after"] = json!({"action_id": a, "branch": b});
            }
            let path = format!("versions/{vid}/actions");
            async move {
                self.post(&path, body).await["action"]["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }
        };
        let ask = add("message_awaiting_response", json!({"message": "Welcome!", "wait_seconds": 60, "max_attempts": 3, "error_message": "That is not an email.", "questions": [{"question": "Your email?", "answer_type": "email", "variable": "contact.email"}]}), Some((start, "ok"))).await;
        let choice = add("message_with_choice", json!({"message": "Thanks {{ contact.email }}. Sales or support?", "wait_seconds": 60, "choices": [{"label": "Sales"}, {"label": "Support"}]}), Some((ask.clone(), "ok"))).await;
        add(
            "simple_message",
            json!({"message": "Support will answer you."}),
            Some((choice.clone(), "link_2")),
        )
        .await;
        let slow = add(
            "simple_message",
            json!({"message": "Too slow ({{ system.error }})"}),
            Some((ask, "error")),
        )
        .await;
        self.post(
            &format!("versions/{vid}/links"),
            json!({"from": choice, "branch": "error", "to": slow}),
        )
        .await;
        self.post(&format!("versions/{vid}/put-in-production"), json!({}))
            .await;
        (rid, vid)
    }
}

#[tokio::test]
async fn a_conversation_through_the_http_channel() {
    let env = Env::start().await;
    let (rid, vid) = env.production_routing("SUPPORT").await;
    let ep = env.post("entry-points", json!({"reference": "shop", "name": "Shop chat", "channel": "http", "secret": support::CHANNEL_SECRET, "start_routing_id": rid, "callback_url": env.callback_url})).await;
    // no region of its own: the deployment's `phone_region` setting applies
    assert_eq!(ep["phone_region"], Value::Null);

    let a = env.say("shop", "m1", "+33600000001", "hello").await;
    assert_eq!(
        (a["duplicate"].as_bool(), a["status"].as_str()),
        (Some(false), Some("waiting"))
    );
    let iid = a["interaction_id"].as_str().unwrap().to_owned();
    // the same message again: acknowledged, not handled twice
    let again = env.say("shop", "m1", "+33600000001", "hello").await;
    assert_eq!(
        (
            again["duplicate"].as_bool(),
            again["interaction_id"].as_str()
        ),
        (Some(true), Some(iid.as_str()))
    );
    env.say(
        "shop",
        "m2",
        "+33600000001",
        "not an email {{ contact.email }}",
    )
    .await;
    env.say("shop", "m3", "+33600000001", "ann@example.org")
        .await;
    let last = env.say("shop", "m4", "+33600000001", "2").await;
    assert_eq!(last["status"], "closed");
    let got = env.wait_delivered("+33600000001", 6).await;
    assert_eq!(
        got,
        [
            "Welcome!",
            "Your email?",
            "That is not an email.",
            "Your email?",
            "Thanks ann@example.org. Sales or support?",
            "Support will answer you."
        ]
    );
    let keys: std::collections::HashSet<String> = env
        .callbacks
        .got
        .lock()
        .unwrap()
        .iter()
        .map(|(k, _)| k.clone())
        .collect();
    assert_eq!(
        keys.len(),
        env.callbacks.got.lock().unwrap().len(),
        "every delivery has its own idempotency key"
    );

    let i = env.get(&format!("interactions/{iid}")).await;
    assert_eq!(
        (
            i["status"].as_str(),
            i["mode"].as_str(),
            i["version_id"].as_str()
        ),
        (Some("closed"), Some("live"), Some(vid.as_str()))
    );
    assert_eq!(i["variables"]["contact"]["email"], "ann@example.org");
    assert_eq!(i["closed"]["reason"], "end_of_routing");
    let kinds: Vec<&str> = i["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["type"].as_str().unwrap())
        .collect();
    for k in [
        "message_in",
        "message_out",
        "passage",
        "branch",
        "variable_set",
        "closed",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    assert_eq!(
        kinds.iter().filter(|k| **k == "message_in").count(),
        4,
        "m1 once, m2, m3, m4"
    );

    // a new message from the same customer opens a new interaction
    let next = env.say("shop", "m5", "+33600000001", "hi again").await;
    assert_ne!(next["interaction_id"], a["interaction_id"]);
    let list = env.get("interactions?status=closed").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn timers_fire_and_failed_callbacks_are_retried_with_the_same_key() {
    let env = Env::start().await;
    let (rid, _) = env.production_routing("SLOW").await;
    env.post("entry-points", json!({"reference": "slow", "name": "Slow", "channel": "http", "secret": support::CHANNEL_SECRET, "start_routing_id": rid, "callback_url": env.callback_url})).await;
    *env.callbacks.fail.lock().unwrap() = 2;
    env.say("slow", "s1", "+33600000002", "hello").await;
    // the first two attempts fail; retries come after 1 s and 2 s
    for _ in 0..10 {
        env.clock.advance(SignedDuration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        env.wait_delivered("+33600000002", 2).await,
        ["Welcome!", "Your email?"],
        "in order, once each"
    );

    // no answer within 60 s: the error branch
    env.clock.advance(SignedDuration::from_secs(61));
    let got = env.wait_delivered("+33600000002", 3).await;
    assert_eq!(got[2], "Too slow (response_timeout)");
    let list = env.get("interactions?mode=live").await;
    assert_eq!(list["items"][0]["status"], "closed");
}

#[tokio::test]
async fn preview_history_bindings_and_bad_input() {
    let env = Env::start().await;
    let (rid, _) = env.production_routing("PREV").await;
    // a development version can be previewed without an entry point
    let dev = env
        .post(
            &format!("routings/{rid}/versions"),
            json!({"name": "draft"}),
        )
        .await;
    let dev_id = dev["id"].as_str().unwrap().to_owned();
    let start = dev["tree"]["actions"][0]["id"].as_str().unwrap().to_owned();
    env.post(&format!("versions/{dev_id}/actions"), json!({"type": "message_with_choice", "params": {"message": "Coffee or tea?", "wait_seconds": 60, "choices": [{"label": "Coffee"}, {"label": "Tea"}]}, "after": {"action_id": start, "branch": "ok"}})).await;
    let p = env
        .post(&format!("versions/{dev_id}/preview"), json!({}))
        .await;
    assert_eq!(p["replies"][0]["choices"], json!(["Coffee", "Tea"]));
    let pid = p["interaction_id"].as_str().unwrap();
    let r = env
        .post(
            &format!("interactions/{pid}/messages"),
            json!({"text": "TEA"}),
        )
        .await;
    assert_eq!(r["status"], "closed");
    let history = env.get(&format!("versions/{dev_id}/history")).await;
    assert_eq!(history["items"][0]["mode"], "preview");

    // bindings are checked
    let end = env.post("routings", json!({"name": "End", "reference": "END", "kind": "interaction_end", "channel_family": "messaging"})).await;
    let mail = env.post("routings", json!({"name": "Mail", "reference": "MAIL", "kind": "interaction_start", "channel_family": "email"})).await;
    for (body, path) in [
        (
            json!({"reference": "x1", "name": "x", "channel": "http", "secret": support::CHANNEL_SECRET, "start_routing_id": end["id"], "callback_url": env.callback_url}),
            "start_routing_id",
        ),
        (
            json!({"reference": "x2", "name": "x", "channel": "http", "secret": support::CHANNEL_SECRET, "start_routing_id": mail["id"], "callback_url": env.callback_url}),
            "start_routing_id",
        ),
        (
            json!({"reference": "x3", "name": "x", "channel": "http", "secret": support::CHANNEL_SECRET, "start_routing_id": rid, "end_routing_id": rid, "callback_url": env.callback_url}),
            "end_routing_id",
        ),
        (
            json!({"reference": "x4", "name": "x", "channel": "web_chat", "start_routing_id": rid, "test_version_id": dev_id}),
            "test_version_id",
        ),
        (
            json!({"reference": "x5", "name": "x", "channel": "http", "secret": support::CHANNEL_SECRET, "start_routing_id": rid, "test_version_id": dev_id, "callback_url": env.callback_url}),
            "test_version_id",
        ),
        (
            json!({"reference": "x6", "name": "x", "channel": "http", "secret": support::CHANNEL_SECRET, "start_routing_id": rid}),
            "callback_url",
        ),
        (
            json!({"reference": "x7", "name": "x", "channel": "http", "secret": support::CHANNEL_SECRET, "callback_url": "ftp://nope"}),
            "callback_url",
        ),
    ] {
        let (status, problem) = env
            .call(reqwest::Method::POST, "entry-points", Some(body))
            .await;
        assert_eq!(
            (status, problem["errors"][0]["path"].as_str()),
            (422, Some(path)),
            "{problem}"
        );
    }

    // a version in test on an HTTP entry point is used instead of production
    env.post(&format!("versions/{dev_id}/put-in-test"), json!({}))
        .await;
    env.post("entry-points", json!({"reference": "qa", "name": "QA", "channel": "http", "secret": support::CHANNEL_SECRET, "start_routing_id": rid, "test_version_id": dev_id, "callback_url": env.callback_url})).await;
    let t = env.say("qa", "q1", "tester", "hi").await;
    assert_eq!(t["replies"][0]["text"], "Coffee or tea?");
    let i = env
        .get(&format!(
            "interactions/{}",
            t["interaction_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(i["mode"], "test");

    // an entry point with nothing to run acknowledges and says why
    env.post("entry-points", json!({"reference": "empty", "name": "Empty", "channel": "http", "secret": support::CHANNEL_SECRET, "callback_url": env.callback_url})).await;
    let e = env.say("empty", "e1", "someone", "hello?").await;
    assert_eq!(
        (e["status"].as_str(), e["replies"].as_array().map(Vec::len)),
        (Some("closed"), Some(0))
    );
    let i = env
        .get(&format!(
            "interactions/{}",
            e["interaction_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(i["closed"]["code"], "no_version");

    // bad input
    let bad = |body: Value, path: &'static str| {
        let env = &env;
        async move { env.call(reqwest::Method::POST, path, Some(body)).await }
    };
    let (s, p) = bad(
        json!({"message_id": "z", "from": "a", "text": "x"}),
        "channels/http/nowhere/messages",
    )
    .await;
    assert_eq!((s, p["code"].as_str()), (404, Some("not_found")));
    let (s, p) = bad(
        json!({"message_id": "", "from": "a", "text": "x"}),
        "channels/http/qa/messages",
    )
    .await;
    assert_eq!((s, p["code"].as_str()), (422, Some("invalid_message_id")));
    let (s, p) = bad(
        json!({"message_id": "big", "from": "a", "text": "x".repeat(100 * 1024)}),
        "channels/http/qa/messages",
    )
    .await;
    assert_eq!((s, p["code"].as_str()), (422, Some("message_too_long")));
    let (s, p) = bad(
        json!({"message_id": "u", "from": "a", "text": "x", "colour": 1}),
        "channels/http/qa/messages",
    )
    .await;
    assert_eq!((s, p["code"].as_str()), (422, Some("invalid_body")));
    let (s, _) = bad(
        json!({"text": "x"}),
        &*format!(
            "interactions/{}/messages",
            t["interaction_id"].as_str().unwrap()
        )
        .leak(),
    )
    .await;
    assert_eq!(
        s, 422,
        "live and test interactions take messages through their channel"
    );
    let (s, p) = env
        .call(reqwest::Method::GET, "interactions?status=sleeping", None)
        .await;
    assert_eq!((s, p["code"].as_str()), (400, Some("invalid_query")));
}

#[tokio::test]
async fn a_broken_interaction_is_quarantined_not_the_channel() {
    use store::{InteractionStore, TurnWrite};
    let env = Env::start().await;
    let (rid, _) = env.production_routing("Q").await;
    env.post("entry-points", json!({"reference": "q", "name": "Q", "channel": "http", "secret": support::CHANNEL_SECRET, "start_routing_id": rid, "callback_url": env.callback_url})).await;
    let first = env.say("q", "q1", "ann", "hello").await;
    let id: uuid::Uuid = first["interaction_id"].as_str().unwrap().parse().unwrap();

    // the stored state is damaged behind the service's back
    let overwrite = |state: Value, status: &str| {
        let env = &env;
        let status = status.to_owned();
        async move {
            let mut row = env.store.interaction(id).await.unwrap().unwrap();
            let expected = row.revision;
            row.state = state;
            row.status = flow::interaction::InteractionStatus::parse(&status).unwrap();
            row.revision += 1;
            let out = env
                .store
                .commit_turns(vec![TurnWrite {
                    interaction: row,
                    expected_revision: Some(expected),
                    inbound: None,
                    events: vec![],
                    outbox: vec![],
                    web_calls: vec![],
                    db_writes: vec![],
                    case_writes: Vec::new(),
                    card_links: Vec::new(),
                    survey_writes: Vec::new(),
                    record_links: Vec::new(),
                    follow_up: None,
                    new_customer: None,
                    acd: None,
                    owner: None,
                    uploads: Vec::new(),
                }])
                .await
                .unwrap();
            assert_eq!(out, [store::TurnOutcome::Committed]);
        }
    };
    let good = env.store.interaction(id).await.unwrap().unwrap().state;
    overwrite(json!({"garbage": true}), "waiting").await;

    // the message is acknowledged and kept; the interaction is quarantined, nothing else breaks
    let ack = env.say("q", "q2", "ann", "ann@example.org").await;
    assert_eq!(
        (
            ack["status"].as_str(),
            ack["replies"].as_array().map(Vec::len)
        ),
        (Some("quarantined"), Some(0))
    );
    let other = env.say("q", "b1", "bob", "hello").await;
    assert_eq!(other["status"], "waiting", "other conversations go on");
    let i = env.get(&format!("interactions/{id}")).await;
    assert_eq!(i["status"], "quarantined");
    assert!(
        i["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"]["code"] == "quarantined")
    );
    assert_eq!(
        env.get("interactions?status=quarantined").await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (status, p) = env
        .call(
            reqwest::Method::POST,
            &format!("interactions/{id}/retry"),
            None,
        )
        .await;
    assert_eq!((status, p["code"].as_str()), (422, Some("corrupt_state")));

    // once repaired, a retry resumes it from its saved state
    overwrite(good, "quarantined").await;
    let r = env
        .post(&format!("interactions/{id}/retry"), json!({}))
        .await;
    assert_eq!(r["status"], "waiting");
    let next = env.say("q", "q3", "ann", "ann@example.org").await;
    assert_eq!(
        next["replies"][0]["text"],
        "Thanks ann@example.org. Sales or support?"
    );
}

#[tokio::test]
async fn business_objects_are_used_by_running_routings() {
    let env = Env::start().await;
    let cp = env
        .post(
            "checkpoints",
            json!({"reference": "VIP", "name": "VIP customer"}),
        )
        .await;
    let table = env.post("value-tables", json!({"reference": "LANG", "name": "Greetings", "data": {"case_insensitive": true, "entries": [{"key": "FR", "value": "Bonjour"}, {"key": "de", "value": null}]}})).await;
    let days: Vec<Value> = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
    .iter()
    .map(|d| json!({"day": d, "ranges": [{"start": "00:00", "end": "24:00"}]}))
    .collect();
    let always = json!({"time_zone": "Europe/Paris", "weekly": days});
    env.post(
        "calendars",
        json!({"reference": "OFFICE", "name": "Office hours", "data": always}),
    )
    .await;
    assert_eq!(cp["data"], json!({}));

    // refused input
    let (s, p) = env
        .call(
            reqwest::Method::POST,
            "checkpoints",
            Some(json!({"reference": "VIP", "name": "again"})),
        )
        .await;
    assert_eq!((s, p["code"].as_str()), (409, Some("reference_taken")));
    let (s, p) = env.call(reqwest::Method::POST, "calendars", Some(json!({"reference": "BAD", "name": "Bad", "data": {"time_zone": "UTC", "weekly": [{"day": "monday", "ranges": [{"start": "18:00", "end": "09:00"}]}]}}))).await;
    assert_eq!((s, p["code"].as_str()), (422, Some("invalid_field")));
    let (s, p) = env.call(reqwest::Method::POST, "value-tables", Some(json!({"reference": "T", "name": "T", "data": {"entries": [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]}}))).await;
    assert_eq!((s, p["code"].as_str()), (422, Some("invalid_field")));
    assert_eq!(
        env.get("checkpoints").await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // a routing that uses them, previewed
    let r = env.post("routings", json!({"name": "Objects", "reference": "OBJ", "kind": "interaction_start", "channel_family": "messaging"})).await;
    let v = env
        .post(
            &format!("routings/{}/versions", r["id"].as_str().unwrap()),
            json!({"name": "v1"}),
        )
        .await;
    let vid = v["id"].as_str().unwrap().to_owned();
    let start = v["tree"]["actions"][0]["id"].as_str().unwrap().to_owned();
    let add = |ty: &'static str, params: Value, after: String, branch: &'static str| {
        let env = &env;
        let path = format!("versions/{vid}/actions");
        async move {
            env.post(&path, json!({"type": ty, "params": params, "after": {"action_id": after, "branch": branch}})).await["action"]["id"].as_str().unwrap().to_owned()
        }
    };
    let tag = add(
        "add_checkpoint",
        json!({"checkpoint": {"by": "reference", "reference": "VIP"}}),
        start,
        "ok",
    )
    .await;
    let look = add("values_table", json!({"table": {"by": "entity", "id": table["id"]}, "lookup": " fr ", "store_in": "c.greeting"}), tag, "ok").await;
    let say = add(
        "simple_message",
        json!({"message": "{{ c.greeting }}"}),
        look.clone(),
        "ok",
    )
    .await;
    let when = add(
        "test_schedule",
        json!({"calendar": {"by": "reference", "reference": "OFFICE"}}),
        say,
        "ok",
    )
    .await;
    add(
        "simple_message",
        json!({"message": "We are open"}),
        when.clone(),
        "open",
    )
    .await;
    add(
        "simple_message",
        json!({"message": "No value"}),
        look,
        "no_value",
    )
    .await;
    let missing = add(
        "add_checkpoint",
        json!({"checkpoint": {"by": "reference", "reference": "NOPE"}}),
        when,
        "closed",
    )
    .await;

    let diags = env.get(&format!("versions/{vid}")).await["diagnostics"]["items"].clone();
    let not_found: Vec<&Value> = diags
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "reference_not_found")
        .collect();
    assert_eq!(not_found.len(), 1, "only NOPE is missing: {diags}");
    assert_eq!(not_found[0]["action_id"].as_str(), Some(missing.as_str()));

    // variables are checked against their declarations
    let about_variables = |diags: &Value| -> Vec<String> {
        diags
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["code"] == "undeclared_variable" || d["code"] == "unknown_field")
            .map(|d| d["message"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        about_variables(&diags),
        ["'c' (in 'c.greeting') is not a declared variable"; 2],
        "stored by the values table, read by the message"
    );
    for bad in ["customer", "c.greeting", "1c"] {
        let (s, p) = env
            .call(
                reqwest::Method::POST,
                "variables",
                Some(json!({"reference": bad, "name": "x"})),
            )
            .await;
        assert_eq!(
            (s, p["code"].as_str()),
            (422, Some("invalid_field")),
            "{bad}"
        );
    }
    let (s, p) = env.call(reqwest::Method::POST, "variables", Some(json!({"reference": "d", "name": "x", "data": {"fields": [{"name": "a"}, {"name": "a"}]}}))).await;
    assert_eq!((s, p["code"].as_str()), (422, Some("invalid_field")));
    let var = env.post("variables", json!({"reference": "c", "name": "Conversation", "data": {"fields": [{"name": "other", "type": "number"}]}})).await;
    let diags = env.get(&format!("versions/{vid}")).await["diagnostics"]["items"].clone();
    assert_eq!(
        about_variables(&diags),
        ["the variable 'c' has no field 'greeting'"; 2]
    );
    let (s, var) = env.call(reqwest::Method::PATCH, &format!("variables/{}", var["id"].as_str().unwrap()), Some(json!({"data": {"fields": [{"name": "greeting", "type": "text", "description": "How we greet"}]}}))).await;
    assert_eq!(s, 200);
    assert_eq!(var["data"]["fields"][0]["type"], "text");
    let diags = env.get(&format!("versions/{vid}")).await["diagnostics"]["items"].clone();
    assert!(about_variables(&diags).is_empty(), "{diags}");

    let p = env
        .post(&format!("versions/{vid}/preview"), json!({}))
        .await;
    let texts: Vec<&str> = p["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["Bonjour", "We are open"]);
    let i = env
        .get(&format!(
            "interactions/{}",
            p["interaction_id"].as_str().unwrap()
        ))
        .await;
    assert!(
        i["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"]["type"] == "checkpoint" && e["event"]["reference"] == "VIP")
    );

    // changes reach new interactions at once
    let (s, _) = env.call(reqwest::Method::PATCH, &format!("value-tables/{}", table["id"].as_str().unwrap()), Some(json!({"data": {"case_insensitive": true, "entries": [{"key": "fr", "value": "Salut"}]}}))).await;
    assert_eq!(s, 200);
    let p = env
        .post(&format!("versions/{vid}/preview"), json!({}))
        .await;
    assert_eq!(p["replies"][0]["text"], "Salut");
    let (s, _) = env
        .call(
            reqwest::Method::DELETE,
            &format!("checkpoints/{}", cp["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let p = env
        .post(&format!("versions/{vid}/preview"), json!({}))
        .await;
    assert_eq!(
        p["status"], "closed",
        "the checkpoint is gone: its Reference not found branch is not linked"
    );
    assert!(p["replies"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn closing_runs_the_interaction_end_routing_and_inactivity_closes() {
    let settings = runtime::conversations::Settings {
        inactivity: SignedDuration::from_mins(10),
        ..Default::default()
    };
    let env = Env::start_with(settings).await;
    let routing = |reference: &'static str,
                   kind: &'static str,
                   actions: Vec<(&'static str, Value)>| {
        let env = &env;
        async move {
            let r = env.post("routings", json!({"name": reference, "reference": reference, "kind": kind, "channel_family": "messaging"})).await;
            let v = env
                .post(
                    &format!("routings/{}/versions", r["id"].as_str().unwrap()),
                    json!({"name": "v1"}),
                )
                .await;
            let vid = v["id"].as_str().unwrap().to_owned();
            let mut after = v["tree"]["actions"][0]["id"].as_str().unwrap().to_owned();
            for (ty, params) in actions {
                after = env.post(&format!("versions/{vid}/actions"), json!({"type": ty, "params": params, "after": {"action_id": after, "branch": "ok"}})).await["action"]["id"].as_str().unwrap().to_owned();
            }
            env.post(&format!("versions/{vid}/put-in-production"), json!({}))
                .await;
            r["id"].as_str().unwrap().to_owned()
        }
    };
    let main = routing(
        "MAIN",
        "interaction_start",
        vec![
            (
                "assign_variables",
                json!({"assignments": [{"variable": "contact.name", "value": "Ann"}]}),
            ),
            ("simple_message", json!({"message": "Bye soon"})),
        ],
    )
    .await;
    let wait = routing("WAIT", "interaction_start", vec![("message_with_choice", json!({"message": "Yes or no?", "wait_seconds": 10800, "choices": [{"label": "Yes"}, {"label": "No"}]}))]).await;
    let after = routing(
        "AFTER",
        "interaction_end",
        vec![(
            "simple_message",
            json!({"message": "Thanks {{ contact.name }}, how did we do?"}),
        )],
    )
    .await;
    env.post("entry-points", json!({"reference": "main", "name": "Main", "channel": "http", "secret": support::CHANNEL_SECRET, "start_routing_id": main, "end_routing_id": after, "callback_url": env.callback_url})).await;
    env.post("entry-points", json!({"reference": "wait", "name": "Wait", "channel": "http", "secret": support::CHANNEL_SECRET, "start_routing_id": wait, "end_routing_id": after, "callback_url": env.callback_url})).await;

    // the routing ends: the end routing runs with the interaction's variables
    let a = env.say("main", "a1", "ann", "hello").await;
    let texts: Vec<&str> = a["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["Bye soon", "Thanks Ann, how did we do?"]);
    assert_eq!(
        env.wait_delivered("ann", 2).await,
        ["Bye soon", "Thanks Ann, how did we do?"]
    );
    let all = env.get("interactions").await;
    let end = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["mode"] == "end")
        .expect("an end run");
    let end = env
        .get(&format!("interactions/{}", end["id"].as_str().unwrap()))
        .await;
    assert_eq!(end["system"]["interaction"]["parent"], a["interaction_id"]);
    support::assert_system_variables_listed(&env._server.root, &end["system"]).await;
    assert_eq!(end["variables"]["contact"]["name"], "Ann");

    // a waiting interaction with no activity for 10 minutes is closed, and the end routing runs
    let b = env.say("wait", "b1", "bob", "hello").await;
    assert_eq!(b["status"], "waiting");
    env.clock.advance(SignedDuration::from_mins(9));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        env.get(&format!(
            "interactions/{}",
            b["interaction_id"].as_str().unwrap()
        ))
        .await["status"],
        "waiting"
    );
    env.clock.advance(SignedDuration::from_mins(2));
    assert_eq!(
        env.wait_delivered("bob", 2).await,
        ["Yes or no?", "Thanks , how did we do?"]
    );
    let i = env
        .get(&format!(
            "interactions/{}",
            b["interaction_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(i["closed"]["reason"], "inactivity");
}

#[tokio::test]
async fn the_web_chat_socket_history_and_image_uploads() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let env = Env::start().await;
    let r = env.post("routings", json!({"name": "Chat", "reference": "CHAT", "kind": "interaction_start", "channel_family": "messaging"})).await;
    let v = env
        .post(
            &format!("routings/{}/versions", r["id"].as_str().unwrap()),
            json!({"name": "v1"}),
        )
        .await;
    let vid = v["id"].as_str().unwrap().to_owned();
    let start = v["tree"]["actions"][0]["id"].as_str().unwrap();
    let ask = env.post(&format!("versions/{vid}/actions"), json!({"type": "message_awaiting_response", "params": {"wait_seconds": 600, "max_attempts": 2, "error_message": "An image, please.", "questions": [{"question": "Send a photo of the damage", "answer_type": "image", "variable": "claim.photo"}]}, "after": {"action_id": start, "branch": "ok"}})).await;
    env.post(&format!("versions/{vid}/actions"), json!({"type": "simple_message", "params": {"message": "Got it: {{ claim.photo.content_type }}"}, "after": {"action_id": ask["action"]["id"], "branch": "ok"}})).await;
    env.post(&format!("versions/{vid}/put-in-production"), json!({}))
        .await;
    env.post("entry-points", json!({"reference": "site", "name": "Our site", "channel": "web_chat", "start_routing_id": r["id"]})).await;

    // the page is served, with the entry point's name
    let page = env
        .http
        .get(env.base.replace("/api/v1", "/chat/site"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("<title>Our site</title>")
    );
    let (s, _) = env
        .call(
            reqwest::Method::GET,
            "channels/web-chat/site/ws?visitor=bad%20id",
            None,
        )
        .await;
    assert_eq!(s, 400, "an invalid visitor id");
    let (s, p) = env
        .call(reqwest::Method::GET, "channels/web-chat/site/ws", None)
        .await;
    assert_eq!((s, p["code"].as_str()), (400, Some("invalid_query")));
    let (s, p) = env
        .call(
            reqwest::Method::GET,
            "channels/web-chat/site/ws?visitor=v9",
            None,
        )
        .await;
    assert_eq!(
        (s, p["code"].as_str()),
        (426, Some("upgrade_required")),
        "not a WebSocket handshake"
    );

    let ws_url = env.base.replace("http://", "ws://") + "/channels/web-chat/site/ws?visitor=v1";
    let (mut ws, _) = tokio_tungstenite::connect_async(&ws_url).await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("a frame in time")
        .unwrap()
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&first.into_text().unwrap()).unwrap(),
        json!({"type": "history", "messages": []})
    );
    ws.send(Message::Text(
        json!({"type": "message", "id": "w1", "text": "hello"})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    let mut frames = Vec::new();
    for _ in 0..2 {
        let f = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        frames.push(serde_json::from_str::<Value>(&f.into_text().unwrap()).unwrap());
    }
    assert!(
        frames.iter().any(|f| f["type"] == "ack" && f["id"] == "w1"),
        "{frames:?}"
    );
    assert!(frames.iter().any(|f| f["type"] == "message" && f["message"]["text"] == "Send a photo of the damage"), "{frames:?}");

    // uploads: the type is sniffed from the bytes
    let png = [
        &[0x89u8, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A][..],
        &[0u8; 64][..],
    ]
    .concat();
    let up: Value = env
        .http
        .post(format!(
            "{}/channels/web-chat/site/uploads?visitor=v1",
            env.base
        ))
        .header("content-type", "application/pdf")
        .body(png)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(up["content_type"], "image/png");
    let pdf = b"%PDF-1.7 not an image".to_vec();
    let refused = env
        .http
        .post(format!(
            "{}/channels/web-chat/site/uploads?visitor=v1",
            env.base
        ))
        .body(pdf)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 415);
    // too large: a problem+json like every other error
    let huge = env
        .http
        .post(format!(
            "{}/channels/web-chat/site/uploads?visitor=v1",
            env.base
        ))
        .body(vec![0x89u8; runtime::retention::limits::UPLOAD_BYTES + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 413);
    assert_eq!(huge.headers()["content-type"], "application/problem+json");
    let huge: Value = huge.json().await.unwrap();
    assert_eq!(huge["code"], "body_too_large");
    let fetched = env
        .http
        .get(format!(
            "{}/channels/web-chat/site/uploads/{}",
            env.base,
            up["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.headers()["content-type"], "image/png");

    ws.send(Message::Text(
        json!({"type": "message", "id": "w2", "text": "", "attachments": [up["id"]]})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    let mut got = Vec::new();
    while got.len() < 2 {
        let f: Value = serde_json::from_str(
            &tokio::time::timeout(Duration::from_secs(5), ws.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap()
                .into_text()
                .unwrap(),
        )
        .unwrap();
        got.push(f);
    }
    assert!(
        got.iter()
            .any(|f| f["type"] == "message" && f["message"]["text"] == "Got it: image/png"),
        "{got:?}"
    );
    // someone else's upload id is refused
    ws.send(Message::Text(
        json!({"type": "message", "id": "w3", "text": "", "attachments": [uuid::Uuid::now_v7()]})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    let f: Value = serde_json::from_str(
        &tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
            .into_text()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        (f["type"].as_str(), f["code"].as_str()),
        (Some("error"), Some("unknown_upload"))
    );
    drop(ws);

    // a new visitor socket sees nothing of v1; v1 reconnecting gets the conversation back
    let (mut other, _) = tokio_tungstenite::connect_async(
        env.base.replace("http://", "ws://") + "/channels/web-chat/site/ws?visitor=v2",
    )
    .await
    .unwrap();
    let f: Value =
        serde_json::from_str(&other.next().await.unwrap().unwrap().into_text().unwrap()).unwrap();
    assert_eq!(f["messages"], json!([]));
    let i = env.get("interactions?status=closed").await;
    assert_eq!(
        i["items"].as_array().unwrap().len(),
        1,
        "the photo conversation ended"
    );
}

#[tokio::test]
async fn preview_through_the_chat_page_socket() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let env = Env::start().await;
    let r = env.post("routings", json!({"name": "Draft", "reference": "DRAFT", "kind": "interaction_start", "channel_family": "messaging"})).await;
    let v = env
        .post(
            &format!("routings/{}/versions", r["id"].as_str().unwrap()),
            json!({"name": "work in progress"}),
        )
        .await;
    let vid = v["id"].as_str().unwrap().to_owned();
    let start = v["tree"]["actions"][0]["id"].as_str().unwrap();
    let ask = env.post(&format!("versions/{vid}/actions"), json!({"type": "message_with_choice", "params": {"message": "Ready?", "wait_seconds": 60, "choices": [{"label": "Yes"}, {"label": "No"}]}, "after": {"action_id": start, "branch": "ok"}})).await;
    let pause = env.post(&format!("versions/{vid}/actions"), json!({"type": "pause", "params": {"seconds": 5}, "after": {"action_id": ask["action"]["id"], "branch": "link_1"}})).await;
    env.post(&format!("versions/{vid}/actions"), json!({"type": "simple_message", "params": {"message": "After the pause"}, "after": {"action_id": pause["action"]["id"], "branch": "ok"}})).await;

    // the page opens through a signed link, issued to someone who may edit routings
    let link = env
        .post(&format!("versions/{vid}/preview-link"), json!({}))
        .await;
    let url = link["url"].as_str().unwrap();
    let ticket = url.split_once("ticket=").unwrap().1.to_owned();
    let server = env.base.replace("/api/v1", "");
    let anonymous = reqwest::Client::new();
    let page = anonymous
        .get(format!("{server}{url}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Preview of version 1 &#39;work in progress&#39;")
            && html.contains(&format!(
                "/api/v1/versions/{vid}/preview/ws?ticket={ticket}"
            )),
        "{html}"
    );
    for refused in [
        format!("{server}/chat/preview/{vid}"),
        format!("{server}/chat/preview/{vid}?ticket=1.{}", "0".repeat(64)),
        // a ticket opens its own version only
        format!(
            "{server}/chat/preview/{}?ticket={ticket}",
            uuid::Uuid::now_v7()
        ),
    ] {
        let r = anonymous.get(&refused).send().await.unwrap();
        assert_eq!(r.status(), 401, "{refused}");
    }

    let (mut ws, _) = tokio_tungstenite::connect_async(
        env.base.replace("http://", "ws://")
            + &format!("/versions/{vid}/preview/ws?ticket={ticket}&visitor=v1"),
    )
    .await
    .unwrap();
    macro_rules! frame {
        () => {{
            let f = tokio::time::timeout(Duration::from_secs(5), ws.next())
                .await
                .expect("a frame in time")
                .unwrap()
                .unwrap();
            serde_json::from_str::<Value>(&f.into_text().unwrap()).unwrap()
        }};
    }
    let history = frame!();
    assert_eq!(history["messages"][0]["message"]["text"], "Ready?");
    ws.send(Message::Text(
        json!({"type": "message", "id": "p1", "text": "yes"})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    // the start's reply may come again live after the history: the page de-duplicates by seq
    let mut ack = frame!();
    while ack["type"] == "message" {
        ack = frame!();
    }
    assert_eq!(
        (ack["type"].as_str(), ack["id"].as_str()),
        (Some("ack"), Some("p1"))
    );
    env.clock.advance(SignedDuration::from_secs(6));
    let pushed = frame!();
    assert_eq!(
        pushed["message"]["text"], "After the pause",
        "timer-driven replies are pushed to the preview"
    );
    let history = env.get(&format!("versions/{vid}/history")).await;
    assert_eq!(history["items"][0]["mode"], "preview");
}

#[tokio::test]
async fn an_interaction_keeps_the_version_it_started_on() {
    let env = Env::start().await;
    let (rid, v1) = env.production_routing("PIN").await;
    env.post("entry-points", json!({"reference": "pin", "name": "Pin", "channel": "http", "secret": support::CHANNEL_SECRET, "start_routing_id": rid, "callback_url": env.callback_url})).await;
    let first = env.say("pin", "a1", "ann", "hello").await;
    assert_eq!(first["replies"][0]["text"], "Welcome!");

    // v2 greets differently and goes into production; v1 becomes a backup
    let v2 = env
        .post(&format!("versions/{v1}/duplicate"), json!({"name": "v2"}))
        .await;
    let v2_id = v2["id"].as_str().unwrap().to_owned();
    let ask = v2["tree"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["type"] == "message_awaiting_response")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, _) = env
        .call(reqwest::Method::PATCH, &format!("versions/{v2_id}/actions/{ask}"), Some(json!({"params": {"message": "Hi from v2!", "wait_seconds": 60, "max_attempts": 3, "error_message": "That is not an email.", "questions": [{"question": "Your email?", "answer_type": "email", "variable": "contact.email"}]}})))
        .await;
    assert_eq!(s, 200);
    env.post(&format!("versions/{v2_id}/put-in-production"), json!({}))
        .await;
    assert_eq!(env.get(&format!("versions/{v1}")).await["status"], "backup");

    // Ann's conversation goes on in v1 (twice, the second time from the cached program)
    let answer = env.say("pin", "a2", "ann", "not an email").await;
    assert_eq!(answer["replies"][0]["text"], "That is not an email.");
    let answer = env.say("pin", "a3", "ann", "ann@example.org").await;
    assert_eq!(
        answer["replies"][0]["text"],
        "Thanks ann@example.org. Sales or support?"
    );
    let i = env
        .get(&format!(
            "interactions/{}",
            first["interaction_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(i["version_id"].as_str(), Some(v1.as_str()));
    // a new customer starts on v2
    let bob = env.say("pin", "b1", "bob", "hello").await;
    assert_eq!(bob["replies"][0]["text"], "Hi from v2!");
}

#[tokio::test]
async fn customers_are_met_counted_and_managed() {
    let env = Env::start().await;
    let doc = routing_doc(
        "HELLO",
        &[
            ("start", json!({})),
            (
                "check_nth_contact",
                json!({"period": {"unit": "days", "value": 30}, "thresholds": [0, 1]}),
            ),
            (
                "simple_message",
                json!({"message": "Welcome{{ customer.name }}!"}),
            ),
            (
                "simple_message",
                json!({"message": "Welcome back {{ customer.name }} ({{ customer.fields.tier }})"}),
            ),
            ("simple_message", json!({"message": "Again?"})),
        ],
        &[
            (0, "ok", 1),
            (1, "link_1", 2),
            (1, "link_2", 3),
            (1, "no_link", 4),
        ],
    );
    let imported = env.post("routings/import", doc).await;
    let rid = imported["routing"]["id"].as_str().unwrap().to_owned();
    for r in ["shop", "help"] {
        env.post("entry-points", json!({"reference": r, "name": r, "channel": "http", "secret": support::CHANNEL_SECRET, "start_routing_id": rid, "callback_url": env.callback_url})).await;
    }

    // first contact: the customer is created, with no history
    let first = env.say("shop", "c1", "ann", "hi").await;
    assert_eq!(env.wait_delivered("ann", 1).await, ["Welcome!"]);
    let found = env.get("customers?channel=http&address=ann").await;
    let items = found["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{found}");
    let cid = items[0]["id"].as_str().unwrap().to_owned();
    let interaction = env
        .get(&format!(
            "interactions/{}",
            first["interaction_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(interaction["customer_id"].as_str(), Some(cid.as_str()));
    assert_eq!(
        interaction["system"]["customer"]["id"].as_str(),
        Some(cid.as_str())
    );
    support::assert_system_variables_listed(&env._server.root, &interaction["system"]).await;

    // named and given fields through the API; the next contact — on another entry point of the
    // same channel — is the same customer, counted once before
    let (s, c) = env
        .call(
            reqwest::Method::PATCH,
            &format!("customers/{cid}"),
            Some(json!({"name": "Ann", "reference": "CRM-1", "fields": {"tier": "gold"}})),
        )
        .await;
    assert_eq!((s, c["revision"].as_u64()), (200, Some(2)), "{c}");
    env.say("help", "c2", "ann", "hi again").await;
    assert_eq!(
        env.wait_delivered("ann", 2).await[1],
        "Welcome back Ann (gold)"
    );
    env.say("shop", "c3", "ann", "and again").await;
    assert_eq!(env.wait_delivered("ann", 3).await[2], "Again?");
    let mine = env.get(&format!("interactions?customer_id={cid}")).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 3);
    // another address is another customer
    env.say("shop", "c4", "bob", "hi").await;
    assert_eq!(env.wait_delivered("bob", 1).await, ["Welcome!"]);
    assert_eq!(
        env.get("customers?reference=CRM-1").await["items"][0]["address"],
        "ann"
    );

    // created ahead of a first contact; refusals
    let carl = env.post("customers", json!({"channel": "http", "address": "carl", "name": "Carl", "fields": {"tier": "silver", "score": 3}})).await;
    for (body, status, code) in [
        (
            json!({"channel": "http", "address": "carl"}),
            409,
            "customer_exists",
        ),
        (
            json!({"channel": "http", "address": "dan", "reference": "CRM-1"}),
            409,
            "reference_taken",
        ),
        (
            json!({"channel": "http", "address": "dan", "fields": {"a.b": 1}}),
            422,
            "invalid_field",
        ),
        (
            json!({"channel": "http", "address": "dan", "fields": {"list": [1, 2]}}),
            422,
            "invalid_field",
        ),
        (
            json!({"channel": "http", "address": ""}),
            422,
            "invalid_field",
        ),
        (json!({"address": "dan"}), 422, "invalid_field"),
        (
            json!({"channel": "fax", "address": "dan"}),
            422,
            "invalid_body",
        ),
    ] {
        let (s, p) = env
            .call(reqwest::Method::POST, "customers", Some(body.clone()))
            .await;
        assert_eq!((s, p["code"].as_str()), (status, Some(code)), "{body}: {p}");
    }
    let carl_id = carl["id"].as_str().unwrap().to_owned();
    let (s, p) = env
        .call(
            reqwest::Method::PATCH,
            &format!("customers/{carl_id}"),
            Some(json!({"address": "karl"})),
        )
        .await;
    assert_eq!(
        (s, p["code"].as_str()),
        (422, Some("immutable_field")),
        "{p}"
    );
    env.say("shop", "c5", "carl", "hello").await;
    assert_eq!(env.wait_delivered("carl", 1).await, ["WelcomeCarl!"]);

    // deleted: the interactions stay, unlinked; the next contact starts afresh
    let (s, _) = env
        .call(reqwest::Method::DELETE, &format!("customers/{cid}"), None)
        .await;
    assert_eq!(s, 204);
    let (s, p) = env
        .call(reqwest::Method::GET, &format!("customers/{cid}"), None)
        .await;
    assert_eq!((s, p["code"].as_str()), (404, Some("not_found")));
    assert!(
        env.get(&format!("interactions?customer_id={cid}")).await["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    env.say("shop", "c6", "ann", "remember me?").await;
    assert_eq!(env.wait_delivered("ann", 4).await[3], "Welcome!");
}

/// An agent client: token and live feed.
struct AgentClient {
    id: String,
    token: String,
    feed: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl AgentClient {
    async fn new(env: &Env, reference: &str, capacity: u32) -> AgentClient {
        let u = env
            .post(
                "users",
                json!({"reference": reference, "name": reference, "capacity": capacity}),
            )
            .await;
        let token = u["token"].as_str().unwrap().to_owned();
        let ws = format!(
            "{}/agent/ws?token={token}",
            env.base.replacen("http://", "ws://", 1)
        );
        let (mut feed, _) = tokio_tungstenite::connect_async(&ws).await.unwrap();
        let first = Self::read(&mut feed).await;
        assert_eq!(first["type"], "conversations");
        AgentClient {
            id: u["id"].as_str().unwrap().to_owned(),
            token,
            feed,
        }
    }

    async fn read(
        feed: &mut tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
    ) -> Value {
        use futures_util::StreamExt;
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(5), feed.next())
                .await
                .expect("a feed event in time")
                .unwrap()
                .unwrap();
            if let tokio_tungstenite::tungstenite::Message::Text(t) = frame {
                return serde_json::from_str(&t).unwrap();
            }
        }
    }

    /// The next feed event of this type.
    async fn next(&mut self, kind: &str) -> Value {
        loop {
            let e = Self::read(&mut self.feed).await;
            if e["type"] == kind {
                return e;
            }
        }
    }

    /// Accepts and closes a conversation offered to this agent.
    async fn serve(&self, env: &Env, interaction: &str) {
        for step in ["accept", "close"] {
            let (s, body) = self.act(env, interaction, step).await;
            assert_eq!(s, 204, "{step}: {body}");
        }
    }

    /// An action on a conversation: `accept`, `decline`, `close`, `release`.
    async fn act(&self, env: &Env, interaction: &str, step: &str) -> (u16, Value) {
        self.call(
            env,
            reqwest::Method::POST,
            &format!("agent/conversations/{interaction}/{step}"),
            None,
        )
        .await
    }

    async fn call(
        &self,
        env: &Env,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        Self::call_with(env, &self.token, method, path, body).await
    }

    async fn call_with(
        env: &Env,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = env
            .http
            .request(method, format!("{}/{path}", env.base))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn presence(&self, env: &Env, presence: &str) {
        let (s, body) = self
            .call(
                env,
                reqwest::Method::PUT,
                "agent/presence",
                Some(json!({"presence": presence})),
            )
            .await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(
            body["presence"], presence,
            "the answer shows the new presence"
        );
    }
}

#[tokio::test]
async fn agents_take_distributed_conversations() {
    let env = Env::start().await;
    let mut ann = AgentClient::new(&env, "ann", 2).await;
    let mut bob = AgentClient::new(&env, "bob", 1).await;
    env.post("groups", json!({"reference": "SALES", "name": "Sales", "data": {"members": [ann.id, bob.id], "algorithm": "in_order", "give_up_words": ["give up"]}})).await;
    let doc = routing_doc(
        "DESK",
        &[
            ("start", json!({})),
            (
                "distribute_to_queue",
                json!({"target": {"to": "queue", "queue": {"by": "reference", "reference": "SALES"}}}),
            ),
            ("simple_message", json!({"message": "Thanks, bye!"})),
            (
                "simple_message",
                json!({"message": "Nobody is online ({{ system.error }})"}),
            ),
            ("simple_message", json!({"message": "Sorry to see you go"})),
        ],
        &[
            (0, "ok", 1),
            (1, "processed", 2),
            (1, "overflow", 3),
            (1, "dissuasion", 4),
        ],
    );
    let imported = env.post("routings/import", doc).await;
    let rid = imported["routing"]["id"].as_str().unwrap().to_owned();
    env.post("entry-points", json!({"reference": "desk", "name": "Desk", "channel": "http", "secret": support::CHANNEL_SECRET, "start_routing_id": rid, "callback_url": env.callback_url})).await;

    // everyone offline: Overflow – No user (caught by the generic Overflow branch)
    env.say("desk", "a1", "carl", "hello").await;
    assert_eq!(
        env.wait_delivered("carl", 1).await,
        ["Nobody is online (no member of the queue is online)"]
    );

    // ann online: the offer reaches her feed; she accepts, chats and closes → Processed
    ann.presence(&env, "online").await;
    // her colleagues, to transfer to: bob and his presence, not her, and nothing of accounts
    let (s, colleagues) = ann
        .call(&env, reqwest::Method::GET, "agent/users", None)
        .await;
    assert_eq!(s, 200, "{colleagues}");
    assert_eq!(
        colleagues,
        json!([{"id": bob.id, "reference": "bob", "name": "bob", "presence": "offline"}])
    );
    let first = env.say("desk", "d1", "dana", "hello").await;
    let iid = first["interaction_id"].as_str().unwrap().to_owned();
    let offer = ann.next("offer").await;
    assert_eq!(offer["interaction_id"].as_str(), Some(iid.as_str()));
    let (s, list) = ann
        .call(&env, reqwest::Method::GET, "agent/conversations", None)
        .await;
    assert_eq!((s, list[0]["state"].as_str()), (200, Some("offered")));
    // bob is not offered it and cannot see it
    let (s, p) = bob
        .call(
            &env,
            reqwest::Method::GET,
            &format!("agent/conversations/{iid}"),
            None,
        )
        .await;
    assert_eq!((s, p["code"].as_str()), (404, Some("not_found")));
    // nor the customer's card, which ann reads: dana, met for the first time
    let card_path = format!("agent/conversations/{iid}/customer");
    let (s, _) = bob.call(&env, reqwest::Method::GET, &card_path, None).await;
    assert_eq!(s, 404);
    let (s, card) = ann.call(&env, reqwest::Method::GET, &card_path, None).await;
    assert_eq!(s, 200, "{card}");
    assert_eq!(card["customer"]["address"], "dana", "{card}");
    assert_eq!(card["owner_name"], Value::Null);
    assert_eq!(card["previous"], json!([]));
    let (s, _) = bob.act(&env, &iid, "accept").await;
    assert_eq!(s, 404);
    let (s, _) = ann.act(&env, &iid, "accept").await;
    assert_eq!(s, 204);
    env.say("desk", "d2", "dana", "I need help").await;
    let m = ann.next("message").await;
    assert_eq!(
        (m["interaction_id"].as_str(), m["text"].as_str()),
        (Some(iid.as_str()), Some("I need help"))
    );
    let (s, _) = ann
        .call(
            &env,
            reqwest::Method::POST,
            &format!("agent/conversations/{iid}/messages"),
            Some(json!({"text": "Ann here, {{ how }} can I help?"})),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(
        env.wait_delivered("dana", 1).await,
        ["Ann here, {{ how }} can I help?"]
    );
    let (s, _) = ann.act(&env, &iid, "close").await;
    assert_eq!(s, 204);
    assert_eq!(env.wait_delivered("dana", 2).await[1], "Thanks, bye!");
    let i = env.get(&format!("interactions/{iid}")).await;
    assert_eq!(i["status"], "closed");
    let kinds: Vec<String> = i["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["type"] == "distribution")
        .map(|e| {
            e["event"]["detail"]
                .as_object()
                .unwrap()
                .keys()
                .next()
                .unwrap()
                .clone()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "queued",
            "offered",
            "accepted",
            "agent_message",
            "closed",
            "resolved"
        ],
        "{i}"
    );
    // ann handled dana's first conversation: she owns dana now
    let dana = env.get("customers?address=dana").await;
    assert_eq!(dana["items"][0]["owner_id"].as_str(), Some(ann.id.as_str()));

    // declined → the next eligible user; an unanswered offer expires to the next one
    bob.presence(&env, "online").await;
    let r = env.say("desk", "e1", "eve", "hi").await;
    let eve = r["interaction_id"].as_str().unwrap().to_owned();
    let to_bob = bob.next("offer").await;
    assert_eq!(
        to_bob["interaction_id"].as_str(),
        Some(eve.as_str()),
        "in order: after ann comes bob"
    );
    let (s, _) = bob.act(&env, &eve, "decline").await;
    assert_eq!(s, 204);
    assert_eq!(
        ann.next("offer").await["interaction_id"].as_str(),
        Some(eve.as_str())
    );
    env.clock.advance(SignedDuration::from_secs(31));
    env.conversations.tick_distribution().await.unwrap();
    let ended = ann.next("offer_ended").await;
    assert_eq!(ended["reason"], "expired");
    assert_eq!(
        bob.next("offer").await["interaction_id"].as_str(),
        Some(eve.as_str()),
        "everyone declined: round again"
    );
    // going offline hands the open offer back; with nobody online it waits
    bob.presence(&env, "offline").await;
    assert_eq!(bob.next("offer_ended").await["reason"], "withdrawn");
    assert_eq!(
        ann.next("offer").await["interaction_id"].as_str(),
        Some(eve.as_str())
    );
    // the customer gives up while waiting: Dissuasion – By the user
    let (s, _) = ann.act(&env, &eve, "decline").await;
    assert_eq!(s, 204);
    env.say("desk", "e2", "eve", "OK I GIVE UP!").await;
    assert_eq!(env.wait_delivered("eve", 1).await, ["Sorry to see you go"]);

    // bad tokens and bad requests: none at all, and a token that is not an agent's
    let anonymous = reqwest::Client::new()
        .get(format!("{}/agent/me", env.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let (s, p) = env.call(reqwest::Method::GET, "agent/me", None).await;
    assert_eq!((s, p["code"].as_str()), (403, Some("forbidden")));
    let (s, p) = ann
        .call(
            &env,
            reqwest::Method::PUT,
            "agent/presence",
            Some(json!({"presence": "busy"})),
        )
        .await;
    assert_eq!((s, p["code"].as_str()), (422, Some("invalid_body")), "{p}");
    let (s, p) = env
        .call(
            reqwest::Method::POST,
            "users",
            Some(json!({"reference": "ann", "name": "Again"})),
        )
        .await;
    assert_eq!((s, p["code"].as_str()), (409, Some("reference_taken")));
    let (s, p) = env
        .call(
            reqwest::Method::POST,
            "users",
            Some(json!({"reference": "zed", "name": "Zed", "capacity": 0})),
        )
        .await;
    assert_eq!((s, p["code"].as_str()), (422, Some("invalid_field")));
    let (s, p) = env.call(reqwest::Method::POST, "groups", Some(json!({"reference": "BAD", "name": "Bad", "data": {"members": [], "algorithm": "fastest"}}))).await;
    assert_eq!((s, p["code"].as_str()), (422, Some("invalid_field")));
    let me = ann
        .call(&env, reqwest::Method::GET, "agent/me", None)
        .await
        .1;
    assert_eq!(
        (me["presence"].as_str(), me["open_conversations"].as_u64()),
        (Some("online"), Some(0))
    );
}

#[tokio::test]
async fn customer_routing_rules_of_an_entry_point() {
    let env = Env::start().await;
    let ann = AgentClient::new(&env, "ann", 2).await;
    let mut bob = AgentClient::new(&env, "bob", 2).await;
    let day = env.post("groups", json!({"reference": "DAY", "name": "Day", "data": {"members": [ann.id, bob.id], "algorithm": "in_order"}})).await;
    let night = env
        .post(
            "groups",
            json!({"reference": "NIGHT", "name": "Night", "data": {"members": [bob.id]}}),
        )
        .await;
    let rules = json!({
        "new_online": {"group_id": day["id"], "algorithm": "in_order", "message": "Welcome to the shop!"},
        "new_offline": {"group_id": night["id"], "message": "We are closed; we answer tomorrow."},
        "owner_offline": {"rule": "keep_user"}
    });
    let ep = env.post("entry-points", json!({"reference": "shop", "name": "Shop", "channel": "http", "secret": support::CHANNEL_SECRET, "callback_url": env.callback_url, "customer_routing": rules})).await;
    assert_eq!(ep["customer_routing"]["owner_offline"]["rule"], "keep_user");
    // each rule may name the algorithm its group distributes by (seed 004)
    assert_eq!(
        ep["customer_routing"]["new_online"]["algorithm"],
        "in_order"
    );
    let (s, p) = env.call(reqwest::Method::POST, "entry-points", Some(json!({"reference": "odd", "name": "Odd", "channel": "http", "secret": support::CHANNEL_SECRET, "customer_routing": {"new_online": {"group_id": day["id"], "algorithm": "fastest"}, "new_offline": {"group_id": night["id"]}, "owner_offline": {"rule": "keep_user"}}}))).await;
    assert_eq!(s, 422, "an unknown algorithm: {p}");
    let (s, p) = env.call(reqwest::Method::POST, "entry-points", Some(json!({"reference": "bad", "name": "Bad", "channel": "http", "secret": support::CHANNEL_SECRET, "customer_routing": {"new_online": {"group_id": ann.id}, "new_offline": {"group_id": night["id"]}, "owner_offline": {"rule": "keep_user"}}}))).await;
    assert_eq!(
        (s, p["code"].as_str()),
        (422, Some("invalid_field")),
        "a user is not a group: {p}"
    );

    // a new customer while everyone is offline: the night group, out-of-office message at once
    let r = env.say("shop", "c1-1", "carl", "hello?").await;
    let carl = r["interaction_id"].as_str().unwrap().to_owned();
    assert_eq!(
        env.wait_delivered("carl", 1).await,
        ["We are closed; we answer tomorrow."]
    );
    bob.presence(&env, "online").await;
    assert_eq!(
        bob.next("offer").await["interaction_id"].as_str(),
        Some(carl.as_str())
    );
    bob.serve(&env, &carl).await;
    let i = env.get(&format!("interactions/{carl}")).await;
    assert_eq!(i["status"], "closed");
    assert_eq!(
        env.delivered("carl").len(),
        1,
        "no welcome after the out-of-office message"
    );
    // handled by bob: carl's owner is bob
    let c = env.get("customers?address=carl").await;
    assert_eq!(c["items"][0]["owner_id"].as_str(), Some(bob.id.as_str()));

    // a new customer while someone is online: the day group, welcome once accepted
    let r = env.say("shop", "d1-1", "dora", "hi").await;
    let dora = r["interaction_id"].as_str().unwrap().to_owned();
    assert_eq!(
        bob.next("offer").await["interaction_id"].as_str(),
        Some(dora.as_str()),
        "ann is offline"
    );
    assert!(
        env.delivered("dora").is_empty(),
        "the welcome waits for an agent"
    );
    let (s, _) = bob.act(&env, &dora, "accept").await;
    assert_eq!(s, 204);
    assert_eq!(
        env.wait_delivered("dora", 1).await,
        ["Welcome to the shop!"]
    );
    env.say("shop", "d1-2", "dora", "a question").await;
    assert_eq!(bob.next("message").await["text"], "a question");
    let (s, _) = bob.act(&env, &dora, "close").await;
    assert_eq!(s, 204);

    // a returning customer goes to their owner, even with someone else online
    ann.presence(&env, "online").await;
    let r = env.say("shop", "c1-2", "carl", "me again").await;
    let again = r["interaction_id"].as_str().unwrap().to_owned();
    assert_ne!(again, carl);
    assert_eq!(
        bob.next("offer").await["interaction_id"].as_str(),
        Some(again.as_str())
    );
    bob.serve(&env, &again).await;

    // owner offline with keep user: it waits for the owner, not for ann
    bob.presence(&env, "offline").await;
    let r = env.say("shop", "c1-3", "carl", "still there?").await;
    let waiting = r["interaction_id"].as_str().unwrap().to_owned();
    let (_, mine) = ann
        .call(&env, reqwest::Method::GET, "agent/conversations", None)
        .await;
    assert_eq!(mine, json!([]), "not offered to ann");
    bob.presence(&env, "online").await;
    assert_eq!(
        bob.next("offer").await["interaction_id"].as_str(),
        Some(waiting.as_str())
    );
    bob.serve(&env, &waiting).await;
}

#[tokio::test]
async fn distribution_to_a_user_every_branch_over_http() {
    let env = Env::start().await;
    let mut ann = AgentClient::new(&env, "ann", 1).await;
    let routing = |reference: &str, user: Value| {
        routing_doc(
            reference,
            &[
                ("start", json!({})),
                ("distribute_to_user", json!({"user": user})),
                (
                    "simple_message",
                    json!({"message": "You are with your agent."}),
                ),
                (
                    "simple_message",
                    json!({"message": "error: {{ system.error }}"}),
                ),
                ("simple_message", json!({"message": "no response"})),
                ("simple_message", json!({"message": "unknown agent"})),
            ],
            &[
                (0, "ok", 1),
                (1, "ok", 2),
                (1, "error", 3),
                (1, "no_response", 4),
                (1, "reference_not_found", 5),
            ],
        )
    };
    for (reference, user) in [
        ("TO-ANN", json!({"by": "reference", "reference": "ann"})),
        (
            "TO-NOBODY",
            json!({"by": "reference", "reference": "nobody"}),
        ),
        ("TO-OWNER", json!({"by": "preferred_agent"})),
    ] {
        let r = env.post("routings/import", routing(reference, user)).await;
        let rid = r["routing"]["id"].as_str().unwrap().to_owned();
        env.post("entry-points", json!({"reference": reference.to_lowercase(), "name": reference, "channel": "http", "secret": support::CHANNEL_SECRET, "start_routing_id": rid, "callback_url": env.callback_url})).await;
    }

    // Error: the user is offline; Reference not found: no such user, or no owner yet
    env.say("to-ann", "a1", "amy", "hi").await;
    assert_eq!(
        env.wait_delivered("amy", 1).await,
        ["error: the user is offline"]
    );
    env.say("to-nobody", "b1", "ben", "hi").await;
    assert_eq!(env.wait_delivered("ben", 1).await, ["unknown agent"]);
    env.say("to-owner", "c1", "cat", "hi").await;
    assert_eq!(env.wait_delivered("cat", 1).await, ["unknown agent"]);

    // No response: the offer expires
    ann.presence(&env, "online").await;
    env.say("to-ann", "d1", "dan", "hi").await;
    ann.next("offer").await;
    env.clock.advance(SignedDuration::from_secs(31));
    env.conversations.tick_distribution().await.unwrap();
    assert_eq!(env.wait_delivered("dan", 1).await, ["no response"]);
    // Error: declined
    env.say("to-ann", "e1", "eva", "hi").await;
    let offer = ann.next("offer").await;
    let (s, _) = ann
        .act(&env, offer["interaction_id"].as_str().unwrap(), "decline")
        .await;
    assert_eq!(s, 204);
    assert_eq!(
        env.wait_delivered("eva", 1).await,
        ["error: the user declined"]
    );

    // OK once accepted; the routing ends but the conversation stays with the agent
    let r = env.say("to-ann", "f1", "fay", "hi").await;
    let fay = r["interaction_id"].as_str().unwrap().to_owned();
    ann.next("offer").await;
    let (s, _) = ann.act(&env, &fay, "accept").await;
    assert_eq!(s, 204);
    assert_eq!(
        env.wait_delivered("fay", 1).await,
        ["You are with your agent."]
    );
    assert_eq!(
        env.get(&format!("interactions/{fay}")).await["status"],
        "waiting"
    );
    env.say("to-ann", "f2", "fay", "still here").await;
    assert_eq!(ann.next("message").await["text"], "still here");
    let (s, _) = ann.act(&env, &fay, "close").await;
    assert_eq!(s, 204);
    let i = env.get(&format!("interactions/{fay}")).await;
    assert_eq!(i["status"], "closed");
    // fay is ann's now: the preferred agent of the owner routing
    let r = env.say("to-owner", "f3", "fay", "back again").await;
    let back = r["interaction_id"].as_str();
    assert_eq!(ann.next("offer").await["interaction_id"].as_str(), back);
}

/// Many customers arriving while agents toggle presence and serve concurrently: no user above
/// capacity whenever sampled, and in the end every conversation handled or refused — none lost,
/// none answered twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_arrivals_presence_and_closes_lose_nothing() {
    let env = Env::start().await;
    let mut agents = Vec::new();
    for k in 0..8u32 {
        let capacity = 1 + k % 3;
        let u = env
            .post("users", json!({"reference": format!("agent{k}"), "name": format!("Agent {k}"), "capacity": capacity, "auto_accept": k % 2 == 0}))
            .await;
        agents.push((
            u["id"].as_str().unwrap().to_owned(),
            u["token"].as_str().unwrap().to_owned(),
            capacity,
        ));
    }
    let members: Vec<&str> = agents.iter().map(|a| a.0.as_str()).collect();
    env.post("groups", json!({"reference": "ALL", "name": "All", "data": {"members": members, "algorithm": "least_chats"}})).await;
    let doc = routing_doc(
        "BUSY",
        &[
            ("start", json!({})),
            (
                "distribute_to_queue",
                json!({"target": {"to": "queue", "queue": {"by": "reference", "reference": "ALL"}}}),
            ),
            ("simple_message", json!({"message": "handled"})),
            ("simple_message", json!({"message": "refused"})),
        ],
        &[(0, "ok", 1), (1, "processed", 2), (1, "overflow", 3)],
    );
    let imported = env.post("routings/import", doc).await;
    let rid = imported["routing"]["id"].as_str().unwrap().to_owned();
    env.post("entry-points", json!({"reference": "busy", "name": "Busy", "channel": "http", "secret": support::CHANNEL_SECRET, "start_routing_id": rid, "callback_url": env.callback_url})).await;
    let (shared_http, shared_base) = (env.http.clone(), env.base.clone());
    let call = move |token: String, method: reqwest::Method, path: String, body: Option<Value>| {
        let (http, base) = (shared_http.clone(), shared_base.clone());
        async move {
            let mut req = http
                .request(method, format!("{base}/{path}"))
                .bearer_auth(token);
            if let Some(b) = body {
                req = req.json(&b);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    for (_, token, _) in &agents {
        call(
            token.clone(),
            reqwest::Method::PUT,
            "agent/presence".into(),
            Some(json!({"presence": "online"})),
        )
        .await;
    }

    const CUSTOMERS: usize = 120;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // agents: accept what is offered, close what they hold, now and then leave and come back
    let mut workers = Vec::new();
    for (k, (_, token, _)) in agents.iter().enumerate() {
        let (token, stop, call) = (token.clone(), stop.clone(), call.clone());
        workers.push(tokio::spawn(async move {
            let mut round = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                round += 1;
                if round % 7 == (k as u32) % 7 {
                    call(
                        token.clone(),
                        reqwest::Method::PUT,
                        "agent/presence".into(),
                        Some(json!({"presence": "away"})),
                    )
                    .await;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    call(
                        token.clone(),
                        reqwest::Method::PUT,
                        "agent/presence".into(),
                        Some(json!({"presence": "online"})),
                    )
                    .await;
                }
                let (_, list) = call(
                    token.clone(),
                    reqwest::Method::GET,
                    "agent/conversations".into(),
                    None,
                )
                .await;
                for c in list.as_array().cloned().unwrap_or_default() {
                    let iid = c["id"].as_str().unwrap().to_owned();
                    let step = if c["state"] == "offered" {
                        "accept"
                    } else {
                        "close"
                    };
                    // an offer may have moved on meanwhile: 404/409 are fine here
                    let (s, _) = call(
                        token.clone(),
                        reqwest::Method::POST,
                        format!("agent/conversations/{iid}/{step}"),
                        None,
                    )
                    .await;
                    assert!([204, 404, 409].contains(&s), "{step}: {s}");
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }));
    }
    // customers arrive all at once
    let arrivals: Vec<_> = (0..CUSTOMERS)
        .map(|n| {
            let env_http = env.http.clone();
            let base = env.base.clone();
            tokio::spawn(async move {
                let req = env_http.post(format!("{base}/channels/http/busy/messages"));
                let resp = support::signed(req, &json!({"message_id": format!("m{n}"), "from": format!("cust{n}"), "text": "hello"}))
                    .send()
                    .await
                    .unwrap();
                assert!(resp.status().is_success());
            })
        })
        .collect();
    for a in arrivals {
        a.await.unwrap();
    }
    // sample capacities while they work
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let users = env.get("users?limit=50").await;
        for u in users["items"].as_array().unwrap() {
            assert!(
                u["open_conversations"].as_u64() <= u["capacity"].as_u64(),
                "{u}"
            );
        }
        let answered = (0..CUSTOMERS)
            .filter(|n| !env.delivered(&format!("cust{n}")).is_empty())
            .count();
        if answered == CUSTOMERS {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{answered} of {CUSTOMERS} answered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    // every customer got exactly one answer, and nothing is left in the distribution
    for n in 0..CUSTOMERS {
        let got = env.wait_delivered(&format!("cust{n}"), 1).await;
        assert_eq!(got.len(), 1, "cust{n}: {got:?}");
        assert!(got[0] == "handled" || got[0] == "refused", "{got:?}");
    }
    let users = env.get("users?limit=50").await;
    for u in users["items"].as_array().unwrap() {
        assert_eq!(u["open_conversations"], 0, "{u}");
    }
    let open = env.get("interactions?status=waiting&limit=200").await;
    assert_eq!(open["items"], json!([]));
}

#[tokio::test]
async fn transfers_releases_owners_and_queue_groups() {
    let env = Env::start().await;
    let mut ann = AgentClient::new(&env, "ann", 2).await;
    let mut bob = AgentClient::new(&env, "bob", 2).await;
    let front = env.post("groups", json!({"reference": "FRONT", "name": "Front", "data": {"members": [ann.id], "max_waiting": 1}})).await;
    let back = env
        .post(
            "groups",
            json!({"reference": "BACK", "name": "Back", "data": {"members": [bob.id]}}),
        )
        .await;
    env.post("queue-groups", json!({"reference": "DESKS", "name": "Desks", "data": {"queues": [front["id"], back["id"]]}})).await;
    let (s, p) = env
        .call(
            reqwest::Method::POST,
            "queue-groups",
            Some(json!({"reference": "EMPTY", "name": "Empty", "data": {"queues": []}})),
        )
        .await;
    assert_eq!((s, p["code"].as_str()), (422, Some("invalid_field")));
    let doc = routing_doc(
        "DESKS",
        &[
            ("start", json!({})),
            (
                "distribute_to_queue",
                json!({"target": {"to": "queue_group", "group": {"by": "reference", "reference": "DESKS"}}}),
            ),
            ("simple_message", json!({"message": "processed"})),
            ("simple_message", json!({"message": "unprocessed"})),
            (
                "simple_message",
                json!({"message": "overflow: {{ system.error }}"}),
            ),
        ],
        &[
            (0, "ok", 1),
            (1, "processed", 2),
            (1, "unprocessed", 3),
            (1, "overflow", 4),
        ],
    );
    let imported = env.post("routings/import", doc).await;
    let rid = imported["routing"]["id"].as_str().unwrap().to_owned();
    env.post("entry-points", json!({"reference": "desks", "name": "Desks", "channel": "http", "secret": support::CHANNEL_SECRET, "start_routing_id": rid, "callback_url": env.callback_url})).await;
    ann.presence(&env, "online").await;
    bob.presence(&env, "online").await;

    // the queue group: FRONT first; ann transfers to bob, who closes → Processed
    let r = env.say("desks", "g1", "gus", "hi").await;
    let gus = r["interaction_id"].as_str().unwrap().to_owned();
    assert_eq!(
        ann.next("offer").await["interaction_id"].as_str(),
        Some(gus.as_str())
    );
    ann.act(&env, &gus, "accept").await;
    let (s, p) = ann
        .call(
            &env,
            reqwest::Method::POST,
            &format!("agent/conversations/{gus}/transfer"),
            Some(json!({"group_id": back["id"], "user_id": bob.id})),
        )
        .await;
    assert_eq!(
        (s, p["code"].as_str()),
        (422, Some("invalid_field")),
        "one target"
    );
    let (s, _) = ann
        .call(
            &env,
            reqwest::Method::POST,
            &format!("agent/conversations/{gus}/transfer"),
            Some(json!({"user_id": bob.id})),
        )
        .await;
    assert_eq!(s, 204);
    assert_eq!(
        ann.next("transferred").await["interaction_id"].as_str(),
        Some(gus.as_str())
    );
    assert_eq!(
        bob.next("offer").await["interaction_id"].as_str(),
        Some(gus.as_str())
    );
    bob.act(&env, &gus, "accept").await;
    let (s, _) = bob.act(&env, &gus, "close").await;
    assert_eq!(s, 204);
    assert_eq!(env.wait_delivered("gus", 1).await, ["processed"]);
    // the transfer is in the history
    let i = env.get(&format!("interactions/{gus}")).await;
    assert!(
        i["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"]["detail"]["transferred"]["from"].as_str() == Some(ann.id.as_str())),
        "{i}"
    );
    // bob handled it: bob owns gus; the owner can be changed and removed through the API
    let c = env.get("customers?address=gus").await["items"][0].clone();
    assert_eq!(c["owner_id"].as_str(), Some(bob.id.as_str()));
    let cid = c["id"].as_str().unwrap().to_owned();
    let (s, c) = env
        .call(
            reqwest::Method::PATCH,
            &format!("customers/{cid}"),
            Some(json!({"owner_id": ann.id})),
        )
        .await;
    assert_eq!((s, c["owner_id"].as_str()), (200, Some(ann.id.as_str())));
    let (s, p) = env
        .call(
            reqwest::Method::PATCH,
            &format!("customers/{cid}"),
            Some(json!({"owner_id": cid})),
        )
        .await;
    assert_eq!(
        (s, p["code"].as_str()),
        (422, Some("invalid_field")),
        "an owner is a user"
    );
    let (s, c) = env
        .call(
            reqwest::Method::PATCH,
            &format!("customers/{cid}"),
            Some(json!({"owner_id": null})),
        )
        .await;
    assert_eq!((s, c["owner_id"].clone()), (200, Value::Null));

    // released without handling → Unprocessed
    let r = env.say("desks", "h1", "hal", "hi").await;
    let hal = r["interaction_id"].as_str().unwrap().to_owned();
    assert_eq!(
        ann.next("offer").await["interaction_id"].as_str(),
        Some(hal.as_str())
    );
    ann.act(&env, &hal, "accept").await;
    let (s, _) = ann.act(&env, &hal, "release").await;
    assert_eq!(s, 204);
    assert_eq!(env.wait_delivered("hal", 1).await, ["unprocessed"]);

    // FRONT would overflow (ann away) → BACK; both would → the first queue's reason
    ann.presence(&env, "away").await;
    let r = env.say("desks", "i1", "ivy", "hi").await;
    assert_eq!(
        bob.next("offer").await["interaction_id"],
        r["interaction_id"]
    );
    bob.presence(&env, "away").await;
    env.say("desks", "j1", "jo", "hi").await;
    assert_eq!(
        env.wait_delivered("jo", 1).await,
        ["overflow: no member of the queue is online"]
    );
}

#[tokio::test]
async fn group_changes_reach_waiting_interactions() {
    let env = Env::start().await;
    let mut ann = AgentClient::new(&env, "ann", 1).await;
    ann.presence(&env, "online").await;
    let nobody = env
        .post(
            "groups",
            json!({"reference": "LATER", "name": "Later", "data": {"members": []}}),
        )
        .await;
    let gid = nobody["id"].as_str().unwrap().to_owned();
    let rules = json!({
        "new_online": {"group_id": gid, "message": "Welcome"},
        "new_offline": {"group_id": gid},
        "owner_offline": {"rule": "keep_user"}
    });
    env.post("entry-points", json!({"reference": "later", "name": "Later", "channel": "http", "secret": support::CHANNEL_SECRET, "callback_url": env.callback_url, "customer_routing": rules})).await;
    let r = env.say("later", "k1", "kim", "hello").await;
    let kim = r["interaction_id"].as_str().unwrap().to_owned();
    assert_eq!(
        env.get(&format!("interactions/{kim}")).await["status"],
        "waiting"
    );
    // ann joins the group: the waiting interaction is offered to her
    let (s, _) = env
        .call(
            reqwest::Method::PATCH,
            &format!("groups/{gid}"),
            Some(json!({"data": {"members": [ann.id]}})),
        )
        .await;
    assert_eq!(s, 200);
    env.conversations.tick_distribution().await.unwrap();
    assert_eq!(
        ann.next("offer").await["interaction_id"].as_str(),
        Some(kim.as_str())
    );
    ann.act(&env, &kim, "accept").await;
    assert_eq!(env.wait_delivered("kim", 1).await, ["Welcome"]);
    // another one waits behind (ann's one place is taken); the group is deleted: it ends
    let r = env.say("later", "l1", "lou", "hello").await;
    let lou = r["interaction_id"].as_str().unwrap().to_owned();
    let status = env.get(&format!("groups/{gid}/status")).await;
    assert_eq!(status["waiting_count"], 1, "{status}");
    assert_eq!(
        status["waiting"][0]["interaction_id"].as_str(),
        Some(lou.as_str())
    );
    assert_eq!(status["members"][0]["open_conversations"], 1);
    // ann's one place, 5 min default handling: one place must free
    assert_eq!(
        status["estimated_wait_seconds"], 600,
        "one ahead, no free place, capacity 1: 5 min × 2 / 1"
    );
    let (s, _) = env
        .call(reqwest::Method::DELETE, &format!("groups/{gid}"), None)
        .await;
    assert_eq!(s, 204);
    env.conversations.tick_distribution().await.unwrap();
    let i = env.get(&format!("interactions/{lou}")).await;
    assert_eq!(i["status"], "closed", "{i}");
    assert!(
        i["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"]["result"]["outcome"] == "unprocessed")
    );
}

#[tokio::test]
async fn users_are_changed_renewed_and_deleted() {
    let env = Env::start().await;
    let ann = AgentClient::new(&env, "ann", 1).await;
    let path = format!("users/{}", ann.id);
    // capacity, with If-Match
    let resp = env
        .http
        .patch(format!("{}/{path}", env.base))
        .header("if-match", "\"7\"")
        .json(&json!({"capacity": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 412);
    let (s, u) = env
        .call(
            reqwest::Method::PATCH,
            &path,
            Some(json!({"capacity": 5, "name": "Ann B."})),
        )
        .await;
    assert_eq!(
        (s, u["capacity"].as_u64(), u["name"].as_str()),
        (200, Some(5), Some("Ann B."))
    );
    assert!(u.get("token").is_none(), "a token is shown only when made");
    let (s, p) = env
        .call(
            reqwest::Method::PATCH,
            &path,
            Some(json!({"capacity": 101})),
        )
        .await;
    assert_eq!((s, p["code"].as_str()), (422, Some("invalid_field")));
    // a new token: the old one stops working
    let renewed = env.post(&format!("{path}/token"), json!({})).await;
    let token = renewed["token"].as_str().unwrap().to_owned();
    let (s, _) = ann.call(&env, reqwest::Method::GET, "agent/me", None).await;
    assert_eq!(s, 401);
    let (s, me) =
        AgentClient::call_with(&env, &token, reqwest::Method::GET, "agent/me", None).await;
    assert_eq!((s, me["capacity"].as_u64()), (200, Some(5)));
    // deleted: gone, and its token with it
    let (s, _) = env.call(reqwest::Method::DELETE, &path, None).await;
    assert_eq!(s, 204);
    let (s, p) = env.call(reqwest::Method::GET, &path, None).await;
    assert_eq!((s, p["code"].as_str()), (404, Some("not_found")));
    let (s, _) = AgentClient::call_with(&env, &token, reqwest::Method::GET, "agent/me", None).await;
    assert_eq!(s, 401);
    assert_eq!(env.get("users").await["items"], json!([]));
}

#[tokio::test]
async fn a_routing_that_keeps_distributing_in_one_turn_ends_visibly() {
    let env = Env::start().await;
    // Reference not found leads back to the same distribution: answered at once, every time
    let doc = routing_doc(
        "LOOP",
        &[
            ("start", json!({})),
            (
                "distribute_to_queue",
                json!({"target": {"to": "queue", "queue": {"by": "reference", "reference": "MISSING"}}}),
            ),
        ],
        &[(0, "ok", 1), (1, "reference_not_found", 1)],
    );
    let imported = env.post("routings/import", doc).await;
    let rid = imported["routing"]["id"].as_str().unwrap().to_owned();
    env.post("entry-points", json!({"reference": "loop", "name": "Loop", "channel": "http", "secret": support::CHANNEL_SECRET, "callback_url": env.callback_url, "start_routing_id": rid})).await;
    let r = env.say("loop", "x1", "xavier", "hi").await;
    assert_eq!(r["status"], "closed");
    let i = env
        .get(&format!(
            "interactions/{}",
            r["interaction_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(i["closed"]["code"], "too_many_distributions", "{i}");
}

/// An agent's close must never be lost, however fast it comes: 50 auto-accepting agents close
/// each conversation the moment their feed says `assigned` — possibly before the customer's
/// turn that queued it is written — while 2 000 customers arrive. Every interaction reaches
/// *Processed*, every close that answered 204 took effect, and nothing is left waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn closes_racing_the_turn_that_assigned_them_are_never_lost() {
    use futures_util::StreamExt;
    const AGENTS: usize = 50;
    const CUSTOMERS: usize = 2_000;
    let env = Env::start().await;
    let mut agents = Vec::new();
    for k in 0..AGENTS {
        let u = env
            .post("users", json!({"reference": format!("racer{k}"), "name": format!("Racer {k}"), "capacity": 5, "auto_accept": true}))
            .await;
        agents.push((
            u["id"].as_str().unwrap().to_owned(),
            u["token"].as_str().unwrap().to_owned(),
        ));
    }
    let members: Vec<&str> = agents.iter().map(|a| a.0.as_str()).collect();
    env.post("groups", json!({"reference": "RACE", "name": "Race", "data": {"members": members, "algorithm": "least_chats"}})).await;
    let doc = routing_doc(
        "RACE",
        &[
            ("start", json!({})),
            (
                "distribute_to_queue",
                json!({"target": {"to": "queue", "queue": {"by": "reference", "reference": "RACE"}}}),
            ),
            ("simple_message", json!({"message": "handled"})),
            ("simple_message", json!({"message": "not handled"})),
        ],
        &[
            (0, "ok", 1),
            (1, "processed", 2),
            (1, "unprocessed", 3),
            (1, "overflow", 3),
        ],
    );
    let imported = env.post("routings/import", doc).await;
    let rid = imported["routing"]["id"].as_str().unwrap().to_owned();
    env.post("entry-points", json!({"reference": "race", "name": "Race", "channel": "http", "secret": support::CHANNEL_SECRET, "start_routing_id": rid, "callback_url": env.callback_url})).await;

    let closed_ok = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let stop = Arc::new(tokio::sync::Notify::new());
    let mut workers = Vec::new();
    for (_, token) in &agents {
        let ws = format!(
            "{}/agent/ws?token={token}",
            env.base.replacen("http://", "ws://", 1)
        );
        let (mut feed, _) = tokio_tungstenite::connect_async(&ws).await.unwrap();
        AgentClient::call_with(
            &env,
            token,
            reqwest::Method::PUT,
            "agent/presence",
            Some(json!({"presence": "online"})),
        )
        .await;
        let (http, base, token) = (env.http.clone(), env.base.clone(), token.clone());
        let (closed_ok, stop) = (closed_ok.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let frame = tokio::select! {
                    f = feed.next() => f,
                    _ = stop.notified() => return,
                };
                let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) = frame else {
                    continue;
                };
                let e: Value = serde_json::from_str(&t).unwrap();
                if e["type"] != "assigned" {
                    continue;
                }
                let iid = e["interaction_id"].as_str().unwrap().to_owned();
                let resp = http
                    .post(format!("{base}/agent/conversations/{iid}/close"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status().as_u16(), 204, "close of {iid}");
                closed_ok.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }));
    }
    // customers arrive 64 at a time
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let senders: Vec<_> = (0..64)
        .map(|_| {
            let (http, base, next) = (env.http.clone(), env.base.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if n >= CUSTOMERS {
                        return;
                    }
                    let req = http.post(format!("{base}/channels/http/race/messages"));
                    let resp = support::signed(req, &json!({"message_id": format!("r{n}"), "from": format!("racer-customer{n}"), "text": "hello"}))
                        .send()
                        .await
                        .unwrap();
                    assert!(resp.status().is_success(), "{}", resp.status());
                }
            })
        })
        .collect();
    for s in senders {
        s.await.unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let waiting = env.get("interactions?status=waiting&limit=200").await;
        let left = waiting["items"].as_array().unwrap().len();
        // a close's answer reaches its agent just after the interaction is written
        if left == 0 && closed_ok.load(std::sync::atomic::Ordering::Relaxed) >= CUSTOMERS {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{left}+ interactions still waiting, {} closes acknowledged: {}",
            closed_ok.load(std::sync::atomic::Ordering::Relaxed),
            waiting["items"][0]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.notify_waiters();
    for w in workers {
        w.abort();
    }
    assert_eq!(
        closed_ok.load(std::sync::atomic::Ordering::Relaxed),
        CUSTOMERS,
        "one acknowledged close per conversation"
    );
    for n in 0..CUSTOMERS {
        let got = env.wait_delivered(&format!("racer-customer{n}"), 1).await;
        assert_eq!(got, ["handled"], "racer-customer{n}");
    }
    let users = env.get("users?limit=100").await;
    for u in users["items"].as_array().unwrap() {
        assert_eq!(u["open_conversations"], 0, "{u}");
    }
}

/// Two customers may use the same channel message id; a long history is read page by page; a
/// version's history pages are full even when live interactions run it too.
#[tokio::test]
async fn dedupe_per_customer_event_pages_and_history_pages() {
    let env = Env::start().await;
    let doc = routing_doc(
        "ECHO",
        &[
            ("start", json!({})),
            ("simple_message", json!({"message": "one"})),
            ("simple_message", json!({"message": "two"})),
        ],
        &[(0, "ok", 1), (1, "ok", 2)],
    );
    let imported = env.post("routings/import", doc).await;
    let rid = imported["routing"]["id"].as_str().unwrap().to_owned();
    let vid = env.get(&format!("routings/{rid}")).await["production_version_id"]
        .as_str()
        .unwrap()
        .to_owned();
    env.post("entry-points", json!({"reference": "echo", "name": "Echo", "channel": "http", "secret": support::CHANNEL_SECRET, "start_routing_id": rid, "callback_url": env.callback_url})).await;

    let ann = env.say("echo", "same-id", "ann", "hi").await;
    let bob = env.say("echo", "same-id", "bob", "hi").await;
    assert_eq!(ann["duplicate"], false);
    assert_eq!(bob["duplicate"], false, "{bob}");
    assert_ne!(ann["interaction_id"], bob["interaction_id"]);
    assert_eq!(env.wait_delivered("bob", 2).await, ["one", "two"]);
    // the same customer sending the same id again is the duplicate
    let again = env.say("echo", "same-id", "bob", "hi").await;
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["interaction_id"], bob["interaction_id"]);

    // events, one page at a time
    let iid = ann["interaction_id"].as_str().unwrap();
    let all = env.get(&format!("interactions/{iid}")).await;
    let total = all["events"].as_array().unwrap().len();
    assert!(total >= 4, "{all}");
    assert_eq!(all["events_next_after"], Value::Null);
    let (mut seen, mut after) = (Vec::new(), 0u64);
    loop {
        let page = env
            .get(&format!(
                "interactions/{iid}?events_limit=2&events_after={after}"
            ))
            .await;
        let items = page["events"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|e| e["seq"].as_u64().unwrap()));
        match page["events_next_after"].as_u64() {
            Some(next) => after = next,
            None => break,
        }
    }
    let expected: Vec<u64> = all["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seen, expected);
    let (s, body) = env
        .call(
            reqwest::Method::GET,
            &format!("interactions/{iid}?events_limit=0"),
            None,
        )
        .await;
    assert_eq!(s, 400, "{body}");

    // history: previews only, full pages although live interactions run the version too
    for _ in 0..3 {
        env.post(&format!("versions/{vid}/preview"), json!({}))
            .await;
    }
    for n in 0..5 {
        env.say("echo", &format!("live{n}"), &format!("live{n}"), "hi")
            .await;
    }
    let first = env.get(&format!("versions/{vid}/history?limit=2")).await;
    let items = first["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{first}");
    assert!(items.iter().all(|i| i["mode"] == "preview"), "{first}");
    let after = first["next_after"].as_str().unwrap();
    let second = env
        .get(&format!("versions/{vid}/history?limit=2&after={after}"))
        .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1, "{second}");
    assert_eq!(second["next_after"], Value::Null);
}

/// A preview never reaches real agents: it shows the distribution it asked for and waits for
/// the person previewing to pick the outcome; the action's branch follows.
#[tokio::test]
async fn a_preview_distribution_waits_for_the_previewer_not_for_agents() {
    let env = Env::start().await;
    let ann = AgentClient::new(&env, "ann", 3).await;
    ann.presence(&env, "online").await;
    env.post("groups", json!({"reference": "SALES", "name": "Sales", "data": {"members": [ann.id], "algorithm": "in_order"}})).await;
    let doc = routing_doc(
        "PREVIEWQ",
        &[
            ("start", json!({})),
            (
                "distribute_to_queue",
                json!({"target": {"to": "queue", "queue": {"by": "reference", "reference": "SALES"}}}),
            ),
            ("simple_message", json!({"message": "handled"})),
            (
                "simple_message",
                json!({"message": "nobody: {{ system.error }}"}),
            ),
        ],
        &[(0, "ok", 1), (1, "processed", 2), (1, "overflow", 3)],
    );
    let imported = env.post("routings/import", doc).await;
    let rid = imported["routing"]["id"].as_str().unwrap().to_owned();
    let vid = env.get(&format!("routings/{rid}")).await["production_version_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let p = env
        .post(&format!("versions/{vid}/preview"), json!({}))
        .await;
    let pid = p["interaction_id"].as_str().unwrap().to_owned();
    assert_eq!(p["status"], "waiting");
    let shown = env.get(&format!("interactions/{pid}")).await;
    let requested: Vec<&Value> = shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["type"] == "effect_requested")
        .collect();
    assert_eq!(requested.len(), 1, "{shown}");
    assert_eq!(requested[0]["event"]["request"]["distribute"], "queue");
    // the agent is offered nothing
    let (_, mine) = ann
        .call(&env, reqwest::Method::GET, "agent/conversations", None)
        .await;
    assert_eq!(mine, json!([]), "a preview reached an agent");
    // a live interaction cannot be given an outcome; a bad outcome is refused
    let (s, body) = env
        .call(
            reqwest::Method::POST,
            &format!("interactions/{pid}/outcome"),
            Some(json!({"outcome": "teleported"})),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    let r = env
        .post(
            &format!("interactions/{pid}/outcome"),
            json!({"outcome": "overflow_no_user"}),
        )
        .await;
    assert_eq!(
        r["replies"][0]["text"],
        "nobody: no member of the queue is online"
    );
    assert_eq!(r["status"], "closed");
    // once answered it waits for nothing more
    let (s, body) = env
        .call(
            reqwest::Method::POST,
            &format!("interactions/{pid}/outcome"),
            Some(json!({"outcome": "processed"})),
        )
        .await;
    assert_eq!(s, 409, "{body}");
}

/// Idempotency records keep no secret and belong to their caller: a replayed user creation
/// gives no token; another agent's request with the same key is theirs, not a replay; a request
/// whose token is not valid is refused, never answered from a record.
#[tokio::test]
async fn idempotency_records_keep_no_secret_and_belong_to_their_caller() {
    let env = Env::start().await;
    let create = || {
        env.http
            .post(format!("{}/users", env.base))
            .header("idempotency-key", "create-zoe")
            .json(&json!({"reference": "zoe", "name": "Zoe"}))
            .send()
    };
    let first = create().await.unwrap();
    assert_eq!(first.status().as_u16(), 201);
    let first: Value = first.json().await.unwrap();
    assert!(first["token"].as_str().is_some_and(|t| !t.is_empty()));
    let again = create().await.unwrap();
    assert_eq!(again.headers()["idempotency-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(
        again["token"],
        Value::Null,
        "a replay never carries the token"
    );

    let ann = AgentClient::new(&env, "ann", 1).await;
    let bob = AgentClient::new(&env, "bob", 1).await;
    let nobody = uuid::Uuid::now_v7();
    let anonymous = reqwest::Client::new();
    let accept = |token: Option<&str>| {
        let mut req = anonymous
            .post(format!("{}/agent/conversations/{nobody}/accept", env.base))
            .header("idempotency-key", "same-key");
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    let a = accept(Some(&ann.token)).await.unwrap();
    assert_eq!(a.status().as_u16(), 404);
    let b = accept(Some(&bob.token)).await.unwrap();
    assert_eq!(b.status().as_u16(), 404);
    assert!(
        b.headers().get("idempotency-replayed").is_none(),
        "bob got ann's answer"
    );
    let a2 = accept(Some(&ann.token)).await.unwrap();
    assert_eq!(a2.headers()["idempotency-replayed"], "true");
    for token in [None, Some("sy_not_a_token")] {
        let r = accept(token).await.unwrap();
        assert_eq!(r.status().as_u16(), 401, "{token:?}");
        assert!(r.headers().get("idempotency-replayed").is_none());
    }
}

/// A visitor sends at most so many files a day; what is older than the retention period goes.
#[tokio::test]
async fn upload_quota_and_retention() {
    let env = Env::start_with(runtime::conversations::Settings {
        retention: Some(SignedDuration::from_hours(24 * 30)),
        ..runtime::conversations::Settings::default()
    })
    .await;
    let doc = routing_doc(
        "PICS",
        &[
            ("start", json!({})),
            ("simple_message", json!({"message": "hello"})),
        ],
        &[(0, "ok", 1)],
    );
    let imported = env.post("routings/import", doc).await;
    let rid = imported["routing"]["id"].as_str().unwrap().to_owned();
    env.post("entry-points", json!({"reference": "pics", "name": "Pics", "channel": "web_chat", "start_routing_id": rid})).await;
    env.post("entry-points", json!({"reference": "old", "name": "Old", "channel": "http", "secret": support::CHANNEL_SECRET, "start_routing_id": rid, "callback_url": env.callback_url})).await;
    // a visitor's quota: files per 24 hours
    let send_png = |visitor: &'static str| {
        let body = [
            &[0x89u8, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A][..],
            &[0u8; 16][..],
        ]
        .concat();
        env.http
            .post(format!(
                "{}/channels/web-chat/pics/uploads?visitor={visitor}",
                env.base
            ))
            .body(body)
            .send()
    };
    for _ in 1..runtime::retention::limits::UPLOADS_PER_DAY {
        assert_eq!(send_png("v9").await.unwrap().status(), 201);
    }
    assert_eq!(send_png("v9").await.unwrap().status(), 201);
    let over = send_png("v9").await.unwrap();
    assert_eq!(over.status(), 429);
    let over: Value = over.json().await.unwrap();
    assert_eq!(over["code"], "upload_quota_exceeded");
    // others are not concerned; the next day the visitor may send again
    assert_eq!(send_png("v8").await.unwrap().status(), 201);
    env.clock.advance(SignedDuration::from_hours(25));
    assert_eq!(send_png("v9").await.unwrap().status(), 201);
    // an interaction that closed, its inbound message, its delivered reply and the uploads:
    // gone once older than the retention period
    let r = env.say("old", "m-1", "olga", "hi").await;
    env.wait_delivered("olga", 1).await;
    let iid = r["interaction_id"].as_str().unwrap().to_owned();
    assert!(
        !env.get(&format!("interactions/{iid}")).await["events"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let nothing = env.conversations.purge().await.unwrap();
    assert_eq!(nothing.total(), 0, "nothing is old yet: {nothing:?}");
    env.clock.advance(SignedDuration::from_hours(24 * 31));
    let purged = env.conversations.purge().await.unwrap();
    assert!(
        purged.events > 0 && purged.inbound > 0 && purged.uploads > 0 && purged.outbox > 0,
        "{purged:?}"
    );
    let shown = env.get(&format!("interactions/{iid}")).await;
    assert_eq!(shown["events"], json!([]));
    assert_eq!(shown["status"], "closed");
}

/// The step budget holds for a whole input, distributions answered at once included: 2 actions
/// before a distribution refused at once and 9 after it are 11 in one turn, over a budget of 10.
#[tokio::test]
async fn the_step_budget_holds_across_a_distribution_answered_at_once() {
    let env = Env::start_with(runtime::conversations::Settings {
        limits: engine::Limits {
            steps_per_turn: 10,
            ..engine::Limits::default()
        },
        ..runtime::conversations::Settings::default()
    })
    .await;
    let mut actions = vec![
        ("start", json!({})),
        (
            "distribute_to_queue",
            json!({"target": {"to": "queue", "queue": {"by": "reference", "reference": "NOPE"}}}),
        ),
    ];
    let mut links = vec![(0, "ok", 1), (1, "reference_not_found", 2)];
    for k in 0..9 {
        actions.push(("node", json!({})));
        if k > 0 {
            links.push((1 + k, "ok", 2 + k));
        }
    }
    let doc = routing_doc("BUDGET", &actions, &links);
    let imported = env.post("routings/import", doc).await;
    let rid = imported["routing"]["id"].as_str().unwrap().to_owned();
    env.post("entry-points", json!({"reference": "budget", "name": "Budget", "channel": "http", "secret": support::CHANNEL_SECRET, "start_routing_id": rid, "callback_url": env.callback_url})).await;
    let r = env.say("budget", "b1", "bea", "hi").await;
    assert_eq!(r["status"], "closed", "{r}");
    let iid = r["interaction_id"].as_str().unwrap();
    let shown = env.get(&format!("interactions/{iid}")).await;
    assert_eq!(shown["closed"]["code"], "step_budget_exceeded", "{shown}");
}
