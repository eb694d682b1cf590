//! Emails through the built-in SMTP listener to a committed interaction:
//! `cargo bench -p api --bench email`. A server on loopback (SQLite, synchronous=FULL), an
//! email routing (Start → Test an email priority → Detect keywords → end), EMAIL_MESSAGES emails
//! (default 5 000) from EMAIL_CLIENTS SMTP clients at once (default 32; lettre, one connection
//! each, reused); each `250` comes once the email's interaction (its raw message kept, its
//! routing run to its end) is committed. Prints emails per second and the latency from the
//! end of the data to the `250`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lettre::AsyncTransport;
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

fn email(n: usize) -> String {
    format!(
        "From: Customer {n} <customer{n}@example.com>\r\nTo: support@shop.test\r\nSubject: Invoice {n} is wrong\r\nMessage-ID: <bench-{n}@example.com>\r\nX-Priority: 1\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello, the invoice for order {n} does not match what I ordered. Could you correct it?\r\nRegards\r\n"
    )
}

fn main() {
    let messages = env("EMAIL_MESSAGES", 5_000);
    let clients = env("EMAIL_CLIENTS", 32);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        runtime::install_crypto();
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("bench.db")).await.unwrap();
        let services = runtime::Services::start(store.clone(), Arc::new(SystemClock), runtime::ServiceSettings::default()).await.unwrap();
        let id = |n: u128| uuid::Uuid::from_u128(n).to_string();
        let doc = json!({
            "format": "switchyard.routing", "format_version": 1,
            "routing": {"reference": "MAIL", "name": "Mail", "kind": "interaction_start", "channel_family": "email"},
            "versions": [{"number": 1, "name": "v1", "status": "production", "tree": {
                "actions": [
                    {"id": id(1), "type": "start", "params": {}},
                    {"id": id(2), "type": "test_email_priority", "params": {}},
                    {"id": id(3), "type": "detect_keywords", "params": {"search_in": "subject_and_body", "groups": [{"keywords": ["invoice", "facture"]}, {"keywords": ["delivery"]}]}}
                ],
                "links": [
                    {"id": id(11), "from": id(1), "branch": "ok", "to": id(2)},
                    {"id": id(12), "from": id(2), "branch": "high", "to": id(3)}
                ]
            }}]
        });
        let routing = services.maker.import(flow::document::from_value(doc).unwrap()).await.unwrap().routing.id;
        let mailbox = runtime::entry_points::EntryPointFields {
            reference: Some("support".into()),
            name: Some("Support".into()),
            channel: Some(flow::entry_point::Channel::Email),
            start_routing_id: Some(Some(routing)),
            address: Some("support@shop.test".into()),
            ..Default::default()
        };
        services.conversations.create_entry_point(mailbox).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (_stop, stopped) = tokio::sync::watch::channel(false);
        let sink = Arc::new(runtime::email::EmailSink(services.conversations.clone()));
        tokio::spawn(channels::smtp::serve(listener, Arc::new(channels::smtp::SmtpConfig::default()), sink, stopped));

        println!("{messages} emails, {clients} SMTP clients at once, SQLite synchronous=FULL, group commit");
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let next = next.clone();
            tasks.push(tokio::spawn(async move {
                let transport = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous("127.0.0.1").port(port).build();
                let mut lat = Vec::new();
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if n >= messages {
                        return lat;
                    }
                    let envelope = lettre::address::Envelope::new(Some(format!("customer{n}@example.com").parse().unwrap()), vec!["support@shop.test".parse().unwrap()]).unwrap();
                    let raw = email(n);
                    let t = Instant::now();
                    transport.send_raw(&envelope, raw.as_bytes()).await.unwrap();
                    lat.push(t.elapsed());
                }
            }));
        }
        let mut lat = Vec::new();
        for t in tasks {
            lat.extend(t.await.unwrap());
        }
        let elapsed = started.elapsed();
        lat.sort();
        println!(
            "SMTP listener to committed interaction: {:.0} emails/s; latency p50 {:.1?}, p99 {:.1?}, max {:.1?}",
            messages as f64 / elapsed.as_secs_f64(),
            percentile(&lat, 0.50),
            percentile(&lat, 0.99),
            lat[lat.len() - 1]
        );
        let page = services.conversations.interactions(&Default::default(), &store::PageRequest { limit: 1, after: None }).await.unwrap();
        assert!(!page.items.is_empty(), "the emails became interactions");
        let bytes: u64 = std::fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum();
        println!("storage: {:.1} KiB per email (raw message kept, events, database and WAL)", bytes as f64 / 1024.0 / messages as f64);
    });
}
