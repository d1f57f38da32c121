//! `chargeamps-sim`: the Charge Amps cloud simulator as a process (see the library's docs).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use chargeamps_sim::{Options, Sim};
use clap::Parser;

#[derive(Parser)]
#[command(
    version,
    about = "A simulator of the Charge Amps cloud for Ampwise's demo and tests"
)]
struct Cli {
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:3002")]
    addr: SocketAddr,
    /// Keep devices, load balancers and chargers in this JSON file across restarts.
    #[arg(long)]
    state: Option<PathBuf>,
    /// The demo's device file (written by `ampwise` with AMPWISE_DEMO): create its measurement
    /// device, a load balancer and two chargers unless they exist.
    #[arg(long)]
    demo_device_file: Option<PathBuf>,
    /// The demo load balancer's supply max current (A).
    #[arg(long, default_value_t = 20.0)]
    demo_fuse: f64,
    /// Record every update's arrival for `GET /api/received-log` (benchmarks).
    #[arg(long)]
    log_updates: bool,
    /// Open Reporter partner accounts, `username:password`, repeatable.
    #[arg(long = "open-reporter-account")]
    open_reporter_accounts: Vec<String>,
}

#[derive(serde::Deserialize)]
struct DemoDevice {
    reporter: Option<DemoReporter>,
}

#[derive(serde::Deserialize)]
struct DemoReporter {
    serial: String,
    pin: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let sim = Sim::new(Options {
        state_file: cli.state,
        log_updates: cli.log_updates,
        ..Options::default()
    })?;
    for account in &cli.open_reporter_accounts {
        let (user, password) = account
            .split_once(':')
            .context("--open-reporter-account takes username:password")?;
        sim.add_open_reporter_account(user, password).await;
    }
    if let Some(path) = &cli.demo_device_file {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let demo: DemoDevice =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        if let Some(r) = demo.reporter {
            sim.seed_demo(&r.serial, &r.pin, cli.demo_fuse)
                .await
                .map_err(anyhow::Error::msg)?;
        }
    }
    let listener = tokio::net::TcpListener::bind(cli.addr)
        .await
        .with_context(|| format!("listening on {}", cli.addr))?;
    println!(
        "Charge Amps simulator: http://{} (Partner page; measurement link at /measurement)",
        listener.local_addr()?
    );
    chargeamps_sim::serve(sim, listener, stop_signal()).await
}

/// Ctrl-C or SIGTERM.
async fn stop_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("listening for SIGTERM");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
