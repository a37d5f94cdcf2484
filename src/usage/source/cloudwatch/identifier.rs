//! A log group as the operator names it: a name (in the server's region and account) or an
//! ARN, which carries its region and account, e.g. a source account's log group seen from a
//! CloudWatch cross-account observability monitoring account.
//!
//! The ARN is accepted as `arn:PARTITION:logs:REGION:ACCOUNT:log-group:NAME`, with or without
//! the `:*` that `DescribeLogGroups` (`arn`) and IAM policies put after the name; it is kept
//! without it, the form `StartQuery`'s `logGroupIdentifiers` and `FilterLogEvents`'
//! `logGroupIdentifier` take ("Don't include an * at the end"). A name is sent as
//! `logGroupName`, as before; an ARN as an identifier, which the monitoring account needs for
//! a source account's log group.

use std::fmt;

use crate::aws::valid_region;

/// Whether `name` is a valid CloudWatch log group name: 1 to 512 of `A-Z a-z 0-9 . _ - / #`.
pub(crate) fn valid_log_group_name(name: &str) -> bool {
    (1..=512).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-/#".contains(&b))
}

/// A log group named by name or by ARN.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LogGroupId {
    name: String,
    /// From the ARN; `None` for a plain name (the server's region).
    region: Option<String>,
    /// From the ARN; `None` for a plain name (the server's account).
    account: Option<String>,
    /// The ARN without `:*`, when given as one.
    arn: Option<String>,
}

impl LogGroupId {
    /// Parses a log group name or ARN; why not, in a sentence that names the accepted forms.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if !text.starts_with("arn:") {
            if valid_log_group_name(text) {
                return Ok(LogGroupId::name(text));
            }
            return Err(format!(
                "{text:?} is not a CloudWatch log group name (1 to 512 of A-Z a-z 0-9 . _ - / #) \
                 or ARN (arn:aws:logs:REGION:ACCOUNT:log-group:NAME)"
            ));
        }
        let bad = || {
            format!(
                "{text:?} is not a log group ARN: expected arn:aws:logs:REGION:ACCOUNT:log-group:NAME \
                 (12-digit account, a name of A-Z a-z 0-9 . _ - / #, optionally ending in :*)"
            )
        };
        let bare = text.strip_suffix(":*").unwrap_or(text);
        let mut parts = bare.splitn(7, ':');
        let (Some("arn"), Some(partition), Some("logs"), Some(region), Some(account)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad());
        };
        let (Some("log-group"), Some(name)) = (parts.next(), parts.next()) else {
            return Err(bad());
        };
        let partition_ok = (1..=16).contains(&partition.len())
            && partition
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-');
        let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
        if !partition_ok || !valid_region(region) || !account_ok || !valid_log_group_name(name) {
            return Err(bad());
        }
        Ok(LogGroupId {
            name: name.to_owned(),
            region: Some(region.to_owned()),
            account: Some(account.to_owned()),
            arn: Some(bare.to_owned()),
        })
    }

    /// A log group of the server's account, by name (not checked: see [`Self::parse`]).
    pub fn name(name: impl Into<String>) -> Self {
        LogGroupId {
            name: name.into(),
            region: None,
            account: None,
            arn: None,
        }
    }

    /// The same log group read in `region` (an ARN keeps its own).
    pub fn in_region(mut self, region: Option<String>) -> Self {
        if self.arn.is_none() {
            self.region = region;
        }
        self
    }

    /// The log group's name.
    pub fn log_group_name(&self) -> &str {
        &self.name
    }

    /// The region it lives in, when known (an ARN's, or one given with [`Self::in_region`]).
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// The account it belongs to, when given as an ARN.
    pub fn account(&self) -> Option<&str> {
        self.account.as_deref()
    }

    /// The ARN without `:*`, when given as one.
    pub fn arn(&self) -> Option<&str> {
        self.arn.as_deref()
    }

    /// What CloudWatch is sent: the ARN (as an identifier) or the name.
    pub fn as_sent(&self) -> &str {
        self.arn.as_deref().unwrap_or(&self.name)
    }
}

impl fmt::Display for LogGroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_sent())
    }
}

/// `logGroupName` for a name (`None` for an ARN): what `StartQuery` and `FilterLogEvents`
/// are sent, beside [`identifier_param`].
pub(crate) fn name_param(sent: &str) -> Option<String> {
    (!sent.starts_with("arn:")).then(|| sent.to_owned())
}

/// `logGroupIdentifier(s)` for an ARN (`None` for a name).
pub(crate) fn identifier_param(sent: &str) -> Option<String> {
    sent.starts_with("arn:").then(|| sent.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_arns_with_or_without_the_star() {
        let name = LogGroupId::parse("/aws/bedrock/modelinvocations").unwrap();
        assert_eq!(name.as_sent(), "/aws/bedrock/modelinvocations");
        assert_eq!((name.region(), name.account()), (None, None));
        for text in [
            "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/bedrock/inv",
            "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/bedrock/inv:*",
        ] {
            let id = LogGroupId::parse(text).unwrap();
            assert_eq!(
                id.as_sent(),
                "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/bedrock/inv"
            );
            assert_eq!(id.log_group_name(), "/aws/bedrock/inv");
            assert_eq!(id.region(), Some("eu-west-1"));
            assert_eq!(id.account(), Some("111122223333"));
            // An ARN's region is its own.
            assert_eq!(
                id.clone().in_region(Some("us-east-1".into())).region(),
                Some("eu-west-1")
            );
        }
        assert_eq!(
            LogGroupId::parse("arn:aws-cn:logs:cn-north-1:111122223333:log-group:g")
                .unwrap()
                .region(),
            Some("cn-north-1")
        );
        for bad in [
            "",
            "bad name",
            "arn:aws:logs:eu-west-1:1111:log-group:g",
            "arn:aws:logs:EU:111122223333:log-group:g",
            "arn:aws:s3:eu-west-1:111122223333:log-group:g",
            "arn:aws:logs:eu-west-1:111122223333:log-group:g:log-stream:s",
            "arn:aws:logs:eu-west-1:111122223333:destination:g",
            "arn:aws:logs:eu-west-1:111122223333:log-group:",
            "arn:aws:logs:eu-west-1:111122223333:log-group:g*",
        ] {
            assert!(LogGroupId::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(name_param("g").as_deref(), Some("g"));
        assert_eq!(identifier_param("g"), None);
        let arn = "arn:aws:logs:eu-west-1:111122223333:log-group:g";
        assert_eq!(name_param(arn), None);
        assert_eq!(identifier_param(arn).as_deref(), Some(arn));
    }
}
