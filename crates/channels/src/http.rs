//! The HTTP channel: a customer message is a JSON `POST` (`{"message_id", "from", "text",
//! "choice"}`), a reply is a JSON `POST` to the entry point's callback URL with an
//! `Idempotency-Key` header (the reply's id), answered 2xx once taken.

use std::time::Duration;

use flow::exec::{Inbound, Outbound};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Channel, ChannelError, Limits, Received};

/// The HTTP channel.
pub struct Http;

/// What it carries.
pub const LIMITS: Limits = Limits {
    message_id: 200,
    address: flow::customer::limits::ADDRESS,
    text_chars: 10_000,
    buttons: 10,
    button_chars: 200,
    attachments: 10,
};

impl Channel for Http {
    fn kind(&self) -> flow::entry_point::Channel {
        flow::entry_point::Channel::Http
    }
    fn limits(&self) -> Limits {
        LIMITS
    }
}

/// A customer message as the HTTP channel's caller posts it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Posted {
    pub message_id: String,
    pub from: String,
    #[serde(default)]
    pub text: String,
    pub choice: Option<u32>,
}

/// Reads a posted message, within the channel's limits.
pub fn parse(posted: Posted) -> Result<Received, ChannelError> {
    let received = Received {
        message_id: posted.message_id,
        customer: posted.from,
        message: Inbound {
            text: posted.text,
            choice: posted.choice,
            attachments: Vec::new(),
        },
    };
    Http.check(&received)?;
    Ok(received)
}

/// A reply as the callback receives it.
#[derive(Clone, Debug, Serialize)]
pub struct Callback<'a> {
    /// The reply's id, also its `Idempotency-Key`.
    pub id: Uuid,
    pub interaction_id: Uuid,
    pub entry_point: Option<&'a str>,
    pub customer: &'a str,
    pub message: &'a Outbound,
}

/// How long a callback may take to answer.
pub const CALLBACK_TIMEOUT: Duration = Duration::from_secs(10);

/// Posts a reply to a callback URL; `Err` says why it was not taken (to retry).
pub async fn send(client: &reqwest::Client, url: &str, reply: &Callback<'_>) -> Result<(), String> {
    match client
        .post(url)
        .header("Idempotency-Key", reply.id.to_string())
        .json(reply)
        .send()
        .await
    {
        Ok(resp) if resp.status().is_success() => Ok(()),
        Ok(resp) => Err(format!("the callback answered {}", resp.status())),
        Err(e) => {
            // the causes say why (refused by the outbound policy, no route, a timeout…)
            let mut why = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                why.push_str(": ");
                why.push_str(&cause.to_string());
                source = cause.source();
            }
            Err(format!("the callback could not be reached: {why}"))
        }
    }
}
