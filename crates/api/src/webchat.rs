//! The web chat: an embeddable chat page (`/chat/{reference}`), its WebSocket, and image
//! uploads whose content type is sniffed from their bytes.
//!
//! WebSocket protocol (JSON text frames). From the page: `{"type": "message", "id": "<client
//! message id>", "text": "…", "choice": 2, "attachments": ["<upload id>"]}`. From the server:
//! `{"type": "history", "messages": [{"direction": "in"|"out", …}]}` on connect, `{"type":
//! "ack", "id", "interaction_id", "duplicate"}` once a message is committed, `{"type":
//! "message", "interaction_id", "seq", "message": {"kind": "text"|"choice", …}}` for each reply,
//! and `{"type": "error", "id", "code", "message"}`.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use flow::entry_point::{Channel, EntryPoint};
use flow::exec::{Attachment, Inbound};
use runtime::{ConversationError, InboundMessage};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::AppState;
use crate::problem::{ApiResult, PathParams, Problem, QueryParams};

/// Largest WebSocket frame accepted.
const MAX_FRAME: usize = 64 * 1024;
/// Largest upload.
pub const MAX_UPLOAD: usize = runtime::retention::limits::UPLOAD_BYTES;
/// Most messages replayed on connect.
const HISTORY: usize = 500;

const PAGE: &str = include_str!("../assets/chat.html");

#[derive(Deserialize)]
pub struct VisitorQuery {
    visitor: String,
}

fn check_visitor(v: &str) -> ApiResult<()> {
    if v.is_empty()
        || v.len() > 64
        || !v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_visitor",
            "visitor must be 1 to 64 letters, digits, '-' or '_'",
        ));
    }
    Ok(())
}

async fn web_chat_entry_point(state: &AppState, reference: &str) -> ApiResult<EntryPoint> {
    let ep = state
        .conversations
        .entry_point_of(Channel::WebChat, reference)
        .await?;
    match ep {
        Some(ep) => Ok(ep),
        None => Err(Problem::not_found(format!("entry point '{reference}'"))),
    }
}

/// The chat page of a web-chat entry point.
pub async fn page(
    State(state): State<AppState>,
    PathParams(reference): PathParams<String>,
) -> ApiResult<Response> {
    let ep = web_chat_entry_point(&state, &reference).await?;
    let base = format!("/api/v1/channels/web-chat/{}", ep.reference);
    Ok(render_page(
        &ep.name,
        &ep.reference,
        &format!("{base}/ws"),
        &format!("{base}/uploads"),
    ))
}

fn render_page(title: &str, key: &str, socket: &str, uploads: &str) -> Response {
    let html = PAGE
        .replace("{{TITLE}}", &html_escape(title))
        .replace("{{REFERENCE}}", &html_escape(key))
        .replace("{{SOCKET}}", &html_escape(socket))
        .replace("{{UPLOADS}}", &html_escape(uploads));
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-store")],
        Html(html),
    )
        .into_response()
}

/// The chat page of a preview: converse with any version (a development one too) without an
/// entry point. Each page load starts a new preview conversation.
/// The ticket of a preview link (`POST /versions/{id}/preview-link`).
#[derive(Debug, Deserialize)]
pub struct Ticket {
    ticket: Option<String>,
}

fn check_ticket(state: &AppState, version: Uuid, t: &Ticket) -> ApiResult<()> {
    let now = state.maker.clock().now();
    match &t.ticket {
        Some(ticket) if state.previews.check(version, ticket, now) => Ok(()),
        _ => Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "open a preview through its link (POST /api/v1/versions/{id}/preview-link); links last an hour",
        )),
    }
}

pub async fn preview_page(
    State(state): State<AppState>,
    PathParams(version): PathParams<Uuid>,
    QueryParams(t): QueryParams<Ticket>,
) -> ApiResult<Response> {
    check_ticket(&state, version, &t)?;
    let v = state.maker.version(version).await?;
    let title = format!(
        "Preview of version {} '{}'",
        v.version.record.number, v.version.record.name
    );
    Ok(render_page(
        &title,
        &format!("preview-{version}"),
        &format!(
            "/api/v1/versions/{version}/preview/ws?ticket={}",
            t.ticket.as_deref().unwrap_or_default()
        ),
        "",
    ))
}

/// The WebSocket of a preview conversation: started on connect, on the version's current tree.
pub async fn preview_socket(
    State(state): State<AppState>,
    PathParams(version): PathParams<Uuid>,
    QueryParams(t): QueryParams<Ticket>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    check_ticket(&state, version, &t)?;
    state.maker.version(version).await?;
    Ok(upgrade(ws)?.on_upgrade(move |socket| preview_session(state, version, socket)))
}

async fn preview_session(state: AppState, version: Uuid, mut socket: WebSocket) {
    let mut hub = state.conversations.subscribe();
    let started = match state.conversations.preview(version, "preview").await {
        Ok(r) => r,
        Err(e) => {
            let p = Problem::from(e);
            let _ = socket
                .send(Message::Text(
                    json!({"type": "error", "code": p.0.code, "message": p.0.detail})
                        .to_string()
                        .into(),
                ))
                .await;
            return;
        }
    };
    let id = started.interaction_id;
    if socket
        .send(Message::Text(
            history_of(&state, Some(id)).await.to_string().into(),
        ))
        .await
        .is_err()
    {
        return;
    }
    loop {
        tokio::select! {
            frame = socket.recv() => {
                let reply = match frame {
                    Some(Ok(Message::Text(text))) => match channels::web_chat::parse_frame(&text) {
                        Ok(m) => match state.conversations.preview_message(id, Inbound { text: m.text, choice: m.choice, attachments: Vec::new(), email: None }).await {
                            Ok(r) => json!({"type": "ack", "id": m.id, "interaction_id": r.interaction_id, "duplicate": false}),
                            Err(e) => {
                                let p = Problem::from(e);
                                json!({"type": "error", "id": m.id, "code": p.0.code, "message": p.0.detail})
                            }
                        },
                        Err((frame_id, e)) => frame_error(frame_id, e),
                    },
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue,
                };
                if socket.send(Message::Text(reply.to_string().into())).await.is_err() {
                    return;
                }
            }
            delivery = hub.recv() => {
                let frame = match delivery {
                    Ok(d) if d.interaction_id == id => json!({"type": "message", "interaction_id": id, "seq": d.seq, "message": d.message}),
                    Ok(_) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => history_of(&state, Some(id)).await,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                };
                if socket.send(Message::Text(frame.to_string().into())).await.is_err() {
                    return;
                }
            }
        }
    }
}

pub(crate) fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Stores an image sent by a visitor; its type is sniffed from its bytes.
pub async fn upload(
    State(state): State<AppState>,
    PathParams(reference): PathParams<String>,
    QueryParams(q): QueryParams<VisitorQuery>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Response> {
    check_visitor(&q.visitor)?;
    let ep = web_chat_entry_point(&state, &reference).await?;
    // a body over the limit is refused while it is read: a problem like any other
    let body = crate::problem::raw_body(body, &format!("an upload (at most {MAX_UPLOAD} bytes)"))?;
    let Some(kind) = infer::get(&body).filter(|k| k.matcher_type() == infer::MatcherType::Image)
    else {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not_an_image",
            "only images can be sent here",
        ));
    };
    let upload = state
        .conversations
        .keep_upload(ep.id, &q.visitor, kind.mime_type(), body.to_vec())
        .await?;
    let url = format!(
        "/api/v1/channels/web-chat/{}/uploads/{}",
        ep.reference, upload.id
    );
    Ok((StatusCode::CREATED, axum::Json(json!({"id": upload.id, "content_type": upload.content_type, "size": upload.size, "url": url}))).into_response())
}

/// An uploaded image.
pub async fn download(
    State(state): State<AppState>,
    PathParams((reference, id)): PathParams<(String, Uuid)>,
) -> ApiResult<Response> {
    let ep = web_chat_entry_point(&state, &reference).await?;
    let upload = state.conversations.upload(id).await?;
    match upload {
        Some(u) if u.entry_point_id == ep.id => Ok((
            StatusCode::OK,
            [(header::CONTENT_TYPE, u.content_type)],
            u.data,
        )
            .into_response()),
        _ => Err(Problem::not_found(format!("upload {id}"))),
    }
}

/// The upgrade, or a problem when the request is not a WebSocket handshake.
fn upgrade(ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>) -> ApiResult<WebSocketUpgrade> {
    ws.map(|ws| ws.max_message_size(MAX_FRAME).max_frame_size(MAX_FRAME))
        .map_err(|e| {
            Problem::new(
                StatusCode::UPGRADE_REQUIRED,
                "upgrade_required",
                format!("this is a WebSocket endpoint: {}", e.body_text()),
            )
        })
}

/// The WebSocket of a visitor.
pub async fn socket(
    State(state): State<AppState>,
    PathParams(reference): PathParams<String>,
    QueryParams(q): QueryParams<VisitorQuery>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    check_visitor(&q.visitor)?;
    let ep = web_chat_entry_point(&state, &reference).await?;
    Ok(upgrade(ws)?.on_upgrade(move |socket| session(state, ep, q.visitor, socket)))
}

/// The history frame of an interaction: its last messages in and out, in order. A storage
/// failure is reported to the page rather than shown as an empty conversation.
async fn history_of(state: &AppState, interaction: Option<Uuid>) -> Value {
    let Some(id) = interaction else {
        return json!({"type": "history", "messages": []});
    };
    let events = match state.conversations.last_events(id, 10_000).await {
        Ok(events) => events,
        Err(e) => return storage_error(e),
    };
    let chat: Vec<Value> = events
        .iter()
        .filter_map(|e| match serde_json::from_value::<engine::Event>(e.event.clone()) {
            Ok(engine::Event::MessageIn { text, .. }) => {
                Some(json!({"direction": "in", "seq": e.seq, "text": text}))
            }
            Ok(engine::Event::MessageOut { message }) => Some(
                json!({"direction": "out", "seq": e.seq, "interaction_id": id, "message": message}),
            ),
            _ => None,
        })
        .collect();
    let messages = &chat[chat.len().saturating_sub(HISTORY)..];
    json!({"type": "history", "messages": messages})
}

fn storage_error(e: ConversationError) -> Value {
    let p = Problem::from(e);
    json!({"type": "error", "code": p.0.code, "message": p.0.detail})
}

/// The history frame of a visitor's latest interaction (open or just closed).
async fn history(state: &AppState, ep: &EntryPoint, visitor: &str) -> Value {
    match state.conversations.latest_interaction(ep.id, visitor).await {
        Ok(row) => history_of(state, row.map(|r| r.id)).await,
        Err(e) => storage_error(e),
    }
}

/// The error frame for a frame the web chat's connector refused.
fn frame_error(id: Option<String>, e: channels::ChannelError) -> Value {
    let channels::ChannelError::Invalid(code, message) = e;
    match id {
        Some(id) => json!({"type": "error", "id": id, "code": code, "message": message}),
        None => json!({"type": "error", "code": code, "message": message}),
    }
}

async fn handle_frame(state: &AppState, ep: &EntryPoint, visitor: &str, text: &str) -> Value {
    let m = match channels::web_chat::parse_frame(text) {
        Ok(m) => m,
        Err((id, e)) => return frame_error(id, e),
    };
    let mut attachments = Vec::new();
    for id in &m.attachments {
        match state.conversations.upload(*id).await {
            Ok(Some(u)) if u.entry_point_id == ep.id && u.customer == visitor => {
                attachments.push(Attachment {
                    content_type: u.content_type,
                    url: format!(
                        "/api/v1/channels/web-chat/{}/uploads/{}",
                        ep.reference, u.id
                    ),
                    size: u.size,
                })
            }
            _ => {
                return json!({"type": "error", "id": m.id, "code": "unknown_upload", "message": format!("no upload {id} for this visitor")});
            }
        }
    }
    let inbound = InboundMessage {
        profile_name: None,
        message_id: m.id.clone(),
        customer: visitor.to_owned(),
        message: Inbound {
            text: m.text,
            choice: m.choice,
            attachments,
            email: None,
        },
    };
    match state.conversations.receive(&ep.reference, inbound).await {
        Ok(r) => {
            json!({"type": "ack", "id": m.id, "interaction_id": r.interaction_id, "duplicate": r.duplicate})
        }
        Err(e) => {
            let p = Problem::from(e);
            json!({"type": "error", "id": m.id, "code": p.0.code, "message": p.0.detail})
        }
    }
}

async fn session(state: AppState, ep: EntryPoint, visitor: String, mut socket: WebSocket) {
    let mut hub = state.conversations.subscribe();
    if socket
        .send(Message::Text(
            history(&state, &ep, &visitor).await.to_string().into(),
        ))
        .await
        .is_err()
    {
        return;
    }
    loop {
        tokio::select! {
            frame = socket.recv() => {
                let reply = match frame {
                    Some(Ok(Message::Text(text))) => handle_frame(&state, &ep, &visitor, &text).await,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue,
                };
                if socket.send(Message::Text(reply.to_string().into())).await.is_err() {
                    return;
                }
            }
            delivery = hub.recv() => {
                let frame = match delivery {
                    Ok(d) if d.entry_point_id == Some(ep.id) && d.customer == visitor => {
                        json!({"type": "message", "interaction_id": d.interaction_id, "seq": d.seq, "message": d.message})
                    }
                    Ok(_) => continue,
                    // fell behind: send the whole current conversation again
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => history(&state, &ep, &visitor).await,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                };
                if socket.send(Message::Text(frame.to_string().into())).await.is_err() {
                    return;
                }
            }
        }
    }
}
