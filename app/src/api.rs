//! Server functions: the browser's API. Each body reads the request's account and the
//! [`backend::Services`] from context and calls a plain backend function; on failure it sets the
//! HTTP status that matches the error.

use leptos::prelude::*;
use model::charging::{
    AdaptiveInput, ChargingView, GridOperatorChoice, SiteGrid, SiteGridInput, SitePrices,
    SitePricesInput,
};
use model::monitor::{DeviceToken, History, LiveSnapshot, MonitorInput};
use model::reporter::{NewCredentials, ReporterInput, WizardOptions};
use model::{
    Account, ActiveLicence, Capability, Monitor, Reporter, SiteDetails, SiteInput, SiteMember,
    SiteSummary,
};

use crate::codec::Json;
use crate::error::AppError;
use crate::i18n::Lang;

#[cfg(feature = "ssr")]
pub mod ssr {
    use std::net::SocketAddr;

    use axum::extract::ConnectInfo;
    use backend::Services;
    use leptos::prelude::*;
    use model::Account;
    use tower_sessions::Session;

    use crate::error::AppError;

    /// The session key that holds the signed-in account's id.
    pub const ACCOUNT_KEY: &str = "account_id";
    /// When the session signed in, and when its use was last recorded (ms since the epoch).
    const SIGNED_IN_AT_KEY: &str = "signed_in_at";
    const SEEN_AT_KEY: &str = "seen_at";

    pub fn services() -> Result<Services, AppError> {
        use_context::<Services>().ok_or_else(|| {
            tracing::error!("Services missing from the server function context");
            AppError::Internal
        })
    }

    pub async fn session() -> Result<Session, AppError> {
        leptos_axum::extract::<Session>().await.map_err(|e| {
            tracing::error!(error = %e, "no session layer");
            AppError::Internal
        })
    }

    /// The client's address, when the server was started with connect info.
    pub async fn client_ip() -> Option<std::net::IpAddr> {
        leptos_axum::extract::<ConnectInfo<SocketAddr>>()
            .await
            .ok()
            .map(|ConnectInfo(addr)| addr.ip())
    }

    /// The request's account as the server's page guard already looked it up, so a page's
    /// server functions don't each read it again. Only the server can put it on a request.
    #[derive(Clone)]
    pub struct KnownAccount(pub Option<Account>);

    pub async fn current_account() -> Result<Option<Account>, AppError> {
        if let Ok(axum::Extension(KnownAccount(known))) =
            leptos_axum::extract::<axum::Extension<KnownAccount>>().await
        {
            return Ok(known);
        }
        account_in(&services()?, &session().await?).await
    }

    /// The account signed in to `session`, for handlers outside server functions too (the
    /// live stream, the CSV export).
    pub async fn account_in(
        services: &Services,
        session: &Session,
    ) -> Result<Option<Account>, AppError> {
        use backend::accounts::{SessionStep, session_step};
        let id: Option<i64> = session.get(ACCOUNT_KEY).await.map_err(internal)?;
        let Some(id) = id else { return Ok(None) };
        let now = services.clock.now_ms();
        let signed_in_at: Option<i64> = session.get(SIGNED_IN_AT_KEY).await.map_err(internal)?;
        let seen_at: Option<i64> = session.get(SEEN_AT_KEY).await.map_err(internal)?;
        match session_step(services.session_rules, signed_in_at, seen_at, now) {
            SessionStep::Keep => {}
            // A changed session is saved with a new expiry: the inactivity limit slides.
            SessionStep::Touch => {
                if signed_in_at.is_none() {
                    session
                        .insert(SIGNED_IN_AT_KEY, now)
                        .await
                        .map_err(internal)?;
                }
                session.insert(SEEN_AT_KEY, now).await.map_err(internal)?;
            }
            SessionStep::End => {
                session.flush().await.map_err(internal)?;
                return Ok(None);
            }
        }
        let account = backend::accounts::current(services, id).await?;
        if account.is_none() {
            // The account was deleted; the session means nothing any more.
            session.flush().await.map_err(internal)?;
        }
        Ok(account)
    }

    pub async fn require_account() -> Result<Account, AppError> {
        current_account().await?.ok_or(AppError::Unauthenticated)
    }

    /// Starts a fresh session for `account` (a new id, so a planted session id is worthless);
    /// with none, a fresh session that is signed in to nothing, whose cookie looks the same.
    pub async fn start_session(account: Option<&Account>) -> Result<(), AppError> {
        let session = session().await?;
        session.cycle_id().await.map_err(internal)?;
        let now = services()?.clock.now_ms();
        session
            .insert(SIGNED_IN_AT_KEY, now)
            .await
            .map_err(internal)?;
        session.insert(SEEN_AT_KEY, now).await.map_err(internal)?;
        match account {
            Some(account) => session
                .insert(ACCOUNT_KEY, account.id)
                .await
                .map_err(internal),
            None => Ok(()),
        }
    }

    fn internal(e: impl std::fmt::Display) -> AppError {
        tracing::error!(error = %e, "session store failed");
        AppError::Internal
    }

    /// Sets the response status for `err` and passes it on.
    pub fn fail(err: impl Into<AppError>) -> AppError {
        let err = err.into();
        if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
            res.set_status(err.status());
            if let AppError::RateLimited { retry_after_secs } = err {
                res.insert_header(http::header::RETRY_AFTER, retry_after_secs.into());
            }
        }
        err
    }
}

#[cfg(feature = "ssr")]
use ssr::*;

/// Runs a server function body, turning any error into an HTTP status.
#[cfg(feature = "ssr")]
async fn handle<T>(
    body: impl std::future::Future<Output = Result<T, AppError>>,
) -> Result<T, AppError> {
    body.await.map_err(fail)
}

#[server(prefix = "/api", endpoint = "me", input = Json, output = Json)]
pub async fn me() -> Result<Option<Account>, AppError> {
    handle(current_account()).await
}

#[server(prefix = "/api", endpoint = "sign_up", input = Json, output = Json)]
/// Answers the same whether the address was new or had an account (the account, if any, is
/// then signed in): the page asks `me` who is signed in.
pub async fn sign_up(email: String, password: String, role: String) -> Result<(), AppError> {
    handle(async {
        use backend::accounts::SignedUp;
        let role = model::Role::parse(&role)?;
        let signed_up =
            backend::accounts::sign_up(&services()?, &email, &password, role, client_ip().await)
                .await?;
        match signed_up {
            SignedUp::Account(account) => start_session(Some(&account)).await,
            SignedUp::NotSignedIn => start_session(None).await,
        }
    })
    .await
}

#[server(prefix = "/api", endpoint = "log_in", input = Json, output = Json)]
pub async fn log_in(email: String, password: String) -> Result<Account, AppError> {
    handle(async {
        let account =
            backend::accounts::log_in(&services()?, &email, &password, client_ip().await).await?;
        start_session(Some(&account)).await?;
        Ok(account)
    })
    .await
}

#[server(prefix = "/api", endpoint = "log_out", input = Json, output = Json)]
pub async fn log_out() -> Result<(), AppError> {
    handle(async {
        let session = session().await?;
        let account: Option<i64> = session
            .get(ACCOUNT_KEY)
            .await
            .map_err(|_| AppError::Internal)?;
        session.flush().await.map_err(|_| AppError::Internal)?;
        // A live stream opened with this session ends.
        if let Some(id) = account {
            services()?.account_access_changed(id);
        }
        Ok(())
    })
    .await
}

/// Remembers the language for a year in a cookie the server reads on every page.
#[server(prefix = "/api", endpoint = "set_language", input = Json, output = Json)]
pub async fn set_language(lang: String) -> Result<Lang, AppError> {
    handle(async {
        let lang = Lang::parse(&lang).ok_or(AppError::Invalid {
            field: "lang".into(),
            key: "error.request".into(),
        })?;
        crate::i18n::remember_in_cookie(crate::i18n::LANG_COOKIE, lang.code())?;
        Ok(lang)
    })
    .await
}

/// Remembers light, dark or the system's choice for a year in a cookie the server reads on
/// every page; answers the theme's code.
#[server(prefix = "/api", endpoint = "set_theme", input = Json, output = Json)]
pub async fn set_theme(theme: String) -> Result<String, AppError> {
    handle(async {
        let theme = crate::theme::Theme::parse(&theme).ok_or(AppError::Invalid {
            field: "theme".into(),
            key: "error.request".into(),
        })?;
        crate::i18n::remember_in_cookie(crate::theme::THEME_COOKIE, theme.code())?;
        Ok(theme.code().to_string())
    })
    .await
}

#[server(prefix = "/api", endpoint = "list_sites", input = Json, output = Json)]
pub async fn list_sites() -> Result<Vec<SiteSummary>, AppError> {
    handle(async { Ok(backend::sites::list(&services()?, &require_account().await?).await?) }).await
}

#[server(prefix = "/api", endpoint = "get_site", input = Json, output = Json)]
pub async fn get_site(id: i64) -> Result<SiteDetails, AppError> {
    handle(async { Ok(backend::sites::get(&services()?, &require_account().await?, id).await?) })
        .await
}

#[server(prefix = "/api", endpoint = "create_site", output = Json)]
pub async fn create_site(site: SiteInput, customer_email: Option<String>) -> Result<i64, AppError> {
    handle(async {
        Ok(backend::sites::create(
            &services()?,
            &require_account().await?,
            &site,
            customer_email.as_deref().unwrap_or_default(),
        )
        .await?)
    })
    .await
}

/// Sites installers have set up for the signed-in household, waiting for it to accept.
#[server(prefix = "/api", endpoint = "site_invitations", input = Json, output = Json)]
pub async fn site_invitations() -> Result<Vec<model::site::SiteInvitation>, AppError> {
    handle(async {
        Ok(backend::sites::invitations(&services()?, &require_account().await?).await?)
    })
    .await
}

/// The household accepts (`accept=true`) or declines an installer's invitation.
#[server(prefix = "/api", endpoint = "answer_invitation", input = Json, output = Json)]
pub async fn answer_invitation(site_id: i64, accept: bool) -> Result<(), AppError> {
    handle(async {
        Ok(backend::sites::answer_invitation(
            &services()?,
            &require_account().await?,
            site_id,
            accept,
        )
        .await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "update_site", output = Json)]
pub async fn update_site(id: i64, site: SiteInput) -> Result<(), AppError> {
    handle(async {
        Ok(backend::sites::update(&services()?, &require_account().await?, id, &site).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "delete_site", output = Json)]
pub async fn delete_site(id: i64) -> Result<(), AppError> {
    handle(async { Ok(backend::sites::delete(&services()?, &require_account().await?, id).await?) })
        .await
}

#[server(prefix = "/api", endpoint = "site_members", input = Json, output = Json)]
pub async fn site_members(id: i64) -> Result<Vec<SiteMember>, AppError> {
    handle(async {
        Ok(backend::sites::members(&services()?, &require_account().await?, id).await?)
    })
    .await
}

/// What other accounts set up on the site and may still use (the owner's only).
#[server(prefix = "/api", endpoint = "left_behind", input = Json, output = Json)]
pub async fn left_behind(id: i64) -> Result<Vec<model::site::LeftBehind>, AppError> {
    handle(async {
        Ok(backend::sites::left_behind(&services()?, &require_account().await?, id).await?)
    })
    .await
}

/// The owner keeps a reporter or a device token an installer left behind as their own.
#[server(prefix = "/api", endpoint = "keep_left_behind", output = Json)]
pub async fn keep_left_behind(
    id: i64,
    reporter_id: Option<i64>,
    monitor_id: Option<i64>,
) -> Result<(), AppError> {
    handle(async {
        use model::site::Kept;
        let kept = match (reporter_id, monitor_id) {
            (Some(r), None) => Kept::Reporter(r),
            (None, Some(m)) => Kept::MonitorToken(m),
            _ => {
                return Err(AppError::Invalid {
                    field: "reporter_id".into(),
                    key: "error.request".into(),
                });
            }
        };
        Ok(
            backend::sites::keep_left_behind(&services()?, &require_account().await?, id, kept)
                .await?,
        )
    })
    .await
}

#[server(prefix = "/api", endpoint = "grant_access", output = Json)]
pub async fn grant_access(id: i64, email: String) -> Result<(), AppError> {
    handle(async {
        Ok(backend::sites::grant(&services()?, &require_account().await?, id, &email).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "revoke_access", output = Json)]
pub async fn revoke_access(id: i64, account_id: i64) -> Result<(), AppError> {
    handle(async {
        Ok(backend::sites::revoke(&services()?, &require_account().await?, id, account_id).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "list_licences", input = Json, output = Json)]
pub async fn list_licences() -> Result<Vec<ActiveLicence>, AppError> {
    handle(async { Ok(backend::licences::active(&services()?, &require_account().await?).await?) })
        .await
}

/// Redeems a typed or scanned licence code for the signed-in account.
#[server(prefix = "/api", endpoint = "redeem_licence", output = Json)]
pub async fn redeem_licence(code: String) -> Result<Capability, AppError> {
    use backend::licences::Refusal;
    handle(async {
        let code = model::licence::from_scan(&code).to_string();
        let refused = |key: &str| AppError::Invalid {
            field: "code".into(),
            key: key.into(),
        };
        match backend::licences::redeem(&services()?, &require_account().await?, &code).await? {
            Ok(capability) => Ok(capability),
            Err(Refusal::Invalid(e)) => Err(refused(e.key())),
            Err(Refusal::AlreadyUsed) => Err(refused("error.licence_used")),
            Err(Refusal::AlreadyYours) => Err(refused("error.licence_already_yours")),
            Err(Refusal::Revoked) => Err(refused("error.licence_revoked")),
        }
    })
    .await
}

/// The monitors on every site the account may work on, and the server's clock (ms UTC) for
/// their status.
#[server(prefix = "/api", endpoint = "list_monitors", input = Json, output = Json)]
pub async fn list_monitors() -> Result<(i64, Vec<Monitor>), AppError> {
    handle(async {
        let list = backend::monitors::list(&services()?, &require_account().await?).await?;
        Ok((backend::monitors::now_ms(), list))
    })
    .await
}

/// Registers a monitor; the answer holds its device token, shown once.
#[server(prefix = "/api", endpoint = "create_monitor", output = Json)]
pub async fn create_monitor(monitor: MonitorInput) -> Result<DeviceToken, AppError> {
    handle(async {
        Ok(backend::monitors::create(&services()?, &require_account().await?, &monitor).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "rotate_monitor_token", input = Json, output = Json)]
pub async fn rotate_monitor_token(id: i64) -> Result<DeviceToken, AppError> {
    handle(async {
        Ok(backend::monitors::rotate_token(&services()?, &require_account().await?, id).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "make_total_monitor", input = Json, output = Json)]
pub async fn make_total_monitor(id: i64) -> Result<(), AppError> {
    handle(async {
        Ok(backend::monitors::make_total(&services()?, &require_account().await?, id).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "delete_monitor", input = Json, output = Json)]
pub async fn delete_monitor(id: i64) -> Result<(), AppError> {
    handle(async {
        Ok(backend::monitors::delete(&services()?, &require_account().await?, id).await?)
    })
    .await
}

/// The site's live panel: its total-consumption monitor and the last 15 minutes.
#[server(prefix = "/api", endpoint = "site_live", input = Json, output = Json)]
pub async fn site_live(site_id: i64) -> Result<Option<LiveSnapshot>, AppError> {
    handle(async {
        Ok(backend::monitors::snapshot(&services()?, &require_account().await?, site_id).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "monitor_history", input = Json, output = Json)]
pub async fn monitor_history(
    id: i64,
    view: String,
    date: Option<String>,
) -> Result<History, AppError> {
    handle(async {
        let view = model::monitor::HistoryView::parse(&view).ok_or(AppError::Invalid {
            field: "view".into(),
            key: "error.request".into(),
        })?;
        Ok(backend::monitors::history(
            &services()?,
            &require_account().await?,
            id,
            view,
            date.as_deref(),
        )
        .await?)
    })
    .await
}

/// The live panel for the overview: only when the account has exactly one site (a household);
/// with several, each site's page has its own.
#[server(prefix = "/api", endpoint = "overview_live", input = Json, output = Json)]
pub async fn overview_live() -> Result<Option<LiveSnapshot>, AppError> {
    handle(async {
        let services = services()?;
        let actor = require_account().await?;
        match backend::sites::list(&services, &actor).await?.as_slice() {
            [only] => Ok(backend::monitors::snapshot(&services, &actor, only.id).await?),
            _ => Ok(None),
        }
    })
    .await
}

/// The reporters on every site the account may work on, and the server's clock (ms UTC) for
/// their status.
#[server(prefix = "/api", endpoint = "list_reporters", input = Json, output = Json)]
pub async fn list_reporters() -> Result<(i64, Vec<Reporter>), AppError> {
    handle(async {
        let services = services()?;
        let list = backend::reporters::list(&services, &require_account().await?).await?;
        Ok((services.clock.now_ms(), list))
    })
    .await
}

/// A site's reporters with their adaptive charging, for its page; with `site_id` absent, the
/// only site of a household (the overview), or none when the account has several.
#[server(prefix = "/api", endpoint = "site_reporters", input = Json, output = Json)]
pub async fn site_reporters(
    site_id: Option<i64>,
) -> Result<(i64, Vec<(Reporter, ChargingView)>), AppError> {
    handle(async {
        let services = services()?;
        let actor = require_account().await?;
        let site = match site_id {
            Some(id) => Some(id),
            None => match backend::sites::list(&services, &actor).await?.as_slice() {
                [only] => Some(only.id),
                _ => None,
            },
        };
        let mut out = Vec::new();
        if let Some(id) = site {
            for reporter in backend::reporters::of_site(&services, &actor, id).await? {
                let charging = backend::charging::view(&services, &actor, reporter.id).await?;
                out.push((reporter, charging));
            }
        }
        Ok((services.clock.now_ms(), out))
    })
    .await
}

#[server(prefix = "/api", endpoint = "get_reporter", input = Json, output = Json)]
pub async fn get_reporter(id: i64) -> Result<(i64, Reporter), AppError> {
    handle(async {
        let services = services()?;
        let reporter = backend::reporters::get(&services, &require_account().await?, id).await?;
        Ok((services.clock.now_ms(), reporter))
    })
    .await
}

/// What the reporter wizard offers: sites, their monitors, free licences.
#[server(prefix = "/api", endpoint = "reporter_options", input = Json, output = Json)]
pub async fn reporter_options() -> Result<WizardOptions, AppError> {
    handle(async {
        Ok(backend::reporters::options(&services()?, &require_account().await?).await?)
    })
    .await
}

/// The wizard's "Get serial number and PIN".
#[server(prefix = "/api", endpoint = "new_reporter_credentials", input = Json, output = Json)]
pub async fn new_reporter_credentials() -> Result<NewCredentials, AppError> {
    handle(async {
        Ok(backend::reporters::new_credentials(&services()?, &require_account().await?).await?)
    })
    .await
}

/// The wizard's "Get Serial Number and PIN" for a site: the pair reserved for the account's
/// draft there (the same after a reload, Back or in a second tab), or a new one reserved now.
#[server(prefix = "/api", endpoint = "reporter_draft_credentials", input = Json, output = Json)]
pub async fn reporter_draft_credentials(site_id: i64) -> Result<NewCredentials, AppError> {
    handle(async {
        Ok(
            backend::reporters::draft_credentials(&services()?, &require_account().await?, site_id)
                .await?,
        )
    })
    .await
}

/// Keeps the wizard's fields for a site as they are now.
#[server(prefix = "/api", endpoint = "save_reporter_draft", input = Json, output = Json)]
pub async fn save_reporter_draft(
    site_id: i64,
    fields: model::reporter::DraftFields,
) -> Result<(), AppError> {
    handle(async {
        Ok(backend::reporters::save_draft(
            &services()?,
            &require_account().await?,
            site_id,
            &fields,
        )
        .await?)
    })
    .await
}

/// Forgets the wizard left part-way on a site.
#[server(prefix = "/api", endpoint = "discard_reporter_draft", input = Json, output = Json)]
pub async fn discard_reporter_draft(site_id: i64) -> Result<(), AppError> {
    handle(async {
        Ok(
            backend::reporters::discard_draft(&services()?, &require_account().await?, site_id)
                .await?,
        )
    })
    .await
}

#[server(prefix = "/api", endpoint = "create_reporter", input = Json, output = Json)]
pub async fn create_reporter(reporter: ReporterInput) -> Result<i64, AppError> {
    handle(async {
        Ok(backend::reporters::create(&services()?, &require_account().await?, &reporter).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "update_reporter", input = Json, output = Json)]
pub async fn update_reporter(id: i64, reporter: ReporterInput) -> Result<(), AppError> {
    handle(async {
        Ok(
            backend::reporters::update(&services()?, &require_account().await?, id, &reporter)
                .await?,
        )
    })
    .await
}

#[server(prefix = "/api", endpoint = "pause_reporter", input = Json, output = Json)]
pub async fn pause_reporter(id: i64, paused: bool) -> Result<(), AppError> {
    handle(async {
        Ok(
            backend::reporters::set_paused(&services()?, &require_account().await?, id, paused)
                .await?,
        )
    })
    .await
}

/// A new PIN; the old one stops working.
#[server(prefix = "/api", endpoint = "regenerate_reporter_pin", input = Json, output = Json)]
pub async fn regenerate_reporter_pin(id: i64) -> Result<NewCredentials, AppError> {
    handle(async {
        Ok(backend::reporters::regenerate_pin(&services()?, &require_account().await?, id).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "delete_reporter", input = Json, output = Json)]
pub async fn delete_reporter(id: i64) -> Result<(), AppError> {
    handle(async {
        Ok(backend::reporters::delete(&services()?, &require_account().await?, id).await?)
    })
    .await
}

/// A reporter's adaptive charging with today's and tomorrow's prices and the plan.
#[server(prefix = "/api", endpoint = "reporter_charging", input = Json, output = Json)]
pub async fn reporter_charging(id: i64) -> Result<ChargingView, AppError> {
    handle(async {
        Ok(backend::charging::view(&services()?, &require_account().await?, id).await?)
    })
    .await
}

/// Turns adaptive charging off, to a Simple schedule, or to optiCharge.
#[server(prefix = "/api", endpoint = "set_reporter_charging", input = Json, output = Json)]
pub async fn set_reporter_charging(
    id: i64,
    charging: AdaptiveInput,
) -> Result<ChargingView, AppError> {
    handle(async {
        Ok(backend::charging::set(&services()?, &require_account().await?, id, &charging).await?)
    })
    .await
}

/// What the household pays on top of the spot price (Settings → Site).
#[server(prefix = "/api", endpoint = "site_prices", input = Json, output = Json)]
pub async fn get_site_prices(site_id: i64) -> Result<SitePrices, AppError> {
    handle(async {
        Ok(
            backend::charging::site_prices(&services()?, &require_account().await?, site_id)
                .await?,
        )
    })
    .await
}

#[server(prefix = "/api", endpoint = "set_site_prices", output = Json)]
pub async fn set_site_prices(
    site_id: i64,
    prices: SitePricesInput,
) -> Result<SitePrices, AppError> {
    handle(async {
        Ok(backend::charging::set_site_prices(
            &services()?,
            &require_account().await?,
            site_id,
            &prices,
        )
        .await?)
    })
    .await
}

/// The site's grid operator and tariff, for its capacity charge (Settings → Site).
#[server(prefix = "/api", endpoint = "site_grid", input = Json, output = Json)]
pub async fn get_site_grid(site_id: i64) -> Result<SiteGrid, AppError> {
    handle(async {
        Ok(backend::charging::site_grid(&services()?, &require_account().await?, site_id).await?)
    })
    .await
}

#[server(prefix = "/api", endpoint = "set_site_grid", output = Json)]
pub async fn set_site_grid(site_id: i64, grid: SiteGridInput) -> Result<SiteGrid, AppError> {
    handle(async {
        Ok(backend::charging::set_site_grid(
            &services()?,
            &require_account().await?,
            site_id,
            &grid,
        )
        .await?)
    })
    .await
}

/// Every Swedish grid operator with its tariffs (the `grid-tariffs` crate's data), to choose
/// from.
#[server(prefix = "/api", endpoint = "grid_operators", input = Json, output = Json)]
pub async fn grid_operators() -> Result<Vec<GridOperatorChoice>, AppError> {
    handle(async {
        require_account().await?;
        Ok(backend::capacity::operators())
    })
    .await
}

/// This month's capacity charge so far under the site's grid operator's rule: of `site_id` (the
/// site page), or with it absent of the household's only site (the overview; none when it has
/// several).
#[server(prefix = "/api", endpoint = "capacity_month", input = Json, output = Json)]
pub async fn capacity_month(
    site_id: Option<i64>,
) -> Result<Option<model::charging::CapacityMonth>, AppError> {
    handle(async {
        let services = services()?;
        let actor = require_account().await?;
        let site_id = match site_id {
            Some(id) => id,
            None => match backend::sites::list(&services, &actor).await?.as_slice() {
                [only] => only.id,
                _ => return Ok(None),
            },
        };
        Ok(backend::charging::capacity_month(&services, &actor, site_id).await?)
    })
    .await
}
