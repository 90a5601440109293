//! Small file helpers for `.keys`: private directories (0700) and files (0600), written
//! atomically, and reads that treat a missing file as `None`.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::KeysError;

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> KeysError {
    let path = path.to_path_buf();
    move |source| KeysError::Io { what, path, source }
}

/// Creates `dir` (and parents) and makes it 0700.
pub(super) fn private_dir(dir: &Path) -> Result<(), KeysError> {
    std::fs::create_dir_all(dir).map_err(io("create", dir))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(io("set the mode of", dir))
}

/// Writes `text` to `path` with mode `mode`, through a temporary file and a rename.
fn write_mode(path: &Path, text: &str, mode: u32) -> Result<(), KeysError> {
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io("create", &tmp))?;
    f.write_all(text.as_bytes()).map_err(io("write", &tmp))?;
    f.sync_all().map_err(io("write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io("write", path))
}

pub(super) fn write_private(path: &Path, text: &str) -> Result<(), KeysError> {
    write_mode(path, text, 0o600)
}

pub(super) fn write(path: &Path, text: &str) -> Result<(), KeysError> {
    write_mode(path, text, 0o644)
}

pub(super) fn append(path: &Path, text: &str) -> Result<(), KeysError> {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map_err(io("open", path))?;
    f.write_all(text.as_bytes()).map_err(io("write", path))
}

pub(super) fn read_text(path: &Path) -> Result<Option<String>, KeysError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("read", path)(e)),
    }
}

fn entries(dir: &Path, want_dir: bool) -> Result<Vec<String>, KeysError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io("read", dir)(e)),
    };
    let mut out = Vec::new();
    for e in rd {
        let e = e.map_err(io("read", dir))?;
        let is_dir = e.file_type().map_err(io("read", dir))?.is_dir();
        let name = e.file_name().to_string_lossy().into_owned();
        if is_dir == want_dir && !name.starts_with('.') && !name.ends_with(".tmp") {
            out.push(name);
        }
    }
    Ok(out)
}

/// The subdirectories of `dir` (none when it does not exist).
pub(super) fn subdirs(dir: &Path) -> Result<Vec<String>, KeysError> {
    entries(dir, true)
}

/// The plain files of `dir`.
pub(super) fn files(dir: &Path) -> Result<Vec<String>, KeysError> {
    entries(dir, false)
}
