//! Persistence of agents (users) and of the distribution's state: its entries (one per
//! distributed interaction), each group's rotation and handling times, its random generator.

use async_trait::async_trait;
use jiff::Timestamp;
use serde_json::Value;
use uuid::Uuid;

use crate::{Page, PageRequest, Result};

/// An agent.
#[derive(Clone, Debug, PartialEq)]
pub struct UserRow {
    pub id: Uuid,
    pub reference: String,
    pub name: String,
    /// SHA-256 of the API token, hex.
    pub token_hash: String,
    /// `online`, `away` or `offline`.
    pub presence: String,
    pub capacity: u32,
    pub auto_accept: bool,
    pub last_message_at: Option<Timestamp>,
    pub revision: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The email of the user's account (read with the user; written through the account).
    pub email: Option<String>,
}

/// A write to a user. A user is an account with the agent role and the distribution's
/// settings: inserting one inserts its account (same id) in the same transaction, renaming one
/// renames its account, deleting one deletes its account.
#[derive(Clone, Debug)]
pub enum UserWrite {
    Insert {
        user: UserRow,
        account: crate::AccountRow,
    },
    Update {
        user: UserRow,
        expected_revision: u64,
    },
    Delete {
        id: Uuid,
    },
}

/// One distribution entry to write: the user holding or offered it, and the entry itself.
pub type EntryRow = (Option<Uuid>, Value);

/// Rows of the distribution to write: entries (`None` deletes), groups' state, the generator.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AcdWrite {
    /// `(interaction, Some((user holding or offered it, entry)))`.
    pub entries: Vec<(Uuid, Option<EntryRow>)>,
    /// `(group, rotation, handling times)`.
    pub groups: Vec<(Uuid, u64, Value)>,
    pub rng: Option<u64>,
}

impl AcdWrite {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.groups.is_empty() && self.rng.is_none()
    }
}

/// The distribution's state as stored.
#[derive(Clone, Debug, Default)]
pub struct AcdSnapshot {
    pub entries: Vec<Value>,
    pub groups: Vec<(Uuid, u64, Value)>,
    pub rng: Option<u64>,
}

#[async_trait]
pub trait AgentStore: Send + Sync {
    async fn users(&self, page: &PageRequest) -> Result<Page<UserRow>>;
    async fn all_users(&self) -> Result<Vec<UserRow>>;
    async fn user(&self, id: Uuid) -> Result<Option<UserRow>>;
    async fn user_by_reference(&self, reference: &str) -> Result<Option<UserRow>>;
    async fn user_by_token(&self, token_hash: &str) -> Result<Option<UserRow>>;
    /// Refuses a taken reference with `Unique`, a stale update or a missing user with
    /// `Conflict`.
    async fn write_user(&self, write: UserWrite) -> Result<()>;
    /// Presence and last message, written without revision checks (they change often).
    async fn set_user_state(
        &self,
        id: Uuid,
        presence: &str,
        last_message_at: Option<Timestamp>,
    ) -> Result<()>;
    async fn acd_snapshot(&self) -> Result<AcdSnapshot>;
    async fn write_acd(&self, write: &AcdWrite) -> Result<()>;
}
