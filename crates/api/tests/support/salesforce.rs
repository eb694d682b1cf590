//! A local stand-in of the Salesforce REST API, shared by the API's tests: the OAuth 2.0
//! client credentials token endpoint, sObject create (records of `Case`, `Lead`, `Task`,
//! `Contact`, `ContentVersion`; each needs its required field, as Salesforce refuses a record
//! without it) and the SOQL query endpoint for `SELECT … FROM … WHERE f = '…' AND|OR … LIMIT n`
//! over the records created (string comparisons without case, as SOQL's), answering in the
//! shapes of Salesforce's REST API documentation.

// each test file uses its own part of it
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

pub const CLIENT_ID: &str = "3MVG9test-connected-app";
pub const CLIENT_SECRET: &str = "salesforce-client-secret-0123";
pub const TOKEN: &str = "00Dxx0000001gPL!AR8AQJXg5oj8jXSgxJfA0lBog";

/// What the stand-in created: (object, fields), in order.
pub type Records = Arc<Mutex<Vec<(String, Map<String, Value>)>>>;

/// The SOQL queries the stand-in answered, in order.
pub type Queries = Arc<Mutex<Vec<String>>>;

/// A record's id, from its object and its place among the records created.
fn record_id(object: &str, n: usize) -> String {
    let prefix = match object {
        "ContentVersion" => "068",
        "Task" => "00T",
        "Contact" => "003",
        _ => "500",
    };
    format!("{prefix}xx00000{n:05}")
}

/// A query of the stand-in's SOQL subset: `(fields, object, [(field, value)], any, limit)`.
type Soql = (Vec<String>, String, Vec<(String, String)>, bool, usize);

/// Reads the stand-in's SOQL subset.
fn parse_soql(q: &str) -> Option<Soql> {
    let rest = q.strip_prefix("SELECT ")?;
    let (fields, rest) = rest.split_once(" FROM ")?;
    let (object, mut rest) = rest.split_once(" WHERE ")?;
    let mut terms = Vec::new();
    let mut joiners = Vec::new();
    loop {
        let (field, after) = rest.split_once(" = '")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    'r' => value.push('\r'),
                    't' => value.push('\t'),
                    'b' => value.push('\u{8}'),
                    'f' => value.push('\u{c}'),
                    other => value.push(other),
                },
                '\'' => break i + 1,
                c => value.push(c),
            }
        };
        terms.push((field.to_owned(), value));
        rest = &after[end..];
        if let Some(r) = rest.strip_prefix(" AND ") {
            joiners.push(false);
            rest = r;
        } else if let Some(r) = rest.strip_prefix(" OR ") {
            joiners.push(true);
            rest = r;
        } else {
            break;
        }
    }
    let limit = rest.strip_prefix(" LIMIT ")?.parse().ok()?;
    let any = joiners.first().copied().unwrap_or(false);
    if joiners.iter().any(|j| *j != any) {
        return None;
    }
    Some((
        fields.split(", ").map(str::to_owned).collect(),
        object.to_owned(),
        terms,
        any,
        limit,
    ))
}

pub async fn salesforce() -> (String, Records) {
    let (root, records, _) = salesforce_with_queries().await;
    (root, records)
}

/// [`salesforce`], and the SOQL queries it answers.
pub async fn salesforce_with_queries() -> (String, Records, Queries) {
    let records: Records = Arc::default();
    let queries: Queries = Arc::default();
    let (found, asked) = (records.clone(), queries.clone());
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
                            "Lead" | "Contact" => "LastName",
                            _ => "Title",
                        };
                        if !fields.contains_key(required) {
                            return (axum::http::StatusCode::BAD_REQUEST, axum::Json(json!([{"message": format!("Required fields are missing: [{required}]"), "errorCode": "REQUIRED_FIELD_MISSING", "fields": [required]}])));
                        }
                        let mut all = made.lock().unwrap();
                        all.push((object.clone(), fields));
                        (axum::http::StatusCode::CREATED, axum::Json(json!({"id": record_id(&object, all.len()), "success": true, "errors": []})))
                    }
                },
            ),
        )
        .route(
            "/services/data/v60.0/query",
            axum::routing::get(
                move |axum::extract::RawQuery(raw): axum::extract::RawQuery,
                      headers: axum::http::HeaderMap| {
                    let (found, asked) = (found.clone(), asked.clone());
                    async move {
                        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {TOKEN}")) {
                            return (axum::http::StatusCode::UNAUTHORIZED, axum::Json(json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])));
                        }
                        let q = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                            .find(|(k, _)| k == "q")
                            .map(|(_, v)| v.into_owned())
                            .unwrap_or_default();
                        asked.lock().unwrap().push(q.clone());
                        let Some((fields, object, terms, any, limit)) = parse_soql(&q) else {
                            return (axum::http::StatusCode::BAD_REQUEST, axum::Json(json!([{"message": format!("unexpected token in {q}"), "errorCode": "MALFORMED_QUERY"}])));
                        };
                        let all = found.lock().unwrap();
                        let records: Vec<Value> = all
                            .iter()
                            .enumerate()
                            .filter(|(_, (o, _))| *o == object)
                            .filter(|(_, (_, r))| {
                                let equal = |(f, v): &(String, String)| {
                                    r.get(f).and_then(Value::as_str).is_some_and(|x| x.to_lowercase() == v.to_lowercase())
                                };
                                if any { terms.iter().any(equal) } else { terms.iter().all(equal) }
                            })
                            .take(limit)
                            .map(|(n, (o, r))| {
                                let id = record_id(o, n + 1);
                                let mut out = Map::new();
                                out.insert("attributes".into(), json!({"type": o, "url": format!("/services/data/v60.0/sobjects/{o}/{id}")}));
                                for f in &fields {
                                    let v = if f == "Id" { Value::String(id.clone()) } else { r.get(f).cloned().unwrap_or(Value::Null) };
                                    out.insert(f.clone(), v);
                                }
                                Value::Object(out)
                            })
                            .collect();
                        (axum::http::StatusCode::OK, axum::Json(json!({"totalSize": records.len(), "done": true, "records": records})))
                    }
                },
            ),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (root, records, queries)
}
