//! Monitor pages: Settings → Monitors (register, tokens, total consumption), the live panel on
//! a site's page (server-rendered, then updated by Server-Sent Events), and history.

use leptos::form::ActionForm;
use leptos::prelude::*;
use model::Monitor;
use model::monitor::{
    DeviceToken, History, HistoryView, LIVE_WINDOW_MS, LivePoint, LiveSnapshot, MonitorKind,
    MonitorStatus, headroom,
};

use crate::api;
use crate::components::{EmptyState, FormError, PageTitle, action_error, invalid_if};
use crate::i18n::{I18n, use_i18n};
use crate::t;

const PHASES: [&str; 3] = ["L1", "L2", "L3"];

fn kind_key(kind: MonitorKind) -> &'static str {
    match kind {
        MonitorKind::Http => "monitor.kind_http",
        MonitorKind::P1 => "monitor.kind_p1",
    }
}

/// The browser's own address, for the example requests (empty while server-rendering).
fn origin() -> String {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.location().origin().ok())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    String::new()
}

/// The one time a new device token is shown, with requests to copy.
#[component]
pub(crate) fn TokenPanel(device: DeviceToken) -> impl IntoView {
    let i18n = use_i18n();
    let base = format!("{}/api/v1/monitors/{}", origin(), device.monitor_id);
    let json = format!(
        "curl -X POST {base}/readings \\\n  -H 'Authorization: Bearer {}' \\\n  -H 'Content-Type: application/json' \\\n  -d '{{\"readings\":[{{\"ts\":\"2026-11-27T10:15:00Z\",\"current_a\":[12.5,3.1,4.0],\"voltage_v\":[231,230,229]}}]}}'",
        device.token
    );
    let telegram = format!(
        "curl -X POST {base}/telegrams \\\n  -H 'Authorization: Bearer {}' \\\n  -H 'Content-Type: text/plain' \\\n  --data-binary @telegram.txt",
        device.token
    );
    view! {
        <section class="card token-panel" data-testid="token-panel" role="status">
            <h3>{t!(i18n, "monitor.token_title")}</h3>
            <p>{t!(i18n, "monitor.token_once")}</p>
            <p class="muted">{move || i18n.t_with("monitor.id_is", &[("id", &device.monitor_id.to_string())])}</p>
            <pre class="copy" data-testid="device-token">{device.token.clone()}</pre>
            <h4>{t!(i18n, "monitor.example_json")}</h4>
            <pre class="copy">{json}</pre>
            <h4>{t!(i18n, "monitor.example_telegram")}</h4>
            <pre class="copy">{telegram}</pre>
        </section>
    }
}

/// A monitor's status; `silent_s`: for how long it has been silent (shown while it is).
#[component]
fn StatusBadge(
    status: MonitorStatus,
    last: Option<String>,
    #[prop(optional)] silent_s: i64,
) -> impl IntoView {
    let i18n = use_i18n();
    let label = move || match status {
        MonitorStatus::Silent => {
            i18n.t_with("monitor.status_silent_for", &[("s", &silent_s.to_string())])
        }
        _ => i18n.t(status.key()),
    };
    view! {
        <span class=format!("status {}", status.class()) data-testid="monitor-status">
            <span class="dot" aria-hidden="true"></span>
            {label}
            {last.clone().map(|l| view! { <span class="muted">{move || i18n.t_with("monitor.last_reading", &[("time", &l)])}</span> })}
        </span>
    }
}

/// Settings → Monitors.
#[component]
pub fn MonitorsPage() -> impl IntoView {
    let i18n = use_i18n();
    let create = ServerAction::<api::CreateMonitor>::new();
    let rotate = ServerAction::<api::RotateMonitorToken>::new();
    let make_total = ServerAction::<api::MakeTotalMonitor>::new();
    let delete = ServerAction::<api::DeleteMonitor>::new();
    let monitors = crate::codec::resource(
        move || {
            (
                create.version().get(),
                rotate.version().get(),
                make_total.version().get(),
                delete.version().get(),
            )
        },
        |_| api::list_monitors(),
    );
    let sites = crate::codec::resource(|| (), |_| api::list_sites());
    let error = action_error(create);
    let new_token = move || match (create.value().get(), rotate.value().get()) {
        (_, Some(Ok(device))) if rotate.version().get() > 0 => Some(device),
        (Some(Ok(device)), _) => Some(device),
        _ => None,
    };
    let confirm_delete = RwSignal::new(None::<i64>);
    view! {
        <div class="page-head">
            <h2>{t!(i18n, "monitors.title")}</h2>
        </div>
        {move || new_token().map(|device| view! { <TokenPanel device /> })}
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let (now, list) = match monitors.await {
                    Ok(found) => found,
                    Err(error) => return view! { <p class="alert alert-error">{error.message(i18n)}</p> }.into_any(),
                };
                if list.is_empty() {
                    return view! { <EmptyState title="monitors.empty_title" body="monitors.empty_body" /> }.into_any();
                }
                view! {
                    <ul class="list card" data-testid="monitors">
                        {list
                            .into_iter()
                            .map(|m: Monitor| {
                                let id = m.id;
                                let status = m.status(now);
                                let silent_s = m.silence().silent_for(now, m.last_ms).map(|ms| ms / 1000).unwrap_or_default();
                                let last = m.last_local.clone();
                                view! {
                                    <li class="monitor" data-testid="monitor">
                                        <div>
                                            <strong>{m.name.clone()}</strong>
                                            <span class="muted">{format!(" · {} · #{}", m.site_name, m.id)}</span>
                                            <p class="facts">
                                                <span>{move || i18n.t(kind_key(m.kind))}</span>
                                                <span>{move || i18n.t_with("monitor.phases_value", &[("n", &m.phases.to_string())])}</span>
                                                {m.is_total.then(|| view! { <span class="badge">{t!(i18n, "monitor.total")}</span> })}
                                            </p>
                                            <StatusBadge status last silent_s />
                                        </div>
                                        <div class="actions">
                                            <a href=format!("/monitors/{id}/history") class="btn btn-secondary">{t!(i18n, "history.title")}</a>
                                            {(!m.is_total).then(|| view! {
                                                <button class="btn btn-secondary" on:click=move |_| { make_total.dispatch(api::MakeTotalMonitor { id }); }>
                                                    {t!(i18n, "monitor.make_total")}
                                                </button>
                                            })}
                                            <button class="btn btn-secondary" on:click=move |_| { rotate.dispatch(api::RotateMonitorToken { id }); }>
                                                {t!(i18n, "monitor.rotate")}
                                            </button>
                                            {move || if confirm_delete.get() == Some(id) {
                                                view! {
                                                    <button class="btn btn-danger" on:click=move |_| { delete.dispatch(api::DeleteMonitor { id }); confirm_delete.set(None); }>
                                                        {t!(i18n, "monitor.delete_confirm")}
                                                    </button>
                                                }.into_any()
                                            } else {
                                                view! {
                                                    <button class="btn btn-secondary" on:click=move |_| confirm_delete.set(Some(id))>
                                                        {t!(i18n, "common.delete")}
                                                    </button>
                                                }.into_any()
                                            }}
                                        </div>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
                    .into_any()
            })}
        </Suspense>
        <section class="card form-card">
            <h2>{t!(i18n, "monitor.add_title")}</h2>
            <ActionForm action=create attr:class="stack">
                <FormError error />
                <label>
                    {t!(i18n, "monitor.site")}
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            let list = sites.await.unwrap_or_default();
                            view! {
                                <select name="monitor[site_id]" required aria-invalid=invalid_if(error, "site_id")>
                                    {list.into_iter().map(|s| view! { <option value=s.id.to_string()>{s.name}</option> }).collect_view()}
                                </select>
                            }
                        })}
                    </Suspense>
                </label>
                <label>
                    {t!(i18n, "monitor.name")}
                    <input name="monitor[name]" required maxlength="100" placeholder=move || i18n.t("monitor.name_placeholder") aria-invalid=invalid_if(error, "name") />
                </label>
                <label>
                    {t!(i18n, "monitor.phases")}
                    <select name="monitor[phases]">
                        <option value="3" selected>{t!(i18n, "monitor.three_phase")}</option>
                        <option value="1">{t!(i18n, "monitor.single_phase")}</option>
                    </select>
                </label>
                <label>
                    {t!(i18n, "monitor.kind")}
                    <select name="monitor[kind]">
                        <option value="http" selected>{t!(i18n, "monitor.kind_http")}</option>
                        <option value="p1">{t!(i18n, "monitor.kind_p1")}</option>
                    </select>
                </label>
                <p class="muted">{t!(i18n, "monitor.total_hint")}</p>
                <div class="actions">
                    <button type="submit" class="btn btn-primary" disabled=move || create.pending().get()>
                        {t!(i18n, "monitor.add")}
                    </button>
                </div>
            </ActionForm>
        </section>
    }
}

/// Keeps the points of the last 15 minutes before `now`, oldest first by time.
fn window(points: &mut Vec<LivePoint>, now: i64) {
    points.retain(|p| p.ts >= now - LIVE_WINDOW_MS && p.ts <= now + 60_000);
    points.sort_by_key(|p| (p.ts, p.seq));
}

/// The newest reading by time.
fn latest(points: &[LivePoint]) -> Option<LivePoint> {
    points.iter().max_by_key(|p| p.ts).copied()
}

/// An SVG path through `points` (x, y), broken where two neighbours are more than `gap` apart
/// in x: an outage is a gap, not a line across the minutes nobody measured.
pub(crate) fn broken_path(points: impl Iterator<Item = (f64, f64)>, gap: f64) -> String {
    let mut d = String::new();
    let mut previous: Option<f64> = None;
    for (x, y) in points {
        let command = match previous {
            Some(px) if x - px <= gap => 'L',
            _ => 'M',
        };
        if !d.is_empty() {
            d.push(' ');
        }
        d.push_str(&format!("{command}{x:.1},{y:.1}"));
        previous = Some(x);
    }
    d
}

/// A line chart of per-phase current with the main fuse as a limit line. `series`: per phase,
/// (x in 0..1, amps). Plain SVG: the shapes are few and simple.
#[component]
fn PhaseChart(
    #[prop(into)] series: Signal<[Vec<(f64, f64)>; 3]>,
    fuse_a: u16,
    #[prop(into)] x_labels: Signal<Vec<(f64, String)>>,
    testid: &'static str,
    phases: usize,
    /// The id of the element that says the chart's numbers in words (the per-phase figures).
    #[prop(optional)]
    described_by: Option<&'static str>,
    /// Neighbouring points farther apart than this (a fraction of the width) are not joined.
    #[prop(optional)]
    gap: Option<f64>,
) -> impl IntoView {
    let i18n = use_i18n();
    const W: f64 = 600.0;
    const H: f64 = 220.0;
    const LEFT: f64 = 40.0;
    const BOTTOM: f64 = 24.0;
    let fuse = f64::from(fuse_a);
    let range = Memo::new(move |_| {
        series.with(|s| {
            let values = s.iter().flatten().map(|(_, a)| *a);
            let lo = values.clone().fold(0.0_f64, f64::min);
            let hi = values.fold(fuse * 1.15, f64::max);
            (lo, hi)
        })
    });
    let y = move |a: f64| {
        let (lo, hi) = range.get();
        (H - BOTTOM) - (a - lo) / (hi - lo).max(1.0) * (H - BOTTOM - 8.0)
    };
    let x = move |f: f64| LEFT + f * (W - LEFT - 8.0);
    let gap_px = gap.map_or(f64::INFINITY, |g| g * (W - LEFT - 8.0));
    let line = move |phase: usize| {
        series.with(|s| broken_path(s[phase].iter().map(|(f, a)| (x(*f), y(*a))), gap_px))
    };
    let ticks = move || {
        let (lo, hi) = range.get();
        let step = if hi - lo > 80.0 {
            20.0
        } else if hi - lo > 30.0 {
            10.0
        } else {
            5.0
        };
        let mut out = Vec::new();
        let mut v = (lo / step).ceil() * step;
        while v <= hi {
            out.push(v);
            v += step;
        }
        out
    };
    view! {
        <svg class="chart" viewBox=format!("0 0 {W} {H}") role="img" data-testid=testid
            aria-label=move || i18n.t("live.chart_label") aria-describedby=described_by>
            {move || ticks().into_iter().map(|v| view! {
                <g class="grid">
                    <line x1=LEFT x2=W - 8.0 y1=y(v) y2=y(v) />
                    <text x=LEFT - 6.0 y=y(v) + 4.0 text-anchor="end">{format!("{v:.0}")}</text>
                </g>
            }).collect_view()}
            {move || x_labels.get().into_iter().map(|(f, label)| {
                let anchor = if f < 0.05 { "start" } else if f > 0.95 { "end" } else { "middle" };
                view! { <text class="axis" x=x(f) y=H - 4.0 text-anchor=anchor>{label}</text> }
            }).collect_view()}
            <line class="fuse" x1=LEFT x2=W - 8.0 y1=move || y(fuse) y2=move || y(fuse) data-testid="fuse-line" />
            <text class="fuse-label" x=W - 10.0 y=move || y(fuse) - 5.0 text-anchor="end">
                {move || i18n.t_with("live.fuse_line", &[("amps", &fuse_a.to_string())])}
            </text>
            {(0..3).map(|p| view! { <path class=format!("phase l{}", p + 1) d=move || line(p) data-testid=format!("line-l{}", p + 1) /> }).collect_view()}
        </svg>
        <ul class="legend">
            {(0..phases).map(|p| view! { <li class=format!("l{}", p + 1)>{PHASES[p]}</li> }).collect_view()}
            <li class="fuse">{move || i18n.t_with("live.fuse_line", &[("amps", &fuse_a.to_string())])}</li>
        </ul>
    }
}

/// What the live panel of a site starts from; created by the page itself, outside any
/// `Suspend`, so the server's answer is reused when the browser hydrates.
pub fn live_resource(
    site_id: impl Fn() -> Option<i64> + Send + Sync + 'static,
) -> crate::codec::Res<Result<Option<LiveSnapshot>, crate::error::AppError>> {
    crate::codec::resource(site_id, |id| async move {
        match id {
            Some(id) => api::site_live(id).await,
            None => Err(crate::error::AppError::NotFound),
        }
    })
}

/// The live panel of a site: graph, per-phase current and headroom, status.
#[component]
pub fn LivePanel(live: Result<Option<LiveSnapshot>, crate::error::AppError>) -> impl IntoView {
    let i18n = use_i18n();
    match live {
        Ok(Some(snapshot)) => view! { <Live snapshot /> }.into_any(),
        Ok(None) => view! {
            <EmptyState title="site.live_empty_title" body="site.live_empty_body">
                <a href="/settings/monitors" class="btn btn-secondary">
                    {t!(i18n, "site.add_monitor")}
                </a>
            </EmptyState>
        }
        .into_any(),
        Err(error) => view! { <p class="alert alert-error">{error.message(i18n)}</p> }.into_any(),
    }
}

#[component]
fn Live(snapshot: LiveSnapshot) -> impl IntoView {
    let i18n = use_i18n();
    let LiveSnapshot {
        monitor,
        main_fuse_a,
        now_ms,
        clock,
        points,
        last_seq,
    } = snapshot;
    #[cfg(not(feature = "hydrate"))]
    let _ = last_seq; // the browser's stream continues after it
    let mut points = points;
    window(&mut points, now_ms);
    let points = RwSignal::new(points);
    let now = RwSignal::new(now_ms);
    let connected = RwSignal::new(false);
    let monitor_id = monitor.id;

    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        use wasm_bindgen::closure::Closure;
        let source = StoredValue::new_local(None::<web_sys::EventSource>);
        Effect::new(move || {
            let url = format!("/api/v1/monitors/{monitor_id}/live?after={last_seq}");
            let Ok(es) = web_sys::EventSource::new(&url) else {
                return;
            };
            let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
                move |event: web_sys::MessageEvent| {
                    let Some(text) = event.data().as_string() else {
                        return;
                    };
                    if let Ok(point) = crate::codec::from_json::<LivePoint>(&text) {
                        let clock = js_sys::Date::now() as i64;
                        now.set(clock);
                        points.update(|list| {
                            if !list.iter().any(|p| p.seq == point.seq) {
                                list.push(point);
                            }
                            window(list, clock);
                        });
                    }
                },
            );
            es.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            on_message.forget();
            let on_open = Closure::<dyn FnMut()>::new(move || connected.set(true));
            es.set_onopen(Some(on_open.as_ref().unchecked_ref()));
            on_open.forget();
            let on_error = Closure::<dyn FnMut()>::new(move || connected.set(false));
            es.set_onerror(Some(on_error.as_ref().unchecked_ref()));
            on_error.forget();
            source.set_value(Some(es));
        });
        // The window slides and the status ages even when nothing arrives.
        let ticker = set_interval_with_handle(
            move || {
                let clock = js_sys::Date::now() as i64;
                now.set(clock);
                points.update(|list| window(list, clock));
            },
            std::time::Duration::from_secs(1),
        )
        .ok();
        on_cleanup(move || {
            if let Some(es) = source.try_update_value(Option::take).flatten() {
                es.close();
            }
            if let Some(t) = ticker {
                t.clear();
            }
        });
    }

    let series = Signal::derive(move || {
        let end = now.get();
        let start = end - LIVE_WINDOW_MS;
        points.with(|list| {
            let mut out: [Vec<(f64, f64)>; 3] = Default::default();
            for p in list {
                let f = (p.ts - start) as f64 / LIVE_WINDOW_MS as f64;
                for (phase, i) in p.i.iter().enumerate() {
                    if let Some(i) = i {
                        out[phase].push((f, *i));
                    }
                }
            }
            out
        })
    });
    let label_clock = clock.clone();
    let x_labels = Signal::derive(move || {
        let end = now.get();
        (0..=3)
            .map(|k| {
                let ts = end - LIVE_WINDOW_MS + k * LIVE_WINDOW_MS / 3;
                (k as f64 / 3.0, label_clock.hm(ts))
            })
            .collect()
    });
    let newest = move || points.with(|list| latest(list));
    let silence = monitor.silence();
    let last_ms = move || newest().map(|p| p.ts).or(monitor.last_ms);
    let status = move || MonitorStatus::at(now.get(), last_ms(), silence);
    // Seconds since the newest reading, once one is missed: the numbers are that old.
    let silent_s = move || silence.silent_for(now.get(), last_ms()).map(|ms| ms / 1000);
    let last_time = move || {
        newest()
            .map(|p| p.ts)
            .or(monitor.last_ms)
            .map(|ts| clock.time(ts))
    };
    let phases = usize::from(monitor.phases);
    view! {
        <section class="card live" data-testid="live-panel">
            <div class="live-head">
                <h2>{t!(i18n, "live.title")}</h2>
                {move || view! { <StatusBadge status=status() last=last_time() silent_s=silent_s().unwrap_or_default() /> }}
            </div>
            <p class="muted">{format!("{} · ", monitor.name)}{t!(i18n, "live.window")}</p>
            <PhaseChart series fuse_a=main_fuse_a x_labels testid="live-graph" phases described_by="live-numbers"
                gap=silence.missed_after_ms() as f64 / LIVE_WINDOW_MS as f64 />
            <dl class="phase-numbers" id="live-numbers" class:stale=move || silent_s().is_some()>
                {(0..phases)
                    .map(|p| {
                        let current = move || newest().and_then(|n| n.i[p]);
                        view! {
                            <div class=format!("phase-number l{}", p + 1)>
                                <dt>{PHASES[p]}</dt>
                                <dd data-testid=format!("current-l{}", p + 1)>
                                    {move || current().map(|a| amps(i18n, a)).unwrap_or_else(|| "–".into())}
                                </dd>
                                <dd class="muted" data-testid=format!("headroom-l{}", p + 1)>
                                    {move || match silent_s() {
                                        // Greyed out with their age: not what the fuse carries now.
                                        Some(s) => i18n.t_with("live.seconds_old", &[("s", &s.to_string())]),
                                        None => current().map(|a| i18n.t_with("live.headroom", &[("amps", &amps(i18n, headroom(main_fuse_a, a)))])).unwrap_or_default(),
                                    }}
                                </dd>
                            </div>
                        }
                    })
                    .collect_view()}
            </dl>
            <p class="actions">
                <a href=format!("/monitors/{monitor_id}/history") class="btn btn-secondary">{t!(i18n, "history.title")}</a>
                <span class="muted sr-only" data-testid="stream-state" data-live=move || connected.get().to_string()>{move || i18n.t(if connected.get() { "live.connected" } else { "live.connecting" })}</span>
            </p>
        </section>
    }
}

fn amps(i18n: I18n, a: f64) -> String {
    format!("{} A", i18n.num(a, 1))
}

/// `/monitors/:id/history?view=day|week|month|year&date=YYYY-MM-DD`.
#[component]
pub fn HistoryPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = crate::address::use_query();
    let id = crate::address::use_id();
    let view_name = move || query.read().get("view").unwrap_or_else(|| "day".into());
    let date = move || query.read().get("date");
    let history = crate::codec::resource(
        move || (id(), view_name(), date()),
        |(id, view, date)| async move {
            match id {
                Some(id) => api::monitor_history(id, view, date).await,
                None => Err(crate::error::AppError::NotFound),
            }
        },
    );
    view! {
        <PageTitle key="history.title" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match history.await {
                    Ok(h) => view! { <HistoryView history=h /> }.into_any(),
                    Err(error) => view! { <p class="alert alert-error" data-testid="load-error">{error.message(i18n)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn HistoryView(history: History) -> impl IntoView {
    let i18n = use_i18n();
    let id = history.monitor_id;
    let view_name = history.view.as_str();
    let link =
        move |view: &str, date: &str| format!("/monitors/{id}/history?view={view}&date={date}");
    let width = (history.to_ms - history.from_ms).max(1) as f64;
    let mut series: [Vec<(f64, f64)>; 3] = Default::default();
    let mut phases = 1;
    for b in &history.buckets {
        let f = (b.start - history.from_ms) as f64 / width;
        phases = phases.max(b.phases.iter().filter(|p| p.is_some()).count());
        for (p, stats) in b.phases.iter().enumerate() {
            if let Some(s) = stats {
                series[p].push((f, s.mean));
            }
        }
    }
    let n = history.buckets.len();
    // Buckets come at a steady step (a minute, an hour, a day); a missing one is an outage,
    // drawn as a gap.
    let step = history
        .buckets
        .windows(2)
        .map(|w| w[1].start - w[0].start)
        .filter(|d| *d > 0)
        .min()
        .unwrap_or(0);
    let gap = (step > 0).then(|| 1.5 * step as f64 / width);
    let x_labels = history.ticks.clone();
    let csv = format!(
        "/api/v1/monitors/{id}/history.csv?view={view_name}&date={}",
        history.from
    );
    let show_table = matches!(history.view, HistoryView::Month | HistoryView::Year);
    let rows = history.buckets.clone();
    view! {
        <div class="page-head">
            <div>
                <h1>{t!(i18n, "history.title")}</h1>
                <p class="muted" data-testid="history-span">
                    {if history.from == history.last_day {
                        format!("{} · {}", history.monitor_name, history.from)
                    } else {
                        format!("{} · {} – {}", history.monitor_name, history.from, history.last_day)
                    }}
                </p>
            </div>
            <a class="btn btn-secondary" href=csv download data-testid="csv-link">{t!(i18n, "history.csv")}</a>
        </div>
        <nav class="tabs" aria-label=move || i18n.t("history.title")>
            {HistoryView::ALL.into_iter().map(|v| {
                let current = v == history.view;
                view! {
                    <a href=link(v.as_str(), &history.from) aria-current=current.then_some("page")>{move || i18n.t(v.key())}</a>
                }
            }).collect_view()}
        </nav>
        <p class="actions">
            <a class="btn btn-secondary" href=link(view_name, &history.previous)>{t!(i18n, "history.previous")}</a>
            {match &history.next {
                Some(next) => view! {
                    <a class="btn btn-secondary" href=link(view_name, next) data-testid="history-next">{t!(i18n, "history.next")}</a>
                }.into_any(),
                None => view! {
                    <span class="btn btn-secondary" aria-disabled="true" data-testid="history-next">{t!(i18n, "history.next")}</span>
                }.into_any(),
            }}
        </p>
        <dl class="facts-grid card">
            <div>
                <dt>{t!(i18n, "history.imported")}</dt>
                <dd data-testid="import-kwh">{move || format!("{} kWh", i18n.num(history.import_kwh, 2))}</dd>
            </div>
            <div>
                <dt>{t!(i18n, "history.exported")}</dt>
                <dd>{move || format!("{} kWh", i18n.num(history.export_kwh, 2))}</dd>
            </div>
        </dl>
        {if n == 0 {
            view! { <EmptyState title="history.empty_title" body="history.empty_body" /> }.into_any()
        } else {
            view! {
                <section class="card">
                    <PhaseChart series=Signal::stored(series) fuse_a=history.main_fuse_a x_labels=Signal::stored(x_labels) testid="history-graph" phases gap=gap.unwrap_or(f64::INFINITY) />
                    <p class="muted">{t!(i18n, "history.mean_hint")}</p>
                </section>
            }
                .into_any()
        }}
        {show_table.then(|| view! {
            <div class="card table-wrap">
            <table class="table">
                <thead>
                    <tr>
                        <th>{t!(i18n, "history.day")}</th>
                        <th>{t!(i18n, "history.imported")}</th>
                        <th>"L1 max"</th>
                        <th>"L2 max"</th>
                        <th>"L3 max"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|b| {
                        let max = move |p: usize| b.phases[p].map(|s| amps(i18n, s.max)).unwrap_or_default();
                        view! {
                            <tr>
                                <td>{b.local.get(..10).unwrap_or_default().to_string()}</td>
                                <td>{move || format!("{} kWh", i18n.num(b.import_kwh, 2))}</td>
                                <td>{move || max(0)}</td>
                                <td>{move || max(1)}</td>
                                <td>{move || max(2)}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            </div>
        })}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_keeps_fifteen_minutes_in_time_order() {
        let p = |seq, ts| LivePoint {
            seq,
            ts,
            i: [Some(1.0), None, None],
        };
        let now = 10 * 60 * 60_000;
        let mut list = vec![
            p(3, now - 1000),
            p(1, now - LIVE_WINDOW_MS - 1),
            p(2, now - 5000),
        ];
        window(&mut list, now);
        assert_eq!(list.iter().map(|p| p.seq).collect::<Vec<_>>(), [2, 3]);
    }
}
