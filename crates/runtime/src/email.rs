//! Email in: mailboxes (email entry points) found by address, a received message parsed, its
//! raw bytes and attachments kept as uploads, and the message committed through the one
//! transition path — into the interaction it replies to, or a new one. The SMTP listener's
//! [`EmailSink`] answers `250` only once that commit is done.

use std::collections::HashMap;
use std::sync::Arc;

use channels::email::{Envelope, Parsed};
use channels::smtp::{Delivery, MailSink, Refusal};
use flow::entry_point::{Channel, EntryPoint};
use store::{InteractionRow, PageRequest, Upload};
use uuid::Uuid;

use crate::conversations::{Conversations, Receipt};
use crate::error::{ConversationError, Result};
use crate::turn::Target;

pub use crate::email_out::{interaction_of, message_id};

/// Most email entry points read into the address map.
const MAILBOXES_MAX: usize = 10_000;

impl Conversations {
    /// The address map of the mailboxes, read again after any entry point change.
    pub(crate) async fn mailboxes(&self) -> Result<Arc<HashMap<String, Uuid>>> {
        let epoch = self.entry_point_epoch();
        {
            let m = self.mailboxes.lock().unwrap_or_else(|p| p.into_inner());
            if m.epoch == epoch
                && let Some(map) = &m.by_address
            {
                return Ok(map.clone());
            }
        }
        let mut map = HashMap::new();
        let mut page = PageRequest {
            limit: 500,
            after: None,
        };
        let mut read = 0;
        loop {
            let got = self.store.entry_points(&page).await?;
            for ep in got.items.iter().filter(|e| e.channel == Channel::Email) {
                for a in ep.address.iter().chain(ep.aliases.iter()) {
                    map.insert(a.clone(), ep.id);
                }
            }
            read += got.items.len();
            match got.next_after {
                Some(after) if read < MAILBOXES_MAX * 4 => page.after = Some(after),
                _ => break,
            }
        }
        let map = Arc::new(map);
        let mut m = self.mailboxes.lock().unwrap_or_else(|p| p.into_inner());
        // an entry point changed while the map was read: keep it for this call only
        if self.entry_point_epoch() == epoch {
            m.epoch = epoch;
            m.by_address = Some(map.clone());
        }
        Ok(map)
    }

    /// The mailbox receiving mail for `address` (lower case).
    pub async fn mailbox(&self, address: &str) -> Result<Option<EntryPoint>> {
        let Some(id) = self.mailboxes().await?.get(address).copied() else {
            return Ok(None);
        };
        self.entry_point_by_id(id).await
    }

    /// An email received for `ep`: parsed, deduplicated by its `Message-ID` (per sender), its
    /// raw message and attachments kept as uploads in the turn's transaction, and committed — in the interaction it
    /// replies to when that one is still open, else in a new one.
    pub async fn receive_email(
        &self,
        ep: &EntryPoint,
        raw: &[u8],
        envelope: Envelope<'_>,
    ) -> Result<Receipt> {
        if ep.channel != Channel::Email {
            return Err(ConversationError::Invalid(
                "wrong_channel",
                format!("entry point '{}' is not an email entry point", ep.reference),
            ));
        }
        let mailboxes = self.mailboxes().await?;
        let own = |a: &str| mailboxes.contains_key(a);
        let mut parsed: Parsed = channels::email::parse(raw, envelope, &own).map_err(
            |channels::ChannelError::Invalid(code, msg)| ConversationError::Invalid(code, msg),
        )?;
        let (customer, key) = (
            parsed.received.customer.clone(),
            parsed.received.message_id.clone(),
        );
        if let Some(id) = self.store.inbound_seen(ep.id, &customer, &key).await? {
            return Ok(Receipt::duplicate(id));
        }
        let now = self.now();
        let keep = |content_type: &str, data: Vec<u8>| Upload {
            id: Uuid::now_v7(),
            entry_point_id: ep.id,
            customer: customer.clone(),
            content_type: content_type.to_owned(),
            size: data.len() as u64,
            data,
            created_at: now,
        };
        // the files are written with the turn, in its transaction: none without the other
        let raw_upload = keep("message/rfc822", raw.to_vec());
        let raw_id = raw_upload.id;
        let mut uploads = vec![raw_upload];
        let mut urls = Vec::new();
        for part in std::mem::take(&mut parsed.attachments) {
            let upload = keep(&part.content_type, part.data);
            urls.push((upload.id, part.content_type, upload.size));
            uploads.push(upload);
        }
        let email = parsed.email_mut();
        email.raw_url = format!("/api/v1/uploads/{raw_id}");
        for (a, (id, _, _)) in email.attachments.iter_mut().zip(&urls) {
            a.url = format!("/api/v1/uploads/{id}");
        }
        parsed.received.message.attachments = urls
            .into_iter()
            .map(|(id, content_type, size)| flow::exec::Attachment {
                content_type,
                url: format!("/api/v1/uploads/{id}"),
                size,
            })
            .collect();
        let uploads = Arc::new(uploads);
        let _pending = Pending::new(self, &uploads);
        let target = Target::Customer {
            entry_point: ep,
            message: &parsed.received,
            uploads: &uploads,
        };
        self.transition(target)
            .await?
            .ok_or_else(|| ConversationError::NotRecorded("the email was not recorded".into()))
    }

    /// An upload's bytes: written, or brought by a message whose turn is being written.
    pub(crate) async fn upload_bytes(&self, id: Uuid) -> Result<Option<Vec<u8>>> {
        let pending = self
            .pending_uploads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned();
        if let Some(list) = pending
            && let Some(u) = list.iter().find(|u| u.id == id)
        {
            return Ok(Some(u.data.clone()));
        }
        Ok(self.store.upload(id).await?.map(|u| u.data))
    }

    /// The open interaction an email continues: one of ours it answers (`In-Reply-To` /
    /// `References` naming a message we sent, or one of the customer's earlier emails), or whose
    /// reference (`[#1a2b3c4d]`) its subject carries — on the same mailbox and of the same
    /// customer. `None`: the email starts a new interaction.
    pub(crate) async fn email_thread(
        &self,
        ep: &EntryPoint,
        customer: &str,
        email: &flow::email::Email,
    ) -> Result<Option<InteractionRow>> {
        let open = |row: &InteractionRow| {
            row.entry_point_id == Some(ep.id)
                && row.customer == customer
                && row.status != flow::interaction::InteractionStatus::Closed
        };
        for id in email.thread_ids().take(20) {
            let found = match interaction_of(id) {
                Some(interaction) => Some(interaction),
                None => self.store.inbound_seen(ep.id, customer, id).await?,
            };
            if let Some(interaction) = found
                && let Some(row) = self.store.interaction(interaction).await?
                && open(&row)
            {
                return Ok(Some(row));
            }
        }
        let references = flow::email::subject_references(&email.subject);
        if references.is_empty() {
            return Ok(None);
        }
        let candidates = self.store.open_interactions(ep.id, customer, 50).await?;
        Ok(candidates.into_iter().find(|row| {
            open(row)
                && references
                    .iter()
                    .any(|r| flow::email::has_reference(row.id, r))
        }))
    }
}

/// A message's files, readable by id while its turn is written; forgotten after.
struct Pending<'a> {
    conv: &'a Conversations,
    ids: Vec<Uuid>,
}

impl<'a> Pending<'a> {
    fn new(conv: &'a Conversations, uploads: &Arc<Vec<Upload>>) -> Pending<'a> {
        let ids: Vec<Uuid> = uploads.iter().map(|u| u.id).collect();
        let mut map = conv
            .pending_uploads
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for id in &ids {
            map.insert(*id, uploads.clone());
        }
        Pending { conv, ids }
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        let mut map = self
            .conv
            .pending_uploads
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for id in &self.ids {
            map.remove(id);
        }
    }
}

/// The SMTP listener's sink: recipients are the mailboxes' addresses; a message is committed
/// once per mailbox it is addressed to before the listener answers `250`.
pub struct EmailSink(pub Arc<Conversations>);

#[async_trait::async_trait]
impl MailSink for EmailSink {
    async fn accepts(&self, recipient: &str) -> bool {
        match self.0.mailboxes().await {
            Ok(map) => map.contains_key(recipient),
            Err(e) => {
                tracing::warn!(error = %e, "the mailboxes could not be read");
                false
            }
        }
    }

    async fn deliver(&self, d: Delivery) -> std::result::Result<(), Refusal> {
        let map = self
            .0
            .mailboxes()
            .await
            .map_err(|e| Refusal::Temporary(e.to_string()))?;
        let mut targets: Vec<Uuid> = d
            .recipients
            .iter()
            .filter_map(|r| map.get(r).copied())
            .collect();
        targets.dedup();
        let envelope = Envelope {
            mail_from: Some(&d.mail_from),
        };
        for id in targets {
            let Some(ep) = self
                .0
                .entry_point_by_id(id)
                .await
                .map_err(|e| Refusal::Temporary(e.to_string()))?
            else {
                continue;
            };
            match self.0.receive_email(&ep, &d.data, envelope).await {
                Ok(r) => {
                    tracing::debug!(interaction = %r.interaction_id, duplicate = r.duplicate, "email received");
                }
                Err(ConversationError::Invalid(code, message)) => {
                    tracing::info!(code, %message, peer = %d.peer, "email refused");
                    return Err(Refusal::Permanent(message));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "email not recorded; the sender will retry");
                    return Err(Refusal::Temporary(
                        "the message could not be recorded, try again later".into(),
                    ));
                }
            }
        }
        Ok(())
    }
}
