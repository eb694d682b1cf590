//! Conversations handed to agents end to end: `cargo bench -p api --bench agents`.
//! A server on loopback (SQLite, synchronous=FULL); 50 agents (capacity 5, auto-accept) on
//! their live feed close each conversation the moment the feed says `assigned`; 2 000 customers
//! arrive on the HTTP channel, 64 at a time, each routed by *Distribution to queue*. Prints
//! conversations per second from the first message to the last acknowledged close, and checks
//! that every conversation reached *Processed*. Tune with AGENTS_CUSTOMERS, AGENTS_AGENTS and
//! AGENTS_CLIENTS.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use runtime::SystemClock;
use serde_json::{Value, json};
use store::SqliteStore;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The HTTP entry point's signing secret.
const CHANNEL_SECRET: &str = "bench-channel-secret-0123456789abcdef-01";

async fn post(http: &reqwest::Client, url: String, body: Value) -> Value {
    let bytes = serde_json::to_vec(&body).unwrap();
    // messages to the HTTP channel are signed (the signature is part of what is measured)
    let signature = channels::http::sign(CHANNEL_SECRET, &bytes);
    let resp = http
        .post(url)
        .header("content-type", "application/json")
        .header(channels::http::SIGNATURE_HEADER, signature)
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    resp.json().await.unwrap()
}

/// The administrator token the test server is started with (`SWITCHYARD_ADMIN_TOKEN`).
const ADMIN: &str = "test-administrator-token-0123456789abcdef";

fn main() {
    let customers = env("AGENTS_CUSTOMERS", 2_000);
    let agents = env("AGENTS_AGENTS", 50);
    let clients = env("AGENTS_CLIENTS", 64);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        runtime::install_crypto();
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("bench.db")).await.unwrap();
        let settings = runtime::ServiceSettings {
            admin_token: Some(ADMIN.into()),
            // the callback server listens on loopback: allowed explicitly
            conversations: runtime::conversations::Settings { outbound: runtime::outbound::OutboundPolicy::allowing_loopback(), ..Default::default() },
            ..runtime::ServiceSettings::default()
        };
        let services = runtime::Services::start(store, Arc::new(SystemClock), settings)
            .await
            .unwrap();
        let (_stop, stopped) = tokio::sync::watch::channel(false);
        let _background = services.spawn_background(stopped);
        // replies go to a callback that accepts everything
        let cb = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let callback_url = format!("http://{}/cb", cb.local_addr().unwrap());
        let cb_app = axum::Router::new().route("/cb", axum::routing::post(|| async { "ok" }));
        tokio::spawn(async move { axum::serve(cb, cb_app).await.unwrap() });
        let app = api::app(services.maker, services.conversations, services.access, bench_limits());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/api/v1", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let mut admin = reqwest::header::HeaderMap::new();
        admin.insert(reqwest::header::AUTHORIZATION, format!("Bearer {ADMIN}").parse().unwrap());
        let http = reqwest::Client::builder().default_headers(admin).pool_max_idle_per_host(clients + agents).build().unwrap();

        let mut users = Vec::new();
        for k in 0..agents {
            let u = post(&http, format!("{base}/users"), json!({"reference": format!("agent{k}"), "name": format!("Agent {k}"), "capacity": 5, "auto_accept": true})).await;
            users.push((u["id"].as_str().unwrap().to_owned(), u["token"].as_str().unwrap().to_owned()));
        }
        let members: Vec<&str> = users.iter().map(|u| u.0.as_str()).collect();
        post(&http, format!("{base}/groups"), json!({"reference": "ALL", "name": "All", "data": {"members": members, "algorithm": "least_chats"}})).await;
        let id = |n: u128| uuid::Uuid::from_u128(n).to_string();
        let doc = json!({
            "format": "switchyard.routing", "format_version": 1,
            "routing": {"reference": "AGENTS", "name": "Agents", "kind": "interaction_start", "channel_family": "messaging"},
            "versions": [{"number": 1, "name": "v1", "status": "production", "tree": {
                "actions": [
                    {"id": id(1), "type": "start", "params": {}},
                    {"id": id(2), "type": "distribute_to_queue", "params": {"target": {"to": "queue", "queue": {"by": "reference", "reference": "ALL"}}}},
                    {"id": id(3), "type": "simple_message", "params": {"message": "handled"}}
                ],
                "links": [
                    {"id": id(11), "from": id(1), "branch": "ok", "to": id(2)},
                    {"id": id(12), "from": id(2), "branch": "processed", "to": id(3)}
                ]
            }}]
        });
        let imported = post(&http, format!("{base}/routings/import"), doc).await;
        let rid = imported["routing"]["id"].as_str().unwrap().to_owned();
        post(&http, format!("{base}/entry-points"), json!({"reference": "agents", "name": "Agents", "channel": "http", "secret": CHANNEL_SECRET, "start_routing_id": rid, "callback_url": callback_url})).await;

        let closed = Arc::new(AtomicUsize::new(0));
        for (_, token) in &users {
            let ws = format!("{}/agent/ws?token={token}", base.replacen("http://", "ws://", 1));
            let (mut feed, _) = tokio_tungstenite::connect_async(&ws).await.unwrap();
            let resp = http.put(format!("{base}/agent/presence")).bearer_auth(token).json(&json!({"presence": "online"})).send().await.unwrap();
            assert!(resp.status().is_success());
            let (http, base, token, closed) = (http.clone(), base.clone(), token.clone(), closed.clone());
            tokio::spawn(async move {
                while let Some(Ok(frame)) = feed.next().await {
                    let tokio_tungstenite::tungstenite::Message::Text(t) = frame else { continue };
                    let e: Value = serde_json::from_str(&t).unwrap();
                    if e["type"] != "assigned" {
                        continue;
                    }
                    let iid = e["interaction_id"].as_str().unwrap();
                    let resp = http.post(format!("{base}/agent/conversations/{iid}/close")).bearer_auth(&token).send().await.unwrap();
                    assert_eq!(resp.status().as_u16(), 204);
                    closed.fetch_add(1, Ordering::Relaxed);
                }
            });
        }

        println!("{customers} customers, {agents} agents (capacity 5, auto-accept), {clients} concurrent senders, SQLite synchronous=FULL");
        let started = Instant::now();
        let next = Arc::new(AtomicUsize::new(0));
        let senders: Vec<_> = (0..clients)
            .map(|_| {
                let (http, base, next) = (http.clone(), base.clone(), next.clone());
                tokio::spawn(async move {
                    loop {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        if n >= customers {
                            return;
                        }
                        post(&http, format!("{base}/channels/http/agents/messages"), json!({"message_id": format!("m{n}"), "from": format!("customer{n}"), "text": "hello"})).await;
                    }
                })
            })
            .collect();
        for s in senders {
            s.await.unwrap();
        }
        let arrived = started.elapsed();
        while closed.load(Ordering::Relaxed) < customers {
            assert!(started.elapsed() < Duration::from_secs(600), "{} of {customers} closed", closed.load(Ordering::Relaxed));
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let elapsed = started.elapsed();
        let waiting: Value = http.get(format!("{base}/interactions?status=waiting&limit=10")).send().await.unwrap().json().await.unwrap();
        let left = waiting["items"].as_array().map_or(0, Vec::len);
        let processed = {
            let mut n = 0;
            let mut after: Option<String> = None;
            loop {
                let url = match &after {
                    Some(a) => format!("{base}/interactions?status=closed&limit=200&after={a}"),
                    None => format!("{base}/interactions?status=closed&limit=200"),
                };
                let page: Value = http.get(url).send().await.unwrap().json().await.unwrap();
                n += page["items"].as_array().unwrap().len();
                match page["next_after"].as_str() {
                    Some(a) => after = Some(a.to_owned()),
                    None => break n,
                }
            }
        };
        println!(
            "{:.0} conversations/s handed to agents and closed (all {customers} arrived in {:.1?}, all closed in {:.1?}); {processed} closed, {left} left waiting",
            customers as f64 / elapsed.as_secs_f64(),
            arrived,
            elapsed
        );
        assert_eq!(left, 0, "conversations left waiting");
    });
}

/// The load comes from one address to one entry point: the public rate limits are set above it.
fn bench_limits() -> api::HttpLimits {
    api::HttpLimits {
        public_per_address: api::Rate::per_second(1_000_000),
        public_per_entry_point: api::Rate::per_second(1_000_000),
        ..api::HttpLimits::default()
    }
}
