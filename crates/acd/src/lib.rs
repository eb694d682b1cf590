//! Automatic call distribution, pure: who gets which interaction.
//!
//! [`Acd`] holds users (presence, capacity, load, last message to a customer), groups (members
//! in a fixed order, algorithm, limits, rotation position, recent handling times) and the
//! interactions it distributes (waiting in a group's queue or for one user, offered, assigned).
//! Every operation takes `now` (and the random generator lives in the state), changes the state
//! and returns [`Event`]s; [`Acd::next_wake`] says when [`Acd::tick`] must run next. Nothing
//! here does IO: the runtime persists what [`Acd::take_dirty`] names and performs the events.

mod model;
mod owner;
mod pick;
mod state;

pub use model::*;
pub use owner::{CustomerRouting, GroupRule, OwnerOffline, Routed, route_customer};
pub use state::{Acd, Dirty, Entry, EntryStatus, Event, Outcome, Refusal, Target};
