//! Meta-train the coefficients of a plasticity rule (the paper's method):
//! the program a new user runs first.
//!
//! ```text
//! metaplasticity meta-train               # F^bio on shipped MNIST, 600 episodes
//! metaplasticity meta-train --help        # every option
//! ```
//!
//! Writes `<out>/episodes.csv` (one row per episode), `<out>/baseline.csv`
//! (F^0 with feedback alignment on the same tasks) and `<out>/summary.json`
//! (configuration, final Theta, Adam state: what `--resume` continues from),
//! and the learned rule for deployment, `<out>/rule.mprl` (binary, see
//! `metaplasticity::deploy`) and `<out>/rule.rs` (a `const` snippet), each
//! replaced atomically after every episode.

mod options;
mod state;

use std::error::Error;
use std::fs;
use std::path::Path;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use metaplasticity::idx::Dataset;
use metaplasticity::meta::{Config, MetaGradient, Record, Trainer};
use metaplasticity::{AnyPathway, FeedbackPathway, PathwayKind, Rule, Shape, Widths, deploy};
use metaplasticity_cli::report::{csv_header, csv_row, write_atomic};
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::SeedableRng;

pub use options::{Args, ReversalChoice};
use state::{RunState, TrainerState};

/// Runs `metaplasticity meta-train`.
pub fn run(args: Args) -> Result<(), Box<dyn Error>> {
    let owned = args.dataset()?;
    let data = owned.view();
    let shape = args.shape(&data)?;
    train(&args, &data, shape)
}

fn train(args: &Args, data: &Dataset<'_>, shape: Widths) -> Result<(), Box<dyn Error>> {
    let (rule, pathway) = args.rule::<f32>()?;
    let mut names: Vec<&str> = rule.entries().iter().map(|e| e.term.name()).collect();
    let terms = names.len();
    // Theta: the rule's coefficients, then a plastic pathway's parameters.
    let feedback = Box::new(AnyPathway::<f32, Widths>::new_for(
        shape,
        pathway,
        &mut Xoshiro256PlusPlus::seed_from_u64(0),
        metaplasticity::Init::XavierUniform,
    ));
    names.extend(feedback.param_names());
    let mut feedback = feedback;
    if let Some(params) = args.pathway_params(rule.len()) {
        let params: Vec<f32> = params.iter().map(|&p| p as f32).collect();
        feedback.set_params(&params).map_err(|e| format!("--theta: the pathway's parameters: {e}"))?;
    }
    let config = Config { pathway, ..args.config(names.len())? };
    // The pathway's matrices are redrawn at the start of every episode.
    let mut trainer = Trainer::<f32, Widths>::with_pathway_for(shape, rule, data, config.clone(), feedback)?;
    let mut baseline = if args.no_baseline {
        None
    } else {
        // The baseline is F^0 with feedback alignment under the paper's plain Adam.
        let mut cfg = Config {
            pathway: PathwayKind::Alignment,
            trainable: Vec::new(),
            step_scale: metaplasticity::meta::StepScale::Uniform,
            ..config.clone()
        };
        cfg.penalty = metaplasticity::meta::Penalty::None;
        Some(Trainer::<f32, Widths>::new_for(shape, Rule::fa(), data, cfg)?)
    };
    if args.resume && !Paths::new(&args.out).summary.exists() {
        // Before the folder is made: nothing to resume leaves nothing behind.
        return Err(format!("--resume: {} holds no run to continue (no summary.json)", args.out.display()).into());
    }
    fs::create_dir_all(&args.out).map_err(|e| format!("cannot create output folder {}: {e}", args.out.display()))?;
    // Held until this function returns; the system releases it if the process dies.
    let _lock = lock(&args.out)?;
    let hidden = shape.depth() - 1;
    let paths = Paths::new(&args.out);
    // Temporary files a killed run left behind (this program writes every
    // file through a temporary one, see write_atomic).
    for stale in metaplasticity_cli::report::remove_stale_temporaries(&args.out, &paths.all())? {
        eprintln!("removed {}, left by an interrupted run", stale.display());
    }
    let mut rows = csv_header(&names, hidden);
    let mut base_rows = csv_header(&["F0"], hidden);
    let mut history: Vec<Record> = Vec::new();
    let mut base_history: Vec<Record> = Vec::new();
    let held: Vec<String> = paths.all().iter().filter(|p| p.exists()).map(|p| p.display().to_string()).collect();
    if !args.resume && !args.overwrite && !held.is_empty() {
        return Err(format!(
            "{} already holds {} (a meta-training run writes these names): continue a run with --resume, \
             replace it with --overwrite, or choose another --out",
            args.out.display(),
            held.join(", ")
        )
        .into());
    }
    if args.overwrite && baseline.is_none() && paths.baseline.exists() {
        // The run replaced would otherwise leave its baseline beside this one's results.
        fs::remove_file(&paths.baseline)
            .map_err(|e| format!("--overwrite: cannot remove the earlier {}: {e}", paths.baseline.display()))?;
    }
    if args.resume {
        let state = RunState::load(&paths.summary)?;
        state.check_compatible(args, &names, data)?;
        let resume_error = |e| format!("--resume: {} holds an unusable optimiser state: {e}", paths.summary.display());
        trainer.resume(state.rule.state(state.next_episode).map_err(resume_error)?)?;
        if let (Some(b), Some(bs)) = (baseline.as_mut(), state.baseline.as_ref()) {
            b.resume(bs.state(state.next_episode).map_err(resume_error)?)?;
        } else if baseline.is_some() {
            return Err("the saved run has no baseline; resume with --no-baseline".into());
        }
        rows = state::csv_prefix(&paths.episodes, state.next_episode)?;
        base_rows =
            if baseline.is_some() { state::csv_prefix(&paths.baseline, state.next_episode)? } else { base_rows };
        history = state.recent.clone();
        base_history = state.baseline_recent.clone();
        eprintln!("resuming at episode {} of {}", state.next_episode, args.episodes);
    }
    let start = trainer.state().episode;
    let steps = trainer.config().task.steps();
    // Trainer::new allocated it, so its size is known to fit.
    let bytes =
        MetaGradient::<f32, Widths>::memory_bytes_for(&shape, steps, args.checkpoint_interval).unwrap_or(usize::MAX);
    let params = names.len() - terms;
    eprintln!(
        "meta-training {} ({}{}, {}) on the {} network, {} images of {} classes: {} of {} online \
         steps; meta-gradient work space {:.1} MB per trainer (checkpoint every {} steps)",
        args.rule,
        counted(terms, "term"),
        if params > 0 { format!(" and {} of the pathway", counted(params, "parameter")) } else { String::new() },
        trainer.config().pathway.description(),
        crate::parse::join(shape.as_slice()).replace(',', "-"),
        data.len(),
        data.classes(),
        counted(args.episodes, "episode"),
        steps,
        bytes as f64 / 1e6,
        args.checkpoint_interval,
    );
    if !trainer.rates().is_empty() {
        let rates: Vec<String> = names.iter().zip(trainer.rates()).map(|(n, r)| format!("{n} {r:.3}")).collect();
        eprintln!("step size per coefficient, in units of --lr: {}", rates.join(", "));
    }
    let bar = ProgressBar::new(args.episodes as u64).with_position(start as u64);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} episodes, eta {eta} | {msg}")
            .map_err(|e| e.to_string())?
            .progress_chars("=> "),
    );
    let clock = Instant::now();
    for _ in start..args.episodes {
        let (record, base) = std::thread::scope(|s| {
            let b = baseline.as_mut().map(|b| s.spawn(|| b.episode(data)));
            let r = trainer.episode(data);
            (r, b.map(|h| h.join().expect("baseline thread")))
        });
        let record = record?;
        rows.push_str(&csv_row(&record, names.len(), hidden));
        history.push(record);
        if let Some(base) = base {
            let base = base?;
            base_rows.push_str(&csv_row(&base, 1, hidden));
            base_history.push(base);
        }
        keep_last(&mut history, 50);
        keep_last(&mut base_history, 50);
        write_atomic(&paths.episodes, rows.as_bytes())?;
        if baseline.is_some() {
            write_atomic(&paths.baseline, base_rows.as_bytes())?;
        }
        let state = RunState {
            args: args.clone(),
            terms: names.iter().map(|s| s.to_string()).collect(),
            next_episode: trainer.state().episode,
            rule: TrainerState::of(&trainer),
            baseline: baseline.as_ref().map(TrainerState::of),
            recent: history.clone(),
            baseline_recent: base_history.clone(),
            mean_accuracy_last_50: mean_accuracy(&history),
            baseline_mean_accuracy_last_50: baseline.as_ref().and_then(|_| mean_accuracy(&base_history)),
        };
        write_atomic(&paths.summary, serde_json::to_string_pretty(&state)?.as_bytes())?;
        export(&trainer, &paths)?;
        bar.set_message(format!(
            "meta-acc (last 50) {}{}",
            shown(mean_accuracy(&history)),
            if baseline.is_some() { format!(" vs FA {}", shown(mean_accuracy(&base_history))) } else { String::new() }
        ));
        bar.inc(1);
    }
    bar.finish();
    summary(
        &names,
        &trainer,
        &history,
        baseline.as_ref().map(|_| &base_history[..]),
        clock.elapsed().as_secs_f64(),
        &paths,
    );
    if !history.is_empty() && history.iter().all(|r| !r.ok) {
        let which = match history.len() {
            1 => "the last episode diverged".to_string(),
            n => format!("the last {n} episodes all diverged"),
        };
        return Err(format!(
            "{which} (ok = false in {}): no meta-accuracy to report, and the rule files hold Theta from before \
             them; try a smaller --lr or --theta, or --robust",
            paths.episodes.display()
        )
        .into());
    }
    Ok(())
}

struct Paths {
    episodes: std::path::PathBuf,
    baseline: std::path::PathBuf,
    summary: std::path::PathBuf,
    rule: std::path::PathBuf,
    snippet: std::path::PathBuf,
}

impl Paths {
    fn new(out: &Path) -> Self {
        Paths {
            episodes: out.join("episodes.csv"),
            baseline: out.join("baseline.csv"),
            summary: out.join("summary.json"),
            rule: out.join("rule.mprl"),
            snippet: out.join("rule.rs"),
        }
    }

    fn all(&self) -> [&Path; 5] {
        [&self.episodes, &self.baseline, &self.summary, &self.rule, &self.snippet]
    }
}

/// Writes the current rule for deployment: the binary rule file and the
/// `const` snippet (see `metaplasticity::deploy`).
fn export(trainer: &Trainer<'_, f32, Widths>, paths: &Paths) -> Result<(), Box<dyn Error>> {
    let rule = trainer.rule();
    let shape = trainer.shape();
    let mut bytes = vec![0u8; deploy::encoded_len(shape.depth(), rule.len())];
    let n = deploy::encode(shape, rule, trainer.beta(), &mut bytes)?;
    write_atomic(&paths.rule, &bytes[..n])?;
    let snippet = deploy::RuleFile::decode(&bytes[..n])?.const_snippet();
    write_atomic(&paths.snippet, snippet.as_bytes())?;
    Ok(())
}

/// An exclusive lock on `out/.meta-train.lock`, so that two runs cannot
/// write into one folder at once (their files would mix).
fn lock(out: &Path) -> Result<fs::File, Box<dyn Error>> {
    let path = out.join(".meta-train.lock");
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(format!(
            "another meta-train run is writing to {} (it holds {}): wait for it, or choose another --out",
            out.display(),
            path.display()
        )
        .into()),
        Err(fs::TryLockError::Error(e)) => Err(format!("cannot lock {}: {e}", path.display()).into()),
    }
}

fn keep_last(v: &mut Vec<Record>, n: usize) {
    if v.len() > n {
        v.drain(..v.len() - n);
    }
}

/// Mean meta-accuracy over the records that did not diverge (`None` if
/// none did).
fn mean_accuracy(records: &[Record]) -> Option<f64> {
    let ok: Vec<f64> = records.iter().filter(|r| r.ok).map(|r| r.accuracy).collect();
    (!ok.is_empty()).then(|| ok.iter().sum::<f64>() / ok.len() as f64)
}

/// `n` and `noun`, in the plural unless `n` is 1.
fn counted(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// A mean accuracy as the summary prints it.
fn shown(accuracy: Option<f64>) -> String {
    accuracy.map_or_else(|| "none (all diverged)".to_string(), |a| format!("{a:.3}"))
}

fn summary(
    names: &[&str],
    trainer: &Trainer<'_, f32, Widths>,
    history: &[Record],
    baseline: Option<&[Record]>,
    secs: f64,
    paths: &Paths,
) {
    println!();
    println!("{:<8} {:>14}", "term", "final theta");
    for (name, theta) in names.iter().zip(trainer.theta()) {
        println!("{name:<8} {theta:>14.6e}");
    }
    println!();
    let last =
        if history.len() == 1 { "the last episode".to_string() } else { format!("last {} episodes", history.len()) };
    println!("{:<34} {:>8}", format!("mean meta-accuracy, {last}"), "");
    println!(
        "{:<34} {:>8}",
        format!("  this rule ({})", trainer.config().pathway.description()),
        shown(mean_accuracy(history))
    );
    if let Some(b) = baseline {
        println!("{:<34} {:>8}", "  F^0 with feedback alignment", shown(mean_accuracy(b)));
    }
    println!();
    println!(
        "{:.1} s this run; results in {}, {}{}",
        secs,
        paths.episodes.display(),
        paths.summary.display(),
        if baseline.is_some() { format!(", {}", paths.baseline.display()) } else { String::new() }
    );
    println!("the learned rule, for deployment: {} and {}", paths.rule.display(), paths.snippet.display());
    let pathway = trainer.config().pathway;
    if pathway != PathwayKind::Alignment {
        // The rule file holds the terms, their layers and coefficients only.
        println!(
            "note: the rule files do not record the pathway it was learned through ({}) or its parameters; \
             summary.json does",
            pathway.description()
        );
    }
}
