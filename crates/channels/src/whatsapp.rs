//! WhatsApp (the Cloud API): webhooks of `whatsapp_business_account` objects, replies through
//! `POST /{phone_number_id}/messages`. A customer is their `wa_id`; a reply with choices is up
//! to 3 reply buttons (titles ≤ 20 characters), else a list (up to 10 rows, titles ≤ 24),
//! else numbered text.

use serde::Deserialize;
use serde_json::json;

use crate::provider::{
    DeliveryStatus, Media, SendError, Sent, WebhookEvent, choice_of, json as read,
};
use crate::{Channel, ChannelError, Limits, Received};
use flow::exec::{Inbound, Outbound};

/// The WhatsApp channel.
pub struct WhatsApp;

/// What it carries: 4 096 characters of text, up to 10 choices (a list) of 24 characters.
pub const LIMITS: Limits = Limits {
    message_id: 200,
    address: 32,
    text_chars: 4_096,
    buttons: 10,
    button_chars: 24,
    attachments: 10,
};

/// Reply buttons: at most this many, titles of at most this many characters.
pub const REPLY_BUTTONS: usize = 3;
pub const REPLY_BUTTON_CHARS: usize = 20;
/// The body of an interactive message.
pub const INTERACTIVE_BODY_CHARS: usize = 1_024;

impl Channel for WhatsApp {
    fn kind(&self) -> flow::entry_point::Channel {
        flow::entry_point::Channel::WhatsApp
    }
    fn limits(&self) -> Limits {
        LIMITS
    }
    fn render(&self, message: &Outbound) -> Vec<Outbound> {
        // an interactive message's body is shorter than a text's: the text before goes first
        let mut out = Vec::new();
        for m in crate::fit(&LIMITS, message) {
            match m {
                Outbound::Choice { text, choices } => {
                    let mut parts = crate::split(&text, INTERACTIVE_BODY_CHARS);
                    let last = parts.pop().unwrap_or_default();
                    out.extend(parts.into_iter().map(|text| Outbound::Text { text }));
                    out.push(Outbound::Choice {
                        text: last,
                        choices,
                    });
                }
                other => out.push(other),
            }
        }
        out
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
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default)]
    field: String,
    value: Value,
}

#[derive(Deserialize)]
struct Value {
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    contacts: Vec<Contact>,
    // read one by one: one the parser does not know is skipped, not the whole webhook
    #[serde(default)]
    messages: Vec<serde_json::Value>,
    #[serde(default)]
    statuses: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    phone_number_id: String,
}

#[derive(Deserialize)]
struct Contact {
    #[serde(default)]
    wa_id: String,
    #[serde(default)]
    profile: Option<Profile>,
}

#[derive(Deserialize)]
struct Profile {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct Message {
    from: String,
    id: String,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    text: Option<Text>,
    #[serde(default)]
    interactive: Option<Interactive>,
    #[serde(default)]
    button: Option<TemplateButton>,
    #[serde(default)]
    image: Option<MediaObject>,
    #[serde(default)]
    document: Option<MediaObject>,
    #[serde(default)]
    audio: Option<MediaObject>,
    #[serde(default)]
    video: Option<MediaObject>,
    #[serde(default)]
    sticker: Option<MediaObject>,
    #[serde(default)]
    reaction: Option<Reaction>,
}

#[derive(Deserialize)]
struct Text {
    #[serde(default)]
    body: String,
}

#[derive(Deserialize)]
struct Interactive {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    button_reply: Option<Reply>,
    #[serde(default)]
    list_reply: Option<Reply>,
}

#[derive(Deserialize)]
struct Reply {
    #[serde(default)]
    id: String,
    #[serde(default)]
    title: String,
}

#[derive(Deserialize)]
struct TemplateButton {
    #[serde(default)]
    text: String,
}

#[derive(Deserialize)]
struct MediaObject {
    id: String,
    #[serde(default)]
    caption: Option<String>,
}

#[derive(Deserialize)]
struct Reaction {
    #[serde(default)]
    emoji: String,
}

#[derive(Deserialize)]
struct Status {
    id: String,
    status: String,
    #[serde(default)]
    errors: Vec<StatusError>,
}

#[derive(Deserialize)]
struct StatusError {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    title: String,
    #[serde(default)]
    message: String,
}

/// Reads a webhook for the phone number `phone_number_id`: every entry, change, message and
/// status.
pub fn parse(body: &[u8], phone_number_id: &str) -> Result<Vec<WebhookEvent>, ChannelError> {
    let hook: Webhook = read(body)?;
    if hook.object != "whatsapp_business_account" {
        return Ok(vec![WebhookEvent::Ignored {
            why: format!("an object '{}', not whatsapp_business_account", hook.object),
        }]);
    }
    let mut out = Vec::new();
    for change in hook.entry.into_iter().flat_map(|e| e.changes) {
        if change.field != "messages" {
            out.push(WebhookEvent::Ignored {
                why: format!("a change of '{}'", change.field),
            });
            continue;
        }
        let v = change.value;
        let number = v.metadata.as_ref().map(|m| m.phone_number_id.as_str());
        if number != Some(phone_number_id) {
            out.push(WebhookEvent::Ignored {
                why: format!(
                    "for the phone number id {}, not this entry point's",
                    number.unwrap_or("(none)")
                ),
            });
            continue;
        }
        let name_of = |wa_id: &str| {
            v.contacts
                .iter()
                .find(|c| c.wa_id == wa_id)
                .and_then(|c| c.profile.as_ref())
                .map(|p| p.name.clone())
                .filter(|n| !n.is_empty())
        };
        for m in &v.messages {
            match Message::deserialize(m) {
                Ok(m) => out.push(message_event(&m, name_of(&m.from))),
                Err(e) => out.push(WebhookEvent::Ignored {
                    why: format!("a message that is not read: {e}"),
                }),
            }
        }
        for s in &v.statuses {
            let s = match Status::deserialize(s) {
                Ok(s) => s,
                Err(e) => {
                    out.push(WebhookEvent::Ignored {
                        why: format!("a status that is not read: {e}"),
                    });
                    continue;
                }
            };
            let status = match s.status.as_str() {
                "sent" => DeliveryStatus::Sent,
                "delivered" => DeliveryStatus::Delivered,
                "read" => DeliveryStatus::Read,
                "failed" => DeliveryStatus::Failed {
                    error: s
                        .errors
                        .first()
                        .map(|e| {
                            let detail = if e.message.is_empty() {
                                &e.title
                            } else {
                                &e.message
                            };
                            format!("{} ({})", detail, e.code)
                        })
                        .unwrap_or_else(|| "failed".into()),
                },
                other => {
                    out.push(WebhookEvent::Ignored {
                        why: format!("a status '{other}'"),
                    });
                    continue;
                }
            };
            out.push(WebhookEvent::Status {
                provider_message_id: s.id,
                status,
            });
        }
    }
    Ok(out)
}

fn message_event(m: &Message, name: Option<String>) -> WebhookEvent {
    let mut inbound = Inbound::default();
    let mut media = Vec::new();
    match m.kind.as_str() {
        "text" => inbound.text = m.text.as_ref().map(|t| t.body.clone()).unwrap_or_default(),
        "interactive" => {
            let reply = m.interactive.as_ref().and_then(|i| match i.kind.as_str() {
                "button_reply" => i.button_reply.as_ref(),
                "list_reply" => i.list_reply.as_ref(),
                _ => None,
            });
            match reply {
                Some(r) => {
                    inbound.text = r.title.clone();
                    inbound.choice = choice_of(&r.id);
                }
                None => {
                    return WebhookEvent::Ignored {
                        why: "an interactive message that is no reply".into(),
                    };
                }
            }
        }
        // a template's quick-reply button: its text (the choice matcher reads it)
        "button" => {
            inbound.text = m
                .button
                .as_ref()
                .map(|b| b.text.clone())
                .unwrap_or_default()
        }
        "image" | "document" | "audio" | "video" | "sticker" => {
            let object = [&m.image, &m.document, &m.audio, &m.video, &m.sticker]
                .into_iter()
                .flatten()
                .next();
            if let Some(o) = object {
                inbound.text = o.caption.clone().unwrap_or_default();
                media.push(Media::WhatsApp { id: o.id.clone() });
            }
        }
        "reaction" => {
            return WebhookEvent::Noted {
                customer: m.from.clone(),
                what: format!(
                    "reacted {}",
                    m.reaction.as_ref().map_or("", |r| r.emoji.as_str())
                ),
            };
        }
        other => {
            return WebhookEvent::Noted {
                customer: m.from.clone(),
                what: format!("sent a '{other}' message, which is not read"),
            };
        }
    }
    WebhookEvent::Message {
        received: Received {
            profile_name: None,
            message_id: m.id.clone(),
            customer: m.from.clone(),
            message: inbound,
        },
        name,
        media,
    }
}

/// The request body of a reply.
pub fn body(customer: &str, message: &Outbound) -> serde_json::Value {
    let head =
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": customer});
    let mut b = head;
    let fields = match message {
        Outbound::Text { text } => {
            json!({"type": "text", "text": {"body": text, "preview_url": false}})
        }
        Outbound::Choice { text, choices } => {
            let buttons = choices.len() <= REPLY_BUTTONS
                && choices
                    .iter()
                    .all(|c| c.chars().count() <= REPLY_BUTTON_CHARS);
            let numbered = choices.iter().enumerate().map(|(k, c)| (k + 1, c));
            let interactive = if buttons {
                json!({"type": "button", "body": {"text": text}, "action": {"buttons":
                    numbered.map(|(n, c)| json!({"type": "reply", "reply": {"id": n.to_string(), "title": c}})).collect::<Vec<_>>()}})
            } else {
                json!({"type": "list", "body": {"text": text}, "action": {"button": "Choose", "sections": [{"title": "Choices", "rows":
                    numbered.map(|(n, c)| json!({"id": n.to_string(), "title": c})).collect::<Vec<_>>()}]}})
            };
            json!({"type": "interactive", "interactive": interactive})
        }
    };
    if let (Some(o), serde_json::Value::Object(f)) = (b.as_object_mut(), fields) {
        o.extend(f);
    }
    b
}

#[derive(Deserialize)]
struct SendAnswer {
    #[serde(default)]
    messages: Vec<SentId>,
}

#[derive(Deserialize)]
struct SentId {
    id: String,
}

/// The error code of a free-form message outside the 24-hour customer-service window.
pub const OUTSIDE_WINDOW: i64 = 131_047;

/// Sends a reply from the phone number `phone_number_id`.
pub async fn send(
    client: &crate::provider::Keyed<'_>,
    base: &str,
    token: &str,
    phone_number_id: &str,
    customer: &str,
    message: &Outbound,
) -> Result<Sent, SendError> {
    let url = format!("{}/{phone_number_id}/messages", base.trim_end_matches('/'));
    match crate::provider::post_json(
        client.post(url).bearer_auth(token),
        &body(customer, message),
    )
    .await
    {
        Ok(answer) => {
            let a: SendAnswer =
                serde_json::from_value(answer).unwrap_or(SendAnswer { messages: vec![] });
            Ok(Sent {
                provider_message_id: a.messages.into_iter().next().map(|m| m.id),
            })
        }
        Err((_, answer, mut e)) => {
            let g: crate::meta::GraphError = serde_json::from_value(answer).unwrap_or_default();
            if g.error.code == OUTSIDE_WINDOW {
                e.permanent = true;
                e.reason = format!(
                    "outside WhatsApp's customer-service window: the customer wrote more than 24 hours ago, only a template message can reach them ({})",
                    g.error.code
                );
            } else if matches!(g.error.code, 4 | 80007 | 130_429 | 131_056) {
                // rate limits: try again later
                e.permanent = false;
                e.reason = format!(
                    "rate-limited by WhatsApp: {} ({})",
                    g.error.message, g.error.code
                );
            } else if !g.error.message.is_empty() {
                e.reason = format!("{}: {} ({})", e.reason, g.error.message, g.error.code);
            }
            Err(e)
        }
    }
}

/// Marks a customer's message read (the blue ticks), best effort.
pub async fn mark_read(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    phone_number_id: &str,
    message_id: &str,
) -> Result<(), SendError> {
    let url = format!("{}/{phone_number_id}/messages", base.trim_end_matches('/'));
    let body = json!({"messaging_product": "whatsapp", "status": "read", "message_id": message_id});
    crate::provider::post_json(client.post(url).bearer_auth(token), &body)
        .await
        .map(|_| ())
        .map_err(|(_, _, e)| e)
}

#[derive(Deserialize)]
struct MediaUrl {
    url: String,
}

/// Fetches a medium: its URL from `GET /{media_id}`, then its bytes (both with the token).
pub async fn fetch(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    media_id: &str,
) -> Result<crate::provider::Fetched, SendError> {
    if media_id.is_empty()
        || media_id.len() > 200
        || !media_id.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(SendError::permanent("not a media id"));
    }
    let resp = client
        .get(format!("{}/{media_id}", base.trim_end_matches('/')))
        .bearer_auth(token)
        .timeout(crate::provider::CALL_TIMEOUT)
        .send()
        .await
        .map_err(|e| SendError::temporary(crate::provider::causes(e)))?;
    if !resp.status().is_success() {
        return Err(SendError::temporary(format!(
            "the media id answered {}",
            resp.status()
        )));
    }
    let bytes = crate::provider::body_within(resp, 64 * 1024).await?;
    let m: MediaUrl = serde_json::from_slice(&bytes)
        .map_err(|e| SendError::permanent(format!("the media answer is not readable: {e}")))?;
    crate::provider::fetch_url(client, &m.url, Some(token)).await
}
