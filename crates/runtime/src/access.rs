//! Who is calling: API tokens (named, scoped to a role, optionally expiring, revocable, kept as
//! their SHA-256 only), the agents' own tokens, and the bootstrap administrator token given by
//! the environment (kept hashed in memory, never written).

use std::sync::Arc;

use flow::access::{Permission, Role, built_in};
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
    /// A browser session of an account.
    Session(Uuid),
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
    /// The agent calling, if the caller is one (their token, or their account's session).
    pub fn user(&self) -> Option<Uuid> {
        self.agent.as_ref().map(|u| u.id)
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
    /// A role's reference (built-in or custom).
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
    sessions: std::sync::Mutex<Sessions>,
    /// The custom roles, read at start and kept with every change.
    custom: std::sync::RwLock<std::collections::BTreeMap<String, CustomRole>>,
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
            sessions: std::sync::Mutex::new(Sessions::default()),
            custom: std::sync::RwLock::new(std::collections::BTreeMap::new()),
        })
    }

    /// Reads the custom roles (at start).
    pub async fn load_roles(&self) -> Result<()> {
        let rows = self.store.roles().await?;
        let mut custom = self.custom.write().unwrap_or_else(|p| p.into_inner());
        custom.clear();
        for r in rows {
            let role = CustomRole::from(r);
            custom.insert(role.role.reference.clone(), role);
        }
        Ok(())
    }

    /// A role by reference: a built-in one or a custom one.
    pub fn role(&self, reference: &str) -> Option<Role> {
        built_in(reference).or_else(|| {
            self.custom
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .get(reference)
                .map(|c| c.role.clone())
        })
    }

    fn check_role(&self, role: &str) -> Result<()> {
        if self.role(role).is_none() {
            return Err(invalid(
                "role",
                format!(
                    "must be a role: one of {} or a custom role's reference",
                    flow::access::BUILT_IN.join(", ")
                ),
            ));
        }
        Ok(())
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
                .then(|| self.role(&t.role))
                .flatten()
                .map(|role| Caller {
                    credential: Credential::Token(t.id),
                    role,
                    agent: None,
                }));
        }
        let Some(user) = self.distribution.authenticate(token).await? else {
            return Ok(None);
        };
        // the agent's account decides: a disabled one's token stops working
        let active = self
            .store
            .account(user.id)
            .await?
            .is_some_and(|a| a.status == "active");
        Ok(active
            .then(|| built_in("agent"))
            .flatten()
            .map(|role| Caller {
                credential: Credential::Agent(user.id),
                role,
                agent: Some(user),
            }))
    }

    /// Creates an API token; returns it with its secret, shown this once.
    pub async fn create_token(&self, new: NewToken) -> Result<(Token, String)> {
        let name = new.name.trim();
        if name.is_empty()
            || new.name.chars().count() > limits::TOKEN_NAME
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
        self.check_role(&new.role)?;
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

// ----- accounts, passwords and sessions -----

/// Limits of accounts and sessions.
pub mod account_limits {
    /// Most accounts.
    pub const ACCOUNTS: u64 = 10_000;
    /// Password length, in characters.
    pub const PASSWORD_MIN: usize = 12;
    pub const PASSWORD_MAX: usize = 256;
    /// Longest email, in characters.
    pub const EMAIL_MAX: usize = 254;
    /// Wrong passwords allowed per email within [`FAILURE_WINDOW`].
    pub const FAILURES: usize = 10;
    /// Wrong passwords allowed per client address (many people may share one) in the window.
    pub const ADDRESS_FAILURES: usize = 100;
    pub const FAILURE_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_mins(1);
    /// A session ends after this long without a request, and this long after login at most.
    pub const SESSION_IDLE: jiff::SignedDuration = jiff::SignedDuration::from_mins(30);
    pub const SESSION_ABSOLUTE: jiff::SignedDuration = jiff::SignedDuration::from_hours(12);
    /// Most open sessions (the least recently used one goes beyond).
    pub const SESSIONS: usize = 10_000;
    /// Most addresses and emails whose failures are remembered.
    pub const TRACKED: usize = 100_000;
}

/// Passwords refused whatever their length: a short list of common passwords of 12 characters
/// or more (compared without case); repeats of one character and passwords that are mostly the
/// email's local part are refused too.
const COMMON_PASSWORDS: &[&str] = &[
    "123456789012",
    "1234567890123",
    "12345678910",
    "password1234",
    "password12345",
    "passwordpassword",
    "qwertyuiop12",
    "qwertyuiopasdf",
    "qwerty123456",
    "1q2w3e4r5t6y",
    "1qaz2wsx3edc",
    "abcdefghijkl",
    "abc123456789",
    "iloveyou1234",
    "letmein12345",
    "welcome12345",
    "admin1234567",
    "administrator",
    "changeme1234",
    "trustno11234",
    "football1234",
    "baseball1234",
    "monkey123456",
    "dragon123456",
    "sunshine1234",
    "princess1234",
    "superman1234",
    "michael12345",
    "starwars1234",
    "whatever1234",
    "zaq12wsxcde3",
    "aaaaaaaaaaaa",
    "111111111111",
    "000000000000",
    "azertyuiop12",
    "motdepasse12",
    "switchyard12",
    "switchyard123",
    "contactcentre",
    "contactcenter",
];

/// An account as the API shows it (never its password).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub id: Uuid,
    /// `None` for an agent who signs in only with their token.
    pub email: Option<String>,
    pub name: String,
    pub role: String,
    /// `active` or `disabled` (a disabled account cannot sign in; its sessions end).
    pub status: String,
    pub revision: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<store::AccountRow> for Account {
    fn from(a: store::AccountRow) -> Self {
        Account {
            id: a.id,
            email: a.email,
            name: a.name,
            role: a.role,
            status: a.status,
            revision: a.revision,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// Fields of an account; `None` leaves one as it is.
#[derive(Clone, Debug, Default)]
pub struct AccountFields {
    pub email: Option<String>,
    pub name: Option<String>,
    pub password: Option<String>,
    pub role: Option<String>,
    pub status: Option<String>,
}

/// Why a sign-in failed. Both say nothing of whether the account exists.
#[derive(Debug)]
pub enum LoginError {
    /// Wrong email or password (or a disabled account).
    Invalid,
    /// Too many wrong passwords for this account or from this address; try again after.
    Limited {
        retry_after_seconds: u64,
    },
    Failed(ConversationError),
}

/// An open session: its secret (the cookie) and its CSRF token.
#[derive(Clone, Debug)]
pub struct Opened {
    pub secret: String,
    pub csrf: String,
    pub account: Account,
}

/// The recent sign-in failures, in memory (a restart forgets them).
#[derive(Default)]
pub(crate) struct Sessions {
    failures: std::collections::HashMap<String, Vec<Timestamp>>,
}

/// A session's CSRF token: derived from its secret (so it is never stored), useless without it.
fn csrf_of(secret: &str) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(b"switchyard csrf\0");
    h.update(secret.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// How often a session's last use is written (its idle expiry is this precise after a restart).
const SESSION_TOUCH: jiff::SignedDuration = jiff::SignedDuration::from_mins(1);

/// A password's hash for an unknown account, so that its check takes as long as a real one.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("a password nobody has, for timing").unwrap_or_default())
}

fn hash_password(password: &str) -> std::result::Result<String, String> {
    use argon2::PasswordHasher;
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

fn password_matches(password: &str, hash: &str) -> bool {
    use argon2::PasswordVerifier;
    argon2::Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// Checks a new password against the policy.
pub fn check_password(password: &str, email: &str) -> Result<()> {
    use account_limits::*;
    let n = password.chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&n) {
        return Err(invalid(
            "password",
            format!("must have {PASSWORD_MIN} to {PASSWORD_MAX} characters"),
        ));
    }
    let lower = password.to_lowercase();
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    if COMMON_PASSWORDS.contains(&lower.as_str())
        || lower
            .chars()
            .all(|c| c == lower.chars().next().unwrap_or(' '))
        || lower.contains(&email.to_lowercase())
        || (local.len() >= 4 && lower.contains(&local) && local.len() * 2 >= lower.len())
    {
        return Err(invalid(
            "password",
            "is too common or too close to the email: choose another".into(),
        ));
    }
    Ok(())
}

fn check_email(email: &str) -> Result<String> {
    let ok = email.chars().count() <= account_limits::EMAIL_MAX
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
    if !ok {
        return Err(invalid("email", "must be an email address".into()));
    }
    Ok(email.to_owned())
}

pub use crate::distribution::{AGENT_ROLE, SignIn};

fn not_agent_role(role: &str) -> Result<()> {
    if role == AGENT_ROLE {
        return Err(invalid(
            "role",
            "an agent is created with POST /users (which gives them their distribution settings), and keeps the agent role".into(),
        ));
    }
    Ok(())
}

/// Checks an agent's email and password (the policy as for every account) and hashes it.
pub async fn agent_sign_in(email: Option<String>, password: Option<String>) -> Result<SignIn> {
    let email = email.as_deref().map(check_email).transpose()?;
    let password_hash = match password {
        Some(p) => {
            let Some(e) = &email else {
                return Err(invalid("password", "a password needs an email".into()));
            };
            check_password(&p, e)?;
            Some(hashed(p).await?)
        }
        None => None,
    };
    Ok(SignIn {
        email,
        password_hash,
    })
}

fn check_status(status: &str) -> Result<()> {
    if status != "active" && status != "disabled" {
        return Err(invalid("status", "must be active or disabled".into()));
    }
    Ok(())
}

fn random_secret() -> String {
    format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

async fn hashed(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| invalid("password", e.to_string()))?
        .map_err(|e| invalid("password", e))
}

fn taken(e: StoreError) -> ConversationError {
    match e {
        StoreError::Unique(_) => {
            ConversationError::Conflict("email_taken", "another account has this email".into())
        }
        StoreError::Conflict => ConversationError::Maker(MakerError::Busy),
        other => other.into(),
    }
}

impl Access {
    fn sessions(&self) -> std::sync::MutexGuard<'_, Sessions> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates an account.
    pub async fn create_account(&self, f: AccountFields) -> Result<Account> {
        let (Some(email), Some(name), Some(password), Some(role)) =
            (f.email, f.name, f.password, f.role)
        else {
            return Err(invalid(
                "email",
                "email, name, password and role are required".into(),
            ));
        };
        let email = check_email(&email)?;
        let name = flow::fields::check_name("name", &name)
            .map_err(|e| ConversationError::Maker(MakerError::Field(e)))?;
        self.check_role(&role)?;
        not_agent_role(&role)?;
        let status = f.status.unwrap_or_else(|| "active".into());
        check_status(&status)?;
        check_password(&password, &email)?;
        if self.store.count_accounts().await? >= account_limits::ACCOUNTS {
            return Err(ConversationError::Maker(MakerError::Limit(format!(
                "at most {} accounts",
                account_limits::ACCOUNTS
            ))));
        }
        let now = self.clock.now();
        let row = store::AccountRow {
            id: Uuid::now_v7(),
            email: Some(email),
            name,
            password_hash: Some(hashed(password).await?),
            role,
            status,
            revision: 1,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_account(&row).await.map_err(taken)?;
        Ok(row.into())
    }

    pub async fn account(&self, id: Uuid) -> Result<Account> {
        Ok(self.account_row(id).await?.into())
    }

    async fn account_row(&self, id: Uuid) -> Result<store::AccountRow> {
        self.store
            .account(id)
            .await?
            .ok_or_else(|| ConversationError::NotFound(format!("account {id}")))
    }

    pub async fn accounts(&self, page: &PageRequest) -> Result<Page<Account>> {
        let p = self.store.accounts(page).await?;
        Ok(Page {
            items: p.items.into_iter().map(Into::into).collect(),
            next_after: p.next_after,
        })
    }

    /// Changes an account; a new password, role or status ends its open sessions.
    pub async fn update_account(
        &self,
        id: Uuid,
        f: AccountFields,
        if_match: Option<u64>,
    ) -> Result<Account> {
        let current = self.account_row(id).await?;
        if if_match.is_some_and(|r| r != current.revision) {
            return Err(ConversationError::Maker(MakerError::PreconditionFailed {
                current: current.revision,
            }));
        }
        let mut next = current.clone();
        if let Some(email) = f.email {
            next.email = Some(check_email(&email)?);
        }
        if let Some(name) = f.name {
            next.name = flow::fields::check_name("name", &name)
                .map_err(|e| ConversationError::Maker(MakerError::Field(e)))?;
        }
        if let Some(role) = f.role
            && role != current.role
        {
            self.check_role(&role)?;
            not_agent_role(&role)?;
            not_agent_role(&current.role)?;
            next.role = role;
        }
        if let Some(status) = f.status {
            check_status(&status)?;
            next.status = status;
        }
        let new_password = f.password.is_some();
        if let Some(password) = f.password {
            let Some(email) = &next.email else {
                return Err(invalid("password", "a password needs an email".into()));
            };
            check_password(&password, email)?;
            next.password_hash = Some(hashed(password).await?);
        }
        next.revision += 1;
        next.updated_at = self.clock.now();
        self.store
            .update_account(&next, current.revision)
            .await
            .map_err(taken)?;
        if new_password || next.role != current.role || next.status != current.status {
            self.end_sessions_of(id).await?;
        }
        Ok(next.into())
    }

    pub async fn delete_account(&self, id: Uuid) -> Result<()> {
        match self.store.delete_account(id).await {
            Err(StoreError::Conflict) => {
                return Err(ConversationError::NotFound(format!("account {id}")));
            }
            other => other?,
        }
        self.end_sessions_of(id).await
    }

    /// Ends every session of an account.
    pub async fn end_sessions_of(&self, account: Uuid) -> Result<()> {
        Ok(self.store.delete_sessions_of(account).await?)
    }

    /// Whether `key` failed too often lately; forgets what is older than the window.
    fn limited(sessions: &mut Sessions, key: &str, now: Timestamp) -> Option<u64> {
        let allowed = if key.starts_with("address:") {
            account_limits::ADDRESS_FAILURES
        } else {
            account_limits::FAILURES
        };
        let since = now
            .checked_sub(account_limits::FAILURE_WINDOW)
            .unwrap_or(now);
        let list = sessions.failures.get_mut(key)?;
        list.retain(|t| *t > since);
        if list.len() < allowed {
            return None;
        }
        let oldest = list.iter().min().copied().unwrap_or(now);
        let free_at = oldest
            .checked_add(account_limits::FAILURE_WINDOW)
            .unwrap_or(now);
        Some(now.duration_until(free_at).as_secs().max(1) as u64)
    }

    fn record_failure(sessions: &mut Sessions, key: String, now: Timestamp) {
        if sessions.failures.len() >= account_limits::TRACKED
            && !sessions.failures.contains_key(&key)
        {
            // forget the quietest entries first
            let since = now
                .checked_sub(account_limits::FAILURE_WINDOW)
                .unwrap_or(now);
            sessions
                .failures
                .retain(|_, l| l.iter().any(|t| *t > since));
            if sessions.failures.len() >= account_limits::TRACKED {
                return;
            }
        }
        sessions.failures.entry(key).or_default().push(now);
    }

    /// Signs in with an email and a password, from `address` (the client's, when known).
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        address: Option<std::net::IpAddr>,
    ) -> std::result::Result<Opened, LoginError> {
        let now = self.clock.now();
        let email_key = format!("email:{}", email.trim().to_lowercase());
        let address_key = address.map(|a| format!("address:{a}"));
        {
            let mut s = self.sessions();
            let wait = [Some(&email_key), address_key.as_ref()]
                .into_iter()
                .flatten()
                .filter_map(|k| Self::limited(&mut s, k, now))
                .max();
            if let Some(retry_after_seconds) = wait {
                return Err(LoginError::Limited {
                    retry_after_seconds,
                });
            }
        }
        let row = if email.chars().count() <= account_limits::EMAIL_MAX
            && password.chars().count() <= account_limits::PASSWORD_MAX
        {
            self.store
                .account_by_email(email.trim())
                .await
                .map_err(|e| LoginError::Failed(e.into()))?
        } else {
            None
        };
        let hash = row
            .as_ref()
            .and_then(|r| r.password_hash.clone())
            .unwrap_or_else(|| dummy_hash().to_owned());
        let given = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || password_matches(&given, &hash))
            .await
            .unwrap_or(false);
        let account = match row {
            Some(r) if matches && r.status == "active" && r.password_hash.is_some() => r,
            _ => {
                let mut s = self.sessions();
                Self::record_failure(&mut s, email_key, now);
                if let Some(k) = address_key {
                    Self::record_failure(&mut s, k, now);
                }
                return Err(LoginError::Invalid);
            }
        };
        self.sessions().failures.remove(&email_key);
        let secret = random_secret();
        let row = store::SessionRow {
            secret_hash: token_hash(&secret),
            account_id: account.id,
            created_at: now,
            seen_at: now,
            role: account.role.clone(),
            status: account.status.clone(),
        };
        let before = |d: jiff::SignedDuration| now.checked_sub(d).unwrap_or(now);
        self.store
            .insert_session(
                &row,
                before(account_limits::SESSION_IDLE),
                before(account_limits::SESSION_ABSOLUTE),
                account_limits::SESSIONS as u64,
            )
            .await
            .map_err(|e| LoginError::Failed(e.into()))?;
        Ok(Opened {
            csrf: csrf_of(&secret),
            secret,
            account: account.into(),
        })
    }

    /// The caller of a session cookie, and the session's CSRF token; `None` once it ended
    /// (signed out, idle for 30 minutes, 12 hours old, or its account changed). An agent's
    /// session calls the agent API as them.
    pub async fn session(&self, secret: &str) -> Result<Option<(Caller, String)>> {
        if secret.is_empty() || secret.len() > limits::TOKEN_MAX {
            return Ok(None);
        }
        let now = self.clock.now();
        let key = token_hash(secret);
        let Some(row) = self.store.session(&key).await? else {
            return Ok(None);
        };
        let ended = |from: Timestamp, d| from.checked_add(d).map_or(true, |end| now >= end);
        if ended(row.seen_at, account_limits::SESSION_IDLE)
            || ended(row.created_at, account_limits::SESSION_ABSOLUTE)
            || row.status != "active"
        {
            self.store.delete_session(&key).await?;
            return Ok(None);
        }
        if now.duration_since(row.seen_at) >= SESSION_TOUCH {
            self.store.touch_session(&key, now).await?;
        }
        let Some(role) = self.role(&row.role) else {
            return Ok(None);
        };
        let agent = if role.allows(Permission {
            resource: flow::access::Resource::Agent,
            verb: flow::access::Verb::Use,
        }) {
            self.distribution.user(row.account_id).await.ok()
        } else {
            None
        };
        Ok(Some((
            Caller {
                credential: Credential::Session(row.account_id),
                role,
                agent,
            },
            csrf_of(secret),
        )))
    }

    /// Ends a session.
    pub async fn logout(&self, secret: &str) -> Result<()> {
        if secret.len() > limits::TOKEN_MAX {
            return Ok(());
        }
        Ok(self.store.delete_session(&token_hash(secret)).await?)
    }

    /// Whether the deployment has no account yet.
    pub async fn has_no_account(&self) -> Result<bool> {
        Ok(self.store.count_accounts().await? == 0)
    }

    /// A password for a new account, shown once: 24 characters from 62.
    pub fn generate_password() -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
        let bytes: Vec<u8> = (0..2).flat_map(|_| *Uuid::new_v4().as_bytes()).collect();
        bytes
            .iter()
            .take(24)
            .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
            .collect()
    }
}

// ----- audit -----

/// What the audit log records of one change.
#[derive(Clone, Debug)]
pub struct Change {
    pub action: String,
    pub method: String,
    pub path: String,
    pub target: Option<String>,
    pub status: u16,
    pub revision_before: Option<u64>,
    pub revision_after: Option<u64>,
}

impl Caller {
    /// How the audit log names the caller.
    pub fn actor(&self) -> String {
        match self.credential {
            Credential::Bootstrap => "bootstrap".to_owned(),
            Credential::Token(id) => format!("token:{id}"),
            Credential::Agent(id) => format!("agent:{id}"),
            Credential::Session(id) => format!("account:{id}"),
        }
    }
}

impl Access {
    /// Appends a change to the audit log, before the caller hears of it.
    pub async fn record(&self, caller: &Caller, c: Change) -> Result<()> {
        let row = store::AuditRow {
            id: Uuid::now_v7(),
            at: self.clock.now(),
            actor: caller.actor(),
            action: c.action,
            method: c.method,
            path: c.path,
            target: c.target,
            status: c.status,
            revision_before: c.revision_before,
            revision_after: c.revision_after,
        };
        Ok(self.store.append_audit(&row).await?)
    }

    /// The audit log, in time order.
    pub async fn audit(
        &self,
        filter: &store::AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEntry>> {
        let p = self.store.audit(filter, page).await?;
        Ok(Page {
            items: p.items.into_iter().map(Into::into).collect(),
            next_after: p.next_after,
        })
    }
}

/// An entry of the audit log as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: Uuid,
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub method: String,
    pub path: String,
    pub target: Option<String>,
    pub status: u16,
    pub revision_before: Option<u64>,
    pub revision_after: Option<u64>,
}

impl From<store::AuditRow> for AuditEntry {
    fn from(r: store::AuditRow) -> Self {
        AuditEntry {
            id: r.id,
            at: r.at,
            actor: r.actor,
            action: r.action,
            method: r.method,
            path: r.path,
            target: r.target,
            status: r.status,
            revision_before: r.revision_before,
            revision_after: r.revision_after,
        }
    }
}

// ----- roles -----

/// Most custom roles.
pub const CUSTOM_ROLES: usize = 100;

/// A role as the API shows it: a built-in one (no revision, never changed) or a custom one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomRole {
    pub role: Role,
    /// `None` for a built-in role.
    pub revision: Option<u64>,
    pub created_at: Option<Timestamp>,
    pub updated_at: Option<Timestamp>,
}

impl From<store::RoleRow> for CustomRole {
    fn from(r: store::RoleRow) -> Self {
        CustomRole {
            role: Role {
                reference: r.reference,
                name: r.name,
                // a permission that no longer exists is dropped, not granted
                permissions: r
                    .permissions
                    .iter()
                    .filter_map(|p| Permission::parse(p))
                    .collect(),
            },
            revision: Some(r.revision),
            created_at: Some(r.created_at),
            updated_at: Some(r.updated_at),
        }
    }
}

/// Fields of a custom role; `None` leaves one as it is.
#[derive(Clone, Debug, Default)]
pub struct RoleFields {
    pub reference: Option<String>,
    pub name: Option<String>,
    /// `resource:verb` strings.
    pub permissions: Option<Vec<String>>,
}

fn permissions_of(list: &[String]) -> Result<std::collections::BTreeSet<Permission>> {
    let all = Permission::all().count();
    if list.len() > all {
        return Err(invalid("permissions", format!("at most {all} permissions")));
    }
    list.iter()
        .map(|p| {
            Permission::parse(p).ok_or_else(|| {
                invalid(
                    "permissions",
                    format!(
                        "'{}' is not a permission (resource:verb, see GET /roles)",
                        p.chars().take(60).collect::<String>()
                    ),
                )
            })
        })
        .collect()
}

fn role_row(r: &CustomRole) -> store::RoleRow {
    store::RoleRow {
        reference: r.role.reference.clone(),
        name: r.role.name.clone(),
        permissions: r.role.permissions.iter().map(ToString::to_string).collect(),
        revision: r.revision.unwrap_or(1),
        created_at: r.created_at.unwrap_or_default(),
        updated_at: r.updated_at.unwrap_or_default(),
    }
}

impl Access {
    fn custom(
        &self,
    ) -> std::sync::RwLockWriteGuard<'_, std::collections::BTreeMap<String, CustomRole>> {
        self.custom.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Every role: the built-in ones, then the custom ones by reference.
    pub fn roles(&self) -> Vec<CustomRole> {
        let mut all: Vec<CustomRole> = flow::access::BUILT_IN
            .iter()
            .filter_map(|r| built_in(r))
            .map(|role| CustomRole {
                role,
                revision: None,
                created_at: None,
                updated_at: None,
            })
            .collect();
        all.extend(
            self.custom
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .values()
                .cloned(),
        );
        all
    }

    /// A role by reference, as the API shows it.
    pub fn role_shown(&self, reference: &str) -> Result<CustomRole> {
        self.roles()
            .into_iter()
            .find(|r| r.role.reference == reference)
            .ok_or_else(|| ConversationError::NotFound(format!("role {reference}")))
    }

    /// Creates a custom role.
    pub async fn create_role(&self, f: RoleFields) -> Result<CustomRole> {
        let (Some(reference), Some(name), Some(permissions)) = (f.reference, f.name, f.permissions)
        else {
            return Err(invalid(
                "reference",
                "reference, name and permissions are required".into(),
            ));
        };
        let field = |e| ConversationError::Maker(MakerError::Field(e));
        let reference = flow::fields::check_reference(&reference).map_err(field)?;
        if built_in(&reference).is_some() {
            return Err(ConversationError::Conflict(
                "reference_taken",
                format!("'{reference}' is a built-in role"),
            ));
        }
        let name = flow::fields::check_name("name", &name).map_err(field)?;
        let permissions = permissions_of(&permissions)?;
        if self.custom.read().unwrap_or_else(|p| p.into_inner()).len() >= CUSTOM_ROLES {
            return Err(ConversationError::Maker(MakerError::Limit(format!(
                "at most {CUSTOM_ROLES} custom roles"
            ))));
        }
        let now = self.clock.now();
        let role = CustomRole {
            role: Role {
                reference: reference.clone(),
                name,
                permissions,
            },
            revision: Some(1),
            created_at: Some(now),
            updated_at: Some(now),
        };
        match self.store.insert_role(&role_row(&role)).await {
            Err(StoreError::Unique(_)) => {
                return Err(ConversationError::Conflict(
                    "reference_taken",
                    format!("a role '{reference}' exists"),
                ));
            }
            other => other?,
        }
        self.custom().insert(reference, role.clone());
        Ok(role)
    }

    /// Changes a custom role's name or permissions: every account, session and token with it
    /// acts with the new permissions at once.
    pub async fn update_role(
        &self,
        reference: &str,
        f: RoleFields,
        if_match: Option<u64>,
    ) -> Result<CustomRole> {
        if built_in(reference).is_some() {
            return Err(ConversationError::Conflict(
                "built_in_role",
                format!(
                    "the built-in role '{reference}' cannot be changed: copy it into a custom role"
                ),
            ));
        }
        let current = self
            .custom
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(reference)
            .cloned()
            .ok_or_else(|| ConversationError::NotFound(format!("role {reference}")))?;
        let revision = current.revision.unwrap_or(1);
        if if_match.is_some_and(|r| r != revision) {
            return Err(ConversationError::Maker(MakerError::PreconditionFailed {
                current: revision,
            }));
        }
        if f.reference.as_deref().is_some_and(|r| r != reference) {
            return Err(invalid(
                "reference",
                "a role's reference does not change".into(),
            ));
        }
        let mut next = current.clone();
        if let Some(name) = f.name {
            next.role.name = flow::fields::check_name("name", &name)
                .map_err(|e| ConversationError::Maker(MakerError::Field(e)))?;
        }
        if let Some(p) = f.permissions {
            next.role.permissions = permissions_of(&p)?;
        }
        next.revision = Some(revision + 1);
        next.updated_at = Some(self.clock.now());
        match self.store.update_role(&role_row(&next), revision).await {
            Err(StoreError::Conflict) => return Err(ConversationError::Maker(MakerError::Busy)),
            other => other?,
        }
        self.custom().insert(reference.to_owned(), next.clone());
        Ok(next)
    }

    /// Deletes a custom role nobody has (no account, no live token).
    pub async fn delete_role(&self, reference: &str) -> Result<()> {
        if built_in(reference).is_some() {
            return Err(ConversationError::Conflict(
                "built_in_role",
                format!("the built-in role '{reference}' cannot be deleted"),
            ));
        }
        match self.store.delete_role(reference).await {
            Err(StoreError::Conflict) => {
                return Err(ConversationError::NotFound(format!("role {reference}")));
            }
            Err(StoreError::Unique(_)) => {
                return Err(ConversationError::Conflict(
                    "role_in_use",
                    format!(
                        "accounts or API tokens have the role '{reference}': give them another first"
                    ),
                ));
            }
            other => other?,
        }
        self.custom().remove(reference);
        Ok(())
    }
}
