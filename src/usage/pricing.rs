//! Cost estimates from a pricing table the operator supplies. No price is built into the
//! binary: Bedrock prices differ by region, change over time and depend on agreements, so only
//! the operator knows the right ones.
//!
//! The table is JSON: a currency, a note, and per-model prices per million tokens. A model's
//! `match` is a substring of the logged `modelId`, so `anthropic.claude-3-5-haiku` prices the
//! plain model id, cross-region inference profiles (`us.anthropic…`) and ARNs alike; the
//! longest match wins.
//!
//! ```json
//! { "currency": "USD", "note": "EXAMPLE PRICES, NOT REAL ONES",
//!   "models": [ { "match": "anthropic.claude-3-5-haiku", "input_per_million": 0.8,
//!                 "output_per_million": 4.0, "cache_read_per_million": 0.08,
//!                 "cache_write_per_million": 1.0 } ] }
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::report::{Row, UsageReport};

/// Prices per million tokens of one model family.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    /// A substring of `modelId` this price applies to.
    #[serde(rename = "match")]
    pub pattern: String,
    pub input_per_million: f64,
    pub output_per_million: f64,
    #[serde(default)]
    pub cache_read_per_million: f64,
    #[serde(default)]
    pub cache_write_per_million: f64,
}

/// The operator's pricing table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricingTable {
    pub currency: String,
    /// Where the prices come from, shown with every estimate.
    #[serde(default)]
    pub note: Option<String>,
    pub models: Vec<ModelPrice>,
}

/// Why a pricing table was refused.
#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    #[error("cannot read the pricing table {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the pricing table is not valid: {0}")]
    Invalid(String),
}

/// What the usage cost, by the table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostEstimate {
    pub currency: String,
    pub note: Option<String>,
    /// The sum over priced models.
    pub total: f64,
    /// Cost per priced model, biggest first.
    pub by_model: Vec<ModelCost>,
    /// Models the table has no price for (their tokens are not in `total`).
    pub unpriced_models: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelCost {
    pub key: String,
    pub cost: f64,
}

impl PricingTable {
    pub fn from_json(text: &str) -> Result<Self, PricingError> {
        let table: PricingTable =
            serde_json::from_str(text).map_err(|e| PricingError::Invalid(e.to_string()))?;
        table.validate()?;
        Ok(table)
    }

    pub fn from_file(path: &Path) -> Result<Self, PricingError> {
        let text = std::fs::read_to_string(path).map_err(|source| PricingError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&text)
    }

    fn validate(&self) -> Result<(), PricingError> {
        if self.currency.trim().is_empty() {
            return Err(PricingError::Invalid("currency is empty".into()));
        }
        for price in &self.models {
            let all = [
                price.input_per_million,
                price.output_per_million,
                price.cache_read_per_million,
                price.cache_write_per_million,
            ];
            if price.pattern.is_empty() || all.iter().any(|p| !p.is_finite() || *p < 0.0) {
                return Err(PricingError::Invalid(format!(
                    "model {:?}: a match and non-negative prices are required",
                    price.pattern
                )));
            }
        }
        Ok(())
    }

    /// The price for `model_id`: the entry with the longest matching pattern.
    pub(crate) fn price_of(&self, model_id: &str) -> Option<&ModelPrice> {
        self.models
            .iter()
            .filter(|p| model_id.contains(&p.pattern))
            .max_by_key(|p| p.pattern.len())
    }

    /// Prices every model of `report` (its unfolded per-model counters).
    pub fn estimate(&self, report: &UsageReport) -> CostEstimate {
        let mut by_model = Vec::new();
        let mut unpriced = Vec::new();
        for row in &report.all_models {
            match self.price_of(&row.key) {
                Some(price) => by_model.push(ModelCost {
                    key: row.key.clone(),
                    cost: cost_of(row, price),
                }),
                None if row.counters.total_tokens > 0 => unpriced.push(row.key.clone()),
                None => {}
            }
        }
        by_model.sort_by(|a, b| b.cost.total_cmp(&a.cost).then_with(|| a.key.cmp(&b.key)));
        CostEstimate {
            currency: self.currency.clone(),
            note: self.note.clone(),
            total: by_model.iter().map(|m| m.cost).sum(),
            by_model,
            unpriced_models: unpriced,
        }
    }
}

fn cost_of(row: &Row, price: &ModelPrice) -> f64 {
    let c = &row.counters;
    (c.input_tokens as f64 * price.input_per_million
        + c.output_tokens as f64 * price.output_per_million
        + c.cache_read_input_tokens as f64 * price.cache_read_per_million
        + c.cache_write_input_tokens as f64 * price.cache_write_per_million)
        / 1_000_000.0
}

impl CostEstimate {
    /// A readable section for the text report.
    pub fn render_text(&self) -> String {
        let mut out = format!("Estimated cost ({})\n", self.currency);
        if let Some(note) = &self.note {
            out.push_str(&format!("  Prices: {note}\n"));
        }
        for model in &self.by_model {
            let key = super::report::shown_key(&model.key);
            out.push_str(&format!("  {key:<60} {:>12.2}\n", model.cost));
        }
        out.push_str(&format!("  {:<60} {:>12.2}\n", "Total", self.total));
        if !self.unpriced_models.is_empty() {
            out.push_str(&format!(
                "  Not priced (no entry in the table): {}\n",
                self.unpriced_models.join(", ")
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::report::Counters;

    fn row(key: &str, input: u64, output: u64) -> Row {
        Row::new(key, Counters::one(input, output, 0, 0, false))
    }

    #[test]
    fn prices_by_longest_match_and_lists_unpriced_models() {
        let table = PricingTable::from_json(
            r#"{"currency":"USD","models":[
                {"match":"anthropic.claude","input_per_million":1,"output_per_million":2},
                {"match":"anthropic.claude-3-5-haiku","input_per_million":0.5,"output_per_million":1}
            ]}"#,
        )
        .unwrap();
        let report = UsageReport {
            all_models: vec![
                row("us.anthropic.claude-3-5-haiku-v1:0", 2_000_000, 1_000_000),
                row("anthropic.claude-sonnet", 1_000_000, 0),
                row("amazon.nova-pro-v1:0", 10, 10),
            ],
            ..crate::usage::source::synthetic::empty_report()
        };
        let estimate = table.estimate(&report);
        assert_eq!(estimate.by_model[0].cost, 2.0);
        assert_eq!(estimate.by_model[1].cost, 1.0);
        assert_eq!(estimate.total, 3.0);
        assert_eq!(estimate.unpriced_models, ["amazon.nova-pro-v1:0"]);
    }

    #[test]
    fn refuses_bad_tables() {
        assert!(PricingTable::from_json("{}").is_err());
        assert!(PricingTable::from_json(r#"{"currency":"USD","models":[{"match":"x","input_per_million":-1,"output_per_million":1}]}"#).is_err());
        assert!(PricingTable::from_json(r#"{"currency":"USD","models":[],"extra":1}"#).is_err());
    }
}
