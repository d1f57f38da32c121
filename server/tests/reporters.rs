//! The forwarding loop end to end: the real server on a socket, the Charge Amps simulator on
//! another, readings posted as a device does, statuses read from the stream the pages use.

mod common;

use std::time::Duration;

use backend::reporters::partner::PartnerAllow;
use chargeamps_sim::StateView;
use common::{Cloud, Events, Running, enc, now_ms};
use serde_json::{Value, json};

/// Anna's site with a monitor, a Charge Amps licence and a reporter saved through the wizard's
/// calls, on a server that forwards to `cloud`: (server, cookie, site, monitor, device token,
/// reporter, serial, PIN).
struct Home {
    server: Running,
    cookie: String,
    site: i64,
    monitor: i64,
    token: String,
    reporter: i64,
    serial: String,
    pin: String,
}

async fn home(cloud: &Cloud, silent_secs: u64) -> Home {
    let measurement = format!("{}/measurement", cloud.url);
    let server = Running::start_with(|c| {
        c.charge_amps_url = Some(measurement);
        c.partner_retry_max = Duration::from_secs(1);
        c.monitor_silent = Duration::from_secs(silent_secs);
    })
    .await;
    let (cookie, site, monitor, token) = server.household().await;
    let code = server.mint_licence().await;
    let r = server
        .call("redeem_licence", Some(&cookie), format!("code={code}"))
        .await;
    assert_eq!(r.status(), 200);
    let creds: Value = server
        .call("new_reporter_credentials", Some(&cookie), String::new())
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
        .call("create_reporter", Some(&cookie), form)
        .await
        .json()
        .await
        .unwrap();
    Home {
        server,
        cookie,
        site,
        monitor,
        token,
        reporter,
        serial,
        pin: creds["pin"].as_str().unwrap().to_string(),
    }
}

impl Home {
    /// What the installer does in Charge Amps Partner: the measurement device with this
    /// reporter's serial and PIN, and a load balancer on a 20 A fuse with it and a 3-phase
    /// 16 A charger whose car wants 16 A.
    async fn in_partner(&self, cloud: &Cloud) {
        let device = json!({"serial": self.serial, "pin": self.pin});
        assert_eq!(
            cloud
                .send(reqwest::Method::POST, "/api/devices", device)
                .await,
            201
        );
        let lb = json!({"name": "Villa Ek", "supply_max_current_a": 20, "device": self.serial,
                        "chargers": [{"name": "Garage", "phases": "3", "max_current_a": 16, "wants_a": 16}]});
        assert_eq!(
            cloud
                .send(reqwest::Method::POST, "/api/load-balancers", lb)
                .await,
            201
        );
    }

    async fn statuses(&self) -> Events {
        let r = self
            .server
            .client
            .get(format!("{}/api/v1/reporters/live", self.server.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        Events::new(r)
    }

    /// Posts a reading measured now and waits until its update reached the simulator.
    async fn post_through(&self, cloud: &Cloud, l: [f64; 3]) -> StateView {
        let updates = |s: &StateView| {
            s.devices
                .iter()
                .find(|d| d.serial == self.serial)
                .map_or(0, |d| d.updates)
        };
        let before = updates(&cloud.state().await);
        self.post(jiff::Timestamp::now().as_millisecond(), l).await;
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let s = cloud.state().await;
                if updates(&s) > before {
                    return s;
                }
                tokio::time::sleep(Duration::from_millis(20)).await; // polling, not waiting it out
            }
        })
        .await
        .expect("the update reached the simulator within 10 s")
    }

    async fn post(&self, ts: i64, l: [f64; 3]) {
        let body = json!({"readings": [{"ts": jiff::Timestamp::from_millisecond(ts).unwrap().to_string(), "current_a": l}]});
        let r = self
            .server
            .client
            .post(format!(
                "{}/api/v1/monitors/{}/readings",
                self.server.base, self.monitor
            ))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
}

/// Reads status events until one for `reporter` satisfies `want`; its facts.
async fn until(
    events: &mut Events,
    reporter: i64,
    what: &str,
    want: impl Fn(&Value) -> bool,
) -> Value {
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let (_, event) = events.next().await;
            if event["id"] == reporter && want(&event["facts"]) {
                return event["facts"].clone();
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("no event within 20 s: {what}"))
}

fn accepted_last(f: &Value) -> bool {
    f["accepted_at"].as_i64().is_some() && f["accepted_at"].as_i64() > f["failed_at"].as_i64()
}

fn problem(f: &Value) -> Option<&str> {
    (f["failed_at"].as_i64() > f["accepted_at"].as_i64())
        .then(|| f["problem"]["kind"].as_str())
        .flatten()
}

#[tokio::test]
async fn the_integration_guide_over_http() {
    let cloud = Cloud::start().await;
    let home = home(&cloud, 30).await;
    let mut events = home.statuses().await;
    home.post(now_ms(), [4.0, 3.0, 2.0]).await;

    // Not yet in Partner: Charge Amps refuses the serial and PIN.
    until(&mut events, home.reporter, "credentials refused", |f| {
        problem(f) == Some("refused")
    })
    .await;

    // In Partner: the measurement device, and a load balancer with a charger.
    home.in_partner(&cloud).await;
    home.post_through(&cloud, [4.0, 3.0, 2.0]).await;
    until(&mut events, home.reporter, "accepted", accepted_last).await;
    // Started low, then raised.
    let state = home.post_through(&cloud, [10.0, 9.0, 8.0]).await;
    assert!(state.devices[0].active, "the device is ACTIVE");
    assert_eq!(
        state.devices[0].current_a,
        Some([Some(10.0), Some(9.0), Some(8.0)])
    );
    assert_eq!(state.devices[0].permission.as_deref(), Some("allowed"));
    assert_eq!(state.load_balancers[0].chargers[0].allowed_a, 16.0);

    // The household draws more: the charger is held back so L1 stays under 20 A (the charger's
    // own 16 A is part of what the meter sees).
    let balanced = home.post_through(&cloud, [28.0, 20.0, 17.0]).await;
    assert_eq!(balanced.load_balancers[0].chargers[0].allowed_a, 8.0);

    // Charge Amps fails: the reporter says so, in words the page can show; then it recovers by
    // itself.
    assert_eq!(
        cloud
            .send(
                reqwest::Method::PUT,
                "/api/faults",
                json!({"mode": "error"})
            )
            .await,
        200
    );
    home.post(now_ms(), [5.0, 5.0, 5.0]).await;
    let failed = until(&mut events, home.reporter, "partner failing", |f| {
        problem(f) == Some("status")
    })
    .await;
    assert_eq!(failed["problem"]["detail"], 500);
    assert_eq!(
        cloud
            .send(reqwest::Method::PUT, "/api/faults", json!({"mode": "none"}))
            .await,
        200
    );
    home.post(now_ms(), [5.0, 5.0, 5.0]).await;
    until(&mut events, home.reporter, "recovered", accepted_last).await;

    // The reporter's page has it too.
    let r = home
        .server
        .call(
            "get_reporter",
            Some(&home.cookie),
            format!("id={}", home.reporter),
        )
        .await;
    let shown: Value = r.json().await.unwrap();
    assert!(accepted_last(&shown[1]["facts"]), "{shown}");
    // And the operator's counters (from loopback).
    let metrics = home
        .server
        .client
        .get(format!("{}/metrics", home.server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("ampwise_reporters{status=\"active\"} 1"),
        "{metrics}"
    );
}

/// Settings → Site's grid form: Göteborg Energi with the peak guard `mode` at `kw`.
async fn set_guard(home: &Home, mode: &str, kw: &str) {
    let form = format!(
        "site_id={}&grid[operator]=goteborg-energi&grid[tariff]=&grid[guard]={mode}&grid[guard_kw]={kw}",
        home.site
    );
    let r = home
        .server
        .call("set_site_grid", Some(&home.cookie), form)
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

/// What the simulator allows the charger after each of `updates` readings of the meter: the
/// household's 4 A a phase (2.8 kW) and what the (three-phase) charger draws.
async fn allowed_after(home: &Home, cloud: &Cloud, updates: usize) -> Vec<f64> {
    let mut allowed = Vec::new();
    let charger = |s: &StateView| {
        let c = &s.load_balancers[0].chargers[0];
        (c.allowed_a, c.drawing_a)
    };
    let mut drawing = charger(&cloud.state().await).1;
    for _ in 0..updates {
        let s = home.post_through(cloud, [4.0 + drawing; 3]).await;
        allowed.push(charger(&s).0);
        drawing = charger(&s).1;
    }
    allowed
}

/// The peak guard in the closed loop: a site whose grid operator counts every hour (Göteborg
/// Energi) and a household drawing 2.8 kW; with a cap of 2 kW the charger is stopped (the hour is
/// already over the cap); with the guard off it charges again, and a cap far above the fuse
/// leaves the fuse as the only limit. The guard reaches Charge Amps only as headroom.
#[tokio::test]
async fn the_peak_guard_holds_the_charger_under_the_level() {
    let cloud = Cloud::start().await;
    let home = home(&cloud, 30).await;
    home.in_partner(&cloud).await;
    let free = allowed_after(&home, &cloud, 6).await;
    assert_eq!(free.last(), Some(&16.0), "no guard: up to 16 A ({free:?})");

    set_guard(&home, "cap", "2").await;
    let held = allowed_after(&home, &cloud, 2).await;
    assert_eq!(held, vec![0.0, 0.0], "over a 2 kW cap: stopped");
    // On the card: the level it holds this hour under.
    let card: Value = home
        .server
        .client
        .post(format!("{}/api/capacity_month", home.server.base))
        .header("cookie", &home.cookie)
        .json(&json!({"site_id": home.site}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(card["hour"]["guard_kw"], 2.0, "{card}");

    set_guard(&home, "off", "").await;
    let again = allowed_after(&home, &cloud, 6).await;
    assert_eq!(again.first(), Some(&6.0), "started low again ({again:?})");
    assert_eq!(
        again.last(),
        Some(&16.0),
        "the guard off: the fuse's 16 A ({again:?})"
    );

    set_guard(&home, "cap", "100").await;
    let high = allowed_after(&home, &cloud, 1).await;
    assert_eq!(high, vec![16.0], "a cap above the fuse: the fuse rules");
}

/// Charge Amps refusing the serial and PIN is counted, with when it began: the page says
/// "refused 3 times" rather than "waiting"; a wrong PIN shows on Partner as such.
#[tokio::test]
async fn refusals_are_counted_and_a_wrong_pin_shows_on_partner() {
    let cloud = Cloud::start().await;
    let home = home(&cloud, 30).await;
    // The installer registers the serial in Partner with a PIN one digit off.
    let mut wrong = home.pin.clone().into_bytes();
    wrong[0] = if wrong[0] == b'9' { b'0' } else { wrong[0] + 1 };
    let wrong = String::from_utf8(wrong).unwrap();
    cloud
        .send(
            reqwest::Method::POST,
            "/api/devices",
            json!({"serial": home.serial, "pin": wrong}),
        )
        .await;
    let mut events = home.statuses().await;
    home.post(now_ms(), [4.0, 3.0, 2.0]).await;
    let facts = until(&mut events, home.reporter, "refused twice", |f| {
        problem(f) == Some("refused") && f["failures"].as_u64() >= Some(2)
    })
    .await;
    assert!(
        facts["trouble_since"].as_i64() < facts["failed_at"].as_i64(),
        "{facts}"
    );
    let state = cloud.state().await;
    let device = &state.devices[0];
    assert!(device.wrong_pin && device.refused_logins >= 2, "{device:?}");
    let page = cloud
        .client
        .get(&cloud.url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("wrong PIN"), "Partner's page says so");
}

#[tokio::test]
async fn a_stale_reading_goes_out_as_offline_and_a_new_pin_needs_partner() {
    let cloud = Cloud::start().await;
    let home = home(&cloud, 5).await;
    cloud
        .send(
            reqwest::Method::POST,
            "/api/devices",
            json!({"serial": home.serial, "pin": home.pin}),
        )
        .await;
    let mut events = home.statuses().await;
    // Measured 6 s ago with a 5 s limit: never forwarded as fresh.
    home.post(now_ms() - 6_000, [4.0, 3.0, 2.0]).await;
    let facts = until(&mut events, home.reporter, "offline accepted", |f| {
        accepted_last(f) && f["offline"] == true
    })
    .await;
    assert_eq!(facts["sent_ts"], Value::Null, "no reading was sent");
    let state = cloud.state().await;
    assert_eq!(state.devices[0].online, Some(false));
    assert_eq!(state.devices[0].current_a, Some([None, None, None]));

    // A new PIN: Charge Amps still has the old one, so the reporter waits for Partner.
    let r = home
        .server
        .call(
            "regenerate_reporter_pin",
            Some(&home.cookie),
            format!("id={}", home.reporter),
        )
        .await;
    assert_eq!(r.status(), 200);
    home.post(now_ms(), [4.0, 3.0, 2.0]).await;
    until(&mut events, home.reporter, "new PIN refused", |f| {
        problem(f) == Some("refused")
    })
    .await;
}

#[tokio::test]
async fn open_reporter_partners_get_the_published_shape() {
    let cloud = Cloud::start().await;
    cloud
        .send(
            reqwest::Method::POST,
            "/api/open-reporter/accounts",
            json!({"username": "villa", "password": "s3cret"}),
        )
        .await;
    let server = Running::start_with(|c| c.partner_allow = cloud.allowed()).await;
    let (cookie, site, monitor, token) = server.household().await;
    let form = format!(
        "reporter[site_id]={site}&reporter[kind]=open_reporter&reporter[name]=Partner&reporter[main_fuse_a]=25&reporter[monitor_id]={monitor}&reporter[create_token_url]={}&reporter[update_url]={}&reporter[username]=villa&reporter[password]=s3cret",
        enc(&format!("{}/open-reporter/createtoken", cloud.url)),
        enc(&format!("{}/open-reporter/update", cloud.url)),
    );
    let reporter: i64 = server
        .call("create_reporter", Some(&cookie), form)
        .await
        .json()
        .await
        .unwrap();
    let r = server
        .client
        .get(format!("{}/api/v1/reporters/live", server.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let mut events = Events::new(r);
    server.post_readings(monitor, &token, &[now_ms()]).await;
    until(&mut events, reporter, "the reading accepted", |f| {
        accepted_last(f) && f["sent_ts"].is_i64()
    })
    .await;
    let received: Value = cloud
        .client
        .get(format!("{}/api/open-reporter/received", cloud.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let body = &received["received"].as_array().unwrap().last().unwrap()["body"];
    assert_eq!(body["calculated"]["direct"]["l1"], 9.0);
    assert_eq!(body["calculated"]["relative"]["l1"], 16.0);
    assert_eq!(body["reporterid"], reporter);
    assert_eq!(body["meters"][0]["fuse"], 25);
    assert!(body.get("adaptivecharging").is_none(), "{body}");
    let shown: Value = server
        .call("get_reporter", Some(&cookie), format!("id={reporter}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["externalid"], shown[1]["serial"]);
}

#[tokio::test]
async fn a_hung_partner_does_not_hold_up_another_reporter() {
    let cloud = Cloud::start().await;
    let a = home(&cloud, 30).await;
    // B on the same server as A: a second household.
    let form = format!(
        "email=bo%40example.se&password={}&role=owner",
        enc(common::PASSWORD)
    );
    let bo = Running::cookie_of(&a.server.call("sign_up", None, form).await);
    let site: i64 = a
        .server
        .call(
            "create_site",
            Some(&bo),
            common::site_form("Villa Bo", "25"),
        )
        .await
        .json()
        .await
        .unwrap();
    let form =
        format!("monitor[site_id]={site}&monitor[name]=Mains&monitor[phases]=3&monitor[kind]=http");
    let device: Value = a
        .server
        .call("create_monitor", Some(&bo), form)
        .await
        .json()
        .await
        .unwrap();
    let (b_monitor, b_token) = (
        device["monitor_id"].as_i64().unwrap(),
        device["token"].as_str().unwrap().to_string(),
    );
    let code = a.server.mint_licence().await;
    a.server
        .call("redeem_licence", Some(&bo), format!("code={code}"))
        .await;
    let creds: Value = a
        .server
        .call("new_reporter_credentials", Some(&bo), String::new())
        .await
        .json()
        .await
        .unwrap();
    let b_serial = creds["serial"].as_str().unwrap();
    let form = common::reporter_form(site, "charge_amps", "Bo's", b_serial, 25, b_monitor);
    let b_reporter: i64 = a
        .server
        .call("create_reporter", Some(&bo), form)
        .await
        .json()
        .await
        .unwrap();
    for (serial, pin) in [
        (a.serial.as_str(), a.pin.as_str()),
        (b_serial, creds["pin"].as_str().unwrap()),
    ] {
        cloud
            .send(
                reqwest::Method::POST,
                "/api/devices",
                json!({"serial": serial, "pin": pin}),
            )
            .await;
    }
    // A's device never answers.
    cloud
        .send(
            reqwest::Method::PUT,
            "/api/faults",
            json!({"mode": "hang", "target": a.serial}),
        )
        .await;
    let r = a
        .server
        .client
        .get(format!("{}/api/v1/reporters/live", a.server.base))
        .header("cookie", &bo)
        .send()
        .await
        .unwrap();
    let mut b_events = Events::new(r);
    a.post(now_ms(), [4.0, 4.0, 4.0]).await;
    let posted = now_ms();
    a.server.post_readings(b_monitor, &b_token, &[posted]).await;
    let facts = until(
        &mut b_events,
        b_reporter,
        "B accepted while A hangs",
        accepted_last,
    )
    .await;
    let took = facts["accepted_at"].as_i64().unwrap() - posted;
    assert!(took < 2_000, "B's update took {took} ms");
    let state = cloud.state().await;
    let a_device = state.devices.iter().find(|d| d.serial == a.serial).unwrap();
    assert_eq!(a_device.updates, 0, "A's updates hang");
}

/// A listener that counts the connections it gets, and answers each with `answer` (or never).
struct Trap {
    port: u16,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Trap {
    async fn start(answer: Option<String>) -> Self {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let answer = answer.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 8192];
                    let _ = socket.read(&mut buf).await;
                    match answer {
                        Some(answer) => {
                            let _ = socket.write_all(answer.as_bytes()).await;
                        }
                        None => std::future::pending::<()>().await,
                    }
                });
            }
        });
        Self { port, hits }
    }

    fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn allowed(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// What an internal service would answer: a token, which must never reach anyone.
const INTERNAL_TOKEN: &str = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 18\r\nConnection: close\r\n\r\n{\"token\":\"secret\"}";

/// Saves an Open Reporter posting to `token_url` and `update_url`; its id.
async fn save_open_reporter(
    server: &Running,
    cookie: &str,
    site: i64,
    monitor: i64,
    token_url: &str,
    update_url: &str,
) -> i64 {
    let form = format!(
        "reporter[site_id]={site}&reporter[kind]=open_reporter&reporter[name]=Partner&reporter[main_fuse_a]=25&reporter[monitor_id]={monitor}&reporter[create_token_url]={}&reporter[update_url]={}&reporter[username]=villa&reporter[password]=s3cret&reporter[allow_second]=true",
        enc(token_url),
        enc(update_url),
    );
    let r = server.call("create_reporter", Some(cookie), form).await;
    assert_eq!(r.status(), 200, "{token_url}");
    r.json().await.unwrap()
}

async fn reporter_events(server: &Running, cookie: &str) -> Events {
    let r = server
        .client
        .get(format!("{}/api/v1/reporters/live", server.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    Events::new(r)
}

/// A name that passes when saved but resolves to a private address when the server connects
/// (as a DNS-rebinding name does after the save) is never connected to: the address is checked
/// at connect time. The status then says no more than that the partner could not be reached.
#[tokio::test]
async fn a_name_that_resolves_to_a_private_address_is_never_connected_to() {
    let inside = Trap::start(Some(INTERNAL_TOKEN.into())).await;
    let server = Running::start().await;
    let (cookie, site, monitor, token) = server.household().await;
    let url = format!("https://localhost:{}", inside.port);
    let reporter = save_open_reporter(
        &server,
        &cookie,
        site,
        monitor,
        &format!("{url}/token"),
        &format!("{url}/update"),
    )
    .await;
    let mut events = reporter_events(&server, &cookie).await;
    server.post_readings(monitor, &token, &[now_ms()]).await;
    until(&mut events, reporter, "could not reach the partner", |f| {
        problem(f) == Some("unreachable")
    })
    .await;
    assert_eq!(inside.hits(), 0, "the server connected to loopback");
}

/// A partner that answers with a redirect to an internal address is not followed: its status
/// shows the redirect, and the internal address never hears from us.
#[tokio::test]
async fn a_partner_that_redirects_inside_is_not_followed() {
    let inside = Trap::start(Some(INTERNAL_TOKEN.into())).await;
    let redirect = format!(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:{}/token\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        inside.port
    );
    // The "outside" partner stands on loopback too, so the operator allows it by name.
    let outside = Trap::start(Some(redirect)).await;
    let allow = PartnerAllow::parse(&outside.allowed()).unwrap();
    let server = Running::start_with(|c| c.partner_allow = allow).await;
    let (cookie, site, monitor, token) = server.household().await;
    let url = format!("http://127.0.0.1:{}", outside.port);
    let reporter = save_open_reporter(
        &server,
        &cookie,
        site,
        monitor,
        &format!("{url}/token"),
        &format!("{url}/update"),
    )
    .await;
    let mut events = reporter_events(&server, &cookie).await;
    server.post_readings(monitor, &token, &[now_ms()]).await;
    let facts = until(&mut events, reporter, "the redirect shown", |f| {
        problem(f) == Some("status")
    })
    .await;
    assert_eq!(facts["problem"]["detail"], 307);
    assert!(outside.hits() >= 1);
    assert_eq!(inside.hits(), 0, "the redirect was followed");
}

/// The status must not map a network: a closed port and one that never answers read alike.
#[tokio::test]
async fn a_closed_port_and_a_silent_one_read_the_same() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let silent = Trap::start(None).await;
    let allow = PartnerAllow::parse(&format!("127.0.0.1:{closed},{}", silent.allowed())).unwrap();
    let server = Running::start_with(|c| {
        c.partner_allow = allow;
        c.partner_timeout = Duration::from_secs(1);
    })
    .await;
    let (cookie, site, monitor, token) = server.household().await;
    let mut reporters = Vec::new();
    for port in [closed, silent.port] {
        let url = format!("http://127.0.0.1:{port}");
        reporters.push(
            save_open_reporter(
                &server,
                &cookie,
                site,
                monitor,
                &format!("{url}/token"),
                &format!("{url}/update"),
            )
            .await,
        );
    }
    let mut events = reporter_events(&server, &cookie).await;
    server.post_readings(monitor, &token, &[now_ms()]).await;
    let mut seen = std::collections::HashMap::new();
    tokio::time::timeout(Duration::from_secs(20), async {
        while seen.len() < reporters.len() {
            let (_, event) = events.next().await;
            if let Some(id) = event["id"].as_i64().filter(|id| reporters.contains(id))
                && problem(&event["facts"]).is_some()
            {
                seen.insert(id, event["facts"]["problem"].clone());
            }
        }
    })
    .await
    .expect("both reporters failed within 20 s");
    assert_eq!(seen[&reporters[0]], json!({"kind": "unreachable"}));
    assert_eq!(seen[&reporters[0]], seen[&reporters[1]]);
}
