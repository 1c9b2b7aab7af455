//! `/api/property`: list, get, create, replace, delete.

use super::error::ApiError;
use super::list::Listing;
use super::read_through::{read_through, ReadRequest};
use super::request::{parse_id, parse_json};
use super::respond::written;
use super::{path_id, query, PathId, QueryResult};
use crate::cache::Family;
use crate::db::{property_sql, DbError};
use crate::model::property::{Property, PropertyInput};
use crate::state::SharedState;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, StatusCode};

const MISSING: &str = "no such property";

pub async fn list(State(state): State<SharedState>, q: QueryResult, headers: HeaderMap) -> Result<Response, ApiError> {
    let (request, page) = ReadRequest::page(&state, Family::Property, &query(q)?, &headers)?;
    let op = on_conn!(|conn| async {
        let items = property_sql::list(&mut conn, page.after, page.limit).await?;
        Ok(Some(Listing::new(items, page, |p: &Property| p.id)))
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
    let request = ReadRequest::item(&state, Family::Property, id, &query(q)?, &headers)?;
    read_through(&state, request, MISSING, on_conn!(|conn| property_sql::get(&mut conn, id))).await
}

pub async fn create(
    State(state): State<SharedState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let fields = parse_json::<PropertyInput>(body)?.validate().map_err(ApiError::Invalid)?;
    let done = state
        .db
        .write({
            let fields = &fields;
            on_conn!(|conn| property_sql::insert(&mut conn, fields))
        })
        .await;
    let done = match done {
        Ok(done) => done,
        Err(e) => return Err(after_failed_write(&state, (Family::Property, None, e)).await),
    };
    let property = Property { id: done.value, fields };
    state.cache.invalidate(Family::Property, Some(property.id), done.gtid.as_ref()).await;
    let mut response = written(StatusCode::CREATED, to_json(&property)?, node(&state, done.node), done.gtid.as_ref());
    if let Ok(location) = HeaderValue::from_str(&format!("/api/property/{}", property.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

pub async fn replace(
    State(state): State<SharedState>,
    id: PathId,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = parse_id(&path_id(id)?)?;
    let fields = parse_json::<PropertyInput>(body)?.validate().map_err(ApiError::Invalid)?;
    let done = state
        .db
        .write({
            let fields = &fields;
            on_conn!(|conn| property_sql::update(&mut conn, id, fields))
        })
        .await;
    let done = match done {
        Ok(done) => done,
        Err(e) => return Err(after_failed_write(&state, (Family::Property, Some(id), e)).await),
    };
    if !done.value {
        return Err(ApiError::NotFound(MISSING));
    }
    state.cache.invalidate(Family::Property, Some(id), done.gtid.as_ref()).await;
    let property = Property { id, fields };
    Ok(written(StatusCode::OK, to_json(&property)?, node(&state, done.node), done.gtid.as_ref()))
}

pub async fn remove(State(state): State<SharedState>, id: PathId) -> Result<Response, ApiError> {
    let id = parse_id(&path_id(id)?)?;
    let done = match state.db.write(on_conn!(|conn| property_sql::delete(&mut conn, id))).await {
        Ok(done) => done,
        Err(e) => return Err(after_failed_write(&state, (Family::Property, Some(id), e)).await),
    };
    if !done.value {
        return Err(ApiError::NotFound(MISSING));
    }
    state.cache.invalidate(Family::Property, Some(id), done.gtid.as_ref()).await;
    let mut response = written(StatusCode::NO_CONTENT, "", node(&state, done.node), done.gtid.as_ref());
    response.headers_mut().remove(header::CONTENT_TYPE);
    Ok(response.into_response())
}

/// A write that failed after reaching the master may still have committed
/// (a timeout, a connection lost mid-commit): the cache is told anyway, so it
/// cannot go on serving what the write may have replaced.
pub(super) async fn after_failed_write(
    state: &SharedState,
    (family, id, error): (Family, Option<u64>, DbError),
) -> ApiError {
    if matches!(error, DbError::Unavailable { .. } | DbError::Internal { .. }) {
        state.cache.invalidate(family, id, None).await;
    }
    error.into()
}

pub(super) fn node(state: &SharedState, index: usize) -> HeaderValue {
    state.node_headers[index].clone()
}

pub(super) fn to_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|e| ApiError::Internal(format!("serializing: {e}")))
}
