//! The online step fed arbitrary inputs, labels and coefficients: never
//! panics; an error other than `Diverged` leaves the weights bit-identical;
//! success leaves them finite.
#![no_main]

use libfuzzer_sys::fuzz_target;
use metaplasticity::{Activity, Backprop, Error, FixedShape, LayerSet, Network, Rule, shape, step, terms};

type Tiny = shape![6, 5, 3];

fn f32s(bytes: &[u8]) -> impl Iterator<Item = f32> + '_ {
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let label = usize::from(data[0] % 4);
    let mut values = f32s(&data[1..]);
    let mut w = [0.1f32; Tiny::WEIGHTS];
    for (wi, v) in w.iter_mut().zip(&mut values) {
        if v.is_finite() {
            *wi = v;
        }
    }
    let x: Vec<f32> = (&mut values).take(Tiny::INPUT).collect();
    let mut rule = Rule::<f32, 10>::new();
    for (r, term) in terms::pool::<f32>().into_iter().enumerate() {
        let theta = values.next().unwrap_or(0.0);
        if rule.push(term, theta, LayerSet::ALL).is_err() {
            assert!(!theta.is_finite(), "term {r}: a finite theta was refused");
            return;
        }
    }
    let mut net = Network::<f32, Tiny, _>::new(&mut w[..]).expect("finite weights");
    let before: Vec<f32> = net.as_slice().to_vec();
    let mut a = [0.0f32; Tiny::ACTIVITY];
    let mut act = Activity::<f32, Tiny, _>::new(&mut a[..]).unwrap();
    match step(&mut net, &Backprop, &rule, &mut act, &x, label) {
        Ok(_) => assert!(net.as_slice().iter().all(|v| v.is_finite())),
        Err(Error::Diverged { .. }) => {}
        Err(_) => assert_eq!(net.as_slice(), &before[..]),
    }
});
