//! Per-sample activity: everything one online step computes before it
//! updates the weights, kept in one caller-provided buffer.

use core::marker::PhantomData;

use crate::activation::softplus_slope;
use crate::buffer::units;
use crate::error::{BufferKind, Error};
use crate::forward::forward_layer;
use crate::kernel::{part, part_mut, split_mut};
use crate::{Real, Shape, Storage};

/// The activity of a network of shape `S` for one sample, in one buffer of
/// [`Shape::ACTIVITY`] entries:
///
/// * `y_l` for `l = 0 .. L` (`y_0 = x`, and at the top `y_L = p = softmax(z_L)`,
///   the "postsynaptic activity" `yhat_L` used by plasticity terms),
/// * `z_l = W_l y_{l-1}`,
/// * `e_l`, the modulating signals (`e_L = p - onehot(label)`),
/// * `f_l = B_l e_{l+1}` (or `D_l e_L`), the feedback before the slope,
///   `e_l = f_l ⊙ g(y_l)`,
/// * the slopes `g(y_l) = 1 - exp(-beta y_l) = sigma'(z_l)` (`l < L`; for
///   `l = 0` the same function of the input, used by `e_0`),
/// * scratch space for the update sweep (`W_l^T yhat_l`).
///
/// ```
/// use metaplasticity::{shape, Activity, Shape};
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
    shape: PhantomData<S>,
}

/// The buffer split into its blocks, each `S::UNITS` long except `scratch`.
pub(crate) struct Blocks<'a, T> {
    pub y: &'a mut [T],
    pub z: &'a mut [T],
    pub e: &'a mut [T],
    pub f: &'a mut [T],
    pub g: &'a mut [T],
    pub scratch: &'a mut [T],
}

impl<T: Real, S: Shape, B: Storage<T>> Activity<T, S, B> {
    /// Wraps a buffer of exactly [`Shape::ACTIVITY`] entries (any contents).
    pub fn new(buf: B) -> Result<Self, Error> {
        let found = buf.as_ref().len();
        if found != S::ACTIVITY {
            return Err(Error::BufferLength { what: BufferKind::Activity, expected: S::ACTIVITY, found });
        }
        Ok(Self { buf, loss: T::zero(), log_norm: T::zero(), label: None, shape: PhantomData })
    }

    /// Activity `y_l` (`0 <= l <= L`; `y_L` is the softmax output `p`).
    pub fn y(&self, l: usize) -> &[T] {
        part(self.buf.as_ref(), units::<S>(l))
    }
    /// Pre-activation `z_l = W_l y_{l-1}` (`1 <= l <= L`).
    pub fn z(&self, l: usize) -> &[T] {
        part(part(self.buf.as_ref(), S::UNITS..), units::<S>(l))
    }
    /// Modulating signal `e_l` (`1 <= l <= L`, and `e_0` when a term on
    /// layer 1 needed it; zero otherwise).
    pub fn e(&self, l: usize) -> &[T] {
        part(part(self.buf.as_ref(), 2 * S::UNITS..), units::<S>(l))
    }
    /// Feedback `f_l` with `e_l = f_l ⊙ g(y_l)` (`0 <= l < L`).
    pub fn f(&self, l: usize) -> &[T] {
        part(part(self.buf.as_ref(), 3 * S::UNITS..), units::<S>(l))
    }
    /// Slope `g(y_l) = 1 - exp(-beta y_l)` (`0 <= l < L`), the softplus
    /// derivative `sigma'(z_l)` for hidden layers.
    pub fn slope(&self, l: usize) -> &[T] {
        part(part(self.buf.as_ref(), 4 * S::UNITS..), units::<S>(l))
    }
    /// Output probabilities `p = softmax(z_L)`.
    pub fn output(&self) -> &[T] {
        self.y(S::DEPTH)
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

    /// Errors unless the buffer (still) has [`Shape::ACTIVITY`] entries: a
    /// [`Storage`] may hand out another slice than the one [`Activity::new`]
    /// checked, and the step would then compute on a truncated layout.
    pub(crate) fn check_len(&self) -> Result<(), Error> {
        let found = self.buf.as_ref().len();
        if found != S::ACTIVITY {
            return Err(Error::BufferLength { what: BufferKind::Activity, expected: S::ACTIVITY, found });
        }
        Ok(())
    }

    /// The `y`, `z`, `e` and `f` blocks, read-only.
    pub(crate) fn parts(&self) -> [&[T]; 5] {
        let b = self.buf.as_ref();
        let u = S::UNITS;
        [part(b, ..u), part(b, u..2 * u), part(b, 2 * u..3 * u), part(b, 3 * u..4 * u), part(b, 4 * u..5 * u)]
    }

    pub(crate) fn blocks(&mut self) -> Blocks<'_, T> {
        let (y, rest) = split_mut(self.buf.as_mut(), S::UNITS);
        let (z, rest) = split_mut(rest, S::UNITS);
        let (e, rest) = split_mut(rest, S::UNITS);
        let (f, rest) = split_mut(rest, S::UNITS);
        let (g, scratch) = split_mut(rest, S::UNITS);
        Blocks { y, z, e, f, g, scratch }
    }

    /// The input `y_0` (length `n_0`), writable: fill it and call
    /// [`Network::forward_loaded`](crate::Network::forward_loaded) or
    /// [`step_loaded`](crate::step::step_loaded) to use a sample without
    /// copying it through another buffer (e.g. straight from an IDX file).
    pub fn input_mut(&mut self) -> &mut [T] {
        part_mut(self.buf.as_mut(), units::<S>(0))
    }

    /// Forward pass with weights `w` (all layers) from the input already in
    /// `y_0`, which is checked for NaN/inf first.
    pub(crate) fn forward(&mut self, w: &[T], beta: T) -> Result<(), Error> {
        self.label = None;
        self.loss = T::zero();
        let mut log_norm = T::zero();
        let b = self.blocks();
        if let Some(index) = part(b.y, units::<S>(0)).iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFiniteInput { index });
        }
        slopes(part(b.y, units::<S>(0)), part_mut(b.g, units::<S>(0)), beta);
        for l in 1..=S::DEPTH {
            let (below, above) = split_mut(b.y, S::unit_offset(l));
            let y_prev = part(below, units::<S>(l - 1));
            let y = part_mut(above, ..S::width(l));
            let z = part_mut(b.z, units::<S>(l));
            let wo = S::weight_offset(l);
            let wl = part(w, wo..wo + S::width(l) * S::width(l - 1));
            log_norm = forward_layer(wl, y_prev, z, y, l == S::DEPTH, beta);
            if !(crate::real::all_finite(y) && crate::real::all_finite(z)) {
                return Err(Error::NonFiniteSignal { layer: l });
            }
            if l < S::DEPTH {
                slopes(y, part_mut(b.g, units::<S>(l)), beta);
            }
        }
        self.log_norm = log_norm;
        Ok(())
    }

    /// Starts the backward signals: `e_L = p - onehot(label)` and the loss.
    /// `label < n_L` is checked by the caller (a label past the end would
    /// leave `e_L = p` and the loss `ln sum exp z_L`).
    pub(crate) fn set_label(&mut self, label: usize) {
        let top = S::DEPTH;
        let log_norm = self.log_norm;
        let b = self.blocks();
        let p = part(b.y, units::<S>(top));
        let z = part(b.z, units::<S>(top));
        let e = part_mut(b.e, units::<S>(top));
        crate::kernel::copy(e, p);
        if let Some(ec) = e.get_mut(label) {
            *ec -= T::one();
        }
        // -ln p_c = ln sum_k exp z_k - z_c: exact even where p_c underflows.
        self.loss = log_norm - z.get(label).copied().unwrap_or(T::zero());
        self.label = Some(label);
    }
}

/// `g = 1 - exp(-beta y)` elementwise.
fn slopes<T: Real>(y: &[T], g: &mut [T], beta: T) {
    for (gi, &yi) in g.iter_mut().zip(y) {
        *gi = softplus_slope(yi, beta);
    }
}

#[cfg(feature = "alloc")]
impl<T: Real, S: Shape> Activity<T, S, alloc::boxed::Box<[T]>> {
    /// An activity buffer on the heap.
    pub fn zeros() -> Self {
        Self::new(crate::buffer::zeroed_box(S::ACTIVITY)).unwrap_or_else(|_| unreachable!("length is S::ACTIVITY"))
    }
}

/// Copies a sample of length `n_0` into `y_0` (its finiteness is checked by
/// the forward pass).
pub(crate) fn load_input<T: Real, S: Shape, A: Storage<T>>(act: &mut Activity<T, S, A>, x: &[T]) -> Result<(), Error> {
    if x.len() != S::INPUT {
        return Err(Error::BufferLength { what: BufferKind::Input, expected: S::INPUT, found: x.len() });
    }
    crate::kernel::copy(act.input_mut(), x);
    Ok(())
}
