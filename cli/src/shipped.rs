//! The data sets shipped with the crate (`data/` of the repository):
//! compiled into the tool with the default feature `embedded-data`, so an
//! installed `metaplasticity` needs no source tree; without it, read from
//! the source tree the tool was built from.

use metaplasticity::data::{LoadError, OwnedDataset};

/// 10,000 MNIST digits of 28x28, 10 classes.
pub fn mnist() -> Result<OwnedDataset, LoadError> {
    #[cfg(feature = "embedded-data")]
    {
        embedded(
            include_bytes!("../../data/mnist-10k/images-idx3-ubyte.gz"),
            include_bytes!("../../data/mnist-10k/labels-idx1-ubyte.gz"),
            ("the embedded MNIST images", "the embedded MNIST labels"),
        )
    }
    #[cfg(not(feature = "embedded-data"))]
    {
        OwnedDataset::mnist_shipped()
    }
}

/// 1,797 handwritten digits of 8x8 (UCI optdigits), 10 classes.
pub fn optdigits() -> Result<OwnedDataset, LoadError> {
    #[cfg(feature = "embedded-data")]
    {
        embedded(
            include_bytes!("../../data/optdigits-8x8/images-idx3-ubyte.gz"),
            include_bytes!("../../data/optdigits-8x8/labels-idx1-ubyte.gz"),
            ("the embedded optdigits images", "the embedded optdigits labels"),
        )
    }
    #[cfg(not(feature = "embedded-data"))]
    {
        OwnedDataset::optdigits_shipped()
    }
}

#[cfg(feature = "embedded-data")]
fn embedded(images: &[u8], labels: &[u8], names: (&str, &str)) -> Result<OwnedDataset, LoadError> {
    OwnedDataset::from_bytes(images, labels, names, metaplasticity::idx::Orientation::RowMajor, Some(10))
}
