//! One component per route.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
#[cfg(not(bundle))]
use leptos_router::components::Outlet;
use model::{Account, PriceArea, Role, SiteAccess, SiteDetails, SiteSummary};

use crate::api;
use crate::components::{
    EmptyState, FormError, Header, LangSwitch, NavLink, PageTitle, PostForm, SiteFields,
    action_error, invalid_if,
};
use crate::error::AppError;
use crate::i18n::use_i18n;
use crate::{t, use_auth};

fn loading() -> impl IntoView {
    let i18n = use_i18n();
    view! { <p class="muted loading">{t!(i18n, "common.loading")}</p> }
}

/// A failed load, in words (a missing or foreign site is "not found").
#[component]
fn LoadError(error: AppError) -> impl IntoView {
    let i18n = use_i18n();
    let title = if error == AppError::NotFound {
        "error.not_found_title"
    } else {
        "error.generic_title"
    };
    view! {
        <section class="card" data-testid="load-error">
            <h1>{move || i18n.t(title)}</h1>
            <p>{error.message(i18n)}</p>
            <a href="/">{t!(i18n, "nav.back_to_overview")}</a>
        </section>
    }
}

/// The page frame of the signed-in app around the page its route chose.
#[cfg(not(bundle))]
#[component]
pub fn AppLayout() -> impl IntoView {
    view! {
        <AppFrame>
            <Outlet />
        </AppFrame>
    }
}

/// The page frame of the signed-in app (the header, its menu) around `children`, the page.
#[component]
pub fn AppFrame(children: Children) -> impl IntoView {
    let auth = use_auth();
    // The server lets only signed-in visitors in; this follows a sign-out or an expired session
    // noticed in the browser to the login page, which brings them back here (in place of this
    // page, which cannot be shown to them).
    let here = crate::address::use_here();
    let go = crate::address::use_go_instead();
    let to_login = move || go(&crate::login_path(&here()));
    Effect::new(move || {
        if auth.signed_in() == Some(false) {
            to_login();
        }
    });
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match auth.me.await {
                    Ok(Some(account)) => view! { <Header account /> }.into_any(),
                    _ => ().into_any(),
                }
            })}
        </Transition>
        <main class="main">{children()}</main>
    }
}

/// The frame of the signed-out pages (log in, sign up).
#[component]
fn AuthFrame(title: &'static str, children: Children) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <PageTitle key=title />
        <main class="auth">
            <div class="auth-brand">
                <span class="brand-mark" aria-hidden="true">"⚡"</span>
                "Ampwise"
            </div>
            <p class="muted tagline">{t!(i18n, "app.tagline")}</p>
            <section class="card auth-card">
                <h1>{move || i18n.t(title)}</h1>
                {children()}
            </section>
            <LangSwitch />
        </main>
    }
}

/// `path` with the current page's query, so `?next=…` survives switching between logging in and
/// signing up.
fn keep_query(path: &'static str) -> impl Fn() -> String + Send + Sync + 'static {
    let here = crate::address::use_here();
    move || crate::with_query(path, here().split_once('?').map_or("", |(_, query)| query))
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let i18n = use_i18n();
    let auth = use_auth();
    let action = ServerAction::<api::LogIn>::new();
    let error = action_error(action);
    Effect::new(move || {
        if let Some(Ok(_)) = action.value().get() {
            auth.refresh();
        }
    });
    crate::go_on_when_signed_in();
    view! {
        <AuthFrame title="auth.log_in_title">
            <PostForm action attr:class="stack">
                <FormError error />
                <label class="field">
                    <span>{t!(i18n, "auth.email")}</span>
                    <input type="email" name="email" autocomplete="username" required aria-invalid=invalid_if(error, "email") />
                </label>
                <label class="field">
                    <span>{t!(i18n, "auth.password")}</span>
                    <input type="password" name="password" autocomplete="current-password" required />
                </label>
                <button type="submit" class="btn btn-primary btn-block" disabled=move || action.pending().get()>
                    {t!(i18n, "auth.log_in")}
                </button>
            </PostForm>
            <p class="switch-auth">
                {t!(i18n, "auth.no_account")} " " <a href=keep_query("/signup")>{t!(i18n, "auth.sign_up")}</a>
            </p>
        </AuthFrame>
    }
}

#[component]
pub fn SignupPage() -> impl IntoView {
    let i18n = use_i18n();
    let auth = use_auth();
    let action = ServerAction::<api::SignUp>::new();
    let error = action_error(action);
    Effect::new(move || {
        if let Some(Ok(_)) = action.value().get() {
            auth.refresh();
        }
    });
    crate::go_on_when_signed_in();
    // The answer is the same whether the address was new or had an account: when nobody is
    // signed in after it, it had one, and this was not its password.
    let existing =
        move || matches!(action.value().get(), Some(Ok(()))) && auth.signed_in() == Some(false);
    view! {
        <AuthFrame title="auth.sign_up_title">
            <PostForm action attr:class="stack">
                <FormError error />
                <Show when=existing>
                    <p class="form-error" role="alert" data-testid="sign-up-existing">
                        {t!(i18n, "auth.sign_up_existing")} " "
                        <a href=keep_query("/login")>{t!(i18n, "auth.log_in")}</a>
                    </p>
                </Show>
                <label class="field">
                    <span>{t!(i18n, "auth.email")}</span>
                    <input type="email" name="email" autocomplete="email" required aria-invalid=invalid_if(error, "email") />
                </label>
                <label class="field">
                    <span>{t!(i18n, "auth.password")}</span>
                    <input
                        type="password"
                        name="password"
                        autocomplete="new-password"
                        required
                        minlength=model::account::MIN_PASSWORD_LEN.to_string()
                        aria-invalid=invalid_if(error, "password")
                    />
                    <small class="muted">{t!(i18n, "auth.password_help")}</small>
                </label>
                <fieldset class="field roles">
                    <legend>{t!(i18n, "auth.i_am")}</legend>
                    <label class="radio">
                        <input type="radio" name="role" value="owner" checked />
                        <span>
                            <strong>{t!(i18n, "role.owner")}</strong>
                            <small class="muted">{t!(i18n, "role.owner_help")}</small>
                        </span>
                    </label>
                    <label class="radio">
                        <input type="radio" name="role" value="installer" />
                        <span>
                            <strong>{t!(i18n, "role.installer")}</strong>
                            <small class="muted">{t!(i18n, "role.installer_help")}</small>
                        </span>
                    </label>
                </fieldset>
                <button type="submit" class="btn btn-primary btn-block" disabled=move || action.pending().get()>
                    {t!(i18n, "auth.sign_up")}
                </button>
            </PostForm>
            <p class="switch-auth">
                {t!(i18n, "auth.have_account")} " " <a href=keep_query("/login")>{t!(i18n, "auth.log_in")}</a>
            </p>
        </AuthFrame>
    }
}

fn area_key(area: PriceArea) -> &'static str {
    match area {
        PriceArea::SE1 => "area.se1",
        PriceArea::SE2 => "area.se2",
        PriceArea::SE3 => "area.se3",
        PriceArea::SE4 => "area.se4",
    }
}

#[component]
fn SiteCard(site: SiteSummary) -> impl IntoView {
    let i18n = use_i18n();
    let href = format!("/sites/{}", site.id);
    let installer = site.access == SiteAccess::Installer;
    view! {
        <li class="card site-card" data-testid="site-card">
            <a href=href>
                <h3>{site.name.clone()}</h3>
                <p class="muted">{site.address.clone()}</p>
                <p class="facts">
                    <span>{move || i18n.t_with("site.fuse_value", &[("amps", &site.main_fuse_a.to_string())])}</span>
                    <span>{move || format!("{} · {}", site.price_area.as_str(), i18n.t(area_key(site.price_area)))}</span>
                    {installer.then(|| view! { <span class="badge">{t!(i18n, "site.as_installer")}</span> })}
                </p>
            </a>
        </li>
    }
}

#[component]
pub fn OverviewPage() -> impl IntoView {
    let i18n = use_i18n();
    // An accepted invitation brings a site (its load, its chargers): everything is read again.
    let answer = ServerAction::<api::AnswerInvitation>::new();
    let answered = move || answer.version().get();
    let sites = crate::codec::resource(answered, |_| api::list_sites());
    let live = crate::codec::resource(answered, |_| api::overview_live());
    let reporters = crate::codec::resource(answered, |_| api::site_reporters(None));
    let invitations = crate::codec::resource(answered, |_| api::site_invitations());
    let capacity = capacity_every_minute(|| Ok(None));
    view! {
        <PageTitle key="nav.overview" />
        <div class="page-head">
            <h1>{t!(i18n, "overview.title")}</h1>
            <a href="/settings/sites/new" class="btn btn-primary">
                {t!(i18n, "site.new")}
            </a>
        </div>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let invitations = invitations.await.unwrap_or_default();
                let invitations = (!invitations.is_empty())
                    .then(|| view! { <Invitations invitations answer /> });
                let sites = sites.await;
                let invited = invitations.is_some();
                let content = match sites {
                    // Invited to a site: accepting it is what to do, not creating another.
                    Ok(list) if list.is_empty() && invited => ().into_any(),
                    Ok(list) if list.is_empty() => {
                        view! {
                            <EmptyState title="overview.empty_title" body="overview.empty_body">
                                <a href="/settings/sites/new" class="btn btn-primary">
                                    {t!(i18n, "site.create_first")}
                                </a>
                            </EmptyState>
                        }
                            .into_any()
                    }
                    Ok(list) => {
                        let live = match live.await {
                            Ok(Some(snapshot)) => Some(view! { <crate::monitors::LivePanel live=Ok(Some(snapshot)) /> }),
                            _ => None,
                        };
                        let cards = reporters.await.ok().map(|(now, reporters)| {
                            view! { <crate::reporters::ReporterCards now reporters site=None /> }
                        });
                        view! {
                            {live}
                            {cards}
                            <CapacityTransition capacity />
                            <ul class="site-grid">
                                {list.into_iter().map(|site| view! { <SiteCard site /> }).collect_view()}
                            </ul>
                        }
                            .into_any()
                    }
                    Err(error) => view! { <LoadError error /> }.into_any(),
                };
                view! { {invitations} {content} }
            })}
        </Suspense>
    }
}

/// Sites installers have set up for this household: it accepts (the site becomes its own, the
/// installer keeps access) or declines.
#[component]
fn Invitations(
    invitations: Vec<model::site::SiteInvitation>,
    answer: ServerAction<api::AnswerInvitation>,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class="card" data-testid="invitations" aria-labelledby="invitations-title">
            <h2 id="invitations-title">{t!(i18n, "invitation.title")}</h2>
            <ul class="invitation-list">
                {invitations
                    .into_iter()
                    .map(|inv| {
                        let site_id = inv.site_id;
                        let installer = inv.installer_email.clone();
                        let site = inv.site_name.clone();
                        view! {
                            <li data-testid="invitation">
                                <p>
                                    {move || i18n.t_with("invitation.body", &[("installer", &installer), ("site", &site)])}
                                </p>
                                <p class="muted">{inv.address.clone()}</p>
                                <div class="actions">
                                    <button
                                        type="button"
                                        class="btn btn-primary"
                                        disabled=move || answer.pending().get()
                                        on:click=move |_| { answer.dispatch(api::AnswerInvitation { site_id, accept: true }); }
                                    >
                                        {t!(i18n, "invitation.accept")}
                                    </button>
                                    <button
                                        type="button"
                                        class="btn btn-secondary"
                                        disabled=move || answer.pending().get()
                                        on:click=move |_| { answer.dispatch(api::AnswerInvitation { site_id, accept: false }); }
                                    >
                                        {t!(i18n, "invitation.decline")}
                                    </button>
                                </div>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
            <p class="muted">{t!(i18n, "invitation.help")}</p>
        </section>
    }
}

/// The `:id` of the route, when it is a number.
fn site_id() -> impl Fn() -> Option<i64> + Copy + Send + Sync {
    crate::address::use_id()
}

async fn load_site(id: Option<i64>) -> Result<SiteDetails, AppError> {
    match id {
        Some(id) => api::get_site(id).await,
        None => Err(AppError::NotFound),
    }
}

#[component]
pub fn SitePage() -> impl IntoView {
    let i18n = use_i18n();
    let id = site_id();
    let site = crate::codec::resource(id, load_site);
    let live = crate::monitors::live_resource(id);
    let reporters = crate::codec::resource(id, |id| async move {
        match id {
            Some(id) => api::site_reporters(Some(id)).await,
            None => Err(AppError::NotFound),
        }
    });
    let capacity = capacity_every_minute(move || id().ok_or(AppError::NotFound).map(Some));
    view! {
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let live = live.await;
                let cards = reporters.await.ok().map(|(now, reporters)| {
                    view! { <crate::reporters::ReporterCards now reporters site=id() /> }
                });
                match site.await {
                    Ok(site) => {
                        let name = site.name.clone();
                        view! {
                            <Title text=name.clone() />
                            <div class="page-head">
                                <div>
                                    <h1 data-testid="site-name">{site.name.clone()}</h1>
                                    <p class="muted">{site.address.clone()}</p>
                                </div>
                                <div class="actions">
                                    <a href=format!("/settings/reporters/new?site={}", site.id) class="btn btn-secondary" data-testid="site-add-reporter">
                                        {t!(i18n, "reporters.add")}
                                    </a>
                                    <a href=format!("/settings/sites/{}", site.id) class="btn btn-secondary">
                                        {t!(i18n, "site.edit")}
                                    </a>
                                </div>
                            </div>
                            <crate::monitors::LivePanel live />
                            {cards}
                            <CapacityTransition capacity />
                            <dl class="facts-grid card">
                                <div>
                                    <dt>{t!(i18n, "site.main_fuse")}</dt>
                                    <dd data-testid="site-fuse">{format!("{} A", site.main_fuse_a)}</dd>
                                </div>
                                <div>
                                    <dt>{t!(i18n, "site.price_area")}</dt>
                                    <dd>{move || format!("{} – {}", site.price_area.as_str(), i18n.t(area_key(site.price_area)))}</dd>
                                </div>
                                <div>
                                    <dt>{t!(i18n, "site.time_zone")}</dt>
                                    <dd>{site.time_zone.clone()}</dd>
                                </div>
                            </dl>
                        }
                            .into_any()
                    }
                    Err(error) => view! { <LoadError error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

type CapacityResource = crate::codec::Res<Result<Option<model::charging::CapacityMonth>, AppError>>;

/// The capacity card's month, read again every minute while the page is open: the hour under way
/// moves with every reading. `site` is the site's id, `None` for the household's only site (the
/// overview), or an error for a page without a site.
fn capacity_every_minute(
    site: impl Fn() -> Result<Option<i64>, AppError> + Send + Sync + 'static,
) -> CapacityResource {
    let minute = RwSignal::new(0u32);
    #[cfg(feature = "hydrate")]
    {
        let ticker = set_interval_with_handle(
            move || minute.update(|m| *m += 1),
            std::time::Duration::from_secs(60),
        )
        .ok();
        on_cleanup(move || {
            if let Some(t) = ticker {
                t.clear();
            }
        });
    }
    crate::codec::resource(
        move || (site(), minute.get()),
        |(site, _)| async move { api::capacity_month(site?).await },
    )
}

/// The capacity card in a Transition of its own, so the page does not blink when it is read
/// again.
#[component]
fn CapacityTransition(capacity: CapacityResource) -> impl IntoView {
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                capacity
                    .await
                    .ok()
                    .flatten()
                    .map(|month| view! { <CapacityCard month /> })
            })}
        </Transition>
    }
}

/// This month's capacity charge as the grid operator counts it: the billed level so far and its
/// cost, the hour under way and where it lands at the present power, the counted hours.
#[component]
fn CapacityCard(month: model::charging::CapacityMonth) -> impl IntoView {
    let i18n = use_i18n();
    let kw = move |value: f64| format!("{} kW", i18n.num(value, 1));
    let operator = match &month.tariff {
        Some(tariff) => format!("{} · {tariff}", month.operator),
        None => month.operator.clone(),
    };
    let (billed, cost) = (month.billed_kw, month.cost_sek);
    let hour = month.hour.clone().map(|hour| {
        let key = if hour.counted {
            "capacity.hour_counted"
        } else {
            "capacity.hour_not_counted"
        };
        view! {
            <div>
                <dt>{t!(i18n, "capacity.hour")}</dt>
                <dd data-testid="capacity-hour">
                    {move || i18n.t_with("capacity.hour_value", &[
                        ("so_far", &kw(hour.so_far_kw)),
                        ("projected", &kw(hour.projected_kw)),
                    ])}
                    <small class="muted">" " {move || i18n.t(key)}</small>
                </dd>
            </div>
            {hour.guard_on.then(|| view! {
                <div>
                    <dt>{t!(i18n, "capacity.guard")}</dt>
                    <dd data-testid="capacity-guard">
                        {move || match hour.guard_kw {
                            Some(level) => i18n.t_with("capacity.guard_level", &[("level", &kw(level))]),
                            None => i18n.t("capacity.guard_free"),
                        }}
                    </dd>
                </div>
            })}
        }
    });
    let peaks = month
        .peaks
        .iter()
        .map(|peak| {
            let (local, value) = (peak.local.clone(), peak.kw);
            view! { <li>{local} " · " {move || kw(value)}</li> }
        })
        .collect_view();
    view! {
        <section class="card" data-testid="capacity">
            <h2>{t!(i18n, "capacity.title")}</h2>
            <p class="muted">{operator}</p>
            <dl class="facts-grid">
                <div>
                    <dt>{t!(i18n, "capacity.billed")}</dt>
                    <dd data-testid="capacity-billed">{move || kw(billed)}</dd>
                </div>
                <div>
                    <dt>{t!(i18n, "capacity.cost")}</dt>
                    <dd data-testid="capacity-cost">{move || crate::charging::money(i18n, cost)}</dd>
                </div>
                {hour}
            </dl>
            <p class="muted">{t!(i18n, "capacity.peaks")}</p>
            <ul data-testid="capacity-peaks">{peaks}</ul>
        </section>
    }
}

/// The settings' frame around the settings page its route chose.
#[cfg(not(bundle))]
#[component]
pub fn SettingsLayout() -> impl IntoView {
    view! {
        <SettingsFrame>
            <Outlet />
        </SettingsFrame>
    }
}

/// The settings' frame (their title and tabs) around `children`, a settings page.
#[component]
pub fn SettingsFrame(children: Children) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <PageTitle key="nav.settings" />
        <h1 class="visually-hidden">{t!(i18n, "nav.settings")}</h1>
        <nav class="tabs" aria-label=t!(i18n, "nav.settings")>
            <NavLink href="/settings/sites">{t!(i18n, "settings.site")}</NavLink>
            <NavLink href="/settings/monitors">{t!(i18n, "settings.monitors")}</NavLink>
            <NavLink href="/settings/licences">{t!(i18n, "settings.licences")}</NavLink>
            <NavLink href="/settings/reporters">{t!(i18n, "settings.reporters")}</NavLink>
        </nav>
        {children()}
    }
}

#[component]
pub fn SitesSettingsPage() -> impl IntoView {
    let i18n = use_i18n();
    let sites = crate::codec::resource(|| (), |_| api::list_sites());
    view! {
        <div class="page-head">
            <h2>{t!(i18n, "settings.sites_title")}</h2>
            <a href="/settings/sites/new" class="btn btn-primary">
                {t!(i18n, "site.new")}
            </a>
        </div>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match sites.await {
                    Ok(list) if list.is_empty() => {
                        view! { <EmptyState title="overview.empty_title" body="overview.empty_body" /> }.into_any()
                    }
                    Ok(list) => {
                        view! {
                            <ul class="list card">
                                {list
                                    .into_iter()
                                    .map(|site| {
                                        view! {
                                            <li>
                                                <a href=format!("/settings/sites/{}", site.id)>
                                                    <strong>{site.name.clone()}</strong>
                                                    <span class="muted">{site.address.clone()}</span>
                                                </a>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                        }
                            .into_any()
                    }
                    Err(error) => view! { <LoadError error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn NewSitePage() -> impl IntoView {
    let i18n = use_i18n();
    let auth = use_auth();
    let action = ServerAction::<api::CreateSite>::new();
    let error = action_error(action);
    let go = crate::address::use_go();
    Effect::new(move || {
        if let Some(Ok(id)) = action.value().get() {
            go(&format!("/sites/{id}"));
        }
    });
    let is_installer = move || {
        matches!(
            auth.me.get(),
            Some(Ok(Some(Account {
                role: Role::Installer,
                ..
            })))
        )
    };
    view! {
        <section class="card form-card">
            <h2>{t!(i18n, "site.new_title")}</h2>
            <ActionForm action attr:class="stack">
                <FormError error />
                {move || view! { <SiteFields site=None error ask_customer=is_installer() /> }}
                <div class="actions">
                    <button type="submit" class="btn btn-primary" disabled=move || action.pending().get()>
                        {t!(i18n, "site.create")}
                    </button>
                    <a href="/settings/sites" class="btn btn-secondary">
                        {t!(i18n, "common.cancel")}
                    </a>
                </div>
            </ActionForm>
        </section>
    }
}

/// The owner's actions on what a revoked installer left behind, made at the top of the page so
/// its resource can follow them.
#[derive(Clone, Copy)]
struct LeftBehindActions {
    keep: ServerAction<api::KeepLeftBehind>,
    pause: ServerAction<api::PauseReporter>,
    delete: ServerAction<api::DeleteReporter>,
    rotate: ServerAction<api::RotateMonitorToken>,
}

impl LeftBehindActions {
    fn new() -> Self {
        Self {
            keep: ServerAction::new(),
            pause: ServerAction::new(),
            delete: ServerAction::new(),
            rotate: ServerAction::new(),
        }
    }

    fn version(&self) -> usize {
        self.keep.version().get()
            + self.pause.version().get()
            + self.delete.version().get()
            + self.rotate.version().get()
    }
}

/// What installers no longer with access set up here and may still use: reporters that send the
/// site's readings where they chose, and device tokens they saw. One action each.
#[component]
fn LeftBehindCard(
    site_id: i64,
    left: Vec<model::site::LeftBehind>,
    actions: LeftBehindActions,
) -> impl IntoView {
    let i18n = use_i18n();
    let LeftBehindActions {
        keep,
        pause,
        delete,
        rotate,
    } = actions;
    let new_token = move || {
        rotate
            .value()
            .get()
            .and_then(Result::ok)
            .map(|device| view! { <crate::monitors::TokenPanel device /> })
    };
    let empty = left.is_empty();
    let accounts = left
        .into_iter()
        .map(|l| {
            let email = l.email.clone();
            let reporters = l
                .reporters
                .into_iter()
                .map(|r| {
                    let partner = r.partner.clone();
                    let id = r.id;
                    view! {
                        <li class="left-item" data-testid="left-reporter">
                            <span>
                                <strong>{r.name.clone()}</strong> " "
                                <span class="muted">
                                    {move || match &partner {
                                        Some(host) => i18n.t_with("access.left_sends_to", &[("partner", host)]),
                                        None => i18n.t("access.left_sends_to_charge_amps"),
                                    }}
                                    {r.paused.then(|| view! { " · " {t!(i18n, "reporter.status_paused")} })}
                                </span>
                            </span>
                            <span class="actions">
                                <button class="btn btn-small btn-secondary" on:click=move |_| {
                                    keep.dispatch(api::KeepLeftBehind { id: site_id, reporter_id: Some(id), monitor_id: None });
                                }>{t!(i18n, "access.left_keep")}</button>
                                {(!r.paused).then(|| view! {
                                    <button class="btn btn-small btn-secondary" on:click=move |_| {
                                        pause.dispatch(api::PauseReporter { id, paused: true });
                                    }>{t!(i18n, "reporter.pause")}</button>
                                })}
                                <button class="btn btn-small btn-danger-outline" on:click=move |_| {
                                    delete.dispatch(api::DeleteReporter { id });
                                }>{t!(i18n, "common.delete")}</button>
                            </span>
                        </li>
                    }
                })
                .collect_view();
            let monitors = l
                .monitors
                .into_iter()
                .map(|m| {
                    let id = m.id;
                    view! {
                        <li class="left-item" data-testid="left-monitor">
                            <span>
                                <strong>{m.name.clone()}</strong> " "
                                <span class="muted">{t!(i18n, "access.left_saw_token")}</span>
                            </span>
                            <span class="actions">
                                <button class="btn btn-small btn-secondary" on:click=move |_| {
                                    keep.dispatch(api::KeepLeftBehind { id: site_id, reporter_id: None, monitor_id: Some(id) });
                                }>{t!(i18n, "access.left_keep")}</button>
                                <button class="btn btn-small btn-primary" on:click=move |_| {
                                    rotate.dispatch(api::RotateMonitorToken { id });
                                }>{t!(i18n, "monitor.rotate")}</button>
                            </span>
                        </li>
                    }
                })
                .collect_view();
            view! {
                <div class="left-account">
                    <h3>{move || i18n.t_with("access.left_by", &[("email", &email)])}</h3>
                    <ul class="list">{reporters}{monitors}</ul>
                </div>
            }
        })
        .collect_view();
    view! {
        {new_token}
        {(!empty).then(|| view! {
            <section class="card" data-testid="left-behind">
                <h2>{t!(i18n, "access.left_title")}</h2>
                <p class="muted">{t!(i18n, "access.left_help")}</p>
                {accounts}
            </section>
        })}
    }
}

#[component]
pub fn EditSitePage() -> impl IntoView {
    let i18n = use_i18n();
    let id = site_id();
    let update = ServerAction::<api::UpdateSite>::new();
    let grant = ServerAction::<api::GrantAccess>::new();
    let revoke = ServerAction::<api::RevokeAccess>::new();
    let delete = ServerAction::<api::DeleteSite>::new();
    let site = crate::codec::resource(
        move || (id(), update.version().get()),
        |(id, _)| load_site(id),
    );
    let left_actions = LeftBehindActions::new();
    let left = crate::codec::resource(
        move || (id(), revoke.version().get(), left_actions.version()),
        |(id, _, _)| async move {
            match id {
                Some(id) => api::left_behind(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    let members = crate::codec::resource(
        move || (id(), grant.version().get(), revoke.version().get()),
        |(id, _, _)| async move {
            match id {
                Some(id) => api::site_members(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    let set_grid = ServerAction::<api::SetSiteGrid>::new();
    let grid = crate::codec::resource(
        move || (id(), set_grid.version().get()),
        |(id, _)| async move {
            match id {
                Some(id) => api::get_site_grid(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    let operators = crate::codec::resource(|| (), |_| api::grid_operators());
    let set_prices = ServerAction::<api::SetSitePrices>::new();
    let prices = crate::codec::resource(
        move || (id(), set_prices.version().get()),
        |(id, _)| async move {
            match id {
                Some(id) => api::get_site_prices(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    let go = crate::address::use_go();
    Effect::new(move || {
        if let Some(Ok(())) = delete.value().get() {
            go("/settings/sites");
        }
    });
    let update_error = action_error(update);
    let grant_error = action_error(grant);
    let saved = move || matches!(update.value().get(), Some(Ok(())));
    view! {
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let site = match site.await {
                    Ok(site) => site,
                    Err(error) => return view! { <LoadError error /> }.into_any(),
                };
                let owner = site.access == SiteAccess::Owner;
                let site_id = site.id;
                let name = site.name.clone();
                let owner_email = site.owner_email.clone();
                let invited = site.invited.clone().map(|email| view! {
                    <p class="alert alert-info" role="status" data-testid="invited">
                        {move || i18n.t_with("invitation.waiting", &[("email", &email)])}
                    </p>
                });
                let prices = prices.await.unwrap_or_default();
                let grid = grid.await.unwrap_or_default();
                let operators = operators.await.unwrap_or_default();
                // Only the owner may see it; anyone else's answer is an error, and nothing shows.
                let left = left.await.unwrap_or_default();
                let members_left = left.clone();
                let gone: Vec<_> = left.iter().filter(|l| !l.has_access).cloned().collect();
                view! {
                    <section class="card form-card">
                        <h2>{t!(i18n, "site.edit_title")}</h2>
                        <ActionForm action=update attr:class="stack">
                            <FormError error=update_error />
                            {move || saved().then(|| view! { <p class="alert alert-ok" role="status">{t!(i18n, "common.saved")}</p> })}
                            <input type="hidden" name="id" value=site_id.to_string() />
                            <SiteFields site=Some(site.clone()) error=update_error />
                            <div class="actions">
                                <button type="submit" class="btn btn-primary" disabled=move || update.pending().get()>
                                    {t!(i18n, "common.save")}
                                </button>
                                <a href=format!("/sites/{site_id}") class="btn btn-secondary">
                                    {t!(i18n, "site.view")}
                                </a>
                            </div>
                        </ActionForm>
                    </section>
                    <crate::components::SitePricesForm site_id prices action=set_prices />
                    <crate::components::SiteGridForm site_id grid operators action=set_grid />
                    <section class="card form-card" data-testid="access">
                        <h2>{t!(i18n, "access.title")}</h2>
                        <p class="muted">{move || i18n.t_with("access.owner_is", &[("email", &owner_email)])}</p>
                        {invited}
                        <Suspense fallback=loading>
                            {move || {
                                let members_left = members_left.clone();
                                Suspend::new(async move {
                                match members.await {
                                    Ok(list) if list.is_empty() => view! { <p class="muted">{t!(i18n, "access.none")}</p> }.into_any(),
                                    Ok(list) => {
                                        view! {
                                            <ul class="list">
                                                {list
                                                    .into_iter()
                                                    .map(|m| {
                                                        view! {
                                                            <li class="member">
                                                                <span>{m.email.clone()}</span>
                                                                {owner
                                                                    .then(|| {
                                                                        let (reporters, monitors) = members_left
                                                                            .iter()
                                                                            .find(|l| l.account_id == m.account_id)
                                                                            .map_or((0, 0), |l| (l.reporters.len(), l.monitors.len()));
                                                                        let email = m.email.clone();
                                                                        view! {
                                                                            <details class="revoke">
                                                                                <summary class="btn btn-small btn-secondary">{t!(i18n, "access.revoke")}</summary>
                                                                                <div class="confirm" role="alertdialog" aria-label=t!(i18n, "access.revoke")>
                                                                                    <p>{move || i18n.t_with("access.revoke_confirm", &[("email", &email)])}</p>
                                                                                    {(reporters + monitors > 0).then(|| view! {
                                                                                        <p data-testid="revoke-leaves">
                                                                                            {move || i18n.t_with(
                                                                                                "access.revoke_leaves",
                                                                                                &[("reporters", &reporters.to_string()), ("monitors", &monitors.to_string())],
                                                                                            )}
                                                                                        </p>
                                                                                    })}
                                                                                    <ActionForm action=revoke>
                                                                                        <input type="hidden" name="id" value=site_id.to_string() />
                                                                                        <input type="hidden" name="account_id" value=m.account_id.to_string() />
                                                                                        <button type="submit" class="btn btn-danger">
                                                                                            {t!(i18n, "access.revoke_confirm_button")}
                                                                                        </button>
                                                                                    </ActionForm>
                                                                                </div>
                                                                            </details>
                                                                        }
                                                                    })}
                                                            </li>
                                                        }
                                                    })
                                                    .collect_view()}
                                            </ul>
                                        }
                                            .into_any()
                                    }
                                    Err(error) => view! { <p class="alert alert-error">{error.message(i18n)}</p> }.into_any(),
                                }
                            })}}
                        </Suspense>
                        {owner
                            .then(|| {
                                view! {
                                    <ActionForm action=grant attr:class="inline-form">
                                        <FormError error=grant_error />
                                        <input type="hidden" name="id" value=site_id.to_string() />
                                        <label class="field">
                                            <span>{t!(i18n, "access.installer_email")}</span>
                                            <input type="email" name="email" required aria-invalid=invalid_if(grant_error, "installer_email") />
                                        </label>
                                        <button type="submit" class="btn btn-secondary">{t!(i18n, "access.grant")}</button>
                                    </ActionForm>
                                }
                            })}
                    </section>
                    {owner.then(|| view! { <LeftBehindCard site_id left=gone actions=left_actions /> })}
                    {owner
                        .then(|| {
                            view! {
                                <section class="card danger-zone">
                                    <h2>{t!(i18n, "site.delete_title")}</h2>
                                    <details>
                                        <summary class="btn btn-danger-outline">{t!(i18n, "site.delete")}</summary>
                                        <div class="confirm" role="alertdialog" aria-label=t!(i18n, "site.delete_title")>
                                            <p>{move || i18n.t_with("site.delete_confirm", &[("name", &name)])}</p>
                                            <ActionForm action=delete>
                                                <input type="hidden" name="id" value=site_id.to_string() />
                                                <button type="submit" class="btn btn-danger">{t!(i18n, "site.delete_permanently")}</button>
                                            </ActionForm>
                                        </div>
                                    </details>
                                </section>
                            }
                        })}
                }
                    .into_any()
            })}
        </Suspense>
    }
}

/// Camera and photo scanning. Shown once the page has hydrated: without the wasm they could
/// not work.
#[component]
fn Scanner(on_found: Callback<String>) -> impl IntoView {
    let i18n = use_i18n();
    let error = RwSignal::new(None::<&'static str>);
    let scanning = RwSignal::new(false);
    let hydrated = RwSignal::new(false);
    Effect::new(move || hydrated.set(true));
    let video = NodeRef::<leptos::html::Video>::new();

    #[cfg(feature = "hydrate")]
    let (start, stop, on_photo) = {
        use crate::scan::browser;
        let stream = StoredValue::new_local(None::<web_sys::MediaStream>);
        let interval = StoredValue::new_local(None::<leptos::prelude::IntervalHandle>);
        let stop = move || {
            if let Some(handle) = interval.try_update_value(Option::take).flatten() {
                handle.clear();
            }
            if let Some(s) = stream.try_update_value(Option::take).flatten() {
                browser::stop_camera(&s);
            }
            scanning.set(false);
        };
        on_cleanup(stop);
        let start = move || {
            error.set(None);
            scanning.set(true);
            leptos::task::spawn_local(async move {
                let Some(element) = video.get_untracked() else {
                    return;
                };
                match browser::start_camera(&element).await {
                    Ok(s) => {
                        stream.set_value(Some(s));
                        // One frame at a time: a slow phone skips ticks rather than piling up.
                        let busy = std::rc::Rc::new(std::cell::Cell::new(false));
                        let handle = set_interval_with_handle(
                            move || {
                                let Some(element) = video.get_untracked() else {
                                    return;
                                };
                                if busy.replace(true) {
                                    return;
                                }
                                let busy = busy.clone();
                                leptos::task::spawn_local(async move {
                                    let found = browser::scan_video(&element).await;
                                    busy.set(false);
                                    if scanning.try_get_untracked() != Some(true) {
                                        return;
                                    }
                                    match found {
                                        Ok(Some(text)) => {
                                            stop();
                                            on_found.run(text);
                                        }
                                        Ok(None) => {}
                                        // Our decoder could not be loaded: say so, camera off.
                                        Err(key) => {
                                            stop();
                                            error.set(Some(key));
                                        }
                                    }
                                });
                            },
                            std::time::Duration::from_millis(200),
                        );
                        interval.set_value(handle.ok());
                    }
                    Err(key) => {
                        error.set(Some(key));
                        scanning.set(false);
                    }
                }
            });
        };
        let on_photo = move |ev: leptos::ev::Event| {
            use wasm_bindgen::JsCast;
            error.set(None);
            let input = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok());
            let Some(file) = input
                .as_ref()
                .and_then(|i| i.files())
                .and_then(|f| f.get(0))
            else {
                return;
            };
            if let Some(input) = input {
                input.set_value("");
            }
            leptos::task::spawn_local(async move {
                match browser::scan_file(file).await {
                    Ok(text) => on_found.run(text),
                    Err(key) => error.set(Some(key)),
                }
            });
        };
        (start, stop, on_photo)
    };
    #[cfg(not(feature = "hydrate"))]
    let (start, stop, on_photo) = {
        let _ = on_found; // scanning happens in the browser only
        (|| (), || (), |_: leptos::ev::Event| ())
    };

    view! {
        <Show when=move || hydrated.get()>
            <div class="scanner">
                <div class="actions">
                    <button type="button" class="btn btn-secondary" on:click=move |_| start() disabled=move || scanning.get()>
                        {t!(i18n, "scan.camera")}
                    </button>
                    <label class="btn btn-secondary">
                        {t!(i18n, "scan.photo")}
                        <input type="file" accept="image/*" class="visually-hidden" data-testid="scan-photo" on:change=on_photo />
                    </label>
                </div>
                {move || error.get().map(|key| view! { <p class="alert alert-error" role="alert" data-testid="scan-error">{i18n.t(key)}</p> })}
            </div>
        </Show>
        <div class="viewfinder" class:hidden=move || !scanning.get()>
            <video node_ref=video muted=true playsinline=true autoplay=true data-testid="viewfinder"></video>
            <p class="muted">{t!(i18n, "scan.point")}</p>
            <button type="button" class="btn btn-small btn-secondary" on:click=move |_| stop()>
                {t!(i18n, "scan.stop")}
            </button>
        </div>
    }
}

/// Settings → Licences: the account's licences, and redeeming a code (typed, or from the QR
/// code's link, which opens this page with `?code=`).
#[component]
pub fn LicencesPage() -> impl IntoView {
    let i18n = use_i18n();
    let redeem = ServerAction::<api::RedeemLicence>::new();
    let licences = crate::codec::resource(move || redeem.version().get(), |_| api::list_licences());
    let query = crate::address::use_query();
    // What the QR code's link carries (what the installer typed while the page loaded is put
    // back by the page's loader: boot.js).
    let code = RwSignal::new(model::licence::format_partial(
        &query.read_untracked().get("code").unwrap_or_default(),
    ));
    // Checked in the browser before asking the server: a mistyped character is caught here.
    let local_error = RwSignal::new(None::<AppError>);
    let server_error = action_error(redeem);
    let error = Signal::derive(move || local_error.get().or_else(|| server_error.get()));
    let redeemed = move || match redeem.value().get() {
        Some(Ok(capability)) => Some(capability),
        _ => None,
    };
    Effect::new(move || {
        if let Some(Ok(_)) = redeem.value().get() {
            code.set(String::new());
        }
    });
    // A scanned code is redeemed at once when it reads; otherwise it is shown with the reason.
    let on_found = Callback::new(move |text: String| {
        let scanned = model::licence::format_partial(model::licence::from_scan(&text));
        code.set(scanned.clone());
        match model::licence::decode(&scanned) {
            Ok(_) => {
                local_error.set(None);
                redeem.dispatch(api::RedeemLicence { code: scanned });
            }
            Err(e) => local_error.set(Some(AppError::Invalid {
                field: "code".into(),
                key: e.key().into(),
            })),
        }
    });
    view! {
        <div class="page-head">
            <h2>{t!(i18n, "licences.title")}</h2>
        </div>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match licences.await {
                    Ok(list) if list.is_empty() => view! { <EmptyState title="licences.empty_title" body="licences.empty_body" /> }.into_any(),
                    Ok(list) => {
                        view! {
                            <ul class="list card" data-testid="licences">
                                {list
                                    .into_iter()
                                    .map(|l| {
                                        let date = l.redeemed_at.get(..10).unwrap_or_default().to_string();
                                        view! {
                                            <li class="licence" data-testid="licence">
                                                <strong>{move || i18n.t(l.capability.name_key())}</strong>
                                                <span class="muted code">{l.code.clone()}</span>
                                                <span class="badge">{move || i18n.t_with("licences.active_since", &[("date", &date)])}</span>
                                                // Which reporter holds it, or that it is free for the next one.
                                                {match l.used_by.clone() {
                                                    Some((id, name, site)) => view! {
                                                        <span data-testid="licence-used-by">
                                                            {t!(i18n, "licences.used_by")} " "
                                                            <a href=format!("/settings/reporters/{id}")>{format!("{name} · {site}")}</a>
                                                        </span>
                                                    }.into_any(),
                                                    None => view! { <span class="muted" data-testid="licence-free">{t!(i18n, "licences.free")}</span> }.into_any(),
                                                }}
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                        }
                            .into_any()
                    }
                    Err(error) => view! { <LoadError error /> }.into_any(),
                }
            })}
        </Suspense>
        <section class="card form-card">
            <h2>{t!(i18n, "licences.redeem_title")}</h2>
            <p class="muted">{t!(i18n, "scan.intro")}</p>
            <Scanner on_found />
            <ActionForm
                action=redeem
                attr:class="stack"
                // In the capture phase: before ActionForm's own listener sends the form, which
                // it does not when this one prevented it (a mistyped code never reaches the
                // server).
                on:submit:capture=move |ev| {
                    match model::licence::decode(&code.get_untracked()) {
                        Ok(_) => local_error.set(None),
                        Err(e) => {
                            ev.prevent_default();
                            local_error.set(Some(AppError::Invalid { field: "code".into(), key: e.key().into() }));
                        }
                    }
                }
            >
                <FormError error />
                {move || {
                    redeemed()
                        .map(|capability| {
                            view! {
                                <p class="alert alert-ok" role="status">
                                    {i18n.t_with("licences.redeemed", &[("capability", &i18n.t(capability.name_key()))])}
                                </p>
                            }
                        })
                }}
                <label class="field">
                    <span>{t!(i18n, "licences.code")}</span>
                    <input
                        name="code"
                        class="code-input"
                        autocomplete="off"
                        autocapitalize="characters"
                        spellcheck="false"
                        placeholder="XXXXX-XXXXX-XXXXX-XXXXX"
                        value=code.get_untracked()
                        prop:value=move || code.get()
                        on:input=move |ev| {
                            local_error.set(None);
                            code.set(model::licence::format_partial(&event_target_value(&ev)));
                        }
                        aria-invalid=invalid_if(error, "code")
                    />
                    <small class="muted">{t!(i18n, "licences.code_help")}</small>
                </label>
                <button type="submit" class="btn btn-primary" disabled=move || redeem.pending().get()>
                    {t!(i18n, "licences.redeem")}
                </button>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    let i18n = use_i18n();
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <PageTitle key="error.not_found_title" />
        <main class="auth">
            <section class="card">
                <h1>{t!(i18n, "error.not_found_title")}</h1>
                <p>{t!(i18n, "error.page_not_found")}</p>
                <a href="/">{t!(i18n, "nav.back_to_overview")}</a>
            </section>
        </main>
    }
}
