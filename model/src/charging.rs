//! Adaptive charging: the price slots, an optiCharge plan, and what a reporter's adaptive
//! charging is set to. The planner itself is in `backend::planner`.

use serde::{Deserialize, Serialize};

use crate::FieldError;

/// A price for [start, end) (ms UTC), per kWh in the source's currency (or per MWh for the
/// wholesale files the `ampwise plan` command reads).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PriceSlot {
    pub start_ms: i64,
    pub end_ms: i64,
    pub price: f64,
}

/// What optiCharge is to buy.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Want {
    /// Hours of charging at the charger's power.
    Hours(f64),
    /// Energy (kWh) at the charger's power.
    Energy(f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlanRequest {
    /// The window: plugged in from, ready by (ms UTC).
    pub from_ms: i64,
    pub until_ms: i64,
    pub want: Want,
    /// The charger's power (kW).
    pub power_kw: f64,
    /// Never charge above this price.
    pub max_price: Option<f64>,
    /// Always charge below this price (negative prices: being paid to charge).
    pub min_price: Option<f64>,
    pub now_ms: i64,
    /// The start of a slot being charged in now under the previous plan: it stays.
    pub running_slot_ms: Option<i64>,
}

/// The most a charger may draw in a span (kW): the peak guard's room in an hour the grid
/// operator counts, for the planner.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PowerLimit {
    pub start_ms: i64,
    pub end_ms: i64,
    pub kw: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlannedSlot {
    pub start_ms: i64,
    pub end_ms: i64,
    pub price: f64,
    /// The part of the slot charged in (1 = all of it; the last slot of an energy need may be
    /// less), from its start.
    pub share: f64,
    pub kwh: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The chosen slots, by time.
    pub slots: Vec<PlannedSlot>,
    pub wanted_kwh: f64,
    /// What the plan charges (more than wanted when prices below the floor invite it).
    pub kwh: f64,
    pub cost: f64,
    /// Charging at once from the start of the window instead.
    pub cost_if_now: f64,
    pub saving: f64,
    /// The plan charges what was wanted (else the ceiling or the window is too tight).
    pub complete: bool,
    /// Slots above the ceiling were passed over.
    pub capped_by_max_price: bool,
    /// The plan falls short because the peak guard leaves the charger less than its power in
    /// the hours the grid operator counts (short by `wanted_kwh - kwh`).
    #[serde(default)]
    pub limited_by_guard: bool,
    /// Prices are known only until here (ms UTC), short of the window's end: the plan uses
    /// what is published and is made again when more is.
    pub prices_until_ms: Option<i64>,
}

/// How a reporter's chargers may charge, beyond keeping the main fuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Fuse protection only: charging is always allowed.
    #[default]
    Off,
    /// Weekly windows.
    Schedule,
    /// The cheapest slots of a window.
    OptiCharge,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Off, Mode::Schedule, Mode::OptiCharge];

    pub const fn key(self) -> &'static str {
        match self {
            Mode::Off => "charging.mode_off",
            Mode::Schedule => "charging.mode_schedule",
            Mode::OptiCharge => "charging.mode_opticharge",
        }
    }
}

/// Minutes since local midnight.
pub type Minute = u16;

/// A weekly window in the site's local time: on the given days (Monday first), from `from`
/// until `to`; a `to` at or before `from` ends the next day (overnight).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub days: [bool; 7],
    pub from: Minute,
    pub to: Minute,
}

/// optiCharge's settings: a daily window and what to buy in it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OptiSettings {
    /// Plugged in from this local time; `None`: from when the plan is made, for the window
    /// ending at the next `ready_by`.
    pub from: Option<Minute>,
    /// Ready by this local time.
    pub ready_by: Minute,
    pub want: Want,
    /// The charger's power (kW).
    pub power_kw: f64,
    /// In the price the household pays (per kWh).
    pub max_price: Option<f64>,
    pub min_price: Option<f64>,
}

impl Default for OptiSettings {
    fn default() -> Self {
        Self {
            from: None,
            ready_by: 7 * 60,
            want: Want::Hours(4.0),
            power_kw: 11.0,
            max_price: None,
            min_price: None,
        }
    }
}

/// A reporter's adaptive charging.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Adaptive {
    pub mode: Mode,
    pub schedule: Vec<Window>,
    pub opti: OptiSettings,
}

/// What the household lets the chargers do now, and why: the status line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Decision {
    /// Fuse protection only.
    Off,
    /// Allowed until (ms UTC; `None`: for good).
    AllowedUntil { until_ms: Option<i64> },
    /// Paused; the next allowed start (ms UTC), if known.
    WaitingFor { from_ms: Option<i64> },
    /// optiCharge has no prices for its window yet (they come about 13:00): charging at once
    /// until they do.
    NoPricesYet,
    /// optiCharge's window has ended; the next one starts at (ms UTC).
    WindowOver { next_ms: Option<i64> },
}

impl Decision {
    pub fn allows(&self) -> bool {
        matches!(
            self,
            Decision::Off | Decision::AllowedUntil { .. } | Decision::NoPricesYet
        )
    }
}

/// Parses `HH:MM` into minutes since midnight.
pub fn parse_minute(text: &str) -> Option<Minute> {
    let (h, m) = text.trim().split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

pub fn show_minute(m: Minute) -> String {
    format!("{:02}:{:02}", m / 60 % 24, m % 60)
}

/// A reporter's adaptive charging as its card shows it: the settings, the decision now, and for
/// optiCharge the prices and the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChargingView {
    pub adaptive: Adaptive,
    pub decision: Decision,
    /// The server's clock (ms UTC) and the site's clock for times.
    pub now_ms: i64,
    pub clock: crate::clock::LocalClock,
    /// Today's and (once published) tomorrow's prices as the household pays them, per kWh.
    pub prices: Vec<PriceSlot>,
    /// Prices include the household's markup, grid fee, tax and VAT (else spot only).
    pub prices_total: bool,
    /// Where the prices come from, and the exchange rate when converted.
    pub price_source: String,
    pub currency: String,
    pub plan: Option<Plan>,
    /// optiCharge's window (ms UTC).
    pub window: Option<(i64, i64)>,
}

/// What a household pays per kWh on top of the spot price, as its bill says; each optional.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SitePrices {
    /// The retailer's markup (öre/kWh).
    pub markup_ore: Option<f64>,
    /// The grid operator's transfer fee (öre/kWh).
    pub grid_fee_ore: Option<f64>,
    /// Energy tax (öre/kWh).
    pub energy_tax_ore: Option<f64>,
    /// VAT on all of it (%).
    pub vat_percent: Option<f64>,
}

impl SitePrices {
    /// Whether the household entered anything: prices are then shown as it pays them.
    pub fn any(&self) -> bool {
        self.markup_ore.is_some()
            || self.grid_fee_ore.is_some()
            || self.energy_tax_ore.is_some()
            || self.vat_percent.is_some()
    }

    /// The price the household pays for a spot price (both per kWh, in kronor).
    pub fn total(&self, spot: f64) -> f64 {
        let ore = self.markup_ore.unwrap_or(0.0)
            + self.grid_fee_ore.unwrap_or(0.0)
            + self.energy_tax_ore.unwrap_or(0.0);
        (spot + ore / 100.0) * (1.0 + self.vat_percent.unwrap_or(0.0) / 100.0)
    }
}

/// The site's grid operator and tariff, for its capacity charge (Settings → Site).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteGrid {
    /// The operator as `ampwise peaks --operator` names it (`goteborg-energi`); `None`: not
    /// chosen, no capacity charge is shown.
    pub operator: Option<String>,
    /// The operator's tariff (a price list's name); `None`: its first.
    pub tariff: Option<String>,
    /// The peak guard: how the chargers are held back in the hours the operator counts.
    #[serde(default)]
    pub guard: PeakGuard,
}

/// The peak guard of a site: in the hours its grid operator counts, the chargers get no more than
/// keeps the hour's mean power under a level; outside them it does not limit. What the level is:
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum PeakGuard {
    /// No guard: the fuse is the only limit.
    #[default]
    Off,
    /// Never raise the month's billed level: the highest the hour may reach without changing
    /// the bill, and never below `start_w` (the level the month starts from, when nothing is
    /// counted yet).
    Billed { start_w: u32 },
    /// Never above `cap_w`, whatever the month so far ("never above 5 kW").
    Cap { cap_w: u32 },
}

impl PeakGuard {
    /// The kW the household chose (the start or the cap).
    pub fn kw(self) -> Option<f64> {
        match self {
            PeakGuard::Off => None,
            PeakGuard::Billed { start_w } => Some(f64::from(start_w) / 1000.0),
            PeakGuard::Cap { cap_w } => Some(f64::from(cap_w) / 1000.0),
        }
    }

    /// The form's name of the mode.
    pub fn mode(self) -> &'static str {
        match self {
            PeakGuard::Off => "off",
            PeakGuard::Billed { .. } => "billed",
            PeakGuard::Cap { .. } => "cap",
        }
    }
}

/// The grid form: the operator's id and the tariff's name, empty for none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteGridInput {
    #[serde(default)]
    pub operator: String,
    #[serde(default)]
    pub tariff: String,
    /// `off`, `billed` or `cap` (empty: off).
    #[serde(default)]
    pub guard: String,
    /// The guard's level in kW, as typed (`5`, `4,5`).
    #[serde(default)]
    pub guard_kw: String,
}

/// A grid operator a site may choose, with its tariffs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridOperatorChoice {
    /// What [`SiteGrid::operator`] stores.
    pub id: String,
    pub name: String,
    /// Its tariffs' names, in the operator's order (the first is the default); empty when it
    /// has one without a name.
    pub tariffs: Vec<String>,
}

/// This month's capacity charge as the site's grid operator counts it, so far (the site page).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityMonth {
    pub site_id: i64,
    pub operator: String,
    pub tariff: Option<String>,
    /// The rule in words (English: the tariff data's own).
    pub rule: String,
    /// The counted hours so far, by time.
    pub peaks: Vec<CapacityPeak>,
    /// The billed level so far (kW) and what it costs (kr, VAT included).
    pub billed_kw: f64,
    pub cost_sek: f64,
    /// The hour under way.
    pub hour: Option<CapacityHour>,
}

/// A counted hour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityPeak {
    /// The hour's start on the site's clock, `YYYY-MM-DD HH:MM`.
    pub local: String,
    /// As the operator counts it (kW).
    pub kw: f64,
}

/// The hour under way: its mean so far, and where it lands if the power stays as it is now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityHour {
    pub local: String,
    pub so_far_kw: f64,
    pub projected_kw: f64,
    /// Whether the operator counts this hour.
    pub counted: bool,
    /// Whether the site has a peak guard, and the level it holds this hour under (kW); `None`
    /// when it does not limit this hour.
    #[serde(default)]
    pub guard_on: bool,
    #[serde(default)]
    pub guard_kw: Option<f64>,
}

/// The site prices form: every field text, empty for "not on my bill".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SitePricesInput {
    #[serde(default)]
    pub markup_ore: String,
    #[serde(default)]
    pub grid_fee_ore: String,
    #[serde(default)]
    pub energy_tax_ore: String,
    #[serde(default)]
    pub vat_percent: String,
}

/// A decimal number as people type it (a decimal comma too), or nothing.
fn optional_number(
    text: &str,
    field: &'static str,
    range: std::ops::RangeInclusive<f64>,
) -> Result<Option<f64>, FieldError> {
    let text = text.trim().replace(',', ".").replace('\u{2212}', "-");
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && range.contains(v))
        .map(Some)
        .ok_or(FieldError::new(field, "error.price_component_invalid"))
}

impl SitePricesInput {
    pub fn validate(&self) -> Result<SitePrices, FieldError> {
        Ok(SitePrices {
            markup_ore: optional_number(&self.markup_ore, "markup_ore", -1000.0..=1000.0)?,
            grid_fee_ore: optional_number(&self.grid_fee_ore, "grid_fee_ore", 0.0..=1000.0)?,
            energy_tax_ore: optional_number(&self.energy_tax_ore, "energy_tax_ore", 0.0..=1000.0)?,
            vat_percent: optional_number(&self.vat_percent, "vat_percent", 0.0..=100.0)?,
        })
    }
}

/// The adaptive-charging form: every field text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdaptiveInput {
    /// `off`, `schedule` or `opticharge`.
    pub mode: String,
    /// Windows separated by `;`, each `DAYS HH:MM-HH:MM` with DAYS seven 0/1, Monday first:
    /// `1111100 23:00-05:00` is weekday nights.
    #[serde(default)]
    pub schedule: String,
    /// optiCharge: plugged in from `HH:MM`, or empty for now.
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub ready_by: String,
    /// `hours` or `kwh`.
    #[serde(default)]
    pub want: String,
    #[serde(default)]
    pub amount: String,
    #[serde(default)]
    pub power_kw: String,
    #[serde(default)]
    pub max_price: String,
    #[serde(default)]
    pub min_price: String,
}

/// Most windows a schedule takes.
pub const MAX_WINDOWS: usize = 28;

/// `1111100 23:00-05:00;…` into windows.
pub fn parse_schedule(text: &str) -> Result<Vec<Window>, FieldError> {
    let bad = || FieldError::new("schedule", "error.schedule_invalid");
    let mut windows = Vec::new();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (days, times) = part.split_once(' ').ok_or_else(bad)?;
        let (from, to) = times.trim().split_once('-').ok_or_else(bad)?;
        let days: Vec<bool> = days.chars().map(|c| c == '1').collect();
        if days.len() != 7 || !days.iter().any(|d| *d) {
            return Err(FieldError::new("schedule", "error.schedule_no_days"));
        }
        windows.push(Window {
            days: [
                days[0], days[1], days[2], days[3], days[4], days[5], days[6],
            ],
            from: parse_minute(from).ok_or_else(bad)?,
            to: parse_minute(to).ok_or_else(bad)?,
        });
    }
    if windows.len() > MAX_WINDOWS {
        return Err(bad());
    }
    Ok(windows)
}

/// Windows back into the form's text.
pub fn show_schedule(windows: &[Window]) -> String {
    windows
        .iter()
        .map(|w| {
            let days: String = w.days.iter().map(|d| if *d { '1' } else { '0' }).collect();
            format!("{days} {}-{}", show_minute(w.from), show_minute(w.to))
        })
        .collect::<Vec<_>>()
        .join(";")
}

impl AdaptiveInput {
    /// Checks the form; settings of the modes not chosen are kept as given where they parse.
    pub fn validate(&self, current: &Adaptive) -> Result<Adaptive, FieldError> {
        let mode = match self.mode.trim() {
            "off" => Mode::Off,
            "schedule" => Mode::Schedule,
            "opticharge" => Mode::OptiCharge,
            _ => return Err(FieldError::new("mode", "error.charging_mode_invalid")),
        };
        let schedule = match parse_schedule(&self.schedule) {
            Ok(windows) => windows,
            Err(e) if mode == Mode::Schedule => return Err(e),
            Err(_) => current.schedule.clone(),
        };
        if mode == Mode::Schedule && schedule.is_empty() {
            return Err(FieldError::new("schedule", "error.schedule_empty"));
        }
        let opti = match self.opti() {
            Ok(opti) => opti,
            Err(e) if mode == Mode::OptiCharge => return Err(e),
            Err(_) => current.opti,
        };
        Ok(Adaptive {
            mode,
            schedule,
            opti,
        })
    }

    fn opti(&self) -> Result<OptiSettings, FieldError> {
        let from = match self.from.trim() {
            "" | "now" => None,
            t => Some(parse_minute(t).ok_or(FieldError::new("from", "error.time_invalid"))?),
        };
        let ready_by = parse_minute(&self.ready_by)
            .ok_or(FieldError::new("ready_by", "error.time_invalid"))?;
        let amount = optional_number(&self.amount, "amount", 0.0..=500.0)?
            .filter(|a| *a > 0.0)
            .ok_or(FieldError::new("amount", "error.charging_amount_invalid"))?;
        let want = match self.want.trim() {
            "hours" if amount <= 24.0 => Want::Hours(amount),
            "hours" => return Err(FieldError::new("amount", "error.charging_amount_invalid")),
            "kwh" => Want::Energy(amount),
            _ => return Err(FieldError::new("want", "error.charging_want_invalid")),
        };
        let power_kw = optional_number(&self.power_kw, "power_kw", 1.0..=50.0)?
            .ok_or(FieldError::new("power_kw", "error.price_component_invalid"))?;
        let max_price = optional_number(&self.max_price, "max_price", -100.0..=100.0)?;
        let min_price = optional_number(&self.min_price, "min_price", -100.0..=100.0)?;
        if let (Some(max), Some(min)) = (max_price, min_price)
            && min > max
        {
            return Err(FieldError::new("min_price", "error.charging_min_above_max"));
        }
        if from == Some(ready_by) {
            return Err(FieldError::new("ready_by", "error.charging_empty_window"));
        }
        Ok(OptiSettings {
            from,
            ready_by,
            want,
            power_kw,
            max_price,
            min_price,
        })
    }
}
