//! Summaries over trials: per-episode means with bootstrap bands, tail means
//! with confidence intervals, and the CSV and Markdown they are written as.

use std::fmt::Write as _;

use metaplasticity_cli::stats::{bootstrap_mean_ci, moving_average};

/// Resamples of every bootstrap.
const RESAMPLES: usize = 2000;

/// Mean and bootstrap interval of one quantity.
#[derive(Clone, Copy, Debug)]
pub struct Estimate {
    /// Mean over the trials with a finite value.
    pub mean: f64,
    /// Lower end of the interval.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
    /// Trials with a finite value.
    pub n: usize,
}

impl Estimate {
    /// Mean and `level` percentile-bootstrap interval of the finite values
    /// (NaN everywhere if there are none).
    pub fn of(values: &[f64], level: f64, seed: u64) -> Estimate {
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        match bootstrap_mean_ci(&finite, level, RESAMPLES, seed) {
            Ok((mean, lo, hi)) => Estimate { mean, lo, hi, n: finite.len() },
            Err(_) => Estimate { mean: f64::NAN, lo: f64::NAN, hi: f64::NAN, n: 0 },
        }
    }

    /// `mean [lo, hi]` with `digits` decimals (the mean alone from one value).
    pub fn show(&self, digits: usize) -> String {
        match self.n {
            0 => return "n/a".into(),
            1 => return format!("{:.d$} (one value)", self.mean, d = digits),
            _ => {}
        }
        format!("{:.d$} [{:.d$}, {:.d$}]", self.mean, self.lo, self.hi, d = digits)
    }
}

/// Per-episode estimates of a quantity over trials: each trial's series is
/// smoothed with a trailing moving average of `window` first.
pub fn band(trials: &[Vec<f64>], window: usize, level: f64) -> Vec<Estimate> {
    let smooth: Vec<Vec<f64>> = trials.iter().map(|t| moving_average(t, window)).collect();
    let len = smooth.iter().map(Vec::len).min().unwrap_or(0);
    (0..len)
        .map(|n| {
            let column: Vec<f64> = smooth.iter().map(|t| t[n]).collect();
            Estimate::of(&column, level, n as u64)
        })
        .collect()
}

/// Per-trial means of the last `tail` values (skipping NaN), and their estimate.
pub fn tail(trials: &[Vec<f64>], tail: usize, level: f64) -> Estimate {
    let means: Vec<f64> = trials
        .iter()
        .map(|t| {
            let last: Vec<f64> = t[t.len().saturating_sub(tail)..].iter().copied().filter(|v| !v.is_nan()).collect();
            if last.is_empty() { f64::NAN } else { last.iter().sum::<f64>() / last.len() as f64 }
        })
        .collect();
    Estimate::of(&means, level, 7)
}

/// The number of final episodes the tables average over: 50 of 600, fewer
/// in short runs.
pub fn tail_len(episodes: usize) -> usize {
    (episodes / 12).clamp(1, 50)
}

/// A wide CSV: an `x` column, then `<name>_mean,<name>_lo,<name>_hi` for each
/// named band (empty fields where a value is missing).
pub fn bands_csv(x_name: &str, xs: &[f64], bands: &[(String, Vec<Estimate>)]) -> String {
    let columns: Vec<(String, Vec<f64>)> = bands
        .iter()
        .flat_map(|(name, b)| {
            [
                (format!("{name}_mean"), b.iter().map(|e| e.mean).collect()),
                (format!("{name}_lo"), b.iter().map(|e| e.lo).collect()),
                (format!("{name}_hi"), b.iter().map(|e| e.hi).collect()),
            ]
        })
        .collect();
    columns_csv(x_name, xs, &columns)
}

/// A wide CSV: an `x` column, then one column per named series.
pub fn columns_csv(x_name: &str, xs: &[f64], columns: &[(String, Vec<f64>)]) -> String {
    let mut s = String::from(x_name);
    for (name, _) in columns {
        let _ = write!(s, ",{name}");
    }
    s.push('\n');
    for (i, x) in xs.iter().enumerate() {
        let _ = write!(s, "{x}");
        for (_, c) in columns {
            match c.get(i) {
                Some(v) if v.is_finite() => {
                    let _ = write!(s, ",{v:e}");
                }
                _ => s.push(','),
            }
        }
        s.push('\n');
    }
    s
}

/// A Markdown table.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = format!("| {} |\n|{}\n", header.join(" | "), "---|".repeat(header.len()));
    for r in rows {
        let _ = writeln!(s, "| {} |", r.join(" | "));
    }
    s
}
