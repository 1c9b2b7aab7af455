//! Configuration errors: each names the key path, the file and the line.

use std::fmt;

use super::locate::LineIndex;

/// One problem in a configuration file.
///
/// Displays as `upstreams.app.servers[2].weight: must be >= 1 (lb.yaml:14)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// Key path, `upstreams.app.servers[2].weight`; empty for a problem with the
    /// file as a whole (unreadable, empty, not YAML).
    pub path: String,
    /// 1-based line of the key (or of the nearest enclosing key that exists).
    pub line: Option<usize>,
    pub message: String,
    /// The file name as given to [`super::load_file`] / [`super::parse_str`].
    pub file: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        write!(f, "{} ({}", self.message, self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        f.write_str(")")
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in one file, in the order found (file order, mostly).
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Collects errors while a file is checked, filling in file and line.
pub(crate) struct Report<'a> {
    file: &'a str,
    index: &'a LineIndex,
    pub(crate) errors: Vec<ConfigError>,
}

impl<'a> Report<'a> {
    pub(crate) fn new(file: &'a str, index: &'a LineIndex) -> Self {
        Report { file, index, errors: Vec::new() }
    }

    /// An error at `path`; the line is looked up in the index.
    pub(crate) fn error(&mut self, path: &str, message: impl Into<String>) {
        let line = self.index.line(path);
        self.error_at(path, line, message);
    }

    /// The line of `path` (or its nearest ancestor) in the file.
    pub(crate) fn line(&self, path: &str) -> Option<usize> {
        self.index.line(path)
    }

    /// An error whose line is already known (serde_yaml syntax errors).
    pub(crate) fn error_at(&mut self, path: &str, line: Option<usize>, message: impl Into<String>) {
        self.errors.push(ConfigError {
            path: path.to_string(),
            line,
            message: message.into(),
            file: self.file.to_string(),
        });
    }

    pub(crate) fn is_clean(&self) -> bool {
        self.errors.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(path: &str, line: Option<usize>) -> ConfigError {
        ConfigError { path: path.to_string(), line, message: "must be >= 1".to_string(), file: "lb.yaml".to_string() }
    }

    #[test]
    fn error_displays_path_message_file_and_line() {
        let shown = error("upstreams.app.servers[2].weight", Some(14)).to_string();
        assert_eq!(shown, "upstreams.app.servers[2].weight: must be >= 1 (lb.yaml:14)");
    }

    #[test]
    fn error_without_path_or_line_still_names_the_file() {
        assert_eq!(error("", None).to_string(), "must be >= 1 (lb.yaml)");
    }

    #[test]
    fn errors_display_one_per_line() {
        let errors = ConfigErrors(vec![error("a", Some(1)), error("b", Some(2))]);
        assert_eq!(errors.to_string(), "a: must be >= 1 (lb.yaml:1)\nb: must be >= 1 (lb.yaml:2)");
    }

    #[test]
    fn report_looks_up_the_line_of_the_path() {
        let index = LineIndex::build("listen: x\nthreads: 0\n");
        let mut report = Report::new("lb.yaml", &index);
        report.error("threads", "must be 1..=256");
        assert_eq!(report.errors[0].line, Some(2));
        assert_eq!(report.errors[0].file, "lb.yaml");
    }
}
