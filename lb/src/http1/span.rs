//! Positions in a read buffer: a parsed head keeps spans instead of
//! borrowing, so it can live beside the buffer it describes.

/// `len` bytes at `start` of the buffer a head was parsed from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    pub start: u32,
    pub len: u32,
}

impl Span {
    /// The span of `part`, which must be a sub-slice of `buf`.
    pub fn of(buf: &[u8], part: &[u8]) -> Span {
        let start = (part.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize);
        debug_assert!(start + part.len() <= buf.len(), "a span outside its buffer");
        Span { start: start as u32, len: part.len() as u32 }
    }

    pub fn get<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        let start = self.start as usize;
        buf.get(start..start + self.len as usize).unwrap_or(b"")
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// One header field: name and value (surrounding whitespace trimmed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeaderSpan {
    pub name: Span,
    pub value: Span,
}

/// Comma-separated list elements of a header value, trimmed, empty ones
/// skipped (RFC 9110 section 5.6.1).
pub fn list_items(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(trim).filter(|t| !t.is_empty())
}

/// Fields that a `Connection` header may not make hop-by-hop: the framing
/// (dropping it would desynchronise the next hop), `Host`, and what tandem
/// itself sets for the upstream. Such tokens are ignored.
pub fn is_end_to_end(name: &[u8]) -> bool {
    const KEPT: [&[u8]; 8] = [
        b"content-length",
        b"transfer-encoding",
        b"host",
        b"x-real-ip",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"x-request-id",
    ];
    KEPT.iter().any(|k| k.eq_ignore_ascii_case(name))
}

pub fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_finds_its_bytes_again() {
        let buf = b"GET /x HTTP/1.1";
        let s = Span::of(buf, &buf[4..6]);
        assert_eq!(s, Span { start: 4, len: 2 });
        assert_eq!(s.get(buf), b"/x");
        assert_eq!(Span { start: 40, len: 2 }.get(buf), b"", "out of range is empty");
    }

    #[test]
    fn list_items_are_trimmed_and_empty_ones_dropped() {
        let items: Vec<&[u8]> = list_items(b" gzip ,, chunked,\t").collect();
        assert_eq!(items, vec![&b"gzip"[..], &b"chunked"[..]]);
    }
}
