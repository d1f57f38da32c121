-- An installer sets a site up for a household by its e-mail address: the household owns it only
-- once it accepts. Until then the installer holds the site (as its owner) and the invitation
-- waits here, for an account with that address now or one made later.
CREATE TABLE site_invitations (
    site_id    INTEGER PRIMARY KEY REFERENCES sites (id) ON DELETE CASCADE,
    email      TEXT    NOT NULL,                     -- normalised, as accounts.email
    invited_by INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX site_invitations_by_email ON site_invitations (email);
