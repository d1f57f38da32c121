//! `ampwise peaks`: a month's capacity charge as a grid operator counts it, from a meter's
//! readings, without a server (backend/src/capacity.rs; the rules come from the `grid-tariffs`
//! crate). The readings are a CSV of `ts,power_w`: UTC timestamps (RFC 3339) and imported power
//! in W, at any interval.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::{Context, bail};
use backend::capacity::{Month, MonthPeaks, Sample, month_peaks};

#[derive(Debug, clap::Args)]
pub struct PeaksArgs {
    /// The grid operator, e.g. goteborg-energi, ellevio, sollentuna-energi-miljo, malarenergi.
    #[arg(long)]
    pub operator: String,
    /// The operator's tariff (price list variant), when it has several; its first otherwise.
    #[arg(long)]
    pub tariff: Option<String>,
    /// The month, YYYY-MM, in the site's time zone.
    #[arg(long)]
    pub month: String,
    /// CSV of `ts,power_w` (UTC timestamps, imported power in W, any interval).
    #[arg(long)]
    pub readings: PathBuf,
    /// The site's time zone: which hours and days the rule counts.
    #[arg(long, default_value = "Europe/Stockholm")]
    pub tz: String,
    /// The main fuse (A), for tariffs whose price per kW depends on it.
    #[arg(long, default_value_t = 20)]
    pub fuse: u16,
}

/// The readings of a `ts,power_w` CSV; a line that is not one is an error naming it.
pub fn read_readings(input: impl BufRead) -> anyhow::Result<Vec<Sample>> {
    let mut lines = input.lines();
    let header = lines.next().context("the readings file is empty")??;
    let columns: Vec<&str> = header.split(',').map(str::trim).collect();
    if columns != ["ts", "power_w"] {
        bail!("the readings file's header is {header:?}; it must be \"ts,power_w\"");
    }
    let mut samples = Vec::new();
    for (n, line) in lines.enumerate() {
        let line = line?;
        let line_no = n + 2;
        if line.trim().is_empty() {
            continue;
        }
        let (ts, power) = line
            .split_once(',')
            .with_context(|| format!("line {line_no}: {line:?} is not \"ts,power_w\""))?;
        let at: jiff::Timestamp = ts.trim().parse().with_context(|| {
            format!("line {line_no}: {ts:?} is not a UTC time (e.g. 2026-01-15T17:00:00Z)")
        })?;
        let power_w: f64 = power
            .trim()
            .parse()
            .ok()
            .filter(|w: &f64| w.is_finite())
            .with_context(|| format!("line {line_no}: {power:?} is not a power in W"))?;
        samples.push(Sample { at, power_w });
    }
    Ok(samples)
}

pub fn run(args: &PeaksArgs) -> anyhow::Result<MonthPeaks> {
    let month: Month = args.month.parse()?;
    let file = std::fs::File::open(&args.readings)
        .with_context(|| format!("opening {}", args.readings.display()))?;
    let samples = read_readings(std::io::BufReader::new(file))
        .with_context(|| format!("reading {}", args.readings.display()))?;
    Ok(month_peaks(
        &args.operator,
        args.tariff.as_deref(),
        month,
        &args.tz,
        args.fuse,
        &samples,
    )?)
}
