//! Statistics for the figures (`metaplasticity_cli::stats`): the one-sided
//! Mann-Whitney U test against SciPy and against brute-force enumeration, the
//! percentile bootstrap's determinism and coverage, and the NaN-skipping
//! moving average.
//!
//! Reference values come from SciPy 1.17.1 (NumPy 2.4.6, Python 3.11), as
//! `scipy.stats.mannwhitneyu(x, y, alternative="greater")` with the default
//! `method="auto"` and `use_continuity=True`, printed with `repr` by:
//!
//! ```text
//! import numpy as np
//! from scipy.stats import mannwhitneyu
//! rng = np.random.default_rng(7)
//! cases = {}
//! cases["docs"] = ([19., 22., 16., 29., 24.], [20., 11., 17., 12.])
//! cases["docs_rev"] = ([20., 11., 17., 12.], [19., 22., 16., 29., 24.])
//! order = "THHHHHTTTTTH"
//! cases["wiki_T_H"] = ([float(i+1) for i,c in enumerate(order) if c=="T"],
//!                      [float(i+1) for i,c in enumerate(order) if c=="H"])
//! cases["small_3_12"] = (list(np.round(rng.normal(0.5, 1, 3), 4)), list(np.round(rng.normal(0, 1, 12), 4)))
//! cases["exact_8_50"] = (list(np.round(rng.normal(0.8, 1, 8), 4)), list(np.round(rng.normal(0, 1, 50), 4)))
//! cases["asym_20_20"] = (list(np.round(rng.normal(0.3, 1, 20), 4)), list(np.round(rng.normal(0, 1, 20), 4)))
//! cases["ties_acc_20_20"] = (list(rng.binomial(50, 0.62, 20) / 50), list(rng.binomial(50, 0.55, 20) / 50))
//! cases["ties_small_5_4"] = ([0.5, 0.6, 0.6, 0.7, 0.8], [0.4, 0.5, 0.6, 0.5])
//! cases["all_tied"] = ([0.5]*4, [0.5]*6)
//! cases["separated_20_20"] = (list(np.arange(21, 41, dtype=float)), list(np.arange(1, 21, dtype=float)))
//! for name, (x, y) in cases.items():
//!     r = mannwhitneyu(x, y, alternative="greater")
//!     print(name, [float(v) for v in x], [float(v) for v in y], repr(float(r.statistic)), repr(float(r.pvalue)))
//! ```
//!
//! "docs" is the example of SciPy's documentation (Conover's male/female
//! ages), "wiki_T_H" the tortoise-and-hare race of Wikipedia's article
//! (`U = 25` for the tortoise).

use metaplasticity::init;
use metaplasticity_cli::stats::{
    MannWhitney, MannWhitneyMethod, StatsError, bootstrap_mean_ci, mann_whitney_greater, moving_average,
};
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::SeedableRng;

use MannWhitneyMethod::{Asymptotic, Exact};

/// `(name, x, y, U, p, method SciPy's "auto" picks)`.
type Case = (&'static str, &'static [f64], &'static [f64], f64, f64, MannWhitneyMethod);

const SCIPY: &[Case] = &[
    ("docs", &[19.0, 22.0, 16.0, 29.0, 24.0], &[20.0, 11.0, 17.0, 12.0], 17.0, 0.05555555555555555, Exact),
    ("docs_rev", &[20.0, 11.0, 17.0, 12.0], &[19.0, 22.0, 16.0, 29.0, 24.0], 3.0, 0.9682539682539683, Exact),
    ("wiki_T_H", &[1.0, 7.0, 8.0, 9.0, 10.0, 11.0], &[2.0, 3.0, 4.0, 5.0, 6.0, 12.0], 25.0, 0.15476190476190477, Exact),
    (
        "small_3_12",
        &[0.5012, 0.7987, 0.2259],
        &[-0.8906, -0.4547, -0.9916, 0.0601, 1.3402, -0.4922, -0.6205, 0.4898, 0.3569, 0.1054, -0.9305, -0.0293],
        31.0,
        0.035164835164835165,
        Exact,
    ),
    (
        "exact_8_50",
        &[1.4953, -0.5442, 0.3424, -1.1012, -0.4895, -1.0417, 0.5649, -0.4674],
        &[
            0.2713, 0.1568, -0.1869, -2.5168, -0.5387, -0.0485, 0.1133, -1.5301, -0.4778, -0.9785, -0.8088, 1.0609,
            -0.8075, -0.0325, 0.8844, -0.5836, -0.1117, 0.1105, 0.0638, -1.2251, 0.0761, 1.3588, -1.5471, 0.8594,
            0.1194, -0.6415, 2.0004, 0.7623, -1.1993, 0.0745, 0.5767, -0.1888, 0.6829, -0.0665, 0.6672, 1.4385,
            -0.6757, 0.2031, -0.4633, 0.1273, -1.1872, -0.5793, -0.1962, 0.8988, 1.1452, -1.3235, -0.7946, 0.6469,
            -1.9924, -0.4632,
        ],
        190.0,
        0.5918340893373676,
        Exact,
    ),
    (
        "asym_20_20",
        &[
            0.2027, 1.557, 0.9894, -0.0272, -0.0686, 0.0498, 1.8235, -0.128, -0.0037, 0.6526, 0.1792, 0.1027, -0.8141,
            0.2885, -0.1436, 1.4661, 0.9531, 0.2759, 0.9684, -0.0399,
        ],
        &[
            1.0521, -0.0054, 0.5834, -1.2909, 0.3467, -1.6882, -2.0353, -0.3045, -0.8999, 0.1641, 2.2448, -0.8317,
            -0.6239, 0.2054, 0.493, -0.1764, -0.2059, 0.7025, 0.5199, -1.0337,
        ],
        267.0,
        0.03602271523367195,
        Asymptotic,
    ),
    (
        "ties_acc_20_20",
        &[
            0.78, 0.58, 0.56, 0.7, 0.64, 0.56, 0.76, 0.6, 0.56, 0.62, 0.58, 0.68, 0.68, 0.64, 0.68, 0.64, 0.5, 0.6,
            0.64, 0.66,
        ],
        &[
            0.44, 0.56, 0.4, 0.54, 0.54, 0.46, 0.5, 0.54, 0.56, 0.46, 0.56, 0.44, 0.66, 0.56, 0.54, 0.44, 0.6, 0.48,
            0.52, 0.5,
        ],
        363.5,
        4.734787848926381e-06,
        Asymptotic,
    ),
    ("ties_small_5_4", &[0.5, 0.6, 0.6, 0.7, 0.8], &[0.4, 0.5, 0.6, 0.5], 17.0, 0.04967112392673264, Asymptotic),
    ("all_tied", &[0.5; 4], &[0.5; 6], 12.0, 1.0, Asymptotic),
    (
        "separated_20_20",
        &[
            21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0, 30.0, 31.0, 32.0, 33.0, 34.0, 35.0, 36.0, 37.0, 38.0,
            39.0, 40.0,
        ],
        &[
            1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0,
            20.0,
        ],
        400.0,
        3.397807564086679e-08,
        Asymptotic,
    ),
];

fn rel_close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(f64::MIN_POSITIVE)
}

#[test]
fn mann_whitney_matches_scipy() {
    for &(name, x, y, u, p, method) in SCIPY {
        let r = mann_whitney_greater(x, y).unwrap();
        assert_eq!(r.u, u, "{name}: U");
        assert_eq!(r.method, method, "{name}: method");
        assert!(rel_close(r.p_value, p, 1e-13), "{name}: p = {} vs SciPy {p}", r.p_value);
    }
}

#[test]
fn mann_whitney_statistic_is_symmetric() {
    for &(name, x, y, ..) in SCIPY {
        let a = mann_whitney_greater(x, y).unwrap();
        let b = mann_whitney_greater(y, x).unwrap();
        assert_eq!(a.u + b.u, (x.len() * y.len()) as f64, "{name}");
    }
}

#[test]
fn mann_whitney_single_value_sample() {
    // U of one value above 7 of 10 others; under H0 its rank is uniform on 1..=11.
    let y: Vec<f64> = (1..=10).map(f64::from).collect();
    let r = mann_whitney_greater(&[7.5], &y).unwrap();
    assert_eq!(r, MannWhitney { u: 7.0, p_value: 4.0 / 11.0, method: Exact });
    let r = mann_whitney_greater(&y, &[7.5]).unwrap();
    assert_eq!((r.u, r.method), (3.0, Exact));
    assert!(rel_close(r.p_value, 8.0 / 11.0, 1e-15));
}

/// `P(U >= u)` by enumerating every assignment of ranks `1..=n1 + n2` to `x`.
fn brute_force_p(u: f64, n1: usize, n2: usize) -> f64 {
    let n = n1 + n2;
    let (mut hits, mut total) = (0u64, 0u64);
    for mask in 0u32..(1 << n) {
        if mask.count_ones() as usize != n1 {
            continue;
        }
        let rank_sum: usize = (0..n).filter(|b| mask >> b & 1 == 1).map(|b| b + 1).sum();
        let uu = (rank_sum - n1 * (n1 + 1) / 2) as f64;
        total += 1;
        hits += u64::from(uu >= u);
    }
    hits as f64 / total as f64
}

#[test]
fn mann_whitney_exact_matches_enumeration() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    for n1 in 1..=8 {
        for n2 in 1..=8 {
            if n1 + n2 > 14 {
                continue;
            }
            for _ in 0..3 {
                // Continuous draws: ties have probability 2^-53-ish.
                let x: Vec<f64> = (0..n1).map(|_| init::standard_normal(&mut rng) + 0.5).collect();
                let y: Vec<f64> = (0..n2).map(|_| init::standard_normal(&mut rng)).collect();
                let r = mann_whitney_greater(&x, &y).unwrap();
                assert_eq!(r.method, Exact);
                let want = brute_force_p(r.u, n1, n2);
                assert!(rel_close(r.p_value, want, 1e-14), "n1 {n1} n2 {n2} U {}: {} vs {want}", r.u, r.p_value);
            }
        }
    }
}

#[test]
fn mann_whitney_exact_handles_large_second_sample() {
    // k = 8 against 2000: C(2008, 8) ~ 5e21 exceeds u64 but not u128; the
    // extreme U values have probability 1 / C(2008, 8).
    let y: Vec<f64> = (0..2000).map(f64::from).collect();
    let top: Vec<f64> = (0..8).map(|i| 5000.0 + f64::from(i)).collect();
    let r = mann_whitney_greater(&top, &y).unwrap();
    assert_eq!((r.u, r.method), (16000.0, Exact));
    let c: f64 = (1..=8).map(|i| f64::from(2000 + i) / f64::from(i)).product();
    assert!(rel_close(r.p_value, 1.0 / c, 1e-12), "{} vs {}", r.p_value, 1.0 / c);
    let bottom: Vec<f64> = (0..8).map(|i| -5000.0 + f64::from(i)).collect();
    assert_eq!(mann_whitney_greater(&bottom, &y).unwrap().p_value, 1.0);
}

#[test]
fn mann_whitney_errors() {
    assert_eq!(mann_whitney_greater(&[], &[1.0]), Err(StatsError::EmptySample));
    assert_eq!(mann_whitney_greater(&[1.0], &[]), Err(StatsError::EmptySample));
    assert_eq!(mann_whitney_greater(&[1.0, f64::NAN], &[1.0]), Err(StatsError::NonFinite { index: 1 }));
    assert_eq!(mann_whitney_greater(&[1.0], &[f64::INFINITY]), Err(StatsError::NonFinite { index: 0 }));
}

#[test]
fn bootstrap_is_deterministic_for_a_seed() {
    let xs = [0.52, 0.61, 0.58, 0.7, 0.49, 0.66, 0.6, 0.55];
    let a = bootstrap_mean_ci(&xs, 0.98, 1000, 42).unwrap();
    assert_eq!(a, bootstrap_mean_ci(&xs, 0.98, 1000, 42).unwrap());
    assert_ne!(a, bootstrap_mean_ci(&xs, 0.98, 1000, 43).unwrap());
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    assert_eq!(a.0, mean);
    assert!(a.1 < mean && mean < a.2, "{a:?}");
    // Same seed, same resample means: a narrower level nests inside.
    let b = bootstrap_mean_ci(&xs, 0.5, 1000, 42).unwrap();
    assert!(a.1 <= b.1 && b.2 <= a.2, "{a:?} {b:?}");
}

#[test]
fn bootstrap_degenerate_samples() {
    assert_eq!(bootstrap_mean_ci(&[0.25], 0.9, 10, 0).unwrap(), (0.25, 0.25, 0.25));
    assert_eq!(bootstrap_mean_ci(&[0.5; 7], 0.9, 10, 0).unwrap(), (0.5, 0.5, 0.5));
}

#[test]
fn bootstrap_errors() {
    assert_eq!(bootstrap_mean_ci(&[], 0.9, 10, 0), Err(StatsError::EmptySample));
    assert_eq!(bootstrap_mean_ci(&[1.0, f64::NEG_INFINITY], 0.9, 10, 0), Err(StatsError::NonFinite { index: 1 }));
    for level in [0.0, 1.0, -0.5, 1.5] {
        assert_eq!(bootstrap_mean_ci(&[1.0], level, 10, 0), Err(StatsError::BadLevel(level)));
    }
    assert!(matches!(bootstrap_mean_ci(&[1.0], f64::NAN, 10, 0), Err(StatsError::BadLevel(l)) if l.is_nan()));
    assert_eq!(bootstrap_mean_ci(&[1.0], 0.9, 0, 0), Err(StatsError::NoResamples));
    // Display is informative.
    assert_eq!(StatsError::BadLevel(1.5).to_string(), "confidence level 1.5 is not in (0, 1)");
}

/// Coverage of the 98 % percentile interval for the mean of 20 standard
/// normal values. The percentile interval is too narrow for small samples
/// (plug-in variance, normal quantiles): a NumPy simulation of the same
/// procedure (20,000 repetitions, 2,000 resamples, `np.percentile` at 1 % and
/// 99 %) covers 96.08 %, and the t-based approximation
/// `P(|t_19| <= z_0.99 sqrt(19 / 20))` gives 96.5 %. With 1,000 repetitions
/// the binomial standard error is `sqrt(0.961 * 0.039 / 1000) = 0.61` points,
/// so 93.5 % ..= 98.5 % is about 4 standard errors either side; the nominal
/// 98 % is inside it, a badly broken interval (e.g. 90 % or 100 %) is not.
#[test]
fn bootstrap_coverage_on_normal_samples() {
    const REPS: usize = 1000;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2023);
    let mut covered = 0;
    for rep in 0..REPS {
        let xs: Vec<f64> = (0..20).map(|_| init::standard_normal(&mut rng)).collect();
        let (_, lo, hi) = bootstrap_mean_ci(&xs, 0.98, 2000, rep as u64).unwrap();
        covered += usize::from(lo <= 0.0 && 0.0 <= hi);
    }
    let coverage = covered as f64 / REPS as f64;
    println!("98 % percentile-bootstrap coverage, n = 20, {REPS} repetitions: {coverage}");
    assert!((0.935..=0.985).contains(&coverage), "coverage {coverage}");
}

fn same(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(p, q)| (p.is_nan() && q.is_nan()) || p == q || (p - q).abs() < 1e-15)
}

#[test]
fn moving_average_trailing_window() {
    let xs = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    assert!(same(&moving_average(&xs, 1), &xs));
    assert!(same(&moving_average(&xs, 3), &[1.0, 1.5, 2.0, 3.0, 4.0, 5.0]));
    assert!(same(&moving_average(&xs, 10), &[1.0, 1.5, 2.0, 2.5, 3.0, 3.5]));
    assert!(moving_average(&[], 3).is_empty());
}

#[test]
fn moving_average_skips_nan() {
    let nan = f64::NAN;
    let xs = [nan, 2.0, nan, nan, nan, 6.0, 8.0];
    // Windows of 3: [nan], [nan 2], [nan 2 nan], [2 nan nan], [nan nan nan], [nan nan 6], [nan 6 8].
    assert!(same(&moving_average(&xs, 3), &[nan, 2.0, 2.0, 2.0, nan, 6.0, 7.0]));
    // Infinities are values, not gaps.
    let inf = f64::INFINITY;
    assert!(same(&moving_average(&[1.0, inf, 1.0, 1.0, 1.0], 2), &[1.0, inf, inf, 1.0, 1.0]));
}

#[test]
fn moving_average_window_zero_is_one() {
    assert_eq!(moving_average(&[1.0, 3.0], 0), vec![1.0, 3.0]);
}

#[test]
fn mann_whitney_falls_back_when_exact_count_overflows() {
    // C(300008, 8) > 2^128: the normal approximation is used although there are no ties.
    let y: Vec<f64> = (0..300_000).map(f64::from).collect();
    let x: Vec<f64> = (0..8).map(|i| 150_000.5 + f64::from(i)).collect();
    let r = mann_whitney_greater(&x, &y).unwrap();
    assert_eq!(r.method, Asymptotic);
    // x_i = 150000.5 + i exceeds the 150001 + i values 0 ..= 150000 + i.
    assert_eq!(r.u, 8.0 * 150_001.0 + 28.0);
    assert!(r.p_value > 0.4 && r.p_value < 0.6, "{}", r.p_value);
}
