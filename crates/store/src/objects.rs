//! Files in an S3-compatible object store, so that several nodes on one PostgreSQL serve the same
//! files. The keys mirror the data dir's layout under a prefix (`{prefix}/blobs/ab/abcd…`,
//! `{prefix}/packs/00000001.pack`), so a data dir moves to a bucket with any S3 copy tool and
//! packs written before the move are still read, by ranged GETs.
//!
//! An S3 PUT is atomic and durable once answered: an object is either whole or absent. That is
//! the promise the data dir gets from rename-then-sync, so a dossier's row is committed only
//! after the PUTs of its files were answered, and a blob already present (same content-addressed
//! key, same size) needs no second upload.
//!
//! Chunks of a resumable upload are objects of their own, `{prefix}/uploads/{id}/{start}-{end}`:
//! any node can take the next chunk, and nothing is appended in place (S3 cannot). Two nodes
//! taking a retried chunk at once may leave two objects that start at the same byte; both hold
//! bytes of the same file, so any chain of chunks from the first byte to the last is the file.

use crate::packs::PackSpot;
use crate::StoreError;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as Key;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, PutPayload, RetryConfig};
use std::sync::Arc;
use std::time::Duration;

/// Where the object store is and how to sign in to it (the `[files]` settings).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ObjectSettings {
    /// Bucket name.
    pub bucket: String,
    /// Key prefix inside the bucket (e.g. `motcua`; empty for the bucket's root).
    pub prefix: String,
    /// Endpoint of an S3-compatible server (e.g. `https://s3.langson.gov.vn`); empty for AWS.
    pub endpoint: String,
    /// Region (most S3-compatible servers take any, e.g. `us-east-1`).
    pub region: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Allow a plain `http://` endpoint (a store on the same host or private network).
    pub allow_http: bool,
}

impl std::fmt::Debug for ObjectSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectSettings")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"***")
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

impl ObjectSettings {
    /// `s3://bucket/prefix at endpoint`, for logs and `doctor` (no secret).
    pub fn describe(&self) -> String {
        let at = if self.endpoint.is_empty() {
            String::new()
        } else {
            format!(" at {}", self.endpoint)
        };
        format!("s3://{}/{}{at}", self.bucket, self.prefix.trim_matches('/'))
    }
}

/// Gives the object store the client every provider is reached with (TLS on ring, set per
/// client: the store's own client would want a process-wide TLS provider).
#[derive(Debug)]
struct Connector;

impl object_store::client::HttpConnector for Connector {
    fn connect(&self, _: &ClientOptions) -> object_store::Result<object_store::client::HttpClient> {
        let generic = |e: String| object_store::Error::Generic {
            store: "S3",
            source: e.into(),
        };
        let client = motcua_gateways::http_client_builder(&[])
            .map_err(generic)?
            // A stalled store must fail a request in seconds, not hold a filing for minutes.
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| generic(e.to_string()))?;
        Ok(object_store::client::HttpClient::new(client))
    }
}

/// How many PUTs of one filing batch run at once.
const PARALLEL_PUTS: usize = 16;

/// The object store of an installation.
pub struct ObjectFiles {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    settings: ObjectSettings,
}

fn fail(key: &Key) -> impl Fn(object_store::Error) -> StoreError + '_ {
    move |e| match e {
        object_store::Error::NotFound { .. } => StoreError::Internal(format!(
            "stored file {key} is missing from the object store"
        )),
        source => StoreError::Objects {
            key: key.to_string(),
            source: Box::new(source),
        },
    }
}

impl ObjectFiles {
    /// Connects to the store `settings` names (nothing is sent before the first use; see
    /// [`ObjectFiles::check`]).
    pub fn open(settings: &ObjectSettings) -> Result<ObjectFiles, StoreError> {
        let refuse = |why: String| StoreError::Refused(format!("files: {why}"));
        if settings.bucket.trim().is_empty() {
            return Err(refuse("`bucket` is empty".into()));
        }
        let prefix = settings.prefix.trim_matches('/').to_owned();
        if prefix
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
            && !prefix.is_empty()
        {
            return Err(refuse(format!(
                "`prefix` {prefix:?} has an empty, '.' or '..' part"
            )));
        }
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(if settings.region.is_empty() {
                "us-east-1"
            } else {
                &settings.region
            })
            .with_access_key_id(&settings.access_key_id)
            .with_secret_access_key(&settings.secret_access_key)
            .with_allow_http(settings.allow_http)
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: 3,
                retry_timeout: Duration::from_secs(20),
            })
            .with_http_connector(Connector);
        if !settings.endpoint.is_empty() {
            // Self-hosted stores answer on a path per bucket, not on a name per bucket.
            b = b
                .with_endpoint(&settings.endpoint)
                .with_virtual_hosted_style_request(false);
        }
        let store = b
            .build()
            .map_err(|e| refuse(format!("the object store settings are unusable: {e}")))?;
        Ok(ObjectFiles {
            store: Arc::new(store),
            prefix,
            settings: settings.clone(),
        })
    }

    /// The settings it was opened with.
    pub fn settings(&self) -> &ObjectSettings {
        &self.settings
    }

    fn key(&self, rest: &str) -> Key {
        if self.prefix.is_empty() {
            Key::from(rest)
        } else {
            Key::from(format!("{}/{rest}", self.prefix))
        }
    }

    fn blob_key(&self, sha256: &str) -> Result<Key, StoreError> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::Refused(format!("'{sha256}' is not a SHA-256")));
        }
        Ok(self.key(&format!("blobs/{}/{sha256}", &sha256[..2])))
    }

    fn upload_dir(&self, upload: &str) -> Result<Key, StoreError> {
        if upload.is_empty()
            || !upload
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(StoreError::Refused(format!(
                "'{upload}' is not an upload id"
            )));
        }
        Ok(self.key(&format!("uploads/{upload}")))
    }

    /// Writes and reads back a small object and removes it: the store answers, the bucket exists
    /// and the credentials may write. Run when a node starts, so a wrong setting stops it there.
    pub async fn check(&self) -> Result<(), StoreError> {
        let key = self.key(&format!("check/{}", uuid::Uuid::new_v4().simple()));
        self.store
            .put(&key, PutPayload::from_static(b"motcua"))
            .await
            .map_err(fail(&key))?;
        let back = self
            .store
            .get(&key)
            .await
            .map_err(fail(&key))?
            .bytes()
            .await
            .map_err(fail(&key))?;
        self.store.delete(&key).await.map_err(fail(&key))?;
        if back.as_ref() != b"motcua" {
            return Err(StoreError::Internal(format!(
                "the object store gave back other bytes than were written to {key}"
            )));
        }
        Ok(())
    }

    /// The size of blob `sha256` as stored, if it is.
    pub async fn size(&self, sha256: &str) -> Result<Option<u64>, StoreError> {
        let key = self.blob_key(sha256)?;
        match self.store.head(&key).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(fail(&key)(e)),
        }
    }

    /// Stores a blob given as its chunks (kept, not copied). No HEAD first: the key names the
    /// content, so a second PUT of a blob already there writes the same bytes again, and for a
    /// file held in memory (1 MB at most) that costs less than a round trip on every filing.
    pub async fn put_blob(&self, sha256: &str, chunks: Vec<Bytes>) -> Result<(), StoreError> {
        let key = self.blob_key(sha256)?;
        self.store
            .put(&key, chunks.into_iter().collect::<PutPayload>())
            .await
            .map_err(fail(&key))?;
        Ok(())
    }

    /// Stores a blob from a local file (a staging file), streaming it in parts when it is
    /// large, unless it is there already.
    pub async fn put_blob_file(
        &self,
        sha256: &str,
        size: u64,
        path: &std::path::Path,
    ) -> Result<(), StoreError> {
        let key = self.blob_key(sha256)?;
        // Already there whole (content-addressed: its size is enough): not sent again.
        if self.size(sha256).await? == Some(size) {
            return Ok(());
        }
        let io = |source| StoreError::DataDir {
            path: path.to_path_buf(),
            source,
        };
        let mut file = tokio::fs::File::open(path).await.map_err(io)?;
        let mut writer = object_store::buffered::BufWriter::new(self.store.clone(), key.clone());
        let copied = tokio::io::copy(&mut file, &mut writer).await;
        if let Err(e) = copied {
            let _ = writer.abort().await;
            return Err(StoreError::Objects {
                key: key.to_string(),
                source: Box::new(e),
            });
        }
        tokio::io::AsyncWriteExt::shutdown(&mut writer)
            .await
            .map_err(|e| StoreError::Objects {
                key: key.to_string(),
                source: Box::new(e),
            })
    }

    /// Stores the blobs of a filing batch, several PUTs at once; returns once every one of them
    /// was answered (durable), or with the first failure.
    pub async fn put_blobs(&self, blobs: Vec<(String, Vec<Bytes>)>) -> Result<(), StoreError> {
        futures_util::stream::iter(blobs)
            .map(|(sha, chunks)| async move { self.put_blob(&sha, chunks).await })
            .buffer_unordered(PARALLEL_PUTS)
            .try_collect::<Vec<()>>()
            .await
            .map(|_| ())
    }

    /// The bytes of a blob (a whole object, or a range of a pack moved over from a data dir),
    /// as a stream.
    pub async fn read(
        &self,
        sha256: &str,
        spot: Option<PackSpot>,
        size: u64,
    ) -> Result<futures_util::stream::BoxStream<'static, std::io::Result<Bytes>>, StoreError> {
        let (key, range) = match spot {
            Some(spot) => {
                let start = u64::try_from(spot.offset).map_err(|_| {
                    StoreError::Internal(format!("negative pack offset {}", spot.offset))
                })?;
                (
                    self.key(&format!("packs/{:08}.pack", spot.pack)),
                    Some(start..start + size),
                )
            }
            None => (self.blob_key(sha256)?, None),
        };
        if size == 0 {
            return Ok(futures_util::stream::empty().boxed());
        }
        let options = object_store::GetOptions {
            range: range.map(object_store::GetRange::Bounded),
            ..Default::default()
        };
        let got = self
            .store
            .get_opts(&key, options)
            .await
            .map_err(fail(&key))?;
        Ok(got.into_stream().map_err(std::io::Error::other).boxed())
    }

    /// A whole pack (moved over from a data dir), as a stream.
    pub async fn read_pack(
        &self,
        pack: i64,
    ) -> Result<futures_util::stream::BoxStream<'static, std::io::Result<Bytes>>, StoreError> {
        let key = self.key(&format!("packs/{pack:08}.pack"));
        let got = self.store.get(&key).await.map_err(fail(&key))?;
        Ok(got.into_stream().map_err(std::io::Error::other).boxed())
    }

    /// Stores a chunk of upload `upload` that covers bytes `start..start + chunk.len()`.
    pub async fn put_chunk(
        &self,
        upload: &str,
        start: u64,
        chunk: Vec<u8>,
    ) -> Result<(), StoreError> {
        let end = start + chunk.len() as u64;
        let key = Key::from(format!(
            "{}/{start:020}-{end:020}",
            self.upload_dir(upload)?
        ));
        self.store
            .put(&key, PutPayload::from(chunk))
            .await
            .map_err(fail(&key))?;
        Ok(())
    }

    /// The chunk objects of an upload that make up bytes `0..size`, in order.
    async fn chunk_chain(&self, upload: &str, size: u64) -> Result<Vec<Key>, StoreError> {
        let dir = self.upload_dir(upload)?;
        let spans: Vec<(u64, u64, Key)> = self
            .store
            .list(Some(&dir))
            .map_err(fail(&dir))
            .try_filter_map(|meta| async move {
                let name = meta.location.filename().unwrap_or_default().to_owned();
                Ok(chunk_span(&name).map(|(s, e)| (s, e, meta.location)))
            })
            .try_collect()
            .await?;
        chain(&spans, size)
            .map(|picked| picked.into_iter().map(|i| spans[i].2.clone()).collect())
            .ok_or_else(|| {
                StoreError::Internal(format!(
                    "upload {upload}: the stored chunks do not cover its {size} bytes"
                ))
            })
    }

    /// The bytes of a complete upload, as a stream, chunk after chunk.
    pub async fn read_upload(
        &self,
        upload: &str,
        size: u64,
    ) -> Result<futures_util::stream::BoxStream<'static, std::io::Result<Bytes>>, StoreError> {
        let keys = self.chunk_chain(upload, size).await?;
        let store = self.store.clone();
        Ok(futures_util::stream::iter(keys)
            .then(move |key| {
                let store = store.clone();
                async move {
                    store
                        .get(&key)
                        .await
                        .map_err(std::io::Error::other)?
                        .bytes()
                        .await
                        .map_err(std::io::Error::other)
                }
            })
            .boxed())
    }

    /// Removes every chunk of an upload (once it became a blob, or was given up).
    pub async fn remove_upload(&self, upload: &str) -> Result<(), StoreError> {
        let dir = self.upload_dir(upload)?;
        let keys = self.store.list(Some(&dir)).map_ok(|m| m.location).boxed();
        self.store
            .delete_stream(keys)
            .try_collect::<Vec<_>>()
            .await
            .map_err(fail(&dir))?;
        Ok(())
    }
}

/// `start-end` of a chunk object's name.
fn chunk_span(name: &str) -> Option<(u64, u64)> {
    let (s, e) = name.split_once('-')?;
    let (s, e) = (s.parse().ok()?, e.parse().ok()?);
    (s < e).then_some((s, e))
}

/// Indexes of spans that join end to start from byte 0 to `size`, if there is such a chain.
/// A search rather than a greedy walk: of two chunks that start at the same byte, the one the
/// next chunk continues from may be the shorter.
fn chain(spans: &[(u64, u64, Key)], size: u64) -> Option<Vec<usize>> {
    use std::collections::{HashMap, VecDeque};
    // For each byte reached, the span that reached it first.
    let mut came_by: HashMap<u64, Option<usize>> = HashMap::from([(0, None)]);
    let mut queue = VecDeque::from([0u64]);
    while let Some(at) = queue.pop_front() {
        if at == size {
            break;
        }
        for (i, (s, e, _)) in spans.iter().enumerate() {
            if *s == at && *e <= size && !came_by.contains_key(e) {
                came_by.insert(*e, Some(i));
                queue.push_back(*e);
            }
        }
    }
    let mut picked = Vec::new();
    let mut at = size;
    while let Some(&Some(i)) = came_by.get(&at) {
        picked.push(i);
        at = spans[i].0;
    }
    (at == 0 && came_by.contains_key(&size)).then(|| {
        picked.reverse();
        picked
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(list: &[(u64, u64)]) -> Vec<(u64, u64, Key)> {
        list.iter()
            .map(|&(s, e)| (s, e, Key::from(format!("{s:020}-{e:020}"))))
            .collect()
    }

    #[test]
    fn chunks_that_follow_each_other_make_the_file() {
        let s = spans(&[(0, 10), (10, 25), (25, 30)]);
        assert_eq!(chain(&s, 30), Some(vec![0, 1, 2]));
        assert_eq!(chain(&s, 31), None, "one byte short");
    }

    #[test]
    fn a_gap_is_found_and_a_retried_chunk_of_another_length_is_passed_over() {
        // A chunk 10..15 taken, a retry of it as 10..20 left behind by a second node: the
        // longer one leads nowhere.
        let s = spans(&[(0, 10), (10, 20), (10, 15), (15, 30)]);
        let ends: Vec<u64> = chain(&s, 30)
            .expect("a chain")
            .iter()
            .map(|&i| s[i].1)
            .collect();
        assert_eq!(ends, vec![10, 15, 30]);
        assert_eq!(chain(&spans(&[(0, 10), (12, 30)]), 30), None);
        assert_eq!(chain(&spans(&[]), 0), Some(vec![]));
    }

    #[test]
    fn names_that_are_not_chunks_are_ignored() {
        assert_eq!(
            chunk_span("00000000000000000000-00000000000000000010"),
            Some((0, 10))
        );
        assert_eq!(
            chunk_span("00000000000000000010-00000000000000000010"),
            None
        );
        assert_eq!(chunk_span("notes.txt"), None);
    }
}
