//! Time slices: the report's period cut at bucket boundaries into one query each, and a
//! truncated slice split into smaller ones (the strategy is in the
//! [CloudWatch module docs](super::super)).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::InsightsOptions;
use crate::usage::query::{Granularity, UsageQuery};
use crate::usage::time::Timestamp;

/// A slice shorter than this is not split further.
const MIN_SLICE_MS: i64 = 1_000;

/// `[start_ms, end_ms)`, in epoch milliseconds (kept by a report task between polls).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Slice {
    pub(super) start_ms: i64,
    pub(super) end_ms: i64,
}

impl Slice {
    /// The start in RFC 3339, for messages.
    pub(super) fn start(&self) -> String {
        Timestamp::from_unix_millis(self.start_ms)
            .map_or_else(|| self.start_ms.to_string(), |t| t.to_string())
    }

    /// The end in RFC 3339, for messages.
    pub(super) fn end(&self) -> String {
        Timestamp::from_unix_millis(self.end_ms)
            .map_or_else(|| self.end_ms.to_string(), |t| t.to_string())
    }
}

/// The period cut at bucket boundaries into slices of about `initial_slice`.
pub(super) fn initial_slices(query: &UsageQuery, options: &InsightsOptions) -> Vec<Slice> {
    let granularity = query.granularity();
    let bucket_ms = granularity.seconds() * 1000;
    let wanted = options.initial_slice.unwrap_or(match granularity {
        Granularity::Day => Duration::from_secs(7 * 86_400),
        Granularity::Hour => Duration::from_secs(86_400),
    });
    let wanted_ms = i64::try_from(wanted.as_millis()).unwrap_or(i64::MAX);
    // Whole buckets, at least one.
    let (start, end) = period_ms(query);
    // At most a quarter of the query budget for the first cut.
    let budget = i64::try_from(options.max_queries / 4)
        .unwrap_or(i64::MAX)
        .max(1);
    let wanted_ms = wanted_ms.max((end - start) / budget + 1);
    let buckets = wanted_ms / bucket_ms + i64::from(wanted_ms % bucket_ms != 0);
    let chunk_ms = buckets.max(1).saturating_mul(bucket_ms);
    let mut slices = Vec::new();
    let mut at = start;
    while at < end {
        let next = (at.div_euclid(chunk_ms) + 1)
            .saturating_mul(chunk_ms)
            .min(end);
        slices.push(Slice {
            start_ms: at,
            end_ms: next,
        });
        at = next;
    }
    slices
}

/// The period in milliseconds; an end with a sub-millisecond part keeps that millisecond.
fn period_ms(query: &UsageQuery) -> (i64, i64) {
    let end = query.end();
    let end_ms = end.unix_millis() + i64::from(!end.subsec_nanos().is_multiple_of(1_000_000));
    (query.start().unix_millis(), end_ms)
}

/// `slice` cut into up to `parts` pieces: at bucket boundaries when it crosses some, evenly in
/// time otherwise. `None` when it is too short to cut.
pub(super) fn split(slice: Slice, granularity: Granularity, parts: u32) -> Option<Vec<Slice>> {
    let parts = i64::from(parts.max(2));
    let bucket_ms = granularity.seconds() * 1000;
    let first_boundary = (slice.start_ms.div_euclid(bucket_ms) + 1) * bucket_ms;
    let boundaries: Vec<i64> = if first_boundary < slice.end_ms {
        // Bucket boundaries strictly inside the slice; take up to parts - 1, evenly spread.
        let inside = (slice.end_ms - 1 - first_boundary) / bucket_ms + 1;
        let cuts = inside.min(parts - 1);
        (1..=cuts)
            .map(|i| first_boundary + ((i * (inside + 1)) / (cuts + 1) - 1).max(0) * bucket_ms)
            .collect()
    } else {
        let length = slice.end_ms - slice.start_ms;
        if length < 2 * MIN_SLICE_MS {
            return None;
        }
        let cuts = (length / MIN_SLICE_MS).min(parts) - 1;
        (1..=cuts)
            .map(|i| slice.start_ms + length * i / (cuts + 1))
            .collect()
    };
    let mut pieces = Vec::with_capacity(boundaries.len() + 1);
    let mut at = slice.start_ms;
    for cut in boundaries {
        if cut > at && cut < slice.end_ms {
            pieces.push(Slice {
                start_ms: at,
                end_ms: cut,
            });
            at = cut;
        }
    }
    pieces.push(Slice {
        start_ms: at,
        end_ms: slice.end_ms,
    });
    (pieces.len() > 1).then_some(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::time::ts;

    fn ms(s: &str) -> i64 {
        ts(s).unix_millis()
    }

    fn keys(slices: &[Slice]) -> Vec<(String, String)> {
        slices.iter().map(|s| (s.start(), s.end())).collect()
    }

    #[test]
    fn initial_slices_follow_bucket_boundaries() {
        let q = UsageQuery::new(
            ts("2026-10-01T06:30:00Z"),
            ts("2026-10-20T00:00:00Z"),
            Granularity::Day,
        )
        .unwrap();
        let slices = initial_slices(&q, &InsightsOptions::default());
        // Seven-day chunks counted from the epoch (a Thursday).
        assert_eq!(
            keys(&slices),
            [
                ("2026-10-01T06:30:00Z".into(), "2026-10-08T00:00:00Z".into()),
                ("2026-10-08T00:00:00Z".into(), "2026-10-15T00:00:00Z".into()),
                ("2026-10-15T00:00:00Z".into(), "2026-10-20T00:00:00Z".into()),
            ]
        );
        let q = UsageQuery::new(
            ts("2026-10-01T00:00:00Z"),
            ts("2026-10-01T00:00:00.0005Z"),
            Granularity::Hour,
        )
        .unwrap();
        assert_eq!(
            initial_slices(&q, &InsightsOptions::default()),
            [Slice {
                start_ms: ms("2026-10-01T00:00:00Z"),
                end_ms: ms("2026-10-01T00:00:00Z") + 1
            }]
        );
    }

    #[test]
    fn splits_at_bucket_boundaries_then_within_a_bucket() {
        let day = Slice {
            start_ms: ms("2026-10-01T00:00:00Z"),
            end_ms: ms("2026-10-08T00:00:00Z"),
        };
        let parts = split(day, Granularity::Day, 4).unwrap();
        assert_eq!(
            keys(&parts),
            [
                ("2026-10-01T00:00:00Z".into(), "2026-10-02T00:00:00Z".into()),
                ("2026-10-02T00:00:00Z".into(), "2026-10-04T00:00:00Z".into()),
                ("2026-10-04T00:00:00Z".into(), "2026-10-06T00:00:00Z".into()),
                ("2026-10-06T00:00:00Z".into(), "2026-10-08T00:00:00Z".into()),
            ]
        );
        let two = Slice {
            start_ms: ms("2026-10-01T12:00:00Z"),
            end_ms: ms("2026-10-02T12:00:00Z"),
        };
        assert_eq!(
            keys(&split(two, Granularity::Day, 4).unwrap()),
            [
                ("2026-10-01T12:00:00Z".into(), "2026-10-02T00:00:00Z".into()),
                ("2026-10-02T00:00:00Z".into(), "2026-10-02T12:00:00Z".into()),
            ]
        );
        let one = Slice {
            start_ms: ms("2026-10-01T00:00:00Z"),
            end_ms: ms("2026-10-02T00:00:00Z"),
        };
        assert_eq!(
            keys(&split(one, Granularity::Day, 4).unwrap()),
            [
                ("2026-10-01T00:00:00Z".into(), "2026-10-01T06:00:00Z".into()),
                ("2026-10-01T06:00:00Z".into(), "2026-10-01T12:00:00Z".into()),
                ("2026-10-01T12:00:00Z".into(), "2026-10-01T18:00:00Z".into()),
                ("2026-10-01T18:00:00Z".into(), "2026-10-02T00:00:00Z".into()),
            ]
        );
        let short = Slice {
            start_ms: 0,
            end_ms: 2_500,
        };
        assert_eq!(split(short, Granularity::Hour, 4).unwrap().len(), 2);
        assert!(
            split(
                Slice {
                    start_ms: 0,
                    end_ms: 1_999
                },
                Granularity::Hour,
                4
            )
            .is_none()
        );
    }
}
