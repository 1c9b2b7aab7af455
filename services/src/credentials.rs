//! LOCAL-DEMO CREDENTIALS. The data tier this crate starts is a throwaway
//! for development and tests: it listens on one address only (127.0.0.1 by
//! default, or a lab network namespace's), its users accept logins from any
//! client address (`'%'`), and their passwords equal their names. Never
//! reuse these anywhere else.
//!
//! | user    | password | grants                                                        | used by                       |
//! |---------|----------|---------------------------------------------------------------|-------------------------------|
//! | `admin` | `admin`  | `ALL ON *.* WITH GRANT OPTION`                                | promotion controller, `sql()` |
//! | `repl`  | `repl`   | `REPLICATION SLAVE, BINLOG MONITOR ON *.*`                    | replicas' IO threads          |
//! | `app`   | `app`    | `ALL ON appdb.*`, `SLAVE MONITOR ON *.*`                      | the app                       |
//!
//! `app` deliberately lacks `READ_ONLY ADMIN` (which `ALL ON *.*` would include
//! in MariaDB 10.11), so a read-only replica refuses its writes.

/// Database the app uses.
pub const APP_DATABASE: &str = "appdb";
/// App user: full rights on [`APP_DATABASE`] only, plus `SLAVE MONITOR`.
pub const APP_USER: &str = "app";
/// Local-demo password of [`APP_USER`].
pub const APP_PASSWORD: &str = "app";
/// Administrator: everything, for the promotion controller and [`crate::MariaDb::sql`].
pub const ADMIN_USER: &str = "admin";
/// Local-demo password of [`ADMIN_USER`].
pub const ADMIN_PASSWORD: &str = "admin";
/// Replication user, named in `CHANGE MASTER TO`.
pub const REPL_USER: &str = "repl";
/// Local-demo password of [`REPL_USER`].
pub const REPL_PASSWORD: &str = "repl";
