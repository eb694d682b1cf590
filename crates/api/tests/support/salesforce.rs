//! A local stand-in of the Salesforce REST API, shared by the API's tests: the OAuth 2.0
//! client credentials token endpoint and sObject create (records of `Case`, `Lead`, `Task`,
//! `ContentVersion`; each needs its required field, as Salesforce refuses a record without it),
//! answering in the shapes of Salesforce's REST API documentation.

// each test file uses its own part of it
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

pub const CLIENT_ID: &str = "3MVG9test-connected-app";
pub const CLIENT_SECRET: &str = "salesforce-client-secret-0123";
pub const TOKEN: &str = "00Dxx0000001gPL!AR8AQJXg5oj8jXSgxJfA0lBog";

/// What the stand-in created: (object, fields), in order.
pub type Records = Arc<Mutex<Vec<(String, Map<String, Value>)>>>;

pub async fn salesforce() -> (String, Records) {
    let records: Records = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("http://{}", listener.local_addr().unwrap());
    let instance = root.clone();
    let made = records.clone();
    let app = axum::Router::new()
        .route(
            "/services/oauth2/token",
            axum::routing::post(move |body: axum::body::Bytes| {
                let instance = instance.clone();
                async move {
                    let form: std::collections::HashMap<String, String> =
                        form_urlencoded::parse(&body).into_owned().collect();
                    let ok = form.get("grant_type").map(String::as_str) == Some("client_credentials")
                        && form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
                        && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET);
                    if ok {
                        (axum::http::StatusCode::OK, axum::Json(json!({"access_token": TOKEN, "instance_url": instance, "id": format!("{instance}/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS"), "token_type": "Bearer", "issued_at": "1278448101416", "signature": "miwQ1VjFt0EWOOWlUyJD0JZ1vCkMgxp9hCf0MXT4YOU="})))
                    } else {
                        (axum::http::StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_client", "error_description": "invalid client credentials"})))
                    }
                }
            }),
        )
        .route(
            "/services/data/v60.0/sobjects/{object}/",
            axum::routing::post(
                move |axum::extract::Path(object): axum::extract::Path<String>,
                      headers: axum::http::HeaderMap,
                      axum::Json(fields): axum::Json<Map<String, Value>>| {
                    let made = made.clone();
                    async move {
                        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {TOKEN}")) {
                            return (axum::http::StatusCode::UNAUTHORIZED, axum::Json(json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])));
                        }
                        let required = match object.as_str() {
                            "Case" | "Task" => "Subject",
                            "Lead" => "LastName",
                            _ => "Title",
                        };
                        if !fields.contains_key(required) {
                            return (axum::http::StatusCode::BAD_REQUEST, axum::Json(json!([{"message": format!("Required fields are missing: [{required}]"), "errorCode": "REQUIRED_FIELD_MISSING", "fields": [required]}])));
                        }
                        let mut all = made.lock().unwrap();
                        all.push((object.clone(), fields));
                        let prefix = match object.as_str() {
                            "ContentVersion" => "068",
                            "Task" => "00T",
                            _ => "500",
                        };
                        (axum::http::StatusCode::CREATED, axum::Json(json!({"id": format!("{prefix}xx00000{:05}", all.len()), "success": true, "errors": []})))
                    }
                },
            ),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (root, records)
}
