//! The shell around the pure core: the [`Maker`] service that loads from the store, applies
//! `flow`'s rules and commits atomically; the [`Clock`]; and the scheduled-production timer.
//! No business rule lives here: every decision is a call into `flow`.

pub mod clock;
pub mod maker;
pub mod scheduler;

pub use clock::{Clock, ManualClock, SystemClock};
pub use maker::{Maker, MakerError};
