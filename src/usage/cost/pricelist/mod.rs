//! Bedrock's on-demand token prices from the AWS Price List Query API (`pricing:GetProducts`),
//! fetched per service code and region on first use and kept for a day.
//!
//! The API answers in three regions only (`us-east-1`, `eu-central-1`, `ap-south-1`: the
//! endpoint, not the prices' region) and serves every region's prices from each. One fetch is
//! `GetProducts` with `ServiceCode` and a `TERM_MATCH` filter on `regionCode`, 100 products a
//! page (the API's maximum), following `NextToken` for at most [`MAX_PAGES`] pages; each page
//! is read into token prices as it arrives, so only the prices are kept, never the pages. An
//! answer with more pages is refused as a whole (the models stay unpriced, saying why), never
//! priced from a partial list. `AWS_ENDPOINT_URL_PRICING` (or `AWS_ENDPOINT_URL`) points the
//! SDK elsewhere, as tests do.

mod parse;

pub use parse::{Sku, TokenKind, classify, parse_item};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_pricing::Client;
use aws_sdk_pricing::config::Region;
use aws_sdk_pricing::error::DisplayErrorContext;
use aws_sdk_pricing::types::{Filter, FilterType};
use tokio::sync::OnceCell;

use super::catalog::Product;
use super::model_ref::Scope;
use super::money::Rate;
use crate::aws::ConfigBase as Base;

/// The regions the Price List Query API answers in.
pub const ENDPOINT_REGIONS: [&str; 3] = ["us-east-1", "eu-central-1", "ap-south-1"];

/// Pages of 100 products read per service code and region. Each Bedrock model has a product
/// per token kind and per tier (on-demand, batch, flex, priority, cross-region, global,
/// latency-optimized, provisioned, customization), so a region with most models holds a few
/// thousand (AWS's all-region `AmazonBedrock` file is about 16 MB, some 10,000 products);
/// 100 pages leave room for several times that. A longer answer is an error rather than a
/// silently partial price list.
pub const MAX_PAGES: usize = 100;

/// How long fetched prices are reused (AWS publishes Bedrock prices a few times a month).
pub const TTL: Duration = Duration::from_secs(24 * 3600);

/// (service code, region) price lists kept at once; the least recently fetched goes first.
pub const MAX_CACHED: usize = 64;

/// A price the list gives, with when it was published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedPrice {
    pub rate: Rate,
    pub currency: String,
    pub publication_date: Option<String>,
    pub usage_type: String,
}

/// The token prices of one service code in one region.
#[derive(Debug, Default)]
pub struct RegionPrices {
    /// (product name, tokens, routing) → the price, or `None` when the list gives two
    /// different prices for it (never guessed between).
    prices: HashMap<(String, TokenKind, Scope), Option<ListedPrice>>,
    /// Items that looked like token prices but could not be read, with why.
    pub refused: Vec<String>,
    /// Products read.
    pub items: usize,
}

impl RegionPrices {
    /// Builds the book from the `PriceList` items of one service code and region.
    pub fn from_items<'a>(items: impl IntoIterator<Item = &'a str>) -> Self {
        let mut book = RegionPrices::default();
        for item in items {
            book.add_item(item);
        }
        book
    }

    /// Reads one `PriceList` item into the book.
    pub fn add_item(&mut self, item: &str) {
        self.items += 1;
        match parse_item(item) {
            Ok(Some(sku)) => self.insert(sku),
            Ok(None) => {}
            Err(why) => {
                if self.refused.len() < 20 {
                    self.refused.push(why);
                }
            }
        }
    }

    fn insert(&mut self, sku: Sku) {
        let listed = ListedPrice {
            rate: sku.rate,
            currency: sku.currency,
            publication_date: sku.publication_date,
            usage_type: sku.usage_type,
        };
        self.prices
            .entry((sku.product.name, sku.token, sku.scope))
            .and_modify(|known| {
                if known
                    .as_ref()
                    .is_some_and(|k| (k.rate, &k.currency) != (listed.rate, &listed.currency))
                {
                    *known = None;
                }
            })
            .or_insert_with(|| Some(listed.clone()));
    }

    /// The price of `token` for `product` reached with `scope`: a geographic profile is billed
    /// at the source region's in-region price unless the list names a cross-region one.
    pub fn price(
        &self,
        product: &Product,
        token: TokenKind,
        scope: Scope,
    ) -> Result<&ListedPrice, &'static str> {
        let get = |scope| self.prices.get(&(product.name.clone(), token, scope));
        let found = match scope {
            Scope::Geo => get(Scope::Geo).or_else(|| get(Scope::InRegion)),
            other => get(other),
        };
        match found {
            Some(Some(price)) => Ok(price),
            Some(None) => Err("the price list gives two different prices"),
            None => Err("no price in the price list"),
        }
    }
}

/// Why prices could not be fetched.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the AWS Price List ({service_code}, {region}) could not be read: {message}")]
pub struct PriceListError {
    pub service_code: String,
    pub region: String,
    pub message: String,
}

struct Cached {
    at: Instant,
    prices: Arc<RegionPrices>,
}

/// The Price List client and its cache. Making one does no I/O.
pub struct PriceList {
    base: Base,
    endpoint_region: String,
    client: OnceCell<Client>,
    cache: Mutex<HashMap<(String, String), Cached>>,
}

impl std::fmt::Debug for PriceList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PriceList")
            .field("endpoint_region", &self.endpoint_region)
            .finish_non_exhaustive()
    }
}

impl PriceList {
    /// From the standard AWS configuration, calling the API in `endpoint_region` (one of
    /// [`ENDPOINT_REGIONS`]).
    pub fn from_env(endpoint_region: &str) -> Result<Self, String> {
        if !ENDPOINT_REGIONS.contains(&endpoint_region) {
            return Err(format!(
                "the Price List API answers in {} only, not {endpoint_region:?}",
                ENDPOINT_REGIONS.join(", ")
            ));
        }
        Ok(Self::new(Base::standard(), endpoint_region))
    }

    /// From `config` (tests point it at a stub).
    pub fn with_config(config: SdkConfig) -> Self {
        Self::new(Base::Given(config), ENDPOINT_REGIONS[0])
    }

    fn new(base: Base, endpoint_region: &str) -> Self {
        PriceList {
            base,
            endpoint_region: endpoint_region.to_owned(),
            client: OnceCell::new(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                let base = self.base.config().await;
                let mut builder = aws_sdk_pricing::config::Builder::from(base)
                    .timeout_config(super::sdk::timeouts(base));
                if self.base.is_standard() {
                    builder = builder.region(Region::new(self.endpoint_region.clone()));
                }
                Client::from_conf(builder.build())
            })
            .await
    }

    /// The prices of `service_code` in `region`, from the cache when fetched in the last
    /// [`TTL`]. Failures are not cached.
    pub async fn prices(
        &self,
        service_code: &str,
        region: &str,
    ) -> Result<Arc<RegionPrices>, PriceListError> {
        let key = (service_code.to_owned(), region.to_owned());
        if let Some(cached) = self.lock().get(&key).filter(|c| c.at.elapsed() < TTL) {
            return Ok(cached.prices.clone());
        }
        let prices = Arc::new(self.fetch(service_code, region).await?);
        let mut cache = self.lock();
        if cache.len() >= MAX_CACHED && !cache.contains_key(&key) {
            let oldest = cache
                .iter()
                .min_by_key(|(_, c)| c.at)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                cache.remove(&oldest);
            }
        }
        cache.insert(
            key,
            Cached {
                at: Instant::now(),
                prices: prices.clone(),
            },
        );
        Ok(prices)
    }

    async fn fetch(
        &self,
        service_code: &str,
        region: &str,
    ) -> Result<RegionPrices, PriceListError> {
        let error = |message: String| PriceListError {
            service_code: service_code.to_owned(),
            region: region.to_owned(),
            message,
        };
        let filter = Filter::builder()
            .r#type(FilterType::TermMatch)
            .field("regionCode")
            .value(region)
            .build()
            .map_err(|e| error(e.to_string()))?;
        let client = self.client().await;
        let mut book = RegionPrices::default();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = client
                .get_products()
                .service_code(service_code)
                .filters(filter.clone())
                .format_version("aws_v1")
                .max_results(100)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| error(DisplayErrorContext(&e).to_string()))?;
            for item in page.price_list() {
                book.add_item(item);
            }
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => return Ok(book),
            }
        }
        Err(error(format!(
            "more than {MAX_PAGES} pages of {} products: the answer was cut short, so none of \
             it is used (a partial price list would price some models and silently miss others)",
            book.items
        )))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Cached>> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}
