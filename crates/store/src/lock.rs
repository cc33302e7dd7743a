use crate::StoreError;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

/// An exclusive advisory lock on a data directory. The OS releases it when the process dies, even
/// on `kill -9`, so a crash never leaves a stale lock behind.
pub(crate) struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    pub(crate) fn acquire(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join("motcua.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| StoreError::DataDir {
                path: dir.to_path_buf(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => Ok(DataDirLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(StoreError::Locked {
                path: dir.to_path_buf(),
                lock: path,
            }),
            Err(TryLockError::Error(source)) => Err(StoreError::DataDir {
                path: dir.to_path_buf(),
                source,
            }),
        }
    }
}
