//! The meta-training experiments: which arms each needs, and how its trials
//! become a CSV, a figure and a Markdown table.

use std::error::Error;
use std::path::Path;

use metaplasticity::PathwayKind;
use metaplasticity::meta::Penalty;
use metaplasticity_cli::report::write_atomic;
use metaplasticity_cli::stats::mann_whitney_greater;

use crate::reproduce::plot::{Panel, Series, figure};
use crate::reproduce::summary::{Estimate, band, bands_csv, columns_csv, table, tail, tail_len};
use crate::reproduce::trials::{Arm, Data, LAMBDA, Net, Opt, RuleName, TABLE_S1, run};
use crate::reproduce::{Ctx, Experiment, OjaData};

/// F^bio on MNIST (figs. S2, S7, and the coefficients of S1).
pub const BIO: Arm = Arm::mnist(RuleName::Bio);
const FA: Arm = Arm::mnist(RuleName::Fa);
const BP: Arm = Arm::mnist(RuleName::Bp);
const POOL: Arm = Arm::mnist(RuleName::Pool);
const ROBUST_POOL: Arm = Arm { opt: Opt::Robust, ..POOL };

/// The feedback pathways `pathways` compares: all of the library's.
pub const PATHWAYS: [PathwayKind; 7] = PathwayKind::ALL;

/// The labels of `pathways`' arms, in the order of [`PATHWAYS`].
const F0_VIA: [&str; 7] = ["F^0, BP", "F^0, FA", "F^0, DFA", "F^0, uSF", "F^0, frSF", "F^0, brSF", "F^0, KP"];
const BIO_VIA: [&str; 7] =
    ["F^bio, BP", "F^bio, FA", "F^bio, DFA", "F^bio, uSF", "F^bio, frSF", "F^bio, brSF", "F^bio, KP"];

/// The values of lambda the `lambda-sweep` experiment tries (robust L1).
pub const SWEEP: [f64; 4] = [0.3, 1.0, 3.0, 10.0];

/// The robust F^pool with an L1 penalty of strength `lambda` (fig. 4).
fn robust_l1(lambda: f64) -> Arm {
    Arm { penalty: Penalty::L1(lambda), ..ROBUST_POOL }
}

/// F^Oja meta-trained for fig. S4: on MNIST (the meta-training set), or on
/// Fashion-MNIST itself with `--oja-meta-data fashion`.
pub fn oja_arms(ctx: &Ctx) -> [(&'static str, Arm); 3] {
    let data = match ctx.args.oja_meta_data {
        OjaData::Mnist => Data::Mnist,
        OjaData::Fashion => Data::Fashion,
    };
    let on = |rule| Arm { data, ..Arm::mnist(rule) };
    [("F^Oja", on(RuleName::Oja)), ("FA", on(RuleName::Fa)), ("BP", on(RuleName::Bp))]
}

/// The arms of an experiment, each with its label in plots and tables, as
/// this run trains them.
fn labelled(e: Experiment, ctx: &Ctx) -> Vec<(&'static str, Arm)> {
    paper_arms(e, ctx).into_iter().map(|(label, arm)| (label, ctx.arm(arm))).collect()
}

/// The arms of an experiment as the paper's protocol defines them.
fn paper_arms(e: Experiment, ctx: &Ctx) -> Vec<(&'static str, Arm)> {
    let normal = |rule| Arm { normal_feedback: true, ..Arm::mnist(rule) };
    let three = |rule| Arm { net: Net::Three, ..Arm::mnist(rule) };
    let lambda = ctx.args.lambda;
    let frozen = |k| Arm { frozen: Some(k), ..POOL };
    match e {
        Experiment::FigS2 => vec![("F^bio", BIO), ("FA", FA), ("BP", BP)],
        Experiment::Fig4 => vec![("F^pool (L1, robust)", robust_l1(lambda)), ("FA", FA), ("BP", BP)],
        Experiment::FigS4 => oja_arms(ctx).to_vec(),
        Experiment::FigS5 => vec![
            ("paper Adam, no penalty", POOL),
            ("paper Adam, L1", Arm { penalty: Penalty::L1(LAMBDA), ..POOL }),
            ("paper Adam, L2", Arm { penalty: Penalty::L2(LAMBDA), ..POOL }),
            ("robust, no penalty", ROBUST_POOL),
            ("robust, L1", robust_l1(lambda)),
            ("robust, L2", Arm { penalty: Penalty::L2(lambda), ..ROBUST_POOL }),
            ("robust, L1, F^3 not trained", Arm { fixed_f3: true, ..robust_l1(lambda) }),
            ("paper Theta (no penalty), frozen", frozen(0)),
            ("paper Theta (L1), frozen", frozen(1)),
            ("paper Theta (L2), frozen", frozen(2)),
        ],
        Experiment::LambdaSweep => {
            let mut arms = vec![("no penalty", ROBUST_POOL)];
            let labels = ["lambda = 0.3", "lambda = 1", "lambda = 3", "lambda = 10"];
            arms.extend(labels.into_iter().zip(SWEEP.map(robust_l1)));
            arms
        }
        Experiment::FigS6 => vec![("F^bio", normal(RuleName::Bio)), ("FA", normal(RuleName::Fa))],
        Experiment::FigS7 => vec![
            ("FA", FA),
            ("F^eHebb", Arm::mnist(RuleName::Ehebb)),
            ("F^Oja", Arm::mnist(RuleName::Oja)),
            ("F^bio", BIO),
            ("F^pool (L1, robust)", robust_l1(lambda)),
        ],
        Experiment::Table1 => vec![
            ("F^0 on all layers", three(RuleName::Fa)),
            ("F^eHebb on W_01 (layer 1)", three(RuleName::EhebbAt(1))),
            ("F^eHebb on W_12 (layer 2)", three(RuleName::EhebbAt(2))),
            ("F^eHebb on W_23 (layer 3)", three(RuleName::EhebbAt(3))),
        ],
        Experiment::Pathways => {
            // F^0 through BP and FA, and F^bio through FA, are the arms of
            // fig-s2 (same trials, read from the cache).
            let via = |rule, p| Arm { feedback: Some(p), ..Arm::mnist(rule) };
            let own = |label: &'static str, arm: Arm, p| match p {
                PathwayKind::Backprop if arm.rule == RuleName::Fa => (label, BP),
                PathwayKind::Alignment => (label, arm),
                _ => (label, via(arm.rule, p)),
            };
            let mut arms: Vec<(&'static str, Arm)> =
                F0_VIA.into_iter().zip(PATHWAYS).map(|(label, p)| own(label, FA, p)).collect();
            arms.extend(BIO_VIA.into_iter().zip(PATHWAYS).map(|(label, p)| own(label, BIO, p)));
            arms
        }
        Experiment::FigS1 | Experiment::Note4 | Experiment::PathwaysOnline | Experiment::All => Vec::new(),
    }
}

/// The meta-training arms `e` needs (fig-s1 needs F^bio's learned Theta
/// unless it is given on the command line).
pub fn arms(e: Experiment, ctx: &Ctx) -> Vec<Arm> {
    match e {
        Experiment::FigS1 if ctx.args.bio_theta.is_none() => vec![ctx.arm(BIO)],
        Experiment::FigS4 if ctx.args.oja_theta.is_some() => Vec::new(),
        _ => labelled(e, ctx).into_iter().map(|(_, a)| a).collect(),
    }
}

/// The mean final `Theta` of the trials of `arm`.
pub fn learned_theta(ctx: &Ctx, arm: Arm) -> Result<Vec<f64>, Box<dyn Error>> {
    let arm = ctx.arm(arm);
    let runs = run(&[arm], ctx.trials, ctx.episodes, ctx.jobs, &ctx.args.out)?;
    let g = Trials { label: "", arm, runs: runs.values().collect() };
    Ok((0..arm.terms().len()).map(|r| final_theta(&g, r)).collect())
}

/// One arm's trials, in seed order.
struct Trials<'a> {
    label: &'static str,
    arm: Arm,
    runs: Vec<&'a Vec<crate::reproduce::trials::Episode>>,
}

impl Trials<'_> {
    /// A quantity per trial and episode.
    fn each(&self, f: impl Fn(&crate::reproduce::trials::Episode) -> f64) -> Vec<Vec<f64>> {
        self.runs.iter().map(|eps| eps.iter().map(&f).collect()).collect()
    }

    /// Per-episode estimates of a quantity over the trials, smoothed over `window` episodes.
    fn band(&self, window: usize, level: f64, f: impl Fn(&crate::reproduce::trials::Episode) -> f64) -> Vec<Estimate> {
        band(&self.each(f), window, level)
    }

    /// The column prefix of this arm in a CSV.
    fn key(&self) -> String {
        key(self.label)
    }
}

/// The CSV of a figure, one column triple per band; adding a band gives it
/// back as a plotted series.
struct Columns {
    xs: Vec<f64>,
    bands: Vec<(String, Vec<Estimate>)>,
}

impl Columns {
    /// Columns over episodes `1 ..= episodes`.
    fn new(episodes: usize) -> Self {
        Columns { xs: (1..=episodes).map(|n| n as f64).collect(), bands: Vec::new() }
    }

    /// Adds `band` as column `name`, and returns it as a series labelled `label`.
    fn add(&mut self, name: String, label: impl Into<String>, color: usize, band: Vec<Estimate>) -> Series {
        let s = series(label, color, &self.xs, &band);
        self.bands.push((name, band));
        s
    }

    fn write(&self, stem: &Path) -> Result<(), Box<dyn Error>> {
        Ok(write_atomic(&stem.with_extension("csv"), bands_csv("episode", &self.xs, &self.bands).as_bytes())?)
    }
}

/// Runs (or reads) the trials of `e` and writes its CSV and figure; returns
/// its Markdown.
pub fn render(ctx: &Ctx, e: Experiment) -> Result<String, Box<dyn Error>> {
    let labelled = labelled(e, ctx);
    let arms: Vec<Arm> = labelled.iter().map(|(_, a)| *a).collect();
    let runs = run(&arms, ctx.trials, ctx.episodes, ctx.jobs, &ctx.args.out)?;
    let groups: Vec<Trials<'_>> = labelled
        .iter()
        .map(|&(label, arm)| Trials { label, arm, runs: (0..ctx.trials as u64).map(|s| &runs[&arm.key(s)]).collect() })
        .collect();
    let dir = ctx.folder(e)?;
    let stem = dir.join(e.name());
    let md = match e {
        Experiment::FigS5 => penalties(ctx, &groups, &stem)?,
        Experiment::LambdaSweep => sweep(ctx, &groups, &stem)?,
        Experiment::Fig4 => discovery(ctx, &groups, &stem)?,
        Experiment::FigS7 => mann_whitney(ctx, &groups, &stem)?,
        Experiment::Table1 => layers(ctx, &groups, &stem)?,
        Experiment::Pathways => pathways(ctx, &groups, &stem)?,
        _ => compare(ctx, &groups, &stem)?,
    };
    Ok(format!(
        "{} trials x {} episodes per rule. In the plots and the CSV, meta-accuracy, meta-loss and angles are \
         trailing moving averages over {} episodes within each trial, then mean and {:.0}% bootstrap band over \
         trials; Theta is not smoothed. Every trial's raw episodes are in `trials/`.\n\n{md}",
        ctx.trials,
        ctx.episodes,
        ctx.args.window,
        ctx.args.level * 100.0
    ))
}

/// A plotted band.
pub fn series(label: impl Into<String>, color: usize, xs: &[f64], b: &[Estimate]) -> Series {
    Series {
        label: label.into(),
        points: xs.iter().zip(b).map(|(&x, e)| (x, e.mean)).collect(),
        band: xs.iter().zip(b).map(|(&x, e)| (x, e.lo, e.hi)).collect(),
        color: Some(color),
        dashed: false,
    }
}

fn panel(title: &str, y_label: &str, series: Vec<Series>) -> Panel {
    Panel {
        title: title.into(),
        x_label: "episode".into(),
        y_label: y_label.into(),
        series,
        y_range: None,
        log_y: false,
    }
}

/// The caption line of a meta-training figure.
fn caption(ctx: &Ctx) -> String {
    format!(
        "Lines: mean over {} trials of each trial's trailing {}-episode moving average (Theta not smoothed); \
         bands: {:.0}% bootstrap interval of that mean.",
        ctx.trials,
        ctx.args.window,
        ctx.args.level * 100.0
    )
}

/// Meta-loss on a logarithmic axis, so that a few exploding episodes do not
/// flatten the rest.
fn loss_panel(series: Vec<Series>) -> Panel {
    Panel { log_y: true, ..panel("(b) meta-loss", "query cross-entropy", series) }
}

/// Meta-accuracy on a fixed `[0, 1]` axis.
fn accuracy_panel(title: &str, series: Vec<Series>) -> Panel {
    Panel { y_range: Some((0.0, 1.0)), ..panel(title, "accuracy on query images", series) }
}

/// Figs. S2, S4 and S6: the first arm against the others.
fn compare(ctx: &Ctx, groups: &[Trials<'_>], stem: &Path) -> Result<String, Box<dyn Error>> {
    let (w, level) = (ctx.args.window, ctx.args.level);
    let mut columns = Columns::new(ctx.episodes);
    let (mut acc, mut loss, mut angles) = (Vec::new(), Vec::new(), Vec::new());
    for (i, g) in groups.iter().enumerate() {
        acc.push(columns.add(format!("{}_accuracy", g.key()), g.label, i, g.band(w, level, |e| e.accuracy)));
        loss.push(columns.add(format!("{}_meta_loss", g.key()), g.label, i, g.band(w, level, |e| e.meta_loss)));
        for layer in 0..g.arm.hidden() {
            let b = g.band(w, level, |e| e.angles[layer]);
            let mut s =
                columns.add(format!("{}_angle_{}", g.key(), layer + 1), format!("alpha_{}", layer + 1), layer, b);
            // The first arm solid with its band, the second dashed, the others not drawn.
            if i == 1 {
                s.dashed = true;
                s.band.clear();
                s.label.clear();
            }
            if i < 2 {
                angles.push(s);
            }
        }
    }
    let first = &groups[0];
    let mut thetas = Vec::new();
    for (r, name) in first.arm.terms().iter().enumerate() {
        let b = first.band(1, level, |e| e.theta[r]);
        thetas.push(columns.add(format!("{}_{}", first.key(), coefficient(name)), coefficient(name), r, b));
    }
    columns.write(stem)?;
    let acc_panel = accuracy_panel("(a) meta-accuracy", acc);
    figure(
        stem,
        &[
            acc_panel,
            loss_panel(loss),
            panel(
                &format!("(c) alignment with backprop ({} solid, {} dashed)", first.label, groups[1].label),
                "angle (degrees)",
                angles,
            ),
            panel(&format!("(d) Theta of {}", first.label), "theta_r", thetas),
        ],
        2,
        &caption(ctx),
    )?;
    Ok(arm_table(ctx, groups))
}

/// `pathways`: meta-accuracy of `F^0` and of `F^bio` through each pathway
/// (the first seven groups are `F^0`, the next seven `F^bio`, in the order of
/// [`PATHWAYS`]), and the table of every arm with its alignment angles.
fn pathways(ctx: &Ctx, groups: &[Trials<'_>], stem: &Path) -> Result<String, Box<dyn Error>> {
    let (w, level) = (ctx.args.window, ctx.args.level);
    let mut columns = Columns::new(ctx.episodes);
    let (mut f0, mut bio) = (Vec::new(), Vec::new());
    for (i, g) in groups.iter().enumerate() {
        let pathway = PATHWAYS[i % PATHWAYS.len()].label();
        let s =
            columns.add(format!("{}_accuracy", g.key()), pathway, i % PATHWAYS.len(), g.band(w, level, |e| e.accuracy));
        if i < PATHWAYS.len() { f0.push(s) } else { bio.push(s) }
    }
    columns.write(stem)?;
    figure(
        stem,
        &[
            accuracy_panel("(a) F^0: meta-accuracy per pathway", f0),
            accuracy_panel("(b) F^bio: meta-accuracy per pathway", bio),
        ],
        2,
        &caption(ctx),
    )?;
    Ok(arm_table(ctx, groups))
}

/// A lower-case, underscore-only column prefix for a label.
pub fn key(label: &str) -> String {
    label
        .chars()
        .filter_map(|c| {
            if c.is_ascii_alphanumeric() {
                Some(c.to_ascii_lowercase())
            } else if c == ' ' {
                Some('_')
            } else {
                None
            }
        })
        .collect()
}

/// Per arm: tail means of meta-accuracy, meta-loss and angles, and the final `Theta`.
fn arm_table(ctx: &Ctx, groups: &[Trials<'_>]) -> String {
    let (level, t) = (ctx.args.level, tail_len(ctx.episodes));
    let hidden = groups[0].arm.hidden();
    let mut header = vec!["rule".to_string(), "meta-accuracy".into(), "meta-loss".into()];
    header.extend((1..=hidden).map(|l| format!("alpha_{l} (deg)")));
    header.push("diverged episodes".into());
    header.push("back-off retries".into());
    header.push("Theta in the last episode (mean over trials)".into());
    let rows: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            let mut row = vec![
                g.label.to_string(),
                tail(&g.each(|e| e.accuracy), t, level).show(3),
                tail(&g.each(|e| e.meta_loss), t, level).show(3),
            ];
            row.extend((0..hidden).map(|l| tail(&g.each(|e| e.angles[l]), t, level).show(1)));
            let diverged: usize = g.runs.iter().map(|eps| eps.iter().filter(|e| e.accuracy.is_nan()).count()).sum();
            let episodes: usize = g.runs.iter().map(|eps| eps.len()).sum();
            let retries: usize = g.runs.iter().flat_map(|eps| eps.iter().map(|e| e.retries)).sum();
            row.push(format!("{diverged} of {episodes}"));
            row.push(retries.to_string());
            let terms = g.arm.terms();
            let theta: Vec<String> = terms
                .iter()
                .enumerate()
                .map(|(r, name)| format!("{} = {:.3e}", coefficient(name), final_theta(g, r)))
                .collect();
            row.push(theta.join(", "));
            row
        })
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    format!(
        "Means over the last {t} episodes of each trial, then over trials, with {:.0}% bootstrap intervals \
         (episodes that diverged, whose weights became non-finite, are left out of the means and counted; \
         back-off retries are episodes rerun after a diverged try, see `meta::BackOff`).\n\n{}",
        level * 100.0,
        table(&header, &rows)
    )
}

/// How `Theta`'s entry `name` is written: `theta_r` for the term `Fr`, a
/// pathway's parameter (`eta_B`) as it is.
fn coefficient(name: &str) -> String {
    match name.strip_prefix('F') {
        Some(r) if r.bytes().all(|b| b.is_ascii_digit()) => format!("theta_{r}"),
        _ => name.to_string(),
    }
}

/// Mean over trials of `theta_r` used in the last episode (before its Adam step).
fn final_theta(g: &Trials<'_>, r: usize) -> f64 {
    g.runs.iter().map(|eps| eps.last().map_or(f64::NAN, |e| e.theta[r])).sum::<f64>() / g.runs.len() as f64
}

/// Number of coefficients exactly zero in the last episode, mean over trials.
fn zeros(g: &Trials<'_>) -> f64 {
    let count = |eps: &Vec<crate::reproduce::trials::Episode>| {
        eps.last().map_or(0, |e| e.theta.iter().filter(|t| **t == 0.0).count())
    };
    g.runs.iter().map(|eps| count(eps) as f64).sum::<f64>() / g.runs.len() as f64
}

/// Fig. S5 and Table S1: `Theta` of every trained arm, the meta-accuracy of
/// all (the frozen arms too), and Table S1 beside the paper's.
fn penalties(ctx: &Ctx, groups: &[Trials<'_>], stem: &Path) -> Result<String, Box<dyn Error>> {
    let (w, level) = (ctx.args.window, ctx.args.level);
    let mut columns = Columns::new(ctx.episodes);
    let mut panels = Vec::new();
    let mut acc = Vec::new();
    let trained: Vec<&Trials<'_>> = groups.iter().filter(|g| g.arm.frozen.is_none()).collect();
    for (i, g) in trained.iter().enumerate() {
        let mut thetas = Vec::new();
        for (k, name) in g.arm.terms().iter().enumerate() {
            let r: usize = name[1..].parse()?;
            let b = g.band(1, level, |e| e.theta[k]);
            thetas.push(columns.add(format!("{}_theta_{r}", g.key()), format!("theta_{r}"), r, b));
        }
        let letter = char::from(b'a' + i as u8);
        panels.push(panel(&format!("({letter}) Theta, {}", g.label), "theta_r", thetas));
        acc.push(columns.add(format!("{}_accuracy", g.key()), g.label, i, g.band(w, level, |e| e.accuracy)));
    }
    let letter = char::from(b'a' + trained.len() as u8);
    panels.push(accuracy_panel(&format!("({letter}) meta-accuracy of F^pool"), acc));
    columns.write(stem)?;
    figure(stem, &panels, 2, &caption(ctx))?;
    let mut rows: Vec<Vec<String>> = (0..10)
        .map(|r| {
            let mut row = vec![format!("theta_{r}")];
            row.extend(trained.iter().map(|g| {
                let k = g.arm.terms().iter().position(|t| *t == format!("F{r}"));
                k.map_or("-".into(), |k| format!("{:.3}", final_theta(g, k) * 100.0))
            }));
            row.extend(TABLE_S1[r].iter().map(|v| format!("{v:.3}")));
            row
        })
        .collect();
    let mut zero_row = vec!["exact zeros".to_string()];
    zero_row.extend(trained.iter().map(|g| format!("{:.1}", zeros(g))));
    // The paper prints three decimals: its 0.000 need not be an exact zero.
    zero_row.extend(["-", "-", "-"].map(String::from));
    rows.push(zero_row);
    let mut header: Vec<String> = vec!["x 1e-2".into()];
    header.extend(trained.iter().map(|g| format!("ours: {}", g.label)));
    header.extend(["paper, none", "paper, L1", "paper, L2"].map(String::from));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    Ok(format!(
        "Table S1: Theta used in the last episode ({}), mean over {} trials; plain Adam with lambda = {LAMBDA:e} \
         (the paper's optimiser), the robust meta-optimiser with lambda = {}; the paper's values (EMNIST; L1 \
         averaged over 20 trials) beside them. \"exact zeros\": coefficients exactly 0 in the last episode, mean \
         over trials. The frozen arms hold Theta at a column of the paper's table for {} episodes per trial.\n\n{}\n{}",
        ctx.episodes,
        ctx.trials,
        ctx.args.lambda,
        crate::reproduce::trials::FROZEN_EPISODES.min(ctx.episodes),
        table(&header, &rows),
        arm_table(ctx, groups)
    ))
}

/// The lambda sweep: the robust pool with L1 at each value of [`SWEEP`].
fn sweep(ctx: &Ctx, groups: &[Trials<'_>], stem: &Path) -> Result<String, Box<dyn Error>> {
    let (w, level, t) = (ctx.args.window, ctx.args.level, tail_len(ctx.episodes));
    let mut columns = Columns::new(ctx.episodes);
    let acc: Vec<Series> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| columns.add(format!("{}_accuracy", g.key()), g.label, i, g.band(w, level, |e| e.accuracy)))
        .collect();
    columns.write(stem)?;
    figure(stem, &[accuracy_panel("meta-accuracy of the robust F^pool with L1", acc)], 1, &caption(ctx))?;
    let rows: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            vec![
                g.label.to_string(),
                tail(&g.each(|e| e.accuracy), t, level).show(3),
                format!("{:.1}", zeros(g)),
                g.runs.iter().map(|eps| eps.iter().filter(|e| e.accuracy.is_nan()).count()).sum::<usize>().to_string(),
            ]
        })
        .collect();
    let header = ["penalty", "meta-accuracy", "exact zeros in Theta", "diverged episodes"];
    Ok(format!(
        "The robust F^pool with the L1 penalty at each lambda, {} trials x {} episodes; meta-accuracy over the \
         last {t} episodes of each trial, mean and {:.0}% bootstrap interval over trials; exact zeros among the \
         ten coefficients of the last episode, mean over trials.\n\n{}\n{}",
        ctx.trials,
        ctx.episodes,
        level * 100.0,
        table(&header, &rows),
        arm_table(ctx, groups)
    ))
}

/// Fig. S7: p-value per episode of FA's meta-accuracies being lower than each rule's.
fn mann_whitney(ctx: &Ctx, groups: &[Trials<'_>], stem: &Path) -> Result<String, Box<dyn Error>> {
    let xs = Columns::new(ctx.episodes).xs;
    let mut panels = Vec::new();
    let mut columns: Vec<(String, Vec<f64>)> = Vec::new();
    let mut rows = Vec::new();
    let letters = ["a", "b", "c", "d", "e"];
    for (i, g) in groups[1..].iter().enumerate() {
        let (p, row) = per_episode_test(g, &groups[0], ctx.episodes);
        rows.push(row);
        let threshold = Series {
            label: "p = 0.05".into(),
            points: vec![(1.0, 0.05), (ctx.episodes as f64, 0.05)],
            dashed: true,
            ..Series::default()
        };
        let points = xs.iter().copied().zip(p.iter().copied()).collect();
        let line = Series { label: format!("{} > FA", g.label), points, color: Some(i), ..Series::default() };
        let title = format!("({}) {} against FA", letters[i], g.label);
        panels.push(Panel { log_y: true, ..panel(&title, "one-sided p-value", vec![line, threshold]) });
        columns.push((format!("p_{}", key(g.label)), p));
    }
    let csv = columns_csv("episode", &xs, &columns);
    write_atomic(&stem.with_extension("csv"), csv.as_bytes())?;
    let note = format!(
        "One-sided Mann-Whitney U test per episode over {} trials (H1: the rule's meta-accuracy exceeds FA's); \
         dashed: p = 0.05.",
        ctx.trials
    );
    figure(stem, &panels, 2, &note)?;
    let header = test_header("rule (vs FA)");
    Ok(format!(
        "One-sided Mann-Whitney U test per episode: H1 = the rule's meta-accuracies tend to exceed FA's \
         ({} trials each, raw per-episode accuracies, a diverged episode counted as 0; \
         `metaplasticity_cli::stats::mann_whitney_greater`). The per-episode tests are not corrected for \
         multiplicity: an isolated p < 0.05 is expected by chance; the episode from which p stays below 0.05 \
         is the robust reading.\n\n{}\n{}",
        ctx.trials,
        table(&header, &rows),
        arm_table(ctx, groups)
    ))
}

/// A meta-accuracy as the Mann-Whitney tests use it: a diverged episode
/// classifies nothing and counts as 0.
fn accuracy_or_zero(e: &crate::reproduce::trials::Episode) -> f64 {
    if e.accuracy.is_nan() { 0.0 } else { e.accuracy }
}

/// Per episode, the one-sided Mann-Whitney U p-value that `x`'s
/// meta-accuracies tend to exceed `y`'s; and a table row labelled with
/// `x`: the first episode with p < 0.05, the episode from which p stays
/// below 0.05, the count below 0.05 in the second half and its median p.
fn per_episode_test(x: &Trials<'_>, y: &Trials<'_>, episodes: usize) -> (Vec<f64>, Vec<String>) {
    let (a, b) = (x.each(accuracy_or_zero), y.each(accuracy_or_zero));
    let p: Vec<f64> = (0..episodes)
        .map(|n| {
            let xs: Vec<f64> = a.iter().map(|t| t[n]).collect();
            let ys: Vec<f64> = b.iter().map(|t| t[n]).collect();
            mann_whitney_greater(&xs, &ys).map_or(f64::NAN, |m| m.p_value)
        })
        .collect();
    let first = p.iter().position(|&v| v < 0.05);
    // The episode from which every later p-value is below 0.05.
    let stays =
        p.iter().rposition(|&v| v.is_nan() || v >= 0.05).map_or(Some(0), |n| (n + 1 < p.len()).then_some(n + 1));
    let half = &p[episodes / 2..];
    let below = half.iter().filter(|&&v| v < 0.05).count();
    let mut sorted: Vec<f64> = half.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN);
    let episode = |n: Option<usize>| n.map_or("never".into(), |n| (n + 1).to_string());
    let row = vec![
        x.label.to_string(),
        episode(first),
        episode(stays),
        format!("{below} of {}", half.len()),
        format!("{median:.2e}"),
    ];
    (p, row)
}

/// The columns of a [`per_episode_test`] table, the first naming the comparison.
fn test_header(first: &str) -> [&str; 5] {
    [
        first,
        "first episode with p < 0.05",
        "p < 0.05 from episode on",
        "episodes with p < 0.05, second half",
        "median p, second half",
    ]
}

/// Fig. 4: F^pool against FA and BP, with one-sided Mann-Whitney tests per
/// episode of the pool above FA and of BP above the pool.
fn discovery(ctx: &Ctx, groups: &[Trials<'_>], stem: &Path) -> Result<String, Box<dyn Error>> {
    let md = compare(ctx, groups, stem)?;
    let (pool, fa, bp) = (&groups[0], &groups[1], &groups[2]);
    let (_, above_fa) = per_episode_test(pool, fa, ctx.episodes);
    let (_, mut bp_above) = per_episode_test(bp, pool, ctx.episodes);
    bp_above[0] = format!("BP > {}", pool.label);
    let mut rows = vec![above_fa, bp_above];
    rows[0][0] = format!("{} > FA", pool.label);
    Ok(format!(
        "{md}\nOne-sided Mann-Whitney U tests per episode over the {} trials (paired seeds; a diverged episode \
         counts as accuracy 0; not corrected for multiplicity):\n\n{}",
        ctx.trials,
        table(&test_header("H1"), &rows)
    ))
}

/// Table 1 / Fig. S3: F^eHebb on one layer of the 3-layer network.
fn layers(ctx: &Ctx, groups: &[Trials<'_>], stem: &Path) -> Result<String, Box<dyn Error>> {
    let (w, level) = (ctx.args.window, ctx.args.level);
    let mut columns = Columns::new(ctx.episodes);
    let mut panels: Vec<Panel> = (1..=groups[0].arm.hidden())
        .map(|l| panel(&format!("alignment angle alpha_{l}"), "angle (degrees)", Vec::new()))
        .collect();
    let mut acc = Vec::new();
    for (i, g) in groups.iter().enumerate() {
        for (l, p) in panels.iter_mut().enumerate() {
            let b = g.band(w, level, |e| e.angles[l]);
            p.series.push(columns.add(format!("{}_angle_{}", g.key(), l + 1), g.label, i, b));
        }
        acc.push(columns.add(format!("{}_accuracy", g.key()), g.label, i, g.band(w, level, |e| e.accuracy)));
    }
    panels.push(accuracy_panel("meta-accuracy", acc));
    columns.write(stem)?;
    figure(stem, &panels, 2, &caption(ctx))?;
    Ok(format!("Network 784-130-70-10.\n\n{}", arm_table(ctx, groups)))
}
