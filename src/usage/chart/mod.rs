//! A PNG chart of a report's tokens over time, stacked by model. Drawn with an embedded
//! bitmap font and encoded by hand, so it needs no system fonts and no image libraries.

mod canvas;
mod font;
mod png;

use base64::Engine;

use self::canvas::{Canvas, Rgb};
use super::report::UsageReport;

const WIDTH: u32 = 960;
const HEIGHT: u32 = 490;
const PLOT_LEFT: u32 = 80;
const PLOT_TOP: u32 = 50;
const PLOT_RIGHT: u32 = WIDTH - 20;
const PLOT_BOTTOM: u32 = 380;

const BACKGROUND: Rgb = [255, 255, 255];
const INK: Rgb = [40, 40, 40];
const GRID: Rgb = [225, 225, 225];
/// Colour-blind-friendly palette (Okabe-Ito), then grey for `(other)`.
const PALETTE: [Rgb; 8] = [
    [0, 114, 178],
    [230, 159, 0],
    [0, 158, 115],
    [204, 121, 167],
    [86, 180, 233],
    [213, 94, 0],
    [240, 228, 66],
    [120, 120, 120],
];

/// Why no chart could be drawn.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("the report has no time series to chart")]
    Empty,
    #[error("could not encode the chart: {0}")]
    Encode(#[from] std::io::Error),
}

/// The chart as a PNG file.
pub fn render_png(report: &UsageReport) -> Result<Vec<u8>, ChartError> {
    let buckets = report.daily.len();
    if buckets == 0 {
        return Err(ChartError::Empty);
    }
    let series = chart_series(report);
    let mut canvas = Canvas::new(WIDTH, HEIGHT, BACKGROUND);
    canvas.text(PLOT_LEFT, 16, "TOTAL TOKENS BY MODEL (UTC)", INK, 2);

    // Token counts come from the logs: sums saturate rather than overflow.
    let peak = (0..buckets)
        .map(|i| {
            series
                .iter()
                .fold(0u64, |sum, (_, t)| sum.saturating_add(t[i]))
        })
        .max()
        .unwrap_or(0)
        .max(1);
    let scale_max = nice_ceiling(peak);
    let plot_height = PLOT_BOTTOM - PLOT_TOP;
    for step in 0..=4u64 {
        let value = (u128::from(scale_max) * u128::from(step) / 4) as u64;
        let y = PLOT_BOTTOM - (plot_height as u64 * step / 4) as u32;
        canvas.fill(PLOT_LEFT, y, PLOT_RIGHT - PLOT_LEFT, 1, GRID);
        let label = compact(value);
        let x = PLOT_LEFT.saturating_sub(8 + Canvas::text_width(&label, 1));
        canvas.text(x, y.saturating_sub(3), &label, INK, 1);
    }

    let slot = (PLOT_RIGHT - PLOT_LEFT) as f64 / buckets as f64;
    let bar = ((slot * 0.8).floor() as u32).max(1);
    for i in 0..buckets {
        let x = PLOT_LEFT + (slot * i as f64 + (slot - f64::from(bar)) / 2.0) as u32;
        let mut base = 0u64;
        for (index, (_, tokens)) in series.iter().enumerate() {
            let value = tokens[i];
            if value == 0 {
                continue;
            }
            let y0 = height_of(base, scale_max, plot_height);
            let y1 = height_of(base.saturating_add(value), scale_max, plot_height);
            canvas.fill(
                x,
                PLOT_BOTTOM - y1,
                bar,
                (y1 - y0).max(1),
                color(index, series.len()),
            );
            base = base.saturating_add(value);
        }
    }
    canvas.fill(PLOT_LEFT, PLOT_BOTTOM, PLOT_RIGHT - PLOT_LEFT, 1, INK);

    // Bucket labels: as many as fit, always the first and the last.
    let keys: Vec<&str> = report.daily.iter().map(|r| r.key.as_str()).collect();
    let label_width = Canvas::text_width(keys[0], 1) + 12;
    let every = ((f64::from(label_width) / slot).ceil() as usize).max(1);
    for (i, key) in keys.iter().enumerate() {
        if i % every == 0 || i + 1 == buckets {
            let center = PLOT_LEFT + (slot * (i as f64 + 0.5)) as u32;
            let x = center.saturating_sub(Canvas::text_width(key, 1) / 2);
            if i + 1 == buckets && i % every != 0 && i >= every {
                continue;
            }
            canvas.text(x, PLOT_BOTTOM + 8, key, INK, 1);
        }
    }

    // Legend, two columns.
    for (index, (model, _)) in series.iter().enumerate() {
        let column = index as u32 % 2;
        let row = index as u32 / 2;
        let x = PLOT_LEFT + column * 440;
        let y = PLOT_BOTTOM + 36 + row * 16;
        canvas.fill(x, y, 10, 10, color(index, series.len()));
        let name: String = model.chars().take(64).collect();
        canvas.text(x + 16, y + 2, &name, INK, 1);
    }
    Ok(png::encode_rgb(WIDTH, HEIGHT, canvas.pixels())?)
}

/// The chart as base64, as an MCP image content block carries it.
pub(crate) fn render_png_base64(report: &UsageReport) -> Result<String, ChartError> {
    Ok(base64::engine::general_purpose::STANDARD.encode(render_png(report)?))
}

/// At most 7 series (the legend's room): the biggest models, the rest as `(other)`.
fn chart_series(report: &UsageReport) -> Vec<(String, Vec<u64>)> {
    const SHOWN: usize = 7;
    let mut series: Vec<(String, Vec<u64>)> = Vec::new();
    let mut other = vec![0u64; report.daily.len()];
    let mut has_other = false;
    for (i, line) in report.model_series.iter().enumerate() {
        if i < SHOWN - 1 && line.model != super::report::OTHER_KEY {
            series.push((line.model.clone(), line.tokens.clone()));
        } else {
            has_other = true;
            for (slot, tokens) in other.iter_mut().zip(&line.tokens) {
                *slot = slot.saturating_add(*tokens);
            }
        }
    }
    if has_other {
        series.push((super::report::OTHER_KEY.to_owned(), other));
    }
    series
}

fn color(index: usize, count: usize) -> Rgb {
    if index + 1 == count && count > PALETTE.len() - 1 {
        return PALETTE[PALETTE.len() - 1];
    }
    PALETTE[index % (PALETTE.len() - 1)]
}

fn height_of(value: u64, max: u64, plot_height: u32) -> u32 {
    ((value as f64 / max as f64) * f64::from(plot_height)).round() as u32
}

/// The smallest 1, 2 or 5 times a power of ten at or above `value`.
fn nice_ceiling(value: u64) -> u64 {
    let mut magnitude = 1u64;
    while let Some(next) = magnitude.checked_mul(10)
        && next <= value
    {
        magnitude = next;
    }
    [1, 2, 5, 10]
        .into_iter()
        .map(|m| magnitude.saturating_mul(m))
        .find(|v| *v >= value)
        .unwrap_or(u64::MAX)
}

/// `1234567` -> `1.2M`.
fn compact(value: u64) -> String {
    let (scaled, unit) = match value {
        v if v >= 1_000_000_000 => (v as f64 / 1e9, "B"),
        v if v >= 1_000_000 => (v as f64 / 1e6, "M"),
        v if v >= 1_000 => (v as f64 / 1e3, "K"),
        v => return v.to_string(),
    };
    let text = format!("{scaled:.1}");
    format!("{}{unit}", text.trim_end_matches(".0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_and_labels() {
        assert_eq!(nice_ceiling(1), 1);
        assert_eq!(nice_ceiling(3), 5);
        assert_eq!(nice_ceiling(1_234), 2_000);
        assert_eq!(nice_ceiling(50_000), 50_000);
        // Found by tests/fuzz_usage_records.rs: a count near u64::MAX overflowed.
        assert_eq!(nice_ceiling(u64::MAX), u64::MAX);
        assert_eq!(nice_ceiling(u64::MAX / 3), 10_000_000_000_000_000_000);
        assert_eq!(compact(999), "999");
        assert_eq!(compact(1_500), "1.5K");
        assert_eq!(compact(2_000_000), "2M");
    }
}

#[cfg(test)]
mod picture_tests {
    use std::io::Read;

    use super::*;
    use crate::usage::source::SampleSource;
    use crate::usage::{Date, Granularity, NoProgress, UsageQuery, UsageSource};

    /// Decodes our own PNG output back to pixels (one IDAT, filter 0 on every row).
    fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
        let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
        let idat_len = u32::from_be_bytes(png[33..37].try_into().unwrap()) as usize;
        assert_eq!(&png[37..41], b"IDAT");
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(&png[41..41 + idat_len])
            .read_to_end(&mut raw)
            .unwrap();
        let row = width as usize * 3 + 1;
        assert_eq!(raw.len(), row * height as usize);
        let pixels = raw.chunks(row).flat_map(|r| r[1..].to_vec()).collect();
        (width, height, pixels)
    }

    #[tokio::test]
    async fn draws_every_series_in_its_colour() {
        let today = Date::from_ymd(2026, 11, 25).unwrap();
        let query = UsageQuery::last_days(today, 14, Granularity::Day).unwrap();
        let report = SampleSource::for_today(today)
            .collect(
                &query,
                &NoProgress,
                &tokio_util::sync::CancellationToken::new(),
            )
            .await
            .unwrap();
        let (width, height, pixels) = decode(&render_png(&report).unwrap());
        assert_eq!((width, height), (WIDTH, HEIGHT));
        let count = |colour: Rgb| pixels.chunks(3).filter(|p| *p == colour).count();
        let series = chart_series(&report);
        assert!(series.len() >= 3);
        for index in 0..series.len() {
            // The legend swatch alone is 100 pixels; bars add more.
            assert!(
                count(color(index, series.len())) > 100,
                "series {index} not drawn"
            );
        }
        assert!(count(INK) > 1000, "labels and axes are drawn");
        let empty = UsageReport {
            daily: Vec::new(),
            ..report
        };
        assert!(matches!(render_png(&empty), Err(ChartError::Empty)));
    }
}
