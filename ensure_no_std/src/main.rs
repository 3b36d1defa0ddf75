//! Proves that `metaplasticity` works without std by linking it into a
//! static x86_64 Linux binary with no C runtime (`_start`, system calls and
//! `mem*` in [`rt`]). A dependency on std fails the link with a duplicate
//! `panic_impl` lang item.
//!
//! The program then does what firmware would: the `64-32-16-10` network with
//! its weights and feedback matrices in `static` memory and its activity on
//! the stack learns online, with `F^bio` and feedback alignment, to classify
//! noisy copies of ten random prototypes. It exits 0 if every step succeeded,
//! the training loss fell and the test accuracy rose well above chance, and
//! if a NaN input is rejected with the weights untouched; 1 otherwise; 101 on
//! a panic.

#![no_std]
#![no_main]
// Keeps LLVM from compiling the `mem*` loops of `rt` into calls to themselves.
#![no_builtins]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
compile_error!("ensure_no_std is a link check for x86_64 Linux only");

mod out;
mod rt;

use core::sync::atomic::{AtomicBool, Ordering};

use metaplasticity::init::{index, standard_normal, unit};
use metaplasticity::{
    Activity, Error, FeedbackAlignment, FeedbackPathway, FixedShape, Init, Network, Rule, shape, step,
};
use out::say;
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::SeedableRng;

/// The network: 64 inputs, hidden layers of 32 and 16 units, 10 classes.
type Tiny = shape![64, 32, 16, 10];

const CLASSES: usize = Tiny::OUTPUT;
const INPUT: usize = Tiny::INPUT;
/// Seeds of the network and feedback, of the prototypes, of the training
/// stream and of the (fixed) test set.
const NET_SEED: u64 = 1;
const TASK_SEED: u64 = 2;
const TRAIN_SEED: u64 = 3;
const TEST_SEED: u64 = 4;
/// Standard deviation of the pixel noise around a prototype.
const NOISE: f64 = 0.25;
/// Online steps (one sample each) and the window the loss is averaged over.
const STEPS: usize = 3000;
const WINDOW: usize = 250;
/// Size of the test set.
const TEST: usize = 500;
/// `F^bio = {F^0, F^2, F^9}` with only the pseudo-gradient switched on.
const THETAS: [f32; 3] = [0.05, 0.0, 0.0];

// Weights and feedback matrices live in `.bss`, as in firmware.
static mut WEIGHTS: [f32; Tiny::WEIGHTS] = [0.0; Tiny::WEIGHTS];
static mut FEEDBACK: [f32; Tiny::WEIGHTS] = [0.0; Tiny::WEIGHTS];
static TAKEN: AtomicBool = AtomicBool::new(false);

/// The two static buffers, handed out at most once.
#[allow(clippy::type_complexity)]
fn static_buffers() -> Option<(&'static mut [f32; Tiny::WEIGHTS], &'static mut [f32; Tiny::WEIGHTS])> {
    if TAKEN.swap(true, Ordering::AcqRel) {
        return None;
    }
    let (w, b) = (&raw mut WEIGHTS, &raw mut FEEDBACK);
    // SAFETY: `TAKEN` lets this line run at most once in the life of the
    // process, so these are the only references ever made to the two
    // statics, which nothing else names.
    unsafe { Some((&mut *w, &mut *b)) }
}

/// Ten random binary prototypes; a sample is a prototype plus Gaussian
/// pixel noise, clamped to `[0, 1]` like image pixels.
struct Task {
    prototypes: [[f32; INPUT]; CLASSES],
}

impl Task {
    fn new(rng: &mut Xoshiro256PlusPlus) -> Self {
        let mut prototypes = [[0.0; INPUT]; CLASSES];
        for p in prototypes.iter_mut().flatten() {
            *p = if unit(rng) < 0.5 { 0.0 } else { 1.0 };
        }
        Task { prototypes }
    }

    /// Draws a sample into `x` and returns its label.
    fn sample(&self, rng: &mut Xoshiro256PlusPlus, x: &mut [f32; INPUT]) -> usize {
        let label = index(rng, CLASSES);
        for (xi, &pi) in x.iter_mut().zip(&self.prototypes[label]) {
            *xi = (pi + (NOISE * standard_normal(rng)) as f32).clamp(0.0, 1.0);
        }
        label
    }
}

/// Correct predictions on the fixed test set (the same samples every call).
fn test_hits<W, A>(net: &Network<f32, Tiny, W>, act: &mut Activity<f32, Tiny, A>, task: &Task) -> Result<usize, Error>
where
    W: metaplasticity::Storage<f32>,
    A: metaplasticity::Storage<f32>,
{
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(TEST_SEED);
    let mut x = [0.0; INPUT];
    let mut hits = 0;
    for _ in 0..TEST {
        let label = task.sample(&mut rng, &mut x);
        if net.forward(&x, act)? == label {
            hits += 1;
        }
    }
    Ok(hits)
}

/// Percent with one decimal, in integers (no float formatting needed, but
/// it would work too).
fn percent(hits: usize, of: usize) -> (usize, usize) {
    let per_mille = (hits * 1000 + of / 2) / of;
    (per_mille / 10, per_mille % 10)
}

/// Trains and checks; `Ok(true)` if every check passed.
fn run() -> Result<bool, Error> {
    let Some((weights, feedback)) = static_buffers() else {
        say!("static buffers already taken");
        return Ok(false);
    };
    let mut activity = [0.0f32; Tiny::ACTIVITY];

    let mut rng = Xoshiro256PlusPlus::seed_from_u64(NET_SEED);
    let mut net = Network::<f32, Tiny, _>::new(&mut weights[..])?;
    net.init(&mut rng, Init::XavierUniform);
    let mut fa = FeedbackAlignment::<f32, Tiny, _>::new(&mut feedback[..])?;
    fa.reinit(&mut rng, Init::XavierUniform);
    let mut rule = Rule::<f32>::bio();
    rule.set_thetas(&THETAS)?;
    let mut act = Activity::<f32, Tiny, _>::new(&mut activity[..])?;

    let task = Task::new(&mut Xoshiro256PlusPlus::seed_from_u64(TASK_SEED));
    say!(
        "ensure_no_std: {}-{}-{}-{} network ({} weights, {} activity entries), \
         rule F^bio theta = {:?}, pathway {}",
        Tiny::WIDTHS[0],
        Tiny::WIDTHS[1],
        Tiny::WIDTHS[2],
        Tiny::WIDTHS[3],
        Tiny::WEIGHTS,
        Tiny::ACTIVITY,
        THETAS,
        FeedbackPathway::<f32, Tiny>::name(&fa),
    );

    let before = test_hits(&net, &mut act, &task)?;
    let (p, d) = percent(before, TEST);
    say!("before training: test accuracy {p}.{d}% (chance 10%)");

    let mut rng = Xoshiro256PlusPlus::seed_from_u64(TRAIN_SEED);
    let mut x = [0.0; INPUT];
    let (mut window_loss, mut window_hits) = (0.0f32, 0usize);
    let (mut first_loss, mut last_loss) = (f32::NAN, f32::NAN);
    for t in 1..=STEPS {
        let label = task.sample(&mut rng, &mut x);
        let outcome = step(&mut net, &fa, &rule, &mut act, &x, label)?;
        window_loss += outcome.loss;
        window_hits += usize::from(outcome.prediction == label);
        if t % WINDOW == 0 {
            let mean = window_loss / WINDOW as f32;
            let (p, d) = percent(window_hits, WINDOW);
            say!("step {t:5}: mean loss {mean:.4}, online accuracy {p}.{d}%");
            if t == WINDOW {
                first_loss = mean;
            }
            last_loss = mean;
            (window_loss, window_hits) = (0.0, 0);
        }
    }

    let after = test_hits(&net, &mut act, &task)?;
    let (p, d) = percent(after, TEST);
    say!("after training: test accuracy {p}.{d}%");

    // The error path: a NaN input is rejected and the weights are untouched.
    let mut saved = [0.0f32; Tiny::WEIGHTS];
    saved.copy_from_slice(net.as_slice());
    x[7] = f32::NAN;
    let nan = step(&mut net, &fa, &rule, &mut act, &x, 0);
    let unchanged = net.as_slice().iter().zip(&saved).all(|(a, b)| a.to_bits() == b.to_bits());
    match nan {
        Err(e) => say!("NaN input: rejected ({e}), weights unchanged: {unchanged}"),
        Ok(o) => say!("NaN input: accepted (loss {:?})", o.loss),
    }

    let learned = last_loss < 0.5 * first_loss;
    let above_chance = after > before && after * CLASSES > 5 * TEST;
    let nan_rejected = matches!(nan, Err(Error::NonFiniteInput { index: 7 })) && unchanged;
    say!(
        "checks: loss fell ({first_loss:.4} -> {last_loss:.4}): {learned}; \
         accuracy above chance: {above_chance}; NaN rejected: {nan_rejected}"
    );
    Ok(learned && above_chance && nan_rejected)
}

/// The program; its result is the exit status.
fn main() -> i32 {
    match run() {
        Ok(true) => {
            say!("ensure_no_std: ok");
            0
        }
        Ok(false) => {
            say!("ensure_no_std: FAILED");
            1
        }
        Err(e) => {
            say!("ensure_no_std: FAILED with error: {e}");
            1
        }
    }
}
