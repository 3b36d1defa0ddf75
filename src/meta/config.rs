//! Settings of a meta-training run ([`Config`]) and how they are checked
//! ([`ConfigError`]): the paper's plain Adam by default, the robust
//! meta-optimiser's parts ([`Config::robust`]) each a setting of its own.

use alloc::vec::Vec;
use core::fmt;

use crate::any_pathway::PathwayKind;
use crate::init::Init;
use crate::meta::{Penalty, Reversal, TaskSpec};

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
/// is recorded as skipped.
///
/// The trainer keeps the last `depth` accepted steps. With `depth = 1` (the
/// default) an episode with no step before it to undo (the first, or the
/// one after a rejection) is skipped, and `Theta` stays where it is. With a
/// deeper history a rejection leaves the step before it to undo, so a run
/// that keeps diverging walks back along its own path, one step per
/// rejection, up to `depth` steps. Why: with `depth = 1`, 2 of 10 trials of
/// the robust pool without a penalty drifted into a region where most tasks
/// diverge and stayed there (seed 4: 215 diverged episodes after episode
/// 367; `docs/REPRODUCTION.md`, Fig. S5). The smaller rate serves
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
    /// Accepted steps kept to undo, at least 1.
    pub depth: usize,
}

impl Default for BackOff {
    fn default() -> Self {
        BackOff { shrink: 0.5, tries: 4, depth: 1 }
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

impl StepScale {
    /// The step sizes as the tool's `--step-scale` names them: `uniform`,
    /// `measured`, or `terms` positive numbers separated by commas.
    ///
    /// ```
    /// use metaplasticity::meta::StepScale;
    /// assert_eq!(StepScale::named("measured", 3), Ok(StepScale::Measured));
    /// assert_eq!(StepScale::named("1, 0.5", 2), Ok(StepScale::Given(vec![1.0, 0.5])));
    /// assert!(StepScale::named("1,0.5", 3).unwrap_err().contains("3 positive numbers"));
    /// ```
    ///
    /// # Errors
    ///
    /// What was expected, in words, for anything else.
    pub fn named(spec: &str, terms: usize) -> Result<Self, alloc::string::String> {
        Ok(match spec {
            "uniform" => StepScale::Uniform,
            "measured" => StepScale::Measured,
            list => {
                let rates: Option<Vec<f64>> = list.split(',').map(|v| v.trim().parse::<f64>().ok()).collect();
                match rates {
                    Some(r) if r.len() == terms && r.iter().all(|v| v.is_finite() && *v > 0.0) => StepScale::Given(r),
                    _ => {
                        return Err(alloc::format!(
                            "expected uniform, measured or {terms} positive numbers separated by commas"
                        ));
                    }
                }
            }
        })
    }
}

/// The update rule of the meta-optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Optimizer {
    /// Adam (the paper).
    #[default]
    Adam,
    /// Normalised momentum ([`Adam::step_normalized`](crate::meta::Adam::step_normalized)): relative gradient
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
    /// How the meta-gradient gets back the weights of each step: recomputed
    /// from checkpoints (the default, bit for bit) or walked back in place.
    pub reversal: Reversal,
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
    /// data set by [`Trainer::new`](crate::meta::Trainer::new)).
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
            && !(b.shrink > 0.0 && b.shrink < 1.0 && b.tries >= 1 && b.depth >= 1)
        {
            return Err(ConfigError::BackOff { shrink: b.shrink, tries: b.tries, depth: b.depth });
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
    /// [`BackOff`] needs `0 < shrink < 1`, `tries >= 1` and `depth >= 1`.
    BackOff {
        /// The factor given.
        shrink: f64,
        /// The tries given.
        tries: usize,
        /// The depth given.
        depth: usize,
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
            ConfigError::BackOff { shrink, tries, depth } => write!(
                f,
                "the back-off has shrink {shrink}, {tries} tries and depth {depth}; it needs 0 < shrink < 1, \
                 at least one try and a depth of at least one step"
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
            reversal: Reversal::Recompute,
            seed: 0,
            trainable: Vec::new(),
            on_divergence: OnDivergence::Stop,
            step_scale: StepScale::Uniform,
            l1: L1Form::Subgradient,
            optimizer: Optimizer::Adam,
        }
    }
}
