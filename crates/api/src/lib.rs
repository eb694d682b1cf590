//! The HTTP API: the Maker API under `/api/v1`, its OpenAPI 3.1 document and an offline docs
//! page, problem+json errors, health, readiness and Prometheus metrics.

mod agents;
mod auth;
mod campaigns;
mod cases;
mod conversations;
mod customers;
mod database_rows;
pub mod dto;
mod files;
mod invoices;
mod objects;
pub mod problem;
mod public;
mod routings;
mod schema;
mod surveys;
mod tasks;
pub mod ui;
mod versions;
mod webchat;
mod webhooks;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use runtime::Maker;
use sha2::{Digest, Sha256};
use store::StoredResponse;
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

pub use problem::Problem;
pub use public::{AllowedHosts, Rate};

/// Limits of the HTTP layer.
#[derive(Clone, Debug)]
pub struct HttpLimits {
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Longest time a request may take.
    pub request_timeout: Duration,
    /// Requests to the public surface from one client address.
    pub public_per_address: Rate,
    /// Requests to the public surface of one entry point.
    pub public_per_entry_point: Rate,
    /// `Host` names the administration answers (`None`: any).
    pub allowed_hosts: AllowedHosts,
    /// The browser UI's files, served at `/` (none: `/` says the UI was not built in).
    pub ui: ui::Assets,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_body_bytes: 8 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            public_per_address: Rate::per_second(50),
            public_per_entry_point: Rate::per_second(500),
            allowed_hosts: AllowedHosts(Some(
                ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec(),
            )),
            ui: &[],
        }
    }
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub maker: Arc<Maker>,
    pub conversations: Arc<runtime::Conversations>,
    pub access: Arc<runtime::access::Access>,
    requirements: Arc<auth::Requirements>,
    previews: auth::PreviewTickets,
    public: Arc<public::PublicLimits>,
    metrics: PrometheusHandle,
    /// Shared, not copied: the state is cloned for every request.
    limits: Arc<HttpLimits>,
}

/// The process-wide Prometheus recorder (installed once, shared by every server in the process).
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!(
                    "a metrics recorder was already installed; /metrics shows only this one's data"
                );
            }
            handle
        })
        .clone()
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Switchyard", description = "Smart-routing engine for contact centres: the Maker API (smart routings, versions, action trees, catalogue)."),
    servers((url = "/api/v1")),
    components(schemas(problem::ProblemBody)),
    tags(
        (name = "Smart routings", description = "Routings, copy, import and export"),
        (name = "Versions", description = "Versions and their lifecycle"),
        (name = "Action trees", description = "Editing a development version's actions and links; honours If-Match"),
        (name = "Catalogue", description = "Every action type"),
        (name = "Entry points", description = "Channel accounts bound to routings"),
        (name = "Business objects", description = "Checkpoints, values tables, calendars and declared variables that actions refer to"),
        (name = "Cases", description = "Case types and cases: what a contact centre follows for a customer across interactions (the case actions link, create and change them); CRM directories and scenarios, whose cards are the rows of custom databases"),
        (name = "Invoices", description = "What customers owe: invoices and their CSV import (Search for invoice finds them, Pay an invoice has them paid)"),
        (name = "Surveys", description = "Surveys routings attach to interactions, conducted when they close, and the customers' answers"),
        (name = "Campaigns", description = "WhatsApp, voice and SMS campaigns and the targets routings insert into them (a dialler or sender outside Switchyard works through them)"),
        (name = "Customers", description = "The people behind interactions, by channel and address"),
        (name = "Distribution", description = "Users (agents), groups (queues) and queue groups"),
        (name = "Agent", description = "What an agent does: presence, offers, conversations (Bearer token)"),
        (name = "Channels", description = "Inbound messages of the HTTP channel"),
        (name = "Interactions", description = "Conversations: preview, history, events"),
        (name = "Access", description = "API tokens")
    )
)]
struct ApiDoc;

/// The Maker API routes and their OpenAPI document.
fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(routings::list, routings::create))
        .routes(routes!(routings::get, routings::update, routings::delete))
        .routes(routes!(routings::copy))
        .routes(routes!(routings::versions, versions::create))
        .routes(routes!(routings::export))
        .routes(routes!(routings::import))
        .routes(routes!(routings::validate))
        .routes(routes!(versions::get, versions::update, versions::delete))
        .routes(routes!(versions::duplicate))
        .routes(routes!(versions::put_in_production))
        .routes(routes!(versions::put_in_test))
        .routes(routes!(versions::remove_from_test))
        .routes(routes!(versions::schedule))
        .routes(routes!(versions::unschedule))
        .routes(routes!(versions::create_action))
        .routes(routes!(versions::update_action, versions::delete_action))
        .routes(routes!(versions::create_link))
        .routes(routes!(versions::update_link, versions::delete_link))
        .routes(routes!(versions::replace_tree))
        .routes(routes!(
            conversations::create_entry_point,
            conversations::list_entry_points
        ))
        .routes(routes!(
            conversations::get_entry_point,
            conversations::update_entry_point,
            conversations::delete_entry_point
        ))
        .routes(routes!(conversations::imap_status))
        .routes(routes!(conversations::http_inbound))
        .routes(routes!(conversations::preview))
        .routes(routes!(conversations::preview_message))
        .routes(routes!(conversations::preview_outcome))
        .routes(routes!(conversations::close))
        .routes(routes!(conversations::retry))
        .routes(routes!(conversations::list))
        .routes(routes!(conversations::get))
        .routes(routes!(conversations::history))
        .routes(routes!(
            objects::checkpoints::list,
            objects::checkpoints::create
        ))
        .routes(routes!(
            objects::checkpoints::get,
            objects::checkpoints::update,
            objects::checkpoints::delete
        ))
        .routes(routes!(
            objects::value_tables::list,
            objects::value_tables::create
        ))
        .routes(routes!(
            objects::value_tables::get,
            objects::value_tables::update,
            objects::value_tables::delete
        ))
        .routes(routes!(
            objects::calendars::list,
            objects::calendars::create
        ))
        .routes(routes!(
            objects::calendars::get,
            objects::calendars::update,
            objects::calendars::delete
        ))
        .routes(routes!(
            objects::sms_templates::list,
            objects::sms_templates::create
        ))
        .routes(routes!(
            objects::sms_templates::get,
            objects::sms_templates::update,
            objects::sms_templates::delete
        ))
        .routes(routes!(
            objects::email_templates::list,
            objects::email_templates::create
        ))
        .routes(routes!(
            objects::email_templates::get,
            objects::email_templates::update,
            objects::email_templates::delete
        ))
        .routes(routes!(objects::object_kinds))
        .routes(routes!(files::list_files, files::create_file))
        .routes(routes!(files::get_file, files::delete_file))
        .routes(routes!(files::file_content))
        .routes(routes!(
            objects::variables::list,
            objects::variables::create
        ))
        .routes(routes!(
            objects::variables::get,
            objects::variables::update,
            objects::variables::delete
        ))
        .routes(routes!(
            objects::web_services::list,
            objects::web_services::create
        ))
        .routes(routes!(
            objects::databases::list,
            objects::databases::create
        ))
        .routes(routes!(
            objects::databases::get,
            objects::databases::update,
            objects::databases::delete
        ))
        .routes(routes!(
            objects::case_types::list,
            objects::case_types::create
        ))
        .routes(routes!(
            objects::payment_modules::list,
            objects::payment_modules::create
        ))
        .routes(routes!(
            objects::payment_modules::get,
            objects::payment_modules::update,
            objects::payment_modules::delete
        ))
        .routes(routes!(
            objects::case_types::get,
            objects::case_types::update,
            objects::case_types::delete
        ))
        .routes(routes!(cases::list, cases::create))
        .routes(routes!(cases::get, cases::update, cases::delete))
        .routes(routes!(cases::interactions))
        .routes(routes!(invoices::list, invoices::create))
        .routes(routes!(invoices::import))
        .routes(routes!(invoices::payments))
        .routes(routes!(campaigns::list))
        .routes(routes!(
            objects::crm_directories::list,
            objects::crm_directories::create
        ))
        .routes(routes!(
            objects::crm_directories::get,
            objects::crm_directories::update,
            objects::crm_directories::delete
        ))
        .routes(routes!(
            objects::crm_scenarios::list,
            objects::crm_scenarios::create
        ))
        .routes(routes!(
            objects::crm_scenarios::get,
            objects::crm_scenarios::update,
            objects::crm_scenarios::delete
        ))
        .routes(routes!(customers::cards))
        .routes(routes!(tasks::list))
        .routes(routes!(tasks::get, tasks::update, tasks::delete))
        .routes(routes!(campaigns::export))
        .routes(routes!(
            objects::whatsapp_campaigns::list,
            objects::whatsapp_campaigns::create
        ))
        .routes(routes!(
            objects::whatsapp_campaigns::get,
            objects::whatsapp_campaigns::update,
            objects::whatsapp_campaigns::delete
        ))
        .routes(routes!(
            objects::voice_campaigns::list,
            objects::voice_campaigns::create
        ))
        .routes(routes!(
            objects::voice_campaigns::get,
            objects::voice_campaigns::update,
            objects::voice_campaigns::delete
        ))
        .routes(routes!(
            objects::sms_campaigns::list,
            objects::sms_campaigns::create
        ))
        .routes(routes!(
            objects::sms_campaigns::get,
            objects::sms_campaigns::update,
            objects::sms_campaigns::delete
        ))
        .routes(routes!(objects::surveys::list, objects::surveys::create))
        .routes(routes!(
            objects::surveys::get,
            objects::surveys::update,
            objects::surveys::delete
        ))
        .routes(routes!(surveys::list))
        .routes(routes!(surveys::export))
        .routes(routes!(invoices::payment))
        .routes(routes!(invoices::get, invoices::update, invoices::delete))
        .routes(routes!(database_rows::list, database_rows::create))
        .routes(routes!(database_rows::import))
        .routes(routes!(database_rows::export))
        .routes(routes!(
            database_rows::get,
            database_rows::update,
            database_rows::delete
        ))
        .routes(routes!(objects::try_web_service))
        .routes(routes!(objects::web_service_calls))
        .routes(routes!(
            objects::web_services::get,
            objects::web_services::update,
            objects::web_services::delete
        ))
        .routes(routes!(objects::groups::list, objects::groups::create))
        .routes(routes!(
            objects::groups::get,
            objects::groups::update,
            objects::groups::delete
        ))
        .routes(routes!(
            objects::queue_groups::list,
            objects::queue_groups::create
        ))
        .routes(routes!(
            objects::queue_groups::get,
            objects::queue_groups::update,
            objects::queue_groups::delete
        ))
        .routes(routes!(agents::list_users, agents::create_user))
        .routes(routes!(
            agents::get_user,
            agents::update_user,
            agents::delete_user
        ))
        .routes(routes!(agents::renew_token))
        .routes(routes!(agents::group_status))
        .routes(routes!(agents::me))
        .routes(routes!(agents::set_presence))
        .routes(routes!(agents::conversations))
        .routes(routes!(agents::conversation))
        .routes(routes!(agents::customer_card))
        .routes(routes!(agents::accept))
        .routes(routes!(agents::decline))
        .routes(routes!(agents::close))
        .routes(routes!(agents::release))
        .routes(routes!(agents::send))
        .routes(routes!(agents::transfer))
        .routes(routes!(agents::transfer_groups))
        .routes(routes!(agents::transfer_users))
        .routes(routes!(agents::feed))
        .routes(routes!(customers::list, customers::create))
        .routes(routes!(
            customers::get,
            customers::update,
            customers::delete
        ))
        .routes(routes!(conversations::get_upload))
        .routes(routes!(auth::create_token, auth::list_tokens))
        .routes(routes!(auth::revoke_token))
        .routes(routes!(auth::preview_link))
        .routes(routes!(auth::list_audit))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::current_session))
        .routes(routes!(auth::create_account, auth::list_accounts))
        .routes(routes!(
            auth::get_account,
            auth::update_account,
            auth::delete_account
        ))
        .routes(routes!(auth::list_roles, auth::create_role))
        .routes(routes!(
            auth::get_role,
            auth::update_role,
            auth::delete_role
        ))
        .routes(routes!(versions::diff))
        .routes(routes!(versions::catalogue))
        .routes(routes!(versions::action_type))
        .routes(routes!(versions::system_variables))
        .split_for_parts()
}

/// The OpenAPI document of the API.
pub fn openapi() -> serde_json::Value {
    exact(api().1)
}

/// What every operation may answer besides its own responses, from the layers around the
/// handlers: `(status, when it applies, description)`.
const GENERIC_PROBLEMS: &[(&str, Applies, &str)] = &[
    (
        "500",
        Applies::Always,
        "internal_error: a storage failure or a handler panic",
    ),
    (
        "503",
        Applies::Always,
        "request_timeout / busy / not_recorded: try again",
    ),
    (
        "400",
        Applies::IfMatch,
        "invalid_if_match: If-Match is not a revision such as \"3\"",
    ),
    (
        "404",
        Applies::PathParams,
        "not_found: no such resource, or an identifier that does not parse",
    ),
    (
        "400",
        Applies::Query,
        "invalid_query: a query parameter that does not parse or is out of bounds",
    ),
    (
        "400",
        Applies::JsonBody,
        "malformed_json: the body is not JSON",
    ),
    (
        "413",
        Applies::Body,
        "body_too_large: the body is larger than this server accepts",
    ),
    (
        "415",
        Applies::JsonBody,
        "unsupported_media_type: the body is not application/json",
    ),
    (
        "422",
        Applies::JsonBody,
        "invalid_body: unknown or invalid fields",
    ),
    (
        "400",
        Applies::Post,
        "invalid_idempotency_key: an Idempotency-Key header that is empty or too long",
    ),
    (
        "401",
        Applies::Secured,
        "unauthorized: no token, or one that is unknown, revoked or expired (Authorization: Bearer <token>)",
    ),
    (
        "403",
        Applies::Secured,
        "forbidden: the caller's role does not allow this operation; csrf_failed: a session's request that changes something without its X-CSRF-Token",
    ),
    (
        "429",
        Applies::Public,
        "rate_limited: too many requests from this address or for this entry point (see Retry-After)",
    ),
    (
        "421",
        Applies::Always,
        "host_not_allowed: the Host header is not one the administration answers (allowed_hosts)",
    ),
    (
        "422",
        Applies::Post,
        "idempotency_key_reused: the key was used for another request",
    ),
];

#[derive(Clone, Copy, PartialEq)]
enum Applies {
    Always,
    /// Operations that take `If-Match`.
    IfMatch,
    PathParams,
    Query,
    Body,
    JsonBody,
    Post,
    /// Operations that need a permission (all but the public surface).
    Secured,
    /// The public surface (rate-limited).
    Public,
}

/// Makes the document say exactly what the server does: error responses are
/// `application/problem+json` (the handlers' `ProblemBody`), every operation lists the
/// problems the layers around it may answer, and list bounds are in the schema.
fn exact(doc: utoipa::openapi::OpenApi) -> serde_json::Value {
    use serde_json::{Value, json};
    // JSON, not utoipa's model: the model has no room for some of the rules (`not`, `oneOf`
    // beside properties)
    let Ok(mut v) = serde_json::to_value(&doc) else {
        return Value::Null;
    };
    let problem = json!({"$ref": "#/components/schemas/Problem"});
    if let Some(Value::Object(paths)) = v.get_mut("paths") {
        for item in paths.values_mut() {
            let Value::Object(item) = item else { continue };
            for (method, op) in item.iter_mut() {
                let Value::Object(op) = op else { continue };
                let public = op.get("security") == Some(&json!([{}]));
                let secured = !public;
                let params: Vec<Value> = op
                    .get("parameters")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let has = |place: &str| {
                    params
                        .iter()
                        .any(|p| p.get("in").and_then(Value::as_str) == Some(place))
                };
                let body = op.get("requestBody").cloned();
                let json_body = body
                    .as_ref()
                    .and_then(|b| b.get("content"))
                    .is_some_and(|c| c.get("application/json").is_some());
                let applies = |a: Applies| match a {
                    Applies::Always => true,
                    Applies::PathParams => has("path"),
                    Applies::Query => has("query"),
                    Applies::Body => body.is_some(),
                    Applies::JsonBody => json_body,
                    Applies::Post => method == "post",
                    Applies::IfMatch => params
                        .iter()
                        .any(|p| p.get("name").and_then(Value::as_str) == Some("If-Match")),
                    Applies::Secured => secured,
                    Applies::Public => public,
                };
                // list bounds
                if let Some(Value::Array(ps)) = op.get_mut("parameters") {
                    for p in ps.iter_mut() {
                        if p.get("name").and_then(Value::as_str) == Some("limit")
                            && let Some(Value::Object(schema)) = p.get_mut("schema")
                        {
                            schema.insert("minimum".into(), json!(1));
                            schema.insert("maximum".into(), json!(problem::MAX_PAGE));
                        }
                        // the revision forms IfMatch reads
                        if p.get("name").and_then(Value::as_str) == Some("If-Match")
                            && let Some(Value::Object(schema)) = p.get_mut("schema")
                        {
                            schema
                                .insert("pattern".into(), json!(r#"^(\*|(W/)?"?[0-9]{1,19}"?)$"#));
                        }
                    }
                }
                let responses = op.entry("responses").or_insert_with(|| json!({}));
                let Value::Object(responses) = responses else {
                    continue;
                };
                // problems are problem+json; every response has a description
                for (status, r) in responses.iter_mut() {
                    if let Value::Object(r) = r {
                        r.entry("description")
                            .or_insert_with(|| json!(format!("{status}")));
                    }
                    if let Some(Value::Object(content)) = r.get_mut("content")
                        && content
                            .get("application/json")
                            .and_then(|c| c.get("schema"))
                            == Some(&problem)
                        && let Some(c) = content.remove("application/json")
                    {
                        content.insert("application/problem+json".into(), c);
                    }
                }
                for (status, when, description) in GENERIC_PROBLEMS {
                    if applies(*when) && !responses.contains_key(*status) {
                        responses.insert(
                            (*status).into(),
                            json!({"description": description, "content": {"application/problem+json": {"schema": problem}}}),
                        );
                    }
                }
            }
        }
    }
    if let Some(Value::Object(components)) = v.get_mut("components") {
        components.insert(
            "securitySchemes".into(),
            json!({"session": {"type": "apiKey", "in": "cookie", "name": "switchyard_session", "description": "A browser session (POST /auth/login). Requests that change something also send the session's CSRF token in X-CSRF-Token."}, "token": {"type": "http", "scheme": "bearer", "description": "An API token, an agent's token, or the bootstrap administrator token (SWITCHYARD_ADMIN_TOKEN). Each operation lists the permission it needs (`resource:verb`; `routings:<verb>` is that verb on the routings of the operation's channel family; several requirements: any one suffices); `security: [{}]` marks the public surface."}}),
        );
    }
    // operation ids are unique (the audit log names actions by them): a handler name used in
    // two modules gets its path's words
    if let Some(Value::Object(paths)) = v.get_mut("paths") {
        let mut seen = std::collections::HashMap::<String, usize>::new();
        for item in paths.values() {
            for op in item.as_object().into_iter().flat_map(|o| o.values()) {
                if let Some(id) = op.get("operationId").and_then(Value::as_str) {
                    *seen.entry(id.to_owned()).or_default() += 1;
                }
            }
        }
        for (path, item) in paths.iter_mut() {
            let Value::Object(ops) = item else { continue };
            for op in ops.values_mut() {
                let Some(id) = op
                    .get("operationId")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                else {
                    continue;
                };
                if seen.get(&id).copied().unwrap_or(0) > 1
                    && let Value::Object(op) = op
                {
                    let words: Vec<&str> = path
                        .split('/')
                        .filter(|w| !w.is_empty() && !w.starts_with('{'))
                        .collect();
                    let unique = format!("{id}_{}", words.join("_").replace('-', "_"));
                    op.insert("operationId".into(), json!(unique));
                }
            }
        }
    }
    // whatever a token may do, a session of the same role may do
    if let Some(Value::Object(paths)) = v.get_mut("paths") {
        for item in paths.values_mut() {
            let Value::Object(ops) = item else { continue };
            for op in ops.values_mut() {
                if let Some(Value::Array(alternatives)) = op.get_mut("security") {
                    let sessions: Vec<Value> = alternatives
                        .iter()
                        .filter_map(|alt| alt.get("token").cloned())
                        .map(|scopes| json!({ "session": scopes }))
                        .collect();
                    alternatives.extend(sessions);
                }
            }
        }
    }
    schema::apply(&mut v);
    v
}

/// Builds the whole HTTP application.
pub fn app(
    maker: Arc<Maker>,
    conversations: Arc<runtime::Conversations>,
    access: Arc<runtime::access::Access>,
    limits: HttpLimits,
) -> Router {
    apps(maker, conversations, access, limits).0
}

/// The administration's application (everything) and the public surface's alone (for
/// `public_listen`), sharing their state and limits.
pub fn apps(
    maker: Arc<Maker>,
    conversations: Arc<runtime::Conversations>,
    access: Arc<runtime::access::Access>,
    limits: HttpLimits,
) -> (Router, Router) {
    let (api, openapi) = api();
    let openapi = exact(openapi);
    let state = AppState {
        maker,
        conversations,
        access,
        requirements: Arc::new(auth::Requirements::from_document(&openapi)),
        previews: auth::PreviewTickets::new(),
        public: Arc::new(public::PublicLimits {
            per_address: public::Limiter::new(limits.public_per_address),
            per_entry_point: public::Limiter::new(limits.public_per_entry_point),
        }),
        metrics: metrics_handle(),
        limits: Arc::new(limits.clone()),
    };
    let api = api
        // the audit runs inside the authorization (it reads the caller)
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::audit))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authorize,
        ))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), idempotency));
    // the document, its docs page and the metrics are for signed-in callers too: the metrics
    // need `settings:read`, the document any account or token
    let docs = Router::<AppState>::from(
        SwaggerUi::new("/api/v1/docs")
            .external_url_unchecked("/api/v1/openapi.json", openapi)
            // no badge that would ask an outside validator about the document
            .config(utoipa_swagger_ui::Config::from("/api/v1/openapi.json").validator_url("none")),
    )
    .route_layer(middleware::from_fn_with_state(
        state.clone(),
        auth::signed_in,
    ));
    let metrics = Router::new()
        .route("/metrics", get(metrics_page))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::may_read_settings,
        ));
    let router = Router::new()
        .nest("/api/v1", api)
        .merge(docs)
        .merge(metrics)
        .route("/chat/preview/{version}", get(webchat::preview_page))
        .route(
            "/api/v1/versions/{version}/preview/ws",
            get(webchat::preview_socket),
        )
        .merge(chat_routes(&state))
        .fallback(ui::fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state.clone())
        .layer(middleware::from_fn_with_state(
            Arc::new(limits.allowed_hosts.clone()),
            public::check_host,
        ));
    (outer_layers(router, &limits), public_app(state, &limits))
}

/// The public surface alone, for a listener that faces the internet (`public_listen`): the chat
/// pages, their sockets and uploads, the channels' inbound messages, health. No `Host` check
/// (the names the public uses are not the administration's).
fn public_app(state: AppState, limits: &HttpLimits) -> Router {
    let router = Router::new()
        .route(
            "/api/v1/channels/http/{reference}/messages",
            axum::routing::post(conversations::http_inbound),
        )
        .route_layer(middleware::from_fn_with_state(state.clone(), public::limit))
        .merge(chat_routes(&state))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state);
    outer_layers(router, limits)
}

/// The chat pages, their sockets and uploads, the channels' webhooks, the survey pages, health
/// and readiness: rate-limited per address and entry point.
fn chat_routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/chat/{reference}", get(webchat::page))
        .route(
            "/api/v1/channels/web-chat/{reference}/ws",
            get(webchat::socket),
        )
        .route(
            "/api/v1/channels/web-chat/{reference}/uploads",
            axum::routing::post(webchat::upload).layer(DefaultBodyLimit::max(webchat::MAX_UPLOAD)),
        )
        .route(
            "/api/v1/channels/web-chat/{reference}/uploads/{id}",
            get(webchat::download),
        )
        .route(
            "/webhooks/whatsapp/{reference}",
            get(webhooks::whatsapp_handshake)
                .post(webhooks::whatsapp)
                .layer(DefaultBodyLimit::max(channels::provider::WEBHOOK_MAX_BYTES)),
        )
        .route(
            "/webhooks/messenger/{reference}",
            get(webhooks::messenger_handshake)
                .post(webhooks::messenger)
                .layer(DefaultBodyLimit::max(channels::provider::WEBHOOK_MAX_BYTES)),
        )
        .route(
            "/webhooks/payments/{reference}",
            axum::routing::post(webhooks::payments)
                .layer(DefaultBodyLimit::max(channels::payment::WEBHOOK_MAX_BYTES)),
        )
        .route(
            "/survey/{token}",
            get(surveys::page)
                .post(surveys::answer)
                .layer(DefaultBodyLimit::max(surveys::MAX_FORM)),
        )
        .route(
            "/webhooks/telegram/{reference}",
            axum::routing::post(webhooks::telegram)
                .layer(DefaultBodyLimit::max(channels::provider::WEBHOOK_MAX_BYTES)),
        )
        .route_layer(middleware::from_fn_with_state(state.clone(), public::limit))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

fn outer_layers(router: Router, limits: &HttpLimits) -> Router {
    router
        .layer(middleware::from_fn(track))
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            limits.request_timeout,
            deadline,
        ))
        .layer(CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                tracing::error!("a request handler panicked");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "the server failed to handle this request",
                )
                .into_response()
            },
        ))
}

/// When a request must have been answered. Every request has one (the configured
/// `request_timeout`); a handler whose work is bounded otherwise (a CSV import: by its file's
/// size) may move it later, to a fixed longest time of its own.
#[derive(Clone)]
pub(crate) struct Deadline {
    start: tokio::time::Instant,
    limit: Arc<std::sync::Mutex<Duration>>,
}

impl Deadline {
    /// The request may take `limit` in all (from its start), if that is longer than now.
    pub(crate) fn extend(&self, limit: Duration) {
        let mut now = self.limit.lock().unwrap_or_else(|e| e.into_inner());
        *now = (*now).max(limit);
    }

    fn limit(&self) -> Duration {
        *self.limit.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Ends a request that runs past its deadline (the configured limit, unless its handler
/// extended it) with a problem.
async fn deadline(State(limit): State<Duration>, mut req: Request, next: Next) -> Response {
    let deadline = Deadline {
        start: tokio::time::Instant::now(),
        limit: Arc::new(std::sync::Mutex::new(limit)),
    };
    req.extensions_mut().insert(deadline.clone());
    let run = next.run(req);
    tokio::pin!(run);
    loop {
        let until = deadline.start + deadline.limit();
        tokio::select! {
            response = &mut run => return response,
            () = tokio::time::sleep_until(until) => {
                // the handler may have moved the deadline while this one waited
                if deadline.start + deadline.limit() <= tokio::time::Instant::now() {
                    let limit = deadline.limit();
                    return Problem::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "request_timeout",
                        format!("the request took longer than {} s", limit.as_secs()),
                    )
                    .into_response();
                }
            }
        }
    }
}

pub(crate) async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
}

async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this resource does not accept that method",
    )
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.maker.ready().await {
        Ok(()) => Json(serde_json::json!({ "status": "ready" })).into_response(),
        Err(e) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            format!("the store does not answer: {e}"),
        )
        .into_response(),
    }
}

async fn metrics_page(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// Counts requests and their durations by route and status.
async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let start = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("switchyard_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("switchyard_http_request_duration_seconds", "method" => method, "route" => route).record(start.elapsed().as_secs_f64());
    response
}

/// Fields of a JSON response that hold secrets: an idempotent replay gives them as `null`
/// (the stored copy never holds them). Handlers put it in the response's extensions.
#[derive(Clone, Copy, Debug)]
pub struct Secrets(pub &'static [&'static str]);

/// Longest accepted `Idempotency-Key`.
const IDEMPOTENCY_KEY_MAX: usize = 200;
/// How long a stored response is replayed.
const IDEMPOTENCY_TTL: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

/// Replays the stored response of a `POST` that carries an `Idempotency-Key` seen before from
/// the same caller with the same method, path and body; refuses the key with a different
/// request. Responses other than 5xx are stored for 24 hours, secrets left out (see
/// [`Secrets`]). A key belongs to its caller: the `Authorization` it came with is part of the
/// record's key, and a request whose token is no longer valid is never answered from a record.
async fn idempotency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(key) = req.headers().get("idempotency-key") else {
        return next.run(req).await;
    };
    let caller = match req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or_default().to_owned())
    {
        None => String::new(),
        Some(auth) => {
            let valid = match auth::bearer(req.headers()) {
                Some(token) => matches!(state.access.authenticate(token).await, Ok(Some(_))),
                None => false,
            };
            if !valid {
                // the handler refuses it; nothing is replayed or recorded for it
                return next.run(req).await;
            }
            auth
        }
    };
    let key = match key.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= IDEMPOTENCY_KEY_MAX => {
            if caller.is_empty() {
                k.to_owned()
            } else {
                // the caller's own key space: a hash of their authorization, then the key
                let who: String = Sha256::digest(caller.as_bytes())
                    .iter()
                    .take(16)
                    .map(|b| format!("{b:02x}"))
                    .collect();
                format!("{who}:{k}")
            }
        }
        _ => {
            return Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid_idempotency_key",
                format!("Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX} visible characters"),
            )
            .into_response();
        }
    };
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, state.limits.max_body_bytes).await else {
        return Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the request body is larger than this server accepts",
        )
        .into_response();
    };
    let mut hasher = Sha256::new();
    hasher.update(parts.method.as_str().as_bytes());
    hasher.update(b" ");
    hasher.update(parts.uri.path().as_bytes());
    hasher.update(b"\n");
    hasher.update(&bytes);
    let fingerprint: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    match state.maker.idempotent_response(&key).await {
        Ok(Some(stored)) if stored.fingerprint == fingerprint => {
            let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
            let content_type = HeaderValue::from_str(&stored.content_type)
                .unwrap_or(HeaderValue::from_static("application/json"));
            return (
                status,
                [
                    (header::CONTENT_TYPE, content_type),
                    (
                        header::HeaderName::from_static("idempotency-replayed"),
                        HeaderValue::from_static("true"),
                    ),
                ],
                stored.body,
            )
                .into_response();
        }
        Ok(Some(_)) => {
            return Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different request",
            )
            .into_response();
        }
        Ok(None) => {}
        Err(e) => return Problem::from(e).into_response(),
    }
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if response.status().is_server_error() {
        return response;
    }
    let (rparts, rbody) = response.into_parts();
    let Ok(rbytes) = axum::body::to_bytes(rbody, 64 * 1024 * 1024).await else {
        return Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the response could not be recorded",
        )
        .into_response();
    };
    let now = state.maker.clock().now();
    let kept = match rparts.extensions.get::<Secrets>() {
        None => rbytes.to_vec(),
        Some(Secrets(fields)) => match serde_json::from_slice::<serde_json::Value>(&rbytes) {
            Ok(serde_json::Value::Object(mut body)) => {
                for f in *fields {
                    if let Some(v) = body.get_mut(*f) {
                        *v = serde_json::Value::Null;
                    }
                }
                serde_json::to_vec(&body).unwrap_or_default()
            }
            // not an object: keep nothing of it
            _ => Vec::new(),
        },
    };
    let stored = StoredResponse {
        key,
        fingerprint,
        status: rparts.status.as_u16(),
        content_type: rparts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/json")
            .to_owned(),
        body: kept,
        created_at: now,
    };
    if let Err(e) = state
        .maker
        .record_idempotent_response(stored, now.saturating_sub(IDEMPOTENCY_TTL).unwrap_or(now))
        .await
    {
        tracing::warn!(error = %e, "could not record an idempotent response");
    }
    Response::from_parts(rparts, Body::from(rbytes))
}
