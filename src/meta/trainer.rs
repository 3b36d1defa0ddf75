//! The meta-training loop: episodes, Adam on `Theta`, per-episode records,
//! alignment angles, divergence handling, exact resumption.
//!
//! Two meta-optimisers share it. The paper's (the default, [`Config::default`])
//! is plain Adam at `1e-3` on the exact meta-gradient. The robust one
//! ([`Config::robust`]), for heterogeneous pools such as the paper's ten
//! terms, changes four parts, each documented where it lives and each
//! available alone: normalised momentum instead of Adam
//! ([`Optimizer::Normalized`]), per-term step sizes ([`StepScale`], see
//! [`scale`](crate::meta::scale)), a back-off on divergence
//! ([`OnDivergence::BackOff`]) and a proximal L1 step ([`L1Form::Proximal`]).
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
use crate::meta::adam::{AdamError, StepOptions};
use crate::meta::gradient::{EpisodeError, WorkSpaceError};
use crate::meta::scale::{rates_from_magnitudes, term_magnitudes};
use crate::meta::task::TaskError;
use crate::meta::{Adam, ClassIndex, MetaGradient, Penalty, TaskSpec};
use crate::online::load;
use crate::pathway::{AnyPathway, PathwayKind};
use crate::rule::Rule;
use crate::{Activity, Backprop, Error, FeedbackPathway, Network, Real, Shape};

/// What to do when an episode produces non-finite values.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum OnDivergence {
    /// Stop training with an error (the last good `Theta` is kept).
    #[default]
    Stop,
    /// Record the episode as skipped, keep `Theta`, go on. The next episode
    /// starts from the same coefficients, so a `Theta` that diverges on
    /// most tasks keeps diverging.
    Skip,
    /// Reject the step that led to the diverged episode and retry it
    /// smaller (see [`BackOff`]).
    BackOff(BackOff),
}

/// The back-off on divergence of the robust meta-optimiser.
///
/// Why it exists: a coefficient step that is too large makes the next
/// episode's weights overflow or die; keeping that `Theta` (as
/// [`OnDivergence::Skip`] does) locks the run into diverging. On a diverged
/// episode the trainer restores `Theta` and Adam's state from before the
/// last step, retakes that step with the same gradient and the learning
/// rate times `shrink^k` at try `k`, and reruns the episode (same task, same
/// initial weights): at most `tries` times. If every try diverges, the step
/// is rejected altogether (`Theta` and Adam as before it) and the episode
/// is recorded as skipped. An episode with no step before it to undo (the
/// first, or the one after a rejection) is skipped. The smaller rate serves
/// the retried step only: later steps use the full rate again, since a
/// reduction that stayed would compound over rare task-specific
/// divergences (measured in an earlier version that kept it: five diverged
/// episodes in 300, 24 retries, left a trial at `0.5^24 = 6e-8` times its
/// rate, frozen at the accuracy it had).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackOff {
    /// Factor on the learning rate per retry, in `(0, 1)`.
    pub shrink: f64,
    /// Retries per diverged episode, at least 1.
    pub tries: usize,
}

impl Default for BackOff {
    fn default() -> Self {
        BackOff { shrink: 0.5, tries: 4 }
    }
}

/// The step size of each coefficient relative to Adam's learning rate.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum StepScale {
    /// Every coefficient at Adam's rate (the paper).
    #[default]
    Uniform,
    /// `s_r = min(1, 1 / m_r)` with `m_r` each term's size relative to the
    /// first term's, measured on episode 0 (see [`crate::meta::scale`]).
    Measured,
    /// Given multipliers, one per coefficient, each finite and positive.
    Given(Vec<f64>),
}

/// The update rule of the meta-optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Optimizer {
    /// Adam (the paper).
    #[default]
    Adam,
    /// Normalised momentum ([`Adam::step_normalized`]): relative gradient
    /// sizes kept, every step bounded by the learning rate.
    Normalized,
}

/// How an L1 penalty `lambda ||Theta||_1` enters the meta-optimisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum L1Form {
    /// Its subgradient `lambda sign(theta_r)` is added to the meta-gradient
    /// (the paper): coefficients oscillate around zero, never reach it.
    #[default]
    Subgradient,
    /// A proximal step after each Adam step (soft-thresholding in Adam's
    /// metric, see [`crate::meta::adam::StepOptions::l1`]): coefficients
    /// whose averaged gradient stays below `lambda` become exactly zero, so
    /// L1 selects terms. Why it exists: with the subgradient, "which terms
    /// matter" must be read off small non-zero values.
    Proximal,
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
    /// Step size of each coefficient relative to `lr`.
    pub step_scale: StepScale,
    /// How an L1 penalty is applied (ignored for other penalties).
    pub l1: L1Form,
    /// The update rule.
    pub optimizer: Optimizer,
}

impl Config {
    /// The robust meta-optimiser on top of this configuration: normalised
    /// momentum, measured per-term step sizes, back-off on divergence,
    /// proximal L1 (the paper's learning rate `1e-3` stays unless set).
    pub fn robust(self) -> Self {
        Config {
            step_scale: StepScale::Measured,
            on_divergence: OnDivergence::BackOff(BackOff::default()),
            l1: L1Form::Proximal,
            optimizer: Optimizer::Normalized,
            ..self
        }
    }

    /// Whether the settings can be used for a rule of `terms` coefficients
    /// (the task shape is checked on its own, [`TaskSpec::new`]; against a
    /// data set by [`Trainer::new`]).
    ///
    /// ```
    /// use metaplasticity::meta::{Config, ConfigError, Penalty};
    /// assert!(Config::default().check(3).is_ok());
    /// let bad = Config { penalty: Penalty::L2(-1.0), ..Config::default() };
    /// assert_eq!(bad.check(3), Err(ConfigError::Lambda(-1.0)));
    /// ```
    pub fn check(&self, terms: usize) -> Result<(), ConfigError> {
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(ConfigError::LearningRate(self.lr));
        }
        match self.penalty {
            Penalty::L1(l) | Penalty::L2(l) if !(l.is_finite() && l >= 0.0) => return Err(ConfigError::Lambda(l)),
            _ => {}
        }
        if self.interval == 0 {
            return Err(ConfigError::Interval);
        }
        if !self.trainable.is_empty() && self.trainable.len() != terms {
            return Err(ConfigError::Trainable { expected: terms, found: self.trainable.len() });
        }
        if let OnDivergence::BackOff(b) = self.on_divergence
            && !(b.shrink > 0.0 && b.shrink < 1.0 && b.tries >= 1)
        {
            return Err(ConfigError::BackOff { shrink: b.shrink, tries: b.tries });
        }
        if let StepScale::Given(rates) = &self.step_scale {
            if rates.len() != terms {
                return Err(ConfigError::StepScaleLength { expected: terms, found: rates.len() });
            }
            if let Some(index) = rates.iter().position(|r| !(r.is_finite() && *r > 0.0)) {
                return Err(ConfigError::StepScale { index, value: rates[index] });
            }
        }
        Ok(())
    }
}

/// A setting of [`Config`] that cannot be used, or that does not fit the
/// rule, the network or the data set. Each variant holds the offending value.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum ConfigError {
    /// [`Config::lr`] is not finite and positive.
    LearningRate(f64),
    /// The penalty strength `lambda` is not finite and non-negative.
    Lambda(f64),
    /// [`Config::interval`] is zero.
    Interval,
    /// [`Config::trainable`] is neither empty nor one entry per coefficient.
    Trainable {
        /// Coefficients of the rule.
        expected: usize,
        /// Entries of the mask.
        found: usize,
    },
    /// [`BackOff`] needs `0 < shrink < 1` and `tries >= 1`.
    BackOff {
        /// The factor given.
        shrink: f64,
        /// The tries given.
        tries: usize,
    },
    /// [`StepScale::Given`] needs one multiplier per coefficient.
    StepScaleLength {
        /// Coefficients of the rule.
        expected: usize,
        /// Multipliers given.
        found: usize,
    },
    /// A [`StepScale::Given`] multiplier is not finite and positive.
    StepScale {
        /// Its coefficient.
        index: usize,
        /// Its value.
        value: f64,
    },
    /// The data set has more classes than the network has outputs.
    Classes {
        /// Classes of the data set (labels `0 .. classes`).
        classes: usize,
        /// Output units `n_L`.
        outputs: usize,
    },
    /// Two terms of the rule have the same name, so their coefficients and
    /// their columns in a record cannot be told apart.
    DuplicateTerm {
        /// The name.
        name: &'static str,
    },
    /// The images are not the size of the network's input layer.
    Pixels {
        /// Pixels per image.
        pixels: usize,
        /// Input units `n_0`.
        inputs: usize,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ConfigError::LearningRate(lr) => write!(f, "the learning rate is {lr}; it must be finite and positive"),
            ConfigError::Lambda(l) => {
                write!(f, "the penalty strength lambda is {l}; it must be finite and non-negative")
            }
            ConfigError::Interval => write!(f, "the checkpoint interval is 0; it must be at least 1"),
            ConfigError::Trainable { expected, found } => write!(
                f,
                "the trainable mask has {found} entries; it must be empty or have one per coefficient ({expected})"
            ),
            ConfigError::BackOff { shrink, tries } => write!(
                f,
                "the back-off has shrink {shrink} and {tries} tries; it needs 0 < shrink < 1 and at least one try"
            ),
            ConfigError::StepScaleLength { expected, found } => {
                write!(f, "{found} step scales given; the rule has {expected} coefficients")
            }
            ConfigError::StepScale { index, value } => {
                write!(f, "step scale {index} is {value}; each must be finite and positive")
            }
            ConfigError::Classes { classes, outputs } => write!(
                f,
                "the data set has {classes} classes but the network {outputs} outputs: \
                 the output layer needs at least one unit per class"
            ),
            ConfigError::DuplicateTerm { name } => {
                write!(f, "the rule holds term {name} twice; each term may appear once")
            }
            ConfigError::Pixels { pixels, inputs } => {
                write!(f, "the images have {pixels} pixels but the network {inputs} inputs: they must be equal")
            }
        }
    }
}

impl core::error::Error for ConfigError {}

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
            step_scale: StepScale::Uniform,
            l1: L1Form::Subgradient,
            optimizer: Optimizer::Adam,
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
    /// Back-off retries this episode took ([`OnDivergence::BackOff`]; 0
    /// otherwise): its `Theta` came from a step at `shrink^retries` times
    /// the learning rate.
    pub retries: usize,
    /// `Theta` used in this episode (before the Adam step).
    pub theta: Vec<f64>,
    /// The meta-gradient `dL_meta/dTheta` (with [`L1Form::Proximal`], of
    /// the query loss alone: the L1 part enters through the proximal step).
    pub gradient: Vec<f64>,
    /// Alignment angle `alpha_l` in degrees for `l = 1 .. L-1`: between the
    /// query-mean `e_l` of the rule's pathway and the query-mean `e_l`
    /// backprop would send through the adapted `W`.
    pub angles: Vec<f64>,
}

/// Why training stopped, or could not start.
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
    /// A setting of [`Config`] cannot be used.
    Config(ConfigError),
    /// The meta-gradient's work space cannot be allocated.
    WorkSpace(WorkSpaceError),
    /// The optimiser refused its state (from [`Trainer::resume`]).
    Optimizer(AdamError),
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Each message says where; its cause is the `source`.
        match self {
            TrainError::Task(_) => write!(f, "tasks cannot be drawn from the data set"),
            TrainError::Diverged { episode, .. } => {
                write!(f, "episode {episode} diverged; Theta kept from the episode before")
            }
            TrainError::State(_) => write!(f, "cannot resume from the saved state"),
            TrainError::Config(_) => write!(f, "invalid configuration"),
            TrainError::WorkSpace(_) => write!(f, "not enough memory for the meta-gradient"),
            TrainError::Optimizer(_) => write!(f, "the optimiser's state is unusable"),
        }
    }
}

impl core::error::Error for TrainError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            TrainError::Task(e) => Some(e),
            TrainError::Diverged { error, .. } => Some(error),
            TrainError::State(e) => Some(e),
            TrainError::Config(e) => Some(e),
            TrainError::WorkSpace(e) => Some(e),
            TrainError::Optimizer(e) => Some(e),
        }
    }
}

/// The undo record of the back-off: the state before the last Adam step
/// and the gradient that step used.
#[derive(Debug, Clone, PartialEq)]
pub struct Undo {
    /// `Theta` before the step.
    pub theta: Vec<f64>,
    /// Adam's state before the step.
    pub adam: Adam,
    /// The gradient of the step.
    pub gradient: Vec<f64>,
}

/// Everything a run needs to continue exactly: [`Trainer::state`] gives
/// it, [`Trainer::resume`] takes it back.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// The next episode to run.
    pub episode: usize,
    /// The current coefficients.
    pub theta: Vec<f64>,
    /// Adam's state.
    pub adam: Adam,
    /// The last step, for the back-off to undo (`None` when there is none).
    pub undo: Option<Undo>,
}

/// A meta-trainer for networks of shape `S` and rules of up to `N` terms.
pub struct Trainer<'r, T, S, const N: usize = 10> {
    config: Config,
    rule: Rule<'r, T, N>,
    state: State,
    rates: Vec<f64>,
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

/// What one run of an episode gave, before the optimiser's step.
struct Attempt {
    result: crate::meta::EpisodeResult,
    gradient: Vec<f64>,
    angles: Vec<f64>,
}

impl<'r, T: Real, S: Shape, const N: usize> Trainer<'r, T, S, N> {
    /// A trainer starting from the rule's coefficients, at episode 0. With
    /// [`StepScale::Measured`] it probes the terms' sizes on episode 0's
    /// task first (one episode's online steps).
    ///
    /// Everything is checked before any work: the configuration
    /// ([`Config::check`]), the data set against the network (at most `n_L`
    /// classes, images of `n_0` pixels), the task against the data set, the
    /// rule's coefficients (finite), and the meta-gradient's work space for
    /// `M K` steps, which is allocated here.
    pub fn new(rule: Rule<'r, T, N>, data: &Dataset<'_>, config: Config) -> Result<Self, TrainError> {
        config.check(rule.len()).map_err(TrainError::Config)?;
        let entries = rule.entries();
        let twice =
            entries.iter().enumerate().find(|&(i, e)| entries[..i].iter().any(|f| f.term.name() == e.term.name()));
        if let Some((_, e)) = twice {
            return Err(TrainError::Config(ConfigError::DuplicateTerm { name: e.term.name() }));
        }
        if data.classes() > S::OUTPUT {
            return Err(TrainError::Config(ConfigError::Classes { classes: data.classes(), outputs: S::OUTPUT }));
        }
        if data.pixels() != S::INPUT {
            return Err(TrainError::Config(ConfigError::Pixels { pixels: data.pixels(), inputs: S::INPUT }));
        }
        let classes = ClassIndex::new(data);
        config.task.check(&classes).map_err(TrainError::Task)?;
        let mut theta = alloc::vec![T::zero(); rule.len()];
        rule.thetas(&mut theta).map_err(TrainError::State)?;
        if let Some(index) = theta.iter().position(|t| !t.to_f64().is_finite()) {
            return Err(TrainError::State(Error::NonFiniteTheta { index }));
        }
        let mut work = MetaGradient::new(config.interval);
        work.reserve(config.task.steps()).map_err(TrainError::WorkSpace)?;
        let rates = match &config.step_scale {
            StepScale::Uniform => Vec::new(),
            StepScale::Measured => rates_from_magnitudes(&term_magnitudes::<T, S, N>(&rule, data, &config)?),
            StepScale::Given(rates) => rates.clone(),
        };
        let state = State {
            episode: 0,
            theta: theta.iter().map(|t| t.to_f64()).collect(),
            adam: Adam::new(rule.len(), config.lr).map_err(TrainError::Optimizer)?,
            undo: None,
        };
        Ok(Trainer { work, state, rates, config, rule, classes, net: Network::zeros(), act: Activity::zeros() })
    }

    /// Continues a run from a saved state (from [`Trainer::state`]).
    ///
    /// # Errors
    ///
    /// [`TrainError::State`] if a vector of the state has another length
    /// than the rule's, or `Theta` is not finite; the trainer is unchanged.
    pub fn resume(&mut self, state: State) -> Result<(), TrainError> {
        let n = self.rule.len();
        let lengths = |theta: &[f64], adam: &Adam| [theta.len(), adam.m().len(), adam.v().len()];
        let mut all = lengths(&state.theta, &state.adam).to_vec();
        if let Some(u) = &state.undo {
            all.extend(lengths(&u.theta, &u.adam));
            all.push(u.gradient.len());
        }
        if let Some(&found) = all.iter().find(|&&len| len != n) {
            return Err(TrainError::State(Error::BufferLength { what: crate::BufferKind::Theta, expected: n, found }));
        }
        if let Some(index) = state.theta.iter().position(|t| !t.is_finite()) {
            return Err(TrainError::State(Error::NonFiniteTheta { index }));
        }
        self.state = state;
        self.sync_rule()
    }

    /// Everything needed to resume.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The current coefficients.
    pub fn theta(&self) -> &[f64] {
        &self.state.theta
    }

    /// The step-size multiplier of each coefficient (empty: all 1), as
    /// [`StepScale`] gave them.
    pub fn rates(&self) -> &[f64] {
        &self.rates
    }

    /// The rule being trained, with the current coefficients
    /// ([`Trainer::theta`] rounded to `T`): after an episode, those its
    /// optimiser step gave, ready to encode for a device with
    /// [`Trainer::beta`].
    pub fn rule(&self) -> &Rule<'r, T, N> {
        &self.rule
    }

    /// The softplus sharpness `beta` of the trainer's networks (the rule
    /// was learned for it; [`deploy::encode`](crate::deploy::encode) records it).
    pub fn beta(&self) -> T {
        self.net.beta()
    }

    /// Puts the current `Theta` into the rule.
    fn sync_rule(&mut self) -> Result<(), TrainError> {
        let theta: Vec<T> = self.state.theta.iter().map(|&t| T::of(t)).collect();
        self.rule.set_thetas(&theta).map_err(TrainError::State)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Runs the next episode and the optimiser's step. A diverged episode
    /// is handled as [`Config::on_divergence`] says: returned as an error
    /// ([`OnDivergence::Stop`], the episode counter stays), recorded as
    /// skipped, or retried after backing off.
    pub fn episode(&mut self, data: &Dataset<'_>) -> Result<Record, TrainError> {
        let n = self.state.episode;
        let mut retries = 0;
        loop {
            let theta = self.state.theta.clone();
            let error = match self.attempt(data, n)? {
                Ok(done) => {
                    self.step(&done.gradient, 1.0)?;
                    self.state.episode += 1;
                    return Ok(Record {
                        episode: n,
                        ok: true,
                        meta_loss: done.result.meta_loss,
                        query_loss: done.result.query_loss,
                        accuracy: done.result.accuracy,
                        train_loss: done.result.train_loss,
                        retries,
                        theta,
                        gradient: done.gradient,
                        angles: done.angles,
                    });
                }
                Err(error) => error,
            };
            match self.config.on_divergence {
                OnDivergence::Stop => return Err(TrainError::Diverged { episode: n, error }),
                OnDivergence::Skip => {}
                OnDivergence::BackOff(b) => {
                    if retries < b.tries
                        && let Some(undo) = self.state.undo.clone()
                    {
                        retries += 1;
                        self.state.theta = undo.theta;
                        self.state.adam = undo.adam;
                        self.step(&undo.gradient, libm::pow(b.shrink, retries as f64))?;
                        continue;
                    }
                    if let Some(undo) = self.state.undo.take() {
                        self.state.theta = undo.theta;
                        self.state.adam = undo.adam;
                        self.sync_rule()?;
                    }
                }
            }
            self.state.episode += 1;
            return Ok(Record {
                episode: n,
                ok: false,
                meta_loss: f64::NAN,
                query_loss: f64::NAN,
                accuracy: f64::NAN,
                train_loss: f64::NAN,
                retries,
                theta,
                gradient: Vec::new(),
                angles: alloc::vec![f64::NAN; S::DEPTH - 1],
            });
        }
    }

    /// Episode `n` at the current `Theta`: the inner error says it diverged.
    fn attempt(&mut self, data: &Dataset<'_>, n: usize) -> Result<Result<Attempt, EpisodeError>, TrainError> {
        let mut rng = episode_rng(self.config.seed, n);
        let task = self.config.task.draw(&self.classes, &mut rng).map_err(TrainError::Task)?;
        self.net.init(&mut rng, Init::XavierUniform);
        let pathway = AnyPathway::<T, S>::new(self.config.pathway, &mut rng, self.config.feedback_init);
        let theta_t: Vec<T> = self.state.theta.iter().map(|&t| T::of(t)).collect();
        self.rule.set_thetas(&theta_t).map_err(TrainError::State)?;
        let mut grad = alloc::vec![T::zero(); self.rule.len()];
        // With the proximal form, L1 enters through the step, not the gradient.
        let penalty = self.config.penalty;
        let smooth = if self.proximal_l1() > 0.0 { Penalty::None } else { penalty };
        let result = match self.work.run(&mut self.net, &pathway, &self.rule, data, &task, smooth, &mut grad) {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        let result = crate::meta::EpisodeResult { meta_loss: result.query_loss + penalty.value(&theta_t), ..result };
        let angles = alignment(&self.net, &pathway, &mut self.act, data, &task.query);
        Ok(Ok(Attempt { result, gradient: grad.iter().map(|g| g.to_f64()).collect(), angles }))
    }

    /// `lambda` of the proximal L1 step, 0 if there is none.
    fn proximal_l1(&self) -> f64 {
        match (self.config.penalty, self.config.l1) {
            (Penalty::L1(lambda), L1Form::Proximal) => lambda,
            _ => 0.0,
        }
    }

    /// The optimiser's step along `gradient` at `rate` times the learning
    /// rate, remembering how to undo it.
    fn step(&mut self, gradient: &[f64], rate: f64) -> Result<(), TrainError> {
        let scaled: Vec<f64>;
        let rates = if rate == 1.0 {
            &self.rates[..]
        } else {
            let base = |r: usize| self.rates.get(r).copied().unwrap_or(1.0);
            scaled = (0..self.state.theta.len()).map(|r| base(r) * rate).collect();
            &scaled[..]
        };
        let options = StepOptions { mask: &self.config.trainable, rates, l1: self.proximal_l1() };
        let undo = matches!(self.config.on_divergence, OnDivergence::BackOff(_)).then(|| Undo {
            theta: self.state.theta.clone(),
            adam: self.state.adam.clone(),
            gradient: gradient.to_vec(),
        });
        let (adam, theta) = (&mut self.state.adam, &mut self.state.theta);
        match self.config.optimizer {
            Optimizer::Adam => adam.step_with(theta, gradient, options),
            Optimizer::Normalized => adam.step_normalized(theta, gradient, options),
        }
        .map_err(TrainError::Optimizer)?;
        self.state.undo = undo;
        self.sync_rule()
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
