//! Meta-learning works: on the shipped MNIST digits, 200 episodes of F^bio
//! (from theta_0 = 1e-3, the others 0) reach a clearly higher meta-accuracy
//! than F^0 with feedback alignment, meta-trained on the same tasks (same
//! seed: same tasks, same initial weights, same feedback matrices).
//!
//! About 20 s in a release build (`cargo test --release`).

#![cfg(feature = "std")]

use metaplasticity::data::OwnedDataset;
use metaplasticity::meta::{Config, Record, Trainer};
use metaplasticity::{Rule, shape};

type Paper = shape![784, 170, 130, 100, 70, 10];

const EPISODES: usize = 200;

fn mean_last_50(records: &[Record]) -> f64 {
    let tail = &records[records.len() - 50..];
    assert!(tail.iter().all(|r| r.ok), "an episode diverged");
    tail.iter().map(|r| r.accuracy).sum::<f64>() / 50.0
}

fn train(rule: Rule<'static, f32>) -> (Vec<Record>, Vec<f64>) {
    let owned = OwnedDataset::mnist_shipped().expect("shipped MNIST");
    let data = owned.view();
    let mut trainer = Trainer::<f32, Paper>::new(rule, &data, Config { seed: 11, ..Config::default() }).unwrap();
    let records = (0..EPISODES).map(|_| trainer.episode(&data).expect("episode")).collect();
    (records, trainer.theta().to_vec())
}

#[test]
fn bio_beats_feedback_alignment_after_200_episodes() {
    let (bio, fa) = std::thread::scope(|s| {
        let fa = s.spawn(|| train(Rule::fa()));
        (train(Rule::bio()), fa.join().unwrap())
    });
    let (acc_bio, acc_fa) = (mean_last_50(&bio.0), mean_last_50(&fa.0));
    eprintln!(
        "mean meta-accuracy of episodes 150-199: bio {acc_bio:.3}, FA {acc_fa:.3}; final Theta bio {:?}, FA {:?}",
        bio.1, fa.1
    );
    // Chance is 0.2 (5-way tasks).
    assert!(acc_bio > acc_fa + 0.15, "F^bio {acc_bio:.3} is not clearly above F^0 with FA {acc_fa:.3}");
    // The first episode of both runs sees the same task and weights, with the
    // same theta_0 and (F^bio's other coefficients zero) the same update.
    assert_eq!(bio.0[0].accuracy, fa.0[0].accuracy);
    assert_eq!(bio.0[0].query_loss, fa.0[0].query_loss);
}
