//! The `motcua` binary: one program that serves the portal and runs every administrative task.

mod audit_cli;
mod backup_cli;
mod calendar_cli;
mod config;
mod doctor;
mod gateways;
mod indicators_cli;
mod plans_cli;
mod procedures_cli;

use clap::{Args, Parser, Subcommand};
use config::{LogFormat, Overrides, Settings};
use motcua_store::demo::{SeedOutcome, DEMO_ACCOUNTS, DEMO_PASSWORD};
use motcua_store::{Store, StoreConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// motcua — online public services of a Vietnamese province.
///
/// Settings come from flags, then MOTCUA_* environment variables (MOTCUA_ADDR, MOTCUA_DATA_DIR,
/// MOTCUA_DATABASE, MOTCUA_DEMO, MOTCUA_LOG_FORMAT, MOTCUA_LOG_LEVEL, MOTCUA_PROVINCE_NAME,
/// MOTCUA_SHUTDOWN_GRACE_SECS), then the TOML file given by --config (same keys, snake_case),
/// then defaults.
#[derive(Parser, Debug)]
#[command(name = "motcua", version, about, long_about)]
struct Cli {
    /// TOML settings file.
    #[arg(long, global = true, env = "MOTCUA_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the portal, back office and API over HTTP.
    Serve(ServeArgs),
    /// Bring the database schema up to date (serve does this too at start).
    Migrate(StoreArgs),
    /// Procedure catalogue: import, export, clean a published list, search.
    #[command(subcommand)]
    Procedures(ProceduresCommand),
    /// Working-day calendar: holidays, due moments, lunar dates.
    #[command(subcommand)]
    Calendar(CalendarCommand),
    /// Communication plans: import and export as JSON (docs/plan-files.md).
    #[command(subcommand)]
    Plans(PlansCommand),
    /// Audit trail of dossiers.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Back up an embedded installation (database and files) while it serves, or check a
    /// backup (`backup verify PATH`).
    Backup(BackupArgs),
    /// Restore a backup into a new or empty data dir.
    Restore(RestoreArgs),
    /// Name what this installation still has from the demo or the defaults (placeholder dossier
    /// code prefix, insecure cookies behind HTTPS, demo accounts, no recent backup; exit 1).
    Doctor(StoreArgs),
    /// The Decision 766 index for a month, quarter or year, of the province, an agency or a
    /// commune, recounted from the dossiers' histories.
    Indicators(IndicatorsArgs),
    /// Run the providers' sandbox alone: VNPT and Viettel SMS brandname, Zalo ZNS and its token
    /// renewal, with simulated recipients and receipts (serve --demo starts one itself).
    Sandbox(SandboxArgs),
}

#[derive(Args, Debug)]
struct IndicatorsArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The period: a month (2026-11), a quarter (2026-Q4) or a year (2026).
    #[arg(long)]
    period: String,
    /// Only this competent agency (its code).
    #[arg(long)]
    agency: Option<String>,
    /// Only the applicants of this commune or ward (its code).
    #[arg(long)]
    commune: Option<String>,
    /// Print JSON instead of the table.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct SandboxArgs {
    /// Listen address.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8090")]
    addr: SocketAddr,
    /// Delay before every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Share of send requests answered with HTTP 500 (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    failure_rate: f64,
    /// Where SMS delivery receipts are posted (e.g. http://127.0.0.1:8080/hooks/receipts/sms?token=…).
    #[arg(long)]
    sms_receipts: Option<String>,
    /// Where Zalo webhook events are posted (e.g. http://127.0.0.1:8080/hooks/receipts/zalo).
    #[arg(long)]
    zalo_webhook: Option<String>,
    /// Delay of receipts after acceptance, in milliseconds.
    #[arg(long, default_value_t = 200)]
    receipt_delay_ms: u64,
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
struct BackupArgs {
    #[command(subcommand)]
    command: Option<BackupCommand>,
    /// Directory to write the backup into: new, or empty.
    #[arg(long, value_name = "DIR")]
    to: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Subcommand, Debug)]
enum BackupCommand {
    /// Check a backup: every file against its manifest, the audit chains, the stored files
    /// (exit status 3 when it is not good). Without PATH, checks the installation the store flags
    /// name in place: a PostgreSQL database restored with pg_restore and its data dir's files.
    Verify {
        /// The backup's directory.
        path: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Args, Debug)]
struct RestoreArgs {
    /// The backup's directory.
    path: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Subcommand, Debug)]
enum AuditCommand {
    /// Walk every dossier's hash-chained events; name the first broken one (exit status 3).
    Verify {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand, Debug)]
enum PlansCommand {
    /// Check a plan file and store it (replacing the plan with the same code).
    Import {
        /// The JSON file.
        file: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Write one plan (by its code, e.g. 147/KH-UBND) or all plans as JSON to stdout.
    Export {
        /// The plan's code.
        code: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand, Debug)]
enum ProceduresCommand {
    /// Import procedures from CSV or JSON (all or nothing; upsert by code + agency).
    Import {
        /// The file: motcua CSV or JSON (docs/procedure-files.md), or a province's published list.
        file: PathBuf,
        /// csv or json [default: from the file name].
        #[arg(long)]
        format: Option<String>,
        /// Check every row and report what would change, without changing anything.
        #[arg(long)]
        dry_run: bool,
        /// Who imports (recorded with each new version).
        #[arg(long, default_value = "cli")]
        by: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Write the catalogue to stdout.
    Export {
        /// csv or json.
        #[arg(long, default_value = "csv")]
        format: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Clean a province's published list into motcua CSV, reporting what was left empty or merged.
    Clean {
        /// The published list (CSV).
        file: PathBuf,
        /// Where to write the motcua CSV.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Search the catalogue as the portal does.
    Search {
        /// What a citizen would type.
        query: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand, Debug)]
enum CalendarCommand {
    /// Print every day off of YEAR (holidays, compensatory and swapped days) as YYYY-MM-DD<TAB>name.
    Holidays {
        /// Gregorian year, 2013–2199.
        year: i32,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Print the due moment of a dossier received at START with processing time DURATION.
    Due {
        /// Reception moment, YYYY-MM-DDTHH:MM in Vietnam time (or with an offset, e.g. +07:00).
        start: String,
        /// Processing time: 5d (working days), 30cd (calendar days), 8h (working hours), sameday.
        duration: String,
        /// Apply the 15:00 cut-off (received after 15:00 counts from the next working day).
        #[arg(long)]
        cutoff: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Convert a solar date YYYY-MM-DD to the lunar calendar (prints D/M/YYYY, " (nhuận)" for a leap month).
    Lunar {
        /// YYYY-MM-DD.
        date: String,
    },
    /// Convert a lunar date D/M/YYYY (add L for a leap month, e.g. 1/6/2025L) to YYYY-MM-DD.
    Solar {
        /// D/M/YYYY[L].
        date: String,
    },
    /// Store an official yearly schedule (JSON) as a new version; it replaces the shipped one.
    SetSchedule {
        /// JSON file with year, source, overrides, days_off, working_days.
        file: PathBuf,
        /// Who enters it (recorded with the version).
        #[arg(long)]
        by: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List every stored version of the yearly schedules.
    Schedules {
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Where the data lives; every subcommand that touches the store takes these.
#[derive(Args, Debug, Clone)]
struct StoreArgs {
    /// Data directory: SQLite database, uploaded files, lock [default: ./motcua-data].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// PostgreSQL URL (postgres://user@host:5432/db); omit for embedded SQLite in the data dir.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// Log format.
    #[arg(long, value_enum)]
    log_format: Option<LogFormat>,
    /// Log filter, e.g. "info" or "motcua=debug,info" [default: info].
    #[arg(long)]
    log_level: Option<String>,
}

#[derive(Args, Debug)]
struct ServeArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Listen address [default: 127.0.0.1:8080].
    #[arg(long, value_name = "HOST:PORT")]
    addr: Option<SocketAddr>,
    /// Load demo data of Lạng Sơn and one demo account per role (once; restarts keep it).
    #[arg(long)]
    demo: bool,
}

impl StoreArgs {
    fn overrides(&self) -> Overrides {
        Overrides {
            data_dir: self.data_dir.clone(),
            database: self.database.clone(),
            log_format: self.log_format,
            log_level: self.log_level.clone(),
            ..Overrides::default()
        }
    }
}

/// An error with the exit code it deserves: 2 for configuration, 1 for everything else.
struct Failure {
    code: u8,
    message: String,
}

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure {
            code: 1,
            message: e.to_string(),
        }
    }
}

fn config_failure(e: impl std::fmt::Display) -> Failure {
    Failure {
        code: 2,
        message: e.to_string(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // One TLS crypto provider for the process (ring: no C toolchain beyond what sqlx needs).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("motcua: error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("motcua: error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let overrides = match &cli.command {
        Command::Serve(a) => Overrides {
            addr: a.addr,
            demo: a.demo.then_some(true),
            ..a.store.overrides()
        },
        Command::Migrate(a) => a.overrides(),
        Command::Procedures(c) => match c {
            ProceduresCommand::Import { store, .. }
            | ProceduresCommand::Export { store, .. }
            | ProceduresCommand::Clean { store, .. }
            | ProceduresCommand::Search { store, .. } => store.overrides(),
        },
        Command::Calendar(c) => match c {
            CalendarCommand::Holidays { store, .. }
            | CalendarCommand::Due { store, .. }
            | CalendarCommand::SetSchedule { store, .. }
            | CalendarCommand::Schedules { store } => store.overrides(),
            CalendarCommand::Lunar { .. } | CalendarCommand::Solar { .. } => Overrides::default(),
        },
        Command::Plans(PlansCommand::Import { store, .. } | PlansCommand::Export { store, .. }) => {
            store.overrides()
        }
        Command::Audit(AuditCommand::Verify { store }) => store.overrides(),
        Command::Sandbox(_) => Overrides::default(),
        Command::Backup(BackupArgs {
            command: Some(BackupCommand::Verify { store, .. }),
            ..
        }) => store.overrides(),
        Command::Backup(a) => a.store.overrides(),
        Command::Restore(a) => a.store.overrides(),
        Command::Doctor(a) => a.overrides(),
        Command::Indicators(a) => a.store.overrides(),
    };
    let settings = config::load(cli.config.as_deref(), &overrides).map_err(config_failure)?;
    init_logging(&settings).map_err(config_failure)?;
    match cli.command {
        Command::Serve(_) => serve(settings).await,
        Command::Migrate(_) => migrate(settings).await,
        Command::Sandbox(a) => sandbox(a).await,
        Command::Procedures(c) => {
            let store = store_config(&settings)?;
            match c {
                ProceduresCommand::Import {
                    file,
                    format,
                    dry_run,
                    by,
                    ..
                } => procedures_cli::import(&store, &file, format.as_deref(), dry_run, &by).await,
                ProceduresCommand::Export { format, .. } => {
                    procedures_cli::export(&store, &format).await
                }
                ProceduresCommand::Clean { file, out, .. } => {
                    procedures_cli::clean(&store, &file, &out).await
                }
                ProceduresCommand::Search { query, json, .. } => {
                    procedures_cli::search(&store, &query, json).await
                }
            }
        }
        Command::Calendar(c) => {
            let store = store_config(&settings)?;
            match c {
                CalendarCommand::Holidays { year, .. } => {
                    calendar_cli::holidays(&store, year).await
                }
                CalendarCommand::Due {
                    start,
                    duration,
                    cutoff,
                    ..
                } => calendar_cli::due(&store, &start, &duration, cutoff).await,
                CalendarCommand::Lunar { date } => calendar_cli::to_lunar(&date),
                CalendarCommand::Solar { date } => calendar_cli::to_solar(&date),
                CalendarCommand::SetSchedule { file, by, .. } => {
                    calendar_cli::set_schedule(&store, &file, &by).await
                }
                CalendarCommand::Schedules { .. } => calendar_cli::schedule_history(&store).await,
            }
        }
        Command::Backup(a) => match (a.command, a.to) {
            (
                Some(BackupCommand::Verify {
                    path: Some(path), ..
                }),
                _,
            ) => backup_cli::verify(&path).await,
            (Some(BackupCommand::Verify { path: None, .. }), _) => {
                backup_cli::verify_in_place(&store_config(&settings)?).await
            }
            (None, Some(to)) => backup_cli::backup(&store_config(&settings)?, &to).await,
            (None, None) => Err(config_failure(
                "backup: say where to write it (--to DIR), or check one (backup verify DIR)",
            )),
        },
        Command::Restore(a) => backup_cli::restore(&store_config(&settings)?, &a.path).await,
        Command::Doctor(_) => doctor::run(&settings).await,
        Command::Indicators(a) => {
            let scope = motcua_store::indicators::Scope {
                agency: a.agency,
                commune: a.commune,
            };
            indicators_cli::run(&store_config(&settings)?, &a.period, scope, a.json).await
        }
        Command::Audit(AuditCommand::Verify { .. }) => {
            audit_cli::verify(&store_config(&settings)?).await
        }
        Command::Plans(c) => {
            let store = store_config(&settings)?;
            match c {
                PlansCommand::Import { file, .. } => plans_cli::import(&store, &file).await,
                PlansCommand::Export { code, .. } => {
                    plans_cli::export(&store, code.as_deref()).await
                }
            }
        }
    }
}

fn init_logging(settings: &Settings) -> Result<(), String> {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log_level)
        .map_err(|e| format!("log_level: invalid filter '{}': {e}", settings.log_level))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let result = match settings.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    result.map_err(|e| format!("log: {e}"))
}

fn store_config(settings: &Settings) -> Result<StoreConfig, Failure> {
    Ok(StoreConfig {
        data_dir: settings.data_dir.clone(),
        database: settings.database.clone(),
        files: gateways::files(settings.files.as_ref()).map_err(config_failure)?,
    })
}

async fn migrate(settings: Settings) -> Result<(), Failure> {
    let store = Store::open(&store_config(&settings)?).await?;
    let applied = store.migrate().await;
    store.close().await;
    println!("schema up to date ({} migration(s) applied)", applied?);
    Ok(())
}

async fn serve(settings: Settings) -> Result<(), Failure> {
    // Every setting is checked before anything is bound, opened or written.
    let oidc_config = settings.oidc().map_err(config_failure)?;
    let backup_schedule = backup_cli::schedule(&settings).map_err(config_failure)?;
    let dossiers = settings.dossiers().map_err(config_failure)?;
    let mailer = settings
        .smtp_url
        .as_deref()
        .filter(|u| !u.trim().is_empty())
        .map(|url| motcua_gateways::SmtpMailer::new(url, &settings.mail_from))
        .transpose()
        .map_err(config_failure)?;
    // Bind first: it changes nothing, so a busy port fails before the database is touched.
    let listener = tokio::net::TcpListener::bind(settings.addr)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse => config_failure(format!(
                "addr: {} is already in use by another program; choose another with --addr",
                settings.addr
            )),
            _ => config_failure(format!("addr: cannot listen on {}: {e}", settings.addr)),
        })?;
    let local = listener.local_addr()?;
    let store = Store::open(&store_config(&settings)?)
        .await
        .map_err(config_failure)?;
    if let Err(e) = store.migrate().await {
        store.close().await;
        return Err(config_failure(e));
    }
    if let Err(e) = store.blobs().check().await {
        store.close().await;
        return Err(config_failure(format!(
            "files: {} does not take a file and give it back: {e}",
            store.blobs().describe()
        )));
    }
    tracing::info!(files = %store.blobs().describe(), "files of dossiers");
    if settings.demo {
        let seeded = match store.seed_demo().await {
            Ok(outcome) => match store
                .seed_demo_dossiers(&dossiers.codes, &dossiers.hours)
                .await
            {
                Ok(n) => store.seed_demo_plan_progress().await.map(|_| (outcome, n)),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        match seeded {
            Ok((outcome, n)) => {
                print_demo_accounts(outcome);
                if n > 0 {
                    println!("demo: {n} sample dossiers created over the past twelve months");
                }
            }
            Err(e) => {
                store.close().await;
                return Err(e.into());
            }
        }
    }
    let oidc = match oidc_config.map(motcua_web::oidc::Oidc::new).transpose() {
        Ok(o) => o,
        Err(e) => {
            store.close().await;
            return Err(config_failure(format!("oidc_issuer: {e}")));
        }
    };
    let store = Arc::new(store);
    let mut state = motcua_web::AppState::new(
        store.clone(),
        motcua_web::Site {
            province_name: settings.province_name.clone(),
            demo: settings.demo,
            cookie_secure: settings.cookie_secure,
            dossiers,
        },
    );
    let shutdown = shutdown_signal()?;
    if let Err(e) = state.catalogue.refresh(&store).await {
        tracing::error!(error = %e, "catalogue could not be loaded; search starts empty");
    }
    if let Some(o) = oidc {
        state = state.with_oidc(o);
    }
    if mailer.is_none() && !settings.demo {
        tracing::warn!(
            "smtp_url is not set: email (registration and reset codes) waits in the outbox"
        );
    }
    if settings.sms.is_none() && !settings.demo {
        tracing::warn!(
            "[sms] is not set: SMS (codes to phones, dossier notices) waits in the outbox"
        );
    }
    let (gateways, sandbox) = match gateways::build(&settings, &store, mailer, local).await {
        Ok(g) => g,
        Err(e) => {
            store.close().await;
            return Err(config_failure(e));
        }
    };
    state = state.with_gateways(gateways);
    if let Some((dir, _)) = &backup_schedule {
        state = state.with_backup_dir(dir.clone());
    }
    if let Some(url) = sandbox {
        println!(
            "motcua: demo SMS and Zalo go to the providers' sandbox; the simulated phones: {url}/"
        );
    }
    tracing::info!(addr = %local, backend = store.backend_name(), "motcua serving");
    println!("motcua: listening on http://{local}");
    let grace = Duration::from_secs(settings.shutdown_grace_secs);
    let backups = backup_schedule.map(|(dir, keep)| backup_cli::spawn_schedule(&store, dir, keep));
    let served = motcua_web::serve(listener, state, shutdown, grace).await;
    if let Some(b) = backups {
        b.abort();
        let _ = b.await;
    }
    store.close().await;
    tracing::info!("motcua stopped");
    served.map_err(Failure::from)
}

async fn sandbox(a: SandboxArgs) -> Result<(), Failure> {
    if !(0.0..=1.0).contains(&a.failure_rate) {
        return Err(config_failure(format!(
            "failure-rate: {} must be between 0 and 1",
            a.failure_rate
        )));
    }
    let sandbox = motcua_sandbox::Sandbox::start(
        a.addr,
        motcua_sandbox::Settings {
            latency: Duration::from_millis(a.latency_ms),
            failure_rate: a.failure_rate,
            sms_receipts: a.sms_receipts,
            zalo_webhook: a.zalo_webhook,
            receipt_delay: Duration::from_millis(a.receipt_delay_ms),
            ..motcua_sandbox::Settings::default()
        },
    )
    .await
    .map_err(|e| config_failure(format!("addr: cannot listen on {}: {e}", a.addr)))?;
    println!("motcua sandbox: listening on {}", sandbox.url());
    println!("  VNPT SMS     POST {}/vnpt/send_sms_list", sandbox.url());
    println!("  Viettel SMS  POST {}/viettel/CcApi", sandbox.url());
    println!(
        "  Zalo ZNS     POST {}/zalo/message/template",
        sandbox.url()
    );
    println!(
        "  Zalo OAuth   POST {}/zalo/oauth/access_token",
        sandbox.url()
    );
    println!("  phones       GET  {}/", sandbox.url());
    shutdown_signal()?.await;
    Ok(())
}

fn print_demo_accounts(outcome: SeedOutcome) {
    match outcome {
        SeedOutcome::Loaded => println!("motcua: demo data of Lạng Sơn loaded"),
        SeedOutcome::AlreadyPresent => println!("motcua: demo data already present, kept as is"),
    }
    println!("motcua: DEMO ACCOUNTS — for demonstrations only, never on a real installation:");
    for a in DEMO_ACCOUNTS {
        println!(
            "  {:<16} {:<28} password: {DEMO_PASSWORD}",
            a.username,
            a.role.label_vi()
        );
    }
}

/// Installs the SIGTERM and Ctrl-C handlers now — a signal that arrives before the server polls
/// its shutdown future must still stop it gracefully — and returns the future that fires on one.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = terminate.recv() => {},
                _ = interrupt.recv() => {},
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
