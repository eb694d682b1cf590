//! The Maker API over real HTTP on loopback, against a real SQLite file and a manual clock.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use reqwest::{Method, StatusCode};
use runtime::{Clock, ManualClock};
use serde_json::{Value, json};

mod support;

struct Server {
    base: String,
    http: reqwest::Client,
    clock: Arc<ManualClock>,
    _server: support::TestServer,
}

struct Reply {
    status: StatusCode,
    body: Value,
    etag: Option<String>,
    content_type: String,
}

impl Reply {
    fn id(&self) -> String {
        self.body["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id in {}", self.body))
            .to_owned()
    }
    /// Asserts a problem+json with this status and code.
    fn problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(
            self.content_type, "application/problem+json",
            "{}",
            self.body
        );
        assert_eq!(self.body["code"], code, "{}", self.body);
        assert_eq!(self.body["status"], status);
        assert!(self.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
}

impl Server {
    async fn start() -> Server {
        let server =
            support::start(runtime::ServiceSettings::default(), support::small_limits()).await;
        Server {
            base: server.root.clone(),
            http: support::admin_client(),
            clock: server.clock.clone(),
            _server: server,
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let url = if path.starts_with('/') && !path.starts_with("/api") {
            format!("{}{path}", self.base)
        } else {
            format!("{}/api/v1/{}", self.base, path.trim_start_matches('/'))
        };
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let etag = resp
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_owned());
        let content_type = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            body,
            etag,
            content_type,
        }
    }

    async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None, &[]).await
    }
    async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(body), &[]).await
    }
    async fn post_empty(&self, path: &str) -> Reply {
        self.send(Method::POST, path, None, &[]).await
    }
    async fn patch(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PATCH, path, Some(body), &[]).await
    }
    async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None, &[]).await
    }

    async fn routing(&self, reference: &str, family: &str, kind: &str) -> String {
        let r = self.post("routings", json!({"name": format!("Routing {reference}"), "reference": reference, "kind": kind, "channel_family": family})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.id()
    }

    async fn version(&self, routing: &str, name: &str) -> Reply {
        let v = self
            .post(
                &format!("routings/{routing}/versions"),
                json!({"name": name}),
            )
            .await;
        assert_eq!(v.status, StatusCode::CREATED, "{}", v.body);
        v
    }

    /// A development version with Start → Simple message.
    async fn deployable(&self, routing: &str, name: &str) -> String {
        let v = self.version(routing, name).await;
        let start = v.body["tree"]["actions"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let id = v.id();
        let a = self.post(&format!("versions/{id}/actions"), json!({"type": "simple_message", "params": {"message": "Hello"}, "after": {"action_id": start, "branch": "ok"}})).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        id
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }
}

#[tokio::test]
async fn routings_crud_copy_and_immutable_fields() {
    let s = Server::start().await;
    let r = s.routing("SUPPORT", "messaging", "interaction_start").await;
    s.post("routings", json!({"name": "Other", "reference": "SUPPORT", "kind": "interaction_start", "channel_family": "email"})).await.problem(409, "reference_taken");
    s.post("routings", json!({"name": " ", "reference": "X", "kind": "interaction_start", "channel_family": "email"})).await.problem(422, "invalid_field");
    s.post("routings", json!({"name": "x", "reference": "bad ref", "kind": "interaction_start", "channel_family": "email"})).await.problem(422, "invalid_field");
    s.post(
        "routings",
        json!({"name": "x", "reference": "X", "kind": "sometimes", "channel_family": "email"}),
    )
    .await
    .problem(422, "invalid_body");

    let got = s.get(&format!("routings/{r}")).await;
    assert_eq!(got.etag.as_deref(), Some("\"1\""));
    let up = s.patch(&format!("routings/{r}"), json!({"name": "Customer support", "description": "Main chat", "kind": "interaction_start"})).await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.body);
    assert_eq!(
        (up.body["name"].as_str(), up.body["revision"].as_u64()),
        (Some("Customer support"), Some(2))
    );
    s.patch(&format!("routings/{r}"), json!({"kind": "interaction_end"}))
        .await
        .problem(422, "immutable_field");
    s.patch(&format!("routings/{r}"), json!({"channel_family": "email"}))
        .await
        .problem(422, "immutable_field");
    s.send(
        Method::PATCH,
        &format!("routings/{r}"),
        Some(json!({"name": "stale"})),
        &[("if-match", "\"1\"")],
    )
    .await
    .problem(412, "revision_mismatch");
    assert_eq!(
        s.get(&format!("routings/{r}")).await.body["name"],
        "Customer support",
        "refused changes change nothing"
    );

    let v = s.deployable(&r, "v1").await;
    s.post_empty(&format!("versions/{v}/put-in-production"))
        .await;
    let d = s.deployable(&r, "v2").await;
    s.post_empty(&format!("versions/{d}/put-in-test")).await;
    let copy = s
        .post(
            &format!("routings/{r}/copy"),
            json!({"name": "Support copy", "reference": "SUPPORT-2"}),
        )
        .await;
    assert_eq!(copy.status, StatusCode::CREATED, "{}", copy.body);
    let versions = copy.body["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert!(
        versions
            .iter()
            .all(|v| v["status"] == "development" && v["in_test"] == false)
    );
    s.post(
        &format!("routings/{r}/copy"),
        json!({"name": "Again", "reference": "SUPPORT"}),
    )
    .await
    .problem(409, "reference_taken");

    s.delete(&format!("routings/{r}"))
        .await
        .problem(409, "routing_in_production");
    let c = copy.id();
    assert_eq!(
        s.delete(&format!("routings/{c}")).await.status,
        StatusCode::NO_CONTENT
    );
    s.get(&format!("routings/{c}"))
        .await
        .problem(404, "not_found");
}

#[tokio::test]
async fn version_lifecycle_rules_allowed_and_refused() {
    let s = Server::start().await;
    let r = s.routing("LIFE", "messaging", "interaction_start").await;
    let blank = s.version(&r, "blank").await.id();
    s.post_empty(&format!("versions/{blank}/put-in-production"))
        .await
        .problem(409, "blank_version");

    let v1 = s.deployable(&r, "v1").await;
    let v2 = s.deployable(&r, "v2").await;
    let p = s
        .post_empty(&format!("versions/{v1}/put-in-production"))
        .await;
    assert_eq!(p.body["status"], "production");
    s.post_empty(&format!("versions/{v1}/put-in-production"))
        .await
        .problem(409, "already_in_production");
    // production versions are read-only
    let start = p.body["tree"]["actions"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    s.post(&format!("versions/{v1}/actions"), json!({"type": "node"}))
        .await
        .problem(409, "version_read_only");
    s.patch(
        &format!("versions/{v1}/actions/{start}"),
        json!({"record_passage": true}),
    )
    .await
    .problem(409, "version_read_only");
    s.patch(&format!("versions/{v1}"), json!({"name": "renamed"}))
        .await
        .problem(409, "version_read_only");
    s.post_empty(&format!("versions/{v1}/put-in-test"))
        .await
        .problem(409, "not_in_development");
    s.post(
        &format!("versions/{v1}/schedule"),
        json!({"at": (s.now() + SignedDuration::from_hours(5)).to_string()}),
    )
    .await
    .problem(409, "not_in_development");
    s.delete(&format!("versions/{v1}"))
        .await
        .problem(409, "version_in_production");

    // test mode
    let t = s.post_empty(&format!("versions/{v2}/put-in-test")).await;
    assert_eq!(t.body["in_test"], true);
    s.post_empty(&format!("versions/{v2}/put-in-test"))
        .await
        .problem(409, "already_in_test");
    // production takes the version out of test and sends the previous one to backup
    let p2 = s
        .post_empty(&format!("versions/{v2}/put-in-production"))
        .await;
    assert_eq!(
        (p2.body["status"].as_str(), p2.body["in_test"].as_bool()),
        (Some("production"), Some(false))
    );
    assert_eq!(
        s.get(&format!("versions/{v1}")).await.body["status"],
        "backup"
    );
    s.post(&format!("versions/{v1}/actions"), json!({"type": "node"}))
        .await
        .problem(409, "version_read_only");
    s.post_empty(&format!("versions/{v1}/remove-from-test"))
        .await
        .problem(409, "not_in_test");
    // a backup goes back into production
    assert_eq!(
        s.post_empty(&format!("versions/{v1}/put-in-production"))
            .await
            .body["status"],
        "production"
    );
    assert_eq!(
        s.get(&format!("versions/{v2}")).await.body["status"],
        "backup"
    );
    // duplicate: any status → development
    let dup = s.post_empty(&format!("versions/{v1}/duplicate")).await;
    assert_eq!(
        (
            dup.status,
            dup.body["status"].as_str(),
            dup.body["name"].as_str()
        ),
        (StatusCode::CREATED, Some("development"), Some("Copy of v1"))
    );
    let dup2 = s
        .post(
            &format!("versions/{v2}/duplicate"),
            json!({"name": "from backup"}),
        )
        .await;
    assert_eq!(dup2.body["number"], 5);
    // delete: development and backup
    assert_eq!(
        s.delete(&format!("versions/{v2}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        s.delete(&format!("versions/{}", dup.id())).await.status,
        StatusCode::NO_CONTENT
    );
    s.get(&format!("versions/{v2}"))
        .await
        .problem(404, "not_found");

    // a version with errors cannot go into production
    s.routing("END", "messaging", "interaction_end").await;
    let bad = s.version(&r, "bad").await;
    let bad_start = bad.body["tree"]["actions"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bad = bad.id();
    s.post(&format!("versions/{bad}/actions"), json!({"type": "distribute_to_routing", "params": {"routing": {"by": "reference", "reference": "END"}}, "after": {"action_id": bad_start, "branch": "ok"}})).await;
    let diag = s.get(&format!("versions/{bad}")).await;
    assert_eq!(
        diag.body["diagnostics"]["errors"], 1,
        "{}",
        diag.body["diagnostics"]
    );
    assert_eq!(
        diag.body["diagnostics"]["items"][0]["code"],
        "invalid_target_routing"
    );
    s.post_empty(&format!("versions/{bad}/put-in-production"))
        .await
        .problem(409, "version_has_errors");
}

#[tokio::test]
async fn scheduled_productions_over_http() {
    let s = Server::start().await;
    let r = s.routing("PLAN", "email", "interaction_start").await;
    let email_version = |name: &'static str| {
        let s = &s;
        let r = r.clone();
        async move {
            let v = s.version(&r, name).await;
            let start = v.body["tree"]["actions"][0]["id"]
                .as_str()
                .unwrap()
                .to_owned();
            let id = v.id();
            s.post(
                &format!("versions/{id}/actions"),
                json!({"type": "node", "after": {"action_id": start, "branch": "ok"}}),
            )
            .await;
            id
        }
    };
    let a = email_version("a").await;
    let b = email_version("b").await;
    let at = |h: i64| (s.now() + SignedDuration::from_hours(h)).to_string();
    s.post(&format!("versions/{a}/schedule"), json!({"at": at(-1)}))
        .await
        .problem(422, "schedule_in_past");
    s.post(&format!("versions/{a}/schedule"), json!({"at": "tomorrow"}))
        .await
        .problem(422, "invalid_body");
    let planned = s
        .post(&format!("versions/{a}/schedule"), json!({"at": at(3)}))
        .await;
    assert_eq!(planned.status, StatusCode::OK, "{}", planned.body);
    // 08:00Z + 3 h = 13:00 Paris on 1 June; 08:00Z + 10 h = 20:00 Paris, same date
    s.post(&format!("versions/{b}/schedule"), json!({"at": at(10)}))
        .await
        .problem(409, "schedule_date_taken");
    // 08:00Z + 16 h = 02:00 Paris on 2 June: another date
    assert_eq!(
        s.post(&format!("versions/{b}/schedule"), json!({"at": at(16)}))
            .await
            .status,
        StatusCode::OK
    );
    let routing = s.get(&format!("routings/{r}")).await;
    let plans = routing.body["planned_productions"].as_array().unwrap();
    assert_eq!(plans.len(), 2);
    assert_eq!(
        (plans[0]["version_name"].as_str(), plans[0]["date"].as_str()),
        (Some("a"), Some("2026-06-01"))
    );
    assert_eq!(plans[1]["date"], "2026-06-02");
    // cancelled: never fires
    s.post_empty(&format!("versions/{b}/unschedule")).await;
    s.post_empty(&format!("versions/{b}/unschedule"))
        .await
        .problem(409, "not_scheduled");

    s.clock.advance(SignedDuration::from_hours(3));
    let mut status = Value::Null;
    // the scheduler fires on the clock's tick; allow a loaded machine up to 10 s
    for _ in 0..1_000 {
        status = s.get(&format!("versions/{a}")).await.body["status"].clone();
        if status == "production" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(status, "production");
    s.clock.advance(SignedDuration::from_hours(48));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        s.get(&format!("versions/{b}")).await.body["status"],
        "development"
    );
    assert!(
        s.get(&format!("routings/{r}")).await.body["planned_productions"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn tree_editing_with_links_copies_and_revisions() {
    let s = Server::start().await;
    let r = s.routing("TREE", "messaging", "interaction_start").await;
    let v = s.version(&r, "edit").await;
    let vid = v.id();
    let start = v.body["tree"]["actions"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(v.etag.as_deref(), Some("\"1\""));

    let choice = s.post(&format!("versions/{vid}/actions"), json!({
        "type": "message_with_choice", "name": "Menu", "record_passage": true, "position": {"x": 10, "y": 100},
        "params": {"message": "Sales or support?", "wait_seconds": 120, "choices": [{"label": "Sales"}, {"label": "Support"}]},
        "after": {"action_id": start, "branch": "ok"}
    })).await;
    assert_eq!(choice.status, StatusCode::CREATED, "{}", choice.body);
    assert_eq!(choice.etag.as_deref(), Some("\"2\""));
    let menu = choice.body["action"]["id"].as_str().unwrap().to_owned();
    assert_eq!(choice.body["action"]["record_passage"], true);
    assert_eq!(choice.body["link"]["branch"], "ok");
    let start_link = choice.body["link"]["id"].as_str().unwrap().to_owned();

    let sales = s.post(&format!("versions/{vid}/actions"), json!({"type": "simple_message", "params": {"message": "Sales here"}, "after": {"action_id": menu, "branch": "link_1"}})).await;
    let sales_id = sales.body["action"]["id"].as_str().unwrap().to_owned();
    // the branch is taken now
    s.post(
        &format!("versions/{vid}/actions"),
        json!({"type": "node", "after": {"action_id": menu, "branch": "link_1"}}),
    )
    .await
    .problem(409, "branch_taken");
    // wrong branch names
    s.post(
        &format!("versions/{vid}/actions"),
        json!({"type": "node", "after": {"action_id": menu, "branch": "ok"}}),
    )
    .await
    .problem(422, "unknown_branch");
    // insert a checkpoint between Start and the menu
    let between = s.post(&format!("versions/{vid}/actions"), json!({"type": "add_checkpoint", "params": {"checkpoint": {"by": "reference", "reference": "ENTRY"}}, "between": {"link_id": start_link}})).await;
    assert_eq!(between.status, StatusCode::CREATED, "{}", between.body);
    let checkpoint = between.body["action"]["id"].as_str().unwrap().to_owned();
    let tree = &between.body["version"]["tree"];
    let links: Vec<(String, String, String)> = tree["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["from"].as_str().unwrap().into(),
                l["branch"].as_str().unwrap().into(),
                l["to"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(links.contains(&(start.clone(), "ok".into(), checkpoint.clone())));
    assert!(links.contains(&(checkpoint.clone(), "ok".into(), menu.clone())));

    // an independent link, then re-point it and delete it
    let node = s
        .post(&format!("versions/{vid}/actions"), json!({"type": "node"}))
        .await
        .body["action"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let link = s
        .post(
            &format!("versions/{vid}/links"),
            json!({"from": menu, "branch": "link_2", "to": node}),
        )
        .await;
    assert_eq!(link.status, StatusCode::CREATED, "{}", link.body);
    let link_id = link.body["link"]["id"].as_str().unwrap().to_owned();
    s.post(
        &format!("versions/{vid}/links"),
        json!({"from": menu, "branch": "link_2", "to": sales_id}),
    )
    .await
    .problem(409, "branch_taken");
    s.post(
        &format!("versions/{vid}/links"),
        json!({"from": menu, "branch": "link_11", "to": node}),
    )
    .await
    .problem(422, "unknown_branch");
    s.post(
        &format!("versions/{vid}/links"),
        json!({"from": node, "branch": "ok", "to": start}),
    )
    .await
    .problem(422, "link_into_start");
    let repointed = s
        .patch(
            &format!("versions/{vid}/links/{link_id}"),
            json!({"to": sales_id}),
        )
        .await;
    assert_eq!(repointed.body["link"]["to"], sales_id.as_str());
    s.patch(
        &format!("versions/{vid}/links/{link_id}"),
        json!({"branch": "link_1"}),
    )
    .await
    .problem(409, "branch_taken");

    // links to actions of another version are refused
    let other = s.version(&r, "other").await;
    let foreign = other.body["tree"]["actions"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    s.post(
        &format!("versions/{vid}/links"),
        json!({"from": menu, "branch": "error", "to": foreign}),
    )
    .await
    .problem(422, "action_not_found");

    // copy an action (parameters, not links) into another version
    let copied = s
        .post(
            &format!("versions/{}/actions", other.id()),
            json!({"copy_from": {"version_id": vid, "action_id": menu}}),
        )
        .await;
    assert_eq!(copied.status, StatusCode::CREATED, "{}", copied.body);
    assert_eq!(
        copied.body["action"]["params"]["choices"][1]["label"],
        "Support"
    );
    assert_eq!(
        copied.body["version"]["tree"]["links"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    s.post(
        &format!("versions/{}/actions", other.id()),
        json!({"copy_from": {"version_id": vid, "action_id": start}}),
    )
    .await
    .problem(422, "start_immutable");

    // parameters, name, passage and position
    let upd = s.patch(&format!("versions/{vid}/actions/{sales_id}"), json!({"params": {"message": "Sales, hello {{ customer.first_name }}"}, "record_passage": true, "position": {"x": 5, "y": 6}, "name": "Greeting"})).await;
    assert_eq!(upd.status, StatusCode::OK, "{}", upd.body);
    assert_eq!(
        (
            upd.body["action"]["name"].as_str(),
            upd.body["action"]["position"]["x"].as_f64()
        ),
        (Some("Greeting"), Some(5.0))
    );
    let before = s.get(&format!("versions/{vid}")).await;
    let rev = before.etag.clone().unwrap();
    for (params, code) in [
        (json!({"message": ""}), "invalid_parameters"),
        (json!({"message": "Hi {{ broken"}), "invalid_parameters"),
        (json!({"message": "x", "extra": 1}), "invalid_parameters"),
    ] {
        s.patch(
            &format!("versions/{vid}/actions/{sales_id}"),
            json!({"params": params}),
        )
        .await
        .problem(422, code);
    }
    s.post(&format!("versions/{vid}/actions"), json!({"type": "message_awaiting_response", "params": {"wait_seconds": 20, "max_attempts": 3, "error_message": "?", "questions": [{"question": "?", "answer_type": "number", "variable": "a.b"}]}})).await.problem(422, "invalid_parameters");
    s.post(
        &format!("versions/{vid}/actions"),
        json!({"type": "teleport"}),
    )
    .await
    .problem(422, "unknown_action_type");
    s.post(
        &format!("versions/{vid}/actions"),
        json!({"type": "detect_language", "params": {"languages": ["en"]}}),
    )
    .await
    .problem(422, "action_not_in_family");
    s.post(&format!("versions/{vid}/actions"), json!({"type": "start"}))
        .await
        .problem(422, "start_immutable");
    s.delete(&format!("versions/{vid}/actions/{start}"))
        .await
        .problem(422, "start_immutable");
    s.patch(
        &format!("versions/{vid}/actions/{foreign}"),
        json!({"record_passage": true}),
    )
    .await
    .problem(404, "not_found");
    assert_eq!(
        s.get(&format!("versions/{vid}")).await.etag.unwrap(),
        rev,
        "refused edits change nothing"
    );

    // If-Match
    s.send(
        Method::POST,
        &format!("versions/{vid}/actions"),
        Some(json!({"type": "node"})),
        &[("if-match", "\"1\"")],
    )
    .await
    .problem(412, "revision_mismatch");
    let ok = s
        .send(
            Method::POST,
            &format!("versions/{vid}/actions"),
            Some(json!({"type": "node"})),
            &[("if-match", &rev)],
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED);
    s.send(
        Method::POST,
        &format!("versions/{vid}/actions"),
        Some(json!({"type": "node"})),
        &[("if-match", "soon")],
    )
    .await
    .problem(400, "invalid_if_match");

    // deleting an action takes its links with it
    let whole = s.get(&format!("versions/{vid}")).await.body["tree"].clone();
    let del = s.delete(&format!("versions/{vid}/actions/{menu}")).await;
    let links = del.body["version"]["tree"]["links"].as_array().unwrap();
    assert!(
        links
            .iter()
            .all(|l| l["from"] != menu.as_str() && l["to"] != menu.as_str())
    );
    assert_eq!(
        s.delete(&format!("versions/{vid}/links/{link_id}"))
            .await
            .status
            .as_u16(),
        404
    );
    // undo and redo: the whole tree put back as it was, then as it is (as GET gives it, its
    // labels left out)
    let strip = |t: &Value| {
        let mut t = t.clone();
        for a in t["actions"].as_array_mut().unwrap() {
            a.as_object_mut().unwrap().remove("label");
        }
        t
    };
    let after = del.body["version"]["tree"].clone();
    let tree_path = format!("versions/{vid}/tree");
    s.send(Method::PUT, &tree_path, Some(whole.clone()), &[])
        .await
        .problem(422, "invalid_body");
    let undone = s
        .send(Method::PUT, &tree_path, Some(strip(&whole)), &[])
        .await;
    assert_eq!(undone.status, StatusCode::OK, "{}", undone.body);
    assert_eq!(undone.body["version"]["tree"], whole);
    let redone = s
        .send(Method::PUT, &tree_path, Some(strip(&after)), &[])
        .await;
    assert_eq!(redone.status, StatusCode::OK, "{}", redone.body);
    assert_eq!(redone.body["version"]["tree"], after);
    // refused whole: another Start first, a stale revision
    let mut other_start = strip(&whole);
    other_start["actions"][0]["id"] = json!(foreign);
    s.send(Method::PUT, &tree_path, Some(other_start), &[])
        .await
        .problem(422, "start_immutable");
    s.send(
        Method::PUT,
        &tree_path,
        Some(strip(&whole)),
        &[("if-match", "\"1\"")],
    )
    .await
    .problem(412, "revision_mismatch");
    assert_eq!(s.get(&format!("versions/{vid}")).await.body["tree"], after);
    // diagnostics: the greeting is now unreachable
    let diags = &s.get(&format!("versions/{vid}")).await.body["diagnostics"];
    assert!(
        diags["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "unreachable_action" && d["action_id"] == sales_id.as_str()),
        "{diags}"
    );
}

#[tokio::test]
async fn bad_input_gets_problems_and_changes_nothing() {
    let s = Server::start().await;
    let raw = |method: Method, path: &str, body: &'static str, ct: &'static str| {
        let req = s
            .http
            .request(method, format!("{}/api/v1/{path}", s.base))
            .header("content-type", ct)
            .body(body);
        async move {
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
            let body: Value = resp.json().await.unwrap();
            (
                status,
                ct,
                body["code"].as_str().unwrap_or_default().to_owned(),
            )
        }
    };
    assert_eq!(
        raw(Method::POST, "routings", "{\"name\": ", "application/json").await,
        (
            400,
            "application/problem+json".into(),
            "malformed_json".into()
        )
    );
    assert_eq!(
        raw(
            Method::POST,
            "routings",
            "name=x",
            "application/x-www-form-urlencoded"
        )
        .await
        .2,
        "unsupported_media_type"
    );
    assert_eq!(raw(Method::POST, "routings", "{\"name\":\"x\",\"reference\":\"X\",\"kind\":\"interaction_start\",\"channel_family\":\"email\",\"colour\":\"red\"}", "application/json").await.2, "invalid_body");
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(100 * 1024));
    let resp = s
        .http
        .post(format!("{}/api/v1/routings", s.base))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["code"],
        "body_too_large"
    );

    // a whole number written as a float is a whole number (JSON Schema's `integer`); a
    // fraction is not
    let user = s
        .post(
            "users",
            json!({"reference": "u1", "name": "U", "capacity": 4.0}),
        )
        .await;
    assert_eq!(user.status, 201, "{}", user.body);
    assert_eq!(user.body["capacity"], 4);
    s.post(
        "users",
        json!({"reference": "u2", "name": "U", "capacity": 4.5}),
    )
    .await
    .problem(422, "invalid_body");

    s.get("nowhere").await.problem(404, "not_found");
    // outside /api/ a path is a page of the browser UI (not built into this test server), and
    // a file name that is none of its files is not found
    s.get("/nowhere").await.problem(503, "ui_not_built");
    s.get("/nowhere.js").await.problem(404, "not_found");
    s.get("/api/nowhere").await.problem(404, "not_found");
    s.get("routings/not-a-uuid").await.problem(404, "not_found");
    s.get("versions/00000000-0000-0000-0000-000000000000")
        .await
        .problem(404, "not_found");
    s.send(Method::PUT, "routings", Some(json!({})), &[])
        .await
        .problem(405, "method_not_allowed");
    s.get("routings?limit=0")
        .await
        .problem(400, "invalid_query");
    s.get("routings?channel_family=fax")
        .await
        .problem(400, "invalid_query");
    s.post("routings/import", json!({"format": "something"}))
        .await
        .problem(422, "invalid_document");
    s.get("action-types/teleport")
        .await
        .problem(404, "not_found");
    let list = s.get("routings").await;
    assert_eq!(
        list.body["items"].as_array().unwrap().len(),
        0,
        "nothing was created"
    );
}

#[tokio::test]
async fn lists_paginate_and_filter() {
    let s = Server::start().await;
    for (i, (family, kind)) in [
        ("messaging", "interaction_start"),
        ("email", "interaction_start"),
        ("messaging", "interaction_end"),
        ("messaging", "interaction_start"),
        ("email", "interaction_end"),
    ]
    .iter()
    .enumerate()
    {
        s.routing(&format!("R{i}"), family, kind).await;
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("routings?limit=2&after={a}"),
            None => "routings?limit=2".into(),
        };
        let page = s.get(&path).await;
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(
            items
                .iter()
                .map(|i| i["reference"].as_str().unwrap().to_owned()),
        );
        match page.body["next_after"].as_str() {
            Some(n) => after = Some(n.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ["R0", "R1", "R2", "R3", "R4"]);
    let msg = s
        .get("routings?channel_family=messaging&kind=interaction_start")
        .await;
    let refs: Vec<&str> = msg.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["reference"].as_str().unwrap())
        .collect();
    assert_eq!(refs, ["R0", "R3"]);
}

#[tokio::test]
async fn idempotency_keys_replay_creations() {
    let s = Server::start().await;
    let body = json!({"name": "Once", "reference": "ONCE", "kind": "interaction_start", "channel_family": "messaging"});
    let first = s
        .send(
            Method::POST,
            "routings",
            Some(body.clone()),
            &[("idempotency-key", "k-1")],
        )
        .await;
    let again = s
        .send(
            Method::POST,
            "routings",
            Some(body.clone()),
            &[("idempotency-key", "k-1")],
        )
        .await;
    assert_eq!(
        (first.status, again.status),
        (StatusCode::CREATED, StatusCode::CREATED)
    );
    assert_eq!(first.body, again.body);
    assert_eq!(
        s.get("routings").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let mut other = body;
    other["reference"] = "TWICE".into();
    s.send(
        Method::POST,
        "routings",
        Some(other),
        &[("idempotency-key", "k-1")],
    )
    .await
    .problem(422, "idempotency_key_reused");
}

#[tokio::test]
async fn catalogue_openapi_docs_health_and_metrics() {
    let s = Server::start().await;
    let cat = s.get("action-types").await;
    let items = cat.body["items"].as_array().unwrap();
    assert_eq!(items.len(), flow::catalogue::all().len());
    let choice = items
        .iter()
        .find(|i| i["type"] == "message_with_choice")
        .unwrap();
    assert_eq!(choice["channel_families"], json!(["messaging"]));
    assert_eq!(choice["runnable"], true);
    // every action type of the catalogue runs
    let not_runnable: Vec<&Value> = items
        .iter()
        .filter(|i| i["runnable"] != true)
        .map(|i| &i["type"])
        .collect();
    assert!(not_runnable.is_empty(), "not runnable: {not_runnable:?}");
    assert_eq!(
        choice["params_schema"]["properties"]["wait_seconds"]["minimum"],
        30
    );
    assert_eq!(choice["branches"].as_array().unwrap().len(), 11);
    assert_eq!(s.get("action-types/pause").await.body["label"], "Pause");

    let spec = s.get("openapi.json").await;
    assert_eq!(spec.body["openapi"], "3.1.0");
    for path in [
        "/routings",
        "/routings/{id}",
        "/versions/{id}/put-in-production",
        "/versions/{id}/actions",
        "/action-types",
        "/routings/import",
    ] {
        assert!(
            spec.body["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    let docs = s
        .http
        .get(format!("{}/api/v1/docs/", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), 200);
    let html = docs.text().await.unwrap();
    assert!(
        html.contains("swagger") && !html.contains("https://"),
        "the docs page is served locally"
    );
    let init = s
        .http
        .get(format!("{}/api/v1/docs/swagger-initializer.js", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        init.contains("\"validatorUrl\": \"none\""),
        "no outside validator: {init}"
    );

    assert_eq!(s.get("/healthz").await.body["status"], "ok");
    assert_eq!(s.get("/readyz").await.body["status"], "ready");
    let metrics = s
        .http
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("switchyard_http_requests_total"),
        "{metrics}"
    );
    // they are not public: the document, its page and the metrics need a caller
    for path in ["/metrics", "/api/v1/openapi.json", "/api/v1/docs/"] {
        let r = reqwest::get(format!("{}{path}", s.base)).await.unwrap();
        assert_eq!(r.status(), 401, "{path}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    }
}

#[tokio::test]
async fn documents_over_http() {
    let s = Server::start().await;
    let r = s.routing("DOCS", "messaging", "interaction_start").await;
    let v = s.deployable(&r, "v1").await;
    s.post_empty(&format!("versions/{v}/put-in-production"))
        .await;
    let doc = s.get(&format!("routings/{r}/export")).await.body;
    assert_eq!(doc["format"], "switchyard.routing");
    s.post("routings/import", doc.clone())
        .await
        .problem(409, "reference_taken");
    let check = s.post("routings/validate", doc.clone()).await;
    assert_eq!(check.body["valid"], true, "{}", check.body);

    let mut renamed = doc.clone();
    renamed["routing"]["reference"] = "DOCS-2".into();
    let imported = s.post("routings/import", renamed).await;
    assert_eq!(imported.status, StatusCode::CREATED, "{}", imported.body);
    let id = imported.body["routing"]["id"].as_str().unwrap();
    let mut again = s.get(&format!("routings/{id}/export")).await.body;
    again["routing"]["reference"] = "DOCS".into();
    assert_eq!(again, doc);

    let mut broken = doc;
    broken["routing"]["reference"] = "DOCS-3".into();
    broken["versions"][0]["tree"]["actions"][1]["params"]["message"] = "".into();
    let refused = s.post("routings/import", broken.clone()).await;
    refused.problem(422, "document_rejected");
    assert!(
        refused.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("cannot be in production")
    );
    broken["versions"][0]["status"] = "development".into();
    let accepted = s.post("routings/import", broken).await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.body);
    let vid = accepted.body["routing"]["versions"][0]["id"]
        .as_str()
        .unwrap();
    assert_eq!(
        s.get(&format!("versions/{vid}")).await.body["diagnostics"]["errors"],
        1
    );
}

/// `GET /versions/{id}/diff?with=`: a duplicate (fresh ids) with one message reworded, one
/// moved, one added and a link re-pointed, compared with its source and back.
#[tokio::test]
async fn two_versions_of_a_routing_are_compared() {
    let s = Server::start().await;
    let r = s.routing("DIFF", "messaging", "interaction_start").await;
    let v1 = s.version(&r, "one").await;
    let v1id = v1.id();
    let start = v1.body["tree"]["actions"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let hello = s.post(&format!("versions/{v1id}/actions"), json!({"type": "simple_message", "params": {"message": "Hello"}, "after": {"action_id": start, "branch": "ok"}})).await;
    let hello_id = hello.body["action"]["id"].as_str().unwrap().to_owned();
    s.post(&format!("versions/{v1id}/actions"), json!({"type": "simple_message", "params": {"message": "Bye"}, "position": {"x": 0, "y": 300}, "after": {"action_id": hello_id, "branch": "ok"}})).await;
    let v2 = s
        .post(
            &format!("versions/{v1id}/duplicate"),
            json!({"name": "two"}),
        )
        .await;
    assert_eq!(v2.status, StatusCode::CREATED, "{}", v2.body);
    let v2id = v2.id();
    let action = |text: &str| {
        v2.body["tree"]["actions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["params"]["message"] == text)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (hello2, bye2) = (action("Hello"), action("Bye"));
    // the same trees: nothing changed
    let same = s.get(&format!("versions/{v2id}/diff?with={v1id}")).await;
    assert_eq!(same.status, StatusCode::OK, "{}", same.body);
    assert_eq!(
        same.body["summary"],
        json!({"added": 0, "removed": 0, "changed": 0, "moved": 0, "links_added": 0, "links_removed": 0})
    );
    // reword Hello, move Bye, add a pause after Bye
    s.patch(
        &format!("versions/{v2id}/actions/{hello2}"),
        json!({"params": {"message": "Hello there"}}),
    )
    .await;
    s.patch(
        &format!("versions/{v2id}/actions/{bye2}"),
        json!({"position": {"x": 200, "y": 300}}),
    )
    .await;
    let pause = s.post(&format!("versions/{v2id}/actions"), json!({"type": "pause", "params": {"seconds": 5}, "after": {"action_id": bye2, "branch": "ok"}})).await;
    assert_eq!(pause.status, StatusCode::CREATED, "{}", pause.body);
    let d = s.get(&format!("versions/{v2id}/diff?with={v1id}")).await;
    assert_eq!(
        d.body["summary"],
        json!({"added": 1, "removed": 0, "changed": 1, "moved": 1, "links_added": 1, "links_removed": 0}),
        "{}",
        d.body
    );
    let of = |id: &str| {
        d.body["actions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["action_id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(of(&hello2)["change"], "changed");
    assert_eq!(of(&hello2)["fields"], json!(["params.message"]));
    assert_eq!(of(&hello2)["other_action_id"], hello_id.as_str());
    assert_eq!(of(&bye2)["change"], "moved");
    // the other way round
    let back = s.get(&format!("versions/{v1id}/diff?with={v2id}")).await;
    assert_eq!(back.body["summary"]["removed"], 1);
    assert_eq!(back.body["summary"]["links_removed"], 1);
    // versions of two routings, or one that does not exist
    let other = s.routing("OTHER", "messaging", "interaction_start").await;
    let ov = s.version(&other, "x").await;
    s.get(&format!("versions/{v2id}/diff?with={}", ov.id()))
        .await
        .problem(422, "different_routings");
    s.get(&format!(
        "versions/{v2id}/diff?with=00000000-0000-0000-0000-000000000000"
    ))
    .await
    .problem(404, "not_found");
    s.get(&format!("versions/{v2id}/diff"))
        .await
        .problem(400, "invalid_query");
}
