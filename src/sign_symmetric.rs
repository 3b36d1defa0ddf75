//! Sign-symmetric feedback (Liao, Leibo & Poggio, AAAI 2016; the variants
//! of the biotorch library): the feedback shares only the signs of the
//! forward weights,
//!
//! | pathway | `B_l` (`n_l x n_{l+1}`) |
//! |---|---|
//! | [`SignSymmetric`] (uSF) | `c_l sign(W_{l+1})^T`, `c_l = sqrt(2 / (n_l + n_{l+1}))` |
//! | [`RandomSignSymmetric`] (frSF) | `abs(R_l) ⊙ sign(W_{l+1})^T`, `R_l` fixed random |
//!
//! with `sign(0) = 0`. `c_l` is the standard deviation of a Xavier draw, so
//! uSF's entries have the root mean square of feedback alignment's random
//! matrices; frSF's `R_l` are drawn like feedback alignment's.
//!
//! `B_l` is read from the current forward weights at every step, like
//! backprop's `W_{l+1}^T`, but through `sign`, whose derivative is zero
//! wherever it is defined (everywhere but `W = 0`, a set of measure zero).
//! The exact gradient of a step with respect to the weights therefore has
//! no term through the feedback: [`FeedbackPathway::feedback_adjoint`]
//! carries the gradient to `e_{l+1}` through the fixed magnitudes and signs
//! and adds nothing to `Wbar`. That is the gradient of the computation
//! everywhere a small change of `Theta` flips no sign; the finite-difference
//! tests check it there.

use rand_core::Rng;

use crate::buffer::units;
use crate::error::Error;
use crate::init::Init;
use crate::kernel::{part, part_mut};
use crate::pathway::{FeedbackAlignment, FeedbackPathway, next_weights};
use crate::{FixedShape, Real, Shape, Storage};

/// Uniform sign-concordant feedback (uSF): `B_l = c_l sign(W_{l+1})^T`
/// with `c_l = sqrt(2 / (n_l + n_{l+1}))`. No state: nothing to store or
/// redraw, so it runs without a heap (and in firmware).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignSymmetric;

/// Sign-symmetric feedback with fixed random magnitudes (frSF):
/// `B_l = abs(R_l) ⊙ sign(W_{l+1})^T`. The magnitudes `R` are a
/// [`FeedbackAlignment`]'s matrices (same layout, same draw, redrawn by
/// [`FeedbackPathway::reinit`]); only their absolute values are used.
pub struct RandomSignSymmetric<T, S, B> {
    r: FeedbackAlignment<T, S, B>,
}

impl<T: Real, S: FixedShape, B: Storage<T>> RandomSignSymmetric<T, S, B> {
    /// Wraps a buffer of [`FixedShape::WEIGHTS`] finite magnitudes, laid out
    /// as [`FeedbackAlignment::new`] takes them (their signs are not used).
    pub fn new(r: B) -> Result<Self, Error> {
        FeedbackAlignment::new(r).map(|r| Self { r })
    }
}

impl<T: Real, S: Shape, B: Storage<T>> RandomSignSymmetric<T, S, B> {
    /// Wraps a buffer of `shape.weights()` finite magnitudes for a network
    /// of shape `shape`, laid out as [`FeedbackAlignment::with_shape`] takes
    /// them.
    pub fn with_shape(shape: S, r: B) -> Result<Self, Error> {
        FeedbackAlignment::with_shape(shape, r).map(|r| Self { r })
    }
    /// All magnitudes `R`, in the layout of `W`.
    pub fn as_slice(&self) -> &[T] {
        self.r.as_slice()
    }
}

#[cfg(feature = "alloc")]
impl<T: Real, S: FixedShape> RandomSignSymmetric<T, S, alloc::boxed::Box<[T]>> {
    /// Magnitudes drawn from `rng` on the heap, as [`FeedbackAlignment::random`] draws them.
    pub fn random(rng: &mut dyn Rng, init: Init) -> Self {
        Self { r: FeedbackAlignment::random(rng, init) }
    }
}

#[cfg(feature = "alloc")]
impl<T: Real, S: Shape> RandomSignSymmetric<T, S, alloc::boxed::Box<[T]>> {
    /// Magnitudes for a network of shape `shape`, drawn as
    /// [`FeedbackAlignment::random_for`] draws them.
    pub fn random_for(shape: S, rng: &mut dyn Rng, init: Init) -> Self {
        Self { r: FeedbackAlignment::random_for(shape, rng, init) }
    }
}

/// `sign(w)`, with `sign(0) = 0` (and NaN for NaN, which the step reports).
#[inline(always)]
fn sign<T: Real>(w: T) -> T {
    if w > T::zero() {
        T::one()
    } else if w < T::zero() {
        -T::one()
    } else {
        w
    }
}

/// `f_j = sum_i m_ij sign(w_ij) v_i` for the columns `j` of `w`
/// (`v.len()` rows) whose `gate` is non-zero (all if `gate` is empty); the
/// magnitude `m_ij` is `abs(r_ij)`, or `c` where `r` is empty.
fn feedback<T: Real>(w: &[T], r: &[T], c: T, v: &[T], gate: &[T], f: &mut [T]) {
    let rows = v.len();
    if rows == 0 {
        f.fill(T::zero());
        return;
    }
    for (j, (fj, col)) in f.iter_mut().zip(w.chunks_exact(rows)).enumerate() {
        if gate.get(j).is_some_and(|g| *g == T::zero()) {
            *fj = T::zero();
            continue;
        }
        let mut sum = T::zero();
        if r.is_empty() {
            for (&wi, &vi) in col.iter().zip(v) {
                sum += sign(wi) * vi;
            }
            sum *= c;
        } else {
            let mags = part(r, j * rows..(j + 1) * rows);
            for ((&wi, &ri), &vi) in col.iter().zip(mags).zip(v) {
                sum += ri.abs() * sign(wi) * vi;
            }
        }
        *fj = sum;
    }
}

/// The adjoint of [`feedback`]: `vbar_i += sum_j m_ij sign(w_ij) s_j`.
fn feedback_adjoint<T: Real>(w: &[T], r: &[T], c: T, s: &[T], vbar: &mut [T]) {
    let rows = vbar.len();
    if rows == 0 {
        return;
    }
    for (j, (col, &sj)) in w.chunks_exact(rows).zip(s).enumerate() {
        if sj == T::zero() {
            continue;
        }
        if r.is_empty() {
            let k = c * sj;
            for (vb, &wi) in vbar.iter_mut().zip(col) {
                *vb += k * sign(wi);
            }
        } else {
            let mags = part(r, j * rows..(j + 1) * rows);
            for ((vb, &wi), &ri) in vbar.iter_mut().zip(col).zip(mags) {
                *vb += ri.abs() * sign(wi) * sj;
            }
        }
    }
}

/// `c_l = sqrt(2 / (n_l + n_{l+1}))`.
fn scale<T: Real, S: Shape>(shape: &S, l: usize) -> T {
    T::of(libm::sqrt(2.0 / (shape.width(l) + shape.width(l + 1)) as f64))
}

impl<T: Real, S: Shape> FeedbackPathway<T, S> for SignSymmetric {
    fn feedback(&self, shape: &S, l: usize, weights: &[T], e_next: &[T], _e_out: &[T], gate: &[T], f: &mut [T]) {
        feedback(next_weights(shape, weights, l), &[], scale(shape, l), e_next, gate, f);
    }
    fn feedback_adjoint(&self, shape: &S, l: usize, weights: &[T], _e: &[T], s: &[T], ebar: &mut [T], _wbar: &mut [T]) {
        let w = next_weights(shape, weights, l);
        feedback_adjoint(w, &[], scale(shape, l), s, part_mut(ebar, units(shape, l + 1)));
    }
    fn reinit(&mut self, _rng: &mut dyn Rng, _init: Init) {}
    fn name(&self) -> &'static str {
        "usf"
    }
}

impl<T: Real, S: Shape, B: Storage<T>> FeedbackPathway<T, S> for RandomSignSymmetric<T, S, B> {
    fn feedback(&self, shape: &S, l: usize, weights: &[T], e_next: &[T], _e_out: &[T], gate: &[T], f: &mut [T]) {
        feedback(next_weights(shape, weights, l), self.r.transposed(l), T::zero(), e_next, gate, f);
    }
    fn feedback_adjoint(&self, shape: &S, l: usize, weights: &[T], _e: &[T], s: &[T], ebar: &mut [T], _wbar: &mut [T]) {
        let r = self.r.transposed(l);
        feedback_adjoint(next_weights(shape, weights, l), r, T::zero(), s, part_mut(ebar, units(shape, l + 1)));
    }
    fn check_shape(&self, shape: &S) -> Result<(), Error> {
        self.r.check_shape(shape)
    }
    fn reinit(&mut self, rng: &mut dyn Rng, init: Init) {
        self.r.reinit(rng, init);
    }
    fn name(&self) -> &'static str {
        "frsf"
    }
}
