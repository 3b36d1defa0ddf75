//! The hand-written adjoint against an independent reference: the test
//! vector `tests/data/meta_gradient_vector.json` was computed by
//! `tools/meta_gradient.py`, a plain float64 JAX program written from the
//! SPEC (model, ten terms, episode, penalty) and differentiated by
//! `jax.grad`. Each case gives the initial weights, the feedback matrices,
//! `Theta`, the penalty, the data and the task; the crate's meta-loss and
//! meta-gradient must match the autodiff values to `1e-10` relative error
//! per entry (`f64` build; measured 2.7e-14) and to `1e-5` of the
//! gradient's largest entry (`f32` build; measured 9.3e-7).
//! See `tools/README.md` to regenerate the vector.

#![cfg(feature = "alloc")]

use metaplasticity::idx::{Dataset, Images, Labels};
use metaplasticity::meta::{MetaGradient, Penalty, Task};
use metaplasticity::{
    Backprop, DirectFeedbackAlignment, FeedbackAlignment, FixedShape, LayerSet, Network, Real, Rule, shape, terms,
};
use serde::Deserialize;

type Small = shape![6, 5, 4, 3];

const VECTOR: &str = include_str!("data/meta_gradient_vector.json");

#[derive(Deserialize)]
struct Vector {
    jax_version: String,
    widths: Vec<usize>,
    beta: f64,
    classes: usize,
    rows: usize,
    cols: usize,
    pixels: Vec<u8>,
    labels: Vec<u8>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    pathway: String,
    terms: Vec<usize>,
    theta: Vec<f64>,
    penalty: String,
    lambda: f64,
    w0: Vec<f64>,
    feedback: Vec<f64>,
    train: Vec<usize>,
    query: Vec<usize>,
    expected: Expected,
}

#[derive(Deserialize)]
struct Expected {
    meta_loss: f64,
    query_loss: f64,
    gradient: Vec<f64>,
    adapted_weights: Vec<f64>,
}

/// What the crate computed for one case, in `f64`.
struct Computed {
    meta_loss: f64,
    query_loss: f64,
    gradient: Vec<f64>,
    adapted_weights: Vec<f64>,
}

fn vector() -> Vector {
    let v: Vector = serde_json::from_str(VECTOR).expect("the test vector parses");
    assert_eq!(v.widths, Small::WIDTHS[..=Small::DEPTH], "widths of the test vector");
    assert_eq!(v.pixels.len(), v.labels.len() * v.rows * v.cols);
    v
}

fn convert<T: Real>(xs: &[f64]) -> Box<[T]> {
    xs.iter().map(|&x| T::of(x)).collect()
}

/// Runs the case's episode and meta-gradient in precision `T`.
fn run<T: Real>(v: &Vector, case: &Case, interval: usize) -> Computed {
    let images = Images::from_raw(&v.pixels, v.labels.len(), v.rows, v.cols).unwrap();
    let data = Dataset::new(images, Labels::new(&v.labels), v.classes).unwrap();
    let pool = terms::pool::<T>();
    let mut rule = Rule::<T, 10>::new();
    for (&r, &theta) in case.terms.iter().zip(&case.theta) {
        rule.push(pool[r], T::of(theta), LayerSet::ALL).unwrap();
    }
    let mut net = Network::<T, Small, _>::new(convert::<T>(&case.w0)).unwrap().with_beta(T::of(v.beta)).unwrap();
    let task = Task { train: case.train.clone(), query: case.query.clone() };
    let penalty = match case.penalty.as_str() {
        "none" => Penalty::None,
        "l1" => Penalty::L1(case.lambda),
        "l2" => Penalty::L2(case.lambda),
        other => panic!("{}: unknown penalty {other}", case.name),
    };
    let mut mg = MetaGradient::<T, Small>::new(interval);
    let mut grad = vec![T::zero(); case.terms.len()];
    let result = match case.pathway.as_str() {
        "bp" => {
            assert!(case.feedback.is_empty());
            mg.run(&mut net, &mut Backprop, &rule, &data, &task, penalty, &mut grad)
        }
        "fa" => {
            let mut fa = FeedbackAlignment::<T, Small, _>::new(convert::<T>(&case.feedback)).unwrap();
            mg.run(&mut net, &mut fa, &rule, &data, &task, penalty, &mut grad)
        }
        "dfa" => {
            let mut dfa = DirectFeedbackAlignment::<T, Small, _>::new(convert::<T>(&case.feedback)).unwrap();
            mg.run(&mut net, &mut dfa, &rule, &data, &task, penalty, &mut grad)
        }
        other => panic!("{}: unknown pathway {other}", case.name),
    }
    .unwrap_or_else(|e| panic!("{}: episode failed: {e}", case.name));
    Computed {
        meta_loss: result.meta_loss,
        query_loss: result.query_loss,
        gradient: grad.iter().map(|g| g.to_f64()).collect(),
        adapted_weights: net.as_slice().iter().map(|w| w.to_f64()).collect(),
    }
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

fn max_abs(xs: &[f64]) -> f64 {
    xs.iter().fold(0.0f64, |m, x| m.max(x.abs()))
}

/// Largest `|a_i - b_i| / max_j |b_j|`.
fn rel_to_largest(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = max_abs(b);
    a.iter().zip(b).map(|(x, y)| (x - y).abs() / scale).fold(0.0, f64::max)
}

/// Largest `|a_i - b_i| / |b_i|`.
fn rel_each(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(&x, &y)| rel(x, y)).fold(0.0, f64::max)
}

#[test]
fn vector_covers_every_term_pathway_and_penalty() {
    let v = vector();
    eprintln!("test vector from JAX {}", v.jax_version);
    for r in 0..10 {
        assert!(v.cases.iter().any(|c| c.terms.contains(&r)), "no case uses F^{r}");
    }
    for p in ["bp", "fa", "dfa"] {
        assert!(v.cases.iter().any(|c| c.pathway == p), "no case uses pathway {p}");
    }
    for p in ["none", "l1", "l2"] {
        assert!(v.cases.iter().any(|c| c.penalty == p), "no case uses penalty {p}");
    }
    for c in &v.cases {
        assert_eq!(c.terms.len(), c.theta.len());
        assert_eq!(c.expected.gradient.len(), c.theta.len());
        assert!(c.theta.iter().all(|&t| t != 0.0), "{}: every coefficient must be active", c.name);
        assert!(c.train.len() >= 12 && !c.query.is_empty());
    }
}

#[test]
fn f64_adjoint_matches_autodiff_to_1e_10_per_entry() {
    let v = vector();
    let (mut worst_each, mut worst_scaled) = (0.0f64, 0.0f64);
    for case in &v.cases {
        let want = &case.expected;
        // Checkpoint interval 5 does not divide the 18 steps: a short last segment.
        let got = run::<f64>(&v, case, 5);
        let loss_err = rel(got.meta_loss, want.meta_loss).max(rel(got.query_loss, want.query_loss));
        let grad_each = rel_each(&got.gradient, &want.gradient);
        let grad_scaled = rel_to_largest(&got.gradient, &want.gradient);
        let weights_err = rel_to_largest(&got.adapted_weights, &want.adapted_weights);
        eprintln!(
            "f64 {:12} meta-loss rel. err {loss_err:.1e}, gradient: max rel. err per entry {grad_each:.1e}, \
             relative to largest {grad_scaled:.1e}; adapted weights {weights_err:.1e}",
            case.name
        );
        assert!(loss_err < 1e-10, "{}: meta-loss {} vs JAX {}", case.name, got.meta_loss, want.meta_loss);
        for (r, (&g, &w)) in got.gradient.iter().zip(&want.gradient).enumerate() {
            assert!(
                rel(g, w) < 1e-10,
                "{}: dL/dtheta of F^{} is {g}, JAX says {w} (rel. err {:.2e})",
                case.name,
                case.terms[r],
                rel(g, w)
            );
        }
        assert!(weights_err < 1e-10, "{}: adapted weights differ (rel. err {weights_err:.2e})", case.name);
        worst_each = worst_each.max(grad_each).max(loss_err);
        worst_scaled = worst_scaled.max(grad_scaled);
    }
    eprintln!("f64: worst rel. err {worst_each:.1e} per entry, {worst_scaled:.1e} relative to the largest entry");
}

#[test]
fn f32_adjoint_matches_autodiff_to_1e_5_of_the_largest_entry() {
    let v = vector();
    let mut worst = 0.0f64;
    for case in &v.cases {
        let want = &case.expected;
        let got = run::<f32>(&v, case, 4);
        let loss_err = rel(got.meta_loss, want.meta_loss);
        let grad_err = rel_to_largest(&got.gradient, &want.gradient);
        eprintln!(
            "f32 {:12} meta-loss rel. err {loss_err:.1e}, gradient rel. err (to largest entry) {grad_err:.1e}",
            case.name
        );
        assert!(loss_err < 1e-5, "{}: meta-loss {} vs JAX {}", case.name, got.meta_loss, want.meta_loss);
        assert!(
            grad_err < 1e-5,
            "{}: f32 gradient {:?} vs JAX {:?} (rel. err {grad_err:.2e})",
            case.name,
            got.gradient,
            want.gradient
        );
        worst = worst.max(grad_err).max(loss_err);
    }
    eprintln!("f32: worst rel. err {worst:.1e}");
}
