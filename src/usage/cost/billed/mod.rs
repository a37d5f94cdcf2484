//! The `billed_cost` section: what Cost Explorer says AWS billed for Bedrock, per day and per
//! usage type, and the reconciliation with the estimate: per day and per product (the Price
//! List product a model maps to), `estimated`, `billed` and the drift, with the days Cost
//! Explorer has not finalised marked.
//!
//! Billed lines are attributed to products by their service (a Marketplace model's service is
//! its product name) or, under `Amazon Bedrock`, by the usage type naming the model
//! (`USE1-NovaPro-input-tokens` is `Nova Pro`: the product's name without spaces or dots,
//! the longest that fits); what fits none is `(unattributed)`.

mod fetch;
pub mod sample;

pub use fetch::{BEDROCK_SERVICE, BilledCosts, BilledDay};
pub use sample::SampleBill;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::money::Micros;
use crate::usage::report::{SourceState, SourceStatus};
use crate::usage::time::Date;

/// The key of billed lines no product matches.
pub const UNATTRIBUTED: &str = "(unattributed)";

/// A day of the bill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BilledDayRow {
    pub key: String,
    pub cost: Micros,
    /// Cost Explorer has finalised it.
    #[serde(rename = "final")]
    pub is_final: bool,
}

/// A usage type's cost over the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageTypeRow {
    /// `SERVICE / USAGE_TYPE`.
    pub key: String,
    pub cost: Micros,
}

/// One day and product: the estimate next to the bill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reconciliation {
    pub day: String,
    pub product: String,
    pub estimated: Micros,
    pub billed: Micros,
    /// `billed - estimated`.
    pub drift: Micros,
    /// `drift / estimated` in percent with two decimals; `null` when nothing was estimated.
    pub drift_percent: Option<String>,
    #[serde(rename = "final")]
    pub is_final: bool,
}

/// The `source` of a bill read from Cost Explorer.
pub const COST_EXPLORER: &str = "cost-explorer";

/// The `billed_cost` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BilledCost {
    /// `cost-explorer`, or `synthetic-sample` for the bundled sample's made-up bill.
    pub source: &'static str,
    /// Said with a synthetic bill ([`sample::NOTE`]), and why there is no reconciliation
    /// when the report does not cover the account's usage ([`not_comparable`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub currency: String,
    pub total: Micros,
    pub daily: Vec<BilledDayRow>,
    pub by_usage_type: Vec<UsageTypeRow>,
    /// The last day up to which every day of the period is final (`null`: none is).
    pub final_through: Option<String>,
    pub reconciliation: Vec<Reconciliation>,
    /// Cost Explorer requests this server has sent since it started ($0.01 each).
    pub requests_sent: u64,
}

/// Why a report over `sources` (its records `filtered` or not) cannot be set against the
/// bill of the server's account, when it cannot: a filter narrows the estimate only; Cost Explorer answers for the account (or, from a payer account, the whole
/// organisation), while the estimate then covers other accounts' usage or misses a failed
/// log group's. A drift would read as over- or under-billing that is neither; finance is
/// better served by the bill alone and the reason (the caller gets no reconciliation).
pub fn not_comparable(sources: &[SourceStatus], filtered: bool) -> Option<String> {
    let mut accounts: Vec<Option<&str>> = sources.iter().map(|s| s.account.as_deref()).collect();
    accounts.sort_unstable();
    accounts.dedup();
    let failed = (sources.iter())
        .filter(|s| s.status == SourceState::Failed)
        .count();
    let mut why = Vec::new();
    if filtered {
        why.push(
            "the report's records are filtered (model, user, profile, region or metadata) while \
             the bill is not"
                .to_owned(),
        );
    }
    if accounts.len() > 1 {
        why.push(format!(
            "the estimate spans {} accounts' log groups while Cost Explorer bills the server's \
             account",
            accounts.len()
        ));
    }
    if failed > 0 {
        why.push(format!(
            "{failed} log group(s) failed, so their usage is missing from the estimate but not \
             from the bill"
        ));
    }
    (!why.is_empty()).then(|| {
        format!(
            "Not reconciled with the estimate: {}. The bill is the account's Bedrock spend.",
            why.join("; ")
        )
    })
}

/// The product a billed line belongs to, given the products' names.
pub fn attribute(service: &str, usage_type: &str, products: &BTreeSet<String>) -> String {
    if service != BEDROCK_SERVICE {
        return if products.contains(service) {
            service.to_owned()
        } else {
            UNATTRIBUTED.to_owned()
        };
    }
    let compact = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let usage = compact(usage_type);
    products
        .iter()
        .filter(|name| !name.ends_with("(Amazon Bedrock Edition)"))
        .filter(|name| usage.contains(&compact(name)))
        .max_by_key(|name| compact(name).len())
        .cloned()
        .unwrap_or_else(|| UNATTRIBUTED.to_owned())
}

/// Reconciles `estimated` ((day, product) → cost) with the `billed` days.
pub fn reconcile(
    estimated: &BTreeMap<(Date, String), Micros>,
    billed: &BTreeMap<Date, BilledDay>,
    products: &BTreeSet<String>,
    currency: &str,
    requests_sent: u64,
) -> BilledCost {
    let mut billed_by: BTreeMap<(Date, String), Micros> = BTreeMap::new();
    let mut by_usage_type: BTreeMap<String, Micros> = BTreeMap::new();
    let mut daily = Vec::new();
    let mut total = Micros(0);
    let mut final_through = None;
    let mut all_final = true;
    for (date, day) in billed {
        let mut day_total = Micros(0);
        for ((service, usage_type), cost) in &day.groups {
            day_total = Micros(day_total.0.saturating_add(cost.0));
            let product = attribute(service, usage_type, products);
            let entry = billed_by.entry((*date, product)).or_default();
            *entry = Micros(entry.0.saturating_add(cost.0));
            let entry = by_usage_type
                .entry(format!("{service} / {usage_type}"))
                .or_default();
            *entry = Micros(entry.0.saturating_add(cost.0));
        }
        total = Micros(total.0.saturating_add(day_total.0));
        all_final &= day.is_final;
        if all_final {
            final_through = Some(date.to_string());
        }
        daily.push(BilledDayRow {
            key: date.to_string(),
            cost: day_total,
            is_final: day.is_final,
        });
    }
    let keys: BTreeSet<&(Date, String)> = billed_by
        .keys()
        .chain(estimated.keys().filter(|(d, _)| billed.contains_key(d)))
        .collect();
    let reconciliation = keys
        .into_iter()
        .map(|key| {
            let estimated = estimated.get(key).copied().unwrap_or_default();
            let billed_cost = billed_by.get(key).copied().unwrap_or_default();
            let drift = billed_cost.minus(estimated);
            Reconciliation {
                day: key.0.to_string(),
                product: key.1.clone(),
                estimated,
                billed: billed_cost,
                drift,
                drift_percent: percent(drift, estimated),
                is_final: billed.get(&key.0).is_some_and(|d| d.is_final),
            }
        })
        .collect();
    let mut by_usage_type: Vec<UsageTypeRow> = by_usage_type
        .into_iter()
        .map(|(key, cost)| UsageTypeRow { key, cost })
        .collect();
    by_usage_type.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.key.cmp(&b.key)));
    BilledCost {
        source: COST_EXPLORER,
        note: None,
        currency: currency.to_owned(),
        total,
        daily,
        by_usage_type,
        final_through,
        reconciliation,
        requests_sent,
    }
}

/// `drift / base` in percent, two decimals, rounded half away from zero.
fn percent(drift: Micros, base: Micros) -> Option<String> {
    if base.0 <= 0 {
        return None;
    }
    // Hundredths of a percent: drift × 10,000 / base.
    let scaled = i128::from(drift.0) * 10_000;
    let base = i128::from(base.0);
    let rounded = (scaled.abs() + base / 2) / base;
    let sign = if scaled < 0 && rounded > 0 { "-" } else { "" };
    Some(format!("{sign}{}.{:02}", rounded / 100, rounded % 100))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn products() -> BTreeSet<String> {
        [
            "Nova Pro",
            "Nova Premier",
            "Llama 3.3 70B",
            "Claude 3.5 Haiku (Amazon Bedrock Edition)",
        ]
        .map(str::to_owned)
        .into()
    }

    #[test]
    fn billed_lines_are_attributed_to_products() {
        let p = products();
        assert_eq!(
            attribute(BEDROCK_SERVICE, "USE1-NovaPro-input-tokens", &p),
            "Nova Pro"
        );
        assert_eq!(
            attribute(BEDROCK_SERVICE, "USW2-Llama3-3-70B-output-tokens", &p),
            "Llama 3.3 70B"
        );
        assert_eq!(
            attribute(
                "Claude 3.5 Haiku (Amazon Bedrock Edition)",
                "USE1-MP:USE1_InputTokenCount-Units",
                &p
            ),
            "Claude 3.5 Haiku (Amazon Bedrock Edition)"
        );
        assert_eq!(
            attribute(BEDROCK_SERVICE, "USE1-Guardrails-TextUnits", &p),
            UNATTRIBUTED
        );
        assert_eq!(attribute("Something else", "x", &p), UNATTRIBUTED);
    }

    #[test]
    fn drifts_by_hand_and_the_last_final_day() {
        let day = |d| Date::from_ymd(2026, 10, d).unwrap();
        let haiku = "Claude 3.5 Haiku (Amazon Bedrock Edition)".to_owned();
        let mut billed = BTreeMap::new();
        let bill = |is_final, groups: &[(&str, &str, i64)]| BilledDay {
            is_final,
            groups: groups
                .iter()
                .map(|(s, u, c)| ((s.to_string(), u.to_string()), Micros(*c)))
                .collect(),
            currency: Some("USD".into()),
        };
        billed.insert(
            day(1),
            bill(
                true,
                &[
                    (BEDROCK_SERVICE, "USE1-NovaPro-input-tokens", 1_100_000),
                    (&haiku, "USE1-MP:USE1_InputTokenCount-Units", 500_000),
                ],
            ),
        );
        billed.insert(
            day(2),
            bill(
                false,
                &[(BEDROCK_SERVICE, "USE1-NovaPro-output-tokens", 900_000)],
            ),
        );
        billed.insert(day(3), bill(true, &[]));
        let estimated = BTreeMap::from([
            ((day(1), "Nova Pro".to_owned()), Micros(1_000_000)),
            ((day(1), haiku.clone()), Micros(0)),
            ((day(2), "Nova Pro".to_owned()), Micros(1_200_000)),
            // Outside the billed days: not reconciled.
            ((day(9), "Nova Pro".to_owned()), Micros(5)),
        ]);
        let out = reconcile(&estimated, &billed, &products(), "USD", 1);
        assert_eq!(out.total, Micros(2_500_000));
        // Day 2 is not final, so day 1 is the last day through which all are.
        assert_eq!(out.final_through.as_deref(), Some("2026-10-01"));
        let rows: Vec<(String, &str, i64, Option<&str>, bool)> = out
            .reconciliation
            .iter()
            .map(|r| {
                (
                    r.day.clone(),
                    r.product.as_str(),
                    r.drift.0,
                    r.drift_percent.as_deref(),
                    r.is_final,
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                (
                    "2026-10-01".to_owned(),
                    "Claude 3.5 Haiku (Amazon Bedrock Edition)",
                    500_000,
                    None,
                    true
                ),
                (
                    "2026-10-01".to_owned(),
                    "Nova Pro",
                    100_000,
                    Some("10.00"),
                    true
                ),
                (
                    "2026-10-02".to_owned(),
                    "Nova Pro",
                    -300_000,
                    Some("-25.00"),
                    false
                ),
            ]
        );
        assert_eq!(
            out.daily.iter().map(|d| d.is_final).collect::<Vec<_>>(),
            [true, false, true]
        );
        assert_eq!(percent(Micros(1), Micros(3)), Some("33.33".into()));
        assert_eq!(percent(Micros(-2), Micros(3)), Some("-66.67".into()));
    }
}
