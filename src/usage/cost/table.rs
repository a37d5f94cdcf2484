//! The operator's pricing table: prices that win over the AWS Price List where given
//! (negotiated prices, private offers, another currency), a discount on Price List prices, and
//! what the mapping from model ids to Price List products cannot know.
//!
//! JSON; prices are per million tokens, as JSON numbers or decimal strings (read exactly,
//! never as binary floats). A model's `match` is a substring of the logged `modelId`, so
//! `anthropic.claude-3-5-haiku` prices the plain model id, cross-region inference profiles
//! (`us.anthropic…`) and ARNs alike; the longest match wins.
//!
//! ```json
//! { "currency": "USD", "note": "EXAMPLE PRICES, NOT REAL ONES",
//!   "models": [ { "match": "anthropic.claude-3-5-haiku", "input_per_million": 0.8,
//!                 "output_per_million": "4.00", "cache_read_per_million": 0.08,
//!                 "cache_write_per_million": 1.0 } ],
//!   "price_list_discount_percent": 5,
//!   "price_list_names": { "acme.new-model-v1:0":
//!       { "service_code": "AmazonBedrockFoundationModels", "name": "New Model (Amazon Bedrock Edition)" } },
//!   "inference_profiles": { "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/abc":
//!       "us.anthropic.claude-3-5-haiku-20241022-v1:0" } }
//! ```

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use super::catalog::{FIRST_PARTY, MARKETPLACE, Product};
use super::money::Rate;

/// Prices per million tokens of one model family.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    /// A substring of `modelId` this price applies to.
    #[serde(rename = "match")]
    pub pattern: String,
    pub input_per_million: Rate,
    pub output_per_million: Rate,
    #[serde(default)]
    pub cache_read_per_million: Rate,
    #[serde(default)]
    pub cache_write_per_million: Rate,
}

/// The operator's pricing table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricingTable {
    /// ISO 4217 code of the table's prices.
    pub currency: String,
    /// Where the prices come from, shown with every estimate.
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub models: Vec<ModelPrice>,
    /// Taken off every AWS Price List price (0–100; an enterprise discount).
    #[serde(default)]
    pub price_list_discount_percent: u8,
    /// More model id → Price List product mappings (they win over the built-in ones).
    #[serde(default)]
    pub price_list_names: HashMap<String, Product>,
    /// Application inference profile ARN → the model id (or system profile id) it routes to.
    #[serde(default)]
    pub inference_profiles: HashMap<String, String>,
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

/// At most this many entries in each list or map of a table (it is read once, at start-up).
const MAX_ENTRIES: usize = 10_000;

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
        let invalid = |why: String| Err(PricingError::Invalid(why));
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return invalid(format!(
                "currency must be an ISO 4217 code such as USD, not {:?}",
                self.currency
            ));
        }
        if [
            self.models.len(),
            self.price_list_names.len(),
            self.inference_profiles.len(),
        ]
        .iter()
        .any(|n| *n > MAX_ENTRIES)
        {
            return invalid(format!("more than {MAX_ENTRIES} entries in a list"));
        }
        if let Some(price) = self.models.iter().find(|p| p.pattern.is_empty()) {
            return invalid(format!("model {:?}: match is empty", price.pattern));
        }
        if self.price_list_discount_percent > 100 {
            return invalid("price_list_discount_percent must be 0 to 100".into());
        }
        for (id, product) in &self.price_list_names {
            if ![FIRST_PARTY, MARKETPLACE].contains(&product.service_code.as_str())
                || product.name.is_empty()
            {
                return invalid(format!(
                    "price_list_names {id:?}: service_code must be {FIRST_PARTY} or \
                     {MARKETPLACE}, with a name"
                ));
            }
        }
        Ok(())
    }

    /// The price for `model_id`: the entry with the longest matching pattern.
    pub fn price_of(&self, model_id: &str) -> Option<&ModelPrice> {
        self.models
            .iter()
            .filter(|p| model_id.contains(&p.pattern))
            .max_by_key(|p| p.pattern.len())
    }
}

impl ModelPrice {
    /// The rate of `kind` tokens.
    pub fn rate(&self, kind: super::pricelist::TokenKind) -> Rate {
        use super::pricelist::TokenKind::*;
        match kind {
            Input => self.input_per_million,
            Output => self.output_per_million,
            CacheRead => self.cache_read_per_million,
            CacheWrite => self.cache_write_per_million,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_prices_exactly_and_picks_the_longest_match() {
        let table = PricingTable::from_json(
            r#"{"currency":"EUR","models":[
                {"match":"anthropic.claude","input_per_million":1,"output_per_million":2},
                {"match":"anthropic.claude-3-5-haiku","input_per_million":"0.8","output_per_million":4,
                 "cache_read_per_million":0.08}
            ],
            "price_list_names":{"acme.m-v1:0":{"service_code":"AmazonBedrock","name":"M"}},
            "inference_profiles":{"arn:x":"amazon.nova-pro-v1:0"}}"#,
        )
        .unwrap();
        let haiku = table
            .price_of("us.anthropic.claude-3-5-haiku-20241022-v1:0")
            .unwrap();
        assert_eq!(haiku.input_per_million, Rate(800_000));
        assert_eq!(haiku.cache_read_per_million, Rate(80_000));
        assert_eq!(haiku.cache_write_per_million, Rate(0));
        assert_eq!(
            table
                .price_of("anthropic.claude-sonnet")
                .unwrap()
                .input_per_million,
            Rate(1_000_000)
        );
        assert!(table.price_of("amazon.nova-pro-v1:0").is_none());
    }

    #[test]
    fn refuses_bad_tables() {
        for bad in [
            "{}",
            r#"{"currency":"usd"}"#,
            r#"{"currency":"USD","models":[{"match":"x","input_per_million":-1,"output_per_million":1}]}"#,
            r#"{"currency":"USD","models":[{"match":"","input_per_million":1,"output_per_million":1}]}"#,
            r#"{"currency":"USD","models":[],"extra":1}"#,
            r#"{"currency":"USD","price_list_discount_percent":101}"#,
            r#"{"currency":"USD","price_list_names":{"m":{"service_code":"AmazonEC2","name":"x"}}}"#,
        ] {
            assert!(PricingTable::from_json(bad).is_err(), "{bad}");
        }
    }
}
