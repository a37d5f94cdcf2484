//! Several sources' reports of one read (same query, read unfolded) summed into one, folded
//! to the query's `top_n` as one source's report would be: the same numbers as one source
//! reading all their records, because every breakdown is a sum by key and the sources' records
//! are disjoint.

use std::collections::HashMap;

use crate::usage::aggregate::{fold_rows, series_by_model};
use crate::usage::report::{
    Counters, MetadataBreakdown, ModelSeries, ProfileRow, QueryCost, Row, UsageReport,
};

/// `reports` (at least one; all of the same query, read with every key kept) as one report
/// folded to `top_n`. `None` when there is no report.
pub(super) fn merge(reports: Vec<UsageReport>, top_n: usize) -> Option<UsageReport> {
    let mut reports = reports.into_iter();
    let first = reports.next()?;
    let mut acc = Acc::from(first);
    for report in reports {
        acc.add(report);
    }
    Some(acc.finish(top_n))
}

/// Rows summed by key.
#[derive(Default)]
struct Sums(HashMap<String, Counters>);

impl Sums {
    fn add(&mut self, rows: Vec<Row>) {
        for row in rows {
            self.0.entry(row.key).or_default().add(&row.counters);
        }
    }

    fn of(rows: Vec<Row>) -> Self {
        let mut sums = Sums::default();
        sums.add(rows);
        sums
    }
}

struct Acc {
    report: UsageReport,
    by_region: Sums,
    by_model: Sums,
    by_user: Sums,
    by_operation: Sums,
    by_inference_region: Sums,
    by_metadata: Vec<(String, Sums)>,
    by_inference_profile: Sums,
    all_models: Sums,
    series: HashMap<Box<str>, Vec<u64>>,
}

impl From<UsageReport> for Acc {
    fn from(mut report: UsageReport) -> Self {
        let mut acc = Acc {
            by_region: Sums::of(std::mem::take(&mut report.by_region)),
            by_model: Sums::of(std::mem::take(&mut report.by_model)),
            by_user: Sums::of(std::mem::take(&mut report.by_user)),
            by_operation: Sums::of(std::mem::take(&mut report.by_operation)),
            by_inference_region: Sums::of(std::mem::take(&mut report.by_inference_region)),
            by_metadata: std::mem::take(&mut report.by_metadata)
                .into_iter()
                .map(|b| (b.key, Sums::of(b.rows)))
                .collect(),
            by_inference_profile: Sums::of(
                std::mem::take(&mut report.by_inference_profile)
                    .into_iter()
                    .map(|p| p.row)
                    .collect(),
            ),
            all_models: Sums::of(std::mem::take(&mut report.all_models)),
            series: HashMap::new(),
            report,
        };
        let series = std::mem::take(&mut acc.report.model_series);
        acc.add_series(series);
        acc
    }
}

impl Acc {
    fn add_series(&mut self, series: Vec<ModelSeries>) {
        for line in series {
            let slot = self
                .series
                .entry(line.model.into())
                .or_insert_with(|| vec![0; line.tokens.len()]);
            for (cell, tokens) in slot.iter_mut().zip(line.tokens) {
                *cell = cell.saturating_add(tokens);
            }
        }
    }

    /// Adds another source's report of the same read. Every field is named, so that a field
    /// added to reports cannot be left out of the merge unnoticed.
    fn add(&mut self, other: UsageReport) {
        let UsageReport {
            source: _,
            period: _,
            totals,
            daily,
            by_region,
            by_model,
            by_user,
            by_operation,
            by_inference_region,
            by_metadata,
            by_inference_profile,
            skipped_records,
            warnings,
            query_cost,
            limitations,
            sources: _,
            compare_to: _,
            anomalies: _,
            model_series,
            all_models,
            cost_cells,
            key_series,
            // Resolved above the source (the report tool), from the merged breakdown.
            inference_profiles: _,
        } = other;
        let report = &mut self.report;
        report.totals.add(&totals);
        for (row, add) in report.daily.iter_mut().zip(daily) {
            row.counters.add(&add.counters);
        }
        self.by_region.add(by_region);
        self.by_model.add(by_model);
        self.by_user.add(by_user);
        self.by_operation.add(by_operation);
        self.by_inference_region.add(by_inference_region);
        for breakdown in by_metadata {
            match self
                .by_metadata
                .iter_mut()
                .find(|(k, _)| *k == breakdown.key)
            {
                Some((_, sums)) => sums.add(breakdown.rows),
                None => self
                    .by_metadata
                    .push((breakdown.key, Sums::of(breakdown.rows))),
            }
        }
        self.by_inference_profile
            .add(by_inference_profile.into_iter().map(|p| p.row).collect());
        report.skipped_records = report.skipped_records.saturating_add(skipped_records);
        for warning in warnings {
            if !report.warnings.contains(&warning) {
                report.warnings.push(warning);
            }
        }
        report.query_cost = QueryCost::sum(report.query_cost, query_cost);
        for limitation in limitations {
            if !report.limitations.contains(&limitation) {
                report.limitations.push(limitation);
            }
        }
        report.cost_cells.merge(cost_cells);
        self.add_series(model_series);
        self.all_models.add(all_models);
        let report = &mut self.report;
        report.key_series = match (report.key_series.take(), key_series) {
            (Some(mut a), Some(b)) => {
                a.merge(b);
                Some(a)
            }
            (a, b) => a.or(b),
        };
    }

    fn finish(self, top_n: usize) -> UsageReport {
        let mut report = self.report;
        report.by_region = fold_rows(self.by_region.0, top_n);
        report.by_model = fold_rows(self.by_model.0, top_n);
        report.by_user = fold_rows(self.by_user.0, top_n);
        report.by_operation = fold_rows(self.by_operation.0, top_n);
        report.by_inference_region = fold_rows(self.by_inference_region.0, top_n);
        report.by_metadata = self
            .by_metadata
            .into_iter()
            .map(|(key, sums)| MetadataBreakdown {
                key,
                rows: fold_rows(sums.0, top_n),
            })
            .collect();
        report.by_inference_profile = fold_rows(self.by_inference_profile.0, top_n)
            .into_iter()
            .map(ProfileRow::from)
            .collect();
        report.all_models = fold_rows(self.all_models.0, usize::MAX);
        report.model_series = series_by_model(self.series, top_n);
        report
    }
}
