//! Cost Explorer's daily bill for Bedrock (`ce:GetCostAndUsage`), cached per day.
//!
//! One request: `DAILY`, metric `UnblendedCost`, filtered to the `SERVICE`s that carry Bedrock
//! usage (`Amazon Bedrock`, and each Marketplace model's own service, named like its Price List
//! product, e.g. `Claude 3.5 Haiku (Amazon Bedrock Edition)`), grouped by `SERVICE` and
//! `USAGE_TYPE`, following `NextPageToken`. AWS charges $0.01 per request, so days are cached:
//! a finalised day (`Estimated: false`) for good, a day Cost Explorer still estimates for an
//! hour; only the days missing from the cache are asked for. Days after today (UTC) are not
//! asked for and have no bill: AWS documents `TimePeriod.Start` as "equal to or no later than
//! the current date" (a later one is a validation error) and `End` as exclusive, so the latest
//! `End` sent is tomorrow, which covers today. The endpoint is
//! `ce.us-east-1.amazonaws.com` whatever the region (`AWS_ENDPOINT_URL_COST_EXPLORER` points
//! the SDK elsewhere).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_costexplorer::Client;
use aws_sdk_costexplorer::config::Region;
use aws_sdk_costexplorer::error::DisplayErrorContext;
use aws_sdk_costexplorer::types::{
    DateInterval, Dimension, DimensionValues, Expression, Granularity, GroupDefinition,
    GroupDefinitionType,
};
use tokio::sync::OnceCell;

use crate::aws::ConfigBase as Base;
use crate::usage::cost::money::Micros;
use crate::usage::cost::sdk;
use crate::usage::time::Date;

/// The metric read.
pub const METRIC: &str = "UnblendedCost";
/// The service of Bedrock's own charges.
pub const BEDROCK_SERVICE: &str = "Amazon Bedrock";
/// How long a day Cost Explorer has not finalised is reused.
pub const ESTIMATED_TTL: Duration = Duration::from_secs(3600);
/// Days kept in the cache (the oldest dates go first).
pub const MAX_CACHED_DAYS: usize = 1_000;
/// Pages read per request.
pub const MAX_PAGES: usize = 20;

/// One day of the bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BilledDay {
    /// Cost Explorer has finalised the day (`Estimated: false`).
    pub is_final: bool,
    /// (service, usage type) → cost.
    pub groups: BTreeMap<(String, String), Micros>,
    /// The unit of the amounts (`USD`).
    pub currency: Option<String>,
}

struct Cached {
    at: Instant,
    day: BilledDay,
}

/// The Cost Explorer client and its per-day cache. Making one does no I/O.
pub struct BilledCosts {
    base: Base,
    /// Today (UTC): no day after it is asked for.
    today: Arc<dyn Fn() -> Date + Send + Sync>,
    client: OnceCell<Client>,
    cache: Mutex<HashMap<Date, Cached>>,
    requests: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for BilledCosts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BilledCosts").finish_non_exhaustive()
    }
}

impl BilledCosts {
    /// From the standard AWS configuration.
    pub fn from_env() -> Self {
        Self::new(Base::standard())
    }

    /// From `config` (tests point it at a stub).
    pub fn with_config(config: SdkConfig) -> Self {
        Self::new(Base::Given(config))
    }

    fn new(base: Base) -> Self {
        BilledCosts {
            base,
            today: Arc::new(Date::today),
            client: OnceCell::new(),
            cache: Mutex::new(HashMap::new()),
            requests: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The same client whose today comes from `today` (tests pin it).
    pub fn with_clock(mut self, today: impl Fn() -> Date + Send + Sync + 'static) -> Self {
        self.today = Arc::new(today);
        self
    }

    /// `GetCostAndUsage` requests sent so far (each costs $0.01).
    pub fn requests(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                let base = self.base.config().await;
                let mut builder = aws_sdk_costexplorer::config::Builder::from(base)
                    .timeout_config(sdk::timeouts(base));
                if self.base.is_standard() {
                    builder = builder.region(Region::new("us-east-1"));
                }
                Client::from_conf(builder.build())
            })
            .await
    }

    /// The bill of each day of `days` (ascending, contiguous) up to today, for `services`.
    pub async fn days(
        &self,
        days: &[Date],
        services: &[String],
    ) -> Result<BTreeMap<Date, BilledDay>, String> {
        let today = (self.today)();
        let days: Vec<Date> = days.iter().copied().filter(|d| *d <= today).collect();
        let days = days.as_slice();
        let (Some(first), Some(last)) = (days.first(), days.last()) else {
            return Ok(BTreeMap::new());
        };
        let stale = |c: &Cached| !c.day.is_final && c.at.elapsed() >= ESTIMATED_TTL;
        let missing = {
            let cache = self.lock();
            days.iter()
                .find(|d| cache.get(d).is_none_or(stale))
                .copied()
        };
        if let Some(from) = missing {
            let end = last
                .checked_add_days(1)
                .ok_or("the period ends past year 9999")?;
            let fetched = self.fetch(from, end, services).await?;
            let mut cache = self.lock();
            for (date, day) in fetched {
                cache.insert(
                    date,
                    Cached {
                        at: Instant::now(),
                        day,
                    },
                );
            }
            while cache.len() > MAX_CACHED_DAYS {
                let Some(oldest) = cache.keys().min().copied() else {
                    break;
                };
                cache.remove(&oldest);
            }
        }
        let cache = self.lock();
        Ok((days.iter())
            .filter(|d| *d >= first)
            .filter_map(|d| cache.get(d).map(|c| (*d, c.day.clone())))
            .collect())
    }

    async fn fetch(
        &self,
        start: Date,
        end: Date,
        services: &[String],
    ) -> Result<BTreeMap<Date, BilledDay>, String> {
        let period = DateInterval::builder()
            .start(start.to_string())
            .end(end.to_string())
            .build()
            .map_err(|e| e.to_string())?;
        let filter = Expression::builder()
            .dimensions(
                DimensionValues::builder()
                    .key(Dimension::Service)
                    .set_values(Some(services.to_vec()))
                    .build(),
            )
            .build();
        let group = |key: &str| {
            GroupDefinition::builder()
                .r#type(GroupDefinitionType::Dimension)
                .key(key)
                .build()
        };
        let client = self.client().await;
        let mut days = BTreeMap::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            self.requests
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let page = client
                .get_cost_and_usage()
                .time_period(period.clone())
                .granularity(Granularity::Daily)
                .metrics(METRIC)
                .filter(filter.clone())
                .group_by(group("SERVICE"))
                .group_by(group("USAGE_TYPE"))
                .set_next_page_token(token.take())
                .send()
                .await
                .map_err(|e| format!("Cost Explorer: {}", DisplayErrorContext(&e)))?;
            for result in page.results_by_time() {
                let Some(date) = result
                    .time_period()
                    .and_then(|p| Date::parse(p.start()).ok())
                else {
                    continue;
                };
                let day: &mut BilledDay = days.entry(date).or_insert_with(|| BilledDay {
                    is_final: true,
                    groups: BTreeMap::new(),
                    currency: None,
                });
                day.is_final &= !result.estimated();
                for group in result.groups() {
                    let [service, usage_type] = group.keys() else {
                        continue;
                    };
                    let Some(metric) = group.metrics().and_then(|m| m.get(METRIC)) else {
                        continue;
                    };
                    let amount = metric
                        .amount()
                        .and_then(Micros::parse)
                        .ok_or_else(|| format!("Cost Explorer: unreadable amount {metric:?}"))?;
                    if let Some(unit) = metric.unit() {
                        day.currency.get_or_insert_with(|| unit.to_owned());
                    }
                    let cost = day
                        .groups
                        .entry((service.clone(), usage_type.clone()))
                        .or_default();
                    *cost = Micros(cost.0.saturating_add(amount.0));
                }
            }
            match page.next_page_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => return Ok(days),
            }
        }
        Err(format!("Cost Explorer: more than {MAX_PAGES} pages"))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Date, Cached>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}
