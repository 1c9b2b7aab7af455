//! Reads and writes with a time limit per operation (nginx's timeouts are
//! "between two successive operations", not for the whole transfer).
//!
//! They go through tokio's `AsyncRead`/`AsyncWrite` path, which treats a
//! short read or write as "drained" and waits for the next readiness event
//! instead of making a system call that would only say EAGAIN. A timer is
//! armed only when an operation has to wait.

use std::io::{self, IoSlice};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// What went wrong with one read or write.
#[derive(Debug)]
pub enum IoFail {
    /// The limit passed without progress.
    Timeout,
    /// The peer closed its side (a read returned 0) where more was expected.
    Closed,
    Error(io::Error),
}

impl From<io::Error> for IoFail {
    fn from(e: io::Error) -> IoFail {
        IoFail::Error(e)
    }
}

/// Read once into the spare room of `buf` (at least `min_room` made if
/// needed), waiting at most `limit`. Returns the bytes read; 0 is the peer
/// closing, which the caller judges.
pub async fn read_some<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    limit: Duration,
    min_room: usize,
) -> Result<usize, IoFail> {
    if buf.capacity() - buf.len() < min_room {
        buf.reserve(min_room);
    }
    match tokio::time::timeout(limit, stream.read_buf(buf)).await {
        Ok(Ok(n)) => Ok(n),
        Ok(Err(e)) => Err(IoFail::Error(e)),
        Err(_) => Err(IoFail::Timeout),
    }
}

/// Below this, a body part is copied after its head and both go out in one
/// `send(2)`: cheaper than `writev(2)` (which takes the VFS path) for the
/// small answers most requests get.
pub const JOIN_MAX: usize = 8 * 1024;

/// Write every byte of `bufs`, in order, each write waiting at most `limit`;
/// then flush (a no-op on TCP; TLS may hold the last record until then).
pub async fn write_all<S: AsyncWrite + Unpin>(
    stream: &mut S,
    bufs: &mut [IoSlice<'_>],
    limit: Duration,
) -> Result<(), IoFail> {
    let mut bufs = bufs;
    // Leading empty slices would make a zero-length write look like a stall.
    IoSlice::advance_slices(&mut bufs, 0);
    while !bufs.is_empty() {
        let single = bufs[1..].iter().all(|b| b.is_empty());
        let write = async {
            if single {
                stream.write(&bufs[0]).await
            } else {
                stream.write_vectored(bufs).await
            }
        };
        let n = match tokio::time::timeout(limit, write).await {
            Ok(Ok(0)) => return Err(IoFail::Error(io::ErrorKind::WriteZero.into())),
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return Err(IoFail::Error(e)),
            Err(_) => return Err(IoFail::Timeout),
        };
        IoSlice::advance_slices(&mut bufs, n);
    }
    match tokio::time::timeout(limit, stream.flush()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(IoFail::Error(e)),
        Err(_) => Err(IoFail::Timeout),
    }
}

/// [`write_all`] of one slice.
pub async fn write_one<S: AsyncWrite + Unpin>(stream: &mut S, bytes: &[u8], limit: Duration) -> Result<(), IoFail> {
    write_all(stream, &mut [IoSlice::new(bytes)], limit).await
}

/// `head` then `body`: joined into `head` (one `send`) when the body is
/// small, written side by side (`writev`) otherwise.
pub async fn write_head_and<S: AsyncWrite + Unpin>(
    stream: &mut S,
    head: &mut Vec<u8>,
    body: &[u8],
    limit: Duration,
) -> Result<(), IoFail> {
    if body.len() <= JOIN_MAX {
        head.extend_from_slice(body);
        write_one(stream, head, limit).await
    } else {
        write_all(stream, &mut [IoSlice::new(head), IoSlice::new(body)], limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::{TcpListener, TcpStream};

    async fn pair() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let a = TcpStream::connect(l.local_addr().expect("addr")).await.expect("connect");
        let (b, _) = l.accept().await.expect("accept");
        (a, b)
    }

    #[tokio::test]
    async fn slices_are_written_in_order_and_read_back() {
        let (mut a, mut b) = pair().await;
        write_all(
            &mut a,
            &mut [IoSlice::new(b""), IoSlice::new(b"head"), IoSlice::new(b""), IoSlice::new(b"body")],
            Duration::from_secs(1),
        )
        .await
        .expect("written");
        let mut buf = Vec::new();
        while buf.len() < 8 {
            read_some(&mut b, &mut buf, Duration::from_secs(1), 64).await.expect("read");
        }
        assert_eq!(buf, b"headbody");
    }

    #[tokio::test]
    async fn a_silent_peer_times_out_and_a_closed_one_reads_zero() {
        let (mut a, b) = pair().await;
        let mut buf = Vec::new();
        assert!(matches!(read_some(&mut a, &mut buf, Duration::from_millis(50), 64).await, Err(IoFail::Timeout)));
        drop(b);
        assert!(matches!(read_some(&mut a, &mut buf, Duration::from_secs(1), 64).await, Ok(0)));
    }
}
