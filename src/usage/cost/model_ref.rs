//! What a logged `modelId` names, for pricing: a foundation model called in its region, through
//! a geographic cross-region inference profile (`us.`, `eu.`, `apac.`, ...), through a global
//! profile (`global.`), or an application inference profile (an ARN that hides the model).

/// How a call reached its model, which decides the price AWS bills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// The model called in the region of the request.
    InRegion,
    /// A geographic cross-region profile (`us.`, `eu.`, `apac.`, `us-gov.`, `jp.`, `au.`,
    /// `ca.`, `in.`): billed at the source region's price.
    Geo,
    /// A global cross-region profile (`global.`): its own price.
    Global,
}

impl Scope {
    /// The wire name: `in-region`, `geo`, `global`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::InRegion => "in-region",
            Scope::Geo => "geo",
            Scope::Global => "global",
        }
    }
}

/// A logged `modelId`, taken apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelRef<'a> {
    /// A foundation model (`anthropic.claude-3-5-haiku-20241022-v1:0`) and how it was reached.
    Model { base: &'a str, scope: Scope },
    /// An application inference profile ARN: its model is known only to Bedrock
    /// (`GetInferenceProfile`) or to the operator's pricing table.
    ApplicationProfile(&'a str),
    /// Anything else (a provisioned-throughput or custom-model ARN, an empty id).
    Other(&'a str),
}

/// Geographic profile prefixes, as AWS names system inference profiles.
const GEO_PREFIXES: [&str; 8] = ["us", "us-gov", "eu", "apac", "jp", "au", "ca", "in"];

/// Takes `model_id` apart: `arn:…:foundation-model/ID` and `arn:…:inference-profile/ID` are
/// read as `ID`; a profile prefix sets the scope.
pub fn parse(model_id: &str) -> ModelRef<'_> {
    let id = if model_id.starts_with("arn:") {
        match model_id.split_once(":application-inference-profile/") {
            Some(_) => return ModelRef::ApplicationProfile(model_id),
            None => match ["foundation-model/", "inference-profile/"]
                .iter()
                .find_map(|kind| model_id.split_once(kind).map(|(_, id)| id))
            {
                Some(id) => id,
                None => return ModelRef::Other(model_id),
            },
        }
    } else {
        model_id
    };
    let (scope, base) = match id.split_once('.') {
        Some(("global", rest)) => (Scope::Global, rest),
        Some((prefix, rest)) if GEO_PREFIXES.contains(&prefix) && rest.contains('.') => {
            (Scope::Geo, rest)
        }
        _ => (Scope::InRegion, id),
    };
    if base.is_empty() || !base.contains('.') {
        return ModelRef::Other(model_id);
    }
    ModelRef::Model { base, scope }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_profiles_and_arns() {
        let model = |base, scope| ModelRef::Model { base, scope };
        let haiku = "anthropic.claude-3-5-haiku-20241022-v1:0";
        assert_eq!(parse(haiku), model(haiku, Scope::InRegion));
        for geo in ["us.", "eu.", "apac.", "us-gov."] {
            assert_eq!(
                parse(&format!("{geo}{haiku}")),
                model(haiku, Scope::Geo),
                "{geo}"
            );
        }
        assert_eq!(
            parse(&format!("global.{haiku}")),
            model(haiku, Scope::Global)
        );
        assert_eq!(
            parse("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0"),
            model("amazon.nova-pro-v1:0", Scope::InRegion)
        );
        assert_eq!(
            parse(
                "arn:aws:bedrock:eu-west-1:111122223333:inference-profile/eu.amazon.nova-pro-v1:0"
            ),
            model("amazon.nova-pro-v1:0", Scope::Geo)
        );
        let app =
            "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/a1b2c3d4e5f6";
        assert_eq!(parse(app), ModelRef::ApplicationProfile(app));
        let custom = "arn:aws:bedrock:us-east-1:111122223333:provisioned-model/abc";
        assert_eq!(parse(custom), ModelRef::Other(custom));
        assert_eq!(parse(""), ModelRef::Other(""));
        assert_eq!(parse("global."), ModelRef::Other("global."));
        // A provider named like a prefix is not a profile when nothing follows.
        assert_eq!(parse("us.model"), model("us.model", Scope::InRegion));
    }
}
