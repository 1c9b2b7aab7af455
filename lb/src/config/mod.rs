//! Loading `lb.yaml`: read -> raw serde structs (`raw.rs`) -> checked model
//! (`validate.rs`, `upstream.rs`) -> [`Config`].
//!
//! Every problem is reported with its key path and line, all of them at once
//! where possible: `upstreams.app.servers[2].weight: must be >= 1 (lb.yaml:14)`.
//! Loading has no global state, so a reload simply calls [`load_file`] again.
//! Server hostnames are resolved here (blocking), as nginx resolves them when it
//! reads its configuration.

mod acme;
mod address;
pub mod client;
mod duration;
mod error;
mod health_check;
pub mod listen;
mod locate;
pub mod model;
mod ops;
#[cfg(test)]
mod props;
mod raw;
mod response_headers;
mod route_match;
mod server;
mod size;
mod upstream;
mod upstream_tls;
mod validate;

use std::path::Path;

pub use error::{ConfigError, ConfigErrors};
pub use model::*;

use error::Report;
use locate::LineIndex;

/// Reads and checks a configuration file. Errors name the file as `path` was given.
pub fn load_file(path: &Path) -> Result<Config, ConfigErrors> {
    load_file_with_digest(path).map(|(config, _)| config)
}

/// [`load_file`], also returning the CRC-32 of the file's bytes: the
/// "version" the status page shows, so an operator can tell which file runs.
pub fn load_file_with_digest(path: &Path) -> Result<(Config, u32), ConfigErrors> {
    let file_name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => parse_str(&text, &file_name).map(|config| (config, crc32fast::hash(text.as_bytes()))),
        Err(err) => Err(ConfigErrors(vec![ConfigError {
            path: String::new(),
            line: None,
            message: format!("cannot read the file: {err}"),
            file: file_name,
        }])),
    }
}

/// Checks a configuration text; `file_name` is only used in error messages.
pub fn parse_str(text: &str, file_name: &str) -> Result<Config, ConfigErrors> {
    let index = LineIndex::build(text);
    let mut report = Report::new(file_name, &index);
    let config = raw::parse(text, &mut report).map(|raw| validate::validate(raw, &mut report));
    match config {
        Some(config) if report.is_clean() => Ok(config),
        _ => Err(ConfigErrors(report.errors)),
    }
}

/// Helpers for the rule tests in this module's files.
#[cfg(test)]
pub(crate) mod testing {
    use super::{parse_str, Config, ConfigError};

    /// Parses `text` as `lb.yaml`, panicking with every error if it fails.
    pub(crate) fn config(text: &str) -> Config {
        parse_str(text, "lb.yaml").unwrap_or_else(|e| panic!("unexpected errors:\n{e}"))
    }

    /// The error reported at `path`; panics, listing what was reported, if none.
    pub(crate) fn error_at(text: &str, path: &str) -> ConfigError {
        let errors = match parse_str(text, "lb.yaml") {
            Ok(_) => panic!("expected an error at {path}, the file was accepted"),
            Err(errors) => errors,
        };
        match errors.0.iter().find(|e| e.path == path) {
            Some(error) => error.clone(),
            None => panic!("no error at {path}; reported:\n{errors}"),
        }
    }

    /// Asserts the error at `path` is on `line` and its message contains `message`.
    pub(crate) fn assert_error(text: &str, path: &str, line: usize, message: &str) {
        let error = error_at(text, path);
        let shown = error.to_string();
        assert!(shown.starts_with(&format!("{path}: ")), "{shown}");
        assert!(shown.ends_with(&format!("(lb.yaml:{line})")), "{shown}");
        assert!(error.message.contains(message), "{shown}");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn annotated_example_parses() {
        let config = parse_str(include_str!("../../examples/lb.yaml"), "lb.yaml")
            .unwrap_or_else(|e| panic!("examples/lb.yaml:\n{e}"));
        assert!(!config.upstreams.is_empty());
        assert!(!config.routes.is_empty());
    }

    #[test]
    fn the_annotated_examples_tls_block_parses() {
        let example = include_str!("../../examples/lb.yaml");
        let block = example.split("# >>> tls example\n").nth(1).and_then(|b| b.split("# <<< tls example").next());
        let block = block.expect("lb.yaml has a `# >>> tls example` block");
        let listen: String = block.lines().map(|l| format!("{}\n", l.strip_prefix("# ").unwrap_or(l))).collect();
        let text = format!("{listen}upstreams:\n  app:\n    servers: [{{ addr: \"127.0.0.1:9001\" }}]\n");
        let config = parse_str(&text, "lb.yaml").unwrap_or_else(|e| panic!("the tls example:\n{e}\n{text}"));
        let tls = config.listen[1].tls.as_ref().expect("a TLS listener");
        assert_eq!(tls.certificates.len(), 2);
    }

    #[test]
    fn minimal_example_parses_with_defaults() {
        let config = parse_str(include_str!("../../examples/minimal.yaml"), "minimal.yaml")
            .unwrap_or_else(|e| panic!("examples/minimal.yaml:\n{e}"));
        assert_eq!(config.threads, 1);
        assert_eq!(config.shutdown_grace, Duration::from_secs(5));
        assert_eq!(config.upstreams.len(), 1);
        assert_eq!(config.upstreams[0].servers.len(), 2);
        assert_eq!(config.routes.len(), 1);
    }

    #[test]
    fn unreadable_file_is_an_error_naming_the_file() {
        let err = load_file(Path::new("/nonexistent/lb.yaml")).unwrap_err();
        assert_eq!(err.0.len(), 1);
        assert_eq!(err.0[0].file, "/nonexistent/lb.yaml");
        assert!(err.0[0].message.contains("cannot read"), "{err}");
    }

    #[test]
    fn load_file_reads_a_file_and_can_be_called_again() {
        let dir = std::env::temp_dir().join(format!("tandem-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("lb.yaml");
        std::fs::write(&file, include_str!("../../examples/minimal.yaml")).unwrap();
        let first = load_file(&file).unwrap();
        let second = load_file(&file).unwrap();
        assert_eq!(first, second);
        std::fs::write(&file, "listen: 127.0.0.1:1\nthreads: 0\n").unwrap();
        let err = load_file(&file).unwrap_err();
        assert!(err.0.iter().any(|e| e.file == file.display().to_string()), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn every_semantic_problem_is_reported_not_only_the_first() {
        let text = "\
listen: [\"0.0.0.0:8080\"]
threads: 0
upstreams:
  app:
    connect_timeout: 10
    servers:
      - { addr: \"127.0.0.1:9001\", weight: 0 }
      - { addr: \"127.0.0.1:9002\", fail_timeout: 1x }
";
        let err = parse_str(text, "lb.yaml").unwrap_err();
        let shown = err.to_string();
        assert_eq!(err.0.len(), 4, "{shown}");
        assert!(shown.contains("threads: must be between 1 and 256 (lb.yaml:2)"), "{shown}");
        assert!(shown.contains("upstreams.app.connect_timeout: needs a unit, e.g. 10s (lb.yaml:5)"), "{shown}");
        assert!(shown.contains("upstreams.app.servers[0].weight: must be >= 1 (lb.yaml:7)"), "{shown}");
        assert!(shown.contains("upstreams.app.servers[1].fail_timeout: "), "{shown}");
        assert!(shown.contains("(lb.yaml:8)"), "{shown}");
        assert_eq!(shown.lines().count(), 4);
    }
}
