//! Buffers of the core: their layout by layer and their checks. A leaf:
//! every module that owns a buffer (network, activity, pathways, the
//! step) uses it, and it uses none of them.

use core::ops::Range;

use crate::error::{BufferKind, Error};
use crate::{Real, Shape};

/// Range of layer `l`'s units inside a block.
#[inline(always)]
pub(crate) fn units<S: Shape>(l: usize) -> Range<usize> {
    let o = S::unit_offset(l);
    o..o + S::width(l)
}

/// Checks a weight-like buffer: `expected` entries, all finite.
pub(crate) fn check_buffer<T: Real>(b: &[T], expected: usize, what: BufferKind) -> Result<(), Error> {
    if b.len() != expected {
        return Err(Error::BufferLength { what, expected, found: b.len() });
    }
    if !crate::real::all_finite(b) {
        return Err(Error::NonFiniteWeights { what });
    }
    Ok(())
}

/// A boxed slice of `n` zeros, built on the heap without a stack temporary.
#[cfg(feature = "alloc")]
pub(crate) fn zeroed_box<T: Real>(n: usize) -> alloc::boxed::Box<[T]> {
    alloc::vec![T::zero(); n].into_boxed_slice()
}
