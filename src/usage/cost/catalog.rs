//! Which Price List product prices a foundation model: the explicit mapping from a model id
//! (`anthropic.claude-3-5-haiku-20241022-v1:0`) to a service code and the name the Price List
//! gives that model. The Price List does not carry model ids, so this table is the only link;
//! a model that is not in it (or in the operator's `price_list_names`) is listed as unpriced,
//! never matched by a guess. Names only: no price is compiled in.
//!
//! Bedrock's on-demand prices sit under two service codes:
//! - `AmazonBedrock`: Amazon's models and openly licensed ones (Nova, Titan, Llama, Mistral,
//!   DeepSeek...), named by the product attribute `model`;
//! - `AmazonBedrockFoundationModels`: models sold through AWS Marketplace (Anthropic Claude,
//!   Cohere, AI21, Writer...), named by the product attribute `servicename`.

use serde::{Deserialize, Serialize};

/// The service code of Amazon's and openly licensed models.
pub const FIRST_PARTY: &str = "AmazonBedrock";
/// The service code of the models sold through AWS Marketplace.
pub const MARKETPLACE: &str = "AmazonBedrockFoundationModels";

/// A Price List product a model's token prices are read from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    /// [`FIRST_PARTY`] or [`MARKETPLACE`].
    pub service_code: String,
    /// The `model` (first party) or `servicename` (Marketplace) attribute.
    pub name: String,
}

impl Product {
    /// The product attribute that carries the name under `service_code`.
    pub fn name_attribute(service_code: &str) -> &'static str {
        if service_code == MARKETPLACE {
            "servicename"
        } else {
            "model"
        }
    }
}

/// Model id (without profile prefix) → (service code, product name). Checked against the Price
/// List in 2026; extend it with `price_list_names` in the pricing table.
const CATALOG: &[(&str, &str, &str)] = &[
    ("amazon.nova-micro-v1:0", FIRST_PARTY, "Nova Micro"),
    ("amazon.nova-lite-v1:0", FIRST_PARTY, "Nova Lite"),
    ("amazon.nova-pro-v1:0", FIRST_PARTY, "Nova Pro"),
    ("amazon.nova-premier-v1:0", FIRST_PARTY, "Nova Premier"),
    ("amazon.nova-2-lite-v1:0", FIRST_PARTY, "Nova 2 Lite"),
    (
        "meta.llama3-3-70b-instruct-v1:0",
        FIRST_PARTY,
        "Llama 3.3 70B",
    ),
    (
        "meta.llama3-1-8b-instruct-v1:0",
        FIRST_PARTY,
        "Llama 3.1 8B",
    ),
    (
        "meta.llama3-1-70b-instruct-v1:0",
        FIRST_PARTY,
        "Llama 3.1 70B",
    ),
    (
        "meta.llama4-maverick-17b-instruct-v1:0",
        FIRST_PARTY,
        "Llama 4 Maverick 17B",
    ),
    (
        "meta.llama4-scout-17b-instruct-v1:0",
        FIRST_PARTY,
        "Llama 4 Scout 17B",
    ),
    (
        "mistral.mistral-large-2402-v1:0",
        FIRST_PARTY,
        "Mistral Large",
    ),
    ("deepseek.r1-v1:0", FIRST_PARTY, "DeepSeek-R1"),
    (
        "anthropic.claude-3-haiku-20240307-v1:0",
        MARKETPLACE,
        "Claude 3 Haiku (Amazon Bedrock Edition)",
    ),
    (
        "anthropic.claude-3-5-haiku-20241022-v1:0",
        MARKETPLACE,
        "Claude 3.5 Haiku (Amazon Bedrock Edition)",
    ),
    (
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        MARKETPLACE,
        "Claude 3.5 Sonnet (Amazon Bedrock Edition)",
    ),
    (
        "anthropic.claude-3-5-sonnet-20241022-v2:0",
        MARKETPLACE,
        "Claude 3.5 Sonnet v2 (Amazon Bedrock Edition)",
    ),
    (
        "anthropic.claude-3-7-sonnet-20250219-v1:0",
        MARKETPLACE,
        "Claude 3.7 Sonnet (Amazon Bedrock Edition)",
    ),
    (
        "anthropic.claude-sonnet-4-20250514-v1:0",
        MARKETPLACE,
        "Claude Sonnet 4 (Amazon Bedrock Edition)",
    ),
    (
        "anthropic.claude-opus-4-20250514-v1:0",
        MARKETPLACE,
        "Claude Opus 4 (Amazon Bedrock Edition)",
    ),
    (
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        MARKETPLACE,
        "Claude Sonnet 4.5 (Amazon Bedrock Edition)",
    ),
    (
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        MARKETPLACE,
        "Claude Haiku 4.5 (Amazon Bedrock Edition)",
    ),
    (
        "cohere.command-r-v1:0",
        MARKETPLACE,
        "Cohere Command R (Amazon Bedrock Edition)",
    ),
    (
        "cohere.command-r-plus-v1:0",
        MARKETPLACE,
        "Cohere Command R+ (Amazon Bedrock Edition)",
    ),
];

/// The built-in product for `base_model_id` (a model id without profile prefix).
pub fn builtin(base_model_id: &str) -> Option<Product> {
    CATALOG
        .iter()
        .find(|(id, _, _)| *id == base_model_id)
        .map(|(_, service_code, name)| Product {
            service_code: (*service_code).to_owned(),
            name: (*name).to_owned(),
        })
}

/// Every built-in product.
pub fn all() -> impl Iterator<Item = Product> {
    CATALOG.iter().map(|(_, service_code, name)| Product {
        service_code: (*service_code).to_owned(),
        name: (*name).to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_is_one_model_under_a_known_service_code() {
        let mut ids: Vec<&str> = CATALOG.iter().map(|(id, _, _)| *id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), CATALOG.len(), "a model id listed twice");
        for (id, service_code, name) in CATALOG {
            assert!([FIRST_PARTY, MARKETPLACE].contains(service_code), "{id}");
            assert!(!id.starts_with("us.") && !id.starts_with("global."), "{id}");
            // Marketplace products carry the edition suffix; first-party ones do not.
            assert_eq!(
                name.ends_with("(Amazon Bedrock Edition)"),
                *service_code == MARKETPLACE,
                "{id}: {name}"
            );
        }
        assert_eq!(
            builtin("anthropic.claude-3-5-haiku-20241022-v1:0").map(|p| p.service_code),
            Some(MARKETPLACE.to_owned())
        );
        assert_eq!(
            builtin("amazon.nova-pro-v1:0").map(|p| p.name),
            Some("Nova Pro".into())
        );
        assert_eq!(builtin("anthropic.claude-unknown"), None);
        assert_eq!(Product::name_attribute(MARKETPLACE), "servicename");
        assert_eq!(Product::name_attribute(FIRST_PARTY), "model");
    }
}
