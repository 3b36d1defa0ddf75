//! The IDX data layer: parsing, errors, file loading (plain and gzip), EMNIST
//! transposition and the shipped data sets. Public API only.
#![cfg(feature = "std")]

use std::error::Error as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use flate2::Compression;
use flate2::write::GzEncoder;
use metaplasticity::data::{
    FASHION_MNIST_DIR, LoadError, OwnedDataset, Split, read_idx_file, read_idx_file_with_limit,
};
use metaplasticity::idx::{Dataset, IdxError, Images, Labels, Orientation, parse_images, parse_labels};
use proptest::prelude::*;

// ---------------------------------------------------------------- helpers

/// An IDX images file: `count` images of `rows` x `cols` bytes in `pixels`.
fn images_file(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut f = vec![0, 0, 0x08, 3];
    for d in [count, rows, cols] {
        f.extend_from_slice(&d.to_be_bytes());
    }
    f.extend_from_slice(pixels);
    f
}

/// An IDX labels file.
fn labels_file(labels: &[u8]) -> Vec<u8> {
    let mut f = vec![0, 0, 0x08, 1];
    f.extend_from_slice(&u32::try_from(labels.len()).unwrap().to_be_bytes());
    f.extend_from_slice(labels);
    f
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A fresh directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("metaplasticity-idx-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    /// Writes `bytes` to file `name` in the directory; returns its path.
    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Three 2x3 images (non-symmetric) and their labels.
const PIXELS: [u8; 18] = [
    0, 1, 2, 3, 4, 5, //
    10, 20, 30, 40, 50, 60, //
    255, 0, 128, 7, 8, 9,
];
const LABELS: [u8; 3] = [2, 0, 1];

fn valid_images() -> Vec<u8> {
    images_file(3, 2, 3, &PIXELS)
}

fn valid_labels() -> Vec<u8> {
    labels_file(&LABELS)
}

fn normalized(bytes: &[u8]) -> Vec<f64> {
    bytes.iter().map(|&b| f64::from(b) / 255.0).collect()
}

/// Transposes a `rows` x `cols` row-major image to column-major.
fn transpose(image: &[u8], rows: usize, cols: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(image.len());
    for c in 0..cols {
        for r in 0..rows {
            out.push(image[r * cols + c]);
        }
    }
    out
}

// ---------------------------------------------------------------- parsing

#[test]
fn parses_a_small_file() {
    let bytes = valid_images();
    let images = parse_images(&bytes).unwrap();
    assert_eq!((images.count(), images.rows(), images.cols(), images.pixels()), (3, 2, 3, 6));
    assert_eq!(images.orientation(), Orientation::RowMajor);
    assert_eq!(images.image(1), Some(&PIXELS[6..12]));
    assert_eq!(images.image(3), None);
    assert_eq!(images.image(usize::MAX), None);
    assert_eq!(images.as_bytes(), &PIXELS);

    let label_bytes = valid_labels();
    let labels = parse_labels(&label_bytes).unwrap();
    assert_eq!(labels.count(), 3);
    assert_eq!(labels.as_slice(), &LABELS);
    assert_eq!((labels.get(0), labels.get(3)), (Some(2), None));
    assert_eq!(labels.max(), Some(2));
    assert_eq!(Labels::new(&[]).max(), None);

    let data = Dataset::new(images, labels, 3).unwrap();
    assert_eq!((data.len(), data.classes(), data.pixels()), (3, 3, 6));
    assert!(!data.is_empty());
    assert_eq!(data.label(0), Some(2));
    assert_eq!(data.indices_of_class(0).collect::<Vec<_>>(), [1]);
    assert_eq!(data.indices_of_class(2).collect::<Vec<_>>(), [0]);
    assert_eq!(data.indices_of_class(7).count(), 0);
    let mut x = [0.0f32; 6];
    data.write_image(2, &mut x).unwrap();
    assert_eq!(x, [1.0, 0.0, 128.0 / 255.0, 7.0 / 255.0, 8.0 / 255.0, 9.0 / 255.0]);
}

#[test]
fn empty_files_are_valid() {
    let bytes = images_file(0, 28, 28, &[]);
    let images = parse_images(&bytes).unwrap();
    assert_eq!((images.count(), images.pixels()), (0, 784));
    assert_eq!(images.image(0), None);
    let label_bytes = labels_file(&[]);
    let data = Dataset::new(images, parse_labels(&label_bytes).unwrap(), 10).unwrap();
    assert!(data.is_empty());
}

#[test]
fn transposed_images_are_written_upright() {
    // Upright 2x3 image [[1, 2, 3], [4, 5, 6]], stored column after column.
    let stored = [1, 4, 2, 5, 3, 6];
    let bytes = images_file(1, 2, 3, &stored);
    let images = parse_images(&bytes).unwrap().with_orientation(Orientation::Transposed);
    assert_eq!(images.orientation(), Orientation::Transposed);
    assert_eq!(images.image(0), Some(&stored[..]), "image() is as stored");
    let mut x = [0.0f64; 6];
    images.write_normalized(0, &mut x).unwrap();
    assert_eq!(x.to_vec(), normalized(&[1, 2, 3, 4, 5, 6]));
}

proptest! {
    #[test]
    fn images_round_trip(
        (count, rows, cols, pixels) in (0usize..5, 1usize..6, 1usize..6).prop_flat_map(
            |(count, rows, cols)| {
                (Just(count), Just(rows), Just(cols),
                 proptest::collection::vec(any::<u8>(), count * rows * cols))
            }
        ),
        labels_seed in proptest::collection::vec(any::<u8>(), 5),
    ) {
        let n = |x: usize| u32::try_from(x).unwrap();
        let bytes = images_file(n(count), n(rows), n(cols), &pixels);
        let images = parse_images(&bytes).unwrap();
        prop_assert_eq!((images.count(), images.rows(), images.cols()), (count, rows, cols));
        prop_assert_eq!(Images::from_raw(&pixels, count, rows, cols), Ok(images));

        let labels: Vec<u8> = labels_seed[..count].to_vec();
        let label_bytes = labels_file(&labels);
        let parsed = parse_labels(&label_bytes).unwrap();
        prop_assert_eq!(parsed.as_slice(), &labels[..]);
        let classes = usize::from(parsed.max().unwrap_or(0)) + 1;
        let data = Dataset::new(images, parsed, classes).unwrap();

        let pixels_per = rows * cols;
        let transposed_pixels: Vec<u8> = pixels
            .chunks_exact(pixels_per)
            .flat_map(|image| transpose(image, rows, cols))
            .collect();
        let transposed_bytes = images_file(n(count), n(rows), n(cols), &transposed_pixels);
        let transposed = parse_images(&transposed_bytes)
            .unwrap()
            .with_orientation(Orientation::Transposed);

        let mut x = vec![0.0f64; pixels_per];
        let mut y = vec![0.0f64; pixels_per];
        for i in 0..count {
            let upright = &pixels[i * pixels_per..(i + 1) * pixels_per];
            prop_assert_eq!(images.image(i), Some(upright));
            data.write_image(i, &mut x).unwrap();
            prop_assert_eq!(&x, &normalized(upright));
            transposed.write_normalized(i, &mut y).unwrap();
            prop_assert_eq!(&y, &x);
        }
        for class in 0..classes {
            let idx: Vec<usize> = data.indices_of_class(class).collect();
            let want: Vec<usize> = (0..count).filter(|&i| usize::from(labels[i]) == class).collect();
            prop_assert_eq!(idx, want);
        }
        prop_assert_eq!(
            data.write_image(count, &mut x),
            Err(IdxError::IndexOutOfRange { index: count, count })
        );
    }
}

// ---------------------------------------------------------------- errors

#[test]
fn header_errors() {
    let images = valid_images();
    let labels = valid_labels();

    // Truncated header, inside the magic and inside the dimensions.
    assert_eq!(parse_images(&images[..2]), Err(IdxError::TooShort { needed: 16, found: 2 }));
    assert_eq!(parse_images(&images[..10]), Err(IdxError::TooShort { needed: 16, found: 10 }));
    assert_eq!(parse_labels(&labels[..7]), Err(IdxError::TooShort { needed: 8, found: 7 }));
    assert_eq!(parse_labels(&[]), Err(IdxError::TooShort { needed: 8, found: 0 }));

    // Wrong magic, and gzip data given without decompressing it.
    let mut bad = images.clone();
    bad[0] = 1;
    assert_eq!(parse_images(&bad), Err(IdxError::BadMagic { found: [1, 0, 8, 3] }));
    let gz = gzip(&images);
    let err = parse_images(&gz).unwrap_err();
    assert!(matches!(err, IdxError::BadMagic { found: [0x1f, 0x8b, _, _] }));
    assert!(err.to_string().contains("gzip"), "{err}");

    // Wrong element type (0x09 = signed byte).
    let mut bad = images.clone();
    bad[2] = 0x09;
    assert_eq!(parse_images(&bad), Err(IdxError::UnsupportedType(0x09)));

    // A labels file given as images, and the reverse.
    assert_eq!(parse_images(&labels), Err(IdxError::WrongRank { expected: 3, found: 1 }));
    assert_eq!(parse_labels(&images), Err(IdxError::WrongRank { expected: 1, found: 3 }));

    // Zero rows or columns.
    assert_eq!(parse_images(&images_file(3, 0, 3, &[])), Err(IdxError::EmptyDimension));
    assert_eq!(parse_images(&images_file(0, 2, 0, &[])), Err(IdxError::EmptyDimension));
    assert_eq!(Images::from_raw(&[], 0, 0, 1), Err(IdxError::EmptyDimension));

    // Dimensions whose product overflows.
    let max = u32::MAX;
    assert_eq!(parse_images(&images_file(max, max, max, &[1, 2, 3])), Err(IdxError::SizeOverflow));
    assert_eq!(Images::from_raw(&[], usize::MAX, 2, 1), Err(IdxError::SizeOverflow));
}

#[test]
fn length_errors() {
    let images = valid_images();
    let labels = valid_labels();
    // Truncated data.
    assert_eq!(parse_images(&images[..images.len() - 1]), Err(IdxError::LengthMismatch { expected: 34, found: 33 }));
    assert_eq!(parse_labels(&labels[..9]), Err(IdxError::LengthMismatch { expected: 11, found: 9 }));
    // Oversized data.
    let mut long = images.clone();
    long.push(0);
    assert_eq!(parse_images(&long), Err(IdxError::LengthMismatch { expected: 34, found: 35 }));
    let mut long = labels.clone();
    long.extend_from_slice(&[0; 4]);
    assert_eq!(parse_labels(&long), Err(IdxError::LengthMismatch { expected: 11, found: 15 }));
    // A header promising far more than there is.
    assert_eq!(
        parse_images(&images_file(u32::MAX, 28, 28, &[])),
        Err(IdxError::LengthMismatch { expected: 16 + u64::from(u32::MAX) * 784, found: 16 })
    );
    assert_eq!(Images::from_raw(&[1, 2, 3], 1, 2, 2), Err(IdxError::LengthMismatch { expected: 4, found: 3 }));
}

#[test]
fn dataset_and_request_errors() {
    let image_bytes = valid_images();
    let label_bytes = valid_labels();
    let images = parse_images(&image_bytes).unwrap();
    let labels = parse_labels(&label_bytes).unwrap();

    assert_eq!(
        Dataset::new(images, Labels::new(&LABELS[..2]), 3),
        Err(IdxError::CountMismatch { images: 3, labels: 2 })
    );
    assert_eq!(Dataset::new(images, labels, 2), Err(IdxError::LabelOutOfRange { index: 0, label: 2, classes: 2 }));
    assert_eq!(
        Dataset::new(images, Labels::new(&[0, 1, 9]), 3),
        Err(IdxError::LabelOutOfRange { index: 2, label: 9, classes: 3 })
    );
    assert_eq!(Dataset::new(images, labels, 0), Err(IdxError::NoClasses));

    let data = Dataset::new(images, labels, 3).unwrap();
    let mut x = [0.0f32; 6];
    assert_eq!(data.write_image(3, &mut x), Err(IdxError::IndexOutOfRange { index: 3, count: 3 }));
    assert_eq!(data.write_image(0, &mut [0.0f32; 5]), Err(IdxError::OutputSize { expected: 6, found: 5 }));
    assert_eq!(images.write_normalized(0, &mut [0.0f64; 7]), Err(IdxError::OutputSize { expected: 6, found: 7 }));
}

#[test]
fn error_messages_say_what_is_wrong() {
    let cases: [(IdxError, &[&str]); 13] = [
        (IdxError::TooShort { needed: 16, found: 3 }, &["short", "16", "3"]),
        (IdxError::BadMagic { found: [1, 2, 3, 4] }, &["not IDX", "01 02 03 04"]),
        (IdxError::UnsupportedType(0x0d), &["0x0d", "unsigned bytes"]),
        (IdxError::WrongRank { expected: 3, found: 1 }, &["1 dimensions (labels)", "3 (images)"]),
        (IdxError::LengthMismatch { expected: 20, found: 10 }, &["truncated", "20", "10"]),
        (IdxError::LengthMismatch { expected: 20, found: 30 }, &["trailing", "20", "30"]),
        (IdxError::SizeOverflow, &["overflow"]),
        (IdxError::EmptyDimension, &["zero rows"]),
        (IdxError::CountMismatch { images: 5, labels: 4 }, &["5 images", "4 labels"]),
        (IdxError::LabelOutOfRange { index: 7, label: 12, classes: 10 }, &["label 12", "index 7", "10 classes"]),
        (IdxError::NoClasses, &["class"]),
        (IdxError::IndexOutOfRange { index: 9, count: 3 }, &["index 9", "3 items"]),
        (IdxError::OutputSize { expected: 784, found: 64 }, &["64 elements", "784 pixels"]),
    ];
    for (err, words) in cases {
        let message = err.to_string();
        for word in words {
            assert!(message.contains(word), "{message:?} lacks {word:?}");
        }
    }
}

// ---------------------------------------------------------------- loading

#[test]
fn loads_plain_and_gzip_files() {
    let dir = TempDir::new();
    let images = dir.file("images-idx3-ubyte", &valid_images());
    let labels = dir.file("labels.gz", &gzip(&valid_labels()));
    assert_eq!(read_idx_file(&images).unwrap(), valid_images());
    assert_eq!(read_idx_file(&labels).unwrap(), valid_labels());

    // Multi-member gzip (concatenated streams) is one file.
    let whole = valid_images();
    let (a, b) = whole.split_at(5);
    let concatenated = [gzip(a), gzip(b)].concat();
    let path = dir.file("concatenated.gz", &concatenated);
    assert_eq!(read_idx_file(&path).unwrap(), valid_images());

    // Zero bytes after the last member (the padding of tape and block
    // tools) end the file, as `gzip -d` reads it; other trailing bytes,
    // after padding too, are refused.
    for padded in [[gzip(&whole), vec![0; 100]].concat(), [concatenated.clone(), vec![0; 3]].concat()] {
        let path = dir.file("padded.gz", &padded);
        assert_eq!(read_idx_file(&path).unwrap(), valid_images());
    }
    for tail in [&b"junk"[..], &[0, 0, 0, 7], &[0x1f, 0x8b]] {
        let path = dir.file("trailing.gz", &[gzip(&whole), tail.to_vec()].concat());
        let err = read_idx_file(&path).unwrap_err();
        assert!(matches!(err, LoadError::Gzip { .. }), "{tail:?}: {err:?}");
    }

    let data = OwnedDataset::load(&images, &labels, Orientation::RowMajor, None).unwrap();
    assert_eq!((data.len(), data.classes()), (3, 3), "classes = max label + 1");
    assert!(!data.is_empty());
    let view = data.view();
    assert_eq!((view.len(), view.pixels(), view.classes()), (3, 6, 3));
    assert_eq!(view.labels().as_slice(), &LABELS);
    assert_eq!(view.images().as_bytes(), &PIXELS);
    let mut x = [0.0f64; 6];
    view.write_image(1, &mut x).unwrap();
    assert_eq!(x.to_vec(), normalized(&PIXELS[6..12]));

    let data = OwnedDataset::load(&images, &labels, Orientation::RowMajor, Some(47)).unwrap();
    assert_eq!(data.classes(), 47);
}

#[test]
fn loads_emnist_transposed() {
    let dir = TempDir::new();
    let (rows, cols) = (2, 3);
    let stored: Vec<u8> = PIXELS.chunks_exact(rows * cols).flat_map(|image| transpose(image, rows, cols)).collect();
    let images = dir.file("emnist-images.gz", &gzip(&images_file(3, 2, 3, &stored)));
    let labels = dir.file("emnist-labels.gz", &gzip(&labels_file(&[46, 0, 3])));
    let data = OwnedDataset::emnist(&images, &labels).unwrap();
    assert_eq!(data.classes(), 47);
    let view = data.view();
    assert_eq!(view.images().orientation(), Orientation::Transposed);
    let mut x = [0.0f32; 6];
    for i in 0..3 {
        view.write_image(i, &mut x).unwrap();
        let want: Vec<f32> = PIXELS[i * 6..(i + 1) * 6].iter().map(|&b| (f64::from(b) / 255.0) as f32).collect();
        assert_eq!(x.to_vec(), want, "image {i}");
    }
}

/// The path named by an error, for the checks below.
fn named_path(err: &LoadError) -> &Path {
    match err {
        LoadError::Missing { path, .. }
        | LoadError::Io { path, .. }
        | LoadError::Gzip { path, .. }
        | LoadError::TooLarge { path, .. }
        | LoadError::Format { path, .. } => path,
        LoadError::Inconsistent { labels, .. } => labels,
        _ => panic!("unexpected variant {err:?}"),
    }
}

#[test]
fn loader_errors_name_the_file() {
    let dir = TempDir::new();
    let images = dir.file("images.gz", &gzip(&valid_images()));
    let labels = dir.file("labels.gz", &gzip(&valid_labels()));
    let check = |err: LoadError, path: &Path| {
        assert_eq!(named_path(&err), path, "{err:?}");
        assert!(err.to_string().contains(&path.display().to_string()), "{err} does not name {}", path.display());
        err
    };

    // Missing file.
    let missing = dir.0.join("nope.gz");
    let err = check(read_idx_file(&missing).unwrap_err(), &missing);
    assert!(matches!(err, LoadError::Missing { .. }), "{err:?}");
    let err = OwnedDataset::load(&images, &missing, Orientation::RowMajor, None).unwrap_err();
    check(err, &missing);

    // Unreadable (a directory).
    let err = check(read_idx_file(&dir.0).unwrap_err(), &dir.0);
    assert!(matches!(err, LoadError::Io { .. }), "{err:?}");
    assert!(err.source().is_some());

    // Corrupt gzip: the compressed data damaged (caught by the deflate
    // decoder or the CRC).
    let mut corrupt = gzip(&valid_images());
    let middle = corrupt.len() / 2;
    for b in &mut corrupt[middle..middle + 4] {
        *b ^= 0x5a;
    }
    let path = dir.file("corrupt.gz", &corrupt);
    let err = check(read_idx_file(&path).unwrap_err(), &path);
    assert!(matches!(err, LoadError::Gzip { .. }), "{err:?}");
    // Damaged CRC only.
    let mut bad_crc = gzip(&valid_images());
    let crc_at = bad_crc.len() - 8;
    bad_crc[crc_at] ^= 1;
    let path = dir.file("bad-crc.gz", &bad_crc);
    let err = check(read_idx_file(&path).unwrap_err(), &path);
    assert!(matches!(err, LoadError::Gzip { .. }), "{err:?}");

    // Truncated gzip, inside the data and inside the trailer.
    let whole = gzip(&valid_images());
    for cut in [whole.len() / 2, whole.len() - 3, 11] {
        let path = dir.file("truncated.gz", &whole[..cut]);
        let err = check(read_idx_file(&path).unwrap_err(), &path);
        assert!(matches!(err, LoadError::Gzip { .. }), "cut at {cut}: {err:?}");
        assert!(err.source().is_some());
    }

    // Too large, before or after decompression.
    let err = check(read_idx_file_with_limit(&images, 10).unwrap_err(), &images);
    assert!(matches!(err, LoadError::TooLarge { limit: 10, .. }), "{err:?}");
    let bomb = dir.file("bomb.gz", &gzip(&[0; 100_000]));
    let err = check(read_idx_file_with_limit(&bomb, 1000).unwrap_err(), &bomb);
    assert!(matches!(err, LoadError::TooLarge { limit: 1000, .. }), "{err:?}");
    assert_eq!(read_idx_file_with_limit(&bomb, 100_000).unwrap().len(), 100_000);

    // Not IDX, and files swapped.
    let err = OwnedDataset::load(&labels, &labels, Orientation::RowMajor, None).unwrap_err();
    let err = check(err, &labels);
    assert!(matches!(err, LoadError::Format { source: IdxError::WrongRank { expected: 3, found: 1 }, .. }), "{err:?}");
    let source = err.source().unwrap().downcast_ref::<IdxError>().copied();
    assert_eq!(source, Some(IdxError::WrongRank { expected: 3, found: 1 }));
    let truncated = dir.file("truncated-labels", &valid_labels()[..9]);
    let err = OwnedDataset::load(&images, &truncated, Orientation::RowMajor, None).unwrap_err();
    let err = check(err, &truncated);
    assert!(matches!(err, LoadError::Format { source: IdxError::LengthMismatch { .. }, .. }), "{err:?}");

    // Files that do not go together.
    let two = dir.file("two-labels", &labels_file(&[0, 1]));
    let err = OwnedDataset::load(&images, &two, Orientation::RowMajor, None).unwrap_err();
    let err = check(err, &two);
    assert!(err.to_string().contains(&images.display().to_string()));
    assert!(
        matches!(err, LoadError::Inconsistent { source: IdxError::CountMismatch { images: 3, labels: 2 }, .. }),
        "{err:?}"
    );
    let err = OwnedDataset::load(&images, &labels, Orientation::RowMajor, Some(2)).unwrap_err();
    assert!(
        matches!(
            err,
            LoadError::Inconsistent { source: IdxError::LabelOutOfRange { index: 0, label: 2, classes: 2 }, .. }
        ),
        "{err:?}"
    );
}

// ---------------------------------------------------------------- shipped data

fn check_digits(data: &OwnedDataset, count: usize, side: usize) {
    let view = data.view();
    assert_eq!(view.len(), count);
    assert_eq!((view.images().rows(), view.images().cols()), (side, side));
    assert_eq!(view.classes(), 10);
    for class in 0..10 {
        assert!(view.indices_of_class(class).next().is_some(), "class {class} missing");
    }
    assert_eq!(view.labels().max(), Some(9));
    let mut x = vec![0.0f32; side * side];
    for i in [0, count / 2, count - 1] {
        view.write_image(i, &mut x).unwrap();
        assert!(x.iter().all(|&p| (0.0..=1.0).contains(&p)));
        assert!(x.iter().any(|&p| p > 0.5), "image {i} is blank");
    }
}

#[test]
fn shipped_mnist_loads() {
    let data = OwnedDataset::mnist_shipped().unwrap();
    check_digits(&data, 10_000, 28);
    let view = data.view();
    for class in 0..10 {
        let n = view.indices_of_class(class).count();
        assert!((863..=1127).contains(&n), "class {class}: {n} digits");
    }
}

#[test]
fn shipped_optdigits_loads() {
    let data = OwnedDataset::optdigits_shipped().unwrap();
    check_digits(&data, 1797, 8);
}

#[test]
fn fashion_mnist_loads_when_installed() {
    if !Path::new(FASHION_MNIST_DIR).exists() {
        eprintln!(
            "note: {FASHION_MNIST_DIR} not found, Fashion-MNIST test skipped \
             (apt-get install -y dataset-fashion-mnist)"
        );
        let err = OwnedDataset::fashion_mnist(Split::Test).unwrap_err();
        assert!(matches!(err, LoadError::Missing { .. }), "{err:?}");
        assert!(err.to_string().contains("apt-get install -y dataset-fashion-mnist"));
        return;
    }
    for (split, count) in [(Split::Train, 60_000), (Split::Test, 10_000)] {
        let data = OwnedDataset::fashion_mnist(split).unwrap();
        let view = data.view();
        assert_eq!((view.len(), view.pixels(), view.classes()), (count, 784, 10));
        for class in 0..10 {
            assert_eq!(view.indices_of_class(class).count(), count / 10, "{split:?}");
        }
    }
}

// ---------------------------------------------------------------- robustness

/// Every accessor of a parsed file, to be sure none panics.
fn exercise(images: Option<Images<'_>>, labels: Option<Labels<'_>>) {
    if let Some(images) = images {
        assert_eq!(images.as_bytes().len(), images.count() * images.pixels());
        for orientation in [Orientation::RowMajor, Orientation::Transposed] {
            let images = images.with_orientation(orientation);
            let mut out = vec![0.0f32; images.pixels()];
            for i in 0..images.count().min(4) {
                assert!(images.image(i).is_some());
                images.write_normalized(i, &mut out).unwrap();
            }
            assert!(images.image(images.count()).is_none());
        }
        if let Some(labels) = labels {
            let _ = Dataset::new(images, labels, 10).map(|d| d.indices_of_class(1).count());
        }
    }
    if let Some(labels) = labels {
        let _ = (labels.max(), labels.get(0), labels.count());
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        exercise(parse_images(&bytes).ok(), parse_labels(&bytes).ok());
    }

    #[test]
    fn mutated_files_never_panic(
        edits in proptest::collection::vec((0usize..20, any::<u8>()), 0..4),
        // The file is truncated to `cut` bytes if shorter, else `extra` appended.
        cut in 0usize..40,
        extra in proptest::collection::vec(any::<u8>(), 0..8),
    ) {
        for mut file in [valid_images(), valid_labels()] {
            for &(at, byte) in &edits {
                if let Some(b) = file.get_mut(at) {
                    *b = byte;
                }
            }
            if cut < file.len() {
                file.truncate(cut);
            } else {
                file.extend_from_slice(&extra);
            }
            exercise(parse_images(&file).ok(), parse_labels(&file).ok());
        }
    }
}

/// Regression (found by the `idx` fuzz target in its harness): a file of zero
/// images may announce any image size; it parses as empty, and nothing can
/// be read from it.
#[test]
fn zero_images_with_huge_dimensions_parse_as_empty() {
    let mut file = vec![0, 0, 8, 3];
    for d in [0u32, 30, 0x1600_0025] {
        file.extend_from_slice(&d.to_be_bytes());
    }
    let images = metaplasticity::idx::parse_images(&file).expect("an empty file is valid");
    assert_eq!(images.count(), 0);
    assert!(images.image(0).is_none());
    let mut out = [0.0f32; 4];
    assert!(images.write_normalized(0, &mut out).is_err());
}

/// Images of another size than the network's input are an error naming the
/// sizes, not a panic, and the weights are left alone.
#[test]
fn images_of_the_wrong_size_are_refused_by_the_learner() {
    use metaplasticity::{Activity, Backprop, Error, Network, Rule, shape};
    let owned = metaplasticity::data::OwnedDataset::optdigits_shipped().unwrap();
    let data = owned.view();
    type Mnist = shape![784, 10];
    let mut net = Network::<f32, Mnist, _>::zeros();
    let before = net.as_slice().to_vec();
    let mut act = Activity::<f32, Mnist, _>::zeros();
    let r = metaplasticity::online::learn(&mut net, &Backprop, &Rule::<f32>::fa(), &mut act, &data, 0);
    assert!(
        matches!(r, Err(Error::Data(metaplasticity::idx::IdxError::OutputSize { expected: 64, found: 784 }))),
        "{r:?}"
    );
    assert_eq!(net.as_slice(), &before[..]);
    // The cause is the error's source; the chain the programs print names the sizes.
    assert!(metaplasticity::error::chain(&r.unwrap_err()).contains("image has 64 pixels"));
}
