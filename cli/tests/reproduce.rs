//! End-to-end check of `metaplasticity reproduce`: every experiment in its
//! `--quick` form runs, and its files are well formed (CSV of consistent
//! shape with finite numbers, SVG, PNG, Markdown); `fig-s2 --quick` shows
//! F^bio ahead of FA, `fig-4 --quick` the robust F^pool ahead of FA, and
//! the robust pool arms of `fig-s5 --quick` never diverge; `pathways
//! --quick` (beyond the paper) writes its files too, and `pathways-online`
//! its online curves alone; a rerun with the same seeds gives identical
//! trials.
//!
//! The tool is built by `cargo test` alongside this test (same profile).
//! fig-s4 needs Fashion-MNIST for its online part (`apt-get install -y
//! dataset-fashion-mnist`) and is skipped, with a note, where it is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `metaplasticity reproduce`, built by `cargo test` with this test.
fn program() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_metaplasticity"));
    c.arg("reproduce");
    c
}

fn run(args: &[&str], out: &Path) {
    let output = program().args(args).arg("--out").arg(out).output().expect("start reproduce");
    assert!(
        output.status.success(),
        "reproduce {args:?} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Parses a CSV written by the tool: header and rows of numbers (empty
/// fields are missing values, NaN here). Every row has the header's width.
fn csv(path: &Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().expect("header").split(',').map(str::to_string).collect();
    let rows: Vec<Vec<f64>> = lines
        .map(|l| {
            let fields: Vec<f64> = l
                .split(',')
                .map(|f| {
                    if f.is_empty() {
                        f64::NAN
                    } else {
                        f.parse().unwrap_or_else(|_| panic!("{}: {f:?}", path.display()))
                    }
                })
                .collect();
            assert_eq!(fields.len(), header.len(), "{}: row width", path.display());
            fields
        })
        .collect();
    (header, rows)
}

fn column(header: &[String], rows: &[Vec<f64>], name: &str) -> Vec<f64> {
    let i = header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name} in {header:?}"));
    rows.iter().map(|r| r[i]).collect()
}

/// The four files of an experiment (or panel) exist and look like what they claim.
fn files(dir: &Path, stem: &str, rows: usize) -> (Vec<String>, Vec<Vec<f64>>) {
    let svg = std::fs::read_to_string(dir.join(format!("{stem}.svg"))).expect("svg");
    assert!(svg.contains("<svg") && svg.trim_end().ends_with("</svg>"), "{stem}.svg");
    let png = std::fs::read(dir.join(format!("{stem}.png"))).expect("png");
    assert!(png.len() > 10_000 && png.starts_with(b"\x89PNG\r\n\x1a\n"), "{stem}.png");
    let (header, data) = csv(&dir.join(format!("{stem}.csv")));
    assert_eq!(data.len(), rows, "{stem}.csv rows");
    // Every `_mean` column (or plain value column) has numbers in most rows.
    for (i, h) in header.iter().enumerate().skip(1) {
        if h.ends_with("_mean") || h.starts_with("p_") {
            let finite = data.iter().filter(|r| r[i].is_finite()).count();
            assert!(finite * 10 >= rows * 9, "{stem}.csv column {h}: {finite} of {rows} finite");
        }
    }
    (header, data)
}

fn markdown(dir: &Path, name: &str) -> String {
    let md = std::fs::read_to_string(dir.join(format!("{name}.md"))).expect("md");
    assert!(md.starts_with(&format!("# {name}")) && md.contains("|---|"), "{name}.md has a title and a table");
    // Every row of a table has as many cells as its header.
    let mut width = None;
    for line in md.lines() {
        if line.starts_with('|') {
            let cells = line.matches('|').count();
            assert_eq!(*width.get_or_insert(cells), cells, "{name}.md: {line}");
        } else {
            width = None;
        }
    }
    md
}

#[test]
fn every_experiment_runs_quick_and_writes_well_formed_files() {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("reproduce-quick");
    let _ = std::fs::remove_dir_all(&out);
    let fashion = ["train", "t10k"]
        .iter()
        .all(|split| Path::new(&format!("/usr/share/datasets/fashion-mnist/{split}-images-idx3-ubyte.gz")).exists());
    if fashion {
        run(&["all", "--quick"], &out);
    } else {
        eprintln!("note: Fashion-MNIST is not installed; fig-s4 is skipped (apt-get install -y dataset-fashion-mnist)");
        for e in ["fig-4", "fig-s2", "fig-s7", "fig-s5", "fig-s6", "table-1", "fig-s1", "note-4"] {
            run(&[e, "--quick"], &out);
        }
    }
    let episodes = 60;
    for name in ["fig-4", "fig-s2", "fig-s5", "fig-s6", "fig-s7", "table-1"] {
        let dir = out.join(name);
        files(&dir, name, episodes);
        markdown(&dir, name);
    }
    // fig-s2: F^bio ahead of FA (moving average over the last 20 episodes, 3 trials).
    let (h, rows) = files(&out.join("fig-s2"), "fig-s2", episodes);
    let bio = column(&h, &rows, "fbio_accuracy_mean")[episodes - 1];
    let fa = column(&h, &rows, "fa_accuracy_mean")[episodes - 1];
    // Deterministic (fixed seeds): a tripwire for any change that breaks meta-learning.
    assert!(bio > fa + 0.05, "fig-s2 --quick: F^bio {bio:.3} is not ahead of FA {fa:.3}");
    // fig-4: the robust F^pool with L1 ahead of FA.
    let (h, rows) = files(&out.join("fig-4"), "fig-4", episodes);
    let pool = column(&h, &rows, "fpool_l1_robust_accuracy_mean")[episodes - 1];
    let fa = column(&h, &rows, "fa_accuracy_mean")[episodes - 1];
    assert!(pool > fa + 0.05, "fig-4 --quick: F^pool {pool:.3} is not ahead of FA {fa:.3}");
    assert_eq!(h.iter().filter(|c| c.starts_with("fpool_l1_robust_theta_") && c.ends_with("_mean")).count(), 10);
    // fig-s5: no robust pool trial diverged; each arm has its Theta in the table.
    let robust: Vec<PathBuf> = std::fs::read_dir(out.join("trials"))
        .expect("trials folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("mnist-5l-pool-robust-")))
        .collect();
    assert!(robust.len() >= 4 * 3, "robust pool trials: {robust:?}");
    for path in &robust {
        let text = std::fs::read_to_string(path).expect("trial");
        let ok = text.lines().next().and_then(|h| h.split(',').position(|c| c == "ok")).expect("ok column");
        let oks: Vec<&str> = text.lines().skip(1).filter_map(|l| l.split(',').nth(ok)).collect();
        assert_eq!(oks.len(), episodes, "{}", path.display());
        assert!(oks.iter().all(|&v| v == "true"), "{} has diverged episodes", path.display());
    }
    let md = markdown(&out.join("fig-s5"), "fig-s5");
    for arm in ["paper Adam, L1", "robust, L1", "robust, L1, F^3 not trained", "paper Theta (L1), frozen"] {
        assert!(md.contains(arm), "fig-s5.md has no row for {arm}");
    }
    // fig-s7: p-values are probabilities.
    let (h, rows) = files(&out.join("fig-s7"), "fig-s7", episodes);
    for name in h.iter().skip(1) {
        assert!(column(&h, &rows, name).iter().all(|p| p.is_nan() || (0.0..=1.0).contains(p)), "{name}");
    }
    // fig-s1: 2,000 samples, a point every 250 (and 0).
    let (h, rows) = files(&out.join("fig-s1"), "fig-s1", 9);
    assert_eq!(h.len(), 1 + 3 * 4, "fig-s1: F^bio, BP, FA, DFA");
    assert!(column(&h, &rows, "samples").windows(2).all(|w| w[1] > w[0]));
    markdown(&out.join("fig-s1"), "fig-s1");
    // note-4: the error shrinks with the number of samples in every layer.
    let (h, rows) = files(&out.join("note-4"), "note-4", 4);
    for l in 1..=4 {
        let err = column(&h, &rows, &format!("layer_{l}_relative_error_mean"));
        assert!(err[3] < 0.5 * err[0], "note-4 layer {l}: {err:?}");
    }
    markdown(&out.join("note-4"), "note-4");
    if fashion {
        let dir = out.join("fig-s4");
        files(&dir, "fig-s4", episodes);
        files(&dir, "fig-s4-online", 9);
        markdown(&dir, "fig-s4");
    }
    // pathways (beyond the paper): F^0 and F^bio through seven pathways, the
    // BP, FA and F^bio-FA arms read back from fig-s2's trials.
    run(&["pathways", "--quick"], &out);
    let dir = out.join("pathways");
    files(&dir, "pathways", episodes);
    let md = markdown(&dir, "pathways");
    for arm in
        ["F^0, uSF", "F^0, frSF", "F^0, brSF", "F^bio, BP", "F^bio, DFA", "F^bio, frSF", "F^bio, KP", "uSF", "brSF"]
    {
        assert!(md.contains(arm), "pathways.md has no row for {arm}");
    }
    // Kolen-Pollack's arms learn eta_B and lambda_B beside Theta.
    assert!(md.contains("eta_B = ") && md.contains("lambda_B = "), "pathways.md: KP's parameters");
    let (h, _) = files(&dir, "pathways-online", 9);
    assert_eq!(h.len(), 1 + 3 * 7, "pathways-online: BP, FA, DFA, uSF, frSF, brSF, KP");
    // The online part alone, into a fresh folder: no trial, the same curves.
    let alone = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("reproduce-pathways-online");
    let _ = std::fs::remove_dir_all(&alone);
    run(&["pathways-online", "--quick"], &alone);
    assert!(!alone.join("trials").exists(), "pathways-online meta-trains nothing");
    let online = |dir: &Path| std::fs::read(dir.join("pathways-online.csv")).expect("pathways-online.csv");
    assert_eq!(online(&alone.join("pathways-online")), online(&dir), "the same curves as pathways'");
    markdown(&alone.join("pathways-online"), "pathways-online");
    // Cached trials give the same files as fresh ones.
    let csv_before = std::fs::read(out.join("fig-s6/fig-s6.csv")).expect("fig-s6.csv");
    run(&["fig-s6", "--quick"], &out);
    assert_eq!(std::fs::read(out.join("fig-s6/fig-s6.csv")).expect("fig-s6.csv"), csv_before, "fig-s6 from the cache");
    // Edge cases: one trial, one episode.
    run(&["fig-s7", "--trials", "1", "--episodes", "1"], &out);
    files(&out.join("fig-s7"), "fig-s7", 1);
    // Same seeds, same numbers: a fresh folder reproduces the cached trial bit for bit.
    let again = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("reproduce-again");
    let _ = std::fs::remove_dir_all(&again);
    run(&["fig-s6", "--trials", "1", "--episodes", "10"], &again);
    let trial = |dir: &Path, rows: usize| -> Vec<String> {
        let found = std::fs::read_dir(dir.join("trials"))
            .expect("trials folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| {
                p.file_name().is_some_and(|n| {
                    let n = n.to_string_lossy();
                    n.starts_with("mnist-5l-bio-none-xn-") && n.ends_with("-s0.csv")
                })
            })
            .expect("the F^bio trial with Xavier-normal feedback");
        std::fs::read_to_string(found).expect("trial").lines().take(rows).map(str::to_string).collect()
    };
    let (first, second) = (trial(&out, 11), trial(&again, usize::MAX));
    assert_eq!(second.len(), 11, "header and 10 episodes");
    assert_eq!(first, second, "a rerun of the same trial differs");
}

#[test]
fn help_names_every_experiment_and_option() {
    let output = program().arg("--help").output().expect("start reproduce");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for word in [
        "fig-4",
        "lambda-sweep",
        "fig-s1",
        "fig-s2",
        "table-1",
        "note-4",
        "fig-s4",
        "fig-s5",
        "fig-s6",
        "fig-s7",
        "all",
        "--trials",
        "--episodes",
        "--quick",
        "--jobs",
        "--out",
        "--bio-theta",
        "--oja-theta",
        "--oja-meta-data",
        "--lambda",
        "--reversal",
    ] {
        assert!(help.contains(word), "--help does not mention {word}");
    }
}

#[test]
fn bad_options_are_refused_with_a_message() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("reproduce-bad");
    for args in [
        &["fig-s2", "--trials", "0"][..],
        &["fig-s2", "--level", "1.5"],
        &["fig-s9"],
        &["fig-4", "--lambda", "-1"],
        &["fig-s4", "--oja-theta", "0.01"],
    ] {
        let output = program().args(args).arg("--out").arg(&dir).output().expect("start reproduce");
        assert!(!output.status.success(), "{args:?} accepted");
        assert!(!String::from_utf8_lossy(&output.stderr).trim().is_empty(), "{args:?}: no message");
    }
}

/// `--bio-theta` and `--oja-theta` take their numbers separated by commas,
/// as `--help` shows, without swallowing the option after them; a wrong
/// count is refused with a message.
#[test]
fn coefficients_are_read_as_help_shows_them() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("reproduce-theta");
    let run = |args: &[&str]| {
        let output = program().args(args).arg("--out").arg(&dir).output().expect("start reproduce");
        assert!(!output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    // Read whole: the error is then the next option's.
    let stderr = run(&["fig-s1", "--bio-theta", "0.01,-0.03,0.004", "--trials", "0"]);
    assert!(stderr.contains("--trials") && !stderr.contains("--bio-theta"), "{stderr}");
    let stderr = run(&["fig-s4", "--oja-theta", "0.01,0.004", "--trials", "0"]);
    assert!(stderr.contains("--trials") && !stderr.contains("--oja-theta"), "{stderr}");
    assert!(run(&["fig-s1", "--bio-theta", "0.01,-0.03"]).contains("2 numbers given, 3 expected"));
}

/// `--shard K/N` runs a share of the trials into the cache and draws
/// nothing; `--render` draws from the cache, refusing (and naming them)
/// while trials are missing; shards then render give the same files, byte
/// for byte, as one unsharded run.
#[test]
fn sharded_trials_render_the_same_files_as_one_run() {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let (whole, sharded) = (tmp.join("reproduce-whole"), tmp.join("reproduce-sharded"));
    for d in [&whole, &sharded] {
        let _ = std::fs::remove_dir_all(d);
    }
    let small = ["fig-s6", "--trials", "2", "--episodes", "8"];
    run(&small, &whole);
    // Nothing in the cache yet: --render refuses and names the trials.
    let refused = program().args(small).args(["--render", "--out"]).arg(&sharded).output().unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("4 of 4 trials are not in") && said.contains("mnist-5l-bio-none-xn-"), "{said}");
    for k in 0..3 {
        run(&[&small[..], &["--shard", &format!("{k}/3")]].concat(), &sharded);
        assert!(!sharded.join("fig-s6").exists(), "a shard draws nothing");
    }
    let cached = std::fs::read_dir(sharded.join("trials")).unwrap().count();
    assert_eq!(cached, 4, "every trial once between the shards");
    run(&[&small[..], &["--render"]].concat(), &sharded);
    for f in ["fig-s6.csv", "fig-s6.md", "fig-s6.svg", "fig-s6.png"] {
        let (a, b) = (
            std::fs::read(whole.join("fig-s6").join(f)).unwrap(),
            std::fs::read(sharded.join("fig-s6").join(f)).unwrap(),
        );
        assert!(a == b, "{f} differs between the sharded and the whole run");
    }
    // K must be below N.
    let bad = program().args(["fig-s6", "--shard", "3/3"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

/// `--reversal invert` caches its trials under keys of their own, beside
/// the recomputed ones and without touching them, and its gradients are
/// the recomputed ones up to rounding: the pool arms of fig-s5 (the frozen
/// ones hold `F^6` and `F^7` at the paper's coefficients throughout).
#[test]
fn inverted_trials_are_cached_apart_and_match_to_rounding() {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("reproduce-invert");
    let _ = std::fs::remove_dir_all(&out);
    let small = ["fig-s5", "--trials", "1", "--episodes", "3"];
    run(&small, &out);
    let trials = out.join("trials");
    let read = || -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<_> = std::fs::read_dir(&trials)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
            .collect();
        files.sort();
        files
    };
    let recomputed = read();
    assert!(recomputed.iter().all(|(name, _)| !name.contains("-invert")));
    let said = || markdown(&out.join("fig-s5"), "fig-s5").contains("--reversal invert");
    assert!(!said(), "a recomputed run names no reversal");
    run(&[&small[..], &["--reversal", "invert"]].concat(), &out);
    assert!(said(), "fig-s5.md says its trials were walked back");
    let both = read();
    assert_eq!(both.len(), 2 * recomputed.len(), "one inverted trial beside each recomputed one");
    assert!(recomputed.iter().all(|f| both.contains(f)), "recomputed trials left as they were");
    let mut differ = 0;
    for (name, _) in &recomputed {
        // The key without its fingerprint (of the whole configuration,
        // reversal included) and without `-invert` names the arm.
        let arm = |key: &str| {
            let fingerprint = |w: &&str| w.len() == 8 && w.chars().all(|c| c.is_ascii_hexdigit());
            key.replace("-invert", "").split('-').filter(|w| !fingerprint(w)).collect::<Vec<_>>().join("-")
        };
        let twin = both.iter().find(|(n, _)| n.contains("-invert") && arm(n) == arm(name));
        let twin = twin.unwrap_or_else(|| panic!("no inverted twin of {name}"));
        let before = differ;
        let (g0, g1) = (gradients(&trials.join(name)), gradients(&trials.join(&twin.0)));
        assert_eq!(g0.len(), g1.len(), "{name}: columns or episodes differ");
        for ((g, a), (_, b)) in g0.iter().zip(&g1) {
            let scale = a.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            for (x, y) in a.iter().zip(b) {
                assert!((x - y).abs() <= 1e-4 * scale, "{name} {g}: {x} recomputed, {y} inverted");
                differ += usize::from(x.to_bits() != y.to_bits());
            }
        }
        // The frozen arms' rules hold `F^6` and `F^7`: walked back too.
        assert!(!name.contains("frozen") || differ > before, "{name}: recomputed, not inverted");
    }
    assert!(differ > 0, "every inverted gradient has the recomputed bits: nothing was inverted");
}

/// The `grad_*` columns of a trial file, by name.
fn gradients(path: &Path) -> Vec<(String, Vec<f64>)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    let header = &rows[0];
    let number = |f: &str| f.parse::<f64>().unwrap_or_else(|_| panic!("{}: {f:?}", path.display()));
    (0..header.len())
        .filter(|&i| header[i].starts_with("grad_"))
        .map(|i| (header[i].to_string(), rows[1..].iter().map(|r| number(r[i])).collect()))
        .collect()
}
