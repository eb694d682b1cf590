//! Web service definitions (seed 003 §6.4): the business object a *Web service* action calls —
//! its method, URL, headers and body as templates over its declared inputs, its
//! authentication, the response fields it maps, its timeout and its largest response. What is
//! pure lives here: checking a definition, rendering a request from input values (values are
//! data: URL-encoded in the URL, JSON-escaped in a JSON body, never read again as template
//! text) and reading the mapped fields out of a response. The shell sends it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::FieldError;

/// Bounds of a definition.
pub mod limits {
    /// Longest URL template, in characters.
    pub const URL: usize = 2_000;
    /// Most headers, longest header name and value.
    pub const HEADERS: usize = 20;
    pub const HEADER_NAME: usize = 100;
    pub const HEADER_VALUE: usize = 2_000;
    /// Longest JSON body template, in characters; most form fields.
    pub const BODY: usize = 100_000;
    pub const FORM_FIELDS: usize = 50;
    /// Most declared inputs and response fields; longest JSON Pointer.
    pub const INPUTS: usize = 50;
    pub const OUTPUTS: usize = 50;
    pub const POINTER: usize = 500;
    /// Timeout bounds and default, in milliseconds.
    pub const TIMEOUT_MIN_MS: u32 = 100;
    pub const TIMEOUT_MAX_MS: u32 = 10_000;
    pub const TIMEOUT_DEFAULT_MS: u32 = 5_000;
    /// Largest response body bounds and default, in bytes.
    pub const RESPONSE_MAX_BYTES: u32 = 5 * 1024 * 1024;
    pub const RESPONSE_DEFAULT_BYTES: u32 = 1024 * 1024;
    /// Longest value a response field stores, in characters.
    pub const FIELD_VALUE: usize = 10_000;
}

/// The HTTP method.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    #[default]
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
    /// Whether calling twice has the effect of calling once (RFC 9110 §9.2.2): such a call is
    /// retried after a crash; the others are not.
    pub fn idempotent(self) -> bool {
        !matches!(self, Method::Post | Method::Patch)
    }
}

/// How the call authenticates. The password, token or key is the object's write-only secret.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Auth {
    #[default]
    None,
    /// `Authorization: Basic` with this user name and the secret as the password.
    Basic { username: String },
    /// `Authorization: Bearer <secret>`.
    Bearer,
    /// The secret in this header (`X-API-Key`).
    ApiKey { header: String },
}

/// A header or form field: its name and its value template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NameValue {
    pub name: String,
    #[serde(default)]
    pub value: String,
}

/// The request body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Body {
    #[default]
    None,
    /// A JSON document; `{{ input }}` is replaced by the value JSON-escaped, so write it inside
    /// quotes (`{"order": "{{ order }}"}`). The rendered body must be JSON.
    Json { template: String },
    /// `application/x-www-form-urlencoded` fields.
    Form { fields: Vec<NameValue> },
}

/// A response field: its name (what the action maps to a variable) and where it is in the
/// JSON response (a JSON Pointer, RFC 6901: `/order/status`, `/items/0/id`; empty: the whole
/// response).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseField {
    pub name: String,
    pub pointer: String,
}

fn default_timeout() -> u32 {
    limits::TIMEOUT_DEFAULT_MS
}
fn default_max_response() -> u32 {
    limits::RESPONSE_DEFAULT_BYTES
}

/// A web service definition: the data of a `web_service` business object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebServiceData {
    #[serde(default)]
    pub method: Method,
    /// `http` or `https`; `{{ input }}` is replaced by the value URL-encoded.
    pub url: String,
    #[serde(default)]
    pub headers: Vec<NameValue>,
    #[serde(default)]
    pub body: Body,
    #[serde(default)]
    pub auth: Auth,
    /// The declared inputs (the action's *Request settings*: one value per input), usable as
    /// `{{ name }}` in the URL, the headers and the body.
    #[serde(default)]
    pub inputs: Vec<String>,
    /// The response fields the action may store into variables.
    #[serde(default)]
    pub outputs: Vec<ResponseField>,
    /// 100 to 10 000 ms (default 5 000).
    #[serde(default = "default_timeout")]
    pub timeout_ms: u32,
    /// The largest response body read, in bytes (1 to 5 MiB, default 1 MiB): a larger one is
    /// *Not OK*.
    #[serde(default = "default_max_response")]
    pub max_response_bytes: u32,
}

fn bad(message: String) -> FieldError {
    FieldError {
        field: "data",
        message,
    }
}

fn is_token(s: &str) -> bool {
    // RFC 9110 §5.6.2
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

impl WebServiceData {
    /// Checks a definition: the bounds of [`limits`], header names as HTTP tokens, inputs and
    /// response fields named once each, JSON Pointers well formed, and the URL an `http(s)`
    /// one (its address is the outbound policy's, checked by the shell).
    pub fn check(&self) -> Result<(), FieldError> {
        let url = self.url.trim();
        if url.is_empty() || url.chars().count() > limits::URL {
            return Err(bad(format!(
                "url must have 1 to {} characters",
                limits::URL
            )));
        }
        let lower = url.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            return Err(bad("url must start with http:// or https://".into()));
        }
        if url.chars().any(char::is_control) {
            return Err(bad("url has a control character".into()));
        }
        if self.headers.len() > limits::HEADERS {
            return Err(bad(format!("at most {} headers", limits::HEADERS)));
        }
        for (i, h) in self.headers.iter().enumerate() {
            if !is_token(&h.name) || h.name.len() > limits::HEADER_NAME {
                return Err(bad(format!(
                    "headers[{i}]: '{}' is not a header name",
                    h.name
                )));
            }
            if h.value.chars().count() > limits::HEADER_VALUE || h.value.contains(['\r', '\n']) {
                return Err(bad(format!(
                    "headers[{i}]: the value has at most {} characters and no line break",
                    limits::HEADER_VALUE
                )));
            }
            if h.name.eq_ignore_ascii_case("host") || h.name.eq_ignore_ascii_case("content-length")
            {
                return Err(bad(format!(
                    "headers[{i}]: {} is set by the server",
                    h.name
                )));
            }
        }
        match &self.body {
            Body::None => {}
            Body::Json { template } => {
                if template.chars().count() > limits::BODY {
                    return Err(bad(format!(
                        "the body has at most {} characters",
                        limits::BODY
                    )));
                }
            }
            Body::Form { fields } => {
                if fields.len() > limits::FORM_FIELDS {
                    return Err(bad(format!("at most {} form fields", limits::FORM_FIELDS)));
                }
                if let Some(f) = fields.iter().find(|f| {
                    f.name.is_empty()
                        || f.name.chars().count() > limits::HEADER_NAME
                        || f.value.chars().count() > limits::HEADER_VALUE
                }) {
                    return Err(bad(format!(
                        "form field '{}': a name of 1 to {} characters and a value of at most {}",
                        f.name,
                        limits::HEADER_NAME,
                        limits::HEADER_VALUE
                    )));
                }
            }
        }
        match &self.auth {
            Auth::Basic { username }
                if username.is_empty()
                    || username.contains(':')
                    || username.chars().count() > 200 =>
            {
                return Err(bad(
                    "auth: a user name of 1 to 200 characters without ':'".into()
                ));
            }
            Auth::ApiKey { header } if !is_token(header) || header.len() > limits::HEADER_NAME => {
                return Err(bad(format!("auth: '{header}' is not a header name")));
            }
            _ => {}
        }
        if self.inputs.len() > limits::INPUTS {
            return Err(bad(format!("at most {} inputs", limits::INPUTS)));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, name) in self.inputs.iter().enumerate() {
            if !is_name(name) {
                return Err(bad(format!(
                    "inputs[{i}]: '{name}' is not a name (letters, digits, _)"
                )));
            }
            if !seen.insert(name.as_str()) {
                return Err(bad(format!("inputs[{i}]: '{name}' appears twice")));
            }
        }
        if self.outputs.len() > limits::OUTPUTS {
            return Err(bad(format!("at most {} response fields", limits::OUTPUTS)));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, o) in self.outputs.iter().enumerate() {
            if !is_name(&o.name) {
                return Err(bad(format!(
                    "outputs[{i}]: '{}' is not a name (letters, digits, _)",
                    o.name
                )));
            }
            if !seen.insert(o.name.as_str()) {
                return Err(bad(format!("outputs[{i}]: '{}' appears twice", o.name)));
            }
            if o.pointer.chars().count() > limits::POINTER
                || !(o.pointer.is_empty() || o.pointer.starts_with('/'))
            {
                return Err(bad(format!(
                    "outputs[{i}]: the pointer is empty or starts with '/' (RFC 6901), at most {} characters",
                    limits::POINTER
                )));
            }
        }
        if !(limits::TIMEOUT_MIN_MS..=limits::TIMEOUT_MAX_MS).contains(&self.timeout_ms) {
            return Err(bad(format!(
                "timeout_ms is {} to {}",
                limits::TIMEOUT_MIN_MS,
                limits::TIMEOUT_MAX_MS
            )));
        }
        if !(1..=limits::RESPONSE_MAX_BYTES).contains(&self.max_response_bytes) {
            return Err(bad(format!(
                "max_response_bytes is 1 to {}",
                limits::RESPONSE_MAX_BYTES
            )));
        }
        Ok(())
    }

    /// The value of each declared input among `values` (an undeclared one is ignored; a
    /// declared one without a value is empty).
    fn lookup<'a>(
        &'a self,
        values: &'a [(String, String)],
    ) -> impl Fn(&str) -> Option<String> + 'a {
        move |name: &str| {
            self.inputs.iter().any(|i| i == name).then(|| {
                values
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            })
        }
    }

    /// The request these input values make.
    pub fn request(&self, values: &[(String, String)]) -> Result<Request, String> {
        let lookup = self.lookup(values);
        let url = crate::exec::render(self.url.trim(), &|n| lookup(n).map(|v| url_encode(&v)));
        let headers = self
            .headers
            .iter()
            .map(|h| {
                let v = crate::exec::render(&h.value, &|n| {
                    lookup(n).map(|v| v.replace(['\r', '\n'], " "))
                });
                (h.name.clone(), v)
            })
            .collect();
        let body = match &self.body {
            Body::None => RequestBody::None,
            Body::Json { template } => {
                let text = crate::exec::render(template, &|n| lookup(n).map(|v| json_escape(&v)));
                if let Err(e) = serde_json::from_str::<Value>(&text) {
                    return Err(format!("the body is not JSON once its inputs are in: {e}"));
                }
                RequestBody::Json(text)
            }
            Body::Form { fields } => RequestBody::Form(
                fields
                    .iter()
                    .map(|f| {
                        (
                            f.name.clone(),
                            crate::exec::render(&f.value, &|n| lookup(n)),
                        )
                    })
                    .collect(),
            ),
        };
        Ok(Request {
            method: self.method,
            url,
            headers,
            body,
        })
    }

    /// The declared response fields found in a JSON response, each as the text a variable
    /// stores (a string as it is, another value as JSON; at most
    /// [`limits::FIELD_VALUE`] characters); a field the response lacks is left out.
    pub fn fields(&self, response: &Value) -> Vec<(String, String)> {
        self.outputs
            .iter()
            .filter_map(|o| {
                let v = response.pointer(&o.pointer)?;
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Null => return None,
                    other => other.to_string(),
                };
                Some((
                    o.name.clone(),
                    text.chars().take(limits::FIELD_VALUE).collect(),
                ))
            })
            .collect()
    }
}

/// A rendered request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: RequestBody,
}

/// A rendered body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestBody {
    None,
    Json(String),
    Form(Vec<(String, String)>),
}

/// Percent-encodes everything but the unreserved characters (RFC 3986 §2.3).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The text of a JSON string literal without its quotes.
fn json_escape(s: &str) -> String {
    let quoted = Value::String(s.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service(data: Value) -> WebServiceData {
        let d: WebServiceData = serde_json::from_value(data).unwrap();
        d.check().unwrap();
        d
    }

    #[test]
    fn values_are_data_in_urls_and_json_bodies() {
        let d = service(json!({
            "method": "POST",
            "url": "https://shop.example/orders/{{ order }}?q={{ order }}&x={{ undeclared }}",
            "headers": [{"name": "X-Order", "value": "{{ order }}"}],
            "body": {"type": "json", "template": "{\"order\": \"{{ order }}\", \"n\": 1}"},
            "inputs": ["order"]
        }));
        let values = vec![("order".to_owned(), "a/b?c=\"d\"\r\n{{ order }}".to_owned())];
        let r = d.request(&values).unwrap();
        assert_eq!(
            r.url,
            "https://shop.example/orders/a%2Fb%3Fc%3D%22d%22%0D%0A%7B%7B%20order%20%7D%7D?q=a%2Fb%3Fc%3D%22d%22%0D%0A%7B%7B%20order%20%7D%7D&x="
        );
        assert_eq!(
            r.headers,
            vec![("X-Order".to_owned(), "a/b?c=\"d\"  {{ order }}".to_owned())]
        );
        let RequestBody::Json(body) = r.body else {
            panic!()
        };
        let parsed: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            parsed,
            json!({"order": "a/b?c=\"d\"\r\n{{ order }}", "n": 1})
        );
    }

    #[test]
    fn a_value_cannot_add_json_structure() {
        let d = service(json!({
            "url": "https://shop.example/",
            "body": {"type": "json", "template": "{\"n\": {{ n }}}"},
            "inputs": ["n"]
        }));
        assert!(d.request(&[("n".into(), "12".into())]).is_ok());
        assert!(
            d.request(&[("n".into(), "1, \"admin\": true".into())])
                .is_err()
        );
    }

    #[test]
    fn response_fields_by_pointer() {
        let d = service(json!({
            "url": "https://shop.example/",
            "outputs": [
                {"name": "status", "pointer": "/order/status"},
                {"name": "first", "pointer": "/items/0"},
                {"name": "count", "pointer": "/count"},
                {"name": "missing", "pointer": "/nope"},
                {"name": "nothing", "pointer": "/null"}
            ]
        }));
        let f = d.fields(&json!({"order": {"status": "shipped"}, "items": [{"id": 7}], "count": 3, "null": null}));
        assert_eq!(
            f,
            vec![
                ("status".to_owned(), "shipped".to_owned()),
                ("first".to_owned(), "{\"id\":7}".to_owned()),
                ("count".to_owned(), "3".to_owned())
            ]
        );
    }

    #[test]
    fn bad_definitions_are_refused() {
        for data in [
            json!({"url": "ftp://x/"}),
            json!({"url": ""}),
            json!({"url": "https://x/", "headers": [{"name": "Bad Name", "value": "v"}]}),
            json!({"url": "https://x/", "headers": [{"name": "X", "value": "a\nb"}]}),
            json!({"url": "https://x/", "headers": [{"name": "Host", "value": "y"}]}),
            json!({"url": "https://x/", "inputs": ["a", "a"]}),
            json!({"url": "https://x/", "inputs": ["a.b"]}),
            json!({"url": "https://x/", "outputs": [{"name": "a", "pointer": "a"}]}),
            json!({"url": "https://x/", "timeout_ms": 20_000}),
            json!({"url": "https://x/", "max_response_bytes": 0}),
            json!({"url": "https://x/", "auth": {"type": "basic", "username": "a:b"}}),
        ] {
            let d: WebServiceData = serde_json::from_value(data.clone()).unwrap();
            assert!(d.check().is_err(), "{data}");
        }
        assert!(!Method::Post.idempotent() && !Method::Patch.idempotent());
        assert!(
            Method::Get.idempotent() && Method::Put.idempotent() && Method::Delete.idempotent()
        );
    }
}
