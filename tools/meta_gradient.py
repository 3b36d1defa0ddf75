#!/usr/bin/env python3
"""Independent reference for the meta-gradient of one small episode.

Written from SPEC sections 1-3 (the model, the ten plasticity terms of the
pool, one meta-learning episode), not from the Rust code: the episode is a
plain float64 JAX program (online steps one sample at a time, the plasticity
update, the query cross-entropy plus the penalty on Theta) and jax.grad
differentiates it with respect to Theta. The result is printed as JSON on
standard output; tests/reference_vector.rs checks the crate's hand-written
adjoint against it.

    python3 tools/meta_gradient.py > tests/data/meta_gradient_vector.json

See tools/README.md.
"""

import json
import sys

import numpy as np

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402  (after enabling float64)

SEED = 20230101
WIDTHS = [6, 5, 4, 3]  # n_0 .. n_L; the input is a 2 x 3 image
ROWS, COLS = 2, 3
CLASSES = 3
IMAGES = 36
BETA = 10.0
TRAIN_STEPS = 18
QUERY = 6
DEPTH = len(WIDTHS) - 1  # L

TERM_NAMES = [
    "-e_l y_{l-1}^T",
    "-y_l e_{l-1}^T",
    "-e_l e_{l-1}^T",
    "-W_l",
    "-1 e_{l-1}^T",
    "-(1^T y_l) e_l y_{l-1}^T",
    "-(y_l^T W_l e_{l-1}) y_l e_{l-1}^T",
    "-(y_l^T W_l e_{l-1}) e_l y_{l-1}^T",
    "-(e_l^T W_l y_{l-1}) y_l e_{l-1}^T",
    "y_l y_{l-1}^T - y_l y_l^T W_l",
]


# ---------------------------------------------------------------- the model


def softplus(z):
    """y = ln(1 + exp(beta z)) / beta."""
    return jnp.logaddexp(0.0, BETA * z) / BETA


def slope(y):
    """sigma'(z) written through the activation: g(y) = 1 - exp(-beta y)."""
    return -jnp.expm1(-BETA * y)


def forward(ws, x):
    """Activities y_0 .. y_{L-1}, the logits z_L and p = softmax(z_L)."""
    ys = [x]
    for l in range(1, DEPTH):
        ys.append(softplus(ws[l - 1] @ ys[-1]))
    z_top = ws[DEPTH - 1] @ ys[-1]
    return ys, z_top, jax.nn.softmax(z_top)


def cross_entropy(z_top, label):
    return jax.nn.logsumexp(z_top) - z_top[label]


def signals(ws, ys, p, label, pathway, fb):
    """e_0 .. e_L: e_L = p - onehot(label), then top-down
    e_l = f_l * g(y_l) with f_l = B_l e_{l+1} (BP: B_l = W_{l+1}^T,
    FA: fixed random B_l) or f_l = D_l e_L (DFA). e_0 uses y_0 = x."""
    es = [None] * (DEPTH + 1)
    es[DEPTH] = p - jax.nn.one_hot(label, WIDTHS[DEPTH])
    for l in range(DEPTH - 1, -1, -1):
        if pathway == "bp":
            f = ws[l].T @ es[l + 1]  # ws[l] is W_{l+1}
        elif pathway == "fa":
            f = fb[l] @ es[l + 1]  # fb[l] is B_l, n_l x n_{l+1}
        else:
            f = fb[l] @ es[DEPTH]  # fb[l] is D_l, n_l x n_L
        es[l] = f * slope(ys[l])
    return es


def term(r, a, b, c, u, w):
    """F^r for one layer, with a = e_l, b = y_{l-1}, c = e_{l-1},
    u = y_l (p on the top layer), w = W_l (SPEC section 2)."""
    ones = jnp.ones_like(u)
    if r == 0:
        return -jnp.outer(a, b)
    if r == 1:
        return -jnp.outer(u, c)
    if r == 2:
        return -jnp.outer(a, c)
    if r == 3:
        return -w
    if r == 4:
        return -jnp.outer(ones, c)
    if r == 5:
        return -jnp.sum(u) * jnp.outer(a, b)
    if r == 6:
        return -(u @ w @ c) * jnp.outer(u, c)
    if r == 7:
        return -(u @ w @ c) * jnp.outer(a, b)
    if r == 8:
        return -(a @ w @ b) * jnp.outer(u, c)
    if r == 9:
        return jnp.outer(u, b) - jnp.outer(u, u) @ w
    raise ValueError(r)


def online_step(ws, x, label, theta, terms, pathway, fb):
    """One sample: forward, signals, then W_l += sum_r theta_r F^r_l on every
    layer, every term evaluated at the weights before the update."""
    ys, _, p = forward(ws, x)
    es = signals(ws, ys, p, label, pathway, fb)
    post = ys[1:] + [p]  # yhat_1 .. yhat_L
    new = []
    for l in range(1, DEPTH + 1):
        w = ws[l - 1]
        a, b, c, u = es[l], ys[l - 1], es[l - 1], post[l - 1]
        update = sum(th * term(r, a, b, c, u, w) for r, th in zip(terms, theta))
        new.append(w + update)
    return new


def penalty_value(theta, kind, lam):
    if kind == "none":
        return 0.0
    if kind == "l1":
        return lam * jnp.sum(jnp.abs(theta))
    if kind == "l2":
        return lam * jnp.sqrt(jnp.sum(theta * theta))
    raise ValueError(kind)


def episode(theta, case, xs, labels):
    """Meta-loss: mean query cross-entropy at the adapted weights + penalty."""
    ws = [jnp.asarray(w) for w in case["w"]]
    fb = [jnp.asarray(b) for b in case["fb"]]

    def body(ws, i):
        return online_step(ws, xs[i], labels[i], theta, case["terms"], case["pathway"], fb), None

    # The training images one at a time, in the task's order.
    ws, _ = jax.lax.scan(body, ws, jnp.asarray(case["train"]))
    query = 0.0
    for i in case["query"]:
        _, z_top, _ = forward(ws, xs[i])
        query = query + cross_entropy(z_top, labels[i])
    query = query / len(case["query"])
    return query + penalty_value(theta, case["penalty"], case["lambda"]), (query, ws)


# ------------------------------------------------------------- the cases


def xavier(rng, rows, cols):
    a = np.sqrt(6.0 / (rows + cols))
    return rng.uniform(-a, a, size=(rows, cols))


def make_case(rng, name, pathway, terms, penalty, lam):
    w = [xavier(rng, WIDTHS[l], WIDTHS[l - 1]) for l in range(1, DEPTH + 1)]
    if pathway == "fa":
        fb = [xavier(rng, WIDTHS[l], WIDTHS[l + 1]) for l in range(DEPTH)]
    elif pathway == "dfa":
        fb = [xavier(rng, WIDTHS[l], WIDTHS[DEPTH]) for l in range(DEPTH)]
    else:
        fb = []
    theta = [0.3 if r == 0 else float(rng.uniform(-0.05, 0.05)) for r in terms]
    train = [int(i) for i in rng.permutation(IMAGES - QUERY)[:TRAIN_STEPS]]
    query = list(range(IMAGES - QUERY, IMAGES))
    return {
        "name": name,
        "pathway": pathway,
        "terms": terms,
        "theta": theta,
        "penalty": penalty,
        "lambda": lam,
        "w": w,
        "fb": fb,
        "train": train,
        "query": query,
    }


def rust_weights(w):
    """W_1 .. W_L, each n_l x n_{l-1} column-major, concatenated."""
    return np.concatenate([m.flatten(order="F") for m in w]).tolist()


def rust_feedback(fb):
    """FA: B_l (n_l x n_{l+1}) stored as its transpose, column-major
    n_{l+1} x n_l, i.e. B_l row-major, at the offset of W_{l+1}.
    DFA: D_l (n_l x n_L) stored column-major n_L x n_l, i.e. D_l row-major,
    at offset (n_0 + .. + n_{l-1}) n_L. Both: the matrices row-major, in
    order l = 0 .. L-1, concatenated."""
    if not fb:
        return []
    return np.concatenate([m.flatten(order="C") for m in fb]).tolist()


def main():
    rng = np.random.default_rng(SEED)
    pixels = rng.integers(0, 256, size=(IMAGES, ROWS * COLS), dtype=np.uint8)
    # Some black and some white pixels: the input gate g(y_0) is zero where
    # a pixel is black, and y_0 = 1 where it is white.
    pixels[rng.random(pixels.shape) < 0.15] = 0
    pixels[rng.random(pixels.shape) < 0.05] = 255
    labels = np.array([i % CLASSES for i in range(IMAGES)], dtype=np.int64)
    rng.shuffle(labels)
    xs = jnp.asarray(pixels.astype(np.float64) / 255.0)
    labels_j = jnp.asarray(labels)

    pool = list(range(10))
    specs = [
        ("pool_fa", "fa", pool, "none", 0.0),
        ("pool_fa_l1", "fa", pool, "l1", 0.01),
        ("bio_bp", "bp", [0, 2, 9], "none", 0.0),
        ("pool_bp_l2", "bp", pool, "l2", 0.02),
        ("pool_dfa_l2", "dfa", pool, "l2", 0.02),
        ("bio_dfa", "dfa", [0, 2, 9], "l1", 0.005),
    ]
    out_cases = []
    for name, pathway, terms, penalty, lam in specs:
        case = make_case(rng, name, pathway, terms, penalty, lam)
        theta = jnp.asarray(case["theta"])
        f = jax.jit(lambda th, case=case: episode(th, case, xs, labels_j))
        g = jax.jit(jax.grad(lambda th, case=case: episode(th, case, xs, labels_j)[0]))
        meta_loss, (query_loss, adapted) = f(theta)
        grad = np.asarray(g(theta))
        # Sanity check of autodiff itself: central differences (stderr only).
        worst = 0.0
        for r in range(len(terms)):
            h = 1e-5
            e = np.zeros(len(terms))
            e[r] = h
            fd = (float(f(theta + e)[0]) - float(f(theta - e)[0])) / (2 * h)
            worst = max(worst, abs(fd - grad[r]) / np.max(np.abs(grad)))
        print(
            f"{name}: meta-loss {float(meta_loss):.12f}, |grad|_max "
            f"{np.max(np.abs(grad)):.3e}, finite-difference rel. err {worst:.1e}",
            file=sys.stderr,
        )
        out_cases.append(
            {
                "name": name,
                "pathway": pathway,
                "terms": terms,
                "theta": case["theta"],
                "penalty": penalty,
                "lambda": lam,
                "w0": rust_weights(case["w"]),
                "feedback": rust_feedback(case["fb"]),
                "train": case["train"],
                "query": case["query"],
                "expected": {
                    "meta_loss": float(meta_loss),
                    "query_loss": float(query_loss),
                    "gradient": [float(v) for v in grad],
                    "adapted_weights": rust_weights([np.asarray(w) for w in adapted]),
                },
            }
        )

    doc = {
        "generator": "tools/meta_gradient.py",
        "jax_version": jax.__version__,
        "numpy_version": np.__version__,
        "seed": SEED,
        "widths": WIDTHS,
        "beta": BETA,
        "classes": CLASSES,
        "rows": ROWS,
        "cols": COLS,
        "pixels": pixels.flatten().tolist(),
        "labels": labels.tolist(),
        "layout": {
            "pixels": "u8, row-major, one image after another; input x = pixel / 255",
            "w0": "W_l (n_l x n_{l-1}) column-major, l = 1..L concatenated",
            "feedback_fa": "B_l (n_l x n_{l+1}) row-major, l = 0..L-1 concatenated",
            "feedback_dfa": "D_l (n_l x n_L) row-major, l = 0..L-1 concatenated",
            "feedback_bp": "empty: B_l = W_{l+1}^T",
            "terms": "indices into the pool F^0..F^9 of SPEC section 2, all layers",
            "penalty": "none | l1 (lambda ||Theta||_1) | l2 (lambda ||Theta||_2)",
        },
        "term_names": TERM_NAMES,
        "cases": out_cases,
    }
    sys.stdout.write(dump(doc))


def dump(doc):
    """JSON with one key per line and every value on one line (floats
    as Python's shortest round-trip repr, i.e. full double precision)."""
    lines = []

    def obj(d, indent):
        pad = " " * indent
        items = []
        for k, v in d.items():
            if isinstance(v, dict):
                items.append(f'{pad}"{k}": {{\n' + obj(v, indent + 2) + f"\n{pad}}}")
            elif k == "cases":
                cases = ",\n".join(f"{pad}  {{\n" + obj(c, indent + 4) + f"\n{pad}  }}" for c in v)
                items.append(f'{pad}"{k}": [\n{cases}\n{pad}]')
            else:
                items.append(f'{pad}"{k}": {json.dumps(v)}')
        return ",\n".join(items)

    lines.append("{\n" + obj(doc, 2) + "\n}\n")
    return "".join(lines)


if __name__ == "__main__":
    main()
