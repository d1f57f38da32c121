//! Storage of prices and of reporters' adaptive-charging settings and plans.

use async_trait::async_trait;
use model::PriceArea;
use model::charging::{Adaptive, Plan, PriceSlot, SiteGrid, SitePrices};

use super::StoreError;

/// A reporter's adaptive charging with what deciding needs of its site.
#[derive(Debug, Clone, PartialEq)]
pub struct ChargingRecord {
    pub reporter_id: i64,
    pub site_id: i64,
    pub time_zone: String,
    pub area: PriceArea,
    pub adaptive: Adaptive,
    pub plugged_in_ms: Option<i64>,
    pub plan: Option<Plan>,
    pub window: Option<(i64, i64)>,
    pub site_prices: SitePrices,
}

#[async_trait]
pub trait ChargingRepo: Send + Sync + 'static {
    /// Stores spot prices (SEK per kWh, excl. VAT), replacing earlier ones for the same slots.
    async fn store_prices(
        &self,
        area: PriceArea,
        slots: &[PriceSlot],
        source: &str,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// Spot prices of slots that start in [from, until), by time, with their source.
    async fn prices(
        &self,
        area: PriceArea,
        from_ms: i64,
        until_ms: i64,
    ) -> Result<(Vec<PriceSlot>, Option<String>), StoreError>;
    /// The price areas of every site.
    async fn price_areas(&self) -> Result<Vec<PriceArea>, StoreError>;

    async fn site_prices(&self, site_id: i64) -> Result<SitePrices, StoreError>;
    async fn set_site_prices(&self, site_id: i64, prices: &SitePrices) -> Result<(), StoreError>;

    /// The site's grid operator and tariff (none chosen when never set).
    async fn site_grid(&self, site_id: i64) -> Result<SiteGrid, StoreError>;
    /// Sets them; without an operator, forgets them.
    async fn set_site_grid(&self, site_id: i64, grid: &SiteGrid) -> Result<(), StoreError>;

    /// The reporter's adaptive charging (Off when never set).
    async fn charging(&self, reporter_id: i64) -> Result<Option<ChargingRecord>, StoreError>;
    /// Every reporter's that is not Off.
    async fn active_chargings(&self) -> Result<Vec<ChargingRecord>, StoreError>;
    async fn set_charging(
        &self,
        reporter_id: i64,
        adaptive: &Adaptive,
        plugged_in_ms: Option<i64>,
    ) -> Result<(), StoreError>;
    async fn set_plan(
        &self,
        reporter_id: i64,
        plan: Option<&Plan>,
        window: Option<(i64, i64)>,
    ) -> Result<(), StoreError>;
}

/// The peak guard as the `site_grid` row keeps it: its mode and level (W). A row the code no
/// longer understands (a level missing) is a guard that is off.
pub(crate) fn guard_from_row(mode: &str, guard_w: Option<i64>) -> model::charging::PeakGuard {
    use model::charging::PeakGuard;
    let w = guard_w.and_then(|w| u32::try_from(w).ok());
    match (mode, w) {
        ("billed", Some(start_w)) => PeakGuard::Billed { start_w },
        ("cap", Some(cap_w)) => PeakGuard::Cap { cap_w },
        _ => PeakGuard::Off,
    }
}

/// The level column of a guard.
pub(crate) fn guard_w(guard: model::charging::PeakGuard) -> Option<i64> {
    match guard {
        model::charging::PeakGuard::Off => None,
        model::charging::PeakGuard::Billed { start_w: w }
        | model::charging::PeakGuard::Cap { cap_w: w } => Some(i64::from(w)),
    }
}
