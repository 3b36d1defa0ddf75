//! Formatted output without allocation: `core::fmt` into a fixed buffer,
//! then one `write(2)`.

use core::fmt;

/// A line of at most `N` bytes; longer output is cut off (and marked with
/// `...`), never an error.
pub struct Line<const N: usize> {
    buf: [u8; N],
    len: usize,
    truncated: bool,
}

impl<const N: usize> Line<N> {
    /// An empty line.
    pub const fn new() -> Self {
        Line { buf: [0; N], len: 0, truncated: false }
    }

    /// The bytes written so far (with a `...\n` tail if some were cut off).
    pub fn as_bytes(&mut self) -> &[u8] {
        if self.truncated && N >= 4 {
            self.buf[N - 4..].copy_from_slice(b"...\n");
            self.len = N;
        }
        &self.buf[..self.len]
    }
}

impl<const N: usize> fmt::Write for Line<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = N - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        self.truncated |= n < s.len();
        Ok(())
    }
}

/// `println!` for this binary: formats into a [`Line`] and writes it to
/// standard output.
macro_rules! say {
    ($($arg:tt)*) => {{
        let mut line = $crate::out::Line::<256>::new();
        // `Line` never reports an error; a long line is truncated.
        let _ = ::core::fmt::Write::write_fmt(&mut line, ::core::format_args!($($arg)*));
        let _ = ::core::fmt::Write::write_str(&mut line, "\n");
        $crate::rt::write_all(1, line.as_bytes());
    }};
}
pub(crate) use say;
