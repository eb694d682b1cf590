//! Lookups in a custom database of DATABASE_ROWS rows (default 1 000 000, the most a database
//! holds): `cargo bench -p api --bench database`. The rows are imported as CSV through the
//! runtime (the import path of `POST /databases/{id}/rows/import`), then DATABASE_LOOKUPS
//! lookups (default 20 000) from DATABASE_CLIENTS HTTP clients at once (default 16) of
//! (1) `GET /databases/{id}/rows?filter=number:N` (the unique column's index) and
//! (2) `…?filter=customer:…` (an indexed text column), and (3) messages to an HTTP entry
//! point whose routing runs *Fill in the variables from a database* on the number, answers
//! and ends — each answered once its turn is committed. Prints rows/s of the import and each
//! lookup's p50/p99; the lookups start once the import's pages are written out (`sync`), and
//! the unique-column round runs twice (the second with the caches warm).

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

/// The administrator's token (the rows API needs `databases:read`).
const ADMIN: &str = "bench-admin-token-0123456789abcdef-0123456789";

/// The HTTP entry point's signing secret.
const CHANNEL_SECRET: &str = "bench-channel-secret-0123456789abcdef-01";

/// A number drawn from the rows, the same for a given `n` (a multiplicative hash).
fn pick(n: usize, rows: usize) -> usize {
    (n.wrapping_mul(2_654_435_761) % rows) + 1
}

type Request = Arc<dyn Fn(&reqwest::Client, usize) -> reqwest::RequestBuilder + Send + Sync>;

async fn round(
    http: &reqwest::Client,
    lookups: usize,
    clients: usize,
    request: Request,
) -> (Duration, Vec<Duration>) {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, next, request) = (http.clone(), next.clone(), request.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= lookups {
                    return lat;
                }
                let t = Instant::now();
                let resp = request(&http, n).send().await.expect("request");
                assert!(resp.status().is_success(), "{}", resp.status());
                let body = resp.bytes().await.unwrap();
                assert!(!body.is_empty());
                lat.push(t.elapsed());
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    (started.elapsed(), all)
}

fn main() {
    let rows = env("DATABASE_ROWS", 1_000_000);
    let lookups = env("DATABASE_LOOKUPS", 20_000);
    let clients = env("DATABASE_CLIENTS", 16);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        runtime::install_crypto();
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("bench.db")).await.unwrap();
        let settings = runtime::ServiceSettings {
            conversations: runtime::conversations::Settings {
                outbound: runtime::outbound::OutboundPolicy::allowing_loopback(),
                ..Default::default()
            },
            admin_token: Some(ADMIN.into()),
            ..runtime::ServiceSettings::default()
        };
        let services = runtime::Services::start(store.clone(), Arc::new(SystemClock), settings).await.unwrap();
        let columns = json!({"columns": [
            {"name": "number", "type": "number", "required": true, "unique": true},
            {"name": "customer", "type": "text", "indexed": true},
            {"name": "status", "type": "list", "proposals": ["Pending", "Shipped", "Delivered"]},
            {"name": "placed_on", "type": "date"}
        ]});
        let db = services.maker.create_object(flow::catalogue::ObjectKind::Database, runtime::objects::ObjectFields {
            reference: Some("ORDERS".into()),
            name: Some("Orders".into()),
            data: Some(columns),
            ..Default::default()
        }).await.unwrap().id;

        let started = Instant::now();
        let mut import = services.conversations.database_import(db).await.unwrap();
        import.feed(b"number,customer,status,placed_on\n").await.unwrap();
        let statuses = ["Pending", "Shipped", "Delivered"];
        let mut chunk = String::new();
        for n in 1..=rows {
            chunk.push_str(&format!("{n},Customer {n},{},2026-{:02}-{:02}\n", statuses[n % 3], n % 12 + 1, n % 28 + 1));
            if chunk.len() > 64 * 1024 {
                import.feed(chunk.as_bytes()).await.unwrap();
                chunk.clear();
            }
        }
        import.feed(chunk.as_bytes()).await.unwrap();
        let report = import.finish().await.unwrap();
        assert_eq!((report.inserted, report.refused), (rows as u64, 0));
        let elapsed = started.elapsed();
        println!("import of {rows} rows: {:.1?}, {:.0} rows/s", elapsed, rows as f64 / elapsed.as_secs_f64());
        // the lookups measure a database at rest: the import's pages written out by the system
        // first (else its write-back competes with them)
        let flushing = Instant::now();
        let _ = std::process::Command::new("sync").status();
        println!("written out (sync) in {:.1?}", flushing.elapsed());

        let id = |n: u128| uuid::Uuid::from_u128(n).to_string();
        let doc = json!({
            "format": "switchyard.routing", "format_version": 1,
            "routing": {"reference": "LOOKUP", "name": "Lookup", "kind": "interaction_start", "channel_family": "messaging"},
            "versions": [{"number": 1, "name": "v1", "status": "production", "tree": {
                "actions": [
                    {"id": id(1), "type": "start", "params": {}},
                    {"id": id(2), "type": "fill_variables_from_database", "params": {"database": {"by": "reference", "reference": "ORDERS"}, "assertions": [{"field": "number", "value": "{{ last_message.text }}"}], "outputs": [{"field": "status", "variable": "order.status"}]}},
                    {"id": id(3), "type": "simple_message", "params": {"message": "Order {{ last_message.text }}: {{ order.status }}"}}
                ],
                "links": [
                    {"id": id(11), "from": id(1), "branch": "ok", "to": id(2)},
                    {"id": id(12), "from": id(2), "branch": "ok", "to": id(3)}
                ]
            }}]
        });
        let routing = services.maker.import(flow::document::from_value(doc).unwrap()).await.unwrap().routing.id;
        services.conversations.create_entry_point(runtime::entry_points::EntryPointFields {
            reference: Some("bench".into()),
            name: Some("Bench".into()),
            channel: Some(flow::entry_point::Channel::Http),
            start_routing_id: Some(Some(routing)),
            callback_url: Some(Some("http://127.0.0.1:9/unused".into())),
            secret: Some(CHANNEL_SECRET.into()),
            ..Default::default()
        }).await.unwrap();
        let limits = api::HttpLimits {
            public_per_address: api::Rate::per_second(1_000_000),
            public_per_entry_point: api::Rate::per_second(1_000_000),
            ..api::HttpLimits::default()
        };
        let app = api::app(services.maker, services.conversations, services.access, limits);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let root = format!("http://{}/api/v1", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let http = reqwest::Client::builder().pool_max_idle_per_host(clients).build().unwrap();

        println!("{lookups} lookups in {rows} rows, {clients} concurrent clients, SQLite synchronous=FULL");
        let rows_url = format!("{root}/databases/{db}/rows");
        let by_number: Request = {
            let url = rows_url.clone();
            Arc::new(move |http, n| http.get(format!("{url}?filter=number:{}", pick(n, rows))).bearer_auth(ADMIN))
        };
        let by_customer: Request = {
            let url = rows_url.clone();
            Arc::new(move |http, n| http.get(format!("{url}?filter=customer:customer%20{}", pick(n, rows))).bearer_auth(ADMIN))
        };
        let by_routing: Request = {
            let url = format!("{root}/channels/http/bench/messages");
            Arc::new(move |http, n| {
                let bytes = serde_json::to_vec(&json!({"message_id": format!("m{n}"), "from": format!("customer-{n}"), "text": pick(n, rows).to_string()})).unwrap();
                let signature = channels::http::sign(CHANNEL_SECRET, &bytes);
                http.post(&url).header("content-type", "application/json").header(channels::http::SIGNATURE_HEADER, signature).body(bytes)
            })
        };
        for (what, request) in [
            ("GET rows?filter=number:N (unique column)", by_number.clone()),
            // the same lookups again: the key tables' pages now in the connections' caches
            ("GET rows?filter=number:N (unique column), again", by_number),
            ("GET rows?filter=customer:… (indexed text column)", by_customer),
            ("HTTP channel message → Fill in the variables from a database → answer, committed", by_routing),
        ] {
            let (elapsed, lat) = round(&http, lookups, clients, request).await;
            println!(
                "{what}: {:.0}/s; latency p50 {:.2?}, p99 {:.2?}, max {:.2?}",
                lookups as f64 / elapsed.as_secs_f64(),
                percentile(&lat, 0.50),
                percentile(&lat, 0.99),
                lat[lat.len() - 1]
            );
        }
        let bytes: u64 = std::fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum();
        println!("storage: {:.0} bytes per row (rows, key tables and indexes, WAL)", bytes as f64 / rows as f64);
    });
}
