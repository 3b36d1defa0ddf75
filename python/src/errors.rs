//! Library errors as Python exceptions: bad input is a `ValueError` whose
//! message is the library's (its cause chain, `error::chain`, on one line);
//! a run that diverges is a `DivergedError` (a `RuntimeError`).

use pyo3::PyErr;
use pyo3::exceptions::{PyRuntimeError, PyValueError};

pyo3::create_exception!(
    _core,
    DivergedError,
    PyRuntimeError,
    "Online learning or a meta-training episode diverged (weights, signals or the meta-gradient overflowed). \
     Bad input raises ValueError instead."
);

/// The library's message for `e` and its causes, on one line:
/// `metaplasticity::error::chain` without its `error: ` prefix, each
/// `caused by` joined with `: `.
pub fn message(e: &(dyn std::error::Error + 'static)) -> String {
    let chain = metaplasticity::error::chain(e);
    let chain = chain.strip_prefix("error: ").unwrap_or(&chain);
    chain.replace("\n  caused by: ", ": ")
}

/// A `ValueError` carrying the library's message for `e`, after `context`
/// (e.g. the argument's name) when it is not empty.
pub fn value_error(context: &str, e: &(dyn std::error::Error + 'static)) -> PyErr {
    PyValueError::new_err(with_context(context, &message(e)))
}

/// A `DivergedError` carrying the library's message for `e`, after `context`.
pub fn diverged(context: &str, e: &(dyn std::error::Error + 'static)) -> PyErr {
    DivergedError::new_err(with_context(context, &message(e)))
}

/// A `ValueError` with a message of the bindings' own.
pub fn invalid(message: impl Into<String>) -> PyErr {
    PyValueError::new_err(message.into())
}

fn with_context(context: &str, message: &str) -> String {
    if context.is_empty() { message.to_string() } else { format!("{context}: {message}") }
}
