//! What is kept, and for how long: the retention purge (closed interactions' events, inbound
//! deduplication rows, delivered replies, uploads older than the `retention_days` setting) and
//! the customers' upload quota.

use std::sync::Arc;
use std::time::Duration;

use store::{Purged, Upload};
use tokio::sync::watch;
use uuid::Uuid;

use crate::conversations::Conversations;
use crate::error::{ConversationError, Result};

/// Limits of what customers upload.
pub mod limits {
    /// Largest file.
    pub const UPLOAD_BYTES: usize = 5 * 1024 * 1024;
    /// Most files one customer of an entry point sends in 24 hours.
    pub const UPLOADS_PER_DAY: u64 = 100;
    /// Most bytes one customer of an entry point sends in 24 hours.
    pub const UPLOAD_BYTES_PER_DAY: u64 = 50 * 1024 * 1024;
}

/// Rows removed per statement; a purge round repeats until nothing is left (or 100 times).
const PURGE_CHUNK: u32 = 10_000;
/// How often the purge runs.
const PURGE_EVERY: Duration = Duration::from_secs(3_600);

impl Conversations {
    /// Keeps a file a customer sent (its content type sniffed by the channel), within the
    /// customer's quota.
    pub async fn keep_upload(
        &self,
        entry_point: Uuid,
        customer: &str,
        content_type: &str,
        data: Vec<u8>,
    ) -> Result<Upload> {
        if data.len() > limits::UPLOAD_BYTES {
            return Err(ConversationError::Invalid(
                "body_too_large",
                format!("an upload holds at most {} bytes", limits::UPLOAD_BYTES),
            ));
        }
        let now = self.now();
        let since = now
            .saturating_sub(jiff::SignedDuration::from_hours(24))
            .unwrap_or(now);
        let (count, bytes) = self
            .store
            .upload_usage(entry_point, customer, since)
            .await?;
        if count >= limits::UPLOADS_PER_DAY
            || bytes + data.len() as u64 > limits::UPLOAD_BYTES_PER_DAY
        {
            return Err(ConversationError::Conflict(
                "upload_quota_exceeded",
                format!(
                    "a customer sends at most {} files and {} MiB in 24 hours",
                    limits::UPLOADS_PER_DAY,
                    limits::UPLOAD_BYTES_PER_DAY / 1024 / 1024
                ),
            ));
        }
        let upload = Upload {
            id: Uuid::now_v7(),
            entry_point_id: entry_point,
            customer: customer.to_owned(),
            content_type: content_type.to_owned(),
            size: data.len() as u64,
            data,
            created_at: now,
        };
        self.store.put_upload(&upload).await?;
        Ok(upload)
    }

    /// A file a customer sent.
    pub async fn upload(&self, id: Uuid) -> Result<Option<Upload>> {
        Ok(self.store.upload(id).await?)
    }

    /// A file a customer sent, for an agent: only while they hold the customer's open
    /// conversation on that entry point.
    pub async fn upload_for_agent(&self, id: Uuid, agent: Uuid) -> Result<Option<Upload>> {
        let Some(upload) = self.store.upload(id).await? else {
            return Ok(None);
        };
        let Some(open) = self
            .store
            .open_interaction(upload.entry_point_id, &upload.customer)
            .await?
        else {
            return Ok(None);
        };
        let holds = match self.distribution.get() {
            Some(d) => d
                .holder(open.id)
                .await
                .is_some_and(|(user, _)| user == agent),
            None => false,
        };
        Ok(holds.then_some(upload))
    }

    /// Removes what is older than the retention period; returns what it removed.
    pub async fn purge(&self) -> Result<Purged> {
        let Some(keep) = self.retention else {
            return Ok(Purged::default());
        };
        let now = self.now();
        let before = now.saturating_sub(keep).unwrap_or(now);
        let mut all = Purged::default();
        for _ in 0..100 {
            let p = self.store.purge(before, PURGE_CHUNK).await?;
            all.events += p.events;
            all.inbound += p.inbound;
            all.outbox += p.outbox;
            all.uploads += p.uploads;
            if p.total() == 0 {
                break;
            }
        }
        Ok(all)
    }
}

/// Runs the purge at start-up and every hour until `stop`.
pub async fn run_retention(conv: Arc<Conversations>, mut stop: watch::Receiver<bool>) {
    loop {
        match conv.purge().await {
            Ok(p) if p.total() > 0 => tracing::info!(
                events = p.events,
                inbound = p.inbound,
                outbox = p.outbox,
                uploads = p.uploads,
                "retention: removed what was older than the retention period"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "retention: the purge failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(PURGE_EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}
