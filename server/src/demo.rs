//! The demo household that the README's run command creates, so a newcomer can log in at once
//! and watch its monitor (fed by `ampwise simulate`) on the overview.

use std::path::Path;

use backend::{Error, Services, accounts, monitors, sites};
use model::monitor::{DeviceToken, MonitorInput};
use model::{Role, SiteInput};

pub const DEMO_EMAIL: &str = "demo@ampwise.se";
pub const DEMO_PASSWORD: &str = "laddbox-solsken-2026";

/// Creates the demo account, its site and its monitor unless they exist, and prints the login.
/// With `device_file`, writes the monitor's id and a fresh device token there for the simulator.
pub async fn seed(services: &Services, device_file: Option<&Path>) -> Result<(), Error> {
    let account = match accounts::sign_up(services, DEMO_EMAIL, DEMO_PASSWORD, Role::Owner).await {
        Ok(account) => account,
        Err(Error::EmailTaken) => services
            .repo
            .account_by_email(DEMO_EMAIL)
            .await?
            .ok_or(Error::NotFound)?,
        Err(e) => return Err(e),
    };
    let site_id = match sites::list(services, &account).await?.first() {
        Some(site) => site.id,
        None => {
            let home = SiteInput {
                name: "Villa Solsken".into(),
                address: "Solskensvägen 12, 752 36 Uppsala".into(),
                time_zone: "Europe/Stockholm".into(),
                price_area: "SE3".into(),
                main_fuse_a: "20".into(),
            };
            sites::create(services, &account, &home, "").await?
        }
    };
    if let Some(path) = device_file {
        let existing = monitors::list(services, &account)
            .await?
            .into_iter()
            .find(|m| m.site_id == site_id);
        let device: DeviceToken = match existing {
            // The token is stored hashed: a restart issues a new one.
            Some(monitor) => monitors::rotate_token(services, &account, monitor.id).await?,
            None => {
                let input = MonitorInput {
                    site_id: site_id.to_string(),
                    name: "Mains meter".into(),
                    phases: "3".into(),
                    kind: "http".into(),
                };
                monitors::create(services, &account, &input).await?
            }
        };
        // Written whole, then renamed: the simulator starts as soon as the file appears.
        let json = serde_json::to_string_pretty(&device).unwrap_or_default();
        let partial = path.with_extension("partial");
        let written = std::fs::write(&partial, json).and_then(|()| std::fs::rename(&partial, path));
        if let Err(e) = written {
            tracing::error!(error = %e, path = %path.display(), "could not write the demo device file");
        }
    }
    println!("Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}");
    Ok(())
}
