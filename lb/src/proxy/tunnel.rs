//! After `101 Switching Protocols` (WebSocket and other upgrades) the two
//! connections are joined byte for byte until both sides have closed, or
//! until nothing has moved either way for the group's `read_timeout` (as
//! nginx's `proxy_read_timeout` bounds an upgraded connection). A side that
//! closes its half is passed on as a half close. The two directions run
//! independently, so a blocked write one way never stops the other.

use std::cell::Cell;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use super::buffers::{Buffer, RELAY};
use super::stream::ClientStream;
use super::upstream_stream::UpstreamStream;

pub async fn tunnel(client: &mut ClientStream, upstream: &mut UpstreamStream, idle: Duration) {
    match upstream {
        UpstreamStream::Plain(tcp) => {
            let (rx, tx) = tcp.split();
            join_client(client, rx, tx, idle).await;
        }
        UpstreamStream::Tls(tls) => {
            let (rx, tx) = tokio::io::split(tls.as_mut());
            join_client(client, rx, tx, idle).await;
        }
    }
}

async fn join_client<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(
    client: &mut ClientStream,
    upstream_rx: R,
    upstream_tx: W,
    idle: Duration,
) {
    // When either side last sent something: the idle limit is on both.
    let last = Cell::new(Instant::now());
    match client {
        ClientStream::Plain(client) => {
            let (client_rx, client_tx) = client.split();
            tokio::join!(
                copy_half(client_rx, upstream_tx, &last, idle),
                copy_half(upstream_rx, client_tx, &last, idle)
            );
        }
        ClientStream::Tls(client) => {
            // One TLS session, read and written from two futures of one task.
            let (client_rx, client_tx) = tokio::io::split(client.as_mut());
            tokio::join!(
                copy_half(client_rx, upstream_tx, &last, idle),
                copy_half(upstream_rx, client_tx, &last, idle)
            );
        }
        ClientStream::Bridge(client) => {
            // HTTP/2 offers no upgrade (no extended CONNECT), but the
            // handler is the same: join the pipe as any stream.
            let (client_rx, client_tx) = tokio::io::split(client);
            tokio::join!(
                copy_half(client_rx, upstream_tx, &last, idle),
                copy_half(upstream_rx, client_tx, &last, idle)
            );
        }
    }
}

/// One direction: read, write, and on the reader's end pass the half close
/// on. Returns when this direction is done, or when nothing has moved in
/// either direction for `idle`.
async fn copy_half<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(
    mut rx: R,
    mut tx: W,
    last: &Cell<Instant>,
    idle: Duration,
) {
    let mut buf = Buffer::take(RELAY);
    loop {
        buf.clear();
        let read = loop {
            match tokio::time::timeout_at(last.get() + idle, rx.read_buf(&mut *buf)).await {
                Ok(r) => break r,
                // The other direction may have moved meanwhile.
                Err(_) if last.get().elapsed() < idle => continue,
                Err(_) => return,
            }
        };
        match read {
            Ok(n) if n > 0 => {
                last.set(Instant::now());
                let write = async {
                    tx.write_all(&buf).await?;
                    tx.flush().await
                };
                if !matches!(tokio::time::timeout(idle, write).await, Ok(Ok(()))) {
                    return;
                }
                last.set(Instant::now());
            }
            _ => {
                let _ = tx.shutdown().await;
                return;
            }
        }
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

    /// The proxy's side of a client connection, plain.
    async fn client_pair() -> (TcpStream, ClientStream) {
        let (a, b) = pair().await;
        (a, ClientStream::Plain(b))
    }

    // The tunnel runs on a worker's single thread: spawn_local, in a LocalSet.
    #[tokio::test]
    async fn bytes_flow_both_ways_and_a_half_close_is_passed_on() {
        tokio::task::LocalSet::new().run_until(both_ways()).await;
    }

    async fn both_ways() {
        let (mut user, mut client_side) = client_pair().await;
        let (upstream_side, mut app) = pair().await;
        let mut upstream_side = UpstreamStream::Plain(upstream_side);
        let t = tokio::task::spawn_local(async move {
            tunnel(&mut client_side, &mut upstream_side, Duration::from_secs(5)).await
        });
        user.write_all(b"ping").await.expect("write");
        let mut got = [0u8; 4];
        app.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"ping");
        app.write_all(b"pong").await.expect("write");
        user.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"pong");
        user.shutdown().await.expect("half close");
        assert_eq!(app.read(&mut got).await.expect("eof"), 0, "the app sees the close");
        app.write_all(b"last").await.expect("still writable");
        user.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"last");
        drop(app);
        t.await.expect("tunnel ends when both sides closed");
    }

    #[tokio::test]
    async fn a_blocked_direction_does_not_stop_the_other() {
        tokio::task::LocalSet::new().run_until(blocked_direction()).await;
    }

    async fn blocked_direction() {
        let (mut user, mut client_side) = client_pair().await;
        let (upstream_side, mut app) = pair().await;
        let mut upstream_side = UpstreamStream::Plain(upstream_side);
        let t = tokio::task::spawn_local(async move {
            tunnel(&mut client_side, &mut upstream_side, Duration::from_secs(5)).await
        });
        // The user sends far more than the socket buffers hold; the app reads
        // none of it until the user has the app's answer.
        const SIZE: usize = 16 * 1024 * 1024;
        let (got_pong, pong_seen) = tokio::sync::oneshot::channel::<()>();
        let user_side = async move {
            let (mut rx, mut tx) = user.split();
            let send = async { tx.write_all(&vec![1u8; SIZE]).await.expect("send") };
            let recv = async {
                let mut pong = [0u8; 4];
                rx.read_exact(&mut pong).await.expect("the answer gets through");
                assert_eq!(&pong, b"pong");
                let _ = got_pong.send(());
            };
            tokio::join!(send, recv);
        };
        let app_side = async move {
            // Answer once the upload has filled every buffer on its way.
            tokio::time::sleep(Duration::from_millis(500)).await;
            app.write_all(b"pong").await.expect("write");
            pong_seen.await.expect("the user saw the answer");
            let mut got = vec![0u8; SIZE];
            app.read_exact(&mut got).await.expect("then the upload");
            assert!(got.iter().all(|&b| b == 1));
        };
        tokio::time::timeout(Duration::from_secs(4), async { tokio::join!(user_side, app_side) })
            .await
            .expect("one blocked direction did not stop the other");
        t.abort();
    }

    #[tokio::test]
    async fn a_silent_tunnel_ends_after_its_idle_time() {
        let (_user, mut client_side) = client_pair().await;
        let (upstream_side, _app) = pair().await;
        let mut upstream_side = UpstreamStream::Plain(upstream_side);
        tokio::time::timeout(
            Duration::from_secs(5),
            tunnel(&mut client_side, &mut upstream_side, Duration::from_millis(100)),
        )
        .await
        .expect("ended by the idle limit");
    }
}
