//! The JSON Schema of the report's cost sections, added to the report's `outputSchema`.

use serde_json::{Map, Value, json};

/// What every amount of money is.
pub const MONEY_DESCRIPTION: &str = "An amount of money as a decimal string with six \
decimals (\"12.345678\"; negative for a drift below zero): computed in integer micro-units, \
never binary floats, so sums are exact.";

/// The schema of one amount of money: a six-decimal string, described.
pub fn money(description: &str) -> Value {
    json!({
        "type": "string",
        "pattern": r"^-?\d+\.\d{6}$",
        "description": format!("{description} {MONEY_DESCRIPTION}"),
    })
}

fn cost_rows(description: &str, key: &str) -> Value {
    json!({
        "type": "array",
        "description": description,
        "items": {
            "type": "object",
            "properties": {
                "key": {"type": "string", "description": key},
                "cost": money("The cost."),
            },
            "required": ["key", "cost"],
        },
    })
}

/// The `estimated_cost` section.
pub fn estimated_cost_schema() -> Value {
    let rate = |what: &str| money(&format!("Price of {what} per million tokens."));
    json!({
        "type": "object",
        "description": "Present when costs are configured (a pricing table, the AWS Price List, or both) and for the bundled sample: the cost of the period's tokens, by the operator's table where it has an entry, otherwise by the AWS Price List through an explicit model-to-product mapping (a report of the bundled sample with the Price List off: by made-up synthetic-sample prices, said in note). Models no source prices are listed in unpriced_models, never guessed.",
        "properties": {
            "currency": {"type": "string", "description": "ISO 4217: the table's currency, or USD (the Price List's)."},
            "note": {"type": ["string", "null"], "description": "The pricing table's note; with synthetic-sample prices, a warning that they are made up."},
            "price_sources": {
                "type": "array",
                "description": "Per (model, region) priced: where its prices came from.",
                "items": {
                    "type": "object",
                    "properties": {
                        "model": {"type": "string", "description": "modelId as logged."},
                        "region": {"type": "string", "description": "The region the calls were billed in (the record's region)."},
                        "source": {"type": "string", "enum": ["aws-price-list", "file", "synthetic-sample"], "description": "synthetic-sample: the bundled sample's made-up prices (only ever for the bundled sample)."},
                        "scope": {"type": "string", "enum": ["in-region", "geo", "global"], "description": "Price List: how the call was routed (plain model id, geographic cross-region profile such as us./eu./apac., or global. profile)."},
                        "product": {
                            "type": "object",
                            "description": "Price List and synthetic-sample: the product the model maps to.",
                            "properties": {
                                "service_code": {"type": "string", "enum": ["AmazonBedrock", "AmazonBedrockFoundationModels"]},
                                "name": {"type": "string", "description": "The model (AmazonBedrock) or servicename (AmazonBedrockFoundationModels) attribute."},
                            },
                            "required": ["service_code", "name"],
                        },
                        "publication_date": {"type": "string", "description": "Price List: the publicationDate of the prices used."},
                        "discount_percent": {"type": "integer", "minimum": 1, "maximum": 100, "description": "Price List: the table's discount, taken off."},
                        "match": {"type": "string", "description": "File: the table entry's match."},
                        "rates_per_million": {
                            "type": "object",
                            "properties": {
                                "input": rate("input tokens"),
                                "output": rate("output tokens"),
                                "cache_read": rate("cache-read input tokens"),
                                "cache_write": rate("cache-write input tokens"),
                            },
                            "required": ["input", "output", "cache_read", "cache_write"],
                        },
                    },
                    "required": ["model", "region", "source", "rates_per_million"],
                },
            },
            "total": money("The cost of every priced model."),
            "by_model": cost_rows("Cost per modelId, costliest first (each rounded to the micro-unit; total is their sum).", "modelId as logged."),
            "by_user": cost_rows("Cost per caller (identity.arn), costliest first; callers the usage report folds into (other) are (other) here too.", "identity.arn as logged, (unknown) or (other)."),
            "daily": cost_rows("Cost per UTC day, ascending over the period (zero-filled).", "YYYY-MM-DD, or (other) for days past the memory budget."),
            "unpriced_models": {
                "type": "array",
                "description": "(model, region) pairs with tokens that no source prices; their tokens are not in total.",
                "items": {
                    "type": "object",
                    "properties": {
                        "model": {"type": "string"},
                        "region": {"type": "string"},
                        "tokens": {"type": "integer", "minimum": 0},
                        "reason": {"type": "string", "description": "Why: not in the mapping, no price for a token kind, an application inference profile not mapped, the Price List unreadable..."},
                    },
                    "required": ["model", "region", "tokens", "reason"],
                },
            },
        },
        "required": ["currency", "price_sources", "total", "by_model", "by_user", "daily", "unpriced_models"],
    })
}

/// The `billed_cost` section.
pub fn billed_cost_schema() -> Value {
    let is_final = json!({"type": "boolean", "description": "Cost Explorer has finalised the day (it lags by up to a day and revises days until then)."});
    json!({
        "type": "object",
        "description": "Present with --billed-cost (BEDROCK_BILLED_COST=true): what Cost Explorer (for the bundled sample, a synthetic bill in the same shape) (ce:GetCostAndUsage, UnblendedCost, daily) says AWS billed for Amazon Bedrock and the Marketplace models sold through it, and its reconciliation with estimated_cost. When Cost Explorer cannot be read, only error is present.",
        "properties": {
            "error": {"type": "string", "description": "Why Cost Explorer could not be read; no other field is present then."},
            "source": {"type": "string", "enum": ["cost-explorer", "synthetic-sample"], "description": "Where the bill comes from: Cost Explorer, or (the bundled sample only) a synthetic bill made from the sample's records."},
            "note": {"type": "string", "description": "With a synthetic bill: a warning that it is made up. When the report's records are filtered, or its log groups span several accounts or one failed: why reconciliation is empty (the estimate and the account's bill cover different usage)."},
            "currency": {"type": "string"},
            "total": money("Billed over the period's days."),
            "daily": {
                "type": "array",
                "description": "Billed per UTC day, ascending.",
                "items": {"type": "object", "properties": {"key": {"type": "string"}, "cost": money("Billed that day."), "final": is_final}, "required": ["key", "cost", "final"]},
            },
            "by_usage_type": cost_rows("Billed per SERVICE / USAGE_TYPE, costliest first.", "SERVICE / USAGE_TYPE as Cost Explorer names them."),
            "final_through": {"type": ["string", "null"], "description": "The last day through which every day of the period is final (null: none is)."},
            "reconciliation": {
                "type": "array",
                "description": "Per day and Price List product (models map to products; billed lines to products by service or usage type, the rest (unattributed)): the estimate next to the bill. Empty when they cover different usage (see note).",
                "items": {
                    "type": "object",
                    "properties": {
                        "day": {"type": "string"},
                        "product": {"type": "string"},
                        "estimated": money("Estimated from the logs."),
                        "billed": money("Billed."),
                        "drift": money("billed - estimated."),
                        "drift_percent": {"type": ["string", "null"], "description": "drift / estimated in percent with two decimals; null when nothing was estimated."},
                        "final": is_final,
                    },
                    "required": ["day", "product", "estimated", "billed", "drift", "drift_percent", "final"],
                },
            },
            "requests_sent": {"type": "integer", "minimum": 0, "description": "Cost Explorer requests this server instance has sent since it started ($0.01 each)."},
        },
    })
}

/// Adds the cost sections to the report schema's `properties`.
pub fn add_schemas(properties: &mut Map<String, Value>) {
    properties.insert("estimated_cost".into(), estimated_cost_schema());
    properties.insert("billed_cost".into(), billed_cost_schema());
}
