//! The IDX file format of MNIST, EMNIST and Fashion-MNIST, read without
//! allocating and without panicking on any input.
//!
//! An IDX file is a big-endian header followed by the data:
//!
//! | bytes | meaning |
//! |---|---|
//! | 0-1 | zero |
//! | 2 | element type: only `0x08` (unsigned byte) is supported |
//! | 3 | number of dimensions (the *rank*) |
//! | 4.. | each dimension as a big-endian `u32` |
//! | then | the elements, last dimension fastest |
//!
//! An images file has rank 3, `[count, rows, cols]`; a labels file has rank 1,
//! `[count]`. [`parse_images`] and [`parse_labels`] check the header against
//! the length of the data exactly, and [`Dataset::new`] pairs images with
//! labels, checking that the counts agree and that every label is a valid class.
//! Files are usually gzip-compressed: decompress them first (with the `std`
//! feature, `crate::data` does this).
//!
//! ```
//! use metaplasticity::idx::{Dataset, IdxError, parse_images, parse_labels};
//!
//! // Two 2x2 images...
//! let images = [
//!     0, 0, 0x08, 3, // magic: unsigned bytes, 3 dimensions
//!     0, 0, 0, 2, // count
//!     0, 0, 0, 2, // rows
//!     0, 0, 0, 2, // cols
//!     0, 255, 255, 0, // image 0
//!     255, 0, 0, 51, // image 1
//! ];
//! // ...and their two labels.
//! let labels = [0, 0, 0x08, 1, 0, 0, 0, 2, 1, 0];
//!
//! let data = Dataset::new(parse_images(&images)?, parse_labels(&labels)?, 2)?;
//! assert_eq!(data.len(), 2);
//! assert_eq!(data.label(1), Some(0));
//!
//! let mut x = [0.0f32; 4];
//! data.write_image(1, &mut x)?; // pixel / 255, row after row
//! assert_eq!(x, [1.0, 0.0, 0.0, 0.2]);
//! assert_eq!(data.indices_of_class(1).collect::<Vec<_>>(), [0]);
//!
//! // A truncated file is refused.
//! assert!(matches!(
//!     parse_images(&images[..23]),
//!     Err(IdxError::LengthMismatch { expected: 24, found: 23 })
//! ));
//! # Ok::<(), IdxError>(())
//! ```

use core::fmt;

use crate::Real;

/// The element type code of unsigned bytes, the only one supported.
pub const TYPE_U8: u8 = 0x08;

/// Most classes a [`Dataset`] can have: labels are single bytes.
pub const MAX_CLASSES: usize = 256;

/// Header length of an images file: magic plus three dimensions.
pub const IMAGES_HEADER_LEN: usize = 4 + 3 * 4;

/// Header length of a labels file: magic plus one dimension.
pub const LABELS_HEADER_LEN: usize = 4 + 4;

/// What is wrong with IDX data, or with a request made of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdxError {
    /// The file ends inside its header.
    TooShort {
        /// Header length in bytes.
        needed: usize,
        /// File length in bytes.
        found: usize,
    },
    /// The first two bytes are not zero: this is not an IDX file (if they
    /// are `1f 8b` it is still gzip-compressed).
    BadMagic {
        /// The first four bytes of the file.
        found: [u8; 4],
    },
    /// The element type (byte 2) is not `0x08`, unsigned bytes.
    UnsupportedType(u8),
    /// The number of dimensions (byte 3) is not 3 for images or 1 for labels:
    /// typically a labels file given where images are expected, or the reverse.
    WrongRank {
        /// 3 for images, 1 for labels.
        expected: u8,
        /// The number of dimensions in the header.
        found: u8,
    },
    /// The file length differs from the one the header describes (header plus
    /// the product of the dimensions): the file is truncated, or has trailing
    /// bytes.
    LengthMismatch {
        /// Length in bytes described by the header.
        expected: u64,
        /// Actual length in bytes.
        found: u64,
    },
    /// The product of the dimensions does not fit in an integer on this
    /// machine.
    SizeOverflow,
    /// An image has zero rows or zero columns.
    EmptyDimension,
    /// The images and labels files hold different numbers of items.
    CountMismatch {
        /// Number of images.
        images: usize,
        /// Number of labels.
        labels: usize,
    },
    /// A label is not below the number of classes.
    LabelOutOfRange {
        /// Position of the label in the file.
        index: usize,
        /// The label.
        label: u8,
        /// The number of classes.
        classes: usize,
    },
    /// A data set must have at least one class.
    NoClasses,
    /// More classes than single-byte labels can name ([`MAX_CLASSES`]).
    TooManyClasses {
        /// The number of classes given.
        classes: usize,
    },
    /// There are no items to infer the number of classes from.
    NoItems,
    /// An item was requested past the end.
    IndexOutOfRange {
        /// The requested index.
        index: usize,
        /// The number of items.
        count: usize,
    },
    /// An output buffer does not have one element per pixel.
    OutputSize {
        /// Pixels per image.
        expected: usize,
        /// Length of the buffer.
        found: usize,
    },
}

impl fmt::Display for IdxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::TooShort { needed, found } => {
                write!(f, "IDX data too short: the header needs {needed} bytes but there are only {found}")
            }
            Self::BadMagic { found } => {
                let [a, b, c, d] = found;
                write!(
                    f,
                    "not IDX data: it must start with two zero bytes, \
                     found {a:02x} {b:02x} {c:02x} {d:02x}"
                )?;
                if [a, b] == [0x1f, 0x8b] {
                    f.write_str(" (gzip-compressed: decompress it first)")?;
                }
                Ok(())
            }
            Self::UnsupportedType(t) => {
                write!(f, "unsupported IDX element type 0x{t:02x}: only unsigned bytes (0x08) are supported")
            }
            Self::WrongRank { expected, found } => {
                let what = |rank| match rank {
                    3 => " (images)",
                    1 => " (labels)",
                    _ => "",
                };
                write!(
                    f,
                    "IDX data has {found} dimensions{} but {expected}{} were expected",
                    what(found),
                    what(expected)
                )
            }
            Self::LengthMismatch { expected, found } => {
                let problem = if found < expected { "truncated" } else { "has trailing bytes" };
                write!(f, "IDX data {problem}: the header describes {expected} bytes but there are {found}")
            }
            Self::SizeOverflow => {
                f.write_str("IDX dimensions too large: their product overflows this machine's integers")
            }
            Self::EmptyDimension => f.write_str("IDX images have zero rows or zero columns"),
            Self::CountMismatch { images, labels } => {
                write!(f, "{images} images but {labels} labels: the counts must be equal")
            }
            Self::LabelOutOfRange { index, label, classes } => {
                write!(f, "label {label} at index {index} is out of range for {classes} classes")
            }
            Self::NoClasses => f.write_str("a data set needs at least one class"),
            Self::TooManyClasses { classes } => {
                write!(f, "{classes} classes: labels are single bytes, so a data set has at most {MAX_CLASSES}")
            }
            Self::NoItems => f.write_str("the files hold no images, so the number of classes cannot be inferred"),
            Self::IndexOutOfRange { index, count } => {
                write!(f, "index {index} is out of range for {count} items")
            }
            Self::OutputSize { expected, found } => {
                write!(f, "output buffer has {found} elements but an image has {expected} pixels")
            }
        }
    }
}

impl core::error::Error for IdxError {}

/// Reads the header of IDX data of `RANK` dimensions: returns the dimensions
/// and the bytes after the header (not yet checked against the dimensions).
fn parse_header<const RANK: usize>(bytes: &[u8]) -> Result<([u32; RANK], &[u8]), IdxError> {
    let needed = 4 + 4 * RANK;
    let too_short = IdxError::TooShort { needed, found: bytes.len() };
    let Some((&magic, mut rest)) = bytes.split_first_chunk::<4>() else {
        return Err(too_short);
    };
    let [zero0, zero1, element_type, rank] = magic;
    if zero0 != 0 || zero1 != 0 {
        return Err(IdxError::BadMagic { found: magic });
    }
    if element_type != TYPE_U8 {
        return Err(IdxError::UnsupportedType(element_type));
    }
    if usize::from(rank) != RANK {
        return Err(IdxError::WrongRank {
            // RANK is 1 or 3 (private function).
            expected: RANK as u8,
            found: rank,
        });
    }
    let mut dims = [0u32; RANK];
    for dim in &mut dims {
        let Some((&be, after)) = rest.split_first_chunk::<4>() else {
            return Err(too_short);
        };
        *dim = u32::from_be_bytes(be);
        rest = after;
    }
    Ok((dims, rest))
}

/// Checks that `body` (the data after a header of `header_len` bytes) holds
/// exactly the product of `dims` bytes.
fn check_length(header_len: usize, body: &[u8], dims: &[u32]) -> Result<(), IdxError> {
    let expected_body =
        dims.iter().try_fold(1u64, |n, &d| n.checked_mul(u64::from(d))).ok_or(IdxError::SizeOverflow)?;
    let expected = expected_body.checked_add(header_len as u64).ok_or(IdxError::SizeOverflow)?;
    if body.len() as u64 != expected_body {
        return Err(IdxError::LengthMismatch {
            expected,
            found: (header_len as u64).saturating_add(body.len() as u64),
        });
    }
    Ok(())
}

/// Converts a header dimension to `usize` (fails only on 16-bit machines).
fn to_usize(d: u32) -> Result<usize, IdxError> {
    usize::try_from(d).map_err(|_| IdxError::SizeOverflow)
}

/// How the pixels of each image are laid out in the file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Orientation {
    /// Row after row, as in MNIST and Fashion-MNIST.
    #[default]
    RowMajor,
    /// Column after column (each image stored transposed), as in EMNIST: the
    /// pixel at row `r`, column `c` is byte `c * rows + r` of the image.
    Transposed,
}

/// The images of an IDX images file, borrowed from its bytes.
///
/// Always consistent: `count() * pixels()` bytes of pixels, at least one row
/// and one column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Images<'a> {
    /// The pixels of all images, one byte each (0 = background).
    data: &'a [u8],
    count: usize,
    rows: usize,
    cols: usize,
    /// `rows * cols`.
    pixels: usize,
    orientation: Orientation,
}

/// Parses an IDX images file (rank 3, `[count, rows, cols]`, unsigned bytes),
/// already decompressed. The orientation is [`Orientation::RowMajor`]; use
/// [`Images::with_orientation`] for EMNIST.
///
/// # Errors
///
/// Any [`IdxError`] about the header: [`TooShort`](IdxError::TooShort),
/// [`BadMagic`](IdxError::BadMagic), [`UnsupportedType`](IdxError::UnsupportedType),
/// [`WrongRank`](IdxError::WrongRank), [`EmptyDimension`](IdxError::EmptyDimension),
/// [`SizeOverflow`](IdxError::SizeOverflow), or
/// [`LengthMismatch`](IdxError::LengthMismatch) when the data is shorter or
/// longer than the header says.
pub fn parse_images(bytes: &[u8]) -> Result<Images<'_>, IdxError> {
    let (dims, body) = parse_header::<3>(bytes)?;
    let [count, rows, cols] = dims;
    if rows == 0 || cols == 0 {
        return Err(IdxError::EmptyDimension);
    }
    check_length(IMAGES_HEADER_LEN, body, &dims)?;
    Images::from_raw(body, to_usize(count)?, to_usize(rows)?, to_usize(cols)?)
}

impl<'a> Images<'a> {
    /// Images from pixels already in memory, without an IDX header: `count`
    /// images of `rows` by `cols` bytes, one after the other, row-major.
    ///
    /// # Errors
    ///
    /// [`EmptyDimension`](IdxError::EmptyDimension) if `rows` or `cols` is zero,
    /// [`SizeOverflow`](IdxError::SizeOverflow) if the size overflows `usize`,
    /// [`LengthMismatch`](IdxError::LengthMismatch) unless
    /// `data.len() == count * rows * cols`.
    pub fn from_raw(data: &'a [u8], count: usize, rows: usize, cols: usize) -> Result<Self, IdxError> {
        if rows == 0 || cols == 0 {
            return Err(IdxError::EmptyDimension);
        }
        let pixels = rows.checked_mul(cols).ok_or(IdxError::SizeOverflow)?;
        let total = count.checked_mul(pixels).ok_or(IdxError::SizeOverflow)?;
        if data.len() != total {
            return Err(IdxError::LengthMismatch { expected: total as u64, found: data.len() as u64 });
        }
        Ok(Self { data, count, rows, cols, pixels, orientation: Orientation::RowMajor })
    }

    /// Images whose sizes were already checked by [`Images::from_raw`]: the
    /// count is `data.len() / (rows * cols)` (the accessors stay panic-free
    /// even if the sizes were not checked).
    #[cfg(feature = "std")]
    pub(crate) fn prevalidated(data: &'a [u8], rows: usize, cols: usize, orientation: Orientation) -> Self {
        let pixels = rows.saturating_mul(cols);
        Self { data, count: data.len().checked_div(pixels).unwrap_or(0), rows, cols, pixels, orientation }
    }

    /// The same images with pixels laid out as `orientation` says
    /// ([`Orientation::Transposed`] for EMNIST).
    #[must_use]
    pub fn with_orientation(self, orientation: Orientation) -> Self {
        Self { orientation, ..self }
    }

    /// The layout of the pixels in the file.
    pub fn orientation(&self) -> Orientation {
        self.orientation
    }

    /// Number of images.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Rows per image (its height).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns per image (its width).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Pixels per image: `rows() * cols()`.
    pub fn pixels(&self) -> usize {
        self.pixels
    }

    /// The pixels of all images, as stored (without the header).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.data
    }

    /// The bytes of image `i` as stored: row-major, or column-major when the
    /// orientation is [`Orientation::Transposed`]. `None` past the end.
    pub fn image(&self, i: usize) -> Option<&'a [u8]> {
        let start = i.checked_mul(self.pixels)?;
        let end = start.checked_add(self.pixels)?;
        self.data.get(start..end)
    }

    /// Writes image `i` into `out` as `pixel / 255` (in `[0, 1]`), row after
    /// row whatever the orientation (a transposed image is transposed back).
    ///
    /// # Errors
    ///
    /// [`IndexOutOfRange`](IdxError::IndexOutOfRange) if `i >= count()`,
    /// [`OutputSize`](IdxError::OutputSize) if `out.len() != pixels()`.
    pub fn write_normalized<T: Real>(&self, i: usize, out: &mut [T]) -> Result<(), IdxError> {
        let image = self.image(i).ok_or(IdxError::IndexOutOfRange { index: i, count: self.count })?;
        if out.len() != self.pixels {
            return Err(IdxError::OutputSize { expected: self.pixels, found: out.len() });
        }
        // Divide in `T` itself: exactly `byte / 255` rounded once, and no
        // double-precision arithmetic (software-emulated on an M4F).
        let full = T::from_subset(&255.0f32);
        let scale = |byte: u8| T::from_subset(&f32::from(byte)) / full;
        match self.orientation {
            Orientation::RowMajor => {
                for (o, &byte) in out.iter_mut().zip(image) {
                    *o = scale(byte);
                }
            }
            Orientation::Transposed => {
                // Stored column `c` holds rows 0.. of column `c`: it goes to
                // out[c], out[c + cols], out[c + 2 cols], ...
                // (`rows` and `cols` are at least 1; `max` only documents it.)
                for (c, column) in image.chunks_exact(self.rows.max(1)).enumerate() {
                    let targets = out.iter_mut().skip(c).step_by(self.cols.max(1));
                    for (o, &byte) in targets.zip(column) {
                        *o = scale(byte);
                    }
                }
            }
        }
        Ok(())
    }
}

/// The labels of an IDX labels file, borrowed from its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Labels<'a> {
    /// One label per item.
    data: &'a [u8],
}

/// Parses an IDX labels file (rank 1, `[count]`, unsigned bytes), already
/// decompressed.
///
/// # Errors
///
/// Any [`IdxError`] about the header: [`TooShort`](IdxError::TooShort),
/// [`BadMagic`](IdxError::BadMagic), [`UnsupportedType`](IdxError::UnsupportedType),
/// [`WrongRank`](IdxError::WrongRank), or
/// [`LengthMismatch`](IdxError::LengthMismatch) when the data is shorter or
/// longer than the header says.
pub fn parse_labels(bytes: &[u8]) -> Result<Labels<'_>, IdxError> {
    let (dims, body) = parse_header::<1>(bytes)?;
    check_length(LABELS_HEADER_LEN, body, &dims)?;
    Ok(Labels::new(body))
}

impl<'a> Labels<'a> {
    /// Labels from bytes already in memory, without an IDX header.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// Number of labels.
    pub fn count(&self) -> usize {
        self.data.len()
    }

    /// Label `i`, `None` past the end.
    pub fn get(&self, i: usize) -> Option<u8> {
        self.data.get(i).copied()
    }

    /// All labels.
    pub fn as_slice(&self) -> &'a [u8] {
        self.data
    }

    /// The largest label, `None` if there are none.
    pub fn max(&self) -> Option<u8> {
        self.data.iter().copied().max()
    }
}

/// Images paired with their labels, each label a class in `0..classes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dataset<'a> {
    images: Images<'a>,
    labels: Labels<'a>,
    /// Number of classes: every label is below it.
    classes: usize,
}

impl<'a> Dataset<'a> {
    /// Pairs `images` with `labels`, in `classes` classes.
    ///
    /// # Errors
    ///
    /// [`CountMismatch`](IdxError::CountMismatch) if the counts differ,
    /// [`NoClasses`](IdxError::NoClasses) if `classes` is zero,
    /// [`TooManyClasses`](IdxError::TooManyClasses) past [`MAX_CLASSES`],
    /// [`LabelOutOfRange`](IdxError::LabelOutOfRange) for the first label that
    /// is not below `classes`.
    pub fn new(images: Images<'a>, labels: Labels<'a>, classes: usize) -> Result<Self, IdxError> {
        if images.count() != labels.count() {
            return Err(IdxError::CountMismatch { images: images.count(), labels: labels.count() });
        }
        if classes == 0 {
            return Err(IdxError::NoClasses);
        }
        if classes > MAX_CLASSES {
            return Err(IdxError::TooManyClasses { classes });
        }
        let out_of_range = labels.as_slice().iter().position(|&label| usize::from(label) >= classes);
        if let Some(index) = out_of_range {
            return Err(IdxError::LabelOutOfRange { index, label: labels.get(index).unwrap_or_default(), classes });
        }
        Ok(Self::prevalidated(images, labels, classes))
    }

    /// Pairs images and labels already checked by [`Dataset::new`] (the
    /// accessors stay panic-free even if they were not).
    pub(crate) fn prevalidated(images: Images<'a>, labels: Labels<'a>, classes: usize) -> Self {
        Self { images, labels, classes }
    }

    /// Number of items (images, and labels).
    pub fn len(&self) -> usize {
        self.labels.count()
    }

    /// True when there are no items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of classes: every label is below it.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The images.
    pub fn images(&self) -> Images<'a> {
        self.images
    }

    /// The labels.
    pub fn labels(&self) -> Labels<'a> {
        self.labels
    }

    /// Pixels per image.
    pub fn pixels(&self) -> usize {
        self.images.pixels()
    }

    /// Label of item `i`, `None` past the end.
    pub fn label(&self, i: usize) -> Option<u8> {
        self.labels.get(i)
    }

    /// Writes image `i` into `out` as `pixel / 255`, row-major: see
    /// [`Images::write_normalized`].
    ///
    /// # Errors
    ///
    /// [`IndexOutOfRange`](IdxError::IndexOutOfRange) if `i >= len()`,
    /// [`OutputSize`](IdxError::OutputSize) if `out.len() != pixels()`.
    pub fn write_image<T: Real>(&self, i: usize, out: &mut [T]) -> Result<(), IdxError> {
        self.images.write_normalized(i, out)
    }

    /// Indices of the items of class `class`, in increasing order.
    pub fn indices_of_class(&self, class: usize) -> impl Iterator<Item = usize> + 'a {
        self.labels
            .as_slice()
            .iter()
            .enumerate()
            .filter(move |&(_, &label)| usize::from(label) == class)
            .map(|(i, _)| i)
    }
}
