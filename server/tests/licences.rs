//! Redeeming licence codes over HTTP, as the Licences page and a scanned QR link do.

mod common;

use axum::http::StatusCode;
use backend::licences::{self, LicenceKey};
use common::{TestApp, enc};
use model::Capability;
use rstest::rstest;

async fn mint(app: &TestApp, n: usize) -> Vec<String> {
    licences::mint(
        &app.state.services,
        &common::licence_key(),
        Capability::ChargeAmps,
        n,
    )
    .await
    .unwrap()
}

fn mistype(code: &str) -> String {
    // Change the third symbol to its neighbour in the alphabet.
    let mut chars: Vec<char> = code.chars().collect();
    let alphabet = model::licence::ALPHABET;
    let pos = alphabet
        .iter()
        .position(|&c| c as char == chars[2])
        .unwrap();
    chars[2] = alphabet[(pos + 1) % alphabet.len()] as char;
    chars.into_iter().collect()
}

#[rstest]
#[case::typed_canonical(|c: &str| c.to_string(), 200, None)]
#[case::typed_lower_case_without_dashes(|c: &str| c.to_lowercase().replace('-', ""), 200, None)]
#[case::scanned_link(|c: &str| format!("https://ampwise.se/settings/licences?code={c}"), 200, None)]
#[case::mistyped(|c: &str| mistype(c), 422, Some("error.licence_mistyped"))]
#[case::truncated(|c: &str| c[..20].to_string(), 422, Some("error.licence_length"))]
#[case::look_alike(|c: &str| c.replacen('A', "0", 1), 422, Some("error.licence_character"))]
#[case::not_a_code(|_: &str| "hello".to_string(), 422, Some("error.licence_character"))]
#[tokio::test]
async fn redeeming(
    #[case] typed: fn(&str) -> String,
    #[case] status: u16,
    #[case] key: Option<&str>,
) {
    let app = TestApp::new().await;
    let (cookie, _) = app.sign_up("ivan@installer.se", "installer").await;
    let code = mint(&app, 1).await.remove(0);
    let reply = app
        .call(
            "redeem_licence",
            Some(&cookie),
            &format!("code={}", enc(&typed(&code))),
        )
        .await;
    assert_eq!(reply.status.as_u16(), status, "{}", reply.body);
    let listed = app.call("list_licences", Some(&cookie), "").await.json();
    match key {
        None => {
            assert_eq!(reply.json(), serde_json::json!("integration.charge-amps"));
            assert_eq!(listed[0]["code"], code.as_str());
        }
        Some(key) => {
            assert_eq!(reply.json()["Invalid"]["key"], key);
            assert_eq!(
                listed,
                serde_json::json!([]),
                "a refused code grants nothing"
            );
        }
    }
}

#[tokio::test]
async fn second_redemption_is_refused_and_says_why() {
    let app = TestApp::new().await;
    let (ivan, _) = app.sign_up("ivan@installer.se", "installer").await;
    let (eva, _) = app.sign_up("eva@installer.se", "installer").await;
    let code = mint(&app, 1).await.remove(0);
    assert_eq!(
        app.call("redeem_licence", Some(&ivan), &format!("code={code}"))
            .await
            .status,
        StatusCode::OK
    );

    let again = app
        .call("redeem_licence", Some(&ivan), &format!("code={code}"))
        .await;
    assert_eq!(
        again.json()["Invalid"]["key"],
        "error.licence_already_yours"
    );
    let other = app
        .call("redeem_licence", Some(&eva), &format!("code={code}"))
        .await;
    assert_eq!(other.json()["Invalid"]["key"], "error.licence_used");
    assert_eq!(
        app.call("list_licences", Some(&eva), "").await.json(),
        serde_json::json!([])
    );
}

#[tokio::test]
async fn revoked_and_forged_codes() {
    let app = TestApp::new().await;
    let (ivan, _) = app.sign_up("ivan@installer.se", "installer").await;
    let codes = mint(&app, 2).await;
    app.call("redeem_licence", Some(&ivan), &format!("code={}", codes[0]))
        .await;
    licences::revoke(&app.state.services, &common::licence_key(), &codes[0])
        .await
        .unwrap()
        .unwrap();
    licences::revoke(&app.state.services, &common::licence_key(), &codes[1])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        app.call("list_licences", Some(&ivan), "").await.json(),
        serde_json::json!([]),
        "revoking takes it away"
    );
    let revoked = app
        .call("redeem_licence", Some(&ivan), &format!("code={}", codes[1]))
        .await;
    assert_eq!(revoked.json()["Invalid"]["key"], "error.licence_revoked");

    let other_key = LicenceKey::from_hex(&"77".repeat(32)).unwrap();
    let (forged, _) = licences::mint_code(&other_key, Capability::ChargeAmps);
    let reply = app
        .call("redeem_licence", Some(&ivan), &format!("code={forged}"))
        .await;
    assert_eq!(reply.json()["Invalid"]["key"], "error.licence_not_a_code");
}

#[tokio::test]
async fn licences_need_a_signed_in_account() {
    let app = TestApp::new().await;
    let code = mint(&app, 1).await.remove(0);
    assert_eq!(
        app.call("redeem_licence", None, &format!("code={code}"))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.call("list_licences", None, "").await.status,
        StatusCode::UNAUTHORIZED
    );
}
