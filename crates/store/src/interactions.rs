//! Persistence of entry points and interactions: the interaction rows (engine state and
//! durable timer), inbound deduplication, event history and the outbox.

use async_trait::async_trait;
use flow::RoutingId;
use flow::customer::Customer;
use flow::entry_point::{Channel, EntryPoint, EntryPointId};
use flow::interaction::{InteractionStatus, Mode};
use jiff::Timestamp;
use serde_json::Value;
use uuid::Uuid;

use crate::{Page, PageRequest, Result};

/// An interaction row.
#[derive(Clone, Debug, PartialEq)]
pub struct InteractionRow {
    pub id: Uuid,
    pub entry_point_id: Option<EntryPointId>,
    pub mode: Mode,
    /// The customer's address on the channel.
    pub customer: String,
    /// The customer (none for previews).
    pub customer_id: Option<Uuid>,
    pub routing_id: RoutingId,
    pub version_id: Uuid,
    pub status: InteractionStatus,
    /// The engine's state.
    pub state: Value,
    /// When its timer fires.
    pub wake_at: Option<Timestamp>,
    /// Sequence number of its next event.
    pub next_seq: u64,
    pub revision: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl InteractionRow {
    /// The interaction without its engine state.
    pub fn record(&self) -> flow::interaction::Interaction {
        flow::interaction::Interaction {
            id: self.id,
            entry_point_id: self.entry_point_id,
            mode: self.mode,
            customer: self.customer.clone(),
            customer_id: self.customer_id,
            routing_id: self.routing_id,
            version_id: self.version_id,
            status: self.status,
            wake_at: self.wake_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

impl From<EventRow> for flow::interaction::HistoryEvent {
    fn from(e: EventRow) -> Self {
        flow::interaction::HistoryEvent {
            seq: e.seq,
            at: e.at,
            event: e.event,
        }
    }
}

/// One event of an interaction's history.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRow {
    pub interaction_id: Uuid,
    pub seq: u64,
    pub at: Timestamp,
    pub event: Value,
}

/// A message to deliver; its id is its idempotency key.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxRow {
    pub id: Uuid,
    pub interaction_id: Uuid,
    /// Sequence number of the reply's `message_out` event in its interaction.
    pub seq: u64,
    pub entry_point_id: Option<EntryPointId>,
    pub payload: Value,
    pub created_at: Timestamp,
    pub attempts: u32,
    /// When to try (again); `None` once delivered or given up.
    pub next_attempt_at: Option<Timestamp>,
    pub delivered_at: Option<Timestamp>,
    pub last_error: Option<String>,
}

/// An asynchronous web service call waiting to be made (or made, or given up).
#[derive(Clone, Debug, PartialEq)]
pub struct WebCallRow {
    /// Also its `Idempotency-Key`.
    pub id: Uuid,
    pub interaction_id: Uuid,
    /// The web service definition (a business object).
    pub service_id: Uuid,
    pub inputs: Vec<(String, String)>,
    pub created_at: Timestamp,
    pub attempts: u32,
    /// When to try (again); `None` once made or given up.
    pub next_attempt_at: Option<Timestamp>,
    pub done_at: Option<Timestamp>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
}

/// Everything one turn writes, atomically.
#[derive(Clone, Debug)]
pub struct TurnWrite {
    pub interaction: InteractionRow,
    /// `None` inserts the interaction; `Some(r)` updates it if still at revision `r`.
    pub expected_revision: Option<u64>,
    /// The inbound message this turn handled: `(entry point, channel message id)`.
    pub inbound: Option<(EntryPointId, String)>,
    pub events: Vec<EventRow>,
    pub outbox: Vec<OutboxRow>,
    /// Asynchronous web service calls the turn queued.
    pub web_calls: Vec<WebCallRow>,
    /// Writes to custom databases' rows the turn's actions made (*Save values to a database*,
    /// *Modify the values of a database*): a refused one (a unique value taken meanwhile, a
    /// row changed) refuses the whole turn as a `Conflict`, so it is stepped again.
    pub db_writes: Vec<crate::DbWrite>,
    /// Writes to cases the turn's actions made (a case created, changed, linked to the
    /// interaction or unlinked), in the same savepoint as `db_writes`: a refused one refuses the
    /// whole turn as a `Conflict`.
    pub case_writes: Vec<crate::CaseWrite>,
    /// CRM cards the turn's actions linked to the interaction, in the same savepoint (a card
    /// gone meanwhile refuses the whole turn as a `Conflict`).
    pub card_links: Vec<crate::CardLink>,
    /// Survey responses the turn attached, started or advanced, in the same savepoint (one no
    /// longer where the turn found it refuses the whole turn as a `Conflict`).
    pub survey_writes: Vec<crate::SurveyWrite>,
    /// Salesforce records the turn's actions linked to the interaction as cards, in the same
    /// savepoint.
    pub record_links: Vec<crate::RecordLink>,
    /// A turn written together with this one (the interaction-end routing started when this
    /// turn closes an interaction).
    pub follow_up: Option<Box<TurnWrite>>,
    /// A customer met for the first time, created with the turn (kept if it exists meanwhile).
    pub new_customer: Option<Customer>,
    /// Distribution rows written with the turn.
    pub acd: Option<crate::AcdWrite>,
    /// `(customer, user)`: the user becomes the customer's owner if they have none (their first
    /// handled conversation), in the same transaction.
    pub owner: Option<(Uuid, Uuid)>,
    /// Files the turn's message brought (an email's raw message and attachments), written only
    /// if the turn is.
    pub uploads: Vec<Upload>,
}

/// What became of one turn of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TurnOutcome {
    Committed,
    /// Its inbound message was already handled: nothing of the turn was written.
    Duplicate,
    /// The interaction changed meanwhile: nothing of the turn was written.
    Conflict,
}

/// A write to an entry point.
#[derive(Clone, Debug)]
pub enum EntryPointWrite {
    Insert(EntryPoint),
    Update {
        entry_point: EntryPoint,
        expected_revision: u64,
    },
    Delete {
        id: EntryPointId,
    },
}

/// A write to a customer.
#[derive(Clone, Debug)]
pub enum CustomerWrite {
    Insert(Customer),
    Update {
        customer: Customer,
        expected_revision: u64,
    },
    /// Deletes the customer; their interactions stay, no longer linked to anyone.
    Delete {
        id: Uuid,
    },
}

/// Filter of the customer list.
#[derive(Clone, Debug, Default)]
pub struct CustomerFilter {
    pub channel: Option<Channel>,
    pub address: Option<String>,
    pub reference: Option<String>,
}

/// Filter of the interaction list.
#[derive(Clone, Debug, Default)]
pub struct InteractionFilter {
    pub entry_point_id: Option<EntryPointId>,
    pub version_id: Option<Uuid>,
    pub status: Option<InteractionStatus>,
    pub mode: Option<Mode>,
    pub customer_id: Option<Uuid>,
    /// Leave live (and outgoing) interactions out (a version's test and preview history).
    pub not_live: bool,
}

/// What one purge removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub events: u64,
    pub inbound: u64,
    pub outbox: u64,
    pub uploads: u64,
    pub call_marks: u64,
    pub web_calls: u64,
}

impl Purged {
    pub fn total(&self) -> u64 {
        self.events + self.inbound + self.outbox + self.uploads + self.call_marks + self.web_calls
    }
}

/// A file a customer sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upload {
    pub id: Uuid,
    pub entry_point_id: EntryPointId,
    pub customer: String,
    /// Sniffed from the bytes, never taken from the sender.
    pub content_type: String,
    pub size: u64,
    pub data: Vec<u8>,
    pub created_at: Timestamp,
}

/// Persistence of entry points and interactions.
#[async_trait]
pub trait InteractionStore: Send + Sync + 'static {
    async fn entry_points(&self, page: &PageRequest) -> Result<Page<EntryPoint>>;
    async fn entry_point(&self, id: EntryPointId) -> Result<Option<EntryPoint>>;
    /// The entry points that run `version` in test (at most 100).
    async fn entry_points_testing(&self, version: Uuid) -> Result<Vec<EntryPoint>>;
    async fn entry_point_by_reference(&self, reference: &str) -> Result<Option<EntryPoint>>;
    async fn write_entry_point(&self, write: EntryPointWrite) -> Result<()>;

    /// The customer's interaction on an entry point that is not closed, if any.
    async fn open_interaction(
        &self,
        entry_point: EntryPointId,
        customer: &str,
    ) -> Result<Option<InteractionRow>>;
    /// Where an IMAP mailbox was read up to: its folder's UIDVALIDITY and the highest UID
    /// handled.
    async fn imap_state(&self, entry_point: EntryPointId) -> Result<Option<(u32, u32)>>;
    async fn set_imap_state(
        &self,
        entry_point: EntryPointId,
        uid_validity: u32,
        last_uid: u32,
        now: Timestamp,
    ) -> Result<()>;
    /// The customer's interactions on an entry point that are not closed, newest first.
    async fn open_interactions(
        &self,
        entry_point: EntryPointId,
        customer: &str,
        limit: u32,
    ) -> Result<Vec<InteractionRow>>;
    async fn interaction(&self, id: Uuid) -> Result<Option<InteractionRow>>;
    /// The customer's latest interaction on an entry point, closed or not.
    async fn latest_interaction(
        &self,
        entry_point: EntryPointId,
        customer: &str,
    ) -> Result<Option<InteractionRow>>;
    /// Interactions, newest first.
    async fn interactions(
        &self,
        filter: &InteractionFilter,
        page: &PageRequest,
    ) -> Result<Page<InteractionRow>>;
    /// Events after `after_seq`, in order.
    async fn events(&self, interaction: Uuid, after_seq: u64, limit: u32) -> Result<Vec<EventRow>>;
    /// The interaction that handled this channel message of this customer, if it was seen.
    async fn inbound_seen(
        &self,
        entry_point: EntryPointId,
        customer: &str,
        message_id: &str,
    ) -> Result<Option<Uuid>>;
    /// Writes many turns in one transaction (group commit); each turn is all or nothing.
    async fn commit_turns(&self, turns: Vec<TurnWrite>) -> Result<Vec<TurnOutcome>>;
    /// Writes the distribution's rows (in order, before anything else) and many turns in one
    /// transaction. A store that keeps no distribution rows refuses any.
    async fn commit_batch(
        &self,
        acd: &[crate::AcdWrite],
        turns: Vec<TurnWrite>,
    ) -> Result<Vec<TurnOutcome>> {
        if !acd.is_empty() {
            return Err(crate::StoreError::Backend(
                "this store keeps no distribution rows".into(),
            ));
        }
        self.commit_turns(turns).await
    }
    /// Interactions whose timer is due, oldest first.
    async fn due_interactions(&self, now: Timestamp, limit: u32) -> Result<Vec<Uuid>>;
    async fn next_wake(&self) -> Result<Option<Timestamp>>;
    /// Outbox messages to try now: for each customer of an entry point, only their oldest
    /// undelivered one (so replies reach a customer in the order they were written, retries
    /// included), in writing order (ids are time-ordered).
    async fn pending_outbox(&self, now: Timestamp, limit: u32) -> Result<Vec<OutboxRow>>;
    async fn next_outbox_attempt(&self) -> Result<Option<Timestamp>>;
    /// Queued web service calls due at `now`, oldest first.
    async fn pending_web_calls(&self, now: Timestamp, limit: u32) -> Result<Vec<WebCallRow>>;
    async fn next_web_call_attempt(&self) -> Result<Option<Timestamp>>;
    /// Records an attempt of a queued call: made (`done_at`), to retry at `next_attempt_at`, or
    /// given up (both `None`).
    async fn record_web_call(
        &self,
        id: Uuid,
        attempts: u32,
        done_at: Option<Timestamp>,
        next_attempt_at: Option<Timestamp>,
        status: Option<u16>,
        error: Option<String>,
    ) -> Result<()>;
    /// Applies writes to custom databases' rows in one transaction: `Unique("value")` when a
    /// unique column's value is taken, `Full` at a database's row limit, `Conflict` when a row
    /// changed or is gone; nothing is written then.
    async fn db_write(&self, writes: &[crate::DbWrite]) -> Result<()>;
    /// A row of a custom database.
    async fn db_row(&self, database: Uuid, id: Uuid) -> Result<Option<crate::DbRow>>;
    /// A database's rows in the order they were added, after `after`.
    async fn db_rows(
        &self,
        database: Uuid,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<crate::Page<crate::DbRow>>;
    /// A database's rows whose `column` has the search key `key` (an indexed column's, or a
    /// unique one's), by the index.
    async fn db_rows_by_key(
        &self,
        database: Uuid,
        column: &str,
        key: &str,
        unique: bool,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<crate::Page<crate::DbRow>>;
    /// How many rows a database holds.
    async fn db_count(&self, database: Uuid) -> Result<u64>;
    /// Applies writes to cases in one transaction: `Unique("reference")` when a reference is
    /// taken, `Conflict` when a case changed or is gone; nothing is written then.
    async fn case_write(&self, writes: &[crate::CaseWrite]) -> Result<()>;
    async fn case_by_id(&self, id: Uuid) -> Result<Option<crate::CaseRow>>;
    async fn case_by_reference(&self, reference: &str) -> Result<Option<crate::CaseRow>>;
    /// Cases, newest first.
    async fn cases(
        &self,
        filter: &crate::CaseFilter,
        page: &PageRequest,
    ) -> Result<crate::Page<crate::CaseRow>>;
    /// The case linked to an interaction now.
    async fn case_of_interaction(&self, interaction: Uuid) -> Result<Option<crate::CaseRow>>;
    /// A case's links in the order they were made, after the first `offset`.
    async fn case_links(&self, case: Uuid, offset: u64, limit: u32)
    -> Result<Vec<crate::CaseLink>>;
    /// How many links a case has had.
    async fn case_link_count(&self, case: Uuid) -> Result<u64>;
    /// The next case number: never the same twice (a number taken by a turn that is not
    /// committed is not given again).
    async fn case_number(&self) -> Result<u64>;
    /// A customer's CRM cards, most recently linked first (at most `limit`).
    async fn customer_cards(&self, customer: Uuid, limit: u32) -> Result<Vec<crate::CardLink>>;
    /// A customer's Salesforce records linked as cards, most recently linked first.
    async fn customer_records(&self, customer: Uuid, limit: u32) -> Result<Vec<crate::RecordLink>>;
    /// The CRM cards linked to an interaction, in the order they were.
    async fn interaction_cards(&self, interaction: Uuid) -> Result<Vec<crate::CardLink>>;
    /// Inserts a campaign target once per key, within the campaign's `limit` targets.
    async fn target_insert(
        &self,
        target: &crate::TargetRow,
        limit: u64,
    ) -> Result<crate::TargetInsert>;
    /// Whether a campaign has a target of this number (only a pending one when `pending_only`).
    async fn target_held(&self, campaign: Uuid, phone: &str, pending_only: bool) -> Result<bool>;
    /// A campaign's targets in the order they were inserted.
    async fn targets(
        &self,
        campaign: Uuid,
        page: &PageRequest,
    ) -> Result<crate::Page<crate::TargetRow>>;
    /// Inserts a task once per key, within `limit` tasks in all.
    async fn task_insert(&self, task: &crate::TaskRow, limit: u64) -> Result<crate::TargetInsert>;
    /// The task of a request's key.
    async fn task_by_key(&self, key: &str) -> Result<Option<crate::TaskRow>>;
    async fn task_by_id(&self, id: Uuid) -> Result<Option<crate::TaskRow>>;
    /// A task's status set (`Conflict` when it is gone).
    async fn task_set_status(&self, id: Uuid, status: &str, at: jiff::Timestamp) -> Result<()>;
    /// A task removed (`Conflict` when it is gone).
    async fn task_delete(&self, id: Uuid) -> Result<()>;
    /// Tasks, newest first.
    async fn tasks(
        &self,
        filter: &crate::TaskFilter,
        page: &PageRequest,
    ) -> Result<crate::Page<crate::TaskRow>>;
    /// The payment of `payment.key`: written if there is none yet, else the one there is (a
    /// request performed again finds its payment).
    async fn payment_begin(&self, payment: &crate::PaymentRow) -> Result<crate::PaymentRow>;
    /// A payment's session, link, status and reason recorded.
    async fn payment_set(&self, payment: &crate::PaymentRow) -> Result<()>;
    async fn payment_by_id(&self, id: Uuid) -> Result<Option<crate::PaymentRow>>;
    /// Takes a provider's event once, in one transaction with what it does (the payment's
    /// status, its invoice paid): `false`, nothing written, when it was taken already.
    async fn payment_event(&self, event: &crate::PaymentEventWrite) -> Result<bool>;
    /// The survey response attached to an interaction that has not started.
    async fn survey_attached(&self, interaction: Uuid) -> Result<Option<crate::ResponseRow>>;
    /// The survey a customer of an entry point is answering in the channel at `now`.
    async fn survey_waiting(
        &self,
        entry_point: Uuid,
        customer: &str,
        now: jiff::Timestamp,
    ) -> Result<Option<crate::ResponseRow>>;
    /// Whether any customer may be answering a survey in the channel at `now`.
    async fn surveys_waiting(&self, now: jiff::Timestamp) -> Result<bool>;
    /// The survey response of a page link's token hash.
    async fn survey_by_token(&self, hash: &str) -> Result<Option<crate::ResponseRow>>;
    /// Takes a survey page's answers if the response still waits for them at `at`.
    async fn survey_page_answers(
        &self,
        hash: &str,
        answers: &serde_json::Map<String, serde_json::Value>,
        at: jiff::Timestamp,
    ) -> Result<bool>;
    /// Survey responses, newest first.
    async fn survey_responses(
        &self,
        filter: &crate::ResponseFilter,
        page: &PageRequest,
    ) -> Result<crate::Page<crate::ResponseRow>>;
    /// Payments, newest first.
    async fn payments(
        &self,
        filter: &crate::PaymentFilter,
        page: &PageRequest,
    ) -> Result<crate::Page<crate::PaymentRow>>;
    /// Applies a write to invoices in one transaction (see [`crate::InvoiceWrite`]).
    async fn invoice_write(&self, write: &crate::InvoiceWrite) -> Result<()>;
    async fn invoice_by_id(&self, id: Uuid) -> Result<Option<crate::InvoiceRow>>;
    /// The invoice whose identifier `key` is `value` (canonical form), the oldest or most
    /// recent by due date (none last), then by creation; only open ones when `open_only`.
    async fn invoice_find(
        &self,
        key: flow::catalogue::params::InvoiceKey,
        value: &str,
        pick: flow::catalogue::params::InvoicePick,
        open_only: bool,
    ) -> Result<Option<crate::InvoiceRow>>;
    /// Which of these numbers invoices hold (the caller bounds how many it asks).
    async fn invoice_numbers_held(&self, numbers: &[String]) -> Result<Vec<String>>;
    /// Invoices, newest first.
    async fn invoices(
        &self,
        filter: &crate::InvoiceFilter,
        page: &PageRequest,
    ) -> Result<crate::Page<crate::InvoiceRow>>;
    /// Which of these `(column, key)` pairs of a database's unique columns a row holds, read
    /// in one statement (the caller bounds how many it asks: one import batch's).
    async fn db_unique_held(
        &self,
        database: Uuid,
        keys: &[(String, String)],
    ) -> Result<Vec<(String, String)>>;
    /// A definition's queued calls, newest first.
    async fn web_calls_of(
        &self,
        service: Uuid,
        page: &crate::PageRequest,
    ) -> Result<crate::Page<WebCallRow>>;
    /// Marks a call that must not be made twice as started, durably, before it is made: `false`
    /// when `key` was marked already (the same turn run again after a crash).
    async fn mark_call(&self, key: &str, at: Timestamp) -> Result<bool>;
    /// Records an attempt: delivered, to retry at `next_attempt_at`, or given up (both `None`).
    async fn record_attempt(
        &self,
        id: Uuid,
        attempts: u32,
        delivered_at: Option<Timestamp>,
        next_attempt_at: Option<Timestamp>,
        error: Option<String>,
    ) -> Result<()>;
    /// Notes the provider's id of a delivered reply (for its delivery statuses).
    async fn record_provider_id(&self, id: Uuid, provider_message_id: &str) -> Result<()>;
    /// Sets the delivery status of the reply the provider calls `provider_message_id`; its
    /// interaction and the sequence number of its `message_out` event, if there is one.
    async fn record_delivery_status(
        &self,
        provider_message_id: &str,
        status: &str,
    ) -> Result<Option<(Uuid, u64)>>;
    /// Start times of a customer's latest contacts (live and test interactions), newest first,
    /// `except` left out.
    async fn contacts(&self, customer: Uuid, except: Uuid, limit: u32) -> Result<Vec<Timestamp>>;
    async fn customer(&self, id: Uuid) -> Result<Option<Customer>>;
    async fn customers(
        &self,
        filter: &CustomerFilter,
        page: &PageRequest,
    ) -> Result<Page<Customer>>;
    /// Refuses a taken reference or address with `Unique`, a stale update or a missing
    /// customer with `Conflict`.
    async fn write_customer(&self, write: CustomerWrite) -> Result<()>;
    async fn put_upload(&self, upload: &Upload) -> Result<()>;
    /// How many files a customer of an entry point sent since `since`, and their bytes.
    async fn upload_usage(
        &self,
        entry_point: EntryPointId,
        customer: &str,
        since: Timestamp,
    ) -> Result<(u64, u64)>;
    /// Removes, at most `limit` rows of each kind, what is older than `before`: the events of
    /// interactions closed before it, inbound deduplication rows, delivered (or given up)
    /// outbox rows, and uploads.
    async fn purge(&self, before: Timestamp, limit: u32) -> Result<Purged>;
    async fn upload(&self, id: Uuid) -> Result<Option<Upload>>;
    /// The outbox of one interaction, in order.
    async fn outbox_of(&self, interaction: Uuid) -> Result<Vec<OutboxRow>>;
}
