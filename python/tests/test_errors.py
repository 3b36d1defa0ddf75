"""Bad input raises ValueError with the library's message, before any work."""

import numpy as np
import pytest

import metaplasticity as mp


def test_wrong_pixel_count(optdigits, mnist):
    images, labels = optdigits
    net = mp.Network([784, 30, 10])
    with pytest.raises(ValueError, match="^images: the input has 64 entries, the network takes 784$"):
        net.learn(images[:5], labels[:5])
    with pytest.raises(ValueError, match="the input has 64 entries, the network takes 784"):
        mp.online(images[:100], labels[:100], images[100:200], labels[100:200], widths=[784, 30, 10])
    with pytest.raises(ValueError, match="the input has 64 entries, the network takes 784"):
        net.predict(images[:5])
    # The trainer: the tool's check and message.
    with pytest.raises(ValueError, match=r"the input width 784 is not the data's 64 pixels per image \(start with 64\)"):
        mp.MetaTrainer("optdigits", widths=[784, 30, 10])
    # Weights untouched by a refused call.
    before = net.weights()
    with pytest.raises(ValueError):
        net.learn(images[:5], labels[:5])
    assert all(np.array_equal(a, b) for a, b in zip(before, net.weights()))


def test_label_out_of_range(optdigits):
    images, labels = optdigits
    bad = labels[:20].copy()
    bad[7] = 10
    net = mp.Network([64, 16, 10])
    before = net.weights()
    with pytest.raises(ValueError, match=r"^labels\[7\]: label 10 is out of range: the network has 10 classes$"):
        net.learn(images[:20], bad)
    # Checked before the first step: nothing learned.
    assert all(np.array_equal(a, b) for a, b in zip(before, net.weights()))
    with pytest.raises(ValueError, match=r"label -1 is out of range: the network has 10 classes"):
        net.learn(images[:1], np.array([-1]))
    with pytest.raises(ValueError, match="label 10 is out of range"):
        mp.online(images[:20], bad, images[100:200], labels[100:200], widths=[64, 16, 10])
    with pytest.raises(ValueError, match=r"labels\[0\] = 300: a label must be a class from 0 to 255"):
        mp.MetaTrainer((images[:20], np.full(20, 300)))
    with pytest.raises(ValueError, match=r"^data: label 5 at index 5 is out of range for 5 classes$"):
        mp.MetaTrainer((images[:50], labels[:50]), data_classes=5)


def test_nan_image(optdigits):
    images, labels = optdigits
    x = images[:10].copy()
    x[4, 3] = np.nan
    net = mp.Network([64, 16, 10])
    with pytest.raises(ValueError, match=r"^images\[4\]: input entry 3 is NaN or infinite$"):
        net.learn(x, labels[:10])
    x[4, 3] = np.inf
    with pytest.raises(ValueError, match=r"input entry 3 is NaN or infinite"):
        net.predict(x)
    with pytest.raises(ValueError, match=r"images\[4, 3\] = NaN is not a pixel value k/255"):
        x[4, 3] = np.nan
        mp.MetaTrainer((x, labels[:10]))


def test_float_images_must_be_exact_pixels(optdigits):
    images, labels = optdigits
    with pytest.raises(ValueError, match=r"images\[0, 1\] = 0.5 is not a pixel value k/255"):
        x = images[:100].copy()
        x[0, 1] = 0.5
        mp.MetaTrainer((x, labels[:100]))
    with pytest.raises(ValueError, match="the meta-trainer takes uint8 pixels"):
        mp.MetaTrainer((images.astype(np.int32), labels))


def test_zero_width():
    message = (
        "widths [784, 0, 10]: 3 widths make no network: give 2 to 16 widths (input first, classes last), "
        "none of them zero"
    )
    with pytest.raises(ValueError) as e:
        mp.Network([784, 0, 10])
    assert str(e.value) == message
    with pytest.raises(ValueError, match="widths make no network"):
        mp.MetaTrainer("mnist", widths=[784, 0, 10])
    with pytest.raises(ValueError, match="1 widths make no network"):
        mp.Network([784])


def test_unknown_rule_and_options(optdigits):
    images, labels = optdigits
    expected = "expected fa, bp, dfa, ehebb, oja, bio, pool or term numbers 0-9 like 0,2,9"
    with pytest.raises(ValueError, match=f'^rule "hebb": {expected}$'):
        mp.Network([64, 10]).learn(images[:2], labels[:2], rule="hebb")
    with pytest.raises(ValueError, match=expected):
        mp.MetaTrainer("optdigits", rule="hebb")
    with pytest.raises(ValueError, match=expected):
        mp.MetaTrainer("optdigits", rule=[0, 12])
    with pytest.raises(ValueError, match='term F2 is listed twice'):
        mp.MetaTrainer("optdigits", rule=[0, 2, 2])
    with pytest.raises(ValueError, match=r"^theta: Theta has 2 entries, 3 are needed \(one per term of the rule, then one per parameter of a plastic pathway\)$"):
        mp.MetaTrainer("optdigits", rule="bio", theta=[0.1, 0.2])
    with pytest.raises(ValueError, match=r"feedback \"xx\": expected one of bp \(backprop\), fa \(feedback alignment\),.* kp \(plastic Kolen-Pollack feedback\)$"):
        mp.Network([64, 10], "xx")
    with pytest.raises(ValueError, match="freeze 3: the rule has 3 coefficients"):
        mp.MetaTrainer("optdigits", freeze=[3])
    with pytest.raises(ValueError, match="a task of 11 classes cannot be drawn from a data set of 10 classes"):
        mp.MetaTrainer("optdigits", classes=11)
    with pytest.raises(ValueError, match="the learning rate|lr must be positive"):
        mp.MetaTrainer("optdigits", lr=0.0)
    with pytest.raises(ValueError, match=r"layers\[0\]: layer 3 is not a weight layer of this network \(1 to 2\)"):
        mp.Network([64, 16, 10]).learn(images[:2], labels[:2], layers=[[3]])
    with pytest.raises(ValueError, match='step_scale "1.0,2.0": expected uniform, measured or 3 positive numbers'):
        mp.MetaTrainer("optdigits", step_scale=[1, 2])
    with pytest.raises(ValueError, match="data \"cifar\": expected mnist or optdigits"):
        mp.MetaTrainer("cifar")


def test_bad_rule_file(tmp_path):
    path = tmp_path / "x.mprl"
    path.write_bytes(b"hello, world")
    with pytest.raises(ValueError, match=r"not a rule file: not a rule file \(the magic bytes are not MPRL\)"):
        mp.load_rule(path)
    trainer = mp.MetaTrainer("optdigits", widths=[64, 16, 10], train=3, query=2)
    good = bytearray(trainer.rule_bytes())
    good[14] ^= 1
    path.write_bytes(bytes(good))
    with pytest.raises(ValueError, match="rule file is corrupt: checksum"):
        mp.load_rule(path)
