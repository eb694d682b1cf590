//! Email out: messages built with lettre and handed to the deployment's relay (`smtp_relay`),
//! one SMTP transaction per recipient so that a relay refusing some recipients refuses only
//! those (*Partially sent*). A relay's `5xx` is permanent, anything else (a `4xx`, no
//! connection, a timeout) is worth another attempt.

use std::time::Duration;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Time a relay has for one message.
pub const RELAY_TIMEOUT: Duration = Duration::from_secs(30);

/// How to reach the relay, read from `smtp_relay`: `smtp://[user:pass@]host[:port]` (STARTTLS
/// required; port 587 by default), `smtps://…` (TLS from the start; 465), and `?tls=none` for a
/// relay on a trusted network that speaks no TLS (port 25 by default).
#[derive(Clone)]
pub struct Relay {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// `host:port`, for messages (never the credentials).
    pub address: String,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(h) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(h, 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Authorities outgoing mail connections (the relay, IMAP mailboxes) trust besides the public
/// ones (`webpki-roots`), read from a PEM file (`mail_ca_file`): a private authority's.
#[derive(Clone, Debug, Default)]
pub struct MailAuthorities(pub Vec<rustls::pki_types::CertificateDer<'static>>);

impl MailAuthorities {
    /// The certificates of a PEM file; none, or one that does not parse, is an error.
    pub fn from_pem(pem: &[u8]) -> Result<MailAuthorities, String> {
        use rustls::pki_types::pem::PemObject;
        let certs = rustls::pki_types::CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("a certificate does not parse: {e}"))?;
        if certs.is_empty() {
            return Err("it holds no PEM certificate".into());
        }
        Ok(MailAuthorities(certs))
    }

    /// A TLS client configuration trusting the public authorities and these.
    pub fn client_config(&self) -> rustls::ClientConfig {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        // each was parsed as a certificate; one rustls cannot use as an anchor is left out
        let _ = roots.add_parsable_certificates(self.0.iter().cloned());
        rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth()
    }
}

impl Relay {
    /// Reads a relay URL. The error never repeats the URL (it may hold a password).
    pub fn parse(url: &str, hello: &str) -> Result<Relay, String> {
        Relay::parse_trusting(url, hello, &MailAuthorities::default())
    }

    /// [`Relay::parse`], trusting `authorities` besides the public ones.
    pub fn parse_trusting(
        url: &str,
        hello: &str,
        authorities: &MailAuthorities,
    ) -> Result<Relay, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or("smtp_relay must be smtp://… or smtps://…")?;
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let plain = match query {
            "" => false,
            "tls=none" => true,
            _ => return Err("smtp_relay takes only ?tls=none".into()),
        };
        let implicit = match scheme {
            "smtp" => false,
            "smtps" if !plain => true,
            "smtps" => return Err("smtps:// is TLS: ?tls=none does not apply".into()),
            _ => return Err("smtp_relay must be smtp://… or smtps://…".into()),
        };
        let rest = rest.trim_end_matches('/');
        let (credentials, host_port) = match rest.rsplit_once('@') {
            Some((c, h)) => (Some(c), h),
            None => (None, rest),
        };
        let (host, port) = match host_port.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (
                h,
                p.parse::<u16>()
                    .map_err(|_| "smtp_relay's port must be a number")?,
            ),
            _ => (
                host_port,
                if implicit {
                    465
                } else if plain {
                    25
                } else {
                    587
                },
            ),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty()
            || host.len() > 253
            || host
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '/')
        {
            return Err("smtp_relay needs a host".into());
        }
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .timeout(Some(RELAY_TIMEOUT))
            .hello_name(lettre::transport::smtp::extension::ClientId::Domain(
                hello.to_owned(),
            ));
        if !plain {
            let params = authorities
                .0
                .iter()
                .filter_map(|c| {
                    lettre::transport::smtp::client::Certificate::from_der(c.to_vec()).ok()
                })
                .fold(TlsParameters::builder(host.to_owned()), |b, c| {
                    b.add_root_certificate(c)
                })
                .build_rustls()
                .map_err(|e| format!("smtp_relay's TLS: {e}"))?;
            builder = builder.tls(if implicit {
                Tls::Wrapper(params)
            } else {
                Tls::Required(params)
            });
        }
        if let Some(c) = credentials {
            let (user, pass) = c
                .split_once(':')
                .ok_or("smtp_relay's credentials are user:password")?;
            builder = builder.credentials(Credentials::new(decode(user), decode(pass)));
        }
        Ok(Relay {
            transport: builder.build(),
            address: format!("{host}:{port}"),
        })
    }
}

/// An email to send.
#[derive(Clone, Debug, Default)]
pub struct Outgoing {
    pub from: String,
    pub from_name: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// Receive the message without being named in it.
    pub bcc: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// Without angle brackets.
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    /// Sent by the routing, not by a person: `Auto-Submitted: auto-generated` (RFC 3834).
    pub automatic: bool,
    /// Files attached: (name, content type, bytes).
    pub attachments: Vec<(String, String, Vec<u8>)>,
}

/// How the relay answered one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecipientOutcome {
    Accepted,
    /// A `5xx`: sending again would not help.
    Refused(String),
    /// Anything else: worth another attempt.
    Failed(String),
}

fn mailbox(address: &str, name: &str) -> Result<Mailbox, String> {
    let address = address
        .parse()
        .map_err(|_| format!("'{address}' is not an email address"))?;
    Ok(Mailbox::new(
        (!name.is_empty()).then(|| name.to_owned()),
        address,
    ))
}

/// Builds the message (RFC 5322, MIME: text, or text and HTML as alternatives, and the
/// attachments).
pub fn build(m: &Outgoing) -> Result<Message, String> {
    let mut b = Message::builder()
        .from(mailbox(&m.from, &m.from_name)?)
        .subject(m.subject.clone())
        .message_id(Some(format!("<{}>", m.message_id)));
    for to in &m.to {
        b = b.to(mailbox(to, "")?);
    }
    for cc in &m.cc {
        b = b.cc(mailbox(cc, "")?);
    }
    if let Some(r) = &m.in_reply_to {
        b = b.in_reply_to(format!("<{r}>"));
    }
    if !m.references.is_empty() {
        let refs: Vec<String> = m.references.iter().map(|r| format!("<{r}>")).collect();
        b = b.references(refs.join(" "));
    }
    if m.automatic {
        b = b.raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".into(),
        ));
    }
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(m.text.clone());
    if m.html.is_none() && m.attachments.is_empty() {
        return b
            .singlepart(text)
            .map_err(|e| format!("the email cannot be built: {e}"));
    }
    let body = match &m.html {
        Some(html) => MultiPart::alternative().singlepart(text).singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(html.clone()),
        ),
        None => MultiPart::mixed().singlepart(text),
    };
    let body = m.attachments.iter().fold(
        if m.attachments.is_empty() {
            body
        } else {
            MultiPart::mixed().multipart(body)
        },
        |parts, (name, content_type, data)| {
            let ct = ContentType::parse(content_type)
                .unwrap_or(ContentType::parse("application/octet-stream").expect("a valid type"));
            let attachment = lettre::message::Attachment::new(name.clone());
            // bytes as they are: base64, never a text encoding that would rewrite line ends;
            // a message (RFC 2046 §5.2.1 forbids base64 for it) goes as it is
            match lettre::message::Body::new_with_encoding(
                data.clone(),
                lettre::message::header::ContentTransferEncoding::Base64,
            ) {
                Ok(body) if content_type != "message/rfc822" => {
                    parts.singlepart(attachment.body(body, ct))
                }
                _ => parts.singlepart(attachment.body(data.clone(), ct)),
            }
        },
    );
    b.multipart(body)
        .map_err(|e| format!("the email cannot be built: {e}"))
}

/// Sends `m` to each of its recipients (to, cc, bcc), one transaction each; the outcome per
/// recipient, in order.
pub async fn send(relay: &Relay, m: &Outgoing) -> Result<Vec<(String, RecipientOutcome)>, String> {
    let message = build(m)?;
    let raw = message.formatted();
    let from: lettre::Address = m
        .from
        .parse()
        .map_err(|_| format!("'{}' is not an email address", m.from))?;
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for r in m.to.iter().chain(&m.cc).chain(&m.bcc) {
        if !seen.insert(r.to_lowercase()) {
            continue;
        }
        let outcome = match r.parse::<lettre::Address>() {
            Err(_) => RecipientOutcome::Refused(format!("'{r}' is not an email address")),
            Ok(to) => {
                let envelope = lettre::address::Envelope::new(Some(from.clone()), vec![to])
                    .map_err(|e| e.to_string())?;
                match relay.transport.send_raw(&envelope, &raw).await {
                    Ok(_) => RecipientOutcome::Accepted,
                    Err(e) if e.is_permanent() => {
                        RecipientOutcome::Refused(format!("the relay refused {r}: {e}"))
                    }
                    Err(e) => RecipientOutcome::Failed(format!(
                        "the relay {} did not take the message: {e}",
                        relay.address
                    )),
                }
            }
        };
        out.push((r.clone(), outcome));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_urls_are_read_and_their_errors_hide_the_password() {
        assert_eq!(
            Relay::parse("smtp://user:p%40ss@mail.example.com:587", "sy")
                .unwrap()
                .address,
            "mail.example.com:587"
        );
        assert_eq!(
            Relay::parse("smtp://mail.example.com", "sy")
                .unwrap()
                .address,
            "mail.example.com:587"
        );
        assert_eq!(
            Relay::parse("smtps://u:p@mail.example.com", "sy")
                .unwrap()
                .address,
            "mail.example.com:465"
        );
        assert_eq!(
            Relay::parse("smtp://127.0.0.1:2525?tls=none", "sy")
                .unwrap()
                .address,
            "127.0.0.1:2525"
        );
        for bad in [
            "http://x",
            "smtp://",
            "smtp://u:secret@host:port",
            "smtp://host?tls=maybe",
            "smtps://h?tls=none",
            "smtp://usersecret@host",
        ] {
            let e = Relay::parse(bad, "sy").unwrap_err();
            assert!(!e.contains("secret"), "{e}");
        }
    }

    #[test]
    fn a_reply_carries_its_threading_headers() {
        let m = Outgoing {
            from: "support@shop.test".into(),
            from_name: "Support".into(),
            to: vec!["ana@example.com".into()],
            subject: "Re: Facture [#1a2b3c4d]".into(),
            text: "Bonjour".into(),
            message_id: "sy.1.2@shop.test".into(),
            in_reply_to: Some("first@example.com".into()),
            references: vec!["first@example.com".into()],
            automatic: true,
            ..Default::default()
        };
        let raw = String::from_utf8(build(&m).unwrap().formatted()).unwrap();
        for h in [
            "Message-ID: <sy.1.2@shop.test>",
            "In-Reply-To: <first@example.com>",
            "References: <first@example.com>",
            "Auto-Submitted: auto-generated",
            "From: Support <support@shop.test>",
        ] {
            assert!(raw.contains(h), "{h} in {raw}");
        }
    }
}
