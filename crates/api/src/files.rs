//! `/files`: files administrators upload for business objects to refer to (the attachments of
//! email templates). The body is the file itself, its `Content-Type` the file's type; the
//! name comes in the query. A file is never changed, only deleted, and not while an email
//! template attaches it (409 `in_use`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::conversations::PageQuery;
use crate::problem::{ApiResult, PathParams, ProblemBody, QueryParams, page_request};

/// An uploaded file (without its bytes: `url` serves them).
#[derive(Serialize, ToSchema)]
pub struct FileDto {
    pub id: Uuid,
    /// The name attachments carry.
    pub name: String,
    pub content_type: String,
    pub size: u64,
    /// Where its bytes are served.
    pub url: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl From<&store::FileInfo> for FileDto {
    fn from(f: &store::FileInfo) -> Self {
        FileDto {
            id: f.id,
            name: f.name.clone(),
            content_type: f.content_type.clone(),
            size: f.size,
            url: format!("/api/v1/files/{}/content", f.id),
            created_at: f.created_at,
        }
    }
}

/// A page of files.
#[derive(Serialize, ToSchema)]
pub struct FilePage {
    pub items: Vec<FileDto>,
    pub next_after: Option<Uuid>,
}

/// The name of an uploaded file.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FileQuery {
    /// The file name attachments carry: 1 to 200 characters, no `/`, `\`, `"` or control
    /// character.
    pub name: String,
}

/// Keeps a file: the body is its bytes (1 byte to 10 MiB, and no more than the server's body
/// limit), `Content-Type` its type (else `application/octet-stream`).
#[utoipa::path(post, path = "/files", tag = "Business objects", security(("token" = ["files:create"])), params(FileQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes"),
    responses((status = 201, body = FileDto),
        (status = 409, body = ProblemBody, description = "limit_reached: the store holds its most files, or the file is larger than 10 MiB"),
        (status = 422, body = ProblemBody, description = "invalid_field: an empty file, a name or content type that cannot be used")))]
pub async fn create_file(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<FileQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let body = crate::problem::raw_body(body, "the file")?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    let f = state
        .maker
        .create_file(&q.name, content_type, body.to_vec())
        .await?;
    Ok((StatusCode::CREATED, Json(FileDto::from(&f))).into_response())
}

#[utoipa::path(get, path = "/files", tag = "Business objects", security(("token" = ["files:read"])), params(PageQuery),
    responses((status = 200, body = FilePage)))]
pub async fn list_files(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<PageQuery>,
) -> ApiResult<Json<FilePage>> {
    let p = state.maker.files(&page_request(q.limit, q.after)?).await?;
    Ok(Json(FilePage {
        items: p.items.iter().map(Into::into).collect(),
        next_after: p.next_after,
    }))
}

#[utoipa::path(get, path = "/files/{id}", tag = "Business objects", security(("token" = ["files:read"])), params(("id" = Uuid, Path)),
    responses((status = 200, body = FileDto), (status = 404, body = ProblemBody)))]
pub async fn get_file(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Json<FileDto>> {
    Ok(Json(FileDto::from(&state.maker.file(id).await?.info)))
}

/// The file's bytes, with its content type, served as an attachment.
#[utoipa::path(get, path = "/files/{id}/content", tag = "Business objects", security(("token" = ["files:read"])), params(("id" = Uuid, Path)),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"), (status = 404, body = ProblemBody)))]
pub async fn file_content(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Response> {
    let f = state.maker.file(id).await?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, f.info.content_type),
            (header::CONTENT_DISPOSITION, "attachment".to_owned()),
        ],
        f.data,
    )
        .into_response())
}

#[utoipa::path(delete, path = "/files/{id}", tag = "Business objects", security(("token" = ["files:delete"])), params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ProblemBody),
        (status = 409, body = ProblemBody, description = "in_use: an email template attaches the file")))]
pub async fn delete_file(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<StatusCode> {
    state.maker.delete_file(id).await?;
    Ok(StatusCode::NO_CONTENT)
}
