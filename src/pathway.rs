//! Feedback pathways: how the output error `e_L` is carried down to the
//! hidden layers as modulating signals `e_l = f_l ⊙ sigma'(z_l)`.
//!
//! | pathway | `f_l` | reference |
//! |---|---|---|
//! | [`Backprop`] | `W_{l+1}^T e_{l+1}` (always the current weights) | `e_l = dLoss/dz_l` exactly |
//! | [`FeedbackAlignment`] | `B_l e_{l+1}`, `B_l` fixed random `n_l x n_{l+1}` | Lillicrap et al. 2016 |
//! | [`DirectFeedbackAlignment`] | `D_l e_L`, `D_l` fixed random `n_l x n_L` | Nøkland 2016, supplementary note 1 |
//! | [`SignSymmetric`](crate::SignSymmetric) | `c_l sign(W_{l+1})^T e_{l+1}` | Liao, Leibo & Poggio 2016 (uSF) |
//! | [`RandomSignSymmetric`](crate::RandomSignSymmetric) | `(abs(R_l) ⊙ sign(W_{l+1})^T) e_{l+1}` | the same (frSF) |
//!
//! The same rule gives the presynaptic signal of the first layer,
//! `e_0 = f_0 ⊙ (1 - exp(-beta y_0))`, when a plasticity term needs it.

use core::marker::PhantomData;

use rand_core::Rng;

use crate::buffer::{check_buffer, layer, same_shape, units};
use crate::error::{BufferKind, Error};
use crate::init::Init;
use crate::kernel::{self, part, part_mut};
use crate::rule::LayerSet;
use crate::{FixedShape, Real, Shape, Storage};

/// A feedback pathway for networks of shape `S`.
///
/// Implementors compute the feedback `f_l` for `0 <= l < L`; the step then
/// forms `e_l = f_l ⊙ g(y_l)`. Random pathways redraw their matrices in
/// [`FeedbackPathway::reinit`] (the meta-trainer does so every episode).
///
/// The trait is dyn-compatible: `&dyn FeedbackPathway<T, S>` goes wherever a
/// pathway does, and the meta-trainer takes any boxed pathway
/// ([`Trainer::with_pathway`](crate::meta::Trainer::with_pathway)).
///
/// A pathway of one's own, here feedback through a fixed scaled copy of
/// each `B_l = c W_{l+1}^T` taken at the weights it was built from (so the
/// signals stop following the weights as they learn):
///
/// ```
/// use metaplasticity::{shape, FeedbackPathway, Init, Network, Shape};
/// use rand_core::{Rng, SeedableRng};
///
/// type Small = shape![4, 3, 2];
///
/// struct Frozen { copy: Vec<f64>, c: f64 }
///
/// impl<S: Shape> FeedbackPathway<f64, S> for Frozen {
///     fn feedback(&self, shape: &S, l: usize, _w: &[f64], e_next: &[f64], _e_out: &[f64], _gate: &[f64], f: &mut [f64]) {
///         // f_l = c W_{l+1}^T e_{l+1}: one dot product per unit of layer l.
///         let (o, rows) = (shape.weight_offset(l + 1), shape.width(l + 1));
///         for (j, fj) in f.iter_mut().enumerate() {
///             let col = &self.copy[o + j * rows..o + (j + 1) * rows];
///             *fj = self.c * col.iter().zip(e_next).map(|(w, e)| w * e).sum::<f64>();
///         }
///     }
///     fn feedback_adjoint(&self, shape: &S, l: usize, _w: &[f64], _e: &[f64], s: &[f64], ebar: &mut [f64], _wbar: &mut [f64]) {
///         // ebar_{l+1} += c W_{l+1} s; the copy does not depend on the weights.
///         let (o, rows) = (shape.weight_offset(l + 1), shape.width(l + 1));
///         let next = shape.unit_offset(l + 1);
///         for (j, &sj) in s.iter().enumerate() {
///             for i in 0..rows {
///                 ebar[next + i] += self.c * self.copy[o + j * rows + i] * sj;
///             }
///         }
///     }
///     fn check_shape(&self, shape: &S) -> Result<(), metaplasticity::Error> {
///         // The copy must have been taken from a network of this shape.
///         let expected = shape.weights();
///         match self.copy.len() {
///             found if found == expected => Ok(()),
///             found => Err(metaplasticity::Error::BufferLength { what: metaplasticity::BufferKind::Feedback, expected, found }),
///         }
///     }
///     fn reinit(&mut self, _rng: &mut dyn Rng, _init: Init) {}
///     fn name(&self) -> &'static str { "frozen" }
/// }
///
/// let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7);
/// let mut net = Network::<f64, Small, _>::zeros();
/// net.init(&mut rng, Init::XavierUniform);
/// let pathway: Box<dyn FeedbackPathway<f64, Small>> = Box::new(Frozen { copy: net.as_slice().to_vec(), c: 0.5 });
/// assert_eq!(pathway.name(), "frozen");
/// let mut f = [0.0; 3];
/// pathway.feedback(net.shape(), 1, net.as_slice(), &[1.0, 0.0], &[1.0, 0.0], &[], &mut f);
/// // Column 0 of W_2, halved.
/// let w2 = &net.as_slice()[net.shape().weight_offset(2)..];
/// assert!((f[0] - 0.5 * w2[0]).abs() < 1e-15);
/// ```
pub trait FeedbackPathway<T: Real, S: Shape> {
    /// Writes `f_l` (length `n_l`) for a network of shape `shape` (the one
    /// [`check_shape`](Self::check_shape) accepted) given all forward weights `weights`
    /// (the layout of [`Network::as_slice`](crate::Network::as_slice)),
    /// `e_next = e_{l+1}` and `e_out = e_L`. Where `gate[j]` is zero,
    /// `f_l[j]` may be set to zero without computing it (the step passes
    /// `g(y_0)` as the gate for `l = 0`, so black input pixels cost nothing,
    /// and an empty gate otherwise: compute every entry).
    #[allow(clippy::too_many_arguments)]
    fn feedback(&self, shape: &S, l: usize, weights: &[T], e_next: &[T], e_out: &[T], gate: &[T], f: &mut [T]);

    /// The adjoint of [`feedback`](Self::feedback): given `s = dL/df_l`,
    /// adds `dL/de_{l+1}` (or `dL/de_L`) into the signal-gradient block
    /// `ebar` (laid out like [`Activity`](crate::Activity)'s units, all
    /// layers), and, for a pathway that reads the forward weights, their
    /// gradient into `wbar` (laid out like the network's weights). `e` is
    /// the block of all signals `e_0 .. e_L` of the step.
    #[allow(clippy::too_many_arguments)]
    fn feedback_adjoint(&self, shape: &S, l: usize, weights: &[T], e: &[T], s: &[T], ebar: &mut [T], wbar: &mut [T]);

    /// Errors unless the pathway can serve a network of shape `shape`: a
    /// pathway with matrices of its own checks that they were built for
    /// it. The step and the meta-gradient call it before using the pathway;
    /// a pathway that reads only the forward weights accepts any shape
    /// (the default).
    fn check_shape(&self, shape: &S) -> Result<(), Error> {
        let _ = shape;
        Ok(())
    }

    /// Redraws the pathway's random matrices, if it has any (plastic ones
    /// included: their state starts again from the draw).
    fn reinit(&mut self, rng: &mut dyn Rng, init: Init);

    /// A short name for reports: `"bp"`, `"fa"`, `"dfa"`.
    fn name(&self) -> &'static str;

    /// The layers whose forward weights [`feedback`](Self::feedback) and
    /// [`feedback_adjoint`](Self::feedback_adjoint) read for `f_l`:
    /// `W_{l+1}` for backprop and the sign-symmetric pathways, none for
    /// feedback alignment, DFA and Kolen-Pollack (matrices of their own).
    /// Where neither the pathway (for the signals the rule needs) nor the
    /// rule's terms on layer 1 read `W_1`, the meta-gradient's reverse pass
    /// never needs the first layer's weights of earlier steps and does not
    /// recompute them (with `F^0`, three quarters of the paper network's
    /// weights). The default, every layer, is always correct.
    fn feedback_reads(&self, l: usize) -> LayerSet {
        let _ = l;
        LayerSet::ALL
    }

    // Plastic feedback: matrices that change during an episode by a local
    // rule of their own, with meta-parameters learned beside `Theta`
    // ([`KolenPollack`](crate::KolenPollack)). The defaults describe fixed
    // feedback: no state, no parameters, nothing learned, at no cost.

    /// The part of the pathway that changes during an episode (its plastic
    /// matrices, in a layout of its own), `S^t` before online step `t`;
    /// empty for fixed feedback.
    fn state(&self) -> &[T] {
        &[]
    }

    /// Overwrites the state with `state` (as many entries as
    /// [`state`](Self::state)), as the meta-gradient does to revisit a
    /// step. Errors on another length, or non-finite entries.
    fn set_state(&mut self, state: &[T]) -> Result<(), Error> {
        check_buffer(state, 0, BufferKind::Feedback)
    }

    /// The pathway's own plasticity after an online step: `S^{t+1}` from
    /// `S^t` and the step's activities `y` and signals `e` (all layers, as
    /// blocks laid out like [`Activity`](crate::Activity)'s units). The step
    /// functions that take the pathway mutably
    /// ([`step_plastic`](crate::step::step_plastic), the meta-gradient) call
    /// it after the weights' update. Errors if the state overflows.
    fn learn(&mut self, shape: &S, y: &[T], e: &[T]) -> Result<(), Error> {
        let _ = (shape, y, e);
        Ok(())
    }

    /// The adjoint of [`learn`](Self::learn) at the current state `S^t`:
    /// on entry `state_bar` is `dL/dS^{t+1}`, on return the part of
    /// `dL/dS^t` that flows through `learn`; `dL/dy` and `dL/de` of the
    /// step are added into `ybar` and `ebar` (unit blocks), and the
    /// gradients of the [`params`](Self::params) into `params_bar`.
    #[allow(clippy::too_many_arguments)]
    fn learn_adjoint(
        &self,
        shape: &S,
        y: &[T],
        e: &[T],
        state_bar: &mut [T],
        ybar: &mut [T],
        ebar: &mut [T],
        params_bar: &mut [T],
    ) {
        let _ = (shape, y, e, state_bar, ybar, ebar, params_bar);
    }

    /// Adds `dL/dS^t` through the feedback of layer `l`, given
    /// `s = dL/df_l` and the step's signals `e` (the state's share of
    /// [`feedback_adjoint`](Self::feedback_adjoint)).
    fn feedback_state_adjoint(&self, shape: &S, l: usize, e: &[T], s: &[T], state_bar: &mut [T]) {
        let _ = (shape, l, e, s, state_bar);
    }

    /// The meta-parameters of the pathway's plasticity, learned with
    /// `Theta` by the meta-trainer (after the rule's coefficients); empty
    /// for fixed feedback.
    fn params(&self) -> &[T] {
        &[]
    }

    /// Names of the [`params`](Self::params), for reports (`"eta_B"`, ...).
    fn param_names(&self) -> &'static [&'static str] {
        &[]
    }

    /// Sets the [`params`](Self::params). Errors on another length or a
    /// non-finite value.
    fn set_params(&mut self, params: &[T]) -> Result<(), Error> {
        check_buffer(params, 0, BufferKind::Theta)
    }
}

/// Backprop: `B_l = W_{l+1}^T`, read from the current forward weights at
/// every step, so `e_l` is the exact gradient of the loss with respect to
/// `z_l`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backprop;

impl<T: Real, S: Shape> FeedbackPathway<T, S> for Backprop {
    #[inline]
    fn feedback(&self, shape: &S, l: usize, weights: &[T], e_next: &[T], _e_out: &[T], gate: &[T], f: &mut [T]) {
        kernel::tr_mul_gated(next_weights(shape, weights, l), e_next, gate, f);
    }
    fn feedback_adjoint(&self, shape: &S, l: usize, weights: &[T], e: &[T], s: &[T], ebar: &mut [T], wbar: &mut [T]) {
        // f_l = W_{l+1}^T e_{l+1}: ebar_{l+1} += W_{l+1} s, Wbar_{l+1} += e_{l+1} s^T.
        let next = units(shape, l + 1);
        kernel::mul_add(next_weights(shape, weights, l), s, part_mut(ebar, next.clone()));
        kernel::rank_one(part_mut(wbar, layer(shape, l + 1)), part(e, next), s);
    }
    fn reinit(&mut self, _rng: &mut dyn Rng, _init: Init) {}
    fn name(&self) -> &'static str {
        "bp"
    }
    fn feedback_reads(&self, l: usize) -> LayerSet {
        LayerSet::only(l + 1)
    }
}

/// `W_{l+1}` within all the weights.
pub(crate) fn next_weights<'a, T: Real, S: Shape>(shape: &S, weights: &'a [T], l: usize) -> &'a [T] {
    part(weights, layer(shape, l + 1))
}

/// Feedback alignment: fixed random `B_l` of shape `n_l x n_{l+1}` for
/// `l = 0 .. L-1`, in one buffer of [`Shape::weights`] entries. Each `B_l`
/// is stored as its transpose, column-major `n_{l+1} x n_l` (the layout of
/// `W_{l+1}`, at the same offset), so that `f_l = B_l e_{l+1}` is one dot
/// product per unit and can skip units whose slope is zero.
pub struct FeedbackAlignment<T, S, B> {
    b: B,
    shape: S,
    scalar: PhantomData<T>,
}

/// Direct feedback alignment: fixed random `D_l` of shape `n_l x n_L` for
/// `l = 0 .. L-1` (one buffer of [`Shape::direct`] entries, each `D_l`
/// stored as its transpose, column-major `n_L x n_l`), carrying the output
/// error straight to every layer. `D_{L-1}` plays the role of `B_{L-1}`.
pub struct DirectFeedbackAlignment<T, S, B> {
    d: B,
    shape: S,
    scalar: PhantomData<T>,
}

impl<T: Real, S: FixedShape, B: Storage<T>> FeedbackAlignment<T, S, B> {
    /// Wraps a buffer of [`FixedShape::WEIGHTS`] finite entries.
    pub fn new(b: B) -> Result<Self, Error> {
        Self::with_shape(S::default(), b)
    }
}

impl<T: Real, S: Shape, B: Storage<T>> FeedbackAlignment<T, S, B> {
    /// Wraps a buffer of `shape.weights()` finite entries for a network of
    /// shape `shape`.
    pub fn with_shape(shape: S, b: B) -> Result<Self, Error> {
        check_buffer(b.as_ref(), shape.weights(), BufferKind::Feedback)?;
        Ok(Self { b, shape, scalar: PhantomData })
    }
    /// `B_l^T` (`0 <= l < L`): column-major `n_{l+1} x n_l`, that is `B_l`
    /// (`n_l x n_{l+1}`) in row-major order.
    pub fn transposed(&self, l: usize) -> &[T] {
        part(self.b.as_ref(), layer(&self.shape, l.saturating_add(1)))
    }
    /// All feedback matrices, in the layout of [`FeedbackAlignment::transposed`].
    pub fn as_slice(&self) -> &[T] {
        self.b.as_ref()
    }
    /// The shape the matrices were built for.
    pub fn shape(&self) -> &S {
        &self.shape
    }
    /// All feedback matrices, writable (for plastic feedback built on them).
    pub(crate) fn as_mut_slice(&mut self) -> &mut [T] {
        self.b.as_mut()
    }
}

impl<T: Real, S: FixedShape, B: Storage<T>> DirectFeedbackAlignment<T, S, B> {
    /// Wraps a buffer of [`FixedShape::DIRECT`] finite entries.
    pub fn new(d: B) -> Result<Self, Error> {
        Self::with_shape(S::default(), d)
    }
}

impl<T: Real, S: Shape, B: Storage<T>> DirectFeedbackAlignment<T, S, B> {
    /// Wraps a buffer of `shape.direct()` finite entries for a network of
    /// shape `shape`.
    pub fn with_shape(shape: S, d: B) -> Result<Self, Error> {
        check_buffer(d.as_ref(), shape.direct(), BufferKind::DirectFeedback)?;
        Ok(Self { d, shape, scalar: PhantomData })
    }
    /// `D_l^T` (`0 <= l < L`): column-major `n_L x n_l`, that is `D_l`
    /// (`n_l x n_L`) in row-major order.
    pub fn transposed(&self, l: usize) -> &[T] {
        let o = self.shape.unit_offset(l) * self.shape.output();
        part(self.d.as_ref(), o..o + self.shape.width(l) * self.shape.output())
    }
    /// All direct feedback matrices, in the layout of
    /// [`DirectFeedbackAlignment::transposed`].
    pub fn as_slice(&self) -> &[T] {
        self.d.as_ref()
    }
}

#[cfg(feature = "alloc")]
impl<T: Real, S: FixedShape> FeedbackAlignment<T, S, alloc::boxed::Box<[T]>> {
    /// Feedback matrices drawn from `rng` on the heap.
    pub fn random(rng: &mut dyn Rng, init: Init) -> Self {
        Self::random_for(S::default(), rng, init)
    }
}

#[cfg(feature = "alloc")]
impl<T: Real, S: Shape> FeedbackAlignment<T, S, alloc::boxed::Box<[T]>> {
    /// Feedback matrices for a network of shape `shape`, drawn from `rng`
    /// on the heap.
    pub fn random_for(shape: S, rng: &mut dyn Rng, init: Init) -> Self {
        let mut fa = Self { b: crate::buffer::zeroed_box(shape.weights()), shape, scalar: PhantomData };
        fa.reinit(rng, init);
        fa
    }
}

#[cfg(feature = "alloc")]
impl<T: Real, S: FixedShape> DirectFeedbackAlignment<T, S, alloc::boxed::Box<[T]>> {
    /// Direct feedback matrices drawn from `rng` on the heap.
    pub fn random(rng: &mut dyn Rng, init: Init) -> Self {
        Self::random_for(S::default(), rng, init)
    }
}

#[cfg(feature = "alloc")]
impl<T: Real, S: Shape> DirectFeedbackAlignment<T, S, alloc::boxed::Box<[T]>> {
    /// Direct feedback matrices for a network of shape `shape`, drawn from
    /// `rng` on the heap.
    pub fn random_for(shape: S, rng: &mut dyn Rng, init: Init) -> Self {
        let mut dfa = Self { d: crate::buffer::zeroed_box(shape.direct()), shape, scalar: PhantomData };
        dfa.reinit(rng, init);
        dfa
    }
}

impl<T: Real, S: Shape, B: Storage<T>> FeedbackPathway<T, S> for FeedbackAlignment<T, S, B> {
    #[inline]
    fn feedback(&self, _shape: &S, l: usize, _weights: &[T], e_next: &[T], _e_out: &[T], gate: &[T], f: &mut [T]) {
        kernel::tr_mul_gated(self.transposed(l), e_next, gate, f);
    }
    fn feedback_adjoint(
        &self,
        _shape: &S,
        l: usize,
        _weights: &[T],
        _e: &[T],
        s: &[T],
        ebar: &mut [T],
        _wbar: &mut [T],
    ) {
        kernel::mul_add(self.transposed(l), s, part_mut(ebar, units(&self.shape, l + 1)));
    }
    fn check_shape(&self, shape: &S) -> Result<(), Error> {
        same_shape(&self.shape, shape)
    }
    fn reinit(&mut self, rng: &mut dyn Rng, init: Init) {
        let shape = self.shape;
        for l in 0..shape.depth() {
            let (rows, cols) = (shape.width(l), shape.width(l + 1));
            init.fill(rng, part_mut(self.b.as_mut(), layer(&shape, l + 1)), cols, rows);
        }
    }
    fn name(&self) -> &'static str {
        "fa"
    }
    fn feedback_reads(&self, _l: usize) -> LayerSet {
        LayerSet::NONE
    }
}

impl<T: Real, S: Shape, B: Storage<T>> FeedbackPathway<T, S> for DirectFeedbackAlignment<T, S, B> {
    #[inline]
    fn feedback(&self, _shape: &S, l: usize, _weights: &[T], _e_next: &[T], e_out: &[T], gate: &[T], f: &mut [T]) {
        kernel::tr_mul_gated(self.transposed(l), e_out, gate, f);
    }
    fn feedback_adjoint(
        &self,
        _shape: &S,
        l: usize,
        _weights: &[T],
        _e: &[T],
        s: &[T],
        ebar: &mut [T],
        _wbar: &mut [T],
    ) {
        kernel::mul_add(self.transposed(l), s, part_mut(ebar, units(&self.shape, self.shape.depth())));
    }
    fn check_shape(&self, shape: &S) -> Result<(), Error> {
        same_shape(&self.shape, shape)
    }
    fn reinit(&mut self, rng: &mut dyn Rng, init: Init) {
        let shape = self.shape;
        for l in 0..shape.depth() {
            let o = shape.unit_offset(l) * shape.output();
            let (rows, cols) = (shape.width(l), shape.output());
            init.fill(rng, part_mut(self.d.as_mut(), o..o + rows * cols), cols, rows);
        }
    }
    fn name(&self) -> &'static str {
        "dfa"
    }
    fn feedback_reads(&self, _l: usize) -> LayerSet {
        LayerSet::NONE
    }
}
