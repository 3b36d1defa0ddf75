//! The architecture of a network as a type: depth and widths are known at
//! compile time, so buffer sizes are constants and firmware can place them in
//! `static` memory.
//!
//! A shape is a type-level list of widths `n_0 .. n_L` built from [`Layer`]
//! and [`Output`]; the [`shape!`](crate::shape!) macro writes it in one line:
//!
//! ```
//! use metaplasticity::{shape, Shape};
//! type Paper = shape![784, 170, 130, 100, 70, 10];
//! type Tiny = shape![64, 32, 16, 10];
//! assert_eq!(Paper::DEPTH, 5);
//! assert_eq!(Paper::WEIGHTS, 784 * 170 + 170 * 130 + 130 * 100 + 100 * 70 + 70 * 10);
//! assert_eq!(Tiny::width(2), 16);
//! // A buffer whose size is known at compile time (e.g. for a `static`):
//! let weights = [0.0f32; Tiny::WEIGHTS];
//! assert_eq!(weights.len(), 64 * 32 + 32 * 16 + 16 * 10);
//! ```

use core::marker::PhantomData;

/// Depth and widths of a fully connected network, known at compile time.
///
/// Layers are numbered as in the paper: `l = 0` is the input (width `n_0`),
/// `l = 1 .. L` are the weight layers, `W_l` has shape `n_l x n_{l-1}`, and
/// layer `L` produces the logits. All constants are evaluated at compile
/// time; a network deeper than [`MAX_DEPTH`] is rejected when the shape is
/// used (the limit exists only so that per-layer offsets fit small fixed
/// tables without a heap).
pub trait Shape: 'static + Send + Sync {
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
    /// Entries of the direct-feedback matrices `D_0 .. D_{L-1}`
    /// (`n_l x n_L` each): `(UNITS - n_L) n_L`.
    const DIRECT: usize = (Self::UNITS - Self::OUTPUT) * Self::OUTPUT;
    /// Entries of an [`Activity`](crate::Activity) buffer: `y`, `z`, `e`,
    /// `f` and `g(y)` for every layer plus one scratch vector (for
    /// `W_l^T yhat_l`), `5 UNITS + MAX_WIDTH`.
    const ACTIVITY: usize = 5 * Self::UNITS + Self::MAX_WIDTH;
    /// Entries of an [`Adjoint`](crate::adjoint::Adjoint) buffer: the
    /// gradients of `y`, `e` and `z` for every layer plus two scratch
    /// vectors, `3 UNITS + 2 MAX_WIDTH`.
    const ADJOINT: usize = 3 * Self::UNITS + 2 * Self::MAX_WIDTH;

    /// Width `n_l` of layer `l` (`0 <= l <= L`); zero past the output.
    #[inline(always)]
    fn width(l: usize) -> usize {
        if l <= Self::DEPTH { Self::WIDTHS[l] } else { 0 }
    }
    /// Offset of `W_l` (`1 <= l <= L`) in a buffer of [`Shape::WEIGHTS`]
    /// entries (`l = 0` gives 0, past the top `WEIGHTS`).
    #[inline(always)]
    fn weight_offset(l: usize) -> usize {
        weights(&Self::WIDTHS, l.saturating_sub(1).min(Self::DEPTH))
    }
    /// Offset of layer `l`'s units (`0 <= l <= L`) in a buffer of
    /// [`Shape::UNITS`] entries (past the top, `UNITS`).
    #[inline(always)]
    fn unit_offset(l: usize) -> usize {
        if l == 0 { 0 } else { units(&Self::WIDTHS, (l - 1).min(Self::DEPTH)) }
    }
}

/// The deepest network a [`Shape`] can describe (weight layers).
pub const MAX_DEPTH: usize = 15;

/// A hidden (or input) layer of width `N`, followed by the rest of the
/// network `Next`. Use the [`shape!`](crate::shape!) macro rather than
/// writing it out.
pub struct Layer<const N: usize, Next>(PhantomData<Next>);

/// The output layer, of width `N` (one unit per class).
pub struct Output<const N: usize>;

impl<const N: usize> Shape for Output<N> {
    const DEPTH: usize = 0;
    const INPUT: usize = N;
    const OUTPUT: usize = N;
    const WIDTHS: [usize; MAX_DEPTH + 1] = {
        let mut w = [0; MAX_DEPTH + 1];
        w[0] = N;
        w
    };
}

impl<const N: usize, Next: Shape> Shape for Layer<N, Next> {
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

/// Writes a [`Shape`] type from its widths `n_0, n_1, ..., n_L` (input
/// first, classes last; at least two widths).
///
/// ```
/// use metaplasticity::{shape, Shape};
/// type Net3 = shape![784, 130, 70, 47];
/// assert_eq!((Net3::DEPTH, Net3::INPUT, Net3::OUTPUT), (3, 784, 47));
/// ```
#[macro_export]
macro_rules! shape {
    ($n:expr) => { $crate::shape::Output<{ $n }> };
    ($n:expr, $($rest:expr),+ $(,)?) => {
        $crate::shape::Layer<{ $n }, $crate::shape![$($rest),+]>
    };
}
