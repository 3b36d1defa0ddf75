//! The rule-file loader on arbitrary bytes: never panics; whatever it
//! accepts re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use metaplasticity::deploy::{RuleFile, encode, encoded_len};
use metaplasticity::shape;

type Tiny = shape![64, 32, 16, 10];

fuzz_target!(|data: &[u8]| {
    let Ok(file) = RuleFile::decode(data) else { return };
    if file.check_shape(&Tiny::default()).is_err() {
        return;
    }
    let rule = file.rule::<f32, 32>().expect("a decoded file gives its rule");
    let mut out = vec![0u8; encoded_len(3, rule.len())];
    let n = encode(&Tiny::default(), &rule, file.beta(), &mut out).expect("re-encodes");
    assert_eq!(&out[..n], data);
});
