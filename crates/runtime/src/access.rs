//! Who is calling: API tokens (named, scoped to a role, optionally expiring, revocable, kept as
//! their SHA-256 only), the agents' own tokens, and the bootstrap administrator token given by
//! the environment (kept hashed in memory, never written).

use std::sync::Arc;

use flow::access::{Role, built_in};
use jiff::Timestamp;
use store::{AccessStore, Page, PageRequest, StoreError, TokenRow};
use uuid::Uuid;

use crate::clock::Clock;
use crate::distribution::{Distribution, new_token, token_hash};
use crate::error::{ConversationError, Result};
use crate::maker::MakerError;

/// Limits of access.
pub mod limits {
    /// Most API tokens (revoked ones included) a deployment keeps.
    pub const TOKENS: u64 = 1_000;
    /// Longest token name, in characters.
    pub const TOKEN_NAME: usize = 100;
    /// Shortest bootstrap administrator token.
    pub const BOOTSTRAP_MIN: usize = 32;
    /// Longest token accepted in a request.
    pub const TOKEN_MAX: usize = 200;
}

/// How API tokens begin (agents' own tokens begin `sy_`).
pub const API_TOKEN_PREFIX: &str = "syt_";

/// Which credential a caller presented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential {
    /// `SWITCHYARD_ADMIN_TOKEN`.
    Bootstrap,
    /// An API token (its id).
    Token(Uuid),
    /// An agent's own token (the agent's id).
    Agent(Uuid),
}

/// An authenticated caller: the credential and the role it acts with.
#[derive(Clone, Debug)]
pub struct Caller {
    pub credential: Credential,
    pub role: Role,
    /// The agent, as the distribution had them when the token was checked (agents' tokens).
    pub agent: Option<crate::distribution::User>,
}

impl Caller {
    /// The agent calling, if the credential is an agent's.
    pub fn user(&self) -> Option<Uuid> {
        match self.credential {
            Credential::Agent(id) => Some(id),
            _ => None,
        }
    }
}

/// An API token as the API shows it (never the token itself, once created).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

impl From<TokenRow> for Token {
    fn from(t: TokenRow) -> Self {
        Token {
            id: t.id,
            name: t.name,
            role: t.role,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
            created_at: t.created_at,
        }
    }
}

/// What a new token is.
#[derive(Clone, Debug)]
pub struct NewToken {
    pub name: String,
    /// A built-in role's reference.
    pub role: String,
    pub expires_at: Option<Timestamp>,
}

/// The bootstrap token is refused.
#[derive(Debug, thiserror::Error)]
#[error(
    "SWITCHYARD_ADMIN_TOKEN must have at least {} characters",
    limits::BOOTSTRAP_MIN
)]
pub struct WeakBootstrap;

/// The access service.
pub struct Access {
    store: Arc<dyn AccessStore>,
    clock: Arc<dyn Clock>,
    distribution: Arc<Distribution>,
    bootstrap: Option<[u8; 32]>,
}

fn invalid(field: &'static str, message: String) -> ConversationError {
    ConversationError::Maker(MakerError::Field(flow::fields::FieldError {
        field,
        message,
    }))
}

/// Equal in time independent of where they differ.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn digest(token: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(token.as_bytes()).into()
}

impl Access {
    /// `bootstrap`: the administrator token given by the environment, if any.
    pub fn new(
        store: Arc<dyn AccessStore>,
        clock: Arc<dyn Clock>,
        distribution: Arc<Distribution>,
        bootstrap: Option<&str>,
    ) -> std::result::Result<Self, WeakBootstrap> {
        let bootstrap = match bootstrap {
            Some(t) if t.chars().count() < limits::BOOTSTRAP_MIN || t.len() > limits::TOKEN_MAX => {
                return Err(WeakBootstrap);
            }
            Some(t) => {
                tracing::info!("bootstrap token in use");
                Some(digest(t))
            }
            None => None,
        };
        Ok(Access {
            store,
            clock,
            distribution,
            bootstrap,
        })
    }

    /// The caller a bearer token stands for; `None` for a token that is unknown, revoked or
    /// expired.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Caller>> {
        if token.is_empty() || token.len() > limits::TOKEN_MAX {
            return Ok(None);
        }
        if let Some(b) = &self.bootstrap
            && same(b, &digest(token))
        {
            return Ok(built_in("administrator").map(|role| Caller {
                credential: Credential::Bootstrap,
                role,
                agent: None,
            }));
        }
        // API tokens and agents' tokens are told apart by their prefix: one lookup either way
        if token.starts_with(API_TOKEN_PREFIX) {
            let Some(t) = self.store.token_by_hash(&token_hash(token)).await? else {
                return Ok(None);
            };
            let now = self.clock.now();
            let live = t.revoked_at.is_none() && t.expires_at.is_none_or(|e| e > now);
            return Ok(live
                .then(|| built_in(&t.role))
                .flatten()
                .map(|role| Caller {
                    credential: Credential::Token(t.id),
                    role,
                    agent: None,
                }));
        }
        Ok(self.distribution.authenticate(token).await?.and_then(|u| {
            built_in("agent").map(|role| Caller {
                credential: Credential::Agent(u.id),
                role,
                agent: Some(u),
            })
        }))
    }

    /// Creates an API token; returns it with its secret, shown this once.
    pub async fn create_token(&self, new: NewToken) -> Result<(Token, String)> {
        let name = new.name.trim();
        if name.is_empty()
            || name.chars().count() > limits::TOKEN_NAME
            || name.chars().any(char::is_control)
        {
            return Err(invalid(
                "name",
                format!(
                    "must have 1 to {} characters and no control character",
                    limits::TOKEN_NAME
                ),
            ));
        }
        if built_in(&new.role).is_none() {
            return Err(invalid(
                "role",
                format!("must be one of {}", flow::access::BUILT_IN.join(", ")),
            ));
        }
        let now = self.clock.now();
        if new.expires_at.is_some_and(|e| e <= now) {
            return Err(invalid("expires_at", "must be in the future".into()));
        }
        if self.store.count_tokens().await? >= limits::TOKENS {
            return Err(ConversationError::Maker(MakerError::Limit(format!(
                "at most {} API tokens",
                limits::TOKENS
            ))));
        }
        let agent_like = new_token();
        let secret = format!("{API_TOKEN_PREFIX}{}", agent_like.trim_start_matches("sy_"));
        let row = TokenRow {
            id: Uuid::now_v7(),
            name: name.to_owned(),
            token_hash: token_hash(&secret),
            role: new.role,
            expires_at: new.expires_at,
            revoked_at: None,
            created_at: now,
        };
        self.store.insert_token(&row).await?;
        Ok((row.into(), secret))
    }

    /// Whether no API token was ever created (a new data directory, or one from before
    /// tokens): the server then makes the first administrator's.
    pub async fn is_first_start(&self) -> Result<bool> {
        Ok(self.store.count_tokens().await? == 0)
    }

    pub async fn tokens(&self, page: &PageRequest) -> Result<Page<Token>> {
        let p = self.store.tokens(page).await?;
        Ok(Page {
            items: p.items.into_iter().map(Into::into).collect(),
            next_after: p.next_after,
        })
    }

    /// Revokes a token: it stops working at once.
    pub async fn revoke_token(&self, id: Uuid) -> Result<()> {
        match self.store.revoke_token(id, self.clock.now()).await {
            Err(StoreError::Conflict) => Err(ConversationError::NotFound(format!("token {id}"))),
            other => Ok(other?),
        }
    }
}
