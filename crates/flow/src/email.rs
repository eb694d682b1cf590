//! An inbound email as routings see it: the system variable `email` of an email interaction
//! (`{{ email.subject }}`, `{{ email.from }}` …), filled by the email channel's parser and read
//! by the email actions (priority, keywords, language, transfer).

use serde::{Deserialize, Serialize};

/// The priority the sender gave the email (see `test_email_priority` for the headers read).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    High,
    #[default]
    Normal,
    Low,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::High => "high",
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }
}

/// An attachment of the email (its bytes are kept as an upload at `url`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailAttachment {
    pub name: String,
    /// The declared MIME type (lower case).
    #[serde(rename = "type")]
    pub content_type: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
}

/// Why automatic sends to this email are suppressed (RFC 3834), if they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoReason {
    /// `Auto-Submitted` other than `no`.
    AutoSubmitted,
    /// `Precedence: bulk`, `junk` or `list`.
    Precedence,
    /// `X-Autoreply` / `X-Autorespond`.
    Autoreply,
    /// `X-Auto-Response-Suppress` asks for no automatic answer.
    ResponseSuppressed,
    /// A list message (`List-Id`, `List-Unsubscribe`).
    MailingList,
    /// Sent from one of the deployment's own mailboxes (a loop).
    OwnAddress,
    /// No sender to answer (`MAIL FROM:<>`: a bounce).
    NullSender,
}

/// The inbound email: the contract's fields (`from`, `to`, `cc`, `subject`, `text`, `html`,
/// `message_id`, `in_reply_to`, `priority`, `attachments`) and what threading and the loop
/// protection read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    /// The sender's address (lower case).
    pub from: String,
    /// The sender's display name, if given.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from_name: String,
    #[serde(default)]
    pub to: Vec<String>,
    #[serde(default)]
    pub cc: Vec<String>,
    /// `Reply-To`, when it names another address than the sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    #[serde(default)]
    pub subject: String,
    /// The text body (the HTML converted to text when there is no text part).
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub html: String,
    /// `Message-ID` without its angle brackets.
    #[serde(default)]
    pub message_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    /// `References`, oldest first, without angle brackets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    #[serde(default)]
    pub priority: Priority,
    #[serde(default)]
    pub attachments: Vec<EmailAttachment>,
    /// `Date` as RFC 3339, when the header reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Set when automatic sends to the sender are suppressed (RFC 3834).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automatic: Option<AutoReason>,
    /// The raw message, kept as an upload.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub raw_url: String,
}

impl Email {
    /// The address an answer goes to: `Reply-To` if given, else the sender.
    pub fn answer_to(&self) -> &str {
        self.reply_to.as_deref().unwrap_or(&self.from)
    }

    /// The message ids a reply to this email names (`In-Reply-To` then `References`, newest
    /// first), for threading.
    pub fn thread_ids(&self) -> impl Iterator<Item = &str> {
        self.in_reply_to
            .iter()
            .map(String::as_str)
            .chain(self.references.iter().rev().map(String::as_str))
    }
}

/// The reference of an interaction written in the subjects of our emails (`[#1a2b3c4d]`):
/// the last 8 hexadecimal digits of its id (the random part of a UUID v7).
pub fn subject_reference(interaction: uuid::Uuid) -> String {
    let hex = interaction.simple().to_string();
    format!("[#{}]", &hex[hex.len() - 8..])
}

/// The references written in a subject (`[#1a2b3c4d]`), to match against open interactions.
pub fn subject_references(subject: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = subject;
    while let Some(i) = rest.find("[#") {
        let tail = &rest[i + 2..];
        if tail.len() >= 9
            && tail.as_bytes()[8] == b']'
            && tail[..8].bytes().all(|b| b.is_ascii_hexdigit())
        {
            out.push(tail[..8].to_ascii_lowercase());
        }
        rest = &rest[i + 2..];
        if out.len() >= 10 {
            break;
        }
    }
    out
}

/// Whether `interaction`'s subject reference is `reference` (8 lower-case hex digits).
pub fn has_reference(interaction: uuid::Uuid, reference: &str) -> bool {
    interaction.simple().to_string().ends_with(reference)
}

/// Text folded for matching: decomposed, accents removed, lower case (aho-corasick folds
/// ASCII only).
pub fn fold(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfkd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_references_are_found_and_bounded() {
        let id = uuid::Uuid::parse_str("0190f1a2-0000-7000-8000-00001a2b3c4d").unwrap();
        let r = subject_reference(id);
        assert_eq!(r, "[#1a2b3c4d]");
        let found = subject_references(&format!("Re: Re: your order {r} [#zz] [#12345678"));
        assert_eq!(found, vec!["1a2b3c4d".to_owned()]);
        assert!(has_reference(id, &found[0]));
        assert!(subject_references(&"[#".repeat(10_000)).is_empty());
    }

    #[test]
    fn folding_removes_case_and_accents() {
        assert_eq!(fold("Réclamation ÉTÉ"), "reclamation ete");
        assert_eq!(fold("Straße"), "straße");
    }
}
