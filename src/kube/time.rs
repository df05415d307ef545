//! RFC 3339 timestamps as the Kubernetes ecosystem reads them: Go's
//! `time.Parse(time.RFC3339, s)`, which `metav1.Time` (an exec plugin's
//! `expirationTimestamp`, read by client-go) and kube-state-metrics' custom resource values
//! both use. One parser, so the two cannot drift apart.
//!
//! Go's parse is slightly more lenient than RFC 3339 itself, and the leniencies are kept
//! because what a reference accepts must not be an error here: a one-digit hour
//! (`T1:00:00Z`), a comma before the fraction, fraction digits beyond nanoseconds
//! (truncated), and zone offsets up to `±24:00` with minutes up to 60. It is strict
//! elsewhere: `T` and `Z` upper case only, the day checked against the month (leap years
//! included), no leap second, no surrounding whitespace.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A parsed instant, split as Go's `time.Time` reports it: `Unix()` (whole seconds,
/// rounded down) and `Nanosecond()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp {
    pub unix_seconds: i64,
    pub nanos: u32,
}

impl Timestamp {
    pub fn to_system_time(self) -> Option<SystemTime> {
        let whole = Duration::from_secs(self.unix_seconds.unsigned_abs());
        let base = if self.unix_seconds >= 0 {
            UNIX_EPOCH.checked_add(whole)?
        } else {
            UNIX_EPOCH.checked_sub(whole)?
        };
        base.checked_add(Duration::from_nanos(u64::from(self.nanos)))
    }
}

/// `2006-01-02T15:04:05Z07:00` with an optional fraction, by Go's rules (module docs);
/// None for anything Go rejects.
pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
    let mut p = Cursor(s.as_bytes());
    let year = p.digits(4)?;
    p.literal(b'-')?;
    let month = p.digits(2)?;
    p.literal(b'-')?;
    let day = p.digits(2)?;
    p.literal(b'T')?;
    // Go's `15` accepts one digit or two.
    let hour = match p.digits(2) {
        Some(h) => h,
        None => p.digits(1)?,
    };
    p.literal(b':')?;
    let min = p.digits(2)?;
    p.literal(b':')?;
    let sec = p.digits(2)?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || min > 59
        || sec > 59
    {
        return None;
    }
    let nanos = p.fraction();
    let offset = if p.0 == b"Z" {
        0
    } else {
        let b = p.0;
        if b.len() != 6 || b[3] != b':' {
            return None;
        }
        let (hh, mm) = (Cursor(&b[1..3]).digits(2)?, Cursor(&b[4..6]).digits(2)?);
        if hh > 24 || mm > 60 {
            return None;
        }
        let offset = hh * 3600 + mm * 60;
        match b[0] {
            b'+' => offset,
            b'-' => -offset,
            _ => return None,
        }
    };
    let days = days_from_civil(year, month, day);
    Some(Timestamp {
        unix_seconds: days * 86400 + hour * 3600 + min * 60 + sec - offset,
        nanos,
    })
}

/// The unparsed rest of the input.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    /// Exactly `n` ASCII digits.
    fn digits(&mut self, n: usize) -> Option<i64> {
        let part = self.0.get(..n)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.0 = &self.0[n..];
        Some(part.iter().fold(0, |v, d| v * 10 + i64::from(d - b'0')))
    }

    fn literal(&mut self, c: u8) -> Option<()> {
        let (&first, rest) = self.0.split_first()?;
        (first == c).then(|| self.0 = rest)
    }

    /// `.` or `,` and at least one digit, as nanoseconds (digits past the ninth ignored);
    /// 0 and nothing consumed otherwise.
    fn fraction(&mut self) -> u32 {
        let b = self.0;
        if b.len() < 2 || !matches!(b[0], b'.' | b',') || !b[1].is_ascii_digit() {
            return 0;
        }
        let n = 1 + b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        let digits = &b[1..n.min(10)];
        let scale = 10u32.pow(9 - digits.len() as u32);
        let nanos = digits
            .iter()
            .fold(0u32, |v, d| v * 10 + u32::from(d - b'0'))
            * scale;
        self.0 = &b[n..];
        nanos
    }
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: &str) -> Option<(i64, u32)> {
        parse_rfc3339(s).map(|t| (t.unix_seconds, t.nanos))
    }

    /// Inputs and what Go 1.26's `time.Parse(time.RFC3339, s)` returns for them (`Unix()`,
    /// `Nanosecond()`), recorded from a run of Go.
    #[test]
    fn matches_go_time_parse_rfc3339() {
        for (input, want) in [
            ("1970-01-01T00:00:00Z", Some((0, 0))),
            ("2024-02-29T12:34:56Z", Some((1709210096, 0))),
            ("2024-02-29T14:34:56+02:00", Some((1709210096, 0))),
            ("2024-02-29T12:34:56.5Z", Some((1709210096, 500_000_000))),
            ("1970-01-01T00:00:00-01:30", Some((5400, 0))),
            ("2022-06-28T00:00:00Z", Some((1656374400, 0))),
            (
                "2022-06-28T02:00:00.5+02:00",
                Some((1656374400, 500_000_000)),
            ),
            ("2030-01-01T00:00:00Z", Some((1893456000, 0))),
            ("2000-02-29T00:00:00Z", Some((951782400, 0))),
            ("0000-01-01T00:00:00Z", Some((-62167219200, 0))),
            ("1969-12-31T23:59:59.5Z", Some((-1, 500_000_000))),
            ("2024-01-01T00:00:00-00:00", Some((1704067200, 0))),
            (
                "2024-01-01T00:00:00.5+01:00",
                Some((1704063600, 500_000_000)),
            ),
            (
                "2024-01-01T00:00:00.123456789123Z",
                Some((1704067200, 123_456_789)),
            ),
            // Go's general parser, behind its fast path, is this lenient.
            ("2024-01-01T1:00:00Z", Some((1704070800, 0))),
            ("2024-01-01T00:00:00,5Z", Some((1704067200, 500_000_000))),
            ("2024-01-01T00:00:00+24:00", Some((1703980800, 0))),
            ("2024-01-01T00:00:00+23:60", Some((1703980800, 0))),
            ("2024-01-01T00:00:00+01:60", Some((1704060000, 0))),
            // And this strict.
            ("", None),
            ("2024-02-29", None),
            ("2024-13-01T00:00:00Z", None),
            ("2024-00-10T00:00:00Z", None),
            ("2024-01-00T00:00:00Z", None),
            ("2022-02-30T00:00:00Z", None),
            ("2023-02-29T00:00:00Z", None),
            ("1900-02-29T00:00:00Z", None),
            ("2024-02-29T12:34:56", None),
            ("2024-02-29T12:34:56+0200", None),
            ("2024-02-29T12:34:56.Z", None),
            ("2024-01-01T00:00:00.", None),
            ("2024-01-01T00:00:00.5", None),
            ("x024-02-29T12:34:56Z", None),
            ("+024-01-01T00:00:00Z", None),
            ("2022-06-28 00:00:00Z", None),
            ("2024-01-01t00:00:00Z", None),
            ("2024-01-01T00:00:00z", None),
            ("2024-01-01T00:00:60Z", None),
            ("2024-01-01T24:00:00Z", None),
            ("2024-01-01T00:60:00Z", None),
            ("2024-01-01T00:00:00+99:00", None),
            ("2024-01-01T00:00:00+25:00", None),
            ("2024-01-01T00:00:00+00:61", None),
            ("2024-01-01T00:00:00+1:00", None),
            ("2024-01-01T00:00:00+01:0", None),
            ("2024-01-01T00:00:00+00:00:00", None),
            ("2024-01-01T00:00:00UTC", None),
            ("2024-01-01T00:00:00+01:00Z", None),
            (" 2024-01-01T00:00:00Z", None),
            ("2024-01-01T00:00:00Z ", None),
            ("2024-1-01T00:00:00Z", None),
            ("2024-01-1T00:00:00Z", None),
            ("2024-01-01T00:0:00Z", None),
            ("2024-01-01T00:00:0Z", None),
        ] {
            assert_eq!(secs(input), want, "{input:?}");
        }
    }

    #[test]
    fn converts_to_system_time_on_both_sides_of_the_epoch() {
        let t = |s| parse_rfc3339(s).and_then(Timestamp::to_system_time);
        assert_eq!(
            t("2024-02-29T12:34:56.5Z"),
            Some(UNIX_EPOCH + Duration::from_millis(1_709_210_096_500))
        );
        assert_eq!(
            t("1969-12-31T23:59:59.5Z"),
            Some(UNIX_EPOCH - Duration::from_millis(500))
        );
    }
}
