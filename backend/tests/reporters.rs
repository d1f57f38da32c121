//! Reporters against a real database (SQLite, or PostgreSQL with AMPWISE_TEST_POSTGRES): the wizard's rules (licences, serials, monitors),
//! who may do what, and the leases that say which process forwards which reporter.

use backend::db::{Lease, LeaseCensus};
use backend::licences::{self, LicenceKey};
use backend::secrets::SecretKind;
use backend::{Database, Error, Services, accounts, monitors, reporters, sites};
use model::monitor::MonitorInput;
use model::reporter::{Facts, Problem, ReporterInput};
use model::{Account, Capability, Role, SiteInput};

const PASSWORD: &str = "Kvarnvägen-Laddbox-42";

struct World {
    s: Services,
    key: LicenceKey,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let url = backend::testing::database_url(dir.path()).await;
    let key = LicenceKey::from_hex(&"5a".repeat(32)).unwrap();
    let s =
        Services::new(&Database::connect(&url).await.unwrap()).with_licence_key(Some(key.clone()));
    World { s, key, _dir: dir }
}

impl World {
    async fn account(&self, email: &str, role: Role) -> Account {
        accounts::sign_up(&self.s, email, PASSWORD, role, None)
            .await
            .unwrap()
            .account()
            .unwrap()
    }

    async fn site(&self, owner: &Account, name: &str) -> i64 {
        let input = SiteInput {
            name: name.into(),
            address: "Ekvägen 3".into(),
            time_zone: "Europe/Stockholm".into(),
            price_area: "SE3".into(),
            main_fuse_a: "25".into(),
        };
        sites::create(&self.s, owner, &input, "").await.unwrap()
    }

    async fn monitor(&self, actor: &Account, site_id: i64) -> i64 {
        let input = MonitorInput {
            site_id: site_id.to_string(),
            name: "Mains".into(),
            phases: "3".into(),
            kind: "http".into(),
        };
        monitors::create(&self.s, actor, &input)
            .await
            .unwrap()
            .monitor_id
    }

    async fn licence(&self, actor: &Account) {
        let code = licences::mint(&self.s, &self.key, Capability::ChargeAmps, 1)
            .await
            .unwrap()
            .remove(0);
        licences::redeem(&self.s, actor, &code)
            .await
            .unwrap()
            .unwrap();
    }
}

fn charge_amps(site_id: i64, monitor_id: i64, serial: &str) -> ReporterInput {
    ReporterInput {
        site_id: site_id.to_string(),
        kind: "charge_amps".into(),
        name: "Charge Amps charge control".into(),
        serial: serial.into(),
        main_fuse_a: "25".into(),
        monitor_id: monitor_id.to_string(),
        // These tests save several on one monitor; the question before the second has its own.
        allow_second: true,
        ..Default::default()
    }
}

fn field(e: Error) -> (&'static str, &'static str) {
    match e {
        Error::Invalid(f) => (f.field, f.key),
        e => panic!("expected a field error, got {e:?}"),
    }
}

#[tokio::test]
async fn a_charge_amps_reporter_holds_one_licence_until_deleted() {
    let w = world().await;
    let anna = w.account("anna@example.se", Role::Owner).await;
    let site = w.site(&anna, "Villa Ek").await;
    let monitor = w.monitor(&anna, site).await;

    // Without a licence: the wizard says so, and saving is refused.
    assert_eq!(
        reporters::options(&w.s, &anna)
            .await
            .unwrap()
            .free_charge_amps_licences,
        0
    );
    let creds = reporters::new_credentials(&w.s, &anna).await.unwrap();
    let refused = reporters::create(&w.s, &anna, &charge_amps(site, monitor, &creds.serial)).await;
    assert_eq!(
        field(refused.unwrap_err()),
        ("kind", "error.reporter_licence_missing")
    );

    w.licence(&anna).await;
    assert_eq!(
        reporters::options(&w.s, &anna)
            .await
            .unwrap()
            .free_charge_amps_licences,
        1
    );
    let id = reporters::create(
        &w.s,
        &anna,
        &charge_amps(site, monitor, &creds.serial.to_lowercase()),
    )
    .await
    .unwrap();
    let saved = reporters::get(&w.s, &anna, id).await.unwrap();
    assert_eq!(saved.serial, creds.serial);
    assert_eq!(saved.pin.as_deref(), Some(creds.pin.as_str()));
    assert_eq!(saved.main_fuse_a, 25);
    assert_eq!(
        reporters::options(&w.s, &anna)
            .await
            .unwrap()
            .free_charge_amps_licences,
        0
    );

    // The licence is taken: a second reporter needs another.
    let second = reporters::new_credentials(&w.s, &anna).await.unwrap();
    let refused = reporters::create(&w.s, &anna, &charge_amps(site, monitor, &second.serial)).await;
    assert_eq!(
        field(refused.unwrap_err()),
        ("kind", "error.reporter_licence_missing")
    );

    // The monitor it forwards cannot be deleted from under it.
    let refused = monitors::delete(&w.s, &anna, monitor).await;
    assert_eq!(
        field(refused.unwrap_err()),
        ("monitor", "error.monitor_has_reporter")
    );

    reporters::delete(&w.s, &anna, id).await.unwrap();
    assert_eq!(
        reporters::options(&w.s, &anna)
            .await
            .unwrap()
            .free_charge_amps_licences,
        1
    );
    reporters::create(&w.s, &anna, &charge_amps(site, monitor, &second.serial))
        .await
        .unwrap();
}

#[tokio::test]
async fn serials_are_the_wizards_own_and_used_once() {
    let w = world().await;
    let anna = w.account("anna@example.se", Role::Owner).await;
    let eva = w.account("eva@installer.se", Role::Installer).await;
    let site = w.site(&anna, "Villa Ek").await;
    let monitor = w.monitor(&anna, site).await;
    w.licence(&anna).await;
    w.licence(&anna).await;
    let evas = reporters::new_credentials(&w.s, &eva).await.unwrap();
    let cases = [
        (
            "never_issued",
            "AMPW-2345-6789",
            "error.reporter_serial_missing",
        ),
        (
            "issued_to_someone_else",
            evas.serial.as_str(),
            "error.reporter_serial_missing",
        ),
    ];
    for (name, serial, key) in cases {
        let refused = reporters::create(&w.s, &anna, &charge_amps(site, monitor, serial)).await;
        assert_eq!(field(refused.unwrap_err()), ("serial", key), "{name}");
    }
    let mine = reporters::new_credentials(&w.s, &anna).await.unwrap();
    reporters::create(&w.s, &anna, &charge_amps(site, monitor, &mine.serial))
        .await
        .unwrap();
    // Saving the same wizard twice (a double click) makes one reporter.
    let again = reporters::create(&w.s, &anna, &charge_amps(site, monitor, &mine.serial)).await;
    assert_eq!(
        field(again.unwrap_err()),
        ("serial", "error.reporter_serial_used")
    );
    assert_eq!(reporters::list(&w.s, &anna).await.unwrap().len(), 1);
    // Someone else trying Anna's used serial learns no more than from one never handed out.
    let bo = w.account("bo@example.se", Role::Owner).await;
    let bo_site = w.site(&bo, "Villa Bo").await;
    let bo_monitor = w.monitor(&bo, bo_site).await;
    w.licence(&bo).await;
    let taken = reporters::create(&w.s, &bo, &charge_amps(bo_site, bo_monitor, &mine.serial)).await;
    assert_eq!(
        field(taken.unwrap_err()),
        ("serial", "error.reporter_serial_missing")
    );
}

#[tokio::test]
async fn the_monitor_must_be_on_the_reporters_site() {
    let w = world().await;
    let anna = w.account("anna@example.se", Role::Owner).await;
    let home = w.site(&anna, "Villa Ek").await;
    let cabin = w.site(&anna, "Sommarstuga").await;
    let cabin_monitor = w.monitor(&anna, cabin).await;
    w.licence(&anna).await;
    let creds = reporters::new_credentials(&w.s, &anna).await.unwrap();
    let refused = reporters::create(
        &w.s,
        &anna,
        &charge_amps(home, cabin_monitor, &creds.serial),
    )
    .await;
    assert_eq!(
        field(refused.unwrap_err()),
        ("monitor_id", "error.reporter_monitor_required")
    );
}

#[tokio::test]
async fn an_open_reporter_needs_no_licence_and_keeps_its_password_when_edited() {
    let w = world().await;
    let anna = w.account("anna@example.se", Role::Owner).await;
    let site = w.site(&anna, "Villa Ek").await;
    let monitor = w.monitor(&anna, site).await;
    let input = ReporterInput {
        kind: "open_reporter".into(),
        name: "Partner X".into(),
        serial: String::new(),
        create_token_url: "https://partner.example/api/token".into(),
        update_url: "https://partner.example/api/update".into(),
        username: "villa-ek".into(),
        password: "s3cret".into(),
        ..charge_amps(site, monitor, "")
    };
    let id = reporters::create(&w.s, &anna, &input).await.unwrap();
    let edit = ReporterInput {
        name: "Partner Y".into(),
        main_fuse_a: "35".into(),
        password: String::new(),
        ..input
    };
    reporters::update(&w.s, &anna, id, &edit).await.unwrap();
    let configs = w.s.reporters.forward_configs(&[id]).await.unwrap();
    let target = configs[0].open_reporter.clone().unwrap();
    let stored = target.password.unwrap();
    assert_eq!(
        w.s.secrets
            .open(SecretKind::PartnerPassword, &configs[0].serial, &stored)
            .unwrap(),
        "s3cret"
    );
    let shown = reporters::get(&w.s, &anna, id).await.unwrap();
    assert_eq!((shown.name.as_str(), shown.main_fuse_a), ("Partner Y", 35));
    assert!(
        model::reporter::is_serial(&shown.serial),
        "{}",
        shown.serial
    );
    assert_eq!(shown.pin, None);
}

/// The stored password goes only where it went before: a new address or username asks for it
/// again (the review: an installer could send the household's password to a URL of their own).
#[tokio::test]
async fn a_new_partner_address_or_username_needs_the_password_again() {
    let w = world().await;
    let anna = w.account("anna@example.se", Role::Owner).await;
    let site = w.site(&anna, "Villa Ek").await;
    let monitor = w.monitor(&anna, site).await;
    let input = ReporterInput {
        kind: "open_reporter".into(),
        name: "Partner X".into(),
        create_token_url: "https://partner.example/api/token".into(),
        update_url: "https://partner.example/api/update".into(),
        username: "villa-ek".into(),
        password: "s3cret".into(),
        ..charge_amps(site, monitor, "")
    };
    let id = reporters::create(&w.s, &anna, &input).await.unwrap();
    type Change = fn(&mut ReporterInput);
    let cases: [(&str, Change); 3] = [
        ("token URL", |i| {
            i.create_token_url = "https://attacker.example/token".into()
        }),
        ("update URL", |i| {
            i.update_url = "https://attacker.example/update".into()
        }),
        ("username", |i| i.username = "someone-else".into()),
    ];
    for (what, change) in cases {
        let mut edit = ReporterInput {
            password: String::new(),
            ..input.clone()
        };
        change(&mut edit);
        let refused = reporters::update(&w.s, &anna, id, &edit).await;
        assert_eq!(
            field(refused.unwrap_err()),
            ("password", "error.partner_password_again"),
            "{what}"
        );
        let target = w.s.reporters.forward_configs(&[id]).await.unwrap()[0]
            .open_reporter
            .clone()
            .unwrap();
        assert_eq!(
            (target.create_token_url.as_str(), target.username.as_str()),
            ("https://partner.example/api/token", "villa-ek"),
            "{what}: nothing changed"
        );
        // With the password typed again, the change is saved.
        edit.password = "n3w-s3cret".into();
        reporters::update(&w.s, &anna, id, &edit).await.unwrap();
        reporters::update(&w.s, &anna, id, &input).await.unwrap();
    }
}

/// What the server would post to every few seconds must be a public https address.
#[tokio::test]
async fn partner_addresses_on_private_networks_are_refused() {
    let w = world().await;
    let anna = w.account("anna@example.se", Role::Owner).await;
    let site = w.site(&anna, "Villa Ek").await;
    let monitor = w.monitor(&anna, site).await;
    let cases = [
        ("loopback", "https://127.0.0.1/update", "error.url_private"),
        (
            "loopback short",
            "https://127.1/update",
            "error.url_private",
        ),
        (
            "loopback decimal",
            "https://2130706433/update",
            "error.url_private",
        ),
        ("ipv6 loopback", "https://[::1]/update", "error.url_private"),
        ("unspecified", "https://0.0.0.0/update", "error.url_private"),
        (
            "metadata",
            "https://169.254.169.254/latest/meta-data",
            "error.url_private",
        ),
        (
            "credentials",
            "https://user@127.0.0.1/update",
            "error.url_credentials",
        ),
        (
            "our own log-in",
            "http://127.0.0.1:3000/api/log_in",
            "error.url_https_required",
        ),
    ];
    for (name, url, key) in cases {
        let input = ReporterInput {
            kind: "open_reporter".into(),
            name: "Partner X".into(),
            create_token_url: "https://partner.example/api/token".into(),
            update_url: url.into(),
            username: "villa-ek".into(),
            password: "s3cret".into(),
            ..charge_amps(site, monitor, "")
        };
        let refused = reporters::create(&w.s, &anna, &input).await;
        assert_eq!(field(refused.unwrap_err()), ("update_url", key), "{name}");
    }
    assert!(reporters::list(&w.s, &anna).await.unwrap().is_empty());
}

/// Each reporter posts every few seconds: a site's count bounds what one household can make
/// the server send (the review saved 60 in 0.8 s).
#[tokio::test]
async fn a_site_has_at_most_its_share_of_reporters() {
    let w = world().await;
    let s = w.s.clone().with_reporters_per_site(3);
    let anna = w.account("anna@example.se", Role::Owner).await;
    let site = w.site(&anna, "Villa Ek").await;
    let monitor = w.monitor(&anna, site).await;
    let input = ReporterInput {
        kind: "open_reporter".into(),
        name: "Partner X".into(),
        create_token_url: "https://partner.example/api/token".into(),
        update_url: "https://partner.example/api/update".into(),
        username: "villa-ek".into(),
        password: "s3cret".into(),
        ..charge_amps(site, monitor, "")
    };
    let tries =
        futures_util::future::join_all((0..6).map(|_| reporters::create(&s, &anna, &input))).await;
    assert_eq!(tries.iter().filter(|t| t.is_ok()).count(), 3);
    let refused = tries.into_iter().find_map(Result::err).unwrap();
    assert_eq!(field(refused), ("site_id", "error.reporter_site_full"));
    assert_eq!(reporters::list(&s, &anna).await.unwrap().len(), 3);
}

/// A second reporter of the same kind on a monitor that has one is asked about first (the
/// review saved one beside an ACTIVE one without a word, taking the last licence); another kind
/// on the same monitor, or the same kind on another, is not.
#[tokio::test]
async fn a_second_reporter_on_a_monitor_is_asked_about_first() {
    let w = world().await;
    let anna = w.account("anna@example.se", Role::Owner).await;
    let site = w.site(&anna, "Villa Ek").await;
    let monitor = w.monitor(&anna, site).await;
    let partner = |name: &str| ReporterInput {
        kind: "open_reporter".into(),
        name: name.into(),
        create_token_url: "https://partner.example/token".into(),
        update_url: "https://partner.example/update".into(),
        username: "ek".into(),
        password: "s3cret".into(),
        allow_second: false,
        ..charge_amps(site, monitor, "")
    };
    reporters::create(&w.s, &anna, &partner("First"))
        .await
        .unwrap();
    let asked = reporters::create(&w.s, &anna, &partner("Second")).await;
    assert_eq!(
        field(asked.unwrap_err()),
        ("monitor_id", "error.reporter_monitor_has_one")
    );
    assert_eq!(reporters::list(&w.s, &anna).await.unwrap().len(), 1);
    // Confirmed, it is saved.
    let confirmed = ReporterInput {
        allow_second: true,
        ..partner("Second")
    };
    reporters::create(&w.s, &anna, &confirmed).await.unwrap();
    // Another kind on the same monitor needs no question.
    w.licence(&anna).await;
    let creds = reporters::new_credentials(&w.s, &anna).await.unwrap();
    let charge = ReporterInput {
        allow_second: false,
        ..charge_amps(site, monitor, &creds.serial)
    };
    reporters::create(&w.s, &anna, &charge).await.unwrap();
}

/// The wizard's serial number and PIN are reserved per account and site: a reload or a second
/// tab gets the same pair, saving the reporter or discarding the draft lets it go.
#[tokio::test]
async fn a_draft_keeps_its_serial_until_saved_or_discarded() {
    let w = world().await;
    let anna = w.account("anna@example.se", Role::Owner).await;
    let site = w.site(&anna, "Villa Ek").await;
    let other = w.site(&anna, "Sommarstugan").await;
    let monitor = w.monitor(&anna, site).await;
    w.licence(&anna).await;
    let first = reporters::draft_credentials(&w.s, &anna, site)
        .await
        .unwrap();
    let again = reporters::draft_credentials(&w.s, &anna, site)
        .await
        .unwrap();
    assert_eq!(first, again, "a reload gets the same serial and PIN");
    let elsewhere = reporters::draft_credentials(&w.s, &anna, other)
        .await
        .unwrap();
    assert_ne!(
        first.serial, elsewhere.serial,
        "another site, another draft"
    );
    let fields = model::reporter::DraftFields {
        step: 4,
        kind: "charge_amps".into(),
        name: "Garage".into(),
        main_fuse_a: "25".into(),
        ..Default::default()
    };
    reporters::save_draft(&w.s, &anna, site, &fields)
        .await
        .unwrap();
    let drafts = reporters::drafts(&w.s, &anna).await.unwrap();
    let kept = drafts.iter().find(|d| d.site_id == site).unwrap();
    assert_eq!(
        (&kept.fields, &kept.credentials),
        (&fields, &Some(first.clone()))
    );
    // A stranger has no draft there, and cannot make one.
    let bo = w.account("bo@example.se", Role::Owner).await;
    assert!(matches!(
        reporters::draft_credentials(&w.s, &bo, site).await,
        Err(Error::NotFound)
    ));
    // Saved: the draft is gone; the other site's stays until discarded.
    reporters::create(&w.s, &anna, &charge_amps(site, monitor, &first.serial))
        .await
        .unwrap();
    let left: Vec<i64> = reporters::drafts(&w.s, &anna)
        .await
        .unwrap()
        .iter()
        .map(|d| d.site_id)
        .collect();
    assert_eq!(left, [other]);
    reporters::discard_draft(&w.s, &anna, other).await.unwrap();
    assert!(reporters::drafts(&w.s, &anna).await.unwrap().is_empty());
}

#[tokio::test]
async fn nobody_reaches_anothers_reporter() {
    let w = world().await;
    let anna = w.account("anna@example.se", Role::Owner).await;
    let stranger = w.account("stranger@example.se", Role::Owner).await;
    let site = w.site(&anna, "Villa Ek").await;
    let monitor = w.monitor(&anna, site).await;
    w.licence(&anna).await;
    let creds = reporters::new_credentials(&w.s, &anna).await.unwrap();
    let id = reporters::create(&w.s, &anna, &charge_amps(site, monitor, &creds.serial))
        .await
        .unwrap();
    assert!(matches!(
        reporters::get(&w.s, &stranger, id).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        reporters::set_paused(&w.s, &stranger, id, true).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        reporters::regenerate_pin(&w.s, &stranger, id).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        reporters::delete(&w.s, &stranger, id).await,
        Err(Error::NotFound)
    ));
    assert!(reporters::list(&w.s, &stranger).await.unwrap().is_empty());
    // And the reporter is as it was.
    let same = reporters::get(&w.s, &anna, id).await.unwrap();
    assert_eq!((same.paused, same.pin), (false, Some(creds.pin)));
}

#[tokio::test]
async fn a_new_pin_replaces_the_old_one() {
    let w = world().await;
    let anna = w.account("anna@example.se", Role::Owner).await;
    let site = w.site(&anna, "Villa Ek").await;
    let monitor = w.monitor(&anna, site).await;
    w.licence(&anna).await;
    let creds = reporters::new_credentials(&w.s, &anna).await.unwrap();
    let id = reporters::create(&w.s, &anna, &charge_amps(site, monitor, &creds.serial))
        .await
        .unwrap();
    let before = w.s.reporters.forward_configs(&[id]).await.unwrap()[0].version;
    let renewed = reporters::regenerate_pin(&w.s, &anna, id).await.unwrap();
    assert_ne!(renewed.pin, creds.pin);
    let config =
        w.s.reporters
            .forward_configs(&[id])
            .await
            .unwrap()
            .remove(0);
    let stored = config.pin.unwrap();
    assert_eq!(
        w.s.secrets
            .open(SecretKind::Pin, &config.serial, &stored)
            .unwrap(),
        renewed.pin
    );
    assert!(
        config.version > before,
        "the forwarder reloads on a new version"
    );
}

#[tokio::test]
async fn leases_share_the_reporters_between_processes() {
    let w = world().await;
    let anna = w.account("anna@example.se", Role::Owner).await;
    let site = w.site(&anna, "Villa Ek").await;
    let monitor = w.monitor(&anna, site).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        w.licence(&anna).await;
        let creds = reporters::new_credentials(&w.s, &anna).await.unwrap();
        ids.push(
            reporters::create(&w.s, &anna, &charge_amps(site, monitor, &creds.serial))
                .await
                .unwrap(),
        );
    }
    let repo = &w.s.reporters;
    let held = |list: Vec<Lease>| list.into_iter().map(|l| l.id).collect::<Vec<_>>();
    const TTL: i64 = 30_000;
    // A takes two, B the one left; neither takes what the other holds.
    assert_eq!(
        held(repo.claim_leases("a", 0, TTL, 2, &[]).await.unwrap()),
        ids[..2]
    );
    assert_eq!(
        held(repo.claim_leases("b", 1_000, TTL, 10, &[]).await.unwrap()),
        ids[2..]
    );
    assert_eq!(
        held(repo.claim_leases("a", 2_000, TTL, 10, &[]).await.unwrap()),
        ids[..2]
    );
    // What the policy divides: three reporters, two live processes, A holding two.
    assert_eq!(
        repo.lease_census("a", 2_000).await.unwrap(),
        LeaseCensus {
            reporters: 3,
            holders: 2,
            held: 2,
            // "a" comes before "b": it leads.
            leader: true,
        }
    );
    // A renews; B stops renewing, and after its lease expires A takes its reporter over.
    assert_eq!(
        held(repo.claim_leases("a", 25_000, TTL, 10, &[]).await.unwrap()),
        ids[..2]
    );
    assert_eq!(repo.lease_census("a", 31_001).await.unwrap().holders, 1);
    // B leads only while A's row is not live.
    assert!(!repo.lease_census("b", 25_000).await.unwrap().leader);
    assert_eq!(
        held(repo.claim_leases("a", 31_001, TTL, 10, &[]).await.unwrap()),
        ids
    );
    // A paused reporter is nobody's; resumed, it is taken again.
    reporters::set_paused(&w.s, &anna, ids[0], true)
        .await
        .unwrap();
    assert_eq!(
        held(repo.claim_leases("a", 32_000, TTL, 10, &[]).await.unwrap()),
        ids[1..]
    );
    reporters::set_paused(&w.s, &anna, ids[0], false)
        .await
        .unwrap();
    assert_eq!(
        held(repo.claim_leases("b", 33_000, TTL, 10, &[]).await.unwrap()),
        ids[..1]
    );
    // A gives one up (its share shrank): B takes it at its next scan.
    assert_eq!(
        held(
            repo.claim_leases("a", 33_500, TTL, 0, &ids[2..])
                .await
                .unwrap()
        ),
        ids[1..2]
    );
    assert_eq!(
        held(repo.claim_leases("b", 33_600, TTL, 10, &[]).await.unwrap()),
        [ids[0], ids[2]]
    );
    // Shutting down gives them up at once.
    repo.release_leases("a").await.unwrap();
    assert_eq!(
        held(repo.claim_leases("b", 34_000, TTL, 10, &[]).await.unwrap()),
        ids
    );
}

#[tokio::test]
async fn the_forwarders_state_is_kept_and_only_its_leaseholder_writes_it() {
    let w = world().await;
    let anna = w.account("anna@example.se", Role::Owner).await;
    let site = w.site(&anna, "Villa Ek").await;
    let monitor = w.monitor(&anna, site).await;
    w.licence(&anna).await;
    let creds = reporters::new_credentials(&w.s, &anna).await.unwrap();
    let id = reporters::create(&w.s, &anna, &charge_amps(site, monitor, &creds.serial))
        .await
        .unwrap();
    let repo = &w.s.reporters;
    let facts = |sent: i64| Facts {
        sent_ts: Some(sent),
        reading_ts: Some(1_500),
        accepted_at: Some(2_000),
        failed_at: Some(3_000),
        problem: Some(Problem::Unreachable),
        offline: true,
        failures: 4,
        trouble_since: Some(2_500),
    };
    const TTL: i64 = 10_000;
    let a = repo.claim_leases("a", 0, TTL, 10, &[]).await.unwrap()[0];
    // A reporter deleted meanwhile (no lease) does not stop the others' state being saved.
    let gone = Lease { id: id + 1000, ..a };
    assert_eq!(
        repo.save_facts("a", &[(a, facts(1_000)), (gone, Facts::default())])
            .await
            .unwrap(),
        [id]
    );
    assert_eq!(
        reporters::get(&w.s, &anna, id).await.unwrap().facts,
        facts(1_000)
    );
    assert_eq!(
        repo.forward_configs(&[id]).await.unwrap()[0].facts,
        facts(1_000)
    );
    let stored = repo.stored_facts(&[id]).await.unwrap();
    assert_eq!(
        (stored[0].site_id, stored[0].paused, &stored[0].facts),
        (site, false, &facts(1_000))
    );

    // A stalls past its lease; B takes the reporter over with a new generation.
    let b = repo.claim_leases("b", TTL + 1, TTL, 10, &[]).await.unwrap()[0];
    assert_ne!(a.generation, b.generation);
    assert!(repo.save_facts("b", &[(b, facts(2_000))]).await.unwrap() == [id]);
    // A wakes up and writes what it had: fenced off, B's state stands.
    assert!(
        repo.save_facts("a", &[(a, facts(9_000))])
            .await
            .unwrap()
            .is_empty()
    );
    // Even if A takes the reporter back later, its old lease's writes stay fenced off.
    repo.release_leases("b").await.unwrap();
    let again = repo.claim_leases("a", TTL + 2, TTL, 10, &[]).await.unwrap()[0];
    assert_ne!(again.generation, a.generation);
    assert!(
        repo.save_facts("a", &[(a, facts(9_000))])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        repo.forward_configs(&[id]).await.unwrap()[0].facts,
        facts(2_000)
    );
}

#[tokio::test]
async fn reporters_saved_at_once_take_different_licences() {
    let w = world().await;
    let anna = w.account("anna@example.se", Role::Owner).await;
    let site = w.site(&anna, "Villa Ek").await;
    let monitor = w.monitor(&anna, site).await;
    let mut inputs = Vec::new();
    for _ in 0..4 {
        w.licence(&anna).await;
        let creds = reporters::new_credentials(&w.s, &anna).await.unwrap();
        inputs.push(charge_amps(site, monitor, &creds.serial));
    }
    let saved = futures_util::future::join_all(
        inputs
            .iter()
            .map(|input| reporters::create(&w.s, &anna, input)),
    )
    .await;
    assert!(saved.iter().all(Result::is_ok), "{saved:?}");
    assert_eq!(
        reporters::options(&w.s, &anna)
            .await
            .unwrap()
            .free_charge_amps_licences,
        0
    );
}
