//! What a logged `modelId` names, for pricing: a foundation model called in its region, through
//! a geographic cross-region inference profile (`us.`, `eu.`, `apac.`, ...), through a global
//! profile (`global.`), or an application inference profile (an ARN that hides the model).

use crate::usage::profiles::Resolved;

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

/// What the application inference profile `model` is priced as, by what its report resolved
/// (`usage::profiles`): the id of the model it routes to ([`routed_model_id`]), or why it cannot
/// be priced; `None` when `model` is no application profile or was not looked up.
pub fn application_target(model: &str, resolved: &Resolved) -> Option<Result<String, String>> {
    let ModelRef::ApplicationProfile(arn) = parse(model) else {
        return None;
    };
    Some(match resolved.get(arn)? {
        Ok(profile) => routed_model_id(&profile.models),
        Err(why) => Err(format!(
            "an application inference profile not resolved ({why}): name its model in the \
             pricing table's inference_profiles (or price it under models)"
        )),
    })
}

/// The model id an application inference profile is priced as, from the models it routes to
/// (`GetInferenceProfile`'s `models[].modelArn`): the one foundation model, reached in-region
/// when the profile lists one region; through a geographic profile (`us.`, `eu.`, `apac.`,
/// ...) when it lists several regions of one geography (a copy of a cross-region profile);
/// through `global.` when its regions span several known geographies or an ARN names no
/// region. Why not, when it routes to several models or to no foundation model, or when
/// its regions lie in a geography not known here (see `geography`).
pub fn routed_model_id(model_arns: &[String]) -> Result<String, String> {
    let mut base: Option<&str> = None;
    let mut regions: Vec<&str> = Vec::new();
    for arn in model_arns {
        let (region, id) = match (arn.split(':').nth(3), arn.split_once("foundation-model/")) {
            (Some(region), Some((_, id))) if arn.starts_with("arn:") => (region, id),
            _ => {
                return Err(format!(
                    "the profile routes to {arn}, not a foundation model"
                ));
            }
        };
        let ModelRef::Model {
            base: this,
            scope: Scope::InRegion,
        } = parse(id)
        else {
            return Err(format!(
                "the profile routes to {arn}, not a foundation model"
            ));
        };
        match base {
            Some(seen) if seen != this => {
                return Err(format!(
                    "the profile routes to several models ({seen}, {this})"
                ));
            }
            _ => base = Some(this),
        }
        if !regions.contains(&region) {
            regions.push(region);
        }
    }
    let base = base.ok_or("the profile lists no model")?;
    if let [region] = regions.as_slice()
        && !region.is_empty()
    {
        return Ok(base.to_owned());
    }
    if regions.iter().any(|r| r.is_empty()) {
        return Ok(format!("global.{base}"));
    }
    let mut known: Vec<&str> = regions.iter().filter_map(|r| geography(r)).collect();
    known.sort_unstable();
    known.dedup();
    let unknown: Vec<&str> = regions
        .iter()
        .copied()
        .filter(|r| geography(r).is_none())
        .collect();
    match (known.as_slice(), unknown.is_empty()) {
        ([one], true) => Ok(format!("{one}.{base}")),
        // Several geographies: a copy of a global profile (they span us, eu and apac).
        ([_, _, ..], _) => Ok(format!("global.{base}")),
        _ => Err(format!(
            "the profile routes {base} to regions of a geography this server does not know              ({}): a cross-region profile there may be priced as neither geo nor global;              name its price in the pricing table's inference_profiles",
            unknown.join(", ")
        )),
    }
}

/// The geographic profile prefix of `region`'s geography, for the geographies whose profiles
/// this server prices (`us`, `us-gov`, `eu`, `apac`, `ca`); `None` for any other (`sa-`,
/// `me-`, `mx-`, `il-`, `af-`, ...), whose copies are left unpriced rather than priced as
/// `global.`. Japan, Australia and India (`jp.`, `au.`, `in.`) are under `apac`: a
/// geographic profile is billed at the source region's price whatever its prefix.
fn geography(region: &str) -> Option<&'static str> {
    match region.split('-').next().unwrap_or_default() {
        "us" if region.starts_with("us-gov-") => Some("us-gov"),
        "us" => Some("us"),
        "eu" => Some("eu"),
        "ap" => Some("apac"),
        "ca" => Some("ca"),
        _ => None,
    }
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
        // An application profile is priced as the model it routes to.
        let fm = |region: &str| format!("arn:aws:bedrock:{region}::foundation-model/{haiku}");
        let routed =
            |regions: &[&str]| routed_model_id(&regions.iter().map(|r| fm(r)).collect::<Vec<_>>());
        assert_eq!(routed(&["us-east-1"]).unwrap(), haiku);
        let us = ["us-east-1", "us-east-2", "us-west-2"];
        assert_eq!(routed(&us).unwrap(), format!("us.{haiku}"));
        assert_eq!(
            routed(&["eu-west-1", "eu-central-1"]).unwrap(),
            format!("eu.{haiku}")
        );
        assert_eq!(
            routed(&["us-east-1", "eu-west-1", "ap-northeast-1"]).unwrap(),
            format!("global.{haiku}")
        );
        assert_eq!(routed(&[""]).unwrap(), format!("global.{haiku}"));
        // A geography not known here is unpriced with a reason, never priced as global.
        for regions in [
            &["sa-east-1", "sa-west-1"][..],
            &["me-central-1", "me-south-1"],
            &["us-east-1", "mx-central-1"],
        ] {
            let why = routed(regions).unwrap_err();
            assert!(
                why.contains("geography") && why.contains(regions[1]),
                "{why}"
            );
        }
        assert_eq!(
            routed(&["us-east-1", "eu-west-1", "sa-east-1"]).unwrap(),
            format!("global.{haiku}")
        );
        assert_eq!(
            routed(&["ap-northeast-1", "ap-northeast-3"]).unwrap(),
            format!("apac.{haiku}")
        );
        assert_eq!(
            routed(&["us-gov-west-1", "us-gov-east-1"]).unwrap(),
            format!("us-gov.{haiku}")
        );
        for model in [&fm("us-east-1"), &fm("us-west-2")] {
            assert_eq!(
                parse(&routed_model_id(std::slice::from_ref(model)).unwrap()),
                parse(haiku)
            );
        }
        let two = [
            fm("us-east-1"),
            "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0".to_owned(),
        ];
        assert!(
            routed_model_id(&two)
                .unwrap_err()
                .contains("several models")
        );
        assert!(routed_model_id(&[]).is_err());
        assert!(routed_model_id(&[custom.to_owned()]).is_err());
        // A provider named like a prefix is not a profile when nothing follows.
        assert_eq!(parse("us.model"), model("us.model", Scope::InRegion));
    }
}
