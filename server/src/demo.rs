//! The demo household that the README's run command creates, so a newcomer can log in at once.

use backend::{Error, Services, accounts, sites};
use model::{Role, SiteInput};

pub const DEMO_EMAIL: &str = "demo@ampwise.se";
pub const DEMO_PASSWORD: &str = "laddbox-solsken-2026";

/// Creates the demo account and its site unless they exist, and prints the login.
pub async fn seed(services: &Services) -> Result<(), Error> {
    let account = match accounts::sign_up(services, DEMO_EMAIL, DEMO_PASSWORD, Role::Owner).await {
        Ok(account) => account,
        Err(Error::EmailTaken) => services
            .repo
            .account_by_email(DEMO_EMAIL)
            .await?
            .ok_or(Error::NotFound)?,
        Err(e) => return Err(e),
    };
    if sites::list(services, &account).await?.is_empty() {
        let home = SiteInput {
            name: "Villa Solsken".into(),
            address: "Solskensvägen 12, 752 36 Uppsala".into(),
            time_zone: "Europe/Stockholm".into(),
            price_area: "SE3".into(),
            main_fuse_a: "20".into(),
        };
        sites::create(services, &account, &home, "").await?;
    }
    println!("Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}");
    Ok(())
}
