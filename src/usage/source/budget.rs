//! The limits of one report, shared by all its reads (the period, and the previous period or
//! anomaly baseline) and all the sources it reads (several log groups, regions and accounts
//! through [`super::multi`]): the Logs Insights queries it may run (`max_queries`) and the
//! bytes they may scan (`--max-scan-gb`). One [`ReportBudget`] per report, never per read or
//! per source, so that neither `compare_to` nor more log groups multiply what the operator
//! allowed.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::SourceError;
use crate::usage::report::{BYTES_PER_GB, gb};

/// What one report's queries have used so far, and its limits.
/// Serialisable: a report task keeps it between polls, so that the limits hold across them.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ReportBudget {
    /// The most bytes the report's queries may scan together; `None`: no cap.
    cap: Option<u64>,
    /// The most queries the report may run, splits included.
    max_queries: u64,
    state: Mutex<State>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    /// The latest `bytesScanned` of each query, by query id.
    scanned: HashMap<String, u64>,
    /// Queries planned so far (slices to run, splits included).
    planned: u64,
    /// The stored-bytes estimates of the sources read so far (the preflight).
    estimated: u64,
}

impl ReportBudget {
    /// A budget of `max_queries` queries and `cap` bytes scanned (`None`: no cap).
    pub fn new(cap: Option<u64>, max_queries: usize) -> Self {
        ReportBudget {
            cap,
            max_queries: u64::try_from(max_queries).unwrap_or(u64::MAX),
            state: Mutex::new(State::default()),
        }
    }

    /// The cap on bytes scanned.
    pub fn cap(&self) -> Option<u64> {
        self.cap
    }

    /// The most queries the report may run.
    pub fn max_queries(&self) -> u64 {
        self.max_queries
    }

    /// Takes `n` more queries from the budget; `false` (and nothing taken) when the report
    /// would then run more than `max_queries`.
    pub fn plan_queries(&self, n: u64) -> bool {
        let mut state = self.lock();
        match state.planned.checked_add(n) {
            Some(total) if total <= self.max_queries => {
                state.planned = total;
                true
            }
            _ => false,
        }
    }

    /// Queries planned so far.
    pub fn planned_queries(&self) -> u64 {
        self.lock().planned
    }

    /// Adds one source's preflight estimate (stored bytes for the periods read) and returns
    /// the report's estimate so far.
    pub fn add_estimate(&self, bytes: u64) -> u64 {
        let mut state = self.lock();
        state.estimated = state.estimated.saturating_add(bytes);
        state.estimated
    }

    /// Records that query `id` has scanned `bytes` so far; fails once the report's total
    /// passes the cap.
    pub fn record(&self, id: &str, bytes: f64) -> Result<(), SourceError> {
        let bytes = if bytes.is_finite() && bytes > 0.0 {
            // Saturating: a float past u64::MAX becomes u64::MAX.
            bytes as u64
        } else {
            0
        };
        let total = {
            let mut state = self.lock();
            let seen = state.scanned.entry(id.to_owned()).or_default();
            // Statistics only grow; a smaller figure is a stale answer.
            *seen = (*seen).max(bytes);
            sum(&state.scanned)
        };
        match self.cap {
            Some(cap) if total > cap => Err(SourceError::ScanCap(format!(
                "the report was stopped after its Logs Insights queries scanned {} ({total} \
                 bytes), over the cap of {} set by --max-scan-gb; every running query was \
                 stopped. Ask for a shorter period or fewer filters' worth of data, raise \
                 --max-scan-gb, or use --cloudwatch-mode scan (not billed per GB)",
                show_gb(total),
                show_gb(cap),
            ))),
            _ => Ok(()),
        }
    }

    /// The bytes scanned so far by every query of the report.
    pub fn total(&self) -> u64 {
        sum(&self.lock().scanned)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn sum(scanned: &HashMap<String, u64>) -> u64 {
    scanned.values().fold(0u64, |sum, b| sum.saturating_add(*b))
}

/// `max_scan_gb` in bytes (decimal GB, rounded down).
pub fn cap_bytes(max_scan_gb: f64) -> u64 {
    // Saturating float-to-int conversion: huge caps become u64::MAX.
    (max_scan_gb * BYTES_PER_GB) as u64
}

/// `bytes` as GB with three decimals, e.g. `1.250 GB`.
pub(crate) fn show_gb(bytes: u64) -> String {
    format!("{:.3} GB", gb(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_meter_sums_the_latest_figure_of_each_query_and_trips_past_the_cap() {
        let meter = ReportBudget::new(Some(1_000), 10);
        meter.record("a", 300.0).unwrap();
        meter.record("a", 500.0).unwrap();
        // A stale, smaller figure does not lower what was seen.
        meter.record("a", 100.0).unwrap();
        meter.record("b", 500.0).unwrap();
        assert_eq!(meter.total(), 1_000);
        let err = meter.record("c", 1.0).unwrap_err();
        assert!(matches!(err, SourceError::ScanCap(_)), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("1001 bytes"), "{text}");
        assert!(text.contains("--max-scan-gb"), "{text}");
        assert_eq!(meter.total(), 1_001);
        // Without a cap nothing trips; junk figures count as zero.
        let open = ReportBudget::new(None, 10);
        open.record("a", f64::MAX).unwrap();
        open.record("b", f64::NAN).unwrap();
        open.record("c", -5.0).unwrap();
        assert_eq!(open.total(), u64::MAX);
    }

    #[test]
    fn queries_are_taken_from_one_budget_and_never_past_it() {
        let budget = ReportBudget::new(None, 10);
        assert!(budget.plan_queries(4));
        assert!(budget.plan_queries(6));
        assert!(!budget.plan_queries(1), "the 11th query");
        assert_eq!(budget.planned_queries(), 10, "a refusal takes nothing");
        assert!(budget.plan_queries(0));
        assert!(!ReportBudget::new(None, 10).plan_queries(u64::MAX));
        assert_eq!(budget.add_estimate(5), 5);
        assert_eq!(budget.add_estimate(u64::MAX), u64::MAX);
    }
}
