//! The Salesforce REST API: an access token by the OAuth 2.0 client credentials flow, records
//! created (sObject create), found (a SOQL query) and files attached to them
//! (`ContentVersion`), at a configurable login URL, through the caller's client (the
//! outbound-address policy's).

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
struct QueryAnswer {
    #[serde(default)]
    records: Vec<Map<String, Value>>,
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
/// `Order__c`).
pub use flow::crm::is_salesforce_name as is_api_name;

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

/// Longest value a query compares a field with, in characters.
pub const QUERY_VALUE_MAX: usize = 1_000;
/// Most comparisons of a query.
pub const QUERY_TERMS_MAX: usize = 20;

/// A value as a SOQL string literal: quoted, with `\`, `'`, `"` and the control characters
/// SOQL knows escaped (so a value can never end the literal), others refused.
pub fn soql_literal(value: &str) -> Result<String, String> {
    if value.chars().count() > QUERY_VALUE_MAX {
        return Err(format!(
            "a value searched in Salesforce has at most {QUERY_VALUE_MAX} characters"
        ));
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() => {
                return Err("a value searched in Salesforce holds a control character".into());
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    Ok(out)
}

/// The SOQL query of the records of `object` whose fields equal the values (`any`: one of
/// them does; else all): their `Id`, the fields `also`, those compared; at most `limit`. Names
/// must be API names, values become escaped literals: nothing the routing renders can change
/// the query.
pub fn select_where(
    object: &str,
    also: &[String],
    equal: &[(String, String)],
    any: bool,
    limit: u32,
) -> Result<String, String> {
    if !is_api_name(object) {
        return Err(format!("'{object}' is not a Salesforce object name"));
    }
    if equal.is_empty() || equal.len() > QUERY_TERMS_MAX {
        return Err(format!(
            "a Salesforce search compares 1 to {QUERY_TERMS_MAX} fields"
        ));
    }
    let mut fields = vec!["Id".to_owned()];
    for field in also {
        if !is_api_name(field) {
            return Err(format!("'{field}' is not a Salesforce field name"));
        }
        if !fields.iter().any(|f| f.eq_ignore_ascii_case(field)) {
            fields.push(field.clone());
        }
    }
    let mut terms = Vec::with_capacity(equal.len());
    for (field, value) in equal {
        if !is_api_name(field) {
            return Err(format!("'{field}' is not a Salesforce field name"));
        }
        if !fields.iter().any(|f| f.eq_ignore_ascii_case(field)) {
            fields.push(field.clone());
        }
        terms.push(format!("{field} = {}", soql_literal(value)?));
    }
    Ok(format!(
        "SELECT {} FROM {object} WHERE {} LIMIT {limit}",
        fields.join(", "),
        terms.join(if any { " OR " } else { " AND " })
    ))
}

/// The records a SOQL query finds (its first batch: the query limits itself), their
/// `attributes` left out.
pub async fn query(
    client: &reqwest::Client,
    s: &Session,
    version: &str,
    soql: &str,
) -> Result<Vec<Map<String, Value>>, SendError> {
    // as Salesforce's examples write it: `query?q=SELECT+Id+FROM+Contact`
    let url = format!(
        "{}/services/data/{version}/query?q={}",
        s.instance_url.trim_end_matches('/'),
        form_urlencoded::byte_serialize(soql.as_bytes()).collect::<String>()
    );
    let resp = client
        .get(url)
        .bearer_auth(&s.access_token)
        .timeout(crate::provider::CALL_TIMEOUT)
        .send()
        .await
        .map_err(unreachable)?;
    let status = resp.status();
    let bytes = crate::provider::body_within(resp, ANSWER_MAX).await?;
    if !status.is_success() {
        return Err(refused(status, &bytes));
    }
    let answer: QueryAnswer = serde_json::from_slice(&bytes)
        .map_err(|_| SendError::permanent("Salesforce answered the query with no records list"))?;
    Ok(answer
        .records
        .into_iter()
        .map(|mut r| {
            r.remove("attributes");
            r
        })
        .collect())
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

    #[test]
    fn a_query_is_made_of_api_names_and_escaped_literals() {
        let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
            p.iter()
                .map(|(f, v)| ((*f).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert_eq!(
            select_where(
                "Contact",
                &["FirstName".into(), "Email".into()],
                &pairs(&[("Email", "ann@example.com"), ("LastName", "O'Neil")]),
                false,
                2
            )
            .unwrap(),
            "SELECT Id, FirstName, Email, LastName FROM Contact WHERE Email = 'ann@example.com' AND LastName = 'O\\'Neil' LIMIT 2"
        );
        // a value cannot end its literal, a name cannot be anything but a name
        let sneaky = select_where(
            "Contact",
            &[],
            &pairs(&[("Email", "x' OR Email != '"), ("Phone", "a\\' OR '1")]),
            true,
            2,
        )
        .unwrap();
        assert_eq!(
            sneaky,
            "SELECT Id, Email, Phone FROM Contact WHERE Email = 'x\\' OR Email != \\'' OR Phone = 'a\\\\\\' OR \\'1' LIMIT 2"
        );
        assert_eq!(soql_literal("a\nb\"c").unwrap(), "'a\\nb\\\"c'");
        assert!(soql_literal("bell\u{7}").is_err());
        let email = pairs(&[("Email", "x")]);
        assert!(
            select_where(
                "Contact",
                &[],
                &pairs(&[("Email = '' OR Id", "x")]),
                false,
                2
            )
            .is_err()
        );
        assert!(select_where("Contact; DELETE", &[], &email, false, 2).is_err());
        assert!(select_where("Contact", &["Name, (SELECT Id".into()], &email, false, 2).is_err());
        assert!(select_where("Contact", &[], &[], false, 2).is_err());
    }
}
