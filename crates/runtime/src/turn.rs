//! The one transition path: every input — a customer message, a timer, an effect result, an
//! agent action, a close by API, a retry — is `lock → load → engine::handle → one guarded commit
//! → publish`, in [`Conversations::transition`].

use std::hash::{Hash, Hasher};

use engine::{
    CloseReason, DistributionNote, Event, Input, Limits, State, Status, Turn, handle, load_state,
    save_state,
};
use flow::customer::{Customer, customer_id};
use flow::effect::{DistributionOutcome, Effect, EffectResult};
use flow::entry_point::{Channel, EntryPoint};
use flow::exec::{Inbound, Outbound};
use flow::{VersionId, VersionStatus};
use jiff::Timestamp;
use serde_json::{Map, Value, json};
use store::{EventRow, InteractionRow, OutboxRow, TurnOutcome, TurnWrite};
use tokio::sync::{Mutex, oneshot};
use uuid::Uuid;

use crate::conversations::{Conversations, Delivery, InboundMessage, Receipt};
use crate::distribution::Performed;
use crate::error::{ConversationError, Result};
use crate::openings::{OpeningGuard, Openings};
use crate::programs::{Programs, Snapshot};
use crate::writer::Pending;
use flow::interaction::{InteractionStatus, Mode};

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
    /// Its email, when it came by email (an interaction-end run reads it too).
    email: Option<flow::email::Email>,
    /// What the distribution did in the turn, for the agents' feed once committed.
    pub feed: Vec<acd::Event>,
    /// The interaction this turn creates, known by its lock until committed.
    opening: Vec<OpeningGuard>,
}

impl Prepared {
    /// Takes what performing the turn's effects added: a preview keeps no database write.
    fn take(&mut self, side: Side, mode: Mode) {
        self.write.web_calls = side.queued;
        if mode != Mode::Preview {
            self.write.db_writes = side.db_writes;
            self.write.case_writes = side.case_writes;
            self.write.card_links = side.card_links;
            self.write.survey_writes = side.survey_writes;
            self.write.record_links = side.record_links;
        }
        self.feed = side.feed;
    }

    /// A turn that records without running anything (quarantine).
    fn rows(write: TurnWrite) -> Self {
        Prepared {
            write,
            replies: Vec::new(),
            deliveries: Vec::new(),
            closed_now: false,
            vars: Map::new(),
            email: None,
            feed: Vec::new(),
            opening: Vec::new(),
        }
    }
}

/// Most distributions performed in one turn (each answered at once may lead to another).
const EFFECTS_PER_TURN: usize = 10;

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

pub(crate) fn status_of(state: &State) -> InteractionStatus {
    match state.status {
        Status::New => InteractionStatus::New,
        Status::Waiting => InteractionStatus::Waiting,
        Status::Closed(_) => InteractionStatus::Closed,
    }
}

/// A seed for an interaction's random generator, from its id.
fn seed_of(id: Uuid) -> u64 {
    let b = id.as_u128();
    (b as u64) ^ ((b >> 64) as u64)
}

/// Where an input goes.
#[derive(Clone, Copy)]
pub(crate) enum Target<'a> {
    /// A customer message on an entry point: to the customer's open interaction, or a new one.
    Customer {
        entry_point: &'a EntryPoint,
        message: &'a InboundMessage,
        /// Files the message brought, written with its turn (an email's).
        uploads: &'a [store::Upload],
    },
    /// A new preview conversation of any version (no entry point).
    Preview {
        id: Uuid,
        version: VersionId,
        customer: &'a str,
    },
    /// One interaction, by id.
    Interaction { id: Uuid, input: ById<'a> },
}

/// An input addressed to an interaction by its id.
#[derive(Clone, Copy)]
pub(crate) enum ById<'a> {
    /// A customer message that does not come through a channel (previews).
    Message(&'a Inbound),
    Close(&'a CloseReason),
    /// What the distribution did, with messages for the customer (an agent's).
    Noted(&'a Noted, &'a [Outbound]),
    /// Its timer, if still due at this time.
    Timer(Timestamp),
    /// The result of the effect it waits for, given by the person previewing it.
    Result(&'a EffectResult),
    /// Out of quarantine.
    Retry,
}

/// What stepping an input gave.
enum Stepped {
    /// A turn to commit.
    Turn(Box<Prepared>),
    /// The channel message was handled before (by this interaction).
    Duplicate(Uuid),
    /// Nothing to do.
    Nothing,
}

/// Whose effects are performed: the interaction, its customer's owner (the preferred agent),
/// its mode (a preview performs none).
#[derive(Clone)]
struct Effects {
    id: Uuid,
    owner: Option<Uuid>,
    mode: Mode,
    /// What this turn answers, the same when it runs again after a crash (the channel message,
    /// or the interaction as it was loaded): calls that must not be repeated are marked under it.
    attempt: String,
    /// Its entry point and customer (a survey attached is conducted there).
    asked: crate::surveys::Asked,
}

/// The [`Effects::attempt`] of a turn: the channel message it handles, else the interaction at
/// the revision it was loaded at.
fn attempt_of(inbound: Option<&(Uuid, String)>, customer: &str, id: Uuid, revision: u64) -> String {
    match inbound {
        Some((entry_point, message)) => format!("in:{entry_point}:{customer}:{message}"),
        None => format!("ix:{id}:{revision}"),
    }
}

/// How often a turn is stepped again from a fresh load when the interaction changed meanwhile.
const COMMIT_ATTEMPTS: usize = 3;

/// What performing a turn's effects adds to it besides its events.
#[derive(Default)]
struct Side {
    /// What the distribution did, for the agents' feed once committed.
    feed: Vec<acd::Event>,
    /// Asynchronous web service calls queued.
    queued: Vec<store::WebCallRow>,
    /// Writes to custom databases, committed with the turn.
    db_writes: Vec<store::DbWrite>,
    /// Writes to cases, committed with the turn.
    case_writes: Vec<store::CaseWrite>,
    /// CRM cards linked to the interaction, committed with the turn.
    card_links: Vec<store::CardLink>,
    /// Survey responses attached, started or advanced, committed with the turn.
    survey_writes: Vec<store::SurveyWrite>,
    /// Salesforce records linked to the interaction as cards, committed with the turn.
    record_links: Vec<store::RecordLink>,
}

/// What one interaction gets from a batch of distribution events.
pub(crate) struct Noted {
    pub notes: Vec<Event>,
    /// The routing's answer.
    pub result: Option<EffectResult>,
    /// Its agent closed it: if the routing is over, the interaction closes.
    pub closed_by_agent: bool,
    /// An agent accepted it: a pending welcome message of the customer routing rules goes out.
    pub accepted: bool,
    /// The user who handled it becomes the customer's owner if they have none.
    pub owner: Option<Uuid>,
}

/// What starts an interaction.
pub(crate) struct Opening<'a> {
    id: Uuid,
    entry_point: Option<&'a EntryPoint>,
    customer: &'a str,
    /// The new customer's name, when the channel gives one.
    profile_name: Option<&'a str>,
    mode: Mode,
    version: Option<VersionId>,
    first: Option<&'a Inbound>,
    /// Variables it starts with (an interaction-end run gets those of the closed interaction).
    vars: Map<String, Value>,
    /// The closed interaction an interaction-end run follows.
    parent: Option<Uuid>,
    /// The email of the closed interaction an interaction-end run follows.
    email: Option<flow::email::Email>,
    /// Customer routing rules to distribute by, instead of running a routing.
    rules: Option<&'a flow::entry_point::CustomerRoutingRules>,
}

impl Conversations {
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
        who: Effects,
        state: &mut State,
        turn: &mut Turn,
        snapshot: &mut Snapshot,
        now: Timestamp,
    ) -> Result<Side> {
        let Effects {
            id,
            owner,
            mode,
            attempt,
            asked,
        } = who;
        let mut side = Side::default();
        let Side {
            feed,
            queued,
            db_writes,
            case_writes,
            card_links,
            survey_writes,
            record_links,
        } = &mut side;
        let mut calls = 0usize;
        // each answer may lead to another distribution; a routing cannot loop here forever
        for _ in 0..EFFECTS_PER_TURN {
            let Some(request) = turn.effects.pop() else {
                return Ok(side);
            };
            turn.effects.clear();
            let performed = match (&request, self.distribution.get()) {
                // a preview never reaches real agents: it waits with its request shown in its
                // events until the person previewing picks the outcome (see `preview_result`)
                (Effect::Distribute(_), _) if mode == Mode::Preview => return Ok(side),
                (Effect::SendSms(sms), _) => Performed::Answered(
                    EffectResult::Sms(
                        self.send_sms(
                            state,
                            sms,
                            &snapshot.phone_region,
                            mode == Mode::Preview,
                            turn,
                        )
                        .await?,
                    ),
                    Vec::new(),
                ),
                (Effect::SendEmail(email), _) => Performed::Answered(
                    EffectResult::Email(
                        self.send_email(state, email, mode == Mode::Preview, turn)
                            .await?,
                    ),
                    Vec::new(),
                ),
                (Effect::TransferEmail(transfer), _) => Performed::Answered(
                    EffectResult::Email(
                        self.transfer_email(state, transfer, mode == Mode::Preview, turn)
                            .await?,
                    ),
                    Vec::new(),
                ),
                (Effect::CallWebService(call), _) => {
                    calls += 1;
                    let key = format!("{attempt}#{calls}");
                    Performed::Answered(
                        EffectResult::WebService(
                            self.call_web_service(call, &key, id, turn, queued).await?,
                        ),
                        Vec::new(),
                    )
                }
                (Effect::Database(request), _) => Performed::Answered(
                    EffectResult::Database(
                        self.database_request(request, mode == Mode::Preview, db_writes, turn, now)
                            .await?,
                    ),
                    Vec::new(),
                ),
                (Effect::Case(request), _) => Performed::Answered(
                    EffectResult::Case(
                        self.case_request(
                            request,
                            id,
                            crate::cases::customer_of(state),
                            mode == Mode::Preview,
                            case_writes,
                            turn,
                            now,
                        )
                        .await?,
                    ),
                    Vec::new(),
                ),
                (Effect::FindInvoice(query), _) => Performed::Answered(
                    EffectResult::Invoice(self.find_invoice(query).await?),
                    Vec::new(),
                ),
                (Effect::CampaignTarget(request), _) => Performed::Answered(
                    EffectResult::Campaign(self.campaign_target(state, request).await?),
                    Vec::new(),
                ),
                (Effect::Crm(request), _) => Performed::Answered(
                    EffectResult::Crm(
                        self.crm_request(
                            state,
                            request,
                            crate::crm::Links {
                                db_writes,
                                card_links,
                                record_links,
                            },
                            mode == Mode::Preview,
                            now,
                        )
                        .await?,
                    ),
                    Vec::new(),
                ),
                (Effect::Salesforce(request), _) => Performed::Answered(
                    EffectResult::Salesforce(
                        self.salesforce_request(state, request, mode == Mode::Preview, turn)
                            .await?,
                    ),
                    Vec::new(),
                ),
                (Effect::Task(request), _) => Performed::Answered(
                    EffectResult::Task(
                        self.task_request(state, request, mode == Mode::Preview)
                            .await?,
                    ),
                    Vec::new(),
                ),
                (Effect::Survey(request), _) => Performed::Answered(
                    EffectResult::Survey(
                        self.survey_request(state, request, &asked, survey_writes)
                            .await?,
                    ),
                    Vec::new(),
                ),
                (Effect::Payment(request), _) => {
                    self.payment_request(state, request, mode == Mode::Preview, turn)
                        .await?
                }
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
                    return Ok(side);
                }
                Performed::Answered(answer, events) => (answer, events),
            };
            Self::note_distribution(turn, &events);
            feed.extend(events);
            snapshot.with_agent = self.held_by_agent(id).await;
            // the step budget holds for the whole input, not for each engine call
            let limits = Limits {
                steps_per_turn: self.limits.steps_per_turn.saturating_sub(turn.steps),
                ..self.limits.clone()
            };
            match guarded(state, Input::Result(&answer), now, snapshot, &limits) {
                Ok(more) => {
                    turn.events.extend(more.events);
                    turn.outbound.extend(more.outbound);
                    turn.effects = more.effects;
                    turn.wake_at = more.wake_at;
                    turn.closed = more.closed.or(turn.closed.take());
                    turn.steps += more.steps;
                }
                Err(panic) => {
                    engine::end_with_error(state, turn, "engine_failed", panic);
                    return Ok(side);
                }
            }
        }
        if !turn.effects.is_empty() {
            // the routing would wait for a request nobody performs: end it visibly instead
            turn.effects.clear();
            engine::end_with_error(
                state,
                turn,
                "too_many_distributions",
                format!("more than {EFFECTS_PER_TURN} distributions answered at once in one turn"),
            );
        }
        Ok(side)
    }

    /// Records the distribution's events in a turn (the agents hear of them once the turn is
    /// committed: see [`Prepared::feed`]).
    pub(crate) fn note_distribution(turn: &mut Turn, events: &[acd::Event]) {
        for e in events {
            turn.events.push(Event::Distribution {
                detail: DistributionNote::Acd(e.clone()),
            });
        }
    }

    fn stripe(&self, key: &str) -> &Mutex<()> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut h);
        &self.stripes[(h.finish() as usize) % crate::conversations::STRIPES]
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

    fn lock_key(row_entry_point: Option<Uuid>, customer: &str, id: Uuid) -> String {
        match row_entry_point {
            Some(ep) => format!("{ep}/{customer}"),
            None => format!("i/{id}"),
        }
    }

    /// Commits rows that no engine step made (an outgoing interaction).
    pub(crate) async fn commit_rows(&self, write: TurnWrite) -> Result<()> {
        match self.commit(Prepared::rows(write)).await? {
            TurnOutcome::Committed => Ok(()),
            other => Err(ConversationError::NotRecorded(format!(
                "the outgoing interaction was not written ({other:?})"
            ))),
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
        let has_web_calls = !turn.web_calls.is_empty();
        self.writer
            .tx
            .send(Pending::Turn {
                turn: Box::new(turn),
                reply: tx,
            })
            .await
            .map_err(|_| ConversationError::NotRecorded("the writer stopped".into()))?;
        let outcome = match rx.await {
            Ok(Ok(outcome)) => outcome,
            failed => {
                // not written: an interaction it opened must not stay in the distribution
                drop(opening);
                self.abandon(&opened).await?;
                return Err(ConversationError::NotRecorded(match failed {
                    Ok(Err(e)) => e,
                    _ => "the writer stopped".into(),
                }));
            }
        };
        drop(opening);
        if outcome != TurnOutcome::Committed {
            self.abandon(&opened).await?;
        } else {
            for d in deliveries {
                let _ = self.hub.send(d);
            }
            if let Some(d) = self.distribution.get() {
                d.feed(&feed);
            }
            self.timers_changed.notify_one();
            if has_outbox {
                self.outbox_changed.notify_one();
            }
            if has_web_calls {
                self.web_calls_changed.notify_one();
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
            d.feed(&events);
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
        // each reply as its channel carries it (split, buttons as a list beyond its limits)
        let channel = entry_point.map(|ep| channels::of(ep.channel));
        let sent: Vec<(u64, Outbound)> = turn
            .outbound
            .iter()
            .zip(&reply_seqs)
            .flat_map(|(m, seq)| {
                let rendered = match channel {
                    Some(c) => c.render(m),
                    None => vec![m.clone()],
                };
                rendered.into_iter().map(move |r| (*seq, r))
            })
            .collect();
        // a reply the channel could not carry as asked says so in the history
        for (m, seq) in turn.outbound.iter().zip(&reply_seqs) {
            let parts: Vec<&Outbound> = sent
                .iter()
                .filter(|(s, _)| s == seq)
                .map(|(_, r)| r)
                .collect();
            let what = match m {
                Outbound::Choice { choices, .. }
                    if !parts.iter().any(|p| matches!(p, Outbound::Choice { .. })) =>
                {
                    Some(format!(
                        "the {} choices went out as numbered text: the channel carries fewer or shorter buttons",
                        choices.len()
                    ))
                }
                _ if parts.len() > 1 => Some(format!(
                    "the reply went out in {} messages: the channel carries shorter ones",
                    parts.len()
                )),
                _ => None,
            };
            if let Some(what) = what {
                events.push(EventRow {
                    interaction_id: row.id,
                    seq: row.next_seq,
                    at: now,
                    event: serde_json::to_value(Event::Channel {
                        detail: engine::ChannelNote::Rendered { what },
                    })
                    .unwrap_or(Value::Null),
                });
                row.next_seq += 1;
            }
        }
        let deliveries = if self.hub.receiver_count() == 0 {
            Vec::new()
        } else {
            sent.iter()
                .map(|(seq, m)| Delivery {
                    entry_point_id: row.entry_point_id,
                    customer: row.customer.clone(),
                    interaction_id: row.id,
                    seq: *seq,
                    message: serde_json::to_value(m).unwrap_or(Value::Null),
                })
                .collect()
        };
        // the HTTP channel's callback and the providers' send APIs deliver from the outbox
        let deliver = entry_point.is_some_and(|ep| {
            ep.channel == Channel::Http || ep.channel.is_provider() || ep.channel == Channel::Email
        });
        let email = entry_point
            .filter(|ep| ep.channel == Channel::Email)
            .and_then(|ep| Some((ep, state.email()?)));
        let callback = entry_point.and_then(|ep| {
            if ep.channel.is_provider() || ep.channel == Channel::Email {
                ep.address.clone()
            } else {
                ep.callback_url.clone()
            }
        });
        let outbox = if deliver {
            sent.iter()
                .map(|(seq, m)| (Uuid::now_v7(), seq, m))
                .map(|(id, seq, m)| OutboxRow {
                    id,
                    interaction_id: row.id,
                    seq: *seq,
                    entry_point_id: entry_point.map(|e| e.id),
                    payload: serde_json::to_value(crate::delivery::OutboxPayload {
                        customer: row.customer.clone(),
                        message: m.clone(),
                        email: email
                            .as_ref()
                            .map(|(ep, e)| crate::email_out::EmailReply::to(ep, e, row.id, id)),
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
        row.status = status_of(state);
        row.routing_id = state.routing_id;
        row.version_id = state.version_id;
        row.wake_at = engine::next_wake(state, now, self.inactivity);
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
                owner: None,
                uploads: Vec::new(),
                web_calls: Vec::new(),
                db_writes: Vec::new(),
                case_writes: Vec::new(),
                card_links: Vec::new(),
                survey_writes: Vec::new(),
                record_links: Vec::new(),
            },
            replies: turn.outbound,
            deliveries,
            closed_now,
            // only an interaction-end run reads them
            vars: if closed_now {
                state.vars.clone()
            } else {
                Map::new()
            },
            email: closed_now.then(|| state.email()).flatten(),
            feed: Vec::new(),
            opening: Vec::new(),
        }
    }

    /// Which version a new interaction on this entry point runs, and in which mode.
    async fn version_for(&self, ep: &EntryPoint) -> Result<Option<(VersionId, Mode)>> {
        if ep.channel.takes_test_versions()
            && let Some(test) = ep.test_version_id
            && let Some(v) = self.maker.store().version(test).await?
            && v.record.status == VersionStatus::Development
            && v.record.in_test
        {
            return Ok(Some((test, Mode::Test)));
        }
        let Some(start) = ep.start_routing_id else {
            return Ok(None);
        };
        let set = self.programs.production().await?;
        Ok(Programs::production_of(&set, start).map(|p| (p.version_id, Mode::Live)))
    }

    /// Creates an interaction and runs it from Start.
    async fn open(&self, o: Opening<'_>, inbound: Option<(Uuid, String)>) -> Result<Prepared> {
        let now = self.now();
        let id = o.id;
        let opening = Openings::open(
            &self.openings,
            id,
            Self::lock_key(o.entry_point.map(|e| e.id), o.customer, id),
        );
        let mut system = Map::new();
        system.insert(
            "interaction".into(),
            json!({"id": id, "mode": o.mode.as_str(), "started_at": jiff::Timestamp::to_string(&now), "parent": o.parent}),
        );
        // the customer, met now for the first time or known already (previews have none)
        let customer = match o.entry_point {
            Some(ep) => {
                let cid = customer_id(ep.channel, o.customer);
                Some(match self.store.customer(cid).await? {
                    Some(known) => (known, false),
                    None => {
                        let mut c = Customer::new(ep.channel, o.customer, now);
                        if let Some(name) = o
                            .profile_name
                            .and_then(|n| flow::customer::check_customer_name(n).ok())
                        {
                            c.name = name;
                        }
                        (c, true)
                    }
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
            engine::note_email(&mut system, m);
        }
        if let Some(email) = &o.email
            && let Ok(v) = serde_json::to_value(email)
        {
            system.insert("email".into(), v);
        }
        let blank = |routing_id, version_id| InteractionRow {
            id,
            entry_point_id: o.entry_point.map(|e| e.id),
            mode: o.mode,
            customer: o.customer.to_owned(),
            customer_id,
            routing_id,
            version_id,
            status: InteractionStatus::New,
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
            media: m.attachments.clone(),
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
            engine::end_with_error(
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
                engine::end_with_error(&mut state, &mut turn, "engine_failed", panic);
                turn
            }
        };
        let side = self
            .run_effects(
                Effects {
                    id,
                    owner,
                    mode: o.mode,
                    attempt: attempt_of(inbound.as_ref(), o.customer, id, 0),
                    asked: crate::surveys::Asked {
                        entry_point: o.entry_point.map(|e| (e.id, e.channel)),
                        customer: o.customer.to_owned(),
                    },
                },
                &mut state,
                &mut turn,
                &mut snapshot,
                now,
            )
            .await?;
        let mut side = side;
        if o.mode != Mode::Preview {
            self.survey_on_close(id, o.entry_point, &mut turn, &mut side.survey_writes, now)
                .await?;
        }
        if let Some(e) = first_event {
            turn.events.insert(0, e);
        }
        let row = blank(program.routing_id, program.version_id);
        let mut prepared = self.write(row, &state, turn, inbound, o.entry_point, now);
        prepared.write.new_customer = new_customer;
        prepared.take(side, o.mode);
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
        if row.status == InteractionStatus::Quarantined {
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
        let input = match input {
            Input::Timer => engine::on_timer(&state, row.updated_at, now, self.inactivity),
            other => other,
        };
        match guarded(&mut state, input, now, &snapshot, &self.limits) {
            Ok(mut turn) => {
                let mut side = Side::default();
                if !turn.effects.is_empty() {
                    let owner = match row.customer_id {
                        Some(c) => self.store.customer(c).await?.and_then(|c| c.owner_id),
                        None => None,
                    };
                    side = self
                        .run_effects(
                            Effects {
                                id: row.id,
                                owner,
                                mode: row.mode,
                                attempt: attempt_of(
                                    inbound.as_ref(),
                                    &row.customer,
                                    row.id,
                                    row.revision,
                                ),
                                asked: crate::surveys::Asked {
                                    entry_point: entry_point.map(|e| (e.id, e.channel)),
                                    customer: row.customer.clone(),
                                },
                            },
                            &mut state,
                            &mut turn,
                            &mut snapshot,
                            now,
                        )
                        .await?;
                }
                if row.mode != Mode::Preview {
                    self.survey_on_close(
                        row.id,
                        entry_point,
                        &mut turn,
                        &mut side.survey_writes,
                        now,
                    )
                    .await?;
                }
                if !notes.is_empty() {
                    turn.events.splice(0..0, notes);
                }
                let mode = row.mode;
                let mut prepared = self.write(row, &state, turn, inbound, entry_point, now);
                prepared.take(side, mode);
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
        let (Some(ep), true) = (entry_point, prepared.closed_now && row.mode.is_contact()) else {
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
        let email = prepared.email.take();
        let customer = row.customer.clone();
        let opening = Opening {
            id: Uuid::now_v7(),
            entry_point: Some(ep),
            customer: &customer,
            profile_name: None,
            mode: Mode::End,
            version: Some(program.version_id),
            first: None,
            vars,
            parent: Some(row.id),
            email,
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

    /// The key of the lock an input takes: the customer's (an entry point's customers each have
    /// theirs, so a message finds their open interaction under it), or the new interaction's.
    async fn key_of(&self, target: &Target<'_>) -> Result<String> {
        Ok(match target {
            Target::Customer {
                entry_point,
                message,
                ..
            } => Self::lock_key(Some(entry_point.id), &message.customer, Uuid::nil()),
            Target::Preview { id, .. } => Self::lock_key(None, "", *id),
            Target::Interaction { id, .. } => match self.store.interaction(*id).await? {
                Some(row) => Self::lock_key(row.entry_point_id, &row.customer, *id),
                // its first turn is on its way: its lock is held until it is written
                None => self
                    .openings
                    .key(*id)
                    .ok_or_else(|| ConversationError::NotFound(format!("interaction {id}")))?,
            },
        })
    }

    /// The one transition path: lock → load → step (`engine::handle`, effects performed) → one
    /// guarded commit (again from the load when the interaction changed meanwhile) → publish
    /// (live listeners, the agents' feed, the distribution). `None`: there was nothing to do (a
    /// timer no longer due).
    pub(crate) async fn transition(&self, target: Target<'_>) -> Result<Option<Receipt>> {
        let key = self.key_of(&target).await?;
        let receipt = {
            let _guard = self.stripe(&key).lock().await;
            let mut receipt = None;
            for _ in 0..COMMIT_ATTEMPTS {
                let prepared = match self.step(&target).await? {
                    Stepped::Nothing => return Ok(None),
                    Stepped::Duplicate(id) => {
                        receipt = Some(Receipt::duplicate(id));
                        break;
                    }
                    Stepped::Turn(prepared) => *prepared,
                };
                let id = prepared.write.interaction.id;
                let status = prepared.write.interaction.status;
                let replies = prepared.replies.clone();
                match self.commit(prepared).await? {
                    TurnOutcome::Committed => {
                        receipt = Some(Receipt {
                            interaction_id: id,
                            duplicate: false,
                            status: Some(status),
                            replies,
                        });
                        break;
                    }
                    TurnOutcome::Duplicate => {
                        receipt = Some(Receipt::duplicate(id));
                        break;
                    }
                    TurnOutcome::Conflict => continue,
                }
            }
            receipt.ok_or_else(|| {
                ConversationError::NotRecorded("the interaction kept changing".into())
            })?
        };
        if !receipt.duplicate {
            let message = match &target {
                Target::Customer { message, .. } => Some(&message.message),
                Target::Interaction {
                    input: ById::Message(m),
                    ..
                } => Some(*m),
                _ => None,
            };
            self.after_turn(receipt.interaction_id, receipt.status, message)
                .await?;
        }
        Ok(Some(receipt))
    }

    /// Loads what the input concerns and runs it: the turn to commit.
    async fn step(&self, target: &Target<'_>) -> Result<Stepped> {
        let prepared = match *target {
            Target::Customer {
                entry_point: ep,
                message: m,
                uploads,
            } => {
                if let Some(id) = self
                    .store
                    .inbound_seen(ep.id, &m.customer, &m.message_id)
                    .await?
                {
                    return Ok(Stepped::Duplicate(id));
                }
                let inbound = Some((ep.id, m.message_id.clone()));
                let open = match &m.message.email {
                    Some(email) => self.email_thread(ep, &m.customer, email).await?,
                    None => self.store.open_interaction(ep.id, &m.customer).await?,
                };
                let waiting = match open {
                    Some(_) => None,
                    None => self.survey_waiting(ep, m).await?,
                };
                let mut given_up = None;
                if let Some(response) = waiting {
                    match self.survey_answer(response, m).await? {
                        crate::surveys::Answered::Turn(t) => {
                            let crate::surveys::SurveyTurn {
                                row,
                                state,
                                turn,
                                progress,
                                now,
                            } = *t;
                            let mut prepared =
                                self.write(row, &state, turn, inbound, Some(ep), now);
                            prepared.write.survey_writes.push(progress);
                            return Ok(Stepped::Turn(Box::new(prepared)));
                        }
                        crate::surveys::Answered::GivenUp(write) => given_up = Some(write),
                    }
                }
                let turn = match open {
                    Some(row) => {
                        self.advance(row, Input::Message(&m.message), inbound, Some(ep))
                            .await?
                    }
                    None => {
                        let (mode, version, rules) = match &ep.customer_routing {
                            Some(rules) => (Mode::Live, None, Some(rules)),
                            None => match self.version_for(ep).await? {
                                Some((v, mode)) => (mode, Some(v), None),
                                None => (Mode::Live, None, None),
                            },
                        };
                        let opening = Opening {
                            id: Uuid::now_v7(),
                            entry_point: Some(ep),
                            customer: &m.customer,
                            profile_name: m.profile_name.as_deref(),
                            mode,
                            version,
                            first: Some(&m.message),
                            vars: Map::new(),
                            parent: None,
                            email: None,
                            rules,
                        };
                        self.open(opening, inbound).await?
                    }
                };
                let mut turn = turn;
                turn.write.uploads = uploads.to_vec();
                // the survey the message was no answer to ends with the interaction it opens
                turn.write.survey_writes.extend(given_up);
                self.with_end_run(turn, Some(ep)).await?
            }
            Target::Preview {
                id,
                version,
                customer,
            } => {
                let opening = Opening {
                    id,
                    entry_point: None,
                    customer,
                    profile_name: None,
                    mode: Mode::Preview,
                    version: Some(version),
                    first: None,
                    vars: Map::new(),
                    parent: None,
                    email: None,
                    rules: None,
                };
                self.open(opening, None).await?
            }
            Target::Interaction { id, input } => {
                let row = self
                    .store
                    .interaction(id)
                    .await?
                    .ok_or_else(|| ConversationError::NotFound(format!("interaction {id}")))?;
                let ep = match row.entry_point_id {
                    Some(e) => self.entry_point_by_id(e).await?,
                    None => None,
                };
                let turn = match input {
                    ById::Message(m) => {
                        self.advance(row, Input::Message(m), None, ep.as_ref())
                            .await?
                    }
                    ById::Close(reason) => {
                        self.advance(row, Input::Close(reason), None, ep.as_ref())
                            .await?
                    }
                    ById::Result(result) => {
                        self.advance(row, Input::Result(result), None, ep.as_ref())
                            .await?
                    }
                    ById::Noted(noted, outbound) => {
                        self.noted(row, ep.as_ref(), noted, outbound).await?
                    }
                    ById::Timer(now) => {
                        if row.wake_at.is_none_or(|w| w > now) {
                            return Ok(Stepped::Nothing);
                        }
                        self.advance(row, Input::Timer, None, ep.as_ref()).await?
                    }
                    ById::Retry => Prepared::rows(self.retried(row)?),
                };
                self.with_end_run(turn, ep.as_ref()).await?
            }
        };
        Ok(Stepped::Turn(Box::new(prepared)))
    }
}
