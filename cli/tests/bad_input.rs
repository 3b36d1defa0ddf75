//! Issue 10's table, the rows about the programs: each input that used to
//! panic, abort or mislead gets a message naming the offending value, before
//! any work, and leaves the user's files alone (the library's rows are in
//! the library's `tests/bad_input.rs`). `cargo test` builds the tool with
//! these tests.

use std::path::PathBuf;
use std::process::{Command, Output};

use metaplasticity::meta::MetaGradient;
use metaplasticity::shape;

type Paper = shape![784, 170, 130, 100, 70, 10];

/// `metaplasticity <subcommand> <args>`.
fn program(subcommand: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_metaplasticity")).arg(subcommand).args(args).output().expect("start the tool")
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("bad-input-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The program failed with exit status 1 (an error, not a panic's 101 or
/// clap's 2 unless `usage` is set) and said `says`.
fn refused(o: &Output, usage: bool, says: &str) {
    let code = if usage { 2 } else { 1 };
    assert_eq!(o.status.code(), Some(code), "{}", stderr(o));
    assert!(stderr(o).contains(says), "expected {says:?} in:\n{}", stderr(o));
    assert!(!stderr(o).contains("panicked"), "{}", stderr(o));
}

/// Row: `-K 18446744073709551615 -Q 2` panicked at `src/meta/task.rs:166`.
#[test]
fn task_sizes_that_overflow_are_refused() {
    let o = program("meta-train", &["-K", "18446744073709551615", "-Q", "2", "--episodes", "1", "--no-baseline"]);
    refused(&o, false, "K = 18446744073709551615");
}

/// Row: `meta_train --rule 0,0,0` was accepted (CSV with duplicate columns).
#[test]
fn a_rule_with_a_term_twice_is_refused() {
    let o = program("meta-train", &["--rule", "0,2,0", "--episodes", "1", "--out", scratch("twice").to_str().unwrap()]);
    refused(&o, false, "term F0 is listed twice");
}

/// Row: a data set with zero images said "a data set needs at least one class".
#[test]
fn a_data_set_with_no_images_says_so() {
    let dir = scratch("empty");
    std::fs::create_dir_all(&dir).unwrap();
    let (images, labels) = (dir.join("images"), dir.join("labels"));
    std::fs::write(&images, [0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28]).unwrap();
    std::fs::write(&labels, [0, 0, 8, 1, 0, 0, 0, 0]).unwrap();
    let o = program(
        "meta-train",
        &["--data", "idx", "--images", images.to_str().unwrap(), "--labels", labels.to_str().unwrap()],
    );
    refused(&o, false, "hold no images");
}

/// Row: `--checkpoint-interval 100000` aborted under a 3 GB address-space
/// limit, and `18446744073709551615` panicked with "capacity overflow".
#[test]
fn meta_train_with_a_huge_interval_runs_under_a_memory_limit() {
    let out = scratch("interval");
    let bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_metaplasticity"));
    for interval in ["100000", "18446744073709551615"] {
        let script = format!(
            "ulimit -v 3000000 && exec '{}' meta-train --episodes 1 --no-baseline -K 5 -Q 2 --checkpoint-interval {interval} \
             --overwrite --out '{}'",
            bin.display(),
            out.display()
        );
        let o = Command::new("sh").arg("-c").arg(&script).output().unwrap();
        assert!(o.status.success(), "--checkpoint-interval {interval}: {}", stderr(&o));
        let mb = MetaGradient::<f32, Paper>::memory_bytes(25, 25).unwrap() as f64 / 1e6;
        let says = format!("work space {mb:.1} MB");
        assert!(stderr(&o).contains(&says), "sized for the 25-step episode ({says}): {}", stderr(&o));
    }
}

/// Row: `meta_train --episodes 0` said results were written; nothing was.
#[test]
fn meta_train_refuses_zero_episodes_and_writes_nothing() {
    let out = scratch("zero");
    let o = program("meta-train", &["--episodes", "0", "--out", out.to_str().unwrap()]);
    refused(&o, true, "must be at least 1");
    assert!(!out.exists(), "nothing is written");
    for flag in ["-M", "-K", "-Q", "--checkpoint-interval"] {
        refused(&program("meta-train", &[flag, "0"]), true, "must be at least 1");
    }
}

/// Row: `meta_train --resume --theta ...` was ignored silently, and a refused
/// resume did not name the option that differs.
#[test]
fn resume_names_theta_when_it_differs() {
    let out = scratch("resume");
    let o = program(
        "meta-train",
        &["--rule", "fa", "--episodes", "1", "-K", "5", "-Q", "2", "--no-baseline", "--out", out.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let before = std::fs::read(out.join("summary.json")).unwrap();
    let again = ["--rule", "fa", "--episodes", "2", "-K", "5", "-Q", "2", "--no-baseline", "--resume"];
    let o = program("meta-train", &[&again[..], &["--theta", "0.01", "--out", out.to_str().unwrap()]].concat());
    refused(&o, false, "--theta differs");
    assert_eq!(std::fs::read(out.join("summary.json")).unwrap(), before, "the saved run is untouched");
}

/// Row: SIGKILL during `meta_train` left `.rule.rs.<pid>.tmp`, and `--resume`
/// did not clean it.
#[test]
fn temporaries_of_a_killed_run_are_removed() {
    let out = scratch("stale");
    let args = ["--rule", "fa", "-K", "5", "-Q", "2", "--no-baseline", "--out", out.to_str().unwrap()];
    let o = program("meta-train", &[&args[..], &["--episodes", "1"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let stale = out.join(".rule.rs.4194303.tmp");
    let foreign = out.join(".notes.txt.12.tmp");
    std::fs::write(&stale, b"half").unwrap();
    std::fs::write(&foreign, b"not ours").unwrap();
    let o = program("meta-train", &[&args[..], &["--episodes", "2", "--resume"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stale.exists(), "the stale temporary is gone");
    assert!(stderr(&o).contains(".rule.rs.4194303.tmp"), "and the program said so: {}", stderr(&o));
    assert!(foreign.exists(), "a file the program does not write is left alone");
}

/// Row: `online --seeds 0` / `--test 0` exited 0 with 0.0000 / NaN accuracies.
#[test]
fn online_refuses_zero_seeds_and_an_empty_test_set() {
    for (flag, value) in [("--seeds", "0"), ("--test", "0"), ("--every", "0"), ("--theta0", "nan")] {
        let o = program("online", &[flag, value, "--out", scratch("online0").join("x.csv").to_str().unwrap()]);
        refused(&o, true, flag);
    }
}

/// Row: `online` printed errors as Debug structs, and found a bad `--out`
/// only after the whole run.
#[test]
fn online_reports_a_bad_out_before_the_run_in_plain_words() {
    let dir = scratch("online-dir");
    std::fs::create_dir_all(&dir).unwrap();
    let o = program("online", &["--seeds", "1", "--out", dir.to_str().unwrap()]);
    refused(&o, false, "it is a folder");
    assert!(!stderr(&o).contains("Custom {") && !stderr(&o).contains("kind:"), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).is_empty(), "no run before the error");
}

/// Row: `reproduce --window 0` said "over 0 episodes" while 1 was used.
#[test]
fn reproduce_refuses_a_window_of_zero() {
    for flag in ["--window", "--trials", "--episodes", "--jobs"] {
        refused(&program("reproduce", &["fig-s2", flag, "0"]), true, "must be at least 1");
    }
    refused(&program("reproduce", &["fig-s2", "--level", "1"]), true, "strictly between 0 and 1");
}

/// Found while testing the rows above: `reproduce --episodes 18446744073709551615`
/// panicked with "capacity overflow", and a work space of terabytes was
/// allocated buffer by buffer until the system stopped the process.
#[test]
fn sizes_past_what_the_machine_can_hold_are_refused_at_once() {
    let huge = "18446744073709551615";
    refused(&program("reproduce", &["fig-s2", "--episodes", huge]), true, "must be at most 1000000");
    refused(&program("reproduce", &["fig-s2", "--trials", huge]), true, "must be at most 10000");
    // 1,000,000 classes drawn with replacement, K = 50: 5e7 online steps, a
    // work space of about 3.7 TB, refused before any allocation is kept.
    let out = scratch("terabytes");
    let o = program(
        "meta-train",
        &[
            "-M",
            "1000000",
            "--sampling",
            "reference",
            "--episodes",
            "1",
            "--no-baseline",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    refused(&o, false, "could not be allocated");
    assert!(!out.join("episodes.csv").exists());
}

/// A reader that closes the pipe early (`metaplasticity online | head`)
/// ends the tool quietly, as SIGPIPE would, instead of a panic message.
#[test]
fn a_closed_stdout_ends_the_tool_quietly() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_metaplasticity"))
        .args(["online", "--seeds", "1", "--samples", "100", "--every", "50", "--test", "100", "--overwrite", "--out"])
        .arg(std::env::temp_dir().join("metaplasticity-closed-stdout.csv"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the tool");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("wait for the tool");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
