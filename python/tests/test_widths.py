"""Networks whose widths are chosen at run time."""

import numpy as np

import metaplasticity as mp


def test_optdigits_64_32_16_10(optdigits):
    images, labels = optdigits
    assert images.shape == (1797, 64) and images.dtype == np.float32 and labels.dtype == np.int64
    assert float(images.min()) == 0.0 and float(images.max()) <= 1.0
    r = mp.online(images[:1400], labels[:1400], images[1400:], labels[1400:], widths=[64, 32, 16, 10],
                  feedback="bp", theta=[0.05], every=350, return_weights=True)
    assert r.samples == [0, 350, 700, 1050, 1400] and r.widths == [64, 32, 16, 10]
    assert r.accuracy[-1] > 0.6 > r.accuracy[0]
    assert [w.shape for w in r.weights] == [(32, 64), (16, 32), (10, 16)]
    trainer = mp.MetaTrainer("optdigits", widths=[64, 32, 16, 10], train=5, query=2)
    record = trainer.episode()
    assert record["ok"] and len(record["angles"]) == 2 and trainer.widths == [64, 32, 16, 10]


def test_default_widths_are_the_papers(mnist, optdigits):
    images, labels = optdigits
    assert mp.online(images[:10], labels[:10], images[10:20], labels[10:20]).widths == [64, 170, 130, 100, 70, 10]
    assert mp.MetaTrainer("optdigits", train=3, query=2).widths == [64, 170, 130, 100, 70, 10]
    assert mp.MetaTrainer("mnist", train=3, query=2).widths == [784, 170, 130, 100, 70, 10]


def test_many_shapes(optdigits):
    images, labels = optdigits
    for widths in ([64, 10], [64, 100, 10], [64, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 12]):
        net = mp.Network(widths, "dfa", seed=1)
        assert net.widths == widths and net.depth == len(widths) - 1
        losses = net.learn(images[:100], labels[:100])
        assert np.isfinite(losses).all()
        assert [w.shape for w in net.weights()] == [(widths[l], widths[l - 1]) for l in range(1, len(widths))]
    # More outputs than classes is allowed; fewer is not.
    mp.MetaTrainer("optdigits", widths=[64, 16, 12], train=3, query=2).episode()
    try:
        mp.MetaTrainer("optdigits", widths=[64, 16, 8])
    except ValueError as e:
        assert "8 output units cannot name the data's 10 classes (end with 10)" in str(e)
    else:
        raise AssertionError("8 outputs for 10 classes were accepted")
