//! Persistence behind the [`Store`] trait. SQLite is the embedded default; the trait speaks only
//! in `flow` types, so another backend (PostgreSQL) plugs in without touching business code.
//! This crate holds no business rules: it stores what it is given, atomically, and refuses
//! stale writes (optimistic concurrency on revisions).

pub mod access;
pub mod agents;
pub mod campaigns;
pub mod cases;
pub mod crm;
pub mod databases;
mod faults;
pub mod interactions;
pub mod invoices;
pub mod payments;
mod sqlite;
mod sqlite_access;
mod sqlite_agents;
mod sqlite_campaigns;
mod sqlite_cases;
mod sqlite_crm;
mod sqlite_customers;
mod sqlite_databases;
mod sqlite_interactions;
mod sqlite_invoices;
mod sqlite_objects;
mod sqlite_payments;
mod sqlite_surveys;
mod sqlite_tasks;
pub mod surveys;
pub mod tasks;

use async_trait::async_trait;
use flow::tree::Tree;
use flow::{ChannelFamily, Routing, RoutingId, RoutingKind, Version, VersionId, VersionRecord};
use jiff::Timestamp;
use uuid::Uuid;

pub use access::*;
pub use agents::*;
pub use campaigns::*;
pub use cases::*;
pub use crm::*;
pub use databases::*;
pub use faults::{Fault, Faulty, Hold};
pub use interactions::*;
pub use invoices::*;
pub use payments::*;
pub use sqlite::SqliteStore;
pub use surveys::*;
pub use tasks::*;

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A guarded write found a newer revision, or the row it depends on is gone.
    #[error("the data changed meanwhile")]
    Conflict,
    /// A unique value (named) is already taken.
    #[error("{0} is already taken")]
    Unique(&'static str),
    /// A limit the store keeps (the rows of a custom database) is reached.
    #[error("the limit is reached")]
    Full,
    /// The object cannot be deleted while others depend on it (`0` says which).
    #[error("{0}")]
    InUse(String),
    /// The database failed; the underlying error is kept as the source.
    #[error("storage error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Filter of the routing list.
#[derive(Clone, Debug, Default)]
pub struct RoutingFilter {
    pub channel_family: Option<ChannelFamily>,
    pub kind: Option<RoutingKind>,
}

/// Keyset pagination: items after `after`, at most `limit`.
#[derive(Clone, Debug)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<Uuid>,
}

/// One page of a list.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `after` to get the next page; `None` on the last page.
    pub next_after: Option<Uuid>,
}

/// A write to a routing row.
#[derive(Clone, Debug)]
pub enum RoutingWrite {
    Insert(Routing),
    /// Replaces the row if its revision is still `expected_revision`.
    Update {
        routing: Routing,
        expected_revision: u64,
    },
    /// Deletes the row (and its versions) if its revision is still `expected_revision`.
    Delete {
        id: RoutingId,
        expected_revision: u64,
    },
}

/// A write to a version row.
#[derive(Clone, Debug)]
pub enum VersionWrite {
    Insert(Version),
    /// Replaces the record (and the tree when given) if the revision is still `expected_revision`.
    Update {
        record: VersionRecord,
        tree: Option<Tree>,
        expected_revision: u64,
    },
    Delete(VersionId),
}

/// Writes applied in one transaction: all or nothing.
#[derive(Clone, Debug, Default)]
pub struct Changes {
    pub routing: Option<RoutingWrite>,
    pub versions: Vec<VersionWrite>,
}

/// A write to a business object.
#[derive(Clone, Debug)]
pub enum ObjectWrite {
    Insert(flow::objects::BusinessObject),
    /// Replaces the object if its revision is still `expected_revision`.
    Update {
        object: flow::objects::BusinessObject,
        expected_revision: u64,
    },
    Delete {
        kind: flow::catalogue::ObjectKind,
        id: Uuid,
    },
}

/// What is known of a file an administrator uploaded, besides its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileInfo {
    pub id: Uuid,
    /// The file name attachments carry.
    pub name: String,
    pub content_type: String,
    pub size: u64,
    pub created_at: Timestamp,
}

/// A file an administrator uploaded, with its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredFile {
    pub info: FileInfo,
    pub data: Vec<u8>,
}

/// A stored response to a request with an `Idempotency-Key`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    pub key: String,
    /// Hash of the method, path and body of the request.
    pub fingerprint: String,
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
    pub created_at: Timestamp,
}

/// Persistence of routings and versions.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Whether the store answers.
    async fn ready(&self) -> Result<()>;
    async fn routing(&self, id: RoutingId) -> Result<Option<Routing>>;
    async fn routing_by_reference(&self, reference: &str) -> Result<Option<Routing>>;
    /// Routings in id order (ids are time-ordered UUIDs, so creation order).
    async fn routings(&self, filter: &RoutingFilter, page: &PageRequest) -> Result<Page<Routing>>;
    async fn count_routings(&self) -> Result<u64>;
    /// Every version of a routing, without trees, by number.
    async fn versions(&self, routing: RoutingId) -> Result<Vec<VersionRecord>>;
    async fn version(&self, id: VersionId) -> Result<Option<Version>>;
    /// Versions whose planned production is due at `now`, oldest first.
    async fn due_schedules(&self, now: Timestamp, limit: u32) -> Result<Vec<VersionRecord>>;
    /// Every production version with its routing (to build the programs that run).
    async fn production_versions(&self) -> Result<Vec<(Routing, Version)>>;
    /// The earliest planned production, if any.
    async fn next_schedule(&self) -> Result<Option<Timestamp>>;
    /// Applies writes in one transaction; a stale guarded write fails it whole with `Conflict`.
    async fn apply(&self, changes: Changes) -> Result<()>;
    /// Business objects of a kind, in id order.
    async fn objects(
        &self,
        kind: flow::catalogue::ObjectKind,
        page: &PageRequest,
    ) -> Result<Page<flow::objects::BusinessObject>>;
    /// Every business object (to build what running interactions read).
    async fn all_objects(&self) -> Result<Vec<flow::objects::BusinessObject>>;
    async fn count_objects(&self, kind: flow::catalogue::ObjectKind) -> Result<u64>;
    async fn object(
        &self,
        kind: flow::catalogue::ObjectKind,
        id: Uuid,
    ) -> Result<Option<flow::objects::BusinessObject>>;
    async fn object_by_reference(
        &self,
        kind: flow::catalogue::ObjectKind,
        reference: &str,
    ) -> Result<Option<flow::objects::BusinessObject>>;
    /// `Conflict` when the object changed or is gone; `Unique` when the reference is taken.
    async fn write_object(&self, write: ObjectWrite) -> Result<()>;
    /// Writes a custom database's new definition (`Conflict` if the object is no longer at
    /// `expected_revision`) and rewrites every one of its rows with `reshape` (values and
    /// keys), in one transaction; when rows are refused nothing is written and (at most
    /// `shown` of) the refusals are returned.
    async fn reshape_database(
        &self,
        object: &flow::objects::BusinessObject,
        expected_revision: u64,
        reshape: &Reshape<'_>,
        shown: usize,
    ) -> Result<Vec<Refusal>>;
    /// Stores a new file.
    async fn put_file(&self, file: &StoredFile) -> Result<()>;
    /// A file with its bytes.
    async fn file(&self, id: Uuid) -> Result<Option<StoredFile>>;
    /// Files without their bytes, in id order.
    async fn files(&self, page: &PageRequest) -> Result<Page<FileInfo>>;
    /// The files of `ids` that exist, without their bytes.
    async fn file_infos(&self, ids: &[Uuid]) -> Result<Vec<FileInfo>>;
    async fn count_files(&self) -> Result<u64>;
    /// `Conflict` when the file is gone.
    async fn delete_file(&self, id: Uuid) -> Result<()>;
    async fn stored_response(&self, key: &str) -> Result<Option<StoredResponse>>;
    /// Records a response; keeps the first one if the key was recorded meanwhile. Drops
    /// responses older than `expire_before`.
    async fn store_response(
        &self,
        response: StoredResponse,
        expire_before: Timestamp,
    ) -> Result<()>;
}
