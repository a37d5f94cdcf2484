//! UTC instants and calendar dates for the report: thin newtypes over `chrono`.
//!
//! Invocation logs stamp each record with an RFC 3339 `timestamp`, and reports bucket records
//! by UTC day or hour. `chrono` does the calendar arithmetic, parsing and formatting; these
//! types add what the report needs on top: values kept inside years 0000–9999 (what RFC 3339
//! can spell, so every value formats as four-digit years and nothing overflows), strict input
//! shapes (ASCII RFC 3339, `YYYY-MM-DD`), leap seconds folded into the next minute, the report's
//! own spelling (`Z`, a fraction only when non-zero) and error messages that quote the input.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Timelike, Utc};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a timestamp or date could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// The text is not an RFC 3339 date-time (`2026-11-25T14:03:07Z`, offsets allowed) within
    /// years 0000–9999 in UTC.
    #[error("not an RFC 3339 timestamp: {0:?}")]
    InvalidTimestamp(String),
    /// The text is not a `YYYY-MM-DD` date.
    #[error("not a YYYY-MM-DD date: {0:?}")]
    InvalidDate(String),
}

/// The first 64 characters of rejected input, for an error message.
fn shown(text: &str) -> String {
    text.chars().take(64).collect()
}

/// Whether `date` lies within years 0000–9999.
fn in_range(date: NaiveDate) -> bool {
    (0..=9999).contains(&chrono::Datelike::year(&date))
}

/// An instant in UTC with nanosecond precision, between 0000-01-01 and 9999-12-31.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: Timestamp = Timestamp(DateTime::UNIX_EPOCH);

    /// The instant, if within years 0000–9999; a leap second becomes the next second's start.
    fn new(at: DateTime<Utc>) -> Option<Self> {
        let nanos = at.timestamp_subsec_nanos();
        let at = if nanos >= 1_000_000_000 {
            DateTime::from_timestamp(at.timestamp().checked_add(1)?, nanos - 1_000_000_000)?
        } else {
            at
        };
        in_range(at.date_naive()).then_some(Timestamp(at))
    }

    /// The instant `secs` seconds after the Unix epoch, if within years 0000–9999.
    pub fn from_unix_seconds(secs: i64) -> Option<Self> {
        Self::new(DateTime::from_timestamp(secs, 0)?)
    }

    /// The instant `millis` milliseconds after the Unix epoch, if within years 0000–9999.
    pub fn from_unix_millis(millis: i64) -> Option<Self> {
        Self::new(DateTime::from_timestamp_millis(millis)?)
    }

    /// The current time from the system clock, to the second ([`crate::clock`]: a clock set
    /// before 1970, or past 9999, reads as the epoch).
    pub fn now() -> Self {
        i64::try_from(crate::clock::unix_now())
            .ok()
            .and_then(Self::from_unix_seconds)
            .unwrap_or(Self::UNIX_EPOCH)
    }

    /// Whole seconds since the Unix epoch (negative before 1970).
    pub fn unix_seconds(&self) -> i64 {
        self.0.timestamp()
    }

    /// Milliseconds since the Unix epoch (negative before 1970).
    pub fn unix_millis(&self) -> i64 {
        self.0.timestamp_millis()
    }

    /// The nanoseconds past [`Self::unix_seconds`].
    pub fn subsec_nanos(&self) -> u32 {
        self.0.timestamp_subsec_nanos()
    }

    /// The UTC calendar date of this instant.
    pub fn date(&self) -> Date {
        Date(self.0.date_naive())
    }

    /// The UTC hour of the day, 0–23.
    pub fn hour(&self) -> u32 {
        self.0.hour()
    }

    /// This instant moved by `secs` seconds, if still within years 0000–9999.
    pub fn checked_add_seconds(&self, secs: i64) -> Option<Self> {
        Self::new(self.0.checked_add_signed(TimeDelta::try_seconds(secs)?)?)
    }

    /// Parses an RFC 3339 date-time such as `2026-11-25T14:03:07Z`,
    /// `2026-11-25T14:03:07.123456+01:00` or `2026-11-25 14:03:07z`.
    ///
    /// Fractions beyond nanoseconds are truncated; a leap second (`:60`) rolls into the next
    /// minute. Only ASCII is accepted (`chrono` also reads a Unicode minus sign in the offset).
    pub fn parse_rfc3339(text: &str) -> Result<Self, TimeError> {
        text.is_ascii()
            .then(|| DateTime::parse_from_rfc3339(text).ok())
            .flatten()
            .and_then(|at| Self::new(at.to_utc()))
            .ok_or_else(|| TimeError::InvalidTimestamp(shown(text)))
    }

    /// Formats as RFC 3339 in UTC: `2026-11-25T14:03:07Z`, with a fraction only when non-zero.
    pub fn to_rfc3339(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%dT%H:%M:%S"))?;
        let nanos = self.subsec_nanos();
        if nanos != 0 {
            let fraction = format!("{nanos:09}");
            write!(f, ".{}", fraction.trim_end_matches('0'))?;
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
pub struct Date(NaiveDate);

impl Date {
    fn new(date: NaiveDate) -> Option<Self> {
        in_range(date).then_some(Date(date))
    }

    /// The date from year, month (1–12) and day (1–31), if it exists and is within 0000–9999.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Self> {
        Self::new(NaiveDate::from_ymd_opt(year, month, day)?)
    }

    /// Today's UTC date from the system clock.
    pub fn today() -> Self {
        Timestamp::now().date()
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(&self) -> i64 {
        self.0
            .signed_duration_since(DateTime::UNIX_EPOCH.date_naive())
            .num_days()
    }

    /// The date `days` later (earlier if negative), if within 0000–9999.
    pub fn checked_add_days(&self, days: i64) -> Option<Self> {
        Self::new(self.0.checked_add_signed(TimeDelta::try_days(days)?)?)
    }

    /// Midnight UTC at the start of this date.
    pub fn start(&self) -> Timestamp {
        Timestamp(self.0.and_time(NaiveTime::MIN).and_utc())
    }

    /// Parses exactly `YYYY-MM-DD` (`chrono` alone would also take `2026-1-5` or `+2026-01-05`).
    pub fn parse(text: &str) -> Result<Self, TimeError> {
        let shaped = text.len() == 10
            && text.bytes().enumerate().all(|(at, c)| match at {
                4 | 7 => c == b'-',
                _ => c.is_ascii_digit(),
            });
        shaped
            .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
            .flatten()
            .and_then(Self::new)
            .ok_or_else(|| TimeError::InvalidDate(shown(text)))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl FromStr for Date {
    type Err = TimeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// An RFC 3339 timestamp the test writes out, for the crate's unit tests.
#[cfg(test)]
pub(crate) fn ts(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn leap_seconds_roll_into_the_next_minute() {
        assert_eq!(
            ts("2016-12-31T23:59:60Z").to_string(),
            "2017-01-01T00:00:00Z"
        );
        let t = ts("2016-12-31T23:59:60.5+00:00");
        assert_eq!(t.to_string(), "2017-01-01T00:00:00.5Z");
        assert_eq!(t.unix_millis(), 1_483_228_800_500);
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
            "2026-11-25T14:03:61Z",
            "2026-11-25T14:03:07.Z",
            "2026-11-25T14:03:07+0100",
            "2026-11-25T14:03:07+24:00",
            "2026-11-25T14:03:07\u{2212}01:00",
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
    fn errors_quote_the_input() {
        assert_eq!(
            Timestamp::parse_rfc3339("yesterday")
                .unwrap_err()
                .to_string(),
            "not an RFC 3339 timestamp: \"yesterday\""
        );
        let long = "9".repeat(100);
        assert_eq!(
            Date::parse(&long).unwrap_err(),
            TimeError::InvalidDate("9".repeat(64))
        );
    }

    #[test]
    fn values_stay_within_years_0000_to_9999() {
        let first = Date::from_ymd(0, 1, 1).unwrap();
        assert_eq!(first.to_string(), "0000-01-01");
        assert_eq!(first.days_since_epoch(), -719_528);
        assert!(first.checked_add_days(-1).is_none());
        let last = Date::from_ymd(9999, 12, 31).unwrap();
        assert_eq!(last.days_since_epoch(), 2_932_896);
        assert!(last.checked_add_days(1).is_none());
        assert!(Date::from_ymd(10_000, 1, 1).is_none());
        assert!(Date::from_ymd(-1, 12, 31).is_none());
        assert_eq!(
            first.start().to_string(),
            "0000-01-01T00:00:00Z",
            "year 0 keeps four digits"
        );
        let now = Timestamp::now();
        assert_eq!(now.subsec_nanos(), 0);
        assert_eq!(Date::today(), now.date());
    }

    #[test]
    fn dates_parse_and_bound_checks() {
        assert_eq!(
            Date::parse("2024-02-29").unwrap(),
            Date::from_ymd(2024, 2, 29).unwrap()
        );
        assert!(Date::parse("2023-02-29").is_err());
        assert!(Date::parse("2023-2-28").is_err());
        assert!(Date::parse("2023-02-8 ").is_err());
        assert!(Date::parse("+023-02-28").is_err());
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
        assert!(
            ts("2026-11-25T00:00:00Z")
                .checked_add_seconds(i64::MAX)
                .is_none()
        );
    }

    #[test]
    fn serde_uses_rfc3339_strings() {
        let t: Timestamp = serde_json::from_str("\"2026-11-25T14:03:07Z\"").unwrap();
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2026-11-25T14:03:07Z\""
        );
        let err = serde_json::from_str::<Timestamp>("1795615387").unwrap_err();
        assert!(
            err.to_string()
                .contains("expected an RFC 3339 timestamp string"),
            "{err}"
        );
    }
}
