//! An application inference profile ARN, taken apart and checked before any call is made
//! with it (its region becomes part of a host name).

use crate::aws::valid_region;

/// The resource type in an application inference profile ARN.
const KIND: &str = ":application-inference-profile/";

/// Whether a logged `modelId` names an application inference profile (checked or not): what
/// `by_inference_profile` breaks down by; other ids count under `(none)`.
pub fn is_application_profile(model_id: &str) -> bool {
    model_id.starts_with("arn:") && model_id.contains(KIND)
}

/// `arn:PARTITION:bedrock:REGION:ACCOUNT:application-inference-profile/ID`, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileArn<'a> {
    /// The whole ARN.
    pub arn: &'a str,
    /// Where the profile lives, and so where it is looked up.
    pub region: &'a str,
    /// The account that owns it.
    pub account: &'a str,
    /// The profile id.
    pub id: &'a str,
}

impl<'a> ProfileArn<'a> {
    /// `arn` taken apart, or why it is not an application inference profile ARN Bedrock
    /// could have logged (AWS's pattern: a known partition, a region, 12 digits, an id of
    /// at most 64 characters of `[a-zA-Z0-9-:.]`).
    pub fn parse(arn: &'a str) -> Result<Self, String> {
        let bad = || format!("not an application inference profile ARN: {arn:?}");
        let rest = arn.strip_prefix("arn:").ok_or_else(bad)?;
        let (partition, rest) = rest.split_once(':').ok_or_else(bad)?;
        let (service, rest) = rest.split_once(':').ok_or_else(bad)?;
        let (region, rest) = rest.split_once(':').ok_or_else(bad)?;
        let (account, id) = rest
            .split_once(KIND.trim_start_matches(':'))
            .ok_or_else(bad)?;
        let account = account.strip_suffix(':').ok_or_else(bad)?;
        let ok = ["aws", "aws-us-gov", "aws-cn", "aws-iso", "aws-iso-b"].contains(&partition)
            && service == "bedrock"
            && valid_region(region)
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && (1..=64).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-:.".contains(&b));
        if !ok {
            return Err(bad());
        }
        Ok(ProfileArn {
            arn,
            region,
            account,
            id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_are_checked_before_use() {
        let good =
            "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/a1b2c3d4e5f6";
        let arn = ProfileArn::parse(good).unwrap();
        assert_eq!(
            (arn.region, arn.account, arn.id),
            ("us-east-1", "111122223333", "a1b2c3d4e5f6")
        );
        assert!(is_application_profile(good));
        for bad in [
            "arn:aws:bedrock:us-east-1.evil.com:111122223333:application-inference-profile/a",
            "arn:aws:bedrock:us-east-1:1111:application-inference-profile/a",
            "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/",
            "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/a/b",
            "arn:aws:s3:us-east-1:111122223333:application-inference-profile/a",
            "arn:evil:bedrock:us-east-1:111122223333:application-inference-profile/a",
        ] {
            assert!(ProfileArn::parse(bad).is_err(), "{bad}");
        }
        assert!(!is_application_profile(
            "us.anthropic.claude-sonnet-4-20250514-v1:0"
        ));
        assert!(!is_application_profile(
            "arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.amazon.nova-pro-v1:0"
        ));
    }
}
