//! Architectures chosen at run time: `--widths` in `meta-train` and
//! `online`, on the 28x28 MNIST digits and the 8x8 optdigits, and clear
//! errors for widths that do not fit the data.

use std::path::PathBuf;
use std::process::{Command, Output};

fn program(subcommand: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_metaplasticity")).arg(subcommand).args(args).output().expect("start the tool")
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("widths-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn refused(o: &Output, says: &str) {
    assert!(!o.status.success(), "accepted");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains(says), "expected {says:?} in: {stderr}");
}

#[test]
fn meta_train_runs_the_widths_it_is_given_and_records_them_in_the_rule() {
    let dir = scratch("digits");
    let out = dir.join("run");
    let args = ["--widths", "64,32,16,10", "--data", "optdigits", "--episodes", "3", "--out", out.to_str().unwrap()];
    let o = program("meta-train", &args);
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stderr).contains("the 64-32-16-10 network"));
    // Two hidden layers: two angle columns.
    let header = std::fs::read_to_string(out.join("episodes.csv")).unwrap();
    let header = header.lines().next().unwrap();
    assert!(header.ends_with("angle_1,angle_2"), "{header}");
    let rule = ok(&program("rule", &[out.join("rule.mprl").to_str().unwrap()]));
    assert!(rule.contains("64-32-16-10 (depth 3)"), "{rule}");
    // A one-hidden-layer network of another width on MNIST.
    let out = dir.join("wide");
    let args = ["--widths", "784,64,10", "--episodes", "1", "-K", "5", "-Q", "2", "--no-baseline"];
    ok(&program("meta-train", &[&args[..], &["--out", out.to_str().unwrap()]].concat()));
    let rule = ok(&program("rule", &[out.join("rule.mprl").to_str().unwrap()]));
    assert!(rule.contains("784-64-10 (depth 2)"), "{rule}");
}

#[test]
fn meta_train_without_widths_uses_the_papers_network_for_the_data() {
    let dir = scratch("default");
    let out = dir.join("run");
    let o = program(
        "meta-train",
        &["--data", "optdigits", "--episodes", "1", "--no-baseline", "--out", out.to_str().unwrap()],
    );
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stderr).contains("the 64-170-130-100-70-10 network"));
}

#[test]
fn widths_that_do_not_fit_the_data_are_refused_before_any_work() {
    let dir = scratch("bad");
    let out = dir.join("run");
    let out = out.to_str().unwrap();
    let run = |widths: &str| program("meta-train", &["--widths", widths, "--data", "optdigits", "--out", out]);
    refused(&run("784,32,10"), "the input width 784 is not the data's 64 pixels per image");
    refused(&run("64,32,5"), "5 output units cannot name the data's 10 classes");
    refused(&run("64,0,10"), "must be at least 1");
    refused(&run("64"), "1 widths make no network");
    refused(&run(&["64"; 17].join(",")), "17 widths make no network");
    assert!(!dir.join("run").exists(), "nothing was written");
    refused(&program("online", &["--widths", "64,32,10"]), "the input width 64 is not the data's 784 pixels");
}

#[test]
fn online_learns_on_the_widths_it_is_given() {
    let dir = scratch("online");
    let csv = dir.join("digits.csv");
    let args = ["--data", "optdigits", "--widths", "64,32,16,10", "--seeds", "1", "--samples", "1200", "--test"];
    let stdout =
        ok(&program("online", &[&args[..], &["500", "--every", "600", "--out", csv.to_str().unwrap()]].concat()));
    assert!(stdout.contains("64-32-16-10 network"), "{stdout}");
    let text = std::fs::read_to_string(&csv).unwrap();
    let last: Vec<f64> = text.lines().last().unwrap().split(',').skip(1).map(|f| f.parse().unwrap()).collect();
    // Backprop on the 8x8 digits after 1,200 samples: far above chance.
    assert!(last[0] > 0.5, "{text}");
}
