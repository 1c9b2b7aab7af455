//! nginx's `hash ... consistent` ring: ketama with 160 points per weight unit,
//! compatible with Cache::Memcached::Fast (`ngx_http_upstream_hash_module.c`).
//!
//! Each server contributes `160 * weight` points. The first point hashes
//! `crc32(HOST "\0" PORT prev_hash)` where `prev_hash` is the previous point's
//! hash as four little-endian bytes (0 for the first). Points are sorted and
//! duplicate hashes dropped. A key maps to the first point whose hash is
//! `>= crc32(key)`, wrapping around.

/// One point on the ring: a hash and the index of the server *name* it
/// belongs to (servers that share a name, as a hostname resolving to several
/// addresses does, share points, as in nginx).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    pub hash: u32,
    pub name_id: u32,
}

/// The sorted ring.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ring {
    points: Vec<Point>,
}

impl Ring {
    /// Build the ring from `(name, name_id, weight)` for every primary server,
    /// in config order (down servers included, as nginx does).
    pub fn build<'a>(servers: impl IntoIterator<Item = (&'a str, u32, u32)>) -> Ring {
        let mut points = Vec::new();
        for (name, name_id, weight) in servers {
            let (host, port) = split_host_port(name);
            let mut base = crc32fast::Hasher::new();
            base.update(host.as_bytes());
            base.update(&[0]);
            base.update(port.as_bytes());
            let mut prev: u32 = 0;
            for _ in 0..(160 * weight) {
                let mut h = base.clone();
                h.update(&prev.to_le_bytes());
                let hash = h.finalize();
                points.push(Point { hash, name_id });
                prev = hash;
            }
        }
        // nginx's qsort is not stable; equal hashes are dropped right after,
        // keeping the first, so only the hash order matters.
        points.sort_by_key(|p| p.hash);
        points.dedup_by_key(|p| p.hash);
        Ring { points }
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Index of the first point with hash >= `hash` (may equal `len()`,
    /// which wraps to 0 when used modulo the length), as
    /// `ngx_http_upstream_find_chash_point`.
    pub fn find(&self, hash: u32) -> usize {
        self.points.partition_point(|p| p.hash < hash)
    }

    /// The server name at point `index` modulo the ring size.
    pub fn name_at(&self, index: u32) -> u32 {
        self.points[index as usize % self.points.len()].name_id
    }
}

/// Split "host:port" at the last colon followed only by digits; without such
/// a port, the whole name is the host and the port is empty (as nginx).
fn split_host_port(name: &str) -> (&str, &str) {
    if let Some(i) = name.rfind(':') {
        let port = &name[i + 1..];
        if port.bytes().all(|b| b.is_ascii_digit()) {
            return (&name[..i], port);
        }
    }
    (name, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_weight_unit_gives_160_points() {
        let ring = Ring::build([("10.0.0.1:80", 0, 1), ("10.0.0.2:80", 1, 2)]);
        assert_eq!(ring.len(), 480);
    }

    #[test]
    fn host_and_port_split_at_the_last_colon() {
        assert_eq!(split_host_port("127.0.0.1:9001"), ("127.0.0.1", "9001"));
        assert_eq!(split_host_port("[::1]:80"), ("[::1]", "80"));
        assert_eq!(split_host_port("backend"), ("backend", ""));
    }

    #[test]
    fn the_first_point_is_crc32_of_host_nul_port_and_four_zero_bytes() {
        let ring = Ring::build([("a:1", 7, 1)]);
        let first = crc32fast::hash(b"a\x001\x00\x00\x00\x00");
        assert!(ring.points.iter().any(|p| p.hash == first && p.name_id == 7));
    }

    #[test]
    fn find_returns_the_first_point_at_or_after_the_hash_and_wraps() {
        let ring = Ring::build([("a:1", 0, 1), ("b:2", 1, 1)]);
        let p = ring.points[10];
        assert_eq!(ring.find(p.hash), 10);
        assert_eq!(ring.find(p.hash - 1), 10);
        assert_eq!(ring.find(u32::MAX) as u32 % ring.len() as u32, 0);
    }
}
