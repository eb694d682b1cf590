//! `/routings/{id}/versions` and `/versions/{id}`: versions, their lifecycle verbs, and the
//! editing of their action trees (`/actions`, `/links`).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use flow::tree::{ActionPatch, Link, LinkPatch, NewAction, Position, TreeError};
use runtime::MakerError;
use runtime::maker::VersionView;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::dto::*;
use crate::problem::{
    ApiResult, IfMatch, JsonBody, OptionalJsonBody, PathParams, Problem, ProblemBody,
};

const TAG: &str = "Versions";
const TREE_TAG: &str = "Action trees";

/// A version as the API shows it, with the entry points that run it in test (seed 001 §4: the
/// card of a version in test shows them).
async fn version_response(
    state: &AppState,
    status: StatusCode,
    view: &VersionView,
) -> ApiResult<Response> {
    let etag = format!("\"{}\"", view.version.record.revision);
    let mut dto = VersionDto::from(view);
    dto.test_entry_points = state
        .conversations
        .test_entry_points(view.version.record.id)
        .await?
        .iter()
        .map(Into::into)
        .collect();
    Ok((status, [(header::ETAG, etag)], Json(dto)).into_response())
}

/// Creates a development version, from zero (only Start) or as a copy of a version's tree.
#[utoipa::path(post, path = "/routings/{id}/versions", security(("token" = ["routings:create"])), tag = TAG, params(("id" = Uuid, Path)), request_body = CreateVersion,
    responses((status = 201, body = VersionDto), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn create(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    JsonBody(body): JsonBody<CreateVersion>,
) -> ApiResult<Response> {
    let view = state
        .maker
        .create_version(id, &body.name, &body.description, body.copy_of)
        .await?;
    version_response(&state, StatusCode::CREATED, &view).await
}

/// A version with its tree and diagnostics. The `ETag` is its revision.
#[utoipa::path(get, path = "/versions/{id}", security(("token" = ["routings:read"])), tag = TAG, params(("id" = Uuid, Path)),
    responses((status = 200, body = VersionDto), (status = 404, body = ProblemBody)))]
pub async fn get(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Response> {
    version_response(&state, StatusCode::OK, &state.maker.version(id).await?).await
}

/// Renames or re-describes a development version.
#[utoipa::path(patch, path = "/versions/{id}", security(("token" = ["routings:edit"])), tag = TAG, params(("If-Match" = Option<String>, Header, description = "The revision the change expects (`\"3\"`, as the ETag gave it): 412 `precondition_failed` if it is no longer the current one; none: no check"), ("id" = Uuid, Path)), request_body = UpdateVersion,
    responses((status = 200, body = VersionDto), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody), (status = 412, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn update(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    IfMatch(if_match): IfMatch,
    JsonBody(body): JsonBody<UpdateVersion>,
) -> ApiResult<Response> {
    let (view, ()) = state
        .maker
        .edit(id, if_match, |v, _| {
            if let Some(n) = &body.name {
                v.record.name = flow::model::check_name("name", n)?;
            }
            if let Some(d) = &body.description {
                v.record.description = flow::model::check_description(d)?;
            }
            Ok(())
        })
        .await?;
    version_response(&state, StatusCode::OK, &view).await
}

/// Deletes a development or backup version (never the production one).
#[utoipa::path(delete, path = "/versions/{id}", security(("token" = ["routings:delete"])), tag = TAG, params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody)))]
pub async fn delete(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<StatusCode> {
    state.maker.delete_version(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Duplicates a version of any status into a new development version.
#[utoipa::path(post, path = "/versions/{id}/duplicate", security(("token" = ["routings:create"])), tag = TAG, params(("id" = Uuid, Path)), request_body = Option<DuplicateVersion>,
    responses((status = 201, body = VersionDto), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody)))]
pub async fn duplicate(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    OptionalJsonBody(body): OptionalJsonBody<DuplicateVersion>,
) -> ApiResult<Response> {
    let view = state
        .maker
        .duplicate_version(id, body.name.as_deref())
        .await?;
    version_response(&state, StatusCode::CREATED, &view).await
}

/// Puts a development or backup version into production; the previous one goes to backup.
#[utoipa::path(post, path = "/versions/{id}/put-in-production", security(("token" = ["routings:publish"])), tag = TAG, params(("id" = Uuid, Path)),
    responses((status = 200, body = VersionDto), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody)))]
pub async fn put_in_production(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Response> {
    version_response(
        &state,
        StatusCode::OK,
        &state.maker.put_in_production(id).await?,
    )
    .await
}

/// Puts a development version in test.
#[utoipa::path(post, path = "/versions/{id}/put-in-test", security(("token" = ["routings:publish"])), tag = TAG, params(("id" = Uuid, Path)),
    responses((status = 200, body = VersionDto), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody)))]
pub async fn put_in_test(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Response> {
    version_response(&state, StatusCode::OK, &state.maker.put_in_test(id).await?).await
}

/// Takes a version out of test.
#[utoipa::path(post, path = "/versions/{id}/remove-from-test", security(("token" = ["routings:publish"])), tag = TAG, params(("id" = Uuid, Path)),
    responses((status = 200, body = VersionDto), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody)))]
pub async fn remove_from_test(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Response> {
    version_response(
        &state,
        StatusCode::OK,
        &state.maker.remove_from_test(id).await?,
    )
    .await
}

/// Plans the production of a development version at a future time (one per calendar day of
/// the deployment's time zone and routing).
#[utoipa::path(post, path = "/versions/{id}/schedule", security(("token" = ["routings:publish"])), tag = TAG, params(("id" = Uuid, Path)), request_body = ScheduleRequest,
    responses((status = 200, body = VersionDto), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn schedule(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    JsonBody(body): JsonBody<ScheduleRequest>,
) -> ApiResult<Response> {
    version_response(
        &state,
        StatusCode::OK,
        &state.maker.schedule(id, body.at).await?,
    )
    .await
}

/// Removes the planned production of a version.
#[utoipa::path(post, path = "/versions/{id}/unschedule", security(("token" = ["routings:publish"])), tag = TAG, params(("id" = Uuid, Path)),
    responses((status = 200, body = VersionDto), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody)))]
pub async fn unschedule(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Response> {
    version_response(&state, StatusCode::OK, &state.maker.unschedule(id).await?).await
}

// ----- tree edits -----

/// The version after an edit, with the action or link the edit created or changed.
#[derive(Serialize, ToSchema)]
pub struct EditResult {
    pub action: Option<ActionDto>,
    pub link: Option<LinkDto>,
    pub version: VersionDto,
}

fn edit_response(
    status: StatusCode,
    view: &VersionView,
    action: Option<Uuid>,
    link: Option<Uuid>,
) -> Response {
    let tree = &view.version.tree;
    let result = EditResult {
        action: action.and_then(|a| tree.action(a)).map(Into::into),
        link: link.and_then(|l| tree.link(l)).map(Into::into),
        version: view.into(),
    };
    let etag = format!("\"{}\"", view.version.record.revision);
    (status, [(header::ETAG, etag)], Json(result)).into_response()
}

fn position(p: Option<PositionDto>) -> Position {
    p.map(|p| Position { x: p.x, y: p.y }).unwrap_or_default()
}

/// Adds an action: a type with parameters, or a copy of another action; optionally after an
/// action in a branch, or between the two actions of a link. Honours `If-Match`.
#[utoipa::path(post, path = "/versions/{id}/actions", security(("token" = ["routings:edit"])), tag = TREE_TAG, params(("If-Match" = Option<String>, Header, description = "The revision the change expects (`\"3\"`, as the ETag gave it): 412 `precondition_failed` if it is no longer the current one; none: no check"), ("id" = Uuid, Path)), request_body = CreateAction,
    responses((status = 201, body = EditResult), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody), (status = 412, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn create_action(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    IfMatch(if_match): IfMatch,
    JsonBody(body): JsonBody<CreateAction>,
) -> ApiResult<Response> {
    let (action_type, params, source_name, source_record) = match (
        &body.action_type,
        &body.copy_from,
    ) {
        (Some(t), None) => (
            t.clone(),
            body.params.clone().unwrap_or(serde_json::Value::Null),
            None,
            None,
        ),
        (None, Some(src)) => {
            if body.params.is_some() {
                return Err(Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_body",
                    "a copied action takes its parameters from its source; change them afterwards",
                ));
            }
            let source = state.maker.version(src.version_id).await?;
            let action = source.version.tree.action(src.action_id).ok_or_else(|| {
                Problem::not_found(format!(
                    "action {} in version {}",
                    src.action_id, src.version_id
                ))
            })?;
            (
                action.action_type.clone(),
                action.params.clone(),
                action.name.clone(),
                Some(action.record_passage),
            )
        }
        _ => {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                "give either 'type' (with 'params') or 'copy_from'",
            ));
        }
    };
    if body.after.is_some() && body.between.is_some() {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            "give at most one of 'after' and 'between'",
        ));
    }
    let action_id = Uuid::now_v7();
    let link_id = Uuid::now_v7();
    let new = NewAction {
        id: action_id,
        action_type,
        name: body.name.clone().or(source_name),
        params,
        record_passage: body.record_passage.or(source_record).unwrap_or(false),
        position: position(body.position),
    };
    let (view, linked) = state
        .maker
        .edit(id, if_match, |v, family| {
            match (&body.after, &body.between) {
                (Some(after), _) => {
                    v.tree.add_action(
                        family,
                        new.clone(),
                        Some((after.action_id, after.branch.clone(), link_id)),
                    )?;
                    Ok(true)
                }
                (_, Some(between)) => {
                    v.tree.insert_between(
                        family,
                        new.clone(),
                        between.link_id,
                        between.out_branch.clone(),
                        link_id,
                    )?;
                    Ok(true)
                }
                _ => {
                    v.tree.add_action(family, new.clone(), None)?;
                    Ok(false)
                }
            }
        })
        .await?;
    Ok(edit_response(
        StatusCode::CREATED,
        &view,
        Some(action_id),
        linked.then_some(link_id),
    ))
}

fn action_exists(v: &flow::Version, action_id: Uuid) -> Result<(), MakerError> {
    v.tree.action(action_id).map(|_| ()).ok_or_else(|| {
        MakerError::NotFound(format!("action {action_id} in version {}", v.record.id))
    })
}

/// Changes an action's parameters, name, passage recording or position (its type is fixed).
#[utoipa::path(patch, path = "/versions/{id}/actions/{action_id}", security(("token" = ["routings:edit"])), tag = TREE_TAG, params(("If-Match" = Option<String>, Header, description = "The revision the change expects (`\"3\"`, as the ETag gave it): 412 `precondition_failed` if it is no longer the current one; none: no check"), ("id" = Uuid, Path), ("action_id" = Uuid, Path)), request_body = UpdateAction,
    responses((status = 200, body = EditResult), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody), (status = 412, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn update_action(
    State(state): State<AppState>,
    PathParams((id, action_id)): PathParams<(Uuid, Uuid)>,
    IfMatch(if_match): IfMatch,
    JsonBody(body): JsonBody<UpdateAction>,
) -> ApiResult<Response> {
    let patch = ActionPatch {
        name: body.name,
        params: body.params,
        record_passage: body.record_passage,
        position: body.position.map(|p| Position { x: p.x, y: p.y }),
    };
    let (view, ()) = state
        .maker
        .edit(id, if_match, |v, family| {
            action_exists(v, action_id)?;
            Ok(v.tree.update_action(family, action_id, patch.clone())?)
        })
        .await?;
    Ok(edit_response(StatusCode::OK, &view, Some(action_id), None))
}

/// Deletes an action and its links (Start cannot be deleted).
#[utoipa::path(delete, path = "/versions/{id}/actions/{action_id}", security(("token" = ["routings:edit"])), tag = TREE_TAG, params(("If-Match" = Option<String>, Header, description = "The revision the change expects (`\"3\"`, as the ETag gave it): 412 `precondition_failed` if it is no longer the current one; none: no check"), ("id" = Uuid, Path), ("action_id" = Uuid, Path)),
    responses((status = 200, body = EditResult), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody), (status = 412, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn delete_action(
    State(state): State<AppState>,
    PathParams((id, action_id)): PathParams<(Uuid, Uuid)>,
    IfMatch(if_match): IfMatch,
) -> ApiResult<Response> {
    let (view, ()) = state
        .maker
        .edit(id, if_match, |v, _| {
            action_exists(v, action_id)?;
            Ok(v.tree.delete_action(action_id)?)
        })
        .await?;
    Ok(edit_response(StatusCode::OK, &view, None, None))
}

/// Links a branch of an action to another action of the same version.
#[utoipa::path(post, path = "/versions/{id}/links", security(("token" = ["routings:edit"])), tag = TREE_TAG, params(("If-Match" = Option<String>, Header, description = "The revision the change expects (`\"3\"`, as the ETag gave it): 412 `precondition_failed` if it is no longer the current one; none: no check"), ("id" = Uuid, Path)), request_body = CreateLink,
    responses((status = 201, body = EditResult), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody), (status = 412, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn create_link(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    IfMatch(if_match): IfMatch,
    JsonBody(body): JsonBody<CreateLink>,
) -> ApiResult<Response> {
    let link_id = Uuid::now_v7();
    let (view, ()) = state
        .maker
        .edit(id, if_match, |v, family| {
            let link = Link {
                id: link_id,
                from: body.from,
                branch: body.branch.clone(),
                to: body.to,
            };
            Ok(v.tree.add_link(family, link)?)
        })
        .await?;
    Ok(edit_response(
        StatusCode::CREATED,
        &view,
        None,
        Some(link_id),
    ))
}

/// Re-points a link (new source, branch or target).
#[utoipa::path(patch, path = "/versions/{id}/links/{link_id}", security(("token" = ["routings:edit"])), tag = TREE_TAG, params(("If-Match" = Option<String>, Header, description = "The revision the change expects (`\"3\"`, as the ETag gave it): 412 `precondition_failed` if it is no longer the current one; none: no check"), ("id" = Uuid, Path), ("link_id" = Uuid, Path)), request_body = UpdateLink,
    responses((status = 200, body = EditResult), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody), (status = 412, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn update_link(
    State(state): State<AppState>,
    PathParams((id, link_id)): PathParams<(Uuid, Uuid)>,
    IfMatch(if_match): IfMatch,
    JsonBody(body): JsonBody<UpdateLink>,
) -> ApiResult<Response> {
    let patch = LinkPatch {
        from: body.from,
        branch: body.branch,
        to: body.to,
    };
    let (view, ()) = state
        .maker
        .edit(id, if_match, |v, family| {
            match v.tree.update_link(family, link_id, patch.clone()) {
                Err(TreeError::LinkNotFound(l)) => Err(MakerError::NotFound(format!("link {l}"))),
                other => Ok(other?),
            }
        })
        .await?;
    Ok(edit_response(StatusCode::OK, &view, None, Some(link_id)))
}

/// Deletes a link.
#[utoipa::path(delete, path = "/versions/{id}/links/{link_id}", security(("token" = ["routings:edit"])), tag = TREE_TAG, params(("If-Match" = Option<String>, Header, description = "The revision the change expects (`\"3\"`, as the ETag gave it): 412 `precondition_failed` if it is no longer the current one; none: no check"), ("id" = Uuid, Path), ("link_id" = Uuid, Path)),
    responses((status = 200, body = EditResult), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody), (status = 412, body = ProblemBody)))]
pub async fn delete_link(
    State(state): State<AppState>,
    PathParams((id, link_id)): PathParams<(Uuid, Uuid)>,
    IfMatch(if_match): IfMatch,
) -> ApiResult<Response> {
    let (view, ()) = state
        .maker
        .edit(id, if_match, |v, _| match v.tree.delete_link(link_id) {
            Err(TreeError::LinkNotFound(l)) => Err(MakerError::NotFound(format!("link {l}"))),
            other => Ok(other?),
        })
        .await?;
    Ok(edit_response(StatusCode::OK, &view, None, None))
}

/// Replaces the version's whole tree (the editor's undo and redo): the same Start first, every
/// other action and link checked as when added one by one; refused whole, nothing changed.
/// Honours `If-Match`.
#[utoipa::path(put, path = "/versions/{id}/tree", security(("token" = ["routings:edit"])), tag = TREE_TAG, params(("If-Match" = Option<String>, Header, description = "The revision the change expects (`\"3\"`, as the ETag gave it): 412 `precondition_failed` if it is no longer the current one; none: no check"), ("id" = Uuid, Path)), request_body = ReplaceTree,
    responses((status = 200, body = EditResult), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody), (status = 412, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn replace_tree(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    IfMatch(if_match): IfMatch,
    JsonBody(body): JsonBody<ReplaceTree>,
) -> ApiResult<Response> {
    let tree = body.into_tree();
    let (view, ()) = state
        .maker
        .edit(id, if_match, |v, family| {
            Ok(v.tree.replace(family, tree.clone())?)
        })
        .await?;
    Ok(edit_response(StatusCode::OK, &view, None, None))
}

// ----- catalogue -----

/// The whole action catalogue: categories, channel families, branches and the JSON Schema of
/// each action type's parameters.
#[utoipa::path(get, path = "/action-types", security(("token" = ["routings:read"])), tag = "Catalogue", responses((status = 200, body = CatalogueDto)))]
pub async fn catalogue() -> Json<CatalogueDto> {
    Json(CatalogueDto {
        items: flow::catalogue::all()
            .iter()
            .map(|s| ActionTypeDto::from(*s))
            .collect(),
    })
}

/// The system variables the engine fills, which routings read and cannot store into.
#[utoipa::path(get, path = "/system-variables", security(("token" = ["routings:read"])), tag = "Catalogue", responses((status = 200, body = SystemVariablesDto)))]
pub async fn system_variables() -> Json<SystemVariablesDto> {
    Json(SystemVariablesDto {
        items: flow::variables::SYSTEM_FIELDS
            .iter()
            .map(|f| SystemVariableDto {
                path: f.path.to_owned(),
                description: f.description.to_owned(),
                email_only: f.email_only,
            })
            .collect(),
    })
}

/// One action type.
#[utoipa::path(get, path = "/action-types/{type}", security(("token" = ["routings:read"])), tag = "Catalogue", params(("type" = String, Path)),
    responses((status = 200, body = ActionTypeDto), (status = 404, body = ProblemBody)))]
pub async fn action_type(PathParams(key): PathParams<String>) -> ApiResult<Json<ActionTypeDto>> {
    flow::catalogue::get(&key)
        .map(|s| Json(ActionTypeDto::from(s)))
        .ok_or_else(|| Problem::not_found(format!("action type '{key}'")))
}

/// The other version of a diff.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    /// The version (of the same routing) this one is compared with.
    pub with: Uuid,
}

/// What became of an action or a link, from the other version to this one.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeDto {
    Added,
    Removed,
    Changed,
    Moved,
    Unchanged,
}

impl From<flow::diff::Change> for ChangeDto {
    fn from(c: flow::diff::Change) -> Self {
        use flow::diff::Change::*;
        match c {
            Added => ChangeDto::Added,
            Removed => ChangeDto::Removed,
            Changed => ChangeDto::Changed,
            Moved => ChangeDto::Moved,
            Unchanged => ChangeDto::Unchanged,
        }
    }
}

/// One action of either version.
#[derive(Serialize, ToSchema)]
pub struct ActionDiffDto {
    pub change: ChangeDto,
    /// Its id in this version (none when removed).
    pub action_id: Option<Uuid>,
    /// Its id in the other version (none when added).
    pub other_action_id: Option<Uuid>,
    #[serde(rename = "type")]
    pub action_type: String,
    /// What differs: `name`, `record_passage`, `position`, `params.<field>`.
    pub fields: Vec<String>,
}

/// A link only one version has, by the ids of the version that has it.
#[derive(Serialize, ToSchema)]
pub struct LinkDiffDto {
    /// `added` (this version's ids) or `removed` (the other's).
    pub change: ChangeDto,
    pub from: Uuid,
    pub branch: String,
    pub to: Uuid,
}

/// How many of each.
#[derive(Serialize, ToSchema)]
pub struct DiffSummary {
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    pub moved: usize,
    pub links_added: usize,
    pub links_removed: usize,
}

/// Two versions compared.
#[derive(Serialize, ToSchema)]
pub struct DiffDto {
    pub version_id: Uuid,
    pub with_version_id: Uuid,
    pub summary: DiffSummary,
    /// This version's actions in its order, then those only the other has.
    pub actions: Vec<ActionDiffDto>,
    pub links: Vec<LinkDiffDto>,
}

/// Compares this version with another of the same routing: the actions added, removed,
/// changed (name, parameters, passage recording) or moved, and the links added or removed,
/// from `with` to this one. Actions are matched by content and place (a duplicate has fresh
/// ids): the Starts and the actions of unique content, then the same branch's targets of the
/// same type, then the same type with the same parameters or name.
#[utoipa::path(get, path = "/versions/{id}/diff", security(("token" = ["routings:read"])), tag = TAG, params(("id" = Uuid, Path), DiffQuery),
    responses((status = 200, body = DiffDto), (status = 404, body = ProblemBody, description = "not_found: either version"),
        (status = 422, body = ProblemBody, description = "different_routings: the versions belong to different routings")))]
pub async fn diff(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    crate::problem::QueryParams(q): crate::problem::QueryParams<DiffQuery>,
) -> ApiResult<Json<DiffDto>> {
    let this = state.maker.version(id).await?;
    let other = state.maker.version(q.with).await?;
    if this.version.record.routing_id != other.version.record.routing_id {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "different_routings",
            "the two versions belong to different routings",
        ));
    }
    let d = flow::diff::diff(&other.version.tree, &this.version.tree);
    use flow::diff::Change;
    let links_of = |c: Change| d.links.iter().filter(|l| l.change == c).count();
    Ok(Json(DiffDto {
        version_id: id,
        with_version_id: q.with,
        summary: DiffSummary {
            added: d.count(Change::Added),
            removed: d.count(Change::Removed),
            changed: d.count(Change::Changed),
            moved: d.count(Change::Moved),
            links_added: links_of(Change::Added),
            links_removed: links_of(Change::Removed),
        },
        actions: d
            .actions
            .iter()
            .map(|a| ActionDiffDto {
                change: a.change.into(),
                action_id: a.action_id,
                other_action_id: a.other_action_id,
                action_type: a.action_type.clone(),
                fields: a.fields.clone(),
            })
            .collect(),
        links: d
            .links
            .iter()
            .map(|l| LinkDiffDto {
                change: l.change.into(),
                from: l.from,
                branch: l.branch.clone(),
                to: l.to,
            })
            .collect(),
    }))
}
