//! Entry points: the channel accounts that receive interactions, bound to routings.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::{ChannelFamily, FieldError, Routing, RoutingKind, VersionRecord, VersionStatus};

/// Identifier of an entry point.
pub type EntryPointId = Uuid;

/// The channel of an entry point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Messages posted to the HTTP API; replies delivered to a callback URL.
    Http,
    /// The chat page and WebSocket served by Switchyard.
    WebChat,
    /// A WhatsApp Business phone number (the Cloud API).
    #[serde(rename = "whatsapp")]
    WhatsApp,
    /// A Telegram bot.
    Telegram,
    /// A Facebook page's Messenger.
    Messenger,
    /// A mailbox: emails received by the SMTP listener or read from an IMAP server.
    Email,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Http => "http",
            Channel::WebChat => "web_chat",
            Channel::WhatsApp => "whatsapp",
            Channel::Telegram => "telegram",
            Channel::Messenger => "messenger",
            Channel::Email => "email",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [
            Channel::Http,
            Channel::WebChat,
            Channel::WhatsApp,
            Channel::Telegram,
            Channel::Messenger,
            Channel::Email,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
    /// Whether the channel is a provider's (WhatsApp, Telegram, Messenger): it has an address
    /// there, credentials, and a webhook.
    pub fn is_provider(self) -> bool {
        matches!(
            self,
            Channel::WhatsApp | Channel::Telegram | Channel::Messenger
        )
    }
    pub fn family(self) -> ChannelFamily {
        match self {
            Channel::Email => ChannelFamily::Email,
            _ => ChannelFamily::Messaging,
        }
    }
    /// Whether a version in test may be set on it. Seed 001 §4: test versions are for external
    /// entry points (WhatsApp, Telegram, Messenger, and the HTTP channel), not for chat modules;
    /// seed 002 §4: a mailbox takes one too.
    pub fn takes_test_versions(self) -> bool {
        !matches!(self, Channel::WebChat)
    }
}

/// An entry point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EntryPoint {
    pub id: EntryPointId,
    /// Unique code used in channel URLs.
    pub reference: String,
    pub name: String,
    pub channel: Channel,
    pub start_routing_id: Option<Uuid>,
    pub end_routing_id: Option<Uuid>,
    /// A development version in test of the start routing, used instead of its production version.
    pub test_version_id: Option<Uuid>,
    /// Region for phone numbers written without a country code (ISO 3166 alpha-2); none: the
    /// deployment's `phone_region` setting.
    pub phone_region: Option<String>,
    /// Where replies of the HTTP channel are posted.
    pub callback_url: Option<String>,
    /// The entry point's own address at its provider: the WhatsApp phone number id, the
    /// Telegram bot's username, the Facebook page id.
    #[serde(default)]
    pub address: Option<String>,
    /// Other addresses of a mailbox (email entry points only), lower case.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// The channel's secret, sealed by the shell (the HTTP channel's signing key); never shown.
    #[serde(default)]
    pub secret: Option<String>,
    /// Customer routing rules (seed 004): when set, new conversations go to agents by these
    /// rules instead of a smart routing.
    #[serde(default)]
    pub customer_routing: Option<CustomerRoutingRules>,
    pub revision: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

pub use crate::effect::RuleAlgorithm;

/// A group, the algorithm it distributes by (none: the group's own) and the message the
/// customer gets once it is assigned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleGroup {
    pub group_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<RuleAlgorithm>,
    /// Empty: no message.
    #[serde(default)]
    pub message: String,
}

/// What happens when a returning customer's owner is not online.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
pub enum OwnerOfflineRule {
    /// Wait for the owner, even offline.
    KeepUser,
    /// A group (while anyone is online; else the owner after all).
    Group {
        group_id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        algorithm: Option<RuleAlgorithm>,
        #[serde(default)]
        message: String,
    },
}

/// The customer routing options of seed 004.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerRoutingRules {
    /// A new customer while at least one user is online: this group, then its message once an
    /// agent has the conversation.
    pub new_online: RuleGroup,
    /// A new customer while every user is offline: this group, its message (out of office) at
    /// once.
    pub new_offline: RuleGroup,
    /// A returning customer whose owner is not online.
    pub owner_offline: OwnerOfflineRule,
}

/// Longest message of a customer routing rule.
pub const RULE_MESSAGE_MAX: usize = 2_000;

impl CustomerRoutingRules {
    /// The groups the rules name.
    pub fn groups(&self) -> Vec<Uuid> {
        let mut g = vec![self.new_online.group_id, self.new_offline.group_id];
        if let OwnerOfflineRule::Group { group_id, .. } = &self.owner_offline {
            g.push(*group_id);
        }
        g
    }

    /// Checks the messages' lengths.
    pub fn check(&self) -> Result<(), FieldError> {
        let messages = [
            Some(&self.new_online.message),
            Some(&self.new_offline.message),
            match &self.owner_offline {
                OwnerOfflineRule::Group { message, .. } => Some(message),
                OwnerOfflineRule::KeepUser => None,
            },
        ];
        if messages
            .into_iter()
            .flatten()
            .any(|m| m.chars().count() > RULE_MESSAGE_MAX)
        {
            return Err(err(
                "customer_routing",
                format!("a rule's message has at most {RULE_MESSAGE_MAX} characters"),
            ));
        }
        Ok(())
    }
}

fn err(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

/// Checks a phone region: two upper-case letters.
pub fn check_region(region: &str) -> Result<String, FieldError> {
    if region.len() == 2 && region.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(region.to_owned())
    } else {
        Err(err(
            "phone_region",
            "must be an ISO 3166 alpha-2 code such as 'FR'",
        ))
    }
}

/// Checks a provider address: a WhatsApp phone number id or a Facebook page id are digits (1
/// to 32), a Telegram bot's username 5 to 32 letters, digits and underscores.
pub fn check_address(channel: Channel, address: &str) -> Result<String, FieldError> {
    let ok = match channel {
        Channel::WhatsApp | Channel::Messenger => {
            (1..=32).contains(&address.len()) && address.bytes().all(|b| b.is_ascii_digit())
        }
        Channel::Telegram => {
            (5..=32).contains(&address.len())
                && address
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        }
        Channel::Email => return check_mailbox_address(address),
        Channel::Http | Channel::WebChat => false,
    };
    if ok {
        return Ok(address.to_owned());
    }
    Err(err(
        "address",
        match channel {
            Channel::WhatsApp => "must be the WhatsApp phone number id (digits)",
            Channel::Messenger => "must be the Facebook page id (digits)",
            Channel::Telegram => "must be the bot's username (5 to 32 letters, digits or _)",
            Channel::Email => "must be an email address",
            Channel::Http | Channel::WebChat => "this channel has no address",
        },
    ))
}

/// Most aliases of a mailbox.
pub const ALIASES_MAX: usize = 20;

/// Checks a mailbox address (`support@example.com`): a valid address of at most 254
/// characters, kept in lower case.
pub fn check_mailbox_address(address: &str) -> Result<String, FieldError> {
    let a = address.trim().to_lowercase();
    if a.len() <= 254 && email_address::EmailAddress::is_valid(&a) && a.contains('@') {
        Ok(a)
    } else {
        Err(err(
            "address",
            "must be an email address such as support@example.com",
        ))
    }
}

/// Checks a mailbox's aliases: valid addresses, none twice, at most [`ALIASES_MAX`].
pub fn check_aliases(address: &str, aliases: &[String]) -> Result<Vec<String>, FieldError> {
    if aliases.len() > ALIASES_MAX {
        return Err(err(
            "aliases",
            format!("a mailbox has at most {ALIASES_MAX} aliases"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for a in aliases {
        let a = check_mailbox_address(a)
            .map_err(|_| err("aliases", format!("'{a}' is not an email address")))?;
        if a == address || out.contains(&a) {
            return Err(err("aliases", format!("'{a}' is listed twice")));
        }
        out.push(a);
    }
    Ok(out)
}

/// Checks a callback URL: `http` or `https`, at most 2 000 characters.
pub fn check_callback(url: &str) -> Result<String, FieldError> {
    let ok_scheme = url.starts_with("http://") || url.starts_with("https://");
    if !ok_scheme || url.len() > 2_000 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(err(
            "callback_url",
            "must be an http:// or https:// URL of at most 2 000 characters",
        ));
    }
    Ok(url.to_owned())
}

/// Checks the routings bound to an entry point: the start routing is an interaction-start
/// routing of the channel's family, the end routing an interaction-end one, and the version in
/// test a development version in test of the start routing, on a channel that takes them.
pub fn check_bindings(
    channel: Channel,
    start: Option<&Routing>,
    end: Option<&Routing>,
    test: Option<&VersionRecord>,
) -> Result<(), FieldError> {
    let family = channel.family();
    if let Some(r) = start {
        if r.kind != RoutingKind::InteractionStart {
            return Err(err(
                "start_routing_id",
                format!("'{}' is an interaction-end routing", r.reference),
            ));
        }
        if r.channel_family != family {
            return Err(err(
                "start_routing_id",
                format!(
                    "'{}' is a {} routing; this channel is {}",
                    r.reference,
                    r.channel_family.as_str(),
                    family.as_str()
                ),
            ));
        }
    }
    if let Some(r) = end {
        if r.kind != RoutingKind::InteractionEnd {
            return Err(err(
                "end_routing_id",
                format!("'{}' is not an interaction-end routing", r.reference),
            ));
        }
        if r.channel_family != family {
            return Err(err(
                "end_routing_id",
                format!(
                    "'{}' is a {} routing; this channel is {}",
                    r.reference,
                    r.channel_family.as_str(),
                    family.as_str()
                ),
            ));
        }
    }
    if let Some(v) = test {
        if !channel.takes_test_versions() {
            return Err(err(
                "test_version_id",
                "test versions are for external entry points, not for the web chat (seed 001 §4); use the preview",
            ));
        }
        if start.is_none_or(|r| r.id != v.routing_id) {
            return Err(err(
                "test_version_id",
                "the version in test must belong to the start routing",
            ));
        }
        if v.status != VersionStatus::Development || !v.in_test {
            return Err(err(
                "test_version_id",
                format!("version '{}' is not in test", v.name),
            ));
        }
    }
    Ok(())
}
