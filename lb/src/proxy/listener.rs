//! The proxy's listening sockets: taken over from the previous process on
//! a graceful upgrade (Pingora's fd table, keyed by the address as written),
//! or bound here and put in that table so the next upgrade can hand them on.

use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsRawFd;

use pingora::server::ListenFds;

/// Pending connections the kernel queues per listener (capped by
/// `net.core.somaxconn`); Pingora's and nginx's `backlog` on Linux.
const BACKLOG: i32 = 65535;

/// The key of `addr` in the fd table (what Pingora's own listeners use).
pub fn key(addr: SocketAddr) -> String {
    addr.to_string()
}

/// A listener for every address, in order; inherited ones first.
pub fn listen_all(addrs: &[SocketAddr], fds: Option<&ListenFds>) -> std::io::Result<Vec<TcpListener>> {
    addrs.iter().map(|&addr| listen(addr, fds)).collect()
}

fn listen(addr: SocketAddr, fds: Option<&ListenFds>) -> std::io::Result<TcpListener> {
    let inherited = fds.and_then(|t| t.lock().get(&key(addr)).copied());
    let listener = match inherited {
        Some(fd) => adopt(fd)?,
        None => {
            let l = bind(addr)?;
            if let Some(table) = fds {
                table.lock().add(key(addr), l.as_raw_fd());
            }
            l
        }
    };
    listener.set_nonblocking(true)?;
    Ok(listener)
}

fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        // `[::]:80` means IPv6 only, as nginx's `ipv6only=on` default.
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into()).map_err(|e| std::io::Error::new(e.kind(), format!("bind {addr}: {e}")))?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// Own a listening socket the previous process handed over. The fd table
/// keeps the number for the next upgrade; the socket stays open as long as
/// this listener (until shutdown), as with Pingora's own listeners.
#[allow(unsafe_code)]
fn adopt(fd: std::os::fd::RawFd) -> std::io::Result<TcpListener> {
    use std::os::fd::FromRawFd;
    // SAFETY: the fd was received over the upgrade socket for this address
    // and nothing else in this process wraps it: Pingora's table only
    // stores the number, and each address is adopted once, at start-up.
    let listener = unsafe { TcpListener::from_raw_fd(fd) };
    // A wrong fd (not a socket) fails here rather than at accept.
    listener.local_addr()?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bound_listener_is_registered_for_the_next_upgrade() {
        let table: ListenFds = std::sync::Arc::new(parking_lot::Mutex::new(pingora::server::Fds::new()));
        let l = listen_all(&["127.0.0.1:0".parse().expect("addr")], Some(&table)).expect("bind");
        assert_eq!(table.lock().get("127.0.0.1:0").copied(), Some(l[0].as_raw_fd()));
    }

    #[test]
    fn a_taken_port_is_an_error_naming_the_address() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = taken.local_addr().expect("addr");
        let e = listen_all(&[addr], None).expect_err("in use");
        assert!(e.to_string().contains(&addr.to_string()), "{e}");
    }
}
