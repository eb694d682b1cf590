//! Web services: definitions as business objects (their secret write-only), the "try it"
//! endpoint, the *Web service* action's branches in a previewed routing, and the
//! outbound-address policy in front of every call — against a real HTTP server on loopback
//! that answers slowly, too much, not in JSON, with a 500, or with redirects.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};

mod support;

use support::admin_client;

const TOKEN: &str = "s3cret-bearer-token-for-the-shop";

/// The shop's web service on loopback; counts the calls that reach it.
async fn shop() -> (String, Arc<AtomicUsize>) {
    let (url, hits, _) = shop_with_keys().await;
    (url, hits)
}

/// [`shop`], and the `Idempotency-Key`s of the calls to `/flaky`.
async fn shop_with_keys() -> (String, Arc<AtomicUsize>, Arc<std::sync::Mutex<Vec<String>>>) {
    let keys: Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let seen_keys = keys.clone();
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let app = axum::Router::new()
        .route(
            "/orders/{n}",
            get(|Path(n): Path<String>, headers: HeaderMap| async move {
                if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
                    != Some(&format!("Bearer {TOKEN}"))
                {
                    return (StatusCode::UNAUTHORIZED, "who are you?").into_response();
                }
                if n == "404" {
                    return (StatusCode::NOT_FOUND, axum::Json(json!({"error": "no such order"}))).into_response();
                }
                axum::Json(json!({"order": {"number": n, "status": "shipped"}, "items": [{"name": "Teapot"}]})).into_response()
            }),
        )
        .route(
            "/echo",
            post(|headers: HeaderMap, body: String| async move {
                let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                axum::Json(json!({
                    "content_type": headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()),
                    "key": headers.get("x-api-key").and_then(|v| v.to_str().ok()),
                    "received": parsed,
                    "raw": body,
                }))
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                axum::Json(json!({"late": true}))
            }),
        )
        .route(
            "/flaky",
            post(move |headers: HeaderMap| {
                let keys = keys.clone();
                async move {
                    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                    let mut k = keys.lock().unwrap();
                    k.push(key);
                    // the first attempt fails, the next one lands
                    if k.len() == 1 { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK }
                }
            }),
        )
        .route("/refuse", post(|| async { (StatusCode::BAD_REQUEST, "no") }))
        .route("/big", get(|| async { "x".repeat(200_000) }))
        .route("/text", get(|| async { "just text" }))
        .route("/fail", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }))
        .route(
            "/to-internal",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "http://10.0.0.7/admin")]) }),
        )
        .route(
            "/to-order",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/orders/7")]) }),
        )
        .route(
            "/loop",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/loop")]) }),
        )
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let counted = counted.clone();
                async move {
                    counted.fetch_add(1, Ordering::SeqCst);
                    next.run(req).await
                }
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://127.0.0.1:{port}"), hits, seen_keys)
}

struct Api {
    base: String,
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = admin_client().request(method, format!("{}/{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
    async fn post(&self, path: &str, body: Value) -> Value {
        let (s, v) = self.call(reqwest::Method::POST, path, Some(body)).await;
        assert!((200..300).contains(&s), "{path}: {s} {v}");
        v
    }
    async fn get(&self, path: &str) -> Value {
        let (s, v) = self.call(reqwest::Method::GET, path, None).await;
        assert_eq!(s, 200, "{path}: {v}");
        v
    }
    /// A definition; its id.
    async fn service(&self, reference: &str, data: Value, secret: Option<&str>) -> String {
        let mut body = json!({"reference": reference, "name": reference, "data": data});
        if let Some(s) = secret {
            body["secret"] = json!(s);
        }
        self.post("web-services", body).await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }
    async fn try_it(&self, id: &str, inputs: Value) -> Value {
        self.post(&format!("web-services/{id}/try"), json!({"inputs": inputs}))
            .await
    }
}

#[tokio::test]
async fn web_services_every_branch_and_what_they_record() {
    let server = support::start(runtime::ServiceSettings::default(), support::limits()).await;
    let api = Api {
        base: format!("{}/api/v1", server.root),
    };
    let (shop, _) = shop().await;

    // a definition: its secret is write-only
    let orders = api
        .service(
            "ORDERS",
            json!({
                "url": format!("{shop}/orders/{{{{ order }}}}"),
                "auth": {"type": "bearer"},
                "inputs": ["order"],
                "outputs": [{"name": "status", "pointer": "/order/status"}, {"name": "first", "pointer": "/items/0/name"}, {"name": "absent", "pointer": "/nope"}]
            }),
            Some(TOKEN),
        )
        .await;
    let got = api.get(&format!("web-services/{orders}")).await;
    assert_eq!(got["secret_set"], true);
    assert_eq!(got["data"]["timeout_ms"], 5000, "the default timeout");
    assert!(!got.to_string().contains(TOKEN));
    assert!(!api.get("web-services").await.to_string().contains(TOKEN));
    // what is refused
    for (path, body, field) in [
        (
            "web-services",
            json!({"reference": "B1", "name": "b", "data": {"url": "ftp://x/"}}),
            "data",
        ),
        (
            "web-services",
            json!({"reference": "B2", "name": "b", "data": {"url": "https://x/", "timeout_ms": 60000}}),
            "data",
        ),
        (
            "web-services",
            json!({"reference": "B3", "name": "b", "data": {"url": "https://x/"}, "secret": ""}),
            "secret",
        ),
        (
            "value-tables",
            json!({"reference": "T", "name": "t", "data": {"entries": []}, "secret": "nope"}),
            "secret",
        ),
    ] {
        let (s, p) = api.call(reqwest::Method::POST, path, Some(body)).await;
        assert_eq!(
            (s, p["errors"][0]["path"].as_str()),
            (422, Some(field)),
            "{p}"
        );
    }

    // tried: the request (its credential never shown), the response, the mapped fields
    let t = api
        .try_it(&orders, json!([{"name": "order", "value": "42"}]))
        .await;
    assert_eq!(t["ok"], true, "{t}");
    assert_eq!(t["request"]["url"], format!("{shop}/orders/42"));
    assert_eq!(t["response"]["status"], 200);
    assert_eq!(
        t["fields"],
        json!([{"name": "status", "value": "shipped"}, {"name": "first", "value": "Teapot"}])
    );
    assert!(!t.to_string().contains(TOKEN), "{t}");
    // sample inputs have limits
    let (s, p) = api
        .call(
            reqwest::Method::POST,
            &format!("web-services/{orders}/try"),
            Some(json!({"inputs": [{"name": "order", "value": "x".repeat(10_001)}]})),
        )
        .await;
    assert_eq!(
        (s, p["errors"][0]["path"].as_str()),
        (422, Some("inputs")),
        "{p}"
    );
    // an input is a value, URL-encoded: it cannot reach another path
    let t = api
        .try_it(&orders, json!([{"name": "order", "value": "../echo"}]))
        .await;
    assert_eq!(t["request"]["url"], format!("{shop}/orders/..%2Fecho"));
    // without its secret the shop refuses it
    let (s, _) = api
        .call(
            reqwest::Method::PATCH,
            &format!("web-services/{orders}"),
            Some(json!({"secret": null})),
        )
        .await;
    assert_eq!(s, 200);
    let t = api
        .try_it(&orders, json!([{"name": "order", "value": "42"}]))
        .await;
    assert_eq!(
        (t["ok"].clone(), t["error"].as_str()),
        (
            json!(false),
            Some("the web service has no secret for its authentication")
        )
    );
    api.call(
        reqwest::Method::PATCH,
        &format!("web-services/{orders}"),
        Some(json!({"secret": TOKEN})),
    )
    .await;

    // a JSON body: values JSON-escaped inside the template's quotes; an API key header
    let echo = api
        .service(
            "ECHO",
            json!({
                "method": "POST",
                "url": format!("{shop}/echo"),
                "auth": {"type": "api_key", "header": "X-API-Key"},
                "body": {"type": "json", "template": "{\"order\": \"{{ order }}\", \"source\": \"switchyard\"}"},
                "inputs": ["order"],
                "outputs": [{"name": "order", "pointer": "/received/order"}, {"name": "type", "pointer": "/content_type"}, {"name": "key", "pointer": "/key"}]
            }),
            Some("key-123"),
        )
        .await;
    let t = api
        .try_it(
            &echo,
            json!([{"name": "order", "value": "4\"2\", \"admin\": \"yes"}]),
        )
        .await;
    assert_eq!(t["ok"], true, "{t}");
    assert_eq!(
        t["fields"],
        json!([{"name": "order", "value": "4\"2\", \"admin\": \"yes"}, {"name": "type", "value": "application/json"}, {"name": "key", "value": "key-123"}])
    );

    // each way to be Not OK, with its reason
    let cases = [
        (
            "SLOW",
            json!({"url": format!("{shop}/slow"), "timeout_ms": 300}),
            "no answer within 300 ms",
        ),
        (
            "BIG",
            json!({"url": format!("{shop}/big"), "max_response_bytes": 1000}),
            "the response is larger than 1000 bytes",
        ),
        (
            "TEXT",
            json!({"url": format!("{shop}/text"), "outputs": [{"name": "a", "pointer": "/a"}]}),
            "the response is not JSON",
        ),
        (
            "FAIL",
            json!({"url": format!("{shop}/fail")}),
            "the web service answered 500",
        ),
        (
            "TOINTERNAL",
            json!({"url": format!("{shop}/to-internal")}),
            "10.0.0.7 is an internal address",
        ),
        (
            "LOOP",
            json!({"url": format!("{shop}/loop")}),
            "more than 3 redirects",
        ),
        (
            "NOJSON",
            json!({"url": format!("{shop}/echo"), "method": "POST", "body": {"type": "json", "template": "{\"n\": {{ n }}}"}, "inputs": ["n"]}),
            "the body is not JSON",
        ),
    ];
    for (reference, data, reason) in cases {
        let id = api.service(reference, data, None).await;
        let t = api
            .try_it(&id, json!([{"name": "n", "value": "1, \"x\": 2"}]))
            .await;
        assert_eq!(t["ok"], false, "{reference}: {t}");
        assert!(
            t["error"].as_str().unwrap().contains(reason),
            "{reference}: {t}"
        );
    }
    // a redirect to an allowed address is followed
    let to_order = api
        .service(
            "TOORDER",
            json!({"url": format!("{shop}/to-order"), "auth": {"type": "bearer"}, "outputs": [{"name": "number", "pointer": "/order/number"}]}),
            Some(TOKEN),
        )
        .await;
    let t = api.try_it(&to_order, json!([])).await;
    assert_eq!(
        t["fields"],
        json!([{"name": "number", "value": "7"}]),
        "{t}"
    );

    // in a routing: OK stores the mapped fields, Not OK says why in system.error
    let r = api.post("routings", json!({"name": "Orders", "reference": "ORD", "kind": "interaction_start", "channel_family": "messaging"})).await;
    let v = api
        .post(
            &format!("routings/{}/versions", r["id"].as_str().unwrap()),
            json!({"name": "v1"}),
        )
        .await;
    let vid = v["id"].as_str().unwrap().to_owned();
    let start = v["tree"]["actions"][0]["id"].as_str().unwrap().to_owned();
    let add = |ty: &'static str, params: Value, after: String, branch: &'static str| {
        let api = &api;
        let path = format!("versions/{vid}/actions");
        async move {
            api.post(&path, json!({"type": ty, "params": params, "after": {"action_id": after, "branch": branch}})).await["action"]["id"].as_str().unwrap().to_owned()
        }
    };
    let ask = add(
        "message_awaiting_response",
        json!({"wait_seconds": 600, "max_attempts": 3, "error_message": "A number, please.", "questions": [{"question": "Your order number?", "answer_type": "number", "variable": "order.number"}]}),
        start,
        "ok",
    )
    .await;
    let call = add(
        "web_service",
        json!({"service": {"by": "reference", "reference": "ORDERS"}, "inputs": [{"field": "order", "value": "{{ order.number }}"}], "outputs": [{"field": "status", "variable": "order.status"}, {"field": "absent", "variable": "order.absent"}]}),
        ask,
        "ok",
    )
    .await;
    // an input or response field the definition does not have is a warning at compile
    let typo = add(
        "web_service",
        json!({"service": {"by": "reference", "reference": "ORDERS"}, "inputs": [{"field": "ordr", "value": "1"}], "outputs": [{"field": "stat", "variable": "order.stat"}]}),
        call.clone(),
        "not_ok",
    )
    .await;
    let version = api.get(&format!("versions/{vid}")).await;
    let mismatches: Vec<&Value> = version["diagnostics"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "object_mismatch")
        .collect();
    assert_eq!(mismatches.len(), 2, "{}", version["diagnostics"]);
    assert!(
        mismatches
            .iter()
            .all(|d| d["severity"] == "warning" && d["action_id"] == typo.as_str()),
        "{mismatches:?}"
    );
    assert!(
        mismatches[0]["message"]
            .as_str()
            .unwrap()
            .contains("declares no input 'ordr' (it has: order)"),
        "{mismatches:?}"
    );
    let (s, _) = api
        .call(
            reqwest::Method::DELETE,
            &format!("versions/{vid}/actions/{typo}"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    add(
        "simple_message",
        json!({"message": "Order {{ order.number }}: {{ order.status }}"}),
        call.clone(),
        "ok",
    )
    .await;
    add(
        "simple_message",
        json!({"message": "Sorry: {{ system.error }}"}),
        call,
        "not_ok",
    )
    .await;
    for (answer, reply) in [
        ("42", "Order 42: shipped"),
        ("404", "Sorry: the web service answered 404"),
    ] {
        let p = api
            .post(&format!("versions/{vid}/preview"), json!({}))
            .await;
        let pid = p["interaction_id"].as_str().unwrap().to_owned();
        let r = api
            .post(
                &format!("interactions/{pid}/messages"),
                json!({"text": answer}),
            )
            .await;
        let texts: Vec<&str> = r["replies"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["text"].as_str())
            .collect();
        assert_eq!(texts, vec![reply], "{r}");
        // the history says what was called, never the credential
        let i = api.get(&format!("interactions/{pid}")).await;
        let events = i["events"].to_string();
        assert!(
            events.contains("\"millis\"") && events.contains(&format!("{shop}/orders/{answer}")),
            "{events}"
        );
        assert!(!events.contains(TOKEN));
        if answer == "404" {
            assert!(events.contains("\"status\":404"), "{events}");
        }
    }
}

#[tokio::test]
async fn the_address_policy_guards_web_services() {
    // no allow-list: loopback (by address or by a name resolving to it) is refused, and
    // nothing reaches the server
    let strict =
        support::start_as_configured(runtime::ServiceSettings::default(), support::limits()).await;
    let api = Api {
        base: format!("{}/api/v1", strict.root),
    };
    let (shop, hits) = shop().await;
    let port = shop.rsplit(':').next().unwrap().to_owned();
    let by_address = api
        .service("A", json!({"url": format!("{shop}/text")}), None)
        .await;
    let by_name = api
        .service(
            "N",
            json!({"url": format!("http://localhost:{port}/text")}),
            None,
        )
        .await;
    let metadata = api
        .service(
            "M",
            json!({"url": "http://169.254.169.254/latest/meta-data/"}),
            None,
        )
        .await;
    for (id, reason) in [
        (&by_address, "127.0.0.1 is an internal address"),
        (
            &by_name,
            "resolves only to addresses the outbound policy refuses",
        ),
        (&metadata, "169.254.169.254 is an internal address"),
    ] {
        let t = api.try_it(id, json!([])).await;
        assert_eq!(t["ok"], false, "{t}");
        assert!(t["error"].as_str().unwrap().contains(reason), "{t}");
        assert!(t["response"].is_null());
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing reached the server");

    // loopback allowed: the same definitions go through
    let open = support::start(runtime::ServiceSettings::default(), support::limits()).await;
    let api = Api {
        base: format!("{}/api/v1", open.root),
    };
    for (reference, url) in [
        ("A", format!("{shop}/text")),
        ("N", format!("http://localhost:{port}/text")),
    ] {
        let id = api.service(reference, json!({"url": url}), None).await;
        let t = api.try_it(&id, json!([])).await;
        assert_eq!(t["ok"], true, "{t}");
        assert_eq!(t["response"]["body"], "just text");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn asynchronous_calls_go_on_at_once_and_are_made_at_least_once() {
    let server = support::start(runtime::ServiceSettings::default(), support::limits()).await;
    let api = Api {
        base: format!("{}/api/v1", server.root),
    };
    let (shop, _, keys) = shop_with_keys().await;
    let flaky = api
        .service(
            "FLAKY",
            json!({"method": "POST", "url": format!("{shop}/flaky")}),
            None,
        )
        .await;
    let refuse = api
        .service(
            "REFUSE",
            json!({"method": "POST", "url": format!("{shop}/refuse")}),
            None,
        )
        .await;
    let r = api.post("routings", json!({"name": "Async", "reference": "ASYNC", "kind": "interaction_start", "channel_family": "messaging"})).await;
    let v = api
        .post(
            &format!("routings/{}/versions", r["id"].as_str().unwrap()),
            json!({"name": "v1"}),
        )
        .await;
    let vid = v["id"].as_str().unwrap().to_owned();
    let mut after = v["tree"]["actions"][0]["id"].as_str().unwrap().to_owned();
    for service in ["FLAKY", "REFUSE"] {
        after = api.post(&format!("versions/{vid}/actions"), json!({"type": "web_service", "params": {"service": {"by": "reference", "reference": service}, "synchronous": false}, "after": {"action_id": after, "branch": "ok"}})).await["action"]["id"].as_str().unwrap().to_owned();
    }
    api.post(&format!("versions/{vid}/actions"), json!({"type": "simple_message", "params": {"message": "On its way"}, "after": {"action_id": after, "branch": "ok"}})).await;
    // the routing goes on at once: both calls are queued, neither is waited for
    let p = api
        .post(&format!("versions/{vid}/preview"), json!({}))
        .await;
    assert_eq!(p["replies"][0]["text"], "On its way", "{p}");
    let calls = |id: String| {
        let api = &api;
        async move { api.get(&format!("web-services/{id}/calls")).await["items"][0].clone() }
    };
    // the refused one is given up at once; the failing one is tried again after its backoff,
    // with the same idempotency key
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let f = calls(flaky.clone()).await;
        let r = calls(refuse.clone()).await;
        if f["state"] == "done" && r["state"] == "given_up" {
            assert_eq!(f["attempts"], 2, "{f}");
            assert_eq!(r["attempts"], 1, "{r}");
            assert_eq!(r["last_status"], 400);
            let keys = keys.lock().unwrap().clone();
            assert_eq!(
                keys,
                vec![f["id"].as_str().unwrap().to_owned(); 2],
                "one key for both attempts"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the calls were made: {f} {r}"
        );
        server.clock.advance(jiff::SignedDuration::from_secs(3));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // the history says they were queued
    let i = api
        .get(&format!(
            "interactions/{}",
            p["interaction_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        i["events"]
            .to_string()
            .matches("web_service_queued")
            .count(),
        2,
        "{}",
        i["events"]
    );
}
