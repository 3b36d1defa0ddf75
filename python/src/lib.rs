//! Python bindings of `metaplasticity` (PyO3): the extension module
//! `metaplasticity._core`. The Python package `metaplasticity` (in
//! `python/metaplasticity/`) wraps it with NumPy conversions, defaults and
//! documentation; use that, not this module directly.

mod data;
mod errors;
mod network;
mod rules;
mod trainer;

use pyo3::prelude::*;

/// The pool's term names F0 .. F9 (index = pool index).
#[pyfunction]
fn pool_names() -> Vec<&'static str> {
    metaplasticity::terms::pool::<f32>().iter().map(|t| t.name()).collect()
}

/// The feedback pathways' short names (fa, bp, dfa, usf, frsf, brsf, kp),
/// in the library's order, each with a few words on what it is.
#[pyfunction]
fn feedback_names() -> Vec<(&'static str, &'static str)> {
    metaplasticity::PathwayKind::ALL.iter().map(|k| (k.key(), k.description())).collect()
}

/// Checks a rule as the learning functions build it (named or term numbers
/// "0,2,9", coefficients, layers) for a network of `depth` layers; returns
/// the names of its terms. Raises ValueError with the reason otherwise.
#[pyfunction]
#[pyo3(signature = (rule, theta = None, layers = None, depth = 15))]
fn check_rule(
    rule: &str,
    theta: Option<Vec<f64>>,
    layers: Option<Vec<Option<Vec<usize>>>>,
    depth: usize,
) -> PyResult<Vec<String>> {
    let (named, _) = rules::named(rule)?;
    let rule = rules::configure(named, theta.as_deref(), layers.as_deref(), depth)?;
    Ok(rules::names(&rule))
}

/// The compiled core of the `metaplasticity` Python package.
#[pymodule]
mod _core {
    #[pymodule_export]
    use super::data::{float_to_pixels, load_dataset};
    #[pymodule_export]
    use super::errors::DivergedError;
    #[pymodule_export]
    use super::network::PyNetwork;
    #[pymodule_export]
    use super::trainer::{PyMetaTrainer, decode_rule};
    #[pymodule_export]
    use super::{check_rule, feedback_names, pool_names};
}
