//! Authentication and permissions. Every operation declares what it needs in its own
//! `#[utoipa::path(…, security(…))]`: `security(("token" = ["routings:publish"]))` (several
//! requirements: any one suffices), or `security(())` for the public surface. The declarations
//! are read back from the generated document into [`Requirements`], and [`authorize`] checks them
//! on every request before its handler runs: no credentials or a bad one → 401, a role without
//! the permission → 403. An operation without a declaration is refused (a test enumerates the
//! document and fails on one).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use flow::access::{Need, Permission, Resource, Verb};
use flow::fields::ChannelFamily;
use runtime::access::{Caller, NewToken, Token};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::conversations::PageQuery;
use crate::problem::{
    ApiResult, JsonBody, PathParams, Problem, ProblemBody, QueryParams, page_request,
};
use crate::{AppState, Secrets};

/// What an operation needs.
#[derive(Clone, Debug)]
pub enum Requirement {
    /// Open to anyone (the public surface).
    Public,
    /// One of these.
    AnyOf(Vec<Need>),
    /// A declaration this build cannot read: refused, never opened.
    Invalid(String),
}

/// Every operation's requirement, by method and path template (as in the document).
#[derive(Clone, Debug, Default)]
pub struct Requirements(HashMap<String, HashMap<Method, (Requirement, String)>>);

impl Requirements {
    /// Reads the `security` of every operation of an OpenAPI document (as JSON).
    pub fn from_document(doc: &Value) -> Requirements {
        let mut map = HashMap::new();
        let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
            return Requirements(map);
        };
        for (path, item) in paths {
            let Some(ops) = item.as_object() else {
                continue;
            };
            for (method, op) in ops {
                let Ok(method) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) else {
                    continue;
                };
                let operation = op
                    .get("operationId")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                map.entry(path.clone())
                    .or_insert_with(HashMap::new)
                    .insert(method, (requirement(op.get("security")), operation));
            }
        }
        Requirements(map)
    }

    fn of(&self, method: &Method, path: &str) -> Option<&Requirement> {
        self.0.get(path)?.get(method).map(|(r, _)| r)
    }

    fn operation(&self, method: &Method, path: &str) -> Option<&str> {
        self.0.get(path)?.get(method).map(|(_, o)| o.as_str())
    }
}

fn requirement(security: Option<&Value>) -> Requirement {
    let Some(alternatives) = security.and_then(Value::as_array) else {
        return Requirement::Invalid("the operation declares no permission".into());
    };
    let mut needs = Vec::new();
    for alt in alternatives {
        let Some(alt) = alt.as_object() else {
            return Requirement::Invalid(format!("unreadable requirement {alt}"));
        };
        if alt.is_empty() {
            return Requirement::Public;
        }
        for scopes in alt.values() {
            for scope in scopes.as_array().into_iter().flatten() {
                match scope.as_str().and_then(Need::parse) {
                    Some(n) => needs.push(n),
                    None => return Requirement::Invalid(format!("unknown permission {scope}")),
                }
            }
        }
    }
    if needs.is_empty() {
        Requirement::Invalid("the operation declares no permission".into())
    } else {
        Requirement::AnyOf(needs)
    }
}

/// The bearer token of a request (`Authorization: Bearer <token>`, scheme in any case).
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn unauthorized(detail: &str) -> Response {
    let mut r = Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", detail).into_response();
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    r
}

/// A browser cannot set headers on a WebSocket: an upgrade may carry its token as `?token=`.
fn socket_token(headers: &HeaderMap, uri: &axum::http::Uri) -> Option<String> {
    let upgrade = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !upgrade {
        return None;
    }
    uri.query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == "token" && !v.is_empty()).then(|| v.to_owned())
    })
}

/// The name of the session cookie.
pub(crate) const SESSION_COOKIE: &str = "switchyard_session";
/// The header a browser sends its session's CSRF token in, on every state-changing request.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

/// The session cookie of a request, if any.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == SESSION_COOKIE && !v.is_empty()).then_some(v)
        })
}

/// Equal in time independent of where they differ.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The caller of a request, or the problem to answer: a bearer token, else a session cookie
/// (whose state-changing requests must carry the session's CSRF token).
pub(crate) async fn caller_of(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
) -> Result<Caller, Response> {
    let from_socket = socket_token(headers, uri);
    let Some(token) = bearer(headers).or(from_socket.as_deref()) else {
        let Some(cookie) = session_cookie(headers) else {
            return Err(unauthorized(
                "this operation needs a token (Authorization: Bearer <token>) or a session (POST /api/v1/auth/login)",
            ));
        };
        let session = match state.access.session(cookie).await {
            Ok(s) => s,
            Err(e) => return Err(Problem::from(e).into_response()),
        };
        let Some((caller, csrf)) = session else {
            return Err(unauthorized(
                "the session has ended (signed out, idle too long or too old): sign in again",
            ));
        };
        let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
        let sent = headers
            .get(CSRF_HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !safe && !same_bytes(sent, csrf.as_bytes()) {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "csrf_failed",
                "a request made with a session cookie must carry the session's CSRF token in X-CSRF-Token",
            )
            .into_response());
        }
        return Ok(caller);
    };
    match state.access.authenticate(token).await {
        Ok(Some(caller)) => Ok(caller),
        Ok(None) => Err(unauthorized(
            "the token is not valid (unknown, revoked or expired)",
        )),
        Err(e) => Err(Problem::from(e).into_response()),
    }
}

/// Checks the matched operation's requirement; puts the [`Caller`] in the request.
pub(crate) async fn authorize(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(matched) = req.extensions().get::<MatchedPath>() else {
        return next.run(req).await;
    };
    let template = matched.as_str();
    let path = template.strip_prefix("/api/v1").unwrap_or(template);
    let needs = match state.requirements.of(req.method(), path) {
        Some(Requirement::Public) => {
            if let Err(r) =
                state
                    .public
                    .check(crate::public::peer(&req), template, req.uri().path())
            {
                return r.into_response();
            }
            return next.run(req).await;
        }
        Some(Requirement::AnyOf(needs)) => needs.clone(),
        Some(Requirement::Invalid(why)) => return forbidden_undeclared(path, why),
        None => return forbidden_undeclared(path, "the operation is not in the document"),
    };
    let caller = match caller_of(&state, req.method(), req.headers(), req.uri()).await {
        Ok(c) => c,
        Err(response) => return response,
    };
    if !needs.iter().any(|n| caller.role.meets(*n)) {
        let wanted: Vec<String> = needs.iter().map(ToString::to_string).collect();
        return Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "the role '{}' does not allow this operation (it needs {})",
                caller.role.reference,
                wanted.join(" or ")
            ),
        )
        .into_response();
    }
    if let Err(response) = check_family(&state, &caller, &needs, template, req.uri().path()).await {
        return response;
    }
    req.extensions_mut().insert(caller);
    next.run(req).await
}

/// Lets any authenticated caller through (the OpenAPI document and its docs page).
pub(crate) async fn signed_in(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match caller_of(&state, req.method(), req.headers(), req.uri()).await {
        Ok(_) => next.run(req).await,
        Err(response) => response,
    }
}

/// Lets through callers whose role reads the settings (the metrics).
pub(crate) async fn may_read_settings(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let caller = match caller_of(&state, req.method(), req.headers(), req.uri()).await {
        Ok(c) => c,
        Err(response) => return response,
    };
    let need = Permission {
        resource: Resource::Settings,
        verb: Verb::Read,
    };
    if !caller.role.allows(need) {
        return Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "the role '{}' does not allow reading the metrics (it needs {need})",
                caller.role.reference
            ),
        )
        .into_response();
    }
    next.run(req).await
}

/// The channel families whose smart routings the caller may `verb`.
pub(crate) fn families(caller: &Caller, verb: Verb) -> Vec<ChannelFamily> {
    [ChannelFamily::Messaging, ChannelFamily::Email]
        .into_iter()
        .filter(|&family| {
            caller.role.allows(Permission {
                resource: Resource::Routings(family),
                verb,
            })
        })
        .collect()
}

/// Refuses a caller who may `verb` the smart routings of one family only, on a routing of the
/// other: 403 `forbidden`.
pub(crate) fn family_allowed(caller: &Caller, family: ChannelFamily, verb: Verb) -> ApiResult<()> {
    if families(caller, verb).contains(&family) {
        return Ok(());
    }
    let p = Permission {
        resource: Resource::Routings(family),
        verb,
    };
    Err(Problem::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        format!(
            "the role '{}' does not allow this on {} smart routings (it needs {p})",
            caller.role.reference,
            match family {
                ChannelFamily::Messaging => "messaging",
                ChannelFamily::Email => "email",
            }
        ),
    ))
}

/// An operation declared `routings:<verb>` on one routing — `/routings/{id}…`, a version
/// `/versions/{id}…`, a preview interaction `/interactions/{id}…` — is checked against that
/// routing's family here, once for every such operation; a caller with both families is not
/// slowed. A path whose routing is unknown goes on to the handler (which answers 404); lists and
/// creations check the family they are given in their handler.
async fn check_family(
    state: &AppState,
    caller: &Caller,
    needs: &[Need],
    template: &str,
    path: &str,
) -> Result<(), Response> {
    let verbs: Vec<Verb> = needs
        .iter()
        .filter_map(|n| match n {
            Need::Routings(v) => Some(*v),
            Need::Permission(_) => None,
        })
        .collect();
    // another need the caller meets decides alone
    if verbs.is_empty()
        || needs
            .iter()
            .any(|n| matches!(n, Need::Permission(_)) && caller.role.meets(*n))
        || verbs.iter().any(|v| families(caller, *v).len() == 2)
    {
        return Ok(());
    }
    let path = path.strip_prefix("/api/v1").unwrap_or(path);
    let template = template.strip_prefix("/api/v1").unwrap_or(template);
    let id = crate::public::param_of(template, path, "{id}").and_then(|s| Uuid::parse_str(&s).ok());
    let Some(id) = id else { return Ok(()) };
    let family = if template.starts_with("/routings/{id}") {
        state
            .maker
            .routing(id)
            .await
            .ok()
            .map(|v| v.routing.channel_family)
    } else if template.starts_with("/versions/{id}") {
        state.maker.version(id).await.ok().map(|v| v.channel_family)
    } else if template.starts_with("/interactions/{id}") {
        match state.conversations.routing_of(id).await {
            Ok(Some(routing)) => state
                .maker
                .routing(routing)
                .await
                .ok()
                .map(|v| v.routing.channel_family),
            _ => None,
        }
    } else {
        None
    };
    match family {
        // the first verb names the permission the refusal cites
        Some(f) if !verbs.iter().any(|v| families(caller, *v).contains(&f)) => {
            family_allowed(caller, f, verbs[0]).map_err(IntoResponse::into_response)
        }
        _ => Ok(()),
    }
}

fn forbidden_undeclared(path: &str, why: &str) -> Response {
    tracing::error!(
        path,
        why,
        "an operation without a readable permission was refused"
    );
    Problem::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        "this operation declares no permission this server can check",
    )
    .into_response()
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match parts.extensions.get::<Caller>() {
            Some(c) => Ok(c.clone()),
            None => caller_of(state, &parts.method, &parts.headers, &parts.uri).await,
        }
    }
}

// ----- API tokens -----

/// A new API token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    /// What the token is for (1 to 100 characters).
    pub name: String,
    /// The role it acts with: administrator, designer, publisher, supervisor, agent or viewer.
    pub role: String,
    /// When it stops working (RFC 3339, in the future); never when left out.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<jiff::Timestamp>,
}

/// An API token. `token` is shown only in the answer that creates it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenDto {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<jiff::Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<jiff::Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

fn token_dto(t: Token, token: Option<String>) -> TokenDto {
    TokenDto {
        id: t.id,
        name: t.name,
        role: t.role,
        expires_at: t.expires_at,
        revoked_at: t.revoked_at,
        created_at: t.created_at,
        token,
    }
}

/// A page of API tokens.
#[derive(Serialize, ToSchema)]
pub struct TokenPage {
    pub items: Vec<TokenDto>,
    pub next_after: Option<Uuid>,
}

/// Creates an API token for automation; the token is in this answer only (it is kept hashed).
#[utoipa::path(post, path = "/api-tokens", security(("token" = ["accounts:create"])), tag = "Access", request_body = TokenBody,
    responses((status = 201, body = TokenDto), (status = 409, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn create_token(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<TokenBody>,
) -> ApiResult<Response> {
    let (t, secret) = state
        .access
        .create_token(NewToken {
            name: body.name,
            role: body.role,
            expires_at: body.expires_at,
        })
        .await?;
    let mut response = (StatusCode::CREATED, Json(token_dto(t, Some(secret)))).into_response();
    response.extensions_mut().insert(Secrets(&["token"]));
    Ok(response)
}

/// API tokens, revoked ones included (never the tokens themselves).
#[utoipa::path(get, path = "/api-tokens", security(("token" = ["accounts:read"])), tag = "Access", params(PageQuery),
    responses((status = 200, body = TokenPage)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<PageQuery>,
) -> ApiResult<Json<TokenPage>> {
    let p = state
        .access
        .tokens(&page_request(q.limit, q.after)?)
        .await?;
    Ok(Json(TokenPage {
        items: p.items.into_iter().map(|t| token_dto(t, None)).collect(),
        next_after: p.next_after,
    }))
}

/// Revokes an API token: it stops working at once.
#[utoipa::path(delete, path = "/api-tokens/{id}", security(("token" = ["accounts:delete"])), tag = "Access", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ProblemBody)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<StatusCode> {
    state.access.revoke_token(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Whether the caller may act on `user` as an administrator of accounts or as that agent.
pub(crate) fn may_act_on_user(caller: &Caller, user: Uuid) -> bool {
    use flow::access::{Permission, Resource, Verb};
    caller.role.allows(Permission {
        resource: Resource::Accounts,
        verb: Verb::Edit,
    }) || caller.user() == Some(user)
}

// ----- preview links -----

/// How long a preview link works.
const PREVIEW_LINK_TTL: jiff::SignedDuration = jiff::SignedDuration::from_hours(1);

/// Signs preview links: a browser opening a preview page (and its WebSocket, which cannot
/// carry a header) shows `?ticket=<expiry>.<HMAC-SHA256 of version and expiry>`, issued to a
/// caller allowed to edit routings. The key is drawn at start: links end with the process.
#[derive(Clone)]
pub struct PreviewTickets {
    /// As long as SHA-256's block, HMAC's natural key size.
    key: [u8; 64],
}

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

impl Default for PreviewTickets {
    fn default() -> Self {
        Self::new()
    }
}

impl PreviewTickets {
    pub fn new() -> PreviewTickets {
        let mut key = [0u8; 64];
        for part in key.chunks_mut(16) {
            part.copy_from_slice(Uuid::new_v4().as_bytes());
        }
        PreviewTickets { key }
    }

    fn mac(&self, version: Uuid, expires_ms: i64) -> HmacSha256 {
        use hmac::{KeyInit, Mac};
        let mut mac = HmacSha256::new(&self.key.into());
        mac.update(version.as_bytes());
        mac.update(&expires_ms.to_be_bytes());
        mac
    }

    /// A ticket for `version`, and when it ends.
    pub fn issue(&self, version: Uuid, now: jiff::Timestamp) -> (String, jiff::Timestamp) {
        use hmac::Mac;
        let expires = now.saturating_add(PREVIEW_LINK_TTL).unwrap_or(now);
        let ms = expires.as_millisecond();
        let tag: String = self
            .mac(version, ms)
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        (format!("{ms}.{tag}"), expires)
    }

    /// Whether `ticket` opens `version` at `now` (compared in constant time).
    pub fn check(&self, version: Uuid, ticket: &str, now: jiff::Timestamp) -> bool {
        use hmac::Mac;
        let Some((ms, tag)) = ticket.split_once('.') else {
            return false;
        };
        let (Ok(ms), Some(tag)) = (ms.parse::<i64>(), hex(tag)) else {
            return false;
        };
        ms > now.as_millisecond() && self.mac(version, ms).verify_slice(&tag).is_ok()
    }
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// A link to the preview page of a version.
#[derive(Serialize, ToSchema)]
pub struct PreviewLink {
    /// The page, to open in a browser (relative to the server).
    pub url: String,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: jiff::Timestamp,
}

/// A link to the preview chat page of a version, valid for an hour: the page converses with the
/// version (a development one too) without an entry point.
#[utoipa::path(post, path = "/versions/{id}/preview-link", security(("token" = ["routings:edit"])), tag = "Interactions", params(("id" = Uuid, Path)),
    responses((status = 201, body = PreviewLink), (status = 404, body = ProblemBody)))]
pub async fn preview_link(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<(StatusCode, Json<PreviewLink>)> {
    state.maker.version(id).await?;
    let (ticket, expires_at) = state.previews.issue(id, state.maker.clock().now());
    Ok((
        StatusCode::CREATED,
        Json(PreviewLink {
            url: format!("/chat/preview/{id}?ticket={ticket}"),
            expires_at,
        }),
    ))
}

// ----- sessions -----

/// The client's address, when the server knows it (it is served with connection info).
pub struct Peer(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// Signing in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    pub email: String,
    pub password: String,
}

/// An open session: the cookie is set; send `csrf_token` as `X-CSRF-Token` on every request
/// that changes something.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionDto {
    pub account: AccountDto,
    pub csrf_token: String,
    /// What the account's role allows (`resource:verb`): what a client offers.
    pub permissions: Vec<String>,
}

fn permissions_of(state: &AppState, role: &str) -> Vec<String> {
    state
        .access
        .role(role)
        .map(|r| r.permissions.iter().map(ToString::to_string).collect())
        .unwrap_or_default()
}

/// The session of the request's cookie, as `POST /auth/login` answered it (a page loaded again
/// finds its session and CSRF token here); 204 without a session (none, or one that ended).
#[utoipa::path(get, path = "/auth/session", security(()), tag = "Access",
    responses((status = 200, body = SessionDto), (status = 204, description = "No session: sign in (POST /api/v1/auth/login)")))]
pub async fn current_session(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let none = || Ok(StatusCode::NO_CONTENT.into_response());
    let Some(cookie) = session_cookie(&headers) else {
        return none();
    };
    let Some((caller, csrf)) = state.access.session(cookie).await? else {
        return none();
    };
    let runtime::access::Credential::Session(id) = caller.credential else {
        return none();
    };
    let account = state.access.account(id).await?;
    let permissions = caller
        .role
        .permissions
        .iter()
        .map(ToString::to_string)
        .collect();
    let mut response = Json(SessionDto {
        account: account_dto(account),
        csrf_token: csrf,
        permissions,
    })
    .into_response();
    response.extensions_mut().insert(Secrets(&["csrf_token"]));
    Ok(response)
}

fn cookie(value: &str, max_age: i64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={max_age}"
    ))
    .unwrap_or(HeaderValue::from_static("switchyard_session=; Max-Age=0"))
}

/// Signs in: sets a session cookie (`HttpOnly`, `Secure`, `SameSite=Strict`) that lasts 30
/// minutes without a request and 12 hours at most. After 10 wrong passwords in a minute for an
/// email or from an address, answers 429 until the minute has passed, whether the account
/// exists or not.
#[utoipa::path(post, path = "/auth/login", security(()), tag = "Access", request_body = LoginBody,
    responses((status = 200, body = SessionDto), (status = 401, body = ProblemBody), (status = 429, body = ProblemBody)))]
pub async fn login(
    State(state): State<AppState>,
    Peer(peer): Peer,
    JsonBody(body): JsonBody<LoginBody>,
) -> ApiResult<Response> {
    use runtime::access::LoginError;
    match state.access.login(&body.email, &body.password, peer).await {
        Ok(opened) => {
            let max_age = runtime::access::account_limits::SESSION_ABSOLUTE.as_secs();
            let permissions = permissions_of(&state, &opened.account.role);
            let mut response = Json(SessionDto {
                account: account_dto(opened.account),
                csrf_token: opened.csrf,
                permissions,
            })
            .into_response();
            response
                .headers_mut()
                .insert(header::SET_COOKIE, cookie(&opened.secret, max_age));
            response.extensions_mut().insert(Secrets(&["csrf_token"]));
            Ok(response)
        }
        Err(LoginError::Invalid) => Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "wrong email or password",
        )),
        Err(LoginError::Limited {
            retry_after_seconds,
        }) => {
            let mut r = Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                format!("too many wrong passwords: try again in {retry_after_seconds} s"),
            )
            .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
            Ok(r)
        }
        Err(LoginError::Failed(e)) => Err(e.into()),
    }
}

/// Signs out: ends the session and clears its cookie.
#[utoipa::path(post, path = "/auth/logout", security(()), tag = "Access",
    responses((status = 204)))]
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    if let Some(secret) = session_cookie(&headers) {
        state.access.logout(secret).await?;
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut().insert(header::SET_COOKIE, cookie("", 0));
    Ok(r)
}

// ----- accounts -----

/// An account (never its password).
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountDto {
    pub id: Uuid,
    /// `None` for an agent who signs in only with their token.
    pub email: Option<String>,
    pub name: String,
    pub role: String,
    /// `active` or `disabled`.
    pub status: String,
    pub revision: u64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: jiff::Timestamp,
}

fn account_dto(a: runtime::access::Account) -> AccountDto {
    AccountDto {
        id: a.id,
        email: a.email,
        name: a.name,
        role: a.role,
        status: a.status,
        revision: a.revision,
        created_at: a.created_at,
        updated_at: a.updated_at,
    }
}

/// Fields of an account (all optional on update). The password is write-only: at least 12
/// characters, not a common one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountBody {
    pub email: Option<String>,
    pub name: Option<String>,
    pub password: Option<String>,
    /// administrator, designer, publisher, supervisor, viewer, or a custom role's reference
    /// (agents are created with `POST /users` and keep the agent role).
    pub role: Option<String>,
    /// `active` or `disabled`.
    pub status: Option<String>,
}

impl From<AccountBody> for runtime::access::AccountFields {
    fn from(b: AccountBody) -> Self {
        runtime::access::AccountFields {
            email: b.email,
            name: b.name,
            password: b.password,
            role: b.role,
            status: b.status,
        }
    }
}

/// A page of accounts.
#[derive(Serialize, ToSchema)]
pub struct AccountPage {
    pub items: Vec<AccountDto>,
    pub next_after: Option<Uuid>,
}

/// Creates an account.
#[utoipa::path(post, path = "/accounts", security(("token" = ["accounts:create"])), tag = "Access", request_body = AccountBody,
    responses((status = 201, body = AccountDto), (status = 409, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn create_account(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<AccountBody>,
) -> ApiResult<(StatusCode, Json<AccountDto>)> {
    let a = state.access.create_account(body.into()).await?;
    Ok((StatusCode::CREATED, Json(account_dto(a))))
}

/// Accounts.
#[utoipa::path(get, path = "/accounts", security(("token" = ["accounts:read"])), tag = "Access", params(PageQuery),
    responses((status = 200, body = AccountPage)))]
pub async fn list_accounts(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<PageQuery>,
) -> ApiResult<Json<AccountPage>> {
    let p = state
        .access
        .accounts(&page_request(q.limit, q.after)?)
        .await?;
    Ok(Json(AccountPage {
        items: p.items.into_iter().map(account_dto).collect(),
        next_after: p.next_after,
    }))
}

/// An account.
#[utoipa::path(get, path = "/accounts/{id}", security(("token" = ["accounts:read"])), tag = "Access", params(("id" = Uuid, Path)),
    responses((status = 200, body = AccountDto), (status = 404, body = ProblemBody)))]
pub async fn get_account(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Json<AccountDto>> {
    Ok(Json(account_dto(state.access.account(id).await?)))
}

/// Changes an account; a new password, role or status ends its sessions. Honours `If-Match`.
#[utoipa::path(patch, path = "/accounts/{id}", security(("token" = ["accounts:edit"])), tag = "Access", params(("If-Match" = Option<String>, Header, description = "The revision the change expects (`\"3\"`, as the ETag gave it): 412 `precondition_failed` if it is no longer the current one; none: no check"), ("id" = Uuid, Path)), request_body = AccountBody,
    responses((status = 200, body = AccountDto), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody), (status = 412, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn update_account(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    crate::problem::IfMatch(if_match): crate::problem::IfMatch,
    JsonBody(body): JsonBody<AccountBody>,
) -> ApiResult<Json<AccountDto>> {
    let a = state
        .access
        .update_account(id, body.into(), if_match)
        .await?;
    Ok(Json(account_dto(a)))
}

/// Deletes an account; its sessions end. An agent's account goes with the agent (as
/// `DELETE /users/{id}`: their offers and conversations go back to their queues).
#[utoipa::path(delete, path = "/accounts/{id}", security(("token" = ["accounts:delete"])), tag = "Access", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ProblemBody)))]
pub async fn delete_account(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<StatusCode> {
    let account = state.access.account(id).await?;
    match state.conversations.distribution() {
        Some(d) if account.role == runtime::access::AGENT_ROLE && d.user(id).await.is_ok() => {
            let events = d.delete_user(id).await?;
            state.conversations.distribution_events(events).await?;
            state.access.end_sessions_of(id).await?;
        }
        _ => state.access.delete_account(id).await?,
    }
    Ok(StatusCode::NO_CONTENT)
}

// ----- roles -----

/// A role: built-in (never changed) or custom.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleDto {
    pub reference: String,
    pub name: String,
    /// `resource:verb`.
    pub permissions: Vec<String>,
    pub built_in: bool,
    /// Custom roles only.
    pub revision: Option<u64>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub created_at: Option<jiff::Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub updated_at: Option<jiff::Timestamp>,
}

fn role_dto(r: runtime::access::CustomRole) -> RoleDto {
    RoleDto {
        reference: r.role.reference,
        name: r.role.name,
        permissions: r.role.permissions.iter().map(ToString::to_string).collect(),
        built_in: r.revision.is_none(),
        revision: r.revision,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

fn role_response(status: StatusCode, r: runtime::access::CustomRole) -> Response {
    let mut response = (status, Json(role_dto(r.clone()))).into_response();
    if let Some(rev) = r.revision
        && let Ok(v) = HeaderValue::from_str(&format!("\"{rev}\""))
    {
        response.headers_mut().insert(header::ETAG, v);
    }
    response
}

/// Every role, and every permission a custom role may have.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleList {
    pub items: Vec<RoleDto>,
    /// Every permission there is (`resource:verb`).
    pub permissions: Vec<String>,
}

/// Fields of a custom role (all optional on update; the reference never changes).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    pub reference: Option<String>,
    pub name: Option<String>,
    /// `resource:verb`, e.g. `routings.messaging:read`.
    pub permissions: Option<Vec<String>>,
}

impl From<RoleBody> for runtime::access::RoleFields {
    fn from(b: RoleBody) -> Self {
        runtime::access::RoleFields {
            reference: b.reference,
            name: b.name,
            permissions: b.permissions,
        }
    }
}

/// The roles: the six built-in ones, then the custom ones.
#[utoipa::path(get, path = "/roles", security(("token" = ["accounts:read"])), tag = "Access",
    responses((status = 200, body = RoleList)))]
pub async fn list_roles(State(state): State<AppState>) -> Json<RoleList> {
    Json(RoleList {
        items: state.access.roles().into_iter().map(role_dto).collect(),
        permissions: flow::access::Permission::all()
            .map(|p| p.to_string())
            .collect(),
    })
}

/// Creates a custom role.
#[utoipa::path(post, path = "/roles", security(("token" = ["accounts:create"])), tag = "Access", request_body = RoleBody,
    responses((status = 201, body = RoleDto), (status = 409, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn create_role(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RoleBody>,
) -> ApiResult<Response> {
    let r = state.access.create_role(body.into()).await?;
    Ok(role_response(StatusCode::CREATED, r))
}

/// A role.
#[utoipa::path(get, path = "/roles/{reference}", security(("token" = ["accounts:read"])), tag = "Access", params(("reference" = String, Path)),
    responses((status = 200, body = RoleDto), (status = 404, body = ProblemBody)))]
pub async fn get_role(
    State(state): State<AppState>,
    PathParams(reference): PathParams<String>,
) -> ApiResult<Response> {
    Ok(role_response(
        StatusCode::OK,
        state.access.role_shown(&reference)?,
    ))
}

/// Changes a custom role's name or permissions; everyone with it acts with the new ones at
/// once. Honours `If-Match`.
#[utoipa::path(patch, path = "/roles/{reference}", security(("token" = ["accounts:edit"])), tag = "Access", params(("If-Match" = Option<String>, Header, description = "The revision the change expects (`\"3\"`, as the ETag gave it): 412 `precondition_failed` if it is no longer the current one; none: no check"), ("reference" = String, Path)), request_body = RoleBody,
    responses((status = 200, body = RoleDto), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody), (status = 412, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn update_role(
    State(state): State<AppState>,
    PathParams(reference): PathParams<String>,
    crate::problem::IfMatch(if_match): crate::problem::IfMatch,
    JsonBody(body): JsonBody<RoleBody>,
) -> ApiResult<Response> {
    let r = state
        .access
        .update_role(&reference, body.into(), if_match)
        .await?;
    Ok(role_response(StatusCode::OK, r))
}

/// Deletes a custom role that no account and no live API token has.
#[utoipa::path(delete, path = "/roles/{reference}", security(("token" = ["accounts:delete"])), tag = "Access", params(("reference" = String, Path)),
    responses((status = 204), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody)))]
pub async fn delete_role(
    State(state): State<AppState>,
    PathParams(reference): PathParams<String>,
) -> ApiResult<StatusCode> {
    state.access.delete_role(&reference).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- audit -----

/// Whether an operation's successful calls go to the audit log: every change made through the
/// administration — not reads, not the agents' own work (their conversations are in each
/// interaction's history), not the messages of a preview.
fn audited(method: &Method, path: &str) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
        && !path.starts_with("/agent/")
        && !path.ends_with("/messages")
        && !path.ends_with("/outcome")
        && path != "/routings/validate"
        && path != "/versions/{id}/preview-link"
}

fn revision_in(headers: &HeaderMap, name: header::HeaderName) -> Option<u64> {
    headers
        .get(name)?
        .to_str()
        .ok()?
        .trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .ok()
}

/// Records a successful change in the audit log (after [`authorize`], which put the caller in
/// the request): the operation, its target (the path's first id, or the new resource's id), the
/// revision the caller expected (`If-Match`) and the one it made (`ETag`). The answer waits for
/// the record; if the record fails, the change is logged as an error (it happened).
pub(crate) async fn audit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(matched) = req.extensions().get::<MatchedPath>() else {
        return next.run(req).await;
    };
    let template = matched.as_str().to_owned();
    let path = template
        .strip_prefix("/api/v1")
        .unwrap_or(&template)
        .to_owned();
    let method = req.method().clone();
    let caller = req.extensions().get::<Caller>().cloned();
    let (Some(caller), true) = (caller, audited(&method, &path)) else {
        return next.run(req).await;
    };
    let action = state
        .requirements
        .operation(&method, &path)
        .unwrap_or_default()
        .to_owned();
    // the first parameter of the path names the resource changed
    let first = template
        .split('/')
        .find(|t| t.starts_with('{'))
        .unwrap_or_default();
    let target_in_path = (!first.is_empty())
        .then(|| crate::public::param_of(&template, req.uri().path(), first))
        .flatten();
    let before = revision_in(req.headers(), header::IF_MATCH);
    let real_path = req
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map_or_else(|| req.uri().path().to_owned(), |o| o.path().to_owned());
    let response = next.run(req).await;
    if !response.status().is_success() {
        return response;
    }
    let after = revision_in(response.headers(), header::ETAG);
    let (response, target) = match target_in_path {
        Some(t) => (response, Some(t)),
        None if response.status() == StatusCode::CREATED => {
            // the new resource's id, from the answer
            let (parts, body) = response.into_parts();
            // as large as the idempotency layer keeps: the answer must not be cut
            let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024 * 1024).await else {
                tracing::error!(path = %real_path, "an answer too large to read its id was not audited");
                return Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "the answer could not be recorded",
                )
                .into_response();
            };
            let id = serde_json::from_slice::<Value>(&bytes).ok().and_then(|v| {
                v.get("id")
                    .or_else(|| v.pointer("/routing/id"))
                    // a role is named by its reference
                    .or_else(|| v.get("reference"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            });
            (
                Response::from_parts(parts, axum::body::Body::from(bytes)),
                id,
            )
        }
        None => (response, None),
    };
    let change = runtime::access::Change {
        action,
        method: method.to_string(),
        path: real_path,
        target,
        status: response.status().as_u16(),
        revision_before: before,
        revision_after: after,
    };
    if let Err(e) = state.access.record(&caller, change).await {
        tracing::error!(error = %e, "a change could not be written to the audit log");
    }
    response
}

/// Filters of the audit log.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// `account:<id>`, `token:<id>` or `bootstrap`.
    pub actor: Option<String>,
    /// An operation id (`put_in_production`, `create_account`, …).
    pub action: Option<String>,
    /// The id of the resource changed.
    pub target: Option<String>,
    /// From this time (RFC 3339), included.
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<jiff::Timestamp>,
    /// Until this time, excluded.
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<jiff::Timestamp>,
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
    pub after: Option<Uuid>,
}

/// An entry of the audit log.
#[derive(Serialize, ToSchema)]
pub struct AuditEntryDto {
    pub id: Uuid,
    #[schema(value_type = String, format = DateTime)]
    pub at: jiff::Timestamp,
    pub actor: String,
    pub action: String,
    pub method: String,
    pub path: String,
    pub target: Option<String>,
    pub status: u16,
    pub revision_before: Option<u64>,
    pub revision_after: Option<u64>,
}

/// A page of the audit log.
#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntryDto>,
    pub next_after: Option<Uuid>,
}

/// The audit log: every change made through the administration, in time order (never a
/// secret: no bodies are kept).
#[utoipa::path(get, path = "/audit", security(("token" = ["audit:read"])), tag = "Access", params(AuditQuery),
    responses((status = 200, body = AuditPage)))]
pub async fn list_audit(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    let filter = store::AuditFilter {
        actor: q.actor,
        action: q.action,
        target: q.target,
        since: q.since,
        until: q.until,
    };
    let p = state
        .access
        .audit(&filter, &page_request(q.limit, q.after)?)
        .await?;
    Ok(Json(AuditPage {
        items: p
            .items
            .into_iter()
            .map(|e| AuditEntryDto {
                id: e.id,
                at: e.at,
                actor: e.actor,
                action: e.action,
                method: e.method,
                path: e.path,
                target: e.target,
                status: e.status,
                revision_before: e.revision_before,
                revision_after: e.revision_after,
            })
            .collect(),
        next_after: p.next_after,
    }))
}
