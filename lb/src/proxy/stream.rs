//! A client connection's byte stream: plain TCP, or TLS over TCP after the
//! handshake. One enum rather than a generic connection handler, so the
//! request path is compiled once; the cost is a branch per read or write.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

pub enum ClientStream {
    Plain(TcpStream),
    /// Boxed: rustls' state is a few KiB and most connections are plain.
    Tls(Box<TlsStream<TcpStream>>),
    /// One HTTP/2 stream's request, as HTTP/1.1 on an in-memory pipe
    /// (`super::h2`); HTTP/2 is only served over TLS.
    Bridge(DuplexStream),
}

impl ClientStream {
    /// The client reached tandem over TLS (directly, or as an HTTP/2 stream).
    pub fn is_tls(&self) -> bool {
        !matches!(self, ClientStream::Plain(_))
    }

    pub fn is_http2(&self) -> bool {
        matches!(self, ClientStream::Bridge(_))
    }

    /// The protocol ALPN chose on a TLS connection.
    pub fn alpn(&self) -> Option<&[u8]> {
        match self {
            ClientStream::Tls(s) => s.get_ref().1.alpn_protocol(),
            _ => None,
        }
    }

    /// Ready once a read would make progress: bytes (or an EOF) on the
    /// socket, or, with TLS, plaintext rustls already decrypted and holds.
    /// Waits in the socket's own reader slot, so an idle task stays small.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            ClientStream::Plain(s) => s.poll_read_ready(cx),
            ClientStream::Tls(s) => {
                let (tcp, session) = s.get_ref();
                if !session.wants_read() {
                    // Plaintext (or a close) is waiting in rustls already.
                    return Poll::Ready(Ok(()));
                }
                tcp.poll_read_ready(cx)
            }
            // The bridge writes the request as soon as it exists.
            ClientStream::Bridge(_) => Poll::Ready(Ok(())),
        }
    }
}

impl AsyncRead for ClientStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            ClientStream::Bridge(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            ClientStream::Bridge(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
            ClientStream::Bridge(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            ClientStream::Plain(s) => s.is_write_vectored(),
            ClientStream::Tls(s) => s.is_write_vectored(),
            ClientStream::Bridge(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_flush(cx),
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            ClientStream::Bridge(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            ClientStream::Bridge(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
