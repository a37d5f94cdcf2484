//! The "what changed" parts of the text report: the comparison's columns in breakdown tables,
//! the comparison of totals, and the anomalies with their evidence.

use std::borrow::Cow;
use std::fmt::Write;

use super::text::{grid, shown_key, thousands};
use super::{Change, Row, UsageReport};

/// The columns a compared breakdown table adds (about `total_tokens`).
pub(super) const COMPARED_COLUMNS: [&str; 3] = ["Previous total", "Change", "Change %"];

/// A compared row's cells under [`COMPARED_COLUMNS`].
pub(super) fn compared_cells(row: &Row) -> [String; 3] {
    let previous = row.previous.unwrap_or_default();
    let change = row
        .change
        .clone()
        .unwrap_or_else(|| Change::between(&row.counters, &previous));
    [
        thousands(previous.total_tokens),
        signed(change.absolute.total_tokens),
        percent(change.relative.total_tokens),
    ]
}

/// `+1,234`, `-1,234` or `0`.
fn signed(n: i64) -> String {
    let digits = thousands(n.unsigned_abs());
    match n.signum() {
        1 => format!("+{digits}"),
        -1 => format!("-{digits}"),
        _ => digits,
    }
}

/// `+25.0%`, `-100.0%`, or `new` when there was nothing before.
fn percent(relative: Option<f64>) -> String {
    match relative {
        Some(r) => format!("{:+.1}%", r * 100.0),
        None => "new".to_owned(),
    }
}

/// Appends the comparison of totals and the anomalies, where the report has them.
pub(super) fn sections(out: &mut String, report: &UsageReport) {
    if let Some(comparison) = &report.compare_to {
        let _ = write!(
            out,
            "\nCompared with the previous period, {} to {}\n",
            comparison.period.start, comparison.period.end
        );
        let (t, p) = (&report.totals, &comparison.totals);
        let (a, r) = (&comparison.change.absolute, &comparison.change.relative);
        let rows = [
            ("Requests", t.requests, p.requests, a.requests, r.requests),
            (
                "Input tokens",
                t.input_tokens,
                p.input_tokens,
                a.input_tokens,
                r.input_tokens,
            ),
            (
                "Output tokens",
                t.output_tokens,
                p.output_tokens,
                a.output_tokens,
                r.output_tokens,
            ),
            (
                "Cache read input tokens",
                t.cache_read_input_tokens,
                p.cache_read_input_tokens,
                a.cache_read_input_tokens,
                r.cache_read_input_tokens,
            ),
            (
                "Cache write input tokens",
                t.cache_write_input_tokens,
                p.cache_write_input_tokens,
                a.cache_write_input_tokens,
                r.cache_write_input_tokens,
            ),
            (
                "Total tokens",
                t.total_tokens,
                p.total_tokens,
                a.total_tokens,
                r.total_tokens,
            ),
            ("Errors", t.errors, p.errors, a.errors, r.errors),
        ]
        .into_iter()
        .map(|(label, now, before, absolute, relative)| {
            (
                Cow::Borrowed(label),
                vec![
                    thousands(now),
                    thousands(before),
                    signed(absolute),
                    percent(relative),
                ],
            )
        })
        .collect();
        grid(
            out,
            "Counter",
            &["This period", "Previous", "Change", "Change %"],
            rows,
        );
    }
    let Some(anomalies) = &report.anomalies else {
        return;
    };
    out.push_str("\nAnomalies\n");
    if anomalies.items.is_empty() {
        out.push_str("  (none: nothing jumped above its baseline)\n");
    } else {
        let rows = anomalies
            .items
            .iter()
            .map(|a| {
                let what = match (&a.metadata_key, &a.key) {
                    (Some(meta), Some(key)) => format!("metadata {meta}={}", shown_key(key)),
                    (_, Some(key)) => format!("{} {}", a.dimension, shown_key(key)),
                    (_, None) => "all usage".to_owned(),
                };
                (
                    Cow::Owned(what),
                    vec![
                        a.day.clone(),
                        a.metric.clone(),
                        thousands(a.value),
                        decimal(a.median),
                        decimal(a.mad),
                        decimal(a.threshold),
                    ],
                )
            })
            .collect();
        grid(
            out,
            "What",
            &["Day (UTC)", "Metric", "Value", "Median", "MAD", "Threshold"],
            rows,
        );
    }
    let _ = writeln!(out, "\nAnomaly rule: {}", anomalies.rule.description);
    if anomalies.omitted > 0 {
        let _ = writeln!(out, "{} more flagged, not listed.", anomalies.omitted);
    }
    if anomalies.untracked_records > 0 {
        let _ = writeln!(
            out,
            "{} records had a model, user or metadata value not evaluated (too many distinct \
             values); day totals include them.",
            thousands(anomalies.untracked_records)
        );
    }
}

/// A median or threshold: whole numbers with thousands separators, else one decimal.
fn decimal(x: f64) -> String {
    if x.fract() == 0.0 && x >= 0.0 && x < u64::MAX as f64 {
        thousands(x as u64)
    } else {
        format!("{x:.1}")
    }
}
