//! What the providers' channels (WhatsApp, Telegram, Messenger) share: their credentials, the
//! events a webhook carries, the media to fetch, and the outcome of a send.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{ChannelError, Received};

/// An entry point's credentials at its provider: write-only, sealed at rest by the shell (as
/// this JSON, whole).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "channel", rename_all = "snake_case", deny_unknown_fields)]
pub enum Credentials {
    #[serde(rename = "whatsapp")]
    WhatsApp {
        access_token: String,
        app_secret: String,
        verify_token: String,
    },
    Telegram {
        bot_token: String,
        secret_token: String,
    },
    Messenger {
        page_access_token: String,
        app_secret: String,
        verify_token: String,
    },
}

/// Each credential's length, in characters.
pub const CREDENTIAL_MIN: usize = 8;
pub const CREDENTIAL_MAX: usize = 1_000;

/// The credentials a channel needs, by name.
pub fn credential_names(channel: flow::entry_point::Channel) -> &'static [&'static str] {
    use flow::entry_point::Channel::*;
    match channel {
        WhatsApp => &["access_token", "app_secret", "verify_token"],
        Telegram => &["bot_token", "secret_token"],
        Messenger => &["page_access_token", "app_secret", "verify_token"],
        Http | WebChat | Email => &[],
    }
}

impl Credentials {
    /// The credentials of `channel` from their values by name (all needed).
    pub fn of(
        channel: flow::entry_point::Channel,
        get: impl Fn(&str) -> Option<String>,
    ) -> Option<Credentials> {
        use flow::entry_point::Channel::*;
        Some(match channel {
            WhatsApp => Credentials::WhatsApp {
                access_token: get("access_token")?,
                app_secret: get("app_secret")?,
                verify_token: get("verify_token")?,
            },
            Telegram => Credentials::Telegram {
                bot_token: get("bot_token")?,
                secret_token: get("secret_token")?,
            },
            Messenger => Credentials::Messenger {
                page_access_token: get("page_access_token")?,
                app_secret: get("app_secret")?,
                verify_token: get("verify_token")?,
            },
            Http | WebChat | Email => return None,
        })
    }

    /// A credential's value by name.
    pub fn get(&self, name: &str) -> Option<&str> {
        match (self, name) {
            (Credentials::WhatsApp { access_token, .. }, "access_token") => Some(access_token),
            (Credentials::WhatsApp { app_secret, .. }, "app_secret")
            | (Credentials::Messenger { app_secret, .. }, "app_secret") => Some(app_secret),
            (Credentials::WhatsApp { verify_token, .. }, "verify_token")
            | (Credentials::Messenger { verify_token, .. }, "verify_token") => Some(verify_token),
            (Credentials::Telegram { bot_token, .. }, "bot_token") => Some(bot_token),
            (Credentials::Telegram { secret_token, .. }, "secret_token") => Some(secret_token),
            (
                Credentials::Messenger {
                    page_access_token, ..
                },
                "page_access_token",
            ) => Some(page_access_token),
            _ => None,
        }
    }

    /// The token the send API takes.
    pub fn send_token(&self) -> &str {
        match self {
            Credentials::WhatsApp { access_token, .. } => access_token,
            Credentials::Telegram { bot_token, .. } => bot_token,
            Credentials::Messenger {
                page_access_token, ..
            } => page_access_token,
        }
    }
}

/// The providers' API base URLs (settings `whatsapp_api_base`, `telegram_api_base`,
/// `messenger_api_base`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderBases {
    pub whatsapp: String,
    pub telegram: String,
    pub messenger: String,
}

/// The Graph API version the Meta channels call.
pub const GRAPH_VERSION: &str = "v21.0";

impl Default for ProviderBases {
    fn default() -> Self {
        ProviderBases {
            whatsapp: format!("https://graph.facebook.com/{GRAPH_VERSION}"),
            telegram: "https://api.telegram.org".into(),
            messenger: format!("https://graph.facebook.com/{GRAPH_VERSION}"),
        }
    }
}

/// A medium the customer sent, to fetch from the provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Media {
    /// A WhatsApp media id (`GET /{id}` gives its URL).
    WhatsApp { id: String },
    /// A Telegram `file_id` (`getFile` gives its path).
    Telegram { file_id: String },
    /// A Messenger attachment's URL (fetched as it is).
    Url { url: String },
}

/// What became of a reply at the provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum DeliveryStatus {
    Sent,
    Delivered,
    Read,
    Failed { error: String },
}

impl DeliveryStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Read => "read",
            DeliveryStatus::Failed { .. } => "failed",
        }
    }
}

/// One thing a webhook carried (one POST may carry several).
#[derive(Clone, Debug, PartialEq)]
pub enum WebhookEvent {
    /// A customer message (a button pressed included), with the media to fetch for it and the
    /// customer's profile name when the provider gives it.
    Message {
        received: Received,
        name: Option<String>,
        media: Vec<Media>,
    },
    /// What became of one of our replies, by the provider's message id.
    Status {
        provider_message_id: String,
        status: DeliveryStatus,
    },
    /// Something the customer did that is recorded but is no answer (a reaction, an edit).
    Noted { customer: String, what: String },
    /// A Telegram button press to answer (so the button stops spinning).
    AnswerCallback { id: String },
    /// Not for this entry point or not a customer's (an echo of our own message, another
    /// phone number id or page, a kind of event not handled): acknowledged, logged.
    Ignored { why: String },
}

/// A reply the provider took: its id there (for the delivery statuses).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    pub provider_message_id: Option<String>,
}

/// Why a send failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendError {
    pub reason: String,
    /// Trying again cannot help (a refused recipient, an expired customer-service window).
    pub permanent: bool,
    /// The provider asked to wait this long.
    pub retry_after: Option<Duration>,
}

impl SendError {
    pub fn temporary(reason: impl Into<String>) -> SendError {
        SendError {
            reason: reason.into(),
            permanent: false,
            retry_after: None,
        }
    }
    pub fn permanent(reason: impl Into<String>) -> SendError {
        SendError {
            reason: reason.into(),
            permanent: true,
            retry_after: None,
        }
    }
}

/// The choice a button's id or payload stands for: ours are the choice's number, from 1.
pub(crate) fn choice_of(id: &str) -> Option<u32> {
    id.parse().ok().filter(|n| (1..=100).contains(n))
}

/// A reply to send: to whom, what, and its idempotency key.
#[derive(Clone, Copy, Debug)]
pub struct Reply<'a> {
    pub customer: &'a str,
    pub message: &'a flow::exec::Outbound,
    pub key: &'a str,
}

/// A client whose POSTs carry an `Idempotency-Key`.
pub struct Keyed<'a> {
    pub client: &'a reqwest::Client,
    pub key: &'a str,
}

impl Keyed<'_> {
    pub fn post(&self, url: String) -> reqwest::RequestBuilder {
        self.client.post(url).header("Idempotency-Key", self.key)
    }
}

/// Largest webhook body read.
pub const WEBHOOK_MAX_BYTES: usize = 1024 * 1024;
/// Most events of one webhook.
pub const WEBHOOK_MAX_EVENTS: usize = 1_000;
/// Largest medium fetched.
pub const MEDIA_MAX_BYTES: usize = 16 * 1024 * 1024;
/// How long a send or a fetch may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads a webhook's JSON into `T`.
pub(crate) fn json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ChannelError> {
    if body.len() > WEBHOOK_MAX_BYTES {
        return Err(ChannelError::Invalid(
            "body_too_large",
            format!("a webhook holds at most {WEBHOOK_MAX_BYTES} bytes"),
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| ChannelError::Invalid("invalid_body", format!("not the provider's JSON: {e}")))
}

/// The causes of a failed call, in one line — without its URL, which may carry a token (the
/// Bot API's is in its path): what is said of a call is logged and stored.
pub(crate) fn causes(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut why = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        why.push_str(": ");
        why.push_str(&cause.to_string());
        source = cause.source();
    }
    why
}

/// `Retry-After` in seconds, at most an hour.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.min(3_600)))
}

/// Reads an answer's body, at most `max` bytes.
pub(crate) async fn body_within(
    mut resp: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, SendError> {
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(SendError::permanent(format!(
            "the provider's answer is over {max} bytes"
        )));
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| SendError::temporary(causes(e)))?
    {
        if out.len() + chunk.len() > max {
            return Err(SendError::permanent(format!(
                "the provider's answer is over {max} bytes"
            )));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// A fetched medium, its type sniffed from its bytes (never the provider's claim).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    pub content_type: String,
    pub data: Vec<u8>,
}

/// Sniffs a medium's type; `application/octet-stream` when unknown.
pub fn sniff(data: Vec<u8>) -> Fetched {
    let content_type = infer::get(&data)
        .map_or("application/octet-stream", |k| k.mime_type())
        .to_owned();
    Fetched { content_type, data }
}

/// GETs a URL within the media limit.
pub(crate) async fn fetch_url(
    client: &reqwest::Client,
    url: &str,
    bearer: Option<&str>,
) -> Result<Fetched, SendError> {
    let mut req = client.get(url).timeout(CALL_TIMEOUT);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let resp = req
        .send()
        .await
        .map_err(|e| SendError::temporary(causes(e)))?;
    if !resp.status().is_success() {
        return Err(SendError::temporary(format!(
            "the medium could not be fetched: {}",
            resp.status()
        )));
    }
    Ok(sniff(body_within(resp, MEDIA_MAX_BYTES).await?))
}

/// Posts JSON to a provider and reads its JSON answer (at most 1 MiB): the error says whether
/// to retry (network, 5xx, 429 with its `Retry-After`) or not (another 4xx).
pub(crate) async fn post_json(
    req: reqwest::RequestBuilder,
    body: &serde_json::Value,
) -> Result<serde_json::Value, (reqwest::StatusCode, serde_json::Value, SendError)> {
    let resp = req
        .timeout(CALL_TIMEOUT)
        .json(body)
        .send()
        .await
        .map_err(|e| {
            (
                reqwest::StatusCode::BAD_GATEWAY,
                serde_json::Value::Null,
                SendError::temporary(format!("the provider could not be reached: {}", causes(e))),
            )
        })?;
    let status = resp.status();
    let wait = retry_after(resp.headers());
    let bytes = body_within(resp, 1024 * 1024)
        .await
        .map_err(|e| (status, serde_json::Value::Null, e))?;
    let answer: serde_json::Value =
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    if status.is_success() {
        return Ok(answer);
    }
    let err = SendError {
        reason: format!("the provider answered {status}"),
        permanent: status.is_client_error()
            && status != reqwest::StatusCode::TOO_MANY_REQUESTS
            && status != reqwest::StatusCode::REQUEST_TIMEOUT,
        retry_after: wait,
    };
    Err((status, answer, err))
}
