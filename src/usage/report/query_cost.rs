//! What producing a report cost and what it could not give: the Logs Insights bytes scanned
//! and their price (`query_cost`), and the breakdowns a source cannot fill (`limitations`).

use serde::{Deserialize, Serialize};

use crate::usage::cost::money::{Exact, Micros};

/// Bytes in the GB that Logs Insights prices are quoted in. Decimal (10^9): if AWS counts
/// 2^30, the estimate is about 7% high and a `--max-scan-gb` cap trips early, never late.
pub const BYTES_PER_GB: f64 = 1e9;

/// What the Logs Insights queries of one report scanned and what that costs.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct QueryCost {
    /// `statistics.bytesScanned` summed over every query of the report, those split for
    /// truncation and those stopped included (each was billed).
    pub bytes_scanned: u64,
    /// Queries started.
    pub queries: u64,
    /// The price per GB scanned the estimate uses (`--insights-price-per-gb`).
    pub price_per_gb: f64,
    /// The currency of `price_per_gb` and `estimated_cost`: USD, as AWS quotes it.
    pub currency: Currency,
    /// `bytes_scanned / 10^9 * price_per_gb`, exactly, rounded half up to the micro-unit:
    /// a decimal string with six decimals, like every other amount of money in a report.
    pub estimated_cost: Micros,
    /// The operator's cap on GB scanned per report, all its reads together
    /// (`--max-scan-gb`), if any.
    pub max_scan_gb: Option<f64>,
}

/// The currency of a query cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Currency {
    /// US dollars.
    #[serde(rename = "USD")]
    Usd,
}

impl QueryCost {
    /// The cost of `bytes_scanned` over `queries` at `price_per_gb`, under `max_scan_gb`.
    pub fn new(
        bytes_scanned: u64,
        queries: u64,
        price_per_gb: f64,
        max_scan_gb: Option<f64>,
    ) -> Self {
        QueryCost {
            bytes_scanned,
            queries,
            price_per_gb,
            currency: Currency::Usd,
            estimated_cost: scan_cost(bytes_scanned, price_per_gb),
            max_scan_gb,
        }
    }

    /// The cost of two sets of queries of one report (two reads, two sources) together.
    pub fn sum(a: Option<QueryCost>, b: Option<QueryCost>) -> Option<QueryCost> {
        match (a, b) {
            (Some(a), Some(b)) => Some(QueryCost::new(
                a.bytes_scanned.saturating_add(b.bytes_scanned),
                a.queries.saturating_add(b.queries),
                a.price_per_gb,
                a.max_scan_gb,
            )),
            (a, b) => a.or(b),
        }
    }
}

/// What scanning `bytes` costs at `price_per_gb`, the price read through its shortest decimal
/// form (as pricing files are), so `0.0076` is exact; a price that is no decimal (negative,
/// not finite: refused by the flags) costs the most there is rather than nothing.
fn scan_cost(bytes: u64, price_per_gb: f64) -> Micros {
    Exact::of_units(bytes, &format!("{price_per_gb}"), 1_000_000_000)
        .map_or(Micros(i64::MAX), Exact::micros)
}

/// `bytes` in GB (decimal, see [`BYTES_PER_GB`]).
pub fn gb(bytes: u64) -> f64 {
    bytes as f64 / BYTES_PER_GB
}

/// Reports compare equal when they say the same, floats bit for bit.
impl PartialEq for QueryCost {
    fn eq(&self, other: &Self) -> bool {
        self.bytes_scanned == other.bytes_scanned
            && self.queries == other.queries
            && self.price_per_gb.to_bits() == other.price_per_gb.to_bits()
            && self.currency == other.currency
            && self.estimated_cost == other.estimated_cost
            && self.max_scan_gb.map(f64::to_bits) == other.max_scan_gb.map(f64::to_bits)
    }
}

impl Eq for QueryCost {}

/// A part of the report the source cannot give: the field is present (the schema requires it)
/// but empty, and this says why. Readers must not take an empty `by_user` named here for "no
/// users".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limitation {
    /// The report field left empty (or zero), e.g. `by_user`, `totals.cache_read_input_tokens`.
    pub field: String,
    /// Why the source cannot give it.
    pub reason: String,
}

/// The JSON Schemas of `query_cost` and `limitations`, added to the report's `properties`
/// (neither is required: each appears only when it has something to say).
pub(super) fn add_schemas(properties: &mut serde_json::Map<String, serde_json::Value>) {
    use crate::usage::cost::schema::money;
    use serde_json::json;
    properties.insert(
        "query_cost".into(),
        json!({
            "type": "object",
            "description": "Logs Insights reports only: what the report's queries scanned (statistics.bytesScanned summed over every query, split and stopped ones included) and the estimated query cost at the configured price per GB (1 GB = 10^9 bytes).",
            "properties": {
                "bytes_scanned": {"type": "integer", "minimum": 0},
                "queries": {"type": "integer", "minimum": 0, "description": "Logs Insights queries started."},
                "price_per_gb": {"type": "number", "minimum": 0},
                "currency": {"type": "string", "enum": ["USD"]},
                "estimated_cost": money("bytes_scanned / 10^9 × price_per_gb, in currency, rounded half up."),
                "max_scan_gb": {"type": ["number", "null"], "description": "The operator's cap on GB scanned per report, all its reads together (the previous period and the anomaly baseline included), if any; bytes_scanned is the total it bounds."},
            },
            "required": ["bytes_scanned", "queries", "price_per_gb", "currency", "estimated_cost", "max_scan_gb"],
        }),
    );
    properties.insert(
        "limitations".into(),
        json!({
            "type": "array",
            "description": "Fields this source cannot give: each is present but empty (or zero), and is not 'no usage'. E.g. the cloudwatch-metrics source has no by_user, by_operation, by_metadata. Absent when the source gives every field.",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string", "description": "The report field, e.g. by_user or totals.cache_read_input_tokens."},
                    "reason": {"type": "string"},
                },
                "required": ["field", "reason"],
            },
        }),
    );
}

/// The query cost and the limitations as lines of the text report (nothing when the report
/// has neither).
pub(super) fn render_text(report: &super::UsageReport, out: &mut String) {
    use std::fmt::Write as _;
    if let Some(cost) = &report.query_cost {
        let cap = cost
            .max_scan_gb
            .map_or_else(String::new, |cap| format!(", cap {cap} GB"));
        let _ = writeln!(
            out,
            "Logs Insights scanned {:.3} GB in {} queries: about USD {} at USD {} per GB{cap}",
            gb(cost.bytes_scanned),
            cost.queries,
            cost.estimated_cost,
            cost.price_per_gb,
        );
    }
    if !report.limitations.is_empty() {
        out.push_str("Not available from this source (left empty):\n");
        for limitation in &report.limitations {
            let _ = writeln!(out, "  {}: {}", limitation.field, limitation.reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_report_states_the_cost_and_what_is_missing() {
        use crate::usage::{Aggregator, Granularity, SourceInfo, SourceKind, UsageQuery};
        let query = UsageQuery::new(
            "2026-11-01T00:00:00Z".parse().unwrap(),
            "2026-11-02T00:00:00Z".parse().unwrap(),
            Granularity::Day,
        )
        .unwrap();
        let mut report = Aggregator::new(&query, SourceInfo::local(SourceKind::File)).finish();
        let mut out = String::new();
        render_text(&report, &mut out);
        assert!(out.is_empty(), "{out}");
        report.query_cost = Some(QueryCost::new(2_500_000_000, 3, 0.005, Some(10.0)));
        report.limitations.push(Limitation {
            field: "by_user".into(),
            reason: "no caller dimension".into(),
        });
        render_text(&report, &mut out);
        assert!(
            out.contains(
                "scanned 2.500 GB in 3 queries: about USD 0.012500 at USD 0.005 per GB, cap 10 GB"
            ),
            "{out}"
        );
        assert!(out.contains("  by_user: no caller dimension"), "{out}");
    }
}
