//! The Adam optimiser (Kingma & Ba 2015) for the coefficients `Theta`, with
//! the two extensions the robust meta-optimiser needs: a step size per
//! coefficient and a proximal (soft-thresholding) L1 step.

use alloc::vec::Vec;

/// Adam with the usual defaults (`beta1 = 0.9`, `beta2 = 0.999`,
/// `eps = 1e-8`) and the paper's learning rate `1e-3`. State is kept in
/// `f64` whatever the network's scalar type, and is plain data so that a run
/// can be saved and resumed exactly.
#[derive(Debug, Clone, PartialEq)]
pub struct Adam {
    /// Learning rate.
    pub lr: f64,
    /// Decay of the first-moment estimate.
    pub beta1: f64,
    /// Decay of the second-moment estimate.
    pub beta2: f64,
    /// Added to the denominator.
    pub eps: f64,
    /// Steps taken so far.
    pub t: u64,
    /// First-moment estimate, one entry per coefficient.
    pub m: Vec<f64>,
    /// Second-moment estimate, one entry per coefficient.
    pub v: Vec<f64>,
}

/// How one [`Adam::step_with`] moves each coefficient, beyond plain Adam.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
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
}

impl Adam {
    /// A fresh optimiser for `n` coefficients.
    pub fn new(n: usize, lr: f64) -> Self {
        Adam { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, t: 0, m: alloc::vec![0.0; n], v: alloc::vec![0.0; n] }
    }

    /// One step: `theta -= lr * mhat / (sqrt(vhat) + eps)` for the entries
    /// whose `mask` is true (all when `mask` is empty); masked-out entries
    /// keep their value and their moments.
    pub fn step(&mut self, theta: &mut [f64], grad: &[f64], mask: &[bool]) {
        self.step_with(theta, grad, StepOptions { mask, ..StepOptions::default() });
    }

    /// One step with per-coefficient rates and an optional proximal L1 step
    /// (see [`StepOptions`]). With default options it is [`Adam::step`].
    pub fn step_with(&mut self, theta: &mut [f64], grad: &[f64], options: StepOptions<'_>) {
        self.t += 1;
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
            if options.l1 > 0.0 {
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
    pub fn step_normalized(&mut self, theta: &mut [f64], grad: &[f64], options: StepOptions<'_>) {
        self.t += 1;
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
            if options.l1 > 0.0 {
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
