//! The proxy as a Pingora service: Pingora's server keeps doing what it is
//! good at (signals, graceful upgrade with socket hand-over, shutdown grace)
//! while tandem's own HTTP/1 path serves the listeners.

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use log::error;
use pingora::server::{ListenFds, ShutdownWatch};

use super::{listener, worker};
use crate::live::Live;

pub struct ProxyService {
    live: Arc<Live>,
    listen: Vec<SocketAddr>,
    threads: usize,
}

impl ProxyService {
    pub fn new(live: Arc<Live>) -> ProxyService {
        let config = live.config();
        ProxyService { listen: crate::config::listen::addresses(&config.listen), threads: config.threads.max(1), live }
    }
}

#[async_trait]
impl pingora::services::Service for ProxyService {
    async fn start_service(&mut self, fds: Option<ListenFds>, mut shutdown: ShutdownWatch, _listeners_per_fd: usize) {
        let listeners = match listener::listen_all(&self.listen, fds.as_ref()) {
            Ok(l) => l,
            Err(e) => {
                // Nothing can be served: say why and stop, as nginx does.
                error!("cannot listen: {e}");
                eprintln!("tandem: cannot listen: {e}");
                std::process::exit(1);
            }
        };
        if let Err(e) = worker::spawn(self.live.clone(), &listeners, self.threads, shutdown.clone()) {
            error!("cannot start the worker threads: {e}");
            std::process::exit(1);
        }
        while !*shutdown.borrow_and_update() {
            if shutdown.changed().await.is_err() {
                break;
            }
        }
        // The workers closed their copies; this closes the last one here, so
        // new connections go to the next process (upgrade) or are refused.
        drop(listeners);
    }

    fn name(&self) -> &str {
        "tandem proxy"
    }

    /// The accept loops run on the workers' own threads; this service's
    /// Pingora runtime only waits for the shutdown.
    fn threads(&self) -> Option<usize> {
        Some(1)
    }

    fn listen_addresses(&self) -> Option<Vec<String>> {
        Some(self.listen.iter().map(|&a| listener::key(a)).collect())
    }
}
