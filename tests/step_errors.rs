//! Bad input gives typed errors and leaves the weights bit-identical;
//! overflow is detected; the paper's network runs on a 2 MiB thread.
//!
//! Every error case is checked in `f32` and `f64`, and "unchanged" means the
//! same bit patterns (NaN payloads included), not approximate equality.
#![cfg(feature = "std")]

mod common;

use common::{below, bits, uniform_vec};
use metaplasticity::{
    Activity, Backprop, BufferKind, DirectFeedbackAlignment, Error, FeedbackAlignment, FeedbackPathway, FixedShape,
    Init, LayerSet, Network, Real, Rule, Shape, shape, step, terms,
};

type Net3 = shape![5, 7, 6, 4];
type Paper = shape![784, 170, 130, 100, 70, 10];

type Net<T, S> = Network<T, S, Box<[T]>>;
type Fa<T, S> = FeedbackAlignment<T, S, Box<[T]>>;

/// A seeded network, feedback-alignment pathway, input in `[0.1, 1)` and label.
fn setup<T: Real, S: FixedShape>(seed: u64) -> (Net<T, S>, Fa<T, S>, Vec<T>, usize) {
    let mut rng = common::rng(seed);
    let mut net = Net::<T, S>::zeros();
    net.init(&mut rng, Init::XavierUniform);
    let fa = Fa::<T, S>::random(&mut rng, Init::XavierUniform);
    let x = uniform_vec(&mut rng, S::INPUT, 0.1, 1.0);
    let label = below(&mut rng, S::OUTPUT);
    (net, fa, x, label)
}

/// A rule that touches every layer and reads everything (so that no part of
/// the step is skipped): the pool with small coefficients.
fn pool_rule<T: Real>() -> Rule<'static, T> {
    let mut rule = Rule::<T>::pool();
    let thetas: Vec<T> = (0..10).map(|r| T::of(1e-3 * (1.0 + r as f64))).collect();
    rule.set_thetas(&thetas).unwrap();
    rule
}

/// Runs `step` and asserts it fails with `want` and leaves the weights
/// bit-identical.
fn expect_error<T: Real, S: FixedShape, P: FeedbackPathway<T, S>>(
    net: &mut Net<T, S>,
    pathway: &P,
    rule: &Rule<'_, T>,
    x: &[T],
    label: usize,
    want: Error,
) {
    let before = bits(net.as_slice());
    let mut act = Activity::<T, S, _>::zeros();
    let got = step(net, pathway, rule, &mut act, x, label);
    assert_eq!(got, Err(want));
    assert_eq!(bits(net.as_slice()), before, "weights changed by a failed step ({want})");
}

fn label_out_of_range<T: Real>() {
    let (mut net, fa, x, _) = setup::<T, Net3>(1);
    let rule = pool_rule::<T>();
    for label in [4, 5, 1000, usize::MAX] {
        let want = Error::LabelOutOfRange { label, classes: 4 };
        expect_error(&mut net, &fa, &rule, &x, label, want);
        expect_error(&mut net, &Backprop, &rule, &x, label, want);
    }
    // Still usable.
    let mut act = Activity::<T, Net3, _>::zeros();
    assert!(step(&mut net, &fa, &rule, &mut act, &x, 3).is_ok());
}

#[test]
fn label_out_of_range_f32() {
    label_out_of_range::<f32>();
}

#[test]
fn label_out_of_range_f64() {
    label_out_of_range::<f64>();
}

fn wrong_input_length<T: Real>() {
    let (mut net, fa, x, label) = setup::<T, Net3>(2);
    let rule = pool_rule::<T>();
    for n in [0, 4, 6, 784] {
        let mut short = x.clone();
        short.resize(n, T::of(0.5));
        let want = Error::BufferLength { what: BufferKind::Input, expected: 5, found: n };
        expect_error(&mut net, &fa, &rule, &short, label, want);
        let mut act = Activity::<T, Net3, _>::zeros();
        assert_eq!(net.forward(&short, &mut act), Err(want));
    }
}

#[test]
fn wrong_input_length_f32() {
    wrong_input_length::<f32>();
}

#[test]
fn wrong_input_length_f64() {
    wrong_input_length::<f64>();
}

fn non_finite_input<T: Real>() {
    let (mut net, fa, x, label) = setup::<T, Net3>(3);
    let rule = pool_rule::<T>();
    let nan = T::zero() / T::zero();
    let inf = T::one() / T::zero();
    for bad in [nan, inf, -inf] {
        for index in 0..Net3::INPUT {
            let mut xb = x.clone();
            xb[index] = bad;
            let want = Error::NonFiniteInput { index };
            expect_error(&mut net, &fa, &rule, &xb, label, want);
            expect_error(&mut net, &Backprop, &Rule::<T>::fa(), &xb, label, want);
            let mut act = Activity::<T, Net3, _>::zeros();
            assert_eq!(net.forward(&xb, &mut act), Err(want));
        }
    }
    // The first bad entry is reported.
    let mut xb = x.clone();
    xb[1] = inf;
    xb[3] = nan;
    expect_error(&mut net, &fa, &rule, &xb, label, Error::NonFiniteInput { index: 1 });
}

#[test]
fn non_finite_input_f32() {
    non_finite_input::<f32>();
}

#[test]
fn non_finite_input_f64() {
    non_finite_input::<f64>();
}

fn non_finite_theta<T: Real>() {
    let nan = T::zero() / T::zero();
    let inf = T::one() / T::zero();
    let mut rule = Rule::<T>::bio();
    let good = [T::of(1e-3), T::of(-2e-3), T::of(3e-3)];
    rule.set_thetas(&good).unwrap();
    for bad in [nan, inf, -inf] {
        for index in 0..3 {
            let mut theta = good;
            theta[index] = bad;
            assert_eq!(rule.set_thetas(&theta), Err(Error::NonFiniteTheta { index }));
            // The rule is unchanged.
            let mut now = [T::zero(); 3];
            rule.thetas(&mut now).unwrap();
            assert_eq!(now, good);
            assert!(rule.check().is_ok());
        }
        // push / with: the index is the position the term would take.
        let before = rule.len();
        assert_eq!(rule.push(&terms::WeightDecay, bad, LayerSet::ALL), Err(Error::NonFiniteTheta { index: before }));
        assert_eq!(rule.len(), before);
        assert!(matches!(
            Rule::<T>::new().with(&terms::Oja, bad, LayerSet::ALL),
            Err(Error::NonFiniteTheta { index: 0 })
        ));
    }
    for n in [0, 2, 4] {
        let theta = vec![T::one(); n];
        assert_eq!(
            rule.set_thetas(&theta),
            Err(Error::BufferLength { what: BufferKind::Theta, expected: 3, found: n })
        );
        let mut out = vec![T::zero(); n];
        assert!(matches!(rule.thetas(&mut out), Err(Error::BufferLength { what: BufferKind::Theta, .. })));
    }
    // A full rule hands the term back as an error.
    let mut small = Rule::<T, 2>::new();
    small.push(&terms::PseudoGradient, T::one(), LayerSet::ALL).unwrap();
    small.push(&terms::ErrorHebb, T::one(), LayerSet::ALL).unwrap();
    assert_eq!(small.push(&terms::Oja, T::one(), LayerSet::ALL), Err(Error::RuleFull { capacity: 2 }));
    assert_eq!(small.len(), 2);
}

#[test]
fn non_finite_theta_f32() {
    non_finite_theta::<f32>();
}

#[test]
fn non_finite_theta_f64() {
    non_finite_theta::<f64>();
}

fn buffer_lengths<T: Real>() {
    let zero = T::zero();
    for (n, ok) in [(Net3::WEIGHTS, true), (Net3::WEIGHTS - 1, false), (Net3::WEIGHTS + 1, false), (0, false)] {
        let want = Error::BufferLength { what: BufferKind::Weights, expected: Net3::WEIGHTS, found: n };
        match Network::<T, Net3, _>::new(vec![zero; n]) {
            Ok(_) => assert!(ok),
            Err(e) => assert_eq!((ok, e), (false, want)),
        }
        let want = Error::BufferLength { what: BufferKind::Feedback, expected: Net3::WEIGHTS, found: n };
        match FeedbackAlignment::<T, Net3, _>::new(vec![zero; n]) {
            Ok(_) => assert!(ok),
            Err(e) => assert_eq!((ok, e), (false, want)),
        }
    }
    for (n, ok) in
        [(Net3::ACTIVITY, true), (Net3::ACTIVITY - 1, false), (Net3::ACTIVITY + 1, false), (Net3::UNITS, false)]
    {
        let want = Error::BufferLength { what: BufferKind::Activity, expected: Net3::ACTIVITY, found: n };
        match Activity::<T, Net3, _>::new(vec![zero; n]) {
            Ok(_) => assert!(ok),
            Err(e) => assert_eq!((ok, e), (false, want)),
        }
    }
    for (n, ok) in [(Net3::DIRECT, true), (Net3::DIRECT - 1, false), (Net3::DIRECT + 1, false), (Net3::WEIGHTS, false)]
    {
        let want = Error::BufferLength { what: BufferKind::DirectFeedback, expected: Net3::DIRECT, found: n };
        match DirectFeedbackAlignment::<T, Net3, _>::new(vec![zero; n]) {
            Ok(_) => assert!(ok),
            Err(e) => assert_eq!((ok, e), (false, want)),
        }
    }
    // Borrowed storage works the same way.
    let mut storage = [zero; Net3::WEIGHTS + 1];
    assert!(matches!(Network::<T, Net3, _>::new(&mut storage[..]), Err(Error::BufferLength { .. })));
    assert!(Network::<T, Net3, _>::new(&mut storage[..Net3::WEIGHTS]).is_ok());
}

#[test]
fn buffer_lengths_f32() {
    buffer_lengths::<f32>();
}

#[test]
fn buffer_lengths_f64() {
    buffer_lengths::<f64>();
}

fn non_finite_at_construction<T: Real>() {
    let nan = T::zero() / T::zero();
    let inf = T::one() / T::zero();
    let w = Net3::WEIGHTS;
    let d = Net3::DIRECT;
    for bad in [nan, inf, -inf] {
        for at in [0, w / 2, w - 1] {
            let mut buf = vec![T::of(0.1); w];
            buf[at] = bad;
            assert_eq!(
                Network::<T, Net3, _>::new(buf.clone()).err(),
                Some(Error::NonFiniteWeights { what: BufferKind::Weights })
            );
            assert_eq!(
                FeedbackAlignment::<T, Net3, _>::new(buf).err(),
                Some(Error::NonFiniteWeights { what: BufferKind::Feedback })
            );
        }
        for at in [0, d / 2, d - 1] {
            let mut buf = vec![T::of(0.1); d];
            buf[at] = bad;
            assert_eq!(
                DirectFeedbackAlignment::<T, Net3, _>::new(buf).err(),
                Some(Error::NonFiniteWeights { what: BufferKind::DirectFeedback })
            );
        }
        // An activity buffer may hold anything: it is scratch space.
        assert!(Activity::<T, Net3, _>::new(vec![bad; Net3::ACTIVITY]).is_ok());
        // The softplus sharpness must be finite and positive.
        assert_eq!(Net3Of::<T>::zeros().with_beta(bad).err(), Some(Error::InvalidBeta));
    }
    for beta in [T::zero(), -T::one()] {
        assert_eq!(Net3Of::<T>::zeros().with_beta(beta).err(), Some(Error::InvalidBeta));
    }
    assert!(Net3Of::<T>::zeros().with_beta(T::of(2.0)).is_ok());
}

type Net3Of<T> = Net<T, Net3>;

#[test]
fn non_finite_at_construction_f32() {
    non_finite_at_construction::<f32>();
}

#[test]
fn non_finite_at_construction_f64() {
    non_finite_at_construction::<f64>();
}

fn forward_overflow<T: Real>() {
    let big = T::max_value().unwrap();
    let (net0, fa, x, label) = setup::<T, Net3>(4);
    let rule = pool_rule::<T>();
    let o2 = Net3::default().weight_offset(2);

    // Layer 1 overflows: W_1 = max, x > 0, so z_1 = sum max x_j = inf.
    let mut net = net0.clone();
    net.as_mut_slice()[..o2].fill(big);
    let want = Error::NonFiniteSignal { layer: 1 };
    expect_error(&mut net, &fa, &rule, &x, label, want);
    expect_error(&mut net, &Backprop, &rule, &x, label, want);
    let mut act = Activity::<T, Net3, _>::zeros();
    assert_eq!(net.forward(&x, &mut act), Err(want));

    // Layer 2 overflows: W_1 = 1 makes y_1 = softplus(sum x) >= 0.5, and
    // W_2 = max gives z_2 >= 3.5 max = inf.
    let mut net = net0.clone();
    let o3 = Net3::default().weight_offset(3);
    net.as_mut_slice()[..o2].fill(T::one());
    net.as_mut_slice()[o2..o3].fill(big);
    let want = Error::NonFiniteSignal { layer: 2 };
    expect_error(&mut net, &fa, &rule, &x, label, want);
    expect_error(&mut net, &Backprop, &Rule::<T>::fa(), &x, label, want);
    assert_eq!(net.forward(&x, &mut act), Err(want));

    // Huge but finite weights whose products stay finite are fine.
    let mut net = net0.clone();
    for w in net.as_mut_slice() {
        *w *= T::of(1e3);
    }
    assert!(net.forward(&x, &mut act).is_ok());
}

#[test]
fn forward_overflow_f32() {
    forward_overflow::<f32>();
}

#[test]
fn forward_overflow_f64() {
    forward_overflow::<f64>();
}

/// The feedback overflows: `B_{L-1}` with entries `max sign(e_{L,k})` makes
/// `f_{L-1,i} = max sum_k |e_{L,k}| = 2 max (1 - p_c) = inf` when `p_c < 1/2`.
fn signal_overflow<T: Real>() {
    let big = T::max_value().unwrap();
    let (mut net, fa, x, _) = setup::<T, Net3>(5);
    let mut act = Activity::<T, Net3, _>::zeros();
    net.forward(&x, &mut act).unwrap();
    // The least likely class: p_c <= 1/4.
    let p = act.output().to_vec();
    let label = (0..4).min_by(|&a, &b| p[a].partial_cmp(&p[b]).unwrap()).unwrap();
    assert!(p[label] < T::of(0.5));
    let top = Net3::DEPTH - 1;
    let (n_l, n_next) = (Net3::default().width(top), Net3::default().width(top + 1));
    let mut b = fa.as_slice().to_vec();
    let o = Net3::default().weight_offset(top + 1);
    // B_l is stored row-major (as B_l^T column-major): B_l[i, k] at i n_{l+1} + k.
    for i in 0..n_l {
        for k in 0..n_next {
            b[o + i * n_next + k] = if k == label { -big } else { big };
        }
    }
    let fa = FeedbackAlignment::<T, Net3, _>::new(b).unwrap();
    let want = Error::NonFiniteSignal { layer: top };
    expect_error(&mut net, &fa, &pool_rule::<T>(), &x, label, want);
    expect_error(&mut net, &fa, &Rule::<T>::fa(), &x, label, want);
}

#[test]
fn signal_overflow_f32() {
    signal_overflow::<f32>();
}

#[test]
fn signal_overflow_f64() {
    signal_overflow::<f64>();
}

fn is_finite_layer<T: Real>(net: &Net<T, Net3>, l: usize) -> bool {
    let o = Net3::default().weight_offset(l);
    net.as_slice()[o..o + Net3::default().width(l) * Net3::default().width(l - 1)].iter().all(|w| w.is_finite())
}

fn layer_bits<T: Real>(net: &Net<T, Net3>, l: usize) -> Vec<u64> {
    let o = Net3::default().weight_offset(l);
    bits(&net.as_slice()[o..o + Net3::default().width(l) * Net3::default().width(l - 1)])
}

fn update_overflow<T: Real>() {
    let big = T::max_value().unwrap();
    let (net0, fa, x, label) = setup::<T, Net3>(6);

    // F^0 on layer 1 only, theta = max, inputs >= 2: theta x_j = inf.
    let mut net = net0.clone();
    let xl: Vec<T> = x.iter().map(|&v| v + T::of(2.0)).collect();
    let rule = Rule::<T>::new().with(&terms::PseudoGradient, big, LayerSet::only(1)).unwrap();
    let mut act = Activity::<T, Net3, _>::zeros();
    assert_eq!(step(&mut net, &fa, &rule, &mut act, &xl, label), Err(Error::Diverged { layer: 1 }));
    assert!(!is_finite_layer(&net, 1));
    for l in 2..=Net3::DEPTH {
        assert_eq!(layer_bits(&net, l), layer_bits(&net0, l), "layer {l}");
    }

    // Weight decay with theta = max on every layer, |W_L| = 2: the update
    // W <- W - max W overflows on the last layer only (|W_l| < 1 elsewhere).
    let mut net = net0.clone();
    let top = Net3::DEPTH;
    let o = Net3::default().weight_offset(top);
    net.as_mut_slice()[o..].fill(T::of(2.0));
    let before = net.clone();
    let rule = Rule::<T>::new().with(&terms::WeightDecay, big, LayerSet::ALL).unwrap();
    assert_eq!(step(&mut net, &fa, &rule, &mut act, &x, label), Err(Error::Diverged { layer: top }));
    assert!(!is_finite_layer(&net, top));
    // The documented partial update: earlier layers were updated (and are
    // finite), the diverged layer holds non-finite values.
    for l in 1..top {
        assert!(is_finite_layer(&net, l), "layer {l}");
        assert_ne!(layer_bits(&net, l), layer_bits(&before, l), "layer {l}");
    }
}

#[test]
fn update_overflow_f32() {
    update_overflow::<f32>();
}

#[test]
fn update_overflow_f64() {
    update_overflow::<f64>();
}

/// A NaN written into the weights after construction is reported by the
/// next step (which scans weights written from outside), and nothing is
/// written.
fn nan_written_into_weights<T: Real>() {
    let nan = T::zero() / T::zero();
    let (net0, fa, x, label) = setup::<T, Net3>(7);
    for l in 1..=Net3::DEPTH {
        let mut net = net0.clone();
        let o = Net3::default().weight_offset(l);
        net.as_mut_slice()[o + 1] = nan;
        let want = Error::NonFiniteWeights { what: BufferKind::Weights };
        expect_error(&mut net, &fa, &pool_rule::<T>(), &x, label, want);
        expect_error(&mut net, &Backprop, &Rule::<T>::fa(), &x, label, want);
    }
}

#[test]
fn nan_written_into_weights_f32() {
    nan_written_into_weights::<f32>();
}

#[test]
fn nan_written_into_weights_f64() {
    nan_written_into_weights::<f64>();
}

/// `Network::as_mut_slice` promises that non-finite weights written there
/// "are reported by the next step, never silently used". A NaN in column `j`
/// of `W_1` is skipped by the forward product when `x_j = 0` (a black pixel),
/// so the step must scan weights written from outside: a typed error with
/// the weights unchanged, whatever layers the rule acts on. (Regression test:
/// before the scan, the step succeeded or reported `Diverged`.)
#[test]
fn nan_weight_under_a_zero_input_is_reported() {
    let (net0, fa, mut x, label) = setup::<f64, Net3>(8);
    x[2] = 0.0;
    // W_1[0, 2], in column 2 of W_1, which multiplies x_2 = 0.
    let mut poisoned = net0.clone();
    poisoned.as_mut_slice()[2 * Net3::default().width(1)] = f64::NAN;
    let only_top = Rule::<f64>::new().with(&terms::PseudoGradient, 1e-2, LayerSet::only(Net3::DEPTH)).unwrap();
    for (rule, what) in [(&only_top, "F0 on the top layer"), (&Rule::<f64>::fa(), "F0 on every layer")] {
        let mut net = poisoned.clone();
        let before = bits(net.as_slice());
        let mut act = Activity::<f64, Net3, _>::zeros();
        let r = step(&mut net, &fa, rule, &mut act, &x, label);
        assert_eq!(r, Err(Error::NonFiniteWeights { what: BufferKind::Weights }), "{what}");
        assert_eq!(bits(net.as_slice()), before, "{what}: weights modified");
        // A forward pass reports it too.
        assert_eq!(
            net.forward(&x, &mut act).err(),
            Some(Error::NonFiniteWeights { what: BufferKind::Weights }),
            "{what}"
        );
    }
    // After a divergence, the next step refuses the non-finite weights.
    let mut net = net0.clone();
    let mut act = Activity::<f64, Net3, _>::zeros();
    let huge = Rule::<f64>::new().with(&terms::PseudoGradient, f64::MAX, LayerSet::only(1)).unwrap();
    let xl: Vec<f64> = x.iter().map(|&v| v + 2.0).collect();
    assert_eq!(step(&mut net, &fa, &huge, &mut act, &xl, label), Err(Error::Diverged { layer: 1 }));
    let r = step(&mut net, &fa, &Rule::<f64>::fa(), &mut act, &x, label);
    assert_eq!(r, Err(Error::NonFiniteWeights { what: BufferKind::Weights }), "after divergence");
    // Re-initialising clears it.
    net.init(&mut common::rng(1), Init::XavierUniform);
    assert!(step(&mut net, &fa, &Rule::<f64>::fa(), &mut act, &x, label).is_ok());
}

/// The paper's 784-170-130-100-70-10 network is built on the heap and runs
/// one step of every pathway on a thread with a 2 MiB stack (the default
/// test thread size), in whatever profile the tests are built.
fn paper_network<T: Real>() {
    let mut rng = common::rng(2023);
    let mut net = Net::<T, Paper>::zeros();
    net.init(&mut rng, Init::XavierUniform);
    let fa = Fa::<T, Paper>::random(&mut rng, Init::XavierUniform);
    let dfa = DirectFeedbackAlignment::<T, Paper, _>::random(&mut rng, Init::XavierNormal);
    let mut act = Activity::<T, Paper, _>::zeros();
    // An MNIST-like input: a third of the pixels black.
    let x: Vec<T> =
        (0..Paper::INPUT).map(|i| if i % 3 == 0 { T::zero() } else { T::of((i % 17) as f64 / 17.0) }).collect();
    let label = 7;
    let pool = pool_rule::<T>();
    let bio = Rule::<T>::bio();
    let fa_rule = Rule::<T>::fa();
    for (k, what) in ["fa + pool", "bp + F0", "dfa + bio"].into_iter().enumerate() {
        let before = bits(net.as_slice());
        let result = match k {
            0 => step(&mut net, &fa, &pool, &mut act, &x, label),
            1 => step(&mut net, &Backprop, &fa_rule, &mut act, &x, label),
            _ => step(&mut net, &dfa, &bio, &mut act, &x, label),
        };
        let outcome = result.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(outcome.loss.is_finite() && outcome.loss > T::zero(), "{what}");
        assert!(outcome.prediction < Paper::OUTPUT);
        assert!(net.as_slice().iter().all(|w| w.is_finite()), "{what}");
        assert_ne!(bits(net.as_slice()), before, "{what}: nothing learned");
    }
    assert_eq!(net.as_slice().len(), 176_080);
}

fn on_small_stack(f: fn()) {
    std::thread::Builder::new()
        .name("2 MiB".into())
        .stack_size(2 * 1024 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .expect("the step overflowed or failed on a 2 MiB stack");
}

#[test]
fn paper_network_on_a_2_mib_stack_f32() {
    on_small_stack(paper_network::<f32>);
}

#[test]
fn paper_network_on_a_2_mib_stack_f64() {
    on_small_stack(paper_network::<f64>);
}

/// A term that adds `k` to the chosen coefficients of column 0's update.
struct Push(metaplasticity::term::Mixes);

impl<T: Real> metaplasticity::PlasticityTerm<T> for Push {
    fn name(&self) -> &'static str {
        "push"
    }
    fn mixes(&self) -> metaplasticity::term::Mixes {
        self.0
    }
    fn mix(
        &self,
        k: T,
        _s: &metaplasticity::term::Signals<'_, T>,
        c: &metaplasticity::term::Column<'_, T>,
        m: &mut metaplasticity::term::Mix<T>,
    ) {
        if c.j == 0 {
            let which = self.0;
            for (on, coefficient) in
                [(which.post_error, &mut m.post_error), (which.post, &mut m.post), (which.ones, &mut m.ones)]
            {
                if on {
                    *coefficient += k;
                }
            }
        }
    }
    fn mix_adjoint(
        &self,
        _k: T,
        _s: &metaplasticity::term::Signals<'_, T>,
        _c: &metaplasticity::term::Column<'_, T>,
        _g: &metaplasticity::term::Mix<T>,
        _bar: &mut metaplasticity::term::ColumnBar<T>,
    ) {
    }
}

/// The update's overflow check sees every entry: one weight of `W_1` set to
/// `±max` in the direction of its update overflows alone, at each row (11
/// rows: eight vector lanes and a tail of three), under each form of the
/// update (`e_l` alone; `e_l` and `yhat_l`; a constant), and the step reports
/// `Diverged`. The weight's input is zero, so it changes nothing before the
/// update.
fn overflow_of_each_entry<T: Real>() {
    use metaplasticity::term::Mixes;
    type Odd = shape![3, 11, 2];
    let (net0, fa, mut x, label) = setup::<T, Odd>(9);
    x[0] = T::zero();
    // Updates of about 1e-3 max: finite, but not on top of max.
    let huge = T::max_value().unwrap() * T::of(1e-2);
    let none = Mixes { post_error: false, post: false, ones: false, weights: false };
    let forms = [
        Push(Mixes { post_error: true, ..none }),
        Push(Mixes { post_error: true, post: true, ..none }),
        Push(Mixes { ones: true, ..none }),
    ];
    let rows = Odd::default().width(1);
    for (form, push) in forms.iter().enumerate() {
        let rule = Rule::<T>::new().with(push, huge, LayerSet::only(1)).unwrap();
        // The update's direction per entry, from a clean step.
        let mut clean = net0.clone();
        let mut act = Activity::<T, Odd, _>::zeros();
        step(&mut clean, &fa, &rule, &mut act, &x, label).unwrap();
        for i in 0..rows {
            let k = Odd::default().weight_offset(1) + i; // row i of column 0
            let delta = clean.as_slice()[k] - net0.as_slice()[k];
            assert!(delta != T::zero(), "form {form}, row {i}: no update to overflow");
            let mut net = net0.clone();
            net.as_mut_slice()[k] = if delta > T::zero() { T::max_value().unwrap() } else { T::min_value().unwrap() };
            let got = step(&mut net, &fa, &rule, &mut act, &x, label);
            assert_eq!(got, Err(Error::Diverged { layer: 1 }), "form {form}, row {i}");
            let overflowed = net.as_slice().iter().filter(|w| !w.is_finite()).count();
            assert_eq!(overflowed, 1, "form {form}, row {i}: that entry alone overflowed");
        }
    }
}

#[test]
fn overflow_of_each_entry_f32() {
    overflow_of_each_entry::<f32>();
}

#[test]
fn overflow_of_each_entry_f64() {
    overflow_of_each_entry::<f64>();
}
