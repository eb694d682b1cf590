//! The provider channels' webhooks (WhatsApp, Telegram, Messenger): the subscription handshake,
//! the signature checked on the raw bytes before anything is read, then every event of the
//! body handled in order — customer messages (their media fetched and kept) committed one by
//! one before the webhook is acknowledged, delivery statuses noted on the outbox row and the
//! interaction, reactions and edits recorded, Telegram button presses answered.

use channels::{Credentials, WebhookEvent};
use flow::entry_point::{Channel, EntryPoint};
use flow::exec::Attachment;
use uuid::Uuid;

use crate::conversations::{ConversationError, Conversations, Result};
use crate::turn::{ById, Noted};

/// What a webhook held, once handled.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WebhookReport {
    /// Customer messages committed (duplicates included: the provider retried).
    pub messages: usize,
    pub duplicates: usize,
    /// Delivery statuses noted.
    pub statuses: usize,
    /// Reactions, edits and other notes recorded.
    pub notes: usize,
    /// Events acknowledged without effect (echoes, another number's, unknown kinds).
    pub ignored: usize,
}

fn unknown(reference: &str) -> ConversationError {
    ConversationError::NotFound(format!("entry point '{reference}'"))
}

fn unsigned(e: channels::ChannelError) -> ConversationError {
    let channels::ChannelError::Invalid(code, msg) = e;
    ConversationError::Invalid(code, msg)
}

impl Conversations {
    /// A provider entry point of `channel` by reference, with its credentials. An entry point
    /// of another channel is not found (the webhook says nothing of what exists).
    async fn provider_entry_point(
        &self,
        channel: Channel,
        reference: &str,
    ) -> Result<(EntryPoint, Credentials)> {
        let ep = self
            .entry_point_cached(reference)
            .await?
            .filter(|ep| ep.channel == channel)
            .ok_or_else(|| unknown(reference))?;
        let creds = self.provider_credentials(&ep).ok_or_else(|| {
            ConversationError::Invalid(
                "invalid_signature",
                "the entry point has no credentials to check this webhook with".into(),
            )
        })?;
        Ok((ep, creds))
    }

    /// Meta's subscription handshake (WhatsApp, Messenger): the `hub.challenge` to answer when
    /// `hub.verify_token` is the entry point's; `verification_failed` otherwise.
    pub async fn webhook_handshake(
        &self,
        channel: Channel,
        reference: &str,
        raw_query: &str,
    ) -> Result<String> {
        let (_, creds) = self.provider_entry_point(channel, reference).await?;
        let token = creds
            .get("verify_token")
            .ok_or_else(|| unknown(reference))?;
        channels::meta::handshake(raw_query, token).map_err(unsigned)
    }

    /// Handles a webhook: `signature` is the `X-Hub-Signature-256` (WhatsApp, Messenger) or
    /// `X-Telegram-Bot-Api-Secret-Token` (Telegram) header's raw value. Nothing is read or
    /// stored before it checks; each customer message is committed before the next is read,
    /// all before the answer (so a failure makes the provider send again, and what was
    /// committed is recognised as a duplicate).
    pub async fn webhook(
        &self,
        channel: Channel,
        reference: &str,
        signature: Option<&[u8]>,
        body: &[u8],
    ) -> Result<WebhookReport> {
        let (ep, creds) = self.provider_entry_point(channel, reference).await?;
        let address = ep.address.clone().unwrap_or_default();
        let events = match &creds {
            Credentials::WhatsApp { app_secret, .. } => {
                channels::meta::verify(app_secret, body, signature).map_err(unsigned)?;
                channels::whatsapp::parse(body, &address)
            }
            Credentials::Messenger { app_secret, .. } => {
                channels::meta::verify(app_secret, body, signature).map_err(unsigned)?;
                channels::messenger::parse(body, &address)
            }
            Credentials::Telegram { secret_token, .. } => {
                channels::telegram::verify(secret_token, signature).map_err(unsigned)?;
                channels::telegram::parse(body)
            }
        }
        .map_err(unsigned)?;
        if events.len() > channels::provider::WEBHOOK_MAX_EVENTS {
            return Err(ConversationError::Invalid(
                "too_many_events",
                format!(
                    "a webhook holds at most {} events",
                    channels::provider::WEBHOOK_MAX_EVENTS
                ),
            ));
        }
        let mut report = WebhookReport::default();
        for event in events {
            match event {
                WebhookEvent::Message {
                    mut received,
                    name,
                    media,
                } => {
                    received.profile_name = name;
                    // a message sent again (the provider retries) is not fetched again: it is
                    // answered as the duplicate it is
                    let seen = !media.is_empty()
                        && self
                            .store
                            .inbound_seen(ep.id, &received.customer, &received.message_id)
                            .await?
                            .is_some();
                    if !seen {
                        received.message.attachments = self
                            .fetch_media(&ep, &creds, &received.customer, &media)
                            .await;
                    }
                    let (customer, message_id) =
                        (received.customer.clone(), received.message_id.clone());
                    let receipt = match self.receive_on(Some(channel), reference, received).await {
                        Ok(r) => r,
                        // a message the channel's limits refuse is the provider's to keep: it
                        // would send it again for ever; acknowledged, ignored, logged
                        Err(ConversationError::Invalid(code, why)) => {
                            report.ignored += 1;
                            tracing::warn!(entry_point = %ep.reference, code, why, "a webhook message was refused and ignored");
                            continue;
                        }
                        Err(e) => return Err(e),
                    };
                    report.messages += 1;
                    report.duplicates += usize::from(receipt.duplicate);
                    if !receipt.duplicate {
                        self.mark_read(&creds, &address, customer, message_id);
                    }
                }
                WebhookEvent::Status {
                    provider_message_id,
                    status,
                } => {
                    report.statuses += 1;
                    self.delivery_status(&provider_message_id, &status).await?;
                }
                WebhookEvent::Noted { customer, what } => {
                    report.notes += 1;
                    if let Some(open) = self.store.open_interaction(ep.id, &customer).await? {
                        self.channel_note(open.id, engine::ChannelNote::Customer { what })
                            .await?;
                    }
                }
                WebhookEvent::AnswerCallback { id } => {
                    self.answer_callback(&creds, &id).await;
                }
                WebhookEvent::Ignored { why } => {
                    report.ignored += 1;
                    tracing::info!(entry_point = %ep.reference, why, "a webhook event was acknowledged and ignored");
                }
            }
        }
        Ok(report)
    }

    /// Records a channel note in an interaction's history.
    pub(crate) async fn channel_note(
        &self,
        interaction: Uuid,
        detail: engine::ChannelNote,
    ) -> Result<()> {
        let noted = Noted {
            notes: vec![engine::Event::Channel { detail }],
            result: None,
            closed_by_agent: false,
            accepted: false,
            owner: None,
        };
        // a note is the history's: one that cannot be written (a purged or broken interaction)
        // does not fail the webhook (the status is on the outbox row already)
        if let Err(e) = self.by_id(interaction, ById::Noted(&noted, &[])).await {
            tracing::warn!(%interaction, error = %e, "a channel note could not be recorded");
        }
        Ok(())
    }

    async fn delivery_status(
        &self,
        provider_message_id: &str,
        status: &channels::DeliveryStatus,
    ) -> Result<()> {
        let Some((interaction, seq)) = self
            .store
            .record_delivery_status(provider_message_id, status.as_str())
            .await?
        else {
            // a message sent otherwise (by the business's own app): nothing of ours
            return Ok(());
        };
        let error = match status {
            channels::DeliveryStatus::Failed { error } => Some(error.clone()),
            _ => None,
        };
        self.channel_note(
            interaction,
            engine::ChannelNote::Delivery {
                seq,
                status: status.as_str().to_owned(),
                error,
            },
        )
        .await
    }

    /// The HTTP client of the providers' APIs (the outbound-address policy's).
    pub(crate) fn provider_client(&self) -> Option<&reqwest::Client> {
        self.provider_client
            .get_or_init(|| {
                crate::install_crypto();
                self.outbound
                    .client(channels::provider::CALL_TIMEOUT)
                    .map_err(|e| tracing::error!(error = %e, "the providers' HTTP client could not start"))
                    .ok()
            })
            .as_ref()
    }

    /// Fetches and keeps a message's media; one that cannot be fetched is left out (logged):
    /// the message's text still counts.
    async fn fetch_media(
        &self,
        ep: &EntryPoint,
        creds: &Credentials,
        customer: &str,
        media: &[channels::Media],
    ) -> Vec<Attachment> {
        let Some(client) = self.provider_client() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for m in media
            .iter()
            .take(channels::of(ep.channel).limits().attachments)
        {
            if let channels::Media::Url { url } = m
                && let Err(why) = self.outbound.check_url(url)
            {
                tracing::warn!(entry_point = %ep.reference, why, "a medium's URL was refused");
                continue;
            }
            let fetched = match channels::fetch(client, &self.providers, creds, m).await {
                Ok(f) => f,
                Err(e) => {
                    tracing::warn!(entry_point = %ep.reference, reason = %e.reason, "a medium could not be fetched");
                    continue;
                }
            };
            let size = fetched.data.len() as u64;
            match self
                .keep_upload(ep.id, customer, &fetched.content_type, fetched.data)
                .await
            {
                Ok(upload) => out.push(Attachment {
                    content_type: upload.content_type,
                    url: format!("/api/v1/uploads/{}", upload.id),
                    size,
                }),
                Err(e) => {
                    tracing::warn!(entry_point = %ep.reference, error = %e, "a medium could not be kept");
                }
            }
        }
        out
    }

    /// Shows the customer their message was read (WhatsApp's read receipt, Messenger's
    /// "seen"), in the background: the webhook's answer does not wait for it, and a failure is
    /// only logged. Telegram has no read receipts for bots.
    fn mark_read(&self, creds: &Credentials, address: &str, customer: String, message_id: String) {
        let Some(client) = self.provider_client().cloned() else {
            return;
        };
        let (creds, address) = (creds.clone(), address.to_owned());
        let bases = self.providers.clone();
        tokio::spawn(async move {
            let done = match &creds {
                Credentials::WhatsApp { access_token, .. } => {
                    channels::whatsapp::mark_read(
                        &client,
                        &bases.whatsapp,
                        access_token,
                        &address,
                        &message_id,
                    )
                    .await
                }
                Credentials::Messenger {
                    page_access_token, ..
                } => {
                    channels::messenger::mark_seen(
                        &client,
                        &bases.messenger,
                        page_access_token,
                        &customer,
                    )
                    .await
                }
                Credentials::Telegram { .. } => Ok(()),
            };
            if let Err(e) = done {
                tracing::debug!(reason = %e.reason, "a read receipt could not be sent");
            }
        });
    }

    /// Answers a Telegram button press (best effort, after the press is committed).
    async fn answer_callback(&self, creds: &Credentials, id: &str) {
        let (Some(client), Credentials::Telegram { bot_token, .. }) =
            (self.provider_client(), creds)
        else {
            return;
        };
        if let Err(e) =
            channels::telegram::answer_callback(client, &self.providers.telegram, bot_token, id)
                .await
        {
            tracing::warn!(reason = %e.reason, "a Telegram button press could not be answered");
        }
    }

    /// Sends a reply through a provider entry point.
    pub(crate) async fn send_to_provider(
        &self,
        ep: &EntryPoint,
        reply: channels::provider::Reply<'_>,
    ) -> std::result::Result<channels::Sent, channels::SendError> {
        let creds = self
            .provider_credentials(ep)
            .ok_or_else(|| channels::SendError::permanent("the entry point has no credentials"))?;
        let client = self.provider_client().ok_or_else(|| {
            channels::SendError::temporary("the providers' HTTP client is not running")
        })?;
        channels::send(
            client,
            &self.providers,
            &creds,
            ep.address.as_deref().unwrap_or_default(),
            reply,
        )
        .await
    }
}
