//! What one server process must tell the others: readings committed (live graphs and
//! forwarders elsewhere), a reporter's status or settings changed, adaptive charging or prices
//! changed, access taken away, a device token rotated. Events carry ids only; a process that
//! hears one reads the rows from the database.
//!
//! On SQLite there is one process, and the in-process hubs in [`Services`] already deliver
//! everything: [`Local`] tells nobody. On PostgreSQL, [`Postgres`] sends the events with
//! `NOTIFY` (coalesced, each payload under PostgreSQL's 8,000-byte cap) and listens with
//! `LISTEN` on a connection of its own; [`run`] applies what other processes send. A listener
//! that lost its connection cannot know what it missed, so it treats everything as changed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::Services;

/// One thing another process should know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A monitor's readings numbered `first..=last` (their `seq`) were committed.
    Readings {
        monitor_id: i64,
        first: i64,
        last: i64,
    },
    /// A reporter's stored status, or whether it is paused, changed.
    Reporter { id: i64 },
    /// Reporters were added, changed, paused or deleted: forwarders look at their leases.
    ReportersChanged,
    /// Access may have been taken away from an account (`None`: from anyone): open live
    /// streams look at their viewers again.
    Access { account: Option<i64> },
    /// A monitor's device token changed, or the monitor or its site went (`None`: any).
    Device { monitor_id: Option<i64> },
    /// A reporter's adaptive charging changed.
    Charging { reporter_id: i64 },
    /// Spot prices or a site's price components changed: plans are made again.
    Prices,
}

/// Sends events to the other processes.
#[async_trait::async_trait]
pub trait Bus: Send + Sync + 'static {
    fn publish(&self, event: Event);
    /// Whether other processes may be listening (PostgreSQL), so work worth telling them about
    /// (a status shown on a page) is written at once.
    fn shared(&self) -> bool;
    /// Sends this process's events and applies the others' until `stop` (a supervised task).
    async fn run(
        &self,
        services: Services,
        stop: tokio_util::sync::CancellationToken,
    ) -> anyhow::Result<()>;
}

/// One process: nobody else to tell.
pub struct Local;

#[async_trait::async_trait]
impl Bus for Local {
    fn publish(&self, _event: Event) {}

    fn shared(&self) -> bool {
        false
    }

    async fn run(
        &self,
        _services: Services,
        stop: tokio_util::sync::CancellationToken,
    ) -> anyhow::Result<()> {
        stop.cancelled().await;
        Ok(())
    }
}

/// The channel on which the server processes talk.
pub const CHANNEL: &str = "ampwise";
/// A `NOTIFY` payload must stay under 8,000 bytes.
const PAYLOAD_MAX: usize = 7_900;
/// Events sent together at most (more wait for the next round).
const EVENTS_PER_ROUND: usize = 10_000;

/// Events to many processes over PostgreSQL's `LISTEN`/`NOTIFY`.
pub struct Postgres {
    pool: sqlx::PgPool,
    /// This process's name in payloads, so it ignores its own.
    origin: String,
    queue: mpsc::UnboundedSender<Event>,
    pending: tokio::sync::Mutex<mpsc::UnboundedReceiver<Event>>,
}

impl Postgres {
    pub fn new(pool: sqlx::PgPool) -> Self {
        let (queue, pending) = mpsc::unbounded_channel();
        Self {
            pool,
            origin: format!("{:016x}", rand::random::<u64>()),
            queue,
            pending: tokio::sync::Mutex::new(pending),
        }
    }

    /// Sends what was published, coalesced, until `stop`.
    async fn send(&self, stop: &tokio_util::sync::CancellationToken) -> anyhow::Result<()> {
        let mut pending = self.pending.lock().await;
        let mut round = Vec::new();
        loop {
            tokio::select! {
                () = stop.cancelled() => return Ok(()),
                received = pending.recv_many(&mut round, EVENTS_PER_ROUND) => {
                    if received == 0 {
                        return Ok(());
                    }
                }
            }
            for payload in encode(&self.origin, &round) {
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(CHANNEL)
                    .bind(&payload)
                    .execute(&self.pool)
                    .await?;
            }
            round.clear();
        }
    }
}

#[async_trait::async_trait]
impl Bus for Postgres {
    fn publish(&self, event: Event) {
        let _ = self.queue.send(event);
    }

    fn shared(&self) -> bool {
        true
    }

    async fn run(
        &self,
        services: Services,
        stop: tokio_util::sync::CancellationToken,
    ) -> anyhow::Result<()> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
        listener.listen(CHANNEL).await?;
        // Whatever happened before this listener listened is unknown.
        everything_changed(&services);
        let sending = self.send(&stop);
        tokio::pin!(sending);
        // Heard events are applied by a task of their own, which takes everything heard while it
        // was busy in one go: under load one query reads many monitors' readings, and listening
        // never waits for the database.
        let (heard_tx, mut heard_rx) = mpsc::unbounded_channel::<Event>();
        let applying = async {
            let mut round = Vec::new();
            while heard_rx.recv_many(&mut round, EVENTS_PER_ROUND).await > 0 {
                apply(&services, &round).await;
                round.clear();
            }
        };
        tokio::pin!(applying);
        loop {
            tokio::select! {
                () = stop.cancelled() => return Ok(()),
                sent = &mut sending => return sent,
                () = &mut applying => return Ok(()),
                heard = listener.try_recv() => match heard? {
                    Some(notification) => {
                        if let Some((origin, events)) = decode(notification.payload())
                            && origin != self.origin
                        {
                            for event in events {
                                let _ = heard_tx.send(event);
                            }
                        }
                    }
                    // The connection dropped and came back: notifications may have been missed.
                    None => {
                        tracing::warn!("the database's notifications were interrupted; looking at everything again");
                        everything_changed(&services);
                    }
                },
            }
        }
    }
}

/// The bus for `db`.
pub fn for_database(db: &crate::Database) -> Arc<dyn Bus> {
    match db {
        crate::Database::Sqlite(_) => Arc::new(Local),
        crate::Database::Postgres(repo) => Arc::new(Postgres::new(repo.pool().clone())),
    }
}

/// After notifications may have been missed: every cache and watcher looks again.
fn everything_changed(services: &Services) {
    services.devices.clear();
    services.access_changes.everyone();
    services.reporter_changes.notify_one();
    services.charging_changes.notify_one();
}

/// Applies other processes' events in this one.
async fn apply(services: &Services, events: &[Event]) {
    let mut reporters = BTreeSet::new();
    let mut charging_of = BTreeSet::new();
    let mut written: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for event in events {
        match *event {
            Event::Readings {
                monitor_id,
                first,
                last,
            } => {
                let range = written.entry(monitor_id).or_insert((first, last));
                range.0 = range.0.min(first);
                range.1 = range.1.max(last);
            }
            Event::Reporter { id } => {
                reporters.insert(id);
            }
            Event::ReportersChanged => services.reporter_changes.notify_one(),
            Event::Access { account: None } => services.access_changes.everyone(),
            Event::Access { account: Some(id) } => services.access_changes.account(id),
            Event::Device {
                monitor_id: Some(id),
            } => services.devices.forget(id),
            Event::Device { monitor_id: None } => services.devices.clear(),
            Event::Charging { reporter_id } => {
                charging_of.insert(reporter_id);
            }
            Event::Prices => {
                services.charging_changes.notify_one();
                // A site's grid operator or peak guard may have changed: forwarders look again.
                services.charging_board.touch();
            }
        }
    }
    readings(services, &written).await;
    for reporter_id in charging_of {
        charging(services, reporter_id).await;
    }
    if !reporters.is_empty() {
        let reporters: Vec<i64> = reporters.into_iter().collect();
        match services.reporters.stored_facts(&reporters).await {
            Ok(stored) => {
                for s in stored {
                    services.reporter_events.publish_with(s.site_id, || {
                        Some(Arc::new(model::reporter::ReporterLive {
                            id: s.id,
                            facts: s.facts,
                            paused: s.paused,
                        }))
                    });
                }
            }
            Err(e) => tracing::warn!(error = %e, "reading reporters' statuses failed"),
        }
    }
}

/// Monitors whose readings a query reads at most.
const MONITORS_PER_QUERY: usize = 500;

/// Readings other processes committed (`monitor → (first, last)` seq), to this process's live
/// viewers and forwarders: read in one query per [`MONITORS_PER_QUERY`] monitors, and only for
/// monitors someone here listens to.
async fn readings(services: &Services, written: &BTreeMap<i64, (i64, i64)>) {
    let ranges: Vec<crate::db::SeqRange> = written
        .iter()
        .filter(|(monitor_id, _)| services.hub.listened(**monitor_id))
        .map(|(&monitor_id, &(first, last))| crate::db::SeqRange {
            monitor_id,
            after_seq: first - 1,
            upto_seq: last,
        })
        .collect();
    for chunk in ranges.chunks(MONITORS_PER_QUERY) {
        let now = services.clock.now_ms();
        let since = now - model::monitor::LIVE_WINDOW_MS;
        match services
            .monitors
            .live_points_of(chunk, since, crate::live::BATCH_MAX as i64)
            .await
        {
            Ok(points) => {
                for same in points.chunk_by(|a, b| a.0 == b.0) {
                    let monitor_id = same[0].0;
                    let points: Vec<_> = same.iter().map(|(_, p)| *p).collect();
                    services.hub.publish(monitor_id, &points, now);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, monitors = chunk.len(), "reading new readings failed")
            }
        }
    }
}

/// A reporter's adaptive charging changed elsewhere: planned here if this process forwards it.
async fn charging(services: &Services, reporter_id: i64) {
    if !services.reporter_board.holds(reporter_id) {
        return;
    }
    match services.charging.charging(reporter_id).await {
        Ok(Some(record)) => {
            let now = services.charging_clock.now_ms();
            if let Err(e) = crate::charging::refresh(services, record, now).await {
                tracing::warn!(error = %e, reporter = reporter_id, "planning adaptive charging failed");
            }
        }
        Ok(None) => services.charging_board.set(reporter_id, None),
        Err(e) => {
            tracing::warn!(error = %e, reporter = reporter_id, "reading adaptive charging failed")
        }
    }
}

/// Events as `NOTIFY` payloads: `ORIGIN EVENT,EVENT,…`, each under [`PAYLOAD_MAX`] bytes.
/// The same event twice is sent once; a monitor's readings are sent as one range.
pub fn encode(origin: &str, events: &[Event]) -> Vec<String> {
    let mut ranges: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    let mut others: BTreeSet<String> = BTreeSet::new();
    for event in events {
        match *event {
            Event::Readings {
                monitor_id,
                first,
                last,
            } => {
                let range = ranges.entry(monitor_id).or_insert((first, last));
                *range = (range.0.min(first), range.1.max(last));
            }
            Event::Reporter { id } => {
                others.insert(format!("p{id}"));
            }
            Event::ReportersChanged => {
                others.insert("R".into());
            }
            Event::Access { account: None } => {
                others.insert("A".into());
            }
            Event::Access { account: Some(id) } => {
                others.insert(format!("a{id}"));
            }
            Event::Device {
                monitor_id: Some(id),
            } => {
                others.insert(format!("d{id}"));
            }
            Event::Device { monitor_id: None } => {
                others.insert("D".into());
            }
            Event::Charging { reporter_id } => {
                others.insert(format!("c{reporter_id}"));
            }
            Event::Prices => {
                others.insert("$".into());
            }
        }
    }
    let tokens = ranges
        .into_iter()
        .map(|(m, (a, b))| format!("r{m}:{a}-{b}"))
        .chain(others);
    let mut payloads = Vec::new();
    let mut current = String::new();
    for token in tokens {
        if !current.is_empty() && current.len() + 1 + token.len() > PAYLOAD_MAX {
            payloads.push(std::mem::take(&mut current));
        }
        if current.is_empty() {
            current.push_str(origin);
            current.push(' ');
        } else {
            current.push(',');
        }
        current.push_str(&token);
    }
    if !current.is_empty() {
        payloads.push(current);
    }
    payloads
}

/// A payload's origin and events; `None` if it is not one of ours. Tokens that do not parse
/// are skipped (a newer process may send kinds this one does not know).
pub fn decode(payload: &str) -> Option<(&str, Vec<Event>)> {
    let (origin, body) = payload.split_once(' ')?;
    let events = body
        .split(',')
        .filter_map(|token| {
            let (kind, rest) = token.split_at_checked(1)?;
            let id = || rest.parse::<i64>().ok();
            Some(match kind {
                "r" => {
                    let (m, range) = rest.split_once(':')?;
                    let (a, b) = range.split_once('-')?;
                    Event::Readings {
                        monitor_id: m.parse().ok()?,
                        first: a.parse().ok()?,
                        last: b.parse().ok()?,
                    }
                }
                "p" => Event::Reporter { id: id()? },
                "R" => Event::ReportersChanged,
                "A" => Event::Access { account: None },
                "a" => Event::Access {
                    account: Some(id()?),
                },
                "d" => Event::Device {
                    monitor_id: Some(id()?),
                },
                "D" => Event::Device { monitor_id: None },
                "c" => Event::Charging { reporter_id: id()? },
                "$" => Event::Prices,
                _ => return None,
            })
        })
        .collect();
    Some((origin, events))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::readings(Event::Readings { monitor_id: 7, first: 100, last: 104 })]
    #[case::reporter(Event::Reporter { id: 12 })]
    #[case::reporters_changed(Event::ReportersChanged)]
    #[case::access(Event::Access { account: None })]
    #[case::access_of_one(Event::Access { account: Some(4) })]
    #[case::one_device(Event::Device { monitor_id: Some(3) })]
    #[case::every_device(Event::Device { monitor_id: None })]
    #[case::charging(Event::Charging { reporter_id: 9 })]
    #[case::prices(Event::Prices)]
    fn every_event_goes_there_and_back(#[case] event: Event) {
        let payloads = encode("abc", &[event]);
        assert_eq!(payloads.len(), 1);
        assert_eq!(decode(&payloads[0]), Some(("abc", vec![event])));
    }

    #[test]
    fn a_monitors_readings_become_one_range_and_repeats_one_event() {
        let events = [
            Event::Readings {
                monitor_id: 7,
                first: 10,
                last: 12,
            },
            Event::Access { account: None },
            Event::Readings {
                monitor_id: 7,
                first: 13,
                last: 15,
            },
            Event::Access { account: None },
        ];
        let payloads = encode("o", &events);
        assert_eq!(payloads, ["o r7:10-15,A"]);
    }

    #[test]
    fn many_events_are_split_under_the_cap() {
        let events: Vec<Event> = (0..5_000)
            .map(|m| Event::Readings {
                monitor_id: 1_000_000 + m,
                first: 9_000_000_000,
                last: 9_000_000_100,
            })
            .collect();
        let payloads = encode("origin", &events);
        assert!(payloads.len() > 1);
        let mut back = Vec::new();
        for p in &payloads {
            assert!(p.len() <= PAYLOAD_MAX, "{}", p.len());
            let (origin, events) = decode(p).unwrap();
            assert_eq!(origin, "origin");
            back.extend(events);
        }
        assert_eq!(back, events);
    }

    #[rstest]
    #[case::no_origin("r1:2-3")]
    #[case::empty("")]
    fn what_is_not_ours_is_ignored(#[case] payload: &str) {
        assert_eq!(decode(payload), None);
    }

    #[test]
    fn unknown_tokens_are_skipped() {
        assert_eq!(
            decode("o x1,A,r1:2,p"),
            Some(("o", vec![Event::Access { account: None }]))
        );
    }
}
