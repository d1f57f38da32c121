//! The simulator over real HTTP, as Ampwise and the tests speak to it.

use chargeamps_sim::{Options, Sim, StateView};
use serde_json::{Value, json};

struct Running {
    url: String,
    client: reqwest::Client,
    stop: tokio::sync::oneshot::Sender<()>,
    done: tokio::task::JoinHandle<()>,
}

async fn start(options: Options) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let sim = Sim::new(options).unwrap();
    let done = tokio::spawn(async move {
        chargeamps_sim::serve(sim, listener, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    Running {
        url,
        client: reqwest::Client::new(),
        stop,
        done,
    }
}

impl Running {
    async fn post(&self, path: &str, body: Value, token: Option<&str>) -> (u16, Value) {
        let mut req = self.client.post(format!("{}{path}", self.url)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn state(&self) -> StateView {
        self.client
            .get(format!("{}/api/state", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn token(&self, serial: &str, pin: &str) -> (u16, Option<String>) {
        let (status, body) = self
            .post(
                "/measurement/createtoken",
                json!({"username": serial, "password": pin}),
                None,
            )
            .await;
        (status, body["token"].as_str().map(str::to_string))
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.done.await.unwrap();
    }
}

/// An Open Reporter update as Ampwise sends it, measured now.
fn update(l: [f64; 3], online: bool) -> Value {
    let now = jiff::Timestamp::now().to_string();
    json!({
        "meters": [{"l1": l[0], "l2": l[1], "l3": l[2], "fuse": 20, "type": "consumption",
                    "online": online, "monitorid": 1, "lastupdate": now}],
        "timestamp": now,
        "calculated": {"direct": {"l1": l[0], "l2": l[1], "l3": l[2]},
                       "relative": {"l1": 20.0 - l[0], "l2": 20.0 - l[1], "l3": 20.0 - l[2]}},
        "externalid": "AMPW-2345-6789", "reporterid": 1,
        "meterstatus": if online { "online" } else { "offline" },
        "calculationmode": "openloop", "protocolversion": "010",
        "adaptivecharging": {"permission": "allowed"}
    })
}

#[tokio::test]
async fn the_measurement_link_takes_only_registered_devices() {
    let sim = start(Options::default()).await;
    let (s, _) = sim
        .post(
            "/api/devices",
            json!({"serial": "AMPW-2345-6789", "pin": "12345678"}),
            None,
        )
        .await;
    assert_eq!(s, 201);
    let cases = [
        ("unknown_serial", "AMPW-9999-9999", "12345678", 401),
        ("wrong_pin", "AMPW-2345-6789", "87654321", 401),
        ("lower_case_serial", "ampw-2345-6789", "12345678", 200),
    ];
    for (name, serial, pin, want) in cases {
        assert_eq!(sim.token(serial, pin).await.0, want, "{name}");
    }
    let (_, token) = sim.token("AMPW-2345-6789", "12345678").await;
    assert!(!sim.state().await.devices[0].active);
    let (s, _) = sim
        .post(
            "/measurement/update",
            update([5.0, 5.0, 5.0], true),
            token.as_deref(),
        )
        .await;
    assert_eq!(s, 200);
    assert!(
        sim.state().await.devices[0].active,
        "ACTIVE once updates arrive"
    );
    let (s, _) = sim
        .post(
            "/measurement/update",
            update([5.0, 5.0, 5.0], true),
            Some("forged"),
        )
        .await;
    assert_eq!(s, 401);
    sim.stop().await;
}

#[tokio::test]
async fn the_balancer_keeps_the_chargers_under_the_fuse() {
    let sim = start(Options {
        margin_a: 0.0,
        ramp_step_a: 100.0,
        ..Options::default()
    })
    .await;
    sim.post(
        "/api/devices",
        json!({"serial": "AMPW-2345-6789", "pin": "12345678"}),
        None,
    )
    .await;
    let (s, _) = sim
        .post(
            "/api/load-balancers",
            // Paused without measurements (fallback 0 A): the once-a-second check for a quiet
            // device, which may run before the first update on a busy machine, keeps it paused.
            json!({"name": "Villa Ek", "supply_max_current_a": 20, "device": "AMPW-2345-6789",
                   "fallback_current_a": 0,
                   "chargers": [{"name": "Garage", "phases": "3", "max_current_a": 16, "wants_a": 16}]}),
            None,
        )
        .await;
    assert_eq!(s, 201);
    let (_, token) = sim.token("AMPW-2345-6789", "12345678").await;
    let allowed = |v: &StateView| v.load_balancers[0].chargers[0].allowed_a;
    // From pause, the first setpoint is the minimum (never full current at once).
    sim.post(
        "/measurement/update",
        update([2.0, 2.0, 2.0], true),
        token.as_deref(),
    )
    .await;
    assert_eq!(allowed(&sim.state().await), 6.0);
    // Then up to what the room allows.
    sim.post(
        "/measurement/update",
        update([8.0, 8.0, 8.0], true),
        token.as_deref(),
    )
    .await;
    assert_eq!(allowed(&sim.state().await), 16.0);
    // The household takes more: the charger comes down (its own 16 A are not household load).
    sim.post(
        "/measurement/update",
        update([28.0, 20.0, 18.0], true),
        token.as_deref(),
    )
    .await;
    assert_eq!(allowed(&sim.state().await), 8.0);
    // The meter goes silent: the safe current (this balancer's is 0 A: paused).
    sim.post(
        "/measurement/update",
        update([0.0, 0.0, 0.0], false),
        token.as_deref(),
    )
    .await;
    assert_eq!(allowed(&sim.state().await), 0.0);
    let draw: Value = sim
        .client
        .get(format!("{}/api/draw?device=AMPW-2345-6789", sim.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(draw["current_a"], json!([0.0, 0.0, 0.0]));
    sim.stop().await;
}

#[tokio::test]
async fn faults_answer_as_switched() {
    let sim = start(Options::default()).await;
    sim.post(
        "/api/devices",
        json!([{"serial": "AMPW-2345-6789", "pin": "1"}, {"serial": "AMPW-2345-678A", "pin": "2"}]),
        None,
    )
    .await;
    let cases = [
        ("error", json!({"mode": "error"}), 500),
        ("unauthorized", json!({"mode": "unauthorized"}), 401),
        ("garbage", json!({"mode": "garbage"}), 200),
        (
            "someone_else_only",
            json!({"mode": "error", "target": "AMPW-2345-678A"}),
            200,
        ),
        ("slow", json!({"mode": "slow", "delay_ms": 50}), 200),
        ("none", json!({"mode": "none"}), 200),
    ];
    for (name, faults, want) in cases {
        let r = sim
            .client
            .put(format!("{}/api/faults", sim.url))
            .json(&faults)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{name}");
        assert_eq!(sim.token("AMPW-2345-6789", "1").await.0, want, "{name}");
    }
    sim.client
        .put(format!("{}/api/faults", sim.url))
        .json(&json!({"mode": "hang"}))
        .send()
        .await
        .unwrap();
    let hung = sim
        .client
        .post(format!("{}/measurement/createtoken", sim.url))
        .json(&json!({"username": "AMPW-2345-6789", "password": "1"}))
        .timeout(std::time::Duration::from_millis(300))
        .send()
        .await;
    assert!(hung.unwrap_err().is_timeout());
    sim.stop().await;
}

#[tokio::test]
async fn devices_and_balancers_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        state_file: Some(dir.path().join("state.json")),
        ..Options::default()
    };
    let sim = start(options.clone()).await;
    sim.post(
        "/api/devices",
        json!({"serial": "AMPW-2345-6789", "pin": "12345678"}),
        None,
    )
    .await;
    sim.post(
        "/api/load-balancers",
        json!({"name": "Villa Ek", "supply_max_current_a": 25, "device": "AMPW-2345-6789"}),
        None,
    )
    .await;
    let (_, token) = sim.token("AMPW-2345-6789", "12345678").await;
    sim.stop().await;

    let again = start(options).await;
    let state = again.state().await;
    assert_eq!(state.devices[0].serial, "AMPW-2345-6789");
    assert_eq!(state.load_balancers[0].supply_max_current_a, 25.0);
    // Tokens do not survive: the sender must create a new one.
    let (s, _) = again
        .post(
            "/measurement/update",
            update([1.0; 3], true),
            token.as_deref(),
        )
        .await;
    assert_eq!(s, 401);
    assert_eq!(again.token("AMPW-2345-6789", "12345678").await.0, 200);
    again.stop().await;
}

#[tokio::test]
async fn the_open_reporter_partner_records_what_it_receives() {
    let sim = start(Options::default()).await;
    let r = sim
        .client
        .post(format!("{}/api/open-reporter/accounts", sim.url))
        .json(&json!({"username": "villa-ek", "password": "s3cret"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (s, _) = sim
        .post(
            "/open-reporter/createtoken",
            json!({"username": "villa-ek", "password": "nope"}),
            None,
        )
        .await;
    assert_eq!(s, 401);
    let (_, body) = sim
        .post(
            "/open-reporter/createtoken",
            json!({"username": "villa-ek", "password": "s3cret"}),
            None,
        )
        .await;
    let token = body["token"].as_str().unwrap().to_string();
    let (s, _) = sim
        .post(
            "/open-reporter/update",
            update([3.0; 3], true),
            Some(&token),
        )
        .await;
    assert_eq!(s, 200);
    let received: Value = sim
        .client
        .get(format!("{}/api/open-reporter/received", sim.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(received["count"], 1);
    assert_eq!(
        received["received"][0]["body"]["calculated"]["direct"]["l1"],
        3.0
    );
    sim.stop().await;
}

/// Updates with an older log-in's token after a newer one's are counted: the sign of two
/// senders forwarding one device at once. A sender that logs in again, and one that takes over
/// from another that has stopped, are not.
#[tokio::test]
async fn two_senders_at_once_are_counted() {
    let sim = start(Options::default()).await;
    sim.post(
        "/api/devices",
        json!({"serial": "AMPW-2345-6789", "pin": "12345678"}),
        None,
    )
    .await;
    let first = sim.token("AMPW-2345-6789", "12345678").await.1.unwrap();
    let second = sim.token("AMPW-2345-6789", "12345678").await.1.unwrap();
    let cases: [(&str, &str, u64); 4] = [
        ("first_sender", &first, 0),
        ("taken_over", &second, 0),
        ("the_old_sender_again", &first, 1),
        ("the_new_one_goes_on", &second, 1),
    ];
    for (name, token, want) in cases {
        let (s, _) = sim
            .post(
                "/measurement/update",
                update([5.0, 5.0, 5.0], true),
                Some(token),
            )
            .await;
        assert_eq!(s, 200, "{name}");
        assert_eq!(
            sim.state().await.devices[0].overlapping_updates,
            want,
            "{name}"
        );
    }
    sim.stop().await;
}
