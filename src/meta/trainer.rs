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

use crate::any_pathway::AnyPathway;
use crate::idx::Dataset;
use crate::init::Init;
use crate::meta::adam::{AdamError, StepOptions};
use crate::meta::config::{Config, ConfigError, L1Form, OnDivergence, Optimizer, StepScale};
use crate::meta::gradient::{EpisodeError, WorkSpaceError};
use crate::meta::scale::{rates_from_magnitudes, term_magnitudes};
use crate::meta::task::{TaskError, episode_rng};
use crate::meta::{Adam, ClassIndex, MetaGradient, Penalty};
use crate::online::load;
use crate::rule::Rule;
use crate::{Activity, Backprop, Error, FeedbackPathway, FixedShape, Network, Real, Shape};
use alloc::boxed::Box;
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::SeedableRng;

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
    /// [`Trainer::episode`] was given another data set than the trainer
    /// was made with: its index of the classes would draw wrong tasks.
    OtherData,
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
    /// The optimiser's step took a coefficient beyond the range of the
    /// network's scalar type (a learning rate far too large); the step was
    /// not taken.
    ThetaRange {
        /// The coefficient.
        index: usize,
        /// The value the step gave it (finite in `f64`).
        value: f64,
    },
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Each message says where; its cause is the `source`.
        match self {
            TrainError::Task(_) => write!(f, "tasks cannot be drawn from the data set"),
            TrainError::OtherData => write!(
                f,
                "the data set differs from the one the trainer was made with (its labels are not those the \
                 trainer indexed by class): pass the same data set to every episode"
            ),
            TrainError::Diverged { episode, .. } => {
                write!(f, "episode {episode} diverged; Theta left as it was before it")
            }
            TrainError::State(_) => write!(f, "cannot resume from the saved state"),
            TrainError::Config(_) => write!(f, "invalid configuration"),
            TrainError::WorkSpace(_) => write!(f, "not enough memory for the meta-gradient"),
            TrainError::Optimizer(_) => write!(f, "the optimiser's state is unusable"),
            TrainError::ThetaRange { index, value } => write!(
                f,
                "the optimiser's step would take theta[{index}] to {value:e}, beyond the network's number type; \
                 the step was not taken (is the learning rate too large?)"
            ),
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
            TrainError::ThetaRange { .. } | TrainError::OtherData => None,
        }
    }
}

/// An undo record of the back-off: the state before an accepted optimiser
/// step and the gradient that step used.
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
    /// The last accepted steps, oldest first, for the back-off to undo (at
    /// most [`BackOff::depth`](crate::meta::BackOff::depth); empty without a back-off).
    pub undo: Vec<Undo>,
}

/// A meta-trainer for networks of shape `S` and rules of up to `N` terms.
///
/// Each [`episode`](Trainer::episode) draws a task, learns it online from
/// fresh weights with the current `Theta`, scores the query images and
/// takes one optimiser step along the exact meta-gradient. Here `F^bio` on
/// the shipped 8x8 digits for a few episodes, then the learned rule saved
/// for a device with [`deploy::encode`](crate::deploy::encode) and read back:
///
/// ```
/// use metaplasticity::data::OwnedDataset;
/// use metaplasticity::deploy::{encode, encoded_len, RuleFile};
/// use metaplasticity::meta::{Config, Sampling, TaskSpec, Trainer};
/// use metaplasticity::{shape, Rule};
///
/// type Digits = shape![64, 32, 16, 10];
/// let owned = OwnedDataset::optdigits_shipped()?;
/// let data = owned.view();
/// let config = Config { task: TaskSpec::new(5, 10, 5, Sampling::Disjoint)?, lr: 1e-3, ..Config::default() };
/// let mut trainer = Trainer::<f32, Digits>::new(Rule::bio(), &data, config)?;
/// for _ in 0..3 {
///     let record = trainer.episode(&data)?;
///     assert!(record.ok && record.accuracy >= 0.0 && record.gradient.len() == 3);
/// }
/// assert_ne!(trainer.theta(), &[1e-3, 0.0, 0.0][..], "Theta moved");
/// let mut bytes = vec![0u8; encoded_len(3, trainer.rule().len())];
/// let n = encode(&Digits::default(), trainer.rule(), trainer.beta(), &mut bytes)?;
/// let file = RuleFile::decode(&bytes[..n])?;
/// let back = file.rule::<f32, 3>()?;
/// let mut theta = [0.0f32; 3];
/// back.thetas(&mut theta)?;
/// assert_eq!(theta.map(f64::from), [trainer.theta()[0], trainer.theta()[1], trainer.theta()[2]].map(|t| t as f32 as f64));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Trainer<'r, T, S, const N: usize = 10> {
    config: Config,
    rule: Rule<'r, T, N>,
    pathway: Box<dyn FeedbackPathway<T, S> + Send + 'r>,
    state: State,
    rates: Vec<f64>,
    classes: ClassIndex,
    work: MetaGradient<T, S>,
    net: Network<T, S, alloc::boxed::Box<[T]>>,
    act: Activity<T, S, alloc::boxed::Box<[T]>>,
}

/// What one run of an episode gave, before the optimiser's step.
struct Attempt {
    result: crate::meta::EpisodeResult,
    gradient: Vec<f64>,
    angles: Vec<f64>,
}

impl<'r, T: Real, S: FixedShape, const N: usize> Trainer<'r, T, S, N> {
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
        Self::new_for(S::default(), rule, data, config)
    }

    /// A trainer that meta-learns the rule through `pathway`, any
    /// implementation of [`FeedbackPathway`] (a user's own included), in
    /// place of the built-in one [`Config::pathway`] names (which is then
    /// not used). Every episode starts with
    /// [`pathway.reinit`](FeedbackPathway::reinit) from the episode's random
    /// stream, as the built-in pathways do; otherwise as [`Trainer::new`].
    ///
    /// ```
    /// use metaplasticity::data::OwnedDataset;
    /// use metaplasticity::meta::{Config, Sampling, TaskSpec, Trainer};
    /// use metaplasticity::{shape, Backprop, Rule};
    ///
    /// type Digits = shape![64, 20, 10];
    /// let owned = OwnedDataset::optdigits_shipped()?;
    /// let data = owned.view();
    /// let config = Config { task: TaskSpec::new(5, 4, 2, Sampling::Disjoint)?, ..Config::default() };
    /// let mut trainer = Trainer::<f32, Digits>::with_pathway(Rule::fa(), &data, config, Box::new(Backprop))?;
    /// let record = trainer.episode(&data)?;
    /// assert!(record.ok && record.angles.iter().all(|&a| a.abs() < 1e-3), "backprop aligns with itself");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_pathway(
        rule: Rule<'r, T, N>,
        data: &Dataset<'_>,
        config: Config,
        pathway: Box<dyn FeedbackPathway<T, S> + Send + 'r>,
    ) -> Result<Self, TrainError> {
        Self::with_pathway_for(S::default(), rule, data, config, pathway)
    }
}

impl<'r, T: Real, S: Shape, const N: usize> Trainer<'r, T, S, N> {
    /// [`Trainer::new`] for networks of shape `shape` (a run-time
    /// [`Widths`](crate::Widths), say).
    ///
    /// ```
    /// use metaplasticity::data::OwnedDataset;
    /// use metaplasticity::meta::{Config, Sampling, TaskSpec, Trainer};
    /// use metaplasticity::{Rule, Widths};
    ///
    /// let owned = OwnedDataset::optdigits_shipped()?;
    /// let data = owned.view();
    /// let shape = Widths::new(&[data.pixels(), 24, 10])?;
    /// let config = Config { task: TaskSpec::new(5, 4, 2, Sampling::Disjoint)?, ..Config::default() };
    /// let mut trainer = Trainer::<f32, Widths>::new_for(shape, Rule::fa(), &data, config)?;
    /// assert!(trainer.episode(&data)?.ok);
    /// // A network that cannot read the images is refused before any work.
    /// let wrong = Widths::new(&[784, 24, 10])?;
    /// assert!(Trainer::<f32, Widths>::new_for(wrong, Rule::fa(), &data, Config::default()).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new_for(shape: S, rule: Rule<'r, T, N>, data: &Dataset<'_>, config: Config) -> Result<Self, TrainError> {
        // Its matrices are redrawn at the start of every episode.
        let mut unused = Xoshiro256PlusPlus::seed_from_u64(0);
        let pathway = Box::new(AnyPathway::<T, S>::new_for(shape, config.pathway, &mut unused, config.feedback_init));
        Self::with_pathway_for(shape, rule, data, config, pathway)
    }

    /// [`Trainer::with_pathway`] for networks of shape `shape`; the pathway
    /// must accept it ([`FeedbackPathway::check_shape`]).
    pub fn with_pathway_for(
        shape: S,
        rule: Rule<'r, T, N>,
        data: &Dataset<'_>,
        config: Config,
        pathway: Box<dyn FeedbackPathway<T, S> + Send + 'r>,
    ) -> Result<Self, TrainError> {
        pathway.check_shape(&shape).map_err(TrainError::State)?;
        // Theta: the rule's coefficients, then the pathway's parameters.
        let coefficients = rule.len() + pathway.params().len();
        config.check(coefficients).map_err(TrainError::Config)?;
        let entries = rule.entries();
        let twice =
            entries.iter().enumerate().find(|&(i, e)| entries[..i].iter().any(|f| f.term.name() == e.term.name()));
        if let Some((_, e)) = twice {
            return Err(TrainError::Config(ConfigError::DuplicateTerm { name: e.term.name() }));
        }
        if data.classes() > shape.output() {
            return Err(TrainError::Config(ConfigError::Classes { classes: data.classes(), outputs: shape.output() }));
        }
        if data.pixels() != shape.input() {
            return Err(TrainError::Config(ConfigError::Pixels { pixels: data.pixels(), inputs: shape.input() }));
        }
        let classes = ClassIndex::new(data);
        config.task.check(&classes).map_err(TrainError::Task)?;
        let mut theta = alloc::vec![T::zero(); rule.len()];
        rule.thetas(&mut theta).map_err(TrainError::State)?;
        theta.extend_from_slice(pathway.params());
        if let Some(index) = theta.iter().position(|t| !t.to_f64().is_finite()) {
            return Err(TrainError::State(Error::NonFiniteTheta { index }));
        }
        let mut work = MetaGradient::new_for(shape, config.interval).with_reversal(config.reversal);
        work.reserve(config.task.steps()).map_err(TrainError::WorkSpace)?;
        let rates = match &config.step_scale {
            StepScale::Uniform => Vec::new(),
            StepScale::Measured => {
                let mut rates =
                    rates_from_magnitudes(&term_magnitudes(&shape, &rule, data, &config).map_err(TrainError::Task)?);
                // The pathway's parameters keep Adam's rate.
                rates.resize(coefficients, 1.0);
                rates
            }
            StepScale::Given(rates) => rates.clone(),
        };
        let state = State {
            episode: 0,
            theta: theta.iter().map(|t| t.to_f64()).collect(),
            adam: Adam::new(coefficients, config.lr).map_err(TrainError::Optimizer)?,
            undo: Vec::new(),
        };
        Ok(Trainer {
            work,
            state,
            rates,
            config,
            rule,
            pathway,
            classes,
            net: Network::zeros_for(shape),
            act: Activity::zeros_for(shape),
        })
    }

    /// Continues a run from a saved state (from [`Trainer::state`]). Of
    /// the back-off's history ([`State::undo`]) the newest
    /// [`BackOff::depth`](crate::meta::BackOff::depth) steps are kept (none
    /// without a back-off).
    ///
    /// # Errors
    ///
    /// [`TrainError::State`] if a vector of the state has another length
    /// than the rule's, or `Theta` is not finite; the trainer is unchanged.
    pub fn resume(&mut self, state: State) -> Result<(), TrainError> {
        let n = self.rule.len() + self.pathway.params().len();
        let lengths = |theta: &[f64], adam: &Adam| [theta.len(), adam.m().len(), adam.v().len()];
        let mut all = lengths(&state.theta, &state.adam).to_vec();
        for u in &state.undo {
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
        // A history from a run with a deeper back-off keeps its newest steps.
        let depth = match self.config.on_divergence {
            OnDivergence::BackOff(b) => b.depth,
            _ => 0,
        };
        let extra = self.state.undo.len().saturating_sub(depth);
        self.state.undo.drain(..extra);
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

    /// The shape of the trainer's networks (the rule was learned for it;
    /// [`deploy::encode`](crate::deploy::encode) records it).
    pub fn shape(&self) -> &S {
        self.net.shape()
    }

    /// Puts the current `Theta` into the rule and the pathway's parameters.
    fn sync_rule(&mut self) -> Result<(), TrainError> {
        let theta: Vec<T> = self.state.theta.iter().map(|&t| T::of(t)).collect();
        let (rule, params) = theta.split_at(self.rule.len().min(theta.len()));
        self.rule.set_thetas(rule).map_err(TrainError::State)?;
        self.pathway.set_params(params).map_err(TrainError::State)
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
                    self.step(theta.clone(), self.state.adam.clone(), &done.gradient, 1.0, false)?;
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
                        && let Some(undo) = self.state.undo.last().cloned()
                    {
                        // The newest step, retaken smaller from where it started.
                        retries += 1;
                        self.step(undo.theta, undo.adam, &undo.gradient, libm::pow(b.shrink, retries as f64), true)?;
                        continue;
                    }
                    // Rejected: back to before the step; the one before it
                    // (if the history holds one) is what the next diverged
                    // episode undoes.
                    if let Some(undo) = self.state.undo.pop() {
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
                angles: alloc::vec![f64::NAN; self.net.shape().depth() - 1],
            });
        }
    }

    /// Episode `n` at the current `Theta`: the inner error says it diverged.
    fn attempt(&mut self, data: &Dataset<'_>, n: usize) -> Result<Result<Attempt, EpisodeError>, TrainError> {
        if !self.classes.indexes(data) {
            return Err(TrainError::OtherData);
        }
        let mut rng = episode_rng(self.config.seed, n);
        let task = self.config.task.draw(&self.classes, &mut rng).map_err(TrainError::Task)?;
        self.net.init(&mut rng, Init::XavierUniform);
        self.pathway.reinit(&mut rng, self.config.feedback_init);
        self.sync_rule()?;
        let theta_t: Vec<T> = self.state.theta.iter().take(self.rule.len()).map(|&t| T::of(t)).collect();
        let mut grad = alloc::vec![T::zero(); self.state.theta.len()];
        // With the proximal form, L1 enters through the step, not the gradient.
        let penalty = self.config.penalty;
        let smooth = if self.proximal_l1() > 0.0 { Penalty::None } else { penalty };
        let result = match self.work.run(&mut self.net, &mut *self.pathway, &self.rule, data, &task, smooth, &mut grad)
        {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        let result = crate::meta::EpisodeResult { meta_loss: result.query_loss + penalty.value(&theta_t), ..result };
        let angles = alignment(&self.net, &*self.pathway, &mut self.act, data, &task.query);
        Ok(Ok(Attempt { result, gradient: grad.iter().map(|g| g.to_f64()).collect(), angles }))
    }

    /// `lambda` of the proximal L1 step, 0 if there is none.
    fn proximal_l1(&self) -> f64 {
        match (self.config.penalty, self.config.l1) {
            (Penalty::L1(lambda), L1Form::Proximal) => lambda,
            _ => 0.0,
        }
    }

    /// The optimiser's step from `theta` and `adam` along `gradient` at
    /// `rate` times the learning rate; the result becomes the state, and the
    /// step is remembered for the back-off (in place of the newest one if
    /// `retake`). A step refused here leaves the state as it was.
    fn step(
        &mut self,
        theta: Vec<f64>,
        adam: Adam,
        gradient: &[f64],
        rate: f64,
        retake: bool,
    ) -> Result<(), TrainError> {
        let scaled: Vec<f64>;
        let rates = if rate == 1.0 {
            &self.rates[..]
        } else {
            let base = |r: usize| self.rates.get(r).copied().unwrap_or(1.0);
            scaled = (0..theta.len()).map(|r| base(r) * rate).collect();
            &scaled[..]
        };
        let options =
            StepOptions { mask: &self.config.trainable, rates, l1: self.proximal_l1(), l1_len: self.rule.len() };
        let (mut next_adam, mut next_theta) = (adam.clone(), theta.clone());
        match self.config.optimizer {
            Optimizer::Adam => next_adam.step_with(&mut next_theta, gradient, options),
            Optimizer::Normalized => next_adam.step_normalized(&mut next_theta, gradient, options),
        }
        .map_err(TrainError::Optimizer)?;
        if let Some((index, &value)) = next_theta.iter().enumerate().find(|&(_, &t)| !T::of(t).to_f64().is_finite()) {
            return Err(TrainError::ThetaRange { index, value });
        }
        self.state.theta = next_theta;
        self.state.adam = next_adam;
        if let OnDivergence::BackOff(b) = self.config.on_divergence {
            if retake {
                self.state.undo.pop();
            }
            if self.state.undo.len() == b.depth {
                self.state.undo.remove(0);
            }
            self.state.undo.push(Undo { theta, adam, gradient: gradient.to_vec() });
        }
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
    let shape = *net.shape();
    let hidden = shape.depth() - 1;
    let width = |l: usize| shape.width(l);
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

/// The angle between two vectors, in degrees (NaN if either is zero or
/// their lengths differ).
pub fn angle(a: &[f64], b: &[f64]) -> f64 {
    if a.len() != b.len() {
        return f64::NAN;
    }
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = libm::sqrt(a.iter().map(|x| x * x).sum());
    let nb = libm::sqrt(b.iter().map(|x| x * x).sum());
    if na == 0.0 || nb == 0.0 {
        return f64::NAN;
    }
    libm::acos((dot / (na * nb)).clamp(-1.0, 1.0)).to_degrees()
}
