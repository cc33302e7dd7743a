//! Resumable uploads: a client announces a file and its size, then sends it in chunks, each at
//! the offset the server has recorded. After a broken connection it asks for that offset and
//! continues from there, so nothing already received is sent again. Every chunk is synced before
//! the offset that counts it is committed.

use crate::backend::{on_pool, BeginWrite};
use crate::blobs::Staged;
use crate::dossiers::micros;
use crate::{Store, StoreError};
use motcua_core::dossier::FileKind;
use time::OffsetDateTime;

const INSERT_UPLOADS: &str =
    "INSERT INTO uploads (id, owner_id, file_name, size, received, created_at) \
     VALUES ($1, $2, $3, $4, 0, $5)";

const SELECT_UPLOADS_BY_ID: &str =
    "SELECT id, owner_id, file_name, size, received, sha256, media_type \
     FROM uploads \
     WHERE id = $1 AND owner_id = $2";

const UPDATE_UPLOADS_RECEIVED: &str = "UPDATE uploads \
     SET received = $1 \
     WHERE id = $2 AND received = $3";

const INSERT_BLOBS: &str = "INSERT INTO blobs (sha256, size, media_type, created_at) \
     VALUES ($1, $2, $3, $4) \
     ON CONFLICT (sha256) DO NOTHING";

const UPDATE_UPLOADS_SHA: &str = "UPDATE uploads \
     SET sha256 = $1, media_type = $2, received = size \
     WHERE id = $3 AND received = $4";

const INSERT_WHOLE_UPLOAD: &str =
    "INSERT INTO uploads (id, owner_id, file_name, size, received, sha256, media_type, \
     created_at) \
     VALUES ($1, $2, $3, $4, $4, $5, $6, $7)";

const SELECT_UPLOADS_BY_SHA: &str = "SELECT id \
     FROM uploads \
     WHERE sha256 IS NULL AND created_at < $1";

const DELETE_UPLOADS_BY_ID: &str = "DELETE \
     FROM uploads \
     WHERE id = $1";

/// An upload in progress or complete.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Upload {
    /// Id.
    pub id: String,
    /// Who may continue it.
    pub owner_id: String,
    /// File name as announced.
    pub file_name: String,
    /// Announced size.
    pub size: i64,
    /// Bytes received and synced.
    pub received: i64,
    /// Content hash, once complete and checked.
    pub sha256: Option<String>,
    /// Media type, once complete and checked.
    pub media_type: Option<String>,
}

impl Upload {
    /// Whether every byte has arrived.
    pub fn is_complete(&self) -> bool {
        self.received == self.size
    }
}

/// The last chunk of an upload, held in memory until the whole file is staged.
#[derive(Debug)]
pub struct LastChunk {
    /// Where it starts.
    pub offset: u64,
    /// Its bytes.
    pub chunk: Vec<u8>,
}

/// Why a chunk was not taken.
#[derive(Debug, thiserror::Error)]
pub enum ChunkError {
    /// No such upload for this owner.
    #[error("upload not found")]
    NotFound,
    /// The chunk does not start where the server is.
    #[error("the chunk starts at byte {sent} but {received} bytes have been received; continue from {received}")]
    Offset {
        /// Offset of the chunk.
        sent: i64,
        /// Bytes the server holds.
        received: i64,
    },
    /// The chunk goes past the announced size.
    #[error("the chunk ends past the announced size of {0} bytes")]
    PastEnd(i64),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Locks by upload, so that two requests for the same upload (a client retrying a chunk after a
/// timeout) run one after the other: the write of a chunk, and for the last one the check and the
/// commit, are one step. Striped: a fixed number of locks, an upload's chosen by its id.
pub(crate) struct UploadLocks(Vec<tokio::sync::Mutex<()>>);

const UPLOAD_LOCK_STRIPES: usize = 64;

impl Default for UploadLocks {
    fn default() -> Self {
        UploadLocks(
            (0..UPLOAD_LOCK_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        )
    }
}

impl UploadLocks {
    async fn lock(&self, id: &str) -> tokio::sync::MutexGuard<'_, ()> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        id.hash(&mut h);
        let i = usize::try_from(h.finish() % UPLOAD_LOCK_STRIPES as u64).unwrap_or(0);
        self.0[i].lock().await
    }
}

impl Store {
    /// Holds off every other request for upload `id` on this server until the guard is dropped.
    /// Uploads live in this server's staging directory, so this server's lock is the one that
    /// matters; the conditional updates below guard the rows as well.
    pub async fn lock_upload(&self, id: &str) -> tokio::sync::MutexGuard<'_, ()> {
        self.upload_locks.lock(id).await
    }

    /// Whether the stored bytes of a blob are exactly `size` bytes with this SHA-256: checked
    /// before a filing takes an upload, so that a file damaged after it was checked is refused
    /// instead of filed.
    pub async fn blob_matches(&self, sha256: &str, size: i64) -> Result<bool, StoreError> {
        // An object store keeps an object whole and checks its bytes itself, and nothing but
        // motcua writes under a key that names the content: what can still happen is an object
        // removed or replaced by hand, which its size shows without reading it back.
        if let Some(stored) = self.blobs.object_size(sha256).await? {
            return Ok(i64::try_from(stored).ok() == Some(size));
        }
        let blob = match self.open_blob(sha256).await {
            Ok(b) => b,
            Err(StoreError::Internal(_)) => return Ok(false),
            Err(e) => return Err(e),
        };
        match blob.hash().await {
            Ok((hash, len)) => Ok(i64::try_from(len).ok() == Some(size) && hash == sha256),
            // A file that cannot be read back is not the file that was checked.
            Err(e) => {
                tracing::warn!(sha256, error = %e, "a stored upload could not be read back");
                Ok(false)
            }
        }
    }

    /// Announces an upload of `size` bytes.
    pub async fn create_upload(
        &self,
        owner_id: &str,
        file_name: &str,
        size: i64,
    ) -> Result<Upload, StoreError> {
        let id = crate::ids::row_id();
        let now = micros(OffsetDateTime::now_utc());
        let turn = self.write_turn().await;
        on_pool!(self.backend(), |p| {
            sqlx::query(INSERT_UPLOADS)
                .bind(&id)
                .bind(owner_id)
                .bind(file_name)
                .bind(size)
                .bind(now)
                .execute(p)
                .await
                .map(|_| ())
        })?;
        drop(turn);
        std::fs::create_dir_all(self.blobs().staging_dir()).map_err(|source| {
            StoreError::DataDir {
                path: self.blobs().staging_dir().to_path_buf(),
                source,
            }
        })?;
        Ok(Upload {
            id,
            owner_id: owner_id.to_owned(),
            file_name: file_name.to_owned(),
            size,
            received: 0,
            sha256: None,
            media_type: None,
        })
    }

    /// An upload of `owner_id`.
    pub async fn upload(&self, id: &str, owner_id: &str) -> Result<Option<Upload>, StoreError> {
        Ok(on_pool!(self.backend(), |p| {
            sqlx::query_as(SELECT_UPLOADS_BY_ID)
                .bind(id)
                .bind(owner_id)
                .fetch_optional(p)
                .await
        })?)
    }

    /// Takes a chunk starting at `offset`. The last chunk comes back when the store did not
    /// keep it (an object store: it goes into the file being staged from memory, not into an
    /// object that would only be read back at once); pass it to [`Store::stage_upload`].
    pub async fn append_upload(
        &self,
        id: &str,
        owner_id: &str,
        offset: i64,
        chunk: Vec<u8>,
    ) -> Result<(Upload, Option<LastChunk>), ChunkError> {
        let mut up = self
            .upload(id, owner_id)
            .await?
            .ok_or(ChunkError::NotFound)?;
        if offset != up.received {
            return Err(ChunkError::Offset {
                sent: offset,
                received: up.received,
            });
        }
        let end = offset + i64::try_from(chunk.len()).unwrap_or(i64::MAX);
        if end > up.size {
            return Err(ChunkError::PastEnd(up.size));
        }
        let at = u64::try_from(offset).unwrap_or(0);
        if end == up.size {
            // The last chunk is recorded together with the checked blob (`finish_upload`), in
            // one commit; until then a retry of it simply rewrites it.
            up.received = end;
            if self.blobs.is_object_store() {
                return Ok((up, Some(LastChunk { offset: at, chunk })));
            }
            self.blobs.write_chunk(id, at, chunk).await?;
            return Ok((up, None));
        }
        self.blobs.write_chunk(id, at, chunk).await?;
        let turn = self.write_turn().await;
        let n = on_pool!(self.backend(), |p| sqlx::query(UPDATE_UPLOADS_RECEIVED)
            .bind(end)
            .bind(id)
            .bind(offset)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))
        .map_err(StoreError::from)?;
        drop(turn);
        if n != 1 {
            // Another request for the same upload got there first.
            let now = self
                .upload(id, owner_id)
                .await?
                .ok_or(ChunkError::NotFound)?;
            return Err(ChunkError::Offset {
                sent: offset,
                received: now.received,
            });
        }
        up.received = end;
        Ok((up, None))
    }

    /// Reads back a complete upload of `size` bytes for checking (hash, type), ending with
    /// `last` when the store did not keep it.
    pub async fn stage_upload(
        &self,
        id: &str,
        size: i64,
        last: Option<LastChunk>,
    ) -> Result<Staged, StoreError> {
        self.blobs
            .stage_upload(id, u64::try_from(size).unwrap_or(0), last)
            .await
    }

    /// Records a complete, checked upload as a blob, together with its last chunk (which began
    /// at `last_offset`).
    pub async fn finish_upload(
        &self,
        id: &str,
        last_offset: i64,
        staged: &Staged,
        kind: FileKind,
    ) -> Result<(), StoreError> {
        self.commit_blob(staged).await?;
        let now = micros(OffsetDateTime::now_utc());
        let size = i64::try_from(staged.size).unwrap_or(i64::MAX);
        let _turn = self.write_turn().await;
        on_pool!(self.backend(), |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(INSERT_BLOBS)
                .bind(&staged.sha256)
                .bind(size)
                .bind(kind.media_type())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let n = sqlx::query(UPDATE_UPLOADS_SHA)
                .bind(&staged.sha256)
                .bind(kind.media_type())
                .bind(id)
                .bind(last_offset)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n != 1 {
                return Err(StoreError::Refused(format!(
                    "upload {id} was finished by another request"
                )));
            }
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })?;
        // The chunks before the last are a blob now. (On the data dir the upload's file was
        // renamed to it; an upload in one chunk left no object behind.)
        if self.blobs.is_object_store() && last_offset > 0 {
            if let Err(e) = self.blobs.remove_upload(id).await {
                tracing::warn!(upload = id, error = %e, "a finished upload's chunks were not removed");
            }
        }
        Ok(())
    }

    /// Records an upload that arrived whole in one request (already staged and checked): the
    /// blob, its row and the complete upload in one transaction.
    pub async fn create_complete_upload(
        &self,
        owner_id: &str,
        file_name: &str,
        staged: &Staged,
        kind: FileKind,
    ) -> Result<Upload, StoreError> {
        self.commit_blob(staged).await?;
        let id = crate::ids::row_id();
        let now = micros(OffsetDateTime::now_utc());
        let size = i64::try_from(staged.size).unwrap_or(i64::MAX);
        let _turn = self.write_turn().await;
        on_pool!(self.backend(), |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(INSERT_BLOBS)
                .bind(&staged.sha256)
                .bind(size)
                .bind(kind.media_type())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(INSERT_WHOLE_UPLOAD)
                .bind(&id)
                .bind(owner_id)
                .bind(file_name)
                .bind(size)
                .bind(&staged.sha256)
                .bind(kind.media_type())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })?;
        Ok(Upload {
            id,
            owner_id: owner_id.to_owned(),
            file_name: file_name.to_owned(),
            size,
            received: size,
            sha256: Some(staged.sha256.clone()),
            media_type: Some(kind.media_type().to_owned()),
        })
    }

    /// Clears what interrupted work leaves behind: uploads announced but not finished within
    /// `abandoned_after`, and staging files older than that (a crash between staging and blob).
    /// Finished uploads stay: their blobs may be attached later; blobs are never removed here.
    /// Returns (upload rows, files) removed.
    pub async fn sweep_uploads(
        &self,
        abandoned_after: time::Duration,
    ) -> Result<(u64, u64), StoreError> {
        let cutoff = OffsetDateTime::now_utc() - abandoned_after;
        let stale: Vec<String> = on_pool!(self.backend(), |p| sqlx::query_scalar(
            SELECT_UPLOADS_BY_SHA
        )
        .bind(cutoff)
        .fetch_all(p)
        .await)?;
        for id in &stale {
            self.drop_upload(id).await?;
        }
        let dir = self.blobs().staging_dir().to_path_buf();
        let old = std::time::SystemTime::now()
            .checked_sub(std::time::Duration::from_secs(
                u64::try_from(abandoned_after.whole_seconds()).unwrap_or(0),
            ))
            .unwrap_or(std::time::UNIX_EPOCH);
        let files = tokio::task::spawn_blocking(move || {
            let mut removed = 0;
            let Ok(entries) = std::fs::read_dir(&dir) else {
                return 0;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                // Uploads in progress are theirs to keep until their row is swept.
                if name.starts_with("upload-") {
                    continue;
                }
                let modified = entry.metadata().and_then(|m| m.modified()).ok();
                if modified.is_some_and(|m| m < old) && std::fs::remove_file(entry.path()).is_ok() {
                    removed += 1;
                }
            }
            removed
        })
        .await
        .unwrap_or(0);
        Ok((stale.len() as u64, files))
    }

    /// Forgets an upload that was refused (wrong type, empty).
    pub async fn drop_upload(&self, id: &str) -> Result<(), StoreError> {
        if let Err(e) = self.blobs.remove_upload(id).await {
            tracing::warn!(upload = id, error = %e, "an upload's received bytes were not removed");
        }
        on_pool!(self.backend(), |p| sqlx::query(DELETE_UPLOADS_BY_ID)
            .bind(id)
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }
}
