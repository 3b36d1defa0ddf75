//! A proof, checked by the linker, that the online step, its adjoint and the
//! rule-file reader of `metaplasticity` cannot panic (docs/NO_PANIC.md).
//!
//! The binary has no std and no libc (runtime in [`rt`]). Its panic handler
//! calls `metaplasticity_panic_is_reachable`, a function that exists
//! nowhere: the release build (fat LTO, one codegen unit) links only if the
//! optimiser proved that no panic can be reached from anything the binary
//! calls. Every input is opaque to the optimiser (`black_box`, standard
//! input), so no call is specialised to the values used here and every
//! error path stays in the code.
//!
//! For the `64-32-16-10` network, in `f32` and in `f64`, it calls
//!
//! * [`step`] and [`step_loaded`] with `F^bio = {F^0, F^2, F^9}` through
//!   feedback alignment,
//! * [`step_adjoint`] of that step and [`loss_adjoint`] of the query loss,
//! * [`step`] and [`step_adjoint`] with `F^bio` through backprop and
//!   through direct feedback alignment,
//! * [`step_plastic`] and [`step_adjoint`] through Kolen-Pollack feedback
//!   (plastic matrices on caller storage, its own update after the step),
//! * [`step_plastic`] and [`step_adjoint`] through brSF (magnitudes
//!   redrawn at every step, no storage), after
//!   [`FeedbackPathway::set_state`] with a step counter the optimiser
//!   cannot see (the adjoints of plastic steps are taken at the pathway's
//!   new state: a link check, not a gradient),
//! * [`step`] and [`step_adjoint`] through feedback alignment for the same
//!   network as a run-time shape ([`Widths::new`] on widths the optimiser
//!   cannot see, and the buffers' `with_shape` constructors),
//! * [`RuleFile::decode`] on the bytes of standard input (any bytes), then
//!   [`RuleFile::check_shape`] and [`RuleFile::rule`], and, if the file is
//!   accepted, [`step`] and [`step_adjoint`] with the decoded rule (whose
//!   terms can be any of the pool's `F^0 .. F^9`),
//!
//! and prints what each returned. `no_panic emit <pool|bio|other-shape>`
//! instead writes a rule file made by [`encode`] to standard output.
//!
//! Exit status: 0 if every call succeeded and the rule file was accepted
//! and used; 2 if the rule file was rejected (the reason is printed) and
//! everything else succeeded; 1 if a call failed on the binary's own valid
//! inputs; 3 on a usage error.

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
compile_error!("no_panic is a link check for x86_64 Linux only");

mod rt;

use core::hint::black_box;

use metaplasticity::adjoint::{Adjoint, loss_adjoint, step_adjoint};
use metaplasticity::deploy::{DeployError, RuleFile, encode};
use metaplasticity::step::{step_loaded, step_plastic};
use metaplasticity::{
    Activity, Backprop, DirectFeedbackAlignment, Error, FeedbackAlignment, FeedbackPathway, FixedShape, Init,
    KolenPollack, LayerSet, Network, Real, RedrawnSignSymmetric, Rule, Shape, Storage, Widths, shape, step, terms,
};

/// The network of the proof: 64 inputs, hidden layers of 32 and 16 units,
/// 10 classes (the firmware's).
type Tiny = shape![64, 32, 16, 10];
/// A shape the rule files of `emit other-shape` are made for.
type Other = shape![64, 16, 10];

/// The largest rule file read (a file of `deploy::MAX_TERMS` terms for a
/// network of `MAX_DEPTH` layers is 308 bytes); longer input is rejected.
const MAX_FILE: usize = 1024;
/// Exit statuses.
const OK: i32 = 0;
const FAILED: i32 = 1;
const REJECTED: i32 = 2;
const USAGE: i32 = 3;

fn say(s: &[u8]) {
    rt::write_all(1, s);
}

/// Writes `v` as 16 hex digits.
fn say_hex(v: u64) {
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        let nibble = (v >> (60 - 4 * i)) & 0xf;
        *o = b"0123456789abcdef".get(nibble as usize).copied().unwrap_or(b'?');
    }
    say(&out);
}

/// The name of a core error, for the report.
fn error_name(e: &Error) -> &'static [u8] {
    match e {
        Error::BufferLength { .. } => b"BufferLength",
        Error::LabelOutOfRange { .. } => b"LabelOutOfRange",
        Error::NonFiniteInput { .. } => b"NonFiniteInput",
        Error::NonFiniteTheta { .. } => b"NonFiniteTheta",
        Error::NonFiniteWeights { .. } => b"NonFiniteWeights",
        Error::NonFiniteSignal { .. } => b"NonFiniteSignal",
        Error::Diverged { .. } => b"Diverged",
        Error::InvalidBeta => b"InvalidBeta",
        Error::Data(_) => b"Data",
        Error::RuleFull { .. } => b"RuleFull",
        _ => b"other",
    }
}

/// The name of a rule-file error, for the report.
fn deploy_error_name(e: &DeployError) -> &'static [u8] {
    match e {
        DeployError::Truncated { .. } => b"Truncated",
        DeployError::TrailingBytes { .. } => b"TrailingBytes",
        DeployError::BadMagic => b"BadMagic",
        DeployError::Version { .. } => b"Version",
        DeployError::Checksum { .. } => b"Checksum",
        DeployError::UnknownTerm { .. } => b"UnknownTerm",
        DeployError::Shape { .. } => b"Shape",
        DeployError::TooManyTerms { .. } => b"TooManyTerms",
        DeployError::NonFinite => b"NonFinite",
        DeployError::BufferTooSmall { .. } => b"BufferTooSmall",
        _ => b"other",
    }
}

/// Prints ` name=ok` or ` name=<error>`; passes the result on.
fn report<V>(name: &[u8], r: Result<V, Error>) -> Result<V, Error> {
    say(b" ");
    say(name);
    match &r {
        Ok(_) => say(b"=ok"),
        Err(e) => {
            say(b"=");
            say(error_name(e));
        }
    }
    r
}

/// A xorshift generator for the binary's own inputs, seeded through
/// `black_box` so that the optimiser knows nothing about them.
struct Gen(u64);

impl Gen {
    /// Uniform in `[-1, 1)`.
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 * (2.0 / (1u64 << 53) as f64) - 1.0
    }

    /// Fills `m` with draws scaled by `a`.
    fn fill<T: Real>(&mut self, m: &mut [T], a: f64) {
        for v in m {
            *v = T::of(a * self.next());
        }
    }

    /// An image: pixels in `[0, 1]`, about a third of them black (zero).
    fn pixels<T: Real>(&mut self, x: &mut [T]) {
        for v in x {
            let u = self.next();
            *v = if u < -0.33 { T::zero() } else { T::of(0.5 + 0.5 * u) };
        }
    }
}

/// Copies `src` into `dst` (equal lengths here; never panics).
fn copy<T: Copy>(dst: &mut [T], src: &[T]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = s;
    }
}

/// XOR of the bits of every entry (consumes a buffer for the report).
fn digest<T: Real>(v: &[T]) -> u64 {
    v.iter().fold(0u64, |h, &x| h.rotate_left(5) ^ x.to_f64().to_bits())
}

/// One online step through `pathway` from the weights of `net` (saved into
/// `before`), then its adjoint into `wbar` and `thetabar`, each reported
/// under its name. With `plastic`, the step is [`step_plastic`] (the
/// weights' update, then the pathway's own) and the adjoint is taken at the
/// pathway's new state (a link check, not a gradient).
#[allow(clippy::too_many_arguments)]
fn step_with_adjoint<T: Real, S: Shape, P: FeedbackPathway<T, S>, B: Storage<T>>(
    names: [&[u8]; 2],
    net: &mut Network<T, S, B>,
    pathway: &mut P,
    plastic: bool,
    rule: &Rule<'_, T>,
    act: &mut Activity<T, S, B>,
    x: &[T],
    label: usize,
    (before, wbar, thetabar): (&mut [T], &mut [T], &mut [T]),
    adj: &mut Adjoint<T, S, B>,
) -> Result<(), Error> {
    copy(before, net.as_slice());
    let outcome = if plastic {
        step_plastic(net, pathway, rule, act, black_box(x), label)
    } else {
        step(net, &*pathway, rule, act, black_box(x), label)
    };
    black_box(report(names[0], outcome)?);
    let adjoint =
        step_adjoint(black_box(&*before), net.beta(), &*pathway, rule, act, black_box(wbar), black_box(thetabar), adj);
    report(names[1], adjoint)
}

/// Runs every covered call in scalar type `T`; `Ok(true)` if the rule file
/// was accepted and used, `Ok(false)` if it was rejected.
fn run<T: Real>(file: &[u8]) -> Result<bool, Error> {
    let mut g = Gen(black_box(0x9e37_79b9_7f4a_7c15));
    let mut weights = [T::zero(); Tiny::WEIGHTS];
    g.fill(&mut weights, 0.3);
    let mut feedback = [T::zero(); Tiny::WEIGHTS];
    g.fill(&mut feedback, 0.3);
    let mut x = [T::zero(); Tiny::INPUT];
    g.pixels(&mut x);
    let mut activity = [T::zero(); Tiny::ACTIVITY];
    let mut adjoint = [T::zero(); Tiny::ADJOINT];
    let mut before = [T::zero(); Tiny::WEIGHTS];
    let mut wbar = [T::zero(); Tiny::WEIGHTS];
    g.fill(&mut wbar, 1.0);
    let label = black_box(3usize);
    let thetas: [T; 3] = black_box([T::of(0.05), T::of(0.01), T::of(0.002)]);

    // Buffers handed over as opaque slices: their lengths are unknown to
    // the optimiser, so the constructors' checks stay live.
    let mut net = report(b"network", Network::<T, Tiny, _>::new(black_box(&mut weights[..])))?;
    let fa = report(b"feedback", FeedbackAlignment::<T, Tiny, _>::new(black_box(&mut feedback[..])))?;
    let mut act = report(b"activity", Activity::<T, Tiny, _>::new(black_box(&mut activity[..])))?;
    let mut adj = report(b"adjoint", Adjoint::<T, Tiny, _>::new(black_box(&mut adjoint[..])))?;
    let mut rule = Rule::<T>::bio();
    report(b"thetas", rule.set_thetas(black_box(&thetas[..])))?;

    // The online step with F^bio and feedback alignment, and its adjoint.
    copy(&mut before, net.as_slice());
    let outcome = report(b"step", step(&mut net, &fa, &rule, &mut act, black_box(&x[..]), label))?;
    say(b" loss=");
    say_hex(black_box(outcome.loss).to_f64().to_bits());
    let mut thetabar = [T::zero(); 3];
    report(
        b"step_adjoint",
        step_adjoint(
            black_box(&before[..]),
            net.beta(),
            &fa,
            &rule,
            &act,
            black_box(&mut wbar[..]),
            black_box(&mut thetabar[..]),
            &mut adj,
        ),
    )?;
    // The query loss at the new weights, and its adjoint.
    report(b"forward_label", net.forward_label(&mut act, label))?;
    report(b"loss_adjoint", loss_adjoint(net.as_slice(), &act, T::one(), black_box(&mut wbar[..]), &mut adj))?;
    // The step on an input written in place.
    copy(act.input_mut(), black_box(&x[..]));
    let outcome = report(b"step_loaded", step_loaded(&mut net, &fa, &rule, &mut act, black_box(label)))?;
    black_box(outcome);
    say(b" digest=");
    say_hex(digest(net.as_slice()) ^ digest(&wbar) ^ digest(&thetabar));

    // The same step and adjoint through the other two pathways.
    let mut direct = [T::zero(); Tiny::DIRECT];
    g.fill(&mut direct, 0.3);
    let mut dfa = report(b"direct", DirectFeedbackAlignment::<T, Tiny, _>::new(black_box(&mut direct[..])))?;
    let names = [&b"bp_step"[..], b"bp_step_adjoint"];
    let buffers = (&mut before[..], &mut wbar[..], &mut thetabar[..]);
    step_with_adjoint(names, &mut net, &mut Backprop, false, &rule, &mut act, &x, label, buffers, &mut adj)?;
    let names = [&b"dfa_step"[..], b"dfa_step_adjoint"];
    let buffers = (&mut before[..], &mut wbar[..], &mut thetabar[..]);
    step_with_adjoint(names, &mut net, &mut dfa, false, &rule, &mut act, &x, label, buffers, &mut adj)?;
    say(b" digest=");
    say_hex(digest(net.as_slice()) ^ digest(&wbar) ^ digest(&thetabar));

    // The same network as a run-time shape (`Widths`, from widths the
    // optimiser cannot see): the step and its adjoint through feedback
    // alignment, on copies of the weights and feedback.
    let shape = report(b"widths", Widths::new(black_box(&[64, 32, 16, 10][..])))?;
    let mut w_weights = [T::zero(); Tiny::WEIGHTS];
    copy(&mut w_weights, net.as_slice());
    let mut w_feedback = [T::zero(); Tiny::WEIGHTS];
    copy(&mut w_feedback, fa.as_slice());
    let mut w_activity = [T::zero(); Tiny::ACTIVITY];
    let mut w_adjoint = [T::zero(); Tiny::ADJOINT];
    let mut w_net = report(b"widths_network", Network::with_shape(shape, black_box(&mut w_weights[..])))?;
    let mut w_fa = report(b"widths_feedback", FeedbackAlignment::with_shape(shape, black_box(&mut w_feedback[..])))?;
    let mut w_act = report(b"widths_activity", Activity::with_shape(shape, black_box(&mut w_activity[..])))?;
    let mut w_adj = report(b"widths_adjoint", Adjoint::with_shape(shape, black_box(&mut w_adjoint[..])))?;
    let names = [&b"widths_step"[..], b"widths_step_adjoint"];
    let buffers = (&mut before[..], &mut wbar[..], &mut thetabar[..]);
    step_with_adjoint(names, &mut w_net, &mut w_fa, false, &rule, &mut w_act, &x, label, buffers, &mut w_adj)?;
    say(b" digest=");
    say_hex(digest(w_net.as_slice()) ^ digest(&wbar) ^ digest(&thetabar));

    // Plastic feedback (Kolen-Pollack) on caller storage: the plastic step
    // (the weights' update, then the feedback's own) and the step's adjoint
    // (Theta followed by eta_B and lambda_B).
    let mut kp_matrices = [T::zero(); Tiny::WEIGHTS];
    copy(&mut kp_matrices, fa.as_slice());
    let kp_params: [T; 2] = black_box([T::of(0.01), T::of(1e-4)]);
    let mut kp =
        report(b"kp", KolenPollack::<T, Tiny, _>::new(black_box(&mut kp_matrices[..]), kp_params[0], kp_params[1]))?;
    let mut kp_bar = [T::zero(); 5];
    let names = [&b"kp_step"[..], b"kp_step_adjoint"];
    let buffers = (&mut before[..], &mut wbar[..], &mut kp_bar[..]);
    step_with_adjoint(names, &mut net, &mut kp, true, &rule, &mut act, &x, label, buffers, &mut adj)?;
    say(b" digest=");
    say_hex(digest(net.as_slice()) ^ digest(kp.state()) ^ digest(&kp_bar));

    // brSF: no storage; its state, the step counter, set from a value the
    // optimiser cannot see, then the plastic step (which advances it).
    let mut brsf = RedrawnSignSymmetric::<T>::new(black_box(7), Init::XavierUniform);
    let counter: [T; 1] = black_box([T::of(41.0)]);
    report(b"brsf_state", FeedbackPathway::<T, Tiny>::set_state(&mut brsf, &counter[..]))?;
    let names = [&b"brsf_step"[..], b"brsf_step_adjoint"];
    let buffers = (&mut before[..], &mut wbar[..], &mut thetabar[..]);
    step_with_adjoint(names, &mut net, &mut brsf, true, &rule, &mut act, &x, label, buffers, &mut adj)?;
    say(b" digest=");
    say_hex(digest(net.as_slice()) ^ digest(FeedbackPathway::<T, Tiny>::state(&brsf)) ^ digest(&thetabar));

    // The rule file: any bytes.
    say(b" rule_file=");
    let decoded = RuleFile::decode(black_box(file))
        .and_then(|f| f.check_shape(&Tiny::default()).map(|()| f))
        .and_then(|f| f.rule::<T, 10>().map(|r| (f, r)));
    let (file, rule) = match decoded {
        Ok(fr) => fr,
        Err(e) => {
            say(deploy_error_name(&e));
            return Ok(false);
        }
    };
    say(b"ok");
    let mut net = report(b"beta", net.with_beta(T::of(f64::from(file.beta()))))?;
    copy(&mut before, net.as_slice());
    let outcome = report(b"file_step", step(&mut net, &fa, &rule, &mut act, black_box(&x[..]), label))?;
    black_box(outcome);
    let mut thetabar = [T::zero(); 10];
    let thetabar = thetabar.get_mut(..rule.len()).unwrap_or(&mut []);
    report(
        b"file_step_adjoint",
        step_adjoint(
            black_box(&before[..]),
            net.beta(),
            &fa,
            &rule,
            &act,
            black_box(&mut wbar[..]),
            thetabar,
            &mut adj,
        ),
    )?;
    say(b" digest=");
    say_hex(digest(net.as_slice()) ^ digest(&wbar) ^ digest(thetabar));
    Ok(true)
}

/// `no_panic emit <pool|bio|other-shape>`: a rule file on standard output.
fn emit(kind: &[u8]) -> i32 {
    let mut out = [0u8; MAX_FILE];
    let n = match kind {
        b"pool" => {
            let mut rule = Rule::<f32>::pool();
            let thetas = [0.02, 0.001, 0.002, 0.0005, 0.0005, 0.001, 0.0002, 0.0002, 0.0002, 0.002];
            if rule.set_thetas(&thetas).is_err() {
                return FAILED;
            }
            encode(&Tiny::default(), &rule, 10.0, &mut out)
        }
        b"bio" => {
            // F^2 on layer 2 only, so that the layer bits matter.
            let rule = Rule::<f32, 3>::new()
                .with(&terms::PseudoGradient, 0.05, LayerSet::ALL)
                .and_then(|r| r.with(&terms::ErrorHebb, -0.01, LayerSet::only(2)))
                .and_then(|r| r.with(&terms::Oja, 0.002, LayerSet::ALL));
            let Ok(rule) = rule else { return FAILED };
            encode(&Tiny::default(), &rule, 10.0, &mut out)
        }
        b"other-shape" => encode(&Other::default(), &Rule::<f32, 3>::bio(), 10.0, &mut out),
        _ => {
            say(b"usage: no_panic emit <pool|bio|other-shape>\n");
            return USAGE;
        }
    };
    match n {
        Ok(n) => {
            say(out.get(..n).unwrap_or(&[]));
            OK
        }
        Err(e) => {
            rt::write_all(2, deploy_error_name(&e));
            FAILED
        }
    }
}

/// The program; its result is the exit status.
fn main(args: &[&[u8]]) -> i32 {
    match args {
        [_, b"emit", kind] => return emit(kind),
        [_] => {}
        _ => {
            say(b"usage: no_panic < rule-file | no_panic emit <pool|bio|other-shape>\n");
            return USAGE;
        }
    }
    let mut buf = [0u8; MAX_FILE + 1];
    let Some(n) = rt::read_all(0, &mut buf) else {
        say(b"no_panic: cannot read standard input\n");
        return USAGE;
    };
    if n > MAX_FILE {
        say(b"no_panic: standard input is longer than any rule file\n");
        return USAGE;
    }
    let file = buf.get(..n).unwrap_or(&[]);
    say(b"f32:");
    let f32_run = run::<f32>(file);
    say(b"\nf64:");
    let f64_run = run::<f64>(file);
    let accepted = match (f32_run, f64_run) {
        (Ok(a), Ok(b)) => a && b,
        _ => {
            say(b"\nno_panic: FAILED (a call failed on valid inputs)\n");
            return FAILED;
        }
    };
    say(b"\n");
    if accepted {
        say(b"no_panic: ok\n");
        OK
    } else {
        say(b"no_panic: ok (rule file rejected)\n");
        REJECTED
    }
}
