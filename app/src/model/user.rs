//! A user account: an email address, unique regardless of case, and a flag.

use super::validate::Invalid;
use serde::{Deserialize, Serialize};

/// RFC 5321's limit on a path, the longest address any mail system accepts.
pub const EMAIL_MAX: usize = 254;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: u64,
    pub email: String,
    pub is_active: bool,
}

/// What a client sends to create a user. `is_active` defaults to true.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    pub email: Option<String>,
    pub is_active: Option<bool>,
}

/// A validated new user.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    pub email: String,
    pub is_active: bool,
}

impl UserInput {
    pub fn validate(self) -> Result<NewUser, Invalid> {
        let mut errors = Invalid::default();
        let email = self.email.map(|e| e.trim().to_string()).unwrap_or_default();
        if email.is_empty() {
            errors.push("email", "is required");
        } else if email.chars().count() > EMAIL_MAX {
            errors.push("email", format!("must be at most {EMAIL_MAX} characters"));
        } else if !looks_like_email(&email) {
            errors.push("email", "must look like name@domain");
        }
        errors.into_result(|| NewUser { email, is_active: self.is_active.unwrap_or(true) })
    }
}

/// One `@` with something on each side, a dot in the domain, no spaces or
/// control characters. Deliverability is the mail system's business.
fn looks_like_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate(json: &str) -> Result<NewUser, Invalid> {
        serde_json::from_str::<UserInput>(json).expect("parses").validate()
    }

    #[test]
    fn is_active_defaults_to_true() {
        let user = validate(r#"{"email":" a@b.io "}"#).expect("valid");
        assert_eq!(user, NewUser { email: "a@b.io".into(), is_active: true });
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for bad in [r#"{}"#, r#"{"email":""}"#, r#"{"email":"no-at"}"#, r#"{"email":"a@b"}"#, r#"{"email":"a b@c.d"}"#]
        {
            assert!(validate(bad).is_err(), "{bad} accepted");
        }
    }
}
