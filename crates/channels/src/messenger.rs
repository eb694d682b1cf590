//! Messenger (a Facebook page): webhooks of `page` objects, replies through
//! `POST /me/messages` with the page's token. A customer is their page-scoped id (PSID); a reply
//! with choices carries quick replies (up to 13, titles ≤ 20 characters), else numbered text.

use serde::Deserialize;
use serde_json::json;

use crate::provider::{
    DeliveryStatus, Media, SendError, Sent, WebhookEvent, choice_of, json as read,
};
use crate::{Channel, ChannelError, Limits, Received};
use flow::exec::{Inbound, Outbound};

/// The Messenger channel.
pub struct Messenger;

/// What it carries.
pub const LIMITS: Limits = Limits {
    message_id: 200,
    address: 32,
    text_chars: 2_000,
    buttons: 13,
    button_chars: 20,
    attachments: 10,
};

impl Channel for Messenger {
    fn kind(&self) -> flow::entry_point::Channel {
        flow::entry_point::Channel::Messenger
    }
    fn limits(&self) -> Limits {
        LIMITS
    }
}

#[derive(Deserialize)]
struct Webhook {
    object: String,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    id: String,
    #[serde(default)]
    messaging: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct Party {
    #[serde(default)]
    id: String,
}

#[derive(Deserialize)]
struct Messaging {
    #[serde(default)]
    sender: Option<Party>,
    #[serde(default)]
    recipient: Option<Party>,
    #[serde(default)]
    message: Option<Message>,
    #[serde(default)]
    postback: Option<Postback>,
    #[serde(default)]
    delivery: Option<Delivery>,
    #[serde(default)]
    read: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    reaction: Option<Reaction>,
}

#[derive(Deserialize)]
struct Message {
    mid: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    is_echo: bool,
    #[serde(default)]
    quick_reply: Option<QuickReply>,
    #[serde(default)]
    attachments: Vec<Attachment>,
}

#[derive(Deserialize)]
struct QuickReply {
    #[serde(default)]
    payload: String,
}

#[derive(Deserialize)]
struct Attachment {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    payload: Option<AttachmentPayload>,
}

#[derive(Deserialize)]
struct AttachmentPayload {
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize)]
struct Postback {
    #[serde(default)]
    mid: Option<String>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    payload: String,
}

#[derive(Deserialize)]
struct Delivery {
    #[serde(default)]
    mids: Vec<String>,
}

#[derive(Deserialize)]
struct Reaction {
    #[serde(default)]
    action: String,
    #[serde(default)]
    emoji: String,
}

/// Reads a webhook for the page `page_id`: every entry and messaging event.
pub fn parse(body: &[u8], page_id: &str) -> Result<Vec<WebhookEvent>, ChannelError> {
    let hook: Webhook = read(body)?;
    if hook.object != "page" {
        return Ok(vec![WebhookEvent::Ignored {
            why: format!("an object '{}', not page", hook.object),
        }]);
    }
    let mut out = Vec::new();
    for entry in hook.entry {
        if entry.id != page_id {
            out.push(WebhookEvent::Ignored {
                why: format!("for the page {}, not this entry point's", entry.id),
            });
            continue;
        }
        for m in &entry.messaging {
            match Messaging::deserialize(m) {
                // a delivery names every message it delivered
                Ok(Messaging {
                    delivery: Some(d), ..
                }) if !d.mids.is_empty() => {
                    out.extend(d.mids.into_iter().map(|id| WebhookEvent::Status {
                        provider_message_id: id,
                        status: DeliveryStatus::Delivered,
                    }));
                }
                Ok(m) => out.push(event(m, page_id)),
                Err(e) => out.push(WebhookEvent::Ignored {
                    why: format!("a messaging event that is not read: {e}"),
                }),
            }
        }
    }
    Ok(out)
}

fn event(m: Messaging, page_id: &str) -> WebhookEvent {
    let customer = m.sender.as_ref().map(|p| p.id.clone()).unwrap_or_default();
    if let Some(msg) = m.message {
        // our own replies come back as echoes (sent by the page)
        if msg.is_echo || customer == page_id {
            return WebhookEvent::Ignored {
                why: "an echo of the page's own message".into(),
            };
        }
        if m.recipient.is_some_and(|r| r.id != page_id) {
            return WebhookEvent::Ignored {
                why: "a message to another page".into(),
            };
        }
        let media = msg
            .attachments
            .iter()
            .filter(|a| matches!(a.kind.as_str(), "image" | "video" | "audio" | "file"))
            .filter_map(|a| a.payload.as_ref()?.url.clone())
            .map(|url| Media::Url { url })
            .collect();
        return WebhookEvent::Message {
            received: Received {
                profile_name: None,
                message_id: msg.mid,
                customer,
                message: Inbound {
                    choice: msg.quick_reply.as_ref().and_then(|q| choice_of(&q.payload)),
                    text: msg.text,
                    attachments: Vec::new(),
                    email: None,
                },
            },
            name: None,
            media,
        };
    }
    if let Some(p) = m.postback {
        let Some(mid) = p.mid.filter(|m| !m.is_empty()) else {
            return WebhookEvent::Ignored {
                why: "a postback without a message id".into(),
            };
        };
        return WebhookEvent::Message {
            received: Received {
                profile_name: None,
                message_id: mid,
                customer,
                message: Inbound {
                    choice: choice_of(&p.payload),
                    text: p.title,
                    attachments: Vec::new(),
                    email: None,
                },
            },
            name: None,
            media: Vec::new(),
        };
    }
    if m.delivery.is_some() {
        return WebhookEvent::Ignored {
            why: "a delivery without message ids".into(),
        };
    }
    if m.read.is_some() {
        return WebhookEvent::Noted {
            customer,
            what: "read the conversation".into(),
        };
    }
    if let Some(r) = m.reaction {
        return WebhookEvent::Noted {
            customer,
            what: format!(
                "{} {}",
                if r.action == "unreact" {
                    "took back the reaction"
                } else {
                    "reacted"
                },
                r.emoji
            ),
        };
    }
    WebhookEvent::Ignored {
        why: "a messaging event that is not read".into(),
    }
}

/// The request body of a reply.
pub fn body(customer: &str, message: &Outbound) -> serde_json::Value {
    let message = match message {
        Outbound::Text { text } => json!({"text": text}),
        Outbound::Choice { text, choices } => json!({
            "text": text,
            "quick_replies": choices.iter().enumerate().map(|(k, c)| json!({"content_type": "text", "title": c, "payload": (k + 1).to_string()})).collect::<Vec<_>>(),
        }),
    };
    json!({"recipient": {"id": customer}, "messaging_type": "RESPONSE", "message": message})
}

/// Marks the conversation seen by the page (best effort).
pub async fn mark_seen(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    customer: &str,
) -> Result<(), SendError> {
    let url = format!("{}/me/messages", base.trim_end_matches('/'));
    let body = json!({"recipient": {"id": customer}, "sender_action": "mark_seen"});
    crate::provider::post_json(client.post(url).bearer_auth(token), &body)
        .await
        .map(|_| ())
        .map_err(|(_, _, e)| e)
}

#[derive(Deserialize)]
struct SendAnswer {
    #[serde(default)]
    message_id: Option<String>,
}

/// Sends a reply with the page's token.
pub async fn send(
    client: &crate::provider::Keyed<'_>,
    base: &str,
    token: &str,
    customer: &str,
    message: &Outbound,
) -> Result<Sent, SendError> {
    let url = format!("{}/me/messages", base.trim_end_matches('/'));
    match crate::provider::post_json(
        client.post(url).bearer_auth(token),
        &body(customer, message),
    )
    .await
    {
        Ok(answer) => Ok(Sent {
            provider_message_id: serde_json::from_value::<SendAnswer>(answer)
                .ok()
                .and_then(|a| a.message_id),
        }),
        Err((_, answer, mut e)) => {
            let g: crate::meta::GraphError = serde_json::from_value(answer).unwrap_or_default();
            if matches!(g.error.code, 4 | 613) || g.error.error_subcode == Some(2_018_278) {
                e.permanent = false;
                e.reason = format!(
                    "rate-limited by Messenger: {} ({})",
                    g.error.message, g.error.code
                );
            } else if g.error.code == 10 && g.error.error_subcode == Some(2_018_278) {
                e.permanent = true;
            } else if !g.error.message.is_empty() {
                e.reason = format!("{}: {} ({})", e.reason, g.error.message, g.error.code);
            }
            Err(e)
        }
    }
}
