//! Which config changes a reload cannot apply: the ones Pingora fixes when
//! the process starts (listening sockets, worker threads, shutdown timing,
//! the process's own files). They need a graceful upgrade (`tandem -u`).

use crate::config::Config;

/// The top-level keys that differ between the running process's start-up
/// config and `new` and need a graceful upgrade to take effect.
pub fn needs_upgrade(boot: &Config, new: &Config) -> Vec<&'static str> {
    let mut keys = Vec::new();
    // The sockets, and which of them speak TLS; certificates and TLS
    // settings are applied by a reload.
    let shape = |c: &Config| c.listen.iter().map(|l| (l.addr, l.tls.is_some())).collect::<Vec<_>>();
    if shape(boot) != shape(new) {
        keys.push("listen");
    }
    if boot.threads != new.threads {
        keys.push("threads");
    }
    if boot.shutdown_grace != new.shutdown_grace {
        keys.push("shutdown_grace");
    }
    if boot.admin.listen != new.admin.listen {
        keys.push("admin.listen");
    }
    if boot.pid_file != new.pid_file {
        keys.push("pid_file");
    }
    if boot.upgrade_sock != new.upgrade_sock {
        keys.push("upgrade_sock");
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> Config {
        let text =
            format!("listen: 0.0.0.0:8080\nupstreams:\n  app:\n    servers: [{{ addr: \"127.0.0.1:1\" }}]\n{extra}");
        crate::config::parse_str(&text, "lb.yaml").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn upstream_and_route_changes_reload_while_process_keys_need_an_upgrade() {
        let boot = config("");
        assert!(needs_upgrade(&boot, &config("access_log: {}\nadmin: { token: 0123456789abcdef }\n")).is_empty());
        assert_eq!(
            needs_upgrade(&boot, &config("threads: 2\nadmin: { listen: 127.0.0.1:9191 }\n")),
            ["threads", "admin.listen"]
        );
        let moved = config("").clone();
        let mut moved = moved;
        moved.listen.push(crate::config::Listen {
            addr: "127.0.0.1:8081".parse().unwrap_or_else(|_| unreachable!()),
            tls: None,
        });
        assert_eq!(needs_upgrade(&boot, &moved), ["listen"]);
    }
}
