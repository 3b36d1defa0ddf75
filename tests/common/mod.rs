//! Helpers shared by the integration tests: seeded random numbers drawn
//! independently of the crate's own `init` module, `f64` copies of the
//! crate's buffers, and a tiny row-major matrix for naive reference code.
//!
//! Not every test file uses every helper.
#![allow(dead_code)]

use metaplasticity::{FixedShape, Network, Real, Shape, Storage};
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::{Rng, SeedableRng};

/// The generator used by all tests.
pub type TestRng = Xoshiro256PlusPlus;

/// A generator seeded from `seed`.
pub fn rng(seed: u64) -> TestRng {
    TestRng::seed_from_u64(seed)
}

/// A uniform draw in `[lo, hi)` (53 random bits; written here rather than
/// taken from `metaplasticity::init` so that tests do not share its code).
pub fn uniform(rng: &mut TestRng, lo: f64, hi: f64) -> f64 {
    let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    lo + (hi - lo) * u
}

/// A uniform index in `0..n` (`n > 0`), by rejection (no bias).
pub fn below(rng: &mut TestRng, n: usize) -> usize {
    assert!(n > 0);
    let n = n as u64;
    let zone = u64::MAX - u64::MAX % n;
    loop {
        let v = rng.next_u64();
        if v < zone {
            return (v % n) as usize;
        }
    }
}

/// `n` draws from `U(lo, hi)` converted to `T`.
pub fn uniform_vec<T: Real>(rng: &mut TestRng, n: usize, lo: f64, hi: f64) -> Vec<T> {
    (0..n).map(|_| T::of(uniform(rng, lo, hi))).collect()
}

/// Exact `f64` copy of a slice of scalars (exact for `f32` and `f64`).
pub fn to_f64<T: Real>(xs: &[T]) -> Vec<f64> {
    xs.iter().map(|x| x.to_f64()).collect()
}

/// The bit patterns of a slice of scalars, for "bit-identical" checks
/// (`f32 -> f64` is exact, so equal bits here mean equal bits there).
pub fn bits<T: Real>(xs: &[T]) -> Vec<u64> {
    xs.iter().map(|x| x.to_f64().to_bits()).collect()
}

/// A dense row-major matrix of `f64`, for naive reference computations.
#[derive(Debug, Clone, PartialEq)]
pub struct Mat {
    pub rows: usize,
    pub cols: usize,
    pub a: Vec<f64>,
}

impl Mat {
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Mat { rows, cols, a: vec![0.0; rows * cols] }
    }
    pub fn get(&self, i: usize, j: usize) -> f64 {
        assert!(i < self.rows && j < self.cols);
        self.a[i * self.cols + j]
    }
    pub fn set(&mut self, i: usize, j: usize, v: f64) {
        assert!(i < self.rows && j < self.cols);
        self.a[i * self.cols + j] = v;
    }
    /// From a column-major slice of `rows x cols` entries (the crate's layout).
    pub fn from_col_major<T: Real>(m: &[T], rows: usize, cols: usize) -> Self {
        assert_eq!(m.len(), rows * cols, "column-major buffer has the wrong size");
        let mut out = Mat::zeros(rows, cols);
        for j in 0..cols {
            for i in 0..rows {
                out.set(i, j, m[j * rows + i].to_f64());
            }
        }
        out
    }
    /// `u v^T`.
    pub fn outer(u: &[f64], v: &[f64]) -> Self {
        let mut out = Mat::zeros(u.len(), v.len());
        for (i, &ui) in u.iter().enumerate() {
            for (j, &vj) in v.iter().enumerate() {
                out.set(i, j, ui * vj);
            }
        }
        out
    }
    /// The literal product `self * other` (triple loop).
    pub fn matmul(&self, other: &Mat) -> Mat {
        assert_eq!(self.cols, other.rows);
        let mut out = Mat::zeros(self.rows, other.cols);
        for i in 0..self.rows {
            for j in 0..other.cols {
                let mut s = 0.0;
                for k in 0..self.cols {
                    s += self.get(i, k) * other.get(k, j);
                }
                out.set(i, j, s);
            }
        }
        out
    }
    /// `self * v` (double loop).
    pub fn mul_vec(&self, v: &[f64]) -> Vec<f64> {
        assert_eq!(self.cols, v.len());
        (0..self.rows).map(|i| (0..self.cols).map(|j| self.get(i, j) * v[j]).sum()).collect()
    }
    /// `self^T * v` (double loop).
    pub fn tr_mul_vec(&self, v: &[f64]) -> Vec<f64> {
        assert_eq!(self.rows, v.len());
        (0..self.cols).map(|j| (0..self.rows).map(|i| self.get(i, j) * v[i]).sum()).collect()
    }
    /// `self + k other`.
    pub fn add_scaled(&self, k: f64, other: &Mat) -> Mat {
        assert_eq!((self.rows, self.cols), (other.rows, other.cols));
        Mat { rows: self.rows, cols: self.cols, a: self.a.iter().zip(&other.a).map(|(x, y)| x + k * y).collect() }
    }
    /// The transpose.
    pub fn transpose(&self) -> Mat {
        let mut out = Mat::zeros(self.cols, self.rows);
        for i in 0..self.rows {
            for j in 0..self.cols {
                out.set(j, i, self.get(i, j));
            }
        }
        out
    }
    /// `k self`.
    pub fn scale(&self, k: f64) -> Mat {
        Mat { rows: self.rows, cols: self.cols, a: self.a.iter().map(|x| k * x).collect() }
    }
    /// Entrywise absolute value.
    pub fn abs(&self) -> Mat {
        Mat { rows: self.rows, cols: self.cols, a: self.a.iter().map(|x| x.abs()).collect() }
    }
    /// Largest absolute entry.
    pub fn max_abs(&self) -> f64 {
        self.a.iter().fold(0.0, |m, x| m.max(x.abs()))
    }
}

/// `W_l` of a network as an `f64` matrix (read through the documented
/// column-major layout of [`Network::as_slice`]).
pub fn layer<T: Real, S: FixedShape, B: Storage<T>>(net: &Network<T, S, B>, l: usize) -> Mat {
    let o = S::default().weight_offset(l);
    let (rows, cols) = (S::default().width(l), S::default().width(l - 1));
    Mat::from_col_major(&net.as_slice()[o..o + rows * cols], rows, cols)
}

/// `softplus_beta(z) = ln(1 + exp(beta z)) / beta`, written independently
/// of the crate (accurate for the moderate `z` used in the tests).
pub fn softplus(z: f64, beta: f64) -> f64 {
    if beta * z > 30.0 { z + (-beta * z).exp().ln_1p() / beta } else { (beta * z).exp().ln_1p() / beta }
}

/// `sigma'(z) = 1 / (1 + exp(-beta z))`, the logistic slope of the softplus.
pub fn softplus_slope_of_z(z: f64, beta: f64) -> f64 {
    1.0 / (1.0 + (-beta * z).exp())
}

/// `ln sum_k exp(z_k)`, stable.
pub fn log_sum_exp(z: &[f64]) -> f64 {
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    m + z.iter().map(|&v| (v - m).exp()).sum::<f64>().ln()
}
