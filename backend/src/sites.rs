//! Sites: create, read, edit, delete, and which installers may work on them. Each function that
//! takes a site id asks [`access::require`] first.

use model::account::normalize_email;
use model::site::{Kept, LeftBehind, ValidSite};
use model::{
    Account, FieldError, Role, SiteAccess, SiteDetails, SiteInput, SiteMember, SiteSummary,
};

use crate::access::{self, Need};
use crate::db::LeftThing;
use crate::{Error, Services};

/// Validates the form and checks the time zone against the IANA database.
fn validate(input: &SiteInput) -> Result<ValidSite, Error> {
    let site = input.validate()?;
    if jiff::tz::TimeZone::get(&site.time_zone).is_err() {
        return Err(FieldError::new("time_zone", "error.time_zone_unknown").into());
    }
    Ok(site)
}

pub async fn list(services: &Services, actor: &Account) -> Result<Vec<SiteSummary>, Error> {
    Ok(services.repo.sites_for(actor.id).await?)
}

pub async fn get(services: &Services, actor: &Account, site_id: i64) -> Result<SiteDetails, Error> {
    access::require(services, actor, site_id, Need::Work).await?;
    services
        .repo
        .site_for(actor.id, site_id)
        .await?
        .ok_or(Error::NotFound)
}

/// An owner creates a site of their own. An installer sets one up for a household, named by
/// the e-mail address of its account (or of the account it will make): the installer holds the
/// site until the household accepts the invitation, then the household owns it and the
/// installer keeps access. The answer is the same whether or not the address has an account.
pub async fn create(
    services: &Services,
    actor: &Account,
    input: &SiteInput,
    customer_email: &str,
) -> Result<i64, Error> {
    let site = validate(input)?;
    match actor.role {
        Role::Owner => Ok(services.repo.create_site(actor.id, &site).await?),
        Role::Installer => {
            if customer_email.trim().is_empty() {
                return Err(FieldError::new("customer_email", "error.customer_required").into());
            }
            let email = normalize_email(customer_email)
                .map_err(|e| FieldError::new("customer_email", e.key))?;
            if email == actor.email {
                return Err(FieldError::new("customer_email", "error.customer_is_you").into());
            }
            Ok(services
                .repo
                .create_invited_site(actor.id, &site, &email)
                .await?)
        }
    }
}

/// Sites installers have set up for this household, waiting for it to accept.
pub async fn invitations(
    services: &Services,
    actor: &Account,
) -> Result<Vec<model::site::SiteInvitation>, Error> {
    if actor.role != Role::Owner {
        return Ok(Vec::new());
    }
    Ok(services.repo.invitations_for(&actor.email).await?)
}

/// The household accepts (the site becomes its own; the installer keeps access) or declines
/// an invitation made to its e-mail address. Nobody else can answer it.
pub async fn answer_invitation(
    services: &Services,
    actor: &Account,
    site_id: i64,
    accept: bool,
) -> Result<(), Error> {
    if actor.role != Role::Owner {
        return Err(Error::NotFound);
    }
    if services
        .repo
        .answer_invitation(site_id, actor.id, &actor.email, accept)
        .await?
    {
        services.access_changed();
        Ok(())
    } else {
        Err(Error::NotFound)
    }
}

pub async fn update(
    services: &Services,
    actor: &Account,
    site_id: i64,
    input: &SiteInput,
) -> Result<(), Error> {
    access::require(services, actor, site_id, Need::Work).await?;
    let site = validate(input)?;
    services.repo.update_site(site_id, &site).await?;
    // Its monitors' readings are bucketed in the site's time zone.
    services.device_changed(None);
    Ok(())
}

pub async fn delete(services: &Services, actor: &Account, site_id: i64) -> Result<(), Error> {
    access::require(services, actor, site_id, Need::Own).await?;
    services.repo.delete_site(site_id).await?;
    services.device_changed(None);
    services.access_changed();
    Ok(())
}

pub async fn members(
    services: &Services,
    actor: &Account,
    site_id: i64,
) -> Result<Vec<SiteMember>, Error> {
    access::require(services, actor, site_id, Need::Work).await?;
    Ok(services.repo.members(site_id).await?)
}

/// What other accounts set up on the site and may still use (reporters they created, device
/// tokens they saw), by account: for the owner, who keeps, pauses, deletes or rotates each. An
/// installer working on the site is shown nothing (the site's settings page asks for it either
/// way).
pub async fn left_behind(
    services: &Services,
    actor: &Account,
    site_id: i64,
) -> Result<Vec<LeftBehind>, Error> {
    if access::require(services, actor, site_id, Need::Work).await? != SiteAccess::Owner {
        return Ok(Vec::new());
    }
    let members = services.repo.members(site_id).await?;
    let mut by_account: Vec<LeftBehind> = Vec::new();
    for row in services.repo.left_behind(site_id).await? {
        let index = match by_account
            .iter()
            .position(|l| l.account_id == row.account_id)
        {
            Some(i) => i,
            None => {
                by_account.push(LeftBehind {
                    account_id: row.account_id,
                    email: row.email.clone(),
                    has_access: members.iter().any(|m| m.account_id == row.account_id),
                    reporters: Vec::new(),
                    monitors: Vec::new(),
                });
                by_account.len() - 1
            }
        };
        match row.thing {
            LeftThing::Reporter(mut reporter) => {
                // Where it sends: the partner's host is enough to recognise it.
                reporter.partner = reporter.partner.map(|url| {
                    url::Url::parse(&url)
                        .ok()
                        .and_then(|u| u.host_str().map(str::to_string))
                        .unwrap_or(url)
                });
                by_account[index].reporters.push(reporter);
            }
            LeftThing::Monitor(monitor) => by_account[index].monitors.push(monitor),
        }
    }
    Ok(by_account)
}

/// The owner keeps what an installer left behind as their own (it is no longer listed).
pub async fn keep_left_behind(
    services: &Services,
    actor: &Account,
    site_id: i64,
    kept: Kept,
) -> Result<(), Error> {
    access::require(services, actor, site_id, Need::Own).await?;
    if services
        .repo
        .keep_left_behind(site_id, actor.id, kept)
        .await?
    {
        Ok(())
    } else {
        Err(Error::NotFound)
    }
}

/// The owner lets an installer (by the e-mail of their installer account) work on the site.
pub async fn grant(
    services: &Services,
    actor: &Account,
    site_id: i64,
    installer_email: &str,
) -> Result<(), Error> {
    access::require(services, actor, site_id, Need::Own).await?;
    let email =
        normalize_email(installer_email).map_err(|e| FieldError::new("installer_email", e.key))?;
    let installer = services
        .repo
        .account_by_email(&email)
        .await?
        .filter(|a| a.role == Role::Installer)
        .ok_or(FieldError::new(
            "installer_email",
            "error.installer_unknown",
        ))?;
    Ok(services.repo.grant(site_id, installer.id).await?)
}

/// The owner takes an installer's access away.
pub async fn revoke(
    services: &Services,
    actor: &Account,
    site_id: i64,
    installer_id: i64,
) -> Result<(), Error> {
    access::require(services, actor, site_id, Need::Own).await?;
    if services.repo.revoke(site_id, installer_id).await? {
        services.account_access_changed(installer_id);
        Ok(())
    } else {
        Err(Error::NotFound)
    }
}
