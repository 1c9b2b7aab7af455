//! Builds the Pingora server from a validated config: the proxy service on
//! every `listen` address and, when any group has active checks, the health
//! checker as a background service.

use std::sync::Arc;

use pingora::proxy::http_proxy_service_with_name;
use pingora::server::configuration::ServerConf;
use pingora::server::Server;
use pingora::services::background::background_service;

use crate::config::Config;
use crate::health::HealthChecker;
use crate::proxy::TandemProxy;
use crate::runtime::Runtime;

/// Pingora's own retry ceiling is 16; tandem's tries are bounded by the
/// group (nginx's rule), so the ceiling only has to be out of the way.
const MAX_PINGORA_RETRIES: usize = 1024;

/// Assemble a ready-to-run server and return it with the runtime it serves
/// (the runtime is the seam for status readers).
pub fn build(config: &Config) -> pingora::Result<(Server, Arc<Runtime>)> {
    let runtime = Arc::new(Runtime::build(config));
    let conf = ServerConf {
        threads: config.threads,
        grace_period_seconds: Some(0),
        graceful_shutdown_timeout_seconds: Some(config.shutdown_grace.as_secs().max(1)),
        max_retries: MAX_PINGORA_RETRIES,
        // Measured lower p99 without work stealing (shared/reference/pingora.md).
        work_stealing: false,
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();

    let mut proxy =
        http_proxy_service_with_name(&server.configuration, TandemProxy::new(runtime.clone()), "tandem proxy");
    for addr in &config.listen {
        proxy.add_tcp(&addr.to_string());
    }
    server.add_service(proxy);

    if config.upstreams.iter().any(|u| u.health_check.is_some()) {
        server.add_service(background_service("health checks", HealthChecker::new(runtime.clone())));
    }
    Ok((server, runtime))
}
