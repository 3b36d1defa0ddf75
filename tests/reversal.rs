//! The in-place reversal of the meta-gradient ([`Reversal::Invert`]) against
//! the recomputation from checkpoints ([`Reversal::Recompute`], itself
//! checked against finite differences in `tests/meta_gradient.rs`): the
//! same meta-loss bit for bit (the forward pass is the same), the same
//! gradient up to the rounding drift of the inverse, which these tests
//! bound in `f64` and `f32`; and where the inverse is refused (terms that
//! cannot be inverted column by column, or a segment whose inverse would
//! amplify rounding too much) the recomputed gradient bit for bit.
//!
//! Every term of the pool is inverted, `F^6` and `F^7` too: their scale
//! `yhat_l^T W_l e_{l-1}` reads the whole layer, but through the product
//! `W_l^T yhat_l` that the update keeps in its activity.

#![cfg(feature = "std")]

use metaplasticity::data::OwnedDataset;
use metaplasticity::idx::{Dataset, Images, Labels};
use metaplasticity::meta::{ClassIndex, MetaGradient, Penalty, Reversal, Task, TaskSpec};
use metaplasticity::term::{Column, ColumnBar, Mix, Mixes, PlasticityTerm, Signals};
use metaplasticity::{
    Backprop, DirectFeedbackAlignment, FeedbackAlignment, FeedbackPathway, FixedShape, Init, LayerSet, Network, Real,
    Rule, shape, terms,
};
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::{Rng, SeedableRng};

type Small = shape![6, 5, 4, 3];
type Digits = shape![64, 32, 16, 10];

#[derive(Clone, Copy, Debug)]
enum Path {
    Bp,
    Fa,
    Dfa,
}

/// One episode's setting, all but the network shape and the reversal.
struct Case<'a, T: Real> {
    data: &'a Dataset<'a>,
    task: &'a Task,
    path: Path,
    terms: Vec<&'static dyn PlasticityTerm<T>>,
    theta: &'a [f64],
    interval: usize,
}

impl<T: Real> Case<'_, T> {
    /// Meta-loss, gradient and segments inverted of one episode of `S`.
    fn episode<S: FixedShape>(&self, reversal: Reversal) -> (f64, Vec<f64>, usize) {
        let mut rule = Rule::<T, 10>::new();
        for (&t, &th) in self.terms.iter().zip(self.theta) {
            rule.push(t, T::of(th), LayerSet::ALL).unwrap();
        }
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
        let mut net = Network::<T, S, _>::zeros();
        net.init(&mut rng, Init::XavierUniform);
        let mut fa = FeedbackAlignment::<T, S, _>::random(&mut rng, Init::XavierUniform);
        let mut dfa = DirectFeedbackAlignment::<T, S, _>::random(&mut rng, Init::XavierUniform);
        let mut bp = Backprop;
        let pathway: &mut dyn FeedbackPathway<T, S> = match self.path {
            Path::Bp => &mut bp,
            Path::Fa => &mut fa,
            Path::Dfa => &mut dfa,
        };
        let mut mg = MetaGradient::<T, S>::new(self.interval).with_reversal(reversal);
        let mut grad = vec![T::zero(); self.theta.len()];
        let r =
            mg.run(&mut net, pathway, &rule, self.data, self.task, Penalty::L1(0.1), &mut grad).expect("episode runs");
        let segments = self.task.train.len().div_ceil(self.interval);
        let inverted = mg.segments_inverted();
        match reversal {
            Reversal::Recompute => assert_eq!(inverted, 0),
            Reversal::Invert => assert!(inverted <= segments),
        }
        (r.meta_loss, grad.iter().map(|g| g.to_f64()).collect(), inverted)
    }

    /// Largest difference between the gradients of the two reversals,
    /// relative to the largest entry of the recomputed one, and the segments
    /// inverted; asserts the meta-losses are equal bit for bit.
    fn drift<S: FixedShape>(&self) -> (f64, usize) {
        let (l0, g0, _) = self.episode::<S>(Reversal::Recompute);
        let (l1, g1, inverted) = self.episode::<S>(Reversal::Invert);
        assert_eq!(l0.to_bits(), l1.to_bits(), "the forward pass is the same");
        let scale = g0.iter().fold(0.0f64, |m, g| m.max(g.abs()));
        assert!(scale > 0.0, "gradient vanishes");
        (g0.iter().zip(&g1).fold(0.0f64, |m, (a, b)| m.max((a - b).abs() / scale)), inverted)
    }
}

/// 3 classes x 12 images of 2x3 random pixels, 20 online steps.
fn small_data() -> (Vec<u8>, Vec<u8>, Task) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let labels: Vec<u8> = (0..36).map(|i| (i % 3) as u8).collect();
    let images = (0..36 * 6).map(|_| (rng.next_u32() >> 24) as u8).collect();
    let task = Task { train: (0..20).map(|i| (i * 7) % 30).collect(), query: (30..36).collect() };
    (images, labels, task)
}

fn named<T: Real>(rs: &[usize]) -> Vec<&'static dyn PlasticityTerm<T>> {
    let pool = terms::pool::<T>();
    rs.iter().map(|&r| pool[r]).collect()
}

/// Every invertible rule of the paper and every pathway, in `f64`: the
/// inverse's drift stays at the level of rounding.
#[test]
fn invert_matches_recompute_in_f64() {
    let (img, lab, task) = small_data();
    let data = Dataset::new(Images::from_raw(&img, 36, 2, 3).unwrap(), Labels::new(&lab), 3).unwrap();
    let rules: [(&[usize], &[f64]); 8] = [
        (&[0], &[0.3]),
        (&[0, 2], &[0.3, -0.05]),
        (&[0, 9], &[0.3, 0.05]),
        (&[0, 2, 9], &[0.3, -0.05, 0.05]),
        (&[0, 6], &[0.3, 0.02]),
        (&[0, 7], &[0.3, -0.02]),
        (&[0, 1, 2, 3, 4, 5, 8, 9], &[0.3, -0.02, 0.04, 0.01, -0.01, 0.02, 0.01, 0.05]),
        (&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], &[0.3, -0.02, 0.04, 0.01, -0.01, 0.02, 0.02, -0.02, 0.01, 0.05]),
    ];
    let mut worst = 0.0f64;
    for path in [Path::Bp, Path::Fa, Path::Dfa] {
        for (rs, theta) in rules {
            for interval in [4, 7, 20] {
                let (d, inverted) =
                    Case::<f64> { data: &data, task: &task, path, terms: named(rs), theta, interval }.drift::<Small>();
                assert!(d < 1e-12, "{path:?}, terms {rs:?}, interval {interval}: relative drift {d:e}");
                // Every segment is walked back: the only gain is weight
                // decay's, 1.01 a step here.
                assert_eq!(inverted, task.train.len().div_ceil(interval), "{path:?}, terms {rs:?}, {interval}");
                worst = worst.max(d);
            }
        }
    }
    println!("largest relative drift in f64: {worst:e}");
}

/// The paper's network shape on the shipped 8x8 digits in `f32`, with a
/// full 250-step task and the default interval of 16: the drift of the
/// inverse against the gradient recomputed from checkpoints.
#[test]
fn invert_drift_in_f32_on_digits() {
    let owned = OwnedDataset::optdigits_shipped().unwrap();
    let data = owned.view();
    let classes = ClassIndex::new(&data);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
    let task = TaskSpec::default().draw(&classes, &mut rng).unwrap();
    let cases: [(&[usize], &[f64]); 4] = [
        (&[0], &[1e-2]),
        (&[0, 2, 9], &[1e-2, -4e-2, 1e-2]),
        (&[0, 2, 3, 9], &[1e-2, -4e-2, 1e-3, 5e-3]),
        // The pool of ten terms.
        (&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], &[1e-2, 1e-3, -4e-2, 1e-3, 1e-3, 1e-3, 1e-3, -1e-3, 1e-3, 5e-3]),
    ];
    for (rs, theta) in cases {
        let (d, inverted) =
            Case::<f32> { data: &data, task: &task, path: Path::Fa, terms: named(rs), theta, interval: 16 }
                .drift::<Digits>();
        println!("terms {rs:?}: relative drift in f32 {d:e}, {inverted} of 16 segments inverted");
        assert!(inverted > 0, "terms {rs:?}: no segment inverted");
        assert!(d < 1e-4, "terms {rs:?}: relative drift {d:e}");
    }
}

/// A term of your own: plain Hebbian plasticity `y_l y_{l-1}^T`. The
/// inverse does not know its form.
struct Hebb;

impl PlasticityTerm<f64> for Hebb {
    fn name(&self) -> &'static str {
        "hebb"
    }
    fn mixes(&self) -> Mixes {
        Mixes::POST
    }
    fn mix(&self, k: f64, s: &Signals<'_, f64>, c: &Column<'_, f64>, m: &mut Mix<f64>) {
        m.post += k * s.pre[c.j];
    }
    fn mix_adjoint(&self, k: f64, s: &Signals<'_, f64>, c: &Column<'_, f64>, g: &Mix<f64>, bar: &mut ColumnBar<f64>) {
        bar.k += s.pre[c.j] * g.post;
        bar.pre += k * g.post;
    }
}

/// A rule the inverse cannot walk back (a term of your own, beside pool
/// terms it could) is recomputed: the gradient bit for bit.
#[test]
fn rules_without_inverse_recompute_exactly() {
    let (img, lab, task) = small_data();
    let data = Dataset::new(Images::from_raw(&img, 36, 2, 3).unwrap(), Labels::new(&lab), 3).unwrap();
    let cases: [(&[usize], &[f64]); 2] = [(&[], &[0.05]), (&[0, 6, 9], &[0.3, 0.02, 0.05, -0.05])];
    for (rs, theta) in cases {
        let mut terms = named(rs);
        terms.push(&Hebb);
        let case = Case::<f64> { data: &data, task: &task, path: Path::Fa, terms, theta, interval: 5 };
        let (l0, g0, _) = case.episode::<Small>(Reversal::Recompute);
        let (l1, g1, inverted) = case.episode::<Small>(Reversal::Invert);
        assert_eq!(inverted, 0, "terms {rs:?} and hebb");
        assert_eq!(l0.to_bits(), l1.to_bits());
        for (a, b) in g0.iter().zip(&g1) {
            assert_eq!(a.to_bits(), b.to_bits(), "terms {rs:?} and hebb: {a} vs {b}");
        }
    }
}

/// Oja's term with a large coefficient contracts the weights along
/// `yhat_l`, but the inverse reads the `W_j . yhat_l` the update kept and
/// does not expand them back: every segment is walked back. A large weight
/// decay `F^3` does expand them (gain `1 / (1 - theta_3)` a step) past
/// [`metaplasticity::meta::MAX_INVERSE_GAIN`]: those segments are finished
/// by recomputation. The gradient keeps to the drift bound throughout.
#[test]
fn large_decay_falls_back_to_recomputation_and_large_oja_does_not() {
    let (img, lab, task) = small_data();
    let data = Dataset::new(Images::from_raw(&img, 36, 2, 3).unwrap(), Labels::new(&lab), 3).unwrap();
    let cases: [(usize, f64, bool); 4] = [(9, 0.05, true), (9, 2.5, true), (3, 0.05, true), (3, 0.6, false)];
    for (r, theta, all) in cases {
        let (d, inverted) = Case::<f64> {
            data: &data,
            task: &task,
            path: Path::Fa,
            terms: named(&[0, r]),
            theta: &[0.3, theta],
            interval: 5,
        }
        .drift::<Small>();
        assert!(d < 1e-12, "theta_{r} = {theta}: relative drift {d:e}");
        assert_eq!(inverted == 4, all, "theta_{r} = {theta}: {inverted} of 4 segments inverted");
    }
}
