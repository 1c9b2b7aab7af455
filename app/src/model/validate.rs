//! Field checks shared by the resources.

use std::fmt;

/// One field that failed a rule.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

/// Every field that failed, reported together so a client fixes them in one go.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Invalid(pub Vec<FieldError>);

impl Invalid {
    pub fn push(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push(FieldError { field, message: message.into() });
    }

    pub fn into_result<T>(self, value: impl FnOnce() -> T) -> Result<T, Invalid> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
        f.write_str(&parts.join("; "))
    }
}

/// A required text field: present, not blank once trimmed, at most `max` characters.
pub fn required_text(errors: &mut Invalid, field: &'static str, value: Option<String>, max: usize) -> String {
    match value {
        None => {
            errors.push(field, "is required");
            String::new()
        }
        Some(text) => checked_text(errors, field, text, max),
    }
}

/// An optional text field; `null` and absent are the same.
pub fn optional_text(errors: &mut Invalid, field: &'static str, value: Option<String>, max: usize) -> Option<String> {
    value.map(|text| checked_text(errors, field, text, max))
}

fn checked_text(errors: &mut Invalid, field: &'static str, text: String, max: usize) -> String {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        errors.push(field, "must not be blank");
    } else if trimmed.chars().count() > max {
        errors.push(field, format!("must be at most {max} characters"));
    } else if trimmed.chars().any(char::is_control) {
        errors.push(field, "must not contain control characters");
    }
    trimmed.to_string()
}

/// An optional whole number within `0..=max`.
pub fn optional_count(errors: &mut Invalid, field: &'static str, value: Option<u32>, max: u32) -> Option<u32> {
    if let Some(n) = value {
        if n > max {
            errors.push(field, format!("must be between 0 and {max}"));
        }
    }
    value
}

/// A calendar date written `YYYY-MM-DD`, years 1900-2999.
pub fn is_iso_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return false;
    }
    let number = |range: std::ops::Range<usize>| text.get(range).and_then(|s| s.parse::<u32>().ok());
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10)) else {
        return false;
    };
    if !(1900..=2999).contains(&year) || !(1..=12).contains(&month) || day == 0 {
        return false;
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    day <= days
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_must_exist_on_the_calendar() {
        assert!(is_iso_date("2024-02-29"));
        assert!(!is_iso_date("2023-02-29"));
        assert!(!is_iso_date("2024-13-01"));
        assert!(!is_iso_date("2024-1-01"));
        assert!(!is_iso_date("24-01-011"));
        assert!(!is_iso_date("2024-04-31"));
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        let mut errors = Invalid::default();
        assert_eq!(required_text(&mut errors, "a", Some("  x ".into()), 3), "x");
        assert!(errors.0.is_empty());
        required_text(&mut errors, "b", Some("abcd".into()), 3);
        required_text(&mut errors, "c", Some("   ".into()), 3);
        required_text(&mut errors, "d", None, 3);
        required_text(&mut errors, "e", Some("a\u{7}".into()), 3);
        let fields: Vec<_> = errors.0.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["b", "c", "d", "e"]);
    }
}
