//! The outbound-address policy on the HTTP channel's callbacks: an internal address is refused
//! when the entry point is saved, a name that resolves to one is refused when the reply is
//! sent (nothing reaches the server behind it), and an allowed range opens it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use store::InteractionStore;

mod support;

use support::admin_client;

/// A callback server on loopback that counts what reaches it.
async fn callback_server() -> (u16, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let app = axum::Router::new().route(
        "/cb",
        axum::routing::post(move || {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (port, hits)
}

async fn routing(base: &str) -> String {
    let doc = json!({
        "format": "switchyard.routing", "format_version": 1,
        "routing": {"reference": "HELLO", "name": "Hello", "kind": "interaction_start", "channel_family": "messaging"},
        "versions": [{"number": 1, "name": "v1", "status": "production", "tree": {
            "actions": [
                {"id": "00000000-0000-0000-0000-000000000001", "type": "start", "params": {}},
                {"id": "00000000-0000-0000-0000-000000000002", "type": "simple_message", "params": {"message": "Hello"}}
            ],
            "links": [{"id": "00000000-0000-0000-0000-000000000011", "from": "00000000-0000-0000-0000-000000000001", "branch": "ok", "to": "00000000-0000-0000-0000-000000000002"}]
        }}]
    });
    let r: Value = admin_client()
        .post(format!("{base}/routings/import"))
        .json(&doc)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["routing"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn internal_callbacks_are_refused_unless_allowed() {
    let server =
        support::start_as_configured(runtime::ServiceSettings::default(), support::limits()).await;
    let base = format!("{}/api/v1", server.root);
    let rid = routing(&base).await;
    let (port, hits) = callback_server().await;
    let admin = admin_client();
    let entry_point = |reference: &str, url: String| {
        admin
            .post(format!("{base}/entry-points"))
            .json(&json!({"reference": reference, "name": reference, "channel": "http", "secret": support::CHANNEL_SECRET, "start_routing_id": rid, "callback_url": url}))
            .send()
    };
    for url in [
        format!("http://127.0.0.1:{port}/cb"),
        "http://169.254.169.254/latest/meta-data".to_owned(),
        "http://[::1]/cb".to_owned(),
        "http://10.0.0.7/cb".to_owned(),
    ] {
        let r = entry_point("refused", url.clone()).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        let body: Value = r.json().await.unwrap();
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("internal address"),
            "{body}"
        );
    }
    // a name is checked when it is resolved: localhost is loopback, so the reply never leaves
    let r = entry_point("named", format!("http://localhost:{port}/cb"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let ack: Value = reqwest::Client::new()
        .post(format!("{base}/channels/http/named/messages"))
        .header(
            "x-switchyard-signature",
            channels::http::sign(
                support::CHANNEL_SECRET,
                br#"{"message_id":"m1","from":"+33612345678","text":"hi"}"#,
            ),
        )
        .header("content-type", "application/json")
        .body(r#"{"message_id":"m1","from":"+33612345678","text":"hi"}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let interaction: uuid::Uuid = ack["interaction_id"].as_str().unwrap().parse().unwrap();
    let mut error = None;
    for _ in 0..100 {
        let outbox = server.store.outbox_of(interaction).await.unwrap();
        if let Some(e) = outbox.iter().find_map(|o| o.last_error.clone()) {
            error = Some(e);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let error = error.expect("the delivery failed and says why");
    assert!(error.contains("outbound policy"), "{error}");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "nothing reached the server behind the name"
    );
}

#[tokio::test]
async fn an_allowed_range_is_called() {
    let server = support::start(runtime::ServiceSettings::default(), support::limits()).await;
    let base = format!("{}/api/v1", server.root);
    let rid = routing(&base).await;
    let (port, hits) = callback_server().await;
    let r = admin_client()
        .post(format!("{base}/entry-points"))
        .json(&json!({"reference": "ok", "name": "ok", "channel": "http", "secret": support::CHANNEL_SECRET, "start_routing_id": rid, "callback_url": format!("http://127.0.0.1:{port}/cb")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    reqwest::Client::new()
        .post(format!("{base}/channels/http/ok/messages"))
        .header(
            "x-switchyard-signature",
            channels::http::sign(
                support::CHANNEL_SECRET,
                br#"{"message_id":"m1","from":"+33612345678","text":"hi"}"#,
            ),
        )
        .header("content-type", "application/json")
        .body(r#"{"message_id":"m1","from":"+33612345678","text":"hi"}"#)
        .send()
        .await
        .unwrap();
    for _ in 0..100 {
        if hits.load(Ordering::SeqCst) > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the allowed callback was never called");
}
