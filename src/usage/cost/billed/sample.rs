//! A synthetic bill for the bundled sample, so `--billed-cost` over the sample shows a
//! `billed_cost` section and its reconciliation with no AWS account. It is made in code from the
//! sample's own records (the same seed, re-dated by the same clock) priced at the
//! [`synthetic-sample` prices](crate::usage::cost::sample_prices), in Cost Explorer's shape: per
//! day, `SERVICE` and `USAGE_TYPE`, with the usage types Bedrock bills under
//! (`USE1-NovaPro-input-tokens`; a Marketplace model's own service with
//! `USE1-MP:USE1_InputTokenCount-Units`). It is used only for reports whose source is the
//! bundled sample, and says so ([`SOURCE`], [`NOTE`]); Cost Explorer is never called for them.
//!
//! What makes it differ from the estimate, each a drift a real bill shows:
//! - the application inference profile's calls are billed under the model it routes to
//!   ([`profile_model`]), which the estimate cannot price without the profile resolved;
//! - a Guardrails line ([`GUARDRAILS_USAGE_TYPE`]) for the chatbot's calls, which no model's
//!   tokens account for, so it reconciles as `(unattributed)`;
//! - Cost Explorer lags: today holds only the calls before [`TODAY_BILLED_HOURS`] UTC, and today
//!   and yesterday are not final yet;
//! - each usage-type line is rounded to the micro-unit on its own, as Cost Explorer's amounts
//!   are.

use std::collections::{BTreeMap, BTreeSet};

use super::{BEDROCK_SERVICE, BilledDay};
use crate::usage::InvocationRecord;
use crate::usage::cost::catalog::{self, MARKETPLACE};
use crate::usage::cost::model_ref::{self, ModelRef};
use crate::usage::cost::money::{Exact, Micros};
use crate::usage::cost::pricelist::TokenKind;
use crate::usage::cost::sample_prices;
use crate::usage::source::SampleSource;
use crate::usage::source::sample::sample_lines;
use crate::usage::time::Date;

/// The `source` of a synthetic bill, in `billed_cost`.
pub const SOURCE: &str = "synthetic-sample";

/// Shown with every synthetic bill.
pub const NOTE: &str = "SYNTHETIC SAMPLE BILL: made from the bundled sample's records at its \
made-up prices, not Cost Explorer's; used only with the bundled sample";

/// Today's calls before this UTC hour are on the bill (Cost Explorer lags by up to a day).
pub const TODAY_BILLED_HOURS: i64 = 8;

/// The Guardrails usage type billed for the chatbot's calls.
pub const GUARDRAILS_USAGE_TYPE: &str = "USE1-Guardrails-TextUnits";

/// The chatbot whose calls go through a guardrail.
const GUARDED_CALLER: &str =
    "arn:aws:sts::111122223333:assumed-role/ChatbotLambdaRole/chatbot-prod";

/// What a guarded call costs: two text units at 0.15 per 1,000 text units, in micro-units.
const GUARDRAIL_MICROS_PER_CALL: i64 = 300;

/// The model the sample's application inference profile routes to, from the sample's synthetic
/// profile catalogue (Claude 3.5 Haiku in us-east-1): its calls are billed under that model,
/// as Bedrock bills them.
pub fn profile_model(arn: &str) -> Option<&'static str> {
    use crate::usage::profiles::synthetic::{SAMPLE_PROFILE_ARN, SAMPLE_PROFILE_MODEL};
    (arn == SAMPLE_PROFILE_ARN).then_some(SAMPLE_PROFILE_MODEL)
}

/// The synthetic bill of the bundled sample whose clock says what today is.
#[derive(Debug, Clone)]
pub struct SampleBill {
    sample: SampleSource,
}

impl SampleBill {
    /// The bill of `sample` (the same source the reports read, so the same `today`).
    pub fn new(sample: SampleSource) -> Self {
        SampleBill { sample }
    }

    /// The bill of each of `days` up to today (later days have no bill yet, as in Cost
    /// Explorer): (service, usage type) → cost; today and yesterday not final.
    pub fn days(&self, days: &[Date]) -> BTreeMap<Date, BilledDay> {
        let today = self.sample.today();
        let wanted: BTreeSet<Date> = days.iter().copied().filter(|d| *d <= today).collect();
        let cut = today.start().checked_add_seconds(TODAY_BILLED_HOURS * 3600);
        let mut lines: BTreeMap<(Date, String, String), Exact> = BTreeMap::new();
        let mut guarded: BTreeMap<Date, i64> = BTreeMap::new();
        for line in sample_lines(today) {
            let Ok(record) = InvocationRecord::parse_str(&line) else {
                continue;
            };
            let day = record.timestamp.date();
            if !wanted.contains(&day)
                || (day == today && cut.is_some_and(|c| record.timestamp >= c))
            {
                continue;
            }
            if record.identity_arn.as_deref() == Some(GUARDED_CALLER) {
                *guarded.entry(day).or_default() += GUARDRAIL_MICROS_PER_CALL;
            }
            let region = record.region.as_deref().unwrap_or("us-east-1");
            let Some((service, name, rates)) = record.model_id.as_deref().and_then(billed_as)
            else {
                continue;
            };
            let tokens = [
                record.input_tokens,
                record.output_tokens,
                record.cache_read_input_tokens,
                record.cache_write_input_tokens,
            ];
            for ((kind, rate), count) in TokenKind::ALL.into_iter().zip(rates).zip(tokens) {
                if count == 0 {
                    continue;
                }
                let usage_type = usage_type(&service, &name, region, kind);
                lines
                    .entry((day, service.clone(), usage_type))
                    .or_default()
                    .add(rate.cost_of(count));
            }
        }
        let yesterday = today.checked_add_days(-1).unwrap_or(today);
        let mut bill: BTreeMap<Date, BilledDay> = wanted
            .iter()
            .map(|day| {
                let day_bill = BilledDay {
                    is_final: *day < yesterday,
                    groups: BTreeMap::new(),
                    currency: Some("USD".to_owned()),
                };
                (*day, day_bill)
            })
            .collect();
        for ((day, service, usage_type), exact) in lines {
            if let Some(entry) = bill.get_mut(&day) {
                entry.groups.insert((service, usage_type), exact.micros());
            }
        }
        for (day, micros) in guarded {
            if let Some(entry) = bill.get_mut(&day) {
                entry.groups.insert(
                    (BEDROCK_SERVICE.to_owned(), GUARDRAILS_USAGE_TYPE.to_owned()),
                    Micros(micros),
                );
            }
        }
        bill
    }
}

/// The service, product name and synthetic rates `model_id`'s calls are billed under (an
/// application profile under the model it routes to).
fn billed_as(model_id: &str) -> Option<(String, String, [crate::usage::cost::money::Rate; 4])> {
    let target = match model_ref::parse(model_id) {
        ModelRef::ApplicationProfile(arn) => profile_model(arn)?,
        _ => model_id,
    };
    let ModelRef::Model { base, .. } = model_ref::parse(target) else {
        return None;
    };
    let product = catalog::builtin(base)?;
    let rates = sample_prices::rates(base)?;
    let service = if product.service_code == MARKETPLACE {
        product.name.clone()
    } else {
        BEDROCK_SERVICE.to_owned()
    };
    Some((service, product.name, rates))
}

/// The usage type Bedrock bills `kind` tokens of a product under in `region`.
fn usage_type(service: &str, name: &str, region: &str, kind: TokenKind) -> String {
    let code = region_code(region);
    if service == BEDROCK_SERVICE {
        // "Llama 3.3 70B" is billed as "Llama3-3-70B": words joined, dots and the space
        // between two numbers as dashes.
        let mut compact = String::new();
        for word in name.split(' ') {
            let digits = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
            if digits(compact.chars().last()) && digits(word.chars().next()) {
                compact.push('-');
            }
            compact.push_str(&word.replace('.', "-"));
        }
        let tokens = match kind {
            TokenKind::Input => "input-tokens",
            TokenKind::Output => "output-tokens",
            TokenKind::CacheRead => "cache-read-input-tokens",
            TokenKind::CacheWrite => "cache-write-input-tokens",
        };
        format!("{code}-{compact}-{tokens}")
    } else {
        let count = match kind {
            TokenKind::Input => "InputTokenCount",
            TokenKind::Output => "OutputTokenCount",
            TokenKind::CacheRead => "CacheReadInputTokenCount",
            TokenKind::CacheWrite => "CacheWriteInputTokenCount",
        };
        format!("{code}-MP:{code}_{count}-Units")
    }
}

/// The prefix AWS usage types carry for `region`.
fn region_code(region: &str) -> String {
    match region {
        "us-east-1" => "USE1".to_owned(),
        "us-east-2" => "USE2".to_owned(),
        "us-west-2" => "USW2".to_owned(),
        "eu-west-1" => "EU".to_owned(),
        other => other.to_ascii_uppercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::cost::billed::{UNATTRIBUTED, attribute};

    fn day(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    #[test]
    fn usage_types_are_attributed_to_their_products() {
        let products: BTreeSet<String> = catalog::all().map(|p| p.name).collect();
        for (model, region, product) in [
            ("amazon.nova-pro-v1:0", "us-east-1", "Nova Pro"),
            (
                "meta.llama3-3-70b-instruct-v1:0",
                "us-west-2",
                "Llama 3.3 70B",
            ),
            (
                "us.anthropic.claude-sonnet-4-20250514-v1:0",
                "eu-west-1",
                "Claude Sonnet 4 (Amazon Bedrock Edition)",
            ),
            (
                crate::usage::source::synthetic::MODELS[5],
                "us-east-1",
                "Claude 3.5 Haiku (Amazon Bedrock Edition)",
            ),
        ] {
            let (service, name, _) = billed_as(model).unwrap();
            assert_eq!(name, product);
            for kind in TokenKind::ALL {
                let usage = usage_type(&service, &name, region, kind);
                assert_eq!(attribute(&service, &usage, &products), product, "{usage}");
            }
        }
        assert_eq!(
            usage_type(
                BEDROCK_SERVICE,
                "Llama 3.3 70B",
                "us-west-2",
                TokenKind::Input
            ),
            "USW2-Llama3-3-70B-input-tokens"
        );
        assert_eq!(
            usage_type("x", "x", "us-east-1", TokenKind::CacheRead),
            "USE1-MP:USE1_CacheReadInputTokenCount-Units"
        );
        assert_eq!(
            attribute(BEDROCK_SERVICE, GUARDRAILS_USAGE_TYPE, &products),
            UNATTRIBUTED
        );
    }

    #[test]
    fn final_days_lag_and_later_days_are_absent() {
        let today = day("2026-11-25");
        let bill = SampleBill::new(SampleSource::for_today(today));
        let days: Vec<Date> = (-3..=2)
            .map(|d| today.checked_add_days(d).unwrap())
            .collect();
        let out = bill.days(&days);
        let finals: Vec<(String, bool)> = out
            .iter()
            .map(|(d, b)| (d.to_string(), b.is_final))
            .collect();
        assert_eq!(
            finals,
            [
                ("2026-11-22".to_owned(), true),
                ("2026-11-23".to_owned(), true),
                ("2026-11-24".to_owned(), false),
                ("2026-11-25".to_owned(), false),
            ]
        );
        // Deterministic: the same today, the same bill.
        assert_eq!(out, bill.days(&days));
        // The chatbot's guardrail line on a full day, and a bill for every model family.
        let full = &out[&day("2026-11-23")];
        assert!(
            full.groups
                .contains_key(&(BEDROCK_SERVICE.to_owned(), GUARDRAILS_USAGE_TYPE.to_owned()))
        );
        assert!(full.groups.len() > 10, "{:?}", full.groups.keys());
        // A day before the sample's thirty days has no usage.
        let before = today.checked_add_days(-40).unwrap();
        assert!(bill.days(&[before])[&before].groups.is_empty());
    }
}
