//! UTC instants and calendar dates with hand-rolled RFC 3339 parsing and formatting.
//!
//! Invocation logs stamp each record with an RFC 3339 `timestamp`, and reports bucket records
//! by UTC day or hour. That needs little more than parsing one fixed format, civil-date
//! arithmetic and two key formats, so this module does it without a date-time dependency.
//! Every value is kept inside years 0000–9999 (what RFC 3339 can spell), so nothing here can
//! overflow or panic, whatever the input.

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Seconds in a day.
const DAY_SECS: i64 = 86_400;
/// Days from 1970-01-01 to 0000-01-01 (negative): the first representable day.
const MIN_DAY: i64 = -719_528;
/// Days from 1970-01-01 to 9999-12-31: the last representable day.
const MAX_DAY: i64 = 2_932_896;

/// Why a timestamp or date could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// The text is not an RFC 3339 date-time (`2026-11-25T14:03:07Z`, offsets allowed).
    #[error("not an RFC 3339 timestamp: {0:?}")]
    InvalidTimestamp(String),
    /// The text is not a `YYYY-MM-DD` date.
    #[error("not a YYYY-MM-DD date: {0:?}")]
    InvalidDate(String),
    /// The instant falls outside years 0000–9999 in UTC.
    #[error("outside the years 0000-9999")]
    OutOfRange,
}

/// An instant in UTC with nanosecond precision, between 0000-01-01 and 9999-12-31.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    secs: i64,
    nanos: u32,
}

impl Timestamp {
    /// 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: Timestamp = Timestamp { secs: 0, nanos: 0 };

    /// The instant `secs` seconds after the Unix epoch, if within years 0000–9999.
    pub fn from_unix_seconds(secs: i64) -> Option<Self> {
        Self::new(secs, 0)
    }

    /// The instant `millis` milliseconds after the Unix epoch, if within years 0000–9999.
    pub fn from_unix_millis(millis: i64) -> Option<Self> {
        let nanos = u32::try_from(millis.rem_euclid(1000) * 1_000_000).ok()?;
        Self::new(millis.div_euclid(1000), nanos)
    }

    fn new(secs: i64, nanos: u32) -> Option<Self> {
        let day = secs.div_euclid(DAY_SECS);
        ((MIN_DAY..=MAX_DAY).contains(&day) && nanos < 1_000_000_000)
            .then_some(Timestamp { secs, nanos })
    }

    /// The current time from the system clock (clamped to the representable range).
    pub fn now() -> Self {
        let secs = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
        };
        let secs = secs.clamp(MIN_DAY * DAY_SECS, MAX_DAY * DAY_SECS + DAY_SECS - 1);
        Timestamp { secs, nanos: 0 }
    }

    /// Whole seconds since the Unix epoch (negative before 1970).
    pub fn unix_seconds(&self) -> i64 {
        self.secs
    }

    /// Milliseconds since the Unix epoch (negative before 1970).
    pub fn unix_millis(&self) -> i64 {
        self.secs * 1000 + i64::from(self.nanos / 1_000_000)
    }

    /// The nanoseconds past [`Self::unix_seconds`].
    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }

    /// The UTC calendar date of this instant.
    pub fn date(&self) -> Date {
        Date {
            days: self.secs.div_euclid(DAY_SECS),
        }
    }

    /// The UTC hour of the day, 0–23.
    pub fn hour(&self) -> u32 {
        u32::try_from(self.secs.rem_euclid(DAY_SECS) / 3600).unwrap_or(0)
    }

    /// This instant moved by `secs` seconds, if still within years 0000–9999.
    pub fn checked_add_seconds(&self, secs: i64) -> Option<Self> {
        Self::new(self.secs.checked_add(secs)?, self.nanos)
    }

    /// Parses an RFC 3339 date-time such as `2026-11-25T14:03:07Z`,
    /// `2026-11-25T14:03:07.123456+01:00` or `2026-11-25 14:03:07z`.
    ///
    /// Fractions beyond nanoseconds are truncated; a leap second (`:60`) rolls into the next
    /// minute.
    pub fn parse_rfc3339(text: &str) -> Result<Self, TimeError> {
        parse_rfc3339(text.as_bytes()).ok_or_else(|| {
            let shown: String = text.chars().take(64).collect();
            TimeError::InvalidTimestamp(shown)
        })
    }

    /// Formats as RFC 3339 in UTC: `2026-11-25T14:03:07Z`, with a fraction only when non-zero.
    pub fn to_rfc3339(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = civil_from_days(self.secs.div_euclid(DAY_SECS));
        let in_day = self.secs.rem_euclid(DAY_SECS);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            in_day / 3600,
            in_day % 3600 / 60,
            in_day % 60
        )?;
        if self.nanos != 0 {
            let mut frac = format!("{:09}", self.nanos);
            while frac.ends_with('0') {
                frac.pop();
            }
            write!(f, ".{frac}")?;
        }
        f.write_str("Z")
    }
}

impl FromStr for Timestamp {
    type Err = TimeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_rfc3339(s)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimestampVisitor;
        impl Visitor<'_> for TimestampVisitor {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Timestamp::parse_rfc3339(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(TimestampVisitor)
    }
}

/// A calendar date (UTC), between 0000-01-01 and 9999-12-31.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    days: i64,
}

impl Date {
    /// The date from year, month (1–12) and day (1–31), if it exists and is within 0000–9999.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Self> {
        if !(0..=9999).contains(&year)
            || !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(i64::from(year), month)
        {
            return None;
        }
        Some(Date {
            days: days_from_civil(i64::from(year), month, day),
        })
    }

    /// Today's UTC date from the system clock.
    pub fn today() -> Self {
        Timestamp::now().date()
    }

    /// The date `days` days since 1970-01-01, if within 0000–9999.
    pub fn from_days_since_epoch(days: i64) -> Option<Self> {
        (MIN_DAY..=MAX_DAY).contains(&days).then_some(Date { days })
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(&self) -> i64 {
        self.days
    }

    /// `(year, month, day)`.
    pub fn ymd(&self) -> (i32, u32, u32) {
        let (y, m, d) = civil_from_days(self.days);
        (i32::try_from(y).unwrap_or(0), m, d)
    }

    /// The date `days` later (earlier if negative), if within 0000–9999.
    pub fn checked_add_days(&self, days: i64) -> Option<Self> {
        Self::from_days_since_epoch(self.days.checked_add(days)?)
    }

    /// Midnight UTC at the start of this date.
    pub fn start(&self) -> Timestamp {
        Timestamp {
            secs: self.days * DAY_SECS,
            nanos: 0,
        }
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<Self, TimeError> {
        let b = text.as_bytes();
        let parsed = (b.len() == 10 && b.get(4) == Some(&b'-') && b.get(7) == Some(&b'-'))
            .then(|| {
                let y = i32::try_from(digits(b, 0, 4)?).ok()?;
                Date::from_ymd(y, digits(b, 5, 2)?, digits(b, 8, 2)?)
            })
            .flatten();
        parsed.ok_or_else(|| TimeError::InvalidDate(text.chars().take(64).collect()))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = civil_from_days(self.days);
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl FromStr for Date {
    type Err = TimeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DateVisitor;
        impl Visitor<'_> for DateVisitor {
            type Value = Date;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a YYYY-MM-DD date string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Date, E> {
                Date::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(DateVisitor)
    }
}

/// Reads `n` ASCII digits at `at`.
fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let slice = b.get(at..at.checked_add(n)?)?;
    slice.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

fn parse_rfc3339(b: &[u8]) -> Option<Timestamp> {
    let sep = |at: usize, c: u8| b.get(at) == Some(&c);
    if !(sep(4, b'-') && sep(7, b'-') && sep(13, b':') && sep(16, b':')) {
        return None;
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let year = i64::from(digits(b, 0, 4)?);
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let hour = i64::from(digits(b, 11, 2)?);
    let minute = i64::from(digits(b, 14, 2)?);
    let second = i64::from(digits(b, 17, 2)?);
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut at = 19;
    let mut nanos = 0u32;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while let Some(c) = b.get(at).filter(|c| c.is_ascii_digit()) {
            if at - start < 9 {
                nanos = nanos * 10 + u32::from(c - b'0');
            }
            at += 1;
        }
        let count = at - start;
        if count == 0 {
            return None;
        }
        for _ in count..9 {
            nanos *= 10;
        }
    }
    let offset_secs = match b.get(at) {
        Some(b'Z' | b'z') => {
            at += 1;
            0
        }
        Some(&sign @ (b'+' | b'-')) => {
            let oh = i64::from(digits(b, at + 1, 2)?);
            let om = i64::from(digits(b, at + 4, 2)?);
            if !sep(at + 3, b':') || oh > 23 || om > 59 {
                return None;
            }
            at += 6;
            let magnitude = oh * 3600 + om * 60;
            if sign == b'-' { -magnitude } else { magnitude }
        }
        _ => return None,
    };
    if at != b.len() {
        return None;
    }
    let secs = days_from_civil(year, month, day) * DAY_SECS + hour * 3600 + minute * 60 + second
        - offset_secs;
    Timestamp::new(secs, nanos)
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day number since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn parses_and_formats_utc() {
        let t = ts("2026-11-25T14:03:07Z");
        assert_eq!(t.unix_seconds(), 1_795_615_387);
        assert_eq!(t.to_string(), "2026-11-25T14:03:07Z");
        assert_eq!(t.date().to_string(), "2026-11-25");
        assert_eq!(t.hour(), 14);
    }

    #[test]
    fn applies_offsets_and_fractions() {
        assert_eq!(ts("2026-11-25T15:03:07+01:00"), ts("2026-11-25T14:03:07Z"));
        assert_eq!(ts("2026-11-25T09:33:07-04:30"), ts("2026-11-25T14:03:07Z"));
        let t = ts("2026-11-25t14:03:07.120z");
        assert_eq!(t.subsec_nanos(), 120_000_000);
        assert_eq!(t.to_string(), "2026-11-25T14:03:07.12Z");
        assert_eq!(
            ts("2026-11-25 14:03:07.1234567891234Z").subsec_nanos(),
            123_456_789
        );
        // An offset can move the date across midnight and a year boundary.
        assert_eq!(
            ts("2027-01-01T00:30:00+01:00").to_string(),
            "2026-12-31T23:30:00Z"
        );
    }

    #[test]
    fn rejects_malformed_text() {
        for bad in [
            "",
            "2026-11-25",
            "2026-11-25T14:03:07",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-11-25T24:00:00Z",
            "2026-11-25T14:60:00Z",
            "2026-11-25T14:03:07.Z",
            "2026-11-25T14:03:07+0100",
            "2026-11-25T14:03:07Zjunk",
            "２026-11-25T14:03:07Z",
            "+2026-11-25T14:03:07Z",
            "0000-01-01T00:00:00+00:01",
            "9999-12-31T23:59:59-00:01",
        ] {
            assert!(Timestamp::parse_rfc3339(bad).is_err(), "{bad:?} parsed");
        }
        assert!(Timestamp::parse_rfc3339("2024-02-29T00:00:00Z").is_ok());
        assert!(Timestamp::parse_rfc3339("0000-01-01T00:00:00Z").is_ok());
        assert!(Timestamp::parse_rfc3339("9999-12-31T23:59:59.999999999Z").is_ok());
    }

    #[test]
    fn civil_conversion_round_trips_every_day() {
        let mut expected = Date::from_ymd(0, 1, 1).unwrap();
        assert_eq!(expected.days_since_epoch(), MIN_DAY);
        for days in MIN_DAY..=MAX_DAY {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
            assert_eq!(expected.days_since_epoch(), days);
            expected = expected.checked_add_days(1).unwrap_or(expected);
        }
        assert_eq!(
            Date::from_days_since_epoch(MAX_DAY).unwrap().to_string(),
            "9999-12-31"
        );
        assert!(Date::from_days_since_epoch(MAX_DAY + 1).is_none());
    }

    #[test]
    fn dates_parse_and_bound_checks() {
        assert_eq!(Date::parse("2024-02-29").unwrap().ymd(), (2024, 2, 29));
        assert!(Date::parse("2023-02-29").is_err());
        assert!(Date::parse("2023-2-28").is_err());
        assert_eq!(
            Date::parse("1970-01-01").unwrap().start(),
            Timestamp::UNIX_EPOCH
        );
        assert_eq!(
            Timestamp::from_unix_millis(-1).unwrap().to_string(),
            "1969-12-31T23:59:59.999Z"
        );
        assert!(Timestamp::from_unix_seconds(i64::MAX).is_none());
        assert!(Timestamp::from_unix_millis(i64::MIN).is_none());
        assert!(ts("9999-12-31T23:59:59Z").checked_add_seconds(1).is_none());
    }

    #[test]
    fn serde_uses_rfc3339_strings() {
        let t: Timestamp = serde_json::from_str("\"2026-11-25T14:03:07Z\"").unwrap();
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2026-11-25T14:03:07Z\""
        );
        assert!(serde_json::from_str::<Timestamp>("1795615387").is_err());
    }
}
