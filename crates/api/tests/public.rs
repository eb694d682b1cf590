//! The public surface: rate-limited per client address and per entry point (429 with
//! `Retry-After`), served alone on its own listener (no administration there), and the
//! administration refuses a `Host` it does not answer for (DNS rebinding).

use reqwest::StatusCode;
use serde_json::json;

mod support;

use support::admin_client;

#[tokio::test]
async fn public_requests_are_limited_per_address_and_entry_point() {
    let limits = api::HttpLimits {
        public_per_address: api::Rate {
            per_second: 0.5,
            burst: 3.0,
        },
        public_per_entry_point: api::Rate {
            per_second: 0.5,
            burst: 5.0,
        },
        ..support::limits()
    };
    let server = support::start(runtime::ServiceSettings::default(), limits).await;
    let http = reqwest::Client::new();
    let page = |reference: &str| format!("{}/chat/{reference}", server.root);
    // from this address: 3, then refused with a delay to wait
    for n in 1..=3 {
        let r = http.get(page("nowhere")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "#{n} reaches the route");
    }
    let r = http.get(page("nowhere")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    // the HTTP channel's inbound messages count too (the same address)
    let r = http
        .post(format!(
            "{}/api/v1/channels/http/nowhere/messages",
            server.root
        ))
        .json(&json!({"message_id": "m", "from": "x", "text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // the administration is not the public surface: not limited
    for _ in 0..5 {
        let r = admin_client()
            .get(format!("{}/api/v1/routings", server.root))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn an_entry_point_has_its_own_limit() {
    let limits = api::HttpLimits {
        public_per_entry_point: api::Rate {
            per_second: 0.5,
            burst: 2.0,
        },
        ..support::limits()
    };
    let server = support::start(runtime::ServiceSettings::default(), limits).await;
    let http = reqwest::Client::new();
    let send =
        |reference: &'static str| http.get(format!("{}/chat/{reference}", server.root)).send();
    assert_eq!(send("a").await.unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(send("a").await.unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(
        send("a").await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        send("b").await.unwrap().status(),
        StatusCode::NOT_FOUND,
        "another entry point"
    );
}

#[tokio::test]
async fn the_public_listener_serves_only_the_public_surface() {
    let server = support::start(runtime::ServiceSettings::default(), support::limits()).await;
    let http = admin_client();
    for path in ["/healthz", "/readyz"] {
        let r = http
            .get(format!("{}{path}", server.public_root))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    // the HTTP channel answers there (no such entry point here)
    let r = http
        .post(format!(
            "{}/api/v1/channels/http/nowhere/messages",
            server.public_root
        ))
        .json(&json!({"message_id": "m", "from": "x", "text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let detail = r.json::<serde_json::Value>().await.unwrap()["detail"].to_string();
    assert!(
        detail.contains("entry point"),
        "the handler answered: {detail}"
    );
    // the administration does not, even with the administrator's token
    for path in [
        "/api/v1/routings",
        "/api/v1/openapi.json",
        "/metrics",
        "/api/v1/api-tokens",
    ] {
        let r = http
            .get(format!("{}{path}", server.public_root))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn the_administration_answers_its_own_host_names_only() {
    let server = support::start(runtime::ServiceSettings::default(), support::limits()).await;
    let http = admin_client();
    let r = http
        .get(format!("{}/api/v1/routings", server.root))
        .header("host", "attacker.example:8080")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["code"],
        "host_not_allowed"
    );
    let r = http
        .get(format!("{}/api/v1/routings", server.root))
        .header("host", "localhost:1234")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // no permissive CORS
    let r = http
        .get(format!("{}/api/v1/routings", server.root))
        .header("origin", "https://attacker.example")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

/// The browser UI's files as the binary embeds them: a file is served with its type and cache
/// rule, any other page path is the app's `index.html` (with its CSP), the API keeps its own.
#[tokio::test]
async fn the_browser_ui_is_served_at_the_root() {
    static ASSETS: &[api::ui::Asset] = &[
        api::ui::Asset {
            path: "index.html",
            bytes: b"<!doctype html><title>Switchyard</title>",
            content_type: "text/html; charset=utf-8",
        },
        api::ui::Asset {
            path: "assets/index-abc123.js",
            bytes: b"console.log(1)",
            content_type: "text/javascript; charset=utf-8",
        },
    ];
    let server = support::start(
        runtime::ServiceSettings::default(),
        api::HttpLimits {
            ui: ASSETS,
            ..support::limits()
        },
    )
    .await;
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{}{path}", server.root)).send();
    for page in [
        "/",
        "/routings/messaging",
        "/routings/email/0190a0a0-0000-7000-8000-000000000001",
    ] {
        let r = get(page).await.unwrap();
        assert_eq!(r.status(), 200, "{page}");
        assert_eq!(r.headers()["cache-control"], "no-cache");
        assert!(
            r.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .starts_with("default-src 'self'")
        );
        assert_eq!(r.headers()["x-frame-options"], "DENY");
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("<title>Switchyard</title>")
        );
    }
    let r = get("/assets/index-abc123.js").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    // a missing file, an API path and a write are not pages
    for (method, path) in [
        (reqwest::Method::GET, "/assets/gone-999.js"),
        (reqwest::Method::GET, "/api/v1/nowhere"),
        (reqwest::Method::POST, "/routings/messaging"),
    ] {
        let r = http
            .request(method, format!("{}{path}", server.root))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    }
}
