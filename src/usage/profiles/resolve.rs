//! A report's application inference profiles resolved: the `by_inference_profile` entries
//! gain name, tags and models (or the reason they have none), and the report keeps every
//! resolution, also of profiles folded into `(other)`, for the cost estimate.
//!
//! Bounded per report: at most [`MAX_LOOKUPS_PER_REPORT`] distinct profiles are looked up (the
//! entries shown first), [`CONCURRENCY`] at a time, all within [`DEADLINE`] (the rest are shown
//! by ARN with [`NOT_IN_TIME`]: a throttled or hanging Bedrock delays a report by that much at
//! most). Once a profile of an account is denied (`AccessDenied`: typically another account's
//! profile, seen in a merged report), the report looks up no more profiles of that account.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream;

use super::arn::is_application_profile;
use super::{ProfileArn, ProfileResolver, Resolution, Resolved};
use crate::usage::report::UsageReport;

/// The most distinct profiles one report looks up.
pub const MAX_LOOKUPS_PER_REPORT: usize = 100;

/// Lookups in flight at once.
pub const CONCURRENCY: usize = 8;

/// How long all of one report's lookups may take together.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Why a profile is shown by ARN when the report's lookups ran out of time.
pub const NOT_IN_TIME: &str = "not looked up in time (a report waits at most 20 s for all its \
profile lookups; Bedrock was slow or throttling)";

/// Why profiles are shown by ARN when the server resolves none.
pub const NOT_RESOLVED: &str = "this server does not resolve application inference profiles \
(start it with --inference-profiles on, or auto on CloudWatch)";

/// Resolves the application inference profiles of `report` through `resolver` (none: every
/// profile is shown by its ARN, with [`NOT_RESOLVED`]).
pub async fn resolve_report(report: &mut UsageReport, resolver: Option<&dyn ProfileResolver>) {
    let mut seen: HashSet<&str> = HashSet::new();
    let wanted: Vec<String> = (report.by_inference_profile.iter())
        .map(|row| row.row.key.as_str())
        .chain(report.cost_cells.pairs().map(|(model, _, _)| model))
        .filter(|key| is_application_profile(key) && seen.insert(key))
        .map(str::to_owned)
        .collect();
    let denied: Mutex<HashSet<String>> = Mutex::new(HashSet::new());
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut resolved = Resolved::new();
    {
        let denied = &denied;
        // The futures are made up front (lazy: none runs before the stream polls it), so the
        // stream's type holds no closure over borrowed items.
        let pending: Vec<_> = (wanted.iter().enumerate())
            .map(|(index, arn)| async move {
                (arn.clone(), resolve_one(arn, index, resolver, denied).await)
            })
            .collect();
        let mut lookups = stream::iter(pending).buffer_unordered(CONCURRENCY);
        while let Ok(Some((arn, resolution))) =
            tokio::time::timeout_at(deadline, lookups.next()).await
        {
            resolved.insert(arn, resolution);
        }
    }
    for arn in wanted {
        resolved
            .entry(arn)
            .or_insert_with(|| Err(NOT_IN_TIME.to_owned()));
    }
    for entry in &mut report.by_inference_profile {
        if let Some(resolution) = resolved.get(&entry.row.key) {
            entry.set(resolution);
        }
    }
    report.inference_profiles = resolved;
}

/// The resolution of the `index`-th distinct profile of a report; `denied` holds the accounts
/// whose profiles this report was refused.
async fn resolve_one(
    arn: &str,
    index: usize,
    resolver: Option<&dyn ProfileResolver>,
    denied: &Mutex<HashSet<String>>,
) -> Resolution {
    let Some(resolver) = resolver else {
        return Err(NOT_RESOLVED.to_owned());
    };
    if index >= MAX_LOOKUPS_PER_REPORT {
        return Err(format!(
            "more than {MAX_LOOKUPS_PER_REPORT} application inference profiles in one report: \
             not looked up"
        ));
    }
    let parsed = ProfileArn::parse(arn)?;
    let account = parsed.account.to_owned();
    if denied
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(&account)
    {
        return Err(format!(
            "not looked up: Bedrock denied this report another profile of account {account} \
             (AccessDenied; another account's profiles are not readable by this role)"
        ));
    }
    let resolution = resolver.resolve(&parsed).await;
    if let Err(why) = &resolution
        && why.contains("AccessDenied")
    {
        denied
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(account);
    }
    resolution
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;
    use crate::usage::aggregate::Aggregator;
    use crate::usage::profiles::synthetic::{SAMPLE_PROFILE_ARN, SAMPLE_PROFILE_NAME};
    use crate::usage::profiles::{Profile, SyntheticProfiles};
    use crate::usage::query::{Granularity, UsageQuery};
    use crate::usage::report::{NONE_KEY, OTHER_KEY, SourceInfo, SourceKind};

    /// Resolves every ARN whose id starts with `ok`, and remembers what it was asked.
    #[derive(Debug, Default)]
    struct Fake(Mutex<Vec<String>>);

    #[async_trait]
    impl ProfileResolver for Fake {
        async fn resolve(&self, arn: &ProfileArn<'_>) -> Resolution {
            self.0.lock().unwrap().push(arn.arn.to_owned());
            if !arn.id.starts_with("ok") {
                return Err("AccessDeniedException: no".to_owned());
            }
            Ok(std::sync::Arc::new(Profile {
                name: format!("name-{}", arn.id),
                models: vec![
                    "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0".into(),
                ],
                tags: [("team".to_owned(), "a".to_owned())].into(),
                tags_unavailable: None,
                resolved_by: "bedrock",
            }))
        }
    }

    fn arn(id: &str) -> String {
        format!("arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/{id}")
    }

    /// A profile of another account (denied: the report skips that account's others).
    fn other_arn(id: &str) -> String {
        format!("arn:aws:bedrock:us-east-1:444455556666:application-inference-profile/{id}")
    }

    /// A report over one record per model id in `models`, `top_n` entries per breakdown.
    fn report(models: &[String], top_n: usize) -> UsageReport {
        let query = UsageQuery::new(
            "2026-11-01T00:00:00Z".parse().unwrap(),
            "2026-11-02T00:00:00Z".parse().unwrap(),
            Granularity::Day,
        )
        .unwrap()
        .with_top_n(top_n);
        let mut agg = Aggregator::new(&query, SourceInfo::local(SourceKind::File));
        for (i, model) in models.iter().enumerate() {
            let line = format!(
                r#"{{"timestamp":"2026-11-01T01:00:00Z","modelId":"{model}","region":"us-east-1","input":{{"inputTokenCount":{}}}}}"#,
                1000 - i
            );
            assert!(agg.add_line(line.as_bytes()));
        }
        agg.finish()
    }

    #[tokio::test]
    async fn entries_get_names_tags_and_models_or_the_reason() {
        let models = [
            arn("ok1"),
            other_arn("denied"),
            arn("ok2"),
            "amazon.nova-pro-v1:0".into(),
        ];
        let mut report = report(&models, 2);
        let fake = Fake::default();
        resolve_report(&mut report, Some(&fake)).await;
        let keys: Vec<&str> = report
            .by_inference_profile
            .iter()
            .map(|r| r.row.key.as_str())
            .collect();
        assert_eq!(keys, [arn("ok1").as_str(), &other_arn("denied"), OTHER_KEY]);
        let ok = &report.by_inference_profile[0];
        assert_eq!(ok.name.as_deref(), Some("name-ok1"));
        assert_eq!(ok.tags["team"], "a");
        assert_eq!(ok.resolved_by.as_deref(), Some("bedrock"));
        assert_eq!(ok.unresolved, None);
        let denied = &report.by_inference_profile[1];
        assert_eq!(denied.name, None);
        assert!(
            denied
                .unresolved
                .as_deref()
                .unwrap()
                .contains("AccessDenied")
        );
        // The folded profile is resolved too, for the estimate; each once.
        assert!(report.inference_profiles[&arn("ok2")].is_ok());
        let mut asked = fake.0.lock().unwrap().clone();
        asked.sort();
        assert_eq!(asked, [arn("ok1"), arn("ok2"), other_arn("denied")]);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["by_inference_profile"][0]["name"], "name-ok1");
        assert_eq!(json["by_inference_profile"][0]["requests"], 1);
        assert!(json["by_inference_profile"][1]["unresolved"].is_string());
    }

    #[tokio::test]
    async fn without_a_resolver_or_past_the_bound_profiles_keep_their_arn() {
        let models = [arn("ok1"), "amazon.nova-pro-v1:0".into()];
        let mut report = report(&models, 5);
        resolve_report(&mut report, None).await;
        assert_eq!(
            report.by_inference_profile[0].unresolved.as_deref(),
            Some(NOT_RESOLVED)
        );
        assert_eq!(report.by_inference_profile[1].row.key, NONE_KEY);
        assert_eq!(report.by_inference_profile[1].unresolved, None);

        let many: Vec<String> = (0..MAX_LOOKUPS_PER_REPORT + 5)
            .map(|i| arn(&format!("ok{i:04}")))
            .collect();
        let mut report = report_of(&many);
        let fake = Fake::default();
        resolve_report(&mut report, Some(&fake)).await;
        assert_eq!(fake.0.lock().unwrap().len(), MAX_LOOKUPS_PER_REPORT);
        let unresolved = report
            .inference_profiles
            .values()
            .filter(|r| r.is_err())
            .count();
        assert_eq!(unresolved, 5);
    }

    /// Answers `slow…` profiles after an hour, the others at once.
    #[derive(Debug, Default)]
    struct Slow(Mutex<Vec<String>>);

    #[async_trait]
    impl ProfileResolver for Slow {
        async fn resolve(&self, arn: &ProfileArn<'_>) -> Resolution {
            self.0.lock().unwrap().push(arn.arn.to_owned());
            if arn.id.starts_with("slow") {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            Fake::default().resolve(arn).await
        }
    }

    #[tokio::test(start_paused = true)]
    async fn lookups_past_the_reports_deadline_are_not_waited_for() {
        let models: Vec<String> = ["ok1", "slow1", "ok2", "slow2", "ok3"]
            .iter()
            .map(|id| arn(id))
            .collect();
        let mut report = report_of(&models);
        let slow = Slow::default();
        let started = tokio::time::Instant::now();
        resolve_report(&mut report, Some(&slow)).await;
        // The paused clock moves only when every task waits: exactly the deadline passed.
        assert_eq!(started.elapsed(), DEADLINE);
        for id in ["ok1", "ok2", "ok3"] {
            assert!(report.inference_profiles[&arn(id)].is_ok(), "{id}");
        }
        for id in ["slow1", "slow2"] {
            assert_eq!(
                report.inference_profiles[&arn(id)],
                Err(NOT_IN_TIME.to_owned()),
                "{id}"
            );
        }
        assert_eq!(slow.0.lock().unwrap().len(), 5);
    }

    #[tokio::test]
    async fn after_an_access_denied_the_accounts_other_profiles_are_not_looked_up() {
        let other = other_arn;
        // The first of account 4444… is denied; with one lookup at a time the rest are skipped.
        let models: Vec<String> = (0..CONCURRENCY + 4)
            .map(|i| other(&format!("denied{i:02}")))
            .chain([arn("ok1")])
            .collect();
        let mut report = report_of(&models);
        let fake = Fake::default();
        resolve_report(&mut report, Some(&fake)).await;
        let asked = fake.0.lock().unwrap().clone();
        // At most the first batch in flight was asked; the rest were skipped.
        let asked_other = asked.iter().filter(|a| a.contains("444455556666")).count();
        assert!((1..=CONCURRENCY).contains(&asked_other), "{asked:?}");
        assert!(asked.contains(&arn("ok1")), "{asked:?}");
        let skipped = report
            .inference_profiles
            .values()
            .filter(|r| matches!(r, Err(why) if why.contains("denied this report another profile")))
            .count();
        assert_eq!(skipped, CONCURRENCY + 4 - asked_other);
        assert!(report.inference_profiles[&arn("ok1")].is_ok());
    }

    fn report_of(models: &[String]) -> UsageReport {
        report(models, 1000)
    }

    #[tokio::test]
    async fn the_sample_profile_is_in_the_synthetic_catalogue() {
        let mut report = report(&[SAMPLE_PROFILE_ARN.to_owned(), arn("other")], 5);
        resolve_report(&mut report, Some(&SyntheticProfiles)).await;
        let sample = &report.by_inference_profile[0];
        assert_eq!(sample.name.as_deref(), Some(SAMPLE_PROFILE_NAME));
        assert_eq!(sample.resolved_by.as_deref(), Some("synthetic"));
        assert_eq!(sample.tags["team"], "knowledge");
        assert!(
            report.by_inference_profile[1]
                .unresolved
                .as_deref()
                .unwrap()
                .contains("synthetic catalogue")
        );
        let text = crate::usage::render_text(&report);
        assert!(text.contains("By inference profile"), "{text}");
        assert!(text.contains("docs-assistant (a1b2c3d4e5f6)"), "{text}");
        assert!(text.contains("routes to anthropic.claude-3-5-haiku-20241022-v1:0; tags cost-center=CC-1042, project=docs-search, team=knowledge [synthetic]"), "{text}");
        assert!(
            text.contains("not resolved (not in the bundled sample's synthetic catalogue)"),
            "{text}"
        );
    }
}
