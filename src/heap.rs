//! The buffers of the core on the heap, without turbofish (feature
//! `alloc`): each alias fixes the storage to `Box<[T]>` and the scalar to
//! `f32` unless given, so the common desktop case names only the shape.
//!
//! ```
//! use metaplasticity::heap::{Activity, FeedbackAlignment, Network};
//! use metaplasticity::{shape, step, Init, Rule};
//! use rand_xoshiro::{rand_core::SeedableRng, Xoshiro256PlusPlus};
//!
//! type Small = shape![4, 8, 3];
//! let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
//! let mut net = Network::<Small>::zeros();                 // f32, Box<[f32]>
//! net.init(&mut rng, Init::XavierUniform);
//! let feedback = FeedbackAlignment::<Small>::random(&mut rng, Init::XavierUniform);
//! let mut act = Activity::<Small>::zeros();
//! let rule = Rule::<f32>::fa();
//! step(&mut net, &feedback, &rule, &mut act, &[0.9, 0.1, 0.4, 0.7], 2)?;
//! // In f64: name the scalar after the shape.
//! let wide = Network::<Small, f64>::zeros();
//! assert_eq!(wide.as_slice().len(), net.as_slice().len());
//! # Ok::<(), metaplasticity::Error>(())
//! ```

use alloc::boxed::Box;

/// [`crate::Network`] with its weights on the heap.
pub type Network<S, T = f32> = crate::Network<T, S, Box<[T]>>;

/// [`crate::Activity`] on the heap.
pub type Activity<S, T = f32> = crate::Activity<T, S, Box<[T]>>;

/// [`crate::adjoint::Adjoint`] on the heap.
pub type Adjoint<S, T = f32> = crate::adjoint::Adjoint<T, S, Box<[T]>>;

/// [`crate::FeedbackAlignment`] with its matrices on the heap.
pub type FeedbackAlignment<S, T = f32> = crate::FeedbackAlignment<T, S, Box<[T]>>;

/// [`crate::DirectFeedbackAlignment`] with its matrices on the heap.
pub type DirectFeedbackAlignment<S, T = f32> = crate::DirectFeedbackAlignment<T, S, Box<[T]>>;

/// [`crate::RandomSignSymmetric`] with its magnitudes on the heap.
pub type RandomSignSymmetric<S, T = f32> = crate::RandomSignSymmetric<T, S, Box<[T]>>;
