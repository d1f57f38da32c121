//! Nobody reads or changes a site they have no access to: every route and server function that
//! takes a site, called by every kind of user. Add a row here with every new route.

mod common;

use axum::http::StatusCode;
use common::{TestApp, site_form};
use rstest::rstest;

#[derive(Debug, Clone, Copy, PartialEq)]
enum User {
    Owner,
    GrantedInstaller,
    RevokedInstaller,
    OtherOwner,
    OtherInstaller,
    Anonymous,
}
use User::*;

const USERS: [User; 6] = [
    Owner,
    GrantedInstaller,
    RevokedInstaller,
    OtherOwner,
    OtherInstaller,
    Anonymous,
];

/// How a route is reached: a server function with a form body, a page, or an event stream
/// (only its answer's status is read: the stream itself never ends).
#[derive(Debug, Clone, Copy)]
enum Call {
    Fn(&'static str, &'static str),
    Page(&'static str),
    Stream(&'static str),
    /// A server function that lists what the account may see (sites, or what is on them): 200
    /// when the answer shows this site, 404 when it leaves it out.
    Listed(&'static str),
}

/// `{id}` is the site, `{granted}` the granted installer's account id, `{other_installer}` an
/// installer's e-mail address, `{monitor}` the site's monitor, `{reporter}` its Charge Amps
/// reporter.
#[rstest]
//                                                                                       owner granted revoked other_o other_i anonymous
#[case::get_site(Call::Fn("get_site", "id={id}"),                                       [200, 200, 404, 404, 404, 401])]
#[case::update_site(Call::Fn("update_site", "id={id}&{site}"),                          [200, 200, 404, 404, 404, 401])]
#[case::site_members(Call::Fn("site_members", "id={id}"),                               [200, 200, 404, 404, 404, 401])]
#[case::grant_access(Call::Fn("grant_access", "id={id}&email={other_installer}"),       [200, 403, 404, 404, 404, 401])]
#[case::revoke_access(Call::Fn("revoke_access", "id={id}&account_id={granted}"),        [200, 403, 404, 404, 404, 401])]
#[case::delete_site(Call::Fn("delete_site", "id={id}"),                                 [200, 403, 404, 404, 404, 401])]
// An installer working on the site is shown nothing (an empty list), the others nothing at all.
#[case::left_behind(Call::Fn("left_behind", "id={id}"),                                 [200, 200, 404, 404, 404, 401])]
#[case::keep_reporter(Call::Fn("keep_left_behind", "id={id}&reporter_id={reporter}"),   [200, 403, 404, 404, 404, 401])]
#[case::keep_token(Call::Fn("keep_left_behind", "id={id}&monitor_id={monitor}"),        [200, 403, 404, 404, 404, 401])]
// Nobody takes a site over through an invitation that is not theirs (this site has none).
#[case::answer_invitation(Call::Fn("answer_invitation", "site_id={id}&accept=true"),     [404, 404, 404, 404, 404, 401])]
#[case::site_invitations(Call::Fn("site_invitations", ""),                               [200, 200, 200, 200, 200, 401])]
#[case::site_page(Call::Page("/sites/{id}"),                                            [200, 200, 404, 404, 404, 302])]
#[case::site_settings_page(Call::Page("/settings/sites/{id}"),                          [200, 200, 404, 404, 404, 302])]
#[case::site_live(Call::Fn("site_live", "site_id={id}"),                                [200, 200, 404, 404, 404, 401])]
#[case::create_monitor(Call::Fn("create_monitor", "{new_monitor}"),                     [200, 200, 422, 422, 422, 401])]
#[case::rotate_token(Call::Fn("rotate_monitor_token", "id={monitor}"),                  [200, 200, 404, 404, 404, 401])]
#[case::make_total(Call::Fn("make_total_monitor", "id={monitor}"),                      [200, 200, 404, 404, 404, 401])]
#[case::delete_monitor(Call::Fn("delete_monitor", "id={monitor}"),                      [200, 200, 404, 404, 404, 401])]
#[case::monitor_history(Call::Fn("monitor_history", "id={monitor}&view=day"),           [200, 200, 404, 404, 404, 401])]
#[case::history_page(Call::Page("/monitors/{monitor}/history"),                         [200, 200, 404, 404, 404, 302])]
#[case::history_csv(Call::Page("/api/v1/monitors/{monitor}/history.csv"),               [200, 200, 404, 404, 404, 401])]
#[case::monitor_live(Call::Stream("/api/v1/monitors/{monitor}/live"),                   [200, 200, 404, 404, 404, 401])]
#[case::list_sites(Call::Listed("list_sites"),                                          [200, 200, 404, 404, 404, 401])]
#[case::list_monitors(Call::Listed("list_monitors"),                                    [200, 200, 404, 404, 404, 401])]
#[case::list_reporters(Call::Listed("list_reporters"),                                  [200, 200, 404, 404, 404, 401])]
#[case::reporter_options(Call::Listed("reporter_options"),                              [200, 200, 404, 404, 404, 401])]
// The overview's live panel is for a household with one site: the granted installer works on
// two by its turn (each user gets a fresh site), so it shows none.
#[case::overview_live(Call::Listed("overview_live"),                                    [200, 404, 404, 404, 404, 401])]
#[case::site_reporters(Call::Fn("site_reporters", "site_id={id}"),                      [200, 200, 404, 404, 404, 401])]
#[case::get_reporter(Call::Fn("get_reporter", "id={reporter}"),                         [200, 200, 404, 404, 404, 401])]
#[case::create_reporter(Call::Fn("create_reporter", "{new_reporter}"),                  [200, 200, 422, 422, 422, 401])]
#[case::draft_credentials(Call::Fn("reporter_draft_credentials", "site_id={id}"),        [200, 200, 404, 404, 404, 401])]
#[case::save_draft(Call::Fn("save_reporter_draft", "site_id={id}&{draft}"),             [200, 200, 404, 404, 404, 401])]
#[case::discard_draft(Call::Fn("discard_reporter_draft", "site_id={id}"),               [200, 200, 404, 404, 404, 401])]
#[case::update_reporter(Call::Fn("update_reporter", "id={reporter}&{reporter_form}"),   [200, 200, 404, 404, 404, 401])]
#[case::pause_reporter(Call::Fn("pause_reporter", "id={reporter}&paused=true"),         [200, 200, 404, 404, 404, 401])]
#[case::new_pin(Call::Fn("regenerate_reporter_pin", "id={reporter}"),                   [200, 200, 404, 404, 404, 401])]
#[case::delete_reporter(Call::Fn("delete_reporter", "id={reporter}"),                   [200, 200, 404, 404, 404, 401])]
#[case::reporter_page(Call::Page("/settings/reporters/{reporter}"),                     [200, 200, 404, 404, 404, 302])]
#[case::reporters_live(Call::Stream("/api/v1/reporters/live?site={id}"),                [200, 200, 404, 404, 404, 401])]
#[case::reporter_charging(Call::Fn("reporter_charging", "id={reporter}"),               [200, 200, 404, 404, 404, 401])]
#[case::set_charging(Call::Fn("set_reporter_charging", "id={reporter}&{charging}"),     [200, 200, 404, 404, 404, 401])]
#[case::site_prices(Call::Fn("site_prices", "site_id={id}"),                            [200, 200, 404, 404, 404, 401])]
#[case::set_site_prices(Call::Fn("set_site_prices", "site_id={id}&{prices}"),           [200, 200, 404, 404, 404, 401])]
#[case::site_grid(Call::Fn("site_grid", "site_id={id}"),                                [200, 200, 404, 404, 404, 401])]
#[case::set_site_grid(Call::Fn("set_site_grid", "site_id={id}&{grid}"),                 [200, 200, 404, 404, 404, 401])]
#[case::capacity_month(Call::Fn("capacity_month", "site_id={id}"),                      [200, 200, 404, 404, 404, 401])]
// The overview's capacity card: the household's only site, like its live panel.
#[case::overview_capacity(Call::Listed("capacity_month"),                               [200, 404, 404, 404, 404, 401])]
#[tokio::test]
async fn site_routes(#[case] call: Call, #[case] expected: [u16; 6]) {
    let app = TestApp::new().await;
    let (owner, _) = app.sign_up("owner@example.se", "owner").await;
    let (granted, granted_id) = app.sign_up("granted@installer.se", "installer").await;
    let (revoked, revoked_id) = app.sign_up("revoked@installer.se", "installer").await;
    let (other_owner, _) = app.sign_up("other@example.se", "owner").await;
    let (other_installer, _) = app.sign_up("other@installer.se", "installer").await;

    for (user, expected) in USERS.into_iter().zip(expected) {
        // A fresh site per user, so one user's allowed change does not affect the next.
        let id = app.create_site(&owner, "Villa Ek").await;
        for (email, _) in [
            ("granted@installer.se", granted_id),
            ("revoked@installer.se", revoked_id),
        ] {
            let r = app
                .call(
                    "grant_access",
                    Some(&owner),
                    &format!("id={id}&email={}", common::enc(email)),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }
        let r = app
            .call(
                "revoke_access",
                Some(&owner),
                &format!("id={id}&account_id={revoked_id}"),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);

        let (monitor, token) = app.create_monitor(&owner, id, "Mains").await;
        // The reporter forwards a monitor of its own: one it forwards cannot be deleted.
        let (forwarded, _) = app.create_monitor(&owner, id, "Mains 2").await;
        let (reporter, pin) = app.create_reporter(&owner, id, forwarded).await;
        // A grid operator, for the capacity card; the guard off.
        let r = app
            .call(
                "set_site_grid",
                Some(&owner),
                &format!("site_id={id}&grid[operator]=goteborg-energi&grid[tariff]="),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);

        let cookie = match user {
            Owner => Some(owner.as_str()),
            GrantedInstaller => Some(granted.as_str()),
            RevokedInstaller => Some(revoked.as_str()),
            OtherOwner => Some(other_owner.as_str()),
            OtherInstaller => Some(other_installer.as_str()),
            Anonymous => None,
        };
        let fill = |s: &str| {
            s.replace("{id}", &id.to_string())
                .replace("{granted}", &granted_id.to_string())
                .replace("{other_installer}", "other%40installer.se")
                .replace("{site}", &site_form("Renamed", "35"))
                .replace("{monitor}", &monitor.to_string())
                .replace(
                    "{new_monitor}",
                    &format!("monitor[site_id]={id}&monitor[name]=Garage&monitor[phases]=1&monitor[kind]=p1"),
                )
                .replace("{reporter}", &reporter.to_string())
                .replace(
                    "{reporter_form}",
                    &common::reporter_form(id, "charge_amps", "Renamed", "", 35, forwarded),
                )
                .replace(
                    "{charging}",
                    "charging[mode]=schedule&charging[schedule]=1111111%2023:00-05:00",
                )
                .replace(
                    "{prices}",
                    "prices[markup_ore]=5&prices[grid_fee_ore]=25&prices[energy_tax_ore]=43.9&prices[vat_percent]=25",
                )
                .replace("{grid}", "grid[operator]=ellevio&grid[tariff]=")
                .replace(
                    "{draft}",
                    "fields[step]=2&fields[kind]=charge_amps&fields[name]=Garage&fields[main_fuse_a]=20&fields[monitor_id]=1&fields[create_token_url]=&fields[update_url]=&fields[username]=",
                )
                .replace(
                    "{new_reporter}",
                    &common::reporter_form(id, "open_reporter", "Partner X", "", 25, monitor),
                )
        };
        let reply = match call {
            Call::Fn(name, form) => app.call(name, cookie, &fill(form)).await,
            Call::Page(path) => app.page(&fill(path), cookie).await,
            Call::Stream(path) => app.stream_status(&fill(path), cookie).await,
            Call::Listed(name) => {
                let mut reply = app.call(name, cookie, "").await;
                // A site is listed as itself (`"id":…,"name":…`) or as what is on it (`"site_id"`).
                let shown = [
                    format!("\"site_id\":{id},"),
                    format!("\"id\":{id},\"name\":"),
                ];
                if reply.status == StatusCode::OK && !shown.iter().any(|s| reply.body.contains(s)) {
                    reply.status = StatusCode::NOT_FOUND;
                }
                reply
            }
        };
        assert_eq!(
            reply.status.as_u16(),
            expected,
            "{call:?} as {user:?}: {}",
            &reply.body[..reply.body.len().min(300)]
        );

        if expected != 200 {
            // Refused means: nothing shown, nothing changed.
            assert!(
                !reply.body.contains("Villa Ek") && !reply.body.contains("Ekvägen"),
                "{call:?} as {user:?} leaked the site"
            );
            let seen = app
                .call("get_site", Some(&owner), &format!("id={id}"))
                .await;
            assert_eq!(
                seen.status,
                StatusCode::OK,
                "{call:?} as {user:?} deleted the site"
            );
            assert_eq!(
                seen.json()["name"],
                "Villa Ek",
                "{call:?} as {user:?} changed the site"
            );
            assert_eq!(seen.json()["main_fuse_a"], 20);
            let members = app
                .call("site_members", Some(&owner), &format!("id={id}"))
                .await
                .json();
            assert_eq!(
                members.as_array().unwrap().len(),
                1,
                "{call:?} as {user:?} changed who has access"
            );
            let monitors = app.call("list_monitors", Some(&owner), "").await.json();
            let names: Vec<&str> = monitors[1]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["site_id"] == id)
                .map(|m| m["name"].as_str().unwrap())
                .collect();
            assert_eq!(
                names,
                ["Mains", "Mains 2"],
                "{call:?} as {user:?} changed the monitors"
            );
            let seen = app
                .call("get_reporter", Some(&owner), &format!("id={reporter}"))
                .await;
            assert_eq!(
                seen.status,
                StatusCode::OK,
                "{call:?} as {user:?} deleted the reporter"
            );
            let seen = &seen.json()[1];
            assert_eq!(
                (
                    seen["name"].as_str(),
                    seen["paused"].as_bool(),
                    seen["pin"].as_str()
                ),
                (
                    Some("Charge Amps charge control"),
                    Some(false),
                    Some(pin.as_str())
                ),
                "{call:?} as {user:?} changed the reporter"
            );
            let charging = app
                .call("reporter_charging", Some(&owner), &format!("id={reporter}"))
                .await
                .json();
            assert_eq!(
                charging["adaptive"]["mode"], "off",
                "{call:?} as {user:?} changed adaptive charging"
            );
            let prices = app
                .call("site_prices", Some(&owner), &format!("site_id={id}"))
                .await
                .json();
            assert_eq!(
                prices["vat_percent"],
                serde_json::Value::Null,
                "{call:?} as {user:?} changed the site's prices"
            );
            let grid = app
                .call("site_grid", Some(&owner), &format!("site_id={id}"))
                .await
                .json();
            assert_eq!(
                grid["operator"], "goteborg-energi",
                "{call:?} as {user:?} changed the site's grid operator"
            );
            let reporters = app
                .call("site_reporters", Some(&owner), &format!("site_id={id}"))
                .await
                .json();
            assert_eq!(
                reporters[1].as_array().unwrap().len(),
                1,
                "{call:?} as {user:?} added a reporter"
            );
            let post = app
                .device_post(
                    &format!("/api/v1/monitors/{monitor}/readings"),
                    Some(&token),
                    "application/json",
                    common::readings_json(&[common::now_ms()], 1.0),
                )
                .await;
            assert_eq!(
                post.status,
                StatusCode::OK,
                "{call:?} as {user:?} changed the token"
            );
        }
        if let (302, Call::Page(path)) = (expected, call) {
            // To the login page, which sends them back here afterwards.
            let next = fill(path).replace('/', "%2F");
            assert_eq!(
                reply.headers.get("location").unwrap(),
                &format!("/login?next={next}")
            );
        }
    }
}

#[tokio::test]
async fn lists_show_only_reachable_sites() {
    let app = TestApp::new().await;
    let (owner, _) = app.sign_up("owner@example.se", "owner").await;
    let (installer, _) = app.sign_up("ivan@installer.se", "installer").await;
    let (stranger, _) = app.sign_up("stranger@example.se", "owner").await;
    app.create_site(&owner, "Villa Ek").await;
    let shared = app.create_site(&owner, "Sommarstuga").await;
    app.call(
        "grant_access",
        Some(&owner),
        &format!("id={shared}&email=ivan%40installer.se"),
    )
    .await;

    let names = |reply: common::Reply| -> Vec<String> {
        reply
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(app.call("list_sites", Some(&owner), "").await),
        ["Sommarstuga", "Villa Ek"]
    );
    assert_eq!(
        names(app.call("list_sites", Some(&installer), "").await),
        ["Sommarstuga"]
    );
    assert!(names(app.call("list_sites", Some(&stranger), "").await).is_empty());
    assert_eq!(
        app.call("list_sites", None, "").await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// An installer sets a site up for a household over HTTP: the household sees an invitation,
/// not a site, until it accepts; the answer to the installer does not depend on whether the
/// address has an account; only the invited household can accept.
#[tokio::test]
async fn installer_sets_a_site_up_for_a_household_that_accepts() {
    let app = TestApp::new().await;
    let (owner, _) = app.sign_up("anna@example.se", "owner").await;
    let (installer, _) = app.sign_up("ivan@installer.se", "installer").await;
    let (bo, _) = app.sign_up("bo@example.se", "owner").await;

    let without = app
        .call(
            "create_site",
            Some(&installer),
            &site_form("Villa Ek", "20"),
        )
        .await;
    assert_eq!(without.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(without.json()["Invalid"]["key"], "error.customer_required");

    let create = |email: &str| {
        format!(
            "{}&customer_email={}",
            site_form("Villa Ek", "20"),
            common::enc(email)
        )
    };
    let unknown = app
        .call(
            "create_site",
            Some(&installer),
            &create("nobody@example.se"),
        )
        .await;
    let known = app
        .call("create_site", Some(&installer), &create("anna@example.se"))
        .await;
    assert_eq!(
        (unknown.status, known.status),
        (StatusCode::OK, StatusCode::OK)
    );
    let id = known.json().as_i64().unwrap();

    // Not Anna's yet: she sees the invitation only.
    let as_owner = app
        .call("get_site", Some(&owner), &format!("id={id}"))
        .await;
    assert_eq!(as_owner.status, StatusCode::NOT_FOUND);
    let invitations = app.call("site_invitations", Some(&owner), "").await.json();
    assert_eq!(invitations[0]["site_id"], id);
    assert_eq!(invitations[0]["installer_email"], "ivan@installer.se");
    assert_eq!(
        app.call("site_invitations", Some(&bo), "").await.json(),
        serde_json::json!([])
    );
    for who in [&installer, &bo] {
        let taken = app
            .call(
                "answer_invitation",
                Some(who),
                &format!("site_id={id}&accept=true"),
            )
            .await;
        assert_eq!(taken.status, StatusCode::NOT_FOUND);
    }

    let accepted = app
        .call(
            "answer_invitation",
            Some(&owner),
            &format!("site_id={id}&accept=true"),
        )
        .await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    let as_owner = app
        .call("get_site", Some(&owner), &format!("id={id}"))
        .await
        .json();
    assert_eq!(
        (
            as_owner["access"].as_str(),
            as_owner["owner_email"].as_str()
        ),
        (Some("owner"), Some("anna@example.se"))
    );
    let as_installer = app
        .call("get_site", Some(&installer), &format!("id={id}"))
        .await
        .json();
    assert_eq!(as_installer["access"], "installer");
}
