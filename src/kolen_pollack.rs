//! Kolen-Pollack feedback (Kolen & Pollack 1994; Akrout et al., NeurIPS
//! 2019): feedback matrices that learn. After every online step each
//! `B_l` (`n_l x n_{l+1}`) receives the transpose of the forward
//! pseudo-gradient update of `W_{l+1}` and decays,
//!
//! `B_l <- (1 - lambda_B) B_l - eta_B y_l e_{l+1}^T`,
//!
//! so that, when `W_{l+1}` moves by `-eta e_{l+1} y_l^T` (the rule's `F^0`
//! with `theta_0 = eta_B`) and decays by the same `lambda_B`, the difference
//! `B_l - W_{l+1}^T` shrinks by `1 - lambda_B` per step and the feedback
//! comes to equal the forward weights' transpose. Without weight decay on
//! `W` (the paper's rules have none), `B_l - W_{l+1}^T` stays what it was at
//! the start while both move by the same updates, and the angle between
//! them shrinks as the weights grow away from their start.
//!
//! `eta_B` and `lambda_B` are the pathway's [`params`](FeedbackPathway::params):
//! the meta-trainer learns them with `Theta`, by the exact gradient through
//! the feedback's trajectory (the matrices are state of the episode,
//! checkpointed and recomputed like the weights). No heap: the matrices
//! live in any [`Storage`], so firmware can use the pathway too.

use rand_core::Rng;

use crate::buffer::{check_buffer, layer, same_shape, units};
use crate::error::{BufferKind, Error};
use crate::init::Init;
use crate::kernel::{axpy, dot, part, part_mut};
use crate::pathway::{FeedbackAlignment, FeedbackPathway};
use crate::rule::LayerSet;
use crate::{FixedShape, Real, Shape, Storage};

/// Kolen-Pollack feedback: plastic `B_l`, stored as
/// [`FeedbackAlignment`] stores its matrices (each `B_l` as its transpose
/// in the layout of `W_{l+1}`), with meta-parameters `eta_B` and
/// `lambda_B`.
///
/// ```
/// use metaplasticity::heap::{Activity, Network};
/// use metaplasticity::step::step_plastic;
/// use metaplasticity::{shape, FeedbackPathway, Init, KolenPollack, Rule};
/// use rand_xoshiro::{rand_core::SeedableRng, Xoshiro256PlusPlus};
///
/// type Small = shape![4, 8, 3];
/// let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
/// let mut net = Network::<Small>::zeros();
/// net.init(&mut rng, Init::XavierUniform);
/// let mut kp = KolenPollack::<f32, Small, _>::random(&mut rng, Init::XavierUniform, 0.05, 1e-3)?;
/// let mut act = Activity::<Small>::zeros();
/// let mut rule = Rule::<f32>::fa();
/// rule.set_thetas(&[0.05])?;
/// let before = kp.state().to_vec();
/// step_plastic(&mut net, &mut kp, &rule, &mut act, &[0.9, 0.1, 0.4, 0.7], 2)?;
/// assert_ne!(kp.state(), &before[..], "the feedback learned");
/// assert_eq!(kp.params(), &[0.05, 1e-3]);
/// # Ok::<(), metaplasticity::Error>(())
/// ```
pub struct KolenPollack<T, S, B> {
    b: FeedbackAlignment<T, S, B>,
    /// `[eta_B, lambda_B]`.
    params: [T; 2],
    /// Whether `learn` left an entry that is not finite: the pathway then
    /// refuses every step ([`FeedbackPathway::check_shape`]) until its state
    /// is set or redrawn, so that no step changes the weights through it.
    broken: bool,
}

impl<T: Real, S: FixedShape, B: Storage<T>> KolenPollack<T, S, B> {
    /// Wraps a buffer of [`FixedShape::WEIGHTS`] finite entries (the initial
    /// `B_l`, laid out as [`FeedbackAlignment::new`] takes them) with
    /// `eta_B` and `lambda_B` (finite).
    pub fn new(b: B, eta: T, lambda: T) -> Result<Self, Error> {
        Self::with_shape(S::default(), b, eta, lambda)
    }
}

impl<T: Real, S: Shape, B: Storage<T>> KolenPollack<T, S, B> {
    /// [`KolenPollack::new`] for a network of shape `shape`.
    pub fn with_shape(shape: S, b: B, eta: T, lambda: T) -> Result<Self, Error> {
        let mut kp = Self { b: FeedbackAlignment::with_shape(shape, b)?, params: [T::zero(); 2], broken: false };
        kp.set_params(&[eta, lambda])?;
        Ok(kp)
    }

    /// `B_l^T` (`0 <= l < L`), as [`FeedbackAlignment::transposed`].
    pub fn transposed(&self, l: usize) -> &[T] {
        self.b.transposed(l)
    }
}

#[cfg(feature = "alloc")]
impl<T: Real, S: FixedShape> KolenPollack<T, S, alloc::boxed::Box<[T]>> {
    /// Initial matrices drawn from `rng` on the heap (as
    /// [`FeedbackAlignment::random`] draws them), with `eta_B` and
    /// `lambda_B` (finite).
    pub fn random(rng: &mut dyn Rng, init: Init, eta: T, lambda: T) -> Result<Self, Error> {
        Self::random_for(S::default(), rng, init, eta, lambda)
    }
}

#[cfg(feature = "alloc")]
impl<T: Real, S: Shape> KolenPollack<T, S, alloc::boxed::Box<[T]>> {
    /// [`KolenPollack::random`] for a network of shape `shape`.
    pub fn random_for(shape: S, rng: &mut dyn Rng, init: Init, eta: T, lambda: T) -> Result<Self, Error> {
        let mut kp = Self { b: FeedbackAlignment::random_for(shape, rng, init), params: [T::zero(); 2], broken: false };
        kp.set_params(&[eta, lambda])?;
        Ok(kp)
    }
}

/// The default `eta_B` and `lambda_B` of the built-in pathway
/// ([`AnyPathway`](crate::AnyPathway)): `eta_B` the paper's initial
/// `theta_0`, and a small decay.
pub const DEFAULT_PARAMS: [f64; 2] = [1e-3, 1e-4];

/// The names of the pathway's [`params`](FeedbackPathway::params), in
/// their order.
pub const PARAM_NAMES: [&str; 2] = ["eta_B", "lambda_B"];

impl<T: Real, S: Shape, B: Storage<T>> FeedbackPathway<T, S> for KolenPollack<T, S, B> {
    #[inline]
    fn feedback(&self, shape: &S, l: usize, weights: &[T], e_next: &[T], e_out: &[T], gate: &[T], f: &mut [T]) {
        self.b.feedback(shape, l, weights, e_next, e_out, gate, f);
    }
    fn feedback_adjoint(&self, shape: &S, l: usize, weights: &[T], e: &[T], s: &[T], ebar: &mut [T], wbar: &mut [T]) {
        self.b.feedback_adjoint(shape, l, weights, e, s, ebar, wbar);
    }
    fn check_shape(&self, shape: &S) -> Result<(), Error> {
        self.b.check_shape(shape)?;
        if self.broken {
            return Err(Error::NonFiniteWeights { what: BufferKind::Feedback });
        }
        Ok(())
    }
    fn reinit(&mut self, rng: &mut dyn Rng, init: Init) {
        self.b.reinit(rng, init);
        self.broken = false;
    }
    fn name(&self) -> &'static str {
        "kp"
    }
    fn feedback_reads(&self, l: usize) -> LayerSet {
        self.b.feedback_reads(l)
    }
    fn state(&self) -> &[T] {
        self.b.as_slice()
    }
    fn set_state(&mut self, state: &[T]) -> Result<(), Error> {
        check_buffer(state, self.b.as_slice().len(), BufferKind::Feedback)?;
        crate::kernel::copy(self.b.as_mut_slice(), state);
        self.broken = false;
        Ok(())
    }
    fn learn(&mut self, shape: &S, y: &[T], e: &[T]) -> Result<(), Error> {
        same_shape(self.b.shape(), shape)?;
        let [eta, lambda] = self.params;
        let keep = T::one() - lambda;
        let b = self.b.as_mut_slice();
        // Every layer learns (none is left behind the others); a matrix
        // that overflowed marks the pathway broken.
        let mut bad = false;
        for l in 0..shape.depth() {
            // B_l^T (n_{l+1} x n_l) <- (1 - lambda) B_l^T - eta e_{l+1} y_l^T.
            let (e_next, y_l) = (part(e, units(shape, l + 1)), part(y, units(shape, l)));
            let rows = e_next.len();
            if rows == 0 {
                continue;
            }
            let bl = part_mut(b, layer(shape, l + 1));
            for (col, &yj) in bl.chunks_exact_mut(rows).zip(y_l) {
                let k = -eta * yj;
                for (bij, &ei) in col.iter_mut().zip(e_next) {
                    *bij = keep * *bij + k * ei;
                    bad |= !bij.is_finite();
                }
            }
        }
        if bad {
            self.broken = true;
            return Err(Error::NonFiniteWeights { what: BufferKind::Feedback });
        }
        Ok(())
    }
    fn learn_adjoint(
        &self,
        shape: &S,
        y: &[T],
        e: &[T],
        state_bar: &mut [T],
        ybar: &mut [T],
        ebar: &mut [T],
        params_bar: &mut [T],
    ) {
        let [eta, lambda] = self.params;
        let keep = T::one() - lambda;
        let (mut eta_bar, mut lambda_bar) = (T::zero(), T::zero());
        let b = self.b.as_slice();
        for l in 0..shape.depth() {
            let (next, here) = (units(shape, l + 1), units(shape, l));
            let (e_next, y_l) = (part(e, next.clone()), part(y, here.clone()));
            let rows = e_next.len();
            if rows == 0 {
                continue;
            }
            let (bl, bar) = (part(b, layer(shape, l + 1)), part_mut(state_bar, layer(shape, l + 1)));
            let (ybar_l, ebar_next) = (part_mut(ybar, here), part_mut(ebar, next));
            for (j, (col_bar, col)) in bar.chunks_exact_mut(rows).zip(bl.chunks_exact(rows)).enumerate() {
                let yj = y_l.get(j).copied().unwrap_or(T::zero());
                // With Bbar' the column of dL/dB'^T: eta_bar -= y_j (Bbar' . e),
                // ybar_j -= eta (Bbar' . e), lambda_bar -= Bbar' . B,
                // ebar += -eta y_j Bbar', then Bbar = (1 - lambda) Bbar'.
                let d = dot(col_bar, e_next);
                eta_bar -= yj * d;
                if let Some(yb) = ybar_l.get_mut(j) {
                    *yb -= eta * d;
                }
                lambda_bar -= dot(col_bar, col);
                axpy(-eta * yj, col_bar, ebar_next);
                for v in col_bar.iter_mut() {
                    *v *= keep;
                }
            }
        }
        if let [eb, lb, ..] = params_bar {
            *eb += eta_bar;
            *lb += lambda_bar;
        }
    }
    fn feedback_state_adjoint(&self, shape: &S, l: usize, e: &[T], s: &[T], state_bar: &mut [T]) {
        // f_l = B_l e_{l+1}: dL/dB_l^T += e_{l+1} s^T.
        crate::kernel::rank_one(part_mut(state_bar, layer(shape, l + 1)), part(e, units(shape, l + 1)), s);
    }
    fn params(&self) -> &[T] {
        &self.params
    }
    fn param_names(&self) -> &'static [&'static str] {
        &PARAM_NAMES
    }
    fn set_params(&mut self, params: &[T]) -> Result<(), Error> {
        check_buffer(params, 2, BufferKind::Theta)?;
        for (p, &v) in self.params.iter_mut().zip(params) {
            *p = v;
        }
        Ok(())
    }
}
