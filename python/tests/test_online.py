"""Online learning: the bindings compute exactly what `metaplasticity online`
computes for the same seed and options (its CSV's 4-decimal values), and
the same numbers on every run."""

import numpy as np
import pytest

import metaplasticity as mp

from conftest import read_csv

PATHWAYS = ["bp", "fa", "dfa", "usf", "frsf", "brsf", "kp"]


def run_python(data, test, samples, every, feedback, seed=0, widths=None, theta0=0.01):
    images, labels = data
    return mp.online(
        images[test:],
        labels[test:],
        images[:test],
        labels[:test],
        widths=widths,
        feedback=feedback,
        theta=[theta0],
        seed=seed,
        samples=samples,
        every=every,
    )


@pytest.mark.parametrize(
    "name, test, samples, every, widths",
    [
        ("mnist", 2000, 1000, 250, None),
        ("optdigits", 397, 1400, 200, [64, 32, 16, 10]),
        # Not a multiple of --every: the last sample is a point too.
        ("optdigits", 397, 1000, 300, [64, 32, 16, 10]),
    ],
)
def test_online_equals_the_tool(cli, tmp_path, mnist, optdigits, name, test, samples, every, widths):
    """`metaplasticity online --seeds 1` runs seed 0: the same numbers."""
    data = mnist if name == "mnist" else optdigits
    out = tmp_path / "x.csv"
    args = ["online", "--data", name, "--seeds", "1", "--samples", samples, "--test", test, "--every", every]
    args += ["--feedback", ",".join(PATHWAYS), "--out", out]
    if widths:
        args += ["--widths", ",".join(map(str, widths))]
    cli(*args)
    header, rows = read_csv(out)
    assert header == ["samples", *PATHWAYS]
    for k, feedback in enumerate(PATHWAYS):
        result = run_python(data, test, samples, every, feedback, seed=0, widths=widths)
        assert [int(r[0]) for r in rows] == result.samples
        printed = [r[k + 1] for r in rows]
        assert [f"{a:.4f}" for a in result.accuracy] == printed, feedback
        # Accuracies are counts over the test images.
        assert all(abs(a * test - round(a * test)) < 1e-9 for a in result.accuracy)


def test_online_is_deterministic(optdigits):
    """The same seed gives the same floats, run after run; another seed other ones."""
    runs = {}
    for feedback in PATHWAYS:
        a = run_python(optdigits, 397, 1400, 100, feedback, seed=3, widths=[64, 32, 16, 10])
        b = run_python(optdigits, 397, 1400, 100, feedback, seed=3, widths=[64, 32, 16, 10])
        assert a.accuracy == b.accuracy and a.samples == b.samples
        runs[feedback] = a.accuracy
    other = run_python(optdigits, 397, 1400, 100, "fa", seed=4, widths=[64, 32, 16, 10])
    assert other.accuracy != runs["fa"]


def test_online_weights_on_request(optdigits):
    images, labels = optdigits
    r = mp.online(images[:1000], labels[:1000], images[1000:], labels[1000:], widths=[64, 20, 10], return_weights=True)
    assert [w.shape for w in r.weights] == [(20, 64), (10, 20)]
    assert all(w.dtype == np.float32 for w in r.weights)
    assert mp.online(images[:100], labels[:100], images[100:], labels[100:], widths=[64, 20, 10]).weights is None
    # The same weights as a Network driven by hand the same way.
    net = mp.Network([64, 20, 10], "fa", seed=0)
    order = net.permutation(1000)
    net.learn(images[:1000][order], labels[:1000][order])
    for w, v in zip(r.weights, net.weights()):
        assert np.array_equal(w, v)


def test_network_learns_with_any_rule(optdigits):
    images, labels = optdigits
    for rule, theta in [("fa", [0.05]), ("bio", [0.05, -0.01, 0.005]), ([0, 9], [0.05, 0.001]), ("F0", None)]:
        # (theta_0 = 0.01 by default: slower, as `metaplasticity online`.)
        net = mp.Network([64, 32, 16, 10], "fa", seed=1)
        before = net.accuracy(images[1400:], labels[1400:])
        losses = net.learn(images[:1400], labels[:1400], rule=rule, theta=theta)
        assert losses.shape == (1400,) and np.isfinite(losses).all()
        after = net.accuracy(images[1400:], labels[1400:])
        assert after > max(0.2 if theta is None else 0.3, before + 0.1), (rule, before, after)
    # A term on one layer only changes only that layer (F^0 on layer 2).
    net = mp.Network([64, 32, 16, 10], "bp", seed=1)
    w0 = net.weights()
    net.learn(images[:50], labels[:50], rule="fa", theta=[0.05], layers=[[2]])
    w1 = net.weights()
    assert np.array_equal(w0[0], w1[0]) and np.array_equal(w0[2], w1[2])
    assert not np.array_equal(w0[1], w1[1])


def test_predict_and_set_weights(optdigits):
    images, labels = optdigits
    net = mp.Network([64, 16, 10], "bp", seed=2)
    net.learn(images[:800], labels[:800], theta=[0.05])
    p = net.predict(images[800:])
    assert p.dtype == np.int64 and p.shape == (len(labels) - 800,)
    assert net.correct(images[800:], labels[800:]) == int((p == labels[800:]).sum())
    other = mp.Network([64, 16, 10], "bp", seed=9)
    other.set_weights(net.weights())
    assert np.array_equal(other.predict(images[800:]), p)


def test_gil_is_released_while_learning(mnist):
    import threading
    import time

    images, labels = mnist
    net = mp.Network(mp.paper_widths(784, 10), "bp", seed=0)
    done = threading.Event()
    ticks = 0

    def learn():
        net.learn(images[:3000], labels[:3000])
        done.set()

    t = threading.Thread(target=learn)
    start = time.perf_counter()
    t.start()
    while not done.is_set():
        ticks += 1
    t.join()
    # With the interpreter held for the whole call this loop could not run
    # (beyond a switch interval or two).
    assert ticks > 10_000, (ticks, time.perf_counter() - start)
