//! Command-line options of `metaplasticity meta-train`.

use std::error::Error;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use metaplasticity::data::{OwnedDataset, Split};
use metaplasticity::idx::{Dataset, Orientation};
use metaplasticity::meta::{
    BackOff, Config, L1Form, OnDivergence, Optimizer, Penalty, Reversal, Sampling, StepScale, TaskSpec,
};
use metaplasticity::{Init, PathwayKind, Real, Rule, Widths};
use serde::{Deserialize, Serialize};

use crate::parse::{fraction, non_negative_real, positive, positive_real};

/// Meta-learn the coefficients Theta of a plasticity rule so that a network
/// learning online through random feedback approaches backprop
/// (Shervani-Tabar & Rosenbaum, Nat. Commun. 2023).
///
/// Each episode draws M classes with K training and Q query images each,
/// re-initialises the network (the paper's 784-170-130-100-70-C unless
/// --widths says otherwise) and its feedback, lets it
/// learn the M*K training images one at a time with the rule, and takes an
/// Adam step on Theta along the exact gradient of the query loss.
#[derive(Parser, Debug, Clone, Serialize, Deserialize)]
#[command(after_help = AFTER_HELP, allow_negative_numbers = true)]
pub struct Args {
    /// Data set: the MNIST digits shipped in data/, the 8x8 optdigits shipped
    /// in data/, Fashion-MNIST from the Debian package dataset-fashion-mnist,
    /// or any IDX pair (--images, --labels).
    #[arg(long, value_enum, default_value_t = DataChoice::Mnist)]
    pub data: DataChoice,
    /// The network's widths n_0,n_1,...,n_L, input first, classes last
    /// (2 to 16 widths): n_0 must be the data's pixels per image and n_L at
    /// least its classes. Default: the paper's hidden widths 170,130,100,70
    /// between the data's pixels and classes (784,170,130,100,70,10 on MNIST).
    #[arg(long, value_delimiter = ',', value_parser = positive)]
    #[serde(default)]
    pub widths: Option<Vec<usize>>,
    /// IDX image file (plain or .gz) for --data idx.
    #[arg(long)]
    pub images: Option<PathBuf>,
    /// IDX label file (plain or .gz) for --data idx.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// The IDX images are stored transposed, as in EMNIST.
    #[arg(long)]
    pub transposed: bool,
    /// The rule: fa, bp, dfa (F^0 alone through that pathway), ehebb
    /// (F^0, F^2), oja (F^0, F^9), bio (F^0, F^2, F^9), pool (F^0..F^9), or
    /// a comma-separated list of term numbers such as 0,2,9.
    #[arg(long, default_value = "bio")]
    pub rule: String,
    /// Feedback pathway, overriding the rule's (fa, bp and dfa set their own;
    /// the others use feedback alignment).
    #[arg(long, value_enum)]
    pub feedback: Option<Feedback>,
    /// Initial Theta, one value per term of the rule (default: theta_0 = 1e-3,
    /// others 0); with --feedback kp, optionally two more: the initial
    /// eta_B and lambda_B (default 1e-3 and 1e-4).
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub theta: Option<Vec<f64>>,
    /// Coefficients to keep fixed, by position in the rule (e.g. 0 keeps theta_0 fixed).
    #[arg(long, value_delimiter = ',')]
    pub freeze: Vec<usize>,
    /// Number of meta-training episodes (at least 1).
    #[arg(long, default_value_t = 600, value_parser = positive)]
    pub episodes: usize,
    /// Classes per task (M, at least 1).
    #[arg(short = 'M', long = "classes", default_value_t = 5, value_parser = positive)]
    pub classes: usize,
    /// Training images per class (K, at least 1): the network learns M*K
    /// images online.
    #[arg(short = 'K', long = "train", default_value_t = 50, value_parser = positive)]
    pub train: usize,
    /// Query images per class (Q, at least 1): the meta-loss is their
    /// cross-entropy.
    #[arg(short = 'Q', long = "query", default_value_t = 10, value_parser = positive)]
    pub query: usize,
    /// disjoint: M distinct classes and fresh random images each episode;
    /// reference: as the public reference code (classes with replacement,
    /// always the first K+Q images of a class).
    #[arg(long, value_enum, default_value_t = SamplingChoice::Disjoint)]
    pub sampling: SamplingChoice,
    /// Penalty on Theta added to the meta-loss: none, l1 (lambda ||Theta||_1,
    /// Eq. 6) or l2 (lambda ||Theta||_2, Eq. S.16).
    #[arg(long, value_enum, default_value_t = PenaltyChoice::None)]
    pub penalty: PenaltyChoice,
    /// Strength lambda of the penalty (finite, at least 0; needs --penalty).
    #[arg(long, default_value_t = 1e-3, requires = "penalty", allow_hyphen_values = true, value_parser = non_negative_real)]
    pub lambda: f64,
    /// Adam's learning rate on Theta (finite, above 0).
    #[arg(long, default_value_t = 1e-3, allow_hyphen_values = true, value_parser = positive_real)]
    pub lr: f64,
    /// Seed of every random draw (tasks, weights, feedback).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Distribution of the feedback matrices (supplementary note 7).
    #[arg(long, value_enum, default_value_t = FeedbackInit::Uniform)]
    pub feedback_init: FeedbackInit,
    /// Keep the weights every this many online steps for the meta-gradient
    /// (memory against recomputation; the gradient does not depend on it;
    /// at least 1, and an interval past M*K costs the same as M*K).
    #[arg(long, default_value_t = 16, value_parser = positive)]
    pub checkpoint_interval: usize,
    /// How the meta-gradient gets back the weights of each online step:
    /// recompute each segment from its checkpoint (exact, bit for bit), or
    /// invert the updates in place from the segment's end (equal up to
    /// rounding, 2e-7 relative in the tests; in the README's bench runs
    /// from 4% slower to 6% faster for F^0, 3% to 23% faster for F^bio and
    /// 10% to 15% for the pool, at this machine's noise; a large
    /// weight decay F^3 is partly recomputed, terms of your own always).
    #[arg(long, value_enum, default_value_t = ReversalChoice::Recompute)]
    #[serde(default)]
    pub reversal: ReversalChoice,
    /// What to do if an episode diverges (non-finite weights or gradient):
    /// stop; skip the episode and keep Theta; or back-off: undo the step that
    /// led there, retry it smaller (--backoff-shrink, --backoff-tries,
    /// --backoff-depth) and rerun the episode. [default: stop, --robust:
    /// back-off]
    #[arg(long, value_enum)]
    pub on_divergence: Option<DivergenceChoice>,
    /// The robust meta-optimiser for pools whose terms differ in size by
    /// orders of magnitude (such as --rule pool): --optimizer normalized,
    /// --step-scale measured, --l1 proximal and --on-divergence back-off,
    /// unless given otherwise.
    /// Without it, plain Adam as in the paper.
    #[arg(long)]
    #[serde(default)]
    pub robust: bool,
    /// Step size of each coefficient relative to --lr: uniform (the paper:
    /// every theta moves at Adam's rate), measured (each term's size
    /// relative to the first term's is measured on episode 0 and terms
    /// larger than it are slowed to its rate), or one positive factor per
    /// term such as 1,0.2,0.05. [default: uniform, --robust: measured]
    #[arg(long)]
    #[serde(default)]
    pub step_scale: Option<String>,
    /// How an L1 penalty is applied: subgradient (added to the
    /// meta-gradient, the paper) or proximal (soft-thresholding after each
    /// Adam step, so unneeded coefficients become exactly zero).
    /// [default: subgradient, --robust: proximal]
    #[arg(long, value_enum)]
    #[serde(default)]
    pub l1: Option<L1Choice>,
    /// The update rule: adam (the paper) or normalized (momentum on the
    /// gradient scaled to unit length: coefficients with tiny gradients move
    /// little, no step exceeds --lr). [default: adam, --robust: normalized]
    #[arg(long, value_enum)]
    #[serde(default)]
    pub optimizer: Option<OptimizerChoice>,
    /// Back-off: factor on the learning rate at each retry, strictly
    /// between 0 and 1.
    #[arg(long, default_value_t = 0.5, allow_hyphen_values = true, value_parser = fraction)]
    #[serde(default = "default_shrink")]
    pub backoff_shrink: f64,
    /// Back-off: retries of a diverged episode before it is skipped, at
    /// least 1.
    #[arg(long, default_value_t = 4, value_parser = positive)]
    #[serde(default = "default_tries")]
    pub backoff_tries: usize,
    /// Back-off: accepted steps kept to undo, at least 1. With 1, a
    /// rejected step leaves nothing to undo and a run that keeps diverging
    /// stays where it is; with more, each further rejection walks one more
    /// step back along the run's path.
    #[arg(long, default_value_t = 1, value_parser = positive)]
    #[serde(default = "default_depth")]
    pub backoff_depth: usize,
    /// Output folder for episodes.csv, baseline.csv, summary.json and the
    /// learned rule (rule.mprl, rule.rs). A folder that holds any of them
    /// is left alone unless --resume or --overwrite is given.
    #[arg(long, default_value = "out/meta_train")]
    pub out: PathBuf,
    /// Continue the run saved in the output folder (same options).
    #[arg(long, conflicts_with = "overwrite")]
    pub resume: bool,
    /// Replace the results of an earlier run in the output folder (without
    /// it, a folder that holds a run is left alone).
    #[arg(long)]
    #[serde(default)]
    pub overwrite: bool,
    /// Do not meta-train F^0 with feedback alignment alongside as a baseline.
    #[arg(long)]
    pub no_baseline: bool,
}

fn default_shrink() -> f64 {
    0.5
}

fn default_tries() -> usize {
    4
}

fn default_depth() -> usize {
    1
}

const AFTER_HELP: &str = "Examples (each into its own --out: a folder that holds a run is left alone):
  metaplasticity meta-train                    F^bio on the shipped MNIST digits, 600 episodes
  metaplasticity meta-train --rule pool --robust --penalty l1 --lambda 1 --out out/pool
                                               discovery: all ten terms, L1 picks the few that matter
  metaplasticity meta-train --rule pool --penalty l1 --lambda 1e-3 --out out/pool-adam
                                               the paper's plain Adam (collapses, see docs)
  metaplasticity meta-train --data fashion --rule oja --out out/fashion
  metaplasticity meta-train --data idx --images emnist-balanced-train-images-idx3-ubyte.gz \\
                            --labels emnist-balanced-train-labels-idx1-ubyte.gz --transposed --out out/emnist";

/// Which data set.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DataChoice {
    /// 10,000 MNIST digits shipped with the crate.
    Mnist,
    /// 1,797 8x8 handwritten digits (UCI optdigits) shipped with the crate.
    Optdigits,
    /// Fashion-MNIST training set (apt-get install -y dataset-fashion-mnist).
    Fashion,
    /// An IDX pair given by --images and --labels.
    Idx,
}

/// A feedback pathway.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Feedback {
    /// Feedback alignment (fixed random B).
    Fa,
    /// Backprop (B = W^T).
    Bp,
    /// Direct feedback alignment (fixed random D from the output error).
    Dfa,
    /// Uniform sign-concordant feedback (B = c sign(W)^T, uSF).
    Usf,
    /// Sign-concordant feedback with fixed random magnitudes (B = |R| ⊙ sign(W)^T, frSF).
    Frsf,
    /// Sign-concordant feedback with random magnitudes redrawn at every
    /// online step (B = |R^t| ⊙ sign(W)^T, brSF).
    Brsf,
    /// Kolen-Pollack: B learns the transpose of the forward pseudo-gradient
    /// update and decays, B <- (1 - lambda_B) B - eta_B y e^T; eta_B and
    /// lambda_B (initially 1e-3 and 1e-4, or the last two values of
    /// --theta) are meta-learned after the rule's coefficients.
    Kp,
}

/// Task sampling.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SamplingChoice {
    /// Distinct classes, random disjoint images.
    Disjoint,
    /// As the public reference implementation.
    Reference,
}

/// Penalty.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PenaltyChoice {
    /// None.
    None,
    /// L1.
    L1,
    /// L2.
    L2,
}

/// How the meta-gradient gets back the weights of each step.
#[derive(ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReversalChoice {
    /// Recompute from checkpoints (exact)
    #[default]
    Recompute,
    /// Invert the updates in place (equal up to rounding)
    Invert,
}

impl From<ReversalChoice> for Reversal {
    fn from(choice: ReversalChoice) -> Reversal {
        match choice {
            ReversalChoice::Recompute => Reversal::Recompute,
            ReversalChoice::Invert => Reversal::Invert,
        }
    }
}

/// Feedback initialisation.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FeedbackInit {
    /// Xavier-uniform.
    Uniform,
    /// Xavier-normal.
    Normal,
}

/// On divergence.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DivergenceChoice {
    /// Stop with an error.
    Stop,
    /// Skip the episode.
    Skip,
    /// Undo the last step, retry it smaller.
    BackOff,
}

/// The meta-optimiser's update rule.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OptimizerChoice {
    /// Adam.
    Adam,
    /// Normalised momentum.
    Normalized,
}

/// The form of the L1 penalty.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum L1Choice {
    /// Subgradient in the meta-gradient.
    Subgradient,
    /// Proximal step (exact zeros).
    Proximal,
}

impl Args {
    /// Loads the chosen data set.
    pub fn dataset(&self) -> Result<OwnedDataset, Box<dyn Error>> {
        if self.data != DataChoice::Idx && (self.images.is_some() || self.labels.is_some() || self.transposed) {
            return Err("--images, --labels and --transposed are for --data idx (they would be ignored)".into());
        }
        Ok(match self.data {
            DataChoice::Mnist => crate::shipped::mnist()?,
            DataChoice::Optdigits => crate::shipped::optdigits()?,
            DataChoice::Fashion => OwnedDataset::fashion_mnist(Split::Train)?,
            DataChoice::Idx => {
                let (Some(images), Some(labels)) = (&self.images, &self.labels) else {
                    return Err("--data idx needs --images and --labels".into());
                };
                let orientation = if self.transposed { Orientation::Transposed } else { Orientation::RowMajor };
                OwnedDataset::load(images, labels, orientation, None)?
            }
        })
    }

    /// The network for `data`: `--widths`, checked against the data, or
    /// the paper's hidden widths between its pixels and classes.
    pub fn shape(&self, data: &Dataset<'_>) -> Result<Widths, Box<dyn Error>> {
        crate::parse::network(self.widths.as_deref(), data)
    }

    /// The rule with its initial Theta, and its pathway.
    pub fn rule<T: Real>(&self) -> Result<(Rule<'static, T>, PathwayKind), Box<dyn Error>> {
        let (mut rule, mut kind) = Rule::named(&self.rule).map_err(|e| format!("--rule {:?}: {e}", self.rule))?;
        if let Some(f) = self.feedback {
            kind = match f {
                Feedback::Fa => PathwayKind::Alignment,
                Feedback::Bp => PathwayKind::Backprop,
                Feedback::Dfa => PathwayKind::Direct,
                Feedback::Usf => PathwayKind::SignSymmetric,
                Feedback::Frsf => PathwayKind::RandomSignSymmetric,
                Feedback::Brsf => PathwayKind::RedrawnSignSymmetric,
                Feedback::Kp => PathwayKind::KolenPollack,
            };
        }
        if let Some(theta) = &self.theta {
            let theta: Vec<T> = theta.iter().map(|&t| T::of(t)).collect();
            let terms = if kind == PathwayKind::KolenPollack && theta.len() == rule.len() + 2 {
                rule.len()
            } else {
                theta.len()
            };
            rule.set_thetas(&theta[..terms]).map_err(|e| format!("--theta: {e}"))?;
        }
        Ok((rule, kind))
    }

    /// The initial parameters of a plastic pathway given after the rule's
    /// coefficients in --theta (`terms` of them), if any.
    pub fn pathway_params(&self, terms: usize) -> Option<Vec<f64>> {
        self.theta.as_ref().filter(|t| t.len() > terms).map(|t| t[terms..].to_vec())
    }

    /// The trainer's configuration (the pathway is set by the caller):
    /// the library's [`Config::robust`] with --robust, the paper's
    /// [`Config::default`] without, then every choice given on the command
    /// line.
    pub fn config(&self, terms: usize) -> Result<Config, Box<dyn Error>> {
        if let Some(&r) = self.freeze.iter().find(|&&r| r >= terms) {
            return Err(format!("--freeze {r}: the rule has {terms} coefficients").into());
        }
        let base = Config {
            task: TaskSpec {
                classes: self.classes,
                train: self.train,
                query: self.query,
                sampling: match self.sampling {
                    SamplingChoice::Disjoint => Sampling::Disjoint,
                    SamplingChoice::Reference => Sampling::Reference,
                },
            },
            penalty: match self.penalty {
                PenaltyChoice::None => Penalty::None,
                PenaltyChoice::L1 => Penalty::L1(self.lambda),
                PenaltyChoice::L2 => Penalty::L2(self.lambda),
            },
            lr: self.lr,
            pathway: PathwayKind::Alignment,
            feedback_init: match self.feedback_init {
                FeedbackInit::Uniform => Init::XavierUniform,
                FeedbackInit::Normal => Init::XavierNormal,
            },
            interval: self.checkpoint_interval,
            reversal: self.reversal.into(),
            seed: self.seed,
            trainable: (0..terms).map(|r| !self.freeze.contains(&r)).collect(),
            ..Config::default()
        };
        let mut config = if self.robust { base.robust() } else { base };
        if let Some(choice) = self.on_divergence {
            config.on_divergence = match choice {
                DivergenceChoice::Stop => OnDivergence::Stop,
                DivergenceChoice::Skip => OnDivergence::Skip,
                DivergenceChoice::BackOff => OnDivergence::BackOff(BackOff::default()),
            };
        }
        // The values were checked when parsed (`parse::fraction`, `positive`).
        if let OnDivergence::BackOff(backoff) = &mut config.on_divergence {
            *backoff = BackOff { shrink: self.backoff_shrink, tries: self.backoff_tries, depth: self.backoff_depth };
        } else if (self.backoff_shrink, self.backoff_tries, self.backoff_depth)
            != (default_shrink(), default_tries(), default_depth())
        {
            return Err("--backoff-shrink, --backoff-tries and --backoff-depth apply to --on-divergence back-off \
                        (the default with --robust); this run would ignore them"
                .into());
        }
        if self.l1.is_some() && self.penalty != PenaltyChoice::L1 {
            return Err("--l1 says how an L1 penalty is applied: it needs --penalty l1".into());
        }
        if let Some(given) = &self.step_scale {
            config.step_scale = StepScale::named(given, terms).map_err(|e| format!("--step-scale {given:?}: {e}"))?;
        }
        if let Some(l1) = self.l1 {
            config.l1 = match l1 {
                L1Choice::Subgradient => L1Form::Subgradient,
                L1Choice::Proximal => L1Form::Proximal,
            };
        }
        if let Some(optimizer) = self.optimizer {
            config.optimizer = match optimizer {
                OptimizerChoice::Adam => Optimizer::Adam,
                OptimizerChoice::Normalized => Optimizer::Normalized,
            };
        }
        Ok(config)
    }
}
