//! Statistics for reproducing the paper's figures (feature `std`):
//!
//! * [`mann_whitney_greater`]: the one-sided Mann-Whitney U test of Fig. S7
//!   ("the rule's meta-accuracies over 20 trials tend to exceed FA's"), with
//!   the same statistic, method choice and p-values as SciPy's
//!   `scipy.stats.mannwhitneyu(x, y, alternative="greater")` (default
//!   `method="auto"`, `use_continuity=True`);
//! * [`bootstrap_mean_ci`]: a seeded percentile-bootstrap confidence interval
//!   of a mean, for error bands over trials;
//! * [`moving_average`]: a trailing, NaN-skipping moving average for smoothing
//!   per-episode curves.
//!
//! Inputs of the first two must be finite; everything is computed in `f64`.

use core::fmt;
use std::vec::Vec;

use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::SeedableRng;

use metaplasticity::init;

/// Why a statistic could not be computed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StatsError {
    /// A sample has no values.
    EmptySample,
    /// A sample holds a NaN or an infinity at `index`.
    NonFinite {
        /// Position of the first offending value in its sample.
        index: usize,
    },
    /// A confidence level outside the open interval `(0, 1)` (or NaN).
    BadLevel(f64),
    /// A bootstrap asked for zero resamples.
    NoResamples,
}

impl fmt::Display for StatsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatsError::EmptySample => f.write_str("empty sample"),
            StatsError::NonFinite { index } => write!(f, "non-finite value at index {index}"),
            StatsError::BadLevel(level) => write!(f, "confidence level {level} is not in (0, 1)"),
            StatsError::NoResamples => f.write_str("a bootstrap needs at least one resample"),
        }
    }
}

impl std::error::Error for StatsError {}

/// How the p-value of a [`MannWhitney`] result was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MannWhitneyMethod {
    /// The exact null distribution of `U` (all `C(n1 + n2, n1)` rank
    /// assignments equally likely), counted with `q`-binomial coefficients.
    Exact,
    /// The normal approximation with tie-corrected variance and a continuity
    /// correction of 0.5.
    Asymptotic,
}

/// Result of [`mann_whitney_greater`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// `U` of the first sample: the number of pairs `(x_i, y_j)` with
    /// `x_i > y_j`, ties counting one half (SciPy's `statistic`). It ranges
    /// over `0 ..= n1 * n2` and is large when `x` tends to be greater.
    pub u: f64,
    /// One-sided p-value `P(U >= u)` under the null hypothesis that `x` and
    /// `y` come from the same distribution.
    pub p_value: f64,
    /// How `p_value` was computed.
    pub method: MannWhitneyMethod,
}

/// One-sided Mann-Whitney U test of the alternative "`x` tends to be greater
/// than `y`" (Fig. S7: a rule's meta-accuracies over trials against FA's).
///
/// Method, as SciPy's `method="auto"`: exact when there are no ties and the
/// smaller sample has at most 8 values; otherwise the normal approximation
/// `z = (U - n1 n2 / 2 - 0.5) / s` with the tie-corrected
/// `s^2 = n1 n2 / 12 * (n + 1 - sum(t^3 - t) / (n (n - 1)))` (`t` the sizes of
/// groups of tied values, `n = n1 + n2`) and `p = P(Z >= z)`. When every value
/// is tied, `s = 0` and `p = 1`. (If the exact count would not fit in 128
/// bits, which needs a larger sample of more than about 200,000 values, the
/// normal approximation is used as well.) Meta-accuracies are fractions of a
/// few dozen queries, so ties are common and the normal approximation is the
/// usual case there.
///
/// # Errors
/// [`StatsError::EmptySample`] if `x` or `y` is empty,
/// [`StatsError::NonFinite`] if either holds a NaN or an infinity (the index is
/// within the offending sample).
pub fn mann_whitney_greater(x: &[f64], y: &[f64]) -> Result<MannWhitney, StatsError> {
    check_sample(x)?;
    check_sample(y)?;
    let (n1, n2) = (x.len(), y.len());
    let n = n1 + n2;

    // Midranks of the pooled sample, and the tie term sum(t^3 - t).
    let mut pooled: Vec<(f64, bool)> = x.iter().map(|&v| (v, true)).chain(y.iter().map(|&v| (v, false))).collect();
    pooled.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum_x = 0.0;
    let mut tie_term: u128 = 0;
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        // `==` so that -0.0 and 0.0 tie, as in SciPy.
        while end < n && pooled[end].0 == pooled[start].0 {
            end += 1;
        }
        let t = (end - start) as u128;
        tie_term += t * t * t - t;
        // Ranks start + 1 ..= end share their mean.
        let midrank = (start + 1 + end) as f64 / 2.0;
        let in_x = pooled[start..end].iter().filter(|p| p.1).count();
        rank_sum_x += midrank * in_x as f64;
        start = end;
    }
    let u = rank_sum_x - (n1 * (n1 + 1)) as f64 / 2.0;

    if tie_term == 0
        && n1.min(n2) <= 8
        && let Some(p_value) = exact_upper_tail(u as u64, n1, n2)
    {
        return Ok(MannWhitney { u, p_value, method: MannWhitneyMethod::Exact });
    }

    // s^2 = n1 n2 ((n + 1) n (n - 1) - T) / (12 n (n - 1)); the bracket is an
    // exact integer, zero iff all values tie.
    let (n1w, n2w, nw) = (n1 as u128, n2 as u128, n as u128);
    let bracket = (nw + 1) * nw * (nw - 1) - tie_term;
    let p_value = if bracket == 0 {
        1.0
    } else {
        let var = (n1w * n2w) as f64 * bracket as f64 / (12.0 * (nw * (nw - 1)) as f64);
        let z = (u - (n1 * n2) as f64 / 2.0 - 0.5) / var.sqrt();
        // P(Z >= z); libm's erfc keeps full relative precision in the tail.
        0.5 * libm::erfc(z / core::f64::consts::SQRT_2)
    };
    Ok(MannWhitney { u, p_value, method: MannWhitneyMethod::Asymptotic })
}

/// `P(U >= u)` for the Mann-Whitney `U` of samples of sizes `n1`, `n2`
/// without ties, or `None` when `C(n1 + n2, n1)` exceeds `u128`.
///
/// The counts of rank assignments by `U` are the coefficients of the Gaussian
/// binomial `[m + k choose k]_q = prod_{i=1..k} (1 - q^(m+i)) / (1 - q^i)`,
/// `k = min(n1, n2)`, `m = max(n1, n2)`; the distribution of `U` is symmetric
/// and the same for either sample. Each factor is applied in wrapping `u128`
/// arithmetic: the operations are ring operations, so the results are exact
/// modulo `2^128`, and every true coefficient is below `C(m + k, k) < 2^128`.
fn exact_upper_tail(u: u64, n1: usize, n2: usize) -> Option<f64> {
    let (k, m) = (n1.min(n2), n1.max(n2));
    let mut total: u128 = 1;
    for i in 1..=k {
        // C(m + i, i) = C(m + i - 1, i - 1) (m + i) / i, exact at every step.
        total = total.checked_mul((m + i) as u128)? / i as u128;
    }
    let max_u = k * m;
    let mut c = std::vec![0u128; max_u + 1];
    c[0] = 1;
    for i in 1..=k {
        // Before this step, c holds [m + i - 1 choose i - 1]_q, of degree (i - 1) m.
        let deg = (i - 1) * m;
        // Multiply by (1 - q^(m + i)), from the top down so old values are read.
        for d in (0..=deg).rev() {
            if d + m + i <= max_u {
                c[d + m + i] = c[d + m + i].wrapping_sub(c[d]);
            }
        }
        // Divide by (1 - q^i): r[d] = a[d] + r[d - i].
        for d in i..=i * m {
            c[d] = c[d].wrapping_add(c[d - i]);
        }
        // The quotient has degree i m: clear what is left of the product above it.
        c[(i * m + 1).min(max_u + 1)..(i * m + i).min(max_u) + 1].fill(0);
    }
    let u = (u as usize).min(max_u + 1);
    let tail: u128 = c[u..].iter().fold(0u128, |s, &v| s.wrapping_add(v));
    Some(tail as f64 / total as f64)
}

/// The mean of `samples` and its percentile-bootstrap confidence interval at
/// `level` (e.g. 0.98): `(mean, lower, upper)`.
///
/// Each of `resamples` resamples draws `samples.len()` values with
/// replacement (uniform indices from [`init::index`] on a
/// [`Xoshiro256PlusPlus`] seeded with `seed`, so the result is a function of
/// the arguments); `lower` and `upper` are the `(1 - level) / 2` and
/// `(1 + level) / 2` quantiles of the resample means, interpolated linearly
/// between order statistics (NumPy's default `percentile`). The percentile
/// interval uses the plug-in variance and normal-like quantiles, so for small
/// samples it is too narrow: for 20 normal values a nominal 98 % interval
/// covers the mean about 96 % of the time.
///
/// # Errors
/// [`StatsError::EmptySample`], [`StatsError::NonFinite`],
/// [`StatsError::BadLevel`] unless `0 < level < 1`, and
/// [`StatsError::NoResamples`] if `resamples == 0`.
pub fn bootstrap_mean_ci(
    samples: &[f64],
    level: f64,
    resamples: usize,
    seed: u64,
) -> Result<(f64, f64, f64), StatsError> {
    check_sample(samples)?;
    if !(level > 0.0 && level < 1.0) {
        return Err(StatsError::BadLevel(level));
    }
    if resamples == 0 {
        return Err(StatsError::NoResamples);
    }
    let n = samples.len();
    let mean = samples.iter().sum::<f64>() / n as f64;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut means: Vec<f64> =
        (0..resamples).map(|_| (0..n).map(|_| samples[init::index(&mut rng, n)]).sum::<f64>() / n as f64).collect();
    means.sort_by(f64::total_cmp);
    let lower = quantile_sorted(&means, (1.0 - level) / 2.0);
    let upper = quantile_sorted(&means, (1.0 + level) / 2.0);
    Ok((mean, lower, upper))
}

/// The `q`-quantile of non-empty sorted `v`, linear between order statistics.
fn quantile_sorted(v: &[f64], q: f64) -> f64 {
    let h = q * (v.len() - 1) as f64;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    v[lo] + (h - lo as f64) * (v[hi] - v[lo])
}

/// Trailing moving average that skips NaN: entry `i` is the mean of the
/// non-NaN values among `xs[i + 1 - window ..= i]` (fewer at the start, where
/// the window is cut at 0), or NaN if there are none. Infinities are not
/// skipped and propagate. Equal to pandas'
/// `Series(xs).rolling(window, min_periods=1).mean()`. A window of 0 is
/// taken as 1 (the values themselves).
pub fn moving_average(xs: &[f64], window: usize) -> Vec<f64> {
    let window = window.max(1);
    (0..xs.len())
        .map(|i| {
            let (sum, count) = xs[(i + 1).saturating_sub(window)..=i]
                .iter()
                .filter(|v| !v.is_nan())
                .fold((0.0, 0usize), |(s, c), &v| (s + v, c + 1));
            if count == 0 { f64::NAN } else { sum / count as f64 }
        })
        .collect()
}

/// Non-empty and finite.
fn check_sample(xs: &[f64]) -> Result<(), StatsError> {
    if xs.is_empty() {
        return Err(StatsError::EmptySample);
    }
    match xs.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(StatsError::NonFinite { index }),
        None => Ok(()),
    }
}
