//! Writing results (feature `std`): CSV tables of episode records, and
//! atomic file replacement so that an interrupted run never leaves a
//! half-written file in place of a good one.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::string::String;

use crate::meta::Record;

/// Replaces `path` with `contents` atomically: writes a temporary file in
/// the same folder, flushes it to disk, then renames it over `path`. On
/// error the old file (if any) is untouched, the temporary file removed, and
/// the error names the file.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let name = path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(std::format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        io::Error::new(e.kind(), std::format!("cannot write {}: {e}", path.display()))
    })
}

/// The header of the rows [`csv_row`] writes: `episode, ok, meta_loss, query_loss,
/// accuracy, train_loss, retries` (back-off retries, see
/// [`crate::meta::BackOff`]), then `theta_<name>` and `grad_<name>` per term and
/// `angle_<l>` for `l = 1 .. hidden`.
pub fn csv_header(terms: &[&str], hidden: usize) -> String {
    let mut h = String::from("episode,ok,meta_loss,query_loss,accuracy,train_loss,retries");
    for t in terms {
        let _ = write!(h, ",theta_{t}");
    }
    for t in terms {
        let _ = write!(h, ",grad_{t}");
    }
    for l in 1..=hidden {
        let _ = write!(h, ",angle_{l}");
    }
    h.push('\n');
    h
}

/// One CSV row per record, full precision (`{:e}` round-trips `f64`);
/// missing values (a skipped episode) are empty fields.
pub fn csv_row(r: &Record, terms: usize, hidden: usize) -> String {
    let mut s = std::format!("{},{}", r.episode, r.ok);
    for v in [r.meta_loss, r.query_loss, r.accuracy, r.train_loss] {
        push(&mut s, Some(v));
    }
    let _ = write!(s, ",{}", r.retries);
    for k in 0..terms {
        push(&mut s, r.theta.get(k).copied());
    }
    for k in 0..terms {
        push(&mut s, r.gradient.get(k).copied());
    }
    for l in 0..hidden {
        push(&mut s, r.angles.get(l).copied());
    }
    s.push('\n');
    s
}

fn push(s: &mut String, v: Option<f64>) {
    match v {
        Some(v) if v.is_finite() => {
            let _ = write!(s, ",{v:e}");
        }
        _ => s.push(','),
    }
}
