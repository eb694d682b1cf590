//! `/customers`: the people behind interactions, by channel and address, with their fields.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use flow::customer::Customer;
use jiff::Timestamp;
use runtime::customers::CustomerFields;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use store::CustomerFilter;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::conversations::ChannelDto;
use crate::problem::{
    ApiResult, IfMatch, JsonBody, PathParams, ProblemBody, QueryParams, page_request,
};

/// A customer. The id follows from channel and address: the same address on the same channel
/// is always the same customer.
#[derive(Serialize, ToSchema)]
pub struct CustomerDto {
    pub id: Uuid,
    pub channel: ChannelDto,
    /// The customer's address on the channel (the web chat visitor, the HTTP channel's
    /// `customer`).
    pub address: String,
    pub reference: Option<String>,
    pub name: String,
    /// Free fields, `{{ customer.fields.<name> }}` in routings.
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
    /// The user who owns the customer (the preferred agent).
    pub owner_id: Option<Uuid>,
    pub revision: u64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<&Customer> for CustomerDto {
    fn from(c: &Customer) -> Self {
        CustomerDto {
            id: c.id,
            channel: c.channel.into(),
            address: c.address.clone(),
            reference: c.reference.clone(),
            name: c.name.clone(),
            fields: c.fields.clone(),
            owner_id: c.owner_id,
            revision: c.revision,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// Fields of a customer. `channel` and `address` are given at creation only; `reference: null`
/// removes the reference; `fields` replaces all fields.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerBody {
    pub channel: Option<ChannelDto>,
    pub address: Option<String>,
    #[serde(default, deserialize_with = "crate::conversations::some")]
    #[schema(value_type = Option<String>)]
    pub reference: Option<Option<String>>,
    pub name: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub fields: Option<Map<String, Value>>,
    /// A user id; `null` removes the owner.
    #[serde(default, deserialize_with = "crate::conversations::some")]
    #[schema(value_type = Option<Uuid>)]
    pub owner_id: Option<Option<Uuid>>,
}

impl From<CustomerBody> for CustomerFields {
    fn from(b: CustomerBody) -> Self {
        CustomerFields {
            channel: b.channel.map(Into::into),
            address: b.address,
            reference: b.reference,
            name: b.name,
            fields: b.fields,
            owner_id: b.owner_id,
        }
    }
}

fn response(status: StatusCode, c: &Customer) -> Response {
    (
        status,
        [(header::ETAG, format!("\"{}\"", c.revision))],
        Json(CustomerDto::from(c)),
    )
        .into_response()
}

/// Filters of the customer list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CustomerQuery {
    pub channel: Option<ChannelDto>,
    pub address: Option<String>,
    pub reference: Option<String>,
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
    pub after: Option<Uuid>,
}

/// A page of customers.
#[derive(Serialize, ToSchema)]
pub struct CustomerPage {
    pub items: Vec<CustomerDto>,
    pub next_after: Option<Uuid>,
}

/// Lists customers, filtered by channel, address or reference.
#[utoipa::path(get, path = "/customers", security(("token" = ["customers:read"])), tag = "Customers", params(CustomerQuery), responses((status = 200, body = CustomerPage), (status = 400, body = ProblemBody)))]
pub async fn list(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<CustomerQuery>,
) -> ApiResult<Json<CustomerPage>> {
    let filter = CustomerFilter {
        channel: q.channel.map(Into::into),
        address: q.address,
        reference: q.reference,
    };
    let p = state
        .conversations
        .customers(&filter, &page_request(q.limit, q.after)?)
        .await?;
    Ok(Json(CustomerPage {
        items: p.items.iter().map(Into::into).collect(),
        next_after: p.next_after,
    }))
}

/// Creates a customer ahead of their first contact.
#[utoipa::path(post, path = "/customers", security(("token" = ["customers:edit"])), tag = "Customers", request_body = CustomerBody,
    responses((status = 201, body = CustomerDto), (status = 409, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CustomerBody>,
) -> ApiResult<Response> {
    let c = state.conversations.create_customer(body.into()).await?;
    Ok(response(StatusCode::CREATED, &c))
}

/// One customer.
#[utoipa::path(get, path = "/customers/{id}", security(("token" = ["customers:read"])), tag = "Customers", params(("id" = Uuid, Path)), responses((status = 200, body = CustomerDto), (status = 404, body = ProblemBody)))]
pub async fn get(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Response> {
    Ok(response(
        StatusCode::OK,
        &state.conversations.customer(id).await?,
    ))
}

/// Changes a customer's name, reference or fields.
#[utoipa::path(patch, path = "/customers/{id}", security(("token" = ["customers:edit"])), tag = "Customers", params(("If-Match" = Option<String>, Header, description = "The revision the change expects (`\"3\"`, as the ETag gave it): 412 `precondition_failed` if it is no longer the current one; none: no check"), ("id" = Uuid, Path)), request_body = CustomerBody,
    responses((status = 200, body = CustomerDto), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody), (status = 412, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn update(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    IfMatch(if_match): IfMatch,
    JsonBody(body): JsonBody<CustomerBody>,
) -> ApiResult<Response> {
    let c = state
        .conversations
        .update_customer(id, body.into(), if_match)
        .await?;
    Ok(response(StatusCode::OK, &c))
}

/// Deletes a customer; their interactions stay, no longer linked to them.
#[utoipa::path(delete, path = "/customers/{id}", security(("token" = ["customers:edit"])), tag = "Customers", params(("id" = Uuid, Path)), responses((status = 204), (status = 404, body = ProblemBody)))]
pub async fn delete(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<StatusCode> {
    state.conversations.delete_customer(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A CRM card of a customer.
#[derive(Serialize, ToSchema)]
pub struct CardDto {
    /// The card: a row of `database_id`, or the id of a Salesforce record (a directory
    /// connected to Salesforce).
    pub id: String,
    pub directory_id: Uuid,
    /// The directory's (or CRM V2's) reference.
    pub directory: String,
    /// The CRM V2 object it is of (the Salesforce object of a record).
    pub object: Option<String>,
    /// None for a Salesforce record.
    pub database_id: Option<Uuid>,
    /// Its fields as they are now (a Salesforce record's as read when it was linked).
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
    /// When a routing last linked it to one of the customer's interactions, and which.
    #[schema(value_type = String, format = DateTime)]
    pub linked_at: Timestamp,
    pub interaction_id: Uuid,
}

/// The customer's CRM cards (those routings linked to their interactions), most recently
/// linked first, at most 200.
#[utoipa::path(get, path = "/customers/{id}/cards", security(("token" = ["customers:read"])), tag = "Customers", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<CardDto>), (status = 404, body = ProblemBody)))]
pub async fn cards(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Json<Vec<CardDto>>> {
    let cards = state.conversations.customer_cards(id).await?;
    Ok(Json(
        cards
            .into_iter()
            .map(|c| CardDto {
                id: c.id,
                directory_id: c.directory_id,
                directory: c.directory,
                object: c.object,
                database_id: c.database_id,
                fields: c.fields,
                linked_at: c.linked_at,
                interaction_id: c.interaction_id,
            })
            .collect(),
    ))
}
