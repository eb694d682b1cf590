//! Mailboxes read over IMAP: one task per email entry point with an IMAP account, which logs
//! in (TLS unless the account says `none`), selects INBOX, hands every message above the last
//! UID handled to [`Conversations::receive_email`] in UID order, marks each handled one (the
//! `imap_handled` setting: `\Seen`, or moved to a folder) and records its UID — with the
//! folder's UIDVALIDITY — only once the message is committed, then waits with IDLE where the
//! server offers it (else polls). A message is therefore never skipped; one committed but not
//! yet recorded when the server stops is read again and recognised by its `Message-ID`. A
//! UIDVALIDITY that changed (the folder was recreated) reads the folder again from its start,
//! deduplicated the same way.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use uuid::Uuid;

use channels::email::ImapHandled;

use crate::conversations::{Conversations, ImapStatus};

/// How often the mailboxes are listed again (at once after an entry point change).
const RESCAN: Duration = Duration::from_secs(30);
/// How long one IDLE (or, without it, one poll interval) lasts before the folder is read again.
const IDLE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_secs(15);
/// Wait before logging in again after a failure.
const RETRY: Duration = Duration::from_secs(10);
/// Time for connecting, logging in and each command.
const CALL: Duration = Duration::from_secs(30);
/// Messages read per pass.
const BATCH: usize = 200;

impl Conversations {
    /// How reading the mailbox of entry point `id` goes, once its reader started.
    pub fn imap_status(&self, id: Uuid) -> Option<ImapStatus> {
        self.imap_status.lock().ok()?.get(&id).cloned()
    }

    fn note_imap(&self, id: Uuid, change: impl FnOnce(&mut ImapStatus, jiff::Timestamp)) {
        let now = self.now();
        if let Ok(mut all) = self.imap_status.lock() {
            let status = all.entry(id).or_insert(ImapStatus {
                reading: false,
                error: None,
                since: now,
                last_message_at: None,
            });
            change(status, now);
        }
    }
}

/// Keeps one reader per mailbox with an IMAP account until `stop`.
pub async fn run(conv: Arc<Conversations>, mut stop: watch::Receiver<bool>) {
    crate::install_crypto();
    let mut readers: HashMap<Uuid, (u64, watch::Sender<bool>)> = HashMap::new();
    loop {
        if *stop.borrow() {
            break;
        }
        match mailboxes(&conv).await {
            Ok(list) => {
                readers.retain(|id, (revision, _)| {
                    list.iter()
                        .any(|(ep, _)| ep.id == *id && ep.revision == *revision)
                });
                if let Ok(mut all) = conv.imap_status.lock() {
                    all.retain(|id, _| list.iter().any(|(ep, _)| ep.id == *id));
                }
                for (ep, account) in list {
                    if readers.contains_key(&ep.id) {
                        continue;
                    }
                    let (tx, rx) = watch::channel(false);
                    readers.insert(ep.id, (ep.revision, tx));
                    tokio::spawn(read(conv.clone(), ep, account, rx));
                }
            }
            Err(e) => tracing::warn!(error = %e, "the IMAP mailboxes could not be listed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(RESCAN) => {}
            _ = conv.entry_points_changed.notified() => {}
            _ = stop.changed() => {}
        }
    }
    for (_, (_, tx)) in readers {
        let _ = tx.send(true);
    }
}

async fn mailboxes(
    conv: &Conversations,
) -> crate::error::Result<Vec<(flow::entry_point::EntryPoint, channels::email::ImapAccount)>> {
    let mut out = Vec::new();
    let mut page = store::PageRequest {
        limit: 500,
        after: None,
    };
    loop {
        let got = conv.store().entry_points(&page).await?;
        for ep in got.items {
            if let Some(account) = conv.imap_account(&ep) {
                out.push((ep, account));
            }
        }
        match got.next_after {
            Some(a) => page.after = Some(a),
            None => return Ok(out),
        }
    }
}

/// Reads one mailbox until its entry point changes or the server stops.
async fn read(
    conv: Arc<Conversations>,
    ep: flow::entry_point::EntryPoint,
    account: channels::email::ImapAccount,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let outcome = tokio::select! {
            r = session(&conv, &ep, &account, stop.clone()) => r,
            _ = stop.changed() => return,
        };
        if let Err(e) = &outcome {
            conv.note_imap(ep.id, |s, now| {
                if s.reading || s.error.as_deref() != Some(e.as_str()) {
                    s.since = now;
                }
                s.reading = false;
                s.error = Some(e.clone());
            });
        }
        if let Err(e) = outcome {
            tracing::warn!(entry_point = %ep.reference, host = %account.host, error = %e, "the IMAP mailbox could not be read; trying again");
        }
        if *stop.borrow() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(RETRY) => {}
            _ = stop.changed() => return,
        }
    }
}

async fn session(
    conv: &Conversations,
    ep: &flow::entry_point::EntryPoint,
    account: &channels::email::ImapAccount,
    stop: watch::Receiver<bool>,
) -> Result<(), String> {
    // the one outbound-address policy: internal addresses only where `outbound_allow` says so,
    // checked on the resolved addresses, and the connection made to one of those
    let addresses: Vec<std::net::SocketAddr> = tokio::time::timeout(
        CALL,
        tokio::net::lookup_host((account.host.as_str(), account.port)),
    )
    .await
    .map_err(|_| "resolving imap_host timed out".to_owned())?
    .map_err(|e| format!("resolving imap_host: {e}"))?
    .filter(|a| conv.outbound.allows(a.ip()))
    .collect();
    if addresses.is_empty() {
        return Err(
            "imap_host resolves to no address the outbound policy allows (outbound_allow)".into(),
        );
    }
    let tcp = tokio::time::timeout(CALL, tokio::net::TcpStream::connect(&addresses[..]))
        .await
        .map_err(|_| "connecting timed out".to_owned())?
        .map_err(|e| format!("connecting: {e}"))?;
    if account.tls {
        let name = rustls::pki_types::ServerName::try_from(account.host.clone())
            .map_err(|e| format!("imap_host: {e}"))?;
        let tls = tokio_rustls::TlsConnector::from(conv.mail_tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        mailbox(conv, ep, account, async_imap::Client::new(tls), stop).await
    } else {
        mailbox(conv, ep, account, async_imap::Client::new(tcp), stop).await
    }
}

async fn mailbox<T>(
    conv: &Conversations,
    ep: &flow::entry_point::EntryPoint,
    account: &channels::email::ImapAccount,
    mut client: async_imap::Client<T>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), String>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug,
{
    let call = |what: &'static str| move |e: async_imap::error::Error| format!("{what}: {e}");
    tokio::time::timeout(CALL, client.read_response())
        .await
        .map_err(|_| "no greeting".to_owned())?
        .map_err(|e| format!("greeting: {e}"))?;
    let mut session =
        tokio::time::timeout(CALL, client.login(&account.username, &account.password))
            .await
            .map_err(|_| "logging in timed out".to_owned())?
            .map_err(|(e, _)| format!("logging in: {e}"))?;
    let idle = session
        .capabilities()
        .await
        .map_err(call("CAPABILITY"))?
        .has_str("IDLE");
    conv.note_imap(ep.id, |s, now| {
        if !s.reading {
            s.since = now;
        }
        s.reading = true;
        s.error = None;
    });
    loop {
        let folder = session.select("INBOX").await.map_err(call("SELECT"))?;
        let validity = folder.uid_validity.unwrap_or(0);
        let last = match conv
            .store()
            .imap_state(ep.id)
            .await
            .map_err(|e| e.to_string())?
        {
            Some((v, uid)) if v == validity => uid,
            // a new folder (or one recreated): read it from its start
            _ => 0,
        };
        let mut uids: Vec<u32> = session
            .uid_search(format!("UID {}:*", last.saturating_add(1)))
            .await
            .map_err(call("UID SEARCH"))?
            .into_iter()
            .filter(|u| *u > last)
            .collect();
        uids.sort_unstable();
        uids.truncate(BATCH);
        let more = uids.len() == BATCH;
        for uid in uids {
            let raw = {
                let mut fetched = session
                    .uid_fetch(uid.to_string(), "(UID BODY.PEEK[])")
                    .await
                    .map_err(call("UID FETCH"))?;
                let mut raw = None;
                while let Some(f) = fetched.next().await {
                    let f = f.map_err(call("UID FETCH"))?;
                    if f.uid == Some(uid) {
                        raw = f.body().map(<[u8]>::to_vec);
                    }
                }
                raw
            };
            if let Some(raw) = raw {
                match conv
                    .receive_email(ep, &raw, channels::email::Envelope::default())
                    .await
                {
                    Ok(_) => conv.note_imap(ep.id, |s, now| s.last_message_at = Some(now)),
                    Err(crate::error::ConversationError::Invalid(code, message)) => {
                        // a message that can never be read is passed over (logged), not retried for ever
                        tracing::warn!(entry_point = %ep.reference, uid, code, %message, "an IMAP message was refused");
                    }
                    Err(e) => return Err(format!("the message could not be recorded: {e}")),
                }
                match &conv.imap_handled {
                    ImapHandled::Seen => {
                        let mut done = session
                            .uid_store(uid.to_string(), "+FLAGS (\\Seen)")
                            .await
                            .map_err(call("UID STORE"))?;
                        while let Some(r) = done.next().await {
                            r.map_err(call("UID STORE"))?;
                        }
                    }
                    ImapHandled::Move(folder) => {
                        session
                            .uid_mv(uid.to_string(), format!("\"{folder}\""))
                            .await
                            .map_err(call("UID MOVE"))?;
                    }
                }
            }
            conv.store()
                .set_imap_state(ep.id, validity, uid, conv.now())
                .await
                .map_err(|e| e.to_string())?;
        }
        if *stop.borrow() {
            let _ = session.logout().await;
            return Ok(());
        }
        if more {
            continue;
        }
        if idle {
            let mut handle = session.idle();
            handle.init().await.map_err(call("IDLE"))?;
            let (wait, interrupt) = handle.wait_with_timeout(IDLE);
            tokio::select! {
                r = wait => { r.map_err(call("IDLE"))?; }
                _ = stop.changed() => { drop(interrupt); }
            }
            session = handle.done().await.map_err(call("DONE"))?;
        } else {
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = stop.changed() => {}
            }
        }
        if *stop.borrow() {
            let _ = session.logout().await;
            return Ok(());
        }
    }
}
