//! The channels: each connector verifies and parses what arrives into a [`Received`] message
//! (with the channel's own message id as its deduplication key), renders what goes out to fit
//! the channel's [`Limits`], and sends it. A connector knows nothing of routings: the runtime
//! hands it messages and addresses.
//!
//! Adding a channel is one module here implementing [`Channel`] (and [`Sender`] when it sends
//! through an outside API), plus its entry in [`of`].

pub mod email;
pub mod http;
pub mod messenger;
pub mod meta;
pub mod payment;
pub mod provider;
pub mod relay;
pub mod salesforce;
pub mod sms;
pub mod smtp;
pub mod telegram;
pub mod web_chat;
pub mod whatsapp;

use flow::exec::{Inbound, Outbound};

pub use provider::{
    Credentials, DeliveryStatus, Media, ProviderBases, SendError, Sent, WebhookEvent,
};

/// What a channel carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest message id the channel gives (its deduplication key).
    pub message_id: usize,
    /// Longest customer address.
    pub address: usize,
    /// Longest text of one message, in characters (longer replies are split).
    pub text_chars: usize,
    /// Most quick-reply buttons on one message (more become a numbered list).
    pub buttons: usize,
    /// Longest label of one button, in characters.
    pub button_chars: usize,
    /// Most attachments on one inbound message.
    pub attachments: usize,
}

/// A customer message as a channel parsed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// The channel's own id of the message: the deduplication key (per customer).
    pub message_id: String,
    /// The customer's address on the channel.
    pub customer: String,
    pub message: Inbound,
    /// The customer's name as the provider gives it (a new customer is named so).
    pub profile_name: Option<String>,
}

/// Why a channel refused what arrived.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChannelError {
    /// The request is not what the channel sends (`code` names the problem).
    #[error("{1}")]
    Invalid(&'static str, String),
}

/// A channel: its limits and how it fits messages to them.
pub trait Channel: Send + Sync {
    /// Which entry point channel it serves.
    fn kind(&self) -> flow::entry_point::Channel;
    fn limits(&self) -> Limits;

    /// Checks a message against the channel's limits.
    fn check(&self, m: &Received) -> Result<(), ChannelError> {
        check(&self.limits(), m)
    }

    /// A reply as the channel can carry it: text split at the channel's length, buttons beyond
    /// its count (or too long) turned into a numbered list the customer answers by number.
    fn render(&self, message: &Outbound) -> Vec<Outbound> {
        fit(&self.limits(), message)
    }
}

/// Fetches a medium from its provider.
pub async fn fetch(
    client: &reqwest::Client,
    bases: &provider::ProviderBases,
    credentials: &provider::Credentials,
    media: &provider::Media,
) -> Result<provider::Fetched, provider::SendError> {
    match media {
        provider::Media::WhatsApp { id } => {
            crate::whatsapp::fetch(client, &bases.whatsapp, credentials.send_token(), id).await
        }
        provider::Media::Telegram { file_id } => {
            crate::telegram::fetch(client, &bases.telegram, credentials.send_token(), file_id).await
        }
        provider::Media::Url { url } => provider::fetch_url(client, url, None).await,
    }
}

/// Sends a reply through the provider of `credentials`, from the entry point at `address`;
/// `key` (the outbox row's id) goes as `Idempotency-Key`, for whoever in between can use it (the
/// providers themselves take none: a reply is sent at least once).
pub async fn send(
    client: &reqwest::Client,
    bases: &provider::ProviderBases,
    credentials: &provider::Credentials,
    address: &str,
    reply: provider::Reply<'_>,
) -> Result<provider::Sent, provider::SendError> {
    let (customer, message) = (reply.customer, reply.message);
    let client = &provider::Keyed {
        client,
        key: reply.key,
    };
    match credentials {
        provider::Credentials::WhatsApp { access_token, .. } => {
            crate::whatsapp::send(
                client,
                &bases.whatsapp,
                access_token,
                address,
                customer,
                message,
            )
            .await
        }
        provider::Credentials::Telegram { bot_token, .. } => {
            crate::telegram::send(client, &bases.telegram, bot_token, customer, message).await
        }
        provider::Credentials::Messenger {
            page_access_token, ..
        } => {
            crate::messenger::send(
                client,
                &bases.messenger,
                page_access_token,
                customer,
                message,
            )
            .await
        }
    }
}

/// The connector of an entry point channel.
pub fn of(channel: flow::entry_point::Channel) -> &'static dyn Channel {
    match channel {
        flow::entry_point::Channel::Http => &http::Http,
        flow::entry_point::Channel::WebChat => &web_chat::WebChat,
        flow::entry_point::Channel::WhatsApp => &whatsapp::WhatsApp,
        flow::entry_point::Channel::Telegram => &telegram::Telegram,
        flow::entry_point::Channel::Messenger => &messenger::Messenger,
        flow::entry_point::Channel::Email => &email::EmailChannel,
    }
}

/// Checks a message against limits: ids and addresses present and bounded, text and
/// attachments within the channel's.
pub fn check(limits: &Limits, m: &Received) -> Result<(), ChannelError> {
    let bad = |code, msg: String| Err(ChannelError::Invalid(code, msg));
    if m.message_id.is_empty() || m.message_id.chars().count() > limits.message_id {
        return bad(
            "invalid_message_id",
            format!("message_id must have 1 to {} characters", limits.message_id),
        );
    }
    if m.customer.trim().is_empty() || m.customer.chars().count() > limits.address {
        return bad(
            "invalid_customer",
            format!(
                "the customer address must have 1 to {} characters",
                limits.address
            ),
        );
    }
    if m.message.text.chars().count() > limits.text_chars {
        return bad(
            "message_too_long",
            format!("a message holds at most {} characters", limits.text_chars),
        );
    }
    if m.message.attachments.len() > limits.attachments {
        return bad(
            "too_many_attachments",
            format!("a message holds at most {} attachments", limits.attachments),
        );
    }
    Ok(())
}

/// Splits `text` into pieces of at most `max` characters, at a line or word boundary when
/// there is one in the second half of the piece.
pub(crate) fn split(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut out = Vec::new();
    let mut rest: Vec<char> = text.chars().collect();
    while rest.len() > max {
        let window = &rest[..max];
        let cut = window
            .iter()
            .rposition(|c| *c == '\n')
            .or_else(|| window.iter().rposition(|c| c.is_whitespace()))
            .filter(|&i| i >= max / 2)
            .map_or(max, |i| i + 1);
        out.push(rest[..cut].iter().collect::<String>().trim_end().to_owned());
        rest.drain(..cut);
    }
    out.push(rest.into_iter().collect());
    out
}

/// [`Channel::render`] for given limits.
pub fn fit(limits: &Limits, message: &Outbound) -> Vec<Outbound> {
    match message {
        Outbound::Text { text } => split(text, limits.text_chars)
            .into_iter()
            .map(|text| Outbound::Text { text })
            .collect(),
        Outbound::Choice { text, choices } => {
            let buttons_fit = choices.len() <= limits.buttons
                && choices
                    .iter()
                    .all(|c| c.chars().count() <= limits.button_chars);
            if buttons_fit {
                let mut parts = split(text, limits.text_chars);
                let last = parts.pop().unwrap_or_default();
                let mut out: Vec<Outbound> = parts
                    .into_iter()
                    .map(|text| Outbound::Text { text })
                    .collect();
                out.push(Outbound::Choice {
                    text: last,
                    choices: choices.clone(),
                });
                return out;
            }
            // a numbered list: the customer answers with the number (choice matching takes it)
            let mut listed = text.clone();
            for (k, c) in choices.iter().enumerate() {
                listed.push_str(&format!("\n{}. {c}", k + 1));
            }
            split(&listed, limits.text_chars)
                .into_iter()
                .map(|text| Outbound::Text { text })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: Limits = Limits {
        message_id: 10,
        address: 10,
        text_chars: 20,
        buttons: 2,
        button_chars: 5,
        attachments: 1,
    };

    #[test]
    fn long_text_is_split_at_words_within_the_limit() {
        let parts = fit(
            &SMALL,
            &Outbound::Text {
                text: "the quick brown fox jumps over the lazy dog".into(),
            },
        );
        let texts: Vec<String> = parts
            .iter()
            .map(|p| match p {
                Outbound::Text { text } => text.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(texts.iter().all(|t| t.chars().count() <= 20), "{texts:?}");
        assert_eq!(
            texts.join(" "),
            "the quick brown fox jumps over the lazy dog"
        );
    }

    #[test]
    fn too_many_buttons_become_a_numbered_list() {
        let m = Outbound::Choice {
            text: "Pick".into(),
            choices: vec!["A".into(), "B".into(), "C".into()],
        };
        assert_eq!(
            fit(&SMALL, &m),
            [Outbound::Text {
                text: "Pick\n1. A\n2. B\n3. C".into()
            }]
        );
        let fits = Outbound::Choice {
            text: "Pick".into(),
            choices: vec!["A".into(), "B".into()],
        };
        assert_eq!(fit(&SMALL, &fits), std::slice::from_ref(&fits));
    }

    #[test]
    fn limits_are_checked() {
        let ok = Received {
            profile_name: None,
            message_id: "m1".into(),
            customer: "ann".into(),
            message: Inbound {
                text: "hi".into(),
                ..Inbound::default()
            },
        };
        assert_eq!(check(&SMALL, &ok), Ok(()));
        let mut long = ok.clone();
        long.message.text = "x".repeat(21);
        assert!(matches!(
            check(&SMALL, &long),
            Err(ChannelError::Invalid("message_too_long", _))
        ));
        let mut blank = ok.clone();
        blank.customer = " ".into();
        assert!(matches!(
            check(&SMALL, &blank),
            Err(ChannelError::Invalid("invalid_customer", _))
        ));
    }
}
