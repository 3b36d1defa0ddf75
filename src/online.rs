//! Online learning from a labelled [`Dataset`]: one sample at a time, batch
//! size one, with images decoded straight into the network's input.

use crate::idx::Dataset;
use crate::pathway::FeedbackPathway;
use crate::rule::Rule;
use crate::step::{Outcome, step_loaded};
use crate::{Activity, Error, Network, Real, Shape, Storage};

/// Learns from sample `i` of `data` (pixels scaled to `[0, 1]`); see
/// [`step`](crate::step()). The image size must be `n_0` and the label below `n_L`.
pub fn learn<T, S, W, P, A, const N: usize>(
    net: &mut Network<T, S, W>,
    pathway: &P,
    rule: &Rule<'_, T, N>,
    act: &mut Activity<T, S, A>,
    data: &Dataset<'_>,
    i: usize,
) -> Result<Outcome<T>, Error>
where
    T: Real,
    S: Shape,
    W: Storage<T>,
    P: FeedbackPathway<T, S> + ?Sized,
    A: Storage<T>,
{
    let label = load(act, data, i)?;
    step_loaded(net, pathway, rule, act, label)
}

/// Number of samples among `indices` of `data` that the network classifies
/// correctly (the weights are not changed).
pub fn correct<T, S, W, A, I>(
    net: &Network<T, S, W>,
    act: &mut Activity<T, S, A>,
    data: &Dataset<'_>,
    indices: I,
) -> Result<usize, Error>
where
    T: Real,
    S: Shape,
    W: Storage<T>,
    A: Storage<T>,
    I: IntoIterator<Item = usize>,
{
    let mut hits = 0;
    for i in indices {
        let label = load(act, data, i)?;
        if net.forward_loaded(act)? == label {
            hits += 1;
        }
    }
    Ok(hits)
}

/// Decodes sample `i` into `y_0` and returns its label.
pub(crate) fn load<T: Real, S: Shape, A: Storage<T>>(
    act: &mut Activity<T, S, A>,
    data: &Dataset<'_>,
    i: usize,
) -> Result<usize, Error> {
    data.write_image(i, act.input_mut())?;
    // `write_image` succeeded, so `i` is in range and `label` exists.
    data.label(i)
        .map(usize::from)
        .ok_or(Error::Data(crate::idx::IdxError::IndexOutOfRange { index: i, count: data.len() }))
}
