//! The web chat: the chat page's WebSocket. A visitor's frame is `{"type": "message", "id",
//! "text", "choice", "attachments"}` (the id is the deduplication key); replies are pushed to
//! the visitor's open sockets as they are committed.

use serde::Deserialize;
use uuid::Uuid;

use crate::{Channel, ChannelError, Limits};

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

/// A visitor's frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The page's id of the message: the deduplication key.
    pub id: String,
    pub text: String,
    pub choice: Option<u32>,
    /// Uploads sent before, by id (the runtime checks they are the visitor's).
    pub attachments: Vec<Uuid>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    #[serde(rename = "type")]
    kind: String,
    id: String,
    #[serde(default)]
    text: String,
    choice: Option<u32>,
    #[serde(default)]
    attachments: Vec<Uuid>,
}

/// Reads a visitor's frame: `Err((id, problem))`, with the frame's id when it had one.
pub fn parse_frame(text: &str) -> Result<Frame, (Option<String>, ChannelError)> {
    let w: Wire = serde_json::from_str(text)
        .map_err(|e| (None, ChannelError::Invalid("invalid_frame", e.to_string())))?;
    if w.kind != "message" {
        return Err((
            Some(w.id),
            ChannelError::Invalid("invalid_frame", "the only frame type is 'message'".into()),
        ));
    }
    if w.attachments.len() > LIMITS.attachments {
        return Err((
            Some(w.id),
            ChannelError::Invalid(
                "too_many_attachments",
                format!("a message holds at most {} attachments", LIMITS.attachments),
            ),
        ));
    }
    Ok(Frame {
        id: w.id,
        text: w.text,
        choice: w.choice,
        attachments: w.attachments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_read_or_refused_with_their_id() {
        let f =
            parse_frame(r#"{"type": "message", "id": "w1", "text": "hi", "choice": 2}"#).unwrap();
        assert_eq!(
            (f.id.as_str(), f.text.as_str(), f.choice),
            ("w1", "hi", Some(2))
        );
        let (id, e) = parse_frame(r#"{"type": "typing", "id": "w2"}"#).unwrap_err();
        assert_eq!(id.as_deref(), Some("w2"));
        assert!(matches!(e, ChannelError::Invalid("invalid_frame", _)));
        assert!(parse_frame("not json").unwrap_err().0.is_none());
        let many: Vec<String> = (0..11).map(|_| format!("\"{}\"", Uuid::nil())).collect();
        let frame = format!(
            r#"{{"type": "message", "id": "w3", "attachments": [{}]}}"#,
            many.join(",")
        );
        assert!(matches!(
            parse_frame(&frame).unwrap_err().1,
            ChannelError::Invalid("too_many_attachments", _)
        ));
    }
}
