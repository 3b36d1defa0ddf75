//! Result files are replaced atomically: a failed write leaves the previous
//! file as it was, leaves no temporary file behind, and names the file.

use std::fs;
use std::path::PathBuf;

use metaplasticity_cli::report::write_atomic;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("metaplasticity-report-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn leftovers(dir: &std::path::Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

#[test]
fn replaces_the_file_whole() {
    let dir = scratch("replace");
    let path = dir.join("episodes.csv");
    write_atomic(&path, b"first").unwrap();
    write_atomic(&path, b"second, longer").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"second, longer");
    assert!(leftovers(&dir).is_empty());
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_directory_in_the_way_is_an_error_and_is_left_alone() {
    let dir = scratch("dir");
    let path = dir.join("summary.json");
    fs::create_dir(&path).unwrap();
    fs::write(path.join("keep"), b"user data").unwrap();
    let err = write_atomic(&path, b"{}").unwrap_err();
    assert!(err.to_string().contains("summary.json"), "{err}");
    assert_eq!(fs::read(path.join("keep")).unwrap(), b"user data");
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_missing_folder_is_an_error_naming_the_file() {
    let dir = scratch("missing");
    let path = dir.join("no-such-folder").join("rule.mprl");
    let err = write_atomic(&path, b"x").unwrap_err();
    assert!(err.to_string().contains("rule.mprl"), "{err}");
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_path_without_a_file_name_is_refused() {
    assert!(write_atomic(std::path::Path::new("/"), b"x").is_err());
}

/// A full disk and a read-only folder, on a small tmpfs of our own. Mounting
/// needs privileges (root on Linux); elsewhere the test says so and passes
/// without checking.
#[test]
fn a_full_or_read_only_disk_leaves_the_previous_file() {
    use std::process::Command;
    let dir = scratch("disk");
    let mount = |opts: &str| {
        Command::new("mount").args(["-t", "tmpfs", "-o", opts, "tmpfs"]).arg(&dir).status().is_ok_and(|s| s.success())
    };
    if !mount("size=32k") {
        eprintln!("note: cannot mount a tmpfs here (not root?); full and read-only disks not tested");
        return;
    }
    let path = dir.join("episodes.csv");
    let result = std::panic::catch_unwind(|| {
        write_atomic(&path, b"the previous results").unwrap();
        // Full: 64 KB do not fit in 32 KB.
        let err = write_atomic(&path, &vec![b'x'; 64 * 1024]).unwrap_err();
        assert!(err.to_string().contains("episodes.csv"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"the previous results");
        assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
        // Read-only.
        let ro = Command::new("mount").args(["-o", "remount,ro"]).arg(&dir).status().is_ok_and(|s| s.success());
        assert!(ro, "remount read-only");
        assert!(write_atomic(&path, b"new").is_err());
        assert_eq!(fs::read(&path).unwrap(), b"the previous results");
    });
    let _ = Command::new("umount").arg(&dir).status();
    let _ = fs::remove_dir_all(&dir);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

/// A symbolic link at the path is followed: the file it names gets the
/// contents, and the link stays a link (it was replaced by a plain file).
#[cfg(unix)]
#[test]
fn a_symbolic_link_is_followed_and_kept() {
    let dir = scratch("link");
    let (real, link) = (dir.join("real.csv"), dir.join("link.csv"));
    fs::write(&real, b"old").unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    assert!(metaplasticity_cli::report::replaces_a_file(&link));
    write_atomic(&link, b"new").unwrap();
    assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link is kept");
    assert_eq!(fs::read(&real).unwrap(), b"new");
    assert!(leftovers(&dir).is_empty());
    fs::remove_dir_all(dir).unwrap();
}

/// A link to a file that does not exist yet (relative to the link's folder)
/// creates that file; `/dev/stdout` through a pipe is the same case for
/// the system (a link to `/proc/self/fd/1`).
#[cfg(unix)]
#[test]
fn a_link_to_a_file_not_made_yet_creates_it() {
    let dir = scratch("dangling");
    fs::create_dir(dir.join("results")).unwrap();
    let link = dir.join("link.csv");
    std::os::unix::fs::symlink("results/out.csv", &link).unwrap();
    assert!(!metaplasticity_cli::report::replaces_a_file(&link));
    write_atomic(&link, b"made").unwrap();
    assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(fs::read(dir.join("results/out.csv")).unwrap(), b"made");
    fs::remove_dir_all(dir).unwrap();
}

/// A device is written in place, never renamed over (as root, the rename
/// succeeded and `/dev/null` became a regular file).
#[cfg(unix)]
#[test]
fn a_device_is_written_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let null = std::path::Path::new("/dev/null");
    assert!(!metaplasticity_cli::report::replaces_a_file(null));
    metaplasticity_cli::report::check_writable(null).unwrap();
    write_atomic(null, b"discarded").unwrap();
    assert!(fs::metadata(null).unwrap().file_type().is_char_device(), "/dev/null is still a device");
}

/// A named pipe is checked without opening it (which would wait for a
/// reader) and written in place once a reader is there.
#[cfg(unix)]
#[test]
fn a_named_pipe_is_written_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let dir = scratch("fifo");
    let fifo = dir.join("results.csv");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    metaplasticity_cli::report::check_writable(&fifo).unwrap();
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read(fifo).unwrap())
    };
    write_atomic(&fifo, b"through the pipe").unwrap();
    assert_eq!(reader.join().unwrap(), b"through the pipe");
    assert!(fs::metadata(&fifo).unwrap().file_type().is_fifo(), "still a pipe");
    fs::remove_dir_all(dir).unwrap();
}
