//! The request mix, as pure functions of the slot number: deterministic, so
//! two runs with the same settings send the same sequence of kinds.

use crate::record::Kind;

/// What slot `seq` asks for. POSTs are spread evenly: slot `seq` is a POST when
/// `floor((seq + 1) * share)` steps up, so any window of slots holds its share
/// of POSTs (±1). Of the other slots, alternately a list and a read by id; a
/// read by id with no acknowledged write yet becomes a list.
pub fn kind_for(seq: u64, post_share: f64, have_ids: bool) -> Kind {
    let posts_before = (seq as f64 * post_share).floor();
    let posts_after = ((seq + 1) as f64 * post_share).floor();
    if posts_after > posts_before {
        return Kind::Post;
    }
    let reads_before = seq - posts_before as u64;
    if reads_before % 2 == 1 && have_ids {
        Kind::GetId
    } else {
        Kind::GetList
    }
}

/// Index of the acknowledged write slot `seq` reads, among `count` (> 0):
/// a hash of the slot, so reads spread over old and new writes alike.
pub fn pick_index(seq: u64, count: usize) -> usize {
    (splitmix64(seq) % count as u64) as usize
}

fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The unique address a POST carries: the run's id and the slot number, so a
/// row found in the database names the drill and the request that wrote it.
pub fn address(run_id: &str, seq: u64) -> String {
    format!("drill {run_id} #{seq}")
}

/// The POST body for slot `seq`.
pub fn post_body(run_id: &str, seq: u64) -> String {
    serde_json::json!({
        "address": address(run_id, seq),
        "suburb": "Drill",
        "property_type": "house",
        "price": seq,
    })
    .to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn counts(n: u64, share: f64) -> (usize, usize, usize) {
        let kinds: Vec<Kind> = (0..n).map(|s| kind_for(s, share, true)).collect();
        let count = |k| kinds.iter().filter(|x| **x == k).count();
        (count(Kind::Post), count(Kind::GetList), count(Kind::GetId))
    }

    #[test]
    fn posts_take_their_share_and_reads_split_in_half() {
        assert_eq!(counts(1000, 0.2), (200, 400, 400));
        assert_eq!(counts(1000, 0.0), (0, 500, 500));
        assert_eq!(counts(1000, 1.0), (1000, 0, 0));
    }

    #[test]
    fn posts_are_spread_evenly() {
        let posts: Vec<u64> = (0..20).filter(|s| kind_for(*s, 0.2, true) == Kind::Post).collect();
        assert_eq!(posts, [4, 9, 14, 19]);
    }

    #[test]
    fn reads_by_id_wait_for_an_acknowledged_write() {
        assert!((0..100).all(|s| kind_for(s, 0.2, false) != Kind::GetId));
    }

    #[test]
    fn picked_indexes_stay_in_range_and_spread() {
        let picks: Vec<usize> = (0..1000).map(|s| pick_index(s, 10)).collect();
        assert!(picks.iter().all(|i| *i < 10));
        assert!((0..10).all(|i| picks.contains(&i)));
    }

    #[test]
    fn post_bodies_carry_a_unique_marker() {
        let body: serde_json::Value = serde_json::from_str(&post_body("lb-cut-1", 7)).unwrap();
        assert_eq!(body["address"], "drill lb-cut-1 #7");
        assert_eq!(body["price"], 7);
        assert_eq!(body["suburb"], "Drill");
    }
}
