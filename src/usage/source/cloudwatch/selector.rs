//! Which log group and region a report reads: the server's defaults, or those a report names.

use std::sync::Arc;

use super::CloudWatchMode;
use super::client::{ClientCache, LogsClient};
use super::insights::{InsightsOptions, InsightsSource};
use super::scan::{ScanOptions, ScanSource};
use crate::aws::valid_region;
use crate::usage::source::UsageSource;
use crate::usage::source::metrics::{MetricsSource, WithMetricsFallback};

/// Whether `name` is a valid CloudWatch log group name: 1 to 512 of `A-Z a-z 0-9 . _ - / #`.
pub(crate) fn valid_log_group_name(name: &str) -> bool {
    (1..=512).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-/#".contains(&b))
}

/// The CloudWatch sources of a server: a default log group and region, and any other the
/// report names, read in one [`CloudWatchMode`]. Clients are made per region on first use
/// (see [`ClientCache`]); making a selector does no I/O.
///
/// The MCP tool reaches it through `tools::SourceSelector`.
pub struct CloudWatchSelector {
    mode: CloudWatchMode,
    log_group: String,
    region: Option<String>,
    clients: Arc<ClientCache>,
    insights: InsightsOptions,
    scan: ScanOptions,
    /// Whether a missing log group falls back to the metrics source.
    metrics_fallback: bool,
    default: Arc<dyn UsageSource>,
}

impl std::fmt::Debug for CloudWatchSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudWatchSelector")
            .field("mode", &self.mode)
            .field("log_group", &self.log_group)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl CloudWatchSelector {
    /// Reads `log_group` in `region` (`None`: the AWS configuration's region) by default,
    /// with clients from the standard AWS configuration.
    pub fn new(
        mode: CloudWatchMode,
        log_group: impl Into<String>,
        region: Option<String>,
    ) -> Result<Self, String> {
        Self::with_clients(mode, log_group, region, Arc::new(ClientCache::from_env()))
    }

    /// Like [`Self::new`], with clients from `clients`.
    pub fn with_clients(
        mode: CloudWatchMode,
        log_group: impl Into<String>,
        region: Option<String>,
        clients: Arc<ClientCache>,
    ) -> Result<Self, String> {
        Self::with_options(
            mode,
            log_group,
            region,
            clients,
            InsightsOptions::default(),
            ScanOptions::default(),
        )
    }

    /// Like [`Self::with_clients`], with the sources' options.
    pub fn with_options(
        mode: CloudWatchMode,
        log_group: impl Into<String>,
        region: Option<String>,
        clients: Arc<ClientCache>,
        insights: InsightsOptions,
        scan: ScanOptions,
    ) -> Result<Self, String> {
        let log_group = log_group.into();
        check(&log_group, region.as_deref())?;
        let mut selector = CloudWatchSelector {
            mode,
            log_group,
            region,
            clients,
            insights,
            scan,
            metrics_fallback: false,
            // A stand-in (cheap, no I/O), replaced on the next line.
            default: Arc::new(crate::usage::source::SampleSource::new()),
        };
        selector.default = selector.build(&selector.log_group, selector.region.clone());
        Ok(selector)
    }

    /// The same selector, where a report whose log group does not exist comes from the
    /// `AWS/Bedrock` metrics of its region instead (see [`WithMetricsFallback`]) when `on`.
    pub fn with_metrics_fallback(mut self, on: bool) -> Self {
        self.metrics_fallback = on;
        self.default = self.build(&self.log_group, self.region.clone());
        self
    }

    fn build(&self, log_group: &str, region: Option<String>) -> Arc<dyn UsageSource> {
        let metrics = || MetricsSource::new(self.clients.clone(), region.clone());
        let client = LogsClient::lazy(self.clients.clone(), region.clone());
        let logs: Arc<dyn UsageSource> = match self.mode {
            CloudWatchMode::Metrics => return Arc::new(metrics()),
            CloudWatchMode::Insights => {
                Arc::new(InsightsSource::new(client, log_group).with_options(self.insights.clone()))
            }
            CloudWatchMode::Scan => {
                Arc::new(ScanSource::new(client, log_group).with_options(self.scan.clone()))
            }
        };
        if self.metrics_fallback {
            Arc::new(WithMetricsFallback::new(logs, metrics()))
        } else {
            logs
        }
    }

    /// How log groups are read.
    pub fn mode(&self) -> CloudWatchMode {
        self.mode
    }

    /// The clients made so far.
    pub fn clients(&self) -> &Arc<ClientCache> {
        &self.clients
    }

    /// The source for a report naming `log_group` and/or `region` (either may be `None`: the
    /// default), or why there is none.
    pub fn source_for(
        &self,
        log_group: Option<&str>,
        region: Option<&str>,
    ) -> Result<Arc<dyn UsageSource>, String> {
        let group = log_group.unwrap_or(&self.log_group);
        let region = region.or(self.region.as_deref());
        if group == self.log_group && region == self.region.as_deref() {
            return Ok(self.default.clone());
        }
        check(group, region)?;
        Ok(self.build(group, region.map(str::to_owned)))
    }

    /// The source of the default log group and region.
    pub fn default_source(&self) -> Arc<dyn UsageSource> {
        self.default.clone()
    }
}

fn check(log_group: &str, region: Option<&str>) -> Result<(), String> {
    if !valid_log_group_name(log_group) {
        return Err(format!(
            "{log_group:?} is not a CloudWatch log group name (1 to 512 of A-Z a-z 0-9 . _ - / #)"
        ));
    }
    if let Some(region) = region
        && !valid_region(region)
    {
        return Err(format!(
            "{region:?} is not an AWS region name such as us-east-1"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::source::SourceKind;

    #[test]
    fn names_are_checked_and_defaults_apply() {
        let selector = CloudWatchSelector::new(
            CloudWatchMode::Scan,
            "/aws/bedrock/invocations",
            Some("eu-west-1".into()),
        )
        .unwrap();
        let info = selector.source_for(None, None).unwrap().describe();
        assert_eq!(info.kind, SourceKind::CloudwatchScan);
        assert_eq!(info.log_group.as_deref(), Some("/aws/bedrock/invocations"));
        assert_eq!(info.region.as_deref(), Some("eu-west-1"));
        let other = selector
            .source_for(Some("other"), Some("us-west-2"))
            .unwrap()
            .describe();
        assert_eq!(
            (other.log_group.as_deref(), other.region.as_deref()),
            (Some("other"), Some("us-west-2"))
        );
        assert!(selector.source_for(Some("bad name"), None).is_err());
        assert!(
            selector
                .source_for(None, Some("us-east-1.evil.com"))
                .is_err()
        );
        assert!(selector.source_for(None, Some("US-EAST-1")).is_err());
        assert!(CloudWatchSelector::new(CloudWatchMode::Insights, "", None).is_err());
        // Nothing was loaded or made.
        assert!(selector.clients().is_empty());
    }
}
