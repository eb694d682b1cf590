//! The providers' webhooks, on the public surface: `GET|POST /webhooks/whatsapp/{reference}`,
//! `POST /webhooks/telegram/{reference}`, `GET|POST /webhooks/messenger/{reference}`, and a
//! payment module's `POST /webhooks/payments/{reference}`. A `GET`
//! is Meta's subscription handshake (answered with `hub.challenge` as text); a `POST` is
//! checked on its raw bytes (`X-Hub-Signature-256`, `X-Telegram-Bot-Api-Secret-Token`) before
//! anything is read, and answered 200 once every message it carries is committed. Problems are
//! problem+json: 401 `invalid_signature`, 403 `verification_failed`, 404 `not_found`, 413
//! `body_too_large`, 422 `invalid_body`, 429 `rate_limited`, 503 `not_recorded` (the provider
//! sends again; what was committed is recognised).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use flow::entry_point::Channel;
use serde::Serialize;

use crate::AppState;
use crate::problem::{ApiResult, PathParams};

/// What a webhook held.
#[derive(Serialize)]
pub struct WebhookAck {
    pub messages: usize,
    pub duplicates: usize,
    pub statuses: usize,
    pub notes: usize,
    pub ignored: usize,
}

async fn handshake(
    state: &AppState,
    channel: Channel,
    reference: &str,
    uri: &Uri,
) -> ApiResult<Response> {
    let challenge = state
        .conversations
        .webhook_handshake(channel, reference, uri.query().unwrap_or_default())
        .await?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        challenge,
    )
        .into_response())
}

async fn receive(
    state: &AppState,
    channel: Channel,
    reference: &str,
    headers: &HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Json<WebhookAck>> {
    let body = crate::problem::raw_body(body, "the webhook's body")?;
    let signature_header = match channel {
        Channel::Telegram => channels::telegram::SECRET_HEADER,
        _ => channels::meta::SIGNATURE_HEADER,
    };
    let signature = headers.get(signature_header).map(|v| v.as_bytes());
    let r = state
        .conversations
        .webhook(channel, reference, signature, &body)
        .await?;
    Ok(Json(WebhookAck {
        messages: r.messages,
        duplicates: r.duplicates,
        statuses: r.statuses,
        notes: r.notes,
        ignored: r.ignored,
    }))
}

pub async fn whatsapp_handshake(
    State(state): State<AppState>,
    PathParams(reference): PathParams<String>,
    uri: Uri,
) -> ApiResult<Response> {
    handshake(&state, Channel::WhatsApp, &reference, &uri).await
}

pub async fn whatsapp(
    State(state): State<AppState>,
    PathParams(reference): PathParams<String>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Json<WebhookAck>> {
    receive(&state, Channel::WhatsApp, &reference, &headers, body).await
}

pub async fn messenger_handshake(
    State(state): State<AppState>,
    PathParams(reference): PathParams<String>,
    uri: Uri,
) -> ApiResult<Response> {
    handshake(&state, Channel::Messenger, &reference, &uri).await
}

pub async fn messenger(
    State(state): State<AppState>,
    PathParams(reference): PathParams<String>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Json<WebhookAck>> {
    receive(&state, Channel::Messenger, &reference, &headers, body).await
}

pub async fn telegram(
    State(state): State<AppState>,
    PathParams(reference): PathParams<String>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Json<WebhookAck>> {
    receive(&state, Channel::Telegram, &reference, &headers, body).await
}

/// What a payment webhook did.
#[derive(Serialize)]
pub struct PaymentAck {
    pub received: bool,
}

/// A payment module's webhook (`POST /webhooks/payments/{reference}`): checked on its raw
/// bytes (`Stripe-Signature`, its timestamp within five minutes), each event taken once.
pub async fn payments(
    State(state): State<AppState>,
    PathParams(reference): PathParams<String>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Json<PaymentAck>> {
    let body = crate::problem::raw_body(body, "the webhook's body")?;
    let signature = headers
        .get(channels::payment::SIGNATURE_HEADER)
        .map(|v| v.as_bytes());
    state
        .conversations
        .payment_webhook(&reference, signature, &body)
        .await?;
    Ok(Json(PaymentAck { received: true }))
}
