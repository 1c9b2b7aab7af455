//! What the ACME service shares with the rest of the process: the HTTP-01
//! tokens the plain listeners answer, its status for the admin plane, and
//! the runtime API's "renew now". Locks here are held for a map lookup or a
//! copy, never across I/O.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

/// The ACME service's state, as the status page shows it.
#[derive(Debug, Clone, Default)]
pub struct AcmeStatus {
    /// `starting`, `obtaining`, `valid` (a certificate is served) or
    /// `failed` (the last attempt failed; a certificate may still be served).
    pub state: &'static str,
    pub last_attempt: Option<SystemTime>,
    pub last_success: Option<SystemTime>,
    /// Why the last attempt failed (cleared by a success).
    pub last_error: Option<String>,
    /// Failed attempts in a row.
    pub failures: u32,
    pub next_attempt: Option<SystemTime>,
    /// The current certificate's notAfter.
    pub not_after: Option<SystemTime>,
    /// Certificates obtained and attempts failed since start.
    pub obtained: u64,
    pub failed: u64,
}

#[derive(Default)]
pub struct AcmeShared {
    tokens: Mutex<HashMap<String, String>>,
    status: Mutex<AcmeStatus>,
    /// `POST /api/acme/renew`: try now, whatever the plan says.
    pub renew_now: tokio::sync::Notify,
}

impl AcmeShared {
    /// The key authorization for an HTTP-01 `token` this process published.
    pub fn key_authorization(&self, token: &str) -> Option<String> {
        lock(&self.tokens).get(token).cloned()
    }

    pub fn publish(&self, token: &str, key_authorization: &str) {
        lock(&self.tokens).insert(token.to_string(), key_authorization.to_string());
    }

    pub fn withdraw(&self, token: &str) {
        lock(&self.tokens).remove(token);
    }

    pub fn status(&self) -> AcmeStatus {
        lock(&self.status).clone()
    }

    pub fn update(&self, f: impl FnOnce(&mut AcmeStatus)) {
        f(&mut lock(&self.status));
    }
}

/// An HTTP-01 token as RFC 8555 section 8.3 allows it (base64url), so one
/// can name a file in the state directory safely.
pub fn is_token(token: &[u8]) -> bool {
    !token.is_empty()
        && token.len() <= 256
        && token.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_base64url_only() {
        assert!(is_token(b"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"));
        assert!(!is_token(b"../../etc/passwd"));
        assert!(!is_token(b""));
        assert!(!is_token(b"a.b"));
    }

    #[test]
    fn a_published_token_is_answered_until_withdrawn() {
        let s = AcmeShared::default();
        s.publish("t1", "t1.thumb");
        assert_eq!(s.key_authorization("t1").as_deref(), Some("t1.thumb"));
        s.withdraw("t1");
        assert_eq!(s.key_authorization("t1"), None);
    }
}
