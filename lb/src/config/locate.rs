//! Key path -> line index, so that semantic errors found after deserialising
//! can still say where in the file the offending key is.
//!
//! Paths are written the way `serde_path_to_error` writes them, so that one
//! index serves both kinds of error: `upstreams.app.servers[2].weight`.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// The 1-based line of every key and value in the first YAML document.
/// For a `key: value` pair the line of the key wins (it is where the reader looks,
/// and a block value may start on the next line).
#[derive(Debug, Default)]
pub(crate) struct LineIndex {
    lines: HashMap<String, usize>,
}

impl LineIndex {
    /// Builds the index; a text that does not parse gives whatever was read
    /// before the syntax error (serde_yaml reports the syntax error itself).
    pub(crate) fn build(text: &str) -> LineIndex {
        let mut builder = Builder::default();
        let mut parser = Parser::new_from_str(text);
        // A syntax error is reported by serde_yaml with its own location.
        let _ = parser.load(&mut builder, false);
        LineIndex { lines: builder.lines }
    }

    /// The line of `path`, or of its nearest ancestor present in the file
    /// (a missing key is reported at the mapping that should hold it).
    pub(crate) fn line(&self, path: &str) -> Option<usize> {
        let mut path = path;
        loop {
            if let Some(line) = self.lines.get(path) {
                return Some(*line);
            }
            path = parent(path)?;
        }
    }
}

/// `a.b[2].c` -> `a.b[2]` -> `a.b` -> `a` -> `` -> None.
fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    let cut = path.rfind(['.', '[']).unwrap_or(0);
    Some(&path[..cut])
}

fn join_key(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

enum Frame {
    /// A mapping at `path`; `key` is the key whose value comes next, if any.
    Map {
        path: String,
        key: Option<String>,
    },
    Seq {
        path: String,
        next: usize,
    },
    /// A node we do not index below (a complex key).
    Opaque,
}

#[derive(Default)]
struct Builder {
    lines: HashMap<String, usize>,
    stack: Vec<Frame>,
    done: bool,
}

enum Node {
    Scalar(String),
    Container,
}

impl Builder {
    fn record(&mut self, path: String, line: usize) {
        self.lines.entry(path).or_insert(line);
    }

    /// Handles the start of a node (scalar, alias, mapping, sequence) and returns
    /// the path of that node, or None if it is a mapping key or not indexed.
    fn begin_node(&mut self, node: &Node, line: usize) -> Option<String> {
        let Some(top) = self.stack.last_mut() else {
            return Some(String::new());
        };
        match top {
            Frame::Opaque => None,
            Frame::Seq { path, next } => {
                let own = format!("{path}[{next}]");
                *next += 1;
                Some(own)
            }
            Frame::Map { path, key } => match key.take() {
                Some(key) => Some(join_key(path, &key)),
                None => {
                    // This node is a key.
                    match node {
                        Node::Scalar(text) => {
                            let own = join_key(path, text);
                            *key = Some(text.clone());
                            self.record(own, line);
                        }
                        // A complex key: skip its value too.
                        _ => *key = Some(String::from("?")),
                    }
                    None
                }
            },
        }
    }

    fn on(&mut self, ev: Event, line: usize) {
        match ev {
            Event::Scalar(text, ..) => {
                if let Some(path) = self.begin_node(&Node::Scalar(text), line) {
                    self.record(path, line);
                }
            }
            Event::Alias(_) => {
                if let Some(path) = self.begin_node(&Node::Scalar(String::new()), line) {
                    self.record(path, line);
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let is_map = matches!(ev, Event::MappingStart(..));
                let frame = match self.begin_node(&Node::Container, line) {
                    Some(path) => {
                        self.record(path.clone(), line);
                        if is_map {
                            Frame::Map { path, key: None }
                        } else {
                            Frame::Seq { path, next: 0 }
                        }
                    }
                    None => Frame::Opaque,
                };
                self.stack.push(frame);
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            Event::DocumentEnd => self.done = true,
            _ => {}
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if !self.done {
            self.on(ev, mark.line());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
listen: [\"0.0.0.0:8080\"]
upstreams:
  app:
    servers:
      - { addr: \"127.0.0.1:9001\", weight: 5 }
      - addr: 127.0.0.1:9002
        weight: 0
    health_check:
      path: /healthz
";

    #[test]
    fn keys_are_found_at_their_one_based_line() {
        let index = LineIndex::build(TEXT);
        assert_eq!(index.line("listen"), Some(1));
        assert_eq!(index.line("upstreams"), Some(2));
        assert_eq!(index.line("upstreams.app"), Some(3));
        assert_eq!(index.line("upstreams.app.servers"), Some(4));
        assert_eq!(index.line("upstreams.app.servers[0].weight"), Some(5));
        assert_eq!(index.line("upstreams.app.servers[1]"), Some(6));
        assert_eq!(index.line("upstreams.app.servers[1].weight"), Some(7));
        assert_eq!(index.line("upstreams.app.health_check.path"), Some(9));
    }

    #[test]
    fn sequence_items_of_scalars_are_indexed() {
        let index = LineIndex::build("listen:\n  - a\n  - b\n");
        assert_eq!(index.line("listen[1]"), Some(3));
    }

    #[test]
    fn missing_key_falls_back_to_its_nearest_ancestor() {
        let index = LineIndex::build(TEXT);
        assert_eq!(index.line("upstreams.app.servers[1].backup"), Some(6));
        assert_eq!(index.line("upstreams.app.balance"), Some(3));
        // A missing top-level key is reported at the start of the document.
        assert_eq!(index.line("routes"), Some(1));
    }

    #[test]
    fn block_value_keeps_the_line_of_its_key() {
        let index = LineIndex::build("upstreams:\n\n  app: {}\n");
        assert_eq!(index.line("upstreams"), Some(1));
        assert_eq!(index.line("upstreams.app"), Some(3));
    }

    #[test]
    fn text_with_a_syntax_error_gives_a_partial_index() {
        let index = LineIndex::build("listen: a\nupstreams: [\n");
        assert_eq!(index.line("listen"), Some(1));
    }
}
