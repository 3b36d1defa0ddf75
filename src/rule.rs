//! A plasticity rule: terms `F^r` with coefficients `Theta`, each term
//! active on a set of layers.
//!
//! `W_l <- W_l + sum_r theta_r F^r_l` for every layer `l` on which term `r`
//! is active. One coefficient vector `Theta` is shared by all layers; a term
//! restricted to some layers (the paper's Table 1 applies `F^2` to one layer
//! only) keeps its single coefficient.

use heapless::Vec;

use crate::Real;
use crate::error::{BufferKind, Error};
use crate::shape::MAX_DEPTH;
use crate::term::{Needs, PlasticityTerm};
use crate::terms::{ErrorHebb, Oja, PseudoGradient, pool};

/// A set of layers `1..=L` on which a term is active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerSet(u16);

impl LayerSet {
    /// Every layer.
    pub const ALL: LayerSet = LayerSet(u16::MAX);
    /// No layer.
    pub const NONE: LayerSet = LayerSet(0);

    /// Layer `l` alone (`1 <= l <= MAX_DEPTH`; other values give the empty set).
    pub const fn only(l: usize) -> LayerSet {
        if l >= 1 && l <= MAX_DEPTH { LayerSet(1 << l) } else { LayerSet(0) }
    }
    /// This set with layer `l` added.
    pub const fn with(self, l: usize) -> LayerSet {
        LayerSet(self.0 | LayerSet::only(l).0)
    }
    /// This set with layer `l` removed.
    pub const fn without(self, l: usize) -> LayerSet {
        LayerSet(self.0 & !LayerSet::only(l).0)
    }
    /// The set as bits: bit `l` for layer `l` (bit 0 unused).
    pub const fn bits(self) -> u16 {
        self.0
    }
    /// A set from [`LayerSet::bits`].
    pub const fn from_bits(bits: u16) -> LayerSet {
        LayerSet(bits)
    }
    /// Whether layer `l` is in the set.
    pub const fn contains(self, l: usize) -> bool {
        LayerSet::only(l).0 & self.0 != 0
    }
}

/// One term of a rule: the term, its coefficient `theta_r` and its layers.
#[derive(Clone, Copy)]
pub struct Entry<'a, T> {
    /// The plasticity term `F^r`.
    pub term: &'a dyn PlasticityTerm<T>,
    /// Its coefficient `theta_r`.
    pub theta: T,
    /// The layers it acts on.
    pub layers: LayerSet,
}

/// A plasticity rule of at most `N` terms (default 10, the paper's pool),
/// stored inline (no heap).
///
/// ```
/// use metaplasticity::{Rule, LayerSet, terms};
/// // F^bio = {F^0, F^2, F^9} with theta_0 = 1e-3, the others zero:
/// let bio = Rule::<f32>::bio();
/// assert_eq!(bio.len(), 3);
/// // Table 1 of the paper: F^0 everywhere, F^2 on layer 2 only.
/// let table1 = Rule::<f64>::new()
///     .with(&terms::PseudoGradient, 1e-3, LayerSet::ALL).unwrap()
///     .with(&terms::ErrorHebb, 0.0, LayerSet::only(2)).unwrap();
/// assert!(table1.needs(2).pre_error && !table1.needs(1).pre_error);
/// ```
#[derive(Clone)]
pub struct Rule<'a, T, const N: usize = 10> {
    entries: Vec<Entry<'a, T>, N>,
}

/// The paper's initial coefficient for the first term, `theta_0 = 1e-3`.
pub const INITIAL_THETA_0: f64 = 1e-3;

impl<'a, T: Real, const N: usize> Default for Rule<'a, T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a, T: Real, const N: usize> Rule<'a, T, N> {
    /// A rule with no terms (it changes nothing).
    pub const fn new() -> Self {
        Rule { entries: Vec::new() }
    }

    /// Adds a term with coefficient `theta` (finite) on `layers`.
    pub fn with(mut self, term: &'a dyn PlasticityTerm<T>, theta: T, layers: LayerSet) -> Result<Self, Error> {
        self.push(term, theta, layers)?;
        Ok(self)
    }

    /// Adds a term with coefficient `theta` (finite) on `layers`.
    pub fn push(&mut self, term: &'a dyn PlasticityTerm<T>, theta: T, layers: LayerSet) -> Result<(), Error> {
        if !theta.is_finite() {
            return Err(Error::NonFiniteTheta { index: self.entries.len() });
        }
        self.entries.push(Entry { term, theta, layers }).map_err(|_| Error::RuleFull { capacity: N })
    }

    /// The given terms on all layers, `theta_0 = 1e-3` for the first and zero
    /// for the others: the paper's starting point for meta-learning.
    pub fn from_terms(terms: &[&'a dyn PlasticityTerm<T>]) -> Result<Self, Error> {
        let mut rule = Self::new();
        for (r, &term) in terms.iter().enumerate() {
            let theta = if r == 0 { T::of(INITIAL_THETA_0) } else { T::zero() };
            rule.push(term, theta, LayerSet::ALL)?;
        }
        Ok(rule)
    }

    /// Number of terms `R`.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the rule has no terms.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The terms with their coefficients and layers.
    pub fn entries(&self) -> &[Entry<'a, T>] {
        &self.entries
    }

    /// Coefficient `theta_r`, if `r < R`.
    pub fn theta(&self, r: usize) -> Option<T> {
        self.entries.get(r).map(|e| e.theta)
    }

    /// Copies `Theta` into `out` (length `R`).
    pub fn thetas(&self, out: &mut [T]) -> Result<(), Error> {
        if out.len() != self.len() {
            return Err(Error::BufferLength { what: BufferKind::Theta, expected: self.len(), found: out.len() });
        }
        for (o, e) in out.iter_mut().zip(&self.entries) {
            *o = e.theta;
        }
        Ok(())
    }

    /// Replaces `Theta` (length `R`, finite); on error the rule is unchanged.
    pub fn set_thetas(&mut self, theta: &[T]) -> Result<(), Error> {
        if theta.len() != self.len() {
            return Err(Error::BufferLength { what: BufferKind::Theta, expected: self.len(), found: theta.len() });
        }
        if let Some(index) = theta.iter().position(|t| !t.is_finite()) {
            return Err(Error::NonFiniteTheta { index });
        }
        for (e, &t) in self.entries.iter_mut().zip(theta) {
            e.theta = t;
        }
        Ok(())
    }

    /// Whether every coefficient is finite (checked by the step, since
    /// [`Entry::theta`] can be reached directly).
    pub fn check(&self) -> Result<(), Error> {
        match self.entries.iter().position(|e| !e.theta.is_finite()) {
            Some(index) => Err(Error::NonFiniteTheta { index }),
            None => Ok(()),
        }
    }

    /// What the terms active on layer `l` read.
    pub fn needs(&self, l: usize) -> Needs {
        self.entries.iter().filter(|e| e.layers.contains(l)).fold(Needs::NOTHING, |n, e| n.union(e.term.needs()))
    }

    /// The lowest layer whose signal `e_l` a step computes: 0 where a term
    /// on layer 1 reads `e_0`, else 1.
    pub(crate) fn lowest_signal(&self) -> usize {
        if self.needs(1).pre_error { 0 } else { 1 }
    }

    /// Whether the adjoint of the update of layer `l` may read `W_l`: some
    /// term on that layer does, whatever its coefficient (the adjoint
    /// differentiates every term, zero coefficients included).
    #[cfg_attr(not(feature = "alloc"), allow(dead_code))]
    pub(crate) fn reads_weights(&self, l: usize) -> bool {
        self.entries.iter().any(|e| e.layers.contains(l) && crate::term::reads_weights(e.term))
    }
}

impl<T: Real, const N: usize> Rule<'static, T, N> {
    /// `F^0` alone: feedback alignment (or backprop, with symmetric feedback).
    pub fn fa() -> Self {
        const { assert!(N >= 1, "the capacity N of the rule is too small") };
        Self::from_terms(&[&PseudoGradient]).unwrap_or_else(|_| unreachable!("capacity checked at compile time"))
    }
    /// `F^eHebb = {F^0, F^2}`.
    pub fn ehebb() -> Self {
        const { assert!(N >= 2, "the capacity N of the rule is too small") };
        Self::from_terms(&[&PseudoGradient, &ErrorHebb])
            .unwrap_or_else(|_| unreachable!("capacity checked at compile time"))
    }
    /// `F^Oja = {F^0, F^9}`.
    pub fn oja() -> Self {
        const { assert!(N >= 2, "the capacity N of the rule is too small") };
        Self::from_terms(&[&PseudoGradient, &Oja]).unwrap_or_else(|_| unreachable!("capacity checked at compile time"))
    }
    /// `F^bio = {F^0, F^2, F^9}`.
    pub fn bio() -> Self {
        const { assert!(N >= 3, "the capacity N of the rule is too small") };
        Self::from_terms(&[&PseudoGradient, &ErrorHebb, &Oja])
            .unwrap_or_else(|_| unreachable!("capacity checked at compile time"))
    }
    /// `F^pool = {F^0 .. F^9}`.
    pub fn pool() -> Self {
        const { assert!(N >= 10, "the capacity N of the rule is too small") };
        Self::from_terms(&pool()).unwrap_or_else(|_| unreachable!("capacity checked at compile time"))
    }
}

impl<T: Real> Rule<'static, T> {
    /// A rule by the name the tool's `--rule` takes, with the pathway the
    /// name implies and the starting coefficients of
    /// [`Rule::from_terms`]: `fa`, `bp`, `dfa` (`F^0` through feedback
    /// alignment, backprop or direct feedback alignment), `ehebb`, `oja`,
    /// `bio`, `pool`, or pool term numbers such as `0,2,9` (feedback
    /// alignment).
    ///
    /// ```
    /// use metaplasticity::rule::NameError;
    /// use metaplasticity::{PathwayKind, Rule};
    /// let (rule, pathway) = Rule::<f32>::named("0, 2,9")?;
    /// assert_eq!((rule.len(), pathway), (3, PathwayKind::Alignment));
    /// assert_eq!(Rule::<f32>::named("bp")?.1, PathwayKind::Backprop);
    /// assert_eq!(Rule::<f32>::named("0,2,0").err(), Some(NameError::Twice { term: "F0" }));
    /// assert_eq!(Rule::<f32>::named("hebb").err(), Some(NameError::Unknown));
    /// # Ok::<(), NameError>(())
    /// ```
    pub fn named(spec: &str) -> Result<(Self, crate::PathwayKind), NameError> {
        use crate::PathwayKind::{Alignment, Backprop, Direct};
        Ok(match spec {
            "fa" => (Self::fa(), Alignment),
            "bp" => (Self::fa(), Backprop),
            "dfa" => (Self::fa(), Direct),
            "ehebb" => (Self::ehebb(), Alignment),
            "oja" => (Self::oja(), Alignment),
            "bio" => (Self::bio(), Alignment),
            "pool" => (Self::pool(), Alignment),
            list => {
                let pool = pool::<T>();
                let mut rule = Self::new();
                for (r, number) in list.split(',').enumerate() {
                    let term = number.trim().parse::<usize>().ok().and_then(|k| pool.get(k).copied());
                    let term = term.ok_or(NameError::Unknown)?;
                    if rule.entries().iter().any(|e| e.term.name() == term.name()) {
                        return Err(NameError::Twice { term: term.name() });
                    }
                    let theta = if r == 0 { T::of(INITIAL_THETA_0) } else { T::zero() };
                    // Ten distinct terms at most: within the capacity of 10.
                    rule.push(term, theta, LayerSet::ALL).map_err(|_| NameError::Unknown)?;
                }
                (rule, Alignment)
            }
        })
    }
}

/// Why [`Rule::named`] refused a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    /// Neither a rule's name nor pool term numbers `0-9`.
    Unknown,
    /// A term listed twice.
    Twice {
        /// The term's name.
        term: &'static str,
    },
}

impl core::fmt::Display for NameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            NameError::Unknown => {
                f.write_str("expected fa, bp, dfa, ehebb, oja, bio, pool or term numbers 0-9 like 0,2,9")
            }
            NameError::Twice { term } => write!(f, "term {term} is listed twice; each term may appear once"),
        }
    }
}

impl core::error::Error for NameError {}
