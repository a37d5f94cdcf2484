//! Choosing the usage source of one report.

use std::sync::Arc;

use crate::usage::UsageSource;
use crate::usage::source::CloudWatchSelector;

/// Picks the source a report reads, given the tool's optional `log_group_name` and `region`.
pub trait SourceSelector: Send + Sync {
    /// The source for these arguments, or a message saying why there is none.
    fn select(
        &self,
        log_group: Option<&str>,
        region: Option<&str>,
    ) -> Result<Arc<dyn UsageSource>, String>;

    /// The source used when the arguments name none.
    fn default_source(&self) -> Arc<dyn UsageSource>;
}

/// One local source (a file or the bundled sample); `region` is only a record filter there.
pub struct FixedSource(pub Arc<dyn UsageSource>);

impl SourceSelector for FixedSource {
    fn select(
        &self,
        log_group: Option<&str>,
        _region: Option<&str>,
    ) -> Result<Arc<dyn UsageSource>, String> {
        match log_group {
            None => Ok(self.0.clone()),
            Some(group) => Err(format!(
                "this server reads {} and cannot query the log group {group}; \
                 start it with --log-group to read CloudWatch Logs",
                self.0.describe().kind.as_str()
            )),
        }
    }

    fn default_source(&self) -> Arc<dyn UsageSource> {
        self.0.clone()
    }
}

/// CloudWatch Logs: the server's log group and region, or those the arguments name (clients
/// are made per region on first use, so selecting does no I/O).
impl SourceSelector for CloudWatchSelector {
    fn select(
        &self,
        log_group: Option<&str>,
        region: Option<&str>,
    ) -> Result<Arc<dyn UsageSource>, String> {
        self.source_for(log_group, region)
    }

    fn default_source(&self) -> Arc<dyn UsageSource> {
        CloudWatchSelector::default_source(self)
    }
}
