//! Tasks (seed 003 §5.9) kept by Switchyard: `/tasks`. *Create a task* makes them (a Salesforce
//! task is made in Salesforce instead).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use runtime::tasks::Task;
use serde::{Deserialize, Serialize};
use store::TaskFilter;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::problem::{ApiResult, JsonBody, PathParams, ProblemBody, QueryParams, page_request};

/// Where a task is.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatusDto {
    Open,
    Done,
}

impl TaskStatusDto {
    fn as_str(self) -> &'static str {
        match self {
            TaskStatusDto::Open => "open",
            TaskStatusDto::Done => "done",
        }
    }
}

/// A task.
#[derive(Serialize, ToSchema)]
pub struct TaskDto {
    pub id: Uuid,
    pub name: String,
    pub category: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub start_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<Timestamp>,
    /// `open` or `done`.
    pub status: String,
    /// The interaction whose routing made it, and its customer.
    pub interaction_id: Option<Uuid>,
    pub customer_id: Option<Uuid>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<&Task> for TaskDto {
    fn from(t: &Task) -> Self {
        TaskDto {
            id: t.id,
            name: t.name.clone(),
            category: t.category.clone(),
            start_at: t.start_at,
            due_at: t.due_at,
            status: t.status.clone(),
            interaction_id: t.interaction_id,
            customer_id: t.customer_id,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// Filters and pagination of the task list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TaskQuery {
    pub status: Option<TaskStatusDto>,
    pub customer_id: Option<Uuid>,
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
    pub after: Option<Uuid>,
}

/// A page of tasks, newest first.
#[derive(Serialize, ToSchema)]
pub struct TaskPage {
    pub items: Vec<TaskDto>,
    pub next_after: Option<Uuid>,
}

/// Lists tasks, newest first, filtered by status or customer.
#[utoipa::path(get, path = "/tasks", tag = "Cases", security(("token" = ["tasks:read"])), params(TaskQuery),
    responses((status = 200, body = TaskPage), (status = 400, body = ProblemBody)))]
pub async fn list(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<TaskQuery>,
) -> ApiResult<Json<TaskPage>> {
    let filter = TaskFilter {
        status: q.status.map(|s| s.as_str().to_owned()),
        customer_id: q.customer_id,
    };
    let p = state
        .conversations
        .tasks(&filter, &page_request(q.limit, q.after)?)
        .await?;
    Ok(Json(TaskPage {
        items: p.items.iter().map(Into::into).collect(),
        next_after: p.next_after,
    }))
}

/// One task.
#[utoipa::path(get, path = "/tasks/{id}", tag = "Cases", security(("token" = ["tasks:read"])), params(("id" = Uuid, Path)),
    responses((status = 200, body = TaskDto), (status = 404, body = ProblemBody)))]
pub async fn get(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Json<TaskDto>> {
    let t = state.conversations.task(id).await?;
    Ok(Json((&t).into()))
}

/// A task's new status.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskChange {
    pub status: TaskStatusDto,
}

/// Marks a task done, or open again.
#[utoipa::path(patch, path = "/tasks/{id}", tag = "Cases", security(("token" = ["tasks:edit"])), params(("id" = Uuid, Path)), request_body = TaskChange,
    responses((status = 200, body = TaskDto), (status = 404, body = ProblemBody)))]
pub async fn update(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    JsonBody(body): JsonBody<TaskChange>,
) -> ApiResult<Json<TaskDto>> {
    let t = state
        .conversations
        .set_task_status(id, body.status.as_str())
        .await?;
    Ok(Json((&t).into()))
}

/// Deletes a task.
#[utoipa::path(delete, path = "/tasks/{id}", tag = "Cases", security(("token" = ["tasks:delete"])), params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ProblemBody)))]
pub async fn delete(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<StatusCode> {
    state.conversations.delete_task(id).await?;
    Ok(StatusCode::NO_CONTENT)
}
