//! Online learning on real MNIST digits with backprop, feedback alignment and
//! direct feedback alignment (each with the plain update `F^0`), and on
//! request the sign-symmetric pathways: one pass, batch size one, accuracy
//! on held-out digits against the number of training samples seen,
//! averaged over seeds (the paper's Fig. 1 / Fig. S1).
//!
//! ```text
//! metaplasticity online --seeds 5 --out out/online.csv
//! metaplasticity online --feedback bp,fa,usf,frsf
//! metaplasticity online --widths 784,256,10
//! metaplasticity online --data optdigits --every 100
//! ```

use std::error::Error;
use std::path::PathBuf;

use crate::parse::{finite_f32, join, positive};
use clap::Parser;
use metaplasticity::idx::Dataset;
use metaplasticity::init::index;
use metaplasticity::online::{correct, learn_plastic};
use metaplasticity::{Activity, AnyPathway, Init, Network, PathwayKind, Rule, Widths};
use metaplasticity_cli::report::{check_writable, replaces_a_file, write_atomic};
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::SeedableRng;

#[derive(Parser)]
#[command(
    allow_negative_numbers = true,
    about = "Online learning (one pass, batch size one) on the shipped digits (MNIST, or 8x8 optdigits): BP vs FA vs DFA (and \
             the sign-symmetric pathways) with F^0"
)]
pub struct Args {
    /// Data set: the MNIST digits (28x28) or the 8x8 optdigits, both shipped
    /// with the tool.
    #[arg(long, value_enum, default_value_t = Data::Mnist)]
    data: Data,
    /// The network's widths n_0,n_1,...,n_L, input first, classes last
    /// (2 to 16 widths): n_0 must be the data's pixels per image and n_L at
    /// least its classes. Default: the paper's 784,170,130,100,70,10 (its
    /// hidden widths between the data's pixels and classes).
    #[arg(long, value_delimiter = ',', value_parser = positive)]
    widths: Option<Vec<usize>>,
    /// Number of seeds (independent initialisations and sample orders) to
    /// average over (at least 1).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    seeds: u64,
    /// Training samples to present, in a random order of the digits that
    /// are not held out (one pass; at most the data set's digits minus
    /// --test). Default: all of them (8,000 for MNIST, 1,400 for
    /// optdigits).
    #[arg(long)]
    samples: Option<usize>,
    /// Held-out digits used to measure accuracy: the first ones of the data
    /// set, which both shipped sets spread evenly over the ten classes
    /// (the first 2,000 MNIST digits hold 200 of each). At least 1, and
    /// fewer than the data set's digits. Default: 2,000 for MNIST, 397 for
    /// optdigits.
    #[arg(long, value_parser = positive)]
    test: Option<usize>,
    /// Measure accuracy after every this many samples, and after the last
    /// one (at least 1).
    #[arg(long, default_value_t = 500, value_parser = positive)]
    every: usize,
    /// Learning rate theta_0 of F^0 = -e_l y_{l-1}^T (finite).
    #[arg(long, default_value_t = 0.01, allow_hyphen_values = true, value_parser = finite_f32)]
    theta0: f32,
    /// The feedback pathways to compare, each run from the same initial
    /// weights and sample order per seed: bp (backprop), fa (feedback
    /// alignment), dfa (direct feedback alignment), usf (uniform
    /// sign-concordant feedback, c_l sign(W_{l+1})^T), frsf (sign-concordant
    /// with fixed random magnitudes, |R_l| ⊙ sign(W_{l+1})^T), brsf (the same
    /// with R_l redrawn at every step), kp
    /// (Kolen-Pollack: B_l learns the transpose of the forward update and
    /// decays, eta_B = --theta0, lambda_B = 1e-4).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "bp,fa,dfa")]
    feedback: Vec<Pathway>,
    /// CSV file to write (columns: samples, then mean accuracy per pathway).
    /// An existing file is kept unless --overwrite is given; a device or a
    /// named pipe (such as /dev/stdout) is written to.
    #[arg(long, default_value = "out/online.csv")]
    out: PathBuf,
    /// Replace the file at --out if it exists.
    #[arg(long)]
    overwrite: bool,
}

/// A data set of `online`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Data {
    /// 10,000 MNIST digits of 28x28.
    Mnist,
    /// 1,797 handwritten digits of 8x8 (UCI optdigits).
    Optdigits,
}

/// A feedback pathway of `online`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Pathway {
    /// Backprop.
    Bp,
    /// Feedback alignment.
    Fa,
    /// Direct feedback alignment.
    Dfa,
    /// Uniform sign-concordant feedback (uSF).
    Usf,
    /// Sign-concordant feedback with fixed random magnitudes (frSF).
    Frsf,
    /// Sign-concordant feedback with magnitudes redrawn at every step (brSF).
    Brsf,
    /// Kolen-Pollack feedback (plastic).
    Kp,
}

impl Pathway {
    fn kind(self) -> PathwayKind {
        match self {
            Pathway::Bp => PathwayKind::Backprop,
            Pathway::Fa => PathwayKind::Alignment,
            Pathway::Dfa => PathwayKind::Direct,
            Pathway::Usf => PathwayKind::SignSymmetric,
            Pathway::Frsf => PathwayKind::RandomSignSymmetric,
            Pathway::Brsf => PathwayKind::RedrawnSignSymmetric,
            Pathway::Kp => PathwayKind::KolenPollack,
        }
    }
}

/// Runs `metaplasticity online`.
pub fn run(args: Args) -> Result<(), Box<dyn Error>> {
    let owned = match args.data {
        Data::Mnist => crate::shipped::mnist()?,
        Data::Optdigits => crate::shipped::optdigits()?,
    };
    let data = owned.view();
    let shape = crate::parse::network(args.widths.as_deref(), &data)?;
    let test = args.test.unwrap_or(match args.data {
        Data::Mnist => 2000,
        Data::Optdigits => 397,
    });
    let samples = args.samples.unwrap_or(data.len().saturating_sub(test));
    if test >= data.len() || samples.checked_add(test).is_none_or(|n| n > data.len()) {
        return Err(format!(
            "--samples {samples} --test {test}: together at most {} digits, and --test below that",
            data.len()
        )
        .into());
    }
    // Before the run, so that a bad --out does not cost it.
    if !args.overwrite && replaces_a_file(&args.out) {
        return Err(format!(
            "{} already exists; pass --overwrite to replace it, or choose another --out",
            args.out.display()
        )
        .into());
    }
    check_writable(&args.out)?;
    let kinds: Vec<PathwayKind> = args.feedback.iter().map(|p| p.kind()).collect();
    if let Some(twice) = kinds.iter().enumerate().find(|&(i, k)| kinds[..i].contains(k)) {
        return Err(format!("--feedback: {} is listed twice", twice.1.key()).into());
    }
    let points = points(samples, args.every);
    let mut mean = vec![vec![0.0f64; kinds.len()]; points.len()];
    for seed in 0..args.seeds {
        for (k, &kind) in kinds.iter().enumerate() {
            let curve = run_one(shape, kind, seed, &data, &args, test, &points)?;
            for (m, a) in mean.iter_mut().zip(curve) {
                m[k] += a / args.seeds as f64;
            }
        }
    }
    let mut csv = String::from("samples");
    let mut head = format!("{:>8}", "samples");
    for kind in &kinds {
        csv.push_str(&format!(",{}", kind.key()));
        head.push_str(&format!(" {:>8}", kind.label()));
    }
    csv.push('\n');
    println!("{head}");
    for (p, m) in points.iter().zip(&mean) {
        csv.push_str(&p.to_string());
        let mut line = format!("{p:>8}");
        for a in m {
            csv.push_str(&format!(",{a:.4}"));
            line.push_str(&format!(" {a:>8.3}"));
        }
        csv.push('\n');
        println!("{line}");
    }
    write_atomic(&args.out, csv.as_bytes())?;
    println!(
        "{} network, mean of {} seed{} on {} held-out digits; written to {}",
        join(shape.as_slice()).replace(',', "-"),
        args.seeds,
        if args.seeds == 1 { "" } else { "s" },
        test,
        args.out.display()
    );
    Ok(())
}

/// Where accuracy is measured: `0, every, 2 every, ...` up to `samples`,
/// and at `samples` itself.
fn points(samples: usize, every: usize) -> Vec<usize> {
    let mut points: Vec<usize> = (0..=samples).step_by(every.max(1)).collect();
    if points.last() != Some(&samples) {
        points.push(samples);
    }
    points
}

/// Accuracy on the held-out digits (the first `test`) at each point of
/// `points` for one seed, learning from the others:
/// the same initial weights for every pathway, then the pathway's own
/// random draws, then the sample order.
fn run_one(
    shape: Widths,
    kind: PathwayKind,
    seed: u64,
    data: &Dataset<'_>,
    args: &Args,
    test: usize,
    points: &[usize],
) -> Result<Vec<f64>, Box<dyn Error>> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut net = Network::<f32, Widths, _>::zeros_for(shape);
    net.init(&mut rng, Init::XavierUniform);
    let mut pathway = AnyPathway::<f32, Widths>::new_for(shape, kind, &mut rng, Init::XavierUniform);
    // Kolen-Pollack's feedback learns at the forward rate.
    pathway.learn_at_rate(args.theta0)?;
    let (net, rng, pathway) = (&mut net, &mut rng, &mut pathway);
    let mut rule = Rule::<f32>::fa();
    rule.set_thetas(&[args.theta0])?;
    let mut act = Activity::<f32, Widths, _>::zeros_for(shape);
    let held_out = 0..test;
    // A random order of the training digits (Fisher-Yates).
    let mut order: Vec<usize> = (test..data.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, index(rng, i + 1));
    }
    let mut acc = Vec::with_capacity(points.len());
    let mut seen = 0;
    for &p in points {
        while seen < p {
            learn_plastic(net, pathway, &rule, &mut act, data, order[seen]).map_err(|e| {
                format!(
                    "{} feedback, seed {seed}: sample {} of the stream failed ({e}) with --theta0 {}: a smaller \
                     positive rate may help",
                    kind.key(),
                    seen + 1,
                    args.theta0
                )
            })?;
            seen += 1;
        }
        acc.push(correct(net, &mut act, data, held_out.clone())? as f64 / test as f64);
    }
    Ok(acc)
}
