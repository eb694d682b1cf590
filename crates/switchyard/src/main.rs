//! `switchyard`: the smart-routing server and its command-line tools.

mod config;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use flow::catalogue::{ObjectKind, Selector};
use flow::compile::{Lookup, Resolver};
use flow::document;
use runtime::{Maker, MakerError, SystemClock};
use store::SqliteStore;
use tokio::sync::watch;

use crate::config::Config;

#[derive(Parser)]
#[command(
    name = "switchyard",
    version,
    about = "Smart-routing engine for contact centres"
)]
struct Cli {
    /// TOML configuration file (also SWITCHYARD_CONFIG).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Data directory holding the SQLite database (also SWITCHYARD_DATA_DIR; default ./switchyard-data).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the server.
    Serve {
        /// ADDRESS:PORT to listen on (also SWITCHYARD_LISTEN; default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Checks a routing document offline; prints its diagnostics; exits 1 on errors.
    Validate {
        /// The document (JSON).
        file: PathBuf,
    },
    /// Imports a routing document as a new smart routing.
    Import {
        /// The document (JSON).
        file: PathBuf,
    },
    /// Writes a smart routing, with all its versions, as a routing document.
    Export {
        /// The routing's reference.
        reference: String,
        /// Output file (default: standard output).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Prints the OpenAPI document of the HTTP API.
    Openapi,
    /// Administration from the server's machine.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Creates an account and prints its password, once.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
        /// administrator, designer, publisher, supervisor, agent or viewer.
        #[arg(long, default_value = "administrator")]
        role: String,
    },
}

// The browser UI's built files (`ui/dist`), listed by build.rs.
include!(concat!(env!("OUT_DIR"), "/ui_assets.rs"));

fn main() -> ExitCode {
    let cli = Cli::parse();
    runtime::install_crypto();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve { listen } => {
            let config = Config::load(cli.config.as_deref(), listen, cli.data_dir)?;
            serve(config).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate { file } => validate(&file),
        Command::Import { file } => {
            let config = Config::load(cli.config.as_deref(), None, cli.data_dir)?;
            import(&config, &file).await
        }
        Command::Export { reference, output } => {
            let config = Config::load(cli.config.as_deref(), None, cli.data_dir)?;
            export(&config, &reference, output.as_deref()).await
        }
        Command::Admin {
            command: AdminCommand::Create { email, name, role },
        } => {
            let config = Config::load(cli.config.as_deref(), None, cli.data_dir)?;
            let store = open_store(&config).await?;
            let services = runtime::Services::start(
                store.clone(),
                Arc::new(SystemClock),
                runtime::ServiceSettings::default(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("opening the services: {e}"))?;
            let password = runtime::access::Access::generate_password();
            let account = services
                .access
                .create_account(runtime::access::AccountFields {
                    name: Some(name.unwrap_or_else(|| email.clone())),
                    email: Some(email),
                    password: Some(password.clone()),
                    role: Some(role),
                    status: None,
                })
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            store.close().await;
            println!(
                "account {} ({}) created; its password, shown this once:",
                account.email.as_deref().unwrap_or_default(),
                account.role
            );
            println!("  {password}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Openapi => {
            println!("{}", serde_json::to_string_pretty(&api::openapi())?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log_json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Opens (creating it owner-only) the data directory's database.
async fn open_store(config: &Config) -> anyhow::Result<SqliteStore> {
    // the data directory and the files in it are the owner's only
    let mut dir = std::fs::DirBuilder::new();
    dir.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut dir, 0o700);
    dir.create(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let store = SqliteStore::open(&config.database_path())
        .await
        .with_context(|| format!("opening {}", config.database_path().display()))?;
    Ok(store)
}

async fn open_maker(config: &Config) -> anyhow::Result<(Arc<Maker>, SqliteStore)> {
    let store = open_store(config).await?;
    let maker = Maker::new(
        Arc::new(store.clone()),
        Arc::new(SystemClock),
        config.time_zone.clone(),
    );
    Ok((Arc::new(maker), store))
}

/// The key channel secrets are sealed with: `SWITCHYARD_SECRET_KEY` (64 hex digits) or the data
/// directory's `secret.key` (created owner-only on the first start). Read here, never logged.
fn secret_key(config: &Config) -> anyhow::Result<runtime::secrets::SecretBox> {
    match std::env::var("SWITCHYARD_SECRET_KEY")
        .ok()
        .filter(|k| !k.is_empty())
    {
        Some(k) => runtime::secrets::SecretBox::from_hex(&k)
            .ok_or_else(|| anyhow::anyhow!("SWITCHYARD_SECRET_KEY must be 64 hex digits")),
        None => runtime::secrets::SecretBox::load_or_create(&config.data_dir)
            .with_context(|| format!("reading the secret key in {}", config.data_dir.display())),
    }
}

/// The SMS provider: the account SID of the configuration and the auth token of
/// `SWITCHYARD_SMS_AUTH_TOKEN` (a secret: read here, never part of the configuration shown).
fn sms_provider(
    config: &Config,
) -> anyhow::Result<Option<std::sync::Arc<dyn channels::sms::SmsGateway>>> {
    let token = std::env::var("SWITCHYARD_SMS_AUTH_TOKEN")
        .ok()
        .filter(|t| !t.is_empty());
    match (&config.sms_account_sid, token) {
        (Some(sid), Some(auth_token)) => {
            Ok(Some(std::sync::Arc::new(channels::sms::SmsProvider {
                base: config.sms_api_base.clone(),
                account_sid: sid.clone(),
                auth_token,
            })))
        }
        (None, None) => Ok(None),
        _ => anyhow::bail!(
            "an SMS provider needs both sms_account_sid and SWITCHYARD_SMS_AUTH_TOKEN"
        ),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    init_logging(&config);
    let store = open_store(&config).await?;
    let settings = runtime::ServiceSettings {
        time_zone: config.time_zone.clone(),
        conversations: runtime::conversations::Settings {
            limits: engine::Limits {
                steps_per_turn: config.max_actions_per_turn,
                max_hand_overs: config.max_hand_overs,
                ..engine::Limits::default()
            },
            inactivity: jiff::SignedDuration::try_from(config.inactivity_timeout)?,
            phone_region: config.phone_region.clone(),
            retention: (config.retention_days > 0)
                .then(|| jiff::SignedDuration::from_hours(24 * config.retention_days as i64)),
            outbound: runtime::outbound::OutboundPolicy {
                allow: config.outbound_allow.clone(),
            },
            secrets: secret_key(&config)?,
            providers: config.providers.clone(),
            sms: sms_provider(&config)?,
            relay: config.smtp_relay.clone().map(std::sync::Arc::new),
            imap_handled: config.imap_handled.clone(),
            mail_authorities: config.mail_authorities.clone(),
            public_url: config.public_url.clone(),
        },
        distribution: runtime::distribution::DistributionSettings {
            offer_timeout: jiff::SignedDuration::try_from(config.offer_timeout)?,
            owner_on_first_handled: config.owner_on_first_handled,
        },
        // a secret: read here, never part of the configuration that may be shown
        admin_token: std::env::var("SWITCHYARD_ADMIN_TOKEN")
            .ok()
            .filter(|t| !t.is_empty()),
    };
    let settings_had_no_admin = settings.admin_token.is_none();
    let services = runtime::Services::start(store.clone(), Arc::new(SystemClock), settings)
        .await
        .map_err(|e| anyhow::anyhow!("starting the services: {e}"))?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let background = services.spawn_background(stop_rx);
    let limits = api::HttpLimits {
        max_body_bytes: config.max_body_bytes,
        request_timeout: config.request_timeout,
        public_per_address: api::Rate::per_second(config.public_rate_per_address),
        public_per_entry_point: api::Rate::per_second(config.public_rate_per_entry_point),
        allowed_hosts: api::AllowedHosts(config.allowed_hosts.clone()),
        ui: UI_ASSETS,
    };
    if settings_had_no_admin && services.access.has_no_account().await? {
        let password = runtime::access::Access::generate_password();
        let account = services
            .access
            .create_account(runtime::access::AccountFields {
                email: Some("admin@localhost".into()),
                name: Some("Administrator".into()),
                password: Some(password.clone()),
                role: Some("administrator".into()),
                status: None,
            })
            .await
            .map_err(|e| anyhow::anyhow!("creating the first administrator: {e}"))?;
        println!(
            "first start: the administrator account {} was created; its password, shown this once:",
            account.email.as_deref().unwrap_or_default()
        );
        println!("  {password}");
    }
    if settings_had_no_admin && services.access.is_first_start().await? {
        let (_, token) = services
            .access
            .create_token(runtime::access::NewToken {
                name: "first administrator".into(),
                role: "administrator".into(),
                expires_at: None,
            })
            .await
            .map_err(|e| anyhow::anyhow!("creating the first administrator token: {e}"))?;
        println!("first start: an administrator API token was created; it is shown this once:");
        println!("  {token}");
        println!("use it as 'Authorization: Bearer <token>' (or set SWITCHYARD_ADMIN_TOKEN)");
    }
    let conversations = services.conversations.clone();
    let (app, public_app) = api::apps(
        services.maker,
        services.conversations,
        services.access,
        limits,
    );
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, data_dir = %config.data_dir.display(), time_zone = %config.time_zone_name, "switchyard listening");
    println!("listening on http://{addr}");
    // after the HTTP listener's line: the first line a supervisor reads stays the same
    let smtp = match &config.smtp {
        Some(smtp) => Some(start_smtp(smtp, conversations, stop_rx_smtp(&stop_tx)).await?),
        None => None,
    };
    let public = match config.public_listen {
        Some(at) => {
            let l = tokio::net::TcpListener::bind(at)
                .await
                .with_context(|| format!("listening on {at} (public_listen)"))?;
            let public_addr = l.local_addr()?;
            tracing::info!(%public_addr, "public surface listening");
            println!("public surface on http://{public_addr}");
            let (stop, mut stopped) = watch::channel(false);
            let task = tokio::spawn(async move {
                axum::serve(
                    l,
                    public_app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
                )
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await
            });
            Some((stop, task))
        }
        None => None,
    };
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    if let Some((stop, task)) = public {
        let _ = stop.send(true);
        let _ = task.await;
    }
    let _ = stop_tx.send(true);
    if let Some(task) = smtp {
        let _ = task.await;
    }
    background.join().await;
    store.close().await;
    tracing::info!("switchyard stopped");
    Ok(())
}

fn stop_rx_smtp(stop: &watch::Sender<bool>) -> watch::Receiver<bool> {
    stop.subscribe()
}

/// Starts the SMTP listener for inbound mail.
async fn start_smtp(
    smtp: &config::SmtpListen,
    conversations: Arc<runtime::Conversations>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let tls = match &smtp.tls {
        None => None,
        Some((cert, key)) => Some(Arc::new(
            channels::smtp::tls_from_pem(cert, key)
                .map_err(|e| anyhow::anyhow!("smtp_tls_cert / smtp_tls_key: {e}"))?,
        )),
    };
    let listener = tokio::net::TcpListener::bind(smtp.listen)
        .await
        .with_context(|| format!("listening on {} (smtp_listen)", smtp.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, starttls = tls.is_some(), "SMTP listener for inbound mail");
    println!("SMTP listener on {addr}");
    let config = Arc::new(channels::smtp::SmtpConfig {
        hostname: smtp.hostname.clone(),
        max_message_bytes: smtp.max_message_bytes,
        tls,
        ..Default::default()
    });
    let sink = Arc::new(runtime::email::EmailSink(conversations));
    Ok(tokio::spawn(channels::smtp::serve(
        listener, config, sink, stop,
    )))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// Offline: only the document's own routing can be resolved.
struct OwnRouting(document::DocRouting);

impl Resolver for OwnRouting {
    fn lookup(&self, kind: ObjectKind, selector: &Selector) -> Lookup {
        match (kind, selector) {
            (ObjectKind::Routing, Selector::Reference { reference })
                if reference.0 == self.0.reference =>
            {
                Lookup::Found(Some((self.0.kind, self.0.channel_family)))
            }
            _ => Lookup::Unchecked,
        }
    }
}

fn read_document(file: &Path) -> anyhow::Result<document::RoutingDocument> {
    let meta = std::fs::metadata(file).with_context(|| format!("reading {}", file.display()))?;
    if meta.len() > document::MAX_BYTES as u64 {
        anyhow::bail!(
            "{} is larger than {} bytes",
            file.display(),
            document::MAX_BYTES
        );
    }
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    document::parse(&text).with_context(|| file.display().to_string())
}

fn validate(file: &Path) -> anyhow::Result<ExitCode> {
    let doc = match read_document(file) {
        Ok(d) => d,
        Err(e) => {
            println!("error: {e:#}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let report = document::check(&doc, &OwnRouting(doc.routing.clone()));
    for line in report.lines() {
        println!("{line}");
    }
    let errors = report.problems.len()
        + report
            .versions
            .iter()
            .map(|v| v.compiled.error_count())
            .sum::<usize>();
    let warnings: usize = report
        .versions
        .iter()
        .map(|v| v.compiled.warning_count())
        .sum();
    println!(
        "{}: {} version(s), {errors} error(s), {warnings} warning(s)",
        file.display(),
        doc.versions.len()
    );
    Ok(if report.has_errors() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn import(config: &Config, file: &Path) -> anyhow::Result<ExitCode> {
    let doc = read_document(file)?;
    let (maker, store) = open_maker(config).await?;
    let outcome = maker.import(doc).await;
    store.close().await;
    match outcome {
        Ok(imported) => {
            for line in imported.report.lines() {
                println!("{line}");
            }
            println!(
                "imported smart routing '{}' ({}) as {}",
                imported.routing.name, imported.routing.reference, imported.routing.id
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(MakerError::DocumentRejected(report)) => {
            for line in report.lines() {
                println!("{line}");
            }
            println!("not imported: the document has problems");
            Ok(ExitCode::FAILURE)
        }
        Err(e) => {
            println!("not imported: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn export(
    config: &Config,
    reference: &str,
    output: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let (maker, store) = open_maker(config).await?;
    let outcome = async {
        let view = maker.routing_by_reference(reference).await?;
        maker.export(view.routing.id).await
    }
    .await;
    store.close().await;
    let doc = match outcome {
        Ok(doc) => doc,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let text = serde_json::to_string_pretty(&doc)? + "\n";
    match output {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
