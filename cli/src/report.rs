//! Writing results: CSV tables of episode records, and
//! atomic file replacement so that an interrupted run never leaves a
//! half-written file in place of a good one.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::string::String;

use metaplasticity::meta::Record;

/// Replaces `path` with `contents` atomically: writes a temporary file
/// `.<name>.<pid>.tmp` in the same folder, flushes it to disk, then renames
/// it over `path`. On error the old file (if any) is untouched, the
/// temporary file removed, and the error names the file. A process killed
/// in between leaves the temporary file: [`remove_stale_temporaries`]
/// clears it.
///
/// A symbolic link is followed: the file it names is replaced and the link
/// kept. A path that is neither a regular file nor a folder (a device such
/// as `/dev/null` or `/dev/stdout`, a named pipe) is written in place, as
/// the shell's `>` would, never replaced.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let named = |e: io::Error| io::Error::new(e.kind(), std::format!("cannot write {}: {e}", path.display()));
    let target = match destination(path).map_err(named)? {
        Destination::File(target) => target,
        Destination::Special(target) => {
            return fs::OpenOptions::new()
                .write(true)
                .open(target)
                .and_then(|mut f| f.write_all(contents))
                .map_err(named);
        }
    };
    let tmp = temporary(&target)?;
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        fs::rename(&tmp, &target)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        named(e)
    })
}

/// Where [`write_atomic`] writes for `path`.
enum Destination {
    /// A regular file, a folder (which the rename refuses) or nothing yet,
    /// the link followed: replaced whole.
    File(PathBuf),
    /// A device or a named pipe: written in place.
    Special(PathBuf),
}

/// `path`, or the file its symbolic link names, and how to write it.
fn destination(path: &Path) -> io::Result<Destination> {
    // Through the path itself, which the system resolves (`/dev/stdout` is
    // a link to `/proc/self/fd/1`, which may name a pipe, not a file).
    if fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        return Ok(Destination::Special(path.to_path_buf()));
    }
    // Links followed by hand: the file they name need not exist yet.
    let mut target = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        if !fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_symlink()) {
            return Ok(Destination::File(target));
        }
        let next = fs::read_link(&target)?;
        target = match target.parent() {
            Some(dir) if next.is_relative() => dir.join(next),
            _ => next,
        };
    }
    Err(io::Error::other(std::format!("more than {MAX_LINKS} symbolic links in a row")))
}

/// Symbolic links [`write_atomic`] follows in a row (as Linux's `ELOOP`).
const MAX_LINKS: usize = 40;

/// Whether [`write_atomic`] on `path` would replace a regular file that
/// exists (through a symbolic link, too), as opposed to creating one or
/// writing to a device or a named pipe.
pub fn replaces_a_file(path: &Path) -> bool {
    matches!(destination(path), Ok(Destination::File(target)) if target.is_file())
}

/// The temporary file of [`write_atomic`] for `path`: `.<name>.<pid>.tmp`.
fn temporary(path: &Path) -> io::Result<PathBuf> {
    let name = path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(std::format!(".{}.tmp", std::process::id()));
    Ok(path.with_file_name(tmp_name))
}

/// Checks, before any work, that [`write_atomic`] will be able to write
/// `path`: creates its folder if needed, refuses a path that is a folder,
/// and creates and removes the temporary file in that folder (a device or
/// a named pipe is taken as it is). The file itself, if it exists, is not
/// touched.
pub fn check_writable(path: &Path) -> io::Result<()> {
    let named = |e: io::Error| io::Error::new(e.kind(), std::format!("cannot write {}: {e}", path.display()));
    if path.is_dir() {
        return Err(named(io::Error::new(io::ErrorKind::IsADirectory, "it is a folder")));
    }
    let target = match destination(path).map_err(named)? {
        Destination::File(target) => target,
        // Opening a named pipe would wait for its reader: written at the end.
        Destination::Special(_) => return Ok(()),
    };
    let tmp = temporary(&target).map_err(named)?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(named)?;
    }
    fs::File::create(&tmp).map_err(named)?;
    fs::remove_file(&tmp).map_err(named)
}

/// Removes from `dir` the temporary files that [`write_atomic`] of another
/// process left for `files` (`.<name>.<pid>.tmp` with a pid other than
/// this process's: a run killed while writing), and returns their paths.
/// Nothing else is touched; a missing folder is not an error.
pub fn remove_stale_temporaries(dir: &Path, files: &[&Path]) -> io::Result<std::vec::Vec<std::path::PathBuf>> {
    let names: std::vec::Vec<String> =
        files.iter().filter_map(|f| f.file_name()).map(|n| std::format!(".{}.", n.to_string_lossy())).collect();
    let own = std::format!(".{}.tmp", std::process::id());
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(std::vec::Vec::new()),
        Err(e) => return Err(io::Error::new(e.kind(), std::format!("cannot list {}: {e}", dir.display()))),
    };
    let mut removed = std::vec::Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let stale = names.iter().any(|prefix| {
            name.strip_prefix(prefix.as_str())
                .and_then(|rest| rest.strip_suffix(".tmp"))
                .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
        });
        if stale && !name.ends_with(&own) {
            let path = entry.path();
            fs::remove_file(&path)
                .map_err(|e| io::Error::new(e.kind(), std::format!("cannot remove {}: {e}", path.display())))?;
            removed.push(path);
        }
    }
    removed.sort();
    Ok(removed)
}

/// The header of the rows [`csv_row`] writes: `episode, ok, meta_loss, query_loss,
/// accuracy, train_loss, retries` (back-off retries, see
/// [`metaplasticity::meta::BackOff`]), then `theta_<name>` and `grad_<name>` per term and
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
