//! What the store trusts on disk. The root and every shard must be real directories (never
//! symbolic links) owned by the process's effective user, which nobody else may write into;
//! files are opened without following symbolic links, and only regular files are used.
//!
//! Once the root is checked, nobody but its owner (and the superuser) can rename, swap or plant
//! anything directly inside it, so the shard checks by path cannot be raced by another user.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::Path;

use crate::{DirectoryProblem, FsStoreError};

/// Opens with `O_NOFOLLOW` (a symbolic link as last component is an error, never followed) and
/// `O_NONBLOCK` (a planted FIFO cannot hang the thread; no effect on regular files).
fn no_follow(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    {
        use rustix::fs::OFlags;
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags((OFlags::NOFOLLOW | OFlags::NONBLOCK).bits().cast_signed());
    }
    options
}

/// Opens a directory without following a symbolic link.
pub(crate) fn open_dir(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use rustix::fs::OFlags;
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags((OFlags::NOFOLLOW | OFlags::DIRECTORY).bits().cast_signed());
    }
    options.open(path)
}

/// Opens a file of a shard (`entry` names it: a session `file` or the `lock file`) with
/// `options`, refusing symbolic links and anything but a regular file. `None` when there is
/// no such file.
pub(crate) fn open_entry(
    options: &mut OpenOptions,
    path: &Path,
    entry: &'static str,
) -> Result<Option<(File, fs::Metadata)>, FsStoreError> {
    match no_follow(options).open(path) {
        Ok(file) => {
            let metadata = file.metadata().map_err(FsStoreError::io("stat"))?;
            if !metadata.is_file() {
                return Err(FsStoreError::UnsafeFile { entry });
            }
            Ok(Some((file, metadata)))
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => match fs::symlink_metadata(path) {
            Ok(found) if !found.is_file() => Err(FsStoreError::UnsafeFile { entry }),
            _ => Err(FsStoreError::io("open")(error)),
        },
    }
}

/// Creates a directory accessible only by its owner; an existing one is fine (and checked by
/// the caller).
pub(crate) fn create_private_dir(path: &Path, recursive: bool) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(recursive);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    match builder.create(path) {
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    }
}

/// Checks a shard directory before anything in it is read or written: `Ok(false)` when it
/// does not exist; an error when it is a symbolic link, not a directory, someone else's, or
/// accessible by group or others (this crate creates shards `0700`).
pub(crate) fn check_shard(dir: &Path) -> Result<bool, FsStoreError> {
    let metadata = match fs::symlink_metadata(dir) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(error) => return Err(FsStoreError::io("stat shard")(error)),
    };
    match problem(&metadata) {
        None => Ok(true),
        Some(problem) => Err(FsStoreError::UnsafeDirectory {
            path: dir.to_owned(),
            problem,
        }),
    }
}

/// Creates the root if it is missing, then checks it as the docs of `FsSessionStore::new`
/// say: refused when it is a symbolic link, not a directory, someone else's or writable by
/// group or others; group and other read or search bits are removed.
pub(crate) fn prepare_root(root: &Path) -> Result<(), FsStoreError> {
    let dir = match open_dir(root) {
        Ok(dir) => dir,
        // Something is there that cannot be opened as a directory.
        Err(error) if fs::symlink_metadata(root).is_ok() => {
            return Err(root_open_error(root, error));
        }
        Err(_) => {
            create_private_dir(root, true).map_err(|source| FsStoreError::CreateRoot {
                root: root.to_owned(),
                source,
            })?;
            open_dir(root).map_err(|error| root_open_error(root, error))?
        }
    };
    let inspect = |source| FsStoreError::InspectRoot {
        root: root.to_owned(),
        source,
    };
    // Checked through the open directory: what is checked is what was opened.
    match problem(&dir.metadata().map_err(inspect)?) {
        None => Ok(()),
        Some(DirectoryProblem::OpenToOthers { mode }) => tighten(&dir, root, mode).map_err(inspect),
        Some(problem) => Err(FsStoreError::UnsafeDirectory {
            path: root.to_owned(),
            problem,
        }),
    }
}

fn root_open_error(root: &Path, error: io::Error) -> FsStoreError {
    match fs::symlink_metadata(root) {
        Ok(found) if found.file_type().is_symlink() => FsStoreError::UnsafeDirectory {
            path: root.to_owned(),
            problem: DirectoryProblem::SymbolicLink,
        },
        Ok(found) if !found.is_dir() => FsStoreError::NotADirectory {
            root: root.to_owned(),
        },
        _ => FsStoreError::InspectRoot {
            root: root.to_owned(),
            source: error,
        },
    }
}

/// Removes the group and other bits of our own root (they let others list the shards, never
/// write).
fn tighten(dir: &File, root: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        dir.set_permissions(fs::Permissions::from_mode(mode & 0o700))?;
        tracing::warn!(
            root = %root.display(),
            mode = format_args!("{mode:03o}"),
            "the session directory was open to group or others: tightened to owner-only"
        );
    }
    #[cfg(not(unix))]
    let _ = (dir, root, mode);
    Ok(())
}

fn problem(metadata: &fs::Metadata) -> Option<DirectoryProblem> {
    if metadata.file_type().is_symlink() {
        Some(DirectoryProblem::SymbolicLink)
    } else if !metadata.is_dir() {
        Some(DirectoryProblem::NotADirectory)
    } else {
        access_problem(metadata)
    }
}

#[cfg(unix)]
fn access_problem(metadata: &fs::Metadata) -> Option<DirectoryProblem> {
    use std::os::unix::fs::MetadataExt as _;
    let expected = rustix::process::geteuid().as_raw();
    let mode = metadata.mode() & 0o7777;
    if metadata.uid() != expected {
        Some(DirectoryProblem::ForeignOwner {
            owner: metadata.uid(),
            expected,
        })
    } else if mode & 0o022 != 0 {
        Some(DirectoryProblem::WritableByOthers { mode })
    } else if mode & 0o055 != 0 {
        Some(DirectoryProblem::OpenToOthers { mode })
    } else {
        None
    }
}

#[cfg(not(unix))]
fn access_problem(_: &fs::Metadata) -> Option<DirectoryProblem> {
    None
}

/// Whether `path` (not following links) is still the file described by `seen`: `false` when
/// it was removed or another file was renamed over it.
pub(crate) fn is_still(path: &Path, seen: &fs::Metadata) -> io::Result<bool> {
    match fs::symlink_metadata(path) {
        Ok(now) => Ok(same_file(&now, seen)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error),
    }
}

#[cfg(unix)]
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_: &fs::Metadata, _: &fs::Metadata) -> bool {
    true
}
