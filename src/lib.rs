#![no_std]
#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

#[cfg(not(any(feature = "std", feature = "libm")))]
compile_error!(
    "metaplasticity needs `std` (default) or `libm` for its maths: \
     build with `--no-default-features --features libm` for no_std targets"
);

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod real;

pub use real::Real;
