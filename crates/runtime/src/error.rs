//! Why a conversation input was not taken.

use crate::maker::MakerError;

/// Why a conversation input was not taken.
#[derive(Debug, thiserror::Error)]
pub enum ConversationError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{1}")]
    Invalid(&'static str, String),
    /// The request cannot be done in the current state (no open offer, not held by you…).
    #[error("{1}")]
    Conflict(&'static str, String),
    #[error("the message could not be recorded; send it again")]
    NotRecorded(String),
    #[error(transparent)]
    Maker(#[from] MakerError),
}

impl From<store::StoreError> for ConversationError {
    fn from(e: store::StoreError) -> Self {
        ConversationError::Maker(MakerError::Store(e))
    }
}

pub(crate) type Result<T> = std::result::Result<T, ConversationError>;

impl ConversationError {
    /// A guarded write found the record changed meanwhile: 412, its revision being past
    /// `read` (the one the change was made from).
    pub(crate) fn stale_after(self, read: u64) -> ConversationError {
        match self {
            ConversationError::Maker(MakerError::Store(store::StoreError::Conflict)) => {
                MakerError::PreconditionFailed { current: read + 1 }.into()
            }
            other => other,
        }
    }
}
