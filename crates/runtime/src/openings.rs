//! Interactions being opened: known by the key of their lock until their first turn is written.

use std::sync::Arc;

use uuid::Uuid;

/// Interactions whose first turn is not committed yet, with the key of their lock: input for
/// one of them (an agent answering an offer made during that turn) waits for the lock and then
/// finds the row.
#[derive(Default)]
pub(crate) struct Openings(std::sync::Mutex<std::collections::HashMap<Uuid, String>>);

impl Openings {
    /// Notes that interaction `id` is being opened under the lock `key`, until the guard drops.
    pub(crate) fn open(openings: &Arc<Openings>, id: Uuid, key: String) -> OpeningGuard {
        openings
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, key);
        OpeningGuard {
            openings: openings.clone(),
            id,
        }
    }

    pub(crate) fn key(&self, id: Uuid) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned()
    }
}

/// Forgets an opening interaction when its first turn is committed or abandoned.
pub(crate) struct OpeningGuard {
    openings: Arc<Openings>,
    pub(crate) id: Uuid,
}

impl Drop for OpeningGuard {
    fn drop(&mut self) {
        self.openings
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
    }
}
