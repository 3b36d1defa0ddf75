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
//! `F^0` 0.578; all episodes: `F^bio` 0.833, `F^0` 0.579.
//!
//! The firmware's protocol on the host (f32; held-out accuracy in percent after
//! 0, 200, 400, ... of 1397 digits, 400 held out):
//! `F^bio` 11.3, 36.3, 45.8, 68.5, 81.8, 64.5, 72.3, 77.3;
//! `F^0` 11.3, 22.3, 25.3, 33.0, 51.5, 31.5, 43.3, 50.5.
//! Final held-out accuracy over 20 other seeds of the network and of the order:
//! `F^bio` mean 75.5% (min 63.0%, 20/20 above 50%),
//! `F^0` mean 53.7% (min 32.8%, 14/20 above 50%).

/// `Theta = (theta_0, theta_2, theta_9)` of `F^bio`.
pub const THETA: [f32; 3] = [0.047764536, -0.07777242, 0.03460246];

/// `theta_0` of `F^0` alone, meta-trained the same way (for comparison).
pub const THETA_F0: [f32; 1] = [0.08065283];
