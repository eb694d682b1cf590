//! The distribution in the runtime: the `acd` state in memory, rebuilt from storage at start-up,
//! kept in step with the groups (business objects) and the users, persisted after every
//! operation; and the agents' live feed.
//!
//! Every operation takes the one lock, runs the pure `acd` operation with the clock's `now`,
//! writes the rows it changed (entries, groups' rotation and handling times, the generator)
//! before the lock is released — so rows are written in the order the operations ran — and
//! returns the events for [`Conversations`](crate::Conversations) to act on.

use std::sync::Arc;

use acd::{
    Acd, Algorithm, Entry, EntryStatus, Event, GroupLimits, GroupSpec, Outcome, Presence, Refusal,
    Settings as AcdSettings, Target, UserSpec,
};
use flow::catalogue::ObjectKind;
use flow::effect::{Distribute, DistributionOutcome, EffectResult, ObjectName, UserName};
use flow::objects::{BusinessObject, QueueData, QueueGroupData};
use flow::{FieldError, model};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use sha2::Digest;
use store::{AcdWrite, AgentStore, Page, PageRequest, StoreError, UserRow, UserWrite};
use tokio::sync::{Mutex, Notify, broadcast};
use uuid::Uuid;

use crate::error::ConversationError;
use crate::maker::{Maker, MakerError};
use crate::writer::WriterHandle;

type Result<T> = std::result::Result<T, ConversationError>;

/// Settings of the distribution.
#[derive(Clone, Debug)]
pub struct DistributionSettings {
    /// How long an offer waits for the agent (and a distribution to one user for them).
    pub offer_timeout: SignedDuration,
    /// A customer's first handled conversation makes its agent the customer's owner.
    pub owner_on_first_handled: bool,
}

impl Default for DistributionSettings {
    fn default() -> Self {
        DistributionSettings {
            offer_timeout: SignedDuration::from_secs(30),
            owner_on_first_handled: true,
        }
    }
}

/// Something for one agent's live feed.
#[derive(Clone, Debug)]
pub struct AgentEvent {
    pub user: Uuid,
    pub event: Value,
}

/// What performing a distribution request gave.
#[derive(Debug)]
pub enum Performed {
    /// Queued (or offered): the routing waits; the events say what happened.
    Waiting(Vec<Event>),
    /// Answered at once (a refusal, or accepted at once): the routing continues with it.
    Answered(EffectResult, Vec<Event>),
}

/// A group now, as a supervisor sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupStatus {
    pub group_id: Uuid,
    pub members: Vec<MemberStatus>,
    /// In queue order (prioritized first, then arrival); at most [`GROUP_STATUS_WAITING`].
    pub waiting: Vec<WaitingStatus>,
    pub waiting_count: usize,
    /// What a new arrival would wait (`None` when nobody is online).
    pub estimated_wait: Option<SignedDuration>,
}

/// One member of a group now.
#[derive(Clone, Debug, PartialEq)]
pub struct MemberStatus {
    pub user_id: Uuid,
    pub presence: Presence,
    pub open_conversations: u32,
    pub capacity: u32,
}

/// One waiting interaction of a group.
#[derive(Clone, Debug, PartialEq)]
pub struct WaitingStatus {
    pub interaction_id: Uuid,
    pub priority: bool,
    pub arrived_at: Timestamp,
}

/// Most waiting interactions a group status lists.
pub const GROUP_STATUS_WAITING: usize = 1_000;

/// Fields of a user, as given when creating or changing one.
#[derive(Clone, Debug, Default)]
pub struct UserFields {
    pub reference: Option<String>,
    pub name: Option<String>,
    pub capacity: Option<u32>,
    pub auto_accept: Option<bool>,
}

struct Inner {
    acd: Acd,
    /// The Maker generation the groups were last read at.
    generation: u64,
    /// Events of group changes (offers to new members, interactions of a deleted group), for
    /// the next [`Distribution::take_pending`].
    pending: Vec<Event>,
}

/// The distribution service.
pub struct Distribution {
    inner: Mutex<Inner>,
    agents: Arc<dyn AgentStore>,
    maker: Arc<Maker>,
    hub: broadcast::Sender<AgentEvent>,
    changed: Notify,
    settings: DistributionSettings,
    /// The interactions in the distribution, readable without the lock: every customer message
    /// asks, and almost all of them are not distributed.
    distributed: std::sync::RwLock<std::collections::HashSet<Uuid>>,
    /// The group writer its rows go through, once attached; before, they are written at once.
    writer: std::sync::OnceLock<WriterHandle>,
}

/// The outcome a routing gets when the distribution resolves its interaction.
pub fn outcome_result(outcome: &Outcome) -> EffectResult {
    EffectResult::Distribute(match outcome {
        Outcome::Processed => DistributionOutcome::Processed,
        Outcome::Unprocessed => DistributionOutcome::Unprocessed,
        Outcome::Accepted => DistributionOutcome::Ok,
        Outcome::NoResponse => DistributionOutcome::NoResponse,
        Outcome::Error(r) => DistributionOutcome::error(r.clone()),
        Outcome::DissuasionMaxWait => DistributionOutcome::DissuasionMaxWait,
        Outcome::DissuasionByUser => DistributionOutcome::DissuasionByUser,
    })
}

fn refusal_outcome(r: &Refusal) -> DistributionOutcome {
    match r {
        Refusal::NotFound => DistributionOutcome::ReferenceNotFound,
        Refusal::OverflowNoUser => DistributionOutcome::OverflowNoUser,
        Refusal::OverflowMaxEstimatedWait => DistributionOutcome::OverflowMaxEstimatedWait,
        Refusal::OverflowMaxWaiting => DistributionOutcome::OverflowMaxWaiting,
        Refusal::Unavailable(why) | Refusal::Conflict(why) => {
            DistributionOutcome::error(why.clone())
        }
    }
}

fn refused(r: Refusal) -> ConversationError {
    match r {
        Refusal::NotFound => ConversationError::NotFound("no such group or user".into()),
        Refusal::Conflict(why) => ConversationError::Conflict("not_possible", why),
        Refusal::Unavailable(why) => ConversationError::Conflict("user_unavailable", why),
        other => ConversationError::Conflict(
            "overflow",
            refusal_outcome(&other)
                .reason()
                .unwrap_or("overflow")
                .to_owned(),
        ),
    }
}

/// SHA-256 of a token, hex.
pub fn token_hash(token: &str) -> String {
    sha2::Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The role of the distribution's agents: their accounts are made and ended with them.
pub const AGENT_ROLE: &str = "agent";

/// An agent's sign-in, checked and hashed (`crate::access::agent_sign_in`): both parts are
/// optional (an agent without them uses their token).
#[derive(Clone, Debug, Default)]
pub struct SignIn {
    pub email: Option<String>,
    pub password_hash: Option<String>,
}

/// The account of a new agent (same id as the agent).
pub fn agent_account(id: Uuid, name: &str, sign_in: SignIn, now: Timestamp) -> store::AccountRow {
    store::AccountRow {
        id,
        email: sign_in.email,
        name: name.to_owned(),
        password_hash: sign_in.password_hash,
        role: AGENT_ROLE.to_owned(),
        status: "active".to_owned(),
        revision: 1,
        created_at: now,
        updated_at: now,
    }
}

pub(crate) fn new_token() -> String {
    format!("sy_{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

/// A user (an agent of the distribution) as the API shows them; never their token's hash.
#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub id: Uuid,
    pub reference: String,
    pub name: String,
    /// `online`, `away` or `offline`.
    pub presence: String,
    pub capacity: u32,
    pub auto_accept: bool,
    /// Conversations they hold now.
    pub open_conversations: u32,
    pub last_message_at: Option<Timestamp>,
    pub revision: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Their account's email (they sign in with it), if they have one.
    pub email: Option<String>,
}

fn spec_of(u: &UserRow) -> UserSpec {
    UserSpec {
        id: u.id,
        presence: Presence::parse(&u.presence).unwrap_or(Presence::Offline),
        capacity: u.capacity,
        auto_accept: u.auto_accept,
        last_message_at: u.last_message_at,
    }
}

/// A group as the distribution sees it, from its business object.
pub fn group_spec(o: &BusinessObject) -> Option<GroupSpec> {
    let q: QueueData = serde_json::from_value(o.data.clone()).ok()?;
    let secs = |s: Option<u32>| s.map(|s| SignedDuration::from_secs(i64::from(s)));
    Some(GroupSpec {
        id: o.id,
        members: q.members,
        algorithm: Algorithm::parse(&q.algorithm).unwrap_or_default(),
        limits: GroupLimits {
            max_waiting: q.max_waiting,
            max_estimated_wait: secs(q.max_estimated_wait_seconds),
            max_wait: secs(q.max_wait_seconds),
            give_up_words: q.give_up_words,
        },
    })
}

impl Distribution {
    /// Rebuilds the distribution from storage.
    pub async fn load(
        agents: Arc<dyn AgentStore>,
        maker: Arc<Maker>,
        settings: DistributionSettings,
    ) -> Result<Arc<Self>> {
        let now = maker.clock().now();
        let acd_settings = AcdSettings {
            offer_timeout: settings.offer_timeout,
            ..AcdSettings::default()
        };
        let snapshot = agents.acd_snapshot().await?;
        let mut acd = Acd::new(acd_settings, snapshot.rng.unwrap_or(0x5157_1c4d_0000_0001));
        for u in agents.all_users().await? {
            acd.upsert_user(spec_of(&u), now);
        }
        let d = Arc::new(Distribution {
            inner: Mutex::new(Inner {
                acd,
                generation: u64::MAX,
                pending: Vec::new(),
            }),
            agents,
            maker,
            hub: broadcast::Sender::new(4_096),
            changed: Notify::new(),
            settings,
            distributed: Default::default(),
            writer: std::sync::OnceLock::new(),
        });
        {
            let mut inner = d.inner.lock().await;
            d.sync_groups(&mut inner).await?;
            for (group, rotation, handling) in snapshot.groups {
                let handling: Vec<SignedDuration> =
                    serde_json::from_value(handling).unwrap_or_default();
                inner
                    .acd
                    .restore_group_state(group, rotation as usize, handling);
            }
            let mut entries: Vec<Entry> = snapshot
                .entries
                .into_iter()
                .filter_map(|e| serde_json::from_value(e).ok())
                .collect();
            entries.sort_by_key(|e| e.seq);
            for e in entries {
                inner.acd.restore_entry(e);
            }
            // rows restored are rows already stored
            inner.acd.take_dirty();
            d.distributed_set()
                .extend(inner.acd.entries().map(|e| e.interaction));
        }
        Ok(d)
    }

    pub fn settings(&self) -> &DistributionSettings {
        &self.settings
    }

    /// The agents' live feed.
    pub fn subscribe(&self) -> broadcast::Receiver<AgentEvent> {
        self.hub.subscribe()
    }

    /// Resolves when the next timer may have changed.
    pub async fn changed(&self) {
        self.changed.notified().await
    }

    pub async fn next_wake(&self) -> Option<Timestamp> {
        self.inner.lock().await.acd.next_wake()
    }

    fn now(&self) -> Timestamp {
        self.maker.clock().now()
    }

    /// Reads the groups again when business objects changed.
    async fn sync_groups(&self, inner: &mut Inner) -> Result<()> {
        let generation = self.maker.generation();
        if inner.generation == generation {
            return Ok(());
        }
        let now = self.now();
        let mut groups: Vec<GroupSpec> = Vec::new();
        let mut page = PageRequest {
            limit: 1_000,
            after: None,
        };
        loop {
            let p = self.maker.store().objects(ObjectKind::Queue, &page).await?;
            groups.extend(p.items.iter().filter_map(group_spec));
            match p.next_after {
                Some(after) => page.after = Some(after),
                None => break,
            }
        }
        let known: std::collections::HashSet<Uuid> = groups.iter().map(|g| g.id).collect();
        let gone: Vec<Uuid> = inner
            .acd
            .group_ids()
            .into_iter()
            .filter(|g| !known.contains(g))
            .collect();
        let mut events = Vec::new();
        for g in gone {
            events.extend(inner.acd.remove_group(g, now));
        }
        for g in groups {
            events.extend(inner.acd.upsert_group(g, now));
        }
        inner.generation = generation;
        if !events.is_empty() {
            inner.pending.extend(events);
            self.changed.notify_one();
        }
        Ok(())
    }

    /// Events of group changes not handed out yet (see [`Inner::pending`]).
    pub async fn take_pending(&self) -> Result<Vec<Event>> {
        let mut inner = self.inner.lock().await;
        self.sync_groups(&mut inner).await?;
        self.persist(&mut inner).await?;
        let pending = std::mem::take(&mut inner.pending);
        drop(inner);
        self.flush().await?;
        Ok(pending)
    }

    /// Writes (or queues) what the last operations changed; says whether there was anything.
    async fn persist(&self, inner: &mut Inner) -> Result<bool> {
        let dirty = inner.acd.take_dirty();
        if dirty.entries.is_empty() && dirty.groups.is_empty() {
            return Ok(false);
        }
        {
            let mut set = self.distributed_set();
            for id in &dirty.entries {
                if inner.acd.entry(*id).is_some() {
                    set.insert(*id);
                } else {
                    set.remove(id);
                }
            }
        }
        let mut write = AcdWrite {
            rng: Some(inner.acd.rng_state()),
            ..AcdWrite::default()
        };
        for id in dirty.entries {
            write.entries.push((
                id,
                inner.acd.entry(id).map(|e| {
                    let user = match e.status {
                        EntryStatus::Offered { user, .. } | EntryStatus::Assigned { user, .. } => {
                            Some(user)
                        }
                        EntryStatus::Waiting => None,
                    };
                    (user, serde_json::to_value(e).unwrap_or(Value::Null))
                }),
            ));
        }
        for g in dirty.groups {
            if let Some(rotation) = inner.acd.rotation(g) {
                write.groups.push((
                    g,
                    rotation as u64,
                    serde_json::to_value(inner.acd.handling_times(g)).unwrap_or(Value::Null),
                ));
            }
        }
        match self.writer.get() {
            Some(w) => w.acd.push(write),
            None => self.agents.write_acd(&write).await?,
        }
        self.changed.notify_one();
        Ok(true)
    }

    /// Runs an operation on the distribution and persists what it changed.
    /// Returns once what it changed is on disk.
    pub async fn op<T>(
        &self,
        f: impl FnOnce(&mut Acd, Timestamp) -> std::result::Result<T, Refusal>,
    ) -> Result<T> {
        let (out, queued) = self.run_op(f).await?;
        // an operation that changed nothing has nothing to wait for
        if queued {
            self.flush().await?;
        }
        out.map_err(refused)
    }

    /// [`Self::op`], its rows queued for the group writer but not waited for: the caller commits
    /// a turn (or flushes) before it answers anyone.
    pub(crate) async fn op_buffered<T>(
        &self,
        f: impl FnOnce(&mut Acd, Timestamp) -> std::result::Result<T, Refusal>,
    ) -> Result<T> {
        self.run_op(f).await?.0.map_err(refused)
    }

    /// Runs an operation under the lock and queues its rows; says whether it queued any.
    async fn run_op<T>(
        &self,
        f: impl FnOnce(&mut Acd, Timestamp) -> std::result::Result<T, Refusal>,
    ) -> Result<(std::result::Result<T, Refusal>, bool)> {
        let mut inner = self.inner.lock().await;
        self.sync_groups(&mut inner).await?;
        let now = self.now();
        let out = f(&mut inner.acd, now);
        let queued = self.persist(&mut inner).await?;
        Ok((out, queued))
    }

    /// Resolves once every distribution row changed so far is on disk.
    pub async fn flush(&self) -> Result<()> {
        match self.writer.get() {
            Some(w) => w.flush().await.map_err(ConversationError::NotRecorded),
            None => Ok(()),
        }
    }

    /// Sends the distribution's rows through the group writer from now on (see
    /// [`crate::writer`]).
    pub(crate) fn attach_writer(&self, writer: WriterHandle) {
        let _ = self.writer.set(writer);
    }

    /// Reads the distribution.
    pub async fn read<T>(&self, f: impl FnOnce(&Acd) -> T) -> T {
        f(&self.inner.lock().await.acd)
    }

    fn distributed_set(&self) -> std::sync::RwLockWriteGuard<'_, std::collections::HashSet<Uuid>> {
        self.distributed.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the interaction is in the distribution (waiting, offered or with an agent),
    /// without taking the lock.
    pub fn is_distributed(&self, interaction: Uuid) -> bool {
        self.distributed
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&interaction)
    }

    /// Who holds or is offered an interaction, and whether they accepted it.
    pub async fn holder(&self, interaction: Uuid) -> Option<(Uuid, bool)> {
        if !self.is_distributed(interaction) {
            return None;
        }
        self.read(|a| match a.entry(interaction).map(|e| e.status) {
            Some(EntryStatus::Offered { user, .. }) => Some((user, false)),
            Some(EntryStatus::Assigned { user, .. }) => Some((user, true)),
            _ => None,
        })
        .await
    }

    /// Performs a routing's distribution request for `interaction`. `owner` is the customer's
    /// owner (the preferred agent).
    pub async fn perform(
        &self,
        interaction: Uuid,
        request: &Distribute,
        owner: Option<Uuid>,
    ) -> Result<Performed> {
        let answered = |o| Ok(Performed::Answered(EffectResult::Distribute(o), Vec::new()));
        let target = match self.target(request, owner).await? {
            Some(t) => t,
            None => return answered(DistributionOutcome::ReferenceNotFound),
        };
        let result = self
            .op_buffered(|a, now| {
                // performed again after a restart: it is already distributed
                Ok(match a.entry(interaction) {
                    Some(_) => None,
                    None => Some(a.enqueue(interaction, target, now)),
                })
            })
            .await?;
        Ok(match result {
            None => Performed::Waiting(Vec::new()),
            Some(Err(r)) => return answered(refusal_outcome(&r)),
            Some(Ok(events)) => {
                let answer = events.iter().find_map(|e| match e {
                    Event::Resolved {
                        interaction: i,
                        outcome,
                    } if *i == interaction => Some(outcome_result(outcome)),
                    _ => None,
                });
                match answer {
                    Some(a) => Performed::Answered(a, events),
                    None => Performed::Waiting(events),
                }
            }
        })
    }

    /// Where a request sends the interaction; `None` when the reference is unknown.
    async fn target(&self, request: &Distribute, owner: Option<Uuid>) -> Result<Option<Target>> {
        let store = self.maker.store();
        let object = |kind: ObjectKind, name: &ObjectName| {
            let name = name.clone();
            async move {
                Ok::<_, ConversationError>(match name {
                    ObjectName::Entity { id } => match Uuid::parse_str(&id) {
                        Ok(id) => store.object(kind, id).await?,
                        Err(_) => None,
                    },
                    ObjectName::Reference { reference } => {
                        store.object_by_reference(kind, &reference).await?
                    }
                })
            }
        };
        Ok(match request {
            Distribute::Queue { target, priority } => {
                object(ObjectKind::Queue, target)
                    .await?
                    .map(|o| Target::Queues {
                        groups: vec![o.id],
                        priority: *priority,
                    })
            }
            Distribute::QueueGroup { target, priority } => object(ObjectKind::QueueGroup, target)
                .await?
                .and_then(|o| serde_json::from_value::<QueueGroupData>(o.data).ok())
                .map(|g| Target::Queues {
                    groups: g.queues,
                    priority: *priority,
                }),
            Distribute::User { target } => {
                let user = match target {
                    UserName::Entity { id } => Uuid::parse_str(id).ok(),
                    UserName::Reference { reference } => self
                        .agents
                        .user_by_reference(reference)
                        .await?
                        .map(|u| u.id),
                    UserName::PreferredAgent => owner,
                };
                user.map(|user| Target::User { user, keep: false })
            }
            // the customer routing rules enqueue by themselves; performed again after a
            // restart, the interaction is found in the distribution already
            Distribute::Rules {
                owner,
                group,
                algorithm,
                ..
            } => match (owner, group) {
                (Some(user), _) => Some(Target::User {
                    user: *user,
                    keep: true,
                }),
                (None, Some(group)) => Some(Target::Wait {
                    group: *group,
                    algorithm: algorithm.and_then(|a| Algorithm::parse(a.as_str())),
                }),
                (None, None) => None,
            },
        })
    }

    /// Tells each agent what concerns them.
    pub fn feed(&self, events: &[Event]) {
        for e in events {
            let (user, event) = match e {
                Event::Offered {
                    interaction,
                    user,
                    until,
                } => (
                    *user,
                    json!({"type": "offer", "interaction_id": interaction, "until": until.to_string()}),
                ),
                Event::Accepted { interaction, user } => (
                    *user,
                    json!({"type": "assigned", "interaction_id": interaction}),
                ),
                Event::OfferExpired { interaction, user } => (
                    *user,
                    json!({"type": "offer_ended", "interaction_id": interaction, "reason": "expired"}),
                ),
                Event::OfferWithdrawn { interaction, user } => (
                    *user,
                    json!({"type": "offer_ended", "interaction_id": interaction, "reason": "withdrawn"}),
                ),
                Event::Transferred { interaction, from } => (
                    *from,
                    json!({"type": "transferred", "interaction_id": interaction}),
                ),
                Event::Closed {
                    interaction,
                    user: Some(user),
                    handled,
                } => (
                    *user,
                    json!({"type": "closed", "interaction_id": interaction, "handled": handled}),
                ),
                _ => continue,
            };
            self.publish(user, event);
        }
    }

    /// A group's members and waiting interactions now (`None`: no such group). Read through an
    /// operation, so a group changed a moment ago is read first.
    pub async fn group_status(&self, id: Uuid) -> Result<Option<GroupStatus>> {
        self.op(|a, _| {
            Ok(a.estimated_wait(id, false).map(|ewt| {
                let waiting = a.waiting(id);
                GroupStatus {
                    group_id: id,
                    members: a
                        .members(id)
                        .into_iter()
                        .filter_map(|u| {
                            a.user(u).map(|spec| MemberStatus {
                                user_id: u,
                                presence: spec.presence,
                                open_conversations: a.load(u),
                                capacity: spec.capacity,
                            })
                        })
                        .collect(),
                    waiting_count: waiting.len(),
                    waiting: waiting
                        .iter()
                        .take(GROUP_STATUS_WAITING)
                        .filter_map(|i| {
                            a.entry(*i).map(|e| WaitingStatus {
                                interaction_id: *i,
                                priority: e.priority,
                                arrived_at: e.arrived_at,
                            })
                        })
                        .collect(),
                    estimated_wait: (ewt != SignedDuration::MAX).then_some(ewt),
                }
            }))
        })
        .await
    }

    /// Sends events to the agents they concern.
    pub fn publish(&self, user: Uuid, event: Value) {
        let _ = self.hub.send(AgentEvent { user, event });
    }

    // ---- users ----

    /// A stored user as the API shows them: the distribution's live presence, load and last
    /// message when it holds the user.
    async fn shown(&self, u: UserRow) -> User {
        let (spec, load) = self.read(|a| (a.user(u.id).cloned(), a.load(u.id))).await;
        User {
            id: u.id,
            presence: spec
                .as_ref()
                .map_or(u.presence, |s| s.presence.as_str().to_owned()),
            last_message_at: spec.map_or(u.last_message_at, |s| s.last_message_at),
            open_conversations: load,
            reference: u.reference,
            name: u.name,
            capacity: u.capacity,
            auto_accept: u.auto_accept,
            revision: u.revision,
            created_at: u.created_at,
            updated_at: u.updated_at,
            email: u.email,
        }
    }

    pub async fn users(&self, page: &PageRequest) -> Result<Page<User>> {
        let rows = self.agents.users(page).await?;
        let mut items = Vec::with_capacity(rows.items.len());
        for u in rows.items {
            items.push(self.shown(u).await);
        }
        Ok(Page {
            items,
            next_after: rows.next_after,
        })
    }

    pub async fn user(&self, id: Uuid) -> Result<User> {
        let row = self.user_row(id).await?;
        Ok(self.shown(row).await)
    }

    async fn user_row(&self, id: Uuid) -> Result<UserRow> {
        self.agents
            .user(id)
            .await?
            .ok_or_else(|| ConversationError::NotFound(format!("user {id}")))
    }

    /// The user a token belongs to.
    pub async fn authenticate(&self, token: &str) -> Result<Option<User>> {
        if token.is_empty() || token.len() > 200 {
            return Ok(None);
        }
        match self.agents.user_by_token(&token_hash(token)).await? {
            Some(u) => Ok(Some(self.shown(u).await)),
            None => Ok(None),
        }
    }

    fn apply(u: &mut UserRow, f: UserFields) -> Result<()> {
        let field = |e: FieldError| ConversationError::Maker(MakerError::Field(e));
        if let Some(r) = f.reference {
            u.reference = model::check_reference(&r).map_err(field)?;
        }
        if let Some(n) = f.name {
            u.name = model::check_name("name", &n).map_err(field)?;
        }
        if let Some(c) = f.capacity {
            if c == 0 || c > acd::limits::CAPACITY {
                return Err(field(FieldError {
                    field: "capacity",
                    message: format!("must be 1 to {}", acd::limits::CAPACITY),
                }));
            }
            u.capacity = c;
        }
        if let Some(a) = f.auto_accept {
            u.auto_accept = a;
        }
        Ok(())
    }

    fn taken(e: StoreError, reference: &str) -> ConversationError {
        match e {
            StoreError::Unique("email") => {
                ConversationError::Conflict("email_taken", "another account has this email".into())
            }
            StoreError::Unique(_) => ConversationError::Invalid(
                "reference_taken",
                format!("the reference '{reference}' is already used by another user"),
            ),
            other => other.into(),
        }
    }

    /// Creates a user (offline) and their account (same id, the agent role, the sign-in given);
    /// returns them with their API token, shown this once.
    pub async fn create_user(&self, f: UserFields, sign_in: SignIn) -> Result<(User, String)> {
        let (Some(_), Some(_)) = (&f.reference, &f.name) else {
            return Err(ConversationError::Maker(MakerError::Field(FieldError {
                field: "reference",
                message: "reference and name are required".into(),
            })));
        };
        let now = self.now();
        let token = new_token();
        let mut u = UserRow {
            id: Uuid::now_v7(),
            reference: String::new(),
            name: String::new(),
            token_hash: token_hash(&token),
            presence: Presence::Offline.as_str().into(),
            capacity: 3,
            auto_accept: false,
            last_message_at: None,
            revision: 1,
            created_at: now,
            updated_at: now,
            email: sign_in.email.clone(),
        };
        Self::apply(&mut u, f)?;
        let account = agent_account(u.id, &u.name, sign_in, now);
        let mut inner = self.inner.lock().await;
        if inner.acd.user_count() >= acd::limits::USERS {
            return Err(ConversationError::Maker(MakerError::Limit(format!(
                "at most {} users",
                acd::limits::USERS
            ))));
        }
        self.agents
            .write_user(UserWrite::Insert {
                user: u.clone(),
                account,
            })
            .await
            .map_err(|e| Self::taken(e, &u.reference))?;
        inner.acd.upsert_user(spec_of(&u), now);
        self.persist(&mut inner).await?;
        drop(inner);
        self.flush().await?;
        Ok((self.shown(u).await, token))
    }

    /// Changes a user; returns the events (a lower capacity or auto-accept may change offers).
    pub async fn update_user(
        &self,
        id: Uuid,
        f: UserFields,
        if_match: Option<u64>,
    ) -> Result<(User, Vec<Event>)> {
        let mut inner = self.inner.lock().await;
        let current = self.user_row(id).await?;
        if let Some(expected) = if_match
            && expected != current.revision
        {
            return Err(ConversationError::Maker(MakerError::PreconditionFailed {
                current: current.revision,
            }));
        }
        let mut next = current.clone();
        Self::apply(&mut next, f)?;
        next.revision += 1;
        next.updated_at = self.now();
        // presence and last message are the distribution's
        if let Some(spec) = inner.acd.user(id) {
            next.presence = spec.presence.as_str().into();
            next.last_message_at = spec.last_message_at;
        }
        self.write_update(&current, &next).await?;
        let events = inner.acd.upsert_user(spec_of(&next), self.now());
        self.persist(&mut inner).await?;
        drop(inner);
        self.flush().await?;
        Ok((self.shown(next).await, events))
    }

    /// Deletes a user; their conversations and offers go back to their queues.
    pub async fn delete_user(&self, id: Uuid) -> Result<Vec<Event>> {
        let mut inner = self.inner.lock().await;
        match self.agents.write_user(UserWrite::Delete { id }).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                return Err(ConversationError::NotFound(format!("user {id}")));
            }
            Err(e) => return Err(e.into()),
        }
        let events = inner.acd.remove_user(id, self.now());
        self.persist(&mut inner).await?;
        drop(inner);
        self.flush().await?;
        Ok(events)
    }

    /// A new API token for a user (the old one stops working).
    pub async fn rotate_token(&self, id: Uuid) -> Result<(User, String)> {
        let inner = self.inner.lock().await;
        let current = self.user_row(id).await?;
        let token = new_token();
        let mut next = current.clone();
        next.token_hash = token_hash(&token);
        next.revision += 1;
        next.updated_at = self.now();
        self.write_update(&current, &next).await?;
        drop(inner);
        Ok((self.shown(next).await, token))
    }

    /// Writes a changed user if nobody changed it meanwhile.
    async fn write_update(&self, current: &UserRow, next: &UserRow) -> Result<()> {
        self.agents
            .write_user(UserWrite::Update {
                user: next.clone(),
                expected_revision: current.revision,
            })
            .await
            .map_err(|e| match e {
                StoreError::Conflict => ConversationError::Maker(MakerError::Busy),
                other => Self::taken(other, &next.reference),
            })
    }

    /// Sets a user's presence (stored with the user) and returns the events.
    pub async fn set_presence(&self, id: Uuid, presence: Presence) -> Result<Vec<Event>> {
        let mut inner = self.inner.lock().await;
        self.sync_groups(&mut inner).await?;
        let Some(spec) = inner.acd.user(id).cloned() else {
            return Err(ConversationError::NotFound(format!("user {id}")));
        };
        self.agents
            .set_user_state(id, presence.as_str(), spec.last_message_at)
            .await?;
        let events = inner.acd.set_presence(id, presence, self.now());
        self.persist(&mut inner).await?;
        drop(inner);
        self.flush().await?;
        Ok(events)
    }

    /// Notes that a user wrote to a customer (for *most waiting*).
    pub async fn message_sent(&self, id: Uuid) -> Result<()> {
        let mut inner = self.inner.lock().await;
        let now = self.now();
        inner.acd.message_sent(id, now);
        if let Some(spec) = inner.acd.user(id) {
            self.agents
                .set_user_state(id, spec.presence.as_str(), Some(now))
                .await?;
        }
        Ok(())
    }
}
