//! Writing the home's files: the scaffold of `~/.bitrouter` (SPEC §1), the `.gitignore`, and
//! the `.env` file (mode 0600, merged line by line, never truncated).

use std::io;
use std::path::{Path, PathBuf};

use super::template;

/// A file of the home that could not be read, created or written.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} `{}`", path.display())]
pub struct FileError {
    action: &'static str,
    path: PathBuf,
    #[source]
    source: io::Error,
}

impl FileError {
    pub(crate) fn new(action: &'static str, path: &Path, source: io::Error) -> FileError {
        FileError {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// What the scaffolded `.gitignore` ignores.
pub const GITIGNORE: &str = "\
# Written by bitrouter: secrets and runtime state stay out of version control.
.env
.keys/
logs/
run/
bitrouter.db
bitrouter.db-*
";

/// The scaffolded `.env`.
pub const ENV_STARTER: &str = "\
# Provider API keys for BitRouter, one VAR=value per line (this file is mode 0600).
# bitrouter.yaml refers to them as ${VAR}; variables already set in the environment win.
#
# OPENAI_API_KEY=sk-...
# ANTHROPIC_API_KEY=sk-ant-...
";

/// Create what is missing of the default home: `bitrouter.yaml` (the commented starter), `.env`,
/// `.gitignore`, `logs/`, `run/`. Existing files are never touched.
pub fn scaffold(home: &Path) -> Result<(), FileError> {
    for dir in [home.to_path_buf(), home.join("logs"), home.join("run")] {
        std::fs::create_dir_all(&dir).map_err(|e| FileError::new("create", &dir, e))?;
    }
    create_new(
        &home.join("bitrouter.yaml"),
        &template::config(&[], &[]),
        false,
    )?;
    create_new(&home.join(".env"), ENV_STARTER, true)?;
    create_new(&home.join(".gitignore"), GITIGNORE, false)?;
    Ok(())
}

/// Make sure the secrets beside a config written outside the default home — `.env` and the
/// accounts in `.keys/` — are ignored: create the `.gitignore` if missing, add the lines an
/// existing one lacks.
pub fn ensure_env_ignored(dir: &Path) -> Result<(), FileError> {
    let path = dir.join(".gitignore");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let has = |names: &[&str]| text.lines().any(|l| names.contains(&l.trim()));
            let mut add = String::new();
            if !has(&[".env", "/.env"]) {
                add.push_str(".env\n");
            }
            if !has(&[".keys/", "/.keys/", ".keys", "/.keys"]) {
                add.push_str(".keys/\n");
            }
            if add.is_empty() {
                return Ok(());
            }
            let sep = if text.is_empty() || text.ends_with('\n') {
                ""
            } else {
                "\n"
            };
            std::fs::write(&path, format!("{text}{sep}{add}"))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::write(&path, GITIGNORE),
        Err(e) => Err(e),
    }
    .map_err(|e| FileError::new("update", &path, e))
}

/// Write a file only when none exists (`create_new`, so a race never clobbers one).
fn create_new(path: &Path, text: &str, private: bool) -> Result<(), FileError> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    if private {
        private_mode(&mut o);
    }
    match o.open(path) {
        Ok(mut f) => std::io::Write::write_all(&mut f, text.as_bytes())
            .map_err(|e| FileError::new("write", path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(FileError::new("create", path, e)),
    }
}

#[cfg(unix)]
fn private_mode(o: &mut std::fs::OpenOptions) {
    use std::os::unix::fs::OpenOptionsExt;
    o.mode(0o600);
}

#[cfg(not(unix))]
fn private_mode(_: &mut std::fs::OpenOptions) {}

/// Set `name=value` pairs in the `.env` file at `path`: a line that sets the name is replaced in
/// place, new names are appended, every other line (comments included) is kept. The file is
/// replaced atomically and left mode 0600.
pub fn merge_env(path: &Path, pairs: &[(String, String)]) -> Result<(), FileError> {
    let old = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => ENV_STARTER.to_owned(),
        Err(e) => return Err(FileError::new("read", path, e)),
    };
    let text = merged(&old, pairs);
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".env.tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    private_mode(&mut o);
    let written = o.open(&tmp).and_then(|mut f| {
        std::io::Write::write_all(&mut f, text.as_bytes())?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(FileError::new("write", path, e));
    }
    Ok(())
}

fn merged(old: &str, pairs: &[(String, String)]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut done = vec![false; pairs.len()];
    for line in old.lines() {
        let name = line
            .trim_start()
            .trim_start_matches("export ")
            .split('=')
            .next()
            .map(str::trim);
        match pairs.iter().position(|(k, _)| Some(k.as_str()) == name) {
            Some(i) if line.contains('=') && !line.trim_start().starts_with('#') => {
                if !done[i] {
                    out.push(line_for(&pairs[i].0, &pairs[i].1));
                    done[i] = true;
                }
            }
            _ => out.push(line.to_owned()),
        }
    }
    for (i, (k, v)) in pairs.iter().enumerate() {
        if !done[i] {
            out.push(line_for(k, v));
        }
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// One `.env` line, quoted so dotenv reads back exactly `value`.
fn line_for(name: &str, value: &str) -> String {
    let bare = |c: char| c.is_ascii_alphanumeric() || "-_./+=:@,%".contains(c);
    if value.chars().all(bare) {
        format!("{name}={value}")
    } else if !value.contains('\'') && !value.contains('\n') {
        format!("{name}='{value}'")
    } else {
        let escaped = value
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('$', "\\$")
            .replace('\n', "\\n");
        format!("{name}=\"{escaped}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<(String, String)> {
        dotenvy::from_read_iter(text.as_bytes())
            .map(|r| r.unwrap())
            .collect()
    }

    #[test]
    fn merge_replaces_in_place_appends_and_keeps_comments() {
        let old = "# keys\nA=1\nexport B=2\n# C=commented\n";
        let new = merged(old, &[("B".into(), "new".into()), ("C".into(), "3".into())]);
        assert_eq!(new, "# keys\nA=1\nB=new\n# C=commented\nC=3\n");
    }

    #[test]
    fn values_read_back_exactly() {
        for v in [
            "sk-abc_123",
            "has space",
            "q'uote $HOME \"x\" \\",
            "#hash",
            "",
        ] {
            let text = merged("", &[("K".into(), v.into())]);
            assert_eq!(parse(&text), vec![("K".to_owned(), v.to_owned())], "{text}");
        }
    }
}
