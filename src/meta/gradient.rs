//! The exact meta-gradient of one episode, by reverse mode through every
//! online step, with checkpoints to bound memory.
//!
//! Forward: the weights are saved every `c` steps (`c` = the checkpoint
//! interval) while the network adapts. Reverse: for each segment of `c`
//! steps, last first, the segment is recomputed from its checkpoint, keeping
//! the weights of each of its steps (the activities of all steps, and the
//! last segment's weights, are kept from the forward pass), and
//! [`step_adjoint`](crate::adjoint::step_adjoint) runs over them backwards. Memory: `ceil(T/c) + c`
//! weight-sized buffers and `T + 1` activities; work: every update but those
//! of the last segment is computed twice. The result does
//! not depend on `c` (the same arithmetic runs in the same order).
//!
//! The reverse pass never needs the first layer's weights of earlier steps
//! unless a term on layer 1 reads them (Oja's `F^9`, decay `F^3`, `F^6`,
//! `F^7`, or a term of your own) or the pathway does for a signal the rule
//! needs ([`FeedbackPathway::feedback_reads`]: backprop and the
//! sign-symmetric pathways read `W_1` for `e_0`): `dL/dy_0` is not needed,
//! so `W_1^T zbar_1` is never formed. Otherwise (`F^0` through any
//! pathway, `F^2` through feedback alignment, DFA or Kolen-Pollack) layer 1
//! is left out of the checkpoints, the recomputation and the walk back: for
//! the paper's network three quarters of the weights, with the same bits.
//! Where layer 1 is kept, the columns of its blank pixels (zero in every
//! training and query image of the episode: about 240 of MNIST's 784 on
//! the paper's tasks) are left out of the recomputation, the walk back and
//! the sweeps of the update adjoint, whose gradient there is exactly zero,
//! unless a term of your own acts on layer 1 or the pathway reads `W_1` for
//! a signal above `e_0` (the same bits again; `tests/meta_gradient.rs`).
//!
//! With [`Reversal::Invert`], a segment is instead walked back in place: its
//! last weights (the final weights, or the next checkpoint) are turned into
//! those of each earlier step by inverting the step's update
//! (`src/meta/invert.rs` says how), in one buffer that stays in the cache, and
//! each segment starts again from its exact checkpoint, which bounds the
//! rounding drift of the inverse. The gradient then equals the recomputed
//! one up to that drift (tested in `tests/reversal.rs`), not bit for bit.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

use crate::adjoint::{Adjoint, Tail, loss_adjoint, step_adjoint_with};
use crate::buffer::zeroed_box;
use crate::idx::Dataset;
use crate::meta::invert::{invert_update, invertible};
use crate::meta::{Penalty, Task};
use crate::online::load;
use crate::pathway::FeedbackPathway;
use crate::rule::Rule;
use crate::step::{Reads, Weights, step_loaded, update_from};
use crate::term::pool_index;
use crate::{Activity, Error, FixedShape, Network, Real, Shape, Storage};

/// What an episode measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpisodeResult {
    /// Mean cross-entropy on the query set after adaptation.
    pub query_loss: f64,
    /// The meta-loss: `query_loss` plus the penalty on `Theta`.
    pub meta_loss: f64,
    /// Fraction of query images classified correctly (meta-accuracy).
    pub accuracy: f64,
    /// Mean cross-entropy of the training images as they were presented.
    pub train_loss: f64,
}

/// Where an episode failed.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum EpisodeError {
    /// Online step `step` (0-based) failed, e.g. the weights diverged.
    Step {
        /// The step.
        step: usize,
        /// What went wrong.
        error: Error,
    },
    /// Evaluating query image `sample` (0-based within the query set) failed.
    Query {
        /// The query image.
        sample: usize,
        /// What went wrong.
        error: Error,
    },
    /// The meta-gradient came out non-finite.
    NonFiniteGradient,
    /// The task has no training or no query images.
    EmptyTask {
        /// Training images.
        train: usize,
        /// Query images.
        query: usize,
    },
    /// The work space for the episode could not be allocated.
    WorkSpace(WorkSpaceError),
}

impl fmt::Display for EpisodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EpisodeError::Step { step, .. } => write!(f, "online step {step} failed"),
            EpisodeError::Query { sample, .. } => write!(f, "query image {sample} could not be evaluated"),
            EpisodeError::NonFiniteGradient => write!(f, "the meta-gradient is not finite"),
            EpisodeError::EmptyTask { train, query } => write!(
                f,
                "a task needs training and query images; this one has {train} training and {query} query images"
            ),
            EpisodeError::WorkSpace(_) => write!(f, "no work space for the episode"),
        }
    }
}

impl core::error::Error for EpisodeError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            EpisodeError::Step { error, .. } | EpisodeError::Query { error, .. } => Some(error),
            EpisodeError::WorkSpace(e) => Some(e),
            EpisodeError::NonFiniteGradient | EpisodeError::EmptyTask { .. } => None,
        }
    }
}

/// The meta-gradient's work space for an episode is too large: its size
/// overflows `usize` (`bytes` is `None`), or the allocator refused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkSpaceError {
    /// Online steps of the episode.
    pub steps: usize,
    /// The checkpoint interval.
    pub interval: usize,
    /// Bytes needed ([`MetaGradient::memory_bytes`]), `None` past `usize::MAX`.
    pub bytes: Option<usize>,
}

impl fmt::Display for WorkSpaceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let WorkSpaceError { steps, interval, bytes } = *self;
        match bytes {
            Some(b) => write!(
                f,
                "the meta-gradient of {steps} online steps (checkpoint interval {interval}) needs {b} bytes \
                 of work space, which could not be allocated"
            ),
            None => write!(
                f,
                "the meta-gradient of {steps} online steps (checkpoint interval {interval}) needs more than \
                 {} bytes of work space",
                usize::MAX
            ),
        }
    }
}

impl core::error::Error for WorkSpaceError {}

/// A zeroed buffer of `n` entries, `None` if the allocator refuses it.
fn try_zeroed<T: Real>(n: usize) -> Option<Box<[T]>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).ok()?;
    v.resize(n, T::zero());
    Some(v.into_boxed_slice())
}

/// How the meta-gradient gets back the weights of each online step on its
/// way backwards through an episode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Reversal {
    /// Recompute each segment forward from its checkpoint into buffers of
    /// their own (one per step of the segment): the exact weights of the
    /// forward pass, bit for bit, whatever the checkpoint interval.
    #[default]
    Recompute,
    /// Walk the weights back in place by inverting each update, starting
    /// each segment from its exact checkpoint: no recomputation, and every
    /// weight the adjoint reads stays in one cache-sized buffer. Equal to
    /// [`Reversal::Recompute`] up to rounding (relative differences of
    /// `2e-7` in `f32` and `1e-15` in `f64` in `tests/reversal.rs`). Where
    /// walking on would amplify rounding errors by more than
    /// [`MAX_INVERSE_GAIN`] over a segment (a large weight decay `F^3`
    /// shrinks the weights, and undoing that expands them), the rest of
    /// the segment is recomputed from its checkpoint. Every term of the
    /// pool is inverted; a rule with a term of your own (whose form the
    /// inverse does not know) is always recomputed.
    Invert,
}

/// The largest product of the inverse's gains over one segment that
/// [`Reversal::Invert`] accepts: a rounding error of the walk back grows at
/// most this much before the next checkpoint re-anchors it.
pub const MAX_INVERSE_GAIN: f64 = 16.0;

/// Work space for meta-gradients of episodes of a given length.
pub struct MetaGradient<T, S> {
    shape: S,
    interval: usize,
    reversal: Reversal,
    /// Segments of the last episode walked back in place.
    inverted: usize,
    checkpoints: Vec<Box<[T]>>,
    segment: Vec<Box<[T]>>,
    acts: Vec<Activity<T, S, Box<[T]>>>,
    wbar: Box<[T]>,
    /// The `zbar` of the step whose outer products are deferred into the
    /// next (earlier) step's update adjoint.
    deferred: Box<[T]>,
    adj: Adjoint<T, S, Box<[T]>>,
    act: Activity<T, S, Box<[T]>>,
    plastic: Plastic<T>,
    /// The episode's blank pixels (see [`Reads`]), one entry per input.
    blank: Box<[bool]>,
}

/// The work space of a plastic pathway's state `S^t` (empty for fixed
/// feedback): kept and recomputed like the weights.
struct Plastic<T> {
    /// `S^t` at the start of every segment.
    checkpoints: Vec<Box<[T]>>,
    /// `S^{t+1}` for the steps of the segment being reversed.
    segment: Vec<Box<[T]>>,
    /// `dL/dS^t`.
    bar: Box<[T]>,
    /// The state after the episode, given back on return.
    last: Box<[T]>,
}

impl<T: Real> Plastic<T> {
    fn empty() -> Self {
        Plastic { checkpoints: Vec::new(), segment: Vec::new(), bar: Box::default(), last: Box::default() }
    }

    /// Buffers for a state of `len` entries over `segments` segments of at
    /// most `c` steps.
    fn reserve(&mut self, len: usize, segments: usize, c: usize) -> Option<()> {
        if self.bar.len() != len {
            *self = Self::empty();
            self.bar = try_zeroed(len)?;
            self.last = try_zeroed(len)?;
        }
        for (v, n) in [(&mut self.checkpoints, segments), (&mut self.segment, c.saturating_sub(1))] {
            v.try_reserve_exact(n.saturating_sub(v.len())).ok()?;
            while v.len() < n {
                v.push(try_zeroed(len)?);
            }
        }
        Some(())
    }
}

impl<T: Real, S: FixedShape> MetaGradient<T, S> {
    /// A work space that keeps a checkpoint every `interval` steps (at
    /// least 1; the square root of the episode length minimises memory).
    /// It holds no per-step buffers yet: [`MetaGradient::reserve`] (or the
    /// first [`MetaGradient::run`]) allocates them for an episode length.
    pub fn new(interval: usize) -> Self {
        Self::new_for(S::default(), interval)
    }

    /// Bytes of memory the work space needs for episodes of `steps` online
    /// steps with checkpoint interval `interval`: `ceil(T/c') + c'` weight
    /// sets with `c' = min(interval, steps)` (at least 1), `T + 1`
    /// activities and the adjoint. `None` if that overflows `usize`.
    ///
    /// ```
    /// use metaplasticity::meta::MetaGradient;
    /// use metaplasticity::shape;
    /// type Tiny = shape![64, 32, 16, 10];
    /// // An interval longer than the episode costs no more than one as long.
    /// let bytes = |c| MetaGradient::<f32, Tiny>::memory_bytes(25, c);
    /// assert_eq!(bytes(2000), bytes(25));
    /// assert_eq!(MetaGradient::<f32, Tiny>::memory_bytes(usize::MAX, usize::MAX), None);
    /// ```
    pub fn memory_bytes(steps: usize, interval: usize) -> Option<usize> {
        Self::memory_bytes_for(&S::default(), steps, interval)
    }
}

impl<T: Real, S: Shape> MetaGradient<T, S> {
    /// [`MetaGradient::new`] for networks of shape `shape`.
    pub fn new_for(shape: S, interval: usize) -> Self {
        MetaGradient {
            shape,
            interval: interval.max(1),
            reversal: Reversal::Recompute,
            inverted: 0,
            checkpoints: Vec::new(),
            segment: Vec::new(),
            acts: Vec::new(),
            wbar: zeroed_box(shape.weights()),
            deferred: zeroed_box(shape.units()),
            adj: Adjoint::zeros_for(shape),
            act: Activity::zeros_for(shape),
            plastic: Plastic::empty(),
            blank: alloc::vec![false; shape.width(0)].into_boxed_slice(),
        }
    }

    /// The shape of the networks it serves.
    pub fn shape(&self) -> &S {
        &self.shape
    }

    /// Allocates the buffers for episodes of `steps` online steps, or says
    /// why it cannot: the size overflows, or the allocator refuses it. The
    /// whole size is first requested as one block (not written, then given
    /// back), so a limit on the address space (`ulimit -v`) and Linux's
    /// default overcommit heuristic (no single block larger than memory
    /// plus swap) refuse an impossible size at once; a system set to
    /// overcommit always may instead stop the process when the pages are
    /// first written. Buffers already there are kept.
    pub fn reserve(&mut self, steps: usize) -> Result<(), WorkSpaceError> {
        let bytes = Self::memory_bytes_for(&self.shape, steps, self.interval);
        let error = WorkSpaceError { steps, interval: self.interval, bytes };
        if error.bytes.is_none_or(|b| b > isize::MAX as usize) {
            return Err(error);
        }
        let c = self.interval.min(steps).max(1);
        let (segments, segment) = (steps.div_ceil(c), c - 1);
        if self.checkpoints.len() >= segments && self.segment.len() >= segment && self.acts.len() >= steps {
            // Already there (every episode after the first): no allocation.
            return Ok(());
        }
        // The whole work space is first asked for as one block and given
        // back: a size the system cannot provide (more than its memory and
        // swap, or past `ulimit -v`) is refused here, before thousands of
        // small buffers are allocated one by one.
        if let Some(bytes) = error.bytes {
            let mut probe: Vec<u8> = Vec::new();
            probe.try_reserve_exact(bytes).map_err(|_| error)?;
        }
        let shape = self.shape;
        let grow = |v: &mut Vec<Box<[T]>>, n: usize| -> Option<()> {
            v.try_reserve_exact(n.saturating_sub(v.len())).ok()?;
            while v.len() < n {
                v.push(try_zeroed(shape.weights())?);
            }
            Some(())
        };
        grow(&mut self.checkpoints, segments).ok_or(error)?;
        grow(&mut self.segment, segment).ok_or(error)?;
        self.acts.try_reserve_exact(steps.saturating_sub(self.acts.len())).map_err(|_| error)?;
        while self.acts.len() < steps {
            let buf = try_zeroed(shape.activity_len()).ok_or(error)?;
            self.acts.push(Activity::with_shape(shape, buf).map_err(|_| error)?);
        }
        Ok(())
    }

    /// The same work space, getting the weights back by `reversal`.
    pub fn with_reversal(mut self, reversal: Reversal) -> Self {
        self.reversal = reversal;
        self
    }

    /// The checkpoint interval `c`.
    pub fn interval(&self) -> usize {
        self.interval
    }

    /// How the weights of each step are got back.
    pub fn reversal(&self) -> Reversal {
        self.reversal
    }

    /// How many segments of the last episode were walked back in place by
    /// inverting their updates (with [`Reversal::Invert`]; the others were
    /// recomputed from their checkpoints).
    pub fn segments_inverted(&self) -> usize {
        self.inverted
    }

    /// [`MetaGradient::memory_bytes`] for networks of shape `shape`.
    pub fn memory_bytes_for(shape: &S, steps: usize, interval: usize) -> Option<usize> {
        let c = interval.min(steps).max(1);
        let weight_sets = steps.div_ceil(c).checked_add(c)?;
        let activities = steps.checked_add(1)?;
        let entries = weight_sets
            .checked_mul(shape.weights())?
            .checked_add(activities.checked_mul(shape.activity_len())?)?
            .checked_add(shape.adjoint_len())?;
        entries.checked_mul(core::mem::size_of::<T>())
    }

    /// Runs one episode and its meta-gradient.
    ///
    /// On entry `net` holds the initial weights `W^0` (and its `beta`); on
    /// return, the weights after adapting to `task.train` online. `grad`
    /// (one entry per term of `rule`, then one per
    /// [`params`](FeedbackPathway::params) of the pathway) receives
    /// `dL_meta/dTheta`, penalty included (the penalty is on the rule's
    /// coefficients only). A fixed pathway is left as it was; a plastic one
    /// ([`KolenPollack`](crate::KolenPollack)) learns along the episode
    /// from its state on entry and holds its state after the episode on
    /// return, and the gradient runs through its trajectory (its state is
    /// checkpointed and recomputed like the weights, which takes as much
    /// memory again for a state as large as the weights).
    #[allow(clippy::too_many_arguments)]
    pub fn run<W, P, const N: usize>(
        &mut self,
        net: &mut Network<T, S, W>,
        pathway: &mut P,
        rule: &Rule<'_, T, N>,
        data: &Dataset<'_>,
        task: &Task,
        penalty: Penalty,
        grad: &mut [T],
    ) -> Result<EpisodeResult, EpisodeError>
    where
        W: Storage<T>,
        P: FeedbackPathway<T, S> + ?Sized,
    {
        let steps = task.train.len();
        let c = self.interval;
        let beta = net.beta();
        let fail = |step| move |error| EpisodeError::Step { step, error };
        let failed = |(step, error)| EpisodeError::Step { step, error };
        let coefficients = rule.len() + pathway.params().len();
        if grad.len() != coefficients {
            return Err(EpisodeError::Step {
                step: 0,
                error: Error::BufferLength {
                    what: crate::BufferKind::Theta,
                    expected: coefficients,
                    found: grad.len(),
                },
            });
        }
        crate::buffer::same_shape(&self.shape, net.shape()).map_err(fail(0))?;
        if steps == 0 || task.query.is_empty() {
            return Err(EpisodeError::EmptyTask { train: steps, query: task.query.len() });
        }
        // The activity of every step is kept (a few kilobytes each), so the
        // recomputation only repeats the updates; the last segment's weights
        // are kept too (unless walking back in place), so it is not
        // recomputed at all.
        self.reserve(steps).map_err(EpisodeError::WorkSpace)?;
        // Forward, saving a checkpoint every c steps (and, unless walking
        // back in place, the weights of the last segment's steps).
        let segments = steps.div_ceil(c);
        let last = segments.saturating_sub(1) * c;
        let invert = self.reversal == Reversal::Invert && invertible(rule);
        // The reverse pass reads the first layer's weights only for terms
        // or a pathway's signals that read them (`W_1^T zbar_1` is not needed: the
        // input does not depend on Theta); otherwise the copies, the
        // recomputation and the walk back leave layer 1 alone. The same
        // bits either way.
        let pathway_reads = (rule.lowest_signal()..self.shape.depth()).any(|l| pathway.feedback_reads(l).contains(1));
        let first = if rule.reads_weights(1) || pathway_reads { 1 } else { 2 };
        let o = self.shape.weight_offset(first);
        // Layer 1's columns of blank pixels are left out too where only the
        // pool's terms act on layer 1 and no signal above `e_0` reads `W_1`.
        let blanks = first == 1
            && rule.entries().iter().filter(|e| e.layers.contains(1)).all(|e| pool_index(e.term).is_some())
            && !(rule.lowest_signal().max(1)..self.shape.depth()).any(|l| pathway.feedback_reads(l).contains(1));
        self.blank.fill(blanks);
        // A plastic pathway's state: checkpointed with the weights.
        let plastic = !pathway.state().is_empty();
        if plastic {
            // S^t at each segment's start and for each step of a segment,
            // its gradient and the final state.
            let len = pathway.state().len();
            let bytes = (segments + c + 1).checked_mul(len).and_then(|n| n.checked_mul(core::mem::size_of::<T>()));
            let error = WorkSpaceError { steps, interval: c, bytes };
            self.plastic.reserve(len, segments, c).ok_or(EpisodeError::WorkSpace(error))?;
        }
        let shape = self.shape;
        net.check().map_err(fail(0))?;
        let mut train_loss = 0.0;
        for (t, &i) in task.train.iter().enumerate() {
            if t % c == 0 {
                self.checkpoints[t / c][o..].copy_from_slice(&net.as_slice()[o..]);
                if plastic {
                    self.plastic.checkpoints[t / c].copy_from_slice(pathway.state());
                }
            }
            if t > last && !invert {
                self.segment[t - last - 1][o..].copy_from_slice(&net.as_slice()[o..]);
            }
            let act = &mut self.acts[t];
            let label = load(act, data, i).map_err(fail(t))?;
            unmark_pixels(&mut self.blank, act.y(0));
            // The online step itself, so a diverged update marks `net` unchecked.
            let out = step_loaded(net, &*pathway, rule, act, label).map_err(fail(t))?;
            train_loss += out.loss.to_f64();
            if plastic {
                let [y, _, e, _, _] = act.parts();
                pathway.learn(&shape, y, e).map_err(fail(t))?;
            }
        }
        if plastic {
            self.plastic.last.copy_from_slice(pathway.state());
            self.plastic.bar.fill(T::zero());
        }
        // The query loss and its gradient at the adapted weights.
        self.wbar.fill(T::zero());
        let q = task.query.len().max(1);
        let scale = T::one() / T::of(q as f64);
        let (mut query_loss, mut hits) = (0.0, 0);
        for (k, &i) in task.query.iter().enumerate() {
            let qfail = |error| EpisodeError::Query { sample: k, error };
            let label = load(&mut self.act, data, i).map_err(qfail)?;
            unmark_pixels(&mut self.blank, self.act.y(0));
            if net.forward_label(&mut self.act, label).map_err(qfail)? == label {
                hits += 1;
            }
            query_loss += self.act.loss().to_f64();
            loss_adjoint(net.as_slice(), &self.act, scale, &mut self.wbar, &mut self.adj).map_err(qfail)?;
        }
        query_loss /= q as f64;
        let reads = Reads { first, blank: &self.blank };
        // Reverse, one segment at a time.
        grad.fill(T::zero());
        self.inverted = 0;
        for k in (0..segments).rev() {
            let span = k * c..(steps.min((k + 1) * c));
            // Walk back in place while the inverse keeps rounding small
            // over the segment; its first step reads the checkpoint itself.
            let mut walk = invert && span.len() > 1;
            let mut budget = MAX_INVERSE_GAIN;
            let (checkpoint, segment) = (&self.checkpoints[k], &mut self.segment);
            if walk {
                // segment[0] holds W^{t+1}, then W^t after inverting step t.
                let end: &[T] = if k + 1 < segments { &self.checkpoints[k + 1] } else { net.as_slice() };
                segment[0][o..].copy_from_slice(&end[o..]);
            } else if k + 1 < segments || invert {
                recompute(reads, checkpoint, segment, rule, &mut self.acts, span.start, span.len()).map_err(failed)?;
            }
            if plastic {
                // S^{start+1} .. S^{end-1} from the segment's checkpoint.
                let states = &mut self.plastic.segment;
                pathway.set_state(&self.plastic.checkpoints[k]).map_err(fail(span.start))?;
                for (s, t) in span.clone().enumerate().take(span.len() - 1) {
                    let [y, _, e, _, _] = self.acts[t].parts();
                    pathway.learn(&shape, y, e).map_err(fail(t))?;
                    states[s].copy_from_slice(pathway.state());
                }
            }
            for (s, t) in span.clone().enumerate().rev() {
                if walk && s > 0 {
                    match invert_update(reads, &mut segment[0], rule, &self.acts[t], budget) {
                        Some(gain) => budget /= gain,
                        None => {
                            // Refused: recompute the segment's first s + 1
                            // weights instead (segment[0] is overwritten).
                            walk = false;
                            recompute(reads, checkpoint, segment, rule, &mut self.acts, span.start, s + 1)
                                .map_err(failed)?;
                        }
                    }
                }
                let weights: &[T] = match s {
                    0 => checkpoint,
                    _ if walk => &segment[0],
                    _ => &segment[s - 1],
                };
                // Step t + 1's outer products `zbar_l y_{l-1}^T` go into
                // `wbar` as step t's update adjoint reads it; step 0 needs
                // no `dL/dW^0`.
                let later = self.acts.get(t + 1).filter(|_| t + 1 < steps).map(|a| (&self.deferred[..], a.parts()[0]));
                let tail = if t == 0 { Tail::None } else { Tail::Defer };
                if plastic {
                    let state: &[T] = if s == 0 { &self.plastic.checkpoints[k] } else { &self.plastic.segment[s - 1] };
                    pathway.set_state(state).map_err(fail(t))?;
                }
                let state_bar: &mut [T] = if plastic { &mut self.plastic.bar } else { &mut [] };
                step_adjoint_with(
                    weights,
                    beta,
                    &*pathway,
                    rule,
                    &self.acts[t],
                    &mut self.wbar,
                    grad,
                    state_bar,
                    &mut self.adj,
                    later,
                    reads.blank,
                    tail,
                )
                .map_err(fail(t))?;
                self.deferred.copy_from_slice(self.adj.z_all());
            }
            if walk {
                self.inverted += 1;
            }
        }
        if plastic {
            pathway.set_state(&self.plastic.last).map_err(fail(steps))?;
        }
        let mut theta: Vec<T> = alloc::vec![T::zero(); rule.len()];
        rule.thetas(&mut theta).map_err(fail(0))?;
        penalty.add_gradient(&theta, &mut grad[..rule.len()]);
        if !crate::real::all_finite(grad) {
            return Err(EpisodeError::NonFiniteGradient);
        }
        Ok(EpisodeResult {
            query_loss,
            meta_loss: query_loss + penalty.value(&theta),
            accuracy: hits as f64 / q as f64,
            train_loss: train_loss / steps.max(1) as f64,
        })
    }
}

/// Recomputes the weights of steps `start + 1 .. start + len` of a segment
/// from its checkpoint (the weights of step `start`): the update of step
/// `start + s` writes the weights of step `start + s + 1` into `segment[s]`.
fn recompute<T: Real, S: Shape, const N: usize>(
    reads: Reads<'_>,
    checkpoint: &[T],
    segment: &mut [Box<[T]>],
    rule: &Rule<'_, T, N>,
    acts: &mut [Activity<T, S, Box<[T]>>],
    start: usize,
    len: usize,
) -> Result<(), (usize, Error)> {
    for s in 0..len.saturating_sub(1) {
        let (done, next) = segment.split_at_mut(s);
        let from: &[T] = if s == 0 { checkpoint } else { &done[s - 1] };
        let weights = Weights::Into { from, to: &mut next[0] };
        update_from(reads, weights, rule, &mut acts[start + s]).map_err(|e| (start + s, e))?;
    }
    Ok(())
}

/// Clears the entries of `blank` whose pixel in `x` is not zero.
fn unmark_pixels<T: Real>(blank: &mut [bool], x: &[T]) {
    for (b, v) in blank.iter_mut().zip(x) {
        *b &= v.is_zero();
    }
}
