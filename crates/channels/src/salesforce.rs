//! The Salesforce REST API: an access token by the OAuth 2.0 client credentials flow, records
//! created (sObject create) and files attached to them (`ContentVersion`), at a configurable
//! login URL, through the caller's client (the outbound-address policy's).

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::provider::{SendError, causes};

/// Salesforce's login URL.
pub const DEFAULT_LOGIN: &str = "https://login.salesforce.com";

/// The REST API version spoken.
pub const DEFAULT_VERSION: &str = "v60.0";

/// Largest answer read, in bytes.
const ANSWER_MAX: usize = 1024 * 1024;

/// A connected app's credentials (the secret is the directory's write-only secret).
#[derive(Clone, PartialEq, Eq)]
pub struct Connection {
    pub login_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub api_version: String,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("login_url", &self.login_url)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// An access token and the instance it opens.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    pub access_token: String,
    pub instance_url: String,
}

#[derive(Deserialize, Default)]
struct TokenAnswer {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    instance_url: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

#[derive(Deserialize, Default)]
struct Created {
    #[serde(default)]
    id: Option<String>,
}

/// One error of Salesforce's error list.
#[derive(Deserialize)]
struct ApiError {
    #[serde(default)]
    message: String,
    #[serde(default, rename = "errorCode")]
    error_code: String,
}

/// Whether a name is an API name Salesforce gives objects and fields (`Case`, `Lead`,
/// `Order__c`): a letter, then letters, digits and `_`, at most 80.
pub fn is_api_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 80
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn refused(status: reqwest::StatusCode, bytes: &[u8]) -> SendError {
    let detail = serde_json::from_slice::<Vec<ApiError>>(bytes)
        .ok()
        .and_then(|e| e.into_iter().next())
        .map(|e| format!(": {} ({})", e.message, e.error_code))
        .unwrap_or_default();
    SendError {
        reason: format!("Salesforce answered {status}{detail}"),
        permanent: status.is_client_error() && status != reqwest::StatusCode::TOO_MANY_REQUESTS,
        retry_after: None,
    }
}

fn unreachable(e: reqwest::Error) -> SendError {
    SendError::temporary(format!("Salesforce could not be reached: {}", causes(e)))
}

/// An access token by the client credentials flow.
pub async fn token(client: &reqwest::Client, c: &Connection) -> Result<Session, SendError> {
    let url = format!(
        "{}/services/oauth2/token",
        c.login_url.trim_end_matches('/')
    );
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "client_credentials")
        .append_pair("client_id", &c.client_id)
        .append_pair("client_secret", &c.client_secret)
        .finish();
    let resp = client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .timeout(crate::provider::CALL_TIMEOUT)
        .body(form)
        .send()
        .await
        .map_err(unreachable)?;
    let status = resp.status();
    let bytes = crate::provider::body_within(resp, ANSWER_MAX).await?;
    let answer: TokenAnswer = serde_json::from_slice(&bytes).unwrap_or_default();
    match (
        status.is_success(),
        answer.access_token,
        answer.instance_url,
    ) {
        (true, Some(access_token), Some(instance_url)) if instance_url.starts_with("http") => {
            Ok(Session {
                access_token,
                instance_url,
            })
        }
        (true, ..) => Err(SendError::permanent(
            "Salesforce gave no access token and instance",
        )),
        (false, ..) => Err(SendError::permanent(format!(
            "Salesforce refused the connection ({status}): {} {}",
            answer.error.unwrap_or_default(),
            answer.error_description.unwrap_or_default()
        ))),
    }
}

/// Creates a record of `object` with `fields`; its id.
pub async fn create(
    client: &reqwest::Client,
    s: &Session,
    version: &str,
    object: &str,
    fields: &Map<String, Value>,
) -> Result<String, SendError> {
    if !is_api_name(object) {
        return Err(SendError::permanent(format!(
            "'{object}' is not a Salesforce object name"
        )));
    }
    let url = format!(
        "{}/services/data/{version}/sobjects/{object}/",
        s.instance_url.trim_end_matches('/')
    );
    let resp = client
        .post(url)
        .bearer_auth(&s.access_token)
        .json(fields)
        .timeout(crate::provider::CALL_TIMEOUT)
        .send()
        .await
        .map_err(unreachable)?;
    let status = resp.status();
    let bytes = crate::provider::body_within(resp, ANSWER_MAX).await?;
    if !status.is_success() {
        return Err(refused(status, &bytes));
    }
    serde_json::from_slice::<Created>(&bytes)
        .ok()
        .and_then(|c| c.id)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| SendError::permanent("Salesforce created the record without giving its id"))
}

/// Attaches a file to a record (a `ContentVersion` first published on it); the file's id.
pub async fn attach(
    client: &reqwest::Client,
    s: &Session,
    version: &str,
    record: &str,
    name: &str,
    bytes: &[u8],
) -> Result<String, SendError> {
    use base64::Engine;
    let mut fields = Map::new();
    fields.insert("Title".into(), Value::String(name.to_owned()));
    fields.insert("PathOnClient".into(), Value::String(name.to_owned()));
    fields.insert(
        "VersionData".into(),
        Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)),
    );
    fields.insert(
        "FirstPublishLocationId".into(),
        Value::String(record.to_owned()),
    );
    create(client, s, version, "ContentVersion", &fields).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_names() {
        assert!(is_api_name("Case") && is_api_name("Order__c"));
        assert!(!is_api_name("1Case") && !is_api_name("Case/../x") && !is_api_name(""));
    }
}
