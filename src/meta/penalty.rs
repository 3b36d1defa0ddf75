//! Penalties on `Theta` added to the query loss.

use crate::Real;

/// A penalty on the coefficients, added to the query cross-entropy.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Penalty {
    /// No penalty.
    #[default]
    None,
    /// `lambda ||Theta||_1` (the paper's Eq. 6); its gradient is
    /// `lambda sign(theta_r)` (zero at zero).
    L1(f64),
    /// `lambda ||Theta||_2` (supplementary Eq. S.16), the norm itself, not
    /// its square; its gradient is `lambda Theta / ||Theta||_2` (zero at zero).
    L2(f64),
}

impl Penalty {
    /// The penalty's value at `theta`.
    pub fn value<T: Real>(self, theta: &[T]) -> f64 {
        match self {
            Penalty::None => 0.0,
            Penalty::L1(lambda) => lambda * theta.iter().map(|t| t.to_f64().abs()).sum::<f64>(),
            Penalty::L2(lambda) => lambda * norm(theta),
        }
    }

    /// Adds the penalty's gradient at `theta` into `grad`.
    pub fn add_gradient<T: Real>(self, theta: &[T], grad: &mut [T]) {
        match self {
            Penalty::None => {}
            Penalty::L1(lambda) => {
                for (g, &t) in grad.iter_mut().zip(theta) {
                    if t != T::zero() {
                        *g += T::of(lambda) * t.signum();
                    }
                }
            }
            Penalty::L2(lambda) => {
                let n = norm(theta);
                if n > 0.0 {
                    for (g, &t) in grad.iter_mut().zip(theta) {
                        *g += T::of(lambda / n) * t;
                    }
                }
            }
        }
    }
}

fn norm<T: Real>(theta: &[T]) -> f64 {
    libm::sqrt(theta.iter().map(|t| t.to_f64() * t.to_f64()).sum::<f64>())
}
