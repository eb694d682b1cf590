//! The test server of the API's tests: the real services on a SQLite file and a manual clock,
//! served over loopback, with a bootstrap administrator token its clients authenticate with
//! (nothing is switched off for tests).

// each test file uses its own part of it
#![allow(dead_code)]

use std::sync::Arc;

pub mod mail;

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
        _dir: dir,
        _stop: stop,
    }
}

impl TestServer {
    /// A second server on the same data (as after a restart), without background loops; its
    /// root.
    pub async fn restarted(&self) -> String {
        let services = runtime::Services::start(
            self.store.clone(),
            self.clock.clone(),
            runtime::ServiceSettings {
                time_zone: jiff::tz::TimeZone::get("Europe/Paris").unwrap(),
                admin_token: Some(ADMIN.into()),
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
