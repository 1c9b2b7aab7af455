//! Reading what a client sent: ids, GTIDs, JSON bodies, cache directives.

use super::error::ApiError;
use crate::db::topology::Flavor;
use crate::db::Gtid;
use axum::extract::rejection::BytesRejection;
use bytes::Bytes;
use http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

/// Request header carrying the GTID a read must see (also `?after_gtid=`).
pub const AFTER_GTID_HEADER: &str = "x-after-gtid";

/// Ids are positive integers; anything else is a 400, not a 404 or a 500.
pub fn parse_id(text: &str) -> Result<u64, ApiError> {
    match text.parse::<u64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(ApiError::BadRequest(format!("id must be a positive integer, got {text:?}"))),
    }
}

/// The GTID a read must reflect: the `X-After-Gtid` header, else `?after_gtid=`.
/// `flavor` is the cluster's: a MySQL GTID set sent to MariaDB is a 400.
pub fn requested_gtid(headers: &HeaderMap, query: Option<&str>, flavor: Flavor) -> Result<Option<Gtid>, ApiError> {
    let text = match headers.get(AFTER_GTID_HEADER) {
        Some(value) => Some(value.to_str().map_err(|_| ApiError::BadRequest("X-After-Gtid must be ASCII".into()))?),
        None => query,
    };
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => match Gtid::parse(t).map_err(ApiError::BadRequest)? {
            Gtid::Mysql(_) if flavor == Flavor::MariaDb => {
                Err(ApiError::BadRequest(format!("{t:?} is not a MariaDB GTID (domain-server-seq, e.g. 0-1-42)")))
            }
            gtid => Ok(Some(gtid)),
        },
    }
}

/// `Cache-Control: no-cache` asks for a fresh answer: the cache is neither
/// read nor filled (`X-Cache: BYPASS`). Benchmarks use it to measure the
/// uncached path.
pub fn wants_bypass(headers: &HeaderMap) -> bool {
    headers.get_all(header::CACHE_CONTROL).iter().any(|v| v.to_str().is_ok_and(|s| s.contains("no-cache")))
}

/// Parses a JSON body into `T`, mapping every failure to a 4xx that says what
/// is wrong (serde names the field, line and column).
pub fn parse_json<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::BadRequest(format!("could not read the request body: {rejection}"))
        }
    })?;
    if bytes.is_empty() {
        return Err(ApiError::BadRequest("a JSON object body is required".into()));
    }
    serde_json::from_slice(&bytes).map_err(|e| ApiError::BadRequest(format!("invalid JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn ids_must_be_positive_integers() {
        assert_eq!(parse_id("42").ok(), Some(42));
        for bad in ["0", "-1", "abc", "1.5", "", "99999999999999999999999"] {
            assert!(parse_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_header_gtid_wins_over_the_query() {
        let mut headers = HeaderMap::new();
        let maria = Flavor::MariaDb;
        assert_eq!(requested_gtid(&headers, Some("0-1-5"), maria).ok().flatten(), Gtid::parse("0-1-5").ok());
        headers.insert(AFTER_GTID_HEADER, HeaderValue::from_static("0-1-9"));
        assert_eq!(requested_gtid(&headers, Some("0-1-5"), maria).ok().flatten(), Gtid::parse("0-1-9").ok());
        headers.insert(AFTER_GTID_HEADER, HeaderValue::from_static("junk"));
        assert!(requested_gtid(&headers, None, maria).is_err());
    }

    #[test]
    fn a_mysql_gtid_set_is_refused_by_a_mariadb_cluster() {
        let headers = HeaderMap::new();
        assert!(requested_gtid(&headers, Some("a:1"), Flavor::MariaDb).is_err());
        assert!(requested_gtid(&headers, Some("a:1"), Flavor::MySql).is_ok());
    }

    #[test]
    fn no_cache_bypasses() {
        let mut headers = HeaderMap::new();
        assert!(!wants_bypass(&headers));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=0, no-cache"));
        assert!(wants_bypass(&headers));
    }
}
