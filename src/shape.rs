//! The architecture of a network: depth and widths, known at compile time
//! (a type from the [`shape!`](crate::shape!) macro, whose buffer sizes are
//! constants that firmware places in `static` memory) or at run time
//! ([`Widths`], for programs that read the architecture from their
//! options). Both implement [`Shape`], and every buffer of the core is
//! generic over it.
//!
//! A compile-time shape is a type-level list of widths `n_0 .. n_L` built
//! from [`Layer`] and [`Output`]; its sizes are the constants of
//! [`FixedShape`]:
//!
//! ```
//! use metaplasticity::{shape, FixedShape, Shape};
//! type Paper = shape![784, 170, 130, 100, 70, 10];
//! type Tiny = shape![64, 32, 16, 10];
//! assert_eq!(Paper::DEPTH, 5);
//! assert_eq!(Paper::WEIGHTS, 784 * 170 + 170 * 130 + 130 * 100 + 100 * 70 + 70 * 10);
//! assert_eq!(Tiny::default().width(2), 16);
//! // A buffer whose size is known at compile time (e.g. for a `static`):
//! let weights = [0.0f32; Tiny::WEIGHTS];
//! assert_eq!(weights.len(), 64 * 32 + 32 * 16 + 16 * 10);
//! ```
//!
//! A run-time shape is a value; it answers the same questions:
//!
//! ```
//! use metaplasticity::shape::{Shape, Widths};
//! let net = Widths::new(&[784, 256, 10])?;
//! assert_eq!((net.depth(), net.input(), net.output()), (2, 784, 10));
//! assert_eq!(net.weights(), 784 * 256 + 256 * 10);
//! assert!(Widths::new(&[784, 0, 10]).is_err());
//! # Ok::<(), metaplasticity::Error>(())
//! ```

use core::marker::PhantomData;

use crate::error::Error;

/// Depth and widths of a fully connected network.
///
/// Layers are numbered as in the paper: `l = 0` is the input (width `n_0`),
/// `l = 1 .. L` are the weight layers, `W_l` has shape `n_l x n_{l-1}`, and
/// layer `L` produces the logits. Every method is a lookup: for the
/// compile-time shapes ([`FixedShape`], zero-sized) each is a constant once
/// inlined; for [`Widths`] a read of a precomputed table.
///
/// Out-of-range layers never panic: a width past the output is zero, an
/// offset past the top is the buffer's length.
///
/// The trait is sealed: the shapes are the `shape!` types and [`Widths`],
/// whose widths are checked (at compile time and in [`Widths::new`]), so
/// every buffer size computed from them is consistent.
pub trait Shape: sealed::Sealed + Copy + PartialEq + core::fmt::Debug + Send + Sync + 'static {
    /// Number of weight layers `L` (the input is not counted).
    fn depth(&self) -> usize;
    /// Width `n_l` of layer `l` (`0 <= l <= L`); zero past the output.
    fn width(&self, l: usize) -> usize;
    /// Offset of `W_l` (`1 <= l <= L`) in a buffer of [`Shape::weights`]
    /// entries (`l = 0` gives 0, past the top the number of weights).
    fn weight_offset(&self, l: usize) -> usize;
    /// Offset of layer `l`'s units (`0 <= l <= L`) in a buffer of
    /// [`Shape::units`] entries (past the top, the number of units).
    fn unit_offset(&self, l: usize) -> usize;
    /// The widest layer, input included.
    fn max_width(&self) -> usize;
    /// Input width `n_0`.
    #[inline(always)]
    fn input(&self) -> usize {
        self.width(0)
    }
    /// Output width `n_L` (number of classes).
    #[inline(always)]
    fn output(&self) -> usize {
        self.width(self.depth())
    }
    /// Number of forward weights, `sum_l n_l n_{l-1}`.
    #[inline(always)]
    fn weights(&self) -> usize {
        self.weight_offset(self.depth() + 1)
    }
    /// Number of units including the input, `sum_{l=0..L} n_l`.
    #[inline(always)]
    fn units(&self) -> usize {
        self.unit_offset(self.depth() + 1)
    }
    /// Entries of the direct-feedback matrices `D_0 .. D_{L-1}` (`n_l x n_L`
    /// each): `(units - n_L) n_L`.
    #[inline(always)]
    fn direct(&self) -> usize {
        (self.units() - self.output()) * self.output()
    }
    /// Entries of an [`Activity`](crate::Activity) buffer: `y`, `z`, `e`,
    /// `f`, `g(y)` and the products `W_{l+1}^T yhat_{l+1}` for every layer,
    /// `6 units`.
    #[inline(always)]
    fn activity_len(&self) -> usize {
        6 * self.units()
    }
    /// Entries of an [`Adjoint`](crate::adjoint::Adjoint) buffer: the
    /// gradients of `y`, `e` and `z` for every layer plus two scratch
    /// vectors, `3 units + 2 max_width`.
    #[inline(always)]
    fn adjoint_len(&self) -> usize {
        3 * self.units() + 2 * self.max_width()
    }
}

/// A shape known at compile time: its sizes are constants, so buffers can
/// be arrays and `static`s (`[f32; Tiny::WEIGHTS]`). The types of the
/// [`shape!`](crate::shape!) macro implement it; every `FixedShape` is a
/// [`Shape`] whose value is its `Default`.
///
/// A network deeper than [`MAX_DEPTH`] or with an empty layer is rejected
/// when the shape is used (at compile time). Sealed, like [`Shape`].
pub trait FixedShape: sealed::Sealed + Default + Copy + PartialEq + core::fmt::Debug + Send + Sync + 'static {
    /// Number of weight layers `L` (the input is not counted).
    const DEPTH: usize;
    /// Input width `n_0`.
    const INPUT: usize;
    /// Output width `n_L` (number of classes).
    const OUTPUT: usize;
    /// Widths `n_0 .. n_L`, zero-padded to [`MAX_DEPTH`]` + 1` entries.
    const WIDTHS: [usize; MAX_DEPTH + 1];
    /// Number of forward weights, `sum_l n_l n_{l-1}`.
    const WEIGHTS: usize = weights(&Self::WIDTHS, Self::DEPTH);
    /// Number of units including the input, `sum_{l=0..L} n_l`.
    const UNITS: usize = units(&Self::WIDTHS, Self::DEPTH);
    /// The widest layer, input included.
    const MAX_WIDTH: usize = max_width(&Self::WIDTHS, Self::DEPTH);
    /// Entries of the direct-feedback matrices, [`Shape::direct`].
    const DIRECT: usize = (Self::UNITS - Self::OUTPUT) * Self::OUTPUT;
    /// Entries of an [`Activity`](crate::Activity) buffer, [`Shape::activity_len`].
    const ACTIVITY: usize = 6 * Self::UNITS;
    /// Entries of an [`Adjoint`](crate::adjoint::Adjoint) buffer, [`Shape::adjoint_len`].
    const ADJOINT: usize = 3 * Self::UNITS + 2 * Self::MAX_WIDTH;
}

impl<F: FixedShape> Shape for F {
    #[inline(always)]
    fn depth(&self) -> usize {
        F::DEPTH
    }
    #[inline(always)]
    fn width(&self, l: usize) -> usize {
        if l <= F::DEPTH { F::WIDTHS[l] } else { 0 }
    }
    #[inline(always)]
    fn weight_offset(&self, l: usize) -> usize {
        weights(&F::WIDTHS, l.saturating_sub(1).min(F::DEPTH))
    }
    #[inline(always)]
    fn unit_offset(&self, l: usize) -> usize {
        if l == 0 { 0 } else { units(&F::WIDTHS, (l - 1).min(F::DEPTH)) }
    }
    #[inline(always)]
    fn max_width(&self) -> usize {
        F::MAX_WIDTH
    }
    #[inline(always)]
    fn input(&self) -> usize {
        F::INPUT
    }
    #[inline(always)]
    fn output(&self) -> usize {
        F::OUTPUT
    }
    #[inline(always)]
    fn weights(&self) -> usize {
        F::WEIGHTS
    }
    #[inline(always)]
    fn units(&self) -> usize {
        F::UNITS
    }
    #[inline(always)]
    fn direct(&self) -> usize {
        F::DIRECT
    }
    #[inline(always)]
    fn activity_len(&self) -> usize {
        F::ACTIVITY
    }
    #[inline(always)]
    fn adjoint_len(&self) -> usize {
        F::ADJOINT
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Widths {}
    impl<const N: usize> Sealed for super::Output<N> {}
    impl<const N: usize, Next> Sealed for super::Layer<N, Next> {}
}

/// The deepest network a [`Shape`] can describe (weight layers).
pub const MAX_DEPTH: usize = 15;

/// A shape chosen at run time: widths `n_0 .. n_L` (`1 <= L <=`
/// [`MAX_DEPTH`]), with their offsets computed once. No heap: it is a small
/// `Copy` value (three tables of `MAX_DEPTH + 2` entries), so it serves
/// `no_std` programs as well.
///
/// ```
/// use metaplasticity::heap::{Activity, Network};
/// use metaplasticity::Widths;
/// use metaplasticity::{step, Backprop, Init, Rule};
/// use rand_xoshiro::{rand_core::SeedableRng, Xoshiro256PlusPlus};
///
/// let shape = Widths::new(&[4, 8, 3])?;
/// let mut net = Network::<Widths>::zeros_for(shape);
/// net.init(&mut Xoshiro256PlusPlus::seed_from_u64(0), Init::XavierUniform);
/// let mut act = Activity::<Widths>::zeros_for(shape);
/// let outcome = step(&mut net, &Backprop, &Rule::<f32>::fa(), &mut act, &[0.9, 0.1, 0.4, 0.7], 2)?;
/// assert!(outcome.prediction < 3);
/// // A buffer built for another shape is refused, not misread.
/// let mut other = Activity::<Widths>::zeros_for(Widths::new(&[4, 5, 3])?);
/// assert!(step(&mut net, &Backprop, &Rule::<f32>::fa(), &mut other, &[0.9, 0.1, 0.4, 0.7], 2).is_err());
/// # Ok::<(), metaplasticity::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Widths {
    depth: usize,
    n: [usize; MAX_DEPTH + 1],
    /// `weight_offset(l)` for `l = 0 ..= MAX_DEPTH + 1` (clamped as [`Shape::weight_offset`]).
    w_off: [usize; MAX_DEPTH + 2],
    /// `unit_offset(l)` for `l = 0 ..= MAX_DEPTH + 1` (clamped as [`Shape::unit_offset`]).
    u_off: [usize; MAX_DEPTH + 2],
    max_width: usize,
}

impl Widths {
    /// The shape with widths `n_0, n_1, ..., n_L` (input first, classes
    /// last). Errors: fewer than two or more than [`MAX_DEPTH`]` + 1` widths,
    /// or a zero width ([`Error::InvalidShape`]); a network with a buffer of
    /// more than `isize::MAX` bytes in `f64` ([`Error::ShapeTooLarge`]).
    pub fn new(widths: &[usize]) -> Result<Self, Error> {
        if widths.len() < 2 || widths.len() > MAX_DEPTH + 1 || widths.contains(&0) {
            return Err(Error::InvalidShape { widths: widths.len(), max_depth: MAX_DEPTH });
        }
        // Every buffer must fit in `isize::MAX` bytes of `f64`.
        let fits = |n: usize| n.checked_mul(core::mem::size_of::<f64>()).is_some_and(|b| b <= isize::MAX as usize);
        let too_large = |weights: usize| Error::ShapeTooLarge { weights };
        let invalid = || too_large(usize::MAX);
        let depth = widths.len() - 1;
        let mut n = [0; MAX_DEPTH + 1];
        for (nl, &w) in n.iter_mut().zip(widths) {
            *nl = w;
        }
        let width = |l: usize| n.get(l).copied().unwrap_or(0);
        let (mut w_off, mut u_off) = ([0; MAX_DEPTH + 2], [0; MAX_DEPTH + 2]);
        let (mut weights, mut units) = (0usize, 0usize);
        for (l, (wo, uo)) in w_off.iter_mut().zip(u_off.iter_mut()).enumerate() {
            // Below layer l: the weights of W_1 .. W_{l-1}, the units of
            // layers 0 .. l-1 (past the top, the totals).
            *wo = weights;
            *uo = units;
            if l <= depth {
                units = units.checked_add(width(l)).ok_or_else(invalid)?;
                if l >= 1 {
                    let layer = width(l).checked_mul(width(l - 1)).ok_or_else(invalid)?;
                    weights = weights.checked_add(layer).ok_or_else(invalid)?;
                }
            }
        }
        // The largest buffers are the activity's, 6 units (the adjoint's
        // 3 units + 2 max_width is smaller), and the direct feedback's
        // (units - n_L) n_L: both must fit.
        let max_width = widths.iter().copied().max().unwrap_or(0);
        let activity = units.checked_mul(6).ok_or_else(invalid)?;
        let direct = (units - width(depth)).checked_mul(width(depth)).ok_or_else(invalid)?;
        if ![weights, activity, direct].into_iter().all(fits) {
            return Err(too_large(weights));
        }
        Ok(Self { depth, n, w_off, u_off, max_width })
    }

    /// The widths `n_0 .. n_L`.
    pub fn as_slice(&self) -> &[usize] {
        self.n.get(..=self.depth).unwrap_or(&[])
    }

    /// The run-time value of a compile-time shape (the same widths).
    pub fn of<F: FixedShape>() -> Self {
        Self::new(F::WIDTHS.get(..=F::DEPTH).unwrap_or(&[]))
            .unwrap_or_else(|_| unreachable!("a FixedShape has valid widths"))
    }
}

impl Shape for Widths {
    #[inline(always)]
    fn depth(&self) -> usize {
        self.depth
    }
    #[inline(always)]
    fn width(&self, l: usize) -> usize {
        if l <= self.depth { self.n.get(l).copied().unwrap_or(0) } else { 0 }
    }
    #[inline(always)]
    fn weight_offset(&self, l: usize) -> usize {
        // w_off[l] holds the weights of layers 1 .. l-1; clamp past the top.
        self.w_off.get(l.min(self.depth + 1)).copied().unwrap_or(0)
    }
    #[inline(always)]
    fn unit_offset(&self, l: usize) -> usize {
        self.u_off.get(l.min(self.depth + 1)).copied().unwrap_or(0)
    }
    #[inline(always)]
    fn max_width(&self) -> usize {
        self.max_width
    }
}

/// A hidden (or input) layer of width `N`, followed by the rest of the
/// network `Next`. Use the [`shape!`](crate::shape!) macro rather than
/// writing it out.
pub struct Layer<const N: usize, Next>(PhantomData<Next>);

/// The output layer, of width `N` (one unit per class).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct Output<const N: usize>;

// By hand: derives would ask `Next` for the traits, which it has anyway.
impl<const N: usize, Next> Clone for Layer<N, Next> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<const N: usize, Next> Copy for Layer<N, Next> {}
impl<const N: usize, Next> Default for Layer<N, Next> {
    fn default() -> Self {
        Self(PhantomData)
    }
}
impl<const N: usize, Next> PartialEq for Layer<N, Next> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl<const N: usize, Next> Eq for Layer<N, Next> {}
impl<const N: usize, Next: FixedShape> core::fmt::Debug for Layer<N, Next> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "shape!{:?}", Self::WIDTHS.get(..=Self::DEPTH).unwrap_or(&[]))
    }
}

impl<const N: usize> FixedShape for Output<N> {
    const DEPTH: usize = {
        assert!(N > 0, "the output layer needs at least one unit");
        0
    };
    const INPUT: usize = N;
    const OUTPUT: usize = N;
    const WIDTHS: [usize; MAX_DEPTH + 1] = {
        let mut w = [0; MAX_DEPTH + 1];
        w[0] = N;
        w
    };
}

impl<const N: usize, Next: FixedShape> FixedShape for Layer<N, Next> {
    const DEPTH: usize = {
        assert!(Next::DEPTH < MAX_DEPTH, "network deeper than MAX_DEPTH");
        assert!(N > 0, "a layer needs at least one unit");
        Next::DEPTH + 1
    };
    const INPUT: usize = N;
    const OUTPUT: usize = Next::OUTPUT;
    const WIDTHS: [usize; MAX_DEPTH + 1] = {
        let mut w = [0; MAX_DEPTH + 1];
        w[0] = N;
        let mut i = 0;
        while i < MAX_DEPTH {
            w[i + 1] = Next::WIDTHS[i];
            i += 1;
        }
        w
    };
}

const fn weights(w: &[usize; MAX_DEPTH + 1], layers: usize) -> usize {
    let mut s = 0;
    let mut l = 1;
    while l <= layers {
        s += w[l] * w[l - 1];
        l += 1;
    }
    s
}

const fn units(w: &[usize; MAX_DEPTH + 1], top: usize) -> usize {
    let mut s = 0;
    let mut l = 0;
    while l <= top {
        s += w[l];
        l += 1;
    }
    s
}

const fn max_width(w: &[usize; MAX_DEPTH + 1], top: usize) -> usize {
    let mut m = 0;
    let mut l = 0;
    while l <= top {
        if w[l] > m {
            m = w[l];
        }
        l += 1;
    }
    m
}

/// Writes a [`FixedShape`] type from its widths `n_0, n_1, ..., n_L` (input
/// first, classes last; at least two widths).
///
/// ```
/// use metaplasticity::{shape, FixedShape};
/// type Net3 = shape![784, 130, 70, 47];
/// assert_eq!((Net3::DEPTH, Net3::INPUT, Net3::OUTPUT), (3, 784, 47));
/// ```
///
/// One width makes no network, and a width of zero no layer: both are
/// refused at compile time.
///
/// ```compile_fail
/// type NoNetwork = metaplasticity::shape![784];
/// ```
///
/// ```compile_fail
/// use metaplasticity::FixedShape;
/// type Empty = metaplasticity::shape![4, 0];
/// const _: usize = Empty::DEPTH;
/// ```
#[macro_export]
macro_rules! shape {
    ($n:expr, $($rest:expr),+ $(,)?) => {
        $crate::shape::Layer<{ $n }, $crate::shape!(@next $($rest),+)>
    };
    (@next $n:expr) => { $crate::shape::Output<{ $n }> };
    (@next $n:expr, $($rest:expr),+) => {
        $crate::shape::Layer<{ $n }, $crate::shape!(@next $($rest),+)>
    };
}
