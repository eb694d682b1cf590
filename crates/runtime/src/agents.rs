//! What agents do, and what the distribution does outside a customer's turn: offers accepted or
//! declined, messages to the customer, transfers, closes, presence, expired offers. Each
//! distribution event is recorded in its interaction's history; an outcome answers the routing
//! waiting on it; the agents concerned hear of it on their live feed.

use std::time::Duration;

use acd::{EntryStatus, Event as AcdEvent, Presence, Target};
use engine::{CloseReason, Event};
use flow::exec::{Inbound, Outbound};
use serde_json::{Value, json};
use store::{CustomerWrite, InteractionRow, TurnOutcome};
use tokio::sync::watch;
use uuid::Uuid;

use crate::conversations::{ConversationError, Conversations, Receipt};
use crate::distribution::{Distribution, outcome_result};

type Result<T> = std::result::Result<T, ConversationError>;

/// Tells each agent what concerns them.
pub fn feed(d: &Distribution, events: &[AcdEvent]) {
    for e in events {
        let (user, event) = match e {
            AcdEvent::Offered {
                interaction,
                user,
                until,
            } => (
                *user,
                json!({"type": "offer", "interaction_id": interaction, "until": until.to_string()}),
            ),
            AcdEvent::Accepted { interaction, user } => (
                *user,
                json!({"type": "assigned", "interaction_id": interaction}),
            ),
            AcdEvent::OfferExpired { interaction, user } => (
                *user,
                json!({"type": "offer_ended", "interaction_id": interaction, "reason": "expired"}),
            ),
            AcdEvent::OfferWithdrawn { interaction, user } => (
                *user,
                json!({"type": "offer_ended", "interaction_id": interaction, "reason": "withdrawn"}),
            ),
            AcdEvent::Transferred { interaction, from } => (
                *from,
                json!({"type": "transferred", "interaction_id": interaction}),
            ),
            AcdEvent::Closed {
                interaction,
                user: Some(user),
                handled,
            } => (
                *user,
                json!({"type": "closed", "interaction_id": interaction, "handled": handled}),
            ),
            _ => continue,
        };
        d.publish(user, event);
    }
}

fn interaction_of(e: &AcdEvent) -> Uuid {
    match e {
        AcdEvent::Queued { interaction, .. }
        | AcdEvent::Offered { interaction, .. }
        | AcdEvent::Accepted { interaction, .. }
        | AcdEvent::Declined { interaction, .. }
        | AcdEvent::OfferExpired { interaction, .. }
        | AcdEvent::OfferWithdrawn { interaction, .. }
        | AcdEvent::Transferred { interaction, .. }
        | AcdEvent::Closed { interaction, .. }
        | AcdEvent::Resolved { interaction, .. } => *interaction,
    }
}

/// What one interaction gets from a batch of distribution events.
pub(crate) struct Noted<'a> {
    pub notes: Vec<Event>,
    /// The routing's answer.
    pub result: Option<&'a Value>,
    /// Its agent closed it: if the routing is over, the interaction closes.
    pub closed_by_agent: bool,
}

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
        feed(&d, &events);
        let mut order: Vec<Uuid> = Vec::new();
        for e in &events {
            let i = interaction_of(e);
            if !order.contains(&i) {
                order.push(i);
            }
        }
        for i in order {
            let mine: Vec<&AcdEvent> = events.iter().filter(|e| interaction_of(e) == i).collect();
            let result = mine.iter().find_map(|e| match e {
                AcdEvent::Resolved { outcome, .. } => Some(outcome_result(outcome, false)),
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
                        detail: serde_json::to_value(e).unwrap_or(Value::Null),
                    })
                    .collect(),
                result: result.as_ref(),
                closed_by_agent: handled_by.is_some(),
            };
            match self.note(i, noted).await {
                Ok(_) | Err(ConversationError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
            if let Some(user) = handled_by
                && d.settings().owner_on_first_handled
            {
                self.own(i, user).await?;
            }
        }
        Ok(())
    }

    /// Makes `user` the owner of the interaction's customer if they have none.
    async fn own(&self, interaction: Uuid, user: Uuid) -> Result<()> {
        let Some(row) = self.store().interaction(interaction).await? else {
            return Ok(());
        };
        let Some(c) = row.customer_id else {
            return Ok(());
        };
        for _ in 0..3 {
            let Some(current) = self.store().customer(c).await? else {
                return Ok(());
            };
            if current.owner_id.is_some() {
                return Ok(());
            }
            let mut next = current.clone();
            next.owner_id = Some(user);
            next.revision += 1;
            next.updated_at = self.now();
            match self
                .store()
                .write_customer(CustomerWrite::Update {
                    customer: next,
                    expected_revision: current.revision,
                })
                .await
            {
                Ok(()) => return Ok(()),
                Err(store::StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// After a committed turn: a closed interaction leaves the distribution; a customer
    /// message reaches the agent holding the conversation and may dissuade a waiting one.
    pub(crate) async fn after_turn(
        &self,
        id: Uuid,
        status: &str,
        message: Option<&Inbound>,
    ) -> Result<()> {
        let Some(d) = self.distribution().cloned() else {
            return Ok(());
        };
        if d.read(|a| a.entry(id).is_none()).await {
            return Ok(());
        }
        if status == "closed" {
            let events = d.op(|a, now| Ok(a.close(id, now))).await?;
            // the interaction is over: nobody answers its routing; its agent hears of it
            feed(&d, &events);
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
    pub async fn tick_distribution(&self) -> Result<()> {
        let events = self.dist()?.op(|a, now| Ok(a.tick(now))).await?;
        self.distribution_events(events).await
    }

    pub async fn agent_accept(&self, user: Uuid, interaction: Uuid) -> Result<()> {
        self.check_holder(user, interaction, false).await?;
        let events = self
            .dist()?
            .op(|a, now| a.accept(interaction, user, now))
            .await?;
        self.distribution_events(events).await
    }

    pub async fn agent_decline(&self, user: Uuid, interaction: Uuid) -> Result<()> {
        self.check_holder(user, interaction, false).await?;
        let events = self
            .dist()?
            .op(|a, now| a.decline(interaction, user, now))
            .await?;
        self.distribution_events(events).await
    }

    /// The agent closes the conversation: handled.
    pub async fn agent_close(&self, user: Uuid, interaction: Uuid) -> Result<()> {
        self.check_holder(user, interaction, true).await?;
        let events = self
            .dist()?
            .op(|a, now| Ok(a.close(interaction, now)))
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
            .op(|a, now| a.transfer(interaction, user, target, now))
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
                detail: json!({"agent_message": {"user": user}}),
            }],
            result: None,
            closed_by_agent: false,
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
    pub async fn agent_conversations(&self, user: Uuid) -> Result<Vec<(InteractionRow, bool)>> {
        let d = self.dist()?;
        let ids = d.read(|a| a.conversations_of(user)).await;
        let mut out = Vec::new();
        for id in ids {
            let accepted = d
                .read(|a| {
                    matches!(
                        a.entry(id).map(|e| e.status),
                        Some(EntryStatus::Assigned { .. })
                    )
                })
                .await;
            if let Some(row) = self.store().interaction(id).await? {
                out.push((row, accepted));
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
        let now = conversations.now();
        let wait = match d.next_wake().await {
            Some(at) if at <= now => Duration::ZERO,
            Some(at) => at
                .duration_since(now)
                .unsigned_abs()
                .min(Duration::from_secs(30)),
            None => Duration::from_secs(30),
        };
        if !wait.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = d.changed() => {}
                _ = stop.changed() => return,
            }
            continue;
        }
        if let Err(e) = conversations.tick_distribution().await {
            tracing::warn!(error = %e, "the distribution's timers could not run");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Conversations {
    /// Records distribution notes on an interaction (and answers its routing).
    async fn note(&self, interaction: Uuid, noted: Noted<'_>) -> Result<Receipt> {
        self.note_with(interaction, noted, Vec::new()).await
    }

    async fn note_with(
        &self,
        interaction: Uuid,
        noted: Noted<'_>,
        outbound: Vec<Outbound>,
    ) -> Result<Receipt> {
        let receipt = self.noted_turn(interaction, noted, outbound).await?;
        self.after_turn(interaction, &receipt.status, None).await?;
        Ok(receipt)
    }

    /// The turn of [`Self::note_with`], under the interaction's lock.
    async fn noted_turn(
        &self,
        id: Uuid,
        noted: Noted<'_>,
        outbound: Vec<Outbound>,
    ) -> Result<Receipt> {
        let not_found = || ConversationError::NotFound(format!("interaction {id}"));
        let row = self.store().interaction(id).await?.ok_or_else(not_found)?;
        let _guard = self.lock_interaction(&row).lock().await;
        for _ in 0..3 {
            let row = self.store().interaction(id).await?.ok_or_else(not_found)?;
            let ep = match row.entry_point_id {
                Some(e) => self.store().entry_point(e).await?,
                None => None,
            };
            let routing_over = row.status == "waiting" && row.state["cursor"].is_null();
            let notes = noted.notes.clone();
            let turn = match noted.result {
                Some(r) => {
                    self.advance_with(row, engine::Input::Result(r), ep.as_ref(), notes)
                        .await?
                }
                None if noted.closed_by_agent && routing_over => {
                    self.advance_with(
                        row,
                        engine::Input::Close(&CloseReason::Closed),
                        ep.as_ref(),
                        notes,
                    )
                    .await?
                }
                None => self.annotate(row, ep.as_ref(), notes, outbound.clone())?,
            };
            let (write, replies) = self.with_end_turn(turn, ep.as_ref()).await?;
            let status = write.interaction.status.clone();
            if self.commit_turn(write).await? == TurnOutcome::Committed {
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
}
