//! The web chat: the chat page's WebSocket. A visitor's frame is `{"type": "message", "id",
//! "text", "choice", "attachments"}` (the id is the deduplication key); replies are pushed to
//! the visitor's open sockets as they are committed.

use crate::{Channel, Limits};

/// The web chat.
pub struct WebChat;

/// What it carries (a frame is at most 64 KiB).
pub const LIMITS: Limits = Limits {
    message_id: 200,
    // the page's visitor id: 1 to 64 letters, digits, '-' or '_'
    address: 64,
    text_chars: 10_000,
    buttons: 10,
    button_chars: 200,
    attachments: 10,
};

impl Channel for WebChat {
    fn kind(&self) -> flow::entry_point::Channel {
        flow::entry_point::Channel::WebChat
    }
    fn limits(&self) -> Limits {
        LIMITS
    }
}
