//! Builds the Pingora server from the live state: the proxy service on every
//! `listen` address, the admin service, the health checker and the control
//! service (pid file, SIGHUP).

use std::sync::Arc;

use pingora::server::configuration::{Opt, ServerConf};
use pingora::server::Server;
use pingora::services::background::background_service;
use pingora::services::listening::Service;

use crate::admin::AdminApp;
use crate::control::Control;
use crate::health::HealthChecker;
use crate::live::Live;
use crate::proxy::ProxyService;

/// Pingora's own retry ceiling is 16; tandem's tries are bounded by the
/// group (nginx's rule), so the ceiling only has to be out of the way.
const MAX_PINGORA_RETRIES: usize = 1024;

/// How long a new process started with `--upgrade` waits for the old one to
/// hand over its sockets (after `SIGQUIT`), in 1 s rounds. Pingora's default is 5.
const UPGRADE_WAIT_ROUNDS: usize = 15;

/// Assemble a ready-to-run server. With `upgrade`, take the listening
/// sockets over from the running process (it must get `SIGQUIT` within
/// [`UPGRADE_WAIT_ROUNDS`] seconds).
pub fn build(live: Arc<Live>, upgrade: bool) -> pingora::Result<Server> {
    let config = live.config();
    let conf = ServerConf {
        threads: config.threads,
        // After a graceful stop or an upgrade's hand-over the listeners close
        // at once and the process lives on for the grace period so requests
        // in flight finish: Pingora then shuts its runtimes down, which drops
        // whatever still runs (tokio cancels tasks; the timeout below only
        // waits for blocking threads). So the grace period is the drain
        // time, shutdown_grace; Pingora's default is 300 s. An upgrade adds
        // Pingora's fixed 5 s in which both processes accept.
        grace_period_seconds: Some(config.shutdown_grace.as_secs().max(1)),
        graceful_shutdown_timeout_seconds: Some(1),
        max_retries: MAX_PINGORA_RETRIES,
        // Measured lower p99 without work stealing (shared/reference/pingora.md).
        work_stealing: false,
        upgrade_sock: config.upgrade_sock.display().to_string(),
        upgrade_sock_connect_accept_max_retries: Some(UPGRADE_WAIT_ROUNDS),
        ..ServerConf::default()
    };
    let opt = Opt { upgrade, ..Opt::default() };
    let mut server = Server::new_with_opt_and_conf(Some(opt), conf);
    server.bootstrap();

    server.add_service(ProxyService::new(live.clone()));

    let mut admin = Service::new("tandem admin".to_string(), AdminApp::new(live.clone()));
    admin.threads = Some(1);
    admin.add_tcp(&config.admin.listen.to_string());
    server.add_service(admin);

    server.add_service(background_service("health checks", HealthChecker::new(live.clone())));
    server.add_service(background_service("acme", crate::acme::AcmeService::new(live.clone())));
    server.add_service(background_service("control", Control::new(live)));
    Ok(server)
}
