//! The one place that decides who may see or change a site. Every service function that takes a
//! site id asks here first; nothing else reads a site without going through [`require`].

use model::{Account, SiteAccess};

use crate::{Error, Services};

/// What an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// See the site and change its settings: the owner and granted installers.
    Work,
    /// Delete the site or decide who else may work on it: the owner only.
    Own,
}

/// Succeeds with how `actor` reaches the site when that is enough for `need`.
///
/// A site the actor cannot reach at all is [`Error::NotFound`], exactly as a site that does not
/// exist, so ids tell nobody what exists. Reaching it without enough rights is
/// [`Error::Forbidden`].
pub async fn require(
    services: &Services,
    actor: &Account,
    site_id: i64,
    need: Need,
) -> Result<SiteAccess, Error> {
    let access = services
        .repo
        .site_access(actor.id, site_id)
        .await?
        .ok_or(Error::NotFound)?;
    match (need, access) {
        (Need::Work, _) | (Need::Own, SiteAccess::Owner) => Ok(access),
        (Need::Own, SiteAccess::Installer) => Err(Error::Forbidden),
    }
}
