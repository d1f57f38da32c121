//! Several real `ampwise` processes on one PostgreSQL database, as `scripts/run.sh --cluster`
//! runs them: what one process is told, a page served by another shows; a revoke on one ends a
//! stream on another; when one is killed, another forwards its reporters, never two at once.
//!
//! They need PostgreSQL (`AMPWISE_TEST_POSTGRES`, which `scripts/test.sh` sets); on SQLite, one
//! process by design, they say so and have nothing to check.

mod common;

use std::time::{Duration, Instant};

use common::{Cloud, Events, PASSWORD, Running, enc};
use rstest::rstest;
use serde_json::{Value, json};

/// A site root with the one file the pages link to.
fn site_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
    std::fs::write(dir.path().join("pkg").join("ampwise.css"), "body{}").unwrap();
    dir
}

/// The shared database, or `None` (and a note) on SQLite.
async fn shared_database(test: &str) -> Option<String> {
    match std::env::var(backend::testing::POSTGRES_ENV) {
        Ok(server) => Some(backend::testing::fresh_postgres(&server).await),
        Err(_) => {
            // scripts/test.sh requires it (the run on PostgreSQL must not pass by skipping).
            assert!(
                std::env::var_os("AMPWISE_REQUIRE_POSTGRES").is_none(),
                "{test}: AMPWISE_REQUIRE_POSTGRES is set but AMPWISE_TEST_POSTGRES is not"
            );
            eprintln!("{test}: needs PostgreSQL (set AMPWISE_TEST_POSTGRES); nothing to check");
            None
        }
    }
}

/// The process called `name` on `db`, forwarding to `cloud`.
async fn process(
    name: &str,
    db: &str,
    site: &tempfile::TempDir,
    cloud: &Cloud,
) -> (tokio::process::Child, Running) {
    let env = [
        ("AMPWISE_INSTANCE", name.to_string()),
        (
            "AMPWISE_CHARGE_AMPS_URL",
            format!("{}/measurement", cloud.url),
        ),
        ("AMPWISE_LICENCE_KEY", "5a".repeat(32)),
        ("AMPWISE_SIGN_UPS_PER_HOUR", "100000".to_string()),
        ("AMPWISE_REDEEMS_PER_HOUR", "100000".to_string()),
    ];
    Running::start_binary_with(&[], db, site.path(), &env).await
}

/// A reading measured now (to the millisecond), posted as the meter does: its time.
async fn post_now(server: &Running, monitor: i64, token: &str, l: f64) -> i64 {
    let (status, ts) = post_with(server, monitor, token, l).await;
    assert_eq!(status, 200);
    ts
}

/// A reading posted with `token`: the answer's status.
async fn try_post(server: &Running, monitor: i64, token: &str) -> u16 {
    post_with(server, monitor, token, 5.0).await.0
}

/// `l` amperes on every phase, measured now: (the answer's status, the reading's time).
async fn post_with(server: &Running, monitor: i64, token: &str, l: f64) -> (u16, i64) {
    let ts = jiff::Timestamp::now().as_millisecond();
    let body = json!({"readings": [{"ts": jiff::Timestamp::from_millisecond(ts).unwrap().to_string(), "current_a": [l, l, l]}]});
    let r = server
        .client
        .post(format!(
            "{}/api/v1/monitors/{monitor}/readings",
            server.base
        ))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), ts)
}

async fn open_stream(server: &Running, path: &str, cookie: &str) -> Events {
    let r = server
        .client
        .get(format!("{}{path}", server.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    Events::new(r)
}

/// A Charge Amps reporter on `site`, saved through the wizard's calls, and registered in the
/// simulated Partner with a load balancer: (reporter, serial).
async fn charge_amps_reporter(
    server: &Running,
    cloud: &Cloud,
    cookie: &str,
    site: i64,
    monitor: i64,
) -> (i64, String) {
    let code = server.mint_licence().await;
    let r = server
        .call("redeem_licence", Some(cookie), format!("code={code}"))
        .await;
    assert_eq!(r.status(), 200);
    let creds: Value = server
        .call("new_reporter_credentials", Some(cookie), String::new())
        .await
        .json()
        .await
        .unwrap();
    let serial = creds["serial"].as_str().unwrap().to_string();
    let form = common::reporter_form(
        site,
        "charge_amps",
        "Charge Amps charge control",
        &serial,
        20,
        monitor,
    );
    let reporter: i64 = server
        .call("create_reporter", Some(cookie), form)
        .await
        .json()
        .await
        .unwrap();
    let device = json!({"serial": serial, "pin": creds["pin"]});
    assert_eq!(
        cloud
            .send(reqwest::Method::POST, "/api/devices", device)
            .await,
        201
    );
    let lb = json!({"name": format!("Site {site}"), "supply_max_current_a": 20, "device": serial,
                    "chargers": [{"name": "Garage", "phases": "3", "max_current_a": 16, "wants_a": 16}]});
    assert_eq!(
        cloud
            .send(reqwest::Method::POST, "/api/load-balancers", lb)
            .await,
        201
    );
    (reporter, serial)
}

#[tokio::test]
async fn a_page_on_one_process_shows_what_another_is_told() {
    let Some(db) = shared_database("a_page_on_one_process_shows_what_another_is_told").await else {
        return;
    };
    let (site_dir, cloud) = (site_root(), Cloud::start().await);
    let (_a_child, a) = process("a", &db, &site_dir, &cloud).await;
    let (_b_child, b) = process("b", &db, &site_dir, &cloud).await;
    let (cookie, site, monitor, token) = a.household().await;

    // Signed in on A, the same session on B.
    let me = b.call("me", Some(&cookie), String::new()).await;
    assert_eq!(me.status(), 200);
    assert_eq!(
        me.json::<Value>().await.unwrap()["email"],
        "anna@example.se"
    );

    // The live graph on B moves with readings posted to A: every one of them, in order.
    let mut live = open_stream(&b, &format!("/api/v1/monitors/{monitor}/live"), &cookie).await;
    for (name, current) in [("first", 7.0), ("second", 9.5), ("third", 12.0)] {
        let posted = post_now(&a, monitor, &token, current).await;
        let started = Instant::now();
        let (_, point) = tokio::time::timeout(Duration::from_secs(2), live.next())
            .await
            .unwrap_or_else(|_| panic!("{name}: no live event on B within 2 s"));
        assert_eq!(point["ts"], posted, "{name}: {point}");
        assert_eq!(point["i"], json!([current, current, current]), "{name}");
        eprintln!(
            "{name}: posted to A, shown on B after {:?}",
            started.elapsed()
        );
    }

    // A new device token from A's page: B, which knew the old one, refuses it within a second
    // (its cache of tokens heard) and takes the new one.
    assert_eq!(
        try_post(&b, monitor, &token).await,
        200,
        "B knows the token"
    );
    let rotated: Value = a
        .client
        .post(format!("{}/api/rotate_monitor_token", a.base))
        .header("cookie", &cookie)
        .json(&json!({"id": monitor}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_token = rotated["token"].as_str().unwrap().to_string();
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(1), async {
        while try_post(&b, monitor, &token).await != 401 {
            tokio::time::sleep(Duration::from_millis(10)).await; // polling, not waiting it out
        }
    })
    .await
    .expect("B refused the rotated token within 1 s");
    eprintln!("the old token refused on B after {:?}", started.elapsed());
    assert_eq!(try_post(&b, monitor, &new_token).await, 200);
    let token = new_token;

    // A reporter saved on A: its status on B's page turns ACTIVE (accepted) as it is forwarded,
    // whichever process forwards it.
    let mut statuses = open_stream(&b, "/api/v1/reporters/live", &cookie).await;
    let (reporter, _) = charge_amps_reporter(&a, &cloud, &cookie, site, monitor).await;
    let accepted = tokio::time::timeout(Duration::from_secs(20), async {
        let mut pace = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                _ = pace.tick() => { post_now(&a, monitor, &token, 5.0).await; }
                (_, event) = statuses.next() => {
                    let facts = &event["facts"];
                    if event["id"] == reporter
                        && facts["accepted_at"].as_i64() > facts["failed_at"].as_i64()
                    {
                        return facts.clone();
                    }
                }
            }
        }
    })
    .await
    .expect("B's page showed the reporter accepted within 20 s");
    assert!(accepted["accepted_at"].as_i64().is_some());
}

/// However access ends on one process, a live stream another process serves ends within 2 s.
#[rstest]
#[case::installer_revoked("revoke_access")]
#[case::installer_signed_out("log_out")]
#[case::site_deleted("delete_site")]
#[tokio::test]
async fn a_revoke_on_one_process_ends_a_stream_on_another(#[case] how: &str) {
    let Some(db) = shared_database(how).await else {
        return;
    };
    let (site_dir, cloud) = (site_root(), Cloud::start().await);
    let (_a_child, a) = process("a", &db, &site_dir, &cloud).await;
    let (_b_child, b) = process("b", &db, &site_dir, &cloud).await;
    let (anna, site, monitor, token) = a.household().await;
    let form = format!(
        "email=ida%40installer.se&password={}&role=installer",
        enc(PASSWORD)
    );
    let ida = Running::cookie_of(&a.call("sign_up", None, form).await);
    let ida_id = a
        .call("me", Some(&ida), String::new())
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let granted = a
        .call(
            "grant_access",
            Some(&anna),
            format!("id={site}&email=ida%40installer.se"),
        )
        .await;
    assert_eq!(granted.status(), 200);

    // Ida watches on B; the stream works.
    let mut events = open_stream(&b, &format!("/api/v1/monitors/{monitor}/live"), &ida).await;
    post_now(&a, monitor, &token, 6.0).await;
    events.next().await;

    let (who, form) = match how {
        "revoke_access" => (&anna, format!("id={site}&account_id={ida_id}")),
        "log_out" => (&ida, String::new()),
        "delete_site" => (&anna, format!("id={site}")),
        other => unreachable!("{other}"),
    };
    let started = Instant::now();
    assert_eq!(a.call(how, Some(who), form).await.status(), 200, "{how}");
    assert!(
        events.ends_within(Duration::from_secs(2)).await,
        "B's stream went on more than 2 s after {how} on A"
    );
    eprintln!("{how} on A: B's stream ended after {:?}", started.elapsed());
    // And B refuses a new one.
    let again = b
        .client
        .get(format!("{}/api/v1/monitors/{monitor}/live", b.base))
        .header("cookie", &ida)
        .send()
        .await
        .unwrap();
    assert_ne!(again.status(), 200, "{how}: B opened a new stream");
}

/// Reporters spread over two processes; one is killed (SIGKILL, no goodbye): within 15 s every
/// reporter it held reaches Charge Amps again through the other, and the simulator never saw
/// one device forwarded by both at once.
#[tokio::test]
async fn reporters_of_a_killed_process_are_forwarded_by_another() {
    const HOMES: usize = 6;
    let Some(db) = shared_database("reporters_of_a_killed_process_are_forwarded_by_another").await
    else {
        return;
    };
    let (site_dir, cloud) = (site_root(), Cloud::start().await);
    let (mut a_child, a) = process("a", &db, &site_dir, &cloud).await;
    let mut homes = Vec::new();
    for n in 0..HOMES {
        let (cookie, site, monitor, token) = a.household_of(&format!("home{n}@example.se")).await;
        let (reporter, serial) = charge_amps_reporter(&a, &cloud, &cookie, site, monitor).await;
        homes.push((monitor, token, reporter, serial));
    }
    let (_b_child, b) = process("b", &db, &site_dir, &cloud).await;
    let raw = common::raw_database(&db).await;
    let holders = async || -> Vec<(String, i64)> {
        sqlx::query_as::<_, (String, i64)>(
            "SELECT holder, reporter_id FROM reporter_leases ORDER BY reporter_id",
        )
        .fetch_all(&raw)
        .await
        .unwrap()
    };
    let updates = async || -> std::collections::BTreeMap<String, (u64, u64)> {
        cloud
            .state()
            .await
            .devices
            .into_iter()
            .map(|d| (d.serial, (d.updates, d.overlapping_updates)))
            .collect()
    };
    let mut pace = tokio::time::interval(Duration::from_millis(500));
    let post_all = async |to: &Running| {
        for (monitor, token, _, _) in &homes {
            post_now(to, *monitor, token, 5.0).await;
        }
    };

    // The meters post (to B, which lives); the two processes share the reporters out.
    let split = tokio::time::timeout(Duration::from_secs(40), async {
        loop {
            pace.tick().await;
            post_all(&b).await;
            let held = holders().await;
            let on_a = held.iter().filter(|(h, _)| h == "a").count();
            let on_b = held.iter().filter(|(h, _)| h == "b").count();
            if on_a > 0 && on_b > 0 && on_a + on_b == HOMES {
                return held;
            }
        }
    })
    .await
    .expect("both processes held reporters within 40 s");
    let on_a: Vec<i64> = split
        .iter()
        .filter(|(h, _)| h == "a")
        .map(|(_, r)| *r)
        .collect();
    let serials_on_a: Vec<&String> = homes
        .iter()
        .filter(|(_, _, r, _)| on_a.contains(r))
        .map(|(_, _, _, s)| s)
        .collect();

    // A dies.
    a_child.start_kill().unwrap();
    a_child.wait().await.unwrap();
    let killed = Instant::now();
    let before = updates().await;
    tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            pace.tick().await;
            post_all(&b).await;
            let now = updates().await;
            if serials_on_a.iter().all(|s| now[*s].0 > before[*s].0) {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("A's reporters {on_a:?} were not forwarded again within 15 s"));
    eprintln!(
        "{} reporters of the killed process forwarded again after {:?}",
        on_a.len(),
        killed.elapsed()
    );
    // B holds them all now, and nothing was ever sent twice at once.
    let held = holders().await;
    assert!(held.iter().all(|(h, _)| h == "b"), "{held:?}");
    let overlapping: Vec<_> = updates()
        .await
        .into_iter()
        .filter(|(_, (_, overlapping))| *overlapping > 0)
        .collect();
    assert!(
        overlapping.is_empty(),
        "forwarded by two at once: {overlapping:?}"
    );
}
