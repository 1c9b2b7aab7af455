//! Small grammars of RFC 9110 the heads are checked against: a Host value
//! and a decimal number. Pure; used by the request and response readers.

/// `host [ ":" port ]` (RFC 9110 7.2, RFC 3986 3.2.2): a reg-name or IPv4
/// address of URI characters, or an IPv6 literal in brackets; a port of at
/// most 5 digits below 65536. Not empty.
pub fn valid_host(value: &[u8]) -> bool {
    let (host, port) = if value.first() == Some(&b'[') {
        let Some(end) = value.iter().position(|&b| b == b']') else { return false };
        let inside = &value[1..end];
        if inside.is_empty() || !inside.iter().all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.') {
            return false;
        }
        match &value[end + 1..] {
            [] => (&value[..=end], None),
            [b':', port @ ..] => (&value[..=end], Some(port)),
            _ => return false,
        }
    } else {
        match value.iter().rposition(|&b| b == b':') {
            Some(i) => (&value[..i], Some(&value[i + 1..])),
            None => (value, None),
        }
    };
    let reg_name = |b: &u8| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=%".contains(b);
    if host.is_empty() || (host[0] != b'[' && !host.iter().all(reg_name)) {
        return false;
    }
    match port {
        None => true,
        // An empty port is allowed by the grammar (`host:`), as nginx allows it.
        Some([]) => true,
        Some(p) => p.len() <= 5 && p.iter().all(u8::is_ascii_digit) && parse_decimal(p).is_some_and(|n| n <= 65535),
    }
}

/// `1*DIGIT` as a u64, `None` on anything else or overflow.
pub fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    s.iter().try_fold(
        0u64,
        |n, &b| if b.is_ascii_digit() { n.checked_mul(10)?.checked_add(u64::from(b - b'0')) } else { None },
    )
}
