//! The meta-trainer: determinism, exact resumption, the trainable mask,
//! divergence handling, task validation. On the shipped 8x8 optdigits with the
//! microcontroller-sized 64-32-16-10 network, so it runs in seconds.

#![cfg(feature = "std")]

use metaplasticity::data::OwnedDataset;
use metaplasticity::meta::{Config, OnDivergence, Penalty, Record, Sampling, TaskSpec, TrainError, Trainer};
use metaplasticity::{FeedbackAlignment, FeedbackPathway, Init, PathwayKind, Rule, shape};
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::SeedableRng;

type Tiny = shape![64, 32, 16, 10];

fn config() -> Config {
    Config {
        task: TaskSpec { classes: 5, train: 10, query: 5, sampling: Sampling::Disjoint },
        penalty: Penalty::L1(1e-3),
        lr: 1e-2,
        interval: 7,
        seed: 42,
        ..Config::default()
    }
}

fn run(rule: Rule<'static, f64>, config: Config, episodes: usize) -> (Vec<Record>, Vec<f64>) {
    let owned = OwnedDataset::optdigits_shipped().unwrap();
    let data = owned.view();
    let mut t = Trainer::<f64, Tiny>::new(rule, &data, config).unwrap();
    let records = (0..episodes).map(|_| t.episode(&data).unwrap()).collect();
    (records, t.theta().to_vec())
}

#[test]
fn same_seed_gives_bit_identical_runs() {
    let (a, ta) = run(Rule::bio(), config(), 5);
    let (b, tb) = run(Rule::bio(), config(), 5);
    assert_eq!(a, b);
    assert_eq!(ta, tb);
    let (c, _) = run(Rule::bio(), Config { seed: 43, ..config() }, 5);
    assert_ne!(a[0].query_loss, c[0].query_loss, "another seed draws other tasks");
}

#[test]
fn resumed_run_equals_uninterrupted_run() {
    let owned = OwnedDataset::optdigits_shipped().unwrap();
    let data = owned.view();
    let (full, theta_full) = run(Rule::pool(), config(), 6);
    let mut first = Trainer::<f64, Tiny>::new(Rule::pool(), &data, config()).unwrap();
    let mut records: Vec<Record> = (0..3).map(|_| first.episode(&data).unwrap()).collect();
    let state = first.state().clone();
    drop(first);
    let mut second = Trainer::<f64, Tiny>::new(Rule::pool(), &data, config()).unwrap();
    second.resume(state).unwrap();
    records.extend((0..3).map(|_| second.episode(&data).unwrap()));
    assert_eq!(records, full);
    assert_eq!(second.theta(), &theta_full[..]);
}

#[test]
fn frozen_coefficients_stay_put_and_others_move() {
    let cfg = Config { trainable: vec![false, true, true], ..config() };
    let (records, theta) = run(Rule::bio(), cfg, 4);
    assert_eq!(theta[0], 1e-3, "theta_0 is frozen");
    assert!(theta[1] != 0.0 && theta[2] != 0.0, "the other coefficients move: {theta:?}");
    assert!(records.iter().all(|r| r.gradient.len() == 3 && r.angles.len() == 2));
}

#[test]
fn backprop_has_zero_alignment_angles() {
    let cfg = Config { pathway: PathwayKind::Backprop, ..config() };
    let (records, _) = run(Rule::fa(), cfg, 2);
    for a in &records[1].angles {
        assert!(a.abs() < 1e-4, "angle {a} under backprop");
    }
    let (fa, _) = run(Rule::fa(), config(), 2);
    assert!(fa[1].angles.iter().all(|a| *a > 45.0), "random feedback is not aligned: {:?}", fa[1].angles);
}

#[test]
fn divergence_stops_or_skips_and_keeps_theta() {
    let owned = OwnedDataset::optdigits_shipped().unwrap();
    let data = owned.view();
    // In f32, a learning rate of 1e30 makes the weights overflow at once.
    let mut rule = Rule::<f32>::fa();
    rule.set_thetas(&[1e30]).unwrap();
    let mut stop = Trainer::<f32, Tiny>::new(rule.clone(), &data, config()).unwrap();
    match stop.episode(&data) {
        Err(TrainError::Diverged { episode: 0, .. }) => {}
        other => panic!("expected divergence at episode 0, got {other:?}"),
    }
    assert_eq!(stop.theta(), &[f64::from(1e30f32)]);
    assert_eq!(stop.state().episode, 0, "the failed episode is not counted");
    let mut skip =
        Trainer::<f32, Tiny>::new(rule, &data, Config { on_divergence: OnDivergence::Skip, ..config() }).unwrap();
    let r = skip.episode(&data).unwrap();
    assert!(!r.ok && r.accuracy.is_nan());
    assert_eq!(skip.theta(), &[f64::from(1e30f32)]);
    assert_eq!(skip.state().episode, 1);
}

#[test]
fn impossible_tasks_are_refused() {
    let owned = OwnedDataset::optdigits_shipped().unwrap();
    let data = owned.view();
    let bad = |task| Trainer::<f64, Tiny>::new(Rule::fa(), &data, Config { task, ..config() }).err();
    assert!(matches!(bad(TaskSpec { classes: 11, ..config().task }), Some(TrainError::Task(_))));
    assert!(matches!(bad(TaskSpec { train: 170, query: 20, ..config().task }), Some(TrainError::Task(_))));
    assert!(matches!(bad(TaskSpec { train: 0, ..config().task }), Some(TrainError::Task(_))));
}

/// The trainer's rule holds its current coefficients after every episode
/// (it held those from before the last step), and `beta` comes with it.
#[test]
fn the_trainers_rule_is_its_theta_after_every_episode() {
    let owned = OwnedDataset::optdigits_shipped().unwrap();
    let data = owned.view();
    let config = Config { task: TaskSpec { train: 5, query: 2, ..TaskSpec::default() }, lr: 1e-2, ..Config::default() };
    let mut t = Trainer::<f32, shape![64, 32, 16, 10]>::new(Rule::bio(), &data, config).unwrap();
    for _ in 0..4 {
        let record = t.episode(&data).unwrap();
        let rule: Vec<f32> = (0..3).map(|r| t.rule().theta(r).unwrap()).collect();
        let theta: Vec<f32> = t.theta().iter().map(|&x| x as f32).collect();
        assert_eq!(rule, theta);
        assert_ne!(record.theta, t.theta(), "the step moved Theta");
    }
    assert_eq!(t.beta(), 10.0);
}

/// A pathway of the user's: feedback alignment behind a type of its own,
/// reaching the trainer only as `dyn FeedbackPathway`.
struct Mine(FeedbackAlignment<f64, Tiny, Box<[f64]>>);

impl FeedbackPathway<f64, Tiny> for Mine {
    fn feedback(&self, shape: &Tiny, l: usize, w: &[f64], e_next: &[f64], e_out: &[f64], gate: &[f64], f: &mut [f64]) {
        self.0.feedback(shape, l, w, e_next, e_out, gate, f)
    }
    fn feedback_adjoint(
        &self,
        shape: &Tiny,
        l: usize,
        w: &[f64],
        e: &[f64],
        s: &[f64],
        ebar: &mut [f64],
        wbar: &mut [f64],
    ) {
        self.0.feedback_adjoint(shape, l, w, e, s, ebar, wbar)
    }
    fn reinit(&mut self, rng: &mut dyn rand_core::Rng, init: Init) {
        self.0.reinit(rng, init)
    }
    fn name(&self) -> &'static str {
        "mine"
    }
}

#[test]
fn a_users_pathway_is_meta_trained_like_the_built_in_one() {
    let owned = OwnedDataset::optdigits_shipped().unwrap();
    let data = owned.view();
    let config = Config { pathway: PathwayKind::Alignment, ..config() };
    let (built_in, theta) = run(Rule::bio(), config.clone(), 4);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(99);
    let mine = Box::new(Mine(FeedbackAlignment::random(&mut rng, Init::XavierNormal)));
    let mut t = Trainer::<f64, Tiny>::with_pathway(Rule::bio(), &data, config, mine).unwrap();
    let records: Vec<Record> = (0..4).map(|_| t.episode(&data).unwrap()).collect();
    // Its matrices are redrawn from each episode's stream, so the run is the same to the bit.
    assert_eq!(records, built_in);
    assert_eq!(t.theta(), &theta[..]);
}

/// An episode on another data set than the trainer's drew its tasks from
/// the first set's index of classes: wrong classes, reported as success.
#[test]
fn an_episode_on_another_data_set_is_refused() {
    use metaplasticity::idx::{Dataset, Labels};
    let owned = OwnedDataset::optdigits_shipped().unwrap();
    let data = owned.view();
    let mut t = Trainer::<f32, Tiny>::new(Rule::bio(), &data, config()).unwrap();
    // The same images, the labels in reverse order.
    let reversed: Vec<u8> = data.labels().as_slice().iter().rev().copied().collect();
    let other = Dataset::new(data.images(), Labels::new(&reversed), data.classes()).unwrap();
    assert_eq!(t.episode(&other), Err(TrainError::OtherData));
    assert_eq!(t.state().episode, 0, "nothing ran");
    assert!(t.episode(&data).is_ok());
}
