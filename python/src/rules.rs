//! Rules and pathways by name, as the command-line tool names them
//! (`cli/src/meta_train/options.rs`, `Args::rule`), so that the same
//! options build the same rule.

use metaplasticity::{LayerSet, PathwayKind, Real, Rule};
use pyo3::PyResult;

use crate::errors::invalid;

/// The rules of the bindings: up to the paper's ten terms, `f32`.
pub type Rule32 = Rule<'static, f32>;

/// A pathway by its short name.
pub fn pathway(name: &str) -> PyResult<PathwayKind> {
    PathwayKind::named(name).ok_or_else(|| {
        let known: Vec<String> =
            PathwayKind::ALL.iter().map(|k| format!("{} ({})", k.key(), k.description())).collect();
        invalid(format!("feedback {name:?}: expected one of {}", known.join(", ")))
    })
}

/// The rule named `spec` with its starting coefficients (`theta_0 = 1e-3`,
/// the others 0) and the pathway the name implies: exactly
/// `Args::rule` of `metaplasticity meta-train` before `--feedback` and
/// `--theta`.
pub fn named(spec: &str) -> PyResult<(Rule32, PathwayKind)> {
    Rule::named(spec).map_err(|e| invalid(format!("rule {spec:?}: {e}")))
}

/// `rule` with the coefficients `theta` (one per term, as `--theta`) and
/// each term on the layers `layers` (one entry per term: `None` for every
/// layer, else layer numbers `1 ..= depth`).
pub fn configure(
    mut rule: Rule32,
    theta: Option<&[f64]>,
    layers: Option<&[Option<Vec<usize>>]>,
    depth: usize,
) -> PyResult<Rule32> {
    if let Some(theta) = theta {
        let theta: Vec<f32> = theta.iter().map(|&t| f32::of(t)).collect();
        rule.set_thetas(&theta).map_err(|e| crate::errors::value_error("theta", &e))?;
    }
    let Some(layers) = layers else {
        return Ok(rule);
    };
    if layers.len() != rule.len() {
        return Err(invalid(format!(
            "layers has {} entries, the rule has {} terms: give one per term (None for every layer)",
            layers.len(),
            rule.len()
        )));
    }
    let mut out = Rule::new();
    for (r, (entry, chosen)) in rule.entries().iter().zip(layers).enumerate() {
        let set = match chosen {
            None => LayerSet::ALL,
            Some(list) => {
                let mut set = LayerSet::NONE;
                for &l in list {
                    if l == 0 || l > depth {
                        return Err(invalid(format!(
                            "layers[{r}]: layer {l} is not a weight layer of this network (1 to {depth})"
                        )));
                    }
                    set = set.with(l);
                }
                set
            }
        };
        out.push(entry.term, entry.theta, set).map_err(|e| crate::errors::value_error("rule", &e))?;
    }
    Ok(out)
}

/// Names of the terms of `rule` (`F0`, `F2`, ...).
pub fn names(rule: &Rule32) -> Vec<String> {
    rule.entries().iter().map(|e| e.term.name().to_string()).collect()
}
