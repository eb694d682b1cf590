//! The shell around the pure core: the [`Maker`] service that loads from the store, applies
//! `flow`'s rules and commits atomically; the [`Clock`]; and the scheduled-production timer.
//! No business rule lives here: every decision is a call into `flow`.

pub mod access;
pub mod agents;
pub mod campaigns;
pub mod cases;
pub mod clock;
pub mod conversations;
pub mod crm;
pub mod customers;
pub mod databases;
pub mod delivery;
pub mod distribution;
pub mod email;
pub mod email_out;
mod email_send;
pub mod entry_points;
mod error;
pub mod files;
pub mod imap;
mod inbound;
pub mod invoices;
pub mod maker;
pub mod objects;
mod openings;
pub mod outbound;
pub mod payments;
pub mod programs;
pub mod providers;
mod quarantine;
pub mod retention;
mod salesforce;
pub mod scheduler;
pub mod secrets;
pub mod service;
mod sms;
pub mod surveys;
pub mod tasks;
mod timers;
mod turn;
pub mod web_service;
mod writer;

pub use clock::{Clock, ManualClock, SystemClock};
pub use conversations::{ConversationError, Conversations, InboundMessage, Receipt};
pub use inbound::{InteractionDetail, StateValues};
pub use maker::{Maker, MakerError};
pub use service::{Background, ServiceSettings, Services};

/// Installs the process's one TLS crypto provider (ring). Call it before making HTTP clients;
/// calling it again is harmless.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
