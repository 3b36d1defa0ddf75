//! The inverse of an online update, for the meta-gradient's in-place
//! reversal ([`Reversal::Invert`](crate::meta::Reversal::Invert)): walking
//! the weights back from `W^{t+1}` to `W^t` where they lie, instead of
//! recomputing them forward from a checkpoint into buffers of their own.
//!
//! With a step's activities fixed, every term of the pool gives column `j`
//! of layer `l`'s update as
//!
//! `W_j' = (1 + D) W_j + A e_l + B yhat_l + C 1`,
//!
//! where `D` (weight decay) does not depend on the weights and `A, B, C`
//! depend on them only through `t = W_l^T yhat_l`: Oja's `F^9` reads its
//! own column's `t_j` (`B = k_9 (y_{l-1,j} - t_j) + ...`), and `F^6` and
//! `F^7` scale their columns by `yhat_l^T W_l e_{l-1} = t . e_{l-1}`, one
//! number for the whole layer. The step's update keeps the `t` it used in
//! its activity, so the coefficients here, scales included, are the
//! update's own, bit for bit, and the inverse takes the update's increment
//! off again:
//!
//! `W_j = (W_j' - A e_l - B yhat_l - C 1) / (1 + D)`.
//!
//! In floating point the inverse is exact up to rounding, and the rounding
//! of each step is amplified by the inverse's gain `1 / |1 + D|` (undoing
//! weight decay expands the weights). [`invert_update`] returns that gain
//! and refuses a step that would take the product of gains over a segment
//! past a budget; the rest of that segment is then recomputed from its
//! checkpoint. (Before the update kept `t`, the inverse solved for it
//! along `yhat_l`, a Sherman-Morrison correction whose gain Oja's
//! contraction made large: a segment of a large `theta_9` was recomputed.)
//! A term of your own is not known to have the form above: a rule with one
//! is always recomputed.

use crate::kernel::{part, part_mut};
use crate::rule::Rule;
use crate::step::{Reads, active_terms, is_blank, layer_signals};
use crate::term::{BLOCK, Columns, Mix, pool_index};
use crate::{Activity, Real, Shape, Storage};

/// Whether every term of `rule` with a non-zero coefficient has the form
/// the inverse needs: a term of the pool.
pub(crate) fn invertible<T: Real, const N: usize>(rule: &Rule<'_, T, N>) -> bool {
    rule.entries().iter().filter(|e| e.theta != T::zero()).all(|e| pool_index(e.term).is_some())
}

/// Turns `w`, the weights after the update of step `act`, back into the
/// weights before it (up to rounding; see the [module documentation](self))
/// and returns the inverse's gain: the largest factor by which it can
/// amplify a rounding error of `w`, over all layers and columns. `rule`
/// must be [`invertible`]. Refuses (`None`) once a column's gain exceeds
/// `budget`, where the inverse does not exist (`1 + D = 0`), or where a
/// term reads `t_j` and the activity does not hold it (no update ran on
/// it); `w` is then partly inverted and must be recomputed. Layers below
/// `reads.first` and the blank columns of layer 1 are left as they are
/// (their gains still count).
pub(crate) fn invert_update<T, S, A, const N: usize>(
    reads: Reads<'_>,
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
    for l in reads.first..=shape.depth() {
        let o = shape.weight_offset(l);
        let blank = reads.blank(l);
        let (rows, cols) = (shape.width(l), shape.width(l - 1));
        let needs = rule.needs(l);
        let kept = act.wt_post(l);
        // The whole of `t` for the scales of `F^6` and `F^7`, as the update
        // passed it to them.
        let whole = if needs.wt_post_vector { kept.unwrap_or(&[]) } else { &[] };
        let s = layer_signals(shape, l, y, z, e, whole);
        let active = active_terms(rule, &s, l);
        if active.is_empty() || rows == 0 {
            continue;
        }
        let kept = match kept {
            Some(kept) => kept,
            // An update ran on this layer and kept `t` if a term reads it:
            // not this activity's update.
            None if needs.wt_post || needs.wt_post_vector => return None,
            // No term reads `t`: any value gives the update's coefficients.
            None => &[],
        };
        let layer = part_mut(w, o..o + rows * cols);
        let mut mixes = [Mix::zero(); BLOCK];
        let zeros = [T::zero(); BLOCK];
        for j0 in (0..cols).step_by(BLOCK) {
            let n = BLOCK.min(cols - j0);
            let mixes = part_mut(&mut mixes, ..n);
            mixes.fill(Mix::zero());
            // The pool's terms (all that reach here) read no weights in
            // `mix`, and `t` only where they need it (zeros otherwise, as
            // long as the block).
            let wt_post = if kept.is_empty() { part(&zeros, ..n) } else { part(kept, j0..j0 + n) };
            let c = Columns { j0, rows, weights: &[], wt_post };
            for &(term, k) in &active {
                term.mix_block(k, &s, &c, mixes);
            }
            let block = part_mut(layer, j0 * rows..(j0 + n) * rows);
            for (j, (col, m)) in (j0..).zip(block.chunks_exact_mut(rows).zip(mixes.iter())) {
                let scale = T::one() + m.weights;
                let sa = scale.to_f64().abs();
                // NaN refuses too.
                if (sa * budget).partial_cmp(&1.0) != Some(core::cmp::Ordering::Greater) {
                    return None;
                }
                gain = gain.max(1.0 / sa);
                if !is_blank(blank, j) {
                    invert_column(col, m, s.post_error, s.post, scale);
                }
            }
        }
    }
    Some(gain)
}

/// One column: `col` holds `W_j'` on entry and `W_j` on return; `scale`
/// is `1 + D`. A weight sweep like the update's, so compiled twice and
/// dispatched at run time as they are (not inlined: its slices are then
/// separate arguments the vectoriser knows not to overlap).
#[inline(never)]
#[multiversion::multiversion(targets("x86_64+avx2+fma"))]
fn invert_column<T: Real>(col: &mut [T], m: &Mix<T>, a: &[T], u: &[T], scale: T) {
    let zero = T::zero();
    if m.post_error == zero && m.post == zero && m.ones == zero && m.weights == zero {
        // The update left the column as it was.
        return;
    }
    let entries = col.iter_mut().zip(a).zip(u);
    let increment = |ai: T, ui: T| m.post_error * ai + m.post * ui + m.ones;
    if m.weights == zero {
        for ((w, &ai), &ui) in entries {
            *w -= increment(ai, ui);
        }
    } else {
        // One pass: the difference is rounded before the division, as it
        // was when the division had a pass of its own (the same bits).
        for ((w, &ai), &ui) in entries {
            *w = (*w - increment(ai, ui)) / scale;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::{Activity, FeedbackAlignment, Network};
    use crate::step::{Weights, activity, update};
    use crate::{FixedShape, Init};
    use alloc::vec::Vec;
    use rand_xoshiro::{Xoshiro256PlusPlus, rand_core::SeedableRng};

    type Net = crate::shape![6, 5, 4, 3];

    /// The weights of a random network and the activity of the forward
    /// pass and feedback of input `x` with `label` under `rule`, before
    /// any update.
    fn forward<const N: usize>(
        rule: &Rule<'_, f64, N>,
        seed: u64,
        x: impl Fn(f64) -> f64,
        label: usize,
    ) -> (Vec<f64>, Activity<Net, f64>) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut net = Network::<Net, f64>::zeros();
        net.init(&mut rng, Init::XavierUniform);
        let fa = FeedbackAlignment::<Net, f64>::random(&mut rng, Init::XavierUniform);
        let x: Vec<f64> = (0..Net::INPUT).map(|i| x(i as f64)).collect();
        let mut act = Activity::<Net, f64>::zeros();
        crate::activity::load_input(&mut act, &x).unwrap();
        activity(net.as_slice(), net.beta(), &fa, rule, &mut act, label).unwrap();
        (net.as_slice().to_vec(), act)
    }

    /// Updates `before` with `rule`, checks that the weights moved, inverts
    /// the update, checks that the weights came back to rounding, and
    /// returns the inverse's gain.
    fn update_and_invert<const N: usize>(rule: &Rule<'_, f64, N>, before: &[f64], act: &mut Activity<Net, f64>) -> f64 {
        let mut w = before.to_vec();
        update(Weights::InPlace(&mut w), rule, act).unwrap();
        let moved = w.iter().zip(before).fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(moved > 1e-3, "the update moved the weights by {moved:e} only");
        let gain = invert_update(Reads::ALL, &mut w, rule, act, 16.0).expect("the update is inverted");
        let err = w.iter().zip(before).fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(err < 1e-15, "inverse off by {err:e}");
        gain
    }

    /// The inverse of an `F^bio` update (Oja's term with a large
    /// coefficient, which contracts the weights) gives back the weights
    /// before it to rounding, with gain 1; on an activity no update ran on,
    /// where `W_j . yhat_l` is not kept, it refuses, unless no term reads it.
    #[test]
    fn inverse_of_an_update_reads_the_kept_products() {
        let mut bio = Rule::<f64, 3>::bio();
        bio.set_thetas(&[0.1, -0.05, 2.5]).unwrap();
        let (before, mut act) = forward(&bio, 9, |i| (i * 1.3).cos(), 2);
        assert_eq!(invert_update(Reads::ALL, &mut before.clone(), &bio, &act, 16.0), None, "nothing kept yet");
        let mut fa_only = Rule::<f64, 1>::fa();
        fa_only.set_thetas(&[0.1]).unwrap();
        assert_eq!(
            invert_update(Reads::ALL, &mut before.clone(), &fa_only, &act, 16.0),
            Some(1.0),
            "F^0 reads no product"
        );
        assert_eq!(update_and_invert(&bio, &before, &mut act), 1.0);
    }

    /// The pool's `F^6` and `F^7` scale their columns by `yhat_l^T W_l
    /// e_{l-1}`: the inverse reads it from the kept `W_l^T yhat_l`, and
    /// gives back the weights before the update of all ten terms to
    /// rounding; without the kept product it refuses.
    #[test]
    fn inverse_of_a_pool_update_reads_the_kept_scale() {
        let mut pool = Rule::<f64>::pool();
        pool.set_thetas(&[0.1, -0.02, 0.04, 0.01, -0.01, 0.02, 0.3, -0.3, 0.01, 0.05]).unwrap();
        let (before, mut act) = forward(&pool, 4, |i| (i * 0.7).sin(), 1);
        assert_eq!(invert_update(Reads::ALL, &mut before.clone(), &pool, &act, 16.0), None, "nothing kept yet");
        let gain = update_and_invert(&pool, &before, &mut act);
        assert!((gain - 1.0 / (1.0 - 0.01)).abs() < 1e-12, "gain {gain}: weight decay's alone");
    }
}
