//! Telegram (a bot): webhooks of updates, checked by `X-Telegram-Bot-Api-Secret-Token`, replies
//! through the Bot API's `sendMessage` with an inline keyboard for choices. A customer is their
//! chat id; a message is deduplicated by its update id.

use serde::Deserialize;
use serde_json::json;

use crate::provider::{Media, SendError, Sent, WebhookEvent, json as read};
use crate::{Channel, ChannelError, Limits, Received};
use flow::exec::{Inbound, Outbound};

/// The Telegram channel.
pub struct Telegram;

/// What it carries.
pub const LIMITS: Limits = Limits {
    message_id: 40,
    address: 32,
    text_chars: 4_096,
    buttons: 10,
    button_chars: 64,
    attachments: 10,
};

/// The header carrying the webhook's secret token.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

impl Channel for Telegram {
    fn kind(&self) -> flow::entry_point::Channel {
        flow::entry_point::Channel::Telegram
    }
    fn limits(&self) -> Limits {
        LIMITS
    }
}

/// Checks the webhook's secret token (constant time).
pub fn verify(secret_token: &str, header: Option<&[u8]>) -> Result<(), ChannelError> {
    match header {
        Some(h) if crate::meta::same(h, secret_token.as_bytes()) => Ok(()),
        _ => Err(ChannelError::Invalid(
            "invalid_signature",
            "X-Telegram-Bot-Api-Secret-Token is missing or not the entry point's".into(),
        )),
    }
}

/// A bot token as Telegram gives it: digits, `:`, then letters, digits, `_` and `-` (it goes
/// in the API's path).
pub fn check_token(token: &str) -> bool {
    token.split_once(':').is_some_and(|(id, rest)| {
        !id.is_empty()
            && id.bytes().all(|b| b.is_ascii_digit())
            && !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    }) && token.len() <= 200
}

/// A webhook's secret token as Telegram accepts it: 1 to 256 of `A-Z a-z 0-9 _ -`.
pub fn check_secret_token(token: &str) -> bool {
    (1..=256).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[derive(Deserialize)]
struct Update {
    update_id: i64,
    #[serde(default)]
    message: Option<Message>,
    #[serde(default)]
    edited_message: Option<Message>,
    #[serde(default)]
    callback_query: Option<CallbackQuery>,
    #[serde(default)]
    message_reaction: Option<Reaction>,
}

#[derive(Deserialize)]
struct User {
    #[serde(default)]
    is_bot: bool,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: Option<String>,
}

#[derive(Deserialize)]
struct Chat {
    id: i64,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    from: Option<User>,
    chat: Chat,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    caption: Option<String>,
    #[serde(default)]
    photo: Vec<FileRef>,
    #[serde(default)]
    document: Option<FileRef>,
    #[serde(default)]
    voice: Option<FileRef>,
    #[serde(default)]
    video: Option<FileRef>,
    #[serde(default)]
    audio: Option<FileRef>,
    #[serde(default)]
    sticker: Option<FileRef>,
}

#[derive(Deserialize)]
struct FileRef {
    file_id: String,
}

#[derive(Deserialize)]
struct CallbackQuery {
    id: String,
    from: User,
    #[serde(default)]
    message: Option<Message>,
    #[serde(default)]
    data: Option<String>,
}

#[derive(Deserialize)]
struct Reaction {
    chat: Chat,
    #[serde(default)]
    new_reaction: Vec<ReactionType>,
}

#[derive(Deserialize)]
struct ReactionType {
    #[serde(default)]
    emoji: Option<String>,
}

fn name_of(u: &User) -> Option<String> {
    let name = match &u.last_name {
        Some(l) if !l.is_empty() => format!("{} {l}", u.first_name),
        _ => u.first_name.clone(),
    };
    (!name.trim().is_empty()).then_some(name)
}

/// Reads one update.
pub fn parse(body: &[u8]) -> Result<Vec<WebhookEvent>, ChannelError> {
    let u: Update = read(body)?;
    let message_id = format!("update:{}", u.update_id);
    if let Some(m) = u.message {
        if m.from.as_ref().is_some_and(|f| f.is_bot) {
            return Ok(vec![WebhookEvent::Ignored {
                why: "a bot's message".into(),
            }]);
        }
        let mut media = Vec::new();
        // the largest size of a photo is the last
        if let Some(p) = m.photo.last() {
            media.push(Media::Telegram {
                file_id: p.file_id.clone(),
            });
        }
        for f in [&m.document, &m.voice, &m.video, &m.audio, &m.sticker]
            .into_iter()
            .flatten()
        {
            media.push(Media::Telegram {
                file_id: f.file_id.clone(),
            });
        }
        return Ok(vec![WebhookEvent::Message {
            received: Received {
                profile_name: None,
                message_id,
                customer: m.chat.id.to_string(),
                message: Inbound {
                    text: m.text.or(m.caption).unwrap_or_default(),
                    choice: None,
                    attachments: Vec::new(),
                    email: None,
                },
            },
            name: m.from.as_ref().and_then(name_of),
            media,
        }]);
    }
    if let Some(q) = u.callback_query {
        let Some(chat) = q.message.as_ref().map(|m| m.chat.id) else {
            return Ok(vec![
                WebhookEvent::AnswerCallback { id: q.id },
                WebhookEvent::Ignored {
                    why: "a button press on a message no longer there".into(),
                },
            ]);
        };
        let data = q.data.unwrap_or_default();
        let choice = crate::provider::choice_of(&data);
        return Ok(vec![
            WebhookEvent::Message {
                received: Received {
                    profile_name: None,
                    message_id,
                    customer: chat.to_string(),
                    message: Inbound {
                        text: if choice.is_some() {
                            String::new()
                        } else {
                            data
                        },
                        choice,
                        attachments: Vec::new(),
                        email: None,
                    },
                },
                name: name_of(&q.from),
                media: Vec::new(),
            },
            WebhookEvent::AnswerCallback { id: q.id },
        ]);
    }
    if let Some(m) = u.edited_message {
        return Ok(vec![WebhookEvent::Noted {
            customer: m.chat.id.to_string(),
            what: format!(
                "edited a message: {}",
                m.text
                    .or(m.caption)
                    .unwrap_or_default()
                    .chars()
                    .take(200)
                    .collect::<String>()
            ),
        }]);
    }
    if let Some(r) = u.message_reaction {
        let emojis: Vec<String> = r.new_reaction.into_iter().filter_map(|t| t.emoji).collect();
        return Ok(vec![WebhookEvent::Noted {
            customer: r.chat.id.to_string(),
            what: if emojis.is_empty() {
                "took back a reaction".into()
            } else {
                format!("reacted {}", emojis.join(" "))
            },
        }]);
    }
    Ok(vec![WebhookEvent::Ignored {
        why: "an update that is not read".into(),
    }])
}

/// The request body of a reply.
pub fn body(chat_id: &str, message: &Outbound) -> serde_json::Value {
    let chat: serde_json::Value = chat_id
        .parse::<i64>()
        .map_or_else(|_| json!(chat_id), |n| json!(n));
    match message {
        Outbound::Text { text } => json!({"chat_id": chat, "text": text}),
        Outbound::Choice { text, choices } => json!({
            "chat_id": chat,
            "text": if text.is_empty() { "…" } else { text.as_str() },
            "reply_markup": {"inline_keyboard": choices.iter().enumerate()
                .map(|(k, c)| vec![json!({"text": c, "callback_data": (k + 1).to_string()})])
                .collect::<Vec<_>>()},
        }),
    }
}

#[derive(Deserialize, Default)]
struct Answer {
    #[serde(default)]
    result: Option<ResultMessage>,
    #[serde(default)]
    error_code: Option<u16>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    parameters: Option<Parameters>,
}

#[derive(Deserialize)]
struct ResultMessage {
    #[serde(default)]
    message_id: Option<i64>,
    #[serde(default)]
    file_path: Option<String>,
}

#[derive(Deserialize)]
struct Parameters {
    #[serde(default)]
    retry_after: Option<u64>,
}

fn url(base: &str, token: &str, method: &str) -> String {
    format!("{}/bot{token}/{method}", base.trim_end_matches('/'))
}

/// Calls a Bot API method (`req` is its POST).
async fn call(
    req: reqwest::RequestBuilder,
    token: &str,
    body: &serde_json::Value,
) -> Result<Answer, SendError> {
    if !check_token(token) {
        return Err(SendError::permanent(
            "the bot token is not one Telegram gives",
        ));
    }
    match crate::provider::post_json(req, body).await {
        Ok(a) => Ok(serde_json::from_value(a).unwrap_or_default()),
        Err((_, answer, mut e)) => {
            let a: Answer = serde_json::from_value(answer).unwrap_or_default();
            if let Some(wait) = a.parameters.and_then(|p| p.retry_after) {
                e.retry_after = Some(std::time::Duration::from_secs(wait.min(3_600)));
                e.permanent = false;
            }
            if !a.description.is_empty() {
                e.reason = format!(
                    "Telegram answered {}: {}",
                    a.error_code.map_or_else(String::new, |c| c.to_string()),
                    a.description
                );
            }
            Err(e)
        }
    }
}

/// Sends a reply to a chat.
pub async fn send(
    client: &crate::provider::Keyed<'_>,
    base: &str,
    token: &str,
    chat_id: &str,
    message: &Outbound,
) -> Result<Sent, SendError> {
    let req = client.post(url(base, token, "sendMessage"));
    let a = call(req, token, &body(chat_id, message)).await?;
    Ok(Sent {
        provider_message_id: a
            .result
            .and_then(|r| r.message_id)
            .map(|id| format!("{chat_id}:{id}")),
    })
}

/// Answers a button press (best effort: the press is already taken).
pub async fn answer_callback(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    callback_query_id: &str,
) -> Result<(), SendError> {
    call(
        client.post(url(base, token, "answerCallbackQuery")),
        token,
        &json!({"callback_query_id": callback_query_id}),
    )
    .await
    .map(|_| ())
}

/// Fetches a file: its path from `getFile`, then its bytes.
pub async fn fetch(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    file_id: &str,
) -> Result<crate::provider::Fetched, SendError> {
    let req = client.post(url(base, token, "getFile"));
    let a = call(req, token, &json!({"file_id": file_id})).await?;
    let Some(path) = a.result.and_then(|r| r.file_path) else {
        return Err(SendError::permanent("getFile gave no file path"));
    };
    if path.contains("..") || path.starts_with('/') || path.len() > 500 {
        return Err(SendError::permanent("getFile gave an unusable file path"));
    }
    let url = format!("{}/file/bot{token}/{path}", base.trim_end_matches('/'));
    crate::provider::fetch_url(client, &url, None).await
}
