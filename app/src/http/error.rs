//! The one error type handlers return. Client mistakes are 4xx with a JSON
//! body that says what to fix; internal failures are a generic 500 whose
//! details go to the log only.

use crate::db::DbError;
use crate::model::Invalid;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use serde_json::json;

#[derive(Debug)]
pub enum ApiError {
    /// Malformed JSON, wrong types, unknown fields, bad ids or parameters.
    BadRequest(String),
    /// Well-formed input that breaks a rule (422, every field listed).
    Invalid(Invalid),
    NotFound(&'static str),
    /// A unique value already taken.
    Conflict(&'static str),
    PayloadTooLarge,
    /// The data tier cannot do it now; `Retry-After` tells when to try again.
    Unavailable(&'static str),
    Internal(String),
}

/// Seconds a client should wait before retrying a 503: one probe interval
/// is usually enough for a promotion to be noticed.
const RETRY_AFTER_SECS: &str = "1";

impl From<DbError> for ApiError {
    fn from(error: DbError) -> ApiError {
        match error {
            DbError::NoMaster => ApiError::Unavailable("no writable database master; retry shortly"),
            DbError::NoReader => ApiError::Unavailable("no database node can serve this read; retry shortly"),
            DbError::Unavailable { node, detail } => {
                log::warn!("database node {node} unavailable: {detail}");
                ApiError::Unavailable("database temporarily unavailable; retry shortly")
            }
            DbError::Duplicate => ApiError::Conflict("a record with this unique value already exists"),
            DbError::Internal { node, detail } => ApiError::Internal(format!("database {node}: {detail}")),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            ApiError::BadRequest(message) => (StatusCode::BAD_REQUEST, json!({ "error": message })),
            ApiError::Invalid(invalid) => {
                (StatusCode::UNPROCESSABLE_ENTITY, json!({ "error": "invalid input", "fields": invalid.0 }))
            }
            ApiError::NotFound(what) => (StatusCode::NOT_FOUND, json!({ "error": what })),
            ApiError::Conflict(what) => (StatusCode::CONFLICT, json!({ "error": what })),
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, json!({ "error": "request body too large" })),
            ApiError::Unavailable(message) => {
                let mut response =
                    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({ "error": message }))).into_response();
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
                return response;
            }
            ApiError::Internal(detail) => {
                log::error!("internal error: {detail}");
                (StatusCode::INTERNAL_SERVER_ERROR, json!({ "error": "internal error" }))
            }
        };
        (status, axum::Json(body)).into_response()
    }
}
