#![no_std]
#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
// No unsafe code of our own. With `std` on x86_64, the `multiversion`
// attribute on the weight sweeps generates a dispatcher whose unsafe call
// of the AVX2 version follows its run-time check of the CPU's features.
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]
// On docs.rs (nightly, `--cfg docsrs`), items behind a feature carry a badge
// naming it.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(not(any(feature = "std", feature = "libm")))]
compile_error!(
    "metaplasticity needs `std` (default) or `libm` for its maths: \
     build with `--no-default-features --features libm` for no_std targets"
);

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod activation;
pub mod activity;
pub mod adjoint;
pub mod any_pathway;
mod buffer;
#[cfg(feature = "std")]
pub mod data;
pub mod deploy;
pub mod error;
mod forward;
#[cfg(feature = "alloc")]
pub mod heap;
pub mod idx;
pub mod init;
mod kernel;
pub mod kolen_pollack;
#[cfg(feature = "alloc")]
pub mod meta;
pub mod network;
pub mod online;
pub mod pathway;
pub mod real;
pub mod rule;
pub mod shape;
pub mod sign_symmetric;
mod signals;
pub mod step;
pub mod term;
pub mod terms;

pub use activity::Activity;
#[cfg(feature = "alloc")]
pub use any_pathway::AnyPathway;
pub use any_pathway::PathwayKind;
pub use error::{BufferKind, Error};
pub use init::Init;
pub use kolen_pollack::KolenPollack;
pub use network::Network;
pub use pathway::{Backprop, DirectFeedbackAlignment, FeedbackAlignment, FeedbackPathway};
pub use real::Real;
pub use rule::{LayerSet, Rule};
pub use shape::{FixedShape, Shape, Widths};
pub use sign_symmetric::{RandomSignSymmetric, RedrawnSignSymmetric, SignSymmetric};
pub use step::{Outcome, step};
// What a term of your own needs (see [`PlasticityTerm`]).
pub use term::{BarBlock, Column, ColumnBar, Mix, MixBlock, Mixes, Needs, PlasticityTerm, Signals, SignalsBar};

/// Anything that owns a slice of scalars: `Box<[T]>`, `&mut [T]`,
/// `[T; N]`, `Vec<T>`. Buffers of the core are generic over it so that the
/// same code runs on the heap and in `static` memory.
pub trait Storage<T>: AsRef<[T]> + AsMut<[T]> {}
impl<T, B: AsRef<[T]> + AsMut<[T]> + ?Sized> Storage<T> for B {}
