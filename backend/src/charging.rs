//! Adaptive charging: each reporter's setting (Off, a Simple schedule, or optiCharge), the plan
//! optiCharge keeps for its window, and the decision the forwarder sends with every update
//! (allowed or paused). Fuse protection always wins: the partner's load balancer keeps the
//! chargers under the main fuse whatever this allows.
//!
//! Times here come from [`Services::charging_clock`]: the wall clock, which a test can move to
//! walk through a night in seconds.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use jiff::ToSpan;
use jiff::tz::TimeZone;
use model::charging::{
    Adaptive, AdaptiveInput, ChargingView, Decision, Mode, Plan, PlanRequest, PlannedSlot,
    PriceSlot, SiteGrid, SiteGridInput, SitePrices, SitePricesInput, Want,
};
use model::{Account, PriceArea};

use crate::access::{self, Need};
use crate::db::ChargingRecord;
use crate::prices::{self, Source};
use crate::{Error, Services, planner, schedule};

/// What deciding needs of one reporter.
#[derive(Debug, Clone, PartialEq)]
pub struct Controls {
    pub adaptive: Adaptive,
    pub tz: TimeZone,
    pub plan: Option<Plan>,
    pub window: Option<(i64, i64)>,
}

/// The decision at `now_ms` and when it will change (ms), if known.
pub fn decide(c: &Controls, now_ms: i64) -> (Decision, Option<i64>) {
    match c.adaptive.mode {
        Mode::Off => (Decision::Off, None),
        Mode::Schedule => match schedule::allowed_at(&c.tz, &c.adaptive.schedule, now_ms) {
            (true, until) => (Decision::AllowedUntil { until_ms: until }, until),
            (false, from) => (Decision::WaitingFor { from_ms: from }, from),
        },
        Mode::OptiCharge => match (c.window, &c.plan) {
            (Some((start, _)), _) if now_ms < start => (
                Decision::WindowOver {
                    next_ms: Some(start),
                },
                Some(start),
            ),
            (Some((_, end)), _) if now_ms >= end => (Decision::WindowOver { next_ms: None }, None),
            (_, None) => (Decision::NoPricesYet, None),
            (window, Some(plan)) => {
                let end = window.map(|w| w.1);
                match planner::charging_at(plan, now_ms) {
                    (true, until) => (Decision::AllowedUntil { until_ms: until }, until.or(end)),
                    (false, from) => (Decision::WaitingFor { from_ms: from }, from.or(end)),
                }
            }
        },
    }
}

/// Every reporter's controls in this process, for the forwarder (it asks at each update, and
/// wakes when they change).
pub struct Board {
    controls: RwLock<HashMap<i64, Arc<Controls>>>,
    changed: tokio::sync::watch::Sender<u64>,
}

impl Default for Board {
    fn default() -> Self {
        Self {
            controls: RwLock::new(HashMap::new()),
            changed: tokio::sync::watch::Sender::new(0),
        }
    }
}

impl Board {
    pub fn set(&self, reporter_id: i64, controls: Option<Controls>) {
        let mut map = self.controls.write().unwrap_or_else(|e| e.into_inner());
        let changed = match controls {
            Some(c) => {
                map.get(&reporter_id).is_none_or(|old| **old != c) && {
                    map.insert(reporter_id, Arc::new(c));
                    true
                }
            }
            None => map.remove(&reporter_id).is_some(),
        };
        drop(map);
        if changed {
            self.touch();
        }
    }

    /// Tells every forwarder to look again (the controls or the clock moved).
    pub fn touch(&self) {
        self.changed.send_modify(|n| *n += 1);
    }

    pub fn watch(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Off for a reporter without adaptive charging.
    pub fn decide(&self, reporter_id: i64, now_ms: i64) -> (Decision, Option<i64>) {
        let map = self.controls.read().unwrap_or_else(|e| e.into_inner());
        map.get(&reporter_id)
            .map_or((Decision::Off, None), |c| decide(c, now_ms))
    }
}

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

/// Spot prices as the household pays them (when it entered what it pays on top).
fn household_prices(spot: &[PriceSlot], site: &SitePrices) -> Vec<PriceSlot> {
    if !site.any() {
        return spot.to_vec();
    }
    spot.iter()
        .map(|s| PriceSlot {
            price: site.total(s.price),
            ..*s
        })
        .collect()
}

/// optiCharge's window and plan for `record` at `now_ms`, keeping a slot the previous plan is
/// charging in now.
pub async fn plan_for(
    services: &Services,
    record: &ChargingRecord,
    now_ms: i64,
) -> Result<(Option<Plan>, Option<(i64, i64)>), Error> {
    if record.adaptive.mode != Mode::OptiCharge {
        return Ok((None, None));
    }
    let tz = zone(&record.time_zone);
    let opti = record.adaptive.opti;
    let plugged = record.plugged_in_ms.unwrap_or(now_ms);
    let Some(window) = schedule::opti_window(&tz, opti.from, opti.ready_by, plugged, now_ms) else {
        return Ok((None, None));
    };
    let (spot, _) = services
        .charging
        .prices(record.area, window.0, window.1)
        .await?;
    if spot.is_empty() {
        return Ok((None, Some(window)));
    }
    let prices = planner::quarter_hours(&household_prices(&spot, &record.site_prices));
    // What the previous plan of this window has charged by now stays as it was; the rest of
    // the need is planned from now, keeping a slot that is being charged in.
    let mut done: Vec<PlannedSlot> = Vec::new();
    let mut running = None;
    let previous = record
        .plan
        .as_ref()
        .filter(|_| record.window == Some(window));
    if let Some(previous) = previous {
        for s in &previous.slots {
            let charged_end =
                s.start_ms + ((s.end_ms - s.start_ms) as f64 * s.share).round() as i64;
            let done_end = charged_end.min(now_ms);
            if done_end <= s.start_ms {
                continue;
            }
            let part = (done_end - s.start_ms) as f64 / (charged_end - s.start_ms).max(1) as f64;
            done.push(PlannedSlot {
                start_ms: s.start_ms,
                end_ms: done_end,
                price: s.price,
                share: 1.0,
                kwh: s.kwh * part,
            });
            if done_end < charged_end {
                running = Some(now_ms);
            }
        }
    }
    let done_kwh: f64 = done.iter().map(|s| s.kwh).sum();
    let power = opti.power_kw.max(0.1);
    let request = PlanRequest {
        from_ms: window.0,
        until_ms: window.1,
        want: match opti.want {
            Want::Hours(h) => Want::Hours((h - done_kwh / power).max(0.0)),
            Want::Energy(e) => Want::Energy((e - done_kwh).max(0.0)),
        },
        power_kw: opti.power_kw,
        max_price: opti.max_price,
        min_price: opti.min_price,
        now_ms,
        running_slot_ms: running,
    };
    let limits = match guard_limits(services, record, window, now_ms, opti.power_kw).await {
        Ok(limits) => limits,
        Err(e) => {
            // Planned without the guard's limits: the guard still holds the chargers back.
            tracing::warn!(reporter = record.reporter_id, error = %e, "the peak guard's limits are unknown");
            Vec::new()
        }
    };
    let mut plan = planner::plan_within(&request, &prices, &limits);
    if !done.is_empty() {
        plan.slots.splice(0..0, done);
        // Pieces of one slot, charged before and after a re-plan, are one slot again.
        let mut merged: Vec<PlannedSlot> = Vec::with_capacity(plan.slots.len());
        for s in plan.slots.drain(..) {
            match merged.last_mut() {
                Some(last)
                    if last.end_ms == s.start_ms
                        && last.price == s.price
                        && last.share >= 1.0
                        && s.share >= 1.0
                        && (s.start_ms - last.start_ms) < 15 * 60_000 =>
                {
                    last.end_ms = s.end_ms;
                    last.kwh += s.kwh;
                }
                _ => merged.push(s),
            }
        }
        plan.slots = merged;
        plan.kwh += done_kwh;
        plan.wanted_kwh += done_kwh;
        plan.cost = plan.slots.iter().map(|s| s.price * s.kwh).sum();
        plan.cost_if_now = previous.map_or(plan.cost_if_now, |p| p.cost_if_now);
        plan.saving = plan.cost_if_now - plan.cost;
    }
    Ok((Some(plan), Some(window)))
}

/// Days of the household's history its usual load per hour of the day is read from.
const USUAL_DAYS: i64 = 14;

/// What the peak guard leaves a charger of `power_kw` in each hour of `window` that the site's
/// grid operator counts: the hour's level (as the guard works it out now), less the household's
/// usual load at that hour of the day, under the guard's margin; nothing when that is below the
/// charger's least current (6 A on its phases). No limits without a guard.
///
/// The household's usual load is [`crate::capacity::usual_load`] over the last [`USUAL_DAYS`]
/// days.
async fn guard_limits(
    services: &Services,
    record: &ChargingRecord,
    window: (i64, i64),
    now_ms: i64,
    power_kw: f64,
) -> Result<Vec<model::charging::PowerLimit>, Error> {
    use crate::capacity::{self, Month};
    let grid = services.charging.site_grid(record.site_id).await?;
    let Some(operator) = grid.operator.as_deref() else {
        return Ok(Vec::new());
    };
    if grid.guard == model::charging::PeakGuard::Off {
        return Ok(Vec::new());
    }
    let Some(monitor) = services.monitors.total_monitor(record.site_id).await? else {
        return Ok(Vec::new());
    };
    let tz = zone(&record.time_zone);
    let now = jiff::Timestamp::from_millisecond(now_ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let local = now.to_zoned(tz.clone());
    let Ok((month_from, _)) = (Month {
        year: local.year(),
        month: local.month(),
    })
    .bounds(&tz) else {
        return Ok(Vec::new());
    };
    let this_hour = capacity::local_hour_start(now, &tz);
    let history_from = (now_ms - USUAL_DAYS * 86_400_000).min(month_from.as_millisecond());
    let hours = hour_means(
        services,
        monitor.monitor.id,
        history_from,
        this_hour.as_millisecond(),
    )
    .await?;
    let since = jiff::Timestamp::from_millisecond(now_ms - USUAL_DAYS * 86_400_000).unwrap_or(now);
    let usual = capacity::usual_load(&hours, since, &tz);
    let month: Vec<capacity::HourMean> = hours
        .into_iter()
        .filter(|h| h.start >= month_from)
        .collect();
    // 6 A on one phase, or on three for a charger past a single phase's 7.4 kW.
    let least_kw =
        if power_kw > 7.4 { 3.0 * 6.0 } else { 6.0 } * crate::readings::NOMINAL_VOLTAGE_V / 1000.0;
    let mut limits = Vec::new();
    let mut at = capacity::local_hour_start(
        jiff::Timestamp::from_millisecond(window.0).unwrap_or(now),
        &tz,
    );
    while at.as_millisecond() < window.1 {
        let level = capacity::guard_level(
            grid.guard,
            operator,
            grid.tariff.as_deref(),
            &record.time_zone,
            monitor.main_fuse_a,
            &month,
            at,
        )
        .unwrap_or_else(|error| {
            // An operator or tariff the tariff data no longer has: no level, no limit.
            tracing::warn!(site = record.site_id, %error, "the peak guard has no level");
            None
        });
        if let Some(level) = level {
            let household = usual[at.to_zoned(tz.clone()).hour() as usize];
            let room = level * capacity::GUARD_MARGIN - household;
            limits.push(model::charging::PowerLimit {
                start_ms: at.as_millisecond(),
                end_ms: at.as_millisecond() + 3_600_000,
                kw: if room < least_kw { 0.0 } else { room },
            });
        }
        at += jiff::SignedDuration::from_hours(1);
    }
    Ok(limits)
}

/// Plans `record` again if its window or prices moved, stores the plan, and hands the controls
/// to the forwarder.
pub async fn refresh(
    services: &Services,
    mut record: ChargingRecord,
    now_ms: i64,
) -> Result<(), Error> {
    let (plan, window) = plan_for(services, &record, now_ms).await?;
    if plan != record.plan || window != record.window {
        services
            .charging
            .set_plan(record.reporter_id, plan.as_ref(), window)
            .await?;
        record.plan = plan;
        record.window = window;
    }
    services.charging_board.set(
        record.reporter_id,
        Some(Controls {
            adaptive: record.adaptive,
            tz: zone(&record.time_zone),
            plan: record.plan,
            window: record.window,
        }),
    );
    Ok(())
}

/// A reporter's adaptive charging, with today's and tomorrow's prices, for its card.
pub async fn view(
    services: &Services,
    actor: &Account,
    reporter_id: i64,
) -> Result<ChargingView, Error> {
    crate::reporters::get(services, actor, reporter_id).await?;
    let record = services
        .charging
        .charging(reporter_id)
        .await?
        .ok_or(Error::NotFound)?;
    let now = services.charging_clock.now_ms();
    let tz = zone(&record.time_zone);
    let today = schedule::local_date(&tz, now);
    let start = schedule::local_ms(&tz, today, 0).unwrap_or(now);
    let end = today
        .checked_add(2.days())
        .ok()
        .and_then(|d| schedule::local_ms(&tz, d, 0))
        .unwrap_or(now + 2 * 86_400_000);
    let (spot, source) = services.charging.prices(record.area, start, end).await?;
    let controls = Controls {
        adaptive: record.adaptive.clone(),
        tz: tz.clone(),
        plan: record.plan.clone(),
        window: record.window,
    };
    let (decision, _) = decide(&controls, now);
    Ok(ChargingView {
        decision,
        now_ms: now,
        clock: crate::schedule::local_clock(&tz, now),
        prices: household_prices(&spot, &record.site_prices),
        prices_total: record.site_prices.any(),
        price_source: source.unwrap_or_default(),
        currency: "SEK".into(),
        plan: record.plan,
        window: record.window,
        adaptive: record.adaptive,
    })
}

/// Sets a reporter's adaptive charging (by those who may work on its site) and plans at once.
pub async fn set(
    services: &Services,
    actor: &Account,
    reporter_id: i64,
    input: &AdaptiveInput,
) -> Result<ChargingView, Error> {
    crate::reporters::get(services, actor, reporter_id).await?;
    let current = services
        .charging
        .charging(reporter_id)
        .await?
        .ok_or(Error::NotFound)?;
    let adaptive = input.validate(&current.adaptive)?;
    let now = services.charging_clock.now_ms();
    // Prices the plan needs and this process has not fetched yet (a new site's area, say).
    if adaptive.mode == Mode::OptiCharge {
        fetch_due(services, current.area, now).await;
    }
    // optiCharge "from now" counts from when it was asked; a change of its settings asks anew.
    let plugged_in = (adaptive.mode == Mode::OptiCharge).then_some(now);
    services
        .charging
        .set_charging(reporter_id, &adaptive, plugged_in)
        .await?;
    let record = ChargingRecord {
        adaptive,
        plugged_in_ms: plugged_in,
        plan: None,
        window: None,
        ..current
    };
    refresh(services, record, now).await?;
    services.reporters_changed(None);
    // The process that forwards it plans it too, wherever it runs.
    services
        .bus
        .publish(crate::bus::Event::Charging { reporter_id });
    view(services, actor, reporter_id).await
}

pub async fn site_prices(
    services: &Services,
    actor: &Account,
    site_id: i64,
) -> Result<SitePrices, Error> {
    access::require(services, actor, site_id, Need::Work).await?;
    Ok(services.charging.site_prices(site_id).await?)
}

pub async fn set_site_prices(
    services: &Services,
    actor: &Account,
    site_id: i64,
    input: &SitePricesInput,
) -> Result<SitePrices, Error> {
    access::require(services, actor, site_id, Need::Work).await?;
    let prices = input.validate()?;
    services.charging.set_site_prices(site_id, &prices).await?;
    services.charging_changes.notify_one();
    services.bus.publish(crate::bus::Event::Prices);
    Ok(prices)
}

pub async fn site_grid(
    services: &Services,
    actor: &Account,
    site_id: i64,
) -> Result<SiteGrid, Error> {
    access::require(services, actor, site_id, Need::Work).await?;
    Ok(services.charging.site_grid(site_id).await?)
}

/// Sets the site's grid operator and tariff (Settings → Site); an operator or tariff the tariff
/// data does not have is refused and changes nothing.
pub async fn set_site_grid(
    services: &Services,
    actor: &Account,
    site_id: i64,
    input: &SiteGridInput,
) -> Result<SiteGrid, Error> {
    access::require(services, actor, site_id, Need::Work).await?;
    let grid = crate::capacity::validate(input)?;
    services.charging.set_site_grid(site_id, &grid).await?;
    // The forwarders hold the guard's level: they look again at once, here and elsewhere.
    services.charging_board.touch();
    services.bus.publish(crate::bus::Event::Prices);
    Ok(grid)
}

/// This month's capacity charge so far, from the site's total-consumption monitor's hourly
/// rollups, under its grid operator's rule. `None` without an operator or such a monitor.
/// The hourly mean powers of `monitor_id` (its hourly rollups, imported power) of the hours
/// starting in `from..until` (ms UTC).
pub(crate) async fn hour_means(
    services: &Services,
    monitor_id: i64,
    from: i64,
    until: i64,
) -> Result<Vec<crate::capacity::HourMean>, crate::db::StoreError> {
    let rows = services
        .monitors
        .rollups(monitor_id, model::monitor::Resolution::Hour, from, until)
        .await?;
    Ok(rows
        .iter()
        .filter(|(_, agg)| agg.n > 0)
        .filter_map(|(start, agg)| {
            Some(crate::capacity::HourMean {
                start: jiff::Timestamp::from_millisecond(*start).ok()?,
                kw: (agg.p_sum / agg.n as f64).max(0.0) / 1000.0,
                covered_s: ((agg.ts_max - agg.ts_min) / 1000).max(1),
            })
        })
        .collect())
}

pub async fn capacity_month(
    services: &Services,
    actor: &Account,
    site_id: i64,
) -> Result<Option<model::charging::CapacityMonth>, Error> {
    use crate::capacity::{self, Month};
    use model::charging::{CapacityHour, CapacityMonth, CapacityPeak};
    access::require(services, actor, site_id, Need::Work).await?;
    let grid = services.charging.site_grid(site_id).await?;
    let Some(operator) = grid.operator else {
        return Ok(None);
    };
    let Some(record) = services.monitors.total_monitor(site_id).await? else {
        return Ok(None);
    };
    let tz = jiff::tz::TimeZone::get(&record.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let now = jiff::Timestamp::now();
    let local = now.to_zoned(tz.clone());
    let month = Month {
        year: local.year(),
        month: local.month(),
    };
    let Ok((from, _)) = month.bounds(&tz) else {
        return Ok(None);
    };
    let hours = hour_means(
        services,
        record.monitor.id,
        from.as_millisecond(),
        now.as_millisecond() + 1,
    )
    .await?;
    let tariff = grid.tariff.as_deref();
    let (zone, fuse) = (record.time_zone.as_str(), record.main_fuse_a);
    let counted = match capacity::month_peaks_of_hours(&operator, tariff, month, zone, fuse, &hours)
    {
        Ok(counted) => counted,
        Err(error) => {
            // An operator or tariff the tariff data no longer has (after an update of it).
            tracing::warn!(site_id, %error, "capacity charge not counted");
            return Ok(None);
        }
    };
    let label = |at: jiff::Timestamp| {
        at.to_zoned(tz.clone())
            .strftime("%Y-%m-%d %H:%M")
            .to_string()
    };
    let hour_start = capacity::local_hour_start(now, &tz);
    let so_far = hours.iter().find(|h| h.start == hour_start).map(|h| h.kw);
    let power_now = services
        .monitors
        .latest_point(record.monitor.id)
        .await?
        .filter(|p| now.as_millisecond() - p.ts < 5 * 60_000)
        .map(|p| {
            p.i.iter().flatten().sum::<f64>().max(0.0) * crate::readings::NOMINAL_VOLTAGE_V / 1000.0
        });
    let hour = so_far.map(|so_far_kw| {
        let elapsed = ((now - hour_start).get_seconds() as f64).clamp(0.0, 3600.0);
        let rest = power_now.unwrap_or(so_far_kw);
        CapacityHour {
            local: label(hour_start),
            so_far_kw,
            projected_kw: (so_far_kw * elapsed + rest * (3600.0 - elapsed)) / 3600.0,
            counted: capacity::hour_counts(&operator, tariff, zone, fuse, now).unwrap_or(false),
            guard_on: grid.guard != model::charging::PeakGuard::Off,
            guard_kw: capacity::guard_level(
                grid.guard, &operator, tariff, zone, fuse, &hours, hour_start,
            )
            .unwrap_or(None),
        }
    });
    Ok(Some(CapacityMonth {
        site_id,
        operator: counted.operator,
        tariff: counted.tariff,
        rule: counted.rule,
        peaks: counted
            .peaks
            .iter()
            .map(|p| CapacityPeak {
                local: label(p.start),
                kw: p.kw,
            })
            .collect(),
        billed_kw: counted.billed_kw,
        cost_sek: counted.cost_sek,
        hour,
    }))
}

/// Where prices come from, and the exchange rate for sources in EUR.
pub struct PriceFeed {
    pub source: Arc<dyn Source>,
    /// SEK per EUR.
    pub eur_sek: f64,
    /// Whether the rate was configured (else a default).
    pub rate_configured: bool,
}

/// Prices for `date` where missing: whether any were stored.
async fn fetch_day(
    services: &Services,
    feed: &PriceFeed,
    area: PriceArea,
    date: jiff::civil::Date,
) -> Result<bool, String> {
    let (start, end) = prices::day_span(date);
    let (stored, _) = services
        .charging
        .prices(area, start, end)
        .await
        .map_err(|e| e.to_string())?;
    let covered: i64 = stored
        .iter()
        .map(|s| s.end_ms.min(end) - s.start_ms.max(start))
        .sum();
    if covered >= end - start {
        return Ok(false);
    }
    let Some(day) = feed
        .source
        .day(area, date)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(false);
    };
    let slots: Vec<PriceSlot> = day
        .slots
        .iter()
        .map(|s| PriceSlot {
            price: day.unit.to_sek_per_kwh(s.price, feed.eur_sek),
            ..*s
        })
        .collect();
    let source = match day.unit {
        prices::Unit::EurPerMwh => format!(
            "{} · EUR→SEK {:.2} ({})",
            feed.source.name(),
            feed.eur_sek,
            if feed.rate_configured {
                "configured"
            } else {
                "default"
            }
        ),
        _ => feed.source.name().to_string(),
    };
    services
        .charging
        .store_prices(area, &slots, &source, services.clock.now_ms())
        .await
        .map_err(|e| e.to_string())?;
    Ok(!slots.is_empty())
}

/// The market days whose prices are out at `now_ms`: today, and tomorrow from 12:45 CET.
fn due_days(now_ms: i64) -> Vec<jiff::civil::Date> {
    let market = prices::market_tz();
    let today = schedule::local_date(&market, now_ms);
    let tomorrow_from = schedule::local_ms(&market, today, 12 * 60 + 45).unwrap_or(i64::MAX);
    let mut days = vec![today];
    if now_ms >= tomorrow_from
        && let Ok(d) = today.tomorrow()
    {
        days.push(d);
    }
    days
}

/// Fetches the area's due days now, where missing (errors are the periodic fetch's to retry).
async fn fetch_due(services: &Services, area: PriceArea, now_ms: i64) {
    let Some(feed) = services.price_feed.clone() else {
        return;
    };
    for date in due_days(now_ms) {
        if let Err(e) = fetch_day(services, &feed, area, date).await {
            tracing::warn!(area = area.as_str(), %date, error = %e, "fetching prices failed");
        }
    }
}

/// How often prices are looked for and plans refreshed.
const EVERY: std::time::Duration = std::time::Duration::from_secs(30);
/// A source that failed is asked again after this long at first, doubling up to the cap (ms).
const RETRY_FIRST_MS: i64 = 60_000;
const RETRY_MAX_MS: i64 = 30 * 60_000;

/// Fetches prices around the daily publication (today's, and tomorrow's from 12:45 CET, retried
/// with backoff until they come), and keeps every reporter's plan and controls current.
pub async fn run(
    services: Services,
    stop: tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    let mut retry_at: HashMap<(PriceArea, jiff::civil::Date), (i64, i64)> = HashMap::new();
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return Ok(()),
            _ = tick.tick() => {}
            () = services.charging_changes.notified() => {}
        }
        let now = services.charging_clock.now_ms();
        // One process fetches prices for all (the forwarders' leader).
        if let Some(feed) = services
            .price_feed
            .as_ref()
            .filter(|_| services.reporter_board.leads())
        {
            let days = due_days(now);
            for area in services.charging.price_areas().await? {
                for date in &days {
                    let key = (area, *date);
                    if retry_at.get(&key).is_some_and(|(at, _)| now < *at) {
                        continue;
                    }
                    match fetch_day(&services, feed, area, *date).await {
                        Ok(stored) => {
                            retry_at.remove(&key);
                            if stored {
                                services.bus.publish(crate::bus::Event::Prices);
                            }
                        }
                        Err(e) => {
                            let wait = retry_at
                                .get(&key)
                                .map_or(RETRY_FIRST_MS, |(_, w)| (w * 2).min(RETRY_MAX_MS));
                            tracing::warn!(area = area.as_str(), %date, error = %e, retry_in_s = wait / 1000, "fetching prices failed");
                            retry_at.insert(key, (now + wait, wait));
                        }
                    }
                }
            }
        }
        for record in services.charging.active_chargings().await? {
            let id = record.reporter_id;
            // Several processes: each plans what it forwards.
            if services.bus.shared() && !services.reporter_board.holds(id) {
                continue;
            }
            if let Err(e) = refresh(&services, record, now).await {
                tracing::error!(reporter = id, error = %e, "planning adaptive charging failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::test_time::{at, tz};
    use model::charging::{PlannedSlot, Window};

    fn controls(mode: Mode, plan: Option<Plan>, window: Option<(i64, i64)>) -> Controls {
        Controls {
            adaptive: Adaptive {
                mode,
                schedule: vec![Window {
                    days: [true; 7],
                    from: 23 * 60,
                    to: 5 * 60,
                }],
                opti: Default::default(),
            },
            tz: tz(),
            plan,
            window,
        }
    }

    fn plan(slots: &[(&str, &str)]) -> Plan {
        Plan {
            slots: slots
                .iter()
                .map(|(s, e)| PlannedSlot {
                    start_ms: at(s),
                    end_ms: at(e),
                    price: 1.0,
                    share: 1.0,
                    kwh: 1.0,
                })
                .collect(),
            wanted_kwh: 1.0,
            kwh: 1.0,
            cost: 1.0,
            cost_if_now: 2.0,
            saving: 1.0,
            complete: true,
            capped_by_max_price: false,
            limited_by_guard: false,
            prices_until_ms: None,
        }
    }

    #[test]
    fn decisions_say_what_happens_now_and_until_when() {
        let window = Some((at("2026-11-30T19:00:00"), at("2026-12-01T07:00:00")));
        let night = plan(&[
            ("2026-12-01T02:00:00", "2026-12-01T02:15:00"),
            ("2026-12-01T02:15:00", "2026-12-01T02:30:00"),
        ]);
        let cases = [
            (
                "off",
                controls(Mode::Off, None, None),
                "2026-11-30T20:00:00",
                Decision::Off,
            ),
            (
                "in_the_schedule",
                controls(Mode::Schedule, None, None),
                "2026-11-30T23:30:00",
                Decision::AllowedUntil {
                    until_ms: Some(at("2026-12-01T05:00:00")),
                },
            ),
            (
                "before_the_schedule",
                controls(Mode::Schedule, None, None),
                "2026-11-30T20:00:00",
                Decision::WaitingFor {
                    from_ms: Some(at("2026-11-30T23:00:00")),
                },
            ),
            (
                "waiting_for_the_cheap_slots",
                controls(Mode::OptiCharge, Some(night.clone()), window),
                "2026-11-30T20:00:00",
                Decision::WaitingFor {
                    from_ms: Some(at("2026-12-01T02:00:00")),
                },
            ),
            (
                "in_the_cheap_slots",
                controls(Mode::OptiCharge, Some(night.clone()), window),
                "2026-12-01T02:05:00",
                Decision::AllowedUntil {
                    until_ms: Some(at("2026-12-01T02:30:00")),
                },
            ),
            (
                "no_prices_yet",
                controls(Mode::OptiCharge, None, window),
                "2026-11-30T20:00:00",
                Decision::NoPricesYet,
            ),
            (
                "window_over",
                controls(Mode::OptiCharge, Some(night), window),
                "2026-12-01T07:00:00",
                Decision::WindowOver { next_ms: None },
            ),
        ];
        for (name, c, now, want) in cases {
            assert_eq!(decide(&c, at(now)).0, want, "{name}");
        }
    }

    #[test]
    fn prices_include_what_the_household_pays_on_top() {
        let site = SitePrices {
            markup_ore: Some(5.0),
            grid_fee_ore: Some(25.0),
            energy_tax_ore: Some(43.9),
            vat_percent: Some(25.0),
        };
        let spot = [PriceSlot {
            start_ms: 0,
            end_ms: 1,
            price: 1.0,
        }];
        let got = household_prices(&spot, &site)[0].price;
        assert!((got - (1.0 + 0.739) * 1.25).abs() < 1e-9, "{got}");
        assert_eq!(
            household_prices(&spot, &SitePrices::default())[0].price,
            1.0
        );
    }
}
