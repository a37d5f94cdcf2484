//! The bundled sample's application inference profile catalogue: what `GetInferenceProfile`
//! and `ListTagsForResource` would say about the profile the sample's records call, so that
//! `cargo run` shows `by_inference_profile` (and prices the profile as its model) with no AWS
//! account. Synthetic, and labelled so (`resolved_by: synthetic`).

use std::sync::Arc;

use async_trait::async_trait;

use super::{Profile, ProfileArn, ProfileResolver, Resolution};
use crate::usage::source::synthetic::MODELS;

/// The sample's application inference profile (its `modelId`).
pub const SAMPLE_PROFILE_ARN: &str = MODELS[5];

/// The profile's name.
pub const SAMPLE_PROFILE_NAME: &str = "docs-assistant";

/// The model it routes to: Claude 3.5 Haiku in us-east-1, in-region.
pub const SAMPLE_PROFILE_MODEL: &str =
    "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0";

/// Its tags.
pub const SAMPLE_PROFILE_TAGS: [(&str, &str); 3] = [
    ("team", "knowledge"),
    ("project", "docs-search"),
    ("cost-center", "CC-1042"),
];

/// The bundled sample's catalogue; any other ARN is unresolved.
#[derive(Debug, Default)]
pub struct SyntheticProfiles;

#[async_trait]
impl ProfileResolver for SyntheticProfiles {
    async fn resolve(&self, arn: &ProfileArn<'_>) -> Resolution {
        if arn.arn != SAMPLE_PROFILE_ARN {
            return Err("not in the bundled sample's synthetic catalogue".to_owned());
        }
        Ok(Arc::new(Profile {
            name: SAMPLE_PROFILE_NAME.to_owned(),
            models: vec![SAMPLE_PROFILE_MODEL.to_owned()],
            tags: SAMPLE_PROFILE_TAGS
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            tags_unavailable: None,
            resolved_by: "synthetic",
        }))
    }
}
