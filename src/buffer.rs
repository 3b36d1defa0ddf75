//! Buffers of the core: their layout by layer and their checks. A leaf:
//! every module that owns a buffer (network, activity, pathways, the
//! step) uses it, and it uses none of them.

use core::ops::Range;

use crate::error::{BufferKind, Error};
use crate::{Real, Shape};

/// Range of layer `l`'s units inside a block.
#[inline(always)]
pub(crate) fn units<S: Shape>(shape: &S, l: usize) -> Range<usize> {
    let o = shape.unit_offset(l);
    o..o + shape.width(l)
}

/// Range of `W_l` (`n_l x n_{l-1}`) inside a weight-like buffer.
#[inline(always)]
pub(crate) fn layer<S: Shape>(shape: &S, l: usize) -> Range<usize> {
    let o = shape.weight_offset(l);
    o..o + shape.width(l) * shape.width(l.saturating_sub(1))
}

/// Checks a weight-like buffer: `expected` entries, all finite.
pub(crate) fn check_buffer<T: Real>(b: &[T], expected: usize, what: BufferKind) -> Result<(), Error> {
    check_len(b, expected, what)?;
    if !crate::real::all_finite(b) {
        return Err(Error::NonFiniteWeights { what });
    }
    Ok(())
}

/// Checks a buffer's length: `expected` entries.
#[inline]
pub(crate) fn check_len<T>(b: &[T], expected: usize, what: BufferKind) -> Result<(), Error> {
    if b.len() != expected {
        return Err(Error::BufferLength { what, expected, found: b.len() });
    }
    Ok(())
}

/// Errors unless two buffers were built for the same shape (free for
/// compile-time shapes: their values are all equal).
#[inline(always)]
pub(crate) fn same_shape<S: Shape>(a: &S, b: &S) -> Result<(), Error> {
    if a != b {
        return Err(Error::ShapeMismatch);
    }
    Ok(())
}

/// Errors unless the shape has at least one weight layer and one class.
#[inline]
pub(crate) fn check_shape<S: Shape>(shape: &S) -> Result<(), Error> {
    if shape.depth() == 0 || shape.output() == 0 {
        return Err(Error::InvalidShape { widths: shape.depth() + 1, max_depth: crate::shape::MAX_DEPTH });
    }
    Ok(())
}

/// A boxed slice of `n` zeros, built on the heap without a stack temporary.
#[cfg(feature = "alloc")]
pub(crate) fn zeroed_box<T: Real>(n: usize) -> alloc::boxed::Box<[T]> {
    alloc::vec![T::zero(); n].into_boxed_slice()
}
