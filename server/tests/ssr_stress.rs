//! Pages render correctly while many are rendered at once on a multi-threaded runtime, as in
//! production: no panics ("reactive value … already been disposed"), no answer that never comes.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use common::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_page_renders_all_answer() {
    let app = Arc::new(TestApp::new().await);
    let (owner, _) = app.sign_up("owner@example.se", "owner").await;
    let (stranger, _) = app.sign_up("other@installer.se", "installer").await;
    let id = app.create_site(&owner, "Villa Ek").await;
    app.create_monitor(&owner, id, "Mains").await;

    // (path, as whom, the status they get)
    let cases: Vec<(String, String, StatusCode)> = vec![
        ("/".into(), owner.clone(), StatusCode::OK),
        (format!("/sites/{id}"), owner.clone(), StatusCode::OK),
        (
            format!("/sites/{id}"),
            stranger.clone(),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/settings/sites/{id}"),
            owner.clone(),
            StatusCode::OK,
        ),
        (
            format!("/settings/sites/{id}"),
            stranger.clone(),
            StatusCode::NOT_FOUND,
        ),
        ("/settings/sites".into(), stranger.clone(), StatusCode::OK),
        ("/settings/monitors".into(), owner.clone(), StatusCode::OK),
    ];
    let cases = Arc::new(cases);
    let stalls_before = server::page_render_stalls();
    const REQUESTS: usize = 700;
    const CONCURRENCY: usize = 16;

    let mut running = tokio::task::JoinSet::new();
    let mut next = 0;
    while next < REQUESTS || !running.is_empty() {
        while running.len() < CONCURRENCY && next < REQUESTS {
            let (app, cases) = (app.clone(), cases.clone());
            running.spawn(async move {
                let (path, cookie, want) = &cases[next % cases.len()];
                let reply =
                    tokio::time::timeout(Duration::from_secs(60), app.page(path, Some(cookie)))
                        .await
                        .unwrap_or_else(|_| panic!("{path} never answered"));
                assert_eq!(reply.status, *want, "{path}");
                assert!(reply.body.contains("</html>"), "{path}: page cut short");
            });
            next += 1;
        }
        if let Some(done) = running.join_next().await {
            done.unwrap();
        }
    }
    // Every page came at the first render: the retry (a last resort) was never needed.
    assert_eq!(server::page_render_stalls() - stalls_before, 0);
}

/// Leptos marks route generation with one process-wide flag, and a resource first polled while
/// it is set never loads (leptos-rs/leptos #4773): a page rendered while another server in the
/// process was being built stalled for good. The route list is now generated once per process;
/// here servers are built (as the test suite does, many at once) while pages render, and no
/// render may stall — the retry that would hide a stall counts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_render_while_other_servers_are_built() {
    let app = Arc::new(TestApp::new().await);
    let (owner, _) = app.sign_up("owner@example.se", "owner").await;
    let id = app.create_site(&owner, "Villa Ek").await;
    app.create_monitor(&owner, id, "Mains").await;
    let stalls_before = server::page_render_stalls();

    let building = tokio::spawn(async {
        let mut built = 0;
        while built < 40 {
            let app = TestApp::new().await;
            drop(app);
            built += 1;
        }
    });
    let pages = [
        "/".to_string(),
        format!("/sites/{id}"),
        "/login".to_string(),
        "/settings/monitors".to_string(),
    ];
    let mut running = tokio::task::JoinSet::new();
    for n in 0..400 {
        let (app, path, owner) = (app.clone(), pages[n % pages.len()].clone(), owner.clone());
        running.spawn(async move {
            let cookie = (path != "/login").then_some(owner);
            let reply = app.page(&path, cookie.as_deref()).await;
            assert!(reply.status.is_success(), "{path}: {}", reply.status);
        });
        if running.len() >= 16
            && let Some(done) = running.join_next().await
        {
            done.unwrap();
        }
    }
    while let Some(done) = running.join_next().await {
        done.unwrap();
    }
    building.await.unwrap();
    assert_eq!(
        server::page_render_stalls() - stalls_before,
        0,
        "page renders stalled while servers were built"
    );
}
