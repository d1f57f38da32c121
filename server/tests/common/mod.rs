//! A real server (router, SQLite database, session store) in a temporary folder, called through
//! `Router::oneshot` as a browser or the server-function client would.

#![allow(dead_code)]

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use server::Config;
use tower::ServiceExt;

pub const PASSWORD: &str = "Kvarnvägen-Laddbox-42";
/// The test servers' key for secrets at rest.
pub const SECRETS_KEY: &str = "6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b";

pub struct TestApp {
    pub router: Router,
    pub state: server::AppState,
    pub config: Config,
    pub dir: tempfile::TempDir,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// The test's database itself, SQLite or PostgreSQL, for what only a look at the rows shows
/// (plain SQL both understand, without binds).
pub async fn raw_database(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(url).await.unwrap()
}

pub async fn test_config(dir: &tempfile::TempDir) -> Config {
    let site = dir.path().join("site");
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    std::fs::write(site.join("pkg").join("ampwise.css"), "body{}").unwrap();
    Config {
        database_url: backend::testing::database_url(dir.path()).await,
        site_root: site,
        licence_key: Some(licence_key()),
        secrets_key: Some(backend::secrets::Secrets::from_hex(SECRETS_KEY).unwrap()),
        // Tests assert what a request does, not how fast: a machine busy with builds (slow
        // fsyncs) must not turn a slow answer into a 408.
        request_timeout: std::time::Duration::from_secs(300),
        // Tests sign up and redeem far more than a person does from one address; the limits
        // have tests of their own.
        sign_ups_per_hour: 1_000_000,
        redeems_per_hour: 1_000_000,
        ..Config::default()
    }
}

impl TestApp {
    pub async fn new() -> Self {
        Self::new_with(|_| {}).await
    }

    /// With the test configuration changed by `tweak`.
    pub async fn new_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(&dir).await;
        tweak(&mut config);
        let built = server::build(&config).await.unwrap();
        // Requests go straight to the router: of the background tasks only the readings'
        // writer runs (the supervisor, dropped here, would run them all).
        built.state.services.ingest.spawn_detached();
        Self {
            router: built.router,
            state: built.state,
            config,
            dir,
        }
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        cookie: Option<&str>,
        form: Option<&str>,
        html: bool,
        from: &str,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(cookie) = cookie {
            req = req.header(header::COOKIE, cookie);
        }
        if html {
            req = req.header(header::ACCEPT, "text/html,application/xhtml+xml");
        }
        let body = match form {
            Some(form) => {
                req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                Body::from(form.to_string())
            }
            None => Body::empty(),
        };
        let mut req = req.body(body).unwrap();
        let addr: SocketAddr = from.parse().unwrap();
        req.extensions_mut().insert(ConnectInfo(addr));
        self.send(req).await
    }

    /// Sends a request through the router and reads the whole answer.
    pub async fn send(&self, req: Request<Body>) -> Reply {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// Calls a server function as the browser's wasm does (form-encoded POST, JSON back).
    pub async fn call(&self, name: &str, cookie: Option<&str>, form: &str) -> Reply {
        self.request(
            Method::POST,
            &format!("/api/{name}"),
            cookie,
            Some(form),
            false,
            "127.0.0.1:40000",
        )
        .await
    }

    /// A login attempt from the client address `from`.
    pub async fn log_in_from(&self, email: &str, password: &str, from: &str) -> Reply {
        let form = format!("email={}&password={}", enc(email), enc(password));
        self.request(Method::POST, "/api/log_in", None, Some(&form), false, from)
            .await
    }

    /// Loads a page as a browser navigation does.
    pub async fn page(&self, path: &str, cookie: Option<&str>) -> Reply {
        self.request(Method::GET, path, cookie, None, true, "127.0.0.1:40000")
            .await
    }

    /// The sign-up server function as the form calls it.
    pub async fn sign_up_reply(&self, email: &str, password: &str, role: &str) -> Reply {
        let form = format!(
            "email={}&password={}&role={role}",
            enc(email),
            enc(password)
        );
        self.call("sign_up", None, &form).await
    }

    /// Signs up and returns the session cookie (`name=value`) and the account id.
    pub async fn sign_up(&self, email: &str, role: &str) -> (String, i64) {
        let reply = self.sign_up_reply(email, PASSWORD, role).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "sign up {email}: {}",
            reply.body
        );
        let cookie = session_cookie(&reply);
        // The sign-up's answer names nobody (it is the same for a taken address): ask who.
        let me = self.call("me", Some(&cookie), "").await.json();
        (
            cookie,
            me["id"].as_i64().expect("signed in after signing up"),
        )
    }

    pub async fn create_site(&self, cookie: &str, name: &str) -> i64 {
        let reply = self
            .call("create_site", Some(cookie), &site_form(name, "20"))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.json().as_i64().unwrap()
    }
}

impl TestApp {
    /// Registers a three-phase JSON monitor on the site; its id and device token.
    pub async fn create_monitor(&self, cookie: &str, site_id: i64, name: &str) -> (i64, String) {
        let form = format!(
            "monitor[site_id]={site_id}&monitor[name]={}&monitor[phases]=3&monitor[kind]=http",
            enc(name)
        );
        let reply = self.call("create_monitor", Some(cookie), &form).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let json = reply.json();
        (
            json["monitor_id"].as_i64().unwrap(),
            json["token"].as_str().unwrap().to_string(),
        )
    }

    /// A device's request to the ingest API.
    pub async fn device_post(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: impl Into<Body>,
    ) -> Reply {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, content_type);
        if let Some(token) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let mut req = req.body(body.into()).unwrap();
        req.extensions_mut().insert(ConnectInfo(
            "127.0.0.1:40001".parse::<SocketAddr>().unwrap(),
        ));
        self.send(req).await
    }
}

impl TestApp {
    /// Gives the account a Charge Amps licence and saves a Charge Amps reporter on the site
    /// through the wizard's calls: its id and PIN.
    pub async fn create_reporter(&self, cookie: &str, site_id: i64, monitor: i64) -> (i64, String) {
        let code = backend::licences::mint(
            &self.state.services,
            &licence_key(),
            model::Capability::ChargeAmps,
            1,
        )
        .await
        .unwrap()
        .remove(0);
        let reply = self
            .call("redeem_licence", Some(cookie), &format!("code={code}"))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let reply = self
            .call("new_reporter_credentials", Some(cookie), "")
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let credentials = reply.json();
        let serial = credentials["serial"].as_str().unwrap();
        let form = reporter_form(
            site_id,
            "charge_amps",
            "Charge Amps charge control",
            serial,
            20,
            monitor,
        );
        let reply = self.call("create_reporter", Some(cookie), &form).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        (
            reply.json().as_i64().unwrap(),
            credentials["pin"].as_str().unwrap().to_string(),
        )
    }

    /// The status of a streaming answer (an event stream never ends: its body is not read).
    pub async fn stream_status(&self, path: &str, cookie: Option<&str>) -> Reply {
        let mut req = Request::builder().method(Method::GET).uri(path);
        if let Some(cookie) = cookie {
            req = req.header(header::COOKIE, cookie);
        }
        let mut req = req.body(Body::empty()).unwrap();
        req.extensions_mut().insert(ConnectInfo(
            "127.0.0.1:40002".parse::<SocketAddr>().unwrap(),
        ));
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = if status.is_success() {
            String::new()
        } else {
            let bytes = res.into_body().collect().await.unwrap().to_bytes();
            String::from_utf8_lossy(&bytes).into_owned()
        };
        Reply {
            status,
            headers,
            body,
        }
    }
}

/// The reporter form as the wizard and the edit page send it (Open Reporter partners at a name
/// that never resolves: `.invalid` is reserved for that).
pub fn reporter_form(
    site: i64,
    kind: &str,
    name: &str,
    serial: &str,
    fuse: u16,
    monitor: i64,
) -> String {
    let mut form = format!(
        "reporter[site_id]={site}&reporter[kind]={kind}&reporter[name]={}&reporter[serial]={serial}&reporter[main_fuse_a]={fuse}&reporter[monitor_id]={monitor}",
        enc(name)
    );
    if kind == "open_reporter" {
        form.push_str(&format!(
            "&reporter[create_token_url]={}&reporter[update_url]={}&reporter[username]=villa&reporter[password]=s3cret",
            enc("https://partner.invalid/token"),
            enc("https://partner.invalid/update")
        ));
    }
    form
}

/// A JSON batch of three-phase readings at the given times (ms UTC), `current` on every phase.
pub fn readings_json(times: &[i64], current: f64) -> String {
    let readings: Vec<String> = times
        .iter()
        .map(|t| {
            let ts = jiff::Timestamp::from_millisecond(*t).unwrap();
            format!(r#"{{"ts":"{ts}","current_a":[{current},{current},{current}]}}"#)
        })
        .collect();
    format!(r#"{{"readings":[{}]}}"#, readings.join(","))
}

/// Now, in ms UTC, rounded down to the second.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond() / 1000 * 1000
}

/// The key the test server verifies licence codes with.
pub fn licence_key() -> backend::licences::LicenceKey {
    backend::licences::LicenceKey::from_hex(&"5a".repeat(32)).unwrap()
}

pub fn site_form(name: &str, fuse: &str) -> String {
    format!(
        "site[name]={}&site[address]=Ekv%C3%A4gen+3&site[time_zone]=Europe%2FStockholm&site[price_area]=SE3&site[main_fuse_a]={fuse}",
        enc(name)
    )
}

pub use app::encode_component as enc;

/// `ampwise_session=…` from the reply's Set-Cookie.
pub fn session_cookie(reply: &Reply) -> String {
    let set_cookie = reply
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(server::SESSION_COOKIE))
        .unwrap_or_else(|| panic!("no session cookie in {:?}", reply.headers));
    set_cookie.split(';').next().unwrap().to_string()
}

/// A server on a real socket; HTTP through reqwest.
pub struct Running {
    pub base: String,
    pub database_url: String,
    pub client: reqwest::Client,
    pub stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub _dir: tempfile::TempDir,
}

impl Running {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// With the test configuration changed by `tweak`.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(&dir).await;
        tweak(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let database_url = config.database_url.clone();
        tokio::spawn(server::serve(config, listener, async {
            let _ = stopped.await;
        }));
        Self {
            base,
            database_url,
            client: reqwest::Client::new(),
            stop: Some(stop),
            _dir: dir,
        }
    }

    /// A Charge Amps licence code minted on this server (as `ampwise licences mint` does).
    pub async fn mint_licence(&self) -> String {
        let db = backend::Database::connect(&self.database_url)
            .await
            .unwrap();
        let services = backend::Services::new(&db);
        backend::licences::mint(&services, &licence_key(), model::Capability::ChargeAmps, 1)
            .await
            .unwrap()
            .remove(0)
    }

    pub async fn call(&self, name: &str, cookie: Option<&str>, form: String) -> reqwest::Response {
        let mut req = self
            .client
            .post(format!("{}/api/{name}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form);
        if let Some(cookie) = cookie {
            req = req.header("cookie", cookie);
        }
        req.send().await.unwrap()
    }

    /// The session cookie (`name=value`) of a server-function reply.
    pub fn cookie_of(reply: &reqwest::Response) -> String {
        reply
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(server::SESSION_COOKIE))
            .expect("a session cookie")
            .split(';')
            .next()
            .unwrap()
            .to_string()
    }

    /// Anna signs up and registers a monitor on a new site: (cookie, site, monitor, token).
    pub async fn household(&self) -> (String, i64, i64, String) {
        self.household_of("anna@example.se").await
    }

    /// [`Self::household`] for the owner `email`.
    pub async fn household_of(&self, email: &str) -> (String, i64, i64, String) {
        let form = format!("email={}&password={}&role=owner", enc(email), enc(PASSWORD));
        let cookie = Self::cookie_of(&self.call("sign_up", None, form).await);
        let site: i64 = self
            .call("create_site", Some(&cookie), site_form("Villa Ek", "20"))
            .await
            .json()
            .await
            .unwrap();
        let form = format!(
            "monitor[site_id]={site}&monitor[name]=Mains&monitor[phases]=3&monitor[kind]=http"
        );
        let device: serde_json::Value = self
            .call("create_monitor", Some(&cookie), form)
            .await
            .json()
            .await
            .unwrap();
        let monitor = device["monitor_id"].as_i64().unwrap();
        let token = device["token"].as_str().unwrap().to_string();
        (cookie, site, monitor, token)
    }

    pub async fn post_readings(&self, monitor: i64, token: &str, times: &[i64]) {
        let reply = self.try_post_readings(monitor, token, times).await;
        assert_eq!(reply.status(), axum::http::StatusCode::OK);
    }

    /// A device's batch of readings at `times`, whatever the answer.
    pub async fn try_post_readings(
        &self,
        monitor: i64,
        token: &str,
        times: &[i64],
    ) -> reqwest::Response {
        self.client
            .post(format!("{}/api/v1/monitors/{monitor}/readings", self.base))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(readings_json(times, 9.0))
            .send()
            .await
            .unwrap()
    }

    /// The real `ampwise` binary on a free port with its database at `db` (started through
    /// `wrapper`, e.g. a shell that ignores a signal, when given), once it says it is
    /// listening. Killed when the child is dropped.
    pub async fn start_binary(
        wrapper: &[&str],
        database_url: &str,
        site_root: &std::path::Path,
    ) -> (tokio::process::Child, Self) {
        Self::start_binary_with(wrapper, database_url, site_root, &[]).await
    }

    /// [`Self::start_binary`] with more of its environment: `(name, value)`s.
    pub async fn start_binary_with(
        wrapper: &[&str],
        database_url: &str,
        site_root: &std::path::Path,
        env: &[(&str, String)],
    ) -> (tokio::process::Child, Self) {
        use tokio::io::AsyncBufReadExt;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let binary = env!("CARGO_BIN_EXE_ampwise");
        let mut command = match wrapper {
            [] => tokio::process::Command::new(binary),
            [program, args @ ..] => {
                let mut c = tokio::process::Command::new(program);
                c.args(args).arg(binary);
                c
            }
        };
        let mut child = command
            .env("AMPWISE_ADDR", format!("127.0.0.1:{port}"))
            .env("AMPWISE_DATABASE_URL", database_url)
            .env("AMPWISE_SITE_ROOT", site_root)
            .env("AMPWISE_SECRETS_KEY", SECRETS_KEY)
            // These tests post as fast as they can (a disk filling up), not at a meter's pace.
            .env("AMPWISE_DEVICE_REQUESTS_PER_SECOND", "100000")
            .env("RUST_LOG", "info")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let listening = tokio::time::timeout(std::time::Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if line.contains("Ampwise is listening") {
                    return true;
                }
            }
            false
        });
        assert!(
            listening.await.unwrap(),
            "the server exited before listening"
        );
        // Keep draining its log so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let running = Self {
            base: format!("http://127.0.0.1:{port}"),
            database_url: database_url.to_string(),
            client: reqwest::Client::new(),
            stop: None,
            _dir: tempfile::tempdir().unwrap(),
        };
        (child, running)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Reads server-sent events: (id, data) pairs.
pub struct Events {
    stream: std::pin::Pin<
        Box<dyn futures_util::Stream<Item = reqwest::Result<axum::body::Bytes>> + Send>,
    >,
    buffer: String,
}

impl Events {
    /// Whether the server ends the stream within `limit` (events and keep-alives before the
    /// end are read and dropped).
    pub async fn ends_within(&mut self, limit: std::time::Duration) -> bool {
        tokio::time::timeout(limit, async {
            while let Some(chunk) = futures_util::StreamExt::next(&mut self.stream).await {
                if chunk.is_err() {
                    break;
                }
            }
        })
        .await
        .is_ok()
    }

    pub fn new(response: reqwest::Response) -> Self {
        Self {
            stream: Box::pin(response.bytes_stream()),
            buffer: String::new(),
        }
    }

    pub async fn next(&mut self) -> (i64, serde_json::Value) {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut id = None;
                let mut data = None;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().parse().ok();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data = serde_json::from_str(v.trim()).ok();
                    }
                }
                if let Some(data) = data {
                    return (id.unwrap_or(0), data);
                }
                continue; // a keep-alive comment
            }
            let chunk = tokio::time::timeout(
                std::time::Duration::from_secs(10),
                futures_util::StreamExt::next(&mut self.stream),
            )
            .await
            .expect("no event within 10 s")
            .expect("stream ended")
            .unwrap();
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

/// The simulator on its own socket.
pub struct Cloud {
    pub url: String,
    pub client: reqwest::Client,
}

impl Cloud {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let sim = chargeamps_sim::Sim::new(chargeamps_sim::Options {
            margin_a: 0.0,
            ramp_step_a: 100.0,
            ..chargeamps_sim::Options::default()
        })
        .unwrap();
        tokio::spawn(chargeamps_sim::serve(sim, listener, std::future::pending()));
        Self {
            url,
            client: reqwest::Client::new(),
        }
    }

    /// The simulator's `host:port` on the server's allow-list: its Open Reporter partner is on
    /// loopback and plain http, which no user's URL may otherwise reach.
    pub fn allowed(&self) -> backend::reporters::partner::PartnerAllow {
        backend::reporters::partner::PartnerAllow::parse(self.url.trim_start_matches("http://"))
            .unwrap()
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: serde_json::Value) -> u16 {
        self.client
            .request(method, format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    pub async fn state(&self) -> chargeamps_sim::StateView {
        let r = self
            .client
            .get(format!("{}/api/state", self.url))
            .send()
            .await
            .unwrap();
        r.json().await.unwrap()
    }
}
