//! Property tests of request parsing: any bytes give a verdict, never a
//! panic; and whatever tandem accepts, the head it writes for the upstream
//! parses back to the same request (method, target, Host, framing), so the
//! next hop cannot read a different message than tandem did.

use proptest::prelude::*;

use super::request::{parse_request, BodyKind, HeadLimits, RequestHead};
use super::write::{upstream_request, Forwarding};

const FWD: Forwarding<'static> = Forwarding {
    client_ip: Some(b"10.0.0.1"),
    scheme: b"http",
    new_request_id: b"0123456789abcdef0123456789abcdef",
    default_host: b"10.0.0.9:80",
};

/// Request-like text: a request line and fields from pools that include
/// the framing fields and their tricky spellings, then random damage.
fn request() -> impl Strategy<Value = Vec<u8>> {
    let method = prop_oneof![Just("GET"), Just("POST"), Just("PUT"), Just("get"), Just("HEAD"), Just("M-SEARCH")];
    let target = prop_oneof![
        Just("/".to_string()),
        "/[a-z0-9/?=&%._-]{0,20}".prop_map(|s| s),
        Just("http://h.example/p?q".to_string()),
        "http://[a-z0-9:@.\\[\\]-]{0,8}/p".prop_map(|s| s),
        Just("*".to_string())
    ];
    let version = prop_oneof![Just("HTTP/1.1"), Just("HTTP/1.0"), Just("HTTP/2.0")];
    let field = prop_oneof![
        Just("Host: h.example".to_string()),
        Just("Host: a b".to_string()),
        (0u32..300).prop_map(|n| format!("Content-Length: {n}")),
        Just("Content-Length: 1, 1".to_string()),
        Just("Content-Length: +1".to_string()),
        Just("Transfer-Encoding: chunked".to_string()),
        Just("Transfer-Encoding: Chunked".to_string()),
        Just("Transfer-Encoding: gzip, chunked".to_string()),
        Just("Transfer-Encoding: chunked,".to_string()),
        Just("Connection: keep-alive, content-length".to_string()),
        Just("Connection: close".to_string()),
        Just("Connection: upgrade".to_string()),
        Just("Upgrade: websocket".to_string()),
        Just("Expect: 100-continue".to_string()),
        Just("X-Forwarded-For: 1.2.3.4".to_string()),
        "[A-Za-z-]{1,8}: [ -~]{0,12}".prop_map(|s| s),
    ];
    // Most cases get a Host and no damage, so that plenty are accepted and
    // their upstream heads checked; the rest probe the refusals.
    let host = prop::option::weighted(0.8, Just("Host: h.example"));
    let damage = prop_oneof![
        3 => Just(Vec::new()),
        1 => proptest::collection::vec((any::<prop::sample::Index>(), prop::sample::select(vec![b'\r', b'\n', b' ', 0u8, b':', b'\t'])), 1..3),
    ];
    (method, target, version, host, proptest::collection::vec(field, 0..6), damage).prop_map(
        |(m, t, v, host, fields, damage)| {
            let mut text = format!("{m} {t} {v}\r\n");
            if let Some(h) = host {
                text.push_str(h);
                text.push_str("\r\n");
            }
            for f in fields {
                text.push_str(&f);
                text.push_str("\r\n");
            }
            text.push_str("\r\n");
            let mut bytes = text.into_bytes();
            for (at, b) in damage {
                let i = at.index(bytes.len());
                bytes.insert(i, b);
            }
            bytes
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_get_a_verdict_and_spans_stay_inside(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut head = RequestHead::default();
        if let Ok(true) = parse_request(&bytes, HeadLimits::default(), &mut head) {
            prop_assert!(head.len <= bytes.len());
            for h in &head.headers {
                prop_assert!((h.value.start + h.value.len) as usize <= head.len);
            }
        }
    }

    #[test]
    fn what_goes_upstream_parses_back_to_the_same_request(bytes in request()) {
        let mut head = RequestHead::default();
        if let Ok(true) = parse_request(&bytes, HeadLimits::default(), &mut head) {
            let mut out = Vec::new();
            upstream_request(&mut out, &bytes, &head, &FWD, head.expect_continue);
            let mut again = RequestHead::default();
            let verdict = parse_request(&out, HeadLimits { max_head: 64 * 1024, ..HeadLimits::default() }, &mut again);
            prop_assert_eq!(verdict, Ok(true), "tandem's own head is refused: {}", String::from_utf8_lossy(&out));
            prop_assert_eq!(again.len, out.len(), "one head, nothing after it");
            prop_assert_eq!(again.method(&out), head.method(&bytes));
            prop_assert_eq!(again.target(&out), head.origin_target(&bytes));
            // An HTTP/1.0 request without Host is sent the upstream's address.
            let host = match head.host(&bytes) { b"" => FWD.default_host, h => h };
            prop_assert_eq!(again.host(&out), host);
            let declared_zero = head.body == BodyKind::None && head.declared_length;
            let body = if declared_zero { BodyKind::None } else { head.body };
            prop_assert_eq!(again.body, body, "framing: {}", String::from_utf8_lossy(&out));
            prop_assert_eq!(again.minor, 1);
        }
    }
}
