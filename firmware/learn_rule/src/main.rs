//! Host side of the firmware example (`firmware/`):
//!
//! 1. writes uncompressed copies of the shipped optdigits (IDX, as the
//!    firmware embeds them) into `firmware/data/`;
//! 2. meta-trains `F^bio = {F^0, F^2, F^9}` through feedback alignment for
//!    the firmware's `64-32-16-10` network on 5-way tasks drawn from them,
//!    alongside `F^0` alone meta-trained the same way (same tasks, weights and
//!    feedback), and writes the result to `firmware/src/rule.rs`;
//! 3. runs the firmware's protocol (`firmware/src/protocol.rs`, shared) on
//!    the host with both rules: what the firmware should print.
//!
//! `--sweep` tries a grid of Adam learning rates and starting `theta_0`
//! instead (nothing is written). `--time` instead times one learning step
//! of that network on the desktop with the coefficients already in
//! `firmware/src/rule.rs`, in microseconds and in streaming passes over its
//! 2,720 weights (`benches/common/pass.rs`, the unit the crate's benches
//! are also given in), each run of steps beside its own run of passes.

#[path = "../../../benches/common/pass.rs"]
mod pass;
#[allow(dead_code)]
#[path = "../../src/protocol.rs"]
mod protocol;
#[path = "../../src/rule.rs"]
mod rule;

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use metaplasticity::data::OwnedDataset;
use metaplasticity::idx::{Dataset, Images, Labels, parse_images, parse_labels};
use metaplasticity::meta::{Config, OnDivergence, Record, Sampling, TaskSpec, Trainer};
use metaplasticity::{Activity, FeedbackAlignment, FixedShape, Network, Rule};
use protocol::{Progress, StepTimer, Tiny};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// Settings of a run (command-line flags).
#[derive(Clone, Debug)]
struct Args {
    episodes: usize,
    seed: u64,
    lr: f64,
    theta0: f64,
    ways: usize,
    k: usize,
    q: usize,
    sweep: bool,
    time_only: bool,
    write: bool,
}

impl Default for Args {
    fn default() -> Self {
        Args {
            episodes: 400,
            seed: 0,
            lr: 3e-3,
            theta0: 0.01,
            ways: 5,
            k: 50,
            q: 10,
            sweep: false,
            time_only: false,
            write: true,
        }
    }
}

const HELP: &str = "\
learn_rule: meta-learns F^bio for the firmware's 64-32-16-10 network on the shipped optdigits

USAGE: cargo run --release --manifest-path firmware/learn_rule/Cargo.toml -- [OPTIONS]

OPTIONS:
  --episodes N   meta-training episodes (default 400)
  --seed S       seed of every draw of meta-training (default 0)
  --lr LR        Adam learning rate (default 3e-3)
  --theta0 T     starting theta_0 of both rules, the other coefficients start at 0 (default 0.01)
  --ways M       classes per task (default 5)
  --k K          training digits per class and task (default 50)
  --q Q          query digits per class and task (default 10)
  --sweep        try lr in {1e-3, 3e-3, 1e-2} x theta0 in {0.01, 0.02, 0.04}; writes nothing
  --time         only time one learning step (coefficients of firmware/src/rule.rs), also in passes
                 over the weights
  --no-write     do not write firmware/src/rule.rs and firmware/data/
  --help         this text";

fn parse_args() -> Result<Args> {
    let mut args = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--episodes" => args.episodes = value()?.parse()?,
            "--seed" => args.seed = value()?.parse()?,
            "--lr" => args.lr = value()?.parse()?,
            "--theta0" => args.theta0 = value()?.parse()?,
            "--ways" => args.ways = value()?.parse()?,
            "--k" => args.k = value()?.parse()?,
            "--q" => args.q = value()?.parse()?,
            "--sweep" => args.sweep = true,
            "--time" => args.time_only = true,
            "--no-write" => args.write = false,
            "--help" | "-h" => {
                println!("{HELP}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown option {other}\n\n{HELP}").into()),
        }
    }
    Ok(args)
}

/// `firmware/`, found from this program's manifest directory.
fn firmware_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// An IDX file of `count` images of `rows x cols` bytes.
fn idx_images(pixels: &[u8], count: usize, rows: usize, cols: usize) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, 3];
    for d in [count, rows, cols] {
        out.extend_from_slice(&u32::try_from(d).expect("IDX dimensions fit in u32").to_be_bytes());
    }
    out.extend_from_slice(pixels);
    out
}

/// An IDX file of labels.
fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, 1];
    out.extend_from_slice(&u32::try_from(labels.len()).expect("count fits in u32").to_be_bytes());
    out.extend_from_slice(labels);
    out
}

/// Writes `bytes` to `path` unless it already holds exactly them.
fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(true)
}

/// The uncompressed IDX files of the shipped optdigits: `(images, labels)`.
fn optdigits_idx(digits: &OwnedDataset) -> (Vec<u8>, Vec<u8>) {
    let view = digits.view();
    let images = view.images();
    (idx_images(images.as_bytes(), images.count(), images.rows(), images.cols()), idx_labels(view.labels().as_slice()))
}

/// The digits the firmware learns from (all but its held-out ones, see
/// `protocol::shuffle`): `(pixels, labels)`, for meta-training, so that the
/// held-out digits are never seen before the firmware tests on them.
fn training_split(data: &Dataset<'_>) -> (Vec<u8>, Vec<u8>) {
    let mut order = vec![0u16; data.len()];
    protocol::shuffle(&mut order);
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    for &i in &order[protocol::TEST..] {
        let i = usize::from(i);
        pixels.extend_from_slice(data.images().image(i).expect("index in range"));
        labels.push(data.label(i).expect("index in range"));
    }
    (pixels, labels)
}

/// Mean meta-accuracy of the records.
fn mean_accuracy(records: &[Record]) -> f64 {
    let ok: Vec<f64> = records.iter().filter(|r| r.ok).map(|r| r.accuracy).collect();
    ok.iter().sum::<f64>() / ok.len().max(1) as f64
}

fn mean_meta_loss(records: &[Record]) -> f64 {
    let ok: Vec<f64> = records.iter().filter(|r| r.ok).map(|r| r.meta_loss).collect();
    ok.iter().sum::<f64>() / ok.len().max(1) as f64
}

/// The result of meta-training both rules.
struct Meta {
    bio: Vec<Record>,
    f0: Vec<Record>,
    theta_bio: [f32; 3],
    theta_f0: [f32; 1],
    seconds: f64,
}

impl Meta {
    /// Episodes averaged for the reported meta-accuracy: the last 100 (or all).
    /// Episodes skipped because they diverged: `(F^bio, F^0)`.
    fn skipped(&self) -> (usize, usize) {
        (self.bio.iter().filter(|r| !r.ok).count(), self.f0.iter().filter(|r| !r.ok).count())
    }
    fn tail(&self) -> usize {
        self.bio.len().min(100)
    }
    fn tail_accuracy(&self) -> (f64, f64) {
        let n = self.tail();
        (mean_accuracy(&self.bio[self.bio.len() - n..]), mean_accuracy(&self.f0[self.f0.len() - n..]))
    }
}

/// Meta-trains `F^bio` and, on the same tasks, `F^0`.
fn meta_train(args: &Args, data: &Dataset<'_>, verbose: bool) -> Result<Meta> {
    let config = Config {
        task: TaskSpec { classes: args.ways, train: args.k, query: args.q, sampling: Sampling::Disjoint },
        lr: args.lr,
        seed: args.seed,
        // An episode whose weights overflow is recorded and skipped
        // (Theta kept), not the end of the run.
        on_divergence: OnDivergence::Skip,
        ..Config::default()
    };
    let mut bio_rule = Rule::<f32>::bio();
    bio_rule.set_thetas(&[args.theta0 as f32, 0.0, 0.0])?;
    let mut f0_rule = Rule::<f32>::fa();
    f0_rule.set_thetas(&[args.theta0 as f32])?;
    let mut bio = Trainer::<f32, Tiny>::new(bio_rule, data, config.clone())?;
    let mut f0 = Trainer::<f32, Tiny>::new(f0_rule, data, config)?;
    let start = Instant::now();
    let (mut bio_records, mut f0_records) = (Vec::new(), Vec::new());
    if verbose {
        println!();
        println!("| episodes | F^bio meta-accuracy | F^0 (FA) meta-accuracy | F^bio meta-loss | F^0 (FA) meta-loss |");
        println!("|---|---:|---:|---:|---:|");
    }
    for n in 0..args.episodes {
        let (b, f) = std::thread::scope(|s| {
            let b = s.spawn(|| bio.episode(data));
            let f = f0.episode(data);
            (b.join().expect("F^bio thread"), f)
        });
        bio_records.push(b?);
        f0_records.push(f?);
        if verbose && ((n + 1) % 100 == 0 || n + 1 == args.episodes) {
            let from = n / 100 * 100;
            let (b, f) = (&bio_records[from..], &f0_records[from..]);
            println!(
                "| {}-{} | {:.3} | {:.3} | {:.3} | {:.3} |",
                from + 1,
                n + 1,
                mean_accuracy(b),
                mean_accuracy(f),
                mean_meta_loss(b),
                mean_meta_loss(f)
            );
        }
    }
    let theta = |t: &[f64]| -> Vec<f32> { t.iter().map(|&x| x as f32).collect() };
    let tb = theta(bio.theta());
    let tf = theta(f0.theta());
    Ok(Meta {
        bio: bio_records,
        f0: f0_records,
        theta_bio: [tb[0], tb[1], tb[2]],
        theta_f0: [tf[0]],
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Nanoseconds on the host.
struct HostTimer(Instant);

impl StepTimer for HostTimer {
    fn start(&mut self) {
        self.0 = Instant::now();
    }
    fn stop(&mut self) -> u32 {
        u32::try_from(self.0.elapsed().as_nanos()).unwrap_or(u32::MAX)
    }
}

/// One run of the firmware's protocol on the host: the progress reports.
fn firmware_run<const N: usize>(rule: &Rule<'_, f32, N>, data: &Dataset<'_>) -> Result<Vec<Progress>> {
    firmware_run_seeded(rule, data, protocol::NET_SEED, protocol::ORDER_SEED)
}

/// [`firmware_run`] with other seeds for the network and the order of the digits.
fn firmware_run_seeded<const N: usize>(
    rule: &Rule<'_, f32, N>,
    data: &Dataset<'_>,
    net_seed: u64,
    order_seed: u64,
) -> Result<Vec<Progress>> {
    let mut net = Network::<f32, Tiny, _>::zeros();
    let mut fa = FeedbackAlignment::<f32, Tiny, _>::new(vec![0.0f32; Tiny::WEIGHTS])?;
    let mut act = Activity::<f32, Tiny, _>::zeros();
    protocol::init_seeded(&mut net, &mut fa, net_seed);
    let mut order = vec![0u16; data.len()];
    protocol::shuffle_seeded(&mut order, order_seed);
    let mut reports = Vec::new();
    let mut timer = HostTimer(Instant::now());
    protocol::run(&mut net, &fa, rule, &mut act, data, &order, true, &mut timer, |p| reports.push(*p))?;
    Ok(reports)
}

fn bio_rule(theta: &[f32; 3]) -> Result<Rule<'static, f32, 3>> {
    let mut rule = Rule::<f32, 3>::bio();
    rule.set_thetas(theta)?;
    Ok(rule)
}

fn f0_rule(theta: &[f32; 1]) -> Result<Rule<'static, f32, 1>> {
    let mut rule = Rule::<f32, 1>::fa();
    rule.set_thetas(theta)?;
    Ok(rule)
}

/// Seeds of the robustness check.
const ROBUST_RUNS: u64 = 20;

/// Final held-out accuracy (percent) of the protocol over `runs` pairs of
/// seeds (network, order) other than the firmware's: `(mean, min, max, runs
/// that pass)`.
fn robustness<const N: usize>(
    rule: &Rule<'_, f32, N>,
    data: &Dataset<'_>,
    runs: u64,
) -> Result<(f64, f64, f64, usize)> {
    let mut finals = Vec::new();
    for r in 0..runs {
        // A run that diverges fails, as on the device.
        let reports = firmware_run_seeded(rule, data, 1000 + r, 2000 + r).unwrap_or_default();
        finals.push(reports.last().map_or(0, |p| p.test_hits));
    }
    let pct = |h: usize| 100.0 * h as f64 / protocol::TEST as f64;
    let mean = finals.iter().map(|&h| pct(h)).sum::<f64>() / finals.len().max(1) as f64;
    let min = finals.iter().copied().min().map_or(0.0, pct);
    let max = finals.iter().copied().max().map_or(0.0, pct);
    Ok((mean, min, max, finals.iter().filter(|&&h| protocol::passes(h)).count()))
}

/// Held-out accuracy (percent) after each block.
/// (rounded as the firmware prints it).
fn accuracies(reports: &[Progress]) -> Vec<String> {
    reports.iter().map(|p| held_out(p.test_hits)).collect()
}

/// Held-out accuracy in percent with one decimal, rounded as the firmware
/// rounds it.
fn held_out(hits: usize) -> String {
    let (whole, tenth) = protocol::percent(hits, protocol::TEST);
    format!("{whole}.{tenth}")
}

/// Nanoseconds per learning step in one run of the protocol with the rule
/// `rule` (the run's mean).
fn step_run<const N: usize>(rule: &Rule<'_, f32, N>, data: &Dataset<'_>) -> Result<f64> {
    let reports = firmware_run(rule, data)?;
    let ticks: u64 = reports.iter().map(|p| p.block_ticks).sum();
    let steps: usize = reports.iter().map(|p| p.block_len).sum();
    Ok(ticks as f64 / steps as f64)
}

/// One streaming pass over the network's 2,720 weights
/// (`benches/common/pass.rs`, the unit the project's benches are also
/// given in), timed over `protocol::TRAIN` passes.
struct Pass {
    net: Network<f32, Tiny, Box<[f32]>>,
    x: Vec<f32>,
    ys: Vec<Vec<f32>>,
}

impl Pass {
    fn new() -> Result<Self> {
        let mut net = Network::<f32, Tiny, _>::zeros();
        let mut fa = FeedbackAlignment::<f32, Tiny, _>::new(vec![0.0f32; Tiny::WEIGHTS])?;
        protocol::init_seeded(&mut net, &mut fa, protocol::NET_SEED);
        Ok(Self { net, x: vec![0.5; Tiny::INPUT], ys: pass::outputs(Self::widths()) })
    }

    fn widths() -> &'static [usize] {
        &Tiny::WIDTHS[..=Tiny::DEPTH]
    }

    /// Nanoseconds per pass over `protocol::TRAIN` passes (their mean).
    fn run(&mut self) -> f64 {
        let start = Instant::now();
        for _ in 0..protocol::TRAIN {
            let (w, x) = (std::hint::black_box(self.net.as_slice()), std::hint::black_box(&self.x));
            pass::pass_over(Self::widths(), w, x, &mut self.ys);
            std::hint::black_box(&self.ys);
        }
        start.elapsed().as_nanos() as f64 / protocol::TRAIN as f64
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Times `runs` rounds, each a run of passes, of the `F^bio` protocol and
/// of the `F^0` protocol back to back, so that each step's time is set
/// beside a pass measured seconds apart on a shared host.
fn print_time(data: &Dataset<'_>, runs: usize) -> Result<()> {
    let (bio_rule, f0_rule) = (bio_rule(&rule::THETA)?, f0_rule(&rule::THETA_F0)?);
    let mut pass = Pass::new()?;
    let (mut passes, mut bio, mut f0) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        passes.push(pass.run());
        bio.push(step_run(&bio_rule, data)?);
        f0.push(step_run(&f0_rule, data)?);
    }
    let in_passes = |steps: &[f64]| median(steps.iter().zip(&passes).map(|(s, p)| s / p).collect());
    let (bio_passes, f0_passes) = (in_passes(&bio), in_passes(&f0));
    let (pass, bio, f0) = (median(passes.clone()), median(bio), median(f0));
    println!(
        "desktop step time (64-32-16-10, f32, feedback alignment, medians of {runs} rounds, each a run of {} \
         passes over the {} weights and a run of {} steps of each rule): F^bio {:.2} us ({:.1} passes), \
         F^0 {:.2} us ({:.1} passes), one pass {:.0} ns",
        protocol::TRAIN,
        Tiny::WEIGHTS,
        protocol::TRAIN,
        bio / 1000.0,
        bio_passes,
        f0 / 1000.0,
        f0_passes,
        pass
    );
    println!("desktop_step_ns_bio={bio:.0}");
    println!("desktop_step_ns_f0={f0:.0}");
    println!("desktop_pass_ns={pass:.1}");
    println!("desktop_step_passes_bio={bio_passes:.2}");
    println!("desktop_step_passes_f0={f0_passes:.2}");
    Ok(())
}

fn sweep(args: &Args, train: &Dataset<'_>, data: &Dataset<'_>) -> Result<()> {
    println!(
        "sweep: {} episodes, {}-way K={} Q={}, seed {}; meta-accuracy = mean of the last 100 episodes; \
         firmware = final held-out accuracy of the firmware protocol on the host",
        args.episodes, args.ways, args.k, args.q, args.seed
    );
    println!(
        "| lr | theta0 | F^bio meta-acc | F^0 meta-acc | Theta F^bio | theta F^0 | firmware F^bio | firmware F^0 \
         | 20 seeds F^bio mean / min | 20 seeds F^0 mean / min | skipped |"
    );
    println!("|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|");
    for lr in [1e-3, 3e-3, 1e-2] {
        for theta0 in [0.01, 0.02, 0.04] {
            let a = Args { lr, theta0, ..args.clone() };
            let meta = match meta_train(&a, train, false) {
                Ok(meta) => meta,
                Err(e) => {
                    println!("| {lr:e} | {theta0} | {e} | | | | | |");
                    continue;
                }
            };
            let (acc_bio, acc_f0) = meta.tail_accuracy();
            let fw_bio = firmware_run(&bio_rule(&meta.theta_bio)?, data).unwrap_or_default();
            let fw_f0 = firmware_run(&f0_rule(&meta.theta_f0)?, data).unwrap_or_default();
            let last = |r: &[Progress]| r.last().map_or(0.0, |p| 100.0 * p.test_hits as f64 / protocol::TEST as f64);
            let (rb, rf) =
                (robustness(&bio_rule(&meta.theta_bio)?, data, 20)?, robustness(&f0_rule(&meta.theta_f0)?, data, 20)?);
            println!(
                "| {lr:e} | {theta0} | {acc_bio:.3} | {acc_f0:.3} | {:?} | {:?} | {:.1}% | {:.1}% | {:.1} / {:.1} | {:.1} / {:.1} | {:?} |",
                meta.theta_bio,
                meta.theta_f0[0],
                last(&fw_bio),
                last(&fw_f0),
                rb.0,
                rb.1,
                rf.0,
                rf.1,
                meta.skipped(),
            );
        }
    }
    Ok(())
}

/// The generated `firmware/src/rule.rs`.
fn rule_source(
    args: &Args,
    meta: &Meta,
    fw_bio: &[Progress],
    fw_f0: &[Progress],
    robust_bio: (f64, f64, f64, usize),
    robust_f0: (f64, f64, f64, usize),
) -> String {
    let (acc_bio, acc_f0) = meta.tail_accuracy();
    let (all_bio, all_f0) = (mean_accuracy(&meta.bio), mean_accuracy(&meta.f0));
    let n = meta.tail();
    // The command that reproduces the file: the options that differ from the defaults.
    let d = Args::default();
    let mut options = String::new();
    for (name, value, default) in [
        ("--episodes", args.episodes.to_string(), d.episodes.to_string()),
        ("--seed", args.seed.to_string(), d.seed.to_string()),
        ("--lr", args.lr.to_string(), d.lr.to_string()),
        ("--theta0", args.theta0.to_string(), d.theta0.to_string()),
        ("--ways", args.ways.to_string(), d.ways.to_string()),
        ("--k", args.k.to_string(), d.k.to_string()),
        ("--q", args.q.to_string(), d.q.to_string()),
    ] {
        if value != default {
            let _ = write!(options, " {name} {value}");
        }
    }
    let mut command = String::from("cargo run --release --manifest-path firmware/learn_rule/Cargo.toml");
    if !options.is_empty() {
        command.push_str(" --");
        command.push_str(&options);
    }
    let progression = |r: &[Progress]| accuracies(r).join(", ");
    format!(
        "//! Meta-learned coefficients of `F^bio = {{F^0, F^2, F^9}}` for the firmware's
//! `64-32-16-10` network. GENERATED, do not edit; reproduce with
//!
//! ```text
//! {command}
//! ```
//!
//! Meta-training: feedback alignment, {ways}-way tasks of the shipped optdigits
//! (K = {k} training and Q = {q} query digits per class), {episodes} episodes, seed {seed},
//! Adam lr {lr:e}, starting from theta_0 = {theta0} and the other coefficients zero;
//! `F^0` alone meta-trained alongside on the same tasks (episodes skipped because
//! they diverged: `F^bio` {skip_bio}, `F^0` {skip_f0}). Tasks are drawn from
//! the {train} digits the firmware learns from; its {test} held-out digits are never seen.
//! Mean meta-accuracy (chance {chance:.2}), last {n} episodes: `F^bio` {acc_bio:.3},
//! `F^0` {acc_f0:.3}; all episodes: `F^bio` {all_bio:.3}, `F^0` {all_f0:.3}.
//!
//! The firmware's protocol on the host (f32; held-out accuracy in percent after
//! 0, {block}, {block2}, ... of {train} digits, {test} held out):
//! `F^bio` {prog_bio};
//! `F^0` {prog_f0}.
//! Final held-out accuracy over {runs} other seeds of the network and of the order:
//! `F^bio` mean {rb_mean:.1}% (min {rb_min:.1}%, {rb_pass}/{runs} above {pass}%),
//! `F^0` mean {rf_mean:.1}% (min {rf_min:.1}%, {rf_pass}/{runs} above {pass}%).

/// `Theta = (theta_0, theta_2, theta_9)` of `F^bio`.
pub const THETA: [f32; 3] = {theta:?};

/// `theta_0` of `F^0` alone, meta-trained the same way (for comparison).
pub const THETA_F0: [f32; 1] = {theta_f0:?};
",
        ways = args.ways,
        k = args.k,
        q = args.q,
        episodes = args.episodes,
        seed = args.seed,
        lr = args.lr,
        theta0 = args.theta0,
        chance = 1.0 / args.ways as f64,
        block = protocol::BLOCK,
        block2 = 2 * protocol::BLOCK,
        train = protocol::TRAIN,
        test = protocol::TEST,
        prog_bio = progression(fw_bio),
        prog_f0 = progression(fw_f0),
        runs = ROBUST_RUNS,
        rb_mean = robust_bio.0,
        rb_min = robust_bio.1,
        rb_pass = robust_bio.3,
        rf_mean = robust_f0.0,
        rf_min = robust_f0.1,
        rf_pass = robust_f0.3,
        pass = protocol::PASS_PER_MILLE / 10,
        skip_bio = meta.skipped().0,
        skip_f0 = meta.skipped().1,
        theta = meta.theta_bio,
        theta_f0 = meta.theta_f0,
    )
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let digits = OwnedDataset::optdigits_shipped()?;
    let (images_idx, labels_idx) = optdigits_idx(&digits);
    // The same bytes the firmware embeds, parsed the way it parses them.
    let data = Dataset::new(parse_images(&images_idx)?, parse_labels(&labels_idx)?, Tiny::OUTPUT)?;
    if data.len() != protocol::SAMPLES {
        return Err(format!("expected {} digits, found {}", protocol::SAMPLES, data.len()).into());
    }

    if args.time_only {
        return print_time(&data, 21);
    }
    let (train_pixels, train_labels) = training_split(&data);
    let images = data.images();
    let train = Dataset::new(
        Images::from_raw(&train_pixels, train_labels.len(), images.rows(), images.cols())?,
        Labels::new(&train_labels),
        Tiny::OUTPUT,
    )?;
    if args.sweep {
        return sweep(&args, &train, &data);
    }

    if args.write {
        let dir = firmware_dir().join("data");
        std::fs::create_dir_all(&dir)?;
        for (name, bytes) in [("images-idx3-ubyte", &images_idx), ("labels-idx1-ubyte", &labels_idx)] {
            let path = dir.join(name);
            let changed = write_if_changed(&path, bytes)?;
            println!("{} {} ({} bytes)", if changed { "wrote" } else { "unchanged" }, path.display(), bytes.len());
        }
    }

    println!(
        "meta-training F^bio and F^0 (feedback alignment) for 64-32-16-10 on optdigits: {} episodes, \
         {}-way K={} Q={}, Adam lr {:e}, theta_0 = {}, seed {}",
        args.episodes, args.ways, args.k, args.q, args.lr, args.theta0, args.seed
    );
    let meta = meta_train(&args, &train, true)?;
    let (acc_bio, acc_f0) = meta.tail_accuracy();
    println!();
    println!(
        "mean meta-accuracy of the last {} episodes: F^bio {acc_bio:.3}, F^0 {acc_f0:.3} (chance {:.3}); {:.1} s",
        meta.tail(),
        1.0 / args.ways as f64,
        meta.seconds
    );
    println!("Theta F^bio = {:?}, theta F^0 = {:?}", meta.theta_bio, meta.theta_f0);

    let fw_bio = firmware_run(&bio_rule(&meta.theta_bio)?, &data)?;
    let fw_f0 = firmware_run(&f0_rule(&meta.theta_f0)?, &data)?;
    let mut start = [0.0f32; 3];
    start[0] = args.theta0 as f32;
    let fw_start = firmware_run(&bio_rule(&start)?, &data)?;
    println!();
    println!(
        "the firmware's protocol on the host: held-out accuracy (%, {} digits) after each block of {}",
        protocol::TEST,
        protocol::BLOCK
    );
    println!("| digits learned | F^bio (meta-learned) | F^0 (meta-learned) | F^0 (theta_0 = {}) |", args.theta0);
    println!("|---:|---:|---:|---:|");
    for ((b, f), s) in fw_bio.iter().zip(&fw_f0).zip(&fw_start) {
        let pct = |p: &Progress| held_out(p.test_hits);
        println!("| {} | {} | {} | {} |", b.seen, pct(b), pct(f), pct(s));
    }

    let robust_bio = robustness(&bio_rule(&meta.theta_bio)?, &data, ROBUST_RUNS)?;
    let robust_f0 = robustness(&f0_rule(&meta.theta_f0)?, &data, ROBUST_RUNS)?;
    println!();
    for (name, (mean, min, max, pass)) in [("F^bio", robust_bio), ("F^0", robust_f0)] {
        println!(
            "{name}: final held-out accuracy over {ROBUST_RUNS} other seeds of network and order: \
             mean {mean:.1}%, min {min:.1}%, max {max:.1}%, {pass}/{ROBUST_RUNS} above {}%",
            protocol::PASS_PER_MILLE / 10
        );
    }

    // Refuse to write a rule that does not do what the firmware claims.
    let final_hits = fw_bio.last().map_or(0, |p| p.test_hits);
    if acc_bio <= acc_f0 || !protocol::passes(final_hits) {
        return Err(format!(
            "not written: F^bio meta-accuracy {acc_bio:.3} vs F^0 {acc_f0:.3}, firmware protocol {final_hits}/{} \
             (needs F^bio > F^0 and more than {}%)",
            protocol::TEST,
            protocol::PASS_PER_MILLE / 10
        )
        .into());
    }

    if args.write {
        let path = firmware_dir().join("src").join("rule.rs");
        let source = rule_source(&args, &meta, &fw_bio, &fw_f0, robust_bio, robust_f0);
        let changed = write_if_changed(&path, source.as_bytes())?;
        println!();
        println!("{} {}", if changed { "wrote" } else { "unchanged" }, path.display());
    }
    Ok(())
}
