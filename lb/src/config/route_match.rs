//! A route's request conditions beyond host and path: `methods` and
//! `header: { name, value | prefix }`.

use super::error::Report;
use super::model::{HeaderMatch, ValueMatch};
use super::raw::{RawHeaderMatch, StringList};

/// RFC 9110 token characters (method and header names).
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// `methods: [GET, HEAD]` (or one string): exact, case-sensitive names as
/// clients send them; empty = any method.
pub(super) fn methods(list: Option<StringList>, path: &str, report: &mut Report<'_>) -> Vec<String> {
    let Some(StringList(list)) = list else { return Vec::new() };
    if list.is_empty() {
        report.error(path, "must list at least one method, or be left out for any method");
    }
    for (i, m) in list.iter().enumerate() {
        if !is_token(m) {
            report.error(&format!("{path}[{i}]"), format!("`{m}` is not a method name"));
        } else if m.bytes().any(|b| b.is_ascii_lowercase()) {
            report.error(
                &format!("{path}[{i}]"),
                format!(
                    "`{m}`: methods are case-sensitive and clients send them upper case; write `{}`",
                    m.to_ascii_uppercase()
                ),
            );
        }
    }
    list
}

/// `header: { name: X-Region, value: EU }` or `{ name: X-Region, prefix: eu- }`.
pub(super) fn header(raw: RawHeaderMatch, path: &str, report: &mut Report<'_>) -> Option<HeaderMatch> {
    let name = match raw.name {
        None => {
            report.error(&format!("{path}.name"), "is required: the header's name, e.g. X-Region");
            return None;
        }
        Some(name) if !is_token(&name) => {
            report.error(&format!("{path}.name"), format!("`{name}` is not a valid header name"));
            return None;
        }
        Some(name) => name.to_ascii_lowercase(),
    };
    let value = match (raw.value, raw.prefix) {
        (Some(v), None) => ValueMatch::Exact(v),
        (None, Some(p)) => ValueMatch::Prefix(p),
        (Some(_), Some(_)) => {
            report.error(path, "takes value (exact) or prefix, not both");
            return None;
        }
        (None, None) => {
            report.error(path, "needs value (exact match) or prefix (the value starts with it)");
            return None;
        }
    };
    Some(HeaderMatch { name, value })
}

#[cfg(test)]
mod tests {
    use super::super::model::{HeaderMatch, ValueMatch};
    use super::super::testing::{assert_error, config};

    const HEAD: &str = "listen: 0.0.0.0:8080\nupstreams:\n  eu: { servers: [{ addr: \"127.0.0.1:1\" }] }\n  \
                        us: { servers: [{ addr: \"127.0.0.1:2\" }] }\nroutes:\n";

    #[test]
    fn a_route_takes_methods_and_a_header_with_an_exact_value_or_a_prefix() {
        let c = config(&format!(
            "{HEAD}  - {{ header: {{ name: X-Region, value: EU }}, methods: [GET, HEAD], upstream: eu }}\n  \
             - {{ header: {{ name: X-Region, prefix: us- }}, methods: POST, upstream: us }}\n  - {{ upstream: us }}\n"
        ));
        assert_eq!(c.routes[0].methods, ["GET", "HEAD"]);
        assert_eq!(
            c.routes[0].header,
            Some(HeaderMatch { name: "x-region".into(), value: ValueMatch::Exact("EU".into()) })
        );
        assert_eq!(c.routes[1].methods, ["POST"]);
        assert_eq!(c.routes[1].header.as_ref().map(|h| h.value.clone()), Some(ValueMatch::Prefix("us-".into())));
        assert!(c.routes[2].methods.is_empty() && c.routes[2].header.is_none());
    }

    #[test]
    fn a_header_needs_a_name_and_exactly_one_of_value_or_prefix() {
        assert_error(
            &format!("{HEAD}  - {{ header: {{ value: EU }}, upstream: eu }}\n"),
            "routes[0].header.name",
            6,
            "is required",
        );
        assert_error(
            &format!("{HEAD}  - {{ header: {{ name: X-Region }}, upstream: eu }}\n"),
            "routes[0].header",
            6,
            "needs value (exact match) or prefix",
        );
        assert_error(
            &format!("{HEAD}  - {{ header: {{ name: X-Region, value: a, prefix: b }}, upstream: eu }}\n"),
            "routes[0].header",
            6,
            "not both",
        );
        assert_error(
            &format!("{HEAD}  - {{ header: {{ name: \"X Region\", value: a }}, upstream: eu }}\n"),
            "routes[0].header.name",
            6,
            "not a valid header name",
        );
    }

    #[test]
    fn lower_case_or_malformed_methods_are_refused() {
        assert_error(
            &format!("{HEAD}  - {{ methods: [GET, post], upstream: eu }}\n"),
            "routes[0].methods[1]",
            6,
            "write `POST`",
        );
        assert_error(
            &format!("{HEAD}  - {{ methods: [\"GE T\"], upstream: eu }}\n"),
            "routes[0].methods[0]",
            6,
            "not a method name",
        );
        assert_error(
            &format!("{HEAD}  - {{ methods: [], upstream: eu }}\n"),
            "routes[0].methods",
            6,
            "at least one method",
        );
    }
}
