//! A mailbox read over IMAP from a real Dovecot (Debian's `dovecot-imapd`, installed by
//! `scripts/dovecot-setup.sh`; each test starts its own instance with a private configuration,
//! user and maildir on a free loopback port): messages already there and messages arriving
//! later (IDLE) become interactions once each, are flagged `\Seen`, and a second server on the
//! same data reads none of them again.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

mod support;

use support::mail::{Dovecot, PASSWORD, USER};

fn message(n: usize) -> String {
    format!(
        "From: Ana <ana@example.com>\r\nTo: {USER}\r\nSubject: Question {n}\r\nMessage-ID: <imap-{n}@example.com>\r\nImportance: high\r\n\r\nQuestion number {n}.\r\n"
    )
}

async fn call(
    http: &reqwest::Client,
    base: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http.request(method, format!("{base}/api/v1/{path}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn subjects(http: &reqwest::Client, base: &str) -> Vec<String> {
    let (_, list) = call(http, base, Method::GET, "interactions?limit=100", None).await;
    let mut out = Vec::new();
    for i in list["items"].as_array().unwrap() {
        let (_, d) = call(
            http,
            base,
            Method::GET,
            &format!("interactions/{}", i["id"].as_str().unwrap()),
            None,
        )
        .await;
        out.push(
            d["system"]["email"]["subject"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    out.sort();
    out
}

/// Start → *Test an email priority*, in production.
fn priority_routing() -> Value {
    json!({
        "format": "switchyard.routing", "format_version": 1,
        "routing": {"reference": "MAIL", "name": "Mail", "kind": "interaction_start", "channel_family": "email"},
        "versions": [{"number": 1, "name": "v1", "status": "production", "tree": {
            "actions": [{"id": uuid::Uuid::from_u128(1), "type": "start", "params": {}}, {"id": uuid::Uuid::from_u128(2), "type": "test_email_priority", "params": {}}],
            "links": [{"id": uuid::Uuid::from_u128(11), "from": uuid::Uuid::from_u128(1), "branch": "ok", "to": uuid::Uuid::from_u128(2)}]
        }}]
    })
}

/// The routing imported and the mailbox `USER` created with these IMAP secrets.
async fn mailbox(http: &reqwest::Client, base: &str, secrets: Value) -> Value {
    let (s, r) = call(
        http,
        base,
        Method::POST,
        "routings/import",
        Some(priority_routing()),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    let (s, ep) = call(http, base, Method::POST, "entry-points", Some(json!({"reference": "support", "name": "Support", "channel": "email", "address": USER, "start_routing_id": r["routing"]["id"], "secrets": secrets}))).await;
    assert_eq!(s, 201, "{ep}");
    ep
}

async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..400 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mailbox_read_over_imap_becomes_interactions_once_each() {
    let dovecot = Dovecot::start();
    dovecot.deliver(&message(1)).await;
    dovecot.deliver(&message(2)).await;
    let server = support::start(runtime::ServiceSettings::default(), support::limits()).await;
    let http = support::admin_client();
    let base = server.root.clone();
    // the IMAP account is write-only: only its names are shown
    let ep = mailbox(
        &http,
        &base,
        json!({"imap_host": "127.0.0.1", "imap_port": dovecot.port.to_string(), "imap_username": USER, "imap_password": PASSWORD, "imap_tls": "none"}),
    )
    .await;
    assert!(!ep.to_string().contains(PASSWORD));
    assert_eq!(ep["secrets_set"].as_array().unwrap().len(), 5, "{ep}");
    let (s, p) = call(&http, &base, Method::POST, "entry-points", Some(json!({"reference": "bad", "name": "Bad", "channel": "email", "address": "bad@shop.test", "secrets": {"imap_host": "127.0.0.1", "imap_tls": "maybe"}}))).await;
    assert_eq!(s, 422, "{p}");

    // the messages already there are read, each once, and flagged \Seen
    until("the two messages became interactions", async || {
        subjects(&http, &base).await == ["Question 1", "Question 2"]
    })
    .await;
    until("both were flagged seen", async || {
        dovecot.seen().await == [1, 2]
    })
    .await;
    // a message arriving later is read at once (IDLE)
    dovecot.deliver(&message(3)).await;
    until("the third message became an interaction", async || {
        subjects(&http, &base).await.len() == 3
    })
    .await;
    let (_, list) = call(&http, &base, Method::GET, "interactions?limit=100", None).await;
    let first = list["items"][0]["id"].as_str().unwrap().to_owned();
    let (_, d) = call(
        &http,
        &base,
        Method::GET,
        &format!("interactions/{first}"),
        None,
    )
    .await;
    assert_eq!(
        d["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"]["type"] == "branch")
            .map(|e| e["event"]["branch"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["ok", "high"]
    );
    // where reading stands is kept with the folder's UIDVALIDITY; a new reader (the entry point
    // changed, as after a restart) starts from there and reads only what is new
    let ep_id = uuid::Uuid::parse_str(ep["id"].as_str().unwrap()).unwrap();
    let (validity, last) = store::InteractionStore::imap_state(&server.store, ep_id)
        .await
        .unwrap()
        .unwrap();
    assert!(validity > 0);
    assert_eq!(last, 3);
    let (s, _) = call(
        &http,
        &base,
        Method::PATCH,
        &format!("entry-points/{ep_id}"),
        Some(json!({"name": "Support desk"})),
    )
    .await;
    assert_eq!(s, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    dovecot.deliver(&message(4)).await;
    until("the fourth message became an interaction", async || {
        subjects(&http, &base).await.len() == 4
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        subjects(&http, &base).await,
        ["Question 1", "Question 2", "Question 3", "Question 4"]
    );
    assert_eq!(
        store::InteractionStore::imap_state(&server.store, ep_id)
            .await
            .unwrap(),
        Some((validity, 4))
    );
    assert_eq!(dovecot.seen().await, [1, 2, 3, 4]);
}

/// A mailbox over IMAP with TLS (on by default), Dovecot's certificate signed by a private
/// authority: read once `mail_ca_file`'s authorities are trusted, never without them.
#[tokio::test(flavor = "multi_thread")]
async fn a_mailbox_over_imap_tls_is_read_when_its_authority_is_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = support::mail::certificates(dir.path());
    let dovecot = Dovecot::start_tls(&cert, &key);
    dovecot.deliver(&message(1)).await;
    let authorities =
        channels::relay::MailAuthorities::from_pem(&std::fs::read(&ca).unwrap()).unwrap();
    for (trusted, settings) in [
        (false, runtime::ServiceSettings::default()),
        (
            true,
            runtime::ServiceSettings {
                conversations: runtime::conversations::Settings {
                    mail_authorities: authorities.clone(),
                    ..Default::default()
                },
                ..Default::default()
            },
        ),
    ] {
        let server = support::start(settings, support::limits()).await;
        let http = support::admin_client();
        let base = server.root.clone();
        // no imap_tls: TLS, the name checked against the certificate's (localhost)
        let ep = mailbox(
            &http,
            &base,
            json!({"imap_host": "localhost", "imap_port": dovecot.tls_port.unwrap().to_string(), "imap_username": USER, "imap_password": PASSWORD}),
        )
        .await;
        let status = async || {
            call(
                &http,
                &base,
                Method::GET,
                &format!("entry-points/{}/imap", ep["id"].as_str().unwrap()),
                None,
            )
            .await
            .1
        };
        if trusted {
            until("the message was read over TLS", async || {
                subjects(&http, &base).await == ["Question 1"]
            })
            .await;
            until("it was flagged seen", async || dovecot.seen().await == [1]).await;
            let s = status().await;
            assert_eq!(
                (s["state"].as_str(), &s["error"]),
                (Some("reading"), &Value::Null),
                "{s}"
            );
            assert!(s["last_message_at"].is_string(), "{s}");
        } else {
            // the certificate is not trusted: nothing is read, nothing is flagged, and the
            // administrators see why
            until("the failure is shown", async || {
                status().await["state"] == "failing"
            })
            .await;
            let s = status().await;
            assert!(s["error"].as_str().unwrap().contains("TLS"), "{s}");
            assert!(subjects(&http, &base).await.is_empty());
            assert!(dovecot.seen().await.is_empty());
        }
    }
}
