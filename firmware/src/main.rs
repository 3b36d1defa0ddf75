//! On-device learning on a Cortex-M4F: the `64-32-16-10` network learns to
//! read 8x8 handwritten digits online, one digit at a time, with the
//! meta-learned plasticity rule `F^bio = {F^0, F^2, F^9}` (coefficients in
//! [`rule`], from `learn_rule/`) through fixed random feedback (feedback
//! alignment), and proves it: after every 200 digits it prints its accuracy
//! on 400 held-out digits through semihosting, and it exits with success
//! only if the final held-out accuracy is above 50% (chance: 10%).
//!
//! Everything is static: weights, feedback matrices and activity in `.bss`,
//! the 1,797 optdigits (uncompressed IDX, `data/`) in flash, no allocator.
//! The stack is painted at reset (cortex-m-rt's `paint-stack`) and its
//! high-water mark is reported at the end, with the cost of a learning step
//! (DWT cycle counter where it counts, otherwise SysTick ticks).
//!
//! `cargo run --release` runs it in QEMU (`mps2-an386`, see `.cargo/config.toml`).

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

mod protocol;
// One of `THETA` (F^bio, default) and `THETA_F0` (feature `f0`) is used.
#[allow(dead_code)]
mod rule;

use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::{DWT, SYST};
use cortex_m_rt::{ExceptionFrame, entry, exception};
use cortex_m_semihosting::debug::{self, EXIT_FAILURE, EXIT_SUCCESS};
use cortex_m_semihosting::hprintln;
use metaplasticity::idx::{Dataset, parse_images, parse_labels};
use metaplasticity::{Activity, Error, FeedbackAlignment, FixedShape, Network, Rule, Shape};
use protocol::{Progress, StepTimer, Tiny};

/// The shipped optdigits, uncompressed (written by `learn_rule`): 1,797
/// images of 8x8 bytes and their labels, in flash.
const IMAGES_LEN: usize = include_bytes!("../data/images-idx3-ubyte").len();
const LABELS_LEN: usize = include_bytes!("../data/labels-idx1-ubyte").len();
static OPTDIGITS_IMAGES: [u8; IMAGES_LEN] = *include_bytes!("../data/images-idx3-ubyte");
static OPTDIGITS_LABELS: [u8; LABELS_LEN] = *include_bytes!("../data/labels-idx1-ubyte");

// The learner's state, in `.bss` (zeroed at reset, never on the stack).
static mut WEIGHTS: [f32; Tiny::WEIGHTS] = [0.0; Tiny::WEIGHTS];
static mut FEEDBACK: [f32; Tiny::WEIGHTS] = [0.0; Tiny::WEIGHTS];
static mut ACTIVITY: [f32; Tiny::ACTIVITY] = [0.0; Tiny::ACTIVITY];
static mut ORDER: [u16; protocol::SAMPLES] = [0; protocol::SAMPLES];
static TAKEN: AtomicBool = AtomicBool::new(false);

/// The static buffers: weights, feedback, activity, order of the digits.
struct Buffers {
    weights: &'static mut [f32; Tiny::WEIGHTS],
    feedback: &'static mut [f32; Tiny::WEIGHTS],
    activity: &'static mut [f32; Tiny::ACTIVITY],
    order: &'static mut [u16; protocol::SAMPLES],
}

/// Hands out the static buffers, at most once.
fn buffers() -> Option<Buffers> {
    if TAKEN.swap(true, Ordering::AcqRel) {
        return None;
    }
    let (w, b, a, o) = (&raw mut WEIGHTS, &raw mut FEEDBACK, &raw mut ACTIVITY, &raw mut ORDER);
    // SAFETY: `TAKEN` lets this line run at most once, so these are the only
    // references ever made to the four statics, which nothing else names.
    unsafe { Some(Buffers { weights: &mut *w, feedback: &mut *b, activity: &mut *a, order: &mut *o }) }
}

/// What counts the cost of a learning step: the DWT cycle counter when it
/// counts (real Cortex-M4 parts), otherwise SysTick on the core clock (QEMU
/// models no DWT; its SysTick follows QEMU's virtual clock: host time, or
/// executed instructions under `-icount`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Counter {
    Cycles,
    SysTick,
}

/// Bytes below the caller's stack pointer painted before each learning
/// step, to measure how deep the step itself goes.
const STEP_STACK_WINDOW: usize = 4096;

/// Times each learning step and measures its stack depth.
struct Clock {
    counter: Counter,
    start: u32,
    /// Stack pointer when the step was started, and the deepest any step
    /// went, in bytes from the top of the stack.
    sp: usize,
    step_stack: usize,
}

impl Clock {
    fn new(mut core: cortex_m::Peripherals) -> Self {
        core.DCB.enable_trace();
        core.DWT.enable_cycle_counter();
        let before = DWT::cycle_count();
        for _ in 0..1000 {
            cortex_m::asm::nop();
        }
        let counter = if DWT::cycle_count() != before {
            Counter::Cycles
        } else {
            let mut syst = core.SYST;
            syst.set_clock_source(SystClkSource::Core);
            syst.set_reload(0x00FF_FFFF);
            syst.clear_current();
            syst.enable_counter();
            Counter::SysTick
        };
        Clock { counter, start: 0, sp: 0, step_stack: 0 }
    }

    fn now(&self) -> u32 {
        match self.counter {
            Counter::Cycles => DWT::cycle_count(),
            Counter::SysTick => SYST::get_current(),
        }
    }

    fn since(&self, start: u32) -> u32 {
        match self.counter {
            Counter::Cycles => DWT::cycle_count().wrapping_sub(start),
            // A 24-bit down-counter: one step takes far less than 2^24 ticks.
            Counter::SysTick => start.wrapping_sub(SYST::get_current()) & 0x00FF_FFFF,
        }
    }

    /// Ticks taken by [`CALIBRATION_INSTRUCTIONS`] instructions: a loop of
    /// `subs` and `bne`, two instructions per iteration. Under QEMU's
    /// `-icount` this gives the exact ratio of ticks to executed
    /// instructions; on hardware, cycles of that loop.
    fn calibrate(&mut self) -> u32 {
        let n: u32 = CALIBRATION_INSTRUCTIONS / 2;
        let start = self.now();
        // SAFETY: the loop only counts a scratch register down to zero; it
        // touches no memory and clobbers the flags, which `asm!` assumes
        // unless told `preserves_flags`.
        unsafe {
            core::arch::asm!(
                "2:",
                "subs {n}, {n}, #1",
                "bne 2b",
                n = inout(reg) n => _,
                options(nomem, nostack),
            );
        }
        self.since(start)
    }

    fn unit(&self) -> &'static str {
        match self.counter {
            Counter::Cycles => "cycles (DWT CYCCNT)",
            Counter::SysTick => "SysTick ticks (core clock; DWT CYCCNT does not count here)",
        }
    }

    fn name(&self) -> &'static str {
        match self.counter {
            Counter::Cycles => "dwt_cycles",
            Counter::SysTick => "systick_ticks",
        }
    }
}

impl StepTimer for Clock {
    fn start(&mut self) {
        // Paint the window below the stack pointer (free memory: no
        // interrupt is enabled, so nothing else uses it), then start the
        // counter, so that painting is not timed.
        let sp = cortex_m::register::msp::read() as usize & !3;
        let bottom = sp.saturating_sub(STEP_STACK_WINDOW).max(stack_region().0);
        let mut p = bottom;
        while p < sp {
            // SAFETY: `bottom..sp` is word aligned, inside the stack region
            // and below the live stack, which no one reads or writes while
            // this runs (no interrupts); writing it cannot disturb any frame.
            unsafe { core::ptr::write_volatile(p as *mut u32, cortex_m_rt::STACK_PAINT_VALUE) };
            p += 4;
        }
        self.sp = sp;
        self.start = self.now();
    }

    fn stop(&mut self) -> u32 {
        let ticks = self.since(self.start);
        let bottom = self.sp.saturating_sub(STEP_STACK_WINDOW).max(stack_region().0);
        let deepest = painted_up_to(bottom, self.sp);
        self.step_stack = self.step_stack.max(stack_region().1 - deepest);
        ticks
    }
}

/// Instructions executed by [`Clock::calibrate`] (the loop's single
/// `subs`/`bne` pair per iteration; the few instructions around it are
/// below the resolution of the timers).
const CALIBRATION_INSTRUCTIONS: u32 = 1 << 19;

/// A float printed with 4 decimals using integer arithmetic only (keeps
/// `core`'s float formatting out of the flash).
struct Fixed(f32);

impl fmt::Display for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.0.is_finite() {
            return f.write_str("non-finite");
        }
        // Round half away from zero (`as` truncates towards zero, saturating).
        let half = if self.0 < 0.0 { -0.5 } else { 0.5 };
        let rounded = (self.0 * 10_000.0 + half) as i64;
        let sign = if rounded < 0 { "-" } else { "" };
        let a = rounded.unsigned_abs();
        write!(f, "{sign}{}.{:04}", a / 10_000, a % 10_000)
    }
}

/// Coefficients, each as a [`Fixed`].
struct Thetas<'a>(&'a [f32]);

impl fmt::Display for Thetas<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, &t) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}", Fixed(t))?;
        }
        f.write_str("]")
    }
}

/// The rule the firmware learns with.
#[cfg(not(feature = "f0"))]
fn the_rule() -> Result<(Rule<'static, f32, 3>, &'static str, &'static [f32]), Error> {
    let mut rule = Rule::<f32, 3>::bio();
    rule.set_thetas(&rule::THETA)?;
    Ok((rule, "F^bio = {F^0, F^2, F^9}", &rule::THETA))
}

/// The rule the firmware learns with (feature `f0`: `F^0` alone).
#[cfg(feature = "f0")]
fn the_rule() -> Result<(Rule<'static, f32, 1>, &'static str, &'static [f32]), Error> {
    let mut rule = Rule::<f32, 1>::fa();
    rule.set_thetas(&rule::THETA_F0)?;
    Ok((rule, "F^0 (pseudo-gradient alone)", &rule::THETA_F0))
}

/// The stack region of the linker script: `(lowest, top)` addresses.
fn stack_region() -> (usize, usize) {
    unsafe extern "C" {
        static _stack_start: u32;
        static _stack_end: u32;
    }
    ((&raw const _stack_end) as usize, (&raw const _stack_start) as usize)
}

/// The lowest address in `bottom..top` (word aligned) above which the paint
/// of cortex-m-rt is gone: everything from there up has been used.
fn painted_up_to(bottom: usize, top: usize) -> usize {
    let mut p = bottom;
    while p < top {
        // SAFETY: `bottom..top` lies in the stack region of the linker
        // script, word aligned (cortex-m-rt asserts it): readable RAM. A
        // volatile read observes only the paint or what a frame left there.
        let word = unsafe { core::ptr::read_volatile(p as *const u32) };
        if word != cortex_m_rt::STACK_PAINT_VALUE {
            break;
        }
        p += 4;
    }
    p
}

/// Peak stack use of the whole program so far (bytes), and the size of the
/// stack region: the stack is painted at reset (cortex-m-rt `paint-stack`).
fn stack_peak() -> (usize, usize) {
    let (bottom, top) = stack_region();
    (top - painted_up_to(bottom, top), top - bottom)
}

/// Learns and reports; `Ok(true)` if the final held-out accuracy passes.
fn run() -> Result<bool, Error> {
    let Some(buf) = buffers() else {
        hprintln!("static buffers already taken");
        return Ok(false);
    };
    let core = cortex_m::Peripherals::take();
    let Some(core) = core else {
        hprintln!("core peripherals already taken");
        return Ok(false);
    };
    let mut clock = Clock::new(core);

    let data = Dataset::new(parse_images(&OPTDIGITS_IMAGES)?, parse_labels(&OPTDIGITS_LABELS)?, Tiny::OUTPUT)?;
    if data.len() != protocol::SAMPLES || data.pixels() != Tiny::INPUT {
        hprintln!("unexpected data: {} digits of {} pixels", data.len(), data.pixels());
        return Ok(false);
    }
    let mut net = Network::<f32, Tiny, _>::new(&mut buf.weights[..])?;
    let mut fa = FeedbackAlignment::<f32, Tiny, _>::new(&mut buf.feedback[..])?;
    let mut act = Activity::<f32, Tiny, _>::new(&mut buf.activity[..])?;
    protocol::init(&mut net, &mut fa);
    protocol::shuffle(&mut buf.order[..]);
    let (rule, name, thetas) = the_rule()?;

    hprintln!(
        "metaplasticity on a Cortex-M4F: {}-{}-{}-{} network ({} weights), rule {} with Theta = {}, \
         feedback alignment",
        Tiny::default().width(0),
        Tiny::default().width(1),
        Tiny::default().width(2),
        Tiny::default().width(3),
        Tiny::WEIGHTS,
        name,
        Thetas(thetas),
    );
    hprintln!(
        "optdigits 8x8: {} digits learned once each, online, {} held out; timing in {}",
        protocol::TRAIN,
        protocol::TEST,
        clock.unit()
    );

    let (mut steps, mut ticks, mut max_ticks) = (0usize, 0u64, 0u32);
    let report = |p: &Progress| {
        let (tp, td) = protocol::percent(p.test_hits, protocol::TEST);
        if p.block_len == 0 {
            hprintln!("digits {:4}: held-out accuracy {:2}.{}% (chance 10%)", p.seen, tp, td);
            return;
        }
        let (op, od) = protocol::percent(p.block_hits, p.block_len);
        let per_step = p.block_ticks / p.block_len as u64;
        hprintln!(
            "digits {:4}: held-out accuracy {:2}.{}% | last {} digits: online {:2}.{}%, mean loss {}, {} ticks/step",
            p.seen,
            tp,
            td,
            p.block_len,
            op,
            od,
            Fixed(p.block_loss / p.block_len as f32),
            per_step
        );
        steps += p.block_len;
        ticks += p.block_ticks;
        max_ticks = max_ticks.max(p.max_step_ticks);
    };
    // Feature `profile`: learning steps only (tools/firmware_profile.py).
    let evaluate = !cfg!(feature = "profile");
    let final_hits =
        protocol::run(&mut net, &fa, &rule, &mut act, &data, &buf.order[..], evaluate, &mut clock, report)?;

    let calibration = clock.calibrate();
    let (tp, td) = protocol::percent(final_hits, protocol::TEST);
    let (peak, region) = stack_peak();
    hprintln!("final held-out accuracy: {}.{}% ({} of {})", tp, td, final_hits, protocol::TEST);
    hprintln!(
        "learning step: {} {} on average over {} steps (max {})",
        ticks / steps.max(1) as u64,
        clock.unit(),
        steps,
        max_ticks
    );
    hprintln!(
        "stack: peak {} bytes of {} (whole program, printing included; painted at reset); \
         learning steps reach {} bytes deep",
        peak,
        region,
        clock.step_stack
    );
    // Machine-readable lines for tools/footprint.sh.
    hprintln!("metric stack_peak_bytes {}", peak);
    hprintln!("metric step_stack_bytes {}", clock.step_stack);
    hprintln!("metric step_{}_total {}", clock.name(), ticks);
    hprintln!("metric steps {}", steps);
    hprintln!("metric calibration_{}_per_{}_instructions {}", clock.name(), CALIBRATION_INSTRUCTIONS, calibration);
    hprintln!("metric final_test_hits {} of {}", final_hits, protocol::TEST);
    Ok(protocol::passes(final_hits))
}

#[entry]
fn main() -> ! {
    let pass = match run() {
        Ok(true) => {
            hprintln!("PASS: learned (held-out accuracy above {}%)", protocol::PASS_PER_MILLE / 10);
            true
        }
        Ok(false) => {
            hprintln!("FAIL: held-out accuracy not above {}%", protocol::PASS_PER_MILLE / 10);
            false
        }
        Err(e) => {
            hprintln!("FAIL: {}", e);
            false
        }
    };
    debug::exit(if pass { EXIT_SUCCESS } else { EXIT_FAILURE });
    loop {
        cortex_m::asm::bkpt();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    hprintln!("panicked: {}", info);
    debug::exit(EXIT_FAILURE);
    loop {
        cortex_m::asm::bkpt();
    }
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    hprintln!("hard fault at pc {:#010x}", frame.pc());
    debug::exit(EXIT_FAILURE);
    loop {
        cortex_m::asm::bkpt();
    }
}
