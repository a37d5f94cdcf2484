//! Writes the chart of the bundled sample's last 30 days to a PNG file, to look at it.
//!
//! `cargo run --example chart -- /tmp/chart.png`

use bedrock_usage_mcp::usage::source::SampleSource;
use bedrock_usage_mcp::usage::{Date, Granularity, NoProgress, UsageQuery, UsageSource};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "chart.png".to_owned());
    let query = UsageQuery::last_days(Date::today(), 30, Granularity::Day)?;
    let report = SampleSource::new()
        .collect(&query, &NoProgress, &CancellationToken::new())
        .await?;
    std::fs::write(&path, bedrock_usage_mcp::usage::chart::render_png(&report)?)?;
    println!("wrote {path}");
    Ok(())
}
