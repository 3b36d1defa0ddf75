//! Sign-symmetric feedback: at every online step the feedback matrices
//! share the signs of the current forward weights (`sign(B_l) =
//! sign(W_{l+1}^T)`), with uSF's magnitudes uniform and frSF's fixed.

#![cfg(feature = "std")]

use metaplasticity::data::OwnedDataset;
use metaplasticity::online::learn;
use metaplasticity::{
    Activity, FeedbackPathway, FixedShape, Init, Network, RandomSignSymmetric, Rule, Shape, SignSymmetric, shape,
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
