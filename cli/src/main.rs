//! `metaplasticity`: the command-line tool of the `metaplasticity` crate.
//!
//! ```text
//! cargo install --path cli            # from a clone of the repository
//! metaplasticity meta-train           # F^bio on the shipped MNIST digits
//! metaplasticity online --seeds 5     # BP vs FA vs DFA, one pass online
//! metaplasticity reproduce fig-s2     # a figure of the paper's supplement
//! metaplasticity rule out/meta_train/rule.mprl
//! ```

mod meta_train;
mod online;
mod parse;
mod reproduce;
mod rule;
mod shipped;

use clap::{Parser, Subcommand};

/// Meta-learning local plasticity rules that train deep networks through
/// fixed random feedback (Shervani-Tabar & Rosenbaum, Nat. Commun. 2023).
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    // Each subcommand's help is its own Args' documentation.
    MetaTrain(meta_train::Args),
    Online(online::Args),
    Reproduce(reproduce::Args),
    Rule(rule::Args),
}

fn main() {
    quiet_on_closed_stdout();
    let result = match Cli::parse().command {
        Command::MetaTrain(args) => meta_train::run(args),
        Command::Online(args) => online::run(args),
        Command::Reproduce(args) => reproduce::run(args),
        Command::Rule(args) => rule::run(args),
    };
    if let Err(e) = result {
        eprintln!("{}", metaplasticity::error::chain(&*e));
        std::process::exit(1);
    }
}

/// A reader that stops early (`metaplasticity online | head`) closes the
/// pipe; Rust then makes `println!` panic. Exit quietly instead, with the
/// status a shell gives a process killed by SIGPIPE (128 + 13), and leave
/// every other panic to the default hook.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.contains("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}
