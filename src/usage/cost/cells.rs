//! The token counts a cost estimate needs, which the report's breakdowns do not keep: per
//! (model, region) pair (prices differ by region), and within each pair per caller and per UTC
//! day. The [`Aggregator`](crate::usage::Aggregator) fills them as it counts.
//!
//! Bounded: at most [`MAX_PAIRS`] pairs (later pairs count under `(other)`, reported unpriced)
//! and [`MAX_CELLS`] caller and day cells over all pairs (later callers count under
//! `(other)`, later days under no day); a pair's own totals are always exact.

use std::collections::{BTreeMap, HashMap};

use super::pricelist::TokenKind;
use crate::usage::report::{Counters, OTHER_KEY, UNKNOWN_KEY};
use crate::usage::time::Date;

/// (model, region) pairs kept one by one.
pub const MAX_PAIRS: usize = 2_000;

/// Caller and day cells kept over all pairs (about 100 bytes each).
pub const MAX_CELLS: usize = 100_000;

/// Input, output, cache-read and cache-write tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
}

impl Tokens {
    /// The token counts of `counters`.
    pub fn of(counters: &Counters) -> Self {
        Tokens {
            input: counters.input_tokens,
            output: counters.output_tokens,
            cache_read: counters.cache_read_input_tokens,
            cache_write: counters.cache_write_input_tokens,
        }
    }

    /// Adds `other`, saturating.
    pub fn add(&mut self, other: &Tokens) {
        self.input = self.input.saturating_add(other.input);
        self.output = self.output.saturating_add(other.output);
        self.cache_read = self.cache_read.saturating_add(other.cache_read);
        self.cache_write = self.cache_write.saturating_add(other.cache_write);
    }

    /// The count of `kind`.
    pub fn get(&self, kind: TokenKind) -> u64 {
        match kind {
            TokenKind::Input => self.input,
            TokenKind::Output => self.output,
            TokenKind::CacheRead => self.cache_read,
            TokenKind::CacheWrite => self.cache_write,
        }
    }

    /// All four summed.
    pub fn total(&self) -> u64 {
        TokenKind::ALL
            .iter()
            .fold(0u64, |sum, kind| sum.saturating_add(self.get(*kind)))
    }
}

/// One (model, region) pair's tokens, in total, per caller and per day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PairCells {
    pub tokens: Tokens,
    /// By `identity.arn` (`(unknown)` without one, `(other)` past the cell budget).
    pub by_user: HashMap<Box<str>, Tokens>,
    /// By UTC day (`None`: days past the cell budget).
    pub by_day: BTreeMap<Option<Date>, Tokens>,
}

/// The cells of a report, keyed by (`modelId`, `region`) as logged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CostCells {
    pairs: HashMap<(Box<str>, Box<str>), PairCells>,
    cells: usize,
}

impl CostCells {
    /// Counts `counters` of `model` called in `region` by `user` on `day`.
    pub fn add(
        &mut self,
        day: Date,
        model: Option<&str>,
        region: Option<&str>,
        user: Option<&str>,
        counters: &Counters,
    ) {
        let tokens = Tokens::of(counters);
        if tokens.total() == 0 {
            return;
        }
        let model = model.unwrap_or(UNKNOWN_KEY);
        let region = region.unwrap_or(UNKNOWN_KEY);
        let key: (Box<str>, Box<str>) = if self.pairs.len() < MAX_PAIRS
            || self.pairs.contains_key(&(model.into(), region.into()))
        {
            (model.into(), region.into())
        } else {
            (OTHER_KEY.into(), OTHER_KEY.into())
        };
        let pair = self.pairs.entry(key).or_default();
        pair.tokens.add(&tokens);
        let user = user.unwrap_or(UNKNOWN_KEY);
        let user: Box<str> = if pair.by_user.contains_key(user) || self.cells < MAX_CELLS {
            user.into()
        } else {
            OTHER_KEY.into()
        };
        if !pair.by_user.contains_key(&user) {
            self.cells += 1;
        }
        pair.by_user.entry(user).or_default().add(&tokens);
        let day = if pair.by_day.contains_key(&Some(day)) || self.cells < MAX_CELLS {
            Some(day)
        } else {
            None
        };
        if !pair.by_day.contains_key(&day) {
            self.cells += 1;
        }
        pair.by_day.entry(day).or_default().add(&tokens);
    }

    /// Adds `other` (the cells of the same query read from another source, see
    /// `usage::source::multi`) within the same budgets: a pair, user or day that no longer
    /// fits goes to `(other)` as in [`Self::add`].
    pub fn merge(&mut self, other: CostCells) {
        for ((model, region), cells) in other.pairs {
            let key = if self.pairs.len() < MAX_PAIRS
                || self.pairs.contains_key(&(model.clone(), region.clone()))
            {
                (model, region)
            } else {
                (OTHER_KEY.into(), OTHER_KEY.into())
            };
            let pair = self.pairs.entry(key).or_default();
            pair.tokens.add(&cells.tokens);
            for (user, tokens) in cells.by_user {
                let user = if pair.by_user.contains_key(&user) || self.cells < MAX_CELLS {
                    user
                } else {
                    OTHER_KEY.into()
                };
                if !pair.by_user.contains_key(&user) {
                    self.cells += 1;
                }
                pair.by_user.entry(user).or_default().add(&tokens);
            }
            for (day, tokens) in cells.by_day {
                let day = if pair.by_day.contains_key(&day) || self.cells < MAX_CELLS {
                    day
                } else {
                    None
                };
                if !pair.by_day.contains_key(&day) {
                    self.cells += 1;
                }
                pair.by_day.entry(day).or_default().add(&tokens);
            }
        }
    }

    /// The pairs, in no particular order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str, &PairCells)> {
        self.pairs
            .iter()
            .map(|((model, region), cells)| (&**model, &**region, cells))
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_by_pair_user_and_day_within_budget() {
        let mut cells = CostCells::default();
        let day = Date::from_ymd(2026, 11, 1).unwrap();
        let counters = Counters::one(10, 5, 2, 1, false);
        cells.add(day, Some("m"), Some("us-east-1"), Some("alice"), &counters);
        cells.add(day, Some("m"), Some("us-east-1"), Some("bob"), &counters);
        cells.add(day, Some("m"), Some("eu-west-1"), None, &counters);
        // Nothing to price: not kept.
        cells.add(
            day,
            Some("x"),
            Some("us-east-1"),
            None,
            &Counters::one(0, 0, 0, 0, true),
        );
        let mut pairs: Vec<_> = cells
            .pairs()
            .map(|(m, r, c)| (m, r, c.tokens.total()))
            .collect();
        pairs.sort_unstable();
        assert_eq!(pairs, [("m", "eu-west-1", 18), ("m", "us-east-1", 36)]);
        let (_, _, us) = cells.pairs().find(|(_, r, _)| *r == "us-east-1").unwrap();
        assert_eq!(us.by_user.len(), 2);
        assert_eq!(us.by_day[&Some(day)].input, 20);

        // Past the budget, new callers and days fold; the pair's totals stay exact.
        let mut full = CostCells {
            cells: MAX_CELLS,
            ..CostCells::default()
        };
        full.add(day, Some("m"), Some("r"), Some("carol"), &counters);
        let (_, _, pair) = full.pairs().next().unwrap();
        assert!(pair.by_user.contains_key(OTHER_KEY));
        assert!(pair.by_day.contains_key(&None));
        assert_eq!(pair.tokens.total(), 18);
    }
}
