//! The inverse of an online update, for the meta-gradient's in-place
//! reversal ([`Reversal::Invert`](crate::meta::Reversal::Invert)): walking
//! the weights back from `W^{t+1}` to `W^t` where they lie, instead of
//! recomputing them forward from a checkpoint into buffers of their own.
//!
//! With a step's activities fixed, the pool's terms other than `F^6` and
//! `F^7` give column `j` of layer `l`'s update as
//!
//! `W_j' = (1 + D) W_j + A e_l + B yhat_l + C 1`,
//!
//! where `D` (weight decay) does not depend on the weights and `A, B, C` are
//! affine in `t_j = W_j . yhat_l` (only Oja's `F^9` reads it:
//! `B = k_9 (y_{l-1,j} - t_j) + ...`). With `A_0, B_0, C_0` the
//! coefficients at `t_j = 0` and `dA, dB, dC` their change per unit of
//! `t_j`, `r = W_j' - A_0 e_l - B_0 yhat_l - C_0 1 = (1 + D) W_j + t_j v` with
//! `v = dA e_l + dB yhat_l + dC 1`, so
//!
//! `t_j = yhat_l . r / (1 + D + yhat_l . v)`, `W_j = (r - t_j v) / (1 + D)`
//! (Sherman-Morrison for the rank-one change along `yhat_l`).
//!
//! In floating point the inverse is exact up to rounding, and the rounding
//! of each step is amplified by the inverse's gain `1 / |1 + D|` and
//! `1 / |1 + D + yhat_l . v|` (Oja's term contracts the weights along
//! `yhat_l`; undoing it expands them). [`invert_update`] returns that gain
//! and refuses a step that would take the product of gains over a segment
//! past a budget; the rest of that segment is then recomputed from its
//! checkpoint.
//! `F^6` and `F^7` scale their columns by `yhat_l^T W_l e_{l-1}`,
//! a function of the whole layer, and a term of your own is not known to
//! have the form above: a rule with either is always recomputed.

use crate::kernel::{dot, part, part_mut};
use crate::rule::Rule;
use crate::step::{BLOCK, layer_signals};
use crate::term::{Columns, Mix, PlasticityTerm, pool_index};
use crate::{Activity, Real, Shape, Storage};

/// Whether every term of `rule` with a non-zero coefficient has the form
/// the inverse needs: a pool term other than `F^6` and `F^7`.
pub(crate) fn invertible<T: Real, const N: usize>(rule: &Rule<'_, T, N>) -> bool {
    rule.entries()
        .iter()
        .filter(|e| e.theta != T::zero())
        .all(|e| matches!(pool_index(e.term), Some(r) if r != 6 && r != 7))
}

/// The coefficients of column `j` of layer `l`'s update: `m0` at `t_j = 0`
/// and `dm`, the change per unit of `t_j`, for a block of columns.
struct Affine<T> {
    m0: [Mix<T>; BLOCK],
    dm: [Mix<T>; BLOCK],
}

/// The mixes of the active terms of a layer at `t_j = 0` and `t_j = 1`.
fn affine_block<T: Real>(
    active: &[(&dyn PlasticityTerm<T>, T)],
    s: &crate::term::Signals<'_, T>,
    j0: usize,
    rows: usize,
    n: usize,
) -> Affine<T> {
    let zeros = [T::zero(); BLOCK];
    let ones = [T::one(); BLOCK];
    let mut m0 = [Mix::zero(); BLOCK];
    let mut m1 = [Mix::zero(); BLOCK];
    // The pool's terms (all that reach here) read no weights in `mix`.
    let at_zero = Columns { j0, rows, weights: &[], wt_post: part(&zeros, ..n) };
    let at_one = Columns { j0, rows, weights: &[], wt_post: part(&ones, ..n) };
    for &(term, k) in active {
        term.mix_block(k, s, &at_zero, part_mut(&mut m0, ..n));
        term.mix_block(k, s, &at_one, part_mut(&mut m1, ..n));
    }
    let mut dm = [Mix::zero(); BLOCK];
    for ((d, a), b) in dm.iter_mut().zip(&m0).zip(&m1) {
        *d = Mix {
            post_error: b.post_error - a.post_error,
            post: b.post - a.post,
            ones: b.ones - a.ones,
            weights: T::zero(),
        };
    }
    Affine { m0, dm }
}

/// The active terms of layer `l` and their `k_r = theta_r scale_r`, as the
/// update computes them.
fn active_terms<'r, T: Real, const N: usize>(
    rule: &'r Rule<'_, T, N>,
    s: &crate::term::Signals<'_, T>,
    l: usize,
) -> heapless::Vec<(&'r dyn PlasticityTerm<T>, T), N> {
    let mut active = heapless::Vec::new();
    for e in rule.entries().iter().filter(|e| e.layers.contains(l) && e.theta != T::zero()) {
        // Capacity N is the rule's own: this push cannot fail.
        let _ = active.push((e.term, e.theta * e.term.scale(s)));
    }
    active
}

/// Turns `w`, the weights after the update of step `act`, back into the
/// weights before it (up to rounding; see the [module documentation](self))
/// and returns the inverse's gain: the largest factor by which it can
/// amplify a rounding error of `w`, over all layers and columns. `rule`
/// must be [`invertible`]. Refuses (`None`) once a column's gain exceeds
/// `budget` or the inverse does not exist there (`1 + D = 0` or
/// `1 + D + yhat . v = 0`); `w` is then partly inverted and must be
/// recomputed.
pub(crate) fn invert_update<T, S, A, const N: usize>(
    w: &mut [T],
    rule: &Rule<'_, T, N>,
    act: &Activity<T, S, A>,
    budget: f64,
) -> Option<f64>
where
    T: Real,
    S: Shape,
    A: Storage<T>,
{
    let [y, z, e, _, _] = act.parts();
    let shape = act.shape();
    let mut gain = 1.0f64;
    for l in 1..=shape.depth() {
        let o = shape.weight_offset(l);
        let (rows, cols) = (shape.width(l), shape.width(l - 1));
        let s = layer_signals(shape, l, y, z, e, &[]);
        let active = active_terms(rule, &s, l);
        if active.is_empty() || rows == 0 {
            continue;
        }
        let (a, u) = (s.post_error, s.post);
        let (ua, uu, u1) = (dot(u, a), dot(u, u), u.iter().fold(T::zero(), |x, &y| x + y));
        let layer = part_mut(w, o..o + rows * cols);
        for j0 in (0..cols).step_by(BLOCK) {
            let n = BLOCK.min(cols - j0);
            let Affine { m0, dm } = affine_block(&active, &s, j0, rows, n);
            let block = part_mut(layer, j0 * rows..(j0 + n) * rows);
            for ((col, m), d) in block.chunks_exact_mut(rows).zip(&m0).zip(&dm) {
                let scale = T::one() + m.weights;
                let along = scale + d.post_error * ua + d.post * uu + d.ones * u1;
                let (sa, al) = (scale.to_f64().abs(), along.to_f64().abs());
                // Written so that NaN refuses too.
                if !(sa * budget > 1.0 && al * budget > 1.0) {
                    return None;
                }
                gain = gain.max(1.0 / sa).max(1.0 / al);
                invert_column(col, m, d, a, u, scale, along);
            }
        }
    }
    Some(gain)
}

/// One column: `col` holds `W_j'` on entry and `W_j` on return; `scale`
/// is `1 + D`, `along` is `1 + D + yhat . v`.
#[inline(always)]
fn invert_column<T: Real>(col: &mut [T], m: &Mix<T>, d: &Mix<T>, a: &[T], u: &[T], scale: T, along: T) {
    let zero = T::zero();
    if m.post_error == zero && m.post == zero && m.ones == zero && m.weights == zero && *d == Mix::zero() {
        // The update left the column as it was.
        return;
    }
    // r = W' - A_0 e - B_0 yhat - C_0 1, in place.
    for ((w, &ai), &ui) in col.iter_mut().zip(a).zip(u) {
        *w -= m.post_error * ai + m.post * ui + m.ones;
    }
    if d.post_error == zero && d.post == zero && d.ones == zero {
        if m.weights != zero {
            for w in col.iter_mut() {
                *w /= scale;
            }
        }
        return;
    }
    let t = dot(u, col) / along;
    for ((w, &ai), &ui) in col.iter_mut().zip(a).zip(u) {
        *w = (*w - t * (d.post_error * ai + d.post * ui + d.ones)) / scale;
    }
}
