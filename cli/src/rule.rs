//! `metaplasticity rule`: what a rule file (`.mprl`, written by
//! `meta-train`) holds, or the same rule as a Rust `const` snippet.

use std::error::Error;
use std::path::PathBuf;

use clap::Parser;
use metaplasticity::deploy::RuleFile;

/// Inspect a rule file written by `meta-train` (`<out>/rule.mprl`): its
/// network widths, softplus beta, and each term with its layers and
/// coefficient; or print it as a Rust `const` snippet for firmware.
#[derive(Parser, Debug)]
pub struct Args {
    /// The rule file.
    pub file: PathBuf,
    /// Print the rule as a Rust `const` snippet instead of a description.
    #[arg(long)]
    pub snippet: bool,
}

/// Runs `metaplasticity rule`.
pub fn run(args: Args) -> Result<(), Box<dyn Error>> {
    let bytes = std::fs::read(&args.file).map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
    let file = RuleFile::decode(&bytes).map_err(|e| format!("{} is not a rule file: {e}", args.file.display()))?;
    if args.snippet {
        print!("{}", file.const_snippet());
        return Ok(());
    }
    let widths: Vec<String> = file.widths().iter().map(u32::to_string).collect();
    println!("network  {} (depth {})", widths.join("-"), widths.len() - 1);
    println!("beta     {}", file.beta());
    println!("{:<6} {:<12} {:>14}", "term", "layers", "theta");
    for t in file.terms() {
        let layers: Vec<String> = (1..widths.len()).filter(|&l| t.layers.contains(l)).map(|l| l.to_string()).collect();
        println!("F{:<5} {:<12} {:>14.6e}", t.pool_index, layers.join(","), t.theta);
    }
    Ok(())
}
