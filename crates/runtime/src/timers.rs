//! Interaction timers: the engine's own deadlines and the inactivity deadline, fired once due.

use crate::conversations::Conversations;
use crate::error::Result;
use crate::turn::{ById, Target};

impl Conversations {
    /// Fires the timers that are due; returns how many.
    pub async fn fire_due(&self) -> Result<usize> {
        let now = self.now();
        let due = self.store.due_interactions(now, 500).await?;
        let mut fired = 0;
        for id in due {
            let input = ById::Timer(now);
            if self
                .transition(Target::Interaction { id, input })
                .await?
                .is_some()
            {
                fired += 1;
            }
        }
        Ok(fired)
    }
}
