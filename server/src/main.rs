use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use server::Config;
use tracing_subscriber::EnvFilter;

/// mimalloc rather than glibc's malloc: each password hash takes a 19 MiB block (argon2), and
/// glibc, once such a block is freed, raises its mmap threshold and serves the next ones from
/// per-thread arenas it never gives back: 40 sign-ins left the server at 242 MiB instead of
/// 33 MiB (`ampwise-bench sse 1`, idle).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Ampwise: power management for home EV chargers. Settings come from the environment
/// (see ampwise.env.example).
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (the default).
    Serve,
    /// Integration licences: mint, list, revoke. Needs AMPWISE_LICENCE_KEY.
    #[command(subcommand)]
    Licences(LicenceCommand),
    /// A simulated household's mains meter posting readings to a running server.
    Simulate(server::simulate::SimulateArgs),
    /// optiCharge's plan on a price file, printed as JSON (no server needed).
    Plan(server::plan::PlanArgs),
    /// A month's capacity charge as a grid operator counts it, from a meter's readings, printed
    /// as JSON (no server needed).
    Peaks(server::peaks::PeaksArgs),
}

#[derive(Subcommand)]
enum LicenceCommand {
    /// Mint new codes: prints them, and writes printable A4 sheets with --sheet.
    Mint {
        /// What the licence unlocks: charge-amps.
        #[arg(long, default_value = "charge-amps")]
        capability: String,
        #[arg(long, default_value_t = 1)]
        count: usize,
        /// Write SVG sheets PREFIX-1.svg, PREFIX-2.svg, … (eight cards to an A4 page).
        #[arg(long, value_name = "PREFIX")]
        sheet: Option<PathBuf>,
    },
    /// List minted codes with their state.
    List,
    /// Revoke a code; whoever redeemed it loses the capability.
    Revoke { code: String },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let command = match cli.command {
        Some(Command::Simulate(args)) => return server::simulate::run(args).await,
        Some(Command::Plan(args)) => {
            let plan = server::plan::run(&args)?;
            println!("{}", serde_json::to_string_pretty(&plan)?);
            return Ok(());
        }
        Some(Command::Peaks(args)) => {
            let month = server::peaks::run(&args)?;
            println!("{}", serde_json::to_string_pretty(&month)?);
            return Ok(());
        }
        command => command,
    };
    let config = Config::from_env().context("reading the configuration")?;
    match command.unwrap_or(Command::Serve) {
        Command::Serve | Command::Simulate(_) | Command::Plan(_) | Command::Peaks(_) => {}
        Command::Licences(LicenceCommand::Mint {
            capability,
            count,
            sheet,
        }) => {
            return server::licences::mint(&config, &capability, count, sheet.as_deref())
                .await
                .map(drop);
        }
        Command::Licences(LicenceCommand::List) => return server::licences::list(&config).await,
        Command::Licences(LicenceCommand::Revoke { code }) => {
            return server::licences::revoke(&config, &code).await;
        }
    }
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    if config.log_json {
        logs.json().init();
    } else {
        logs.init();
    }
    tracing::info!(?config, "starting");
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("listening on {}", config.addr))?;
    server::serve(config, listener, shutdown_signal()).await
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("Ctrl-C: shutting down"),
        _ = term => tracing::info!("SIGTERM: shutting down"),
    }
}
