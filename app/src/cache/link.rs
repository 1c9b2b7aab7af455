//! The connection to the current Redis master, found through Sentinel.
//!
//! A request never waits for a reconnect: when there is no connection it
//! bypasses the cache at once. A background task resolves the master (asking
//! each Sentinel in turn and checking `ROLE` on the answer), and once a second
//! checks that the Sentinels still name the same master, so a failover is
//! followed even when the old master still answers. An error on the request
//! path drops the connection and wakes the task (data-tier.md: the redis
//! crate's pools only PING, and a demoted master passes PING).

use arc_swap::ArcSwapOption;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::{sleep, timeout};

/// How often the Sentinels are asked whether the master moved.
const VERIFY_EVERY: Duration = Duration::from_secs(1);
/// Pause between failed resolutions.
const RETRY_EVERY: Duration = Duration::from_millis(200);

/// A live connection and the master address it points at.
pub struct Linked {
    pub conn: MultiplexedConnection,
    pub addr: String,
}

pub struct RedisLink {
    sentinels: Vec<String>,
    master_name: String,
    timeout: Duration,
    current: ArcSwapOption<Linked>,
    wake: Notify,
}

impl RedisLink {
    pub fn new(sentinels: Vec<String>, master_name: String, timeout: Duration) -> RedisLink {
        RedisLink { sentinels, master_name, timeout, current: ArcSwapOption::empty(), wake: Notify::new() }
    }

    /// The connection to use now, if any.
    pub fn current(&self) -> Option<Arc<Linked>> {
        self.current.load_full()
    }

    /// Drops `broken` (unless a newer connection already replaced it) and asks
    /// the task to resolve the master again.
    pub fn report_broken(&self, broken: &Arc<Linked>) {
        let previous = self.current.compare_and_swap(&Some(broken.clone()), None);
        if previous.as_ref().is_some_and(|p| Arc::ptr_eq(p, broken)) {
            log::warn!("redis master {} failed; bypassing the cache until it is resolved again", broken.addr);
        }
        self.wake.notify_one();
    }

    fn config(&self) -> AsyncConnectionConfig {
        AsyncConnectionConfig::new().set_connection_timeout(Some(self.timeout)).set_response_timeout(Some(self.timeout))
    }

    async fn connect(&self, addr: &str) -> Result<MultiplexedConnection, String> {
        let client = Client::open(format!("redis://{addr}/")).map_err(|e| e.to_string())?;
        timeout(self.timeout, client.get_multiplexed_async_connection_with_config(&self.config()))
            .await
            .map_err(|_| format!("connecting to {addr} timed out"))?
            .map_err(|e| format!("connecting to {addr}: {e}"))
    }

    /// Asks each Sentinel in turn for the master's address.
    async fn master_addr(&self) -> Result<String, String> {
        let mut last_error = "no Sentinel configured".to_string();
        for sentinel in &self.sentinels {
            let answer = async {
                let mut conn = self.connect(sentinel).await?;
                let mut command = redis::cmd("SENTINEL");
                command.arg("get-master-addr-by-name").arg(&self.master_name);
                let query = command.query_async::<Option<(String, u16)>>(&mut conn);
                match timeout(self.timeout, query).await {
                    Ok(Ok(Some((host, port)))) => Ok(format!("{host}:{port}")),
                    Ok(Ok(None)) => Err(format!("Sentinel {sentinel} knows no master {:?}", self.master_name)),
                    Ok(Err(e)) => Err(format!("Sentinel {sentinel}: {e}")),
                    Err(_) => Err(format!("Sentinel {sentinel} timed out")),
                }
            };
            match answer.await {
                Ok(addr) => return Ok(addr),
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }

    /// Connects to the address the Sentinels name, if it says it is a master.
    async fn resolve(&self) -> Result<Linked, String> {
        let addr = self.master_addr().await?;
        let mut conn = self.connect(&addr).await?;
        match timeout(self.timeout, redis::cmd("ROLE").query_async::<Value>(&mut conn)).await {
            Ok(Ok(role)) if role_name(&role).as_deref() == Some("master") => Ok(Linked { conn, addr }),
            Ok(Ok(role)) => Err(format!("{addr} is not a master yet ({:?})", role_name(&role))),
            Ok(Err(e)) => Err(format!("ROLE on {addr}: {e}")),
            Err(_) => Err(format!("ROLE on {addr} timed out")),
        }
    }

    /// Keeps a connection to the current master, forever.
    pub async fn run(self: Arc<Self>) {
        let mut last_error = String::new();
        loop {
            match self.current() {
                None => match self.resolve().await {
                    Ok(linked) => {
                        log::info!("redis master is {}", linked.addr);
                        last_error.clear();
                        self.current.store(Some(Arc::new(linked)));
                    }
                    Err(e) => {
                        if e != last_error {
                            log::warn!("redis master not available: {e}");
                            last_error = e;
                        }
                        sleep(RETRY_EVERY).await;
                        continue;
                    }
                },
                Some(linked) => match self.master_addr().await {
                    Ok(addr) if addr != linked.addr => {
                        log::info!("Sentinels moved the redis master from {} to {addr}", linked.addr);
                        self.report_broken(&linked);
                        continue;
                    }
                    _ => {}
                },
            }
            tokio::select! {
                _ = sleep(VERIFY_EVERY) => {}
                _ = self.wake.notified() => {}
            }
        }
    }
}

/// The first element of a `ROLE` reply: `master`, `slave` or `sentinel`.
fn role_name(reply: &Value) -> Option<String> {
    let Value::Array(items) = reply else {
        return None;
    };
    match items.first()? {
        Value::BulkString(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        Value::SimpleString(text) => Some(text.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_replies_are_read_from_the_first_element() {
        let master = Value::Array(vec![Value::BulkString(b"master".to_vec()), Value::Int(0)]);
        assert_eq!(role_name(&master).as_deref(), Some("master"));
        assert_eq!(role_name(&Value::Nil), None);
    }
}
