//! Adaptive charging on a reporter's card: Off, a Simple schedule or optiCharge; what happens
//! now in words; for optiCharge the prices of today and tomorrow with the chosen slots, the
//! plan's cost beside charging at once, and the saving.

use leptos::prelude::*;
use model::charging::{
    AdaptiveInput, ChargingView, Decision, Mode, Want, Window, show_minute, show_schedule,
};
use model::clock::LocalClock;

use crate::api;
use crate::components::{FormError, action_error};
use crate::i18n::{I18n, use_i18n};
use crate::t;

/// Kronor as the language writes money.
pub fn money(i18n: I18n, sek: f64) -> String {
    i18n.t_with("charging.sek", &[("amount", &i18n.num(sek, 2))])
}

/// The plan's cost in words: a negative cost is money the household is paid (negative spot
/// prices), said so.
fn cost_words(i18n: I18n, sek: f64) -> String {
    if sek < -0.005 {
        i18n.t_with("charging.paid", &[("amount", &money(i18n, -sek))])
    } else {
        money(i18n, sek)
    }
}

/// What happens now, in words.
fn decision_text(i18n: I18n, d: &Decision, clock: &LocalClock) -> String {
    let time = |ms: Option<i64>| ms.map(|ms| clock.hm(ms));
    match d {
        Decision::Off => i18n.t("charging.now_off"),
        Decision::AllowedUntil { until_ms } => match time(*until_ms) {
            Some(t) => i18n.t_with("charging.now_allowed_until", &[("time", &t)]),
            None => i18n.t("charging.now_allowed"),
        },
        Decision::WaitingFor { from_ms } => match time(*from_ms) {
            Some(t) => i18n.t_with("charging.now_waiting_for", &[("time", &t)]),
            None => i18n.t("charging.now_paused"),
        },
        Decision::NoPricesYet => i18n.t("charging.now_no_prices"),
        Decision::WindowOver { next_ms } => match time(*next_ms) {
            Some(t) => i18n.t_with("charging.now_window_next", &[("time", &t)]),
            None => i18n.t("charging.now_window_over"),
        },
    }
}

/// The form's text fields, kept while the user switches modes.
#[derive(Clone, Copy)]
struct Fields {
    mode: RwSignal<Mode>,
    windows: RwSignal<Vec<Window>>,
    from_now: RwSignal<bool>,
    from: RwSignal<String>,
    ready_by: RwSignal<String>,
    want_kwh: RwSignal<bool>,
    amount: RwSignal<String>,
    power_kw: RwSignal<String>,
    max_price: RwSignal<String>,
    min_price: RwSignal<String>,
}

impl Fields {
    fn new(view: &ChargingView) -> Self {
        let a = &view.adaptive;
        let (want_kwh, amount) = match a.opti.want {
            Want::Hours(h) => (false, h),
            Want::Energy(e) => (true, e),
        };
        let windows = if a.schedule.is_empty() {
            vec![Window {
                days: [true; 7],
                from: 23 * 60,
                to: 6 * 60,
            }]
        } else {
            a.schedule.clone()
        };
        let number = |x: f64| {
            let text = format!("{x:.2}");
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        };
        Self {
            mode: RwSignal::new(a.mode),
            windows: RwSignal::new(windows),
            from_now: RwSignal::new(a.opti.from.is_none()),
            from: RwSignal::new(show_minute(a.opti.from.unwrap_or(18 * 60))),
            ready_by: RwSignal::new(show_minute(a.opti.ready_by)),
            want_kwh: RwSignal::new(want_kwh),
            amount: RwSignal::new(number(amount)),
            power_kw: RwSignal::new(number(a.opti.power_kw)),
            max_price: RwSignal::new(a.opti.max_price.map(number).unwrap_or_default()),
            min_price: RwSignal::new(a.opti.min_price.map(number).unwrap_or_default()),
        }
    }

    fn input(&self, mode: Mode) -> AdaptiveInput {
        AdaptiveInput {
            mode: match mode {
                Mode::Off => "off",
                Mode::Schedule => "schedule",
                Mode::OptiCharge => "opticharge",
            }
            .into(),
            schedule: show_schedule(&self.windows.get_untracked()),
            from: if self.from_now.get_untracked() {
                String::new()
            } else {
                self.from.get_untracked()
            },
            ready_by: self.ready_by.get_untracked(),
            want: if self.want_kwh.get_untracked() {
                "kwh"
            } else {
                "hours"
            }
            .into(),
            amount: self.amount.get_untracked(),
            power_kw: self.power_kw.get_untracked(),
            max_price: self.max_price.get_untracked(),
            min_price: self.min_price.get_untracked(),
        }
    }
}

const DAY_KEYS: [&str; 7] = [
    "charging.mon",
    "charging.tue",
    "charging.wed",
    "charging.thu",
    "charging.fri",
    "charging.sat",
    "charging.sun",
];

/// A reporter's adaptive charging, on its card.
#[component]
pub fn AdaptiveCharging(reporter_id: i64, view: ChargingView) -> impl IntoView {
    let i18n = use_i18n();
    let current = RwSignal::new(view.clone());
    let fields = Fields::new(&view);
    let save = ServerAction::<api::SetReporterCharging>::new();
    let error = action_error(save);
    Effect::new(move || {
        if let Some(Ok(v)) = save.value().get() {
            current.set(v);
        }
    });
    let send = move |mode: Mode| {
        save.dispatch(api::SetReporterCharging {
            id: reporter_id,
            charging: fields.input(mode),
        });
    };
    let choose = move |mode: Mode| {
        fields.mode.set(mode);
        // Off takes effect at once; the others when their settings are saved.
        if mode == Mode::Off {
            send(Mode::Off);
        }
    };
    view! {
        <div class="adaptive" data-testid="adaptive">
            <h3>{t!(i18n, "charging.title")}</h3>
            <div class="choices" role="radiogroup" aria-label=move || i18n.t("charging.title")>
                {Mode::ALL.into_iter().map(|mode| view! {
                    <label class="chip-choice">
                        <input type="radio" name=format!("mode-{reporter_id}")
                            prop:checked=move || fields.mode.get() == mode
                            on:change=move |_| choose(mode) />
                        <span>{move || i18n.t(mode.key())}</span>
                    </label>
                }).collect_view()}
            </div>
            <p class="charging-now" data-testid="charging-now" role="status">
                {move || current.with(|c| decision_text(i18n, &c.decision, &c.clock))}
            </p>
            <FormError error />
            <Show when=move || fields.mode.get() == Mode::Schedule>
                <ScheduleEditor fields />
                <div class="actions">
                    <button type="button" class="btn btn-primary" disabled=move || save.pending().get()
                        on:click=move |_| send(Mode::Schedule)>{t!(i18n, "charging.save_schedule")}</button>
                </div>
            </Show>
            <Show when=move || fields.mode.get() == Mode::OptiCharge>
                <OptiForm fields />
                <div class="actions">
                    <button type="button" class="btn btn-primary" disabled=move || save.pending().get()
                        on:click=move |_| send(Mode::OptiCharge)>{t!(i18n, "charging.plan")}</button>
                </div>
            </Show>
            {move || {
                let c = current.get();
                (c.adaptive.mode == Mode::OptiCharge && fields.mode.get() == Mode::OptiCharge)
                    .then(|| view! { <PlanView view=c /> })
            }}
        </div>
    }
}

#[component]
fn ScheduleEditor(fields: Fields) -> impl IntoView {
    let i18n = use_i18n();
    let count = move || fields.windows.with(Vec::len);
    view! {
        <div class="schedule" data-testid="schedule">
            <p class="muted">{t!(i18n, "charging.schedule_help")}</p>
            {move || (0..count()).map(|k| {
                let window = move || fields.windows.with(|w| w.get(k).copied());
                let set = move |f: &dyn Fn(&mut Window)| fields.windows.update(|w| if let Some(w) = w.get_mut(k) { f(w) });
                view! {
                    <fieldset class="window" data-testid="window">
                        <legend>{move || i18n.t_with("charging.window_n", &[("n", &(k + 1).to_string())])}</legend>
                        <div class="days">
                            {(0..7).map(|d| view! {
                                <label class="day">
                                    <input type="checkbox" prop:checked=move || window().is_some_and(|w| w.days[d])
                                        on:change=move |ev| { let on = event_target_checked(&ev); set(&|w| w.days[d] = on) } />
                                    <span>{move || i18n.t(DAY_KEYS[d])}</span>
                                </label>
                            }).collect_view()}
                        </div>
                        <div class="field-row">
                            <label class="field">
                                <span>{t!(i18n, "charging.from")}</span>
                                <input type="time" prop:value=move || window().map(|w| show_minute(w.from)).unwrap_or_default()
                                    on:change=move |ev| if let Some(m) = model::charging::parse_minute(&event_target_value(&ev)) { set(&|w| w.from = m) } />
                            </label>
                            <label class="field">
                                <span>{t!(i18n, "charging.to")}</span>
                                <input type="time" prop:value=move || window().map(|w| show_minute(w.to)).unwrap_or_default()
                                    on:change=move |ev| if let Some(m) = model::charging::parse_minute(&event_target_value(&ev)) { set(&|w| w.to = m) } />
                            </label>
                        </div>
                        <button type="button" class="btn btn-small btn-secondary"
                            on:click=move |_| fields.windows.update(|w| { if k < w.len() { w.remove(k); } })>
                            {t!(i18n, "charging.remove_window")}
                        </button>
                    </fieldset>
                }
            }).collect_view()}
            <button type="button" class="btn btn-small btn-secondary"
                on:click=move |_| fields.windows.update(|w| w.push(Window { days: [true; 7], from: 22 * 60, to: 6 * 60 }))>
                {t!(i18n, "charging.add_window")}
            </button>
        </div>
    }
}

#[component]
fn OptiForm(fields: Fields) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <div class="stack opti">
            <fieldset class="field">
                <legend>{t!(i18n, "charging.plugged_in")}</legend>
                <div class="choices">
                    <label class="chip-choice">
                        <input type="radio" prop:checked=move || fields.from_now.get() on:change=move |_| fields.from_now.set(true) />
                        <span>{t!(i18n, "charging.from_now")}</span>
                    </label>
                    <label class="chip-choice">
                        <input type="radio" prop:checked=move || !fields.from_now.get() on:change=move |_| fields.from_now.set(false) />
                        <span>{t!(i18n, "charging.from_time")}</span>
                    </label>
                </div>
                <Show when=move || !fields.from_now.get()>
                    <input type="time" aria-label=move || i18n.t("charging.from_time") prop:value=move || fields.from.get()
                        on:input=move |ev| fields.from.set(event_target_value(&ev)) />
                </Show>
            </fieldset>
            <label class="field">
                <span>{t!(i18n, "charging.ready_by")}</span>
                <input type="time" prop:value=move || fields.ready_by.get() on:input=move |ev| fields.ready_by.set(event_target_value(&ev)) />
            </label>
            <fieldset class="field">
                <legend>{t!(i18n, "charging.buy")}</legend>
                <div class="choices">
                    <label class="chip-choice">
                        <input type="radio" prop:checked=move || !fields.want_kwh.get() on:change=move |_| { fields.want_kwh.set(false); fields.amount.set(String::new()); } />
                        <span>{t!(i18n, "charging.hours")}</span>
                    </label>
                    <label class="chip-choice">
                        <input type="radio" prop:checked=move || fields.want_kwh.get() on:change=move |_| { fields.want_kwh.set(true); fields.amount.set(String::new()); } />
                        <span>{t!(i18n, "charging.kwh")}</span>
                    </label>
                </div>
                <input inputmode="decimal" aria-label=move || i18n.t(if fields.want_kwh.get() { "charging.kwh" } else { "charging.hours" })
                    prop:value=move || fields.amount.get() on:input=move |ev| fields.amount.set(event_target_value(&ev)) />
            </fieldset>
            <label class="field">
                <span>{t!(i18n, "charging.power")}</span>
                <input inputmode="decimal" prop:value=move || fields.power_kw.get() on:input=move |ev| fields.power_kw.set(event_target_value(&ev)) />
            </label>
            <div class="field-row">
                <label class="field">
                    <span>{t!(i18n, "charging.max_price")}</span>
                    <input inputmode="decimal" prop:value=move || fields.max_price.get() on:input=move |ev| fields.max_price.set(event_target_value(&ev)) />
                </label>
                <label class="field">
                    <span>{t!(i18n, "charging.min_price")}</span>
                    <input inputmode="decimal" prop:value=move || fields.min_price.get() on:input=move |ev| fields.min_price.set(event_target_value(&ev)) />
                </label>
            </div>
        </div>
    }
}

/// The plan on the prices: bars per slot (chosen ones marked), the window, now; costs.
#[component]
fn PlanView(view: ChargingView) -> impl IntoView {
    let i18n = use_i18n();
    const W: f64 = 600.0;
    const H: f64 = 200.0;
    const TOP: f64 = 10.0;
    const BOTTOM: f64 = 34.0;
    // Room for the price axis' labels.
    const LEFT: f64 = 52.0;
    let prices = view.prices.clone();
    if prices.is_empty() {
        return view! { <p class="muted" data-testid="no-prices">{t!(i18n, "charging.no_prices")}</p> }.into_any();
    }
    let start = prices.first().map_or(0, |s| s.start_ms);
    let end = prices.last().map_or(1, |s| s.end_ms).max(start + 1);
    let span = (end - start) as f64;
    let x = move |ms: i64| LEFT + (ms - start) as f64 / span * (W - LEFT);
    let lo = prices.iter().map(|s| s.price).fold(0.0f64, f64::min);
    let hi = prices
        .iter()
        .map(|s| s.price)
        .fold(0.0f64, f64::max)
        .max(lo + 0.01);
    let y = move |p: f64| TOP + (hi - p) / (hi - lo) * (H - TOP - BOTTOM);
    let chosen: Vec<(i64, i64)> = view
        .plan
        .as_ref()
        .map(|p| p.slots.iter().map(|s| (s.start_ms, s.end_ms)).collect())
        .unwrap_or_default();
    // A price slot (an hour holds four quarters) with any planned charging in it.
    let in_chosen = |s: &model::charging::PriceSlot| {
        chosen.iter().any(|(a, b)| *a < s.end_ms && *b > s.start_ms)
    };
    let bars = prices
        .iter()
        .map(|s| {
            let (x0, x1) = (x(s.start_ms), x(s.end_ms));
            let (ya, yb) = (y(s.price.max(0.0)), y(s.price.min(0.0)));
            let class = if in_chosen(s) { "bar chosen" } else { "bar" };
            view! { <rect class=class x=x0 y=ya width=(x1 - x0 - 0.5).max(0.5) height=(yb - ya).max(0.5) /> }
        })
        .collect_view();
    // The planned slots as a strip under the bars too: they stand out at any price, a price of
    // nothing included.
    let strip = chosen
        .iter()
        .map(|(a, b)| {
            let (x0, x1) = (x((*a).max(start)), x((*b).min(end)));
            view! { <rect class="planned-strip" x=x0 y=H - BOTTOM + 3.0 width=(x1 - x0).max(1.0) height=6.0 /> }
        })
        .collect_view();
    // A price axis with round steps and its unit.
    let step = [0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .find(|step| (hi - lo) / step <= 5.0)
        .unwrap_or(10.0);
    let price_ticks: Vec<f64> = {
        let mut v = (lo / step).ceil() * step;
        let mut out = Vec::new();
        while v <= hi + 1e-9 {
            out.push(v);
            v += step;
        }
        out
    };
    let grid = price_ticks
        .into_iter()
        .map(|v| {
            let label = i18n.num(v, if step < 1.0 { 2 } else { 0 });
            view! {
                <g class="grid">
                    <line x1=LEFT x2=W y1=y(v) y2=y(v) />
                    <text x=LEFT - 6.0 y=y(v) + 4.0 text-anchor="end">{label}</text>
                </g>
            }
        })
        .collect_view();
    let window = view.window.map(|(s, e)| {
        let (x0, x1) = (x(s.max(start)), x(e.min(end)));
        view! { <rect class="window-band" x=x0 y=TOP width=(x1 - x0).max(0.0) height=H - TOP - BOTTOM /> }
    });
    let now_x = x(view.now_ms);
    let ticks: Vec<(f64, String)> = (0..=4)
        .map(|k| {
            let ms = start + (end - start) * k / 4;
            (x(ms), view.clock.hm(ms))
        })
        .collect();
    let unit = i18n.t("charging.price_unit");
    let chosen_count = view.plan.as_ref().map_or(0, |p| p.slots.len());
    let label = if view.prices_total {
        "charging.prices_total"
    } else {
        "charging.prices_spot"
    };
    let plan = view.plan.clone();
    let summary = plan.clone().map(|p| {
        let hours = p.slots.iter().map(|s| (s.end_ms - s.start_ms) as f64 * s.share).sum::<f64>() / 3_600_000.0;
        view! {
            <dl class="plan-figures" data-testid="plan-figures">
                <div><dt>{t!(i18n, "charging.planned")}</dt>
                    <dd>{move || i18n.t_with("charging.planned_value", &[("hours", &i18n.num(hours, 2)), ("kwh", &i18n.num(p.kwh, 1))])}</dd></div>
                <div><dt>{t!(i18n, "charging.cost")}</dt><dd data-testid="plan-cost">{move || cost_words(i18n, p.cost)}</dd></div>
                <div><dt>{t!(i18n, "charging.cost_if_now")}</dt><dd data-testid="cost-if-now">{move || money(i18n, p.cost_if_now)}</dd></div>
                <div><dt>{t!(i18n, "charging.saving")}</dt><dd data-testid="saving">{move || money(i18n, p.saving)}</dd></div>
            </dl>
        }
    });
    let notes = plan.map(|p| {
        let clock = view.clock.clone();
        view! {
            {(!p.complete && p.capped_by_max_price).then(|| view! { <p class="muted">{t!(i18n, "charging.capped")}</p> })}
            {p.limited_by_guard.then(|| view! {
                <p class="muted" data-testid="guard-short">{move || i18n.t_with("charging.guard_short", &[
                    ("kwh", &i18n.num(p.kwh, 1)),
                    ("wanted", &i18n.num(p.wanted_kwh, 1)),
                    ("short", &i18n.num(p.wanted_kwh - p.kwh, 1)),
                ])}</p>
            })}
            {(!p.complete && !p.capped_by_max_price && !p.limited_by_guard && p.prices_until_ms.is_none()).then(|| view! {
                <p class="muted" data-testid="short-window">{t!(i18n, "charging.short_window")}</p>
            })}
            {p.prices_until_ms.map(|ms| view! {
                <p class="muted" data-testid="prices-pending">{move || i18n.t_with("charging.prices_pending", &[("time", &clock.hm(ms))])}</p>
            })}
        }
    });
    view! {
        <figure class="plan-chart">
            <svg viewBox=format!("0 0 {W} {H}") class="chart" role="img" data-testid="plan-chart"
                data-chosen=chosen_count.to_string()
                aria-label=move || i18n.t_with("charging.chart_label", &[("n", &chosen_count.to_string())])>
                {window}
                {grid}
                <text class="axis unit" x="2" y=TOP + 2.0 text-anchor="start">{unit}</text>
                {bars}
                {strip}
                <line class="zero" x1=LEFT x2=W y1=y(0.0) y2=y(0.0) />
                <line class="now" x1=now_x x2=now_x y1=TOP y2=H - BOTTOM />
                {ticks.into_iter().map(|(tx, label)| {
                    let anchor = if tx < LEFT + 1.0 { "start" } else if tx > W - 1.0 { "end" } else { "middle" };
                    view! { <text class="axis" x=tx y=H - 6.0 text-anchor=anchor>{label}</text> }
                }).collect_view()}
            </svg>
            <ul class="legend plan-legend" data-testid="plan-legend">
                <li class="price">{t!(i18n, "charging.legend_price")}</li>
                <li class="planned">{t!(i18n, "charging.legend_planned")}</li>
                <li class="now">{t!(i18n, "charging.legend_now")}</li>
            </ul>
            <figcaption class="muted">
                {move || i18n.t(label)}" · "{view.price_source.clone()}
            </figcaption>
        </figure>
        {summary}
        {notes}
    }
    .into_any()
}
