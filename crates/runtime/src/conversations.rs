//! Conversations: the shell around the engine. One input per interaction at a time (striped
//! locks by customer), many in parallel; every turn commits its state, events, outbox and
//! timer in one transaction, grouped with other turns by the writer; an inbound message is
//! acknowledged only once committed, and deduplicated by the channel's message id.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use engine::{
    CloseReason, Event, Input, Limits, State, Status, Turn, handle, load_state, save_state,
};
use flow::customer::{Customer, customer_id};
use flow::effect::{DistributionOutcome, Effect, EffectResult};
use flow::entry_point::{Channel, EntryPoint};
use flow::exec::{Inbound, Outbound};
use flow::{VersionId, VersionStatus};
use jiff::Timestamp;
use serde_json::{Map, Value, json};
use store::{EventRow, InteractionRow, InteractionStore, OutboxRow, TurnOutcome, TurnWrite};
use tokio::sync::{Mutex, Notify, mpsc, oneshot};
use uuid::Uuid;

use crate::distribution::{Distribution, Performed};
use crate::maker::{Maker, MakerError};
use crate::programs::{Programs, Snapshot};

/// Limits of inbound messages.
pub mod limits {
    /// Longest channel message id.
    pub const MESSAGE_ID: usize = 200;
    /// Longest customer address.
    pub const CUSTOMER: usize = flow::customer::limits::ADDRESS;
    /// Longest message text, in characters.
    pub const TEXT: usize = 10_000;
    /// Most attachments per message.
    pub const ATTACHMENTS: usize = 10;
    /// Most turns written in one transaction.
    pub const BATCH: usize = 256;
}

const STRIPES: usize = 4_096;

/// Why a conversation input was not taken.
#[derive(Debug, thiserror::Error)]
pub enum ConversationError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{1}")]
    Invalid(&'static str, String),
    /// The request cannot be done in the current state (no open offer, not held by you…).
    #[error("{1}")]
    Conflict(&'static str, String),
    #[error("the message could not be recorded; send it again")]
    NotRecorded(String),
    #[error(transparent)]
    Maker(#[from] MakerError),
}

impl From<store::StoreError> for ConversationError {
    fn from(e: store::StoreError) -> Self {
        ConversationError::Maker(MakerError::Store(e))
    }
}

type Result<T> = std::result::Result<T, ConversationError>;

/// A customer message as a channel hands it over.
#[derive(Clone, Debug)]
pub struct InboundMessage {
    /// The channel's own id of the message (deduplication key).
    pub message_id: String,
    /// The customer's address on the channel.
    pub customer: String,
    pub message: Inbound,
}

/// The answer to an input, once it is committed.
#[derive(Clone, Debug)]
pub struct Receipt {
    pub interaction_id: Uuid,
    /// The message had been received before; nothing was done again.
    pub duplicate: bool,
    /// `new`, `waiting` or `closed`.
    pub status: String,
    /// Messages the routing sent in this turn.
    pub replies: Vec<Outbound>,
}

/// One turn ready to commit: its rows, the replies for the caller, the deliveries for live
/// listeners (published once committed).
pub(crate) struct Prepared {
    pub write: TurnWrite,
    pub replies: Vec<Outbound>,
    deliveries: Vec<Delivery>,
    /// The interaction closed in this turn.
    closed_now: bool,
    /// Its user variables after the turn (an interaction-end run starts with them).
    vars: Map<String, Value>,
    /// What the distribution did in the turn, for the agents' feed once committed.
    pub feed: Vec<acd::Event>,
    /// The interaction this turn creates, known by its lock until committed.
    opening: Vec<OpeningGuard>,
}

/// Interactions whose first turn is not committed yet, with the key of their lock: input for
/// one of them (an agent answering an offer made during that turn) waits for the lock and then
/// finds the row.
#[derive(Default)]
struct Openings(std::sync::Mutex<std::collections::HashMap<Uuid, String>>);

impl Openings {
    fn key(&self, id: Uuid) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned()
    }
}

/// Forgets an opening interaction when its first turn is committed or abandoned.
pub(crate) struct OpeningGuard {
    openings: Arc<Openings>,
    id: Uuid,
}

impl Drop for OpeningGuard {
    fn drop(&mut self) {
        self.openings
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
    }
}

impl Prepared {
    /// A turn that records without running anything (quarantine).
    fn rows(write: TurnWrite) -> Self {
        Prepared {
            write,
            replies: Vec::new(),
            deliveries: Vec::new(),
            closed_now: false,
            vars: Map::new(),
            feed: Vec::new(),
            opening: Vec::new(),
        }
    }
}

struct Pending {
    turn: TurnWrite,
    reply: oneshot::Sender<std::result::Result<TurnOutcome, String>>,
}

/// Writes turns in groups: whatever is waiting when a transaction starts goes into it.
async fn writer(store: Arc<dyn InteractionStore>, mut rx: mpsc::Receiver<Pending>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < limits::BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let (turns, replies): (Vec<_>, Vec<_>) =
            batch.into_iter().map(|p| (p.turn, p.reply)).unzip();
        match store.commit_turns(turns).await {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "a group of turns could not be committed");
                for reply in replies {
                    let _ = reply.send(Err(e.to_string()));
                }
            }
        }
    }
}

/// Most distributions performed in one turn (each answered at once may lead to another).
const EFFECTS_PER_TURN: usize = 10;

/// Ends an interaction with a visible error: an error event, then closed with that reason.
pub(crate) fn close_with_error(state: &mut State, turn: &mut Turn, code: &str, message: String) {
    turn.events.push(Event::Error {
        action: None,
        code: code.into(),
        message: message.clone(),
    });
    let reason = CloseReason::Error {
        code: code.into(),
        message,
    };
    turn.events.push(Event::Closed {
        reason: reason.clone(),
    });
    state.status = Status::Closed(reason);
    state.cursor = None;
}

/// Status of an interaction that failed in the engine; see [`Conversations::retry`].
pub const QUARANTINED: &str = "quarantined";

/// Runs the engine, turning a panic into an error and leaving `state` as it was then.
fn guarded(
    state: &mut State,
    input: Input<'_>,
    now: Timestamp,
    world: &Snapshot,
    limits: &Limits,
) -> std::result::Result<Turn, String> {
    let mut next = state.clone();
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        handle(&mut next, input, now, world, limits)
    }));
    match run {
        Ok(turn) => {
            *state = next;
            Ok(turn)
        }
        Err(panic) => Err(panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into())),
    }
}

fn status_of(state: &State) -> &'static str {
    match state.status {
        Status::New => "new",
        Status::Waiting => "waiting",
        Status::Closed(_) => "closed",
    }
}

/// A seed for an interaction's random generator, from its id.
fn seed_of(id: Uuid) -> u64 {
    let b = id.as_u128();
    (b as u64) ^ ((b >> 64) as u64)
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
}

/// The `phone_region` setting's default.
pub const DEFAULT_PHONE_REGION: &str = "FR";

impl Default for Settings {
    fn default() -> Self {
        Settings {
            limits: Limits::default(),
            inactivity: jiff::SignedDuration::from_hours(24),
            phone_region: DEFAULT_PHONE_REGION.into(),
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
    store: Arc<dyn InteractionStore>,
    maker: Arc<Maker>,
    programs: Programs,
    writer: mpsc::Sender<Pending>,
    stripes: Vec<Mutex<()>>,
    limits: Limits,
    inactivity: jiff::SignedDuration,
    phone_region: String,
    timers_changed: Notify,
    outbox_changed: Notify,
    hub: tokio::sync::broadcast::Sender<Delivery>,
    distribution: std::sync::OnceLock<Arc<Distribution>>,
    /// Entry points by reference, valid for one Maker generation and one `epoch` (bumped by
    /// every entry point change).
    entry_points: std::sync::Mutex<EntryPointCache>,
    openings: Arc<Openings>,
}

#[derive(Default)]
struct EntryPointCache {
    generation: u64,
    epoch: u64,
    by_reference: std::collections::HashMap<String, EntryPoint>,
}

/// Most entry points kept in memory.
const ENTRY_POINTS_CACHED: usize = 10_000;

/// An input addressed to an interaction by its id.
#[derive(Clone, Copy)]
pub(crate) enum ById<'a> {
    Message(&'a Inbound),
    Close(&'a CloseReason),
    /// What the distribution did, with messages for the customer (an agent's).
    Noted(&'a crate::agents::Noted, &'a [Outbound]),
}

/// What starts an interaction.
struct Opening<'a> {
    entry_point: Option<&'a EntryPoint>,
    customer: &'a str,
    mode: &'static str,
    version: Option<VersionId>,
    first: Option<&'a Inbound>,
    /// Variables it starts with (an interaction-end run gets those of the closed interaction).
    vars: Map<String, Value>,
    /// The closed interaction an interaction-end run follows.
    parent: Option<Uuid>,
    /// Customer routing rules to distribute by, instead of running a routing.
    rules: Option<&'a flow::entry_point::CustomerRoutingRules>,
}

impl Conversations {
    /// Starts the service and its writer task (on the current Tokio runtime).
    pub fn start(
        store: Arc<dyn InteractionStore>,
        maker: Arc<Maker>,
        settings: Settings,
    ) -> Arc<Self> {
        let (tx, rx) = mpsc::channel(limits::BATCH * 4);
        tokio::spawn(writer(store.clone(), rx));
        Arc::new(Conversations {
            store,
            programs: Programs::new(maker.clone()),
            maker,
            writer: tx,
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            limits: settings.limits,
            inactivity: settings.inactivity,
            phone_region: settings.phone_region,
            timers_changed: Notify::new(),
            outbox_changed: Notify::new(),
            hub: tokio::sync::broadcast::Sender::new(HUB_CAPACITY),
            distribution: std::sync::OnceLock::new(),
            entry_points: Default::default(),
            openings: Default::default(),
        })
    }

    pub fn store(&self) -> &Arc<dyn InteractionStore> {
        &self.store
    }

    /// An entry point by reference, from memory when nothing changed since it was read.
    async fn entry_point_cached(&self, reference: &str) -> Result<Option<EntryPoint>> {
        let generation = self.maker.generation();
        let epoch = {
            let c = self.entry_points.lock().unwrap_or_else(|p| p.into_inner());
            if c.generation == generation
                && let Some(ep) = c.by_reference.get(reference)
            {
                return Ok(Some(ep.clone()));
            }
            c.epoch
        };
        let ep = self.store.entry_point_by_reference(reference).await?;
        if let Some(found) = &ep {
            let mut c = self.entry_points.lock().unwrap_or_else(|p| p.into_inner());
            if c.generation != generation {
                c.by_reference.clear();
                c.generation = generation;
            }
            // an entry point changed while it was read: do not keep what was read
            if c.epoch == epoch && c.by_reference.len() < ENTRY_POINTS_CACHED {
                c.by_reference.insert(reference.to_owned(), found.clone());
            }
        }
        Ok(ep)
    }

    /// Forgets the entry points kept in memory (one of them changed).
    pub(crate) fn forget_entry_points(&self) {
        let mut c = self.entry_points.lock().unwrap_or_else(|p| p.into_inner());
        c.epoch += 1;
        c.by_reference.clear();
    }

    /// Plugs the distribution in (once): routings can then distribute to queues and users.
    pub fn attach_distribution(&self, distribution: Arc<Distribution>) {
        let _ = self.distribution.set(distribution);
    }

    pub fn distribution(&self) -> Option<&Arc<Distribution>> {
        self.distribution.get()
    }

    /// Whether an agent has accepted the interaction.
    async fn held_by_agent(&self, id: Uuid) -> bool {
        match self.distribution.get() {
            Some(d) => d.holder(id).await.is_some_and(|(_, accepted)| accepted),
            None => false,
        }
    }

    /// Performs the effects a turn asked for (distributions), feeding answers given at once
    /// back to the engine, until the interaction waits or ends. What the distribution did is
    /// recorded in the turn and the agents concerned hear of it.
    async fn run_effects(
        &self,
        id: Uuid,
        state: &mut State,
        turn: &mut Turn,
        snapshot: &mut Snapshot,
        owner: Option<Uuid>,
        now: Timestamp,
    ) -> Result<Vec<acd::Event>> {
        let mut feed = Vec::new();
        // each answer may lead to another distribution; a routing cannot loop here forever
        for _ in 0..EFFECTS_PER_TURN {
            let Some(request) = turn.effects.pop() else {
                return Ok(feed);
            };
            turn.effects.clear();
            let performed = match (&request, self.distribution.get()) {
                (Effect::Distribute(request), Some(d)) => d.perform(id, request, owner).await?,
                (Effect::Distribute(_), None) => Performed::Answered(
                    EffectResult::Distribute(DistributionOutcome::error(
                        "the distribution is not running",
                    )),
                    Vec::new(),
                ),
            };
            let (answer, events) = match performed {
                Performed::Waiting(events) => {
                    Self::note_distribution(turn, &events);
                    feed.extend(events);
                    return Ok(feed);
                }
                Performed::Answered(answer, events) => (answer, events),
            };
            Self::note_distribution(turn, &events);
            feed.extend(events);
            snapshot.with_agent = self.held_by_agent(id).await;
            match guarded(state, Input::Result(&answer), now, snapshot, &self.limits) {
                Ok(more) => {
                    turn.events.extend(more.events);
                    turn.outbound.extend(more.outbound);
                    turn.effects = more.effects;
                    turn.wake_at = more.wake_at;
                    turn.closed = more.closed.or(turn.closed.take());
                    turn.steps += more.steps;
                }
                Err(panic) => {
                    close_with_error(state, turn, "engine_failed", panic);
                    return Ok(feed);
                }
            }
        }
        if !turn.effects.is_empty() {
            // the routing would wait for a request nobody performs: end it visibly instead
            turn.effects.clear();
            close_with_error(
                state,
                turn,
                "too_many_distributions",
                format!("more than {EFFECTS_PER_TURN} distributions answered at once in one turn"),
            );
        }
        Ok(feed)
    }

    /// Records the distribution's events in a turn (the agents hear of them once the turn is
    /// committed: see [`Prepared::feed`]).
    pub(crate) fn note_distribution(turn: &mut Turn, events: &[acd::Event]) {
        for e in events {
            turn.events.push(Event::Distribution {
                detail: serde_json::to_value(e).unwrap_or(Value::Null),
            });
        }
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

    fn stripe(&self, key: &str) -> &Mutex<()> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut h);
        &self.stripes[(h.finish() as usize) % STRIPES]
    }

    /// The lock of an interaction's customer (or of the interaction, for previews).
    pub(crate) fn lock_interaction(&self, row: &InteractionRow) -> &Mutex<()> {
        self.stripe(&Self::lock_key(row.entry_point_id, &row.customer, row.id))
    }

    pub(crate) async fn advance_with(
        &self,
        row: InteractionRow,
        input: Input<'_>,
        entry_point: Option<&EntryPoint>,
        notes: Vec<Event>,
    ) -> Result<Prepared> {
        self.advance_noted(row, input, None, entry_point, notes)
            .await
    }

    /// A turn that runs nothing: `notes` recorded, `outbound` sent to the customer (an agent's
    /// message), the state kept.
    pub(crate) fn annotate(
        &self,
        row: InteractionRow,
        entry_point: Option<&EntryPoint>,
        notes: Vec<Event>,
        outbound: Vec<Outbound>,
        edit: impl FnOnce(&mut State),
    ) -> Result<Prepared> {
        let mut state =
            load_state(&row.state).map_err(|e| ConversationError::NotRecorded(e.to_string()))?;
        edit(&mut state);
        let mut turn = Turn {
            events: notes,
            ..Turn::default()
        };
        for m in &outbound {
            turn.events.push(Event::MessageOut { message: m.clone() });
        }
        turn.outbound = outbound;
        let now = self.now();
        Ok(self.write(row, &state, turn, None, entry_point, now))
    }

    /// Notes that interaction `id` is being opened, under the lock of its customer.
    fn opening(&self, id: Uuid, entry_point: Option<Uuid>, customer: &str) -> OpeningGuard {
        self.openings
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, Self::lock_key(entry_point, customer, id));
        OpeningGuard {
            openings: self.openings.clone(),
            id,
        }
    }

    fn lock_key(row_entry_point: Option<Uuid>, customer: &str, id: Uuid) -> String {
        match row_entry_point {
            Some(ep) => format!("{ep}/{customer}"),
            None => format!("i/{id}"),
        }
    }

    async fn commit(&self, prepared: Prepared) -> Result<TurnOutcome> {
        let (tx, rx) = oneshot::channel();
        let Prepared {
            write: turn,
            deliveries,
            feed,
            opening,
            ..
        } = prepared;
        let opened: Vec<Uuid> = opening.iter().map(|o| o.id).collect();
        let has_outbox = !turn.outbox.is_empty()
            || turn
                .follow_up
                .as_ref()
                .is_some_and(|f| !f.outbox.is_empty());
        self.writer
            .send(Pending { turn, reply: tx })
            .await
            .map_err(|_| ConversationError::NotRecorded("the writer stopped".into()))?;
        let outcome = rx
            .await
            .map_err(|_| ConversationError::NotRecorded("the writer stopped".into()))?
            .map_err(ConversationError::NotRecorded)?;
        drop(opening);
        if outcome != TurnOutcome::Committed {
            self.abandon(&opened).await?;
        }
        if outcome == TurnOutcome::Committed {
            for d in deliveries {
                let _ = self.hub.send(d);
            }
            if let Some(d) = self.distribution.get() {
                crate::agents::feed(d, &feed);
            }
            self.timers_changed.notify_one();
            if has_outbox {
                self.outbox_changed.notify_one();
            }
        }
        Ok(outcome)
    }

    /// Takes interactions whose first turn was not written out of the distribution (it may
    /// have queued them during the turn): nobody would ever answer them.
    async fn abandon(&self, opened: &[Uuid]) -> Result<()> {
        let Some(d) = self.distribution.get() else {
            return Ok(());
        };
        for id in opened.iter().copied().filter(|id| d.is_distributed(*id)) {
            let events = d.op(|a, now| Ok(a.close(id, now))).await?;
            crate::agents::feed(d, &events);
        }
        Ok(())
    }

    /// What a turn of `interaction` may read. The customer's history is read only when a
    /// Check Nth contact can run.
    async fn snapshot(
        &self,
        version: VersionId,
        entry_point: Option<&EntryPoint>,
        customer: Option<Uuid>,
        interaction: Uuid,
    ) -> Result<Snapshot> {
        let set = self.programs.production().await?;
        let pinned = self.programs.version(&set, version).await?;
        let contacts = match customer {
            Some(c)
                if pinned
                    .as_ref()
                    .is_some_and(|p| p.has_type("check_nth_contact"))
                    || set.counts_contacts() =>
            {
                self.store.contacts(c, interaction, 1_000).await?
            }
            _ => Vec::new(),
        };
        Ok(Snapshot {
            set,
            pinned,
            time_zone: self.maker.time_zone().clone(),
            phone_region: entry_point
                .and_then(|e| e.phone_region.clone())
                .unwrap_or_else(|| self.phone_region.clone()),
            contacts,
            with_agent: false,
        })
    }

    /// Turns the engine's output into the rows of one transaction.
    fn write(
        &self,
        mut row: InteractionRow,
        state: &State,
        turn: Turn,
        inbound: Option<(Uuid, String)>,
        entry_point: Option<&EntryPoint>,
        now: Timestamp,
    ) -> Prepared {
        let mut events = Vec::with_capacity(turn.events.len());
        // each reply has its message_out event, in the same order: the reply takes its seq
        let mut reply_seqs = Vec::new();
        let mut closed_now = false;
        for e in &turn.events {
            match e {
                Event::MessageOut { .. } => reply_seqs.push(row.next_seq),
                Event::Closed { .. } => closed_now = true,
                _ => {}
            }
            events.push(EventRow {
                interaction_id: row.id,
                seq: row.next_seq,
                at: now,
                event: serde_json::to_value(e).unwrap_or(Value::Null),
            });
            row.next_seq += 1;
        }
        let deliveries = if self.hub.receiver_count() == 0 {
            Vec::new()
        } else {
            turn.outbound
                .iter()
                .zip(&reply_seqs)
                .map(|(m, seq)| Delivery {
                    entry_point_id: row.entry_point_id,
                    customer: row.customer.clone(),
                    interaction_id: row.id,
                    seq: *seq,
                    message: serde_json::to_value(m).unwrap_or(Value::Null),
                })
                .collect()
        };
        let deliver = entry_point.is_some_and(|ep| ep.channel == Channel::Http);
        let callback = entry_point.and_then(|ep| ep.callback_url.clone());
        let outbox = if deliver {
            turn.outbound
                .iter()
                .zip(reply_seqs)
                .map(|(m, seq)| OutboxRow {
                    id: Uuid::now_v7(),
                    interaction_id: row.id,
                    seq,
                    entry_point_id: entry_point.map(|e| e.id),
                    payload: serde_json::to_value(crate::delivery::OutboxPayload {
                        customer: row.customer.clone(),
                        message: m.clone(),
                    })
                    .unwrap_or(Value::Null),
                    created_at: now,
                    attempts: 0,
                    next_attempt_at: callback.as_ref().map(|_| now),
                    delivered_at: None,
                    last_error: callback
                        .is_none()
                        .then(|| "the entry point has no callback URL".to_owned()),
                })
                .collect()
        } else {
            Vec::new()
        };
        // a row not yet stored has revision 0
        let expected = (row.revision > 0).then_some(row.revision);
        row.status = status_of(state).to_owned();
        row.routing_id = state.routing_id;
        row.version_id = state.version_id;
        row.wake_at = self.wake_of(state, now);
        row.state = save_state(state);
        row.revision += 1;
        row.updated_at = now;
        Prepared {
            write: TurnWrite {
                interaction: row,
                expected_revision: expected,
                inbound,
                events,
                outbox,
                follow_up: None,
                new_customer: None,
                acd: None,
            },
            replies: turn.outbound,
            deliveries,
            closed_now,
            vars: state.vars.clone(),
            feed: Vec::new(),
            opening: Vec::new(),
        }
    }

    /// When an interaction's timer fires next: the engine's own timer, or the inactivity
    /// deadline if it comes first; none once closed.
    fn wake_of(&self, state: &State, now: Timestamp) -> Option<Timestamp> {
        if state.is_closed() {
            return None;
        }
        let idle = now.saturating_add(self.inactivity).ok();
        match (state.wake_at(), idle) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Which version a new interaction on this entry point runs, and in which mode.
    async fn version_for(&self, ep: &EntryPoint) -> Result<Option<(VersionId, &'static str)>> {
        if ep.channel.takes_test_versions()
            && let Some(test) = ep.test_version_id
            && let Some(v) = self.maker.store().version(test).await?
            && v.record.status == VersionStatus::Development
            && v.record.in_test
        {
            return Ok(Some((test, "test")));
        }
        let Some(start) = ep.start_routing_id else {
            return Ok(None);
        };
        let set = self.programs.production().await?;
        Ok(Programs::production_of(&set, start).map(|p| (p.version_id, "live")))
    }

    /// Creates an interaction and runs it from Start.
    async fn open(&self, o: Opening<'_>, inbound: Option<(Uuid, String)>) -> Result<Prepared> {
        let now = self.now();
        let id = Uuid::now_v7();
        let opening = self.opening(id, o.entry_point.map(|e| e.id), o.customer);
        let mut system = Map::new();
        system.insert(
            "interaction".into(),
            json!({"id": id, "mode": o.mode, "started_at": jiff::Timestamp::to_string(&now), "parent": o.parent}),
        );
        // the customer, met now for the first time or known already (previews have none)
        let customer = match o.entry_point {
            Some(ep) => {
                let cid = customer_id(ep.channel, o.customer);
                Some(match self.store.customer(cid).await? {
                    Some(known) => (known, false),
                    None => (Customer::new(ep.channel, o.customer, now), true),
                })
            }
            None => None,
        };
        system.insert(
            "customer".into(),
            customer
                .as_ref()
                .map(|(c, _)| c.variable())
                .unwrap_or_else(|| json!({"address": o.customer})),
        );
        let customer_id = customer.as_ref().map(|(c, _)| c.id);
        let owner = customer.as_ref().and_then(|(c, _)| c.owner_id);
        let new_customer = customer.and_then(|(c, new)| new.then_some(c));
        system.insert(
            "channel".into(),
            json!(
                o.entry_point
                    .map(|e| e.channel.as_str())
                    .unwrap_or("preview")
            ),
        );
        if let Some(ep) = o.entry_point {
            system.insert(
                "entry_point".into(),
                json!({"id": ep.id, "reference": ep.reference, "name": ep.name}),
            );
        }
        if let Some(m) = o.first {
            system.insert(
                "last_message".into(),
                json!({"text": m.text, "choice": m.choice}),
            );
        }
        let blank = |routing_id, version_id| InteractionRow {
            id,
            entry_point_id: o.entry_point.map(|e| e.id),
            mode: o.mode.to_owned(),
            customer: o.customer.to_owned(),
            customer_id,
            routing_id,
            version_id,
            status: "new".into(),
            state: Value::Null,
            wake_at: None,
            next_seq: 1,
            revision: 0,
            created_at: now,
            updated_at: now,
        };
        let first_event = o.first.map(|m| Event::MessageIn {
            text: m.text.clone(),
            choice: m.choice,
            attachments: m.attachments.len(),
        });
        if let Some(rules) = o.rules {
            let (state, turn, feed) = self
                .distribute_by_rules(id, rules, owner, system, first_event)
                .await?;
            let row = blank(Uuid::nil(), Uuid::nil());
            let mut prepared = self.write(row, &state, turn, inbound, o.entry_point, now);
            prepared.write.new_customer = new_customer;
            prepared.feed = feed;
            prepared.opening.push(opening);
            return Ok(prepared);
        }
        let program = match o.version {
            Some(v) => {
                let snapshot = self.snapshot(v, o.entry_point, customer_id, id).await?;
                snapshot.pinned.clone().map(|p| (p, snapshot))
            }
            None => None,
        };
        let Some((program, mut snapshot)) = program else {
            // Nothing to run: the customer gets nothing; the interaction says why.
            let routing_id = o
                .entry_point
                .and_then(|e| e.start_routing_id)
                .unwrap_or_default();
            let version_id = o.version.unwrap_or_default();
            let mut state = State::blank(routing_id, version_id, seed_of(id), system);
            let mut turn = Turn::default();
            turn.events.extend(first_event);
            close_with_error(
                &mut state,
                &mut turn,
                "no_version",
                "the entry point has no production version (or version in test) to run".into(),
            );
            let row = blank(routing_id, version_id);
            let mut prepared = self.write(row, &state, turn, inbound, o.entry_point, now);
            prepared.write.new_customer = new_customer;
            return Ok(prepared);
        };
        let mut state = State::new(&program, seed_of(id), system);
        state.vars = o.vars;
        let mut turn = match guarded(&mut state, Input::Start, now, &snapshot, &self.limits) {
            Ok(turn) => turn,
            Err(panic) => {
                let mut turn = Turn::default();
                close_with_error(&mut state, &mut turn, "engine_failed", panic);
                turn
            }
        };
        let feed = self
            .run_effects(id, &mut state, &mut turn, &mut snapshot, owner, now)
            .await?;
        if let Some(e) = first_event {
            turn.events.insert(0, e);
        }
        let row = blank(program.routing_id, program.version_id);
        let mut prepared = self.write(row, &state, turn, inbound, o.entry_point, now);
        prepared.write.new_customer = new_customer;
        prepared.feed = feed;
        prepared.opening.push(opening);
        Ok(prepared)
    }

    /// Runs one input on an existing interaction.
    async fn advance(
        &self,
        row: InteractionRow,
        input: Input<'_>,
        inbound: Option<(Uuid, String)>,
        entry_point: Option<&EntryPoint>,
    ) -> Result<Prepared> {
        self.advance_noted(row, input, inbound, entry_point, Vec::new())
            .await
    }

    /// [`Self::advance`], recording `notes` (what the distribution did) before the turn's own
    /// events.
    async fn advance_noted(
        &self,
        row: InteractionRow,
        input: Input<'_>,
        inbound: Option<(Uuid, String)>,
        entry_point: Option<&EntryPoint>,
        notes: Vec<Event>,
    ) -> Result<Prepared> {
        let now = self.now();
        if row.status == QUARANTINED {
            return Ok(Prepared::rows(Self::record_only(
                row, input, inbound, now, None,
            )));
        }
        let mut state: State = match load_state(&row.state) {
            Ok(s) => s,
            Err(e) => {
                return Ok(Prepared::rows(Self::record_only(
                    row,
                    input,
                    inbound,
                    now,
                    Some(e.to_string()),
                )));
            }
        };
        let mut snapshot = self
            .snapshot(state.version_id, entry_point, row.customer_id, row.id)
            .await?;
        snapshot.with_agent = self.held_by_agent(row.id).await;
        // a timer that is not the engine's own is the inactivity deadline
        let idle = CloseReason::Inactivity;
        let inactive = row
            .updated_at
            .saturating_add(self.inactivity)
            .is_ok_and(|d| d <= now);
        let input = match input {
            Input::Timer if inactive && state.wake_at().is_none_or(|w| w > now) => {
                Input::Close(&idle)
            }
            other => other,
        };
        match guarded(&mut state, input, now, &snapshot, &self.limits) {
            Ok(mut turn) => {
                let mut feed = Vec::new();
                if !turn.effects.is_empty() {
                    let owner = match row.customer_id {
                        Some(c) => self.store.customer(c).await?.and_then(|c| c.owner_id),
                        None => None,
                    };
                    feed = self
                        .run_effects(row.id, &mut state, &mut turn, &mut snapshot, owner, now)
                        .await?;
                }
                if !notes.is_empty() {
                    turn.events.splice(0..0, notes);
                }
                let mut prepared = self.write(row, &state, turn, inbound, entry_point, now);
                prepared.feed = feed;
                Ok(prepared)
            }
            Err(panic) => Ok(Prepared::rows(Self::record_only(
                row,
                input,
                inbound,
                now,
                Some(format!("the engine failed: {panic}")),
            ))),
        }
    }

    /// When `write` closes a live or test interaction whose entry point binds an interaction-end
    /// routing, starts that routing's production version in a new interaction, with the closed
    /// interaction's variables, written in the same transaction.
    async fn with_end_run(
        &self,
        mut prepared: Prepared,
        entry_point: Option<&EntryPoint>,
    ) -> Result<Prepared> {
        let row = &prepared.write.interaction;
        let (Some(ep), true) = (
            entry_point,
            prepared.closed_now && (row.mode == "live" || row.mode == "test"),
        ) else {
            return Ok(prepared);
        };
        let Some(end) = ep.end_routing_id else {
            return Ok(prepared);
        };
        let set = self.programs.production().await?;
        let Some(program) = Programs::production_of(&set, end) else {
            tracing::warn!(entry_point = %ep.reference, "the interaction-end routing has no production version");
            return Ok(prepared);
        };
        let vars = std::mem::take(&mut prepared.vars);
        let customer = row.customer.clone();
        let opening = Opening {
            entry_point: Some(ep),
            customer: &customer,
            mode: "end",
            version: Some(program.version_id),
            first: None,
            vars,
            parent: Some(row.id),
            rules: None,
        };
        let mut follow = Box::pin(self.open(opening, None)).await?;
        prepared.feed.append(&mut follow.feed);
        prepared.opening.append(&mut follow.opening);
        prepared.write.follow_up = Some(Box::new(follow.write));
        prepared.replies.extend(follow.replies);
        prepared.deliveries.extend(follow.deliveries);
        Ok(prepared)
    }

    /// A turn that runs nothing: it records the input on a quarantined interaction (or
    /// quarantines it, with `quarantine` as the reason) and keeps its state as it was.
    fn record_only(
        mut row: InteractionRow,
        input: Input<'_>,
        inbound: Option<(Uuid, String)>,
        now: Timestamp,
        quarantine: Option<String>,
    ) -> TurnWrite {
        let mut events = Vec::new();
        let mut push = |row: &mut InteractionRow, e: Event| {
            events.push(EventRow {
                interaction_id: row.id,
                seq: row.next_seq,
                at: now,
                event: serde_json::to_value(e).unwrap_or(Value::Null),
            });
            row.next_seq += 1;
        };
        if let Input::Message(m) = input {
            push(
                &mut row,
                Event::MessageIn {
                    text: m.text.clone(),
                    choice: m.choice,
                    attachments: m.attachments.len(),
                },
            );
        }
        match quarantine {
            Some(reason) => {
                tracing::error!(interaction = %row.id, "interaction quarantined: {reason}");
                push(
                    &mut row,
                    Event::Error {
                        action: None,
                        code: "quarantined".into(),
                        message: reason,
                    },
                );
            }
            None => push(
                &mut row,
                Event::Ignored {
                    reason: "the interaction is quarantined; retry it to resume".into(),
                },
            ),
        }
        row.status = QUARANTINED.into();
        row.wake_at = None;
        let expected = Some(row.revision);
        row.revision += 1;
        row.updated_at = now;
        TurnWrite {
            interaction: row,
            expected_revision: expected,
            inbound,
            events,
            outbox: Vec::new(),
            follow_up: None,
            new_customer: None,
            acd: None,
        }
    }

    /// Takes an interaction out of quarantine: it resumes from its saved state (its timer
    /// re-armed) with the next input.
    pub async fn retry(&self, id: Uuid) -> Result<Receipt> {
        let not_found = || ConversationError::NotFound(format!("interaction {id}"));
        let row = self.store.interaction(id).await?.ok_or_else(not_found)?;
        let _guard = self
            .stripe(&Self::lock_key(row.entry_point_id, &row.customer, id))
            .lock()
            .await;
        let mut row = self.store.interaction(id).await?.ok_or_else(not_found)?;
        if row.status != QUARANTINED {
            return Err(ConversationError::Invalid(
                "not_quarantined",
                format!("interaction {id} is not quarantined"),
            ));
        }
        let state = load_state(&row.state).map_err(|e| {
            ConversationError::Invalid("corrupt_state", format!("still unreadable: {e}"))
        })?;
        let now = self.now();
        let event = EventRow {
            interaction_id: id,
            seq: row.next_seq,
            at: now,
            event: json!({"type": "retried"}),
        };
        row.next_seq += 1;
        row.status = status_of(&state).into();
        row.wake_at = self.wake_of(&state, now);
        let expected = Some(row.revision);
        row.revision += 1;
        row.updated_at = now;
        let status = row.status.clone();
        let write = TurnWrite {
            interaction: row,
            expected_revision: expected,
            inbound: None,
            events: vec![event],
            outbox: Vec::new(),
            follow_up: None,
            new_customer: None,
            acd: None,
        };
        match self.commit(Prepared::rows(write)).await? {
            TurnOutcome::Committed => Ok(Receipt {
                interaction_id: id,
                duplicate: false,
                status,
                replies: Vec::new(),
            }),
            other => Err(ConversationError::NotRecorded(format!("{other:?}"))),
        }
    }

    fn check(m: &InboundMessage) -> Result<()> {
        let bad = |code, msg: String| Err(ConversationError::Invalid(code, msg));
        if m.message_id.is_empty() || m.message_id.len() > limits::MESSAGE_ID {
            return bad(
                "invalid_message_id",
                format!(
                    "message_id must have 1 to {} characters",
                    limits::MESSAGE_ID
                ),
            );
        }
        if m.customer.trim().is_empty() || m.customer.len() > limits::CUSTOMER {
            return bad(
                "invalid_customer",
                format!(
                    "the customer address must have 1 to {} characters",
                    limits::CUSTOMER
                ),
            );
        }
        if m.message.text.chars().count() > limits::TEXT {
            return bad(
                "message_too_long",
                format!("a message holds at most {} characters", limits::TEXT),
            );
        }
        if m.message.attachments.len() > limits::ATTACHMENTS {
            return bad(
                "too_many_attachments",
                format!(
                    "a message holds at most {} attachments",
                    limits::ATTACHMENTS
                ),
            );
        }
        Ok(())
    }

    /// A customer message received on an entry point. Returns once it is committed (or was
    /// already): that is when the channel may acknowledge it.
    pub async fn receive(&self, entry_point: &str, m: InboundMessage) -> Result<Receipt> {
        let receipt = self.receive_locked(entry_point, &m).await?;
        if !receipt.duplicate {
            self.after_turn(receipt.interaction_id, &receipt.status, Some(&m.message))
                .await?;
        }
        Ok(receipt)
    }

    /// [`Self::receive`] under the customer's lock.
    async fn receive_locked(&self, entry_point: &str, m: &InboundMessage) -> Result<Receipt> {
        Self::check(m)?;
        let ep = self
            .entry_point_cached(entry_point)
            .await?
            .ok_or_else(|| ConversationError::NotFound(format!("entry point '{entry_point}'")))?;
        let duplicate = |id: Uuid| Receipt {
            interaction_id: id,
            duplicate: true,
            status: String::new(),
            replies: Vec::new(),
        };
        let _guard = self
            .stripe(&format!("{}/{}", ep.id, m.customer))
            .lock()
            .await;
        for _ in 0..3 {
            if let Some(id) = self
                .store
                .inbound_seen(ep.id, &m.customer, &m.message_id)
                .await?
            {
                return Ok(duplicate(id));
            }
            let inbound = Some((ep.id, m.message_id.clone()));
            let turn = match self.store.open_interaction(ep.id, &m.customer).await? {
                Some(row) => {
                    self.advance(row, Input::Message(&m.message), inbound, Some(&ep))
                        .await?
                }
                None if ep.customer_routing.is_some() => {
                    let opening = Opening {
                        entry_point: Some(&ep),
                        customer: &m.customer,
                        mode: "live",
                        version: None,
                        first: Some(&m.message),
                        vars: Map::new(),
                        parent: None,
                        rules: ep.customer_routing.as_ref(),
                    };
                    self.open(opening, inbound).await?
                }
                None => {
                    let chosen = self.version_for(&ep).await?;
                    let opening = Opening {
                        entry_point: Some(&ep),
                        customer: &m.customer,
                        mode: chosen.map_or("live", |c| c.1),
                        version: chosen.map(|c| c.0),
                        first: Some(&m.message),
                        vars: Map::new(),
                        parent: None,
                        rules: None,
                    };
                    self.open(opening, inbound).await?
                }
            };
            let prepared = self.with_end_run(turn, Some(&ep)).await?;
            let id = prepared.write.interaction.id;
            let status = prepared.write.interaction.status.clone();
            let replies = prepared.replies.clone();
            match self.commit(prepared).await? {
                TurnOutcome::Committed => {
                    return Ok(Receipt {
                        interaction_id: id,
                        duplicate: false,
                        status,
                        replies,
                    });
                }
                TurnOutcome::Duplicate => return Ok(duplicate(id)),
                TurnOutcome::Conflict => continue,
            }
        }
        Err(ConversationError::NotRecorded(
            "the interaction kept changing".into(),
        ))
    }

    /// Starts a preview of any version: a conversation without entry point.
    pub async fn preview(&self, version: VersionId, customer: &str) -> Result<Receipt> {
        if self.maker.store().version(version).await?.is_none() {
            return Err(ConversationError::NotFound(format!("version {version}")));
        }
        let opening = Opening {
            entry_point: None,
            customer,
            mode: "preview",
            version: Some(version),
            first: None,
            vars: Map::new(),
            parent: None,
            rules: None,
        };
        let prepared = self.open(opening, None).await?;
        let id = prepared.write.interaction.id;
        let status = prepared.write.interaction.status.clone();
        let replies = prepared.replies.clone();
        match self.commit(prepared).await? {
            TurnOutcome::Committed => Ok(Receipt {
                interaction_id: id,
                duplicate: false,
                status,
                replies,
            }),
            other => Err(ConversationError::NotRecorded(format!("{other:?}"))),
        }
    }

    /// Applies a message, a close or the distribution's notes to one interaction by id.
    pub(crate) async fn apply(&self, id: Uuid, what: ById<'_>) -> Result<Receipt> {
        let receipt = self.apply_locked(id, what).await?;
        let message = match what {
            ById::Message(m) => Some(m),
            ById::Close(_) | ById::Noted(..) => None,
        };
        self.after_turn(id, &receipt.status, message).await?;
        Ok(receipt)
    }

    /// [`Self::apply`] under the interaction's lock.
    async fn apply_locked(&self, id: Uuid, what: ById<'_>) -> Result<Receipt> {
        let not_found = || ConversationError::NotFound(format!("interaction {id}"));
        let key = match self.store.interaction(id).await? {
            Some(row) => Self::lock_key(row.entry_point_id, &row.customer, id),
            // its first turn is on its way: its lock is held until it is written
            None => self.openings.key(id).ok_or_else(not_found)?,
        };
        let _guard = self.stripe(&key).lock().await;
        for _ in 0..3 {
            let row = self.store.interaction(id).await?.ok_or_else(not_found)?;
            let ep = match row.entry_point_id {
                Some(e) => self.store.entry_point(e).await?,
                None => None,
            };
            let turn = match what {
                ById::Message(m) => {
                    self.advance(row, Input::Message(m), None, ep.as_ref())
                        .await?
                }
                ById::Close(reason) => {
                    self.advance(row, Input::Close(reason), None, ep.as_ref())
                        .await?
                }
                ById::Noted(noted, outbound) => {
                    self.noted(row, ep.as_ref(), noted, outbound).await?
                }
            };
            let prepared = self.with_end_run(turn, ep.as_ref()).await?;
            let status = prepared.write.interaction.status.clone();
            let replies = prepared.replies.clone();
            if self.commit(prepared).await? == TurnOutcome::Committed {
                return Ok(Receipt {
                    interaction_id: id,
                    duplicate: false,
                    status,
                    replies,
                });
            }
        }
        Err(ConversationError::NotRecorded(
            "the interaction kept changing".into(),
        ))
    }

    /// A message in a preview conversation.
    pub async fn preview_message(&self, id: Uuid, message: Inbound) -> Result<Receipt> {
        let row = self
            .store
            .interaction(id)
            .await?
            .ok_or_else(|| ConversationError::NotFound(format!("interaction {id}")))?;
        if row.mode != "preview" {
            return Err(ConversationError::Invalid(
                "not_a_preview",
                "messages of live and test interactions come through their channel".into(),
            ));
        }
        if message.text.chars().count() > limits::TEXT {
            return Err(ConversationError::Invalid(
                "message_too_long",
                format!("a message holds at most {} characters", limits::TEXT),
            ));
        }
        self.apply(id, ById::Message(&message)).await
    }

    /// Closes an interaction.
    pub async fn close(&self, id: Uuid) -> Result<Receipt> {
        self.apply(id, ById::Close(&CloseReason::Closed)).await
    }

    /// Fires the timers that are due; returns how many.
    pub async fn fire_due(&self) -> Result<usize> {
        let now = self.now();
        let due = self.store.due_interactions(now, 500).await?;
        let mut fired = 0;
        for id in due {
            if let Some(status) = self.fire_one(id, now).await? {
                fired += 1;
                self.after_turn(id, &status, None).await?;
            }
        }
        Ok(fired)
    }

    /// Fires one interaction's timer if it is still due; returns its status then.
    async fn fire_one(&self, id: Uuid, now: Timestamp) -> Result<Option<String>> {
        let Some(row) = self.store.interaction(id).await? else {
            return Ok(None);
        };
        let _guard = self.lock_interaction(&row).lock().await;
        let Some(row) = self.store.interaction(id).await? else {
            return Ok(None);
        };
        if row.wake_at.is_none_or(|w| w > now) {
            return Ok(None);
        }
        let ep = match row.entry_point_id {
            Some(e) => self.store.entry_point(e).await?,
            None => None,
        };
        let turn = self.advance(row, Input::Timer, None, ep.as_ref()).await?;
        let prepared = self.with_end_run(turn, ep.as_ref()).await?;
        let status = prepared.write.interaction.status.clone();
        Ok((self.commit(prepared).await? == TurnOutcome::Committed).then_some(status))
    }
}
