//! The forward pass of one layer on slices: the computation `Network` and
//! `Activity` share, below both.

use crate::Real;
use crate::activation::{softmax_unchecked, softplus};
use crate::kernel;
use multiversion::multiversion;

/// `z = W y_prev` then the layer's non-linearity; returns `ln sum exp z` at
/// the top layer (for the cross-entropy) and zero elsewhere.
#[multiversion(targets("x86_64+avx2+fma"))]
pub(crate) fn forward_layer<T: Real>(w: &[T], y_prev: &[T], z: &mut [T], y: &mut [T], top: bool, beta: T) -> T {
    kernel::mul(w, y_prev, z);
    if top {
        softmax_unchecked(z, y)
    } else {
        for (yi, &zi) in y.iter_mut().zip(z.iter()) {
            *yi = softplus(zi, beta);
        }
        T::zero()
    }
}
