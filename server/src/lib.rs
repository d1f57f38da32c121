//! The Ampwise server as a library: [`build`] assembles the router over an opened database,
//! [`serve`] runs it on a listener until a shutdown future resolves. `main.rs` only reads the
//! configuration and the signals; tests start the same server on port 0.

pub mod config;
pub mod demo;
pub mod licences;
pub mod listen;
pub mod live_access;
pub mod monitors;
pub mod peaks;
pub mod plan;
pub mod reporters;
pub mod security;
pub mod sessions;
pub mod simulate;
pub mod supervisor;

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context;
use app::{App, shell};
use axum::Router;
use axum::extract::{FromRef, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use backend::{Database, Services};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{ExpiredDeletion, Expiry, SessionManagerLayer};

pub use config::Config;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "ampwise_session";

/// How often expired sessions are deleted from the database.
const SESSION_CLEANUP_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub services: Services,
    pub db: Database,
    /// Cancelled at shutdown: every background loop and every long-lived response (the SSE
    /// streams to come) ends on it, so graceful shutdown is not held open.
    pub shutdown: CancellationToken,
    /// Open live streams, per account and in total.
    pub streams: std::sync::Arc<live_access::StreamSlots>,
    /// Who may read `/metrics`.
    pub metrics_access: std::sync::Arc<MetricsAccess>,
    /// The sessions, as the session layer reads them (live streams look again).
    pub sessions: sessions::Store,
}

/// Who may read `/metrics`: the addresses and networks the operator allows
/// (`AMPWISE_METRICS_ALLOW`, loopback by default), or anyone with the bearer token
/// (`AMPWISE_METRICS_TOKEN`).
pub struct MetricsAccess {
    allow: Vec<config::AddressRange>,
    token: Option<String>,
}

impl MetricsAccess {
    fn allows(&self, client: Option<std::net::IpAddr>, authorization: Option<&str>) -> bool {
        let by_address = client.is_some_and(|ip| self.allow.iter().any(|r| r.contains(ip)));
        let by_token = match (
            &self.token,
            authorization.and_then(|a| a.strip_prefix("Bearer ")),
        ) {
            (Some(want), Some(got)) => same_secret(want.as_bytes(), got.trim().as_bytes()),
            _ => false,
        };
        by_address || by_token
    }
}

/// Compares two secrets in time that does not depend on where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// A built server: its router, the state behind it, and its background tasks.
pub struct Ampwise {
    pub router: Router,
    /// What connections over the total cap are served: the health probes only.
    pub probes: Router,
    pub state: AppState,
    pub supervisor: supervisor::Supervisor,
}

/// Opens the database (creating and migrating it; an error here must stop start-up) and
/// assembles every route. `leptos_routes_with_context` serves the pages and the server
/// functions (`/api/…`), each with [`Services`] in its context.
pub async fn build(config: &Config) -> anyhow::Result<Ampwise> {
    let db = Database::connect(&config.database_url)
        .await
        .with_context(|| {
            format!(
                "opening database {}",
                backend::db::redact_url(&config.database_url)
            )
        })?;
    db.prepare(
        jiff::Timestamp::now().as_millisecond(),
        config.raw_retention_days,
    )
    .await
    .context("making the database's partitions")?;
    let secrets = config.secrets_key.clone().context(
        "AMPWISE_SECRETS_KEY is not set: it seals reporter PINs and partner passwords in the \
         database. Make one with `od -An -tx1 -N32 /dev/urandom | tr -d ' \\n'` and keep it \
         with the server's other secrets",
    )?;
    let test_clock = config
        .test_clock
        .then(|| std::sync::Arc::new(backend::clock::OffsetClock::default()));
    let mut services = Services::new(&db)
        .with_licence_key(config.licence_key.clone())
        .with_raw_retention_days(config.raw_retention_days)
        .with_silent_after_ms(config.monitor_silent.as_millis() as i64)
        .with_hourly_limits(config.sign_ups_per_hour, config.redeems_per_hour)
        .with_partner_allow(config.partner_allow.clone())
        .with_secrets(secrets)
        .with_reporters_per_site(config.reporters_per_site)
        .with_device_limit(config.device_requests_per_second)
        .with_session_rules(backend::accounts::SessionRules {
            max_ms: config.session_max_days * 86_400_000,
            touch_after_ms: config.session_touch_after.as_millis() as i64,
        });
    if let Some(clock) = &test_clock {
        services = services.with_charging_clock(clock.clone());
    }
    let sealed = backend::reporters::seal_stored_secrets(&services)
        .await
        .context("sealing the secrets stored before they were sealed")?;
    if sealed > 0 {
        tracing::info!(
            sealed,
            "sealed PINs and partner passwords stored in plain text"
        );
    }
    let feed = price_feed(config, services.charging_clock.clone());
    let services = services.with_price_feed(feed);
    let shutdown = CancellationToken::new();
    let mut supervisor = supervisor::Supervisor::new(shutdown.clone());

    let assets = SiteAssets::read(&config.site_root);
    let leptos_options = LeptosOptions::builder()
        .output_name(assets.files.other.as_str())
        .site_root(config.site_root.to_string_lossy().as_ref())
        .site_pkg_dir("pkg")
        .site_addr(config.addr)
        .build();

    let session_store = sessions::open(&db).await?;
    {
        let cleanup = session_store.clone();
        supervisor.spawn("session cleanup", move |stop| {
            let cleanup = cleanup.clone();
            async move {
                tokio::select! {
                    () = stop.cancelled() => Ok(()),
                    result = cleanup.continuously_delete_expired(SESSION_CLEANUP_EVERY) => {
                        result.context("deleting expired sessions")
                    }
                }
            }
        });
    }
    let sessions = SessionManagerLayer::new(session_store.clone())
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure_cookies)
        .with_expiry(Expiry::OnInactivity(time::Duration::days(
            config.session_days,
        )));

    {
        let ingest = services.ingest.clone();
        supervisor.spawn("readings writer", move |stop| {
            let ingest = ingest.clone();
            async move { ingest.run(stop).await }
        });
    }
    {
        let services = services.clone();
        supervisor.spawn("bus", move |stop| {
            let services = services.clone();
            async move {
                let bus = services.bus.clone();
                bus.run(services, stop).await
            }
        });
    }
    spawn_pruning(&mut supervisor, services.clone(), db.clone());
    spawn_forwarding(
        &mut supervisor,
        services.clone(),
        config,
        matches!(db, Database::Postgres(_)),
    );
    {
        let services = services.clone();
        supervisor.spawn("charging", move |stop| {
            backend::charging::run(services.clone(), stop)
        });
    }

    let state = AppState {
        leptos_options: leptos_options.clone(),
        services: services.clone(),
        db,
        shutdown,
        streams: live_access::StreamSlots::new(config.streams_per_account, config.streams_total),
        metrics_access: std::sync::Arc::new(MetricsAccess {
            allow: config.metrics_allow.clone(),
            token: config.metrics_token.clone(),
        }),
        sessions: session_store,
    };
    let context = {
        let services = services.clone();
        let files = assets.files.clone();
        move || {
            provide_context(services.clone());
            provide_context(files.clone());
            security::provide_page_nonce();
        }
    };
    let policy = security::Policy::new(&config.public_url);
    let live = monitors::live_routes()
        .merge(reporters::live_routes())
        .layer(sessions.clone());
    let devices = monitors::ingest_routes(
        config.request_timeout,
        std::sync::Arc::new(services.clone()),
    );
    let devices = match test_clock {
        Some(clock) => devices.merge(test_clock_routes(clock)),
        None => devices,
    };
    let routes = route_list();
    let app_routes = Router::new()
        .leptos_routes_with_context(&state, routes, context.clone(), move || {
            shell(leptos_options.clone())
        })
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            page_guard,
        ));
    let health = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz));
    let probes = listen::probes_only(health.clone().with_state(state.clone()));
    let router = health
        .route("/metrics", get(metrics))
        .merge(monitors::routes())
        .nest_service("/pkg", assets.service(&config.site_root))
        .merge(app_routes)
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        .layer(axum::middleware::from_fn(client_errors_are_4xx))
        // Before the session is read: another site's form never reaches a server function.
        .layer(axum::middleware::from_fn_with_state(
            policy.clone(),
            security::same_origin,
        ))
        .layer(sessions)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        // gzip for pages, JSON and the wasm bundle (1.3 MB → about a third) on phone networks.
        // The default predicate leaves small bodies, images and event streams alone.
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .merge(live)
        .merge(devices)
        .layer(axum::middleware::from_fn_with_state(
            policy,
            security::headers,
        ));
    let router = match &config.trusted_proxy_header {
        Some(header) => router.layer(axum::middleware::from_fn_with_state(
            std::sync::Arc::<str>::from(header.to_ascii_lowercase()),
            security::client_address,
        )),
        None => router,
    }
    .with_state(state.clone());
    Ok(Ampwise {
        router,
        probes,
        state,
        supervisor,
    })
}

/// The app's routes, generated once per process. Leptos marks route generation with one
/// process-wide flag, and a resource first polled while it is set never loads
/// (leptos-rs/leptos #4773): building a second server while the first renders pages (as the
/// test suite does) stalled those renders for good.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// Page renders that stalled and were rendered again (see [`render_page`]): should stay 0.
static PAGE_RENDER_STALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub fn page_render_stalls() -> u64 {
    PAGE_RENDER_STALLS.load(std::sync::atomic::Ordering::Relaxed)
}

/// `GET /metrics`: counters for operators, in Prometheus' text format; only to the addresses
/// or the token the operator allows (a 404 to anyone else, as for a page that is not there).
async fn metrics(State(state): State<AppState>, request: Request) -> Response {
    let client = request
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let authorization = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !state.metrics_access.allows(client, authorization) {
        return (
            StatusCode::UNAUTHORIZED,
            [
                (axum::http::header::WWW_AUTHENTICATE, "Bearer"),
                (axum::http::header::CONNECTION, "close"),
            ],
            "Metrics are for the operator.",
        )
            .into_response();
    }
    let mut reporters = String::from(
        "# HELP ampwise_reporters Reporters this process forwards, by status.\n\
         # TYPE ampwise_reporters gauge\n",
    );
    let services = &state.services;
    for (status, n) in services
        .reporter_board
        .status_counts(services.clock.now_ms(), services.silent_after_ms)
    {
        reporters.push_str(&format!(
            "ampwise_reporters{{status=\"{}\"}} {n}\n",
            status.key().trim_start_matches("reporter.status_")
        ));
    }
    let body = format!(
        "# HELP ampwise_page_render_stalls_total Page renders that stalled and were rendered again.\n\
         # TYPE ampwise_page_render_stalls_total counter\n\
         ampwise_page_render_stalls_total {}\n\
         # HELP ampwise_live_streams_open Live views (event streams) open now.\n\
         # TYPE ampwise_live_streams_open gauge\n\
         ampwise_live_streams_open {}\n",
        page_render_stalls(),
        state.streams.open(),
    ) + &reporters;
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        body,
    )
        .into_response()
}

/// The browser bundles as `scripts/build-site.sh` left them: named by their content
/// (`pkg/assets.json`), or plain `ampwise.*` (tests, a bundle built by hand).
struct SiteAssets {
    files: app::bundle::SiteFiles,
    hashed: bool,
}

impl SiteAssets {
    fn read(site_root: &std::path::Path) -> Self {
        let manifest = std::fs::read(site_root.join("pkg").join("assets.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<app::bundle::SiteFiles>(&bytes).ok());
        match manifest {
            Some(files) => Self {
                files,
                hashed: true,
            },
            None => Self {
                files: app::bundle::SiteFiles::unnamed(),
                hashed: false,
            },
        }
    }

    /// `/pkg/*`: the brotli or gzip file made at build time when the browser takes it (nothing
    /// is compressed per request), kept for a year when its name is its content's hash.
    fn service(&self, site_root: &std::path::Path) -> axum::routing::MethodRouter {
        use axum::http::{HeaderValue, header};
        let cache = HeaderValue::from_static(if self.hashed {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        });
        let files = tower_http::services::ServeDir::new(site_root.join("pkg"))
            .precompressed_br()
            .precompressed_gzip();
        let files = tower::ServiceBuilder::new()
            .layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
                header::CACHE_CONTROL,
                move |response: &Response<_>| response.status().is_success().then(|| cache.clone()),
            ))
            .service(files);
        axum::routing::get_service(files)
    }
}

/// How often raw readings past the retention window are deleted.
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Deletes raw readings past retention, and makes what the database needs ahead of time
/// (PostgreSQL's partitions for the coming days), every hour.
fn spawn_pruning(supervisor: &mut supervisor::Supervisor, services: Services, db: Database) {
    supervisor.spawn("pruning", move |stop| {
        let (services, db) = (services.clone(), db.clone());
        async move {
            let mut every = tokio::time::interval(PRUNE_EVERY);
            // Its first tick is now, when `build` has just made the partitions: prune only.
            every.tick().await;
            loop {
                match backend::monitors::prune(&services).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(readings = n, "deleted raw readings past retention"),
                    Err(e) => tracing::error!(error = %e, "deleting old raw readings failed"),
                }
                tokio::select! {
                    () = stop.cancelled() => return Ok(()),
                    _ = every.tick() => {}
                }
                match db
                    .prepare(services.clock.now_ms(), services.raw_retention_days)
                    .await
                {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(partitions = n, "made the coming days' partitions"),
                    Err(e) => {
                        tracing::error!(error = %e, "making the coming days' partitions failed")
                    }
                }
            }
        }
    });
}

/// Where spot prices come from, by the configuration.
fn price_feed(
    config: &Config,
    clock: std::sync::Arc<dyn backend::clock::Clock>,
) -> Option<backend::charging::PriceFeed> {
    use backend::prices::{
        Source, elprisetjustnu::ElprisetJustNu, entsoe::Entsoe, nordpool::NordPool,
        recorded::Recorded,
    };
    use config::PriceSource;
    let http = backend::prices::http_client();
    let url = |default: &str| {
        config
            .price_url
            .clone()
            .unwrap_or_else(|| default.to_string())
    };
    let source: std::sync::Arc<dyn Source> = match config.price_source {
        PriceSource::ElprisetJustNu => std::sync::Arc::new(ElprisetJustNu {
            http,
            base_url: url("https://www.elprisetjustnu.se"),
        }),
        PriceSource::NordPool => std::sync::Arc::new(NordPool {
            http,
            base_url: url("https://dataportal-api.nordpoolgroup.com"),
        }),
        PriceSource::Entsoe => std::sync::Arc::new(Entsoe {
            http,
            base_url: url("https://web-api.tp.entsoe.eu/api"),
            token: config.entsoe_token.clone().unwrap_or_default(),
        }),
        PriceSource::Recorded => std::sync::Arc::new(Recorded { clock }),
        PriceSource::None => return None,
    };
    let (eur_sek, rate_configured) = match config.eur_sek {
        Some(rate) => (rate, true),
        None => (config::DEFAULT_EUR_SEK, false),
    };
    Some(backend::charging::PriceFeed {
        source,
        eur_sek,
        rate_configured,
    })
}

/// `PUT /api/test/clock {"now": "2026-12-01T02:05:00+01:00"}`: moves adaptive charging's clock
/// (browser tests only, with `AMPWISE_TEST_CLOCK`).
fn test_clock_routes(clock: std::sync::Arc<backend::clock::OffsetClock>) -> Router<AppState> {
    #[derive(serde::Deserialize)]
    struct SetClock {
        now: String,
    }
    Router::new().route(
        "/api/test/clock",
        axum::routing::put(
            move |State(state): State<AppState>, axum::Json(body): axum::Json<SetClock>| {
                let clock = clock.clone();
                async move {
                    match body.now.parse::<jiff::Timestamp>() {
                        Ok(t) => {
                            clock.set(t.as_millisecond());
                            state.services.charging_changes.notify_one();
                            state.services.charging_board.touch();
                            StatusCode::NO_CONTENT.into_response()
                        }
                        Err(e) => {
                            (StatusCode::UNPROCESSABLE_ENTITY, format!("now: {e}")).into_response()
                        }
                    }
                }
            },
        ),
    )
}

/// The reporters' forwarding loop ([`backend::reporters::forwarder`]), with the settings from
/// the configuration.
fn spawn_forwarding(
    supervisor: &mut supervisor::Supervisor,
    services: Services,
    config: &Config,
    cluster: bool,
) {
    use backend::reporters::forwarder::{self, Settings};
    use backend::reporters::pacer::Timing;
    let settings = Settings {
        timing: Timing {
            silent_after_ms: services.silent_after_ms,
            retry_max_ms: config.partner_retry_max.as_millis() as i64,
            refused_retry_max_ms: (config.partner_retry_max.as_millis() as i64)
                .min(Timing::default().refused_retry_max_ms),
            ..Timing::default()
        },
        charge_amps_url: config.charge_amps_url.clone(),
        partner_timeout: config.partner_timeout,
        holder: config.instance.clone(),
        ..Settings::default()
    };
    let settings = if cluster {
        settings.for_cluster()
    } else {
        settings
    };
    supervisor.spawn("reporters", move |stop| {
        forwarder::run(services.clone(), settings.clone(), stop)
    });
}

/// A server-function call whose arguments could not be decoded never reaches our code:
/// server_fn answers 500 with the error it turned into `AppError::Request`. It is the client's
/// fault, so say 400.
async fn client_errors_are_4xx(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    if !is_api || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_ERROR_BODY)
        .await
        .unwrap_or_default();
    if bytes.as_ref() == br#""Request""# {
        parts.status = StatusCode::BAD_REQUEST;
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// Who may see a page, decided before it renders: signed-out visitors of the app's pages go to
/// the login page (which sends them back afterwards), signed-in visitors of the login and sign-up
/// pages go on to where they were headed. Server functions (also on these routes) check for
/// themselves.
async fn page_guard(
    State(state): State<AppState>,
    session: tower_sessions::Session,
    mut request: Request,
    next: Next,
) -> Response {
    if request.method() != axum::http::Method::GET || request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    let account = match app::api::ssr::account_in(&state.services, &session).await {
        Ok(account) => account,
        // The page will say what went wrong when its own data fails to load.
        Err(_) => return next.run(request).await,
    };
    let signed_in = account.is_some();
    // The page's server functions use this instead of reading the account again.
    request
        .extensions_mut()
        .insert(app::api::ssr::KnownAccount(account));
    let path = request.uri().path();
    let entrance = path == "/login" || path == "/signup";
    let to = match (entrance, signed_in) {
        (true, true) => {
            let query =
                axum::extract::Query::<std::collections::HashMap<String, String>>::try_from_uri(
                    request.uri(),
                )
                .map(|q| q.0)
                .unwrap_or_default();
            app::safe_next(query.get("next").map(String::as_str))
        }
        (false, false) => {
            app::login_path(request.uri().path_and_query().map_or(path, |p| p.as_str()))
        }
        _ => return render_page(next, request).await,
    };
    (StatusCode::FOUND, [(axum::http::header::LOCATION, to)]).into_response()
}

/// How long a page may take to render before it counts as stalled. Pages render in well under
/// a second; this is far beyond a slow machine, and short of what a visitor would wait for.
const PAGE_STALLED_AFTER: std::time::Duration = std::time::Duration::from_secs(10);
/// Renders of one page request before giving up with 503.
const PAGE_RENDERS: usize = 3;
/// A page is HTML and its resources' data; nothing of ours comes near this.
const MAX_PAGE: usize = 16 * 1024 * 1024;

/// Renders a page whole, and renders it again if the render stalls. On a busy machine about one
/// render in a thousand never finished: the HTML came, then the stream of the resources' data
/// that ends the page never did (every thread idle: a wake-up lost below our code, seen in tests
/// on a current-thread runtime under CPU contention; see "Known problems" in the README). A
/// page GET only reads, so rendering it afresh is safe, and a visitor waits seconds instead of
/// looking at a page that never becomes interactive. Pages render in `SsrMode::Async` (the HTML
/// waits for all data anyway), so reading the body here before answering costs nothing.
async fn render_page(next: Next, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let path = parts.uri.path().to_string();
    let page = retry_stalled(PAGE_STALLED_AFTER, PAGE_RENDERS, |attempt| {
        if attempt > 0 {
            // A last resort, not a way of working: counted (`/metrics`), and a test fails on it.
            PAGE_RENDER_STALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::error!(path, attempt, "page render stalled; rendering it again");
        }
        let request = Request::from_parts(parts.clone(), axum::body::Body::empty());
        let next = next.clone();
        async move {
            let (head, body) = next.run(request).await.into_parts();
            match axum::body::to_bytes(body, MAX_PAGE).await {
                Ok(bytes) => Response::from_parts(head, axum::body::Body::from(bytes)),
                Err(e) => {
                    tracing::error!(error = %e, "page body failed");
                    StatusCode::INTERNAL_SERVER_ERROR.into_response()
                }
            }
        }
    })
    .await;
    // Never kept (`security::headers`): pages change with every deploy (they name the bundle)
    // and carry the household's data.
    page.unwrap_or_else(|| {
        tracing::error!(path, "page render stalled every time");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(axum::http::header::RETRY_AFTER, "1")],
            "The page did not finish loading. Please reload it.",
        )
            .into_response()
    })
}

/// Runs `attempt(n)` until one finishes within `limit`, at most `attempts` times: `None` when
/// every attempt stalled.
async fn retry_stalled<F, Fut, T>(
    limit: std::time::Duration,
    attempts: usize,
    mut attempt: F,
) -> Option<T>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = T>,
{
    for n in 0..attempts {
        if let Ok(done) = tokio::time::timeout(limit, attempt(n)).await {
            return Some(done);
        }
    }
    None
}

/// Error bodies are a short JSON value; anything longer is not one of ours.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// 200 when the database answers, 503 otherwise: what a load balancer or a test waits on.
async fn readyz(State(state): State<AppState>) -> Response {
    if !state.services.ingest.is_running() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "readings cannot be stored: the writer is not running",
        )
            .into_response();
    }
    if let Some(why) = state.services.monitors.writer_problem() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("readings cannot be stored: {why}"),
        )
            .into_response();
    }
    match state.services.repo.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// Builds the server and serves it on `listener` until `shutdown` resolves; then stops the
/// background tasks, lets open requests finish, and closes the database.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let ampwise = build(&config).await?;
    if config.demo {
        demo::seed(&ampwise.state.services, config.demo_device_file.as_deref())
            .await
            .context("seeding the demo account")?;
    }
    let token = ampwise.state.shutdown.clone();
    tokio::spawn({
        let token = token.clone();
        async move {
            shutdown.await;
            token.cancel();
        }
    });
    let fd_limit = listen::raise_fd_limit();
    let limits = listen::Limits {
        header_timeout: config.header_timeout,
        max_connections: config
            .max_connections
            .unwrap_or_else(|| listen::connections_for(fd_limit)),
        // Behind a trusted proxy every client arrives from the proxy's address.
        per_address: config
            .trusted_proxy_header
            .is_none()
            .then_some(config.connections_per_address),
    };
    tracing::info!(
        addr = %listener.local_addr()?,
        max_connections = limits.max_connections,
        open_files = fd_limit,
        "Ampwise is listening"
    );
    listen::serve(listener, ampwise.router, ampwise.probes, limits, token).await;
    // Every background task has stopped (and written what it holds) before the database closes.
    ampwise.supervisor.shutdown().await;
    ampwise.state.db.close().await;
    tracing::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::retry_stalled;

    #[tokio::test(start_paused = true)]
    async fn a_stalled_attempt_is_abandoned_and_run_again() {
        let runs = AtomicUsize::new(0);
        let answer = retry_stalled(Duration::from_secs(10), 3, |n| {
            runs.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    std::future::pending::<()>().await;
                }
                n
            }
        })
        .await;
        assert_eq!((answer, runs.load(Ordering::SeqCst)), (Some(1), 2));
    }

    #[tokio::test(start_paused = true)]
    async fn an_attempt_that_always_stalls_gives_up() {
        let runs = AtomicUsize::new(0);
        let answer: Option<()> = retry_stalled(Duration::from_secs(10), 3, |_| {
            runs.fetch_add(1, Ordering::SeqCst);
            std::future::pending()
        })
        .await;
        assert_eq!((answer, runs.load(Ordering::SeqCst)), (None, 3));
    }

    /// The bundles draw their pages from `app::PAGES` (no router in the browser); the server
    /// renders them through the routes table. A page added to one table and not the other would
    /// render on the server and draw nothing in the browser, or the other way round.
    #[tokio::test]
    async fn the_bundles_draw_the_pages_the_server_routes() {
        let mut routed: Vec<String> = super::route_list()
            .iter()
            .map(|route| route.path().replace("{id}", ":id"))
            // The one route that is no page: it sends /settings on to its first tab.
            .filter(|path| path != "/settings")
            .collect();
        let mut drawn: Vec<String> = app::PAGES.iter().map(|path| path.to_string()).collect();
        routed.sort();
        drawn.sort();
        assert_eq!(routed, drawn);
    }
}
