//! Entry points, the HTTP channel, preview conversations and the interaction API.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use flow::entry_point::{Channel, EntryPoint};
use flow::exec::Inbound;
use flow::interaction::{HistoryEvent, Interaction};
use flow::interaction::{InteractionStatus, Mode};
use jiff::Timestamp;
use runtime::entry_points::EntryPointFields;
use runtime::{ConversationError, Receipt};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use store::InteractionFilter;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::problem::{
    ApiResult, IfMatch, JsonBody, PathParams, Problem, ProblemBody, QueryParams, page_request,
};

impl From<ConversationError> for Problem {
    fn from(e: ConversationError) -> Problem {
        match e {
            ConversationError::NotFound(what) => Problem::not_found(what),
            ConversationError::Invalid(
                code @ ("reference_taken" | "customer_exists" | "address_taken"),
                msg,
            ) => Problem::new(StatusCode::CONFLICT, code, msg),
            ConversationError::Conflict(code @ "upload_quota_exceeded", msg) => {
                Problem::new(StatusCode::TOO_MANY_REQUESTS, code, msg)
            }
            ConversationError::Invalid(code @ "invalid_signature", msg) => {
                Problem::new(StatusCode::UNAUTHORIZED, code, msg)
            }
            ConversationError::Invalid(code @ "verification_failed", msg) => {
                Problem::new(StatusCode::FORBIDDEN, code, msg)
            }
            ConversationError::Invalid(code @ "body_too_large", msg) => {
                Problem::new(StatusCode::PAYLOAD_TOO_LARGE, code, msg)
            }
            ConversationError::Conflict(code, msg) => Problem::new(StatusCode::CONFLICT, code, msg),
            ConversationError::Invalid(code, msg) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, msg)
            }
            ConversationError::NotRecorded(msg) => {
                tracing::warn!("an input was not recorded: {msg}");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "not_recorded",
                    "the message could not be recorded; send it again with the same message_id",
                )
            }
            ConversationError::Maker(m) => m.into(),
        }
    }
}

/// Channel of an entry point.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ChannelDto {
    Http,
    WebChat,
    #[serde(rename = "whatsapp")]
    WhatsApp,
    Telegram,
    Messenger,
    Email,
}

impl From<ChannelDto> for Channel {
    fn from(c: ChannelDto) -> Self {
        match c {
            ChannelDto::Http => Channel::Http,
            ChannelDto::WebChat => Channel::WebChat,
            ChannelDto::WhatsApp => Channel::WhatsApp,
            ChannelDto::Telegram => Channel::Telegram,
            ChannelDto::Messenger => Channel::Messenger,
            ChannelDto::Email => Channel::Email,
        }
    }
}

impl From<Channel> for ChannelDto {
    fn from(c: Channel) -> Self {
        match c {
            Channel::Http => ChannelDto::Http,
            Channel::WebChat => ChannelDto::WebChat,
            Channel::WhatsApp => ChannelDto::WhatsApp,
            Channel::Telegram => ChannelDto::Telegram,
            Channel::Messenger => ChannelDto::Messenger,
            Channel::Email => ChannelDto::Email,
        }
    }
}

/// A provider entry point's credentials: write-only (sealed at rest, never shown). WhatsApp:
/// `access_token`, `app_secret`, `verify_token`; Telegram: `bot_token`, `secret_token`;
/// Messenger: `page_access_token`, `app_secret`, `verify_token`. All are needed at creation; on
/// a change, those not given keep their value.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretsBody {
    pub access_token: Option<String>,
    pub app_secret: Option<String>,
    pub verify_token: Option<String>,
    pub bot_token: Option<String>,
    pub secret_token: Option<String>,
    pub page_access_token: Option<String>,
    /// An email entry point's IMAP account (an existing mailbox it reads): host, port
    /// (default 993, or 143 with `imap_tls: none`), username, password, and `imap_tls` — `tls`
    /// (the default) or `none`. Given all empty, they are removed.
    pub imap_host: Option<String>,
    pub imap_port: Option<String>,
    pub imap_username: Option<String>,
    pub imap_password: Option<String>,
    pub imap_tls: Option<String>,
}

impl SecretsBody {
    fn named(self) -> Vec<(&'static str, String)> {
        [
            ("access_token", self.access_token),
            ("app_secret", self.app_secret),
            ("verify_token", self.verify_token),
            ("bot_token", self.bot_token),
            ("secret_token", self.secret_token),
            ("page_access_token", self.page_access_token),
            ("imap_host", self.imap_host),
            ("imap_port", self.imap_port),
            ("imap_username", self.imap_username),
            ("imap_password", self.imap_password),
            ("imap_tls", self.imap_tls),
        ]
        .into_iter()
        .filter_map(|(n, v)| v.map(|v| (n, v)))
        .collect()
    }
}

/// An entry point.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct EntryPointDto {
    pub id: Uuid,
    pub reference: String,
    pub name: String,
    pub channel: ChannelDto,
    pub start_routing_id: Option<Uuid>,
    pub end_routing_id: Option<Uuid>,
    pub test_version_id: Option<Uuid>,
    /// The entry point's own region for phone numbers without a country code; none: the
    /// deployment's `phone_region` setting applies.
    pub phone_region: Option<String>,
    pub callback_url: Option<String>,
    /// The entry point's address at its provider: the WhatsApp phone number id, the Telegram
    /// bot's username, the Facebook page id; a mailbox's address.
    pub address: Option<String>,
    /// A mailbox's other addresses (email entry points).
    pub aliases: Vec<String>,
    /// The names of the secrets it has (never their values).
    pub secrets_set: Vec<String>,
    /// Customer routing rules (seed 004), when the entry point uses them.
    pub customer_routing: Option<crate::dto::CustomerRoutingDto>,
    pub revision: u64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<&EntryPoint> for EntryPointDto {
    fn from(e: &EntryPoint) -> Self {
        EntryPointDto {
            id: e.id,
            reference: e.reference.clone(),
            name: e.name.clone(),
            channel: e.channel.into(),
            start_routing_id: e.start_routing_id,
            end_routing_id: e.end_routing_id,
            test_version_id: e.test_version_id,
            phone_region: e.phone_region.clone(),
            callback_url: e.callback_url.clone(),
            address: e.address.clone(),
            aliases: e.aliases.clone(),
            secrets_set: match (&e.secret, e.channel) {
                (None, _) => Vec::new(),
                (Some(_), Channel::Http) => vec!["secret".to_owned()],
                (Some(_), Channel::Email) => channels::email::IMAP_SECRETS
                    .iter()
                    .map(|n| (*n).to_owned())
                    .collect(),
                (Some(_), c) => channels::provider::credential_names(c)
                    .iter()
                    .map(|n| (*n).to_owned())
                    .collect(),
            },
            customer_routing: e.customer_routing.clone().map(Into::into),
            revision: e.revision,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

pub(crate) fn some<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Fields of an entry point. On update, `null` unbinds a routing or version.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryPointBody {
    pub reference: Option<String>,
    pub name: Option<String>,
    pub channel: Option<ChannelDto>,
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<Uuid>)]
    pub start_routing_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<Uuid>)]
    pub end_routing_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<Uuid>)]
    pub test_version_id: Option<Option<Uuid>>,
    /// ISO 3166 alpha-2 region for phone numbers without a country code (default FR).
    pub phone_region: Option<String>,
    /// Where the HTTP channel posts replies (required for `http`).
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<String>)]
    pub callback_url: Option<Option<String>>,
    /// The HTTP channel's signing secret (32 to 256 characters; required for `http`): each
    /// message carries `X-Switchyard-Signature: sha256=<hex HMAC-SHA256 of the raw body>`.
    /// Write-only: sealed at rest, never shown.
    pub secret: Option<String>,
    /// A provider entry point's address (required for `whatsapp`, `telegram`, `messenger`):
    /// the WhatsApp phone number id, the Telegram bot's username, the Facebook page id; and
    /// for `email` the mailbox's address (`support@example.com`), which the SMTP listener
    /// accepts mail for.
    pub address: Option<String>,
    /// A mailbox's other addresses (`email` only; at most 20), accepted as the mailbox's own.
    pub aliases: Option<Vec<String>>,
    pub secrets: Option<SecretsBody>,
    /// Customer routing rules (seed 004) used instead of a smart routing (a new conversation
    /// here runs no routing); `null` removes them.
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<crate::dto::CustomerRoutingDto>)]
    pub customer_routing: Option<Option<crate::dto::CustomerRoutingDto>>,
}

impl From<EntryPointBody> for EntryPointFields {
    fn from(b: EntryPointBody) -> Self {
        EntryPointFields {
            reference: b.reference,
            name: b.name,
            channel: b.channel.map(Into::into),
            start_routing_id: b.start_routing_id,
            end_routing_id: b.end_routing_id,
            test_version_id: b.test_version_id,
            phone_region: b.phone_region,
            callback_url: b.callback_url,
            secret: b.secret,
            address: b.address,
            secrets: b.secrets.map(SecretsBody::named),
            aliases: b.aliases,
            customer_routing: b.customer_routing.map(|r| r.map(Into::into)),
        }
    }
}

fn ep_response(status: StatusCode, e: &EntryPoint) -> Response {
    (
        status,
        [(header::ETAG, format!("\"{}\"", e.revision))],
        Json(EntryPointDto::from(e)),
    )
        .into_response()
}

/// Creates an entry point.
#[utoipa::path(post, path = "/entry-points", security(("token" = ["entry_points:create"])), tag = "Entry points", request_body = EntryPointBody,
    responses((status = 201, body = EntryPointDto), (status = 409, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn create_entry_point(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<EntryPointBody>,
) -> ApiResult<Response> {
    let ep = state.conversations.create_entry_point(body.into()).await?;
    Ok(ep_response(StatusCode::CREATED, &ep))
}

/// Pagination of a list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
    pub after: Option<Uuid>,
}

/// A page of entry points.
#[derive(Serialize, ToSchema)]
pub struct EntryPointPage {
    pub items: Vec<EntryPointDto>,
    pub next_after: Option<Uuid>,
}

/// Lists entry points.
#[utoipa::path(get, path = "/entry-points", security(("token" = ["entry_points:read"])), tag = "Entry points", params(PageQuery), responses((status = 200, body = EntryPointPage)))]
pub async fn list_entry_points(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<PageQuery>,
) -> ApiResult<Json<EntryPointPage>> {
    let p = state
        .conversations
        .entry_points(&page_request(q.limit, q.after)?)
        .await?;
    Ok(Json(EntryPointPage {
        items: p.items.iter().map(Into::into).collect(),
        next_after: p.next_after,
    }))
}

/// One entry point.
#[utoipa::path(get, path = "/entry-points/{id}", security(("token" = ["entry_points:read"])), tag = "Entry points", params(("id" = Uuid, Path)), responses((status = 200, body = EntryPointDto), (status = 404, body = ProblemBody)))]
pub async fn get_entry_point(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Response> {
    Ok(ep_response(
        StatusCode::OK,
        &state.conversations.entry_point(id).await?,
    ))
}

/// How reading a mailbox over IMAP goes.
#[derive(Serialize, ToSchema)]
pub struct ImapStatusDto {
    /// `reading` (logged in), `failing` (the last session failed; another is tried every 10 s)
    /// or `starting` (no session yet).
    pub state: String,
    /// Why the last session failed: the server's or the network's answer.
    pub error: Option<String>,
    /// Since when it is in this state.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub since: Option<Timestamp>,
    /// When a message was last taken from the mailbox.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_message_at: Option<Timestamp>,
}

/// How the mailbox of an email entry point with an IMAP account is read (kept while the server
/// runs: a restart starts again at `starting`).
#[utoipa::path(get, path = "/entry-points/{id}/imap", security(("token" = ["entry_points:read"])), tag = "Entry points", params(("id" = Uuid, Path)),
    responses((status = 200, body = ImapStatusDto), (status = 404, body = ProblemBody, description = "not_found: no such entry point, or one not read over IMAP")))]
pub async fn imap_status(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Json<ImapStatusDto>> {
    let ep = state.conversations.entry_point(id).await?;
    if ep.channel != Channel::Email || ep.secret.is_none() {
        return Err(Problem::not_found(format!(
            "entry point {id} is not read over IMAP"
        )));
    }
    Ok(Json(match state.conversations.imap_status(id) {
        None => ImapStatusDto {
            state: "starting".into(),
            error: None,
            since: None,
            last_message_at: None,
        },
        Some(s) => ImapStatusDto {
            state: if s.reading { "reading" } else { "failing" }.into(),
            error: s.error,
            since: Some(s.since),
            last_message_at: s.last_message_at,
        },
    }))
}

/// Changes an entry point (its bindings are checked again).
#[utoipa::path(patch, path = "/entry-points/{id}", security(("token" = ["entry_points:edit"])), tag = "Entry points", params(("If-Match" = Option<String>, Header, description = "The revision the change expects (`\"3\"`, as the ETag gave it): 412 `precondition_failed` if it is no longer the current one; none: no check"), ("id" = Uuid, Path)), request_body = EntryPointBody,
    responses((status = 200, body = EntryPointDto), (status = 404, body = ProblemBody), (status = 412, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn update_entry_point(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    IfMatch(if_match): IfMatch,
    JsonBody(body): JsonBody<EntryPointBody>,
) -> ApiResult<Response> {
    let ep = state
        .conversations
        .update_entry_point(id, body.into(), if_match)
        .await?;
    Ok(ep_response(StatusCode::OK, &ep))
}

/// Deletes an entry point (its interactions are kept).
#[utoipa::path(delete, path = "/entry-points/{id}", security(("token" = ["entry_points:delete"])), tag = "Entry points", params(("id" = Uuid, Path)), responses((status = 204), (status = 404, body = ProblemBody)))]
pub async fn delete_entry_point(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<StatusCode> {
    state.conversations.delete_entry_point(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A customer message on the HTTP channel.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpMessage {
    /// Your id of the message: sending it again is harmless (deduplicated).
    pub message_id: String,
    /// The customer's address (phone number, user id…).
    pub from: String,
    #[serde(default)]
    pub text: String,
    /// The 1-based number of the button pressed, if any.
    pub choice: Option<u32>,
}

/// Acknowledgement of a message: it is committed.
#[derive(Serialize, ToSchema)]
pub struct Ack {
    pub interaction_id: Uuid,
    /// The message had been received before.
    pub duplicate: bool,
    /// Status of the interaction after the message (empty for a duplicate).
    pub status: String,
    /// Replies sent in this turn (they are also posted to the callback URL).
    #[schema(value_type = Vec<Object>)]
    pub replies: Vec<Value>,
}

impl From<Receipt> for Ack {
    fn from(r: Receipt) -> Self {
        Ack {
            interaction_id: r.interaction_id,
            duplicate: r.duplicate,
            status: r.status.map(|s| s.as_str().to_owned()).unwrap_or_default(),
            replies: r
                .replies
                .iter()
                .filter_map(|m| serde_json::to_value(m).ok())
                .collect(),
        }
    }
}

/// Receives a customer message on an HTTP entry point. Answers once the message is committed;
/// replies go to the entry point's callback URL, each with an `Idempotency-Key`.
#[utoipa::path(post, path = "/channels/http/{reference}/messages", security(()), tag = "Channels",
    params(("reference" = String, Path), ("X-Switchyard-Signature" = String, Header, description = "sha256=<hex HMAC-SHA256 of the raw body under the entry point's secret>")),
    request_body = HttpMessage,
    responses((status = 200, body = Ack), (status = 401, body = ProblemBody, description = "invalid_signature: missing, or not the body's under the entry point's secret"), (status = 404, body = ProblemBody), (status = 422, body = ProblemBody), (status = 503, body = ProblemBody)))]
pub async fn http_inbound(
    State(state): State<AppState>,
    PathParams(reference): PathParams<String>,
    headers: axum::http::HeaderMap,
    raw: axum::body::Bytes,
) -> ApiResult<Json<Ack>> {
    // the signature is checked on the raw bytes before anything is read or stored
    let signature = headers
        .get(channels::http::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    state
        .conversations
        .verify_signed(&reference, signature, &raw)
        .await?;
    let body: HttpMessage = crate::problem::json_of(&headers, &raw)?;
    // the HTTP channel's connector reads it within its limits; the entry point comes from memory
    let message = channels::http::parse(channels::http::Posted {
        message_id: body.message_id,
        from: body.from,
        text: body.text,
        choice: body.choice,
    })
    .map_err(|channels::ChannelError::Invalid(code, msg)| {
        Problem::from(ConversationError::Invalid(code, msg))
    })?;
    Ok(Json(
        state
            .conversations
            .receive_on(Some(Channel::Http), &reference, message)
            .await?
            .into(),
    ))
}

/// A file a customer sent (an image, a document: its type sniffed from its bytes). An agent
/// reads those of the conversations they hold.
#[utoipa::path(get, path = "/uploads/{id}", security(("token" = ["interactions:read"]), ("token" = ["agent:use"])), tag = "Interactions", params(("id" = Uuid, Path)),
    responses((status = 200, description = "The file, with its sniffed content type", content_type = "application/octet-stream"), (status = 404, body = ProblemBody)))]
pub async fn get_upload(
    State(state): State<AppState>,
    caller: runtime::access::Caller,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Response> {
    use flow::access::{Permission, Resource, Verb};
    let reads_all = caller.role.allows(Permission {
        resource: Resource::Interactions,
        verb: Verb::Read,
    });
    let upload = match (reads_all, caller.user()) {
        (true, _) => state.conversations.upload(id).await?,
        (false, Some(agent)) => state.conversations.upload_for_agent(id, agent).await?,
        (false, None) => None,
    };
    let u = upload.ok_or_else(|| Problem::not_found(format!("upload {id}")))?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, u.content_type),
            (header::CONTENT_DISPOSITION, "attachment".to_owned()),
        ],
        u.data,
    )
        .into_response())
}

/// Starting a preview.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    /// A name for the previewing customer (default "preview").
    pub customer: Option<String>,
}

/// Starts a conversation with any version (a development version too), without entry point.
#[utoipa::path(post, path = "/versions/{id}/preview", security(("token" = ["routings:edit"])), tag = "Interactions", params(("id" = Uuid, Path)), request_body = PreviewBody,
    responses((status = 201, body = Ack), (status = 404, body = ProblemBody)))]
pub async fn preview(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    JsonBody(body): JsonBody<PreviewBody>,
) -> ApiResult<Response> {
    let customer = body.customer.unwrap_or_else(|| "preview".into());
    if customer.is_empty() || customer.len() > runtime::conversations::limits::CUSTOMER {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_customer",
            "customer must have 1 to 320 characters",
        ));
    }
    let r = state.conversations.preview(id, &customer).await?;
    Ok((StatusCode::CREATED, Json(Ack::from(r))).into_response())
}

/// A message in a preview conversation.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewMessage {
    #[serde(default)]
    pub text: String,
    pub choice: Option<u32>,
}

/// Sends a message in a preview conversation; answers with the routing's replies.
#[utoipa::path(post, path = "/interactions/{id}/messages", security(("token" = ["routings:edit"])), tag = "Interactions", params(("id" = Uuid, Path)), request_body = PreviewMessage,
    responses((status = 200, body = Ack), (status = 404, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn preview_message(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    JsonBody(body): JsonBody<PreviewMessage>,
) -> ApiResult<Json<Ack>> {
    let r = state
        .conversations
        .preview_message(
            id,
            Inbound {
                text: body.text,
                choice: body.choice,
                attachments: Vec::new(),
                email: None,
            },
        )
        .await?;
    Ok(Json(r.into()))
}

/// The outcome a preview's distribution takes (its action's branch follows from it).
#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeDto {
    Processed,
    Unprocessed,
    Ok,
    NoResponse,
    Error,
    ReferenceNotFound,
    OverflowNoUser,
    OverflowMaxEstimatedWait,
    OverflowMaxWaiting,
    DissuasionMaxWait,
    DissuasionByUser,
}

/// The outcome of a preview's distribution, chosen by the person previewing.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewOutcome {
    pub outcome: OutcomeDto,
    /// For `error`: why (shown to the routing in `system.error`); at most 500 characters.
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

impl PreviewOutcome {
    fn result(self) -> ApiResult<flow::effect::EffectResult> {
        use flow::effect::DistributionOutcome as O;
        let reason = self
            .reason
            .unwrap_or_else(|| "chosen in the preview".into());
        if reason.chars().count() > 500 {
            return Err(Problem::from(ConversationError::Maker(
                runtime::MakerError::Field(flow::FieldError {
                    field: "reason",
                    message: "must be at most 500 characters".into(),
                }),
            )));
        }
        Ok(flow::effect::EffectResult::Distribute(match self.outcome {
            OutcomeDto::Processed => O::Processed,
            OutcomeDto::Unprocessed => O::Unprocessed,
            OutcomeDto::Ok => O::Ok,
            OutcomeDto::NoResponse => O::NoResponse,
            OutcomeDto::Error => O::Error { reason },
            OutcomeDto::ReferenceNotFound => O::ReferenceNotFound,
            OutcomeDto::OverflowNoUser => O::OverflowNoUser,
            OutcomeDto::OverflowMaxEstimatedWait => O::OverflowMaxEstimatedWait,
            OutcomeDto::OverflowMaxWaiting => O::OverflowMaxWaiting,
            OutcomeDto::DissuasionMaxWait => O::DissuasionMaxWait,
            OutcomeDto::DissuasionByUser => O::DissuasionByUser,
        }))
    }
}

/// Gives a preview's distribution its outcome: a preview never reaches real agents; its
/// events show the distribution it asked for, and the person previewing picks what happened.
#[utoipa::path(post, path = "/interactions/{id}/outcome", security(("token" = ["routings:edit"])), tag = "Interactions", params(("id" = Uuid, Path)), request_body = PreviewOutcome,
    responses((status = 200, body = Ack), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn preview_outcome(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    JsonBody(body): JsonBody<PreviewOutcome>,
) -> ApiResult<Json<Ack>> {
    let result = body.result()?;
    Ok(Json(
        state.conversations.preview_result(id, result).await?.into(),
    ))
}

/// Closes an interaction.
#[utoipa::path(post, path = "/interactions/{id}/close", security(("token" = ["interactions:close"])), tag = "Interactions", params(("id" = Uuid, Path)), responses((status = 200, body = Ack), (status = 404, body = ProblemBody)))]
pub async fn close(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Json<Ack>> {
    Ok(Json(state.conversations.close(id).await?.into()))
}

/// Takes a quarantined interaction out of quarantine: it resumes from its saved state.
#[utoipa::path(post, path = "/interactions/{id}/retry", security(("token" = ["interactions:retry"])), tag = "Interactions", params(("id" = Uuid, Path)), responses((status = 200, body = Ack), (status = 404, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn retry(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Json<Ack>> {
    Ok(Json(state.conversations.retry(id).await?.into()))
}

/// An interaction in a list.
#[derive(Serialize, ToSchema)]
pub struct InteractionSummary {
    pub id: Uuid,
    pub entry_point_id: Option<Uuid>,
    pub mode: ModeDto,
    /// The customer's address on the channel.
    pub customer: String,
    /// The customer (none for previews, or once the customer was deleted).
    pub customer_id: Option<Uuid>,
    pub routing_id: Uuid,
    pub version_id: Uuid,
    pub status: StatusDto,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub wake_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<&Interaction> for InteractionSummary {
    fn from(r: &Interaction) -> Self {
        InteractionSummary {
            id: r.id,
            entry_point_id: r.entry_point_id,
            mode: r.mode.into(),
            customer: r.customer.clone(),
            customer_id: r.customer_id,
            routing_id: r.routing_id,
            version_id: r.version_id,
            status: r.status.into(),
            wake_at: r.wake_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// How an interaction runs: `live` (production version), `test` (the entry point's version in
/// test), `preview` (any version, no entry point), `end` (an interaction-end routing),
/// `outgoing` (an SMS a routing sent as an outgoing interaction).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModeDto {
    Live,
    Test,
    Preview,
    End,
    Outgoing,
}

impl From<Mode> for ModeDto {
    fn from(m: Mode) -> Self {
        match m {
            Mode::Live => ModeDto::Live,
            Mode::Test => ModeDto::Test,
            Mode::Preview => ModeDto::Preview,
            Mode::End => ModeDto::End,
            Mode::Outgoing => ModeDto::Outgoing,
        }
    }
}

impl From<ModeDto> for Mode {
    fn from(m: ModeDto) -> Self {
        match m {
            ModeDto::Live => Mode::Live,
            ModeDto::Test => Mode::Test,
            ModeDto::Preview => Mode::Preview,
            ModeDto::End => Mode::End,
            ModeDto::Outgoing => Mode::Outgoing,
        }
    }
}

/// Where an interaction stands.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusDto {
    New,
    Waiting,
    Closed,
    Quarantined,
}

impl From<InteractionStatus> for StatusDto {
    fn from(s: InteractionStatus) -> Self {
        match s {
            InteractionStatus::New => StatusDto::New,
            InteractionStatus::Waiting => StatusDto::Waiting,
            InteractionStatus::Closed => StatusDto::Closed,
            InteractionStatus::Quarantined => StatusDto::Quarantined,
        }
    }
}

impl From<StatusDto> for InteractionStatus {
    fn from(s: StatusDto) -> Self {
        match s {
            StatusDto::New => InteractionStatus::New,
            StatusDto::Waiting => InteractionStatus::Waiting,
            StatusDto::Closed => InteractionStatus::Closed,
            StatusDto::Quarantined => InteractionStatus::Quarantined,
        }
    }
}

/// Filters of the interaction list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InteractionQuery {
    pub entry_point_id: Option<Uuid>,
    pub version_id: Option<Uuid>,
    pub status: Option<StatusDto>,
    pub mode: Option<ModeDto>,
    /// The interactions of one customer.
    pub customer_id: Option<Uuid>,
    pub limit: Option<u32>,
    pub after: Option<Uuid>,
}

/// A page of interactions, newest first.
#[derive(Serialize, ToSchema)]
pub struct InteractionPage {
    pub items: Vec<InteractionSummary>,
    pub next_after: Option<Uuid>,
}

/// Lists interactions, newest first.
#[utoipa::path(get, path = "/interactions", security(("token" = ["interactions:read"])), tag = "Interactions", params(InteractionQuery), responses((status = 200, body = InteractionPage), (status = 400, body = ProblemBody)))]
pub async fn list(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<InteractionQuery>,
) -> ApiResult<Json<InteractionPage>> {
    let filter = InteractionFilter {
        entry_point_id: q.entry_point_id,
        version_id: q.version_id,
        status: q.status.map(Into::into),
        mode: q.mode.map(Into::into),
        customer_id: q.customer_id,
        not_live: false,
    };
    let p = state
        .conversations
        .interactions(&filter, &page_request(q.limit, q.after)?)
        .await?;
    Ok(Json(InteractionPage {
        items: p.items.iter().map(Into::into).collect(),
        next_after: p.next_after,
    }))
}

/// The test and preview executions of a version, newest first.
#[utoipa::path(get, path = "/versions/{id}/history", security(("token" = ["interactions:read"])), tag = "Interactions", params(("id" = Uuid, Path), PageQuery), responses((status = 200, body = InteractionPage)))]
pub async fn history(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    QueryParams(q): QueryParams<PageQuery>,
) -> ApiResult<Json<InteractionPage>> {
    let filter = InteractionFilter {
        version_id: Some(id),
        not_live: true,
        ..InteractionFilter::default()
    };
    let p = state
        .conversations
        .interactions(&filter, &page_request(q.limit, q.after)?)
        .await?;
    Ok(Json(InteractionPage {
        items: p.items.iter().map(Into::into).collect(),
        next_after: p.next_after,
    }))
}

/// One event of an interaction.
#[derive(Serialize, ToSchema)]
pub struct EventDto {
    pub seq: u64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    #[schema(value_type = Object)]
    pub event: Value,
}

impl From<HistoryEvent> for EventDto {
    fn from(e: HistoryEvent) -> Self {
        EventDto {
            seq: e.seq,
            at: e.at,
            event: e.event,
        }
    }
}

/// An interaction with its variables and events.
#[derive(Serialize, ToSchema)]
pub struct InteractionDto {
    #[serde(flatten)]
    pub summary: InteractionSummary,
    #[schema(value_type = Object)]
    pub variables: Value,
    #[schema(value_type = Object)]
    pub system: Value,
    /// Why it closed, when it did.
    #[schema(value_type = Option<Object>)]
    pub closed: Option<Value>,
    /// A page of its events, in order (see `events_after`, `events_limit`).
    pub events: Vec<EventDto>,
    /// More events follow: pass this as `events_after` for the next page.
    pub events_next_after: Option<u64>,
}

/// Which events of an interaction to return.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Events after this sequence number (default 0: from the first).
    pub events_after: Option<u64>,
    /// 1 to 1 000 events (default 1 000).
    #[param(minimum = 1, maximum = 1000)]
    pub events_limit: Option<u32>,
}

/// Most events of an interaction returned at once.
pub const EVENTS_PAGE: u32 = 1_000;

/// One interaction with its variables, status and a page of its events.
#[utoipa::path(get, path = "/interactions/{id}", security(("token" = ["interactions:read"])), tag = "Interactions", params(("id" = Uuid, Path), EventsQuery), responses((status = 200, body = InteractionDto), (status = 400, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub async fn get(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    QueryParams(q): QueryParams<EventsQuery>,
) -> ApiResult<Json<InteractionDto>> {
    let limit = q.events_limit.unwrap_or(EVENTS_PAGE);
    if !(1..=EVENTS_PAGE).contains(&limit) {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("events_limit must be between 1 and {EVENTS_PAGE}"),
        ));
    }
    interaction_dto(&state, id, q.events_after.unwrap_or(0), limit)
        .await
        .map(Json)
}

/// An interaction with `limit` of its events after `after`.
pub(crate) async fn interaction_dto(
    state: &AppState,
    id: Uuid,
    after: u64,
    limit: u32,
) -> ApiResult<InteractionDto> {
    let d = state
        .conversations
        .interaction_with_events(id, after, limit)
        .await?;
    let events_next_after = d.more.then(|| d.events.last().map_or(after, |e| e.seq));
    let (variables, system) = match d.values {
        Some(v) => (Value::Object(v.variables), Value::Object(v.system)),
        None => (Value::Null, Value::Null),
    };
    Ok(InteractionDto {
        variables,
        system,
        closed: d.closed.and_then(|r| serde_json::to_value(r).ok()),
        summary: (&d.interaction).into(),
        events: d.events.into_iter().map(EventDto::from).collect(),
        events_next_after,
    })
}
