//! Reporters: integrations that forward a monitor's readings to a partner's cloud, where a load
//! balancer keeps the chargers under the main fuse. Types, the wizard's validation and the status
//! users see, derived from what the forwarder last did (pure, so the browser re-derives it as
//! time passes).

use serde::{Deserialize, Serialize};

use crate::monitor::Silence;

use crate::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReporterKind {
    /// *Charge Amps Charge Control*: needs a Charge Amps licence; authenticates with a serial
    /// number and PIN that the installer enters in Charge Amps Partner.
    ChargeAmps,
    /// Enegic's published generic push: the partner gives its own URLs and credentials.
    OpenReporter,
}

impl ReporterKind {
    pub const ALL: [ReporterKind; 2] = [ReporterKind::ChargeAmps, ReporterKind::OpenReporter];

    pub const fn as_str(self) -> &'static str {
        match self {
            ReporterKind::ChargeAmps => "charge_amps",
            ReporterKind::OpenReporter => "open_reporter",
        }
    }

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or(FieldError::new("kind", "error.reporter_kind_invalid"))
    }

    pub const fn name_key(self) -> &'static str {
        match self {
            ReporterKind::ChargeAmps => "reporters.charge_amps",
            ReporterKind::OpenReporter => "reporters.open_reporter",
        }
    }

    /// The name the wizard suggests.
    pub const fn suggested_name_key(self) -> &'static str {
        match self {
            ReporterKind::ChargeAmps => "reporter.suggested_name_charge_amps",
            ReporterKind::OpenReporter => "reporter.suggested_name_open_reporter",
        }
    }
}

/// Main fuse sizes the wizard offers (A); any other whole number in [`REPORTER_FUSE_RANGE_A`].
pub const REPORTER_FUSES_A: [u16; 6] = [16, 20, 25, 35, 50, 63];
pub const REPORTER_FUSE_RANGE_A: std::ops::RangeInclusive<u16> = 6..=250;

const MAX_NAME_LEN: usize = 100;
const MAX_URL_LEN: usize = 500;
const MAX_CREDENTIAL_LEN: usize = 200;
/// A PIN has this many digits.
pub const PIN_DIGITS: usize = 8;

/// The wizard's and the edit form's fields, every one still text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReporterInput {
    pub site_id: String,
    pub kind: String,
    pub name: String,
    /// The serial number the wizard got in its third step (Charge Amps).
    #[serde(default)]
    pub serial: String,
    pub main_fuse_a: String,
    pub monitor_id: String,
    /// Open Reporter only.
    #[serde(default)]
    pub create_token_url: String,
    #[serde(default)]
    pub update_url: String,
    #[serde(default)]
    pub username: String,
    /// Empty when editing: keep the stored one.
    #[serde(default)]
    pub password: String,
    /// The installer confirmed a second reporter of the same kind on a monitor that has one.
    #[serde(default)]
    pub allow_second: bool,
}

/// Where an Open Reporter partner takes our updates.
#[derive(Clone, PartialEq, Eq)]
pub struct OpenReporterTarget {
    pub create_token_url: String,
    pub update_url: String,
    pub username: String,
    /// `None` when editing without a new password.
    pub password: Option<String>,
}

impl std::fmt::Debug for OpenReporterTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenReporterTarget")
            .field("create_token_url", &self.create_token_url)
            .field("update_url", &self.update_url)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidReporter {
    pub site_id: i64,
    pub kind: ReporterKind,
    pub name: String,
    pub serial: String,
    pub main_fuse_a: u16,
    pub monitor_id: i64,
    pub open_reporter: Option<OpenReporterTarget>,
}

/// The wizard's steps, in order. Each is checked before the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Step {
    Kind,
    Name,
    /// Charge Amps: get serial number and PIN. Open Reporter: the partner's URLs and login.
    Link,
    Fuse,
    Monitor,
    Save,
}

impl Step {
    pub const ALL: [Step; 6] = [
        Step::Kind,
        Step::Name,
        Step::Link,
        Step::Fuse,
        Step::Monitor,
        Step::Save,
    ];

    pub fn number(self) -> usize {
        Self::ALL.iter().position(|s| *s == self).unwrap_or(0) + 1
    }

    pub fn next(self) -> Self {
        Self::ALL.get(self.number()).copied().unwrap_or(Step::Save)
    }

    pub fn previous(self) -> Self {
        Self::ALL
            .get(self.number().saturating_sub(2))
            .copied()
            .unwrap_or(Step::Kind)
    }
}

fn id(text: &str, field: &'static str, key: &'static str) -> Result<i64, FieldError> {
    text.trim()
        .parse::<i64>()
        .map_err(|_| FieldError::new(field, key))
}

/// An absolute http(s) URL: the partner names its endpoints, so any path is fine.
fn url(text: &str, field: &'static str) -> Result<String, FieldError> {
    let text = text.trim();
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or(FieldError::new(field, "error.url_invalid"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty()
        || text.len() > MAX_URL_LEN
        || text.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(FieldError::new(field, "error.url_invalid"));
    }
    Ok(text.to_string())
}

impl ReporterInput {
    /// Checks the fields of one wizard step (and of every step for [`Step::Save`]).
    /// `editing`: an existing reporter, whose password may stay empty.
    pub fn check_step(&self, step: Step, editing: bool) -> Result<(), FieldError> {
        let kind = ReporterKind::parse(&self.kind)?;
        match step {
            Step::Kind => {
                id(&self.site_id, "site_id", "error.monitor_site_required")?;
            }
            Step::Name => {
                let name = self.name.trim();
                if name.is_empty() {
                    return Err(FieldError::new("name", "error.reporter_name_required"));
                }
                if name.chars().count() > MAX_NAME_LEN {
                    return Err(FieldError::new("name", "error.name_long"));
                }
            }
            Step::Link => match kind {
                ReporterKind::ChargeAmps => {
                    if !editing && !is_serial(&self.serial) {
                        return Err(FieldError::new("serial", "error.reporter_serial_missing"));
                    }
                }
                ReporterKind::OpenReporter => {
                    url(&self.create_token_url, "create_token_url")?;
                    url(&self.update_url, "update_url")?;
                    let username = self.username.trim();
                    if username.is_empty() || username.len() > MAX_CREDENTIAL_LEN {
                        return Err(FieldError::new("username", "error.username_required"));
                    }
                    if (!editing && self.password.is_empty())
                        || self.password.len() > MAX_CREDENTIAL_LEN
                    {
                        return Err(FieldError::new(
                            "password",
                            "error.partner_password_required",
                        ));
                    }
                }
            },
            Step::Fuse => {
                self.fuse()?;
            }
            Step::Monitor => {
                id(
                    &self.monitor_id,
                    "monitor_id",
                    "error.reporter_monitor_required",
                )?;
            }
            Step::Save => {
                for step in [
                    Step::Kind,
                    Step::Name,
                    Step::Link,
                    Step::Fuse,
                    Step::Monitor,
                ] {
                    self.check_step(step, editing)?;
                }
            }
        }
        Ok(())
    }

    fn fuse(&self) -> Result<u16, FieldError> {
        self.main_fuse_a
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|a| REPORTER_FUSE_RANGE_A.contains(a))
            .ok_or(FieldError::new(
                "main_fuse_a",
                "error.reporter_fuse_invalid",
            ))
    }

    pub fn validate(&self, editing: bool) -> Result<ValidReporter, FieldError> {
        self.check_step(Step::Save, editing)?;
        let kind = ReporterKind::parse(&self.kind)?;
        let open_reporter = (kind == ReporterKind::OpenReporter).then(|| OpenReporterTarget {
            create_token_url: self.create_token_url.trim().to_string(),
            update_url: self.update_url.trim().to_string(),
            username: self.username.trim().to_string(),
            password: (!self.password.is_empty()).then(|| self.password.clone()),
        });
        Ok(ValidReporter {
            site_id: id(&self.site_id, "site_id", "error.monitor_site_required")?,
            kind,
            name: self.name.trim().to_string(),
            serial: canonical_serial(&self.serial),
            main_fuse_a: self.fuse()?,
            monitor_id: id(
                &self.monitor_id,
                "monitor_id",
                "error.reporter_monitor_required",
            )?,
            open_reporter,
        })
    }
}

/// The alphabet of serial numbers: no 0/O, 1/I/L or U, so it reads back from a screen or a
/// phone call without mix-ups.
pub const SERIAL_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Serials start with this; eight characters of [`SERIAL_ALPHABET`] follow in two groups.
pub const SERIAL_PREFIX: &str = "AMPW";

/// `AMPW-XXXX-XXXX`, any case.
pub fn is_serial(text: &str) -> bool {
    let serial = canonical_serial(text);
    let parts: Vec<&str> = serial.split('-').collect();
    matches!(parts.as_slice(), [prefix, a, b]
        if *prefix == SERIAL_PREFIX
            && [a, b].iter().all(|g| g.len() == 4 && g.bytes().all(|c| SERIAL_ALPHABET.contains(&c))))
}

pub fn canonical_serial(text: &str) -> String {
    text.trim().to_ascii_uppercase()
}

/// A fresh serial number and PIN, shown large in the wizard for the installer to enter in
/// Charge Amps Partner.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCredentials {
    pub serial: String,
    pub pin: String,
}

impl std::fmt::Debug for NewCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCredentials")
            .field("serial", &self.serial)
            .field("pin", &"***")
            .finish()
    }
}

/// What went wrong in the last failed attempt, as a code the page translates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum Problem {
    /// The partner refused the serial and PIN (or username and password): not registered yet.
    Refused,
    /// No answer: the connection was refused, timed out or broke, the address is not one the
    /// server sends to, or the peer spoke no HTTP. One word for all of them, so that a status
    /// cannot be used to map someone's network (a closed port and a filtered one look alike).
    Unreachable,
    /// The partner answered with this HTTP status.
    Status(u16),
    /// The partner's answer was not what the protocol says.
    Garbage,
    /// This server has no address for the partner (Charge Amps URL not configured).
    NotConfigured,
}

impl Problem {
    /// Stored as text: `refused`, `timeout:5`, `status:500`, …
    pub fn code(&self) -> String {
        match self {
            Problem::Refused => "refused".into(),
            Problem::Unreachable => "unreachable".into(),
            Problem::Status(code) => format!("status:{code}"),
            Problem::Garbage => "garbage".into(),
            Problem::NotConfigured => "not_configured".into(),
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        let (kind, detail) = code.split_once(':').unwrap_or((code, ""));
        Some(match kind {
            "refused" => Problem::Refused,
            // "timeout:N" and "connect" were stored before the two became one.
            "unreachable" | "timeout" | "connect" => Problem::Unreachable,
            "status" => Problem::Status(detail.parse().ok()?),
            "garbage" => Problem::Garbage,
            "not_configured" => Problem::NotConfigured,
            _ => return None,
        })
    }

    /// The message key and its `{n}` argument.
    pub fn key(&self) -> (&'static str, Option<String>) {
        match self {
            Problem::Refused => ("reporter.problem_refused", None),
            Problem::Unreachable => ("reporter.problem_unreachable", None),
            Problem::Status(code @ 400..=499) => {
                ("reporter.problem_status_refused", Some(code.to_string()))
            }
            Problem::Status(code) => ("reporter.problem_status", Some(code.to_string())),
            Problem::Garbage => ("reporter.problem_garbage", None),
            Problem::NotConfigured => ("reporter.problem_not_configured", None),
        }
    }
}

/// What the forwarder last did for a reporter; times are ms UTC.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// The newest reading sent: the cursor. A reading older than this is never sent.
    pub sent_ts: Option<i64>,
    /// The newest reading of the monitor the forwarder has seen.
    pub reading_ts: Option<i64>,
    /// When the partner last accepted an update.
    pub accepted_at: Option<i64>,
    /// When the last attempt failed, and why.
    pub failed_at: Option<i64>,
    pub problem: Option<Problem>,
    /// The last update sent said the monitor is silent (`online: false`).
    pub offline: bool,
    /// Attempts that failed in a row since the last accepted one ("refused 3 times").
    #[serde(default)]
    pub failures: u32,
    /// When the current run of failures began ("since 14:02": when the trouble began, not the
    /// last retry).
    #[serde(default)]
    pub trouble_since: Option<i64>,
}

/// An update accepted within this long makes a reporter ACTIVE (ms).
pub const ACTIVE_WITHIN_MS: i64 = 60_000;

/// What the user sees of a reporter, most pressing first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReporterStatus {
    Paused,
    /// The partner refused our credentials: the serial and PIN are not (yet) entered in Charge
    /// Amps Partner.
    WaitingForPartner,
    /// The last attempt failed for another reason; [`Facts::problem`] says which.
    PartnerUnreachable,
    /// The monitor has been silent past the limit: updates say so, the partner falls back.
    MonitorOffline,
    /// A reading the monitor usually sends by now is missing: not yet past the limit.
    MeterSilent,
    /// An update was accepted within the last minute.
    Active,
    /// Nothing accepted yet (or not lately) and nothing failed: starting up.
    Connecting,
}

impl ReporterStatus {
    /// `silence`: the monitor's usual interval and the limit past which it is offline.
    pub fn derive(now_ms: i64, paused: bool, facts: &Facts, silence: Silence) -> Self {
        let failed_last = match (facts.failed_at, facts.accepted_at) {
            (Some(failed), Some(accepted)) => failed > accepted,
            (Some(_), None) => true,
            _ => false,
        };
        let silent = facts
            .reading_ts
            .is_none_or(|ts| now_ms - ts > silence.offline_after_ms);
        if paused {
            ReporterStatus::Paused
        } else if failed_last && facts.problem == Some(Problem::Refused) {
            ReporterStatus::WaitingForPartner
        } else if failed_last {
            ReporterStatus::PartnerUnreachable
        } else if facts.offline || silent {
            ReporterStatus::MonitorOffline
        } else if silence.silent_for(now_ms, facts.reading_ts).is_some() {
            ReporterStatus::MeterSilent
        } else if facts
            .accepted_at
            .is_some_and(|at| now_ms - at <= ACTIVE_WITHIN_MS)
        {
            ReporterStatus::Active
        } else {
            ReporterStatus::Connecting
        }
    }

    pub const fn key(self) -> &'static str {
        match self {
            ReporterStatus::Paused => "reporter.status_paused",
            ReporterStatus::WaitingForPartner => "reporter.status_waiting",
            ReporterStatus::PartnerUnreachable => "reporter.status_unreachable",
            ReporterStatus::MonitorOffline => "reporter.status_monitor_offline",
            ReporterStatus::MeterSilent => "reporter.status_meter_silent",
            ReporterStatus::Active => "reporter.status_active",
            ReporterStatus::Connecting => "reporter.status_connecting",
        }
    }

    pub const fn class(self) -> &'static str {
        match self {
            ReporterStatus::Active => "status-online",
            ReporterStatus::PartnerUnreachable | ReporterStatus::MonitorOffline => "status-offline",
            ReporterStatus::WaitingForPartner | ReporterStatus::MeterSilent => "status-waiting",
            ReporterStatus::Paused | ReporterStatus::Connecting => "status-never",
        }
    }
}

/// A reporter as its pages show it to someone who may work on its site.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Reporter {
    pub id: i64,
    pub site_id: i64,
    pub site_name: String,
    pub kind: ReporterKind,
    pub name: String,
    pub monitor_id: i64,
    pub monitor_name: String,
    pub main_fuse_a: u16,
    pub serial: String,
    /// Charge Amps: the PIN to enter in Partner with the serial.
    pub pin: Option<String>,
    /// Open Reporter: where updates go, and as whom (never the password).
    pub create_token_url: Option<String>,
    pub update_url: Option<String>,
    pub username: Option<String>,
    pub paused: bool,
    pub facts: Facts,
    /// A monitor silent this long is reported offline (ms).
    pub silent_after_ms: i64,
    /// The monitor's usual interval between readings (ms).
    #[serde(default = "default_interval")]
    pub monitor_interval_ms: i64,
    /// The site's clock, for showing times.
    pub clock: crate::clock::LocalClock,
}

/// Everything but the PIN, which is never logged.
impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporter")
            .field("id", &self.id)
            .field("site_id", &self.site_id)
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("monitor_id", &self.monitor_id)
            .field("main_fuse_a", &self.main_fuse_a)
            .field("serial", &self.serial)
            .field("pin", &self.pin.as_ref().map(|_| "***"))
            .field("paused", &self.paused)
            .field("facts", &self.facts)
            .finish_non_exhaustive()
    }
}

fn default_interval() -> i64 {
    crate::monitor::DEFAULT_INTERVAL_MS
}

impl Reporter {
    pub fn silence(&self) -> Silence {
        Silence {
            interval_ms: self.monitor_interval_ms,
            offline_after_ms: self.silent_after_ms,
        }
    }

    pub fn status(&self, now_ms: i64) -> ReporterStatus {
        ReporterStatus::derive(now_ms, self.paused, &self.facts, self.silence())
    }
}

/// A status change for an open page: the reporter's new facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReporterLive {
    pub id: i64,
    pub facts: Facts,
    pub paused: bool,
}

/// A site as the wizard offers it: its fuse and its monitors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WizardSite {
    pub id: i64,
    pub name: String,
    pub main_fuse_a: u16,
    /// Total-consumption monitor first.
    pub monitors: Vec<WizardMonitor>,
}

/// A monitor as the wizard offers it, with the reporters that already forward it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WizardMonitor {
    pub id: i64,
    pub name: String,
    /// It measures the site's total consumption.
    pub total: bool,
    /// (reporter id, kind, name) of the reporters on it.
    pub reporters: Vec<(i64, ReporterKind, String)>,
}

/// What the wizard needs to know before its first step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WizardOptions {
    pub sites: Vec<WizardSite>,
    /// Charge Amps licences on the account not yet held by a reporter.
    pub free_charge_amps_licences: usize,
    /// The code of the licence a Charge Amps reporter saved now would take.
    #[serde(default)]
    pub next_licence: Option<String>,
    /// Wizards this account left part-way, newest first.
    #[serde(default)]
    pub drafts: Vec<ReporterDraft>,
}

/// The wizard's fields as a draft keeps them (never the partner's password).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftFields {
    /// The step reached, 1 to 6.
    pub step: u8,
    pub kind: String,
    pub name: String,
    pub main_fuse_a: String,
    pub monitor_id: String,
    pub create_token_url: String,
    pub update_url: String,
    pub username: String,
}

impl DraftFields {
    /// Refuses what no wizard sends: a draft is kept, so it is bounded like the reporter.
    pub fn check(&self) -> Result<(), FieldError> {
        let long = |t: &str, max: usize| t.chars().count() > max;
        if !(1..=6).contains(&self.step)
            || long(&self.kind, 40)
            || long(&self.name, MAX_NAME_LEN)
            || long(&self.main_fuse_a, 10)
            || long(&self.monitor_id, 20)
            || long(&self.create_token_url, MAX_URL_LEN)
            || long(&self.update_url, MAX_URL_LEN)
            || long(&self.username, MAX_CREDENTIAL_LEN)
        {
            return Err(FieldError::new("draft", "error.request"));
        }
        Ok(())
    }
}

/// A wizard left part-way on a site, kept on the server so a reload, Back and a second tab
/// find it, and with it the serial number and PIN reserved for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReporterDraft {
    pub site_id: i64,
    pub site_name: String,
    pub fields: DraftFields,
    /// The serial number and PIN reserved for this draft (Charge Amps), once got.
    pub credentials: Option<NewCredentials>,
    /// ms UTC.
    pub updated_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn charge_amps() -> ReporterInput {
        ReporterInput {
            site_id: "4".into(),
            kind: "charge_amps".into(),
            name: "Charge Amps charge control".into(),
            serial: "AMPW-7K3Q-92XD".into(),
            main_fuse_a: "25".into(),
            monitor_id: "9".into(),
            ..Default::default()
        }
    }

    fn open_reporter() -> ReporterInput {
        ReporterInput {
            kind: "open_reporter".into(),
            serial: String::new(),
            create_token_url: "https://partner.example/api/v2/createtoken".into(),
            update_url: "https://partner.example/api/v2/measurements".into(),
            username: "villa-ek".into(),
            password: "s3cret".into(),
            ..charge_amps()
        }
    }

    fn with(mut input: ReporterInput, f: impl FnOnce(&mut ReporterInput)) -> ReporterInput {
        f(&mut input);
        input
    }

    #[rstest]
    #[case::charge_amps(charge_amps(), false, None)]
    #[case::open_reporter(open_reporter(), false, None)]
    #[case::unknown_kind(with(charge_amps(), |i| i.kind = "tesla".into()), false, Some("kind"))]
    #[case::no_site(with(charge_amps(), |i| i.site_id = "".into()), false, Some("site_id"))]
    #[case::blank_name(with(charge_amps(), |i| i.name = "  ".into()), false, Some("name"))]
    #[case::no_serial_yet(with(charge_amps(), |i| i.serial = "".into()), false, Some("serial"))]
    #[case::serial_with_ambiguous_letters(with(charge_amps(), |i| i.serial = "AMPW-0O1I-LUXX".into()), false, Some("serial"))]
    #[case::serial_not_needed_when_editing(with(charge_amps(), |i| i.serial = "".into()), true, None)]
    #[case::fuse_below_range(with(charge_amps(), |i| i.main_fuse_a = "5".into()), false, Some("main_fuse_a"))]
    #[case::fuse_other_value(with(charge_amps(), |i| i.main_fuse_a = "80".into()), false, None)]
    #[case::fuse_above_range(with(charge_amps(), |i| i.main_fuse_a = "251".into()), false, Some("main_fuse_a"))]
    #[case::fuse_decimal(with(charge_amps(), |i| i.main_fuse_a = "25.5".into()), false, Some("main_fuse_a"))]
    #[case::no_monitor(with(charge_amps(), |i| i.monitor_id = "".into()), false, Some("monitor_id"))]
    #[case::relative_url(with(open_reporter(), |i| i.update_url = "/api/update".into()), false, Some("update_url"))]
    #[case::ftp_url(with(open_reporter(), |i| i.create_token_url = "ftp://partner.example/t".into()), false, Some("create_token_url"))]
    #[case::url_without_host(with(open_reporter(), |i| i.update_url = "https:///update".into()), false, Some("update_url"))]
    #[case::url_with_space(with(open_reporter(), |i| i.update_url = "https://partner.example/up date".into()), false, Some("update_url"))]
    #[case::no_username(with(open_reporter(), |i| i.username = " ".into()), false, Some("username"))]
    #[case::no_password(with(open_reporter(), |i| i.password = "".into()), false, Some("password"))]
    #[case::password_kept_when_editing(with(open_reporter(), |i| i.password = "".into()), true, None)]
    fn the_form_is_checked(
        #[case] input: ReporterInput,
        #[case] editing: bool,
        #[case] failing: Option<&str>,
    ) {
        assert_eq!(input.validate(editing).err().map(|e| e.field), failing);
    }

    #[test]
    fn each_step_checks_only_its_own_fields() {
        let mut input = charge_amps();
        input.name = String::new();
        input.main_fuse_a = "x".into();
        assert_eq!(input.check_step(Step::Kind, false), Ok(()));
        assert_eq!(
            input.check_step(Step::Name, false).unwrap_err().field,
            "name"
        );
        assert_eq!(input.check_step(Step::Link, false), Ok(()));
        assert_eq!(
            input.check_step(Step::Fuse, false).unwrap_err().field,
            "main_fuse_a"
        );
    }

    #[test]
    fn steps_go_forward_and_back() {
        assert_eq!(Step::Kind.next(), Step::Name);
        assert_eq!(Step::Monitor.next(), Step::Save);
        assert_eq!(Step::Save.next(), Step::Save);
        assert_eq!(Step::Name.previous(), Step::Kind);
        assert_eq!(Step::Kind.previous(), Step::Kind);
        assert_eq!(Step::Save.number(), 6);
    }

    #[test]
    fn serials_are_read_in_any_case() {
        assert!(is_serial("ampw-7k3q-92xd"));
        assert!(!is_serial("AMPW-7K3Q-92X"));
        assert!(!is_serial("ABCD-7K3Q-92XD"));
    }

    #[test]
    fn secrets_are_not_printed() {
        let creds = NewCredentials {
            serial: "AMPW-7K3Q-92XD".into(),
            pin: "40719253".into(),
        };
        assert!(!format!("{creds:?}").contains("40719253"));
        let target = open_reporter().validate(false).unwrap().open_reporter;
        assert!(!format!("{target:?}").contains("s3cret"));
    }

    #[rstest]
    #[case::refused(Problem::Refused)]
    #[case::unreachable(Problem::Unreachable)]
    #[case::status(Problem::Status(503))]
    #[case::garbage(Problem::Garbage)]
    #[case::not_configured(Problem::NotConfigured)]
    fn problems_round_trip_through_their_code(#[case] problem: Problem) {
        assert_eq!(Problem::parse(&problem.code()), Some(problem));
    }

    /// Stored before a closed port and a timeout became one problem: both read as unreachable.
    #[rstest]
    #[case::timeout("timeout:5")]
    #[case::connect("connect")]
    fn old_transport_codes_read_as_unreachable(#[case] code: &str) {
        assert_eq!(Problem::parse(code), Some(Problem::Unreachable));
    }

    #[rstest]
    #[case::bad_request(Problem::Status(400), "reporter.problem_status_refused")]
    #[case::too_many(Problem::Status(429), "reporter.problem_status_refused")]
    #[case::server_error(Problem::Status(503), "reporter.problem_status")]
    #[case::redirect(Problem::Status(307), "reporter.problem_status")]
    fn a_refused_update_reads_apart_from_a_failing_partner(
        #[case] problem: Problem,
        #[case] key: &str,
    ) {
        assert_eq!(problem.key().0, key);
    }

    const NOW: i64 = 1_800_000_000_000;

    fn facts(
        reading_ago_s: Option<i64>,
        accepted_ago_s: Option<i64>,
        failed_ago_s: Option<i64>,
        problem: Option<Problem>,
        offline: bool,
    ) -> Facts {
        let at = |s: Option<i64>| s.map(|s| NOW - s * 1000);
        Facts {
            sent_ts: at(reading_ago_s),
            reading_ts: at(reading_ago_s),
            accepted_at: at(accepted_ago_s),
            failed_at: at(failed_ago_s),
            problem,
            offline,
            ..Facts::default()
        }
    }

    #[rstest]
    #[case::new_reporter(
        false,
        facts(None, None, None, None, false),
        ReporterStatus::MonitorOffline
    )]
    #[case::new_reporter_with_readings(
        false,
        facts(Some(1), None, None, None, false),
        ReporterStatus::Connecting
    )]
    #[case::accepted_just_now(
        false,
        facts(Some(1), Some(1), None, None, false),
        ReporterStatus::Active
    )]
    #[case::accepted_a_minute_ago(
        false,
        facts(Some(1), Some(60), None, None, false),
        ReporterStatus::Active
    )]
    #[case::nothing_accepted_lately(
        false,
        facts(Some(1), Some(61), None, None, false),
        ReporterStatus::Connecting
    )]
    #[case::credentials_refused(
        false,
        facts(Some(1), None, Some(2), Some(Problem::Refused), false),
        ReporterStatus::WaitingForPartner
    )]
    #[case::refused_after_working(
        false,
        facts(Some(1), Some(30), Some(2), Some(Problem::Refused), false),
        ReporterStatus::WaitingForPartner
    )]
    #[case::partner_down(
        false,
        facts(Some(1), Some(20), Some(1), Some(Problem::Unreachable), false),
        ReporterStatus::PartnerUnreachable
    )]
    #[case::recovered(
        false,
        facts(Some(1), Some(1), Some(5), Some(Problem::Unreachable), false),
        ReporterStatus::Active
    )]
    #[case::monitor_silent_sent_offline(
        false,
        facts(Some(40), Some(1), None, None, true),
        ReporterStatus::MonitorOffline
    )]
    #[case::monitor_silent_not_yet_sent(
        false,
        facts(Some(31), Some(2), None, None, false),
        ReporterStatus::MonitorOffline
    )]
    // One truth about a silent meter: from the first missed reading, not 30 s later.
    #[case::a_reading_missed(
        false,
        facts(Some(5), Some(3), None, None, false),
        ReporterStatus::MeterSilent
    )]
    #[case::next_reading_not_yet_due(
        false,
        facts(Some(3), Some(3), None, None, false),
        ReporterStatus::Active
    )]
    #[case::paused_wins(
        true,
        facts(Some(1), None, Some(1), Some(Problem::Refused), false),
        ReporterStatus::Paused
    )]
    fn status_is_derived_from_the_facts(
        #[case] paused: bool,
        #[case] facts: Facts,
        #[case] want: ReporterStatus,
    ) {
        let silence = Silence {
            interval_ms: 2_000,
            offline_after_ms: 30_000,
        };
        assert_eq!(ReporterStatus::derive(NOW, paused, &facts, silence), want);
    }
}
