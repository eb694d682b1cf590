//! RFC 9457 problem details: every API error is `application/problem+json` with a stable
//! `code`. Also the extractors that turn malformed requests into problems.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use flow::lifecycle::RuleKind;
use flow::tree::TreeError;
use runtime::MakerError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

/// One precise problem inside a request (a parameter path and what is wrong with it).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProblemItem {
    /// Where: a field name or a path inside the parameters.
    pub path: String,
    pub message: String,
}

/// An RFC 9457 problem (boxed: handlers return it on their cold path).
#[derive(Clone, Debug, Serialize)]
#[serde(transparent)]
pub struct Problem(pub Box<ProblemBody>);

/// The fields of an RFC 9457 problem.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Problem)]
pub struct ProblemBody {
    /// `urn:switchyard:problem:<code>`.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code naming the rule or the failure.
    pub code: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemItem>,
    /// Extra structured data (e.g. a document report, the current revision).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Problem {
        Problem(Box::new(ProblemBody {
            type_: format!("urn:switchyard:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_owned(),
            errors: Vec::new(),
            details: None,
        }))
    }

    pub fn with_errors(mut self, errors: Vec<ProblemItem>) -> Problem {
        self.0.errors = errors;
        self
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Problem {
        self.0.details = Some(details);
        self
    }

    pub fn not_found(what: impl std::fmt::Display) -> Problem {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response()
    }
}

impl From<MakerError> for Problem {
    fn from(e: MakerError) -> Problem {
        let detail = e.to_string();
        match e {
            MakerError::NotFound(what) => Problem::not_found(what),
            MakerError::Rule(r) => {
                let status = match r.kind {
                    RuleKind::Conflict => StatusCode::CONFLICT,
                    RuleKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
                    RuleKind::NotFound => StatusCode::NOT_FOUND,
                };
                Problem::new(status, r.code, r.message)
            }
            MakerError::Tree(t) => tree_problem(t),
            MakerError::Field(f) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", detail).with_errors(
                    vec![ProblemItem {
                        path: f.field.to_owned(),
                        message: f.message,
                    }],
                )
            }
            MakerError::Immutable(field) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "immutable_field", detail)
                    .with_errors(vec![ProblemItem {
                        path: field.to_owned(),
                        message: "cannot be changed after creation".into(),
                    }])
            }
            MakerError::ReferenceTaken(_) => {
                Problem::new(StatusCode::CONFLICT, "reference_taken", detail)
            }
            MakerError::PreconditionFailed { current } => {
                Problem::new(StatusCode::PRECONDITION_FAILED, "revision_mismatch", detail)
                    .with_details(serde_json::json!({ "current_revision": current }))
            }
            MakerError::Limit(_) => Problem::new(StatusCode::CONFLICT, "limit_reached", detail),
            MakerError::Document(_) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_document", detail)
            }
            MakerError::DocumentRejected(report) => {
                let errors = report
                    .problems
                    .iter()
                    .map(|p| ProblemItem {
                        path: "document".into(),
                        message: p.clone(),
                    })
                    .collect();
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "document_rejected",
                    "the document cannot be imported; see errors",
                )
                .with_errors(errors)
                .with_details(serde_json::to_value(&report).unwrap_or_default())
            }
            MakerError::InUse(_) => Problem::new(StatusCode::CONFLICT, "in_use", detail),
            MakerError::Busy => Problem::new(StatusCode::SERVICE_UNAVAILABLE, "busy", detail),
            MakerError::RowsRefused(rows) => {
                let errors = rows
                    .iter()
                    .map(|(id, message)| ProblemItem {
                        path: format!("rows/{id}"),
                        message: message.clone(),
                    })
                    .collect();
                Problem::new(StatusCode::CONFLICT, "rows_incompatible", detail).with_errors(errors)
            }
            MakerError::Store(s) => {
                tracing::error!(error = %s, "storage failure");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "storage_error",
                    "the data could not be read or written; try again",
                )
            }
        }
    }
}

fn tree_problem(t: TreeError) -> Problem {
    let detail = t.to_string();
    let code = t.code();
    let status = match &t {
        TreeError::TooManyActions(_)
        | TreeError::TooManyLinks(_)
        | TreeError::BranchTaken { .. }
        | TreeError::DuplicateId(_) => StatusCode::CONFLICT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let errors = match t {
        TreeError::InvalidParams { issues, .. } => issues
            .into_iter()
            .map(|i| ProblemItem {
                path: if i.path.is_empty() {
                    "params".into()
                } else {
                    format!("params.{}", i.path)
                },
                message: i.message,
            })
            .collect(),
        TreeError::InvalidField { field, message } => vec![ProblemItem {
            path: field.to_owned(),
            message,
        }],
        _ => Vec::new(),
    };
    let detail = match errors.first() {
        Some(first) if errors.len() == 1 => format!("{detail}: {}: {}", first.path, first.message),
        _ => detail,
    };
    Problem::new(status, code, detail).with_errors(errors)
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, Problem>;

/// A JSON body whose rejections are problems: malformed JSON (400), unknown or invalid fields
/// (422), a wrong content type (415), an oversized body (413).
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        if !json_content_type(req.headers()) {
            return Err(json_problem(JsonRejection::MissingJsonContentType(
                Default::default(),
            )));
        }
        parse_json(&body_bytes(req, state).await?).map(JsonBody)
    }
}

/// A JSON body that may be left out (an empty body is `T::default()`); when given, it is read as
/// [`JsonBody`] reads it.
pub struct OptionalJsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let typed = json_content_type(req.headers());
        let bytes = body_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJsonBody(T::default()));
        }
        if !typed {
            return Err(json_problem(JsonRejection::MissingJsonContentType(
                Default::default(),
            )));
        }
        parse_json(&bytes).map(OptionalJsonBody)
    }
}

async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<axum::body::Bytes, Problem> {
    match axum::body::Bytes::from_request(req, state).await {
        Ok(b) => Ok(b),
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the request body is larger than this server accepts",
        )),
        Err(e) => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            e.body_text(),
        )),
    }
}

/// Every request body is a JSON object: serde would also read a struct from an array of its
/// fields in order (`[null, null]`), which no schema of this API allows.
fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    match axum::Json::<T>::from_bytes(bytes) {
        Ok(axum::Json(v)) => {
            if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
                return Err(Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_body",
                    "the body must be a JSON object",
                ));
            }
            Ok(v)
        }
        Err(rejection @ JsonRejection::JsonDataError(_)) => {
            integral(bytes).ok_or_else(|| json_problem(rejection))
        }
        Err(rejection) => Err(json_problem(rejection)),
    }
}

/// A JSON body already read (for handlers that check its raw bytes first), as [`JsonBody`]
/// reads it.
pub(crate) fn json_of<T: DeserializeOwned>(
    headers: &axum::http::HeaderMap,
    bytes: &[u8],
) -> Result<T, Problem> {
    if !json_content_type(headers) {
        return Err(json_problem(JsonRejection::MissingJsonContentType(
            Default::default(),
        )));
    }
    parse_json(bytes)
}

/// `application/json` or any `application/…+json`, as `axum::Json` accepts.
fn json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json"))
}

/// JSON does not tell `21` from `21.0` (JSON Schema's `integer` accepts both), but serde's
/// integer fields refuse the second: a body that failed on types is read again with every
/// whole number written as a float made an integer. `None` when that changes nothing or does
/// not help (the first error is then the answer).
fn integral<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    fn walk(v: &mut serde_json::Value) -> bool {
        match v {
            serde_json::Value::Number(n) if !n.is_i64() && !n.is_u64() => {
                let Some(f) = n.as_f64() else { return false };
                // exact: a whole number within ±2^53, where every integer is a float
                if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 {
                    *v = serde_json::Value::from(f as i64);
                    true
                } else {
                    false
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().fold(false, |c, i| walk(i) | c),
            serde_json::Value::Object(map) => map.values_mut().fold(false, |c, i| walk(i) | c),
            _ => false,
        }
    }
    let mut value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    if !walk(&mut value) {
        return None;
    }
    serde_json::from_value(value).ok()
}

fn json_problem(rejection: JsonRejection) -> Problem {
    let text = rejection.body_text();
    match rejection {
        JsonRejection::JsonDataError(_) => {
            let message = text
                .trim_start_matches("Failed to deserialize the JSON body into the target type: ")
                .to_owned();
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", message)
        }
        JsonRejection::JsonSyntaxError(_) => {
            Problem::new(StatusCode::BAD_REQUEST, "malformed_json", text)
        }
        JsonRejection::MissingJsonContentType(_) => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/json",
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the request body is larger than this server accepts",
        ),
        other => Problem::new(other.status(), "invalid_body", text),
    }
}

/// Path parameters whose rejection is a 404 problem (an id that does not parse names nothing).
pub struct PathParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParams<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| PathParams(v))
            .map_err(|e: PathRejection| {
                Problem::new(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    format!("no such resource: {}", e.body_text()),
                )
            })
    }
}

/// Query parameters whose rejection is a 400 problem.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for QueryParams<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| QueryParams(v))
            .map_err(|e: QueryRejection| {
                Problem::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text())
            })
    }
}

/// The revision named by an `If-Match` header (`"7"`, `W/"7"` or `7`); `*` or no header is `None`.
pub struct IfMatch(pub Option<u64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else {
            return Ok(IfMatch(None));
        };
        let text = value.to_str().unwrap_or_default().trim();
        if text == "*" {
            return Ok(IfMatch(None));
        }
        let bare = text.trim_start_matches("W/").trim_matches('"');
        bare.parse().map(|r| IfMatch(Some(r))).map_err(|_| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid_if_match",
                format!("If-Match must be a revision such as \"3\"; got {text:?}"),
            )
        })
    }
}

/// Largest page of every list.
pub const MAX_PAGE: u32 = 200;

/// A page request from `limit` (1 to [`MAX_PAGE`], default 50) and `after`.
pub fn page_request(
    limit: Option<u32>,
    after: Option<uuid::Uuid>,
) -> ApiResult<store::PageRequest> {
    let limit = limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("limit must be between 1 and {MAX_PAGE}"),
        ));
    }
    Ok(store::PageRequest { limit, after })
}

/// A raw body read within the route's limit, or the problem saying why not: 413
/// `body_too_large` (naming `what`), else 400 `invalid_body`.
pub fn raw_body(
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
    what: &str,
) -> ApiResult<axum::body::Bytes> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("{what} is larger than this server accepts"),
            )
        } else {
            Problem::new(StatusCode::BAD_REQUEST, "invalid_body", e.body_text())
        }
    })
}
