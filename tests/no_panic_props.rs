//! Property test over the public constructors and entry points: arbitrary
//! sizes (0 and `usize::MAX` among them), NaN, infinite and negative
//! scalars, buffers of the wrong length. Each call must return (a panic
//! fails the test), and must return a typed error exactly when the input is
//! invalid. Bounded: small case counts, tiny shapes, a few seconds in all.
#![cfg(feature = "std")]

use metaplasticity::data::OwnedDataset;
use metaplasticity::deploy::RuleFile;
use metaplasticity::idx::{Dataset, Images, Labels, MAX_CLASSES};
use metaplasticity::meta::{
    Adam, AdamError, BackOff, ClassIndex, Config, MetaGradient, OnDivergence, Penalty, Sampling, StepOptions,
    StepScale, TaskSpec, TrainError, Trainer,
};
use metaplasticity::{Activity, Backprop, Error, FeedbackAlignment, FixedShape, Network, Rule, shape, step};
use proptest::prelude::*;

type Tiny = shape![64, 32, 16, 10];

/// Sizes that stress arithmetic: the edges and small values.
fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        Just(1),
        Just(usize::MAX),
        Just(usize::MAX / 2 + 1),
        Just(1 << 40),
        0usize..200,
        any::<usize>(),
    ]
}

/// Scalars that stress validation: NaN, infinities, negatives, zero.
fn scalar() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-1.0),
        Just(0.0),
        Just(1e-3),
        Just(0.5),
        Just(1.0),
        Just(2.0),
        any::<f64>(),
    ]
}

fn positive_finite(x: f64) -> bool {
    x.is_finite() && x > 0.0
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn task_shapes(classes in size(), train in size(), query in size(), reference in any::<bool>()) {
        let sampling = if reference { Sampling::Reference } else { Sampling::Disjoint };
        let r = TaskSpec::new(classes, train, query, sampling);
        let valid = classes > 0
            && train > 0
            && query > 0
            && train.checked_add(query).and_then(|n| n.checked_mul(classes)).is_some();
        prop_assert_eq!(r.is_ok(), valid);
        if let Ok(spec) = r {
            prop_assert_eq!(spec.steps(), classes * train);
        }
    }

    #[test]
    fn work_space_sizes(steps in size(), interval in size()) {
        let bytes = MetaGradient::<f32, Tiny>::memory_bytes(steps, interval);
        if let Some(b) = bytes {
            prop_assert!(b >= steps.saturating_mul(Tiny::ACTIVITY));
        }
        // Only sizes that cannot exist are reserved here (no real allocation).
        if bytes.is_none_or(|b| b > isize::MAX as usize) {
            let mut work = MetaGradient::<f32, Tiny>::new(interval);
            prop_assert!(work.reserve(steps).is_err());
        }
    }

    #[test]
    fn adam_steps(
        n in 0usize..5,
        lr in scalar(),
        lengths in proptest::collection::vec(prop_oneof![Just(None), (0usize..6).prop_map(Some)], 4),
        values in proptest::collection::vec(scalar(), 6),
        l1 in scalar(),
        normalized in any::<bool>(),
    ) {
        let Ok(mut adam) = Adam::new(n, lr) else {
            prop_assert!(!positive_finite(lr));
            return Ok(());
        };
        prop_assert!(positive_finite(lr));
        let len = |k: usize| lengths[k].unwrap_or(n);
        let mut theta = values[..len(0).min(6)].to_vec();
        theta.resize(len(0), 0.0);
        let grad = vec![values[1]; len(1)];
        let mask = vec![true; lengths[2].unwrap_or(0)];
        let rates = vec![values[2]; lengths[3].unwrap_or(0)];
        let options = StepOptions { mask: &mask, rates: &rates, l1, l1_len: usize::MAX };
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let before = (bits(&theta), adam.clone());
        let r = if normalized {
            adam.step_normalized(&mut theta, &grad, options)
        } else {
            adam.step_with(&mut theta, &grad, options)
        };
        let valid = theta.len() == n
            && grad.len() == n
            && theta.iter().chain(&grad).all(|v| v.is_finite())
            && (mask.is_empty() || mask.len() == n)
            && (rates.is_empty() || rates.len() == n)
            && rates.iter().all(|r| r.is_finite() && *r >= 0.0)
            && l1.is_finite()
            && l1 >= 0.0;
        // Valid entries may still overflow inside the step (`g^2` in the
        // second moment past `f64::MAX`, a huge rate or coefficient): that
        // step is refused as `NonFiniteStep`, and only where such a number
        // was given.
        let huge = |x: &f64| x.abs() > 1e150;
        let may_overflow = huge(&lr) || huge(&l1) || theta.iter().chain(&grad).chain(&rates).any(huge);
        let overflowed = valid && may_overflow && matches!(r, Err(AdamError::NonFiniteStep { .. }));
        prop_assert_eq!(r.is_ok() || overflowed, valid, "{:?}", r);
        if r.is_err() {
            prop_assert_eq!((bits(&theta), adam), before, "a refused step changes nothing");
        }
    }

    #[test]
    fn configurations(
        lr in scalar(),
        lambda in scalar(),
        interval in size(),
        mask in 0usize..5,
        shrink in scalar(),
        tries in size(),
        depth in size(),
        rates in proptest::collection::vec(scalar(), 0..5),
    ) {
        let config = Config {
            lr,
            penalty: Penalty::L1(lambda),
            interval,
            trainable: vec![true; mask],
            on_divergence: OnDivergence::BackOff(BackOff { shrink, tries, depth }),
            step_scale: StepScale::Given(rates.clone()),
            ..Config::default()
        };
        let valid = positive_finite(lr)
            && lambda.is_finite()
            && lambda >= 0.0
            && interval > 0
            && (mask == 0 || mask == 3)
            && shrink > 0.0
            && shrink < 1.0
            && tries > 0
            && depth > 0
            && rates.len() == 3
            && rates.iter().all(|&r| positive_finite(r));
        prop_assert_eq!(config.check(3).is_ok(), valid);
    }

    #[test]
    fn data_sets(count in 0usize..6, rows in size(), cols in size(), classes in size(), labels in proptest::collection::vec(any::<u8>(), 0..6)) {
        let pixels = vec![0u8; 16];
        if let Ok(images) = Images::from_raw(&pixels, count, rows, cols) {
            prop_assert_eq!(count.checked_mul(rows * cols), Some(16));
            let r = Dataset::new(images, Labels::new(&labels), classes);
            let valid = labels.len() == count
                && (1..=MAX_CLASSES).contains(&classes)
                && labels.iter().all(|&l| usize::from(l) < classes);
            prop_assert_eq!(r.is_ok(), valid);
            if let Ok(data) = r {
                let index = ClassIndex::new(&data);
                prop_assert_eq!(index.classes(), classes);
                let mut x = vec![0.0f32; rows * cols];
                prop_assert!(data.write_image(count, &mut x).is_err());
            }
        }
    }

    #[test]
    fn rule_files(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(file) = RuleFile::decode(&bytes) {
            let _ = file.check_shape(&Tiny::default());
            let _ = file.rule::<f32, 10>();
        }
    }
}

proptest! {
    // Each case builds a trainer on real data (a probe episode at most).
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn trainers(
        classes in prop_oneof![1 => Just(0usize), 1 => Just(1), 4 => Just(5), 1 => Just(11), 1 => Just(usize::MAX)],
        train in prop_oneof![1 => Just(0usize), 1 => Just(1), 4 => Just(4), 1 => Just(200), 1 => Just(usize::MAX)],
        query in prop_oneof![1 => Just(0usize), 4 => Just(2), 1 => Just(usize::MAX)],
        interval in size(),
        lr in prop_oneof![3 => Just(1e-3), 1 => scalar()],
        theta in prop_oneof![3 => Just(1e-3), 1 => scalar()],
    ) {
        let owned = OwnedDataset::optdigits_shipped().unwrap();
        let data = owned.view();
        let mut rule = Rule::<f32>::bio();
        let set = rule.set_thetas(&[theta as f32, 0.0, 0.0]);
        prop_assert_eq!(set.is_ok(), (theta as f32).is_finite());
        let task = TaskSpec { classes, train, query, sampling: Sampling::Disjoint };
        let config = Config { task, interval, lr, ..Config::default() };
        let r = Trainer::<f32, Tiny>::new(rule, &data, config.clone());
        let index = ClassIndex::new(&data);
        let fewest = (0..10).map(|c| index.of(c).len()).min().unwrap();
        let valid = config.check(3).is_ok()
            && (1..=10).contains(&classes)
            && train > 0
            && query > 0
            && train.checked_add(query).is_some_and(|n| n <= fewest);
        prop_assert_eq!(r.is_ok(), valid, "{:?}", r.as_ref().map(|_| ()));
        match r {
            // A valid trainer runs an episode: it learns or reports divergence.
            Ok(mut t) => match t.episode(&data) {
                Ok(record) => prop_assert!(record.ok),
                Err(e) => prop_assert!(
                    matches!(e, TrainError::Diverged { episode: 0, .. } | TrainError::ThetaRange { .. }),
                    "{e:?}"
                ),
            },
            Err(e) => prop_assert!(matches!(e, TrainError::Config(_) | TrainError::Task(_) | TrainError::State(_)), "{e:?}"),
        }
    }

    #[test]
    fn online_steps(
        input_len in prop_oneof![Just(0usize), Just(63), Just(64), Just(65)],
        x in scalar(),
        label in size(),
        theta in scalar(),
        weights_len in prop_oneof![Just(0usize), Just(Tiny::WEIGHTS - 1), Just(Tiny::WEIGHTS)],
    ) {
        let built = Network::<f32, Tiny, _>::new(vec![0.01f32; weights_len]);
        prop_assert_eq!(built.is_ok(), weights_len == Tiny::WEIGHTS);
        let Ok(mut net) = built else { return Ok(()) };
        let mut act = Activity::<f32, Tiny, _>::zeros();
        let mut rule = Rule::<f32>::fa();
        let _ = rule.set_thetas(&[theta as f32]);
        let input = vec![x as f32; input_len];
        let before = net.as_slice().to_vec();
        let fa = FeedbackAlignment::<f32, Tiny, _>::new(vec![0.1f32; Tiny::WEIGHTS]).unwrap();
        for r in [
            step(&mut net, &Backprop, &rule, &mut act, &input, label),
            step(&mut net, &fa, &rule, &mut act, &input, label),
        ] {
            let valid_input = input_len == Tiny::INPUT && (x as f32).is_finite() && label < Tiny::OUTPUT;
            match r {
                Ok(_) => prop_assert!(valid_input),
                Err(Error::Diverged { .. }) => prop_assert!(valid_input),
                Err(Error::BufferLength { .. } | Error::NonFiniteInput { .. } | Error::LabelOutOfRange { .. }) => {
                    prop_assert!(!valid_input);
                    prop_assert_eq!(net.as_slice(), &before[..], "a refused step changes nothing");
                }
                Err(e) => prop_assert!(matches!(e, Error::NonFiniteSignal { .. } | Error::NonFiniteWeights { .. }), "{e:?}"),
            }
        }
    }
}
