//! A plasticity term of your own, used for online learning and
//! meta-learned like the built-in ones.
//!
//! The term is plain Hebbian plasticity, `F = y_l y_{l-1}^T` (column `j` is
//! `y_{l-1,j} y_l`). It supplies its update and its vector-Jacobian product;
//! the meta-gradient then flows through it with no other code. Here it joins
//! `F^0` and both coefficients are meta-learned on the shipped 8x8 digits
//! with the microcontroller-sized 64-32-16-10 network:
//!
//! ```text
//! cargo run --release --example custom_term
//! ```

use metaplasticity::data::OwnedDataset;
use metaplasticity::meta::{Config, TaskSpec, Trainer};
use metaplasticity::{Column, ColumnBar, LayerSet, Mix, Mixes, PlasticityTerm, Real, Rule, Signals, shape, terms};

/// Plain Hebbian plasticity, `F = y_l y_{l-1}^T`.
struct Hebb;

impl<T: Real> PlasticityTerm<T> for Hebb {
    fn name(&self) -> &'static str {
        "hebb"
    }
    /// Only the coefficient of `yhat_l` is written.
    fn mixes(&self) -> Mixes {
        Mixes::POST
    }
    /// Column `j` of `k y_l y_{l-1}^T` is `k y_{l-1,j} y_l`.
    fn mix(&self, k: T, s: &Signals<'_, T>, c: &Column<'_, T>, m: &mut Mix<T>) {
        m.post += k * s.pre[c.j];
    }
    /// `m.post = k y_{l-1,j}`: its partials with respect to `k` and `y_{l-1,j}`,
    /// times `g.post = dL/d(m.post)`.
    fn mix_adjoint(&self, k: T, s: &Signals<'_, T>, c: &Column<'_, T>, g: &Mix<T>, bar: &mut ColumnBar<T>) {
        bar.k += s.pre[c.j] * g.post;
        bar.pre += k * g.post;
    }
}

type Tiny = shape![64, 32, 16, 10];

const EPISODES: usize = 300;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let owned = OwnedDataset::optdigits_shipped()?;
    let data = owned.view();
    let config =
        Config { task: TaskSpec { classes: 5, train: 20, query: 10, ..TaskSpec::default() }, ..Config::default() };
    // The same tasks, initial weights and feedback for both rules (same seed).
    let plain = Rule::<f32>::new().with(&terms::PseudoGradient, 4e-2, LayerSet::ALL)?;
    let hebb = plain.clone().with(&Hebb, 0.0, LayerSet::ALL)?;
    let mut runs =
        [Trainer::<f32, Tiny>::new(plain, &data, config.clone())?, Trainer::<f32, Tiny>::new(hebb, &data, config)?];
    println!("mean meta-accuracy of each block of 50 episodes (5-way tasks, chance 0.2)");
    println!("{:>8} {:>10} {:>12} {:>12} {:>12}", "episodes", "F0", "F0 + hebb", "theta_F0", "theta_hebb");
    let mut sums = [0.0; 2];
    for n in 1..=EPISODES {
        for (sum, t) in sums.iter_mut().zip(runs.iter_mut()) {
            *sum += t.episode(&data)?.accuracy;
        }
        if n % 50 == 0 {
            let th = runs[1].theta();
            println!("{:>8} {:>10.3} {:>12.3} {:>12.4e} {:>12.4e}", n, sums[0] / 50.0, sums[1] / 50.0, th[0], th[1]);
            sums = [0.0; 2];
        }
    }
    println!("\nThe meta-gradient flows through the user's term like any other: here it");
    println!("makes plain Hebbian plasticity slightly anti-Hebbian, and the rule does not");
    println!("beat F0 alone: unnormalised Hebbian growth does not help this network");
    println!("(compare Oja's rule, F9, which normalises it).");
    Ok(())
}
