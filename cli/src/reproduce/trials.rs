//! Meta-training trials: what one trial is (an [`Arm`] and a seed), running
//! many of them on all cores with a progress bar, and the per-trial cache.
//!
//! Every trial is written to `<out>/trials/<key>.csv` (the columns of
//! `metaplasticity_cli::report::csv_header`) when it ends. A later experiment that
//! needs the same trial for at most as many episodes reads it back instead of
//! running it again: episode `n` of a seed depends on `(seed, n)` alone, so
//! the first `n` episodes of a longer run are the run of `n` episodes.

use std::collections::BTreeMap;
use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use indicatif::ProgressBar;
use metaplasticity::data::{OwnedDataset, Split};
use metaplasticity::idx::Dataset;
use metaplasticity::meta::{Config, OnDivergence, Penalty, Reversal, Trainer};
use metaplasticity::terms::{ErrorHebb, PseudoGradient};
use metaplasticity::{FixedShape, Init, LayerSet, PathwayKind, Rule, shape};
use metaplasticity_cli::report::{csv_header, csv_row, write_atomic};

/// The paper's 5-layer network (Figs. S1, S2, S4-S7).
pub type Five = shape![784, 170, 130, 100, 70, 10];
/// The 3-layer network of Table 1.
pub type Three = shape![784, 130, 70, 10];

/// Strength of the L1 and L2 penalties (`lambda`) under the paper's plain
/// Adam (the paper does not state its value).
pub const LAMBDA: f64 = 1e-3;

/// Episodes per trial of an arm whose `Theta` is held fixed: it does not
/// learn, so 50 episodes (1,000 tasks over 20 trials) measure it.
pub const FROZEN_EPISODES: usize = 50;

/// The paper's Table S1, `Theta` in units of 1e-2: no penalty, L1, L2.
pub const TABLE_S1: [[f64; 3]; 10] = [
    [0.915, 0.978, 0.867],
    [0.343, 0.075, -0.095],
    [-3.654, -2.361, -3.305],
    [0.000, 0.000, 0.000],
    [0.816, 0.087, 0.430],
    [0.081, 0.026, 0.054],
    [0.887, 0.019, 0.188],
    [-0.031, 0.031, -0.177],
    [-0.459, -0.064, 0.053],
    [0.313, 0.415, 0.417],
];

/// The meta-optimiser of a trial.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opt {
    /// The paper's: plain Adam at `1e-3`, subgradient L1, a diverged episode
    /// skipped with `Theta` kept.
    Plain,
    /// `metaplasticity::meta::Config::robust`: normalised momentum, measured
    /// per-term step sizes, proximal L1, back-off on divergence.
    Robust,
}

/// The data a trial learns from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Data {
    /// The 10,000 MNIST digits shipped in `data/`.
    Mnist,
    /// The Fashion-MNIST training set (Debian `dataset-fashion-mnist`).
    Fashion,
}

/// The network a trial trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Net {
    /// 784-170-130-100-70-10.
    Five,
    /// 784-130-70-10.
    Three,
}

impl Net {
    /// Hidden layers, `L - 1`: the number of alignment angles.
    pub fn hidden(self) -> usize {
        match self {
            Net::Five => Five::DEPTH - 1,
            Net::Three => Three::DEPTH - 1,
        }
    }
}

/// The plasticity rule (its feedback pathway is feedback alignment unless
/// the rule says otherwise).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleName {
    /// `F^0` through fixed random feedback.
    Fa,
    /// `F^0` through the transposed forward weights.
    Bp,
    /// `F^eHebb = {F^0, F^2}`.
    Ehebb,
    /// `F^Oja = {F^0, F^9}`.
    Oja,
    /// `F^bio = {F^0, F^2, F^9}`.
    Bio,
    /// `F^pool = {F^0 .. F^9}`.
    Pool,
    /// `F^0` on every layer, `F^2` on layer `l` alone (Table 1).
    EhebbAt(usize),
}

impl RuleName {
    fn key(self) -> String {
        match self {
            RuleName::Fa => "fa".into(),
            RuleName::Bp => "bp".into(),
            RuleName::Ehebb => "ehebb".into(),
            RuleName::Oja => "oja".into(),
            RuleName::Bio => "bio".into(),
            RuleName::Pool => "pool".into(),
            RuleName::EhebbAt(l) => format!("ehebb{l}"),
        }
    }

    /// The rule at its initial `Theta` (`theta_0 = 1e-3`, others 0) and its pathway.
    fn build(self) -> (Rule<'static, f32>, PathwayKind) {
        match self {
            RuleName::Fa => (Rule::fa(), PathwayKind::Alignment),
            RuleName::Bp => (Rule::fa(), PathwayKind::Backprop),
            RuleName::Ehebb => (Rule::ehebb(), PathwayKind::Alignment),
            RuleName::Oja => (Rule::oja(), PathwayKind::Alignment),
            RuleName::Bio => (Rule::bio(), PathwayKind::Alignment),
            RuleName::Pool => (Rule::pool(), PathwayKind::Alignment),
            RuleName::EhebbAt(l) => {
                let mut rule = Rule::default();
                let built = rule
                    .push(&PseudoGradient, 1e-3, LayerSet::ALL)
                    .and_then(|()| rule.push(&ErrorHebb, 0.0, LayerSet::only(l)));
                built.unwrap_or_else(|e| unreachable!("two terms fit a rule of ten: {e}"));
                (rule, PathwayKind::Alignment)
            }
        }
    }
}

/// One arm of an experiment: everything that defines a trial but its seed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Arm {
    /// Data set.
    pub data: Data,
    /// Network.
    pub net: Net,
    /// Rule (and pathway).
    pub rule: RuleName,
    /// Penalty on `Theta`.
    pub penalty: Penalty,
    /// Feedback matrices drawn Xavier-normal instead of Xavier-uniform.
    pub normal_feedback: bool,
    /// The meta-optimiser.
    pub opt: Opt,
    /// `theta_3` (weight decay, `F^3` of the pool) held at zero.
    pub fixed_f3: bool,
    /// `Theta` held at column `k` of the paper's Table S1 (pool only): the
    /// trial evaluates it for [`FROZEN_EPISODES`] episodes.
    pub frozen: Option<usize>,
    /// A feedback pathway other than the rule's own (`pathways`).
    pub feedback: Option<PathwayKind>,
    /// How the meta-gradient gets back each step's weights (`--reversal`).
    pub reversal: Reversal,
}

impl Arm {
    /// An arm on MNIST with the 5-layer network, no penalty, uniform
    /// feedback, the paper's optimiser.
    pub const fn mnist(rule: RuleName) -> Arm {
        Arm {
            data: Data::Mnist,
            net: Net::Five,
            rule,
            penalty: Penalty::None,
            normal_feedback: false,
            opt: Opt::Plain,
            fixed_f3: false,
            frozen: None,
            feedback: None,
            reversal: Reversal::Recompute,
        }
    }

    /// Episodes this arm's trials run when `requested` are asked for.
    pub fn episodes(&self, requested: usize) -> usize {
        if self.frozen.is_some() { requested.min(FROZEN_EPISODES) } else { requested }
    }

    /// The rule at its initial `Theta` and its pathway.
    fn build(&self) -> (Rule<'static, f32>, PathwayKind) {
        let (mut rule, own) = self.rule.build();
        let pathway = self.feedback.unwrap_or(own);
        if let Some(k) = self.frozen {
            let theta: Vec<f32> = TABLE_S1.iter().map(|row| (row[k] * 1e-2) as f32).collect();
            rule.set_thetas(&theta).unwrap_or_else(|e| unreachable!("Table S1 has one value per pool term: {e}"));
        }
        (rule, pathway)
    }

    /// The file-name key of this arm's trial with `seed`: the arm in words,
    /// then a fingerprint of everything else that shapes the trial (the
    /// trainer's configuration, the rule's terms, layers and initial `Theta`,
    /// the float type), so that a change there is never served from the cache.
    pub fn key(&self, seed: u64) -> String {
        let data = match self.data {
            Data::Mnist => "mnist",
            Data::Fashion => "fashion",
        };
        let net = match self.net {
            Net::Five => "5l",
            Net::Three => "3l",
        };
        let penalty = match self.penalty {
            Penalty::None => "none".to_string(),
            Penalty::L1(l) => format!("l1_{l:e}"),
            Penalty::L2(l) => format!("l2_{l:e}"),
        };
        let feedback = if self.normal_feedback { "xn" } else { "xu" };
        let mut opt = match self.opt {
            Opt::Plain => String::new(),
            Opt::Robust => "-robust".to_string(),
        };
        if self.fixed_f3 {
            opt.push_str("-nof3");
        }
        if let Some(k) = self.frozen {
            opt.push_str(&format!("-frozen{}", ["none", "l1", "l2"][k]));
        }
        if let Some(p) = self.feedback {
            opt.push_str(&format!("-via-{}", p.key()));
        }
        if self.reversal == Reversal::Invert {
            opt.push_str("-invert");
        }
        format!("{data}-{net}-{}{opt}-{penalty}-{feedback}-{:08x}-s{seed}", self.rule.key(), self.fingerprint())
    }

    /// The trainer configuration of this arm's trial with `seed`.
    fn config(&self, seed: u64) -> Config {
        let terms = self.terms().len();
        let trainable = if self.frozen.is_some() {
            vec![false; terms]
        } else if self.fixed_f3 {
            self.terms().iter().map(|t| *t != "F3").collect()
        } else {
            Vec::new()
        };
        let plain = Config {
            penalty: self.penalty,
            pathway: self.build().1,
            feedback_init: if self.normal_feedback { Init::XavierNormal } else { Init::XavierUniform },
            seed,
            on_divergence: OnDivergence::Skip,
            trainable,
            reversal: self.reversal,
            ..Config::default()
        };
        match self.opt {
            Opt::Plain => plain,
            Opt::Robust => plain.robust(),
        }
    }

    /// 32 bits of FNV-1a over the description of the protocol (seed aside).
    fn fingerprint(&self) -> u32 {
        let rule = self.build().0;
        let entries: Vec<String> =
            rule.entries().iter().map(|e| format!("{}:{:?}:{:?}", e.term.name(), e.theta, e.layers.bits())).collect();
        // The default reversal (recompute, the exact weights) is left out:
        // the option came later, does not change a trial, and caches written
        // before it stay valid.
        let config = format!("{:?}", self.config(0)).replace(", reversal: Recompute", "");
        let text = format!("{config} {entries:?} f32");
        let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        (hash ^ (hash >> 32)) as u32
    }

    /// Hidden layers of the arm's network.
    pub fn hidden(&self) -> usize {
        self.net.hidden()
    }

    /// Names of `Theta`'s entries: the rule's terms (`F0`, `F9`, ...), then
    /// a plastic pathway's parameters (`eta_B`, ...).
    pub fn terms(&self) -> Vec<&'static str> {
        let (rule, pathway) = self.build();
        let mut names: Vec<&'static str> = rule.entries().iter().map(|e| e.term.name()).collect();
        names.extend(pathway.param_names());
        names
    }
}

/// One episode of a trial, as the experiments use it.
#[derive(Clone, Debug, PartialEq)]
pub struct Episode {
    /// Meta-accuracy (NaN if the episode diverged and was skipped).
    pub accuracy: f64,
    /// Meta-loss.
    pub meta_loss: f64,
    /// Alignment angles, degrees, `l = 1 .. L-1`.
    pub angles: Vec<f64>,
    /// `Theta` used in the episode.
    pub theta: Vec<f64>,
    /// Back-off retries the episode took.
    pub retries: usize,
}

/// The data sets the trials need, loaded once.
pub struct Datasets {
    mnist: Option<OwnedDataset>,
    fashion: Option<OwnedDataset>,
}

impl Datasets {
    /// Loads the data sets that `arms` use.
    pub fn for_arms<'a>(arms: impl IntoIterator<Item = &'a Arm>) -> Result<Self, Box<dyn Error>> {
        let arms: Vec<&Arm> = arms.into_iter().collect();
        let mnist = arms.iter().any(|a| a.data == Data::Mnist).then(crate::shipped::mnist).transpose()?;
        let fashion = arms
            .iter()
            .any(|a| a.data == Data::Fashion)
            .then(|| OwnedDataset::fashion_mnist(Split::Train))
            .transpose()?;
        Ok(Datasets { mnist, fashion })
    }

    fn get(&self, data: Data) -> Dataset<'_> {
        let owned = match data {
            Data::Mnist => &self.mnist,
            Data::Fashion => &self.fashion,
        };
        owned.as_ref().unwrap_or_else(|| unreachable!("loaded for every arm")).view()
    }
}

/// The trials of `arms` with seeds `0 .. trials`, `episodes` each (see
/// [`Arm::episodes`]), keyed by
/// [`Arm::key`]. Cached trials are read back; the others run on `jobs`
/// threads under one progress bar and are cached when they end.
pub fn run(
    arms: &[Arm],
    trials: usize,
    episodes: usize,
    jobs: usize,
    out: &Path,
) -> Result<BTreeMap<String, Vec<Episode>>, Box<dyn Error>> {
    run_planned(&plan(arms, trials), episodes, jobs, out)
}

/// One trial to run: its key, arm and seed.
pub type Planned = (String, Arm, u64);

/// Every trial of `arms` with seeds `0 .. trials`, each once, in seed-major
/// order (an interrupted run leaves every arm with trials), whatever the
/// cache holds: the order `--shard` deals them out in.
pub fn plan(arms: &[Arm], trials: usize) -> Vec<Planned> {
    let mut all: Vec<Planned> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..trials as u64 {
        for arm in arms {
            let key = arm.key(seed);
            if seen.insert(key.clone()) {
                all.push((key, *arm, seed));
            }
        }
    }
    all
}

/// The planned trials of which `<out>/trials/` holds no complete record.
pub fn missing(planned: &[Planned], episodes: usize, out: &Path) -> Result<Vec<String>, Box<dyn Error>> {
    let dir = out.join("trials");
    let mut absent = Vec::new();
    for (key, arm, _) in planned {
        if read_cached(&path_of(&dir, key), arm, arm.episodes(episodes))?.is_none() {
            absent.push(key.clone());
        }
    }
    Ok(absent)
}

/// [`run`] for the `planned` trials only (cached ones are read back).
pub fn run_planned(
    planned: &[Planned],
    episodes: usize,
    jobs: usize,
    out: &Path,
) -> Result<BTreeMap<String, Vec<Episode>>, Box<dyn Error>> {
    let dir = out.join("trials");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut done = BTreeMap::new();
    let mut todo = Vec::new();
    for (key, arm, seed) in planned {
        match read_cached(&path_of(&dir, key), arm, arm.episodes(episodes))? {
            Some(eps) => {
                done.insert(key.clone(), eps);
            }
            None => todo.push((key.clone(), *arm, *seed)),
        }
    }
    if todo.is_empty() {
        return Ok(done);
    }
    let data = Datasets::for_arms(todo.iter().map(|(_, a, _)| a))?;
    let total: usize = todo.iter().map(|(_, arm, _)| arm.episodes(episodes)).sum();
    let bar = crate::reproduce::pool::progress(total as u64, "{percent}% eta {eta} |");
    let stop = AtomicBool::new(false);
    let running: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let started = AtomicUsize::new(0);
    let show = |running: &Vec<String>| {
        let left = todo.len() - started.load(Ordering::Relaxed);
        format!("{left} trials waiting; running {}", running.join(" "))
    };
    let results = crate::reproduce::pool::map(&todo, jobs, |(key, arm, seed)| {
        if stop.load(Ordering::Relaxed) {
            return (key.clone(), Err(format!("trial {key}: not run after an earlier trial failed")));
        }
        started.fetch_add(1, Ordering::Relaxed);
        {
            let mut r = running.lock().unwrap_or_else(|p| p.into_inner());
            r.push(key.clone());
            bar.set_message(show(&r));
        }
        let result = trial(arm, *seed, arm.episodes(episodes), &data, &path_of(&dir, key), &bar)
            .map_err(|e| format!("trial {key}: {e}"));
        if result.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        let mut r = running.lock().unwrap_or_else(|p| p.into_inner());
        r.retain(|k| k != key);
        bar.set_message(show(&r));
        (key.clone(), result)
    });
    bar.finish_and_clear();
    for (key, result) in results {
        done.insert(key, result?);
    }
    Ok(done)
}

fn path_of(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("{key}.csv"))
}

/// Runs one trial, `episodes` meta-training episodes of `arm` with `seed`,
/// and writes its records to `path` (the columns of `csv_header`).
fn trial(
    arm: &Arm,
    seed: u64,
    episodes: usize,
    data: &Datasets,
    path: &Path,
    bar: &ProgressBar,
) -> Result<Vec<Episode>, String> {
    let data = data.get(arm.data);
    match arm.net {
        Net::Five => trial_on::<Five>(arm, seed, episodes, &data, path, bar),
        Net::Three => trial_on::<Three>(arm, seed, episodes, &data, path, bar),
    }
}

fn trial_on<S: FixedShape>(
    arm: &Arm,
    seed: u64,
    episodes: usize,
    data: &Dataset<'_>,
    path: &Path,
    bar: &ProgressBar,
) -> Result<Vec<Episode>, String> {
    let mut trainer = Trainer::<f32, S>::new(arm.build().0, data, arm.config(seed)).map_err(|e| e.to_string())?;
    let (terms, hidden) = (arm.terms(), arm.hidden());
    let mut text = csv_header(&terms, hidden);
    let mut out = Vec::with_capacity(episodes);
    for _ in 0..episodes {
        let r = trainer.episode(data).map_err(|e| e.to_string())?;
        text.push_str(&csv_row(&r, terms.len(), hidden));
        out.push(Episode {
            accuracy: r.accuracy,
            meta_loss: r.meta_loss,
            angles: r.angles,
            theta: r.theta,
            retries: r.retries,
        });
        bar.inc(1);
    }
    write_atomic(path, text.as_bytes()).map_err(|e| e.to_string())?;
    Ok(out)
}

/// The first `episodes` episodes of a cached trial, or `None` if there is no
/// cache or it is shorter.
fn read_cached(path: &Path, arm: &Arm, episodes: usize) -> Result<Option<Vec<Episode>>, Box<dyn Error>> {
    let Ok(text) = std::fs::read_to_string(path) else { return Ok(None) };
    let bad = |what: &str| format!("{} is not a trial file ({what}); delete it to rerun the trial", path.display());
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().ok_or_else(|| bad("empty"))?.split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let (accuracy, loss) =
        (col("accuracy").ok_or_else(|| bad("no accuracy"))?, col("meta_loss").ok_or_else(|| bad("no meta_loss"))?);
    let retries = col("retries").ok_or_else(|| bad("no retries"))?;
    let thetas: Vec<usize> = (0..header.len()).filter(|&i| header[i].starts_with("theta_")).collect();
    let angles: Vec<usize> = (0..header.len()).filter(|&i| header[i].starts_with("angle_")).collect();
    let names: Vec<&str> = thetas.iter().map(|&i| &header[i]["theta_".len()..]).collect();
    if names != arm.terms() {
        return Err(bad(&format!("its terms {names:?} are not the rule's {:?}", arm.terms())).into());
    }
    let hidden = arm.hidden();
    if angles.len() != hidden {
        return Err(bad(&format!("{} angle columns for {hidden} hidden layers", angles.len())).into());
    }
    let mut eps = Vec::new();
    for (n, line) in lines.take(episodes).enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != header.len() {
            return Err(bad(&format!("row {} has {} fields, the header {}", n + 1, fields.len(), header.len())).into());
        }
        let num = |i: usize| -> Result<f64, String> {
            if fields[i].is_empty() {
                Ok(f64::NAN)
            } else {
                fields[i].parse().map_err(|_| bad(&format!("row {}", n + 1)))
            }
        };
        eps.push(Episode {
            accuracy: num(accuracy)?,
            meta_loss: num(loss)?,
            angles: angles.iter().map(|&i| num(i)).collect::<Result<_, _>>()?,
            theta: thetas.iter().map(|&i| num(i)).collect::<Result<_, _>>()?,
            retries: fields[retries].parse().map_err(|_| bad(&format!("row {}", n + 1)))?,
        });
    }
    Ok((eps.len() == episodes).then_some(eps))
}

/// A one-line description of the arms, for logs.
pub fn describe(arms: &[Arm], trials: usize, episodes: usize) -> String {
    let mut s = String::new();
    for a in arms {
        let _ = write!(s, "{} ", a.key(0).trim_end_matches("-s0"));
    }
    format!("{trials} trials x {episodes} episodes of: {}", s.trim_end())
}
