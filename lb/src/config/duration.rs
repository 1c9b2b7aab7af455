//! Durations as written in the file: whole numbers with a unit, `500ms`, `10s`,
//! `1m`, `1h`, or several of them run together (`1m30s`).
//!
//! A bare number is refused: `10` could mean seconds (nginx) or milliseconds
//! (many other tools), and guessing wrong silently is worse than asking.

use std::time::Duration;

const UNITS_HINT: &str = "use whole numbers with a unit: ms, s, m or h, e.g. 500ms, 10s, 1m30s";

/// Parses `500ms`, `10s`, `1m`, `1h`, `1m30s`. The error is a message for the user,
/// without the key path (the caller adds it).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("is empty; {UNITS_HINT}"));
    }
    if text.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("needs a unit, e.g. {text}s"));
    }
    let not_a_duration = || format!("`{text}` is not a duration; {UNITS_HINT}");
    let too_large = || format!("`{text}` is too large");

    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return Err(not_a_duration());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| too_large())?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let millis_per_unit: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "" => return Err(format!("needs a unit after {number}, e.g. {number}s")),
            other => return Err(format!("unknown unit `{other}` in `{text}`; {UNITS_HINT}")),
        };
        let millis = number.checked_mul(millis_per_unit).ok_or_else(too_large)?;
        total = total.checked_add(Duration::from_millis(millis)).ok_or_else(too_large)?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_unit_is_understood() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
    }

    #[test]
    fn units_can_be_combined() {
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h1m1s5ms"), Ok(Duration::from_millis(3_661_005)));
    }

    #[test]
    fn zero_is_a_valid_duration() {
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn bare_number_asks_for_a_unit() {
        assert_eq!(parse_duration("10"), Err("needs a unit, e.g. 10s".to_string()));
    }

    #[test]
    fn unknown_unit_is_named() {
        let err = parse_duration("10sec").expect_err("must be rejected");
        assert!(err.contains("unknown unit `sec`"), "{err}");
    }

    #[test]
    fn trailing_number_without_unit_is_rejected() {
        let err = parse_duration("1m30").expect_err("must be rejected");
        assert!(err.contains("needs a unit after 30"), "{err}");
    }

    #[test]
    fn fractions_and_words_are_rejected() {
        assert!(parse_duration("1.5s").is_err());
        assert!(parse_duration("abc").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn overflow_is_an_error_not_a_panic() {
        let err = parse_duration("99999999999999999999h").expect_err("must be rejected");
        assert!(err.contains("too large"), "{err}");
        let err = parse_duration("9999999999999999h").expect_err("must be rejected");
        assert!(err.contains("too large"), "{err}");
    }
}
