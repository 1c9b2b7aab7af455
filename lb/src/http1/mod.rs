//! HTTP/1.x as tandem speaks it, without I/O: request and response heads
//! parsed into spans of the read buffer (httparse underneath), body framing
//! decided and checked, the chunked coding, and heads written back out.
//! The proxy (`crate::proxy`) does the reading and writing.

pub mod chunked;
pub mod options;
pub mod request;
pub mod response;
pub mod span;
pub mod syntax;
pub mod unchecked;
pub mod write;

#[cfg(test)]
mod props;

pub use chunked::{ChunkError, ChunkedDecoder};
pub use request::{parse_request, BodyKind, HeadLimits, RequestError, RequestHead};
pub use response::{parse_response, InvalidResponse, ResponseHead};
pub use span::{HeaderSpan, Span};
