//! What agents do, and what the distribution does outside a customer's turn: offers accepted or
//! declined, messages to the customer, transfers, closes, presence, expired offers. Each
//! distribution event is recorded in its interaction's history; an outcome answers the routing
//! waiting on it; the agents concerned hear of it on their live feed.

use std::time::Duration;

use acd::{
    CustomerRouting, EntryStatus, Event as AcdEvent, GroupRule, OwnerOffline, Presence, Routed,
    Target, route_customer,
};
use engine::{AgentNote, CloseReason, DistributionNote, Event, State, Turn};
use flow::entry_point::{CustomerRoutingRules, OwnerOfflineRule};
use flow::exec::{Inbound, Outbound};
use flow::interaction::{Interaction, InteractionStatus};
use serde_json::{Value, json};
use store::InteractionRow;
use tokio::sync::watch;
use uuid::Uuid;

use crate::conversations::{ConversationError, Conversations, Receipt};
use crate::distribution::{Distribution, outcome_result};
use crate::turn::{ById, Noted, Prepared};
use flow::effect::{Distribute, Effect};

type Result<T> = std::result::Result<T, ConversationError>;

/// Where an agent sends a conversation.
#[derive(Clone, Debug)]
pub enum TransferTo {
    Group(Uuid),
    User(Uuid),
}

impl Conversations {
    fn dist(&self) -> Result<&std::sync::Arc<Distribution>> {
        self.distribution().ok_or_else(|| {
            ConversationError::Conflict(
                "distribution_unavailable",
                "the distribution is not running".into(),
            )
        })
    }

    /// Acts on what the distribution did outside a customer's turn.
    pub async fn distribution_events(&self, events: Vec<AcdEvent>) -> Result<()> {
        let Some(d) = self.distribution().cloned() else {
            return Ok(());
        };
        d.feed(&events);
        let mut order: Vec<Uuid> = Vec::new();
        for e in &events {
            let i = e.interaction();
            if !order.contains(&i) {
                order.push(i);
            }
        }
        for i in order {
            let mine: Vec<&AcdEvent> = events.iter().filter(|e| e.interaction() == i).collect();
            let result = mine.iter().find_map(|e| match e {
                AcdEvent::Resolved { outcome, .. } => Some(outcome_result(outcome)),
                _ => None,
            });
            let handled_by = mine.iter().find_map(|e| match e {
                AcdEvent::Closed {
                    user: Some(u),
                    handled: true,
                    ..
                } => Some(*u),
                _ => None,
            });
            let noted = Noted {
                notes: mine
                    .iter()
                    .map(|e| Event::Distribution {
                        detail: DistributionNote::Acd((*e).clone()),
                    })
                    .collect(),
                result,
                closed_by_agent: handled_by.is_some(),
                // a customer's first handled conversation makes its agent their owner
                owner: handled_by.filter(|_| d.settings().owner_on_first_handled),
                accepted: mine.iter().any(|e| matches!(e, AcdEvent::Accepted { .. })),
            };
            match self.note(i, noted).await {
                Ok(_) => {}
                // an interaction of the distribution always has its row (its first turn is
                // waited for): none means it was removed meanwhile
                Err(ConversationError::NotFound(_)) => {
                    tracing::warn!(interaction = %i, "distribution events for an interaction that is gone");
                }
                Err(e) => return Err(e),
            }
        }
        // what changed without a turn to carry it (an offer to someone, a presence) is written
        // before anyone is answered
        d.flush().await
    }

    /// After a committed turn: a closed interaction leaves the distribution; a customer
    /// message reaches the agent holding the conversation and may dissuade a waiting one.
    pub(crate) async fn after_turn(
        &self,
        id: Uuid,
        status: Option<InteractionStatus>,
        message: Option<&Inbound>,
    ) -> Result<()> {
        let Some(d) = self.distribution().cloned() else {
            return Ok(());
        };
        if !d.is_distributed(id) {
            return Ok(());
        }
        if status == Some(InteractionStatus::Closed) {
            let events = d.op(|a, now| Ok(a.close(id, now))).await?;
            // the interaction is over: nobody answers its routing; its agent hears of it
            d.feed(&events);
            return Ok(());
        }
        let Some(m) = message else {
            return Ok(());
        };
        if let Some((user, true)) = d.holder(id).await {
            d.publish(
                user,
                json!({"type": "message", "interaction_id": id, "text": m.text, "choice": m.choice}),
            );
        }
        let text = m.text.clone();
        let events = d
            .op(move |a, now| Ok(a.customer_message(id, &text, now)))
            .await?;
        if !events.is_empty() {
            Box::pin(self.distribution_events(events)).await?;
        }
        Ok(())
    }

    /// Checks that `user` holds (`accepted`) or is offered the interaction.
    async fn check_holder(&self, user: Uuid, interaction: Uuid, accepted: bool) -> Result<()> {
        let d = self.dist()?;
        match d.holder(interaction).await {
            Some((u, a)) if u == user && a == accepted => Ok(()),
            Some((u, _)) if u == user => Err(ConversationError::Conflict(
                "not_possible",
                if accepted {
                    "accept the offer first".into()
                } else {
                    "the conversation is already yours".into()
                },
            )),
            // an agent sees only their own conversations
            _ => Err(ConversationError::NotFound(format!(
                "interaction {interaction}"
            ))),
        }
    }

    /// Runs the distribution's due timers (offer expiries, dissuasion deadlines).
    /// Also hands out what group changes did (offers to new members, the interactions of a
    /// deleted group answered *Unprocessed*).
    pub async fn tick_distribution(&self) -> Result<()> {
        let d = self.dist()?;
        let mut events = d.take_pending().await?;
        events.extend(d.op_buffered(|a, now| Ok(a.tick(now))).await?);
        self.distribution_events(events).await
    }

    pub async fn agent_accept(&self, user: Uuid, interaction: Uuid) -> Result<()> {
        self.check_holder(user, interaction, false).await?;
        let events = self
            .dist()?
            .op_buffered(|a, now| a.accept(interaction, user, now))
            .await?;
        self.distribution_events(events).await
    }

    pub async fn agent_decline(&self, user: Uuid, interaction: Uuid) -> Result<()> {
        self.check_holder(user, interaction, false).await?;
        let events = self
            .dist()?
            .op_buffered(|a, now| a.decline(interaction, user, now))
            .await?;
        self.distribution_events(events).await
    }

    /// The agent closes the conversation: handled.
    pub async fn agent_close(&self, user: Uuid, interaction: Uuid) -> Result<()> {
        self.check_holder(user, interaction, true).await?;
        let events = self
            .dist()?
            .op_buffered(|a, now| Ok(a.close(interaction, now)))
            .await?;
        self.distribution_events(events).await
    }

    /// The agent lets the conversation go without handling it: *Unprocessed*.
    pub async fn agent_release(&self, user: Uuid, interaction: Uuid) -> Result<()> {
        self.check_holder(user, interaction, true).await?;
        let events = self
            .dist()?
            .op_buffered(|a, now| a.release(interaction, user, now))
            .await?;
        self.distribution_events(events).await
    }

    pub async fn agent_transfer(
        &self,
        user: Uuid,
        interaction: Uuid,
        to: TransferTo,
    ) -> Result<()> {
        self.check_holder(user, interaction, true).await?;
        let target = match to {
            TransferTo::Group(g) => Target::Queues {
                groups: vec![g],
                priority: false,
            },
            TransferTo::User(u) => Target::User {
                user: u,
                keep: false,
            },
        };
        let events = self
            .dist()?
            .op_buffered(|a, now| a.transfer(interaction, user, target, now))
            .await?;
        self.distribution_events(events).await
    }

    pub async fn agent_presence(&self, user: Uuid, presence: Presence) -> Result<()> {
        let events = self.dist()?.set_presence(user, presence).await?;
        self.distribution_events(events).await
    }

    /// The agent writes to the customer, through the interaction's channel.
    pub async fn agent_message(
        &self,
        user: Uuid,
        interaction: Uuid,
        text: &str,
    ) -> Result<Receipt> {
        if text.trim().is_empty() || text.chars().count() > 4_096 {
            return Err(ConversationError::Invalid(
                "invalid_message",
                "a message has 1 to 4 096 characters".into(),
            ));
        }
        self.check_holder(user, interaction, true).await?;
        let noted = Noted {
            notes: vec![Event::Distribution {
                detail: DistributionNote::Agent(AgentNote::AgentMessage { user }),
            }],
            result: None,
            closed_by_agent: false,
            accepted: false,
            owner: None,
        };
        let receipt = self
            .note_with(
                interaction,
                noted,
                vec![Outbound::Text {
                    text: text.to_owned(),
                }],
            )
            .await?;
        self.dist()?.message_sent(user).await?;
        Ok(receipt)
    }

    /// The conversations offered to or held by a user.
    pub async fn agent_conversations(&self, user: Uuid) -> Result<Vec<(Interaction, bool)>> {
        let d = self.dist()?;
        let mine: Vec<(Uuid, bool)> = d
            .read(|a| {
                a.conversations_of(user)
                    .into_iter()
                    .map(|id| {
                        let assigned = matches!(
                            a.entry(id).map(|e| e.status),
                            Some(EntryStatus::Assigned { .. })
                        );
                        (id, assigned)
                    })
                    .collect()
            })
            .await;
        let mut out = Vec::new();
        for (id, accepted) in mine {
            if let Some(row) = self.store().interaction(id).await? {
                out.push((row.record(), accepted));
            }
        }
        Ok(out)
    }

    /// Whether `user` may read the interaction (offered to them or theirs).
    pub async fn agent_may_read(&self, user: Uuid, interaction: Uuid) -> Result<()> {
        match self.dist()?.holder(interaction).await {
            Some((u, _)) if u == user => Ok(()),
            _ => Err(ConversationError::NotFound(format!(
                "interaction {interaction}"
            ))),
        }
    }
}

/// Fires the distribution's timers (offer expiries, dissuasion deadlines) until `stop`.
pub async fn run_distribution_timers(
    conversations: std::sync::Arc<Conversations>,
    mut stop: watch::Receiver<bool>,
) {
    let Some(d) = conversations.distribution().cloned() else {
        return;
    };
    loop {
        // runs what is due and hands out what group changes did (cheap when nothing is)
        if let Err(e) = conversations.tick_distribution().await {
            tracing::warn!(error = %e, "the distribution's timers could not run");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let now = conversations.now();
        // group changes are noticed within 5 s even when nothing else happens
        let wait = match d.next_wake().await {
            Some(at) if at <= now => continue,
            Some(at) => at
                .duration_since(now)
                .unsigned_abs()
                .min(Duration::from_secs(5)),
            None => Duration::from_secs(5),
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = d.changed() => {}
            _ = stop.changed() => return,
        }
    }
}

impl Conversations {
    /// Opens an interaction by an entry point's customer routing rules (seed 004): no routing
    /// runs; the rules pick the owner or a group, and the interaction waits there (a group
    /// without overflow: it waits even with nobody online). The rule's message goes out at once
    /// when nobody is online (out of office), else once an agent accepts (welcome).
    pub(crate) async fn distribute_by_rules(
        &self,
        id: Uuid,
        rules: &CustomerRoutingRules,
        owner: Option<Uuid>,
        system: serde_json::Map<String, Value>,
        first_event: Option<Event>,
    ) -> Result<(State, Turn, Vec<AcdEvent>)> {
        let d = self.dist()?.clone();
        let group = |r: &flow::entry_point::RuleGroup| GroupRule {
            group: r.group_id,
            message: r.message.clone(),
            algorithm: r.algorithm.and_then(|a| acd::Algorithm::parse(a.as_str())),
        };
        let acd_rules = CustomerRouting {
            new_online: group(&rules.new_online),
            new_offline: group(&rules.new_offline),
            owner_offline: match &rules.owner_offline {
                OwnerOfflineRule::KeepUser => OwnerOffline::KeepUser,
                OwnerOfflineRule::Group {
                    group_id,
                    algorithm,
                    message,
                } => OwnerOffline::Group(GroupRule {
                    group: *group_id,
                    message: message.clone(),
                    algorithm: algorithm.and_then(|a| acd::Algorithm::parse(a.as_str())),
                }),
            },
        };
        let (routed, anyone) = d
            .read(|a| (route_customer(&acd_rules, owner, a), a.anyone_online()))
            .await;
        let (target, message, owner, group, algorithm) = match routed {
            Routed::Owner { user } => (
                Target::User { user, keep: true },
                String::new(),
                Some(user),
                None,
                None,
            ),
            Routed::Group {
                group,
                message,
                algorithm,
            } => (
                Target::Wait { group, algorithm },
                message,
                None,
                Some(group),
                algorithm,
            ),
        };
        let welcome_now = !anyone && !message.is_empty();
        let request = Effect::Distribute(Distribute::Rules {
            owner,
            group,
            welcome: (!welcome_now && !message.is_empty()).then(|| message.clone()),
            algorithm: algorithm.map(|a| match a {
                acd::Algorithm::Random => flow::effect::RuleAlgorithm::Random,
                acd::Algorithm::InOrder => flow::effect::RuleAlgorithm::InOrder,
                acd::Algorithm::MostWaiting => flow::effect::RuleAlgorithm::MostWaiting,
                acd::Algorithm::LeastChats => flow::effect::RuleAlgorithm::LeastChats,
            }),
        });
        let mut turn = Turn::default();
        turn.events.extend(first_event);
        turn.events.push(Event::EffectRequested {
            action: Uuid::nil(),
            request: request.clone(),
        });
        let mut state = State::blank(Uuid::nil(), Uuid::nil(), id.as_u128() as u64, system);
        state.status = engine::Status::Waiting;
        state.cursor = Some(engine::Cursor {
            action: Uuid::nil(),
            memo: Value::Null,
            until: None,
            message: false,
            effect: Some(request),
        });
        let mut feed = Vec::new();
        // written with the turn that opens the interaction
        match d.op_buffered(|a, now| a.enqueue(id, target, now)).await {
            Ok(events) => {
                Conversations::note_distribution(&mut turn, &events);
                feed = events;
                if welcome_now {
                    let m = Outbound::Text { text: message };
                    turn.events.push(Event::MessageOut { message: m.clone() });
                    turn.outbound.push(m);
                }
            }
            Err(e) => engine::end_with_error(
                &mut state,
                &mut turn,
                "customer_routing_failed",
                e.to_string(),
            ),
        }
        Ok((state, turn, feed))
    }

    /// Records distribution notes on an interaction (and answers its routing).
    async fn note(&self, interaction: Uuid, noted: Noted) -> Result<Receipt> {
        self.note_with(interaction, noted, Vec::new()).await
    }

    async fn note_with(
        &self,
        interaction: Uuid,
        noted: Noted,
        outbound: Vec<Outbound>,
    ) -> Result<Receipt> {
        self.by_id(interaction, ById::Noted(&noted, &outbound))
            .await
    }

    /// The turn of distribution notes: the routing's answer, the close of a conversation whose
    /// routing is over, or just the notes (and an agent's message, or the pending welcome).
    pub(crate) async fn noted(
        &self,
        row: InteractionRow,
        ep: Option<&flow::entry_point::EntryPoint>,
        noted: &Noted,
        outbound: &[Outbound],
    ) -> Result<Prepared> {
        let owner = noted.owner.zip(row.customer_id).map(|(user, c)| (c, user));
        let mut prepared = self.noted_turn(row, ep, noted, outbound).await?;
        prepared.write.owner = owner;
        Ok(prepared)
    }

    async fn noted_turn(
        &self,
        row: InteractionRow,
        ep: Option<&flow::entry_point::EntryPoint>,
        noted: &Noted,
        outbound: &[Outbound],
    ) -> Result<Prepared> {
        let notes = noted.notes.clone();
        let state = match engine::load_state(&row.state) {
            Ok(state) => state,
            // an unreadable state is quarantined by the turn
            Err(_) => {
                return self
                    .advance_with(row, engine::Input::Timer, ep, notes)
                    .await;
            }
        };
        let routing_over = state.status == engine::Status::Waiting && state.cursor.is_none();
        match &noted.result {
            Some(r) => {
                self.advance_with(row, engine::Input::Result(r), ep, notes)
                    .await
            }
            None if noted.closed_by_agent && routing_over => {
                self.advance_with(row, engine::Input::Close(&CloseReason::Closed), ep, notes)
                    .await
            }
            None => {
                // the welcome of the customer routing rules, once an agent has it
                let welcome = match state.cursor.as_ref().and_then(|c| c.effect.as_ref()) {
                    Some(Effect::Distribute(Distribute::Rules {
                        welcome: Some(w), ..
                    })) if noted.accepted => Some(w.clone()),
                    _ => None,
                };
                let mut out = outbound.to_vec();
                out.extend(welcome.iter().map(|w| Outbound::Text { text: w.clone() }));
                let sent = welcome.is_some();
                self.annotate(row, ep, notes, out, |state| {
                    if sent
                        && let Some(engine::Cursor {
                            effect: Some(Effect::Distribute(Distribute::Rules { welcome, .. })),
                            ..
                        }) = state.cursor.as_mut()
                    {
                        *welcome = None;
                    }
                })
            }
        }
    }
}
