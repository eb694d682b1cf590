//! The test server of the API's tests: the real services on a SQLite file and a manual clock,
//! served over loopback, with a bootstrap administrator token its clients authenticate with
//! (nothing is switched off for tests).

// each test file uses its own part of it
#![allow(dead_code)]

use std::sync::Arc;

pub mod mail;
pub mod salesforce;
pub mod stripe;

use runtime::ManualClock;
use store::SqliteStore;
use tokio::sync::watch;

/// The administrator token the test servers start with (`SWITCHYARD_ADMIN_TOKEN`).
pub const ADMIN: &str = "test-administrator-token-0123456789abcdef";

/// The signing secret the tests give their HTTP entry points.
pub const CHANNEL_SECRET: &str = "test-channel-secret-0123456789abcdef-0123";

/// A message to an HTTP entry point, signed with [`CHANNEL_SECRET`] as the channel requires.
pub fn signed(req: reqwest::RequestBuilder, body: &serde_json::Value) -> reqwest::RequestBuilder {
    let bytes = serde_json::to_vec(body).unwrap();
    req.header("content-type", "application/json")
        .header(
            channels::http::SIGNATURE_HEADER,
            channels::http::sign(CHANNEL_SECRET, &bytes),
        )
        .body(bytes)
}

/// A client calling as the administrator (a request's own `Authorization` replaces it).
pub fn admin_client() -> reqwest::Client {
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

/// The tests' limits: the defaults, with the public rate limits above what one test sends from
/// its one address (`tests/public.rs` tests them low).
pub fn limits() -> api::HttpLimits {
    api::HttpLimits {
        public_per_address: api::Rate::per_second(100_000),
        public_per_entry_point: api::Rate::per_second(100_000),
        ..api::HttpLimits::default()
    }
}

/// Small limits, so that the tests reach them: 64 KiB bodies, 10 s requests.
pub fn small_limits() -> api::HttpLimits {
    api::HttpLimits {
        max_body_bytes: 64 * 1024,
        request_timeout: std::time::Duration::from_secs(10),
        ..limits()
    }
}

/// A running test server.
pub struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub root: String,
    /// The public surface's own listener (`public_listen`).
    pub public_root: String,
    pub clock: Arc<ManualClock>,
    pub store: SqliteStore,
    pub conversations: Arc<runtime::Conversations>,
    /// The key its secrets are sealed with (a restart opens them with it).
    secrets: runtime::secrets::SecretBox,
    _dir: tempfile::TempDir,
    _stop: watch::Sender<bool>,
}

/// Starts a server at 2026-06-01T08:00:00Z (Europe/Paris) with these settings (its bootstrap
/// token is [`ADMIN`]) and its background loops.
pub async fn start(settings: runtime::ServiceSettings, limits: api::HttpLimits) -> TestServer {
    let settings = runtime::ServiceSettings {
        // the callback servers of the tests listen on loopback: allowed explicitly
        conversations: runtime::conversations::Settings {
            outbound: runtime::outbound::OutboundPolicy::allowing_loopback(),
            ..settings.conversations
        },
        ..settings
    };
    start_as_configured(settings, limits).await
}

/// Starts a server with exactly these settings (the outbound policy included).
pub async fn start_as_configured(
    settings: runtime::ServiceSettings,
    limits: api::HttpLimits,
) -> TestServer {
    runtime::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("switchyard.db"))
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new("2026-06-01T08:00:00Z".parse().unwrap()));
    let secrets = settings.conversations.secrets.clone();
    let services = runtime::Services::start(
        store.clone(),
        clock.clone(),
        runtime::ServiceSettings {
            time_zone: jiff::tz::TimeZone::get("Europe/Paris").unwrap(),
            admin_token: Some(ADMIN.into()),
            ..settings
        },
    )
    .await
    .unwrap();
    let (stop, stopped) = watch::channel(false);
    // the loops run on the manual clock when the tests move it
    let _background = services.spawn_background(stopped);
    let conversations = services.conversations.clone();
    let (app, public_app) = api::apps(
        services.maker,
        services.conversations,
        services.access,
        limits,
    );
    let root = serve(app).await;
    let public_root = serve(public_app).await;
    TestServer {
        root,
        public_root,
        clock,
        store,
        conversations,
        secrets,
        _dir: dir,
        _stop: stop,
    }
}

impl TestServer {
    /// A second server on the same data and key (as after a restart), without background
    /// loops; its root.
    pub async fn restarted(&self) -> String {
        let services = runtime::Services::start(
            self.store.clone(),
            self.clock.clone(),
            runtime::ServiceSettings {
                time_zone: jiff::tz::TimeZone::get("Europe/Paris").unwrap(),
                admin_token: Some(ADMIN.into()),
                conversations: runtime::conversations::Settings {
                    secrets: self.secrets.clone(),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let (app, _) = api::apps(
            services.maker,
            services.conversations,
            services.access,
            limits(),
        );
        serve(app).await
    }
}

async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap()
    });
    root
}

/// Checks that everything an interaction's system variables hold is a field `GET
/// /system-variables` lists (the Maker's picker offers no less than the engine fills); arrays
/// and the customer's own fields are leaves.
pub async fn assert_system_variables_listed(root: &str, system: &serde_json::Value) {
    let listed: serde_json::Value = admin_client()
        .get(format!("{root}/api/v1/system-variables"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    fn leaves(prefix: &str, v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) if prefix != "customer.fields" => {
                for (k, v) in m {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    leaves(&path, v, out);
                }
            }
            _ => out.push(prefix.to_owned()),
        }
    }
    let mut found = Vec::new();
    leaves("", system, &mut found);
    assert!(found.len() > 3, "{system:#}");
    for path in found {
        assert!(
            paths.contains(&path.as_str()),
            "the system variable {path} is not listed by GET /system-variables"
        );
    }
}

/// A call as the administrator: the status and the JSON body (`null` when none).
pub async fn call(
    base: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut req = admin_client().request(method, format!("{base}/{path}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

/// What an HTTP entry point's callback received: `(customer, text)` in the order it came.
pub type Delivered = Arc<std::sync::Mutex<Vec<(String, String)>>>;

/// A callback receiver of the HTTP channel: its URL and what it receives.
pub async fn callbacks() -> (String, Delivered) {
    let got: Delivered = Arc::default();
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/cb",
        axum::routing::post(move |axum::Json(v): axum::Json<serde_json::Value>| {
            let sink = sink.clone();
            async move {
                let to = v["customer"].as_str().unwrap_or_default().to_owned();
                let text = v["message"]["text"].as_str().unwrap_or_default().to_owned();
                sink.lock().unwrap().push((to, text));
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cb", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

/// One action of a [`chain`]: its type, its parameters, its branches, and the branch that goes
/// on to the next action (none: the chain ends there).
pub type Link<'a> = (&'a str, serde_json::Value, &'a [&'a str], Option<&'a str>);

/// A routing document with one production version: the Start, then `actions` in a chain, each
/// other branch a message `"<type> <branch>: <said>"` (`said` a template).
pub fn chain(reference: &str, actions: &[Link<'_>], said: &str) -> serde_json::Value {
    let id = |n: usize| uuid::Uuid::from_u128(n as u128 + 1).to_string();
    let mut nodes = vec![serde_json::json!({"id": id(0), "type": "start", "params": {}})];
    let mut links =
        vec![serde_json::json!({"id": id(5_000), "from": id(0), "branch": "ok", "to": id(1)})];
    let mut n = 100;
    for (k, (ty, params, branches, next)) in actions.iter().enumerate() {
        nodes.push(serde_json::json!({"id": id(1 + k), "type": ty, "params": params}));
        for branch in branches.iter() {
            n += 1;
            if Some(*branch) == *next {
                links.push(serde_json::json!({"id": id(5_000 + n), "from": id(1 + k), "branch": branch, "to": id(2 + k)}));
            } else {
                nodes.push(serde_json::json!({"id": id(n), "type": "simple_message", "params": {"message": format!("{ty} {branch}: {said}")}}));
                links.push(serde_json::json!({"id": id(5_000 + n), "from": id(1 + k), "branch": branch, "to": id(n)}));
            }
        }
    }
    serde_json::json!({
        "format": "switchyard.routing", "format_version": 1,
        "routing": {"reference": reference, "name": reference, "kind": "interaction_start", "channel_family": "messaging"},
        "versions": [{"number": 1, "name": "v1", "status": "production", "tree": {"actions": nodes, "links": links}}]
    })
}

/// Imports a routing document and binds an HTTP entry point `reference` to its routing, its
/// replies going to `callback_url`.
pub async fn http_entry_point(
    base: &str,
    reference: &str,
    doc: serde_json::Value,
    callback_url: &str,
) {
    let (s, imported) = call(base, reqwest::Method::POST, "routings/import", Some(doc)).await;
    assert_eq!(s, 201, "{imported}");
    let (s, ep) = call(base, reqwest::Method::POST, "entry-points", Some(serde_json::json!({"reference": reference, "name": reference, "channel": "http", "secret": CHANNEL_SECRET, "start_routing_id": imported["routing"]["id"], "callback_url": callback_url}))).await;
    assert_eq!(s, 201, "{ep}");
}

/// The diagnostics of the first version of the routing `reference`, as JSON text.
pub async fn diagnostics(base: &str, reference: &str) -> String {
    let (_, routings) = call(base, reqwest::Method::GET, "routings?limit=200", None).await;
    let routing = routings["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["reference"] == reference)
        .unwrap_or_else(|| panic!("no routing {reference}"));
    let path = format!("routings/{}/versions", routing["id"].as_str().unwrap());
    let (_, versions) = call(base, reqwest::Method::GET, &path, None).await;
    let path = format!("versions/{}", versions[0]["id"].as_str().unwrap());
    let (_, version) = call(base, reqwest::Method::GET, &path, None).await;
    version["diagnostics"].to_string()
}

/// Customers talking to HTTP entry points whose callbacks go to one receiver.
pub struct Talk {
    pub base: String,
    pub got: Delivered,
    sent: u64,
}

impl Talk {
    pub fn new(base: &str, got: &Delivered) -> Talk {
        Talk {
            base: base.to_owned(),
            got: got.clone(),
            sent: 0,
        }
    }

    /// Sends `text` from `customer` to entry point `ep` and returns what the routing answers
    /// them (every message of the turn, joined by ` | `).
    pub async fn say(&mut self, ep: &str, customer: &str, text: &str) -> String {
        self.sent += 1;
        let before = self.got.lock().unwrap().len();
        let body = serde_json::json!({"message_id": format!("m{}", self.sent), "from": customer, "text": text});
        let r = signed(
            admin_client().post(format!("{}/channels/http/{ep}/messages", self.base)),
            &body,
        )
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        self.answer(customer, before)
            .await
            .unwrap_or_else(|| panic!("no answer to {text:?} on {ep}"))
    }

    /// What `customer` was sent after the first `before` deliveries, once something came (none
    /// within 5 s).
    pub async fn answer(&self, customer: &str, before: usize) -> Option<String> {
        for _ in 0..500 {
            let answer = {
                let all = self.got.lock().unwrap();
                (all.len() > before).then(|| {
                    all[before..]
                        .iter()
                        .filter(|(c, _)| c == customer)
                        .map(|(_, t)| t.trim().to_owned())
                        .collect::<Vec<_>>()
                        .join(" | ")
                })
            };
            if let Some(answer) = answer.filter(|a| !a.is_empty()) {
                return Some(answer);
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        None
    }
}

/// The relay's stand-in: a real SMTP server on loopback recording every message it takes and
/// refusing (550) any recipient whose address starts with `refuse`.
#[derive(Clone, Default)]
pub struct Relay {
    pub got: Arc<std::sync::Mutex<Vec<channels::smtp::Delivery>>>,
}

#[async_trait::async_trait]
impl channels::smtp::MailSink for Relay {
    async fn accepts(&self, recipient: &str) -> bool {
        !recipient.starts_with("refuse")
    }
    async fn deliver(&self, d: channels::smtp::Delivery) -> Result<(), channels::smtp::Refusal> {
        self.got.lock().unwrap().push(d);
        Ok(())
    }
}

impl Relay {
    pub async fn start(stop: tokio::sync::watch::Receiver<bool>) -> (Relay, u16) {
        let peer = Relay::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let config = Arc::new(channels::smtp::SmtpConfig {
            hostname: "relay.test".into(),
            ..Default::default()
        });
        tokio::spawn(channels::smtp::serve(
            listener,
            config,
            Arc::new(peer.clone()),
            stop,
        ));
        (peer, port)
    }

    /// Waits for `n` messages; each as (recipients, raw text).
    pub async fn wait(&self, n: usize) -> Vec<(Vec<String>, String)> {
        for _ in 0..400 {
            let got: Vec<_> = self
                .got
                .lock()
                .unwrap()
                .iter()
                .map(|d| {
                    (
                        d.recipients.clone(),
                        String::from_utf8_lossy(&d.data).into_owned(),
                    )
                })
                .collect();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!(
            "the relay got {} messages, not {n}",
            self.got.lock().unwrap().len()
        );
    }
}
