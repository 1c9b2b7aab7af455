//! Who may make changing calls: a client address in `admin.allow` (loopback
//! by default) presenting `Authorization: Bearer <admin.token>`. Pure.

use std::net::IpAddr;

use crate::config::{IpNet, Secret};

/// Why a changing call was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No token is configured: the runtime API is off. 403.
    NoTokenConfigured,
    /// The client address is not in `admin.allow`. 403.
    ClientNotAllowed,
    /// Missing or wrong bearer token. 401.
    BadToken,
}

impl Denied {
    pub fn status(self) -> u16 {
        match self {
            Denied::BadToken => 401,
            Denied::NoTokenConfigured | Denied::ClientNotAllowed => 403,
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Denied::NoTokenConfigured => "the runtime API is off: set admin.token or admin.token_file in the config",
            Denied::ClientNotAllowed => "changing calls are not allowed from this address (see admin.allow)",
            Denied::BadToken => "missing or wrong token: send Authorization: Bearer <admin.token>",
        }
    }
}

/// Check a changing call. The address is checked first, so a client outside
/// `allow` learns nothing about the token, not even whether one is set.
pub fn authorize(
    token: Option<&Secret>,
    allow: &[IpNet],
    client: Option<IpAddr>,
    authorization: Option<&[u8]>,
) -> Result<(), Denied> {
    if !client.is_some_and(|ip| allow.iter().any(|net| net.contains(ip))) {
        return Err(Denied::ClientNotAllowed);
    }
    let Some(token) = token else { return Err(Denied::NoTokenConfigured) };
    let presented = authorization.and_then(bearer).map(<[u8]>::trim_ascii).unwrap_or(b"");
    if constant_time_eq(presented, token.0.as_bytes()) {
        Ok(())
    } else {
        Err(Denied::BadToken)
    }
}

/// The credentials of `Bearer <token>` (the scheme is case-insensitive).
fn bearer(header: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = header.split_at_checked(7)?;
    scheme.eq_ignore_ascii_case(b"bearer ").then_some(rest)
}

/// Compare without an early exit on the first differing byte.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, &x) in b.iter().enumerate() {
        diff |= usize::from(x ^ a.get(i).copied().unwrap_or(0));
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    fn loopback() -> Vec<IpNet> {
        vec![IpNet::new("127.0.0.0".parse().unwrap_or_else(|_| unreachable!()), 8)]
    }

    const TOKEN: &str = "0123456789abcdef";

    #[test]
    fn the_right_token_from_an_allowed_client_passes() {
        let t = Secret(TOKEN.into());
        assert_eq!(authorize(Some(&t), &loopback(), ip("127.0.0.1"), Some(b"Bearer 0123456789abcdef")), Ok(()));
        assert_eq!(authorize(Some(&t), &loopback(), ip("::ffff:127.0.0.1"), Some(b"bearer 0123456789abcdef ")), Ok(()));
    }

    #[test]
    fn a_missing_wrong_or_prefixed_token_is_refused() {
        let t = Secret(TOKEN.into());
        for header in [
            None,
            Some(&b"Bearer 0123456789abcdeX"[..]),
            Some(b"0123456789abcdef"),
            Some(b"Bearer 0123456789abcdef0"),
            Some(b"Bearer "),
        ] {
            assert_eq!(authorize(Some(&t), &loopback(), ip("127.0.0.1"), header), Err(Denied::BadToken), "{header:?}");
        }
    }

    #[test]
    fn a_client_outside_allow_is_refused_even_with_the_token() {
        let t = Secret(TOKEN.into());
        let h = Some(&b"Bearer 0123456789abcdef"[..]);
        assert_eq!(authorize(Some(&t), &loopback(), ip("10.0.0.1"), h), Err(Denied::ClientNotAllowed));
        assert_eq!(authorize(Some(&t), &loopback(), None, h), Err(Denied::ClientNotAllowed));
        assert_eq!(
            authorize(None, &loopback(), ip("10.0.0.1"), h),
            Err(Denied::ClientNotAllowed),
            "says nothing of the token"
        );
    }

    #[test]
    fn without_a_configured_token_every_change_is_refused() {
        assert_eq!(authorize(None, &loopback(), ip("127.0.0.1"), Some(b"Bearer x")), Err(Denied::NoTokenConfigured));
        assert_eq!(Denied::NoTokenConfigured.status(), 403);
        assert_eq!(Denied::BadToken.status(), 401);
    }
}
