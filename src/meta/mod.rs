//! Meta-learning of the coefficients `Theta` (feature `alloc`): tasks,
//! exact meta-gradients through every online step, penalties and Adam.
//!
//! One episode (SPEC section 3): draw a task ([`task`]), re-initialise `W`
//! and the feedback, adapt online over the training images, evaluate the
//! query cross-entropy plus a [`Penalty`] on `Theta`, and differentiate it
//! exactly with respect to `Theta` ([`gradient`]), then take an [`Adam`] step.

pub mod adam;
pub mod gradient;
pub mod penalty;
pub mod task;
pub mod trainer;

pub use adam::Adam;
pub use gradient::{EpisodeResult, MetaGradient};
pub use penalty::Penalty;
pub use task::{ClassIndex, Sampling, Task, TaskError, TaskSpec};
pub use trainer::{Config, OnDivergence, Record, TrainError, Trainer};
