//! A simulator of the Charge Amps cloud, run as its own process and spoken to over HTTP, so the
//! demo, the browser tests and the benchmarks need no internet and no partner account:
//!
//! - **Partner**: a small web page (`/`) and JSON API (`/api/…`) to create measurement devices
//!   (serial number + PIN) and load balancers (supply max current, chargers, one device);
//! - the **measurement link**: `POST /measurement/createtoken` and `/measurement/update` in the
//!   Open Reporter shape, refusing unknown serials and wrong PINs; a device is ACTIVE while
//!   updates arrive and inactive 60 s after the last;
//! - the **load balancer** ([`balance`]) on every update, falling back to a safe current when the
//!   updates say the meter is offline or stop;
//! - **chargers** (Halo, 1- or 3-phase, 16 or 32 A) drawing what they are allowed, which the
//!   household simulator reads (`GET /api/draw?device=SERIAL`) and adds to its mains load;
//! - an **Open Reporter partner** (`/open-reporter/createtoken`, `/open-reporter/update`) that
//!   records what it receives;
//! - `GET /api/state` for tests and benchmarks, and fault switches (`PUT /api/faults`): answer
//!   slowly, 500, 401, garbage, or not at all.

pub mod balance;
mod page;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use crate::balance::{ChargerNeed, Situation};

/// A device with no update for this long is inactive (ms).
pub const ACTIVE_WITHIN_MS: i64 = 60_000;

#[derive(Debug, Clone)]
pub struct Options {
    /// Where devices, balancers and chargers are kept across restarts.
    pub state_file: Option<PathBuf>,
    /// A balancer whose device sent nothing for this long falls back to its safe current (ms).
    pub stale_after_ms: i64,
    /// Kept free below the fuse (A).
    pub margin_a: f64,
    /// Most a charger's setpoint rises per update (A).
    pub ramp_step_a: f64,
    /// Keep (serial, reading time, arrival) of every update for `GET /api/received-log`: the
    /// benchmarks' end of the measurement.
    pub log_updates: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            state_file: None,
            stale_after_ms: 30_000,
            margin_a: 0.5,
            ramp_step_a: 4.0,
            log_updates: false,
        }
    }
}

pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// The world

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phases {
    #[serde(rename = "3")]
    Three,
    L1,
    L2,
    L3,
}

impl Phases {
    fn mask(self) -> [bool; 3] {
        match self {
            Phases::Three => [true; 3],
            Phases::L1 => [true, false, false],
            Phases::L2 => [false, true, false],
            Phases::L3 => [false, false, true],
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.trim().to_string())).ok()
    }

    pub fn label(self) -> &'static str {
        match self {
            Phases::Three => "3-phase",
            Phases::L1 => "1-phase on L1",
            Phases::L2 => "1-phase on L2",
            Phases::L3 => "1-phase on L3",
        }
    }
}

/// A charger as Partner configures it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChargerSpec {
    pub name: String,
    pub phases: Phases,
    /// 16 or 32 A.
    pub max_current_a: f64,
    /// What the plugged-in car would draw (A); 0 = no car.
    pub wants_a: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Charger {
    id: u32,
    #[serde(flatten)]
    spec: ChargerSpec,
    #[serde(skip)]
    allowed_a: f64,
    /// (ms, A per phase drawn from then on), newest last.
    #[serde(skip)]
    drawn: VecDeque<(i64, f64)>,
}

/// Draw history kept per charger: enough to look back past a slow reading.
const DRAW_HISTORY: usize = 256;

impl Charger {
    fn drawing_a(&self) -> f64 {
        self.drawn.back().map_or(0.0, |(_, a)| *a)
    }

    /// What it drew at `ms` (per phase it uses).
    fn drawn_at(&self, ms: i64) -> f64 {
        self.drawn
            .iter()
            .rev()
            .find(|(t, _)| *t <= ms)
            .map_or(0.0, |(_, a)| *a)
    }

    fn set_allowed(&mut self, now: i64, allowed: f64) {
        self.allowed_a = allowed;
        let draw = allowed.min(self.spec.wants_a).max(0.0);
        if self.drawn.back().is_none_or(|(_, a)| *a != draw) {
            self.drawn.push_back((now, draw));
            if self.drawn.len() > DRAW_HISTORY {
                self.drawn.pop_front();
            }
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Balancer {
    id: u32,
    name: String,
    supply_max_current_a: f64,
    fallback_current_a: f64,
    device: Option<String>,
    chargers: Vec<Charger>,
    /// The household's own load at the last measurement (A per phase).
    #[serde(skip)]
    household_a: Option<[Option<f64>; 3]>,
}

/// What the device last reported.
#[derive(Debug, Clone, Serialize)]
struct Reported {
    online: bool,
    current_a: [Option<f64>; 3],
    measured_at: Option<i64>,
    permission: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Device {
    serial: String,
    pin: String,
    #[serde(skip)]
    last_update_at: Option<i64>,
    #[serde(skip)]
    updates: u64,
    /// The newest log-in an update has come with.
    #[serde(skip)]
    newest_login: u64,
    /// Updates that came with an older log-in's token after a newer one's had: two senders
    /// forwarding this device at once.
    #[serde(skip)]
    overlapping_updates: u64,
    /// Create Token calls refused for this serial (a wrong PIN).
    #[serde(skip)]
    refused_logins: u64,
    #[serde(skip)]
    last_refused_at: Option<i64>,
    /// When a token was last given for this device (the right PIN).
    #[serde(skip)]
    last_login_at: Option<i64>,
    #[serde(skip)]
    last: Option<Reported>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultMode {
    #[default]
    None,
    /// Answer after `delay_ms`.
    Slow,
    /// 500.
    Error,
    /// 401 to everything.
    Unauthorized,
    /// 200 with a body that is not the protocol's.
    Garbage,
    /// Never answer.
    Hang,
    /// 400 to every update: the partner refuses the packets.
    #[serde(rename = "bad_request")]
    BadRequest,
    /// 429 with `Retry-After` (`delay_ms`, in whole seconds).
    #[serde(rename = "too_many")]
    TooMany,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Faults {
    #[serde(default)]
    pub mode: FaultMode,
    #[serde(default)]
    pub delay_ms: u64,
    /// Only for this serial number (or Open Reporter username); everyone when absent.
    #[serde(default)]
    pub target: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct OpenPartner {
    /// username → password.
    accounts: BTreeMap<String, String>,
    #[serde(skip)]
    received: VecDeque<serde_json::Value>,
    #[serde(skip)]
    count: u64,
    /// Updates refused for their types.
    #[serde(skip)]
    refused: u64,
}

/// How many Open Reporter updates are kept for `GET /api/open-reporter/received`.
const RECEIVED_KEPT: usize = 100;

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct World {
    devices: BTreeMap<String, Device>,
    balancers: BTreeMap<u32, Balancer>,
    next_id: u32,
    open_reporter: OpenPartner,
    /// Log-ins with a serial number no measurement device here has: (attempts, last at).
    #[serde(skip)]
    unknown_logins: BTreeMap<String, (u64, i64)>,
    #[serde(skip)]
    tokens: HashMap<String, Bearer>,
    /// Each device token's log-in, numbered in the order they were given.
    #[serde(skip)]
    logins: HashMap<String, u64>,
    #[serde(skip)]
    last_login: u64,
    #[serde(skip)]
    faults: Faults,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Bearer {
    Device(String),
    OpenReporter(String),
}

impl World {
    fn id(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }

    fn balancer_of(&mut self, serial: &str) -> Option<&mut Balancer> {
        self.balancers
            .values_mut()
            .find(|b| b.device.as_deref() == Some(serial))
    }

    pub(crate) fn add_device(&mut self, serial: &str, pin: &str) -> Result<(), String> {
        let serial = serial.trim().to_ascii_uppercase();
        let pin = pin.trim();
        if serial.is_empty() || serial.len() > 64 {
            return Err("Enter the measurement device's serial number.".into());
        }
        if pin.is_empty() || pin.len() > 64 {
            return Err("Enter the measurement device's PIN.".into());
        }
        if self.devices.contains_key(&serial) {
            return Err(format!("A measurement device {serial} exists already."));
        }
        self.devices.insert(
            serial.clone(),
            Device {
                serial,
                pin: pin.to_string(),
                last_update_at: None,
                updates: 0,
                newest_login: 0,
                overlapping_updates: 0,
                refused_logins: 0,
                last_refused_at: None,
                last_login_at: None,
                last: None,
            },
        );
        Ok(())
    }

    pub(crate) fn set_pin(&mut self, serial: &str, pin: &str) -> Result<(), String> {
        let device = self
            .devices
            .get_mut(serial)
            .ok_or_else(|| format!("No measurement device {serial}."))?;
        if pin.trim().is_empty() {
            return Err("Enter the new PIN.".into());
        }
        device.pin = pin.trim().to_string();
        self.tokens
            .retain(|_, b| *b != Bearer::Device(serial.to_string()));
        Ok(())
    }

    pub(crate) fn add_balancer(&mut self, spec: BalancerSpec) -> Result<u32, String> {
        let name = spec.name.trim();
        if name.is_empty() {
            return Err("Give the load balancer a name.".into());
        }
        if !(6.0..=1000.0).contains(&spec.supply_max_current_a) {
            return Err("Supply max current: 6 to 1000 A.".into());
        }
        let device = match spec
            .device
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(serial) => {
                let serial = serial.to_ascii_uppercase();
                if !self.devices.contains_key(&serial) {
                    return Err(format!("No measurement device {serial}."));
                }
                if self.balancer_of(&serial).is_some() {
                    return Err(format!("{serial} is in another load balancer already."));
                }
                Some(serial)
            }
            None => None,
        };
        let id = self.id();
        self.balancers.insert(
            id,
            Balancer {
                id,
                name: name.to_string(),
                supply_max_current_a: spec.supply_max_current_a,
                fallback_current_a: spec.fallback_current_a.unwrap_or(6.0),
                device,
                chargers: Vec::new(),
                household_a: None,
            },
        );
        for charger in spec.chargers {
            self.add_charger(id, charger)?;
        }
        Ok(id)
    }

    pub(crate) fn add_charger(&mut self, balancer: u32, spec: ChargerSpec) -> Result<u32, String> {
        if spec.name.trim().is_empty() {
            return Err("Give the charger a name.".into());
        }
        if ![16.0, 32.0].contains(&spec.max_current_a) {
            return Err("Halo chargers are 16 or 32 A.".into());
        }
        if !(0.0..=spec.max_current_a).contains(&spec.wants_a) {
            return Err("What the car wants: 0 A up to the charger's rating.".into());
        }
        let id = self.id();
        let b = self
            .balancers
            .get_mut(&balancer)
            .ok_or_else(|| format!("No load balancer {balancer}."))?;
        b.chargers.push(Charger {
            id,
            spec,
            allowed_a: 0.0,
            drawn: VecDeque::new(),
        });
        Ok(id)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct BalancerSpec {
    pub name: String,
    pub supply_max_current_a: f64,
    #[serde(default)]
    pub fallback_current_a: Option<f64>,
    #[serde(default)]
    pub device: Option<String>,
    #[serde(default)]
    pub chargers: Vec<ChargerSpec>,
}

impl Balancer {
    /// Shares the room anew: from a measurement (taken at `measured_at`), or without one.
    fn balance(
        &mut self,
        options: &Options,
        now: i64,
        measured: Option<[Option<f64>; 3]>,
        headroom: Option<[Option<f64>; 3]>,
        measured_at: Option<i64>,
        paused: bool,
    ) {
        let at = measured_at.unwrap_or(now);
        let situation = Situation {
            fuse_a: self.supply_max_current_a,
            margin_a: options.margin_a,
            measured,
            headroom: measured.and(headroom),
            fallback_a: self.fallback_current_a,
            paused,
            chargers: self
                .chargers
                .iter()
                .map(|c| {
                    let mask = c.spec.phases.mask();
                    let drawn = c.drawn_at(at);
                    ChargerNeed {
                        phases: mask,
                        cap_a: c.spec.wants_a.min(c.spec.max_current_a),
                        drawn_at_measurement: mask.map(|on| if on { drawn } else { 0.0 }),
                    }
                })
                .collect(),
        };
        self.household_a = measured.map(|m| {
            let mut household = [None; 3];
            for (p, slot) in household.iter_mut().enumerate() {
                *slot = m[p].map(|i| {
                    let own: f64 = situation
                        .chargers
                        .iter()
                        .map(|c| c.drawn_at_measurement[p])
                        .sum();
                    ((i - own) * 100.0).round() / 100.0
                });
            }
            household
        });
        let targets = balance::allocate(&situation);
        for (charger, target) in self.chargers.iter_mut().zip(targets) {
            let next = if measured.is_some() {
                balance::ramp(charger.allowed_a, target, options.ramp_step_a)
            } else {
                target
            };
            charger.set_allowed(now, next);
        }
    }

    fn draw(&self) -> [f64; 3] {
        let mut total = [0.0; 3];
        for c in &self.chargers {
            for (p, on) in c.spec.phases.mask().into_iter().enumerate() {
                if on {
                    total[p] += c.drawing_a();
                }
            }
        }
        total
    }
}

// ---------------------------------------------------------------------------------------------
// The server

/// One update as it arrived: the device's serial, the reading's time (ms UTC, as the update
/// says) and when the update arrived (µs UTC).
pub type Arrival = (String, Option<i64>, i64);

/// Arrivals kept at most; older ones are dropped.
const ARRIVALS_KEPT: usize = 4_000_000;

#[derive(Clone)]
pub struct Sim {
    world: Arc<Mutex<World>>,
    arrivals: Arc<Mutex<VecDeque<Arrival>>>,
    options: Arc<Options>,
    /// Serialised saves of the configuration.
    saving: Arc<tokio::sync::Mutex<()>>,
}

impl Sim {
    /// Loads the state file if there is one.
    pub fn new(options: Options) -> anyhow::Result<Self> {
        let world = match &options.state_file {
            Some(path) if path.exists() => {
                let text = std::fs::read_to_string(path)?;
                serde_json::from_str(&text)?
            }
            _ => World::default(),
        };
        Ok(Self {
            world: Arc::new(Mutex::new(world)),
            arrivals: Arc::new(Mutex::new(VecDeque::new())),
            options: Arc::new(options),
            saving: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes the configuration (devices, balancers, chargers, Open Reporter accounts).
    pub(crate) async fn save(&self) {
        let Some(path) = self.options.state_file.clone() else {
            return;
        };
        let _one_at_a_time = self.saving.lock().await;
        let json = serde_json::to_vec_pretty(&*self.world()).unwrap_or_default();
        let partial = path.with_extension("partial");
        let written = tokio::fs::write(&partial, json).await;
        if let Err(e) = written.and(tokio::fs::rename(&partial, &path).await) {
            tracing::error!(error = %e, path = %path.display(), "could not save the simulator's state");
        }
    }

    /// Creates the demo's measurement device, load balancer and two chargers unless there.
    pub async fn seed_demo(&self, serial: &str, pin: &str, fuse_a: f64) -> Result<(), String> {
        {
            let mut w = self.world();
            let serial = serial.to_ascii_uppercase();
            match w.devices.get(&serial).map(|d| d.pin.clone()) {
                Some(known) if known != pin => w.set_pin(&serial, pin)?,
                Some(_) => {}
                None => w.add_device(&serial, pin)?,
            }
            if w.balancer_of(&serial).is_none() {
                w.add_balancer(BalancerSpec {
                    name: "Villa Solsken".into(),
                    supply_max_current_a: fuse_a,
                    fallback_current_a: Some(6.0),
                    device: Some(serial),
                    chargers: vec![
                        ChargerSpec {
                            name: "Garage (Halo 3-phase)".into(),
                            phases: Phases::Three,
                            max_current_a: 16.0,
                            wants_a: 16.0,
                        },
                        ChargerSpec {
                            name: "Carport (Halo 1-phase)".into(),
                            phases: Phases::L2,
                            max_current_a: 32.0,
                            wants_a: 16.0,
                        },
                    ],
                })?;
            }
        }
        self.save().await;
        Ok(())
    }

    pub async fn add_open_reporter_account(&self, username: &str, password: &str) {
        self.world()
            .open_reporter
            .accounts
            .insert(username.to_string(), password.to_string());
        self.save().await;
    }

    /// Every second: balancers whose device went quiet (or never spoke) fall back.
    async fn watch_stale(self) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let now = now_ms();
            let mut w = self.world();
            let World {
                devices, balancers, ..
            } = &mut *w;
            for b in balancers.values_mut() {
                let fresh = b
                    .device
                    .as_ref()
                    .and_then(|s| devices.get(s))
                    .and_then(|d| d.last_update_at)
                    .is_some_and(|at| now - at <= self.options.stale_after_ms);
                if !fresh {
                    b.balance(&self.options, now, None, None, None, false);
                }
            }
        }
    }
}

pub fn router(sim: Sim) -> Router {
    Router::new()
        .route("/", get(page::partner_page))
        .route("/partner/status", get(page::status_fragment))
        .route("/partner/devices", post(page::form_add_device))
        .route("/partner/devices/pin", post(page::form_set_pin))
        .route("/partner/load-balancers", post(page::form_add_balancer))
        .route("/partner/chargers", post(page::form_add_charger))
        .route("/partner/chargers/wants", post(page::form_set_wants))
        .route("/measurement/createtoken", post(measurement_token))
        .route("/measurement/update", post(measurement_update))
        .route("/open-reporter/createtoken", post(open_token))
        .route("/open-reporter/update", post(open_update))
        .route("/api/devices", post(api_add_devices))
        .route("/api/load-balancers", post(api_add_balancer))
        .route("/api/load-balancers/{id}/chargers", post(api_add_charger))
        .route("/api/chargers/{id}", put(api_set_wants))
        .route("/api/state", get(api_state))
        .route("/api/stats", get(api_stats))
        .route("/api/received-log", get(api_received_log))
        .route("/api/draw", get(api_draw))
        .route("/api/faults", put(api_faults).get(api_get_faults))
        .route("/api/open-reporter/accounts", post(api_open_account))
        .route("/api/open-reporter/received", get(api_open_received))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(sim)
}

/// Serves the simulator on `listener` until `shutdown`.
pub async fn serve(
    sim: Sim,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let watcher = tokio::spawn(sim.clone().watch_stale());
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router(sim))
        .with_graceful_shutdown(shutdown)
        .await?;
    watcher.abort();
    Ok(())
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": message.into() }))).into_response()
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

fn new_token() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..32)
        .map(|_| format!("{:x}", rng.gen_range(0..16u8)))
        .collect()
}

/// The fault switched on for `who`, if any: answered instead of the real thing (after a delay
/// for `Slow`, never for `Hang`).
async fn fault_for(sim: &Sim, who: Option<&str>) -> Option<Response> {
    let faults = sim.world().faults.clone();
    if faults.target.as_deref().is_some_and(|t| Some(t) != who) {
        return None;
    }
    match faults.mode {
        FaultMode::None => None,
        FaultMode::Slow => {
            tokio::time::sleep(Duration::from_millis(faults.delay_ms)).await;
            None
        }
        FaultMode::Error => Some(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "simulated failure",
        )),
        FaultMode::Unauthorized => Some(error(StatusCode::UNAUTHORIZED, "simulated refusal")),
        FaultMode::Garbage => Some((StatusCode::OK, "<html>it works!</html>").into_response()),
        FaultMode::Hang => {
            std::future::pending::<()>().await;
            None
        }
        FaultMode::BadRequest => Some(error(StatusCode::BAD_REQUEST, "simulated: packet refused")),
        FaultMode::TooMany => {
            let mut response = error(StatusCode::TOO_MANY_REQUESTS, "simulated: slow down");
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(faults.delay_ms.div_ceil(1000)),
            );
            Some(response)
        }
    }
}

/// An Open Reporter update as a partner that types its packets reads it (Perific's published
/// example): every number a number, every string a string. A `null` where the contract has a
/// number is refused with 400, as such a partner does.
#[derive(Deserialize)]
#[allow(dead_code)] // read to check the types; the partner keeps the JSON as it came
struct TypedUpdate {
    meters: Vec<TypedMeter>,
    timestamp: String,
    calculated: TypedCalculated,
    externalid: String,
    reporterid: i64,
    meterstatus: String,
    calculationmode: String,
    protocolversion: String,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct TypedMeter {
    l1: f64,
    l2: f64,
    l3: f64,
    fuse: f64,
    #[serde(rename = "type")]
    kind: String,
    online: bool,
    monitorid: i64,
    lastupdate: String,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct TypedCalculated {
    direct: TypedPhases,
    relative: TypedPhases,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct TypedPhases {
    l1: f64,
    l2: f64,
    l3: f64,
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

async fn measurement_token(State(sim): State<Sim>, body: axum::body::Bytes) -> Response {
    let Ok(creds) = serde_json::from_slice::<Credentials>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "expected {\"username\", \"password\"}",
        );
    };
    let serial = creds.username.trim().to_ascii_uppercase();
    if let Some(fault) = fault_for(&sim, Some(&serial)).await {
        return fault;
    }
    let mut w = sim.world();
    let now = now_ms();
    match w.devices.get_mut(&serial) {
        Some(d) if d.pin == creds.password => {
            d.last_login_at = Some(now);
            let token = new_token();
            w.tokens.insert(token.clone(), Bearer::Device(serial));
            w.last_login += 1;
            let login = w.last_login;
            w.logins.insert(token.clone(), login);
            Json(serde_json::json!({ "token": token })).into_response()
        }
        Some(d) => {
            d.refused_logins += 1;
            d.last_refused_at = Some(now);
            error(StatusCode::UNAUTHORIZED, "wrong PIN")
        }
        None => {
            let seen = w.unknown_logins.entry(serial).or_insert((0, now));
            *seen = (seen.0 + 1, now);
            error(StatusCode::UNAUTHORIZED, "unknown measurement device")
        }
    }
}

/// The parts of an Open Reporter update the balancer reads.
#[derive(Deserialize)]
struct UpdateBody {
    meters: Vec<UpdateMeter>,
    calculated: Option<UpdateCalculated>,
    meterstatus: Option<String>,
    adaptivecharging: Option<AdaptiveCharging>,
}

#[derive(Deserialize)]
struct UpdateMeter {
    online: bool,
    lastupdate: Option<String>,
}

#[derive(Deserialize)]
struct UpdateCalculated {
    direct: PhaseValues,
    /// Headroom per phase; lower than the fuse's when the site limits itself (a peak guard).
    #[serde(default)]
    relative: Option<PhaseValues>,
}

#[derive(Deserialize)]
struct PhaseValues {
    l1: Option<f64>,
    l2: Option<f64>,
    l3: Option<f64>,
}

#[derive(Deserialize)]
struct AdaptiveCharging {
    permission: String,
}

async fn measurement_update(
    State(sim): State<Sim>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let token = bearer(&headers);
    let who = token
        .as_ref()
        .and_then(|t| sim.world().tokens.get(t).cloned());
    let Some(Bearer::Device(serial)) = who else {
        if let Some(fault) = fault_for(&sim, None).await {
            return fault;
        }
        return error(StatusCode::UNAUTHORIZED, "unknown or expired token");
    };
    if let Some(fault) = fault_for(&sim, Some(&serial)).await {
        return fault;
    }
    let arrived_us = jiff::Timestamp::now().as_microsecond();
    let update: UpdateBody = match serde_json::from_slice(&body) {
        Ok(u) => u,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("not an Open Reporter update: {e}"),
            );
        }
    };
    let now = now_ms();
    let online = update.meterstatus.as_deref() == Some("online")
        && update.meters.first().is_some_and(|m| m.online);
    let measured_at = update
        .meters
        .first()
        .and_then(|m| m.lastupdate.as_deref())
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_millisecond());
    // An offline update's numbers are the last known ones and a fuse fully used: no measurement.
    let (current, headroom) = update
        .calculated
        .filter(|_| online)
        .map(|c| {
            (
                [c.direct.l1, c.direct.l2, c.direct.l3],
                c.relative.map_or([None; 3], |r| [r.l1, r.l2, r.l3]),
            )
        })
        .unwrap_or(([None; 3], [None; 3]));
    let permission = update.adaptivecharging.map(|a| a.permission);
    let paused = permission.as_deref() == Some("paused");
    let options = sim.options.clone();
    if options.log_updates {
        let mut arrivals = sim.arrivals.lock().unwrap_or_else(|e| e.into_inner());
        if arrivals.len() >= ARRIVALS_KEPT {
            arrivals.pop_front();
        }
        arrivals.push_back((
            serial.clone(),
            online.then_some(measured_at).flatten(),
            arrived_us,
        ));
    }
    let mut w = sim.world();
    let Some(device) = w.devices.get_mut(&serial) else {
        return error(
            StatusCode::UNAUTHORIZED,
            "the measurement device was removed",
        );
    };
    device.last_update_at = Some(now);
    device.updates += 1;
    let login = token.and_then(|t| w.logins.get(&t).copied()).unwrap_or(0);
    let device = w.devices.get_mut(&serial).expect("looked up above");
    if login < device.newest_login {
        device.overlapping_updates += 1;
    } else {
        device.newest_login = login;
    }
    device.last = Some(Reported {
        online,
        current_a: current,
        measured_at,
        permission,
    });
    if let Some(b) = w.balancer_of(&serial) {
        // Offline, or a reading older than the balancer's limit: no measurement to act on.
        let fresh = online && measured_at.is_some_and(|at| now - at <= options.stale_after_ms);
        b.balance(
            &options,
            now,
            fresh.then_some(current),
            fresh.then_some(headroom),
            measured_at,
            paused,
        );
    }
    Json(serde_json::json!({ "status": "ok" })).into_response()
}

async fn open_token(State(sim): State<Sim>, body: axum::body::Bytes) -> Response {
    let Ok(creds) = serde_json::from_slice::<Credentials>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "expected {\"username\", \"password\"}",
        );
    };
    if let Some(fault) = fault_for(&sim, Some(&creds.username)).await {
        return fault;
    }
    let mut w = sim.world();
    if w.open_reporter.accounts.get(&creds.username) != Some(&creds.password) {
        return error(StatusCode::UNAUTHORIZED, "unknown user or wrong password");
    }
    let token = new_token();
    w.tokens
        .insert(token.clone(), Bearer::OpenReporter(creds.username));
    Json(serde_json::json!({ "token": token })).into_response()
}

async fn open_update(
    State(sim): State<Sim>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let who = bearer(&headers).and_then(|t| sim.world().tokens.get(&t).cloned());
    let Some(Bearer::OpenReporter(user)) = who else {
        return error(StatusCode::UNAUTHORIZED, "unknown or expired token");
    };
    if let Some(fault) = fault_for(&sim, Some(&user)).await {
        return fault;
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "not JSON");
    };
    if let Err(e) = serde_json::from_value::<TypedUpdate>(value.clone()) {
        let mut w = sim.world();
        w.open_reporter.refused += 1;
        return error(
            StatusCode::BAD_REQUEST,
            format!("not an Open Reporter update: {e}"),
        );
    }
    let mut w = sim.world();
    let partner = &mut w.open_reporter;
    partner.count += 1;
    partner
        .received
        .push_back(serde_json::json!({ "username": user, "body": value }));
    if partner.received.len() > RECEIVED_KEPT {
        partner.received.pop_front();
    }
    Json(serde_json::json!({ "status": "ok" })).into_response()
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

#[derive(Deserialize)]
struct DeviceSpec {
    serial: String,
    pin: String,
}

async fn api_add_devices(
    State(sim): State<Sim>,
    Json(body): Json<OneOrMany<DeviceSpec>>,
) -> Response {
    let list = match body {
        OneOrMany::One(d) => vec![d],
        OneOrMany::Many(list) => list,
    };
    let result = {
        let mut w = sim.world();
        list.iter()
            .try_for_each(|d| w.add_device(&d.serial, &d.pin))
    };
    sim.save().await;
    match result {
        Ok(()) => (
            StatusCode::CREATED,
            Json(serde_json::json!({ "created": list.len() })),
        )
            .into_response(),
        Err(e) => error(StatusCode::UNPROCESSABLE_ENTITY, e),
    }
}

async fn api_add_balancer(State(sim): State<Sim>, Json(spec): Json<BalancerSpec>) -> Response {
    let result = sim.world().add_balancer(spec);
    sim.save().await;
    match result {
        Ok(id) => (StatusCode::CREATED, Json(serde_json::json!({ "id": id }))).into_response(),
        Err(e) => error(StatusCode::UNPROCESSABLE_ENTITY, e),
    }
}

async fn api_add_charger(
    State(sim): State<Sim>,
    Path(id): Path<u32>,
    Json(spec): Json<ChargerSpec>,
) -> Response {
    let result = sim.world().add_charger(id, spec);
    sim.save().await;
    match result {
        Ok(id) => (StatusCode::CREATED, Json(serde_json::json!({ "id": id }))).into_response(),
        Err(e) => error(StatusCode::UNPROCESSABLE_ENTITY, e),
    }
}

#[derive(Deserialize)]
struct Wants {
    wants_a: f64,
}

pub(crate) fn set_wants(w: &mut World, id: u32, wants_a: f64) -> Result<(), String> {
    let charger = w
        .balancers
        .values_mut()
        .flat_map(|b| b.chargers.iter_mut())
        .find(|c| c.id == id)
        .ok_or_else(|| format!("No charger {id}."))?;
    if !(0.0..=charger.spec.max_current_a).contains(&wants_a) {
        return Err("What the car wants: 0 A up to the charger's rating.".into());
    }
    charger.spec.wants_a = wants_a;
    Ok(())
}

async fn api_set_wants(
    State(sim): State<Sim>,
    Path(id): Path<u32>,
    Json(body): Json<Wants>,
) -> Response {
    let result = set_wants(&mut sim.world(), id, body.wants_a);
    sim.save().await;
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(StatusCode::UNPROCESSABLE_ENTITY, e),
    }
}

/// What tests, benchmarks and the Partner page read.
#[derive(Debug, Serialize, Deserialize)]
pub struct StateView {
    pub devices: Vec<DeviceView>,
    pub load_balancers: Vec<BalancerView>,
    pub open_reporter_received: u64,
    /// Log-ins with serial numbers no device here has: (serial, attempts, last at).
    #[serde(default)]
    pub unknown_logins: Vec<(String, u64, String)>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DeviceView {
    pub serial: String,
    /// ACTIVE while updates arrive; inactive 60 s after the last.
    pub active: bool,
    pub updates: u64,
    /// Updates that came with an older log-in's token after a newer one's had: this device was
    /// forwarded by two senders at once (what fencing must prevent).
    #[serde(default)]
    pub overlapping_updates: u64,
    pub refused_logins: u64,
    /// The last log-in was refused (its serial is here, its PIN was not): the installer typed
    /// the PIN wrong in Partner or in the app.
    #[serde(default)]
    pub wrong_pin: bool,
    pub last_refused_at: Option<String>,
    pub last_update_at: Option<String>,
    pub online: Option<bool>,
    pub current_a: Option<[Option<f64>; 3]>,
    pub permission: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct BalancerView {
    pub id: u32,
    pub name: String,
    pub supply_max_current_a: f64,
    pub fallback_current_a: f64,
    pub device: Option<String>,
    /// The household's own load per phase at the last measurement (A).
    pub household_a: Option<[Option<f64>; 3]>,
    pub chargers: Vec<ChargerView>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ChargerView {
    pub id: u32,
    pub name: String,
    pub phases: Phases,
    pub max_current_a: f64,
    pub wants_a: f64,
    pub allowed_a: f64,
    pub drawing_a: f64,
}

impl World {
    fn view(&self, now: i64) -> StateView {
        StateView {
            devices: self
                .devices
                .values()
                .map(|d| DeviceView {
                    serial: d.serial.clone(),
                    active: d
                        .last_update_at
                        .is_some_and(|at| now - at <= ACTIVE_WITHIN_MS),
                    updates: d.updates,
                    overlapping_updates: d.overlapping_updates,
                    refused_logins: d.refused_logins,
                    wrong_pin: d.last_refused_at > d.last_login_at,
                    last_refused_at: d.last_refused_at.map(rfc3339),
                    last_update_at: d.last_update_at.map(rfc3339),
                    online: d.last.as_ref().map(|l| l.online),
                    current_a: d.last.as_ref().map(|l| l.current_a),
                    permission: d.last.as_ref().and_then(|l| l.permission.clone()),
                })
                .collect(),
            load_balancers: self
                .balancers
                .values()
                .map(|b| BalancerView {
                    id: b.id,
                    name: b.name.clone(),
                    supply_max_current_a: b.supply_max_current_a,
                    fallback_current_a: b.fallback_current_a,
                    device: b.device.clone(),
                    household_a: b.household_a,
                    chargers: b
                        .chargers
                        .iter()
                        .map(|c| ChargerView {
                            id: c.id,
                            name: c.spec.name.clone(),
                            phases: c.spec.phases,
                            max_current_a: c.spec.max_current_a,
                            wants_a: c.spec.wants_a,
                            allowed_a: c.allowed_a,
                            drawing_a: c.drawing_a(),
                        })
                        .collect(),
                })
                .collect(),
            open_reporter_received: self.open_reporter.count,
            unknown_logins: self
                .unknown_logins
                .iter()
                .map(|(serial, (n, at))| (serial.clone(), *n, rfc3339(*at)))
                .collect(),
        }
    }
}

#[derive(Deserialize)]
struct StateQuery {
    /// Only this device and its balancer (the benchmark's 10,000 devices make the whole
    /// state large).
    device: Option<String>,
}

async fn api_state(State(sim): State<Sim>, Query(q): Query<StateQuery>) -> Json<StateView> {
    let mut view = sim.world().view(now_ms());
    if let Some(serial) = q.device.map(|s| s.to_ascii_uppercase()) {
        view.devices.retain(|d| d.serial == serial);
        view.load_balancers
            .retain(|b| b.device.as_deref() == Some(serial.as_str()));
    }
    Json(view)
}

#[derive(Deserialize)]
struct DrawQuery {
    device: String,
}

/// What the chargers balanced on `device` draw now, per phase (A): the household simulator
/// adds it to the load its meter measures.
async fn api_draw(State(sim): State<Sim>, Query(q): Query<DrawQuery>) -> Json<serde_json::Value> {
    let serial = q.device.trim().to_ascii_uppercase();
    let draw = sim
        .world()
        .balancer_of(&serial)
        .map(|b| b.draw())
        .unwrap_or_default();
    Json(serde_json::json!({ "current_a": draw }))
}

/// Counts for the benchmarks (the full state of 10,000 devices is large).
async fn api_stats(State(sim): State<Sim>) -> Json<serde_json::Value> {
    let now = now_ms();
    let w = sim.world();
    let seen = w.devices.values().filter(|d| d.updates > 0).count();
    let active = w
        .devices
        .values()
        .filter(|d| {
            d.last_update_at
                .is_some_and(|at| now - at <= ACTIVE_WITHIN_MS)
        })
        .count();
    let updates: u64 = w.devices.values().map(|d| d.updates).sum();
    Json(serde_json::json!({
        "devices": w.devices.len(), "seen": seen, "active": active, "updates": updates,
    }))
}

/// Every update's arrival since the last call (and forgets them).
async fn api_received_log(State(sim): State<Sim>) -> Json<Vec<Arrival>> {
    let mut arrivals = sim.arrivals.lock().unwrap_or_else(|e| e.into_inner());
    Json(arrivals.drain(..).collect())
}

async fn api_faults(State(sim): State<Sim>, Json(faults): Json<Faults>) -> Json<Faults> {
    sim.world().faults = faults.clone();
    Json(faults)
}

async fn api_get_faults(State(sim): State<Sim>) -> Json<Faults> {
    Json(sim.world().faults.clone())
}

async fn api_open_account(State(sim): State<Sim>, Json(creds): Json<Credentials>) -> Response {
    sim.world()
        .open_reporter
        .accounts
        .insert(creds.username, creds.password);
    sim.save().await;
    StatusCode::NO_CONTENT.into_response()
}

async fn api_open_received(State(sim): State<Sim>) -> Json<serde_json::Value> {
    let w = sim.world();
    Json(serde_json::json!({
        "count": w.open_reporter.count,
        "refused": w.open_reporter.refused,
        "received": w.open_reporter.received,
    }))
}

// What the Partner page's forms share with the JSON API.
impl Sim {
    pub(crate) fn with_world<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        f(&mut self.world())
    }

    pub(crate) fn view(&self) -> StateView {
        self.world().view(now_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draw_history_answers_for_the_moment_measured() {
        let mut c = Charger {
            id: 1,
            spec: ChargerSpec {
                name: "Garage".into(),
                phases: Phases::Three,
                max_current_a: 16.0,
                wants_a: 16.0,
            },
            allowed_a: 0.0,
            drawn: VecDeque::new(),
        };
        c.set_allowed(1_000, 6.0);
        c.set_allowed(2_000, 10.0);
        c.set_allowed(3_000, 20.0); // more than the car takes
        assert_eq!(c.drawn_at(500), 0.0);
        assert_eq!(c.drawn_at(1_500), 6.0);
        assert_eq!(c.drawn_at(2_999), 10.0);
        assert_eq!(c.drawn_at(9_000), 16.0);
    }
}
