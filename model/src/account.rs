use serde::{Deserialize, Serialize};

use crate::FieldError;

/// What an account is for. Owners have sites; installers set sites up for customers and work on
/// the sites whose owners granted them access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Installer,
}

impl Role {
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Installer => "installer",
        }
    }

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        match s {
            "owner" => Ok(Role::Owner),
            "installer" => Ok(Role::Installer),
            _ => Err(FieldError::new("role", "error.role_invalid")),
        }
    }
}

/// The signed-in account as the browser sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: i64,
    pub email: String,
    pub role: Role,
}

/// Longest e-mail address SMTP allows (RFC 5321 path limit minus the angle brackets).
const MAX_EMAIL_LEN: usize = 254;

/// Normalises an e-mail address for storage and look-up: trimmed and lower-cased, so that
/// `Anna@Example.se` and `anna@example.se` are one account.
pub fn normalize_email(raw: &str) -> Result<String, FieldError> {
    let email = raw.trim().to_lowercase();
    let invalid = FieldError::new("email", "error.email_invalid");
    if email.is_empty() || email.len() > MAX_EMAIL_LEN || email.chars().any(char::is_whitespace) {
        return Err(invalid);
    }
    let (local, domain) = email.split_once('@').ok_or(invalid.clone())?;
    let domain_ok = !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..");
    if local.is_empty() || !domain_ok {
        return Err(invalid);
    }
    Ok(email)
}

/// Shortest password we accept. Strength beyond length is judged on the server (zxcvbn).
pub const MIN_PASSWORD_LEN: usize = 10;
/// Longest password we hash; argon2 accepts more, but nobody types more and it bounds the work.
pub const MAX_PASSWORD_LEN: usize = 128;

/// The checks both sides can make before asking the server.
pub fn check_password_shape(password: &str) -> Result<(), FieldError> {
    let len = password.chars().count();
    if len < MIN_PASSWORD_LEN {
        return Err(FieldError::new("password", "error.password_short"));
    }
    if len > MAX_PASSWORD_LEN {
        return Err(FieldError::new("password", "error.password_long"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::plain("anna@example.se", Ok("anna@example.se"))]
    #[case::trimmed_and_lowered("  Anna@Example.SE ", Ok("anna@example.se"))]
    #[case::subdomain("e@mail.example.co.uk", Ok("e@mail.example.co.uk"))]
    #[case::empty("", Err(()))]
    #[case::no_at("anna.example.se", Err(()))]
    #[case::two_ats("a@b@example.se", Err(()))]
    #[case::no_local("@example.se", Err(()))]
    #[case::no_dot_in_domain("anna@localhost", Err(()))]
    #[case::dot_edge("anna@.example.se", Err(()))]
    #[case::double_dot("anna@example..se", Err(()))]
    #[case::inner_space("an na@example.se", Err(()))]
    fn emails(#[case] raw: &str, #[case] expected: Result<&str, ()>) {
        assert_eq!(
            normalize_email(raw).map_err(|_| ()),
            expected.map(str::to_string)
        );
    }

    #[test]
    fn overlong_email_is_rejected() {
        let raw = format!("{}@example.se", "a".repeat(250));
        assert_eq!(
            normalize_email(&raw).unwrap_err().key,
            "error.email_invalid"
        );
    }

    #[rstest]
    #[case::nine_chars("abcdefghi", Some("error.password_short"))]
    #[case::ten_chars("abcdefghij", None)]
    #[case::ten_multibyte_chars("åäöåäöåäöå", None)]
    #[case::too_long(&"x".repeat(129), Some("error.password_long"))]
    fn password_shape(#[case] password: &str, #[case] key: Option<&str>) {
        assert_eq!(check_password_shape(password).err().map(|e| e.key), key);
    }

    #[rstest]
    #[case::owner("owner", Ok(Role::Owner))]
    #[case::installer("installer", Ok(Role::Installer))]
    #[case::unknown("admin", Err(()))]
    fn roles(#[case] raw: &str, #[case] expected: Result<Role, ()>) {
        assert_eq!(Role::parse(raw).map_err(|_| ()), expected);
        if let Ok(role) = expected {
            assert_eq!(role.as_str(), raw);
        }
    }
}
