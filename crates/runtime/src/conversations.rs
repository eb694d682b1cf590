//! Conversations: the shell around the engine. One input per interaction at a time (striped
//! locks by customer), many in parallel; every turn commits its state, events, outbox and
//! timer in one transaction, grouped with other turns by the writer; an inbound message is
//! acknowledged only once committed, and deduplicated by the channel's message id.

use std::sync::Arc;

use engine::Limits;
use flow::entry_point::EntryPoint;
use flow::exec::Outbound;
use jiff::Timestamp;
use serde_json::Value;
use store::InteractionStore;
use tokio::sync::{Mutex, Notify, mpsc};
use uuid::Uuid;

use crate::distribution::Distribution;
use crate::maker::Maker;
use crate::openings::Openings;
use crate::programs::Programs;
use crate::writer::{AcdQueue, WriterHandle, writer};
use flow::interaction::InteractionStatus;

pub use crate::error::ConversationError;
pub(crate) use crate::error::Result;

/// Limits of previews and of the writer (a channel's own limits are its connector's:
/// `channels::Channel::limits`).
pub mod limits {
    /// Longest customer address (of a preview).
    pub const CUSTOMER: usize = flow::customer::limits::ADDRESS;
    /// Longest message text of a preview, in characters.
    pub const TEXT: usize = 10_000;
    /// Most turns written in one transaction.
    pub use crate::writer::BATCH;
}

pub(crate) const STRIPES: usize = 4_096;

/// A customer message as a channel hands it over (parsed by its connector in `channels`).
pub type InboundMessage = channels::Received;

/// The answer to an input, once it is committed.
#[derive(Clone, Debug)]
pub struct Receipt {
    pub interaction_id: Uuid,
    /// The message had been received before; nothing was done again.
    pub duplicate: bool,
    /// Where the interaction stands after the input (none for a duplicate).
    pub status: Option<InteractionStatus>,
    /// Messages the routing sent in this turn.
    pub replies: Vec<Outbound>,
}

impl Receipt {
    /// The answer to a channel message handled before.
    pub(crate) fn duplicate(interaction_id: Uuid) -> Self {
        Receipt {
            interaction_id,
            duplicate: true,
            status: None,
            replies: Vec::new(),
        }
    }
}

/// Settings of the conversation service.
#[derive(Clone, Debug)]
pub struct Settings {
    pub limits: Limits,
    /// An interaction with no activity for this long is closed (reason `inactivity`).
    pub inactivity: jiff::SignedDuration,
    /// Region of phone numbers written without a country code (ISO 3166 alpha-2), where the
    /// entry point does not set one.
    pub phone_region: String,
    /// How long closed interactions' events, inbound deduplication rows, delivered replies and
    /// uploads are kept; none: for ever.
    pub retention: Option<jiff::SignedDuration>,
    /// What the server may call (callbacks).
    pub outbound: crate::outbound::OutboundPolicy,
    /// The key channel secrets are sealed with.
    pub secrets: crate::secrets::SecretBox,
    /// The providers' API base URLs (WhatsApp, Telegram, Messenger).
    pub providers: channels::ProviderBases,
    /// The SMS provider (*Send a SMS*), when configured.
    pub sms: Option<std::sync::Arc<dyn channels::sms::SmsGateway>>,
    /// The relay outgoing email goes through (`smtp_relay`), when configured.
    pub relay: Option<Arc<channels::relay::Relay>>,
    /// What becomes of a message read over IMAP once handled (`imap_handled`).
    pub imap_handled: channels::email::ImapHandled,
    /// Authorities IMAP mailboxes' TLS trusts besides the public ones (`mail_ca_file`).
    pub mail_authorities: channels::relay::MailAuthorities,
    /// The address customers reach the public surface at (`public_url`): links sent to them
    /// (a survey's page) are made with it.
    pub public_url: Option<String>,
}

/// How reading a mailbox goes, for the administrators (`GET /entry-points/{id}/imap`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ImapStatus {
    /// Logged in and reading; else the last session failed and another is tried in a while.
    pub reading: bool,
    /// Why the last session failed (never a secret: the server's or the network's answer).
    pub error: Option<String>,
    /// Since when it is so.
    pub since: jiff::Timestamp,
    /// When a message was last taken from the mailbox.
    pub last_message_at: Option<jiff::Timestamp>,
}

/// The `retention_days` setting's default.
pub const DEFAULT_RETENTION_DAYS: i64 = 90;

/// The `phone_region` setting's default.
pub const DEFAULT_PHONE_REGION: &str = "FR";

impl Default for Settings {
    fn default() -> Self {
        Settings {
            limits: Limits::default(),
            inactivity: jiff::SignedDuration::from_hours(24),
            phone_region: DEFAULT_PHONE_REGION.into(),
            retention: Some(jiff::SignedDuration::from_hours(
                24 * DEFAULT_RETENTION_DAYS,
            )),
            outbound: crate::outbound::OutboundPolicy::default(),
            secrets: crate::secrets::SecretBox::random(),
            providers: channels::ProviderBases::default(),
            sms: None,
            relay: None,
            imap_handled: Default::default(),
            mail_authorities: Default::default(),
            public_url: None,
        }
    }
}

/// A reply committed for a customer, as the live channels (web chat) receive it.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// `None` for a preview.
    pub entry_point_id: Option<Uuid>,
    pub customer: String,
    pub interaction_id: Uuid,
    /// Event sequence number of the reply in its interaction.
    pub seq: u64,
    pub message: Value,
}

/// How many deliveries a slow listener may fall behind before it misses some (it can read
/// them from the interaction's history).
const HUB_CAPACITY: usize = 16_384;

/// The conversation service.
pub struct Conversations {
    pub(crate) store: Arc<dyn InteractionStore>,
    pub(crate) maker: Arc<Maker>,
    pub(crate) programs: Programs,
    pub(crate) writer: WriterHandle,
    pub(crate) stripes: Vec<Mutex<()>>,
    pub(crate) limits: Limits,
    pub(crate) inactivity: jiff::SignedDuration,
    pub(crate) phone_region: String,
    pub(crate) retention: Option<jiff::SignedDuration>,
    pub(crate) outbound: crate::outbound::OutboundPolicy,
    pub(crate) secrets: crate::secrets::SecretBox,
    /// The providers' API base URLs, and their client (made at first use).
    pub(crate) providers: channels::ProviderBases,
    pub(crate) provider_client: std::sync::OnceLock<Option<reqwest::Client>>,
    /// The web services' HTTP client (made on first use).
    pub(crate) web_client: std::sync::OnceLock<Option<reqwest::Client>>,
    pub(crate) sms: Option<std::sync::Arc<dyn channels::sms::SmsGateway>>,
    /// The relay outgoing email goes through (`smtp_relay`).
    pub(crate) relay: Option<Arc<channels::relay::Relay>>,
    pub(crate) imap_handled: channels::email::ImapHandled,
    /// The address customers reach the public surface at (`public_url`).
    pub(crate) public_url: Option<String>,
    /// Whether a survey may be waiting in a channel (see `surveys::Conversations::survey_waiting`).
    pub(crate) surveys_in_channels: std::sync::atomic::AtomicU8,
    /// The TLS configuration of IMAP connections.
    pub(crate) mail_tls: Arc<rustls::ClientConfig>,
    pub(crate) timers_changed: Notify,
    /// An entry point changed (the IMAP readers look again).
    pub(crate) entry_points_changed: Notify,
    /// How reading each IMAP mailbox goes, by entry point (kept while the server runs).
    pub(crate) imap_status: std::sync::Mutex<std::collections::HashMap<Uuid, ImapStatus>>,
    pub(crate) outbox_changed: Notify,
    /// Asynchronous web service calls were queued.
    pub(crate) web_calls_changed: Notify,
    pub(crate) hub: tokio::sync::broadcast::Sender<Delivery>,
    pub(crate) distribution: std::sync::OnceLock<Arc<Distribution>>,
    /// Entry points by reference, valid for one Maker generation and one `epoch` (bumped by
    /// every entry point change).
    entry_points: std::sync::Mutex<EntryPointCache>,
    /// The mailboxes' addresses, for the entry point epoch they were read in.
    pub(crate) mailboxes: std::sync::Mutex<Mailboxes>,
    /// Files of messages whose turn is being written (they are written with it): readable by
    /// the actions of that turn (*Transfer the email* attaches the raw message).
    pub(crate) pending_uploads:
        std::sync::Mutex<std::collections::HashMap<Uuid, Arc<Vec<store::Upload>>>>,
    pub(crate) openings: Arc<Openings>,
}

/// Mailbox addresses (and aliases) → their entry point, for one entry point epoch.
#[derive(Default)]
pub(crate) struct Mailboxes {
    pub(crate) epoch: u64,
    pub(crate) by_address: Option<Arc<std::collections::HashMap<String, Uuid>>>,
}

#[derive(Default)]
struct EntryPointCache {
    generation: u64,
    epoch: u64,
    by_reference: std::collections::HashMap<String, EntryPoint>,
    /// Id → reference, for the entries of `by_reference`.
    by_id: std::collections::HashMap<Uuid, String>,
}

#[derive(Clone, Copy)]
enum EntryPointKey<'a> {
    Reference(&'a str),
    Id(Uuid),
}

/// Most entry points kept in memory.
const ENTRY_POINTS_CACHED: usize = 10_000;

impl Conversations {
    /// Seals a secret with the deployment's key (what is stored; never the plain text).
    pub fn seal(&self, plain: &str) -> String {
        self.secrets.seal(plain)
    }

    /// Starts the service and its writer task (on the current Tokio runtime).
    pub fn start(
        store: Arc<dyn InteractionStore>,
        maker: Arc<Maker>,
        settings: Settings,
    ) -> Arc<Self> {
        let (tx, rx) = mpsc::channel(limits::BATCH * 4);
        let acd = Arc::new(AcdQueue::default());
        tokio::spawn(writer(store.clone(), acd.clone(), rx));
        Arc::new(Conversations {
            store,
            programs: Programs::new(maker.clone()),
            maker,
            writer: WriterHandle { tx, acd },
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            limits: settings.limits,
            inactivity: settings.inactivity,
            phone_region: settings.phone_region,
            retention: settings.retention,
            outbound: settings.outbound,
            secrets: settings.secrets,
            providers: settings.providers,
            provider_client: std::sync::OnceLock::new(),
            web_client: std::sync::OnceLock::new(),
            sms: settings.sms,
            relay: settings.relay,
            imap_handled: settings.imap_handled,
            public_url: settings.public_url,
            surveys_in_channels: std::sync::atomic::AtomicU8::new(0),
            mail_tls: Arc::new(settings.mail_authorities.client_config()),
            timers_changed: Notify::new(),
            entry_points_changed: Notify::new(),
            imap_status: Default::default(),
            outbox_changed: Notify::new(),
            web_calls_changed: Notify::new(),
            hub: tokio::sync::broadcast::Sender::new(HUB_CAPACITY),
            distribution: std::sync::OnceLock::new(),
            entry_points: Default::default(),
            mailboxes: Default::default(),
            pending_uploads: Default::default(),
            openings: Default::default(),
        })
    }

    pub fn store(&self) -> &Arc<dyn InteractionStore> {
        &self.store
    }

    /// An entry point by reference, from memory when nothing changed since it was read.
    pub(crate) async fn entry_point_cached(&self, reference: &str) -> Result<Option<EntryPoint>> {
        self.entry_point_in_memory(EntryPointKey::Reference(reference))
            .await
    }

    /// An entry point by id, from memory when nothing changed since it was read.
    pub(crate) async fn entry_point_by_id(&self, id: Uuid) -> Result<Option<EntryPoint>> {
        self.entry_point_in_memory(EntryPointKey::Id(id)).await
    }

    async fn entry_point_in_memory(&self, key: EntryPointKey<'_>) -> Result<Option<EntryPoint>> {
        let generation = self.maker.generation();
        let epoch = {
            let c = self.entry_points.lock().unwrap_or_else(|p| p.into_inner());
            let known = match key {
                EntryPointKey::Reference(r) => c.by_reference.get(r),
                EntryPointKey::Id(id) => c.by_id.get(&id).and_then(|r| c.by_reference.get(r)),
            };
            if c.generation == generation
                && let Some(ep) = known
            {
                return Ok(Some(ep.clone()));
            }
            c.epoch
        };
        let ep = match key {
            EntryPointKey::Reference(r) => self.store.entry_point_by_reference(r).await?,
            EntryPointKey::Id(id) => self.store.entry_point(id).await?,
        };
        if let Some(found) = &ep {
            let mut c = self.entry_points.lock().unwrap_or_else(|p| p.into_inner());
            if c.generation != generation {
                c.by_reference.clear();
                c.by_id.clear();
                c.generation = generation;
            }
            // an entry point changed while it was read: do not keep what was read
            if c.epoch == epoch && c.by_reference.len() < ENTRY_POINTS_CACHED {
                c.by_id.insert(found.id, found.reference.clone());
                c.by_reference
                    .insert(found.reference.clone(), found.clone());
            }
        }
        Ok(ep)
    }

    /// Bumped by every entry point change.
    pub(crate) fn entry_point_epoch(&self) -> u64 {
        self.entry_points
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .epoch
    }

    /// Forgets the entry points kept in memory (one of them changed).
    pub(crate) fn forget_entry_points(&self) {
        self.entry_points_changed.notify_one();
        let mut c = self.entry_points.lock().unwrap_or_else(|p| p.into_inner());
        c.epoch += 1;
        c.by_reference.clear();
        c.by_id.clear();
    }

    /// Plugs the distribution in (once): routings can then distribute to queues and users.
    pub fn attach_distribution(&self, distribution: Arc<Distribution>) {
        // its rows go through the group writer from now on
        distribution.attach_writer(self.writer.clone());
        let _ = self.distribution.set(distribution);
    }

    pub fn distribution(&self) -> Option<&Arc<Distribution>> {
        self.distribution.get()
    }

    pub fn now(&self) -> Timestamp {
        self.maker.clock().now()
    }

    pub fn maker(&self) -> &Arc<Maker> {
        &self.maker
    }

    /// Resolves when an interaction's timer may have changed.
    pub async fn timers_changed(&self) {
        self.timers_changed.notified().await
    }

    /// Replies committed from now on, for every customer.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Delivery> {
        self.hub.subscribe()
    }

    /// Resolves when the outbox got new messages.
    pub async fn outbox_changed(&self) {
        self.outbox_changed.notified().await
    }
}
