//! Online backups of an embedded (SQLite) installation, their check, and their restore.
//!
//! A backup is a directory: `motcua.sqlite3`, a consistent copy of the database taken with
//! `VACUUM INTO` while the server keeps serving; the `blobs/` and `packs/` that hold the
//! dossiers' files; and `manifest.json`, the SHA-256 and size of every other file in it.
//! The database is copied first and the files after: files are only ever added (a blob under its
//! hash, a pack appended to), so every file a copied row names is in the copy. The manifest is
//! written last, synced and renamed into place: a directory without it — a backup cut short by a
//! full disk, a crash — is never taken for a good one.

use crate::{Store, StoreConfig, StoreError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

/// The manifest's name in a backup.
pub const MANIFEST: &str = "manifest.json";
/// The database's name in a data dir and in a backup.
pub const DATABASE: &str = "motcua.sqlite3";
/// The folders of a data dir that hold dossiers' files.
const FILE_DIRS: [&str; 2] = ["blobs", "packs"];

/// Why a backup, its check or a restore failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said (no space left, permission denied, …).
        source: std::io::Error,
    },
    /// The database could not be copied or read.
    #[error("database: {0}")]
    Store(#[from] StoreError),
    /// The destination of a backup or a restore is not empty.
    #[error("{0}: not empty; a backup or a restore goes into a new or empty directory")]
    NotEmpty(PathBuf),
    /// Only the embedded database is backed up this way.
    #[error("this installation uses PostgreSQL: back it up with pg_dump or pg_basebackup (see docs/operations.md)")]
    Postgres,
    /// The directory is not a complete backup, or something in it changed.
    #[error("not a good backup: {0}")]
    Bad(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_owned(),
        source,
    }
}

/// One file of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Path inside the backup, with `/` between folders.
    pub path: String,
    /// Bytes.
    pub size: u64,
    /// SHA-256, hex.
    pub sha256: String,
}

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format of this manifest.
    pub format: u32,
    /// The motcua that made it.
    pub motcua: String,
    /// When (RFC 3339, UTC).
    pub created_at: String,
    /// Every file but the manifest.
    pub files: Vec<Entry>,
}

/// What a backup or its check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Files (the database included).
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
}

/// Reads `from` to its end, hashing it and writing it to `to` if given: its size and SHA-256.
fn read_hashed(
    from: &Path,
    mut to: Option<(&Path, &mut File)>,
) -> Result<(u64, String), BackupError> {
    let mut src = File::open(from).map_err(io(from))?;
    let mut hash = Sha256::new();
    let mut buf = vec![0_u8; 256 * 1024];
    let mut size = 0_u64;
    loop {
        let n = src.read(&mut buf).map_err(io(from))?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        if let Some((path, dst)) = to.as_mut() {
            dst.write_all(&buf[..n]).map_err(io(path))?;
        }
        size += n as u64;
    }
    Ok((size, hex::encode(hash.finalize())))
}

/// Copies `from` to `to`, hashing what it copies, and syncs the copy.
fn copy_hashed(from: &Path, to: &Path) -> Result<(u64, String), BackupError> {
    let mut dst = File::create(to).map_err(io(to))?;
    let hashed = read_hashed(from, Some((to, &mut dst)))?;
    dst.sync_all().map_err(io(to))?;
    Ok(hashed)
}

fn hash_file(path: &Path) -> Result<(u64, String), BackupError> {
    read_hashed(path, None)
}

fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// Whether `dir` is missing or an empty directory; creates it if missing.
fn empty_destination(dir: &Path) -> Result<(), BackupError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(BackupError::NotEmpty(dir.to_owned()));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(io(dir))
        }
        Err(e) => Err(io(dir)(e)),
    }
}

/// Removes what a failed backup or restore wrote into `dir` (which was empty before).
fn clear(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            let _ = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
        }
    }
}

/// Every file under `root/dir`, as paths relative to `root`.
fn files_under(root: &Path, dir: &str) -> Result<Vec<String>, BackupError> {
    let mut out = Vec::new();
    let mut stack = vec![root.join(dir)];
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io(&d)(e)),
        };
        for e in entries {
            let e = e.map_err(io(&d))?;
            let p = e.path();
            let kind = e.file_type().map_err(io(&p))?;
            if kind.is_dir() {
                stack.push(p);
            } else if kind.is_file() {
                let rel = p.strip_prefix(root).map_err(|_| {
                    BackupError::Bad(format!("{} outside the data dir", p.display()))
                })?;
                out.push(
                    rel.components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join("/"),
                );
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A manifest path as a path under `root`, refusing anything that would leave it.
fn inside(root: &Path, rel: &str) -> Result<PathBuf, BackupError> {
    let p = Path::new(rel);
    if rel.is_empty() || !p.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(BackupError::Bad(format!(
            "the manifest names '{rel}', outside the backup"
        )));
    }
    Ok(root.join(p))
}

/// Writes `manifest` into `dir` last and atomically: a temporary file, synced, renamed.
fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<(), BackupError> {
    let json = serde_json::to_vec_pretty(manifest)
        .map_err(|e| BackupError::Bad(format!("manifest: {e}")))?;
    let tmp = dir.join(format!("{MANIFEST}.part"));
    let mut f = File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(&json).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    let done = dir.join(MANIFEST);
    std::fs::rename(&tmp, &done).map_err(io(&done))?;
    sync_dir(dir)
}

impl Store {
    /// Backs this embedded installation up into `dest` (new or empty) while it keeps serving.
    /// On failure nothing is left in `dest`.
    pub async fn backup_to(&self, dest: &Path) -> Result<Summary, BackupError> {
        if !matches!(self.backend(), crate::Backend::Sqlite(_)) {
            return Err(BackupError::Postgres);
        }
        empty_destination(dest)?;
        let result = self.backup_into(dest).await;
        if result.is_err() {
            clear(dest);
        }
        result
    }

    async fn backup_into(&self, dest: &Path) -> Result<Summary, BackupError> {
        let db = dest.join(DATABASE);
        let target = db
            .to_str()
            .ok_or_else(|| BackupError::Bad(format!("{}: not a UTF-8 path", db.display())))?
            .to_owned();
        if let crate::Backend::Sqlite(pool) = self.backend() {
            // A consistent snapshot of a database in use, written as a compact new file.
            sqlx::query("VACUUM INTO ?")
                .bind(&target)
                .execute(pool)
                .await
                .map_err(|e| BackupError::Store(e.into()))?;
        }
        let downloaded = if self.blobs().is_object_store() {
            Some(self.copy_objects(dest).await?)
        } else {
            None
        };
        let data_dir = self.data_dir().to_owned();
        let dest = dest.to_owned();
        tokio::task::spawn_blocking(move || copy_files(&data_dir, &dest, downloaded))
            .await
            .map_err(|e| BackupError::Bad(e.to_string()))?
    }

    /// Downloads the files an object store holds into `dest`, in the data dir's layout (a blob
    /// a file of its own, a pack whole), so that the backup stands alone: it restores into a
    /// data dir, and its files can be put back into a bucket with any S3 copy tool. Blobs are
    /// only ever added, so the rows of the database copied before name none that is missing.
    async fn copy_objects(&self, dest: &Path) -> Result<Vec<Entry>, BackupError> {
        const SQL: &str = "SELECT sha256, pack FROM blobs ORDER BY sha256";
        let rows: Vec<(String, Option<i64>)> = match self.backend() {
            crate::Backend::Sqlite(pool) => sqlx::query_as(SQL)
                .fetch_all(pool)
                .await
                .map_err(|e| BackupError::Store(e.into()))?,
            crate::Backend::Postgres(_) => return Err(BackupError::Postgres),
        };
        let mut entries = Vec::new();
        let mut packs = std::collections::BTreeSet::new();
        for (sha, pack) in rows {
            if let Some(p) = pack {
                packs.insert(p);
                continue;
            }
            let blob = self.open_blob(&sha).await?;
            let rel = format!("blobs/{}/{sha}", sha.get(..2).unwrap_or("00"));
            entries.push(download(blob.into_reader(), dest, rel).await?);
        }
        for p in packs {
            let reader = self.blobs().read_pack(p).await?;
            entries.push(download(reader, dest, format!("packs/{p:08}.pack")).await?);
        }
        Ok(entries)
    }
}

/// Writes what `reader` gives to `rel` under `dest`, synced: its entry for the manifest.
async fn download(
    mut reader: std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>>,
    dest: &Path,
    rel: String,
) -> Result<Entry, BackupError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let to = inside(dest, &rel)?;
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let mut file = tokio::fs::File::create(&to).await.map_err(io(&to))?;
    let mut hash = Sha256::new();
    let mut buf = vec![0_u8; 256 * 1024];
    let mut size = 0_u64;
    loop {
        let n = reader.read(&mut buf).await.map_err(io(&to))?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        file.write_all(&buf[..n]).await.map_err(io(&to))?;
        size += n as u64;
    }
    file.sync_all().await.map_err(io(&to))?;
    Ok(Entry {
        path: rel,
        size,
        sha256: hex::encode(hash.finalize()),
    })
}

/// Copies the data dir's files after the database (or takes the files `downloaded` from an
/// object store instead), then writes the manifest.
fn copy_files(
    data_dir: &Path,
    dest: &Path,
    downloaded: Option<Vec<Entry>>,
) -> Result<Summary, BackupError> {
    let db = dest.join(DATABASE);
    File::open(&db)
        .and_then(|f| f.sync_all())
        .map_err(io(&db))?;
    let (size, sha256) = hash_file(&db)?;
    let mut files = vec![Entry {
        path: DATABASE.to_owned(),
        size,
        sha256,
    }];
    let dirs = if downloaded.is_some() {
        &[][..]
    } else {
        &FILE_DIRS[..]
    };
    for dir in dirs {
        for rel in files_under(data_dir, dir)? {
            let from = inside(data_dir, &rel)?;
            let to = inside(dest, &rel)?;
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            let (size, sha256) = copy_hashed(&from, &to)?;
            files.push(Entry {
                path: rel,
                size,
                sha256,
            });
        }
    }
    files.extend(downloaded.unwrap_or_default());
    let mut dirs: Vec<PathBuf> = files
        .iter()
        .filter_map(|e| inside(dest, &e.path).ok()?.parent().map(Path::to_owned))
        .collect();
    dirs.sort();
    dirs.dedup();
    for d in &dirs {
        sync_dir(d)?;
    }
    let summary = Summary {
        files: files.len(),
        bytes: files.iter().map(|e| e.size).sum(),
    };
    let created_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    write_manifest(
        dest,
        &Manifest {
            format: 1,
            motcua: env!("CARGO_PKG_VERSION").to_owned(),
            created_at,
            files,
        },
    )?;
    Ok(summary)
}

/// Reads a backup's manifest and checks every file it names against it, and that it names every
/// file there is.
pub fn check_files(backup: &Path) -> Result<(Manifest, Summary), BackupError> {
    let path = backup.join(MANIFEST);
    let raw = match std::fs::read(&path) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(BackupError::Bad(format!(
                "{} has no {MANIFEST}: the backup was never completed",
                backup.display()
            )))
        }
        Err(e) => return Err(io(&path)(e)),
    };
    let manifest: Manifest = serde_json::from_slice(&raw)
        .map_err(|e| BackupError::Bad(format!("{MANIFEST} does not parse: {e}")))?;
    if manifest.format != 1 {
        return Err(BackupError::Bad(format!(
            "{MANIFEST} is of format {}, which this motcua does not read",
            manifest.format
        )));
    }
    if !manifest.files.iter().any(|e| e.path == DATABASE) {
        return Err(BackupError::Bad(format!("{MANIFEST} names no {DATABASE}")));
    }
    for e in &manifest.files {
        let p = inside(backup, &e.path)?;
        let (size, sha256) = match hash_file(&p) {
            Ok(h) => h,
            Err(BackupError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                return Err(BackupError::Bad(format!("{} is missing", e.path)))
            }
            Err(other) => return Err(other),
        };
        if size != e.size || sha256 != e.sha256 {
            return Err(BackupError::Bad(format!(
                "{} changed since the backup (SHA-256 {sha256}, expected {})",
                e.path, e.sha256
            )));
        }
    }
    let mut there = vec![DATABASE.to_owned()];
    for dir in FILE_DIRS {
        there.extend(files_under(backup, dir)?);
    }
    if let Some(extra) = there
        .iter()
        .find(|p| !manifest.files.iter().any(|e| &e.path == *p))
    {
        return Err(BackupError::Bad(format!("{extra} is not in the manifest")));
    }
    let summary = Summary {
        files: manifest.files.len(),
        bytes: manifest.files.iter().map(|e| e.size).sum(),
    };
    Ok((manifest, summary))
}

/// Copies a checked backup into the data dir `data_dir` (new or empty). On failure nothing is
/// left in it.
pub fn restore_files(backup: &Path, data_dir: &Path) -> Result<Summary, BackupError> {
    let (manifest, summary) = check_files(backup)?;
    empty_destination(data_dir)?;
    let copied = (|| {
        for e in &manifest.files {
            let from = inside(backup, &e.path)?;
            let to = inside(data_dir, &e.path)?;
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            let (_, sha256) = copy_hashed(&from, &to)?;
            if sha256 != e.sha256 {
                return Err(BackupError::Bad(format!(
                    "{} changed while it was restored",
                    e.path
                )));
            }
        }
        sync_dir(data_dir)
    })();
    if let Err(e) = copied {
        clear(data_dir);
        return Err(e);
    }
    Ok(summary)
}

/// Checks a backup completely: its files against the manifest, then, restored into a scratch
/// directory, its audit chains and that every stored file reads back under its hash. Returns the
/// summary, the events and the stored files checked.
pub async fn verify(backup: &Path) -> Result<(Summary, u64, u64), BackupError> {
    let scratch = tempfile_dir(backup)?;
    let result = async {
        let b = backup.to_owned();
        let s = scratch.clone();
        let summary = tokio::task::spawn_blocking(move || restore_files(&b, &s))
            .await
            .map_err(|e| BackupError::Bad(e.to_string()))??;
        let store = Store::open_shared(&StoreConfig {
            files: crate::files::FilesConfig::DataDir,
            data_dir: scratch.clone(),
            database: None,
        })
        .await?;
        let checked = async {
            let (events, broken) = store.verify_events().await?;
            if let Some(b) = broken {
                return Err(BackupError::Bad(format!(
                    "broken audit chain at dossier {} (id {}), event #{}: {}",
                    b.code.as_deref().unwrap_or("without code"),
                    b.dossier_id,
                    b.seq,
                    b.reason
                )));
            }
            let files = store.verify_blobs().await?;
            Ok((events, files))
        }
        .await;
        store.close().await;
        let (events, files) = checked?;
        Ok((summary, events, files))
    }
    .await;
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

/// A fresh scratch directory beside the system's temporary files.
fn tempfile_dir(near: &Path) -> Result<PathBuf, BackupError> {
    let base = std::env::temp_dir();
    let name = format!(
        "motcua-verify-{}-{}",
        std::process::id(),
        crate::accounts::new_secret().get(..12).unwrap_or("0")
    );
    let dir = base.join(name);
    std::fs::create_dir_all(&dir).map_err(io(near))?;
    Ok(dir)
}

/// How often the server takes a scheduled backup.
pub const EVERY: time::Duration = time::Duration::DAY;

/// A directory of scheduled backups: each complete backup, newest first, with when it was made.
pub fn complete_backups(dir: &Path) -> Vec<(PathBuf, time::OffsetDateTime)> {
    let mut found: Vec<(PathBuf, time::OffsetDateTime)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let raw = std::fs::read(e.path().join(MANIFEST)).ok()?;
            let m: Manifest = serde_json::from_slice(&raw).ok()?;
            let at = time::OffsetDateTime::parse(
                &m.created_at,
                &time::format_description::well_known::Rfc3339,
            )
            .ok()?;
            Some((e.path(), at))
        })
        .collect();
    found.sort_by_key(|f| std::cmp::Reverse(f.1));
    found
}

/// The age of the newest complete backup in `dir`, if there is one (for `/metrics`).
pub fn newest_age(dir: &Path) -> Option<time::Duration> {
    complete_backups(dir)
        .first()
        .map(|(_, at)| time::OffsetDateTime::now_utc() - *at)
}

/// Keeps the `keep` newest complete backups of `dir` and removes older ones, and any backup left
/// incomplete (without a manifest) by a crash; returns how many went.
pub fn prune(dir: &Path, keep: usize) -> usize {
    let complete = complete_backups(dir);
    let mut removed = 0;
    for (path, _) in complete.iter().skip(keep.max(1)) {
        if std::fs::remove_dir_all(path).is_ok() {
            removed += 1;
        }
    }
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        let named = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("motcua-"));
        if named && p.is_dir() && !p.join(MANIFEST).exists() && std::fs::remove_dir_all(&p).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

impl Store {
    /// Takes a backup into a new folder of `dir` (`motcua-YYYYMMDD-HHMMSS`, UTC) when the newest
    /// complete one there is older than [`EVERY`], then keeps the `keep` newest; the new folder,
    /// if one was taken.
    pub async fn scheduled_backup(
        &self,
        dir: &Path,
        keep: usize,
    ) -> Result<Option<PathBuf>, BackupError> {
        if newest_age(dir).is_some_and(|age| age < EVERY) {
            return Ok(None);
        }
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let now = time::OffsetDateTime::now_utc();
        let name = format!(
            "motcua-{:04}{:02}{:02}-{:02}{:02}{:02}",
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            now.minute(),
            now.second()
        );
        let dest = dir.join(name);
        self.backup_to(&dest).await?;
        prune(dir, keep);
        Ok(Some(dest))
    }
}
