//! A fault-injecting wrapper around any [`InteractionStore`], for simulations and failure tests:
//! group commits fail on demand, before writing (nothing is written) or after writing (the
//! acknowledgement is lost), so that callers' retries and deduplication are exercised.

use std::sync::Mutex;

use async_trait::async_trait;
use flow::entry_point::{EntryPoint, EntryPointId};
use jiff::Timestamp;
use uuid::Uuid;

use crate::*;

/// How commits fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    None,
    /// Nothing is written; the caller sees an error.
    Before,
    /// Everything is written; the caller sees an error (a lost acknowledgement).
    After,
}

/// A store whose group commits fail on demand: the next commit fails once as [`Faulty::fail_next`]
/// says, everything else goes to the store it wraps.
pub struct Faulty<S> {
    inner: S,
    next: Mutex<Fault>,
    /// When set, the next commit waits for it to be released (see [`Faulty::hold_next`]).
    hold: Mutex<Option<std::sync::Arc<Hold>>>,
}

/// A commit held back: `reached` once it waits, `release` lets it go on.
#[derive(Default)]
pub struct Hold {
    pub reached: tokio::sync::Notify,
    pub release: tokio::sync::Notify,
}

impl<S> Faulty<S> {
    pub fn new(inner: S) -> Self {
        Faulty {
            inner,
            next: Mutex::new(Fault::None),
            hold: Mutex::new(None),
        }
    }

    /// Holds the next commit back until the returned hold is released: a turn can then be kept
    /// between its step and its commit while a test acts meanwhile.
    pub fn hold_next(&self) -> std::sync::Arc<Hold> {
        let hold = std::sync::Arc::new(Hold::default());
        *self.hold.lock().unwrap_or_else(|p| p.into_inner()) = Some(hold.clone());
        hold
    }

    /// How the next commit fails.
    pub fn fail_next(&self, fault: Fault) {
        *self.next.lock().unwrap_or_else(|p| p.into_inner()) = fault;
    }

    fn take(&self) -> Fault {
        std::mem::replace(
            &mut *self.next.lock().unwrap_or_else(|p| p.into_inner()),
            Fault::None,
        )
    }
}

#[async_trait]
impl<S: InteractionStore> InteractionStore for Faulty<S> {
    async fn entry_points(&self, page: &PageRequest) -> Result<Page<EntryPoint>> {
        self.inner.entry_points(page).await
    }
    async fn entry_points_testing(&self, version: Uuid) -> Result<Vec<EntryPoint>> {
        self.inner.entry_points_testing(version).await
    }
    async fn entry_point(&self, id: EntryPointId) -> Result<Option<EntryPoint>> {
        self.inner.entry_point(id).await
    }
    async fn entry_point_by_reference(&self, reference: &str) -> Result<Option<EntryPoint>> {
        self.inner.entry_point_by_reference(reference).await
    }
    async fn write_entry_point(&self, write: EntryPointWrite) -> Result<()> {
        self.inner.write_entry_point(write).await
    }
    async fn open_interaction(
        &self,
        entry_point: EntryPointId,
        customer: &str,
    ) -> Result<Option<InteractionRow>> {
        self.inner.open_interaction(entry_point, customer).await
    }
    async fn imap_state(&self, entry_point: EntryPointId) -> Result<Option<(u32, u32)>> {
        self.inner.imap_state(entry_point).await
    }
    async fn set_imap_state(
        &self,
        entry_point: EntryPointId,
        uid_validity: u32,
        last_uid: u32,
        now: Timestamp,
    ) -> Result<()> {
        self.inner
            .set_imap_state(entry_point, uid_validity, last_uid, now)
            .await
    }
    async fn open_interactions(
        &self,
        entry_point: EntryPointId,
        customer: &str,
        limit: u32,
    ) -> Result<Vec<InteractionRow>> {
        self.inner
            .open_interactions(entry_point, customer, limit)
            .await
    }
    async fn latest_interaction(
        &self,
        entry_point: EntryPointId,
        customer: &str,
    ) -> Result<Option<InteractionRow>> {
        self.inner.latest_interaction(entry_point, customer).await
    }
    async fn interaction(&self, id: Uuid) -> Result<Option<InteractionRow>> {
        self.inner.interaction(id).await
    }
    async fn interactions(
        &self,
        filter: &InteractionFilter,
        page: &PageRequest,
    ) -> Result<Page<InteractionRow>> {
        self.inner.interactions(filter, page).await
    }
    async fn events(&self, interaction: Uuid, after_seq: u64, limit: u32) -> Result<Vec<EventRow>> {
        self.inner.events(interaction, after_seq, limit).await
    }
    async fn inbound_seen(
        &self,
        entry_point: EntryPointId,
        customer: &str,
        message_id: &str,
    ) -> Result<Option<Uuid>> {
        self.inner
            .inbound_seen(entry_point, customer, message_id)
            .await
    }
    async fn commit_turns(&self, turns: Vec<TurnWrite>) -> Result<Vec<TurnOutcome>> {
        self.commit_batch(&[], turns).await
    }
    async fn commit_batch(
        &self,
        acd: &[AcdWrite],
        turns: Vec<TurnWrite>,
    ) -> Result<Vec<TurnOutcome>> {
        let hold = self.hold.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = hold {
            h.reached.notify_one();
            h.release.notified().await;
        }
        match self.take() {
            Fault::Before => Err(StoreError::Backend(
                "injected failure before the commit".into(),
            )),
            Fault::After => {
                self.inner.commit_batch(acd, turns).await?;
                Err(StoreError::Backend(
                    "injected failure after the commit".into(),
                ))
            }
            Fault::None => self.inner.commit_batch(acd, turns).await,
        }
    }
    async fn due_interactions(&self, now: Timestamp, limit: u32) -> Result<Vec<Uuid>> {
        self.inner.due_interactions(now, limit).await
    }
    async fn next_wake(&self) -> Result<Option<Timestamp>> {
        self.inner.next_wake().await
    }
    async fn pending_outbox(&self, now: Timestamp, limit: u32) -> Result<Vec<OutboxRow>> {
        self.inner.pending_outbox(now, limit).await
    }
    async fn next_outbox_attempt(&self) -> Result<Option<Timestamp>> {
        self.inner.next_outbox_attempt().await
    }
    async fn pending_web_calls(&self, now: Timestamp, limit: u32) -> Result<Vec<WebCallRow>> {
        self.inner.pending_web_calls(now, limit).await
    }
    async fn next_web_call_attempt(&self) -> Result<Option<Timestamp>> {
        self.inner.next_web_call_attempt().await
    }
    async fn record_web_call(
        &self,
        id: Uuid,
        attempts: u32,
        done_at: Option<Timestamp>,
        next_attempt_at: Option<Timestamp>,
        status: Option<u16>,
        error: Option<String>,
    ) -> Result<()> {
        self.inner
            .record_web_call(id, attempts, done_at, next_attempt_at, status, error)
            .await
    }
    async fn db_write(&self, writes: &[crate::DbWrite]) -> Result<()> {
        self.inner.db_write(writes).await
    }
    async fn db_row(&self, database: Uuid, id: Uuid) -> Result<Option<crate::DbRow>> {
        self.inner.db_row(database, id).await
    }
    async fn db_rows(
        &self,
        database: Uuid,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<crate::Page<crate::DbRow>> {
        self.inner.db_rows(database, after, limit).await
    }
    async fn db_rows_by_key(
        &self,
        database: Uuid,
        column: &str,
        key: &str,
        unique: bool,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<crate::Page<crate::DbRow>> {
        self.inner
            .db_rows_by_key(database, column, key, unique, after, limit)
            .await
    }
    async fn db_count(&self, database: Uuid) -> Result<u64> {
        self.inner.db_count(database).await
    }
    async fn target_insert(
        &self,
        target: &crate::TargetRow,
        limit: u64,
    ) -> Result<crate::TargetInsert> {
        self.inner.target_insert(target, limit).await
    }
    async fn target_held(&self, campaign: Uuid, phone: &str, pending_only: bool) -> Result<bool> {
        self.inner.target_held(campaign, phone, pending_only).await
    }
    async fn targets(
        &self,
        campaign: Uuid,
        page: &PageRequest,
    ) -> Result<crate::Page<crate::TargetRow>> {
        self.inner.targets(campaign, page).await
    }
    async fn customer_cards(&self, customer: Uuid, limit: u32) -> Result<Vec<crate::CardLink>> {
        self.inner.customer_cards(customer, limit).await
    }
    async fn customer_records(&self, customer: Uuid, limit: u32) -> Result<Vec<crate::RecordLink>> {
        self.inner.customer_records(customer, limit).await
    }
    async fn interaction_cards(&self, interaction: Uuid) -> Result<Vec<crate::CardLink>> {
        self.inner.interaction_cards(interaction).await
    }
    async fn task_insert(&self, task: &crate::TaskRow, limit: u64) -> Result<crate::TargetInsert> {
        self.inner.task_insert(task, limit).await
    }
    async fn task_by_key(&self, key: &str) -> Result<Option<crate::TaskRow>> {
        self.inner.task_by_key(key).await
    }
    async fn task_by_id(&self, id: Uuid) -> Result<Option<crate::TaskRow>> {
        self.inner.task_by_id(id).await
    }
    async fn task_set_status(&self, id: Uuid, status: &str, at: jiff::Timestamp) -> Result<()> {
        self.inner.task_set_status(id, status, at).await
    }
    async fn task_delete(&self, id: Uuid) -> Result<()> {
        self.inner.task_delete(id).await
    }
    async fn tasks(
        &self,
        filter: &crate::TaskFilter,
        page: &PageRequest,
    ) -> Result<crate::Page<crate::TaskRow>> {
        self.inner.tasks(filter, page).await
    }
    async fn payment_begin(&self, payment: &crate::PaymentRow) -> Result<crate::PaymentRow> {
        self.inner.payment_begin(payment).await
    }
    async fn payment_set(&self, payment: &crate::PaymentRow) -> Result<()> {
        self.inner.payment_set(payment).await
    }
    async fn payment_by_id(&self, id: Uuid) -> Result<Option<crate::PaymentRow>> {
        self.inner.payment_by_id(id).await
    }
    async fn payment_event(&self, event: &crate::PaymentEventWrite) -> Result<bool> {
        self.inner.payment_event(event).await
    }
    async fn survey_attached(&self, interaction: Uuid) -> Result<Option<crate::ResponseRow>> {
        self.inner.survey_attached(interaction).await
    }
    async fn survey_waiting(
        &self,
        entry_point: Uuid,
        customer: &str,
        now: jiff::Timestamp,
    ) -> Result<Option<crate::ResponseRow>> {
        self.inner.survey_waiting(entry_point, customer, now).await
    }
    async fn surveys_waiting(&self, now: jiff::Timestamp) -> Result<bool> {
        self.inner.surveys_waiting(now).await
    }
    async fn survey_by_token(&self, hash: &str) -> Result<Option<crate::ResponseRow>> {
        self.inner.survey_by_token(hash).await
    }
    async fn survey_page_answers(
        &self,
        hash: &str,
        answers: &serde_json::Map<String, serde_json::Value>,
        at: jiff::Timestamp,
    ) -> Result<bool> {
        self.inner.survey_page_answers(hash, answers, at).await
    }
    async fn survey_responses(
        &self,
        filter: &crate::ResponseFilter,
        page: &PageRequest,
    ) -> Result<crate::Page<crate::ResponseRow>> {
        self.inner.survey_responses(filter, page).await
    }
    async fn payments(
        &self,
        filter: &crate::PaymentFilter,
        page: &PageRequest,
    ) -> Result<crate::Page<crate::PaymentRow>> {
        self.inner.payments(filter, page).await
    }
    async fn invoice_write(&self, write: &crate::InvoiceWrite) -> Result<()> {
        self.inner.invoice_write(write).await
    }
    async fn invoice_by_id(&self, id: Uuid) -> Result<Option<crate::InvoiceRow>> {
        self.inner.invoice_by_id(id).await
    }
    async fn invoice_find(
        &self,
        key: flow::catalogue::params::InvoiceKey,
        value: &str,
        pick: flow::catalogue::params::InvoicePick,
        open_only: bool,
    ) -> Result<Option<crate::InvoiceRow>> {
        self.inner.invoice_find(key, value, pick, open_only).await
    }
    async fn invoice_numbers_held(&self, numbers: &[String]) -> Result<Vec<String>> {
        self.inner.invoice_numbers_held(numbers).await
    }
    async fn invoices(
        &self,
        filter: &crate::InvoiceFilter,
        page: &PageRequest,
    ) -> Result<crate::Page<crate::InvoiceRow>> {
        self.inner.invoices(filter, page).await
    }
    async fn case_write(&self, writes: &[crate::CaseWrite]) -> Result<()> {
        self.inner.case_write(writes).await
    }
    async fn case_by_id(&self, id: Uuid) -> Result<Option<crate::CaseRow>> {
        self.inner.case_by_id(id).await
    }
    async fn case_by_reference(&self, reference: &str) -> Result<Option<crate::CaseRow>> {
        self.inner.case_by_reference(reference).await
    }
    async fn cases(
        &self,
        filter: &crate::CaseFilter,
        page: &PageRequest,
    ) -> Result<crate::Page<crate::CaseRow>> {
        self.inner.cases(filter, page).await
    }
    async fn case_of_interaction(&self, interaction: Uuid) -> Result<Option<crate::CaseRow>> {
        self.inner.case_of_interaction(interaction).await
    }
    async fn case_links(
        &self,
        case: Uuid,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<crate::CaseLink>> {
        self.inner.case_links(case, offset, limit).await
    }
    async fn case_link_count(&self, case: Uuid) -> Result<u64> {
        self.inner.case_link_count(case).await
    }
    async fn case_number(&self) -> Result<u64> {
        self.inner.case_number().await
    }
    async fn db_unique_held(
        &self,
        database: Uuid,
        keys: &[(String, String)],
    ) -> Result<Vec<(String, String)>> {
        self.inner.db_unique_held(database, keys).await
    }
    async fn web_calls_of(
        &self,
        service: Uuid,
        page: &crate::PageRequest,
    ) -> Result<crate::Page<WebCallRow>> {
        self.inner.web_calls_of(service, page).await
    }
    async fn mark_call(&self, key: &str, at: Timestamp) -> Result<bool> {
        self.inner.mark_call(key, at).await
    }
    async fn record_attempt(
        &self,
        id: Uuid,
        attempts: u32,
        delivered_at: Option<Timestamp>,
        next_attempt_at: Option<Timestamp>,
        error: Option<String>,
    ) -> Result<()> {
        self.inner
            .record_attempt(id, attempts, delivered_at, next_attempt_at, error)
            .await
    }
    async fn record_provider_id(&self, id: Uuid, provider_message_id: &str) -> Result<()> {
        self.inner.record_provider_id(id, provider_message_id).await
    }
    async fn record_delivery_status(
        &self,
        provider_message_id: &str,
        status: &str,
    ) -> Result<Option<(Uuid, u64)>> {
        self.inner
            .record_delivery_status(provider_message_id, status)
            .await
    }
    async fn contacts(&self, customer: Uuid, except: Uuid, limit: u32) -> Result<Vec<Timestamp>> {
        self.inner.contacts(customer, except, limit).await
    }
    async fn customer(&self, id: Uuid) -> Result<Option<flow::customer::Customer>> {
        self.inner.customer(id).await
    }
    async fn customers(
        &self,
        filter: &CustomerFilter,
        page: &PageRequest,
    ) -> Result<Page<flow::customer::Customer>> {
        self.inner.customers(filter, page).await
    }
    async fn write_customer(&self, write: CustomerWrite) -> Result<()> {
        self.inner.write_customer(write).await
    }
    async fn put_upload(&self, upload: &Upload) -> Result<()> {
        self.inner.put_upload(upload).await
    }
    async fn upload(&self, id: Uuid) -> Result<Option<Upload>> {
        self.inner.upload(id).await
    }
    async fn upload_usage(
        &self,
        entry_point: EntryPointId,
        customer: &str,
        since: Timestamp,
    ) -> Result<(u64, u64)> {
        self.inner.upload_usage(entry_point, customer, since).await
    }
    async fn purge(&self, before: Timestamp, limit: u32) -> Result<Purged> {
        self.inner.purge(before, limit).await
    }
    async fn outbox_of(&self, interaction: Uuid) -> Result<Vec<OutboxRow>> {
        self.inner.outbox_of(interaction).await
    }
}
