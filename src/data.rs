//! Loading IDX data sets from files, plain or gzip-compressed (feature `std`).
//!
//! [`OwnedDataset`] holds the bytes of an images file and a labels file,
//! checked once when loaded; [`OwnedDataset::view`] lends them as an
//! [`idx::Dataset`]. Shortcuts load the data shipped in
//! this crate's `data/` folder (MNIST 10k, optdigits 8x8), Fashion-MNIST from
//! the Debian package `dataset-fashion-mnist`, and EMNIST files (transposed).
//!
//! ```
//! use metaplasticity::data::OwnedDataset;
//!
//! let digits = OwnedDataset::optdigits_shipped()?;
//! let view = digits.view();
//! assert_eq!((view.len(), view.pixels(), view.classes()), (1797, 64, 10));
//! let mut x = vec![0.0f64; view.pixels()];
//! view.write_image(0, &mut x)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::vec::Vec;

use flate2::bufread::GzDecoder;

use crate::idx::{self, Dataset, IdxError, Images, Labels, Orientation};

/// Largest file, after decompression, that [`read_idx_file`] accepts: 1 GiB
/// (the full EMNIST "byclass" training images take 0.55 GB). Guards against
/// gzip bombs.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// The two bytes that start every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Where the Debian package `dataset-fashion-mnist` installs Fashion-MNIST.
pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// How to install Fashion-MNIST when it is missing.
const FASHION_MNIST_HINT: &str = "Fashion-MNIST is not installed: run `apt-get install -y dataset-fashion-mnist`";

/// Hint for a missing file given by the caller.
const PATH_HINT: &str = "check the path";

/// Hint for a missing shipped file.
const SHIPPED_HINT: &str = "the shipped data sets are read from the data/ folder of this crate's source directory";

/// Why a data set could not be loaded. Every variant names the file; the
/// underlying error, if any, is the [`source`](std::error::Error::source).
#[derive(Debug)]
#[non_exhaustive]
pub enum LoadError {
    /// The file does not exist.
    Missing {
        /// The missing file.
        path: PathBuf,
        /// What to do about it.
        hint: &'static str,
    },
    /// The file exists but could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The file starts like gzip but does not decompress: corrupt or truncated.
    Gzip {
        /// The file.
        path: PathBuf,
        /// The decompressor's error.
        source: io::Error,
    },
    /// The file, or its decompressed contents, is larger than the limit
    /// ([`MAX_FILE_BYTES`] unless given to [`read_idx_file_with_limit`]).
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// The (decompressed) file is not a valid IDX file of the expected kind.
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: IdxError,
    },
    /// Both files are valid but do not make a data set: different counts, a
    /// label out of range, or no items to infer the classes from.
    Inconsistent {
        /// The images file.
        images: PathBuf,
        /// The labels file.
        labels: PathBuf,
        /// What does not match.
        source: IdxError,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing { path, hint } => {
                write!(f, "{} does not exist: {hint}", path.display())
            }
            Self::Io { path, .. } => write!(f, "cannot read {}", path.display()),
            Self::Gzip { path, .. } => {
                write!(f, "{} is corrupt or truncated gzip: it does not decompress", path.display())
            }
            Self::TooLarge { path, limit } => {
                write!(f, "{} is larger than {limit} bytes (decompressed): refusing to load it", path.display())
            }
            Self::Format { path, .. } => {
                write!(f, "{} is not a valid IDX file", path.display())
            }
            Self::Inconsistent { images, labels, .. } => {
                write!(f, "images {} and labels {} do not make a data set", images.display(), labels.display())
            }
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } | Self::Gzip { source, .. } => Some(source),
            Self::Format { source, .. } | Self::Inconsistent { source, .. } => Some(source),
            Self::Missing { .. } | Self::TooLarge { .. } => None,
        }
    }
}

/// Reads at most `limit` bytes from `reader`; `Ok(None)` if there are more.
fn read_capped(reader: impl Read, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    reader.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

/// Reads `path` (at most `limit` bytes, before and after decompression), a
/// missing file reported as [`LoadError::Missing`] with `hint`.
fn read_with_hint(path: &Path, limit: u64, hint: &'static str) -> Result<Vec<u8>, LoadError> {
    let io_error = |source: io::Error| match source.kind() {
        io::ErrorKind::NotFound => LoadError::Missing { path: path.to_path_buf(), hint },
        _ => LoadError::Io { path: path.to_path_buf(), source },
    };
    let too_large = || LoadError::TooLarge { path: path.to_path_buf(), limit };
    let raw = read_capped(File::open(path).map_err(io_error)?, limit).map_err(io_error)?.ok_or_else(too_large)?;
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw);
    }
    decompress(&raw, path, limit)
}

/// `raw` decompressed if it is gzip (at most `limit` bytes), else copied;
/// `path` names it in errors.
fn decompress(raw: &[u8], path: &Path, limit: u64) -> Result<Vec<u8>, LoadError> {
    let too_large = || LoadError::TooLarge { path: path.to_path_buf(), limit };
    if !raw.starts_with(&GZIP_MAGIC) {
        return if raw.len() as u64 <= limit { Ok(raw.to_vec()) } else { Err(too_large()) };
    }
    read_capped(Members::new(raw), limit)
        .map_err(|source| LoadError::Gzip { path: path.to_path_buf(), source })?
        .ok_or_else(too_large)
}

/// The concatenated members of a gzip file, decompressed one after the
/// other, ending where only zero bytes are left: the padding that tape and
/// block tools add, which `gzip -d` also skips without a word (any other
/// trailing bytes must be another member, else the read fails).
struct Members<'a> {
    current: GzDecoder<&'a [u8]>,
}

impl<'a> Members<'a> {
    fn new(raw: &'a [u8]) -> Self {
        Members { current: GzDecoder::new(raw) }
    }
}

impl Read for Members<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.current.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            // This member is done: what follows is padding, or the next one.
            let rest = *self.current.get_ref();
            if rest.iter().all(|&b| b == 0) {
                return Ok(0);
            }
            self.current = GzDecoder::new(rest);
        }
    }
}

/// Reads a whole file, decompressing it if it is gzip (recognised by its first
/// two bytes, `1f 8b`, whatever its name; concatenated members are one
/// file, and zero bytes after the last member are padding, skipped as
/// `gzip -d` skips them).
///
/// # Errors
///
/// [`LoadError::Missing`] if the file does not exist, [`LoadError::Io`] if it
/// cannot be read, [`LoadError::Gzip`] if it is corrupt or truncated gzip,
/// [`LoadError::TooLarge`] past [`MAX_FILE_BYTES`].
pub fn read_idx_file(path: &Path) -> Result<Vec<u8>, LoadError> {
    read_idx_file_with_limit(path, MAX_FILE_BYTES)
}

/// [`read_idx_file`] with another size limit than [`MAX_FILE_BYTES`]: the
/// file and its decompressed contents may each be at most `limit` bytes.
///
/// # Errors
///
/// As [`read_idx_file`]; [`LoadError::TooLarge`] past `limit`.
pub fn read_idx_file_with_limit(path: &Path, limit: u64) -> Result<Vec<u8>, LoadError> {
    read_with_hint(path, limit, PATH_HINT)
}

/// Which part of a data set split into training and test sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Split {
    /// The training set (60,000 items for Fashion-MNIST).
    Train,
    /// The test set (10,000 items for Fashion-MNIST).
    Test,
}

/// An images file and a labels file, loaded and checked: their pixel and label
/// bytes (headers removed) with the image size, pixel layout and number of
/// classes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedDataset {
    /// Pixels of all images, `count * rows * cols` bytes.
    images: Vec<u8>,
    /// One label per image, each below `classes`.
    labels: Vec<u8>,
    rows: usize,
    cols: usize,
    orientation: Orientation,
    classes: usize,
}

impl OwnedDataset {
    /// Loads an images file and a labels file (each plain or gzip-compressed)
    /// whose images are laid out as `orientation` says, with `classes`
    /// classes (by default the largest label plus one).
    ///
    /// # Errors
    ///
    /// Any [`LoadError`]: a file missing, unreadable, corrupt gzip or not
    /// IDX ([`LoadError::Format`], which also covers a labels file given as
    /// images or the reverse), or files that do not go together
    /// ([`LoadError::Inconsistent`]).
    pub fn load(
        images_path: &Path,
        labels_path: &Path,
        orientation: Orientation,
        classes: Option<usize>,
    ) -> Result<Self, LoadError> {
        Self::load_with_hint(images_path, labels_path, orientation, classes, PATH_HINT)
    }

    fn load_with_hint(
        images_path: &Path,
        labels_path: &Path,
        orientation: Orientation,
        classes: Option<usize>,
        hint: &'static str,
    ) -> Result<Self, LoadError> {
        let image_bytes = read_with_hint(images_path, MAX_FILE_BYTES, hint)?;
        let label_bytes = read_with_hint(labels_path, MAX_FILE_BYTES, hint)?;
        Self::parse(&image_bytes, &label_bytes, (images_path, labels_path), orientation, classes)
    }

    /// A data set from the bytes of an images file and a labels file
    /// already in memory (each plain or gzip-compressed, at most
    /// [`MAX_FILE_BYTES`] decompressed), for data compiled into a program
    /// with `include_bytes!`. `names` stand for the files' paths in errors.
    ///
    /// ```
    /// use metaplasticity::data::OwnedDataset;
    /// use metaplasticity::idx::Orientation;
    /// let images = [0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 255, 255, 0];
    /// let labels = [0, 0, 8, 1, 0, 0, 0, 1, 3];
    /// let data = OwnedDataset::from_bytes(&images, &labels, ("images", "labels"), Orientation::RowMajor, None)?;
    /// assert_eq!((data.len(), data.classes()), (1, 4));
    /// # Ok::<(), metaplasticity::data::LoadError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`OwnedDataset::load`], but for a missing or unreadable file.
    pub fn from_bytes(
        images: &[u8],
        labels: &[u8],
        names: (&str, &str),
        orientation: Orientation,
        classes: Option<usize>,
    ) -> Result<Self, LoadError> {
        let paths = (Path::new(names.0), Path::new(names.1));
        let image_bytes = decompress(images, paths.0, MAX_FILE_BYTES)?;
        let label_bytes = decompress(labels, paths.1, MAX_FILE_BYTES)?;
        Self::parse(&image_bytes, &label_bytes, paths, orientation, classes)
    }

    /// Parses and checks the (decompressed) bytes of the two files.
    fn parse(
        image_bytes: &[u8],
        label_bytes: &[u8],
        (images_path, labels_path): (&Path, &Path),
        orientation: Orientation,
        classes: Option<usize>,
    ) -> Result<Self, LoadError> {
        let format = |path: &Path| {
            let path = path.to_path_buf();
            move |source| LoadError::Format { path, source }
        };
        let images = idx::parse_images(image_bytes).map_err(format(images_path))?;
        let labels = idx::parse_labels(label_bytes).map_err(format(labels_path))?;
        let inconsistent = |source| LoadError::Inconsistent {
            images: images_path.to_path_buf(),
            labels: labels_path.to_path_buf(),
            source,
        };
        let classes = match (classes, labels.max()) {
            (Some(classes), _) => classes,
            (None, Some(max)) => usize::from(max) + 1,
            (None, None) => return Err(inconsistent(IdxError::NoItems)),
        };
        let checked = Dataset::new(images.with_orientation(orientation), labels, classes).map_err(inconsistent)?;
        Ok(Self {
            images: checked.images().as_bytes().to_vec(),
            labels: checked.labels().as_slice().to_vec(),
            rows: images.rows(),
            cols: images.cols(),
            orientation,
            classes,
        })
    }

    /// Loads an EMNIST split (images stored transposed), classes inferred
    /// from the labels (47 for "balanced" when every class is present).
    ///
    /// # Errors
    ///
    /// As [`OwnedDataset::load`].
    pub fn emnist(images_path: &Path, labels_path: &Path) -> Result<Self, LoadError> {
        Self::load(images_path, labels_path, Orientation::Transposed, None)
    }

    /// Fashion-MNIST from [`FASHION_MNIST_DIR`], installed by
    /// `apt-get install -y dataset-fashion-mnist`: 60,000 training or 10,000
    /// test images of 28x28, 10 classes.
    ///
    /// # Errors
    ///
    /// [`LoadError::Missing`], saying how to install it, when it is not
    /// installed; otherwise as [`OwnedDataset::load`].
    pub fn fashion_mnist(split: Split) -> Result<Self, LoadError> {
        let prefix = match split {
            Split::Train => "train",
            Split::Test => "t10k",
        };
        let dir = Path::new(FASHION_MNIST_DIR);
        Self::load_with_hint(
            &dir.join(std::format!("{prefix}-images-idx3-ubyte.gz")),
            &dir.join(std::format!("{prefix}-labels-idx1-ubyte.gz")),
            Orientation::RowMajor,
            Some(10),
            FASHION_MNIST_HINT,
        )
    }

    /// 10,000 MNIST digits of 28x28 (about 1,000 per class), shipped in this
    /// crate's `data/mnist-10k/`.
    ///
    /// # Errors
    ///
    /// [`LoadError::Missing`] if the crate's source directory is gone (the
    /// path is fixed at compile time); otherwise as [`OwnedDataset::load`].
    pub fn mnist_shipped() -> Result<Self, LoadError> {
        Self::shipped("mnist-10k")
    }

    /// 1,797 handwritten digits of 8x8 (UCI optdigits), shipped in this
    /// crate's `data/optdigits-8x8/`.
    ///
    /// # Errors
    ///
    /// As [`OwnedDataset::mnist_shipped`].
    pub fn optdigits_shipped() -> Result<Self, LoadError> {
        Self::shipped("optdigits-8x8")
    }

    fn shipped(folder: &str) -> Result<Self, LoadError> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join(folder);
        Self::load_with_hint(
            &dir.join("images-idx3-ubyte.gz"),
            &dir.join("labels-idx1-ubyte.gz"),
            Orientation::RowMajor,
            Some(10),
            SHIPPED_HINT,
        )
    }

    /// The data set, borrowed.
    pub fn view(&self) -> Dataset<'_> {
        // Checked by `Dataset::new` when loaded; the pixel count is a multiple
        // of `rows * cols` (both at least 1).
        let images = Images::prevalidated(&self.images, self.rows, self.cols, self.orientation);
        Dataset::prevalidated(images, Labels::new(&self.labels), self.classes)
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no items.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Number of classes: every label is below it.
    pub fn classes(&self) -> usize {
        self.classes
    }
}
