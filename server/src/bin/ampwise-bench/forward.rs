//! Benchmarks of the reporters' forwarding, the real `ampwise` and `chargeamps-sim` binaries
//! over real HTTP on 127.0.0.1:
//!
//! - `forward [N]`: N reporters (10,000), their N monitors posting one reading per request every
//!   2 s as devices do; per reading, the time from the device's POST being answered (the reading
//!   is committed) to the update's arrival at the simulator, and from the reading's own time;
//! - `ingest1`: single-reading POSTs from a closed-loop raw-socket client at rising concurrency:
//!   the most requests/s with p99 under 50 ms;
//! - `slow`: 1,000 reporters; then one partner device that never answers, then one that answers
//!   after 30 s: the other reporters' latency in each phase;
//! - `loop [WARP]`: a simulated day (Friday) of a household behind a 20 A main fuse with two
//!   chargers whose cars want 16 A, the day played WARP times faster (120: twelve minutes):
//!   seconds any phase spent above the fuse after 10 s of settling, and the energy charged.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::StreamExt;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

use super::{Server, cpu_of, percentile};

/// The benchmark's licence key: codes are signed here, verified by the server.
const KEY_HEX: &str = "6b6579206f66207468652062656e63686d61726b73206f6e6c792c206e657665";

fn key() -> backend::licences::LicenceKey {
    backend::licences::LicenceKey::from_hex(KEY_HEX).expect("a valid key")
}

fn now_us() -> i64 {
    jiff::Timestamp::now().as_microsecond()
}

/// The simulator as a process.
struct Cloud {
    child: Child,
    base: String,
    client: reqwest::Client,
}

impl Cloud {
    async fn start() -> anyhow::Result<Self> {
        let binary = std::env::current_exe()?.with_file_name("chargeamps-sim");
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new(&binary)
            .args(["--addr", &format!("127.0.0.1:{port}"), "--log-updates"])
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| {
                format!(
                    "starting {} (cargo build --release -p chargeamps-sim)",
                    binary.display()
                )
            })?;
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(16)
            .build()?;
        for _ in 0..200 {
            if client.get(format!("{base}/healthz")).send().await.is_ok() {
                return Ok(Self {
                    child,
                    base,
                    client,
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await; // polling for the port
        }
        bail!("the simulator did not start")
    }

    fn cpu_s(&self) -> f64 {
        self.child
            .id()
            .map_or(0.0, |pid| cpu_of(&format!("/proc/{pid}/stat")))
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<()> {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("{path}: {} {}", r.status(), r.text().await?);
        }
        Ok(())
    }

    async fn put(&self, path: &str, body: Value) -> anyhow::Result<()> {
        let r = self
            .client
            .put(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("{path}: {}", r.status());
        }
        Ok(())
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        Ok(self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await?
            .json()
            .await?)
    }

    /// Arrivals since the last call: (serial, reading ms, arrival µs).
    async fn arrivals(&self) -> anyhow::Result<Vec<(String, Option<i64>, i64)>> {
        Ok(self
            .client
            .get(format!("{}/api/received-log", self.base))
            .send()
            .await?
            .json()
            .await?)
    }
}

/// A reporter with its monitor, as the bench set it up.
#[derive(Clone)]
struct Home {
    monitor: i64,
    token: String,
    serial: String,
}

/// `n` reporters through the wizard's server functions, each on a monitor of its own, with
/// their measurement devices registered at the simulator.
async fn homes(
    server: &Arc<Server>,
    cloud: &Cloud,
    n: usize,
    fuse: &str,
) -> anyhow::Result<Vec<Home>> {
    // Licences are minted by the operator (`ampwise licences mint`): straight into the database.
    let codes = {
        let db = backend::Database::connect(&server.database_url).await?;
        let services = backend::Services::new(&db);
        backend::licences::mint(&services, &key(), model::Capability::ChargeAmps, n).await?
    };
    let codes = Arc::new(codes);
    let started = Instant::now();
    let made: Vec<anyhow::Result<(Home, String)>> = futures_util::stream::iter(0..n)
        .map(|k| {
            let (server, codes) = (server.clone(), codes.clone());
            async move {
                // A home is a site of its own (a site has at most a few reporters).
                let site = server
                    .call(
                        "create_site",
                        &[
                            ("site[name]", &format!("Bench {k}")),
                            ("site[address]", ""),
                            ("site[time_zone]", "Europe/Stockholm"),
                            ("site[price_area]", "SE3"),
                            ("site[main_fuse_a]", fuse),
                        ],
                    )
                    .await?
                    .as_i64()
                    .context("site id")?
                    .to_string();
                let name = format!("Monitor {k}");
                let device = server
                    .call(
                        "create_monitor",
                        &[
                            ("monitor[site_id]", &site),
                            ("monitor[name]", &name),
                            ("monitor[phases]", "3"),
                            ("monitor[kind]", "http"),
                        ],
                    )
                    .await?;
                let monitor = device["monitor_id"].as_i64().context("monitor id")?;
                let token = device["token"].as_str().context("token")?.to_string();
                let code = &codes[k];
                server.call("redeem_licence", &[("code", code)]).await?;
                let creds = server.call("new_reporter_credentials", &[]).await?;
                let serial = creds["serial"].as_str().context("serial")?.to_string();
                let monitor_s = monitor.to_string();
                server
                    .call(
                        "create_reporter",
                        &[
                            ("reporter[site_id]", &site),
                            ("reporter[kind]", "charge_amps"),
                            ("reporter[name]", &name),
                            ("reporter[serial]", &serial),
                            ("reporter[main_fuse_a]", fuse),
                            ("reporter[monitor_id]", &monitor_s),
                        ],
                    )
                    .await?;
                let pin = creds["pin"].as_str().context("pin")?.to_string();
                Ok((
                    Home {
                        monitor,
                        token,
                        serial,
                    },
                    pin,
                ))
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let made = made.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    for chunk in made.chunks(1000) {
        let devices: Vec<Value> = chunk
            .iter()
            .map(|(h, pin)| json!({"serial": h.serial, "pin": pin}))
            .collect();
        cloud.post("/api/devices", Value::Array(devices)).await?;
    }
    println!(
        "set up {n} reporters in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Every reporter has been taken on and has reached Charge Amps once (an "offline" update:
    // its monitor has no reading yet).
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let stats = cloud.get("/api/stats").await?;
        if stats["seen"].as_u64() == Some(n as u64) {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "only {} of {n} reporters reached the simulator",
                stats["seen"]
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await; // polling the simulator
    }
    cloud.arrivals().await?;
    Ok(made.into_iter().map(|(h, _)| h).collect())
}

/// One reading's journey: posted at `ts` (ms), answered at `answered_us`.
struct Posted {
    monitor: i64,
    ts: i64,
    answered_us: i64,
}

/// Every home posts one reading every 2 s for `seconds`, as a meter does; the POSTs' answers.
async fn devices(
    server: &Arc<Server>,
    homes: &[Home],
    seconds: u64,
) -> anyhow::Result<(Vec<Posted>, Vec<f64>)> {
    devices_to(std::slice::from_ref(&server.base), homes, seconds).await
}

/// [`devices`] with the homes spread over several processes' addresses (as a proxy would).
async fn devices_to(
    bases: &[String],
    homes: &[Home],
    seconds: u64,
) -> anyhow::Result<(Vec<Posted>, Vec<f64>)> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .tcp_nodelay(true)
        .build()?;
    let end = Instant::now() + Duration::from_secs(seconds);
    let n = homes.len();
    let tasks = homes.iter().enumerate().map(|(k, home)| {
        let (client, base, home) = (client.clone(), bases[k % bases.len()].clone(), home.clone());
        tokio::spawn(async move {
            let mut out = Vec::new();
            let mut durations = Vec::new();
            // Spread over the 2 s period, as unsynchronised meters are.
            let start = Instant::now() + Duration::from_micros((k as u64 * 2_000_000) / n as u64);
            let mut tick = tokio::time::interval_at(start.into(), Duration::from_secs(2));
            let url = format!("{base}/api/v1/monitors/{}/readings", home.monitor);
            while Instant::now() < end {
                tick.tick().await;
                let ts = jiff::Timestamp::now().as_millisecond();
                let body = format!(
                    r#"{{"readings":[{{"ts":"{}","current_a":[{:.1},3.2,4.4],"voltage_v":[231,230,229]}}]}}"#,
                    jiff::Timestamp::from_millisecond(ts).unwrap(),
                    5.0 + (ts / 2000 % 10) as f64
                );
                let sent = Instant::now();
                let reply = client
                    .post(&url)
                    .bearer_auth(&home.token)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await;
                let answered_us = now_us();
                if matches!(&reply, Ok(r) if r.status().is_success()) {
                    durations.push(sent.elapsed().as_secs_f64() * 1000.0);
                    out.push(Posted { monitor: home.monitor, ts, answered_us });
                }
            }
            (out, durations)
        })
    });
    let mut posted = Vec::new();
    let mut durations = Vec::new();
    for done in futures_util::future::join_all(tasks).await {
        let (p, d) = done?;
        posted.extend(p);
        durations.extend(d);
    }
    durations.sort_by(|a, b| a.total_cmp(b));
    Ok((posted, durations))
}

/// Per reading: (committed → arrived at the partner, reading's time → arrived), ms; and how
/// many readings never arrived.
fn journeys(
    homes: &[Home],
    posted: &[Posted],
    arrivals: &[(String, Option<i64>, i64)],
    skip: impl Fn(&str) -> bool,
) -> (Vec<f64>, Vec<f64>, usize) {
    let serial_of: HashMap<i64, &str> = homes
        .iter()
        .map(|h| (h.monitor, h.serial.as_str()))
        .collect();
    let arrived: HashMap<(&str, i64), i64> = arrivals
        .iter()
        .filter_map(|(s, ts, at)| Some(((s.as_str(), (*ts)?), *at)))
        .collect();
    let mut from_commit = Vec::new();
    let mut from_reading = Vec::new();
    let mut missing = 0;
    for p in posted {
        let serial = serial_of[&p.monitor];
        if skip(serial) {
            continue;
        }
        match arrived.get(&(serial, p.ts)) {
            Some(at) => {
                from_commit.push((at - p.answered_us) as f64 / 1000.0);
                from_reading.push((at - p.ts * 1000) as f64 / 1000.0);
            }
            None => missing += 1,
        }
    }
    from_commit.sort_by(|a, b| a.total_cmp(b));
    from_reading.sort_by(|a, b| a.total_cmp(b));
    (from_commit, from_reading, missing)
}

fn summary(name: &str, sorted: &[f64]) -> String {
    format!(
        "{name}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(sorted, 50.0),
        percentile(sorted, 99.0),
        sorted.last().copied().unwrap_or(f64::NAN)
    )
}

fn forwarding_env(cloud: &Cloud) -> Vec<(String, String)> {
    vec![
        (
            "AMPWISE_CHARGE_AMPS_URL".into(),
            format!("{}/measurement", cloud.base),
        ),
        ("AMPWISE_LICENCE_KEY".into(), KEY_HEX.into()),
    ]
}

pub async fn forward(n: usize, seconds: u64) -> anyhow::Result<()> {
    let cloud = Cloud::start().await?;
    let server = Arc::new(Server::start_with(&forwarding_env(&cloud)).await?);
    let homes = homes(&server, &cloud, n, "25").await?;
    let (cpu0, sim_cpu0, rss0) = (server.cpu_s(), cloud.cpu_s(), server.rss_kib());
    let started = Instant::now();
    let (posted, durations) = devices(&server, &homes, seconds).await?;
    let elapsed = started.elapsed().as_secs_f64();
    let (cpu, sim_cpu, rss) = (
        server.cpu_s() - cpu0,
        cloud.cpu_s() - sim_cpu0,
        server.rss_kib(),
    );
    tokio::time::sleep(Duration::from_secs(3)).await; // the last updates on their way
    let arrivals = cloud.arrivals().await?;
    let (from_commit, from_reading, missing) = journeys(&homes, &posted, &arrivals, |_| false);
    println!(
        "forward: {n} reporters, {} readings in {elapsed:.0} s ({:.0}/s), {} updates arrived, {missing} readings not forwarded",
        posted.len(),
        posted.len() as f64 / elapsed,
        arrivals.len()
    );
    println!("  {}", summary("device POST (durable commit)", &durations));
    println!(
        "  {}",
        summary("committed → update accepted by the partner", &from_commit)
    );
    println!(
        "  {}",
        summary("reading's time → update accepted", &from_reading)
    );
    println!(
        "  ampwise CPU {cpu:.1} s ({:.0} % of one core), RSS {} → {} MiB; simulator CPU {sim_cpu:.1} s",
        cpu / elapsed * 100.0,
        rss0 / 1024,
        rss / 1024
    );
    Ok(())
}

/// One reporter among `n` (1,000) stops answering, then answers only after 30 s: the others'
/// p99. `toy`: 3 s and phases of 5 s.
pub async fn slow_partner(n: usize, toy: bool) -> anyhow::Result<()> {
    let (delay_ms, phase_s) = if toy { (3_000, 5) } else { (30_000, 40) };
    let cloud = Cloud::start().await?;
    let server = Arc::new(Server::start_with(&forwarding_env(&cloud)).await?);
    let homes = homes(&server, &cloud, n, "25").await?;
    let victim = homes[0].serial.clone();
    let phases = [
        ("all partners answer", json!({"mode": "none"})),
        (
            "one partner never answers",
            json!({"mode": "hang", "target": victim}),
        ),
        (
            "one partner answers late",
            json!({"mode": "slow", "delay_ms": delay_ms, "target": victim}),
        ),
    ];
    for (name, faults) in phases {
        cloud.put("/api/faults", faults).await?;
        cloud.arrivals().await?;
        let (posted, _) = devices(&server, &homes, phase_s).await?;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let arrivals = cloud.arrivals().await?;
        let (from_commit, _, missing) = journeys(&homes, &posted, &arrivals, |s| s == victim);
        println!(
            "slow partner, {name}: the other {} reporters, {} readings, {missing} not forwarded; {}",
            n - 1,
            posted.len(),
            summary("committed → accepted", &from_commit)
        );
    }
    Ok(())
}

/// Single-reading POSTs over raw sockets, `connections` in a closed loop for `seconds`.
async fn closed_loop(
    base: &str,
    monitors: &[(i64, String)],
    connections: usize,
    seconds: u64,
    clock: Arc<AtomicI64>,
) -> anyhow::Result<(f64, Vec<f64>)> {
    let addr = base.trim_start_matches("http://").to_string();
    let end = Instant::now() + Duration::from_secs(seconds);
    // Each monitor's own clock, from the run's: a shared one ran ahead of the server's clock at
    // 13,000 requests/s (a reading 5 minutes ahead is refused).
    let start = clock.load(Ordering::Relaxed);
    let clocks: Arc<Vec<AtomicI64>> =
        Arc::new(monitors.iter().map(|_| AtomicI64::new(start)).collect());
    let tasks = (0..connections).map(|c| {
        let (addr, monitors, clock) = (addr.clone(), monitors.to_vec(), clocks.clone());
        tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(&addr).await?;
            stream.set_nodelay(true)?;
            let mut times = Vec::new();
            let mut buf = vec![0u8; 4096];
            let mut k = c;
            while Instant::now() < end {
                let m = k % monitors.len();
                let (id, token) = &monitors[m];
                k += connections;
                // Every reading of a monitor a distinct millisecond, near now.
                let ts = clock[m].fetch_add(1, Ordering::Relaxed);
                let body = format!(
                    r#"{{"readings":[{{"ts":"{}","current_a":[5.5,3.2,4.4]}}]}}"#,
                    jiff::Timestamp::from_millisecond(ts).unwrap()
                );
                let request = format!(
                    "POST /api/v1/monitors/{id}/readings HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                let sent = Instant::now();
                stream.write_all(request.as_bytes()).await?;
                let mut got = 0;
                loop {
                    let n = stream.read(&mut buf[got..]).await?;
                    if n == 0 {
                        bail!("the server closed the connection");
                    }
                    got += n;
                    if let Some(head) = super::find(&buf[..got], b"\r\n\r\n") {
                        let headers = String::from_utf8_lossy(&buf[..head]).to_ascii_lowercase();
                        if !headers.starts_with("http/1.1 200") {
                            bail!("answer: {}", headers.lines().next().unwrap_or_default());
                        }
                        let length: usize = headers
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if got >= head + 4 + length {
                            break;
                        }
                    }
                }
                times.push(sent.elapsed().as_secs_f64() * 1000.0);
            }
            anyhow::Ok(times)
        })
    });
    let started = Instant::now();
    let mut times = Vec::new();
    for done in futures_util::future::join_all(tasks).await {
        times.extend(done??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let last = clocks
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .max()
        .unwrap_or(start);
    clock.store(last, Ordering::Relaxed);
    times.sort_by(|a, b| a.total_cmp(b));
    Ok((times.len() as f64 / elapsed, times))
}

/// Single-reading requests from `monitors` monitors, `seconds` at each level of connections.
pub async fn ingest_single(levels: &[usize], seconds: u64, monitors: usize) -> anyhow::Result<()> {
    let server = Server::start().await?;
    let monitors = server.monitors(monitors).await?;
    // Readings a few minutes back, one millisecond apart across all monitors.
    let clock = Arc::new(AtomicI64::new(
        jiff::Timestamp::now().as_millisecond() - 240_000,
    ));
    let (cpu0, rss0) = (server.cpu_s(), server.rss_kib());
    println!("ingest, one reading per request (raw sockets, closed loop, {seconds} s per level):");
    for &connections in levels {
        let (cpu, own) = (server.cpu_s(), cpu_of("/proc/self/stat"));
        let (rate, times) =
            closed_loop(&server.base, &monitors, connections, seconds, clock.clone()).await?;
        println!(
            "  {connections:>3} connections: {rate:>7.0} requests/s, p50 {:.1} ms, p99 {:.1} ms (CPU, % of a core: server {:.0}, load generator {:.0})",
            percentile(&times, 50.0),
            percentile(&times, 99.0),
            (server.cpu_s() - cpu) / seconds as f64 * 100.0,
            (cpu_of("/proc/self/stat") - own) / seconds as f64 * 100.0
        );
        if percentile(&times, 99.0) > 50.0 {
            break;
        }
    }
    println!(
        "  server CPU {:.1} s in all, RSS {} → {} MiB",
        server.cpu_s() - cpu0,
        rss0 / 1024,
        server.rss_kib() / 1024
    );
    Ok(())
}

/// A simulated day behind a 20 A main fuse, the day played `warp` times faster.
pub async fn closed_day(warp: f64) -> anyhow::Result<()> {
    const FUSE: f64 = 20.0;
    const SETTLE: Duration = Duration::from_secs(10);
    let cloud = Cloud::start().await?;
    let server = Arc::new(Server::start_with(&forwarding_env(&cloud)).await?);
    let home = homes(&server, &cloud, 1, "20").await?.remove(0);
    cloud
        .post(
            "/api/load-balancers",
            json!({"name": "Villa", "supply_max_current_a": FUSE, "device": home.serial,
                   "chargers": [
                       {"name": "Garage (Halo 3-phase)", "phases": "3", "max_current_a": 16, "wants_a": 16},
                       {"name": "Carport (Halo 1-phase)", "phases": "L2", "max_current_a": 32, "wants_a": 16}]}),
        )
        .await?;
    let tz = jiff::tz::TimeZone::get("Europe/Stockholm")?;
    // A Friday: the sauna heats in the evening.
    let day_start = jiff::civil::date(2026, 11, 27)
        .to_zoned(tz.clone())?
        .timestamp()
        .as_millisecond();
    let house = server::simulate::Household::new(7, tz, 0.0);
    let client = reqwest::Client::new();
    let url = format!("{}/api/v1/monitors/{}/readings", server.base, home.monitor);
    let draw_url = format!("{}/api/draw?device={}", cloud.base, home.serial);
    let real_day = Duration::from_secs_f64(86_400.0 / warp);
    println!(
        "closed loop: one day behind a {FUSE} A fuse, two chargers wanting 16 A, {warp}× faster ({:.0} min)",
        real_day.as_secs_f64() / 60.0
    );
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut last_household = [0.0; 3];
    let mut last_step = Instant::now() - SETTLE;
    let (mut seconds, mut over_settled, mut over_settling) = (0u64, 0u64, 0u64);
    let mut worst = 0.0f64;
    let mut charged_kwh = 0.0;
    let mut peak_household = [0.0f64; 3];
    let mut noise = rand::rngs::StdRng::seed_from_u64(11);
    while started.elapsed() < real_day {
        tick.tick().await;
        let sim_ms = day_start + (started.elapsed().as_secs_f64() * warp * 1000.0) as i64;
        let household = house.profile(sim_ms);
        if household
            .iter()
            .zip(last_household)
            .any(|(now, before)| *now > before + 0.5)
        {
            last_step = Instant::now();
        }
        last_household = household;
        let draw: [f64; 3] =
            client.get(&draw_url).send().await?.json::<Value>().await?["current_a"]
                .as_array()
                .map(|a| [0, 1, 2].map(|p| a[p].as_f64().unwrap_or(0.0)))
                .unwrap_or_default();
        let load = [0, 1, 2].map(|p| household[p] + draw[p] + noise.gen_range(-0.15..0.15));
        seconds += 1;
        for p in 0..3 {
            peak_household[p] = peak_household[p].max(household[p]);
        }
        let over = load.iter().map(|a| a - FUSE).fold(0.0f64, f64::max);
        if over > 0.0 {
            if last_step.elapsed() >= SETTLE {
                over_settled += 1;
                worst = worst.max(over);
            } else {
                over_settling += 1;
            }
        }
        // 1 s real is `warp` seconds of the simulated day.
        charged_kwh += draw.iter().sum::<f64>() * 230.0 / 1000.0 * (warp / 3600.0);
        let ts = jiff::Timestamp::now();
        let body = json!({"readings": [{"ts": ts.to_string(), "current_a": load.map(|a| (a * 100.0).round() / 100.0)}]});
        client
            .post(&url)
            .bearer_auth(&home.token)
            .json(&body)
            .send()
            .await?
            .error_for_status()?;
    }
    println!(
        "  {seconds} s: above the fuse after 10 s of settling: {over_settled} s (worst {worst:.1} A over); within 10 s of a household step up: {over_settling} s"
    );
    println!(
        "  charged {charged_kwh:.1} kWh in the day; household peaks per phase {:.1} / {:.1} / {:.1} A",
        peak_household[0], peak_household[1], peak_household[2]
    );
    Ok(())
}

/// Three processes on one PostgreSQL database (`pg` names the server), `n` reporters shared
/// out among them and the meters posting to all three, as a proxy spreads them: committed →
/// accepted. Then one process is killed (SIGKILL): the seconds until each reporter it held
/// reaches Charge Amps again, and updates the simulator saw twice (the same reading, or a
/// device sent to with two log-ins at once).
pub async fn cluster(pg: &str, n: usize, seconds: u64, toy: bool) -> anyhow::Result<()> {
    let cloud = Cloud::start().await?;
    let db = backend::testing::fresh_postgres(pg).await;
    let env = |name: &str| {
        let mut env = forwarding_env(&cloud);
        env.push(("AMPWISE_DATABASE_URL".into(), db.clone()));
        env.push(("AMPWISE_INSTANCE".into(), name.into()));
        env
    };
    let first = Arc::new(Server::start_with(&env("p1")).await?);
    let homes = homes(&first, &cloud, n, "25").await?;
    let mut others = vec![
        Server::start_with(&env("p2")).await?,
        Server::start_with(&env("p3")).await?,
    ];
    let pool = sqlx::PgPool::connect(&db).await?;
    let spread = Instant::now();
    let deadline = spread + Duration::from_secs(120);
    let held = loop {
        let held: Vec<(String, i64)> = sqlx::query_as(
            "SELECT holder, count(*) FROM reporter_leases GROUP BY holder ORDER BY holder",
        )
        .fetch_all(&pool)
        .await?;
        let total: i64 = held.iter().map(|(_, c)| c).sum();
        // Each near its share: two fill theirs (rounded up), the last takes the rest.
        if held.len() == 3 && total == n as i64 && held.iter().all(|(_, c)| *c >= (n / 4) as i64) {
            break held;
        }
        if Instant::now() > deadline {
            bail!("the reporters were not shared out within 120 s: {held:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await; // polling the lease table
    };
    println!(
        "cluster: {n} reporters shared out over 3 processes in {:.1} s: {held:?}",
        spread.elapsed().as_secs_f64()
    );

    let bases: Vec<String> = std::iter::once(first.base.clone())
        .chain(others.iter().map(|s| s.base.clone()))
        .collect();
    let cpu = |first: &Server, others: &[Server]| -> Vec<f64> {
        std::iter::once(first.cpu_s())
            .chain(others.iter().map(|s| s.cpu_s()))
            .collect()
    };
    cloud.arrivals().await?;
    let cpu0 = cpu(&first, &others);
    let started = Instant::now();
    let (posted, durations) = devices_to(&bases, &homes, seconds).await?;
    let elapsed = started.elapsed().as_secs_f64();
    let used: Vec<String> = cpu(&first, &others)
        .iter()
        .zip(&cpu0)
        .map(|(after, before)| format!("{:.0} %", (after - before) / elapsed * 100.0))
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await; // the last updates on their way
    let arrivals = cloud.arrivals().await?;
    let (from_commit, _, missing) = journeys(&homes, &posted, &arrivals, |_| false);
    println!(
        "cluster: {} readings in {elapsed:.0} s ({:.0}/s) to 3 processes, {missing} not forwarded",
        posted.len(),
        posted.len() as f64 / elapsed
    );
    println!("  {}", summary("device POST (durable commit)", &durations));
    println!(
        "  {}",
        summary("committed → update accepted by the partner", &from_commit)
    );
    println!("  CPU of one core, per process: {}", used.join(", "));

    // p2 dies without a word.
    let victims: Vec<String> = sqlx::query_scalar(
        "SELECT r.serial FROM reporter_leases l JOIN reporters r ON r.id = l.reporter_id \
         WHERE l.holder = 'p2'",
    )
    .fetch_all(&pool)
    .await?;
    others[0].child.start_kill()?;
    others[0].child.wait().await?;
    let killed_us = now_us();
    let survivors = [bases[0].clone(), bases[2].clone()];
    let (after_kill, _) = devices_to(&survivors, &homes, if toy { 15 } else { 25 }).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let later = cloud.arrivals().await?;
    let mut back: HashMap<&str, i64> = HashMap::new();
    for (serial, _, at) in &later {
        if *at > killed_us && victims.contains(serial) {
            back.entry(serial.as_str()).or_insert(*at);
        }
    }
    let mut waits: Vec<f64> = back
        .values()
        .map(|at| (at - killed_us) as f64 / 1e6)
        .collect();
    waits.sort_by(|a, b| a.total_cmp(b));
    let (from_commit_after, _, _) = journeys(&homes, &after_kill, &later, |_| false);
    // The same reading twice, over the whole run.
    let mut seen = std::collections::HashSet::new();
    let twice = arrivals
        .iter()
        .chain(&later)
        .filter(|(serial, ts, _)| ts.is_some() && !seen.insert((serial.clone(), *ts)))
        .count();
    let state = cloud.get("/api/state").await?;
    let overlapping: u64 = state["devices"]
        .as_array()
        .map(|d| {
            d.iter()
                .filter_map(|d| d["overlapping_updates"].as_u64())
                .sum()
        })
        .unwrap_or(0);
    println!(
        "cluster: p2 killed (SIGKILL) holding {} reporters: {} of them forwarded again, the first after {:.1} s, the last after {:.1} s",
        victims.len(),
        back.len(),
        waits.first().copied().unwrap_or(f64::NAN),
        waits.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "  {}",
        summary("committed → accepted, kill and after", &from_commit_after)
    );
    println!(
        "  duplicates at the simulator: {twice} readings arrived twice, {overlapping} updates from two senders at once"
    );
    if back.len() != victims.len() {
        bail!(
            "{} of the killed process's reporters were never forwarded again",
            victims.len() - back.len()
        );
    }
    if overlapping > 0 {
        bail!("{overlapping} updates came from two senders at once");
    }
    Ok(())
}
