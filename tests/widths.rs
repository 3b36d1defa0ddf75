//! Run-time shapes ([`Widths`]): they describe the same buffers as the
//! compile-time types, compute the same bits through the step, its adjoint
//! and a whole meta-gradient episode, refuse widths that make no network,
//! and refuse buffers built for another shape instead of misreading them.

mod common;

use metaplasticity::adjoint::{Adjoint, step_adjoint};
use metaplasticity::data::OwnedDataset;
use metaplasticity::heap;
use metaplasticity::meta::{ClassIndex, MetaGradient, Penalty, Sampling, TaskSpec};
use metaplasticity::shape::MAX_DEPTH;
use metaplasticity::step::step_plastic;
use metaplasticity::{
    AnyPathway, Error, FeedbackPathway, FixedShape, Init, Network, PathwayKind, Rule, Shape, Widths, shape, step,
};

type Tiny = shape![64, 32, 16, 10];
type Paper = shape![784, 170, 130, 100, 70, 10];
type Odd = shape![7, 1, 13, 2];

/// Every question a shape answers, for layers in and past the network.
fn answers<S: Shape>(s: &S) -> Vec<usize> {
    let mut v = vec![s.depth(), s.input(), s.output(), s.weights(), s.units(), s.max_width()];
    v.extend([s.direct(), s.activity_len(), s.adjoint_len()]);
    for l in 0..MAX_DEPTH + 3 {
        v.extend([s.width(l), s.weight_offset(l), s.unit_offset(l)]);
    }
    v
}

#[test]
fn widths_answer_as_the_compile_time_types_do() {
    assert_eq!(answers(&Widths::of::<Tiny>()), answers(&Tiny::default()));
    assert_eq!(answers(&Widths::of::<Paper>()), answers(&Paper::default()));
    assert_eq!(answers(&Widths::of::<Odd>()), answers(&Odd::default()));
    assert_eq!(Widths::of::<Paper>().as_slice(), &[784, 170, 130, 100, 70, 10]);
    assert_eq!(Widths::new(&[784, 170, 130, 100, 70, 10]).unwrap(), Widths::of::<Paper>());
    assert_eq!(Paper::WEIGHTS, Widths::of::<Paper>().weights());
    // The deepest network allowed.
    let deepest = Widths::new(&[3; MAX_DEPTH + 1]).unwrap();
    assert_eq!((deepest.depth(), deepest.weights()), (MAX_DEPTH, 9 * MAX_DEPTH));
}

#[test]
fn widths_that_make_no_network_are_refused() {
    for bad in [&[][..], &[10], &[784, 0, 10], &[0, 10], &[784, 10, 0], &[3; MAX_DEPTH + 2]] {
        assert!(
            matches!(Widths::new(bad), Err(Error::InvalidShape { widths, max_depth: MAX_DEPTH }) if widths == bad.len()),
            "{bad:?}"
        );
    }
    // Buffers that could not be addressed, in bytes of f64 (a count that
    // fits in usize is not enough: `shape![..]`'s buffers of 2^62 f64
    // overflowed the allocator's capacity).
    let too_large = |w: &[usize]| matches!(Widths::new(w), Err(Error::ShapeTooLarge { .. }));
    assert!(too_large(&[usize::MAX, 2, 10]));
    assert!(too_large(&[1 << 40, 1 << 40, 10]));
    assert!(too_large(&[1 << 31, 1 << 31, 1]));
    // The activity's 6 units must be addressable (here the widest layer's
    // would be): just past, and just inside.
    let limit = isize::MAX as usize / 48;
    assert!(too_large(&[limit + 1, 1]));
    let widest = Widths::new(&[limit - 1, 1]).expect("6 units of f64 fit");
    assert_eq!(widest.activity_len(), 6 * limit);
    let message = Widths::new(&[784, 0, 10]).unwrap_err().to_string();
    assert!(message.contains("none of them zero"), "{message}");
}

/// A few steps of `F^bio` on the shipped digits through every built-in
/// pathway (plastic ones learning along), then one step's adjoint: the
/// weights, the pathway's state and the gradients as bits.
fn steps_and_adjoint<S: Shape>(shape: S, kind: PathwayKind) -> (Vec<u32>, Vec<u32>) {
    let owned = OwnedDataset::optdigits_shipped().unwrap();
    let data = owned.view();
    let mut rng = common::rng(11);
    let mut net = heap::Network::<S>::zeros_for(shape);
    net.init(&mut rng, Init::XavierUniform);
    let mut pathway = AnyPathway::<f32, S>::new_for(shape, kind, &mut rng, Init::XavierUniform);
    let mut act = heap::Activity::<S>::zeros_for(shape);
    let mut rule = Rule::<f32>::bio();
    rule.set_thetas(&[2e-2, 3e-3, -4e-3]).unwrap();
    let mut x = vec![0.0f32; shape.input()];
    for i in 0..20 {
        data.images().write_normalized(i, &mut x).unwrap();
        step_plastic(&mut net, &mut pathway, &rule, &mut act, &x, data.label(i).unwrap() as usize).unwrap();
    }
    let before = net.as_slice().to_vec();
    step(&mut net, &pathway, &rule, &mut act, &x, 3).unwrap();
    let mut wbar = vec![1e-2f32; shape.weights()];
    let mut thetabar = vec![0.0f32; rule.len() + pathway.params().len()];
    let mut adj = Adjoint::<f32, S, _>::zeros_for(shape);
    step_adjoint(&before, net.beta(), &pathway, &rule, &act, &mut wbar, &mut thetabar, &mut adj).unwrap();
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let mut grads = bits(&wbar);
    grads.extend(bits(&thetabar));
    let mut state = bits(net.as_slice());
    state.extend(bits(pathway.state()));
    (state, grads)
}

#[test]
fn steps_and_adjoints_are_bit_identical_to_the_compile_time_path() {
    for kind in PathwayKind::ALL {
        let fixed = steps_and_adjoint(Tiny::default(), kind);
        let runtime = steps_and_adjoint(Widths::of::<Tiny>(), kind);
        assert!(fixed == runtime, "{kind:?}: the run-time shape computed other bits");
    }
}

/// One meta-gradient episode: the gradient, the losses and the adapted
/// weights as bits.
fn episode<S: Shape>(shape: S) -> Vec<u64> {
    let owned = OwnedDataset::optdigits_shipped().unwrap();
    let data = owned.view();
    let mut rng = common::rng(5);
    let task = TaskSpec::new(5, 6, 3, Sampling::Disjoint).unwrap().draw(&ClassIndex::new(&data), &mut rng).unwrap();
    let mut net = Network::<f32, S, _>::zeros_for(shape);
    net.init(&mut rng, Init::XavierUniform);
    let mut fa = AnyPathway::<f32, S>::new_for(shape, PathwayKind::Alignment, &mut rng, Init::XavierUniform);
    let mut rule = Rule::<f32>::bio();
    rule.set_thetas(&[1e-2, 1e-3, 1e-3]).unwrap();
    let mut grad = vec![0.0f32; 3];
    let mut mg = MetaGradient::<f32, S>::new_for(shape, 4);
    let r = mg.run(&mut net, &mut fa, &rule, &data, &task, Penalty::L1(1e-3), &mut grad).unwrap();
    let mut bits: Vec<u64> = grad.iter().map(|g| u64::from(g.to_bits())).collect();
    bits.extend([r.meta_loss.to_bits(), r.query_loss.to_bits(), r.accuracy.to_bits()]);
    bits.extend(net.as_slice().iter().map(|w| u64::from(w.to_bits())));
    bits
}

#[test]
fn a_meta_gradient_episode_is_bit_identical_to_the_compile_time_path() {
    assert!(episode(Tiny::default()) == episode(Widths::of::<Tiny>()));
}

#[test]
fn buffers_of_another_shape_are_refused() {
    let (a, b) = (Widths::new(&[4, 8, 3]).unwrap(), Widths::new(&[4, 5, 3]).unwrap());
    let mut rng = common::rng(1);
    let mut net = heap::Network::<Widths>::zeros_for(a);
    net.init(&mut rng, Init::XavierUniform);
    let weights = net.as_slice().to_vec();
    let x = [0.5f32, 0.1, 0.9, 0.3];
    let rule = Rule::<f32>::fa();
    let (mut act_a, mut act_b) = (heap::Activity::<Widths>::zeros_for(a), heap::Activity::<Widths>::zeros_for(b));
    let fa_b = heap::FeedbackAlignment::<Widths>::random_for(b, &mut rng, Init::XavierUniform);
    let dfa_b = heap::DirectFeedbackAlignment::<Widths>::random_for(b, &mut rng, Init::XavierUniform);
    assert_eq!(step(&mut net, &metaplasticity::Backprop, &rule, &mut act_b, &x, 1), Err(Error::ShapeMismatch));
    assert_eq!(step(&mut net, &fa_b, &rule, &mut act_a, &x, 1), Err(Error::ShapeMismatch));
    assert_eq!(step(&mut net, &dfa_b, &rule, &mut act_a, &x, 1), Err(Error::ShapeMismatch));
    assert_eq!(net.forward(&x, &mut act_b), Err(Error::ShapeMismatch));
    assert_eq!(net.as_slice(), &weights[..], "nothing was written");
    // The adjoint and the meta-gradient check too.
    step(&mut net, &metaplasticity::Backprop, &rule, &mut act_a, &x, 1).unwrap();
    let mut wbar = vec![0.0f32; a.weights()];
    let mut thetabar = [0.0f32];
    let mut adj_b = Adjoint::<f32, Widths, _>::zeros_for(b);
    let adjoint =
        step_adjoint(&weights, 10.0, &metaplasticity::Backprop, &rule, &act_a, &mut wbar, &mut thetabar, &mut adj_b);
    assert_eq!(adjoint, Err(Error::ShapeMismatch));
    let mut adj_a = Adjoint::<f32, Widths, _>::zeros_for(a);
    let adjoint = step_adjoint(&weights, 10.0, &fa_b, &rule, &act_a, &mut wbar, &mut thetabar, &mut adj_a);
    assert_eq!(adjoint, Err(Error::ShapeMismatch));
    // A buffer of the right length for another shape of the same size is
    // still refused: the shapes are compared, not the lengths.
    let (c, d) = (Widths::new(&[2, 6, 2]).unwrap(), Widths::new(&[2, 3, 6]).unwrap());
    assert_eq!(c.weights(), d.weights());
    let mut net_c = heap::Network::<Widths>::zeros_for(c);
    let fa_d = heap::FeedbackAlignment::<Widths>::random_for(d, &mut rng, Init::XavierUniform);
    let mut act_c = heap::Activity::<Widths>::zeros_for(c);
    assert_eq!(step(&mut net_c, &fa_d, &rule, &mut act_c, &[0.5, 0.5], 0), Err(Error::ShapeMismatch));
}

#[test]
fn a_rule_file_records_and_gives_back_a_run_time_shape() {
    use metaplasticity::deploy::{RuleFile, encode, encoded_len};
    let shape = Widths::new(&[64, 40, 20, 12, 10]).unwrap();
    let mut rule = Rule::<f32>::bio();
    rule.set_thetas(&[1e-3, 2e-4, -3e-4]).unwrap();
    let mut bytes = vec![0u8; encoded_len(shape.depth(), rule.len())];
    let n = encode(&shape, &rule, 10.0, &mut bytes).unwrap();
    let file = RuleFile::decode(&bytes[..n]).unwrap();
    assert_eq!(file.shape().unwrap(), shape);
    assert!(file.check_shape(&shape).is_ok());
    assert!(file.check_shape(&Tiny::default()).is_err());
}
