//! Random initialisation (supplementary note 7): Xavier-uniform for forward
//! and feedback weights, Xavier-normal as an option for the feedback.
//!
//! Draws are made in `f64` from any [`rand_core::Rng`] and rounded to `T`, so
//! an `f32` and an `f64` network initialised from the same seed agree up to
//! rounding.

use crate::Real;
use rand_core::Rng;

/// How a matrix of shape `fan_out x fan_in` is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Init {
    /// Xavier-uniform: `U(-a, a)` with `a = sqrt(6 / (fan_in + fan_out))`
    /// (variance `2 / (fan_in + fan_out)`).
    #[default]
    XavierUniform,
    /// Xavier-normal: `N(0, 2 / (fan_in + fan_out))`.
    XavierNormal,
}

impl Init {
    /// Fills `m` (a `fan_out x fan_in` matrix, any layout) with independent
    /// draws; with no fan at all (both zero, which no layer has) the
    /// variance is zero and `m` is filled with zeros, not infinities.
    pub fn fill<T: Real, R: Rng + ?Sized>(self, rng: &mut R, m: &mut [T], fan_in: usize, fan_out: usize) {
        let fans = fan_in.saturating_add(fan_out);
        let var = if fans == 0 { 0.0 } else { 2.0 / fans as f64 };
        match self {
            Init::XavierUniform => {
                let a = libm::sqrt(3.0 * var);
                for w in m {
                    *w = T::of(a * (2.0 * unit(rng) - 1.0));
                }
            }
            Init::XavierNormal => {
                let sd = libm::sqrt(var);
                for w in m {
                    *w = T::of(sd * standard_normal(rng));
                }
            }
        }
    }
}

/// A uniform draw in `[0, 1)` with 53 random bits.
#[inline]
pub fn unit<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A standard normal draw (Box-Muller; one of the pair is used, which keeps
/// the generator's state the only state).
#[inline]
pub fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    // 1 - unit is in (0, 1], so the logarithm is finite.
    let r = libm::sqrt(-2.0 * libm::log(1.0 - unit(rng)));
    r * libm::cos(core::f64::consts::TAU * unit(rng))
}

/// A uniform index in `0..n` (multiply-shift of a 64-bit draw: the bias is
/// below `n / 2^64`); returns 0 for `n = 0`.
#[inline]
pub fn index<R: Rng + ?Sized>(rng: &mut R, n: usize) -> usize {
    ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize
}
