//! Key names and the two Lua scripts that keep the cache no older than the
//! last write it was told about.
//!
//! Each resource family has three keys: one per item (`tandem:p:42`), one hash
//! holding every cached list page (`tandem:pl`, field `before:limit`), and a
//! *floor* (`tandem:pf`): the GTID of the newest write invalidated so far.
//!
//! - A write, after its commit, raises the floor to its GTID and deletes the
//!   item and the list hash, in one script ([`INVALIDATE`]).
//! - A read that misses remembers the floor it saw, reads the database at least
//!   as fresh as that floor (read-your-writes on a replica), then fills the
//!   cache only if the floor has not moved meanwhile ([`FILL`]). A write that
//!   lands between the read and the fill moves the floor, so the fill, which
//!   might hold pre-write data, is dropped instead of cached.

/// A resource family's key set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Property,
    User,
}

impl Family {
    fn prefix(self) -> &'static str {
        match self {
            Family::Property => "tandem:p",
            Family::User => "tandem:u",
        }
    }

    pub fn item_key(self, id: u64) -> String {
        format!("{}:{id}", self.prefix())
    }

    pub fn list_key(self) -> &'static str {
        match self {
            Family::Property => "tandem:pl",
            Family::User => "tandem:ul",
        }
    }

    pub fn floor_key(self) -> &'static str {
        match self {
            Family::Property => "tandem:pf",
            Family::User => "tandem:uf",
        }
    }
}

/// The hash field of one list page.
pub fn list_field(before: Option<u64>, limit: u32) -> String {
    format!("{}:{limit}", before.unwrap_or(0))
}

/// KEYS: floor, item key, list hash. ARGV: gtid, its sequence number ('' when
/// not comparable), the TTL in seconds. Raises the floor (never lowers it:
/// invalidations may arrive out of order; only a MariaDB GTID is compared)
/// and deletes the item and every list page. The floor lives as long as a
/// cache entry: a floor left ahead of a new timeline (a failover that lost
/// writes, a re-seeded database) fades instead of sticking.
pub const INVALIDATE: &str = r#"
local current = redis.call('GET', KEYS[1])
local raise = true
if current and ARGV[2] ~= '' then
  local current_seq = tonumber(string.match(current, '^%d+%-%d+%-(%d+)$'))
  if current_seq and current_seq >= tonumber(ARGV[2]) then raise = false end
end
if raise then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
else
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
redis.call('DEL', KEYS[2], KEYS[3])
return 1
"#;

/// KEYS: floor, target (item key or list hash). ARGV: the floor the reader saw
/// ('' for none), the value, the TTL in seconds, the hash field ('' for an item).
/// Stores only if the floor is unchanged and nothing is cached there yet.
pub const FILL: &str = r#"
local floor = redis.call('GET', KEYS[1]) or ''
if floor ~= ARGV[1] then return 0 end
if ARGV[4] == '' then
  redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3], 'NX')
else
  redis.call('HSETNX', KEYS[2], ARGV[4], ARGV[2])
  redis.call('EXPIRE', KEYS[2], ARGV[3], 'NX')
end
return 1
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_do_not_share_keys() {
        assert_ne!(Family::Property.item_key(1), Family::User.item_key(1));
        assert_ne!(Family::Property.list_key(), Family::User.list_key());
        assert_ne!(Family::Property.floor_key(), Family::User.floor_key());
    }

    #[test]
    fn list_pages_are_told_apart_by_cursor_and_limit() {
        assert_eq!(list_field(None, 20), "0:20");
        assert_eq!(list_field(Some(40), 20), "40:20");
    }
}
