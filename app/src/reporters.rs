//! Reporter pages: Settings → Reporters (the list), the wizard that adds one (the integration
//! guide's steps), a reporter's own page (serial and PIN, edit, pause, new PIN, delete), and the
//! cards on the overview and a site's page. Statuses stay true while a page is open: the facts
//! arrive as Server-Sent Events and the status is derived from them and the clock each second.

use std::collections::HashMap;

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use model::reporter::{
    Facts, NewCredentials, REPORTER_FUSES_A, ReporterInput, ReporterKind, ReporterLive,
    ReporterStatus, Step, WizardOptions, WizardSite,
};
use model::{FieldError, Reporter};

use crate::api;
use crate::components::{EmptyState, FormError, action_error};
use crate::error::AppError;
use crate::i18n::{I18n, use_i18n};
use crate::t;

// ---------------------------------------------------------------------------------------------
// Live statuses

/// The facts each reporter has now and the clock, for statuses that follow what happens.
#[derive(Clone, Copy)]
pub struct LiveReporters {
    changes: RwSignal<HashMap<i64, ReporterLive>>,
    /// The server's clock (ms UTC), moved on by the browser's.
    now: RwSignal<i64>,
}

impl LiveReporters {
    /// Starts listening (in the browser) to the reporters of `site`, or of every site the
    /// account may work on. `server_now`: the server's clock when the page's data was read.
    pub fn new(server_now: i64, site: Option<i64>) -> Self {
        let live = Self {
            changes: RwSignal::new(HashMap::new()),
            now: RwSignal::new(server_now),
        };
        #[cfg(not(feature = "hydrate"))]
        let _ = site;
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            use wasm_bindgen::closure::Closure;
            // Statuses follow the server's clock, whatever the phone's says.
            let skew = server_now - js_sys::Date::now() as i64;
            let source = StoredValue::new_local(None::<web_sys::EventSource>);
            let changes = live.changes;
            Effect::new(move || {
                let url = match site {
                    Some(site) => format!("/api/v1/reporters/live?site={site}"),
                    None => "/api/v1/reporters/live".to_string(),
                };
                let Ok(es) = web_sys::EventSource::new(&url) else {
                    return;
                };
                let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
                    move |event: web_sys::MessageEvent| {
                        let Some(text) = event.data().as_string() else {
                            return;
                        };
                        if let Ok(change) = crate::codec::from_json::<ReporterLive>(&text) {
                            changes.update(|map| {
                                map.insert(change.id, change);
                            });
                        }
                    },
                );
                es.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
                on_message.forget();
                source.set_value(Some(es));
            });
            let now = live.now;
            let ticker = set_interval_with_handle(
                move || now.set(js_sys::Date::now() as i64 + skew),
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
        live
    }

    /// The reporter's facts and whether it is paused, as they are now.
    fn facts(&self, reporter: &Reporter) -> (Facts, bool) {
        self.changes.with(|map| match map.get(&reporter.id) {
            Some(change) => (change.facts.clone(), change.paused),
            None => (reporter.facts.clone(), reporter.paused),
        })
    }
}

/// The line under a status: when the last update was accepted, or what is wrong.
fn status_detail(i18n: I18n, status: ReporterStatus, facts: &Facts, reporter: &Reporter) -> String {
    let time = |ts: Option<i64>| ts.map(|ts| reporter.clock.time(ts));
    match status {
        ReporterStatus::Active => time(facts.accepted_at)
            .map(|t| i18n.t_with("reporter.accepted_at", &[("time", &t)]))
            .unwrap_or_default(),
        ReporterStatus::WaitingForPartner => match reporter.kind {
            ReporterKind::ChargeAmps => i18n.t("reporter.waiting_detail_charge_amps"),
            ReporterKind::OpenReporter => i18n.t("reporter.waiting_detail_open_reporter"),
        },
        ReporterStatus::PartnerUnreachable => {
            let problem = facts.problem.as_ref().map(|p| {
                let (key, n) = p.key();
                i18n.t_with(key, &[("n", n.as_deref().unwrap_or_default())])
            });
            let since = time(facts.failed_at)
                .map(|t| i18n.t_with("reporter.failed_at", &[("time", &t)]))
                .unwrap_or_default();
            format!("{} {since}", problem.unwrap_or_default())
        }
        ReporterStatus::MonitorOffline => match time(facts.reading_ts) {
            Some(t) => i18n.t_with("reporter.monitor_offline_since", &[("time", &t)]),
            None => i18n.t("reporter.monitor_never"),
        },
        ReporterStatus::Paused => i18n.t("reporter.paused_detail"),
        ReporterStatus::Connecting => i18n.t("reporter.connecting_detail"),
    }
}

/// A reporter's status, kept current.
#[component]
fn StatusLine(reporter: Reporter, live: LiveReporters) -> impl IntoView {
    let i18n = use_i18n();
    let reporter = StoredValue::new(reporter);
    let state = Memo::new(move |_| {
        let now = live.now.get();
        reporter.with_value(|r| {
            let (facts, paused) = live.facts(r);
            let status = ReporterStatus::derive(now, paused, &facts, r.silent_after_ms);
            (status, facts)
        })
    });
    view! {
        <span class=move || format!("status {}", state.get().0.class()) data-testid="reporter-status">
            <span class="dot" aria-hidden="true"></span>
            {move || i18n.t(state.get().0.key())}
        </span>
        <span class="muted status-detail" data-testid="reporter-status-detail">
            {move || {
                let (status, facts) = state.get();
                reporter.with_value(|r| status_detail(i18n, status, &facts, r))
            }}
        </span>
    }
}

// ---------------------------------------------------------------------------------------------
// Settings → Reporters

/// Settings → Reporters: every reporter on the account's sites, and the way to add one.
#[component]
pub fn ReportersPage() -> impl IntoView {
    let i18n = use_i18n();
    let reporters = crate::codec::resource(|| (), |_| api::list_reporters());
    view! {
        <div class="page-head">
            <h2>{t!(i18n, "reporters.title")}</h2>
            <a href="/settings/reporters/new" class="btn btn-primary">
                {t!(i18n, "reporters.add")}
            </a>
        </div>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match reporters.await {
                    Ok((_, list)) if list.is_empty() => view! {
                        <EmptyState title="reporters.empty_title" body="reporters.empty_body">
                            <a href="/settings/reporters/new" class="btn btn-primary">
                                {t!(i18n, "reporters.add_first")}
                            </a>
                        </EmptyState>
                    }
                    .into_any(),
                    Ok((now, list)) => {
                        let live = LiveReporters::new(now, None);
                        view! {
                            <ul class="list card" data-testid="reporters">
                                {list.into_iter().map(|r| view! { <ReporterRow reporter=r live /> }).collect_view()}
                            </ul>
                        }
                        .into_any()
                    }
                    Err(error) => view! { <p class="alert alert-error" data-testid="load-error">{error.message(i18n)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ReporterRow(reporter: Reporter, live: LiveReporters) -> impl IntoView {
    let i18n = use_i18n();
    let href = format!("/settings/reporters/{}", reporter.id);
    let kind = reporter.kind;
    let facts = format!("{} · {}", reporter.site_name, reporter.monitor_name);
    view! {
        <li class="reporter-row" data-testid="reporter">
            <a href=href>
                <strong>{reporter.name.clone()}</strong>
                <span class="muted">{move || i18n.t(kind.name_key())}" · "{facts.clone()}</span>
                <span class="reporter-status-line"><StatusLine reporter live /></span>
            </a>
        </li>
    }
}

// ---------------------------------------------------------------------------------------------
// Cards on the overview and a site's page

/// The reporters of a site as cards (the overview's *Charge Amps Charge Control* card), with
/// adaptive charging where the partner takes it (Charge Amps).
#[component]
pub fn ReporterCards(
    now: i64,
    reporters: Vec<(Reporter, model::charging::ChargingView)>,
    site: Option<i64>,
) -> impl IntoView {
    let i18n = use_i18n();
    if reporters.is_empty() {
        return ().into_any();
    }
    let site = site.or_else(|| reporters.first().map(|(r, _)| r.site_id));
    let live = LiveReporters::new(now, site);
    view! {
        <div class="reporter-cards">
            {reporters
                .into_iter()
                .map(|(r, charging)| {
                    let kind = r.kind;
                    let id = r.id;
                    let href = format!("/settings/reporters/{id}");
                    let name = r.name.clone();
                    view! {
                        <section class="card reporter-card" data-testid="reporter-card">
                            <div class="live-head">
                                <h2>{move || i18n.t(kind.name_key())}</h2>
                                <a href=href class="btn btn-small btn-secondary">{t!(i18n, "reporter.settings")}</a>
                            </div>
                            <p class="muted">{name}</p>
                            <p class="reporter-status-line"><StatusLine reporter=r live /></p>
                            {(kind == ReporterKind::ChargeAmps).then(|| view! {
                                <crate::charging::AdaptiveCharging reporter_id=id view=charging />
                            })}
                        </section>
                    }
                })
                .collect_view()}
        </div>
    }
    .into_any()
}

// ---------------------------------------------------------------------------------------------
// Serial number and PIN

/// Copies `text` to the clipboard; true when the browser took it.
#[cfg(feature = "hydrate")]
async fn copy_to_clipboard(text: String) -> bool {
    use wasm_bindgen::{JsCast, JsValue};
    let Some(window) = web_sys::window() else {
        return false;
    };
    // navigator.clipboard.writeText(text), read dynamically: web-sys keeps Clipboard behind an
    // unstable flag.
    let call = || -> Option<js_sys::Promise> {
        let clipboard =
            js_sys::Reflect::get(&window.navigator(), &JsValue::from_str("clipboard")).ok()?;
        let write = js_sys::Reflect::get(&clipboard, &JsValue::from_str("writeText")).ok()?;
        let write: js_sys::Function = write.dyn_into().ok()?;
        write
            .call1(&clipboard, &JsValue::from_str(&text))
            .ok()?
            .dyn_into()
            .ok()
    };
    match call() {
        Some(promise) => wasm_bindgen_futures::JsFuture::from(promise).await.is_ok(),
        None => false,
    }
}

/// A value shown large, with a copy button.
#[component]
fn BigValue(
    label: &'static str,
    copy_label: &'static str,
    value: String,
    testid: &'static str,
) -> impl IntoView {
    let i18n = use_i18n();
    let copied = RwSignal::new(false);
    let text = StoredValue::new(value.clone());
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            if copy_to_clipboard(text.get_value()).await {
                copied.set(true);
                set_timeout(move || copied.set(false), std::time::Duration::from_secs(2));
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = text;
    };
    view! {
        <div class="big-value">
            <span class="big-label">{move || i18n.t(label)}</span>
            <code data-testid=testid>{value}</code>
            <button type="button" class="btn btn-small btn-secondary" on:click=copy aria-label=move || i18n.t(copy_label)>
                {move || if copied.get() { i18n.t("reporter.copied") } else { i18n.t("reporter.copy") }}
            </button>
        </div>
    }
}

/// The serial number and PIN with what to do with them in Charge Amps Partner.
#[component]
fn PartnerCredentials(credentials: NewCredentials) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <div class="credentials" data-testid="credentials">
            <BigValue label="reporter.serial" copy_label="reporter.copy_serial" value=credentials.serial testid="serial" />
            <BigValue label="reporter.pin" copy_label="reporter.copy_pin" value=credentials.pin testid="pin" />
            <p class="muted">{t!(i18n, "reporter.partner_hint")}</p>
        </div>
    }
}

// ---------------------------------------------------------------------------------------------
// The wizard

fn step_key(step: Step, kind: Option<ReporterKind>) -> &'static str {
    match (step, kind) {
        (Step::Kind, _) => "wizard.step_kind",
        (Step::Name, _) => "wizard.step_name",
        (Step::Link, Some(ReporterKind::OpenReporter)) => "wizard.step_partner",
        (Step::Link, _) => "wizard.step_credentials",
        (Step::Fuse, _) => "wizard.step_fuse",
        (Step::Monitor, _) => "wizard.step_monitor",
        (Step::Save, _) => "wizard.step_save",
    }
}

/// Settings → Reporters → Add new reporter.
#[component]
pub fn NewReporterPage() -> impl IntoView {
    let i18n = use_i18n();
    let options = crate::codec::resource(|| (), |_| api::reporter_options());
    let query = use_query_map();
    let wanted_site = query
        .read_untracked()
        .get("site")
        .and_then(|s| s.parse::<i64>().ok());
    view! {
        <section class="card form-card wizard">
            <h2>{t!(i18n, "wizard.title")}</h2>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match options.await {
                        Ok(options) if options.sites.is_empty() => view! {
                            <p>{t!(i18n, "wizard.no_site")}</p>
                            <a href="/settings/sites/new" class="btn btn-primary">{t!(i18n, "site.create_first")}</a>
                        }
                        .into_any(),
                        Ok(options) => view! { <Wizard options wanted_site /> }.into_any(),
                        Err(error) => view! { <p class="alert alert-error" data-testid="load-error">{error.message(i18n)}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The fuse choice: one of the standard sizes, or "other" with a number.
#[derive(Clone, Copy)]
struct FuseChoice {
    preset: RwSignal<String>,
    other: RwSignal<String>,
}

impl FuseChoice {
    fn new(amps: u16) -> Self {
        let preset = if REPORTER_FUSES_A.contains(&amps) {
            amps.to_string()
        } else {
            "other".to_string()
        };
        Self {
            preset: RwSignal::new(preset),
            other: RwSignal::new(amps.to_string()),
        }
    }

    fn value(&self) -> String {
        match self.preset.get() {
            p if p == "other" => self.other.get(),
            p => p,
        }
    }
}

#[component]
fn FuseField(choice: FuseChoice, error: Signal<Option<AppError>>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <fieldset class="field">
            <legend>{t!(i18n, "reporter.main_fuse")}</legend>
            <div class="choices">
                {REPORTER_FUSES_A
                    .iter()
                    .map(|a| a.to_string())
                    .chain(std::iter::once("other".to_string()))
                    .map(|value| {
                        let label = if value == "other" { None } else { Some(format!("{value} A")) };
                        let v = value.clone();
                        view! {
                            <label class="chip-choice">
                                <input type="radio" name="fuse" value=value.clone()
                                    prop:checked=move || choice.preset.get() == v
                                    on:change=move |_| choice.preset.set(value.clone()) />
                                <span>{move || label.clone().unwrap_or_else(|| i18n.t("reporter.fuse_other"))}</span>
                            </label>
                        }
                    })
                    .collect_view()}
            </div>
            <Show when=move || choice.preset.get() == "other">
                <label class="field">
                    <span>{t!(i18n, "reporter.fuse_other_value")}</span>
                    <input type="number" inputmode="numeric" min="6" max="250" step="1"
                        prop:value=move || choice.other.get()
                        on:input=move |ev| choice.other.set(event_target_value(&ev))
                        aria-invalid=move || error.with(|e| e.as_ref().and_then(|e| e.field()) == Some("main_fuse_a")).then_some("true") />
                </label>
            </Show>
            <small class="muted">{t!(i18n, "reporter.fuse_help")}</small>
        </fieldset>
    }
}

#[component]
fn MonitorField(
    site: Memo<Option<WizardSite>>,
    monitor_id: RwSignal<Option<i64>>,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <fieldset class="field">
            <legend>{t!(i18n, "reporter.monitor")}</legend>
            {move || site.get().map(|s| s.monitors.into_iter().map(|(id, name, total)| view! {
                <label class="radio">
                    <input type="radio" name="monitor" value=id.to_string()
                        prop:checked=move || monitor_id.get() == Some(id)
                        on:change=move |_| monitor_id.set(Some(id)) />
                    <span>
                        <strong>{name}</strong>
                        {total.then(|| view! { <small class="muted">{t!(i18n, "monitor.total")}</small> })}
                    </span>
                </label>
            }).collect_view())}
            <small class="muted">{t!(i18n, "reporter.monitor_help")}</small>
        </fieldset>
    }
}

#[component]
fn Wizard(options: WizardOptions, wanted_site: Option<i64>) -> impl IntoView {
    let i18n = use_i18n();
    let free_licences = options.free_charge_amps_licences;
    let sites = StoredValue::new(options.sites);
    let first_site = sites.with_value(|list| {
        wanted_site
            .filter(|id| list.iter().any(|s| s.id == *id))
            .or_else(|| list.iter().find(|s| !s.monitors.is_empty()).map(|s| s.id))
            .or_else(|| list.first().map(|s| s.id))
            .unwrap_or_default()
    });
    let step = RwSignal::new(Step::Kind);
    let kind = RwSignal::new(None::<ReporterKind>);
    let site_id = RwSignal::new(first_site);
    let site = Memo::new(move |_| {
        let id = site_id.get();
        sites.with_value(|list| list.iter().find(|s| s.id == id).cloned())
    });
    let name = RwSignal::new(String::new());
    let credentials = RwSignal::new(None::<NewCredentials>);
    let fuse = FuseChoice::new(site.get_untracked().map_or(20, |s| s.main_fuse_a));
    let monitor_id = RwSignal::new(None::<i64>);
    let create_token_url = RwSignal::new(String::new());
    let update_url = RwSignal::new(String::new());
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    // A new site brings its own fuse and total-consumption monitor as the defaults.
    Effect::new(move |previous: Option<i64>| {
        let id = site_id.get();
        if previous != Some(id)
            && let Some(s) = site.get_untracked()
        {
            // The first run keeps the defaults made above; a change of site brings its own.
            if previous.is_some() {
                let f = FuseChoice::new(s.main_fuse_a);
                fuse.preset.set(f.preset.get_untracked());
                fuse.other.set(f.other.get_untracked());
            }
            monitor_id.set(s.monitors.first().map(|m| m.0));
        }
        id
    });

    let input = move || ReporterInput {
        site_id: site_id.get().to_string(),
        kind: kind
            .get()
            .map(|k| k.as_str().to_string())
            .unwrap_or_default(),
        name: name.get(),
        serial: credentials.get().map(|c| c.serial).unwrap_or_default(),
        main_fuse_a: fuse.value(),
        monitor_id: monitor_id.get().map(|m| m.to_string()).unwrap_or_default(),
        create_token_url: create_token_url.get(),
        update_url: update_url.get(),
        username: username.get(),
        password: password.get(),
    };
    let local_error = RwSignal::new(None::<AppError>);
    let get_credentials = ServerAction::<api::NewReporterCredentials>::new();
    let save = ServerAction::<api::CreateReporter>::new();
    let save_error = action_error(save);
    let credentials_error = action_error(get_credentials);
    let error = Signal::derive(move || {
        local_error
            .get()
            .or_else(|| credentials_error.get())
            .or_else(|| save_error.get())
    });
    Effect::new(move || {
        if let Some(Ok(c)) = get_credentials.value().get() {
            credentials.set(Some(c));
        }
    });
    let navigate = use_navigate();
    Effect::new(move || {
        if let Some(Ok(id)) = save.value().get() {
            navigate(
                &format!("/settings/reporters/{id}?created=1"),
                Default::default(),
            );
        }
    });
    let invalid = |e: FieldError| {
        Some(AppError::Invalid {
            field: e.field.into(),
            key: e.key.into(),
        })
    };
    let next = move |_| {
        save.value().set(None);
        let current = step.get_untracked();
        let checked = if kind.get_untracked().is_none() {
            Err(FieldError::new("kind", "error.reporter_kind_invalid"))
        } else if current == Step::Kind
            && site.get_untracked().is_none_or(|s| s.monitors.is_empty())
        {
            Err(FieldError::new(
                "site_id",
                "error.reporter_site_without_monitor",
            ))
        } else {
            input().check_step(current, false)
        };
        match checked {
            Ok(()) => {
                local_error.set(None);
                step.set(current.next());
            }
            Err(e) => local_error.set(invalid(e)),
        }
    };
    let back = move |_| {
        local_error.set(None);
        save.value().set(None);
        step.update(|s| *s = s.previous());
    };
    let choose_kind = move |k: ReporterKind| {
        let suggested_before = kind.get_untracked().map(|k| i18n.t(k.suggested_name_key()));
        kind.set(Some(k));
        local_error.set(None);
        // Suggest a name unless one was typed.
        if name.get_untracked().trim().is_empty()
            || suggested_before.as_deref() == Some(name.get_untracked().as_str())
        {
            name.set(i18n.t(k.suggested_name_key()));
        }
    };
    let several_sites = sites.with_value(|l| l.len() > 1);
    let field_invalid = move |f: &'static str| {
        move || {
            error
                .with(|e| e.as_ref().and_then(|e| e.field()) == Some(f))
                .then_some("true")
        }
    };

    view! {
        <ol class="steps" aria-label=move || i18n.t("wizard.title")>
            {Step::ALL.into_iter().map(|s| view! {
                <li class:done=move || s < step.get() aria-current=move || (s == step.get()).then_some("step")>
                    <span class="step-number">{s.number()}</span>
                    <span class="step-name">{move || i18n.t(step_key(s, kind.get()))}</span>
                </li>
            }).collect_view()}
        </ol>
        <h3 data-testid="wizard-step">
            {move || i18n.t_with("wizard.step_of", &[("n", &step.get().number().to_string()), ("total", "6")])}
            ": "
            {move || i18n.t(step_key(step.get(), kind.get()))}
        </h3>
        <FormError error />
        <div class="stack">
            // 1. The type (and the site, when there are several).
            <Show when=move || step.get() == Step::Kind>
                {several_sites.then(|| view! {
                    <label class="field">
                        <span>{t!(i18n, "monitor.site")}</span>
                        <select on:change=move |ev| { if let Ok(id) = event_target_value(&ev).parse() { site_id.set(id) } } aria-invalid=field_invalid("site_id")>
                            {sites.get_value().into_iter().map(|s| view! {
                                <option value=s.id.to_string() selected=s.id == first_site>{s.name}</option>
                            }).collect_view()}
                        </select>
                    </label>
                })}
                <Show when=move || site.get().is_some_and(|s| s.monitors.is_empty())>
                    <div class="alert alert-error" data-testid="no-monitor">
                        <p>{t!(i18n, "wizard.no_monitor")}</p>
                        <a href="/settings/monitors" class="btn btn-secondary">{t!(i18n, "site.add_monitor")}</a>
                    </div>
                </Show>
                <fieldset class="field">
                    <legend>{t!(i18n, "wizard.kind")}</legend>
                    <label class="radio" class:disabled=free_licences == 0>
                        <input type="radio" name="kind" value="charge_amps" disabled=free_licences == 0
                            prop:checked=move || kind.get() == Some(ReporterKind::ChargeAmps)
                            on:change=move |_| choose_kind(ReporterKind::ChargeAmps) />
                        <span>
                            <strong>{t!(i18n, "reporters.charge_amps")}</strong>
                            {if free_licences == 0 {
                                view! {
                                    <small class="muted" data-testid="licence-needed">{t!(i18n, "wizard.charge_amps_needs_licence")}</small>
                                    <a href="/settings/licences" class="btn btn-small btn-secondary">{t!(i18n, "reporters.get_licence")}</a>
                                }.into_any()
                            } else {
                                view! { <small class="muted">{move || i18n.t_with("wizard.charge_amps_help", &[("n", &free_licences.to_string())])}</small> }.into_any()
                            }}
                        </span>
                    </label>
                    <label class="radio">
                        <input type="radio" name="kind" value="open_reporter"
                            prop:checked=move || kind.get() == Some(ReporterKind::OpenReporter)
                            on:change=move |_| choose_kind(ReporterKind::OpenReporter) />
                        <span>
                            <strong>{t!(i18n, "reporters.open_reporter")}</strong>
                            <small class="muted">{t!(i18n, "wizard.open_reporter_help")}</small>
                        </span>
                    </label>
                </fieldset>
            </Show>
            // 2. A name.
            <Show when=move || step.get() == Step::Name>
                <label class="field">
                    <span>{t!(i18n, "reporter.name")}</span>
                    <input maxlength="100" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) aria-invalid=field_invalid("name") />
                </label>
            </Show>
            // 3. Charge Amps: serial number and PIN. Open Reporter: the partner's endpoints.
            <Show when=move || step.get() == Step::Link && kind.get() == Some(ReporterKind::ChargeAmps)>
                {move || match credentials.get() {
                    Some(c) => view! { <PartnerCredentials credentials=c /> }.into_any(),
                    None => view! {
                        <p>{t!(i18n, "wizard.credentials_intro")}</p>
                        <div class="actions">
                            <button type="button" class="btn btn-primary" disabled=move || get_credentials.pending().get()
                                on:click=move |_| { local_error.set(None); get_credentials.dispatch(api::NewReporterCredentials {}); }>
                                {t!(i18n, "wizard.get_credentials")}
                            </button>
                        </div>
                    }.into_any(),
                }}
            </Show>
            <Show when=move || step.get() == Step::Link && kind.get() == Some(ReporterKind::OpenReporter)>
                <p class="muted">{t!(i18n, "wizard.partner_intro")}</p>
                <label class="field">
                    <span>{t!(i18n, "reporter.create_token_url")}</span>
                    <input type="url" inputmode="url" autocomplete="off" placeholder="https://" prop:value=move || create_token_url.get() on:input=move |ev| create_token_url.set(event_target_value(&ev)) aria-invalid=field_invalid("create_token_url") />
                </label>
                <label class="field">
                    <span>{t!(i18n, "reporter.update_url")}</span>
                    <input type="url" inputmode="url" autocomplete="off" placeholder="https://" prop:value=move || update_url.get() on:input=move |ev| update_url.set(event_target_value(&ev)) aria-invalid=field_invalid("update_url") />
                </label>
                <label class="field">
                    <span>{t!(i18n, "reporter.username")}</span>
                    <input autocomplete="off" prop:value=move || username.get() on:input=move |ev| username.set(event_target_value(&ev)) aria-invalid=field_invalid("username") />
                </label>
                <label class="field">
                    <span>{t!(i18n, "reporter.password")}</span>
                    <input type="password" autocomplete="new-password" prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev)) aria-invalid=field_invalid("password") />
                </label>
            </Show>
            // 4. The main fuse.
            <Show when=move || step.get() == Step::Fuse>
                <FuseField choice=fuse error />
            </Show>
            // 5. The monitor that measures total consumption.
            <Show when=move || step.get() == Step::Monitor>
                <MonitorField site monitor_id />
            </Show>
            // 6. Save.
            <Show when=move || step.get() == Step::Save>
                <dl class="summary" data-testid="summary">
                    <div><dt>{t!(i18n, "wizard.kind")}</dt><dd>{move || kind.get().map(|k| i18n.t(k.name_key())).unwrap_or_default()}</dd></div>
                    <div><dt>{t!(i18n, "reporter.name")}</dt><dd>{move || name.get()}</dd></div>
                    <div><dt>{t!(i18n, "monitor.site")}</dt><dd>{move || site.get().map(|s| s.name).unwrap_or_default()}</dd></div>
                    {move || credentials.get().filter(|_| kind.get() == Some(ReporterKind::ChargeAmps)).map(|c| view! {
                        <div><dt>{t!(i18n, "reporter.serial")}</dt><dd>{c.serial}</dd></div>
                    })}
                    <div><dt>{t!(i18n, "reporter.main_fuse")}</dt><dd>{move || format!("{} A", fuse.value())}</dd></div>
                    <div><dt>{t!(i18n, "reporter.monitor")}</dt><dd>{move || {
                        let id = monitor_id.get();
                        site.get().and_then(|s| s.monitors.into_iter().find(|m| Some(m.0) == id)).map(|m| m.1).unwrap_or_default()
                    }}</dd></div>
                </dl>
            </Show>
            <div class="actions wizard-actions">
                <Show when=move || step.get() != Step::Kind>
                    <button type="button" class="btn btn-secondary" on:click=back>{t!(i18n, "wizard.back")}</button>
                </Show>
                <Show
                    when=move || step.get() == Step::Save
                    fallback=move || view! { <button type="button" class="btn btn-primary" on:click=next>{t!(i18n, "wizard.next")}</button> }
                >
                    <button type="button" class="btn btn-primary" disabled=move || save.pending().get()
                        on:click=move |_| { local_error.set(None); save.dispatch(api::CreateReporter { reporter: input() }); }>
                        {t!(i18n, "common.save")}
                    </button>
                </Show>
            </div>
        </div>
    }
}

// ---------------------------------------------------------------------------------------------
// A reporter's page

fn reporter_id() -> impl Fn() -> Option<i64> + Copy + Send + Sync {
    let params = use_params_map();
    move || params.read().get("id").and_then(|id| id.parse().ok())
}

/// `/settings/reporters/:id`: status, serial and PIN, edit, pause, new PIN, delete.
#[component]
pub fn ReporterPage() -> impl IntoView {
    let i18n = use_i18n();
    let id = reporter_id();
    let update = ServerAction::<api::UpdateReporter>::new();
    let pause = ServerAction::<api::PauseReporter>::new();
    let new_pin = ServerAction::<api::RegenerateReporterPin>::new();
    let delete = ServerAction::<api::DeleteReporter>::new();
    let reporter = crate::codec::resource(
        move || {
            (
                id(),
                update.version().get(),
                pause.version().get(),
                new_pin.version().get(),
            )
        },
        |(id, ..)| async move {
            match id {
                Some(id) => api::get_reporter(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    let options = crate::codec::resource(|| (), |_| api::reporter_options());
    let charging = crate::codec::resource(id, |id| async move {
        match id {
            Some(id) => api::reporter_charging(id).await,
            None => Err(AppError::NotFound),
        }
    });
    let navigate = use_navigate();
    Effect::new(move || {
        if let Some(Ok(())) = delete.value().get() {
            navigate("/settings/reporters", Default::default());
        }
    });
    let created = use_query_map().read_untracked().get("created").is_some();
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let options = options.await;
                let charging = charging.await.ok();
                match reporter.await {
                    Ok((now, r)) => {
                        let sites = options.map(|o| o.sites).unwrap_or_default();
                        let site = sites.into_iter().find(|s| s.id == r.site_id);
                        let id = r.id;
                        let adaptive = charging
                            .filter(|_| r.kind == ReporterKind::ChargeAmps)
                            .map(|view| view! {
                                <section class="card"><crate::charging::AdaptiveCharging reporter_id=id view /></section>
                            });
                        view! { <ReporterDetails now reporter=r site created update pause new_pin delete /> {adaptive} }.into_any()
                    }
                    Err(error) => {
                        let title = if error == AppError::NotFound { "error.not_found_title" } else { "error.generic_title" };
                        view! {
                        <section class="card" data-testid="load-error">
                            <h2>{move || i18n.t(title)}</h2>
                            <p>{error.message(i18n)}</p>
                            <a href="/settings/reporters">{t!(i18n, "reporters.back")}</a>
                        </section>
                    }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn ReporterDetails(
    now: i64,
    reporter: Reporter,
    site: Option<WizardSite>,
    created: bool,
    update: ServerAction<api::UpdateReporter>,
    pause: ServerAction<api::PauseReporter>,
    new_pin: ServerAction<api::RegenerateReporterPin>,
    delete: ServerAction<api::DeleteReporter>,
) -> impl IntoView {
    let i18n = use_i18n();
    let live = LiveReporters::new(now, Some(reporter.site_id));
    let id = reporter.id;
    let kind = reporter.kind;
    let paused = reporter.paused;
    let name = RwSignal::new(reporter.name.clone());
    let fuse = FuseChoice::new(reporter.main_fuse_a);
    let monitor_id = RwSignal::new(Some(reporter.monitor_id));
    let create_token_url = RwSignal::new(reporter.create_token_url.clone().unwrap_or_default());
    let update_url = RwSignal::new(reporter.update_url.clone().unwrap_or_default());
    let username = RwSignal::new(reporter.username.clone().unwrap_or_default());
    let password = RwSignal::new(String::new());
    let site_memo = Memo::new(move |_| site.clone());
    let input = move || ReporterInput {
        site_id: String::new(),
        kind: String::new(),
        name: name.get(),
        serial: String::new(),
        main_fuse_a: fuse.value(),
        monitor_id: monitor_id.get().map(|m| m.to_string()).unwrap_or_default(),
        create_token_url: create_token_url.get(),
        update_url: update_url.get(),
        username: username.get(),
        password: password.get(),
    };
    let error = action_error(update);
    let saved = move || matches!(update.value().get(), Some(Ok(())));
    let confirm_pin = RwSignal::new(false);
    let confirm_delete = RwSignal::new(false);
    let credentials = reporter.pin.clone().map(|pin| NewCredentials {
        serial: reporter.serial.clone(),
        pin,
    });
    let field_invalid = move |f: &'static str| {
        move || {
            error
                .with(|e| e.as_ref().and_then(|e| e.field()) == Some(f))
                .then_some("true")
        }
    };
    let title = reporter.name.clone();
    view! {
        <div class="page-head">
            <div>
                <h2 data-testid="reporter-name">{title}</h2>
                <p class="muted">{move || i18n.t(kind.name_key())}" · "{reporter.site_name.clone()}</p>
            </div>
        </div>
        {created.then(|| view! { <p class="alert alert-ok" role="status">{t!(i18n, "reporter.created")}</p> })}
        <section class="card">
            <p class="reporter-status-line"><StatusLine reporter=reporter.clone() live /></p>
            <div class="actions">
                <button type="button" class="btn btn-secondary" disabled=move || pause.pending().get()
                    on:click=move |_| { pause.dispatch(api::PauseReporter { id, paused: !paused }); }>
                    {move || i18n.t(if paused { "reporter.resume" } else { "reporter.pause" })}
                </button>
            </div>
        </section>
        {credentials.map(|c| view! {
            <section class="card" data-testid="partner-box">
                <h3>{t!(i18n, "reporter.in_partner")}</h3>
                <PartnerCredentials credentials=c />
                {move || match new_pin.value().get() {
                    Some(Ok(_)) => view! { <p class="alert alert-ok" role="status">{t!(i18n, "reporter.new_pin_done")}</p> }.into_any(),
                    _ => ().into_any(),
                }}
                {move || if confirm_pin.get() {
                    view! {
                        <div class="confirm" role="alertdialog">
                            <p>{t!(i18n, "reporter.new_pin_confirm")}</p>
                            <div class="actions">
                                <button type="button" class="btn btn-danger" on:click=move |_| { confirm_pin.set(false); new_pin.dispatch(api::RegenerateReporterPin { id }); }>
                                    {t!(i18n, "reporter.new_pin")}
                                </button>
                                <button type="button" class="btn btn-secondary" on:click=move |_| confirm_pin.set(false)>{t!(i18n, "common.cancel")}</button>
                            </div>
                        </div>
                    }.into_any()
                } else {
                    view! {
                        <button type="button" class="btn btn-secondary" on:click=move |_| confirm_pin.set(true)>{t!(i18n, "reporter.new_pin")}</button>
                    }.into_any()
                }}
            </section>
        })}
        <section class="card form-card">
            <h3>{t!(i18n, "reporter.edit")}</h3>
            <div class="stack">
                <FormError error />
                {move || saved().then(|| view! { <p class="alert alert-ok" role="status">{t!(i18n, "common.saved")}</p> })}
                <label class="field">
                    <span>{t!(i18n, "reporter.name")}</span>
                    <input maxlength="100" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) aria-invalid=field_invalid("name") />
                </label>
                {(kind == ReporterKind::OpenReporter).then(|| view! {
                    <label class="field">
                        <span>{t!(i18n, "reporter.create_token_url")}</span>
                        <input type="url" prop:value=move || create_token_url.get() on:input=move |ev| create_token_url.set(event_target_value(&ev)) aria-invalid=field_invalid("create_token_url") />
                    </label>
                    <label class="field">
                        <span>{t!(i18n, "reporter.update_url")}</span>
                        <input type="url" prop:value=move || update_url.get() on:input=move |ev| update_url.set(event_target_value(&ev)) aria-invalid=field_invalid("update_url") />
                    </label>
                    <label class="field">
                        <span>{t!(i18n, "reporter.username")}</span>
                        <input prop:value=move || username.get() on:input=move |ev| username.set(event_target_value(&ev)) aria-invalid=field_invalid("username") />
                    </label>
                    <label class="field">
                        <span>{t!(i18n, "reporter.password")}</span>
                        <input type="password" autocomplete="new-password" placeholder=move || i18n.t("reporter.password_keep") prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev)) aria-invalid=field_invalid("password") />
                    </label>
                })}
                <FuseField choice=fuse error />
                <MonitorField site=site_memo monitor_id />
                <div class="actions">
                    <button type="button" class="btn btn-primary" disabled=move || update.pending().get()
                        on:click=move |_| { update.dispatch(api::UpdateReporter { id, reporter: input() }); }>
                        {t!(i18n, "common.save")}
                    </button>
                </div>
            </div>
        </section>
        <section class="card danger-zone">
            <h3>{t!(i18n, "reporter.delete_title")}</h3>
            <p class="muted">{move || i18n.t(if kind == ReporterKind::ChargeAmps { "reporter.delete_frees_licence" } else { "reporter.delete_hint" })}</p>
            {move || if confirm_delete.get() {
                view! {
                    <div class="confirm" role="alertdialog">
                        <p>{t!(i18n, "reporter.delete_confirm")}</p>
                        <div class="actions">
                            <button type="button" class="btn btn-danger" on:click=move |_| { delete.dispatch(api::DeleteReporter { id }); }>
                                {t!(i18n, "reporter.delete_permanently")}
                            </button>
                            <button type="button" class="btn btn-secondary" on:click=move |_| confirm_delete.set(false)>{t!(i18n, "common.cancel")}</button>
                        </div>
                    </div>
                }.into_any()
            } else {
                view! { <button type="button" class="btn btn-danger-outline" on:click=move |_| confirm_delete.set(true)>{t!(i18n, "common.delete")}</button> }.into_any()
            }}
        </section>
    }
}
