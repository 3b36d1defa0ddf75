//! Online learning curves (Figs. S1 and S4b): one pass over a stream of
//! training images, batch size one, 10-way, the 5-layer network; accuracy on
//! held-out images against the number of samples seen.

use std::error::Error;

use metaplasticity::data::{OwnedDataset, Split};
use metaplasticity::idx::Dataset;
use metaplasticity::init::index;
use metaplasticity::online::{correct, learn_plastic};
use metaplasticity::{Activity, AnyPathway, Init, Network, PathwayKind, Rule};
use metaplasticity_cli::report::write_atomic;
use metaplasticity_cli::stats::mann_whitney_greater;
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::SeedableRng;

use crate::reproduce::experiments::key;
use crate::reproduce::plot::{Panel, figure};
use crate::reproduce::summary::{band, bands_csv, table};
use crate::reproduce::trials::Five;
use crate::reproduce::{Ctx, Experiment, experiments};

/// A learner of an online curve: a rule (with its coefficients) and a pathway.
struct Learner {
    label: &'static str,
    pathway: PathwayKind,
    rule: Rule<'static, f32>,
}

/// Where the stream and the held-out images come from.
struct Stream<'a> {
    train: Dataset<'a>,
    /// Indices of `train` the stream is drawn from (shuffled per seed).
    pool: std::ops::Range<usize>,
    /// Samples presented.
    samples: usize,
    test: Dataset<'a>,
    held_out: std::ops::Range<usize>,
    /// Accuracy is measured after every this many samples.
    every: usize,
}

/// The stream of the shipped MNIST digits: the first 2,000 held out (200
/// of each class: the data set cycles through the ten digits until its
/// fives run out at 8,630, so its last digits are not balanced), the
/// stream drawn from the other 8,000 (2,000 of them with `quick`),
/// accuracy every `every` samples (250 with `quick`).
fn shipped_stream(data: Dataset<'_>, quick: bool, every: usize) -> Stream<'_> {
    Stream {
        train: data,
        pool: 2000..10_000,
        samples: if quick { 2000 } else { 8000 },
        test: data,
        held_out: 0..2000,
        every: if quick { 250 } else { every },
    }
}

/// Fig. S1: BP, FA, DFA and F^bio on the shipped MNIST digits.
pub fn fig_s1(ctx: &Ctx) -> Result<String, Box<dyn Error>> {
    let theta = match &ctx.args.bio_theta {
        Some(t) => t.clone(),
        None => experiments::learned_theta(ctx, experiments::BIO)?,
    };
    let learners = learners(
        ("F^bio", Rule::bio()),
        &theta,
        &[PathwayKind::Backprop, PathwayKind::Alignment, PathwayKind::Direct],
    )?;
    let owned = crate::shipped::mnist()?;
    let stream = shipped_stream(owned.view(), ctx.args.quick, 200);
    let source = match &ctx.args.bio_theta {
        Some(_) => "given with --bio-theta".to_string(),
        None => format!("mean Theta of the last episode of the {} F^bio trials of fig-s2", ctx.trials),
    };
    let md = curves(ctx, Experiment::FigS1, "fig-s1", &learners, &stream, "MNIST (shipped digits)")?;
    Ok(format!(
        "F^bio coefficients (theta_0, theta_2, theta_9) = ({:.4e}, {:.4e}, {:.4e}), {source}; BP, FA and DFA use \
         F^0 with the same theta_0.\n\n{md}",
        theta[0], theta[1], theta[2]
    ))
}

/// Fig. S4b, meta-testing: F^Oja (coefficients from the fig-s4
/// meta-training, on MNIST unless `--oja-meta-data fashion`), FA and BP on
/// Fashion-MNIST: a stream from the training set, accuracy on the test set.
pub fn fig_s4(ctx: &Ctx) -> Result<String, Box<dyn Error>> {
    let [(_, oja), _, _] = experiments::oja_arms(ctx);
    let theta = match &ctx.args.oja_theta {
        Some(t) => t.clone(),
        None => experiments::learned_theta(ctx, oja)?,
    };
    let learners = learners(("F^Oja", Rule::oja()), &theta, &[PathwayKind::Backprop, PathwayKind::Alignment])?;
    let (train, test) = (OwnedDataset::fashion_mnist(Split::Train)?, OwnedDataset::fashion_mnist(Split::Test)?);
    let samples = if ctx.args.quick { 2000 } else { 10_000 };
    let stream = Stream {
        train: train.view(),
        pool: 0..train.len(),
        samples,
        test: test.view(),
        held_out: 0..if ctx.args.quick { 1000 } else { 5000 },
        every: 250,
    };
    let md = curves(ctx, Experiment::FigS4, "fig-s4-online", &learners, &stream, "Fashion-MNIST")?;
    let source = match (&ctx.args.oja_theta, ctx.args.oja_meta_data) {
        (Some(_), _) => "given with --oja-theta".to_string(),
        (None, crate::reproduce::OjaData::Mnist) => format!(
            "the mean Theta of the last episode of the {} F^Oja trials above, meta-trained on the shipped MNIST \
             (meta-testing: Fashion-MNIST is never seen in meta-training)",
            ctx.trials
        ),
        (None, crate::reproduce::OjaData::Fashion) => {
            format!(
                "the mean Theta of the last episode of the {} F^Oja trials above, meta-trained on Fashion-MNIST",
                ctx.trials
            )
        }
    };
    Ok(format!(
        "\n### Online learning on Fashion-MNIST with the learned F^Oja\n\nF^Oja coefficients (theta_0, theta_9) = \
         ({:.4e}, {:.4e}), {source}; FA and BP use F^0 with the same theta_0.\n\n{md}",
        theta[0], theta[1]
    ))
}

/// `theta_0` of `F^0` in the online panel of `pathways` (the `online`
/// subcommand's default).
const PATHWAYS_THETA0: f32 = 0.01;

/// `pathways`, online: `F^0` through every pathway on the shipped MNIST
/// digits, one pass, batch size one; its files go to the folder of `e`
/// (`pathways`, or `pathways-online` run alone).
pub fn pathways(ctx: &Ctx, e: Experiment) -> Result<String, Box<dyn Error>> {
    let mut f0 = Rule::fa();
    f0.set_thetas(&[PATHWAYS_THETA0]).map_err(|e| format!("theta_0: {e}"))?;
    let learners: Vec<Learner> = experiments::PATHWAYS
        .iter()
        .map(|&pathway| Learner { label: pathway.label(), pathway, rule: f0.clone() })
        .collect();
    let owned = crate::shipped::mnist()?;
    let stream = shipped_stream(owned.view(), ctx.args.quick, 500);
    let md = curves(ctx, e, "pathways-online", &learners, &stream, "MNIST (shipped digits)")?;
    Ok(format!(
        "\n### Online learning through each pathway\n\nF^0 with theta_0 = {PATHWAYS_THETA0}, the same initial \
         weights and sample order per seed for every pathway, {} seeds.\n\n{md}",
        ctx.trials
    ))
}

/// The learners: `rule` with coefficients `theta` through feedback
/// alignment, then F^0 with `theta_0 = theta[0]` through each of `pathways`.
fn learners(
    (label, mut rule): (&'static str, Rule<'static, f32>),
    theta: &[f64],
    pathways: &[PathwayKind],
) -> Result<Vec<Learner>, Box<dyn Error>> {
    let t: Vec<f32> = theta.iter().map(|&v| v as f32).collect();
    rule.set_thetas(&t).map_err(|e| format!("the coefficients of {label}: {e}"))?;
    let mut out = vec![Learner { label, pathway: PathwayKind::Alignment, rule }];
    let mut f0 = Rule::fa();
    f0.set_thetas(&t[..1]).map_err(|e| format!("theta_0: {e}"))?;
    for &pathway in pathways {
        out.push(Learner { label: pathway.label(), pathway, rule: f0.clone() });
    }
    Ok(out)
}

/// Runs every learner with seeds `0 .. trials`, writes `<name>.{csv,svg,png}`
/// in the experiment's folder and returns the Markdown table.
fn curves(
    ctx: &Ctx,
    e: Experiment,
    name: &str,
    learners: &[Learner],
    stream: &Stream<'_>,
    data_name: &str,
) -> Result<String, Box<dyn Error>> {
    if stream.samples > stream.pool.len() {
        return Err(format!("{name}: {} samples asked, {} available", stream.samples, stream.pool.len()).into());
    }
    // The table's checkpoints are measured points too.
    let mut checkpoints = vec![500.min(stream.samples), 2000.min(stream.samples), stream.samples / 4, stream.samples];
    checkpoints.sort_unstable();
    checkpoints.dedup();
    let mut points: Vec<usize> =
        (0..=stream.samples).step_by(stream.every).chain(checkpoints.iter().copied()).collect();
    points.sort_unstable();
    points.dedup();
    let jobs: Vec<(usize, u64)> =
        (0..ctx.trials as u64).flat_map(|s| (0..learners.len()).map(move |l| (l, s))).collect();
    let bar = crate::reproduce::pool::progress(jobs.len() as u64, "{pos}/{len}");
    bar.set_message(format!("{name}: online curves ({} learners x {} seeds)", learners.len(), ctx.trials));
    let results = crate::reproduce::pool::map(&jobs, ctx.jobs, |&(l, seed)| {
        let r = curve(&learners[l], seed, stream, &points);
        bar.inc(1);
        r
    });
    bar.finish_and_clear();
    let results: Vec<Vec<f64>> = results.into_iter().collect::<Result<_, _>>()?;
    let xs: Vec<f64> = points.iter().map(|&p| p as f64).collect();
    let mut bands = Vec::new();
    let mut series = Vec::new();
    let mut rows = Vec::new();
    for (l, learner) in learners.iter().enumerate() {
        let per_seed: Vec<Vec<f64>> =
            jobs.iter().zip(&results).filter(|((j, _), _)| *j == l).map(|(_, r)| r.clone()).collect();
        let band = band(&per_seed, 1, ctx.args.level);
        let mut row = vec![learner.label.to_string()];
        for c in &checkpoints {
            let p = points.iter().position(|q| q == c).unwrap_or_else(|| unreachable!("checkpoints are points"));
            row.push(band[p].show(3));
        }
        let diverged = per_seed.iter().filter(|r| r.last().is_some_and(|a| a.is_nan())).count();
        row.push(diverged.to_string());
        rows.push(row);
        series.push(crate::reproduce::experiments::series(learner.label, l, &xs, &band));
        bands.push((key(learner.label), band));
    }
    let stem = ctx.folder(e)?.join(name);
    write_atomic(&stem.with_extension("csv"), bands_csv("samples", &xs, &bands).as_bytes())?;
    let panel = Panel {
        title: format!("online learning, 10-way {data_name}, batch size one"),
        x_label: "training samples seen".into(),
        y_label: format!("accuracy on {} held-out images", stream.held_out.len()),
        series,
        y_range: Some((0.0, 1.0)),
        log_y: false,
    };
    let note = format!(
        "Lines: mean over {} seeds; bands: {:.0}% bootstrap interval of the mean.",
        ctx.trials,
        ctx.args.level * 100.0
    );
    figure(&stem, &[panel], 1, &note)?;
    let header: Vec<String> = std::iter::once("learner".to_string())
        .chain(checkpoints.iter().map(|c| format!("accuracy after {c} samples")))
        .chain(std::iter::once("diverged seeds".to_string()))
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    // One-sided Mann-Whitney U: the first learner's accuracy above FA's.
    let fa = learners.iter().position(|l| l.label == "FA");
    let mut tests = String::new();
    if let Some(fa) = fa {
        let at = |l: usize, p: usize| -> Vec<f64> {
            jobs.iter()
                .zip(&results)
                .filter(|((j, _), _)| *j == l)
                .map(|(_, r)| if r[p].is_nan() { 0.0 } else { r[p] })
                .collect()
        };
        let mut cells = vec![format!("{} > FA", learners[0].label)];
        for c in &checkpoints {
            let p = points.iter().position(|q| q == c).unwrap_or_else(|| unreachable!("checkpoints are points"));
            let test = mann_whitney_greater(&at(0, p), &at(fa, p));
            cells.push(test.map_or("-".into(), |t| format!("{:.2e}", t.p_value)));
        }
        let mut head = vec!["one-sided Mann-Whitney U p-value".to_string()];
        head.extend(checkpoints.iter().map(|c| format!("after {c} samples")));
        let head: Vec<&str> = head.iter().map(String::as_str).collect();
        tests = format!(
            "\nOne-sided Mann-Whitney U test over the {} seeds (H1: {}'s accuracy tends to exceed FA's; a diverged \
             seed counts as accuracy 0):\n\n{}",
            ctx.trials,
            learners[0].label,
            table(&head, &[cells])
        );
    }
    Ok(format!(
        "{} seeds, one pass over {} training images, accuracy on {} held-out images; mean and {:.0}% bootstrap \
         interval over seeds (a seed whose weights became non-finite is left out from then on, and counted).\n\n{}{tests}",
        ctx.trials,
        stream.samples,
        stream.held_out.len(),
        ctx.args.level * 100.0,
        table(&header, &rows)
    ))
}

/// One learner's curve with one seed: accuracy at each of `points`.
fn curve(learner: &Learner, seed: u64, stream: &Stream<'_>, points: &[usize]) -> Result<Vec<f64>, String> {
    // The sample order has a generator of its own, so every learner of a
    // seed sees the same stream and starts from the same forward weights.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut order_rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x5EED_0F0D_E500);
    let mut order: Vec<usize> = stream.pool.clone().collect();
    for i in (1..order.len()).rev() {
        order.swap(i, index(&mut order_rng, i + 1));
    }
    let mut net = Network::<f32, Five, _>::zeros();
    net.init(&mut rng, Init::XavierUniform);
    let mut pathway = AnyPathway::<f32, Five>::new(learner.pathway, &mut rng, Init::XavierUniform);
    // Kolen-Pollack's feedback learns at the forward rate, as in `online`.
    pathway.learn_at_rate(learner.rule.theta(0).unwrap_or(0.0)).map_err(|e| e.to_string())?;
    let mut act = Activity::<f32, Five, _>::zeros();
    let mut acc = Vec::with_capacity(points.len());
    let mut seen = 0;
    for &p in points {
        while seen < p {
            if learn_plastic(&mut net, &mut pathway, &learner.rule, &mut act, &stream.train, order[seen]).is_err() {
                // Diverged: the network no longer classifies.
                acc.extend(std::iter::repeat_n(f64::NAN, points.len() - acc.len()));
                return Ok(acc);
            }
            seen += 1;
        }
        let right = correct(&net, &mut act, &stream.test, stream.held_out.clone()).map_err(|e| e.to_string())?;
        acc.push(right as f64 / stream.held_out.len() as f64);
    }
    Ok(acc)
}
