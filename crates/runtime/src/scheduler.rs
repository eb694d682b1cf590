//! The scheduled-production timer. Planned productions are rows (`versions.scheduled_at`), so
//! they survive restarts: at start-up every production that fell due while the server was down
//! fires at once, then the timer sleeps until the next one (or until a plan changes).

use std::sync::Arc;

use jiff::SignedDuration;
use tokio::sync::watch;

use crate::maker::Maker;

/// Longest sleep between two looks at the store, so that plans written by another process
/// (the CLI's `import`) are picked up too.
const MAX_SLEEP: SignedDuration = SignedDuration::from_secs(30);

/// Pause before trying again a planned production that could not be carried out.
const RETRY_AFTER: SignedDuration = SignedDuration::from_secs(1);

/// Runs until `shutdown` turns true.
pub async fn run(maker: Arc<Maker>, mut shutdown: watch::Receiver<bool>) {
    let clock = maker.clock();
    loop {
        if *shutdown.borrow() {
            return;
        }
        if let Err(e) = maker.fire_due().await {
            tracing::warn!(error = %e, "scheduled productions could not be checked");
        }
        let now = clock.now();
        let cap = now.saturating_add(MAX_SLEEP).unwrap_or(now);
        let backoff = now.saturating_add(RETRY_AFTER).unwrap_or(now);
        let wake = match maker.next_schedule().await {
            // still due after a pass: it failed (the store, or a conflict that outlived the
            // retries); try again a little later instead of spinning
            Ok(Some(next)) if next <= now => backoff,
            Ok(Some(next)) if next < cap => next,
            Ok(_) => cap,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the next planned production");
                backoff
            }
        };
        tokio::select! {
            _ = clock.sleep_until(wake) => {}
            _ = maker.schedule_changed() => {}
            _ = shutdown.changed() => {}
        }
    }
}
