//! `/databases/{id}/rows`: the rows of a custom database — CRUD with filters and pagination,
//! CSV import (streamed, with a per-line report) and export (streamed).

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use jiff::Timestamp;
use runtime::databases::Row;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::problem::{ApiResult, IfMatch, JsonBody, PathParams, Problem, ProblemBody, QueryParams};

/// The largest CSV file an import reads, in bytes.
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;
/// The longest an import request may take (its file read and written), past the server's
/// `request_timeout`.
pub const IMPORT_DURATION: std::time::Duration = std::time::Duration::from_secs(15 * 60);
/// The most filters a list takes.
pub const MAX_FILTERS: usize = 20;

/// A row of a database.
#[derive(Serialize, ToSchema)]
pub struct RowDto {
    pub id: Uuid,
    pub database_id: Uuid,
    /// Column name → value (text, number, `YYYY-MM-DD` date, boolean, or one of a list
    /// column's proposals); a column without a value is absent.
    #[schema(value_type = Object)]
    pub values: Map<String, Value>,
    pub revision: u64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<&Row> for RowDto {
    fn from(r: &Row) -> Self {
        RowDto {
            id: r.id,
            database_id: r.database_id,
            values: r.values.clone(),
            revision: r.revision,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

fn response(status: StatusCode, r: &Row) -> Response {
    (
        status,
        [(header::ETAG, format!("\"{}\"", r.revision))],
        Json(RowDto::from(r)),
    )
        .into_response()
}

/// A row's values.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RowBody {
    /// Column name → value. On a change, only the columns named change, and `null` removes a
    /// value (refused for a required column).
    #[schema(value_type = Object)]
    pub values: Map<String, Value>,
}

/// Filters and pagination of a row list (documentation of what the handler reads).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct RowQuery {
    /// `column:value`, repeatable (at most 20): rows whose column equals the value, compared as
    /// searches compare (without case or accents, numbers as numbers; an empty value: no value).
    filter: Option<Vec<String>>,
    /// 1 to 200 (default 50).
    limit: Option<u32>,
    after: Option<Uuid>,
}

/// A page of rows, in the order they were added.
#[derive(Serialize, ToSchema)]
pub struct RowPage {
    pub items: Vec<RowDto>,
    pub next_after: Option<Uuid>,
    /// How many rows the database holds (all of them, not only those filtered).
    pub total: u64,
}

/// A row list's filters `(column, value)`, its page size and cursor.
type RowList = (Vec<(String, String)>, u32, Option<Uuid>);

/// The query of a row list, read by hand because `filter` repeats.
fn row_query(pairs: Vec<(String, String)>) -> ApiResult<RowList> {
    let bad = |m: String| Problem::new(StatusCode::BAD_REQUEST, "invalid_query", m);
    let (mut filters, mut limit, mut after) = (Vec::new(), None, None);
    for (k, v) in pairs {
        match k.as_str() {
            "filter" => {
                let Some((column, value)) = v.split_once(':') else {
                    return Err(bad(format!("filter {v:?} is not column:value")));
                };
                if filters.len() == MAX_FILTERS {
                    return Err(bad(format!("at most {MAX_FILTERS} filters")));
                }
                filters.push((column.to_owned(), value.to_owned()));
            }
            "limit" => {
                limit = Some(
                    v.parse::<u32>()
                        .map_err(|_| bad(format!("limit {v:?} is not a number")))?,
                )
            }
            "after" => {
                after = Some(
                    v.parse::<Uuid>()
                        .map_err(|_| bad(format!("after {v:?} is not a row id")))?,
                )
            }
            other => return Err(bad(format!("unknown parameter {other:?}"))),
        }
    }
    let page = crate::problem::page_request(limit, after)?;
    Ok((filters, page.limit, page.after))
}

/// Lists a database's rows, filtered by column values.
#[utoipa::path(get, path = "/databases/{id}/rows", tag = "Business objects", security(("token" = ["databases:read"])),
    params(("id" = Uuid, Path), RowQuery),
    responses((status = 200, body = RowPage), (status = 400, body = ProblemBody, description = "invalid_query"),
        (status = 404, body = ProblemBody), (status = 422, body = ProblemBody, description = "unknown_column: a filter names a column the database lacks")))]
pub async fn list(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    QueryParams(pairs): QueryParams<Vec<(String, String)>>,
) -> ApiResult<Json<RowPage>> {
    let (filters, limit, after) = row_query(pairs)?;
    let c = &state.conversations;
    let page = c.database_rows(id, &filters, after, limit).await?;
    Ok(Json(RowPage {
        items: page.items.iter().map(Into::into).collect(),
        next_after: page.next_after,
        total: c.database_size(id).await?,
    }))
}

/// Adds a row: its values are checked against the columns (types, required, unique).
#[utoipa::path(post, path = "/databases/{id}/rows", tag = "Business objects", security(("token" = ["databases:edit"])),
    params(("id" = Uuid, Path)), request_body = RowBody,
    responses((status = 201, body = RowDto), (status = 404, body = ProblemBody),
        (status = 409, body = ProblemBody, description = "unique_value_taken: another row has this value of a unique column; database_full: the database holds 1 000 000 rows"),
        (status = 422, body = ProblemBody, description = "invalid_row: an unknown column, a value not of its column's type, a required column without a value")))]
pub async fn create(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    JsonBody(body): JsonBody<RowBody>,
) -> ApiResult<Response> {
    let row = state
        .conversations
        .insert_database_row(id, &body.values)
        .await?;
    Ok(response(StatusCode::CREATED, &row))
}

/// One row.
#[utoipa::path(get, path = "/databases/{id}/rows/{row_id}", tag = "Business objects", security(("token" = ["databases:read"])),
    params(("id" = Uuid, Path), ("row_id" = Uuid, Path)),
    responses((status = 200, body = RowDto), (status = 404, body = ProblemBody)))]
pub async fn get(
    State(state): State<AppState>,
    PathParams((id, row_id)): PathParams<(Uuid, Uuid)>,
) -> ApiResult<Response> {
    let row = state.conversations.database_row(id, row_id).await?;
    Ok(response(StatusCode::OK, &row))
}

/// Changes some of a row's values.
#[utoipa::path(patch, path = "/databases/{id}/rows/{row_id}", tag = "Business objects", security(("token" = ["databases:edit"])),
    params(("If-Match" = Option<String>, Header, description = "The revision the change expects (`\"3\"`, as the ETag gave it): 412 `precondition_failed` if it is no longer the current one; none: no check"),
        ("id" = Uuid, Path), ("row_id" = Uuid, Path)), request_body = RowBody,
    responses((status = 200, body = RowDto), (status = 404, body = ProblemBody),
        (status = 409, body = ProblemBody, description = "unique_value_taken"),
        (status = 412, body = ProblemBody, description = "precondition_failed"),
        (status = 422, body = ProblemBody, description = "invalid_row")))]
pub async fn update(
    State(state): State<AppState>,
    PathParams((id, row_id)): PathParams<(Uuid, Uuid)>,
    IfMatch(if_match): IfMatch,
    JsonBody(body): JsonBody<RowBody>,
) -> ApiResult<Response> {
    let row = state
        .conversations
        .update_database_row(id, row_id, &body.values, if_match)
        .await?;
    Ok(response(StatusCode::OK, &row))
}

/// Removes a row.
#[utoipa::path(delete, path = "/databases/{id}/rows/{row_id}", tag = "Business objects", security(("token" = ["databases:edit"])),
    params(("id" = Uuid, Path), ("row_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ProblemBody)))]
pub async fn delete(
    State(state): State<AppState>,
    PathParams((id, row_id)): PathParams<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    state.conversations.delete_database_row(id, row_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What an import did.
#[derive(Serialize, ToSchema)]
pub struct ImportReportDto {
    /// Rows added.
    pub inserted: u64,
    /// Lines refused (each in `errors`, the first 1 000 of them).
    pub refused: u64,
    pub errors: Vec<ImportErrorDto>,
}

/// A refused line of an import.
#[derive(Serialize, ToSchema)]
pub struct ImportErrorDto {
    /// Its line in the file (the header is line 1).
    pub line: u64,
    pub message: String,
}

/// Adds rows from a CSV file (RFC 4180, UTF-8, comma-separated): the first line names the
/// columns (each one of the database's, in any order, not all needed), every other line is a
/// row, checked as `POST /databases/{id}/rows` checks one. The file is read as it arrives
/// (at most 64 MiB); good rows are written by batches of 500, so a refused line refuses only
/// itself, and the report lists why. An import may take up to 15 minutes, past the server's
/// usual request timeout (a file arriving slower than that is cut, the rows before the cut
/// kept).
#[utoipa::path(post, path = "/databases/{id}/rows/import", tag = "Business objects", security(("token" = ["databases:edit"])),
    params(("id" = Uuid, Path)),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportReportDto), (status = 404, body = ProblemBody),
        (status = 413, body = ProblemBody, description = "body_too_large: the file is larger than 64 MiB"),
        (status = 422, body = ProblemBody, description = "invalid_row: the header names an unknown or repeated column, a line is longer than 256 KiB, the file is empty")))]
pub async fn import(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    deadline: Option<axum::Extension<crate::Deadline>>,
    body: Body,
) -> ApiResult<Json<ImportReportDto>> {
    if let Some(axum::Extension(deadline)) = deadline {
        deadline.extend(IMPORT_DURATION);
    }
    let mut import = state.conversations.database_import(id).await?;
    let mut stream = body.into_data_stream();
    let mut read = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "invalid_body", e.to_string()))?;
        read += chunk.len();
        if read > MAX_IMPORT_BYTES {
            return Err(Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!(
                    "the file is larger than {MAX_IMPORT_BYTES} bytes; the rows before this point are kept"
                ),
            ));
        }
        import.feed(&chunk).await?;
    }
    let report = import.finish().await?;
    Ok(Json(ImportReportDto {
        inserted: report.inserted,
        refused: report.refused,
        errors: report
            .errors
            .into_iter()
            .map(|e| ImportErrorDto {
                line: e.line,
                message: e.message,
            })
            .collect(),
    }))
}

/// The database's rows as CSV (a header of the column names, then a line per row in the
/// order rows were added), streamed page by page.
#[utoipa::path(get, path = "/databases/{id}/rows/export", tag = "Business objects", security(("token" = ["databases:read"])),
    params(("id" = Uuid, Path)),
    responses((status = 200, description = "The rows as CSV", content_type = "text/csv"), (status = 404, body = ProblemBody)))]
pub async fn export(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Response> {
    let conversations = state.conversations.clone();
    let db = conversations.database(id).await?;
    let file = format!("{}.csv", db.reference);
    // the first page is read before answering, so that a failure is a problem, not a cut file
    let (first, next) = conversations.database_export_page(&db, None).await?;
    Ok(csv_pages(first, next, &file, move |after| {
        let (conversations, db) = (conversations.clone(), db.clone());
        async move { conversations.database_export_page(&db, after).await }
    }))
}

/// A CSV file streamed page by page: the first page (read before answering, so that a failure
/// is a problem, not a cut file), then each next one `fetch` reads from its cursor.
pub(crate) fn csv_pages<F, Fut>(
    first: Vec<u8>,
    next: Option<Uuid>,
    file: &str,
    fetch: F,
) -> Response
where
    F: Fn(Option<Uuid>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(Vec<u8>, Option<Uuid>), runtime::ConversationError>>
        + Send
        + 'static,
{
    let fetch = std::sync::Arc::new(fetch);
    // (what to send now, the cursor of the page after it, the last page sent)
    let pages =
        futures_util::stream::unfold((Some(first), next, false), move |(now, next, ended)| {
            let fetch = fetch.clone();
            async move {
                if let Some(bytes) = now {
                    return Some((Ok(bytes), (None, next, next.is_none())));
                }
                if ended {
                    return None;
                }
                match fetch(next).await {
                    Ok((bytes, after)) => Some((Ok(bytes), (None, after, after.is_none()))),
                    Err(e) => Some((
                        Err(std::io::Error::other(e.to_string())),
                        (None, None, true),
                    )),
                }
            }
        });
    let file = file.replace(['"', '\\', '\r', '\n'], "_");
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        Body::from_stream(pages),
    )
        .into_response()
}
