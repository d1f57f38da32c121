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
