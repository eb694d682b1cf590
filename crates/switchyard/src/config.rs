//! Configuration: command-line flags, then `SWITCHYARD_*` environment variables, then a TOML
//! file (`--config` / `SWITCHYARD_CONFIG`), then defaults. Everything is optional.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

/// What the TOML file may hold (every key optional; unknown keys are refused).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub time_zone: Option<String>,
    pub log_format: Option<String>,
    pub log_level: Option<String>,
    pub max_body_bytes: Option<usize>,
    pub request_timeout_seconds: Option<u64>,
    pub inactivity_timeout_seconds: Option<u64>,
    pub max_actions_per_turn: Option<u32>,
    pub max_hand_overs: Option<u32>,
    pub offer_timeout_seconds: Option<u64>,
    pub owner_on_first_handled: Option<bool>,
    pub phone_region: Option<String>,
    pub retention_days: Option<u64>,
    pub public_listen: Option<String>,
    pub public_url: Option<String>,
    pub allowed_hosts: Option<Vec<String>>,
    pub public_rate_per_address: Option<u32>,
    pub public_rate_per_entry_point: Option<u32>,
    pub outbound_allow: Option<Vec<String>>,
    pub whatsapp_api_base: Option<String>,
    pub telegram_api_base: Option<String>,
    pub messenger_api_base: Option<String>,
    pub sms_api_base: Option<String>,
    pub sms_account_sid: Option<String>,
    pub smtp_listen: Option<String>,
    pub smtp_max_message_bytes: Option<usize>,
    pub smtp_hostname: Option<String>,
    pub smtp_tls_cert: Option<PathBuf>,
    pub smtp_tls_key: Option<PathBuf>,
    pub smtp_relay: Option<String>,
    pub imap_handled: Option<String>,
    pub mail_ca_file: Option<PathBuf>,
}

/// The SMTP listener's configuration.
#[derive(Debug, Clone)]
pub struct SmtpListen {
    pub listen: SocketAddr,
    pub max_message_bytes: usize,
    pub hostname: String,
    /// PEM certificate chain and private key: STARTTLS is offered with them.
    pub tls: Option<(PathBuf, PathBuf)>,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub time_zone: jiff::tz::TimeZone,
    pub time_zone_name: String,
    pub log_json: bool,
    pub log_level: String,
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    /// An interaction with no activity for this long is closed.
    pub inactivity_timeout: Duration,
    /// Most actions one input may run before the interaction ends with an error.
    pub max_actions_per_turn: u32,
    /// Most hand-overs to other routings in one interaction.
    pub max_hand_overs: u32,
    /// How long an offer waits for the agent before it goes to the next one.
    pub offer_timeout: Duration,
    /// A customer's first handled conversation makes its agent their owner.
    pub owner_on_first_handled: bool,
    /// Region of phone numbers written without a country code, where an entry point sets none.
    pub phone_region: String,
    /// Days closed interactions' events, inbound deduplication rows, delivered replies and
    /// uploads are kept; 0: for ever.
    pub retention_days: u64,
    /// A second listener serving only the public surface.
    pub public_listen: Option<SocketAddr>,
    /// The address customers reach the public surface at (`https://chat.example.com`): the
    /// links sent to them (a survey's page) start with it. None: no such link can be made.
    pub public_url: Option<String>,
    /// `Host` names the administration listener answers; `None`: any (`*`).
    pub allowed_hosts: Option<Vec<String>>,
    /// Requests per second to the public surface from one address, and for one entry point.
    pub public_rate_per_address: u32,
    pub public_rate_per_entry_point: u32,
    /// Internal address ranges the server may call anyway (callbacks, web services).
    pub outbound_allow: Vec<runtime::outbound::Range>,
    /// The providers' API base URLs.
    pub providers: channels::ProviderBases,
    /// The SMS provider's base URL and account (its auth token is read from
    /// `SWITCHYARD_SMS_AUTH_TOKEN` when serving, never kept here).
    pub sms_api_base: String,
    pub sms_account_sid: Option<String>,
    /// The built-in SMTP listener for inbound mail (off unless `smtp_listen` is set).
    pub smtp: Option<SmtpListen>,
    /// The relay outgoing email goes through (its URL may hold a password: never shown).
    pub smtp_relay: Option<channels::relay::Relay>,
    /// What becomes of a message read over IMAP once handled.
    pub imap_handled: channels::email::ImapHandled,
    /// Authorities the relay's and IMAP mailboxes' TLS trust besides the public ones.
    pub mail_authorities: channels::relay::MailAuthorities,
}

/// An API base URL: `http(s)://…`, no trailing slash kept.
fn api_base(
    name: &str,
    env_name: &str,
    file: Option<String>,
    default: String,
) -> anyhow::Result<String> {
    let v = env(env_name).or(file).unwrap_or(default);
    let ok = (v.starts_with("https://") || v.starts_with("http://"))
        && v.len() <= 2_000
        && !v.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok {
        bail!("{name} must be an http:// or https:// URL, not {v:?}");
    }
    Ok(v.trim_end_matches('/').to_owned())
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "switchyard-data";

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn env_parse<T: std::str::FromStr>(name: &str) -> anyhow::Result<Option<T>>
where
    T::Err: std::fmt::Display,
{
    match env(name) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|e| anyhow::anyhow!("{name}={v:?}: {e}")),
    }
}

impl Config {
    /// Resolves the configuration. `listen` and `data_dir` are the command-line flags.
    pub fn load(
        config_file: Option<&Path>,
        listen: Option<String>,
        data_dir: Option<PathBuf>,
    ) -> anyhow::Result<Config> {
        let file_path = config_file
            .map(Path::to_path_buf)
            .or_else(|| env("SWITCHYARD_CONFIG").map(PathBuf::from));
        let file: FileConfig = match &file_path {
            None => FileConfig::default(),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading configuration file {}", p.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("in configuration file {}", p.display()))?
            }
        };
        let listen = listen
            .or_else(|| env("SWITCHYARD_LISTEN"))
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.into());
        let listen: SocketAddr = listen
            .parse()
            .with_context(|| format!("listen address {listen:?} is not ADDRESS:PORT"))?;
        let data_dir = data_dir
            .or_else(|| env("SWITCHYARD_DATA_DIR").map(PathBuf::from))
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let time_zone_name = env("SWITCHYARD_TIME_ZONE")
            .or(file.time_zone)
            .unwrap_or_else(|| "UTC".into());
        let time_zone = jiff::tz::TimeZone::get(&time_zone_name)
            .with_context(|| format!("unknown time zone {time_zone_name:?}"))?;
        let log_format = env("SWITCHYARD_LOG_FORMAT")
            .or(file.log_format)
            .unwrap_or_else(|| "pretty".into());
        let log_json = match log_format.as_str() {
            "json" => true,
            "pretty" => false,
            other => bail!("log format {other:?} must be 'pretty' or 'json'"),
        };
        let log_level = env("SWITCHYARD_LOG_LEVEL")
            .or(file.log_level)
            .unwrap_or_else(|| "info".into());
        let max_body_bytes = env_parse("SWITCHYARD_MAX_BODY_BYTES")?
            .or(file.max_body_bytes)
            .unwrap_or(8 * 1024 * 1024);
        if !(1024..=64 * 1024 * 1024).contains(&max_body_bytes) {
            bail!("max_body_bytes must be between 1 KiB and 64 MiB");
        }
        let timeout = env_parse("SWITCHYARD_REQUEST_TIMEOUT_SECONDS")?
            .or(file.request_timeout_seconds)
            .unwrap_or(30);
        if !(1..=600).contains(&timeout) {
            bail!("request_timeout_seconds must be between 1 and 600");
        }
        let inactivity = env_parse("SWITCHYARD_INACTIVITY_TIMEOUT_SECONDS")?
            .or(file.inactivity_timeout_seconds)
            .unwrap_or(86_400);
        if !(60..=30 * 86_400).contains(&inactivity) {
            bail!("inactivity_timeout_seconds must be between 60 and 2592000 (30 days)");
        }
        let max_actions_per_turn = env_parse("SWITCHYARD_MAX_ACTIONS_PER_TURN")?
            .or(file.max_actions_per_turn)
            .unwrap_or(1_000);
        if !(10..=100_000).contains(&max_actions_per_turn) {
            bail!("max_actions_per_turn must be between 10 and 100000");
        }
        let max_hand_overs = env_parse("SWITCHYARD_MAX_HAND_OVERS")?
            .or(file.max_hand_overs)
            .unwrap_or(10);
        if !(1..=100).contains(&max_hand_overs) {
            bail!("max_hand_overs must be between 1 and 100");
        }
        let offer_timeout = env_parse("SWITCHYARD_OFFER_TIMEOUT_SECONDS")?
            .or(file.offer_timeout_seconds)
            .unwrap_or(30);
        if !(5..=3_600).contains(&offer_timeout) {
            bail!("offer_timeout_seconds must be between 5 and 3600");
        }
        let owner_on_first_handled = env_parse("SWITCHYARD_OWNER_ON_FIRST_HANDLED")?
            .or(file.owner_on_first_handled)
            .unwrap_or(true);
        let phone_region = env("SWITCHYARD_PHONE_REGION")
            .or(file.phone_region)
            .unwrap_or_else(|| runtime::conversations::DEFAULT_PHONE_REGION.into());
        let phone_region = flow::entry_point::check_region(&phone_region)
            .map_err(|e| anyhow::anyhow!("phone_region {e}"))?;
        let retention_days = env_parse("SWITCHYARD_RETENTION_DAYS")?
            .or(file.retention_days)
            .unwrap_or(runtime::conversations::DEFAULT_RETENTION_DAYS as u64);
        if retention_days > 3_650 {
            bail!("retention_days must be between 0 (keep for ever) and 3650");
        }
        let public_listen = match env("SWITCHYARD_PUBLIC_LISTEN").or(file.public_listen) {
            Some(a) => Some(
                a.parse::<SocketAddr>()
                    .with_context(|| format!("public_listen {a:?} is not ADDRESS:PORT"))?,
            ),
            None => None,
        };
        let public_url = match env("SWITCHYARD_PUBLIC_URL").or(file.public_url) {
            Some(u) => Some(api_base(
                "public_url",
                "SWITCHYARD_PUBLIC_URL",
                Some(u),
                String::new(),
            )?),
            None => None,
        };
        let hosts: Vec<String> = match env("SWITCHYARD_ALLOWED_HOSTS") {
            Some(v) => v
                .split(',')
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
                .collect(),
            None => file.allowed_hosts.unwrap_or_else(|| {
                let mut h: Vec<String> =
                    ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
                if !listen.ip().is_unspecified() {
                    h.push(listen.ip().to_string());
                }
                h
            }),
        };
        if hosts.len() > 100 {
            bail!("allowed_hosts holds at most 100 names");
        }
        let allowed_hosts = (!hosts.iter().any(|h| h == "*")).then_some(hosts);
        let rate = |name: &str, file: Option<u32>, default: u32| -> anyhow::Result<u32> {
            let v = env_parse(name)?.or(file).unwrap_or(default);
            if !(1..=1_000_000).contains(&v) {
                bail!("{name} must be between 1 and 1000000 requests per second");
            }
            Ok(v)
        };
        let public_rate_per_address = rate(
            "SWITCHYARD_PUBLIC_RATE_PER_ADDRESS",
            file.public_rate_per_address,
            50,
        )?;
        let public_rate_per_entry_point = rate(
            "SWITCHYARD_PUBLIC_RATE_PER_ENTRY_POINT",
            file.public_rate_per_entry_point,
            500,
        )?;
        let allow: Vec<String> = match env("SWITCHYARD_OUTBOUND_ALLOW") {
            Some(v) => v
                .split(',')
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
                .collect(),
            None => file.outbound_allow.unwrap_or_default(),
        };
        if allow.len() > 100 {
            bail!("outbound_allow holds at most 100 ranges");
        }
        let outbound_allow = allow
            .iter()
            .map(|r| {
                runtime::outbound::Range::parse(r).ok_or_else(|| {
                    anyhow::anyhow!("outbound_allow: {r:?} is not ADDRESS or ADDRESS/PREFIX")
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let defaults = channels::ProviderBases::default();
        let providers = channels::ProviderBases {
            whatsapp: api_base(
                "whatsapp_api_base",
                "SWITCHYARD_WHATSAPP_API_BASE",
                file.whatsapp_api_base,
                defaults.whatsapp,
            )?,
            telegram: api_base(
                "telegram_api_base",
                "SWITCHYARD_TELEGRAM_API_BASE",
                file.telegram_api_base,
                defaults.telegram,
            )?,
            messenger: api_base(
                "messenger_api_base",
                "SWITCHYARD_MESSENGER_API_BASE",
                file.messenger_api_base,
                defaults.messenger,
            )?,
        };
        let sms_api_base = api_base(
            "sms_api_base",
            "SWITCHYARD_SMS_API_BASE",
            file.sms_api_base,
            channels::sms::DEFAULT_BASE.to_owned(),
        )?;
        let sms_account_sid = env("SWITCHYARD_SMS_ACCOUNT_SID").or(file.sms_account_sid);
        if sms_account_sid
            .as_deref()
            .is_some_and(|s| s.len() > 64 || !s.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            bail!("sms_account_sid must be the provider's account SID (letters and digits)");
        }
        let smtp_hostname = env("SWITCHYARD_SMTP_HOSTNAME")
            .or(file.smtp_hostname.clone())
            .unwrap_or_else(|| "switchyard".into());
        let mail_authorities = match env("SWITCHYARD_MAIL_CA_FILE")
            .map(PathBuf::from)
            .or(file.mail_ca_file)
        {
            None => channels::relay::MailAuthorities::default(),
            Some(path) => {
                let pem = std::fs::read(&path)
                    .with_context(|| format!("mail_ca_file {}", path.display()))?;
                channels::relay::MailAuthorities::from_pem(&pem)
                    .map_err(|e| anyhow::anyhow!("mail_ca_file {}: {e}", path.display()))?
            }
        };
        let smtp_relay = match env("SWITCHYARD_SMTP_RELAY").or(file.smtp_relay) {
            None => None,
            Some(url) => Some(
                channels::relay::Relay::parse_trusting(&url, &smtp_hostname, &mail_authorities)
                    .map_err(|e| anyhow::anyhow!("smtp_relay: {e}"))?,
            ),
        };
        let imap_handled = match env("SWITCHYARD_IMAP_HANDLED").or(file.imap_handled) {
            None => channels::email::ImapHandled::Seen,
            Some(v) => channels::email::ImapHandled::parse(&v)
                .ok_or_else(|| anyhow::anyhow!("imap_handled must be 'seen' or 'move:<folder>'"))?,
        };
        let smtp = match env("SWITCHYARD_SMTP_LISTEN").or(file.smtp_listen) {
            None => None,
            Some(a) => {
                let listen = a
                    .parse::<SocketAddr>()
                    .with_context(|| format!("smtp_listen {a:?} is not ADDRESS:PORT"))?;
                let max_message_bytes = env_parse("SWITCHYARD_SMTP_MAX_MESSAGE_BYTES")?
                    .or(file.smtp_max_message_bytes)
                    .unwrap_or(channels::email::limits::MESSAGE_BYTES);
                if !(1024..=channels::email::limits::MESSAGE_BYTES_MAX).contains(&max_message_bytes)
                {
                    bail!("smtp_max_message_bytes must be between 1 KiB and 100 MiB");
                }
                let hostname = env("SWITCHYARD_SMTP_HOSTNAME")
                    .or(file.smtp_hostname)
                    .unwrap_or_else(|| "switchyard".into());
                if hostname.len() > 253
                    || hostname.is_empty()
                    || !hostname
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
                {
                    bail!("smtp_hostname must be a host name");
                }
                let cert = env("SWITCHYARD_SMTP_TLS_CERT")
                    .map(PathBuf::from)
                    .or(file.smtp_tls_cert);
                let key = env("SWITCHYARD_SMTP_TLS_KEY")
                    .map(PathBuf::from)
                    .or(file.smtp_tls_key);
                let tls = match (cert, key) {
                    (Some(c), Some(k)) => Some((c, k)),
                    (None, None) => None,
                    _ => bail!("smtp_tls_cert and smtp_tls_key go together"),
                };
                Some(SmtpListen {
                    listen,
                    max_message_bytes,
                    hostname,
                    tls,
                })
            }
        };
        Ok(Config {
            smtp,
            smtp_relay,
            imap_handled,
            mail_authorities,
            sms_api_base,
            sms_account_sid,
            providers,
            outbound_allow,
            public_listen,
            public_url,
            allowed_hosts,
            public_rate_per_address,
            public_rate_per_entry_point,
            phone_region,
            retention_days,
            listen,
            data_dir,
            time_zone,
            time_zone_name,
            log_json,
            log_level,
            max_body_bytes,
            request_timeout: Duration::from_secs(timeout),
            inactivity_timeout: Duration::from_secs(inactivity),
            max_actions_per_turn,
            max_hand_overs,
            offer_timeout: Duration::from_secs(offer_timeout),
            owner_on_first_handled,
        })
    }

    /// The SQLite database file.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("switchyard.db")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let dir = std::env::temp_dir().join(format!("switchyard-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("switchyard.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:9000\"\ntime_zone = \"Europe/Paris\"\nlog_format = \"json\"\nrequest_timeout_seconds = 5\n").unwrap();
        let c = Config::load(Some(&file), None, None).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.time_zone_name, "Europe/Paris");
        assert!(c.log_json);
        assert_eq!(c.request_timeout, Duration::from_secs(5));
        assert_eq!(c.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        let c = Config::load(
            Some(&file),
            Some("127.0.0.1:9100".into()),
            Some("/tmp/x".into()),
        )
        .unwrap();
        assert_eq!(
            (c.listen.port(), c.data_dir.clone()),
            (9100, PathBuf::from("/tmp/x"))
        );
        assert_eq!(c.database_path(), PathBuf::from("/tmp/x/switchyard.db"));

        std::fs::write(&file, "colour = \"red\"\n").unwrap();
        assert!(
            Config::load(Some(&file), None, None)
                .unwrap_err()
                .to_string()
                .contains("configuration file")
        );
        std::fs::write(&file, "time_zone = \"Mars/Olympus\"\n").unwrap();
        assert!(Config::load(Some(&file), None, None).is_err());
        std::fs::write(&file, "max_actions_per_turn = 5\n").unwrap();
        assert!(Config::load(Some(&file), None, None).is_err());
        std::fs::write(&file, "max_actions_per_turn = 50\nmax_hand_overs = 3\n").unwrap();
        let c = Config::load(Some(&file), None, None).unwrap();
        assert_eq!((c.max_actions_per_turn, c.max_hand_overs), (50, 3));
        std::fs::write(&file, "request_timeout_seconds = 0\n").unwrap();
        assert!(Config::load(Some(&file), None, None).is_err());
        assert!(Config::load(None, Some("nowhere".into()), None).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
