//! `metaplasticity rule`: describes a rule file written by `meta-train`,
//! prints it as a Rust snippet, and refuses a file that is not one.

use std::path::PathBuf;
use std::process::{Command, Output};

fn tool(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_metaplasticity")).args(args).output().expect("start the tool")
}

#[test]
fn a_learned_rule_is_described_and_printed_as_a_snippet() {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("rule-inspect");
    let _ = std::fs::remove_dir_all(&out);
    let o =
        tool(&["meta-train", "--episodes", "1", "-K", "5", "-Q", "2", "--no-baseline", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let file = out.join("rule.mprl");
    let o = tool(&["rule", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("784-170-130-100-70-10 (depth 5)"), "{text}");
    for term in ["F0 ", "F2 ", "F9 "] {
        assert!(text.contains(term), "{term} missing:\n{text}");
    }
    let o = tool(&["rule", "--snippet", file.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("pub const BETA: f32 = 10.0;"));
    let o = tool(&["rule", out.join("summary.json").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not a rule file"));
}
