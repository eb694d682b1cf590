//! Payment modules (seed 003 §11.2): the data of a `payment_module` business object — which
//! provider's contract it speaks, at which base URL, where the customer's browser goes after
//! paying, how long a link lasts and the message carrying it. The module's API key is its
//! write-only secret, the provider's webhook signing secret its write-only webhook secret.

use serde::{Deserialize, Serialize};

use crate::model::FieldError;

/// Bounds of payment modules.
pub mod limits {
    /// Longest URL.
    pub const URL: usize = 2_000;
    /// Shortest and longest life of a payment link, in minutes (the provider's own bounds).
    pub const LINK_MINUTES_MIN: u32 = 30;
    pub const LINK_MINUTES_MAX: u32 = 1_440;
    /// Longest message carrying the link, in characters.
    pub const MESSAGE: usize = 1_000;
}

/// The contract a payment provider speaks.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PaymentProviderKind {
    /// Stripe's Checkout Sessions and signed webhooks.
    #[default]
    Stripe,
}

fn yes() -> bool {
    true
}

fn default_minutes() -> u32 {
    60
}

fn default_message() -> String {
    "To pay {{ name }} ({{ amount }} {{ currency }}), follow this link: {{ url }}".into()
}

/// A payment module: the data of a `payment_module` business object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentModuleData {
    #[serde(default)]
    pub provider: PaymentProviderKind,
    /// The provider's API (`https://api.stripe.com`); reached through the outbound-address
    /// policy.
    pub base_url: String,
    /// An inactive module takes no payment (*Pay an invoice* goes to *Payment error*).
    #[serde(default = "yes")]
    pub active: bool,
    /// It holds the provider's test keys: no real money moves.
    #[serde(default)]
    pub sandbox: bool,
    /// Where the customer's browser goes once paid, and when they give up.
    pub success_url: String,
    pub cancel_url: String,
    /// How long a payment link works, in minutes (30 to 1 440; default 60).
    #[serde(default = "default_minutes")]
    pub link_minutes: u32,
    /// The message carrying the link (in the conversation, by SMS or by email): `{{ url }}`
    /// the link, `{{ amount }}`, `{{ currency }}` and `{{ name }}` what is paid.
    #[serde(default = "default_message")]
    pub link_message: String,
    /// The sender of the SMS mode's message (a number or sender id of the SMS account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms_sender: Option<String>,
    /// The address the email mode's message comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_from: Option<String>,
}

fn bad(message: String) -> FieldError {
    FieldError {
        field: "data",
        message,
    }
}

fn check_url(name: &str, url: &str) -> Result<(), FieldError> {
    let lower = url.trim().to_ascii_lowercase();
    if url.chars().count() > limits::URL
        || url.chars().any(char::is_control)
        || !(lower.starts_with("http://") || lower.starts_with("https://"))
    {
        return Err(bad(format!(
            "{name} is an http:// or https:// URL of at most {} characters",
            limits::URL
        )));
    }
    Ok(())
}

impl PaymentModuleData {
    /// Checks a module: its URLs `http(s)` ones, its link's life within the provider's bounds,
    /// its message bounded and carrying `{{ url }}`, its email sender an address.
    pub fn check(&self) -> Result<(), FieldError> {
        check_url("base_url", &self.base_url)?;
        check_url("success_url", &self.success_url)?;
        check_url("cancel_url", &self.cancel_url)?;
        if !(limits::LINK_MINUTES_MIN..=limits::LINK_MINUTES_MAX).contains(&self.link_minutes) {
            return Err(bad(format!(
                "link_minutes is {} to {}",
                limits::LINK_MINUTES_MIN,
                limits::LINK_MINUTES_MAX
            )));
        }
        let n = self.link_message.chars().count();
        if n == 0 || n > limits::MESSAGE || !self.link_message.contains("{{ url }}") {
            return Err(bad(format!(
                "link_message has 1 to {} characters and carries the link as {{{{ url }}}}",
                limits::MESSAGE
            )));
        }
        if let Some(s) = &self.sms_sender
            && (s.trim().is_empty() || s.chars().count() > 64 || s.chars().any(char::is_control))
        {
            return Err(bad("sms_sender has 1 to 64 characters".into()));
        }
        if let Some(e) = &self.email_from
            && !email_address::EmailAddress::is_valid(e)
        {
            return Err(bad(format!("email_from '{e}' is not an email address")));
        }
        Ok(())
    }

    /// The message carrying `url` for an amount.
    pub fn message(&self, url: &str, amount: &str, currency: &str, name: &str) -> String {
        crate::exec::render(&self.link_message, &|key| match key {
            "url" => Some(url.to_owned()),
            "amount" => Some(amount.to_owned()),
            "currency" => Some(currency.to_owned()),
            "name" => Some(name.to_owned()),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_module_is_checked_and_renders_its_message() {
        let m: PaymentModuleData = serde_json::from_value(json!({
            "base_url": "https://api.stripe.com",
            "success_url": "https://shop.example/paid",
            "cancel_url": "https://shop.example/cancelled"
        }))
        .unwrap();
        assert!(m.check().is_ok());
        assert!(m.active && m.link_minutes == 60);
        assert_eq!(
            m.message("https://pay/x", "49.90", "EUR", "F-1"),
            "To pay F-1 (49.90 EUR), follow this link: https://pay/x"
        );
        for bad in [
            json!({"base_url": "ftp://x"}),
            json!({"link_minutes": 10}),
            json!({"link_minutes": 2000}),
            json!({"link_message": "no link"}),
            json!({"email_from": "nobody"}),
            json!({"sms_sender": ""}),
        ] {
            let mut v = serde_json::to_value(&m).unwrap();
            v.as_object_mut()
                .unwrap()
                .extend(bad.as_object().unwrap().clone());
            let d: PaymentModuleData = serde_json::from_value(v).unwrap();
            assert!(d.check().is_err(), "{bad}");
        }
    }
}

/// Where a payment is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Being asked of the provider.
    Creating,
    /// The link is out; nothing paid yet.
    Pending,
    /// The customer completed the page; the money is on its way (a bank transfer or debit).
    Processing,
    Succeeded,
    Failed,
    Fraudulent,
    Stopped,
    BankTransferError,
    /// No link could be had or sent.
    Error,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 9] = [
        PaymentStatus::Creating,
        PaymentStatus::Pending,
        PaymentStatus::Processing,
        PaymentStatus::Succeeded,
        PaymentStatus::Failed,
        PaymentStatus::Fraudulent,
        PaymentStatus::Stopped,
        PaymentStatus::BankTransferError,
        PaymentStatus::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Creating => "creating",
            PaymentStatus::Pending => "pending",
            PaymentStatus::Processing => "processing",
            PaymentStatus::Succeeded => "succeeded",
            PaymentStatus::Failed => "failed",
            PaymentStatus::Fraudulent => "fraudulent",
            PaymentStatus::Stopped => "stopped",
            PaymentStatus::BankTransferError => "bank_transfer_error",
            PaymentStatus::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<PaymentStatus> {
        PaymentStatus::ALL.into_iter().find(|v| v.as_str() == s)
    }
}
