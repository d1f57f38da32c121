//! Time partitions on PostgreSQL: raw readings by UTC day, minute rollups by UTC month. They
//! are made ahead (at start-up and then by a supervised task), so a reading always lands in its
//! own partition; retention drops whole days. A partition is never made for a range that
//! already has rows in the default partition (PostgreSQL refuses that): those rows stay there,
//! and retention deletes them by rows.

use jiff::Timestamp;
use jiff::civil::Date;
use sqlx::PgPool;

use super::StoreError;

const DAY_MS: i64 = 86_400_000;

/// The UTC day starting at `ms` (floored), as (start ms, end ms, name suffix `YYYYMMDD`).
pub fn day_of(ms: i64) -> (i64, i64, String) {
    let start = ms.div_euclid(DAY_MS) * DAY_MS;
    let date = Timestamp::from_millisecond(start)
        .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).date())
        .unwrap_or(Date::constant(1970, 1, 1));
    (
        start,
        start + DAY_MS,
        format!("{:04}{:02}{:02}", date.year(), date.month(), date.day()),
    )
}

/// The UTC month containing `ms`, as (start ms, end ms, name suffix `YYYYMM`).
pub fn month_of(ms: i64) -> (i64, i64, String) {
    let date = Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).date())
        .unwrap_or(Date::constant(1970, 1, 1));
    let first = date.first_of_month();
    let next = first
        .checked_add(jiff::Span::new().months(1))
        .unwrap_or(first);
    let ms_of = |d: Date| {
        d.to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp().as_millisecond())
            .unwrap_or(0)
    };
    (
        ms_of(first),
        ms_of(next),
        format!("{:04}{:02}", first.year(), first.month()),
    )
}

/// The days of raw readings to have at `now_ms`: the retention window back, a few days ahead.
pub fn reading_days(now_ms: i64, retention_days: i64) -> Vec<(i64, i64, String)> {
    ((-retention_days - 1)..=3)
        .map(|d| day_of(now_ms + d * DAY_MS))
        .collect()
}

/// The months of minute rollups to have at `now_ms`: this one, the one before (backfills) and
/// the next two.
pub fn rollup_months(now_ms: i64) -> Vec<(i64, i64, String)> {
    let this = month_of(now_ms);
    let before = month_of(this.0 - 1);
    let next = month_of(this.1);
    let after = month_of(next.1);
    vec![before, this, next, after]
}

async fn exists(pool: &PgPool, name: &str) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(name)
        .fetch_one(pool)
        .await?)
}

/// Makes the partitions the table needs around `now_ms`; the number made.
pub async fn ensure(pool: &PgPool, now_ms: i64, retention_days: i64) -> Result<usize, StoreError> {
    let mut made = 0;
    let wanted = reading_days(now_ms, retention_days)
        .into_iter()
        .map(|(a, b, name)| ("readings", format!("readings_{name}"), a, b))
        .chain(
            rollup_months(now_ms)
                .into_iter()
                .map(|(a, b, name)| ("rollups_minute", format!("rollups_minute_{name}"), a, b)),
        );
    for (parent, name, from, to) in wanted {
        if exists(pool, &name).await? {
            continue;
        }
        // Names and bounds are ours (digits), never a user's: safe to format into the DDL.
        let ddl = format!(
            "CREATE TABLE IF NOT EXISTS {name} PARTITION OF {parent} FOR VALUES FROM ({from}) TO ({to})"
        );
        match sqlx::query(&ddl).execute(pool).await {
            Ok(_) => made += 1,
            // Rows of that range are in the default partition already (a backfill came first),
            // or another process made it a moment ago: either way, nothing to do.
            Err(sqlx::Error::Database(e))
                if e.code().is_some_and(|c| c == "23514" || c == "42P07") =>
            {
                tracing::debug!(partition = %name, error = %e, "partition not made");
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(made)
}

/// Drops the day partitions of raw readings that end at or before `cutoff_ms`; the readings
/// they held (as PostgreSQL estimates them).
pub async fn drop_readings_before(pool: &PgPool, cutoff_ms: i64) -> Result<u64, StoreError> {
    let partitions: Vec<(String, String, f32)> = sqlx::query_as(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), c.reltuples
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         JOIN pg_class p ON p.oid = i.inhparent
         WHERE p.relname = 'readings' AND c.relname LIKE 'readings\\_2%'",
    )
    .fetch_all(pool)
    .await?;
    let mut dropped = 0u64;
    for (name, bound, tuples) in partitions {
        let Some(end) = upper_bound(&bound) else {
            continue;
        };
        if end <= cutoff_ms {
            sqlx::query(&format!("DROP TABLE IF EXISTS {name}"))
                .execute(pool)
                .await?;
            dropped += tuples.max(0.0) as u64;
        }
    }
    Ok(dropped)
}

/// The upper bound of `FOR VALUES FROM ('…') TO ('…')`.
fn upper_bound(bound: &str) -> Option<i64> {
    let to = bound.split(" TO (").nth(1)?;
    to.trim_end_matches(')')
        .trim_matches(|c| c == '\'' || c == ')')
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_months_are_utc_and_whole() {
        // 2026-03-29 01:30 UTC (the night clocks go forward in Sweden: UTC days do not care).
        let t = 1_774_747_800_000;
        let (a, b, name) = day_of(t);
        assert_eq!((b - a, name.as_str()), (DAY_MS, "20260329"));
        assert!(a <= t && t < b);
        let (a, b, name) = month_of(t);
        assert_eq!(name, "202603");
        assert_eq!((b - a) / DAY_MS, 31);
        let months = rollup_months(t);
        let names: Vec<&str> = months.iter().map(|m| m.2.as_str()).collect();
        assert_eq!(names, ["202602", "202603", "202604", "202605"]);
        // December to January.
        let december = month_of(1_797_336_000_000);
        assert_eq!(month_of(december.1).2, "202701");
    }

    #[test]
    fn the_window_covers_retention_and_days_ahead() {
        let days = reading_days(1_774_747_800_000, 7);
        assert_eq!(days.len(), 12);
        assert_eq!(days.first().unwrap().2, "20260321");
        assert_eq!(days.last().unwrap().2, "20260401");
    }

    #[test]
    fn bounds_are_read_back() {
        assert_eq!(
            upper_bound("FOR VALUES FROM ('1774742400000') TO ('1774828800000')"),
            Some(1_774_828_800_000)
        );
        assert_eq!(upper_bound("DEFAULT"), None);
    }
}
