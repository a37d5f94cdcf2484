//! The usage domain: Amazon Bedrock model-invocation log records in, usage reports out.
//!
//! Pure and transport-independent: nothing here knows about MCP or HTTP. The MCP tool parses
//! its arguments into a [`UsageQuery`], asks a [`UsageSource`] to collect, and returns the
//! [`UsageReport`] (as JSON matching [`report_json_schema`], and as [`render_text`]).
//!
//! - [`time`]: UTC timestamps and dates, thin newtypes over `chrono` (years 0000–9999, RFC 3339).
//! - [`record`]: one invocation-log record, parsed without building its bodies.
//! - [`query`]: the validated period, granularity, filters and `top_n` of a report.
//! - `aggregate`: the streaming [`Aggregator`] that folds records into counters.
//! - [`report`]: the report contract, its JSON Schema and its text rendering.
//! - [`source`]: the [`UsageSource`] trait, progress and errors; the file and bundled-sample
//!   sources, and the seeded synthetic records the sample (and tests) are made of.
//! - [`change`]: what changed: `compare_to` (the previous period, merged by `compare`) and
//!   `anomalies` (the rule in `anomaly`, over the per-day [`key_series`]), in one or two more
//!   reads of the same source.
//! - [`chart`]: a PNG chart of tokens over time, stacked by model (no fonts or image crates).
//! - [`profiles`]: application inference profiles resolved (Bedrock API, or the sample's
//!   synthetic catalogue) behind a trait, for `by_inference_profile` and the estimate.
//! - [`cost`]: estimated cost from the operator's table and the AWS Price List (no built-in
//!   prices for real data; the bundled sample alone has made-up ones), in integer micro-units
//!   shown as decimal strings.

pub(crate) mod aggregate;
pub(crate) mod anomaly;
pub mod change;
pub mod chart;
pub(crate) mod compare;
pub mod cost;
pub mod key_series;
pub mod profiles;
pub mod query;
pub mod record;
pub mod report;
pub mod source;
pub mod time;

pub use aggregate::Aggregator;
pub use query::{Granularity, QueryError, UsageFilters, UsageQuery};
pub use record::{InvocationRecord, RecordError};
pub use report::{
    Counters, ModelSeries, Period, Row, SourceInfo, SourceKind, UsageReport, Warning, render_text,
    report_json_schema,
};
pub use source::{NoProgress, ProgressSink, SourceError, UsageSource};
pub use time::{Date, TimeError, Timestamp};
