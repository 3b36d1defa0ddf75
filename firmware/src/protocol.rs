//! The on-device learning protocol, shared by the firmware and by the host
//! program `learn_rule` (which includes this file with `#[path]`), so that
//! the host can predict what the firmware will print.
//!
//! The 1,797 shipped optdigits are shuffled once (seed [`ORDER_SEED`]); the
//! first [`TEST`] are held out, the other [`TRAIN`] are presented once, one
//! at a time, to the `64-32-16-10` network, which learns from each with the
//! rule through feedback alignment. After every [`BLOCK`] samples (and
//! before the first) the held-out accuracy is measured.
//!
//! No heap, no floating-point formatting: everything reported is an integer.

use metaplasticity::idx::Dataset;
use metaplasticity::online::{correct, learn};
use metaplasticity::{Activity, Error, FeedbackAlignment, FeedbackPathway, Init, Network, Rule, Storage};
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::SeedableRng;

/// The network: 64 inputs (8x8 pixels), hidden layers of 32 and 16 units,
/// 10 classes.
pub type Tiny = metaplasticity::shape![64, 32, 16, 10];

/// Digits in the shipped optdigits set.
pub const SAMPLES: usize = 1797;
/// Held-out digits (never learned from).
pub const TEST: usize = 400;
/// Digits learned from, once each.
pub const TRAIN: usize = SAMPLES - TEST;
/// Held-out accuracy is reported after every `BLOCK` learned digits.
pub const BLOCK: usize = 200;
/// Seed of the initial forward weights and of the fixed feedback matrices.
pub const NET_SEED: u64 = 1;
/// Seed of the order of the digits (and so of the held-out split).
pub const ORDER_SEED: u64 = 2;
/// The run passes when the final held-out accuracy exceeds this (per mille;
/// chance is 100).
pub const PASS_PER_MILLE: usize = 500;

/// Measures the cost of one learning step, in whatever unit the platform
/// has (cycles, timer ticks, nanoseconds).
pub trait StepTimer {
    /// Starts a measurement.
    fn start(&mut self);
    /// Ticks since [`StepTimer::start`].
    fn stop(&mut self) -> u32;
}

/// What happened during one block of learning steps, and the held-out
/// accuracy after it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Progress {
    /// Digits learned from so far.
    pub seen: usize,
    /// Held-out digits classified correctly after them (out of [`TEST`]).
    pub test_hits: usize,
    /// Digits in this block (0 for the report before learning).
    pub block_len: usize,
    /// Of them, predicted correctly before learning from them (online accuracy).
    pub block_hits: usize,
    /// Their summed cross-entropy, before learning from them.
    pub block_loss: f32,
    /// Timer ticks of their learning steps, summed.
    pub block_ticks: u64,
    /// Most timer ticks of one learning step in this block.
    pub max_step_ticks: u32,
}

/// `(whole, tenth)` of a percentage of `hits` out of `of`, rounded.
pub fn percent(hits: usize, of: usize) -> (usize, usize) {
    let per_mille = (hits * 1000 + of / 2) / of.max(1);
    (per_mille / 10, per_mille % 10)
}

/// Whether a final held-out score passes.
pub fn passes(test_hits: usize) -> bool {
    test_hits * 1000 > PASS_PER_MILLE * TEST
}

/// Draws the initial weights and the fixed feedback matrices (Xavier-uniform,
/// seed [`NET_SEED`]).
pub fn init<W: Storage<f32>, B: Storage<f32>>(
    net: &mut Network<f32, Tiny, W>,
    fa: &mut FeedbackAlignment<f32, Tiny, B>,
) {
    init_seeded(net, fa, NET_SEED);
}

/// [`init`] with another seed.
pub fn init_seeded<W: Storage<f32>, B: Storage<f32>>(
    net: &mut Network<f32, Tiny, W>,
    fa: &mut FeedbackAlignment<f32, Tiny, B>,
    seed: u64,
) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    net.init(&mut rng, Init::XavierUniform);
    fa.reinit(&mut rng, Init::XavierUniform);
}

/// Fills `order` with `0 .. order.len()` in random order (seed
/// [`ORDER_SEED`], Fisher-Yates).
pub fn shuffle(order: &mut [u16]) {
    shuffle_seeded(order, ORDER_SEED);
}

/// [`shuffle`] with another seed.
pub fn shuffle_seeded(order: &mut [u16], seed: u64) {
    for (i, o) in order.iter_mut().enumerate() {
        // SAMPLES < 2^16.
        *o = i as u16;
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    for i in (1..order.len()).rev() {
        let j = metaplasticity::init::index(&mut rng, i + 1);
        order.swap(i, j);
    }
}

/// The protocol: held-out accuracy before learning, then one online pass over
/// the training digits of `order` (from [`shuffle`]), reporting after every
/// block. Returns the final held-out hits (out of [`TEST`]). With `evaluate`
/// false the held-out digits are never classified (their hits stay 0): the
/// run is then only learning steps, for `tools/firmware_profile.py`.
#[allow(clippy::too_many_arguments)]
pub fn run<W, B, A, Tm, const N: usize>(
    net: &mut Network<f32, Tiny, W>,
    fa: &FeedbackAlignment<f32, Tiny, B>,
    rule: &Rule<'_, f32, N>,
    act: &mut Activity<f32, Tiny, A>,
    data: &Dataset<'_>,
    order: &[u16],
    evaluate: bool,
    timer: &mut Tm,
    mut report: impl FnMut(&Progress),
) -> Result<usize, Error>
where
    W: Storage<f32>,
    B: Storage<f32>,
    A: Storage<f32>,
    Tm: StepTimer,
{
    let (test, train) = order.split_at(TEST.min(order.len()));
    let held_out = || test.iter().take(if evaluate { test.len() } else { 0 }).map(|&i| usize::from(i));
    let mut progress = Progress { test_hits: correct(net, act, data, held_out())?, ..Progress::default() };
    report(&progress);
    for block in train.chunks(BLOCK) {
        progress = Progress { seen: progress.seen, ..Progress::default() };
        for &i in block {
            let i = usize::from(i);
            timer.start();
            let outcome = learn(net, fa, rule, act, data, i)?;
            let ticks = timer.stop();
            progress.block_ticks += u64::from(ticks);
            progress.max_step_ticks = progress.max_step_ticks.max(ticks);
            progress.block_loss += outcome.loss;
            progress.block_hits += usize::from(data.label(i).map(usize::from) == Some(outcome.prediction));
        }
        progress.block_len = block.len();
        progress.seen += block.len();
        progress.test_hits = correct(net, act, data, held_out())?;
        report(&progress);
    }
    Ok(progress.test_hits)
}
