//! Entry points: created, changed and deleted with their bindings checked against the routings.

use flow::entry_point::{self, Channel, EntryPoint, EntryPointId};
use flow::{FieldError, model};
use store::{EntryPointWrite, Page, PageRequest, StoreError};
use uuid::Uuid;

use crate::conversations::{ConversationError, Conversations};
use crate::maker::MakerError;

/// Fields of an entry point, as given when creating or changing it.
#[derive(Clone, Debug, Default)]
pub struct EntryPointFields {
    pub reference: Option<String>,
    pub name: Option<String>,
    pub channel: Option<Channel>,
    pub start_routing_id: Option<Option<Uuid>>,
    pub end_routing_id: Option<Option<Uuid>>,
    pub test_version_id: Option<Option<Uuid>>,
    pub phone_region: Option<String>,
    pub callback_url: Option<Option<String>>,
    /// The channel's secret (the HTTP channel signs with it): write-only, sealed at rest.
    pub secret: Option<String>,
    /// The entry point's address at its provider (WhatsApp phone number id, Telegram bot
    /// username, Facebook page id).
    pub address: Option<String>,
    /// A provider channel's credentials by name (`access_token`, `bot_token`, …): write-only,
    /// sealed at rest; those not given keep their value.
    pub secrets: Option<Vec<(&'static str, String)>>,
    /// A mailbox's other addresses (email entry points).
    pub aliases: Option<Vec<String>>,
    /// `Some(None)` removes the rules.
    pub customer_routing: Option<Option<entry_point::CustomerRoutingRules>>,
}

type Result<T> = std::result::Result<T, ConversationError>;

/// Length of a channel secret, in characters.
pub const SECRET_MIN: usize = 32;
pub const SECRET_MAX: usize = 256;

fn field(e: FieldError) -> ConversationError {
    ConversationError::Maker(MakerError::Field(e))
}

impl Conversations {
    async fn checked(&self, mut ep: EntryPoint, f: EntryPointFields) -> Result<EntryPoint> {
        let (secret_given, address_given) = (f.secret.is_some(), f.address.is_some());
        let was = ep.channel;
        if let Some(r) = f.reference {
            ep.reference = model::check_reference(&r).map_err(field)?;
        }
        if let Some(n) = f.name {
            ep.name = model::check_name("name", &n).map_err(field)?;
        }
        if let Some(c) = f.channel {
            ep.channel = c;
        }
        if let Some(v) = f.start_routing_id {
            ep.start_routing_id = v;
        }
        if let Some(v) = f.end_routing_id {
            ep.end_routing_id = v;
        }
        if let Some(v) = f.test_version_id {
            ep.test_version_id = v;
        }
        // an empty region removes the override: the deployment's setting applies
        if let Some(r) = f.phone_region {
            ep.phone_region = if r.is_empty() {
                None
            } else {
                Some(entry_point::check_region(&r).map_err(field)?)
            };
        }
        if let Some(u) = f.callback_url {
            ep.callback_url = u
                .map(|u| entry_point::check_callback(&u))
                .transpose()
                .map_err(field)?;
            if let Some(url) = &ep.callback_url {
                self.outbound.check_url(url).map_err(|message| {
                    field(FieldError {
                        field: "callback_url",
                        message,
                    })
                })?;
            }
        }
        if let Some(secret) = f.secret {
            let n = secret.chars().count();
            if !(SECRET_MIN..=SECRET_MAX).contains(&n) || secret.chars().any(char::is_control) {
                return Err(field(FieldError {
                    field: "secret",
                    message: format!(
                        "must have {SECRET_MIN} to {SECRET_MAX} characters and no control character"
                    ),
                }));
            }
            ep.secret = Some(self.secrets.seal(&secret));
        }
        if let Some(a) = f.address {
            ep.address = Some(entry_point::check_address(ep.channel, &a).map_err(field)?);
        }
        if let Some(aliases) = f.aliases {
            if ep.channel != Channel::Email && !aliases.is_empty() {
                return Err(field(FieldError {
                    field: "aliases",
                    message: "only an email entry point (a mailbox) has aliases".into(),
                }));
            }
            ep.aliases = aliases;
        }
        if ep.channel != Channel::Email {
            ep.aliases.clear();
        }
        if ep.channel == Channel::Email {
            let address = ep.address.clone().ok_or_else(|| {
                field(FieldError {
                    field: "address",
                    message: "an email entry point needs its mailbox address (such as support@example.com)".into(),
                })
            })?;
            ep.aliases = entry_point::check_aliases(&address, &ep.aliases).map_err(field)?;
            let mailboxes = self.mailboxes().await?;
            for a in std::iter::once(&address).chain(ep.aliases.iter()) {
                if mailboxes.get(a).is_some_and(|other| *other != ep.id) {
                    return Err(ConversationError::Invalid(
                        "address_taken",
                        format!("{a} is already an address of another mailbox"),
                    ));
                }
            }
            if secret_given {
                return Err(field(FieldError {
                    field: "secret",
                    message: "an email entry point takes its IMAP account in secrets".into(),
                }));
            }
            if let Some(given) = f.secrets {
                ep.secret = self.imap_account_sealed(&ep, given)?;
            }
        } else if ep.channel.is_provider() {
            if secret_given {
                return Err(field(FieldError {
                    field: "secret",
                    message: format!(
                        "a {} entry point takes its credentials in secrets",
                        ep.channel.as_str()
                    ),
                }));
            }
            if ep.address.is_none() {
                return Err(field(FieldError {
                    field: "address",
                    message: format!(
                        "a {} entry point needs its address ({})",
                        ep.channel.as_str(),
                        entry_point::check_address(ep.channel, "")
                            .err()
                            .map(|e| e.message)
                            .unwrap_or_default()
                    ),
                }));
            }
            ep.secret = Some(self.credentials(&ep, f.secrets.unwrap_or_default())?);
        } else if f.secrets.is_some() || address_given {
            return Err(field(FieldError {
                field: if address_given { "address" } else { "secrets" },
                message: format!(
                    "a {} entry point has no provider address or credentials",
                    ep.channel.as_str()
                ),
            }));
        }
        if let Some(rules) = f.customer_routing {
            if let Some(r) = &rules {
                r.check().map_err(field)?;
                for g in r.groups() {
                    if self
                        .maker()
                        .store()
                        .object(flow::catalogue::ObjectKind::Queue, g)
                        .await?
                        .is_none()
                    {
                        return Err(field(FieldError {
                            field: "customer_routing",
                            message: format!("no group {g}"),
                        }));
                    }
                }
            }
            ep.customer_routing = rules;
        }
        let store = self.maker().store();
        let load = |id: Option<Uuid>, what: &'static str| async move {
            match id {
                None => Ok(None),
                Some(id) => store.routing(id).await?.map(Some).ok_or_else(|| {
                    field(FieldError {
                        field: what,
                        message: format!("no smart routing {id}"),
                    })
                }),
            }
        };
        let start = load(ep.start_routing_id, "start_routing_id").await?;
        let end = load(ep.end_routing_id, "end_routing_id").await?;
        let test = match ep.test_version_id {
            None => None,
            Some(id) => Some(
                store
                    .version(id)
                    .await?
                    .ok_or_else(|| {
                        field(FieldError {
                            field: "test_version_id",
                            message: format!("no version {id}"),
                        })
                    })?
                    .record,
            ),
        };
        entry_point::check_bindings(ep.channel, start.as_ref(), end.as_ref(), test.as_ref())
            .map_err(field)?;
        if ep.channel == Channel::Http && ep.callback_url.is_none() {
            return Err(field(FieldError {
                field: "callback_url",
                message: "an HTTP entry point needs a callback URL for its replies".into(),
            }));
        }
        if ep.channel == Channel::Http
            && (ep.secret.is_none() || (was != ep.channel && !secret_given))
        {
            return Err(field(FieldError {
                field: "secret",
                message: format!(
                    "an HTTP entry point needs a secret ({SECRET_MIN} characters or more) to check the signatures of its messages"
                ),
            }));
        }
        Ok(ep)
    }

    /// A provider entry point's credentials: those given over those it has, each checked, all
    /// needed; sealed.
    fn credentials(&self, ep: &EntryPoint, given: Vec<(&'static str, String)>) -> Result<String> {
        use channels::provider::{CREDENTIAL_MAX, CREDENTIAL_MIN, credential_names};
        let names = credential_names(ep.channel);
        for (name, value) in &given {
            let bad = |message: String| {
                field(FieldError {
                    field: "secrets",
                    message,
                })
            };
            if !names.contains(name) {
                return Err(bad(format!(
                    "a {} entry point's secrets are {}",
                    ep.channel.as_str(),
                    names.join(", ")
                )));
            }
            let n = value.chars().count();
            if !(CREDENTIAL_MIN..=CREDENTIAL_MAX).contains(&n)
                || value.chars().any(|c| c.is_control() || c.is_whitespace())
            {
                return Err(bad(format!(
                    "{name} must have {CREDENTIAL_MIN} to {CREDENTIAL_MAX} characters, no space or control character"
                )));
            }
            if *name == "bot_token" && !channels::telegram::check_token(value) {
                return Err(bad(
                    "bot_token is not a Telegram bot token (<digits>:<letters, digits, _ and ->)"
                        .into(),
                ));
            }
            if *name == "secret_token" && !channels::telegram::check_secret_token(value) {
                return Err(bad(
                    "secret_token holds only A-Z, a-z, 0-9, _ and - (at most 256)".into(),
                ));
            }
        }
        let current = self.provider_credentials(ep);
        let value_of = |name: &str| {
            given
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
                .or_else(|| {
                    current
                        .as_ref()
                        .and_then(|c| c.get(name))
                        .map(str::to_owned)
                })
        };
        let creds = channels::Credentials::of(ep.channel, value_of).ok_or_else(|| {
            field(FieldError {
                field: "secrets",
                message: format!(
                    "a {} entry point needs the secrets {}",
                    ep.channel.as_str(),
                    names.join(", ")
                ),
            })
        })?;
        let json = serde_json::to_string(&creds).map_err(|e| {
            field(FieldError {
                field: "secrets",
                message: e.to_string(),
            })
        })?;
        Ok(self.secrets.seal(&json))
    }

    /// A mailbox's IMAP account: the secrets given over those it has, checked, sealed; `None`
    /// when every secret is removed (given empty): the mailbox is then fed by SMTP only.
    fn imap_account_sealed(
        &self,
        ep: &EntryPoint,
        given: Vec<(&'static str, String)>,
    ) -> Result<Option<String>> {
        let bad = |message: String| {
            field(FieldError {
                field: "secrets",
                message,
            })
        };
        if let Some((name, _)) = given
            .iter()
            .find(|(n, _)| !channels::email::IMAP_SECRETS.contains(n))
        {
            return Err(bad(format!(
                "an email entry point's secrets are {} (not {name})",
                channels::email::IMAP_SECRETS.join(", ")
            )));
        }
        if !given.is_empty() && given.iter().all(|(_, v)| v.is_empty()) {
            return Ok(None);
        }
        let current = self.imap_account(ep);
        let value_of = |name: &str| {
            given
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
                .or_else(|| current.as_ref().and_then(|c| c.get(name)))
        };
        let account = channels::email::ImapAccount::of(value_of).map_err(bad)?;
        let json = serde_json::to_string(&account).map_err(|e| bad(e.to_string()))?;
        Ok(Some(self.secrets.seal(&json)))
    }

    /// A mailbox's IMAP account, opened (`None`: fed by the SMTP listener only).
    pub(crate) fn imap_account(&self, ep: &EntryPoint) -> Option<channels::email::ImapAccount> {
        if ep.channel != Channel::Email {
            return None;
        }
        let json = self.secrets.open(ep.secret.as_deref()?)?;
        serde_json::from_str(&json).ok()
    }

    /// A provider entry point's credentials, opened (`None` when it has none for its channel).
    pub(crate) fn provider_credentials(&self, ep: &EntryPoint) -> Option<channels::Credentials> {
        let json = self.secrets.open(ep.secret.as_deref()?)?;
        let creds: channels::Credentials = serde_json::from_str(&json).ok()?;
        let matches = matches!(
            (&creds, ep.channel),
            (channels::Credentials::WhatsApp { .. }, Channel::WhatsApp)
                | (channels::Credentials::Telegram { .. }, Channel::Telegram)
                | (channels::Credentials::Messenger { .. }, Channel::Messenger)
        );
        matches.then_some(creds)
    }

    fn taken(e: StoreError, reference: &str) -> ConversationError {
        match e {
            StoreError::Unique(_) => ConversationError::Invalid(
                "reference_taken",
                format!("the reference '{reference}' is already used by another entry point"),
            ),
            other => other.into(),
        }
    }

    pub async fn create_entry_point(&self, f: EntryPointFields) -> Result<EntryPoint> {
        let now = self.now();
        let (Some(reference), Some(name), Some(channel)) =
            (f.reference.clone(), f.name.clone(), f.channel)
        else {
            return Err(field(FieldError {
                field: "reference",
                message: "reference, name and channel are required".into(),
            }));
        };
        let blank = EntryPoint {
            id: Uuid::now_v7(),
            reference,
            name,
            channel,
            start_routing_id: None,
            end_routing_id: None,
            test_version_id: None,
            phone_region: None,
            callback_url: None,
            secret: None,
            address: None,
            aliases: Vec::new(),
            customer_routing: None,
            revision: 1,
            created_at: now,
            updated_at: now,
        };
        let ep = self.checked(blank, f).await?;
        self.store()
            .write_entry_point(EntryPointWrite::Insert(ep.clone()))
            .await
            .map_err(|e| Self::taken(e, &ep.reference))?;
        self.forget_entry_points();
        Ok(ep)
    }

    pub async fn entry_point(&self, id: EntryPointId) -> Result<EntryPoint> {
        self.store()
            .entry_point(id)
            .await?
            .ok_or_else(|| ConversationError::NotFound(format!("entry point {id}")))
    }

    /// The entry points that run a version in test.
    pub async fn test_entry_points(&self, version: Uuid) -> Result<Vec<EntryPoint>> {
        Ok(self.store().entry_points_testing(version).await?)
    }

    pub async fn entry_points(&self, page: &PageRequest) -> Result<Page<EntryPoint>> {
        Ok(self.store().entry_points(page).await?)
    }

    pub async fn update_entry_point(
        &self,
        id: EntryPointId,
        f: EntryPointFields,
        if_match: Option<u64>,
    ) -> Result<EntryPoint> {
        let current = self.entry_point(id).await?;
        if let Some(expected) = if_match
            && expected != current.revision
        {
            return Err(ConversationError::Maker(MakerError::PreconditionFailed {
                current: current.revision,
            }));
        }
        let mut next = self.checked(current.clone(), f).await?;
        next.revision += 1;
        next.updated_at = self.now();
        let reference = next.reference.clone();
        match self
            .store()
            .write_entry_point(EntryPointWrite::Update {
                entry_point: next.clone(),
                expected_revision: current.revision,
            })
            .await
        {
            Ok(()) => {
                self.forget_entry_points();
                Ok(next)
            }
            Err(StoreError::Conflict) => {
                Err(ConversationError::Maker(MakerError::PreconditionFailed {
                    current: current.revision + 1,
                }))
            }
            Err(e) => Err(Self::taken(e, &reference)),
        }
    }

    pub async fn delete_entry_point(&self, id: EntryPointId) -> Result<()> {
        match self
            .store()
            .write_entry_point(EntryPointWrite::Delete { id })
            .await
        {
            Ok(()) => {
                self.forget_entry_points();
                Ok(())
            }
            Err(StoreError::Conflict) => {
                Err(ConversationError::NotFound(format!("entry point {id}")))
            }
            Err(e) => Err(e.into()),
        }
    }
}
