//! Pathways chosen at run time: [`PathwayKind`] names one, [`AnyPathway`]
//! holds any of the crate's (feature `alloc`). It sits above the pathway
//! modules ([`pathway`](crate::pathway), [`sign_symmetric`](crate::sign_symmetric),
//! [`kolen_pollack`](crate::kolen_pollack)), which know nothing of it.

#[cfg(feature = "alloc")]
use rand_core::Rng;

#[cfg(feature = "alloc")]
use crate::buffer::check_buffer;
#[cfg(feature = "alloc")]
use crate::error::{BufferKind, Error};
#[cfg(feature = "alloc")]
use crate::init::Init;
#[cfg(feature = "alloc")]
use crate::pathway::{Backprop, DirectFeedbackAlignment, FeedbackAlignment, FeedbackPathway};
#[cfg(feature = "alloc")]
use crate::{FixedShape, Real, Shape};

/// A pathway chosen at run time (feature `alloc`): backprop, feedback
/// alignment or direct feedback alignment, with boxed matrices.
#[cfg(feature = "alloc")]
pub enum AnyPathway<T, S> {
    /// [`Backprop`].
    Backprop,
    /// [`FeedbackAlignment`].
    Alignment(FeedbackAlignment<T, S, alloc::boxed::Box<[T]>>),
    /// [`DirectFeedbackAlignment`].
    Direct(DirectFeedbackAlignment<T, S, alloc::boxed::Box<[T]>>),
    /// [`SignSymmetric`](crate::SignSymmetric) (uSF).
    SignSymmetric,
    /// [`RandomSignSymmetric`](crate::RandomSignSymmetric) (frSF).
    RandomSignSymmetric(crate::RandomSignSymmetric<T, S, alloc::boxed::Box<[T]>>),
    /// [`RedrawnSignSymmetric`](crate::RedrawnSignSymmetric) (brSF).
    RedrawnSignSymmetric(crate::RedrawnSignSymmetric<T>),
    /// [`KolenPollack`](crate::KolenPollack) (plastic feedback).
    KolenPollack(crate::KolenPollack<T, S, alloc::boxed::Box<[T]>>),
}

/// Which pathway, without its matrices. More may come: match with a
/// wildcard arm, or use [`key`](Self::key), [`label`](Self::label) and
/// [`description`](Self::description).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PathwayKind {
    /// Backprop, `B_l = W_{l+1}^T`.
    Backprop,
    /// Feedback alignment, fixed random `B_l`.
    #[default]
    Alignment,
    /// Direct feedback alignment, fixed random `D_l`.
    Direct,
    /// Uniform sign-concordant feedback, `B_l = c_l sign(W_{l+1})^T` (uSF).
    SignSymmetric,
    /// Sign-concordant feedback with fixed random magnitudes (frSF).
    RandomSignSymmetric,
    /// Sign-concordant feedback with random magnitudes redrawn at every
    /// online step (brSF).
    RedrawnSignSymmetric,
    /// Kolen-Pollack feedback: `B_l` learns the transpose of the forward
    /// pseudo-gradient update and decays, with `eta_B` and `lambda_B`
    /// (initially [`kolen_pollack::DEFAULT_PARAMS`](crate::kolen_pollack::DEFAULT_PARAMS))
    /// meta-learned with `Theta`.
    KolenPollack,
}

impl PathwayKind {
    /// Every pathway, in the order of reports.
    pub const ALL: [PathwayKind; 7] = [
        PathwayKind::Backprop,
        PathwayKind::Alignment,
        PathwayKind::Direct,
        PathwayKind::SignSymmetric,
        PathwayKind::RandomSignSymmetric,
        PathwayKind::RedrawnSignSymmetric,
        PathwayKind::KolenPollack,
    ];

    /// The short name the pathway's [`FeedbackPathway::name`] gives and
    /// the programs take: `bp`, `fa`, `dfa`, `usf`, `frsf`, `brsf`, `kp`.
    ///
    /// ```
    /// use metaplasticity::PathwayKind;
    /// for kind in PathwayKind::ALL {
    ///     assert_eq!(PathwayKind::named(kind.key()), Some(kind));
    /// }
    /// assert_eq!(PathwayKind::RedrawnSignSymmetric.label(), "brSF");
    /// assert_eq!(PathwayKind::named("sgd"), None);
    /// ```
    pub const fn key(self) -> &'static str {
        match self {
            PathwayKind::Backprop => "bp",
            PathwayKind::Alignment => "fa",
            PathwayKind::Direct => "dfa",
            PathwayKind::SignSymmetric => "usf",
            PathwayKind::RandomSignSymmetric => "frsf",
            PathwayKind::RedrawnSignSymmetric => "brsf",
            PathwayKind::KolenPollack => "kp",
        }
    }

    /// The label of tables and figures: `BP`, `FA`, `DFA`, `uSF`, `frSF`,
    /// `brSF`, `KP`.
    pub const fn label(self) -> &'static str {
        match self {
            PathwayKind::Backprop => "BP",
            PathwayKind::Alignment => "FA",
            PathwayKind::Direct => "DFA",
            PathwayKind::SignSymmetric => "uSF",
            PathwayKind::RandomSignSymmetric => "frSF",
            PathwayKind::RedrawnSignSymmetric => "brSF",
            PathwayKind::KolenPollack => "KP",
        }
    }

    /// What the pathway is, in a few words.
    pub const fn description(self) -> &'static str {
        match self {
            PathwayKind::Backprop => "backprop",
            PathwayKind::Alignment => "feedback alignment",
            PathwayKind::Direct => "direct feedback alignment",
            PathwayKind::SignSymmetric => "uniform sign-concordant feedback",
            PathwayKind::RandomSignSymmetric => "sign-concordant feedback, fixed random magnitudes",
            PathwayKind::RedrawnSignSymmetric => "sign-concordant feedback, magnitudes redrawn every step",
            PathwayKind::KolenPollack => "plastic Kolen-Pollack feedback",
        }
    }

    /// The names of the pathway's meta-parameters
    /// ([`FeedbackPathway::param_names`]): `eta_B` and `lambda_B` for
    /// Kolen-Pollack, none for the fixed pathways.
    pub const fn param_names(self) -> &'static [&'static str] {
        match self {
            PathwayKind::KolenPollack => &crate::kolen_pollack::PARAM_NAMES,
            _ => &[],
        }
    }

    /// The pathway whose [`key`](Self::key) is `key`.
    pub fn named(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.key() == key)
    }
}

#[cfg(feature = "alloc")]
impl<T: Real, S: FixedShape> AnyPathway<T, S> {
    /// A pathway of the given kind, random matrices drawn from `rng`.
    pub fn new(kind: PathwayKind, rng: &mut dyn Rng, init: Init) -> Self {
        Self::new_for(S::default(), kind, rng, init)
    }
}

#[cfg(feature = "alloc")]
impl<T: Real, S: Shape> AnyPathway<T, S> {
    /// A pathway of the given kind for a network of shape `shape`, random
    /// matrices drawn from `rng`.
    pub fn new_for(shape: S, kind: PathwayKind, rng: &mut dyn Rng, init: Init) -> Self {
        match kind {
            PathwayKind::Backprop => AnyPathway::Backprop,
            PathwayKind::Alignment => AnyPathway::Alignment(FeedbackAlignment::random_for(shape, rng, init)),
            PathwayKind::Direct => AnyPathway::Direct(DirectFeedbackAlignment::random_for(shape, rng, init)),
            PathwayKind::SignSymmetric => AnyPathway::SignSymmetric,
            PathwayKind::RandomSignSymmetric => {
                AnyPathway::RandomSignSymmetric(crate::RandomSignSymmetric::random_for(shape, rng, init))
            }
            PathwayKind::RedrawnSignSymmetric => {
                AnyPathway::RedrawnSignSymmetric(crate::RedrawnSignSymmetric::new(rng.next_u64(), init))
            }
            PathwayKind::KolenPollack => {
                let [eta, lambda] = crate::kolen_pollack::DEFAULT_PARAMS.map(T::of);
                let kp = crate::KolenPollack::random_for(shape, rng, init, eta, lambda);
                AnyPathway::KolenPollack(kp.unwrap_or_else(|_| unreachable!("the default parameters are finite")))
            }
        }
    }

    /// For online learning at the rate `eta` of the forward weights (`F^0`'s
    /// `theta_0`): Kolen-Pollack's feedback learns at the same rate
    /// (`eta_B = eta`, the transposed update of `W`) with its default decay
    /// `lambda_B`, as `metaplasticity online` and the `reproduce` online
    /// panels run it; fixed pathways are left as they are.
    ///
    /// ```
    /// use metaplasticity::{shape, AnyPathway, FeedbackPathway, Init, PathwayKind};
    /// use rand_xoshiro::{rand_core::SeedableRng, Xoshiro256PlusPlus};
    ///
    /// type Small = shape![4, 8, 3];
    /// let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    /// let mut kp = AnyPathway::<f32, Small>::new(PathwayKind::KolenPollack, &mut rng, Init::XavierUniform);
    /// kp.learn_at_rate(0.01)?;
    /// assert_eq!(kp.params(), &[0.01, 1e-4]);
    /// let mut fa = AnyPathway::<f32, Small>::new(PathwayKind::Alignment, &mut rng, Init::XavierUniform);
    /// fa.learn_at_rate(0.01)?;
    /// assert!(fa.params().is_empty());
    /// # Ok::<(), metaplasticity::Error>(())
    /// ```
    pub fn learn_at_rate(&mut self, eta: T) -> Result<(), Error> {
        match self {
            AnyPathway::KolenPollack(p) => p.set_params(&[eta, T::of(crate::kolen_pollack::DEFAULT_PARAMS[1])]),
            _ => Ok(()),
        }
    }

    /// The pathway as a trait object.
    fn inner(&self) -> &dyn FeedbackPathway<T, S> {
        match self {
            AnyPathway::Backprop => &Backprop,
            AnyPathway::Alignment(p) => p,
            AnyPathway::Direct(p) => p,
            AnyPathway::SignSymmetric => &crate::SignSymmetric,
            AnyPathway::RandomSignSymmetric(p) => p,
            AnyPathway::RedrawnSignSymmetric(p) => p,
            AnyPathway::KolenPollack(p) => p,
        }
    }
}

#[cfg(feature = "alloc")]
impl<T: Real, S: Shape> FeedbackPathway<T, S> for AnyPathway<T, S> {
    #[inline]
    fn feedback(&self, shape: &S, l: usize, weights: &[T], e_next: &[T], e_out: &[T], gate: &[T], f: &mut [T]) {
        self.inner().feedback(shape, l, weights, e_next, e_out, gate, f);
    }
    fn feedback_adjoint(&self, shape: &S, l: usize, weights: &[T], e: &[T], s: &[T], ebar: &mut [T], wbar: &mut [T]) {
        self.inner().feedback_adjoint(shape, l, weights, e, s, ebar, wbar);
    }
    fn check_shape(&self, shape: &S) -> Result<(), Error> {
        self.inner().check_shape(shape)
    }
    fn reinit(&mut self, rng: &mut dyn Rng, init: Init) {
        match self {
            AnyPathway::Backprop | AnyPathway::SignSymmetric => {}
            AnyPathway::Alignment(p) => p.reinit(rng, init),
            AnyPathway::Direct(p) => p.reinit(rng, init),
            AnyPathway::RandomSignSymmetric(p) => p.reinit(rng, init),
            AnyPathway::RedrawnSignSymmetric(p) => FeedbackPathway::<T, S>::reinit(p, rng, init),
            AnyPathway::KolenPollack(p) => p.reinit(rng, init),
        }
    }
    fn name(&self) -> &'static str {
        self.inner().name()
    }
    fn feedback_reads(&self, l: usize) -> crate::LayerSet {
        self.inner().feedback_reads(l)
    }
    fn state(&self) -> &[T] {
        self.inner().state()
    }
    fn set_state(&mut self, state: &[T]) -> Result<(), Error> {
        match self {
            AnyPathway::KolenPollack(p) => p.set_state(state),
            AnyPathway::RedrawnSignSymmetric(p) => FeedbackPathway::<T, S>::set_state(p, state),
            _ => check_buffer(state, 0, BufferKind::Feedback),
        }
    }
    fn learn(&mut self, shape: &S, y: &[T], e: &[T]) -> Result<(), Error> {
        match self {
            AnyPathway::KolenPollack(p) => p.learn(shape, y, e),
            AnyPathway::RedrawnSignSymmetric(p) => p.learn(shape, y, e),
            _ => Ok(()),
        }
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
        self.inner().learn_adjoint(shape, y, e, state_bar, ybar, ebar, params_bar);
    }
    fn feedback_state_adjoint(&self, shape: &S, l: usize, e: &[T], s: &[T], state_bar: &mut [T]) {
        self.inner().feedback_state_adjoint(shape, l, e, s, state_bar);
    }
    fn params(&self) -> &[T] {
        self.inner().params()
    }
    fn param_names(&self) -> &'static [&'static str] {
        self.inner().param_names()
    }
    fn set_params(&mut self, params: &[T]) -> Result<(), Error> {
        match self {
            AnyPathway::KolenPollack(p) => p.set_params(params),
            _ => check_buffer(params, 0, BufferKind::Theta),
        }
    }
}
