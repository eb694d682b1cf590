//! The email channel: parsing an inbound message (MIME with mail-parser) into the `email`
//! system variable and its attachments, the loop and auto-reply protection of RFC 3834, and
//! the channel's limits. Receiving (the SMTP listener, IMAP) and sending (the relay) live in
//! [`crate::smtp`] and the runtime.

use flow::email::{AutoReason, Email, EmailAttachment};
use flow::exec::Inbound;
use mail_parser::{Addr, Address, HeaderName, HeaderValue, MessageParser, MimeHeaders};

use crate::{Channel, ChannelError, Limits, Received};

/// The channel's bounds.
pub mod limits {
    /// Largest message accepted by default (setting `smtp_max_message_bytes`).
    pub const MESSAGE_BYTES: usize = 25 * 1024 * 1024;
    /// Largest message the parser reads (the most `smtp_max_message_bytes` may be).
    pub const MESSAGE_BYTES_MAX: usize = 100 * 1024 * 1024;
    /// Most attachments read from one email (the raw message keeps any others).
    pub const ATTACHMENTS: usize = 50;
    /// Characters of the text body kept in the `email` variable (the raw message keeps all).
    pub const TEXT_CHARS: usize = 100_000;
    /// Characters of the HTML body kept in the `email` variable.
    pub const HTML_CHARS: usize = 200_000;
    /// Characters of a subject kept.
    pub const SUBJECT_CHARS: usize = 998;
    /// Recipients listed in `to` and `cc` (each).
    pub const RECIPIENTS: usize = 100;
    /// Message ids read from `References`.
    pub const REFERENCES: usize = 50;
    /// Longest address (RFC 5321: 64 + 1 + 255).
    pub const ADDRESS: usize = 320;
    /// Longest message id.
    pub const MESSAGE_ID: usize = 998;
}

/// The email channel.
pub struct EmailChannel;

impl Channel for EmailChannel {
    fn kind(&self) -> flow::entry_point::Channel {
        flow::entry_point::Channel::Email
    }

    fn limits(&self) -> Limits {
        Limits {
            message_id: limits::MESSAGE_ID,
            address: limits::ADDRESS,
            text_chars: limits::TEXT_CHARS,
            buttons: 0,
            button_chars: 0,
            attachments: limits::ATTACHMENTS,
        }
    }
}

/// An existing mailbox read over IMAP (an email entry point's secrets `imap_host`, `imap_port`,
/// `imap_username`, `imap_password`, and `imap_tls`: `tls` — the default — or `none` for a
/// server on a trusted network).
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImapAccount {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: String,
    pub tls: bool,
}

impl std::fmt::Debug for ImapAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapAccount")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

/// What becomes of a message once handled.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ImapHandled {
    /// Flagged `\Seen` (the default).
    #[default]
    Seen,
    /// Moved to this folder.
    Move(String),
}

impl ImapHandled {
    /// `seen` or `move:<folder>`.
    pub fn parse(s: &str) -> Option<ImapHandled> {
        match s {
            "seen" => Some(ImapHandled::Seen),
            _ => {
                let folder = s.strip_prefix("move:")?.trim();
                (!folder.is_empty()
                    && folder.len() <= 200
                    && !folder.chars().any(|c| c.is_control() || c == '"'))
                .then(|| ImapHandled::Move(folder.to_owned()))
            }
        }
    }
}

/// The secret names of an IMAP mailbox.
pub const IMAP_SECRETS: &[&str] = &[
    "imap_host",
    "imap_port",
    "imap_username",
    "imap_password",
    "imap_tls",
];

impl ImapAccount {
    /// The account from its secrets by name (`imap_port` defaults to 993 with TLS, 143
    /// without); `Err` says which one is wrong, without its value.
    pub fn of(get: impl Fn(&str) -> Option<String>) -> Result<ImapAccount, String> {
        let host = get("imap_host").ok_or("imap_host is needed")?;
        if host.is_empty()
            || host.len() > 253
            || !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b':')
        {
            return Err("imap_host must be a host name or address".into());
        }
        let tls = match get("imap_tls").as_deref() {
            None | Some("tls") => true,
            Some("none") => false,
            Some(_) => return Err("imap_tls is 'tls' (the default) or 'none'".into()),
        };
        let port = match get("imap_port") {
            None => {
                if tls {
                    993
                } else {
                    143
                }
            }
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or("imap_port must be a port number")?,
        };
        let username = get("imap_username").ok_or("imap_username is needed")?;
        let password = get("imap_password").ok_or("imap_password is needed")?;
        for (name, v) in [("imap_username", &username), ("imap_password", &password)] {
            if v.is_empty() || v.chars().count() > 1_000 || v.chars().any(|c| c.is_control()) {
                return Err(format!(
                    "{name} must have 1 to 1000 characters and no control character"
                ));
            }
        }
        Ok(ImapAccount {
            host,
            port,
            username,
            password,
            tls,
        })
    }

    /// A secret's value by name (to merge a change over the kept ones).
    pub fn get(&self, name: &str) -> Option<String> {
        Some(match name {
            "imap_host" => self.host.clone(),
            "imap_port" => self.port.to_string(),
            "imap_username" => self.username.clone(),
            "imap_password" => self.password.clone(),
            "imap_tls" => {
                if self.tls {
                    "tls".into()
                } else {
                    "none".into()
                }
            }
            _ => return None,
        })
    }
}

/// An attachment's bytes, to keep as an upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

/// A parsed email: the message for the routing and the attachments' bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    pub received: Received,
    pub attachments: Vec<Part>,
}

impl Parsed {
    pub fn email(&self) -> &Email {
        self.received
            .message
            .email
            .as_deref()
            .expect("a parsed email carries its email")
    }

    pub fn email_mut(&mut self) -> &mut Email {
        self.received
            .message
            .email
            .get_or_insert_with(Default::default)
    }
}

/// Where the message came from, as the transport saw it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Envelope<'a> {
    /// `MAIL FROM` (`Some("")` for the null sender of a bounce); `None` when unknown (IMAP).
    pub mail_from: Option<&'a str>,
}

fn bad(code: &'static str, message: impl Into<String>) -> ChannelError {
    ChannelError::Invalid(code, message.into())
}

fn first<'x>(
    headers: &'x [mail_parser::Header<'x>],
    name: HeaderName<'_>,
) -> Option<&'x HeaderValue<'x>> {
    // the first occurrence: a second `From:` or `Subject:` further down is not taken as real
    headers.iter().find(|h| h.name == name).map(|h| &h.value)
}

fn addresses(value: Option<&HeaderValue<'_>>) -> Vec<(String, String)> {
    let Some(HeaderValue::Address(address)) = value else {
        return Vec::new();
    };
    let list: Vec<&Addr<'_>> = match address {
        Address::List(list) => list.iter().collect(),
        Address::Group(groups) => groups.iter().flat_map(|g| g.addresses.iter()).collect(),
    };
    list.into_iter()
        .filter_map(|a| {
            let address = a.address()?.trim().to_lowercase();
            (address.contains('@') && address.chars().count() <= limits::ADDRESS).then(|| {
                (
                    address,
                    a.name().map(|n| n.trim().to_owned()).unwrap_or_default(),
                )
            })
        })
        .take(limits::RECIPIENTS)
        .collect()
}

fn ids(value: Option<&HeaderValue<'_>>) -> Vec<String> {
    let list: Vec<&str> = match value {
        Some(HeaderValue::Text(t)) => vec![t.as_ref()],
        Some(HeaderValue::TextList(l)) => l.iter().map(|t| t.as_ref()).collect(),
        _ => Vec::new(),
    };
    list.into_iter()
        .map(|id| {
            id.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
        .filter(|id| !id.is_empty() && id.len() <= limits::MESSAGE_ID)
        .collect()
}

fn text_of(value: Option<&HeaderValue<'_>>) -> Option<String> {
    match value {
        Some(HeaderValue::Text(t)) => Some(t.to_string()),
        Some(HeaderValue::TextList(l)) => Some(l.join(", ")),
        _ => None,
    }
}

fn truncated(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => text[..at].to_owned(),
        None => text.to_owned(),
    }
}

/// Why automatic answers to this message are suppressed (RFC 3834 and the usual vendor
/// headers), if they are; `own` says whether an address is one of the deployment's mailboxes.
pub fn automatic<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    from: &str,
    envelope: Envelope<'_>,
    own: &dyn Fn(&str) -> bool,
) -> Option<AutoReason> {
    if envelope.mail_from.is_some_and(|f| f.trim().is_empty()) {
        return Some(AutoReason::NullSender);
    }
    if own(from) {
        return Some(AutoReason::OwnAddress);
    }
    for (name, value) in headers {
        let name = name.trim();
        let value = value.trim().to_ascii_lowercase();
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        if is("auto-submitted") && value != "no" && !value.is_empty() {
            return Some(AutoReason::AutoSubmitted);
        }
        if is("precedence") && matches!(value.as_str(), "bulk" | "junk" | "list") {
            return Some(AutoReason::Precedence);
        }
        if is("x-autoreply") || is("x-autorespond") {
            return Some(AutoReason::Autoreply);
        }
        if is("x-auto-response-suppress")
            && value
                .split(',')
                .any(|v| matches!(v.trim(), "all" | "oof" | "autoreply"))
        {
            return Some(AutoReason::ResponseSuppressed);
        }
        if is("list-id") || is("list-unsubscribe") {
            return Some(AutoReason::MailingList);
        }
    }
    None
}

/// Parses a raw message. Never panics, whatever the bytes; refuses (`invalid_email`) only a
/// message without a readable sender address. The deduplication key is the `Message-ID`, or —
/// without one — a digest of the bytes (the same message delivered again is the same key).
pub fn parse(
    raw: &[u8],
    envelope: Envelope<'_>,
    own: &dyn Fn(&str) -> bool,
) -> Result<Parsed, ChannelError> {
    if raw.len() > limits::MESSAGE_BYTES_MAX {
        return Err(bad(
            "message_too_large",
            format!("an email holds at most {} bytes", limits::MESSAGE_BYTES_MAX),
        ));
    }
    // mail-parser 0.11 panics on some corrupted multiparts ("Invalid part ID"): a message it
    // cannot read is refused, never a crash of the turn (found by the corpus test's corruptions)
    let message = std::panic::catch_unwind(|| MessageParser::default().parse(raw))
        .map_err(|_| {
            bad(
                "invalid_email",
                "the message's MIME structure cannot be read",
            )
        })?
        .ok_or_else(|| bad("invalid_email", "the message has no header to read"))?;
    let headers = message.root_part().headers();
    let from_list = addresses(first(headers, HeaderName::From));
    let (from, from_name) = match from_list.into_iter().next() {
        Some(f) => f,
        None => match envelope.mail_from.map(|f| f.trim().to_lowercase()) {
            Some(f) if f.contains('@') && f.chars().count() <= limits::ADDRESS => {
                (f, String::new())
            }
            _ => {
                return Err(bad(
                    "invalid_email",
                    "the message has no sender address (From)",
                ));
            }
        },
    };
    let to = addresses(first(headers, HeaderName::To))
        .into_iter()
        .map(|a| a.0)
        .collect();
    let cc = addresses(first(headers, HeaderName::Cc))
        .into_iter()
        .map(|a| a.0)
        .collect();
    let reply_to = addresses(first(headers, HeaderName::ReplyTo))
        .into_iter()
        .map(|a| a.0)
        .next()
        .filter(|r| *r != from);
    let subject = text_of(first(headers, HeaderName::Subject))
        .map(|s| truncated(s.trim(), limits::SUBJECT_CHARS))
        .unwrap_or_default();
    let message_id = ids(first(headers, HeaderName::MessageId))
        .into_iter()
        .next();
    let in_reply_to = ids(first(headers, HeaderName::InReplyTo))
        .into_iter()
        .next();
    let mut references = ids(first(headers, HeaderName::References));
    if references.len() > limits::REFERENCES {
        references.drain(..references.len() - limits::REFERENCES);
    }
    let date = match first(headers, HeaderName::Date) {
        Some(HeaderValue::DateTime(d)) if d.is_valid() => Some(d.to_rfc3339()),
        _ => None,
    };
    let raw_headers: Vec<(&str, &str)> = message.headers_raw().collect();
    let priority = flow::catalogue::actions::public::priority_of(raw_headers.iter().copied());
    let automatic = automatic(raw_headers.iter().copied(), &from, envelope, own);
    let text = message
        .body_text(0)
        .map(|t| truncated(t.trim_end(), limits::TEXT_CHARS))
        .unwrap_or_default();
    let html = message
        .html_part(0)
        .filter(|p| p.is_text_html())
        .and_then(|p| p.text_contents())
        .map(|h| truncated(h, limits::HTML_CHARS))
        .unwrap_or_default();
    let mut attachments = Vec::new();
    let mut listed = Vec::new();
    for part in message.attachments().take(limits::ATTACHMENTS) {
        let content_type = part
            .content_type()
            .map(|c| match c.subtype() {
                Some(sub) => format!("{}/{}", c.ctype(), sub),
                None => c.ctype().to_owned(),
            })
            .unwrap_or_else(|| "application/octet-stream".to_owned())
            .to_ascii_lowercase();
        let name = part
            .attachment_name()
            .map(|n| truncated(n.trim(), 255))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("attachment-{}", listed.len() + 1));
        let data = part.contents().to_vec();
        listed.push(EmailAttachment {
            name: name.clone(),
            content_type: content_type.clone(),
            size: data.len() as u64,
            url: String::new(),
        });
        attachments.push(Part {
            name,
            content_type,
            data,
        });
    }
    let key = match &message_id {
        Some(id) => id.clone(),
        None => {
            use sha2::Digest;
            let digest = sha2::Sha256::digest(raw);
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            format!("sha256:{hex}")
        }
    };
    let email = Email {
        from: from.clone(),
        from_name: from_name.clone(),
        to,
        cc,
        reply_to,
        subject,
        text: text.clone(),
        html,
        message_id: message_id.unwrap_or_default(),
        in_reply_to,
        references,
        priority,
        attachments: listed,
        date,
        automatic,
        raw_url: String::new(),
    };
    Ok(Parsed {
        received: Received {
            message_id: key,
            customer: from,
            message: Inbound {
                text,
                choice: None,
                attachments: Vec::new(),
                email: Some(Box::new(email)),
            },
            profile_name: (!from_name.is_empty()).then_some(from_name),
        },
        attachments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> bool {
        false
    }

    #[test]
    fn a_simple_message_parses_with_threading_and_priority() {
        let raw = b"From: Ana Lopez <Ana@Example.com>\r\nTo: support@shop.test, Bob <bob@shop.test>\r\nCc: boss@example.com\r\nSubject: =?UTF-8?B?Q29tbWFuZGUgcmV0YXJkw6ll?=\r\nMessage-ID: <abc@example.com>\r\nIn-Reply-To: <sy.1@shop.test>\r\nReferences: <x@example.com> <sy.1@shop.test>\r\nX-Priority: 1\r\nDate: Tue, 1 Dec 2026 10:00:00 +0100\r\n\r\nHello\r\n";
        let p = parse(raw, Envelope::default(), &none).unwrap();
        let e = p.email();
        assert_eq!(e.from, "ana@example.com");
        assert_eq!(e.from_name, "Ana Lopez");
        assert_eq!(e.to, vec!["support@shop.test", "bob@shop.test"]);
        assert_eq!(e.cc, vec!["boss@example.com"]);
        assert_eq!(e.subject, "Commande retardée");
        assert_eq!(e.message_id, "abc@example.com");
        assert_eq!(e.in_reply_to.as_deref(), Some("sy.1@shop.test"));
        assert_eq!(e.references, vec!["x@example.com", "sy.1@shop.test"]);
        assert_eq!(e.priority, flow::email::Priority::High);
        assert_eq!(e.text, "Hello");
        assert_eq!(e.date.as_deref(), Some("2026-12-01T10:00:00+01:00"));
        assert_eq!(p.received.message_id, "abc@example.com");
        assert_eq!(p.received.customer, "ana@example.com");
        assert_eq!(e.automatic, None);
    }

    #[test]
    fn duplicated_and_smuggled_headers_are_not_taken() {
        let raw = b"From: real@example.com\r\nSubject: first\r\nSub ject: smuggled\r\nFrom: forged@example.com\r\nSubject: second\r\n\r\nbody";
        let p = parse(raw, Envelope::default(), &none).unwrap();
        assert_eq!(p.email().from, "real@example.com");
        assert_eq!(p.email().subject, "first");
    }

    #[test]
    fn loops_and_auto_replies_are_recognised() {
        let cases: [(&[u8], Option<AutoReason>); 6] = [
            (
                b"From: a@x.test\r\nAuto-Submitted: auto-replied\r\n\r\nx",
                Some(AutoReason::AutoSubmitted),
            ),
            (b"From: a@x.test\r\nAuto-Submitted: no\r\n\r\nx", None),
            (
                b"From: a@x.test\r\nPrecedence: bulk\r\n\r\nx",
                Some(AutoReason::Precedence),
            ),
            (
                b"From: a@x.test\r\nX-Autoreply: yes\r\n\r\nx",
                Some(AutoReason::Autoreply),
            ),
            (
                b"From: a@x.test\r\nX-Auto-Response-Suppress: OOF, DR\r\n\r\nx",
                Some(AutoReason::ResponseSuppressed),
            ),
            (
                b"From: a@x.test\r\nList-Id: <news.x.test>\r\n\r\nx",
                Some(AutoReason::MailingList),
            ),
        ];
        for (raw, expected) in cases {
            let p = parse(raw, Envelope::default(), &none).unwrap();
            assert_eq!(
                p.email().automatic,
                expected,
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
        let own = |a: &str| a == "support@shop.test";
        let p = parse(
            b"From: support@shop.test\r\n\r\nx",
            Envelope::default(),
            &own,
        )
        .unwrap();
        assert_eq!(p.email().automatic, Some(AutoReason::OwnAddress));
        let bounce = Envelope {
            mail_from: Some(""),
        };
        let p = parse(b"From: mailer-daemon@x.test\r\n\r\nx", bounce, &none).unwrap();
        assert_eq!(p.email().automatic, Some(AutoReason::NullSender));
    }

    #[test]
    fn without_message_id_the_key_is_a_digest_and_without_sender_it_is_refused() {
        let a = parse(b"From: a@x.test\r\n\r\nx", Envelope::default(), &none).unwrap();
        let b = parse(b"From: a@x.test\r\n\r\nx", Envelope::default(), &none).unwrap();
        assert!(a.received.message_id.starts_with("sha256:"));
        assert_eq!(a.received.message_id, b.received.message_id);
        assert!(parse(b"Subject: x\r\n\r\nx", Envelope::default(), &none).is_err());
        let env = Envelope {
            mail_from: Some("Bounce@X.test"),
        };
        assert_eq!(
            parse(b"Subject: x\r\n\r\nx", env, &none)
                .unwrap()
                .email()
                .from,
            "bounce@x.test"
        );
        assert!(parse(b"", Envelope::default(), &none).is_err());
    }
}
