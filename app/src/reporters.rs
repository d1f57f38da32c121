//! Reporter pages: Settings → Reporters (the list), the wizard that adds one (the integration
//! guide's steps), a reporter's own page (serial and PIN, edit, pause, new PIN, delete), and the
//! cards on the overview and a site's page. Statuses stay true while a page is open: the facts
//! arrive as Server-Sent Events and the status is derived from them and the clock each second.

use std::collections::HashMap;

use leptos::prelude::*;
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

/// The reporter's partner by name: Charge Amps, or the host an Open Reporter posts to.
pub fn partner_name(reporter: &Reporter) -> String {
    match reporter.kind {
        ReporterKind::ChargeAmps => "Charge Amps".to_string(),
        ReporterKind::OpenReporter => reporter
            .update_url
            .as_deref()
            .and_then(|url| url.split_once("://"))
            .and_then(|(_, rest)| rest.split(['/', '?', '#']).next())
            .filter(|host| !host.is_empty())
            .map_or_else(|| "Open Reporter".to_string(), str::to_string),
    }
}

/// After this long of refusals the page asks to compare the serial and PIN (ms).
const COMPARE_AFTER_MS: i64 = 120_000;

/// Whether the partner has refused the credentials for two minutes.
fn refused_long(now: i64, facts: &Facts) -> bool {
    facts.problem == Some(model::reporter::Problem::Refused)
        && facts
            .trouble_since
            .is_some_and(|since| now - since >= COMPARE_AFTER_MS)
}

/// The line under a status: when the last update was accepted, or what is wrong, in words that
/// name the reporter's own partner.
fn status_detail(
    i18n: I18n,
    status: ReporterStatus,
    facts: &Facts,
    reporter: &Reporter,
    now: i64,
) -> String {
    let time = |ts: Option<i64>| ts.map(|ts| reporter.clock.time(ts));
    let partner = partner_name(reporter);
    match status {
        ReporterStatus::Active => time(facts.accepted_at)
            .map(|t| i18n.t_with("reporter.accepted_at", &[("time", &t)]))
            .unwrap_or_default(),
        ReporterStatus::WaitingForPartner => {
            let (count_key, next_key, compare_key) = match reporter.kind {
                ReporterKind::ChargeAmps => (
                    "reporter.refused_count_charge_amps",
                    "reporter.waiting_detail_charge_amps",
                    "reporter.refused_compare_charge_amps",
                ),
                ReporterKind::OpenReporter => (
                    "reporter.refused_count_open_reporter",
                    "reporter.waiting_detail_open_reporter",
                    "reporter.refused_compare_open_reporter",
                ),
            };
            let count = i18n.t_with(
                count_key,
                &[
                    ("partner", &partner),
                    ("n", &facts.failures.max(1).to_string()),
                    ("time", &time(facts.failed_at).unwrap_or_default()),
                ],
            );
            let then = if refused_long(now, facts) {
                i18n.t_with(compare_key, &[("partner", &partner)])
            } else {
                i18n.t_with(next_key, &[("partner", &partner)])
            };
            format!("{count} {then}")
        }
        ReporterStatus::PartnerUnreachable => {
            let problem = facts.problem.as_ref().map(|p| {
                let (key, n) = p.key();
                i18n.t_with(key, &[("n", n.as_deref().unwrap_or_default())])
            });
            // When the trouble began, not the last retry.
            let since = time(facts.trouble_since.or(facts.failed_at))
                .map(|t| i18n.t_with("reporter.failed_at", &[("time", &t)]))
                .unwrap_or_default();
            format!("{} {since}", problem.unwrap_or_default())
        }
        ReporterStatus::MeterSilent => {
            let silence = reporter.silence();
            let silent_ms = silence
                .silent_for(now, facts.reading_ts)
                .unwrap_or_default();
            let left_ms = (silence.offline_after_ms - silent_ms).max(0);
            i18n.t_with(
                "reporter.meter_silent_detail",
                &[
                    ("s", &(silent_ms / 1000).to_string()),
                    ("left", &((left_ms + 999) / 1000).to_string()),
                ],
            )
        }
        ReporterStatus::MonitorOffline => match time(facts.reading_ts) {
            Some(t) => i18n.t_with("reporter.monitor_offline_since", &[("time", &t)]),
            None => i18n.t("reporter.monitor_never"),
        },
        ReporterStatus::Paused => i18n.t("reporter.paused_detail"),
        ReporterStatus::Connecting => i18n.t("reporter.connecting_detail"),
    }
}

/// A reporter's status, kept current. With `credentials` (the reporter's own page), a partner
/// that keeps refusing them shows them beside the hint, to compare and copy.
#[component]
fn StatusLine(
    reporter: Reporter,
    live: LiveReporters,
    #[prop(default = None)] credentials: Option<NewCredentials>,
) -> impl IntoView {
    let i18n = use_i18n();
    let partner = partner_name(&reporter);
    let reporter = StoredValue::new(reporter);
    let state = Memo::new(move |_| {
        let now = live.now.get();
        reporter.with_value(|r| {
            let (facts, paused) = live.facts(r);
            let status = ReporterStatus::derive(now, paused, &facts, r.silence());
            (status, facts, now)
        })
    });
    let compare = move || {
        let (status, facts, now) = state.get();
        (status == ReporterStatus::WaitingForPartner && refused_long(now, &facts))
            .then(|| credentials.clone())
            .flatten()
    };
    view! {
        <span class=move || format!("status {}", state.get().0.class()) data-testid="reporter-status">
            <span class="dot" aria-hidden="true"></span>
            {move || i18n.t_with(state.get().0.key(), &[("partner", &partner)])}
        </span>
        <span class="muted status-detail" data-testid="reporter-status-detail">
            {move || {
                let (status, facts, now) = state.get();
                reporter.with_value(|r| status_detail(i18n, status, &facts, r, now))
            }}
        </span>
        {move || compare().map(|credentials| view! {
            <div data-testid="compare-credentials"><PartnerCredentials credentials /></div>
        })}
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

/// Settings → Reporters → Add new Reporter. The step and the site are in the URL
/// (`?site=ID&step=N`), so Back and Forward move between steps and a reload stays on the step;
/// the fields and the reserved serial number and PIN are kept on the server as a draft per
/// account and site.
#[component]
pub fn NewReporterPage() -> impl IntoView {
    let i18n = use_i18n();
    let options = crate::codec::resource(|| (), |_| api::reporter_options());
    let query = crate::address::use_query();
    let url_site = Memo::new(move |_| query.read().get("site").and_then(|s| s.parse::<i64>().ok()));
    let url_step = Memo::new(move |_| {
        query
            .read()
            .get("step")
            .and_then(|s| s.parse::<usize>().ok())
            .and_then(|n| Step::ALL.get(n.wrapping_sub(1)).copied())
    });
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
                        Ok(options) => view! { <Wizard options url_site url_step /> }.into_any(),
                        Err(error) => view! { <p class="alert alert-error" data-testid="load-error">{error.message(i18n)}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The wizard's URL for `site` at `step`.
fn wizard_url(site: Option<i64>, step: Step) -> String {
    match site {
        Some(site) => format!("/settings/reporters/new?site={site}&step={}", step.number()),
        None => format!("/settings/reporters/new?step={}", step.number()),
    }
}

/// Wizards left part-way: continue one, or discard it.
#[component]
fn Drafts(drafts: Vec<model::reporter::ReporterDraft>) -> impl IntoView {
    let i18n = use_i18n();
    let discard = ServerAction::<api::DiscardReporterDraft>::new();
    let discarded = RwSignal::new(Vec::<i64>::new());
    Effect::new(move || {
        if let Some(Ok(())) = discard.value().get()
            && let Some(site) = discard.input().get().map(|i| i.site_id)
        {
            discarded.update(|d| d.push(site));
        }
    });
    view! {
        <div class="alert alert-info drafts" data-testid="drafts">
            <p>{t!(i18n, "wizard.drafts_intro")}</p>
            <ul class="list">
                {drafts.into_iter().map(|d| {
                    let site = d.site_id;
                    let step = Step::ALL.get(usize::from(d.fields.step).wrapping_sub(1)).copied().unwrap_or(Step::Kind);
                    let serial = d.credentials.as_ref().map(|c| c.serial.clone());
                    let what = if d.fields.name.is_empty() { d.site_name.clone() } else { format!("{} · {}", d.site_name, d.fields.name) };
                    view! {
                        <li class="draft" data-testid="draft" class:hidden=move || discarded.with(|d| d.contains(&site))>
                            <span>
                                <strong>{what}</strong>
                                " "
                                <span class="muted">
                                    {move || i18n.t_with("wizard.draft_at_step", &[("n", &step.number().to_string())])}
                                    {serial.clone().map(|s| format!(" · {s}"))}
                                </span>
                            </span>
                            <span class="actions">
                                <a class="btn btn-small btn-primary" href=wizard_url(Some(site), step) rel="external">{t!(i18n, "wizard.continue")}</a>
                                <button type="button" class="btn btn-small btn-secondary"
                                    on:click=move |_| { discard.dispatch(api::DiscardReporterDraft { site_id: site }); }>
                                    {t!(i18n, "wizard.discard")}
                                </button>
                            </span>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </div>
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
            {move || site.get().map(|s| s.monitors.into_iter().map(|m| {
                let id = m.id;
                view! {
                    <label class="radio">
                        <input type="radio" name="monitor" value=id.to_string()
                            prop:checked=move || monitor_id.get() == Some(id)
                            on:change=move |_| monitor_id.set(Some(id)) />
                        <span>
                            <strong>{m.name}</strong>
                            {m.total.then(|| view! { <small class="muted">{t!(i18n, "monitor.total")}</small> })}
                        </span>
                    </label>
                }
            }).collect_view())}
            <small class="muted">{t!(i18n, "reporter.monitor_help")}</small>
        </fieldset>
    }
}

#[component]
fn Wizard(
    options: WizardOptions,
    url_site: Memo<Option<i64>>,
    url_step: Memo<Option<Step>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let free_licences = options.free_charge_amps_licences;
    let next_licence = options.next_licence.clone();
    let sites = StoredValue::new(options.sites);
    let drafts = StoredValue::new(options.drafts);
    let known = move |id: i64| sites.with_value(|list| list.iter().any(|s| s.id == id));
    // Opened from a site (its page or card), the wizard is for that site; with one site, that
    // one; otherwise the installer chooses.
    let only_site = sites.with_value(|l| (l.len() == 1).then(|| l[0].id));
    let fixed_site = url_site
        .get_untracked()
        .filter(|id| known(*id))
        .or(only_site);
    let site_id = RwSignal::new(fixed_site);
    let site = Memo::new(move |_| {
        let id = site_id.get()?;
        sites.with_value(|list| list.iter().find(|s| s.id == id).cloned())
    });
    let draft = drafts.with_value(|list| {
        fixed_site.and_then(|site| list.iter().find(|d| d.site_id == site).cloned())
    });
    // The step is the URL's, when there is a draft to go on with; a wizard without one starts
    // at the beginning.
    let resumed = draft.is_some() && url_step.get_untracked().is_some();
    let step = Memo::new(move |_| {
        if resumed || url_step.get().is_some_and(|s| s != Step::Kind) && site_id.get().is_some() {
            url_step.get().unwrap_or(Step::Kind)
        } else {
            Step::Kind
        }
    });
    let restored = draft
        .clone()
        .filter(|_| resumed)
        .map(|d| d.fields)
        .unwrap_or_default();
    let kind = RwSignal::new(ReporterKind::parse(&restored.kind).ok());
    let name = RwSignal::new(restored.name.clone());
    let credentials = RwSignal::new(draft.as_ref().and_then(|d| d.credentials.clone()));
    let fuse = FuseChoice::new(
        restored
            .main_fuse_a
            .parse()
            .ok()
            .or_else(|| site.get_untracked().map(|s| s.main_fuse_a))
            .unwrap_or(20),
    );
    let monitor_id = RwSignal::new(restored.monitor_id.parse::<i64>().ok().or_else(|| {
        site.get_untracked()
            .and_then(|s| s.monitors.first().map(|m| m.id))
    }));
    let create_token_url = RwSignal::new(restored.create_token_url.clone());
    let update_url = RwSignal::new(restored.update_url.clone());
    let username = RwSignal::new(restored.username.clone());
    let password = RwSignal::new(String::new());
    let allow_second = RwSignal::new(false);
    // A site chosen here brings its own fuse, total-consumption monitor and draft.
    let choose_site = move |id: i64| {
        site_id.set(Some(id));
        if let Some(s) = site.get_untracked() {
            let f = FuseChoice::new(s.main_fuse_a);
            fuse.preset.set(f.preset.get_untracked());
            fuse.other.set(f.other.get_untracked());
            monitor_id.set(s.monitors.first().map(|m| m.id));
        }
        credentials.set(drafts.with_value(|list| {
            list.iter()
                .find(|d| d.site_id == id)
                .and_then(|d| d.credentials.clone())
        }));
    };

    let input = move || ReporterInput {
        site_id: site_id.get().map(|s| s.to_string()).unwrap_or_default(),
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
        allow_second: allow_second.get(),
    };
    let fields = move |step: Step| model::reporter::DraftFields {
        step: step.number() as u8,
        kind: kind
            .get_untracked()
            .map(|k| k.as_str().to_string())
            .unwrap_or_default(),
        name: name.get_untracked(),
        main_fuse_a: fuse.value(),
        monitor_id: monitor_id
            .get_untracked()
            .map(|m| m.to_string())
            .unwrap_or_default(),
        create_token_url: create_token_url.get_untracked(),
        update_url: update_url.get_untracked(),
        username: username.get_untracked(),
    };
    let local_error = RwSignal::new(None::<AppError>);
    let get_credentials = ServerAction::<api::ReporterDraftCredentials>::new();
    let save_draft = ServerAction::<api::SaveReporterDraft>::new();
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
    let navigate = crate::address::use_go();
    let go = {
        let navigate = navigate.clone();
        move |to: Step| navigate(&wizard_url(site_id.get_untracked(), to))
    };
    Effect::new(move || {
        if let Some(Ok(id)) = save.value().get() {
            navigate(&format!("/settings/reporters/{id}?created=1"));
        }
    });
    let invalid = |e: FieldError| {
        Some(AppError::Invalid {
            field: e.field.into(),
            key: e.key.into(),
        })
    };
    let next = {
        let go = go.clone();
        move |_| {
            save.value().set(None);
            let current = step.get_untracked();
            let checked = if site_id.get_untracked().is_none() {
                Err(FieldError::new("site_id", "error.reporter_site_choose"))
            } else if kind.get_untracked().is_none() {
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
                    let to = current.next();
                    if let Some(site_id) = site_id.get_untracked() {
                        save_draft.dispatch(api::SaveReporterDraft {
                            site_id,
                            fields: fields(to),
                        });
                    }
                    go(to);
                }
                Err(e) => local_error.set(invalid(e)),
            }
        }
    };
    let back = {
        let go = go.clone();
        move |_| {
            local_error.set(None);
            save.value().set(None);
            go(step.get_untracked().previous());
        }
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
    let site_fixed = fixed_site.is_some() && url_site.get_untracked().is_some();
    let field_invalid = move |f: &'static str| {
        move || {
            error
                .with(|e| e.as_ref().and_then(|e| e.field()) == Some(f))
                .then_some("true")
        }
    };
    // Reporters of the chosen kind already on the chosen monitor: asked about before Save.
    let same_kind_on_monitor = Memo::new(move |_| {
        let (Some(k), Some(m)) = (kind.get(), monitor_id.get()) else {
            return Vec::new();
        };
        site.get()
            .and_then(|s| s.monitors.into_iter().find(|x| x.id == m))
            .map(|x| {
                x.reporters
                    .into_iter()
                    .filter(|(_, rk, _)| *rk == k)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });
    let other_drafts: Vec<_> = drafts.with_value(|list| {
        list.iter()
            .filter(|d| !(resumed && Some(d.site_id) == fixed_site))
            .cloned()
            .collect()
    });
    let show_drafts = url_step.get_untracked().is_none() && !other_drafts.is_empty();

    view! {
        {show_drafts.then(|| view! { <Drafts drafts=other_drafts.clone() /> })}
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
            // 1. The type (and the site, when there are several and it was not opened from one).
            <Show when=move || step.get() == Step::Kind>
                {(several_sites && !site_fixed).then(|| view! {
                    <label class="field">
                        <span>{t!(i18n, "monitor.site")}</span>
                        <select on:change=move |ev| { if let Ok(id) = event_target_value(&ev).parse() { choose_site(id) } } aria-invalid=field_invalid("site_id")>
                            <option value="" selected=fixed_site.is_none() disabled=true>{t!(i18n, "wizard.choose_site")}</option>
                            {sites.get_value().into_iter().map(|s| view! {
                                <option value=s.id.to_string() selected=Some(s.id) == fixed_site>{s.name}</option>
                            }).collect_view()}
                        </select>
                    </label>
                })}
                {site_fixed.then(|| view! {
                    <p class="muted" data-testid="wizard-site">{move || i18n.t_with("wizard.for_site", &[("site", &site.get().map(|s| s.name).unwrap_or_default())])}</p>
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
                                on:click=move |_| {
                                    local_error.set(None);
                                    if let Some(site_id) = site_id.get_untracked() {
                                        get_credentials.dispatch(api::ReporterDraftCredentials { site_id });
                                    }
                                }>
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
                    <small class="muted">{t!(i18n, "wizard.password_not_kept")}</small>
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
                        <div><dt>{t!(i18n, "reporter.serial")}</dt><dd class="serial">{c.serial}</dd></div>
                    })}
                    {
                        let licence = next_licence.clone();
                        move || (kind.get() == Some(ReporterKind::ChargeAmps)).then(|| {
                            let licence = licence.clone();
                            view! {
                                <div data-testid="summary-licence"><dt>{t!(i18n, "wizard.takes_licence")}</dt><dd>{licence}</dd></div>
                            }
                        })
                    }
                    <div><dt>{t!(i18n, "reporter.main_fuse")}</dt><dd>{move || format!("{} A", fuse.value())}</dd></div>
                    <div><dt>{t!(i18n, "reporter.monitor")}</dt><dd>{move || {
                        let id = monitor_id.get();
                        site.get().and_then(|s| s.monitors.into_iter().find(|m| Some(m.id) == id)).map(|m| m.name).unwrap_or_default()
                    }}</dd></div>
                </dl>
                {move || {
                    let existing = same_kind_on_monitor.get();
                    (!existing.is_empty()).then(|| view! {
                        <div class="alert alert-error" data-testid="monitor-has-one">
                            <p>{t!(i18n, "wizard.monitor_has_one")}</p>
                            <ul>
                                {existing.into_iter().map(|(id, _, name)| view! {
                                    <li><a href=format!("/settings/reporters/{id}")>{name}</a></li>
                                }).collect_view()}
                            </ul>
                            <label class="checkbox">
                                <input type="checkbox" prop:checked=move || allow_second.get()
                                    on:change=move |ev| allow_second.set(event_target_checked(&ev)) />
                                <span>{t!(i18n, "wizard.save_second")}</span>
                            </label>
                        </div>
                    })
                }}
            </Show>
            <div class="actions wizard-actions">
                <Show when=move || step.get() != Step::Kind>
                    {let back = back.clone(); view! { <button type="button" class="btn btn-secondary" on:click=back>{t!(i18n, "wizard.back")}</button> }}
                </Show>
                <Show
                    when=move || step.get() == Step::Save
                    fallback=move || { let next = next.clone(); view! { <button type="button" class="btn btn-primary" on:click=next>{t!(i18n, "wizard.next")}</button> } }
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
    crate::address::use_id()
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
    let go = crate::address::use_go();
    Effect::new(move || {
        if let Some(Ok(())) = delete.value().get() {
            go("/settings/reporters");
        }
    });
    let created = crate::address::use_query()
        .read_untracked()
        .get("created")
        .is_some();
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
        allow_second: false,
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
        // What to do next after Save, until the partner accepts the first update.
        {created.then(|| {
            let banner = match kind {
                ReporterKind::ChargeAmps => i18n.t("reporter.created"),
                ReporterKind::OpenReporter => {
                    i18n.t_with("reporter.created_open_reporter", &[("partner", &partner_name(&reporter))])
                }
            };
            let watched = reporter.clone();
            let active = move || {
                let (facts, paused) = live.facts(&watched);
                ReporterStatus::derive(live.now.get(), paused, &facts, watched.silence())
                    == ReporterStatus::Active
            };
            view! {
                <Show when=move || !active()>
                    <p class="alert alert-ok" role="status" data-testid="created-banner">{banner.clone()}</p>
                </Show>
            }
        })}
        <section class="card">
            <p class="reporter-status-line"><StatusLine reporter=reporter.clone() live credentials=credentials.clone() /></p>
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
