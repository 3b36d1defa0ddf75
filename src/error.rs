//! The error type of the core: small, `Copy`, allocation-free.

use core::fmt;
#[cfg(feature = "alloc")]
use core::fmt::Write as _;

/// Which buffer a length error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BufferKind {
    /// Forward weights `W_1 .. W_L` ([`Shape::weights`](crate::Shape::weights) entries).
    Weights,
    /// Feedback matrices `B_0 .. B_{L-1}` ([`Shape::weights`](crate::Shape::weights) entries).
    Feedback,
    /// Direct feedback matrices `D_0 .. D_{L-1}` ([`Shape::direct`](crate::Shape::direct) entries).
    DirectFeedback,
    /// The per-sample activity buffer ([`Shape::activity_len`](crate::Shape::activity_len) entries; the adjoint work space: [`Shape::adjoint_len`](crate::Shape::adjoint_len)).
    Activity,
    /// An input sample (`n_0` entries).
    Input,
    /// A coefficient vector `Theta` (one entry per term of the rule).
    Theta,
}

impl fmt::Display for BufferKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BufferKind::Weights => "the forward weights",
            BufferKind::Feedback => "the feedback matrices",
            BufferKind::DirectFeedback => "the direct feedback matrices",
            BufferKind::Activity => "the activity",
            BufferKind::Input => "the input",
            BufferKind::Theta => "Theta",
        })
    }
}

/// Everything that can go wrong in the core. Each variant says what was
/// wrong; none of them leaves the caller's weights modified, except
/// [`Error::Diverged`], which reports that an update overflowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A buffer has the wrong number of entries.
    BufferLength {
        /// Which buffer.
        what: BufferKind,
        /// Entries required by the shape.
        expected: usize,
        /// Entries supplied.
        found: usize,
    },
    /// A label is not a class of the output layer.
    LabelOutOfRange {
        /// The label given.
        label: usize,
        /// Number of classes `n_L`.
        classes: usize,
    },
    /// An input sample contains NaN or an infinity.
    NonFiniteInput {
        /// Position of the first bad entry.
        index: usize,
    },
    /// A plasticity coefficient `theta_r` is NaN or infinite.
    NonFiniteTheta {
        /// Index of the coefficient in the rule.
        index: usize,
    },
    /// A weight buffer handed to the core contains NaN or an infinity.
    NonFiniteWeights {
        /// Which buffer.
        what: BufferKind,
    },
    /// The forward pass or the modulating signals overflowed at layer
    /// `layer` (the weights grew too large); nothing was updated.
    NonFiniteSignal {
        /// Layer `l` whose activity or signal is not finite.
        layer: usize,
    },
    /// Applying the plasticity update made weights of layer `layer`
    /// non-finite. Unlike every other error, the weights *were* modified:
    /// the step ran to completion and detected the overflow afterwards.
    Diverged {
        /// Layer `l` whose weights overflowed.
        layer: usize,
    },
    /// The softplus sharpness `beta` must be finite and positive.
    InvalidBeta,
    /// A sample could not be read from a data set (e.g. an index out of
    /// range, or an image whose size is not the network's input width).
    Data(crate::idx::IdxError),
    /// A rule already holds as many terms as its capacity allows.
    RuleFull {
        /// The capacity of the rule.
        capacity: usize,
    },
    /// Widths that make no network: fewer than two, more than
    /// [`MAX_DEPTH`](crate::shape::MAX_DEPTH)` + 1`, or a zero width.
    InvalidShape {
        /// Number of widths given.
        widths: usize,
        /// The deepest network allowed (weight layers).
        max_depth: usize,
    },
    /// Widths whose buffers no address space holds: `weights` weights
    /// (`usize::MAX` if even their count overflows), more than
    /// `isize::MAX` bytes in `f64` for a buffer.
    ShapeTooLarge {
        /// Number of weights (saturated).
        weights: usize,
    },
    /// Two buffers (network, activity, adjoint, feedback) were built for
    /// different shapes.
    ShapeMismatch,
    /// A state handed to [`FeedbackPathway::set_state`](crate::FeedbackPathway::set_state)
    /// is not one the pathway can be in (brSF's step counter must be a
    /// whole number in `0 .. 2^24`).
    InvalidFeedbackState,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::BufferLength { what: BufferKind::Theta, expected, found } => {
                write!(
                    f,
                    "Theta has {found} entries, {expected} are needed (one per term of the rule, then one per \
                     parameter of a plastic pathway)"
                )
            }
            Error::BufferLength { what: BufferKind::Input, expected, found } => {
                write!(f, "the input has {found} entries, the network takes {expected}")
            }
            Error::BufferLength { what, expected, found } => {
                write!(f, "{what} buffer has {found} entries, the network's shape needs {expected}")
            }
            Error::LabelOutOfRange { label, classes } => {
                write!(f, "label {label} is out of range: the network has {classes} classes")
            }
            Error::NonFiniteInput { index } => {
                write!(f, "input entry {index} is NaN or infinite")
            }
            Error::NonFiniteTheta { index } => {
                write!(f, "plasticity coefficient theta[{index}] is NaN or infinite")
            }
            Error::NonFiniteWeights { what } => {
                write!(f, "{what} buffer contains NaN or infinite entries")
            }
            Error::NonFiniteSignal { layer } => {
                write!(f, "activity or modulating signal of layer {layer} overflowed; weights left unchanged")
            }
            Error::Diverged { layer } => {
                write!(f, "the plasticity update made weights of layer {layer} non-finite (diverged)")
            }
            Error::InvalidBeta => write!(f, "softplus beta must be finite and positive"),
            // The cause is the `source`, so a chain prints it once.
            Error::Data(_) => write!(f, "a sample could not be read from the data set"),
            Error::RuleFull { capacity } => {
                write!(f, "the rule already holds its capacity of {capacity} terms")
            }
            Error::InvalidShape { widths, max_depth } => write!(
                f,
                "{widths} widths make no network: give 2 to {} widths (input first, classes last), none of them zero",
                max_depth + 1
            ),
            Error::ShapeTooLarge { weights } => write!(
                f,
                "widths with {weights} weights make buffers larger than this machine can address (in f64); give \
                 smaller widths"
            ),
            Error::ShapeMismatch => {
                write!(f, "the network, its activity, adjoint and feedback were built for different shapes")
            }
            Error::InvalidFeedbackState => write!(f, "the feedback pathway cannot be in the state given"),
        }
    }
}

impl core::error::Error for Error {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Error::Data(e) => Some(e),
            _ => None,
        }
    }
}

impl From<crate::idx::IdxError> for Error {
    fn from(e: crate::idx::IdxError) -> Self {
        Error::Data(e)
    }
}

/// An error and its causes, one per line: `error: <e>`, then
/// `  caused by: <source>` down the [`source`](core::error::Error::source)
/// chain, as the programs print them.
///
/// ```
/// use metaplasticity::idx::IdxError;
/// use metaplasticity::Error;
/// let e = Error::Data(IdxError::IndexOutOfRange { index: 7, count: 5 });
/// assert_eq!(
///     metaplasticity::error::chain(&e),
///     "error: a sample could not be read from the data set\n  caused by: index 7 is out of range for 5 items"
/// );
/// ```
#[cfg(feature = "alloc")]
pub fn chain(e: &(dyn core::error::Error + 'static)) -> alloc::string::String {
    let mut s = alloc::format!("error: {e}");
    let mut source = e.source();
    while let Some(cause) = source {
        let _ = write!(s, "\n  caused by: {cause}");
        source = cause.source();
    }
    s
}
