//! Deploying a learned rule to a device: a compact, versioned, checksummed
//! binary form that the core reads from a byte slice without allocating,
//! and (feature `alloc`) a Rust `const` snippet for firmware that compiles
//! the rule in.
//!
//! Layout, little-endian (version 1):
//!
//! | bytes | field |
//! |---|---|
//! | 4 | magic `MPRL` |
//! | 2 | version (1) |
//! | 1 | depth `L` |
//! | 1 | number of terms `R` |
//! | 4 | `beta` (`f32`) |
//! | `4 (L + 1)` | widths `n_0 .. n_L` (`u32`) |
//! | `7 R` | per term: pool index `r` (`u8`, `F^r`), layer bits (`u16`), `theta_r` (`f32`) |
//! | 4 | CRC-32 (IEEE) of everything before |
//!
//! Only terms of the paper's pool (`F^0 .. F^9`, recognised by their type,
//! never by [`name`](crate::PlasticityTerm::name)) can be written; a rule
//! with a term of your own is refused with [`DeployError::UnknownTerm`],
//! whatever it calls itself.
//!
//! ```
//! use metaplasticity::deploy::{encode, RuleFile};
//! use metaplasticity::{shape, Rule};
//! type Tiny = shape![64, 32, 16, 10];
//! let mut rule = Rule::<f32>::bio();
//! rule.set_thetas(&[0.02, -0.04, 0.005]).unwrap();
//! let mut buf = [0u8; 64];
//! let n = encode(&Tiny::default(), &rule, 10.0, &mut buf).unwrap();
//! let file = RuleFile::decode(&buf[..n]).unwrap();
//! file.check_shape(&Tiny::default()).unwrap();
//! let back = file.rule::<f32, 3>().unwrap();
//! assert_eq!(back.theta(1), Some(-0.04));
//! ```

use core::fmt;

use heapless::Vec;

use crate::rule::{LayerSet, Rule};
use crate::shape::MAX_DEPTH;
use crate::terms::pool;
use crate::{Real, Shape};

/// The file's first four bytes.
pub const MAGIC: [u8; 4] = *b"MPRL";
/// The format version written and read.
pub const VERSION: u16 = 1;
/// The most terms a file holds.
pub const MAX_TERMS: usize = 32;

const HEADER: usize = 12;
const PER_TERM: usize = 7;

/// Why a rule cannot be written or read.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum DeployError {
    /// The bytes end before the field at `offset`.
    Truncated {
        /// Where the missing field starts.
        offset: usize,
    },
    /// More bytes than the header announces.
    TrailingBytes {
        /// The length the header implies.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// Not a rule file.
    BadMagic,
    /// A rule file of another format version.
    Version {
        /// The version found.
        found: u16,
    },
    /// The contents do not match their checksum (corrupt file).
    Checksum {
        /// The CRC stored in the file.
        stored: u32,
        /// The CRC of the contents.
        computed: u32,
    },
    /// A term index outside the pool, or (when writing) a term that is not
    /// one of the pool's.
    UnknownTerm {
        /// Position of the term in the rule.
        index: usize,
    },
    /// The rule was learned for another network shape.
    Shape {
        /// Layer `l` whose width differs (or `MAX_DEPTH + 1` for the depth).
        layer: usize,
        /// The width (or depth) of the network at hand.
        expected: usize,
        /// The width (or depth) in the file.
        found: usize,
    },
    /// More terms than the rule type holds.
    TooManyTerms {
        /// Terms in the file.
        found: usize,
        /// The capacity.
        capacity: usize,
    },
    /// A coefficient is NaN or infinite (in `f32`, the file's type).
    NonFinite,
    /// The output buffer is too small.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
    },
    /// A layer of width zero in the file.
    EmptyLayer {
        /// The layer `l` (0 is the input).
        layer: usize,
    },
    /// A term on none of the network's layers.
    NoLayers {
        /// Position of the term in the rule.
        index: usize,
    },
    /// A term of the pool listed a second time.
    DuplicateTerm {
        /// Position of the second listing in the rule.
        index: usize,
    },
    /// The file's network has no layer or more than
    /// [`MAX_DEPTH`] (when reading).
    Depth {
        /// The depth in the file.
        found: usize,
    },
    /// The softplus sharpness `beta` is not a finite number above zero.
    Beta {
        /// The value found (as `f32`, the file's type).
        found: f32,
    },
    /// A layer wider than the file's 32-bit widths hold (when writing).
    WidthTooLarge {
        /// The layer `l`.
        layer: usize,
        /// Its width.
        found: usize,
    },
}

impl fmt::Display for DeployError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DeployError::Truncated { offset } => write!(f, "rule file truncated at byte {offset}"),
            DeployError::TrailingBytes { expected, found } => {
                write!(f, "rule file has {found} bytes, its header announces {expected}")
            }
            DeployError::BadMagic => write!(f, "not a rule file (the magic bytes are not MPRL)"),
            DeployError::Version { found } => {
                write!(f, "rule file version {found}; this library reads version {VERSION}")
            }
            DeployError::Checksum { stored, computed } => {
                write!(f, "rule file is corrupt: checksum {computed:08x}, stored {stored:08x}")
            }
            DeployError::UnknownTerm { index } => {
                write!(f, "term {index} is not one of the pool's F^0..F^9 and cannot be deployed")
            }
            DeployError::Shape { layer, expected, found } => {
                if layer > MAX_DEPTH {
                    write!(f, "the rule was learned for a network of depth {found}, this one has {expected}")
                } else {
                    write!(f, "the rule was learned for width {found} at layer {layer}, this network has {expected}")
                }
            }
            DeployError::TooManyTerms { found, capacity } => {
                write!(f, "the rule file has {found} terms, the rule type holds {capacity}")
            }
            DeployError::NonFinite => write!(f, "a coefficient of the rule is NaN or infinite (in f32)"),
            DeployError::BufferTooSmall { needed } => write!(f, "the output buffer needs {needed} bytes"),
            DeployError::EmptyLayer { layer } => write!(f, "layer {layer} of the rule's network has width 0"),
            DeployError::NoLayers { index } => write!(f, "term {index} of the rule acts on none of its layers"),
            DeployError::DuplicateTerm { index } => write!(f, "term {index} of the rule is listed before it"),
            DeployError::Beta { found } => write!(f, "beta {found} is not a finite number above 0"),
            DeployError::Depth { found } => {
                write!(f, "the rule file's network has {found} layers; rule files hold 1 to {MAX_DEPTH}")
            }
            DeployError::WidthTooLarge { layer, found } => {
                write!(f, "layer {layer} has {found} units, more than a rule file records (4,294,967,295)")
            }
        }
    }
}

impl core::error::Error for DeployError {}

/// One term of a decoded rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TermRecord {
    /// Its index `r` in the pool (`F^r`).
    pub pool_index: u8,
    /// The layers it acts on.
    pub layers: LayerSet,
    /// Its coefficient.
    pub theta: f32,
}

/// A decoded rule file.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleFile {
    widths: Vec<u32, { MAX_DEPTH + 1 }>,
    beta: f32,
    terms: Vec<TermRecord, MAX_TERMS>,
}

/// Bytes of a file with `depth` layers and `terms` terms.
pub const fn encoded_len(depth: usize, terms: usize) -> usize {
    HEADER + 4 * (depth + 1) + PER_TERM * terms + 4
}

/// Writes `rule` (terms of the pool only), learned for a network of shape
/// `shape` with softplus sharpness `beta`, into `out`; returns the number
/// of bytes.
pub fn encode<T: Real, S: Shape, const N: usize>(
    shape: &S,
    rule: &Rule<'_, T, N>,
    beta: T,
    out: &mut [u8],
) -> Result<usize, DeployError> {
    let depth = shape.depth();
    let needed = encoded_len(depth, rule.len());
    if out.len() < needed {
        return Err(DeployError::BufferTooSmall { needed });
    }
    if rule.len() > MAX_TERMS {
        return Err(DeployError::TooManyTerms { found: rule.len(), capacity: MAX_TERMS });
    }
    let beta = beta.to_f64() as f32;
    if !(beta.is_finite() && beta > 0.0) {
        return Err(DeployError::Beta { found: beta });
    }
    // Everything is checked before the first byte is written: on an error,
    // `out` is as it was. What `decode` refuses is not written.
    for l in 0..=depth {
        if u32::try_from(shape.width(l)).is_err() {
            return Err(DeployError::WidthTooLarge { layer: l, found: shape.width(l) });
        }
    }
    for (index, e) in rule.entries().iter().enumerate() {
        let r = crate::term::pool_index(e.term).ok_or(DeployError::UnknownTerm { index })?;
        let theta = e.theta.to_f64() as f32;
        if !theta.is_finite() {
            return Err(DeployError::NonFinite);
        }
        let earlier = rule.entries().iter().take(index).filter_map(|p| crate::term::pool_index(p.term));
        check_term(depth, index, r, e.layers, earlier)?;
    }
    let mut w = Writer { out, at: 0 };
    w.bytes(&MAGIC);
    w.bytes(&VERSION.to_le_bytes());
    w.bytes(&[depth as u8, rule.len() as u8]);
    w.bytes(&beta.to_le_bytes());
    for l in 0..=depth {
        // Checked above: every width fits.
        w.bytes(&u32::try_from(shape.width(l)).unwrap_or(u32::MAX).to_le_bytes());
    }
    for e in rule.entries() {
        // Checked above: every term is the pool's.
        let r = crate::term::pool_index(e.term).unwrap_or(u8::MAX);
        let theta = e.theta.to_f64() as f32;
        w.bytes(&[r]);
        w.bytes(&e.layers.bits().to_le_bytes());
        w.bytes(&theta.to_le_bytes());
    }
    let crc = crc32(w.out.get(..w.at).unwrap_or(&[]));
    w.bytes(&crc.to_le_bytes());
    Ok(w.at)
}

/// Term `index` of a rule for a network of depth `depth`, `F^r` on
/// `layers`, after terms of pool indices `earlier`: it must act on some
/// layer of the network and not repeat an earlier term (what `decode`
/// refuses, `encode` does not write).
fn check_term(
    depth: usize,
    index: usize,
    r: u8,
    layers: LayerSet,
    mut earlier: impl Iterator<Item = u8>,
) -> Result<(), DeployError> {
    if !(1..=depth).any(|l| layers.contains(l)) {
        return Err(DeployError::NoLayers { index });
    }
    if earlier.any(|p| p == r) {
        return Err(DeployError::DuplicateTerm { index });
    }
    Ok(())
}

struct Writer<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn bytes(&mut self, b: &[u8]) {
        // `encode` checked the length up front, so the field always fits.
        if let Some(field) = self.out.get_mut(self.at..).and_then(|rest| rest.get_mut(..b.len())) {
            field.copy_from_slice(b);
        }
        self.at += b.len();
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const K: usize>(&mut self) -> Result<[u8; K], DeployError> {
        let (field, _) = self
            .bytes
            .get(self.at..)
            .and_then(|rest| rest.split_first_chunk::<K>())
            .ok_or(DeployError::Truncated { offset: self.at })?;
        self.at += K;
        Ok(*field)
    }
}

impl RuleFile {
    /// Reads and checks a rule file (magic, version, length, checksum,
    /// term indices, finiteness, and that its layers have units and its
    /// terms act on some layer, each term once). Allocation-free.
    pub fn decode(bytes: &[u8]) -> Result<RuleFile, DeployError> {
        let mut r = Reader { bytes, at: 0 };
        if r.take::<4>()? != MAGIC {
            return Err(DeployError::BadMagic);
        }
        let version = u16::from_le_bytes(r.take()?);
        if version != VERSION {
            return Err(DeployError::Version { found: version });
        }
        let [depth, terms] = r.take::<2>()?;
        let (depth, terms) = (usize::from(depth), usize::from(terms));
        if depth == 0 || depth > MAX_DEPTH {
            return Err(DeployError::Depth { found: depth });
        }
        if terms > MAX_TERMS {
            return Err(DeployError::TooManyTerms { found: terms, capacity: MAX_TERMS });
        }
        let expected = encoded_len(depth, terms);
        if bytes.len() < expected {
            return Err(DeployError::Truncated { offset: bytes.len() });
        }
        if bytes.len() > expected {
            return Err(DeployError::TrailingBytes { expected, found: bytes.len() });
        }
        // `bytes.len() == expected >= 4`: the CRC is the last four bytes.
        let Some((body, &crc)) = bytes.split_last_chunk::<4>() else {
            return Err(DeployError::Truncated { offset: bytes.len() });
        };
        let stored = u32::from_le_bytes(crc);
        let computed = crc32(body);
        if stored != computed {
            return Err(DeployError::Checksum { stored, computed });
        }
        let beta = f32::from_le_bytes(r.take()?);
        let mut file = RuleFile { widths: Vec::new(), beta, terms: Vec::new() };
        for _ in 0..=depth {
            // Capacity MAX_DEPTH + 1 >= depth + 1, checked above.
            let _ = file.widths.push(u32::from_le_bytes(r.take()?));
        }
        for index in 0..terms {
            let [pool_index] = r.take::<1>()?;
            let layers = LayerSet::from_bits(u16::from_le_bytes(r.take()?));
            let theta = f32::from_le_bytes(r.take()?);
            if pool_index >= 10 {
                return Err(DeployError::UnknownTerm { index });
            }
            if !theta.is_finite() {
                return Err(DeployError::NonFinite);
            }
            check_term(depth, index, pool_index, layers, file.terms.iter().map(|t| t.pool_index))?;
            // Capacity MAX_TERMS >= terms, checked above.
            let _ = file.terms.push(TermRecord { pool_index, layers, theta });
        }
        if let Some(layer) = file.widths.iter().position(|&w| w == 0) {
            return Err(DeployError::EmptyLayer { layer });
        }
        if !(beta.is_finite() && beta > 0.0) {
            return Err(DeployError::Beta { found: beta });
        }
        Ok(file)
    }

    /// Checks that the rule was learned for a network of shape `shape`.
    pub fn check_shape<S: Shape>(&self, shape: &S) -> Result<(), DeployError> {
        // At least two widths (decode checked `depth >= 1`).
        let depth = self.widths.len().saturating_sub(1);
        if depth != shape.depth() {
            return Err(DeployError::Shape { layer: MAX_DEPTH + 1, expected: shape.depth(), found: depth });
        }
        for (l, &w) in self.widths.iter().enumerate() {
            if w as usize != shape.width(l) {
                return Err(DeployError::Shape { layer: l, expected: shape.width(l), found: w as usize });
            }
        }
        Ok(())
    }

    /// The shape the rule was learned for, as a run-time shape.
    pub fn shape(&self) -> Result<crate::Widths, crate::Error> {
        let mut widths = [0usize; MAX_DEPTH + 1];
        for (out, &w) in widths.iter_mut().zip(&self.widths) {
            *out = w as usize;
        }
        crate::Widths::new(widths.get(..self.widths.len()).unwrap_or(&[]))
    }

    /// The rule, with terms of the pool and the stored coefficients.
    pub fn rule<T: Real, const N: usize>(&self) -> Result<Rule<'static, T, N>, DeployError> {
        if self.terms.len() > N {
            return Err(DeployError::TooManyTerms { found: self.terms.len(), capacity: N });
        }
        let pool = pool::<T>();
        let mut rule = Rule::new();
        for (index, t) in self.terms.iter().enumerate() {
            let term = *pool.get(usize::from(t.pool_index)).ok_or(DeployError::UnknownTerm { index })?;
            rule.push(term, T::of(f64::from(t.theta)), t.layers).map_err(|_| DeployError::NonFinite)?;
        }
        Ok(rule)
    }

    /// The softplus sharpness the rule was learned with.
    pub fn beta(&self) -> f32 {
        self.beta
    }

    /// Widths `n_0 .. n_L` of the network the rule was learned for.
    pub fn widths(&self) -> &[u32] {
        &self.widths
    }

    /// The terms.
    pub fn terms(&self) -> &[TermRecord] {
        &self.terms
    }

    /// A Rust snippet defining the rule as constants, for firmware that
    /// compiles it in (`metaplasticity::deploy::RuleFile::decode(RULE)`
    /// is not needed then).
    #[cfg(feature = "alloc")]
    pub fn const_snippet(&self) -> alloc::string::String {
        use core::fmt::Write as _;
        let mut s = alloc::string::String::new();
        let widths: alloc::vec::Vec<alloc::string::String> =
            self.widths.iter().map(|w| alloc::format!("{w}")).collect();
        let _ = writeln!(s, "// A plasticity rule meta-learned with metaplasticity (rule file version {VERSION}).");
        let _ = writeln!(s, "// Network: shape![{}], beta = {:?}.", widths.join(", "), self.beta);
        let _ = writeln!(s, "/// Softplus sharpness the rule was learned with.");
        let _ = writeln!(s, "pub const BETA: f32 = {:?};", self.beta);
        let _ = writeln!(s, "/// Pool indices `r` of the terms `F^r`.");
        let ids: alloc::vec::Vec<alloc::string::String> =
            self.terms.iter().map(|t| alloc::format!("{}", t.pool_index)).collect();
        let _ = writeln!(s, "pub const TERMS: [usize; {}] = [{}];", ids.len(), ids.join(", "));
        let _ = writeln!(s, "/// Layer sets of the terms (`LayerSet::from_bits`).");
        let bits: alloc::vec::Vec<alloc::string::String> =
            self.terms.iter().map(|t| alloc::format!("0x{:04x}", t.layers.bits())).collect();
        let _ = writeln!(s, "pub const LAYERS: [u16; {}] = [{}];", bits.len(), bits.join(", "));
        let _ = writeln!(s, "/// Coefficients `theta_r`.");
        let th: alloc::vec::Vec<alloc::string::String> =
            self.terms.iter().map(|t| alloc::format!("{:?}", t.theta)).collect();
        let _ = writeln!(s, "pub const THETA: [f32; {}] = [{}];", th.len(), th.join(", "));
        s
    }
}

/// CRC-32 (IEEE 802.3, reflected, as zlib's), bitwise: rule files are tiny.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}
