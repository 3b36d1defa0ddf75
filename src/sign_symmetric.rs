//! Sign-symmetric feedback (Liao, Leibo & Poggio, AAAI 2016; the variants
//! of the biotorch library): the feedback shares only the signs of the
//! forward weights,
//!
//! | pathway | `B_l` (`n_l x n_{l+1}`) |
//! |---|---|
//! | [`SignSymmetric`] (uSF) | `c_l sign(W_{l+1})^T`, `c_l = sqrt(2 / (n_l + n_{l+1}))` |
//! | [`RandomSignSymmetric`] (frSF) | `abs(R_l) ⊙ sign(W_{l+1})^T`, `R_l` fixed random |
//! | [`RedrawnSignSymmetric`] (brSF) | `abs(R_l^t) ⊙ sign(W_{l+1})^T`, `R_l^t` redrawn at every online step `t` |
//!
//! with `sign(0) = 0`. `c_l` is the standard deviation of a Xavier draw, so
//! uSF's entries have the root mean square of feedback alignment's random
//! matrices; frSF's `R_l` are drawn like feedback alignment's, and so are
//! brSF's `R_l^t` (biotorch's "batchwise" variant, with a batch of one
//! sample).
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

use crate::buffer::{check_buffer, units};
use crate::error::{BufferKind, Error};
use crate::init::Init;
use crate::kernel::{part, part_mut};
use crate::pathway::{FeedbackAlignment, FeedbackPathway, next_weights};
use crate::rule::LayerSet;
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

/// Sign-symmetric feedback with random magnitudes redrawn at every online
/// step (brSF): `B_l^t = abs(R_l^t) ⊙ sign(W_{l+1})^T`, where `R^t` is drawn
/// as [`FeedbackAlignment::reinit`] draws feedback matrices from `init`,
/// anew for each step `t`.
///
/// The magnitudes are not stored: entry `k` of the weights' layout at step
/// `t` is a hash of `(seed, t, k)` with 24 random bits (the same in `f32`
/// and `f64`), computed where the feedback reads it. So the pathway needs
/// no heap and no storage, and its only state is the step counter `t`
/// ([`state`](FeedbackPathway::state) is `[t]`), which
/// [`learn`](FeedbackPathway::learn) advances after every step: the
/// meta-gradient checkpoints the counter and revisits each step with the
/// magnitudes it used. The counter wraps at `2^24` steps (exact in `f32`),
/// after which the draws repeat. A step function that does not take the
/// pathway mutably ([`step`](crate::step::step)) leaves the counter, and so
/// the magnitudes, where they are.
///
/// ```
/// use metaplasticity::{shape, FeedbackPathway, Init, RedrawnSignSymmetric};
///
/// type Small = shape![2, 3, 2];
/// let mut brsf = RedrawnSignSymmetric::<f64>::new(7, Init::XavierUniform);
/// let weights = [0.5; 12];
/// let (mut before, mut after) = ([0.0; 3], [0.0; 3]);
/// brsf.feedback(&Small::default(), 1, &weights, &[1.0, 1.0], &[1.0, 1.0], &[], &mut before);
/// FeedbackPathway::<f64, Small>::learn(&mut brsf, &Small::default(), &[], &[])?;
/// brsf.feedback(&Small::default(), 1, &weights, &[1.0, 1.0], &[1.0, 1.0], &[], &mut after);
/// assert_eq!(FeedbackPathway::<f64, Small>::state(&brsf), &[1.0]);
/// assert_ne!(before, after, "new magnitudes");
/// assert!(before.iter().chain(&after).all(|f| *f > 0.0), "the signs of W");
/// # Ok::<(), metaplasticity::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RedrawnSignSymmetric<T> {
    seed: u64,
    init: Init,
    /// `[t]`, the online step whose magnitudes the feedback uses.
    step: [T; 1],
}

/// brSF's step counter wraps here (every integer below is exact in `f32`).
const PERIOD: u32 = 1 << 24;

impl<T: Real> RedrawnSignSymmetric<T> {
    /// brSF at step 0, its magnitudes drawn from `seed` as `init` draws
    /// feedback matrices.
    pub fn new(seed: u64, init: Init) -> Self {
        Self { seed, init, step: [T::zero()] }
    }
    /// The seed of the magnitudes' draws.
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// The online step `t` whose magnitudes the feedback uses.
    pub fn step(&self) -> u32 {
        // set_state and learn keep it a whole number below PERIOD.
        self.step[0].to_f64() as u32
    }
    /// How the magnitudes of `B_l` (`n_l x n_{l+1}`) are drawn at the current step.
    fn draw<S: Shape>(&self, shape: &S, l: usize) -> Draw {
        let key = splitmix64(self.seed ^ splitmix64(u64::from(self.step())));
        let var = 2.0 / (shape.width(l) + shape.width(l + 1)) as f64;
        let (scale, normal) = match self.init {
            // abs(U(-a, a)) = U(0, a) with a = sqrt(3 var), from 24 bits.
            Init::XavierUniform => (libm::sqrt(3.0 * var) / f64::from(PERIOD), false),
            Init::XavierNormal => (libm::sqrt(var), true),
        };
        Draw { key: key as u32, key2: (key >> 32) as u32, offset: shape.weight_offset(l + 1), scale, normal }
    }
}

/// The draw of brSF's magnitudes for one layer at one step.
#[derive(Clone, Copy)]
struct Draw {
    key: u32,
    key2: u32,
    /// Where the layer starts in the weights' layout.
    offset: usize,
    /// `a / 2^24` (uniform) or the standard deviation (normal).
    scale: f64,
    normal: bool,
}

impl Draw {
    /// `abs(r)` for the entry `k` of the layer (column-major, as in `W_{l+1}`).
    #[inline(always)]
    fn at<T: Real>(&self, k: usize) -> T {
        let index = (self.offset + k) as u32;
        let bits = lowbias32(index ^ self.key) >> 8;
        if !self.normal {
            return T::of(f64::from(bits) * self.scale);
        }
        // Half-normal by Box-Muller from two 24-bit uniforms (u1 in (0, 1]).
        let u1 = f64::from(bits + 1) / f64::from(PERIOD);
        let u2 = f64::from(lowbias32(index ^ self.key2) >> 8) / f64::from(PERIOD);
        let r = libm::sqrt(-2.0 * libm::log(u1));
        T::of(self.scale * r * libm::fabs(libm::cos(core::f64::consts::TAU * u2)))
    }
}

/// SplitMix64's output function (Steele, Lea & Flood 2014) of `x`: one
/// 64-bit key per seed and step.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A 32-bit integer hash with low bias (C. Wellons' `lowbias32`): a
/// bijection whose every output bit depends on every input bit, so the
/// entries of one step's draw, and one entry across steps, look independent.
#[inline(always)]
fn lowbias32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^ (x >> 16)
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

/// Where the magnitudes `m_ij` of one `B_l` come from.
#[derive(Clone, Copy)]
enum Magnitudes<'a, T> {
    /// `c_l` for every entry (uSF).
    Uniform(T),
    /// `abs(r_ij)` of a stored matrix in the layout of `W_{l+1}` (frSF).
    Fixed(&'a [T]),
    /// Drawn for the current step (brSF).
    Drawn(Draw),
}

/// `f_j = sum_i m_ij sign(w_ij) v_i` for the columns `j` of `w`
/// (`v.len()` rows) whose `gate` is non-zero (all if `gate` is empty).
fn feedback<T: Real>(w: &[T], m: Magnitudes<'_, T>, v: &[T], gate: &[T], f: &mut [T]) {
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
        match m {
            Magnitudes::Uniform(c) => {
                for (&wi, &vi) in col.iter().zip(v) {
                    sum += sign(wi) * vi;
                }
                sum *= c;
            }
            Magnitudes::Fixed(r) => {
                let mags = part(r, j * rows..(j + 1) * rows);
                for ((&wi, &ri), &vi) in col.iter().zip(mags).zip(v) {
                    sum += ri.abs() * sign(wi) * vi;
                }
            }
            Magnitudes::Drawn(d) => {
                for (i, (&wi, &vi)) in col.iter().zip(v).enumerate() {
                    sum += d.at::<T>(j * rows + i) * sign(wi) * vi;
                }
            }
        }
        *fj = sum;
    }
}

/// The adjoint of [`feedback`]: `vbar_i += sum_j m_ij sign(w_ij) s_j`.
fn feedback_adjoint<T: Real>(w: &[T], m: Magnitudes<'_, T>, s: &[T], vbar: &mut [T]) {
    let rows = vbar.len();
    if rows == 0 {
        return;
    }
    for (j, (col, &sj)) in w.chunks_exact(rows).zip(s).enumerate() {
        if sj == T::zero() {
            continue;
        }
        match m {
            Magnitudes::Uniform(c) => {
                let k = c * sj;
                for (vb, &wi) in vbar.iter_mut().zip(col) {
                    *vb += k * sign(wi);
                }
            }
            Magnitudes::Fixed(r) => {
                let mags = part(r, j * rows..(j + 1) * rows);
                for ((vb, &wi), &ri) in vbar.iter_mut().zip(col).zip(mags) {
                    *vb += ri.abs() * sign(wi) * sj;
                }
            }
            Magnitudes::Drawn(d) => {
                for (i, (vb, &wi)) in vbar.iter_mut().zip(col).enumerate() {
                    *vb += d.at::<T>(j * rows + i) * sign(wi) * sj;
                }
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
        feedback(next_weights(shape, weights, l), Magnitudes::Uniform(scale(shape, l)), e_next, gate, f);
    }
    fn feedback_adjoint(&self, shape: &S, l: usize, weights: &[T], _e: &[T], s: &[T], ebar: &mut [T], _wbar: &mut [T]) {
        let w = next_weights(shape, weights, l);
        feedback_adjoint(w, Magnitudes::Uniform(scale(shape, l)), s, part_mut(ebar, units(shape, l + 1)));
    }
    fn reinit(&mut self, _rng: &mut dyn Rng, _init: Init) {}
    fn name(&self) -> &'static str {
        "usf"
    }
    fn feedback_reads(&self, l: usize) -> LayerSet {
        LayerSet::only(l + 1)
    }
}

impl<T: Real, S: Shape, B: Storage<T>> FeedbackPathway<T, S> for RandomSignSymmetric<T, S, B> {
    fn feedback(&self, shape: &S, l: usize, weights: &[T], e_next: &[T], _e_out: &[T], gate: &[T], f: &mut [T]) {
        feedback(next_weights(shape, weights, l), Magnitudes::Fixed(self.r.transposed(l)), e_next, gate, f);
    }
    fn feedback_adjoint(&self, shape: &S, l: usize, weights: &[T], _e: &[T], s: &[T], ebar: &mut [T], _wbar: &mut [T]) {
        let r = Magnitudes::Fixed(self.r.transposed(l));
        feedback_adjoint(next_weights(shape, weights, l), r, s, part_mut(ebar, units(shape, l + 1)));
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
    fn feedback_reads(&self, l: usize) -> LayerSet {
        LayerSet::only(l + 1)
    }
}

impl<T: Real, S: Shape> FeedbackPathway<T, S> for RedrawnSignSymmetric<T> {
    fn feedback(&self, shape: &S, l: usize, weights: &[T], e_next: &[T], _e_out: &[T], gate: &[T], f: &mut [T]) {
        feedback(next_weights(shape, weights, l), Magnitudes::Drawn(self.draw(shape, l)), e_next, gate, f);
    }
    fn feedback_adjoint(&self, shape: &S, l: usize, weights: &[T], _e: &[T], s: &[T], ebar: &mut [T], _wbar: &mut [T]) {
        let m = Magnitudes::Drawn(self.draw(shape, l));
        feedback_adjoint(next_weights(shape, weights, l), m, s, part_mut(ebar, units(shape, l + 1)));
    }
    /// A new seed from `rng`, `init` for the draws, and the counter back to 0.
    fn reinit(&mut self, rng: &mut dyn Rng, init: Init) {
        *self = Self::new(rng.next_u64(), init);
    }
    fn name(&self) -> &'static str {
        "brsf"
    }
    fn feedback_reads(&self, l: usize) -> LayerSet {
        LayerSet::only(l + 1)
    }
    fn state(&self) -> &[T] {
        &self.step
    }
    fn set_state(&mut self, state: &[T]) -> Result<(), Error> {
        check_buffer(state, 1, BufferKind::Feedback)?;
        let &[t] = state else { return Err(Error::InvalidFeedbackState) };
        let whole = t.to_f64();
        if !(0.0..f64::from(PERIOD)).contains(&whole) || whole != libm::floor(whole) {
            return Err(Error::InvalidFeedbackState);
        }
        self.step = [t];
        Ok(())
    }
    /// Moves to the next step's magnitudes (the activities are not read).
    fn learn(&mut self, _shape: &S, _y: &[T], _e: &[T]) -> Result<(), Error> {
        self.step = [T::of(f64::from((self.step() + 1) % PERIOD))];
        Ok(())
    }
}
