//! What a Logs Insights report may cost: the price per GB scanned its `query_cost` uses, and
//! the operator's cap on GB scanned per report.

use clap::Args;

use crate::usage::source::cloudwatch::{DEFAULT_PRICE_PER_GB, InsightsOptions};

/// Flags for the cost of Logs Insights reports. Every flag has an environment equivalent.
#[derive(Debug, Clone, Args)]
pub struct ScanCostArgs {
    /// USD per GB (10^9 bytes) Logs Insights scans, for the report's query_cost. Default: 0.005,
    /// the US East (N. Virginia) price on AWS's CloudWatch pricing page; other regions charge
    /// more (e.g. Tokyo 0.0076).
    #[arg(long, env = "BEDROCK_INSIGHTS_PRICE_PER_GB", default_value_t = DEFAULT_PRICE_PER_GB)]
    pub insights_price_per_gb: f64,

    /// The most GB (10^9 bytes) one report's Logs Insights queries may scan, all its reads
    /// together (compare_to and anomalies read more periods): a report whose low estimate
    /// (the log group's stored bytes for the periods it reads) passes it is refused before
    /// any query, and one whose queries pass it is stopped (StopQuery) with a tool error that
    /// says how much was scanned. Default: no cap.
    #[arg(long, env = "BEDROCK_MAX_SCAN_GB")]
    pub max_scan_gb: Option<f64>,
}

impl ScanCostArgs {
    /// The Insights options with this price and cap, or why they cannot be used.
    pub fn insights_options(&self) -> Result<InsightsOptions, String> {
        let price = self.insights_price_per_gb;
        if !(price.is_finite() && price >= 0.0) {
            return Err(format!(
                "--insights-price-per-gb must be a price of 0 or more, got {price}"
            ));
        }
        if let Some(cap) = self.max_scan_gb
            && !(cap.is_finite() && cap > 0.0)
        {
            return Err(format!(
                "--max-scan-gb must be a number of GB above 0, got {cap}"
            ));
        }
        Ok(InsightsOptions {
            price_per_gb: price,
            max_scan_gb: self.max_scan_gb,
            ..InsightsOptions::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        cost: ScanCostArgs,
    }

    fn options(args: &[&str]) -> Result<InsightsOptions, String> {
        Cli::try_parse_from(std::iter::once("test").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?
            .cost
            .insights_options()
    }

    #[test]
    fn the_price_defaults_to_us_east_and_the_cap_is_off() {
        let default = options(&[]).unwrap();
        assert_eq!(default.price_per_gb, 0.005);
        assert_eq!(default.max_scan_gb, None);
        let set = options(&["--insights-price-per-gb", "0.0076", "--max-scan-gb", "2.5"]).unwrap();
        assert_eq!(set.price_per_gb, 0.0076);
        assert_eq!(set.max_scan_gb, Some(2.5));
        for bad in [
            &["--max-scan-gb", "0"][..],
            &["--max-scan-gb", "-1"],
            &["--max-scan-gb", "NaN"],
            &["--insights-price-per-gb", "-0.1"],
            &["--insights-price-per-gb", "inf"],
            &["--max-scan-gb", "lots"],
        ] {
            assert!(options(bad).is_err(), "{bad:?} accepted");
        }
    }
}
