//! One database node: its connection options and request pool.

use mysql_async::{Conn, Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts};

pub struct Node {
    /// `host:port`, as sent in `X-Db-Node` and shown by `/readyz`.
    pub name: String,
    opts: Opts,
    pool: Pool,
}

impl Node {
    /// Builds the node from a `mysql://user:pass@host:port/db` URL. Connections
    /// are made lazily, so a node that is down at start is no error.
    pub fn new(url: &str, pool_max: usize) -> Result<Node, String> {
        let parsed = Opts::from_url(url).map_err(|e| format!("bad database URL {}: {e}", redact(url)))?;
        let constraints = PoolConstraints::new(0, pool_max).ok_or_else(|| "pool size must be above 0".to_string())?;
        let opts: Opts = OptsBuilder::from_opts(parsed)
            // Over TCP always: with the socket preferred, mysql_async reconnects
            // through the unix socket as user@localhost (data-tier.md).
            .prefer_socket(false)
            // UPDATE reports rows matched, not changed: a PUT with the same
            // values is found, not a 404.
            .client_found_rows(true)
            .pool_opts(PoolOpts::default().with_constraints(constraints))
            .into();
        let name = format!("{}:{}", opts.ip_or_hostname(), opts.tcp_port());
        Ok(Node { name, pool: Pool::new(opts.clone()), opts })
    }

    /// A pooled connection for a request.
    pub async fn conn(&self) -> Result<Conn, mysql_async::Error> {
        self.pool.get_conn().await
    }

    /// A connection of its own, outside the pool, for the role monitor: probes
    /// must not queue behind busy requests.
    pub async fn dedicated_conn(&self) -> Result<Conn, mysql_async::Error> {
        Conn::new(self.opts.clone()).await
    }
}

/// The URL without its password, for error messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            let user = credentials.split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redact("mysql://app:secret@db:3306/appdb"), "mysql://app:***@db:3306/appdb");
        assert_eq!(redact("mysql://db:3306/appdb"), "mysql://db:3306/appdb");
    }

    #[test]
    fn the_node_is_named_by_host_and_port() {
        let node = Node::new("mysql://app:app@127.0.0.1:13306/appdb", 4).expect("valid");
        assert_eq!(node.name, "127.0.0.1:13306");
        assert!(Node::new("not a url", 4).is_err());
    }
}
