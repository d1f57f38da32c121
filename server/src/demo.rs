//! The demo household that the README's run command creates, so a newcomer can log in at once
//! and watch its monitor (fed by `ampwise simulate`) on the overview, with a Charge Amps reporter
//! forwarding to the Charge Amps simulator (whose load balancer and chargers `chargeamps-sim`
//! creates from the same device file).

use std::path::Path;

use backend::{Error, Services, accounts, licences, monitors, reporters, sites};
use model::monitor::{DeviceToken, MonitorInput};
use model::reporter::{ReporterInput, ReporterKind};
use model::{Account, Capability, Role, SiteInput};
use serde::Serialize;

pub const DEMO_EMAIL: &str = "demo@ampwise.se";
pub const DEMO_PASSWORD: &str = "laddbox-solsken-2026";

/// Creates the demo account, its site and its monitor unless they exist, and prints the login.
/// With `device_file`, writes the monitor's id and a fresh device token there for the simulator.
pub async fn seed(services: &Services, device_file: Option<&Path>) -> Result<(), Error> {
    let account =
        match accounts::sign_up(services, DEMO_EMAIL, DEMO_PASSWORD, Role::Owner, None).await? {
            accounts::SignedUp::Account(account) => account,
            // Its password was changed: the demo is someone's now.
            accounts::SignedUp::NotSignedIn => services
                .repo
                .account_by_email(DEMO_EMAIL)
                .await?
                .ok_or(Error::NotFound)?,
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
        let reporter = demo_reporter(services, &account, site_id, device.monitor_id).await?;
        // Written whole, then renamed: the simulators start as soon as the file appears.
        let json = serde_json::to_string_pretty(&DemoFile { device, reporter }).unwrap_or_default();
        let partial = path.with_extension("partial");
        let written = std::fs::write(&partial, json).and_then(|()| std::fs::rename(&partial, path));
        if let Err(e) = written {
            tracing::error!(error = %e, path = %path.display(), "could not write the demo device file");
        }
    }
    println!("Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}");
    Ok(())
}

/// What the simulators need: the monitor's token, the reporter's serial number and PIN.
#[derive(Serialize)]
struct DemoFile {
    #[serde(flatten)]
    device: DeviceToken,
    reporter: Option<DemoReporter>,
}

#[derive(Serialize)]
struct DemoReporter {
    serial: String,
    pin: String,
}

/// The demo site's Charge Amps reporter, made with a licence minted for it unless it exists.
/// `None` without a licence key (licences cannot be made).
async fn demo_reporter(
    services: &Services,
    account: &Account,
    site_id: i64,
    monitor_id: i64,
) -> Result<Option<DemoReporter>, Error> {
    let existing = reporters::of_site(services, account, site_id)
        .await?
        .into_iter()
        .find(|r| r.kind == ReporterKind::ChargeAmps);
    let reporter = match existing {
        Some(r) => r,
        None => {
            let Some(key) = &services.licence_key else {
                return Ok(None);
            };
            let code = licences::mint(services, key, Capability::ChargeAmps, 1)
                .await?
                .remove(0);
            let _ = licences::redeem(services, account, &code).await?;
            let credentials = reporters::new_credentials(services, account).await?;
            let input = ReporterInput {
                site_id: site_id.to_string(),
                kind: ReporterKind::ChargeAmps.as_str().into(),
                name: "Charge Amps charge control".into(),
                serial: credentials.serial,
                main_fuse_a: "20".into(),
                monitor_id: monitor_id.to_string(),
                ..ReporterInput::default()
            };
            let id = reporters::create(services, account, &input).await?;
            reporters::get(services, account, id).await?
        }
    };
    Ok(reporter.pin.map(|pin| DemoReporter {
        serial: reporter.serial,
        pin,
    }))
}
