//! Payment providers: a payment link for an amount, and the signed webhook that says how the
//! payment went. One contract is spoken: Stripe's (Checkout Sessions, `Stripe-Signature`
//! webhooks), at a configurable base URL, behind the [`PaymentProvider`] trait.
//!
//! The webhook's signature is checked over the raw body in constant time, and its timestamp must
//! lie within [`TOLERANCE`] of now (a replayed old delivery is refused); the event id lets the
//! caller take each event once.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::ChannelError;
use crate::provider::{SendError, causes};

/// The header carrying a webhook's signature.
pub const SIGNATURE_HEADER: &str = "stripe-signature";

/// How far a webhook's timestamp may be from now (Stripe's libraries' default).
pub const TOLERANCE: Duration = Duration::from_secs(300);

/// Largest webhook body taken, in bytes.
pub const WEBHOOK_MAX_BYTES: usize = 256 * 1024;

/// The metadata key the payment's own id goes under (on the session and its payment).
pub const PAYMENT_KEY: &str = "switchyard_payment";

/// Stripe's API.
pub const DEFAULT_BASE: &str = "https://api.stripe.com";

/// A payment to ask a link for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkRequest {
    /// The payment's own id (put in the provider's metadata; the webhook gives it back).
    pub payment: String,
    /// In minor units.
    pub amount_minor: i64,
    /// ISO 4217, upper case.
    pub currency: String,
    /// What the customer reads they pay for.
    pub label: String,
    /// The invoice's number or the given reference.
    pub reference: String,
    pub customer_reference: Option<String>,
    pub email: Option<String>,
    /// Free metadata of the routing (the comment, the customised data).
    pub metadata: Vec<(String, String)>,
    pub success_url: String,
    pub cancel_url: String,
    /// When the link stops working (UNIX seconds).
    pub expires_at: i64,
}

/// The link a provider made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// The provider's id of the session.
    pub session: String,
    pub url: String,
}

/// A payment provider's account: the API key is the module's secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    pub base: String,
    pub api_key: String,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// What a payment provider does.
#[async_trait::async_trait]
pub trait PaymentProvider: Send + Sync {
    /// Asks for a payment link; `key` makes asking again (after a crash) give the same link.
    async fn link(
        &self,
        client: &reqwest::Client,
        account: &Account,
        request: &LinkRequest,
        key: &str,
    ) -> Result<Link, SendError>;

    /// Checks a webhook delivery (its signature header and raw body) at `now` (UNIX seconds)
    /// and reads its event.
    fn event(
        &self,
        secret: &str,
        signature: Option<&[u8]>,
        body: &[u8],
        now: i64,
    ) -> Result<Event, ChannelError>;
}

/// Stripe's contract.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stripe;

#[derive(Deserialize, Default)]
struct SessionAnswer {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    error: Option<ErrorAnswer>,
}

#[derive(Deserialize, Default)]
struct ErrorAnswer {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

#[async_trait::async_trait]
impl PaymentProvider for Stripe {
    async fn link(
        &self,
        client: &reqwest::Client,
        account: &Account,
        r: &LinkRequest,
        key: &str,
    ) -> Result<Link, SendError> {
        let url = format!(
            "{}/v1/checkout/sessions",
            account.base.trim_end_matches('/')
        );
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("mode", "payment")
                .append_pair("line_items[0][quantity]", "1")
                .append_pair(
                    "line_items[0][price_data][currency]",
                    &r.currency.to_ascii_lowercase(),
                )
                .append_pair(
                    "line_items[0][price_data][unit_amount]",
                    &r.amount_minor.to_string(),
                )
                .append_pair("line_items[0][price_data][product_data][name]", &r.label)
                .append_pair("client_reference_id", &r.reference)
                .append_pair("success_url", &r.success_url)
                .append_pair("cancel_url", &r.cancel_url)
                .append_pair("expires_at", &r.expires_at.to_string())
                .append_pair(&format!("metadata[{PAYMENT_KEY}]"), &r.payment)
                .append_pair(
                    &format!("payment_intent_data[metadata][{PAYMENT_KEY}]"),
                    &r.payment,
                )
                .append_pair("metadata[reference]", &r.reference);
            if let Some(c) = &r.customer_reference {
                form.append_pair("metadata[customer_reference]", c);
            }
            if let Some(e) = &r.email {
                form.append_pair("customer_email", e);
            }
            for (k, v) in &r.metadata {
                form.append_pair(&format!("metadata[{k}]"), v);
            }
            form.finish()
        };
        let resp = client
            .post(url)
            .bearer_auth(&account.api_key)
            .header("Idempotency-Key", key)
            .header("content-type", "application/x-www-form-urlencoded")
            .timeout(crate::provider::CALL_TIMEOUT)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                SendError::temporary(format!(
                    "the payment provider could not be reached: {}",
                    causes(e)
                ))
            })?;
        let status = resp.status();
        let wait = crate::provider::retry_after(resp.headers());
        let bytes = crate::provider::body_within(resp, 64 * 1024).await?;
        let answer: SessionAnswer = serde_json::from_slice(&bytes).unwrap_or_default();
        if status.is_success() {
            return match (answer.id, answer.url) {
                (Some(session), Some(url)) if !session.is_empty() && url.starts_with("http") => {
                    Ok(Link { session, url })
                }
                _ => Err(SendError::permanent(
                    "the payment provider answered without a session id and link",
                )),
            };
        }
        let detail = match answer.error {
            Some(ErrorAnswer {
                message: Some(m),
                code: Some(c),
            }) => format!(": {m} ({c})"),
            Some(ErrorAnswer {
                message: Some(m), ..
            }) => format!(": {m}"),
            _ => String::new(),
        };
        Err(SendError {
            reason: format!("the payment provider answered {status}{detail}"),
            permanent: status.is_client_error() && status != reqwest::StatusCode::TOO_MANY_REQUESTS,
            retry_after: wait,
        })
    }

    fn event(
        &self,
        secret: &str,
        signature: Option<&[u8]>,
        body: &[u8],
        now: i64,
    ) -> Result<Event, ChannelError> {
        if body.len() > WEBHOOK_MAX_BYTES {
            return Err(ChannelError::Invalid(
                "body_too_large",
                format!("a webhook body has at most {WEBHOOK_MAX_BYTES} bytes"),
            ));
        }
        verify(secret, signature, body, now)?;
        read_event(body)
    }
}

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

fn unsigned(why: &str) -> ChannelError {
    ChannelError::Invalid("invalid_signature", format!("Stripe-Signature {why}"))
}

fn unhex(s: &[u8]) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    let nibble = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    s.chunks(2)
        .map(|p| Some((nibble(p[0])? << 4) | nibble(p[1])?))
        .collect()
}

/// Checks `Stripe-Signature: t=<seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>` (more
/// than one `v1` when the secret is being rolled; other schemes ignored) in constant time, `t`
/// within [`TOLERANCE`] of `now`.
pub fn verify(
    secret: &str,
    header: Option<&[u8]>,
    body: &[u8],
    now: i64,
) -> Result<(), ChannelError> {
    use hmac::{KeyInit, Mac};
    let header = header.ok_or_else(|| unsigned("is missing"))?;
    if header.len() > 1_024 {
        return Err(unsigned("is too long"));
    }
    let header = std::str::from_utf8(header).map_err(|_| unsigned("is not text"))?;
    let mut t: Option<i64> = None;
    let mut tags = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse().ok(),
            Some(("v1", v)) => tags.push(
                unhex(v.as_bytes())
                    .ok_or_else(|| unsigned("has a v1 that is not 64 lower-case hex digits"))?,
            ),
            _ => {}
        }
    }
    let t = t.ok_or_else(|| unsigned("has no timestamp t="))?;
    if tags.is_empty() {
        return Err(unsigned("has no v1 signature"));
    }
    if (now - t).unsigned_abs() > TOLERANCE.as_secs() {
        return Err(ChannelError::Invalid(
            "invalid_signature",
            format!(
                "the webhook was signed at {t}, more than {} s from now: a replay, or a clock out of step",
                TOLERANCE.as_secs()
            ),
        ));
    }
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret.as_bytes())
        .map_err(|_| unsigned("cannot be checked"))?;
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    // every tag is compared (in constant time each), so the time taken says nothing of which
    let mut ok = false;
    for tag in &tags {
        ok |= mac.clone().verify_slice(tag).is_ok();
    }
    if ok {
        Ok(())
    } else {
        Err(unsigned("does not match the body under the webhook secret"))
    }
}

/// The header a body signed at `t` carries (for tests and stand-ins).
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac =
        <HmacSha256 as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let tag: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={t},v1={tag}")
}

/// What a payment came to, as an event tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Happened {
    /// Paid: `checkout.session.completed` with `payment_status` `paid` (or
    /// `no_payment_required`), `checkout.session.async_payment_succeeded`,
    /// `payment_intent.succeeded`.
    Paid,
    /// The customer completed the page but the money is still on its way (a bank transfer or
    /// debit): `checkout.session.completed` with `payment_status` `unpaid`.
    Pending,
    /// Refused — a card declined, insufficient funds: `payment_intent.payment_failed`.
    Failed { reason: String },
    /// Refused as fraud: `payment_intent.payment_failed` whose decline code is `fraudulent`,
    /// `stolen_card`, `lost_card` or `merchant_blacklist`, or whose charge was blocked by the
    /// provider's risk checks.
    Fraudulent { reason: String },
    /// Given up: the link expired unpaid (`checkout.session.expired`), the payment was
    /// cancelled (`payment_intent.canceled`).
    Stopped { reason: String },
    /// A bank transfer or debit failed after the customer completed the page:
    /// `checkout.session.async_payment_failed`.
    BankTransferFailed { reason: String },
    /// Any other event: acknowledged, nothing to do.
    Other,
}

/// A webhook's event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The provider's event id (each is taken once).
    pub id: String,
    /// The event's type, as the provider names it.
    pub kind: String,
    /// The payment's own id, from the metadata (none: not a payment of ours).
    pub payment: Option<String>,
    pub happened: Happened,
}

fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

/// Reads an event: `id`, `type` and `data.object` (a Checkout Session or a PaymentIntent, the
/// payment's id in its `metadata`).
pub fn read_event(body: &[u8]) -> Result<Event, ChannelError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ChannelError::Invalid("invalid_body", format!("not an event: {e}")))?;
    let (Some(id), Some(kind)) = (text(&v, &["id"]), text(&v, &["type"])) else {
        return Err(ChannelError::Invalid(
            "invalid_body",
            "an event has an id and a type".into(),
        ));
    };
    let object = v.get("data").and_then(|d| d.get("object"));
    let Some(object) = object else {
        return Err(ChannelError::Invalid(
            "invalid_body",
            "an event has data.object".into(),
        ));
    };
    let payment = text(object, &["metadata", PAYMENT_KEY]).map(str::to_owned);
    let decline = || {
        let error = object.get("last_payment_error");
        let message = error
            .and_then(|e| text(e, &["message"]))
            .unwrap_or("the payment was refused");
        let code = error
            .and_then(|e| text(e, &["decline_code"]).or_else(|| text(e, &["code"])))
            .unwrap_or("");
        let blocked = object
            .pointer("/charges/data/0/outcome/type")
            .and_then(Value::as_str)
            == Some("blocked");
        let reason = if code.is_empty() {
            message.to_owned()
        } else {
            format!("{message} ({code})")
        };
        if blocked
            || matches!(
                code,
                "fraudulent" | "stolen_card" | "lost_card" | "merchant_blacklist"
            )
        {
            Happened::Fraudulent { reason }
        } else {
            Happened::Failed { reason }
        }
    };
    let happened = match kind {
        "checkout.session.completed" => match text(object, &["payment_status"]) {
            Some("paid" | "no_payment_required") => Happened::Paid,
            _ => Happened::Pending,
        },
        "checkout.session.async_payment_succeeded" | "payment_intent.succeeded" => Happened::Paid,
        "checkout.session.async_payment_failed" => Happened::BankTransferFailed {
            reason: "the bank transfer or debit failed".into(),
        },
        "checkout.session.expired" => Happened::Stopped {
            reason: "the payment link expired unpaid".into(),
        },
        "payment_intent.canceled" => Happened::Stopped {
            reason: format!(
                "the payment was cancelled ({})",
                text(object, &["cancellation_reason"]).unwrap_or("no reason given")
            ),
        },
        "payment_intent.payment_failed" => decline(),
        _ => Happened::Other,
    };
    Ok(Event {
        id: id.to_owned(),
        kind: kind.to_owned(),
        payment,
        happened,
    })
}
