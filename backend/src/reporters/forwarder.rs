//! The forwarding loop. One coordinator per server process takes leases on reporters (a row per
//! reporter in the database: holder and generation, good while the holder renews its own row,
//! so several processes share the work; see [`super::leases`]) and runs one task per leased
//! reporter. Each task waits on
//! the typed stream of its monitor's committed readings and on the pacer's next due time, sends
//! the update, and records what happened; the coordinator writes those facts to the database
//! once a second and tells open pages when a status changes.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use model::reporter::{Facts, ReporterKind, ReporterLive};
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::pacer::{Pacer, Timing};
use super::partner::{self, Http, Sink};
use super::payload::{self, Permission, Sender};
use crate::Services;
use crate::clock::Clock;
use crate::db::{ForwardConfig, Lease};
use crate::live::StatusHub;
use crate::secrets::SecretKind;

/// How the forwarding runs; defaults in code, the server reads overrides from its config.
#[derive(Debug, Clone)]
pub struct Settings {
    pub timing: Timing,
    /// Charge Amps' measurement link, e.g. `https://partner.example/measurement`: updates go to
    /// `{url}/update`, tokens come from `{url}/createtoken`. Without it Charge Amps reporters
    /// say the server is not configured for them.
    pub charge_amps_url: Option<String>,
    /// Every request to a partner gives up after this long.
    pub partner_timeout: Duration,
    /// This process's name in the lease table; unique per process.
    pub holder: String,
    /// A lease not renewed within this long may be taken by another process (ms).
    pub lease_ttl_ms: i64,
    /// How often leases are renewed and new reporters taken on.
    pub scan_every: Duration,
    /// Nothing is sent once the last renewal is this much short of the lease's end (ms): room
    /// for the clocks of two machines to differ and for a renewal in flight.
    pub lease_margin_ms: i64,
    /// How often the forwarders' facts are written to the database.
    pub flush_every: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            timing: Timing::default(),
            charge_amps_url: None,
            partner_timeout: Duration::from_secs(5),
            holder: format!("ampwise-{}", std::process::id()),
            lease_ttl_ms: 30_000,
            scan_every: Duration::from_secs(5),
            lease_margin_ms: 5_000,
            flush_every: Duration::from_secs(1),
        }
    }
}

impl Settings {
    /// Several processes on one database: a process that dies (kill -9) has every reporter it
    /// held forwarded again by another within 15 s: its leases end at most 8 s after its last
    /// renewal, the others look every 2 s, and the first update goes out at the next reading.
    pub fn for_cluster(self) -> Self {
        Self {
            lease_ttl_ms: 8_000,
            scan_every: Duration::from_secs(2),
            lease_margin_ms: 2_000,
            ..self
        }
    }
}

/// How long after a change the leases are scanned, so a burst of changes costs one scan.
const CHANGES_SETTLE: Duration = Duration::from_millis(200);
/// Reporters a process takes on per scan at most.
const MAX_NEW_LEASES_PER_SCAN: i64 = 20_000;
/// A facts change users would not notice is published at most this often (ms).
const REPUBLISH_AFTER_MS: i64 = 10_000;
/// ... and written to the database at most this often (ms). Nothing depends on a fresher copy
/// there: pages in this process read the board, the cursor only keeps a restart from sending
/// older readings (it always sends the newest), and another process takes a reporter over only
/// after its lease expired (30 s).
const RESTORE_AFTER_MS: i64 = 30_000;
/// Rows of facts due only because time passed that one write takes at most: a write holds the
/// database's one write lock, which the readings' writer waits for (10,000 reporters started
/// together would otherwise all come due in the same second, every 30 s).
const RESTORE_AT_ONCE: usize = 500;

/// The forwarders' latest facts: published to open pages when a status could have changed, and
/// written to the database in batches (a status change within a second, the rest every 30 s,
/// so 10,000 reporters sending every 2 s do not keep the database's one writer busy).
pub struct Board {
    inner: Mutex<BoardInner>,
    events: Arc<StatusHub>,
    /// Other processes show these reporters too: what a page here is told is written at once
    /// and announced on the bus.
    announce: std::sync::atomic::AtomicBool,
    /// The reporters this process forwards now.
    held: std::sync::RwLock<HashSet<i64>>,
    /// Whether this process leads the others (fetches the prices for all).
    leader: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct BoardInner {
    entries: HashMap<i64, Entry>,
    dirty: HashSet<i64>,
}

struct Entry {
    lease: Lease,
    site_id: i64,
    facts: Facts,
    published: Option<Facts>,
    /// What the database holds, as far as this process wrote it, and when.
    stored: Option<(Facts, i64)>,
    /// Published to pages here, not yet to other processes'.
    unannounced: bool,
}

/// Whether the status derived from `new` can differ from `old`'s at the same moment.
fn status_changed(old: &Facts, new: &Facts) -> bool {
    let failed_last = |f: &Facts| f.failed_at > f.accepted_at;
    old.problem != new.problem
        || old.offline != new.offline
        || failed_last(old) != failed_last(new)
        || old.accepted_at.is_some() != new.accepted_at.is_some()
        || old.reading_ts.is_some() != new.reading_ts.is_some()
}

/// Whether a page showing `old` should hear of `new`: the status may differ, or a time it
/// shows has moved on.
fn worth_publishing(old: &Facts, new: &Facts) -> bool {
    let moved = |a: Option<i64>, b: Option<i64>| match (a, b) {
        (Some(a), Some(b)) => b - a >= REPUBLISH_AFTER_MS,
        _ => false,
    };
    // Refusals are counted on the page ("refused 3 times"): each one is news.
    let refused_again =
        new.problem == Some(model::reporter::Problem::Refused) && old.failures != new.failures;
    status_changed(old, new)
        || refused_again
        || moved(old.accepted_at, new.accepted_at)
        || moved(old.reading_ts, new.reading_ts)
        || moved(old.failed_at, new.failed_at)
}

impl Board {
    pub fn new(events: Arc<StatusHub>) -> Self {
        Self {
            inner: Mutex::new(BoardInner::default()),
            events,
            announce: std::sync::atomic::AtomicBool::new(false),
            held: std::sync::RwLock::new(HashSet::new()),
            leader: std::sync::atomic::AtomicBool::new(true),
        }
    }

    /// Whether other processes' pages show these reporters too.
    pub fn announce(&self, yes: bool) {
        self.announce
            .store(yes, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether this process forwards the reporter.
    pub fn holds(&self, id: i64) -> bool {
        self.held
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&id)
    }

    fn set_held(&self, ids: impl Iterator<Item = i64>) {
        *self.held.write().unwrap_or_else(|e| e.into_inner()) = ids.collect();
    }

    /// Whether this process leads the others (alone, it does).
    pub fn leads(&self) -> bool {
        self.leader.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Of the reporters just stored, those whose new status other processes' pages should
    /// show now.
    fn announced(&self, stored: &[i64]) -> Vec<i64> {
        let mut inner = self.lock();
        stored
            .iter()
            .copied()
            .filter(|id| {
                inner
                    .entries
                    .get_mut(id)
                    .is_some_and(|e| std::mem::take(&mut e.unannounced))
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BoardInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn put(&self, lease: Lease, site_id: i64, facts: &Facts) {
        let id = lease.id;
        let mut inner = self.lock();
        inner.dirty.insert(id);
        let entry = inner.entries.entry(id).or_insert_with(|| Entry {
            lease,
            site_id,
            facts: facts.clone(),
            published: None,
            stored: None,
            unannounced: false,
        });
        entry.lease = lease;
        entry.site_id = site_id;
        entry.facts = facts.clone();
        if entry
            .published
            .as_ref()
            .is_none_or(|p| worth_publishing(p, facts))
        {
            entry.published = Some(facts.clone());
            entry.unannounced = self.announce.load(std::sync::atomic::Ordering::Relaxed);
            self.events.publish_with(site_id, || {
                Some(Arc::new(ReporterLive {
                    id,
                    facts: facts.clone(),
                    paused: false,
                }))
            });
        }
    }

    /// How many of this process's reporters are in each status at `now` (for `/metrics`).
    pub fn status_counts(
        &self,
        now: i64,
        silent_after_ms: i64,
    ) -> Vec<(model::reporter::ReporterStatus, usize)> {
        let mut counts: Vec<(model::reporter::ReporterStatus, usize)> = Vec::new();
        for entry in self.lock().entries.values() {
            let status = model::reporter::ReporterStatus::derive(
                now,
                false,
                &entry.facts,
                coarse_silence(silent_after_ms),
            );
            match counts.iter_mut().find(|(s, _)| *s == status) {
                Some((_, n)) => *n += 1,
                None => counts.push((status, 1)),
            }
        }
        counts
    }

    pub fn latest(&self, id: i64) -> Option<Facts> {
        self.lock().entries.get(&id).map(|e| e.facts.clone())
    }

    pub fn forget(&self, id: i64) {
        let mut inner = self.lock();
        inner.entries.remove(&id);
        inner.dirty.remove(&id);
    }

    /// The facts due to be written at `now_ms`: a changed status at once, anything else that
    /// changed once its last write is 30 s old; with `all`, whatever changed (at shutdown).
    pub fn take_due(&self, now_ms: i64, all: bool) -> Vec<(Lease, Facts)> {
        self.take(now_ms, all, |_| true)
    }

    /// Whatever of `ids` changed since it was written (before their leases are given up, so
    /// the next holder starts from it).
    fn take_of(&self, now_ms: i64, ids: &HashSet<i64>) -> Vec<(Lease, Facts)> {
        self.take(now_ms, true, |id| ids.contains(&id))
    }

    fn take(&self, now_ms: i64, all: bool, wanted: impl Fn(i64) -> bool) -> Vec<(Lease, Facts)> {
        let mut inner = self.lock();
        let BoardInner { entries, dirty } = &mut *inner;
        let mut due = Vec::new();
        let mut periodic = 0;
        dirty.retain(|id| {
            if !wanted(*id) {
                return true;
            }
            let Some(entry) = entries.get_mut(id) else {
                return false;
            };
            let now_due = all
                || entry.unannounced
                || entry.stored.as_ref().is_none_or(|(stored, at)| {
                    status_changed(stored, &entry.facts)
                        || (now_ms - at >= RESTORE_AFTER_MS && {
                            periodic += 1;
                            periodic <= RESTORE_AT_ONCE
                        })
                });
            if now_due {
                entry.stored = Some((entry.facts.clone(), now_ms));
                due.push((entry.lease, entry.facts.clone()));
            }
            !now_due
        });
        due
    }

    /// Writing `ids` failed: write them again next time.
    fn unstore(&self, ids: impl Iterator<Item = i64>) {
        let mut inner = self.lock();
        for id in ids {
            if let Some(entry) = inner.entries.get_mut(&id) {
                entry.stored = None;
                inner.dirty.insert(id);
            }
        }
    }
}

/// What every reporter task shares.
struct Shared {
    services: Services,
    clock: Arc<dyn Clock>,
    settings: Settings,
    http: Http,
    board: Arc<Board>,
    /// Until when (ms) this process may send for the reporters it holds: the last renewal of
    /// its leases, plus their time to live, less the margin. Past it another process may have
    /// taken them, so nothing is sent until the next renewal.
    sends_until: std::sync::atomic::AtomicI64,
}

impl Shared {
    fn may_send(&self, now_ms: i64) -> bool {
        now_ms < self.sends_until.load(std::sync::atomic::Ordering::Acquire)
    }

    /// A stored secret opened; empty when there is none or it does not open (the partner then
    /// refuses it, and the status says so).
    fn secret(&self, kind: SecretKind, serial: &str, stored: Option<&str>) -> String {
        stored
            .and_then(|s| super::open_secret(&self.services, kind, serial, s))
            .unwrap_or_default()
    }

    fn sink(&self, config: &ForwardConfig) -> Box<dyn Sink> {
        match (
            config.kind,
            &self.settings.charge_amps_url,
            &config.open_reporter,
        ) {
            (ReporterKind::ChargeAmps, Some(url), _) => Box::new(partner::ChargeAmps {
                http: self.http.clone(),
                base_url: url.trim_end_matches('/').to_string(),
                serial: config.serial.clone(),
                pin: self.secret(SecretKind::Pin, &config.serial, config.pin.as_deref()),
            }),
            (ReporterKind::OpenReporter, _, Some(target)) => Box::new(partner::OpenReporter {
                http: self.http.clone(),
                create_token_url: target.create_token_url.clone(),
                update_url: target.update_url.clone(),
                username: target.username.clone(),
                password: self.secret(
                    SecretKind::PartnerPassword,
                    &config.serial,
                    target.password.as_deref(),
                ),
            }),
            _ => Box::new(partner::Unconfigured),
        }
    }
}

struct Running {
    lease: Lease,
    stop: CancellationToken,
    handle: JoinHandle<()>,
}

/// Runs the forwarding until `stop`; then ends every reporter task, writes their facts and
/// gives up this process's leases so another may continue at once.
/// The facts are kept in the services' board, so a loop started again after a crash resumes
/// from them, and pages read them fresh.
pub async fn run(
    services: Services,
    settings: Settings,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let shared = Arc::new(Shared {
        http: Http::new(settings.partner_timeout, services.partner_allow.clone()),
        clock: services.clock.clone(),
        board: services.reporter_board.clone(),
        services,
        settings,
        sends_until: std::sync::atomic::AtomicI64::new(0),
    });
    let mut tasks: HashMap<i64, Running> = HashMap::new();
    let mut scan = tokio::time::interval(shared.settings.scan_every);
    scan.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut flush = tokio::time::interval(shared.settings.flush_every);
    flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut renewed_at = shared.clock.now_ms();
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            () = shared.services.reporter_changes.notified() => {
                // Changes come in bursts (a form saved, a bulk import): one scan once they settle.
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(CHANGES_SETTLE) => {}
                }
                rescan(&shared, &mut tasks, &mut renewed_at).await;
            }
            _ = scan.tick() => rescan(&shared, &mut tasks, &mut renewed_at).await,
            _ = flush.tick() => save(&shared, false).await,
        }
    }
    for running in tasks.values() {
        running.stop.cancel();
    }
    for (_, running) in tasks.drain() {
        let _ = running.handle.await;
    }
    save(&shared, true).await;
    if let Err(e) = shared
        .services
        .reporters
        .release_leases(&shared.settings.holder)
        .await
    {
        tracing::warn!(error = %e, "could not give up the reporters' leases");
    }
    Ok(())
}

async fn save(shared: &Shared, all: bool) {
    let due = shared.board.take_due(shared.clock.now_ms(), all);
    store(shared, due).await;
}

async fn store(shared: &Shared, due: Vec<(Lease, Facts)>) {
    if due.is_empty() {
        return;
    }
    match shared
        .services
        .reporters
        .save_facts(&shared.settings.holder, &due)
        .await
    {
        Ok(stored) => {
            for id in shared.board.announced(&stored) {
                shared
                    .services
                    .bus
                    .publish(crate::bus::Event::Reporter { id });
            }
        }
        Err(e) => {
            tracing::error!(error = %e, reporters = due.len(), "saving the reporters' state failed");
            shared
                .board
                .unstore(due.into_iter().map(|(lease, _)| lease.id));
        }
    }
}

/// Renews and takes leases, then makes the running tasks match them: new reporters start,
/// changed ones restart with their new settings, lost, deleted, paused or crashed ones stop.
/// Over its share (another process started), this process first stops the reporters it gives
/// up and writes their state, then lets go of their leases: nobody forwards a reporter twice.
async fn rescan(shared: &Arc<Shared>, tasks: &mut HashMap<i64, Running>, renewed_at: &mut i64) {
    let now = shared.clock.now_ms();
    let settings = &shared.settings;
    let repo = &shared.services.reporters;
    let plan = match repo.lease_census(&settings.holder, now).await {
        Ok(census) => {
            shared
                .board
                .leader
                .store(census.leader, std::sync::atomic::Ordering::Relaxed);
            super::leases::step(census, MAX_NEW_LEASES_PER_SCAN)
        }
        Err(e) => {
            tracing::warn!(error = %e, "counting the reporters' leases failed");
            super::leases::Step {
                take: 0,
                give_up: 0,
            }
        }
    };
    let mut release: Vec<i64> = Vec::new();
    if plan.give_up > 0 {
        // The newest reporters go: the oldest stay where they are.
        let mut held: Vec<i64> = tasks.keys().copied().collect();
        held.sort_unstable_by(|a, b| b.cmp(a));
        release = held.into_iter().take(plan.give_up as usize).collect();
        for id in &release {
            if let Some(running) = tasks.remove(id) {
                running.stop.cancel();
                let _ = running.handle.await;
            }
        }
        let ids: HashSet<i64> = release.iter().copied().collect();
        store(shared, shared.board.take_of(now, &ids)).await;
        for id in &release {
            shared.board.forget(*id);
        }
        tracing::info!(
            reporters = release.len(),
            "giving up reporters to another process"
        );
    }
    let held = match repo
        .claim_leases(
            &settings.holder,
            now,
            settings.lease_ttl_ms,
            plan.take,
            &release,
        )
        .await
    {
        Ok(held) => {
            *renewed_at = now;
            shared.sends_until.store(
                now + settings.lease_ttl_ms - settings.lease_margin_ms,
                std::sync::atomic::Ordering::Release,
            );
            held.into_iter()
                .map(|lease| (lease.id, lease))
                .collect::<HashMap<i64, Lease>>()
        }
        Err(e) => {
            tracing::error!(error = %e, "renewing the reporters' leases failed");
            // Another process may take them once they expire: stop before it does.
            if now - *renewed_at < settings.lease_ttl_ms - settings.lease_margin_ms {
                return;
            }
            HashMap::new()
        }
    };
    let stale: Vec<i64> = tasks
        .iter()
        .filter(|(id, r)| held.get(id) != Some(&r.lease) || r.handle.is_finished())
        .map(|(id, _)| *id)
        .collect();
    for id in stale {
        if let Some(running) = tasks.remove(&id) {
            running.stop.cancel();
            if let Err(e) = running.handle.await
                && e.is_panic()
            {
                tracing::error!(reporter = id, "reporter task panicked; starting it again");
            }
            if !held.contains_key(&id) {
                shared.board.forget(id);
            }
        }
    }
    shared.board.set_held(held.keys().copied());
    let to_start: Vec<i64> = held
        .keys()
        .filter(|id| !tasks.contains_key(id))
        .copied()
        .collect();
    if to_start.is_empty() {
        return;
    }
    // Reporters taken over from another process: their adaptive charging is planned here
    // before the first update says whether the car may charge.
    if shared.services.bus.shared() {
        plan_taken_over(&shared.services, &to_start).await;
    }
    let configs = match repo.forward_configs(&to_start).await {
        Ok(configs) => configs,
        Err(e) => {
            tracing::error!(error = %e, "loading reporters failed");
            return;
        }
    };
    for config in configs {
        let Some(lease) = held.get(&config.id).copied() else {
            continue;
        };
        // The board's facts are this process's latest, unless the reporter was away (another
        // process forwarded it meanwhile): then the database's are newer.
        let facts = shared
            .board
            .latest(config.id)
            .filter(|_| tasks_lease_kept(shared, lease))
            .unwrap_or_else(|| config.facts.clone());
        let stop = CancellationToken::new();
        let id = config.id;
        let handle = tokio::spawn(forward(shared.clone(), config, lease, facts, stop.clone()));
        tasks.insert(
            id,
            Running {
                lease,
                stop,
                handle,
            },
        );
    }
}

/// Plans the adaptive charging of `ids` in this process (they were forwarded elsewhere).
async fn plan_taken_over(services: &Services, ids: &[i64]) {
    let ids: HashSet<i64> = ids.iter().copied().collect();
    match services.charging.active_chargings().await {
        Ok(records) => {
            let now = services.charging_clock.now_ms();
            for record in records.into_iter().filter(|r| ids.contains(&r.reporter_id)) {
                let id = record.reporter_id;
                if let Err(e) = crate::charging::refresh(services, record, now).await {
                    tracing::warn!(error = %e, reporter = id, "planning adaptive charging failed");
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "reading adaptive charging failed"),
    }
}

/// Whether the board's entry for `lease`'s reporter comes from this same lease.
fn tasks_lease_kept(shared: &Shared, lease: Lease) -> bool {
    shared
        .board
        .lock()
        .entries
        .get(&lease.id)
        .is_some_and(|e| e.lease.generation == lease.generation)
}

/// The newest reading in the database: at start, after falling behind the stream, and before a
/// heartbeat (a reading another process stored never passes this process's stream).
async fn catch_up(shared: &Shared, monitor_id: i64, pacer: &mut Pacer) {
    match shared.services.monitors.latest_point(monitor_id).await {
        Ok(Some(point)) => pacer.offer(point),
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(error = %e, monitor = monitor_id, "reading the newest reading failed")
        }
    }
}

/// The forwarder does not know its monitors' intervals: for its logs and counters a meter is
/// silent only once it is offline.
fn coarse_silence(silent_after_ms: i64) -> model::monitor::Silence {
    model::monitor::Silence {
        interval_ms: silent_after_ms,
        offline_after_ms: silent_after_ms,
    }
}

/// One log line per status change of a reporter: which, where, from → to, and why (never a
/// secret: the PIN and password are not in the facts).
fn log_status_change(
    config: &ForwardConfig,
    before: &Facts,
    after: &Facts,
    now: i64,
    silent_after_ms: i64,
) {
    use model::reporter::ReporterStatus;
    let from = ReporterStatus::derive(now, false, before, coarse_silence(silent_after_ms));
    let to = ReporterStatus::derive(now, false, after, coarse_silence(silent_after_ms));
    if from == to {
        return;
    }
    let cause = after
        .problem
        .as_ref()
        .filter(|_| after.failures > 0)
        .map(|p| p.code());
    let (reporter, site, serial) = (config.id, config.site_id, config.serial.as_str());
    match to {
        ReporterStatus::Active | ReporterStatus::Connecting => {
            tracing::info!(reporter, site, serial, from = ?from, to = ?to, "reporter status changed")
        }
        _ => tracing::warn!(
            reporter,
            site,
            serial,
            from = ?from,
            to = ?to,
            cause = cause.as_deref().unwrap_or(if after.offline { "monitor silent" } else { "" }),
            "reporter status changed"
        ),
    }
}

/// The peak guard of one reporter's site (issue 22): the level of the hour under way, worked out
/// again when the hour changes or the household changes the guard (saving it touches every
/// forwarder: [`Guard::forget`]), and per update the headroom that keeps the hour under it.
#[derive(Default)]
struct Guard {
    /// The site's grid settings as last read; `read` is false until then and after a change.
    read: bool,
    grid: model::charging::SiteGrid,
    time_zone: String,
    /// The local hour the level is for (ms UTC) and the level (kW); `None`: no limit.
    hour_ms: i64,
    level_kw: Option<f64>,
}

impl Guard {
    /// The guard's headroom per phase (A) for an update about `out` sent at `now_ms`, `None`
    /// when it does not limit (no guard, an hour the operator does not count, a silent meter:
    /// the fallback current rules then). A database that fails leaves the last level in force.
    async fn headroom(
        &mut self,
        services: &Services,
        config: &ForwardConfig,
        now_ms: i64,
        out: &payload::Outgoing,
    ) -> Option<f64> {
        let payload::Outgoing::Reading(point) = out else {
            return None;
        };
        if let Err(e) = self.refresh(services, config, now_ms).await {
            tracing::warn!(error = %e, reporter = config.id, "reading the peak guard's state failed");
        }
        let level = self.level_kw?;
        let so_far = crate::charging::hour_means(
            services,
            config.monitor_id,
            self.hour_ms,
            self.hour_ms + 1,
        )
        .await
        .ok()
        .and_then(|hours| hours.first().map(|h| h.kw))
        .unwrap_or(0.0);
        let elapsed_s = (now_ms - self.hour_ms) as f64 / 1000.0;
        let allowed = crate::capacity::guard_allowed_kw(level, so_far, elapsed_s);
        Some(crate::capacity::guard_headroom_a(allowed, point.i))
    }

    /// The site's settings may have changed: read them again before the next update.
    fn forget(&mut self) {
        self.read = false;
    }

    async fn refresh(
        &mut self,
        services: &Services,
        config: &ForwardConfig,
        now_ms: i64,
    ) -> Result<(), crate::db::StoreError> {
        use crate::capacity;
        let now = jiff::Timestamp::from_millisecond(now_ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        if self.time_zone.is_empty()
            && let Some(record) = services.monitors.monitor(config.monitor_id).await?
        {
            self.time_zone = record.time_zone;
        }
        let tz = jiff::tz::TimeZone::get(&self.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        let hour_ms = capacity::local_hour_start(now, &tz).as_millisecond();
        if self.read && hour_ms == self.hour_ms {
            return Ok(());
        }
        let grid = services.charging.site_grid(config.site_id).await?;
        self.read = true;
        if grid == self.grid && hour_ms == self.hour_ms {
            return Ok(());
        }
        self.grid = grid;
        self.hour_ms = hour_ms;
        self.level_kw = None;
        let model::charging::SiteGrid {
            operator: Some(operator),
            tariff,
            guard,
        } = &self.grid
        else {
            return Ok(());
        };
        if *guard == model::charging::PeakGuard::Off {
            return Ok(());
        }
        let local = now.to_zoned(tz.clone());
        let month = capacity::Month {
            year: local.year(),
            month: local.month(),
        };
        let Ok((from, _)) = month.bounds(&tz) else {
            return Ok(());
        };
        let hours = crate::charging::hour_means(
            services,
            config.monitor_id,
            from.as_millisecond(),
            hour_ms,
        )
        .await?;
        let hour = jiff::Timestamp::from_millisecond(hour_ms).unwrap_or(now);
        self.level_kw = capacity::guard_level(
            *guard,
            operator,
            tariff.as_deref(),
            &self.time_zone,
            config.main_fuse_a,
            &hours,
            hour,
        )
        .unwrap_or_else(|error| {
            tracing::warn!(reporter = config.id, %error, "the peak guard has no level this hour");
            None
        });
        Ok(())
    }
}

/// One reporter's loop, until `stop`.
async fn forward(
    shared: Arc<Shared>,
    config: ForwardConfig,
    lease: Lease,
    facts: Facts,
    stop: CancellationToken,
) {
    let sink = shared.sink(&config);
    let sender = Sender {
        reporter_id: config.id,
        serial: config.serial.clone(),
        monitor_id: config.monitor_id,
        phases: config.phases,
        main_fuse_a: config.main_fuse_a,
        permission: (config.kind == ReporterKind::ChargeAmps).then_some(Permission::Allowed),
        guard_a: None,
    };
    let mut guard = Guard::default();
    let hub = &shared.services.hub;
    let mut readings = hub.subscribe(config.monitor_id);
    let mut pacer = Pacer::new(shared.settings.timing, facts);
    let mut token = None;
    catch_up(&shared, config.monitor_id, &mut pacer).await;
    let charging_clock = shared.services.charging_clock.clone();
    let board = shared.services.charging_board.clone();
    let mut controls_changed = board.watch();
    let mut decided = board.decide(config.id, charging_clock.now_ms()).0.allows();
    loop {
        // Adaptive charging's next change is news for the partner, reading or not.
        let (decision, changes_at) = board.decide(config.id, charging_clock.now_ms());
        if decision.allows() != decided {
            decided = decision.allows();
            pacer.nudge();
        }
        let until_change = changes_at.map(|t| (t - charging_clock.now_ms()).max(100));
        let wait = pacer
            .due_at()
            .saturating_sub(shared.clock.now_ms())
            .max(0)
            .min(until_change.unwrap_or(i64::MAX))
            // A plan or schedule changed elsewhere: look again at least every 10 s.
            .min(10_000);
        tokio::select! {
            biased;
            () = stop.cancelled() => return,
            // Adaptive charging changed (a new plan, a moved clock, a site's peak guard):
            // decide again at once.
            Ok(()) = controls_changed.changed() => guard.forget(),
            received = readings.recv() => match received {
                Ok(batch) => batch.points.iter().for_each(|p| pacer.offer(*p)),
                Err(RecvError::Lagged(_)) => catch_up(&shared, config.monitor_id, &mut pacer).await,
                Err(RecvError::Closed) => readings = hub.subscribe(config.monitor_id),
            },
            () = tokio::time::sleep(Duration::from_millis(wait as u64)) => {
                if shared.clock.now_ms() < pacer.due_at() {
                    continue; // woken to look at adaptive charging, not yet due to send
                }
                if !pacer.has_new() {
                    catch_up(&shared, config.monitor_id, &mut pacer).await;
                }
                let now = shared.clock.now_ms();
                if !shared.may_send(now) {
                    // The lease may have passed to another process: wait for the renewal.
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(Duration::from_millis(200)) => continue,
                    }
                }
                let (decision, _) = board.decide(config.id, charging_clock.now_ms());
                decided = decision.allows();
                let out = pacer.next(now);
                let sender = Sender {
                    permission: sender.permission.map(|_| {
                        if decided { Permission::Allowed } else { Permission::Paused }
                    }),
                    guard_a: guard.headroom(&shared.services, &config, now, &out).await,
                    ..sender.clone()
                };
                let update = payload::update(&sender, &out, now);
                let result = tokio::select! {
                    () = stop.cancelled() => return,
                    result = partner::deliver(&*sink, &mut token, &update) => result,
                };
                let before = pacer.facts().clone();
                let now = shared.clock.now_ms();
                pacer.outcome(now, &out, result, rand::random::<f64>());
                log_status_change(&config, &before, pacer.facts(), now, shared.settings.timing.silent_after_ms);
                shared.board.put(lease, config.site_id, pacer.facts());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::reporter::Problem;
    use rstest::rstest;

    fn facts(accepted: Option<i64>, failed: Option<i64>, problem: Option<Problem>) -> Facts {
        Facts {
            accepted_at: accepted,
            failed_at: failed,
            problem,
            ..Facts::default()
        }
    }

    #[rstest]
    #[case::same(facts(Some(1_000), None, None), facts(Some(1_000), None, None), false)]
    #[case::accepted_a_second_later(
        facts(Some(1_000), None, None),
        facts(Some(2_000), None, None),
        false
    )]
    #[case::accepted_ten_seconds_later(
        facts(Some(1_000), None, None),
        facts(Some(11_000), None, None),
        true
    )]
    #[case::first_accepted(facts(None, None, None), facts(Some(1_000), None, None), true)]
    #[case::starts_failing(
        facts(Some(1_000), None, None),
        facts(Some(1_000), Some(2_000), Some(Problem::Unreachable)),
        true
    )]
    #[case::fails_differently(
        facts(None, Some(1_000), Some(Problem::Unreachable)),
        facts(None, Some(2_000), Some(Problem::Refused)),
        true
    )]
    #[case::fails_the_same_again(
        facts(None, Some(1_000), Some(Problem::Unreachable)),
        facts(None, Some(3_000), Some(Problem::Unreachable)),
        false
    )]
    #[case::recovers(
        facts(Some(1_000), Some(2_000), Some(Problem::Unreachable)),
        facts(Some(3_000), Some(2_000), Some(Problem::Unreachable)),
        true
    )]
    fn pages_hear_of_what_they_would_show(
        #[case] old: Facts,
        #[case] new: Facts,
        #[case] want: bool,
    ) {
        assert_eq!(worth_publishing(&old, &new), want);
    }
}
