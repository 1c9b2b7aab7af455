use super::*;

#[test]
fn urls_give_host_port_and_base_path() {
    let t = Target::parse("http://10.231.0.10/").unwrap();
    assert_eq!(
        (t.host.as_str(), t.port, t.authority.as_str(), t.base.as_str()),
        ("10.231.0.10", 80, "10.231.0.10", "")
    );
    let t = Target::parse("http://127.0.0.1:8080/prefix/").unwrap();
    assert_eq!((t.port, t.authority.as_str()), (8080, "127.0.0.1:8080"));
    assert_eq!(t.path("/api/property"), "/prefix/api/property");
    assert_eq!(Target::parse("http://[::1]:81").unwrap().host, "::1");
}

#[test]
fn only_http_and_https_urls_are_accepted() {
    assert!(Target::parse("ftp://example.com/").unwrap_err().contains("only http:// and https://"));
    assert!(Target::parse("10.0.0.1").is_err());
    assert!(Target::parse("not a url").is_err());
    assert!(Target::parse("http://10.0.0.1/").unwrap().tls.is_none());
}

#[test]
fn an_https_url_names_a_missing_ca_file() {
    let err = Target::parse_trusting("https://10.0.0.1/", std::path::Path::new("/nonexistent/ca.pem")).unwrap_err();
    assert!(err.contains("/nonexistent/ca.pem"), "{err}");
}

#[test]
fn socket_errors_map_to_drill_error_kinds() {
    use std::io::ErrorKind as Io;
    assert_eq!(classify_io(Io::ConnectionRefused), ErrorKind::Refused);
    assert_eq!(classify_io(Io::ConnectionReset), ErrorKind::Reset);
    assert_eq!(classify_io(Io::UnexpectedEof), ErrorKind::Reset);
    assert_eq!(classify_io(Io::TimedOut), ErrorKind::Timeout);
    assert_eq!(classify_io(Io::PermissionDenied), ErrorKind::Other);
}

#[tokio::test]
async fn a_closed_port_is_refused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let target = Target::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let err = send(&target, Method::GET, "/", &[], None, Duration::from_secs(1)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Refused);
}

/// Serves one connection: reads the request head, writes `answer`, then
/// closes (or, with `hang`, keeps the socket open and silent). Returns the URL
/// and the request head as received.
async fn one_shot(answer: &'static [u8], hang: bool) -> (Target, tokio::task::JoinHandle<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        socket.write_all(answer).await.unwrap();
        if hang {
            tokio::time::sleep(Duration::from_secs(10)).await;
        }
        String::from_utf8_lossy(&head).into_owned()
    });
    (Target::parse(&url).unwrap(), server)
}

#[tokio::test]
async fn chunked_bodies_are_read_whole_and_headers_kept() {
    let answer = b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nX-Served-By: app1\r\n\r\n\
        5\r\n{\"id\"\r\n4\r\n:42}\r\n0\r\n\r\n";
    let (target, server) = one_shot(answer, false).await;
    let body = Some(Bytes::from_static(b"{}"));
    let response = send(&target, Method::POST, "/api/property", &[], body, Duration::from_secs(2)).await.unwrap();
    assert_eq!(response.status, 201);
    assert_eq!(&response.body[..], b"{\"id\":42}");
    assert_eq!(response.header("x-served-by").as_deref(), Some("app1"));
    let head = server.await.unwrap().to_ascii_lowercase();
    assert!(head.starts_with("post /api/property http/1.1\r\n"), "{head}");
    assert!(head.contains("connection: close\r\n"), "{head}");
    assert!(head.contains("content-type: application/json\r\n"), "{head}");
    assert!(head.contains(&format!("host: {}\r\n", target.authority)), "{head}");
}

#[tokio::test]
async fn content_length_bodies_are_read_exactly() {
    let (target, _server) = one_shot(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true).await;
    let response = send(&target, Method::GET, "/", &[], None, Duration::from_secs(2)).await.unwrap();
    assert_eq!((response.status, &response.body[..]), (200, &b"ok"[..]));
}

#[tokio::test]
async fn a_connection_closed_mid_body_is_a_reset() {
    let (target, _server) = one_shot(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial", false).await;
    let err = send(&target, Method::GET, "/", &[], None, Duration::from_secs(2)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Reset, "{}", err.detail);
}

#[tokio::test]
async fn a_connection_closed_before_any_answer_is_a_reset() {
    let (target, _server) = one_shot(b"", false).await;
    let err = send(&target, Method::GET, "/", &[], None, Duration::from_secs(2)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Reset, "{}", err.detail);
}

#[tokio::test]
async fn a_silent_server_is_a_timeout_within_the_bound() {
    let (target, _server) = one_shot(b"", true).await;
    let started = std::time::Instant::now();
    let err = send(&target, Method::GET, "/", &[], None, Duration::from_millis(300)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_garbled_answer_is_other_with_its_reason() {
    let (target, _server) = one_shot(b"SMTP ready\r\n\r\n", false).await;
    let err = send(&target, Method::GET, "/", &[], None, Duration::from_secs(2)).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Other);
    assert!(!err.detail.is_empty());
}
