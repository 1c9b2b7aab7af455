//! `/api/users`: list, get, create (emails are unique, case-insensitively).

use super::error::ApiError;
use super::list::Listing;
use super::property::{after_failed_write, node, to_json};
use super::read_through::{read_through, ReadRequest};
use super::request::{parse_id, parse_json};
use super::respond::written;
use super::{path_id, query, PathId, QueryResult};
use crate::cache::Family;
use crate::db::{user_sql, DbError};
use crate::model::user::{User, UserInput};
use crate::state::SharedState;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::response::Response;
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, StatusCode};

const MISSING: &str = "no such user";

pub async fn list(State(state): State<SharedState>, q: QueryResult, headers: HeaderMap) -> Result<Response, ApiError> {
    let (request, page) = ReadRequest::page(&state, Family::User, &query(q)?, &headers)?;
    let op = on_conn!(|conn| async {
        let items = user_sql::list(&mut conn, page.after, page.limit).await?;
        Ok(Some(Listing::new(items, page, |u: &User| u.id)))
    });
    read_through(&state, request, MISSING, op).await
}

pub async fn get(
    State(state): State<SharedState>,
    id: PathId,
    q: QueryResult,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(&path_id(id)?)?;
    let request = ReadRequest::item(&state, Family::User, id, &query(q)?, &headers)?;
    read_through(&state, request, MISSING, on_conn!(|conn| user_sql::get(&mut conn, id))).await
}

pub async fn create(
    State(state): State<SharedState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let new_user = parse_json::<UserInput>(body)?.validate().map_err(ApiError::Invalid)?;
    let done = match state
        .db
        .write({
            let new_user = &new_user;
            on_conn!(|conn| user_sql::insert(&mut conn, new_user))
        })
        .await
    {
        Err(DbError::Duplicate) => return Err(ApiError::Conflict("a user with this email already exists")),
        Err(e) => return Err(after_failed_write(&state, (Family::User, None, e)).await),
        Ok(done) => done,
    };
    let user = User { id: done.value, email: new_user.email, is_active: new_user.is_active };
    state.cache.invalidate(Family::User, Some(user.id), done.gtid.as_ref()).await;
    let mut response = written(StatusCode::CREATED, to_json(&user)?, node(&state, done.node), done.gtid.as_ref());
    if let Ok(location) = HeaderValue::from_str(&format!("/api/users/{}", user.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}
