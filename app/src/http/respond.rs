//! Building data responses with the headers that show the tier at work.

use crate::db::Gtid;
use axum::body::Body;
use axum::response::Response;
use http::{header, HeaderName, HeaderValue, StatusCode};

pub const X_DB_NODE: HeaderName = HeaderName::from_static("x-db-node");
pub const X_CACHE: HeaderName = HeaderName::from_static("x-cache");
pub const X_GTID: HeaderName = HeaderName::from_static("x-gtid");
pub const X_SERVED_BY: HeaderName = HeaderName::from_static("x-served-by");

/// `X-Db-Node` of an answer that came from the cache: no node was asked.
pub const NO_DB_NODE: HeaderValue = HeaderValue::from_static("none");

/// How the cache took part in an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheUse {
    Hit,
    Miss,
    Bypass,
}

impl CacheUse {
    pub fn header(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            CacheUse::Hit => "HIT",
            CacheUse::Miss => "MISS",
            CacheUse::Bypass => "BYPASS",
        })
    }
}

/// A JSON data response (`body` is already serialized).
pub fn data(status: StatusCode, body: impl Into<Body>, node: HeaderValue, cache: CacheUse) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(X_DB_NODE, node);
    headers.insert(X_CACHE, cache.header());
    response
}

/// A write's response: the data response plus the GTID to read it back with.
pub fn written(status: StatusCode, body: impl Into<Body>, node: HeaderValue, gtid: Option<&Gtid>) -> Response {
    let mut response = data(status, body, node, CacheUse::Bypass);
    if let Some(value) = gtid.and_then(|g| HeaderValue::from_str(&g.to_string()).ok()) {
        response.headers_mut().insert(X_GTID, value);
    }
    response
}
