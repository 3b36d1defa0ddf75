//! Per-sample activity: everything one online step computes before it
//! updates the weights, kept in one caller-provided buffer.

use crate::activation::softplus_slope;
use crate::buffer::units;
use crate::error::{BufferKind, Error};
use crate::forward::forward_layer;
use crate::kernel::{part, part_mut, split_mut};
use crate::{FixedShape, Real, Shape, Storage};

/// The activity of a network of shape `S` for one sample, in one buffer of
/// [`Shape::activity_len`] entries:
///
/// * `y_l` for `l = 0 .. L` (`y_0 = x`, and at the top `y_L = p = softmax(z_L)`,
///   the "postsynaptic activity" `yhat_L` used by plasticity terms),
/// * `z_l = W_l y_{l-1}`,
/// * `e_l`, the modulating signals (`e_L = p - onehot(label)`),
/// * `f_l = B_l e_{l+1}` (or `D_l e_L`), the feedback before the slope,
///   `e_l = f_l ⊙ g(y_l)`,
/// * the slopes `g(y_l) = 1 - exp(-beta y_l) = sigma'(z_l)` (`l < L`; for
///   `l = 0` the same function of the input, computed with `e_0` where a
///   term needs it and zero otherwise),
/// * `W_l^T yhat_l`, the products the update of layer `l` reads when a
///   term needs them (Oja's `F^9`), in the layout of layer `l - 1`'s
///   units: the update computes them from the weights of the step and the
///   meta-gradient's recomputed update and adjoint of the same step read
///   them back instead of computing them again.
///
/// ```
/// use metaplasticity::{shape, Activity, FixedShape};
/// type Tiny = shape![64, 32, 16, 10];
/// let mut buf = [0.0f32; Tiny::ACTIVITY];
/// let act = Activity::<f32, Tiny, _>::new(&mut buf[..]).unwrap();
/// assert_eq!(act.y(2).len(), 16);
/// ```
pub struct Activity<T, S, B> {
    buf: B,
    loss: T,
    log_norm: T,
    label: Option<usize>,
    /// Bit `l - 1` is set where the `W_l^T yhat_l` block holds the product
    /// of this activity's `yhat_l` with the weights of its step (set by the
    /// update; cleared by a forward pass; `MAX_DEPTH` bits at most).
    wt_post: u64,
    /// The softplus sharpness of the last forward pass (for `g(y_0)`, when
    /// the signals are asked for `e_0` after a pass that did not compute
    /// them).
    beta: T,
    /// Whether the `g(y_0)` block may hold something other than zeros
    /// (the slopes of the current input, or a new buffer's contents).
    input_slopes: bool,
    shape: S,
}

/// The buffer split into its blocks, each `shape.units()` long.
pub(crate) struct Blocks<'a, T> {
    pub y: &'a mut [T],
    pub z: &'a mut [T],
    pub e: &'a mut [T],
    pub f: &'a mut [T],
    pub g: &'a mut [T],
    /// `W_l^T yhat_l` in the units of layer `l - 1`.
    pub wt_post: &'a mut [T],
    /// The activity's record of which layers' `wt_post` is current.
    pub wt_valid: &'a mut u64,
}

impl<T: Real, S: FixedShape, B: Storage<T>> Activity<T, S, B> {
    /// Wraps a buffer of exactly [`FixedShape::ACTIVITY`] entries (any contents).
    pub fn new(buf: B) -> Result<Self, Error> {
        Self::with_shape(S::default(), buf)
    }
}

impl<T: Real, S: Shape, B: Storage<T>> Activity<T, S, B> {
    /// Wraps a buffer of exactly `shape.activity_len()` entries (any
    /// contents) for a network of shape `shape`.
    pub fn with_shape(shape: S, buf: B) -> Result<Self, Error> {
        crate::buffer::check_len(buf.as_ref(), shape.activity_len(), BufferKind::Activity)?;
        let (loss, log_norm, beta) = (T::zero(), T::zero(), T::zero());
        Ok(Self { buf, loss, log_norm, label: None, wt_post: 0, beta, input_slopes: true, shape })
    }

    /// The shape the buffer was built for.
    pub fn shape(&self) -> &S {
        &self.shape
    }

    /// Activity `y_l` (`0 <= l <= L`; `y_L` is the softmax output `p`).
    /// Like every accessor of a buffer indexed by layer, it is empty for a
    /// layer outside its range, never a panic.
    pub fn y(&self, l: usize) -> &[T] {
        self.block(0, l, 0..self.shape.depth() + 1)
    }
    /// Pre-activation `z_l = W_l y_{l-1}` (`1 <= l <= L`).
    pub fn z(&self, l: usize) -> &[T] {
        self.block(1, l, 1..self.shape.depth() + 1)
    }
    /// Modulating signal `e_l` (`1 <= l <= L`, and `e_0` when a term on
    /// layer 1 needed it; zero otherwise).
    pub fn e(&self, l: usize) -> &[T] {
        self.block(2, l, 0..self.shape.depth() + 1)
    }
    /// Feedback `f_l` with `e_l = f_l ⊙ g(y_l)` (`0 <= l < L`).
    pub fn f(&self, l: usize) -> &[T] {
        self.block(3, l, 0..self.shape.depth())
    }
    /// Slope `g(y_l) = 1 - exp(-beta y_l)` (`0 <= l < L`), the softplus
    /// derivative `sigma'(z_l)` for hidden layers. For the input (`l = 0`)
    /// it gates `e_0 = f_0 ⊙ g(y_0)` and, like [`e`](Self::e)`(0)`, is
    /// computed only with `e_0` (a term on layer 1 needed it, or
    /// [`Network::signals`](crate::Network::signals) was asked for it) and
    /// zero otherwise.
    pub fn slope(&self, l: usize) -> &[T] {
        self.block(4, l, 0..self.shape.depth())
    }
    /// Layer `l`'s units in block `k` (`y`, `z`, `e`, `f`, `g`), empty
    /// unless `l` is in `range`.
    fn block(&self, k: usize, l: usize, range: core::ops::Range<usize>) -> &[T] {
        if !range.contains(&l) {
            return &[];
        }
        part(part(self.buf.as_ref(), k * self.shape.units()..), units(&self.shape, l))
    }
    /// Output probabilities `p = softmax(z_L)`.
    pub fn output(&self) -> &[T] {
        self.y(self.shape.depth())
    }
    /// Predicted class, `argmax p` (the first on ties).
    pub fn prediction(&self) -> usize {
        let p = self.output();
        let Some(&first) = p.first() else { return 0 };
        let (mut best, mut top) = (0, first);
        for (k, &pk) in p.iter().enumerate().skip(1) {
            if pk > top {
                (best, top) = (k, pk);
            }
        }
        best
    }
    /// Cross-entropy `-ln p_c` of the last step's label `c` (zero after a
    /// bare forward pass).
    pub fn loss(&self) -> T {
        self.loss
    }
    /// The label of the last step, if any.
    pub fn label(&self) -> Option<usize> {
        self.label
    }

    /// Errors unless the buffer (still) has [`Shape::activity_len`] entries: a
    /// [`Storage`] may hand out another slice than the one [`Activity::new`]
    /// checked, and the step would then compute on a truncated layout.
    pub(crate) fn check_len(&self) -> Result<(), Error> {
        crate::buffer::check_len(self.buf.as_ref(), self.shape.activity_len(), BufferKind::Activity)
    }

    /// The `y`, `z`, `e` and `f` blocks, read-only.
    pub(crate) fn parts(&self) -> [&[T]; 5] {
        let b = self.buf.as_ref();
        let u = self.shape.units();
        [part(b, ..u), part(b, u..2 * u), part(b, 2 * u..3 * u), part(b, 3 * u..4 * u), part(b, 4 * u..5 * u)]
    }

    /// `W_l^T yhat_l` as the update of this activity's step computed it from
    /// the step's weights, if it did (`1 <= l <= L`).
    pub(crate) fn wt_post(&self, l: usize) -> Option<&[T]> {
        let known = l >= 1 && self.wt_post & layer_bit(l) != 0;
        known.then(|| part(part(self.buf.as_ref(), 5 * self.shape.units()..), units(&self.shape, l - 1)))
    }

    pub(crate) fn blocks(&mut self) -> Blocks<'_, T> {
        let u = self.shape.units();
        let (y, rest) = split_mut(self.buf.as_mut(), u);
        let (z, rest) = split_mut(rest, u);
        let (e, rest) = split_mut(rest, u);
        let (f, rest) = split_mut(rest, u);
        let (g, wt_post) = split_mut(rest, u);
        Blocks { y, z, e, f, g, wt_post, wt_valid: &mut self.wt_post }
    }

    /// The input `y_0` (length `n_0`), writable: fill it and call
    /// [`Network::forward_loaded`](crate::Network::forward_loaded) or
    /// [`step_loaded`](crate::step::step_loaded) to use a sample without
    /// copying it through another buffer (e.g. straight from an IDX file).
    pub fn input_mut(&mut self) -> &mut [T] {
        part_mut(self.buf.as_mut(), units(&self.shape, 0))
    }

    /// Forward pass with weights `w` (all layers) from the input already in
    /// `y_0`, which is checked for NaN/inf first; with the input's slopes
    /// `g(y_0)` if `input_slopes` (a step whose rule needs `e_0`; zero
    /// otherwise, until [`Activity::input_slopes`] computes them).
    pub(crate) fn forward(&mut self, w: &[T], beta: T, input_slopes: bool) -> Result<(), Error> {
        self.label = None;
        self.loss = T::zero();
        self.wt_post = 0;
        let mut log_norm = T::zero();
        let shape = self.shape;
        // Until the pass has set the g(y_0) block, it may hold anything.
        let stale = core::mem::replace(&mut self.input_slopes, true);
        let b = self.blocks();
        if let Some(index) = part(b.y, units(&shape, 0)).iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFiniteInput { index });
        }
        // g(y_0) only gates e_0: computed for it, zero otherwise.
        let (y0, g0) = (part(b.y, units(&shape, 0)), part_mut(b.g, units(&shape, 0)));
        if input_slopes {
            slopes(y0, g0, beta);
        } else if stale {
            g0.fill(T::zero());
        }
        for l in 1..=shape.depth() {
            let (below, above) = split_mut(b.y, shape.unit_offset(l));
            let y_prev = part(below, units(&shape, l - 1));
            let y = part_mut(above, ..shape.width(l));
            let z = part_mut(b.z, units(&shape, l));
            let wl = part(w, crate::buffer::layer(&shape, l));
            log_norm = forward_layer(wl, y_prev, z, y, l == shape.depth(), beta);
            if !(crate::real::all_finite(y) && crate::real::all_finite(z)) {
                return Err(Error::NonFiniteSignal { layer: l });
            }
            if l < shape.depth() {
                slopes(y, part_mut(b.g, units(&shape, l)), beta);
            }
        }
        self.log_norm = log_norm;
        self.beta = beta;
        self.input_slopes = input_slopes;
        Ok(())
    }

    /// `g(y_0)` with the sharpness of the last forward pass, for `e_0`,
    /// unless that pass computed them.
    pub(crate) fn input_slopes(&mut self) {
        if self.input_slopes {
            return;
        }
        let (shape, beta) = (self.shape, self.beta);
        let b = self.blocks();
        slopes(part(b.y, units(&shape, 0)), part_mut(b.g, units(&shape, 0)), beta);
        self.input_slopes = true;
    }

    /// Starts the backward signals: `e_L = p - onehot(label)` and the loss.
    /// `label < n_L` is checked by the caller (a label past the end would
    /// leave `e_L = p` and the loss `ln sum exp z_L`).
    pub(crate) fn set_label(&mut self, label: usize) {
        let shape = self.shape;
        let top = shape.depth();
        let log_norm = self.log_norm;
        let b = self.blocks();
        let p = part(b.y, units(&shape, top));
        let z = part(b.z, units(&shape, top));
        let e = part_mut(b.e, units(&shape, top));
        crate::kernel::copy(e, p);
        if let Some(ec) = e.get_mut(label) {
            *ec -= T::one();
        }
        // -ln p_c = ln sum_k exp z_k - z_c: exact even where p_c underflows.
        self.loss = log_norm - z.get(label).copied().unwrap_or(T::zero());
        self.label = Some(label);
    }
}

/// Layer `l`'s bit (`1 <= l <= MAX_DEPTH`) in the record of kept products.
pub(crate) fn layer_bit(l: usize) -> u64 {
    const { assert!(crate::shape::MAX_DEPTH <= 64, "one bit per layer") };
    1u64.checked_shl(l.wrapping_sub(1) as u32).unwrap_or(0)
}

/// `g = 1 - exp(-beta y)` elementwise. Not inlined: one copy for the
/// input and the hidden layers costs the Cortex-M4F's `F^bio` step 84,120
/// instructions, inlined into each caller 85,551 (`tools/footprint.sh`);
/// on the desktop each entry calls the system's `expm1f` either way.
#[inline(never)]
fn slopes<T: Real>(y: &[T], g: &mut [T], beta: T) {
    for (gi, &yi) in g.iter_mut().zip(y) {
        *gi = softplus_slope(yi, beta);
    }
}

#[cfg(feature = "alloc")]
impl<T: Real, S: FixedShape> Activity<T, S, alloc::boxed::Box<[T]>> {
    /// An activity buffer on the heap.
    pub fn zeros() -> Self {
        Self::zeros_for(S::default())
    }
}

#[cfg(feature = "alloc")]
impl<T: Real, S: Shape> Activity<T, S, alloc::boxed::Box<[T]>> {
    /// An activity buffer for a network of shape `shape`, on the heap.
    pub fn zeros_for(shape: S) -> Self {
        let buf = crate::buffer::zeroed_box(shape.activity_len());
        Self::with_shape(shape, buf).unwrap_or_else(|_| unreachable!("length is shape.activity_len()"))
    }
}

/// Copies a sample of length `n_0` into `y_0` (its finiteness is checked by
/// the forward pass).
pub(crate) fn load_input<T: Real, S: Shape, A: Storage<T>>(act: &mut Activity<T, S, A>, x: &[T]) -> Result<(), Error> {
    let input = act.shape.input();
    if x.len() != input {
        return Err(Error::BufferLength { what: BufferKind::Input, expected: input, found: x.len() });
    }
    crate::kernel::copy(act.input_mut(), x);
    Ok(())
}
