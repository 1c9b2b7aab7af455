//! What the CLI tests share: running `tandem-services` and cleaning up after it.

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs the `tandem-services` binary with `args`.
pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tandem-services")).args(args).output().expect("run tandem-services")
}

/// stdout then stderr, for assertions and failure messages.
pub fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Runs `down` when the test ends, even on panic: `up` detaches its servers.
pub struct Down(pub PathBuf);

impl Drop for Down {
    fn drop(&mut self) {
        let _ = run(&["down", "--dir", &self.0.to_string_lossy()]);
    }
}
