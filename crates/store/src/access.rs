//! What the store keeps of access: API tokens (their hash, never the token).

use async_trait::async_trait;
use jiff::Timestamp;
use uuid::Uuid;

use crate::{Page, PageRequest, Result};

/// An API token as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRow {
    pub id: Uuid,
    pub name: String,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// The role it acts with (a role's reference, built-in or custom).
    pub role: String,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// An account as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRow {
    pub id: Uuid,
    /// Unique in any case; `None` for an agent who signs in only with their token.
    pub email: Option<String>,
    pub name: String,
    /// argon2id, PHC string; `None` when the account has no password (it cannot sign in).
    pub password_hash: Option<String>,
    /// A role's reference (built-in or custom).
    pub role: String,
    /// `active` or `disabled`.
    pub status: String,
    pub revision: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A custom role as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleRow {
    pub reference: String,
    pub name: String,
    /// `resource:verb` strings.
    pub permissions: Vec<String>,
    pub revision: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A browser session as stored, with its account's role and status (read together).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    /// SHA-256 of the cookie's secret, hex.
    pub secret_hash: String,
    pub account_id: Uuid,
    pub created_at: Timestamp,
    pub seen_at: Timestamp,
    /// The account's role and status when read (ignored on insert).
    pub role: String,
    pub status: String,
}

/// One entry of the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    /// Time-ordered.
    pub id: Uuid,
    pub at: Timestamp,
    /// `account:<id>`, `token:<id>`, `agent:<id>` or `bootstrap`.
    pub actor: String,
    /// The operation (its OpenAPI operation id).
    pub action: String,
    pub method: String,
    pub path: String,
    /// The resource changed, when the operation names one.
    pub target: Option<String>,
    pub status: u16,
    pub revision_before: Option<u64>,
    pub revision_after: Option<u64>,
}

/// Filter of the audit log.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

#[async_trait]
pub trait AccessStore: Send + Sync {
    /// Appends to the audit log (entries are never changed or removed by the API).
    async fn append_audit(&self, entry: &AuditRow) -> Result<()>;
    /// Audit entries in time order.
    async fn audit(&self, filter: &AuditFilter, page: &PageRequest) -> Result<Page<AuditRow>>;
    /// `Unique("email")` when the email is taken.
    async fn insert_account(&self, account: &AccountRow) -> Result<()>;
    async fn account(&self, id: Uuid) -> Result<Option<AccountRow>>;
    async fn account_by_email(&self, email: &str) -> Result<Option<AccountRow>>;
    async fn accounts(&self, page: &PageRequest) -> Result<Page<AccountRow>>;
    async fn count_accounts(&self) -> Result<u64>;
    /// Replaces the account if its revision is still `expected_revision` (`Conflict` otherwise,
    /// `Unique("email")` when the new email is taken).
    async fn update_account(&self, account: &AccountRow, expected_revision: u64) -> Result<()>;
    /// `Conflict` when there is no such account (an agent's account goes with the agent:
    /// [`crate::AgentStore::write_user`]).
    async fn delete_account(&self, id: Uuid) -> Result<()>;
    /// Custom roles, by reference.
    async fn roles(&self) -> Result<Vec<RoleRow>>;
    /// `Unique("reference")` when taken.
    async fn insert_role(&self, role: &RoleRow) -> Result<()>;
    /// `Conflict` when the role changed or is gone.
    async fn update_role(&self, role: &RoleRow, expected_revision: u64) -> Result<()>;
    /// `Conflict` when there is no such role; `Unique("role")` while an account or a live
    /// token has it.
    async fn delete_role(&self, reference: &str) -> Result<()>;
    /// Inserts a session; then removes the sessions idle since `idle_before` or begun before
    /// `created_before`, and the least recently used beyond `keep`.
    async fn insert_session(
        &self,
        session: &SessionRow,
        idle_before: Timestamp,
        created_before: Timestamp,
        keep: u64,
    ) -> Result<()>;
    /// A session with its account's role and status; `None` when there is none (or no account).
    async fn session(&self, secret_hash: &str) -> Result<Option<SessionRow>>;
    async fn touch_session(&self, secret_hash: &str, seen_at: Timestamp) -> Result<()>;
    async fn delete_session(&self, secret_hash: &str) -> Result<()>;
    async fn delete_sessions_of(&self, account: Uuid) -> Result<()>;
    async fn insert_token(&self, token: &TokenRow) -> Result<()>;
    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRow>>;
    async fn tokens(&self, page: &PageRequest) -> Result<Page<TokenRow>>;
    async fn count_tokens(&self) -> Result<u64>;
    /// Marks a token revoked at `at` (once); `Conflict` when there is no such token.
    async fn revoke_token(&self, id: Uuid, at: Timestamp) -> Result<()>;
}
