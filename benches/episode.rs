//! One meta-training episode of the paper's 784-170-130-100-70-10 network
//! (M=5, K=50, Q=10: 250 online steps plus the adjoint) with `F^0`, `F^bio`
//! and the pool of all ten terms (with the weights of each step recomputed
//! from checkpoints, and for `F^0` and `F^bio` also walked back in place by
//! inverting the updates), single thread, on
//! the shipped MNIST digits; one online step and its adjoint on their own; and `pass`, one
//! streaming pass over the network's 176,080 `f32` weights (a plain
//! matrix-vector product per layer), the unit the others are reported in:
//! a shared machine moves milliseconds by 2x from day to day, the ratio to
//! a pass measured in the same run far less. `traffic` streams the three
//! weight-sized arrays an adjoint step touches (2.1 MB: past L2), and
//! `sweeps` the arithmetic of `F^bio`'s update adjoint alone. The rows
//! ending in `-widths` run the same network as a run-time shape
//! ([`Widths`], what the CLI uses), the others as the compile-time type.
//!
//! `cargo bench --bench episode`; `tools/bench_table.py` turns criterion's
//! estimates into the README's table (ms and pass-equivalents per step).

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use metaplasticity::adjoint::{Adjoint, step_adjoint};
use metaplasticity::data::OwnedDataset;
use metaplasticity::meta::{ClassIndex, MetaGradient, Penalty, Reversal, TaskSpec};
use metaplasticity::online::learn;
use metaplasticity::{Activity, AnyPathway, FixedShape, Init, Network, PathwayKind, Rule, Shape, Widths, shape};
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::SeedableRng;
use std::hint::black_box;

#[path = "common/pass.rs"]
mod pass;

type Paper = shape![784, 170, 130, 100, 70, 10];

fn episode(c: &mut Criterion) {
    let mut group = c.benchmark_group("episode");
    group.sample_size(10);
    episode_on(&mut group, Paper::default(), "");
    episode_on(&mut group, Widths::of::<Paper>(), "-widths");
    group.finish();
}

fn episode_on<S: Shape>(group: &mut BenchmarkGroup<'_, WallTime>, shape: S, kind: &str) {
    let owned = OwnedDataset::mnist_shipped().expect("shipped MNIST");
    let data = owned.view();
    let classes = ClassIndex::new(&data);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let task = TaskSpec::default().draw(&classes, &mut rng).unwrap();
    for (name, rule) in [("F0", Rule::<f32>::fa()), ("bio", Rule::<f32>::bio()), ("pool", Rule::<f32>::pool())] {
        let mut rule = rule;
        let theta: Vec<f32> = (0..rule.len()).map(|r| if r == 0 { 1e-3 } else { 1e-4 }).collect();
        rule.set_thetas(&theta).unwrap();
        let mut fa = AnyPathway::<f32, S>::new_for(shape, PathwayKind::Alignment, &mut rng, Init::XavierUniform);
        let mut net0 = Network::<f32, S, _>::zeros_for(shape);
        net0.init(&mut rng, Init::XavierUniform);
        let mut net = Network::<f32, S, _>::zeros_for(shape);
        let mut grad = vec![0.0f32; rule.len()];
        // The weights of each step recomputed from checkpoints (the
        // default, "fa"), and walked back in place ("fa-invert").
        let reversals = [("", Reversal::Recompute), ("-invert", Reversal::Invert)];
        for (suffix, reversal) in reversals {
            let mut mg = MetaGradient::<f32, S>::new_for(shape, 16).with_reversal(reversal);
            group.bench_function(format!("{name}/fa{suffix}{kind}/784-170-130-100-70-10"), |b| {
                b.iter(|| {
                    net.as_mut_slice().copy_from_slice(net0.as_slice());
                    black_box(mg.run(&mut net, &mut fa, &rule, &data, &task, Penalty::None, &mut grad).unwrap());
                })
            });
        }
    }
}

fn step(c: &mut Criterion) {
    step_on(c, Paper::default(), "");
    step_on(c, Widths::of::<Paper>(), "-widths");
}

fn step_on<S: Shape>(c: &mut Criterion, shape: S, kind: &str) {
    let owned = OwnedDataset::mnist_shipped().expect("shipped MNIST");
    let data = owned.view();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
    let mut net = Network::<f32, S, _>::zeros_for(shape);
    net.init(&mut rng, Init::XavierUniform);
    let fa = AnyPathway::<f32, S>::new_for(shape, PathwayKind::Alignment, &mut rng, Init::XavierUniform);
    let mut act = Activity::<f32, S, _>::zeros_for(shape);
    let mut rule = Rule::<f32>::bio();
    rule.set_thetas(&[1e-3, 1e-4, 1e-4]).unwrap();
    let mut i = 0;
    c.bench_function(&format!("step/bio/fa{kind}/784-170-130-100-70-10"), |b| {
        b.iter(|| {
            i = (i + 1) % data.len();
            black_box(learn(&mut net, &fa, &rule, &mut act, &data, i).unwrap());
        })
    });
    // The adjoint of one such step alone (its weights and weight gradient
    // in cache): what the meta-gradient adds to every step.
    let before = net.as_slice().to_vec();
    learn(&mut net, &fa, &rule, &mut act, &data, 0).unwrap();
    let mut wbar = vec![1e-3f32; shape.weights()];
    let mut thetabar = vec![0.0f32; rule.len()];
    let mut adj = Adjoint::<f32, S, _>::zeros_for(shape);
    c.bench_function(&format!("adjoint/bio/fa{kind}/784-170-130-100-70-10"), |b| {
        b.iter(|| {
            step_adjoint(&before, net.beta(), &fa, &rule, &act, black_box(&mut wbar), &mut thetabar, &mut adj).unwrap();
        })
    });
}

fn pass(c: &mut Criterion) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let mut net = Network::<f32, Paper, _>::zeros();
    net.init(&mut rng, Init::XavierUniform);
    let x = vec![0.5f32; Paper::INPUT];
    let widths = &Paper::WIDTHS[..=Paper::DEPTH];
    let mut ys = pass::outputs(widths);
    c.bench_function("pass/784-170-130-100-70-10", |b| {
        b.iter(|| {
            pass::pass_over(widths, black_box(net.as_slice()), black_box(&x), &mut ys);
            black_box(&ys);
        })
    });
}

/// The least memory traffic of one step's adjoint with feedback alignment,
/// as one streaming sweep: `Wbar += W ⊙ B` reads the weights `W` and the
/// feedback matrices `B` and reads and writes their gradient `Wbar`, three
/// arrays of 176,080 `f32` (2.1 MB together, more than this machine's
/// 2 MiB of L2 per core). Beside `pass` (0.7 MB, which stays in L2) it says
/// what the working set of the meta-gradient costs before any arithmetic.
fn traffic(c: &mut Criterion) {
    let n = Paper::default().weights();
    let (w, b) = (vec![0.5f32; n], vec![0.25f32; n]);
    let mut wbar = vec![0.0f32; n];
    c.bench_function("traffic/w-b-wbar/784-170-130-100-70-10", |bench| {
        bench.iter(|| {
            for ((g, &wi), &bi) in wbar.iter_mut().zip(black_box(&w)).zip(black_box(&b)) {
                *g += wi * bi;
            }
            black_box(&wbar);
        })
    });
}

/// The arithmetic of the update adjoint of `F^bio` on its own, one sweep
/// per path and column: the six sweeps down every column `j` of every
/// layer (`G_j . e`, `G_j . yhat`, then `ebar += p G_j`,
/// `yhatbar += q G_j`, `yhatbar += r W_j`, `G_j += s G_j + r yhat`;
/// `W_j . yhat` is kept from the step), 14 floating-point operations per
/// weight, with nothing else of the step. Beside `pass` (two operations
/// per weight) it gives the rate this shape of code reaches. The adjoint
/// itself now runs the last four for four columns at a time in one sweep
/// (`adjoint.rs`, `paths4`); this bench keeps the one-sweep-per-path form
/// it replaced, for comparison.
fn sweeps(c: &mut Criterion) {
    let shape = Paper::default();
    let n = shape.weights();
    let (w, mut g) = (vec![0.5f32; n], vec![1e-3f32; n]);
    let width = shape.max_width();
    let (a, u) = (vec![0.1f32; width], vec![0.2f32; width]);
    let (mut abar, mut ubar) = (vec![0.0f32; width], vec![0.0f32; width]);
    c.bench_function("sweeps/bio-update-adjoint/784-170-130-100-70-10", |bench| {
        bench.iter(|| {
            let mut offset = 0;
            let [p, q, r, s] = black_box([1e-6f32, 1e-6, 1e-6, 0.0]);
            let mut sums = 0.0f32;
            for l in 1..=Paper::DEPTH {
                let rows = shape.width(l);
                let size = rows * shape.width(l - 1);
                let (a, u) = (&a[..rows], &u[..rows]);
                let (abar, ubar) = (&mut abar[..rows], &mut ubar[..rows]);
                for (g, w) in
                    g[offset..offset + size].chunks_exact_mut(rows).zip(w[offset..offset + size].chunks_exact(rows))
                {
                    sums += pass::dot(g, a) + pass::dot(g, u);
                    for (x, &gi) in abar.iter_mut().zip(g.iter()) {
                        *x += p * gi;
                    }
                    for (x, &gi) in ubar.iter_mut().zip(g.iter()) {
                        *x += q * gi;
                    }
                    for (x, &wi) in ubar.iter_mut().zip(w) {
                        *x += r * wi;
                    }
                    for (gi, &ui) in g.iter_mut().zip(u) {
                        *gi += s * *gi + r * ui;
                    }
                }
                offset += size;
            }
            black_box((sums, &g, &abar, &ubar));
        })
    });
}

criterion_group!(benches, pass, traffic, sweeps, episode, step);
criterion_main!(benches);
