//! Application inference profiles: the name, tags and model behind an
//! `arn:aws:bedrock:REGION:ACCOUNT:application-inference-profile/ID` logged as `modelId`.
//!
//! The report and the cost estimate depend on the [`ProfileResolver`] trait only:
//!
//! - [`bedrock::BedrockProfiles`]: `bedrock:GetInferenceProfile` and
//!   `bedrock:ListTagsForResource` in the ARN's region, through the AWS SDK, each profile
//!   cached for the process ([`cache`]: a TTL, a bounded number of entries).
//! - [`synthetic::SyntheticProfiles`]: the bundled sample's catalogue, labelled synthetic.
//!
//! [`resolve::resolve_report`] fills a report's `by_inference_profile` entries with what the
//! resolver says, and keeps every resolution for the estimate, which prices an application
//! profile as the model it routes to. Nothing here is fatal: a profile that cannot be resolved
//! (denied, not found, another account's, throttled) keeps its raw ARN and the reason.

pub mod arn;
pub mod bedrock;
pub mod cache;
pub mod resolve;
pub mod synthetic;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

pub use arn::ProfileArn;
use async_trait::async_trait;
pub use bedrock::BedrockProfiles;
pub use resolve::resolve_report;
pub use synthetic::SyntheticProfiles;

/// What an application inference profile is, as far as a report needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// `inferenceProfileName`.
    pub name: String,
    /// The models it routes to (`models[].modelArn`): one foundation model, or one per region
    /// of the cross-region profile it was copied from.
    pub models: Vec<String>,
    /// Its tags (`ListTagsForResource`), at most [`MAX_TAGS`].
    pub tags: BTreeMap<String, String>,
    /// Why the tags are unknown, when `ListTagsForResource` failed (the name still stands).
    pub tags_unavailable: Option<String>,
    /// Who said so: `bedrock` (the API) or `synthetic` (the bundled sample's catalogue).
    pub resolved_by: &'static str,
}

/// The most tags kept per profile (AWS allows 200 per resource; a report shows a few).
pub const MAX_TAGS: usize = 50;

/// The most models kept per profile (AWS lists at most 5).
pub const MAX_MODELS: usize = 5;

/// A profile, or why it could not be resolved.
pub type Resolution = Result<Arc<Profile>, String>;

/// Resolutions by ARN, as one report made them.
pub type Resolved = HashMap<String, Resolution>;

/// Resolves application inference profile ARNs. Never fails a report: an error is a reason.
#[async_trait]
pub trait ProfileResolver: Send + Sync + std::fmt::Debug {
    /// The profile behind `arn`, or why not.
    async fn resolve(&self, arn: &ProfileArn<'_>) -> Resolution;
}
