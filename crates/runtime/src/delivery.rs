//! The loops that keep conversations moving: interaction timers, and the outbox dispatcher that
//! posts replies to HTTP-channel callbacks (at least once, each with its idempotency key) and
//! sends them through the providers' APIs (WhatsApp, Telegram, Messenger: at least once, a
//! provider's `Retry-After` respected, a permanent refusal given up at once and recorded).

use std::sync::Arc;

use jiff::SignedDuration;
use tokio::sync::watch;

use crate::conversations::Conversations;

/// A reply as the outbox keeps it.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct OutboxPayload {
    pub customer: String,
    pub message: flow::exec::Outbound,
    /// How an email reply goes out (email interactions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<crate::email_out::EmailReply>,
}

/// Longest sleep of the loops (so work written by another process is picked up).
const MAX_SLEEP: SignedDuration = SignedDuration::from_secs(5);
/// Attempts before a reply is given up (about a day with the backoff below).
pub const MAX_ATTEMPTS: u32 = 20;

/// Delay before attempt `n + 1` after `n` failures: 1 s, 2 s, 4 s … capped at 2 hours.
pub fn backoff(attempts: u32) -> SignedDuration {
    SignedDuration::from_secs(1i64 << attempts.min(13)).min(SignedDuration::from_hours(2))
}

/// When a delivery loop looks again, given its next due attempt: soon after `now` when one is
/// due already (a pass that could not make it), at that attempt, and at most [`MAX_SLEEP`] on.
fn next_pass(
    now: jiff::Timestamp,
    next: Result<Option<jiff::Timestamp>, store::StoreError>,
) -> jiff::Timestamp {
    let cap = now.saturating_add(MAX_SLEEP).unwrap_or(now);
    match next {
        Ok(Some(next)) if next <= now => now
            .saturating_add(SignedDuration::from_millis(200))
            .unwrap_or(now),
        Ok(Some(next)) if next < cap => next,
        _ => cap,
    }
}

/// Fires interaction timers until `shutdown`.
pub async fn run_timers(conv: Arc<Conversations>, mut shutdown: watch::Receiver<bool>) {
    let clock = conv.maker().clock();
    loop {
        if *shutdown.borrow() {
            return;
        }
        let failed = match conv.fire_due().await {
            Ok(_) => false,
            Err(e) => {
                tracing::warn!(error = %e, "interaction timers could not be fired");
                true
            }
        };
        let now = clock.now();
        let cap = now.saturating_add(MAX_SLEEP).unwrap_or(now);
        let wake = match conv.store().next_wake().await {
            Ok(Some(next)) if failed && next <= now => now
                .saturating_add(SignedDuration::from_secs(1))
                .unwrap_or(now),
            Ok(Some(next)) if next < cap => next,
            _ => cap,
        };
        tokio::select! {
            _ = clock.sleep_until(wake) => {}
            _ = conv.timers_changed() => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Makes the queued (asynchronous) web service calls until `shutdown`: at least once each,
/// retried with [`backoff`], as soon as a turn queues one.
pub async fn run_web_calls(conv: Arc<Conversations>, mut shutdown: watch::Receiver<bool>) {
    let clock = conv.maker().clock();
    loop {
        if *shutdown.borrow() {
            return;
        }
        if let Err(e) = conv.deliver_web_calls().await {
            tracing::warn!(error = %e, "the queued web service calls could not be read");
        }
        let wake = next_pass(clock.now(), conv.store().next_web_call_attempt().await);
        tokio::select! {
            _ = clock.sleep_until(wake) => {}
            _ = conv.web_calls_changed.notified() => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Posts pending replies until `shutdown`.
pub async fn run_outbox(conv: Arc<Conversations>, mut shutdown: watch::Receiver<bool>) {
    let clock = conv.maker().clock();
    crate::install_crypto();
    // callbacks go through the outbound-address policy
    let http = match conv.outbound.client(channels::http::CALLBACK_TIMEOUT) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "the HTTP client for callbacks could not start; replies are not delivered");
            return;
        }
    };
    loop {
        if *shutdown.borrow() {
            return;
        }
        // each pass sends at most one reply per customer: go on while passes deliver
        loop {
            match deliver_due(&conv, &http).await {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "the outbox could not be read");
                    break;
                }
            }
        }
        let wake = next_pass(clock.now(), conv.store().next_outbox_attempt().await);
        tokio::select! {
            _ = clock.sleep_until(wake) => {}
            _ = conv.outbox_changed() => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// One pass over the due replies; returns how many were delivered. The store hands out only
/// each customer's oldest undelivered reply, so replies to one customer keep their order
/// across their interactions (an interaction and its interaction-end run) and across retries.
async fn deliver_due(
    conv: &Conversations,
    http: &reqwest::Client,
) -> Result<usize, store::StoreError> {
    let store = conv.store();
    let due = store.pending_outbox(conv.now(), 200).await?;
    let mut delivered = 0;
    for row in due {
        let ep = match row.entry_point_id {
            Some(id) => store.entry_point(id).await?,
            None => None,
        };
        if let Some(ep) = ep.as_ref().filter(|e| e.channel.is_provider()) {
            delivered += usize::from(send_to_provider(conv, &row, ep).await?);
            continue;
        }
        if ep
            .as_ref()
            .is_some_and(|e| e.channel == flow::entry_point::Channel::Email)
        {
            delivered += usize::from(send_email_reply(conv, &row).await?);
            continue;
        }
        let Some(url) = ep.as_ref().and_then(|e| e.callback_url.clone()) else {
            store
                .record_attempt(
                    row.id,
                    row.attempts,
                    None,
                    None,
                    Some("the entry point has no callback URL".into()),
                )
                .await?;
            continue;
        };
        let payload: OutboxPayload = match serde_json::from_value(row.payload.clone()) {
            Ok(p) => p,
            Err(e) => {
                conv.store()
                    .record_attempt(
                        row.id,
                        row.attempts + 1,
                        None,
                        None,
                        Some(format!("the stored reply cannot be read: {e}")),
                    )
                    .await?;
                continue;
            }
        };
        let reply = channels::http::Callback {
            id: row.id,
            interaction_id: row.interaction_id,
            entry_point: ep.as_ref().map(|e| e.reference.as_str()),
            customer: &payload.customer,
            message: &payload.message,
        };
        let error = channels::http::send(http, &url, &reply).await.err();
        let attempts = row.attempts + 1;
        let now = conv.now();
        match error {
            None => {
                store
                    .record_attempt(row.id, attempts, Some(now), None, None)
                    .await?;
                delivered += 1;
            }
            Some(e) => {
                let next = (attempts < MAX_ATTEMPTS)
                    .then(|| now.saturating_add(backoff(attempts)).unwrap_or(now));
                if next.is_none() {
                    tracing::warn!(outbox = %row.id, "a reply was given up after {attempts} attempts: {e}");
                }
                store
                    .record_attempt(row.id, attempts, None, next, Some(e))
                    .await?;
            }
        }
    }
    Ok(delivered)
}

/// Sends one reply through its provider; whether it went.
async fn send_to_provider(
    conv: &Conversations,
    row: &store::OutboxRow,
    ep: &flow::entry_point::EntryPoint,
) -> Result<bool, store::StoreError> {
    let store = conv.store();
    let attempts = row.attempts + 1;
    let payload: OutboxPayload = match serde_json::from_value(row.payload.clone()) {
        Ok(p) => p,
        Err(e) => {
            store
                .record_attempt(
                    row.id,
                    attempts,
                    None,
                    None,
                    Some(format!("the stored reply cannot be read: {e}")),
                )
                .await?;
            return Ok(false);
        }
    };
    let now = conv.now();
    let key = row.id.to_string();
    let reply = channels::provider::Reply {
        customer: &payload.customer,
        message: &payload.message,
        key: &key,
    };
    match conv.send_to_provider(ep, reply).await {
        Ok(sent) => {
            store
                .record_attempt(row.id, attempts, Some(now), None, None)
                .await?;
            if let Some(id) = sent.provider_message_id {
                store.record_provider_id(row.id, &id).await?;
            }
            Ok(true)
        }
        Err(e) => {
            let next = (!e.permanent && attempts < MAX_ATTEMPTS).then(|| {
                let wait = e
                    .retry_after
                    .and_then(|d| SignedDuration::try_from(d).ok())
                    .map_or_else(|| backoff(attempts), |d| d.max(backoff(attempts)));
                now.saturating_add(wait).unwrap_or(now)
            });
            store
                .record_attempt(row.id, attempts, None, next, Some(e.reason.clone()))
                .await?;
            if next.is_none() {
                tracing::warn!(outbox = %row.id, reason = %e.reason, "a reply was given up");
                // the routing's history (and the agent) see why
                conv.channel_note(
                    row.interaction_id,
                    engine::ChannelNote::Delivery {
                        seq: row.seq,
                        status: "failed".into(),
                        error: Some(e.reason),
                    },
                )
                .await
                .map_err(|e| store::StoreError::Backend(e.to_string().into()))?;
            }
            Ok(false)
        }
    }
}

/// Sends one reply of an email interaction through the relay; whether it went. A relay's
/// `5xx` gives it up (recorded on the row and in the history), anything else is tried again
/// with the outbox's backoff — with the same `Message-ID`, so a copy the relay took before
/// is recognisable.
pub(crate) async fn send_email_reply(
    conv: &Conversations,
    row: &store::OutboxRow,
) -> std::result::Result<bool, store::StoreError> {
    let attempts = row.attempts + 1;
    let now = conv.now();
    let give_up = |reason: String| async move {
        conv.store
            .record_attempt(row.id, attempts, None, None, Some(reason.clone()))
            .await?;
        tracing::warn!(outbox = %row.id, %reason, "an email reply was given up");
        conv.channel_note(
            row.interaction_id,
            engine::ChannelNote::Delivery {
                seq: row.seq,
                status: "failed".into(),
                error: Some(reason),
            },
        )
        .await
        .map_err(|e| store::StoreError::Backend(e.to_string().into()))?;
        Ok::<bool, store::StoreError>(false)
    };
    let payload: OutboxPayload = match serde_json::from_value(row.payload.clone()) {
        Ok(p) => p,
        Err(e) => return give_up(format!("the stored reply cannot be read: {e}")).await,
    };
    let Some(reply) = payload.email else {
        return give_up("the interaction has no email to answer".into()).await;
    };
    let retry = |reason: String| async move {
        let next =
            (attempts < MAX_ATTEMPTS).then(|| now.saturating_add(backoff(attempts)).unwrap_or(now));
        conv.store
            .record_attempt(row.id, attempts, None, next, Some(reason))
            .await?;
        Ok::<bool, store::StoreError>(false)
    };
    let Some(relay) = conv.relay.clone() else {
        return retry("no relay is configured for outgoing email (smtp_relay)".into()).await;
    };
    let outgoing = channels::relay::Outgoing {
        from: reply.from.clone(),
        from_name: reply.from_name.clone(),
        to: vec![reply.to.clone()],
        subject: reply.subject.clone(),
        text: format!(
            "{}\n\n{}",
            crate::email_out::reply_text(&payload.message),
            reply.quoted
        ),
        message_id: reply.message_id.clone(),
        in_reply_to: reply.in_reply_to.clone(),
        references: reply.references.clone(),
        ..Default::default()
    };
    let outcomes = match channels::relay::send(&relay, &outgoing).await {
        Ok(o) => o,
        Err(reason) => return give_up(reason).await,
    };
    match outcomes.into_iter().next().map(|(_, o)| o) {
        Some(channels::relay::RecipientOutcome::Accepted) => {
            conv.store
                .record_attempt(row.id, attempts, Some(now), None, None)
                .await?;
            conv.store
                .record_provider_id(row.id, &reply.message_id)
                .await?;
            Ok(true)
        }
        Some(channels::relay::RecipientOutcome::Refused(reason)) => give_up(reason).await,
        Some(channels::relay::RecipientOutcome::Failed(reason)) => retry(reason).await,
        None => give_up("the reply has no recipient".into()).await,
    }
}
