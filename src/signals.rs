//! The modulating signals `e_l`, sent down from `e_L` through a feedback
//! pathway: the step, the network and the adjoint's checks share them.

use crate::buffer::units;
use crate::error::Error;
use crate::kernel::{part, part_mut, split_mut};
use crate::pathway::FeedbackPathway;
use crate::{Activity, Real, Shape, Storage};

/// Computes `e_l` for `l = L-1` down to `lowest` (0 or 1) from `e_L`, which
/// must already be set; `e_0` is zeroed when not computed, and the input's
/// slopes `g(y_0)` that gate it are computed with it.
pub(crate) fn signals<T, S, P, A>(
    pathway: &P,
    weights: &[T],
    act: &mut Activity<T, S, A>,
    lowest: usize,
) -> Result<(), Error>
where
    T: Real,
    S: Shape,
    P: FeedbackPathway<T, S> + ?Sized,
    A: Storage<T>,
{
    let shape = *act.shape();
    if lowest == 0 {
        act.input_slopes();
    }
    let b = act.blocks();
    if lowest > 0 {
        part_mut(b.e, units(&shape, 0)).fill(T::zero());
    }
    let top = shape.depth();
    for l in (lowest..top).rev() {
        let (below, above) = split_mut(b.e, shape.unit_offset(l + 1));
        let e_next = part(above, ..shape.width(l + 1));
        let e_out = part(above, shape.unit_offset(top) - shape.unit_offset(l + 1)..);
        let e = part_mut(below, units(&shape, l));
        let f = part_mut(b.f, units(&shape, l));
        let g = part(b.g, units(&shape, l));
        // For l = 0 the input is data and g(y_0) a gate: zero at black pixels.
        pathway.feedback(&shape, l, weights, e_next, e_out, if l == 0 { g } else { &[] }, f);
        for ((ei, &fi), &gi) in e.iter_mut().zip(f.iter()).zip(g) {
            *ei = fi * gi;
        }
        if !crate::real::all_finite(e) {
            return Err(Error::NonFiniteSignal { layer: l });
        }
    }
    Ok(())
}
