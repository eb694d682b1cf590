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
    /// The role it acts with (a built-in role's reference).
    pub role: String,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

#[async_trait]
pub trait AccessStore: Send + Sync {
    async fn insert_token(&self, token: &TokenRow) -> Result<()>;
    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRow>>;
    async fn tokens(&self, page: &PageRequest) -> Result<Page<TokenRow>>;
    async fn count_tokens(&self) -> Result<u64>;
    /// Marks a token revoked at `at` (once); `Conflict` when there is no such token.
    async fn revoke_token(&self, id: Uuid, at: Timestamp) -> Result<()>;
}
