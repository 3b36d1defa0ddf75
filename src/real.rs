//! The scalar type of every computation: `f32` on microcontrollers, `f64` for
//! gradient checks, anything else that is a [`RealField`].

use nalgebra::RealField;

/// A real scalar: nalgebra's [`RealField`] plus `Copy`.
///
/// Implemented for every `T: RealField + Copy` (in practice `f32` and `f64`).
/// Without `std`, the elementary functions (`exp`, `ln_1p`, ...) come from
/// `libm`, which is why the `libm` feature is required for `no_std` builds.
pub trait Real: RealField + Copy {
    /// Converts an `f64` constant into `T` (rounding for `f32`).
    fn of(x: f64) -> Self;
    /// Converts to `f64` (exact for `f32` and `f64`).
    fn to_f64(self) -> f64;
}

impl<T: RealField + Copy> Real for T {
    #[inline(always)]
    fn of(x: f64) -> Self {
        nalgebra::convert(x)
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        // `RealField` is a `SupersetOf<f64>`: `to_subset` gives the nearest f64.
        self.to_subset().unwrap_or(f64::NAN)
    }
}

/// True when every element is finite.
#[inline]
pub fn all_finite<T: Real>(xs: &[T]) -> bool {
    xs.iter().all(|x| x.is_finite())
}
