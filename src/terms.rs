//! The paper's pool of ten plasticity terms `F^0 .. F^9` (its Methods,
//! Eqs. 14-23), each a zero-sized type. Notation for layer `l`: `e_l`
//! postsynaptic signal, `y_{l-1}` presynaptic activity, `e_{l-1}` presynaptic
//! signal, `y_l` postsynaptic activity (`p` at the output), `W_l` weights.

use crate::Real;
use crate::kernel::axpy;
use crate::kernel::dot;
use crate::term::{
    BLOCK, BarBlock, Column, ColumnBar, Columns, Mix, MixBlock, Mixes, Needs, PlasticityTerm, Signals, SignalsBar,
};

/// `v[j]`, the presynaptic value of column `j` (`j < v.len()` in every call
/// the sweeps make; zero past the end rather than a panic, so that the
/// terms' code holds no panic path: docs/NO_PANIC.md).
#[inline(always)]
fn at<T: Real>(v: &[T], j: usize) -> T {
    v.get(j).copied().unwrap_or_else(T::zero)
}

/// `v[j0 .. j0 + n]` in the lanes of a block, zero past `n` lanes and past
/// the end of `v` (as with [`at`]): a whole block inside `v` (all but a
/// layer's last) in place, the rest copied into `spare`.
#[inline(always)]
fn lanes<'a, T: Real>(v: &'a [T], j0: usize, n: usize, spare: &'a mut [T; BLOCK]) -> &'a [T; BLOCK] {
    let whole = j0.checked_add(BLOCK).and_then(|end| v.get(j0..end));
    if let Some(whole) = whole.and_then(|w| <&[T; BLOCK]>::try_from(w).ok()).filter(|_| n >= BLOCK) {
        return whole;
    }
    for (o, &x) in spare.iter_mut().zip(v.get(j0..).unwrap_or(&[])).take(n) {
        *o = x;
    }
    spare
}

/// [`PlasticityTerm::mix_block`] of a term whose column `j` reads only
/// `v[j]` and `(W^T yhat_l)_j`: `add(m_i, v[j0 + i], wt_i)` for each column
/// of the block, `v` taken from `j0` once (the default builds each
/// [`Column`](crate::term::Column) and checks `j0 + i` against `v`): the
/// same values, zero past the end as with [`at`].
#[inline(always)]
fn mix_each<T: Real>(v: &[T], cols: &Columns<'_, T>, out: &mut [Mix<T>], add: impl Fn(&mut Mix<T>, T, T)) {
    let block = cols.j0.checked_add(out.len()).and_then(|end| v.get(cols.j0..end));
    match (block, cols.wt_post.get(..out.len())) {
        (Some(v), Some(wt)) => {
            for ((m, &vj), &t) in out.iter_mut().zip(v).zip(wt) {
                add(m, vj, t);
            }
        }
        _ => past_end(v, cols, out, add),
    }
}

/// [`mix_each`] where `v` or the products do not cover the block (no sweep
/// makes such a block): zero past their ends, as with [`at`]. Not inlined:
/// one small copy per term.
#[inline(never)]
fn past_end<T: Real>(v: &[T], cols: &Columns<'_, T>, out: &mut [Mix<T>], add: impl Fn(&mut Mix<T>, T, T)) {
    let v = v.get(cols.j0..).unwrap_or(&[]);
    for (i, m) in out.iter_mut().enumerate() {
        add(m, at(v, i), at(cols.wt_post, i));
    }
}

/// [`PlasticityTerm::mix_adjoint_block`] of a term whose column `j` reads
/// only `v[j]` and `(W^T yhat_l)_j`: `adjoint(v[j0 + i], wt_i, g_i, bar)`
/// on each lane's partials directly (see the trait: each of [`column`]'s
/// forms writes each partial once, so this adds what a zeroed bar would
/// carry), and the lanes' `k` summed in column order from zero.
#[inline(always)]
fn adjoint_each<T: Real>(
    v: &[T],
    cols: &Columns<'_, T>,
    g: &MixBlock<T>,
    out: &mut BarBlock<T>,
    adjoint: impl Fn(T, T, &Mix<T>, &mut ColumnBar<T>),
) -> T {
    let n = cols.len().min(BLOCK);
    let (mut v_spare, mut wt_spare) = ([T::zero(); BLOCK], [T::zero(); BLOCK]);
    let (v, wt) = (lanes(v, cols.j0, n, &mut v_spare), lanes(cols.wt_post, 0, n, &mut wt_spare));
    let mut k = [T::zero(); BLOCK];
    for (i, ((&vj, &t), ki)) in v.iter().zip(wt).zip(k.iter_mut()).enumerate() {
        let mut bar = out.get(i);
        adjoint(vj, t, &g.get(i), &mut bar);
        *ki = bar.k;
        out.set(i, &bar);
    }
    k.iter().take(n).fold(T::zero(), |s, &x| s + x)
}

/// The column adjoints of the pool, `(k, v_j, (W^T yhat_l)_j, g, bar)`,
/// shared by each term's `mix_adjoint` and `mix_adjoint_block`.
mod column {
    use super::{ColumnBar, Mix, Real};

    /// The adjoint of `post_error -= k y_j` (`F^0`, `F^5`, `F^7`).
    #[inline(always)]
    pub fn gradient<T: Real>(k: T, y: T, _: T, g: &Mix<T>, bar: &mut ColumnBar<T>) {
        bar.k -= y * g.post_error;
        bar.pre -= k * g.post_error;
    }

    /// The adjoint of `post -= k e_j` (`F^1`, `F^6`, `F^8`).
    #[inline(always)]
    pub fn activity_error<T: Real>(k: T, e: T, _: T, g: &Mix<T>, bar: &mut ColumnBar<T>) {
        bar.k -= e * g.post;
        bar.pre_error -= k * g.post;
    }

    /// The adjoint of `post_error -= k e_j` (`F^2`).
    #[inline(always)]
    pub fn error_hebb<T: Real>(k: T, e: T, _: T, g: &Mix<T>, bar: &mut ColumnBar<T>) {
        bar.k -= e * g.post_error;
        bar.pre_error -= k * g.post_error;
    }

    /// The adjoint of `weights -= k` (`F^3`).
    #[inline(always)]
    pub fn decay<T: Real>(_: T, _: T, _: T, g: &Mix<T>, bar: &mut ColumnBar<T>) {
        bar.k -= g.weights;
    }

    /// The adjoint of `ones -= k e_j` (`F^4`).
    #[inline(always)]
    pub fn broadcast<T: Real>(k: T, e: T, _: T, g: &Mix<T>, bar: &mut ColumnBar<T>) {
        bar.k -= e * g.ones;
        bar.pre_error -= k * g.ones;
    }

    /// The adjoint of `post += k (y_j - t_j)` (`F^9`).
    #[inline(always)]
    pub fn oja<T: Real>(k: T, y: T, t: T, g: &Mix<T>, bar: &mut ColumnBar<T>) {
        bar.k += (y - t) * g.post;
        bar.pre += k * g.post;
        bar.wt_post -= k * g.post;
    }
}

/// A pool term's `mix_adjoint` and `mix_adjoint_block`, from its column
/// adjoint `form` (one of [`column`]'s) on the presynaptic vector `s.$v`.
macro_rules! adjoint_forms {
    ($v:ident, $form:path) => {
        #[inline]
        fn mix_adjoint(&self, k: T, s: &Signals<'_, T>, c: &Column<'_, T>, g: &Mix<T>, bar: &mut ColumnBar<T>) {
            $form(k, at(s.$v, c.j), c.wt_post, g, bar);
        }
        #[inline]
        fn mix_adjoint_block(
            &self,
            k: T,
            s: &Signals<'_, T>,
            cols: &Columns<'_, T>,
            g: &MixBlock<T>,
            out: &mut BarBlock<T>,
        ) -> T {
            adjoint_each(s.$v, cols, g, out, |v, t, gi, bar| $form(k, v, t, gi, bar))
        }
    };
}

const PRE_ERROR: Needs = Needs { pre_error: true, wt_post: false, wt_post_vector: false };

macro_rules! term {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $name;
    };
}

term!(
    /// `F^0 = -e_l y_{l-1}^T`: the pseudo-gradient, the plain feedback
    /// alignment update (the exact gradient step under backprop).
    PseudoGradient
);
term!(
    /// `F^1 = -y_l e_{l-1}^T`.
    ActivityError
);
term!(
    /// `F^2 = -e_l e_{l-1}^T`: the Hebbian-style error term ("eHebb");
    /// in expectation `sigma_l^2 B^T` for random feedback (supplementary note 4).
    ErrorHebb
);
term!(
    /// `F^3 = -W_l`: weight decay.
    WeightDecay
);
term!(
    /// `F^4 = -1 e_{l-1}^T`, with `1` the all-ones vector of length `n_l`.
    ErrorBroadcast
);
term!(
    /// `F^5 = -(1^T y_l) e_l y_{l-1}^T`: the pseudo-gradient scaled by the
    /// total postsynaptic activity.
    ActivityScaledGradient
);
term!(
    /// `F^6 = -(y_l^T W_l e_{l-1}) y_l e_{l-1}^T`.
    FeedbackScaledActivityError
);
term!(
    /// `F^7 = -(y_l^T W_l e_{l-1}) e_l y_{l-1}^T`.
    FeedbackScaledGradient
);
term!(
    /// `F^8 = -(e_l^T W_l y_{l-1}) y_l e_{l-1}^T`, where
    /// `e_l^T W_l y_{l-1} = e_l . z_l`.
    DriveScaledActivityError
);
term!(
    /// `F^9 = y_l y_{l-1}^T - y_l y_l^T W_l`: Oja's rule, applied as the
    /// rank-one update `y_l (y_{l-1} - W_l^T y_l)^T` (the product
    /// `y_l y_l^T W_l` is never formed).
    Oja
);

impl<T: Real> PlasticityTerm<T> for PseudoGradient {
    fn name(&self) -> &'static str {
        "F0"
    }
    fn pool_index(&self, _: crate::term::sealed::Token) -> Option<u8> {
        Some(0)
    }
    fn mixes(&self) -> Mixes {
        Mixes::POST_ERROR
    }
    #[inline]
    fn mix(&self, k: T, s: &Signals<'_, T>, c: &Column<'_, T>, m: &mut Mix<T>) {
        m.post_error -= k * at(s.pre, c.j);
    }
    #[inline]
    fn mix_block(&self, k: T, s: &Signals<'_, T>, cols: &Columns<'_, T>, out: &mut [Mix<T>]) {
        mix_each(s.pre, cols, out, |m, y, _| m.post_error -= k * y);
    }
    adjoint_forms!(pre, column::gradient);
}

impl<T: Real> PlasticityTerm<T> for ActivityError {
    fn name(&self) -> &'static str {
        "F1"
    }
    fn pool_index(&self, _: crate::term::sealed::Token) -> Option<u8> {
        Some(1)
    }
    fn mixes(&self) -> Mixes {
        Mixes::POST
    }
    fn needs(&self) -> Needs {
        PRE_ERROR
    }
    #[inline]
    fn mix(&self, k: T, s: &Signals<'_, T>, c: &Column<'_, T>, m: &mut Mix<T>) {
        m.post -= k * at(s.pre_error, c.j);
    }
    #[inline]
    fn mix_block(&self, k: T, s: &Signals<'_, T>, cols: &Columns<'_, T>, out: &mut [Mix<T>]) {
        mix_each(s.pre_error, cols, out, |m, e, _| m.post -= k * e);
    }
    adjoint_forms!(pre_error, column::activity_error);
}

impl<T: Real> PlasticityTerm<T> for ErrorHebb {
    fn name(&self) -> &'static str {
        "F2"
    }
    fn pool_index(&self, _: crate::term::sealed::Token) -> Option<u8> {
        Some(2)
    }
    fn mixes(&self) -> Mixes {
        Mixes::POST_ERROR
    }
    fn needs(&self) -> Needs {
        PRE_ERROR
    }
    #[inline]
    fn mix(&self, k: T, s: &Signals<'_, T>, c: &Column<'_, T>, m: &mut Mix<T>) {
        m.post_error -= k * at(s.pre_error, c.j);
    }
    #[inline]
    fn mix_block(&self, k: T, s: &Signals<'_, T>, cols: &Columns<'_, T>, out: &mut [Mix<T>]) {
        mix_each(s.pre_error, cols, out, |m, e, _| m.post_error -= k * e);
    }
    adjoint_forms!(pre_error, column::error_hebb);
}

impl<T: Real> PlasticityTerm<T> for WeightDecay {
    fn name(&self) -> &'static str {
        "F3"
    }
    fn pool_index(&self, _: crate::term::sealed::Token) -> Option<u8> {
        Some(3)
    }
    fn mixes(&self) -> Mixes {
        Mixes::WEIGHTS
    }
    #[inline]
    fn mix(&self, k: T, _s: &Signals<'_, T>, _c: &Column<'_, T>, m: &mut Mix<T>) {
        m.weights -= k;
    }
    #[inline]
    fn mix_block(&self, k: T, _s: &Signals<'_, T>, _cols: &Columns<'_, T>, out: &mut [Mix<T>]) {
        for m in out.iter_mut() {
            m.weights -= k;
        }
    }
    adjoint_forms!(pre, column::decay);
}

impl<T: Real> PlasticityTerm<T> for ErrorBroadcast {
    fn name(&self) -> &'static str {
        "F4"
    }
    fn pool_index(&self, _: crate::term::sealed::Token) -> Option<u8> {
        Some(4)
    }
    fn mixes(&self) -> Mixes {
        Mixes::ONES
    }
    fn needs(&self) -> Needs {
        PRE_ERROR
    }
    #[inline]
    fn mix(&self, k: T, s: &Signals<'_, T>, c: &Column<'_, T>, m: &mut Mix<T>) {
        m.ones -= k * at(s.pre_error, c.j);
    }
    #[inline]
    fn mix_block(&self, k: T, s: &Signals<'_, T>, cols: &Columns<'_, T>, out: &mut [Mix<T>]) {
        mix_each(s.pre_error, cols, out, |m, e, _| m.ones -= k * e);
    }
    adjoint_forms!(pre_error, column::broadcast);
}

impl<T: Real> PlasticityTerm<T> for ActivityScaledGradient {
    fn name(&self) -> &'static str {
        "F5"
    }
    fn pool_index(&self, _: crate::term::sealed::Token) -> Option<u8> {
        Some(5)
    }
    fn mixes(&self) -> Mixes {
        Mixes::POST_ERROR
    }
    fn scale(&self, s: &Signals<'_, T>) -> T {
        s.post.iter().fold(T::zero(), |acc, &u| acc + u)
    }
    #[inline]
    fn mix(&self, k: T, s: &Signals<'_, T>, c: &Column<'_, T>, m: &mut Mix<T>) {
        m.post_error -= k * at(s.pre, c.j);
    }
    #[inline]
    fn mix_block(&self, k: T, s: &Signals<'_, T>, cols: &Columns<'_, T>, out: &mut [Mix<T>]) {
        PseudoGradient.mix_block(k, s, cols, out);
    }
    adjoint_forms!(pre, column::gradient);
    fn scale_adjoint(&self, sbar: T, _s: &Signals<'_, T>, bar: &mut SignalsBar<'_, T>) {
        for u in bar.post.iter_mut() {
            *u += sbar;
        }
    }
}

/// `y_l^T W_l e_{l-1} = (W_l^T y_l) . e_{l-1}`, shared by `F^6` and `F^7`.
const FEEDBACK_SCALE: Needs = Needs { pre_error: true, wt_post: false, wt_post_vector: true };

impl<T: Real> PlasticityTerm<T> for FeedbackScaledActivityError {
    fn name(&self) -> &'static str {
        "F6"
    }
    fn pool_index(&self, _: crate::term::sealed::Token) -> Option<u8> {
        Some(6)
    }
    fn mixes(&self) -> Mixes {
        Mixes::POST
    }
    fn needs(&self) -> Needs {
        FEEDBACK_SCALE
    }
    fn scale(&self, s: &Signals<'_, T>) -> T {
        dot(s.wt_post, s.pre_error)
    }
    #[inline]
    fn mix(&self, k: T, s: &Signals<'_, T>, c: &Column<'_, T>, m: &mut Mix<T>) {
        m.post -= k * at(s.pre_error, c.j);
    }
    #[inline]
    fn mix_block(&self, k: T, s: &Signals<'_, T>, cols: &Columns<'_, T>, out: &mut [Mix<T>]) {
        ActivityError.mix_block(k, s, cols, out);
    }
    adjoint_forms!(pre_error, column::activity_error);
    fn scale_adjoint(&self, sbar: T, s: &Signals<'_, T>, bar: &mut SignalsBar<'_, T>) {
        feedback_scale_adjoint(sbar, s, bar);
    }
}

impl<T: Real> PlasticityTerm<T> for FeedbackScaledGradient {
    fn name(&self) -> &'static str {
        "F7"
    }
    fn pool_index(&self, _: crate::term::sealed::Token) -> Option<u8> {
        Some(7)
    }
    fn mixes(&self) -> Mixes {
        Mixes::POST_ERROR
    }
    fn needs(&self) -> Needs {
        FEEDBACK_SCALE
    }
    fn scale(&self, s: &Signals<'_, T>) -> T {
        dot(s.wt_post, s.pre_error)
    }
    #[inline]
    fn mix(&self, k: T, s: &Signals<'_, T>, c: &Column<'_, T>, m: &mut Mix<T>) {
        m.post_error -= k * at(s.pre, c.j);
    }
    #[inline]
    fn mix_block(&self, k: T, s: &Signals<'_, T>, cols: &Columns<'_, T>, out: &mut [Mix<T>]) {
        PseudoGradient.mix_block(k, s, cols, out);
    }
    adjoint_forms!(pre, column::gradient);
    fn scale_adjoint(&self, sbar: T, s: &Signals<'_, T>, bar: &mut SignalsBar<'_, T>) {
        feedback_scale_adjoint(sbar, s, bar);
    }
}

impl<T: Real> PlasticityTerm<T> for DriveScaledActivityError {
    fn name(&self) -> &'static str {
        "F8"
    }
    fn pool_index(&self, _: crate::term::sealed::Token) -> Option<u8> {
        Some(8)
    }
    fn mixes(&self) -> Mixes {
        Mixes::POST
    }
    fn needs(&self) -> Needs {
        PRE_ERROR
    }
    fn scale(&self, s: &Signals<'_, T>) -> T {
        dot(s.post_error, s.drive)
    }
    #[inline]
    fn mix(&self, k: T, s: &Signals<'_, T>, c: &Column<'_, T>, m: &mut Mix<T>) {
        m.post -= k * at(s.pre_error, c.j);
    }
    #[inline]
    fn mix_block(&self, k: T, s: &Signals<'_, T>, cols: &Columns<'_, T>, out: &mut [Mix<T>]) {
        ActivityError.mix_block(k, s, cols, out);
    }
    adjoint_forms!(pre_error, column::activity_error);
    fn scale_adjoint(&self, sbar: T, s: &Signals<'_, T>, bar: &mut SignalsBar<'_, T>) {
        axpy(sbar, s.drive, bar.post_error);
        axpy(sbar, s.post_error, bar.drive);
    }
}

impl<T: Real> PlasticityTerm<T> for Oja {
    fn name(&self) -> &'static str {
        "F9"
    }
    fn pool_index(&self, _: crate::term::sealed::Token) -> Option<u8> {
        Some(9)
    }
    fn mixes(&self) -> Mixes {
        Mixes::POST
    }
    fn needs(&self) -> Needs {
        Needs { pre_error: false, wt_post: true, wt_post_vector: false }
    }
    #[inline]
    fn mix(&self, k: T, s: &Signals<'_, T>, c: &Column<'_, T>, m: &mut Mix<T>) {
        m.post += k * (at(s.pre, c.j) - c.wt_post);
    }
    #[inline]
    fn mix_block(&self, k: T, s: &Signals<'_, T>, cols: &Columns<'_, T>, out: &mut [Mix<T>]) {
        mix_each(s.pre, cols, out, |m, y, wt| m.post += k * (y - wt));
    }
    adjoint_forms!(pre, column::oja);
}

/// Adjoint of `y_l^T W_l e_{l-1} = (W_l^T y_l) . e_{l-1}`.
fn feedback_scale_adjoint<T: Real>(sbar: T, s: &Signals<'_, T>, bar: &mut SignalsBar<'_, T>) {
    axpy(sbar, s.pre_error, bar.wt_post);
    axpy(sbar, s.wt_post, bar.pre_error);
}

/// The ten terms of the pool in the paper's order, `F^0 .. F^9`.
pub fn pool<T: Real>() -> [&'static dyn PlasticityTerm<T>; 10] {
    [
        &PseudoGradient,
        &ActivityError,
        &ErrorHebb,
        &WeightDecay,
        &ErrorBroadcast,
        &ActivityScaledGradient,
        &FeedbackScaledActivityError,
        &FeedbackScaledGradient,
        &DriveScaledActivityError,
        &Oja,
    ]
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    /// Every pool term's `mix_block` adds what `mix` adds column by column
    /// (the trait's default), bit for bit, and its `mix_adjoint_block` what
    /// `mix_adjoint` adds (`k`'s partials summed in column order): on
    /// blocks inside the layer, whole blocks of sixteen, and on blocks that
    /// run past the end of the presynaptic vectors, which no sweep makes
    /// but which must not change the values (zero past the end).
    #[test]
    fn block_forms_add_what_the_column_forms_add_column_by_column() {
        let v = |seed: usize, n: usize| (0..n).map(|i| ((seed * 37 + i * 11) as f64 * 0.61).sin()).collect::<Vec<_>>();
        let (rows, cols) = (3, 27);
        let (post_error, post, drive) = (v(1, rows), v(2, rows), v(3, rows));
        let (pre, pre_error, wt_all) = (v(4, cols), v(5, cols), v(6, cols));
        let weights = v(7, rows * BLOCK);
        let s = Signals {
            layer: 1,
            top: false,
            post_error: &post_error,
            post: &post,
            pre: &pre,
            pre_error: &pre_error,
            drive: &drive,
            wt_post: &[],
        };
        // (first column, block length): inside, whole, up to the end, past
        // the end of `v`, wholly past it.
        let cases = [(0, 4), (3, 4), (0, 16), (2, 16), (11, 16), (20, 16), (25, 4), (29, 2)];
        for (j0, n) in cases {
            let wt = wt_all.get(j0..).unwrap_or(&[]).iter().chain(&[0.25; BLOCK]).take(n).copied().collect::<Vec<_>>();
            let c = Columns { j0, rows, weights: &weights[..n * rows], wt_post: &wt };
            let start = v(8, 4 * BLOCK);
            let columns =
                start.chunks_exact(4).map(|x| Mix { post_error: x[0], post: x[1], ones: x[2], weights: x[3] });
            let fresh = columns.collect::<Vec<_>>();
            let mut lanes = MixBlock::zero();
            for (i, &m) in fresh.iter().enumerate() {
                lanes.set(i, m);
            }
            let start = v(9, 4 * BLOCK);
            let mut bars = BarBlock::zero();
            for (i, x) in start.chunks_exact(4).enumerate() {
                bars.set(i, &ColumnBar { k: x[0], pre: x[1], pre_error: x[2], wt_post: x[3] });
            }
            for term in pool::<f64>() {
                let mut block = fresh[..n].to_vec();
                term.mix_block(0.3, &s, &c, &mut block);
                for (i, m) in block.iter().enumerate() {
                    let mut each = fresh[i];
                    term.mix(0.3, &s, &c.column(i), &mut each);
                    let (got, want) = (
                        [m.post_error, m.post, m.ones, m.weights],
                        [each.post_error, each.post, each.ones, each.weights],
                    );
                    assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits), "{} on column {}", term.name(), j0 + i);
                }
                // The adjoint: the partials of `k`, summed in column order,
                // and each column's bar, as one column at a time adds them.
                let g = lanes;
                let mut block = bars;
                let kbar = term.mix_adjoint_block(0.3, &s, &c, &g, &mut block);
                let mut kbar_each = 0.0;
                for i in 0..n {
                    let mut one = ColumnBar::zero();
                    term.mix_adjoint(0.3, &s, &c.column(i), &g.get(i), &mut one);
                    kbar_each += one.k;
                    let mut each = bars.get(i);
                    each.pre += one.pre;
                    each.pre_error += one.pre_error;
                    each.wt_post += one.wt_post;
                    let b = block.get(i);
                    let (got, want) = ([b.pre, b.pre_error, b.wt_post], [each.pre, each.pre_error, each.wt_post]);
                    assert_eq!(
                        got.map(f64::to_bits),
                        want.map(f64::to_bits),
                        "{}'s bar of column {}",
                        term.name(),
                        j0 + i
                    );
                }
                assert_eq!(kbar.to_bits(), kbar_each.to_bits(), "{}'s k on columns {j0}..", term.name());
            }
        }
    }
}
