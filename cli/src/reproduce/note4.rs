//! Supplementary note 4, numerically: for linear feedback `e_l = B_{l+1,l}
//! e_{l+1}` with i.i.d. zero-mean `B_{l+1,l}` independent of `e_{l+1}`,
//! `E[e_l e_{l-1}^T | B_{l,l-1}] = sigma_l^2 B_{l,l-1}^T` (S.4), at the layer
//! sizes of the paper's network.
//!
//! For each hidden layer `l = 1..4` of 784-170-130-100-70-10: `B_{l,l-1}`
//! (`n_{l-1} x n_l`) is drawn once and held fixed; every sample draws a fresh
//! `B_{l+1,l}` (Xavier-normal, `N(0, s^2)`, `s^2 = 2 / (n_l + n_{l+1})`) and
//! a fresh `e_{l+1}` with i.i.d. entries uniform on `[m - w, m + w]`; then
//! `e_{l-1} = B_{l,l-1} e_l`. The estimate after `N` samples is the mean of
//! `e_l e_{l-1}^T = e_l e_l^T B_{l,l-1}^T`; its relative Frobenius error
//! against `sigma_l^2 B_{l,l-1}^T` (`sigma_l^2 = n_{l+1} s^2 E[e^2]`) is
//! compared with the exact root-mean-square prediction `C / sqrt(N)`,
//! `C = sqrt((n_l + 2) kappa - 1)`, `kappa = 1 + (mu_4 / mu_2^2 - 1) / n_{l+1}`
//! (derived in `tests/note4.rs`).

use std::error::Error;

use metaplasticity::Init;
use metaplasticity::init::unit;
use metaplasticity_cli::report::write_atomic;
use nalgebra::DMatrix;
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::SeedableRng;

use crate::reproduce::plot::{Panel, Series, figure};
use crate::reproduce::summary::{Estimate, band, bands_csv, table};
use crate::reproduce::{Ctx, Experiment};

/// Widths of the paper's network.
const WIDTHS: [usize; 6] = [784, 170, 130, 100, 70, 10];
/// Mean and half-width of the entries of `e_{l+1}`.
const MEAN: f64 = 0.1;
const HALF_WIDTH: f64 = 0.5;

/// Runs the check; writes `note-4.{csv,svg,png}` and returns the Markdown.
pub fn run(ctx: &Ctx) -> Result<String, Box<dyn Error>> {
    let max_power = if ctx.args.quick { 5 } else { 7 };
    let counts: Vec<usize> = (2..=max_power).map(|k| 4usize.pow(k)).collect();
    let replicates = ctx.trials.min(10);
    let layers: Vec<usize> = (1..WIDTHS.len() - 1).collect();
    let jobs: Vec<(usize, u64)> = layers.iter().flat_map(|&l| (0..replicates as u64).map(move |r| (l, r))).collect();
    let errors = crate::reproduce::pool::map(&jobs, ctx.jobs, |&(l, r)| relative_errors(l, r, &counts));
    let mu2 = MEAN * MEAN + HALF_WIDTH * HALF_WIDTH / 3.0;
    let mu4 = MEAN.powi(4) + 2.0 * MEAN * MEAN * HALF_WIDTH * HALF_WIDTH + HALF_WIDTH.powi(4) / 5.0;
    let xs: Vec<f64> = counts.iter().map(|&n| (n as f64).log10()).collect();
    let (mut series, mut bands, mut rows) = (Vec::new(), Vec::new(), Vec::new());
    // Largest relative deviation of the measured RMS error from C / sqrt(N).
    let mut worst = 0.0f64;
    for (i, &l) in layers.iter().enumerate() {
        let mine: Vec<Vec<f64>> =
            jobs.iter().zip(&errors).filter(|((k, _), _)| *k == l).map(|(_, e)| e.clone()).collect();
        let band = band(&mine, 1, ctx.args.level);
        // Root mean square over replicates: what C / sqrt(N) predicts.
        let rms: Vec<f64> = (0..counts.len())
            .map(|c| (mine.iter().map(|e| e[c] * e[c]).sum::<f64>() / mine.len() as f64).sqrt())
            .collect();
        let (n_l, n_next) = (WIDTHS[l] as f64, WIDTHS[l + 1] as f64);
        let kappa = 1.0 + (mu4 / (mu2 * mu2) - 1.0) / n_next;
        let c = ((n_l + 2.0) * kappa - 1.0).sqrt();
        let theory: Vec<f64> = counts.iter().map(|&n| c / (n as f64).sqrt()).collect();
        series.push(Series {
            label: format!("l = {l} (n_l = {})", WIDTHS[l]),
            points: xs.iter().zip(&band).map(|(&x, e)| (x, e.mean.log10())).collect(),
            band: xs.iter().zip(&band).map(|(&x, e)| (x, e.lo.log10(), e.hi.log10())).collect(),
            color: Some(i),
            dashed: false,
        });
        series.push(Series {
            label: String::new(),
            points: xs.iter().zip(&theory).map(|(&x, t)| (x, t.log10())).collect(),
            color: Some(i),
            dashed: true,
            ..Series::default()
        });
        worst = rms.iter().zip(&theory).map(|(r, t)| (r / t - 1.0).abs()).fold(worst, f64::max);
        for (k, &n) in counts.iter().enumerate() {
            rows.push(vec![
                l.to_string(),
                format!("{} x {}", WIDTHS[l], WIDTHS[l - 1]),
                n.to_string(),
                band[k].show(4),
                format!("{:.4}", rms[k]),
                format!("{:.4}", theory[k]),
                format!("{:.3}", rms[k] / theory[k]),
            ]);
        }
        bands.push((format!("layer_{l}_relative_error"), band));
        bands.push((
            format!("layer_{l}_theory"),
            theory.iter().map(|&t| Estimate { mean: t, lo: t, hi: t, n: 1 }).collect(),
        ));
    }
    let stem = ctx.folder(Experiment::Note4)?.join("note-4");
    let ns: Vec<f64> = counts.iter().map(|&n| n as f64).collect();
    write_atomic(&stem.with_extension("csv"), bands_csv("samples", &ns, &bands).as_bytes())?;
    let panel = Panel {
        title: "note 4: error of the estimate of sigma_l^2 B^T (dashed: C/sqrt(N))".into(),
        x_label: "log10 samples N".into(),
        y_label: "log10 relative Frobenius error".into(),
        series,
        y_range: None,
        log_y: false,
    };
    let note = format!(
        "Solid: mean over {replicates} replicates, band {:.0}% bootstrap interval; dashed: C/sqrt(N).",
        ctx.args.level * 100.0
    );
    figure(&stem, &[panel], 1, &note)?;
    let header = [
        "l",
        "shape of e_l e_(l-1)^T",
        "samples N",
        "relative error (mean, interval)",
        "RMS error",
        "C/sqrt(N)",
        "RMS / (C/sqrt(N))",
    ];
    Ok(format!(
        "{replicates} independent replicates per layer; entries of e_(l+1) uniform on [{}, {}]; fresh Xavier-normal \
         B_(l+1,l) per sample, fixed Xavier-uniform B_(l,l-1). If (S.4) holds, the relative error of the estimate \
         has root mean square C/sqrt(N), shrinking to 0; if it did not, the error would level off at the bias. \
         Largest deviation of the measured RMS from C/sqrt(N): {:.1}%.\n\n{}",
        MEAN - HALF_WIDTH,
        MEAN + HALF_WIDTH,
        100.0 * worst,
        table(&header, &rows)
    ))
}

/// Relative Frobenius errors of the estimate of (S.4) for layer `l` after
/// each of `counts` samples (increasing), replicate `r`.
fn relative_errors(l: usize, r: u64, counts: &[usize]) -> Vec<f64> {
    let (n_prev, n_l, n_next) = (WIDTHS[l - 1], WIDTHS[l], WIDTHS[l + 1]);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1000 * l as u64 + r);
    // B_{l,l-1}: n_{l-1} x n_l, fixed.
    let mut fixed = vec![0.0f64; n_prev * n_l];
    Init::XavierUniform.fill(&mut rng, &mut fixed, n_l, n_prev);
    let b_fixed = DMatrix::from_vec(n_prev, n_l, fixed);
    let s2 = 2.0 / (n_l + n_next) as f64;
    let sigma2 = n_next as f64 * s2 * (MEAN * MEAN + HALF_WIDTH * HALF_WIDTH / 3.0);
    let target = b_fixed.transpose() * sigma2;
    let mut second = DMatrix::<f64>::zeros(n_l, n_l);
    let mut b_fresh = vec![0.0f64; n_l * n_next];
    let mut e_next = vec![0.0f64; n_next];
    let mut e_l = nalgebra::DVector::<f64>::zeros(n_l);
    let mut out = Vec::with_capacity(counts.len());
    let mut done = 0;
    for &n in counts {
        while done < n {
            Init::XavierNormal.fill(&mut rng, &mut b_fresh, n_next, n_l);
            for e in &mut e_next {
                *e = MEAN + HALF_WIDTH * (2.0 * unit(&mut rng) - 1.0);
            }
            // e_l = B_{l+1,l} e_{l+1}, B stored column-major (n_l x n_next).
            e_l.fill(0.0);
            for (k, &ek) in e_next.iter().enumerate() {
                for (j, v) in e_l.iter_mut().enumerate() {
                    *v += b_fresh[k * n_l + j] * ek;
                }
            }
            second.ger(1.0, &e_l, &e_l, 1.0);
            done += 1;
        }
        let estimate = &second * b_fixed.transpose() / n as f64;
        out.push((estimate - &target).norm() / target.norm());
    }
    out
}
