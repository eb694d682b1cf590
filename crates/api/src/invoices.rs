//! Invoices (seed 003 §11): `/invoices`, their CSV import. *Search for invoice* finds them in
//! routings; *Pay an invoice* has them paid.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use flow::invoices::{InvoiceInput, InvoiceStatus};
use flow::payments::PaymentStatus;
use futures_util::StreamExt;
use jiff::Timestamp;
use runtime::invoices::Invoice;
use runtime::payments::Payment;
use serde::{Deserialize, Serialize};
use store::{InvoiceFilter, PaymentFilter};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::database_rows::{ImportErrorDto, ImportReportDto};
use crate::problem::{
    ApiResult, IfMatch, JsonBody, PathParams, Problem, ProblemBody, QueryParams, page_request,
};

/// Where an invoice is.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatusDto {
    Open,
    Paid,
    Cancelled,
}

impl From<InvoiceStatus> for InvoiceStatusDto {
    fn from(s: InvoiceStatus) -> Self {
        match s {
            InvoiceStatus::Open => InvoiceStatusDto::Open,
            InvoiceStatus::Paid => InvoiceStatusDto::Paid,
            InvoiceStatus::Cancelled => InvoiceStatusDto::Cancelled,
        }
    }
}

impl From<InvoiceStatusDto> for InvoiceStatus {
    fn from(s: InvoiceStatusDto) -> Self {
        match s {
            InvoiceStatusDto::Open => InvoiceStatus::Open,
            InvoiceStatusDto::Paid => InvoiceStatus::Paid,
            InvoiceStatusDto::Cancelled => InvoiceStatus::Cancelled,
        }
    }
}

/// An invoice.
#[derive(Serialize, ToSchema)]
pub struct InvoiceDto {
    pub id: Uuid,
    /// Unique among invoices.
    pub number: String,
    /// What it is for.
    pub name: String,
    pub customer_number: Option<String>,
    /// In E.164.
    pub mobile_phone: Option<String>,
    /// In E.164.
    pub landline: Option<String>,
    /// In lower case.
    pub email: Option<String>,
    /// With its two decimals (`49.90`).
    pub amount: String,
    /// ISO 4217.
    pub currency: String,
    #[schema(value_type = Option<String>, format = Date)]
    pub due_date: Option<String>,
    pub status: InvoiceStatusDto,
    pub revision: u64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<&Invoice> for InvoiceDto {
    fn from(i: &Invoice) -> Self {
        InvoiceDto {
            id: i.id,
            number: i.number.clone(),
            name: i.name.clone(),
            customer_number: i.customer_number.clone(),
            mobile_phone: i.mobile_phone.clone(),
            landline: i.landline.clone(),
            email: i.email.clone(),
            amount: i.amount.clone(),
            currency: i.currency.clone(),
            due_date: i.due_date.map(|d| d.to_string()),
            status: i.status.into(),
            revision: i.revision,
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

fn response(status: StatusCode, i: &Invoice) -> Response {
    (
        status,
        [(header::ETAG, format!("\"{}\"", i.revision))],
        Json(InvoiceDto::from(i)),
    )
        .into_response()
}

/// An invoice's fields. On creation `number`, `amount` and `currency` are needed; on a change
/// what is given changes, and a field given empty is emptied (number, amount, currency and
/// status cannot be).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceBody {
    #[schema(max_length = 64)]
    pub number: Option<String>,
    #[schema(max_length = 200)]
    pub name: Option<String>,
    #[schema(max_length = 64)]
    pub customer_number: Option<String>,
    /// With its country code, or in the deployment's `phone_region`.
    #[schema(max_length = 64)]
    pub mobile_phone: Option<String>,
    #[schema(max_length = 64)]
    pub landline: Option<String>,
    #[schema(max_length = 320)]
    pub email: Option<String>,
    /// At most two decimals, at most 1 000 000 000 (`49.90`).
    #[schema(max_length = 16)]
    pub amount: Option<String>,
    /// ISO 4217 (`EUR`).
    #[schema(max_length = 3)]
    pub currency: Option<String>,
    /// `YYYY-MM-DD`.
    #[schema(max_length = 10)]
    pub due_date: Option<String>,
    pub status: Option<InvoiceStatusDto>,
}

impl From<InvoiceBody> for InvoiceInput {
    fn from(b: InvoiceBody) -> Self {
        InvoiceInput {
            number: b.number,
            name: b.name,
            customer_number: b.customer_number,
            mobile_phone: b.mobile_phone,
            landline: b.landline,
            email: b.email,
            amount: b.amount,
            currency: b.currency,
            due_date: b.due_date,
            status: b.status.map(|s| InvoiceStatus::from(s).as_str().to_owned()),
        }
    }
}

/// Filters and pagination of the invoice list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InvoiceQuery {
    pub status: Option<InvoiceStatusDto>,
    pub customer_number: Option<String>,
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
    pub after: Option<Uuid>,
}

/// A page of invoices, newest first.
#[derive(Serialize, ToSchema)]
pub struct InvoicePage {
    pub items: Vec<InvoiceDto>,
    pub next_after: Option<Uuid>,
}

/// Lists invoices, newest first, filtered by status or customer number.
#[utoipa::path(get, path = "/invoices", tag = "Invoices", security(("token" = ["invoices:read"])), params(InvoiceQuery),
    responses((status = 200, body = InvoicePage), (status = 400, body = ProblemBody)))]
pub async fn list(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<InvoiceQuery>,
) -> ApiResult<Json<InvoicePage>> {
    let filter = InvoiceFilter {
        status: q.status.map(Into::into),
        customer_number: q.customer_number,
    };
    let p = state
        .conversations
        .invoices(&filter, &page_request(q.limit, q.after)?)
        .await?;
    Ok(Json(InvoicePage {
        items: p.items.iter().map(Into::into).collect(),
        next_after: p.next_after,
    }))
}

/// Adds an invoice (open unless its status says otherwise).
#[utoipa::path(post, path = "/invoices", tag = "Invoices", security(("token" = ["invoices:create"])), request_body = InvoiceBody,
    responses((status = 201, body = InvoiceDto),
        (status = 409, body = ProblemBody, description = "number_taken: another invoice has the number; invoices_full: the deployment keeps its 10 000 000 invoices"),
        (status = 422, body = ProblemBody, description = "invalid_invoice: a field missing or refused (an amount of more than two decimals, a currency that is not three letters, a phone number or email that is none, a date that is not YYYY-MM-DD)")))]
pub async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<InvoiceBody>,
) -> ApiResult<Response> {
    let i = state.conversations.create_invoice(&body.into()).await?;
    Ok(response(StatusCode::CREATED, &i))
}

/// One invoice.
#[utoipa::path(get, path = "/invoices/{id}", tag = "Invoices", security(("token" = ["invoices:read"])), params(("id" = Uuid, Path)),
    responses((status = 200, body = InvoiceDto), (status = 404, body = ProblemBody)))]
pub async fn get(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Response> {
    let i = state.conversations.invoice(id).await?;
    Ok(response(StatusCode::OK, &i))
}

/// Changes an invoice.
#[utoipa::path(patch, path = "/invoices/{id}", tag = "Invoices", security(("token" = ["invoices:edit"])),
    params(("If-Match" = Option<String>, Header, description = "The revision the change expects (`\"3\"`, as the ETag gave it): 412 `precondition_failed` if it is no longer the current one; none: no check"), ("id" = Uuid, Path)),
    request_body = InvoiceBody,
    responses((status = 200, body = InvoiceDto), (status = 404, body = ProblemBody), (status = 412, body = ProblemBody),
        (status = 409, body = ProblemBody, description = "number_taken: another invoice has the number"),
        (status = 422, body = ProblemBody, description = "invalid_invoice: a field refused")))]
pub async fn update(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
    IfMatch(if_match): IfMatch,
    JsonBody(body): JsonBody<InvoiceBody>,
) -> ApiResult<Response> {
    let i = state
        .conversations
        .update_invoice(id, &body.into(), if_match)
        .await?;
    Ok(response(StatusCode::OK, &i))
}

/// Deletes an invoice.
#[utoipa::path(delete, path = "/invoices/{id}", tag = "Invoices", security(("token" = ["invoices:delete"])), params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ProblemBody)))]
pub async fn delete(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<StatusCode> {
    state.conversations.delete_invoice(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds invoices from a CSV file (RFC 4180, UTF-8, comma-separated, at most 20 MiB and
/// 100 000 lines): the first line names the columns — `number`, `name`, `customer_number`,
/// `mobile_phone`, `landline`, `email`, `amount`, `currency`, `due_date`, `status`, in any
/// case and order, `number`, `amount` and `currency` needed — and every other line is an
/// invoice, checked as `POST /invoices` checks one. Good lines are written by batches of 500;
/// a refused line (its values, or a number another invoice or an earlier line has) refuses
/// only itself, and the report lists why.
#[utoipa::path(post, path = "/invoices/import", tag = "Invoices", security(("token" = ["invoices:create"])),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportReportDto),
        (status = 413, body = ProblemBody, description = "body_too_large: the file is larger than 20 MiB"),
        (status = 409, body = ProblemBody, description = "invoices_full: the deployment keeps its 10 000 000 invoices"),
        (status = 422, body = ProblemBody, description = "invalid_invoice: the header names an unknown or repeated column or lacks a needed one, the file is empty or has more than 100 000 lines")))]
pub async fn import(
    State(state): State<AppState>,
    deadline: Option<axum::Extension<crate::Deadline>>,
    body: Body,
) -> ApiResult<Json<ImportReportDto>> {
    if let Some(axum::Extension(deadline)) = deadline {
        deadline.extend(crate::database_rows::IMPORT_DURATION);
    }
    let max = flow::invoices::limits::IMPORT_BYTES;
    let mut file = Vec::new();
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "invalid_body", e.to_string()))?;
        if file.len() + chunk.len() > max {
            return Err(Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the file is larger than {max} bytes: nothing was imported"),
            ));
        }
        file.extend_from_slice(&chunk);
    }
    let report = state.conversations.import_invoices(&file).await?;
    Ok(Json(ImportReportDto {
        inserted: report.inserted,
        refused: report.refused,
        errors: report
            .errors
            .into_iter()
            .map(|e| ImportErrorDto {
                line: e.line,
                message: e.message,
            })
            .collect(),
    }))
}

/// Where a payment is.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatusDto {
    Creating,
    Pending,
    Processing,
    Succeeded,
    Failed,
    Fraudulent,
    Stopped,
    BankTransferError,
    Error,
}

impl PaymentStatusDto {
    fn of(s: PaymentStatus) -> Self {
        use PaymentStatusDto as D;
        match s {
            PaymentStatus::Creating => D::Creating,
            PaymentStatus::Pending => D::Pending,
            PaymentStatus::Processing => D::Processing,
            PaymentStatus::Succeeded => D::Succeeded,
            PaymentStatus::Failed => D::Failed,
            PaymentStatus::Fraudulent => D::Fraudulent,
            PaymentStatus::Stopped => D::Stopped,
            PaymentStatus::BankTransferError => D::BankTransferError,
            PaymentStatus::Error => D::Error,
        }
    }

    fn status(self) -> PaymentStatus {
        use PaymentStatusDto as D;
        match self {
            D::Creating => PaymentStatus::Creating,
            D::Pending => PaymentStatus::Pending,
            D::Processing => PaymentStatus::Processing,
            D::Succeeded => PaymentStatus::Succeeded,
            D::Failed => PaymentStatus::Failed,
            D::Fraudulent => PaymentStatus::Fraudulent,
            D::Stopped => PaymentStatus::Stopped,
            D::BankTransferError => PaymentStatus::BankTransferError,
            D::Error => PaymentStatus::Error,
        }
    }
}

/// A payment *Pay an invoice* started.
#[derive(Serialize, ToSchema)]
pub struct PaymentDto {
    pub id: Uuid,
    /// The payment module it went through.
    pub module_id: Uuid,
    pub interaction_id: Option<Uuid>,
    /// The invoice it pays (none: an amount the routing gave).
    pub invoice_id: Option<Uuid>,
    /// With its two decimals.
    pub amount: String,
    pub currency: String,
    /// The invoice's number or the routing's reference.
    pub reference: String,
    /// `sms`, `email` or `smart_routing`.
    pub mode: String,
    /// The provider's session id.
    pub session: Option<String>,
    pub status: PaymentStatusDto,
    /// Why it failed, was refused or stopped.
    pub reason: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<&Payment> for PaymentDto {
    fn from(p: &Payment) -> Self {
        PaymentDto {
            id: p.id,
            module_id: p.module_id,
            interaction_id: p.interaction_id,
            invoice_id: p.invoice_id,
            amount: p.amount.clone(),
            currency: p.currency.clone(),
            reference: p.reference.clone(),
            mode: p.mode.clone(),
            session: p.session.clone(),
            status: PaymentStatusDto::of(p.status),
            reason: p.reason.clone(),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// Filters and pagination of the payment list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PaymentQuery {
    pub status: Option<PaymentStatusDto>,
    pub invoice_id: Option<Uuid>,
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
    pub after: Option<Uuid>,
}

/// A page of payments, newest first.
#[derive(Serialize, ToSchema)]
pub struct PaymentPage {
    pub items: Vec<PaymentDto>,
    pub next_after: Option<Uuid>,
}

/// Lists payments, newest first, filtered by status or invoice.
#[utoipa::path(get, path = "/payments", tag = "Invoices", security(("token" = ["invoices:read"])), params(PaymentQuery),
    responses((status = 200, body = PaymentPage), (status = 400, body = ProblemBody)))]
pub async fn payments(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<PaymentQuery>,
) -> ApiResult<Json<PaymentPage>> {
    let filter = PaymentFilter {
        status: q.status.map(PaymentStatusDto::status),
        invoice_id: q.invoice_id,
    };
    let p = state
        .conversations
        .payments(&filter, &page_request(q.limit, q.after)?)
        .await?;
    Ok(Json(PaymentPage {
        items: p.items.iter().map(Into::into).collect(),
        next_after: p.next_after,
    }))
}

/// One payment.
#[utoipa::path(get, path = "/payments/{id}", tag = "Invoices", security(("token" = ["invoices:read"])), params(("id" = Uuid, Path)),
    responses((status = 200, body = PaymentDto), (status = 404, body = ProblemBody)))]
pub async fn payment(
    State(state): State<AppState>,
    PathParams(id): PathParams<Uuid>,
) -> ApiResult<Json<PaymentDto>> {
    let p = state.conversations.payment(id).await?;
    Ok(Json((&p).into()))
}
