//! Application inference profiles resolved by Bedrock itself: `GetInferenceProfile` (name and
//! models) then `ListTagsForResource` (tags), in the profile's own region, through the AWS SDK
//! with the crate's configuration ([`crate::aws`]: retries, HTTPS client) and short timeouts.
//!
//! The function's role needs `bedrock:GetInferenceProfile` and `bedrock:ListTagsForResource`
//! on `arn:aws:bedrock:*:ACCOUNT:application-inference-profile/*` (Terraform grants both). A
//! profile of another account, or one the role may not read, stays unresolved with the
//! reason; a tags failure keeps the name and model.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_bedrock::Client;
use aws_sdk_bedrock::config::Region;
use aws_sdk_bedrock::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use super::cache::ProfileCache;
use super::{MAX_TAGS, Profile, ProfileArn, ProfileResolver, Resolution};
use crate::aws::ConfigBase;
use crate::usage::record::clean_text;

/// The most regions a process makes clients for (regions come from logged ARNs).
pub const MAX_REGIONS: usize = 40;

/// The longest reason kept from an AWS error.
const MAX_REASON_CHARS: usize = 300;

/// Resolves profiles through the Bedrock control-plane API; see the module docs.
#[derive(Debug)]
pub struct BedrockProfiles {
    /// The standard configuration (loaded on first use), or one given up front (tests).
    base: ConfigBase,
    clients: Mutex<HashMap<String, Client>>,
    cache: ProfileCache,
}

impl BedrockProfiles {
    /// The standard AWS configuration (environment, `AWS_ENDPOINT_URL_BEDROCK`, profile),
    /// loaded on the first lookup: nothing touches the network before.
    pub fn from_env() -> Self {
        Self::new(ConfigBase::standard())
    }

    /// `config` as it is, region aside (each lookup goes to its ARN's region).
    pub fn with_config(config: SdkConfig) -> Self {
        Self::new(ConfigBase::Given(config))
    }

    fn new(base: ConfigBase) -> Self {
        BedrockProfiles {
            base,
            clients: Mutex::new(HashMap::new()),
            cache: ProfileCache::default(),
        }
    }

    /// The client for `region`, made on first use.
    async fn client(&self, region: &str) -> Result<Client, String> {
        let base = self.base.config().await;
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = clients.get(region) {
            return Ok(client.clone());
        }
        if clients.len() >= MAX_REGIONS {
            return Err(format!(
                "profiles in more than {MAX_REGIONS} regions: {region} is not looked up"
            ));
        }
        let config = aws_sdk_bedrock::config::Builder::from(base)
            .region(Region::new(region.to_owned()))
            .timeout_config(timeouts(base))
            .build();
        let client = Client::from_conf(config);
        clients.insert(region.to_owned(), client.clone());
        Ok(client)
    }

    /// One uncached lookup: the profile, then its tags.
    async fn lookup(&self, arn: &ProfileArn<'_>) -> Resolution {
        let client = self.client(arn.region).await?;
        let profile = client
            .get_inference_profile()
            .inference_profile_identifier(arn.arn)
            .send()
            .await
            .map_err(|e| format!("GetInferenceProfile: {}", reason(&e)))?;
        let (tags, tags_unavailable) = match client
            .list_tags_for_resource()
            .resource_arn(arn.arn)
            .send()
            .await
        {
            Ok(out) => (
                out.tags()
                    .iter()
                    .take(MAX_TAGS)
                    .map(|t| (clean(t.key()), clean(t.value())))
                    .collect(),
                None,
            ),
            Err(e) => (
                Default::default(),
                Some(format!("ListTagsForResource: {}", reason(&e))),
            ),
        };
        Ok(std::sync::Arc::new(Profile {
            name: clean(profile.inference_profile_name()),
            models: profile
                .models()
                .iter()
                .filter_map(|m| m.model_arn())
                .take(super::MAX_MODELS)
                .map(clean)
                .collect(),
            tags,
            tags_unavailable,
            resolved_by: "bedrock",
        }))
    }
}

#[async_trait]
impl ProfileResolver for BedrockProfiles {
    async fn resolve(&self, arn: &ProfileArn<'_>) -> Resolution {
        self.cache.get(arn.arn, || self.lookup(arn)).await
    }
}

/// A value from AWS as a report shows it: control characters escaped, at most 256 characters.
fn clean(value: &str) -> String {
    clean_text(value, 256).into_owned()
}

/// Why a call failed, in words a report can carry: the service's code and message (e.g.
/// `AccessDeniedException: User ... is not authorized`), or the SDK's account of the failure.
fn reason<E, R>(error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let text = match error.as_service_error().map(|e| (e.code(), e.message())) {
        Some((Some(code), message)) => format!("{code}: {}", message.unwrap_or("(no message)")),
        // No code (not an AWS answer, or an unknown one): the SDK's whole account, status
        // included.
        _ => DisplayErrorContext(error).to_string(),
    };
    clean_text(&text, MAX_REASON_CHARS).into_owned()
}

/// 5 s per attempt and 15 s per call: a lookup answers in well under a second.
fn timeouts(base: &SdkConfig) -> TimeoutConfig {
    crate::aws::timeouts(base, Duration::from_secs(5), Duration::from_secs(15))
}
