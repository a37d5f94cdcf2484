//! Which log groups and regions a report reads: the server's defaults (one log group, or
//! several merged by [`MultiSource`]), or the one a report names.

use std::sync::Arc;

use super::CloudWatchMode;
use super::client::{ClientCache, LogsClient};
use super::identifier::LogGroupId;
use super::insights::{InsightsOptions, InsightsSource};
use super::scan::{ScanOptions, ScanSource};
use crate::aws::valid_region;
use crate::usage::source::UsageSource;
use crate::usage::source::metrics::{MetricsSource, WithMetricsFallback};
use crate::usage::source::multi::{MultiSource, SourceLabel};

/// Which log groups a report's caller may name (the tool's `log_group_name`): the operator
/// chooses what a report can read, not the caller (nor an LLM steered by a prompt), whatever
/// the credentials would allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CallerLogGroups {
    /// The configured log groups only: a configured ARN, or a configured name (in any
    /// region, as `region` alone allows).
    #[default]
    Configured,
    /// Any log group of the configured accounts: any name (the server's account, any
    /// region), or an ARN of an account a configured ARN names.
    Accounts,
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
    /// Every default log group (the first is `log_group`); several are merged.
    log_groups: Vec<LogGroupId>,
    clients: Arc<ClientCache>,
    insights: InsightsOptions,
    scan: ScanOptions,
    /// Whether a missing log group falls back to the metrics source.
    metrics_fallback: bool,
    /// Which log groups a report may name.
    caller_groups: CallerLogGroups,
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
            log_groups: vec![LogGroupId::parse(&log_group)?],
            log_group,
            region,
            clients,
            insights,
            scan,
            metrics_fallback: false,
            caller_groups: CallerLogGroups::default(),
            // A stand-in (cheap, no I/O), replaced on the next line.
            default: Arc::new(crate::usage::source::SampleSource::new()),
        };
        selector.default = selector.build_default();
        Ok(selector)
    }

    /// The same selector reading `log_groups` (names in its region, or ARNs in theirs) by
    /// default, merged into one report with each one's status when there are several (see
    /// [`MultiSource`]); why not, for an empty list, more than
    /// [`crate::usage::source::multi::MAX_SOURCES`] or the same group twice.
    pub fn with_log_groups(mut self, log_groups: Vec<LogGroupId>) -> Result<Self, String> {
        let first = log_groups
            .first()
            .ok_or("no log group: give at least one")?
            .clone();
        for (i, id) in log_groups.iter().enumerate() {
            let here = id.clone().in_region(self.region.clone());
            if log_groups[..i]
                .iter()
                .any(|other| other.clone().in_region(self.region.clone()) == here)
            {
                return Err(format!("the log group {id} is listed twice"));
            }
        }
        self.log_group = first.as_sent().to_owned();
        self.log_groups = log_groups;
        self.default = self.build_default();
        if self.log_groups.len() > crate::usage::source::multi::MAX_SOURCES {
            return Err(format!(
                "{} log groups: a report reads at most {}",
                self.log_groups.len(),
                crate::usage::source::multi::MAX_SOURCES
            ));
        }
        Ok(self)
    }

    /// The same selector, or why not: a default log group named once by name and once by an
    /// ARN of the server's own account is read twice and every number counted twice.
    ///
    /// A name carries no account, so the rule needs the server's: a name and an ARN with the
    /// same region and name may be one group (the ARN in this account) or two (the same name
    /// in another account, e.g. `/aws/bedrock/modelinvocations` in a source account). Only
    /// then is `sts:GetCallerIdentity` (no IAM permission needed) asked, once; the ARN of this
    /// account is refused. When the account cannot be told, the list is refused too (rather
    /// than risk counting twice): giving every group as an ARN needs no question. Otherwise,
    /// and in the metrics mode (one read per region), nothing touches the network.
    pub async fn refuse_same_group_twice(self) -> Result<Self, String> {
        if self.mode == CloudWatchMode::Metrics || self.log_groups.len() < 2 {
            return Ok(self);
        }
        let region = match &self.region {
            Some(region) => Some(region.clone()),
            None => self.clients.default_region().await,
        };
        let names: Vec<&LogGroupId> = (self.log_groups.iter())
            .filter(|id| id.arn().is_none())
            .collect();
        let suspects: Vec<(&LogGroupId, &LogGroupId)> = (self.log_groups.iter())
            .filter(|id| id.arn().is_some() && id.region() == region.as_deref())
            .filter_map(|arn| {
                let name = names
                    .iter()
                    .find(|n| n.log_group_name() == arn.log_group_name())?;
                Some((*name, arn))
            })
            .collect();
        let Some((name, arn)) = suspects.first() else {
            return Ok(self);
        };
        let account = self.clients.own_account().await.map_err(|e| {
            format!(
                "the log group {name} (in this server's account) and {arn} may be the same                  group, read twice, and this server's account could not be told                  (sts:GetCallerIdentity: {e}): give it once, or give both as ARNs"
            )
        })?;
        if let Some((name, arn)) = suspects
            .iter()
            .find(|(_, arn)| arn.account() == Some(account.as_str()))
        {
            return Err(format!(
                "the log group {name} is listed twice: by name and as {arn}, the same group                  of this server's account {account}; give it once"
            ));
        }
        Ok(self)
    }

    /// The default log groups.
    pub fn log_groups(&self) -> &[LogGroupId] {
        &self.log_groups
    }

    /// The source of the default log groups: one, or several merged.
    fn build_default(&self) -> Arc<dyn UsageSource> {
        self.build_all(&self.log_groups, self.region.as_deref())
    }

    /// `ids` (names in `region`, ARNs in theirs) as one source.
    fn build_all(&self, ids: &[LogGroupId], region: Option<&str>) -> Arc<dyn UsageSource> {
        let mut placed: Vec<LogGroupId> = ids
            .iter()
            .map(|id| id.clone().in_region(region.map(str::to_owned)))
            .collect();
        if self.mode == CloudWatchMode::Metrics {
            // The metrics are the server account's, one set per region: one source per region
            // read, never the same region twice (two log groups there would count it twice).
            let mut seen = Vec::new();
            placed.retain(|id| {
                let fresh = !seen.contains(&id.region().map(str::to_owned));
                seen.push(id.region().map(str::to_owned));
                fresh
            });
        }
        if let [one] = placed.as_slice() {
            return self.build(one.as_sent(), one.region().map(str::to_owned));
        }
        let members = placed
            .iter()
            .map(|id| {
                let label = SourceLabel {
                    log_group: id.log_group_name().to_owned(),
                    region: id.region().map(str::to_owned),
                    account: id.account().map(str::to_owned),
                };
                // No metrics fallback in a merged report: a region's metrics count the whole
                // region, the other log groups' usage too. A missing group is `not_found`.
                let region = id.region().map(str::to_owned);
                (label, self.build_with(id.as_sent(), region, false))
            })
            .collect();
        let cap = self
            .insights
            .max_scan_gb
            .map(crate::usage::source::budget::cap_bytes);
        match MultiSource::new(members, cap, self.insights.max_queries) {
            Ok(multi) => Arc::new(multi),
            // Only an empty or too long list (refused by `with_log_groups`).
            Err(_) => self.build(&self.log_group, self.region.clone()),
        }
    }

    /// The same selector, where a report whose log group does not exist comes from the
    /// `AWS/Bedrock` metrics of its region instead (see [`WithMetricsFallback`]) when `on`.
    pub fn with_metrics_fallback(mut self, on: bool) -> Self {
        self.metrics_fallback = on;
        self.default = self.build_default();
        self
    }

    /// The same selector, where a report may name the log groups `caller_groups` allows
    /// (default: [`CallerLogGroups::Configured`]).
    pub fn with_caller_log_groups(mut self, caller_groups: CallerLogGroups) -> Self {
        self.caller_groups = caller_groups;
        self
    }

    /// Whether a report may name `id`; why not, in a sentence that names what it may.
    fn allows(&self, id: &LogGroupId) -> Result<(), String> {
        let configured = match id.arn() {
            Some(arn) => self.log_groups.iter().any(|g| g.arn() == Some(arn)),
            None => (self.log_groups.iter())
                .any(|g| g.arn().is_none() && g.log_group_name() == id.log_group_name()),
        };
        let in_accounts = match id.account() {
            None => true,
            Some(account) => self.log_groups.iter().any(|g| g.account() == Some(account)),
        };
        if configured || (self.caller_groups == CallerLogGroups::Accounts && in_accounts) {
            return Ok(());
        }
        let listed: Vec<String> = self.log_groups.iter().map(|g| g.to_string()).collect();
        Err(match self.caller_groups {
            CallerLogGroups::Configured => format!(
                "this server does not read the log group {id}: a report may name only its \
                 configured log groups ({}), or none",
                listed.join(", ")
            ),
            CallerLogGroups::Accounts => format!(
                "this server does not read the log group {id}: a report may name a log group \
                 by name, or by an ARN of the accounts of its configured log groups ({})",
                listed.join(", ")
            ),
        })
    }

    fn build(&self, log_group: &str, region: Option<String>) -> Arc<dyn UsageSource> {
        self.build_with(log_group, region, self.metrics_fallback)
    }

    /// The source of one log group, falling back to the metrics when `fallback` says so.
    fn build_with(
        &self,
        log_group: &str,
        region: Option<String>,
        fallback: bool,
    ) -> Arc<dyn UsageSource> {
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
        // Another account's log group (an ARN) has no metrics here: they are the account's own.
        if fallback && !log_group.starts_with("arn:") {
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

    /// The source for a report naming `log_group` (a name or an ARN, one the
    /// [`CallerLogGroups`] allow) and/or `region` (either may be `None`: the default), or why
    /// there is none. A region with the default log groups
    /// reads those named by name in that region (ARNs stay in theirs).
    pub fn source_for(
        &self,
        log_group: Option<&str>,
        region: Option<&str>,
    ) -> Result<Arc<dyn UsageSource>, String> {
        if log_group.is_none() && (region.is_none() || region == self.region.as_deref()) {
            return Ok(self.default.clone());
        }
        if let Some(region) = region
            && !valid_region(region)
        {
            return Err(format!(
                "{region:?} is not an AWS region name such as us-east-1"
            ));
        }
        let Some(group) = log_group else {
            return Ok(self.build_all(&self.log_groups, region));
        };
        let id = LogGroupId::parse(group)?;
        self.allows(&id)?;
        if let (Some(own), Some(asked)) = (id.region(), region)
            && own != asked
        {
            return Err(format!(
                "the log group {id} is in {own}, not in the region {asked} asked for"
            ));
        }
        let id = id.in_region(region.or(self.region.as_deref()).map(str::to_owned));
        Ok(self.build(id.as_sent(), id.region().map(str::to_owned)))
    }

    /// The source of the default log group and region.
    pub fn default_source(&self) -> Arc<dyn UsageSource> {
        self.default.clone()
    }
}

fn check(log_group: &str, region: Option<&str>) -> Result<(), String> {
    LogGroupId::parse(log_group)?;
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
        .unwrap()
        .with_caller_log_groups(CallerLogGroups::Accounts);
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

    #[test]
    fn arns_are_read_in_their_region_and_several_groups_merge() {
        let arn = "arn:aws:logs:eu-west-1:444455556666:log-group:/aws/bedrock/inv";
        let selector =
            CloudWatchSelector::new(CloudWatchMode::Insights, "/local", Some("us-east-1".into()))
                .unwrap()
                .with_log_groups(
                    ["/local", arn]
                        .map(|g| LogGroupId::parse(g).unwrap())
                        .to_vec(),
                )
                .unwrap();
        let one = selector
            .source_for(Some(&format!("{arn}:*")), None)
            .unwrap();
        let info = one.describe();
        assert_eq!(info.log_group.as_deref(), Some(arn), "sent without :*");
        assert_eq!(
            info.region.as_deref(),
            Some("eu-west-1"),
            "the ARN's region"
        );
        let clash = selector.source_for(Some(arn), Some("us-west-2"));
        assert!(clash.is_err_and(|e| e.contains("is in eu-west-1")));
        assert!(selector.source_for(Some("arn:aws:logs:x"), None).is_err());

        let ids = ["/local", arn, "/other"]
            .map(|g| LogGroupId::parse(g).unwrap())
            .to_vec();
        let merged = selector.with_log_groups(ids).unwrap();
        let info = merged.default_source().describe();
        assert_eq!(
            (info.log_group, info.region),
            (None, None),
            "several: see sources"
        );
        assert_eq!(merged.log_groups().len(), 3);
        // The metrics have one set per region: two groups there are read once.
        let metrics =
            CloudWatchSelector::new(CloudWatchMode::Metrics, "/local", Some("us-east-1".into()))
                .unwrap()
                .with_log_groups(
                    ["/local", "/other"]
                        .map(|g| LogGroupId::parse(g).unwrap())
                        .to_vec(),
                )
                .unwrap();
        let info = metrics.default_source().describe();
        assert_eq!(info.kind, SourceKind::CloudwatchMetrics);
        assert_eq!(
            info.region.as_deref(),
            Some("us-east-1"),
            "one source, not a merge"
        );
        let twice = ["/local", "/local"]
            .map(|g| LogGroupId::parse(g).unwrap())
            .to_vec();
        let selector =
            CloudWatchSelector::new(CloudWatchMode::Scan, "/local", Some("us-east-1".into()))
                .unwrap();
        assert!(selector.with_log_groups(twice).is_err());
        assert!(merged.clients().is_empty(), "no client made");
    }

    #[test]
    fn a_caller_names_only_the_groups_the_operator_allows() {
        let own = "arn:aws:logs:eu-west-1:444455556666:log-group:/aws/bedrock/inv";
        let ids = ["/local", own]
            .map(|g| LogGroupId::parse(g).unwrap())
            .to_vec();
        let configured =
            CloudWatchSelector::new(CloudWatchMode::Insights, "/local", Some("us-east-1".into()))
                .unwrap()
                .with_log_groups(ids)
                .unwrap();
        let accounts =
            CloudWatchSelector::new(CloudWatchMode::Insights, "/local", Some("us-east-1".into()))
                .unwrap()
                .with_log_groups(configured.log_groups().to_vec())
                .unwrap()
                .with_caller_log_groups(CallerLogGroups::Accounts);
        let same_account = "arn:aws:logs:us-west-2:444455556666:log-group:/other";
        let stranger = "arn:aws:logs:eu-west-1:999988887777:log-group:/aws/bedrock/inv";
        for selector in [&configured, &accounts] {
            // The configured ones: the name in any region, the ARN with or without :*.
            for (group, region) in [
                ("/local", None),
                ("/local", Some("eu-west-1")),
                (own, None),
                (&format!("{own}:*"), None),
            ] {
                assert!(selector.source_for(Some(group), region).is_ok(), "{group}");
            }
            let refused = selector.source_for(Some(stranger), None).err().unwrap();
            assert!(refused.contains("does not read the log group"), "{refused}");
            assert!(refused.contains(own), "names what it may: {refused}");
        }
        for group in ["/other", same_account] {
            assert!(configured.source_for(Some(group), None).is_err(), "{group}");
            assert!(accounts.source_for(Some(group), None).is_ok(), "{group}");
        }
        assert!(configured.clients().is_empty(), "refused before any client");
    }
}
