//! Drawing tasks for episodes: `M` classes, `K` training and `Q` query
//! images per class.

use alloc::vec::Vec;
use core::fmt;

use rand_core::Rng;

use crate::idx::Dataset;
use crate::init::index;

/// The images of each class of a data set, by index.
#[derive(Debug, Clone)]
pub struct ClassIndex {
    by_class: Vec<Vec<usize>>,
}

impl ClassIndex {
    /// Indexes `data` by class.
    pub fn new(data: &Dataset<'_>) -> Self {
        let mut by_class = alloc::vec![Vec::new(); data.classes()];
        for i in 0..data.len() {
            if let Some(c) = data.label(i) {
                by_class[usize::from(c)].push(i);
            }
        }
        ClassIndex { by_class }
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
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TaskError::Classes { requested, available } => {
                write!(f, "a task of {requested} classes cannot be drawn from a data set of {available} classes")
            }
            TaskError::TooFewImages { class, needed, available } => {
                write!(f, "class {class} has {available} images; a task needs {needed} (K + Q) per class")
            }
            TaskError::Empty => {
                write!(f, "K (training images per class) and Q (query images per class) must be positive")
            }
        }
    }
}

impl core::error::Error for TaskError {}

impl TaskSpec {
    /// Checks that tasks of this shape can be drawn from `index`.
    pub fn check(&self, index: &ClassIndex) -> Result<(), TaskError> {
        if self.train == 0 || self.query == 0 {
            return Err(TaskError::Empty);
        }
        let available = index.classes();
        let too_many = self.sampling == Sampling::Disjoint && self.classes > available;
        if self.classes == 0 || too_many || available == 0 {
            return Err(TaskError::Classes { requested: self.classes, available });
        }
        let needed = self.train + self.query;
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
                classes[..self.classes].to_vec()
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
            task.train.extend_from_slice(&pool[..self.train]);
            task.query.extend_from_slice(&pool[self.train..self.train + self.query]);
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
