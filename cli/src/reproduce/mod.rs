//! Reproduce the paper's supplementary figures and tables on real data.
//!
//! ```text
//! metaplasticity reproduce all              # everything, 20 trials x 600 episodes
//! metaplasticity reproduce fig-s2 --quick   # a reduced run, in about a minute
//! metaplasticity reproduce --help           # every option
//! ```
//!
//! Each experiment writes `<out>/<experiment>/<experiment>.{csv,svg,png,md}`;
//! every meta-training trial is kept in `<out>/trials/` and reused by later
//! experiments that need it (`docs/REPRODUCTION.md` shows the results).

mod experiments;
mod note4;
mod online;
mod plot;
mod pool;
mod summary;
mod trials;

use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use crate::meta_train::ReversalChoice;
use crate::parse::{between, fraction, non_negative_real, positive};
use clap::{Parser, ValueEnum};

/// Reproduce the figures and tables of the supplementary information of
/// Shervani-Tabar & Rosenbaum (Nat. Commun. 2023) on the MNIST digits shipped
/// with the crate and on Fashion-MNIST.
///
/// Meta-training trials run in parallel (one per core by default) under a
/// progress bar; each writes its episodes to <out>/trials/<key>.csv, and any
/// experiment that needs the same trial again reads it from there (delete
/// the folder to start afresh). Trial k uses seed k for every rule, so rules
/// are compared on the same tasks and the same initial weights.
#[derive(Parser, Debug, Clone)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// The experiment to run, or `all`.
    #[arg(value_enum)]
    pub experiment: Experiment,
    /// Meta-training trials per rule (seeds 0 .. trials-1); for fig-s1 and
    /// the online panel of fig-s4, the number of online seeds; 1 to 10,000.
    /// [default: 20, --quick: 3]
    #[arg(long, value_parser = |s: &str| between(s, MAX_TRIALS))]
    pub trials: Option<usize>,
    /// Meta-training episodes per trial, 1 to 1,000,000 (each trial keeps
    /// its episodes in memory). [default: 600, --quick: 60]
    #[arg(long, value_parser = |s: &str| between(s, MAX_EPISODES))]
    pub episodes: Option<usize>,
    /// A reduced version (3 trials, 60 episodes, fewer online samples) that
    /// runs every experiment end to end in minutes.
    #[arg(long)]
    pub quick: bool,
    /// Worker threads for trials, at least 1 (default: all cores).
    #[arg(long, value_parser = positive)]
    pub jobs: Option<usize>,
    /// Width of the trailing moving average over episodes in the plots and
    /// the band (the tables use raw values); at least 1 (1: no smoothing).
    #[arg(long, default_value_t = 20, value_parser = positive)]
    pub window: usize,
    /// Confidence level of the bootstrap bands and intervals, strictly
    /// between 0 and 1.
    #[arg(long, default_value_t = 0.98, value_parser = fraction)]
    pub level: f64,
    /// Output folder.
    #[arg(long, default_value = "out/reproduce")]
    pub out: PathBuf,
    /// fig-s1: the coefficients theta_0,theta_2,theta_9 of F^bio (three
    /// numbers separated by commas), instead of the mean Theta of the last
    /// episode of the F^bio trials of fig-s2.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub bio_theta: Option<Vec<f64>>,
    /// fig-s4: the coefficients theta_0,theta_9 of F^Oja (two numbers separated
    /// by commas) for the online run on Fashion-MNIST, instead of the mean Theta
    /// of the last episode of the F^Oja meta-training trials.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub oja_theta: Option<Vec<f64>>,
    /// fig-s4: where F^Oja, FA and BP are meta-trained before the online run
    /// on Fashion-MNIST: mnist (the meta-training set, as the paper's
    /// meta-testing protocol) or fashion (meta-training on Fashion-MNIST itself).
    #[arg(long, value_enum, default_value_t = OjaData::Mnist)]
    pub oja_meta_data: OjaData,
    /// Strength lambda of the L1 and L2 penalties of the robust F^pool arms
    /// (fig-4, fig-s5, fig-s7); the default was chosen by lambda-sweep (see
    /// docs/REPRODUCTION.md). The arms with the paper's plain Adam keep
    /// 1e-3. Finite and non-negative.
    #[arg(long, default_value_t = ROBUST_LAMBDA, value_parser = non_negative_real)]
    pub lambda: f64,
    /// How the meta-gradient of every trial gets back the weights of each
    /// online step: recompute them from checkpoints (exact, bit for bit:
    /// the trials the docs report), or invert the updates in place (equal
    /// up to rounding, and faster: see meta-train --help). Trials inverted
    /// are cached under keys of their own (`-invert`), never mixed with
    /// recomputed ones.
    #[arg(long, value_enum, default_value_t = ReversalChoice::Recompute)]
    pub reversal: ReversalChoice,
    /// Run only shard K of N (K from 0 to N-1) of the experiment's
    /// meta-training trials, into the trial cache of --out, and draw
    /// nothing: N jobs of a batch system (a Slurm job array, say) with the
    /// same options and a shared --out run every trial once between them;
    /// then --render draws the figures. The trials are dealt out in
    /// seed-major order, trial i to shard i mod N.
    #[arg(long, value_parser = shard, conflicts_with = "render")]
    pub shard: Option<(usize, usize)>,
    /// Run no meta-training trial: draw every figure and table from the
    /// trial cache of --out (filled by --shard jobs, or an earlier run), and
    /// fail, naming them, if trials are missing. The files equal those of a
    /// run without shards, byte for byte.
    #[arg(long)]
    pub render: bool,
}

/// `K/N` with `K < N`.
fn shard(s: &str) -> Result<(usize, usize), String> {
    let parsed =
        s.split_once('/').and_then(|(k, n)| Some((k.trim().parse::<usize>().ok()?, n.trim().parse::<usize>().ok()?)));
    match parsed {
        Some((k, n)) if k < n => Ok((k, n)),
        Some((k, n)) => Err(format!("shard {k} of {n}: K must be below N (shards are numbered 0 to N-1)")),
        None => Err(format!("{s:?} is not K/N, e.g. 0/4")),
    }
}

/// Most trials per arm `--trials` takes.
const MAX_TRIALS: usize = 10_000;
/// Most episodes per trial `--episodes` takes.
const MAX_EPISODES: usize = 1_000_000;

/// Heads the Markdown of an experiment whose trials `--reversal invert` ran.
const REVERSAL_NOTE: &str = "Meta-gradients by the in-place reversal (`--reversal invert`): equal to the recomputed \
                             ones up to rounding, but the trials drift apart from a run without it over the episodes \
                             (docs/PERFORMANCE.md), and are cached apart.\n\n";

/// The L1 strength of the robust pool arms, chosen by `lambda-sweep`.
pub const ROBUST_LAMBDA: f64 = 1.0;

/// The meta-training set of fig-s4.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OjaData {
    /// The shipped MNIST digits.
    Mnist,
    /// Fashion-MNIST.
    Fashion,
}

const AFTER_HELP: &str = "Experiments:
  fig-4         F^pool with L1 (robust meta-optimiser) vs FA and BP: accuracy, loss, angles, all ten theta
  fig-s1        online learning curves (one pass, batch size one, 10-way MNIST): BP, FA, DFA, F^bio
  fig-s2        F^bio vs FA and BP over meta-training: meta-accuracy, meta-loss, alignment angles, Theta
  table-1       3-layer 784-130-70-10 network, F^eHebb on one layer, F^0 elsewhere: alignment angles
  note-4        the identity E[e_l e_(l-1)^T | B] = sigma_l^2 B^T (supplementary note 4), numerically
  fig-s4        F^Oja, FA, BP meta-trained on MNIST, then online on 10-way Fashion-MNIST (meta-testing)
  fig-s5        F^pool, no penalty, L1, L2, paper's Adam and robust; F^3 not trained; paper Theta frozen; Table S1
  fig-s6        F^bio vs FA with Xavier-normal feedback
  fig-s7        one-sided Mann-Whitney U test per episode, FA vs eHebb, Oja, bio and pool
  lambda-sweep  the robust F^pool with L1 at lambda 0.3, 1, 3, 10 (how --lambda's default was chosen)
  pathways      beyond the paper: F^0 and F^bio meta-trained through BP, FA, DFA, uSF, frSF, brSF and KP
                (meta-accuracy, alignment angles; KP's eta_B and lambda_B learned with Theta), and F^0 online
                through each
  pathways-online  the online part of pathways alone (no meta-training: minutes)
  all           all of the above but lambda-sweep and the two pathways, with every meta-training trial in one
                parallel pool

Examples:
  metaplasticity reproduce all --quick                  every experiment, reduced (as in CI)
  metaplasticity reproduce fig-s2 --trials 5            five trials instead of 20
  metaplasticity reproduce fig-s1 --bio-theta 0.01,-0.03,0.004
  metaplasticity reproduce fig-s4 --oja-theta 0.01,0.004    online on Fashion-MNIST with given coefficients
  metaplasticity reproduce lambda-sweep --trials 3 --episodes 300
  metaplasticity reproduce all --shard 2/8 --out /shared/out   shard 2 of 8 of the trials (e.g. a Slurm array task)
  metaplasticity reproduce all --render --out /shared/out      then the figures, from the shards' trials";

/// An experiment.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Experiment {
    /// Fig. 4 (main text).
    #[value(name = "fig-4")]
    Fig4,
    /// Fig. S1.
    FigS1,
    /// Fig. S2.
    FigS2,
    /// Table 1.
    #[value(name = "table-1")]
    Table1,
    /// Supplementary note 4.
    #[value(name = "note-4")]
    Note4,
    /// Fig. S4.
    FigS4,
    /// Fig. S5 and Table S1.
    FigS5,
    /// Fig. S6.
    FigS6,
    /// Fig. S7.
    FigS7,
    /// The lambda sweep.
    LambdaSweep,
    /// Beyond the paper: F^0 and F^bio through every feedback pathway.
    Pathways,
    /// The online panel of `pathways` alone: F^0 learning online through
    /// every feedback pathway, without the meta-training (minutes, not hours).
    PathwaysOnline,
    /// Everything.
    All,
}

impl Experiment {
    /// The experiments `all` runs, in order.
    const EACH: [Experiment; 9] = [
        Experiment::Fig4,
        Experiment::FigS2,
        Experiment::FigS7,
        Experiment::FigS5,
        Experiment::FigS6,
        Experiment::FigS4,
        Experiment::Table1,
        Experiment::FigS1,
        Experiment::Note4,
    ];

    /// The folder name (as typed on the command line).
    pub fn name(self) -> &'static str {
        match self {
            Experiment::Fig4 => "fig-4",
            Experiment::FigS1 => "fig-s1",
            Experiment::FigS2 => "fig-s2",
            Experiment::Table1 => "table-1",
            Experiment::Note4 => "note-4",
            Experiment::FigS4 => "fig-s4",
            Experiment::FigS5 => "fig-s5",
            Experiment::FigS6 => "fig-s6",
            Experiment::FigS7 => "fig-s7",
            Experiment::LambdaSweep => "lambda-sweep",
            Experiment::Pathways => "pathways",
            Experiment::PathwaysOnline => "pathways-online",
            Experiment::All => "all",
        }
    }
}

/// Settings shared by the experiments.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The options as given.
    pub args: Args,
    /// Trials per rule.
    pub trials: usize,
    /// Episodes per trial.
    pub episodes: usize,
    /// Worker threads.
    pub jobs: usize,
}

impl Ctx {
    /// `arm` as this run trains it (with `--reversal`).
    pub fn arm(&self, arm: trials::Arm) -> trials::Arm {
        trials::Arm { reversal: self.args.reversal.into(), ..arm }
    }

    fn new(args: Args) -> Result<Self, Box<dyn Error>> {
        let trials = args.trials.unwrap_or(if args.quick { 3 } else { 20 });
        let episodes = args.episodes.unwrap_or(if args.quick { 60 } else { 600 });
        if trials == 0 || episodes == 0 {
            return Err("--trials and --episodes must be at least 1".into());
        }
        // --lambda and --level were checked when parsed (`parse`).
        let uses = [
            ("--bio-theta", &args.bio_theta, 3, Experiment::FigS1),
            ("--oja-theta", &args.oja_theta, 2, Experiment::FigS4),
        ];
        for (option, given, expected, user) in uses {
            if let Some(found) = given.as_ref().map(Vec::len).filter(|&n| n != expected) {
                return Err(format!("{option}: {found} numbers given, {expected} expected, separated by commas").into());
            }
            if given.is_some() && ![user, Experiment::All].contains(&args.experiment) {
                return Err(format!(
                    "{option} is for {} (or all); {} would ignore it",
                    user.name(),
                    args.experiment.name()
                )
                .into());
            }
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let jobs = args.jobs.unwrap_or(cores).max(1);
        Ok(Ctx { args, trials, episodes, jobs })
    }

    /// `<out>/<experiment>`, created.
    pub fn folder(&self, e: Experiment) -> Result<PathBuf, Box<dyn Error>> {
        let dir = self.args.out.join(e.name());
        std::fs::create_dir_all(&dir).map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
        Ok(dir)
    }
}

/// Runs `metaplasticity reproduce`.
pub fn run(args: Args) -> Result<(), Box<dyn Error>> {
    let ctx = Ctx::new(args)?;
    let chosen: Vec<Experiment> =
        if ctx.args.experiment == Experiment::All { Experiment::EACH.to_vec() } else { vec![ctx.args.experiment] };
    // All the meta-training trials first, in one pool, so both cores stay busy.
    let mut arms: Vec<trials::Arm> = Vec::new();
    for arm in chosen.iter().flat_map(|&e| experiments::arms(e, &ctx)) {
        if !arms.contains(&arm) {
            arms.push(arm);
        }
    }
    let planned = trials::plan(&arms, ctx.trials);
    if ctx.args.shard.is_none() {
        plot::font()?;
    }
    if let Some((k, n)) = ctx.args.shard {
        let mine: Vec<trials::Planned> =
            planned.into_iter().enumerate().filter(|(i, _)| i % n == k).map(|(_, p)| p).collect();
        eprintln!(
            "shard {k}/{n}: {} of the trials of {}",
            mine.len(),
            trials::describe(&arms, ctx.trials, ctx.episodes)
        );
        let clock = Instant::now();
        trials::run_planned(&mine, ctx.episodes, ctx.jobs, &ctx.args.out)?;
        eprintln!(
            "shard {k}/{n} done in {:.0} s; once every shard is done, `--render` with the same options draws the figures",
            clock.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    if ctx.args.render {
        let absent = trials::missing(&planned, ctx.episodes, &ctx.args.out)?;
        if !absent.is_empty() {
            return Err(format!(
                "--render: {} of {} trials are not in {}: {}; run the shards (or the same command without \
                 --render) first",
                absent.len(),
                planned.len(),
                ctx.args.out.join("trials").display(),
                absent.join(" ")
            )
            .into());
        }
    } else if !arms.is_empty() {
        eprintln!(
            "meta-training trials (cached ones are read back): {}",
            trials::describe(&arms, ctx.trials, ctx.episodes)
        );
        let clock = Instant::now();
        trials::run_planned(&planned, ctx.episodes, ctx.jobs, &ctx.args.out)?;
        eprintln!("trials done in {:.0} s", clock.elapsed().as_secs_f64());
    }
    for e in chosen {
        let clock = Instant::now();
        let table = match e {
            Experiment::FigS1 => online::fig_s1(&ctx)?,
            Experiment::Note4 => note4::run(&ctx)?,
            Experiment::FigS4 => {
                let mut t = if ctx.args.oja_theta.is_none() { experiments::render(&ctx, e)? } else { String::new() };
                t.push_str(&online::fig_s4(&ctx)?);
                t
            }
            Experiment::Pathways => {
                let mut t = experiments::render(&ctx, e)?;
                t.push_str(&online::pathways(&ctx, e)?);
                t
            }
            Experiment::PathwaysOnline => online::pathways(&ctx, e)?,
            _ => experiments::render(&ctx, e)?,
        };
        // Said where it applies, so a default run's files stay as they were.
        let walked = ctx.args.reversal == ReversalChoice::Invert && !experiments::arms(e, &ctx).is_empty();
        let reversal = if walked { REVERSAL_NOTE } else { "" };
        let md = format!("# {}\n\n{reversal}{table}", e.name());
        let path = ctx.folder(e)?.join(format!("{}.md", e.name()));
        metaplasticity_cli::report::write_atomic(&path, md.as_bytes())?;
        println!("\n{md}");
        eprintln!("{} done in {:.1} s; files in {}", e.name(), clock.elapsed().as_secs_f64(), ctx.folder(e)?.display());
    }
    Ok(())
}
