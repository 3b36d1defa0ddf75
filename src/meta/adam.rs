//! The Adam optimiser (Kingma & Ba 2015) for the coefficients `Theta`, with
//! the two extensions the robust meta-optimiser needs: a step size per
//! coefficient and a proximal (soft-thresholding) L1 step.

use alloc::vec::Vec;
use core::fmt;

/// Adam with the usual defaults (`beta1 = 0.9`, `beta2 = 0.999`,
/// `eps = 1e-8`) and the paper's learning rate `1e-3`. State is kept in
/// `f64` whatever the network's scalar type, and can be read out
/// ([`Adam::t`], [`Adam::m`], [`Adam::v`]) and put back
/// ([`Adam::restore`]) so that a run can be saved and resumed exactly.
/// Every constructor checks its values and every step its buffers' lengths,
/// so a misuse is an [`AdamError`], never a panic or a silent NaN.
///
/// ```
/// use metaplasticity::meta::{Adam, AdamError};
/// let mut adam = Adam::new(2, 1e-3)?;
/// let mut theta = [0.5, -0.5];
/// adam.step(&mut theta, &[1.0, -1.0], &[])?;
/// assert!(theta[0] < 0.5 && theta[1] > -0.5);
/// // Three coefficients for an optimiser of two: refused, nothing changed.
/// assert!(matches!(adam.step(&mut [0.0; 3], &[1.0; 3], &[]), Err(AdamError::Length { .. })));
/// assert_eq!(adam.t(), 1);
/// # Ok::<(), AdamError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Adam {
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    t: u64,
    m: Vec<f64>,
    v: Vec<f64>,
}

/// Why an [`Adam`] cannot be made or cannot step.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum AdamError {
    /// A hyper-parameter is out of its range.
    Hyper {
        /// Which: `lr` (finite, positive), `beta1` or `beta2` (in `[0, 1)`),
        /// `eps` (finite, non-negative), `l1` (finite, non-negative).
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// A buffer does not have one entry per coefficient (`mask` and `rates`
    /// may also be empty).
    Length {
        /// Which buffer: `theta`, `grad`, `m`, `v`, `mask` or `rates`.
        what: &'static str,
        /// Coefficients of the optimiser.
        expected: usize,
        /// Entries given.
        found: usize,
    },
    /// A coefficient, a gradient entry, a moment estimate or a step-size
    /// multiplier is NaN, infinite or (for `v` and the rates) negative.
    BadValue {
        /// Which buffer: `theta`, `grad`, `m`, `v` or `rates`.
        what: &'static str,
        /// The first bad entry.
        index: usize,
    },
    /// The step would make a coefficient or a moment NaN or infinite (a
    /// learning rate too large for the coefficients, or `eps = 0` with a
    /// zero second moment); nothing was changed.
    NonFiniteStep {
        /// The first coefficient (or moment) that would not be finite.
        index: usize,
    },
}

impl fmt::Display for AdamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            AdamError::Hyper { name, value } => {
                let valid = match name {
                    "lr" => "finite and positive",
                    "beta1" | "beta2" => "in [0, 1)",
                    _ => "finite and non-negative",
                };
                write!(f, "Adam's {name} is {value}; it must be {valid}")
            }
            AdamError::Length { what, expected, found } => {
                write!(f, "Adam's {what} has {found} entries; the optimiser has {expected} coefficients")
            }
            AdamError::BadValue { what, index } => {
                write!(f, "Adam's {what}[{index}] is NaN, infinite or negative")
            }
            AdamError::NonFiniteStep { index } => write!(
                f,
                "Adam's step would make theta[{index}] or its moments NaN or infinite (a learning rate too large, \
                 or eps = 0 with a zero gradient); nothing was changed"
            ),
        }
    }
}

impl core::error::Error for AdamError {}

/// How one [`Adam::step_with`] moves each coefficient, beyond plain Adam.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepOptions<'a> {
    /// Which coefficients may change (empty: all); masked-out entries keep
    /// their value and their moments.
    pub mask: &'a [bool],
    /// Step-size multiplier per coefficient (empty: all 1): coefficient `r`
    /// moves by about `lr * rates[r]` per step.
    pub rates: &'a [f64],
    /// Strength `lambda` of a proximal L1 step (0: none): after the Adam
    /// step, `theta_r` is soft-thresholded by `lambda` times its own step
    /// size `lr * rates[r] / (sqrt(vhat_r) + eps)`, the proximal operator of
    /// `lambda |theta_r|` in Adam's metric. A coefficient at zero then stays
    /// exactly zero while its averaged gradient `|mhat_r|` is at most `lambda`.
    pub l1: f64,
    /// The L1 step applies to the first `l1_len` coefficients only (the
    /// rule's, not a plastic pathway's parameters after them); `usize::MAX`
    /// (the default): all.
    pub l1_len: usize,
}

impl Default for StepOptions<'_> {
    fn default() -> Self {
        StepOptions { mask: &[], rates: &[], l1: 0.0, l1_len: usize::MAX }
    }
}

impl Adam {
    /// A fresh optimiser for `n` coefficients at learning rate `lr`
    /// (finite, positive).
    pub fn new(n: usize, lr: f64) -> Result<Self, AdamError> {
        if !(lr.is_finite() && lr > 0.0) {
            return Err(AdamError::Hyper { name: "lr", value: lr });
        }
        Ok(Adam { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, t: 0, m: alloc::vec![0.0; n], v: alloc::vec![0.0; n] })
    }

    /// The same optimiser with other decays `beta1`, `beta2` (each in
    /// `[0, 1)`) and `eps` (finite, non-negative).
    pub fn with_hyper(self, beta1: f64, beta2: f64, eps: f64) -> Result<Self, AdamError> {
        for (name, value) in [("beta1", beta1), ("beta2", beta2)] {
            if !(0.0..1.0).contains(&value) {
                return Err(AdamError::Hyper { name, value });
            }
        }
        if !(eps.is_finite() && eps >= 0.0) {
            return Err(AdamError::Hyper { name: "eps", value: eps });
        }
        Ok(Adam { beta1, beta2, eps, ..self })
    }

    /// The same optimiser with a saved state: `t` steps taken and the
    /// moments `m`, `v` (one finite entry per coefficient, `v` non-negative).
    pub fn restore(self, t: u64, m: Vec<f64>, v: Vec<f64>) -> Result<Self, AdamError> {
        let n = self.m.len();
        for (what, x) in [("m", &m), ("v", &v)] {
            if x.len() != n {
                return Err(AdamError::Length { what, expected: n, found: x.len() });
            }
            let bad = |y: &f64| !y.is_finite() || (what == "v" && *y < 0.0);
            if let Some(index) = x.iter().position(bad) {
                return Err(AdamError::BadValue { what, index });
            }
        }
        Ok(Adam { t, m, v, ..self })
    }

    /// Number of coefficients.
    pub fn len(&self) -> usize {
        self.m.len()
    }

    /// True for an optimiser of no coefficients.
    pub fn is_empty(&self) -> bool {
        self.m.is_empty()
    }

    /// The learning rate.
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// Decay of the first-moment estimate.
    pub fn beta1(&self) -> f64 {
        self.beta1
    }

    /// Decay of the second-moment estimate.
    pub fn beta2(&self) -> f64 {
        self.beta2
    }

    /// Added to the denominator.
    pub fn eps(&self) -> f64 {
        self.eps
    }

    /// Steps taken so far.
    pub fn t(&self) -> u64 {
        self.t
    }

    /// First-moment estimate, one entry per coefficient.
    pub fn m(&self) -> &[f64] {
        &self.m
    }

    /// Second-moment estimate, one entry per coefficient.
    pub fn v(&self) -> &[f64] {
        &self.v
    }

    /// Checks the buffers of a step against the optimiser's size.
    fn check(&self, theta: &[f64], grad: &[f64], options: &StepOptions<'_>) -> Result<(), AdamError> {
        let n = self.m.len();
        let length = |what, found: usize, may_be_empty: bool| {
            if found == n || (may_be_empty && found == 0) {
                Ok(())
            } else {
                Err(AdamError::Length { what, expected: n, found })
            }
        };
        length("theta", theta.len(), false)?;
        length("grad", grad.len(), false)?;
        length("v", self.v.len(), false)?;
        length("mask", options.mask.len(), true)?;
        length("rates", options.rates.len(), true)?;
        for (what, x) in [("theta", theta), ("grad", grad)] {
            if let Some(index) = x.iter().position(|v| !v.is_finite()) {
                return Err(AdamError::BadValue { what, index });
            }
        }
        if let Some(index) = options.rates.iter().position(|r| !(r.is_finite() && *r >= 0.0)) {
            return Err(AdamError::BadValue { what: "rates", index });
        }
        if !(options.l1.is_finite() && options.l1 >= 0.0) {
            return Err(AdamError::Hyper { name: "l1", value: options.l1 });
        }
        Ok(())
    }

    /// One step: `theta -= lr * mhat / (sqrt(vhat) + eps)` for the entries
    /// whose `mask` is true (all when `mask` is empty); masked-out entries
    /// keep their value and their moments.
    ///
    /// # Errors
    ///
    /// [`AdamError::Length`] unless `theta` and `grad` have one entry per
    /// coefficient and `mask` one or none; [`AdamError::BadValue`] if an
    /// entry of `theta` or `grad` is NaN or infinite;
    /// [`AdamError::NonFiniteStep`] if the step would leave a coefficient or
    /// a moment that is not (a learning rate too large, `eps = 0` with a
    /// zero gradient). Nothing changes then.
    pub fn step(&mut self, theta: &mut [f64], grad: &[f64], mask: &[bool]) -> Result<(), AdamError> {
        self.step_with(theta, grad, StepOptions { mask, ..StepOptions::default() })
    }

    /// One step with per-coefficient rates and an optional proximal L1 step
    /// (see [`StepOptions`]). With default options it is [`Adam::step`].
    ///
    /// # Errors
    ///
    /// As [`Adam::step`], and [`AdamError::BadValue`] /
    /// [`AdamError::Hyper`] for a rate or an `l1` that is NaN, infinite or
    /// negative; nothing changes then.
    pub fn step_with(&mut self, theta: &mut [f64], grad: &[f64], options: StepOptions<'_>) -> Result<(), AdamError> {
        self.check(theta, grad, &options)?;
        self.finite_or_undone(theta, |adam, theta| adam.adam_step(theta, grad, options))
    }

    /// Runs `step` on `theta` and this optimiser, and undoes both if it left
    /// anything that is not finite.
    fn finite_or_undone(
        &mut self,
        theta: &mut [f64],
        step: impl FnOnce(&mut Self, &mut [f64]),
    ) -> Result<(), AdamError> {
        let (before, saved) = (theta.to_vec(), self.clone());
        step(self, theta);
        let bad = |x: &[f64]| x.iter().position(|v| !v.is_finite());
        if let Some(index) = bad(theta).or_else(|| bad(&self.m)).or_else(|| bad(&self.v)) {
            theta.copy_from_slice(&before);
            *self = saved;
            return Err(AdamError::NonFiniteStep { index });
        }
        Ok(())
    }

    /// The arithmetic of [`Adam::step_with`], on checked inputs.
    fn adam_step(&mut self, theta: &mut [f64], grad: &[f64], options: StepOptions<'_>) {
        // Past u64::MAX steps the bias corrections are 1 either way.
        self.t = self.t.saturating_add(1);
        let c1 = 1.0 - libm::pow(self.beta1, self.t as f64);
        let c2 = 1.0 - libm::pow(self.beta2, self.t as f64);
        let moments = self.m.iter_mut().zip(self.v.iter_mut());
        for (r, ((th, &g), (m, v))) in theta.iter_mut().zip(grad).zip(moments).enumerate() {
            if !options.mask.get(r).copied().unwrap_or(true) {
                continue;
            }
            *m = self.beta1 * *m + (1.0 - self.beta1) * g;
            *v = self.beta2 * *v + (1.0 - self.beta2) * g * g;
            let mhat = *m / c1;
            let vhat = *v / c2;
            // The paper's arithmetic, in its order, when rates and l1 are unused.
            let lr = self.lr * options.rates.get(r).copied().unwrap_or(1.0);
            let denominator = libm::sqrt(vhat) + self.eps;
            *th -= lr * mhat / denominator;
            if options.l1 > 0.0 && r < options.l1_len {
                *th = soft_threshold(*th, lr / denominator * options.l1);
            }
        }
    }

    /// One step of normalised momentum on the same state (`m` and `t`; `v`
    /// stays unused): with `g'_r = rates[r] g_r` (the gradient with respect
    /// to `phi_r = theta_r / rates[r]`) and `u = g' / ||g'||`,
    /// `m <- beta1 m + (1 - beta1) u`, then
    /// `theta_r -= lr rates[r] mhat_r` with `mhat = m / (1 - beta1^t)`.
    /// The proximal L1 step uses the step size of the current gradient,
    /// `tau_r = lambda lr rates[r]^2 / ||g'||`.
    ///
    /// Why it exists: Adam divides each coefficient's gradient by its own
    /// running size, so a coefficient whose gradient is a thousandth of the
    /// others' (noise, for the paper's `F^6 .. F^8` at the start) moves as
    /// far as they do, on its first step exactly `lr` in the direction of
    /// its sign; and a single episode with a gradient of `1e6` (near a
    /// cliff of the meta-loss) inflates `v` and freezes the coefficient for
    /// hundreds of episodes. Normalising the whole gradient keeps the
    /// coefficients' relative sizes (a coefficient with a tiny gradient
    /// moves little), bounds every step by `lr` in the `phi` norm, and
    /// makes heavy-tailed gradient sizes harmless. Masked-out entries keep
    /// their value and moment; a zero gradient leaves everything as it was
    /// but the step count.
    ///
    /// # Errors
    ///
    /// As [`Adam::step_with`]; nothing changes then.
    pub fn step_normalized(
        &mut self,
        theta: &mut [f64],
        grad: &[f64],
        options: StepOptions<'_>,
    ) -> Result<(), AdamError> {
        self.check(theta, grad, &options)?;
        self.finite_or_undone(theta, |adam, theta| adam.normalized_step(theta, grad, options))
    }

    /// The arithmetic of [`Adam::step_normalized`], on checked inputs.
    fn normalized_step(&mut self, theta: &mut [f64], grad: &[f64], options: StepOptions<'_>) {
        self.t = self.t.saturating_add(1);
        let c1 = 1.0 - libm::pow(self.beta1, self.t as f64);
        let rate = |r: usize| options.rates.get(r).copied().unwrap_or(1.0);
        let trainable = |r: usize| options.mask.get(r).copied().unwrap_or(true);
        let norm = libm::sqrt(
            grad.iter().enumerate().filter(|&(r, _)| trainable(r)).map(|(r, &g)| (rate(r) * g) * (rate(r) * g)).sum(),
        );
        if !(norm > 0.0 && norm.is_finite()) {
            return;
        }
        for (r, ((th, &g), m)) in theta.iter_mut().zip(grad).zip(self.m.iter_mut()).enumerate() {
            if !trainable(r) {
                continue;
            }
            *m = self.beta1 * *m + (1.0 - self.beta1) * rate(r) * g / norm;
            *th -= self.lr * rate(r) * *m / c1;
            if options.l1 > 0.0 && r < options.l1_len {
                *th = soft_threshold(*th, options.l1 * self.lr * rate(r) * rate(r) / norm);
            }
        }
    }
}

/// `sign(x) max(|x| - tau, 0)`: the proximal operator of `tau |x|`.
pub fn soft_threshold(x: f64, tau: f64) -> f64 {
    if x > tau {
        x - tau
    } else if x < -tau {
        x + tau
    } else {
        0.0
    }
}
