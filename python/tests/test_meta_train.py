"""The meta-trainer: the same options give the same episodes as
`metaplasticity meta-train` (every column of its episodes.csv, which the
tool writes with `{:e}`, the shortest form that reads back as the same
float64: compared exactly) and the same rule file, byte for byte."""

import math

import pytest

import metaplasticity as mp

from conftest import parse_number, read_csv, same

EPISODES = 4

# (tool options, the same options for MetaTrainer)
CASES = {
    "bio-mnist": (
        ["-K", "5", "-Q", "2"],
        dict(train=5, query=2),
    ),
    "pool-robust-l1-optdigits": (
        ["--data", "optdigits", "--widths", "64,32,16,10", "--rule", "pool", "--robust", "--penalty", "l1",
         "--lambda", "1", "-K", "5", "-Q", "2"],
        dict(data="optdigits", widths=[64, 32, 16, 10], rule="pool", robust=True, penalty="l1", lambda_=1.0, train=5, query=2),
    ),
    "terms-usf-many-options": (
        ["--data", "optdigits", "--widths", "64,24,12,10", "--rule", "0,2,9", "--feedback", "usf",
         "--theta", "0.01,-0.01,0.001", "--freeze", "1", "-M", "4", "-K", "6", "-Q", "3", "--sampling", "reference",
         "--penalty", "l2", "--lambda", "0.01", "--lr", "0.002", "--seed", "7", "--feedback-init", "normal",
         "--checkpoint-interval", "3", "--reversal", "invert", "--step-scale", "1,0.5,0.25",
         "--optimizer", "normalized"],
        dict(data="optdigits", widths=[64, 24, 12, 10], rule=[0, 2, 9], feedback="usf", theta=[0.01, -0.01, 0.001],
             freeze=[1], classes=4, train=6, query=3, sampling="reference", penalty="l2", lambda_=0.01, lr=0.002,
             seed=7, feedback_init="normal", checkpoint_interval=3, reversal="invert", step_scale=[1, 0.5, 0.25],
             optimizer="normalized"),
    ),
    "dfa-skip-backoff-options": (
        ["--data", "optdigits", "--widths", "64,32,10", "--rule", "dfa", "--on-divergence", "back-off",
         "--backoff-shrink", "0.25", "--backoff-tries", "2", "--backoff-depth", "3", "--l1", "proximal",
         "--penalty", "l1", "--lambda", "0.1", "-K", "4", "-Q", "2", "--seed", "3"],
        dict(data="optdigits", widths=[64, 32, 10], rule="dfa", on_divergence="back-off", backoff_shrink=0.25,
             backoff_tries=2, backoff_depth=3, l1="proximal", penalty="l1", lambda_=0.1, train=4, query=2, seed=3),
    ),
    "kolen-pollack": (
        ["--data", "optdigits", "--widths", "64,32,16,10", "--rule", "bio", "--feedback", "kp", "-K", "5", "-Q", "2"],
        dict(data="optdigits", widths=[64, 32, 16, 10], rule="bio", feedback="kp", train=5, query=2),
    ),
    "diverging-skip": (
        ["--data", "optdigits", "--widths", "64,32,16,10", "--rule", "oja", "--theta", "0.5,2", "--on-divergence",
         "skip", "-K", "8", "-Q", "2"],
        dict(data="optdigits", widths=[64, 32, 16, 10], rule="oja", theta=[0.5, 2.0], on_divergence="skip", train=8,
             query=2),
    ),
}


def check_equal(records, header, rows, terms, hidden):
    table = mp.records_table(records, terms, hidden)
    assert list(table) == header
    assert len(rows) == len(records)
    for column, name in enumerate(header):
        for i, row in enumerate(rows):
            ours = table[name][i]
            if name == "ok":
                assert row[column] == ("true" if ours else "false")
            elif name in ("episode", "retries"):
                assert int(row[column]) == ours, (name, i)
            else:
                assert same(parse_number(row[column]), float(ours)), (name, i, row[column], ours)


@pytest.mark.parametrize("case", list(CASES))
def test_episodes_equal_the_tool(cli, tmp_path, case):
    args, kwargs = CASES[case]
    out = tmp_path / "run"
    cli("meta-train", *args, "--episodes", EPISODES, "--no-baseline", "--out", out)
    trainer = mp.MetaTrainer(**kwargs)
    records = list(trainer.run(EPISODES))
    header, rows = read_csv(out / "episodes.csv")
    check_equal(records, header, rows, trainer.terms, len(trainer.widths) - 2)
    assert trainer.rule_bytes() == (out / "rule.mprl").read_bytes()
    if case == "diverging-skip":
        assert not all(r["ok"] for r in records), "the case is meant to diverge"
    if case == "kolen-pollack":
        # Theta ends with the plastic feedback's eta_B and lambda_B, learned too.
        assert trainer.terms[-2:] == ["eta_B", "lambda_B"] and len(records[-1]["theta"]) == 5
        assert records[-1]["theta"][3:] != records[0]["theta"][3:]


def test_run_and_iterate_and_properties(optdigits):
    trainer = mp.MetaTrainer("optdigits", widths=[64, 16, 10], rule="ehebb", train=3, query=2)
    assert trainer.terms == ["F0", "F2"] and trainer.widths == [64, 16, 10] and trainer.feedback == "fa"
    assert trainer.beta == 10.0 and trainer.rates == [] and trainer.episodes == 0
    first = list(trainer.run(2))
    for record in trainer:
        if record["episode"] == 3:
            break
    assert [r["episode"] for r in trainer.records] == [0, 1, 2, 3]
    assert trainer.records[:2] == first and trainer.episodes == 4
    keys = ["episode", "ok", "meta_loss", "query_loss", "accuracy", "train_loss", "retries", "theta", "gradient", "angles"]
    assert list(first[0]) == keys
    assert len(first[0]["theta"]) == 2 and len(first[0]["gradient"]) == 2 and len(first[0]["angles"]) == 1
    assert trainer.theta != first[0]["theta"]
    # Arrays give the same episodes as the shipped set by name (uint8 and exact float32 k/255 alike).
    images, labels = optdigits
    raw, _ = mp.datasets.optdigits("uint8")
    for data in [(images, labels), (raw, labels), (raw.reshape(-1, 8, 8), labels)]:
        again = mp.MetaTrainer(data, widths=[64, 16, 10], rule="ehebb", train=3, query=2)
        assert list(again.run(2)) == first


def test_skipped_episode_record():
    trainer = mp.MetaTrainer("optdigits", widths=[64, 32, 16, 10], rule="oja", theta=[0.5, 2.0], on_divergence="skip",
                             train=8, query=2)
    record = next(r for r in trainer.run(4) if not r["ok"])
    assert math.isnan(record["meta_loss"]) and record["gradient"] == [] and all(math.isnan(a) for a in record["angles"])


def test_diverged_episode_raises():
    """As `meta-train --rule fa --theta 1e30 -K 5 -Q 2` (README, Errors and limits)."""
    trainer = mp.MetaTrainer("mnist", rule="fa", theta=[1e30], train=5, query=2)
    with pytest.raises(mp.DivergedError) as e:
        trainer.episode()
    assert str(e.value) == (
        "episode 0 diverged; Theta left as it was before it: online step 1 failed: "
        "activity or modulating signal of layer 2 overflowed; weights left unchanged"
    )
    assert isinstance(e.value, RuntimeError) and trainer.episodes == 0


def test_records_frame(optdigits):
    pd = pytest.importorskip("pandas", reason="pandas is not installed (pip install pandas)")
    trainer = mp.MetaTrainer("optdigits", widths=[64, 16, 10], train=3, query=2)
    list(trainer.run(3))
    frame = trainer.records_frame()
    assert isinstance(frame, pd.DataFrame) and len(frame) == 3
    assert list(frame.columns[:7]) == ["episode", "ok", "meta_loss", "query_loss", "accuracy", "train_loss", "retries"]
    assert list(frame.columns[7:]) == ["theta_F0", "theta_F2", "theta_F9", "grad_F0", "grad_F2", "grad_F9", "angle_1"]
    assert frame["accuracy"].tolist() == [r["accuracy"] for r in trainer.records]


def test_records_frame_without_pandas(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pandas", None)
    trainer = mp.MetaTrainer("optdigits", widths=[64, 16, 10], train=3, query=2)
    with pytest.raises(ImportError, match="records_frame\\(\\) needs pandas: pip install pandas"):
        trainer.records_frame()
