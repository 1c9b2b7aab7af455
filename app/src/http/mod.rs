//! The HTTP surface: `router(state)` is everything a test or `main` needs.

mod error;
mod health;
mod list;
mod page;
mod property;
mod read_through;
mod request;
pub mod respond;
mod users;

pub use error::ApiError;
pub use request::AFTER_GTID_HEADER;

use crate::state::SharedState;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use list::ListQuery;

/// Largest accepted request body. A property is well under 2 KiB; anything
/// far above is a mistake or an attack, refused with 413.
pub const BODY_LIMIT: usize = 16 * 1024;

pub fn router(state: SharedState) -> Router {
    Router::new()
        .route("/", get(page::index))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/api/property", get(property::list).post(property::create))
        .route("/api/property/{id}", get(property::get).put(property::replace).delete(property::remove))
        .route("/api/users", get(users::list).post(users::create))
        .route("/api/users/{id}", get(users::get))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::map_response_with_state(state.clone(), served_by))
        .with_state(state)
}

/// Every response, errors included, names the instance that made it.
async fn served_by(State(state): State<SharedState>, mut response: Response) -> Response {
    response.headers_mut().insert(respond::X_SERVED_BY, state.served_by.clone());
    response
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint")
}

type PathId = Result<Path<String>, PathRejection>;
type QueryResult = Result<Query<ListQuery>, QueryRejection>;

fn path_id(path: PathId) -> Result<String, ApiError> {
    path.map(|Path(id)| id).map_err(|e| ApiError::BadRequest(e.body_text()))
}

fn query(q: QueryResult) -> Result<ListQuery, ApiError> {
    q.map(|Query(q)| q).map_err(|e| ApiError::BadRequest(e.body_text()))
}
