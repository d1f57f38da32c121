//! Accounts and sites against a real SQLite database in a temporary folder.

use backend::{Database, Error, Services, accounts, sites};
use model::{Account, PriceArea, Role, SiteAccess, SiteInput};

const PASSWORD: &str = "Kvarnvägen-Laddbox-42";

async fn services() -> (Services, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = backend::testing::database_url(dir.path()).await;
    let db = Database::connect(&url).await.unwrap();
    (Services::new(&db), dir)
}

async fn account(s: &Services, email: &str, role: Role) -> Account {
    accounts::sign_up(s, email, PASSWORD, role, None)
        .await
        .unwrap()
        .account()
        .unwrap()
}

fn villa() -> SiteInput {
    SiteInput {
        name: "Villa Ek".into(),
        address: "Ekvägen 3, Uppsala".into(),
        time_zone: "Europe/Stockholm".into(),
        price_area: "SE3".into(),
        main_fuse_a: "20".into(),
    }
}

#[tokio::test]
async fn sign_up_then_log_in() {
    let (s, _dir) = services().await;
    let anna = account(&s, " Anna@Example.SE", Role::Owner).await;
    assert_eq!(anna.email, "anna@example.se");
    let again = accounts::log_in(&s, "anna@example.se", PASSWORD, None)
        .await
        .unwrap();
    assert_eq!(again, anna);
    assert!(matches!(
        accounts::log_in(&s, "anna@example.se", "wrong-password-1", None).await,
        Err(Error::BadCredentials)
    ));
    assert!(matches!(
        accounts::log_in(&s, "nobody@example.se", PASSWORD, None).await,
        Err(Error::BadCredentials)
    ));
}

/// A sign-up with a taken address (in any case) creates nothing and signs nobody in, unless
/// the password is the account's own: then it is its owner, signed in.
#[tokio::test]
async fn a_taken_address_signs_in_only_its_owner() {
    let (s, _dir) = services().await;
    let anna = account(&s, "anna@example.se", Role::Owner).await;
    let other = accounts::sign_up(
        &s,
        "ANNA@example.se",
        "Ett-helt-annat-lösenord-77",
        Role::Installer,
        None,
    )
    .await
    .unwrap();
    assert!(other.account().is_none());
    let again = accounts::sign_up(&s, "ANNA@example.se", PASSWORD, Role::Installer, None)
        .await
        .unwrap();
    assert_eq!(
        again.account().map(|a| (a.id, a.role)),
        Some((anna.id, Role::Owner))
    );
}

#[tokio::test]
async fn owner_creates_edits_and_deletes_a_site() {
    let (s, _dir) = services().await;
    let anna = account(&s, "anna@example.se", Role::Owner).await;
    let id = sites::create(&s, &anna, &villa(), "").await.unwrap();
    let site = sites::get(&s, &anna, id).await.unwrap();
    assert_eq!(
        (site.name.as_str(), site.price_area, site.main_fuse_a),
        ("Villa Ek", PriceArea::SE3, 20)
    );
    assert_eq!(site.access, SiteAccess::Owner);

    let edited = SiteInput {
        main_fuse_a: "25".into(),
        price_area: "SE4".into(),
        ..villa()
    };
    sites::update(&s, &anna, id, &edited).await.unwrap();
    let site = sites::get(&s, &anna, id).await.unwrap();
    assert_eq!((site.price_area, site.main_fuse_a), (PriceArea::SE4, 25));

    sites::delete(&s, &anna, id).await.unwrap();
    assert!(matches!(
        sites::get(&s, &anna, id).await,
        Err(Error::NotFound)
    ));
    assert!(sites::list(&s, &anna).await.unwrap().is_empty());
}

#[tokio::test]
async fn bad_edit_changes_nothing() {
    let (s, _dir) = services().await;
    let anna = account(&s, "anna@example.se", Role::Owner).await;
    let id = sites::create(&s, &anna, &villa(), "").await.unwrap();
    let bad = SiteInput {
        time_zone: "Europe/Stockhom".into(),
        main_fuse_a: "35".into(),
        ..villa()
    };
    match sites::update(&s, &anna, id, &bad).await {
        Err(Error::Invalid(e)) => {
            assert_eq!((e.field, e.key), ("time_zone", "error.time_zone_unknown"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sites::get(&s, &anna, id).await.unwrap().main_fuse_a, 20);
}

/// An installer sets a site up for a household by e-mail: nothing lands on the household's
/// account until it accepts, and the installer learns nothing about which addresses have
/// accounts.
#[tokio::test]
async fn installer_sets_a_site_up_and_the_household_accepts_it() {
    let (s, _dir) = services().await;
    let anna = account(&s, "anna@example.se", Role::Owner).await;
    let ivan = account(&s, "ivan@installer.se", Role::Installer).await;

    for (customer, key) in [
        ("", "error.customer_required"),
        ("not an address", "error.email_invalid"),
        ("IVAN@installer.se", "error.customer_is_you"),
    ] {
        match sites::create(&s, &ivan, &villa(), customer).await {
            Err(Error::Invalid(e)) => {
                assert_eq!((e.field, e.key), ("customer_email", key), "{customer}")
            }
            other => panic!("{customer}: {other:?}"),
        }
    }
    // The same answer whether or not the address has an account.
    let for_nobody = sites::create(&s, &ivan, &villa(), "nobody@example.se").await;
    let id = sites::create(&s, &ivan, &villa(), "Anna@example.se")
        .await
        .unwrap();
    assert!(for_nobody.is_ok());

    // Until Anna accepts, the site is not hers and she sees only the invitation.
    assert!(sites::list(&s, &anna).await.unwrap().is_empty());
    assert!(matches!(
        sites::get(&s, &anna, id).await,
        Err(Error::NotFound)
    ));
    let held = sites::get(&s, &ivan, id).await.unwrap();
    assert_eq!(held.invited.as_deref(), Some("anna@example.se"));
    let invitations = sites::invitations(&s, &anna).await.unwrap();
    assert_eq!(
        invitations
            .iter()
            .map(|i| (i.site_id, i.installer_email.as_str()))
            .collect::<Vec<_>>(),
        [(id, "ivan@installer.se")]
    );
    // Nobody else can answer it: not the installer, not another household.
    let bo = account(&s, "bo@example.se", Role::Owner).await;
    for who in [&ivan, &bo] {
        assert!(matches!(
            sites::answer_invitation(&s, who, id, true).await,
            Err(Error::NotFound)
        ));
    }

    sites::answer_invitation(&s, &anna, id, true).await.unwrap();
    let seen_by_anna = sites::get(&s, &anna, id).await.unwrap();
    assert_eq!(seen_by_anna.access, SiteAccess::Owner);
    assert_eq!(seen_by_anna.invited, None);
    assert!(sites::invitations(&s, &anna).await.unwrap().is_empty());
    assert_eq!(
        sites::get(&s, &ivan, id).await.unwrap().access,
        SiteAccess::Installer
    );
    assert!(matches!(
        sites::delete(&s, &ivan, id).await,
        Err(Error::Forbidden)
    ));
    let members = sites::members(&s, &anna, id).await.unwrap();
    assert_eq!(
        members.iter().map(|m| m.email.as_str()).collect::<Vec<_>>(),
        ["ivan@installer.se"]
    );
    // Answered once.
    assert!(matches!(
        sites::answer_invitation(&s, &anna, id, true).await,
        Err(Error::NotFound)
    ));

    sites::revoke(&s, &anna, id, ivan.id).await.unwrap();
    assert!(matches!(
        sites::get(&s, &ivan, id).await,
        Err(Error::NotFound)
    ));
    sites::grant(&s, &anna, id, "IVAN@installer.se")
        .await
        .unwrap();
    sites::grant(&s, &anna, id, "ivan@installer.se")
        .await
        .unwrap();
    assert_eq!(
        sites::members(&s, &anna, id).await.unwrap().len(),
        1,
        "granting twice leaves one grant"
    );
    match sites::grant(&s, &anna, id, "anna@example.se").await {
        Err(Error::Invalid(e)) => assert_eq!(e.key, "error.installer_unknown"),
        other => panic!("{other:?}"),
    }
}

/// A declined invitation leaves the site with the installer; an address that signs up later
/// finds the invitation waiting.
#[tokio::test]
async fn invitations_wait_for_later_accounts_and_can_be_declined() {
    let (s, _dir) = services().await;
    let ivan = account(&s, "ivan@installer.se", Role::Installer).await;
    let declined = sites::create(&s, &ivan, &villa(), "cecilia@example.se")
        .await
        .unwrap();
    let waiting = sites::create(&s, &ivan, &villa(), "cecilia@example.se")
        .await
        .unwrap();
    let cecilia = account(&s, "cecilia@example.se", Role::Owner).await;
    assert_eq!(sites::invitations(&s, &cecilia).await.unwrap().len(), 2);
    sites::answer_invitation(&s, &cecilia, declined, false)
        .await
        .unwrap();
    assert!(matches!(
        sites::get(&s, &cecilia, declined).await,
        Err(Error::NotFound)
    ));
    let still_ivans = sites::get(&s, &ivan, declined).await.unwrap();
    assert_eq!(still_ivans.invited, None);
    assert_eq!(
        sites::invitations(&s, &cecilia)
            .await
            .unwrap()
            .iter()
            .map(|i| i.site_id)
            .collect::<Vec<_>>(),
        [waiting]
    );
    // An installer account with the address sees no invitations (they are for households).
    let namesake = account(&s, "ida@example.se", Role::Installer).await;
    sites::create(&s, &ivan, &villa(), "ida@example.se")
        .await
        .unwrap();
    assert!(sites::invitations(&s, &namesake).await.unwrap().is_empty());
}

#[tokio::test]
async fn data_survives_reopening_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = backend::testing::database_url(dir.path()).await;
    let id = {
        let db = Database::connect(&url).await.unwrap();
        let s = Services::new(&db);
        let anna = account(&s, "anna@example.se", Role::Owner).await;
        let id = sites::create(&s, &anna, &villa(), "").await.unwrap();
        db.close().await;
        id
    };
    let db = Database::connect(&url).await.unwrap();
    let s = Services::new(&db);
    let anna = accounts::log_in(&s, "anna@example.se", PASSWORD, None)
        .await
        .unwrap();
    assert_eq!(sites::get(&s, &anna, id).await.unwrap().name, "Villa Ek");
}

/// After a revoke, the owner sees what the installer set up and may still use (the reporter it
/// created sends the site's readings to the partner it chose; the device token it saw works),
/// and deals with each: keep it, pause or delete the reporter, give the monitor a new token.
#[tokio::test]
async fn what_a_revoked_installer_set_up_is_shown_to_the_owner() {
    use backend::{monitors, reporters};
    use model::reporter::ReporterInput;
    use model::site::Kept;
    let (s, _dir) = services().await;
    let anna = account(&s, "anna@example.se", Role::Owner).await;
    let ida = account(&s, "ida@installer.se", Role::Installer).await;
    let site = sites::create(&s, &anna, &villa(), "").await.unwrap();
    sites::grant(&s, &anna, site, "ida@installer.se")
        .await
        .unwrap();
    let monitor_input = |name: &str| model::monitor::MonitorInput {
        site_id: site.to_string(),
        name: name.into(),
        phases: "3".into(),
        kind: "http".into(),
    };
    let hers = monitors::create(&s, &ida, &monitor_input("Mains"))
        .await
        .unwrap();
    let annas = monitors::create(&s, &anna, &monitor_input("Garage"))
        .await
        .unwrap();
    let partner = ReporterInput {
        site_id: site.to_string(),
        kind: "open_reporter".into(),
        name: "Ida's partner".into(),
        main_fuse_a: "20".into(),
        monitor_id: hers.monitor_id.to_string(),
        create_token_url: "https://ida-partner.example/token".into(),
        update_url: "https://ida-partner.example/update".into(),
        username: "ek".into(),
        password: "s3cret".into(),
        allow_second: true,
        ..Default::default()
    };
    let forwards = reporters::create(&s, &ida, &partner).await.unwrap();
    let kept = reporters::create(
        &s,
        &ida,
        &ReporterInput {
            name: "Kept".into(),
            ..partner.clone()
        },
    )
    .await
    .unwrap();

    // While Ida has access, it is listed as hers (the revoke dialog counts it).
    let before = sites::left_behind(&s, &anna, site).await.unwrap();
    assert_eq!(before.len(), 1);
    assert!(before[0].has_access);
    // Only the owner sees it.
    assert!(sites::left_behind(&s, &ida, site).await.unwrap().is_empty());

    let ida_id = ida.id;
    sites::revoke(&s, &anna, site, ida_id).await.unwrap();
    let left = sites::left_behind(&s, &anna, site).await.unwrap();
    assert_eq!(left.len(), 1);
    let l = &left[0];
    assert_eq!(
        (l.email.as_str(), l.has_access),
        ("ida@installer.se", false)
    );
    let names: Vec<&str> = l.reporters.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["Ida's partner", "Kept"]);
    assert_eq!(
        l.reporters[0].partner.as_deref(),
        Some("ida-partner.example")
    );
    assert_eq!(
        l.monitors.iter().map(|m| m.id).collect::<Vec<_>>(),
        [hers.monitor_id],
        "Anna's own monitor is not listed"
    );

    // One action each: keep one reporter, delete the other, a new token for the monitor.
    sites::keep_left_behind(&s, &anna, site, Kept::Reporter(kept))
        .await
        .unwrap();
    reporters::delete(&s, &anna, forwards).await.unwrap();
    let token = monitors::rotate_token(&s, &anna, hers.monitor_id)
        .await
        .unwrap();
    assert!(
        sites::left_behind(&s, &anna, site)
            .await
            .unwrap()
            .is_empty()
    );
    // The old token Ida saw no longer works; the new one does.
    let device = |token: &str| {
        let token = token.to_string();
        let s = s.clone();
        async move {
            monitors::authorize(&s, hers.monitor_id, Some(&token))
                .await
                .unwrap()
                .is_ok()
        }
    };
    assert!(device(&token.token).await);
    let _ = annas;
    // Keeping something that is not on the site changes nothing.
    assert!(matches!(
        sites::keep_left_behind(&s, &anna, site, Kept::Reporter(999_999)).await,
        Err(Error::NotFound)
    ));
}

/// Guessing a password through several processes on one PostgreSQL database counts against
/// one limit, not one each: here two `Services` on the same database (as two processes have).
/// On SQLite (one process) the limit lives in memory, and one `Services` is the whole server.
#[tokio::test]
async fn log_in_limits_count_across_processes() {
    let dir = tempfile::tempdir().unwrap();
    let url = backend::testing::database_url(dir.path()).await;
    let db = Database::connect(&url).await.unwrap();
    let a = Services::new(&db);
    let b = if backend::testing::on_postgres() {
        Services::new(&Database::connect(&url).await.unwrap())
    } else {
        a.clone()
    };
    account(&a, "anna@example.se", Role::Owner).await;
    let from = Some("192.0.2.1".parse().unwrap());
    for n in 0..5 {
        let through = if n % 2 == 0 { &a } else { &b };
        let wrong = accounts::log_in(through, "anna@example.se", "wrong-password", from).await;
        assert!(matches!(wrong, Err(Error::BadCredentials)), "guess {n}");
    }
    for (name, through) in [("first", &a), ("second", &b)] {
        let refused = accounts::log_in(through, "anna@example.se", PASSWORD, from).await;
        assert!(
            matches!(refused, Err(Error::RateLimited { .. })),
            "{name} process let a sixth try through"
        );
    }
}

/// Settings → Site's grid operator: kept, changed, forgotten; an operator or tariff the tariff
/// data lacks is refused by field and changes nothing.
#[tokio::test]
async fn a_sites_grid_operator_is_kept_and_a_bad_choice_changes_nothing() {
    use backend::charging::{set_site_grid, site_grid};
    use model::charging::{PeakGuard, SiteGrid, SiteGridInput};
    let (s, _dir) = services().await;
    let anna = account(&s, "anna@example.se", Role::Owner).await;
    let id = sites::create(&s, &anna, &villa(), "").await.unwrap();
    let input = |operator: &str, tariff: &str| SiteGridInput {
        operator: operator.into(),
        tariff: tariff.into(),
        ..SiteGridInput::default()
    };
    let guarded = |mode: &str, kw: &str| SiteGridInput {
        guard: mode.into(),
        guard_kw: kw.into(),
        ..input("goteborg-energi", "")
    };
    let chosen = |operator: &str, tariff: Option<&str>| SiteGrid {
        operator: Some(operator.into()),
        tariff: tariff.map(str::to_string),
        guard: PeakGuard::Off,
    };
    let guard = |guard: PeakGuard| SiteGrid {
        guard,
        ..chosen("goteborg-energi", None)
    };
    assert_eq!(site_grid(&s, &anna, id).await.unwrap(), SiteGrid::default());
    let cases: Vec<(&str, SiteGridInput, Result<SiteGrid, &str>)> = vec![
        (
            "an operator, its usual tariff",
            input("ellevio", ""),
            Ok(chosen("ellevio", None)),
        ),
        (
            "another, with a tariff of its own",
            input("goteborg-energi", "Tidsbaserad, 14 kW"),
            Ok(chosen("goteborg-energi", Some("Tidsbaserad, 14 kW"))),
        ),
        (
            "an operator the data lacks",
            input("nowhere-energi", ""),
            Err("operator"),
        ),
        (
            "a tariff the operator lacks",
            input("ellevio", "Tidsbaserad, 14 kW"),
            Err("tariff"),
        ),
        (
            "a guard that never raises the bill, from 4.5 kW (a Swedish comma)",
            guarded("billed", "4,5"),
            Ok(guard(PeakGuard::Billed { start_w: 4500 })),
        ),
        (
            "a cap of 5 kW",
            guarded("cap", "5"),
            Ok(guard(PeakGuard::Cap { cap_w: 5000 })),
        ),
        (
            "a cap that is not a number",
            guarded("cap", "five"),
            Err("guard_kw"),
        ),
        ("a cap of nothing", guarded("cap", ""), Err("guard_kw")),
        (
            "a cap below any house",
            guarded("cap", "0.2"),
            Err("guard_kw"),
        ),
        (
            "a cap past any fuse",
            guarded("cap", "250"),
            Err("guard_kw"),
        ),
        ("a guard we do not know", guarded("max", "5"), Err("guard")),
        (
            "the guard off: its level is not asked for",
            guarded("off", "five"),
            Ok(guard(PeakGuard::Off)),
        ),
        ("none: forgotten", input("", ""), Ok(SiteGrid::default())),
    ];
    let mut stored = SiteGrid::default();
    for (name, input, want) in cases {
        let got = set_site_grid(&s, &anna, id, &input).await;
        match want {
            Ok(want) => {
                assert_eq!(got.unwrap(), want, "{name}");
                stored = want;
            }
            Err(field) => match got {
                Err(Error::Invalid(error)) => assert_eq!(error.field, field, "{name}"),
                other => panic!("{name}: {other:?}"),
            },
        }
        assert_eq!(
            site_grid(&s, &anna, id).await.unwrap(),
            stored,
            "{name}: stored"
        );
    }
}
