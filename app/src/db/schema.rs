//! The schema, created or migrated at start, idempotently: every statement can
//! run again, and app instances starting together serialize on a named lock.
//! Plain SQL that MariaDB 10.11 and MySQL 8 both accept.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

/// Migrations in order; a migration is never edited once released, only
/// followed by a new one.
const MIGRATIONS: &[(u32, &[&str])] = &[(
    1,
    &[
        "CREATE TABLE IF NOT EXISTS property (
            id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
            address VARCHAR(200) NOT NULL,
            suburb VARCHAR(100) NOT NULL,
            property_type VARCHAR(50) NOT NULL,
            bedrooms INT UNSIGNED NULL,
            bathrooms INT UNSIGNED NULL,
            carparks INT UNSIGNED NULL,
            land_size DOUBLE NULL COMMENT 'square metres',
            price BIGINT UNSIGNED NOT NULL,
            sold_at DATE NULL,
            link VARCHAR(500) NULL,
            created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
            updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        "CREATE TABLE IF NOT EXISTS users (
            id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
            email VARCHAR(254) NOT NULL,
            is_active BOOLEAN NOT NULL DEFAULT TRUE,
            created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
            UNIQUE KEY users_email (email)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
    ],
)];

/// Brings the schema to the newest version. Runs on the master.
pub async fn migrate(conn: &mut Conn) -> Result<(), mysql_async::Error> {
    let locked: Option<i64> = conn.query_first("SELECT GET_LOCK('tandem_app_schema', 20)").await?;
    if locked != Some(1) {
        return Err(mysql_async::Error::Other("another instance holds the schema lock".into()));
    }
    let result = apply(conn).await;
    let _: Option<i64> = conn.query_first("SELECT RELEASE_LOCK('tandem_app_schema')").await?;
    result
}

async fn apply(conn: &mut Conn) -> Result<(), mysql_async::Error> {
    conn.query_drop(
        "CREATE TABLE IF NOT EXISTS schema_version (
            version INT UNSIGNED NOT NULL PRIMARY KEY,
            applied_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
        ) ENGINE=InnoDB",
    )
    .await?;
    let current: Option<u32> = conn.query_first("SELECT COALESCE(MAX(version), 0) FROM schema_version").await?;
    let current = current.unwrap_or(0);
    for (version, statements) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        for statement in *statements {
            conn.query_drop(*statement).await?;
        }
        conn.exec_drop("INSERT IGNORE INTO schema_version (version) VALUES (?)", (version,)).await?;
        log::info!("schema migrated to version {version}");
    }
    Ok(())
}

/// The version this build expects.
pub fn latest_version() -> u32 {
    MIGRATIONS.last().map_or(0, |(v, _)| *v)
}
