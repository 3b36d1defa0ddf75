//! Issue 10's table, one test per row: each input that used to panic, abort
//! or mislead now gives a typed error that names the offending value, before
//! any work starts, and leaves what the user had alone. The rows about the
//! programs are tested in `cli/tests/bad_input.rs`.
#![cfg(feature = "std")]

mod common;

use std::error::Error as _;
use std::path::PathBuf;

use metaplasticity::data::{LoadError, OwnedDataset};
use metaplasticity::error::chain as error_chain;
use metaplasticity::idx::{Dataset, IdxError, Images, Labels, MAX_CLASSES, Orientation};
use metaplasticity::meta::{
    Adam, AdamError, ClassIndex, Config, ConfigError, EpisodeError, MetaGradient, OnDivergence, Penalty, Sampling,
    Task, TaskError, TaskSpec, TrainError, Trainer,
};
use metaplasticity::{BufferKind, Error, FeedbackAlignment, Init, Network, Rule, shape};

type Tiny = shape![64, 32, 16, 10];
type Wide = shape![784, 16, 10];
type Paper = shape![784, 170, 130, 100, 70, 10];

fn digits() -> OwnedDataset {
    OwnedDataset::optdigits_shipped().unwrap()
}

fn small() -> Config {
    Config { task: TaskSpec { train: 5, query: 2, ..TaskSpec::default() }, ..Config::default() }
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("bad-input-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Row: `-K 18446744073709551615 -Q 2` (K + Q overflowed, then a slice out of range).
#[test]
fn task_sizes_that_overflow_are_refused() {
    let huge = TaskSpec { train: usize::MAX, query: 2, ..TaskSpec::default() };
    let overflow = TaskError::Overflow { classes: 5, train: usize::MAX, query: 2 };
    assert_eq!(TaskSpec::new(5, usize::MAX, 2, Sampling::Disjoint), Err(overflow));
    assert!(matches!(TaskSpec::new(usize::MAX, 1, 1, Sampling::Reference), Err(TaskError::Overflow { .. })));
    let owned = digits();
    let data = owned.view();
    assert_eq!(huge.check(&ClassIndex::new(&data)), Err(overflow));
    let config = Config { task: huge, ..Config::default() };
    let r = Trainer::<f32, Tiny>::new(Rule::bio(), &data, config);
    assert!(matches!(r, Err(TrainError::Task(e)) if e == overflow));
}

/// Row: `--checkpoint-interval` sized the work space by the interval.
#[test]
fn the_work_space_is_sized_by_the_episode() {
    let bytes = |steps, c| MetaGradient::<f32, Paper>::memory_bytes(steps, c);
    assert_eq!(bytes(25, 2000), bytes(25, 25));
    assert_eq!(bytes(25, usize::MAX), bytes(25, 25));
    assert_eq!(bytes(usize::MAX, usize::MAX), None);
    assert_eq!(bytes(usize::MAX, 1), None);
    // A work space that cannot exist is an error before any episode.
    let mut work = MetaGradient::<f32, Paper>::new(1);
    let e = work.reserve(usize::MAX / 2).unwrap_err();
    assert_eq!((e.steps, e.interval, e.bytes), (usize::MAX / 2, 1, None));
    assert!(e.to_string().contains("more than"), "{e}");
    // One that could be counted but not held (2^36 steps: petabytes) is
    // refused at once, nothing kept.
    let e = work.reserve(1 << 36).unwrap_err();
    assert!(e.bytes.is_some_and(|b| b > 1 << 50), "{e:?}");
    // The trainer takes an interval far past the episode, and allocates for
    // the episode only.
    let owned = digits();
    let data = owned.view();
    let config = Config { interval: usize::MAX, ..small() };
    let mut t = Trainer::<f32, Tiny>::new(Rule::bio(), &data, config).unwrap();
    assert!(t.episode(&data).unwrap().ok);
}

/// Row: `Dataset::new(images, labels, 1 << 40)` aborted allocating 26 TB in
/// `Trainer::new`; `usize::MAX` classes panicked in `ClassIndex::new`.
#[test]
fn more_classes_than_labels_can_name_are_refused() {
    let pixels = [0u8; 4];
    let labels = [0u8; 1];
    let images = Images::from_raw(&pixels, 1, 2, 2).unwrap();
    for classes in [1 << 40, usize::MAX, MAX_CLASSES + 1] {
        let r = Dataset::new(images, Labels::new(&labels), classes);
        assert_eq!(r, Err(IdxError::TooManyClasses { classes }));
        assert!(r.unwrap_err().to_string().contains(&classes.to_string()));
    }
    assert!(Dataset::new(images, Labels::new(&labels), MAX_CLASSES).is_ok());
}

/// Row: `Adam::new(2, ..).step(&mut [0.0; 3], &[1.0; 3], &[])` indexed out of bounds.
#[test]
fn adam_refuses_buffers_of_the_wrong_length() {
    let mut adam = Adam::new(2, 1e-3).unwrap();
    let mut theta = [0.5; 3];
    let e = adam.step(&mut theta, &[1.0; 3], &[]).unwrap_err();
    assert_eq!(e, AdamError::Length { what: "theta", expected: 2, found: 3 });
    assert_eq!((theta, adam.t()), ([0.5; 3], 0), "nothing changed");
    let mut theta = [0.5; 2];
    assert!(matches!(adam.step(&mut theta, &[1.0], &[]), Err(AdamError::Length { what: "grad", .. })));
    assert!(matches!(adam.step(&mut theta, &[1.0; 2], &[true]), Err(AdamError::Length { what: "mask", .. })));
    assert_eq!(Adam::new(2, f64::INFINITY), Err(AdamError::Hyper { name: "lr", value: f64::INFINITY }));
    assert!(matches!(Adam::new(2, 1e-3).unwrap().with_hyper(1.0, 0.5, 0.0), Err(AdamError::Hyper { .. })));
    let restored = Adam::new(2, 1e-3).unwrap().restore(3, vec![0.0; 2], vec![-1.0, 0.0]);
    assert_eq!(restored, Err(AdamError::BadValue { what: "v", index: 0 }));
    assert!(e.to_string().contains("3 entries") && e.to_string().contains("2 coefficients"), "{e}");
}

/// Found by a review of the library (2026-12-07): steps that left NaN or
/// infinite coefficients returned `Ok`. They are refused, nothing changed.
#[test]
fn an_adam_step_that_would_not_be_finite_changes_nothing() {
    let unchanged = |mut adam: Adam, theta: &mut [f64], grad: &[f64]| {
        let (before, saved) = (theta.to_vec(), adam.clone());
        let e = adam.step(theta, grad, &[]).unwrap_err();
        assert!(matches!(e, AdamError::NonFiniteStep { .. }), "{e:?}");
        assert_eq!(theta, &before[..]);
        assert_eq!(adam, saved);
    };
    // eps = 0 and a zero gradient: 0 / 0.
    unchanged(Adam::new(2, 1e-3).unwrap().with_hyper(0.9, 0.999, 0.0).unwrap(), &mut [0.5, 0.5], &[0.0, 1.0]);
    // A learning rate that overflows the coefficient.
    unchanged(Adam::new(1, 1e308).unwrap(), &mut [-1e308], &[1.0]);
    // A step count at its maximum saturates instead of wrapping to 0 (whose
    // bias correction divided by zero).
    let mut adam = Adam::new(1, 1e-3).unwrap().restore(u64::MAX, vec![0.1], vec![0.1]).unwrap();
    let mut theta = [0.5];
    adam.step(&mut theta, &[1.0], &[]).unwrap();
    assert!(theta[0].is_finite() && theta[0] < 0.5, "{theta:?}");
}

/// Row: `Config { lr: NaN, .. }` failed at episode 2 as "cannot resume";
/// `lr: -1.0` and `Penalty::L2(-1.0)` were accepted.
#[test]
fn bad_scalars_in_the_configuration_are_refused_at_construction() {
    let owned = digits();
    let data = owned.view();
    let new = |config| Trainer::<f32, Tiny>::new(Rule::bio(), &data, config).map(|_| ());
    let nan = new(Config { lr: f64::NAN, ..small() });
    assert!(matches!(nan, Err(TrainError::Config(ConfigError::LearningRate(lr))) if lr.is_nan()));
    assert_eq!(new(Config { lr: -1.0, ..small() }), Err(TrainError::Config(ConfigError::LearningRate(-1.0))));
    let l2 = new(Config { penalty: Penalty::L2(-1.0), ..small() });
    assert_eq!(l2, Err(TrainError::Config(ConfigError::Lambda(-1.0))));
    let e = TrainError::Config(ConfigError::LearningRate(-1.0));
    assert_eq!(
        error_chain(&e),
        "error: invalid configuration\n  caused by: the learning rate is -1; it must be finite and positive"
    );
}

/// Row: a 10-output network on 47-class data, or images of another size
/// than the input layer, were reported as a diverged episode 0.
#[test]
fn data_that_does_not_fit_the_network_is_refused_by_trainer_new() {
    let (n, classes) = (47 * 3, 47);
    let pixels = vec![0u8; n * 784];
    let labels: Vec<u8> = (0..n).map(|i| (i % classes) as u8).collect();
    let data = Dataset::new(Images::from_raw(&pixels, n, 28, 28).unwrap(), Labels::new(&labels), classes).unwrap();
    let config = Config { task: TaskSpec { train: 2, query: 1, ..TaskSpec::default() }, ..Config::default() };
    let r = Trainer::<f32, Wide>::new(Rule::bio(), &data, config.clone()).map(|_| ());
    assert_eq!(r, Err(TrainError::Config(ConfigError::Classes { classes: 47, outputs: 10 })));
    let owned = digits();
    let r = Trainer::<f32, Wide>::new(Rule::bio(), &owned.view(), config).map(|_| ());
    assert_eq!(r, Err(TrainError::Config(ConfigError::Pixels { pixels: 64, inputs: 784 })));
    assert!(error_chain(&r.unwrap_err()).contains("64 pixels but the network 784 inputs"));
}

/// Row: `MetaGradient::run` with an empty task returned `Ok` with loss 0.
#[test]
fn an_empty_task_is_an_error() {
    let owned = digits();
    let data = owned.view();
    let mut rng = common::rng(1);
    let mut net = Network::<f64, Tiny, _>::zeros();
    net.init(&mut rng, Init::XavierUniform);
    let mut fa = FeedbackAlignment::<f64, Tiny, _>::random(&mut rng, Init::XavierUniform);
    let rule = Rule::<f64>::bio();
    let mut grad = [0.0; 3];
    let mut work = MetaGradient::<f64, Tiny>::new(4);
    for (train, query) in [(vec![], vec![1, 2]), (vec![1, 2], vec![]), (vec![], vec![])] {
        let task = Task { train: train.clone(), query: query.clone() };
        let r = work.run(&mut net, &mut fa, &rule, &data, &task, Penalty::None, &mut grad);
        assert_eq!(r, Err(EpisodeError::EmptyTask { train: train.len(), query: query.len() }));
    }
}

/// Row: `meta_train --rule 0,0,0` was accepted (CSV with duplicate columns).
#[test]
fn a_rule_with_a_term_twice_is_refused() {
    let owned = digits();
    let data = owned.view();
    let f0 = metaplasticity::terms::pool::<f32>()[0];
    let rule = Rule::from_terms(&[f0, f0]).unwrap();
    let r = Trainer::<f32, Tiny>::new(rule, &data, small()).map(|_| ());
    assert_eq!(r, Err(TrainError::Config(ConfigError::DuplicateTerm { name: "F0" })));
}

/// Row: a data set with zero images said "a data set needs at least one class".
#[test]
fn a_data_set_with_no_images_says_so() {
    let dir = scratch("empty");
    std::fs::create_dir_all(&dir).unwrap();
    let (images, labels) = (dir.join("images"), dir.join("labels"));
    std::fs::write(&images, [0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28]).unwrap();
    std::fs::write(&labels, [0, 0, 8, 1, 0, 0, 0, 0]).unwrap();
    let e = OwnedDataset::load(&images, &labels, Orientation::RowMajor, None).unwrap_err();
    assert!(matches!(e, LoadError::Inconsistent { source: IdxError::NoItems, .. }), "{e:?}");
    assert!(error_chain(&e).contains("hold no images"), "{}", error_chain(&e));
}

/// Row: `TrainError` lost its cause chain; `Error::Data` printed its cause
/// and also returned it as `source`; `BufferKind` was shown with `{:?}`.
#[test]
fn errors_chain_their_causes_and_print_each_once() {
    let owned = digits();
    let data = owned.view();
    // An episode that diverges: a learning rate of 1e30 on F^0.
    let mut rule = Rule::<f32>::fa();
    rule.set_thetas(&[1e30]).unwrap();
    let config = Config { on_divergence: OnDivergence::Stop, ..small() };
    let e = Trainer::<f32, Tiny>::new(rule, &data, config).unwrap().episode(&data).unwrap_err();
    assert!(matches!(e, TrainError::Diverged { episode: 0, .. }), "{e:?}");
    let episode = e.source().expect("the episode's error");
    assert!(episode.source().is_some(), "and the core's error under it");
    let chain = error_chain(&e);
    let lines: Vec<&str> = chain.lines().collect();
    assert_eq!(lines.len(), 3, "{chain}");
    for (i, a) in lines.iter().enumerate() {
        let text = a.trim_start_matches("error: ").trim_start_matches("  caused by: ");
        assert!(lines.iter().skip(i + 1).all(|b| !b.contains(text)), "printed twice: {chain}");
    }
    let data_error = Error::Data(IdxError::IndexOutOfRange { index: 9, count: 3 });
    assert!(!data_error.to_string().contains("out of range"), "the cause is the source, not repeated");
    assert_eq!(error_chain(&data_error).matches("out of range").count(), 1);
    let length = Error::BufferLength { what: BufferKind::Weights, expected: 4, found: 3 };
    assert_eq!(length.to_string(), "the forward weights buffer has 3 entries, the network's shape needs 4");
    assert!(!error_chain(&e).contains("{") && !error_chain(&e).contains("Weights"));
}

/// Found by the property test: a learning rate of 2e278 is finite, but its
/// step takes `theta` beyond `f32`; that is an error naming the value, and
/// the step is not taken.
#[test]
fn a_step_past_the_scalar_types_range_is_refused() {
    let owned = digits();
    let data = owned.view();
    let mut t = Trainer::<f32, Tiny>::new(Rule::bio(), &data, Config { lr: 1e300, ..small() }).unwrap();
    let before = t.theta().to_vec();
    let e = t.episode(&data).unwrap_err();
    assert!(matches!(e, TrainError::ThetaRange { index: 0, value } if value.abs() > 1e290), "{e:?}");
    assert_eq!(t.theta(), &before[..], "the step was not taken");
    assert_eq!(t.state().episode, 0);
    assert!(e.to_string().contains("learning rate"), "{e}");
}

/// Found by a review of the library (2026-12-07): `correct` counted a label
/// the network cannot name as a miss, where `learn` refuses it.
#[test]
fn correct_refuses_a_label_the_network_cannot_name() {
    use metaplasticity::online::correct;
    let pixels = [0u8, 10, 20, 30, 40, 50, 60, 70];
    let labels = [0u8, 5];
    let data = Dataset::new(Images::from_raw(&pixels, 2, 2, 2).unwrap(), Labels::new(&labels), 6).unwrap();
    let shape = metaplasticity::Widths::new(&[4, 3]).unwrap();
    let net = metaplasticity::heap::Network::<metaplasticity::Widths>::zeros_for(shape);
    let mut act = metaplasticity::heap::Activity::<metaplasticity::Widths>::zeros_for(shape);
    assert!(correct(&net, &mut act, &data, 0..1).is_ok());
    assert_eq!(correct(&net, &mut act, &data, 0..2), Err(Error::LabelOutOfRange { label: 5, classes: 3 }));
}

/// Found by a review of the library (2026-12-07): accessors by layer are
/// empty outside their range, `usize::MAX` included (it overflowed), and
/// an activity of the smallest network has no feedback block past its top.
#[test]
fn layer_accessors_are_empty_past_the_top() {
    type Two = shape![4, 3];
    use rand_xoshiro::rand_core::SeedableRng;
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
    let fa = FeedbackAlignment::<f32, Two, _>::random(&mut rng, Init::XavierUniform);
    assert!(fa.transposed(usize::MAX).is_empty());
    assert!(fa.transposed(1).is_empty(), "depth 1: no feedback matrix");
    let act = metaplasticity::heap::Activity::<Two>::zeros();
    assert_eq!((act.f(0).len(), act.f(1).len(), act.slope(1).len(), act.y(usize::MAX).len()), (4, 0, 0, 0));
}

/// Found by a review of the library (2026-12-07): helpers that returned a
/// number for inputs that have none.
#[test]
fn helpers_give_no_number_for_inputs_that_have_none() {
    use rand_xoshiro::rand_core::SeedableRng;
    assert!(metaplasticity::meta::trainer::angle(&[1.0, 0.0, 5.0], &[1.0]).is_nan(), "lengths differ");
    assert!((metaplasticity::meta::trainer::angle(&[1.0, 0.0], &[0.0, 2.0]) - 90.0).abs() < 1e-12);
    let mut m = [1.0f32; 4];
    Init::XavierUniform.fill(&mut rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(0), &mut m, 0, 0);
    assert_eq!(m, [0.0; 4], "no fan: zeros, not infinities");
}

/// Found by a review of the library (2026-12-07): the terms' sizes probed
/// on data the network cannot read came back as 1 for every term, and a
/// task of no class blamed the data set.
#[test]
fn term_sizes_on_data_the_network_cannot_read_are_refused() {
    use metaplasticity::meta::{Config, TaskError, TaskSpec, term_magnitudes};
    let owned = digits();
    let data = owned.view();
    let wrong = metaplasticity::Widths::new(&[784, 10]).unwrap();
    let e = term_magnitudes::<f32, _, 10>(&wrong, &Rule::pool(), &data, &Config::default()).unwrap_err();
    assert!(matches!(e, TaskError::DataShape { pixels: 64, input: 784, .. }), "{e:?}");
    let e = TaskSpec::new(0, 5, 5, Sampling::Disjoint).unwrap_err();
    assert_eq!(e.to_string(), "a task needs at least one class (M = 0)");
}
