//! Value parsers the subcommands share.

/// A whole number of at least 1, for counts such as `--episodes`.
pub fn positive(s: &str) -> Result<usize, String> {
    between(s, usize::MAX)
}

/// A whole number from 1 to `max`.
pub fn between(s: &str, max: usize) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) if n > max => Err(format!("must be at most {max}")),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{e} (expected a whole number from 1 to {max})")),
    }
}
