//! Files of dossiers, stored once per content under their SHA-256 (`blobs/ab/abcd…`), or in a
//! pack when they arrive with a filing (see [`crate::packs`]). A file
//! is written to a staging file first, renamed into place once its hash is known, then synced
//! with its directory: a blob that a committed row names is on disk, whatever crashes afterwards.
//! Syncing after the rename rather than before costs one journal commit instead of two.
//!
//! The 256 directories exist from the start (see [`FsBlobStore::open`]), so storing a file never
//! creates a directory, whose entry would need two more syncs of the parents. One level of 256
//! keeps directories small enough: a million blobs are some 4 000 names each, which ext4 and XFS
//! look up by hashed index. Data dirs of the earlier two-level layout (`blobs/ab/cd/abcd…`) are
//! moved to this one when opened.
//!
//! A crash between the rename and the sync can leave an incomplete file under a blob's name,
//! which no committed row names (rows are committed only after the sync). So a blob already in
//! place is trusted only once its content is read back and matches its name; otherwise the new
//! copy replaces it.

use crate::packs::{PackSpot, Packs};
use crate::StoreError;
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Bytes kept from the start of a file to recognise its type.
pub const HEAD_BYTES: usize = 512;

/// Largest file a [`Staging::memory_first`] keeps in memory; a larger one goes to a staging file.
pub const MEMORY_FILE_MAX: usize = 1 << 20;

/// Bytes all in-memory staged files of the server may hold together; past it, new files go to
/// staging files, so a burst of large requests cannot take the machine's memory.
const MEMORY_BUDGET: usize = 64 << 20;

/// Bytes held by in-memory staged files now, against [`MEMORY_BUDGET`].
static IN_MEMORY: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Takes `n` bytes of the memory budget, if they are left.
fn reserve(n: usize) -> bool {
    use std::sync::atomic::Ordering;
    IN_MEMORY
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
            held.checked_add(n).filter(|&t| t <= MEMORY_BUDGET)
        })
        .is_ok()
}

fn release(n: usize) {
    IN_MEMORY.fetch_sub(n, std::sync::atomic::Ordering::AcqRel);
}

/// A whole file held in memory, as the chunks it arrived in (kept, not copied); its bytes count
/// against the memory budget until dropped.
#[derive(Debug)]
pub struct InMemory {
    chunks: Vec<bytes::Bytes>,
    reserved: usize,
}

impl InMemory {
    /// The content, chunk by chunk.
    pub fn chunks(&self) -> impl Iterator<Item = &[u8]> {
        self.chunks.iter().map(|c| c.as_ref())
    }

    /// The chunks, shared rather than copied.
    pub(crate) fn bytes(&self) -> Vec<bytes::Bytes> {
        self.chunks.clone()
    }
}

impl Drop for InMemory {
    fn drop(&mut self) {
        release(self.reserved);
    }
}

/// Where a file being received goes.
enum Sink {
    Memory(InMemory),
    // Buffered: network chunks are small, and each write(2) takes the file's lock.
    File {
        path: PathBuf,
        file: std::io::BufWriter<File>,
    },
}

/// A file being received: hashed and counted as it is written.
pub struct Staging {
    dir: PathBuf,
    sink: Sink,
    hasher: Sha256,
    size: u64,
    head: Vec<u8>,
}

/// Where the bytes of a received file are.
#[derive(Debug, Clone)]
enum Content {
    File(PathBuf),
    Memory(std::sync::Arc<InMemory>),
}

/// A fully received file, not yet durable: [`FsBlobStore::commit`] stores it as a file of its own,
/// and a filing stores one held in memory in a pack (see [`crate::packs`]).
#[derive(Debug, Clone)]
pub struct Staged {
    content: Content,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    /// Length in bytes.
    pub size: u64,
    /// The first bytes, to recognise the type.
    pub head: Vec<u8>,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::DataDir {
        path: path.to_path_buf(),
        source,
    }
}

/// Creates a new staging file in `dir` (and `dir` itself if it was removed).
fn create_staging_file(dir: &Path) -> Result<(PathBuf, File), StoreError> {
    let path = dir.join(format!("{}.part", uuid::Uuid::new_v4()));
    // The directory is made on first use (or again if removed), not checked before each file.
    let file = match File::create(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
            File::create(&path)
        }
        created => created,
    }
    .map_err(io(&path))?;
    Ok((path, file))
}

impl Staging {
    /// Starts a staging file in `dir`.
    pub fn new(dir: &Path) -> Result<Staging, StoreError> {
        let (path, file) = create_staging_file(dir)?;
        Ok(Staging::with(
            dir,
            Sink::File {
                path,
                file: std::io::BufWriter::with_capacity(64 * 1024, file),
            },
        ))
    }

    /// Starts in memory, and moves to a staging file in `dir` once the file passes
    /// [`MEMORY_FILE_MAX`] or the server's memory budget. Files that arrive with a filing are
    /// then written once, into a pack, with no file of their own to create and sync.
    pub fn memory_first(dir: &Path) -> Staging {
        Staging::with(
            dir,
            Sink::Memory(InMemory {
                chunks: Vec::new(),
                reserved: 0,
            }),
        )
    }

    fn with(dir: &Path, sink: Sink) -> Staging {
        Staging {
            dir: dir.to_path_buf(),
            sink,
            hasher: Sha256::new(),
            size: 0,
            head: Vec::new(),
        }
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a chunk.
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError> {
        if let Sink::Memory(_) = self.sink {
            return self.write_bytes(bytes::Bytes::copy_from_slice(chunk));
        }
        self.account(chunk);
        self.write_file(chunk)
    }

    /// Appends a chunk, kept as it is (not copied) while the file stays in memory.
    pub fn write_bytes(&mut self, chunk: bytes::Bytes) -> Result<(), StoreError> {
        self.account(&chunk);
        if let Sink::Memory(m) = &mut self.sink {
            if m.reserved + chunk.len() <= MEMORY_FILE_MAX && reserve(chunk.len()) {
                m.reserved += chunk.len();
                m.chunks.push(chunk);
                return Ok(());
            }
        }
        if let Sink::Memory(_) = self.sink {
            self.spill()?;
        }
        self.write_file(&chunk)
    }

    /// Counts a chunk into the size, the hash and the head.
    fn account(&mut self, chunk: &[u8]) {
        if self.head.len() < HEAD_BYTES {
            let take = (HEAD_BYTES - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
    }

    /// Moves what is held in memory to a new staging file, where the following chunks go. The
    /// file is the sink before anything is written, so a failure leaves it to `discard`.
    fn spill(&mut self) -> Result<(), StoreError> {
        let (path, file) = create_staging_file(&self.dir)?;
        let file = std::io::BufWriter::with_capacity(64 * 1024, file);
        let held = std::mem::replace(&mut self.sink, Sink::File { path, file });
        if let Sink::Memory(m) = held {
            // Dropped at the end of this block: its bytes go back to the budget.
            for c in m.chunks() {
                self.write_file(c)?;
            }
        }
        Ok(())
    }

    fn write_file(&mut self, chunk: &[u8]) -> Result<(), StoreError> {
        match &mut self.sink {
            Sink::File { path, file } => file.write_all(chunk).map_err(io(path)),
            Sink::Memory(_) => Err(StoreError::Internal("staging: no file to write to".into())),
        }
    }

    /// Writes out what is buffered and returns what was received (cheap: nothing is synced).
    pub fn finish(self) -> Result<Staged, StoreError> {
        let content = match self.sink {
            Sink::Memory(m) => Content::Memory(std::sync::Arc::new(m)),
            Sink::File { path, mut file } => {
                file.flush().map_err(io(&path))?;
                Content::File(path)
            }
        };
        Ok(Staged {
            content,
            sha256: hex::encode(self.hasher.finalize()),
            size: self.size,
            head: self.head,
        })
    }

    /// Gives up: the staging file is removed (what is still buffered is dropped unwritten).
    pub fn discard(self) {
        if let Sink::File { path, file } = self.sink {
            let (_file, _unwritten) = file.into_parts();
            let _ = std::fs::remove_file(&path);
        }
    }
}

impl Staged {
    /// Removes the staging file (after a refusal, or after the blob was committed elsewhere).
    pub fn discard(&self) {
        if let Content::File(path) = &self.content {
            let _ = std::fs::remove_file(path);
        }
    }

    /// The whole content, read back (blocking when it is in a staging file): for checks that
    /// need more than the first bytes, such as parsing a PDF.
    pub fn read_all(&self) -> Result<Vec<u8>, StoreError> {
        match &self.content {
            Content::Memory(m) => Ok(m.chunks().flat_map(|c| c.iter().copied()).collect()),
            Content::File(path) => std::fs::read(path).map_err(io(path)),
        }
    }

    /// The staging file holding the content, when it is not held in memory.
    pub(crate) fn staging_path(&self) -> Option<&Path> {
        match &self.content {
            Content::File(path) => Some(path),
            Content::Memory(_) => None,
        }
    }

    /// The content, when it is held in memory (see [`Staging::memory_first`]).
    pub fn in_memory(&self) -> Option<std::sync::Arc<InMemory>> {
        match &self.content {
            Content::Memory(m) => Some(m.clone()),
            Content::File(_) => None,
        }
    }
}

/// Whether `target` exists with exactly the content `staged` has (same length and hash).
fn holds(target: &Path, staged: &Staged) -> Result<bool, StoreError> {
    match std::fs::metadata(target) {
        Ok(m) if m.len() == staged.size => Ok(stage_existing(target)?.sha256 == staged.sha256),
        Ok(_) => Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io(target)(e)),
    }
}

/// Reads a partial upload file from the start, for hashing once all of it has arrived.
pub fn stage_existing(path: &Path) -> Result<Staged, StoreError> {
    let mut file = File::open(path).map_err(io(path))?;
    let mut hasher = Sha256::new();
    let mut head = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        if head.len() < HEAD_BYTES {
            let take = (HEAD_BYTES - head.len()).min(n);
            head.extend_from_slice(&buf[..take]);
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok(Staged {
        content: Content::File(path.to_path_buf()),
        sha256: hex::encode(hasher.finalize()),
        size,
        head,
    })
}

/// Appends `chunk` at `offset` of a partial upload file and syncs it; the caller has checked that
/// `offset` is the current length.
pub fn append_at(path: &Path, offset: u64, chunk: &[u8]) -> Result<(), StoreError> {
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io(path))?;
    // A crash after a write but before the database noted it leaves extra bytes: cut them off.
    file.set_len(offset).map_err(io(path))?;
    file.seek(SeekFrom::Start(offset)).map_err(io(path))?;
    file.write_all(chunk).map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

/// Blobs in a directory tree on the local file system.
pub struct FsBlobStore {
    root: PathBuf,
    staging: PathBuf,
    packs: Packs,
}

/// Written once every blob is in the one-level layout, so later opens need not look.
const LAYOUT_MARK: &str = "layout-v2";

impl FsBlobStore {
    /// Blobs under `data_dir/blobs`, packs under `data_dir/packs`, staging under
    /// `data_dir/staging`. Creates the 256 blob
    /// directories durably if they are missing, and moves blobs of the earlier two-level layout
    /// into them (resumable: a move cut short by a crash is finished at the next open).
    pub fn open(data_dir: &Path) -> Result<FsBlobStore, StoreError> {
        let store = FsBlobStore {
            root: data_dir.join("blobs"),
            staging: data_dir.join("staging"),
            packs: Packs::new(data_dir.join("packs")),
        };
        let mark = store.root.join(LAYOUT_MARK);
        if !mark.exists() {
            store.prepare_layout()?;
            File::create(&mark).map_err(io(&mark))?;
            sync_path(&store.root)?;
        }
        Ok(store)
    }

    fn prepare_layout(&self) -> Result<(), StoreError> {
        std::fs::create_dir_all(&self.root).map_err(io(&self.root))?;
        for byte in 0..=255u8 {
            let dir = self.root.join(format!("{byte:02x}"));
            match std::fs::create_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    self.flatten(&dir)?;
                }
                Err(e) => return Err(io(&dir)(e)),
            }
        }
        // One sync of the parent makes all the new entries durable.
        sync_path(&self.root)?;
        if let Some(data_dir) = self.root.parent() {
            sync_path(data_dir)?;
        }
        Ok(())
    }

    /// Moves `ab/cd/<sha>` files of the two-level layout up to `ab/<sha>` and removes the
    /// emptied `cd` directories. A blob already at its new place wins (same name, same content).
    fn flatten(&self, dir: &Path) -> Result<(), StoreError> {
        // Another process opening the same data dir may be moving the same files: what it
        // already moved or removed is not an error.
        let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let entry = entry.map_err(io(dir))?;
            let sub = entry.path();
            if !entry.file_type().map_err(io(&sub))?.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(&sub).map_err(io(&sub))? {
                let file = file.map_err(io(&sub))?;
                let target = dir.join(file.file_name());
                let outcome = if target.exists() {
                    std::fs::remove_file(file.path())
                } else {
                    std::fs::rename(file.path(), &target)
                };
                match outcome {
                    Err(e) if !gone(&e) => return Err(io(&target)(e)),
                    _ => {}
                }
            }
            // The new entries are durable before the old directory goes.
            sync_path(dir)?;
            match std::fs::remove_dir(&sub) {
                Err(e) if !gone(&e) => return Err(io(&sub)(e)),
                _ => {}
            }
        }
        Ok(())
    }

    fn path_of(&self, sha256: &str) -> Result<PathBuf, StoreError> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::Refused(format!("'{sha256}' is not a SHA-256")));
        }
        Ok(self.root.join(&sha256[..2]).join(sha256))
    }
}

/// Drops the synced range `start..start + len` of `file` (to its end when `len` is 0) from the
/// page cache. A stored blob is seldom read soon, and the pages freed this way are the ones the
/// next write takes, still warm. Left cached, every write takes fresh pages, and on a virtual
/// machine a page first touched (or handed back to the host) costs more than copying the bytes
/// into it: under a stream of filings that copy fell from 15 % of the machine's CPU samples to
/// 2 % (see docs/performance.md, Files and packs). It is only advice: a kernel that ignores it loses nothing
/// but that saving, so its error is not the caller's.
pub(crate) fn release_cache(file: &File, start: u64, len: u64) {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    if let Err(e) = rustix::fs::fadvise(
        file,
        start,
        std::num::NonZeroU64::new(len),
        rustix::fs::Advice::DontNeed,
    ) {
        tracing::debug!(error = %e, "stored pages not released from the cache");
    }
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    let _ = (file, start, len);
}

/// Syncs the blob file at `path` and releases its pages (see [`release_cache`]).
fn sync_blob(path: &Path) -> Result<(), StoreError> {
    let file = File::open(path).map_err(io(path))?;
    file.sync_all().map_err(io(path))?;
    release_cache(&file, 0, 0);
    Ok(())
}

/// Makes a file's content, or a directory's entries, durable.
fn sync_path(path: &Path) -> Result<(), StoreError> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(io(path))
}

impl FsBlobStore {
    /// Moves a finished staging file into the store under its hash (a no-op when that content
    /// is already there) and makes it durable. Whatever the outcome the staging file is gone
    /// afterwards: callers have nothing to clean up.
    pub fn commit(&self, staged: &Staged) -> Result<(), StoreError> {
        let source = match &staged.content {
            Content::File(path) => path.clone(),
            Content::Memory(m) => spill(&self.staging, m)?,
        };
        let done = self.move_into_place(&source, staged);
        if done.is_err() {
            let _ = std::fs::remove_file(&source);
        }
        done
    }

    /// Opens a stored blob for reading.
    pub fn open_blob(&self, sha256: &str) -> Result<File, StoreError> {
        let path = self.path_of(sha256)?;
        File::open(&path).map_err(io(&path))
    }

    /// Directory for staging files.
    pub fn staging_dir(&self) -> &Path {
        &self.staging
    }

    /// Stores files held in memory durably, all with one sync (see [`crate::packs`]), and says
    /// where each one is.
    pub fn append_packed(&self, blobs: &[&InMemory]) -> Result<Vec<PackSpot>, StoreError> {
        let chunked: Vec<Vec<&[u8]>> = blobs.iter().map(|b| b.chunks().collect()).collect();
        self.packs.append(&chunked)
    }

    /// Opens a packed blob, positioned at its first byte.
    pub fn open_packed(&self, spot: PackSpot) -> Result<File, StoreError> {
        self.packs.open(spot)
    }
}

/// Writes in-memory content to a new staging file, for stores that keep a file per blob.
fn spill(dir: &Path, content: &InMemory) -> Result<PathBuf, StoreError> {
    let (path, mut file) = create_staging_file(dir)?;
    if let Err(e) = content.chunks().try_for_each(|c| file.write_all(c)) {
        let _ = std::fs::remove_file(&path);
        return Err(io(&path)(e));
    }
    Ok(path)
}

impl FsBlobStore {
    /// Makes the next pack sync fail (see [`Packs::fail_next_sync`]).
    #[cfg(feature = "faults")]
    pub fn fail_next_pack_sync(&self) {
        self.packs.fail_next_sync();
    }

    /// Renames `source`, the staging file of `staged`, to its blob name and syncs both.
    fn move_into_place(&self, source: &Path, staged: &Staged) -> Result<(), StoreError> {
        let target = self.path_of(&staged.sha256)?;
        let dir = target.parent().unwrap_or(&self.root);
        if holds(&target, staged)? {
            // Synced again: another request may have renamed it in without having synced yet.
            let _ = std::fs::remove_file(source);
            sync_blob(&target)?;
            return sync_path(dir);
        }
        match std::fs::rename(source, &target) {
            // A blob directory removed by hand after the store opened: made again, durably.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !dir.exists() => {
                std::fs::create_dir_all(dir).map_err(io(dir))?;
                sync_path(&self.root)?;
                std::fs::rename(source, &target)
            }
            renamed => renamed,
        }
        .map_err(io(&target))?;
        sync_blob(&target)?;
        sync_path(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `content` received whole into `store`'s staging directory.
    fn receive(store: &FsBlobStore, content: &[u8]) -> Staged {
        let mut s = Staging::new(store.staging_dir()).expect("staging");
        s.write(content).expect("write");
        s.finish().expect("finish")
    }

    /// The content `store` gives back for `sha256`, as text.
    fn read_back(store: &FsBlobStore, sha256: &str) -> String {
        let mut text = String::new();
        store
            .open_blob(sha256)
            .expect("open blob")
            .read_to_string(&mut text)
            .expect("read");
        text
    }

    #[test]
    fn the_same_content_is_stored_once_under_its_hash() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = FsBlobStore::open(dir.path()).expect("open");
        let mut ids = Vec::new();
        for _ in 0..2 {
            let staged = receive(&store, b"%PDF-1.7 hello");
            store.commit(&staged).expect("commit");
            ids.push(staged.sha256);
        }
        assert_eq!(ids[0], ids[1]);
        assert_eq!(read_back(&store, &ids[0]), "%PDF-1.7 hello");
        assert_eq!(
            std::fs::read_dir(store.staging_dir()).expect("dir").count(),
            0
        );
        assert!(store.open_blob("../../etc/passwd").is_err());
    }

    #[test]
    fn an_incomplete_file_left_under_a_blob_name_is_replaced() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = FsBlobStore::open(dir.path()).expect("open");
        let staged = receive(&store, b"%PDF-1.7 the whole file");
        // What a crash between a rename and its sync can leave: the name, not all the content.
        let target = store.path_of(&staged.sha256).expect("path");
        std::fs::write(&target, b"%PDF-1.7 the whole").expect("truncated");
        store.commit(&staged).expect("commit");
        assert_eq!(read_back(&store, &staged.sha256), "%PDF-1.7 the whole file");
        // Same length, other bytes: replaced too.
        std::fs::write(&target, b"%PDF-1.7 the whole fil!").expect("garbled");
        store
            .commit(&receive(&store, b"%PDF-1.7 the whole file"))
            .expect("commit");
        assert_eq!(
            std::fs::read(&target).expect("read"),
            b"%PDF-1.7 the whole file"
        );
    }

    #[test]
    fn blobs_of_the_two_level_layout_are_moved_up_and_stay_readable() {
        let dir = tempfile::tempdir().expect("tmp");
        let sha = hex::encode(Sha256::digest(b"%PDF-1.7 old"));
        let legacy = dir.path().join("blobs").join(&sha[..2]).join(&sha[2..4]);
        std::fs::create_dir_all(&legacy).expect("mkdir");
        std::fs::write(legacy.join(&sha), b"%PDF-1.7 old").expect("write");
        let store = FsBlobStore::open(dir.path()).expect("open");
        assert_eq!(read_back(&store, &sha), "%PDF-1.7 old");
        assert!(!legacy.exists(), "the old directory is removed");
        let dirs = std::fs::read_dir(dir.path().join("blobs"))
            .expect("blobs")
            .flatten()
            .filter(|e| e.path().is_dir())
            .count();
        assert_eq!(dirs, 256, "every blob directory exists from the start");
        // Opening again finds the layout done and keeps the blob.
        let again = FsBlobStore::open(dir.path()).expect("reopen");
        assert!(again.open_blob(&sha).is_ok());
    }

    #[test]
    fn a_file_where_a_blob_directory_belongs_stops_the_opening_and_names_it() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(dir.path().join("blobs")).expect("mkdir");
        std::fs::write(dir.path().join("blobs").join("7f"), b"junk").expect("junk");
        let message = FsBlobStore::open(dir.path())
            .err()
            .expect("refused")
            .to_string();
        assert!(message.contains("7f"), "{message}");
        // The junk is left as it was, for the operator to look at.
        assert_eq!(
            std::fs::read(dir.path().join("blobs").join("7f")).expect("kept"),
            b"junk"
        );
    }

    #[test]
    fn a_blob_directory_removed_after_opening_is_made_again() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = FsBlobStore::open(dir.path()).expect("open");
        let staged = receive(&store, b"%PDF-1.7 again");
        let target = store.path_of(&staged.sha256).expect("path");
        std::fs::remove_dir(target.parent().expect("dir")).expect("rmdir");
        store.commit(&staged).expect("commit");
        assert_eq!(std::fs::read(&target).expect("read"), b"%PDF-1.7 again");
    }

    #[test]
    fn a_staging_directory_removed_while_serving_is_made_again() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = FsBlobStore::open(dir.path()).expect("open");
        receive(&store, b"%PDF-1.7 first").discard();
        std::fs::remove_dir(store.staging_dir()).expect("rmdir");
        let staged = receive(&store, b"%PDF-1.7 second");
        store.commit(&staged).expect("commit");
        assert_eq!(read_back(&store, &staged.sha256), "%PDF-1.7 second");
    }

    #[test]
    fn a_failed_commit_leaves_no_staging_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = FsBlobStore::open(dir.path()).expect("open");
        let mut staged = receive(&store, b"%PDF-1.7 x");
        staged.sha256 = "not a hash".into();
        assert!(store.commit(&staged).is_err());
        assert_eq!(
            std::fs::read_dir(store.staging_dir()).expect("dir").count(),
            0
        );
    }

    /// Files in the staging directory.
    fn staging_files(store: &FsBlobStore) -> usize {
        std::fs::read_dir(store.staging_dir()).map_or(0, |d| d.count())
    }

    // One test, as the memory budget is shared by the whole process.
    #[test]
    fn small_files_stay_in_memory_and_others_go_to_a_staging_file() {
        use std::sync::atomic::Ordering;
        let dir = tempfile::tempdir().expect("tmp");
        let store = FsBlobStore::open(dir.path()).expect("open");
        let before = IN_MEMORY.load(Ordering::Acquire);

        let mut small = Staging::memory_first(store.staging_dir());
        small.write(b"%PDF-1.7 ").expect("write");
        small.write(b"small").expect("write");
        let small = small.finish().expect("finish");
        let held: Vec<u8> = small
            .in_memory()
            .expect("in memory")
            .chunks()
            .flatten()
            .copied()
            .collect();
        assert_eq!(held, b"%PDF-1.7 small");
        assert_eq!(staging_files(&store), 0);
        assert_eq!(IN_MEMORY.load(Ordering::Acquire), before + 14);
        // Stored as a file of its own when committed (a draft's file).
        store.commit(&small).expect("commit");
        assert_eq!(read_back(&store, &small.sha256), "%PDF-1.7 small");
        assert_eq!(staging_files(&store), 0);
        drop(small);
        assert_eq!(
            IN_MEMORY.load(Ordering::Acquire),
            before,
            "memory given back"
        );

        let chunk = vec![b'.'; MEMORY_FILE_MAX / 2 + 1];
        let mut large = Staging::memory_first(store.staging_dir());
        large.write(b"%PDF-1.7").expect("write");
        large.write(&chunk).expect("write");
        large.write(&chunk).expect("write");
        let large = large.finish().expect("finish");
        assert!(large.in_memory().is_none(), "past the per-file limit");
        assert_eq!(staging_files(&store), 1);
        assert_eq!(IN_MEMORY.load(Ordering::Acquire), before);
        store.commit(&large).expect("commit");
        let mut whole = Vec::new();
        store
            .open_blob(&large.sha256)
            .expect("open")
            .read_to_end(&mut whole)
            .expect("read");
        assert_eq!(whole.len(), 8 + 2 * chunk.len());
        assert!(whole.starts_with(b"%PDF-1.7.."));

        // With the server's budget taken, even a small file goes to disk.
        assert!(reserve(MEMORY_BUDGET - before));
        let mut squeezed = Staging::memory_first(store.staging_dir());
        squeezed.write(b"%PDF-1.7 squeezed").expect("write");
        let squeezed = squeezed.finish().expect("finish");
        release(MEMORY_BUDGET - before);
        assert!(squeezed.in_memory().is_none());
        squeezed.discard();
        assert_eq!(staging_files(&store), 0);
    }

    #[test]
    fn appends_resume_at_the_recorded_offset() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("u.part");
        append_at(&path, 0, b"abcdef").expect("first");
        // The database recorded only 3 bytes: the tail is rewritten from there.
        append_at(&path, 3, b"XYZ").expect("second");
        assert_eq!(std::fs::read(&path).expect("read"), b"abcXYZ");
        let staged = stage_existing(&path).expect("stage");
        assert_eq!(staged.size, 6);
        assert_eq!(staged.head, b"abcXYZ");
    }
}
