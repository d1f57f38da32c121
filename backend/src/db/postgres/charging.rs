//! [`ChargingRepo`] on PostgreSQL.

use async_trait::async_trait;
use model::PriceArea;
use model::charging::{Adaptive, Plan, PriceSlot, SiteGrid, SitePrices};
use sqlx::{Postgres, QueryBuilder};

use super::super::charging::{ChargingRecord, ChargingRepo};
use super::super::rows::ChargingRow;
use super::{PgRepo, StoreError};

/// Price slots per upsert: 6 binds each.
const SLOTS_PER_UPSERT: usize = 1000;

const CHARGING: &str = "
    SELECT r.id AS reporter_id, r.site_id, s.time_zone, s.price_area, c.settings, c.plugged_in_ms,
           c.plan, c.window_start, c.window_end,
           p.markup_ore, p.grid_fee_ore, p.energy_tax_ore, p.vat_percent
    FROM reporters r JOIN sites s ON s.id = r.site_id
    LEFT JOIN reporter_charging c ON c.reporter_id = r.id
    LEFT JOIN site_prices p ON p.site_id = r.site_id";

#[async_trait]
impl ChargingRepo for PgRepo {
    async fn store_prices(
        &self,
        area: PriceArea,
        slots: &[PriceSlot],
        source: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for chunk in slots.chunks(SLOTS_PER_UPSERT) {
            let mut query: QueryBuilder<Postgres> = QueryBuilder::new(
                "INSERT INTO price_slots (area, start_ms, end_ms, price, source, fetched_at) ",
            );
            query.push_values(chunk, |mut row, s| {
                row.push_bind(area.as_str())
                    .push_bind(s.start_ms)
                    .push_bind(s.end_ms)
                    .push_bind(s.price)
                    .push_bind(source)
                    .push_bind(now_ms);
            });
            query.push(
                " ON CONFLICT (area, start_ms) DO UPDATE SET end_ms = excluded.end_ms,
                  price = excluded.price, source = excluded.source, fetched_at = excluded.fetched_at",
            );
            query.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn prices(
        &self,
        area: PriceArea,
        from_ms: i64,
        until_ms: i64,
    ) -> Result<(Vec<PriceSlot>, Option<String>), StoreError> {
        let rows: Vec<(i64, i64, f64, String)> = sqlx::query_as(
            "SELECT start_ms, end_ms, price, source FROM price_slots
             WHERE area = $1 AND start_ms < $2 AND end_ms > $3 ORDER BY start_ms",
        )
        .bind(area.as_str())
        .bind(until_ms)
        .bind(from_ms)
        .fetch_all(self.pool())
        .await?;
        let source = rows.last().map(|r| r.3.clone());
        Ok((
            rows.into_iter()
                .map(|(start_ms, end_ms, price, _)| PriceSlot {
                    start_ms,
                    end_ms,
                    price,
                })
                .collect(),
            source,
        ))
    }

    async fn price_areas(&self) -> Result<Vec<PriceArea>, StoreError> {
        let areas: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT price_area FROM sites ORDER BY price_area")
                .fetch_all(self.pool())
                .await?;
        Ok(areas
            .iter()
            .filter_map(|a| PriceArea::parse(a).ok())
            .collect())
    }

    async fn site_prices(&self, site_id: i64) -> Result<SitePrices, StoreError> {
        let row: Option<(Option<f64>, Option<f64>, Option<f64>, Option<f64>)> = sqlx::query_as(
            "SELECT markup_ore, grid_fee_ore, energy_tax_ore, vat_percent FROM site_prices
             WHERE site_id = $1",
        )
        .bind(site_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(
            row.map_or_else(SitePrices::default, |(m, g, t, v)| SitePrices {
                markup_ore: m,
                grid_fee_ore: g,
                energy_tax_ore: t,
                vat_percent: v,
            }),
        )
    }

    async fn set_site_prices(&self, site_id: i64, p: &SitePrices) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO site_prices (site_id, markup_ore, grid_fee_ore, energy_tax_ore, vat_percent)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (site_id) DO UPDATE SET markup_ore = excluded.markup_ore,
                 grid_fee_ore = excluded.grid_fee_ore, energy_tax_ore = excluded.energy_tax_ore,
                 vat_percent = excluded.vat_percent",
        )
        .bind(site_id)
        .bind(p.markup_ore)
        .bind(p.grid_fee_ore)
        .bind(p.energy_tax_ore)
        .bind(p.vat_percent)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn site_grid(&self, site_id: i64) -> Result<SiteGrid, StoreError> {
        let row: Option<(String, Option<String>, String, Option<i64>)> = sqlx::query_as(
            "SELECT operator, tariff, guard, guard_w FROM site_grid WHERE site_id = $1",
        )
        .bind(site_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(
            row.map_or_else(SiteGrid::default, |(operator, tariff, guard, guard_w)| {
                SiteGrid {
                    operator: Some(operator),
                    tariff,
                    guard: crate::db::charging::guard_from_row(&guard, guard_w),
                }
            }),
        )
    }

    async fn set_site_grid(&self, site_id: i64, grid: &SiteGrid) -> Result<(), StoreError> {
        match &grid.operator {
            None => {
                sqlx::query("DELETE FROM site_grid WHERE site_id = $1")
                    .bind(site_id)
                    .execute(self.pool())
                    .await?;
            }
            Some(operator) => {
                sqlx::query(
                    "INSERT INTO site_grid (site_id, operator, tariff, guard, guard_w)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (site_id) DO UPDATE SET operator = excluded.operator,
                         tariff = excluded.tariff, guard = excluded.guard,
                         guard_w = excluded.guard_w",
                )
                .bind(site_id)
                .bind(operator)
                .bind(&grid.tariff)
                .bind(grid.guard.mode())
                .bind(crate::db::charging::guard_w(grid.guard))
                .execute(self.pool())
                .await?;
            }
        }
        Ok(())
    }

    async fn charging(&self, reporter_id: i64) -> Result<Option<ChargingRecord>, StoreError> {
        sqlx::query_as::<_, ChargingRow>(&format!("{CHARGING} WHERE r.id = $1"))
            .bind(reporter_id)
            .fetch_optional(self.pool())
            .await?
            .map(ChargingRow::into_record)
            .transpose()
    }

    async fn active_chargings(&self) -> Result<Vec<ChargingRecord>, StoreError> {
        sqlx::query_as::<_, ChargingRow>(&format!(
            "{CHARGING} WHERE c.settings IS NOT NULL AND (c.settings::json ->> 'mode') <> 'off'
             ORDER BY r.id"
        ))
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(ChargingRow::into_record)
        .collect()
    }

    async fn set_charging(
        &self,
        reporter_id: i64,
        adaptive: &Adaptive,
        plugged_in_ms: Option<i64>,
    ) -> Result<(), StoreError> {
        let json =
            serde_json::to_string(adaptive).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO reporter_charging (reporter_id, settings, plugged_in_ms)
             VALUES ($1, $2, $3)
             ON CONFLICT (reporter_id) DO UPDATE SET settings = excluded.settings,
                 plugged_in_ms = excluded.plugged_in_ms",
        )
        .bind(reporter_id)
        .bind(json)
        .bind(plugged_in_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn set_plan(
        &self,
        reporter_id: i64,
        plan: Option<&Plan>,
        window: Option<(i64, i64)>,
    ) -> Result<(), StoreError> {
        let json = plan
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "UPDATE reporter_charging SET plan = $1, window_start = $2, window_end = $3
             WHERE reporter_id = $4",
        )
        .bind(json)
        .bind(window.map(|w| w.0))
        .bind(window.map(|w| w.1))
        .bind(reporter_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
