//! The [`PlasticityTerm`] trait: one local plasticity term `F^r_l` and what
//! it reads.
//!
//! Every term of the paper's pool, and every term a user adds, has columns
//! that are linear combinations of four vectors of layer `l`:
//!
//! `F[:, j] = alpha_j e_l + beta_j yhat_l + gamma_j 1 + delta_j W_l[:, j]`,
//!
//! where the scalars `alpha_j .. delta_j` may depend on presynaptic
//! quantities of column `j` (`y_{l-1,j}`, `e_{l-1,j}`, `(W_l^T yhat_l)_j`)
//! and on one per-layer scalar (the term's [`scale`](PlasticityTerm::scale)).
//! A term states its scalars for one column in
//! [`mix`](PlasticityTerm::mix); the step adds the contributions of all
//! terms of a rule and sweeps each column of `W_l` once, so every rule, the
//! user's included, is applied in a single fused pass over the weights with
//! all terms evaluated at the weights *before* the update.

use crate::Real;

/// The seal of [`PlasticityTerm::pool_index`].
pub(crate) mod sealed {
    /// Only this crate can make one.
    #[derive(Debug)]
    pub struct Token;
}

/// `Some(r)` if `term` is the pool's `F^r` (by type, not by name).
pub(crate) fn pool_index<T: Real>(term: &dyn PlasticityTerm<T>) -> Option<u8> {
    term.pool_index(sealed::Token)
}

/// Whether `term` is one of the pool's terms whose column `j` and whose
/// derivative with respect to its coefficient vanish when `y_{l-1,j}` and
/// `e_{l-1,j}` are both zero (all but weight decay `F^3` and Oja's `F^9`).
/// On layer 1 such a column is a zero pixel of the input, and what the
/// adjoint would compute for it there is discarded anyway (`dL/dy_0` is not
/// needed, and `dL/de_0` is multiplied by the slope `g(0) = 0`): the update
/// adjoint skips such a column when every term vanishes there, and
/// otherwise computes only the partials the other terms read (with `F^bio`,
/// Oja's `G_j . yhat_l` but not `G_j . e_l`). A term of your own is never
/// assumed to vanish.
pub(crate) fn vanishes_without_input<T: Real>(term: &dyn PlasticityTerm<T>) -> bool {
    matches!(pool_index(term), Some(r) if r != 3 && r != 9)
}

/// Whether the adjoint of `term` may read the weights `W_l` of its layer:
/// of the pool's terms, weight decay `F^3`, `F^6` and `F^7` (through
/// `y_l^T W_l e_{l-1}`) and Oja's `F^9` (through `W_l^T yhat_l`); a term of
/// your own is assumed to (its `mix` sees the column's weights).
pub(crate) fn reads_weights<T: Real>(term: &dyn PlasticityTerm<T>) -> bool {
    !matches!(pool_index(term), Some(r) if !matches!(r, 3 | 6 | 7 | 9))
}

/// What a term reads beyond `e_l`, `yhat_l`, `y_{l-1}` and `z_l` (always
/// available). The step computes only what some term needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    /// The presynaptic error `e_{l-1}` (on layer 1 this is `e_0`, which
    /// costs as much as the first layer's forward pass).
    pub pre_error: bool,
    /// `(W_l^T yhat_l)_j` for the column being updated (computed inside the
    /// sweep, one dot product per column).
    pub wt_post: bool,
    /// The whole vector `W_l^T yhat_l` before the sweep, in
    /// [`Signals::wt_post`] (an extra pass over `W_l`).
    pub wt_post_vector: bool,
}

impl Needs {
    /// Needs nothing beyond the always-available signals.
    pub const NOTHING: Needs = Needs { pre_error: false, wt_post: false, wt_post_vector: false };

    /// The union of two sets of needs.
    pub const fn union(self, other: Needs) -> Needs {
        Needs {
            pre_error: self.pre_error || other.pre_error,
            wt_post: self.wt_post || other.wt_post,
            wt_post_vector: self.wt_post_vector || other.wt_post_vector,
        }
    }
}

/// Which coefficients of a column's [`Mix`] a term can make non-zero; the
/// adjoint computes the matching partial derivatives only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mixes {
    /// [`Mix::post_error`].
    pub post_error: bool,
    /// [`Mix::post`].
    pub post: bool,
    /// [`Mix::ones`].
    pub ones: bool,
    /// [`Mix::weights`].
    pub weights: bool,
}

impl Mixes {
    /// Every coefficient (the safe default for a new term).
    pub const ALL: Mixes = Mixes { post_error: true, post: true, ones: true, weights: true };
    /// No coefficient.
    pub const NONE: Mixes = Mixes { post_error: false, post: false, ones: false, weights: false };
    /// Only [`Mix::post_error`].
    pub const POST_ERROR: Mixes = Mixes { post_error: true, ..Mixes::NONE };
    /// Only [`Mix::post`].
    pub const POST: Mixes = Mixes { post: true, ..Mixes::NONE };
    /// Only [`Mix::ones`].
    pub const ONES: Mixes = Mixes { ones: true, ..Mixes::NONE };
    /// Only [`Mix::weights`].
    pub const WEIGHTS: Mixes = Mixes { weights: true, ..Mixes::NONE };

    /// The union of two sets.
    pub const fn union(self, o: Mixes) -> Mixes {
        Mixes {
            post_error: self.post_error || o.post_error,
            post: self.post || o.post,
            ones: self.ones || o.ones,
            weights: self.weights || o.weights,
        }
    }
}

/// The signals of layer `l` for one step, as seen by a term (all of them
/// from before the update).
#[derive(Debug, Clone, Copy)]
pub struct Signals<'a, T> {
    /// The layer `l` (`1 <= l <= L`).
    pub layer: usize,
    /// `true` at the output layer `l = L`.
    pub top: bool,
    /// `e_l`, the postsynaptic modulating signal (length `n_l`).
    pub post_error: &'a [T],
    /// `yhat_l`: the activity `y_l`, or `p = softmax(z_L)` at the top (`n_l`).
    pub post: &'a [T],
    /// `y_{l-1}`, the presynaptic activity (`n_{l-1}`).
    pub pre: &'a [T],
    /// `e_{l-1}`, the presynaptic signal (`n_{l-1}`; zeros unless some term
    /// on this layer declared [`Needs::pre_error`]).
    pub pre_error: &'a [T],
    /// `z_l = W_l y_{l-1}` (`n_l`).
    pub drive: &'a [T],
    /// `W_l^T yhat_l` (`n_{l-1}`) when some term declared
    /// [`Needs::wt_post_vector`], else empty.
    pub wt_post: &'a [T],
}

/// Column `j` of `W_l` before the update, as seen by a term.
#[derive(Debug, Clone, Copy)]
pub struct Column<'a, T> {
    /// The column (presynaptic unit) index `j`.
    pub j: usize,
    /// `W_l[:, j]`.
    pub weights: &'a [T],
    /// `(W_l^T yhat_l)_j = W_l[:, j] . yhat_l` if [`Needs::wt_post`] or
    /// [`Needs::wt_post_vector`] was declared, else zero.
    pub wt_post: T,
}

/// Columns a block holds at most: the sweeps hand terms blocks of this
/// many consecutive columns (fewer at the end of a layer). Small enough
/// that a block of the paper's first layer (16 x 170 floats) stays in the
/// L1 cache between the terms' calls and the write.
pub const BLOCK: usize = 16;

/// A block of consecutive columns `j0 .. j0 + len` of `W_l` before the
/// update (`len <= BLOCK`): the sweeps hand terms blocks (see
/// [`PlasticityTerm::mix_block`]) so that a rule costs one call per term
/// and block, not per column.
#[derive(Debug, Clone, Copy)]
pub struct Columns<'a, T> {
    /// The first column (presynaptic unit) `j0`.
    pub j0: usize,
    /// Rows `n_l` of each column.
    pub rows: usize,
    /// The columns, one after another (`len * rows` entries).
    pub weights: &'a [T],
    /// `(W_l^T yhat_l)_j` for each column (zeros unless a term declared
    /// [`Needs::wt_post`] or [`Needs::wt_post_vector`]); its length is the
    /// block's.
    pub wt_post: &'a [T],
}

impl<'a, T: Copy> Columns<'a, T> {
    /// Number of columns in the block.
    pub fn len(&self) -> usize {
        self.wt_post.len()
    }
    /// Whether the block is empty.
    pub fn is_empty(&self) -> bool {
        self.wt_post.is_empty()
    }
}

impl<'a, T: crate::Real> Columns<'a, T> {
    /// Column `j0 + i` of the block, `i < len()` (past the end: an empty
    /// column with `wt_post` zero, rather than a panic).
    #[inline(always)]
    pub fn column(&self, i: usize) -> Column<'a, T> {
        let weights = self.weights.get(i * self.rows..(i + 1) * self.rows).unwrap_or(&[]);
        Column { j: self.j0 + i, weights, wt_post: self.wt_post.get(i).copied().unwrap_or_else(T::zero) }
    }
}

/// The coefficients of one column of an update:
/// `delta W[:, j] = post_error e_l + post yhat_l + ones 1 + weights W[:, j]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mix<T> {
    /// Coefficient of `e_l`.
    pub post_error: T,
    /// Coefficient of `yhat_l`.
    pub post: T,
    /// Coefficient of the all-ones vector.
    pub ones: T,
    /// Coefficient of the column itself, `W_l[:, j]`.
    pub weights: T,
}

impl<T: Real> Mix<T> {
    /// All coefficients zero.
    pub fn zero() -> Self {
        Mix { post_error: T::zero(), post: T::zero(), ones: T::zero(), weights: T::zero() }
    }
}

/// Partial derivatives of the meta-loss with respect to the column
/// quantities a term reads, filled by [`PlasticityTerm::mix_adjoint`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColumnBar<T> {
    /// With respect to the coefficient `k` passed to [`PlasticityTerm::mix`].
    pub k: T,
    /// With respect to `y_{l-1,j}`.
    pub pre: T,
    /// With respect to `e_{l-1,j}`.
    pub pre_error: T,
    /// With respect to `(W_l^T yhat_l)_j`.
    pub wt_post: T,
}

impl<T: Real> ColumnBar<T> {
    /// All partials zero.
    pub fn zero() -> Self {
        ColumnBar { k: T::zero(), pre: T::zero(), pre_error: T::zero(), wt_post: T::zero() }
    }
}

/// Four numbers per column of a block, one array per [`Mix`] coefficient:
/// lane `i` is column `j0 + i` of the block's [`Columns`]. The adjoint
/// hands [`mix_adjoint_block`](PlasticityTerm::mix_adjoint_block) the
/// partials with respect to each column's mix this way, so that a term's
/// block form runs over the block's columns in the lanes of vector
/// registers. Lanes from the block's length on are never read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MixBlock<T> {
    /// [`Mix::post_error`] of each column.
    pub post_error: [T; BLOCK],
    /// [`Mix::post`] of each column.
    pub post: [T; BLOCK],
    /// [`Mix::ones`] of each column.
    pub ones: [T; BLOCK],
    /// [`Mix::weights`] of each column.
    pub weights: [T; BLOCK],
}

impl<T: Real> MixBlock<T> {
    /// All coefficients of all columns zero.
    pub fn zero() -> Self {
        let z = [T::zero(); BLOCK];
        MixBlock { post_error: z, post: z, ones: z, weights: z }
    }

    /// Sets every coefficient of every lane to zero, in place.
    #[inline(always)]
    pub fn clear(&mut self) {
        for a in [&mut self.post_error, &mut self.post, &mut self.ones, &mut self.weights] {
            a.fill(T::zero());
        }
    }

    /// The mix of lane `i` (zero past the block).
    #[inline(always)]
    pub fn get(&self, i: usize) -> Mix<T> {
        let at = |a: &[T; BLOCK]| a.get(i).copied().unwrap_or_else(T::zero);
        Mix { post_error: at(&self.post_error), post: at(&self.post), ones: at(&self.ones), weights: at(&self.weights) }
    }

    /// Sets the mix of lane `i` (nothing past the block).
    #[inline(always)]
    pub fn set(&mut self, i: usize, m: Mix<T>) {
        let fields = [
            (&mut self.post_error, m.post_error),
            (&mut self.post, m.post),
            (&mut self.ones, m.ones),
            (&mut self.weights, m.weights),
        ];
        for (a, v) in fields {
            if let Some(x) = a.get_mut(i) {
                *x = v;
            }
        }
    }
}

/// The partials of a block of columns with respect to the quantities their
/// mixes read (a [`ColumnBar`] without `k`, one array per partial; lane `i`
/// is column `j0 + i`), filled by
/// [`mix_adjoint_block`](PlasticityTerm::mix_adjoint_block).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BarBlock<T> {
    /// [`ColumnBar::pre`] of each column.
    pub pre: [T; BLOCK],
    /// [`ColumnBar::pre_error`] of each column.
    pub pre_error: [T; BLOCK],
    /// [`ColumnBar::wt_post`] of each column.
    pub wt_post: [T; BLOCK],
}

impl<T: Real> BarBlock<T> {
    /// All partials of all columns zero.
    pub fn zero() -> Self {
        let z = [T::zero(); BLOCK];
        BarBlock { pre: z, pre_error: z, wt_post: z }
    }

    /// Sets every partial of every lane to zero, in place.
    #[inline(always)]
    pub fn clear(&mut self) {
        for a in [&mut self.pre, &mut self.pre_error, &mut self.wt_post] {
            a.fill(T::zero());
        }
    }

    /// The partials of lane `i`, with `k` zero (zero past the block).
    #[inline(always)]
    pub fn get(&self, i: usize) -> ColumnBar<T> {
        let at = |a: &[T; BLOCK]| a.get(i).copied().unwrap_or_else(T::zero);
        ColumnBar { k: T::zero(), pre: at(&self.pre), pre_error: at(&self.pre_error), wt_post: at(&self.wt_post) }
    }

    /// Sets the partials of lane `i` from `bar` (its `k` is not kept;
    /// nothing past the block).
    #[inline(always)]
    pub fn set(&mut self, i: usize, bar: &ColumnBar<T>) {
        let fields = [(&mut self.pre, bar.pre), (&mut self.pre_error, bar.pre_error), (&mut self.wt_post, bar.wt_post)];
        for (a, v) in fields {
            if let Some(x) = a.get_mut(i) {
                *x = v;
            }
        }
    }
}

/// Adjoint accumulators of layer `l`'s signals, filled by
/// [`PlasticityTerm::scale_adjoint`] (every slice is added into).
#[derive(Debug)]
pub struct SignalsBar<'a, T> {
    /// `dL/de_l` (`n_l`).
    pub post_error: &'a mut [T],
    /// `dL/dyhat_l` (`n_l`).
    pub post: &'a mut [T],
    /// `dL/dy_{l-1}` (`n_{l-1}`).
    pub pre: &'a mut [T],
    /// `dL/de_{l-1}` (`n_{l-1}`).
    pub pre_error: &'a mut [T],
    /// `dL/dz_l` through the term's direct use of `z_l` (`n_l`).
    pub drive: &'a mut [T],
    /// `dL/d(W_l^T yhat_l)` (`n_{l-1}`; empty unless [`Needs::wt_post_vector`]).
    pub wt_post: &'a mut [T],
}

/// One local plasticity term `F^r`: `W_l <- W_l + ... + theta_r F^r_l + ...`.
///
/// See the [module documentation](self) for the form every term takes. A
/// user-defined term, e.g. plain Hebbian plasticity `F = y_l y_{l-1}^T`:
///
/// ```
/// use metaplasticity::term::{Column, ColumnBar, Mix, Mixes, PlasticityTerm, Signals};
/// use metaplasticity::{shape, step, Activity, Backprop, LayerSet, Network, Real, Rule, terms};
///
/// struct Hebb;
/// impl<T: Real> PlasticityTerm<T> for Hebb {
///     fn name(&self) -> &'static str { "hebb" }
///     // Only the coefficient of yhat_l is written (lets the adjoint skip the rest).
///     fn mixes(&self) -> Mixes { Mixes::POST }
///     // Column j of y_l y_{l-1}^T is y_{l-1,j} * y_l.
///     fn mix(&self, k: T, s: &Signals<'_, T>, c: &Column<'_, T>, m: &mut Mix<T>) {
///         m.post += k * s.pre[c.j];
///     }
///     // m.post depends on k and y_{l-1,j}; g.post is dL/d(m.post).
///     fn mix_adjoint(&self, k: T, s: &Signals<'_, T>, c: &Column<'_, T>, g: &Mix<T>, bar: &mut ColumnBar<T>) {
///         bar.k += s.pre[c.j] * g.post;
///         bar.pre += k * g.post;
///     }
/// }
///
/// // The pseudo-gradient plus Hebbian plasticity on the hidden layer only.
/// let rule = Rule::<f64>::new()
///     .with(&terms::PseudoGradient, 0.1, LayerSet::ALL).unwrap()
///     .with(&Hebb, 0.01, LayerSet::only(1)).unwrap();
/// type Net = shape![4, 3, 2];
/// let mut net = Network::<f64, Net, _>::new(vec![0.1; 4 * 3 + 3 * 2]).unwrap();
/// let mut act = Activity::<f64, Net, _>::new(vec![0.0; <Net as metaplasticity::FixedShape>::ACTIVITY]).unwrap();
/// let before = net.as_slice()[0];
/// step(&mut net, &Backprop, &rule, &mut act, &[1.0, 0.5, 0.0, 0.2], 1).unwrap();
/// assert_ne!(net.as_slice()[0], before);
/// ```
pub trait PlasticityTerm<T: Real>: Sync {
    /// A short name for reports (`"F0"`, or the user's). Names identify
    /// nothing: a rule file records a pool term by its typed identity
    /// (see [`deploy`](crate::deploy)), so a term of your own that calls
    /// itself `"F0"` is still refused there.
    fn name(&self) -> &'static str;

    /// The term's index `r` if it is the pool's `F^r`. Sealed: the argument
    /// type cannot be named outside this crate, so a term of your own can
    /// neither override nor call it and is never taken for a pool term.
    #[doc(hidden)]
    fn pool_index(&self, _: sealed::Token) -> Option<u8> {
        None
    }

    /// What the term reads beyond the always-available signals.
    fn needs(&self) -> Needs {
        Needs::NOTHING
    }

    /// Which coefficients of [`Mix`] the term writes in [`mix`](Self::mix)
    /// (default: all, which is always correct but costs the adjoint more).
    fn mixes(&self) -> Mixes {
        Mixes::ALL
    }

    /// A per-layer scalar factor, computed once before the sweep (for
    /// example `1^T yhat_l` for `F^5`); the sweep calls [`mix`](Self::mix)
    /// with `k = theta_r * scale`. Defaults to one.
    fn scale(&self, s: &Signals<'_, T>) -> T {
        let _ = s;
        T::one()
    }

    /// Adds `k` times column `c.j` of the term into `m`.
    fn mix(&self, k: T, s: &Signals<'_, T>, c: &Column<'_, T>, m: &mut Mix<T>);

    /// [`mix`](Self::mix) for a block of columns: adds `k` times column
    /// `cols.j0 + i` into `out[i]`. The default calls `mix` for each column
    /// (inlined, since it is compiled for each term). An override must add
    /// exactly what `mix` adds; the pool's terms, each of which reads at
    /// most one presynaptic value per column, override it to take their
    /// vector for the block once (for `F^0`, `F^2` and `F^9`: 2,200 fewer
    /// instructions per `F^bio` step on the Cortex-M4F).
    ///
    /// One [`Mix`] per column, unlike the adjoint's lanes
    /// ([`mix_adjoint_block`](Self::mix_adjoint_block)): the update's sweeps
    /// read each column's mix on every target, and on the Cortex-M4F lanes
    /// cost the `F^bio` step 1,900-4,100 more instructions
    /// (docs/PERFORMANCE.md).
    #[inline]
    fn mix_block(&self, k: T, s: &Signals<'_, T>, cols: &Columns<'_, T>, out: &mut [Mix<T>]) {
        for (i, m) in out.iter_mut().enumerate() {
            self.mix(k, s, &cols.column(i), m);
        }
    }

    /// [`mix_adjoint`](Self::mix_adjoint) for a block of columns with
    /// partials `g` (lane `i` for column `cols.j0 + i`, `i < cols.len()`):
    /// adds each column's partials into its lane of `out` and returns the
    /// block's gradient with respect to `k`, summed in column order from
    /// zero. The default calls `mix_adjoint` for each column into a zeroed
    /// [`ColumnBar`] and adds that. An override must give the same values;
    /// it may add its partials into `out` directly (without the zero
    /// partials a column's term leaves out), which gives the same bits
    /// unless a lane of `out` holds `-0`: the sweeps' lanes start at `+0`,
    /// and sums in round-to-nearest make `-0` only from `-0`.
    #[inline]
    fn mix_adjoint_block(
        &self,
        k: T,
        s: &Signals<'_, T>,
        cols: &Columns<'_, T>,
        g: &MixBlock<T>,
        out: &mut BarBlock<T>,
    ) -> T {
        let mut kbar = T::zero();
        for i in 0..cols.len().min(BLOCK) {
            let mut one = ColumnBar::zero();
            self.mix_adjoint(k, s, &cols.column(i), &g.get(i), &mut one);
            kbar += one.k;
            let mut bar = out.get(i);
            bar.pre += one.pre;
            bar.pre_error += one.pre_error;
            bar.wt_post += one.wt_post;
            out.set(i, &bar);
        }
        kbar
    }

    /// The vector-Jacobian product of [`mix`](Self::mix): given `g`, the
    /// meta-loss gradient with respect to each coefficient of the column's
    /// [`Mix`], adds into `bar` the gradient with respect to `k`,
    /// `y_{l-1,j}`, `e_{l-1,j}` and `(W_l^T yhat_l)_j`.
    fn mix_adjoint(&self, k: T, s: &Signals<'_, T>, c: &Column<'_, T>, g: &Mix<T>, bar: &mut ColumnBar<T>);

    /// The vector-Jacobian product of [`scale`](Self::scale): adds
    /// `sbar * d(scale)/d(signal)` into `bar`. Nothing to do (the default)
    /// for a constant scale.
    fn scale_adjoint(&self, sbar: T, s: &Signals<'_, T>, bar: &mut SignalsBar<'_, T>) {
        let _ = (sbar, s, bar);
    }
}
