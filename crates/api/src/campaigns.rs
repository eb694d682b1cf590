//! Outbound campaigns (seed 003 §9): the targets routings insert, listed and exported as CSV
//! for the dialler or sender that works through them (outside Switchyard). The campaigns
//! themselves are business objects (`/whatsapp-campaigns`, `/voice-campaigns`,
//! `/sms-campaigns`).

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use jiff::Timestamp;
use runtime::campaigns::Target;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::problem::{ApiResult, ProblemBody, QueryParams, page_request};

/// A campaign target.
#[derive(Serialize, ToSchema)]
pub struct TargetDto {
    pub id: Uuid,
    pub campaign_id: Uuid,
    /// In E.164.
    pub phone: String,
    /// When to start contacting it.
    #[schema(value_type = String, format = DateTime)]
    pub start_at: Timestamp,
    pub priority: Option<i64>,
    pub layout: Option<String>,
    /// The layout's fields that have a value.
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
    /// `pending`: still to contact.
    pub status: String,
    pub customer_id: Option<Uuid>,
    /// The interaction whose routing inserted it.
    pub interaction_id: Option<Uuid>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl From<&Target> for TargetDto {
    fn from(t: &Target) -> Self {
        TargetDto {
            id: t.id,
            campaign_id: t.campaign_id,
            phone: t.phone.clone(),
            start_at: t.start_at,
            priority: t.priority,
            layout: t.layout.clone(),
            fields: t.fields.clone(),
            status: t.status.clone(),
            customer_id: t.customer_id,
            interaction_id: t.interaction_id,
            created_at: t.created_at,
        }
    }
}

/// A campaign's targets, and their pagination.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TargetQuery {
    /// The campaign (of any channel).
    pub campaign_id: Uuid,
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
    pub after: Option<Uuid>,
}

/// A page of targets, in the order they were inserted.
#[derive(Serialize, ToSchema)]
pub struct TargetPage {
    pub items: Vec<TargetDto>,
    pub next_after: Option<Uuid>,
}

/// A campaign's targets, in the order routings inserted them.
#[utoipa::path(get, path = "/campaign-targets", tag = "Campaigns", security(("token" = ["campaign_targets:read"])), params(TargetQuery),
    responses((status = 200, body = TargetPage), (status = 400, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub async fn list(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<TargetQuery>,
) -> ApiResult<Json<TargetPage>> {
    let p = state
        .conversations
        .campaign_targets(q.campaign_id, &page_request(q.limit, q.after)?)
        .await?;
    Ok(Json(TargetPage {
        items: p.items.iter().map(Into::into).collect(),
        next_after: p.next_after,
    }))
}

/// The campaign of an export.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    pub campaign_id: Uuid,
}

/// A campaign's targets as CSV for a dialler or sender: `id`, `phone`, `start_at`, `priority`,
/// `layout`, `status`, then each field of the campaign's layouts; streamed page by page.
#[utoipa::path(get, path = "/campaign-targets/export", tag = "Campaigns", security(("token" = ["campaign_targets:read"])), params(ExportQuery),
    responses((status = 200, description = "The targets as CSV", content_type = "text/csv"), (status = 400, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub async fn export(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ExportQuery>,
) -> ApiResult<Response> {
    let conversations = state.conversations.clone();
    let campaign = q.campaign_id;
    let (first, next) = conversations.campaign_export_page(campaign, None).await?;
    Ok(crate::database_rows::csv_pages(
        first,
        next,
        &format!("targets-{campaign}.csv"),
        move |after| {
            let conversations = conversations.clone();
            async move { conversations.campaign_export_page(campaign, after).await }
        },
    ))
}
