//! Small building blocks shared by the pages.

use leptos::form::ActionForm;
use leptos::prelude::*;
#[cfg(not(bundle))]
use leptos_router::components::A;
use model::site::{DEFAULT_TIME_ZONE, STANDARD_MAIN_FUSES_A};
use model::{Account, PriceArea, Role, SiteDetails};

use crate::api;
use crate::error::AppError;
use crate::i18n::{Lang, use_i18n};
use crate::t;

/// The error of the last submission, if any, as an alert the screen reader announces.
#[component]
pub fn FormError(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        error.get().map(|e| {
            view! {
                <p class="alert alert-error" role="alert" data-testid="form-error">
                    {e.message(i18n)}
                </p>
            }
        })
    }
}

/// The error of an action's last result.
pub fn action_error<I, O>(action: ServerAction<I>) -> Signal<Option<AppError>>
where
    I: leptos::server_fn::ServerFn<Output = O, Error = AppError> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    Signal::derive(move || action.value().get().and_then(|r| r.err()))
}

/// `aria-invalid` for the field the last error was about.
pub fn invalid_if(
    error: Signal<Option<AppError>>,
    field: &'static str,
) -> impl Fn() -> Option<&'static str> + Send + Sync {
    move || {
        error.with(|e| {
            e.as_ref()
                .and_then(|e| e.field())
                .filter(|f| *f == field)
                .map(|_| "true")
        })
    }
}

/// A form that calls a server function whose arguments are all text (log in, sign up, the
/// language and theme switches). Before the wasm has loaded (a slow phone) the browser posts
/// it and the server answers with the page; once hydrated, the wasm reads the fields and the
/// button pressed and dispatches `action`. Unlike leptos's `ActionForm` it sends JSON
/// ([`crate::codec::Json`]), so the small bundles carry no form-encoding library.
#[component]
pub fn PostForm<S>(action: ServerAction<S>, children: Children) -> impl IntoView
where
    S: leptos::server_fn::ServerFn + serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
    S::Error: Send + Sync + 'static,
{
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        match form_args::<S>(&ev) {
            Some(args) => {
                action.dispatch(args);
            }
            // Fields that are not the function's arguments: a mistake of ours, said plainly.
            None => action.value().set(Some(Err(S::Error::from_server_fn_error(
                leptos::server_fn::error::ServerFnErrorErr::Args("form".into()),
            )))),
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = action;
    };
    view! {
        <form method="post" action=S::url() on:submit=submit>
            {children()}
        </form>
    }
}

/// The fields of the form `ev` submits, with the button that submitted it, as `S`.
#[cfg(feature = "hydrate")]
fn form_args<S: serde::de::DeserializeOwned>(ev: &leptos::ev::SubmitEvent) -> Option<S> {
    use wasm_bindgen::JsCast;
    let form: web_sys::HtmlFormElement = ev.target()?.dyn_into().ok()?;
    let data = web_sys::FormData::new_with_form(&form).ok()?;
    if let Some(button) = ev
        .submitter()
        .and_then(|b| b.dyn_into::<web_sys::HtmlButtonElement>().ok())
        .filter(|b| !b.name().is_empty())
    {
        data.append_with_str(&button.name(), &button.value()).ok()?;
    }
    let object = js_sys::Object::from_entries(&data).ok()?;
    serde_wasm_bindgen::from_value(object.into()).ok()
}

/// Svenska / English. Works without JavaScript too (a plain form post that sets the cookie).
#[component]
pub fn LangSwitch() -> impl IntoView {
    let i18n = use_i18n();
    let action = ServerAction::<api::SetLanguage>::new();
    Effect::new(move || {
        if let Some(Ok(lang)) = action.value().get() {
            i18n.lang.set(lang);
            #[cfg(feature = "hydrate")]
            if let Some(root) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.document_element())
            {
                let _ = root.set_attribute("lang", lang.code());
            }
        }
    });
    view! {
        <PostForm action attr:class="lang-switch" attr:aria-label=t!(i18n, "menu.language")>
            {Lang::ALL
                .into_iter()
                .map(|lang| {
                    view! {
                        <button
                            type="submit"
                            name="lang"
                            value=lang.code()
                            lang=lang.code()
                            class="chip"
                            aria-pressed=move || (i18n.lang.get() == lang).to_string()
                        >
                            {lang.native_name()}
                        </button>
                    }
                })
                .collect_view()}
        </PostForm>
    }
}

/// The bar at the top: brand, main navigation, account menu.
#[component]
pub fn Header(account: Account) -> impl IntoView {
    let i18n = use_i18n();
    let auth = crate::use_auth();
    let log_out = ServerAction::<api::LogOut>::new();
    Effect::new(move || {
        if let Some(Ok(())) = log_out.value().get() {
            // A whole new page: nothing of the account stays in the browser's memory.
            #[cfg(feature = "hydrate")]
            if let Some(window) = web_sys::window() {
                let _ = window.location().assign("/login");
                return;
            }
            auth.refresh();
        }
    });
    let role_key = match account.role {
        Role::Owner => "role.owner",
        Role::Installer => "role.installer",
    };
    view! {
        <header class="topbar">
            <a href="/" class="brand">
                <span class="brand-mark" aria-hidden="true">"⚡"</span>
                "Ampwise"
            </a>
            <nav class="mainnav" aria-label=t!(i18n, "nav.main")>
                <NavLink href="/" exact=true>
                    {t!(i18n, "nav.overview")}
                </NavLink>
                <NavLink href="/settings">{t!(i18n, "nav.settings")}</NavLink>
            </nav>
            <details class="account-menu">
                <summary data-testid="account-menu" aria-label=t!(i18n, "menu.account")>
                    <span class="avatar" aria-hidden="true">
                        {account.email.chars().next().unwrap_or('?').to_uppercase().to_string()}
                    </span>
                </summary>
                <div class="menu-panel">
                    <p class="menu-email">{account.email.clone()}</p>
                    <p class="muted">{move || i18n.t(role_key)}</p>
                    <p class="menu-label">{t!(i18n, "menu.language")}</p>
                    <LangSwitch />
                    <p class="menu-label">{t!(i18n, "menu.theme")}</p>
                    <crate::theme::ThemeSwitch />
                    <PostForm action=log_out>
                        <button type="submit" class="btn btn-secondary btn-block">
                            {t!(i18n, "menu.log_out")}
                        </button>
                    </PostForm>
                </div>
            </details>
        </header>
    }
}

/// A link of the main navigation or the settings' tabs, marked (`aria-current`) while its page
/// is open: leptos_router's `<A>`, which follows the route.
#[cfg(not(bundle))]
#[component]
pub fn NavLink(
    href: &'static str,
    #[prop(optional)] exact: bool,
    children: Children,
) -> impl IntoView {
    view! {
        <A href exact>
            {children()}
        </A>
    }
}

/// A browser bundle has no router (bundle.rs) and draws the page the browser loaded: the same
/// link, a page load, marked as `<A>` marks it for that page (its own page, or with `exact`
/// unset a page under it).
#[cfg(bundle)]
#[component]
pub fn NavLink(
    href: &'static str,
    #[prop(optional)] exact: bool,
    children: Children,
) -> impl IntoView {
    let here = web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .unwrap_or_default();
    let here = here.trim_end_matches('/');
    let there = href.trim_end_matches('/');
    let open =
        here == there || !exact && here.starts_with(there) && here[there.len()..].starts_with('/');
    view! {
        <a href=href aria-current=open.then_some("page")>
            {children()}
        </a>
    }
}

/// A friendly empty page: what is missing and what to do about it.
#[component]
pub fn EmptyState(
    title: &'static str,
    body: &'static str,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class="empty card">
            <h2>{move || i18n.t(title)}</h2>
            <p class="muted">{move || i18n.t(body)}</p>
            {children.map(|c| c())}
        </section>
    }
}

/// Time zones offered first; any IANA name is accepted.
const SUGGESTED_TIME_ZONES: [&str; 8] = [
    "Europe/Stockholm",
    "Europe/Oslo",
    "Europe/Copenhagen",
    "Europe/Helsinki",
    "Europe/Berlin",
    "Europe/London",
    "Europe/Amsterdam",
    "UTC",
];

/// The site form's fields (inside an ActionForm); `site` fills them when editing.
#[component]
pub fn SiteFields(
    site: Option<SiteDetails>,
    error: Signal<Option<AppError>>,
    #[prop(optional)] ask_customer: bool,
) -> impl IntoView {
    let i18n = use_i18n();
    let value = |f: fn(&SiteDetails) -> String| site.as_ref().map(f).unwrap_or_default();
    let area = site
        .as_ref()
        .map(|s| s.price_area)
        .unwrap_or(PriceArea::SE3);
    let time_zone = site
        .as_ref()
        .map(|s| s.time_zone.clone())
        .unwrap_or_else(|| DEFAULT_TIME_ZONE.to_string());
    let fuse = site
        .as_ref()
        .map(|s| s.main_fuse_a.to_string())
        .unwrap_or_default();
    view! {
        <label class="field">
            <span>{t!(i18n, "site.name")}</span>
            <input
                name="site[name]"
                required
                maxlength="100"
                value=value(|s| s.name.clone())
                placeholder=t!(i18n, "site.name_placeholder")
                aria-invalid=invalid_if(error, "name")
            />
        </label>
        <label class="field">
            <span>{t!(i18n, "site.address")}</span>
            <input
                name="site[address]"
                maxlength="300"
                autocomplete="street-address"
                value=value(|s| s.address.clone())
                aria-invalid=invalid_if(error, "address")
            />
        </label>
        <div class="field-row">
            <label class="field">
                <span>{t!(i18n, "site.main_fuse")}</span>
                <input
                    name="site[main_fuse_a]"
                    type="number"
                    inputmode="numeric"
                    min="6"
                    max="400"
                    step="1"
                    required
                    list="main-fuses"
                    value=fuse
                    aria-invalid=invalid_if(error, "main_fuse_a")
                />
                <datalist id="main-fuses">
                    {STANDARD_MAIN_FUSES_A.iter().map(|a| view! { <option value=a.to_string()></option> }).collect_view()}
                </datalist>
                <small class="muted">{t!(i18n, "site.main_fuse_help")}</small>
            </label>
            <label class="field">
                <span>{t!(i18n, "site.price_area")}</span>
                <select name="site[price_area]" aria-invalid=invalid_if(error, "price_area")>
                    {PriceArea::ALL
                        .into_iter()
                        .map(|a| {
                            let key = match a {
                                PriceArea::SE1 => "area.se1",
                                PriceArea::SE2 => "area.se2",
                                PriceArea::SE3 => "area.se3",
                                PriceArea::SE4 => "area.se4",
                            };
                            view! {
                                <option value=a.as_str() selected=a == area>
                                    {move || format!("{} – {}", a.as_str(), i18n.t(key))}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
        </div>
        <label class="field">
            <span>{t!(i18n, "site.time_zone")}</span>
            <input
                name="site[time_zone]"
                list="time-zones"
                value=time_zone
                autocomplete="off"
                aria-invalid=invalid_if(error, "time_zone")
            />
            <datalist id="time-zones">
                {SUGGESTED_TIME_ZONES.iter().map(|tz| view! { <option value=*tz></option> }).collect_view()}
            </datalist>
        </label>
        {ask_customer
            .then(|| {
                view! {
                    <label class="field">
                        <span>{t!(i18n, "site.customer_email")}</span>
                        <input
                            name="customer_email"
                            type="email"
                            required
                            aria-invalid=invalid_if(error, "customer_email")
                        />
                        <small class="muted">{t!(i18n, "site.customer_email_help")}</small>
                    </label>
                }
            })}
    }
}

/// The page's `<title>`, translated: follows the language in the browser. On the server the text
/// is fixed when the page renders, because leptos_meta reads the title after the render, outside
/// the request's reactive arena; a signal read there may find another request's arena and panic
/// ("already been disposed"), which the concurrent-render test in `server/tests/ssr_stress.rs`
/// caught.
#[component]
pub fn PageTitle(key: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    #[cfg(feature = "ssr")]
    let text = leptos::text_prop::TextProp::from(i18n.t(key));
    #[cfg(not(feature = "ssr"))]
    let text = move || i18n.t(key);
    view! { <leptos_meta::Title text /> }
}

/// The site's grid operator and tariff (Settings → Site), for its capacity charge: the tariff
/// list follows the chosen operator.
#[component]
pub fn SiteGridForm(
    site_id: i64,
    grid: model::charging::SiteGrid,
    operators: Vec<model::charging::GridOperatorChoice>,
    action: ServerAction<api::SetSiteGrid>,
) -> impl IntoView {
    let i18n = use_i18n();
    let error = action_error(action);
    let saved = move || matches!(action.value().get(), Some(Ok(_)));
    let chosen = RwSignal::new(grid.operator.clone().unwrap_or_default());
    let current = grid.operator.clone().unwrap_or_default();
    let current_tariff = grid.tariff.clone().unwrap_or_default();
    let guard_mode = grid.guard.mode();
    let guard_kw = grid.guard.kw().map(|kw| kw.to_string()).unwrap_or_default();
    let operators = StoredValue::new(operators);
    let operator_options = operators.with_value(|all| {
        all.iter()
            .map(|op| {
                view! {
                    <option value=op.id.clone() selected=op.id == current>
                        {op.name.clone()}
                    </option>
                }
            })
            .collect_view()
    });
    let tariff_options = move || {
        let tariffs = operators.with_value(|all| {
            all.iter()
                .find(|op| op.id == chosen.get())
                .map(|op| op.tariffs.clone())
                .unwrap_or_default()
        });
        tariffs
            .into_iter()
            .map(|t| {
                let selected = t == current_tariff;
                let label = t.clone();
                view! { <option value=t selected=selected>{label}</option> }
            })
            .collect_view()
    };
    view! {
        <section class="card form-card" data-testid="site-grid">
            <h2>{t!(i18n, "site.grid_title")}</h2>
            <p class="muted">{t!(i18n, "site.grid_help")}</p>
            <ActionForm action attr:class="stack">
                <FormError error />
                {move || saved().then(|| view! { <p class="alert alert-ok" role="status">{t!(i18n, "common.saved")}</p> })}
                <input type="hidden" name="site_id" value=site_id.to_string() />
                <div class="field-row">
                    <label class="field">
                        <span>{t!(i18n, "site.grid_operator")}</span>
                        <select
                            name="grid[operator]"
                            aria-invalid=invalid_if(error, "operator")
                            on:change=move |ev| chosen.set(event_target_value(&ev))
                        >
                            <option value="" selected=current.is_empty()>{t!(i18n, "site.grid_operator_none")}</option>
                            {operator_options}
                        </select>
                    </label>
                    <label class="field">
                        <span>{t!(i18n, "site.grid_tariff")}</span>
                        <select name="grid[tariff]" aria-invalid=invalid_if(error, "tariff")>
                            <option value="">{t!(i18n, "site.grid_tariff_first")}</option>
                            {tariff_options}
                        </select>
                    </label>
                </div>
                <div class="field-row">
                    <label class="field">
                        <span>{t!(i18n, "site.guard")}</span>
                        <select name="grid[guard]" aria-invalid=invalid_if(error, "guard")>
                            <option value="off" selected=guard_mode == "off">{t!(i18n, "site.guard_off")}</option>
                            <option value="billed" selected=guard_mode == "billed">{t!(i18n, "site.guard_billed")}</option>
                            <option value="cap" selected=guard_mode == "cap">{t!(i18n, "site.guard_cap")}</option>
                        </select>
                    </label>
                    <label class="field">
                        <span>{t!(i18n, "site.guard_kw")}</span>
                        <input name="grid[guard_kw]" inputmode="decimal" value=guard_kw aria-invalid=invalid_if(error, "guard_kw") />
                    </label>
                </div>
                <p class="muted">{t!(i18n, "site.guard_help")}</p>
                <div class="actions">
                    <button type="submit" class="btn btn-primary" disabled=move || action.pending().get()>{t!(i18n, "site.grid_save")}</button>
                </div>
            </ActionForm>
        </section>
    }
}

/// What the household pays per kWh on top of the spot price (Settings → Site): with it, prices
/// are shown as the household pays them.
#[component]
pub fn SitePricesForm(
    site_id: i64,
    prices: model::charging::SitePrices,
    action: ServerAction<api::SetSitePrices>,
) -> impl IntoView {
    let i18n = use_i18n();
    let error = action_error(action);
    let saved = move || matches!(action.value().get(), Some(Ok(_)));
    let value = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let fields: [(&'static str, &'static str, &'static str, String); 4] = [
        (
            "markup_ore",
            "site.price_markup",
            "prices[markup_ore]",
            value(prices.markup_ore),
        ),
        (
            "grid_fee_ore",
            "site.price_grid_fee",
            "prices[grid_fee_ore]",
            value(prices.grid_fee_ore),
        ),
        (
            "energy_tax_ore",
            "site.price_energy_tax",
            "prices[energy_tax_ore]",
            value(prices.energy_tax_ore),
        ),
        (
            "vat_percent",
            "site.price_vat",
            "prices[vat_percent]",
            value(prices.vat_percent),
        ),
    ];
    view! {
        <section class="card form-card" data-testid="site-prices">
            <h2>{t!(i18n, "site.prices_title")}</h2>
            <p class="muted">{t!(i18n, "site.prices_help")}</p>
            <ActionForm action attr:class="stack">
                <FormError error />
                {move || saved().then(|| view! { <p class="alert alert-ok" role="status">{t!(i18n, "common.saved")}</p> })}
                <input type="hidden" name="site_id" value=site_id.to_string() />
                <div class="field-row">
                    {fields.into_iter().map(|(field, label, name, value)| view! {
                        <label class="field">
                            <span>{move || i18n.t(label)}</span>
                            <input name=name inputmode="decimal" value=value aria-invalid=invalid_if(error, field) />
                        </label>
                    }).collect_view()}
                </div>
                <div class="actions">
                    <button type="submit" class="btn btn-primary" disabled=move || action.pending().get()>{t!(i18n, "site.prices_save")}</button>
                </div>
            </ActionForm>
        </section>
    }
}
