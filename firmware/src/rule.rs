//! Meta-learned coefficients of `F^bio = {F^0, F^2, F^9}` for the firmware's
//! `64-32-16-10` network. GENERATED, do not edit; reproduce with
//!
//! ```text
//! cargo run --release --manifest-path firmware/learn_rule/Cargo.toml
//! ```
//!
//! Meta-training: feedback alignment, 5-way tasks of the shipped optdigits
//! (K = 50 training and Q = 10 query digits per class), 400 episodes, seed 0,
//! Adam lr 3e-3, starting from theta_0 = 0.01 and the other coefficients zero;
//! `F^0` alone meta-trained alongside on the same tasks (episodes skipped because
//! they diverged: `F^bio` 0, `F^0` 0). Tasks are drawn from
//! the 1397 digits the firmware learns from; its 400 held-out digits are never seen.
//! Mean meta-accuracy (chance 0.20), last 100 episodes: `F^bio` 0.835,
//! `F^0` 0.567; all episodes: `F^bio` 0.833, `F^0` 0.566.
//!
//! The firmware's protocol on the host (f32; held-out accuracy in percent after
//! 0, 200, 400, ... of 1397 digits, 400 held out):
//! `F^bio` 11.3, 32.0, 44.8, 63.0, 71.8, 58.3, 60.3, 74.3;
//! `F^0` 11.3, 21.8, 36.3, 51.0, 61.0, 56.8, 63.5, 65.8.
//! Final held-out accuracy over 20 other seeds of the network and of the order:
//! `F^bio` mean 73.2% (min 47.8%, 19/20 above 50%),
//! `F^0` mean 65.9% (min 44.8%, 19/20 above 50%).

/// `Theta = (theta_0, theta_2, theta_9)` of `F^bio`.
pub const THETA: [f32; 3] = [0.040156383, -0.11290479, 0.024536671];

/// `theta_0` of `F^0` alone, meta-trained the same way (for comparison).
pub const THETA_F0: [f32; 1] = [0.037678737];
