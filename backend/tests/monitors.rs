//! Monitors against a real SQLite database: registration, device tokens, ingest (idempotent,
//! out of order, group-committed), rollups and history, live fan-out, and who may see what.

use backend::monitors::{self, DeviceRefusal};
use backend::readings::Reading;
use backend::{Database, Error, Services, accounts, sites};
use jiff::Timestamp;
use model::monitor::{History, HistoryView, MonitorInput};
use model::{Account, Role, SiteInput};

const PASSWORD: &str = "Kvarnvägen-Laddbox-42";

struct World {
    s: Services,
    anna: Account,
    site: i64,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let url = backend::testing::database_url(dir.path()).await;
    world_on(Database::connect(&url).await.unwrap(), dir).await
}

/// Anna and her site on `db` (its files in `dir`).
async fn world_on(db: Database, dir: tempfile::TempDir) -> World {
    let s = Services::new(&db);
    s.ingest.spawn_detached();
    let anna = accounts::sign_up(&s, "anna@example.se", PASSWORD, Role::Owner, None)
        .await
        .unwrap()
        .account()
        .unwrap();
    let site = sites::create(&s, &anna, &site_input("Villa Ek"), "")
        .await
        .unwrap();
    World {
        s,
        anna,
        site,
        _dir: dir,
    }
}

fn site_input(name: &str) -> SiteInput {
    SiteInput {
        name: name.into(),
        address: "Ekvägen 3, Uppsala".into(),
        time_zone: "Europe/Stockholm".into(),
        price_area: "SE3".into(),
        main_fuse_a: "20".into(),
    }
}

fn monitor_input(site: i64, name: &str) -> MonitorInput {
    MonitorInput {
        site_id: site.to_string(),
        name: name.into(),
        phases: "3".into(),
        kind: "http".into(),
    }
}

fn reading(ts: i64, i: [f64; 3], import: f64) -> Reading {
    Reading {
        ts,
        current_a: i.map(Some),
        import_kwh: Some(import),
        export_kwh: Some(0.0),
        ..Reading::default()
    }
}

impl World {
    /// The minute bucket starting at `t` in Anna's history of the monitor's local day.
    async fn minute(&self, monitor_id: i64, t: i64) -> model::monitor::HistoryBucket {
        self.history(monitor_id, HistoryView::Day, Some(&local_date(t)))
            .await
            .buckets
            .into_iter()
            .find(|b| b.start == t)
            .expect("the minute's bucket")
    }

    /// Anna's history of a monitor.
    async fn history(&self, monitor_id: i64, view: HistoryView, date: Option<&str>) -> History {
        monitors::history(&self.s, &self.anna, monitor_id, view, date)
            .await
            .unwrap()
    }

    /// Registers a monitor on Anna's site: its token and what a device request resolves to.
    async fn device(&self, name: &str) -> (model::monitor::DeviceToken, backend::DeviceRecord) {
        let token = monitors::create(&self.s, &self.anna, &monitor_input(self.site, name))
            .await
            .unwrap();
        let device = monitors::authorize(&self.s, token.monitor_id, Some(&token.token))
            .await
            .unwrap()
            .unwrap();
        (token, device)
    }
}

fn local_date(ts: i64) -> String {
    Timestamp::from_millisecond(ts)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::get("Europe/Stockholm").unwrap())
        .date()
        .to_string()
}

fn minutes_ago(m: i64) -> i64 {
    // Whole minutes, so the test's readings fall in predictable buckets.
    (monitors::now_ms() / 60_000 - m) * 60_000
}

#[tokio::test]
async fn the_first_monitor_measures_the_total_until_another_is_chosen() {
    let w = world().await;
    let first = monitors::create(&w.s, &w.anna, &monitor_input(w.site, "Mains"))
        .await
        .unwrap();
    let second = monitors::create(&w.s, &w.anna, &monitor_input(w.site, "Garage"))
        .await
        .unwrap();
    let totals = |list: Vec<model::Monitor>| {
        list.into_iter()
            .map(|m| (m.name, m.is_total))
            .collect::<Vec<_>>()
    };
    let list = monitors::list(&w.s, &w.anna).await.unwrap();
    assert_eq!(
        totals(list),
        [("Garage".to_string(), false), ("Mains".to_string(), true)]
    );
    monitors::make_total(&w.s, &w.anna, second.monitor_id)
        .await
        .unwrap();
    let list = monitors::list(&w.s, &w.anna).await.unwrap();
    assert_eq!(
        totals(list),
        [("Garage".to_string(), true), ("Mains".to_string(), false)]
    );
    assert_ne!(first.token, second.token);
}

#[tokio::test]
async fn a_token_speaks_for_its_own_monitor_only_and_rotating_retires_it() {
    let w = world().await;
    let a = monitors::create(&w.s, &w.anna, &monitor_input(w.site, "A"))
        .await
        .unwrap();
    let b = monitors::create(&w.s, &w.anna, &monitor_input(w.site, "B"))
        .await
        .unwrap();
    let refusal = |r: Result<Result<_, DeviceRefusal>, Error>| r.unwrap().err();
    assert_eq!(
        refusal(monitors::authorize(&w.s, a.monitor_id, Some(&a.token)).await),
        None
    );
    assert_eq!(
        refusal(monitors::authorize(&w.s, b.monitor_id, Some(&a.token)).await),
        Some(DeviceRefusal::WrongToken)
    );
    assert_eq!(
        refusal(monitors::authorize(&w.s, a.monitor_id, None).await),
        Some(DeviceRefusal::MissingToken)
    );
    assert_eq!(
        refusal(monitors::authorize(&w.s, 999, Some(&a.token)).await),
        Some(DeviceRefusal::UnknownMonitor)
    );
    let rotated = monitors::rotate_token(&w.s, &w.anna, a.monitor_id)
        .await
        .unwrap();
    assert_eq!(
        refusal(monitors::authorize(&w.s, a.monitor_id, Some(&a.token)).await),
        Some(DeviceRefusal::WrongToken)
    );
    assert_eq!(
        refusal(monitors::authorize(&w.s, a.monitor_id, Some(&rotated.token)).await),
        None
    );
}

#[tokio::test]
async fn readings_are_stored_once_in_any_order_and_rolled_up() {
    let w = world().await;
    let (token, device) = w.device("Mains").await;
    let t = minutes_ago(10);
    let batch = vec![
        reading(t + 20_000, [12.0, 2.0, -3.0], 100.2),
        reading(t, [8.0, 1.0, -1.0], 100.0),
        reading(t + 10_000, [10.0, 3.0, -2.0], 100.1),
    ];
    let first = monitors::ingest(&w.s, &device, batch.clone())
        .await
        .unwrap();
    assert_eq!((first.stored, first.duplicates), (3, 0));
    let again = monitors::ingest(&w.s, &device, batch).await.unwrap();
    assert_eq!((again.stored, again.duplicates), (0, 3));
    let late = monitors::ingest(
        &w.s,
        &device,
        vec![reading(t + 30_000, [6.0, 2.0, -2.0], 100.3)],
    )
    .await
    .unwrap();
    assert_eq!(late.stored, 1);

    // The local day of the readings (just after midnight, that is yesterday).
    let day = local_date(t);
    let history = w
        .history(token.monitor_id, HistoryView::Day, Some(&day))
        .await;
    let minute = history
        .buckets
        .iter()
        .find(|b| b.start == t)
        .expect("the minute's bucket");
    assert_eq!(minute.readings, 4, "duplicates are not counted twice");

    let l1 = minute.phases[0].unwrap();
    assert_eq!((l1.min, l1.mean, l1.max), (6.0, 9.0, 12.0));
    let l3 = minute.phases[2].unwrap();
    assert_eq!((l3.min, l3.max), (-3.0, -1.0));
    assert!(
        (history.import_kwh - 0.3).abs() < 1e-9,
        "{}",
        history.import_kwh
    );

    // Paging: a past day leads on to the next; today has nothing after it.
    let today = w.history(token.monitor_id, HistoryView::Day, None).await;
    assert_eq!(today.next, None, "nothing to page to after today");
    let yesterday = w
        .history(token.monitor_id, HistoryView::Day, Some(&today.previous))
        .await;
    assert_eq!(yesterday.next.as_deref(), Some(today.from.as_str()));

    let snapshot = monitors::snapshot(&w.s, &w.anna, w.site)
        .await
        .unwrap()
        .unwrap();
    let times: Vec<i64> = snapshot.points.iter().map(|p| p.ts - t).collect();
    assert_eq!(times, [20_000, 0, 10_000, 30_000], "arrival order");
    assert_eq!(snapshot.last_seq, snapshot.points[3].seq);
}

#[tokio::test]
async fn concurrent_requests_are_all_stored_and_published_after_commit() {
    let w = world().await;
    let (token, device) = w.device("Mains").await;
    let mut live = w.s.hub.subscribe(token.monitor_id);
    // Within the live window, which is what the hub publishes.
    let t = minutes_ago(10);
    let tasks: Vec<_> = (0..20)
        .map(|k| {
            let (s, device) = (w.s.clone(), device.clone());
            tokio::spawn(async move {
                let batch = (0..50)
                    .map(|j| reading(t + (k * 50 + j) * 500, [5.0, 5.0, 5.0], 1.0))
                    .collect();
                monitors::ingest(&s, &device, batch).await.unwrap().stored
            })
        })
        .collect();
    let mut stored = 0;
    for task in tasks {
        stored += task.await.unwrap();
    }
    assert_eq!(stored, 1000);
    let mut published = 0;
    while let Ok(points) = live.try_recv() {
        published += points.points.len();
    }
    assert_eq!(published, 1000);
}

#[tokio::test]
async fn nobody_reaches_a_monitor_on_a_site_that_is_not_theirs() {
    let w = world().await;
    let token = monitors::create(&w.s, &w.anna, &monitor_input(w.site, "Mains"))
        .await
        .unwrap();
    let bo = accounts::sign_up(&w.s, "bo@example.se", PASSWORD, Role::Owner, None)
        .await
        .unwrap()
        .account()
        .unwrap();
    let id = token.monitor_id;
    assert!(monitors::list(&w.s, &bo).await.unwrap().is_empty());
    assert!(matches!(
        monitors::get(&w.s, &bo, id).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        monitors::history(&w.s, &bo, id, HistoryView::Day, None).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        monitors::snapshot(&w.s, &bo, w.site).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        monitors::rotate_token(&w.s, &bo, id).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        monitors::delete(&w.s, &bo, id).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        monitors::create(&w.s, &bo, &monitor_input(w.site, "Sneaky")).await,
        Err(Error::Invalid(e)) if e.field == "site_id"
    ));
    // Anna's monitor is untouched.
    assert!(
        monitors::authorize(&w.s, id, Some(&token.token))
            .await
            .unwrap()
            .is_ok()
    );
}

#[tokio::test]
async fn raw_readings_past_retention_are_pruned_but_rollups_stay() {
    let w = world().await;
    let (token, device) = w.device("Mains").await;
    let day = 86_400_000;
    let old = minutes_ago(0) - 6 * day;
    monitors::ingest(&w.s, &device, vec![reading(old, [4.0; 3], 1.0)])
        .await
        .unwrap();
    let short = w.s.clone().with_raw_retention_days(5);
    assert_eq!(monitors::prune(&short).await.unwrap(), 1);
    let date = local_date(old);
    let history = w
        .history(token.monitor_id, HistoryView::Month, Some(&date))
        .await;
    assert_eq!(history.buckets.iter().map(|b| b.readings).sum::<i64>(), 1);
}

/// Many devices' requests are stored together; one for a monitor deleted meanwhile fails alone,
/// and a reading two requests carry is stored once, for the first.
#[tokio::test]
async fn a_group_of_requests_is_stored_together_and_fails_apart() {
    use backend::db::WriteJob;
    let w = world().await;
    let a = monitors::create(&w.s, &w.anna, &monitor_input(w.site, "A"))
        .await
        .unwrap()
        .monitor_id;
    let b = monitors::create(&w.s, &w.anna, &monitor_input(w.site, "B"))
        .await
        .unwrap()
        .monitor_id;
    let t = Timestamp::now().as_millisecond() - 60_000;
    let tz = jiff::tz::TimeZone::get("Europe/Stockholm").unwrap();
    let job = |monitor: i64, times: &[i64]| WriteJob {
        monitor_id: monitor,
        tz: tz.clone(),
        readings: times
            .iter()
            .map(|k| reading(t + k * 1000, [5.0; 3], 1.0))
            .collect(),
    };
    let stored = |r: &Result<Vec<model::monitor::LivePoint>, backend::StoreError>| {
        r.as_ref()
            .map(|p| p.iter().map(|p| (p.ts - t) / 1000).collect::<Vec<_>>())
            .ok()
    };
    // All well: one statement set for all three.
    let results =
        w.s.monitors
            .store_readings(&[job(a, &[0, 1]), job(b, &[0]), job(a, &[1, 2])])
            .await
            .unwrap();
    let got: Vec<_> = results.iter().map(stored).collect();
    assert_eq!(got, [Some(vec![0, 1]), Some(vec![0]), Some(vec![2])]);
    // A monitor that no longer exists: its job fails, the others are stored.
    let results =
        w.s.monitors
            .store_readings(&[job(a, &[3]), job(999_999, &[3]), job(b, &[3])])
            .await
            .unwrap();
    let got: Vec<_> = results.iter().map(stored).collect();
    assert_eq!(got, [Some(vec![3]), None, Some(vec![3])]);
    let newest = w.s.monitors.latest_point(a).await.unwrap().unwrap();
    assert_eq!(newest.ts, t + 3000);
    // Every stored reading counts once in the rollups.
    let rows =
        w.s.monitors
            .rollups(
                a,
                model::monitor::Resolution::Hour,
                t - 3_600_000,
                t + 3_600_000,
            )
            .await
            .unwrap();
    assert_eq!(rows.iter().map(|(_, agg)| agg.n).sum::<i64>(), 4);
}

/// What a process reads after hearing that other processes committed readings: several
/// monitors' ranges in one call, each reading once, with its monitor, in arrival order.
#[tokio::test]
async fn several_monitors_new_readings_are_read_together_within_their_ranges() {
    let w = world().await;
    let (a, a_device) = w.device("Mains").await;
    let (b, b_device) = w.device("Garage").await;
    let (c, c_device) = w.device("Barn").await;
    let t = minutes_ago(10);
    let mut seqs = std::collections::HashMap::new();
    for (id, device) in [
        (a.monitor_id, &a_device),
        (b.monitor_id, &b_device),
        (c.monitor_id, &c_device),
    ] {
        let batch = (0..5)
            .map(|j| reading(t + j * 1_000, [id as f64, 1.0, 1.0], 1.0))
            .collect();
        monitors::ingest(&w.s, device, batch).await.unwrap();
        let points = w.s.monitors.live_points(id, 0, t, 100).await.unwrap();
        seqs.insert(id, points.iter().map(|p| p.seq).collect::<Vec<_>>());
    }
    let range = |id: i64, from: usize, to: usize| backend::db::SeqRange {
        monitor_id: id,
        after_seq: seqs[&id][from] - 1,
        upto_seq: seqs[&id][to],
    };
    // A: readings 1..=3 of 0..5; B: all five but at most 2 (the limit); C: not asked for.
    let got =
        w.s.monitors
            .live_points_of(
                &[range(a.monitor_id, 1, 3), range(b.monitor_id, 0, 4)],
                t,
                2,
            )
            .await
            .unwrap();
    let got: Vec<(i64, i64)> = got.iter().map(|(m, p)| (*m, p.seq)).collect();
    let mut want = vec![
        (a.monitor_id, seqs[&a.monitor_id][1]),
        (a.monitor_id, seqs[&a.monitor_id][2]),
        (b.monitor_id, seqs[&b.monitor_id][0]),
        (b.monitor_id, seqs[&b.monitor_id][1]),
    ];
    want.sort();
    let mut got_sorted = got.clone();
    got_sorted.sort();
    assert_eq!(got_sorted, want);
    // Each monitor's readings come together and in arrival order.
    let a_first = got.iter().position(|(m, _)| *m == a.monitor_id).unwrap();
    assert_eq!(got[a_first + 1].0, a.monitor_id);
    assert!(got[a_first].1 < got[a_first + 1].1);
    // Nothing before `since`.
    let none =
        w.s.monitors
            .live_points_of(&[range(c.monitor_id, 0, 4)], t + 60_000, 100)
            .await
            .unwrap();
    assert!(none.is_empty(), "{none:?}");
}

/// The site page's capacity charge: nothing until the site has a grid operator; then this
/// month's counted hours from the total monitor's hourly rollups under the operator's rule —
/// here Göteborg Energi's usual tariff, which counts every hour at 45 kr per kW. The hour under
/// way has drawn 6.9 kW (10 A on three phases) since it began.
#[tokio::test]
async fn the_capacity_charge_so_far_follows_the_operators_rule() {
    use backend::charging::{capacity_month, set_site_grid};
    use model::charging::SiteGridInput;
    let w = world().await;
    let (_, device) = w.device("Mains").await;
    let now = monitors::now_ms();
    let hour_start = Timestamp::from_millisecond(now)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::get("Europe/Stockholm").unwrap())
        .round(
            jiff::ZonedRound::new()
                .smallest(jiff::Unit::Hour)
                .mode(jiff::RoundMode::Trunc),
        )
        .unwrap()
        .timestamp()
        .as_millisecond();
    let batch: Vec<Reading> = (hour_start..=now)
        .step_by(10_000)
        .enumerate()
        .map(|(n, ts)| reading(ts, [10.0; 3], 100.0 + n as f64 * 0.02))
        .collect();
    monitors::ingest(&w.s, &device, batch).await.unwrap();
    assert_eq!(
        capacity_month(&w.s, &w.anna, w.site).await.unwrap(),
        None,
        "no operator chosen"
    );
    let grid = SiteGridInput {
        operator: "goteborg-energi".into(),
        ..SiteGridInput::default()
    };
    set_site_grid(&w.s, &w.anna, w.site, &grid).await.unwrap();
    let month = capacity_month(&w.s, &w.anna, w.site)
        .await
        .unwrap()
        .expect("a month");
    assert_eq!(month.operator, "Göteborg Energi");
    assert_eq!(month.peaks.len(), 1, "{month:?}");
    assert!((month.peaks[0].kw - 6.9).abs() < 0.01, "{month:?}");
    assert!((month.billed_kw - 6.9).abs() < 0.01, "{month:?}");
    assert!((month.cost_sek - 6.9 * 45.0).abs() < 0.5, "{month:?}");
    let hour = month.hour.expect("the hour under way");
    assert!(hour.counted, "every hour counts under this tariff");
    assert!((hour.so_far_kw - 6.9).abs() < 0.01, "{hour:?}");
    assert!((hour.projected_kw - 6.9).abs() < 0.01, "{hour:?}");
}

/// SQLite keeps rollups in memory and writes them behind the readings. A crash before they were
/// written loses none of them (the repo opened again counts the readings its rollups lack), and
/// a monitor deleted meanwhile does not stop the others' from being written.
#[rstest::rstest]
#[case::crash_before_the_rollups_were_written(false)]
#[case::a_monitor_deleted_while_its_rollups_waited(true)]
#[tokio::test]
async fn rollups_written_behind_lose_nothing(#[case] delete_one: bool) {
    use backend::db::SqliteRepo;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("behind.db").display());
    // Written only when read: an hour is longer than this test.
    let repo =
        SqliteRepo::connect_writing_rollups_every(&url, std::time::Duration::from_secs(3600))
            .await
            .unwrap();
    let w = world_on(Database::Sqlite(repo.clone()), dir).await;
    let (gone, gone_device) = w.device("Garage").await;
    let (token, device) = w.device("Mains").await;
    let t = minutes_ago(30);
    let readings: Vec<Reading> = (0..6)
        .map(|k| reading(t + k * 10_000, [6.0 + k as f64; 3], 100.0 + k as f64 * 0.1))
        .collect();
    monitors::ingest(&w.s, &gone_device, readings.clone())
        .await
        .unwrap();
    assert_eq!(
        monitors::ingest(&w.s, &device, readings)
            .await
            .unwrap()
            .stored,
        6
    );
    let counted = || async {
        sqlx::query_scalar::<_, i64>("SELECT coalesce(sum(n), 0) FROM rollups WHERE period = 'h'")
            .fetch_one(repo.pool())
            .await
            .unwrap()
    };
    assert_eq!(counted().await, 0, "the rollups wait in memory");
    let w = if delete_one {
        monitors::delete(&w.s, &w.anna, gone.monitor_id)
            .await
            .unwrap();
        w
    } else {
        // The crash: the process is gone with what it kept in memory; the same file opened again.
        let s = Services::new(&Database::connect(&url).await.unwrap());
        s.ingest.spawn_detached();
        World { s, ..w }
    };
    // A read writes what waits first; the history has every reading.
    let minute = w.minute(token.monitor_id, t).await;
    assert_eq!(minute.readings, 6);
    let l1 = minute.phases[0].unwrap();
    assert_eq!((l1.min, l1.mean, l1.max), (6.0, 8.5, 11.0));
    let both = if delete_one { 6 } else { 12 };
    assert_eq!(
        counted().await,
        both,
        "the hour's rollups of the monitors that are left"
    );
}
