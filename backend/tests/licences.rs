//! Redeeming licences against a real SQLite database.

use backend::licences::{self, LicenceKey, Refusal};
use backend::{Database, Services, accounts};
use model::{Account, Capability, Role};

const PASSWORD: &str = "Kvarnvägen-Laddbox-42";

async fn services() -> (Services, LicenceKey, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = backend::testing::database_url(dir.path()).await;
    let key = LicenceKey::from_hex(&"5a".repeat(32)).unwrap();
    let services =
        Services::new(&Database::connect(&url).await.unwrap()).with_licence_key(Some(key.clone()));
    (services, key, dir)
}

async fn account(s: &Services, email: &str) -> Account {
    accounts::sign_up(s, email, PASSWORD, Role::Installer, None)
        .await
        .unwrap()
        .account()
        .unwrap()
}

#[tokio::test]
async fn a_code_is_redeemed_once() {
    let (s, key, _dir) = services().await;
    let ivan = account(&s, "ivan@installer.se").await;
    let eva = account(&s, "eva@installer.se").await;
    let code = licences::mint(&s, &key, Capability::ChargeAmps, 1)
        .await
        .unwrap()
        .remove(0);

    assert!(
        !licences::has(&s, &ivan, Capability::ChargeAmps)
            .await
            .unwrap()
    );
    assert_eq!(
        licences::redeem(&s, &ivan, &code.to_lowercase())
            .await
            .unwrap(),
        Ok(Capability::ChargeAmps)
    );
    assert!(
        licences::has(&s, &ivan, Capability::ChargeAmps)
            .await
            .unwrap()
    );
    assert_eq!(
        licences::redeem(&s, &ivan, &code).await.unwrap(),
        Err(Refusal::AlreadyYours)
    );
    assert_eq!(
        licences::redeem(&s, &eva, &code).await.unwrap(),
        Err(Refusal::AlreadyUsed)
    );
    assert!(
        !licences::has(&s, &eva, Capability::ChargeAmps)
            .await
            .unwrap()
    );

    let listed = licences::active(&s, &ivan).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].code, code, "stored in canonical form");
}

#[tokio::test]
async fn concurrent_redemptions_grant_one_account() {
    let (s, key, _dir) = services().await;
    let mut accounts = Vec::new();
    for n in 0..8 {
        accounts.push(account(&s, &format!("installer{n}@example.se")).await);
    }
    let code = licences::mint(&s, &key, Capability::ChargeAmps, 1)
        .await
        .unwrap()
        .remove(0);
    let tries = accounts.iter().map(|a| {
        let (s, a, code) = (s.clone(), a.clone(), code.clone());
        tokio::spawn(async move { licences::redeem(&s, &a, &code).await.unwrap() })
    });
    let results: Vec<_> = futures_join(tries).await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(_) | Err(Refusal::AlreadyUsed))),
        "{results:?}"
    );
    let mut holders = 0;
    for a in &accounts {
        holders += usize::from(licences::has(&s, a, Capability::ChargeAmps).await.unwrap());
    }
    assert_eq!(holders, 1);
}

async fn futures_join<T>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles.collect::<Vec<_>>() {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn revoking_takes_the_capability_away_and_blocks_redemption() {
    let (s, key, _dir) = services().await;
    let ivan = account(&s, "ivan@installer.se").await;
    let codes = licences::mint(&s, &key, Capability::ChargeAmps, 2)
        .await
        .unwrap();
    licences::redeem(&s, &ivan, &codes[0])
        .await
        .unwrap()
        .unwrap();

    assert_eq!(
        licences::revoke(&s, &key, &codes[0]).await.unwrap(),
        Ok(true)
    );
    assert_eq!(
        licences::revoke(&s, &key, &codes[0]).await.unwrap(),
        Ok(false)
    );
    assert!(
        !licences::has(&s, &ivan, Capability::ChargeAmps)
            .await
            .unwrap()
    );

    licences::revoke(&s, &key, &codes[1])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        licences::redeem(&s, &ivan, &codes[1]).await.unwrap(),
        Err(Refusal::Revoked)
    );

    let listed = s.repo.minted_licences().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|l| l.revoked));
    assert_eq!(
        listed
            .iter()
            .filter(|l| l.redeemed_by.as_deref() == Some("ivan@installer.se"))
            .count(),
        1
    );
}

#[tokio::test]
async fn codes_from_another_key_are_refused() {
    let (s, _key, _dir) = services().await;
    let ivan = account(&s, "ivan@installer.se").await;
    let other = LicenceKey::from_hex(&"a5".repeat(32)).unwrap();
    let (forged, _) = licences::mint_code(&other, Capability::ChargeAmps);
    assert_eq!(
        licences::redeem(&s, &ivan, &forged).await.unwrap(),
        Err(Refusal::Invalid(licences::LicenceError::Forged))
    );
}

/// A code signed with our key that this server never minted (a leaked key, a code made on
/// another installation) is not one of ours.
#[tokio::test]
async fn codes_never_minted_here_are_refused() {
    let (s, key, _dir) = services().await;
    let ivan = account(&s, "ivan@installer.se").await;
    let (unlisted, _) = licences::mint_code(&key, Capability::ChargeAmps);
    assert_eq!(
        licences::redeem(&s, &ivan, &unlisted).await.unwrap(),
        Err(Refusal::Invalid(licences::LicenceError::Forged))
    );
    assert!(
        !licences::has(&s, &ivan, Capability::ChargeAmps)
            .await
            .unwrap()
    );
}

/// One account cannot try codes without end: fifteen at once, then a few an hour.
#[tokio::test]
async fn redeeming_is_rate_limited_per_account() {
    let (s, _key, _dir) = services().await;
    let ivan = account(&s, "ivan@installer.se").await;
    let eva = account(&s, "eva@installer.se").await;
    for _ in 0..15 {
        assert!(matches!(
            licences::redeem(&s, &ivan, "A2B3C-D4E5F-G6H7J-K8L9M").await,
            Ok(Err(Refusal::Invalid(_)))
        ));
    }
    assert!(matches!(
        licences::redeem(&s, &ivan, "A2B3C-D4E5F-G6H7J-K8L9M").await,
        Err(backend::Error::RateLimited { .. })
    ));
    // Eva is not held up by Ivan.
    assert!(matches!(
        licences::redeem(&s, &eva, "A2B3C-D4E5F-G6H7J-K8L9M").await,
        Ok(Err(Refusal::Invalid(_)))
    ));
}

#[tokio::test]
async fn without_a_key_redeeming_is_unavailable() {
    let (s, key, _dir) = services().await;
    let ivan = account(&s, "ivan@installer.se").await;
    let code = licences::mint(&s, &key, Capability::ChargeAmps, 1)
        .await
        .unwrap()
        .remove(0);
    let keyless = s.clone().with_licence_key(None);
    assert!(matches!(
        licences::redeem(&keyless, &ivan, &code).await,
        Err(backend::Error::Unavailable)
    ));
}
