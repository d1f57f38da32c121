//! Reporters: what the wizard and the reporter pages do (create, list, edit, pause, new PIN,
//! delete), each behind [`access::require`]. The forwarding itself is in [`forwarder`]: the
//! update it sends ([`payload`]), when it sends ([`pacer`]) and where ([`partner`]).

pub mod forwarder;
pub mod leases;
pub mod pacer;
pub mod partner;
pub mod payload;

use std::sync::Arc;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use model::reporter::{
    DraftFields, NewCredentials, PIN_DIGITS, ReporterDraft, ReporterInput, ReporterKind,
    ReporterLive, SERIAL_ALPHABET, SERIAL_PREFIX, WizardMonitor, WizardOptions, WizardSite,
};
use model::{Account, Capability, FieldError, Reporter};
use rand_core::{OsRng, RngCore};

use crate::access::{self, Need};
use crate::db::reporters::{NewReporter, ReporterChanges, ReporterRecord};
use crate::secrets::SecretKind;
use crate::{Error, Services, StoreError};

/// Reporters a site may have unless configured otherwise.
pub const REPORTERS_PER_SITE: usize = 10;

/// Serials an account may have unused among its newest, handed out within a day: generous for
/// wizards left half-way, and a bound on what one account can make us store.
const MAX_UNCLAIMED_SERIALS_PER_DAY: i64 = 50;

/// `n` characters of `alphabet`, uniformly (rejection sampling: no modulo bias).
fn random_chars(alphabet: &[u8], n: usize) -> String {
    let limit = 256 - 256 % alphabet.len();
    let mut out = String::with_capacity(n);
    while out.len() < n {
        let mut bytes = [0u8; 16];
        OsRng.fill_bytes(&mut bytes);
        for b in bytes {
            if usize::from(b) < limit && out.len() < n {
                out.push(char::from(alphabet[usize::from(b) % alphabet.len()]));
            }
        }
    }
    out
}

fn new_serial() -> String {
    let chars = random_chars(SERIAL_ALPHABET, 8);
    format!("{SERIAL_PREFIX}-{}-{}", &chars[..4], &chars[4..])
}

fn new_pin() -> String {
    random_chars(b"0123456789", PIN_DIGITS)
}

fn clock(time_zone: &str) -> model::clock::LocalClock {
    let tz = TimeZone::get(time_zone).unwrap_or(TimeZone::UTC);
    crate::schedule::local_clock(&tz, Timestamp::now().as_millisecond())
}

/// The reporter as pages show it: with this process's latest facts where it forwards it, its
/// monitor's usual interval (a silent meter shows from the first missed reading), and its PIN
/// opened.
async fn view(services: &Services, record: ReporterRecord) -> Result<Reporter, Error> {
    let interval = services
        .monitors
        .monitor(record.reporter.monitor_id)
        .await?
        .map_or(model::monitor::DEFAULT_INTERVAL_MS, |m| {
            m.monitor.interval_ms
        });
    Ok(Reporter {
        monitor_interval_ms: interval,
        ..shown(services, record)
    })
}

fn shown(services: &Services, record: ReporterRecord) -> Reporter {
    let facts = services
        .reporter_board
        .latest(record.reporter.id)
        .unwrap_or(record.reporter.facts);
    let pin =
        record.reporter.pin.as_deref().and_then(|stored| {
            open_secret(services, SecretKind::Pin, &record.reporter.serial, stored)
        });
    Reporter {
        silent_after_ms: services.silent_after_ms,
        clock: clock(&record.time_zone),
        facts,
        pin,
        ..record.reporter
    }
}

/// A stored secret's plain text; `None` (and an error in the log) when it does not open with
/// this server's key.
pub(crate) fn open_secret(
    services: &Services,
    kind: SecretKind,
    serial: &str,
    stored: &str,
) -> Option<String> {
    match services.secrets.open(kind, serial, stored) {
        Ok(plain) => Some(plain),
        Err(e) => {
            tracing::error!(error = %e, serial, ?kind, "a reporter's secret is unreadable");
            None
        }
    }
}

/// Seals what was stored before secrets were sealed (PINs of issued serials and reporters,
/// partner passwords). Run at start-up; a no-op once done.
pub async fn seal_stored_secrets(services: &Services) -> Result<usize, Error> {
    let plain = services.reporters.unsealed_secrets().await?;
    for secret in &plain {
        let sealed = services
            .secrets
            .seal(secret.kind, &secret.serial, &secret.value);
        services
            .reporters
            .replace_secret(secret.kind, &secret.serial, &secret.value, &sealed)
            .await?;
    }
    Ok(plain.len())
}

async fn views(services: &Services, records: Vec<ReporterRecord>) -> Result<Vec<Reporter>, Error> {
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        out.push(view(services, record).await?);
    }
    Ok(out)
}

/// Every reporter on the sites `actor` may work on.
pub async fn list(services: &Services, actor: &Account) -> Result<Vec<Reporter>, Error> {
    views(services, services.reporters.reporters_for(actor.id).await?).await
}

/// The reporters of one site.
pub async fn of_site(
    services: &Services,
    actor: &Account,
    site_id: i64,
) -> Result<Vec<Reporter>, Error> {
    access::require(services, actor, site_id, Need::Work).await?;
    views(
        services,
        services.reporters.reporters_of_site(site_id).await?,
    )
    .await
}

/// The reporter, when `actor` may work on its site; else [`Error::NotFound`].
pub async fn get(services: &Services, actor: &Account, id: i64) -> Result<Reporter, Error> {
    let record = services
        .reporters
        .reporter(id)
        .await?
        .ok_or(Error::NotFound)?;
    access::require(services, actor, record.reporter.site_id, Need::Work).await?;
    view(services, record).await
}

/// What the wizard offers: the sites with their monitors (and the reporters already on each),
/// whether a Charge Amps licence is free and which one a reporter would take, and the drafts
/// the account left part-way.
pub async fn options(services: &Services, actor: &Account) -> Result<WizardOptions, Error> {
    let sites = services.repo.sites_for(actor.id).await?;
    let monitors = services.monitors.monitors_for(actor.id).await?;
    let reporters = services.reporters.reporters_for(actor.id).await?;
    let sites = sites
        .into_iter()
        .map(|s| {
            let mut list: Vec<WizardMonitor> = monitors
                .iter()
                .filter(|m| m.monitor.site_id == s.id)
                .map(|m| WizardMonitor {
                    id: m.monitor.id,
                    name: m.monitor.name.clone(),
                    total: m.monitor.is_total,
                    reporters: reporters
                        .iter()
                        .filter(|r| r.reporter.monitor_id == m.monitor.id)
                        .map(|r| (r.reporter.id, r.reporter.kind, r.reporter.name.clone()))
                        .collect(),
                })
                .collect();
            list.sort_by_key(|m| !m.total);
            WizardSite {
                id: s.id,
                name: s.name,
                main_fuse_a: s.main_fuse_a,
                monitors: list,
            }
        })
        .collect();
    // The newest free licence is the one a reporter takes (`free_licence`).
    let next_licence = services
        .repo
        .active_licences(actor.id)
        .await?
        .into_iter()
        .rfind(|l| l.capability == Capability::ChargeAmps && l.used_by.is_none())
        .map(|l| l.code);
    Ok(WizardOptions {
        sites,
        free_charge_amps_licences: services
            .reporters
            .free_licences(actor.id, Capability::ChargeAmps)
            .await?,
        next_licence,
        drafts: drafts(services, actor).await?,
    })
}

/// The wizards `actor` left part-way, newest first, with their reserved serial and PIN.
pub async fn drafts(services: &Services, actor: &Account) -> Result<Vec<ReporterDraft>, Error> {
    Ok(services
        .reporters
        .drafts_for(actor.id)
        .await?
        .into_iter()
        .map(|row| {
            let credentials = row.serial.zip(row.pin).and_then(|(serial, pin)| {
                open_secret(services, SecretKind::Pin, &serial, &pin)
                    .map(|pin| NewCredentials { serial, pin })
            });
            ReporterDraft {
                site_id: row.site_id,
                site_name: row.site_name,
                // A draft kept by an older server reads as a fresh start.
                fields: serde_json::from_str(&row.fields_json).unwrap_or_default(),
                credentials,
                updated_at: row.updated_at,
            }
        })
        .collect())
}

/// Keeps the wizard's fields for `site_id` as they are now (its serial stays reserved).
pub async fn save_draft(
    services: &Services,
    actor: &Account,
    site_id: i64,
    fields: &DraftFields,
) -> Result<(), Error> {
    fields.check()?;
    access::require(services, actor, site_id, Need::Work).await?;
    let json = serde_json::to_string(fields).map_err(|_| Error::NotFound)?;
    services
        .reporters
        .save_draft(actor.id, site_id, &json, services.clock.now_ms())
        .await?;
    Ok(())
}

/// The serial number and PIN of the draft for `site_id`: the ones reserved for it, or new ones
/// reserved now. A reload, Back or a second tab gets the same pair.
pub async fn draft_credentials(
    services: &Services,
    actor: &Account,
    site_id: i64,
) -> Result<NewCredentials, Error> {
    access::require(services, actor, site_id, Need::Work).await?;
    let reserved = drafts(services, actor)
        .await?
        .into_iter()
        .find(|d| d.site_id == site_id)
        .and_then(|d| d.credentials);
    if let Some(credentials) = reserved {
        return Ok(credentials);
    }
    let credentials = new_credentials(services, actor).await?;
    services
        .reporters
        .set_draft_serial(
            actor.id,
            site_id,
            &credentials.serial,
            services.clock.now_ms(),
        )
        .await?;
    Ok(credentials)
}

/// Forgets the draft for `site_id` (its serial is never used).
pub async fn discard_draft(
    services: &Services,
    actor: &Account,
    site_id: i64,
) -> Result<(), Error> {
    access::require(services, actor, site_id, Need::Work).await?;
    services.reporters.delete_draft(actor.id, site_id).await?;
    Ok(())
}

/// Hands out a serial number unique across the service, with a fresh PIN.
pub async fn new_credentials(
    services: &Services,
    actor: &Account,
) -> Result<NewCredentials, Error> {
    let now = services.clock.now_ms();
    if services
        .reporters
        .unclaimed_serials(actor.id, now - 86_400_000, MAX_UNCLAIMED_SERIALS_PER_DAY)
        .await?
        >= MAX_UNCLAIMED_SERIALS_PER_DAY
    {
        return Err(FieldError::new("serial", "error.reporter_too_many_serials").into());
    }
    issue(services, actor).await
}

async fn issue(services: &Services, actor: &Account) -> Result<NewCredentials, Error> {
    loop {
        let credentials = NewCredentials {
            serial: new_serial(),
            pin: new_pin(),
        };
        let sealed = services
            .secrets
            .seal(SecretKind::Pin, &credentials.serial, &credentials.pin);
        match services
            .reporters
            .issue_serial(
                &credentials.serial,
                &sealed,
                actor.id,
                services.clock.now_ms(),
            )
            .await
        {
            Ok(()) => return Ok(credentials),
            // Drawn before (1 in 30^8 per pair): draw again.
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// An Open Reporter's URLs are where the server will post every few seconds: a public https
/// address, or one the operator allowed. (Host names are checked again at every connection.)
fn check_partner_urls(
    services: &Services,
    target: Option<&model::reporter::OpenReporterTarget>,
) -> Result<(), Error> {
    let Some(target) = target else {
        return Ok(());
    };
    for (field, url) in [
        ("create_token_url", &target.create_token_url),
        ("update_url", &target.update_url),
    ] {
        partner::guard::check(url, &services.partner_allow)
            .map_err(|refusal| FieldError::new(field, refusal.key()))?;
    }
    Ok(())
}

/// The partner's password as it is stored: sealed to the reporter's serial.
fn seal_password(
    services: &Services,
    serial: &str,
    target: model::reporter::OpenReporterTarget,
) -> model::reporter::OpenReporterTarget {
    model::reporter::OpenReporterTarget {
        password: target.password.map(|p| {
            services
                .secrets
                .seal(SecretKind::PartnerPassword, serial, &p)
        }),
        ..target
    }
}

/// The monitor, when it is on the site.
async fn monitor_on_site(services: &Services, site_id: i64, monitor_id: i64) -> Result<(), Error> {
    match services.monitors.monitor(monitor_id).await? {
        Some(m) if m.monitor.site_id == site_id => Ok(()),
        _ => Err(FieldError::new("monitor_id", "error.reporter_monitor_required").into()),
    }
}

/// Saves the wizard's reporter. A Charge Amps reporter takes one of the actor's free Charge
/// Amps licences and the serial number the wizard got for the actor.
pub async fn create(
    services: &Services,
    actor: &Account,
    input: &ReporterInput,
) -> Result<i64, Error> {
    let valid = input.validate(false)?;
    check_partner_urls(services, valid.open_reporter.as_ref())?;
    access::require(services, actor, valid.site_id, Need::Work)
        .await
        .map_err(|e| match e {
            Error::NotFound => FieldError::new("site_id", "error.monitor_site_required").into(),
            e => e,
        })?;
    monitor_on_site(services, valid.site_id, valid.monitor_id).await?;
    let (serial, pin, licence_serial) = match valid.kind {
        ReporterKind::ChargeAmps => {
            let issued = services.reporters.issued_serial(&valid.serial).await?;
            let pin = match issued {
                Some(s) if s.account_id == Some(actor.id) && !s.claimed => s.pin,
                // The actor's own wizard saved twice (a double click).
                Some(s) if s.account_id == Some(actor.id) => {
                    return Err(FieldError::new("serial", "error.reporter_serial_used").into());
                }
                // Another's serial, used or not, reads like one never handed out: nobody learns
                // which serials exist.
                _ => return Err(FieldError::new("serial", "error.reporter_serial_missing").into()),
            };
            let licence = services
                .reporters
                .free_licence(actor.id, Capability::ChargeAmps)
                .await?
                .ok_or(FieldError::new("kind", "error.reporter_licence_missing"))?;
            (valid.serial.clone(), Some(pin), Some(licence))
        }
        // The partner knows it by a serial of ours too (`externalid`), issued below.
        ReporterKind::OpenReporter => (String::new(), None, None),
    };
    // A second reporter of the same kind on one monitor is asked about first: the review saved
    // one beside an ACTIVE one without a word, taking the last licence.
    if !input.allow_second
        && services
            .reporters
            .reporters_of_site(valid.site_id)
            .await?
            .iter()
            .any(|r| r.reporter.monitor_id == valid.monitor_id && r.reporter.kind == valid.kind)
    {
        return Err(FieldError::new("monitor_id", "error.reporter_monitor_has_one").into());
    }
    let serial = match valid.kind {
        ReporterKind::ChargeAmps => serial,
        ReporterKind::OpenReporter => issue(services, actor).await?.serial,
    };
    let open_reporter = valid
        .open_reporter
        .map(|target| seal_password(services, &serial, target));
    let new = NewReporter {
        site_id: valid.site_id,
        monitor_id: valid.monitor_id,
        kind: valid.kind,
        name: valid.name,
        main_fuse_a: valid.main_fuse_a,
        serial,
        pin,
        licence_serial,
        open_reporter,
        max_on_site: services.reporters_per_site,
        created_by: actor.id,
    };
    let mut new = new;
    let id = loop {
        match services.reporters.create_reporter(&new).await {
            Ok(id) => break id,
            Err(StoreError::Full) => {
                return Err(FieldError::new("site_id", "error.reporter_site_full").into());
            }
            // Saved twice at once (the serial), or the licence taken meanwhile by another of
            // the account's reporters: then the next free one, if there is one.
            Err(StoreError::Conflict) => {
                let used = services
                    .reporters
                    .issued_serial(&new.serial)
                    .await?
                    .is_some_and(|s| s.claimed);
                if used {
                    return Err(FieldError::new("serial", "error.reporter_serial_used").into());
                }
                match (
                    new.licence_serial,
                    services
                        .reporters
                        .free_licence(actor.id, Capability::ChargeAmps)
                        .await?,
                ) {
                    (Some(taken), Some(free)) if free != taken => new.licence_serial = Some(free),
                    _ => {
                        return Err(
                            FieldError::new("kind", "error.reporter_licence_missing").into()
                        );
                    }
                }
            }
            Err(e) => return Err(e.into()),
        }
    };
    // The wizard is done: its draft goes.
    if let Err(e) = services
        .reporters
        .delete_draft(actor.id, valid.site_id)
        .await
    {
        tracing::warn!(error = %e, "forgetting a saved wizard's draft failed");
    }
    services.reporters_changed(None);
    Ok(id)
}

/// Changes name, fuse, monitor (on the same site) and, for Open Reporter, where updates go.
/// The kind and the site stay.
pub async fn update(
    services: &Services,
    actor: &Account,
    id: i64,
    input: &ReporterInput,
) -> Result<(), Error> {
    let current = get(services, actor, id).await?;
    let input = ReporterInput {
        site_id: current.site_id.to_string(),
        kind: current.kind.as_str().to_string(),
        ..input.clone()
    };
    let valid = input.validate(true)?;
    check_partner_urls(services, valid.open_reporter.as_ref())?;
    // The stored password goes only where it went before, as whom it went: a new address or
    // username needs the password typed again (else whoever may edit, an installer say, could
    // send the household's password to an address of their own).
    if let Some(target) = &valid.open_reporter {
        let moved = current.create_token_url.as_deref() != Some(target.create_token_url.as_str())
            || current.update_url.as_deref() != Some(target.update_url.as_str())
            || current.username.as_deref() != Some(target.username.as_str());
        if moved && target.password.is_none() {
            return Err(FieldError::new("password", "error.partner_password_again").into());
        }
    }
    monitor_on_site(services, current.site_id, valid.monitor_id).await?;
    let changes = ReporterChanges {
        name: valid.name,
        main_fuse_a: valid.main_fuse_a,
        monitor_id: valid.monitor_id,
        open_reporter: valid
            .open_reporter
            .map(|target| seal_password(services, &current.serial, target)),
    };
    services.reporters.update_reporter(id, &changes).await?;
    services.reporters_changed(None);
    Ok(())
}

/// Pauses forwarding (the partner then falls back to its safe current) or resumes it.
pub async fn set_paused(
    services: &Services,
    actor: &Account,
    id: i64,
    paused: bool,
) -> Result<(), Error> {
    let current = get(services, actor, id).await?;
    services.reporters.set_paused(id, paused).await?;
    // Pages on other processes show it paused too.
    services.reporters_changed(Some(id));
    services.reporter_events.publish_with(current.site_id, || {
        Some(Arc::new(ReporterLive {
            id,
            facts: current.facts.clone(),
            paused,
        }))
    });
    Ok(())
}

/// A new PIN for a Charge Amps reporter; the old one stops working at once.
pub async fn regenerate_pin(
    services: &Services,
    actor: &Account,
    id: i64,
) -> Result<NewCredentials, Error> {
    let current = get(services, actor, id).await?;
    if current.kind != ReporterKind::ChargeAmps {
        return Err(FieldError::new("kind", "error.reporter_no_pin").into());
    }
    let pin = new_pin();
    let sealed = services
        .secrets
        .seal(SecretKind::Pin, &current.serial, &pin);
    services.reporters.set_pin(id, &sealed).await?;
    services.reporters_changed(None);
    Ok(NewCredentials {
        serial: current.serial,
        pin,
    })
}

/// Deletes the reporter; its licence is free for another.
pub async fn delete(services: &Services, actor: &Account, id: i64) -> Result<(), Error> {
    get(services, actor, id).await?;
    services.reporters.delete_reporter(id).await?;
    services.reporters_changed(None);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_and_pins_have_their_shape_and_differ() {
        let serials: std::collections::HashSet<String> = (0..500).map(|_| new_serial()).collect();
        assert_eq!(serials.len(), 500);
        assert!(
            serials.iter().all(|s| model::reporter::is_serial(s)),
            "{serials:?}"
        );
        let pin = new_pin();
        assert!(
            pin.len() == 8 && pin.bytes().all(|b| b.is_ascii_digit()),
            "{pin}"
        );
    }

    #[test]
    fn every_digit_of_a_pin_is_drawn() {
        let digits: std::collections::HashSet<char> = (0..100)
            .flat_map(|_| new_pin().chars().collect::<Vec<_>>())
            .collect();
        assert_eq!(digits.len(), 10);
    }
}
