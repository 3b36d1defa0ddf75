//! The forward network: bias-free, fully connected, softplus hidden units,
//! softmax output. Its weights `W_1 .. W_L` live in one caller-provided
//! buffer (boxed on desktop, `static` in firmware), never on the stack.

use nalgebra::DMatrixView;
use rand_core::Rng;

use crate::activation::DEFAULT_BETA;
use crate::activity::load_input;
#[cfg(feature = "alloc")]
use crate::buffer::zeroed_box;
use crate::buffer::{check_buffer, check_shape, layer};
use crate::error::{BufferKind, Error};
use crate::init::Init;
use crate::kernel;
use crate::{Activity, FixedShape, Real, Shape, Storage};

/// A network of shape `S` whose weights are stored in `B`.
///
/// `W_l` (shape `n_l x n_{l-1}`, column-major) occupies
/// `shape.weight_offset(l) .. shape.weight_offset(l) + n_l n_{l-1}` of the
/// buffer.
///
/// The shape is a type known at compile time ([`FixedShape`], zero-sized:
/// [`Network::new`], [`Network::zeros`]) or a [`Widths`](crate::Widths)
/// value chosen at run time ([`Network::with_shape`],
/// [`Network::zeros_for`]).
///
/// Storage is whatever owns a slice of [`Shape::weights`] entries:
///
/// * on desktop, `Box<[T]>` (see [`Network::zeros`], feature `alloc`), built
///   on the heap in place, so the paper's 784-wide network (533 KB for its
///   first layer in `f32`) never passes through the stack;
/// * in firmware, a `&'static mut [T; S::WEIGHTS]` in `.bss`, e.g. from
///   `cortex_m::singleton!(: [f32; Tiny::WEIGHTS] = [0.0; Tiny::WEIGHTS])`,
///   or any `&mut [T]` the caller owns.
///
/// ```
/// use metaplasticity::{shape, FixedShape, Network, Init};
/// use rand_xoshiro::{rand_core::SeedableRng, Xoshiro256PlusPlus};
///
/// type Tiny = shape![64, 32, 16, 10];
/// let mut storage = [0.0f32; Tiny::WEIGHTS];
/// let mut net = Network::<f32, Tiny, _>::new(&mut storage[..]).unwrap();
/// net.init(&mut Xoshiro256PlusPlus::seed_from_u64(1), Init::XavierUniform);
/// assert_eq!(net.layer(2).shape(), (16, 32));
/// assert_eq!(net.layer(4).shape(), (0, 0)); // no layer 4: empty
/// ```
pub struct Network<T, S, B> {
    w: B,
    beta: T,
    /// Set when the weights may have become non-finite behind the step's
    /// back (written through [`Network::as_mut_slice`], or an update that
    /// diverged): the next step scans them before using them. The kernels
    /// skip zero inputs, so a NaN under a black pixel would otherwise go
    /// unnoticed.
    unchecked: bool,
    shape: S,
}

impl<T: Real, S: FixedShape, B: Storage<T>> Network<T, S, B> {
    /// Wraps a weight buffer of exactly [`FixedShape::WEIGHTS`] finite
    /// entries, with the paper's softplus sharpness `beta = 10`.
    pub fn new(w: B) -> Result<Self, Error> {
        const { assert!(S::DEPTH >= 1 && S::OUTPUT >= 1, "a network needs at least one weight layer and one class") };
        Self::with_shape(S::default(), w)
    }
}

impl<T: Real, S: Shape, B: Storage<T>> Network<T, S, B> {
    /// Wraps a weight buffer of exactly `shape.weights()` finite entries for
    /// a network of shape `shape`, with `beta = 10`.
    pub fn with_shape(shape: S, w: B) -> Result<Self, Error> {
        check_shape(&shape)?;
        check_buffer(w.as_ref(), shape.weights(), BufferKind::Weights)?;
        Ok(Self { w, beta: T::of(DEFAULT_BETA), unchecked: false, shape })
    }

    /// The network's shape.
    pub fn shape(&self) -> &S {
        &self.shape
    }

    /// Sets the softplus sharpness `beta` (finite, positive).
    pub fn with_beta(mut self, beta: T) -> Result<Self, Error> {
        if !(beta.is_finite() && beta > T::zero()) {
            return Err(Error::InvalidBeta);
        }
        self.beta = beta;
        Ok(self)
    }

    /// The softplus sharpness `beta`.
    pub fn beta(&self) -> T {
        self.beta
    }

    /// Redraws every `W_l` independently (Xavier-uniform in the paper).
    pub fn init<R: Rng + ?Sized>(&mut self, rng: &mut R, init: Init) {
        for l in 1..=self.shape.depth() {
            let (rows, cols) = (self.shape.width(l), self.shape.width(l - 1));
            init.fill(rng, self.layer_slice_mut(l), cols, rows);
        }
        self.unchecked = false;
    }

    /// `W_l` as an `n_l x n_{l-1}` matrix view, `1 <= l <= L`; outside that
    /// range an empty `0 x 0` view (as every accessor of a buffer indexed by
    /// layer gives an empty result there, never a panic).
    ///
    /// The view is dynamically sized even where the shape is a type: a
    /// fixed-size `MatrixView<T, Const<R>, Const<C>>` would need `R` and `C`
    /// computed from the shape's associated constants (`Const<{ S::WIDTHS[l] }>`),
    /// which stable Rust does not allow (`generic_const_exprs` is unstable);
    /// and run-time shapes ([`Widths`](crate::Widths)) have no such type.
    /// The sizes are still checked: the view is built from exactly
    /// `n_l n_{l-1}` entries.
    pub fn layer(&self, l: usize) -> DMatrixView<'_, T> {
        if l == 0 || l > self.shape.depth() {
            return DMatrixView::from_slice(&[], 0, 0);
        }
        DMatrixView::from_slice(self.layer_slice(l), self.shape.width(l), self.shape.width(l - 1))
    }

    /// All weights, layer after layer, each column-major.
    pub fn as_slice(&self) -> &[T] {
        self.w.as_ref()
    }

    /// All weights, mutable (e.g. to restore a checkpoint). The next
    /// [`step`](crate::step()) or [`Network::check`] scans them once, so
    /// non-finite values written here are reported, never silently used;
    /// until then every forward pass scans them.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        self.unchecked = true;
        self.w.as_mut()
    }

    /// Checks that every weight is finite (after [`Network::as_mut_slice`]
    /// or an [`Error::Diverged`]); forward passes are then free of the scan.
    pub fn check(&mut self) -> Result<(), Error> {
        if self.unchecked {
            if !crate::real::all_finite(self.w.as_ref()) {
                return Err(Error::NonFiniteWeights { what: BufferKind::Weights });
            }
            self.unchecked = false;
        }
        Ok(())
    }

    /// The weights for the step's own use (no scan is scheduled).
    pub(crate) fn weights_mut(&mut self) -> &mut [T] {
        self.w.as_mut()
    }

    /// Marks the weights as needing a scan (after an update that diverged).
    pub(crate) fn mark_unchecked(&mut self) {
        self.unchecked = true;
    }

    /// Errors if the weights were written from outside and are not finite.
    fn ensure_finite(&self) -> Result<(), Error> {
        if self.unchecked && !crate::real::all_finite(self.w.as_ref()) {
            return Err(Error::NonFiniteWeights { what: BufferKind::Weights });
        }
        Ok(())
    }

    /// Gives the storage back.
    pub fn into_inner(self) -> B {
        self.w
    }

    /// The forward pass for input `x` (length `n_0`): fills `y_0 = x`,
    /// `z_l = W_l y_{l-1}`, `y_l = softplus_beta(z_l)` and `p = softmax(z_L)`
    /// in `act`, and returns the predicted class `argmax p`.
    ///
    /// Errors: wrong input length, non-finite input, or activity that
    /// overflowed (nothing is written to the weights in any case).
    pub fn forward<A: Storage<T>>(&self, x: &[T], act: &mut Activity<T, S, A>) -> Result<usize, Error> {
        crate::buffer::same_shape(&self.shape, act.shape())?;
        load_input(act, x)?;
        self.forward_loaded(act)
    }

    /// The forward pass for the input already written into
    /// [`Activity::input_mut`]; as [`Network::forward`] otherwise.
    pub fn forward_loaded<A: Storage<T>>(&self, act: &mut Activity<T, S, A>) -> Result<usize, Error> {
        crate::buffer::same_shape(&self.shape, act.shape())?;
        self.ensure_finite()?;
        act.forward(self.w.as_ref(), self.beta, false)?;
        Ok(act.prediction())
    }

    /// Forward pass for the input in [`Activity::input_mut`] with a known
    /// label: also sets `e_L = p - onehot(label)` and the loss
    /// ([`Activity::loss`]), as used for query sets. Returns the prediction.
    pub fn forward_label<A: Storage<T>>(&self, act: &mut Activity<T, S, A>, label: usize) -> Result<usize, Error> {
        if label >= self.shape.output() {
            return Err(Error::LabelOutOfRange { label, classes: self.shape.output() });
        }
        let prediction = self.forward_loaded(act)?;
        act.set_label(label);
        Ok(prediction)
    }

    /// The modulating signals `e_{L-1} .. e_1` that `pathway` sends for the
    /// activity in `act` (after [`Network::forward_label`]); `e_0` too when
    /// `with_input` is set. Errors if a signal overflows.
    pub fn signals<P, A>(&self, pathway: &P, act: &mut Activity<T, S, A>, with_input: bool) -> Result<(), Error>
    where
        P: crate::FeedbackPathway<T, S> + ?Sized,
        A: Storage<T>,
    {
        crate::buffer::same_shape(&self.shape, act.shape())?;
        pathway.check_shape(&self.shape)?;
        crate::signals::signals(pathway, self.w.as_ref(), act, if with_input { 0 } else { 1 })
    }

    pub(crate) fn layer_slice(&self, l: usize) -> &[T] {
        kernel::part(self.w.as_ref(), layer(&self.shape, l))
    }

    pub(crate) fn layer_slice_mut(&mut self, l: usize) -> &mut [T] {
        kernel::part_mut(self.w.as_mut(), layer(&self.shape, l))
    }
}

#[cfg(feature = "alloc")]
impl<T: Real, S: FixedShape> Network<T, S, alloc::boxed::Box<[T]>> {
    /// A network with all weights zero, allocated on the heap in place.
    pub fn zeros() -> Self {
        const { assert!(S::DEPTH >= 1 && S::OUTPUT >= 1, "a network needs at least one weight layer and one class") };
        Self::zeros_for(S::default())
    }
}

#[cfg(feature = "alloc")]
impl<T: Real, S: Shape> Network<T, S, alloc::boxed::Box<[T]>> {
    /// A network of shape `shape` with all weights zero, on the heap.
    ///
    /// # Panics
    ///
    /// If `shape` has no weight layer: only `shape![n]`, a single width, has
    /// none ([`Widths::new`](crate::Widths::new) refuses it).
    pub fn zeros_for(shape: S) -> Self {
        Self::with_shape(shape, zeroed_box(shape.weights())).unwrap_or_else(|e| panic!("{e}"))
    }
}

impl<T: Real, S: Shape, B: Storage<T> + Clone> Clone for Network<T, S, B> {
    fn clone(&self) -> Self {
        Self { w: self.w.clone(), beta: self.beta, unchecked: self.unchecked, shape: self.shape }
    }
}
