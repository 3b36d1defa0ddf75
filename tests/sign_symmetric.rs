//! Sign-symmetric feedback: at every online step the feedback matrices
//! share the signs of the current forward weights (`sign(B_l) =
//! sign(W_{l+1}^T)`), with uSF's magnitudes uniform, frSF's fixed and
//! brSF's redrawn at every step.

#![cfg(feature = "std")]

use metaplasticity::data::OwnedDataset;
use metaplasticity::online::{learn, learn_plastic};
use metaplasticity::{
    Activity, FeedbackPathway, FixedShape, Init, Network, RandomSignSymmetric, RedrawnSignSymmetric, Rule, Shape,
    SignSymmetric, shape,
};
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::SeedableRng;

type Tiny = shape![64, 32, 16, 10];

/// `B_l` (`n_l x n_{l+1}`, row-major) as `pathway` applies it at `weights`:
/// column `i` is the feedback of the unit vector `e_{l+1} = delta_i`.
fn feedback_matrix(pathway: &dyn FeedbackPathway<f32, Tiny>, weights: &[f32], l: usize) -> Vec<Vec<f32>> {
    (0..Tiny::default().width(l + 1))
        .map(|i| {
            let mut unit = vec![0.0; Tiny::default().width(l + 1)];
            unit[i] = 1.0;
            let mut f = vec![0.0; Tiny::default().width(l)];
            pathway.feedback(&Tiny::default(), l, weights, &unit, &unit, &[], &mut f);
            f
        })
        .collect()
}

fn sign(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

#[test]
fn feedback_shares_the_signs_of_the_current_weights_at_every_step() {
    let owned = OwnedDataset::optdigits_shipped().unwrap();
    let data = owned.view();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(4);
    let frsf = RandomSignSymmetric::<f32, Tiny, _>::random(&mut rng, Init::XavierUniform);
    let r = frsf.as_slice().to_vec();
    let pathways: [&dyn FeedbackPathway<f32, Tiny>; 2] = [&SignSymmetric, &frsf];
    for pathway in pathways {
        let mut net = Network::<f32, Tiny, _>::zeros();
        net.init(&mut rng, Init::XavierUniform);
        let mut act = Activity::<f32, Tiny, _>::zeros();
        let mut rule: Rule<f32> = Rule::bio();
        rule.set_thetas(&[0.05, -0.01, 0.005]).unwrap();
        let mut flips = 0;
        for n in 0..40 {
            let before = net.as_slice().to_vec();
            learn(&mut net, pathway, &rule, &mut act, &data, n).unwrap();
            let w = net.as_slice();
            flips += w.iter().zip(&before).filter(|(a, b)| sign(**a) != sign(**b)).count();
            for l in 0..Tiny::DEPTH {
                let (o, rows) = (Tiny::default().weight_offset(l + 1), Tiny::default().width(l + 1));
                let c = (2.0 / (Tiny::default().width(l) + rows) as f64).sqrt() as f32;
                for (i, column) in feedback_matrix(pathway, w, l).iter().enumerate() {
                    for (j, &b) in column.iter().enumerate() {
                        // W_{l+1}[i, j], column-major n_{l+1} x n_l.
                        let wij = w[o + j * rows + i];
                        assert_eq!(sign(b), sign(wij), "{}: step {n}, layer {l}, B[{j}, {i}]", pathway.name());
                        let magnitude = if pathway.name() == "usf" { c } else { r[o + j * rows + i].abs() };
                        assert!((b.abs() - magnitude).abs() <= 1e-6 * magnitude, "{}: |B| = {b}", pathway.name());
                    }
                }
            }
        }
        assert!(flips > 0, "{}: the test needs weights whose signs change", pathway.name());
    }
}

/// brSF: at every online step the signs are the current weights', the
/// magnitudes lie in `[0, a)` (`a = sqrt(6 / (n_l + n_{l+1}))`), and they
/// are new at every step.
#[test]
fn redrawn_magnitudes_share_the_signs_and_change_at_every_step() {
    let owned = OwnedDataset::optdigits_shipped().unwrap();
    let data = owned.view();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
    let mut net = Network::<f32, Tiny, _>::zeros();
    net.init(&mut rng, Init::XavierUniform);
    let mut brsf = RedrawnSignSymmetric::<f32>::new(11, Init::XavierUniform);
    let mut act = Activity::<f32, Tiny, _>::zeros();
    let mut rule: Rule<f32> = Rule::bio();
    rule.set_thetas(&[0.05, -0.01, 0.005]).unwrap();
    let mut previous: Option<Vec<Vec<Vec<f32>>>> = None;
    for n in 0..30 {
        let w = net.as_slice().to_vec();
        let mut now = Vec::new();
        for l in 0..Tiny::DEPTH {
            let (o, rows) = (Tiny::default().weight_offset(l + 1), Tiny::default().width(l + 1));
            let a = (6.0 / (Tiny::default().width(l) + rows) as f64).sqrt() as f32;
            let b = feedback_matrix(&brsf, &w, l);
            for (i, column) in b.iter().enumerate() {
                for (j, &bji) in column.iter().enumerate() {
                    let wij = w[o + j * rows + i];
                    assert_eq!(sign(bji), sign(wij), "step {n}, layer {l}, B[{j}, {i}]");
                    assert!(bji.abs() < a, "step {n}, layer {l}: |B| = {bji} beyond {a}");
                }
            }
            now.push(b);
        }
        if let Some(before) = &previous {
            let (same, all) = before
                .iter()
                .flatten()
                .flatten()
                .zip(now.iter().flatten().flatten())
                .fold((0, 0), |(s, a), (x, y)| (s + usize::from(x.abs() == y.abs()), a + 1));
            assert!(same * 100 < all, "step {n}: {same} of {all} magnitudes as at the step before");
        }
        previous = Some(now);
        assert_eq!(FeedbackPathway::<f32, Tiny>::state(&brsf), &[n as f32]);
        learn_plastic(&mut net, &mut brsf, &rule, &mut act, &data, n).unwrap();
    }
}

/// The magnitudes of one step are distributed as `abs` of the feedback
/// alignment draw (`U(0, a)`, or half-normal with `init` Xavier-normal),
/// and those of two steps are uncorrelated.
#[test]
fn redrawn_magnitudes_have_the_distribution_of_the_draw() {
    type Wide = shape![300, 200, 10];
    let shape = Wide::default();
    let w = vec![1.0f64; Wide::WEIGHTS];
    // The magnitudes of B_0 (300 x 200) at the pathway's current step.
    let mags = |p: &RedrawnSignSymmetric<f64>| -> Vec<f64> { feedback_rows(p, &shape, &w) };
    let var = 2.0 / 500.0;
    for (init, mean, square) in [
        (Init::XavierUniform, (3.0f64 * var).sqrt() / 2.0, var),
        (Init::XavierNormal, (var * 2.0 / std::f64::consts::PI).sqrt(), var),
    ] {
        let mut p = RedrawnSignSymmetric::<f64>::new(3, init);
        let m0 = mags(&p);
        FeedbackPathway::<f64, Wide>::learn(&mut p, &shape, &[], &[]).unwrap();
        let m1 = mags(&p);
        let n = m0.len() as f64;
        let avg = m0.iter().sum::<f64>() / n;
        let sq = m0.iter().map(|m| m * m).sum::<f64>() / n;
        // 60,000 draws: the standard error of the mean is below 0.3% of it.
        assert!((avg / mean - 1.0).abs() < 0.015, "{init:?}: mean {avg} vs {mean}");
        assert!((sq / square - 1.0).abs() < 0.02, "{init:?}: mean square {sq} vs {square}");
        let avg1 = m1.iter().sum::<f64>() / n;
        let cov = m0.iter().zip(&m1).map(|(a, b)| (a - avg) * (b - avg1)).sum::<f64>() / n;
        let corr = cov / (sq - avg * avg);
        assert!(corr.abs() < 0.02, "{init:?}: correlation {corr} between two steps' draws");
    }
}

/// All entries of `B_0` as `p` applies it at weights `w` (one unit vector
/// `e_1` per column of `W_1`).
fn feedback_rows<S: Shape>(p: &RedrawnSignSymmetric<f64>, shape: &S, w: &[f64]) -> Vec<f64> {
    let mut all = Vec::new();
    for i in 0..shape.width(1) {
        let mut unit = vec![0.0; shape.width(1)];
        unit[i] = 1.0;
        let mut f = vec![0.0; shape.width(0)];
        p.feedback(shape, 0, w, &unit, &unit, &[], &mut f);
        all.extend(f);
    }
    all
}

/// The same seed and step give the same draw, whichever way the step was
/// reached; a state the pathway cannot be in is refused and changes nothing.
#[test]
fn redrawn_state_is_the_step_counter() {
    type Wide = shape![30, 20, 10];
    let shape = Wide::default();
    let w = vec![1.0f64; Wide::WEIGHTS];
    let mut walked = RedrawnSignSymmetric::<f64>::new(9, Init::XavierUniform);
    for _ in 0..5 {
        FeedbackPathway::<f64, Wide>::learn(&mut walked, &shape, &[], &[]).unwrap();
    }
    let mut jumped = RedrawnSignSymmetric::<f64>::new(9, Init::XavierUniform);
    FeedbackPathway::<f64, Wide>::set_state(&mut jumped, &[5.0]).unwrap();
    assert_eq!(feedback_rows(&walked, &shape, &w), feedback_rows(&jumped, &shape, &w));
    assert_eq!(walked.step(), 5);
    let other = RedrawnSignSymmetric::<f64>::new(10, Init::XavierUniform);
    assert_ne!(feedback_rows(&walked, &shape, &w), feedback_rows(&other, &shape, &w), "another seed");
    use metaplasticity::Error;
    let cases: [(&[f64], Error); 7] = [
        (&[0.5], Error::InvalidFeedbackState),
        (&[-1.0], Error::InvalidFeedbackState),
        (&[16_777_216.0], Error::InvalidFeedbackState),
        (&[f64::NAN], Error::NonFiniteWeights { what: metaplasticity::BufferKind::Feedback }),
        (&[f64::INFINITY], Error::NonFiniteWeights { what: metaplasticity::BufferKind::Feedback }),
        (&[], Error::BufferLength { what: metaplasticity::BufferKind::Feedback, expected: 1, found: 0 }),
        (&[1.0, 2.0], Error::BufferLength { what: metaplasticity::BufferKind::Feedback, expected: 1, found: 2 }),
    ];
    for (bad, expected) in cases {
        assert_eq!(FeedbackPathway::<f64, Wide>::set_state(&mut jumped, bad), Err(expected), "{bad:?}");
        assert_eq!(jumped.step(), 5, "{bad:?} left the state alone");
    }
    // The counter wraps after 2^24 - 1.
    FeedbackPathway::<f64, Wide>::set_state(&mut jumped, &[16_777_215.0]).unwrap();
    FeedbackPathway::<f64, Wide>::learn(&mut jumped, &shape, &[], &[]).unwrap();
    assert_eq!(jumped.step(), 0);
}
