//! Rule files: round trips, and every kind of bad file gives its own error.

use metaplasticity::deploy::{DeployError, MAGIC, RuleFile, crc32, encode, encoded_len};
use metaplasticity::term::{Column, ColumnBar, Mix, PlasticityTerm, Signals};
use metaplasticity::{LayerSet, Rule, shape, terms};
use proptest::prelude::*;

type Tiny = shape![64, 32, 16, 10];
type Other = shape![64, 30, 16, 10];

fn pool_rule() -> Rule<'static, f32> {
    let mut rule = Rule::<f32>::new();
    for (r, t) in terms::pool::<f32>().into_iter().enumerate() {
        let layers = if r == 2 { LayerSet::only(2) } else { LayerSet::ALL };
        rule.push(t, 0.01 * r as f32 - 0.03, layers).unwrap();
    }
    rule
}

fn encoded(rule: &Rule<'static, f32>) -> Vec<u8> {
    let mut buf = vec![0u8; encoded_len(3, rule.len())];
    let n = encode(&Tiny::default(), rule, 10.0, &mut buf).unwrap();
    assert_eq!(n, buf.len());
    buf
}

/// Rewrites the checksum after tampering with the contents.
fn reseal(bytes: &mut [u8]) {
    let body = bytes.len() - 4;
    let crc = crc32(&bytes[..body]);
    bytes[body..].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn crc32_matches_the_standard_check_value() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(crc32(b""), 0);
}

#[test]
fn round_trip_keeps_terms_layers_and_coefficients() {
    let rule = pool_rule();
    let file = RuleFile::decode(&encoded(&rule)).unwrap();
    file.check_shape(&Tiny::default()).unwrap();
    assert_eq!(file.widths(), &[64, 32, 16, 10]);
    assert_eq!(file.beta(), 10.0);
    let back = file.rule::<f32, 10>().unwrap();
    assert_eq!(back.len(), 10);
    for (a, b) in rule.entries().iter().zip(back.entries()) {
        assert_eq!(a.term.name(), b.term.name());
        assert_eq!(a.theta, b.theta);
        assert_eq!(a.layers, b.layers);
    }
    // In f64 the coefficients are the f32 values, exactly.
    let wide = file.rule::<f64, 10>().unwrap();
    assert_eq!(wide.theta(3), Some(f64::from(rule.theta(3).unwrap())));
    let snippet = file.const_snippet();
    assert!(snippet.contains("pub const THETA: [f32; 10]"), "{snippet}");
    assert!(snippet.contains("shape![64, 32, 16, 10]"), "{snippet}");
}

#[test]
fn another_shape_or_capacity_is_refused() {
    let file = RuleFile::decode(&encoded(&pool_rule())).unwrap();
    assert_eq!(file.check_shape(&Other::default()), Err(DeployError::Shape { layer: 1, expected: 30, found: 32 }));
    assert!(matches!(file.check_shape(&<shape![64, 10]>::default()), Err(DeployError::Shape { found: 3, .. })));
    assert_eq!(file.rule::<f32, 4>().err(), Some(DeployError::TooManyTerms { found: 10, capacity: 4 }));
}

#[test]
fn each_corruption_has_its_error() {
    let good = encoded(&pool_rule());
    let mut bad_magic = good.clone();
    bad_magic[0] = b'X';
    assert_eq!(RuleFile::decode(&bad_magic), Err(DeployError::BadMagic));
    let mut version = good.clone();
    version[4] = 2;
    reseal(&mut version);
    assert_eq!(RuleFile::decode(&version), Err(DeployError::Version { found: 2 }));
    let mut flipped = good.clone();
    flipped[20] ^= 0x10;
    assert!(matches!(RuleFile::decode(&flipped), Err(DeployError::Checksum { .. })));
    let mut longer = good.clone();
    longer.push(0);
    assert!(matches!(RuleFile::decode(&longer), Err(DeployError::TrailingBytes { .. })));
    for n in 0..good.len() {
        assert!(
            matches!(RuleFile::decode(&good[..n]), Err(DeployError::Truncated { .. } | DeployError::BadMagic)),
            "prefix of {n} bytes"
        );
    }
    // A term index outside the pool (first term record at byte 12 + 4 * 4).
    let mut unknown = good.clone();
    unknown[28] = 10;
    reseal(&mut unknown);
    assert_eq!(RuleFile::decode(&unknown), Err(DeployError::UnknownTerm { index: 0 }));
    // A NaN coefficient (theta of the first term at bytes 31..35).
    let mut nan = good.clone();
    nan[31..35].copy_from_slice(&f32::NAN.to_le_bytes());
    reseal(&mut nan);
    assert_eq!(RuleFile::decode(&nan), Err(DeployError::NonFinite));
    assert_eq!(&good[..4], &MAGIC);
}

/// Files whose checksum is right but whose contents make no network or no
/// rule (found by a new user's review: `rule` printed them as valid).
#[test]
fn a_sealed_file_that_describes_no_valid_rule_is_refused() {
    let good = encoded(&pool_rule());
    let tampered = |at: usize, with: &[u8]| {
        let mut bytes = good.clone();
        bytes[at..at + with.len()].copy_from_slice(with);
        reseal(&mut bytes);
        RuleFile::decode(&bytes)
    };
    // The width of layer 1 (bytes 16..20) set to zero.
    assert_eq!(tampered(16, &0u32.to_le_bytes()), Err(DeployError::EmptyLayer { layer: 1 }));
    // The first term's layers (bytes 29..31): none, or only past the depth of 3.
    assert_eq!(tampered(29, &0u16.to_le_bytes()), Err(DeployError::NoLayers { index: 0 }));
    assert_eq!(tampered(29, &(1u16 << 5).to_le_bytes()), Err(DeployError::NoLayers { index: 0 }));
    // The second term (byte 35) made the first's F^0 again.
    assert_eq!(tampered(35, &[0]), Err(DeployError::DuplicateTerm { index: 1 }));
    // A depth (byte 6) of 0 or past MAX_DEPTH, its header otherwise intact.
    for depth in [0u8, 16] {
        let mut bytes = good.clone();
        bytes[6] = depth;
        let e = RuleFile::decode(&bytes).unwrap_err();
        assert_eq!(e, DeployError::Depth { found: depth.into() });
        assert!(e.to_string().contains("rule files hold 1 to 15"), "{e}");
    }
    // beta (bytes 8..12) zero or negative.
    for beta in [0.0f32, -1.0] {
        assert_eq!(tampered(8, &beta.to_le_bytes()), Err(DeployError::Beta { found: beta }));
    }
    assert!(RuleFile::decode(&good).is_ok());
}

struct Mine;
impl PlasticityTerm<f32> for Mine {
    fn name(&self) -> &'static str {
        "mine"
    }
    fn mix(&self, k: f32, s: &Signals<'_, f32>, c: &Column<'_, f32>, m: &mut Mix<f32>) {
        m.post += k * s.pre[c.j];
    }
    fn mix_adjoint(&self, k: f32, s: &Signals<'_, f32>, c: &Column<'_, f32>, g: &Mix<f32>, b: &mut ColumnBar<f32>) {
        b.k += s.pre[c.j] * g.post;
        b.pre += k * g.post;
    }
}

/// A term of the user's that calls itself `"F0"`: the pool's name, not its
/// identity.
struct Spoof;
impl PlasticityTerm<f32> for Spoof {
    fn name(&self) -> &'static str {
        "F0"
    }
    fn mix(&self, k: f32, s: &Signals<'_, f32>, c: &Column<'_, f32>, m: &mut Mix<f32>) {
        m.post += k * s.pre[c.j];
    }
    fn mix_adjoint(&self, k: f32, s: &Signals<'_, f32>, c: &Column<'_, f32>, g: &Mix<f32>, b: &mut ColumnBar<f32>) {
        b.k += s.pre[c.j] * g.post;
        b.pre += k * g.post;
    }
}

#[test]
fn a_user_term_named_like_a_pool_term_is_not_saved_as_one() {
    let rule = Rule::<f32>::from_terms(&[&Spoof]).unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(encode(&Tiny::default(), &rule, 10.0, &mut buf), Err(DeployError::UnknownTerm { index: 0 }));
    // The real F^0, under the same name, is saved.
    assert!(encode(&Tiny::default(), &Rule::<f32>::fa(), 10.0, &mut buf).is_ok());
}

#[test]
fn writing_refuses_what_cannot_be_read_back() {
    let rule = Rule::<f32>::fa().with(&Mine, 0.1, LayerSet::ALL).unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(encode(&Tiny::default(), &rule, 10.0, &mut buf), Err(DeployError::UnknownTerm { index: 1 }));
    let mut small = [0u8; 10];
    assert!(matches!(
        encode(&Tiny::default(), &Rule::<f32>::fa(), 10.0, &mut small),
        Err(DeployError::BufferTooSmall { .. })
    ));
    for beta in [f32::NAN, f32::INFINITY, 0.0, -0.0, -1.0] {
        assert!(matches!(encode(&Tiny::default(), &Rule::<f32>::fa(), beta, &mut buf), Err(DeployError::Beta { .. })));
    }
    // On an error nothing of the caller's buffer is written.
    let unknown = Rule::<f32>::fa().with(&Mine, 0.1, LayerSet::ALL).unwrap();
    let mut untouched = [7u8; 64];
    assert!(encode(&Tiny::default(), &unknown, 10.0, &mut untouched).is_err());
    assert_eq!(untouched, [7u8; 64]);
    let nowhere = Rule::<f32>::fa().with(terms::pool::<f32>()[9], 0.1, LayerSet::NONE).unwrap();
    assert_eq!(encode(&Tiny::default(), &nowhere, 10.0, &mut buf), Err(DeployError::NoLayers { index: 1 }));
    let past_the_top = Rule::<f32>::fa().with(terms::pool::<f32>()[9], 0.1, LayerSet::only(4)).unwrap();
    assert_eq!(encode(&Tiny::default(), &past_the_top, 10.0, &mut buf), Err(DeployError::NoLayers { index: 1 }));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = RuleFile::decode(&bytes);
    }

    #[test]
    fn any_single_bit_flip_is_detected(bit in 0usize..(8 * encoded_len(3, 10))) {
        let mut bytes = encoded(&pool_rule());
        bytes[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(RuleFile::decode(&bytes).is_err());
    }
}
