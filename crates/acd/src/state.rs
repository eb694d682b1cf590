//! The distribution state and its operations.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::model::*;
use crate::pick::{Candidate, pick};

/// Where an interaction is distributed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// A queue, or a queue group: the first of `groups` that would not overflow.
    Queues {
        groups: Vec<GroupId>,
        priority: bool,
    },
    /// One user. With `keep`, it waits for them however long, offline included (the owner
    /// rule *keep user*); without, the user must be online and it waits at most the offer
    /// timeout.
    User { user: UserId, keep: bool },
    /// A queue, without overflow: it waits there even with nobody online (the customer
    /// routing rules of an entry point), offered by `algorithm` when one is given (the rule's),
    /// else by the group's.
    Wait {
        group: GroupId,
        algorithm: Option<Algorithm>,
    },
}

/// Why a distribution is refused at once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// No such queue or user.
    NotFound,
    /// No member of the queue is online.
    OverflowNoUser,
    /// The estimated waiting time is above the queue's limit.
    OverflowMaxEstimatedWait,
    /// The queue already holds its maximum of waiting interactions.
    OverflowMaxWaiting,
    /// The user cannot take it (offline, away); the reason is for people.
    Unavailable(String),
    /// The interaction is already distributed (or, for a transfer, not held by that user).
    Conflict(String),
}

/// How a distribution ended, for the routing that waits on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// An agent handled it and closed it.
    Processed,
    /// It left the queue or the agent without being handled.
    Unprocessed,
    /// The user accepted it (distribution to a user).
    Accepted,
    /// The user did not answer in time (distribution to a user).
    NoResponse,
    /// The distribution to a user failed (declined, user removed); the reason is for people.
    Error(String),
    /// It waited longer than the queue allows.
    DissuasionMaxWait,
    /// The customer wrote one of the queue's "I give up" words.
    DissuasionByUser,
}

/// What happened, in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Queued {
        interaction: InteractionId,
        group: Option<GroupId>,
        user: Option<UserId>,
    },
    Offered {
        interaction: InteractionId,
        user: UserId,
        until: Timestamp,
    },
    Accepted {
        interaction: InteractionId,
        user: UserId,
    },
    Declined {
        interaction: InteractionId,
        user: UserId,
    },
    OfferExpired {
        interaction: InteractionId,
        user: UserId,
    },
    /// The user went away or offline with the offer open: it goes to someone else.
    OfferWithdrawn {
        interaction: InteractionId,
        user: UserId,
    },
    Transferred {
        interaction: InteractionId,
        from: UserId,
    },
    /// The interaction left the distribution: closed by its agent (`handled`) or left before.
    Closed {
        interaction: InteractionId,
        user: Option<UserId>,
        handled: bool,
    },
    /// The distribution the routing waits on has its outcome.
    Resolved {
        interaction: InteractionId,
        outcome: Outcome,
    },
}

impl Event {
    /// The interaction the event is about.
    pub fn interaction(&self) -> InteractionId {
        match self {
            Event::Queued { interaction, .. }
            | Event::Offered { interaction, .. }
            | Event::Accepted { interaction, .. }
            | Event::Declined { interaction, .. }
            | Event::OfferExpired { interaction, .. }
            | Event::OfferWithdrawn { interaction, .. }
            | Event::Transferred { interaction, .. }
            | Event::Closed { interaction, .. }
            | Event::Resolved { interaction, .. } => *interaction,
        }
    }
}

/// Where an interaction waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    Group(GroupId),
    User(UserId),
}

/// Status of a distributed interaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    Waiting,
    Offered { user: UserId, until: Timestamp },
    Assigned { user: UserId, since: Timestamp },
}

/// A distributed interaction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub interaction: InteractionId,
    pub place: Place,
    pub priority: bool,
    /// Arrival order (queue order after priority).
    pub seq: u64,
    pub arrived_at: Timestamp,
    pub status: EntryStatus,
    /// Users who declined it or let the offer expire: it goes to others first.
    pub declined: Vec<UserId>,
    /// A distribution to one user that waits however long (*keep user*).
    pub keep: bool,
    /// Until when a distribution to one user waits.
    pub deadline: Option<Timestamp>,
    /// The routing's outcome is given at acceptance (distribution to a user), not at close.
    pub resolve_on_accept: bool,
    /// The routing already has its outcome.
    pub resolved: bool,
    /// How its group picks a user for it, when not the group's own algorithm (a customer
    /// routing rule's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<Algorithm>,
}

/// How an interaction joins a group's queue.
#[derive(Clone, Copy, Debug)]
struct Queueing {
    priority: bool,
    algorithm: Option<Algorithm>,
}

/// What changed since the last [`Acd::take_dirty`]: the rows to write.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dirty {
    /// Entries changed or removed (look them up: absent means removed).
    pub entries: BTreeSet<InteractionId>,
    /// Groups whose rotation position or handling times changed.
    pub groups: BTreeSet<GroupId>,
}

#[derive(Clone, Debug)]
struct User {
    spec: UserSpec,
    groups: Vec<GroupId>,
    offered: Vec<InteractionId>,
    assigned: Vec<InteractionId>,
    /// Distributions to this user, in arrival order.
    direct: BTreeMap<u64, InteractionId>,
}

impl User {
    fn load(&self) -> u32 {
        (self.offered.len() + self.assigned.len()) as u32
    }
    fn eligible(&self) -> bool {
        self.spec.presence == Presence::Online && self.load() < self.spec.capacity
    }
}

#[derive(Clone, Debug)]
struct Group {
    spec: GroupSpec,
    /// Slots of the members in [`Users`], aligned with `spec.members` (`None`: no such user).
    members_ix: Vec<Option<usize>>,
    rotation: usize,
    /// Waiting interactions by (0 prioritized / 1 not, arrival).
    queue: BTreeMap<(u8, u64), InteractionId>,
    handling: VecDeque<SignedDuration>,
    give_up: Vec<String>,
}

/// Users in slots, so that scanning a group's members reads a vector rather than hashing ids.
/// Slots of removed users stay empty (never reused).
#[derive(Clone, Debug, Default)]
struct Users {
    slots: Vec<Option<User>>,
    ix: HashMap<UserId, usize>,
}

impl Users {
    fn get(&self, id: &UserId) -> Option<&User> {
        self.ix.get(id).and_then(|&i| self.slots[i].as_ref())
    }
    fn get_mut(&mut self, id: &UserId) -> Option<&mut User> {
        match self.ix.get(id) {
            Some(&i) => self.slots[i].as_mut(),
            None => None,
        }
    }
    fn at(&self, i: usize) -> Option<&User> {
        self.slots.get(i).and_then(Option::as_ref)
    }
    fn slot(&self, id: &UserId) -> Option<usize> {
        self.ix.get(id).copied()
    }
    fn insert(&mut self, id: UserId, user: User) {
        match self.ix.get(&id) {
            Some(&i) => self.slots[i] = Some(user),
            None => {
                self.ix.insert(id, self.slots.len());
                self.slots.push(Some(user));
            }
        }
    }
    fn remove(&mut self, id: &UserId) -> Option<User> {
        let i = self.ix.remove(id)?;
        self.slots[i].take()
    }
    fn values(&self) -> impl Iterator<Item = &User> {
        self.slots.iter().flatten()
    }
}

/// What a group's online members offer: whether any is online, their free places and their
/// total capacity.
struct Staffing {
    online: bool,
    free: i64,
    capacity: i64,
}

fn key(e: &Entry) -> (u8, u64) {
    (u8::from(!e.priority), e.seq)
}

/// Folds text for "I give up" words: lower case, no accents (canonical decomposition with the
/// combining marks dropped), words of letters and digits separated by one space.
fn words(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let spaced: String = text
        .nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    format!(
        " {} ",
        spaced.split_whitespace().collect::<Vec<_>>().join(" ")
    )
}

/// The distribution state.
#[derive(Clone, Debug)]
pub struct Acd {
    settings: Settings,
    users: Users,
    groups: HashMap<GroupId, Group>,
    entries: HashMap<InteractionId, Entry>,
    timers: BTreeSet<(Timestamp, InteractionId)>,
    timer_of: HashMap<InteractionId, Timestamp>,
    seq: u64,
    rng: u64,
    dirty: Dirty,
}

impl Acd {
    pub fn new(settings: Settings, seed: u64) -> Self {
        Acd {
            settings,
            users: Users::default(),
            groups: HashMap::new(),
            entries: HashMap::new(),
            timers: BTreeSet::new(),
            timer_of: HashMap::new(),
            seq: 0,
            rng: seed,
            dirty: Dirty::default(),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// State of the random generator (persist it to replay *random* after a restart).
    pub fn rng_state(&self) -> u64 {
        self.rng
    }

    pub fn set_rng_state(&mut self, state: u64) {
        self.rng = state;
    }

    /// Takes the set of changed rows.
    pub fn take_dirty(&mut self) -> Dirty {
        std::mem::take(&mut self.dirty)
    }

    pub fn entry(&self, interaction: InteractionId) -> Option<&Entry> {
        self.entries.get(&interaction)
    }

    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    pub fn user(&self, id: UserId) -> Option<&UserSpec> {
        self.users.get(&id).map(|u| &u.spec)
    }

    /// How many users there are.
    pub fn user_count(&self) -> usize {
        self.users.ix.len()
    }

    /// Open conversations of a user (offered, then assigned).
    pub fn conversations_of(&self, id: UserId) -> Vec<InteractionId> {
        self.users
            .get(&id)
            .map(|u| u.offered.iter().chain(&u.assigned).copied().collect())
            .unwrap_or_default()
    }

    pub fn load(&self, id: UserId) -> u32 {
        self.users.get(&id).map_or(0, User::load)
    }

    /// A group's members, in order.
    pub fn members(&self, group: GroupId) -> Vec<UserId> {
        self.groups
            .get(&group)
            .map(|g| g.spec.members.clone())
            .unwrap_or_default()
    }

    /// Every group's id.
    pub fn group_ids(&self) -> Vec<GroupId> {
        self.groups.keys().copied().collect()
    }

    /// Rotation position of a group's *in order* algorithm.
    pub fn rotation(&self, group: GroupId) -> Option<usize> {
        self.groups.get(&group).map(|g| g.rotation)
    }

    /// Recent handling times of a group, oldest first.
    pub fn handling_times(&self, group: GroupId) -> Vec<SignedDuration> {
        self.groups
            .get(&group)
            .map(|g| g.handling.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Interactions waiting in a group, in queue order.
    pub fn waiting(&self, group: GroupId) -> Vec<InteractionId> {
        self.groups
            .get(&group)
            .map(|g| g.queue.values().copied().collect())
            .unwrap_or_default()
    }

    /// Whether any user is online.
    pub fn anyone_online(&self) -> bool {
        self.users
            .values()
            .any(|u| u.spec.presence == Presence::Online)
    }

    /// Whether any member of a group is online.
    pub fn group_online(&self, group: GroupId) -> bool {
        self.groups
            .get(&group)
            .is_some_and(|g| self.staffing(g).online)
    }

    fn staffing(&self, g: &Group) -> Staffing {
        let mut s = Staffing {
            online: false,
            free: 0,
            capacity: 0,
        };
        for u in g
            .members_ix
            .iter()
            .flatten()
            .filter_map(|&i| self.users.at(i))
        {
            if u.spec.presence == Presence::Online {
                s.online = true;
                s.capacity += i64::from(u.spec.capacity);
                s.free += i64::from(u.spec.capacity.saturating_sub(u.load()));
            }
        }
        s
    }

    /// Recomputes a group's member slots.
    fn link_members(&mut self, group: GroupId) {
        let Some(g) = self.groups.get(&group) else {
            return;
        };
        let slots = g.spec.members.iter().map(|m| self.users.slot(m)).collect();
        if let Some(g) = self.groups.get_mut(&group) {
            g.members_ix = slots;
        }
    }

    /// The next time [`Acd::tick`] has something to do.
    pub fn next_wake(&self) -> Option<Timestamp> {
        self.timers.first().map(|(t, _)| *t)
    }

    // ---- restoring ----

    /// Puts back an entry read from storage (after users and groups), without events.
    pub fn restore_entry(&mut self, e: Entry) {
        self.seq = self.seq.max(e.seq + 1);
        match e.status {
            EntryStatus::Waiting => match e.place {
                Place::Group(g) => {
                    if let Some(group) = self.groups.get_mut(&g) {
                        group.queue.insert(key(&e), e.interaction);
                    }
                }
                Place::User(u) => {
                    if let Some(user) = self.users.get_mut(&u) {
                        user.direct.insert(e.seq, e.interaction);
                    }
                }
            },
            EntryStatus::Offered { user, .. } => {
                if let Some(u) = self.users.get_mut(&user) {
                    u.offered.push(e.interaction);
                }
            }
            EntryStatus::Assigned { user, .. } => {
                if let Some(u) = self.users.get_mut(&user) {
                    u.assigned.push(e.interaction);
                }
            }
        }
        let id = e.interaction;
        self.entries.insert(id, e);
        self.retime(id);
    }

    /// Puts back a group's rotation position and handling times read from storage.
    pub fn restore_group_state(
        &mut self,
        group: GroupId,
        rotation: usize,
        handling: Vec<SignedDuration>,
    ) {
        if let Some(g) = self.groups.get_mut(&group) {
            g.rotation = rotation;
            g.handling = handling.into_iter().collect();
        }
    }

    // ---- users and groups ----

    /// Creates or changes a user; offers they can no longer take go to others, and work they
    /// can now take comes to them.
    pub fn upsert_user(&mut self, spec: UserSpec, now: Timestamp) -> Vec<Event> {
        let mut ev = Vec::new();
        let id = spec.id;
        let spec = UserSpec {
            capacity: spec.capacity.clamp(1, limits::CAPACITY),
            ..spec
        };
        match self.users.get_mut(&id) {
            Some(u) => u.spec = spec,
            None => {
                self.users.insert(
                    id,
                    User {
                        spec,
                        groups: Vec::new(),
                        offered: Vec::new(),
                        assigned: Vec::new(),
                        direct: BTreeMap::new(),
                    },
                );
                // memberships declared before the user existed
                let groups: Vec<GroupId> = self
                    .groups
                    .values()
                    .filter(|g| g.spec.members.contains(&id))
                    .map(|g| g.spec.id)
                    .collect();
                for g in &groups {
                    self.link_members(*g);
                }
                if let Some(u) = self.users.get_mut(&id) {
                    u.groups = groups;
                }
            }
        }
        self.settle_user(id, now, &mut ev);
        ev
    }

    /// Sets a user's presence.
    pub fn set_presence(&mut self, id: UserId, presence: Presence, now: Timestamp) -> Vec<Event> {
        let Some(u) = self.users.get(&id) else {
            return Vec::new();
        };
        let spec = UserSpec {
            presence,
            ..u.spec.clone()
        };
        self.upsert_user(spec, now)
    }

    /// Notes that a user wrote to a customer (for *most waiting*).
    pub fn message_sent(&mut self, id: UserId, now: Timestamp) {
        if let Some(u) = self.users.get_mut(&id) {
            u.spec.last_message_at = Some(now);
        }
    }

    /// Removes a user: their offers and conversations go back to their queues; distributions
    /// to them end in error.
    pub fn remove_user(&mut self, id: UserId, now: Timestamp) -> Vec<Event> {
        let mut ev = Vec::new();
        let Some(u) = self.users.remove(&id) else {
            return ev;
        };
        for g in &u.groups {
            if let Some(group) = self.groups.get_mut(g) {
                group.spec.members.retain(|m| *m != id);
            }
            self.link_members(*g);
        }
        for i in u.direct.values() {
            self.finish(
                *i,
                Outcome::Error("the user was removed".into()),
                None,
                false,
                &mut ev,
            );
        }
        for i in u
            .offered
            .iter()
            .chain(&u.assigned)
            .copied()
            .collect::<Vec<_>>()
        {
            self.requeue_or_end(i, id, now, &mut ev);
        }
        self.dispatch_all(now, &mut ev);
        ev
    }

    /// Creates or changes a group.
    pub fn upsert_group(&mut self, spec: GroupSpec, now: Timestamp) -> Vec<Event> {
        let mut ev = Vec::new();
        let id = spec.id;
        let mut seen = std::collections::HashSet::new();
        let members: Vec<UserId> = spec
            .members
            .iter()
            .take(limits::MEMBERS)
            .filter(|m| seen.insert(**m))
            .copied()
            .collect();
        let spec = GroupSpec { members, ..spec };
        // unchanged (the runtime hands every group over again after any object change)
        if self.groups.get(&id).is_some_and(|g| g.spec == spec) {
            return ev;
        }
        let old_members = self
            .groups
            .get(&id)
            .map(|g| g.spec.members.clone())
            .unwrap_or_default();
        for m in &old_members {
            if let Some(u) = self.users.get_mut(m) {
                u.groups.retain(|g| *g != id);
            }
        }
        for m in &spec.members {
            if let Some(u) = self.users.get_mut(m) {
                u.groups.push(id);
            }
        }
        let give_up = spec
            .limits
            .give_up_words
            .iter()
            .take(limits::GIVE_UP_WORDS)
            .map(|w| words(w))
            .filter(|w| !w.trim().is_empty())
            .collect();
        match self.groups.get_mut(&id) {
            Some(g) => {
                g.spec = spec;
                g.give_up = give_up;
            }
            None => {
                self.groups.insert(
                    id,
                    Group {
                        spec,
                        members_ix: Vec::new(),
                        rotation: 0,
                        queue: BTreeMap::new(),
                        handling: VecDeque::new(),
                        give_up,
                    },
                );
            }
        }
        self.link_members(id);
        // waiting interactions' dissuasion deadlines follow the group's limits
        let waiting: Vec<InteractionId> = self.groups[&id].queue.values().copied().collect();
        for i in waiting {
            self.retime(i);
        }
        self.dispatch_group(id, now, &mut ev);
        ev
    }

    /// Removes a group: its waiting interactions end *Unprocessed*.
    pub fn remove_group(&mut self, id: GroupId, now: Timestamp) -> Vec<Event> {
        let mut ev = Vec::new();
        let Some(g) = self.groups.remove(&id) else {
            return ev;
        };
        for m in &g.spec.members {
            if let Some(u) = self.users.get_mut(m) {
                u.groups.retain(|x| *x != id);
            }
        }
        for i in g.queue.values() {
            self.finish(*i, Outcome::Unprocessed, None, false, &mut ev);
        }
        let _ = now;
        ev
    }

    // ---- distribution ----

    /// Whether distributing to `group` now would overflow, and why.
    pub fn overflow(&self, group: GroupId, priority: bool) -> Option<Refusal> {
        let Some(g) = self.groups.get(&group) else {
            return Some(Refusal::NotFound);
        };
        let staff = self.staffing(g);
        if !staff.online {
            return Some(Refusal::OverflowNoUser);
        }
        let ewt = self.wait_estimate(g, &staff, priority);
        if ewt == SignedDuration::ZERO {
            return None;
        }
        if let Some(max) = g.spec.limits.max_waiting
            && g.queue.len() as u64 >= u64::from(max)
        {
            return Some(Refusal::OverflowMaxWaiting);
        }
        if let Some(max) = g.spec.limits.max_estimated_wait
            && ewt > max
        {
            return Some(Refusal::OverflowMaxEstimatedWait);
        }
        None
    }

    /// The estimated waiting time of an interaction arriving now in `group` (`None`: no such
    /// group). With `a` interactions ahead of it (all waiting ones, or only the prioritized ones
    /// for a prioritized arrival), `f` free places among online members (capacity minus open
    /// conversations), `c` the online members' total capacity and `h` the mean of the group's
    /// last 20 handling times (the default handling time while there is none): zero when
    /// `f > a`, else `h × (a + 1 − f) / c` — a place frees every `h / c` on average and it
    /// needs `a + 1 − f` of them. With nobody online it is unbounded (`SignedDuration::MAX`).
    pub fn estimated_wait(&self, group: GroupId, priority: bool) -> Option<SignedDuration> {
        let g = self.groups.get(&group)?;
        Some(self.wait_estimate(g, &self.staffing(g), priority))
    }

    fn wait_estimate(&self, g: &Group, staff: &Staffing, priority: bool) -> SignedDuration {
        let ahead = if priority {
            g.queue.range(..(1, 0)).count() as i64
        } else {
            g.queue.len() as i64
        };
        if staff.free > ahead {
            return SignedDuration::ZERO;
        }
        if staff.capacity == 0 {
            return SignedDuration::MAX;
        }
        let mean = if g.handling.is_empty() {
            self.settings.default_handling
        } else {
            let total: i128 = g.handling.iter().map(|d| d.as_millis()).sum();
            SignedDuration::from_millis((total / g.handling.len() as i128) as i64)
        };
        let needed = ahead + 1 - staff.free;
        SignedDuration::from_millis(
            (mean.as_millis() as i64).saturating_mul(needed) / staff.capacity,
        )
    }

    /// Distributes an interaction. Refused at once on a missing target or an overflow; else it
    /// waits and the events say what happened (an offer may already be among them).
    pub fn enqueue(
        &mut self,
        interaction: InteractionId,
        target: Target,
        now: Timestamp,
    ) -> Result<Vec<Event>, Refusal> {
        if self.entries.contains_key(&interaction) {
            return Err(Refusal::Conflict(
                "the interaction is already distributed".into(),
            ));
        }
        let mut ev = Vec::new();
        self.place(interaction, target, now, false, &mut ev)?;
        Ok(ev)
    }

    fn place(
        &mut self,
        interaction: InteractionId,
        target: Target,
        now: Timestamp,
        resolved: bool,
        ev: &mut Vec<Event>,
    ) -> Result<(), Refusal> {
        let seq = self.seq;
        let target = match target {
            Target::Wait { group, algorithm } => {
                if !self.groups.contains_key(&group) {
                    return Err(Refusal::NotFound);
                }
                self.seq += 1;
                let how = Queueing {
                    priority: false,
                    algorithm,
                };
                self.queue_in(interaction, group, how, seq, now, resolved, ev);
                return Ok(());
            }
            other => other,
        };
        match target {
            Target::Wait { .. } => Ok(()),
            Target::Queues { groups, priority } => {
                let mut first_refusal = None;
                let mut chosen = None;
                for g in groups.iter().take(limits::QUEUES_IN_GROUP) {
                    match self.overflow(*g, priority) {
                        None => {
                            chosen = Some(*g);
                            break;
                        }
                        Some(Refusal::NotFound) => {}
                        Some(r) => {
                            first_refusal.get_or_insert(r);
                        }
                    }
                }
                let Some(group) = chosen else {
                    return Err(first_refusal.unwrap_or(Refusal::NotFound));
                };
                self.seq += 1;
                let how = Queueing {
                    priority,
                    algorithm: None,
                };
                self.queue_in(interaction, group, how, seq, now, resolved, ev);
                Ok(())
            }
            Target::User { user, keep } => {
                let Some(u) = self.users.get_mut(&user) else {
                    return Err(Refusal::NotFound);
                };
                if !keep && u.spec.presence != Presence::Online {
                    return Err(Refusal::Unavailable(format!(
                        "the user is {}",
                        u.spec.presence.as_str()
                    )));
                }
                self.seq += 1;
                u.direct.insert(seq, interaction);
                let deadline = (!keep).then(|| {
                    now.saturating_add(self.settings.offer_timeout)
                        .unwrap_or(now)
                });
                self.entries.insert(
                    interaction,
                    Entry {
                        interaction,
                        place: Place::User(user),
                        priority: false,
                        seq,
                        arrived_at: now,
                        status: EntryStatus::Waiting,
                        declined: Vec::new(),
                        keep,
                        deadline,
                        resolve_on_accept: !keep,
                        resolved,
                        algorithm: None,
                    },
                );
                self.touch(interaction);
                ev.push(Event::Queued {
                    interaction,
                    group: None,
                    user: Some(user),
                });
                self.dispatch_user(user, now, ev);
                Ok(())
            }
        }
    }

    /// Puts an interaction in a group's queue and dispatches the group.
    #[allow(clippy::too_many_arguments)]
    fn queue_in(
        &mut self,
        interaction: InteractionId,
        group: GroupId,
        how: Queueing,
        seq: u64,
        now: Timestamp,
        resolved: bool,
        ev: &mut Vec<Event>,
    ) {
        let e = Entry {
            interaction,
            place: Place::Group(group),
            priority: how.priority,
            algorithm: how.algorithm,
            seq,
            arrived_at: now,
            status: EntryStatus::Waiting,
            declined: Vec::new(),
            keep: false,
            deadline: None,
            resolve_on_accept: false,
            resolved,
        };
        if let Some(g) = self.groups.get_mut(&group) {
            g.queue.insert(key(&e), interaction);
        }
        self.entries.insert(interaction, e);
        self.touch(interaction);
        ev.push(Event::Queued {
            interaction,
            group: Some(group),
            user: None,
        });
        self.dispatch_group(group, now, ev);
    }

    /// The user accepts an offer.
    pub fn accept(
        &mut self,
        interaction: InteractionId,
        user: UserId,
        now: Timestamp,
    ) -> Result<Vec<Event>, Refusal> {
        let mut ev = Vec::new();
        self.check_status(interaction, user, false)?;
        self.assign(interaction, user, now, &mut ev);
        Ok(ev)
    }

    fn assign(
        &mut self,
        interaction: InteractionId,
        user: UserId,
        now: Timestamp,
        ev: &mut Vec<Event>,
    ) {
        let Some(e) = self.entries.get_mut(&interaction) else {
            return;
        };
        e.status = EntryStatus::Assigned { user, since: now };
        let resolve = e.resolve_on_accept && !e.resolved;
        if resolve {
            e.resolved = true;
        }
        if let Some(u) = self.users.get_mut(&user) {
            u.offered.retain(|i| *i != interaction);
            u.assigned.push(interaction);
        }
        self.touch(interaction);
        ev.push(Event::Accepted { interaction, user });
        if resolve {
            ev.push(Event::Resolved {
                interaction,
                outcome: Outcome::Accepted,
            });
        }
    }

    /// Checks that `user` holds the interaction (`assigned`) or has its open offer.
    fn check_status(
        &self,
        interaction: InteractionId,
        user: UserId,
        assigned: bool,
    ) -> Result<(), Refusal> {
        match (self.entries.get(&interaction).map(|e| e.status), assigned) {
            (Some(EntryStatus::Offered { user: u, .. }), false)
            | (Some(EntryStatus::Assigned { user: u, .. }), true)
                if u == user =>
            {
                Ok(())
            }
            (_, false) => Err(Refusal::Conflict(
                "no open offer of this interaction to this user".into(),
            )),
            (_, true) => Err(Refusal::Conflict(
                "the interaction is not held by this user".into(),
            )),
        }
    }

    /// The user declines an offer: it goes to the next eligible user.
    pub fn decline(
        &mut self,
        interaction: InteractionId,
        user: UserId,
        now: Timestamp,
    ) -> Result<Vec<Event>, Refusal> {
        self.check_status(interaction, user, false)?;
        let mut ev = vec![Event::Declined { interaction, user }];
        self.unoffer(interaction, user, now, Unoffer::Declined, &mut ev);
        Ok(ev)
    }

    /// The interaction leaves the distribution: closed by its agent (`handled`), or by the
    /// customer, the routing or the API before an agent handled it.
    pub fn close(&mut self, interaction: InteractionId, now: Timestamp) -> Vec<Event> {
        let mut ev = Vec::new();
        let Some(e) = self.entries.get(&interaction) else {
            return ev;
        };
        match e.status {
            EntryStatus::Assigned { user, since } => {
                let place = e.place;
                if let Place::Group(g) = place
                    && let Some(group) = self.groups.get_mut(&g)
                {
                    group
                        .handling
                        .push_back(now.duration_since(since).max(SignedDuration::ZERO));
                    while group.handling.len() > limits::HANDLING_SAMPLES {
                        group.handling.pop_front();
                    }
                    self.dirty.groups.insert(g);
                }
                self.finish(interaction, Outcome::Processed, Some(user), true, &mut ev);
                self.dispatch_user(user, now, &mut ev);
            }
            EntryStatus::Offered { user, .. } => {
                self.finish(
                    interaction,
                    Outcome::Unprocessed,
                    Some(user),
                    false,
                    &mut ev,
                );
                self.dispatch_user(user, now, &mut ev);
            }
            EntryStatus::Waiting => {
                self.finish(interaction, Outcome::Unprocessed, None, false, &mut ev);
            }
        }
        ev
    }

    /// The agent holding an interaction lets it go without handling it: the routing gets
    /// *Unprocessed*.
    pub fn release(
        &mut self,
        interaction: InteractionId,
        user: UserId,
        now: Timestamp,
    ) -> Result<Vec<Event>, Refusal> {
        self.check_status(interaction, user, true)?;
        let mut ev = Vec::new();
        self.finish(
            interaction,
            Outcome::Unprocessed,
            Some(user),
            false,
            &mut ev,
        );
        self.dispatch_user(user, now, &mut ev);
        Ok(ev)
    }

    /// The agent holding an interaction hands it to a queue or a user.
    pub fn transfer(
        &mut self,
        interaction: InteractionId,
        from: UserId,
        target: Target,
        now: Timestamp,
    ) -> Result<Vec<Event>, Refusal> {
        self.check_status(interaction, from, true)?;
        // check the target before letting go
        match &target {
            Target::Queues { groups, priority } => {
                let refusals: Vec<Refusal> = groups
                    .iter()
                    .take(limits::QUEUES_IN_GROUP)
                    .filter_map(|g| self.overflow(*g, *priority))
                    .collect();
                if refusals.len() == groups.len().min(limits::QUEUES_IN_GROUP) {
                    return Err(refusals
                        .into_iter()
                        .find(|r| *r != Refusal::NotFound)
                        .unwrap_or(Refusal::NotFound));
                }
            }
            Target::User { user, keep } => match self.users.get(user) {
                None => return Err(Refusal::NotFound),
                Some(u) if !keep && u.spec.presence != Presence::Online => {
                    return Err(Refusal::Unavailable(format!(
                        "the user is {}",
                        u.spec.presence.as_str()
                    )));
                }
                Some(_) => {}
            },
            Target::Wait { group, .. } => {
                if !self.groups.contains_key(group) {
                    return Err(Refusal::NotFound);
                }
            }
        }
        let Some(old) = self.entries.remove(&interaction) else {
            return Err(Refusal::NotFound);
        };
        self.untime(interaction);
        if let Some(u) = self.users.get_mut(&from) {
            u.assigned.retain(|i| *i != interaction);
        }
        let mut ev = vec![Event::Transferred { interaction, from }];
        // the routing keeps waiting for the close (a distribution to a user already has its answer)
        let resolved = old.resolved;
        self.place(interaction, target, now, resolved, &mut ev)?;
        if let Some(e) = self.entries.get_mut(&interaction) {
            e.resolve_on_accept = false;
        }
        self.dispatch_user(from, now, &mut ev);
        Ok(ev)
    }

    /// A customer message while distributed: an "I give up" word of the queue dissuades.
    pub fn customer_message(
        &mut self,
        interaction: InteractionId,
        text: &str,
        now: Timestamp,
    ) -> Vec<Event> {
        let mut ev = Vec::new();
        let Some(e) = self.entries.get(&interaction) else {
            return ev;
        };
        let (Place::Group(g), EntryStatus::Waiting | EntryStatus::Offered { .. }) =
            (e.place, e.status)
        else {
            return ev;
        };
        let Some(group) = self.groups.get(&g) else {
            return ev;
        };
        if group.give_up.is_empty() {
            return ev;
        }
        let said = words(text);
        if !group.give_up.iter().any(|w| said.contains(w.as_str())) {
            return ev;
        }
        let offered_to = match e.status {
            EntryStatus::Offered { user, .. } => Some(user),
            _ => None,
        };
        self.finish(
            interaction,
            Outcome::DissuasionByUser,
            offered_to,
            false,
            &mut ev,
        );
        if let Some(u) = offered_to {
            self.dispatch_user(u, now, &mut ev);
        }
        ev
    }

    /// Runs what is due: expired offers, dissuasion deadlines, distributions to a user that
    /// waited too long.
    pub fn tick(&mut self, now: Timestamp) -> Vec<Event> {
        let mut ev = Vec::new();
        while let Some(&(at, id)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            self.timer_of.remove(&id);
            let Some(e) = self.entries.get(&id) else {
                continue;
            };
            match (e.status, e.place) {
                (EntryStatus::Offered { user, until }, _) if until <= now => {
                    ev.push(Event::OfferExpired {
                        interaction: id,
                        user,
                    });
                    self.unoffer(id, user, now, Unoffer::Expired, &mut ev);
                }
                (EntryStatus::Waiting, Place::Group(_)) => {
                    self.finish(id, Outcome::DissuasionMaxWait, None, false, &mut ev);
                }
                (EntryStatus::Waiting, Place::User(_)) => {
                    self.finish(id, Outcome::NoResponse, None, false, &mut ev);
                }
                _ => self.retime(id),
            }
        }
        ev
    }

    // ---- internals ----

    fn touch(&mut self, id: InteractionId) {
        self.dirty.entries.insert(id);
        self.retime(id);
    }

    fn untime(&mut self, id: InteractionId) {
        if let Some(t) = self.timer_of.remove(&id) {
            self.timers.remove(&(t, id));
        }
    }

    fn retime(&mut self, id: InteractionId) {
        self.untime(id);
        let Some(e) = self.entries.get(&id) else {
            return;
        };
        let at = match (e.status, e.place) {
            (EntryStatus::Offered { until, .. }, _) => Some(until),
            (EntryStatus::Waiting, Place::Group(g)) => self
                .groups
                .get(&g)
                .and_then(|g| g.spec.limits.max_wait)
                .and_then(|w| e.arrived_at.saturating_add(w).ok()),
            (EntryStatus::Waiting, Place::User(_)) => e.deadline,
            (EntryStatus::Assigned { .. }, _) => None,
        };
        if let Some(t) = at {
            self.timers.insert((t, id));
            self.timer_of.insert(id, t);
        }
    }

    /// Ends an interaction's distribution: removed everywhere, the routing told `outcome`
    /// unless it already has its answer.
    fn finish(
        &mut self,
        id: InteractionId,
        outcome: Outcome,
        user: Option<UserId>,
        handled: bool,
        ev: &mut Vec<Event>,
    ) {
        let Some(e) = self.entries.remove(&id) else {
            return;
        };
        self.untime(id);
        self.dirty.entries.insert(id);
        match (e.status, e.place) {
            (EntryStatus::Waiting, Place::Group(g)) => {
                if let Some(group) = self.groups.get_mut(&g) {
                    group.queue.remove(&key(&e));
                }
            }
            (EntryStatus::Waiting, Place::User(u)) => {
                if let Some(user) = self.users.get_mut(&u) {
                    user.direct.remove(&e.seq);
                }
            }
            (EntryStatus::Offered { user, .. } | EntryStatus::Assigned { user, .. }, _) => {
                if let Some(u) = self.users.get_mut(&user) {
                    u.offered.retain(|i| *i != id);
                    u.assigned.retain(|i| *i != id);
                }
            }
        }
        ev.push(Event::Closed {
            interaction: id,
            user,
            handled,
        });
        if !e.resolved {
            ev.push(Event::Resolved {
                interaction: id,
                outcome,
            });
        }
    }

    /// An offer ends without acceptance: the interaction waits again (or its distribution to
    /// a user ends) and the user's freed place is filled.
    fn unoffer(
        &mut self,
        id: InteractionId,
        user: UserId,
        now: Timestamp,
        why: Unoffer,
        ev: &mut Vec<Event>,
    ) {
        if let Some(u) = self.users.get_mut(&user) {
            u.offered.retain(|i| *i != id);
        }
        let Some(e) = self.entries.get_mut(&id) else {
            return;
        };
        match e.place {
            Place::User(target) => {
                let past_deadline = e.deadline.is_some_and(|d| d <= now);
                if e.keep && why != Unoffer::Declined {
                    e.status = EntryStatus::Waiting;
                    let seq = e.seq;
                    if let Some(u) = self.users.get_mut(&target) {
                        u.direct.insert(seq, id);
                    }
                    self.touch(id);
                } else {
                    let outcome = match why {
                        Unoffer::Declined => Outcome::Error("the user declined".into()),
                        Unoffer::Expired => Outcome::NoResponse,
                        Unoffer::Withdrawn if past_deadline => Outcome::NoResponse,
                        Unoffer::Withdrawn => {
                            // back to waiting for the user until the deadline
                            e.status = EntryStatus::Waiting;
                            let seq = e.seq;
                            if let Some(u) = self.users.get_mut(&target) {
                                u.direct.insert(seq, id);
                            }
                            self.touch(id);
                            self.dispatch_user(user, now, ev);
                            return;
                        }
                    };
                    // the entry was offered: finish it as if it waited
                    if let Some(e) = self.entries.get_mut(&id) {
                        e.status = EntryStatus::Waiting;
                        let seq = e.seq;
                        if let Some(u) = self.users.get_mut(&target) {
                            u.direct.insert(seq, id);
                        }
                    }
                    self.finish(id, outcome, None, false, ev);
                }
            }
            Place::Group(g) => {
                if why != Unoffer::Withdrawn && !e.declined.contains(&user) {
                    e.declined.push(user);
                }
                e.status = EntryStatus::Waiting;
                let k = key(e);
                let past_max_wait = self
                    .groups
                    .get(&g)
                    .and_then(|g| g.spec.limits.max_wait)
                    .and_then(|w| e.arrived_at.saturating_add(w).ok())
                    .is_some_and(|d| d <= now);
                match self.groups.get_mut(&g) {
                    Some(group) if !past_max_wait => {
                        group.queue.insert(k, id);
                        self.touch(id);
                        self.dispatch_group(g, now, ev);
                    }
                    Some(group) => {
                        group.queue.insert(k, id);
                        self.finish(id, Outcome::DissuasionMaxWait, None, false, ev);
                    }
                    None => {
                        if let Some(e) = self.entries.get_mut(&id) {
                            e.status = EntryStatus::Waiting;
                        }
                        self.finish(id, Outcome::Unprocessed, None, false, ev);
                    }
                }
            }
        }
        self.dispatch_user(user, now, ev);
    }

    /// A user's offer or conversation goes back to its queue (the user was removed).
    fn requeue_or_end(
        &mut self,
        id: InteractionId,
        user: UserId,
        now: Timestamp,
        ev: &mut Vec<Event>,
    ) {
        let Some(e) = self.entries.get_mut(&id) else {
            return;
        };
        if let EntryStatus::Assigned { .. } = e.status {
            e.status = EntryStatus::Offered { user, until: now };
        }
        self.unoffer(id, user, now, Unoffer::Withdrawn, ev);
    }

    /// After a change of a user: withdraw the offers they can no longer take, then give them
    /// work.
    fn settle_user(&mut self, id: UserId, now: Timestamp, ev: &mut Vec<Event>) {
        let Some(u) = self.users.get(&id) else {
            return;
        };
        if u.spec.presence != Presence::Online {
            for i in u.offered.clone() {
                ev.push(Event::OfferWithdrawn {
                    interaction: i,
                    user: id,
                });
                self.unoffer(i, id, now, Unoffer::Withdrawn, ev);
            }
        }
        self.dispatch_user(id, now, ev);
    }

    /// Fills a user's free places: distributions to them first, then the queues they belong
    /// to, the one with the most urgent head first.
    fn dispatch_user(&mut self, id: UserId, now: Timestamp, ev: &mut Vec<Event>) {
        loop {
            let Some(u) = self.users.get(&id) else {
                return;
            };
            if !u.eligible() {
                return;
            }
            let Some((_, &i)) = u.direct.first_key_value() else {
                break;
            };
            self.offer(i, id, now, ev);
        }
        let Some(u) = self.users.get(&id) else {
            return;
        };
        let mut groups: Vec<((u8, u64), GroupId)> = u
            .groups
            .iter()
            .filter_map(|g| {
                self.groups
                    .get(g)
                    .and_then(|group| group.queue.first_key_value().map(|(k, _)| (*k, *g)))
            })
            .collect();
        groups.sort();
        for (_, g) in groups {
            if !self.users.get(&id).is_some_and(User::eligible) {
                return;
            }
            self.dispatch_group(g, now, ev);
        }
    }

    fn dispatch_all(&mut self, now: Timestamp, ev: &mut Vec<Event>) {
        let mut groups: Vec<GroupId> = self.groups.keys().copied().collect();
        groups.sort();
        for g in groups {
            self.dispatch_group(g, now, ev);
        }
    }

    /// Offers a group's waiting interactions, in queue order, to its eligible users as its
    /// algorithm picks them, until nobody is eligible.
    fn dispatch_group(&mut self, group: GroupId, now: Timestamp, ev: &mut Vec<Event>) {
        let Some(g) = self.groups.get(&group) else {
            return;
        };
        if g.queue.is_empty() {
            return;
        }
        // eligible members: what the algorithm sees, and who they are
        let mut cands: Vec<Candidate> = Vec::new();
        let mut who: Vec<(UserId, u32)> = Vec::new();
        for (member, slot) in g.members_ix.iter().enumerate() {
            if let Some(u) = slot.and_then(|i| self.users.at(i))
                && u.eligible()
            {
                cands.push(Candidate {
                    member,
                    load: u.load(),
                    last_message_at: u.spec.last_message_at,
                });
                who.push((u.spec.id, u.spec.capacity));
            }
        }
        let (group_algorithm, members) = (g.spec.algorithm, g.spec.members.len());
        let mut after: Option<(u8, u64)> = None;
        for _ in 0..limits::DISPATCH_SCAN {
            if cands.is_empty() {
                break;
            }
            let Some(g) = self.groups.get(&group) else {
                return;
            };
            let next = match after {
                None => g.queue.iter().next(),
                Some(k) => g
                    .queue
                    .range((std::ops::Bound::Excluded(k), std::ops::Bound::Unbounded))
                    .next(),
            };
            let Some((&k, &i)) = next else {
                break;
            };
            after = Some(k);
            let rotation = g.rotation;
            let algorithm = self
                .entries
                .get(&i)
                .and_then(|e| e.algorithm)
                .unwrap_or(group_algorithm);
            let declined: &[UserId] = self.entries.get(&i).map_or(&[], |e| &e.declined);
            let chosen = if declined.is_empty() {
                pick(algorithm, &cands, members, rotation, &mut self.rng)
            } else {
                let mut open: Vec<usize> = (0..cands.len())
                    .filter(|&c| !declined.contains(&who[c].0))
                    .collect();
                if open.is_empty() {
                    if declined.len() < members {
                        // members who have not declined it may come online
                        continue;
                    }
                    // everyone declined it: the round starts again
                    if let Some(e) = self.entries.get_mut(&i) {
                        e.declined.clear();
                    }
                    open = (0..cands.len()).collect();
                }
                let view: Vec<Candidate> = open.iter().map(|&c| cands[c]).collect();
                pick(algorithm, &view, members, rotation, &mut self.rng).map(|c| open[c])
            };
            let Some(c) = chosen else {
                continue;
            };
            let (user, capacity) = who[c];
            if algorithm == Algorithm::InOrder
                && let Some(g) = self.groups.get_mut(&group)
            {
                g.rotation = (cands[c].member + 1) % members.max(1);
                self.dirty.groups.insert(group);
            }
            // offered: it leaves the queue, so the scan continues after it
            self.offer(i, user, now, ev);
            cands[c].load += 1;
            if cands[c].load >= capacity {
                cands.remove(c);
                who.remove(c);
            }
        }
    }

    /// Offers a waiting interaction to a user (accepted at once with auto-accept).
    fn offer(&mut self, id: InteractionId, user: UserId, now: Timestamp, ev: &mut Vec<Event>) {
        let Some(e) = self.entries.get_mut(&id) else {
            return;
        };
        match e.place {
            Place::Group(g) => {
                let k = key(e);
                if let Some(group) = self.groups.get_mut(&g) {
                    group.queue.remove(&k);
                }
            }
            Place::User(u) => {
                let seq = e.seq;
                if let Some(target) = self.users.get_mut(&u) {
                    target.direct.remove(&seq);
                }
            }
        }
        let mut until = now
            .saturating_add(self.settings.offer_timeout)
            .unwrap_or(now);
        if let Some(d) = e.deadline {
            until = until.min(d.max(now));
        }
        e.status = EntryStatus::Offered { user, until };
        let auto = match self.users.get_mut(&user) {
            Some(u) => {
                u.offered.push(id);
                u.spec.auto_accept
            }
            None => false,
        };
        self.touch(id);
        ev.push(Event::Offered {
            interaction: id,
            user,
            until,
        });
        if auto {
            self.assign(id, user, now, ev);
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unoffer {
    Declined,
    Expired,
    Withdrawn,
}
