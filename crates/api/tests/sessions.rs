//! Accounts and browser sessions over real HTTP: sign-in sets a strict cookie, state-changing
//! requests need the session's CSRF token, sessions end when idle, when old, at sign-out and
//! when their account changes; wrong passwords are rate-limited without telling whether the
//! account exists.

use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::{Value, json};

mod support;

use support::{ADMIN, admin_client};

const PASSWORD: &str = "correct horse battery staple";

struct Browser {
    http: reqwest::Client,
    base: String,
    cookie: String,
    csrf: String,
}

async fn login(base: &str, email: &str, password: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

impl Browser {
    async fn sign_in(base: &str, email: &str) -> Browser {
        let r = login(base, email, PASSWORD).await;
        assert_eq!(r.status(), StatusCode::OK);
        let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
        for flag in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
            assert!(set.contains(flag), "{set} lacks {flag}");
        }
        let cookie = set.split(';').next().unwrap().to_owned();
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["account"]["email"], email);
        assert!(body["account"].get("password").is_none());
        Browser {
            http: reqwest::Client::new(),
            base: base.to_owned(),
            cookie,
            csrf: body["csrf_token"].as_str().unwrap().to_owned(),
        }
    }

    async fn get(&self, path: &str) -> StatusCode {
        self.http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap()
            .status()
    }

    async fn post(&self, path: &str, body: Value, csrf: Option<&str>) -> (StatusCode, Value) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .json(&body);
        if let Some(t) = csrf {
            req = req.header("x-csrf-token", t);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

async fn account(base: &str, email: &str, role: &str) -> Value {
    let r = admin_client()
        .post(format!("{base}/accounts"))
        .json(&json!({"email": email, "name": email, "password": PASSWORD, "role": role}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().await.unwrap()
}

#[tokio::test]
async fn sessions_carry_a_role_need_their_csrf_token_and_end() {
    let server = support::start(runtime::ServiceSettings::default(), support::small_limits()).await;
    let base = format!("{}/api/v1", server.root);
    let ann = account(&base, "ann@example.com", "designer").await;
    let b = Browser::sign_in(&base, "ann@example.com").await;
    assert_eq!(b.get("/routings").await, StatusCode::OK);
    let routing = json!({"name": "R", "reference": "R1", "kind": "interaction_start", "channel_family": "messaging"});
    // a cookie alone does not change anything: the CSRF token must come with it
    let (s, p) = b.post("/routings", routing.clone(), None).await;
    assert_eq!(
        (s, p["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("csrf_failed"))
    );
    let (s, _) = b
        .post("/routings", routing.clone(), Some("not-the-token"))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, created) = b.post("/routings", routing, Some(&b.csrf.clone())).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    // the role holds: a designer does not publish or manage accounts
    let (s, _) = b
        .post(
            "/accounts",
            json!({"email": "x@example.com", "name": "X", "password": PASSWORD, "role": "administrator"}),
            Some(&b.csrf.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // idle for 31 minutes: ended
    server.clock.advance(SignedDuration::from_mins(29));
    assert_eq!(b.get("/routings").await, StatusCode::OK);
    server.clock.advance(SignedDuration::from_mins(29));
    assert_eq!(
        b.get("/routings").await,
        StatusCode::OK,
        "in use: still open"
    );
    server.clock.advance(SignedDuration::from_mins(31));
    assert_eq!(b.get("/routings").await, StatusCode::UNAUTHORIZED);

    // 12 hours at most, however busy
    let b = Browser::sign_in(&base, "ann@example.com").await;
    for _ in 0..25 {
        server.clock.advance(SignedDuration::from_mins(29));
        if b.get("/routings").await != StatusCode::OK {
            break;
        }
    }
    assert_eq!(b.get("/routings").await, StatusCode::UNAUTHORIZED);

    // a session outlives a restart (it is stored, as its secret's hash), its CSRF token too
    let b = Browser::sign_in(&base, "ann@example.com").await;
    let again = Browser {
        base: format!("{}/api/v1", server.restarted().await),
        http: reqwest::Client::new(),
        cookie: b.cookie.clone(),
        csrf: b.csrf.clone(),
    };
    assert_eq!(again.get("/routings").await, StatusCode::OK);
    let (s, _) = again
        .post(
            "/routings",
            json!({"name": "After", "reference": "AFTER", "kind": "interaction_start", "channel_family": "messaging"}),
            Some(&b.csrf.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);

    // signed out: ended, and the cookie is cleared
    let b = Browser::sign_in(&base, "ann@example.com").await;
    let out = b
        .http
        .post(format!("{base}/auth/logout"))
        .header("cookie", &b.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(b.get("/routings").await, StatusCode::UNAUTHORIZED);

    // disabled: its sessions end and it cannot sign in
    let b = Browser::sign_in(&base, "ann@example.com").await;
    let id = ann["id"].as_str().unwrap();
    let r = admin_client()
        .patch(format!("{base}/accounts/{id}"))
        .json(&json!({"status": "disabled"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(b.get("/routings").await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        login(&base, "ann@example.com", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_eleventh_wrong_password_in_a_minute_is_refused_alike_for_any_email() {
    let server = support::start(runtime::ServiceSettings::default(), support::small_limits()).await;
    let base = format!("{}/api/v1", server.root);
    account(&base, "bob@example.com", "viewer").await;
    let mut answers = Vec::new();
    for email in ["bob@example.com", "nobody@example.com"] {
        for n in 1..=11 {
            let r = login(&base, email, "wrong password, again").await;
            let status = r.status();
            let retry = r.headers().get("retry-after").cloned();
            let body: Value = r.json().await.unwrap();
            if n <= 10 {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{email} #{n}");
                assert_eq!(body["code"], "invalid_credentials");
            } else {
                assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{email} #{n}");
                assert_eq!(body["code"], "too_many_attempts");
                assert!(retry.is_some(), "Retry-After");
                answers.push(body["code"].clone());
            }
        }
    }
    // the right password is refused too while the account is locked, then works again
    assert_eq!(
        login(&base, "bob@example.com", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    server.clock.advance(SignedDuration::from_secs(61));
    assert_eq!(
        login(&base, "bob@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    assert_eq!(answers[0], answers[1], "an unknown email is answered alike");

    // one address trying many emails: refused after 100 wrong passwords in a minute
    server.clock.advance(SignedDuration::from_secs(61));
    let mut refused_at = None;
    for n in 1..=101 {
        let r = login(
            &base,
            &format!("guess{n}@example.com"),
            "wrong password, again",
        )
        .await;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            refused_at = Some(n);
            break;
        }
    }
    assert_eq!(refused_at, Some(101));
}

#[tokio::test]
async fn passwords_follow_the_policy_and_never_show() {
    let server = support::start(runtime::ServiceSettings::default(), support::small_limits()).await;
    let base = format!("{}/api/v1", server.root);
    let http = admin_client();
    for (password, why) in [
        ("short", "too short"),
        ("password1234", "common"),
        ("aaaaaaaaaaaaaaa", "one character"),
        ("carol@example.com!", "the email"),
    ] {
        let r = http
            .post(format!("{base}/accounts"))
            .json(&json!({"email": "carol@example.com", "name": "Carol", "password": password, "role": "viewer"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{why}");
    }
    let created = account(&base, "carol@example.com", "viewer").await;
    assert!(created.get("password").is_none() && created.get("password_hash").is_none());
    let r = http
        .post(format!("{base}/accounts"))
        .json(&json!({"email": "CAROL@example.com", "name": "Carol", "password": PASSWORD, "role": "viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::CONFLICT,
        "an email is unique in any case"
    );
    let list = http
        .get(format!("{base}/accounts"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!list.contains("argon2") && !list.contains(PASSWORD));
    let _ = ADMIN;
}
