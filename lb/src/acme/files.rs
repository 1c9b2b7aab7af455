//! The state directory: `account.json` (the account key, 0600),
//! `cert.pem` and `key.pem` (replaced by rename, so a reader never sees half
//! of one), `challenges/TOKEN` while an order is open.

use std::io::Write;
use std::path::Path;

/// Write `bytes` to `path` readable by the owner only, by rename.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// The new certificate: the key first, then the chain, each by rename.
pub fn write_certificate(dir: &Path, chain: &str, key: &str) -> std::io::Result<()> {
    write_private(&dir.join("key.pem"), key.as_bytes())?;
    write_private(&dir.join("cert.pem"), chain.as_bytes())
}

pub fn write_challenge(dir: &Path, token: &str, answer: &str) -> std::io::Result<()> {
    let dir = dir.join("challenges");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(token), answer)
}

pub fn remove_challenge(dir: &Path, token: &str) {
    let _ = std::fs::remove_file(dir.join("challenges").join(token));
}
