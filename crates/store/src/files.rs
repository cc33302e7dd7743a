//! Where the files of dossiers are kept, behind one interface: the data dir (one machine; the
//! default, see [`crate::blobs`] and [`crate::packs`]) or an S3-compatible object store shared
//! by several nodes (see [`crate::objects`]). Both keep one promise: whatever a committed row
//! names is durable in the store, because rows are committed only after the store said so.
//!
//! Files being received are staged on the local disk either way (a request's file is checked
//! before it is stored), so the staging directory stays a local one.

use crate::blobs::{FsBlobStore, InMemory, Staged, Staging};
use crate::objects::{ObjectFiles, ObjectSettings};
use crate::packs::PackSpot;
use crate::uploads::LastChunk;
use crate::StoreError;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use tokio::io::AsyncRead;

/// Which store the settings choose.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum FilesConfig {
    /// `data_dir/blobs` and `data_dir/packs` (the default).
    #[default]
    DataDir,
    /// An S3-compatible object store.
    Objects(ObjectSettings),
}

/// The store of files of an installation.
pub enum Files {
    /// On this machine's disk.
    DataDir(Arc<FsBlobStore>),
    /// In an object store; staging stays in the data dir.
    Objects {
        /// The object store.
        objects: Box<ObjectFiles>,
        /// Local staging directory.
        staging: PathBuf,
    },
}

/// A stored file being read.
pub struct Blob {
    /// Its length in bytes.
    pub size: u64,
    source: Source,
}

/// Where a blob's bytes come from: a file on this disk, positioned at its first byte, or a
/// stream from the object store.
enum Source {
    File(std::fs::File),
    Stream(Pin<Box<dyn AsyncRead + Send>>),
}

impl Blob {
    /// Its bytes, to serve.
    pub fn into_reader(self) -> Pin<Box<dyn AsyncRead + Send>> {
        match self.source {
            Source::File(f) => Box::pin(tokio::io::AsyncReadExt::take(
                tokio::fs::File::from_std(f),
                self.size,
            )),
            Source::Stream(s) => s,
        }
    }

    /// Reads it all (for tests and small files).
    pub async fn into_bytes(self) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(usize::try_from(self.size).unwrap_or(0));
        tokio::io::AsyncReadExt::read_to_end(&mut self.into_reader(), &mut out).await?;
        Ok(out)
    }

    /// Its SHA-256 (hex) and the number of bytes read: a file is read on a blocking thread in
    /// one go, a stream hashed as its pieces arrive (a blocking bridge over a stream costs a
    /// wake-up per small piece).
    pub async fn hash(self) -> std::io::Result<(String, u64)> {
        use sha2::Digest;
        let size = self.size;
        match self.source {
            Source::File(f) => tokio::task::spawn_blocking(move || {
                let mut h = sha2::Sha256::new();
                let n = std::io::copy(&mut std::io::Read::take(f, size), &mut h)?;
                Ok((hex::encode(h.finalize()), n))
            })
            .await
            .map_err(std::io::Error::other)?,
            Source::Stream(mut s) => {
                let mut h = sha2::Sha256::new();
                let mut buf = vec![0u8; 256 * 1024];
                let mut n = 0u64;
                loop {
                    let got = tokio::io::AsyncReadExt::read(&mut s, &mut buf).await?;
                    if got == 0 {
                        break;
                    }
                    h.update(&buf[..got]);
                    n += got as u64;
                }
                Ok((hex::encode(h.finalize()), n))
            }
        }
    }
}

fn interrupted(what: &str) -> impl Fn(tokio::task::JoinError) -> StoreError + '_ {
    move |e| StoreError::Internal(format!("{what} interrupted: {e}"))
}

impl Files {
    /// Opens the store `config` chooses for `data_dir`. An object store is only configured
    /// here; [`Files::check`] proves it answers.
    pub fn open(data_dir: &Path, config: &FilesConfig) -> Result<Files, StoreError> {
        Ok(match config {
            FilesConfig::DataDir => Files::DataDir(Arc::new(FsBlobStore::open(data_dir)?)),
            FilesConfig::Objects(settings) => Files::Objects {
                objects: Box::new(ObjectFiles::open(settings)?),
                staging: data_dir.join("staging"),
            },
        })
    }

    /// Where the files are, for logs, `doctor` and backups.
    pub fn describe(&self) -> String {
        match self {
            Files::DataDir(_) => "the data dir".into(),
            Files::Objects { objects, .. } => objects.settings().describe(),
        }
    }

    /// Whether files are in an object store.
    pub fn is_object_store(&self) -> bool {
        matches!(self, Files::Objects { .. })
    }

    /// Proves the store can be written and read back (a no-op for the data dir, which opening
    /// already checked).
    pub async fn check(&self) -> Result<(), StoreError> {
        match self {
            Files::DataDir(_) => Ok(()),
            Files::Objects { objects, .. } => objects.check().await,
        }
    }

    /// Directory for staging files, on the local disk.
    pub fn staging_dir(&self) -> &Path {
        match self {
            Files::DataDir(fs) => fs.staging_dir(),
            Files::Objects { staging, .. } => staging,
        }
    }

    /// Stores a received file durably under its hash; the staging file is gone afterwards,
    /// whatever the outcome.
    pub async fn commit(&self, staged: &Staged) -> Result<(), StoreError> {
        match self {
            Files::DataDir(fs) => {
                let (fs, s) = (fs.clone(), staged.clone());
                tokio::task::spawn_blocking(move || fs.commit(&s))
                    .await
                    .map_err(interrupted("blob write"))?
            }
            Files::Objects { objects, .. } => {
                let stored = match staged.in_memory() {
                    Some(m) => {
                        let chunks = m.bytes();
                        objects.put_blob(&staged.sha256, chunks).await
                    }
                    None => match staged.staging_path() {
                        Some(path) => {
                            objects
                                .put_blob_file(&staged.sha256, staged.size, path)
                                .await
                        }
                        None => Err(StoreError::Internal("a staged file without content".into())),
                    },
                };
                staged.discard();
                stored
            }
        }
    }

    /// Stores generated bytes (a result the system issued) durably; returns what was stored.
    pub async fn put_bytes(&self, bytes: Vec<u8>) -> Result<Staged, StoreError> {
        let dir = self.staging_dir().to_path_buf();
        let staged = tokio::task::spawn_blocking(move || {
            let mut s = Staging::new(&dir)?;
            s.write(&bytes)?;
            s.finish()
        })
        .await
        .map_err(interrupted("blob write"))??;
        self.commit(&staged).await?;
        Ok(staged)
    }

    /// Stores the in-memory files of a batch of filings, all durable when it returns: in one
    /// pack with one sync (data dir), or as objects of their own put side by side. Says, for
    /// each, the pack spot it got, if any.
    pub async fn store_filed(
        &self,
        blobs: Vec<(String, Arc<InMemory>)>,
    ) -> Result<Vec<Option<PackSpot>>, StoreError> {
        match self {
            Files::DataDir(fs) => {
                let fs = fs.clone();
                tokio::task::spawn_blocking(move || {
                    let contents: Vec<&InMemory> = blobs.iter().map(|(_, m)| m.as_ref()).collect();
                    fs.append_packed(&contents)
                })
                .await
                .map_err(interrupted("the pack writer"))?
                .map(|spots| spots.into_iter().map(Some).collect())
            }
            Files::Objects { objects, .. } => {
                let n = blobs.len();
                let puts = blobs
                    .iter()
                    .map(|(sha, m)| (sha.clone(), m.bytes()))
                    .collect();
                objects.put_blobs(puts).await?;
                Ok(vec![None; n])
            }
        }
    }

    /// The size of a blob stored as an object of its own (`None` on the data dir, or when the
    /// object is not there).
    pub async fn object_size(&self, sha256: &str) -> Result<Option<u64>, StoreError> {
        match self {
            Files::DataDir(_) => Ok(None),
            Files::Objects { objects, .. } => objects.size(sha256).await,
        }
    }

    /// Opens a stored blob of `size` bytes, kept as a file of its own or at `spot` in a pack.
    pub async fn read(
        &self,
        sha256: &str,
        spot: Option<PackSpot>,
        size: u64,
    ) -> Result<Blob, StoreError> {
        let source = match self {
            Files::DataDir(fs) => {
                // Opening and seeking touch metadata only: no blocking hop.
                Source::File(match spot {
                    Some(spot) => fs.open_packed(spot)?,
                    None => fs.open_blob(sha256)?,
                })
            }
            Files::Objects { objects, .. } => {
                let stream = objects.read(sha256, spot, size).await?;
                Source::Stream(Box::pin(tokio::io::AsyncReadExt::take(
                    tokio_util::io::StreamReader::new(stream),
                    size,
                )))
            }
        };
        Ok(Blob { size, source })
    }

    /// A whole pack, as stored (for backups).
    pub async fn read_pack(&self, pack: i64) -> Result<Pin<Box<dyn AsyncRead + Send>>, StoreError> {
        Ok(match self {
            Files::DataDir(fs) => Box::pin(tokio::fs::File::from_std(
                fs.open_packed(PackSpot { pack, offset: 0 })?,
            )),
            Files::Objects { objects, .. } => Box::pin(tokio_util::io::StreamReader::new(
                objects.read_pack(pack).await?,
            )),
        })
    }

    fn upload_path(&self, upload: &str) -> PathBuf {
        self.staging_dir().join(format!("upload-{upload}.part"))
    }

    /// Stores a chunk of a resumable upload that starts at byte `offset`, durably.
    pub async fn write_chunk(
        &self,
        upload: &str,
        offset: u64,
        chunk: Vec<u8>,
    ) -> Result<(), StoreError> {
        match self {
            Files::DataDir(_) => {
                let path = self.upload_path(upload);
                tokio::task::spawn_blocking(move || crate::blobs::append_at(&path, offset, &chunk))
                    .await
                    .map_err(interrupted("upload write"))?
            }
            Files::Objects { objects, .. } => objects.put_chunk(upload, offset, chunk).await,
        }
    }

    /// Reads a complete upload of `size` bytes back, hashing it, for the checks of its type
    /// before it becomes a blob; `last` is its last chunk when the store did not keep it. An
    /// upload that came in one chunk is staged from memory and never touches a disk.
    pub async fn stage_upload(
        &self,
        upload: &str,
        size: u64,
        last: Option<LastChunk>,
    ) -> Result<Staged, StoreError> {
        match self {
            Files::DataDir(_) => {
                let path = self.upload_path(upload);
                tokio::task::spawn_blocking(move || crate::blobs::stage_existing(&path))
                    .await
                    .map_err(interrupted("upload read"))?
            }
            Files::Objects { objects, staging } => {
                let (before, last) = match last {
                    Some(l) => (l.offset, Some(l.chunk)),
                    None => (size, None),
                };
                if before == 0 {
                    let mut s = Staging::memory_first(staging);
                    if let Some(bytes) = last {
                        s.write_bytes(bytes.into())?;
                    }
                    return s.finish();
                }
                let stream = objects.read_upload(upload, before).await?;
                let mut reader =
                    tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(stream));
                let dir = staging.clone();
                tokio::task::spawn_blocking(move || {
                    let mut s = Staging::new(&dir)?;
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = std::io::Read::read(&mut reader, &mut buf).map_err(|e| {
                            StoreError::Internal(format!("upload chunks unreadable: {e}"))
                        })?;
                        if n == 0 {
                            break;
                        }
                        s.write(&buf[..n])?;
                    }
                    if let Some(bytes) = last {
                        s.write(&bytes)?;
                    }
                    s.finish()
                })
                .await
                .map_err(interrupted("upload read"))?
            }
        }
    }

    /// Forgets what was received of an upload.
    pub async fn remove_upload(&self, upload: &str) -> Result<(), StoreError> {
        match self {
            Files::DataDir(_) => match std::fs::remove_file(self.upload_path(upload)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::DataDir {
                    path: self.upload_path(upload),
                    source: e,
                }),
                _ => Ok(()),
            },
            Files::Objects { objects, .. } => objects.remove_upload(upload).await,
        }
    }

    /// Makes the next pack sync fail (data dir only), for tests of a failed write-back.
    #[cfg(feature = "faults")]
    pub fn fail_next_pack_sync(&self) {
        if let Files::DataDir(fs) = self {
            fs.fail_next_pack_sync();
        }
    }
}
