//! The server through its real router and a real SQLite database: sessions, sign-in errors,
//! rate limits, language, health, start-up and shutdown.

mod common;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use common::{PASSWORD, TestApp, enc, session_cookie};
use rstest::rstest;
use server::Config;

#[tokio::test]
async fn session_cookie_is_http_only_and_same_site() {
    let app = TestApp::new().await;
    let reply = app
        .sign_up_reply("anna@example.se", PASSWORD, "owner")
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let set_cookie = reply
        .headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(set_cookie.starts_with("ampwise_session="), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    assert!(!reply.body.contains("password"), "{}", reply.body);

    let cookie = session_cookie(&reply);
    let me = app.call("me", Some(&cookie), "").await.json();
    assert_eq!(me["email"], "anna@example.se");
    assert_eq!(me["role"], "owner");

    app.call("log_out", Some(&cookie), "").await;
    assert!(
        app.call("me", Some(&cookie), "").await.json().is_null(),
        "the old cookie is worthless after logging out"
    );
}

#[tokio::test]
async fn logging_in_issues_a_new_session_id() {
    let app = TestApp::new().await;
    let (first, _) = app.sign_up("anna@example.se", "owner").await;
    let reply = app
        .call(
            "log_in",
            Some(&first),
            &format!("email=anna%40example.se&password={}", enc(PASSWORD)),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_ne!(session_cookie(&reply), first);
}

#[rstest]
#[case::wrong_password("anna@example.se", "not-the-password", 401, "BadCredentials")]
#[case::unknown_account("nobody@example.se", PASSWORD, 401, "BadCredentials")]
#[case::not_an_email("anna", PASSWORD, 401, "BadCredentials")]
#[tokio::test]
async fn failed_log_in(
    #[case] email: &str,
    #[case] password: &str,
    #[case] status: u16,
    #[case] error: &str,
) {
    let app = TestApp::new().await;
    app.sign_up("anna@example.se", "owner").await;
    let reply = app
        .call(
            "log_in",
            None,
            &format!("email={}&password={}", enc(email), enc(password)),
        )
        .await;
    assert_eq!(reply.status.as_u16(), status, "{}", reply.body);
    assert_eq!(reply.json(), serde_json::json!(error));
    assert!(reply.headers.get(header::SET_COOKIE).is_none());
}

#[rstest]
#[case::weak_password("anna@example.se", "password1234", "owner", 422, "error.password_weak")]
#[case::short_password("anna@example.se", "Kort-1", "owner", 422, "error.password_short")]
#[case::bad_email("anna@", PASSWORD, "owner", 422, "error.email_invalid")]
#[case::unknown_role("anna@example.se", PASSWORD, "admin", 422, "error.role_invalid")]
#[tokio::test]
async fn refused_sign_up(
    #[case] email: &str,
    #[case] password: &str,
    #[case] role: &str,
    #[case] status: u16,
    #[case] key: &str,
) {
    let app = TestApp::new().await;
    let reply = app.sign_up_reply(email, password, role).await;
    assert_eq!(reply.status.as_u16(), status, "{}", reply.body);
    assert_eq!(reply.json()["Invalid"]["key"], key);
    // Nothing was created: the address is still free.
    app.sign_up("anna@example.se", "owner").await;
}

#[tokio::test]
async fn malformed_request_is_a_clear_4xx() {
    let app = TestApp::new().await;
    let reply = app.call("log_in", None, "email=only").await;
    assert!(
        reply.status.is_client_error(),
        "{}: {}",
        reply.status,
        reply.body
    );
    assert_eq!(reply.json(), serde_json::json!("Request"));
}

/// Guessing one account's password from one address is slowed after five tries, but the
/// stranger doing it cannot lock the owner out: she signs in from her own address.
#[tokio::test]
async fn log_in_is_rate_limited_per_account_and_address() {
    let app = TestApp::new().await;
    app.sign_up("anna@example.se", "owner").await;
    for _ in 1..=5 {
        let reply = app
            .log_in_from("anna@example.se", "guess-guess-guess", "198.51.100.7:5000")
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let reply = app
        .log_in_from("anna@example.se", "guess-guess-guess", "198.51.100.7:5001")
        .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    let wait = reply.json()["RateLimited"]["retry_after_secs"]
        .as_u64()
        .unwrap();
    assert!((1..=300).contains(&wait), "{wait}");
    assert_eq!(
        reply.headers.get(header::RETRY_AFTER).unwrap(),
        &wait.to_string()
    );
    // Even the right password waits from there: the limit is on attempts.
    let right = app
        .log_in_from("anna@example.se", PASSWORD, "198.51.100.7:5002")
        .await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
    // Anna at home is not locked out.
    let home = app
        .log_in_from("anna@example.se", PASSWORD, "192.0.2.10:5000")
        .await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
}

#[tokio::test]
async fn log_in_is_rate_limited_per_address() {
    let app = TestApp::new().await;
    for n in 0..20 {
        let reply = app
            .log_in_from(
                &format!("user{n}@example.se"),
                "guess-guess-guess",
                "198.51.100.7:5000",
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let reply = app
        .log_in_from("user99@example.se", "x", "198.51.100.7:5000")
        .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    let elsewhere = app
        .log_in_from("user99@example.se", "x", "198.51.100.8:5000")
        .await;
    assert_eq!(elsewhere.status, StatusCode::UNAUTHORIZED);
}

#[rstest]
#[case::swedish_browser(None, Some("sv-SE,sv;q=0.9,en;q=0.8"), "sv", "Logga in")]
#[case::english_browser(None, Some("en-GB,en;q=0.9"), "en", "Log in")]
#[case::no_preference(None, None, "en", "Log in")]
#[case::cookie_beats_browser(Some("lang=en"), Some("sv-SE"), "en", "Log in")]
#[case::cookie_swedish(Some("lang=sv"), Some("en-US"), "sv", "Logga in")]
#[tokio::test]
async fn page_language(
    #[case] cookie: Option<&str>,
    #[case] accept_language: Option<&str>,
    #[case] lang: &str,
    #[case] heading: &str,
) {
    let app = TestApp::new().await;
    let mut req = axum::http::Request::get("/login").header(header::ACCEPT, "text/html");
    if let Some(cookie) = cookie {
        req = req.header(header::COOKIE, cookie);
    }
    if let Some(al) = accept_language {
        req = req.header(header::ACCEPT_LANGUAGE, al);
    }
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let res = app
        .router
        .clone()
        .oneshot(req.body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body =
        String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(
        body.contains(&format!("<html lang=\"{lang}\"")),
        "{}",
        &body[..200.min(body.len())]
    );
    assert!(
        // The heading's text, then a hydration marker or the closing tag.
        body.contains(&format!("<h1>{heading}<")),
        "no <h1>{heading}"
    );
}

#[tokio::test]
async fn set_language_remembers_the_choice_for_a_year() {
    let app = TestApp::new().await;
    let reply = app.call("set_language", None, "lang=sv").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), serde_json::json!("sv"));
    let cookie = reply
        .headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        cookie.starts_with("lang=sv;")
            && cookie.contains("Max-Age=31536000")
            && cookie.contains("Path=/"),
        "{cookie}"
    );

    let bad = app.call("set_language", None, "lang=fi").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.headers.get(header::SET_COOKIE).is_none());
}

/// Who sees which page, decided before it renders: the app's pages need a signed-in visitor,
/// the login and sign-up pages send a signed-in one on to `next` (only ever a page of ours).
#[rstest]
#[case::overview_signed_out(false, "/", 302, Some("/login"))]
#[case::scanned_link_signed_out(
    false,
    "/settings/licences?code=A2B3C-D4E5F",
    302,
    Some("/login?next=%2Fsettings%2Flicences%3Fcode%3DA2B3C-D4E5F")
)]
#[case::login_signed_out(false, "/login?next=%2Fsettings", 200, None)]
#[case::signup_signed_out(false, "/signup", 200, None)]
#[case::unknown_page_signed_out(false, "/no/such/page", 404, None)]
#[case::overview_signed_in(true, "/", 200, None)]
#[case::login_signed_in(true, "/login", 302, Some("/"))]
#[case::login_signed_in_goes_on(
    true,
    "/login?next=%2Fsettings%2Flicences%3Fcode%3DA2B3C",
    302,
    Some("/settings/licences?code=A2B3C")
)]
#[case::signup_signed_in_goes_on(true, "/signup?next=%2Fsettings", 302, Some("/settings"))]
#[case::no_other_host(true, "/login?next=%2F%2Fevil.example%2Fphish", 302, Some("/"))]
#[case::no_absolute_url(true, "/login?next=https%3A%2F%2Fevil.example", 302, Some("/"))]
#[case::no_backslash(true, "/login?next=%2F%5Cevil.example", 302, Some("/"))]
#[case::no_tab(true, "/login?next=/%09/evil.example", 302, Some("/"))]
#[case::no_newline(true, "/login?next=/%0A/evil.example", 302, Some("/"))]
#[case::no_space(true, "/signup?next=/%20/evil.example", 302, Some("/"))]
#[tokio::test]
async fn page_guard(
    #[case] signed_in: bool,
    #[case] path: &str,
    #[case] status: u16,
    #[case] location: Option<&str>,
) {
    let app = TestApp::new().await;
    let cookie = if signed_in {
        Some(app.sign_up("anna@example.se", "owner").await.0)
    } else {
        None
    };
    let reply = app.page(path, cookie.as_deref()).await;
    assert_eq!(
        reply.status.as_u16(),
        status,
        "{path}: {}",
        &reply.body[..reply.body.len().min(200)]
    );
    assert_eq!(
        reply
            .headers
            .get(header::LOCATION)
            .map(|l| l.to_str().unwrap()),
        location,
        "{path}"
    );
}

#[tokio::test]
async fn unknown_page_is_404_in_the_app_frame() {
    let app = TestApp::new().await;
    let reply = app.page("/no/such/page", None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(
        reply.body.contains("There is no page at this address."),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::new().await;
    let health = app.page("/healthz", None).await;
    assert_eq!(
        (health.status, health.body.as_str()),
        (StatusCode::OK, "ok")
    );
    let ready = app.page("/readyz", None).await;
    assert_eq!(
        (ready.status, ready.body.as_str()),
        (StatusCode::OK, "ready")
    );
}

/// Each page names the bundle that has it (app/src/bundle.rs): the login pages, the overview,
/// the licences, the reporters and the wizard their own, every other page (a missing one too)
/// the last. Only
/// the licences page names the QR decoder, for its loader to fetch when it is needed.
#[tokio::test]
async fn each_page_names_the_bundle_that_has_it() {
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(
        pkg.join("assets.json"),
        r#"{"css":"ampwise-0.css","login":"ampwise-login-1","home":"ampwise-home-2","licences":"ampwise-licences-3","reporters":"ampwise-reporters-4","wizard":"ampwise-wizard-7","sites":"ampwise-sites-8","monitors":"ampwise-monitors-9","site":"ampwise-site-10","history":"ampwise-history-11","other":"ampwise-other-5","qr":"ampwise-qr-6"}"#,
    )
    .unwrap();
    let root = site.path().to_path_buf();
    let app = TestApp::new_with(|c| c.site_root = root).await;
    let (cookie, _) = app.sign_up("owner@example.com", "owner").await;
    let site_id = app.create_site(&cookie, "Home").await;
    let signed_in = Some(cookie.as_str());
    let cases = [
        ("log in", "/login".to_string(), None, "ampwise-login-1"),
        ("sign up", "/signup".to_string(), None, "ampwise-login-1"),
        ("overview", "/".to_string(), signed_in, "ampwise-home-2"),
        (
            "licences",
            "/settings/licences".to_string(),
            signed_in,
            "ampwise-licences-3",
        ),
        (
            "reporters",
            "/settings/reporters".to_string(),
            signed_in,
            "ampwise-reporters-4",
        ),
        (
            "the reporter wizard",
            "/settings/reporters/new".to_string(),
            signed_in,
            "ampwise-wizard-7",
        ),
        (
            "a site",
            format!("/sites/{site_id}"),
            signed_in,
            "ampwise-site-10",
        ),
        (
            "sites settings",
            "/settings/sites".to_string(),
            signed_in,
            "ampwise-sites-8",
        ),
        (
            "a site's settings",
            format!("/settings/sites/{site_id}"),
            signed_in,
            "ampwise-sites-8",
        ),
        (
            "monitors settings",
            "/settings/monitors".to_string(),
            signed_in,
            "ampwise-monitors-9",
        ),
        (
            "a monitor's history",
            "/monitors/1/history".to_string(),
            signed_in,
            "ampwise-history-11",
        ),
        (
            "missing page",
            "/nowhere".to_string(),
            signed_in,
            "ampwise-other-5",
        ),
    ];
    for (name, path, cookie, bundle) in cases {
        let page = app.page(&path, cookie).await;
        assert!(
            page.body.contains(&format!("/pkg/{bundle}.js"))
                && page.body.contains(&format!("/pkg/{bundle}_bg.wasm")),
            "{name}: {path} does not name {bundle}"
        );
        let others = [
            "ampwise-login-1",
            "ampwise-home-2",
            "ampwise-licences-3",
            "ampwise-reporters-4",
            "ampwise-wizard-7",
            "ampwise-sites-8",
            "ampwise-monitors-9",
            "ampwise-site-10",
            "ampwise-history-11",
            "ampwise-other-5",
        ];
        for other in others.iter().filter(|o| **o != bundle) {
            assert!(
                !page.body.contains(other),
                "{name}: {path} names {other} too"
            );
        }
        assert!(
            page.body.contains("/pkg/ampwise-0.css"),
            "{name}: no style sheet"
        );
        assert_eq!(
            page.body
                .contains("\"/pkg/ampwise-qr-6.js\",\"/pkg/ampwise-qr-6_bg.wasm\""),
            bundle == "ampwise-licences-3",
            "{name}: {path} names the QR decoder unless it is the licences page, or lacks it there"
        );
    }
}

#[tokio::test]
async fn site_bundle_is_served() {
    let app = TestApp::new().await;
    let css = app.page("/pkg/ampwise.css", None).await;
    assert_eq!((css.status, css.body.as_str()), (StatusCode::OK, "body{}"));
}

#[tokio::test]
async fn bundle_is_gzipped_for_browsers_that_ask() {
    let app = TestApp::new().await;
    let css = "body { margin: 0 }\n".repeat(100);
    std::fs::write(app.config.site_root.join("pkg").join("big.css"), &css).unwrap();
    let req = |encoding: Option<&str>| {
        let mut req = axum::http::Request::get("/pkg/big.css");
        if let Some(encoding) = encoding {
            req = req.header(header::ACCEPT_ENCODING, encoding);
        }
        req.body(axum::body::Body::empty()).unwrap()
    };
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let gzipped = app
        .router
        .clone()
        .oneshot(req(Some("gzip, br")))
        .await
        .unwrap();
    assert_eq!(
        gzipped.headers().get(header::CONTENT_ENCODING).unwrap(),
        "gzip"
    );
    let size = gzipped
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .len();
    assert!(size < css.len() / 10, "{size} bytes for {}", css.len());
    let plain = app.router.clone().oneshot(req(None)).await.unwrap();
    assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
    assert_eq!(
        plain.into_body().collect().await.unwrap().to_bytes(),
        css.as_bytes()
    );
}

#[tokio::test]
async fn start_up_fails_when_a_migration_fails() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        // Tampering is shown on SQLite's migration table; both databases run sqlx's migrator.
        database_url: format!("sqlite://{}", dir.path().join("test.db").display()),
        ..common::test_config(&dir).await
    };
    drop(server::build(&config).await.unwrap());
    // Someone edited an applied migration: its recorded checksum no longer matches.
    let pool = sqlx::SqlitePool::connect(&config.database_url)
        .await
        .unwrap();
    sqlx::query("UPDATE _sqlx_migrations SET checksum = x'00'")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let err = server::build(&config)
        .await
        .err()
        .expect("start-up must fail");
    let text = format!("{err:#}");
    assert!(
        text.contains("opening database") && text.contains("migration"),
        "{text}"
    );
}

#[tokio::test]
async fn serve_stops_when_told_and_keeps_what_it_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::test_config(&dir).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server::serve(config.clone(), listener, async {
        let _ = stopped.await;
    }));

    // A real HTTP round trip over the socket.
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let form = format!(
        "email=anna%40example.se&password={}&role=owner",
        enc(PASSWORD)
    );
    let request = format!(
        "POST /api/sign_up HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
        form.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    stop.send(()).unwrap();
    running.await.unwrap().unwrap();

    // The account is there after a restart.
    let app = server::build(&config).await.unwrap();
    let reply = TestApp {
        router: app.router,
        state: app.state,
        config,
        dir,
    }
    .call(
        "log_in",
        None,
        &format!("email=anna%40example.se&password={}", enc(PASSWORD)),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
}

/// Operators read the counters that should stay at zero (a stalled page render) and the open
/// live views.
#[tokio::test]
async fn metrics_are_served_for_operators() {
    let app = TestApp::new().await;
    let reply = app.page("/metrics", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply.body.contains("ampwise_page_render_stalls_total "),
        "{}",
        reply.body
    );
    assert!(
        reply.body.contains("ampwise_live_streams_open 0"),
        "{}",
        reply.body
    );
}

/// `/metrics` only for the addresses the operator allows (loopback by default) or with the
/// operator's bearer token; anyone else is refused and the connection closed.
#[rstest]
#[case::loopback("127.0.0.1:40000", None, 200)]
#[case::loopback_v6("[::1]:40000", None, 200)]
#[case::stranger("203.0.113.9:40000", None, 401)]
#[case::stranger_with_token("203.0.113.9:40000", Some("Bearer metrics-token-0123456789"), 200)]
#[case::stranger_with_wrong_token(
    "203.0.113.9:40000",
    Some("Bearer metrics-token-0123456780"),
    401
)]
#[case::stranger_with_basic_auth("203.0.113.9:40000", Some("Basic bWV0cmljczp4"), 401)]
#[case::allowed_network("10.1.2.3:40000", None, 200)]
#[tokio::test]
async fn metrics_are_only_for_the_operator(
    #[case] from: &str,
    #[case] authorization: Option<&str>,
    #[case] status: u16,
) {
    let app = TestApp::new_with(|c| {
        c.metrics_token = Some("metrics-token-0123456789".into());
        c.metrics_allow
            .push(server::config::AddressRange::parse("10.0.0.0/8").unwrap());
    })
    .await;
    let mut req = Request::builder().uri("/metrics");
    if let Some(authorization) = authorization {
        req = req.header(header::AUTHORIZATION, authorization);
    }
    let mut req = req.body(Body::empty()).unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(from.parse::<std::net::SocketAddr>().unwrap()));
    let reply = app.send(req).await;
    assert_eq!(reply.status.as_u16(), status, "{}", reply.body);
    if status == 200 {
        assert!(reply.body.contains("ampwise_live_streams_open"));
    } else {
        assert!(!reply.body.contains("ampwise_"), "{}", reply.body);
        assert_eq!(reply.headers["connection"], "close");
    }
}

/// The bundle as the build leaves it, named by its content: pages name it, browsers get the
/// brotli or gzip file made at build time (nothing compressed per request) and may keep it for
/// a year; pages themselves are never kept (they name the next build's bundle).
#[rstest]
#[case::brotli(Some("gzip, deflate, br"), Some("br"), "brotli bytes")]
#[case::gzip(Some("gzip, deflate"), Some("gzip"), "gzip bytes")]
#[case::plain(None, None, "console.log('ampwise')")]
#[tokio::test]
async fn the_bundle_is_served_precompressed_and_kept_for_a_year(
    #[case] accept: Option<&str>,
    #[case] encoding: Option<&str>,
    #[case] body: &str,
) {
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    let name = "ampwise-login-0123456789abcdef";
    let css = "ampwise-fedcba9876543210.css";
    for (file, content) in [
        (format!("{name}.js"), "console.log('ampwise')"),
        (format!("{name}.js.br"), "brotli bytes"),
        (format!("{name}.js.gz"), "gzip bytes"),
        (format!("{name}_bg.wasm"), "\0asm"),
        (css.to_string(), "body{}"),
    ] {
        std::fs::write(pkg.join(file), content).unwrap();
    }
    std::fs::write(
        pkg.join("assets.json"),
        format!(
            r#"{{"css":"{css}","login":"{name}","home":"ampwise-home-1111111111111111","licences":"ampwise-licences-2222222222222222","reporters":"ampwise-reporters-3333333333333333","wizard":"ampwise-wizard-6666666666666666","sites":"ampwise-sites-7777777777777777","monitors":"ampwise-monitors-8888888888888888","site":"ampwise-site-9999999999999999","history":"ampwise-history-aaaaaaaaaaaaaaaa","other":"ampwise-other-4444444444444444","qr":"ampwise-qr-5555555555555555"}}"#
        ),
    )
    .unwrap();
    let root = site.path().to_path_buf();
    let app = TestApp::new_with(|c| c.site_root = root).await;

    let page = app.page("/login", None).await;
    assert_eq!(page.status, StatusCode::OK);
    for named in [
        format!("/pkg/{name}.js"),
        format!("/pkg/{name}_bg.wasm"),
        format!("/pkg/{css}"),
    ] {
        assert!(page.body.contains(&named), "the page does not name {named}");
    }
    assert_eq!(page.headers[header::CACHE_CONTROL], "no-store");

    let mut req = axum::http::Request::get(format!("/pkg/{name}.js"));
    if let Some(accept) = accept {
        req = req.header(header::ACCEPT_ENCODING, accept);
    }
    let reply = app.send(req.body(axum::body::Body::empty()).unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply
            .headers
            .get(header::CONTENT_ENCODING)
            .map(|v| v.to_str().unwrap()),
        encoding
    );
    assert_eq!(reply.body, body);
    assert_eq!(
        reply.headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    // A file that is not there is not kept.
    let missing = app
        .send(
            axum::http::Request::get("/pkg/ampwise-ffffffffffffffff.js")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.headers.get(header::CACHE_CONTROL).is_none());
}
