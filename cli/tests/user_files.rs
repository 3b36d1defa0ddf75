//! A new user's review (2026-12-07): inputs that replaced or mixed up files
//! the user had, runs that reported success without a result, and options
//! that were silently ignored. Each now gets a clear refusal (or does what
//! its help says), and the user's files stay as they were.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn program(subcommand: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_metaplasticity")).arg(subcommand).args(args).output().expect("start the tool")
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("user-files-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn succeeded(o: &Output) -> String {
    assert!(o.status.success(), "{}", stderr(o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn failed(o: &Output, code: i32, says: &str) {
    assert_eq!(o.status.code(), Some(code), "{}", stderr(o));
    assert!(stderr(o).contains(says), "expected {says:?} in:\n{}", stderr(o));
    assert!(!stderr(o).contains("panicked"), "{}", stderr(o));
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A quick `online` run on the 8x8 digits into `out`, with `extra` options.
fn online(out: &Path, extra: &[&str]) -> Output {
    let quick = ["--data", "optdigits", "--seeds", "1", "--feedback", "bp", "--samples", "120", "--every", "50"];
    program("online", &[&quick[..], extra, &["--out", s(out)]].concat())
}

#[test]
fn online_keeps_an_existing_file_unless_told_to_replace_it() {
    let dir = scratch("online-keep");
    let out = dir.join("keep.csv");
    std::fs::write(&out, "important\n").unwrap();
    failed(&online(&out, &[]), 1, "already exists; pass --overwrite");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "important\n");
    succeeded(&online(&out, &["--overwrite"]));
    assert!(std::fs::read_to_string(&out).unwrap().starts_with("samples,bp\n"));
}

#[test]
fn online_measures_after_the_last_sample_too() {
    let dir = scratch("online-last");
    let out = dir.join("x.csv");
    succeeded(&online(&out, &[]));
    let text = std::fs::read_to_string(&out).unwrap();
    let points: Vec<&str> = text.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(points, ["0", "50", "100", "120"]);
}

#[test]
fn online_on_optdigits_runs_with_its_defaults() {
    let dir = scratch("online-optdigits");
    let out = dir.join("x.csv");
    let args = ["--data", "optdigits", "--seeds", "1", "--feedback", "bp", "--every", "700", "--out", s(&out)];
    let stdout = succeeded(&program("online", &args));
    assert!(stdout.contains("on 397 held-out digits"), "{stdout}");
    let text = std::fs::read_to_string(&out).unwrap();
    let points: Vec<&str> = text.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(points, ["0", "700", "1400"], "all 1,400 training digits by default");
}

/// A quick `meta-train` run into `out`.
fn meta_train(out: &Path, extra: &[&str]) -> Output {
    let quick = ["--data", "optdigits", "--widths", "64,16,10", "-K", "2", "-Q", "1", "--episodes", "1"];
    program("meta-train", &[&quick[..], extra, &["--out", s(out)]].concat())
}

#[test]
fn meta_train_leaves_a_folder_alone_that_holds_any_name_it_writes() {
    let dir = scratch("meta-names");
    for name in ["rule.rs", "baseline.csv", "rule.mprl"] {
        let out = dir.join(name.replace('.', "-"));
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join(name), "my own file\n").unwrap();
        failed(&meta_train(&out, &[]), 1, name);
        assert_eq!(std::fs::read_to_string(out.join(name)).unwrap(), "my own file\n");
        assert!(!out.join("episodes.csv").exists());
    }
}

#[test]
fn overwrite_leaves_no_result_of_the_run_it_replaces() {
    let out = scratch("meta-overwrite");
    succeeded(&meta_train(&out, &[]));
    assert!(out.join("baseline.csv").exists());
    succeeded(&meta_train(&out, &["--overwrite", "--no-baseline"]));
    assert!(!out.join("baseline.csv").exists(), "the earlier run's baseline is gone");
}

#[test]
fn non_finite_or_out_of_range_numbers_are_refused_by_name() {
    let out = scratch("meta-numbers");
    for (flag, value, says) in [
        ("--backoff-shrink", "nan", "strictly between 0 and 1"),
        ("--backoff-shrink", "inf", "strictly between 0 and 1"),
        ("--lr", "inf", "above 0"),
        ("--lr", "-1", "above 0"),
        ("--backoff-depth", "0", "at least 1"),
    ] {
        let o = meta_train(&out, &[flag, value]);
        failed(&o, 2, flag);
        assert!(stderr(&o).contains(says), "{flag} {value}: {}", stderr(&o));
    }
    failed(&meta_train(&out, &["--lambda", "nan", "--penalty", "l1"]), 2, "finite number at least 0");
    assert!(!out.join("episodes.csv").exists());
}

#[test]
fn a_penalty_strength_without_a_penalty_is_refused() {
    let out = scratch("meta-lambda");
    failed(&meta_train(&out, &["--lambda", "1"]), 2, "--penalty");
}

/// Every episode diverged: the run says so and fails, and its summary (with
/// no mean accuracy) can still be resumed.
#[test]
fn a_run_whose_episodes_all_diverge_fails_and_can_be_resumed() {
    let out = scratch("meta-diverged");
    let args = ["--theta", "1e30", "--rule", "fa", "--on-divergence", "skip", "--no-baseline"];
    let o = meta_train(&out, &args);
    failed(&o, 1, "the last episode diverged");
    assert!(String::from_utf8_lossy(&o.stdout).contains("none (all diverged)"));
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(summary.contains("\"mean_accuracy_last_50\": null"), "{summary}");
    let resumed = program(
        "meta-train",
        &[
            &["--data", "optdigits", "--widths", "64,16,10", "-K", "2", "-Q", "1", "--episodes", "2"][..],
            &args,
            &["--resume", "--out", s(&out)],
        ]
        .concat(),
    );
    failed(&resumed, 1, "the last 2 episodes all diverged");
    assert!(stderr(&resumed).contains("resuming at episode 1"), "{}", stderr(&resumed));
}

/// Widths whose weights no machine can hold (past the 128 TB of a 64-bit
/// address space, whatever the kernel's overcommit) aborted on a failed
/// allocation; they are refused before any buffer is made.
#[test]
fn widths_past_what_the_machine_can_allocate_are_refused() {
    let dir = scratch("huge-widths");
    let huge = "784,1000000000000,10";
    let out = dir.join("run");
    let o = program("meta-train", &["--widths", huge, "--episodes", "1", "--no-baseline", "--out", s(&out)]);
    failed(&o, 1, "more than this machine can allocate");
    assert!(!out.join("episodes.csv").exists());
    let o = program("online", &["--widths", huge, "--seeds", "1", "--out", s(&dir.join("x.csv"))]);
    failed(&o, 1, "more than this machine can allocate");
}

/// Options that the chosen run would not read are refused, not ignored.
#[test]
fn options_the_run_would_ignore_are_refused() {
    let dir = scratch("ignored");
    let out = dir.join("run");
    failed(&meta_train(&out, &["--images", "nope.gz"]), 1, "are for --data idx");
    failed(&meta_train(&out, &["--transposed"]), 1, "are for --data idx");
    failed(&meta_train(&out, &["--backoff-tries", "2"]), 1, "apply to --on-divergence back-off");
    failed(&meta_train(&out, &["--l1", "proximal", "--penalty", "l2"]), 1, "it needs --penalty l1");
    // With --robust, back-off is the mode: its settings are read.
    succeeded(&meta_train(&dir.join("robust"), &["--robust", "--backoff-tries", "2", "--no-baseline"]));
    assert!(!out.join("episodes.csv").exists());
    let o = program("reproduce", &["fig-s2", "--bio-theta", "1,2,3", "--out", s(&dir.join("r"))]);
    failed(&o, 1, "--bio-theta is for fig-s1");
    let o = program("reproduce", &["fig-s1", "--oja-theta", "1,2", "--out", s(&dir.join("r"))]);
    failed(&o, 1, "--oja-theta is for fig-s4");
}

/// A font the user names but that cannot be read is an error before any
/// trial (it used to be skipped for the next candidate without a word).
#[test]
fn a_missing_font_named_by_the_user_stops_reproduce_before_any_trial() {
    let dir = scratch("font");
    let o = Command::new(env!("CARGO_BIN_EXE_metaplasticity"))
        .args(["reproduce", "fig-s2", "--trials", "1", "--episodes", "1", "--out", s(&dir)])
        .env("METAPLASTICITY_FONT", dir.join("missing.ttf"))
        .output()
        .expect("start the tool");
    failed(&o, 1, "METAPLASTICITY_FONT=");
    assert!(!dir.join("trials").exists(), "no trial ran");
}

/// Two runs into one folder at once mixed their files (both exited 0); the
/// second is refused while the first runs, and the folder is free again
/// once it ends.
#[test]
fn a_second_run_into_a_folder_in_use_is_refused() {
    let out = scratch("locked");
    /// The first run, stopped however the test ends.
    struct Stopped(std::process::Child);
    impl Drop for Stopped {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let first = Command::new(env!("CARGO_BIN_EXE_metaplasticity"))
        .args(["meta-train", "--data", "optdigits", "--widths", "64,16,10", "-K", "2", "-Q", "1"])
        .args(["--episodes", "1000000", "--no-baseline", "--out", s(&out)])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the first run");
    let first = Stopped(first);
    // Its first episode is written once it holds the folder.
    let start = std::time::Instant::now();
    while !out.join("episodes.csv").exists() {
        assert!(start.elapsed().as_secs() < 60, "the first run wrote nothing");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let second = meta_train(&out, &["--overwrite", "--no-baseline"]);
    drop(first);
    failed(&second, 1, "another meta-train run is writing to");
    // The lock dies with its process.
    succeeded(&meta_train(&out, &["--overwrite", "--no-baseline"]));
}

#[test]
fn resume_with_nothing_to_resume_creates_no_folder() {
    let out = scratch("resume-nothing").join("never");
    failed(&meta_train(&out, &["--resume"]), 1, "holds no run to continue");
    assert!(!out.exists());
}

/// `--resume` compares what the options resolve to: the default network
/// written out, or `bio` written as its terms, is the same run.
#[test]
fn resume_takes_the_same_options_spelled_another_way() {
    let out = scratch("resume-spelled");
    let args = ["--data", "optdigits", "-K", "2", "-Q", "1", "--no-baseline"];
    succeeded(&program("meta-train", &[&args[..], &["--episodes", "1", "--rule", "bio", "--out", s(&out)]].concat()));
    let spelled = ["--episodes", "2", "--rule", "0,2,9", "--widths", "64,170,130,100,70,10", "--resume"];
    succeeded(&program("meta-train", &[&args[..], &spelled, &["--out", s(&out)]].concat()));
    // A rule that differs is still refused.
    let other = ["--episodes", "3", "--rule", "0,2", "--resume", "--out", s(&out)];
    failed(&program("meta-train", &[&args[..], &other].concat()), 1, "--rule");
}

/// A rate that makes online learning overflow is named as the likely cause.
#[test]
fn online_names_the_rate_when_learning_overflows() {
    let dir = scratch("online-rate");
    let o = program("online", &["--theta0", "-1", "--seeds", "1", "--samples", "100", "--out", s(&dir.join("x.csv"))]);
    failed(&o, 1, "with --theta0 -1: a smaller positive rate may help");
}
