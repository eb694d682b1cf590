//! End to end: the real `switchyard` binary on a temporary SQLite file, driven over HTTP on
//! loopback and through its command line.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[path = "../../api/tests/support/mail.rs"]
mod mail;

#[path = "../../api/tests/support/stripe.rs"]
mod stripe;

const BIN: &str = env!("CARGO_BIN_EXE_switchyard");

/// The administrator token the servers are started with (`SWITCHYARD_ADMIN_TOKEN`).
const ADMIN: &str = "e2e-administrator-token-0123456789abcdef";

/// The signing secret of the tests' HTTP entry points.
const CHANNEL_SECRET: &str = "e2e-channel-secret-0123456789abcdef-0123";

/// A message to an HTTP entry point, signed as the channel requires.
fn signed(req: reqwest::RequestBuilder, body: &Value) -> reqwest::RequestBuilder {
    let bytes = serde_json::to_vec(body).unwrap();
    req.header("content-type", "application/json")
        .header(
            channels::http::SIGNATURE_HEADER,
            channels::http::sign(CHANNEL_SECRET, &bytes),
        )
        .body(bytes)
}

/// A client calling as the administrator.
fn admin_client() -> reqwest::Client {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {ADMIN}").parse().unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(h)
        .build()
        .unwrap()
}

struct Running {
    child: Child,
    base: String,
}

impl Drop for Running {
    /// A failing test never leaves its server behind.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    fn start(data: &Path) -> Running {
        Running::start_with(data, &[])
    }

    /// With more environment (the providers' API bases of a test).
    fn start_with(data: &Path, env: &[(&str, &str)]) -> Running {
        Running::spawn(data, env, false).0
    }

    /// With the SMTP listener on a free port: the server and the listener's address.
    fn start_smtp(data: &Path) -> (Running, String) {
        Running::start_smtp_with(data, &[])
    }

    /// The SMTP listener on and more environment.
    fn start_smtp_with(data: &Path, env: &[(&str, &str)]) -> (Running, String) {
        let mut all = vec![("SWITCHYARD_SMTP_LISTEN", "127.0.0.1:0")];
        all.extend_from_slice(env);
        let (running, smtp) = Running::spawn(data, &all, true);
        (running, smtp.expect("the SMTP listener's line"))
    }

    fn spawn(data: &Path, env: &[(&str, &str)], smtp: bool) -> (Running, Option<String>) {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .envs(env.iter().copied())
            .env("SWITCHYARD_TIME_ZONE", "Europe/Paris")
            .env("SWITCHYARD_ADMIN_TOKEN", ADMIN)
            // the bursts below come from one address: the public limits are set above them
            .env("SWITCHYARD_PUBLIC_RATE_PER_ADDRESS", "100000")
            .env("SWITCHYARD_PUBLIC_RATE_PER_ENTRY_POINT", "100000")
            // the callback servers listen on loopback: allowed explicitly
            .env("SWITCHYARD_OUTBOUND_ALLOW", "127.0.0.0/8")
            .env("SWITCHYARD_LOG_LEVEL", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the binary starts");
        let mut line = String::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut line).unwrap();
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        let smtp = smtp.then(|| {
            let mut line = String::new();
            out.read_line(&mut line).unwrap();
            line.trim()
                .strip_prefix("SMTP listener on ")
                .unwrap_or_else(|| panic!("unexpected second line {line:?}"))
                .to_owned()
        });
        (Running { child, base }, smtp)
    }

    /// SIGKILL: no chance to flush anything.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM: graceful shutdown.
    fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "graceful shutdown exits 0: {status}");
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the server did not stop on SIGTERM");
    }
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1/{path}", self.base));
        if let Some(b) = body {
            req = if path.starts_with("channels/http/") {
                signed(req, &b)
            } else {
                req.json(&b)
            };
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
    async fn ok(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let (status, body) = self.call(method, path, body).await;
        assert!((200..300).contains(&status), "{path}: {status} {body}");
        body
    }
    async fn get(&self, path: &str) -> Value {
        self.ok(reqwest::Method::GET, path, None).await
    }
    async fn post(&self, path: &str, body: Value) -> Value {
        self.ok(reqwest::Method::POST, path, Some(body)).await
    }
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// Builds Start → checkpoint → load sharing → (menu | message) → test values → queue.
async fn build_tree(api: &Api, version: &Value) {
    let vid = id(version);
    let start = version["tree"]["actions"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let add = |ty: &'static str, params: Value, after: Option<(String, &'static str)>| {
        let mut body = json!({"type": ty, "params": params, "record_passage": true});
        if let Some((a, b)) = after {
            body["after"] = json!({"action_id": a, "branch": b});
        }
        let path = format!("versions/{vid}/actions");
        async move {
            api.post(&path, body).await["action"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let checkpoint = add(
        "add_checkpoint",
        json!({"checkpoint": {"by": "reference", "reference": "ENTRY"}}),
        Some((start, "ok")),
    )
    .await;
    let split = add(
        "load_sharing",
        json!({"loads": [50, 50]}),
        Some((checkpoint.clone(), "ok")),
    )
    .await;
    let menu = add("message_with_choice", json!({"message": "Sales or support?", "wait_seconds": 300, "choices": [{"label": "Sales"}, {"label": "Support"}]}), Some((split.clone(), "link_1"))).await;
    let hello = add(
        "simple_message",
        json!({"message": "Hello {{ customer.first_name }}"}),
        Some((split, "link_2")),
    )
    .await;
    let test = add("test_values", json!({"match": "any", "conditions": [{"value": "{{ customer.segment }}", "operator": "equals", "operand": "vip"}]}), Some((hello, "ok"))).await;
    add("distribute_to_queue", json!({"target": {"to": "queue", "queue": {"by": "reference", "reference": "SALES"}}, "prioritize": true}), Some((menu.clone(), "link_1"))).await;
    api.post(
        &format!("versions/{vid}/links"),
        json!({"from": test, "branch": "yes", "to": menu}),
    )
    .await;
}

fn cli(args: &[&str], data: &Path) -> (bool, String) {
    let out = Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

async fn snapshot(api: &Api) -> Value {
    let mut all = Vec::new();
    for r in api.get("routings?limit=200").await["items"]
        .as_array()
        .unwrap()
    {
        let routing = api.get(&format!("routings/{}", id(r))).await;
        let mut versions = Vec::new();
        for v in routing["versions"].as_array().unwrap() {
            versions.push(api.get(&format!("versions/{}", id(v))).await);
        }
        all.push(json!({"routing": routing, "versions": versions}));
    }
    Value::Array(all)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_whole_lifecycle_survives_restarts() {
    runtime::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Running::start(&data);
    let api = Api {
        http: admin_client(),
        base: server.base.clone(),
    };

    let routing = api.post("routings", json!({"name": "Support chat", "reference": "SUPPORT", "kind": "interaction_start", "channel_family": "messaging", "description": "WhatsApp and web chat"})).await;
    let r = id(&routing);
    let v1 = api
        .post(&format!("routings/{r}/versions"), json!({"name": "Launch"}))
        .await;
    build_tree(&api, &v1).await;
    let v1 = api.get(&format!("versions/{}", id(&v1))).await;
    assert_eq!(v1["diagnostics"]["errors"], 0, "{}", v1["diagnostics"]);
    // the data directory and the database are the owner's only
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("switchyard.db")), 0o600);
        assert_eq!(mode(&data.join("switchyard.db-wal")), 0o600);
    }
    api.post(
        &format!("versions/{}/put-in-production", id(&v1)),
        json!({}),
    )
    .await;

    // v2 copies v1's tree, goes to production; v1 becomes backup; then v1 is restored
    let v2 = api
        .post(
            &format!("routings/{r}/versions"),
            json!({"name": "Spring", "copy_of": id(&v1)}),
        )
        .await;
    assert_eq!(
        v2["tree"]["actions"].as_array().unwrap().len(),
        v1["tree"]["actions"].as_array().unwrap().len()
    );
    api.post(&format!("versions/{}/put-in-test", id(&v2)), json!({}))
        .await;
    api.post(
        &format!("versions/{}/put-in-production", id(&v2)),
        json!({}),
    )
    .await;
    assert_eq!(
        api.get(&format!("versions/{}", id(&v1))).await["status"],
        "backup"
    );
    api.post(
        &format!("versions/{}/put-in-production", id(&v1)),
        json!({}),
    )
    .await;
    assert_eq!(
        api.get(&format!("versions/{}", id(&v2))).await["status"],
        "backup"
    );

    // two plans: one cancelled, one that falls due while the server is down
    let v3 = api
        .post(
            &format!("versions/{}/duplicate", id(&v2)),
            json!({"name": "Summer"}),
        )
        .await;
    let v4 = api
        .post(
            &format!("versions/{}/duplicate", id(&v2)),
            json!({"name": "Autumn"}),
        )
        .await;
    let soon = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(3);
    let later = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 30);
    api.post(
        &format!("versions/{}/schedule", id(&v3)),
        json!({"at": soon.to_string()}),
    )
    .await;
    api.post(
        &format!("versions/{}/schedule", id(&v4)),
        json!({"at": later.to_string()}),
    )
    .await;
    api.post(&format!("versions/{}/unschedule", id(&v4)), json!({}))
        .await;

    // copy, export and import over HTTP
    let copy = api
        .post(
            &format!("routings/{r}/copy"),
            json!({"name": "Support chat (copy)", "reference": "SUPPORT-COPY"}),
        )
        .await;
    assert_eq!(copy["versions"].as_array().unwrap().len(), 4);
    let mut doc = api.get(&format!("routings/{r}/export")).await;
    doc["routing"]["reference"] = "SUPPORT-IMPORTED".into();
    doc["versions"][2]["scheduled_at"] = Value::Null;
    api.post("routings/import", doc).await;

    let before = snapshot(&api).await;
    server.kill();

    // restart after kill -9, before the plan is due: everything is as it was
    let server = Running::start(&data);
    let api = Api {
        http: admin_client(),
        base: server.base.clone(),
    };
    assert_eq!(snapshot(&api).await, before, "everything survives kill -9");
    server.stop();

    // the plan falls due while the server is down, and fires at start-up
    tokio::time::sleep(Duration::from_secs(4)).await;
    let server = Running::start(&data);
    let api = Api {
        http: admin_client(),
        base: server.base.clone(),
    };
    let mut status = Value::Null;
    for _ in 0..100 {
        status = api.get(&format!("versions/{}", id(&v3))).await["status"].clone();
        if status == "production" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, "production");
    assert_eq!(
        api.get(&format!("versions/{}", id(&v1))).await["status"],
        "backup"
    );
    assert_eq!(
        api.get(&format!("versions/{}", id(&v4))).await["status"],
        "development",
        "the cancelled plan did not fire"
    );
    server.stop();

    // the CLI works on the same data directory
    let (ok, out) = cli(&["export", "SUPPORT"], &data);
    assert!(ok, "{out}");
    let exported: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(exported["versions"].as_array().unwrap().len(), 4);
    let file = dir.path().join("support.json");
    let (ok, out) = cli(
        &["export", "SUPPORT", "--output", file.to_str().unwrap()],
        &data,
    );
    assert!(ok, "{out}");
    let (ok, out) = cli(&["validate", file.to_str().unwrap()], &data);
    assert!(ok, "{out}");
    assert!(out.contains("0 error(s)"), "{out}");
    let (ok, out) = cli(&["import", file.to_str().unwrap()], &data);
    assert!(
        !ok && out.contains("already used"),
        "a taken reference is refused: {out}"
    );
    let (ok, out) = cli(&["export", "NOPE"], &data);
    assert!(!ok && out.contains("NOPE"), "{out}");
}

#[test]
fn validate_names_each_problem_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let start = "00000000-0000-0000-0000-000000000001";
    let msg = "00000000-0000-0000-0000-000000000002";
    let good = json!({
        "format": "switchyard.routing", "format_version": 1,
        "routing": {"reference": "CLI", "name": "CLI", "kind": "interaction_start", "channel_family": "messaging"},
        "versions": [{"number": 1, "name": "v1", "status": "production", "tree": {
            "actions": [{"id": start, "type": "start", "params": {}}, {"id": msg, "type": "simple_message", "params": {"message": "Hi"}}],
            "links": [{"id": "00000000-0000-0000-0000-000000000003", "from": start, "branch": "ok", "to": msg}]
        }}]
    });
    let path = dir.path().join("good.json");
    std::fs::write(&path, good.to_string()).unwrap();
    let (ok, out) = cli(&["validate", path.to_str().unwrap()], dir.path());
    assert!(ok, "{out}");

    let mut bad = good.clone();
    bad["versions"][0]["tree"]["actions"][1]["params"] = json!({"message": ""});
    bad["versions"][0]["tree"]["actions"].as_array_mut().unwrap().push(json!({"id": "00000000-0000-0000-0000-000000000009", "type": "detect_keywords", "params": {}}));
    bad["versions"][0]["tree"]["links"].as_array_mut().unwrap().push(json!({"id": "00000000-0000-0000-0000-000000000004", "from": msg, "branch": "sideways", "to": start}));
    let path = dir.path().join("bad.json");
    std::fs::write(&path, bad.to_string()).unwrap();
    let (ok, out) = cli(&["validate", path.to_str().unwrap()], dir.path());
    assert!(!ok, "{out}");
    for expected in [
        "invalid_parameters",
        "action_not_in_family",
        "unknown_branch",
        "cannot be in production",
        "unreachable_action",
    ] {
        assert!(out.contains(expected), "{expected} missing from:\n{out}");
    }

    std::fs::write(&path, "{ not json").unwrap();
    let (ok, out) = cli(&["validate", path.to_str().unwrap()], dir.path());
    assert!(!ok && out.contains("not valid JSON"), "{out}");
}

/// Replies the callback server received: idempotency key → (customer, text).
type Received = std::sync::Arc<std::sync::Mutex<Vec<(String, String, String)>>>;

async fn start_callback_server() -> (String, Received) {
    use axum::extract::State;
    let got: Received = Default::default();
    async fn cb(
        State(got): State<Received>,
        headers: axum::http::HeaderMap,
        body: axum::Json<Value>,
    ) -> axum::http::StatusCode {
        let key = headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let customer = body["customer"].as_str().unwrap_or_default().to_owned();
        let text = body["message"]["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        got.lock().unwrap().push((key, customer, text));
        axum::http::StatusCode::OK
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cb", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/cb", axum::routing::post(cb))
        .with_state(got.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_during_a_burst_loses_no_acknowledged_message() {
    runtime::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (callback_url, received) = start_callback_server().await;
    let server = Running::start(&data);
    let api = Api {
        http: admin_client(),
        base: server.base.clone(),
    };

    // Start → "Hello" → pause 2 s → "Goodbye"
    let r = api.post("routings", json!({"name": "Burst", "reference": "BURST", "kind": "interaction_start", "channel_family": "messaging"})).await;
    let v = api
        .post(
            &format!("routings/{}/versions", id(&r)),
            json!({"name": "v1"}),
        )
        .await;
    let vid = id(&v);
    let start = v["tree"]["actions"][0]["id"].as_str().unwrap().to_owned();
    let hello = api.post(&format!("versions/{vid}/actions"), json!({"type": "simple_message", "params": {"message": "Hello"}, "after": {"action_id": start, "branch": "ok"}})).await["action"]["id"].as_str().unwrap().to_owned();
    let pause = api.post(&format!("versions/{vid}/actions"), json!({"type": "pause", "params": {"seconds": 2}, "after": {"action_id": hello, "branch": "ok"}})).await["action"]["id"].as_str().unwrap().to_owned();
    api.post(&format!("versions/{vid}/actions"), json!({"type": "simple_message", "params": {"message": "Goodbye"}, "after": {"action_id": pause, "branch": "ok"}})).await;
    api.post(&format!("versions/{vid}/put-in-production"), json!({}))
        .await;
    api.post("entry-points", json!({"reference": "burst", "name": "Burst", "channel": "http", "secret": CHANNEL_SECRET, "start_routing_id": id(&r), "callback_url": callback_url})).await;

    // a burst of 300 customers, one message each; the server is killed in the middle of it
    let customers: Vec<String> = (0..300).map(|i| format!("c{i:03}")).collect();
    let acked = std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashMap::<
        String,
        String,
    >::new()));
    let mut tasks = Vec::new();
    for c in customers.clone() {
        let http = api.http.clone();
        let url = format!("{}/api/v1/channels/http/burst/messages", api.base);
        let acked = acked.clone();
        tasks.push(tokio::spawn(async move {
            let resp = signed(
                http.post(&url),
                &json!({"message_id": format!("{c}-1"), "from": c, "text": "hi"}),
            )
            .send()
            .await;
            if let Ok(resp) = resp
                && resp.status().is_success()
                && let Ok(body) = resp.json::<Value>().await
            {
                acked
                    .lock()
                    .unwrap()
                    .insert(c, body["interaction_id"].as_str().unwrap().to_owned());
            }
        }));
    }
    while acked.lock().unwrap().len() < 60 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.kill();
    for t in tasks {
        let _ = t.await;
    }
    let acked_before: std::collections::HashMap<String, String> = acked.lock().unwrap().clone();
    eprintln!("{} of 300 acknowledged before the kill", acked_before.len());
    assert!(
        acked_before.len() >= 60 && acked_before.len() < 300,
        "the kill landed mid-burst ({} acknowledged)",
        acked_before.len()
    );

    // restart; every client sends again what it sent (acknowledged or not), as channels do
    let server = Running::start(&data);
    let api = Api {
        http: admin_client(),
        base: server.base.clone(),
    };
    for c in &customers {
        let ack = api
            .post(
                "channels/http/burst/messages",
                json!({"message_id": format!("{c}-1"), "from": c, "text": "hi"}),
            )
            .await;
        if let Some(first) = acked_before.get(c) {
            assert_eq!(
                ack["duplicate"], true,
                "{c} was acknowledged before the kill: not handled twice"
            );
            assert_eq!(ack["interaction_id"].as_str(), Some(first.as_str()));
        }
    }

    // every conversation gets Hello then, once its pause ends (timers survive the restart), Goodbye
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = received.lock().unwrap().clone();
        let mut by_key = std::collections::HashMap::new();
        for (key, customer, text) in &got {
            let previous = by_key.insert(key.clone(), (customer.clone(), text.clone()));
            assert!(
                previous.is_none_or(|p| p == (customer.clone(), text.clone())),
                "one key, one message"
            );
        }
        let mut per_customer: std::collections::HashMap<&str, Vec<&str>> =
            std::collections::HashMap::new();
        for (customer, text) in by_key.values() {
            per_customer
                .entry(customer.as_str())
                .or_default()
                .push(text.as_str());
        }
        let complete = customers.iter().all(|c| {
            let mut texts = per_customer.get(c.as_str()).cloned().unwrap_or_default();
            texts.sort();
            texts == ["Goodbye", "Hello"]
        });
        if complete {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not every conversation completed: {} customers with replies",
            per_customer.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // each interaction handled its one message exactly once
    for (c, iid) in &acked_before {
        let i = api.get(&format!("interactions/{iid}")).await;
        let ins = i["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"]["type"] == "message_in")
            .count();
        assert_eq!(ins, 1, "{c}");
        assert_eq!(i["status"], "closed");
    }
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_chat_page_in_chromium() {
    let browser_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").exists()
            && Path::new("/usr/bin/chromium").exists(),
        "the browser test needs Chromium and playwright-core: run scripts/browser-setup.sh (the test command does)"
    );
    runtime::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(&dir.path().join("data"));
    let api = Api {
        http: admin_client(),
        base: server.base.clone(),
    };
    let r = api.post("routings", json!({"name": "Chat", "reference": "CHAT", "kind": "interaction_start", "channel_family": "messaging"})).await;
    let v = api
        .post(
            &format!("routings/{}/versions", id(&r)),
            json!({"name": "v1"}),
        )
        .await;
    let vid = id(&v);
    let start = v["tree"]["actions"][0]["id"].as_str().unwrap().to_owned();
    let ask = api.post(&format!("versions/{vid}/actions"), json!({"type": "message_awaiting_response", "params": {"wait_seconds": 600, "max_attempts": 3, "error_message": "A number, please.", "questions": [{"question": "How old are you?", "answer_type": "number", "variable": "visitor.age"}]}, "after": {"action_id": start, "branch": "ok"}})).await;
    let choice = api.post(&format!("versions/{vid}/actions"), json!({"type": "message_with_choice", "params": {"message": "Sales or support?", "wait_seconds": 600, "choices": [{"label": "Sales"}, {"label": "Support"}]}, "after": {"action_id": ask["action"]["id"], "branch": "ok"}})).await;
    // support callers are asked how it went once the chat closes
    let csat = api.post("surveys", json!({"reference": "CSAT", "name": "Satisfaction", "data": {"intro": "One question about this chat", "questions": [{"key": "score", "text": "How would you rate us?", "answer": {"type": "rating", "min": 1, "max": 5}}, {"key": "comment", "text": "Anything to add?", "answer": {"type": "free_text"}}], "thanks": "Thank you for your answers!"}})).await;
    let survey = api.post(&format!("versions/{vid}/actions"), json!({"type": "survey", "params": {"survey": {"by": "reference", "reference": "CSAT"}}, "after": {"action_id": choice["action"]["id"], "branch": "link_2"}})).await;
    api.post(&format!("versions/{vid}/actions"), json!({"type": "simple_message", "params": {"message": "Support will call you back. Age: {{ visitor.age }}"}, "after": {"action_id": survey["action"]["id"], "branch": "ok"}})).await;
    api.post(&format!("versions/{vid}/put-in-production"), json!({}))
        .await;
    api.post("entry-points", json!({"reference": "site", "name": "Our site", "channel": "web_chat", "start_routing_id": id(&r)})).await;

    let shot = dir.path().join("chat.png");
    let (base, script, shot_arg) = (
        server.base.clone(),
        browser_dir.join("chat.mjs"),
        shot.clone(),
    );
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .arg(base)
            .arg("site")
            .arg(shot_arg)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 1_000,
        "a screenshot was taken"
    );
    if let Ok(keep) = std::env::var("SWITCHYARD_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
    // the visitor's answers are the survey's
    let answered = api
        .get(&format!(
            "survey-responses?survey_id={}&status=completed",
            id(&csat)
        ))
        .await;
    assert_eq!(
        answered["items"][0]["answers"],
        json!({"score": 5, "comment": "Quick and clear"}),
        "{answered:#}"
    );
    assert_eq!(answered["items"][0]["channel"], "web_chat");
    server.stop();
}

/// Runs `tests/browser/<script>` with `args` and a screenshot folder under `dir`; keeps its
/// screenshots in `SWITCHYARD_KEEP_SCREENSHOTS` when set; fails with its output. The folder.
async fn browser_script(script: &str, args: &[&str], dir: &Path) -> std::path::PathBuf {
    browser_script_then(script, args, dir, &[]).await
}

/// [`browser_script`], with `then` after the screenshot folder.
async fn browser_script_then(
    script: &str,
    args: &[&str],
    dir: &Path,
    then: &[&str],
) -> std::path::PathBuf {
    let browser_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    assert!(
        browser_dir.join("node_modules/axe-core").exists()
            && Path::new("/usr/bin/chromium").exists(),
        "the browser tests need Chromium, playwright-core and axe-core: run scripts/browser-setup.sh (the test command does)"
    );
    let shots = dir.join("shots");
    std::fs::create_dir_all(&shots).unwrap();
    let mut command = Command::new("node");
    command
        .arg(browser_dir.join(script))
        .args(args)
        .arg(&shots)
        .args(then);
    let out = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    if let Ok(keep) = std::env::var("SWITCHYARD_KEEP_SCREENSHOTS") {
        for f in std::fs::read_dir(&shots).unwrap().flatten() {
            std::fs::copy(f.path(), Path::new(&keep).join(f.file_name())).unwrap();
        }
    }
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    shots
}

/// The Maker in Chromium (`tests/browser/maker.mjs`): served by the binary at `/`, an
/// administrator and a designer signed in with their passwords.
#[tokio::test(flavor = "multi_thread")]
async fn the_maker_in_chromium() {
    runtime::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(&dir.path().join("data"));
    let api = Api {
        http: admin_client(),
        base: server.base.clone(),
    };
    // the UI is served at / (the test command builds it before the binary)
    let index = reqwest::get(format!("{}/routings/messaging", server.base))
        .await
        .unwrap();
    assert_eq!(
        index.status(),
        200,
        "the binary was built with the UI (scripts/ui-build.sh)"
    );
    assert!(
        index.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );
    let (admin, designer) = (
        ("maker-admin@shop.test", "quartz-lantern-orbit-57"),
        ("maker-designer@shop.test", "velvet-harbor-cinder-83"),
    );
    for ((email, password), role) in [(admin, "administrator"), (designer, "designer")] {
        let (s, a) = api
            .call(
                reqwest::Method::POST,
                "accounts",
                Some(json!({"email": email, "name": role, "password": password, "role": role})),
            )
            .await;
        assert_eq!(s, 201, "{a}");
    }
    // a database whose rows the script edits
    api.post(
        "databases",
        json!({"reference": "PARCELS", "name": "Parcels", "data": {"columns": [
            {"name": "number", "type": "number", "required": true, "unique": true},
            {"name": "status", "type": "list", "proposals": ["Pending", "Shipped"]}
        ]}}),
    )
    .await;
    let shots = browser_script(
        "maker.mjs",
        &[&server.base, admin.0, admin.1, designer.0, designer.1],
        dir.path(),
    )
    .await;
    assert!(
        std::fs::metadata(shots.join("maker-routing.png"))
            .unwrap()
            .len()
            > 1_000
    );
    server.stop();
}

/// A routing of `family` in production that distributes every interaction to Ann; its id.
async fn to_ann(api: &Api, reference: &str, family: &str) -> String {
    let r = api.post("routings", json!({"name": reference, "reference": reference, "kind": "interaction_start", "channel_family": family})).await;
    let v = api
        .post(
            &format!("routings/{}/versions", id(&r)),
            json!({"name": "v1"}),
        )
        .await;
    let vid = id(&v);
    let start = v["tree"]["actions"][0]["id"].as_str().unwrap().to_owned();
    api.post(&format!("versions/{vid}/actions"), json!({"type": "distribute_to_user", "params": {"user": {"by": "reference", "reference": "ann"}}, "after": {"action_id": start, "branch": "ok"}})).await;
    api.post(&format!("versions/{vid}/put-in-production"), json!({}))
        .await;
    id(&r)
}

/// The agent desk in Chromium (`tests/browser/desk.mjs`): an agent signed in with a password
/// handles a web-chat customer, in a second browser, from the offer to a transfer; then an
/// email sent to the binary's SMTP listener, shown as an email and answered.
#[tokio::test(flavor = "multi_thread")]
async fn the_agent_desk_in_chromium() {
    runtime::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let (server, smtp) = Running::start_smtp_with(&dir.path().join("data"), &[]);
    let api = Api {
        http: admin_client(),
        base: server.base.clone(),
    };
    let ann = api
        .post("users", json!({"reference": "ann", "name": "Ann"}))
        .await;
    let (email, password) = ("ann@shop.test", "amber-falcon-river-42");
    let (s, a) = api
        .call(
            reqwest::Method::PATCH,
            &format!("accounts/{}", ann["id"].as_str().unwrap()),
            Some(json!({"email": email, "password": password})),
        )
        .await;
    assert_eq!(s, 200, "{a}");
    // a colleague online to transfer to, the one member of a group (to a group nobody is
    // online in, the distribution refuses a transfer)
    let bob = api
        .post("users", json!({"reference": "bob", "name": "Bob"}))
        .await;
    let (s, _) = agent_call(
        &api,
        bob["token"].as_str().unwrap(),
        reqwest::Method::PUT,
        "agent/presence".into(),
        Some(json!({"presence": "online"})),
    )
    .await;
    assert_eq!(s, 200);
    api.post(
        "groups",
        json!({"reference": "BILLING", "name": "Billing", "data": {"members": [bob["id"]]}}),
    )
    .await;
    let chat = to_ann(&api, "DESK", "messaging").await;
    api.post("entry-points", json!({"reference": "site", "name": "Our site", "channel": "web_chat", "start_routing_id": chat})).await;
    // and a mailbox whose email routing gives Ann its emails
    let mail = to_ann(&api, "MAIL_DESK", "email").await;
    api.post("entry-points", json!({"reference": "support", "name": "Support", "channel": "email", "address": "support@shop.test", "start_routing_id": mail})).await;
    browser_script_then(
        "desk.mjs",
        &[&server.base, "site", email, password],
        dir.path(),
        &[&smtp],
    )
    .await;
    // the conversation Ann transferred to Bob from the desk is offered to him
    let (s, offered) = agent_call(
        &api,
        bob["token"].as_str().unwrap(),
        reqwest::Method::GET,
        "agent/conversations".into(),
        None,
    )
    .await;
    assert_eq!(s, 200, "{offered}");
    let items = offered.as_array().unwrap();
    assert_eq!(items.len(), 1, "{offered:#}");
    assert_eq!(items[0]["state"], "offered", "{offered:#}");
    server.stop();
}

/// A call of the agent API with the agent's token.
async fn agent_call(
    api: &Api,
    token: &str,
    method: reqwest::Method,
    path: String,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = api
        .http
        .request(method, format!("{}/api/v1/{path}", api.base))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json::<Value>().await.unwrap_or(Value::Null))
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next text frame of a WebSocket whose `type` is `kind` (others are skipped).
async fn next_of(ws: &mut Socket, kind: &str) -> Value {
    use futures_util::StreamExt;
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .unwrap_or_else(|_| panic!("no '{kind}' frame in time"))
            .unwrap()
            .unwrap();
        if let tokio_tungstenite::tungstenite::Message::Text(t) = frame {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] == kind {
                return v;
            }
        }
    }
}

async fn ws(base: &str, path: &str) -> Socket {
    let url = format!("{}/api/v1/{path}", base.replacen("http://", "ws://", 1));
    tokio_tungstenite::connect_async(&url).await.unwrap().0
}

async fn say_to(socket: &mut Socket, id: &str, text: &str) {
    use futures_util::SinkExt;
    socket
        .send(tokio_tungstenite::tungstenite::Message::Text(
            json!({"type": "message", "id": id, "text": text})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    let ack = next_of(socket, "ack").await;
    assert_eq!(ack["id"], id, "{ack}");
}

/// A reply to the web chat visitor with this text (other frames are skipped).
async fn reply(socket: &mut Socket, text: &str) {
    loop {
        let m = next_of(socket, "message").await;
        if m["message"]["text"] == text {
            return;
        }
    }
}

#[tokio::test]
async fn a_web_chat_customer_reaches_an_agent_across_a_kill_9() {
    runtime::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Running::start(&data);
    let api = Api {
        http: admin_client(),
        base: server.base.clone(),
    };
    let ann = api
        .post(
            "users",
            json!({"reference": "ann", "name": "Ann", "capacity": 2}),
        )
        .await;
    let token = ann["token"].as_str().unwrap().to_owned();
    api.post("groups", json!({"reference": "SALES", "name": "Sales", "data": {"members": [ann["id"]], "algorithm": "least_chats"}})).await;
    let n = |k: u128| format!("00000000-0000-4000-8000-{k:012}");
    let doc = json!({
        "format": "switchyard.routing", "format_version": 1,
        "routing": {"reference": "DESK", "name": "Desk", "kind": "interaction_start", "channel_family": "messaging"},
        "versions": [{"number": 1, "name": "v1", "status": "production", "tree": {
            "actions": [
                {"id": n(1), "type": "start", "params": {}},
                {"id": n(2), "type": "simple_message", "params": {"message": "Let me find someone for you."}},
                {"id": n(3), "type": "distribute_to_queue", "params": {"target": {"to": "queue", "queue": {"by": "reference", "reference": "SALES"}}}},
                {"id": n(4), "type": "simple_message", "params": {"message": "Thanks for chatting with us."}},
                {"id": n(5), "type": "simple_message", "params": {"message": "Nobody is available right now."}}
            ],
            "links": [
                {"id": n(11), "from": n(1), "branch": "ok", "to": n(2)},
                {"id": n(12), "from": n(2), "branch": "ok", "to": n(3)},
                {"id": n(13), "from": n(3), "branch": "processed", "to": n(4)},
                {"id": n(14), "from": n(3), "branch": "overflow_no_user", "to": n(5)}
            ]
        }}]
    });
    api.post("routings/import", doc).await;
    let rid = api.get("routings?limit=10").await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    api.post("entry-points", json!({"reference": "site", "name": "Our site", "channel": "web_chat", "start_routing_id": rid})).await;
    let agent = |method: reqwest::Method, path: String, body: Option<Value>| {
        agent_call(&api, &token, method, path, body)
    };

    // the agent comes online and listens; a visitor writes: the offer reaches the agent
    let mut feed = ws(&server.base, &format!("agent/ws?token={token}")).await;
    next_of(&mut feed, "conversations").await;
    let (s, _) = agent(
        reqwest::Method::PUT,
        "agent/presence".into(),
        Some(json!({"presence": "online"})),
    )
    .await;
    assert_eq!(s, 200);
    let mut visitor = ws(&server.base, "channels/web-chat/site/ws?visitor=v1").await;
    say_to(&mut visitor, "m1", "hello").await;
    reply(&mut visitor, "Let me find someone for you.").await;
    let offer = next_of(&mut feed, "offer").await;
    let iid = offer["interaction_id"].as_str().unwrap().to_owned();

    // kill -9 with the offer open: after the restart it is still there
    drop(feed);
    drop(visitor);
    server.kill();
    let server = Running::start(&data);
    let api = Api {
        http: admin_client(),
        base: server.base.clone(),
    };
    let agent = |method: reqwest::Method, path: String, body: Option<Value>| {
        agent_call(&api, &token, method, path, body)
    };
    let mut feed = ws(&server.base, &format!("agent/ws?token={token}")).await;
    let current = next_of(&mut feed, "conversations").await;
    assert_eq!(
        current["items"][0]["interaction_id"].as_str(),
        Some(iid.as_str()),
        "{current}"
    );
    assert_eq!(current["items"][0]["state"], "offered");
    let (s, _) = agent(
        reqwest::Method::POST,
        format!("agent/conversations/{iid}/accept"),
        None,
    )
    .await;
    assert_eq!(s, 204);

    // they talk through the web chat; the agent closes; the routing continues on Processed
    let mut visitor = ws(&server.base, "channels/web-chat/site/ws?visitor=v1").await;
    say_to(&mut visitor, "m2", "I would like to buy a boat").await;
    let m = next_of(&mut feed, "message").await;
    assert_eq!(m["text"], "I would like to buy a boat");
    let (s, _) = agent(
        reqwest::Method::POST,
        format!("agent/conversations/{iid}/messages"),
        Some(json!({"text": "Hello, Ann here. Which boat?"})),
    )
    .await;
    assert_eq!(s, 201);
    reply(&mut visitor, "Hello, Ann here. Which boat?").await;
    let (s, _) = agent(
        reqwest::Method::POST,
        format!("agent/conversations/{iid}/close"),
        None,
    )
    .await;
    assert_eq!(s, 204);
    reply(&mut visitor, "Thanks for chatting with us.").await;
    assert_eq!(next_of(&mut feed, "closed").await["handled"], true);
    let i = api.get(&format!("interactions/{iid}")).await;
    assert_eq!(i["status"], "closed");
    assert!(
        i["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"]["type"] == "effect_result"
                && e["event"]["result"]["outcome"] == "processed")
    );

    // the agent goes offline: the next visitor takes Overflow – No user
    let (s, _) = agent(
        reqwest::Method::PUT,
        "agent/presence".into(),
        Some(json!({"presence": "offline"})),
    )
    .await;
    assert_eq!(s, 200);
    let mut other = ws(&server.base, "channels/web-chat/site/ws?visitor=v2").await;
    say_to(&mut other, "n1", "anyone?").await;
    reply(&mut other, "Nobody is available right now.").await;
    server.stop();
}

/// Kills its server when dropped (a failing test leaves none behind).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary without a bootstrap token; returns it and what it printed before listening.
fn start_plain(data: &Path) -> (Killed, String, Vec<String>) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env_remove("SWITCHYARD_ADMIN_TOKEN")
        .env("SWITCHYARD_LOG_LEVEL", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the binary starts");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let child = Killed(child);
    let mut before = Vec::new();
    loop {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "no 'listening' line: {before:?}"
        );
        if let Some(base) = line.trim().strip_prefix("listening on ") {
            return (child, base.to_owned(), before);
        }
        before.push(line.trim().to_owned());
    }
}

#[tokio::test]
async fn the_first_start_prints_an_administrator_token_once() {
    runtime::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let (first, base, printed) = start_plain(dir.path());
    let token = printed
        .iter()
        .find(|l| l.starts_with("syt_"))
        .cloned()
        .unwrap_or_else(|| panic!("no token printed: {printed:?}"));
    let password = printed
        .iter()
        .position(|l| l.contains("admin@localhost"))
        .and_then(|i| printed.get(i + 1))
        .unwrap_or_else(|| panic!("no password printed: {printed:?}"))
        .clone();
    let http = reqwest::Client::new();
    let routings = format!("{base}/api/v1/routings");
    let status = |r: reqwest::Response| r.status().as_u16();
    assert_eq!(status(http.get(&routings).send().await.unwrap()), 401);
    let login = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "admin@localhost", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        login.status().as_u16(),
        200,
        "the printed password signs in"
    );
    assert_eq!(
        status(
            http.get(&routings)
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
        ),
        200
    );
    drop(first);
    // an account made from the command line, its password printed once
    let made = Command::new(BIN)
        .args([
            "admin",
            "create",
            "--email",
            "ops@example.com",
            "--role",
            "viewer",
            "--data-dir",
        ])
        .arg(dir.path())
        .env("SWITCHYARD_LOG_LEVEL", "warn")
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let out = String::from_utf8_lossy(&made.stdout).to_string();
    let ops_password = out.lines().nth(1).unwrap_or_default().trim().to_owned();
    // the second start prints none, and the token still works
    let (second, base, printed) = start_plain(dir.path());
    let ops = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "ops@example.com", "password": ops_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(ops.status().as_u16(), 200, "{out}");
    assert!(
        printed.is_empty(),
        "nothing printed the second time: {printed:?}"
    );
    let routings = format!("{base}/api/v1/routings");
    assert_eq!(
        status(
            http.get(&routings)
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
        ),
        200
    );
    drop(second);
    // a bootstrap token too short to be safe stops the server at once
    let weak = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("SWITCHYARD_ADMIN_TOKEN", "short")
        .output()
        .unwrap();
    assert!(!weak.status.success());
    assert!(
        String::from_utf8_lossy(&weak.stderr).contains("at least 32 characters"),
        "{}",
        String::from_utf8_lossy(&weak.stderr)
    );
}

/// Replies a WhatsApp stand-in got: (Idempotency-Key, to, text).
type Sent = std::sync::Arc<std::sync::Mutex<Vec<(String, String, String)>>>;

/// A stand-in of the Graph API's send endpoint on loopback; its base URL.
async fn start_graph_stand_in() -> (String, Sent) {
    use axum::extract::State;
    let got: Sent = Default::default();
    async fn send(
        State(got): State<Sent>,
        headers: axum::http::HeaderMap,
        body: axum::Json<Value>,
    ) -> axum::Json<Value> {
        let key = headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if body.get("status").is_some() || body.get("sender_action").is_some() {
            // a read receipt or a "seen", not a reply
            return axum::Json(json!({"success": true}));
        }
        // WhatsApp's recipient, or Messenger's
        let to = body["to"]
            .as_str()
            .or(body["recipient"]["id"].as_str())
            .unwrap_or_default()
            .to_owned();
        // a text's body, an interactive message's kind and its choices' titles, or Messenger's
        // text and quick replies
        let text = match body["interactive"]["type"].as_str() {
            Some(kind) => {
                let choices = match kind {
                    "button" => titles(&body["interactive"]["action"]["buttons"], "/reply/title"),
                    _ => titles(
                        &body["interactive"]["action"]["sections"][0]["rows"],
                        "/title",
                    ),
                };
                let prompt = body["interactive"]["body"]["text"]
                    .as_str()
                    .unwrap_or_default();
                format!("{kind}: {prompt} [{choices}]")
            }
            None if body["message"]["quick_replies"].is_array() => format!(
                "quick: {} [{}]",
                body["message"]["text"].as_str().unwrap_or_default(),
                titles(&body["message"]["quick_replies"], "/title")
            ),
            None => body["text"]["body"]
                .as_str()
                .or(body["message"]["text"].as_str())
                .unwrap_or_default()
                .to_owned(),
        };
        let n = {
            let mut g = got.lock().unwrap();
            g.push((key, to, text));
            g.len()
        };
        axum::Json(
            json!({"messaging_product": "whatsapp", "messages": [{"id": format!("wamid.out.{n}")}]}),
        )
    }
    /// A medium's URL (`GET /{media_id}`), then its bytes: a PNG whatever type is claimed.
    async fn media(
        axum::extract::Path(id): axum::extract::Path<String>,
        headers: axum::http::HeaderMap,
    ) -> axum::Json<Value> {
        let host = headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        axum::Json(
            json!({"url": format!("http://{host}/files/{id}"), "mime_type": "image/jpeg", "id": id}),
        )
    }
    async fn file() -> ([(&'static str, &'static str); 1], &'static [u8]) {
        ([("content-type", "application/octet-stream")], PNG)
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/graph", listener.local_addr().unwrap());
    /// The Bot API: `sendMessage` recorded like a reply (an inline keyboard as its labels),
    /// `answerCallbackQuery` as "answered <id>".
    async fn telegram(
        State(got): State<Sent>,
        axum::extract::Path((_bot, method)): axum::extract::Path<(String, String)>,
        headers: axum::http::HeaderMap,
        body: axum::Json<Value>,
    ) -> axum::Json<Value> {
        let key = headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let chat = body["chat_id"]
            .as_i64()
            .map(|c| c.to_string())
            .unwrap_or_default();
        let text = match method.as_str() {
            "answerCallbackQuery" => format!(
                "answered {}",
                body["callback_query_id"].as_str().unwrap_or_default()
            ),
            _ if body["reply_markup"].is_object() => format!(
                "keyboard: {} [{}]",
                body["text"].as_str().unwrap_or_default(),
                titles(&body["reply_markup"]["inline_keyboard"], "/0/text")
            ),
            _ => body["text"].as_str().unwrap_or_default().to_owned(),
        };
        let n = {
            let mut g = got.lock().unwrap();
            g.push((key, chat, text));
            g.len()
        };
        axum::Json(
            json!({"ok": true, "result": {"message_id": n, "chat": {"id": 1, "type": "private"}, "date": 0}}),
        )
    }
    let app = axum::Router::new()
        .route("/tg/{bot}/{method}", axum::routing::post(telegram))
        .route("/graph/{phone}/messages", axum::routing::post(send))
        .route("/graph/{id}", axum::routing::get(media))
        .route("/files/{id}", axum::routing::get(file))
        .with_state(got.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, got)
}

fn titles(list: &Value, pointer: &str) -> String {
    list.as_array()
        .map(|l| {
            l.iter()
                .filter_map(|x| x.pointer(pointer)?.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// A WhatsApp webhook of one text message, signed with the app secret.
fn whatsapp_webhook(
    http: &reqwest::Client,
    url: &str,
    customer: &str,
    id: &str,
) -> reqwest::RequestBuilder {
    whatsapp_event(http, url, customer, id, "text", json!({"body": "hi"}))
}

/// A WhatsApp webhook of one message of `kind`, signed with the app secret.
fn whatsapp_event(
    http: &reqwest::Client,
    url: &str,
    customer: &str,
    id: &str,
    kind: &str,
    content: Value,
) -> reqwest::RequestBuilder {
    let mut message = json!({"from": customer, "id": id, "timestamp": "1744344496", "type": kind});
    message[kind] = content;
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": customer}, "wa_id": customer}],
        "messages": [message]}}]}]});
    let bytes = serde_json::to_vec(&body).unwrap();
    http.post(url)
        .header("content-type", "application/json")
        .header(
            channels::meta::SIGNATURE_HEADER,
            channels::meta::sign(WA_APP_SECRET, &bytes),
        )
        .body(bytes)
}

const WA_APP_SECRET: &str = "e2e-whatsapp-app-secret";

/// A PNG of 1×1 pixel.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_during_a_burst_of_whatsapp_webhooks() {
    runtime::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (graph, sent) = start_graph_stand_in().await;
    let env = [("SWITCHYARD_WHATSAPP_API_BASE", graph.as_str())];
    let server = Running::start_with(&data, &env);
    let api = Api {
        http: admin_client(),
        base: server.base.clone(),
    };
    // Start → "Hello" → pause 2 s → "Goodbye"
    let r = api.post("routings", json!({"name": "WA", "reference": "WA", "kind": "interaction_start", "channel_family": "messaging"})).await;
    let v = api
        .post(
            &format!("routings/{}/versions", id(&r)),
            json!({"name": "v1"}),
        )
        .await;
    let vid = id(&v);
    let start = v["tree"]["actions"][0]["id"].as_str().unwrap().to_owned();
    let hello = api.post(&format!("versions/{vid}/actions"), json!({"type": "simple_message", "params": {"message": "Hello"}, "after": {"action_id": start, "branch": "ok"}})).await["action"]["id"].as_str().unwrap().to_owned();
    let pause = api.post(&format!("versions/{vid}/actions"), json!({"type": "pause", "params": {"seconds": 2}, "after": {"action_id": hello, "branch": "ok"}})).await["action"]["id"].as_str().unwrap().to_owned();
    api.post(&format!("versions/{vid}/actions"), json!({"type": "simple_message", "params": {"message": "Goodbye"}, "after": {"action_id": pause, "branch": "ok"}})).await;
    api.post(&format!("versions/{vid}/put-in-production"), json!({}))
        .await;
    api.post("entry-points", json!({"reference": "wa", "name": "WhatsApp", "channel": "whatsapp", "address": "106540352242922",
        "secrets": {"access_token": "e2e-access-token", "app_secret": WA_APP_SECRET, "verify_token": "e2e-verify-token"},
        "start_routing_id": id(&r)})).await;

    // a burst of 600 customers' webhooks; the server is killed in the middle of it
    let customers: Vec<String> = (0..600).map(|i| format!("3361234{i:04}")).collect();
    let url = format!("{}/webhooks/whatsapp/wa", api.base);
    let acked = std::sync::Arc::new(std::sync::Mutex::new(
        std::collections::HashSet::<String>::new(),
    ));
    let mut tasks = Vec::new();
    // eight at a time, as a provider's deliveries come: the kill lands while they flow
    let lanes = std::sync::Arc::new(tokio::sync::Semaphore::new(8));
    let client = reqwest::Client::new();
    for c in customers.clone() {
        let http = client.clone();
        let (url, acked, lanes) = (url.clone(), acked.clone(), lanes.clone());
        tasks.push(tokio::spawn(async move {
            let _lane = lanes.acquire().await;
            if let Ok(resp) = whatsapp_webhook(&http, &url, &c, &format!("wamid.{c}"))
                .send()
                .await
                && resp.status().is_success()
            {
                acked.lock().unwrap().insert(c);
            }
        }));
    }
    while acked.lock().unwrap().len() < 40 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.kill();
    for t in tasks {
        let _ = t.await;
    }
    let acked_before = acked.lock().unwrap().clone();
    eprintln!(
        "{} of 600 webhooks acknowledged before the kill",
        acked_before.len()
    );
    assert!(
        acked_before.len() >= 40 && acked_before.len() < 600,
        "the kill landed mid-burst"
    );

    // restart; the provider sends every webhook again (acknowledged or not), as Meta does
    let server = Running::start_with(&data, &env);
    let url = format!("{}/webhooks/whatsapp/wa", server.base);
    let http = reqwest::Client::new();
    for c in &customers {
        let resp = whatsapp_webhook(&http, &url, c, &format!("wamid.{c}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let ack: Value = resp.json().await.unwrap();
        if acked_before.contains(c) {
            assert_eq!(
                ack["duplicates"], 1,
                "{c} was acknowledged before the kill: not handled twice"
            );
        }
    }
    // every customer gets Hello then Goodbye through WhatsApp; one reply per key
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = sent.lock().unwrap().clone();
        let mut by_key = std::collections::HashMap::new();
        for (key, to, text) in &got {
            assert!(!key.is_empty(), "every send carries its idempotency key");
            let previous = by_key.insert(key.clone(), (to.clone(), text.clone()));
            assert!(
                previous.is_none_or(|p| p == (to.clone(), text.clone())),
                "one key, one reply"
            );
        }
        let mut per_customer: std::collections::HashMap<&str, Vec<&str>> = Default::default();
        for (to, text) in by_key.values() {
            per_customer
                .entry(to.as_str())
                .or_default()
                .push(text.as_str());
        }
        let complete = customers.iter().all(|c| {
            let mut texts = per_customer.get(c.as_str()).cloned().unwrap_or_default();
            texts.sort();
            texts == ["Goodbye", "Hello"]
        });
        if complete {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not every customer got both replies: {} did",
            per_customer.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_whatsapp_customer_converses_with_the_real_binary() {
    runtime::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let (graph, sent) = start_graph_stand_in().await;
    let server = Running::start_with(
        &dir.path().join("data"),
        &[("SWITCHYARD_WHATSAPP_API_BASE", graph.as_str())],
    );
    let api = Api {
        http: admin_client(),
        base: server.base.clone(),
    };
    // Start → buttons (Sales, Support) → Support: a photo → five days (a list) → day 4
    let r = api.post("routings", json!({"name": "WA", "reference": "WA", "kind": "interaction_start", "channel_family": "messaging"})).await;
    let v = api
        .post(
            &format!("routings/{}/versions", id(&r)),
            json!({"name": "v1"}),
        )
        .await;
    let vid = id(&v);
    let start = v["tree"]["actions"][0]["id"].as_str().unwrap().to_owned();
    let actions = format!("versions/{vid}/actions");
    let add = |params: Value| api.post(&actions, params);
    let menu = add(json!({"type": "message_with_choice", "params": {"message": "Sales or support?", "wait_seconds": 600, "choices": [{"label": "Sales"}, {"label": "Support"}]}, "after": {"action_id": start, "branch": "ok"}})).await["action"]["id"].as_str().unwrap().to_owned();
    let photo = add(json!({"type": "message_awaiting_response", "params": {"wait_seconds": 600, "max_attempts": 2, "error_message": "A photo, please.", "questions": [{"question": "Send a photo", "answer_type": "image", "variable": "claim.photo"}]}, "after": {"action_id": menu, "branch": "link_2"}})).await["action"]["id"].as_str().unwrap().to_owned();
    let days = add(json!({"type": "message_with_choice", "params": {"message": "Got {{ claim.photo.content_type }}. Which day?", "wait_seconds": 600, "choices": (1..=5).map(|d| json!({"label": format!("Day {d}")})).collect::<Vec<_>>()}, "after": {"action_id": photo, "branch": "ok"}})).await["action"]["id"].as_str().unwrap().to_owned();
    add(json!({"type": "simple_message", "params": {"message": "See you on day 4"}, "after": {"action_id": days, "branch": "link_4"}})).await;
    api.post(&format!("versions/{vid}/put-in-production"), json!({}))
        .await;
    api.post("entry-points", json!({"reference": "wa", "name": "WhatsApp", "channel": "whatsapp", "address": "106540352242922",
        "secrets": {"access_token": "e2e-access-token", "app_secret": WA_APP_SECRET, "verify_token": "e2e-verify-token"},
        "start_routing_id": id(&r)})).await;

    let url = format!("{}/webhooks/whatsapp/wa", server.base);
    let http = reqwest::Client::new();
    let wait_for = |n: usize| {
        let sent = sent.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let got: Vec<String> = sent
                    .lock()
                    .unwrap()
                    .iter()
                    .map(|(_, _, t)| t.clone())
                    .collect();
                if got.len() >= n {
                    return got;
                }
                assert!(Instant::now() < deadline, "only {got:?}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    let steps = [
        (
            "w1",
            "text",
            json!({"body": "hello"}),
            "button: Sales or support? [Sales, Support]",
        ),
        (
            "w2",
            "interactive",
            json!({"type": "button_reply", "button_reply": {"id": "2", "title": "Support"}}),
            "Send a photo",
        ),
        (
            "w3",
            "image",
            json!({"id": "1234567890", "mime_type": "image/jpeg", "sha256": "x"}),
            "list: Got image/png. Which day? [Day 1, Day 2, Day 3, Day 4, Day 5]",
        ),
        (
            "w4",
            "interactive",
            json!({"type": "list_reply", "list_reply": {"id": "4", "title": "Day 4"}}),
            "See you on day 4",
        ),
    ];
    let mut expected = Vec::new();
    for (id, kind, content, reply) in steps {
        let resp = whatsapp_event(&http, &url, "33612345678", id, kind, content)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{id}");
        expected.push(reply.to_owned());
        assert_eq!(wait_for(expected.len()).await, expected);
    }
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn telegram_messenger_and_an_agent_with_the_real_binary() {
    runtime::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let (graph, sent) = start_graph_stand_in().await;
    let telegram_base = graph.replace("/graph", "/tg");
    let server = Running::start_with(
        &dir.path().join("data"),
        &[
            ("SWITCHYARD_WHATSAPP_API_BASE", graph.as_str()),
            ("SWITCHYARD_MESSENGER_API_BASE", graph.as_str()),
            ("SWITCHYARD_TELEGRAM_API_BASE", telegram_base.as_str()),
        ],
    );
    let api = Api {
        http: admin_client(),
        base: server.base.clone(),
    };
    // an agent in a queue; Start → Sales or support? → Sales: "Sales here" / Support: the queue
    let ann = api
        .post(
            "users",
            json!({"reference": "ann", "name": "Ann", "auto_accept": true}),
        )
        .await;
    let agent_token = ann["token"].as_str().unwrap().to_owned();
    api.post("groups", json!({"reference": "SUPPORT", "name": "Support", "data": {"members": [ann["id"]], "algorithm": "least_chats"}})).await;
    let r = api.post("routings", json!({"name": "Bots", "reference": "BOTS", "kind": "interaction_start", "channel_family": "messaging"})).await;
    let routing = id(&r);
    let v = api
        .post(
            &format!("routings/{}/versions", id(&r)),
            json!({"name": "v1"}),
        )
        .await;
    let vid = id(&v);
    let start = v["tree"]["actions"][0]["id"].as_str().unwrap().to_owned();
    let actions = format!("versions/{vid}/actions");
    let menu = api.post(&actions, json!({"type": "message_with_choice", "params": {"message": "Sales or support?", "wait_seconds": 600, "choices": [{"label": "Sales"}, {"label": "Support"}]}, "after": {"action_id": start, "branch": "ok"}})).await["action"]["id"].as_str().unwrap().to_owned();
    api.post(&actions, json!({"type": "simple_message", "params": {"message": "Sales here"}, "after": {"action_id": menu, "branch": "link_1"}})).await;
    api.post(&actions, json!({"type": "distribute_to_queue", "params": {"target": {"to": "queue", "queue": {"by": "reference", "reference": "SUPPORT"}}}, "after": {"action_id": menu, "branch": "link_2"}})).await;
    api.post(&format!("versions/{vid}/put-in-production"), json!({}))
        .await;
    api.post("entry-points", json!({"reference": "bot", "name": "Bot", "channel": "telegram", "address": "our_shop_bot",
        "secrets": {"bot_token": "123456:e2e-bot-token", "secret_token": "e2e-telegram-secret"}, "start_routing_id": id(&r)})).await;
    api.post("entry-points", json!({"reference": "page", "name": "Page", "channel": "messenger", "address": "1234567890",
        "secrets": {"page_access_token": "e2e-page-token", "app_secret": "e2e-messenger-secret", "verify_token": "e2e-verify"}, "start_routing_id": id(&r)})).await;
    let http = reqwest::Client::new();
    let texts = |to: &str| -> Vec<String> {
        sent.lock()
            .unwrap()
            .iter()
            .filter(|(_, t, _)| t == to)
            .map(|(_, _, x)| x.clone())
            .collect()
    };
    let wait_for = |to: &'static str, n: usize| {
        let texts = &texts;
        async move {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let got = texts(to);
                if got.len() >= n {
                    return got;
                }
                assert!(Instant::now() < deadline, "{to} got only {got:?}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };

    // Telegram: a message, then the press of "Sales" (answered so the button stops spinning)
    let telegram = |update: Value| {
        http.post(format!("{}/webhooks/telegram/bot", server.base))
            .header("x-telegram-bot-api-secret-token", "e2e-telegram-secret")
            .json(&update)
            .send()
    };
    let r = telegram(json!({"update_id": 1, "message": {"message_id": 1, "from": {"id": 4242, "is_bot": false, "first_name": "Ada"}, "chat": {"id": 4242, "type": "private"}, "date": 0, "text": "hi"}})).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        wait_for("4242", 1).await,
        ["keyboard: Sales or support? [Sales, Support]"]
    );
    let r = telegram(json!({"update_id": 2, "callback_query": {"id": "cbq-1", "from": {"id": 4242, "is_bot": false, "first_name": "Ada"}, "message": {"message_id": 1, "chat": {"id": 4242, "type": "private"}, "date": 0}, "chat_instance": "1", "data": "1"}})).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        sent.lock()
            .unwrap()
            .iter()
            .any(|(_, _, t)| t == "answered cbq-1")
    );
    assert_eq!(wait_for("4242", 2).await[1], "Sales here");

    // Messenger: a message, then the quick reply "Support": the agent gets the conversation
    let messenger = |mid: &str, message: Value| {
        let mut m = message;
        m["mid"] = json!(mid);
        let body = json!({"object": "page", "entry": [{"id": "1234567890", "time": 1, "messaging": [{"sender": {"id": "6789012345"}, "recipient": {"id": "1234567890"}, "timestamp": 1, "message": m}]}]});
        let bytes = serde_json::to_vec(&body).unwrap();
        http.post(format!("{}/webhooks/messenger/page", server.base))
            .header("content-type", "application/json")
            .header(
                channels::meta::SIGNATURE_HEADER,
                channels::meta::sign("e2e-messenger-secret", &bytes),
            )
            .body(bytes)
            .send()
    };
    let presence = http
        .put(format!("{}/api/v1/agent/presence", server.base))
        .bearer_auth(&agent_token)
        .json(&json!({"presence": "online"}))
        .send()
        .await
        .unwrap();
    assert_eq!(presence.status(), 200);
    assert_eq!(
        messenger("m_1", json!({"text": "hi"}))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        wait_for("6789012345", 1).await,
        ["quick: Sales or support? [Sales, Support]"]
    );
    assert_eq!(
        messenger(
            "m_2",
            json!({"text": "Support", "quick_reply": {"payload": "2"}})
        )
        .await
        .unwrap()
        .status(),
        200
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let conversation = loop {
        let list: Value = http
            .get(format!("{}/api/v1/agent/conversations", server.base))
            .bearer_auth(&agent_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(c) = list.as_array().and_then(|l| l.first()).cloned() {
            break c;
        }
        assert!(Instant::now() < deadline, "the agent got nothing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // the agent answers; it goes out through Messenger
    let r = http
        .post(format!(
            "{}/api/v1/agent/conversations/{}/messages",
            server.base,
            id(&conversation)
        ))
        .bearer_auth(&agent_token)
        .json(&json!({"text": "Ann from support here"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(wait_for("6789012345", 2).await[1], "Ann from support here");

    // WhatsApp: "Support" pressed, the same agent answers through WhatsApp
    api.post("entry-points", json!({"reference": "wa", "name": "WhatsApp", "channel": "whatsapp", "address": "106540352242922",
        "secrets": {"access_token": "e2e-access-token", "app_secret": WA_APP_SECRET, "verify_token": "e2e-verify-token"}, "start_routing_id": routing})).await;
    let url = format!("{}/webhooks/whatsapp/wa", server.base);
    let wa = "33611112222";
    assert_eq!(
        whatsapp_event(&http, &url, wa, "x1", "text", json!({"body": "hello"}))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        wait_for(wa, 1).await,
        ["button: Sales or support? [Sales, Support]"]
    );
    let press = json!({"type": "button_reply", "button_reply": {"id": "2", "title": "Support"}});
    assert_eq!(
        whatsapp_event(&http, &url, wa, "x2", "interactive", press)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let second = loop {
        let list: Value = http
            .get(format!("{}/api/v1/agent/conversations", server.base))
            .bearer_auth(&agent_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(c) = list
            .as_array()
            .and_then(|l| l.iter().find(|c| c["customer"] == wa))
            .cloned()
        {
            break c;
        }
        assert!(
            Instant::now() < deadline,
            "the agent did not get the WhatsApp customer: {list}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let r = http
        .post(format!(
            "{}/api/v1/agent/conversations/{}/messages",
            server.base,
            id(&second)
        ))
        .bearer_auth(&agent_token)
        .json(&json!({"text": "Ann here on WhatsApp"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(wait_for(wa, 2).await[1], "Ann here on WhatsApp");
    server.stop();
}

/// Sends one email to the listener at `smtp` (`host:port`).
async fn mail(smtp: &str, from: &str, raw: &str) -> Result<(), String> {
    mail_to(smtp, from, "support@shop.test", raw).await
}

async fn mail_to(smtp: &str, from: &str, to: &str, raw: &str) -> Result<(), String> {
    use lettre::AsyncTransport;
    let (host, port) = smtp.rsplit_once(':').unwrap();
    let transport = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous(host)
        .port(port.parse().unwrap())
        .timeout(Some(Duration::from_secs(10)))
        .build();
    let envelope =
        lettre::address::Envelope::new(Some(from.parse().unwrap()), vec![to.parse().unwrap()])
            .unwrap();
    // lettre's timeout bounds the connection, not the wait for an answer: a connection the
    // killed server had accepted into its backlog could wait forever. A mail server gives up
    // and tries again later; so does this one.
    match tokio::time::timeout(
        Duration::from_secs(15),
        transport.send_raw(&envelope, raw.as_bytes()),
    )
    .await
    {
        Ok(sent) => sent.map(|_| ()).map_err(|e| e.to_string()),
        Err(_) => Err("no answer within 15 s".into()),
    }
}

fn email_of(n: usize) -> (String, String) {
    let from = format!("customer{n}@example.com");
    let raw = format!(
        "From: {from}\r\nTo: support@shop.test\r\nSubject: Order {n}\r\nMessage-ID: <burst-{n}@example.com>\r\nX-Priority: 1\r\n\r\nWhere is order {n}?\r\n"
    );
    (from, raw)
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_during_a_burst_of_smtp_deliveries_handles_each_accepted_email_once() {
    runtime::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (server, smtp) = Running::start_smtp(&data);
    let api = Api {
        http: admin_client(),
        base: server.base.clone(),
    };
    // an email routing: Start → Test an email priority (High → a checkpoint-free variable)
    let r = api.post("routings", json!({"name": "Mail", "reference": "MAIL", "kind": "interaction_start", "channel_family": "email"})).await;
    let v = api
        .post(
            &format!("routings/{}/versions", id(&r)),
            json!({"name": "v1"}),
        )
        .await;
    let vid = id(&v);
    let start = v["tree"]["actions"][0]["id"].as_str().unwrap().to_owned();
    let test = api.post(&format!("versions/{vid}/actions"), json!({"type": "test_email_priority", "params": {}, "after": {"action_id": start, "branch": "ok"}})).await["action"]["id"].as_str().unwrap().to_owned();
    api.post(&format!("versions/{vid}/actions"), json!({"type": "assign_variables", "params": {"assignments": [{"variable": "seen", "value": "{{ email.subject }}"}]}, "after": {"action_id": test, "branch": "high"}})).await;
    api.post(&format!("versions/{vid}/put-in-production"), json!({}))
        .await;
    api.post("entry-points", json!({"reference": "support", "name": "Support", "channel": "email", "address": "support@shop.test", "start_routing_id": id(&r)})).await;

    // 300 emails, eight connections at a time; the server is killed in the middle
    const N: usize = 300;
    let acked = std::sync::Arc::new(std::sync::Mutex::new(
        std::collections::HashSet::<usize>::new(),
    ));
    let lanes = std::sync::Arc::new(tokio::sync::Semaphore::new(8));
    let mut tasks = Vec::new();
    for n in 0..N {
        let (smtp, acked, lanes) = (smtp.clone(), acked.clone(), lanes.clone());
        tasks.push(tokio::spawn(async move {
            let _lane = lanes.acquire().await;
            let (from, raw) = email_of(n);
            if mail(&smtp, &from, &raw).await.is_ok() {
                acked.lock().unwrap().insert(n);
            }
        }));
    }
    while acked.lock().unwrap().len() < 40 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.kill();
    for t in tasks {
        let _ = t.await;
    }
    let acked_before = acked.lock().unwrap().clone();
    eprintln!(
        "{} of {N} emails answered 250 before the kill",
        acked_before.len()
    );
    assert!(
        acked_before.len() >= 40 && acked_before.len() < N,
        "the kill landed mid-burst"
    );

    // restart; every sender tries again (as mail servers do when they got no 250)
    let (server, smtp) = Running::start_smtp(&data);
    let api = Api {
        http: admin_client(),
        base: server.base.clone(),
    };
    for n in 0..N {
        let (from, raw) = email_of(n);
        mail(&smtp, &from, &raw).await.unwrap();
    }
    // each email is one interaction, handled once: its routing ran to its end
    let mut seen = std::collections::HashMap::<String, usize>::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("interactions?limit=200&after={a}"),
            None => "interactions?limit=200".to_owned(),
        };
        let page = api.get(&path).await;
        for i in page["items"].as_array().unwrap() {
            *seen
                .entry(i["customer"].as_str().unwrap().to_owned())
                .or_default() += 1;
            assert_eq!(i["status"], "closed", "{i}");
        }
        match page["next_after"].as_str() {
            Some(a) => after = Some(a.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), N, "every email has its interaction");
    assert!(seen.values().all(|&k| k == 1), "no email was handled twice");
    server.stop();
}

/// The relay's stand-in: a real SMTP server recording what it is given.
#[derive(Clone, Default)]
struct RelayPeer(std::sync::Arc<std::sync::Mutex<Vec<channels::smtp::Delivery>>>);

#[async_trait::async_trait]
impl channels::smtp::MailSink for RelayPeer {
    async fn accepts(&self, _recipient: &str) -> bool {
        true
    }
    async fn deliver(&self, d: channels::smtp::Delivery) -> Result<(), channels::smtp::Refusal> {
        self.0.lock().unwrap().push(d);
        Ok(())
    }
}

impl RelayPeer {
    async fn wait(&self, n: usize) -> Vec<channels::email::Parsed> {
        for _ in 0..400 {
            let got: Vec<_> = self
                .0
                .lock()
                .unwrap()
                .iter()
                .map(|d| {
                    channels::email::parse(&d.data, channels::email::Envelope::default(), &|_| {
                        false
                    })
                    .unwrap()
                })
                .collect();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the relay got fewer than {n} messages");
    }
}

/// Where the customer's emails come in.
enum Inbox {
    /// The binary's SMTP listener (`host:port`).
    Smtp(String),
    /// A Dovecot mailbox the binary reads over IMAP with TLS.
    Imap(mail::Dovecot),
}

impl Inbox {
    async fn put(&self, from: &str, raw: &str) {
        match self {
            Inbox::Smtp(smtp) => mail(smtp, from, raw).await.unwrap(),
            Inbox::Imap(dovecot) => dovecot.deliver(raw).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_email_is_triaged_acknowledged_and_answered_by_an_agent_with_the_real_binary() {
    triaged_acknowledged_and_answered(false).await;
}

/// The same with the mailbox read over IMAP with TLS from a real Dovecot and the relay spoken
/// to over STARTTLS, both certificates signed by a private authority (`mail_ca_file`).
#[tokio::test(flavor = "multi_thread")]
async fn an_email_read_over_imap_is_triaged_acknowledged_and_answered_with_the_real_binary() {
    triaged_acknowledged_and_answered(true).await;
}

async fn triaged_acknowledged_and_answered(imap: bool) {
    runtime::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ca, cert, key) = mail::certificates(dir.path());
    let peer = RelayPeer::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (relay, tls) = if imap {
        let tls = channels::smtp::tls_from_pem(&cert, &key).unwrap();
        (
            format!("smtp://localhost:{port}"),
            Some(std::sync::Arc::new(tls)),
        )
    } else {
        (format!("smtp://127.0.0.1:{port}?tls=none"), None)
    };
    let (_keep, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(channels::smtp::serve(
        listener,
        std::sync::Arc::new(channels::smtp::SmtpConfig {
            hostname: "localhost".into(),
            tls,
            ..Default::default()
        }),
        std::sync::Arc::new(peer.clone()),
        stopped,
    ));
    let ca = ca.display().to_string();
    let (server, smtp) = Running::start_smtp_with(
        &data,
        &[
            ("SWITCHYARD_SMTP_RELAY", relay.as_str()),
            ("SWITCHYARD_MAIL_CA_FILE", ca.as_str()),
        ],
    );
    let inbox = if imap {
        Inbox::Imap(mail::Dovecot::start_tls(&cert, &key))
    } else {
        Inbox::Smtp(smtp)
    };
    let api = Api {
        http: admin_client(),
        base: server.base.clone(),
    };
    let ann = api
        .post("users", json!({"reference": "ann", "name": "Ann"}))
        .await;
    let token = ann["token"].as_str().unwrap().to_owned();
    api.post("email-templates", json!({"reference": "ACK", "name": "Acknowledgement", "data": {"subject": "Bien reçu : {{ subject }}", "text": "Bonjour, nous avons bien reçu votre message.", "variables": ["subject"]}})).await;
    // Start → priority → (High) keywords → (Link 1) language → (Link 1) acknowledgement → Ann
    let r = api.post("routings", json!({"name": "Mail", "reference": "MAIL", "kind": "interaction_start", "channel_family": "email"})).await;
    let v = api
        .post(
            &format!("routings/{}/versions", id(&r)),
            json!({"name": "v1"}),
        )
        .await;
    let vid = id(&v);
    let mut after = (
        v["tree"]["actions"][0]["id"].as_str().unwrap().to_owned(),
        "ok",
    );
    for (ty, params, branch) in [
        ("test_email_priority", json!({}), "high"),
        (
            "detect_keywords",
            json!({"search_in": "subject_and_body", "groups": [{"keywords": ["facture"]}]}),
            "link_1",
        ),
        (
            "detect_language",
            json!({"languages": ["fr"], "store_in": "lang"}),
            "link_1",
        ),
        (
            "send_email",
            json!({"template": {"by": "reference", "reference": "ACK"}, "template_variables": [{"field": "subject", "value": "{{ email.subject }}"}], "send": {"type": "basic", "mailbox": {"by": "reference", "reference": "support"}}, "to": ["{{ email.from }}"]}),
            "ok",
        ),
        (
            "distribute_to_user",
            json!({"user": {"by": "reference", "reference": "ann"}}),
            "ok",
        ),
    ] {
        let added = api.post(&format!("versions/{vid}/actions"), json!({"type": ty, "params": params, "after": {"action_id": after.0, "branch": after.1}})).await;
        after = (added["action"]["id"].as_str().unwrap().to_owned(), branch);
    }
    let mut mailbox = json!({"reference": "support", "name": "Support", "channel": "email", "address": "support@shop.test", "start_routing_id": id(&r)});
    if let Inbox::Imap(dovecot) = &inbox {
        // TLS is the default: the name is checked against Dovecot's certificate (localhost)
        mailbox["secrets"] = json!({"imap_host": "localhost", "imap_port": dovecot.tls_port.unwrap().to_string(), "imap_username": mail::USER, "imap_password": mail::PASSWORD});
    }
    api.post("entry-points", mailbox).await;
    let (s, p) = api
        .call(
            reqwest::Method::POST,
            &format!("versions/{vid}/put-in-production"),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    let (s, _) = agent_call(
        &api,
        &token,
        reqwest::Method::PUT,
        "agent/presence".into(),
        Some(json!({"presence": "online"})),
    )
    .await;
    assert_eq!(s, 200);

    let first = "From: Amélie <amelie@example.com>\r\nTo: support@shop.test\r\nSubject: Facture incorrecte\r\nMessage-ID: <e2e-1@example.com>\r\nX-Priority: 1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBonjour, la facture de ma commande est incorrecte, le montant ne correspond pas. Merci de la corriger rapidement.\r\n";
    inbox.put("amelie@example.com", first).await;
    // the acknowledgement went out through the relay
    let sent = peer.wait(1).await;
    assert_eq!(sent[0].email().subject, "Bien reçu : Facture incorrecte");
    assert_eq!(
        sent[0].received.message.email.as_ref().unwrap().to,
        vec!["amelie@example.com".to_owned()]
    );
    // Ann is offered it, accepts and answers
    let mut conversation = None;
    for _ in 0..200 {
        let (_, list) = agent_call(
            &api,
            &token,
            reqwest::Method::GET,
            "agent/conversations".into(),
            None,
        )
        .await;
        if let Some(c) = list.as_array().and_then(|l| l.first()) {
            conversation = Some(c["id"].as_str().unwrap().to_owned());
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let iid = conversation.expect("Ann got the email");
    let (s, _) = agent_call(
        &api,
        &token,
        reqwest::Method::POST,
        format!("agent/conversations/{iid}/accept"),
        None,
    )
    .await;
    assert!((200..300).contains(&s));
    let (s, _) = agent_call(
        &api,
        &token,
        reqwest::Method::POST,
        format!("agent/conversations/{iid}/messages"),
        Some(json!({"text": "Bonjour, c'est corrigé."})),
    )
    .await;
    assert_eq!(s, 201);
    let sent = peer.wait(2).await;
    let answer = sent[1].email();
    assert_eq!(answer.in_reply_to.as_deref(), Some("e2e-1@example.com"));
    assert!(
        answer.subject.starts_with("Re: Facture incorrecte [#"),
        "{}",
        answer.subject
    );
    assert!(answer.text.starts_with("Bonjour, c'est corrigé."));
    // the customer's reply to it joins the interaction
    let reply = format!(
        "From: amelie@example.com\r\nTo: support@shop.test\r\nSubject: {}\r\nMessage-ID: <e2e-2@example.com>\r\nIn-Reply-To: <{}>\r\n\r\nMerci !\r\n",
        answer.subject.replace("Re: ", "RE: Re: "),
        answer.message_id
    );
    inbox.put("amelie@example.com", &reply).await;
    // through SMTP it is committed before the 250; through IMAP once the reader has it
    let mut d = Value::Null;
    for _ in 0..400 {
        d = api.get(&format!("interactions/{iid}")).await;
        if d["system"]["email"]["message_id"] == "e2e-2@example.com" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(
        d["system"]["email"]["message_id"], "e2e-2@example.com",
        "{d:#}"
    );
    assert_eq!(d["variables"]["lang"], "fr");
    let list = api.get("interactions?limit=10").await;
    assert_eq!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["mode"] == "live")
            .count(),
        1
    );
    server.stop();
}

/// The shop's web service for the crash test: records each call (method and path); the first
/// call to each path never answers (the server is killed while it waits), later ones do.
async fn start_shop_service() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let calls: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let seen = calls.clone();
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let seen = seen.clone();
        async move {
            let call = format!("{} {}", req.method(), req.uri().path());
            let first = {
                let mut s = seen.lock().unwrap();
                let first = !s.contains(&call);
                s.push(call);
                first
            };
            if first {
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
            axum::Json(json!({"status": "shipped"}))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, calls)
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_in_the_middle_of_web_service_calls_repeats_only_the_idempotent_one() {
    runtime::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (shop, calls) = start_shop_service().await;
    let (callback_url, _) = start_callback_server().await;
    let server = Running::start(&data);
    let api = Api {
        http: admin_client(),
        base: server.base.clone(),
    };
    // two routings, each calling the shop first: one with a POST, one with a GET
    for (reference, method, url) in [
        ("posting", "POST", format!("{shop}/orders")),
        ("getting", "GET", format!("{shop}/orders/42")),
    ] {
        api.post("web-services", json!({"reference": reference, "name": reference, "data": {"method": method, "url": url, "timeout_ms": 10000, "outputs": [{"name": "status", "pointer": "/status"}]}})).await;
        let r = api.post("routings", json!({"name": reference, "reference": reference, "kind": "interaction_start", "channel_family": "messaging"})).await;
        let v = api
            .post(
                &format!("routings/{}/versions", id(&r)),
                json!({"name": "v1"}),
            )
            .await;
        let vid = id(&v);
        let start = v["tree"]["actions"][0]["id"].as_str().unwrap().to_owned();
        let call = api.post(&format!("versions/{vid}/actions"), json!({"type": "web_service", "params": {"service": {"by": "reference", "reference": reference}, "outputs": [{"field": "status", "variable": "order.status"}]}, "after": {"action_id": start, "branch": "ok"}})).await["action"]["id"].as_str().unwrap().to_owned();
        api.post(&format!("versions/{vid}/actions"), json!({"type": "simple_message", "params": {"message": "Status: {{ order.status }}"}, "after": {"action_id": call, "branch": "ok"}})).await;
        api.post(&format!("versions/{vid}/actions"), json!({"type": "simple_message", "params": {"message": "Sorry: {{ system.error }}"}, "after": {"action_id": call, "branch": "not_ok"}})).await;
        api.post(&format!("versions/{vid}/put-in-production"), json!({}))
            .await;
        api.post("entry-points", json!({"reference": reference, "name": reference, "channel": "http", "secret": CHANNEL_SECRET, "start_routing_id": id(&r), "callback_url": callback_url})).await;
    }
    // a message to each; both calls reach the shop, which does not answer; kill -9
    for reference in ["posting", "getting"] {
        let http = api.http.clone();
        let url = format!("{}/api/v1/channels/http/{reference}/messages", api.base);
        tokio::spawn(async move {
            let _ = signed(
                http.post(&url),
                &json!({"message_id": "m1", "from": "ann", "text": "where is my order?"}),
            )
            .send()
            .await;
        });
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while calls.lock().unwrap().len() < 2 {
        assert!(Instant::now() < deadline, "the calls reached the shop");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill();

    // restarted, the channel sends the unacknowledged messages again, as channels do: the GET
    // is made again and answers; the POST is not made twice and the routing says why
    let server = Running::start(&data);
    let api = Api {
        http: admin_client(),
        base: server.base.clone(),
    };
    let again = |reference: &'static str| {
        let api = &api;
        async move {
            api.post(
                &format!("channels/http/{reference}/messages"),
                json!({"message_id": "m1", "from": "ann", "text": "where is my order?"}),
            )
            .await
        }
    };
    let got = again("getting").await;
    assert_eq!(got["replies"][0]["text"], "Status: shipped", "{got}");
    let posted = again("posting").await;
    let text = posted["replies"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        text.starts_with("Sorry: the server stopped while this POST was being made"),
        "{posted}"
    );
    let calls = calls.lock().unwrap().clone();
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.as_str() == "POST /orders")
            .count(),
        1,
        "the POST was made once: {calls:?}"
    );
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.as_str() == "GET /orders/42")
            .count(),
        2,
        "the GET was made again: {calls:?}"
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_number_is_looked_up_in_a_database_then_a_web_service_with_the_real_binary() {
    runtime::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    // the carrier's tracking service: an estimated arrival per parcel
    let asked: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let seen = asked.clone();
    let carrier = axum::Router::new().route(
        "/tracking/{parcel}",
        axum::routing::get(
            move |axum::extract::Path(parcel): axum::extract::Path<String>| {
                let seen = seen.clone();
                async move {
                    seen.lock().unwrap().push(parcel.clone());
                    axum::Json(json!({"parcel": parcel, "eta": {"date": "2026-06-03"}}))
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let carrier_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, carrier).await.unwrap() });
    let (callback_url, _) = start_callback_server().await;
    let server = Running::start(&dir.path().join("data"));
    let api = Api {
        http: admin_client(),
        base: server.base.clone(),
    };

    // the orders, imported as CSV
    let db = api
        .post(
            "databases",
            json!({"reference": "ORDERS", "name": "Orders", "data": {"columns": [
                {"name": "number", "type": "number", "required": true, "unique": true},
                {"name": "customer", "type": "text"},
                {"name": "parcel", "type": "text"}
            ]}}),
        )
        .await;
    let report: Value = api
        .http
        .post(format!(
            "{}/api/v1/databases/{}/rows/import",
            api.base,
            id(&db)
        ))
        .header("content-type", "text/csv")
        .body("number,customer,parcel\n42,Ann,PARCEL-42\n43,Bob,PARCEL-43\n")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["inserted"], 2, "{report}");
    api.post("web-services", json!({"reference": "TRACKING", "name": "Tracking", "data": {"method": "GET", "url": format!("{carrier_url}/tracking/{{{{ parcel }}}}"), "inputs": ["parcel"], "outputs": [{"name": "eta", "pointer": "/eta/date"}]}})).await;

    // ask → look up → call → answer, built as the Maker builds it
    let r = api.post("routings", json!({"name": "Orders", "reference": "ORDERS", "kind": "interaction_start", "channel_family": "messaging"})).await;
    let v = api
        .post(
            &format!("routings/{}/versions", id(&r)),
            json!({"name": "v1"}),
        )
        .await;
    let vid = id(&v);
    let start = v["tree"]["actions"][0]["id"].as_str().unwrap().to_owned();
    let add = |ty: &'static str, params: Value, after: String, branch: &'static str| {
        let api = &api;
        let path = format!("versions/{vid}/actions");
        async move {
            api.post(&path, json!({"type": ty, "params": params, "after": {"action_id": after, "branch": branch}})).await["action"]["id"].as_str().unwrap().to_owned()
        }
    };
    let ask = add("message_awaiting_response", json!({"wait_seconds": 600, "max_attempts": 3, "error_message": "A number, please.", "questions": [{"question": "Your order number?", "answer_type": "number", "variable": "order.number"}]}), start, "ok").await;
    let find = add("fill_variables_from_database", json!({"database": {"by": "reference", "reference": "ORDERS"}, "assertions": [{"field": "number", "value": "{{ order.number }}"}], "outputs": [{"field": "customer", "variable": "order.customer"}, {"field": "parcel", "variable": "order.parcel"}]}), ask, "ok").await;
    let call = add("web_service", json!({"service": {"by": "reference", "reference": "TRACKING"}, "inputs": [{"field": "parcel", "value": "{{ order.parcel }}"}], "outputs": [{"field": "eta", "variable": "order.eta"}]}), find.clone(), "ok").await;
    add("simple_message", json!({"message": "{{ order.customer }}, order {{ order.number }} arrives on {{ order.eta }}."}), call.clone(), "ok").await;
    add(
        "simple_message",
        json!({"message": "The carrier does not answer: {{ system.error }}"}),
        call,
        "not_ok",
    )
    .await;
    add(
        "simple_message",
        json!({"message": "No order {{ order.number }}."}),
        find,
        "not_found",
    )
    .await;
    let version = api.get(&format!("versions/{vid}")).await;
    assert_eq!(
        version["diagnostics"]["errors"], 0,
        "{}",
        version["diagnostics"]
    );
    api.post(&format!("versions/{vid}/put-in-production"), json!({}))
        .await;
    api.post("entry-points", json!({"reference": "shop", "name": "Shop", "channel": "http", "secret": CHANNEL_SECRET, "start_routing_id": id(&r), "callback_url": callback_url})).await;

    let say = |id: &'static str, from: &'static str, text: &'static str| {
        let api = &api;
        async move {
            let r = api
                .post(
                    "channels/http/shop/messages",
                    json!({"message_id": id, "from": from, "text": text}),
                )
                .await;
            r["replies"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["text"].as_str().unwrap_or_default().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(say("a1", "ann", "hello").await, ["Your order number?"]);
    assert_eq!(
        say("a2", "ann", "42").await,
        ["Ann, order 42 arrives on 2026-06-03."]
    );
    assert_eq!(say("b1", "carl", "hi").await, ["Your order number?"]);
    assert_eq!(say("b2", "carl", "99").await, ["No order 99."]);
    assert_eq!(*asked.lock().unwrap(), ["PARCEL-42"]);
    server.stop();
}

#[tokio::test]
async fn a_web_chat_customer_pays_their_invoice_and_their_case_is_found_again_with_the_real_binary()
{
    runtime::install_crypto();
    let provider = stripe::Provider::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(&dir.path().join("data"));
    let api = Api {
        http: admin_client(),
        base: server.base.clone(),
    };
    api.post("case-types", json!({"reference": "BILLING", "name": "Billing", "data": {"statuses": [{"name": "New"}, {"name": "In progress"}, {"name": "Resolved", "closed": true}]}})).await;
    api.post("payment-modules", json!({"reference": "PAY", "name": "Payments", "secret": stripe::API_KEY, "webhook_secret": stripe::WEBHOOK_SECRET, "data": {
        "base_url": provider.root, "success_url": "https://shop.example/paid", "cancel_url": "https://shop.example/cancelled"
    }})).await;
    api.post(
        "invoices",
        json!({"number": "F-1", "name": "November", "amount": "49.90", "currency": "EUR"}),
    )
    .await;
    let n = |k: u128| format!("00000000-0000-4000-8000-{k:012}");
    let text = "{{ last_message.text }}";
    let lookup = json!({"identify_by": "invoice_number", "value": text, "pick": "oldest"});
    let say = |k: u128, message: &str| json!({"id": n(k), "type": "simple_message", "params": {"message": message}});
    let doc = json!({
        "format": "switchyard.routing", "format_version": 1,
        "routing": {"reference": "BILLS", "name": "Bills", "kind": "interaction_start", "channel_family": "messaging"},
        "versions": [{"number": 1, "name": "v1", "status": "production", "tree": {
            "actions": [
                {"id": n(1), "type": "start", "params": {}},
                {"id": n(2), "type": "associate_case", "params": {}},
                {"id": n(3), "type": "modify_case", "params": {"fields": [{"field": "status", "value": "In progress"}]}},
                {"id": n(4), "type": "create_case", "params": {"title": format!("Invoice {text}"), "case_type": {"by": "reference", "reference": "BILLING"}}},
                say(5, "Case {{ case.reference }}: {{ case.status }}."),
                {"id": n(6), "type": "search_invoice", "params": {"lookup": lookup}},
                say(7, "Invoice {{ bill.number }}: {{ bill.amount }} {{ bill.currency }}."),
                {"id": n(8), "type": "pay_invoice", "params": {"payment": {"type": "invoice", "lookup": lookup}, "module": {"by": "reference", "reference": "PAY"}, "mode": "smart_routing"}},
                say(9, "Thank you, {{ bill.number }} is paid."),
                say(10, "Payment: {{ system.error }}"),
                say(11, "No invoice {{ last_message.text }}.")
            ],
            "links": [
                {"id": n(21), "from": n(1), "branch": "ok", "to": n(2)},
                {"id": n(22), "from": n(2), "branch": "ok", "to": n(3)},
                {"id": n(23), "from": n(2), "branch": "not_found", "to": n(4)},
                {"id": n(24), "from": n(3), "branch": "ok", "to": n(5)},
                {"id": n(25), "from": n(4), "branch": "ok", "to": n(5)},
                {"id": n(26), "from": n(5), "branch": "ok", "to": n(6)},
                {"id": n(27), "from": n(6), "branch": "ok", "to": n(7)},
                {"id": n(28), "from": n(6), "branch": "not_found", "to": n(11)},
                {"id": n(29), "from": n(7), "branch": "ok", "to": n(8)},
                {"id": n(30), "from": n(8), "branch": "payment_successful", "to": n(9)},
                {"id": n(31), "from": n(8), "branch": "failed_payment", "to": n(10)},
                {"id": n(32), "from": n(8), "branch": "payment_error", "to": n(10)},
                {"id": n(33), "from": n(8), "branch": "invoice_not_found", "to": n(10)}
            ]
        }}]
    });
    let imported = api.post("routings/import", doc).await;
    // a version in production compiles without errors: every action of it runs
    assert!(
        !imported["report"]
            .to_string()
            .contains("action_unavailable"),
        "{}",
        imported["report"]
    );
    api.post("entry-points", json!({"reference": "shop", "name": "Our shop", "channel": "web_chat", "start_routing_id": imported["routing"]["id"]})).await;

    // a first visit: a case opened, the invoice found, its link in the conversation
    let mut visitor = ws(&server.base, "channels/web-chat/shop/ws?visitor=ana").await;
    say_to(&mut visitor, "m1", "F-1").await;
    reply(&mut visitor, "Case CS-000001: New.").await;
    reply(&mut visitor, "Invoice F-1: 49.90 EUR.").await;
    let link = format!("{}/pay/cs_test_1", provider.root);
    reply(
        &mut visitor,
        &format!("To pay November (49.90 EUR), follow this link: {link}"),
    )
    .await;

    // the provider's signed webhook: the routing goes on at Payment successful
    let (payment, session) = provider.session(1);
    let body = stripe::event(
        "evt_e2e_1",
        "checkout.session.completed",
        &payment,
        &session,
        json!({"payment_status": "paid"}),
    );
    let t = jiff::Timestamp::now().as_second();
    let r = reqwest::Client::new()
        .post(format!("{}/webhooks/payments/PAY", server.base))
        .header("content-type", "application/json")
        .header(
            "stripe-signature",
            channels::payment::sign(stripe::WEBHOOK_SECRET, t, &body),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    reply(&mut visitor, "Thank you, F-1 is paid.").await;
    let paid = api.get("invoices?status=paid").await;
    assert_eq!(paid["items"][0]["number"], "F-1", "{paid}");
    drop(visitor);

    // she comes back: her open case is found and changed; the invoice is paid already
    let mut visitor = ws(&server.base, "channels/web-chat/shop/ws?visitor=ana").await;
    say_to(&mut visitor, "m2", "F-1").await;
    reply(&mut visitor, "Case CS-000001: In progress.").await;
    reply(&mut visitor, "Invoice F-1: 49.90 EUR.").await;
    reply(&mut visitor, "Payment: no open invoice matches").await;
    let cases = api.get("cases").await;
    assert_eq!(cases["items"].as_array().unwrap().len(), 1, "{cases}");
    assert_eq!(cases["items"][0]["status"], "In progress");
    let links = api
        .get(&format!(
            "cases/{}/interactions",
            cases["items"][0]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(links.as_array().unwrap().len(), 2, "{links}");
    server.stop();
}
