//! Meta-learning a rule with `meta::Trainer`: `F^bio = {F^0, F^2, F^9}`
//! through feedback alignment on the shipped 8x8 digits, a few episodes,
//! then the learned coefficients written as a rule file.
//!
//! ```text
//! cargo run --release --example trainer
//! ```
//!
//! The full program, with the paper's network, progress, CSV output,
//! resumption and a baseline, is `metaplasticity meta-train`.

use metaplasticity::data::OwnedDataset;
use metaplasticity::deploy::{RuleFile, encode, encoded_len};
use metaplasticity::meta::{Config, TaskSpec, Trainer};
use metaplasticity::{FixedShape, Rule, shape};

type Small = shape![64, 32, 16, 10];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let digits = OwnedDataset::optdigits_shipped()?;
    let data = digits.view();
    // Tasks of 5 classes, 20 training and 5 query images each.
    let config =
        Config { task: TaskSpec { train: 20, query: 5, ..TaskSpec::default() }, lr: 3e-3, ..Config::default() };
    let mut rule = Rule::<f32>::bio();
    rule.set_thetas(&[0.01, 0.0, 0.0])?;
    let mut trainer = Trainer::<f32, Small>::new(rule, &data, config)?;
    println!("{:>7} {:>9} {:>10}  theta", "episode", "accuracy", "meta-loss");
    for _ in 0..30 {
        let r = trainer.episode(&data)?;
        if r.episode % 5 == 4 {
            println!("{:>7} {:>9.3} {:>10.4}  {:.4?}", r.episode, r.accuracy, r.meta_loss, trainer.theta());
        }
    }
    // The learned rule, for a device: the trainer's rule holds the current
    // coefficients, and its networks' beta goes with it.
    let learned = trainer.rule();
    let mut bytes = vec![0u8; encoded_len(Small::DEPTH, learned.len())];
    let n = encode(&Small::default(), learned, trainer.beta(), &mut bytes)?;
    let file = RuleFile::decode(&bytes[..n])?;
    println!("rule file of {n} bytes; as a Rust const:\n{}", file.const_snippet());
    Ok(())
}
