//! The Partner web page: what an installer does in Charge Amps Partner, in plain HTML forms (no
//! script needed to use them); a few lines of script refresh the status part every second.

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::{BalancerSpec, ChargerSpec, Phases, Sim, StateView, set_wants};

/// Text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn amps(a: Option<f64>) -> String {
    a.map_or_else(|| "–".to_string(), |a| format!("{a:.1} A"))
}

fn status(view: &StateView) -> String {
    let mut out = String::from("<h2>Measurement devices</h2>");
    if view.devices.is_empty() {
        out.push_str("<p>No measurement devices yet.</p>");
    } else {
        out.push_str(
            "<div class=\"scroll\"><table><thead><tr><th>Serial number</th><th>Status</th><th>Updates</th><th>Refused log-ins</th><th>Last update</th><th>Measured</th></tr></thead><tbody>",
        );
        for d in &view.devices {
            let measured = d.current_a.map_or_else(String::new, |c| {
                c.iter().map(|a| amps(*a)).collect::<Vec<_>>().join(" / ")
            });
            // A device whose last log-in was refused has the wrong PIN on one side.
            let (state, class) = match (d.active, d.wrong_pin) {
                (true, _) => ("ACTIVE", "ACTIVE"),
                (false, true) => ("wrong PIN", "wrong-pin"),
                (false, false) => ("inactive", "inactive"),
            };
            let refused = match &d.last_refused_at {
                Some(at) => format!("{} (last {})", d.refused_logins, esc(at)),
                None => "0".to_string(),
            };
            out.push_str(&format!(
                "<tr data-testid=\"device\" data-serial=\"{s}\"><td>{s}</td><td data-testid=\"device-status\" class=\"{class}\">{state}</td><td>{}</td><td data-testid=\"refused-logins\">{refused}</td><td>{}</td><td>{}{}</td></tr>",
                d.updates,
                esc(d.last_update_at.as_deref().unwrap_or("never")),
                measured,
                if d.online == Some(false) { " (offline: fallback)" } else { "" },
                s = esc(&d.serial),
            ));
        }
        out.push_str("</tbody></table></div>");
    }
    if !view.unknown_logins.is_empty() {
        out.push_str("<h3>Log-ins with a serial number not registered here</h3><ul data-testid=\"unknown-logins\">");
        for (serial, n, at) in &view.unknown_logins {
            out.push_str(&format!(
                "<li>{} — {n} time(s), last {}</li>",
                esc(serial),
                esc(at)
            ));
        }
        out.push_str("</ul>");
    }
    out.push_str("<h2>Load balancers</h2>");
    if view.load_balancers.is_empty() {
        out.push_str("<p>No load balancers yet.</p>");
    }
    for b in &view.load_balancers {
        let household = b.household_a.map_or_else(
            || "no measurement: chargers at the safe current".to_string(),
            |h| h.iter().map(|a| amps(*a)).collect::<Vec<_>>().join(" / "),
        );
        out.push_str(&format!(
            "<section class=\"balancer\" data-testid=\"balancer\"><h3>{} <small>supply max current {:.0} A · measurement device {}</small></h3><p>Household without the chargers: <span data-testid=\"household\">{}</span></p>",
            esc(&b.name),
            b.supply_max_current_a,
            esc(b.device.as_deref().unwrap_or("none")),
            household,
        ));
        out.push_str("<div class=\"scroll\"><table><thead><tr><th>Charger</th><th>Phases</th><th>Rating</th><th>Car wants</th><th>Allowed</th><th>Drawing</th></tr></thead><tbody>");
        for c in &b.chargers {
            out.push_str(&format!(
                "<tr data-testid=\"charger\" data-name=\"{n}\"><td>{n}</td><td>{}</td><td>{:.0} A</td><td>{:.0} A</td><td data-testid=\"allowed\">{:.0} A</td><td data-testid=\"drawing\">{:.1} A</td></tr>",
                c.phases.label(),
                c.max_current_a,
                c.wants_a,
                c.allowed_a,
                c.drawing_a,
                n = esc(&c.name),
            ));
        }
        out.push_str("</tbody></table></div></section>");
    }
    out
}

fn page(view: &StateView, error: Option<&str>) -> String {
    let chargers: String = view
        .load_balancers
        .iter()
        .flat_map(|b| b.chargers.iter())
        .map(|c| format!("<option value=\"{}\">{}</option>", c.id, esc(&c.name)))
        .collect();
    let devices: String = view
        .devices
        .iter()
        .map(|d| format!("<option value=\"{0}\">{0}</option>", esc(&d.serial)))
        .collect();
    let balancers: String = view
        .load_balancers
        .iter()
        .map(|b| format!("<option value=\"{}\">{}</option>", b.id, esc(&b.name)))
        .collect();
    let error = error.map_or_else(String::new, |e| {
        format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e))
    });
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Charge Amps Partner (simulator)</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1rem auto; max-width: 60rem; padding: 0 1rem; color: #1b1b1b; }}
h1 small {{ font-weight: normal; color: #666; font-size: .6em; }}
table {{ border-collapse: collapse; width: 100%; margin-bottom: 1rem; }}
th, td {{ text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #ddd; }}
.ACTIVE {{ color: #137333; font-weight: bold; }} .inactive {{ color: #999; }} .wrong-pin {{ color: #b3261e; font-weight: bold; }}
form.card {{ border: 1px solid #ddd; border-radius: 8px; padding: .75rem; margin: .75rem 0; display: grid; gap: .5rem; max-width: 30rem; }}
label {{ display: grid; gap: .2rem; }}
input, select, button {{ font: inherit; max-width: 100%; box-sizing: border-box; min-height: 2.2rem; }}
.scroll {{ overflow-x: auto; }}
.error {{ background: #fdecea; color: #b42318; padding: .5rem; border-radius: 6px; }}
</style></head><body>
<h1>Charge Amps Partner <small>simulator for Ampwise</small></h1>
{error}
<div id="status" aria-live="polite">{status}</div>
<h2>Set up</h2>
<form class="card" method="post" action="/partner/devices">
<h3>New measurement device</h3>
<label>Serial number <input name="serial" autocomplete="off" required></label>
<label>PIN <input name="pin" autocomplete="off" required></label>
<button>Create measurement device</button>
</form>
<form class="card" method="post" action="/partner/load-balancers">
<h3>New load balancer</h3>
<label>Name <input name="name" required></label>
<label>Supply max current (A) <input name="supply_max_current_a" type="number" min="6" max="1000" required></label>
<label>Measurement device <select name="device"><option value="">none</option>{devices}</select></label>
<button>Create load balancer</button>
</form>
<form class="card" method="post" action="/partner/chargers">
<h3>Add a charger</h3>
<label>Load balancer <select name="load_balancer">{balancers}</select></label>
<label>Charger name <input name="name" required></label>
<label>Charger <select name="model">
<option value="3:16">Halo 3-phase 16 A</option><option value="3:32">Halo 3-phase 32 A</option>
<option value="1:16">Halo 1-phase 16 A</option><option value="1:32">Halo 1-phase 32 A</option></select></label>
<label>Phase (1-phase chargers) <select name="phase"><option>L1</option><option>L2</option><option>L3</option></select></label>
<label>Car wants (A) <input name="wants_a" type="number" min="0" max="32" value="16" required></label>
<button>Add charger</button>
</form>
<form class="card" method="post" action="/partner/devices/pin">
<h3>Change a measurement device's PIN</h3>
<label>Device <select name="serial">{devices}</select></label>
<label>New PIN <input name="pin" autocomplete="off" required></label>
<button>Change PIN</button>
</form>
<form class="card" method="post" action="/partner/chargers/wants">
<h3>A car plugged in or out</h3>
<label>Which charger <select name="charger">{chargers}</select></label>
<label>The car wants (A, 0 = unplugged) <input name="wants_a" type="number" min="0" max="32" required></label>
<button>Set</button>
</form>
<script>
setInterval(async () => {{
  try {{ const r = await fetch('/partner/status'); if (r.ok) document.getElementById('status').innerHTML = await r.text(); }} catch (e) {{}}
}}, 1000);
</script>
</body></html>"#,
        status = status(view),
    )
}

pub async fn partner_page(State(sim): State<Sim>) -> Html<String> {
    Html(page(&sim.view(), None))
}

pub async fn status_fragment(State(sim): State<Sim>) -> Html<String> {
    Html(status(&sim.view()))
}

/// After a form: back to the page, or the page with what was wrong.
async fn done(sim: &Sim, result: Result<(), String>) -> Response {
    match result {
        Ok(()) => {
            sim.save().await;
            Redirect::to("/").into_response()
        }
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Html(page(&sim.view(), Some(&e))),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
pub struct DeviceForm {
    serial: String,
    pin: String,
}

pub async fn form_add_device(State(sim): State<Sim>, Form(f): Form<DeviceForm>) -> Response {
    let result = sim.with_world(|w| w.add_device(&f.serial, &f.pin));
    done(&sim, result).await
}

#[derive(Deserialize)]
pub struct PinForm {
    serial: String,
    pin: String,
}

pub async fn form_set_pin(State(sim): State<Sim>, Form(f): Form<PinForm>) -> Response {
    let result = sim.with_world(|w| w.set_pin(&f.serial.trim().to_ascii_uppercase(), &f.pin));
    done(&sim, result).await
}

#[derive(Deserialize)]
pub struct BalancerForm {
    name: String,
    supply_max_current_a: String,
    #[serde(default)]
    device: String,
}

pub async fn form_add_balancer(State(sim): State<Sim>, Form(f): Form<BalancerForm>) -> Response {
    let result = match f.supply_max_current_a.trim().parse::<f64>() {
        Ok(amps) => sim
            .with_world(|w| {
                w.add_balancer(BalancerSpec {
                    name: f.name,
                    supply_max_current_a: amps,
                    fallback_current_a: None,
                    device: Some(f.device),
                    chargers: Vec::new(),
                })
            })
            .map(drop),
        Err(_) => Err("Supply max current: a number of amperes.".into()),
    };
    done(&sim, result).await
}

#[derive(Deserialize)]
pub struct ChargerForm {
    load_balancer: String,
    name: String,
    /// `phases:rating`, e.g. `3:16` or `1:32`.
    model: String,
    #[serde(default)]
    phase: String,
    wants_a: String,
}

pub async fn form_add_charger(State(sim): State<Sim>, Form(f): Form<ChargerForm>) -> Response {
    let parsed = (|| {
        let balancer = f
            .load_balancer
            .trim()
            .parse::<u32>()
            .map_err(|_| "Create a load balancer first.")?;
        let (phases, rating) = f.model.split_once(':').ok_or("Choose a charger.")?;
        let phases = match phases {
            "3" => Phases::Three,
            _ => Phases::parse(&f.phase).ok_or("Choose the phase of a 1-phase charger.")?,
        };
        let rating = rating.parse::<f64>().map_err(|_| "Choose a charger.")?;
        let wants = f
            .wants_a
            .trim()
            .parse::<f64>()
            .map_err(|_| "Car wants: a number of amperes.")?;
        Ok::<_, &str>((balancer, phases, rating, wants))
    })();
    let result = match parsed {
        Ok((balancer, phases, max_current_a, wants_a)) => sim
            .with_world(|w| {
                w.add_charger(
                    balancer,
                    ChargerSpec {
                        name: f.name.trim().to_string(),
                        phases,
                        max_current_a,
                        wants_a,
                    },
                )
            })
            .map(drop),
        Err(e) => Err(e.to_string()),
    };
    done(&sim, result).await
}

#[derive(Deserialize)]
pub struct WantsForm {
    charger: String,
    wants_a: String,
}

pub async fn form_set_wants(State(sim): State<Sim>, Form(f): Form<WantsForm>) -> Response {
    let result = match (
        f.charger.trim().parse::<u32>(),
        f.wants_a.trim().parse::<f64>(),
    ) {
        (Ok(id), Ok(amps)) => sim.with_world(|w| set_wants(w, id, amps)),
        (Err(_), _) => Err("Choose a charger.".into()),
        (_, Err(_)) => Err("The car wants: a number of amperes.".into()),
    };
    done(&sim, result).await
}
