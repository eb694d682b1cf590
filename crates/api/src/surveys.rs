//! Surveys (seed 003 §10): the customers' answers (`/survey-responses`, and their CSV
//! export), and the survey page an email-family customer's link opens (`/survey/{token}` on
//! the public surface: the form, and its answers posted). The surveys themselves are business
//! objects (`/surveys`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use flow::surveys::{AnswerKind, ResponseStatus, SurveyData};
use jiff::Timestamp;
use runtime::ConversationError;
use runtime::surveys::{Response as SurveyResponse, SurveyPage};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::problem::{ApiResult, PathParams, Problem, ProblemBody, QueryParams, page_request};
use crate::webchat::html_escape as escape;

/// Where a response is.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ResponseStatusDto {
    /// Attached to an interaction still open.
    Attached,
    /// The interaction closed: the survey waits for its answers.
    InProgress,
    Completed,
    /// The customer wrote something else than answers.
    Abandoned,
    /// Not answered in time.
    Expired,
}

impl From<ResponseStatus> for ResponseStatusDto {
    fn from(s: ResponseStatus) -> Self {
        match s {
            ResponseStatus::Attached => ResponseStatusDto::Attached,
            ResponseStatus::InProgress => ResponseStatusDto::InProgress,
            ResponseStatus::Completed => ResponseStatusDto::Completed,
            ResponseStatus::Abandoned => ResponseStatusDto::Abandoned,
            ResponseStatus::Expired => ResponseStatusDto::Expired,
        }
    }
}

impl From<ResponseStatusDto> for ResponseStatus {
    fn from(s: ResponseStatusDto) -> Self {
        match s {
            ResponseStatusDto::Attached => ResponseStatus::Attached,
            ResponseStatusDto::InProgress => ResponseStatus::InProgress,
            ResponseStatusDto::Completed => ResponseStatus::Completed,
            ResponseStatusDto::Abandoned => ResponseStatus::Abandoned,
            ResponseStatusDto::Expired => ResponseStatus::Expired,
        }
    }
}

/// A customer's response to a survey.
#[derive(Serialize, ToSchema)]
pub struct ResponseDto {
    pub id: Uuid,
    pub survey_id: Uuid,
    /// The interaction *Survey* attached it to.
    pub interaction_id: Uuid,
    pub customer_id: Option<Uuid>,
    /// The interaction's channel.
    pub channel: String,
    pub status: ResponseStatusDto,
    /// The answers given, by question key (a rating as a number, a choice as its option,
    /// free text as written).
    #[schema(value_type = Object)]
    pub answers: Map<String, Value>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// When the interaction closed and the survey started.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    /// When it was answered or given up.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub completed_at: Option<Timestamp>,
}

impl From<SurveyResponse> for ResponseDto {
    fn from(r: SurveyResponse) -> Self {
        ResponseDto {
            id: r.id,
            survey_id: r.survey_id,
            interaction_id: r.interaction_id,
            customer_id: r.customer_id,
            channel: r.channel,
            status: r.status.into(),
            answers: r.answers,
            created_at: r.created_at,
            started_at: r.started_at,
            expires_at: r.expires_at,
            completed_at: r.completed_at,
        }
    }
}

/// Which responses, and their pagination.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ResponseQuery {
    /// Only those of this survey.
    pub survey_id: Option<Uuid>,
    pub status: Option<ResponseStatusDto>,
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
    pub after: Option<Uuid>,
}

/// A page of responses, newest first.
#[derive(Serialize, ToSchema)]
pub struct ResponsePage {
    pub items: Vec<ResponseDto>,
    pub next_after: Option<Uuid>,
}

/// Survey responses, newest first.
#[utoipa::path(get, path = "/survey-responses", tag = "Surveys", security(("token" = ["survey_responses:read"])), params(ResponseQuery),
    responses((status = 200, body = ResponsePage), (status = 400, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub async fn list(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ResponseQuery>,
) -> ApiResult<Json<ResponsePage>> {
    let p = state
        .conversations
        .survey_responses(
            q.survey_id,
            q.status.map(Into::into),
            &page_request(q.limit, q.after)?,
        )
        .await?;
    Ok(Json(ResponsePage {
        items: p.items.into_iter().map(Into::into).collect(),
        next_after: p.next_after,
    }))
}

/// The survey of an export.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    pub survey_id: Uuid,
}

/// A survey's responses as CSV: `id`, `interaction_id`, `customer_id`, `channel`, `status`,
/// `started_at`, `completed_at`, then one column per question (its key); streamed page by
/// page, newest first. Text a spreadsheet would read as a formula starts with `'`.
#[utoipa::path(get, path = "/survey-responses/export", tag = "Surveys", security(("token" = ["survey_responses:read"])), params(ExportQuery),
    responses((status = 200, description = "The responses as CSV", content_type = "text/csv"), (status = 400, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub async fn export(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ExportQuery>,
) -> ApiResult<Response> {
    let conversations = state.conversations.clone();
    let survey = q.survey_id;
    let (first, next) = conversations.survey_export_page(survey, None).await?;
    Ok(crate::database_rows::csv_pages(
        first,
        next,
        &format!("survey-{survey}.csv"),
        move |after| {
            let conversations = conversations.clone();
            async move { conversations.survey_export_page(survey, after).await }
        },
    ))
}

/// Largest answers form accepted (20 free-text answers of 2 000 characters, percent-encoded).
pub const MAX_FORM: usize = 512 * 1024;
/// Most fields a form may carry.
const MAX_FIELDS: usize = 100;

const POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A page of the survey's public surface, with its own strict policy.
fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title>\
<style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}fieldset{{border:1px solid #ccc;border-radius:.5rem;margin:1rem 0;padding:1rem}}legend{{font-weight:600}}label{{margin-right:1rem;display:inline-block}}textarea{{width:100%;min-height:5rem}}.error{{color:#a00;font-weight:600}}button{{font-size:1rem;padding:.5rem 1.5rem}}</style></head><body>{body}</body></html>",
        escape(title)
    );
    let mut r = (status, Html(page)).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

/// The form of a survey, with the answers already given (when a first try was refused).
fn form(
    survey: &SurveyData,
    name: &str,
    given: &[(String, String)],
    error: Option<&str>,
) -> String {
    let value = |key: &str| {
        given
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let mut out = format!("<h1>{}</h1>", escape(name));
    if let Some(intro) = &survey.intro {
        out.push_str(&format!("<p>{}</p>", escape(intro)));
    }
    if let Some(e) = error {
        out.push_str(&format!(
            "<p class=\"error\" role=\"alert\">{}</p>",
            escape(e)
        ));
    }
    out.push_str("<form method=\"post\">");
    for q in &survey.questions {
        let key = escape(&q.key);
        out.push_str(&format!("<fieldset><legend>{}</legend>", escape(&q.text)));
        let radio = |v: &str, label: &str| {
            let checked = if value(&q.key) == v { " checked" } else { "" };
            format!(
                "<label><input type=\"radio\" name=\"{key}\" value=\"{}\" required{checked}> {}</label>",
                escape(v),
                escape(label)
            )
        };
        match &q.answer {
            AnswerKind::Rating { min, max } => {
                for n in *min..=*max {
                    out.push_str(&radio(&n.to_string(), &n.to_string()));
                }
            }
            AnswerKind::Choice { options } => {
                for o in options {
                    out.push_str(&radio(o, o));
                }
            }
            AnswerKind::FreeText => out.push_str(&format!(
                "<textarea name=\"{key}\" maxlength=\"{}\" required>{}</textarea>",
                flow::surveys::limits::FREE_TEXT,
                escape(value(&q.key))
            )),
        }
        out.push_str("</fieldset>");
    }
    out.push_str("<button type=\"submit\">Send</button></form>");
    out
}

/// What the page says of a survey that takes no answers any more.
fn closed_page(page: &SurveyPage) -> Response {
    let said = match page.status {
        ResponseStatus::Completed => "Thank you: this survey has been answered.",
        ResponseStatus::Expired => "This survey link has expired.",
        _ => "This survey is no longer open.",
    };
    html(
        StatusCode::GONE,
        &page.name,
        &format!("<h1>{}</h1><p>{said}</p>", escape(&page.name)),
    )
}

fn not_found() -> Response {
    html(
        StatusCode::NOT_FOUND,
        "Survey",
        "<h1>Survey</h1><p>This survey link is not known.</p>",
    )
}

/// The page a problem of the survey's surface shows.
fn failed(e: ConversationError) -> Response {
    match e {
        ConversationError::NotFound(_) => not_found(),
        other => Problem::from(other).into_response(),
    }
}

fn check_token(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The survey page of an email-family customer's link.
pub async fn page(
    State(state): State<AppState>,
    PathParams(token): PathParams<String>,
) -> Response {
    if !check_token(&token) {
        return not_found();
    }
    match state.conversations.survey_page(&token).await {
        Ok(p) if p.status == ResponseStatus::InProgress => html(
            StatusCode::OK,
            &p.name,
            &form(&p.survey, &p.name, &[], None),
        ),
        Ok(p) => closed_page(&p),
        Err(e) => failed(e),
    }
}

/// The answers of a survey page (`application/x-www-form-urlencoded`, each question's answer
/// under its key): taken once; refused answers show the form again with what was wrong.
pub async fn answer(
    State(state): State<AppState>,
    PathParams(token): PathParams<String>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    if !check_token(&token) {
        return not_found();
    }
    let body = match crate::problem::raw_body(
        body,
        &format!("a survey's answers (at most {MAX_FORM} bytes)"),
    ) {
        Ok(b) => b,
        Err(p) => return p.into_response(),
    };
    let fields: Vec<(String, String)> = form_urlencoded::parse(&body)
        .take(MAX_FIELDS)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    match state
        .conversations
        .answer_survey_page(&token, &fields)
        .await
    {
        Ok(p) => {
            let thanks = p
                .survey
                .thanks
                .clone()
                .unwrap_or_else(|| "Thank you for your answers.".into());
            html(
                StatusCode::OK,
                &p.name,
                &format!("<h1>{}</h1><p>{}</p>", escape(&p.name), escape(&thanks)),
            )
        }
        Err(ConversationError::Invalid(_, why)) => {
            match state.conversations.survey_page(&token).await {
                Ok(p) => html(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &p.name,
                    &form(&p.survey, &p.name, &fields, Some(&why)),
                ),
                Err(e) => failed(e),
            }
        }
        Err(ConversationError::Conflict(..)) => match state.conversations.survey_page(&token).await
        {
            Ok(p) => closed_page(&p),
            Err(e) => failed(e),
        },
        Err(e) => failed(e),
    }
}
