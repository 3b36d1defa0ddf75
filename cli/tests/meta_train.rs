//! `metaplasticity meta-train`'s options for the robust meta-optimiser, as a
//! user meets them: `--help` explains each, bad values are refused with a
//! message before any work, and `--resume` names the options that differ.
//!
//! The tool is built by `cargo test` alongside this test (same profile).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `metaplasticity meta-train`, built by `cargo test` with this test.
fn program() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_metaplasticity"));
    c.arg("meta-train");
    c
}

fn run(args: &[&str], out: &Path) -> Output {
    program().args(args).arg("--out").arg(out).output().expect("start meta_train")
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("meta-train-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn help_explains_every_robust_option() {
    let output = program().arg("--help").output().expect("start meta_train");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for word in [
        "--robust",
        "--optimizer",
        "normalized",
        "--step-scale",
        "measured",
        "--l1",
        "proximal",
        "--on-divergence",
        "back-off",
        "--backoff-shrink",
        "--backoff-tries",
    ] {
        assert!(help.contains(word), "--help does not mention {word}");
    }
}

#[test]
fn bad_robust_settings_are_refused_before_any_work() {
    for (args, says) in [
        (&["--rule", "bio", "--step-scale", "1,2"][..], "--step-scale"),
        (&["--rule", "bio", "--step-scale", "1,-2,1"], "--step-scale"),
        (&["--robust", "--backoff-shrink", "1.5"], "--backoff-shrink"),
        (&["--on-divergence", "back-off", "--backoff-tries", "0"], "--backoff-tries"),
    ] {
        let out = scratch("bad");
        let output = run(&[args, &["--episodes", "1", "--no-baseline"]].concat(), &out);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} accepted");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!out.join("episodes.csv").exists(), "{args:?} wrote results");
    }
}

#[test]
fn resume_names_the_options_that_differ() {
    let out = scratch("resume");
    let first = run(&["--rule", "fa", "--robust", "--episodes", "1", "--no-baseline"], &out);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let before = std::fs::read(out.join("episodes.csv")).expect("episodes.csv");
    let again = run(&["--rule", "fa", "--episodes", "2", "--no-baseline", "--resume", "--theta", "0.01"], &out);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success());
    assert!(stderr.contains("--theta") && stderr.contains("--robust"), "{stderr}");
    assert_eq!(std::fs::read(out.join("episodes.csv")).expect("episodes.csv"), before, "the saved run is untouched");
}
