//! Every operation of the OpenAPI document, called as nobody, with a bad token, and with a token
//! of each built-in role: the public surface answers anyone; everything else answers 401 without
//! a valid token, 403 to a role that does not have the permission the operation declares, and
//! neither to one that has it. An operation added without a declaration fails here.

use std::sync::Arc;

use flow::access::{BUILT_IN, Need, built_in};
use runtime::ManualClock;
use serde_json::{Value, json};

mod support;

use support::ADMIN;

struct Server {
    base: String,
    clock: Arc<ManualClock>,
    _server: support::TestServer,
}

async fn start() -> Server {
    let server = support::start(runtime::ServiceSettings::default(), support::small_limits()).await;
    Server {
        base: format!("{}/api/v1", server.root),
        clock: server.clock.clone(),
        _server: server,
    }
}

async fn call(
    http: &reqwest::Client,
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
    let with_body = matches!(method.as_str(), "POST" | "PATCH" | "PUT");
    let mut req = http.request(method, format!("{base}{path}"));
    if with_body {
        req = req.json(&json!({}));
    }
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The path with its parameters filled with values that name nothing.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| match seg {
            "{type}" => "start".to_owned(),
            "{reference}" => "nowhere".to_owned(),
            s if s.starts_with('{') => uuid::Uuid::now_v7().to_string(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_operation_declares_and_enforces_its_permission() {
    let s = start().await;
    let http = reqwest::Client::new();
    let admin = |method: &'static str, path: &'static str, body: Value| {
        let http = http.clone();
        let url = format!("{}{path}", s.base);
        async move {
            let resp = http
                .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url)
                .bearer_auth(ADMIN)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert!(
                resp.status().is_success(),
                "{method} {path}: {}",
                resp.status()
            );
            resp.json::<Value>().await.unwrap()
        }
    };
    // one token per built-in role, and an agent's own token
    let mut tokens = Vec::new();
    for role in BUILT_IN {
        let t = admin("POST", "/api-tokens", json!({"name": role, "role": role})).await;
        tokens.push((role, t["token"].as_str().unwrap().to_owned()));
    }
    let agent = admin("POST", "/users", json!({"reference": "ann", "name": "Ann"})).await;
    let agent_token = agent["token"].as_str().unwrap().to_owned();

    let doc = admin("GET", "/openapi.json", Value::Null).await;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let what = format!("{} {path}", method.to_uppercase());
            let security = op["security"]
                .as_array()
                .unwrap_or_else(|| panic!("{what} declares no permission"));
            let concrete = concrete(path);
            let (anonymous, _) = call(&http, &s.base, method, &concrete, None).await;
            if security == &vec![json!({})] {
                assert!(
                    anonymous != 401 && anonymous != 403,
                    "{what} is public but answered {anonymous}"
                );
                checked += 1;
                continue;
            }
            let needs: Vec<Need> = security
                .iter()
                .flat_map(|alt| {
                    alt.as_object()
                        .unwrap()
                        .values()
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .flat_map(|scopes| scopes.as_array().unwrap().clone())
                .map(|scope| {
                    Need::parse(scope.as_str().unwrap())
                        .unwrap_or_else(|| panic!("{what}: unknown permission {scope}"))
                })
                .collect();
            assert_eq!(anonymous, 401, "{what} without a token");
            let (bad, _) = call(&http, &s.base, method, &concrete, Some("sy_not_a_token")).await;
            assert_eq!(bad, 401, "{what} with an unknown token");
            let agent_api = path.starts_with("/agent/");
            // an agent renews their own token only (see below); others need accounts:edit
            let own_token = path == "/users/{id}/token";
            for (role, token) in &tokens {
                let meets = |n: &Need| built_in(role).unwrap().meets(*n);
                let allowed = if own_token {
                    meets(&Need::parse("accounts:edit").unwrap())
                } else {
                    needs.iter().any(meets)
                };
                let (status, body) = call(&http, &s.base, method, &concrete, Some(token)).await;
                if !allowed {
                    assert_eq!(status, 403, "{what} as {role}: {body}");
                    assert_eq!(body["code"], "forbidden", "{what} as {role}");
                } else if !agent_api {
                    assert!(
                        status != 401 && status != 403,
                        "{what} as {role} (allowed) answered {status}: {body}"
                    );
                } else {
                    // the agent API is for agents' own tokens: an API token is refused
                    assert_eq!(status, 403, "{what} as a {role} API token");
                }
            }
            if agent_api {
                let (status, body) =
                    call(&http, &s.base, method, &concrete, Some(&agent_token)).await;
                assert!(
                    status != 401 && status != 403,
                    "{what} as an agent answered {status}: {body}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 90, "only {checked} operations in the document");

    // an agent renews their own token, not another's
    let other = admin("POST", "/users", json!({"reference": "bob", "name": "Bob"})).await;
    for (user, expected) in [(&other, 403), (&agent, 200)] {
        let path = format!("/users/{}/token", user["id"].as_str().unwrap());
        let (status, _) = call(&http, &s.base, "post", &path, Some(&agent_token)).await;
        assert_eq!(status, expected, "{path}");
    }
}

#[tokio::test]
async fn tokens_are_shown_once_expire_and_are_revoked() {
    let s = start().await;
    let http = reqwest::Client::new();
    let post = |path: &str, token: &str, body: Value| {
        http.post(format!("{}{path}", s.base))
            .bearer_auth(token.to_owned())
            .json(&body)
            .send()
    };
    let r = post(
        "/api-tokens",
        ADMIN,
        json!({"name": "ci", "role": "publisher", "expires_at": "2026-06-01T09:00:00Z"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let created: Value = r.json().await.unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    // the list never shows the token
    let list: Value = http
        .get(format!("{}/api-tokens", s.base))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!list.to_string().contains(&token));
    assert_eq!(list["items"][0]["role"], "publisher");
    // a publisher creates routings, not tokens
    let routing = json!({"name": "R", "reference": "R1", "kind": "interaction_start", "channel_family": "messaging"});
    assert_eq!(
        post("/routings", &token, routing.clone())
            .await
            .unwrap()
            .status()
            .as_u16(),
        201
    );
    assert_eq!(
        post(
            "/api-tokens",
            &token,
            json!({"name": "x", "role": "administrator"})
        )
        .await
        .unwrap()
        .status()
        .as_u16(),
        403
    );
    // refused: a past expiry, an unknown role
    for bad in [
        json!({"name": "old", "role": "viewer", "expires_at": "2020-01-01T00:00:00Z"}),
        json!({"name": "x", "role": "superuser"}),
        json!({"name": " ", "role": "viewer"}),
    ] {
        let r = post("/api-tokens", ADMIN, bad.clone()).await.unwrap();
        assert_eq!(r.status().as_u16(), 422, "{bad}");
    }
    // expired: refused once its time has come
    let viewer: Value = post(
        "/api-tokens",
        ADMIN,
        json!({"name": "brief", "role": "viewer", "expires_at": "2026-06-01T08:30:00Z"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let brief = viewer["token"].as_str().unwrap().to_owned();
    let read = |token: String| {
        http.get(format!("{}/routings", s.base))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(read(brief.clone()).await.unwrap().status().as_u16(), 200);
    s.clock.advance(jiff::SignedDuration::from_mins(31));
    assert_eq!(read(brief).await.unwrap().status().as_u16(), 401);
    // revoked: refused at once
    let r = http
        .delete(format!("{}/api-tokens/{id}", s.base))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let r = http
        .get(format!("{}/routings", s.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // the scheme is case-insensitive
    let r = http
        .get(format!("{}/routings", s.base))
        .header("authorization", format!("bEaReR {ADMIN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}
