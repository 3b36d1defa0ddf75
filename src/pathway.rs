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

use crate::buffer::check_buffer;
use crate::buffer::units;
use crate::error::{BufferKind, Error};
use crate::init::Init;
use crate::kernel::{self, part, part_mut};
use crate::{Real, Shape, Storage};

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
/// impl FeedbackPathway<f64, Small> for Frozen {
///     fn feedback(&self, l: usize, _w: &[f64], e_next: &[f64], _e_out: &[f64], _gate: &[f64], f: &mut [f64]) {
///         // f_l = c W_{l+1}^T e_{l+1}: one dot product per unit of layer l.
///         let o = Small::weight_offset(l + 1);
///         let rows = Small::width(l + 1);
///         for (j, fj) in f.iter_mut().enumerate() {
///             let col = &self.copy[o + j * rows..o + (j + 1) * rows];
///             *fj = self.c * col.iter().zip(e_next).map(|(w, e)| w * e).sum::<f64>();
///         }
///     }
///     fn feedback_adjoint(&self, l: usize, _w: &[f64], _e: &[f64], s: &[f64], ebar: &mut [f64], _wbar: &mut [f64]) {
///         // ebar_{l+1} += c W_{l+1} s; the copy does not depend on the weights.
///         let (o, rows) = (Small::weight_offset(l + 1), Small::width(l + 1));
///         let next = Small::unit_offset(l + 1);
///         for (j, &sj) in s.iter().enumerate() {
///             for i in 0..rows {
///                 ebar[next + i] += self.c * self.copy[o + j * rows + i] * sj;
///             }
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
/// pathway.feedback(1, net.as_slice(), &[1.0, 0.0], &[1.0, 0.0], &[], &mut f);
/// // Column 0 of W_2, halved.
/// let w2 = &net.as_slice()[Small::weight_offset(2)..];
/// assert!((f[0] - 0.5 * w2[0]).abs() < 1e-15);
/// ```
pub trait FeedbackPathway<T: Real, S: Shape> {
    /// Writes `f_l` (length `n_l`) given all forward weights `weights`
    /// (the layout of [`Network::as_slice`](crate::Network::as_slice)),
    /// `e_next = e_{l+1}` and `e_out = e_L`. Where `gate[j]` is zero,
    /// `f_l[j]` may be set to zero without computing it (the step passes
    /// `g(y_0)` as the gate for `l = 0`, so black input pixels cost nothing,
    /// and an empty gate otherwise: compute every entry).
    fn feedback(&self, l: usize, weights: &[T], e_next: &[T], e_out: &[T], gate: &[T], f: &mut [T]);

    /// The adjoint of [`feedback`](Self::feedback): given `s = dL/df_l`,
    /// adds `dL/de_{l+1}` (or `dL/de_L`) into the signal-gradient block
    /// `ebar` (laid out like [`Activity`](crate::Activity)'s units, all
    /// layers), and, for a pathway that reads the forward weights, their
    /// gradient into `wbar` (laid out like the network's weights). `e` is
    /// the block of all signals `e_0 .. e_L` of the step.
    fn feedback_adjoint(&self, l: usize, weights: &[T], e: &[T], s: &[T], ebar: &mut [T], wbar: &mut [T]);

    /// Redraws the pathway's fixed random matrices, if it has any.
    fn reinit(&mut self, rng: &mut dyn Rng, init: Init);

    /// A short name for reports: `"bp"`, `"fa"`, `"dfa"`.
    fn name(&self) -> &'static str;
}

/// Backprop: `B_l = W_{l+1}^T`, read from the current forward weights at
/// every step, so `e_l` is the exact gradient of the loss with respect to
/// `z_l`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backprop;

impl<T: Real, S: Shape> FeedbackPathway<T, S> for Backprop {
    #[inline]
    fn feedback(&self, l: usize, weights: &[T], e_next: &[T], _e_out: &[T], gate: &[T], f: &mut [T]) {
        kernel::tr_mul_gated(next_weights::<T, S>(weights, l), e_next, gate, f);
    }
    fn feedback_adjoint(&self, l: usize, weights: &[T], e: &[T], s: &[T], ebar: &mut [T], wbar: &mut [T]) {
        // f_l = W_{l+1}^T e_{l+1}: ebar_{l+1} += W_{l+1} s, Wbar_{l+1} += e_{l+1} s^T.
        let next = units::<S>(l + 1);
        kernel::mul_add(next_weights::<T, S>(weights, l), s, part_mut(ebar, next.clone()));
        let o = S::weight_offset(l + 1);
        kernel::rank_one(part_mut(wbar, o..o + S::width(l + 1) * S::width(l)), part(e, next), s);
    }
    fn reinit(&mut self, _rng: &mut dyn Rng, _init: Init) {}
    fn name(&self) -> &'static str {
        "bp"
    }
}

/// `W_{l+1}` within all the weights.
pub(crate) fn next_weights<T: Real, S: Shape>(weights: &[T], l: usize) -> &[T] {
    let o = S::weight_offset(l + 1);
    part(weights, o..o + S::width(l + 1) * S::width(l))
}

/// Feedback alignment: fixed random `B_l` of shape `n_l x n_{l+1}` for
/// `l = 0 .. L-1`, in one buffer of [`Shape::WEIGHTS`] entries. Each `B_l`
/// is stored as its transpose, column-major `n_{l+1} x n_l` (the layout of
/// `W_{l+1}`, at the same offset), so that `f_l = B_l e_{l+1}` is one dot
/// product per unit and can skip units whose slope is zero.
pub struct FeedbackAlignment<T, S, B> {
    b: B,
    shape: PhantomData<(T, S)>,
}

/// Direct feedback alignment: fixed random `D_l` of shape `n_l x n_L` for
/// `l = 0 .. L-1` (one buffer of [`Shape::DIRECT`] entries, each `D_l`
/// stored as its transpose, column-major `n_L x n_l`), carrying the output
/// error straight to every layer. `D_{L-1}` plays the role of `B_{L-1}`.
pub struct DirectFeedbackAlignment<T, S, B> {
    d: B,
    shape: PhantomData<(T, S)>,
}

impl<T: Real, S: Shape, B: Storage<T>> FeedbackAlignment<T, S, B> {
    /// Wraps a buffer of [`Shape::WEIGHTS`] finite entries.
    pub fn new(b: B) -> Result<Self, Error> {
        check_buffer(b.as_ref(), S::WEIGHTS, BufferKind::Feedback)?;
        Ok(Self { b, shape: PhantomData })
    }
    /// `B_l^T` (`0 <= l < L`): column-major `n_{l+1} x n_l`, that is `B_l`
    /// (`n_l x n_{l+1}`) in row-major order.
    pub fn transposed(&self, l: usize) -> &[T] {
        let o = S::weight_offset(l + 1);
        part(self.b.as_ref(), o..o + S::width(l) * S::width(l + 1))
    }
    /// All feedback matrices, in the layout of [`FeedbackAlignment::transposed`].
    pub fn as_slice(&self) -> &[T] {
        self.b.as_ref()
    }
}

impl<T: Real, S: Shape, B: Storage<T>> DirectFeedbackAlignment<T, S, B> {
    /// Wraps a buffer of [`Shape::DIRECT`] finite entries.
    pub fn new(d: B) -> Result<Self, Error> {
        check_buffer(d.as_ref(), S::DIRECT, BufferKind::DirectFeedback)?;
        Ok(Self { d, shape: PhantomData })
    }
    /// `D_l^T` (`0 <= l < L`): column-major `n_L x n_l`, that is `D_l`
    /// (`n_l x n_L`) in row-major order.
    pub fn transposed(&self, l: usize) -> &[T] {
        let o = S::unit_offset(l) * S::OUTPUT;
        part(self.d.as_ref(), o..o + S::width(l) * S::OUTPUT)
    }
    /// All direct feedback matrices, in the layout of
    /// [`DirectFeedbackAlignment::transposed`].
    pub fn as_slice(&self) -> &[T] {
        self.d.as_ref()
    }
}

#[cfg(feature = "alloc")]
impl<T: Real, S: Shape> FeedbackAlignment<T, S, alloc::boxed::Box<[T]>> {
    /// Feedback matrices drawn from `rng` on the heap.
    pub fn random(rng: &mut dyn Rng, init: Init) -> Self {
        let mut fa = Self { b: crate::buffer::zeroed_box(S::WEIGHTS), shape: PhantomData };
        fa.reinit(rng, init);
        fa
    }
}

#[cfg(feature = "alloc")]
impl<T: Real, S: Shape> DirectFeedbackAlignment<T, S, alloc::boxed::Box<[T]>> {
    /// Direct feedback matrices drawn from `rng` on the heap.
    pub fn random(rng: &mut dyn Rng, init: Init) -> Self {
        let mut dfa = Self { d: crate::buffer::zeroed_box(S::DIRECT), shape: PhantomData };
        dfa.reinit(rng, init);
        dfa
    }
}

impl<T: Real, S: Shape, B: Storage<T>> FeedbackPathway<T, S> for FeedbackAlignment<T, S, B> {
    #[inline]
    fn feedback(&self, l: usize, _weights: &[T], e_next: &[T], _e_out: &[T], gate: &[T], f: &mut [T]) {
        kernel::tr_mul_gated(self.transposed(l), e_next, gate, f);
    }
    fn feedback_adjoint(&self, l: usize, _weights: &[T], _e: &[T], s: &[T], ebar: &mut [T], _wbar: &mut [T]) {
        kernel::mul_add(self.transposed(l), s, part_mut(ebar, units::<S>(l + 1)));
    }
    fn reinit(&mut self, rng: &mut dyn Rng, init: Init) {
        for l in 0..S::DEPTH {
            let o = S::weight_offset(l + 1);
            let (rows, cols) = (S::width(l), S::width(l + 1));
            init.fill(rng, part_mut(self.b.as_mut(), o..o + rows * cols), cols, rows);
        }
    }
    fn name(&self) -> &'static str {
        "fa"
    }
}

impl<T: Real, S: Shape, B: Storage<T>> FeedbackPathway<T, S> for DirectFeedbackAlignment<T, S, B> {
    #[inline]
    fn feedback(&self, l: usize, _weights: &[T], _e_next: &[T], e_out: &[T], gate: &[T], f: &mut [T]) {
        kernel::tr_mul_gated(self.transposed(l), e_out, gate, f);
    }
    fn feedback_adjoint(&self, l: usize, _weights: &[T], _e: &[T], s: &[T], ebar: &mut [T], _wbar: &mut [T]) {
        kernel::mul_add(self.transposed(l), s, part_mut(ebar, units::<S>(S::DEPTH)));
    }
    fn reinit(&mut self, rng: &mut dyn Rng, init: Init) {
        for l in 0..S::DEPTH {
            let o = S::unit_offset(l) * S::OUTPUT;
            let (rows, cols) = (S::width(l), S::OUTPUT);
            init.fill(rng, part_mut(self.d.as_mut(), o..o + rows * cols), cols, rows);
        }
    }
    fn name(&self) -> &'static str {
        "dfa"
    }
}

/// A pathway chosen at run time (feature `alloc`): backprop, feedback
/// alignment or direct feedback alignment, with boxed matrices.
#[cfg(feature = "alloc")]
pub enum AnyPathway<T, S> {
    /// [`Backprop`].
    Backprop,
    /// [`FeedbackAlignment`].
    Alignment(FeedbackAlignment<T, S, alloc::boxed::Box<[T]>>),
    /// [`DirectFeedbackAlignment`].
    Direct(DirectFeedbackAlignment<T, S, alloc::boxed::Box<[T]>>),
    /// [`SignSymmetric`](crate::SignSymmetric) (uSF).
    SignSymmetric,
    /// [`RandomSignSymmetric`](crate::RandomSignSymmetric) (frSF).
    RandomSignSymmetric(crate::RandomSignSymmetric<T, S, alloc::boxed::Box<[T]>>),
}

/// Which pathway, without its matrices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PathwayKind {
    /// Backprop, `B_l = W_{l+1}^T`.
    Backprop,
    /// Feedback alignment, fixed random `B_l`.
    #[default]
    Alignment,
    /// Direct feedback alignment, fixed random `D_l`.
    Direct,
    /// Uniform sign-concordant feedback, `B_l = c_l sign(W_{l+1})^T` (uSF).
    SignSymmetric,
    /// Sign-concordant feedback with fixed random magnitudes (frSF).
    RandomSignSymmetric,
}

#[cfg(feature = "alloc")]
impl<T: Real, S: Shape> AnyPathway<T, S> {
    /// A pathway of the given kind, random matrices drawn from `rng`.
    pub fn new(kind: PathwayKind, rng: &mut dyn Rng, init: Init) -> Self {
        match kind {
            PathwayKind::Backprop => AnyPathway::Backprop,
            PathwayKind::Alignment => AnyPathway::Alignment(FeedbackAlignment::random(rng, init)),
            PathwayKind::Direct => AnyPathway::Direct(DirectFeedbackAlignment::random(rng, init)),
            PathwayKind::SignSymmetric => AnyPathway::SignSymmetric,
            PathwayKind::RandomSignSymmetric => {
                AnyPathway::RandomSignSymmetric(crate::RandomSignSymmetric::random(rng, init))
            }
        }
    }
}

#[cfg(feature = "alloc")]
impl<T: Real, S: Shape> FeedbackPathway<T, S> for AnyPathway<T, S> {
    #[inline]
    fn feedback(&self, l: usize, weights: &[T], e_next: &[T], e_out: &[T], gate: &[T], f: &mut [T]) {
        match self {
            AnyPathway::Backprop => FeedbackPathway::<T, S>::feedback(&Backprop, l, weights, e_next, e_out, gate, f),
            AnyPathway::Alignment(p) => p.feedback(l, weights, e_next, e_out, gate, f),
            AnyPathway::Direct(p) => p.feedback(l, weights, e_next, e_out, gate, f),
            AnyPathway::SignSymmetric => {
                FeedbackPathway::<T, S>::feedback(&crate::SignSymmetric, l, weights, e_next, e_out, gate, f)
            }
            AnyPathway::RandomSignSymmetric(p) => p.feedback(l, weights, e_next, e_out, gate, f),
        }
    }
    fn feedback_adjoint(&self, l: usize, weights: &[T], e: &[T], s: &[T], ebar: &mut [T], wbar: &mut [T]) {
        match self {
            AnyPathway::Backprop => FeedbackPathway::<T, S>::feedback_adjoint(&Backprop, l, weights, e, s, ebar, wbar),
            AnyPathway::Alignment(p) => p.feedback_adjoint(l, weights, e, s, ebar, wbar),
            AnyPathway::Direct(p) => p.feedback_adjoint(l, weights, e, s, ebar, wbar),
            AnyPathway::SignSymmetric => {
                FeedbackPathway::<T, S>::feedback_adjoint(&crate::SignSymmetric, l, weights, e, s, ebar, wbar)
            }
            AnyPathway::RandomSignSymmetric(p) => p.feedback_adjoint(l, weights, e, s, ebar, wbar),
        }
    }
    fn reinit(&mut self, rng: &mut dyn Rng, init: Init) {
        match self {
            AnyPathway::Backprop => {}
            AnyPathway::Alignment(p) => p.reinit(rng, init),
            AnyPathway::Direct(p) => p.reinit(rng, init),
            AnyPathway::SignSymmetric => {}
            AnyPathway::RandomSignSymmetric(p) => p.reinit(rng, init),
        }
    }
    fn name(&self) -> &'static str {
        match self {
            AnyPathway::Backprop => "bp",
            AnyPathway::Alignment(_) => "fa",
            AnyPathway::Direct(_) => "dfa",
            AnyPathway::SignSymmetric => "usf",
            AnyPathway::RandomSignSymmetric(_) => "frsf",
        }
    }
}
