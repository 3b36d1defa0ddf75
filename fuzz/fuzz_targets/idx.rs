//! The IDX parser on arbitrary bytes: never panics; whatever it accepts is
//! self-consistent (every image and label can be read back). The input is
//! `[split: u32 LE][images file][labels file]`, the images file being the
//! first `split` bytes after the prefix (the seed corpus has real files).
#![no_main]

use libfuzzer_sys::fuzz_target;
use metaplasticity::idx::{Dataset, parse_images, parse_labels};

fuzz_target!(|data: &[u8]| {
    let Some((prefix, rest)) = data.split_first_chunk::<4>() else { return };
    let split = (u32::from_le_bytes(*prefix) as usize).min(rest.len());
    let (head, tail) = rest.split_at(split);
    let images = parse_images(head);
    let labels = parse_labels(tail);
    if let Ok(images) = images {
        // A file of zero images may announce any image size: read back
        // images only when there are some (and of a size worth allocating).
        if images.count() == 0 || images.pixels() > 1 << 20 {
            return;
        }
        let mut out = vec![0.0f32; images.pixels()];
        for i in 0..images.count().min(64) {
            assert!(images.image(i).is_some());
            assert!(images.write_normalized(i, &mut out).is_ok());
            assert!(out.iter().all(|v| (0.0..=1.0).contains(v)));
        }
        if let Ok(labels) = labels {
            let classes = labels.max().map_or(1, |m| usize::from(m) + 1);
            if let Ok(d) = Dataset::new(images, labels, classes) {
                for i in 0..d.len().min(64) {
                    assert!(d.label(i).is_some_and(|c| usize::from(c) < classes));
                }
            }
        }
    }
});
