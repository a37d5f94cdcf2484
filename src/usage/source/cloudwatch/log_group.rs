//! What both CloudWatch sources are: a log group read through a (lazy) client, with options
//! that say how. [`InsightsSource`](super::InsightsSource) and
//! [`ScanSource`](super::ScanSource) are this type with their own options, and differ only in
//! how they collect.

use super::client::LogsClient;
use crate::usage::source::{SourceInfo, SourceKind};

/// The options of one way of reading a log group, naming the kind of source it makes.
pub trait ReadOptions: Default {
    /// The `source.kind` of reports read this way.
    const KIND: SourceKind;
}

/// Usage from a CloudWatch log group, read as `O` says.
#[derive(Debug, Clone)]
pub struct LogGroupSource<O> {
    pub(super) client: LogsClient,
    pub(super) log_group: String,
    pub(super) options: O,
}

impl<O: ReadOptions> LogGroupSource<O> {
    /// A source reading `log_group` through `client` with the default options. Makes no
    /// request.
    pub fn new(client: LogsClient, log_group: impl Into<String>) -> Self {
        LogGroupSource {
            client,
            log_group: log_group.into(),
            options: O::default(),
        }
    }

    /// Replaces the options.
    pub fn with_options(mut self, options: O) -> Self {
        self.options = options;
        self
    }

    /// The log group read.
    pub fn log_group(&self) -> &str {
        &self.log_group
    }

    /// What reports say of this source, in `region` (the one the client resolved, if known).
    pub(super) fn info(&self, region: Option<String>) -> SourceInfo {
        SourceInfo {
            kind: O::KIND,
            log_group: Some(self.log_group.clone()),
            region,
        }
    }

    /// [`Self::info`] before any request: the region as far as it is known without one.
    pub(super) fn describe_source(&self) -> SourceInfo {
        self.info(self.client.region_hint())
    }
}
