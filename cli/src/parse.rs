//! Value parsers the subcommands share.

/// A whole number of at least 1, for counts such as `--episodes`.
pub fn positive(s: &str) -> Result<usize, String> {
    between(s, usize::MAX)
}

/// A whole number from 1 to `max`.
pub fn between(s: &str, max: usize) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) if n > max => Err(format!("must be at most {max}")),
        Ok(n) => Ok(n),
        Err(e) if max == usize::MAX => Err(format!("{e} (expected a whole number, at least 1)")),
        Err(e) => Err(format!("{e} (expected a whole number from 1 to {max})")),
    }
}

/// A finite number above zero, such as a learning rate.
pub fn positive_real(s: &str) -> Result<f64, String> {
    real(s, |x| x > 0.0, " above 0")
}

/// A finite number of at least zero, such as a penalty's strength.
pub fn non_negative_real(s: &str) -> Result<f64, String> {
    real(s, |x| x >= 0.0, " at least 0")
}

/// A number strictly between 0 and 1, such as a shrink factor or a
/// confidence level.
pub fn fraction(s: &str) -> Result<f64, String> {
    real(s, |x| x > 0.0 && x < 1.0, " strictly between 0 and 1")
}

/// A finite `f32` of either sign, such as a coefficient.
pub fn finite_f32(s: &str) -> Result<f32, String> {
    real(s, |_| true, "")
}

/// A finite number for which `ok` holds (`what` says what it must be),
/// parsed in its own type `T`.
fn real<T>(s: &str, ok: impl Fn(f64) -> bool, what: &str) -> Result<T, String>
where
    T: std::str::FromStr + Copy + Into<f64> + std::fmt::Display,
    T::Err: std::fmt::Display,
{
    match s.trim().parse::<T>() {
        Ok(x) if x.into().is_finite() && ok(x.into()) => Ok(x),
        Ok(x) => Err(format!("{x} is not a finite number{what}")),
        Err(e) => Err(format!("{e} (expected a finite number{what})")),
    }
}

/// The paper's hidden widths (Shervani-Tabar & Rosenbaum 2023, 784-170-130-100-70-10).
pub const PAPER_HIDDEN: [usize; 4] = [170, 130, 100, 70];

/// The network for `data`: `widths` (`--widths`, input first, classes
/// last) checked against the data, or the paper's hidden widths between the
/// data's pixels and classes.
pub fn network(
    widths: Option<&[usize]>,
    data: &metaplasticity::idx::Dataset<'_>,
) -> Result<metaplasticity::Widths, Box<dyn std::error::Error>> {
    let (pixels, classes) = (data.pixels(), data.classes());
    let chosen: Vec<usize> = match widths {
        Some(w) => w.to_vec(),
        None => std::iter::once(pixels).chain(PAPER_HIDDEN).chain(std::iter::once(classes)).collect(),
    };
    let shape = metaplasticity::Widths::new(&chosen).map_err(|e| format!("--widths {}: {e}", join(&chosen)))?;
    fits_in_memory(&shape).map_err(|e| format!("--widths {}: {e}", join(&chosen)))?;
    let (first, last) = (chosen[0], chosen[chosen.len() - 1]);
    if first != pixels {
        return Err(format!(
            "--widths {}: the input width {first} is not the data's {pixels} pixels per image (start with {pixels})",
            join(&chosen)
        )
        .into());
    }
    if last < classes {
        return Err(format!(
            "--widths {}: {last} output units cannot name the data's {classes} classes (end with {classes})",
            join(&chosen)
        )
        .into());
    }
    Ok(shape)
}

/// Copies of the weights a subcommand holds at least: the weights, the
/// feedback, the meta-gradient's `dL/dW` and one checkpoint.
const WEIGHT_COPIES: usize = 4;

/// Refuses, before any buffer is made, a network whose weights this
/// machine cannot allocate [`WEIGHT_COPIES`] times over (an allocation that
/// fails later aborts the program). The trial allocation is released at
/// once; what fits is still bounded by the other buffers of a run.
fn fits_in_memory(shape: &metaplasticity::Widths) -> Result<(), String> {
    use metaplasticity::Shape;
    let floats = shape.weights().checked_mul(WEIGHT_COPIES);
    let mut trial: Vec<f32> = Vec::new();
    match floats.map(|n| trial.try_reserve_exact(n)) {
        Some(Ok(())) => Ok(()),
        _ => Err(format!(
            "the network's {} weights need about {:.1} GB ({WEIGHT_COPIES} copies of f32), more than this machine \
             can allocate",
            shape.weights(),
            shape.weights() as f64 * (WEIGHT_COPIES * 4) as f64 / 1e9
        )),
    }
}

/// Widths as `--widths` takes them.
pub fn join(widths: &[usize]) -> String {
    widths.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
}
