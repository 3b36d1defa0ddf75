//! Online learning from a labelled [`Dataset`]: one sample at a time, batch
//! size one, with images decoded straight into the network's input.

use crate::idx::Dataset;
use crate::pathway::FeedbackPathway;
use crate::rule::Rule;
use crate::step::{Outcome, step_loaded};
use crate::{Activity, Error, Network, Real, Shape, Storage};

/// Learns from sample `i` of `data` (pixels scaled to `[0, 1]`); see
/// [`step`](crate::step()). The image size must be `n_0` and the label below `n_L`.
///
/// One pass of online learning, batch size one, on the first 1,000 of the
/// shipped 8x8 digits through feedback alignment, then the accuracy on the
/// next 500 with [`correct`]:
///
/// ```
/// use metaplasticity::data::OwnedDataset;
/// use metaplasticity::online::{correct, learn};
/// use metaplasticity::{shape, Activity, FeedbackAlignment, Init, Network, Rule};
/// use rand_xoshiro::{rand_core::SeedableRng, Xoshiro256PlusPlus};
///
/// type Digits = shape![64, 32, 16, 10];
/// let owned = OwnedDataset::optdigits_shipped()?;
/// let data = owned.view();
/// let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
/// let mut net = Network::<f32, Digits, _>::zeros();
/// net.init(&mut rng, Init::XavierUniform);
/// let fa = FeedbackAlignment::<f32, Digits, _>::random(&mut rng, Init::XavierUniform);
/// let mut act = Activity::<f32, Digits, _>::zeros();
/// let mut rule: Rule<f32> = Rule::fa(); // F^0, the pseudo-gradient
/// rule.set_thetas(&[0.05])?;
/// let before = correct(&net, &mut act, &data, 1000..1500)?;
/// for i in 0..1000 {
///     learn(&mut net, &fa, &rule, &mut act, &data, i)?;
/// }
/// let after = correct(&net, &mut act, &data, 1000..1500)?;
/// assert!(after > 250 && after > 2 * before, "{before} -> {after} of 500");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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

/// [`learn`] through a pathway whose feedback learns too
/// ([`step_loaded_plastic`](crate::step::step_loaded_plastic)); for a fixed
/// pathway exactly [`learn`].
pub fn learn_plastic<T, S, W, P, A, const N: usize>(
    net: &mut Network<T, S, W>,
    pathway: &mut P,
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
    crate::step::step_loaded_plastic(net, pathway, rule, act, label)
}

/// Number of samples among `indices` of `data` that the network classifies
/// correctly (the weights are not changed).
///
/// # Errors
///
/// As the forward pass, and [`Error::LabelOutOfRange`] for a sample whose
/// label the network's `n_L` outputs cannot name.
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
    let classes = net.shape().output();
    for i in indices {
        let label = load(act, data, i)?;
        // A label the network cannot name is an error, as in `learn`, not a miss.
        if label >= classes {
            return Err(Error::LabelOutOfRange { label, classes });
        }
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
