//! The chunked transfer coding (RFC 9112 section 7.1) as a state machine
//! over byte slices: it finds where a chunked body ends, checks its framing
//! on the way, and hands out the data bytes for a client that cannot take
//! chunks (HTTP/1.0). No I/O, no allocation.
//!
//! Strict where leniency lets two parsers disagree about where a message
//! ends (request smuggling): sizes are hex digits only, at most 15 of them
//! (no overflow), every line ends in CRLF, a chunk's data is followed by
//! CRLF. Chunk extensions and trailer fields are skipped within
//! [`MAX_LINE`] bytes per line.

/// Longest chunk-size line (extensions included) or trailer line.
pub const MAX_LINE: usize = 4096;
/// Most hex digits in a chunk size: 15 keep the size below 2^60.
const MAX_SIZE_DIGITS: u32 = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkError {
    /// Not a hex digit where the size is, or no size at all.
    BadSize,
    /// More than [`MAX_SIZE_DIGITS`] digits.
    SizeTooLarge,
    /// A line not ended by CRLF, or data not followed by CRLF.
    BadLineEnd,
    /// An extension or trailer line over [`MAX_LINE`] bytes.
    LineTooLong,
    /// A trailer line that is not `name: value`.
    BadTrailer,
}

impl std::fmt::Display for ChunkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ChunkError::BadSize => "invalid chunk size",
            ChunkError::SizeTooLarge => "chunk size too large",
            ChunkError::BadLineEnd => "chunk framing without CRLF",
            ChunkError::LineTooLong => "chunk extension or trailer line too long",
            ChunkError::BadTrailer => "malformed trailer field",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading hex digits of a size (`digits` so far).
    Size { digits: u32 },
    /// Whitespace after the size: only more of it, `;` or CR may follow.
    SizeWs { len: usize },
    /// After the size: an extension up to CR (`len` bytes so far).
    Extension { len: usize },
    /// Expecting LF after the CR of a size line.
    SizeLf,
    /// Inside a chunk's data, `left` bytes to go.
    Data,
    /// Expecting CR after the data.
    DataCr,
    /// Expecting LF after the data's CR.
    DataLf,
    /// At the start of a trailer line (or of the final CRLF).
    TrailerStart,
    /// Inside a trailer field line (`len` bytes so far, whether a `:` was seen).
    Trailer { len: usize, colon: bool },
    /// Expecting LF after a trailer line's CR.
    TrailerLf,
    /// Expecting the LF of the final CRLF.
    EndLf,
    /// The body is complete.
    Done,
}

/// Where a chunked body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkedDecoder {
    state: State,
    size: u64,
}

/// What one call consumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes of the input that belong to the body (all of them unless done).
    pub consumed: usize,
    pub done: bool,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        ChunkedDecoder::new()
    }
}

impl ChunkedDecoder {
    pub fn new() -> ChunkedDecoder {
        ChunkedDecoder { state: State::Size { digits: 0 }, size: 0 }
    }

    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Consume `input` up to the end of the body; `data` gets every run of
    /// chunk data bytes in order.
    pub fn feed(&mut self, input: &[u8], mut data: impl FnMut(&[u8])) -> Result<Progress, ChunkError> {
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            match self.state {
                State::Size { digits } => match hex(b) {
                    Some(v) => {
                        if digits >= MAX_SIZE_DIGITS {
                            return Err(ChunkError::SizeTooLarge);
                        }
                        self.size = self.size << 4 | u64::from(v);
                        self.state = State::Size { digits: digits + 1 };
                    }
                    None if b == b'\n' => return Err(ChunkError::BadLineEnd),
                    None if digits == 0 => return Err(ChunkError::BadSize),
                    None if b == b'\r' => self.state = State::SizeLf,
                    None if b == b';' => self.state = State::Extension { len: 1 },
                    None if b == b' ' || b == b'\t' => self.state = State::SizeWs { len: 1 },
                    None => return Err(ChunkError::BadSize),
                },
                State::SizeWs { len } => match b {
                    b' ' | b'\t' if len < MAX_LINE => self.state = State::SizeWs { len: len + 1 },
                    b' ' | b'\t' => return Err(ChunkError::LineTooLong),
                    b';' => self.state = State::Extension { len: len + 1 },
                    b'\r' => self.state = State::SizeLf,
                    b'\n' => return Err(ChunkError::BadLineEnd),
                    _ => return Err(ChunkError::BadSize),
                },
                State::Extension { len } => {
                    if b == b'\r' {
                        self.state = State::SizeLf;
                    } else if b == b'\n' {
                        return Err(ChunkError::BadLineEnd);
                    } else if len >= MAX_LINE {
                        return Err(ChunkError::LineTooLong);
                    } else {
                        self.state = State::Extension { len: len + 1 };
                    }
                }
                State::SizeLf => {
                    if b != b'\n' {
                        return Err(ChunkError::BadLineEnd);
                    }
                    self.state = if self.size == 0 { State::TrailerStart } else { State::Data };
                }
                State::Data => {
                    let take = (input.len() - i).min(usize::try_from(self.size).unwrap_or(usize::MAX));
                    data(&input[i..i + take]);
                    self.size -= take as u64;
                    i += take;
                    if self.size == 0 {
                        self.state = State::DataCr;
                    }
                    continue;
                }
                State::DataCr => {
                    if b != b'\r' {
                        return Err(ChunkError::BadLineEnd);
                    }
                    self.state = State::DataLf;
                }
                State::DataLf => {
                    if b != b'\n' {
                        return Err(ChunkError::BadLineEnd);
                    }
                    self.state = State::Size { digits: 0 };
                }
                State::TrailerStart => {
                    self.state = match b {
                        b'\r' => State::EndLf,
                        b'\n' => return Err(ChunkError::BadLineEnd),
                        b':' | b' ' | b'\t' => return Err(ChunkError::BadTrailer),
                        _ => State::Trailer { len: 1, colon: false },
                    };
                }
                State::Trailer { len, colon } => {
                    if b == b'\r' {
                        if !colon {
                            return Err(ChunkError::BadTrailer);
                        }
                        self.state = State::TrailerLf;
                    } else if b == b'\n' || b == 0 {
                        return Err(ChunkError::BadTrailer);
                    } else if len >= MAX_LINE {
                        return Err(ChunkError::LineTooLong);
                    } else {
                        self.state = State::Trailer { len: len + 1, colon: colon || b == b':' };
                    }
                }
                State::TrailerLf => {
                    if b != b'\n' {
                        return Err(ChunkError::BadLineEnd);
                    }
                    self.state = State::TrailerStart;
                }
                State::EndLf => {
                    if b != b'\n' {
                        return Err(ChunkError::BadLineEnd);
                    }
                    self.state = State::Done;
                    return Ok(Progress { consumed: i + 1, done: true });
                }
                State::Done => return Ok(Progress { consumed: i, done: true }),
            }
            i += 1;
        }
        Ok(Progress { consumed: i, done: self.state == State::Done })
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feed `input` in pieces of `step` bytes; the data and where it ended.
    fn decode(input: &[u8], step: usize) -> Result<(Vec<u8>, Option<usize>), ChunkError> {
        let mut d = ChunkedDecoder::new();
        let mut out = Vec::new();
        let mut at = 0;
        while at < input.len() {
            let end = (at + step).min(input.len());
            let p = d.feed(&input[at..end], |b| out.extend_from_slice(b))?;
            if p.done {
                return Ok((out, Some(at + p.consumed)));
            }
            at = end;
        }
        Ok((out, None))
    }

    #[test]
    fn a_body_decodes_the_same_in_any_pieces() {
        let body = b"4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: yes\r\n\r\nNEXT";
        for step in [1, 2, 3, 7, 100] {
            let (data, end) = decode(body, step).expect("valid");
            assert_eq!(data, b"Wikipedia in\r\n\r\nchunks.");
            assert_eq!(end, Some(body.len() - 4), "stops before the next message (step {step})");
        }
    }

    #[test]
    fn an_unfinished_body_is_not_done() {
        assert_eq!(decode(b"5\r\nhel", 2), Ok((b"hel".to_vec(), None)));
        assert_eq!(decode(b"0\r\n", 1), Ok((vec![], None)));
    }

    #[test]
    fn sizes_must_be_hex_and_bounded() {
        assert_eq!(decode(b"x\r\n", 1), Err(ChunkError::BadSize));
        assert_eq!(decode(b"\r\n", 1), Err(ChunkError::BadSize));
        assert_eq!(decode(b"-1\r\n", 1), Err(ChunkError::BadSize));
        assert_eq!(decode(b"0x10\r\n", 1), Err(ChunkError::BadSize));
        assert_eq!(decode(b"1000000000000000\r\n", 100), Err(ChunkError::SizeTooLarge));
        assert!(decode(b"fffffffffffffff\r\n", 100).is_ok(), "15 digits are fine");
    }

    #[test]
    fn lines_must_end_in_crlf() {
        assert_eq!(decode(b"5\nhello\r\n", 1), Err(ChunkError::BadLineEnd));
        assert_eq!(decode(b"5\r\nhelloX\r\n", 1), Err(ChunkError::BadLineEnd));
        assert_eq!(decode(b"5\r\nhello\r\r", 1), Err(ChunkError::BadLineEnd));
        assert_eq!(decode(b"0\r\n\n", 1), Err(ChunkError::BadLineEnd));
        assert_eq!(decode(b"5;a\nhello", 1), Err(ChunkError::BadLineEnd));
    }

    #[test]
    fn whitespace_after_a_size_allows_only_an_extension_or_the_line_end() {
        assert!(decode(b"5 \t;ext\r\nhello\r\n0\r\n\r\n", 1).is_ok_and(|(d, end)| d == b"hello" && end.is_some()));
        assert!(decode(b"5  \r\nhello\r\n0\r\n\r\n", 3).is_ok());
        assert_eq!(decode(b"5 6\r\n", 1), Err(ChunkError::BadSize), "a second number is not an extension");
    }

    #[test]
    fn trailer_lines_must_be_fields() {
        assert_eq!(decode(b"0\r\nnot a field\r\n\r\n", 1), Err(ChunkError::BadTrailer));
        assert_eq!(decode(b"0\r\n: x\r\n\r\n", 1), Err(ChunkError::BadTrailer));
        assert!(decode(b"0\r\nA: b\r\nC:d\r\n\r\n", 2).is_ok_and(|(_, end)| end.is_some()));
    }

    #[test]
    fn long_extensions_and_trailers_are_refused() {
        let mut ext = b"1;".to_vec();
        ext.extend(std::iter::repeat_n(b'a', MAX_LINE));
        assert_eq!(decode(&ext, 64), Err(ChunkError::LineTooLong));
        let mut trailer = b"0\r\n".to_vec();
        trailer.extend(std::iter::repeat_n(b'a', MAX_LINE + 1));
        assert_eq!(decode(&trailer, 64), Err(ChunkError::LineTooLong));
    }
}
