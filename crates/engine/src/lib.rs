//! The interaction state machine. [`handle`] takes an interaction's [`State`], one [`Input`]
//! (the start, a customer message, a fired timer, a close request), `now` and a [`World`] (the
//! programs and business objects it may read), and returns a [`Turn`]: the messages to send,
//! the events to record and the next wake time. Time and randomness are inputs; the same
//! inputs give the same outputs. No IO.

mod machine;
mod memory;
mod program;
mod stored;
pub mod testing;

pub use machine::*;
pub use memory::MemoryWorld;
pub use program::{Node, Owner, Program};
pub use stored::{STATE_FORMAT, StateError, load_state, save_state};
