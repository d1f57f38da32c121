//! The server side of Ampwise that is not HTTP: storage, accounts, sessions' users, and the one
//! place that decides who may see or change a site.
//!
//! Server functions and HTTP handlers read a [`Services`] from their context and call the plain
//! functions here, so tests can call the same functions without a browser or a router.

pub mod access;
pub mod access_changes;
pub mod accounts;
pub mod bus;
pub mod capacity;
pub mod charging;
pub mod clock;
pub mod db;
mod error;
pub mod ingest;
pub mod licences;
pub mod limiter;
pub mod live;
pub mod monitors;
pub mod password;
pub mod planner;
pub mod prices;
pub mod readings;
pub mod reporters;
pub mod rollup;
pub mod schedule;
pub mod secrets;
pub mod sites;
pub mod telegram;
pub mod testing;

use std::sync::Arc;

pub use db::{ChargingRepo, Database, DeviceRecord, MonitorRepo, Repo, ReporterRepo, StoreError};
pub use error::Error;

/// Everything a request handler needs, cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub repo: Arc<dyn Repo>,
    pub login_limiter: Arc<limiter::LoginLimiter>,
    /// Sign-ups per client address.
    pub sign_up_limit: Arc<limiter::SharedLimit>,
    /// Licence redemptions per account.
    pub redeem_limit: Arc<limiter::SharedLimit>,
    /// Where the limits above count: shared by the processes on one PostgreSQL database.
    pub rate_levels: Arc<dyn limiter::Levels>,
    /// Ingest requests per monitor.
    pub device_limit: Arc<limiter::Limit<i64>>,
    /// Verifies licence codes; without it, redeeming answers [`Error::Unavailable`].
    pub licence_key: Option<licences::LicenceKey>,
    pub monitors: Arc<dyn MonitorRepo>,
    /// The one writer of readings (its task: [`ingest::Ingestor::run`]).
    pub ingest: ingest::Ingestor,
    /// New readings to the live streams.
    pub hub: Arc<live::Hub>,
    /// Monitors' device records for the ingest API.
    pub devices: Arc<monitors::DeviceCache>,
    /// How long raw readings are kept (days); rollups are kept for years.
    pub raw_retention_days: i64,
    pub reporters: Arc<dyn ReporterRepo>,
    /// Reporters' status changes, per site, to open pages.
    pub reporter_events: Arc<live::StatusHub>,
    /// The forwarders' latest facts in this process (the database has them a second later).
    pub reporter_board: Arc<reporters::forwarder::Board>,
    /// Wakes the forwarder when a reporter is added, changed, paused or deleted.
    pub reporter_changes: Arc<tokio::sync::Notify>,
    /// A monitor silent this long is reported offline to partners (ms).
    pub silent_after_ms: i64,
    pub clock: Arc<dyn clock::Clock>,
    /// Prices, site price components, adaptive-charging settings and plans.
    pub charging: Arc<dyn ChargingRepo>,
    /// Every reporter's adaptive-charging controls, for the forwarder.
    pub charging_board: Arc<charging::Board>,
    /// The wall clock adaptive charging decides by (schedules, plans, "today's" prices); a test
    /// can move it to walk through a night.
    pub charging_clock: Arc<dyn clock::Clock>,
    /// Wakes the planner when prices or a site's price components change.
    pub charging_changes: Arc<tokio::sync::Notify>,
    /// Where spot prices come from; none: no fetching (tests).
    pub price_feed: Option<Arc<charging::PriceFeed>>,
    /// How long a session lasts at most, and how often its use is recorded.
    pub session_rules: accounts::SessionRules,
    /// The `host:port`s a user's partner URL may name although they are private or plain http
    /// (`AMPWISE_PARTNER_ALLOW`); everything else must be a public https address.
    pub partner_allow: Arc<reporters::partner::PartnerAllow>,
    /// Reporters one site may have (`AMPWISE_REPORTERS_PER_SITE`): each posts every few
    /// seconds, so a site's count bounds what one household can make the server send.
    pub reporters_per_site: usize,
    /// Seals reporter PINs and partner passwords at rest.
    pub secrets: Arc<secrets::Secrets>,
    /// Changes that can take access away (an installer revoked, a site or monitor deleted, a
    /// sign-out): open live streams they concern look again.
    pub access_changes: Arc<access_changes::AccessChanges>,
    /// What the other server processes must hear (nobody, on SQLite).
    pub bus: Arc<dyn bus::Bus>,
}

/// Raw readings are kept this many days unless configured otherwise.
pub const DEFAULT_RAW_RETENTION_DAYS: i64 = 7;

impl Services {
    /// The readings' writer does not run yet: the server runs it under its supervisor
    /// (tools and tests: `services.ingest.spawn_detached()`).
    pub fn new(db: &Database) -> Self {
        let monitors = db.monitor_repo();
        let hub = Arc::new(live::Hub::default());
        let reporter_events = Arc::new(live::StatusHub::default());
        let bus = bus::for_database(db);
        let reporter_board = Arc::new(reporters::forwarder::Board::new(reporter_events.clone()));
        reporter_board.announce(bus.shared());
        let levels = limiter::levels_for(db);
        Self {
            repo: db.repo(),
            login_limiter: Arc::new(limiter::LoginLimiter::new(levels.clone())),
            sign_up_limit: Arc::new(limiter::sign_up_limit(
                levels.clone(),
                limiter::SIGN_UPS_PER_HOUR,
            )),
            redeem_limit: Arc::new(limiter::redeem_limit(
                levels.clone(),
                limiter::REDEEMS_PER_HOUR,
            )),
            rate_levels: levels,
            device_limit: Arc::new(limiter::device_limit(limiter::DEVICE_REQUESTS_PER_SECOND)),
            licence_key: None,
            ingest: ingest::Ingestor::new(monitors.clone(), hub.clone(), bus.clone()),
            devices: Arc::new(monitors::DeviceCache::default()),
            monitors,
            hub,
            raw_retention_days: DEFAULT_RAW_RETENTION_DAYS,
            reporters: db.reporter_repo(),
            reporter_board,
            reporter_events,
            reporter_changes: Arc::new(tokio::sync::Notify::new()),
            silent_after_ms: reporters::pacer::Timing::default().silent_after_ms,
            clock: Arc::new(clock::SystemClock),
            charging: db.charging_repo(),
            charging_board: Arc::new(charging::Board::default()),
            charging_clock: Arc::new(clock::SystemClock),
            charging_changes: Arc::new(tokio::sync::Notify::new()),
            price_feed: None,
            session_rules: accounts::SessionRules::default(),
            partner_allow: Arc::default(),
            secrets: Arc::new(secrets::Secrets::ephemeral()),
            reporters_per_site: reporters::REPORTERS_PER_SITE,
            access_changes: Arc::default(),
            bus,
        }
    }

    /// The operator's key for secrets at rest (`AMPWISE_SECRETS_KEY`).
    pub fn with_secrets(mut self, secrets: secrets::Secrets) -> Self {
        self.secrets = Arc::new(secrets);
        self
    }

    pub fn with_reporters_per_site(mut self, n: usize) -> Self {
        self.reporters_per_site = n;
        self
    }

    /// Partner `host:port`s allowed although private or plain http.
    pub fn with_partner_allow(mut self, allow: reporters::partner::PartnerAllow) -> Self {
        self.partner_allow = Arc::new(allow);
        self
    }

    /// Tells open live streams, here and in every other process, to check their viewer's
    /// access again.
    pub fn access_changed(&self) {
        self.access_changes.everyone();
        self.bus.publish(bus::Event::Access { account: None });
    }

    /// Tells the open live streams of `account_id`, here and in every other process, to check
    /// their access again (a sign-out, an installer revoked).
    pub fn account_access_changed(&self, account_id: i64) {
        self.access_changes.account(account_id);
        self.bus.publish(bus::Event::Access {
            account: Some(account_id),
        });
    }

    /// A reporter was added, changed, paused or deleted: the forwarders (in every process)
    /// look at their leases at once; with `shown`, pages elsewhere show the reporter again.
    pub fn reporters_changed(&self, shown: Option<i64>) {
        self.reporter_changes.notify_one();
        self.bus.publish(bus::Event::ReportersChanged);
        if let Some(id) = shown {
            self.bus.publish(bus::Event::Reporter { id });
        }
    }

    /// A monitor's device record changed (`None`: any monitor's): every process reads it again.
    pub fn device_changed(&self, monitor_id: Option<i64>) {
        match monitor_id {
            Some(id) => self.devices.forget(id),
            None => self.devices.clear(),
        }
        self.bus.publish(bus::Event::Device { monitor_id });
    }

    /// Ingest requests per monitor, per second (a minute's worth at once).
    pub fn with_device_limit(mut self, requests_per_second: u32) -> Self {
        self.device_limit = Arc::new(limiter::device_limit(requests_per_second));
        self
    }

    /// Sign-ups per client address and licence redemptions per account, per hour.
    pub fn with_hourly_limits(mut self, sign_ups: u32, redeems: u32) -> Self {
        self.sign_up_limit = Arc::new(limiter::sign_up_limit(self.rate_levels.clone(), sign_ups));
        self.redeem_limit = Arc::new(limiter::redeem_limit(self.rate_levels.clone(), redeems));
        self
    }

    pub fn with_session_rules(mut self, rules: accounts::SessionRules) -> Self {
        self.session_rules = rules;
        self
    }

    pub fn with_price_feed(mut self, feed: Option<charging::PriceFeed>) -> Self {
        self.price_feed = feed.map(Arc::new);
        self
    }

    /// Adaptive charging decides by `clock` (a test's, to move through a night).
    pub fn with_charging_clock(mut self, clock: Arc<dyn clock::Clock>) -> Self {
        self.charging_clock = clock;
        self
    }

    pub fn with_silent_after_ms(mut self, ms: i64) -> Self {
        self.silent_after_ms = ms;
        self
    }

    pub fn with_raw_retention_days(mut self, days: i64) -> Self {
        self.raw_retention_days = days;
        self
    }

    pub fn with_licence_key(mut self, key: Option<licences::LicenceKey>) -> Self {
        self.licence_key = key;
        self
    }
}
