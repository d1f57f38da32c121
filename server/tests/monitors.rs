//! Monitors over HTTP: the devices' ingest API (good and bad requests), who may read a monitor,
//! the live stream over a real socket (including resuming), the CSV export, and durability
//! across a SIGKILL of the real server binary.

mod common;

use std::time::Duration;

use axum::http::{StatusCode, header};
use common::{Events, PASSWORD, Running, TestApp, enc, now_ms, readings_json};
use rstest::rstest;

/// Anna's site with one monitor, and Bo's monitor on his own site.
struct Homes {
    app: TestApp,
    anna: String,
    site: i64,
    monitor: i64,
    token: String,
    bo: String,
    bo_monitor: i64,
    bo_token: String,
}

async fn homes() -> Homes {
    homes_with(|_| {}).await
}

/// [`homes`] on a server configured by `tweak`.
async fn homes_with(tweak: impl FnOnce(&mut server::Config)) -> Homes {
    let app = TestApp::new_with(tweak).await;
    let (anna, _) = app.sign_up("anna@example.se", "owner").await;
    let site = app.create_site(&anna, "Villa Ek").await;
    let (monitor, token) = app.create_monitor(&anna, site, "Mains").await;
    let (bo, _) = app.sign_up("bo@example.se", "owner").await;
    let bo_site = app.create_site(&bo, "Bos hus").await;
    let (bo_monitor, bo_token) = app.create_monitor(&bo, bo_site, "Mains").await;
    Homes {
        app,
        anna,
        site,
        monitor,
        token,
        bo,
        bo_monitor,
        bo_token,
    }
}

impl Homes {
    async fn stored(&self) -> usize {
        let reply = self
            .app
            .call(
                "site_live",
                Some(&self.anna),
                &format!("site_id={}", self.site),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.json()["points"].as_array().unwrap().len()
    }
}

/// A real telegram (Ellevio's T211, Sweden) moved to `ts` with its CRC recomputed.
fn telegram_at(ts_ms: i64, l1: &str) -> String {
    let text =
        include_str!("../../backend/tests/fixtures/telegrams/amshan_toreamun/EXAMPLE_DATA_C.txt");
    let local = jiff::Timestamp::from_millisecond(ts_ms)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(1)))
        .strftime("%y%m%d%H%M%SW")
        .to_string();
    let stamp = text.find("0-0:1.0.0(").unwrap() + "0-0:1.0.0(".len();
    let body = format!("{}{local}{}", &text[..stamp], &text[stamp + 13..])
        .replace("(013.6*A)", &format!("({l1}*A)"));
    let bang = body.find('!').unwrap();
    let crc = crc::Crc::<u16>::new(&crc::CRC_16_ARC).checksum(&body.as_bytes()[..=bang]);
    format!("{}{crc:04X}\r\n", &body[..=bang])
}

#[tokio::test]
async fn readings_and_telegrams_are_stored_once() {
    let h = homes().await;
    let path = format!("/api/v1/monitors/{}/readings", h.monitor);
    let t = now_ms() - 60_000;
    let body = readings_json(&[t, t + 1000, t + 2000], 7.5);
    let reply = h
        .app
        .device_post(&path, Some(&h.token), "application/json", body.clone())
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        reply.json(),
        serde_json::json!({"received": 3, "stored": 3, "duplicates": 0})
    );
    let again = h
        .app
        .device_post(&path, Some(&h.token), "application/json", body)
        .await;
    assert_eq!(
        again.json(),
        serde_json::json!({"received": 3, "stored": 0, "duplicates": 3})
    );

    let telegram = telegram_at(t + 5000, "011.2");
    let path = format!("/api/v1/monitors/{}/telegrams", h.monitor);
    let reply = h
        .app
        .device_post(&path, Some(&h.token), "text/plain", telegram)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["stored"], 4 - 3);
    assert_eq!(h.stored().await, 4);
}

/// The device is refused before its body is read: a client without the token cannot make the
/// server wait for (or buffer) a body. The body here never ends; the answer must come anyway.
#[rstest]
#[case::no_token(None)]
#[case::wrong_token(Some("not-the-token"))]
#[tokio::test]
async fn devices_are_refused_before_their_body_is_read(#[case] token: Option<&str>) {
    let h = homes().await;
    let endless = axum::body::Body::from_stream(futures_util::stream::pending::<
        Result<axum::body::Bytes, std::io::Error>,
    >());
    let path = format!("/api/v1/monitors/{}/readings", h.monitor);
    let reply = tokio::time::timeout(
        Duration::from_secs(10),
        h.app.device_post(&path, token, "application/json", endless),
    )
    .await
    .expect("the server waited for the body before refusing the device");
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    assert_eq!(reply.headers["connection"], "close");
}

/// Unknown monitors and wrong tokens get the same answer, so ids cannot be found by trying.
#[tokio::test]
async fn unknown_monitors_look_like_wrong_tokens() {
    let h = homes().await;
    let unknown = h
        .app
        .device_post(
            "/api/v1/monitors/999999/readings",
            Some(&h.token),
            "application/json",
            "{}",
        )
        .await;
    let path = "/api/v1/monitors/999998/readings".to_string();
    let wrong = h
        .app
        .device_post(&path, Some(&h.bo_token), "application/json", "{}")
        .await;
    let mine = format!("/api/v1/monitors/{}/readings", h.monitor);
    let wrong_mine = h
        .app
        .device_post(&mine, Some(&h.bo_token), "application/json", "{}")
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_mine.status, StatusCode::UNAUTHORIZED);
    let shape = |body: &str, id: &str| body.replace(id, "ID");
    assert_eq!(shape(&unknown.body, "999999"), shape(&wrong.body, "999998"));
    assert_eq!(
        shape(&unknown.body, "999999"),
        shape(&wrong_mine.body, &h.monitor.to_string())
    );
}

#[rstest]
#[case::unknown_monitor(
    "/api/v1/monitors/999999/readings",
    "own",
    "application/json",
    "{}",
    401,
    "monitor 999999 does not take this token"
)]
#[case::monitor_id_not_a_number(
    "/api/v1/monitors/abc/readings",
    "own",
    "application/json",
    "{}",
    404,
    "ids are numbers"
)]
#[case::no_token(
    "/api/v1/monitors/{id}/readings",
    "none",
    "application/json",
    "{}",
    401,
    "missing device token"
)]
#[case::another_monitors_token(
    "/api/v1/monitors/{id}/readings",
    "bo",
    "application/json",
    "{}",
    401,
    "does not take this token"
)]
#[case::malformed_json(
    "/api/v1/monitors/{id}/readings",
    "own",
    "application/json",
    "{\"readings\":[",
    400,
    "malformed JSON"
)]
#[case::empty_batch(
    "/api/v1/monitors/{id}/readings",
    "own",
    "application/json",
    "{\"readings\":[]}",
    422,
    "empty"
)]
#[case::current_out_of_range(
    "/api/v1/monitors/{id}/readings",
    "own",
    "application/json",
    "{over}",
    422,
    "readings[1].current_a[0]: 1500 A"
)]
#[case::future(
    "/api/v1/monitors/{id}/readings",
    "own",
    "application/json",
    "{future}",
    422,
    "ahead of the server's clock"
)]
#[case::bad_crc(
    "/api/v1/monitors/{id}/telegrams",
    "own",
    "text/plain",
    "{bad_crc}",
    422,
    "CRC mismatch"
)]
#[case::not_a_telegram(
    "/api/v1/monitors/{id}/telegrams",
    "own",
    "text/plain",
    "{\"readings\":[]}",
    422,
    "line 1: expected a telegram header"
)]
#[case::too_many_readings(
    "/api/v1/monitors/{id}/readings",
    "own",
    "application/json",
    "{many}",
    422,
    "at most 10000 per request"
)]
#[case::oversized(
    "/api/v1/monitors/{id}/readings",
    "own",
    "application/json",
    "{huge}",
    413,
    "over 2 MiB"
)]
#[case::oversized_telegrams(
    "/api/v1/monitors/{id}/telegrams",
    "own",
    "text/plain",
    "{huge}",
    413,
    "over 2 MiB"
)]
#[case::oversized_without_token(
    "/api/v1/monitors/{id}/readings",
    "none",
    "application/json",
    "{huge}",
    401,
    "missing device token"
)]
#[tokio::test]
async fn bad_requests_get_a_clear_4xx_and_store_nothing(
    #[case] path: &str,
    #[case] token: &str,
    #[case] content_type: &str,
    #[case] body: &str,
    #[case] status: u16,
    #[case] message: &str,
) {
    let h = homes().await;
    let t = now_ms() - 10_000;
    let body = match body {
        "{over}" => format!(
            r#"{{"readings":[{{"ts":"{}","current_a":[1,1,1]}},{{"ts":"{}","current_a":[1500,1,1]}}]}}"#,
            jiff::Timestamp::from_millisecond(t).unwrap(),
            jiff::Timestamp::from_millisecond(t + 1000).unwrap()
        ),
        "{future}" => readings_json(&[t, now_ms() + 3_600_000], 5.0),
        "{bad_crc}" => telegram_at(t, "011.2").replace("(011.2*A)", "(011.3*A)"),
        "{many}" => readings_json(&(0..20_000).map(|k| t - k * 1000).collect::<Vec<_>>(), 5.0),
        "{huge}" => format!(r#"{{"readings":[{}1]}}"#, "1,".repeat(1_500_000)),
        other => other.to_string(),
    };
    let token = match token {
        "own" => Some(h.token.as_str()),
        "bo" => Some(h.bo_token.as_str()),
        _ => None,
    };
    let path = path.replace("{id}", &h.monitor.to_string());
    let reply = h.app.device_post(&path, token, content_type, body).await;
    assert_eq!(reply.status.as_u16(), status, "{}", reply.body);
    let error = reply.json()["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(error.contains(message), "{error}");
    assert_eq!(h.stored().await, 0, "a rejected request stored something");
    // Refused before its body was read: the connection is not kept for another request.
    if matches!(status, 401 | 413) {
        assert_eq!(reply.headers["connection"], "close");
    }
}

#[tokio::test]
async fn only_people_with_the_site_read_its_monitor() {
    let h = homes().await;
    let live = format!("/api/v1/monitors/{}/live", h.monitor);
    let csv = format!("/api/v1/monitors/{}/history.csv", h.monitor);
    for path in [&live, &csv] {
        let stranger = h.app.page(path, Some(&h.bo)).await;
        assert_eq!(stranger.status, StatusCode::NOT_FOUND, "{path}");
        let nobody = h.app.page(path, None).await;
        assert_eq!(nobody.status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let reply = h
        .app
        .call("site_live", Some(&h.bo), &format!("site_id={}", h.site))
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = h
        .app
        .call(
            "rotate_monitor_token",
            Some(&h.bo),
            &format!("id={}", h.monitor),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    // Anna's token still works: Bo changed nothing.
    let path = format!("/api/v1/monitors/{}/readings", h.monitor);
    let ok = h
        .app
        .device_post(
            &path,
            Some(&h.token),
            "application/json",
            readings_json(&[now_ms()], 1.0),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test]
async fn history_downloads_as_csv_in_local_time() {
    let h = homes().await;
    let path = format!("/api/v1/monitors/{}/readings", h.monitor);
    let t = now_ms() / 60_000 * 60_000 - 5 * 60_000;
    let body = readings_json(&[t, t + 20_000, t + 40_000], 12.5);
    h.app
        .device_post(&path, Some(&h.token), "application/json", body)
        .await;
    let reply = h
        .app
        .page(
            &format!(
                "/api/v1/monitors/{}/history.csv?view=day&date={}",
                h.monitor,
                jiff::Timestamp::from_millisecond(t)
                    .unwrap()
                    .to_zoned(jiff::tz::TimeZone::get("Europe/Stockholm").unwrap())
                    .date()
            ),
            Some(&h.anna),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(
        reply.headers[axum::http::header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("attachment"),
    );
    let mut lines = reply.body.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("start_local,start_utc,readings,l1_min_a")
    );
    let row: Vec<&str> = lines
        .next()
        .expect("one minute of data")
        .split(',')
        .collect();
    assert_eq!(row[2], "3");
    assert_eq!(&row[3..6], ["12.50", "12.50", "12.50"]);
    assert!(
        row[0].ends_with("+01:00") || row[0].ends_with("+02:00"),
        "{row:?}"
    );
    let bad = h
        .app
        .page(
            &format!("/api/v1/monitors/{}/history.csv?view=decade", h.monitor),
            Some(&h.anna),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_live_stream_resumes_after_a_dropped_connection_without_gaps_or_duplicates() {
    let server = Running::start().await;
    let (cookie, _, monitor, token) = server.household().await;
    let token = token.as_str();
    let live = format!("{}/api/v1/monitors/{monitor}/live", server.base);
    let open = |last_event_id: Option<i64>| {
        let mut req = server.client.get(&live).header("cookie", &cookie);
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id.to_string());
        }
        req.send()
    };

    let t = now_ms() - 120_000;
    let first = open(None).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()["content-type"], "text/event-stream");
    let mut events = Events::new(first);
    server
        .post_readings(monitor, token, &[t, t + 1000, t + 2000])
        .await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(events.next().await);
    }
    let last_id = seen.last().unwrap().0;
    drop(events); // the connection drops

    // Readings that arrive while the viewer is away, one of them older than the rest.
    server
        .post_readings(monitor, token, &[t + 4000, t + 3000])
        .await;
    let mut events = Events::new(open(Some(last_id)).await.unwrap());
    for _ in 0..2 {
        seen.push(events.next().await);
    }
    server.post_readings(monitor, token, &[t + 5000]).await;
    seen.push(events.next().await);

    let ids: Vec<i64> = seen.iter().map(|(id, _)| *id).collect();
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(ids, unique, "duplicates");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let times: Vec<i64> = seen
        .iter()
        .map(|(_, d)| d["ts"].as_i64().unwrap() - t)
        .collect();
    assert_eq!(
        times,
        [0, 1000, 2000, 4000, 3000, 5000],
        "gaps or reordering"
    );
    assert_eq!(seen[0].1["i"], serde_json::json!([9.0, 9.0, 9.0]));
}

/// After 2xx answers, SIGKILL the real server binary; a restarted server has every reading.
#[tokio::test]
async fn acknowledged_readings_survive_a_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let site_root = dir.path().join("site");
    std::fs::create_dir_all(&site_root).unwrap();
    let db = backend::testing::database_url(dir.path()).await;
    let (mut child, server) = Running::start_binary(&[], &db, &site_root).await;
    let (_, site, monitor, token) = server.household().await;

    // 20 devices' worth of concurrent batches, all acknowledged, then the kill.
    let t = now_ms() - 600_000;
    let posts = (0..20).map(|k| {
        let times: Vec<i64> = (0..100).map(|j| t + (k * 100 + j) * 250).collect();
        let (server, token) = (&server, &token);
        async move { server.post_readings(monitor, token, &times).await }
    });
    futures_util::future::join_all(posts).await;
    child.start_kill().unwrap();
    child.wait().await.unwrap();

    let (_child, server) = Running::start_binary(&[], &db, &site_root).await;
    let login = format!("email=anna%40example.se&password={}", enc(PASSWORD));
    let cookie = Running::cookie_of(&server.call("log_in", None, login).await);
    let live: serde_json::Value = server
        .call("site_live", Some(&cookie), format!("site_id={site}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(live["points"].as_array().unwrap().len(), 2000);
    // SQLite writes rollups behind the readings: the restarted server counted what the killed
    // one had only in memory (the history reads them).
    if db.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
        let counted: i64 = sqlx::query_scalar(
            "SELECT coalesce(sum(n), 0) FROM rollups WHERE period = 'h' AND monitor_id = ?",
        )
        .bind(monitor)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(counted, 2000);
    }
}

/// A monitor that posts too often is slowed — 429 with `Retry-After`, nothing of the refused
/// request stored — and only that monitor: another household's meter goes on.
#[tokio::test]
async fn a_device_that_posts_too_often_is_slowed_alone() {
    // One request a second, so a minute's worth (60) at once.
    let h = homes_with(|c| c.device_requests_per_second = 1).await;
    let post = |monitor: i64, token: String, ts: i64| {
        let app = &h.app;
        async move {
            app.device_post(
                &format!("/api/v1/monitors/{monitor}/readings"),
                Some(&token),
                "application/json",
                readings_json(&[ts], 7.5),
            )
            .await
        }
    };
    let t = now_ms() - 600_000;
    for n in 0..60 {
        let reply = post(h.monitor, h.token.clone(), t + n * 1000).await;
        assert_eq!(reply.status, StatusCode::OK, "request {n}: {}", reply.body);
    }
    let refused = post(h.monitor, h.token.clone(), t + 60_000).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = refused.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "Retry-After: {retry}");
    assert!(refused.body.contains("sends too often"), "{}", refused.body);
    assert_eq!(h.stored().await, 60);

    let other = post(h.bo_monitor, h.bo_token.clone(), t).await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.body);
}
