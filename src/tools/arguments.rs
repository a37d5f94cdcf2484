//! The arguments of `get_bedrock_usage_report`, parsed and checked into a usage query.

use rmcp::model::JsonObject;
use serde::Deserialize;
use serde_json::{Value, json};

use std::collections::BTreeMap;

use crate::usage::change::ChangeOptions;
use crate::usage::query::{MAX_GROUP_BY_METADATA, check_metadata_keys};
use crate::usage::report::CompareTo;
use crate::usage::{Date, Granularity, Timestamp, UsageFilters, UsageQuery};

/// The most days a report may cover.
pub(crate) const MAX_DAYS: u32 = 365;
/// The default number of days.
pub(crate) const DEFAULT_DAYS: u32 = 7;

/// The tool's arguments as sent.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportArguments {
    pub days: Option<u32>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub region: Option<String>,
    pub log_group_name: Option<String>,
    pub aws_account_id: Option<String>,
    pub model_id: Option<String>,
    pub user: Option<String>,
    pub granularity: Option<String>,
    pub top_n: Option<u32>,
    #[serde(default)]
    pub include_chart: bool,
    pub inference_region: Option<String>,
    /// An application inference profile ARN.
    pub inference_profile: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// `None`: the server's default keys.
    pub group_by_metadata: Option<Vec<String>>,
    /// `"previous_period"`: compare with the period before.
    pub compare_to: Option<String>,
    /// List what jumped against its trailing baseline.
    #[serde(default)]
    pub anomalies: bool,
}

/// What the tool will do.
#[derive(Debug, Clone)]
pub(crate) struct ReportRequest {
    pub query: UsageQuery,
    pub log_group_name: Option<String>,
    pub region: Option<String>,
    pub include_chart: bool,
    /// `compare_to` and `anomalies`.
    pub change: ChangeOptions,
}

impl ReportArguments {
    /// Reads the arguments; the message says what is wrong in words a model can act on.
    pub fn parse(arguments: &JsonObject) -> Result<Self, String> {
        serde_json::from_value(Value::Object(arguments.clone()))
            .map_err(|e| format!("invalid arguments: {e}"))
    }

    /// Checks the arguments and builds the query, with `today` as the last day of `days`.
    pub fn into_request(
        self,
        today: Date,
        default_group_by_metadata: &[String],
    ) -> Result<ReportRequest, String> {
        let granularity = match self.granularity.as_deref() {
            None => Granularity::Day,
            Some(g) => g.parse()?,
        };
        let query = match (&self.start, &self.end, self.days) {
            (None, None, days) => {
                let days = days.unwrap_or(DEFAULT_DAYS);
                if !(1..=MAX_DAYS).contains(&days) {
                    return Err(format!("days must be between 1 and {MAX_DAYS}, got {days}"));
                }
                UsageQuery::last_days(today, days, granularity).map_err(|e| e.to_string())?
            }
            (Some(start), Some(end), None) => {
                let start = Timestamp::parse_rfc3339(start)
                    .map_err(|e| format!("start is not an RFC 3339 time: {e}"))?;
                let end = Timestamp::parse_rfc3339(end)
                    .map_err(|e| format!("end is not an RFC 3339 time: {e}"))?;
                let span = end.unix_seconds() - start.unix_seconds();
                if span > i64::from(MAX_DAYS) * 86_400 {
                    return Err(format!("the period may cover at most {MAX_DAYS} days"));
                }
                UsageQuery::new(start, end, granularity).map_err(|e| e.to_string())?
            }
            (Some(_), Some(_), Some(_)) => {
                return Err("give either days or start and end, not both".into());
            }
            _ => return Err("start and end go together".into()),
        };
        let top_n = self.top_n.unwrap_or(20);
        if !(1..=1000).contains(&top_n) {
            return Err(format!("top_n must be between 1 and 1000, got {top_n}"));
        }
        check_metadata_keys("metadata", self.metadata.keys()).map_err(|e| e.to_string())?;
        if let Some((key, _)) = self
            .metadata
            .iter()
            .find(|(_, v)| v.chars().any(char::is_control))
        {
            return Err(format!(
                "metadata: the value of {key:?} has a control character, which no logged value has"
            ));
        }
        if let Some(arn) = self.inference_profile.as_deref().filter(|a| !a.is_empty()) {
            crate::usage::profiles::ProfileArn::parse(arn)
                .map_err(|e| format!("inference_profile: {e}"))?;
        }
        let filters = UsageFilters {
            region: self.region.clone(),
            aws_account_id: self.aws_account_id,
            model_id: self.model_id,
            user: self.user,
            inference_region: self.inference_region,
            inference_profile: self.inference_profile,
            metadata: self.metadata,
        };
        let compare_to = match self.compare_to.as_deref() {
            None | Some("") => None,
            Some(c) => Some(c.parse::<CompareTo>()?),
        };
        let group_by = self
            .group_by_metadata
            .unwrap_or_else(|| default_group_by_metadata.to_vec());
        let query = query
            .with_filters(filters)
            .with_top_n(top_n as usize)
            .with_group_by_metadata(group_by)
            .map_err(|e| e.to_string())?;
        Ok(ReportRequest {
            query,
            log_group_name: self.log_group_name.filter(|g| !g.is_empty()),
            region: self.region.filter(|r| !r.is_empty()),
            include_chart: self.include_chart,
            change: ChangeOptions {
                compare_to,
                anomalies: self.anomalies,
            },
        })
    }
}

/// What a metadata key may be (see [`crate::usage::query::valid_metadata_key`]).
const METADATA_KEY_PATTERN: &str = r"^[a-zA-Z0-9 ._:/=+$@-]{1,256}$";

/// The input schema published in `tools/list`.
pub(crate) fn input_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "days": { "type": "integer", "minimum": 1, "maximum": MAX_DAYS, "default": DEFAULT_DAYS,
                      "description": "Whole UTC days ending today. Use either days, or start and end." },
            "start": { "type": "string", "format": "date-time", "description": "Start of the period (RFC 3339, inclusive)." },
            "end": { "type": "string", "format": "date-time", "description": "End of the period (RFC 3339, exclusive)." },
            "region": { "type": "string", "description": "AWS region: only records logged in this region (for CloudWatch sources, also the region queried)." },
            "log_group_name": { "type": "string", "description": "CloudWatch log group of the invocation logs, if not the server's default(s): a name (in the region) or an ARN (arn:aws:logs:REGION:ACCOUNT:log-group:NAME, e.g. another account's group seen through CloudWatch cross-account observability). Only a log group the operator allows: the server's configured ones unless it was started with --caller-log-groups accounts." },
            "aws_account_id": { "type": "string", "description": "Only records of this AWS account (the record's accountId)." },
            "model_id": { "type": "string", "description": "Only this modelId (as logged: a model id, an inference profile id or an ARN)." },
            "user": { "type": "string", "description": "Only this caller (the record's identity.arn)." },
            "granularity": { "type": "string", "enum": ["day", "hour"], "default": "day", "description": "Time-series bucket size." },
            "top_n": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 20,
                       "description": "Entries kept per breakdown; the rest is folded into one (other) entry." },
            "include_chart": { "type": "boolean", "default": false, "description": "Also return a PNG chart of tokens per day by model." },
            "inference_region": { "type": "string", "description": "Only records that ran in this region (the record's inferenceRegion, set by cross-region inference profiles)." },
            "inference_profile": { "type": "string", "description": "Only calls made through this application inference profile (its ARN, arn:aws:bedrock:REGION:ACCOUNT:application-inference-profile/ID, as logged in modelId)." },
            "metadata": {
                "type": "object", "maxProperties": MAX_GROUP_BY_METADATA,
                "propertyNames": { "pattern": METADATA_KEY_PATTERN },
                "additionalProperties": { "type": "string" },
                "description": "Only records whose requestMetadata (Converse requestMetadata, InvokeModel X-Amzn-Bedrock-Request-Metadata header) has each of these keys with exactly this value, e.g. {\"team\": \"search\"}.",
            },
            "group_by_metadata": {
                "type": "array", "maxItems": MAX_GROUP_BY_METADATA,
                "items": { "type": "string", "pattern": METADATA_KEY_PATTERN },
                "description": "requestMetadata keys to break usage down by (by_metadata), e.g. [\"team\"]; records without the key are counted under (none). Omitted: the server's default keys; [] for none.",
            },
            "compare_to": {
                "type": "string", "enum": ["previous_period"],
                "description": "Compare with the period of the same length just before (same filters and breakdowns): each breakdown entry gains previous (that period's counters) and change (absolute, and relative as a fraction; null when the previous value is 0), entries only the previous period had are listed with current zeros, and compare_to gives that period and its totals. One more read of the logs.",
            },
            "anomalies": {
                "type": "boolean", "default": false,
                "description": "List the days, models, users and metadata values whose daily tokens or errors exceed median + 5 * max(MAD, 0.1 * median) of their previous 14 days (at least 7 days of history; at least 100,000 tokens or 10 errors), with value, median, MAD and threshold. Reads the 14 days before the period too (unless compare_to already does).",
            },
        },
        "additionalProperties": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> Date {
        Date::from_ymd(2026, 11, 25).unwrap()
    }

    fn parse(args: Value) -> Result<ReportRequest, String> {
        ReportArguments::parse(args.as_object().unwrap())?.into_request(today(), &[])
    }

    #[test]
    fn defaults_to_a_week_of_days() {
        let request = parse(json!({})).unwrap();
        assert_eq!(request.query.start().to_rfc3339(), "2026-11-19T00:00:00Z");
        assert_eq!(request.query.end().to_rfc3339(), "2026-11-26T00:00:00Z");
    }

    #[test]
    fn rejects_bad_arguments_with_a_reason() {
        for (args, reason) in [
            (json!({ "days": 0 }), "between 1"),
            (json!({ "days": 366 }), "between 1"),
            (json!({ "start": "2026-01-01T00:00:00Z" }), "go together"),
            (
                json!({ "start": "yesterday", "end": "2026-01-01T00:00:00Z" }),
                "RFC 3339",
            ),
            (json!({ "granularity": "week" }), "granularity"),
            (json!({ "top_n": 0 }), "top_n"),
            (json!({ "bogus": 1 }), "unknown field"),
            (json!({ "days": "7" }), "invalid"),
            (
                json!({ "inference_profile": "us.amazon.nova-pro-v1:0" }),
                "inference_profile: not an application inference profile ARN",
            ),
        ] {
            let error = parse(args.clone()).unwrap_err();
            assert!(error.contains(reason), "{args}: {error}");
        }
    }
}
