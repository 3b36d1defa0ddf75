//! The Adam optimiser (Kingma & Ba 2015) for the coefficients `Theta`.

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

impl Adam {
    /// A fresh optimiser for `n` coefficients.
    pub fn new(n: usize, lr: f64) -> Self {
        Adam { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, t: 0, m: alloc::vec![0.0; n], v: alloc::vec![0.0; n] }
    }

    /// One step: `theta -= lr * mhat / (sqrt(vhat) + eps)` for the entries
    /// whose `mask` is true (all when `mask` is empty); masked-out entries
    /// keep their value and their moments.
    pub fn step(&mut self, theta: &mut [f64], grad: &[f64], mask: &[bool]) {
        self.t += 1;
        let c1 = 1.0 - libm::pow(self.beta1, self.t as f64);
        let c2 = 1.0 - libm::pow(self.beta2, self.t as f64);
        for (r, (th, &g)) in theta.iter_mut().zip(grad).enumerate() {
            if !mask.get(r).copied().unwrap_or(true) {
                continue;
            }
            self.m[r] = self.beta1 * self.m[r] + (1.0 - self.beta1) * g;
            self.v[r] = self.beta2 * self.v[r] + (1.0 - self.beta2) * g * g;
            let mhat = self.m[r] / c1;
            let vhat = self.v[r] / c2;
            *th -= self.lr * mhat / (libm::sqrt(vhat) + self.eps);
        }
    }
}
