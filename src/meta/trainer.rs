//! The meta-training loop: episodes, Adam on `Theta`, per-episode records,
//! alignment angles, divergence handling, exact resumption.
//!
//! Every random draw of episode `n` (the task, `W`, the feedback) comes from
//! a generator seeded by `(seed, n)` alone, so a run resumed at episode `n`
//! from its saved `Theta` and Adam state gives bit-identical results to an
//! uninterrupted one, and two trainers with the same seed (a rule and its
//! baseline) see the same tasks and the same initial `W`.

use alloc::vec::Vec;
use core::fmt;

use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::SeedableRng;

use crate::idx::Dataset;
use crate::init::Init;
use crate::meta::gradient::EpisodeError;
use crate::meta::task::TaskError;
use crate::meta::{Adam, ClassIndex, MetaGradient, Penalty, TaskSpec};
use crate::online::load;
use crate::pathway::{AnyPathway, PathwayKind};
use crate::rule::Rule;
use crate::{Activity, Backprop, Error, FeedbackPathway, Network, Real, Shape};

/// What to do when an episode produces non-finite values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnDivergence {
    /// Stop training with an error (the last good `Theta` is kept).
    #[default]
    Stop,
    /// Record the episode as skipped, keep `Theta`, go on.
    Skip,
}

/// Settings of a meta-training run.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The task shape (`M`, `K`, `Q`, sampling).
    pub task: TaskSpec,
    /// Penalty on `Theta` in the meta-loss.
    pub penalty: Penalty,
    /// Adam's learning rate (paper: 1e-3).
    pub lr: f64,
    /// The feedback pathway.
    pub pathway: PathwayKind,
    /// How feedback matrices are drawn (forward weights: Xavier-uniform).
    pub feedback_init: Init,
    /// Checkpoint interval of the meta-gradient.
    pub interval: usize,
    /// Seed of every random draw.
    pub seed: u64,
    /// Which coefficients Adam may change (empty: all).
    pub trainable: Vec<bool>,
    /// What to do on divergence.
    pub on_divergence: OnDivergence,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            task: TaskSpec::default(),
            penalty: Penalty::None,
            lr: 1e-3,
            pathway: PathwayKind::Alignment,
            feedback_init: Init::XavierUniform,
            interval: 16,
            seed: 0,
            trainable: Vec::new(),
            on_divergence: OnDivergence::Stop,
        }
    }
}

/// One episode's record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Episode number, from 0.
    pub episode: usize,
    /// `false` if the episode diverged and was skipped (losses, accuracy and
    /// angles NaN, gradient empty).
    pub ok: bool,
    /// Meta-loss (query cross-entropy plus penalty).
    pub meta_loss: f64,
    /// Query cross-entropy.
    pub query_loss: f64,
    /// Meta-accuracy: fraction of query images classified correctly.
    pub accuracy: f64,
    /// Mean online training loss.
    pub train_loss: f64,
    /// `Theta` used in this episode (before the Adam step).
    pub theta: Vec<f64>,
    /// The meta-gradient `dL_meta/dTheta`.
    pub gradient: Vec<f64>,
    /// Alignment angle `alpha_l` in degrees for `l = 1 .. L-1`: between the
    /// query-mean `e_l` of the rule's pathway and the query-mean `e_l`
    /// backprop would send through the adapted `W`.
    pub angles: Vec<f64>,
}

/// Why training stopped.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum TrainError {
    /// Tasks cannot be drawn from the data set.
    Task(TaskError),
    /// Episode `episode` diverged.
    Diverged {
        /// The episode.
        episode: usize,
        /// What happened.
        error: EpisodeError,
    },
    /// The state to resume from does not fit the rule.
    State(Error),
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrainError::Task(e) => write!(f, "{e}"),
            TrainError::Diverged { episode, error } => {
                write!(f, "episode {episode} diverged ({error}); Theta kept from the episode before")
            }
            TrainError::State(e) => write!(f, "cannot resume: {e}"),
        }
    }
}

impl core::error::Error for TrainError {}

/// A meta-trainer for networks of shape `S` and rules of up to `N` terms.
pub struct Trainer<'r, T, S, const N: usize = 10> {
    config: Config,
    rule: Rule<'r, T, N>,
    theta: Vec<f64>,
    adam: Adam,
    episode: usize,
    classes: ClassIndex,
    work: MetaGradient<T, S>,
    net: Network<T, S, alloc::boxed::Box<[T]>>,
    act: Activity<T, S, alloc::boxed::Box<[T]>>,
}

/// The generator of episode `n` of a run seeded with `seed`.
pub fn episode_rng(seed: u64, n: usize) -> Xoshiro256PlusPlus {
    // Distinct, well-mixed 64-bit seeds per (seed, n): SplitMix-style odd multiplier.
    Xoshiro256PlusPlus::seed_from_u64(seed ^ (n as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

impl<'r, T: Real, S: Shape, const N: usize> Trainer<'r, T, S, N> {
    /// A trainer starting from the rule's coefficients, at episode 0.
    pub fn new(rule: Rule<'r, T, N>, data: &Dataset<'_>, config: Config) -> Result<Self, TrainError> {
        let classes = ClassIndex::new(data);
        config.task.check(&classes).map_err(TrainError::Task)?;
        let mut theta = alloc::vec![T::zero(); rule.len()];
        rule.thetas(&mut theta).map_err(TrainError::State)?;
        let adam = Adam::new(rule.len(), config.lr);
        Ok(Trainer {
            work: MetaGradient::new(config.interval),
            theta: theta.iter().map(|t| t.to_f64()).collect(),
            config,
            rule,
            adam,
            episode: 0,
            classes,
            net: Network::zeros(),
            act: Activity::zeros(),
        })
    }

    /// Continues a run from a saved state: the next episode to run, `Theta`
    /// and Adam's state (all from [`Trainer::state`]).
    pub fn resume(&mut self, episode: usize, theta: Vec<f64>, adam: Adam) -> Result<(), TrainError> {
        let n = self.rule.len();
        if theta.len() != n || adam.m.len() != n || adam.v.len() != n {
            let found = if theta.len() != n { theta.len() } else { adam.m.len().min(adam.v.len()) };
            return Err(TrainError::State(Error::BufferLength { what: crate::BufferKind::Theta, expected: n, found }));
        }
        if let Some(index) = theta.iter().position(|t| !t.is_finite()) {
            return Err(TrainError::State(Error::NonFiniteTheta { index }));
        }
        self.episode = episode;
        self.theta = theta;
        self.adam = adam;
        Ok(())
    }

    /// `(next episode, Theta, Adam)`: everything needed to resume.
    pub fn state(&self) -> (usize, &[f64], &Adam) {
        (self.episode, &self.theta, &self.adam)
    }

    /// The current coefficients.
    pub fn theta(&self) -> &[f64] {
        &self.theta
    }

    /// The rule being trained (its coefficients are those of the last episode).
    pub fn rule(&self) -> &Rule<'r, T, N> {
        &self.rule
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Runs the next episode and the Adam step. A diverged episode keeps
    /// `Theta` and is either returned as an error ([`OnDivergence::Stop`],
    /// the episode counter stays) or recorded as skipped.
    pub fn episode(&mut self, data: &Dataset<'_>) -> Result<Record, TrainError> {
        let n = self.episode;
        let mut rng = episode_rng(self.config.seed, n);
        let task = self.config.task.draw(&self.classes, &mut rng).map_err(TrainError::Task)?;
        self.net.init(&mut rng, Init::XavierUniform);
        let pathway = AnyPathway::<T, S>::new(self.config.pathway, &mut rng, self.config.feedback_init);
        let theta_t: Vec<T> = self.theta.iter().map(|&t| T::of(t)).collect();
        self.rule.set_thetas(&theta_t).map_err(TrainError::State)?;
        let mut grad = alloc::vec![T::zero(); self.rule.len()];
        let result = self.work.run(&mut self.net, &pathway, &self.rule, data, &task, self.config.penalty, &mut grad);
        let theta = self.theta.clone();
        let res = match result {
            Ok(r) => r,
            Err(error) => {
                return match self.config.on_divergence {
                    OnDivergence::Stop => Err(TrainError::Diverged { episode: n, error }),
                    OnDivergence::Skip => {
                        self.episode += 1;
                        Ok(Record {
                            episode: n,
                            ok: false,
                            meta_loss: f64::NAN,
                            query_loss: f64::NAN,
                            accuracy: f64::NAN,
                            train_loss: f64::NAN,
                            theta,
                            gradient: Vec::new(),
                            angles: alloc::vec![f64::NAN; S::DEPTH - 1],
                        })
                    }
                };
            }
        };
        let angles = alignment(&self.net, &pathway, &mut self.act, data, &task.query);
        let gradient: Vec<f64> = grad.iter().map(|g| g.to_f64()).collect();
        self.adam.step(&mut self.theta, &gradient, &self.config.trainable);
        self.episode += 1;
        Ok(Record {
            episode: n,
            ok: true,
            meta_loss: res.meta_loss,
            query_loss: res.query_loss,
            accuracy: res.accuracy,
            train_loss: res.train_loss,
            theta,
            gradient,
            angles,
        })
    }
}

/// Alignment angles (degrees) for `l = 1 .. L-1` between the query-mean
/// modulating signals of `pathway` and of backprop, at the weights of `net`.
/// NaN where a mean vector is zero, or a query image cannot be evaluated.
pub fn alignment<T, S, W, P, A>(
    net: &Network<T, S, W>,
    pathway: &P,
    act: &mut Activity<T, S, A>,
    data: &Dataset<'_>,
    query: &[usize],
) -> Vec<f64>
where
    T: Real,
    S: Shape,
    W: crate::Storage<T>,
    P: FeedbackPathway<T, S> + ?Sized,
    A: crate::Storage<T>,
{
    let hidden = S::DEPTH - 1;
    let width = |l: usize| S::width(l);
    let mut rule_mean: Vec<Vec<f64>> = (1..=hidden).map(|l| alloc::vec![0.0; width(l)]).collect();
    let mut bp_mean = rule_mean.clone();
    for &i in query {
        let mut both = || -> Result<(), Error> {
            let label = load(act, data, i)?;
            net.forward_label(act, label)?;
            net.signals(pathway, act, false)?;
            accumulate(&mut rule_mean, act);
            net.signals(&Backprop, act, false)?;
            accumulate(&mut bp_mean, act);
            Ok(())
        };
        if both().is_err() {
            return alloc::vec![f64::NAN; hidden];
        }
    }
    rule_mean.iter().zip(&bp_mean).map(|(a, b)| angle(a, b)).collect()
}

/// Adds `e_1 .. e_{L-1}` of `act` into `means`.
fn accumulate<T: Real, S: Shape, A: crate::Storage<T>>(means: &mut [Vec<f64>], act: &Activity<T, S, A>) {
    for (l, m) in (1..).zip(means.iter_mut()) {
        for (mi, &e) in m.iter_mut().zip(act.e(l)) {
            *mi += e.to_f64();
        }
    }
}

/// The angle between two vectors, in degrees (NaN if either is zero).
pub fn angle(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = libm::sqrt(a.iter().map(|x| x * x).sum());
    let nb = libm::sqrt(b.iter().map(|x| x * x).sum());
    if na == 0.0 || nb == 0.0 {
        return f64::NAN;
    }
    libm::acos((dot / (na * nb)).clamp(-1.0, 1.0)).to_degrees()
}
