//! Kolen-Pollack feedback learns: its matrices turn towards the forward
//! weights' transpose on a stream of digits, it runs on caller-provided
//! storage (no heap), a fixed pathway through the plastic step is the plain
//! step, and bad parameters and states are refused. (The exact gradient
//! through its trajectory is checked in `tests/meta_gradient.rs`.)

mod common;

use metaplasticity::data::OwnedDataset;
use metaplasticity::online::{correct, learn, learn_plastic};
use metaplasticity::step::step_plastic;
use metaplasticity::{
    Activity, BufferKind, Error, FeedbackAlignment, FeedbackPathway, FixedShape, Init, KolenPollack, Network, Rule,
    Shape, shape, step,
};

type Tiny = shape![64, 32, 16, 10];

/// The angle in degrees between `B_l^T` and `W_{l+1}`, as flat vectors.
fn angle(b: &[f32], w: &[f32]) -> f64 {
    let dot: f64 = b.iter().zip(w).map(|(&x, &y)| f64::from(x) * f64::from(y)).sum();
    let norm = |v: &[f32]| v.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt();
    (dot / (norm(b) * norm(w))).clamp(-1.0, 1.0).acos().to_degrees()
}

/// Angles for `l = 0, 1, 2` after `steps` online steps of `F^0` through
/// Kolen-Pollack feedback with `eta_B = theta_0` and decay `lambda`, the
/// weights decayed by the same `lambda` after every step (the paper's rules
/// have no decay term, so the test applies it).
fn angles_after(steps: usize, lambda: f32) -> Vec<f64> {
    let owned = OwnedDataset::optdigits_shipped().unwrap();
    let data = owned.view();
    let mut rng = common::rng(3);
    let mut net = Network::<f32, Tiny, _>::zeros();
    net.init(&mut rng, Init::XavierUniform);
    let mut kp = KolenPollack::<f32, Tiny, _>::random(&mut rng, Init::XavierUniform, 0.05, lambda).unwrap();
    let mut act = Activity::<f32, Tiny, _>::zeros();
    let mut rule = Rule::<f32>::fa();
    rule.set_thetas(&[0.05]).unwrap();
    for i in 0..steps {
        learn_plastic(&mut net, &mut kp, &rule, &mut act, &data, i % data.len()).unwrap();
        if lambda > 0.0 {
            net.as_mut_slice().iter_mut().for_each(|w| *w *= 1.0 - lambda);
        }
    }
    let shape = Tiny::default();
    (0..shape.depth())
        .map(|l| {
            let o = shape.weight_offset(l + 1);
            angle(kp.transposed(l), &net.as_slice()[o..o + kp.transposed(l).len()])
        })
        .collect()
}

#[test]
fn the_feedback_turns_towards_the_forward_weights() {
    let start = angles_after(0, 0.0);
    // Independent random draws: about orthogonal.
    assert!(start.iter().all(|&a| (75.0..105.0).contains(&a)), "{start:?}");
    // B and W receive the same updates; their difference stays, so the
    // angle shrinks as the weights move away from their start.
    let without_decay = angles_after(1500, 0.0);
    // With decay on both, their difference decays too.
    let with_decay = angles_after(1500, 2e-3);
    for l in 0..3 {
        assert!(without_decay[l] < start[l] - 15.0, "layer {l}: {start:?} -> {without_decay:?}");
        assert!(
            with_decay[l] < 15.0 && with_decay[l] < without_decay[l],
            "layer {l}: decay {with_decay:?}, none {without_decay:?}"
        );
    }
    eprintln!(
        "angles B_l^T vs W_(l+1): start {start:.1?}, 1500 steps {without_decay:.1?}, with decay {with_decay:.1?}"
    );
}

#[test]
fn it_runs_on_caller_storage_and_learns_online() {
    let owned = OwnedDataset::optdigits_shipped().unwrap();
    let data = owned.view();
    let mut rng = common::rng(4);
    let mut weights = [0.0f32; Tiny::WEIGHTS];
    let mut feedback = [0.0f32; Tiny::WEIGHTS];
    let mut activity = [0.0f32; Tiny::ACTIVITY];
    let mut net = Network::<f32, Tiny, _>::new(&mut weights[..]).unwrap();
    net.init(&mut rng, Init::XavierUniform);
    let mut kp = KolenPollack::<f32, Tiny, _>::new(&mut feedback[..], 0.05, 1e-3).unwrap();
    kp.reinit(&mut rng, Init::XavierUniform);
    let mut act = Activity::<f32, Tiny, _>::new(&mut activity[..]).unwrap();
    let mut rule = Rule::<f32>::fa();
    rule.set_thetas(&[0.05]).unwrap();
    let before = correct(&net, &mut act, &data, 1400..1797).unwrap();
    for i in 0..1400 {
        learn_plastic(&mut net, &mut kp, &rule, &mut act, &data, i).unwrap();
    }
    let after = correct(&net, &mut act, &data, 1400..1797).unwrap();
    assert!(after > 250 && after > 2 * before, "{before} -> {after} of 397");
}

#[test]
fn a_fixed_pathway_through_the_plastic_step_is_the_plain_step() {
    let owned = OwnedDataset::optdigits_shipped().unwrap();
    let data = owned.view();
    let mut rng = common::rng(5);
    let mut a = Network::<f32, Tiny, _>::zeros();
    a.init(&mut rng, Init::XavierUniform);
    let mut b = a.clone();
    let mut fa = FeedbackAlignment::<f32, Tiny, _>::random(&mut rng, Init::XavierUniform);
    let mut act = Activity::<f32, Tiny, _>::zeros();
    let rule = Rule::<f32>::bio();
    for i in 0..50 {
        let x = learn(&mut a, &fa, &rule, &mut act, &data, i).unwrap();
        let y = learn_plastic(&mut b, &mut fa, &rule, &mut act, &data, i).unwrap();
        assert_eq!(x, y);
    }
    assert_eq!(a.as_slice(), b.as_slice());
    let x = [0.5f32; 64];
    let s1 = step(&mut a, &fa, &rule, &mut act, &x, 3).unwrap();
    let s2 = step_plastic(&mut b, &mut fa, &rule, &mut act, &x, 3).unwrap();
    assert_eq!((s1, a.as_slice()), (s2, b.as_slice()));
}

#[test]
fn bad_parameters_and_states_are_refused() {
    let mut rng = common::rng(6);
    for (eta, lambda) in [(f32::NAN, 0.0), (0.1, f32::INFINITY)] {
        assert!(KolenPollack::<f32, Tiny, _>::random(&mut rng, Init::XavierUniform, eta, lambda).is_err());
    }
    let mut kp = KolenPollack::<f32, Tiny, _>::random(&mut rng, Init::XavierUniform, 0.1, 0.0).unwrap();
    let state = kp.state().to_vec();
    assert!(matches!(kp.set_state(&state[1..]), Err(Error::BufferLength { what: BufferKind::Feedback, .. })));
    let mut bad = state.clone();
    bad[7] = f32::NAN;
    assert!(kp.set_state(&bad).is_err());
    assert_eq!(kp.state(), &state[..], "nothing was written");
    assert!(kp.set_params(&[0.1]).is_err());
    assert!(kp.set_params(&[0.1, f32::NAN]).is_err());
    assert_eq!(kp.params(), &[0.1, 0.0]);
    assert_eq!(kp.param_names(), &["eta_B", "lambda_B"]);
    // A state that overflows is reported by the step that made it.
    let mut net = Network::<f32, Tiny, _>::zeros();
    net.init(&mut rng, Init::XavierUniform);
    kp.set_params(&[3e38, 0.0]).unwrap();
    let mut act = Activity::<f32, Tiny, _>::zeros();
    let r = step_plastic(&mut net, &mut kp, &Rule::<f32>::fa(), &mut act, &[1.0; 64], 2);
    assert_eq!(r, Err(Error::NonFiniteWeights { what: BufferKind::Feedback }));
    // Every later step is refused before it changes the weights, even where
    // the rule reads no feedback matrix that overflowed (a review found
    // steps changing the weights while reporting the error).
    let weights = net.as_slice().to_vec();
    for _ in 0..3 {
        let r = step_plastic(&mut net, &mut kp, &Rule::<f32>::fa(), &mut act, &[1.0; 64], 2);
        assert_eq!(r, Err(Error::NonFiniteWeights { what: BufferKind::Feedback }));
        assert_eq!(net.as_slice(), &weights[..], "the weights are left alone");
    }
    // A new state makes it usable again.
    kp.set_params(&[0.01, 0.0]).unwrap();
    kp.set_state(&state).unwrap();
    assert!(step_plastic(&mut net, &mut kp, &Rule::<f32>::fa(), &mut act, &[1.0; 64], 2).is_ok());
}
