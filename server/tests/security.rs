//! What the security review asked for, as a browser or an attacker would see it: live streams
//! that end with access, state changes only from our own pages, the security headers (with the
//! page's script nonce), and sessions that slide with use up to a cap.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use common::{Events, PASSWORD, Running, TestApp, enc, session_cookie, site_form};
use rstest::rstest;

/// A live stream opened by someone who then loses access ends within seconds, whoever took
/// the access away and however.
#[rstest]
#[case::installer_revoked("revoke_access")]
#[case::installer_signed_out("log_out")]
#[case::site_deleted("delete_site")]
#[case::monitor_deleted("delete_monitor")]
#[tokio::test]
async fn live_streams_end_when_access_does(#[case] how: &str) {
    let server = Running::start().await;
    let (anna, site, monitor, token) = server.household().await;
    let form = format!(
        "email=ida%40installer.se&password={}&role=installer",
        enc(PASSWORD)
    );
    let signed_up = server.call("sign_up", None, form).await;
    let ida_id = server
        .call("me", Some(&Running::cookie_of(&signed_up)), String::new())
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let ida = {
        // sign_up answered with the cookie; read it again from a log-in for a clean session.
        let form = format!("email=ida%40installer.se&password={}", enc(PASSWORD));
        Running::cookie_of(&server.call("log_in", None, form).await)
    };
    let granted = server
        .call(
            "grant_access",
            Some(&anna),
            format!("id={site}&email=ida%40installer.se"),
        )
        .await;
    assert_eq!(granted.status(), 200);

    let open = server
        .client
        .get(format!("{}/api/v1/monitors/{monitor}/live", server.base))
        .header("cookie", &ida)
        .send()
        .await
        .unwrap();
    assert_eq!(open.status(), 200);
    let mut events = Events::new(open);
    server
        .post_readings(monitor, &token, &[common::now_ms() - 1000])
        .await;
    events.next().await; // the stream works before

    let (who, form) = match how {
        "revoke_access" => (&anna, format!("id={site}&account_id={ida_id}")),
        "log_out" => (&ida, String::new()),
        "delete_site" => (&anna, format!("id={site}")),
        "delete_monitor" => (&anna, format!("id={monitor}")),
        other => unreachable!("{other}"),
    };
    let reply = server.call(how, Some(who), form).await;
    assert_eq!(reply.status(), 200, "{how}");
    assert!(
        events.ends_within(Duration::from_secs(5)).await,
        "the stream went on after {how}"
    );
    // And a new one is refused.
    let again = server
        .client
        .get(format!("{}/api/v1/monitors/{monitor}/live", server.base))
        .header("cookie", &ida)
        .send()
        .await
        .unwrap();
    assert!(matches!(again.status().as_u16(), 401 | 404), "{how}");
}

/// Changes that take access away from someone else leave a stream open: its viewer still
/// sees the next reading (each change makes every open stream look at its viewer again).
#[tokio::test]
async fn live_streams_outlast_changes_that_are_not_their_viewers() {
    let server = Running::start().await;
    let (anna, _site, monitor, token) = server.household().await;
    let open = server
        .client
        .get(format!("{}/api/v1/monitors/{monitor}/live", server.base))
        .header("cookie", &anna)
        .send()
        .await
        .unwrap();
    assert_eq!(open.status(), 200);
    let mut events = Events::new(open);
    let t = common::now_ms() - 2000;
    server.post_readings(monitor, &token, &[t]).await;
    events.next().await;
    // Someone else signs up, makes a site, deletes it and signs out.
    let form = format!(
        "email=bo%40example.se&password={}&role=owner",
        enc(PASSWORD)
    );
    let bo = Running::cookie_of(&server.call("sign_up", None, form).await);
    let created = server
        .call("create_site", Some(&bo), site_form("Bo's", "20"))
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let bo_site = created
        .as_i64()
        .unwrap_or_else(|| created["id"].as_i64().unwrap());
    for (function, form) in [
        ("delete_site", format!("id={bo_site}")),
        ("log_out", String::new()),
    ] {
        let reply = server.call(function, Some(&bo), form).await;
        assert_eq!(reply.status(), 200, "{function}");
    }
    // Anna's stream goes on.
    server.post_readings(monitor, &token, &[t + 1000]).await;
    let (_, point) = events.next().await;
    assert_eq!(point["ts"], t + 1000, "{point}");
}

/// A state-changing request from another site's page (a hidden form, a forged log-in) is
/// refused before it does anything; the same request from our own page works.
#[rstest]
#[case::sign_up_from_our_page("sign_up", Some("same-origin"), Some("{own}"), 200)]
#[case::login_csrf("log_in", Some("cross-site"), Some("https://evil.example"), 403)]
#[case::sign_up_csrf("sign_up", Some("cross-site"), Some("https://evil.example"), 403)]
#[case::create_site_csrf("create_site", Some("cross-site"), Some("https://evil.example"), 403)]
#[case::create_site_sibling("create_site", Some("same-site"), Some("http://blog.localhost"), 403)]
#[case::create_site_old_browser("create_site", None, Some("https://evil.example"), 403)]
#[case::create_site_from_our_page("create_site", Some("same-origin"), Some("{own}"), 200)]
#[case::create_site_no_browser("create_site", None, None, 200)]
#[tokio::test]
async fn state_changes_come_only_from_our_own_pages(
    #[case] function: &str,
    #[case] fetch_site: Option<&str>,
    #[case] origin: Option<&str>,
    #[case] status: u16,
) {
    let app = TestApp::new().await;
    let (anna, _) = app.sign_up("anna@example.se", "owner").await;
    let form = match function {
        "sign_up" => format!(
            "email=bo%40example.se&password={}&role=owner",
            enc(PASSWORD)
        ),
        "log_in" => format!("email=anna%40example.se&password={}", enc(PASSWORD)),
        _ => site_form("Villa Ek", "20"),
    };
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/{function}"))
        .header(header::HOST, "ampwise.test:3000")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, &anna);
    if let Some(site) = fetch_site {
        req = req.header("sec-fetch-site", site);
    }
    if let Some(origin) = origin {
        req = req.header(
            header::ORIGIN,
            origin.replace("{own}", "http://ampwise.test:3000"),
        );
    }
    let mut req = req.body(Body::from(form)).unwrap();
    req.extensions_mut().insert(ConnectInfo(
        "127.0.0.1:40000".parse::<std::net::SocketAddr>().unwrap(),
    ));
    let reply = app.send(req).await;
    assert_eq!(reply.status.as_u16(), status, "{}", reply.body);
    // Nothing happened: no site, no account.
    let changed = match function {
        "create_site" => {
            let sites = app.call("list_sites", Some(&anna), "").await;
            sites.json().as_array().unwrap().len() == 1
        }
        "sign_up" => {
            let bo = app
                .log_in_from("bo@example.se", PASSWORD, "127.0.0.1:40001")
                .await;
            bo.status == StatusCode::OK
        }
        _ => reply.headers.get(header::SET_COOKIE).is_some(),
    };
    assert_eq!(changed, status == 200, "{function}: {}", reply.body);
    if status == 403 {
        assert!(reply.body.contains("another site"), "{}", reply.body);
    }
}

/// Every answer carries the security headers; a page's scripts all carry the nonce its
/// Content-Security-Policy names (else the browser would refuse to hydrate).
#[rstest]
#[case::login_page("GET", "/login", true)]
#[case::overview_redirect("GET", "/", true)]
#[case::server_function("POST", "/api/me", false)]
#[case::ingest("POST", "/api/v1/monitors/1/readings", false)]
#[case::live_stream("GET", "/api/v1/monitors/1/live", false)]
#[case::static_file("GET", "/pkg/ampwise.css", false)]
#[tokio::test]
async fn every_answer_carries_the_security_headers(
    #[case] method: &str,
    #[case] path: &str,
    #[case] page: bool,
) {
    let app = TestApp::new().await;
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::ACCEPT, "text/html")
        .body(Body::empty())
        .unwrap();
    req.extensions_mut().insert(ConnectInfo(
        "127.0.0.1:40000".parse::<std::net::SocketAddr>().unwrap(),
    ));
    let reply = app.send(req).await;
    let h = |name: &str| {
        reply
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("{path}: no {name}"))
    };
    let csp = h("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("object-src 'none'"), "{csp}");
    assert_eq!(h("x-content-type-options"), "nosniff");
    assert_eq!(h("referrer-policy"), "same-origin");
    assert!(reply.headers.get("strict-transport-security").is_none());
    if page && reply.status == StatusCode::OK {
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .expect("a nonce in the policy");
        let scripts = reply.body.matches("<script").count();
        assert!(scripts > 0, "{path}: no scripts");
        let with_nonce = reply.body.matches(&format!("nonce=\"{nonce}\"")).count();
        assert!(
            with_nonce >= scripts,
            "{path}: {scripts} scripts, {with_nonce} with this request's nonce"
        );
    }
}

/// Behind https the browser is told to stay on https, and the cookie is Secure.
#[tokio::test]
async fn https_sites_get_hsts_and_secure_cookies() {
    let app = TestApp::new_with(|c| {
        c.public_url = "https://app.ampwise.se".into();
        c.secure_cookies = true;
    })
    .await;
    let reply = app
        .sign_up_reply("anna@example.se", PASSWORD, "owner")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(
        reply
            .headers
            .get("strict-transport-security")
            .is_some_and(|v| v.to_str().unwrap().contains("max-age=31536000"))
    );
    let cookie = reply
        .headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");
}

/// A session used every day does not end 30 days after sign-in: each use (recorded at most
/// every `session_touch_after`) moves its expiry on, so the browser gets a fresh cookie.
#[tokio::test]
async fn sessions_slide_with_use() {
    let app = TestApp::new_with(|c| c.session_touch_after = Duration::ZERO).await;
    let (anna, _) = app.sign_up("anna@example.se", "owner").await;
    let me = app.call("me", Some(&anna), "").await;
    assert_eq!(me.json()["email"], "anna@example.se");
    let refreshed = me
        .headers
        .get(header::SET_COOKIE)
        .expect("a used session's cookie is renewed")
        .to_str()
        .unwrap();
    assert!(refreshed.starts_with(server::SESSION_COOKIE), "{refreshed}");
    assert!(refreshed.contains("Max-Age"), "{refreshed}");
    assert_eq!(session_cookie(&me), anna, "the same session, not a new one");
}

/// ... but never past the absolute cap after sign-in, however much it is used.
#[tokio::test]
async fn sessions_end_at_the_cap() {
    let app = TestApp::new_with(|c| c.session_max_days = 0).await;
    let anna = session_cookie(
        &app.sign_up_reply("anna@example.se", PASSWORD, "owner")
            .await,
    );
    let me = app.call("me", Some(&anna), "").await;
    assert_eq!(me.status, StatusCode::OK);
    assert!(me.json().is_null(), "still signed in: {}", me.body);
}

/// Sign-ups are limited per client address: a script cannot mass-create accounts (and argon2
/// work) from one place, and others are not held up by it.
#[tokio::test]
async fn sign_ups_are_limited_per_address() {
    let app = TestApp::new_with(|c| {
        c.sign_ups_per_hour = backend::limiter::SIGN_UPS_PER_HOUR;
    })
    .await;
    let sign_up = |n: u32, from: &'static str| {
        let form = format!(
            "email=user{n}%40example.se&password={}&role=owner",
            enc(PASSWORD)
        );
        let app = &app;
        async move {
            app.request(Method::POST, "/api/sign_up", None, Some(&form), false, from)
                .await
        }
    };
    for n in 0..5 {
        assert_eq!(sign_up(n, "192.0.2.1:5000").await.status, StatusCode::OK);
    }
    let refused = sign_up(5, "192.0.2.1:5001").await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.body
    );
    assert!(refused.headers.get(header::RETRY_AFTER).is_some());
    assert_eq!(sign_up(6, "192.0.2.2:5000").await.status, StatusCode::OK);
    // The refused account was not made.
    let bo = app
        .log_in_from("user5@example.se", PASSWORD, "192.0.2.3:1")
        .await;
    assert_eq!(bo.status, StatusCode::UNAUTHORIZED);
}

/// Behind a reverse proxy every request comes from the proxy's address: with the trusted header
/// configured, limits count the real clients; without it, the header is ignored (anyone could
/// write it to dodge a limit).
#[rstest]
#[case::trusted(Some("x-forwarded-for"), true)]
#[case::not_configured(None, false)]
#[tokio::test]
async fn limits_count_the_client_behind_a_trusted_proxy(
    #[case] header: Option<&'static str>,
    #[case] separate: bool,
) {
    let app = TestApp::new_with(|c| {
        c.sign_ups_per_hour = backend::limiter::SIGN_UPS_PER_HOUR;
        c.trusted_proxy_header = header.map(str::to_string);
    })
    .await;
    let sign_up = |n: u32, client: &'static str| {
        let form = format!(
            "email=user{n}%40example.se&password={}&role=owner",
            enc(PASSWORD)
        );
        let mut req = Request::builder()
            .method(Method::POST)
            .uri("/api/sign_up")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("x-forwarded-for", client)
            .body(Body::from(form))
            .unwrap();
        // Every request reaches the server from the proxy.
        req.extensions_mut().insert(ConnectInfo(
            "10.0.0.2:44000".parse::<std::net::SocketAddr>().unwrap(),
        ));
        let app = &app;
        async move { app.send(req).await }
    };
    for n in 0..5 {
        assert_eq!(sign_up(n, "203.0.113.1").await.status, StatusCode::OK);
    }
    // A sixth from the same client is refused either way ...
    assert_eq!(
        sign_up(5, "203.0.113.1").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // ... and another client behind the same proxy gets in only when the header is trusted.
    let other = sign_up(6, "6.6.6.6, 203.0.113.2").await;
    assert_eq!(other.status == StatusCode::OK, separate, "{}", other.body);
}

/// One account cannot hold open any number of live views: past its cap it gets 429 (with when
/// to retry) while another household's views still open.
#[tokio::test]
async fn live_streams_are_capped_per_account() {
    let server = Running::start_with(|c| c.streams_per_account = 2).await;
    let (anna, _site, monitor, _token) = server.household().await;
    let open = |cookie: String, path: String| {
        let server = &server;
        async move {
            server
                .client
                .get(format!("{}{path}", server.base))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
        }
    };
    let live = format!("/api/v1/monitors/{monitor}/live");
    let first = open(anna.clone(), live.clone()).await;
    let second = open(anna.clone(), "/api/v1/reporters/live".to_string()).await;
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let third = open(anna.clone(), live.clone()).await;
    assert_eq!(third.status(), 429);
    assert_eq!(third.headers()["retry-after"], "10");
    let body: serde_json::Value = third.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("2 live views open"),
        "{body}"
    );
    // Bo's household is not affected.
    let form = format!(
        "email=bo%40example.se&password={}&role=owner",
        enc(PASSWORD)
    );
    let bo = Running::cookie_of(&server.call("sign_up", None, form).await);
    let his = open(bo, "/api/v1/reporters/live".to_string()).await;
    assert_eq!(his.status(), 200);
    drop((first, second));
}

/// A sign-up answers the same whether or not the address has an account: the same status,
/// body and a session cookie (the review: 409 EmailTaken told which addresses had accounts).
/// Only the address's owner, with its password, is signed in.
#[tokio::test]
async fn sign_up_does_not_tell_whether_an_address_has_an_account() {
    let app = TestApp::new().await;
    app.sign_up("anna@example.se", "owner").await;
    let taken = app
        .sign_up_reply("anna@example.se", "Ett-helt-annat-lösenord-77", "owner")
        .await;
    let new = app
        .sign_up_reply("bo@example.se", "Ett-helt-annat-lösenord-77", "owner")
        .await;
    assert_eq!(
        (taken.status, taken.body.as_str()),
        (new.status, new.body.as_str())
    );
    let (taken_cookie, new_cookie) = (session_cookie(&taken), session_cookie(&new));
    let app = &app;
    let who = |cookie: String| async move {
        app.call("me", Some(&cookie), "").await.json()["email"].clone()
    };
    assert_eq!(who(taken_cookie).await, serde_json::Value::Null);
    assert_eq!(who(new_cookie).await, "bo@example.se");
    // The owner signing up again with her password is signed in.
    let again = app
        .sign_up_reply("anna@example.se", PASSWORD, "installer")
        .await;
    assert_eq!(
        (again.status, again.body.as_str()),
        (new.status, new.body.as_str())
    );
    assert_eq!(who(session_cookie(&again)).await, "anna@example.se");
}

/// Opens a connection from `source` (any 127.x.y.z is this machine) that sends half a request
/// head and then nothing.
async fn half_request(
    source: std::net::Ipv4Addr,
    server: std::net::SocketAddr,
) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind((source, 0).into()).unwrap();
    let mut stream = socket.connect(server).await.unwrap();
    stream
        .write_all(b"GET /login HTTP/1.1\r\nHost: ampwise\r\nUser-Agent: slow")
        .await
        .unwrap();
    stream
}

/// What the server says on `stream` before it closes it, if it closes it within `limit`.
async fn said_before_closing(
    stream: &mut tokio::net::TcpStream,
    limit: Duration,
) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut said = Vec::new();
    tokio::time::timeout(limit, async {
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => said.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()?;
    Some(String::from_utf8_lossy(&said).into_owned())
}

fn socket_of(base: &str) -> std::net::SocketAddr {
    base.trim_start_matches("http://").parse().unwrap()
}

/// The review held 5,000 half-finished connections for a minute, and ran the process out of
/// file descriptors at 20,000. Now a few thousand from several addresses leave a user and a
/// device served within a second; those over an address's cap are told so and closed at once,
/// the rest when the header timeout passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_finished_connections_crowd_out_nobody() {
    const SOURCES: u8 = 10;
    const EACH: usize = 200;
    const CAP: usize = 150;
    server::listen::raise_fd_limit();
    let server = Running::start_with(|c| {
        c.header_timeout = Duration::from_secs(3);
        c.connections_per_address = CAP;
    })
    .await;
    let (cookie, _, monitor, token) = server.household().await;
    let addr = socket_of(&server.base);
    let mut held = Vec::new();
    for i in 0..usize::from(SOURCES) * EACH {
        let source = std::net::Ipv4Addr::new(127, 0, 1, 1 + (i % usize::from(SOURCES)) as u8);
        held.push(half_request(source, addr).await);
    }

    let started = std::time::Instant::now();
    let page = server
        .client
        .get(format!("{}/settings/sites", server.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page_took = started.elapsed();
    let started = std::time::Instant::now();
    let device = server
        .try_post_readings(monitor, &token, &[common::now_ms()])
        .await;
    assert_eq!(device.status(), 200);
    let device_took = started.elapsed();
    assert!(
        page_took < Duration::from_secs(1) && device_took < Duration::from_secs(1),
        "page {page_took:?}, device {device_took:?}"
    );

    let mut told = 0;
    for stream in &mut held {
        let said = said_before_closing(stream, Duration::from_secs(10))
            .await
            .expect("every half-finished connection is closed within the header timeout");
        if said.starts_with("HTTP/1.1 503") {
            told += 1;
        }
    }
    assert_eq!(
        told,
        usize::from(SOURCES) * (EACH - CAP),
        "refused over the cap"
    );
}

/// A kept-alive connection that asks nothing more is closed after the header timeout.
#[tokio::test]
async fn idle_kept_alive_connections_are_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = Running::start_with(|c| c.header_timeout = Duration::from_secs(1)).await;
    let mut stream = tokio::net::TcpStream::connect(socket_of(&server.base))
        .await
        .unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: ampwise\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).ends_with("ok"));
    // Nothing more is asked: the server closes the connection.
    let said = said_before_closing(&mut stream, Duration::from_secs(5)).await;
    assert_eq!(
        said.as_deref(),
        Some(""),
        "the idle connection was kept open"
    );
}

/// Over the total cap, the health probes still answer (so a load balancer sees why) and
/// everything else gets a clean 503 at once.
#[tokio::test]
async fn over_the_total_cap_only_the_probes_answer() {
    let server = Running::start_with(|c| {
        c.header_timeout = Duration::from_secs(10);
        c.max_connections = Some(16);
    })
    .await;
    let addr = socket_of(&server.base);
    let mut held = Vec::new();
    for _ in 0..16 {
        held.push(half_request(std::net::Ipv4Addr::new(127, 0, 2, 1), addr).await);
    }
    // Fresh connections, one request each.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    for probe in ["/healthz", "/readyz"] {
        let r = client
            .get(format!("{}{probe}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{probe}");
    }
    let started = std::time::Instant::now();
    let r = client
        .get(format!("{}/login", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["connection"], "close");
    assert!(started.elapsed() < Duration::from_secs(1));
    drop(held);
}

/// A site, monitor and reporter named to break out of the page's markup (the review's site
/// name ended `<title>` and sent everyone who opened the site elsewhere).
const HOSTILE: &str =
    "</title><meta http-equiv=refresh content=0;url=https://evil.example><script>alert(1)</script>";

/// Every page shows hostile names as text, in both languages: the title is escaped, and
/// nothing of the names becomes markup.
#[tokio::test]
async fn hostile_names_stay_text_on_every_page() {
    let app = TestApp::new().await;
    let (anna, _) = app.sign_up("anna@example.se", "owner").await;
    let site = app.create_site(&anna, HOSTILE).await;
    let (monitor, _) = app.create_monitor(&anna, site, HOSTILE).await;
    let reply = app
        .call(
            "create_reporter",
            Some(&anna),
            &common::reporter_form(site, "open_reporter", &HOSTILE[..60], "", 25, monitor),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let reporter = reply.json().as_i64().unwrap();
    let pages = [
        "/".to_string(),
        format!("/sites/{site}"),
        format!("/monitors/{monitor}/history"),
        "/settings/sites".into(),
        format!("/settings/sites/{site}"),
        "/settings/monitors".into(),
        "/settings/licences".into(),
        "/settings/reporters".into(),
        "/settings/reporters/new".into(),
        format!("/settings/reporters/{reporter}"),
    ];
    for lang in ["en", "sv"] {
        let cookie = format!("{anna}; lang={lang}");
        for path in &pages {
            let page = app.page(path, Some(&cookie)).await;
            assert_eq!(page.status, StatusCode::OK, "{path} ({lang})");
            let html = page.body.to_ascii_lowercase();
            for markup in ["<meta http-equiv=refresh", "<script>alert(1)"] {
                assert!(
                    !html.contains(markup),
                    "{path} ({lang}): {markup} as markup"
                );
            }
            let title = html
                .split_once("<title>")
                .and_then(|(_, rest)| rest.split_once("</title>"))
                .map(|(title, _)| title)
                .unwrap_or_else(|| panic!("{path} ({lang}) has no title"));
            assert!(
                title.ends_with(" · ampwise") && !title.contains('<'),
                "{path} ({lang}): {title}"
            );
        }
    }
}

/// Secrets at rest: the database holds no PIN, partner password or session id as it is; a
/// copy of it signs nobody in and opens no measurement link. Everything still works with the
/// key: the PIN shows on the reporter's page, the session signs in.
#[tokio::test]
async fn the_database_holds_no_secret_in_the_clear() {
    let app = TestApp::new().await;
    let (anna, _) = app.sign_up("anna@example.se", "owner").await;
    let site = app.create_site(&anna, "Villa Ek").await;
    let (monitor, _) = app.create_monitor(&anna, site, "Mains").await;
    let (reporter, pin) = app.create_reporter(&anna, site, monitor).await;
    let reply = app
        .call(
            "create_reporter",
            Some(&anna),
            &common::reporter_form(site, "open_reporter", "Partner", "", 25, monitor),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let db = common::raw_database(&app.config.database_url).await;
    let stored: Vec<String> = sqlx::query_scalar(
        "SELECT pin FROM reporter_serials WHERE pin IS NOT NULL
         UNION ALL SELECT pin FROM reporters WHERE pin IS NOT NULL
         UNION ALL SELECT password FROM reporters WHERE password IS NOT NULL",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert!(stored.len() >= 3, "{stored:?}");
    for value in &stored {
        assert!(
            value.starts_with("v1:") && !value.contains(&pin) && !value.contains("s3cret"),
            "{value}"
        );
    }
    let cookie_id = anna.split_once('=').unwrap().1.to_string();
    let sessions = if backend::testing::on_postgres() {
        "SELECT id FROM tower_sessions.session"
    } else {
        "SELECT id FROM tower_sessions"
    };
    let ids: Vec<String> = sqlx::query_scalar(sessions).fetch_all(&db).await.unwrap();
    assert!(!ids.is_empty() && !ids.contains(&cookie_id), "{ids:?}");
    let shown = app
        .call("get_reporter", Some(&anna), &format!("id={reporter}"))
        .await;
    assert!(
        shown.body.contains(&pin),
        "the PIN still shows: {}",
        shown.body
    );
}

/// Secrets stored before sealing began are sealed at the next start, and still work.
#[tokio::test]
async fn secrets_stored_in_the_clear_are_sealed_at_start() {
    let app = TestApp::new().await;
    let (anna, _) = app.sign_up("anna@example.se", "owner").await;
    let site = app.create_site(&anna, "Villa Ek").await;
    let (monitor, _) = app.create_monitor(&anna, site, "Mains").await;
    let (reporter, _) = app.create_reporter(&anna, site, monitor).await;
    let db = common::raw_database(&app.config.database_url).await;
    // As an older server stored them.
    sqlx::query("UPDATE reporters SET pin = '12345678'")
        .execute(&db)
        .await
        .unwrap();
    sqlx::query("UPDATE reporter_serials SET pin = '12345678'")
        .execute(&db)
        .await
        .unwrap();
    let config = app.config.clone();
    let restarted = server::build(&config).await.unwrap();
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM reporters WHERE pin NOT LIKE 'v1:%'")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(left, 0);
    let shown = backend::reporters::get(
        &restarted.state.services,
        &backend::accounts::current(&restarted.state.services, 1)
            .await
            .unwrap()
            .unwrap(),
        reporter,
    )
    .await
    .unwrap();
    assert_eq!(shown.pin.as_deref(), Some("12345678"));
}

/// Answers that carry a PIN, a device token or a serial number are never kept by a cache.
#[tokio::test]
async fn answers_with_secrets_are_not_stored() {
    let app = TestApp::new().await;
    let (anna, _) = app.sign_up("anna@example.se", "owner").await;
    let site = app.create_site(&anna, "Villa Ek").await;
    let form =
        format!("monitor[site_id]={site}&monitor[name]=Mains&monitor[phases]=3&monitor[kind]=http");
    let created = app.call("create_monitor", Some(&anna), &form).await;
    let monitor = created.json()["monitor_id"].as_i64().unwrap();
    let (reporter, _) = app.create_reporter(&anna, site, monitor).await;
    let answers = [
        ("create_monitor", created),
        (
            "new_reporter_credentials",
            app.call("new_reporter_credentials", Some(&anna), "").await,
        ),
        (
            "get_reporter",
            app.call("get_reporter", Some(&anna), &format!("id={reporter}"))
                .await,
        ),
        (
            "reporter page",
            app.page(&format!("/settings/reporters/{reporter}"), Some(&anna))
                .await,
        ),
    ];
    for (what, reply) in answers {
        assert_eq!(reply.status, StatusCode::OK, "{what}: {}", reply.body);
        assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store", "{what}");
    }
}

/// Each password hash takes a 19 MiB block (argon2). The server gives the blocks back: with
/// glibc's malloc, 40 sign-ups one after another left the process 210 MiB larger for good.
#[tokio::test]
async fn a_burst_of_sign_ups_leaves_no_memory_behind() {
    let dir = tempfile::tempdir().unwrap();
    let site_root = dir.path().join("site");
    std::fs::create_dir_all(&site_root).unwrap();
    let db = backend::testing::database_url(dir.path()).await;
    let (child, server) = Running::start_binary_with(
        &[],
        &db,
        &site_root,
        &[("AMPWISE_SIGN_UPS_PER_HOUR", "1000".into())],
    )
    .await;
    let pid = child.id().expect("the server runs");
    let rss_mib = || {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap();
        kib / 1024
    };
    let sign_up = async |n: usize| {
        let form = format!(
            "email=burst{n}%40example.se&password={}&role=owner",
            enc(PASSWORD)
        );
        assert_eq!(server.call("sign_up", None, form).await.status(), 200);
    };
    sign_up(0).await;
    let before = rss_mib();
    for n in 1..=40 {
        sign_up(n).await;
    }
    let after = rss_mib();
    eprintln!("server RSS {before} MiB → {after} MiB after 40 sign-ups");
    assert!(
        after < before + 64,
        "40 sign-ups left the server {} MiB larger ({before} → {after} MiB)",
        after - before
    );
}
