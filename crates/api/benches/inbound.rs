//! Durable inbound messages through the HTTP channel and through signed WhatsApp webhooks:
//! `cargo bench -p api --bench inbound`. A server on loopback (SQLite, synchronous=FULL),
//! 10 000 conversations per channel, many concurrent clients; each conversation sends a first
//! message (its interaction starts and waits at a question) and then its answer. Prints messages per second and the latency from request to
//! committed acknowledgement. Tune with INBOUND_CONVERSATIONS and INBOUND_CLIENTS;
//! INBOUND_KEEP=DIR keeps the database (as DIR/switchyard.db, a data directory for `serve`) to
//! measure a restart with that many waiting conversations (`scripts/bench-restart.sh`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use runtime::SystemClock;
use serde_json::json;
use store::SqliteStore;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// A message of conversation `c` at `step`: its body and its signature header.
type Message = fn(usize, usize) -> (Vec<u8>, &'static str, String);

/// An HTTP-channel message, signed with the entry point's secret.
fn http_message(c: usize, step: usize) -> (Vec<u8>, &'static str, String) {
    let text = if step == 1 { "hello" } else { "2" };
    let bytes = serde_json::to_vec(&json!({"message_id": format!("c{c}-{step}"), "from": format!("customer-{c}"), "text": text})).unwrap();
    let signature = channels::http::sign(CHANNEL_SECRET, &bytes);
    (bytes, channels::http::SIGNATURE_HEADER, signature)
}

/// A WhatsApp webhook of one message (the answer a reply button's), signed with the app secret.
fn whatsapp_message(c: usize, step: usize) -> (Vec<u8>, &'static str, String) {
    let wa_id = format!("336{c:08}");
    let message = if step == 1 {
        json!({"from": wa_id, "id": format!("wamid.{c}.{step}"), "timestamp": "1744344496", "type": "text", "text": {"body": "hello"}})
    } else {
        json!({"from": wa_id, "id": format!("wamid.{c}.{step}"), "timestamp": "1744344496", "type": "interactive", "interactive": {"type": "button_reply", "button_reply": {"id": "2", "title": "Support"}}})
    };
    let bytes = serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Bench"}, "wa_id": wa_id}],
        "messages": [message]}}]}]})).unwrap();
    let signature = channels::meta::sign(APP_SECRET, &bytes);
    (bytes, channels::meta::SIGNATURE_HEADER, signature)
}

async fn round(
    http: &reqwest::Client,
    url: &str,
    message: Message,
    conversations: usize,
    clients: usize,
    step: usize,
) -> (Duration, Vec<Duration>) {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, url, next) = (http.clone(), url.to_owned(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let c = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if c >= conversations {
                    return latencies;
                }
                let t = Instant::now();
                let (bytes, header, signature) = message(c, step);
                let resp = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .header(header, signature)
                    .body(bytes)
                    .send()
                    .await
                    .expect("request");
                assert!(resp.status().is_success(), "{}", resp.status());
                latencies.push(t.elapsed());
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    (started.elapsed(), all)
}

fn main() {
    let conversations = env("INBOUND_CONVERSATIONS", 10_000);
    let clients = env("INBOUND_CLIENTS", 256);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        runtime::install_crypto();
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("bench.db");
        let store = SqliteStore::open(&db).await.unwrap();
        let settings = runtime::ServiceSettings {
            // the (unused) callback is on loopback: allowed explicitly
            // the providers are a closed loopback port: WhatsApp read receipts fail at once, off
            // the measured path (they are sent in the background)
            conversations: runtime::conversations::Settings {
                outbound: runtime::outbound::OutboundPolicy::allowing_loopback(),
                providers: channels::ProviderBases { whatsapp: "http://127.0.0.1:9".into(), telegram: "http://127.0.0.1:9".into(), messenger: "http://127.0.0.1:9".into() },
                ..Default::default()
            },
            ..runtime::ServiceSettings::default()
        };
        let services = runtime::Services::start(store.clone(), Arc::new(SystemClock), settings).await.unwrap();
        let maker = services.maker.clone();
        let doc = json!({
            "format": "switchyard.routing", "format_version": 1,
            "routing": {"reference": "BENCH", "name": "Bench", "kind": "interaction_start", "channel_family": "messaging"},
            "versions": [{"number": 1, "name": "v1", "status": "production", "tree": {
                "actions": [
                    {"id": "00000000-0000-0000-0000-000000000001", "type": "start", "params": {}},
                    {"id": "00000000-0000-0000-0000-000000000002", "type": "message_with_choice", "params": {"message": "Sales or support?", "wait_seconds": 10800, "choices": [{"label": "Sales"}, {"label": "Support"}]}},
                    {"id": "00000000-0000-0000-0000-000000000003", "type": "message_awaiting_response", "params": {"wait_seconds": 10800, "max_attempts": 3, "error_message": "?", "questions": [{"question": "Your email?", "answer_type": "email", "variable": "c.email"}]}}
                ],
                "links": [
                    {"id": "00000000-0000-0000-0000-000000000011", "from": "00000000-0000-0000-0000-000000000001", "branch": "ok", "to": "00000000-0000-0000-0000-000000000002"},
                    {"id": "00000000-0000-0000-0000-000000000012", "from": "00000000-0000-0000-0000-000000000002", "branch": "link_2", "to": "00000000-0000-0000-0000-000000000003"}
                ]
            }}]
        });
        let routing = maker.import(flow::document::from_value(doc).unwrap()).await.unwrap().routing.id;
        let conversations_service = services.conversations.clone();
        let fields = runtime::entry_points::EntryPointFields {
            reference: Some("bench".into()),
            name: Some("Bench".into()),
            channel: Some(flow::entry_point::Channel::Http),
            start_routing_id: Some(Some(routing)),
            callback_url: Some(Some("http://127.0.0.1:9/unused".into())),
            secret: Some(CHANNEL_SECRET.into()),
            ..Default::default()
        };
        conversations_service.create_entry_point(fields).await.unwrap();
        // a WhatsApp number on the same routing (its replies wait in the outbox: no loop sends)
        let secrets = vec![("access_token", "bench-access-token".to_owned()), ("app_secret", APP_SECRET.to_owned()), ("verify_token", "bench-verify-token".to_owned())];
        let whatsapp = runtime::entry_points::EntryPointFields {
            reference: Some("wa".into()),
            name: Some("WhatsApp".into()),
            channel: Some(flow::entry_point::Channel::WhatsApp),
            start_routing_id: Some(Some(routing)),
            address: Some("106540352242922".into()),
            secrets: Some(secrets),
            ..Default::default()
        };
        conversations_service.create_entry_point(whatsapp).await.unwrap();
        let app = api::app(maker, conversations_service, services.access, bench_limits());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let root = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let http = reqwest::Client::builder().pool_max_idle_per_host(clients).build().unwrap();

        println!("{conversations} conversations per channel, {clients} concurrent clients, SQLite synchronous=FULL, group commit");
        let channels: [(&str, String, Message); 2] = [
            ("HTTP channel", format!("{root}/api/v1/channels/http/bench/messages"), http_message),
            ("WhatsApp webhooks (X-Hub-Signature-256)", format!("{root}/webhooks/whatsapp/wa"), whatsapp_message),
        ];
        for (channel, url, message) in channels {
            for (step, what) in [(1, "first messages (start, run to a question, wait)"), (2, "answers (resume, ask the next question, wait)")] {
                let (elapsed, mut lat) = round(&http, &url, message, conversations, clients, step).await;
                lat.sort();
                println!(
                    "{channel}, {what}: {:.0} messages/s; latency p50 {:.1?}, p99 {:.1?}, max {:.1?}",
                    conversations as f64 / elapsed.as_secs_f64(),
                    percentile(&lat, 0.50),
                    percentile(&lat, 0.99),
                    lat[lat.len() - 1]
                );
            }
        }
        let bytes: u64 = std::fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum();
        if let Ok(keep) = std::env::var("INBOUND_KEEP") {
            store.close().await;
            std::fs::create_dir_all(&keep).unwrap();
            for suffix in ["", "-wal", "-shm"] {
                let from = dir.path().join(format!("bench.db{suffix}"));
                if from.exists() {
                    std::fs::copy(&from, std::path::Path::new(&keep).join(format!("switchyard.db{suffix}"))).unwrap();
                }
            }
        }
        println!("storage: {:.1} KiB per waiting conversation (database and WAL, events and outbox included)", bytes as f64 / 1024.0 / (2 * conversations) as f64);
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

/// The HTTP entry point's signing secret (each message is signed: part of what is measured).
const CHANNEL_SECRET: &str = "bench-channel-secret-0123456789abcdef-01";

/// The WhatsApp entry point's app secret (each webhook is signed: part of what is measured).
const APP_SECRET: &str = "bench-whatsapp-app-secret";
