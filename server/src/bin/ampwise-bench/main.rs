//! Benchmarks against the real server binary over real HTTP (see BENCHMARKS.md):
//!
//! - ingest: readings/s through `POST /api/v1/monitors/{id}/readings` in batches, durable
//!   (acknowledged = committed with `synchronous = FULL`), and beside it, in the same run, plain
//!   SQLite inserts of the same rows;
//! - sse: reading → viewer latency (p50 / p99) with 1, 100 and 5,000 viewers of one monitor, and
//!   the server's resident memory while they are connected;
//! - history: a year of minute readings on one monitor, then the year's daily series (and a
//!   month, a day) through the server function the history page calls;
//! - forward, ingest1, slow, loop: the reporters' forwarding (see `forward.rs`);
//! - with `BENCH_POSTGRES=postgres://…/postgres` (a server where it may create databases):
//!   ingest, ingest1 and history also on PostgreSQL, side by side; `sse-across` (posted to one
//!   process, watched on another) and `cluster [reporters] [seconds]` (three processes, one
//!   killed).
//!
//! Run: `cargo build --release -p server -p chargeamps-sim && target/release/ampwise-bench all`.

mod forward;
mod january;
mod planner;

use std::collections::HashMap;
use std::io::IoSliceMut;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use futures_util::StreamExt;
use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg, setsockopt, sockopt};
use nix::sys::time::TimeSpec;
use sqlx::{ConnectOptions, QueryBuilder, Sqlite};
use thread_priority::{
    NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
    set_thread_priority_and_policy, thread_native_id,
};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, watch};

const PASSWORD: &str = "Kvarnvägen-Laddbox-42";

use server::simulate::{Batch, WireReading};

fn reading(ts_ms: i64, k: i64) -> WireReading {
    let i = [
        5.0 + (k % 17) as f64 * 0.5,
        3.0 + (k % 11) as f64 * 0.25,
        4.0 + (k % 7) as f64,
    ];
    WireReading {
        ts: jiff::Timestamp::from_millisecond(ts_ms)
            .unwrap()
            .to_string(),
        current_a: i,
        voltage_v: [231.0, 230.5, 229.8],
        power_w: i.map(|i| (i * 230.0 * 0.96_f64).round()),
        import_kwh: 10_000.0 + k as f64 * 0.001,
        export_kwh: 0.0,
    }
}

/// The PostgreSQL server (`BENCH_POSTGRES`, e.g. postgres://postgres@127.0.0.1:5433/postgres)
/// the scenarios run on while [`ON_POSTGRES`] is set; SQLite otherwise.
static ON_POSTGRES: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn postgres_server() -> Option<String> {
    ON_POSTGRES
        .load(std::sync::atomic::Ordering::Relaxed)
        .then(|| std::env::var("BENCH_POSTGRES").ok())
        .flatten()
}

/// The databases to run a scenario on, side by side: SQLite, and PostgreSQL with
/// `BENCH_POSTGRES` set.
fn databases() -> Vec<&'static str> {
    if std::env::var_os("BENCH_POSTGRES").is_some() {
        vec!["SQLite", "PostgreSQL"]
    } else {
        vec!["SQLite"]
    }
}

fn use_database(name: &str) {
    ON_POSTGRES.store(name == "PostgreSQL", std::sync::atomic::Ordering::Relaxed);
    println!("-- on {name}");
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond() / 1000 * 1000
}

struct Server {
    child: Child,
    base: String,
    client: reqwest::Client,
    cookie: String,
    /// The server's database, for what only the operator's CLI does (minting licences).
    database_url: String,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start() -> anyhow::Result<Self> {
        Self::start_with(&[]).await
    }

    /// With more environment for the server (e.g. where Charge Amps is).
    async fn start_with(env: &[(String, String)]) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or("/tmp".into()))?;
        let binary = std::env::current_exe()?.with_file_name("ampwise");
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        // A database of its own: SQLite in the folder, or on PostgreSQL while `on_postgres` says
        // so; the caller's AMPWISE_DATABASE_URL (processes sharing one) overrides either.
        let database_url = match env.iter().find(|(k, _)| k == "AMPWISE_DATABASE_URL") {
            Some((_, url)) => url.clone(),
            None => match postgres_server() {
                Some(server) => backend::testing::fresh_postgres(&server).await,
                None => format!("sqlite://{}", dir.path().join("bench.db").display()),
            },
        };
        let mut child = Command::new(&binary)
            .env("AMPWISE_ADDR", format!("127.0.0.1:{port}"))
            .env("AMPWISE_DATABASE_URL", &database_url)
            .env("AMPWISE_SITE_ROOT", dir.path())
            // Several processes at once sign up the same bench account (and log in).
            .env("AMPWISE_SIGN_UPS_PER_HOUR", "100000000")
            .env("AMPWISE_RAW_RETENTION_DAYS", "400")
            .env("AMPWISE_SECRETS_KEY", "6b".repeat(32))
            .env("AMPWISE_REQUEST_TIMEOUT_SECS", "120")
            // One bench account redeems a licence per reporter.
            .env("AMPWISE_REDEEMS_PER_HOUR", "100000000")
            // The ingest benchmarks post as fast as the server takes it (the setting's maximum).
            .env("AMPWISE_DEVICE_REQUESTS_PER_SECOND", "1000000")
            // The live-stream benchmark's viewers are all one account, on one address.
            .env("AMPWISE_STREAMS_PER_ACCOUNT", "1000000")
            .env("AMPWISE_STREAMS_TOTAL", "1000000")
            .env("AMPWISE_CONNECTIONS_PER_ADDRESS", "1000000")
            .env(
                "RUST_LOG",
                std::env::var("BENCH_RUST_LOG").unwrap_or("warn,server=info".into()),
            )
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        while let Some(line) = lines.next_line().await? {
            if line.contains("Ampwise is listening") {
                break;
            }
        }
        // BENCH_LOG=1 shows the servers' log (RUST_LOG as set for them), prefixed by port.
        let show = std::env::var_os("BENCH_LOG").is_some();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if show {
                    println!("[:{port}] {line}");
                }
            }
        });
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()?;
        let base = format!("http://127.0.0.1:{port}");
        let cookie = sign_up(&client, &base, "bench@example.se").await?;
        Ok(Self {
            child,
            base,
            client,
            cookie,
            database_url,
            _dir: dir,
        })
    }

    /// Signs up another owner: their session cookie.
    async fn sign_up(&self, email: &str) -> anyhow::Result<String> {
        sign_up(&self.client, &self.base, email).await
    }

    /// CPU seconds the server process has used (user + system).
    fn cpu_s(&self) -> f64 {
        let Some(pid) = self.child.id() else {
            return 0.0;
        };
        cpu_of(&format!("/proc/{pid}/stat"))
    }

    /// Of which in the kernel (system time).
    fn sys_s(&self) -> f64 {
        let Some(pid) = self.child.id() else {
            return 0.0;
        };
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let after = text.rsplit(')').next().unwrap_or_default();
        after
            .split_whitespace()
            .nth(12)
            .and_then(|t| t.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 100.0
    }

    fn rss_kib(&self) -> u64 {
        let Some(pid) = self.child.id() else { return 0 };
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            })
            .unwrap_or(0)
    }

    async fn call(&self, name: &str, form: &[(&str, &str)]) -> anyhow::Result<serde_json::Value> {
        let reply = self
            .client
            .post(format!("{}/api/{name}", self.base))
            .header("cookie", &self.cookie)
            .form(form)
            .send()
            .await?;
        let status = reply.status();
        let body = reply.text().await?;
        if !status.is_success() {
            bail!("{name}: {status} {body}");
        }
        Ok(serde_json::from_str(&body)?)
    }

    /// A site with `n` monitors: (monitor id, token) each.
    async fn monitors(&self, n: usize) -> anyhow::Result<Vec<(i64, String)>> {
        let site = self
            .call(
                "create_site",
                &[
                    ("site[name]", "Bench"),
                    ("site[address]", ""),
                    ("site[time_zone]", "Europe/Stockholm"),
                    ("site[price_area]", "SE3"),
                    ("site[main_fuse_a]", "25"),
                ],
            )
            .await?
            .as_i64()
            .context("site id")?
            .to_string();
        let mut out = Vec::new();
        for k in 0..n {
            let name = format!("Monitor {k}");
            let device = self
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
            out.push((
                device["monitor_id"].as_i64().context("id")?,
                device["token"].as_str().context("token")?.to_string(),
            ));
        }
        Ok(out)
    }

    async fn post(
        &self,
        monitor: i64,
        token: &str,
        readings: &[WireReading],
    ) -> anyhow::Result<u64> {
        let reply = self
            .client
            .post(format!("{}/api/v1/monitors/{monitor}/readings", self.base))
            .bearer_auth(token)
            .json(&Batch { readings })
            .send()
            .await?;
        let status = reply.status();
        let body: serde_json::Value = reply.json().await?;
        if !status.is_success() {
            bail!("ingest: {status} {body}");
        }
        Ok(body["stored"].as_u64().unwrap_or(0))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn cpu_of(stat: &str) -> f64 {
    let text = std::fs::read_to_string(stat).unwrap_or_default();
    let after = text.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i)?.parse::<f64>().ok())
        .sum();
    ticks / 100.0
}

/// Posts every batch, `concurrency` requests at a time; how many readings were stored.
async fn post_all(
    server: &Arc<Server>,
    jobs: Vec<(i64, String, Vec<WireReading>)>,
    concurrency: usize,
) -> anyhow::Result<u64> {
    let stored = futures_util::stream::iter(jobs)
        .map(|(id, token, readings)| {
            let server = server.clone();
            async move { server.post(id, &token, &readings).await }
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<Vec<u64>>>()?;
    Ok(stored.into_iter().sum())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Batches for `monitors`, `per_monitor` readings each, one a second ending now.
fn workload(
    monitors: &[(i64, String)],
    per_monitor: i64,
    batch: usize,
) -> Vec<(i64, String, Vec<WireReading>)> {
    let end = now_ms() - 60_000;
    let mut jobs = Vec::new();
    for (m, (id, token)) in monitors.iter().enumerate() {
        let readings: Vec<WireReading> = (0..per_monitor)
            .map(|k| reading(end - (per_monitor - k) * 1000, k + m as i64))
            .collect();
        for chunk in readings.chunks(batch) {
            jobs.push((*id, token.clone(), chunk.to_vec()));
        }
    }
    // Interleave the monitors, as devices would arrive.
    jobs.sort_by_key(|(id, _, r)| (r[0].ts.clone(), *id));
    jobs
}

async fn ingest(
    batch: usize,
    concurrency: usize,
    monitors: usize,
    per_monitor: i64,
) -> anyhow::Result<()> {
    let server = Server::start().await?;
    let monitors = server.monitors(monitors).await?;
    let jobs = workload(&monitors, per_monitor, batch);
    let total: usize = jobs.iter().map(|j| j.2.len()).sum();
    let server = Arc::new(server);
    let started = Instant::now();
    let stored = post_all(&server, jobs.clone(), concurrency).await?;
    let elapsed = started.elapsed().as_secs_f64();
    if stored as usize != total {
        bail!("stored {stored} of {total}");
    }
    let rss = server.rss_kib();
    println!(
        "ingest over HTTP: {total} readings, batches of {batch}, {concurrency} in flight, {} monitors: {:.2} s = {:.0} readings/s (server RSS {} MiB)",
        monitors.len(),
        elapsed,
        total as f64 / elapsed,
        rss / 1024
    );

    // The same rows straight into SQLite: one multi-row INSERT per batch, one transaction per
    // batch, synchronous = FULL, no HTTP, no JSON, no rollups.
    let dir = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or("/tmp".into()))?;
    let raw = raw_sqlite(dir.path(), &jobs).await?;
    println!(
        "raw SQLite inserts of the same rows (same batches, WAL, synchronous=FULL): {:.2} s = {:.0} rows/s",
        raw,
        total as f64 / raw
    );
    Ok(())
}

async fn raw_sqlite(dir: &Path, jobs: &[(i64, String, Vec<WireReading>)]) -> anyhow::Result<f64> {
    let url = format!("sqlite://{}", dir.join("raw.db").display());
    let mut conn = url
        .parse::<sqlx::sqlite::SqliteConnectOptions>()?
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
        .connect()
        .await?;
    sqlx::query(
        "CREATE TABLE readings (seq INTEGER PRIMARY KEY, monitor_id INTEGER NOT NULL, ts INTEGER NOT NULL,
         i1 REAL, i2 REAL, i3 REAL, v1 REAL, v2 REAL, v3 REAL, p1 REAL, p2 REAL, p3 REAL,
         import_kwh REAL, export_kwh REAL, derived INTEGER NOT NULL DEFAULT 0, UNIQUE (monitor_id, ts))",
    )
    .execute(&mut conn)
    .await?;
    let rows: Vec<(i64, i64, WireReading)> = jobs
        .iter()
        .flat_map(|(id, _, rs)| {
            rs.iter().map(move |r| {
                let ts = r.ts.parse::<jiff::Timestamp>().unwrap().as_millisecond();
                (*id, ts, r.clone())
            })
        })
        .collect();
    let batch = jobs.first().map_or(1, |j| j.2.len());
    let started = Instant::now();
    for chunk in rows.chunks(batch) {
        let mut tx = sqlx::Connection::begin(&mut conn).await?;
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO readings (monitor_id, ts, i1, i2, i3, v1, v2, v3, p1, p2, p3, import_kwh, export_kwh) ",
        );
        q.push_values(chunk, |mut b, (id, ts, r)| {
            b.push_bind(*id).push_bind(*ts);
            for v in r.current_a.iter().chain(&r.voltage_v).chain(&r.power_w) {
                b.push_bind(*v);
            }
            b.push_bind(r.import_kwh).push_bind(r.export_kwh);
        });
        q.build().execute(&mut *tx).await?;
        tx.commit().await?;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// What a viewer saw: each reading's `ts` and when its event reached the viewer's socket.
type Arrivals = Vec<(i64, SystemTime)>;

/// One viewer: a minimal HTTP/1.1 client on a raw socket (the viewers share the two cores with
/// the server, so they do as little as a browser's network thread would). Each event's arrival
/// is the kernel's receive timestamp (`SO_TIMESTAMPNS`), so the viewer's own scheduling, at idle
/// priority, does not count: the latency is the server's.
///
/// A viewer holds its connection open until every viewer has all its readings (`release`): ten
/// thousand connections closing while the last reading still goes out would be measured as its
/// latency, and browsers do not all leave in the same instant.
async fn viewer(
    addr: String,
    request: String,
    readings: usize,
    connected: mpsc::Sender<()>,
    (finished, mut release): (mpsc::Sender<()>, watch::Receiver<bool>),
) -> Arrivals {
    use tokio::io::{AsyncWriteExt, Interest};
    /// Tells the bench this viewer is done, however it ends.
    struct Done(mpsc::Sender<()>);
    impl Drop for Done {
        fn drop(&mut self) {
            let _ = self.0.try_send(());
        }
    }
    let done = Done(finished);
    let mut arrivals: Arrivals = Vec::with_capacity(readings);
    let Ok(mut socket) = tokio::net::TcpStream::connect(&addr).await else {
        eprintln!("viewer could not connect");
        return arrivals;
    };
    let _ = socket.set_nodelay(true);
    if let Err(e) = setsockopt(&socket, sockopt::ReceiveTimestampns, &true) {
        eprintln!("SO_TIMESTAMPNS: {e}");
        return arrivals;
    }
    if socket.write_all(request.as_bytes()).await.is_err() {
        return arrivals;
    }
    let fd = socket.as_raw_fd();
    let mut buffer = vec![0u8; 16 * 1024];
    let mut control = nix::cmsg_space!(TimeSpec);
    let mut headers_seen = false;
    let mut carry = Vec::new();
    while arrivals.len() < readings {
        if socket.readable().await.is_err() {
            break;
        }
        let read = socket.try_io(Interest::READABLE, || {
            let mut iov = [IoSliceMut::new(&mut buffer)];
            let msg = recvmsg::<()>(fd, &mut iov, Some(&mut control), MsgFlags::empty())
                .map_err(std::io::Error::from)?;
            let stamp = msg.cmsgs().ok().and_then(|mut c| {
                c.find_map(|m| match m {
                    ControlMessageOwned::ScmTimestampns(t) => Some(
                        SystemTime::UNIX_EPOCH
                            + Duration::new(t.tv_sec() as u64, t.tv_nsec() as u32),
                    ),
                    _ => None,
                })
            });
            Ok((msg.bytes, stamp.unwrap_or_else(SystemTime::now)))
        });
        let (n, arrived) = match read {
            Ok((0, _)) => break,
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => break,
        };
        carry.extend_from_slice(&buffer[..n]);
        if !headers_seen {
            if !carry.starts_with(b"HTTP/1.1 200") {
                eprintln!(
                    "viewer refused: {}",
                    String::from_utf8_lossy(&carry[..carry.len().min(80)])
                );
                return arrivals;
            }
            headers_seen = true;
            let _ = connected.send(()).await;
        }
        // Every complete `"ts":<digits>` in what has arrived.
        let mut consumed = 0;
        let mut at = 0;
        while let Some(pos) = find(&carry[at..], b"\"ts\":") {
            let start = at + pos + 5;
            let digits = carry[start..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if start + digits >= carry.len() {
                break; // the number may continue in the next read
            }
            if let Ok(ts) = std::str::from_utf8(&carry[start..start + digits])
                .unwrap_or("")
                .parse()
            {
                arrivals.push((ts, arrived));
            }
            at = start + digits;
            consumed = at;
        }
        carry.drain(..consumed);
        if carry.len() > 64 * 1024 {
            carry.clear();
        }
    }
    drop(done);
    let _ = release.wait_for(|released| *released).await;
    drop(socket);
    arrivals
}

/// Threads the viewers run on, each with its own single-threaded runtime.
const VIEWER_THREADS: usize = 2;

/// `across`: the readings are posted to a second process on the same (PostgreSQL) database,
/// the viewers watch the first: the live graph across processes.
async fn sse(viewers: usize, readings: usize, across: bool) -> anyhow::Result<()> {
    let server = Arc::new(Server::start().await?);
    let (monitor, token) = server.monitors(1).await?.remove(0);
    let poster = match across {
        true => Some(
            Server::start_with(&[
                ("AMPWISE_DATABASE_URL".into(), server.database_url.clone()),
                ("AMPWISE_INSTANCE".into(), "poster".into()),
            ])
            .await?,
        ),
        false => None,
    };
    let posting_to: &Server = poster.as_ref().unwrap_or(&server);
    // Meanwhile other households sign out, one a second: a sign-out concerns its own streams
    // only (it once made every open stream check its access again).
    let mut leaving = Vec::new();
    for n in 0..readings / 5 {
        leaving.push(server.sign_up(&format!("leaving{n}@example.se")).await?);
    }
    let idle_rss = server.rss_kib();
    let addr = server.base.trim_start_matches("http://").to_string();
    let request = format!(
        "GET /api/v1/monitors/{monitor}/live HTTP/1.1\r\nHost: {addr}\r\nCookie: {}\r\nAccept: text/event-stream\r\n\r\n",
        server.cookie
    );
    let (connected_tx, mut connected_rx) = mpsc::channel::<()>(viewers);
    let (finished_tx, mut finished_rx) = mpsc::channel::<()>(viewers);
    let (release_tx, release_rx) = watch::channel(false);
    // The viewers run at idle priority (SCHED_IDLE): they read in the time the server leaves
    // over, so the load generator takes as little as possible from the server it measures.
    let threads: Vec<std::thread::JoinHandle<Vec<Arrivals>>> = (0..VIEWER_THREADS)
        .map(|t| {
            let count = viewers / VIEWER_THREADS + usize::from(t < viewers % VIEWER_THREADS);
            let (addr, request, connected) = (addr.clone(), request.clone(), connected_tx.clone());
            let done = (finished_tx.clone(), release_rx.clone());
            std::thread::spawn(move || {
                if let Err(e) = set_thread_priority_and_policy(
                    thread_native_id(),
                    ThreadPriority::Min,
                    ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
                ) {
                    eprintln!("viewers stay at normal priority: {e:?}");
                }
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime for the viewers");
                runtime.block_on(async move {
                    let tasks: Vec<_> = (0..count)
                        .map(|_| {
                            tokio::spawn(viewer(
                                addr.clone(),
                                request.clone(),
                                readings,
                                connected.clone(),
                                done.clone(),
                            ))
                        })
                        .collect();
                    drop((connected, done));
                    let mut all = Vec::with_capacity(count);
                    for task in tasks {
                        all.push(task.await.unwrap_or_default());
                    }
                    all
                })
            })
        })
        .collect();
    drop((connected_tx, finished_tx));
    for _ in 0..viewers {
        if connected_rx.recv().await.is_none() {
            break;
        }
    }
    let connected_rss = server.rss_kib();
    let (server_cpu, own_cpu) = (server.cpu_s(), cpu_of("/proc/self/stat"));
    let server_sys = server.sys_s();
    let start = now_ms() - 10 * 60_000;
    let mut sent: HashMap<i64, SystemTime> = HashMap::new();
    let mut posts = Vec::with_capacity(readings);
    let mut sign_outs = Vec::new();
    for k in 0..readings {
        let ts = start + k as i64 * 1000;
        if k % 5 == 0
            && let Some(cookie) = leaving.pop()
        {
            let (client, url) = (
                server.client.clone(),
                format!("{}/api/log_out", server.base),
            );
            sign_outs.push(tokio::spawn(async move {
                let reply = client.post(url).header("cookie", cookie).send().await;
                reply.is_ok_and(|r| r.status().is_success())
            }));
        }
        sent.insert(ts, SystemTime::now());
        let posted = Instant::now();
        posting_to
            .post(monitor, &token, &[reading(ts, k as i64)])
            .await?;
        posts.push(posted.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    posts.sort_by(|a, b| a.total_cmp(b));
    let mut signed_out = 0;
    for sign_out in sign_outs {
        signed_out += usize::from(sign_out.await.unwrap_or(false));
    }
    // Every viewer has all its readings (or gave up) before any connection closes.
    let _ = tokio::time::timeout(Duration::from_secs(60), async {
        for _ in 0..viewers {
            if finished_rx.recv().await.is_none() {
                break;
            }
        }
    })
    .await;
    let _ = release_tx.send(true);
    let arrivals = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(move || {
            threads
                .into_iter()
                .flat_map(|t| t.join().unwrap_or_default())
                .collect::<Vec<Arrivals>>()
        }),
    )
    .await
    .context("the viewers did not finish within a minute")??;
    let server_cpu = server.cpu_s() - server_cpu;
    let server_sys = server.sys_s() - server_sys;
    let own_cpu = cpu_of("/proc/self/stat") - own_cpu;
    // Each delivery's latency, with the reading it delivered.
    let waits: Vec<(i64, f64)> = arrivals
        .iter()
        .flatten()
        .filter_map(|(ts, at)| {
            Some((
                *ts,
                at.duration_since(*sent.get(ts)?).ok()?.as_secs_f64() * 1000.0,
            ))
        })
        .collect();
    let mut all: Vec<f64> = waits.iter().map(|(_, ms)| *ms).collect();
    all.sort_by(|a, b| a.total_cmp(b));
    // Where the tail comes from: the last viewer's wait for each reading, slowest first (a few
    // slow readings mean something ran in bursts beside the fan-out; all slow, the fan-out).
    let mut last_per_reading: HashMap<i64, f64> = HashMap::new();
    for (ts, ms) in waits {
        let last = last_per_reading.entry(ts).or_insert(0.0);
        *last = last.max(ms);
    }
    let mut slowest: Vec<(i64, f64)> = last_per_reading
        .into_iter()
        .map(|(ts, ms)| ((ts - start) / 1000, ms))
        .collect();
    slowest.sort_by(|a, b| b.1.total_cmp(&a.1));
    let lasts: Vec<f64> = slowest.iter().rev().map(|(_, ms)| *ms).collect();
    println!(
        "sse, the last viewer per reading: p50 {:.1} ms; slowest readings (index: ms): {}",
        percentile(&lasts, 50.0),
        slowest
            .iter()
            .take(8)
            .map(|(k, ms)| format!("{k}: {ms:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "sse, {viewers} viewers × {readings} readings: {} deliveries of {}, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (the device's POST, a durable commit: p50 {:.1} ms, p99 {:.1} ms); server RSS {} MiB idle → {} MiB with viewers; CPU while posting: server {server_cpu:.1} s ({server_sys:.1} s in the kernel), viewers {own_cpu:.1} s; {signed_out} other accounts signed out meanwhile",
        all.len(),
        viewers * readings,
        percentile(&all, 50.0),
        percentile(&all, 99.0),
        all.last().copied().unwrap_or(f64::NAN),
        percentile(&posts, 50.0),
        percentile(&posts, 99.0),
        idle_rss / 1024,
        connected_rss / 1024
    );
    Ok(())
}

/// Signs up an owner at `base`: the session cookie.
async fn sign_up(client: &reqwest::Client, base: &str, email: &str) -> anyhow::Result<String> {
    let reply = client
        .post(format!("{base}/api/sign_up"))
        .form(&[("email", email), ("password", PASSWORD), ("role", "owner")])
        .send()
        .await?;
    Ok(reply
        .headers()
        .get("set-cookie")
        .context("no session cookie")?
        .to_str()?
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string())
}

/// `minutes` of one reading a minute (a year: every minute, hour and day rollup of a year),
/// then each view of the history `runs` times.
async fn history(minutes: i64, runs: usize) -> anyhow::Result<()> {
    let server = Server::start().await?;
    let (monitor, token) = server.monitors(1).await?.remove(0);
    let end = now_ms() / 60_000 * 60_000 - 60_000;
    let started = Instant::now();
    let mut k = 0i64;
    let server = Arc::new(server);
    let batches: Vec<Vec<WireReading>> = (0..minutes)
        .collect::<Vec<i64>>()
        .chunks(5000)
        .map(|c| {
            c.iter()
                .map(|m| {
                    k += 1;
                    reading(end - (minutes - m) * 60_000, k)
                })
                .collect()
        })
        .collect();
    let jobs = batches
        .into_iter()
        .map(|b| (monitor, token.clone(), b))
        .collect();
    let stored = post_all(&server, jobs, 4).await?;
    let load = started.elapsed().as_secs_f64();
    println!(
        "history: loaded {:.0} days of minute readings ({stored}) in {load:.1} s ({:.0} readings/s, batches of 5000)",
        minutes as f64 / 1440.0,
        stored as f64 / load
    );
    let id = monitor.to_string();
    for view in ["year", "month", "week", "day"] {
        let mut times = Vec::new();
        let mut buckets = 0;
        for _ in 0..runs {
            let started = Instant::now();
            let h = server
                .call("monitor_history", &[("id", &id), ("view", view)])
                .await?;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            buckets = h["buckets"].as_array().map_or(0, Vec::len);
        }
        times.sort_by(|a, b| a.total_cmp(b));
        println!(
            "history {view}: {buckets} buckets, over HTTP (server fn, JSON): p50 {:.1} ms, p99 {:.1} ms",
            percentile(&times, 50.0),
            percentile(&times, 99.0)
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let what = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    let binary: PathBuf = std::env::current_exe()?.with_file_name("ampwise");
    if !binary.exists() {
        bail!(
            "{} is missing: cargo build --release -p server",
            binary.display()
        );
    }
    // `toy`: every scenario at a few seconds' size, in the README's test command, so a change
    // that breaks one fails CI (the figures mean nothing at this size).
    let toy = what == "toy";
    let what = if toy { "all".to_string() } else { what };
    fn pick<T>(toy: bool, full: T, small: T) -> T {
        if toy { small } else { full }
    }
    let size = |full: u64, small: u64| pick(toy, full, small);
    if matches!(what.as_str(), "ingest" | "all") {
        for db in databases() {
            use_database(db);
            for (batch, concurrency) in [(1000, 8), (100, 16)] {
                ingest(
                    batch,
                    concurrency,
                    size(20, 2) as usize,
                    size(25_000, 300) as i64,
                )
                .await?;
            }
        }
        use_database("SQLite");
    }
    if matches!(what.as_str(), "sse" | "all") {
        let only: Option<usize> = std::env::args().nth(2).and_then(|v| v.parse().ok());
        let levels: &[(usize, usize)] = if toy {
            &[(1, 10), (20, 10)]
        } else {
            &[(1, 200), (100, 200), (5000, 200), (10_000, 200)]
        };
        for &(viewers, readings) in levels {
            if only.is_none_or(|v| v == viewers) {
                sse(viewers, readings, false).await?;
            }
        }
    }
    if matches!(what.as_str(), "sse-across" | "all") {
        if std::env::var_os("BENCH_POSTGRES").is_some() {
            use_database("PostgreSQL");
            println!("live across processes: posted to one, watched on another");
            for (viewers, readings) in pick(toy, vec![(1, 200), (100, 200)], vec![(1, 10)]) {
                sse(viewers, readings, true).await?;
            }
            use_database("SQLite");
        } else {
            println!("sse-across: skipped (set BENCH_POSTGRES to a PostgreSQL server)");
        }
    }
    if matches!(what.as_str(), "history" | "all") {
        for db in databases() {
            use_database(db);
            history(
                size(365 * 24 * 60, 2 * 24 * 60) as i64,
                size(50, 3) as usize,
            )
            .await?;
        }
        use_database("SQLite");
    }
    let arg = |k: usize| std::env::args().nth(k).and_then(|v| v.parse::<f64>().ok());
    if matches!(what.as_str(), "ingest1" | "all") {
        let levels: &[usize] = if toy {
            &[8]
        } else {
            &[8, 16, 32, 64, 128, 256, 512]
        };
        for db in databases() {
            use_database(db);
            forward::ingest_single(levels, size(10, 2), size(200, 10) as usize).await?;
        }
        use_database("SQLite");
    }
    if matches!(what.as_str(), "cluster" | "all") {
        match std::env::var("BENCH_POSTGRES") {
            Ok(server) => {
                let n = arg(2).map_or(size(1000, 12) as usize, |n| n as usize);
                forward::cluster(&server, n, arg(3).map_or(size(60, 6), |s| s as u64), toy).await?;
            }
            Err(_) => println!("cluster: skipped (set BENCH_POSTGRES to a PostgreSQL server)"),
        }
    }
    if matches!(what.as_str(), "forward" | "all") {
        let n = arg(2).map_or(size(10_000, 20) as usize, |n| n as usize);
        forward::forward(n, arg(3).map_or(size(60, 3), |s| s as u64)).await?;
    }
    if matches!(what.as_str(), "slow" | "all") {
        forward::slow_partner(size(1000, 20) as usize, toy).await?;
    }
    if matches!(what.as_str(), "planner" | "all") {
        planner::run(if toy {
            concat!(env!("CARGO_MANIFEST_DIR"), "/src/bin/ampwise-bench/data")
        } else {
            "../shared/data"
        })?;
    }
    if matches!(what.as_str(), "january" | "all") {
        january::run(arg(2).map_or(size(31, 2) as i64, |d| d as i64))?;
    }
    if matches!(what.as_str(), "loop" | "all") {
        forward::closed_day(arg(2).unwrap_or(pick(toy, 120.0, 8640.0))).await?;
    }
    if toy {
        println!("every benchmark scenario ran (toy size)");
    }
    Ok(())
}
