//! Development key files: what the examples use when a key variable is not set, so that
//! sessions survive a restart and processes started in the same directory share them, without
//! anyone having to make a key first (like Rails' local secret in `tmp/`).
//!
//! One file per kind of key under [`DEFAULT_DEV_KEY_DIR`] (or [`DEV_KEY_DIR_VAR`]), holding
//! the key as hex, like the variables. The first start creates it with mode `0600`; later
//! starts read it, and refuse it when group or others may read or write it, or when it does not
//! hold a valid key. The file is published complete or not at all: the key is written to a
//! private temporary file, which is then hard-linked to the final name, and linking fails when
//! that name exists. Of two processes starting at once, the one that loses the race reads the
//! winner's file, so both use the same key.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use session_core::KeyError;
use zeroize::Zeroizing;

/// The variable naming the directory of the development key files.
pub const DEV_KEY_DIR_VAR: &str = "DEV_KEY_DIR";
/// The directory of the development key files when [`DEV_KEY_DIR_VAR`] is not set (relative
/// to the working directory, like `build/.sessions`).
pub const DEFAULT_DEV_KEY_DIR: &str = "build";
/// The development key file standing in for an unset `SESSION_ENCRYPTION_KEY`.
pub const ENCRYPTION_KEY_FILE: &str = "dev-session-encryption.key";
/// The development key file standing in for an unset `SESSION_SIGNING_KEY`.
pub const SIGNING_KEY_FILE: &str = "dev-session-signing.key";

/// More than any key's hex (64 bytes are 128 digits) with a line ending; the rest of a larger
/// file is not read.
const MAX_LEN: u64 = 1024;

/// Why a development key file cannot be used. Never contains key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileProblem {
    /// Group or others may read or write it.
    #[error(
        "is open to group or others (mode {mode:04o}, must be 0600): `chmod 600` it, or delete \
         it to make a new key"
    )]
    Permissions {
        /// Its permission bits.
        mode: u32,
    },
    /// It is a directory or another kind of file.
    #[error("is not a regular file")]
    NotAFile,
    /// It does not hold a valid key as hex.
    #[error("does not hold a valid key: {0} (delete it to make a new key)")]
    Contents(#[source] KeyError),
    /// It, or its directory, could not be read or created.
    #[error("could not be read or created: {0}")]
    Io(#[source] io::Error),
}

/// Whether a development key was made by this start or an earlier one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// This process created the file.
    Created,
    /// The file was there (made by an earlier start, or a process starting at the same time).
    Found,
}

/// The development key file `file` in [`DEV_KEY_DIR_VAR`] or [`DEFAULT_DEV_KEY_DIR`].
pub(crate) fn path(file: &str) -> PathBuf {
    let dir = std::env::var_os(DEV_KEY_DIR_VAR).unwrap_or_else(|| DEFAULT_DEV_KEY_DIR.into());
    Path::new(&dir).join(file)
}

/// How to read, make and write one kind of key.
pub(crate) struct KeyKind<K> {
    pub(crate) from_hex: fn(&str) -> Result<K, KeyError>,
    pub(crate) generate: fn() -> K,
    pub(crate) to_hex: fn(&K) -> Zeroizing<String>,
}

/// The key in the file at `path`, created (with a fresh random key) when there is none.
pub(crate) fn load_or_create<K>(
    path: &Path,
    kind: &KeyKind<K>,
) -> Result<(K, Origin), KeyFileProblem> {
    if let Some(key) = load(path, kind)? {
        return Ok((key, Origin::Found));
    }
    let key = (kind.generate)();
    if publish(path, &(kind.to_hex)(&key))? {
        return Ok((key, Origin::Created));
    }
    // Another process created it since we looked: use its key.
    match load(path, kind)? {
        Some(key) => Ok((key, Origin::Found)),
        None => Err(KeyFileProblem::Io(io::ErrorKind::NotFound.into())),
    }
}

/// The key in the file at `path`, or `None` when there is no such file.
fn load<K>(path: &Path, kind: &KeyKind<K>) -> Result<Option<K>, KeyFileProblem> {
    // Looked at before opening, so that a FIFO cannot make the start hang.
    match fs::metadata(path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(KeyFileProblem::Io(error)),
        Ok(metadata) if !metadata.is_file() => return Err(KeyFileProblem::NotAFile),
        Ok(_) => {}
    }
    let file = match File::open(path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        other => other.map_err(KeyFileProblem::Io)?,
    };
    // Checked on the open file, so it is the file that is read.
    let metadata = file.metadata().map_err(KeyFileProblem::Io)?;
    if !metadata.is_file() {
        return Err(KeyFileProblem::NotAFile);
    }
    check_permissions(&metadata)?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_LEN)
        .read_to_end(&mut bytes)
        .map_err(KeyFileProblem::Io)?;
    // Text that is not UTF-8 becomes text that is not hex, refused by `from_hex`.
    let text = Zeroizing::new(String::from_utf8_lossy(&bytes).into_owned());
    (kind.from_hex)(&text)
        .map(Some)
        .map_err(KeyFileProblem::Contents)
}

#[cfg(unix)]
fn check_permissions(metadata: &fs::Metadata) -> Result<(), KeyFileProblem> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & 0o077 == 0 {
        Ok(())
    } else {
        Err(KeyFileProblem::Permissions { mode })
    }
}

#[cfg(not(unix))]
fn check_permissions(_: &fs::Metadata) -> Result<(), KeyFileProblem> {
    Ok(())
}

/// Writes `hex` to `path` unless a file is there: `Ok(false)` when one is. Readers never see
/// a partial file: the key goes to a private temporary file first, which is then linked to
/// `path` (linking never replaces an existing file).
fn publish(path: &Path, hex: &str) -> Result<bool, KeyFileProblem> {
    let dir = path.parent().unwrap_or(Path::new("."));
    if !dir.as_os_str().is_empty() {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(KeyFileProblem::Io)?;
    }
    let temporary = temporary_path(path);
    let written = write_new(&temporary, hex).and_then(|()| fs::hard_link(&temporary, path));
    // The temporary name is ours alone; whatever happened, it goes.
    let _ = fs::remove_file(&temporary);
    match written {
        Ok(()) => {
            sync_dir(path);
            Ok(true)
        }
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(error) => Err(KeyFileProblem::Io(error)),
    }
}

/// A name next to `path` that no other process or thread uses.
fn temporary_path(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(
        ".{}.{}.{nanos}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    path.with_file_name(name)
}

/// Creates `path` (never opening an existing file) readable and writable by its owner only,
/// and writes `hex` and a line ending to disk.
fn write_new(path: &Path, hex: &str) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    let mut text = Zeroizing::new(String::with_capacity(hex.len() + 1));
    text.push_str(hex);
    text.push('\n');
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// Makes the new name durable (best effort: the key is only for development).
fn sync_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;
    use std::sync::{Arc, Barrier};

    use session_core::{EncryptionKey, SigningKey};

    use super::*;

    const SIGNING: KeyKind<SigningKey> = KeyKind {
        from_hex: SigningKey::from_hex,
        generate: SigningKey::generate,
        to_hex: SigningKey::to_hex,
    };
    const ENCRYPTION: KeyKind<EncryptionKey> = KeyKind {
        from_hex: EncryptionKey::from_hex,
        generate: EncryptionKey::generate,
        to_hex: EncryptionKey::to_hex,
    };

    /// A fresh directory under the system's temporary directory, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            let dir = temporary_path(&std::env::temp_dir().join("example-support-dev-key"));
            fs::create_dir(&dir).unwrap();
            Self(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    fn write_with_mode(path: &Path, text: &str, mode: u32) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn the_first_call_creates_a_private_file_with_the_key_as_hex_and_later_calls_reuse_it() {
        let dir = TempDir::new();
        let path = dir.0.join("build").join(SIGNING_KEY_FILE);

        let (created, origin) = load_or_create(&path, &SIGNING).unwrap();
        assert_eq!(origin, Origin::Created);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("{}\n", created.to_hex().as_str()));
        assert_eq!(text.trim().len(), 64, "32 random bytes as hex");

        let (found, origin) = load_or_create(&path, &SIGNING).unwrap();
        assert_eq!(origin, Origin::Found);
        assert_eq!(found, created);
        assert_eq!(fs::read_to_string(&path).unwrap(), text, "left unchanged");

        // Only the key file is left: no temporary file.
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, [SIGNING_KEY_FILE]);
    }

    #[test]
    fn each_kind_of_key_has_its_own_file() {
        let dir = TempDir::new();
        let (signing, _) = load_or_create(&dir.0.join(SIGNING_KEY_FILE), &SIGNING).unwrap();
        let (encryption, origin) =
            load_or_create(&dir.0.join(ENCRYPTION_KEY_FILE), &ENCRYPTION).unwrap();
        assert_eq!(origin, Origin::Created);
        assert_ne!(signing.to_hex(), encryption.to_hex());
    }

    #[test]
    fn a_key_written_by_hand_is_used_as_it_is() {
        let dir = TempDir::new();
        let path = dir.0.join(ENCRYPTION_KEY_FILE);
        let key = EncryptionKey::generate();
        write_with_mode(&path, &key.to_hex().to_uppercase(), 0o400);
        let (found, origin) = load_or_create(&path, &ENCRYPTION).unwrap();
        assert_eq!(origin, Origin::Found);
        assert_eq!(found, key);
    }

    #[test]
    fn starts_at_the_same_time_end_up_with_one_key() {
        let dir = TempDir::new();
        let path = Arc::new(dir.0.join("build").join(SIGNING_KEY_FILE));
        let starts = 8;
        let barrier = Arc::new(Barrier::new(starts));
        let results: Vec<_> = (0..starts)
            .map(|_| {
                let (path, barrier) = (Arc::clone(&path), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    load_or_create(&path, &SIGNING).unwrap()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|thread| thread.join().unwrap())
            .collect();
        let created = results
            .iter()
            .filter(|(_, origin)| *origin == Origin::Created)
            .count();
        assert_eq!(created, 1, "exactly one start creates the file");
        let on_disk = SigningKey::from_hex(&fs::read_to_string(&*path).unwrap()).unwrap();
        assert!(results.iter().all(|(key, _)| *key == on_disk));
    }

    #[test]
    fn a_file_open_to_group_or_others_is_refused_and_left_alone() {
        let dir = TempDir::new();
        let path = dir.0.join(SIGNING_KEY_FILE);
        let hex = SigningKey::generate().to_hex();
        for loose in [0o644, 0o640, 0o604, 0o660, 0o606] {
            write_with_mode(&path, &hex, loose);
            let error = load_or_create(&path, &SIGNING).unwrap_err();
            assert!(
                matches!(error, KeyFileProblem::Permissions { mode } if mode == loose),
                "{error:?}"
            );
            let text = error.to_string();
            assert!(text.contains(&format!("mode {loose:04o}")), "{text}");
            assert!(!text.contains(&hex[..16]), "the key leaked: {text}");
            assert_eq!(fs::read_to_string(&path).unwrap(), *hex, "not replaced");
        }
    }

    #[test]
    fn a_file_without_a_valid_key_is_refused_without_printing_it() {
        let dir = TempDir::new();
        let path = dir.0.join(ENCRYPTION_KEY_FILE);
        let long = format!("{}ee", EncryptionKey::generate().to_hex().as_str());
        for (contents, expected) in [
            ("secret garbage\n", "not valid hexadecimal"),
            ("", "got 0"),
            (long.as_str(), "got 33"),
            ("\u{ff}\u{fe}", "not valid hexadecimal"),
        ] {
            write_with_mode(&path, contents, 0o600);
            let error = load_or_create(&path, &ENCRYPTION).unwrap_err();
            assert!(matches!(error, KeyFileProblem::Contents(_)), "{error:?}");
            let text = error.to_string();
            assert!(text.contains(expected), "{text}");
            assert!(!text.contains("secret"), "the contents leaked: {text}");
            assert!(!text.contains(&long[..16]), "the contents leaked: {text}");
            assert_eq!(fs::read_to_string(&path).unwrap(), contents, "not replaced");
        }
        fs::write(&path, [0xff, 0xfe, b'a']).unwrap();
        let error = load_or_create(&path, &ENCRYPTION).unwrap_err();
        assert!(matches!(error, KeyFileProblem::Contents(_)), "{error:?}");
    }

    #[test]
    fn a_directory_in_place_of_the_file_is_refused() {
        let dir = TempDir::new();
        let path = dir.0.join(SIGNING_KEY_FILE);
        fs::create_dir(&path).unwrap();
        let error = load_or_create(&path, &SIGNING).unwrap_err();
        assert!(matches!(error, KeyFileProblem::NotAFile), "{error:?}");
    }
}
