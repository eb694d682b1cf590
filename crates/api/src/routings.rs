//! `/routings`: smart routings, their copy, import and export.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use flow::access::Verb;
use flow::document::{self, RoutingDocument};
use flow::fields::ChannelFamily;
use runtime::access::Caller;
use runtime::maker::{NewRouting, RoutingPatch};
use serde::Deserialize;
use store::RoutingFilter;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::AppState;
use crate::dto::*;
use crate::problem::{
    ApiResult, IfMatch, JsonBody, PathParams, ProblemBody, QueryParams, page_request,
};

const TAG: &str = "Smart routings";

pub(crate) fn routing_response(
    state: &AppState,
    status: StatusCode,
    view: &runtime::maker::RoutingView,
) -> Response {
    let etag = format!("\"{}\"", view.routing.revision);
    (
        status,
        [(header::ETAG, etag)],
        Json(RoutingDto::new(view, state.maker.time_zone())),
    )
        .into_response()
}

/// Filters and pagination of the routing list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub channel_family: Option<Family>,
    pub kind: Option<Kind>,
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
    /// `next_after` of the previous page.
    pub after: Option<Uuid>,
}

/// Lists smart routings.
#[utoipa::path(get, path = "/routings", security(("token" = ["routings:read"])), tag = TAG, params(ListQuery),
    responses((status = 200, body = RoutingPage), (status = 400, body = ProblemBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<ListQuery>,
) -> ApiResult<Json<RoutingPage>> {
    // a caller who reads one family only lists that family's routings
    let readable = crate::auth::families(&caller, Verb::Read);
    let family: Option<ChannelFamily> = q.channel_family.map(Into::into);
    let channel_family = match (family, readable.as_slice()) {
        (Some(f), _) => {
            crate::auth::family_allowed(&caller, f, Verb::Read)?;
            Some(f)
        }
        (None, [only]) => Some(*only),
        (None, _) => None,
    };
    let filter = RoutingFilter {
        channel_family,
        kind: q.kind.map(Into::into),
    };
    let page = state
        .maker
        .routings(&filter, &page_request(q.limit, q.after)?)
        .await?;
    Ok(Json(RoutingPage {
        items: page.items.iter().map(Into::into).collect(),
        next_after: page.next_after,
    }))
}

/// Creates a smart routing (kind and channel family are fixed from then on).
#[utoipa::path(post, path = "/routings", security(("token" = ["routings:create"])), tag = TAG, request_body = CreateRouting,
    responses((status = 201, body = RoutingDto), (status = 409, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateRouting>,
) -> ApiResult<Response> {
    crate::auth::family_allowed(&caller, body.channel_family.into(), Verb::Create)?;
    let view = state
        .maker
        .create_routing(NewRouting {
            name: body.name,
            reference: body.reference,
            description: body.description,
            kind: body.kind.into(),
            channel_family: body.channel_family.into(),
        })
        .await?;
    Ok(routing_response(&state, StatusCode::CREATED, &view))
}

/// A smart routing with its versions and planned productions.
#[utoipa::path(get, path = "/routings/{id}", security(("token" = ["routings:read"])), tag = TAG, params(("id" = Uuid, Path)),
    responses((status = 200, body = RoutingDto), (status = 404, body = ProblemBody)))]
pub async fn get(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Response> {
    let view = state.maker.routing(id).await?;
    Ok(routing_response(&state, StatusCode::OK, &view))
}

/// Updates name, reference or description. `If-Match` (the routing's revision) is honoured.
#[utoipa::path(patch, path = "/routings/{id}", security(("token" = ["routings:edit"])), tag = TAG, params(("If-Match" = Option<String>, Header, description = "The revision the change expects (`\"3\"`, as the ETag gave it): 412 `precondition_failed` if it is no longer the current one; none: no check"), ("id" = Uuid, Path)), request_body = UpdateRouting,
    responses((status = 200, body = RoutingDto), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody), (status = 412, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn update(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    IfMatch(if_match): IfMatch,
    JsonBody(body): JsonBody<UpdateRouting>,
) -> ApiResult<Response> {
    let patch = RoutingPatch {
        name: body.name,
        reference: body.reference,
        description: body.description,
        kind: body.kind.map(Into::into),
        channel_family: body.channel_family.map(Into::into),
    };
    let view = state.maker.update_routing(id, patch, if_match).await?;
    Ok(routing_response(&state, StatusCode::OK, &view))
}

/// Deletes a smart routing with all its versions; refused while a version is in production.
#[utoipa::path(delete, path = "/routings/{id}", security(("token" = ["routings:delete"])), tag = TAG, params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody)))]
pub async fn delete(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<StatusCode> {
    state.maker.delete_routing(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Copies a smart routing: new name and reference, every version as a development version.
#[utoipa::path(post, path = "/routings/{id}/copy", security(("token" = ["routings:create"])), tag = TAG, params(("id" = Uuid, Path)), request_body = CopyRouting,
    responses((status = 201, body = RoutingDto), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn copy(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    JsonBody(body): JsonBody<CopyRouting>,
) -> ApiResult<Response> {
    let view = state
        .maker
        .copy_routing(id, &body.name, &body.reference, body.description.as_deref())
        .await?;
    Ok(routing_response(&state, StatusCode::CREATED, &view))
}

/// The versions of a smart routing, by number.
#[utoipa::path(get, path = "/routings/{id}/versions", security(("token" = ["routings:read"])), tag = TAG, params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<VersionSummary>), (status = 404, body = ProblemBody)))]
pub async fn versions(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Json<Vec<VersionSummary>>> {
    let view = state.maker.routing(id).await?;
    Ok(Json(view.versions.iter().map(Into::into).collect()))
}

/// The routing document of a smart routing (all versions).
#[utoipa::path(get, path = "/routings/{id}/export", security(("token" = ["routings:read"])), tag = TAG, params(("id" = Uuid, Path)),
    responses((status = 200, description = "A routing document", body = Object), (status = 404, body = ProblemBody)))]
pub async fn export(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Json<RoutingDocument>> {
    Ok(Json(state.maker.export(id).await?))
}

fn read_document(body: serde_json::Value) -> ApiResult<RoutingDocument> {
    document::from_value(body).map_err(|e| runtime::MakerError::Document(e).into())
}

/// Imports a routing document as a new smart routing. Refuses a taken reference and documents
/// with problems; development versions may carry errors (reported).
#[utoipa::path(post, path = "/routings/import", security(("token" = ["routings:create"])), tag = TAG, request_body(content = Object, description = "A routing document"),
    responses((status = 201, body = ImportResult), (status = 409, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<serde_json::Value>,
) -> ApiResult<Response> {
    let doc = read_document(body)?;
    crate::auth::family_allowed(&caller, doc.routing.channel_family, Verb::Create)?;
    let imported = state.maker.import(doc).await?;
    let view = state.maker.routing(imported.routing.id).await?;
    let result = ImportResult {
        routing: RoutingDto::new(&view, state.maker.time_zone()),
        report: serde_json::to_value(&imported.report).unwrap_or_default(),
    };
    Ok((StatusCode::CREATED, Json(result)).into_response())
}

/// Checks a routing document without importing it.
#[utoipa::path(post, path = "/routings/validate", security(("token" = ["routings:read"])), tag = TAG, request_body(content = Object, description = "A routing document"),
    responses((status = 200, body = DocumentCheck), (status = 422, body = ProblemBody)))]
pub async fn validate(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<serde_json::Value>,
) -> ApiResult<Json<DocumentCheck>> {
    let doc = read_document(body)?;
    let report = state.maker.check_document(&doc).await?;
    Ok(Json(DocumentCheck {
        valid: !report.has_errors(),
        lines: report.lines(),
        report: serde_json::to_value(&report).unwrap_or_default(),
    }))
}
