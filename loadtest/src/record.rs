//! One line per request the drill sent (or could not send), and the rule that
//! says whether it succeeded. Everything the analysis knows comes from these.

use serde::Serialize;

/// What a request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// `GET /api/property?limit=5`.
    GetList,
    /// `GET /api/property/{id}` with an id a POST of this run had acknowledged.
    GetId,
    /// `POST /api/property` with a unique address.
    Post,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::GetList, Kind::GetId, Kind::Post];

    pub fn name(self) -> &'static str {
        match self {
            Kind::GetList => "get-list",
            Kind::GetId => "get-id",
            Kind::Post => "post",
        }
    }

    pub fn is_read(self) -> bool {
        self != Kind::Post
    }
}

/// Why a request got no HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The connect was refused (RST to the SYN): nothing listens on the VIP's host.
    Refused,
    /// The connection was reset or closed before a whole response arrived.
    Reset,
    /// No whole response within `--timeout` (connect included).
    Timeout,
    /// Anything else (no route to host, malformed response, body too large...).
    Other,
    /// Never sent: `--max-in-flight` requests were already outstanding. Counted as
    /// a failure, so a saturated generator cannot make a drill pass.
    Overload,
}

impl ErrorKind {
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Refused => "refused",
            ErrorKind::Reset => "reset",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Other => "other",
            ErrorKind::Overload => "overload",
        }
    }
}

/// An HTTP status, or the reason there was none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Status(u16),
    Error(ErrorKind),
}

impl Outcome {
    /// `"503"`, `"refused"`...: the key of the "failures by outcome" table.
    pub fn label(self) -> String {
        match self {
            Outcome::Status(code) => code.to_string(),
            Outcome::Error(kind) => kind.name().to_string(),
        }
    }
}

/// One request. Times are milliseconds from the run's start (the first slot).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    /// Slot number in the schedule: slot `n` was due at `n / rate` seconds.
    pub seq: u64,
    pub start_ms: f64,
    pub latency_ms: f64,
    pub kind: Kind,
    #[serde(flatten)]
    pub outcome: Outcome,
    /// The property id read (get-id) or created (an acknowledged post).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// `X-Served-By`: the app instance that answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// The `--lb-header` value (`X-Tandem-Node`): the balancer that answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lb: Option<String>,
    /// The error's text, for [`ErrorKind::Other`] only (the rest say it all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Record {
    /// Whether the request succeeded, by kind:
    /// - `post`: only `201 Created` (and [`crate::load`] acknowledges it only when the
    ///   body also has an `id`; a 201 without one is recorded as status 201 but
    ///   no write to read back);
    /// - `get-id`: any 2xx. The id was acknowledged by this run, so a 404 is a
    ///   failure (a lost or not yet visible write), not a client error;
    /// - `get-list`: any status below 500 (a 4xx is the client's problem, not an
    ///   outage);
    /// - no HTTP answer ([`Outcome::Error`], including `overload`) is a failure.
    pub fn is_success(&self) -> bool {
        match (self.kind, self.outcome) {
            (_, Outcome::Error(_)) => false,
            (Kind::Post, Outcome::Status(code)) => code == 201,
            (Kind::GetId, Outcome::Status(code)) => (200..300).contains(&code),
            (Kind::GetList, Outcome::Status(code)) => code < 500,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub mod tests {
    use super::*;

    /// A record for tests: `kind` started at `start_ms` with `outcome`.
    pub fn rec(seq: u64, start_ms: f64, kind: Kind, outcome: Outcome) -> Record {
        Record { seq, start_ms, latency_ms: 2.0, kind, outcome, id: None, app: None, lb: None, detail: None }
    }

    pub fn ok(seq: u64, start_ms: f64) -> Record {
        rec(seq, start_ms, Kind::GetList, Outcome::Status(200))
    }

    pub fn fail(seq: u64, start_ms: f64) -> Record {
        rec(seq, start_ms, Kind::GetList, Outcome::Error(ErrorKind::Refused))
    }

    #[test]
    fn post_succeeds_only_with_201() {
        assert!(rec(0, 0.0, Kind::Post, Outcome::Status(201)).is_success());
        assert!(!rec(0, 0.0, Kind::Post, Outcome::Status(200)).is_success());
        assert!(!rec(0, 0.0, Kind::Post, Outcome::Status(409)).is_success());
    }

    #[test]
    fn get_id_fails_on_anything_but_2xx() {
        assert!(rec(0, 0.0, Kind::GetId, Outcome::Status(200)).is_success());
        assert!(!rec(0, 0.0, Kind::GetId, Outcome::Status(404)).is_success());
        assert!(!rec(0, 0.0, Kind::GetId, Outcome::Status(302)).is_success());
    }

    #[test]
    fn get_list_fails_on_5xx_and_errors_only() {
        assert!(rec(0, 0.0, Kind::GetList, Outcome::Status(404)).is_success());
        assert!(rec(0, 0.0, Kind::GetList, Outcome::Status(429)).is_success());
        assert!(!rec(0, 0.0, Kind::GetList, Outcome::Status(502)).is_success());
        for kind in [ErrorKind::Refused, ErrorKind::Reset, ErrorKind::Timeout, ErrorKind::Other, ErrorKind::Overload] {
            assert!(!rec(0, 0.0, Kind::GetList, Outcome::Error(kind)).is_success());
        }
    }

    #[test]
    fn records_serialize_compactly_with_status_or_error() {
        let json = serde_json::to_string(&rec(3, 1.5, Kind::GetId, Outcome::Status(200))).unwrap();
        assert_eq!(json, r#"{"seq":3,"start_ms":1.5,"latency_ms":2.0,"kind":"get-id","status":200}"#);
        let json = serde_json::to_string(&fail(4, 2.0)).unwrap();
        assert!(json.contains(r#""error":"refused""#), "{json}");
    }

    #[test]
    fn outcome_labels_name_the_status_or_the_error() {
        assert_eq!(Outcome::Status(503).label(), "503");
        assert_eq!(Outcome::Error(ErrorKind::Timeout).label(), "timeout");
    }
}
