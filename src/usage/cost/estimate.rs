//! The estimated cost of a report: every (model, region) pair the logs show, priced by the
//! operator's table where it has an entry, otherwise by the AWS Price List through the explicit
//! model mapping ([`super::catalog`]) (for a report of the bundled sample with the Price List
//! off, by the [`synthetic-sample`](super::sample_prices) prices instead), otherwise listed as
//! unpriced with the reason.
//! Nothing is guessed: a pair with tokens of a kind the chosen source has no price for is
//! unpriced as a whole.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use futures_util::future::join_all;
use serde::Serialize;

use super::billed::{self, BilledCost, BilledCosts, SampleBill};
use super::catalog::{self, MARKETPLACE, Product};
use super::cells::{PairCells, Tokens};
use super::model_ref::{self, ModelRef, Scope};
use super::money::{Exact, Micros, Rate};
use super::pricelist::{PriceList, RegionPrices, TokenKind};
use super::sample_prices;
use super::table::PricingTable;
use crate::usage::report::{OTHER_KEY, SourceKind, UsageReport};
use crate::usage::time::Date;

/// The currency of the AWS Price List.
pub const PRICE_LIST_CURRENCY: &str = "USD";

/// How a report's cost is estimated: the operator's table, the AWS Price List, or both.
#[derive(Debug, Default)]
pub struct CostEstimator {
    pub table: Option<PricingTable>,
    pub price_list: Option<Arc<PriceList>>,
    /// Cost Explorer, when billed cost is on (`--billed-cost`).
    pub billed: Option<Arc<BilledCosts>>,
    /// Whether reports of the bundled sample are priced by the `synthetic-sample` prices where
    /// the table has no entry and the Price List is off. Never applied to another source.
    pub sample_prices: bool,
    /// The bundled sample's synthetic bill, used instead of Cost Explorer for reports of the
    /// bundled sample (and only for them) when billed cost is on.
    pub sample_bill: Option<SampleBill>,
}

/// One priced figure: a key (model, user or day) and its cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CostRow {
    pub key: String,
    pub cost: Micros,
}

/// Token rates per million tokens, as decimal strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rates {
    pub input: Rate,
    pub output: Rate,
    pub cache_read: Rate,
    pub cache_write: Rate,
}

/// Where one (model, region) pair's prices came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PriceSource {
    pub model: String,
    pub region: String,
    /// `aws-price-list`, `file` or `synthetic-sample`.
    pub source: &'static str,
    /// Price List: `in-region`, `geo` or `global`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<&'static str>,
    /// Price List: the service code and product name the model maps to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<Product>,
    /// Price List: the newest publication date of the prices used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publication_date: Option<String>,
    /// Price List: the discount the table takes off, in percent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount_percent: Option<u8>,
    /// File: the table entry's `match`.
    #[serde(rename = "match", skip_serializing_if = "Option::is_none")]
    pub file_match: Option<String>,
    pub rates_per_million: Rates,
}

/// A (model, region) pair the estimate leaves out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unpriced {
    pub model: String,
    pub region: String,
    /// Tokens of the pair (not in `total`).
    pub tokens: u64,
    pub reason: String,
}

/// The `estimated_cost` section of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EstimatedCost {
    pub currency: String,
    pub note: Option<String>,
    pub price_sources: Vec<PriceSource>,
    pub total: Micros,
    pub by_model: Vec<CostRow>,
    pub by_user: Vec<CostRow>,
    pub daily: Vec<CostRow>,
    pub unpriced_models: Vec<Unpriced>,
    /// Cost per (UTC day, product): what the reconciliation with the bill compares. Not part
    /// of the JSON contract.
    #[serde(skip)]
    pub by_product_day: BTreeMap<(Date, String), Micros>,
}

/// A pair's resolved prices.
struct Priced {
    rates: [Rate; 4],
    source: PriceSource,
    /// The product name the bill shows the cost under (the model id when none is known).
    product: Option<String>,
}

impl CostEstimator {
    /// The currency of the estimate: the table's, or the Price List's.
    pub fn currency(&self) -> &str {
        self.table
            .as_ref()
            .map_or(PRICE_LIST_CURRENCY, |t| t.currency.as_str())
    }

    /// Prices `report` (fetching Price List prices it does not have yet).
    pub async fn estimate(&self, report: &UsageReport) -> EstimatedCost {
        let cells = &report.cost_cells;
        let sample = is_sample(report);
        // What the Price List is asked for: one fetch per (service code, region).
        let mut wanted = BTreeSet::new();
        let mut plans = Vec::new();
        for (model, region, pair) in cells.pairs() {
            // An application inference profile the table neither prices nor maps is priced as
            // the model it routes to (resolved with the report).
            let table_says = self.table.as_ref().is_some_and(|t| {
                t.price_of(model).is_some() || t.inference_profiles.contains_key(model)
            });
            let plan = match model_ref::application_target(model, &report.inference_profiles) {
                Some(Ok(id)) if !table_says => self.plan(&id, region, sample),
                Some(Err(why)) if !table_says => Plan::Unpriced(why),
                _ => self.plan(model, region, sample),
            };
            if let Plan::PriceList { product, .. } = &plan {
                wanted.insert((product.service_code.clone(), region.to_owned()));
            }
            plans.push((model, region, pair, plan));
        }
        let fetched: HashMap<(String, String), Result<Arc<RegionPrices>, String>> =
            match &self.price_list {
                Some(list) => {
                    let fetches = wanted.into_iter().map(|(service_code, region)| async move {
                        let result = list
                            .prices(&service_code, &region)
                            .await
                            .map_err(|e| e.to_string());
                        ((service_code, region), result)
                    });
                    join_all(fetches).await.into_iter().collect()
                }
                None => HashMap::new(),
            };
        let mut estimate = Accumulator::new(report);
        for (model, region, pair, plan) in plans {
            match self.resolve(plan, region, pair, &fetched) {
                Ok(priced) => {
                    let product = priced
                        .product
                        .clone()
                        .unwrap_or_else(|| self.product_name(model));
                    estimate.add(model, product, pair, priced)
                }
                Err(reason) => estimate.unpriced.push(Unpriced {
                    model: model.to_owned(),
                    region: region.to_owned(),
                    tokens: pair.tokens.total(),
                    reason,
                }),
            }
        }
        let table_note = self.table.as_ref().and_then(|t| t.note.clone());
        let sample_priced = (estimate.sources.iter()).any(|s| s.source == sample_prices::SOURCE);
        let note = match (table_note, sample_priced) {
            (Some(note), true) => Some(format!("{}; {note}", sample_prices::NOTE)),
            (None, true) => Some(sample_prices::NOTE.to_owned()),
            (note, false) => note,
        };
        estimate.finish(self.currency(), note)
    }

    /// The Price List product name of `model` by the mapping, or the model id itself.
    fn product_name(&self, model: &str) -> String {
        let target = match model_ref::parse(model) {
            ModelRef::ApplicationProfile(arn) => self
                .table
                .as_ref()
                .and_then(|t| t.inference_profiles.get(arn))
                .map_or(model, String::as_str),
            _ => model,
        };
        match model_ref::parse(target) {
            ModelRef::Model { base, .. } => self
                .table
                .as_ref()
                .and_then(|t| t.price_list_names.get(base).cloned())
                .or_else(|| catalog::builtin(base))
                .map_or_else(|| model.to_owned(), |p| p.name),
            _ => model.to_owned(),
        }
    }

    /// Every product the mapping knows (built in, and the table's).
    fn products(&self) -> Vec<Product> {
        let mut products: Vec<Product> = catalog::all().collect();
        if let Some(table) = &self.table {
            products.extend(table.price_list_names.values().cloned());
        }
        products
    }

    /// The `billed_cost` section for `report`, reconciled with `estimate` unless they cover
    /// different usage (`filtered`: the report's records were filtered; see
    /// [`billed::not_comparable`]); `None` when billed cost is off, `Err` when Cost Explorer
    /// could not be read.
    pub async fn billed(
        &self,
        report: &UsageReport,
        estimate: &EstimatedCost,
        filtered: bool,
    ) -> Option<Result<BilledCost, String>> {
        let sample_bill = self.sample_bill.as_ref().filter(|_| is_sample(report));
        if sample_bill.is_none() && self.billed.is_none() {
            return None;
        }
        let days = Accumulator::new(report).days;
        if days.is_empty() {
            return Some(Err(format!(
                "billed cost covers periods of up to {MAX_FILLED_DAYS} days"
            )));
        }
        let products = self.products();
        let mut services: Vec<String> = vec![billed::BEDROCK_SERVICE.to_owned()];
        services.extend(
            products
                .iter()
                .filter(|p| p.service_code == MARKETPLACE)
                .map(|p| p.name.clone()),
        );
        services.sort_unstable();
        services.dedup();
        let (bill, requests) = match (sample_bill, &self.billed) {
            (Some(sample), _) => (sample.days(&days), 0),
            (None, Some(costs)) => match costs.days(&days, &services).await {
                Ok(bill) => (bill, costs.requests()),
                Err(e) => return Some(Err(e)),
            },
            (None, None) => return None,
        };
        let names: BTreeSet<String> = products.into_iter().map(|p| p.name).collect();
        let currency = bill
            .values()
            .find_map(|d| d.currency.clone())
            .unwrap_or_else(|| PRICE_LIST_CURRENCY.to_owned());
        let mut out =
            billed::reconcile(&estimate.by_product_day, &bill, &names, &currency, requests);
        if sample_bill.is_some() {
            out.source = billed::sample::SOURCE;
            out.note = Some(billed::sample::NOTE.to_owned());
        }
        if let Some(why) = billed::not_comparable(&report.sources, filtered) {
            out.reconciliation.clear();
            out.note = Some(match out.note.take() {
                Some(note) => format!("{note} {why}"),
                None => why,
            });
        }
        Some(Ok(out))
    }

    /// Which source prices `model` in `region` (`sample`: the report is of the bundled sample).
    fn plan(&self, model: &str, region: &str, sample: bool) -> Plan {
        if model == OTHER_KEY {
            return Plan::Unpriced(format!(
                "more than {} distinct (model, region) pairs: the rest are not priced",
                super::cells::MAX_PAIRS
            ));
        }
        if let Some(price) = self.table.as_ref().and_then(|t| t.price_of(model)) {
            return Plan::File(price.clone());
        }
        let mut target = model;
        if let ModelRef::ApplicationProfile(arn) = model_ref::parse(model) {
            match self
                .table
                .as_ref()
                .and_then(|t| t.inference_profiles.get(arn))
            {
                Some(resolved) => target = resolved,
                None => {
                    return Plan::Unpriced(
                        "an application inference profile: name its model in the pricing \
                         table's inference_profiles (or price it under models)"
                            .to_owned(),
                    );
                }
            }
        }
        let ModelRef::Model { base, scope } = model_ref::parse(target) else {
            return Plan::Unpriced("not a foundation model or inference profile id".to_owned());
        };
        if sample && self.sample_prices && self.price_list.is_none() {
            return match (sample_prices::rates(base), catalog::builtin(base)) {
                (Some(rates), Some(product)) => Plan::Sample {
                    rates,
                    product,
                    scope,
                },
                _ => Plan::Unpriced(format!(
                    "{base} has no synthetic sample price (the bundled sample's made-up prices)"
                )),
            };
        }
        if self.price_list.is_none() {
            return Plan::Unpriced(
                "not in the pricing table, and the AWS Price List is off (--price-list)".to_owned(),
            );
        }
        if self.currency() != PRICE_LIST_CURRENCY {
            return Plan::Unpriced(format!(
                "not in the pricing table, whose currency ({}) is not the AWS Price List's \
                 ({PRICE_LIST_CURRENCY})",
                self.currency()
            ));
        }
        if region == crate::usage::report::UNKNOWN_KEY {
            return Plan::Unpriced("the records carry no region".to_owned());
        }
        let product = self
            .table
            .as_ref()
            .and_then(|t| t.price_list_names.get(base).cloned())
            .or_else(|| catalog::builtin(base));
        match product {
            Some(product) => Plan::PriceList { product, scope },
            None => Plan::Unpriced(format!(
                "{base} is not in the model-to-Price-List mapping (add it to the pricing \
                 table's price_list_names)"
            )),
        }
    }

    fn resolve(
        &self,
        plan: Plan,
        region: &str,
        pair: &PairCells,
        fetched: &HashMap<(String, String), Result<Arc<RegionPrices>, String>>,
    ) -> Result<Priced, String> {
        match plan {
            Plan::Unpriced(reason) => Err(reason),
            Plan::File(price) => Ok(Priced {
                rates: TokenKind::ALL.map(|kind| price.rate(kind)),
                source: PriceSource {
                    model: String::new(),
                    region: region.to_owned(),
                    source: "file",
                    scope: None,
                    product: None,
                    publication_date: None,
                    discount_percent: None,
                    file_match: Some(price.pattern.clone()),
                    rates_per_million: rates(TokenKind::ALL.map(|kind| price.rate(kind))),
                },
                product: None,
            }),
            Plan::Sample {
                rates: found,
                product,
                scope,
            } => Ok(Priced {
                rates: found,
                product: Some(product.name.clone()),
                source: PriceSource {
                    model: String::new(),
                    region: region.to_owned(),
                    source: sample_prices::SOURCE,
                    scope: Some(scope.as_str()),
                    product: Some(product),
                    publication_date: None,
                    discount_percent: None,
                    file_match: None,
                    rates_per_million: rates(found),
                },
            }),
            Plan::PriceList { product, scope } => {
                let prices = match fetched.get(&(product.service_code.clone(), region.to_owned())) {
                    Some(Ok(prices)) => prices,
                    Some(Err(e)) => return Err(e.clone()),
                    None => return Err("the AWS Price List was not read".to_owned()),
                };
                let discount = self
                    .table
                    .as_ref()
                    .map_or(0, |t| t.price_list_discount_percent);
                let mut found = [Rate::default(); 4];
                let mut published: Option<String> = None;
                for (i, kind) in TokenKind::ALL.into_iter().enumerate() {
                    match prices.price(&product, kind, scope) {
                        Ok(listed) => {
                            if listed.currency != PRICE_LIST_CURRENCY {
                                return Err(format!(
                                    "the Price List gives {} prices for {}",
                                    listed.currency, product.name
                                ));
                            }
                            found[i] = listed.rate.scaled_percent(100 - u64::from(discount));
                            if listed.publication_date > published {
                                published.clone_from(&listed.publication_date);
                            }
                        }
                        Err(why) if pair.tokens.get(kind) > 0 => {
                            return Err(format!(
                                "{why} for {} tokens of {:?} ({}, {}) in {region}",
                                kind.as_str(),
                                product.name,
                                product.service_code,
                                scope.as_str()
                            ));
                        }
                        Err(_) => {}
                    }
                }
                Ok(Priced {
                    rates: found,
                    product: Some(product.name.clone()),
                    source: PriceSource {
                        model: String::new(),
                        region: region.to_owned(),
                        source: "aws-price-list",
                        scope: Some(scope.as_str()),
                        product: Some(product),
                        publication_date: published,
                        discount_percent: (discount > 0).then_some(discount),
                        file_match: None,
                        rates_per_million: rates(found),
                    },
                })
            }
        }
    }
}

enum Plan {
    File(super::table::ModelPrice),
    PriceList {
        product: Product,
        scope: Scope,
    },
    /// The bundled sample's synthetic prices.
    Sample {
        rates: [Rate; 4],
        product: Product,
        scope: Scope,
    },
    Unpriced(String),
}

/// Whether `report` was read from the bundled sample: the only reports synthetic prices and
/// the synthetic bill may touch.
fn is_sample(report: &UsageReport) -> bool {
    report.source.kind == SourceKind::BundledSample
}

fn rates([input, output, cache_read, cache_write]: [Rate; 4]) -> Rates {
    Rates {
        input,
        output,
        cache_read,
        cache_write,
    }
}

fn cost(tokens: &Tokens, rates: &[Rate; 4]) -> Exact {
    let mut sum = Exact::default();
    for (kind, rate) in TokenKind::ALL.into_iter().zip(rates) {
        sum.add(rate.cost_of(tokens.get(kind)));
    }
    sum
}

/// Sums the priced pairs by model, caller and day.
struct Accumulator {
    users: BTreeSet<String>,
    days: Vec<Date>,
    by_model: BTreeMap<String, Exact>,
    by_user: BTreeMap<String, Exact>,
    daily: BTreeMap<Option<Date>, Exact>,
    by_product_day: BTreeMap<(Date, String), Exact>,
    sources: Vec<PriceSource>,
    unpriced: Vec<Unpriced>,
}

/// Days a cost series is zero-filled over at most (longer periods list days with usage only).
const MAX_FILLED_DAYS: i64 = 1_000;

impl Accumulator {
    fn new(report: &UsageReport) -> Self {
        // The callers the usage report lists by name; the rest are `(other)` here too.
        let users = report
            .by_user
            .iter()
            .filter(|row| row.key != OTHER_KEY)
            .map(|row| row.key.clone())
            .collect();
        let first = report.period.start.date();
        let last = report
            .period
            .end
            .checked_add_seconds(-1)
            .map_or(first, |t| t.date());
        let span = last.days_since_epoch() - first.days_since_epoch();
        let days = if (0..MAX_FILLED_DAYS).contains(&span) {
            (0..=span)
                .filter_map(|d| first.checked_add_days(d))
                .collect()
        } else {
            Vec::new()
        };
        Accumulator {
            users,
            days,
            by_model: BTreeMap::new(),
            by_user: BTreeMap::new(),
            daily: BTreeMap::new(),
            by_product_day: BTreeMap::new(),
            sources: Vec::new(),
            unpriced: Vec::new(),
        }
    }

    fn add(&mut self, model: &str, product: String, pair: &PairCells, priced: Priced) {
        self.by_model
            .entry(model.to_owned())
            .or_default()
            .add(cost(&pair.tokens, &priced.rates));
        for (user, tokens) in &pair.by_user {
            let key = if self.users.contains(&**user) {
                user.to_string()
            } else {
                OTHER_KEY.to_owned()
            };
            self.by_user
                .entry(key)
                .or_default()
                .add(cost(tokens, &priced.rates));
        }
        for (day, tokens) in &pair.by_day {
            let exact = cost(tokens, &priced.rates);
            self.daily.entry(*day).or_default().add(exact);
            if let Some(day) = day {
                self.by_product_day
                    .entry((*day, product.clone()))
                    .or_default()
                    .add(exact);
            }
        }
        let mut source = priced.source;
        source.model = model.to_owned();
        self.sources.push(source);
    }

    fn finish(mut self, currency: &str, note: Option<String>) -> EstimatedCost {
        let rows = |map: BTreeMap<String, Exact>| {
            let mut rows: Vec<CostRow> = map
                .into_iter()
                .map(|(key, exact)| CostRow {
                    key,
                    cost: exact.micros(),
                })
                .collect();
            rows.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.key.cmp(&b.key)));
            rows
        };
        for day in &self.days {
            self.daily.entry(Some(*day)).or_default();
        }
        let daily = self
            .daily
            .into_iter()
            .map(|(day, exact)| CostRow {
                key: day.map_or_else(|| OTHER_KEY.to_owned(), |d| d.to_string()),
                cost: exact.micros(),
            })
            .collect();
        let by_model = rows(self.by_model);
        self.sources
            .sort_by(|a, b| (&a.model, &a.region).cmp(&(&b.model, &b.region)));
        self.unpriced
            .sort_by(|a, b| b.tokens.cmp(&a.tokens).then_with(|| a.model.cmp(&b.model)));
        EstimatedCost {
            currency: currency.to_owned(),
            note,
            price_sources: self.sources,
            total: Micros(by_model.iter().map(|r| r.cost.0).sum()),
            by_model,
            by_user: rows(self.by_user),
            daily,
            unpriced_models: self.unpriced,
            by_product_day: self
                .by_product_day
                .into_iter()
                .map(|(key, exact)| (key, exact.micros()))
                .collect(),
        }
    }
}
