//! `/healthz` (the process answers) and `/readyz` (it can serve reads, and
//! what is degraded).

use crate::cache::CacheState;
use crate::db::topology::{replica_problem, ReplicaProblem};
use crate::state::SharedState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::StatusCode;
use serde_json::{json, Value};

pub async fn healthz(State(state): State<SharedState>) -> Response {
    Json(json!({ "status": "ok", "instance": state.config.name })).into_response()
}

/// 200 when some node can serve reads, else 503. The body lists every node
/// and what is degraded: no writable master, replicas that serve no reads
/// (down, not replicating, lagging), the cache, the schema.
pub async fn readyz(State(state): State<SharedState>) -> Response {
    let roles = state.db.roles();
    let max_lag = state.db.settings().max_replica_lag.as_secs();
    let mut degraded: Vec<String> = Vec::new();
    if roles.master.is_none() {
        degraded.push("no writable master: writes answer 503".into());
    }
    if roles.split_brain {
        degraded.push("more than one writable database node".into());
    }
    let nodes: Vec<Value> = roles
        .statuses
        .iter()
        .enumerate()
        .map(|(i, status)| {
            let name = state.db.node_name(i);
            let role = if Some(i) == roles.master {
                "master"
            } else if !status.reachable {
                degraded.push(format!("node {name} unreachable"));
                "down"
            } else {
                match replica_problem(status, max_lag) {
                    None => "replica",
                    Some(ReplicaProblem::Lagging) => {
                        degraded.push(format!("replica {name} lagging or its applier stopped"));
                        "replica (lagging)"
                    }
                    Some(ReplicaProblem::NotReplicating) => {
                        degraded.push(format!("node {name} is read-only but not replicating"));
                        "standalone"
                    }
                }
            };
            json!({
                "node": name,
                "role": role,
                "reachable": status.reachable,
                "read_only": status.read_only,
                "serves_reads": roles.replicas.contains(&i) || Some(i) == roles.master,
                "lag_seconds": status.replica.as_ref().and_then(|r| r.lag_secs),
                "error": status.error,
            })
        })
        .collect();
    let cache = match state.cache.state() {
        CacheState::Disabled => json!({ "state": "disabled" }),
        CacheState::Up { master } => json!({ "state": "up", "master": master }),
        CacheState::Down => {
            degraded.push("cache down: requests go to the database".into());
            json!({ "state": "down" })
        }
    };
    if !state.db.schema_ready() {
        degraded.push("schema not verified yet (waiting for a master)".into());
    }
    let ready = roles.read_plan(0).is_some();
    let body = json!({
        "ready": ready,
        "instance": state.config.name,
        "master": roles.master.map(|m| state.db.node_name(m)),
        "nodes": nodes,
        "cache": cache,
        "schema_ready": state.db.schema_ready(),
        "degraded": degraded,
    });
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body)).into_response()
}
