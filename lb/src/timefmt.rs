//! Wall-clock formatting without a date library: RFC 3339 for JSON and the
//! status page, nginx's `$time_local` shape (in UTC) for the text access log.

use std::time::{SystemTime, UNIX_EPOCH};

/// Calendar fields of a UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub millis: u32,
}

impl Civil {
    pub fn from_system(t: SystemTime) -> Civil {
        let ms = t.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        Civil::from_unix_millis(ms)
    }

    /// Howard Hinnant's days-to-civil algorithm.
    pub fn from_unix_millis(ms: i64) -> Civil {
        let secs = ms.div_euclid(1000);
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Civil {
            year,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem % 3600 / 60) as u32,
            second: (rem % 60) as u32,
            millis: ms.rem_euclid(1000) as u32,
        }
    }
}

/// `2026-11-21T10:04:05.123Z`
pub fn rfc3339(t: SystemTime) -> String {
    let c = Civil::from_system(t);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", c.year, c.month, c.day, c.hour, c.minute, c.second, c.millis)
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// `21/Nov/2026:10:04:05 +0000` (nginx `$time_local`, always UTC), written into `out`.
pub fn write_common_log(out: &mut String, t: SystemTime) {
    use std::fmt::Write;
    let c = Civil::from_system(t);
    let month = MONTHS[(c.month as usize).clamp(1, 12) - 1];
    let _ = write!(out, "{:02}/{month}/{:04}:{:02}:{:02}:{:02} +0000", c.day, c.year, c.hour, c.minute, c.second);
}

/// [`write_common_log`] for byte buffers, formatted once per second and
/// thread (an access log writes the same second thousands of times).
pub fn write_common_log_bytes(out: &mut Vec<u8>, t: SystemTime) {
    use std::cell::RefCell;
    thread_local! {
        static LAST: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let secs = t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if last.0 != secs {
            last.1.clear();
            write_common_log(&mut last.1, UNIX_EPOCH + std::time::Duration::from_secs(secs));
            last.0 = secs;
        }
        out.extend_from_slice(last.1.as_bytes());
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn known_instants_format_as_rfc3339() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        // 2024-02-29T23:59:59.999Z, a leap day.
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_millis(1_709_251_199_999)), "2024-02-29T23:59:59.999Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(4_102_444_800)), "2100-01-01T00:00:00.000Z");
    }

    #[test]
    fn common_log_time_looks_like_nginx() {
        let mut s = String::new();
        write_common_log(&mut s, UNIX_EPOCH + Duration::from_secs(1_795_255_445));
        assert_eq!(s, "21/Nov/2026:10:04:05 +0000");
    }

    #[test]
    fn the_cached_common_log_time_follows_the_second() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_255_445);
        let mut out = Vec::new();
        write_common_log_bytes(&mut out, t);
        write_common_log_bytes(&mut out, t + Duration::from_millis(999));
        write_common_log_bytes(&mut out, t + Duration::from_secs(1));
        assert_eq!(out, b"21/Nov/2026:10:04:05 +000021/Nov/2026:10:04:05 +000021/Nov/2026:10:04:06 +0000");
    }
}
