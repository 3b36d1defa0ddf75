//! Reverse-mode (adjoint) code for one online step and for the loss, written
//! by hand: the meta-gradient runs it once per step of every episode.
//!
//! Notation (SPEC section 3b): a bar is the gradient of the meta-loss `L`
//! with respect to a quantity, `Wbar_l = dL/dW_l`. One step maps weights
//! `W^t` to `W^{t+1}`; its adjoint maps `dL/dW^{t+1}` to `dL/dW^t` and adds
//! `dL/dTheta`, in the reverse order of the forward computation:
//!
//! 1. update: `W_l' = W_l + sum_r theta_r F^r_l`: the identity path, every
//!    term's vector-Jacobian product ([`PlasticityTerm::mix_adjoint`](crate::PlasticityTerm::mix_adjoint),
//!    [`PlasticityTerm::scale_adjoint`](crate::PlasticityTerm::scale_adjoint)) and `thetabar_r += <Wbar_l', F^r_l>`;
//! 2. signals, from `e_0` (or `e_1`) up: `e_l = f_l ⊙ g(y_l)` with
//!    `s_l = ebar_l ⊙ g(y_l)`, `ybar_l += ebar_l ⊙ f_l ⊙ beta exp(-beta y_l)`,
//!    then the pathway's [`feedback_adjoint`](crate::FeedbackPathway::feedback_adjoint);
//! 3. output: `pbar = ebar_L + yhatbar_L`, `zbar_L = p ⊙ (pbar - p . pbar)`;
//! 4. forward, top-down: `Wbar_l += zbar_l y_{l-1}^T`,
//!    `ybar_{l-1} += W_l^T zbar_l`, `zbar_{l-1} = ybar_{l-1} ⊙ g(y_{l-1})`.
//!
//! With backprop feedback, `B_l = W_{l+1}^T` is read from the weights of the
//! same step and is differentiated too. (The public reference
//! implementation instead reuses the final weights at every step of its
//! backward pass, a side effect of an in-place assignment; this crate
//! computes the exact gradient of the computation it runs.)

use core::marker::PhantomData;
use multiversion::multiversion;

use crate::activation::softplus_slope_derivative;
use crate::buffer::{layer, same_shape, units};
use crate::error::{BufferKind, Error};
use crate::kernel::{self, axpy, dot, part, part_mut, split_mut};
use crate::pathway::FeedbackPathway;
use crate::rule::Rule;
use crate::step::{is_blank, layer_signals};
use crate::term::{BLOCK, BarBlock, Columns, Mix, MixBlock, SignalsBar};
use crate::{Activity, FixedShape, Real, Shape, Storage};

/// Work space of the adjoint: `ybar`, `ebar` and `zbar` for every layer and
/// two scratch vectors, in one buffer of [`Shape::adjoint_len`] entries.
pub struct Adjoint<T, S, B> {
    buf: B,
    shape: S,
    scalar: PhantomData<T>,
}

/// The buffer split into its blocks.
struct Bars<'a, T> {
    y: &'a mut [T],
    e: &'a mut [T],
    z: &'a mut [T],
    scratch: &'a mut [T],
}

impl<T: Real, S: FixedShape, B: Storage<T>> Adjoint<T, S, B> {
    /// Wraps a buffer of [`FixedShape::ADJOINT`] entries (any contents).
    pub fn new(buf: B) -> Result<Self, Error> {
        Self::with_shape(S::default(), buf)
    }
}

impl<T: Real, S: Shape, B: Storage<T>> Adjoint<T, S, B> {
    /// Wraps a buffer of `shape.adjoint_len()` entries (any contents) for a
    /// network of shape `shape`.
    pub fn with_shape(shape: S, buf: B) -> Result<Self, Error> {
        crate::buffer::check_len(buf.as_ref(), shape.adjoint_len(), BufferKind::Activity)?;
        Ok(Self { buf, shape, scalar: PhantomData })
    }

    /// The shape the buffer was built for.
    pub fn shape(&self) -> &S {
        &self.shape
    }

    /// `dL/dy_l` of the last call (`0 < l <= L`; at the top, `dL/dp`);
    /// empty outside that range.
    pub fn y(&self, l: usize) -> &[T] {
        if l == 0 || l > self.shape.depth() {
            return &[];
        }
        part(self.buf.as_ref(), units(&self.shape, l))
    }

    /// `dL/de_l` of the last call (`0 <= l <= L`); empty past the top.
    pub fn e(&self, l: usize) -> &[T] {
        part(part(self.buf.as_ref(), self.shape.units()..), units(&self.shape, l))
    }

    /// `dL/dz_l` of the last call for every layer, in one block of
    /// [`Shape::units`] entries.
    #[cfg_attr(not(feature = "alloc"), allow(dead_code))]
    pub(crate) fn z_all(&self) -> &[T] {
        let u = self.shape.units();
        part(self.buf.as_ref(), 2 * u..3 * u)
    }

    /// Errors unless the buffer (still) has [`Shape::adjoint_len`] entries.
    fn check_len(&self) -> Result<(), Error> {
        crate::buffer::check_len(self.buf.as_ref(), self.shape.adjoint_len(), BufferKind::Activity)
    }

    fn bars(&mut self) -> Bars<'_, T> {
        let u = self.shape.units();
        let (y, rest) = split_mut(self.buf.as_mut(), u);
        let (e, rest) = split_mut(rest, u);
        let (z, scratch) = split_mut(rest, u);
        Bars { y, e, z, scratch }
    }
}

#[cfg(feature = "alloc")]
impl<T: Real, S: FixedShape> Adjoint<T, S, alloc::boxed::Box<[T]>> {
    /// An adjoint work space on the heap.
    pub fn zeros() -> Self {
        Self::zeros_for(S::default())
    }
}

#[cfg(feature = "alloc")]
impl<T: Real, S: Shape> Adjoint<T, S, alloc::boxed::Box<[T]>> {
    /// An adjoint work space for a network of shape `shape`, on the heap.
    pub fn zeros_for(shape: S) -> Self {
        let buf = crate::buffer::zeroed_box(shape.adjoint_len());
        Self::with_shape(shape, buf).unwrap_or_else(|_| unreachable!("length is shape.adjoint_len()"))
    }
}

/// The adjoint of one [`step`](crate::step()).
///
/// * `weights`: `W^t`, the weights *before* the step;
/// * `act`: the activity that step computed (from `W^t` and its sample;
///   the products `W_l^T yhat_l` its update kept are read from it, not
///   computed again from `weights`);
/// * `wbar`: on entry `dL/dW^{t+1}`, on return `dL/dW^t` (the network's layout);
/// * `thetabar`: `dL/dTheta` is added into it (one entry per term of `rule`,
///   then one per [`params`](FeedbackPathway::params) of the pathway: none
///   for fixed feedback).
///
/// `beta`, `pathway` and `rule` must be those of the step. A plastic
/// pathway's state is taken as it is now (`S^t`) and its gradient
/// `dL/dS^{t+1}` as zero; the meta-gradient
/// ([`MetaGradient`](crate::meta::MetaGradient)) carries it through the
/// episode.
#[allow(clippy::too_many_arguments)]
pub fn step_adjoint<T, S, P, A, J, const N: usize>(
    weights: &[T],
    beta: T,
    pathway: &P,
    rule: &Rule<'_, T, N>,
    act: &Activity<T, S, A>,
    wbar: &mut [T],
    thetabar: &mut [T],
    adj: &mut Adjoint<T, S, J>,
) -> Result<(), Error>
where
    T: Real,
    S: Shape,
    P: FeedbackPathway<T, S> + ?Sized,
    A: Storage<T>,
    J: Storage<T>,
{
    step_adjoint_with(weights, beta, pathway, rule, act, wbar, thetabar, &mut [], adj, None, &[], Tail::Full)
}

/// How much of the adjoint of a step [`step_adjoint_with`] runs past the
/// update (step 1), which alone adds into `dL/dTheta`.
#[cfg_attr(not(feature = "alloc"), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tail {
    /// Everything: `wbar` is `dL/dW^t` on return.
    Full,
    /// Everything but the outer products `zbar_l y_{l-1}^T` of step 4,
    /// left in the adjoint's `zbar` for the earlier step's update adjoint
    /// to add as it reads each column (one read-write sweep over `Wbar`
    /// less per step, with the same additions in the same order).
    Defer,
    /// Step 1 only: the first step of an episode, whose `dL/dW^0` nobody
    /// needs (the initial weights do not depend on `Theta`).
    None,
}

/// [`step_adjoint`], first adding the deferred outer products
/// `deferred = (zbar, y)` of the later step (all layers' `zbar_l` and
/// `y_{l-1}`, as [`Tail::Defer`] left them) into `wbar`, and running as much
/// as `tail` says. For a plastic pathway, `state_bar` (empty: the state is
/// held fixed) is `dL/dS^{t+1}` on entry and `dL/dS^t` on return (unless
/// `tail` is [`Tail::None`], which leaves only the share through the
/// pathway's plasticity). The columns of layer 1 that `blank` marks (see
/// [`Reads`](crate::step::Reads)) must have `wbar` zero: their update
/// adjoint, zero, is not swept, and their `weights` are not read.
#[allow(clippy::too_many_arguments)]
pub(crate) fn step_adjoint_with<T, S, P, A, J, const N: usize>(
    weights: &[T],
    beta: T,
    pathway: &P,
    rule: &Rule<'_, T, N>,
    act: &Activity<T, S, A>,
    wbar: &mut [T],
    thetabar: &mut [T],
    state_bar: &mut [T],
    adj: &mut Adjoint<T, S, J>,
    deferred: Option<(&[T], &[T])>,
    blank: &[bool],
    tail: Tail,
) -> Result<(), Error>
where
    T: Real,
    S: Shape,
    P: FeedbackPathway<T, S> + ?Sized,
    A: Storage<T>,
    J: Storage<T>,
{
    let shape = *act.shape();
    same_shape(&shape, adj.shape())?;
    pathway.check_shape(&shape)?;
    check_lengths(&shape, weights, wbar)?;
    let coefficients = rule.len() + pathway.params().len();
    if thetabar.len() != coefficients {
        return Err(Error::BufferLength { what: BufferKind::Theta, expected: coefficients, found: thetabar.len() });
    }
    if !state_bar.is_empty() {
        crate::buffer::check_len(state_bar, pathway.state().len(), BufferKind::Feedback)?;
    }
    let found = thetabar.len();
    let Some((thetabar, params_bar)) = thetabar.split_at_mut_checked(rule.len()) else {
        return Err(Error::BufferLength { what: BufferKind::Theta, expected: coefficients, found });
    };
    act.check_len()?;
    adj.check_len()?;
    let [y, z, e, f, slope] = act.parts();
    let mut bars = adj.bars();
    bars.y.fill(T::zero());
    bars.e.fill(T::zero());
    bars.z.fill(T::zero());
    // 1. The update of every layer (before anything else adds into `wbar`).
    for l in 1..=shape.depth() {
        let later = deferred.map(|(zbar, y)| (part(zbar, units(&shape, l)), part(y, units(&shape, l - 1))));
        let bar = WeightBar { bar: part_mut(wbar, layer(&shape, l)), deferred: later };
        update_adjoint::<T, S, N>(
            &shape,
            part(weights, layer(&shape, l)),
            bar,
            rule,
            [y, z, e],
            act.wt_post(l),
            &mut bars,
            l,
            thetabar,
            if l == 1 { blank } else { &[] },
        );
    }
    // 1b. A plastic pathway's own update `S^{t+1}(S^t, y, e)`, which read
    // the same activities: into ybar, ebar, dL/dS^t and its parameters.
    if !state_bar.is_empty() {
        pathway.learn_adjoint(&shape, y, e, state_bar, bars.y, bars.e, params_bar);
    }
    if tail == Tail::None {
        return Ok(());
    }
    // 2. The signals, in the reverse of the order they were computed.
    let lowest = rule.lowest_signal();
    for l in lowest..shape.depth() {
        let r = units(&shape, l);
        let s = part_mut(bars.scratch, ..shape.width(l));
        for ((((si, &eb), &fi), &gi), (yb, &yi)) in s
            .iter_mut()
            .zip(part(bars.e, r.clone()))
            .zip(part(f, r.clone()))
            .zip(part(slope, r.clone()))
            .zip(part_mut(bars.y, r.clone()).iter_mut().zip(part(y, r.clone())))
        {
            *si = eb * gi;
            if l > 0 {
                *yb += eb * fi * softplus_slope_derivative(yi, beta);
            }
        }
        pathway.feedback_adjoint(&shape, l, weights, e, s, bars.e, wbar);
        if !state_bar.is_empty() {
            pathway.feedback_state_adjoint(&shape, l, e, s, state_bar);
        }
    }
    // 3. The output: p = softmax(z_L), e_L = p - onehot, yhat_L = p.
    let top = units(&shape, shape.depth());
    let p = part(y, top.clone());
    let pbar = part_mut(bars.y, top.clone());
    axpy(T::one(), part(bars.e, top.clone()), pbar);
    let zbar = part_mut(bars.z, top);
    softmax_adjoint(p, pbar, zbar);
    // 4. The forward pass, top-down.
    backward(&shape, weights, y, slope, &mut bars, wbar, tail == Tail::Defer);
    Ok(())
}

/// Adds `scale * d(-ln p_c)/dW` into `wbar` for the sample whose forward
/// pass and label are in `act` (after [`Network::forward_label`](crate::Network::forward_label)
/// or a step): backprop of the cross-entropy, used for the query loss.
pub fn loss_adjoint<T, S, A, J>(
    weights: &[T],
    act: &Activity<T, S, A>,
    scale: T,
    wbar: &mut [T],
    adj: &mut Adjoint<T, S, J>,
) -> Result<(), Error>
where
    T: Real,
    S: Shape,
    A: Storage<T>,
    J: Storage<T>,
{
    let shape = *act.shape();
    same_shape(&shape, adj.shape())?;
    check_lengths(&shape, weights, wbar)?;
    act.check_len()?;
    adj.check_len()?;
    let [y, _, e, _, slope] = act.parts();
    let mut bars = adj.bars();
    bars.y.fill(T::zero());
    bars.z.fill(T::zero());
    let top = units(&shape, shape.depth());
    // d(-ln p_c)/dz_L = p - onehot(c) = e_L.
    for (zb, &el) in part_mut(bars.z, top.clone()).iter_mut().zip(part(e, top)) {
        *zb = scale * el;
    }
    backward(&shape, weights, y, slope, &mut bars, wbar, false);
    Ok(())
}

fn check_lengths<T: Real, S: Shape>(shape: &S, weights: &[T], wbar: &[T]) -> Result<(), Error> {
    for b in [weights, wbar] {
        crate::buffer::check_len(b, shape.weights(), BufferKind::Weights)?;
    }
    Ok(())
}

/// `zbar = p ⊙ (pbar - p . pbar)`, added into `zbar`.
fn softmax_adjoint<T: Real>(p: &[T], pbar: &[T], zbar: &mut [T]) {
    let m = dot(p, pbar);
    for ((zb, &pk), &gk) in zbar.iter_mut().zip(p).zip(pbar) {
        *zb += pk * (gk - m);
    }
}

/// Step 4: from `zbar_L` (in `bars.z`) down to layer 1. On entry `bars.z`
/// holds the direct contributions to every `zbar_l` and `bars.y` those to
/// every `ybar_l`; on return `bars.z` holds every `zbar_l` and `wbar` has
/// `zbar_l y_{l-1}^T` added for all `l`, unless `defer` (see [`Tail::Defer`]).
#[multiversion(targets("x86_64+avx2+fma"))]
fn backward<T: Real, S: Shape>(
    shape: &S,
    weights: &[T],
    y: &[T],
    slope: &[T],
    bars: &mut Bars<'_, T>,
    wbar: &mut [T],
    defer: bool,
) {
    for l in (1..=shape.depth()).rev() {
        let wl = layer(shape, l);
        let (below, above) = split_mut(bars.z, shape.unit_offset(l));
        let zbar = part(above, ..shape.width(l));
        if !defer {
            kernel::rank_one(part_mut(wbar, wl.clone()), zbar, part(y, units(shape, l - 1)));
        }
        if l > 1 {
            let prev = units(shape, l - 1);
            let ybar = part_mut(bars.y, prev.clone());
            kernel::tr_mul_add(part(weights, wl), zbar, ybar);
            for ((zb, &yb), &gi) in part_mut(below, prev.clone()).iter_mut().zip(ybar.iter()).zip(part(slope, prev)) {
                *zb += yb * gi;
            }
        }
    }
}

/// `Wbar_l` as the update adjoint of layer `l` receives it: `bar` (on
/// entry `dL/dW_l'`, on return the update's share of `dL/dW_l`) and, if
/// `deferred = Some((zbar_l, y_{l-1}))`, the later step's outer product
/// still to be added into each column as the sweep reaches it (see
/// [`Tail::Defer`]).
struct WeightBar<'a, T> {
    bar: &'a mut [T],
    deferred: Option<(&'a [T], &'a [T])>,
}

/// Step 1 for layer `l` of a network of shape `shape`: `w` is `W_l`,
/// `wbar` its gradient, `known_wt` the products `W_l^T yhat_l` the step's
/// update kept in the activity (`None`: computed here from `w`).
#[allow(clippy::too_many_arguments)]
#[multiversion(targets("x86_64+avx2+fma"))]
fn update_adjoint<T: Real, S: Shape, const N: usize>(
    shape: &S,
    w: &[T],
    wbar: WeightBar<'_, T>,
    rule: &Rule<'_, T, N>,
    [y, z, e]: [&[T]; 3],
    known_wt: Option<&[T]>,
    bars: &mut Bars<'_, T>,
    l: usize,
    thetabar: &mut [T],
    blank: &[bool],
) {
    let WeightBar { bar: wbar, deferred } = wbar;
    let needs = rule.needs(l);
    let rows = shape.width(l);
    if rows == 0 {
        // No shape has an empty layer (checked when the shape is made).
        return;
    }
    let cols = shape.width(l - 1);
    let (wtu, rest) = split_mut(bars.scratch, shape.max_width());
    let wtu = part_mut(wtu, ..cols);
    let wtu_bar = part_mut(rest, ..cols);
    wtu_bar.fill(T::zero());
    // `W_l^T yhat_l` as the step's update kept it, else (as a whole, or a
    // column at a time below) from `w`.
    let wtu: &[T] = match known_wt {
        // Only where a term reads them, as the update hands them out.
        Some(known) if needs.wt_post || needs.wt_post_vector => known,
        Some(_) => &[],
        None if needs.wt_post_vector => {
            kernel::tr_mul(w, part(y, units(shape, l)), wtu);
            wtu
        }
        None => &[],
    };
    let s = layer_signals(shape, l, y, z, e, if needs.wt_post_vector { wtu } else { &[] });
    // Terms active on this layer: (index r, term, k_r = theta_r scale_r, scale_r, theta_r).
    let mut active: heapless::Vec<(usize, &dyn crate::PlasticityTerm<T>, T, T, T), N> = heapless::Vec::new();
    for (r, en) in rule.entries().iter().enumerate().filter(|(_, en)| en.layers.contains(l)) {
        let scale = en.term.scale(&s);
        // Capacity N is the rule's own: this push cannot fail.
        let _ = active.push((r, en.term, en.theta * scale, scale, en.theta));
    }
    if active.is_empty() {
        if let Some((zbar, y_pre)) = deferred {
            kernel::rank_one(wbar, zbar, y_pre);
        }
        return;
    }
    let used = active.iter().fold(crate::term::Mixes::NONE, |m, a| m.union(a.1.mixes()));
    let mut kbar: heapless::Vec<T, N> = heapless::Vec::new();
    for _ in 0..active.len() {
        let _ = kbar.push(T::zero());
    }
    // ebar_l, yhatbar_l (layer l) and ybar_{l-1}, ebar_{l-1} (layer l-1).
    let (ylo, yhi) = split_mut(bars.y, shape.unit_offset(l));
    let (elo, ehi) = split_mut(bars.e, shape.unit_offset(l));
    let ubar = part_mut(yhi, ..rows);
    let abar = part_mut(ehi, ..rows);
    let bbar = part_mut(ylo, units(shape, l - 1));
    let cbar = part_mut(elo, units(shape, l - 1));
    let mut wt = [T::zero(); BLOCK];
    let mut mixes = [Mix::zero(); BLOCK];
    let (mut partials, mut bar_lanes) = (MixBlock::zero(), BarBlock::zero());
    // On layer 1, the terms that vanish on columns of zero pixels (see
    // `vanishes_without_input`) need no partials there; `lasting` is what
    // the others read (none: the column is skipped).
    let lasting = (l == 1).then(|| {
        let others = active.iter().filter(|a| !crate::term::vanishes_without_input(a.1));
        others.fold(crate::term::Mixes::NONE, |m, a| m.union(a.1.mixes()))
    });
    for j0 in (0..cols).step_by(BLOCK) {
        let n = BLOCK.min(cols - j0);
        let w_block = part(w, j0 * rows..(j0 + n) * rows);
        let g_block = part_mut(wbar, j0 * rows..(j0 + n) * rows);
        let wt = part_mut(&mut wt, ..n);
        partials.clear();
        let wtu_block = part(wtu, j0..j0 + n);
        if let Some((zbar, y_pre)) = deferred {
            // The later step's `Wbar_l += zbar_l y_{l-1}^T` on the block's
            // columns, before any column is read.
            kernel::rank_one_inlined(g_block, zbar, part(y_pre, j0..j0 + n));
        }
        // `sum g` of the block's columns, side by side (`F^4`'s partial).
        let mut sums = [T::zero(); BLOCK];
        if used.ones {
            kernel::column_sums(g_block, rows, part_mut(&mut sums, ..n));
        }
        for (i, ((w_col, g_col), t)) in
            w_block.chunks_exact(rows).zip(g_block.chunks_exact_mut(rows)).zip(wt.iter_mut()).enumerate()
        {
            let silent = if is_blank(blank, j0 + i) {
                Some(crate::term::Mixes::NONE)
            } else {
                lasting.filter(|_| {
                    s.pre.get(j0 + i).is_none_or(|y| y.is_zero()) && s.pre_error.get(j0 + i).is_none_or(|e| e.is_zero())
                })
            };
            if silent == Some(crate::term::Mixes::NONE) {
                *t = T::zero();
                continue;
            }
            *t = match wtu_block.get(i) {
                Some(&known) => known,
                None if needs.wt_post => dot(w_col, s.post),
                None => T::zero(),
            };
            let sum = sums.get(i).copied().unwrap_or(T::zero());
            partials.set(i, column_partials(silent.unwrap_or(used), g_col, s.post_error, s.post, w_col, sum));
        }
        let c = Columns { j0, rows, weights: w_block, wt_post: wt };
        let mixes = part_mut(&mut mixes, ..n);
        mixes.fill(Mix::zero());
        bar_lanes.clear();
        for (kb, &(_, term, k, _, _)) in kbar.iter_mut().zip(&active) {
            term.mix_block(k, &s, &c, mixes);
            *kb += term.mix_adjoint_block(k, &s, &c, &partials, &mut bar_lanes);
        }
        // A blank column's gradient is zero and stays so: no vector path.
        for (j, m) in (j0..).zip(mixes.iter_mut()) {
            if is_blank(blank, j) {
                *m = Mix::zero();
            }
        }
        let bbar_block = part_mut(bbar, j0..j0 + n);
        let cbar_block = part_mut(cbar, j0..j0 + n);
        let bar_pairs = bar_lanes.pre.iter().zip(&bar_lanes.pre_error);
        for ((&pre, &pre_error), (bb, cb)) in bar_pairs.zip(bbar_block.iter_mut().zip(cbar_block.iter_mut())) {
            if l > 1 {
                *bb += pre;
            }
            *cb += pre_error;
        }
        let paths = Paths { post: s.post, post_error_bar: &mut *abar, post_bar: &mut *ubar };
        block_paths(mixes, part(&bar_lanes.wt_post, ..n), g_block, w_block, rows, paths);
    }
    let mut sbar = SignalsBar {
        post_error: abar,
        post: ubar,
        pre: bbar,
        pre_error: cbar,
        drive: part_mut(bars.z, units(shape, l)),
        wt_post: wtu_bar,
    };
    for (&kb, &(r, term, _, scale, theta)) in kbar.iter().zip(&active) {
        if let Some(tb) = thetabar.get_mut(r) {
            *tb += kb * scale;
        }
        term.scale_adjoint(kb * theta, &s, &mut sbar);
    }
    if needs.wt_post_vector {
        // (W^T yhat) as a whole: Wbar += yhat wtbar^T, yhatbar += W wtbar.
        kernel::rank_one(wbar, s.post, sbar.wt_post);
        kernel::mul_add(w, sbar.wt_post, sbar.post);
    }
}

/// The vectors of layer `l` the update adjoint's vector paths read and
/// add into.
struct Paths<'a, T> {
    /// `yhat_l`.
    post: &'a [T],
    /// `ebar_l`, added into.
    post_error_bar: &'a mut [T],
    /// `yhatbar_l`, added into.
    post_bar: &'a mut [T],
}

/// The vector paths of a block of columns `j` of layer `l`, whose updates
/// were `W_j' = W_j + A e_l + B yhat_l + C 1 + D W_j` (the mixes) and
/// whose `t_j = W_j . yhat_l` have gradients `wt` (from the column bars): with
/// `g = dL/dW_j'` on entry and `dL/dW_j` on return,
/// `ebar_l += A g`, `yhatbar_l += B g + wt W_j`, `g += D g + wt yhat_l`,
/// column after column, each only where its coefficient is not zero.
///
/// Four consecutive columns with `B`, `wt` (hence the `g` path) non-zero
/// (`F^bio` everywhere) go through [`paths4`] in one sweep, which reads
/// and writes `ebar_l` and `yhatbar_l` once for the four (one sweep per
/// path and column was 57% of the `F^bio` step adjoint's `perf` samples);
/// the others one path at a time. Where only some of the four have `A`
/// (the first layer, where zero pixels leave `A` zero: runs of four alike
/// are short there), their `ebar_l += A g` go first, one sweep each, and
/// the rest through [`paths4`]. Every entry gets the same operations in
/// the same order either way.
#[inline(always)]
fn block_paths<T: Real>(mixes: &[Mix<T>], wt: &[T], g: &mut [T], w: &[T], rows: usize, p: Paths<'_, T>) {
    let Paths { post: u, post_error_bar: abar, post_bar: ubar } = p;
    let zero = T::zero();
    // (A, B, wt, D) non-zero.
    let form = |k: usize| {
        mixes
            .get(k)
            .zip(wt.get(k))
            .map(|(m, &t)| (m.post_error != zero, m.post != zero, t != zero, m.weights != zero || t != zero))
    };
    let (mut g, mut w, mut k) = (g, w, 0);
    while let Some(f) = form(k) {
        // `A` may differ among the four (the first layer's zero pixels).
        let rest_of = |f: (bool, bool, bool, bool)| (f.1, f.2, f.3);
        let four = rest_of(f) == (true, true, true) && (1..4).all(|d| form(k + d).map(rest_of) == Some(rest_of(f)));
        let take = if four { 4 } else { 1 };
        let (head, rest) = split_mut(core::mem::take(&mut g), take * rows);
        let (w_head, w_rest) = w.split_at_checked(take * rows).unwrap_or((w, &[]));
        (g, w) = (rest, w_rest);
        // Split by length, not `chunks_exact` (a division per column).
        if four {
            let m = |d: usize| mixes.get(k + d).copied().unwrap_or(Mix::zero());
            let wt_of = |d: usize| wt.get(k + d).copied().unwrap_or(zero);
            let c = Coefficients4 {
                post_error: [m(0).post_error, m(1).post_error, m(2).post_error, m(3).post_error],
                post: [m(0).post, m(1).post, m(2).post, m(3).post],
                wt: [wt_of(0), wt_of(1), wt_of(2), wt_of(3)],
                weights: [m(0).weights, m(1).weights, m(2).weights, m(3).weights],
            };
            let (g0, rest) = split_mut(head, rows);
            let (g1, rest) = split_mut(rest, rows);
            let (g2, g3) = split_mut(rest, rows);
            let (w0, rest) = w_head.split_at_checked(rows).unwrap_or((w_head, &[]));
            let (w1, rest) = rest.split_at_checked(rows).unwrap_or((rest, &[]));
            let (w2, w3) = rest.split_at_checked(rows).unwrap_or((rest, &[]));
            let a_on = c.post_error.map(|a| a != zero);
            if a_on == [true; 4] {
                paths4::<T, true>(&c, g0, g1, g2, g3, w0, w1, w2, w3, u, abar, ubar);
            } else {
                // `ebar_l += A g` of the columns with `A`, in their order,
                // before the sweep changes `g`.
                for ((&on, &a), g_col) in a_on.iter().zip(&c.post_error).zip([&*g0, &*g1, &*g2, &*g3]) {
                    if on {
                        axpy(a, g_col, abar);
                    }
                }
                paths4::<T, false>(&c, g0, g1, g2, g3, w0, w1, w2, w3, u, abar, ubar);
            }
        } else if let (Some(m), Some(&wt)) = (mixes.get(k), wt.get(k)) {
            let (g_col, w_col) = (head, w_head);
            let (a, bb, t, d) = f;
            if a {
                axpy(m.post_error, g_col, abar);
            }
            if bb {
                axpy(m.post, g_col, ubar);
            }
            if t {
                axpy(wt, w_col, ubar);
            }
            if d {
                for (gi, &ui) in g_col.iter_mut().zip(u) {
                    *gi += m.weights * *gi + wt * ui;
                }
            }
        }
        k += take;
    }
}

/// The coefficients of four columns for [`paths4`]: `A`, `B`, `wt`, `D`.
struct Coefficients4<T> {
    post_error: [T; 4],
    post: [T; 4],
    wt: [T; 4],
    weights: [T; 4],
}

/// [`block_paths`] on four columns in one sweep (`B`, `wt` and hence the
/// `g` path on in all four, `A` as `A_ON` says): each entry of `ebar`,
/// `yhatbar` and every `g` gets the additions of four one-path sweeps,
/// column by column, in their order. Not inlined: as separate arguments
/// the ten slices are known not to overlap, which the vectoriser needs.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
#[multiversion(targets("x86_64+avx2+fma"))]
fn paths4<T: Real, const A_ON: bool>(
    c: &Coefficients4<T>,
    g0: &mut [T],
    g1: &mut [T],
    g2: &mut [T],
    g3: &mut [T],
    w0: &[T],
    w1: &[T],
    w2: &[T],
    w3: &[T],
    u: &[T],
    abar: &mut [T],
    ubar: &mut [T],
) {
    let (a, b, t, d) = (c.post_error, c.post, c.wt, c.weights);
    let gs = g0.iter_mut().zip(g1.iter_mut()).zip(g2.iter_mut().zip(g3.iter_mut()));
    let ws = w0.iter().zip(w1).zip(w2.iter().zip(w3));
    for ((((x0, x1), (x2, x3)), ((&v0, &v1), (&v2, &v3))), (&ui, (ab, ub))) in
        gs.zip(ws).zip(u.iter().zip(abar.iter_mut().zip(ubar.iter_mut())))
    {
        let (h0, h1, h2, h3) = (*x0, *x1, *x2, *x3);
        if A_ON {
            *ab = *ab + a[0] * h0 + a[1] * h1 + a[2] * h2 + a[3] * h3;
        }
        *ub = *ub + b[0] * h0 + t[0] * v0 + b[1] * h1 + t[1] * v1 + b[2] * h2 + t[2] * v2 + b[3] * h3 + t[3] * v3;
        *x0 = h0 + (d[0] * h0 + t[0] * ui);
        *x1 = h1 + (d[1] * h1 + t[1] * ui);
        *x2 = h2 + (d[2] * h2 + t[2] * ui);
        *x3 = h3 + (d[3] * h3 + t[3] * ui);
    }
}

/// `dL/dA, dL/dB, dL/dC, dL/dD` for a column `W_j' = W_j + A a + B u + C 1 + D W_j`
/// with gradient `g = dL/dW_j'`: `g . a`, `g . u`, `sum g` (given: `sum`,
/// from [`kernel::column_sums`]), `g . W_j`, each only if `used` says a
/// term writes that coefficient (zero otherwise).
#[inline(always)]
fn column_partials<T: Real>(used: crate::term::Mixes, g: &[T], a: &[T], u: &[T], w: &[T], sum: T) -> Mix<T> {
    let z = T::zero();
    // `a_i g_i` is `g_i a_i`: the bits of `dot(g, a)`.
    let (post_error, post) = match (used.post_error, used.post) {
        (true, true) => kernel::dot_pair(a, u, g),
        (pe, p) => (if pe { dot(g, a) } else { z }, if p { dot(g, u) } else { z }),
    };
    Mix { post_error, post, ones: if used.ones { sum } else { z }, weights: if used.weights { dot(g, w) } else { z } }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    /// Grouping columns by four, with `A` on in some of them only, gives
    /// the bits of the paths taken one column at a time, for columns of
    /// every form.
    #[test]
    fn grouped_paths_have_the_bits_of_one_column_at_a_time() {
        let rows = 11;
        let v = |seed: usize, n: usize| (0..n).map(|i| ((seed * 31 + i * 7) as f32 * 0.37).sin()).collect::<Vec<_>>();
        // Column forms: A on/off with B, wt on (groups of four, mixed A),
        // then B off, wt off and D off, which break the groups.
        let forms = [(1, 1, 1, 0), (0, 1, 1, 0), (1, 1, 1, 1), (1, 1, 1, 0), (0, 1, 1, 0), (0, 1, 1, 0), (0, 1, 1, 1)];
        let forms = forms.iter().chain(&[(0, 1, 1, 0), (1, 0, 1, 0), (1, 1, 0, 0), (1, 1, 0, 1), (0, 0, 0, 0)]);
        let forms = forms.chain(&[(1, 1, 1, 0), (1, 1, 1, 0), (1, 1, 1, 0), (1, 1, 1, 1)]).copied().collect::<Vec<_>>();
        let (mut mixes, mut wt) = (Vec::new(), Vec::new());
        for (j, &(a, b, t, d)) in forms.iter().enumerate() {
            let on = |flag: i32, x: f32| if flag == 1 { x } else { 0.0 };
            let x = v(j, 4);
            mixes.push(Mix { post_error: on(a, x[0]), post: on(b, x[1]), ones: 0.0, weights: on(d, x[2]) });
            wt.push(on(t, x[3]));
        }
        let cols = forms.len();
        let (g0, w, u) = (v(1, rows * cols), v(2, rows * cols), v(3, rows));
        let (abar0, ubar0) = (v(4, rows), v(5, rows));
        let run = |grouped: bool| {
            let (mut g, mut abar, mut ubar) = (g0.clone(), abar0.clone(), ubar0.clone());
            if grouped {
                let p = Paths { post: &u, post_error_bar: &mut abar, post_bar: &mut ubar };
                block_paths(&mixes, &wt, &mut g, &w, rows, p);
            } else {
                for (j, (gc, wc)) in g.chunks_exact_mut(rows).zip(w.chunks_exact(rows)).enumerate() {
                    let p = Paths { post: &u, post_error_bar: &mut abar, post_bar: &mut ubar };
                    block_paths(&mixes[j..=j], &wt[j..=j], gc, wc, rows, p);
                }
            }
            g.iter().chain(&abar).chain(&ubar).map(|x| x.to_bits()).collect::<Vec<_>>()
        };
        assert_eq!(run(true), run(false));
        assert_ne!(run(true), [g0, abar0, ubar0].concat().iter().map(|x| x.to_bits()).collect::<Vec<_>>());
    }
}
