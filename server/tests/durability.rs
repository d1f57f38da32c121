//! Faults of the disk, against the real server binary: a full disk (the process's file-size
//! limit, lowered and raised from outside with `prlimit`, as a filling disk would behave to
//! SQLite) answers 503 and says so on `/readyz`, loses nothing it acknowledged, and recovers
//! by itself when there is room again.

mod common;

use std::time::Duration;

use common::{Running, now_ms, readings_json};

/// Sets the soft file-size limit of `pid` (bytes; `None`: unlimited).
fn file_size_limit(pid: u32, bytes: Option<u64>) {
    let value = bytes.map_or("unlimited".to_string(), |b| b.to_string());
    let status = std::process::Command::new("prlimit")
        .args(["--pid", &pid.to_string(), &format!("--fsize={value}:")])
        .status()
        .expect("prlimit (util-linux) runs");
    assert!(status.success(), "prlimit failed");
}

fn largest_file(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .max()
        .unwrap_or(0)
}

#[tokio::test]
async fn a_full_disk_loses_nothing_acknowledged_and_service_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let site_root = dir.path().join("site");
    std::fs::create_dir_all(&site_root).unwrap();
    // SIGXFSZ ignored (as a real full disk sends no signal): writes past the limit fail with
    // EFBIG, which SQLite reports like a full disk.
    // SQLite's file on the disk that fills up (PostgreSQL's disk is the operator's to watch).
    let db = format!("sqlite://{}", data.join("full.db").display());
    let (mut child, server) =
        Running::start_binary(&["sh", "-c", "trap '' XFSZ; exec \"$0\""], &db, &site_root).await;
    let pid = child.id().unwrap();
    let (_, _site, monitor, token) = server.household().await;
    let ready = || async {
        server
            .client
            .get(format!("{}/readyz", server.base))
            .send()
            .await
            .unwrap()
    };
    assert_eq!(ready().await.status(), 200);

    // The disk fills up: batches of readings until the server refuses one.
    file_size_limit(pid, Some(largest_file(&data) + 256 * 1024));
    let t0 = now_ms() - 3_600_000;
    let mut acknowledged = Vec::new();
    let mut refused = None;
    for batch in 0..400 {
        let times: Vec<i64> = (0..200).map(|k| t0 + (batch * 200 + k) * 10).collect();
        let reply = server.try_post_readings(monitor, &token, &times).await;
        match reply.status().as_u16() {
            200 => acknowledged.extend(times),
            503 => {
                refused = Some(reply.text().await.unwrap());
                break;
            }
            other => panic!("{other}: {}", reply.text().await.unwrap()),
        }
    }
    let refused = refused.expect("the disk never filled");
    assert!(refused.contains("could not store"), "{refused}");
    assert!(!acknowledged.is_empty());
    let not_ready = ready().await;
    assert_eq!(not_ready.status(), 503);
    let why = not_ready.text().await.unwrap();
    assert!(why.contains("readings"), "{why}");

    // Room again: the next write goes through without a restart, and /readyz is green.
    file_size_limit(pid, None);
    let later: Vec<i64> = (0..10).map(|k| now_ms() - 60_000 + k * 1000).collect();
    let back = server.try_post_readings(monitor, &token, &later).await;
    assert_eq!(back.status(), 200, "{}", back.text().await.unwrap());
    acknowledged.extend(later);
    assert_eq!(ready().await.status(), 200);

    // Every acknowledged reading is there (after a SIGKILL and restart too: on disk).
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let pool = sqlx::SqlitePool::connect(&server.database_url)
        .await
        .unwrap();
    let stored: Vec<i64> =
        sqlx::query_scalar("SELECT ts FROM readings WHERE monitor_id = ? ORDER BY ts")
            .bind(monitor)
            .fetch_all(&pool)
            .await
            .unwrap();
    let mut want = acknowledged.clone();
    want.sort();
    let missing: Vec<&i64> = want
        .iter()
        .filter(|t| stored.binary_search(t).is_err())
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged readings lost",
        missing.len()
    );
}

/// What a 408 means: the server could not confirm in time, and the readings may or may not be
/// stored (the writer may commit them after the answer). Sending the same request again is
/// always right: each reading ends up stored exactly once.
#[tokio::test]
async fn after_a_408_the_same_request_again_stores_each_reading_once() {
    use axum::http::StatusCode;
    let patient = common::TestApp::new().await;
    let (anna, _) = patient.sign_up("anna@example.se", "owner").await;
    let site = patient.create_site(&anna, "Villa Ek").await;
    let (monitor, token) = patient.create_monitor(&anna, site, "Mains").await;
    // The same database behind a server that gives requests no time at all.
    let hasty = common::TestApp::new_with(|c| {
        c.database_url = patient.config.database_url.clone();
        c.request_timeout = Duration::from_nanos(1);
    })
    .await;
    let times: Vec<i64> = (0..500).map(|k| now_ms() - 600_000 + k * 1000).collect();
    let path = format!("/api/v1/monitors/{monitor}/readings");
    let first = hasty
        .device_post(
            &path,
            Some(&token),
            "application/json",
            readings_json(&times, 6.0),
        )
        .await;
    assert_eq!(first.status, StatusCode::REQUEST_TIMEOUT, "{}", first.body);
    // The device tries again, at a server that has the time to answer.
    let again = patient
        .device_post(
            &path,
            Some(&token),
            "application/json",
            readings_json(&times, 6.0),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    let counts = again.json();
    assert_eq!(counts["received"], 500);
    assert_eq!(
        counts["stored"].as_u64().unwrap() + counts["duplicates"].as_u64().unwrap(),
        500
    );
    // Whatever the first request left behind, each reading is there once.
    let pool = common::raw_database(&patient.config.database_url).await;
    let (n, distinct): (i64, i64) = sqlx::query_as(&format!(
        "SELECT count(*), count(DISTINCT ts) FROM readings WHERE monitor_id = {monitor}"
    ))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((n, distinct), (500, 500));
}
