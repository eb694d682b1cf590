//! `/checkpoints`, `/value-tables`, `/calendars`, `/variables`, `/groups`, `/queue-groups`: the
//! business objects actions refer to.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use flow::objects::BusinessObject;
use jiff::Timestamp;
use runtime::objects::ObjectFields;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

/// A business object.
#[derive(Serialize, ToSchema)]
pub struct ObjectDto {
    pub id: Uuid,
    pub reference: String,
    pub name: String,
    pub description: String,
    /// Kind-specific data: none for a checkpoint; `{case_insensitive, entries: [{key, value}]}`
    /// for a values table; `{time_zone, weekly: [{day, ranges: [{start, end}]}], exceptions:
    /// [{date, ranges, label}]}` for a calendar; `{type, fields: [{name, type, description}]}`
    /// for a declared variable, whose reference is the name routings use (types: `any`, `text`,
    /// `number`, `boolean`, `date`); `{members: [user ids in order], algorithm, max_waiting,
    /// max_estimated_wait_seconds, max_wait_seconds, give_up_words}` for a group (queue;
    /// `algorithm`: `random`, `in_order`, `most_waiting`, `least_chats`); `{queues: [group
    /// ids]}` for a queue group; `{content, variables}` for an SMS template; `{subject, text,
    /// html, variables, from, attachments: [file ids from /files]}` for an email template;
    /// `{method, url, headers, body, auth, inputs, outputs, timeout_ms, max_response_bytes}`
    /// for a web service; `{columns: [{name, type, required, unique, indexed, proposals}]}` for
    /// a database (see `GET /object-kinds` for each kind's schema).
    #[schema(value_type = Object)]
    pub data: Value,
    /// Whether it has its write-only secret (web services, payment modules; never shown).
    pub secret_set: bool,
    /// Whether it has its write-only webhook secret (payment modules; never shown).
    pub webhook_secret_set: bool,
    pub revision: u64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<&BusinessObject> for ObjectDto {
    fn from(o: &BusinessObject) -> Self {
        ObjectDto {
            id: o.id,
            reference: o.reference.clone(),
            name: o.name.clone(),
            description: o.description.clone(),
            data: o.data.clone(),
            secret_set: o.secret.is_some(),
            webhook_secret_set: o.webhook_secret.is_some(),
            revision: o.revision,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

/// Fields of a business object (all optional on update).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectBody {
    pub reference: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
    /// A web service's credential (the basic password, the bearer token or the API key) or a
    /// payment module's API key (1 to 4 096 characters): write-only, sealed at rest, never
    /// shown; `null` removes it.
    #[serde(default, deserialize_with = "crate::conversations::some")]
    #[schema(value_type = Option<String>, max_length = 4096)]
    pub secret: Option<Option<String>>,
    /// A payment module's webhook signing secret, as its provider gives it (1 to 4 096
    /// characters): write-only, sealed at rest, never shown; `null` removes it.
    #[serde(default, deserialize_with = "crate::conversations::some")]
    #[schema(value_type = Option<String>, max_length = 4096)]
    pub webhook_secret: Option<Option<String>>,
}

impl ObjectBody {
    /// The fields, the secret checked and sealed.
    pub(crate) fn fields(
        self,
        state: &crate::AppState,
    ) -> Result<ObjectFields, runtime::maker::MakerError> {
        let seal = |given: Option<Option<String>>| -> Result<_, runtime::maker::MakerError> {
            Ok(match given {
                Some(Some(plain)) => {
                    flow::objects::check_secret(&plain)?;
                    Some(Some(state.conversations.seal(&plain)))
                }
                other => other.map(|_| None),
            })
        };
        Ok(ObjectFields {
            reference: self.reference,
            name: self.name,
            description: self.description,
            data: self.data,
            secret: seal(self.secret)?,
            webhook_secret: seal(self.webhook_secret)?,
        })
    }
}

/// A page of business objects.
#[derive(Serialize, ToSchema)]
pub struct ObjectPage {
    pub items: Vec<ObjectDto>,
    pub next_after: Option<Uuid>,
}

pub(crate) fn object_response(status: StatusCode, o: &BusinessObject) -> Response {
    (
        status,
        [(header::ETAG, format!("\"{}\"", o.revision))],
        Json(ObjectDto::from(o)),
    )
        .into_response()
}

/// Stamps the five handlers of one collection.
macro_rules! collection {
    ($module:ident, $kind:expr, $path:tt, $item:tt, $tag:tt, $read:tt, $create:tt, $edit:tt, $delete:tt) => {
        pub mod $module {
            use axum::Json;
            use axum::extract::State;
            use axum::http::StatusCode;
            use axum::response::Response;
            use uuid::Uuid;

            use super::{ObjectBody, ObjectPage, object_response};
            use crate::AppState;
            use crate::conversations::PageQuery;
            use crate::problem::{ApiResult, IfMatch, JsonBody, PathParams, ProblemBody, QueryParams, page_request};

            #[utoipa::path(get, path = $path, tag = $tag, security(("token" = [$read])), operation_id = concat!("list_", stringify!($module)), params(PageQuery), responses((status = 200, body = ObjectPage)))]
            pub async fn list(State(state): State<AppState>, QueryParams(q): QueryParams<PageQuery>) -> ApiResult<Json<ObjectPage>> {
                let p = state.maker.objects($kind, &page_request(q.limit, q.after)?).await?;
                Ok(Json(ObjectPage { items: p.items.iter().map(Into::into).collect(), next_after: p.next_after }))
            }

            #[utoipa::path(post, path = $path, tag = $tag, security(("token" = [$create])), operation_id = concat!("create_", stringify!($module)), request_body = ObjectBody,
                responses((status = 201, body = super::ObjectDto), (status = 409, body = ProblemBody), (status = 422, body = ProblemBody)))]
            pub async fn create(State(state): State<AppState>, JsonBody(body): JsonBody<ObjectBody>) -> ApiResult<Response> {
                let fields = body.fields(&state)?;
                let o = state.maker.create_object($kind, fields).await?;
                Ok(object_response(StatusCode::CREATED, &o))
            }

            #[utoipa::path(get, path = $item, tag = $tag, security(("token" = [$read])), operation_id = concat!("get_", stringify!($module)), params(("id" = Uuid, Path)),
                responses((status = 200, body = super::ObjectDto), (status = 404, body = ProblemBody)))]
            pub async fn get(State(state): State<AppState>, PathParams(id): PathParams<Uuid>) -> ApiResult<Response> {
                Ok(object_response(StatusCode::OK, &state.maker.object($kind, id).await?))
            }

            #[utoipa::path(patch, path = $item, tag = $tag, security(("token" = [$edit])), operation_id = concat!("update_", stringify!($module)), params(("If-Match" = Option<String>, Header, description = "The revision the change expects (`\"3\"`, as the ETag gave it): 412 `precondition_failed` if it is no longer the current one; none: no check"), ("id" = Uuid, Path)), request_body = ObjectBody,
                responses((status = 200, body = super::ObjectDto), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody), (status = 412, body = ProblemBody), (status = 422, body = ProblemBody)))]
            pub async fn update(State(state): State<AppState>, PathParams(id): PathParams<Uuid>, IfMatch(if_match): IfMatch, JsonBody(body): JsonBody<ObjectBody>) -> ApiResult<Response> {
                let fields = body.fields(&state)?;
                let o = state.maker.update_object($kind, id, fields, if_match).await?;
                Ok(object_response(StatusCode::OK, &o))
            }

            #[utoipa::path(delete, path = $item, tag = $tag, security(("token" = [$delete])), operation_id = concat!("delete_", stringify!($module)), params(("id" = Uuid, Path)),
                responses((status = 204), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody, description = "in_use: other records depend on it (the cases of a case type)")))]
            pub async fn delete(State(state): State<AppState>, PathParams(id): PathParams<Uuid>) -> ApiResult<StatusCode> {
                state.maker.delete_object($kind, id).await?;
                Ok(StatusCode::NO_CONTENT)
            }
        }
    };
}

collection!(
    checkpoints,
    flow::catalogue::ObjectKind::Checkpoint,
    "/checkpoints",
    "/checkpoints/{id}",
    "Business objects",
    "checkpoints:read",
    "checkpoints:create",
    "checkpoints:edit",
    "checkpoints:delete"
);
collection!(
    value_tables,
    flow::catalogue::ObjectKind::ValueTable,
    "/value-tables",
    "/value-tables/{id}",
    "Business objects",
    "value_tables:read",
    "value_tables:create",
    "value_tables:edit",
    "value_tables:delete"
);
collection!(
    calendars,
    flow::catalogue::ObjectKind::Calendar,
    "/calendars",
    "/calendars/{id}",
    "Business objects",
    "calendars:read",
    "calendars:create",
    "calendars:edit",
    "calendars:delete"
);
collection!(
    variables,
    flow::catalogue::ObjectKind::Variable,
    "/variables",
    "/variables/{id}",
    "Business objects",
    "variables:read",
    "variables:create",
    "variables:edit",
    "variables:delete"
);
collection!(
    sms_templates,
    flow::catalogue::ObjectKind::SmsTemplate,
    "/sms-templates",
    "/sms-templates/{id}",
    "Business objects",
    "sms_templates:read",
    "sms_templates:create",
    "sms_templates:edit",
    "sms_templates:delete"
);
collection!(
    email_templates,
    flow::catalogue::ObjectKind::EmailTemplate,
    "/email-templates",
    "/email-templates/{id}",
    "Business objects",
    "email_templates:read",
    "email_templates:create",
    "email_templates:edit",
    "email_templates:delete"
);
collection!(
    web_services,
    flow::catalogue::ObjectKind::WebService,
    "/web-services",
    "/web-services/{id}",
    "Business objects",
    "web_services:read",
    "web_services:create",
    "web_services:edit",
    "web_services:delete"
);
collection!(
    databases,
    flow::catalogue::ObjectKind::Database,
    "/databases",
    "/databases/{id}",
    "Business objects",
    "databases:read",
    "databases:create",
    "databases:edit",
    "databases:delete"
);
collection!(
    case_types,
    flow::catalogue::ObjectKind::CaseType,
    "/case-types",
    "/case-types/{id}",
    "Cases",
    "case_types:read",
    "case_types:create",
    "case_types:edit",
    "case_types:delete"
);
collection!(
    payment_modules,
    flow::catalogue::ObjectKind::PaymentModule,
    "/payment-modules",
    "/payment-modules/{id}",
    "Invoices",
    "payment_modules:read",
    "payment_modules:create",
    "payment_modules:edit",
    "payment_modules:delete"
);
collection!(
    whatsapp_campaigns,
    flow::catalogue::ObjectKind::WhatsappCampaign,
    "/whatsapp-campaigns",
    "/whatsapp-campaigns/{id}",
    "Campaigns",
    "campaigns:read",
    "campaigns:create",
    "campaigns:edit",
    "campaigns:delete"
);
collection!(
    voice_campaigns,
    flow::catalogue::ObjectKind::VoiceCampaign,
    "/voice-campaigns",
    "/voice-campaigns/{id}",
    "Campaigns",
    "campaigns:read",
    "campaigns:create",
    "campaigns:edit",
    "campaigns:delete"
);
collection!(
    sms_campaigns,
    flow::catalogue::ObjectKind::SmsCampaign,
    "/sms-campaigns",
    "/sms-campaigns/{id}",
    "Campaigns",
    "campaigns:read",
    "campaigns:create",
    "campaigns:edit",
    "campaigns:delete"
);
collection!(
    crm_directories,
    flow::catalogue::ObjectKind::CrmDirectory,
    "/crm-directories",
    "/crm-directories/{id}",
    "Cases",
    "crm_directories:read",
    "crm_directories:create",
    "crm_directories:edit",
    "crm_directories:delete"
);
collection!(
    surveys,
    flow::catalogue::ObjectKind::Survey,
    "/surveys",
    "/surveys/{id}",
    "Surveys",
    "surveys:read",
    "surveys:create",
    "surveys:edit",
    "surveys:delete"
);
collection!(
    crm_scenarios,
    flow::catalogue::ObjectKind::CrmScenario,
    "/crm-scenarios",
    "/crm-scenarios/{id}",
    "Cases",
    "crm_directories:read",
    "crm_directories:create",
    "crm_directories:edit",
    "crm_directories:delete"
);
collection!(
    groups,
    flow::catalogue::ObjectKind::Queue,
    "/groups",
    "/groups/{id}",
    "Distribution",
    "groups:read",
    "groups:create",
    "groups:edit",
    "groups:delete"
);
collection!(
    queue_groups,
    flow::catalogue::ObjectKind::QueueGroup,
    "/queue-groups",
    "/queue-groups/{id}",
    "Distribution",
    "queue_groups:read",
    "queue_groups:create",
    "queue_groups:edit",
    "queue_groups:delete"
);

/// A kind of business object, for clients that build their forms from it.
#[derive(Serialize, ToSchema)]
pub struct ObjectKindDto {
    /// `checkpoint`, `value_table`, `calendar`, `variable`, `queue`, `queue_group`,
    /// `sms_template`, `email_template`, `web_service`, `database`, `case_type`.
    pub kind: String,
    /// What a list of them is called (`Values tables`).
    pub label: String,
    /// Where its objects are, under `/api/v1`.
    pub path: String,
    /// The resource of its permissions (`value_tables` → `value_tables:read`, …).
    pub resource: String,
    /// JSON Schema (2020-12) of its `data` (`null`: it has none); the server checks more
    /// (ranges in order, keys unique, the groups it names exist) and says what in a 422.
    #[schema(value_type = Option<Object>)]
    pub data_schema: Value,
}

/// Every kind of business object this server stores.
#[utoipa::path(get, path = "/object-kinds", tag = "Business objects",
    security(("token" = ["checkpoints:read"]), ("token" = ["value_tables:read"]), ("token" = ["calendars:read"]), ("token" = ["variables:read"]),
        ("token" = ["sms_templates:read"]), ("token" = ["email_templates:read"]), ("token" = ["web_services:read"]), ("token" = ["databases:read"]), ("token" = ["case_types:read"]), ("token" = ["payment_modules:read"]), ("token" = ["campaigns:read"]), ("token" = ["crm_directories:read"]), ("token" = ["surveys:read"]), ("token" = ["groups:read"]), ("token" = ["queue_groups:read"])),
    responses((status = 200, body = Vec<ObjectKindDto>)))]
pub async fn object_kinds() -> Json<Vec<ObjectKindDto>> {
    use flow::catalogue::ObjectKind::*;
    let kinds = [
        (Checkpoint, "Checkpoints", "/checkpoints", "checkpoints"),
        (ValueTable, "Values tables", "/value-tables", "value_tables"),
        (Calendar, "Calendars", "/calendars", "calendars"),
        (Variable, "Variables", "/variables", "variables"),
        (
            SmsTemplate,
            "SMS templates",
            "/sms-templates",
            "sms_templates",
        ),
        (
            EmailTemplate,
            "Email templates",
            "/email-templates",
            "email_templates",
        ),
        (WebService, "Web services", "/web-services", "web_services"),
        (Database, "Databases", "/databases", "databases"),
        (CaseType, "Case types", "/case-types", "case_types"),
        (
            PaymentModule,
            "Payment modules",
            "/payment-modules",
            "payment_modules",
        ),
        (
            WhatsappCampaign,
            "WhatsApp campaigns",
            "/whatsapp-campaigns",
            "campaigns",
        ),
        (
            VoiceCampaign,
            "Voice campaigns",
            "/voice-campaigns",
            "campaigns",
        ),
        (SmsCampaign, "SMS campaigns", "/sms-campaigns", "campaigns"),
        (
            CrmDirectory,
            "CRM directories",
            "/crm-directories",
            "crm_directories",
        ),
        (
            CrmScenario,
            "CRM scenarios",
            "/crm-scenarios",
            "crm_directories",
        ),
        (Survey, "Surveys", "/surveys", "surveys"),
        (Queue, "Groups (queues)", "/groups", "groups"),
        (QueueGroup, "Queue groups", "/queue-groups", "queue_groups"),
    ];
    Json(
        kinds
            .into_iter()
            .map(|(k, label, path, resource)| ObjectKindDto {
                kind: flow::objects::kind_key(k).to_owned(),
                label: label.to_owned(),
                path: path.to_owned(),
                resource: resource.to_owned(),
                data_schema: flow::objects::data_schema(k),
            })
            .collect(),
    )
}

/// A name and a value (an input, a header, a response field).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NamedValue {
    #[schema(max_length = 128)]
    pub name: String,
    #[schema(max_length = 10000)]
    pub value: String,
}

/// Sample input values for a web service.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TryWebService {
    /// At most 50; an input the definition does not declare is ignored.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub inputs: Vec<NamedValue>,
}

/// The request as it went out (the credential never shown).
#[derive(Serialize, ToSchema)]
pub struct TriedRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<NamedValue>,
    pub body: Option<String>,
}

/// The response as it came back (its body cut at 10 000 characters).
#[derive(Serialize, ToSchema)]
pub struct TriedResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

/// A web service tried: what went out, what came back, and what a *Web service* action would
/// get — `ok` (its *OK* branch) with the mapped response fields, or the reason of *Not OK*.
#[derive(Serialize, ToSchema)]
pub struct TriedWebService {
    /// None when the request could not be made (a body that is not JSON once filled in).
    pub request: Option<TriedRequest>,
    /// None when no answer came (refused address, timeout, connection failure).
    pub response: Option<TriedResponse>,
    pub ok: bool,
    pub fields: Vec<NamedValue>,
    pub error: Option<String>,
    pub millis: u64,
}

/// Calls a web service definition with sample inputs, for the editor: the request, the
/// response and the mapped fields. It is a real call (through the outbound-address policy).
#[utoipa::path(post, path = "/web-services/{id}/try", tag = "Business objects", security(("token" = ["web_services:edit"])),
    params(("id" = Uuid, Path)), request_body = TryWebService,
    responses((status = 200, body = TriedWebService), (status = 404, body = crate::problem::ProblemBody), (status = 422, body = crate::problem::ProblemBody)))]
pub async fn try_web_service(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    crate::problem::PathParams(id): crate::problem::PathParams<Uuid>,
    crate::problem::JsonBody(body): crate::problem::JsonBody<TryWebService>,
) -> crate::problem::ApiResult<Json<TriedWebService>> {
    if body.inputs.len() > 50
        || body
            .inputs
            .iter()
            .any(|i| i.name.chars().count() > 128 || i.value.chars().count() > 10_000)
    {
        return Err(runtime::maker::MakerError::from(flow::FieldError {
            field: "inputs",
            message: "at most 50 inputs, each a name of at most 128 characters and a value of at most 10 000".into(),
        })
        .into());
    }
    let object = state
        .maker
        .object(flow::catalogue::ObjectKind::WebService, id)
        .await?;
    let inputs: Vec<(String, String)> =
        body.inputs.into_iter().map(|i| (i.name, i.value)).collect();
    let x = state.conversations.exchange(&object, &inputs).await;
    let pairs = |v: Vec<(String, String)>| {
        v.into_iter()
            .map(|(name, value)| NamedValue { name, value })
            .collect()
    };
    let (ok, fields, error) = match x.outcome {
        flow::effect::WebServiceOutcome::Ok { fields, .. } => (true, pairs(fields), None),
        flow::effect::WebServiceOutcome::NotOk { reason, .. } => (false, Vec::new(), Some(reason)),
    };
    Ok(Json(TriedWebService {
        request: x.request.map(|r| TriedRequest {
            method: r.method,
            url: r.url,
            headers: pairs(r.headers),
            body: r.body,
        }),
        response: x.response.map(|r| TriedResponse {
            status: r.status,
            content_type: r.content_type,
            body: r.body,
        }),
        ok,
        fields,
        error,
        millis: x.millis,
    }))
}

/// Where a queued (asynchronous) call stands.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WebCallState {
    /// Waiting for its next attempt.
    Pending,
    /// Answered 2xx.
    Done,
    /// Refused for good (a 4xx answer but 408 and 429, the definition deleted) or out of
    /// attempts.
    GivenUp,
}

/// A queued call of a web service.
#[derive(Serialize, ToSchema)]
pub struct WebCallDto {
    /// Also the `Idempotency-Key` it is sent with.
    pub id: Uuid,
    pub interaction_id: Uuid,
    pub state: WebCallState,
    pub attempts: u32,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub done_at: Option<Timestamp>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
}

/// A page of queued calls, newest first.
#[derive(Serialize, ToSchema)]
pub struct WebCallPage {
    pub items: Vec<WebCallDto>,
    pub next_after: Option<Uuid>,
}

/// The asynchronous calls of a web service, newest first: pending, done, or given up with the
/// last answer's status and error.
#[utoipa::path(get, path = "/web-services/{id}/calls", tag = "Business objects", security(("token" = ["web_services:read"])),
    params(("id" = Uuid, Path), crate::conversations::PageQuery),
    responses((status = 200, body = WebCallPage), (status = 400, body = crate::problem::ProblemBody), (status = 404, body = crate::problem::ProblemBody)))]
pub async fn web_service_calls(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    crate::problem::PathParams(id): crate::problem::PathParams<Uuid>,
    crate::problem::QueryParams(q): crate::problem::QueryParams<crate::conversations::PageQuery>,
) -> crate::problem::ApiResult<Json<WebCallPage>> {
    let page = crate::problem::page_request(q.limit, q.after)?;
    state
        .maker
        .object(flow::catalogue::ObjectKind::WebService, id)
        .await?;
    let p = state
        .conversations
        .web_calls(id, &page)
        .await
        .map_err(runtime::maker::MakerError::from)?;
    Ok(Json(WebCallPage {
        items: p
            .items
            .into_iter()
            .map(|c| WebCallDto {
                id: c.id,
                interaction_id: c.interaction_id,
                state: match (c.done_at, c.next_attempt_at) {
                    (Some(_), _) => WebCallState::Done,
                    (None, Some(_)) => WebCallState::Pending,
                    (None, None) => WebCallState::GivenUp,
                },
                attempts: c.attempts,
                created_at: c.created_at,
                next_attempt_at: c.next_attempt_at,
                done_at: c.done_at,
                last_status: c.last_status,
                last_error: c.last_error,
            })
            .collect(),
        next_after: p.next_after,
    }))
}
