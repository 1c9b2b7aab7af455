//! Durations as people write them: `500ms`, `2s`, `1.5s`, `1m`. A unit is
//! required, so `5` is refused rather than guessed as seconds or milliseconds.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Parses `<number><unit>` with unit `ms`, `s` or `m`; the number may have a fraction.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let scale = match unit.trim() {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "" => return Err(format!("`{text}`: a duration needs a unit (ms, s or m), e.g. 500ms, 2s, 1m")),
        other => return Err(format!("`{text}`: unknown unit `{other}` (use ms, s or m)")),
    };
    let value: f64 = number.parse().map_err(|_| format!("`{text}`: not a duration like 500ms, 2s or 1m"))?;
    Duration::try_from_secs_f64(value * scale).map_err(|_| format!("`{text}`: out of range"))
}

/// A millisecond count for people: `850 ms` under a second, `1.25 s` above.
pub fn human_ms(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

/// A [`Duration`] read from and written as text (`2s`), for the suite file and the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Dur(pub Duration);

impl Dur {
    pub fn ms(self) -> f64 {
        self.0.as_secs_f64() * 1000.0
    }
}

impl std::str::FromStr for Dur {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        parse_duration(text).map(Dur)
    }
}

impl fmt::Display for Dur {
    /// The shortest exact form: `500ms`, `2s`, `1.5s`, `2m`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms % 60_000 == 0 && ms > 0 {
            write!(f, "{}m", ms / 60_000)
        } else if ms % 1000 == 0 && ms > 0 {
            write!(f, "{}s", ms / 1000)
        } else if ms >= 1000 {
            write!(f, "{}s", self.0.as_secs_f64())
        } else {
            write!(f, "{ms}ms")
        }
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DurVisitor)
    }
}

/// Text becomes a duration; a number is refused with the same words as a missing unit.
struct DurVisitor;

impl serde::de::Visitor<'_> for DurVisitor {
    type Value = Dur;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration like 500ms, 2s or 1m")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Dur, E> {
        text.parse().map_err(E::custom)
    }

    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Dur, E> {
        self.visit_str(&n.to_string())
    }

    fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Dur, E> {
        self.visit_str(&n.to_string())
    }

    fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Dur, E> {
        self.visit_str(&n.to_string())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn units_ms_s_and_m_are_read() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration(" 0ms "), Ok(Duration::ZERO));
    }

    #[test]
    fn a_bare_number_or_an_unknown_unit_is_refused() {
        assert!(parse_duration("5").unwrap_err().contains("needs a unit"));
        assert!(parse_duration("5h").unwrap_err().contains("unknown unit `h`"));
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("1.2.3s").is_err());
    }

    #[test]
    fn display_is_the_shortest_exact_form() {
        assert_eq!(Dur(Duration::from_millis(500)).to_string(), "500ms");
        assert_eq!(Dur(Duration::from_secs(2)).to_string(), "2s");
        assert_eq!(Dur(Duration::from_millis(1500)).to_string(), "1.5s");
        assert_eq!(Dur(Duration::from_secs(120)).to_string(), "2m");
        assert_eq!(Dur(Duration::ZERO).to_string(), "0ms");
    }

    #[test]
    fn human_switches_to_seconds_at_one_second() {
        assert_eq!(human_ms(850.4), "850 ms");
        assert_eq!(human_ms(1250.0), "1.25 s");
    }

    #[test]
    fn yaml_numbers_are_refused_as_durations() {
        let err = serde_yaml::from_str::<Dur>("5").unwrap_err().to_string();
        assert!(err.contains("needs a unit"), "{err}");
        assert_eq!(serde_yaml::from_str::<Dur>("2s").unwrap(), Dur(Duration::from_secs(2)));
    }
}
