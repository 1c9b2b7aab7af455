//! After `101 Switching Protocols` (WebSocket and other upgrades) the two
//! connections are joined byte for byte until both sides have closed, or
//! until nothing has moved either way for the group's `read_timeout` (as
//! nginx's `proxy_read_timeout` bounds an upgraded connection). A side that
//! closes its half is passed on as a half close.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::buffers::{Buffer, RELAY};

pub async fn tunnel(client: &mut TcpStream, upstream: &mut TcpStream, idle: Duration) {
    let (mut client_rx, mut client_tx) = client.split();
    let (mut upstream_rx, mut upstream_tx) = upstream.split();
    let mut up = Buffer::take(RELAY);
    let mut down = Buffer::take(RELAY);
    let (mut client_open, mut upstream_open) = (true, true);
    while client_open || upstream_open {
        tokio::select! {
            r = client_rx.read_buf(&mut *up), if client_open => match r {
                Ok(n) if n > 0 => {
                    if !matches!(tokio::time::timeout(idle, upstream_tx.write_all(&up)).await, Ok(Ok(()))) {
                        return;
                    }
                    up.clear();
                }
                _ => {
                    client_open = false;
                    let _ = upstream_tx.shutdown().await;
                }
            },
            r = upstream_rx.read_buf(&mut *down), if upstream_open => match r {
                Ok(n) if n > 0 => {
                    if !matches!(tokio::time::timeout(idle, client_tx.write_all(&down)).await, Ok(Ok(()))) {
                        return;
                    }
                    down.clear();
                }
                _ => {
                    upstream_open = false;
                    let _ = client_tx.shutdown().await;
                }
            },
            _ = tokio::time::sleep(idle) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    async fn pair() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let a = TcpStream::connect(l.local_addr().expect("addr")).await.expect("connect");
        let (b, _) = l.accept().await.expect("accept");
        (a, b)
    }

    #[tokio::test]
    async fn bytes_flow_both_ways_and_a_half_close_is_passed_on() {
        let (mut user, mut client_side) = pair().await;
        let (mut upstream_side, mut app) = pair().await;
        let t = tokio::spawn(async move { tunnel(&mut client_side, &mut upstream_side, Duration::from_secs(5)).await });
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
    async fn a_silent_tunnel_ends_after_its_idle_time() {
        let (_user, mut client_side) = pair().await;
        let (mut upstream_side, _app) = pair().await;
        tokio::time::timeout(
            Duration::from_secs(5),
            tunnel(&mut client_side, &mut upstream_side, Duration::from_millis(100)),
        )
        .await
        .expect("ended by the idle limit");
    }
}
