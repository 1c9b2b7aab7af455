//! WebSocket through tandem with a real implementation on both ends
//! (tungstenite): the handshake is proxied, messages flow both ways, a
//! close is passed on; a server that refuses the upgrade is answered as it
//! answered (pingora issue 946 was about that case).

mod common;

use std::net::TcpListener;
use std::thread;

use tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tungstenite::{Message, Utf8Bytes};

use common::*;

/// A WebSocket echo server: each text or binary message comes back; a
/// request for `/refuse` is answered 403 instead of switching protocols.
fn echo_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || {
                // The callback's shape is tungstenite's.
                #[allow(clippy::result_large_err)]
                let check = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
                    if req.uri().path() == "/refuse" {
                        let mut refused = ErrorResponse::new(Some("not here".into()));
                        *refused.status_mut() = tungstenite::http::StatusCode::FORBIDDEN;
                        return Err(refused);
                    }
                    Ok(resp)
                };
                let Ok(mut ws) = tungstenite::accept_hdr(stream, check) else { return };
                // Reading on after a close sends tungstenite's close reply, then ends.
                while let Ok(msg) = ws.read() {
                    if (msg.is_text() || msg.is_binary()) && ws.send(msg).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[test]
fn a_websocket_session_passes_both_ways_and_closes() {
    let server = echo_server();
    let proxy = Proxy::start(&format!("upstreams:\n  app:\n    servers:\n      - {{ addr: \"{server}\" }}\n"));
    let (mut ws, resp) = tungstenite::connect(format!("ws://{}/chat", proxy.addr)).expect("handshake through tandem");
    assert_eq!(resp.status(), 101);
    for i in 0..20 {
        ws.send(Message::Text(Utf8Bytes::from(format!("hello {i}")))).expect("send");
        assert_eq!(ws.read().expect("echo"), Message::Text(Utf8Bytes::from(format!("hello {i}"))));
    }
    let big = vec![7u8; 1 << 20];
    ws.send(Message::Binary(big.clone().into())).expect("send 1 MiB");
    assert_eq!(ws.read().expect("echo"), Message::Binary(big.into()), "a 1 MiB frame comes back whole");
    ws.close(None).expect("close");
    // The close handshake completes through the tunnel.
    loop {
        match ws.read() {
            Ok(Message::Close(_)) | Err(tungstenite::Error::ConnectionClosed) => break,
            Ok(_) => {}
            Err(e) => panic!("close: {e}"),
        }
    }
}

#[test]
fn a_refused_upgrade_reaches_the_client_as_the_server_answered() {
    let server = echo_server();
    let proxy = Proxy::start(&format!("upstreams:\n  app:\n    servers:\n      - {{ addr: \"{server}\" }}\n"));
    match tungstenite::connect(format!("ws://{}/refuse", proxy.addr)) {
        Err(tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), 403);
            assert_eq!(resp.body().as_deref(), Some(&b"not here"[..]));
        }
        other => panic!("expected the server's 403, got {other:?}"),
    }
    let (mut ws, _) = tungstenite::connect(format!("ws://{}/after", proxy.addr)).expect("the next upgrade works");
    ws.send(Message::Text("still here".into())).expect("send");
    assert_eq!(ws.read().expect("echo"), Message::Text("still here".into()));
}
