//! Value parsers the programs share (included with `#[path]`).

/// A whole number of at least 1, for counts such as `--episodes`.
pub fn positive(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{e} (expected a whole number from 1 to {})", usize::MAX)),
    }
}
