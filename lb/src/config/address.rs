//! Addresses: `listen` entries (IP literals only) and server `addr`s (IP literal
//! or hostname, resolved once at load time to every address it has, as nginx
//! resolves `server app1:8000;` when it reads its configuration).

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

/// nginx's port when a server address has none.
const DEFAULT_PORT: u16 = 80;

/// A `listen` entry: `ip:port`, IPv6 as `[::1]:8080`.
pub(crate) fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    text.parse::<SocketAddr>()
        .map_err(|_| format!("`{text}` is not an ip:port address, e.g. 0.0.0.0:8080 or [::]:8080"))
}

/// A server `addr`: `127.0.0.1:9001`, `[::1]:9001`, `app1:8000`, or without a
/// port (`app1`, port 80 as in nginx). A hostname gives every address it
/// resolves to, in resolver order, without duplicates.
pub(crate) fn resolve_server(text: &str) -> Result<Vec<SocketAddr>, String> {
    if text.is_empty() {
        return Err("is empty; write host:port, e.g. 127.0.0.1:9001".to_string());
    }
    if text.contains("://") || text.contains('/') {
        return Err(format!("`{text}` must be host:port, without a scheme or path"));
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return check_port(addr.port(), text).map(|_| vec![addr]);
    }
    let (host, port) = split_host_port(text)?;
    check_port(port, text)?;
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    if !is_hostname(host) {
        return Err(format!("`{host}` is not a valid IP address or hostname"));
    }
    let resolved = (host, port).to_socket_addrs().map_err(|e| format!("cannot resolve `{host}`: {e}"))?;
    let mut addrs: Vec<SocketAddr> = Vec::new();
    for addr in resolved {
        if !addrs.contains(&addr) {
            addrs.push(addr);
        }
    }
    if addrs.is_empty() {
        return Err(format!("`{host}` resolves to no address"));
    }
    Ok(addrs)
}

fn split_host_port(text: &str) -> Result<(&str, u16), String> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(|| format!("`{text}` has `[` without `]`"))?;
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err(format!("`{text}` must be [ipv6]:port")),
            },
        }
    } else if text.matches(':').count() > 1 {
        // A bare IPv6 address without a port.
        (text, None)
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    let port = match port {
        None => DEFAULT_PORT,
        Some(port) => {
            port.parse::<u16>().map_err(|_| format!("port `{port}` in `{text}` is not a number from 1 to 65535"))?
        }
    };
    Ok((host, port))
}

fn check_port(port: u16, text: &str) -> Result<(), String> {
    if port == 0 {
        return Err(format!("port 0 in `{text}` cannot be connected to; use 1 to 65535"));
    }
    Ok(())
}

/// Letters, digits, `-`, `_` and `.`, not empty, no empty label.
pub(crate) fn is_hostname(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn listen_takes_ipv4_and_ipv6_literals() {
        assert_eq!(parse_listen("0.0.0.0:8080").unwrap().port(), 8080);
        assert_eq!(parse_listen("[::1]:8080").unwrap().port(), 8080);
    }

    #[test]
    fn listen_refuses_hostnames_and_missing_ports() {
        assert!(parse_listen("localhost:8080").is_err());
        assert!(parse_listen("0.0.0.0").is_err());
    }

    #[test]
    fn ip_literal_server_needs_no_resolver() {
        let addrs = resolve_server("127.0.0.1:9001").unwrap();
        assert_eq!(addrs, vec!["127.0.0.1:9001".parse().unwrap()]);
        let addrs = resolve_server("[::1]:9001").unwrap();
        assert_eq!(addrs, vec!["[::1]:9001".parse().unwrap()]);
    }

    #[test]
    fn server_without_port_uses_port_80_like_nginx() {
        assert_eq!(resolve_server("127.0.0.1").unwrap()[0].port(), 80);
        assert_eq!(resolve_server("[::1]").unwrap()[0].port(), 80);
        assert_eq!(resolve_server("::1").unwrap()[0].port(), 80);
    }

    #[test]
    fn localhost_resolves_to_at_least_one_loopback_address() {
        let addrs = resolve_server("localhost:8000").unwrap();
        assert!(!addrs.is_empty());
        assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 8000));
    }

    #[test]
    fn unresolvable_hostname_is_an_error() {
        let err = resolve_server("no-such-host.invalid:80").unwrap_err();
        assert!(err.contains("cannot resolve `no-such-host.invalid`"), "{err}");
    }

    #[test]
    fn bad_ports_schemes_and_names_are_rejected() {
        assert!(resolve_server("127.0.0.1:0").is_err());
        assert!(resolve_server("127.0.0.1:99999").is_err());
        assert!(resolve_server("127.0.0.1:http").is_err());
        assert!(resolve_server("http://127.0.0.1:80").is_err());
        assert!(resolve_server("bad host:80").is_err());
        assert!(resolve_server("").is_err());
    }
}
