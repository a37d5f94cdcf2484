//! CloudWatch Logs clients, made on first use and cached per region.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::Region;
use aws_sdk_cloudwatchlogs::config::timeout::TimeoutConfig;
use aws_sdk_cloudwatchlogs::operation::filter_log_events::FilterLogEventsError;
use aws_sdk_cloudwatchlogs::operation::get_query_results::GetQueryResultsError;
use aws_sdk_cloudwatchlogs::operation::start_query::StartQueryError;
use aws_sdk_cloudwatchlogs::operation::stop_query::StopQueryError;

use crate::aws::{ConfigBase, RetryCodes};
use crate::usage::source::SourceError;

/// CloudWatch Logs' code for a passing outage. It is modeled as a server error but not as
/// retryable, and the SDK retries it only when it comes with a 5xx status; retried here
/// whatever the status (the SDK's own list already has `ThrottlingException` and
/// `LimitExceededException`, which Logs Insights returns when too many queries run).
const TRANSIENT_CODES: &[&str] = &["ServiceUnavailableException"];

/// How long CloudWatch Logs calls may take. Without a deadline, a call to an endpoint that
/// accepts the connection and never answers holds the request (on Lambda, an invocation and a
/// unit of concurrency) until the function's own timeout, 900 s by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallTimeouts {
    /// One HTTP attempt: a `FilterLogEvents` page or a Logs Insights call answers in a few
    /// seconds at most.
    pub attempt: Duration,
    /// One call with the SDK's retries and their pauses.
    pub call: Duration,
}

impl CallTimeouts {
    /// 10 s per attempt, 30 s per call.
    pub const DEFAULT: CallTimeouts = CallTimeouts {
        attempt: Duration::from_secs(10),
        call: Duration::from_secs(30),
    };

    /// The SDK's timeout configuration: these two, and the rest (connect, read) from `base`.
    pub(crate) fn config(&self, base: &SdkConfig) -> TimeoutConfig {
        crate::aws::timeouts(base, self.attempt, self.call)
    }
}

/// At most this many regions' clients are kept (as `profiles::bedrock::MAX_REGIONS`): a
/// caller names regions (`region`, a log group ARN), and each kept client holds memory until
/// the process ends. AWS has fewer regions; past this many, a client is made for the call and
/// not kept, so a caller looping over made-up region names grows nothing.
pub const MAX_REGIONS: usize = 40;

/// One CloudWatch Logs client per region, made on first use and then reused (they share the
/// configuration, the credentials cache and the HTTPS connection pool), for at most
/// `MAX_REGIONS` regions.
///
/// Making the cache does no I/O: the AWS configuration (environment, profile, endpoint) is
/// loaded the first time a client is asked for, and credentials on the first request.
#[derive(Debug)]
pub struct ClientCache {
    base: ConfigBase,
    timeouts: CallTimeouts,
    clients: Mutex<HashMap<Option<String>, Client>>,
}

impl ClientCache {
    /// Clients from the standard AWS configuration (`crate::aws::load_config`: `AWS_REGION`,
    /// `AWS_PROFILE`, `AWS_ENDPOINT_URL`, the credential chain, the crate's HTTPS client and
    /// retry policy). The default region comes from the environment or the profile, never
    /// from instance metadata.
    pub fn from_env() -> Self {
        ClientCache {
            base: ConfigBase::standard(),
            timeouts: CallTimeouts::DEFAULT,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Clients from `config` (its region is the default one, its retry configuration the
    /// one they use).
    pub fn with_config(config: SdkConfig) -> Self {
        ClientCache {
            base: ConfigBase::Given(config),
            timeouts: CallTimeouts::DEFAULT,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The same cache with other call timeouts ([`CallTimeouts::DEFAULT`] unless set).
    pub fn with_timeouts(mut self, timeouts: CallTimeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// The client for `region`, or for the configuration's default region when `None`.
    pub async fn client(&self, region: Option<&str>) -> Result<Client, SourceError> {
        let key = region.map(str::to_owned);
        if let Some(client) = self.lock().get(&key) {
            return Ok(client.clone());
        }
        let base = self.base.config().await;
        let mut builder = aws_sdk_cloudwatchlogs::config::Builder::from(base)
            .timeout_config(self.timeouts.config(base))
            .retry_classifier(RetryCodes::<StartQueryError>::new(TRANSIENT_CODES))
            .retry_classifier(RetryCodes::<GetQueryResultsError>::new(TRANSIENT_CODES))
            .retry_classifier(RetryCodes::<StopQueryError>::new(TRANSIENT_CODES))
            .retry_classifier(RetryCodes::<FilterLogEventsError>::new(TRANSIENT_CODES));
        if let Some(region) = region {
            builder = builder.region(Region::new(region.to_owned()));
        }
        let config = builder.build();
        if config.region().is_none() {
            return Err(SourceError::Backend(
                "no AWS region for CloudWatch Logs: pass --region, set AWS_REGION, or give the \
                 tool a region"
                    .to_owned(),
            ));
        }
        let client = Client::from_conf(config);
        let mut clients = self.lock();
        if clients.len() >= MAX_REGIONS && !clients.contains_key(&key) {
            return Ok(client);
        }
        Ok(clients.entry(key).or_insert(client).clone())
    }

    /// The configuration's default region (loaded now if needed), if it has one.
    pub(crate) async fn default_region(&self) -> Option<String> {
        let base = self.base.config().await;
        base.region().map(|r| r.to_string())
    }

    /// The account of the server's credentials, from `sts:GetCallerIdentity` (which needs no
    /// IAM permission), or why it is unknown.
    pub(crate) async fn own_account(&self) -> Result<String, String> {
        let base = self.base.config().await;
        let config = aws_sdk_sts::config::Builder::from(base)
            .timeout_config(self.timeouts.config(base))
            .build();
        let answer = aws_sdk_sts::Client::from_conf(config)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| {
                let text = aws_sdk_sts::error::DisplayErrorContext(e).to_string();
                text.chars().take(300).collect::<String>()
            })?;
        answer
            .account()
            .map(str::to_owned)
            .ok_or_else(|| "sts:GetCallerIdentity named no account".to_owned())
    }

    /// The AWS configuration clients are made from (loaded now if needed), and the call
    /// timeouts they get: for clients of other CloudWatch APIs (metrics).
    pub(crate) async fn base(&self) -> (SdkConfig, CallTimeouts) {
        let base = self.base.config().await.clone();
        (base, self.timeouts)
    }

    /// How many clients have been made so far.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no client has been made yet (nothing touched the network).
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Option<String>, Client>> {
        self.clients.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The client a source uses: a ready one, or one the [`ClientCache`] makes on first use.
#[derive(Debug, Clone)]
pub struct LogsClient {
    inner: Inner,
}

#[derive(Debug, Clone)]
enum Inner {
    Ready(Client),
    Lazy {
        cache: Arc<ClientCache>,
        region: Option<String>,
    },
}

impl LogsClient {
    /// A ready client.
    pub fn ready(client: Client) -> Self {
        LogsClient {
            inner: Inner::Ready(client),
        }
    }

    /// The client of `cache` for `region` (`None`: the default region), made when first used.
    pub(crate) fn lazy(cache: Arc<ClientCache>, region: Option<String>) -> Self {
        LogsClient {
            inner: Inner::Lazy { cache, region },
        }
    }

    /// The region asked for, when known without loading the configuration.
    pub(crate) fn region_hint(&self) -> Option<String> {
        match &self.inner {
            Inner::Ready(client) => client.config().region().map(|r| r.to_string()),
            Inner::Lazy { region, .. } => region.clone(),
        }
    }

    /// The client, made now if needed, and its region.
    pub async fn get(&self) -> Result<(Client, Option<String>), SourceError> {
        let client = match &self.inner {
            Inner::Ready(client) => client.clone(),
            Inner::Lazy { cache, region } => cache.client(region.as_deref()).await?,
        };
        let region = client.config().region().map(|r| r.to_string());
        Ok((client, region))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_config::BehaviorVersion;

    #[tokio::test]
    async fn every_client_has_the_call_timeouts_and_keeps_the_base_connect_timeout() {
        let connect = Duration::from_millis(1234);
        let base = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .timeout_config(TimeoutConfig::builder().connect_timeout(connect).build())
            .build();
        let cache = ClientCache::with_config(base);
        for region in [None, Some("eu-west-1")] {
            let client = cache.client(region).await.unwrap();
            let timeouts = client.config().timeout_config().unwrap();
            assert_eq!(
                timeouts.operation_attempt_timeout(),
                Some(Duration::from_secs(10))
            );
            assert_eq!(timeouts.operation_timeout(), Some(Duration::from_secs(30)));
            assert_eq!(timeouts.connect_timeout(), Some(connect));
        }
    }

    #[tokio::test]
    async fn made_up_regions_keep_at_most_max_regions_clients() {
        let base = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .build();
        let cache = ClientCache::with_config(base);
        for i in 0..MAX_REGIONS + 25 {
            let region = format!("a{i}");
            let client = cache.client(Some(&region)).await.unwrap();
            // Past the bound the client still works: it is made for the call, not kept.
            assert_eq!(
                client.config().region().map(|r| r.to_string()),
                Some(region)
            );
        }
        assert_eq!(cache.len(), MAX_REGIONS);
        // A kept region is still reused.
        cache.client(Some("a0")).await.unwrap();
        assert_eq!(cache.len(), MAX_REGIONS);
    }
}
