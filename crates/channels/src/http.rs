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
        profile_name: None,
        message_id: posted.message_id,
        customer: posted.from,
        message: Inbound {
            text: posted.text,
            choice: posted.choice,
            attachments: Vec::new(),
            email: None,
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
        // the causes say why (refused by the outbound policy, no route, a timeout…), without
        // the URL (its query may carry a token)
        Err(e) => Err(format!(
            "the callback could not be reached: {}",
            crate::provider::causes(e)
        )),
    }
}

/// The header that carries a message's signature.
pub const SIGNATURE_HEADER: &str = "x-switchyard-signature";

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The signature of a body under a secret: `sha256=<hex HMAC-SHA256>`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| <HmacSha256 as KeyInit>::new(&Default::default()));
    mac.update(body);
    let tag: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={tag}")
}

/// Checks a signature (`sha256=<hex>`) of the raw body, in constant time.
pub fn verify(secret: &str, body: &[u8], signature: &str) -> Result<(), ChannelError> {
    use hmac::{KeyInit, Mac};
    let bad = || ChannelError::Invalid("invalid_signature", "the signature does not match".into());
    let hex = signature.trim().strip_prefix("sha256=").ok_or_else(bad)?;
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(bad());
    }
    let tag: Vec<u8> = (0..64)
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret.as_bytes()).map_err(|_| bad())?;
    mac.update(body);
    mac.verify_slice(&tag).map_err(|_| bad())
}

#[cfg(test)]
mod signature_tests {
    use super::*;

    #[test]
    fn signatures_match_their_body_and_secret_only() {
        let s = sign("a secret of thirty-two characters!", b"{\"a\":1}");
        assert!(verify("a secret of thirty-two characters!", b"{\"a\":1}", &s).is_ok());
        assert!(verify("another secret of thirty-two chars", b"{\"a\":1}", &s).is_err());
        assert!(verify("a secret of thirty-two characters!", b"{\"a\":2}", &s).is_err());
        assert!(
            verify(
                "a secret of thirty-two characters!",
                b"{\"a\":1}",
                "sha256=00"
            )
            .is_err()
        );
        assert!(
            verify(
                "a secret of thirty-two characters!",
                b"{\"a\":1}",
                "md5=abc"
            )
            .is_err()
        );
    }
}
