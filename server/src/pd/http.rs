//! PD's HTTP API, the read-only part operators and tools use: `/pd/api/v1/regions`,
//! `/pd/api/v1/stores`, `/pd/api/v1/members` and `/pd/api/v1/health`, in PD's JSON shapes
//! (keys in uppercase hex, as PD prints them).

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::region_tree::RegionEntry;
use super::PdServer;
use crate::proto::{metapb, pdpb};

/// The HTTP routes, sharing `pd`.
pub(crate) fn router(pd: Arc<PdServer>) -> Router {
    Router::new()
        .route("/pd/api/v1/regions", get(regions))
        .route("/pd/api/v1/stores", get(stores))
        .route("/pd/api/v1/members", get(members))
        .route("/pd/api/v1/health", get(health))
        .with_state(pd)
}

fn hex_upper(key: &[u8]) -> String {
    key.iter()
        .fold(String::with_capacity(key.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02X}");
            s
        })
}

/// As PD's API shows a peer: its role by name, and `is_learner` for older readers.
fn peer_json(p: &metapb::Peer) -> Value {
    let role = metapb::PeerRole::try_from(p.role).unwrap_or(metapb::PeerRole::Voter);
    json!({
        "id": p.id,
        "store_id": p.store_id,
        "role_name": role.as_str_name(),
        "is_learner": role == metapb::PeerRole::Learner,
    })
}

fn region_json(e: &RegionEntry) -> Value {
    let r = &e.region;
    let epoch = r.region_epoch.unwrap_or_default();
    json!({
        "id": r.id,
        "start_key": hex_upper(&r.start_key),
        "end_key": hex_upper(&r.end_key),
        "epoch": { "conf_ver": epoch.conf_ver, "version": epoch.version },
        "peers": r.peers.iter().map(peer_json).collect::<Vec<_>>(),
        "leader": e.leader_or_first_peer().as_ref().map(peer_json),
    })
}

async fn regions(State(pd): State<Arc<PdServer>>) -> Json<Value> {
    let cluster = pd.cluster();
    let regions: Vec<Value> = cluster
        .regions()
        .map(|t| t.iter().map(region_json).collect())
        .unwrap_or_default();
    Json(json!({ "count": regions.len(), "regions": regions }))
}

async fn stores(State(pd): State<Arc<PdServer>>) -> Json<Value> {
    let cluster = pd.cluster();
    let (Ok(all), Ok(tree)) = (cluster.stores(), cluster.regions()) else {
        return Json(json!({ "count": 0, "stores": [] }));
    };
    let now = pd.clock.now();
    let max_down = pd.schedule.max_store_down_time;
    let stores: Vec<Value> = all
        .map(|s| {
            let id = s.meta.id;
            let region_count = tree
                .iter()
                .filter(|e| e.region.peers.iter().any(|p| p.store_id == id))
                .count();
            let leader_count = tree
                .iter()
                .filter(|e| e.leader_or_first_peer().is_some_and(|l| l.store_id == id))
                .count();
            let stats = s.stats.clone().unwrap_or_default();
            json!({
                "store": {
                    "id": id,
                    "address": s.meta.address,
                    "version": s.meta.version,
                    "status_address": s.meta.status_address,
                    "state": s.meta.state,
                    // As PD: Up, Offline or Tombstone as recorded, Down when silent too long.
                    "state_name": s.state(pd.started, now, max_down).name(),
                    "last_heartbeat": s.meta.last_heartbeat,
                },
                "status": {
                    "capacity": stats.capacity,
                    "available": stats.available,
                    "used_size": stats.used_size,
                    "region_count": region_count,
                    "leader_count": leader_count,
                    "last_heartbeat_ts": s.last_heartbeat.map(rfc3339),
                },
            })
        })
        .collect();
    Json(json!({ "count": stores.len(), "stores": stores }))
}

fn member_json(m: &pdpb::Member) -> Value {
    json!({
        "name": m.name,
        "member_id": m.member_id,
        "peer_urls": m.peer_urls,
        "client_urls": m.client_urls,
    })
}

async fn members(State(pd): State<Arc<PdServer>>) -> Json<Value> {
    let me = member_json(&pd.member);
    Json(json!({
        "header": { "cluster_id": pd.cluster_id },
        "members": [me],
        "leader": me,
        "etcd_leader": me,
    }))
}

async fn health(State(pd): State<Arc<PdServer>>) -> Json<Value> {
    Json(json!([{
        "name": pd.member.name,
        "member_id": pd.member.member_id,
        "client_urls": pd.member.client_urls,
        "health": true,
    }]))
}

/// `t` as an RFC 3339 UTC timestamp, e.g. `2024-05-01T12:00:00Z` (PD prints times so).
fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's `civil_from_days`).
    let z = i64::try_from(days).unwrap_or(0) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn formats_keys_and_times_as_pd_does() {
        assert_eq!(hex_upper(b"\x00\xabz"), "00AB7A");
        assert_eq!(hex_upper(b""), "");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_709_210_096); // a leap day
        assert_eq!(rfc3339(t), "2024-02-29T12:34:56Z");
    }
}
