//! Data: the shipped sets (compiled in, as the command-line tool carries
//! them), NumPy arrays checked into the forms the library reads, and a
//! data set for the meta-trainer.

use metaplasticity::data::{OwnedDataset, Split};
use metaplasticity::idx::{Dataset, IdxError, Images, Labels, Orientation};
use numpy::{PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;

use crate::errors::{invalid, value_error};

/// A data set the trainer can lend as a [`Dataset`] for each episode.
pub enum Data {
    /// A shipped set, or Fashion-MNIST.
    Owned(OwnedDataset),
    /// Arrays from Python: `count` images of `pixels` bytes.
    Raw { images: Vec<u8>, labels: Vec<u8>, pixels: usize, classes: usize },
}

impl Data {
    /// A shipped set by name (`mnist`, `optdigits`) or Fashion-MNIST
    /// (`fashion`, from the Debian package `dataset-fashion-mnist`).
    pub fn named(name: &str) -> PyResult<Self> {
        let owned = match name {
            "mnist" => mnist(),
            "optdigits" => optdigits(),
            "fashion" => OwnedDataset::fashion_mnist(Split::Train),
            other => {
                return Err(invalid(format!(
                    "data {other:?}: expected mnist or optdigits (shipped), fashion (Debian package \
                     dataset-fashion-mnist), or arrays (images, labels)"
                )));
            }
        };
        Ok(Data::Owned(owned.map_err(|e| value_error(&format!("data {name:?}"), &e))?))
    }

    /// Arrays: `images` of `pixels` bytes each, `labels` in `0 .. classes`
    /// (by default the largest label plus one), checked as the library
    /// checks an IDX pair.
    pub fn raw(images: Vec<u8>, labels: Vec<u8>, pixels: usize, classes: Option<usize>) -> PyResult<Self> {
        let classes = match classes {
            Some(c) => c,
            None => labels
                .iter()
                .copied()
                .max()
                .map(|m| usize::from(m) + 1)
                .ok_or_else(|| value_error("data", &IdxError::NoItems))?,
        };
        let data = Data::Raw { images, labels, pixels, classes };
        data.view()?;
        Ok(data)
    }

    /// The data set, borrowed (array data is checked here, cheaply, each
    /// time: the library's `Dataset::new`).
    pub fn dataset(&self) -> Result<Dataset<'_>, IdxError> {
        match self {
            Data::Owned(owned) => Ok(owned.view()),
            Data::Raw { images, labels, pixels, classes } => {
                let count = if *pixels == 0 { 0 } else { images.len() / pixels };
                Images::from_raw(images, count, 1, *pixels).and_then(|i| Dataset::new(i, Labels::new(labels), *classes))
            }
        }
    }

    /// [`Data::dataset`], its error a ValueError.
    pub fn view(&self) -> PyResult<Dataset<'_>> {
        self.dataset().map_err(|e| value_error("data", &e))
    }
}

/// 10,000 MNIST digits of 28x28, 10 classes, compiled in.
pub fn mnist() -> Result<OwnedDataset, metaplasticity::data::LoadError> {
    OwnedDataset::from_bytes(
        include_bytes!("../../data/mnist-10k/images-idx3-ubyte.gz"),
        include_bytes!("../../data/mnist-10k/labels-idx1-ubyte.gz"),
        ("the embedded MNIST images", "the embedded MNIST labels"),
        Orientation::RowMajor,
        Some(10),
    )
}

/// 1,797 handwritten digits of 8x8 (UCI optdigits), 10 classes, compiled in.
pub fn optdigits() -> Result<OwnedDataset, metaplasticity::data::LoadError> {
    OwnedDataset::from_bytes(
        include_bytes!("../../data/optdigits-8x8/images-idx3-ubyte.gz"),
        include_bytes!("../../data/optdigits-8x8/labels-idx1-ubyte.gz"),
        ("the embedded optdigits images", "the embedded optdigits labels"),
        Orientation::RowMajor,
        Some(10),
    )
}

/// Images (`float32`), labels and the images' bytes, as NumPy arrays.
pub type Arrays<'py> = (Bound<'py, PyArray2<f32>>, Bound<'py, PyArray1<i64>>, Bound<'py, PyArray2<u8>>);

/// A data set by name as NumPy arrays: `(images, labels, pixels)` with
/// images `float32` of shape `(N, rows * cols)`, each pixel `byte / 255`
/// computed as the library feeds it to a network (`Dataset::write_image`),
/// labels `int64`, and the raw bytes `uint8` of shape `(N, rows * cols)`.
#[pyfunction]
pub fn load_dataset<'py>(py: Python<'py>, name: &str) -> PyResult<Arrays<'py>> {
    let data = Data::named(name)?;
    let view = data.view()?;
    let (n, p) = (view.len(), view.pixels());
    let (images, labels) = py
        .detach(|| {
            let mut images = vec![0.0f32; n * p];
            for (i, row) in images.chunks_exact_mut(p.max(1)).enumerate() {
                view.write_image(i, row).map_err(|e| crate::errors::message(&e))?;
            }
            let labels: Vec<i64> = view.labels().as_slice().iter().map(|&l| i64::from(l)).collect();
            Ok::<_, String>((images, labels))
        })
        .map_err(invalid)?;
    let bytes = view.images().as_bytes().to_vec();
    Ok((
        numpy::ndarray::Array2::from_shape_vec((n, p), images)
            .map_err(|e| invalid(e.to_string()))
            .map(|a| numpy::IntoPyArray::into_pyarray(a, py))?,
        PyArray1::from_vec(py, labels),
        numpy::ndarray::Array2::from_shape_vec((n, p), bytes)
            .map_err(|e| invalid(e.to_string()))
            .map(|a| numpy::IntoPyArray::into_pyarray(a, py))?,
    ))
}

/// 8-bit pixels from `float32` images that hold exact `k / 255` values
/// (`k = 0 .. 255`, as `images_uint8 / 255` in `float32` gives them, or the
/// images of `metaplasticity.datasets`). The meta-trainer reads 8-bit
/// pixels, as the library's data sets hold them; any other value raises
/// ValueError naming the first one.
#[pyfunction]
pub fn float_to_pixels<'py>(py: Python<'py>, images: PyReadonlyArray2<'py, f32>) -> PyResult<Bound<'py, PyArray2<u8>>> {
    let view = images.as_array();
    let (n, p) = view.dim();
    let mut out = Vec::with_capacity(n * p);
    for ((i, j), &x) in view.indexed_iter() {
        let k = (x * 255.0).round();
        let exact = (0.0..=255.0).contains(&k) && f32::from(k as u8) / 255.0 == x;
        if !exact {
            return Err(invalid(format!(
                "images[{i}, {j}] = {x:?} is not a pixel value k/255 (k = 0 to 255) in float32: the meta-trainer reads \
                 8-bit pixels; pass uint8 pixels, or float32 images that are exactly uint8 / 255 (as \
                 metaplasticity.datasets returns them)"
            )));
        }
        out.push(k as u8);
    }
    numpy::ndarray::Array2::from_shape_vec((n, p), out)
        .map_err(|e| invalid(e.to_string()))
        .map(|a| numpy::IntoPyArray::into_pyarray(a, py))
}

/// Labels as bytes, each checked to be a class `0 .. 255`.
pub fn label_bytes(labels: &PyReadonlyArray1<'_, i64>) -> PyResult<Vec<u8>> {
    labels
        .as_array()
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            u8::try_from(l).map_err(|_| {
                invalid(format!(
                    "labels[{i}] = {l}: a label must be a class from 0 to {}",
                    metaplasticity::idx::MAX_CLASSES - 1
                ))
            })
        })
        .collect()
}
