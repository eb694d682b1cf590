//! Cases (seed 003 §5): `/cases` and a case's interactions. A case is of a case type (a
//! business object, `/case-types`); its fields are the type's, checked against it.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use runtime::cases::{Case, CaseChange, CaseLinkView, NewCase};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use store::CaseFilter;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::problem::{
    ApiResult, IfMatch, JsonBody, MAX_PAGE, PathParams, Problem, ProblemBody, QueryParams,
    page_request,
};

/// A case.
#[derive(Serialize, ToSchema)]
pub struct CaseDto {
    pub id: Uuid,
    /// Unique among cases (`CS-000042` when the server gave it).
    pub reference: String,
    pub case_type_id: Uuid,
    pub title: String,
    /// One of the case type's statuses.
    pub status: String,
    /// The type's fields that have a value, by name.
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
    /// The customer it is about.
    pub customer_id: Option<Uuid>,
    pub revision: u64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<&Case> for CaseDto {
    fn from(c: &Case) -> Self {
        CaseDto {
            id: c.id,
            reference: c.reference.clone(),
            case_type_id: c.case_type_id,
            title: c.title.clone(),
            status: c.status.clone(),
            fields: c.fields.clone(),
            customer_id: c.customer_id,
            revision: c.revision,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

fn response(status: StatusCode, c: &Case) -> Response {
    (
        status,
        [(header::ETAG, format!("\"{}\"", c.revision))],
        Json(CaseDto::from(c)),
    )
        .into_response()
}

/// A new case.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCaseBody {
    pub case_type_id: Uuid,
    #[schema(min_length = 1, max_length = 500)]
    pub title: String,
    /// One of the type's statuses (default: its first that is not closed).
    pub status: Option<String>,
    /// Values of the type's fields, by name.
    #[schema(value_type = Option<Object>)]
    pub fields: Option<Map<String, Value>>,
    pub customer_id: Option<Uuid>,
    /// Letters, digits, `-` and `_`, at most 64 (default: the next `CS-` number).
    #[schema(max_length = 64)]
    pub reference: Option<String>,
}

/// A change to a case: what is given changes; a field given `null` is emptied.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseChangeBody {
    #[schema(min_length = 1, max_length = 500)]
    pub title: Option<String>,
    pub status: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub fields: Option<Map<String, Value>>,
}

/// Filters and pagination of the case list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    pub customer_id: Option<Uuid>,
    pub case_type_id: Option<Uuid>,
    /// Cases in this status (as the type spells it).
    pub status: Option<String>,
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
    pub after: Option<Uuid>,
}

/// A page of cases, newest first.
#[derive(Serialize, ToSchema)]
pub struct CasePage {
    pub items: Vec<CaseDto>,
    pub next_after: Option<Uuid>,
}

/// Lists cases, newest first, filtered by customer, type or status.
#[utoipa::path(get, path = "/cases", tag = "Cases", security(("token" = ["cases:read"])), params(CaseQuery),
    responses((status = 200, body = CasePage), (status = 400, body = ProblemBody)))]
pub async fn list(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<CaseQuery>,
) -> ApiResult<Json<CasePage>> {
    let filter = CaseFilter {
        customer_id: q.customer_id,
        case_type_id: q.case_type_id,
        status: q.status,
    };
    let p = state
        .conversations
        .cases(&filter, &page_request(q.limit, q.after)?)
        .await?;
    Ok(Json(CasePage {
        items: p.items.iter().map(Into::into).collect(),
        next_after: p.next_after,
    }))
}

/// Creates a case (routings create theirs with *Create a new case and associate it with the
/// interaction*).
#[utoipa::path(post, path = "/cases", tag = "Cases", security(("token" = ["cases:create"])), request_body = NewCaseBody,
    responses((status = 201, body = CaseDto),
        (status = 409, body = ProblemBody, description = "reference_taken: another case has the reference; cases_full: the deployment has created its 10 000 000 cases"),
        (status = 422, body = ProblemBody, description = "invalid_case: no such case type or customer, a title, status, field or value the type refuses")))]
pub async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<NewCaseBody>,
) -> ApiResult<Response> {
    let c = state
        .conversations
        .create_case(NewCase {
            case_type_id: body.case_type_id,
            title: body.title,
            status: body.status,
            fields: body.fields.unwrap_or_default(),
            customer_id: body.customer_id,
            reference: body.reference,
        })
        .await?;
    Ok(response(StatusCode::CREATED, &c))
}

/// One case.
#[utoipa::path(get, path = "/cases/{id}", tag = "Cases", security(("token" = ["cases:read"])), params(("id" = Uuid, Path)),
    responses((status = 200, body = CaseDto), (status = 404, body = ProblemBody)))]
pub async fn get(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Response> {
    let c = state.conversations.case(id).await?;
    Ok(response(StatusCode::OK, &c))
}

/// Changes a case's title, status or fields.
#[utoipa::path(patch, path = "/cases/{id}", tag = "Cases", security(("token" = ["cases:edit"])),
    params(("If-Match" = Option<String>, Header, description = "The revision the change expects (`\"3\"`, as the ETag gave it): 412 `precondition_failed` if it is no longer the current one; none: no check"), ("id" = Uuid, Path)),
    request_body = CaseChangeBody,
    responses((status = 200, body = CaseDto), (status = 404, body = ProblemBody), (status = 412, body = ProblemBody),
        (status = 422, body = ProblemBody, description = "invalid_case: a title, status, field or value the type refuses")))]
pub async fn update(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    IfMatch(if_match): IfMatch,
    JsonBody(body): JsonBody<CaseChangeBody>,
) -> ApiResult<Response> {
    let c = state
        .conversations
        .update_case(
            id,
            &CaseChange {
                title: body.title,
                status: body.status,
                fields: body.fields.unwrap_or_default(),
            },
            if_match,
        )
        .await?;
    Ok(response(StatusCode::OK, &c))
}

/// Deletes a case and its links to interactions (the interactions and their history stay).
#[utoipa::path(delete, path = "/cases/{id}", tag = "Cases", security(("token" = ["cases:delete"])), params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ProblemBody)))]
pub async fn delete(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<StatusCode> {
    state.conversations.delete_case(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An interaction's link to a case.
#[derive(Serialize, ToSchema)]
pub struct CaseLinkDto {
    pub interaction_id: Uuid,
    #[schema(value_type = String, format = DateTime)]
    pub linked_at: Timestamp,
    /// When the interaction was dissociated from the case (none: it is linked now).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub unlinked_at: Option<Timestamp>,
}

impl From<&CaseLinkView> for CaseLinkDto {
    fn from(l: &CaseLinkView) -> Self {
        CaseLinkDto {
            interaction_id: l.interaction_id,
            linked_at: l.linked_at,
            unlinked_at: l.unlinked_at,
        }
    }
}

/// Pagination of a case's interactions.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LinkQuery {
    /// How many links to skip (0 to 10 000).
    #[param(minimum = 0, maximum = 10000)]
    pub offset: Option<u64>,
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
}

/// The interactions linked to a case, in the order they were (at most 10 000 in all).
#[utoipa::path(get, path = "/cases/{id}/interactions", tag = "Cases", security(("token" = ["cases:read"])),
    params(("id" = Uuid, Path), LinkQuery),
    responses((status = 200, body = Vec<CaseLinkDto>), (status = 400, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub async fn interactions(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    QueryParams(q): QueryParams<LinkQuery>,
) -> ApiResult<Json<Vec<CaseLinkDto>>> {
    let limit = q.limit.unwrap_or(50);
    let offset = q.offset.unwrap_or(0);
    if !(1..=MAX_PAGE).contains(&limit) || offset > flow::cases::limits::LINKS {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!(
                "limit is 1 to {MAX_PAGE}, offset 0 to {}",
                flow::cases::limits::LINKS
            ),
        ));
    }
    let links = state
        .conversations
        .case_interactions(id, offset, limit)
        .await?;
    Ok(Json(links.iter().map(Into::into).collect()))
}
