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
///
/// On targets without vector units (a Cortex-M4F, where a comparison
/// costs a compare, a flag transfer and a branch; or any target built with
/// `--cfg metaplasticity_scalar_kernels`) it sums `x * 0` instead, which is
/// zero for every finite `x` and NaN for an infinity or a NaN: a
/// multiply-add per element and one comparison in all.
#[inline]
pub fn all_finite<T: Real>(xs: &[T]) -> bool {
    if crate::kernel::SCALAR { zero_sum(xs) } else { xs.iter().all(|x| x.is_finite()) }
}

/// [`all_finite`] on targets without vector units (`kernel::SCALAR`).
#[inline(always)]
fn zero_sum<T: Real>(xs: &[T]) -> bool {
    xs.iter().fold(T::zero(), |sum, &x| sum + x * T::zero()) == T::zero()
}

#[cfg(test)]
mod tests {
    use super::all_finite;

    #[test]
    fn all_finite_tells_finite_from_infinite_and_nan_in_either_form() {
        let finite = [0.0f32, -0.0, 1.0, -3.5, f32::MAX, f32::MIN, f32::MIN_POSITIVE, 1e-45];
        assert!(all_finite(&finite));
        assert!(all_finite::<f32>(&[]));
        for bad in [f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -f32::NAN] {
            for at in 0..=finite.len() {
                let mut xs = finite.to_vec();
                xs.insert(at, bad);
                assert!(!all_finite(&xs), "{bad} at {at}");
            }
        }
        // Large finite entries are finite: the sum of their products with
        // zero does not overflow.
        assert!(all_finite(&[f64::MAX, f64::MAX, -f64::MAX]));
        assert!(!all_finite(&[f64::MAX, f64::INFINITY]));
    }
}
