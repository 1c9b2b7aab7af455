//! What a request's fields say about its connection and body once read:
//! the `Connection` options, and from them and the framing fields the head's
//! body, close and upgrade. Shared by the checked reader
//! ([`super::request`]) and the bench-only unchecked one
//! ([`super::unchecked`]), so both frame a request the same way.

use super::request::{BodyKind, RequestHead};
use super::span::{is_end_to_end, list_items, Span};

/// The options of the `Connection` fields seen so far.
#[derive(Debug, Default, Clone, Copy)]
pub struct ConnectionOptions {
    pub close: bool,
    pub keep_alive: bool,
    pub upgrade: bool,
}

impl ConnectionOptions {
    /// Read one `Connection` value: its close, keep-alive and upgrade
    /// options; any other name it lists is hop-by-hop (pushed on `listed`)
    /// unless the proxy needs it end to end (framing, Host).
    pub fn read(&mut self, buf: &[u8], value: &[u8], listed: &mut Vec<Span>) {
        for token in list_items(value) {
            if token.eq_ignore_ascii_case(b"close") {
                self.close = true;
            } else if token.eq_ignore_ascii_case(b"keep-alive") {
                self.keep_alive = true;
            } else if token.eq_ignore_ascii_case(b"upgrade") {
                self.upgrade = true;
            } else if !is_end_to_end(token) {
                listed.push(Span::of(buf, token));
            }
        }
    }
}

/// Set the head's body (chunked wins over a length; a length of 0 is no
/// body), close (HTTP/1.0 closes unless it asked for keep-alive) and upgrade
/// (HTTP/1.1 with `Connection: upgrade` and an `Upgrade` field).
pub fn settle(
    head: &mut RequestHead,
    chunked: bool,
    length: Option<u64>,
    connection: ConnectionOptions,
    upgrade_header: bool,
) {
    head.body = match (chunked, length) {
        (true, _) => BodyKind::Chunked,
        (false, Some(0)) | (false, None) => BodyKind::None,
        (false, Some(n)) => BodyKind::Length(n),
    };
    head.close = if head.minor == 0 { !connection.keep_alive || connection.close } else { connection.close };
    head.upgrade = connection.upgrade && upgrade_header && head.minor == 1;
}
