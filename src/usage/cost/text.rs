//! The estimated cost as a section of the text report.

use super::billed::BilledCost;
use super::estimate::{CostRow, EstimatedCost};
use super::sample_prices;
use crate::usage::report::shown_key;

/// Callers and days shown in the text section (the JSON has them all).
const SHOWN_ROWS: usize = 10;

impl EstimatedCost {
    /// A readable section for the text report.
    pub fn render_text(&self) -> String {
        let mut out = format!(
            "Estimated cost ({}, from the logs' token counts)\n",
            self.currency
        );
        if (self.price_sources.iter()).any(|s| s.source == sample_prices::SOURCE) {
            out.push_str(
                "  *** SYNTHETIC SAMPLE PRICES (bundled sample only): not AWS's prices ***\n",
            );
        }
        if let Some(note) = &self.note {
            out.push_str(&format!("  Prices: {note}\n"));
        }
        table(&mut out, "By model", &self.by_model, usize::MAX);
        out.push_str(&format!(
            "  {:<60} {:>14}\n",
            "Total",
            self.total.to_string()
        ));
        table(&mut out, "By caller", &self.by_user, SHOWN_ROWS);
        let busiest: Vec<CostRow> = {
            let mut days: Vec<CostRow> = self.daily.clone();
            days.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.key.cmp(&b.key)));
            days.truncate(3);
            days
        };
        table(&mut out, "Costliest days", &busiest, 3);
        if !self.price_sources.is_empty() {
            out.push_str(
                "  Prices used (per million tokens: input / output / cache read / cache write)\n",
            );
            for s in &self.price_sources {
                let origin = match (&s.product, &s.file_match) {
                    (Some(product), _) if s.source == sample_prices::SOURCE => {
                        format!("SYNTHETIC sample price, {:?}", product.name)
                    }
                    (Some(product), _) => format!(
                        "AWS Price List {} {:?} {}{}",
                        product.service_code,
                        product.name,
                        s.scope.unwrap_or_default(),
                        s.publication_date
                            .as_deref()
                            .map(|d| format!(", published {d}"))
                            .unwrap_or_default()
                    ),
                    (None, Some(pattern)) => format!("pricing table, match {pattern:?}"),
                    (None, None) => s.source.to_owned(),
                };
                let r = &s.rates_per_million;
                out.push_str(&format!(
                    "    {} in {}: {} / {} / {} / {} ({origin})\n",
                    shown_key(&s.model),
                    s.region,
                    r.input,
                    r.output,
                    r.cache_read,
                    r.cache_write
                ));
            }
        }
        if !self.unpriced_models.is_empty() {
            out.push_str("  Not priced (their tokens are not in the total):\n");
            for u in &self.unpriced_models {
                out.push_str(&format!(
                    "    {} in {} ({} tokens): {}\n",
                    shown_key(&u.model),
                    shown_key(&u.region),
                    u.tokens,
                    u.reason
                ));
            }
        }
        out
    }
}

impl BilledCost {
    /// A readable section for the text report: the bill, the days not final yet, and the
    /// biggest drifts.
    pub fn render_text(&self) -> String {
        let origin = if self.source == super::billed::sample::SOURCE {
            "SYNTHETIC SAMPLE BILL, not Cost Explorer"
        } else {
            "Cost Explorer"
        };
        let mut out = format!(
            "Billed cost ({}, {origin}; final through {})\n",
            self.currency,
            self.final_through.as_deref().unwrap_or("no day yet")
        );
        if let Some(note) = &self.note {
            out.push_str(&format!("  *** {note} ***\n"));
        }
        out.push_str(&format!(
            "  {:<60} {:>14}\n",
            "Total",
            self.total.to_string()
        ));
        let open: Vec<&str> = (self.daily.iter())
            .filter(|d| !d.is_final)
            .map(|d| d.key.as_str())
            .collect();
        if !open.is_empty() {
            out.push_str(&format!(
                "  Not final yet (Cost Explorer may still change them): {}\n",
                open.join(", ")
            ));
        }
        let mut drifts: Vec<_> = self.reconciliation.iter().collect();
        drifts.sort_by_key(|r| std::cmp::Reverse(r.drift.0.unsigned_abs()));
        if !drifts.is_empty() {
            out.push_str("  Largest drifts (billed - estimated)\n");
            for r in drifts.iter().take(SHOWN_ROWS) {
                out.push_str(&format!(
                    "    {} {:<45} est {:>12} billed {:>12} drift {:>12}{}{}\n",
                    r.day,
                    shown_key(&r.product),
                    r.estimated.to_string(),
                    r.billed.to_string(),
                    r.drift.to_string(),
                    r.drift_percent
                        .as_deref()
                        .map(|p| format!(" ({p}%)"))
                        .unwrap_or_default(),
                    if r.is_final { "" } else { " (not final)" }
                ));
            }
        }
        out
    }
}

fn table(out: &mut String, title: &str, rows: &[CostRow], limit: usize) {
    if rows.is_empty() {
        return;
    }
    out.push_str(&format!("  {title}\n"));
    for row in rows.iter().take(limit) {
        out.push_str(&format!(
            "    {:<58} {:>14}\n",
            shown_key(&row.key),
            row.cost.to_string()
        ));
    }
    if rows.len() > limit {
        out.push_str(&format!(
            "    ... {} more in the JSON report\n",
            rows.len() - limit
        ));
    }
}
