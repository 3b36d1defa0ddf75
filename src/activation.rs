//! Elementwise non-linearities of the model and their derivatives.
//!
//! Hidden units use the softplus `y = ln(1 + exp(beta z)) / beta`; its
//! derivative is written through the activation itself,
//! `sigma'(z) = 1 - exp(-beta y) =: g(y)`, as in the paper. The output layer
//! uses the softmax `p = softmax(z_L)` with the cross-entropy loss.

use crate::Real;

/// The paper's softplus sharpness, `beta = 10`.
pub const DEFAULT_BETA: f64 = 10.0;

/// `softplus_beta(z) = ln(1 + exp(beta z)) / beta`, computed without overflow
/// as `max(z, 0) + ln_1p(exp(-beta |z|)) / beta`. Requires `beta > 0`.
#[inline(always)]
pub fn softplus<T: Real>(z: T, beta: T) -> T {
    let bz = beta * z;
    let pos = if bz > T::zero() { z } else { T::zero() };
    pos + (-bz.abs()).exp().ln_1p() / beta
}

/// `g(y) = 1 - exp(-beta y)`: the softplus derivative `sigma'(z)` expressed
/// through the activation `y = softplus_beta(z)` (accurate for small `y`).
#[inline(always)]
pub fn softplus_slope<T: Real>(y: T, beta: T) -> T {
    if y == T::zero() {
        return T::zero();
    }
    -(-beta * y).exp_m1()
}

/// `dg/dy = beta exp(-beta y)`, needed by the adjoint of the signals.
#[inline(always)]
pub fn softplus_slope_derivative<T: Real>(y: T, beta: T) -> T {
    beta * (-beta * y).exp()
}

/// Writes `p = softmax(z)` into `p` (stable: the maximum is subtracted
/// first) and returns `ln sum_k exp(z_k)`, so that the cross-entropy of
/// class `c` is `logsumexp - z_c`.
///
/// ```
/// use metaplasticity::activation::softmax;
/// let mut p = [0.0f64; 2];
/// let log_norm = softmax(&[0.0, 0.0], &mut p)?;
/// assert_eq!(p, [0.5, 0.5]);
/// assert!((log_norm - 2f64.ln()).abs() < 1e-15);
/// assert!(softmax(&[0.0, 0.0], &mut [0.0f64; 3]).is_err()); // lengths differ
/// assert!(softmax(&[f64::INFINITY, 0.0], &mut p).is_err()); // not finite
/// # Ok::<(), metaplasticity::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::BufferLength`](crate::Error::BufferLength) if `p` is not as
/// long as `z`, [`Error::NonFiniteInput`](crate::Error::NonFiniteInput)
/// for the first entry of `z` that is NaN or infinite (whose softmax is
/// NaN); nothing is written then.
pub fn softmax<T: Real>(z: &[T], p: &mut [T]) -> Result<T, crate::Error> {
    crate::buffer::check_len(p, z.len(), crate::BufferKind::Activity)?;
    if let Some(index) = z.iter().position(|x| !x.is_finite()) {
        return Err(crate::Error::NonFiniteInput { index });
    }
    Ok(softmax_unchecked(z, p))
}

/// [`softmax`] for slices of equal length (the forward pass's, sized by
/// the shape); with unequal lengths the shorter one bounds the loop.
pub(crate) fn softmax_unchecked<T: Real>(z: &[T], p: &mut [T]) -> T {
    let max = z.iter().copied().fold(T::min_value().unwrap_or(-T::one() / T::zero()), T::max);
    let mut sum = T::zero();
    for (pk, &zk) in p.iter_mut().zip(z) {
        *pk = (zk - max).exp();
        sum += *pk;
    }
    let inv = T::one() / sum;
    for pk in p.iter_mut() {
        *pk *= inv;
    }
    max + sum.ln()
}
