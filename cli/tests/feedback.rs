//! The tool's feedback and reversal options: `online --feedback` compares any
//! list of pathways (the sign-symmetric ones included) from the same initial
//! weights and sample order, `meta-train --feedback usf|frsf|brsf` meta-trains
//! through them, and `meta-train --reversal invert` gives the recomputed
//! run's meta-loss bit for bit and its meta-gradient up to rounding.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn program(subcommand: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_metaplasticity")).arg(subcommand).args(args).output().expect("start the tool")
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("feedback-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn ok(o: &Output) {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Header and rows of a CSV of numbers (`true`/`false` as 1/0).
fn csv(path: &Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(str::to_string).collect();
    let rows = lines
        .map(|l| {
            l.split(',')
                .map(|f| match f {
                    "true" => 1.0,
                    "false" => 0.0,
                    _ => f.parse().unwrap(),
                })
                .collect()
        })
        .collect();
    (header, rows)
}

fn column(h: &[String], rows: &[Vec<f64>], name: &str) -> Vec<f64> {
    let i = h.iter().position(|c| c == name).unwrap_or_else(|| panic!("no {name} in {h:?}"));
    rows.iter().map(|r| r[i]).collect()
}

#[test]
fn online_compares_the_pathways_it_is_given() {
    let dir = scratch("online");
    let quick = ["--seeds", "1", "--samples", "1000", "--every", "500", "--test", "1000"];
    let default = dir.join("default.csv");
    ok(&program("online", &[&quick[..], &["--out", default.to_str().unwrap()]].concat()));
    let chosen = dir.join("chosen.csv");
    let chosen_list = ["--feedback", "bp,usf,frsf,brsf", "--out", chosen.to_str().unwrap()];
    ok(&program("online", &[&quick[..], &chosen_list].concat()));
    let (h0, r0) = csv(&default);
    let (h1, r1) = csv(&chosen);
    assert_eq!(h0, ["samples", "bp", "fa", "dfa"]);
    assert_eq!(h1, ["samples", "bp", "usf", "frsf", "brsf"]);
    // The same seed gives backprop the same curve whatever else runs.
    assert_eq!(column(&h0, &r0, "bp"), column(&h1, &r1, "bp"));
    // Sign-concordant feedback learns: after 1,000 samples well above chance (0.1).
    for name in ["usf", "frsf", "brsf"] {
        let acc = column(&h1, &r1, name);
        assert!(acc[2] > 0.3, "{name}: {acc:?}");
    }
}

#[test]
fn online_refuses_a_pathway_listed_twice_before_any_work() {
    let out = scratch("twice").join("x.csv");
    let o = program("online", &["--feedback", "fa,bp,fa", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("fa is listed twice"));
    assert!(String::from_utf8_lossy(&o.stdout).is_empty() && !out.exists());
}

#[test]
fn meta_train_runs_through_sign_symmetric_feedback() {
    for feedback in ["usf", "frsf", "brsf"] {
        let out = scratch(feedback);
        let o = program(
            "meta-train",
            &["--feedback", feedback, "--episodes", "3", "--no-baseline", "--out", out.to_str().unwrap()],
        );
        ok(&o);
        let (h, rows) = csv(&out.join("episodes.csv"));
        assert_eq!(rows.len(), 3);
        assert!(column(&h, &rows, "ok").iter().all(|&v| v == 1.0));
        let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
        assert!(summary.to_lowercase().contains(&format!("\"feedback\": \"{feedback}\"")), "{summary}");
    }
}

#[test]
fn meta_train_with_the_in_place_reversal_matches_the_recomputed_run() {
    let (a, b) = (scratch("recompute"), scratch("invert"));
    let common = ["--rule", "bio", "--episodes", "3", "--no-baseline", "-K", "20"];
    ok(&program("meta-train", &[&common[..], &["--out", a.to_str().unwrap()]].concat()));
    ok(&program("meta-train", &[&common[..], &["--reversal", "invert", "--out", b.to_str().unwrap()]].concat()));
    let (h, ra) = csv(&a.join("episodes.csv"));
    let (_, rb) = csv(&b.join("episodes.csv"));
    // The first episode runs the same forward pass: the same meta-loss, to
    // the last digit; its gradient agrees up to the inverse's rounding.
    assert_eq!(column(&h, &ra, "meta_loss")[0], column(&h, &rb, "meta_loss")[0]);
    for term in ["F0", "F2", "F9"] {
        let (ga, gb) = (column(&h, &ra, &format!("grad_{term}"))[0], column(&h, &rb, &format!("grad_{term}"))[0]);
        assert!((ga - gb).abs() <= 1e-4 * ga.abs().max(1e-3), "grad_{term}: {ga} vs {gb}");
    }
}
