//! The admin listener (`admin.listen`, default 127.0.0.1:9090): the status
//! page, `/status.json`, `/metrics`, `/healthz` and the runtime API. A
//! Pingora listening service of its own, so a graceful upgrade hands its
//! socket over like the proxy's.

pub mod auth;
pub mod metrics;
pub mod page;
pub mod routes;
pub mod status;

use std::sync::Arc;

use async_trait::async_trait;
use http::{header, Response, StatusCode};
use log::warn;
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;
use serde_json::json;

use crate::live::Live;
use routes::Route;

/// Serves the admin endpoints from the live state.
pub struct AdminApp {
    live: Arc<Live>,
}

impl AdminApp {
    pub fn new(live: Arc<Live>) -> AdminApp {
        AdminApp { live }
    }

    async fn answer(&self, session: &ServerSession) -> Response<Vec<u8>> {
        let req = session.req_header();
        let route = routes::route(req.method.as_str(), req.uri.path(), req.uri.query());
        match route {
            Route::Page => {
                let report = status::build(&self.live);
                reply(200, "text/html; charset=utf-8", page::render(&report).into_bytes())
            }
            Route::StatusJson => json_reply(200, &status::build(&self.live)),
            Route::Metrics => {
                let report = status::build(&self.live);
                reply(200, metrics::CONTENT_TYPE, metrics::render(&report).into_bytes())
            }
            Route::Healthz => {
                let (ok, reason) = status::health(&self.live);
                reply(if ok { 200 } else { 503 }, "text/plain; charset=utf-8", format!("{reason}\n").into_bytes())
            }
            Route::WrongMethod(allowed) => {
                let mut r = error_reply(405, &format!("use {allowed}"));
                if let Ok(v) = header::HeaderValue::from_str(allowed) {
                    r.headers_mut().insert(header::ALLOW, v);
                }
                r
            }
            Route::BadRequest(message) => error_reply(400, &message),
            Route::NotFound => error_reply(404, "no such endpoint (see / for the status page)"),
            Route::ChangeServer { .. } | Route::Reload | Route::AcmeRenew => {
                if let Err(denied) = self.authorize(session) {
                    let client = session.client_addr().map(|a| a.to_string()).unwrap_or_default();
                    warn!("admin: refused {} {} from {client}: {}", req.method, req.uri.path(), denied.message());
                    let mut r = error_reply(denied.status(), denied.message());
                    if denied == auth::Denied::BadToken {
                        r.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
                    }
                    return r;
                }
                self.change(route).await
            }
        }
    }

    fn authorize(&self, session: &ServerSession) -> Result<(), auth::Denied> {
        let config = self.live.config();
        let client = session.client_addr().and_then(|a| a.as_inet()).map(|a| a.ip());
        let header = session.req_header().headers.get(header::AUTHORIZATION).map(|v| v.as_bytes());
        auth::authorize(config.admin.token.as_ref(), &config.admin.allow, client, header)
    }

    async fn change(&self, route: Route) -> Response<Vec<u8>> {
        match route {
            Route::ChangeServer { upstream, server, change } => {
                match self.live.change_server(&upstream, &server, change) {
                    Ok(indexes) => {
                        let report = status::build(&self.live);
                        let servers: Vec<_> = report
                            .upstreams
                            .iter()
                            .filter(|u| u.name == upstream)
                            .flat_map(|u| u.servers.iter().filter(|s| indexes.contains(&s.index)))
                            .collect();
                        json_reply(200, &json!({ "upstream": upstream, "servers": servers }))
                    }
                    Err(e) => error_reply(404, &e.to_string()),
                }
            }
            Route::Reload => {
                let live = self.live.clone();
                let report = match tokio::task::spawn_blocking(move || live.reload()).await {
                    Ok(report) => report,
                    Err(e) => return error_reply(500, &format!("reload failed: {e}")),
                };
                let ok = report.errors.is_empty();
                let generation = self.live.config_state().generation;
                json_reply(
                    if ok { 200 } else { 422 },
                    &json!({
                        "ok": ok,
                        "generation": generation,
                        "errors": report.errors,
                        "needs_upgrade": report.needs_upgrade,
                    }),
                )
            }
            Route::AcmeRenew => {
                if self.live.config().acme.is_none() {
                    return error_reply(404, "no acme section in the running config");
                }
                self.live.acme.renew_now.notify_one();
                json_reply(202, &json!({ "ok": true, "queued": true, "status": "/status.json acme" }))
            }
            _ => error_reply(500, "not a changing call"),
        }
    }
}

#[async_trait]
impl ServeHttp for AdminApp {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        // Changing calls carry their argument in the path and query; a body
        // is read and ignored so the connection can be reused.
        let _ = session.drain_request_body().await;
        let mut r = self.answer(session).await;
        if session.req_header().method == http::Method::HEAD {
            r.body_mut().clear();
        }
        r
    }
}

fn reply(status: u16, content_type: &str, body: Vec<u8>) -> Response<Vec<u8>> {
    let mut r = Response::new(Vec::new());
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = r.headers_mut();
    if let Ok(v) = header::HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(header::CONTENT_LENGTH, header::HeaderValue::from(body.len()));
    headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    *r.body_mut() = body;
    r
}

fn json_reply(status: u16, value: &impl serde::Serialize) -> Response<Vec<u8>> {
    let mut body = serde_json::to_vec_pretty(value).unwrap_or_else(|_| b"{}".to_vec());
    body.push(b'\n');
    reply(status, "application/json", body)
}

fn error_reply(status: u16, message: &str) -> Response<Vec<u8>> {
    json_reply(status, &json!({ "error": message }))
}
