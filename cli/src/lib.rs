//! The library part of the `metaplasticity` tool: what its subcommands
//! need beyond the `metaplasticity` crate, kept out of that crate so that
//! its dependents do not carry it.
//!
//! * [`report`]: atomic file replacement (an interrupted run never leaves a
//!   half-written file), the episode CSV, the checks before a run writes.
//! * [`stats`]: the one-sided Mann-Whitney U test, percentile bootstrap
//!   intervals and moving averages of the figures.

pub mod report;
pub mod stats;
