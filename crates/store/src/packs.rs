//! Pack files: the files that arrive with a filing are appended, all the files of a batch of
//! filings together, to one pack file, which is then synced once. A file of its own per blob
//! would cost a new inode, a sync of the file and a sync of its directory per blob; under
//! concurrent filings the pack costs one sync per batch.
//!
//! Packs are `data_dir/packs/00000001.pack`, … and only ever grow; a new one is started past
//! [`PACK_MAX`]. A blob's row names its pack and offset, and is committed only after the pack
//! was synced. A crash in between leaves bytes at the end of the pack that no row names; the
//! next append starts after them, so they are never read.

use crate::blobs::release_cache;
use crate::StoreError;
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Size past which a new pack is started, so that no file grows without bound (backups copy
/// whole files; a pack that is full never changes again).
pub const PACK_MAX: u64 = 1 << 30;

/// Where a packed blob is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackSpot {
    /// The pack's number.
    pub pack: i64,
    /// Offset of the blob's first byte in the pack.
    pub offset: i64,
}

/// The packs of a data dir; appends are serialised (the filing writer is their one caller).
pub struct Packs {
    dir: PathBuf,
    /// The pack appended to, opened at the first append.
    current: Mutex<Option<(i64, File)>>,
    /// Set by a test: the next sync fails as a failed write-back would.
    #[cfg(feature = "faults")]
    fail_next_sync: std::sync::atomic::AtomicBool,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::DataDir {
        path: path.to_path_buf(),
        source,
    }
}

impl Packs {
    /// The packs under `dir` (nothing is created before the first append).
    pub fn new(dir: PathBuf) -> Packs {
        Packs {
            dir,
            current: Mutex::new(None),
            #[cfg(feature = "faults")]
            fail_next_sync: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn path(&self, pack: i64) -> PathBuf {
        self.dir.join(format!("{pack:08}.pack"))
    }

    /// Appends `blobs` (each given as its chunks) to the current pack and syncs it once;
    /// returns where each one is. On an error nothing returned names the bytes written, and
    /// the pack is opened afresh (at its real end) by the next append.
    pub fn append(&self, blobs: &[Vec<&[u8]>]) -> Result<Vec<PackSpot>, StoreError> {
        let mut current = self
            .current
            .lock()
            .map_err(|_| StoreError::Internal("the pack writer panicked".into()))?;
        let total: u64 = blobs.iter().flatten().map(|c| c.len() as u64).sum();
        let written = self.append_to(&mut current, blobs, total);
        if written.is_err() {
            *current = None;
        }
        written
    }

    fn append_to(
        &self,
        current: &mut Option<(i64, File)>,
        blobs: &[Vec<&[u8]>],
        total: u64,
    ) -> Result<Vec<PackSpot>, StoreError> {
        if current.is_none() {
            *current = Some(self.open_last()?);
        }
        let Some((mut pack, mut file)) = current.take() else {
            return Err(StoreError::Internal("no pack is open".into()));
        };
        let mut end = file.seek(SeekFrom::End(0)).map_err(io(&self.path(pack)))?;
        if end > 0 && end + total > PACK_MAX {
            pack += 1;
            file = self.create(pack)?;
            end = 0;
        }
        let path = self.path(pack);
        let start = end;
        let mut spots = Vec::with_capacity(blobs.len());
        for b in blobs {
            spots.push(PackSpot {
                pack,
                offset: i64::try_from(end).unwrap_or(i64::MAX),
            });
            for chunk in b {
                file.write_all(chunk).map_err(io(&path))?;
                end += chunk.len() as u64;
            }
        }
        #[cfg(feature = "faults")]
        if self
            .fail_next_sync
            .swap(false, std::sync::atomic::Ordering::AcqRel)
        {
            return Err(io(&path)(std::io::Error::other(
                "write-back failed (injected)",
            )));
        }
        file.sync_data().map_err(io(&path))?;
        // A length of 0 would mean "to the end of the pack": an empty append releases nothing.
        if end > start {
            release_cache(&file, start, end - start);
        }
        *current = Some((pack, file));
        Ok(spots)
    }

    /// The highest-numbered pack, or a first one.
    fn open_last(&self) -> Result<(i64, File), StoreError> {
        let last = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    e.file_name()
                        .to_str()?
                        .strip_suffix(".pack")?
                        .parse::<i64>()
                        .ok()
                })
                .max(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
                if let Some(parent) = self.dir.parent() {
                    sync_dir(parent)?;
                }
                None
            }
            Err(e) => return Err(io(&self.dir)(e)),
        };
        match last {
            Some(pack) => {
                let path = self.path(pack);
                let file = OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .map_err(io(&path))?;
                Ok((pack, file))
            }
            None => Ok((1, self.create(1)?)),
        }
    }

    /// Creates pack `pack`, durably named in its directory.
    fn create(&self, pack: i64) -> Result<File, StoreError> {
        let path = self.path(pack);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        sync_dir(&self.dir)?;
        Ok(file)
    }

    /// Makes the next append's sync fail as a failed write-back would: its batch is refused and
    /// the pack is opened afresh by the next append.
    #[cfg(feature = "faults")]
    pub fn fail_next_sync(&self) {
        self.fail_next_sync
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// Opens the pack of `spot`, positioned at the blob; the caller reads the blob's size.
    pub fn open(&self, spot: PackSpot) -> Result<File, StoreError> {
        let path = self.path(spot.pack);
        let mut file = File::open(&path).map_err(io(&path))?;
        let offset = u64::try_from(spot.offset)
            .map_err(|_| StoreError::Internal(format!("negative pack offset {}", spot.offset)))?;
        file.seek(SeekFrom::Start(offset)).map_err(io(&path))?;
        Ok(file)
    }
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir).and_then(|f| f.sync_all()).map_err(io(dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn read(packs: &Packs, spot: PackSpot, size: usize) -> Vec<u8> {
        let mut out = Vec::new();
        packs
            .open(spot)
            .expect("open")
            .take(size as u64)
            .read_to_end(&mut out)
            .expect("read");
        out
    }

    #[test]
    fn blobs_of_a_batch_are_read_back_from_where_the_append_put_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let packs = Packs::new(dir.path().join("packs"));
        let first = packs
            .append(&[vec![&b"%PDF-1.7 "[..], b"one"], vec![b"\x89PNG two"]])
            .expect("append");
        let second = packs.append(&[vec![b"%PDF-1.7 three"]]).expect("append");
        assert_eq!(first[1].offset, 12);
        assert_eq!(second[0].offset, 20);
        assert_eq!(read(&packs, first[0], 12), b"%PDF-1.7 one");
        assert_eq!(read(&packs, first[1], 8), b"\x89PNG two");
        assert_eq!(read(&packs, second[0], 14), b"%PDF-1.7 three");
    }

    #[test]
    fn a_reopened_pack_is_appended_after_bytes_a_crash_left_unnamed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = Packs::new(dir.path().join("packs"))
            .append(&[vec![b"kept"]])
            .expect("append");
        // What a crash between the append and the commit leaves: bytes no row names.
        let path = dir.path().join("packs").join("00000001.pack");
        let mut f = OpenOptions::new().append(true).open(&path).expect("open");
        f.write_all(b"torn").expect("write");
        let packs = Packs::new(dir.path().join("packs"));
        let next = packs.append(&[vec![b"next"]]).expect("append");
        assert_eq!(next[0], PackSpot { pack: 1, offset: 8 });
        assert_eq!(read(&packs, first[0], 4), b"kept");
        assert_eq!(read(&packs, next[0], 4), b"next");
    }

    #[test]
    fn a_full_pack_is_left_for_a_new_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let packs = Packs::new(dir.path().join("packs"));
        packs.append(&[vec![b"first"]]).expect("append");
        // Grow the pack to its limit without writing a gigabyte.
        let path = dir.path().join("packs").join("00000001.pack");
        OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_len(PACK_MAX))
            .expect("grow");
        let spot = packs.append(&[vec![b"second"]]).expect("append");
        assert_eq!(spot[0], PackSpot { pack: 2, offset: 0 });
        assert_eq!(read(&packs, spot[0], 6), b"second");
        // A new writer (after a restart) goes on with the newest pack.
        let later = Packs::new(dir.path().join("packs"))
            .append(&[vec![b"third"]])
            .expect("append");
        assert_eq!(later[0], PackSpot { pack: 2, offset: 6 });
    }
}
