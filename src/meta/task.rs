//! Drawing tasks for episodes: `M` classes, `K` training and `Q` query
//! images per class.

use alloc::vec::Vec;
use core::fmt;

use rand_core::Rng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::SeedableRng;

use crate::idx::Dataset;
use crate::init::index;

/// The images of each class of a data set, by index.
#[derive(Debug, Clone)]
pub struct ClassIndex {
    by_class: Vec<Vec<usize>>,
}

impl ClassIndex {
    /// Indexes `data` by class (a [`Dataset`] has at most
    /// [`MAX_CLASSES`](crate::idx::MAX_CLASSES) classes, every label below
    /// its count).
    pub fn new(data: &Dataset<'_>) -> Self {
        let mut by_class = alloc::vec![Vec::new(); data.classes()];
        for (i, &c) in data.labels().as_slice().iter().enumerate() {
            if let Some(class) = by_class.get_mut(usize::from(c)) {
                class.push(i);
            }
        }
        ClassIndex { by_class }
    }

    /// Whether this is the index of `data`: as many classes, and every
    /// image it lists under a class labelled so, every image listed (one
    /// pass over the labels).
    pub fn indexes(&self, data: &Dataset<'_>) -> bool {
        let labels = data.labels();
        let labels = labels.as_slice();
        self.by_class.len() == data.classes()
            && self.by_class.iter().map(Vec::len).sum::<usize>() == labels.len()
            && self
                .by_class
                .iter()
                .enumerate()
                .all(|(c, images)| images.iter().all(|&i| labels.get(i).is_some_and(|&l| usize::from(l) == c)))
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.by_class.len()
    }

    /// The images of class `c`.
    pub fn of(&self, c: usize) -> &[usize] {
        self.by_class.get(c).map_or(&[], Vec::as_slice)
    }
}

/// How classes and images are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sampling {
    /// `M` distinct classes, then `K + Q` distinct images of each, all drawn
    /// at random every episode (the SPEC's protocol).
    #[default]
    Disjoint,
    /// As the public reference implementation: classes drawn with
    /// replacement, and always the first `K + Q` images of a class (the
    /// first `K` for training), for side-by-side comparison.
    Reference,
}

/// The shape of a task: `M` classes, `K` training and `Q` query images each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskSpec {
    /// Classes per task, `M` (default 5).
    pub classes: usize,
    /// Training images per class, `K` (default 50).
    pub train: usize,
    /// Query images per class, `Q` (default 10).
    pub query: usize,
    /// How they are drawn.
    pub sampling: Sampling,
}

impl Default for TaskSpec {
    fn default() -> Self {
        TaskSpec { classes: 5, train: 50, query: 10, sampling: Sampling::Disjoint }
    }
}

/// One task: image indices of the training stream, in presentation order,
/// and of the query set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// `M K` training images, shuffled.
    pub train: Vec<usize>,
    /// `M Q` query images.
    pub query: Vec<usize>,
}

/// Why a task cannot be drawn from a data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskError {
    /// `M` exceeds the number of classes (with [`Sampling::Disjoint`]), or is zero.
    Classes {
        /// `M` requested.
        requested: usize,
        /// Classes in the data set.
        available: usize,
    },
    /// A class has fewer than `K + Q` images.
    TooFewImages {
        /// The class.
        class: usize,
        /// `K + Q`.
        needed: usize,
        /// Images of that class.
        available: usize,
    },
    /// `K` is zero or `Q` is zero.
    Empty,
    /// The data set's images or classes do not fit the network: `pixels`
    /// per image against an input of `input`, `classes` against `outputs`.
    DataShape {
        /// Pixels per image in the data set.
        pixels: usize,
        /// The network's input width `n_0`.
        input: usize,
        /// Classes in the data set.
        classes: usize,
        /// The network's outputs `n_L`.
        outputs: usize,
    },
    /// `K + Q` or `M (K + Q)` does not fit in a `usize`.
    Overflow {
        /// `M`.
        classes: usize,
        /// `K`.
        train: usize,
        /// `Q`.
        query: usize,
    },
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TaskError::Classes { requested: 0, .. } => write!(f, "a task needs at least one class (M = 0)"),
            TaskError::Classes { requested, available } => {
                write!(f, "a task of {requested} classes cannot be drawn from a data set of {available} classes")
            }
            TaskError::DataShape { pixels, input, classes, outputs } => write!(
                f,
                "the data set ({pixels} pixels per image, {classes} classes) does not fit the network ({input} \
                 inputs, {outputs} outputs)"
            ),
            TaskError::TooFewImages { class, needed, available } => {
                write!(f, "class {class} has {available} images; a task needs {needed} (K + Q) per class")
            }
            TaskError::Empty => {
                write!(f, "K (training images per class) and Q (query images per class) must be positive")
            }
            TaskError::Overflow { classes, train, query } => write!(
                f,
                "a task of M = {classes} classes with K = {train} training and Q = {query} query images \
                 per class has more than {} images",
                usize::MAX
            ),
        }
    }
}

impl core::error::Error for TaskError {}

impl TaskSpec {
    /// A task shape of `M = classes` classes, `K = train` training and
    /// `Q = query` query images per class, checked on its own: `M`, `K`
    /// and `Q` positive, `M (K + Q)` representable. Whether a data set can
    /// supply it is [`TaskSpec::check`]'s question.
    ///
    /// ```
    /// use metaplasticity::meta::{Sampling, TaskError, TaskSpec};
    /// assert!(TaskSpec::new(5, 50, 10, Sampling::Disjoint).is_ok());
    /// assert_eq!(TaskSpec::new(5, 0, 10, Sampling::Disjoint), Err(TaskError::Empty));
    /// assert!(matches!(TaskSpec::new(2, usize::MAX, 2, Sampling::Disjoint), Err(TaskError::Overflow { .. })));
    /// ```
    pub fn new(classes: usize, train: usize, query: usize, sampling: Sampling) -> Result<Self, TaskError> {
        let spec = TaskSpec { classes, train, query, sampling };
        spec.images()?;
        Ok(spec)
    }

    /// `K + Q` and `M (K + Q)`, checked (`M`, `K`, `Q` positive, no overflow).
    fn images(&self) -> Result<(usize, usize), TaskError> {
        if self.train == 0 || self.query == 0 {
            return Err(TaskError::Empty);
        }
        if self.classes == 0 {
            return Err(TaskError::Classes { requested: 0, available: 0 });
        }
        let overflow = TaskError::Overflow { classes: self.classes, train: self.train, query: self.query };
        let per_class = self.train.checked_add(self.query).ok_or(overflow)?;
        let total = per_class.checked_mul(self.classes).ok_or(overflow)?;
        Ok((per_class, total))
    }

    /// Online steps of an episode, `M K` (after [`TaskSpec::new`] or
    /// [`TaskSpec::check`], it does not overflow; saturating otherwise).
    pub fn steps(&self) -> usize {
        self.classes.saturating_mul(self.train)
    }

    /// Checks that tasks of this shape can be drawn from `index`.
    pub fn check(&self, index: &ClassIndex) -> Result<(), TaskError> {
        let (needed, _) = self.images().map_err(|e| match e {
            TaskError::Classes { requested, .. } => TaskError::Classes { requested, available: index.classes() },
            e => e,
        })?;
        let available = index.classes();
        let too_many = self.sampling == Sampling::Disjoint && self.classes > available;
        if too_many || available == 0 {
            return Err(TaskError::Classes { requested: self.classes, available });
        }
        for class in 0..available {
            let n = index.of(class).len();
            if n < needed {
                return Err(TaskError::TooFewImages { class, needed, available: n });
            }
        }
        Ok(())
    }

    /// Draws a task (after [`TaskSpec::check`]; the same generator state
    /// gives the same task).
    pub fn draw<R: Rng + ?Sized>(&self, by_class: &ClassIndex, rng: &mut R) -> Result<Task, TaskError> {
        self.check(by_class)?;
        let mut classes: Vec<usize> = (0..by_class.classes()).collect();
        let chosen: Vec<usize> = match self.sampling {
            Sampling::Disjoint => {
                partial_shuffle(&mut classes, self.classes, rng);
                classes.truncate(self.classes);
                classes
            }
            Sampling::Reference => (0..self.classes).map(|_| index(rng, classes.len())).collect(),
        };
        let mut task = Task { train: Vec::new(), query: Vec::new() };
        let mut pool = Vec::new();
        for &c in &chosen {
            pool.clear();
            pool.extend_from_slice(by_class.of(c));
            if self.sampling == Sampling::Disjoint {
                partial_shuffle(&mut pool, self.train + self.query, rng);
            }
            // `check` saw at least K + Q images in every class.
            let (train, rest) = pool.split_at(self.train.min(pool.len()));
            task.train.extend_from_slice(train);
            task.query.extend_from_slice(rest.get(..self.query).unwrap_or(rest));
        }
        let n = task.train.len();
        partial_shuffle(&mut task.train, n, rng);
        Ok(task)
    }
}

/// Moves a uniformly random `k`-subset, in random order, to the front of `v`.
fn partial_shuffle<T, R: Rng + ?Sized>(v: &mut [T], k: usize, rng: &mut R) {
    for i in 0..k.min(v.len()) {
        let j = i + index(rng, v.len() - i);
        v.swap(i, j);
    }
}

/// The generator of episode `n` of a run seeded with `seed`.
pub fn episode_rng(seed: u64, n: usize) -> Xoshiro256PlusPlus {
    // Distinct, well-mixed 64-bit seeds per (seed, n): SplitMix-style odd multiplier.
    Xoshiro256PlusPlus::seed_from_u64(seed ^ (n as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}
