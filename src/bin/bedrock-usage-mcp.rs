//! The Bedrock usage MCP server: a local HTTP server, or a Lambda function when started by the
//! Lambda runtime.

use std::sync::Arc;

use anyhow::{Context, bail};
use bedrock_usage_mcp::config::{HttpArgs, ScanCostArgs, Switch, init_tracing};
use bedrock_usage_mcp::store::StoreArgs;
use bedrock_usage_mcp::tools::{FixedSource, SourceSelector, usage_server_with};
use bedrock_usage_mcp::usage::UsageSource;
use bedrock_usage_mcp::usage::cost::billed::{BilledCosts, SampleBill};
use bedrock_usage_mcp::usage::cost::{CostEstimator, PriceList, PricingTable};
use bedrock_usage_mcp::usage::profiles::{BedrockProfiles, ProfileResolver, SyntheticProfiles};
use bedrock_usage_mcp::usage::source::cloudwatch::{
    CallerLogGroups, ClientCache, LogGroupId, ScanOptions,
};
use bedrock_usage_mcp::usage::source::{
    CloudWatchMode, CloudWatchSelector, FileSource, SampleSource,
};
use bedrock_usage_mcp::{lambda, serve};
use clap::Parser;

/// The log group read on Lambda when `BEDROCK_LOG_GROUP` is not set.
const DEFAULT_LAMBDA_LOG_GROUP: &str = "/aws/bedrock/modelinvocations";

/// An MCP server that reports Amazon Bedrock usage from model-invocation logs.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    http: HttpArgs,
    #[command(flatten)]
    store: StoreArgs,
    /// CloudWatch log group of Bedrock's model-invocation logs: a name (in --region) or an
    /// ARN (arn:aws:logs:REGION:ACCOUNT:log-group:NAME, e.g. a source account's group seen
    /// from a cross-account observability monitoring account). Repeat it, or give a comma
    /// list in BEDROCK_LOG_GROUP, to merge several log groups, regions and accounts into one
    /// report that lists each with its status (at most 50).
    #[arg(long, env = "BEDROCK_LOG_GROUP", value_delimiter = ',')]
    log_group: Vec<String>,
    /// Which log groups a report may name (the tool's log_group_name): `configured`, only
    /// the --log-group ones (a name in any region); `accounts`, any log group of their
    /// accounts (any name, or an ARN of an account a --log-group ARN names).
    #[arg(long, env = "BEDROCK_CALLER_LOG_GROUPS", default_value = "configured", value_parser = ["configured", "accounts"])]
    caller_log_groups: String,
    /// AWS region of the log group (default: the SDK's region chain).
    #[arg(long, env = "AWS_REGION")]
    region: Option<String>,
    /// How to read CloudWatch: Logs Insights aggregation, a FilterLogEvents scan, or (no
    /// invocation logging needed, fewer breakdowns) the AWS/Bedrock metrics.
    #[arg(long, env = "BEDROCK_USAGE_CLOUDWATCH_MODE", default_value = "insights", value_parser = ["insights", "scan", "metrics"])]
    cloudwatch_mode: String,
    /// Whether a report whose log group does not exist (Bedrock logging not on yet) comes from
    /// the AWS/Bedrock CloudWatch metrics instead of reporting zero usage.
    #[arg(
        long,
        env = "BEDROCK_METRICS_FALLBACK",
        value_enum,
        default_value = "on"
    )]
    metrics_fallback: Switch,
    #[command(flatten)]
    scan_cost: ScanCostArgs,
    /// A pricing table (JSON) for cost estimates; without one, reports carry no costs.
    #[arg(long, env = "BEDROCK_PRICING_FILE")]
    pricing_file: Option<std::path::PathBuf>,
    /// The pricing table itself, as JSON (for environments without files, such as Lambda).
    #[arg(
        long,
        env = "BEDROCK_PRICING_JSON",
        conflicts_with = "pricing_file",
        hide_env_values = true
    )]
    pricing_json: Option<String>,
    /// Prices from the AWS Price List API (pricing:GetProducts) for models the pricing table
    /// does not price: `auto` uses it on Lambda (the Terraform role allows it), not elsewhere
    /// unless `on`.
    #[arg(long, env = "BEDROCK_PRICE_LIST", default_value = "auto", value_parser = ["auto", "on", "off"])]
    price_list: String,
    /// The region whose Price List endpoint is called (the API answers in us-east-1,
    /// eu-central-1 and ap-south-1 only; every region's prices come from each).
    #[arg(long, env = "BEDROCK_PRICE_LIST_REGION", default_value = "us-east-1")]
    price_list_region: String,
    /// Adds the bill from Cost Explorer (ce:GetCostAndUsage) and its reconciliation with the
    /// estimate. Off by default: AWS charges $0.01 per request (days are cached).
    #[arg(long, env = "BEDROCK_BILLED_COST")]
    billed_cost: bool,
    /// A JSON-lines file (or .jsonl.gz) of invocation log records, one per line.
    #[arg(long, env = "BEDROCK_USAGE_FILE", conflicts_with = "log_group")]
    usage_file: Option<std::path::PathBuf>,
    /// requestMetadata keys reports break usage down by when a call names none (comma-separated,
    /// at most 5), e.g. team,project.
    #[arg(long, env = "BEDROCK_GROUP_BY_METADATA", value_delimiter = ',')]
    group_by_metadata: Vec<String>,
    /// Names, tags and models of application inference profiles (by_inference_profile, and
    /// pricing a profile as its model) through bedrock:GetInferenceProfile and
    /// ListTagsForResource: `auto` does so for CloudWatch sources, not for a file unless `on`;
    /// the bundled sample always uses its synthetic catalogue (unless `off`).
    #[arg(long, env = "BEDROCK_INFERENCE_PROFILES", default_value = "auto", value_parser = ["auto", "on", "off"])]
    inference_profiles: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_tracing();
    let cli = Cli::parse();
    let on_lambda = lambda::detected();
    let (sources, sample) = choose_source(&cli, on_lambda).await?;
    let profiles = profile_resolver(&cli, sample.is_some());
    let costs = cost_estimator(&cli, on_lambda, sample)?;
    let group_by: Vec<String> = cli
        .group_by_metadata
        .iter()
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty())
        .collect();
    bedrock_usage_mcp::usage::query::check_metadata_keys("--group-by-metadata", group_by.iter())?;
    let server = usage_server_with(sources, costs, cli.http.state_key()?, group_by, profiles);
    serve::run(server, &cli.http, &cli.store).await?;
    Ok(())
}

/// Who resolves application inference profiles (see `--inference-profiles`).
fn profile_resolver(cli: &Cli, sample: bool) -> Option<Arc<dyn ProfileResolver>> {
    match (cli.inference_profiles.as_str(), sample) {
        ("off", _) => None,
        (_, true) => Some(Arc::new(SyntheticProfiles)),
        ("auto", false) if cli.usage_file.is_some() => None,
        _ => Some(Arc::new(BedrockProfiles::from_env())),
    }
}

/// How reports are priced: the operator's table, the AWS Price List, both, or not at all. With
/// the bundled sample (`sample`), always: its made-up `synthetic-sample` prices stand in for the
/// Price List and, with `--billed-cost`, its synthetic bill for Cost Explorer (no AWS call).
fn cost_estimator(
    cli: &Cli,
    on_lambda: bool,
    sample: Option<SampleSource>,
) -> anyhow::Result<Option<Arc<CostEstimator>>> {
    let table = match (&cli.pricing_file, &cli.pricing_json) {
        (Some(path), _) => Some(PricingTable::from_file(path)?),
        (None, Some(json)) => Some(PricingTable::from_json(json)?),
        (None, None) => None,
    };
    let price_list = match cli.price_list.as_str() {
        "on" => true,
        "off" => false,
        _ => on_lambda,
    };
    let price_list = if price_list {
        Some(Arc::new(
            PriceList::from_env(&cli.price_list_region)
                .map_err(anyhow::Error::msg)
                .context("--price-list-region")?,
        ))
    } else {
        None
    };
    let sample_prices = sample.is_some();
    let billed = (cli.billed_cost && !sample_prices).then(|| Arc::new(BilledCosts::from_env()));
    let sample_bill = (sample.filter(|_| cli.billed_cost)).map(SampleBill::new);
    if table.is_none() && price_list.is_none() && billed.is_none() && !sample_prices {
        return Ok(None);
    }
    Ok(Some(Arc::new(CostEstimator {
        table,
        price_list,
        billed,
        sample_prices,
        sample_bill,
    })))
}

/// The configured source: a file, CloudWatch Logs, or (locally, with neither) the bundled
/// sample, announced loudly so nobody mistakes it for their data, and then also returned so
/// that its synthetic prices and bill can be wired to it alone. Nothing here touches the
/// network or checks that the log group exists (a fresh account, where Bedrock logging is not
/// on yet, starts and answers reports with zero usage and a warning), except one
/// sts:GetCallerIdentity when a log group name and ARN may be the same group (see
/// `CloudWatchSelector::refuse_same_group_twice`).
async fn choose_source(
    cli: &Cli,
    on_lambda: bool,
) -> anyhow::Result<(Arc<dyn SourceSelector>, Option<SampleSource>)> {
    let source: Arc<dyn UsageSource> = if let Some(path) = &cli.usage_file {
        if !path.is_file() {
            bail!("--usage-file {} is not a readable file", path.display());
        }
        tracing::info!(file = %path.display(), "reading usage from a local file");
        Arc::new(FileSource::new(path))
    } else if let Some(group) = cli
        .log_group
        .first()
        .map(|g| g.trim())
        .or_else(|| {
            // The metrics need no log group: the name is kept for reports that name none.
            (cli.cloudwatch_mode == CloudWatchMode::Metrics.as_str())
                .then_some(DEFAULT_LAMBDA_LOG_GROUP)
        })
        .or_else(|| {
            // A function deployed without a log group still starts: it reads the name Bedrock's
            // console suggests, and a report says so (with a warning) when the group is missing.
            on_lambda.then(|| {
                tracing::warn!(
                    log_group = DEFAULT_LAMBDA_LOG_GROUP,
                    "BEDROCK_LOG_GROUP is not set: reading the default log group"
                );
                DEFAULT_LAMBDA_LOG_GROUP
            })
        })
    {
        let mode: CloudWatchMode = cli.cloudwatch_mode.parse().map_err(anyhow::Error::msg)?;
        // Makes no client and loads no configuration: nothing touches the network until the
        // first report (a Lambda cold start stays offline).
        let insights = cli
            .scan_cost
            .insights_options()
            .map_err(anyhow::Error::msg)?;
        let selector = CloudWatchSelector::with_options(
            mode,
            group,
            cli.region.clone(),
            Arc::new(ClientCache::from_env()),
            insights,
            ScanOptions::default(),
        )
        .map_err(anyhow::Error::msg)
        .context("--log-group / --region")?
        .with_metrics_fallback(cli.metrics_fallback == Switch::On)
        .with_caller_log_groups(match cli.caller_log_groups.as_str() {
            "accounts" => CallerLogGroups::Accounts,
            _ => CallerLogGroups::Configured,
        });
        let selector = if cli.log_group.len() > 1 {
            (cli.log_group.iter())
                .map(|g| LogGroupId::parse(g))
                .collect::<Result<Vec<_>, _>>()
                .and_then(|ids| selector.with_log_groups(ids))
                .map_err(anyhow::Error::msg)
                .context("--log-group")?
                .refuse_same_group_twice()
                .await
                .map_err(anyhow::Error::msg)
                .context("--log-group")?
        } else {
            selector
        };
        tracing::info!(
            log_groups = %cli.log_group.join(","),
            log_group = %group,
            region = cli.region.as_deref().unwrap_or("(AWS configuration)"),
            %mode,
            "reading usage from CloudWatch Logs"
        );
        return Ok((Arc::new(selector), None));
    } else {
        eprintln!(
            "\n  *** No usage source configured: serving the BUNDLED SAMPLE DATASET (synthetic data, \
             re-dated to end today).\n  *** Its costs use made-up SYNTHETIC-SAMPLE prices (and, \
             with --billed-cost, a synthetic bill), never AWS's.\n  *** Point the server at your \
             data with --log-group NAME (CloudWatch Logs) or --usage-file PATH.\n"
        );
        tracing::warn!("serving the bundled sample dataset");
        let sample = SampleSource::new();
        return Ok((
            Arc::new(FixedSource(Arc::new(sample.clone()))),
            Some(sample),
        ));
    };
    Ok((Arc::new(FixedSource(source)), None))
}
