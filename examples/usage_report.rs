//! Prints a usage report from a JSON-lines invocation log (or the bundled sample) as text,
//! or as JSON with `--json`.
//!
//! ```text
//! cargo run --example usage_report -- [--json] [--hour] [--days N] [FILE]
//! ```
//!
//! Without FILE, the bundled sample re-dated to today is used. The period is the last N
//! days (30 by default) ending today (UTC).

use anyhow::{Context, bail};
use bedrock_usage_mcp::usage::source::{FileSource, SampleSource};
use bedrock_usage_mcp::usage::{
    Date, Granularity, NoProgress, UsageQuery, UsageSource, render_text,
};
use tokio_util::sync::CancellationToken;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut json = false;
    let mut granularity = Granularity::Day;
    let mut days = 30;
    let mut file = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => json = true,
            "--hour" => granularity = Granularity::Hour,
            "--days" => {
                days = args
                    .next()
                    .context("--days needs a number")?
                    .parse()
                    .context("--days needs a number")?;
            }
            flag if flag.starts_with("--") => bail!("unknown flag {flag}"),
            path => file = Some(path.to_owned()),
        }
    }
    let query = UsageQuery::last_days(Date::today(), days, granularity)?;
    let source: Box<dyn UsageSource> = match file {
        Some(path) => Box::new(FileSource::new(path)),
        None => Box::new(SampleSource::new()),
    };
    let report = source
        .collect(&query, &NoProgress, &CancellationToken::new())
        .await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render_text(&report));
    }
    Ok(())
}
