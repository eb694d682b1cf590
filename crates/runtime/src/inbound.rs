//! Inputs from outside: customer messages of the channels, previews, closes by API.

use engine::CloseReason;
use flow::VersionId;
use flow::exec::Inbound;
use uuid::Uuid;

use crate::conversations::{Conversations, InboundMessage, Receipt, limits};

/// An interaction with a page of its history and what its state holds.
#[derive(Clone, Debug)]
pub struct InteractionDetail {
    pub interaction: Interaction,
    /// `None` when its state cannot be read (a quarantined interaction).
    pub values: Option<StateValues>,
    /// Why it closed, once closed.
    pub closed: Option<CloseReason>,
    pub events: Vec<HistoryEvent>,
    /// More events follow the page.
    pub more: bool,
}

/// An interaction's variables and system values.
#[derive(Clone, Debug)]
pub struct StateValues {
    pub variables: serde_json::Map<String, serde_json::Value>,
    pub system: serde_json::Map<String, serde_json::Value>,
}
use crate::error::{ConversationError, Result};
use crate::turn::{ById, Target};
use flow::effect::EffectResult;
use flow::entry_point::Channel;
use flow::interaction::{HistoryEvent, Interaction, Mode};

impl Conversations {
    /// A customer message received on an entry point. Returns once it is committed (or was
    /// already): that is when the channel may acknowledge it.
    pub async fn receive(&self, entry_point: &str, m: InboundMessage) -> Result<Receipt> {
        self.receive_on(None, entry_point, m).await
    }

    /// [`Self::receive`] from a channel's own route: an entry point of another channel is
    /// refused (`wrong_channel`).
    /// Checks the signature of a message posted to an HTTP entry point, on its raw bytes and
    /// before anything is stored: `X-Switchyard-Signature: sha256=<hex HMAC-SHA256 of the body
    /// under the entry point's secret>`, compared in constant time.
    pub async fn verify_signed(
        &self,
        entry_point: &str,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<()> {
        let ep = self
            .entry_point_cached(entry_point)
            .await?
            .ok_or_else(|| ConversationError::NotFound(format!("entry point '{entry_point}'")))?;
        let unsigned = || {
            ConversationError::Invalid(
                "invalid_signature",
                "the message's X-Switchyard-Signature is missing or does not match the entry point's secret".into(),
            )
        };
        let secret = ep
            .secret
            .as_deref()
            .and_then(|s| self.secrets.open(s))
            .ok_or_else(unsigned)?;
        channels::http::verify(&secret, body, signature.ok_or_else(unsigned)?)
            .map_err(|_| unsigned())
    }

    pub async fn receive_on(
        &self,
        channel: Option<Channel>,
        entry_point: &str,
        m: InboundMessage,
    ) -> Result<Receipt> {
        let ep = self
            .entry_point_cached(entry_point)
            .await?
            .ok_or_else(|| ConversationError::NotFound(format!("entry point '{entry_point}'")))?;
        if let Some(c) = channel
            && c != ep.channel
        {
            return Err(ConversationError::Invalid(
                "wrong_channel",
                format!(
                    "entry point '{entry_point}' is not a {} entry point",
                    c.as_str()
                ),
            ));
        }
        channels::of(ep.channel).check(&m).map_err(
            |channels::ChannelError::Invalid(code, msg)| ConversationError::Invalid(code, msg),
        )?;
        let target = Target::Customer {
            entry_point: &ep,
            message: &m,
            uploads: &[],
        };
        self.transition(target).await?.ok_or_else(not_recorded)
    }

    /// Starts a preview of any version: a conversation without entry point.
    pub async fn preview(&self, version: VersionId, customer: &str) -> Result<Receipt> {
        if self.maker.store().version(version).await?.is_none() {
            return Err(ConversationError::NotFound(format!("version {version}")));
        }
        let target = Target::Preview {
            id: Uuid::now_v7(),
            version,
            customer,
        };
        self.transition(target).await?.ok_or_else(not_recorded)
    }

    /// A preview's row; `why` says what only a preview takes through the API.
    async fn preview_row(&self, id: Uuid, why: &str) -> Result<store::InteractionRow> {
        let row = self
            .store
            .interaction(id)
            .await?
            .ok_or_else(|| ConversationError::NotFound(format!("interaction {id}")))?;
        if row.mode != Mode::Preview {
            return Err(ConversationError::Invalid("not_a_preview", why.into()));
        }
        Ok(row)
    }

    /// A message in a preview conversation.
    pub async fn preview_message(&self, id: Uuid, message: Inbound) -> Result<Receipt> {
        self.preview_row(
            id,
            "messages of live and test interactions come through their channel",
        )
        .await?;
        if message.text.chars().count() > limits::TEXT {
            return Err(ConversationError::Invalid(
                "message_too_long",
                format!("a message holds at most {} characters", limits::TEXT),
            ));
        }
        self.by_id(id, ById::Message(&message)).await
    }

    /// The outcome of the effect a preview waits for (a distribution), chosen by the person
    /// previewing: previews never reach real agents.
    pub async fn preview_result(&self, id: Uuid, result: EffectResult) -> Result<Receipt> {
        let row = self
            .preview_row(
                id,
                "only a preview takes an outcome from the API; live interactions get theirs from the distribution",
            )
            .await?;
        let waiting = engine::load_state(&row.state)
            .ok()
            .and_then(|s| s.cursor)
            .is_some_and(|c| c.effect.is_some());
        if !waiting {
            return Err(ConversationError::Conflict(
                "not_waiting_for_a_result",
                format!("preview {id} is not waiting for a distribution's outcome"),
            ));
        }
        self.by_id(id, ById::Result(&result)).await
    }

    /// Closes an interaction.
    pub async fn close(&self, id: Uuid) -> Result<Receipt> {
        self.by_id(id, ById::Close(&CloseReason::Closed)).await
    }

    /// Takes an interaction out of quarantine: it resumes from its saved state (its timer
    /// re-armed) with the next input.
    pub async fn retry(&self, id: Uuid) -> Result<Receipt> {
        self.by_id(id, ById::Retry).await
    }

    /// The smart routing an interaction runs, if the interaction exists.
    pub async fn routing_of(&self, id: Uuid) -> Result<Option<flow::model::RoutingId>> {
        Ok(self.store.interaction(id).await?.map(|r| r.routing_id))
    }

    /// Interactions, newest first.
    pub async fn interactions(
        &self,
        filter: &store::InteractionFilter,
        page: &store::PageRequest,
    ) -> Result<store::Page<Interaction>> {
        let page = self.store.interactions(filter, page).await?;
        Ok(store::Page {
            items: page
                .items
                .iter()
                .map(store::InteractionRow::record)
                .collect(),
            next_after: page.next_after,
        })
    }

    /// One interaction with `limit` of its events after `after` (and whether more follow).
    pub async fn interaction_with_events(
        &self,
        id: Uuid,
        after: u64,
        limit: u32,
    ) -> Result<InteractionDetail> {
        let row = self
            .store
            .interaction(id)
            .await?
            .ok_or_else(|| ConversationError::NotFound(format!("interaction {id}")))?;
        let mut events = self.store.events(id, after, limit + 1).await?;
        let more = events.len() > limit as usize;
        events.truncate(limit as usize);
        // an unreadable state (a quarantined interaction) shows no values
        let (values, closed) = match engine::load_state(&row.state) {
            Ok(s) => (
                Some(StateValues {
                    variables: s.vars,
                    system: s.system,
                }),
                match s.status {
                    engine::Status::Closed(reason) => Some(reason),
                    _ => None,
                },
            ),
            Err(_) => (None, None),
        };
        Ok(InteractionDetail {
            interaction: row.record(),
            values,
            closed,
            events: events.into_iter().map(Into::into).collect(),
            more,
        })
    }

    /// A visitor's latest interaction on an entry point (open or closed).
    pub async fn latest_interaction(
        &self,
        entry_point: Uuid,
        customer: &str,
    ) -> Result<Option<Interaction>> {
        let row = self.store.latest_interaction(entry_point, customer).await?;
        Ok(row.as_ref().map(store::InteractionRow::record))
    }

    /// The last `limit` events of an interaction, in order.
    pub async fn last_events(&self, id: Uuid, limit: u32) -> Result<Vec<HistoryEvent>> {
        let events = self.store.events(id, 0, limit).await?;
        Ok(events.into_iter().map(Into::into).collect())
    }

    /// An entry point by reference, from memory, if it is of `channel`.
    pub async fn entry_point_of(
        &self,
        channel: Channel,
        reference: &str,
    ) -> Result<Option<flow::entry_point::EntryPoint>> {
        Ok(self
            .entry_point_cached(reference)
            .await?
            .filter(|ep| ep.channel == channel))
    }

    /// An input to one interaction, through the transition path.
    pub(crate) async fn by_id(&self, id: Uuid, input: ById<'_>) -> Result<Receipt> {
        self.transition(Target::Interaction { id, input })
            .await?
            .ok_or_else(not_recorded)
    }
}

fn not_recorded() -> ConversationError {
    ConversationError::NotRecorded("nothing was done".into())
}
