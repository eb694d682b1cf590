//! Agents are accounts (they sign in to the agent API with an email and a password, and their
//! account's status governs their token); custom roles grant what they list, at once; messaging
//! and email smart routings are separate permissions on every routing operation.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

mod support;

use support::admin_client;

const PASSWORD: &str = "correct horse battery staple";

struct Api {
    base: String,
    http: reqwest::Client,
    /// `Authorization: Bearer`, unless the client carries a session cookie.
    token: Option<String>,
    cookie: Option<(String, String)>,
}

impl Api {
    fn admin(base: &str) -> Api {
        Api {
            base: base.to_owned(),
            http: admin_client(),
            token: None,
            cookie: None,
        }
    }

    fn bearer(base: &str, token: &str) -> Api {
        Api {
            base: base.to_owned(),
            http: reqwest::Client::new(),
            token: Some(token.to_owned()),
            cookie: None,
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some((cookie, csrf)) = &self.cookie {
            req = req.header("cookie", cookie).header("x-csrf-token", csrf);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }
    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }
    async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(body)).await
    }
    async fn delete(&self, path: &str) -> StatusCode {
        self.call(Method::DELETE, path, None).await.0
    }
}

async fn sign_in(base: &str, email: &str) -> Result<Api, StatusCode> {
    let r = reqwest::Client::new()
        .post(format!("{base}/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    if r.status() != StatusCode::OK {
        return Err(r.status());
    }
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let body: Value = r.json().await.unwrap();
    Ok(Api {
        base: base.to_owned(),
        http: reqwest::Client::new(),
        token: None,
        cookie: Some((cookie, body["csrf_token"].as_str().unwrap().to_owned())),
    })
}

#[tokio::test]
async fn agents_are_accounts_that_sign_in_and_whose_status_governs_their_token() {
    let server = support::start(runtime::ServiceSettings::default(), support::limits()).await;
    let base = format!("{}/api/v1", server.root);
    let admin = Api::admin(&base);

    let (s, ann) = admin
        .post(
            "/users",
            json!({"reference": "ann", "name": "Ann", "email": "ann@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{ann}");
    assert_eq!(ann["email"], "ann@example.com");
    assert!(ann.get("password").is_none());
    let id = ann["id"].as_str().unwrap().to_owned();
    let token = ann["token"].as_str().unwrap().to_owned();
    // the same person, as an account with the agent role
    let (s, account) = admin.get(&format!("/accounts/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (account["role"].as_str(), account["name"].as_str()),
        (Some("agent"), Some("Ann"))
    );
    // a user without a sign-in is an account too, without email
    let (_, bob) = admin
        .post("/users", json!({"reference": "bob", "name": "Bob"}))
        .await;
    let (_, bob_account) = admin
        .get(&format!("/accounts/{}", bob["id"].as_str().unwrap()))
        .await;
    assert_eq!(bob_account["email"], Value::Null);
    assert_eq!(bob_account["role"], "agent");

    // Ann signs in and works through the agent API with her session
    let desk = sign_in(&base, "ann@example.com").await.unwrap();
    let (s, me) = desk.get("/agent/me").await;
    assert_eq!((s, me["id"].as_str()), (StatusCode::OK, Some(id.as_str())));
    let (s, me) = desk
        .call(
            Method::PUT,
            "/agent/presence",
            Some(json!({"presence": "online"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(me["presence"], "online");
    let (s, _) = desk.get("/routings").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // renaming the account renames the agent
    let (s, _) = admin
        .patch(&format!("/accounts/{id}"), json!({"name": "Ann Smith"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, user) = admin.get(&format!("/users/{id}")).await;
    assert_eq!(user["name"], "Ann Smith");

    // an agent keeps the agent role; agents are made through /users
    let (s, p) = admin
        .patch(&format!("/accounts/{id}"), json!({"role": "administrator"}))
        .await;
    assert_eq!(
        (s, p["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field"))
    );
    let (s, _) = admin
        .post(
            "/accounts",
            json!({"email": "carl@example.com", "name": "Carl", "password": PASSWORD, "role": "agent"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // an email is one account's
    let (s, p) = admin
        .post(
            "/users",
            json!({"reference": "ann2", "name": "Ann", "email": "ANN@example.com"}),
        )
        .await;
    assert_eq!(
        (s, p["code"].as_str()),
        (StatusCode::CONFLICT, Some("email_taken"))
    );
    // Bob gets a sign-in later
    let bob_id = bob["id"].as_str().unwrap();
    let (s, b) = admin
        .patch(
            &format!("/users/{bob_id}"),
            json!({"email": "bob@example.com", "password": PASSWORD, "capacity": 2}),
        )
        .await;
    assert_eq!(
        (s, b["email"].as_str(), b["capacity"].as_u64()),
        (StatusCode::OK, Some("bob@example.com"), Some(2))
    );
    assert!(sign_in(&base, "bob@example.com").await.is_ok());

    // a disabled account stops both the session and the token
    let agent = Api::bearer(&base, &token);
    assert_eq!(agent.get("/agent/me").await.0, StatusCode::OK);
    let (s, _) = admin
        .patch(&format!("/accounts/{id}"), json!({"status": "disabled"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(agent.get("/agent/me").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(desk.get("/agent/me").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        sign_in(&base, "ann@example.com").await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    admin
        .patch(&format!("/accounts/{id}"), json!({"status": "active"}))
        .await;
    assert_eq!(agent.get("/agent/me").await.0, StatusCode::OK);

    // deleting the account deletes the agent
    assert_eq!(
        admin.delete(&format!("/accounts/{id}")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        admin.get(&format!("/users/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(agent.get("/agent/me").await.0, StatusCode::UNAUTHORIZED);
    // and deleting the agent deletes the account
    assert_eq!(
        admin.delete(&format!("/users/{bob_id}")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        admin.get(&format!("/accounts/{bob_id}")).await.0,
        StatusCode::NOT_FOUND
    );
}

fn routing(reference: &str, family: &str) -> Value {
    json!({"name": reference, "reference": reference, "kind": "interaction_start", "channel_family": family})
}

#[tokio::test]
async fn custom_roles_grant_what_they_list_and_families_are_apart() {
    let server = support::start(runtime::ServiceSettings::default(), support::limits()).await;
    let base = format!("{}/api/v1", server.root);
    let admin = Api::admin(&base);
    let (_, chat) = admin.post("/routings", routing("CHAT", "messaging")).await;
    let chat_id = chat["id"].as_str().unwrap().to_owned();
    let (_, chat_version) = admin
        .post(
            &format!("/routings/{chat_id}/versions"),
            json!({"name": "v1"}),
        )
        .await;
    let chat_version = chat_version["id"].as_str().unwrap().to_owned();

    // the role list: six built-in roles and every permission
    let (s, roles) = admin.get("/roles").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(roles["items"].as_array().unwrap().len(), 6);
    assert!(
        roles["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "routings.email:publish")
    );

    let email_designer = json!({
        "reference": "email-designer",
        "name": "Email designer",
        "permissions": ["routings.email:read", "routings.email:create", "routings.email:edit"]
    });
    let (s, role) = admin.post("/roles", email_designer.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{role}");
    assert_eq!(role["built_in"], false);
    assert_eq!(
        admin.post("/roles", email_designer).await.0,
        StatusCode::CONFLICT
    );
    let (s, p) = admin
        .post(
            "/roles",
            json!({"reference": "viewer", "name": "Mine", "permissions": []}),
        )
        .await;
    assert_eq!(
        (s, p["code"].as_str()),
        (StatusCode::CONFLICT, Some("reference_taken"))
    );
    let (s, _) = admin
        .post(
            "/roles",
            json!({"reference": "x", "name": "X", "permissions": ["routings:read"]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, p) = admin
        .patch("/roles/designer", json!({"name": "Mine"}))
        .await;
    assert_eq!(
        (s, p["code"].as_str()),
        (StatusCode::CONFLICT, Some("built_in_role"))
    );

    // a token and an account with the custom role
    let (s, t) = admin
        .post(
            "/api-tokens",
            json!({"name": "mail team", "role": "email-designer"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let mail = Api::bearer(&base, t["token"].as_str().unwrap());
    let (s, _) = admin
        .post(
            "/accounts",
            json!({"email": "eve@example.com", "name": "Eve", "password": PASSWORD, "role": "email-designer"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let eve = sign_in(&base, "eve@example.com").await.unwrap();

    for who in [&mail, &eve] {
        // email routings: yes
        let (s, mine) = who
            .post(
                "/routings",
                routing(&format!("MAIL{}", who.token.is_some()), "email"),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{mine}");
        let mine_id = mine["id"].as_str().unwrap();
        let (s, _) = who
            .patch(&format!("/routings/{mine_id}"), json!({"name": "Mail"}))
            .await;
        assert_eq!(s, StatusCode::OK);
        // messaging routings: no, whichever way it is reached
        let (s, p) = who.post("/routings", routing("NOPE", "messaging")).await;
        assert_eq!(
            (s, p["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("forbidden")),
            "{p}"
        );
        assert_eq!(
            who.get(&format!("/routings/{chat_id}")).await.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            who.get(&format!("/versions/{chat_version}")).await.0,
            StatusCode::FORBIDDEN
        );
        let (s, _) = who
            .patch(
                &format!("/versions/{chat_version}"),
                json!({"name": "mine"}),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert_eq!(
            who.get("/routings?channel_family=messaging").await.0,
            StatusCode::FORBIDDEN
        );
        // the list holds the email routings only
        let (s, list) = who.get("/routings").await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            list["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["channel_family"] == "email"),
            "{list}"
        );
        // nothing else: not publishing, not accounts
        assert_eq!(who.get("/accounts").await.0, StatusCode::FORBIDDEN);
        let (_, v) = who
            .post(
                &format!("/routings/{mine_id}/versions"),
                json!({"name": "v1"}),
            )
            .await;
        let (s, _) = who
            .post(
                &format!("/versions/{}/put-in-test", v["id"].as_str().unwrap()),
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    // the admin's list holds both families
    let (_, all) = admin.get("/routings").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 3);

    // a change of the role applies at once, to tokens and sessions alike
    let (s, changed) = admin
        .patch(
            "/roles/email-designer",
            json!({"permissions": ["routings.email:read", "routings.messaging:read"]}),
        )
        .await;
    assert_eq!((s, changed["revision"].as_u64()), (StatusCode::OK, Some(2)));
    for who in [&mail, &eve] {
        assert_eq!(
            who.get(&format!("/routings/{chat_id}")).await.0,
            StatusCode::OK
        );
        assert_eq!(
            who.post("/routings", routing("LATE", "email")).await.0,
            StatusCode::FORBIDDEN
        );
    }

    // a role in use stays; once nobody has it, it goes
    let (s, p) = admin
        .call(Method::DELETE, "/roles/email-designer", None)
        .await;
    assert_eq!(
        (s, p["code"].as_str()),
        (StatusCode::CONFLICT, Some("role_in_use"))
    );
    let (_, accounts) = admin.get("/accounts").await;
    let eve_id = accounts["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "eve@example.com")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    admin
        .patch(&format!("/accounts/{eve_id}"), json!({"role": "viewer"}))
        .await;
    admin
        .call(
            Method::DELETE,
            &format!("/api-tokens/{}", t["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        admin.delete("/roles/email-designer").await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        admin.get("/roles/email-designer").await.0,
        StatusCode::NOT_FOUND
    );
    // each change of the role is in the audit log (created, changed, deleted)
    let (_, audit) = admin.get("/audit?target=email-designer").await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions.len(), 3, "{audit}");
    assert!(actions.iter().all(|a| a.contains("role")), "{actions:?}");
}
