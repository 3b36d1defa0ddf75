//! Backprop and `F^0` against central finite differences (`f64`).
//!
//! With [`Backprop`] feedback, `e_l = dLoss/dz_l` (SPEC section 1), so the
//! rule `F^0 = -e_l y_{l-1}^T` alone is plain gradient descent:
//! one [`step`] changes every `W_l` by exactly `-theta_0 dLoss/dW_l`, where
//! `Loss = -ln p_c` is the softmax cross-entropy of the sample at the weights
//! *before* the step.
//!
//! The reference derivatives are fourth-order central differences
//! `(-L(2h) + 8 L(h) - 8 L(-h) + L(-2h)) / 12h` with `h = 5e-4`, of a loss
//! computed through the public forward pass (`Network::forward`, then
//! `ln sum exp z_L - z_{L,c}` from `Activity::z(L)`). Their error budget:
//! truncation about `h^4 |L^(5)| / 30`, where the fifth derivative is of
//! order `beta^4 = 1e4` (softplus with `beta = 10`), so about `2e-11`; and
//! rounding about `1.5 eps |L| / h`, about `1e-12`.
//!
//! Tolerance, per entry: `|analytic - fd| <= RTOL |fd| + ATOL` with
//! `RTOL = 1e-7` and `ATOL = 1e-10`. Measured for fixed seeds (run with
//! `--nocapture`): largest absolute error about `2e-12`; largest relative
//! error over entries with `|fd| > 1e-4` about `3e-9`. A wrong gradient
//! (e.g. feedback alignment's signals, last test) misses by order one.
//!
//! Every weight of every layer is perturbed (the first and last included),
//! for a 3-layer (`5-7-6-4`), a 2-layer (`6-5-3`) and a 1-layer (`4-3`)
//! network, with seeds and `theta_0` drawn by proptest. The modulating
//! signals `e_l` are checked the same way: `dLoss/dz_{l,i}` is the derivative
//! along the row perturbation `W_l[i, :] += d y_{l-1}^T / |y_{l-1}|^2`, which
//! moves `z_{l,i}` by exactly `d` and nothing else of layer `l`.
#![cfg(feature = "std")]

mod common;

use common::{below, log_sum_exp, uniform_vec};
use metaplasticity::{
    Activity, Backprop, FeedbackAlignment, FeedbackPathway, FixedShape, Init, LayerSet, Network, Rule, Shape, shape,
    step, terms,
};
use proptest::prelude::*;

type Deep = shape![5, 7, 6, 4];
type Shallow = shape![6, 5, 3];
type Single = shape![4, 3];

type Net<S> = Network<f64, S, Box<[f64]>>;

/// Step of the finite differences.
const H: f64 = 5e-4;
/// Relative part of the per-entry tolerance.
const RTOL: f64 = 1e-7;
/// Absolute part of the per-entry tolerance (the loss is of order one).
const ATOL: f64 = 1e-10;

/// A seeded network (Xavier-uniform), input in `[-1, 1)` and label.
fn case<S: FixedShape>(seed: u64) -> (Net<S>, Vec<f64>, usize) {
    let mut rng = common::rng(seed);
    let mut net = Net::<S>::zeros();
    net.init(&mut rng, Init::XavierUniform);
    let x = uniform_vec(&mut rng, S::INPUT, -1.0, 1.0);
    let label = below(&mut rng, S::OUTPUT);
    (net, x, label)
}

/// Cross-entropy `-ln p_c = ln sum_k exp z_{L,k} - z_{L,c}` through the
/// public forward pass.
fn loss<S: FixedShape>(net: &Net<S>, x: &[f64], label: usize) -> f64 {
    let mut act = Activity::<f64, S, _>::zeros();
    net.forward(x, &mut act).expect("forward pass");
    let z = act.z(S::DEPTH);
    log_sum_exp(z) - z[label]
}

/// Fourth-order central difference of `f` at zero.
fn central(mut f: impl FnMut(f64) -> f64) -> f64 {
    (-f(2.0 * H) + 8.0 * f(H) - 8.0 * f(-H) + f(-2.0 * H)) / (12.0 * H)
}

/// Largest errors seen by a check: absolute, and relative over entries whose
/// reference exceeds `1e-4` in magnitude (below that, the finite
/// differences' absolute error of about `1e-12` dominates any relative figure).
#[derive(Debug, Default, Clone, Copy)]
struct Errors {
    abs: f64,
    rel: f64,
    checked: usize,
}

impl Errors {
    fn record(&mut self, analytic: f64, fd: f64) -> bool {
        let d = (analytic - fd).abs();
        self.abs = self.abs.max(d);
        if fd.abs() > 1e-4 {
            self.rel = self.rel.max(d / fd.abs());
        }
        self.checked += 1;
        d <= RTOL * fd.abs() + ATOL
    }
}

/// One `F^0` step under backprop versus finite differences of the loss,
/// for every weight of every layer.
fn check_weight_gradient<S: FixedShape>(seed: u64, theta: f64) -> Result<Errors, TestCaseError> {
    let (net, x, label) = case::<S>(seed);
    let mut rule = Rule::<f64>::fa();
    rule.set_thetas(&[theta]).unwrap();
    let mut after = net.clone();
    let mut act = Activity::<f64, S, _>::zeros();
    let outcome = step(&mut after, &Backprop, &rule, &mut act, &x, label).unwrap();

    // The reported loss is the loss before the update.
    let l0 = loss(&net, &x, label);
    prop_assert!((outcome.loss - l0).abs() <= 1e-12 * (1.0 + l0));
    prop_assert_eq!(act.label(), Some(label));

    let mut errors = Errors::default();
    let mut probe = net.clone();
    for l in 1..=S::DEPTH {
        let o = S::default().weight_offset(l);
        let rows = S::default().width(l);
        for idx in o..o + rows * S::default().width(l - 1) {
            let (i, j) = ((idx - o) % rows, (idx - o) / rows);
            let w = net.as_slice()[idx];
            let fd = central(|d| {
                probe.as_mut_slice()[idx] = w + d;
                let v = loss(&probe, &x, label);
                probe.as_mut_slice()[idx] = w;
                v
            });
            // W' = W - theta dLoss/dW  =>  dLoss/dW = (W - W') / theta.
            let analytic = (w - after.as_slice()[idx]) / theta;
            prop_assert!(
                errors.record(analytic, fd),
                "layer {} W[{}, {}]: step gives gradient {:e}, finite differences {:e}",
                l,
                i,
                j,
                analytic,
                fd
            );
        }
    }
    prop_assert_eq!(errors.checked, S::WEIGHTS);
    Ok(errors)
}

/// `e_l = dLoss/dz_l` under backprop, for `l = 1 .. L`, by finite
/// differences along row perturbations of `W_l`.
fn check_signals<S: FixedShape>(seed: u64) -> Result<Errors, TestCaseError> {
    let (net, x, label) = case::<S>(seed);
    let mut after = net.clone();
    let mut act = Activity::<f64, S, _>::zeros();
    step(&mut after, &Backprop, &Rule::<f64>::fa(), &mut act, &x, label).unwrap();
    let mut errors = Errors::default();
    let mut probe = net.clone();
    for l in 1..=S::DEPTH {
        let y_prev = act.y(l - 1).to_vec();
        let norm2: f64 = y_prev.iter().map(|v| v * v).sum();
        let o = S::default().weight_offset(l);
        let rows = S::default().width(l);
        for i in 0..rows {
            let fd = central(|d| {
                // Row i of W_l moves by d y_{l-1}^T / |y_{l-1}|^2: z_{l,i} += d.
                for (j, &yj) in y_prev.iter().enumerate() {
                    probe.as_mut_slice()[o + j * rows + i] = net.as_slice()[o + j * rows + i] + d * yj / norm2;
                }
                let v = loss(&probe, &x, label);
                probe.as_mut_slice().copy_from_slice(net.as_slice());
                v
            });
            let e = act.e(l)[i];
            prop_assert!(errors.record(e, fd), "e_{}[{}] = {:e}, dLoss/dz = {:e} by finite differences", l, i, e, fd);
        }
    }
    Ok(errors)
}

/// Under backprop the presynaptic signal of the first layer is
/// `e_0 = (W_1^T e_1) ⊙ (1 - exp(-beta x))`, where `W_1^T e_1 = dLoss/dx`:
/// checked by finite differences in the input, with a rule whose layer-1
/// term needs `e_0` (`F^2`, coefficient zero).
fn check_input_signal<S: FixedShape>(seed: u64) -> Result<Errors, TestCaseError> {
    let (net, x, label) = case::<S>(seed);
    let rule = Rule::<f64>::new()
        .with(&terms::PseudoGradient, 1e-2, LayerSet::ALL)
        .unwrap()
        .with(&terms::ErrorHebb, 0.0, LayerSet::ALL)
        .unwrap();
    let mut after = net.clone();
    let mut act = Activity::<f64, S, _>::zeros();
    step(&mut after, &Backprop, &rule, &mut act, &x, label).unwrap();
    let beta = net.beta();
    let mut errors = Errors::default();
    let mut probe = x.clone();
    for j in 0..S::INPUT {
        let fd = central(|d| {
            probe[j] = x[j] + d;
            let v = loss(&net, &probe, label);
            probe[j] = x[j];
            v
        });
        let g = 1.0 - (-beta * x[j]).exp();
        // Compare e_0 / g with dLoss/dx (g can be large for negative x).
        let analytic = act.e(0)[j] / g;
        prop_assert!(
            errors.record(analytic, fd),
            "e_0[{}] / g = {:e}, dLoss/dx = {:e} by finite differences",
            j,
            analytic,
            fd
        );
    }
    Ok(errors)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn f0_under_backprop_is_gradient_descent_3_layers(seed in any::<u64>(), theta in 0.05f64..1.0) {
        check_weight_gradient::<Deep>(seed, theta)?;
    }

    #[test]
    fn f0_under_backprop_is_gradient_descent_2_layers(seed in any::<u64>(), theta in 0.05f64..1.0) {
        check_weight_gradient::<Shallow>(seed, theta)?;
    }

    #[test]
    fn f0_under_backprop_is_gradient_descent_1_layer(seed in any::<u64>(), theta in 0.05f64..1.0) {
        check_weight_gradient::<Single>(seed, theta)?;
    }

    #[test]
    fn backprop_signals_are_loss_gradients_wrt_drives(seed in any::<u64>()) {
        check_signals::<Deep>(seed)?;
        check_signals::<Shallow>(seed)?;
        check_signals::<Single>(seed)?;
    }

    #[test]
    fn backprop_input_signal_is_input_gradient_times_slope(seed in any::<u64>()) {
        check_input_signal::<Deep>(seed)?;
        check_input_signal::<Shallow>(seed)?;
        check_input_signal::<Single>(seed)?;
    }
}

/// The measured errors for a few fixed seeds (printed with `--nocapture`),
/// against the same tolerance.
#[test]
fn measured_errors_for_fixed_seeds() {
    let mut worst = Errors::default();
    for seed in 0..4 {
        let theta = 0.1 + 0.2 * seed as f64;
        for e in [
            check_weight_gradient::<Deep>(seed, theta).unwrap(),
            check_weight_gradient::<Shallow>(seed, theta).unwrap(),
            check_weight_gradient::<Single>(seed, theta).unwrap(),
            check_signals::<Deep>(seed).unwrap(),
            check_signals::<Shallow>(seed).unwrap(),
            check_input_signal::<Deep>(seed).unwrap(),
        ] {
            worst.abs = worst.abs.max(e.abs);
            worst.rel = worst.rel.max(e.rel);
            worst.checked += e.checked;
        }
    }
    eprintln!(
        "gradient checks: {} entries, max abs error {:.2e}, max rel error {:.2e} (tolerance {RTOL:e} rel + {ATOL:e} abs)",
        worst.checked, worst.abs, worst.rel
    );
    assert!(worst.abs < ATOL && worst.rel < RTOL);
}

/// The finite-difference check can fail: under feedback alignment the hidden
/// signals are not the gradient (random `B_l` instead of `W_{l+1}^T`), and the
/// same comparison reports errors of order one.
#[test]
fn feedback_alignment_signals_are_not_gradients() {
    for seed in 0..4 {
        let (net, x, label) = case::<Deep>(seed);
        let mut rng = common::rng(seed ^ 0x5eed);
        let fa = FeedbackAlignment::<f64, Deep, _>::random(&mut rng, Init::XavierUniform);
        assert_eq!(FeedbackPathway::<f64, Deep>::name(&fa), "fa");
        let mut after = net.clone();
        let mut act = Activity::<f64, Deep, _>::zeros();
        step(&mut after, &fa, &Rule::<f64>::fa(), &mut act, &x, label).unwrap();
        let l = Deep::DEPTH - 1;
        let y_prev = act.y(l - 1).to_vec();
        let norm2: f64 = y_prev.iter().map(|v| v * v).sum();
        let o = Deep::default().weight_offset(l);
        let rows = Deep::default().width(l);
        let mut probe = net.clone();
        let (mut diff, mut scale) = (0.0f64, 0.0f64);
        for i in 0..rows {
            let fd = central(|d| {
                for (j, &yj) in y_prev.iter().enumerate() {
                    probe.as_mut_slice()[o + j * rows + i] = net.as_slice()[o + j * rows + i] + d * yj / norm2;
                }
                let v = loss(&probe, &x, label);
                probe.as_mut_slice().copy_from_slice(net.as_slice());
                v
            });
            diff = diff.max((act.e(l)[i] - fd).abs());
            scale = scale.max(fd.abs());
        }
        assert!(diff > 0.1 * scale, "seed {seed}: FA signals unexpectedly match the gradient ({diff:e} vs {scale:e})");
        // The top signal is the true gradient under every pathway.
        let top = act.e(Deep::DEPTH).to_vec();
        let mut p = act.output().to_vec();
        p[label] -= 1.0;
        for (a, b) in top.iter().zip(&p) {
            assert!((a - b).abs() <= 1e-15);
        }
    }
}
