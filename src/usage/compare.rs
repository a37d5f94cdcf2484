//! `compare_to: "previous_period"`: the period compared with, and the merge of its report into
//! the requested one.
//!
//! Both periods are read by the same source with the same filters and breakdowns, unfolded
//! (every key kept, within the aggregator's key budget); the merge then folds on the
//! **current period's ranking**: each breakdown shows the current period's `top_n` entries as
//! a report without comparison would, each with the previous period's counters under the same
//! key. Then come the entries present only in the previous period (no current usage at all),
//! biggest first, at most `top_n` of them, with current zeros. `(other)` holds the rest of
//! both periods: current counters of the current period's tail, previous counters of every
//! key not shown by name. Both columns still sum to their period's totals.

use std::collections::{HashMap, HashSet};

use super::aggregate::fold_series;
use super::query::UsageQuery;
use super::report::{
    Change, CompareTo, Comparison, Counters, MetadataBreakdown, OTHER_KEY, ProfileRow, QueryCost,
    Row, UsageReport, Warning,
};
use super::time::Timestamp;

/// The period of the same length that ends where `query`'s starts (to the millisecond), with
/// the same filters and breakdowns; why not, when it would start before year 0000.
pub(crate) fn previous_period(query: &UsageQuery) -> Result<UsageQuery, String> {
    let start = query.start();
    let length = query.end().unix_millis() - start.unix_millis();
    let previous_start = Timestamp::from_unix_millis(start.unix_millis() - length)
        .ok_or_else(|| format!("the period before {start} starts before year 0000"))?;
    query
        .with_period(previous_start, start, query.granularity())
        .map_err(|e| e.to_string())
}

/// `current` (read unfolded) with each breakdown folded to `top_n` on its own ranking and
/// compared with `previous` (read unfolded, same query shape), and the `compare_to` section.
pub(crate) fn merge(mut current: UsageReport, previous: UsageReport, top_n: usize) -> UsageReport {
    current.by_region = compare_rows(current.by_region, &previous.by_region, top_n);
    current.by_model = compare_rows(current.by_model, &previous.by_model, top_n);
    current.by_user = compare_rows(current.by_user, &previous.by_user, top_n);
    current.by_operation = compare_rows(current.by_operation, &previous.by_operation, top_n);
    current.by_inference_region = compare_rows(
        current.by_inference_region,
        &previous.by_inference_region,
        top_n,
    );
    current.by_inference_profile = compare_rows(
        current
            .by_inference_profile
            .into_iter()
            .map(|r| r.row)
            .collect(),
        &previous
            .by_inference_profile
            .iter()
            .map(|r| r.row.clone())
            .collect::<Vec<_>>(),
        top_n,
    )
    .into_iter()
    .map(ProfileRow::from)
    .collect();
    current.by_metadata = current
        .by_metadata
        .into_iter()
        .map(|breakdown| {
            let before = previous
                .by_metadata
                .iter()
                .find(|b| b.key == breakdown.key)
                .map_or(&[][..], |b| &b.rows[..]);
            MetadataBreakdown {
                rows: compare_rows(breakdown.rows, before, top_n),
                key: breakdown.key,
            }
        })
        .collect();
    let mut series = std::mem::take(&mut current.model_series);
    let early = series
        .last()
        .filter(|s| s.model == OTHER_KEY)
        .is_some()
        .then(|| series.pop().map(|s| s.tokens))
        .flatten();
    current.model_series = fold_series(series, early, top_n);
    current.compare_to = Some(Comparison {
        kind: CompareTo::PreviousPeriod,
        period: previous.period,
        totals: previous.totals,
        change: Change::between(&current.totals, &previous.totals),
        skipped_records: previous.skipped_records,
    });
    add_read(&mut current, previous, "previous period");
    current
}

/// Adds what another read of the same source (the previous period, the days before the
/// period) has to say to `report`: its warnings, said to be about `what` (unless the report
/// already says the same), and its query cost (the report's cost is that of every read, and
/// `--max-scan-gb` bounds that total: the reads shared one meter).
pub(crate) fn add_read(report: &mut UsageReport, other: UsageReport, what: &str) {
    report.query_cost = QueryCost::sum(report.query_cost, other.query_cost);
    for warning in other.warnings {
        if !report.warnings.contains(&warning) {
            report.warnings.push(Warning {
                message: format!("In the {what}: {}", warning.message),
                code: warning.code,
            });
        }
    }
}

/// One breakdown compared; see the module docs for what is shown by name.
fn compare_rows(current: Vec<Row>, previous: &[Row], top_n: usize) -> Vec<Row> {
    let before: HashMap<&str, &Counters> = previous
        .iter()
        .map(|row| (row.key.as_str(), &row.counters))
        .collect();
    let now: HashSet<&str> = current.iter().map(|row| row.key.as_str()).collect();
    let previous_only: Vec<&Row> = previous
        .iter()
        .filter(|row| row.key != OTHER_KEY && !now.contains(row.key.as_str()))
        .take(top_n)
        .collect();
    let mut shown: HashSet<String> = previous_only.iter().map(|r| r.key.clone()).collect();
    let mut rows = Vec::new();
    let mut other_now: Option<Counters> = None;
    let mut named = 0;
    for row in current {
        if row.key != OTHER_KEY && named < top_n {
            named += 1;
            let was = before.get(row.key.as_str()).copied().copied();
            shown.insert(row.key.clone());
            rows.push(compared(row.key, row.counters, was.unwrap_or_default()));
        } else {
            other_now
                .get_or_insert_with(Counters::default)
                .add(&row.counters);
        }
    }
    for row in &previous_only {
        rows.push(compared(row.key.clone(), Counters::default(), row.counters));
    }
    let mut other_before: Option<Counters> = None;
    for row in previous.iter().filter(|row| !shown.contains(&row.key)) {
        other_before
            .get_or_insert_with(Counters::default)
            .add(&row.counters);
    }
    if other_now.is_some() || other_before.is_some() {
        rows.push(compared(
            OTHER_KEY.to_owned(),
            other_now.unwrap_or_default(),
            other_before.unwrap_or_default(),
        ));
    }
    rows
}

fn compared(key: String, counters: Counters, previous: Counters) -> Row {
    Row {
        key,
        change: Some(Change::between(&counters, &previous)),
        counters,
        previous: Some(previous),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(entries: &[(&str, u64)]) -> Vec<Row> {
        entries
            .iter()
            .map(|(key, tokens)| Row::new(*key, Counters::one(*tokens, 0, 0, 0, false)))
            .collect()
    }

    #[test]
    fn folds_on_the_current_ranking_with_early_folds_on_both_sides() {
        // `(other)` already in the unfolded rows: keys folded early (the key budget).
        let current = rows(&[("a", 10), ("b", 5), (OTHER_KEY, 3)]);
        let previous = rows(&[("c", 7), ("a", 2), (OTHER_KEY, 1)]);
        let merged = compare_rows(current, &previous, 1);
        let seen: Vec<(&str, u64, u64, Option<f64>)> = merged
            .iter()
            .map(|r| {
                (
                    r.key.as_str(),
                    r.counters.total_tokens,
                    r.previous.unwrap().total_tokens,
                    r.change.as_ref().unwrap().relative.total_tokens,
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("a", 10, 2, Some(4.0)),
                ("c", 0, 7, Some(-1.0)),
                (OTHER_KEY, 8, 1, Some(7.0)),
            ]
        );
        assert_eq!(merged[2].counters.requests, 2, "b and the early fold");
    }

    #[test]
    fn nothing_folded_means_no_other_entry() {
        let merged = compare_rows(rows(&[("a", 1)]), &rows(&[("a", 0)]), 5);
        assert_eq!(merged.len(), 1);
        assert_eq!(
            merged[0].change.as_ref().unwrap().relative.total_tokens,
            None
        );
    }
}
