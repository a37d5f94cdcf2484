//! Per-UTC-day tokens and errors of the whole usage and of each model, user and metadata value:
//! what the anomaly rule reads. The [`Aggregator`](super::Aggregator) keeps them only when the
//! query asks ([`UsageQuery::with_key_series`](super::UsageQuery::with_key_series)), within a
//! cell budget.

use std::collections::HashMap;

use super::aggregate::Dimensions;
use super::query::UsageQuery;
use super::report::{Counters, NONE_KEY, UNKNOWN_KEY};
use super::time::Timestamp;

/// The most (key, day) cells one report keeps, over all dimensions: 500,000 cells of 16 bytes
/// are 8 MB. A key first seen when a new series would pass it is not tracked (its usage still
/// counts everywhere else) and the anomalies section says how many records that left out.
pub(crate) const MAX_KEY_SERIES_CELLS: usize = 500_000;

const DAY_SECONDS: i64 = 86_400;

/// One day's tokens and errors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayCell {
    /// `total_tokens` summed.
    pub tokens: u64,
    /// `errors` summed.
    pub errors: u64,
}

impl DayCell {
    fn add(&mut self, counters: &Counters) {
        self.tokens = self.tokens.saturating_add(counters.total_tokens);
        self.errors = self.errors.saturating_add(counters.errors);
    }

    /// The sum of two cells.
    pub fn plus(self, other: DayCell) -> DayCell {
        DayCell {
            tokens: self.tokens.saturating_add(other.tokens),
            errors: self.errors.saturating_add(other.errors),
        }
    }
}

/// What a series is a series of: a model, a user, or the values of one metadata key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SeriesDimension {
    /// `modelId`.
    Model,
    /// `identity.arn`.
    User,
    /// The values of this `requestMetadata` key.
    Metadata(String),
}

/// One line of daily cells per key.
type Lines = HashMap<Box<str>, Vec<DayCell>>;

/// Daily cells over a run of UTC days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySeries {
    /// Day number (days since 1970-01-01) of the first cell.
    first_day: i64,
    /// All usage, one cell per day.
    totals: Vec<DayCell>,
    /// Per dimension, per key, one cell per day.
    dimensions: Vec<(SeriesDimension, Lines)>,
    cells: usize,
    untracked_records: u64,
}

/// The day number of `at`.
pub(crate) fn day_of(at: Timestamp) -> i64 {
    at.unix_seconds().div_euclid(DAY_SECONDS)
}

impl KeySeries {
    /// Empty series over the UTC days that `query`'s period touches.
    pub(crate) fn new(query: &UsageQuery) -> Self {
        let first_day = day_of(query.start());
        let last = query.end().unix_seconds() - i64::from(query.end().subsec_nanos() == 0);
        let days = usize::try_from(last.div_euclid(DAY_SECONDS) - first_day + 1).unwrap_or(1);
        let mut dimensions = vec![
            (SeriesDimension::Model, HashMap::new()),
            (SeriesDimension::User, HashMap::new()),
        ];
        dimensions.extend(
            query
                .group_by_metadata()
                .iter()
                .map(|key| (SeriesDimension::Metadata(key.clone()), HashMap::new())),
        );
        KeySeries {
            first_day,
            totals: vec![DayCell::default(); days],
            cells: days,
            dimensions,
            untracked_records: 0,
        }
    }

    /// Counts `counters` on the day of `at` for the whole and for each of `dims`' keys.
    pub(crate) fn add(&mut self, at: Timestamp, dims: &Dimensions<'_>, counters: &Counters) {
        let Some(index) = usize::try_from(day_of(at) - self.first_day)
            .ok()
            .filter(|i| *i < self.totals.len())
        else {
            return;
        };
        self.totals[index].add(counters);
        let days = self.totals.len();
        let mut untracked = false;
        for (dimension, series) in &mut self.dimensions {
            let key = match dimension {
                SeriesDimension::Model => dims.model_id.unwrap_or(UNKNOWN_KEY),
                SeriesDimension::User => dims.user.unwrap_or(UNKNOWN_KEY),
                SeriesDimension::Metadata(name) => dims.metadata(name).unwrap_or(NONE_KEY),
            };
            if let Some(line) = series.get_mut(key) {
                line[index].add(counters);
            } else if self.cells + days <= MAX_KEY_SERIES_CELLS {
                self.cells += days;
                let mut line = vec![DayCell::default(); days];
                line[index].add(counters);
                series.insert(key.into(), line);
            } else {
                untracked = true;
            }
        }
        self.untracked_records = self.untracked_records.saturating_add(u64::from(untracked));
    }

    /// Adds `other` (series of the same query read from another source, see
    /// `usage::source::multi`) cell by cell, within the same cell budget: a key new to `self`
    /// that no longer fits is left out, and its records count as untracked (at least one per
    /// key left out: the series keep no record counts). Series over other days are ignored.
    pub(crate) fn merge(&mut self, other: KeySeries) {
        if other.first_day != self.first_day || other.totals.len() != self.totals.len() {
            return;
        }
        for (cell, add) in self.totals.iter_mut().zip(&other.totals) {
            *cell = cell.plus(*add);
        }
        let days = self.totals.len();
        let mut untracked = other.untracked_records;
        for (dimension, lines) in other.dimensions {
            let Some((_, mine)) = self.dimensions.iter_mut().find(|(d, _)| *d == dimension) else {
                continue;
            };
            for (key, line) in lines {
                if let Some(existing) = mine.get_mut(&key) {
                    for (cell, add) in existing.iter_mut().zip(&line) {
                        *cell = cell.plus(*add);
                    }
                } else if self.cells + days <= MAX_KEY_SERIES_CELLS {
                    self.cells += days;
                    mine.insert(key, line);
                } else {
                    untracked = untracked.saturating_add(1);
                }
            }
        }
        self.untracked_records = self.untracked_records.saturating_add(untracked);
    }

    /// The first day covered.
    pub fn first_day(&self) -> i64 {
        self.first_day
    }

    /// The last day covered.
    pub fn last_day(&self) -> i64 {
        self.first_day + self.totals.len() as i64 - 1
    }

    /// All usage on `day` (zero outside the days covered).
    pub fn total(&self, day: i64) -> DayCell {
        self.cell(&self.totals, day)
    }

    /// `key`'s usage in `dimension` on `day` (zero if untracked or outside the days covered).
    pub fn value(&self, dimension: &SeriesDimension, key: &str, day: i64) -> DayCell {
        self.dimensions
            .iter()
            .find(|(d, _)| d == dimension)
            .and_then(|(_, series)| series.get(key))
            .map_or_else(DayCell::default, |line| self.cell(line, day))
    }

    /// The dimensions, in order (models, users, then metadata keys).
    pub fn dimensions(&self) -> impl Iterator<Item = &SeriesDimension> {
        self.dimensions.iter().map(|(d, _)| d)
    }

    /// The keys tracked in `dimension`.
    pub fn keys(&self, dimension: &SeriesDimension) -> impl Iterator<Item = &str> {
        self.dimensions
            .iter()
            .filter(move |(d, _)| d == dimension)
            .flat_map(|(_, series)| series.keys().map(|k| &**k))
    }

    /// Records (or summed rows) whose key in some dimension was not tracked.
    pub fn untracked_records(&self) -> u64 {
        self.untracked_records
    }

    fn cell(&self, line: &[DayCell], day: i64) -> DayCell {
        usize::try_from(day - self.first_day)
            .ok()
            .and_then(|i| line.get(i))
            .copied()
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::query::Granularity;
    use crate::usage::time::ts;

    #[test]
    fn the_cell_budget_bounds_the_series_and_counts_what_it_leaves_out() {
        let query = UsageQuery::new(
            ts("2026-11-01T00:00:00Z"),
            ts("2026-11-11T00:00:00Z"),
            Granularity::Hour,
        )
        .unwrap();
        let mut series = KeySeries::new(&query);
        assert_eq!(series.last_day() - series.first_day(), 9);
        let counters = Counters::one(5, 0, 0, 0, false);
        // 10 days: the totals and the one model take 20 cells, each user 10 more.
        let fits = (MAX_KEY_SERIES_CELLS - 20) / 10;
        for i in 0..fits + 12 {
            let user = format!("arn:user/{i}");
            let dims = Dimensions {
                model_id: Some("m"),
                user: Some(&user),
                ..Dimensions::default()
            };
            series.add(ts("2026-11-03T05:00:00Z"), &dims, &counters);
        }
        assert!(series.cells <= MAX_KEY_SERIES_CELLS);
        assert_eq!(series.keys(&SeriesDimension::User).count(), fits);
        assert_eq!(series.untracked_records(), 12);
        let day = day_of(ts("2026-11-03T00:00:00Z"));
        let total = (fits + 12) as u64 * 5;
        assert_eq!(
            series.total(day).tokens,
            total,
            "the totals count everything"
        );
        assert_eq!(
            series.value(&SeriesDimension::Model, "m", day).tokens,
            total
        );
        assert_eq!(
            series
                .value(&SeriesDimension::User, "arn:user/0", day)
                .tokens,
            5
        );
        assert_eq!(
            series
                .value(&SeriesDimension::User, "arn:user/0", day + 1)
                .tokens,
            0
        );
        // Outside the days covered: not counted, no panic.
        series.add(
            ts("2026-11-11T00:00:00Z"),
            &Dimensions::default(),
            &counters,
        );
        assert_eq!(series.total(day + 8).tokens, 0);
    }
}
