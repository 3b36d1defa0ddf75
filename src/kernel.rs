//! Dense kernels over column-major slices, written so that the compiler
//! vectorises them for any [`Real`] (independent accumulators in reductions,
//! zipped iterators without bounds checks in the inner loops).
//!
//! A matrix `M` of shape `rows x cols` is stored column by column:
//! `M[i, j] = m[j * rows + i]`, nalgebra's layout.

use multiversion::multiversion;

use crate::Real;

/// `out = M x` for `M` of shape `out.len() x x.len()`.
#[inline]
pub fn mul<T: Real>(m: &[T], x: &[T], out: &mut [T]) {
    out.fill(T::zero());
    mul_add(m, x, out);
}

/// `out += M x` for `M` of shape `out.len() x x.len()`.
#[multiversion(targets("x86_64+avx2+fma"))]
pub fn mul_add<T: Real>(m: &[T], x: &[T], out: &mut [T]) {
    let rows = out.len();
    if rows == 0 {
        return;
    }
    for (col, &xj) in m.chunks_exact(rows).zip(x) {
        if xj != T::zero() {
            axpy(xj, col, out);
        }
    }
}

/// `out = M^T v` for `M` of shape `v.len() x out.len()`.
#[multiversion(targets("x86_64+avx2+fma"))]
pub fn tr_mul<T: Real>(m: &[T], v: &[T], out: &mut [T]) {
    let rows = v.len();
    if rows == 0 {
        out.fill(T::zero());
        return;
    }
    for (o, col) in out.iter_mut().zip(m.chunks_exact(rows)) {
        *o = dot(col, v);
    }
}

/// `out = M^T v` for `M` of shape `v.len() x out.len()`, computing only the
/// entries whose `gate` is non-zero (others are set to zero); an empty
/// `gate` computes every entry.
#[multiversion(targets("x86_64+avx2+fma"))]
pub fn tr_mul_gated<T: Real>(m: &[T], v: &[T], gate: &[T], out: &mut [T]) {
    if gate.is_empty() {
        return tr_mul(m, v, out);
    }
    let rows = v.len();
    if rows == 0 {
        out.fill(T::zero());
        return;
    }
    for ((o, col), &g) in out.iter_mut().zip(m.chunks_exact(rows)).zip(gate) {
        *o = if g == T::zero() { T::zero() } else { dot(col, v) };
    }
}

/// `out += M^T v` for `M` of shape `v.len() x out.len()`.
#[multiversion(targets("x86_64+avx2+fma"))]
pub fn tr_mul_add<T: Real>(m: &[T], v: &[T], out: &mut [T]) {
    let rows = v.len();
    if rows == 0 {
        return;
    }
    for (o, col) in out.iter_mut().zip(m.chunks_exact(rows)) {
        *o += dot(col, v);
    }
}

/// `M += a b^T` for `M` of shape `a.len() x b.len()`.
#[multiversion(targets("x86_64+avx2+fma"))]
pub fn rank_one<T: Real>(m: &mut [T], a: &[T], b: &[T]) {
    let rows = a.len();
    if rows == 0 {
        return;
    }
    for (col, &bj) in m.chunks_exact_mut(rows).zip(b) {
        if bj != T::zero() {
            axpy(bj, a, col);
        }
    }
}

/// `y += a x`.
#[inline(always)]
pub fn axpy<T: Real>(a: T, x: &[T], y: &mut [T]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// `x . y`, with eight independent partial sums so that the loop vectorises.
#[inline(always)]
pub fn dot<T: Real>(x: &[T], y: &[T]) -> T {
    const LANES: usize = 8;
    let mut acc = [T::zero(); LANES];
    let xc = x.chunks_exact(LANES);
    let yc = y.chunks_exact(LANES);
    let (xr, yr) = (xc.remainder(), yc.remainder());
    for (a, b) in xc.zip(yc) {
        for k in 0..LANES {
            acc[k] += a[k] * b[k];
        }
    }
    let mut tail = T::zero();
    for (&a, &b) in xr.iter().zip(yr) {
        tail += a * b;
    }
    // A sequential fold: written as a pairwise tree, this reduction made
    // LLVM give up vectorising the loop above (four times slower).
    acc.iter().fold(T::zero(), |s, &v| s + v) + tail
}

// Panic-free access for the step, the adjoint and the pathways (see
// docs/NO_PANIC.md): every range they take is inside its buffer, because
// the constructors checked the buffers' lengths against the shape, but the
// compiler cannot see that across calls. These helpers turn an impossible
// out-of-range access into an empty slice instead of a panic branch; the
// entry points check the lengths they depend on and report a wrong one as
// an error.

/// `&v[r]`, or an empty slice if `r` is not inside `v`.
#[inline(always)]
pub(crate) fn part<T, I: core::slice::SliceIndex<[T], Output = [T]>>(v: &[T], r: I) -> &[T] {
    v.get(r).unwrap_or(&[])
}

/// `&mut v[r]`, or an empty slice if `r` is not inside `v`.
#[inline(always)]
pub(crate) fn part_mut<T, I: core::slice::SliceIndex<[T], Output = [T]>>(v: &mut [T], r: I) -> &mut [T] {
    v.get_mut(r).unwrap_or(&mut [])
}

/// `v.split_at_mut(mid)`, or `(v, [])` if `mid > v.len()`.
#[inline(always)]
pub(crate) fn split_mut<T>(v: &mut [T], mid: usize) -> (&mut [T], &mut [T]) {
    if mid <= v.len() { v.split_at_mut(mid) } else { (v, &mut []) }
}

/// `dst.copy_from_slice(src)` for slices of equal length; copies the
/// shorter length otherwise.
#[inline(always)]
pub(crate) fn copy<T: Copy>(dst: &mut [T], src: &[T]) {
    let n = dst.len().min(src.len());
    if let (Some(d), Some(s)) = (dst.get_mut(..n), src.get(..n)) {
        d.copy_from_slice(s);
    }
}
