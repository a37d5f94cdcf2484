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

use super::cache::{Lookup, ProfileCache};
use super::{MAX_TAGS, Profile, ProfileArn, ProfileResolver, Resolution};
use crate::aws::ConfigBase;
use crate::usage::record::clean_text;

/// The most regions a process keeps clients for (regions come from logged ARNs). When full,
/// the clients of regions where no lookup has succeeded are let go first, so made-up or
/// unreachable regions cannot keep a real one out for good.
pub const MAX_REGIONS: usize = 40;

/// The longest reason kept from an AWS error.
const MAX_REASON_CHARS: usize = 300;

/// Resolves profiles through the Bedrock control-plane API; see the module docs.
#[derive(Debug)]
pub struct BedrockProfiles {
    /// The standard configuration (loaded on first use), or one given up front (tests).
    base: ConfigBase,
    /// Each region's client, and whether a lookup there has succeeded.
    clients: Mutex<HashMap<String, (Client, bool)>>,
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
        if let Some((client, _)) = clients.get(region) {
            return Ok(client.clone());
        }
        if clients.len() >= MAX_REGIONS {
            clients.retain(|_, (_, answered)| *answered);
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
        clients.insert(region.to_owned(), (client.clone(), false));
        Ok(client)
    }

    /// Notes that a lookup in `region` succeeded: its client is kept when the table is full.
    fn answered(&self, region: &str) {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, answered)) = clients.get_mut(region) {
            *answered = true;
        }
    }

    /// One uncached lookup, and whether a failure is passing (throttled, timed out).
    async fn lookup(&self, arn: &ProfileArn<'_>) -> Lookup {
        let client = match self.client(arn.region).await {
            Ok(client) => client,
            // A full table may have room soon.
            Err(why) => return (Err(why), true),
        };
        let profile = match client
            .get_inference_profile()
            .inference_profile_identifier(arn.arn)
            .send()
            .await
        {
            Ok(profile) => profile,
            Err(e) => {
                let passing = passing(&e);
                if !passing {
                    // Bedrock answered (denied, not found): the region is real.
                    self.answered(arn.region);
                }
                return (Err(format!("GetInferenceProfile: {}", reason(&e))), passing);
            }
        };
        self.answered(arn.region);
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
        let profile = Ok(std::sync::Arc::new(Profile {
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
        }));
        (profile, false)
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

/// Whether a failed call may well succeed soon: no answer (timeout, connection, unreadable
/// response) or a throttling or server-side error code.
fn passing<E, R>(error: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    match error {
        SdkError::ConstructionFailure(_) => false,
        SdkError::ServiceError(e) => passing_code(e.err().code()),
        _ => true,
    }
}

/// Whether an AWS error code says "try again later".
fn passing_code(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "ThrottlingException"
                | "TooManyRequestsException"
                | "ServiceUnavailableException"
                | "InternalServerException"
                | "RequestTimeout"
                | "RequestTimeoutException"
        )
    )
}

/// 5 s per attempt and 15 s per call: a lookup answers in well under a second.
fn timeouts(base: &SdkConfig) -> TimeoutConfig {
    crate::aws::timeouts(base, Duration::from_secs(5), Duration::from_secs(15))
}

#[cfg(test)]
mod tests {
    use aws_config::BehaviorVersion;

    use super::*;

    fn resolver() -> BedrockProfiles {
        let config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .build();
        BedrockProfiles::with_config(config)
    }

    #[tokio::test]
    async fn regions_where_nothing_succeeded_make_room_for_new_ones() {
        let profiles = resolver();
        for i in 0..MAX_REGIONS {
            profiles.client(&format!("made-up-{i}")).await.unwrap();
        }
        // None has answered: a new region pushes them out instead of being refused.
        profiles.client("eu-west-1").await.unwrap();
        assert_eq!(profiles.clients.lock().unwrap().len(), 1);
        profiles.answered("eu-west-1");
        for i in 0..MAX_REGIONS - 1 {
            profiles.client(&format!("real-{i}")).await.unwrap();
            profiles.answered(&format!("real-{i}"));
        }
        // Every kept region has answered: the table is full.
        let refused = profiles.client("us-east-1").await.unwrap_err();
        assert!(refused.contains("more than 40 regions"), "{refused}");
        assert!(profiles.clients.lock().unwrap().contains_key("eu-west-1"));
    }

    #[test]
    fn throttling_and_timeouts_are_passing_denials_are_not() {
        assert!(passing_code(Some("ThrottlingException")));
        assert!(passing_code(Some("ServiceUnavailableException")));
        assert!(!passing_code(Some("AccessDeniedException")));
        assert!(!passing_code(Some("ResourceNotFoundException")));
        assert!(!passing_code(None));
        let timeout: SdkError<
            aws_sdk_bedrock::operation::get_inference_profile::GetInferenceProfileError,
            (),
        > = SdkError::timeout_error("no answer");
        assert!(passing(&timeout));
    }
}
