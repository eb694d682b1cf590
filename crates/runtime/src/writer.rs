//! The group-commit writer: turns go to one task, which writes whatever is waiting (up to
//! [`BATCH`] turns) in one transaction — with the distribution's rows queued since the last
//! transaction written first, in the order the distribution changed them. The distribution
//! therefore never holds its lock across a disk write, and its rows are never written later
//! than a turn that depends on them.

use std::sync::Arc;

use store::{AcdWrite, InteractionStore, TurnOutcome, TurnWrite};
use tokio::sync::{mpsc, oneshot};

/// Most turns written in one transaction.
pub const BATCH: usize = 256;

pub(crate) enum Pending {
    /// A turn to write; answered with its outcome.
    Turn {
        turn: Box<TurnWrite>,
        reply: oneshot::Sender<std::result::Result<TurnOutcome, String>>,
    },
    /// Answered once everything queued before it is written.
    Flush {
        reply: oneshot::Sender<std::result::Result<(), String>>,
    },
}

/// The distribution's rows waiting for the next transaction, oldest first.
#[derive(Default)]
pub(crate) struct AcdQueue(std::sync::Mutex<Vec<AcdWrite>>);

impl AcdQueue {
    pub(crate) fn push(&self, write: AcdWrite) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(write);
    }

    fn take(&self) -> Vec<AcdWrite> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Puts rows that could not be written back in front of the newer ones.
    fn put_back(&self, mut writes: Vec<AcdWrite>) {
        let mut q = self.0.lock().unwrap_or_else(|p| p.into_inner());
        writes.append(&mut q);
        *q = writes;
    }
}

/// A handle to the writer: what the distribution needs to have its rows written.
#[derive(Clone)]
pub(crate) struct WriterHandle {
    pub tx: mpsc::Sender<Pending>,
    pub acd: Arc<AcdQueue>,
}

impl WriterHandle {
    /// Resolves once everything queued so far is on disk.
    pub(crate) async fn flush(&self) -> std::result::Result<(), String> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Pending::Flush { reply })
            .await
            .map_err(|_| "the writer stopped".to_owned())?;
        rx.await.map_err(|_| "the writer stopped".to_owned())?
    }
}

/// Writes turns in groups: whatever is waiting when a transaction starts goes into it.
pub(crate) async fn writer(
    store: Arc<dyn InteractionStore>,
    acd: Arc<AcdQueue>,
    mut rx: mpsc::Receiver<Pending>,
) {
    while let Some(first) = rx.recv().await {
        let mut turns = Vec::new();
        let mut replies = Vec::new();
        let mut flushes = Vec::new();
        let mut next = Some(first);
        while let Some(p) = next.take() {
            match p {
                Pending::Turn { turn, reply } => {
                    turns.push(*turn);
                    replies.push(reply);
                }
                Pending::Flush { reply } => flushes.push(reply),
            }
            if turns.len() < BATCH {
                next = rx.try_recv().ok();
            }
        }
        let rows = acd.take();
        if turns.is_empty() && rows.is_empty() {
            for f in flushes {
                let _ = f.send(Ok(()));
            }
            continue;
        }
        match store.commit_batch(&rows, turns).await {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
                for f in flushes {
                    let _ = f.send(Ok(()));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "a group of turns could not be committed");
                acd.put_back(rows);
                for reply in replies {
                    let _ = reply.send(Err(e.to_string()));
                }
                for f in flushes {
                    let _ = f.send(Err(e.to_string()));
                }
            }
        }
    }
}
