"""Rule files: saved by the trainer, read back by load_rule and by the
tool (`metaplasticity rule FILE`), and learned with."""

import numpy as np

import metaplasticity as mp


def trained(widths=(64, 32, 16, 10)):
    trainer = mp.MetaTrainer("optdigits", widths=list(widths), train=5, query=2)
    list(trainer.run(3))
    return trainer


def test_round_trip(tmp_path):
    trainer = trained()
    path = tmp_path / "rule.mprl"
    trainer.save_rule(path)
    rule = mp.load_rule(path)
    assert rule.widths == (64, 32, 16, 10)
    assert rule.beta == trainer.beta == 10.0
    assert [t.pool_index for t in rule.terms] == [0, 2, 9]
    assert [t.name for t in rule.terms] == trainer.terms == ["F0", "F2", "F9"]
    assert all(t.layers == (1, 2, 3) for t in rule.terms)
    # f32 coefficients, as the trainer's rule holds them.
    assert rule.theta == [float(np.float32(t)) for t in trainer.theta]
    assert rule.rule == "0,2,9"


def test_the_tool_reads_it(cli, tmp_path):
    trainer = trained()
    path = tmp_path / "rule.mprl"
    trainer.save_rule(path)
    out = cli("rule", path)
    lines = out.splitlines()
    assert lines[0] == "network  64-32-16-10 (depth 3)"
    assert lines[1] == "beta     10"
    rule = mp.load_rule(path)
    for line, term in zip(lines[3:], rule.terms):
        name, layers, theta = line.split()
        assert name == term.name and layers == ",".join(map(str, term.layers))
        assert float(theta) == float(f"{term.theta:.6e}")
    # And the tool's own rule file reads back here.
    cli("meta-train", "--data", "optdigits", "--widths", "64,20,10", "--rule", "oja", "-K", "3", "-Q", "2",
        "--episodes", "2", "--no-baseline", "--out", tmp_path / "run")
    theirs = mp.load_rule(tmp_path / "run" / "rule.mprl")
    assert theirs.widths == (64, 20, 10) and [t.name for t in theirs.terms] == ["F0", "F9"]


def test_learn_with_a_rule_file(tmp_path, optdigits):
    images, labels = optdigits
    trainer = trained((64, 16, 10))
    trainer.save_rule(tmp_path / "r.mprl")
    rule = mp.load_rule(tmp_path / "r.mprl")
    a = mp.Network(list(rule.widths), seed=5)
    b = mp.Network(list(rule.widths), seed=5)
    la = a.learn(images[:200], labels[:200], rule=rule)
    lb = b.learn(images[:200], labels[:200], rule="bio", theta=rule.theta)
    assert np.array_equal(la, lb)
    # A trainer can start from it.
    again = mp.MetaTrainer("optdigits", widths=list(rule.widths), rule=rule, train=3, query=2)
    assert again.terms == ["F0", "F2", "F9"]
    assert again.theta == [float(t) for t in np.float32(rule.theta)]
