//! Meta-learning of the coefficients `Theta` (feature `alloc`): tasks,
//! exact meta-gradients through every online step, penalties and Adam.
//!
//! One episode (SPEC section 3): draw a task ([`task`]), re-initialise `W`
//! and the feedback, adapt online over the training images, evaluate the
//! query cross-entropy plus a [`Penalty`] on `Theta`, and differentiate it
//! exactly with respect to `Theta` ([`gradient`]), then take an [`Adam`] step.
//!
//! # Discovering a rule from a pool
//!
//! The paper's plain Adam at `1e-3` ([`Config::default`]) re-fits
//! hand-picked rules well but collapses on its pool of ten terms, whose
//! sizes span four orders of magnitude (`docs/REPRODUCTION.md`).
//! [`Config::robust`] turns on the parts that make discovery work, each
//! usable alone and each documented with the reason it exists:
//!
//! * [`Optimizer::Normalized`]: momentum on the unit-length meta-gradient,
//!   so coefficients with tiny gradients move little and no step exceeds
//!   the learning rate ([`Adam::step_normalized`]);
//! * [`StepScale::Measured`]: per-term step sizes from each term's measured
//!   size ([`scale`]);
//! * [`OnDivergence::BackOff`]: a diverged episode undoes the step that led
//!   to it and retries smaller ([`BackOff`]);
//! * [`L1Form::Proximal`]: L1 by soft-thresholding, so unneeded
//!   coefficients become exactly zero ([`StepOptions::l1`]).
//!
//! ```
//! use metaplasticity::data::OwnedDataset;
//! use metaplasticity::meta::{Config, Penalty, TaskSpec, Trainer};
//! use metaplasticity::{Rule, shape};
//!
//! let digits = OwnedDataset::optdigits_shipped().unwrap();   // 8x8 digits, shipped
//! let data = digits.view();
//! let config = Config {
//!     task: TaskSpec { train: 10, query: 5, ..TaskSpec::default() },
//!     penalty: Penalty::L1(1.0),
//!     ..Config::default()
//! }
//! .robust();
//! let mut trainer = Trainer::<f32, shape![64, 32, 16, 10]>::new(Rule::pool(), &data, config).unwrap();
//! for _ in 0..3 {
//!     let record = trainer.episode(&data).unwrap();
//!     assert!(record.ok && record.theta.len() == 10);
//! }
//! // The per-term step sizes measured on the first episode: F^0's is 1.
//! assert_eq!(trainer.rates()[0], 1.0);
//! ```

pub mod adam;
pub mod config;
pub mod gradient;
mod invert;
pub mod penalty;
pub mod scale;
pub mod task;
pub mod trainer;

pub use adam::{Adam, AdamError, StepOptions};
pub use config::{BackOff, Config, ConfigError, L1Form, OnDivergence, Optimizer, StepScale};
pub use gradient::{EpisodeError, EpisodeResult, MAX_INVERSE_GAIN, MetaGradient, Reversal, WorkSpaceError};
pub use penalty::Penalty;
pub use scale::{rates_from_magnitudes, term_magnitudes};
pub use task::{ClassIndex, Sampling, Task, TaskError, TaskSpec, episode_rng};
pub use trainer::{Record, State, TrainError, Trainer, Undo};
