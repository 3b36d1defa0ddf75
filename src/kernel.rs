//! Dense kernels over column-major slices, written so that the compiler
//! vectorises them for any [`Real`] (independent accumulators in reductions,
//! zipped iterators without bounds checks in the inner loops).
//!
//! A matrix `M` of shape `rows x cols` is stored column by column:
//! `M[i, j] = m[j * rows + i]`, nalgebra's layout.

use core::any::{Any, TypeId};
use multiversion::multiversion;
use wide::f32x8;

use crate::Real;

/// Whether the kernels take the forms that cost least on targets without
/// vector units (a Cortex-M4F, where every load is an instruction): the
/// update sweeps work on two columns at a time, loading the shared
/// vectors once for both (the same bits as one column at a time), the
/// products `M^T v` pair columns in scalar code ([`dot2`]), the products
/// `M x` hold blocks of `out` in registers ([`mul_add`]), and the sweeps
/// watch for overflow with a sum. With vector units (x86, AArch64,
/// WebAssembly) the paired sweeps measured slower (the desktop's `F^bio`
/// step from 5.0 to 6.6-7.4 passes over the weights, `cargo bench --bench
/// episode`) and are off, and pairs of dot products use explicit vectors
/// ([`dot_pair`]), which the compiler does not make of [`dot2`]. Any target
/// built with `--cfg metaplasticity_scalar_kernels` takes the scalar forms,
/// as CI tests them on the desktop.
pub(crate) const SCALAR: bool = cfg!(any(
    metaplasticity_scalar_kernels,
    not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64", target_arch = "wasm32"))
));

/// `out = M x` for `M` of shape `out.len() x x.len()`.
#[inline]
pub fn mul<T: Real>(m: &[T], x: &[T], out: &mut [T]) {
    out.fill(T::zero());
    mul_add(m, x, out);
}

/// `out += M x` for `M` of shape `out.len() x x.len()`.
///
/// Columns whose `x_j` is zero add nothing and are skipped (zero pixels);
/// the others are added four at a time, each entry summed in column order
/// exactly as four calls of [`axpy`] sum it (the same bits), so that `out`
/// is read and written once per four columns.
///
/// On [`SCALAR`] targets `out` is summed instead in blocks of eight entries
/// held in registers across all the columns ([`mul_add_blocked`], the
/// same bits).
#[multiversion(targets("x86_64+avx2+fma"))]
pub fn mul_add<T: Real>(m: &[T], x: &[T], out: &mut [T]) {
    let rows = out.len();
    if rows == 0 {
        return;
    }
    if SCALAR {
        mul_add_blocked(m, x, out);
        return;
    }
    let mut pending: [(T, &[T]); 4] = [(T::zero(), &[]); 4];
    let mut n = 0;
    for (col, &xj) in m.chunks_exact(rows).zip(x) {
        if xj == T::zero() {
            continue;
        }
        if let Some(slot) = pending.get_mut(n) {
            *slot = (xj, col);
        }
        n += 1;
        if n == pending.len() {
            axpy4(&pending, out);
            n = 0;
        }
    }
    for &(xj, col) in pending.iter().take(n) {
        axpy(xj, col, out);
    }
}

/// Entries of `out` that one block of [`mul_add_blocked`] holds in
/// registers.
const BLOCK_ROWS: usize = 8;

/// [`mul_add`] on [`SCALAR`] targets: `out` in blocks of [`BLOCK_ROWS`]
/// entries held in registers while every column with `x_j != 0` is added
/// to the block, in column order (the bits of one [`axpy`] per column).
/// Each entry of `out` is read and written once, and each weight costs a
/// load and a multiply-add.
#[inline(always)]
fn mul_add_blocked<T: Real>(m: &[T], x: &[T], out: &mut [T]) {
    let rows = out.len();
    let mut blocks = out.chunks_exact_mut(BLOCK_ROWS);
    let mut r0 = 0;
    for block in &mut blocks {
        if let Ok(block) = <&mut [T; BLOCK_ROWS]>::try_from(block) {
            let mut acc = *block;
            for (col, &xj) in m.chunks_exact(rows).zip(x) {
                if xj == T::zero() {
                    continue;
                }
                if let Some(w) = col.get(r0..r0 + BLOCK_ROWS).and_then(|w| <&[T; BLOCK_ROWS]>::try_from(w).ok()) {
                    for (s, &wi) in acc.iter_mut().zip(w) {
                        *s += xj * wi;
                    }
                }
            }
            *block = acc;
        }
        r0 += BLOCK_ROWS;
    }
    for (i, yi) in blocks.into_remainder().iter_mut().enumerate() {
        let mut s = *yi;
        for (col, &xj) in m.chunks_exact(rows).zip(x) {
            if xj != T::zero()
                && let Some(&wi) = col.get(r0 + i)
            {
                s += xj * wi;
            }
        }
        *yi = s;
    }
}

/// `y += a_0 x_0 + a_1 x_1 + a_2 x_2 + a_3 x_3`, added in that order.
#[inline(always)]
fn axpy4<T: Real>(c: &[(T, &[T]); 4], y: &mut [T]) {
    let [(a0, x0), (a1, x1), (a2, x2), (a3, x3)] = *c;
    for ((((yi, &w0), &w1), &w2), &w3) in y.iter_mut().zip(x0).zip(x1).zip(x2).zip(x3) {
        *yi = *yi + a0 * w0 + a1 * w1 + a2 * w2 + a3 * w3;
    }
}

/// `out = M^T v` for `M` of shape `v.len() x out.len()` (see
/// [`tr_mul_gated`]).
#[multiversion(targets("x86_64+avx2+fma"))]
pub fn tr_mul<T: Real>(m: &[T], v: &[T], out: &mut [T]) {
    tr_mul_gated(m, v, &[], out);
}

/// `out = M^T v` for `M` of shape `v.len() x out.len()`, computing only the
/// entries whose `gate` is non-zero (others are set to zero); an empty
/// `gate` computes every entry. Each entry is a [`dot`], two computed
/// entries at a time in one pass over `v` ([`dot_pair`], the same bits).
#[multiversion(targets("x86_64+avx2+fma"))]
pub fn tr_mul_gated<T: Real>(m: &[T], v: &[T], gate: &[T], out: &mut [T]) {
    let rows = v.len();
    if rows == 0 {
        out.fill(T::zero());
        return;
    }
    if gate.is_empty() {
        tr_mul_pairs(m, v, out);
        return;
    }
    // A computed entry waiting for a partner to share the pass over `v`.
    let mut held: Option<(&mut T, &[T])> = None;
    for (j, (o, col)) in out.iter_mut().zip(m.chunks_exact(rows)).enumerate() {
        if !gate.get(j).is_some_and(|&g| g != T::zero()) {
            *o = T::zero();
        } else if let Some((first, first_col)) = held.take() {
            (*first, *o) = dot_pair(first_col, col, v);
        } else {
            held = Some((o, col));
        }
    }
    if let Some((o, col)) = held {
        *o = dot(col, v);
    }
}

/// [`tr_mul_gated`] without a gate: consecutive columns in pairs (the same
/// bits; the entries past the columns `m` holds are left as they are).
///
/// Not inlined on [`SCALAR`] targets (the condition below is `SCALAR`'s):
/// the paired dot products are long code there, and one copy of them,
/// against one per caller, took 2.0 KB off the Cortex-M4F firmware and
/// 1,492 instructions off its `F^bio` step (firmware/README.md). With
/// vector units it is inlined into its callers' versions (the call measured
/// slower on the desktop's 64-32-16-10 network).
#[cfg_attr(
    any(
        metaplasticity_scalar_kernels,
        not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64", target_arch = "wasm32"))
    ),
    inline(never)
)]
#[cfg_attr(
    not(any(
        metaplasticity_scalar_kernels,
        not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64", target_arch = "wasm32"))
    )),
    inline(always)
)]
fn tr_mul_pairs<T: Real>(m: &[T], v: &[T], out: &mut [T]) {
    let rows = v.len();
    if let Some(in_m) = m.len().checked_div(rows) {
        let cols = out.len().min(in_m);
        let pair = rows.saturating_mul(2);
        let (out, m) = (part_mut(out, ..cols), part(m, ..cols * rows));
        let mut outs = out.chunks_exact_mut(2);
        let mut pairs = m.chunks_exact(pair);
        for (o, both) in (&mut outs).zip(&mut pairs) {
            let (c0, c1) = both.split_at_checked(rows).unwrap_or((both, &[]));
            if let [o0, o1] = o {
                (*o0, *o1) = dot_pair(c0, c1, v);
            }
        }
        if let [o] = outs.into_remainder() {
            *o = dot(pairs.remainder(), v);
        }
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
    rank_one_inlined(m, a, b);
}

/// [`rank_one`] inlined into its caller's version, for a caller that adds
/// one block of columns at a time (the update adjoint, for the later
/// step's outer products).
#[inline(always)]
pub(crate) fn rank_one_inlined<T: Real>(m: &mut [T], a: &[T], b: &[T]) {
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

/// `x . y`, with eight independent partial sums so that the loop vectorises;
/// over the common prefix where the lengths differ (as [`dot2`]).
#[inline(always)]
pub fn dot<T: Real>(x: &[T], y: &[T]) -> T {
    const LANES: usize = 8;
    let mut acc = [T::zero(); LANES];
    let n = x.len().min(y.len());
    let (x, y) = (part(x, ..n), part(y, ..n));
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

/// `out_j = sum_i M[i, j]` for `M` with `rows` rows and `out.len()`
/// columns, each summed in row order from zero (`0 + M[0, j]`, plus
/// `M[1, j]`, and so on): the bits of a plain fold down each column.
///
/// A plain fold is one chain of dependent additions per column (it was the
/// hottest loop of the pool's update adjoint, `F^4`'s partial). Here eight
/// columns are summed side by side: for `f32` in a build with AVX in the
/// eight lanes of a vector (one column each; eight rows at a time turned
/// across by a transpose in registers), otherwise in eight scalar chains
/// (`wide` transposes without AVX entry by entry, which measured slower
/// than the chains: docs/PERFORMANCE.md). The vector's eight lanes still
/// wait on each other's addition once per row, so sixteen columns go
/// together where there are as many: two such vectors, whose additions
/// overlap (`llvm-mca -mcpu=znver3` on the loop: 24 cycles per eight rows
/// of eight columns, bound by the additions' latency, against 9.8 for the
/// instructions' throughput).
#[inline(always)]
pub fn column_sums<T: Real>(m: &[T], rows: usize, out: &mut [T]) {
    const K: usize = LANES;
    out.fill(T::zero());
    let group = rows.saturating_mul(K);
    if group == 0 {
        return;
    }
    let mut groups = m.chunks_exact(group);
    let mut outs = out.chunks_exact_mut(K);
    let vectors = !SCALAR && cfg!(target_feature = "avx");
    while let (Some(g0), Some(s0)) = (groups.next(), outs.next()) {
        let c0 = columns_of(g0, rows);
        match (groups.next(), outs.next()) {
            (Some(g1), Some(s1)) => {
                let c1 = columns_of(g1, rows);
                if !(vectors && column_sums_f32([c0, c1], [&mut *s0, &mut *s1])) {
                    column_sums_chained(c0, s0);
                    column_sums_chained(c1, s1);
                }
            }
            _ => {
                if !(vectors && column_sums_f32([c0], [&mut *s0])) {
                    column_sums_chained(c0, s0);
                }
            }
        }
    }
    for (s, col) in outs.into_remainder().iter_mut().zip(groups.remainder().chunks_exact(rows)) {
        *s = col.iter().fold(T::zero(), |s, &x| s + x);
    }
}

/// The eight columns of `rows` entries of a group.
#[inline(always)]
fn columns_of<T>(group: &[T], rows: usize) -> [&[T]; LANES] {
    core::array::from_fn(|k| part(group, k * rows..(k + 1) * rows))
}

/// [`column_sums`] of eight columns of equal length in eight scalar chains.
#[inline(always)]
fn column_sums_chained<T: Real>(c: [&[T]; LANES], sums: &mut [T]) {
    let mut acc = [T::zero(); LANES];
    // Zipped slices: one index, no bounds checks.
    let rows_of = c[0].iter().zip(c[1]).zip(c[2]).zip(c[3]).zip(c[4].iter().zip(c[5]).zip(c[6]).zip(c[7]));
    for ((((&x0, &x1), &x2), &x3), (((&x4, &x5), &x6), &x7)) in rows_of {
        for (a, x) in acc.iter_mut().zip([x0, x1, x2, x3, x4, x5, x6, x7]) {
            *a += x;
        }
    }
    for (s, a) in sums.iter_mut().zip(acc) {
        *s = a;
    }
}

/// [`column_sums`] of `G` groups of eight columns, all of equal length, in
/// `G` vectors of `f32` side by side (each group's rows added in row
/// order); `false` (and `sums` untouched) unless `T` is `f32`.
#[inline(always)]
fn column_sums_f32<T: Real, const G: usize>(c: [[&[T]; LANES]; G], sums: [&mut [T]; G]) -> bool {
    if TypeId::of::<T>() != TypeId::of::<f32>() {
        return false;
    }
    let value = |x: &T| (x as &dyn Any).downcast_ref::<f32>().copied().unwrap_or(0.0);
    let rows = c[0][0].len();
    let whole = rows - rows % LANES;
    let mut acc = [f32x8::splat(0.0); G];
    for r in (0..whole).step_by(LANES) {
        for (a, c) in acc.iter_mut().zip(&c) {
            let block: [f32x8; LANES] =
                core::array::from_fn(|k| f32_lanes(part(c[k], r..r + LANES)).unwrap_or(f32x8::splat(0.0)));
            // Row `r + i` of the eight columns, in row order.
            for row in f32x8::transpose(block) {
                *a += row;
            }
        }
    }
    for r in whole..rows {
        for (a, c) in acc.iter_mut().zip(&c) {
            *a += f32x8::new(core::array::from_fn(|k| c[k].get(r).map_or(0.0, value)));
        }
    }
    for (sums, a) in sums.into_iter().zip(acc) {
        for (s, a) in sums.iter_mut().zip(a.to_array()) {
            if let Some(s) = (s as &mut dyn Any).downcast_mut::<f32>() {
                *s = a;
            }
        }
    }
    true
}

/// `(x0 . y, x1 . y)` in one pass over `y`, each summed exactly as [`dot`]
/// sums it (the same lanes, the same order: the same bits as two calls).
#[inline(always)]
pub fn dot2<T: Real>(x0: &[T], x1: &[T], y: &[T]) -> (T, T) {
    const LANES: usize = 8;
    let (mut acc0, mut acc1) = ([T::zero(); LANES], [T::zero(); LANES]);
    let n = x0.len().min(x1.len()).min(y.len());
    let whole = n - n % LANES;
    let (x0, x1, y) = (part(x0, ..n), part(x1, ..n), part(y, ..n));
    let chunks = x0.chunks_exact(LANES).zip(x1.chunks_exact(LANES)).zip(y.chunks_exact(LANES));
    for ((a, b), c) in chunks {
        for k in 0..LANES {
            acc0[k] += a[k] * c[k];
            acc1[k] += b[k] * c[k];
        }
    }
    let (mut tail0, mut tail1) = (T::zero(), T::zero());
    for ((&a, &b), &c) in part(x0, whole..).iter().zip(part(x1, whole..)).zip(part(y, whole..)) {
        tail0 += a * c;
        tail1 += b * c;
    }
    let sum = |acc: [T; LANES], tail: T| acc.iter().fold(T::zero(), |s, &v| s + v) + tail;
    (sum(acc0, tail0), sum(acc1, tail1))
}

/// `(x0 . y, x1 . y)`, each summed exactly as [`dot`] sums it (the same
/// bits as two calls): on [`SCALAR`] targets through [`dot2`]; with vector
/// units for `f32` in two explicit eight-lane vector sums (the `wide`
/// crate), which run side by side where the compiler made one dependent
/// chain of each [`dot`] (the adjoint's column partials measured in
/// docs/PERFORMANCE.md); otherwise as two calls of [`dot`].
#[inline(always)]
pub fn dot_pair<T: Real>(x0: &[T], x1: &[T], y: &[T]) -> (T, T) {
    if SCALAR {
        dot2(x0, x1, y)
    } else if let Some(sums) = dot_pair_f32(x0, x1, y) {
        sums
    } else {
        (dot(x0, y), dot(x1, y))
    }
}

/// [`dot_pair`] in `f32` vectors; `None` unless `T` is `f32`.
#[inline(always)]
fn dot_pair_f32<T: Real>(x0: &[T], x1: &[T], y: &[T]) -> Option<(T, T)> {
    let (mut acc0, mut acc1) = (f32x8::splat(0.0), f32x8::splat(0.0));
    let n = x0.len().min(x1.len()).min(y.len());
    let whole = n - n % LANES;
    let (x0, x1, y) = (part(x0, ..n), part(x1, ..n), part(y, ..n));
    let chunks = x0.chunks_exact(LANES).zip(x1.chunks_exact(LANES)).zip(y.chunks_exact(LANES));
    for ((a, b), c) in chunks {
        let (a, b, c) = (f32_lanes(a)?, f32_lanes(b)?, f32_lanes(c)?);
        acc0 += a * c;
        acc1 += b * c;
    }
    let (mut tail0, mut tail1) = (T::zero(), T::zero());
    for ((&a, &b), &c) in part(x0, whole..).iter().zip(part(x1, whole..)).zip(part(y, whole..)) {
        tail0 += a * c;
        tail1 += b * c;
    }
    Some((fold_f32_lanes(acc0, tail0)?, fold_f32_lanes(acc1, tail1)?))
}

/// Lanes of the `f32` vectors of [`dot_pair_f32`] and [`column_sums`].
const LANES: usize = 8;

/// Eight entries as an `f32` vector; `None` unless `T` is `f32` and `c`
/// has eight entries. The type is checked once (a constant after
/// monomorphisation) and the chunk is taken as an `[f32; 8]` through
/// `Any`, which needs no `unsafe`.
#[inline(always)]
fn f32_lanes<T: Real>(c: &[T]) -> Option<f32x8> {
    if TypeId::of::<T>() != TypeId::of::<f32>() {
        return None;
    }
    let c: &[T; LANES] = c.try_into().ok()?;
    (c as &dyn Any).downcast_ref::<[f32; LANES]>().map(|&a| f32x8::new(a))
}

/// `((0 + acc_0) + acc_1) + ... + acc_7 + tail`, as [`dot`] folds its
/// lanes; `None` unless `T` is `f32`.
#[inline(always)]
fn fold_f32_lanes<T: Real>(acc: f32x8, tail: T) -> Option<T> {
    let back = |v: f32| (&v as &dyn Any).downcast_ref::<T>().copied();
    acc.to_array().iter().try_fold(T::zero(), |s, &v| back(v).map(|v| s + v)).map(|s| s + tail)
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

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use proptest::prelude::*;
    use std::{vec, vec::Vec};

    /// Entries from a few magnitudes, with exact zeros (skipped columns).
    fn entries(n: usize) -> impl Strategy<Value = Vec<f32>> {
        proptest::collection::vec(prop_oneof![Just(0.0f32), -1e3f32..1e3, -1e-3f32..1e-3], n)
    }

    /// A `rows x cols` matrix, a vector of `cols` and one of `rows`.
    fn problem() -> impl Strategy<Value = (usize, Vec<f32>, Vec<f32>, Vec<f32>)> {
        (1usize..21, 0usize..11)
            .prop_flat_map(|(rows, cols)| (Just(rows), entries(rows * cols), entries(cols), entries(rows)))
    }

    proptest! {
        /// `mul_add` groups columns by four; each entry must still be the
        /// one a column-by-column `axpy` gives, bit for bit.
        #[test]
        fn mul_add_has_the_bits_of_one_axpy_per_column((rows, m, x, out) in problem()) {
            let mut fast = out.clone();
            mul_add(&m, &x, &mut fast);
            let mut slow = out;
            for (col, &xj) in m.chunks_exact(rows).zip(&x) {
                if xj != 0.0 {
                    axpy(xj, col, &mut slow);
                }
            }
            prop_assert_eq!(fast.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                            slow.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        }

        /// `tr_mul_gated` pairs columns ([`dot2`]); each entry must be the
        /// [`dot`] of its column, or zero where the gate is closed.
        #[test]
        fn tr_mul_gated_has_the_bits_of_one_dot_per_column((rows, m, gate, v) in problem(), all in any::<bool>()) {
            let gate = if all { Vec::new() } else { gate };
            let cols = m.len() / rows;
            let mut out = vec![f32::NAN; cols];
            tr_mul_gated(&m, &v, &gate, &mut out);
            for (j, (o, col)) in out.iter().zip(m.chunks_exact(rows)).enumerate() {
                let open = gate.get(j).is_none_or(|&g| g != 0.0);
                let want = if open { dot(col, &v) } else { 0.0 };
                prop_assert_eq!(o.to_bits(), want.to_bits());
            }
            // Entries past the columns `m` holds are left as they are.
            let mut longer = vec![f32::NAN; cols + 1];
            tr_mul_gated(&m, &v, &gate, &mut longer);
            prop_assert_eq!(longer[..cols].iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                            out.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
            prop_assert!(longer[cols].is_nan());
            // `dot2` itself, which only targets without vector units use
            // above, and the `f32` vectors of `dot_pair` that the others
            // use: each of their two sums must be `dot`'s.
            let mut cols = m.chunks_exact(rows);
            if let (Some(c0), Some(c1)) = (cols.next(), cols.next()) {
                let want = (dot(c0, &v).to_bits(), dot(c1, &v).to_bits());
                let (d0, d1) = dot2(c0, c1, &v);
                prop_assert_eq!((d0.to_bits(), d1.to_bits()), want);
                let (p0, p1) = dot_pair_f32(c0, c1, &v).expect("f32 takes the vectors");
                prop_assert_eq!((p0.to_bits(), p1.to_bits()), want);
            }
        }

        /// `column_sums` interleaves eight columns' sums; each must be the
        /// plain fold down its column, bit for bit.
        #[test]
        fn column_sums_have_the_bits_of_a_fold_per_column(
            (rows, m) in (1usize..21, 0usize..27).prop_flat_map(|(rows, cols)| (Just(rows), entries(rows * cols)))
        ) {
            let cols = m.len() / rows;
            let mut out = vec![f32::NAN; cols];
            column_sums(&m, rows, &mut out);
            for (o, col) in out.iter().zip(m.chunks_exact(rows)) {
                let want = col.iter().fold(0.0f32, |s, &x| s + x);
                prop_assert_eq!(o.to_bits(), want.to_bits());
            }
        }

        /// Slices of unequal lengths: [`dot`] and [`dot2`] sum the common
        /// prefix (the remainder of the longer one's chunks is not paired
        /// with the shorter one's).
        #[test]
        fn dots_of_unequal_lengths_sum_the_common_prefix(x in entries(13), y in entries(21), n in 0usize..22) {
            let (x, y) = (&x[..n.min(13)], &y[..n]);
            let k = x.len().min(y.len());
            let want = dot(&x[..k], &y[..k]).to_bits();
            prop_assert_eq!(dot(x, y).to_bits(), want);
            prop_assert_eq!(dot(y, x).to_bits(), want);
            let (d0, d1) = dot2(y, y, x);
            prop_assert_eq!((d0.to_bits(), d1.to_bits()), (want, want));
        }
    }
}
