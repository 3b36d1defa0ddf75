//! The paper's pool of ten plasticity terms `F^0 .. F^9` (its Methods,
//! Eqs. 14-23), each a zero-sized type. Notation for layer `l`: `e_l`
//! postsynaptic signal, `y_{l-1}` presynaptic activity, `e_{l-1}` presynaptic
//! signal, `y_l` postsynaptic activity (`p` at the output), `W_l` weights.

use crate::Real;
use crate::kernel::axpy;
use crate::kernel::dot;
use crate::term::{Column, ColumnBar, Mix, Mixes, Needs, PlasticityTerm, Signals, SignalsBar};

/// `v[j]`, the presynaptic value of column `j` (`j < v.len()` in every call
/// the sweeps make; zero past the end rather than a panic, so that the
/// terms' code holds no panic path: docs/NO_PANIC.md).
#[inline(always)]
fn at<T: Real>(v: &[T], j: usize) -> T {
    v.get(j).copied().unwrap_or_else(T::zero)
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
    fn mix_adjoint(&self, k: T, s: &Signals<'_, T>, c: &Column<'_, T>, g: &Mix<T>, bar: &mut ColumnBar<T>) {
        bar.k -= at(s.pre, c.j) * g.post_error;
        bar.pre -= k * g.post_error;
    }
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
    fn mix_adjoint(&self, k: T, s: &Signals<'_, T>, c: &Column<'_, T>, g: &Mix<T>, bar: &mut ColumnBar<T>) {
        bar.k -= at(s.pre_error, c.j) * g.post;
        bar.pre_error -= k * g.post;
    }
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
    fn mix_adjoint(&self, k: T, s: &Signals<'_, T>, c: &Column<'_, T>, g: &Mix<T>, bar: &mut ColumnBar<T>) {
        bar.k -= at(s.pre_error, c.j) * g.post_error;
        bar.pre_error -= k * g.post_error;
    }
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
    fn mix_adjoint(&self, _k: T, _s: &Signals<'_, T>, _c: &Column<'_, T>, g: &Mix<T>, bar: &mut ColumnBar<T>) {
        bar.k -= g.weights;
    }
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
    fn mix_adjoint(&self, k: T, s: &Signals<'_, T>, c: &Column<'_, T>, g: &Mix<T>, bar: &mut ColumnBar<T>) {
        bar.k -= at(s.pre_error, c.j) * g.ones;
        bar.pre_error -= k * g.ones;
    }
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
    fn mix_adjoint(&self, k: T, s: &Signals<'_, T>, c: &Column<'_, T>, g: &Mix<T>, bar: &mut ColumnBar<T>) {
        PseudoGradient.mix_adjoint(k, s, c, g, bar);
    }
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
    fn mix_adjoint(&self, k: T, s: &Signals<'_, T>, c: &Column<'_, T>, g: &Mix<T>, bar: &mut ColumnBar<T>) {
        ActivityError.mix_adjoint(k, s, c, g, bar);
    }
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
    fn mix_adjoint(&self, k: T, s: &Signals<'_, T>, c: &Column<'_, T>, g: &Mix<T>, bar: &mut ColumnBar<T>) {
        PseudoGradient.mix_adjoint(k, s, c, g, bar);
    }
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
    fn mix_adjoint(&self, k: T, s: &Signals<'_, T>, c: &Column<'_, T>, g: &Mix<T>, bar: &mut ColumnBar<T>) {
        ActivityError.mix_adjoint(k, s, c, g, bar);
    }
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
    fn mix_adjoint(&self, k: T, s: &Signals<'_, T>, c: &Column<'_, T>, g: &Mix<T>, bar: &mut ColumnBar<T>) {
        bar.k += (at(s.pre, c.j) - c.wt_post) * g.post;
        bar.pre += k * g.post;
        bar.wt_post -= k * g.post;
    }
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
