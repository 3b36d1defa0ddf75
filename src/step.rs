//! One online learning step: forward pass, modulating signals, and the local
//! update of every layer. This is the unit everything else builds on.

use crate::activity::Blocks;
use crate::activity::load_input;
use crate::buffer::{layer, same_shape, units};
use crate::error::Error;
use crate::kernel::{self, copy, part, part_mut};
use crate::pathway::FeedbackPathway;
use crate::rule::Rule;
use crate::signals::signals;
use crate::term::{BLOCK, Columns, Mix, Signals};
use crate::{Activity, Network, Real, Shape, Storage};
use multiversion::multiversion;

/// What a step reports about the sample it learned from (computed before
/// the update).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome<T> {
    /// Cross-entropy `-ln p_c` of the sample.
    pub loss: T,
    /// The predicted class `argmax p`.
    pub prediction: usize,
}

/// Learns from one sample `(x, label)`:
///
/// 1. forward: `z_l = W_l y_{l-1}`, `y_l = softplus_beta(z_l)`, `p = softmax(z_L)`;
/// 2. signals: `e_L = p - onehot(label)`, then top-down
///    `e_l = f_l ⊙ g(y_l)` with `f_l` from the `pathway` (and `e_0` when a
///    term on layer 1 needs it);
/// 3. update: `W_l <- W_l + sum_r theta_r F^r_l` on every layer, all terms
///    evaluated at the weights before the update, one sweep per layer.
///
/// Allocation-free. Errors, with the weights left exactly as they were: a
/// label `>= n_L`, an input of the wrong length or with NaN/inf, a
/// non-finite coefficient, an overflow in the forward pass or the signals.
/// If the update itself overflows, the step reports [`Error::Diverged`]
/// (the weights of that layer are then non-finite; earlier layers were
/// updated, later ones not), and the next step refuses the weights until
/// they are re-initialised or replaced.
///
/// # Panics
///
/// Never, with the pool's terms and the crate's pathways: the release build
/// of the step (with [`step_loaded`], the adjoint and the rule-file reader)
/// holds no panic path at all, which `tools/no_panic.sh` proves at link
/// time for the `64-32-16-10` network in `f32` and `f64`, as a `shape!` type
/// and as a run-time [`Widths`](crate::Widths)
/// (docs/NO_PANIC.md says exactly what that covers). Every slice access
/// goes through a checked accessor, and the buffers' lengths were checked
/// by the constructors ([`Network::new`], [`Activity::new`], the pathways'
/// `new`). Floating-point operations never trap in Rust: overflow and
/// invalid operations give infinities and NaN, which the step detects and
/// reports. A user-defined [`PlasticityTerm`](crate::PlasticityTerm) or
/// [`FeedbackPathway`] runs its own code and may panic.
///
/// Repeated steps on one sample through backprop drive its loss down; a
/// bad label is refused with the weights untouched:
///
/// ```
/// use metaplasticity::{shape, step, Activity, Backprop, Error, Init, Network, Rule};
/// use rand_xoshiro::{rand_core::SeedableRng, Xoshiro256PlusPlus};
///
/// type Small = shape![4, 8, 3];
/// let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
/// let mut net = Network::<f64, Small, _>::zeros();
/// net.init(&mut rng, Init::XavierUniform);
/// let mut act = Activity::<f64, Small, _>::zeros();
/// let mut rule: Rule<f64> = Rule::fa();
/// rule.set_thetas(&[0.5])?;
/// let x = [0.9, 0.1, 0.4, 0.7];
/// let first = step(&mut net, &Backprop, &rule, &mut act, &x, 2)?;
/// let mut last = first;
/// for _ in 0..20 {
///     last = step(&mut net, &Backprop, &rule, &mut act, &x, 2)?;
/// }
/// assert!(last.loss < first.loss / 2.0 && last.prediction == 2);
/// let weights = net.as_slice().to_vec();
/// assert!(matches!(step(&mut net, &Backprop, &rule, &mut act, &x, 3), Err(Error::LabelOutOfRange { label: 3, classes: 3 })));
/// assert_eq!(net.as_slice(), &weights[..]);
/// # Ok::<(), Error>(())
/// ```
pub fn step<T, S, W, P, A, const N: usize>(
    net: &mut Network<T, S, W>,
    pathway: &P,
    rule: &Rule<'_, T, N>,
    act: &mut Activity<T, S, A>,
    x: &[T],
    label: usize,
) -> Result<Outcome<T>, Error>
where
    T: Real,
    S: Shape,
    W: Storage<T>,
    P: FeedbackPathway<T, S> + ?Sized,
    A: Storage<T>,
{
    load_input(act, x)?;
    step_loaded(net, pathway, rule, act, label)
}

/// [`step`] through a pathway whose feedback learns as well (plastic
/// feedback such as [`KolenPollack`](crate::KolenPollack)): after the
/// weights' update, the pathway's own plasticity
/// ([`FeedbackPathway::learn`]) with the step's activities and signals. For
/// a fixed pathway it is exactly [`step`].
///
/// Errors as [`step`]; also if the pathway's state overflows: this step's
/// update of the weights has then been applied, and the pathway refuses
/// every later step before it touches the weights (Kolen-Pollack's
/// [`check_shape`](FeedbackPathway::check_shape) reports its state as not
/// finite until it is set or redrawn).
pub fn step_plastic<T, S, W, P, A, const N: usize>(
    net: &mut Network<T, S, W>,
    pathway: &mut P,
    rule: &Rule<'_, T, N>,
    act: &mut Activity<T, S, A>,
    x: &[T],
    label: usize,
) -> Result<Outcome<T>, Error>
where
    T: Real,
    S: Shape,
    W: Storage<T>,
    P: FeedbackPathway<T, S> + ?Sized,
    A: Storage<T>,
{
    load_input(act, x)?;
    step_loaded_plastic(net, pathway, rule, act, label)
}

/// [`step_plastic`] for the input already written into
/// [`Activity::input_mut`].
pub fn step_loaded_plastic<T, S, W, P, A, const N: usize>(
    net: &mut Network<T, S, W>,
    pathway: &mut P,
    rule: &Rule<'_, T, N>,
    act: &mut Activity<T, S, A>,
    label: usize,
) -> Result<Outcome<T>, Error>
where
    T: Real,
    S: Shape,
    W: Storage<T>,
    P: FeedbackPathway<T, S> + ?Sized,
    A: Storage<T>,
{
    let outcome = step_loaded(net, &*pathway, rule, act, label)?;
    let [y, _, e, _, _] = act.parts();
    pathway.learn(net.shape(), y, e)?;
    Ok(outcome)
}

/// [`step`] for the input already written into [`Activity::input_mut`].
pub fn step_loaded<T, S, W, P, A, const N: usize>(
    net: &mut Network<T, S, W>,
    pathway: &P,
    rule: &Rule<'_, T, N>,
    act: &mut Activity<T, S, A>,
    label: usize,
) -> Result<Outcome<T>, Error>
where
    T: Real,
    S: Shape,
    W: Storage<T>,
    P: FeedbackPathway<T, S> + ?Sized,
    A: Storage<T>,
{
    same_shape(net.shape(), act.shape())?;
    pathway.check_shape(net.shape())?;
    net.check()?;
    let beta = net.beta();
    let weights = net.weights_mut();
    let result = activity(weights, beta, pathway, rule, act, label)
        .and_then(|outcome| update(Weights::InPlace(weights), rule, act).map(|()| outcome));
    if let Err(Error::Diverged { .. }) = result {
        net.mark_unchecked();
    }
    result
}

/// The weights an update reads and writes (the meta-gradient's
/// recomputation, feature `alloc`, uses the out-of-place form; without it
/// there is none, and no code for it in a firmware's image).
pub(crate) enum Weights<'a, T> {
    /// Update in place.
    InPlace(&'a mut [T]),
    /// Read `from`, write the updated weights into `to` (no copy pass).
    #[cfg(feature = "alloc")]
    Into { from: &'a [T], to: &'a mut [T] },
}

/// Steps 1 and 2 of a step: the forward pass and the modulating signals
/// (everything the update reads), without touching the weights.
pub(crate) fn activity<T, S, P, A, const N: usize>(
    weights: &[T],
    beta: T,
    pathway: &P,
    rule: &Rule<'_, T, N>,
    act: &mut Activity<T, S, A>,
    label: usize,
) -> Result<Outcome<T>, Error>
where
    T: Real,
    S: Shape,
    P: FeedbackPathway<T, S> + ?Sized,
    A: Storage<T>,
{
    let classes = act.shape().output();
    if label >= classes {
        return Err(Error::LabelOutOfRange { label, classes });
    }
    rule.check()?;
    act.check_len()?;
    let lowest = rule.lowest_signal();
    act.forward(weights, beta, lowest == 0)?;
    act.set_label(label);
    let outcome = Outcome { loss: act.loss(), prediction: act.prediction() };
    signals(pathway, weights, act, lowest)?;
    Ok(outcome)
}

/// Step 3: the plasticity update of every layer from the activity `act`
/// computed at the weights being updated.
pub(crate) fn update<T, S, A, const N: usize>(
    weights: Weights<'_, T>,
    rule: &Rule<'_, T, N>,
    act: &mut Activity<T, S, A>,
) -> Result<(), Error>
where
    T: Real,
    S: Shape,
    A: Storage<T>,
{
    update_from(Reads::ALL, weights, rule, act)
}

/// The part of the weights the meta-gradient's reverse pass reads: layers
/// `first..=L`, and of layer 1 only the columns of pixels that are not
/// blank. A blank pixel is zero in every training and query image of the
/// episode, so its column of `W_1` never reaches a forward pass, and its
/// entry of `e_0` is zero (the input's slope is zero there). With only the
/// pool's terms on layer 1 (a column's increment reads its own weights and
/// the step's signals, and other columns only through `t . e_0` in `F^6`
/// and `F^7`, to which a blank column adds nothing) and a pathway whose
/// signals above `e_0` do not read `W_1`, the query loss does not depend on
/// that column: its gradient stays exactly zero, and the reverse pass need
/// not recompute, invert or sweep it (the same bits; on the paper's MNIST
/// tasks about 240 of the 784 pixels are blank).
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(feature = "alloc"), allow(dead_code))]
pub(crate) struct Reads<'a> {
    /// The lowest layer read.
    pub first: usize,
    /// One entry per input pixel, `true` where it is blank; empty reads
    /// every column.
    pub blank: &'a [bool],
}

#[cfg_attr(not(feature = "alloc"), allow(dead_code))]
impl Reads<'_> {
    /// Every layer, every column.
    pub const ALL: Reads<'static> = Reads { first: 1, blank: &[] };

    /// The blank columns of layer `l` (none above layer 1).
    pub fn blank(&self, l: usize) -> &[bool] {
        if l == 1 { self.blank } else { &[] }
    }
}

/// Whether entry `j` of a [`Reads::blank`] mask is blank.
#[inline(always)]
pub(crate) fn is_blank(blank: &[bool], j: usize) -> bool {
    blank.get(j).copied().unwrap_or(false)
}

/// [`update`] of the part `reads` names: layers `reads.first..=L` (the
/// others are neither read nor written) and, out of place, only the
/// columns that are not blank (a blank column of `to` keeps what it held).
pub(crate) fn update_from<T, S, A, const N: usize>(
    reads: Reads<'_>,
    weights: Weights<'_, T>,
    rule: &Rule<'_, T, N>,
    act: &mut Activity<T, S, A>,
) -> Result<(), Error>
where
    T: Real,
    S: Shape,
    A: Storage<T>,
{
    act.check_len()?;
    let shape = *act.shape();
    let mut blocks = act.blocks();
    let check = |w: &[T]| crate::buffer::check_len(w, shape.weights(), crate::BufferKind::Weights);
    match weights {
        Weights::InPlace(w) => {
            check(w)?;
            for l in reads.first..=shape.depth() {
                update_layer::<T, S, N>(&shape, None, part_mut(w, layer(&shape, l)), rule, &mut blocks, l)?;
            }
        }
        #[cfg(feature = "alloc")]
        Weights::Into { from, to } => {
            check(from)?;
            check(to)?;
            for l in reads.first..=shape.depth() {
                let (src, dst) = (part(from, layer(&shape, l)), part_mut(to, layer(&shape, l)));
                update_layer::<T, S, N>(&shape, Some((src, reads.blank(l))), dst, rule, &mut blocks, l)?;
            }
        }
    }
    Ok(())
}

/// The signals of layer `l` from the `y`, `z` and `e` blocks of an activity.
pub(crate) fn layer_signals<'a, T: Real, S: Shape>(
    shape: &S,
    l: usize,
    y: &'a [T],
    z: &'a [T],
    e: &'a [T],
    wt_post: &'a [T],
) -> Signals<'a, T> {
    Signals {
        layer: l,
        top: l == shape.depth(),
        post_error: part(e, units(shape, l)),
        post: part(y, units(shape, l)),
        pre: part(y, units(shape, l - 1)),
        pre_error: part(e, units(shape, l - 1)),
        drive: part(z, units(shape, l)),
        wt_post,
    }
}

/// The terms active on layer `l` (those on it with a non-zero coefficient)
/// and their `k_r = theta_r scale_r` for the signals `s`.
#[inline(always)]
pub(crate) fn active_terms<'r, T: Real, const N: usize>(
    rule: &'r Rule<'_, T, N>,
    s: &Signals<'_, T>,
    l: usize,
) -> heapless::Vec<(&'r dyn crate::term::PlasticityTerm<T>, T), N> {
    let mut active = heapless::Vec::new();
    for e in rule.entries().iter().filter(|e| e.layers.contains(l) && e.theta != T::zero()) {
        // Capacity N is the rule's own: this push cannot fail.
        let _ = active.push((e.term, e.theta * e.term.scale(s)));
    }
    active
}

/// Applies the rule to `W_l` (one sweep over its columns): in place, or
/// from `src = (old W_l, blank)` into `w`, leaving out the columns `blank`
/// marks (see [`Reads`]).
#[multiversion(targets("x86_64+avx2+fma"))]
fn update_layer<T: Real, S: Shape, const N: usize>(
    shape: &S,
    src: Option<(&[T], &[bool])>,
    w: &mut [T],
    rule: &Rule<'_, T, N>,
    b: &mut Blocks<'_, T>,
    l: usize,
) -> Result<(), Error> {
    let (src, blank) = match src {
        Some((src, blank)) => (Some(src), blank),
        None => (None, &[][..]),
    };
    let needs = rule.needs(l);
    let rows = shape.width(l);
    if rows == 0 {
        // No shape has an empty layer (checked when the shape is made).
        return Ok(());
    }
    // `W_l^T yhat_l`, from the step's weights (`src` out of place, else
    // `w`), is kept in the activity for the same step's recomputed update
    // and adjoint; once kept, it is read back (the same bits).
    let bit = crate::activity::layer_bit(l);
    let known = *b.wt_valid & bit != 0;
    let kept = part_mut(b.wt_post, units(shape, l - 1));
    if needs.wt_post_vector && !known {
        kernel::tr_mul(src.unwrap_or(w), part(b.y, units(shape, l)), kept);
    }
    // The whole vector for the terms' scales, or the store the column
    // blocks below fill and read.
    let (whole, store): (&[T], &mut [T]) = if needs.wt_post_vector { (kept, &mut []) } else { (&[], kept) };
    let s = layer_signals(shape, l, b.y, b.z, b.e, whole);
    let active = active_terms(rule, &s, l);
    if active.is_empty() {
        if let Some(src) = src {
            copy(w, src);
        }
        return Ok(());
    }
    let mut overflow = false;
    let cols = shape.width(l - 1);
    let zeros = [T::zero(); BLOCK];
    let mut mixes = [Mix::zero(); BLOCK];
    for j0 in (0..cols).step_by(BLOCK) {
        let n = BLOCK.min(cols - j0);
        let span = j0 * rows..(j0 + n) * rows;
        let block = part_mut(w, span.clone());
        // The block's weights before the update: read from `src` out of
        // place (the update writes them into `block`: no copy first).
        let old = src.map(|src| part(src, span));
        let wt: &[T] = if needs.wt_post_vector {
            part(s.wt_post, j0..j0 + n)
        } else if needs.wt_post {
            if !known {
                kernel::tr_mul(old.unwrap_or(block), s.post, part_mut(store, j0..j0 + n));
            }
            part(store, j0..j0 + n)
        } else {
            part(&zeros, ..n)
        };
        let mixes = part_mut(&mut mixes, ..n);
        mixes.fill(Mix::zero());
        let c = Columns { j0, rows, weights: old.unwrap_or(block), wt_post: wt };
        for &(term, k) in &active {
            term.mix_block(k, &s, &c, mixes);
        }
        if let Some(old) = old {
            let columns = block.chunks_exact_mut(rows).zip(old.chunks_exact(rows)).zip(mixes.iter());
            for (j, ((col, from), m)) in (j0..).zip(columns) {
                if !is_blank(blank, j) {
                    overflow |= apply_mix_into(from, col, m, s.post_error, s.post);
                }
            }
        } else {
            let mut columns = block.chunks_exact_mut(rows).zip(mixes.iter());
            while let Some((c0, m0)) = columns.next() {
                let partner = if kernel::SCALAR { columns.next() } else { None };
                overflow |= match partner {
                    Some((c1, m1)) => apply_mix_pair(c0, m0, c1, m1, s.post_error, s.post),
                    None => apply_mix(c0, m0, s.post_error, s.post),
                };
            }
        }
    }
    if needs.wt_post || needs.wt_post_vector {
        *b.wt_valid |= bit;
    }
    if overflow {
        return Err(Error::Diverged { layer: l });
    }
    Ok(())
}

/// The form of one column's update `col += m.post_error a + m.post u +
/// m.ones + m.weights col`, with the mix's zero coefficients left out.
#[derive(Clone, Copy)]
enum Sweep<T> {
    /// Nothing to add (on layer 1, a zero pixel under terms scaled by the
    /// input, such as `F^0`): nothing new to check either.
    Unchanged,
    /// `w + pe a_i`.
    PostError(T),
    /// `w + (pe a_i + p u_i)`.
    Both(T, T),
    /// `w + (ws w + pe a_i + p u_i + ones)`.
    Full(Mix<T>),
}

impl<T: Real> Sweep<T> {
    /// Each coefficient is compared with zero at most once, the ones that
    /// decide the common forms first (written as a chain of `&&`, the
    /// Cortex-M4F compared some of them twice: 40 instructions a column).
    #[inline(always)]
    fn of(m: &Mix<T>) -> Self {
        let zero = T::zero();
        let (pe, p) = (m.post_error, m.post);
        if m.ones != zero || m.weights != zero {
            Sweep::Full(*m)
        } else if p != zero {
            Sweep::Both(pe, p)
        } else if pe != zero {
            Sweep::PostError(pe)
        } else {
            Sweep::Unchanged
        }
    }
}

/// `w_new(w, a_i, u_i)` of a `PostError` sweep.
#[inline(always)]
fn post_error<T: Real>(pe: T) -> impl Fn(T, T, T) -> T {
    move |w, ai, _| w + pe * ai
}

/// `w_new(w, a_i, u_i)` of a `Both` sweep.
#[inline(always)]
fn both<T: Real>(pe: T, p: T) -> impl Fn(T, T, T) -> T {
    move |w, ai, ui| w + (pe * ai + p * ui)
}

/// `w_new(w, a_i, u_i)` of a `Full` sweep.
#[inline(always)]
fn full<T: Real>(m: Mix<T>) -> impl Fn(T, T, T) -> T {
    move |w, ai, ui| w + (m.weights * w + m.post_error * ai + m.post * ui + m.ones)
}

/// `col += m.post_error a + m.post u + m.ones + m.weights col`; returns
/// whether any new entry is not finite.
#[inline(always)]
fn apply_mix<T: Real>(col: &mut [T], m: &Mix<T>, a: &[T], u: &[T]) -> bool {
    match Sweep::of(m) {
        Sweep::Unchanged => false,
        Sweep::PostError(pe) => apply(col, a, u, post_error(pe)),
        Sweep::Both(pe, p) => apply(col, a, u, both(pe, p)),
        Sweep::Full(m) => apply(col, a, u, full(m)),
    }
}

/// [`apply_mix`] out of place: `col = from + ...` (`from` is the column
/// before the update), with the bits of a copy followed by [`apply_mix`].
#[inline(always)]
fn apply_mix_into<T: Real>(from: &[T], col: &mut [T], m: &Mix<T>, a: &[T], u: &[T]) -> bool {
    match Sweep::of(m) {
        Sweep::Unchanged => {
            copy(col, from);
            false
        }
        Sweep::PostError(pe) => apply_into(from, col, a, u, post_error(pe)),
        Sweep::Both(pe, p) => apply_into(from, col, a, u, both(pe, p)),
        Sweep::Full(m) => apply_into(from, col, a, u, full(m)),
    }
}

/// [`apply_mix`] on two columns (on [`kernel::SCALAR`] targets): where
/// both are `PostError` or both `Both` sweeps (`F^0`, `F^bio`), in one pass
/// that reads `a` and `u` once for both (each entry computed as alone: the
/// same bits).
#[inline(always)]
fn apply_mix_pair<T: Real>(c0: &mut [T], m0: &Mix<T>, c1: &mut [T], m1: &Mix<T>, a: &[T], u: &[T]) -> bool {
    match (Sweep::of(m0), Sweep::of(m1)) {
        (Sweep::PostError(p0), Sweep::PostError(p1)) => apply_pair(c0, c1, a, u, post_error(p0), post_error(p1)),
        (Sweep::Both(e0, p0), Sweep::Both(e1, p1)) => apply_pair(c0, c1, a, u, both(e0, p0), both(e1, p1)),
        _ => apply_mix(c0, m0, a, u) | apply_mix(c1, m1, a, u),
    }
}

/// `col_i = new(col_i, a_i, u_i)`; returns whether any new entry is not
/// finite.
#[inline(always)]
fn apply<T: Real>(col: &mut [T], a: &[T], u: &[T], new: impl Fn(T, T, T) -> T) -> bool {
    let mut watch = Watch::new();
    for ((w, &ai), &ui) in col.iter_mut().zip(a).zip(u) {
        let n = new(*w, ai, ui);
        watch.see(n);
        *w = n;
    }
    watch.overflowed()
}

/// `col_i = new(from_i, a_i, u_i)`; returns whether any new entry is not
/// finite.
#[inline(always)]
fn apply_into<T: Real>(from: &[T], col: &mut [T], a: &[T], u: &[T], new: impl Fn(T, T, T) -> T) -> bool {
    let mut watch = Watch::new();
    for (((w, &old), &ai), &ui) in col.iter_mut().zip(from).zip(a).zip(u) {
        let n = new(old, ai, ui);
        watch.see(n);
        *w = n;
    }
    watch.overflowed()
}

/// [`apply`] on two columns in one pass over `a` and `u`.
#[inline(always)]
fn apply_pair<T: Real>(
    c0: &mut [T],
    c1: &mut [T],
    a: &[T],
    u: &[T],
    new0: impl Fn(T, T, T) -> T,
    new1: impl Fn(T, T, T) -> T,
) -> bool {
    let mut watch = Watch::new();
    for (((w0, w1), &ai), &ui) in c0.iter_mut().zip(c1.iter_mut()).zip(a).zip(u) {
        let (n0, n1) = (new0(*w0, ai, ui), new1(*w1, ai, ui));
        watch.see(n0);
        watch.see(n1);
        (*w0, *w1) = (n0, n1);
    }
    watch.overflowed()
}

/// Watches the entries a sweep writes for one that is not finite, in the
/// form that costs the sweep least on the target.
///
/// With vector units (x86, AArch64, WebAssembly) it ORs a comparison per
/// entry, a reduction the compiler vectorises with the sweep (a sum of
/// floats, which it may not reorder, would keep the sweep scalar: twice
/// the time of an `F^bio` step on x86-64). Without them
/// ([`kernel::SCALAR`], a Cortex-M4F),
/// where the comparison costs seven instructions, it adds `w * 0` (zero,
/// or NaN for an infinity or NaN) into a sum: one multiply-add per entry.
struct Watch<T> {
    bad: bool,
    sum: T,
}

impl<T: Real> Watch<T> {
    #[inline(always)]
    fn new() -> Self {
        Watch { bad: false, sum: T::zero() }
    }
    #[inline(always)]
    fn see(&mut self, w: T) {
        if kernel::SCALAR {
            self.sum += w * T::zero();
        } else {
            self.bad |= !w.is_finite();
        }
    }
    #[inline(always)]
    fn overflowed(&self) -> bool {
        if kernel::SCALAR { self.sum != T::zero() } else { self.bad }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::{vec, vec::Vec};

    fn mix(post_error: f64, post: f64, ones: f64, weights: f64) -> Mix<f64> {
        Mix { post_error, post, ones, weights }
    }

    /// Two columns swept together give the bits of two sweeps alone, for
    /// every pair of forms, and report an overflow in either column; a
    /// column swept out of place gives the bits of one swept in place.
    #[test]
    fn paired_and_out_of_place_sweeps_have_the_bits_of_one_in_place() {
        let forms = [
            mix(0.0, 0.0, 0.0, 0.0),
            mix(0.3, 0.0, 0.0, 0.0),
            mix(-0.7, 1.1, 0.0, 0.0),
            mix(0.2, -0.4, 0.05, -0.01),
            mix(1e300, 1e300, 0.0, 0.0),
        ];
        let a: Vec<f64> = (0..13).map(|i| 0.1 * i as f64 - 0.55).collect();
        let u: Vec<f64> = (0..13).map(|i| 1.0 / (1.0 + i as f64)).collect();
        let w0: Vec<f64> = (0..13).map(|i| (i as f64 * 0.37).sin() * 1e300).collect();
        let w1: Vec<f64> = (0..13).map(|i| (i as f64 * 0.91).cos()).collect();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for m0 in &forms {
            for m1 in &forms {
                let (mut p0, mut p1) = (w0.clone(), w1.clone());
                let pair = apply_mix_pair(&mut p0, m0, &mut p1, m1, &a, &u);
                let (mut s0, mut s1) = (w0.clone(), w1.clone());
                let alone = apply_mix(&mut s0, m0, &a, &u) | apply_mix(&mut s1, m1, &a, &u);
                assert_eq!(pair, alone, "{m0:?} {m1:?}");
                assert_eq!((bits(&p0), bits(&p1)), (bits(&s0), bits(&s1)), "{m0:?} {m1:?}");
            }
        }
        // Out of place, every form: the bits of a copy and a sweep in place.
        for m in &forms {
            let mut into = vec![f64::NAN; w0.len()];
            let flagged = apply_mix_into(&w0, &mut into, m, &a, &u);
            let mut alone = w0.clone();
            assert_eq!(flagged, apply_mix(&mut alone, m, &a, &u), "{m:?}");
            assert_eq!(bits(&into), bits(&alone), "{m:?}");
        }
        // `pe a_i + p u_i` past the largest float in one column only: the
        // pair must say so, whichever column it is.
        let (big, ones) = (mix(f64::MAX, f64::MAX, 0.0, 0.0), [1.0; 13]);
        assert!(apply_mix_pair(&mut w0.clone(), &big, &mut w1.clone(), &forms[2], &ones, &ones));
        assert!(apply_mix_pair(&mut w0.clone(), &forms[2], &mut w1.clone(), &big, &ones, &ones));
        assert!(!apply_mix_pair(&mut w0.clone(), &forms[2], &mut w1.clone(), &forms[2], &ones, &ones));
    }

    /// The overflow watch finds one entry that overflows or turns NaN at
    /// any position of columns longer and shorter than a vector, in place
    /// and out of place, and nothing where every entry stays finite.
    #[test]
    fn the_watch_finds_a_non_finite_entry_anywhere() {
        let step = mix(f64::MAX, 0.0, 0.0, 0.0);
        for len in [1, 15, 16, 17, 33, 37] {
            let ones = vec![1.0; len];
            let mut fine = ones.clone();
            assert!(!apply_mix(&mut fine, &step, &ones, &ones), "{len}");
            assert!(!apply_mix_into(&ones, &mut vec![0.0; len], &step, &ones, &ones), "{len}");
            for at in 0..len {
                // `MAX + MAX` overflows; `1 + MAX` rounds to `MAX`.
                let mut w = ones.clone();
                w[at] = f64::MAX;
                assert!(apply_mix_into(&w, &mut vec![0.0; len], &step, &ones, &ones), "{len} {at}");
                assert!(apply_mix(&mut w, &step, &ones, &ones), "{len} {at}");
                // A NaN in the step's signal.
                let mut a = ones.clone();
                a[at] = f64::NAN;
                assert!(apply_mix_into(&ones, &mut vec![0.0; len], &step, &a, &ones), "{len} {at}");
                assert!(apply_mix(&mut ones.clone(), &step, &a, &ones), "{len} {at}");
            }
        }
    }

    /// The update keeps `W_l^T yhat_l` in the activity, computed from the
    /// step's weights, only where a term reads it; a forward pass forgets
    /// it; and the adjoint of the step reading it gives the bits of the
    /// adjoint computing it from the weights.
    #[cfg(feature = "alloc")]
    #[test]
    fn kept_wt_post_is_the_product_the_adjoint_would_compute() {
        use crate::adjoint::step_adjoint;
        use crate::heap::{Activity, Adjoint, FeedbackAlignment, Network};
        use crate::{FixedShape, Init};
        use rand_xoshiro::{Xoshiro256PlusPlus, rand_core::SeedableRng};
        type Net = crate::shape![6, 5, 4, 3];
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        let mut net = Network::<Net, f64>::zeros();
        net.init(&mut rng, Init::XavierUniform);
        let fa = FeedbackAlignment::<Net, f64>::random(&mut rng, Init::XavierUniform);
        let mut rule = Rule::<f64, 3>::bio();
        rule.set_thetas(&[0.05, 0.02, 0.03]).unwrap();
        let x: Vec<f64> = (0..Net::INPUT).map(|i| (i as f64 * 0.7).sin()).collect();
        let before = net.as_slice().to_vec();
        let (mut kept, mut fresh) = (Activity::<Net, f64>::zeros(), Activity::<Net, f64>::zeros());
        for act in [&mut kept, &mut fresh] {
            crate::activity::load_input(act, &x).unwrap();
            activity(net.as_slice(), net.beta(), &fa, &rule, act, 1).unwrap();
            assert!((1..=Net::DEPTH).all(|l| act.wt_post(l).is_none()));
        }
        let mut after = before.clone();
        update(Weights::InPlace(&mut after), &rule, &mut kept).unwrap();
        for l in 1..=Net::DEPTH {
            let mut want = vec![0.0; Net::default().width(l - 1)];
            kernel::tr_mul(part(&before, crate::buffer::layer(&Net::default(), l)), kept.y(l), &mut want);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(kept.wt_post(l).map(bits), Some(bits(&want)), "layer {l}");
        }
        // Without Oja's term nothing is computed, so nothing is kept.
        let mut fa_only = Rule::<f64, 1>::fa();
        fa_only.set_thetas(&[0.05]).unwrap();
        let mut other = Activity::<Net, f64>::zeros();
        crate::activity::load_input(&mut other, &x).unwrap();
        activity(net.as_slice(), net.beta(), &fa, &fa_only, &mut other, 1).unwrap();
        update(Weights::InPlace(&mut before.clone()), &fa_only, &mut other).unwrap();
        assert!((1..=Net::DEPTH).all(|l| other.wt_post(l).is_none()));
        // The adjoint: kept product against one computed from `before`.
        let wbar0: Vec<f64> = (0..Net::WEIGHTS).map(|i| (i as f64 * 0.3).cos()).collect();
        let mut adj = Adjoint::<Net, f64>::zeros();
        let mut run = |act: &Activity<Net, f64>| {
            let (mut wbar, mut thetabar) = (wbar0.clone(), vec![0.0; 3]);
            step_adjoint(&before, net.beta(), &fa, &rule, act, &mut wbar, &mut thetabar, &mut adj).unwrap();
            wbar.iter().chain(&thetabar).map(|x| x.to_bits()).collect::<Vec<_>>()
        };
        assert_eq!(run(&kept), run(&fresh));
        // A forward pass forgets the kept products.
        kept.forward(&before, net.beta(), false).unwrap();
        assert!((1..=Net::DEPTH).all(|l| kept.wt_post(l).is_none()));
    }
}
