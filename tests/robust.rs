//! The robust meta-optimiser, part by part: per-term step sizes
//! (preconditioning) against finite differences of the meta-loss, the
//! back-off's exact restoration of state, the proximal L1 step's exact
//! zeros, and bit-identical resumption with every new option.

#![cfg(feature = "std")]

use metaplasticity::data::OwnedDataset;
use metaplasticity::idx::{Dataset, Images, Labels};
use metaplasticity::meta::adam::soft_threshold;
use metaplasticity::meta::{
    Adam, BackOff, Config, ConfigError, L1Form, MetaGradient, OnDivergence, Optimizer, Penalty, Record, Sampling,
    StepOptions, StepScale, Task, TaskSpec, TrainError, Trainer, Undo, rates_from_magnitudes, term_magnitudes,
};
use metaplasticity::{FeedbackAlignment, Init, Network, Rule, shape};
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::{Rng, SeedableRng};

type Small = shape![6, 5, 4, 3];
type Tiny = shape![64, 32, 16, 10];

/// 3 classes x 12 images of 2x3 random pixels.
fn pixels() -> (Vec<u8>, Vec<u8>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let labels: Vec<u8> = (0..36).map(|i| (i % 3) as u8).collect();
    let images = (0..36 * 6).map(|_| (rng.next_u32() >> 24) as u8).collect();
    (images, labels)
}

/// The meta-loss (no penalty) of the pool with coefficients `theta` and its gradient.
fn meta_loss(data: &Dataset<'_>, theta: &[f64]) -> (f64, Vec<f64>) {
    let mut rule = Rule::<f64>::pool();
    rule.set_thetas(theta).unwrap();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
    let mut net = Network::<f64, Small, _>::zeros();
    net.init(&mut rng, Init::XavierUniform);
    let mut fa = FeedbackAlignment::<f64, Small, _>::random(&mut rng, Init::XavierUniform);
    let task = Task { train: (0..18).map(|i| (i * 5) % 30).collect(), query: (30..36).collect() };
    let mut grad = vec![0.0; theta.len()];
    let r = MetaGradient::<f64, Small>::new(4)
        .run(&mut net, &mut fa, &rule, data, &task, Penalty::None, &mut grad)
        .unwrap();
    (r.meta_loss, grad)
}

/// A pool `Theta` in the range the paper's Table S1 reports.
const THETA: [f64; 10] = [1e-2, 3e-3, -3e-2, 1e-3, 4e-3, 5e-4, 2e-3, -1e-3, -2e-3, 4e-3];

#[test]
fn preconditioned_coordinates_have_the_chain_rule_gradient() {
    // theta = s * phi: dL/dphi_r = s_r dL/dtheta_r, by central differences in phi.
    let (images, labels) = pixels();
    let data = Dataset::new(Images::from_raw(&images, 36, 2, 3).unwrap(), Labels::new(&labels), 3).unwrap();
    let rates = [1.0, 0.5, 1.0, 0.12, 0.49, 0.046, 1.0, 1.0, 1.0, 0.082];
    let (_, g) = meta_loss(&data, &THETA);
    for r in 0..10 {
        let h = 1e-6;
        let at = |d: f64| {
            let mut th = THETA;
            th[r] += rates[r] * d;
            meta_loss(&data, &th).0
        };
        let fd = (at(h) - at(-h)) / (2.0 * h);
        let exact = rates[r] * g[r];
        assert!(
            (fd - exact).abs() <= 1e-6 * exact.abs().max(1e-3),
            "term {r}: dL/dphi {exact} vs finite difference {fd}"
        );
    }
}

#[test]
fn a_scaled_step_is_the_plain_step_in_scaled_coordinates() {
    let (images, labels) = pixels();
    let data = Dataset::new(Images::from_raw(&images, 36, 2, 3).unwrap(), Labels::new(&labels), 3).unwrap();
    let (_, g) = meta_loss(&data, &THETA);
    let rates = [1.0, 0.5, 1.0, 0.12, 0.49, 0.046, 1.0, 1.0, 1.0, 0.082];
    let g_phi: Vec<f64> = g.iter().zip(rates).map(|(g, s)| g * s).collect();
    for normalized in [false, true] {
        // Without Adam's eps (added to sqrt(v) in either coordinate system)
        // the two are the same up to rounding.
        let (mut theta, mut adam) = (THETA.to_vec(), Adam::new(10, 1e-3).unwrap().with_hyper(0.9, 0.999, 0.0).unwrap());
        let mut phi: Vec<f64> = THETA.iter().zip(rates).map(|(t, s)| t / s).collect();
        let mut plain = Adam::new(10, 1e-3).unwrap().with_hyper(0.9, 0.999, 0.0).unwrap();
        // Three steps along the same gradient, so the moments matter.
        for _ in 0..3 {
            let scaled = StepOptions { rates: &rates, ..StepOptions::default() };
            if normalized {
                adam.step_normalized(&mut theta, &g, scaled).unwrap();
                plain.step_normalized(&mut phi, &g_phi, StepOptions::default()).unwrap();
            } else {
                adam.step_with(&mut theta, &g, scaled).unwrap();
                plain.step_with(&mut phi, &g_phi, StepOptions::default()).unwrap();
            }
        }
        for r in 0..10 {
            let back = phi[r] * rates[r];
            assert!((theta[r] - back).abs() <= 1e-15 * back.abs(), "term {r}: {} vs {back}", theta[r]);
            // Every coefficient moves against its own gradient.
            assert!((theta[r] - THETA[r]) * g[r] < 0.0, "term {r} moved with its gradient");
        }
    }
}

#[test]
fn adam_with_default_options_is_the_textbook_step_bit_for_bit() {
    // The paper's optimiser must not change with the robust options beside it.
    let grads = [[3.0, -1e-3, 2e5], [-1.0, 4e-3, 1e4], [0.5, 0.0, -7e3]];
    let mut theta = [1e-3, 0.0, -2e-3];
    let mut adam = Adam::new(3, 1e-3).unwrap();
    let (mut m, mut v, mut expected) = ([0.0f64; 3], [0.0f64; 3], theta);
    for (t, g) in grads.iter().enumerate() {
        adam.step(&mut theta, g, &[]).unwrap();
        let (c1, c2) = (1.0 - libm::pow(0.9, (t + 1) as f64), 1.0 - libm::pow(0.999, (t + 1) as f64));
        for r in 0..3 {
            m[r] = 0.9 * m[r] + (1.0 - 0.9) * g[r];
            v[r] = 0.999 * v[r] + (1.0 - 0.999) * g[r] * g[r];
            expected[r] -= 1e-3 * (m[r] / c1) / ((v[r] / c2).sqrt() + 1e-8);
        }
        assert_eq!(theta, expected, "step {t}");
    }
}

#[test]
fn normalized_momentum_keeps_relative_sizes_and_bounds_the_step() {
    let grad = [1e4, 1e-2, -3e3];
    let mut theta = [0.0; 3];
    let mut opt = Adam::new(3, 1e-3).unwrap();
    opt.step_normalized(&mut theta, &grad, StepOptions::default()).unwrap();
    let norm = theta.iter().map(|t| t * t).sum::<f64>().sqrt();
    assert!((norm - 1e-3).abs() < 1e-15, "the first step has length lr: {norm}");
    assert!(theta[1].abs() < 1e-9, "a tiny gradient moves its coefficient little: {}", theta[1]);
    // Adam moves all three by lr on its first step.
    let mut adam_theta = [0.0; 3];
    Adam::new(3, 1e-3).unwrap().step(&mut adam_theta, &grad, &[]).unwrap();
    assert!(adam_theta.iter().all(|t| (t.abs() - 1e-3).abs() < 1e-9), "{adam_theta:?}");
    // A zero gradient leaves Theta alone.
    let before = theta;
    opt.step_normalized(&mut theta, &[0.0; 3], StepOptions::default()).unwrap();
    assert_eq!(theta, before);
}

#[test]
fn proximal_l1_gives_exact_zeros_below_the_threshold() {
    assert_eq!(soft_threshold(0.3, 0.5), 0.0);
    assert_eq!(soft_threshold(-0.3, 0.5), 0.0);
    assert_eq!(soft_threshold(0.8, 0.5), 0.8 - 0.5);
    assert_eq!(soft_threshold(-0.8, 0.5), -0.8 + 0.5);
    // Constant gradients: the two below lambda stay exactly zero, the others move.
    let grad = [0.5, -0.9, 1.5, -3.0];
    for normalized in [false, true] {
        let mut theta = [0.0; 4];
        let mut opt = Adam::new(4, 1e-2).unwrap();
        for _ in 0..200 {
            // lambda = 1: in either form a coefficient rests at 0 while |g_r| <= lambda.
            let options = StepOptions { l1: 1.0, ..StepOptions::default() };
            if normalized {
                opt.step_normalized(&mut theta, &grad, options).unwrap();
            } else {
                opt.step_with(&mut theta, &grad, options).unwrap();
            }
        }
        assert_eq!(&theta[..2], &[0.0, 0.0], "normalized {normalized}: {theta:?}");
        assert!(theta[2] < 0.0 && theta[3] > 0.0, "normalized {normalized}: {theta:?}");
    }
    // With the subgradient form (plain Adam), a coefficient never rests at zero.
    let mut theta = [0.0f64];
    let mut adam = Adam::new(1, 1e-2).unwrap();
    for _ in 0..50 {
        let g = 0.5 + 1.0 * theta[0].signum();
        adam.step(&mut theta, &[g], &[]).unwrap();
    }
    assert_ne!(theta[0], 0.0);
}

fn tiny_config() -> Config {
    Config {
        task: TaskSpec { classes: 5, train: 10, query: 5, sampling: Sampling::Disjoint },
        interval: 4,
        seed: 9,
        ..Config::default()
    }
}

#[test]
fn measured_rates_slow_the_large_terms_only() {
    let owned = OwnedDataset::mnist_shipped().unwrap();
    let data = owned.view();
    type Paper = shape![784, 170, 130, 100, 70, 10];
    let config = Config { task: TaskSpec { train: 8, ..TaskSpec::default() }, ..Config::default() };
    let m = term_magnitudes(&Paper::default(), &Rule::<f32>::pool(), &data, &config).unwrap();
    assert_eq!(m[0], 1.0);
    // The paper network's F^5 = (1^T y) F^0 is one to two orders larger than F^0, F^6 much smaller.
    assert!(m[5] > 5.0 && m[6] < 1.0, "{m:?}");
    let rates = rates_from_magnitudes(&m);
    for (r, (&rate, &mag)) in rates.iter().zip(&m).enumerate() {
        assert!(rate <= 1.0 && (mag <= 1.0 || (rate * mag - 1.0).abs() < 1e-12), "term {r}: rate {rate}, size {mag}");
    }
    let trainer = Trainer::<f32, Paper>::new(Rule::pool(), &data, Config { step_scale: StepScale::Measured, ..config });
    assert_eq!(trainer.unwrap().rates(), &rates[..]);
}

/// A trainer whose steps are so large that an episode diverges after the first.
fn wild(tries: usize, depth: usize) -> (OwnedDataset, Config) {
    let owned = OwnedDataset::optdigits_shipped().unwrap();
    let config = Config {
        lr: 1e3,
        optimizer: Optimizer::Normalized,
        on_divergence: OnDivergence::BackOff(BackOff { shrink: 0.5, tries, depth }),
        ..tiny_config()
    };
    (owned, config)
}

#[test]
fn back_off_that_gives_up_restores_the_state_before_the_step_bit_for_bit() {
    let (owned, config) = wild(3, 1);
    let data = owned.view();
    let mut t = Trainer::<f32, Tiny>::new(Rule::bio(), &data, config).unwrap();
    let first = t.episode(&data).unwrap();
    assert!(first.ok);
    let undo = t.state().undo.last().cloned().expect("a step to undo");
    let second = t.episode(&data).unwrap();
    assert!(!second.ok && second.retries == 3, "{second:?}");
    assert_eq!(t.theta(), &undo.theta[..], "Theta is the one before the rejected step");
    assert_eq!(t.state().adam, undo.adam, "Adam's state is the one before the rejected step");
    assert!(t.state().undo.is_empty(), "nothing left to undo");
    assert_eq!(t.state().episode, 2);
}

/// Runs two episodes of a trainer with `depth` from a state whose history
/// holds two accepted steps, both from `Theta`s that diverge at every
/// retried rate: episode 0's (from the rule's own `Theta`) and a second one
/// along the same gradient. Returns the trainer after them and the history.
fn walk_back(depth: usize) -> (Vec<f64>, metaplasticity::meta::State, Vec<Undo>) {
    let (owned, config) = wild(2, 2);
    let data = owned.view();
    let mut t = Trainer::<f32, Tiny>::new(Rule::bio(), &data, config.clone()).unwrap();
    assert!(t.episode(&data).unwrap().ok);
    let first = t.state().undo[0].clone();
    let (mut theta, mut adam) = (t.theta().to_vec(), t.state().adam.clone());
    adam.step_normalized(&mut theta, &first.gradient, StepOptions::default()).unwrap();
    let second = Undo { theta: t.theta().to_vec(), adam: t.state().adam.clone(), gradient: first.gradient.clone() };
    let history = vec![first, second];
    let state = metaplasticity::meta::State { episode: 1, theta, adam, undo: history.clone() };
    let depth_config =
        Config { on_divergence: OnDivergence::BackOff(BackOff { shrink: 0.5, tries: 2, depth }), ..config };
    let mut t = Trainer::<f32, Tiny>::new(Rule::bio(), &data, depth_config).unwrap();
    t.resume(state).unwrap();
    let mut after_first = None;
    for n in 0..2 {
        let r = t.episode(&data).unwrap();
        assert!(!r.ok, "episode {n} must diverge: {r:?}");
        if n == 0 {
            after_first = Some(t.state().clone());
        }
    }
    (t.theta().to_vec(), after_first.unwrap(), history)
}

#[test]
fn a_deeper_back_off_walks_back_one_step_per_rejection() {
    let (theta, after_first, history) = walk_back(2);
    // The first rejection undoes the newest step and keeps the one before it.
    assert_eq!(after_first.theta, history[1].theta);
    assert_eq!(after_first.adam, history[1].adam);
    assert_eq!(after_first.undo, history[..1]);
    // The second undoes that one too: back to the rule's own Theta.
    assert_eq!(theta, history[0].theta);
    // With depth 1 (the resumed history is cut to the newest step) the
    // second diverged episode has nothing to undo and Theta stays.
    let (theta, after_first, history) = walk_back(1);
    assert_eq!(after_first.theta, history[1].theta);
    assert!(after_first.undo.is_empty());
    assert_eq!(theta, history[1].theta);
}

#[test]
fn back_off_retries_the_step_smaller_until_an_episode_succeeds() {
    let (owned, config) = wild(40, 1);
    let data = owned.view();
    let mut t = Trainer::<f32, Tiny>::new(Rule::bio(), &data, config.clone()).unwrap();
    t.episode(&data).unwrap();
    let undo = t.state().undo.last().cloned().unwrap();
    let r = t.episode(&data).unwrap();
    assert!(r.ok && r.retries > 0, "{r:?}");
    // The accepted Theta is the undone step retaken at 0.5^retries times the rate.
    let (mut theta, mut adam) = (undo.theta.clone(), undo.adam.clone());
    let rates = vec![libm::pow(0.5, r.retries as f64); 3];
    adam.step_normalized(&mut theta, &undo.gradient, StepOptions { rates: &rates, ..StepOptions::default() }).unwrap();
    assert_eq!(r.theta, theta);
    // The next step is at the full rate again.
    let undo = t.state().undo.last().cloned().unwrap();
    let (mut theta, mut adam) = (undo.theta.clone(), undo.adam.clone());
    adam.step_normalized(&mut theta, &undo.gradient, StepOptions::default()).unwrap();
    assert_eq!(t.theta(), &theta[..]);
    // Skip would have kept the diverging Theta.
    let skip = Config { on_divergence: OnDivergence::Skip, ..config };
    let mut s = Trainer::<f32, Tiny>::new(Rule::bio(), &data, skip).unwrap();
    s.episode(&data).unwrap();
    assert!(!s.episode(&data).unwrap().ok);
}

#[test]
fn a_robust_run_resumes_bit_identically() {
    let owned = OwnedDataset::optdigits_shipped().unwrap();
    let data = owned.view();
    // Large enough steps that the back-off acts within six episodes.
    let config = Config { penalty: Penalty::L1(5.0), lr: 2.0, ..tiny_config() }.robust();
    assert_eq!(config.l1, L1Form::Proximal);
    let run = |n| {
        let mut t = Trainer::<f64, Tiny>::new(Rule::pool(), &data, config.clone()).unwrap();
        let records: Vec<Record> = (0..n).map(|_| t.episode(&data).unwrap()).collect();
        (records, t)
    };
    let (full, whole) = run(8);
    let retries: Vec<usize> = full.iter().map(|r| r.retries).collect();
    assert!(retries.iter().any(|&n| n > 0), "the test needs a back-off: {retries:?}");
    assert!(full.last().unwrap().theta.contains(&0.0), "proximal L1 gives exact zeros");
    let (mut records, first) = run(4);
    let state = first.state().clone();
    drop(first);
    let mut second = Trainer::<f64, Tiny>::new(Rule::pool(), &data, config.clone()).unwrap();
    second.resume(state).unwrap();
    records.extend((0..4).map(|_| second.episode(&data).unwrap()));
    assert_eq!(records, full);
    assert_eq!(second.state(), whole.state());
}

#[test]
fn bad_settings_are_refused_before_any_work() {
    let owned = OwnedDataset::optdigits_shipped().unwrap();
    let data = owned.view();
    let bad = |config: Config| match Trainer::<f64, Tiny>::new(Rule::bio(), &data, config) {
        Err(TrainError::Config(e)) => e,
        other => panic!("expected a configuration error, got {:?}", other.map(|_| ())),
    };
    assert!(matches!(bad(Config { lr: f64::NAN, ..tiny_config() }), ConfigError::LearningRate(lr) if lr.is_nan()));
    assert_eq!(bad(Config { lr: -1.0, ..tiny_config() }), ConfigError::LearningRate(-1.0));
    assert_eq!(bad(Config { penalty: Penalty::L2(-1.0), ..tiny_config() }), ConfigError::Lambda(-1.0));
    let backoff = |shrink, tries, depth| OnDivergence::BackOff(BackOff { shrink, tries, depth });
    assert_eq!(
        bad(Config { on_divergence: backoff(1.0, 2, 1), ..tiny_config() }),
        ConfigError::BackOff { shrink: 1.0, tries: 2, depth: 1 }
    );
    assert_eq!(
        bad(Config { on_divergence: backoff(0.5, 0, 1), ..tiny_config() }),
        ConfigError::BackOff { shrink: 0.5, tries: 0, depth: 1 }
    );
    assert_eq!(
        bad(Config { on_divergence: backoff(0.5, 2, 0), ..tiny_config() }),
        ConfigError::BackOff { shrink: 0.5, tries: 2, depth: 0 }
    );
    assert_eq!(
        bad(Config { step_scale: StepScale::Given(vec![1.0, 1.0]), ..tiny_config() }),
        ConfigError::StepScaleLength { expected: 3, found: 2 }
    );
    assert_eq!(
        bad(Config { step_scale: StepScale::Given(vec![1.0, 0.0, 1.0]), ..tiny_config() }),
        ConfigError::StepScale { index: 1, value: 0.0 }
    );
    assert_eq!(bad(Config { interval: 0, ..tiny_config() }), ConfigError::Interval);
    assert_eq!(
        bad(Config { trainable: vec![true], ..tiny_config() }),
        ConfigError::Trainable { expected: 3, found: 1 }
    );
}
