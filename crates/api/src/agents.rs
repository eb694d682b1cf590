//! `/users` (agents, for administrators) and `/agent/…` (what an agent does, authenticated by
//! their token: `Authorization: Bearer <token>`, or `?token=` on the WebSocket).

use acd::Presence;
use axum::Json;
use axum::extract::FromRequestParts;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use runtime::access::Caller;
use runtime::agents::TransferTo;
use runtime::distribution::User;
use runtime::distribution::{Distribution, UserFields};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::conversations::{InteractionDto, InteractionSummary, PageQuery, interaction_dto};
use crate::problem::{
    ApiResult, IfMatch, JsonBody, PathParams, Problem, ProblemBody, QueryParams, page_request,
};

fn distribution(state: &AppState) -> ApiResult<&std::sync::Arc<Distribution>> {
    state.conversations.distribution().ok_or_else(|| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "distribution_unavailable",
            "the distribution is not running",
        )
    })
}

/// An agent's presence.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PresenceDto {
    Online,
    Away,
    Offline,
}

impl From<PresenceDto> for Presence {
    fn from(p: PresenceDto) -> Self {
        match p {
            PresenceDto::Online => Presence::Online,
            PresenceDto::Away => Presence::Away,
            PresenceDto::Offline => Presence::Offline,
        }
    }
}

/// A user (agent).
#[derive(Serialize, ToSchema)]
pub struct UserDto {
    pub id: Uuid,
    pub reference: String,
    pub name: String,
    /// `online`, `away` or `offline`.
    pub presence: String,
    /// Most simultaneous conversations (offers included).
    pub capacity: u32,
    pub auto_accept: bool,
    /// Conversations offered to or held by the user now.
    pub open_conversations: u32,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_message_at: Option<Timestamp>,
    pub revision: u64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// The email they sign in with (`POST /auth/login`), if they have one.
    pub email: Option<String>,
    /// The API token, shown only when the user is created or their token renewed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

fn user_dto(u: User, token: Option<String>) -> UserDto {
    UserDto {
        id: u.id,
        reference: u.reference,
        name: u.name,
        presence: u.presence,
        capacity: u.capacity,
        auto_accept: u.auto_accept,
        open_conversations: u.open_conversations,
        last_message_at: u.last_message_at,
        revision: u.revision,
        created_at: u.created_at,
        updated_at: u.updated_at,
        email: u.email,
        token,
    }
}

/// Fields of a user. A user is an account with the agent role: `email` and `password`
/// (write-only, the policy of every account) let them sign in to the agent desk; without them
/// they use their token.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserBody {
    pub reference: Option<String>,
    pub name: Option<String>,
    /// 1 to 100 (default 3).
    pub capacity: Option<u32>,
    pub auto_accept: Option<bool>,
    pub email: Option<String>,
    pub password: Option<String>,
}

impl UserBody {
    /// The distribution's fields, and the sign-in's.
    fn split(self) -> (UserFields, Option<String>, Option<String>) {
        (
            UserFields {
                reference: self.reference,
                name: self.name,
                capacity: self.capacity,
                auto_accept: self.auto_accept,
            },
            self.email,
            self.password,
        )
    }
}

fn user_response(status: StatusCode, dto: UserDto) -> Response {
    // a response carrying a token is never kept whole for idempotent replays
    let secret = dto.token.is_some();
    let mut response = (
        status,
        [(header::ETAG, format!("\"{}\"", dto.revision))],
        Json(dto),
    )
        .into_response();
    if secret {
        response.extensions_mut().insert(crate::Secrets(&["token"]));
    }
    response
}

/// A page of users.
#[derive(Serialize, ToSchema)]
pub struct UserPage {
    pub items: Vec<UserDto>,
    pub next_after: Option<Uuid>,
}

/// Lists users.
#[utoipa::path(get, path = "/users", security(("token" = ["accounts:read"])), tag = "Distribution", params(PageQuery), responses((status = 200, body = UserPage)))]
pub async fn list_users(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<PageQuery>,
) -> ApiResult<Json<UserPage>> {
    let d = distribution(&state)?;
    let p = d.users(&page_request(q.limit, q.after)?).await?;
    Ok(Json(UserPage {
        items: p.items.into_iter().map(|u| user_dto(u, None)).collect(),
        next_after: p.next_after,
    }))
}

/// Creates a user (offline). The answer holds their API token, shown this once.
#[utoipa::path(post, path = "/users", security(("token" = ["accounts:create"])), tag = "Distribution", request_body = UserBody,
    responses((status = 201, body = UserDto), (status = 409, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn create_user(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<UserBody>,
) -> ApiResult<Response> {
    let d = distribution(&state)?;
    let (fields, email, password) = body.split();
    let sign_in = runtime::access::agent_sign_in(email, password).await?;
    let (u, token) = d.create_user(fields, sign_in).await?;
    Ok(user_response(StatusCode::CREATED, user_dto(u, Some(token))))
}

/// One user.
#[utoipa::path(get, path = "/users/{id}", security(("token" = ["accounts:read"])), tag = "Distribution", params(("id" = Uuid, Path)), responses((status = 200, body = UserDto), (status = 404, body = ProblemBody)))]
pub async fn get_user(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Response> {
    let d = distribution(&state)?;
    let u = d.user(id).await?;
    Ok(user_response(StatusCode::OK, user_dto(u, None)))
}

/// Changes a user's reference, name, capacity, auto-accept, or sign-in (email, password: their
/// sessions end).
#[utoipa::path(patch, path = "/users/{id}", security(("token" = ["accounts:edit"])), tag = "Distribution", params(("If-Match" = Option<String>, Header, description = "The revision the change expects (`\"3\"`, as the ETag gave it): 412 `precondition_failed` if it is no longer the current one; none: no check"), ("id" = Uuid, Path)), request_body = UserBody,
    responses((status = 200, body = UserDto), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody), (status = 412, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn update_user(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    IfMatch(if_match): IfMatch,
    JsonBody(body): JsonBody<UserBody>,
) -> ApiResult<Response> {
    let d = distribution(&state)?;
    let (fields, email, password) = body.split();
    d.user(id).await?;
    if email.is_some() || password.is_some() {
        let sign_in = runtime::access::AccountFields {
            email,
            password,
            ..Default::default()
        };
        state.access.update_account(id, sign_in, None).await?;
    }
    let (u, events) = d.update_user(id, fields, if_match).await?;
    state.conversations.distribution_events(events).await?;
    Ok(user_response(StatusCode::OK, user_dto(u, None)))
}

/// Deletes a user: their offers and conversations go back to their queues.
#[utoipa::path(delete, path = "/users/{id}", security(("token" = ["accounts:delete"])), tag = "Distribution", params(("id" = Uuid, Path)), responses((status = 204), (status = 404, body = ProblemBody)))]
pub async fn delete_user(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<StatusCode> {
    let events = distribution(&state)?.delete_user(id).await?;
    state.access.end_sessions_of(id).await?;
    state.conversations.distribution_events(events).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Gives a user a new API token (the old one stops working).
#[utoipa::path(post, path = "/users/{id}/token", security(("token" = ["accounts:edit"]), ("token" = ["agent:use"])), tag = "Distribution", params(("id" = Uuid, Path)), responses((status = 200, body = UserDto), (status = 404, body = ProblemBody)))]
pub async fn renew_token(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Response> {
    if !crate::auth::may_act_on_user(&caller, id) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "an agent renews only their own token",
        ));
    }
    let d = distribution(&state)?;
    let (u, token) = d.rotate_token(id).await?;
    Ok(user_response(StatusCode::OK, user_dto(u, Some(token))))
}

/// The agent calling: a caller whose credential is an agent's own token.
pub struct Agent(pub User);

impl FromRequestParts<AppState> for Agent {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let caller = Caller::from_request_parts(parts, state).await?;
        match caller.agent {
            Some(user) => Ok(Agent(user)),
            None => Err(Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "the agent API is for agents: call it with an agent's token or an agent's session",
            )
            .into_response()),
        }
    }
}

/// The agent calling.
#[utoipa::path(get, path = "/agent/me", security(("token" = ["agent:use"])), tag = "Agent", responses((status = 200, body = UserDto), (status = 401, body = ProblemBody)))]
pub async fn me(Agent(u): Agent) -> ApiResult<Json<UserDto>> {
    Ok(Json(user_dto(u, None)))
}

/// A presence.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresenceBody {
    pub presence: PresenceDto,
}

/// Sets the agent's presence: only `online` agents receive offers; leaving `online` hands
/// open offers to others.
#[utoipa::path(put, path = "/agent/presence", security(("token" = ["agent:use"])), tag = "Agent", request_body = PresenceBody, responses((status = 200, body = UserDto), (status = 401, body = ProblemBody)))]
pub async fn set_presence(
    State(state): State<AppState>,
    Agent(u): Agent,
    JsonBody(body): JsonBody<PresenceBody>,
) -> ApiResult<Json<UserDto>> {
    state
        .conversations
        .agent_presence(u.id, body.presence.into())
        .await?;
    // as the distribution has them now
    let now = distribution(&state)?.user(u.id).await?;
    Ok(Json(user_dto(now, None)))
}

/// One of the agent's conversations.
#[derive(Serialize, ToSchema)]
pub struct AgentConversation {
    #[serde(flatten)]
    pub interaction: InteractionSummary,
    /// `offered` (accept or decline it) or `assigned` (yours).
    pub state: String,
}

/// The conversations offered to or held by the agent.
#[utoipa::path(get, path = "/agent/conversations", security(("token" = ["agent:use"])), tag = "Agent", responses((status = 200, body = Vec<AgentConversation>), (status = 401, body = ProblemBody)))]
pub async fn conversations(
    State(state): State<AppState>,
    Agent(u): Agent,
) -> ApiResult<Json<Vec<AgentConversation>>> {
    let list = state.conversations.agent_conversations(u.id).await?;
    Ok(Json(
        list.iter()
            .map(|(row, accepted)| AgentConversation {
                interaction: row.into(),
                state: if *accepted { "assigned" } else { "offered" }.into(),
            })
            .collect(),
    ))
}

/// One of the agent's conversations with its history.
#[utoipa::path(get, path = "/agent/conversations/{id}", security(("token" = ["agent:use"])), tag = "Agent", params(("id" = Uuid, Path)), responses((status = 200, body = InteractionDto), (status = 401, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub async fn conversation(
    State(state): State<AppState>,
    Agent(u): Agent,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Json<InteractionDto>> {
    state.conversations.agent_may_read(u.id, id).await?;
    interaction_dto(&state, id, 0, crate::conversations::EVENTS_PAGE)
        .await
        .map(Json)
}

/// At most this many of a customer's other interactions are shown on their card.
const CARD_INTERACTIONS: u32 = 20;

/// The customer of a conversation, as the agent desk's card shows them.
#[derive(Serialize, ToSchema)]
pub struct CustomerCard {
    /// None for a preview, or once the customer was deleted.
    pub customer: Option<crate::customers::CustomerDto>,
    /// The name of the user who owns the customer, if any.
    pub owner_name: Option<String>,
    /// Their latest other interactions (at most 20), newest first.
    pub previous: Vec<InteractionSummary>,
}

/// The customer of a conversation the agent holds or is offered: who they are (name,
/// reference, fields, owner) and their previous interactions.
#[utoipa::path(get, path = "/agent/conversations/{id}/customer", security(("token" = ["agent:use"])), tag = "Agent", params(("id" = Uuid, Path)), responses((status = 200, body = CustomerCard), (status = 401, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub async fn customer_card(
    State(state): State<AppState>,
    Agent(u): Agent,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Json<CustomerCard>> {
    let (customer, previous) = state
        .conversations
        .agent_customer(u.id, id, CARD_INTERACTIONS)
        .await?;
    let owner_name = match customer.as_ref().and_then(|c| c.owner_id) {
        Some(owner) => match distribution(&state)?.user(owner).await {
            Ok(o) => Some(o.name),
            // an owner since deleted
            Err(runtime::ConversationError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    Ok(Json(CustomerCard {
        customer: customer.as_ref().map(Into::into),
        owner_name,
        previous: previous.iter().map(Into::into).collect(),
    }))
}

/// Accepts an offer: the conversation is the agent's.
#[utoipa::path(post, path = "/agent/conversations/{id}/accept", security(("token" = ["agent:use"])), tag = "Agent", params(("id" = Uuid, Path)), responses((status = 204), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody)))]
pub async fn accept(
    State(state): State<AppState>,
    Agent(u): Agent,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<StatusCode> {
    state.conversations.agent_accept(u.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Declines an offer: it goes to the next eligible user.
#[utoipa::path(post, path = "/agent/conversations/{id}/decline", security(("token" = ["agent:use"])), tag = "Agent", params(("id" = Uuid, Path)), responses((status = 204), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody)))]
pub async fn decline(
    State(state): State<AppState>,
    Agent(u): Agent,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<StatusCode> {
    state.conversations.agent_decline(u.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Closes the conversation as handled: the routing continues on *Processed*.
#[utoipa::path(post, path = "/agent/conversations/{id}/close", security(("token" = ["agent:use"])), tag = "Agent", params(("id" = Uuid, Path)), responses((status = 204), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody)))]
pub async fn close(
    State(state): State<AppState>,
    Agent(u): Agent,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<StatusCode> {
    state.conversations.agent_close(u.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lets the conversation go without handling it: the routing continues on *Unprocessed*.
#[utoipa::path(post, path = "/agent/conversations/{id}/release", security(("token" = ["agent:use"])), tag = "Agent", params(("id" = Uuid, Path)), responses((status = 204), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody)))]
pub async fn release(
    State(state): State<AppState>,
    Agent(u): Agent,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<StatusCode> {
    state.conversations.agent_release(u.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A message from the agent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentMessageBody {
    /// 1 to 4 096 characters, sent as written (never rendered as a template).
    pub text: String,
}

/// What was sent.
#[derive(Serialize, ToSchema)]
pub struct Sent {
    pub interaction_id: Uuid,
}

/// Sends a message to the customer through the interaction's channel.
#[utoipa::path(post, path = "/agent/conversations/{id}/messages", security(("token" = ["agent:use"])), tag = "Agent", params(("id" = Uuid, Path)), request_body = AgentMessageBody,
    responses((status = 201, body = Sent), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn send(
    State(state): State<AppState>,
    Agent(u): Agent,
    PathParams(id): PathParams<Uuid>,
    JsonBody(body): JsonBody<AgentMessageBody>,
) -> ApiResult<(StatusCode, Json<Sent>)> {
    let r = state
        .conversations
        .agent_message(u.id, id, &body.text)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Sent {
            interaction_id: r.interaction_id,
        }),
    ))
}

/// Where to transfer: a group or a user (exactly one).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    pub group_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
}

/// A group an agent may hand a conversation to.
#[derive(Serialize, ToSchema)]
pub struct TransferGroup {
    pub id: Uuid,
    pub reference: String,
    pub name: String,
}

/// The groups (queues) an agent may transfer a conversation to: every group, by name and
/// reference only (an agent reads no group's members or settings).
#[utoipa::path(get, path = "/agent/groups", security(("token" = ["agent:use"])), tag = "Agent", responses((status = 200, body = Vec<TransferGroup>), (status = 401, body = ProblemBody)))]
pub async fn transfer_groups(
    State(state): State<AppState>,
    Agent(_): Agent,
) -> ApiResult<Json<Vec<TransferGroup>>> {
    let mut out = Vec::new();
    let mut page = store::PageRequest {
        limit: 1_000,
        after: None,
    };
    // bounded: at most OBJECTS_PER_KIND groups
    loop {
        let p = state
            .maker
            .objects(flow::catalogue::ObjectKind::Queue, &page)
            .await?;
        out.extend(p.items.iter().map(|g| TransferGroup {
            id: g.id,
            reference: g.reference.clone(),
            name: g.name.clone(),
        }));
        match p.next_after {
            Some(after) => page.after = Some(after),
            None => return Ok(Json(out)),
        }
    }
}

/// A colleague an agent may hand a conversation to.
#[derive(Serialize, ToSchema)]
pub struct TransferUser {
    pub id: Uuid,
    pub reference: String,
    pub name: String,
    /// `online`, `away` or `offline`: a transfer to a user who is not online is refused.
    pub presence: String,
}

/// At most this many colleagues are listed to an agent.
const TRANSFER_USERS: usize = 10_000;

/// The other users an agent may transfer a conversation to (at most 10 000), with their
/// presence: name, reference and presence only (an agent reads no account, email or token).
#[utoipa::path(get, path = "/agent/users", security(("token" = ["agent:use"])), tag = "Agent", responses((status = 200, body = Vec<TransferUser>), (status = 401, body = ProblemBody)))]
pub async fn transfer_users(
    State(state): State<AppState>,
    Agent(me): Agent,
) -> ApiResult<Json<Vec<TransferUser>>> {
    let d = distribution(&state)?;
    let mut out = Vec::new();
    let mut page = store::PageRequest {
        limit: 1_000,
        after: None,
    };
    // bounded: the first TRANSFER_USERS
    while out.len() < TRANSFER_USERS {
        let p = d.users(&page).await?;
        out.extend(
            p.items
                .into_iter()
                .filter(|u| u.id != me.id)
                .map(|u| TransferUser {
                    id: u.id,
                    reference: u.reference,
                    name: u.name,
                    presence: u.presence,
                }),
        );
        match p.next_after {
            Some(after) => page.after = Some(after),
            None => break,
        }
    }
    out.truncate(TRANSFER_USERS);
    Ok(Json(out))
}

/// Hands the conversation to a group or a user; refused (and kept) when the target cannot take
/// it.
#[utoipa::path(post, path = "/agent/conversations/{id}/transfer", security(("token" = ["agent:use"])), tag = "Agent", params(("id" = Uuid, Path)), request_body = TransferBody,
    responses((status = 204), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn transfer(
    State(state): State<AppState>,
    Agent(u): Agent,
    PathParams(id): PathParams<Uuid>,
    JsonBody(body): JsonBody<TransferBody>,
) -> ApiResult<StatusCode> {
    let to = match (body.group_id, body.user_id) {
        (Some(g), None) => TransferTo::Group(g),
        (None, Some(user)) => TransferTo::User(user),
        _ => {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                "give either group_id or user_id",
            ));
        }
    };
    state.conversations.agent_transfer(u.id, id, to).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The token of the live feed.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// The agent's token, for a browser (its WebSocket cannot send headers); read by the
    /// authorization layer before the handler.
    #[allow(dead_code)]
    pub token: Option<String>,
}

/// The agent's live feed (WebSocket): first `{"type": "conversations", …}`, then `offer`,
/// `offer_ended`, `assigned`, `message` (from a customer), `transferred` and `closed` events as
/// they happen. The token goes in `Authorization` or, from a browser, in `?token=`.
#[utoipa::path(get, path = "/agent/ws", security(("token" = ["agent:use"])), tag = "Agent", params(FeedQuery), responses((status = 101), (status = 401, body = ProblemBody), (status = 426, body = ProblemBody)))]
pub async fn feed(
    State(state): State<AppState>,
    QueryParams(_): QueryParams<FeedQuery>,
    Agent(user): Agent,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let ws = ws.map_err(|e| {
        Problem::new(
            StatusCode::UPGRADE_REQUIRED,
            "upgrade_required",
            format!("this is a WebSocket endpoint: {}", e.body_text()),
        )
    })?;
    Ok(ws
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| feed_session(state, user, socket))
        .into_response())
}

async fn current(state: &AppState, user: Uuid) -> Value {
    match state.conversations.agent_conversations(user).await {
        Ok(list) => {
            json!({"type": "conversations", "items": list.iter().map(|(row, accepted)| json!({
            "interaction_id": row.id, "customer": row.customer, "state": if *accepted { "assigned" } else { "offered" }
        })).collect::<Vec<_>>()})
        }
        Err(e) => json!({"type": "error", "message": e.to_string()}),
    }
}

async fn feed_session(state: AppState, user: User, mut socket: WebSocket) {
    let Some(d) = state.conversations.distribution().cloned() else {
        return;
    };
    let mut hub = d.subscribe();
    if socket
        .send(Message::Text(
            current(&state, user.id).await.to_string().into(),
        ))
        .await
        .is_err()
    {
        return;
    }
    loop {
        tokio::select! {
            frame = socket.recv() => match frame {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                _ => continue,
            },
            event = hub.recv() => {
                let frame = match event {
                    Ok(e) if e.user == user.id => e.event,
                    Ok(_) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => current(&state, user.id).await,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                };
                if socket.send(Message::Text(frame.to_string().into())).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// One member of a group, now.
#[derive(Serialize, ToSchema)]
pub struct MemberStatus {
    pub user_id: Uuid,
    /// `online`, `away` or `offline`.
    pub presence: String,
    pub open_conversations: u32,
    pub capacity: u32,
}

/// One waiting interaction.
#[derive(Serialize, ToSchema)]
pub struct WaitingStatus {
    pub interaction_id: Uuid,
    pub priority: bool,
    #[schema(value_type = String, format = DateTime)]
    pub arrived_at: Timestamp,
}

/// A group (queue) now: who is there and who waits.
#[derive(Serialize, ToSchema)]
pub struct GroupStatus {
    pub group_id: Uuid,
    pub members: Vec<MemberStatus>,
    /// In queue order (prioritized first, then arrival); at most 1 000.
    pub waiting: Vec<WaitingStatus>,
    pub waiting_count: usize,
    /// What a new arrival would wait, in seconds (`null` when nobody is online).
    pub estimated_wait_seconds: Option<i64>,
}

/// A group's members and waiting interactions, now — a supervisor's view.
#[utoipa::path(get, path = "/groups/{id}/status", security(("token" = ["groups:read"])), tag = "Distribution", params(("id" = Uuid, Path)), responses((status = 200, body = GroupStatus), (status = 404, body = ProblemBody)))]
pub async fn group_status(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Json<GroupStatus>> {
    let status = distribution(&state)?
        .group_status(id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("group {id}")))?;
    Ok(Json(GroupStatus {
        group_id: status.group_id,
        members: status
            .members
            .into_iter()
            .map(|m| MemberStatus {
                user_id: m.user_id,
                presence: m.presence.as_str().into(),
                open_conversations: m.open_conversations,
                capacity: m.capacity,
            })
            .collect(),
        waiting: status
            .waiting
            .into_iter()
            .map(|w| WaitingStatus {
                interaction_id: w.interaction_id,
                priority: w.priority,
                arrived_at: w.arrived_at,
            })
            .collect(),
        waiting_count: status.waiting_count,
        estimated_wait_seconds: status.estimated_wait.map(|d| d.as_secs()),
    }))
}
