//! A plain-text rendering of a [`UsageReport`] for people: the MCP tool's text content and
//! the command line.
//!
//! Sections for totals, the time series and each breakdown, as tables with aligned columns
//! and thousands separators.

use std::fmt::Write;

use super::{Counters, Row, UsageReport};

const COLUMNS: [&str; 7] = [
    "Requests",
    "Input",
    "Output",
    "Cache read",
    "Cache write",
    "Total",
    "Errors",
];

/// The longest key a table shows whole, in characters. Keys are the values as logged (a
/// `modelId`, an `identity.arn`) and a log can hold anything: a longer one is cut, with `…`, so
/// that one absurd key neither stretches every line of its table nor exceeds what a format
/// width can be (a width over 65,535 panics). The JSON report keeps every key whole.
pub(crate) const MAX_SHOWN_KEY_CHARS: usize = 120;

/// `key` as a text table shows it: control characters escaped (`\n` as the two characters
/// `\` `n`), so that a logged value cannot end its line and forge lines of the report; then
/// whole up to [`MAX_SHOWN_KEY_CHARS`], else cut with `…`.
pub(crate) fn shown_key(key: &str) -> std::borrow::Cow<'_, str> {
    crate::usage::record::clean_text(key, MAX_SHOWN_KEY_CHARS)
}

/// Renders `report` as aligned text tables.
pub fn render_text(report: &UsageReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Amazon Bedrock usage from {} to {} (UTC, end excluded)",
        report.period.start, report.period.end
    );
    let mut source = format!("Source: {}", report.source.kind.as_str());
    if let Some(group) = &report.source.log_group {
        let _ = write!(source, ", log group {group}");
    }
    if let Some(region) = &report.source.region {
        let _ = write!(source, ", region {region}");
    }
    out.push_str(&source);
    out.push('\n');
    let _ = writeln!(
        out,
        "Skipped records: {}",
        thousands(report.skipped_records)
    );
    for warning in &report.warnings {
        let _ = writeln!(out, "\nWARNING ({}): {}", warning.code, warning.message);
    }
    super::query_cost::render_text(report, &mut out);
    super::sources::render_text(&report.sources, &mut out);

    out.push_str("\nTotals\n");
    let t = &report.totals;
    let totals = [
        ("Requests", t.requests),
        ("Input tokens", t.input_tokens),
        ("Output tokens", t.output_tokens),
        ("Cache read input tokens", t.cache_read_input_tokens),
        ("Cache write input tokens", t.cache_write_input_tokens),
        ("Total tokens", t.total_tokens),
        ("Errors", t.errors),
    ];
    let label_width = totals.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    let value_width = totals
        .iter()
        .map(|(_, v)| thousands(*v).len())
        .max()
        .unwrap_or(0);
    for (label, value) in totals {
        let _ = writeln!(
            out,
            "  {label:<label_width$}  {:>value_width$}",
            thousands(value)
        );
    }
    super::change_text::sections(&mut out, report);

    let hourly = report.daily.first().is_some_and(|r| r.key.contains('T'));
    let (series_title, series_key) = if hourly {
        ("Hourly", "Hour (UTC)")
    } else {
        ("Daily", "Day (UTC)")
    };
    table(&mut out, series_title, series_key, &report.daily);
    table(&mut out, "By region", "Region", &report.by_region);
    table(&mut out, "By model", "Model", &report.by_model);
    table(&mut out, "By user", "User", &report.by_user);
    table(&mut out, "By operation", "Operation", &report.by_operation);
    table(
        &mut out,
        "By inference region",
        "Inference region",
        &report.by_inference_region,
    );
    super::profiles::render_text(&mut out, &report.by_inference_profile);
    for breakdown in &report.by_metadata {
        let title = format!("By metadata {}", shown_key(&breakdown.key));
        table(&mut out, &title, "Value", &breakdown.rows);
    }
    out
}

/// Appends one titled table of rows; rows compared with a previous period (`compare_to`) get
/// its total, the change and the change in percent.
pub(super) fn table(out: &mut String, title: &str, key_header: &str, rows: &[Row]) {
    let _ = write!(out, "\n{title}\n");
    if rows.is_empty() {
        out.push_str("  (none)\n");
        return;
    }
    let compared = rows.iter().any(|r| r.change.is_some());
    let mut headers = COLUMNS.to_vec();
    if compared {
        headers.extend(super::change_text::COMPARED_COLUMNS);
    }
    let lines = rows
        .iter()
        .map(|r| {
            let mut cells = number_cells(&r.counters).to_vec();
            if compared {
                cells.extend(super::change_text::compared_cells(r));
            }
            (shown_key(&r.key), cells)
        })
        .collect();
    grid(out, key_header, &headers, lines);
}

/// Appends aligned lines: a header line, then one line per row, keys left-aligned under
/// `key_header` and cells right-aligned under `headers`.
pub(super) fn grid(
    out: &mut String,
    key_header: &str,
    headers: &[&str],
    rows: Vec<(std::borrow::Cow<'_, str>, Vec<String>)>,
) {
    let key_width = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .chain([key_header.len()])
        .max()
        .unwrap_or(0);
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for (_, cells) in &rows {
        for (w, cell) in widths.iter_mut().zip(cells) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut line = format!("  {key_header:<key_width$}");
    for (header, w) in headers.iter().zip(&widths) {
        let _ = write!(line, "  {header:>w$}");
    }
    out.push_str(line.trim_end());
    out.push('\n');
    for (key, cells) in &rows {
        let mut line = format!("  {key:<key_width$}");
        for (cell, w) in cells.iter().zip(&widths) {
            let _ = write!(line, "  {cell:>w$}");
        }
        out.push_str(&line);
        out.push('\n');
    }
}

fn number_cells(c: &Counters) -> [String; 7] {
    [
        c.requests,
        c.input_tokens,
        c.output_tokens,
        c.cache_read_input_tokens,
        c.cache_write_input_tokens,
        c.total_tokens,
        c.errors,
    ]
    .map(thousands)
}

/// `1234567` as `1,234,567`.
pub(super) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn long_keys_are_cut_for_people_only() {
        assert_eq!(shown_key("short"), "short");
        let exact = "é".repeat(MAX_SHOWN_KEY_CHARS);
        assert_eq!(shown_key(&exact), exact);
        let long = "é".repeat(70_000);
        let shown = shown_key(&long);
        assert_eq!(shown.chars().count(), MAX_SHOWN_KEY_CHARS);
        assert!(shown.ends_with('…'));
    }

    #[test]
    fn control_characters_cannot_forge_lines() {
        // Found by tests/fuzz_usage_records.rs: a region of "\r" or "\u{1b}[2J" reached the text.
        assert_eq!(shown_key("us-east-1\nTotals"), "us-east-1\\nTotals");
        assert_eq!(shown_key("\u{1b}[2J\r"), "\\u{1b}[2J\\r");
        let long = format!("{}\n", "x".repeat(200));
        assert_eq!(shown_key(&long).chars().count(), MAX_SHOWN_KEY_CHARS);
        assert!(!shown_key(&long).contains('\n'));
    }
}
