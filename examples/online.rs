//! Online learning, one sample at a time, through fixed random feedback:
//! the plain update `F^0` with feedback alignment on the shipped 8x8 digits,
//! with held-out accuracy as it learns.
//!
//! ```text
//! cargo run --release --example online
//! ```
//!
//! The full comparison of backprop, feedback alignment and direct feedback
//! alignment on MNIST is `metaplasticity online` (the CLI crate).

use metaplasticity::data::OwnedDataset;
use metaplasticity::online::{correct, learn};
use metaplasticity::{Activity, FeedbackAlignment, Init, Network, Rule, shape};
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::SeedableRng;

/// 64 inputs (8x8 pixels), hidden layers of 32 and 16 units, 10 classes.
type Small = shape![64, 32, 16, 10];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let digits = OwnedDataset::optdigits_shipped()?;
    let data = digits.view();
    let (train, test) = (0..1500, 1500..data.len());

    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let mut net = Network::<f32, Small, _>::zeros();
    net.init(&mut rng, Init::XavierUniform);
    let feedback = FeedbackAlignment::<f32, Small, _>::random(&mut rng, Init::XavierUniform);
    let mut act = Activity::<f32, Small, _>::zeros();
    let mut rule = Rule::<f32>::fa();
    rule.set_thetas(&[0.02])?;

    let accuracy = |net: &Network<f32, Small, Box<[f32]>>, act: &mut Activity<f32, Small, Box<[f32]>>| {
        correct(net, act, &data, test.clone()).map(|hits| hits as f64 / test.len() as f64)
    };
    println!("{:>8} {:>9}", "samples", "accuracy");
    println!("{:>8} {:>9.3}", 0, accuracy(&net, &mut act)?);
    for (seen, i) in train.enumerate() {
        learn(&mut net, &feedback, &rule, &mut act, &data, i)?;
        if (seen + 1) % 300 == 0 {
            println!("{:>8} {:>9.3}", seen + 1, accuracy(&net, &mut act)?);
        }
    }
    Ok(())
}
