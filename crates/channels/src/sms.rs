//! SMS out, behind [`SmsGateway`] (one method: send one SMS). The gateway shipped speaks
//! Twilio's Messages API (`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, a form of
//! `To`, `From`, `Body`, HTTP basic authentication with the account SID and auth token), its base
//! URL a setting; another provider is another implementation. SMS are outbound only.

use serde::Deserialize;

use crate::provider::{SendError, Sent};

/// An SMS provider.
#[async_trait::async_trait]
pub trait SmsGateway: Send + Sync + std::fmt::Debug {
    /// Sends one SMS from `sender` (a number or an alphanumeric sender id) to `to` (E.164);
    /// `key` identifies the send (sent as `Idempotency-Key` where the provider can use it).
    async fn send(
        &self,
        client: &reqwest::Client,
        sender: &str,
        to: &str,
        body: &str,
        key: &str,
    ) -> Result<Sent, SendError>;
}

/// A provider speaking Twilio's Messages API. Its auth token is never shown (`Debug` leaves
/// it out).
#[derive(Clone, PartialEq, Eq)]
pub struct SmsProvider {
    /// `https://api.twilio.com` (setting `sms_api_base`).
    pub base: String,
    pub account_sid: String,
    pub auth_token: String,
}

impl std::fmt::Debug for SmsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsProvider")
            .field("base", &self.base)
            .field("account_sid", &self.account_sid)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl SmsGateway for SmsProvider {
    async fn send(
        &self,
        client: &reqwest::Client,
        sender: &str,
        to: &str,
        body: &str,
        key: &str,
    ) -> Result<Sent, SendError> {
        send(client, self, sender, to, body, key).await
    }
}

/// Twilio's API base.
pub const DEFAULT_BASE: &str = "https://api.twilio.com";

/// Longest SMS body sent (Twilio's limit), in characters.
pub const BODY_CHARS: usize = 1_600;

#[derive(Deserialize, Default)]
struct Answer {
    #[serde(default)]
    sid: Option<String>,
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    message: Option<String>,
}

/// Sends one SMS through Twilio's Messages API.
async fn send(
    client: &reqwest::Client,
    provider: &SmsProvider,
    sender: &str,
    to: &str,
    body: &str,
    key: &str,
) -> Result<Sent, SendError> {
    if !provider
        .account_sid
        .bytes()
        .all(|b| b.is_ascii_alphanumeric())
        || provider.account_sid.is_empty()
    {
        return Err(SendError::permanent(
            "the SMS account SID is not one the provider gives",
        ));
    }
    let url = format!(
        "{}/2010-04-01/Accounts/{}/Messages.json",
        provider.base.trim_end_matches('/'),
        provider.account_sid
    );
    // built apart: its serializer does not live across the call
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("To", to)
        .append_pair("From", sender)
        .append_pair("Body", body)
        .finish();
    let resp = client
        .post(url)
        .basic_auth(&provider.account_sid, Some(&provider.auth_token))
        .header("Idempotency-Key", key)
        .timeout(crate::provider::CALL_TIMEOUT)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .map_err(|e| {
            SendError::temporary(format!(
                "the SMS provider could not be reached: {}",
                crate::provider::causes(e)
            ))
        })?;
    let status = resp.status();
    let wait = crate::provider::retry_after(resp.headers());
    let bytes = crate::provider::body_within(resp, 64 * 1024).await?;
    let answer: Answer = serde_json::from_slice(&bytes).unwrap_or_default();
    if status.is_success() {
        return Ok(Sent {
            provider_message_id: answer.sid,
        });
    }
    let detail = match (answer.code, answer.message) {
        (Some(c), Some(m)) => format!(": {m} ({c})"),
        (None, Some(m)) => format!(": {m}"),
        _ => String::new(),
    };
    Err(SendError {
        reason: format!("the SMS provider answered {status}{detail}"),
        permanent: status.is_client_error() && status != reqwest::StatusCode::TOO_MANY_REQUESTS,
        retry_after: wait,
    })
}
