//! Accounts and sites against a real SQLite database in a temporary folder.

use backend::{Database, Error, Services, accounts, sites};
use model::{Account, PriceArea, Role, SiteAccess, SiteInput};

const PASSWORD: &str = "Kvarnvägen-Laddbox-42";

async fn services() -> (Services, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let db = Database::connect(&url).await.unwrap();
    (Services::new(&db), dir)
}

async fn account(s: &Services, email: &str, role: Role) -> Account {
    accounts::sign_up(s, email, PASSWORD, role, None)
        .await
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

#[tokio::test]
async fn taken_email_is_refused_in_any_case() {
    let (s, _dir) = services().await;
    account(&s, "anna@example.se", Role::Owner).await;
    let err = accounts::sign_up(&s, "ANNA@example.se", PASSWORD, Role::Installer, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::EmailTaken), "{err:?}");
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

#[tokio::test]
async fn installer_creates_for_customer_and_loses_access_when_revoked() {
    let (s, _dir) = services().await;
    let anna = account(&s, "anna@example.se", Role::Owner).await;
    let ivan = account(&s, "ivan@installer.se", Role::Installer).await;

    for (customer, key) in [
        ("", "error.customer_required"),
        ("nobody@example.se", "error.customer_unknown"),
        ("ivan@installer.se", "error.customer_unknown"),
    ] {
        match sites::create(&s, &ivan, &villa(), customer).await {
            Err(Error::Invalid(e)) => {
                assert_eq!((e.field, e.key), ("customer_email", key), "{customer}")
            }
            other => panic!("{customer}: {other:?}"),
        }
    }

    let id = sites::create(&s, &ivan, &villa(), "Anna@example.se")
        .await
        .unwrap();
    let seen_by_anna = sites::get(&s, &anna, id).await.unwrap();
    assert_eq!(seen_by_anna.access, SiteAccess::Owner);
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

    sites::revoke(&s, &anna, id, ivan.id).await.unwrap();
    assert!(matches!(
        sites::get(&s, &ivan, id).await,
        Err(Error::NotFound)
    ));
    assert!(sites::list(&s, &ivan).await.unwrap().is_empty());

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

#[tokio::test]
async fn data_survives_reopening_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
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
