//! A small SMTP server (RFC 5321) for inbound mail: `EHLO`/`HELO`, `MAIL`, `RCPT`, `DATA`,
//! `RSET`, `NOOP`, `VRFY`, `QUIT` and `STARTTLS` (RFC 3207) when a certificate is configured,
//! with `SIZE` (RFC 1870), `8BITMIME` and `PIPELINING` advertised. It knows nothing of
//! routings: a [`MailSink`] says which recipients exist and takes each message, and the `250`
//! after the data is sent only once the sink returned — once the message is committed.
//!
//! Bounds: connections at once, recipients per message, message size (`552`, read to its end
//! and dropped), command and data line lengths, commands per connection, bad commands in a
//! row, idle time per command.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

/// How the listener runs.
#[derive(Clone)]
pub struct SmtpConfig {
    /// The name the server gives itself in its greeting.
    pub hostname: String,
    /// Largest message, in bytes (`552` beyond).
    pub max_message_bytes: usize,
    /// Most recipients of one message (`452` beyond).
    pub max_recipients: usize,
    /// Most connections at once (`421` beyond).
    pub max_connections: usize,
    /// Longest command line, CRLF included.
    pub max_command_line: usize,
    /// Longest line of a message (RFC 5321 says 1 000; mailers send longer ones).
    pub max_data_line: usize,
    /// Time a client has for each command and each line of its data.
    pub idle_timeout: Duration,
    /// STARTTLS is offered when set.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            hostname: "switchyard".into(),
            max_message_bytes: crate::email::limits::MESSAGE_BYTES,
            max_recipients: 100,
            max_connections: 200,
            max_command_line: 2_048,
            max_data_line: 64 * 1024,
            idle_timeout: Duration::from_secs(300),
            tls: None,
        }
    }
}

/// A TLS server configuration from PEM files: the certificate chain and its private key.
pub fn tls_from_pem(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<rustls::ServerConfig, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("reading the certificates of {}: {e}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("reading the private key {}: {e}", key.display()))?;
    rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("the certificate and key do not make a TLS configuration: {e}"))
}

/// A message received.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub peer: SocketAddr,
    /// `MAIL FROM` (empty for the null sender).
    pub mail_from: String,
    /// The accepted `RCPT TO` addresses, lower case.
    pub recipients: Vec<String>,
    pub data: Vec<u8>,
}

/// Why the sink did not take a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Try again later (`451`): nothing was kept.
    Temporary(String),
    /// Do not send it again (`554`).
    Permanent(String),
}

/// What receives the mail.
#[async_trait]
pub trait MailSink: Send + Sync + 'static {
    /// Whether mail for `recipient` (lower case) is accepted here.
    async fn accepts(&self, recipient: &str) -> bool;
    /// Takes a message; returns once it is kept (committed).
    async fn deliver(&self, delivery: Delivery) -> Result<(), Refusal>;
}

/// Serves SMTP on `listener` until `stop` turns true.
pub async fn serve(
    listener: TcpListener,
    config: Arc<SmtpConfig>,
    sink: Arc<dyn MailSink>,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(config.max_connections));
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "SMTP accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        let (config, sink) = (config.clone(), sink.clone());
        match slots.clone().try_acquire_owned() {
            Ok(permit) => {
                tokio::spawn(async move {
                    let _permit = permit;
                    if let Err(e) = session(stream, peer, &config, sink.as_ref()).await {
                        tracing::debug!(%peer, error = %e, "SMTP session ended");
                    }
                });
            }
            Err(_) => {
                tokio::spawn(async move {
                    let mut stream = stream;
                    let line = format!(
                        "421 4.3.2 {} too many connections, try again later\r\n",
                        config.hostname
                    );
                    let _ = stream.write_all(line.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        }
    }
}

/// What one line read gave.
enum Line {
    Text(Vec<u8>),
    /// Longer than the limit (read to its end and dropped).
    TooLong,
    Eof,
}

async fn read_line<R: AsyncBufRead + Unpin>(
    r: &mut R,
    max: usize,
    out: &mut Vec<u8>,
) -> std::io::Result<Line> {
    out.clear();
    let mut too_long = false;
    loop {
        let buf = r.fill_buf().await?;
        if buf.is_empty() {
            return Ok(if out.is_empty() && !too_long {
                Line::Eof
            } else {
                Line::Text(std::mem::take(out))
            });
        }
        let (chunk, done) = match buf.iter().position(|b| *b == b'\n') {
            Some(i) => (&buf[..=i], true),
            None => (buf, false),
        };
        let n = chunk.len();
        if !too_long {
            if out.len() + n > max {
                too_long = true;
                out.clear();
            } else {
                out.extend_from_slice(chunk);
            }
        }
        r.consume(n);
        if done {
            return Ok(if too_long {
                Line::TooLong
            } else {
                Line::Text(std::mem::take(out))
            });
        }
    }
}

/// The address in `<…>` after a `MAIL FROM:` or `RCPT TO:`, and what follows it.
fn path_of(arg: &str) -> Option<(String, &str)> {
    let arg = arg.trim_start();
    let rest = arg.strip_prefix('<')?;
    let end = rest.find('>')?;
    let address = rest[..end].trim();
    // a source route (`@a,@b:user@c`) keeps only its mailbox
    let address = address.rsplit(':').next().unwrap_or(address);
    if address.len() > crate::email::limits::ADDRESS
        || address.chars().any(|c| c.is_control() || c == ' ')
    {
        return None;
    }
    Some((address.to_owned(), &rest[end + 1..]))
}

/// The value of `SIZE=` among `MAIL FROM` parameters.
fn size_param(params: &str) -> Option<u64> {
    params.split_whitespace().find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.eq_ignore_ascii_case("SIZE")
            .then(|| v.parse().ok())
            .flatten()
    })
}

struct Transaction {
    mail_from: Option<String>,
    recipients: Vec<String>,
}

enum Outcome {
    Quit,
    StartTls,
}

async fn session<S>(
    stream: S,
    peer: SocketAddr,
    config: &SmtpConfig,
    sink: &dyn MailSink,
) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let mut io = BufReader::new(stream);
    let greeting = format!("220 {} ESMTP Switchyard\r\n", config.hostname);
    io.get_mut().write_all(greeting.as_bytes()).await?;
    match commands(&mut io, peer, config, sink, false).await? {
        Outcome::Quit => Ok(()),
        Outcome::StartTls => {
            let Some(tls) = config.tls.clone() else {
                return Ok(());
            };
            let stream = io.into_inner();
            let tls = tokio_rustls::TlsAcceptor::from(tls).accept(stream).await?;
            let mut io = BufReader::new(tls);
            commands(&mut io, peer, config, sink, true)
                .await
                .map(|_| ())
        }
    }
}

async fn commands<S>(
    io: &mut BufReader<S>,
    peer: SocketAddr,
    config: &SmtpConfig,
    sink: &dyn MailSink,
    secure: bool,
) -> std::io::Result<Outcome>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    const MAX_COMMANDS: usize = 10_000;
    const MAX_ERRORS: usize = 20;
    let host = &config.hostname;
    let mut greeted = false;
    let mut tx = Transaction {
        mail_from: None,
        recipients: Vec::new(),
    };
    let mut errors = 0;
    let mut line = Vec::new();
    for _ in 0..MAX_COMMANDS {
        let read = tokio::time::timeout(
            config.idle_timeout,
            read_line(io, config.max_command_line, &mut line),
        )
        .await;
        let text = match read {
            Err(_) => {
                reply(io, &format!("421 4.4.2 {host} idle too long, closing")).await?;
                return Ok(Outcome::Quit);
            }
            Ok(r) => match r? {
                Line::Eof => return Ok(Outcome::Quit),
                Line::TooLong => {
                    reply(io, "500 5.5.2 line too long").await?;
                    return Ok(Outcome::Quit);
                }
                Line::Text(t) => t,
            },
        };
        let text = String::from_utf8_lossy(&text);
        let text = text.trim_end_matches(['\r', '\n']);
        let (verb, arg) = text.split_once(' ').unwrap_or((text, ""));
        let verb = verb.to_ascii_uppercase();
        let answer: String = match verb.as_str() {
            "EHLO" | "HELO" if arg.trim().is_empty() => {
                "501 5.5.4 a domain or address is needed".into()
            }
            "EHLO" => {
                greeted = true;
                tx = Transaction {
                    mail_from: None,
                    recipients: Vec::new(),
                };
                let mut lines = vec![
                    format!("{host} greets {}", arg.trim()),
                    format!("SIZE {}", config.max_message_bytes),
                    "8BITMIME".into(),
                    "PIPELINING".into(),
                ];
                if config.tls.is_some() && !secure {
                    lines.push("STARTTLS".into());
                }
                let last = lines.len() - 1;
                lines
                    .iter()
                    .enumerate()
                    .map(|(i, l)| format!("250{}{l}", if i == last { ' ' } else { '-' }))
                    .collect::<Vec<_>>()
                    .join("\r\n")
            }
            "HELO" => {
                greeted = true;
                tx = Transaction {
                    mail_from: None,
                    recipients: Vec::new(),
                };
                format!("250 {host}")
            }
            "STARTTLS" if config.tls.is_none() || secure => {
                "502 5.5.1 STARTTLS is not offered".into()
            }
            "STARTTLS" => {
                reply(io, "220 2.0.0 ready to start TLS").await?;
                return Ok(Outcome::StartTls);
            }
            "MAIL" if !greeted => "503 5.5.1 say EHLO first".into(),
            "MAIL" if tx.mail_from.is_some() => "503 5.5.1 a transaction is already open".into(),
            "MAIL" => match arg
                .get(..5)
                .filter(|p| p.eq_ignore_ascii_case("FROM:"))
                .and_then(|_| path_of(&arg[5..]))
            {
                None => "501 5.5.4 syntax: MAIL FROM:<address>".into(),
                Some((_, params))
                    if size_param(params).is_some_and(|s| s > config.max_message_bytes as u64) =>
                {
                    format!(
                        "552 5.3.4 a message holds at most {} bytes",
                        config.max_message_bytes
                    )
                }
                Some((from, _)) => {
                    tx.mail_from = Some(from);
                    "250 2.1.0 sender ok".into()
                }
            },
            "RCPT" if tx.mail_from.is_none() => "503 5.5.1 MAIL first".into(),
            "RCPT" => match arg
                .get(..3)
                .filter(|p| p.eq_ignore_ascii_case("TO:"))
                .and_then(|_| path_of(&arg[3..]))
            {
                None => "501 5.5.4 syntax: RCPT TO:<address>".into(),
                Some(_) if tx.recipients.len() >= config.max_recipients => {
                    format!(
                        "452 4.5.3 at most {} recipients per message",
                        config.max_recipients
                    )
                }
                Some((to, _)) => {
                    let to = to.to_lowercase();
                    if sink.accepts(&to).await {
                        if !tx.recipients.contains(&to) {
                            tx.recipients.push(to);
                        }
                        "250 2.1.5 recipient ok".into()
                    } else {
                        "550 5.1.1 no such mailbox here".into()
                    }
                }
            },
            "DATA" if tx.mail_from.is_none() => "503 5.5.1 MAIL first".into(),
            "DATA" if tx.recipients.is_empty() => "554 5.5.1 no valid recipients".into(),
            "DATA" => {
                reply(io, "354 end data with <CR><LF>.<CR><LF>").await?;
                let answer = match data(io, config).await? {
                    Data::Eof => return Ok(Outcome::Quit),
                    Data::Idle => {
                        reply(io, &format!("421 4.4.2 {host} idle too long, closing")).await?;
                        return Ok(Outcome::Quit);
                    }
                    Data::TooLarge => format!(
                        "552 5.3.4 a message holds at most {} bytes",
                        config.max_message_bytes
                    ),
                    Data::LineTooLong => format!(
                        "500 5.5.6 a line of a message holds at most {} bytes",
                        config.max_data_line
                    ),
                    Data::Message(bytes) => {
                        let delivery = Delivery {
                            peer,
                            mail_from: tx.mail_from.clone().unwrap_or_default(),
                            recipients: tx.recipients.clone(),
                            data: bytes,
                        };
                        match sink.deliver(delivery).await {
                            Ok(()) => "250 2.0.0 message accepted".into(),
                            Err(Refusal::Temporary(why)) => format!("451 4.3.0 {}", one_line(&why)),
                            Err(Refusal::Permanent(why)) => format!("554 5.6.0 {}", one_line(&why)),
                        }
                    }
                };
                tx = Transaction {
                    mail_from: None,
                    recipients: Vec::new(),
                };
                answer
            }
            "RSET" => {
                tx = Transaction {
                    mail_from: None,
                    recipients: Vec::new(),
                };
                "250 2.0.0 reset".into()
            }
            "NOOP" => "250 2.0.0 ok".into(),
            "VRFY" => "252 2.5.0 cannot verify, send the message".into(),
            "QUIT" => {
                reply(io, &format!("221 2.0.0 {host} closing")).await?;
                return Ok(Outcome::Quit);
            }
            "AUTH" => "502 5.5.1 no authentication here".into(),
            _ => "500 5.5.2 unknown command".into(),
        };
        let failed = answer.starts_with('5')
            && !answer.starts_with("550")
            && !answer.starts_with("552")
            && !answer.starts_with("554");
        errors = if failed { errors + 1 } else { 0 };
        reply(io, &answer).await?;
        if errors >= MAX_ERRORS {
            reply(io, "421 4.7.0 too many bad commands, closing").await?;
            return Ok(Outcome::Quit);
        }
    }
    reply(io, "421 4.7.0 too many commands on one connection, closing").await?;
    Ok(Outcome::Quit)
}

fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(400)
        .collect()
}

async fn reply<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut BufReader<S>,
    text: &str,
) -> std::io::Result<()> {
    let w = io.get_mut();
    w.write_all(text.as_bytes()).await?;
    w.write_all(b"\r\n").await?;
    w.flush().await
}

enum Data {
    Message(Vec<u8>),
    TooLarge,
    LineTooLong,
    Idle,
    Eof,
}

/// Reads the message up to the lone dot, undoing dot-stuffing; a message over the size or a
/// line over the length is read to its end and dropped.
async fn data<S: AsyncRead + Unpin>(
    io: &mut BufReader<S>,
    config: &SmtpConfig,
) -> std::io::Result<Data> {
    let mut message = Vec::new();
    let (mut too_large, mut too_long) = (false, false);
    let mut line = Vec::new();
    loop {
        let read = tokio::time::timeout(
            config.idle_timeout,
            read_line(io, config.max_data_line, &mut line),
        )
        .await;
        let text = match read {
            Err(_) => return Ok(Data::Idle),
            Ok(r) => match r? {
                Line::Eof => return Ok(Data::Eof),
                Line::TooLong => {
                    too_long = true;
                    continue;
                }
                Line::Text(t) => t,
            },
        };
        if text == b".\r\n" || text == b".\n" {
            break;
        }
        let text = if text.first() == Some(&b'.') {
            &text[1..]
        } else {
            &text[..]
        };
        if too_large || too_long {
            continue;
        }
        if message.len() + text.len() > config.max_message_bytes {
            too_large = true;
            message = Vec::new();
            continue;
        }
        // bare LF line ends become CRLF (the parser reads either; the raw message is kept as CRLF)
        match text.strip_suffix(b"\r\n") {
            Some(body) => {
                message.extend_from_slice(body);
                message.extend_from_slice(b"\r\n");
            }
            None => match text.strip_suffix(b"\n") {
                Some(body) => {
                    message.extend_from_slice(body);
                    message.extend_from_slice(b"\r\n");
                }
                None => message.extend_from_slice(text),
            },
        }
    }
    Ok(if too_large {
        Data::TooLarge
    } else if too_long {
        Data::LineTooLong
    } else {
        Data::Message(message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_sizes_are_read() {
        assert_eq!(
            path_of("<Ana@X.test> SIZE=10").map(|(a, r)| (a, r.to_owned())),
            Some(("Ana@X.test".into(), " SIZE=10".into()))
        );
        assert_eq!(path_of("<>").map(|(a, _)| a), Some(String::new()));
        assert_eq!(
            path_of("<@relay.test:ana@x.test>").map(|(a, _)| a),
            Some("ana@x.test".into())
        );
        assert!(path_of("ana@x.test").is_none());
        assert!(path_of("<ana@x.test").is_none());
        assert_eq!(size_param(" SIZE=2048 BODY=8BITMIME"), Some(2048));
        assert_eq!(size_param(" BODY=8BITMIME"), None);
    }
}
