//! `ampwise simulate`: a monitor on a simulated household's mains, posting readings over HTTP
//! to a running server exactly like a device (the JSON ingest API with its device token).
//!
//! The household: standby and fridge cycles, lights and plug loads mostly on L1, a kettle in
//! the morning, a stove and oven at dinner, a heat pump cycling on all three phases, a washing
//! machine in the evening, a sauna on Friday and Saturday evenings (20:00–21:30), and noise. Extra load is set
//! through a small control API: `PUT /extra-load {"current_a":[16,16,16]}`. With
//! `--charge-amps`, the chargers' draw is read from the Charge Amps simulator before every
//! reading and added to the load, so the loop is closed as in a real house: the meter sees the
//! chargers, the load balancer sees the meter.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use axum::Json;
use axum::extract::State;
use axum::routing::get;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use model::monitor::DeviceToken;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// The Ampwise server to post to.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    pub url: String,
    /// A JSON file with `monitor_id` and `token` (the demo writes one).
    #[arg(long, conflicts_with_all = ["monitor", "token"])]
    pub device_file: Option<PathBuf>,
    #[arg(long, requires = "token")]
    pub monitor: Option<i64>,
    #[arg(long, env = "AMPWISE_DEVICE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Seconds between readings (1–10, like real meters).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=10))]
    pub interval: u64,
    /// Where the control API listens (extra load per phase).
    #[arg(long, default_value = "127.0.0.1:3001")]
    pub control: SocketAddr,
    /// First post this many hours of past readings, one a minute (for the history pages).
    #[arg(long, default_value_t = 0)]
    pub backfill_hours: u32,
    /// The household's local time zone (its routines follow the clock on the wall).
    #[arg(long, default_value = "Europe/Stockholm")]
    pub time_zone: String,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// The Charge Amps simulator (e.g. http://127.0.0.1:3002): its chargers' draw on this
    /// household's load balancer is added to the load.
    #[arg(long)]
    pub charge_amps: Option<String>,
    /// The measurement device's serial number there (the demo device file names it).
    #[arg(long)]
    pub serial: Option<String>,
    /// Live the household's routines as if the wall clock had said this local time at start
    /// (e.g. 2026-12-02T10:00, a quiet Wednesday morning); readings keep the real time.
    /// Tests use it so the house draws the same whatever the hour they run.
    #[arg(long)]
    pub house_clock: Option<jiff::civil::DateTime>,
}

/// The demo device file: the monitor's id and token, and the reporter's serial number.
#[derive(Deserialize)]
struct DeviceFile {
    #[serde(flatten)]
    device: DeviceToken,
    #[serde(default)]
    reporter: Option<ReporterFile>,
}

#[derive(Deserialize)]
struct ReporterFile {
    serial: String,
}

/// Extra current per phase (A), e.g. what chargers draw.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct ExtraLoad {
    pub current_a: [f64; 3],
}

/// One reading of the JSON ingest API, as a device sends it.
#[derive(Debug, Clone, Serialize)]
pub struct WireReading {
    pub ts: String,
    pub current_a: [f64; 3],
    pub voltage_v: [f64; 3],
    pub power_w: [f64; 3],
    pub import_kwh: f64,
    pub export_kwh: f64,
}

/// A request body of the JSON ingest API.
#[derive(Serialize)]
pub struct Batch<'a> {
    pub readings: &'a [WireReading],
}

/// The simulated household. Deterministic for a seed and a sequence of times.
pub struct Household {
    rng: StdRng,
    tz: TimeZone,
    import_kwh: f64,
    last_ts: Option<i64>,
    /// Added to a reading's time to find the house's wall clock (see `--house-clock`).
    shift_ms: i64,
}

/// Minutes since local midnight and the day number, for routines.
fn clock(tz: &TimeZone, ts: i64) -> (f64, i64) {
    let zoned = Timestamp::from_millisecond(ts)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned(tz.clone());
    let minutes = f64::from(zoned.hour()) * 60.0
        + f64::from(zoned.minute())
        + f64::from(zoned.second()) / 60.0;
    (minutes, ts.div_euclid(86_400_000))
}

fn between(m: f64, from_h: f64, to_h: f64) -> bool {
    (from_h * 60.0..to_h * 60.0).contains(&m)
}

impl Household {
    pub fn new(seed: u64, tz: TimeZone, import_kwh: f64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            tz,
            import_kwh,
            last_ts: None,
            shift_ms: 0,
        }
    }

    /// From now on the routines run as if `now` (ms UTC) were `wall` on the house's clock.
    pub fn set_clock(&mut self, now: i64, wall: jiff::civil::DateTime) -> anyhow::Result<()> {
        let wall = self
            .tz
            .to_ambiguous_zoned(wall)
            .unambiguous()
            .context("the house clock's time is skipped or repeated by a clock change")?;
        self.shift_ms = wall.timestamp().as_millisecond() - now;
        Ok(())
    }

    /// The current per phase (A) at `ts` without noise or extra load.
    pub fn profile(&self, ts: i64) -> [f64; 3] {
        let ts = ts + self.shift_ms;
        let (m, day) = clock(&self.tz, ts);
        let mut i = [0.6, 0.4, 0.5]; // standby: router, fridge electronics, ventilation
        // Fridge and freezer compressors: 12 minutes on, 28 off.
        if (ts / 60_000) % 40 < 12 {
            i[1] += 0.6;
        }
        // Heat pump: cycles of 50 minutes, on longer at night (colder), 4.2 A per phase.
        let on_minutes = if between(m, 0.0, 6.0) { 35 } else { 25 };
        if (ts / 60_000 + 17) % 50 < on_minutes {
            for phase in &mut i {
                *phase += 4.2;
            }
        }
        // Lights and plug loads, mostly on L1.
        if between(m, 6.0, 8.5) || between(m, 16.5, 23.0) {
            i[0] += 1.8;
            i[2] += 0.4;
        }
        // Kettle and coffee: 7:00–7:06.
        if between(m, 7.0, 7.1) {
            i[0] += 8.7;
        }
        // Stove (two hobs on L1 and L2, switching) and oven (L3) at dinner.
        if between(m, 17.0, 17.9) {
            let hob_on = (ts / 45_000) % 3 != 0;
            if hob_on {
                i[0] += 6.5;
                i[1] += 6.5;
            }
        }
        if between(m, 17.25, 18.1) {
            i[2] += 8.0;
        }
        // Washing machine every other evening: heating for 20 minutes.
        if day % 2 == 0 && between(m, 19.5, 19.84) {
            i[1] += 9.0;
        }
        // Sauna on Friday and Saturday evenings: a 6.6 kW heater on all three phases (9.5 A
        // each), thermostat-cycled once hot.
        if self.sauna_day(ts) && between(m, 20.0, 21.5) {
            let heating = m < 20.0 * 60.0 + 40.0 || (ts / 60_000) % 6 < 4;
            if heating {
                for phase in &mut i {
                    *phase += 9.5;
                }
            }
        }
        i
    }

    fn sauna_day(&self, ts: i64) -> bool {
        let weekday = Timestamp::from_millisecond(ts)
            .unwrap_or(Timestamp::UNIX_EPOCH)
            .to_zoned(self.tz.clone())
            .weekday();
        matches!(
            weekday,
            jiff::civil::Weekday::Friday | jiff::civil::Weekday::Saturday
        )
    }

    /// The next reading at `ts`, with noise and `extra` load.
    fn reading(&mut self, ts: i64, extra: [f64; 3]) -> WireReading {
        let base = self.profile(ts);
        let mut current_a = [0.0; 3];
        let mut voltage_v = [0.0; 3];
        let mut power_w = [0.0; 3];
        for p in 0..3 {
            let noise: f64 = self.rng.gen_range(-0.15..0.15);
            let i = (base[p] + extra[p] + noise).max(0.05);
            let v = 231.5 - 0.12 * i + self.rng.gen_range(-0.6..0.6);
            current_a[p] = (i * 100.0).round() / 100.0;
            voltage_v[p] = (v * 10.0).round() / 10.0;
            power_w[p] = (i * v * 0.96).round();
        }
        if let Some(last) = self.last_ts {
            let hours = (ts - last).max(0) as f64 / 3_600_000.0;
            self.import_kwh += power_w.iter().sum::<f64>() / 1000.0 * hours;
        }
        self.last_ts = Some(ts);
        WireReading {
            ts: Timestamp::from_millisecond(ts)
                .unwrap_or(Timestamp::UNIX_EPOCH)
                .to_string(),
            current_a,
            voltage_v,
            power_w,
            import_kwh: (self.import_kwh * 1000.0).round() / 1000.0,
            export_kwh: 0.0,
        }
    }
}

/// Most readings held back while the server cannot be reached.
const MAX_BUFFERED: usize = 10_000;

pub async fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let (device, serial) = match (&args.device_file, args.monitor, &args.token) {
        (Some(path), _, _) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let file: DeviceFile = serde_json::from_str(&text)
                .with_context(|| format!("parsing {}", path.display()))?;
            (file.device, file.reporter.map(|r| r.serial))
        }
        (None, Some(monitor_id), Some(token)) => (
            DeviceToken {
                monitor_id,
                token: token.clone(),
            },
            None,
        ),
        _ => anyhow::bail!("give --device-file, or --monitor and --token"),
    };
    let chargers = match (&args.charge_amps, args.serial.clone().or(serial)) {
        (Some(url), Some(serial)) => Some(format!(
            "{}/api/draw?device={serial}",
            url.trim_end_matches('/')
        )),
        (Some(_), None) => {
            anyhow::bail!("--charge-amps needs --serial (or a device file naming one)")
        }
        _ => None,
    };
    let tz = TimeZone::get(&args.time_zone)
        .with_context(|| format!("unknown time zone {}", args.time_zone))?;
    let endpoint = format!(
        "{}/api/v1/monitors/{}/readings",
        args.url.trim_end_matches('/'),
        device.monitor_id
    );
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let extra = Arc::new(Mutex::new(ExtraLoad::default()));
    let control = tokio::net::TcpListener::bind(args.control)
        .await
        .with_context(|| format!("binding the control API to {}", args.control))?;
    let router = axum::Router::new()
        .route("/extra-load", get(get_extra).put(put_extra))
        .with_state(extra.clone());
    tokio::spawn(async move { axum::serve(control, router).await });
    println!(
        "Simulating monitor {} → {endpoint} every {} s; extra load: PUT http://{}/extra-load",
        device.monitor_id, args.interval, args.control
    );

    // The counter starts where a real house's might: a few years of use.
    let mut house = Household::new(args.seed, tz, 23_456.0);
    let now = Timestamp::now().as_millisecond();
    if let Some(wall) = args.house_clock {
        house.set_clock(now, wall)?;
    }
    if args.backfill_hours > 0 {
        // On the minute grid, so a second backfill collides with the first and is not stored twice.
        let first = (now / 60_000 - i64::from(args.backfill_hours) * 60) * 60_000;
        let readings: Vec<WireReading> = (first..now)
            .step_by(60_000)
            .map(|ts| house.reading(ts, [0.0; 3]))
            .collect();
        for chunk in readings.chunks(1000) {
            post(&client, &endpoint, &device.token, chunk).await?;
        }
        println!("Backfilled {} readings", readings.len());
    }
    let mut buffered: VecDeque<WireReading> = VecDeque::new();
    let mut tick = tokio::time::interval(Duration::from_secs(args.interval));
    let mut failures = 0u32;
    loop {
        tick.tick().await;
        let mut load = extra.lock().map(|e| e.current_a).unwrap_or_default();
        if let Some(url) = &chargers {
            let draw = chargers_draw(&client, url).await;
            for (l, d) in load.iter_mut().zip(draw) {
                *l += d;
            }
        }
        buffered.push_back(house.reading(Timestamp::now().as_millisecond(), load));
        while buffered.len() > MAX_BUFFERED {
            buffered.pop_front();
        }
        let batch: Vec<WireReading> = buffered.drain(..).collect();
        match post(&client, &endpoint, &device.token, &batch).await {
            Ok(()) => failures = 0,
            Err(e) => {
                failures += 1;
                if failures == 1 || failures.is_multiple_of(30) {
                    eprintln!(
                        "simulator: {e:#} (keeping {} readings to resend)",
                        batch.len()
                    );
                }
                // Rejected readings (4xx) would be rejected again; keep only on server trouble.
                if !e.to_string().contains("rejected") {
                    buffered.extend(batch);
                }
            }
        }
    }
}

/// What the chargers draw now per phase (A); nothing when the Charge Amps simulator does not
/// answer (then neither does its load balancer, and the chargers are not charging).
async fn chargers_draw(client: &reqwest::Client, url: &str) -> [f64; 3] {
    #[derive(Deserialize)]
    struct Draw {
        current_a: [f64; 3],
    }
    let answer = client
        .get(url)
        .timeout(Duration::from_secs(1))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status);
    match answer {
        Ok(response) => response
            .json::<Draw>()
            .await
            .map(|d| d.current_a)
            .unwrap_or_default(),
        Err(_) => [0.0; 3],
    }
}

async fn post(
    client: &reqwest::Client,
    endpoint: &str,
    token: &str,
    readings: &[WireReading],
) -> anyhow::Result<()> {
    let response = client
        .post(endpoint)
        .bearer_auth(token)
        .json(&Batch { readings })
        .send()
        .await
        .context("posting readings")?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    if status.is_client_error() {
        anyhow::bail!("readings rejected ({status}): {body}");
    }
    anyhow::bail!("server answered {status}: {body}")
}

async fn get_extra(State(extra): State<Arc<Mutex<ExtraLoad>>>) -> Json<ExtraLoad> {
    Json(extra.lock().map(|e| *e).unwrap_or_default())
}

async fn put_extra(
    State(extra): State<Arc<Mutex<ExtraLoad>>>,
    Json(load): Json<ExtraLoad>,
) -> Result<Json<ExtraLoad>, (axum::http::StatusCode, String)> {
    if load.current_a.iter().any(|i| !(0.0..=100.0).contains(i)) {
        return Err((
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "current_a: three values from 0 to 100 A".into(),
        ));
    }
    if let Ok(mut e) = extra.lock() {
        *e = load;
    }
    Ok(Json(load))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(local: &str) -> i64 {
        let tz = TimeZone::get("Europe/Stockholm").unwrap();
        local
            .parse::<jiff::civil::DateTime>()
            .unwrap()
            .to_zoned(tz)
            .unwrap()
            .timestamp()
            .as_millisecond()
    }

    fn house() -> Household {
        Household::new(1, TimeZone::get("Europe/Stockholm").unwrap(), 0.0)
    }

    #[test]
    fn dinner_peaks_above_the_night_and_stays_under_a_20_a_fuse() {
        let h = house();
        let night = h.profile(at("2026-11-27T03:10:00"));
        let dinner = h.profile(at("2026-11-27T17:30:00"));
        let sum = |i: [f64; 3]| i.iter().sum::<f64>();
        assert!(sum(dinner) > sum(night) + 5.0, "{night:?} {dinner:?}");
        // Over a whole day, the household alone never trips a 20 A main fuse.
        for minute in 0..1440 {
            let ts = at("2026-11-27T00:00:00") + minute * 60_000;
            assert!(h.profile(ts).iter().all(|i| *i < 20.0), "{minute}");
        }
    }

    #[test]
    fn the_sauna_heats_on_friday_and_saturday_evenings() {
        let h = house();
        let sum = |i: [f64; 3]| i.iter().sum::<f64>();
        // 2026-11-27 is a Friday.
        let friday = h.profile(at("2026-11-27T20:20:00"));
        let thursday = h.profile(at("2026-11-26T20:20:00"));
        assert!(
            sum(friday) > sum(thursday) + 25.0,
            "{friday:?} {thursday:?}"
        );
    }

    #[test]
    fn a_set_house_clock_lives_that_hour_whenever_it_runs() {
        // Friday at dinner time on the real clock, a quiet Wednesday morning on the house's.
        let now = at("2026-11-27T17:30:00");
        let mut h = house();
        h.set_clock(now, "2026-12-02T10:00".parse().unwrap())
            .unwrap();
        assert_eq!(h.profile(now), house().profile(at("2026-12-02T10:00:00")));
        // A minute later on both clocks.
        assert_eq!(
            h.profile(now + 60_000),
            house().profile(at("2026-12-02T10:01:00"))
        );
        // An hour skipped by DST on the house's clock is refused.
        assert!(
            h.set_clock(now, "2026-03-29T02:30".parse().unwrap())
                .is_err()
        );
    }

    #[test]
    fn phases_are_imbalanced_and_the_counter_only_grows() {
        let mut h = house();
        let t = at("2026-11-27T20:00:00");
        let a = h.reading(t, [0.0; 3]);
        let b = h.reading(t + 60_000, [10.0, 0.0, 0.0]);
        assert!(b.import_kwh > a.import_kwh);
        assert!(b.current_a[0] > b.current_a[1] + 9.0, "{:?}", b.current_a);
    }
}
