//! One meta-training episode of the paper's 784-170-130-100-70-10 network
//! (M=5, K=50, Q=10: 250 online steps plus the adjoint), single thread, on
//! the shipped MNIST digits; and one online step on its own.
//!
//! `cargo bench --bench episode`

use criterion::{Criterion, criterion_group, criterion_main};
use metaplasticity::data::OwnedDataset;
use metaplasticity::meta::{ClassIndex, MetaGradient, Penalty, TaskSpec};
use metaplasticity::online::learn;
use metaplasticity::{Activity, AnyPathway, Init, Network, PathwayKind, Rule, shape};
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::SeedableRng;
use std::hint::black_box;

type Paper = shape![784, 170, 130, 100, 70, 10];

fn episode(c: &mut Criterion) {
    let owned = OwnedDataset::mnist_shipped().expect("shipped MNIST");
    let data = owned.view();
    let classes = ClassIndex::new(&data);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let task = TaskSpec::default().draw(&classes, &mut rng).unwrap();
    let mut group = c.benchmark_group("episode");
    group.sample_size(10);
    for (name, rule) in [("F0", Rule::<f32>::fa()), ("bio", Rule::<f32>::bio())] {
        let mut rule = rule;
        let theta: Vec<f32> = (0..rule.len()).map(|r| if r == 0 { 1e-3 } else { 1e-4 }).collect();
        rule.set_thetas(&theta).unwrap();
        let fa = AnyPathway::<f32, Paper>::new(PathwayKind::Alignment, &mut rng, Init::XavierUniform);
        let mut net0 = Network::<f32, Paper, _>::zeros();
        net0.init(&mut rng, Init::XavierUniform);
        let mut net = Network::<f32, Paper, _>::zeros();
        let mut mg = MetaGradient::<f32, Paper>::new(16);
        let mut grad = vec![0.0f32; rule.len()];
        group.bench_function(format!("{name}/fa/784-170-130-100-70-10"), |b| {
            b.iter(|| {
                net.as_mut_slice().copy_from_slice(net0.as_slice());
                black_box(mg.run(&mut net, &fa, &rule, &data, &task, Penalty::None, &mut grad).unwrap());
            })
        });
    }
    group.finish();
}

fn step(c: &mut Criterion) {
    let owned = OwnedDataset::mnist_shipped().expect("shipped MNIST");
    let data = owned.view();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
    let mut net = Network::<f32, Paper, _>::zeros();
    net.init(&mut rng, Init::XavierUniform);
    let fa = AnyPathway::<f32, Paper>::new(PathwayKind::Alignment, &mut rng, Init::XavierUniform);
    let mut act = Activity::<f32, Paper, _>::zeros();
    let mut rule = Rule::<f32>::bio();
    rule.set_thetas(&[1e-3, 1e-4, 1e-4]).unwrap();
    let mut i = 0;
    c.bench_function("step/bio/fa/784-170-130-100-70-10", |b| {
        b.iter(|| {
            i = (i + 1) % data.len();
            black_box(learn(&mut net, &fa, &rule, &mut act, &data, i).unwrap());
        })
    });
}

criterion_group!(benches, episode, step);
criterion_main!(benches);
