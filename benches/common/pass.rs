//! One streaming pass over a network's `f32` weights: a plain
//! matrix-vector product per layer, each weight read once. The unit the
//! timings of this project are also given in, measured in the same run:
//! a shared machine moves milliseconds by 2x from day to day, the ratio to
//! a pass far less. Shared by `benches/episode.rs` (`pass`) and
//! `firmware/learn_rule` (`--time`).

/// `y_l = W_l y_{l-1}` for every layer of a network with widths `widths`
/// (`n_0, ..., n_L`), the weights `w` in the network's layout read once,
/// row-wise: `ys[l - 1]` receives `y_l`. The arithmetic is a pass's, not
/// the network's (the layout is read as rows of length `n_{l-1}`).
pub fn pass_over(widths: &[usize], w: &[f32], x: &[f32], ys: &mut [Vec<f32>]) {
    let mut offset = 0;
    let mut input: &[f32] = x;
    for (pair, y) in widths.windows(2).zip(ys.iter_mut()) {
        let (cols, rows) = (pair[0], pair[1]);
        let layer = &w[offset..offset + rows * cols];
        for (yi, row) in y.iter_mut().zip(layer.chunks_exact(cols)) {
            *yi = dot(row, input);
        }
        offset += layer.len();
        input = y;
    }
}

/// The buffers `ys` of [`pass_over`] for widths `widths`.
pub fn outputs(widths: &[usize]) -> Vec<Vec<f32>> {
    widths.iter().skip(1).map(|&n| vec![0.0; n]).collect()
}

/// A dot product with eight independent sums, so that the compiler can keep
/// it in vector registers and the loop runs at the speed of the loads (a
/// single running sum would be bound by the latency of its additions).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8.remainder().iter().zip(b8.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in a8.zip(b8) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum::<f32>() + tail
}
