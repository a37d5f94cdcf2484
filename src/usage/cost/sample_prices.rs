//! The `synthetic-sample` price source: made-up token prices for the models of the bundled
//! sample dataset, so that `cargo run` with no AWS account shows what a priced report looks
//! like. They price **only** reports whose source is the bundled sample
//! ([`SourceKind::BundledSample`](crate::usage::SourceKind)): the estimator checks the report's
//! source before using them, so real data (a file, CloudWatch) is never priced by them and
//! "no price is compiled in" stays true for it. They stand in for the AWS Price List, so the
//! operator's table still wins and `--price-list on` takes precedence.
//!
//! The figures are illustrative round numbers of the order of 2025 list prices, not AWS's
//! prices, and every place they appear says so ([`NOTE`]).

use super::money::Rate;

/// The `source` of a price from this table, in `price_sources`.
pub const SOURCE: &str = "synthetic-sample";

/// Shown with every estimate priced by this table, as loudly as the sample announces itself.
pub const NOTE: &str = "SYNTHETIC SAMPLE PRICES: made-up prices for the bundled sample \
dataset, not AWS's; used only with the bundled sample, never for real data";

/// Base model id (no profile prefix) → micro-units per million tokens: input, output, cache
/// read, cache write. Cache reads are a tenth of input and cache writes 1.25 times input
/// (none for Nova, which charges no cache write), as on Bedrock's pricing page.
const PRICES: [(&str, [u64; 4]); 5] = [
    (
        "anthropic.claude-sonnet-4-20250514-v1:0",
        [3_000_000, 15_000_000, 300_000, 3_750_000],
    ),
    (
        "anthropic.claude-3-5-haiku-20241022-v1:0",
        [800_000, 4_000_000, 80_000, 1_000_000],
    ),
    ("amazon.nova-pro-v1:0", [800_000, 3_200_000, 200_000, 0]),
    (
        "meta.llama3-3-70b-instruct-v1:0",
        [720_000, 720_000, 72_000, 900_000],
    ),
    (
        "cohere.command-r-plus-v1:0",
        [3_000_000, 15_000_000, 300_000, 3_750_000],
    ),
];

/// The synthetic rates (input, output, cache read, cache write) of `base_model_id`, in every
/// region and for every routing (plain id, `us.` profile).
pub fn rates(base_model_id: &str) -> Option<[Rate; 4]> {
    PRICES
        .iter()
        .find(|(id, _)| *id == base_model_id)
        .map(|(_, rates)| rates.map(Rate))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::cost::catalog;
    use crate::usage::cost::model_ref::{self, ModelRef};
    use crate::usage::source::synthetic::MODELS;

    /// Every foundation model the sample logs has a synthetic price and a Price List product
    /// (which the reconciliation with the synthetic bill goes by); the application profile
    /// has neither here.
    #[test]
    fn every_sample_model_is_priced_and_mapped() {
        for model in MODELS {
            match model_ref::parse(model) {
                ModelRef::Model { base, .. } => {
                    assert!(rates(base).is_some(), "{model}");
                    assert!(catalog::builtin(base).is_some(), "{model}");
                }
                ModelRef::ApplicationProfile(_) => {}
                ModelRef::Other(other) => panic!("{other}"),
            }
        }
        assert_eq!(
            rates("amazon.nova-pro-v1:0"),
            Some([Rate(800_000), Rate(3_200_000), Rate(200_000), Rate(0)])
        );
        assert_eq!(rates("anthropic.claude-unknown"), None);
        assert_eq!(PRICES.len(), MODELS.len() - 1);
    }
}
