//! Per-term step sizes for heterogeneous pools (the robust meta-optimiser's
//! preconditioning).
//!
//! Why it exists: Adam moves every coefficient by about its learning rate
//! per episode whatever the size of its term, so a term whose update is 30
//! times larger than `F^0`'s (the paper's `F^5` on the 5-layer network) gets
//! an effective rate 30 times `theta_0`'s, and the network dies or
//! overflows within a few episodes. Measuring each coefficient in units of
//! its term's typical size, `theta_r = s_r phi_r` with Adam on `phi`, gives
//! every term the same effective rate; for Adam this is exactly a step size
//! `lr * s_r` for `theta_r` (Adam is invariant to the gradient's scale).

use alloc::vec::Vec;

use crate::any_pathway::AnyPathway;
use crate::idx::Dataset;
use crate::init::Init;
use crate::meta::config::Config;
use crate::meta::task::{ClassIndex, TaskError, episode_rng};
use crate::online::load;
use crate::rule::Rule;
use crate::step::{Weights, activity, update};
use crate::{Activity, Network, Real, Shape};

/// The typical size of each term of `rule` relative to its first term's,
/// on a network of shape `shape`:
/// `m_r = sum_t ||F^r(t)|| / sum_t ||F^0(t)||`, Frobenius norms over all
/// layers the term acts on, summed over the online steps of episode 0 of
/// `config` (the same task, initial weights and feedback as the trainer's
/// first episode), the network adapting with the rule's coefficients as it
/// goes. A probe stops early if the adapting network diverges and uses the
/// steps before. Entries are 1 where a norm is zero. A data set whose
/// images or classes do not fit the network is [`TaskError::DataShape`].
pub fn term_magnitudes<T: Real, S: Shape, const N: usize>(
    shape: &S,
    rule: &Rule<'_, T, N>,
    data: &Dataset<'_>,
    config: &Config,
) -> Result<Vec<f64>, TaskError> {
    // A data set the network cannot read would end the probe at once, as
    // a diverged one does, and give 1 for every term.
    if data.pixels() != shape.input() || data.classes() > shape.output() {
        let (pixels, classes) = (data.pixels(), data.classes());
        return Err(TaskError::DataShape { pixels, input: shape.input(), classes, outputs: shape.output() });
    }
    let classes = ClassIndex::new(data);
    let mut rng = episode_rng(config.seed, 0);
    let task = config.task.draw(&classes, &mut rng)?;
    let mut net = Network::<T, S, _>::zeros_for(*shape);
    net.init(&mut rng, Init::XavierUniform);
    let pathway = AnyPathway::<T, S>::new_for(*shape, config.pathway, &mut rng, config.feedback_init);
    let mut act = Activity::<T, S, _>::zeros_for(*shape);
    let mut scratch = crate::buffer::zeroed_box::<T>(shape.weights());
    let mut sums = alloc::vec![0.0f64; rule.len()];
    let beta = net.beta();
    'steps: for &i in &task.train {
        let Ok(label) = load(&mut act, data, i) else { break };
        if activity(net.as_slice(), beta, &pathway, rule, &mut act, label).is_err() {
            break;
        }
        let mut norms = alloc::vec![0.0f64; rule.len()];
        for (norm, e) in norms.iter_mut().zip(rule.entries()) {
            let Ok(single) = Rule::<T, 1>::new().with(e.term, T::one(), e.layers) else { break 'steps };
            if update(Weights::Into { from: net.as_slice(), to: &mut scratch }, &single, &mut act).is_err() {
                break 'steps;
            }
            let squares: f64 =
                scratch.iter().zip(net.as_slice()).map(|(&a, &b)| (a - b).to_f64() * (a - b).to_f64()).sum();
            *norm = libm::sqrt(squares);
        }
        if norms.iter().any(|n| !n.is_finite()) || update(Weights::InPlace(net.weights_mut()), rule, &mut act).is_err()
        {
            break;
        }
        for (s, n) in sums.iter_mut().zip(norms) {
            *s += n;
        }
    }
    let reference = sums.first().copied().unwrap_or(0.0);
    Ok(sums.iter().map(|&s| if s > 0.0 && reference > 0.0 { s / reference } else { 1.0 }).collect())
}

/// Step-size multipliers from [`term_magnitudes`]: `s_r = min(1, 1 / m_r)`.
/// Terms larger than the first are slowed to its effective rate; smaller
/// ones keep Adam's rate, since speeding them up (by 250 times for the
/// paper's `F^6 .. F^8`) lets their coefficients drift far in a few
/// episodes, which was measured to kill the network.
pub fn rates_from_magnitudes(magnitudes: &[f64]) -> Vec<f64> {
    magnitudes.iter().map(|&m| if m > 1.0 { 1.0 / m } else { 1.0 }).collect()
}
