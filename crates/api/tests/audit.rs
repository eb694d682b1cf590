//! The audit log: every change made through the administration, who made it, when, on what,
//! with the revision expected and made; reads, refusals and failures leave nothing; secrets
//! never appear.

use reqwest::StatusCode;
use serde_json::{Value, json};

mod support;

use support::admin_client;

#[tokio::test]
async fn changes_are_recorded_with_their_actor_target_and_revisions() {
    let server = support::start(runtime::ServiceSettings::default(), support::limits()).await;
    let base = format!("{}/api/v1", server.root);
    let admin = admin_client();
    let post = |path: &str, body: Value| admin.post(format!("{base}{path}")).json(&body).send();

    let r = post(
        "/routings",
        json!({"name": "Support", "reference": "SUP", "kind": "interaction_start", "channel_family": "messaging"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let routing: Value = r.json().await.unwrap();
    let id = routing["id"].as_str().unwrap().to_owned();
    let revision = routing["revision"].as_u64().unwrap();
    let r = admin
        .patch(format!("{base}/routings/{id}"))
        .header("if-match", format!("\"{revision}\""))
        .json(&json!({"name": "Support desk"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // reads and refused changes leave nothing
    admin
        .get(format!("{base}/routings/{id}"))
        .send()
        .await
        .unwrap();
    let r = admin
        .patch(format!("{base}/routings/{id}"))
        .header("if-match", "\"1\"")
        .json(&json!({"name": "stale"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    let viewer: Value = post("/api-tokens", json!({"name": "v", "role": "viewer"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = viewer["token"].as_str().unwrap().to_owned();
    let r = reqwest::Client::new()
        .delete(format!("{base}/routings/{id}"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let log: Value = admin
        .get(format!("{base}/audit?target={id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = log["items"].as_array().unwrap();
    let actions: Vec<&str> = items
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    let everything = admin
        .get(format!("{base}/audit"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(actions.len(), 2, "{log} / {everything}");
    assert!(actions[0].contains("create"), "{actions:?}");
    assert!(
        items
            .iter()
            .all(|e| e["actor"] == "bootstrap" && e["status"].as_u64().unwrap() < 300)
    );
    assert_eq!(items[1]["method"], "PATCH");
    assert_eq!(items[1]["revision_before"], revision);
    assert_eq!(items[1]["revision_after"], revision + 1);

    // the token's creation is there, its secret is not
    let all = admin
        .get(format!("{base}/audit?action=create_token"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(all.contains(viewer["id"].as_str().unwrap()), "{all}");
    assert!(!all.contains(&secret));
    // a viewer may not read the audit log; an administrator may filter by actor
    let r = reqwest::Client::new()
        .get(format!("{base}/audit"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let mine: Value = admin
        .get(format!("{base}/audit?actor=bootstrap&limit=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert!(mine["next_after"].is_string(), "paged");
}
