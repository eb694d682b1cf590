//! The group-commit writer: turns go to one task, which writes whatever is waiting (up to
//! [`BATCH`] turns) in one transaction.

use std::sync::Arc;

use store::{InteractionStore, TurnOutcome, TurnWrite};
use tokio::sync::{mpsc, oneshot};

/// Most turns written in one transaction.
pub const BATCH: usize = 256;

pub(crate) struct Pending {
    pub turn: TurnWrite,
    pub reply: oneshot::Sender<std::result::Result<TurnOutcome, String>>,
}

/// Writes turns in groups: whatever is waiting when a transaction starts goes into it.
pub(crate) async fn writer(store: Arc<dyn InteractionStore>, mut rx: mpsc::Receiver<Pending>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let (turns, replies): (Vec<_>, Vec<_>) =
            batch.into_iter().map(|p| (p.turn, p.reply)).unzip();
        match store.commit_turns(turns).await {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "a group of turns could not be committed");
                for reply in replies {
                    let _ = reply.send(Err(e.to_string()));
                }
            }
        }
    }
}
