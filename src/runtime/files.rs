//! Small durable-file helpers for metadata written off the shard threads
//! (through `spawn_blocking`) or at start-up: atomic replace and the data
//! directory's layout record.

use std::fs;
use std::io::Write;
use std::path::Path;

use super::error::RuntimeError;

/// temp → fsync → rename → fsync directory: readers see old or new, whole.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

const LAYOUT_FILE: &str = "LAYOUT";
const LAYOUT_MAGIC: &str = "dynacore-layout-v1";

/// Creates the data directory's layout record, or checks it against
/// `shards`. A different shard count is refused: data placed by one
/// partition map must never be read through another.
pub fn check_layout(data_dir: &Path, shards: u32) -> Result<(), RuntimeError> {
    fs::create_dir_all(data_dir).map_err(|source| RuntimeError::Io {
        action: "create data directory",
        path: data_dir.to_path_buf(),
        source,
    })?;
    let path = data_dir.join(LAYOUT_FILE);
    let expected = format!("{LAYOUT_MAGIC}\nshards={shards}\npartitioning=xxh3_64-equal-ranges\n");
    match fs::read_to_string(&path) {
        Ok(text) => {
            if !text.starts_with(LAYOUT_MAGIC) {
                return Err(RuntimeError::NotALayoutFile {
                    path,
                    data_dir: data_dir.to_path_buf(),
                });
            }
            let recorded = text
                .lines()
                .find_map(|l| l.strip_prefix("shards="))
                .and_then(|n| n.trim().parse::<u32>().ok())
                .ok_or_else(|| RuntimeError::LayoutWithoutShardCount { path: path.clone() })?;
            if recorded != shards {
                return Err(RuntimeError::ShardCountMismatch {
                    data_dir: data_dir.to_path_buf(),
                    recorded,
                    requested: shards,
                });
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            write_atomically(&path, expected.as_bytes()).map_err(|source| RuntimeError::Io {
                action: "write",
                path,
                source,
            })
        }
        Err(source) => Err(RuntimeError::Io {
            action: "read",
            path,
            source,
        }),
    }
}

/// Runs one backup file job under `root` (`Services::files`). Paths are
/// relative; one with `..` or a root is refused, so a job never leaves the
/// backup directory.
pub fn run_job(
    root: &Path,
    job: crate::api::shard::files::FileJob,
) -> std::io::Result<crate::api::shard::files::FileDone> {
    use crate::api::shard::files::{FileDone, FileJob};
    use std::io::{Read, Seek, SeekFrom};
    let under = |rel: &str| -> std::io::Result<std::path::PathBuf> {
        let rel = Path::new(rel);
        if rel
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("backup path {} leaves the backup directory", rel.display()),
            ));
        }
        Ok(root.join(rel))
    };
    match job {
        FileJob::Create { path } => {
            let path = under(&path)?;
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir)?;
            }
            fs::File::create(&path)?;
            Ok(FileDone::Done)
        }
        FileJob::Append { path, bytes } => {
            let mut file = fs::OpenOptions::new().append(true).open(under(&path)?)?;
            file.write_all(&bytes)?;
            Ok(FileDone::Done)
        }
        FileJob::Sync { path } => {
            let path = under(&path)?;
            fs::File::open(&path)?.sync_all()?;
            if let Some(dir) = path.parent() {
                fs::File::open(dir)?.sync_all()?;
            }
            Ok(FileDone::Done)
        }
        FileJob::WriteAtomically { path, bytes } => {
            let path = under(&path)?;
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir)?;
            }
            write_atomically(&path, &bytes)?;
            Ok(FileDone::Done)
        }
        FileJob::ReadAt { path, offset, len } => {
            let mut file = fs::File::open(under(&path)?)?;
            file.seek(SeekFrom::Start(offset))?;
            let mut bytes = Vec::new();
            file.take(len).read_to_end(&mut bytes)?;
            Ok(FileDone::Bytes(bytes))
        }
        FileJob::Read { path } => Ok(FileDone::Bytes(fs::read(under(&path)?)?)),
        FileJob::List { path } => {
            let dir = if path.is_empty() {
                root.to_path_buf()
            } else {
                under(&path)?
            };
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Ok(FileDone::Names(Vec::new()));
                }
                Err(e) => return Err(e),
            };
            let mut names = Vec::new();
            for entry in entries {
                names.push(entry?.file_name().to_string_lossy().into_owned());
            }
            names.sort();
            Ok(FileDone::Names(names))
        }
        FileJob::ListTree { path, max } => {
            let dir = if path.is_empty() {
                root.to_path_buf()
            } else {
                under(&path)?
            };
            let mut found = Vec::new();
            list_tree(root, &dir, max, &mut found)?;
            found.sort();
            Ok(FileDone::Names(found))
        }
        FileJob::RemoveAll { path } => {
            match fs::remove_dir_all(under(&path)?) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            Ok(FileDone::Done)
        }
    }
}

/// Appends the regular files under `dir` (paths relative to `root`) to
/// `found`, depth first, stopping at `max`; a missing `dir` adds none.
fn list_tree(root: &Path, dir: &Path, max: usize, found: &mut Vec<String>) -> std::io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        if found.len() >= max {
            return Ok(());
        }
        let entry = entry?;
        let kind = entry.file_type()?;
        let path = entry.path();
        if kind.is_dir() {
            list_tree(root, &path, max, found)?;
        } else if kind.is_file()
            && let Ok(rel) = path.strip_prefix(root)
        {
            found.push(rel.to_string_lossy().into_owned());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_refuses_another_shard_count() {
        let dir = std::env::temp_dir().join(format!("dynacore-layout-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        assert!(check_layout(&dir, 2).is_ok());
        assert!(check_layout(&dir, 2).is_ok());
        let err = check_layout(&dir, 3).expect_err("must refuse");
        let err = err.to_string();
        assert!(err.contains("created with 2 shards"), "{err}");
        fs::write(dir.join(LAYOUT_FILE), "something else").expect("write");
        assert!(check_layout(&dir, 2).is_err());
        let _ = fs::remove_dir_all(dir);
    }
}
