//! The meta-trainer with the options of `metaplasticity meta-train`,
//! turned into a `Config` and a `Rule` exactly as
//! `cli/src/meta_train/options.rs` (`Args::config`, `Args::rule`) does, so
//! the same options give the same episodes, bit for bit.

use std::sync::{Mutex, MutexGuard};

use metaplasticity::idx::Dataset;
use metaplasticity::meta::{
    BackOff, Config, L1Form, OnDivergence, Optimizer, Penalty, Record, Reversal, Sampling, StepScale, TaskSpec,
    TrainError, Trainer,
};
use metaplasticity::{PathwayKind, Shape, Widths, deploy};
use numpy::{PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::data::{Data, label_bytes};
use crate::errors::{diverged, invalid, value_error};
use crate::rules::{self, Rule32};

/// The paper's hidden widths (784-170-130-100-70-10), as the tool's default.
const PAPER_HIDDEN: [usize; 4] = [170, 130, 100, 70];

/// The options of `metaplasticity meta-train`, by the same names.
struct Options {
    widths: Option<Vec<usize>>,
    rule: String,
    feedback: Option<String>,
    theta: Option<Vec<f64>>,
    layers: Option<Vec<Option<Vec<usize>>>>,
    freeze: Vec<usize>,
    classes: usize,
    train: usize,
    query: usize,
    sampling: String,
    penalty: String,
    lambda: f64,
    lr: f64,
    seed: u64,
    feedback_init: String,
    checkpoint_interval: usize,
    reversal: String,
    on_divergence: Option<String>,
    robust: bool,
    step_scale: Option<String>,
    l1: Option<String>,
    optimizer: Option<String>,
    backoff_shrink: f64,
    backoff_tries: usize,
    backoff_depth: usize,
}

impl Options {
    /// The network for `data`: `widths` checked against it, or the
    /// paper's hidden widths between its pixels and classes
    /// (`cli/src/parse.rs`, `network`).
    fn shape(&self, data: &Dataset<'_>) -> PyResult<Widths> {
        let (pixels, classes) = (data.pixels(), data.classes());
        let chosen: Vec<usize> = match &self.widths {
            Some(w) => w.clone(),
            None => std::iter::once(pixels).chain(PAPER_HIDDEN).chain(std::iter::once(classes)).collect(),
        };
        let shape = crate::network::widths(&chosen)?;
        let (first, last) = (chosen[0], chosen[chosen.len() - 1]);
        if first != pixels {
            return Err(invalid(format!(
                "widths {chosen:?}: the input width {first} is not the data's {pixels} pixels per image (start with {pixels})"
            )));
        }
        if last < classes {
            return Err(invalid(format!(
                "widths {chosen:?}: {last} output units cannot name the data's {classes} classes (end with {classes})"
            )));
        }
        Ok(shape)
    }

    /// The rule with its initial Theta, and its pathway (`Args::rule`).
    fn rule(&self, depth: usize) -> PyResult<(Rule32, PathwayKind)> {
        let (rule, mut kind) = rules::named(&self.rule)?;
        if let Some(f) = &self.feedback {
            kind = rules::pathway(f)?;
        }
        let rule = rules::configure(rule, self.theta.as_deref(), self.layers.as_deref(), depth)?;
        Ok((rule, kind))
    }

    /// The trainer's configuration (`Args::config`; the pathway is set by
    /// the caller): the library's [`Config::robust`] with `robust`, the
    /// paper's [`Config::default`] without, then every choice given.
    fn config(&self, terms: usize) -> PyResult<Config> {
        if let Some(&r) = self.freeze.iter().find(|&&r| r >= terms) {
            return Err(invalid(format!("freeze {r}: the rule has {terms} coefficients")));
        }
        if !(self.lr.is_finite() && self.lr > 0.0 && self.lambda.is_finite() && self.lambda >= 0.0) {
            return Err(invalid("lr must be positive and lambda_ non-negative"));
        }
        let choice = |what: &str, given: &str, options: &[&str]| {
            invalid(format!("{what} {given:?}: expected one of {}", options.join(", ")))
        };
        let base = Config {
            task: TaskSpec {
                classes: self.classes,
                train: self.train,
                query: self.query,
                sampling: match self.sampling.as_str() {
                    "disjoint" => Sampling::Disjoint,
                    "reference" => Sampling::Reference,
                    other => return Err(choice("sampling", other, &["disjoint", "reference"])),
                },
            },
            penalty: match self.penalty.as_str() {
                "none" => Penalty::None,
                "l1" => Penalty::L1(self.lambda),
                "l2" => Penalty::L2(self.lambda),
                other => return Err(choice("penalty", other, &["none", "l1", "l2"])),
            },
            lr: self.lr,
            pathway: PathwayKind::Alignment,
            feedback_init: crate::network::init(&self.feedback_init)?,
            interval: self.checkpoint_interval,
            reversal: match self.reversal.as_str() {
                "recompute" => Reversal::Recompute,
                "invert" => Reversal::Invert,
                other => return Err(choice("reversal", other, &["recompute", "invert"])),
            },
            seed: self.seed,
            trainable: (0..terms).map(|r| !self.freeze.contains(&r)).collect(),
            ..Config::default()
        };
        let mut config = if self.robust { base.robust() } else { base };
        if let Some(given) = self.on_divergence.as_deref() {
            config.on_divergence = match given {
                "stop" => OnDivergence::Stop,
                "skip" => OnDivergence::Skip,
                "back-off" | "backoff" | "back_off" => OnDivergence::BackOff(BackOff::default()),
                other => return Err(choice("on_divergence", other, &["stop", "skip", "back-off"])),
            };
        }
        if let OnDivergence::BackOff(backoff) = &mut config.on_divergence {
            if !(self.backoff_shrink > 0.0 && self.backoff_shrink < 1.0)
                || self.backoff_tries == 0
                || self.backoff_depth == 0
            {
                return Err(invalid(format!(
                    "backoff_shrink {} backoff_tries {} backoff_depth {}: the factor must lie between 0 and 1, and \
                     at least one retry and one step of depth are needed",
                    self.backoff_shrink, self.backoff_tries, self.backoff_depth
                )));
            }
            *backoff = BackOff { shrink: self.backoff_shrink, tries: self.backoff_tries, depth: self.backoff_depth };
        }
        if let Some(given) = self.step_scale.as_deref() {
            config.step_scale =
                StepScale::named(given, terms).map_err(|e| invalid(format!("step_scale {given:?}: {e}")))?;
        }
        if let Some(given) = self.l1.as_deref() {
            config.l1 = match given {
                "subgradient" => L1Form::Subgradient,
                "proximal" => L1Form::Proximal,
                other => return Err(choice("l1", other, &["subgradient", "proximal"])),
            };
        }
        if let Some(given) = self.optimizer.as_deref() {
            config.optimizer = match given {
                "adam" => Optimizer::Adam,
                "normalized" => Optimizer::Normalized,
                other => return Err(choice("optimizer", other, &["adam", "normalized"])),
            };
        }
        Ok(config)
    }
}

struct Inner {
    data: Data,
    trainer: Trainer<'static, f32, Widths>,
}

/// The meta-trainer of `metaplasticity meta-train` (see the Python class
/// `metaplasticity.MetaTrainer`, which documents every option).
#[pyclass(module = "metaplasticity._core", name = "MetaTrainer")]
pub struct PyMetaTrainer {
    inner: Mutex<Inner>,
    shape: Widths,
    kind: PathwayKind,
    names: Vec<String>,
}

impl PyMetaTrainer {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn train_error(e: &TrainError) -> PyErr {
    match e {
        TrainError::Diverged { .. } | TrainError::ThetaRange { .. } => diverged("", e),
        _ => value_error("", e),
    }
}

fn record<'py>(py: Python<'py>, r: &Record) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("episode", r.episode)?;
    d.set_item("ok", r.ok)?;
    d.set_item("meta_loss", r.meta_loss)?;
    d.set_item("query_loss", r.query_loss)?;
    d.set_item("accuracy", r.accuracy)?;
    d.set_item("train_loss", r.train_loss)?;
    d.set_item("retries", r.retries)?;
    d.set_item("theta", r.theta.clone())?;
    d.set_item("gradient", r.gradient.clone())?;
    d.set_item("angles", r.angles.clone())?;
    Ok(d)
}

#[pymethods]
impl PyMetaTrainer {
    /// See `metaplasticity.MetaTrainer`.
    #[new]
    #[pyo3(signature = (
        data, images = None, labels = None, data_classes = None, widths = None, rule = "bio", feedback = None,
        theta = None, layers = None, freeze = Vec::new(), classes = 5, train = 50, query = 10,
        sampling = "disjoint", penalty = "none", lambda_ = 1e-3, lr = 1e-3, seed = 0, feedback_init = "uniform",
        checkpoint_interval = 16, reversal = "recompute", on_divergence = None, robust = false, step_scale = None,
        l1 = None, optimizer = None, backoff_shrink = 0.5, backoff_tries = 4, backoff_depth = 1
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        data: &str,
        images: Option<PyReadonlyArray2<'_, u8>>,
        labels: Option<PyReadonlyArray1<'_, i64>>,
        data_classes: Option<usize>,
        widths: Option<Vec<usize>>,
        rule: &str,
        feedback: Option<String>,
        theta: Option<Vec<f64>>,
        layers: Option<Vec<Option<Vec<usize>>>>,
        freeze: Vec<usize>,
        classes: usize,
        train: usize,
        query: usize,
        sampling: &str,
        penalty: &str,
        lambda_: f64,
        lr: f64,
        seed: u64,
        feedback_init: &str,
        checkpoint_interval: usize,
        reversal: &str,
        on_divergence: Option<String>,
        robust: bool,
        step_scale: Option<String>,
        l1: Option<String>,
        optimizer: Option<String>,
        backoff_shrink: f64,
        backoff_tries: usize,
        backoff_depth: usize,
    ) -> PyResult<Self> {
        let data = match (data, images, labels) {
            ("arrays", Some(images), Some(labels)) => {
                let view = images.as_array();
                let (n, pixels) = view.dim();
                if labels.len()? != n {
                    return Err(invalid(format!(
                        "images has {n} rows but labels {} entries: one label per image",
                        labels.len()?
                    )));
                }
                let bytes: Vec<u8> = view.iter().copied().collect();
                Data::raw(bytes, label_bytes(&labels)?, pixels, data_classes)?
            }
            ("arrays", _, _) => return Err(invalid("data \"arrays\" needs images and labels")),
            (name, None, None) => Data::named(name)?,
            (name, _, _) => return Err(invalid(format!("data {name:?} takes no images or labels"))),
        };
        let options = Options {
            widths,
            rule: rule.to_string(),
            feedback,
            theta,
            layers,
            freeze,
            classes,
            train,
            query,
            sampling: sampling.to_string(),
            penalty: penalty.to_string(),
            lambda: lambda_,
            lr,
            seed,
            feedback_init: feedback_init.to_string(),
            checkpoint_interval,
            reversal: reversal.to_string(),
            on_divergence,
            robust,
            step_scale,
            l1,
            optimizer,
            backoff_shrink,
            backoff_tries,
            backoff_depth,
        };
        let view = data.view()?;
        let shape = options.shape(&view)?;
        let (rule, pathway) = options.rule(shape.depth())?;
        // Theta: the rule's coefficients, then a plastic pathway's
        // parameters (eta_B, lambda_B for kp), as the tool names them.
        let mut names = rules::names(&rule);
        names.extend(pathway.param_names().iter().map(|n| n.to_string()));
        let config = Config { pathway, ..options.config(names.len())? };
        // `StepScale::Measured` runs an episode's online steps here.
        let trainer =
            py.detach(|| Trainer::<f32, Widths>::new_for(shape, rule, &view, config)).map_err(|e| train_error(&e))?;
        Ok(PyMetaTrainer { inner: Mutex::new(Inner { data, trainer }), shape, kind: pathway, names })
    }

    /// Runs the next episode and the optimiser's step; returns its record.
    fn episode<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        // The error leaves the detached closure as its message and whether
        // the run diverged (PyErr is built once attached again).
        let result = py.detach(|| {
            let mut guard = self.lock();
            let inner = &mut *guard;
            let view = inner.data.dataset().map_err(|e| (false, crate::errors::message(&e)))?;
            inner.trainer.episode(&view).map_err(|e| {
                let diverges = matches!(e, TrainError::Diverged { .. } | TrainError::ThetaRange { .. });
                (diverges, crate::errors::message(&e))
            })
        });
        match result {
            Ok(r) => record(py, &r),
            Err((true, message)) => Err(crate::errors::DivergedError::new_err(message)),
            Err((false, message)) => Err(invalid(message)),
        }
    }

    /// The next episode's number (episodes run so far).
    #[getter]
    fn episodes(&self) -> usize {
        self.lock().trainer.state().episode
    }

    /// The current coefficients Theta (after the last episode's step).
    #[getter]
    fn theta(&self) -> Vec<f64> {
        self.lock().trainer.theta().to_vec()
    }

    /// The names of the rule's terms (F0, F2, F9, ...).
    #[getter]
    fn terms(&self) -> Vec<String> {
        self.names.clone()
    }

    /// The widths n_0 .. n_L of the trainer's networks.
    #[getter]
    fn widths(&self) -> Vec<usize> {
        self.shape.as_slice().to_vec()
    }

    /// The feedback pathway's short name.
    #[getter]
    fn feedback(&self) -> &'static str {
        self.kind.key()
    }

    /// The softplus sharpness beta the rule is learned for.
    #[getter]
    fn beta(&self) -> f32 {
        self.lock().trainer.beta()
    }

    /// Step-size multiplier of each coefficient (empty: all 1).
    #[getter]
    fn rates(&self) -> Vec<f64> {
        self.lock().trainer.rates().to_vec()
    }

    /// The rule file (`.mprl`) of the current rule: `deploy::encode` with
    /// the trainer's shape, rule and beta, as `meta-train` writes
    /// `rule.mprl`.
    fn rule_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let inner = self.lock();
        let rule = inner.trainer.rule();
        let shape = inner.trainer.shape();
        let mut bytes = vec![0u8; deploy::encoded_len(shape.depth(), rule.len())];
        let n =
            deploy::encode(shape, rule, inner.trainer.beta(), &mut bytes).map_err(|e| value_error("rule file", &e))?;
        Ok(PyBytes::new(py, &bytes[..n]))
    }
}

/// One term of a decoded rule file: pool index, layers, coefficient.
pub type TermTuple = (u8, Vec<usize>, f32);

/// Decodes a rule file (`.mprl`): `(widths, beta, terms)` with `terms` a
/// list of `(pool_index, layers, theta)`, `layers` the layer numbers
/// `1 .. L` the term acts on. Raises ValueError for anything that is not a
/// valid rule file (the library's `deploy::RuleFile::decode` message).
#[pyfunction]
pub fn decode_rule(bytes: &[u8]) -> PyResult<(Vec<u32>, f32, Vec<TermTuple>)> {
    let file = deploy::RuleFile::decode(bytes).map_err(|e| value_error("not a rule file", &e))?;
    let depth = file.widths().len().saturating_sub(1);
    let terms = file
        .terms()
        .iter()
        .map(|t| (t.pool_index, (1..=depth).filter(|&l| t.layers.contains(l)).collect(), t.theta))
        .collect();
    Ok((file.widths().to_vec(), file.beta(), terms))
}
