//! The exact meta-gradient of one episode, by reverse mode through every
//! online step, with checkpoints to bound memory.
//!
//! Forward: the weights are saved every `c` steps (`c` = the checkpoint
//! interval) while the network adapts. Reverse: for each segment of `c`
//! steps, last first, the segment is recomputed from its checkpoint, keeping
//! the weights of each of its steps (the activities of all steps, and the
//! last segment's weights, are kept from the forward pass), and
//! [`step_adjoint`] runs over them backwards. Memory: `ceil(T/c) + c`
//! weight-sized buffers and `T + 1` activities; work: every update but those
//! of the last segment is computed twice. The result does
//! not depend on `c` (the same arithmetic runs in the same order).

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

use crate::adjoint::{Adjoint, loss_adjoint, step_adjoint};
use crate::buffer::zeroed_box;
use crate::idx::Dataset;
use crate::meta::{Penalty, Task};
use crate::online::load;
use crate::pathway::FeedbackPathway;
use crate::rule::Rule;
use crate::step::{Weights, step_loaded, update};
use crate::{Activity, Error, Network, Real, Shape, Storage};

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

/// Work space for meta-gradients of episodes of a given length.
pub struct MetaGradient<T, S> {
    interval: usize,
    checkpoints: Vec<Box<[T]>>,
    segment: Vec<Box<[T]>>,
    acts: Vec<Activity<T, S, Box<[T]>>>,
    wbar: Box<[T]>,
    adj: Adjoint<T, S, Box<[T]>>,
    act: Activity<T, S, Box<[T]>>,
}

impl<T: Real, S: Shape> MetaGradient<T, S> {
    /// A work space that keeps a checkpoint every `interval` steps (at
    /// least 1; the square root of the episode length minimises memory).
    /// It holds no per-step buffers yet: [`MetaGradient::reserve`] (or the
    /// first [`MetaGradient::run`]) allocates them for an episode length.
    pub fn new(interval: usize) -> Self {
        MetaGradient {
            interval: interval.max(1),
            checkpoints: Vec::new(),
            segment: Vec::new(),
            acts: Vec::new(),
            wbar: zeroed_box(S::WEIGHTS),
            adj: Adjoint::zeros(),
            act: Activity::zeros(),
        }
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
        let error = WorkSpaceError { steps, interval: self.interval, bytes: Self::memory_bytes(steps, self.interval) };
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
        let grow = |v: &mut Vec<Box<[T]>>, n: usize| -> Option<()> {
            v.try_reserve_exact(n.saturating_sub(v.len())).ok()?;
            while v.len() < n {
                v.push(try_zeroed(S::WEIGHTS)?);
            }
            Some(())
        };
        grow(&mut self.checkpoints, segments).ok_or(error)?;
        grow(&mut self.segment, segment).ok_or(error)?;
        self.acts.try_reserve_exact(steps.saturating_sub(self.acts.len())).map_err(|_| error)?;
        while self.acts.len() < steps {
            let buf = try_zeroed(S::ACTIVITY).ok_or(error)?;
            self.acts.push(Activity::new(buf).map_err(|_| error)?);
        }
        Ok(())
    }

    /// The checkpoint interval `c`.
    pub fn interval(&self) -> usize {
        self.interval
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
        let c = interval.min(steps).max(1);
        let weight_sets = steps.div_ceil(c).checked_add(c)?;
        let activities = steps.checked_add(1)?;
        let entries = weight_sets
            .checked_mul(S::WEIGHTS)?
            .checked_add(activities.checked_mul(S::ACTIVITY)?)?
            .checked_add(S::ADJOINT)?;
        entries.checked_mul(core::mem::size_of::<T>())
    }

    /// Runs one episode and its meta-gradient.
    ///
    /// On entry `net` holds the initial weights `W^0` (and its `beta`); on
    /// return, the weights after adapting to `task.train` online. `grad`
    /// (one entry per term of `rule`) receives `dL_meta/dTheta`, penalty
    /// included. The `pathway` must stay fixed during the call.
    #[allow(clippy::too_many_arguments)]
    pub fn run<W, P, const N: usize>(
        &mut self,
        net: &mut Network<T, S, W>,
        pathway: &P,
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
        if grad.len() != rule.len() {
            return Err(EpisodeError::Step {
                step: 0,
                error: Error::BufferLength { what: crate::BufferKind::Theta, expected: rule.len(), found: grad.len() },
            });
        }
        if steps == 0 || task.query.is_empty() {
            return Err(EpisodeError::EmptyTask { train: steps, query: task.query.len() });
        }
        // The activity of every step is kept (a few kilobytes each), so the
        // recomputation only repeats the updates; the last segment's weights
        // are kept too, so it is not recomputed at all.
        self.reserve(steps).map_err(EpisodeError::WorkSpace)?;
        // Forward, saving a checkpoint every c steps.
        let segments = steps.div_ceil(c);
        let last = segments.saturating_sub(1) * c;
        net.check().map_err(fail(0))?;
        let mut train_loss = 0.0;
        for (t, &i) in task.train.iter().enumerate() {
            if t % c == 0 {
                self.checkpoints[t / c].copy_from_slice(net.as_slice());
            }
            if t > last {
                self.segment[t - last - 1].copy_from_slice(net.as_slice());
            }
            let act = &mut self.acts[t];
            let label = load(act, data, i).map_err(fail(t))?;
            // The online step itself, so a diverged update marks `net` unchecked.
            let out = step_loaded(net, pathway, rule, act, label).map_err(fail(t))?;
            train_loss += out.loss.to_f64();
        }
        // The query loss and its gradient at the adapted weights.
        self.wbar.fill(T::zero());
        let q = task.query.len().max(1);
        let scale = T::one() / T::of(q as f64);
        let (mut query_loss, mut hits) = (0.0, 0);
        for (k, &i) in task.query.iter().enumerate() {
            let qfail = |error| EpisodeError::Query { sample: k, error };
            let label = load(&mut self.act, data, i).map_err(qfail)?;
            if net.forward_label(&mut self.act, label).map_err(qfail)? == label {
                hits += 1;
            }
            query_loss += self.act.loss().to_f64();
            loss_adjoint(net.as_slice(), &self.act, scale, &mut self.wbar, &mut self.adj).map_err(qfail)?;
        }
        query_loss /= q as f64;
        // Reverse, one segment at a time.
        grad.fill(T::zero());
        for k in (0..segments).rev() {
            let span = k * c..(steps.min((k + 1) * c));
            let (checkpoint, segment) = (&self.checkpoints[k], &mut self.segment);
            if k + 1 < segments {
                // Recompute the segment's weights from its checkpoint: the
                // update of step s writes the weights of step s + 1 into
                // segment[s] (step 0's weights are the checkpoint itself).
                for (s, t) in span.clone().enumerate().take(span.len() - 1) {
                    let (done, next) = segment.split_at_mut(s);
                    let from: &[T] = if s == 0 { checkpoint } else { &done[s - 1] };
                    update(Weights::Into { from, to: &mut next[0] }, rule, &mut self.acts[t]).map_err(fail(t))?;
                }
            }
            for (s, t) in span.enumerate().rev() {
                let weights: &[T] = if s == 0 { checkpoint } else { &segment[s - 1] };
                step_adjoint(weights, beta, pathway, rule, &self.acts[t], &mut self.wbar, grad, &mut self.adj)
                    .map_err(fail(t))?;
            }
        }
        let mut theta: Vec<T> = alloc::vec![T::zero(); rule.len()];
        rule.thetas(&mut theta).map_err(fail(0))?;
        penalty.add_gradient(&theta, grad);
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
