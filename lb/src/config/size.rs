//! Sizes as nginx writes them: bytes, or whole numbers with `k`, `m` or `g`
//! (`8k`, `1m`; powers of 1024, case-insensitive). A bare number is bytes,
//! as in nginx: unlike a duration, it cannot be read two ways.

const UNITS_HINT: &str = "use a whole number of bytes or with k, m or g, e.g. 8k, 1m";

/// Parses `512`, `8k`, `1m`, `2g` into bytes. The error is a message for
/// the user, without the key path (the caller adds it).
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    if digits == 0 {
        return Err(format!("`{text}` is not a size; {UNITS_HINT}"));
    }
    let number: u64 = text[..digits].parse().map_err(|_| format!("`{text}` is too large"))?;
    let scale: u64 = match text[digits..].trim() {
        "" => 1,
        "k" | "K" => 1 << 10,
        "m" | "M" => 1 << 20,
        "g" | "G" => 1 << 30,
        other => return Err(format!("unknown unit `{other}` in `{text}`; {UNITS_HINT}")),
    };
    number.checked_mul(scale).ok_or_else(|| format!("`{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_nginx_reads_them() {
        assert_eq!(parse_size("512"), Ok(512));
        assert_eq!(parse_size("8k"), Ok(8192));
        assert_eq!(parse_size("8K"), Ok(8192));
        assert_eq!(parse_size("1m"), Ok(1 << 20));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        assert_eq!(parse_size("0"), Ok(0));
    }

    #[test]
    fn anything_else_is_refused_with_a_hint() {
        for bad in ["", "k", "8kb", "1.5m", "-1", "8 x", "99999999999999999999"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
        assert!(parse_size("8t").is_err_and(|e| e.contains("8k")));
    }
}
