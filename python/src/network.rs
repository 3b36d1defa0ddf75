//! A network of run-time widths with its feedback pathway, learning online
//! from NumPy arrays: what `metaplasticity online` runs (`cli/src/online.rs`).

use std::sync::{Mutex, MutexGuard};

use metaplasticity::init::index;
use metaplasticity::step::step_plastic;
use metaplasticity::{Activity, AnyPathway, BufferKind, Error, Init, Network, PathwayKind, Shape, Widths};
use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::SeedableRng;

use crate::errors::{diverged, invalid, value_error};
use crate::rules;

/// The state behind the Python object, locked while it is used (the
/// interpreter is released meanwhile).
struct Inner {
    net: Network<f32, Widths, Box<[f32]>>,
    pathway: AnyPathway<f32, Widths>,
    act: Activity<f32, Widths, Box<[f32]>>,
    rng: Xoshiro256PlusPlus,
}

/// A fully connected network (bias-free, softplus hidden units, softmax
/// output) of any widths, with its feedback pathway, learning online (one
/// sample at a time) with a plasticity rule.
///
/// Built as `metaplasticity online` builds each run: a generator seeded
/// with `seed` draws the forward weights (Xavier-uniform), then the
/// pathway's matrices; `permutation` then draws the sample order from the
/// same generator.
#[pyclass(module = "metaplasticity._core", name = "Network")]
pub struct PyNetwork {
    inner: Mutex<Inner>,
    shape: Widths,
    kind: PathwayKind,
}

/// A shape from Python's widths, with the library's message on error.
pub fn widths(widths: &[usize]) -> PyResult<Widths> {
    Widths::new(widths).map_err(|e| value_error(&format!("widths {widths:?}"), &e))
}

/// An initialisation by name.
pub fn init(name: &str) -> PyResult<Init> {
    match name {
        "uniform" => Ok(Init::XavierUniform),
        "normal" => Ok(Init::XavierNormal),
        other => Err(invalid(format!(
            "feedback_init {other:?}: expected uniform (Xavier-uniform) or normal (Xavier-normal)"
        ))),
    }
}

/// Samples from Python, copied and checked against the network before any
/// work: `images` of `n_0` finite pixels each, `labels` classes below `n_L`.
pub struct Samples {
    pub images: Vec<f32>,
    pub labels: Vec<usize>,
    pub pixels: usize,
}

impl Samples {
    pub fn new(
        shape: &Widths,
        images: &PyReadonlyArray2<'_, f32>,
        labels: Option<&PyReadonlyArray1<'_, i64>>,
    ) -> PyResult<Self> {
        let view = images.as_array();
        let (n, pixels) = view.dim();
        if pixels != shape.input() {
            let e = Error::BufferLength { what: BufferKind::Input, expected: shape.input(), found: pixels };
            return Err(value_error("images", &e));
        }
        let mut flat = Vec::with_capacity(n * pixels);
        for (i, row) in view.outer_iter().enumerate() {
            if let Some(j) = row.iter().position(|x| !x.is_finite()) {
                return Err(value_error(&format!("images[{i}]"), &Error::NonFiniteInput { index: j }));
            }
            flat.extend(row.iter().copied());
        }
        let mut out = Vec::with_capacity(n);
        if let Some(labels) = labels {
            let labels = labels.as_array();
            if labels.len() != n {
                return Err(invalid(format!(
                    "images has {n} rows but labels {} entries: one label per image",
                    labels.len()
                )));
            }
            for (i, &l) in labels.iter().enumerate() {
                let classes = shape.output();
                match usize::try_from(l) {
                    Ok(label) if label < classes => out.push(label),
                    Ok(label) => {
                        return Err(value_error(&format!("labels[{i}]"), &Error::LabelOutOfRange { label, classes }));
                    }
                    Err(_) => {
                        return Err(invalid(format!(
                            "labels[{i}]: label {l} is out of range: the network has {classes} classes"
                        )));
                    }
                }
            }
        }
        Ok(Samples { images: flat, labels: out, pixels })
    }

    fn image(&self, i: usize) -> &[f32] {
        self.images.get(i * self.pixels..(i + 1) * self.pixels).unwrap_or(&[])
    }
}

impl PyNetwork {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while locked cannot leave the state half-written in a
        // way the library does not check; take it back.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[pymethods]
impl PyNetwork {
    /// Network(widths, feedback="fa", seed=0, feedback_init="uniform")
    ///
    /// widths: n_0, n_1, ..., n_L (input first, classes last, 2 to 16
    /// widths, none zero). feedback: fa, bp, dfa, usf or frsf. seed: the
    /// generator of the initial weights, the feedback and `permutation`.
    /// feedback_init: uniform (Xavier-uniform, as `metaplasticity online`)
    /// or normal.
    #[new]
    #[pyo3(signature = (widths, feedback = "fa", seed = 0, feedback_init = "uniform"))]
    fn new(widths: Vec<usize>, feedback: &str, seed: u64, feedback_init: &str) -> PyResult<Self> {
        let shape = self::widths(&widths)?;
        let kind = rules::pathway(feedback)?;
        let init = init(feedback_init)?;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut net = Network::<f32, Widths, _>::zeros_for(shape);
        net.init(&mut rng, Init::XavierUniform);
        let pathway = AnyPathway::<f32, Widths>::new_for(shape, kind, &mut rng, init);
        let act = Activity::<f32, Widths, _>::zeros_for(shape);
        Ok(PyNetwork { inner: Mutex::new(Inner { net, pathway, act, rng }), shape, kind })
    }

    /// The widths n_0 .. n_L.
    #[getter]
    fn widths(&self) -> Vec<usize> {
        self.shape.as_slice().to_vec()
    }

    /// The feedback pathway's short name (fa, bp, dfa, usf, frsf, kp).
    #[getter]
    fn feedback(&self) -> &'static str {
        self.kind.key()
    }

    /// The softplus sharpness beta of the hidden units.
    #[getter]
    fn beta(&self) -> f32 {
        self.lock().net.beta()
    }

    /// A random order of 0 .. n-1 (Fisher-Yates with
    /// `metaplasticity::init::index`), drawn from the network's generator,
    /// as `metaplasticity online` orders its training digits.
    fn permutation<'py>(&self, py: Python<'py>, n: usize) -> Bound<'py, PyArray1<i64>> {
        let order = py.detach(|| {
            let mut inner = self.lock();
            let mut order: Vec<usize> = (0..n).collect();
            for i in (1..order.len()).rev() {
                order.swap(i, index(&mut inner.rng, i + 1));
            }
            order
        });
        PyArray1::from_vec(py, order.into_iter().map(|i| i as i64).collect())
    }

    /// learn(images, labels, rule="fa", theta=None, layers=None) -> losses
    ///
    /// One online step per image, in order (batch size one): forward,
    /// modulating signals through the pathway, local update of every layer
    /// by the rule. Returns each sample's cross-entropy before its update
    /// (float64 array). Everything is checked before the first step.
    #[pyo3(signature = (images, labels, rule = "fa", theta = None, layers = None))]
    fn learn<'py>(
        &self,
        py: Python<'py>,
        images: PyReadonlyArray2<'py, f32>,
        labels: PyReadonlyArray1<'py, i64>,
        rule: &str,
        theta: Option<Vec<f64>>,
        layers: Option<Vec<Option<Vec<usize>>>>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let (named, _) = rules::named(rule)?;
        let rule = rules::configure(named, theta.as_deref(), layers.as_deref(), self.shape.depth())?;
        let samples = Samples::new(&self.shape, &images, Some(&labels))?;
        drop((images, labels));
        let losses = py.detach(|| {
            let mut guard = self.lock();
            let inner = &mut *guard;
            let mut losses = Vec::with_capacity(samples.labels.len());
            // As `metaplasticity online --feedback kp`: a plastic feedback
            // learns at the rule's first rate.
            inner.pathway.learn_at_rate(rule.theta(0).unwrap_or(0.0)).map_err(|e| (0, e))?;
            for (i, &label) in samples.labels.iter().enumerate() {
                match step_plastic(&mut inner.net, &mut inner.pathway, &rule, &mut inner.act, samples.image(i), label) {
                    Ok(outcome) => losses.push(f64::from(outcome.loss)),
                    Err(e) => return Err((i, e)),
                }
            }
            Ok(losses)
        });
        match losses {
            Ok(losses) => Ok(PyArray1::from_vec(py, losses)),
            Err((i, e @ (Error::Diverged { .. } | Error::NonFiniteSignal { .. } | Error::NonFiniteWeights { .. }))) => {
                Err(diverged(&format!("online step on sample {i} of this call"), &e))
            }
            Err((i, e)) => Err(value_error(&format!("online step on sample {i} of this call"), &e)),
        }
    }

    /// Checks images (and labels) as `learn` would, without learning:
    /// raises ValueError with the library's message for a wrong pixel
    /// count, a NaN or infinite pixel, or a label out of range.
    #[pyo3(signature = (images, labels = None))]
    fn check(&self, images: PyReadonlyArray2<'_, f32>, labels: Option<PyReadonlyArray1<'_, i64>>) -> PyResult<()> {
        Samples::new(&self.shape, &images, labels.as_ref()).map(|_| ())
    }

    /// The predicted class of each image (int64 array); the weights do not
    /// change.
    fn predict<'py>(&self, py: Python<'py>, images: PyReadonlyArray2<'py, f32>) -> PyResult<Bound<'py, PyArray1<i64>>> {
        let samples = Samples::new(&self.shape, &images, None)?;
        drop(images);
        let n = samples.images.len() / samples.pixels.max(1);
        let out = py.detach(|| {
            let mut guard = self.lock();
            let inner = &mut *guard;
            (0..n)
                .map(|i| inner.net.forward(samples.image(i), &mut inner.act).map(|p| p as i64))
                .collect::<Result<Vec<_>, _>>()
        });
        out.map(|v| PyArray1::from_vec(py, v)).map_err(|e| diverged("forward pass", &e))
    }

    /// Number of images the network classifies as their label (as
    /// `metaplasticity::online::correct`); the weights do not change.
    fn correct(
        &self,
        py: Python<'_>,
        images: PyReadonlyArray2<'_, f32>,
        labels: PyReadonlyArray1<'_, i64>,
    ) -> PyResult<usize> {
        let samples = Samples::new(&self.shape, &images, Some(&labels))?;
        drop((images, labels));
        py.detach(|| {
            let mut guard = self.lock();
            let inner = &mut *guard;
            let mut hits = 0;
            for (i, &label) in samples.labels.iter().enumerate() {
                if inner.net.forward(samples.image(i), &mut inner.act)? == label {
                    hits += 1;
                }
            }
            Ok(hits)
        })
        .map_err(|e: Error| diverged("forward pass", &e))
    }

    /// The forward weights, one float32 array W_l of shape (n_l, n_{l-1})
    /// per layer l = 1 .. L (copies).
    fn weights<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyArray2<f32>>> {
        let inner = self.lock();
        (1..=self.shape.depth())
            .map(|l| {
                let w = inner.net.layer(l);
                let (rows, cols) = w.shape();
                Array2::from_shape_fn((rows, cols), |(r, c)| w[(r, c)]).into_pyarray(py)
            })
            .collect()
    }

    /// Replaces the forward weights: one array of shape (n_l, n_{l-1}) per
    /// layer, finite (float32 values; others are converted by the caller).
    fn set_weights(&self, weights: Vec<PyReadonlyArray2<'_, f32>>) -> PyResult<()> {
        let depth = self.shape.depth();
        if weights.len() != depth {
            return Err(invalid(format!("{} weight matrices given, the network has {depth} layers", weights.len())));
        }
        let mut flat = Vec::with_capacity(self.shape.weights());
        for (l, w) in (1..).zip(&weights) {
            let w = w.as_array();
            let expected = (self.shape.width(l), self.shape.width(l - 1));
            if w.dim() != expected {
                return Err(invalid(format!("weights[{}] has shape {:?}, W_{l} needs {expected:?}", l - 1, w.dim())));
            }
            // Column-major, as the library stores each W_l.
            for c in 0..expected.1 {
                for r in 0..expected.0 {
                    flat.push(w[(r, c)]);
                }
            }
        }
        if !flat.iter().all(|x| x.is_finite()) {
            return Err(value_error("weights", &Error::NonFiniteWeights { what: BufferKind::Weights }));
        }
        self.lock().net.as_mut_slice().copy_from_slice(&flat);
        Ok(())
    }

    fn __repr__(&self) -> String {
        let widths: Vec<String> = self.shape.as_slice().iter().map(usize::to_string).collect();
        format!("Network(widths=[{}], feedback={:?})", widths.join(", "), self.kind.key())
    }
}
