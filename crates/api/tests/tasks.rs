//! *Create a task* in production: a task kept by Switchyard with each start (now, later, none)
//! and end (postponed, none), listed and marked done through `/tasks`; a Salesforce task made in
//! Salesforce through a directory connected to it (the stand-in of `support/salesforce.rs`), its
//! id stored in a variable; a directory that does not exist or is not connected takes *Error*.

use serde_json::{Value, json};

mod support;

use support::salesforce::{CLIENT_ID, CLIENT_SECRET, salesforce};
use support::{call, callbacks};

#[tokio::test]
async fn create_a_task_keeps_tasks_or_makes_them_in_salesforce() {
    let server = support::start(runtime::ServiceSettings::default(), support::limits()).await;
    let base = format!("{}/api/v1", server.root);
    let (root, records) = salesforce().await;
    let (s, d) = call(&base, reqwest::Method::POST, "crm-directories", Some(json!({"reference": "SF", "name": "Salesforce", "secret": CLIENT_SECRET, "data": {"salesforce": {"login_url": root, "client_id": CLIENT_ID}}}))).await;
    assert_eq!(s, 201, "{d}");
    let (callback_url, got) = callbacks().await;
    let task = |kind: Value, start: Value, end: Value| json!({"name": "Call back {{ last_message.text }}", "category": "Callback", "kind": kind, "start": start, "end": end});
    let standard = json!({"kind": "standard"});
    let sf = |crm: &str| json!({"kind": "salesforce", "crm": {"by": "reference", "reference": crm}, "salesforce_id_variable": "sf_task", "related_to": "500xx0000000001"});
    let routings = [
        (
            "now",
            task(
                standard.clone(),
                json!({"at": "now"}),
                json!({"at": "postponed", "interval": 2, "unit": "days"}),
            ),
        ),
        (
            "later",
            task(
                standard.clone(),
                json!({"at": "later", "interval": 1, "unit": "months"}),
                json!({"at": "postponed", "interval": 3, "unit": "hours"}),
            ),
        ),
        (
            "none",
            task(
                standard.clone(),
                json!({"at": "no_start_date"}),
                json!({"at": "no_end_date"}),
            ),
        ),
        (
            "sf",
            task(
                sf("SF"),
                json!({"at": "now"}),
                json!({"at": "postponed", "interval": 1, "unit": "weeks"}),
            ),
        ),
        (
            "sfnope",
            task(
                sf("NOPE"),
                json!({"at": "now"}),
                json!({"at": "no_end_date"}),
            ),
        ),
    ];
    for (reference, params) in routings {
        let doc = support::chain(
            reference,
            &[("create_task", params, &["ok", "error"], None)],
            "{{ sf_task }} {{ system.error }}",
        );
        support::http_entry_point(&base, reference, doc, &callback_url).await;
    }
    let mut talk = support::Talk::new(&base, &got);
    for (ep, customer, said, want) in [
        ("now", "ann", "Ann", "create_task ok:"),
        ("later", "bob", "Bob", "create_task ok:"),
        ("none", "cid", "Cid", "create_task ok:"),
        ("sf", "dan", "Dan", "create_task ok: 00Txx0000000001"),
        (
            "sfnope",
            "eve",
            "Eve",
            "create_task error: no such CRM directory",
        ),
    ] {
        let answer = talk.say(ep, customer, said).await;
        let answer = answer.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(answer, want, "{ep}");
    }
    // the clock stands at 2026-06-01T08:00:00Z (10:00 in Paris)
    let (_, page) = call(&base, reqwest::Method::GET, "tasks", None).await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{page}");
    let by_name = |n: &str| items.iter().find(|t| t["name"] == n).unwrap().clone();
    let ann = by_name("Call back Ann");
    assert_eq!(
        (
            &ann["start_at"],
            &ann["due_at"],
            &ann["status"],
            &ann["category"]
        ),
        (
            &json!("2026-06-01T08:00:00Z"),
            &json!("2026-06-03T08:00:00Z"),
            &json!("open"),
            &json!("Callback")
        )
    );
    assert!(ann["customer_id"].is_string() && ann["interaction_id"].is_string());
    let bob = by_name("Call back Bob");
    assert_eq!(
        (&bob["start_at"], &bob["due_at"]),
        (
            &json!("2026-07-01T08:00:00Z"),
            &json!("2026-07-01T11:00:00Z")
        )
    );
    let cid = by_name("Call back Cid");
    assert!(
        cid["start_at"].is_null() && cid["due_at"].is_null(),
        "{cid}"
    );
    // the Salesforce task, as Salesforce received it
    let made = records.lock().unwrap().clone();
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].0, "Task");
    assert_eq!(made[0].1["Subject"], "Call back Dan");
    assert_eq!(made[0].1["ActivityDate"], "2026-06-08");
    assert_eq!(made[0].1["WhatId"], "500xx0000000001");
    assert_eq!(made[0].1["Status"], "Not Started");
    // done, listed by status; a status that is none refused
    let id = ann["id"].as_str().unwrap();
    let (s, done) = call(
        &base,
        reqwest::Method::PATCH,
        &format!("tasks/{id}"),
        Some(json!({"status": "done"})),
    )
    .await;
    assert_eq!((s, done["status"].as_str()), (200, Some("done")), "{done}");
    let (_, open) = call(&base, reqwest::Method::GET, "tasks?status=open", None).await;
    assert_eq!(open["items"].as_array().unwrap().len(), 2);
    let (s, _) = call(
        &base,
        reqwest::Method::PATCH,
        &format!("tasks/{id}"),
        Some(json!({"status": "late"})),
    )
    .await;
    assert_eq!(s, 422);
    let (s, _) = call(&base, reqwest::Method::DELETE, &format!("tasks/{id}"), None).await;
    assert_eq!(s, 204);
    let (s, _) = call(&base, reqwest::Method::GET, &format!("tasks/{id}"), None).await;
    assert_eq!(s, 404);
    // tasks are about customers: supervisors have them, designers do not
    for (role, want) in [("designer", 403), ("supervisor", 200)] {
        let (_, t) = call(
            &base,
            reqwest::Method::POST,
            "api-tokens",
            Some(json!({"name": role, "role": role})),
        )
        .await;
        let r = support::admin_client()
            .get(format!("{base}/tasks"))
            .header(
                "authorization",
                format!("Bearer {}", t["token"].as_str().unwrap()),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), want, "{role}");
    }
}
