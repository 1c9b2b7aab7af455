//! The cache-aside read every GET shares: look up, else read the database at
//! least as fresh as the cache's floor (and the client's GTID), fill, answer.

use super::error::ApiError;
use super::list::{ListQuery, Page};
use super::request::{requested_gtid, wants_bypass};
use super::respond::{data, CacheUse, NO_DB_NODE};
use crate::cache::keys::list_field;
use crate::cache::{freshness, Family, Lookup, Ticket};
use crate::db::Gtid;
use crate::state::AppState;
use http::{HeaderMap, StatusCode};
use mysql_async::Conn;
use serde::Serialize;
use std::future::Future;

/// Where in the cache an answer lives.
pub enum Slot {
    Item(u64),
    /// A list page, by its hash field (see `cache::keys::list_field`).
    List(String),
}

/// How the read wants the cache used.
pub struct ReadRequest {
    pub family: Family,
    pub slot: Slot,
    /// The GTID the client presented (read-your-writes).
    pub after: Option<Gtid>,
    /// `Cache-Control: no-cache`.
    pub bypass: bool,
}

impl ReadRequest {
    /// A GET of one item: the GTID and cache directives from the request.
    pub fn item(
        state: &AppState,
        family: Family,
        id: u64,
        q: &ListQuery,
        headers: &HeaderMap,
    ) -> Result<Self, ApiError> {
        ReadRequest::new(state, family, Slot::Item(id), q, headers)
    }

    /// A GET of one list page, and the page it asks for.
    pub fn page(
        state: &AppState,
        family: Family,
        q: &ListQuery,
        headers: &HeaderMap,
    ) -> Result<(Self, Page), ApiError> {
        let page = q.page()?;
        Ok((ReadRequest::new(state, family, Slot::List(list_field(page.after, page.limit)), q, headers)?, page))
    }

    fn new(state: &AppState, family: Family, slot: Slot, q: &ListQuery, headers: &HeaderMap) -> Result<Self, ApiError> {
        let after = requested_gtid(headers, q.after_gtid.as_deref(), state.db.flavor())?;
        Ok(ReadRequest { family, slot, after, bypass: wants_bypass(headers) })
    }
}

/// A read's answer before it becomes a response: the page renders it too.
pub struct Answer {
    pub body: bytes::Bytes,
    pub node: http::HeaderValue,
    pub cache: CacheUse,
}

/// Serves `request`; `op` returns `None` for a missing item (404 `missing`).
pub async fn read_through<T: Serialize, F>(
    state: &AppState,
    request: ReadRequest,
    missing: &'static str,
    op: impl Fn(Conn) -> F,
) -> Result<axum::response::Response, ApiError>
where
    F: Future<Output = (Conn, Result<Option<T>, mysql_async::Error>)>,
{
    let answer = answer(state, request, missing, op).await?;
    Ok(data(StatusCode::OK, answer.body, answer.node, answer.cache))
}

pub async fn answer<T: Serialize, F>(
    state: &AppState,
    request: ReadRequest,
    missing: &'static str,
    op: impl Fn(Conn) -> F,
) -> Result<Answer, ApiError>
where
    F: Future<Output = (Conn, Result<Option<T>, mysql_async::Error>)>,
{
    let cache = &state.cache;
    let lookup = if request.bypass {
        Lookup::Bypass
    } else {
        match &request.slot {
            Slot::Item(id) => cache.get_item(request.family, *id).await,
            Slot::List(field) => cache.get_list(request.family, field).await,
        }
    };
    let ticket: Option<Ticket> = match lookup {
        Lookup::Hit { body, ticket } => {
            let fresh_enough = match &request.after {
                None => true,
                Some(after) => ticket.floor().is_some_and(|floor| floor.covers(after)),
            };
            if fresh_enough {
                return Ok(Answer { body, node: NO_DB_NODE, cache: CacheUse::Hit });
            }
            Some(ticket)
        }
        Lookup::Miss(ticket) => Some(ticket),
        Lookup::Bypass => None,
    };
    let (wait_for, may_fill) = match &ticket {
        Some(ticket) => {
            let (wait_for, may_fill) = freshness(request.after.as_ref(), ticket.floor());
            (wait_for, may_fill && !ticket.is_opaque())
        }
        None => (request.after.clone(), false),
    };
    let read = state.db.read(wait_for.as_ref(), op).await?;
    let value = read.value.ok_or(ApiError::NotFound(missing))?;
    let body = serde_json::to_vec(&value).map_err(|e| ApiError::Internal(format!("serializing: {e}")))?;
    if let (Some(ticket), true) = (&ticket, may_fill) {
        match &request.slot {
            Slot::Item(id) => cache.fill_item(request.family, *id, ticket, &body).await,
            Slot::List(field) => cache.fill_list(request.family, field, ticket, &body).await,
        }
    }
    let cache_use = if ticket.is_some() { CacheUse::Miss } else { CacheUse::Bypass };
    Ok(Answer { body: body.into(), node: state.node_headers[read.node].clone(), cache: cache_use })
}
