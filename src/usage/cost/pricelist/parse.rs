//! One `GetProducts` price-list item (a JSON document per product) read into a token price, or
//! set aside with the reason.
//!
//! What is read, all of it explicit:
//! - the service code (`serviceCode`), the region (`product.attributes.regionCode`), the model's
//!   name (`model` or `titanModel` under `AmazonBedrock`, `servicename` under
//!   `AmazonBedrockFoundationModels`);
//! - the usage type (`usagetype`, e.g. `USE1-NovaPro-input-tokens`,
//!   `USE1-MP:USE1_CacheReadInputTokenCount-Units`, `USE1-MP:USE1_OutputTokenCount_Global-Units`)
//!   says which tokens the price is for (input, output, cache read, cache write) and how the call
//!   was routed (in-region, `cross-region`/geo, `global`). Batch, flex, priority,
//!   latency-optimized, provisioned, reserved and customization prices are set aside, so are
//!   usage types that name no tokens;
//! - the price: the one `OnDemand` term with one price dimension (tiered prices are set aside),
//!   one currency, and a unit of `tokens`, `1K tokens` or `1M tokens` (or `Units` whose
//!   description says per thousand or per million tokens); anything else is set aside.

use serde_json::Value;

use super::super::catalog::{MARKETPLACE, Product};
use super::super::model_ref::Scope;
use crate::usage::cost::money::Rate;

/// Which tokens a price is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TokenKind {
    Input,
    Output,
    CacheRead,
    CacheWrite,
}

impl TokenKind {
    /// All four, in report order.
    pub const ALL: [TokenKind; 4] = [
        TokenKind::Input,
        TokenKind::Output,
        TokenKind::CacheRead,
        TokenKind::CacheWrite,
    ];

    /// `input`, `output`, `cache read`, `cache write`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Input => "input",
            TokenKind::Output => "output",
            TokenKind::CacheRead => "cache read",
            TokenKind::CacheWrite => "cache write",
        }
    }
}

/// A token price from the Price List.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sku {
    pub product: Product,
    pub region: String,
    pub token: TokenKind,
    pub scope: Scope,
    pub rate: Rate,
    /// ISO 4217, `USD` in practice.
    pub currency: String,
    /// The item's `publicationDate`.
    pub publication_date: Option<String>,
    /// The usage type, for people checking the mapping.
    pub usage_type: String,
}

/// Words of a usage type whose prices are not on-demand, per-token ones.
const SET_ASIDE: [&str; 9] = [
    "batch",
    "flex",
    "priority",
    "latency",
    "provisioned",
    "reserved",
    "custom",
    "image",
    "video",
];

/// Reads `item`: `Ok(Some(sku))`, `Ok(None)` for a product that is not an on-demand token price,
/// `Err` for a document that is not a price-list item or whose price cannot be read.
pub fn parse_item(item: &str) -> Result<Option<Sku>, String> {
    let doc: Value = serde_json::from_str(item).map_err(|e| format!("not JSON: {e}"))?;
    let attributes = doc
        .pointer("/product/attributes")
        .and_then(Value::as_object)
        .ok_or("no product.attributes")?;
    let attribute = |name: &str| attributes.get(name).and_then(Value::as_str);
    let service_code = doc
        .get("serviceCode")
        .and_then(Value::as_str)
        .or_else(|| attribute("servicecode"))
        .ok_or("no serviceCode")?;
    let usage_type = attribute("usagetype").unwrap_or_default();
    let Some((token, scope)) = classify(usage_type) else {
        return Ok(None);
    };
    let name = if service_code == MARKETPLACE {
        attribute("servicename")
    } else {
        attribute("model").or_else(|| attribute("titanModel"))
    };
    let (Some(name), Some(region)) = (name, attribute("regionCode")) else {
        return Ok(None);
    };
    let (price, currency, unit, description) = one_price(&doc)?;
    let per_tokens = tokens_per_unit(unit, description)
        .ok_or_else(|| format!("{usage_type}: unknown unit {unit:?}"))?;
    let rate = Rate::per_tokens(price, per_tokens)
        .ok_or_else(|| format!("{usage_type}: unreadable price {price:?}"))?;
    Ok(Some(Sku {
        product: Product {
            service_code: service_code.to_owned(),
            name: name.to_owned(),
        },
        region: region.to_owned(),
        token,
        scope,
        rate,
        currency: currency.to_owned(),
        publication_date: doc
            .get("publicationDate")
            .and_then(Value::as_str)
            .map(str::to_owned),
        usage_type: usage_type.to_owned(),
    }))
}

/// The tokens and routing a usage type prices, or `None` when it is not an on-demand token
/// price.
pub fn classify(usage_type: &str) -> Option<(TokenKind, Scope)> {
    let lower = usage_type.to_ascii_lowercase().replace('_', "-");
    if !lower.contains("token") || SET_ASIDE.iter().any(|word| lower.contains(word)) {
        return None;
    }
    let token = if lower.contains("cache-read") || lower.contains("cacheread") {
        TokenKind::CacheRead
    } else if lower.contains("cache-write") || lower.contains("cachewrite") {
        TokenKind::CacheWrite
    } else if lower.contains("cache") {
        return None;
    } else if lower.contains("input") {
        TokenKind::Input
    } else if lower.contains("output") {
        TokenKind::Output
    } else {
        return None;
    };
    let scope = if lower.contains("global") {
        Scope::Global
    } else if lower.contains("cross-region") || lower.contains("-geo") {
        Scope::Geo
    } else {
        Scope::InRegion
    };
    Some((token, scope))
}

/// The single on-demand price: (price, currency, unit, description).
fn one_price(doc: &Value) -> Result<(&str, &str, &str, &str), String> {
    let terms = doc
        .pointer("/terms/OnDemand")
        .and_then(Value::as_object)
        .ok_or("no OnDemand terms")?;
    let [term] = terms.values().collect::<Vec<_>>()[..] else {
        return Err(format!("{} OnDemand terms, expected one", terms.len()));
    };
    let dimensions = term
        .get("priceDimensions")
        .and_then(Value::as_object)
        .ok_or("no priceDimensions")?;
    let [dimension] = dimensions.values().collect::<Vec<_>>()[..] else {
        return Err(format!(
            "{} price dimensions (tiered), expected one",
            dimensions.len()
        ));
    };
    let prices = dimension
        .get("pricePerUnit")
        .and_then(Value::as_object)
        .ok_or("no pricePerUnit")?;
    let [(currency, price)] = prices.iter().collect::<Vec<_>>()[..] else {
        return Err(format!("{} currencies, expected one", prices.len()));
    };
    let text = |key: &str| {
        dimension
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    Ok((
        price.as_str().ok_or("pricePerUnit is not a string")?,
        currency,
        text("unit"),
        text("description"),
    ))
}

/// Tokens one `unit` counts: `tokens` 1, `1K tokens` 1,000, `1M tokens` 1,000,000; `Units`
/// by the description's "per 1K" / "per million".
fn tokens_per_unit(unit: &str, description: &str) -> Option<u64> {
    let unit = unit.trim().to_ascii_lowercase();
    match unit.as_str() {
        "token" | "tokens" => Some(1),
        "1k tokens" | "1k token" | "1,000 tokens" | "1000 tokens" | "thousand tokens" => {
            Some(1_000)
        }
        "1m tokens" | "1m token" | "1 million tokens" | "million tokens" | "1,000,000 tokens" => {
            Some(1_000_000)
        }
        "units" | "unit" => {
            let description = description.to_ascii_lowercase();
            if description.contains("per million") || description.contains("per 1m") {
                Some(1_000_000)
            } else if description.contains("per 1k") || description.contains("per 1,000 ") {
                Some(1_000)
            } else {
                None
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_types_name_tokens_and_routing() {
        let cases = [
            (
                "USE1-NovaPro-input-tokens",
                Some((TokenKind::Input, Scope::InRegion)),
            ),
            (
                "USE1-NovaPro-output-tokens",
                Some((TokenKind::Output, Scope::InRegion)),
            ),
            (
                "USE1-NovaPro-cache-read-input-tokens",
                Some((TokenKind::CacheRead, Scope::InRegion)),
            ),
            (
                "USE1-MP:USE1_InputTokenCount-Units",
                Some((TokenKind::Input, Scope::InRegion)),
            ),
            (
                "USE1-MP:USE1_CacheWriteInputTokenCount-Units",
                Some((TokenKind::CacheWrite, Scope::InRegion)),
            ),
            (
                "USE1-MP:USE1_OutputTokenCount_Global-Units",
                Some((TokenKind::Output, Scope::Global)),
            ),
            (
                "EU-NovaPro-cross-region-input-tokens",
                Some((TokenKind::Input, Scope::Geo)),
            ),
            ("USE1-NovaPro-batch-input-tokens", None),
            ("USE1-NovaPro-flex-output-tokens", None),
            ("USE1-MP:USE1_InputTokenCount_Batch-Units", None),
            ("USE1-NovaPro-ProvisionedThroughput-ModelUnits", None),
            ("USE1-NovaCanvas-T2I-1024-Standard", None),
            ("USE1-cache-storage-tokens", None),
        ];
        for (usage_type, expected) in cases {
            assert_eq!(classify(usage_type), expected, "{usage_type}");
        }
    }

    #[test]
    fn units_are_read_or_refused() {
        assert_eq!(tokens_per_unit("1K tokens", ""), Some(1_000));
        assert_eq!(tokens_per_unit("1M tokens", ""), Some(1_000_000));
        assert_eq!(tokens_per_unit("Tokens", ""), Some(1));
        assert_eq!(
            tokens_per_unit("Units", "$3.00 per million input tokens"),
            Some(1_000_000)
        );
        assert_eq!(tokens_per_unit("Units", "per request"), None);
        assert_eq!(tokens_per_unit("Hrs", ""), None);
    }

    fn item(unit: &str, dimensions: usize) -> String {
        let dimension = |i: usize| {
            format!(
                r#""D{i}":{{"unit":"{unit}","description":"d","pricePerUnit":{{"USD":"0.0008000000"}}}}"#
            )
        };
        let dims: Vec<String> = (0..dimensions).map(dimension).collect();
        format!(
            r#"{{"product":{{"attributes":{{"servicename":"Claude 3.5 Haiku (Amazon Bedrock Edition)","regionCode":"us-east-1","usagetype":"USE1-MP:USE1_InputTokenCount-Units"}}}},
               "serviceCode":"AmazonBedrockFoundationModels","publicationDate":"2026-11-20T10:00:00Z",
               "terms":{{"OnDemand":{{"T":{{"priceDimensions":{{{}}}}}}}}}}}"#,
            dims.join(",")
        )
    }

    #[test]
    fn items_become_prices_or_are_refused() {
        let sku = parse_item(&item("1K tokens", 1)).unwrap().unwrap();
        assert_eq!(sku.rate, Rate(800_000));
        assert_eq!(sku.token, TokenKind::Input);
        assert_eq!(sku.region, "us-east-1");
        assert_eq!(
            sku.product.name,
            "Claude 3.5 Haiku (Amazon Bedrock Edition)"
        );
        assert_eq!(
            sku.publication_date.as_deref(),
            Some("2026-11-20T10:00:00Z")
        );
        assert!(
            parse_item(&item("1K tokens", 2))
                .unwrap_err()
                .contains("tiered")
        );
        assert!(
            parse_item(&item("Hrs", 1))
                .unwrap_err()
                .contains("unknown unit")
        );
        assert!(parse_item("[]").is_err());
    }
}
