//! Which files a dossier accepts: PDF, JPEG and PNG, recognised by their content (the name and
//! the browser's claimed type are not trusted), within per-file and per-dossier limits.

use serde::{Deserialize, Serialize};

/// An accepted file type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// PDF document.
    Pdf,
    /// JPEG photo or scan.
    Jpeg,
    /// PNG image.
    Png,
}

impl FileKind {
    /// The media type served with the file.
    pub fn media_type(self) -> &'static str {
        match self {
            FileKind::Pdf => "application/pdf",
            FileKind::Jpeg => "image/jpeg",
            FileKind::Png => "image/png",
        }
    }

    /// Reads a media type as stored.
    pub fn from_media_type(s: &str) -> Option<FileKind> {
        [FileKind::Pdf, FileKind::Jpeg, FileKind::Png]
            .into_iter()
            .find(|k| k.media_type() == s)
    }

    /// Recognises a file by its first bytes (a few hundred are enough).
    pub fn sniff(head: &[u8]) -> Option<FileKind> {
        match infer::get(head)?.mime_type() {
            "application/pdf" => Some(FileKind::Pdf),
            "image/jpeg" => Some(FileKind::Jpeg),
            "image/png" => Some(FileKind::Png),
            _ => None,
        }
    }
}

/// How large files may be. Defaults: 10 MB a file, 50 MB a dossier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimits {
    /// Bytes per file.
    pub per_file: u64,
    /// Bytes for all files of one dossier.
    pub per_dossier: u64,
    /// Files of one dossier. Scanned pages may come one image each, so this is generous; it
    /// bounds the work (a sync per file) and the size of the statement that files a dossier.
    pub files: usize,
}

/// What a dossier already holds, for checking one more file against its limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Held {
    /// Bytes of its files.
    pub bytes: u64,
    /// Number of its files.
    pub files: usize,
}

impl Default for UploadLimits {
    fn default() -> Self {
        UploadLimits {
            per_file: 10 * 1000 * 1000,
            per_dossier: 50 * 1000 * 1000,
            files: 100,
        }
    }
}

/// Why a file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// Nothing was sent.
    #[error("the file '{0}' is empty")]
    Empty(String),
    /// Over the per-file limit.
    #[error("the file '{name}' is larger than {limit} bytes")]
    TooLarge {
        /// File name.
        name: String,
        /// The limit.
        limit: u64,
    },
    /// The dossier would exceed its limit.
    #[error("the files of this dossier would exceed {limit} bytes")]
    DossierFull {
        /// The limit.
        limit: u64,
    },
    /// The dossier would hold more files than allowed.
    #[error("a dossier holds at most {limit} files")]
    TooManyFiles {
        /// The limit.
        limit: usize,
    },
    /// Not PDF, JPEG or PNG, whatever its name says.
    #[error("the file '{0}' is not a PDF, JPEG or PNG file")]
    WrongType(String),
}

impl FileError {
    /// Stable code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            FileError::Empty(_) => "empty_file",
            FileError::TooLarge { .. } => "file_too_large",
            FileError::DossierFull { .. } => "dossier_too_large",
            FileError::TooManyFiles { .. } => "too_many_files",
            FileError::WrongType(_) => "unsupported_file_type",
        }
    }

    /// What the page says.
    pub fn message_vi(&self) -> String {
        let mb = |b: &u64| format!("{} MB", b / 1_000_000);
        match self {
            FileError::Empty(n) => format!("Tệp \"{n}\" rỗng (0 byte). Hãy chọn lại tệp."),
            FileError::TooLarge { name, limit } => {
                format!("Tệp \"{name}\" vượt quá dung lượng cho phép ({}).", mb(limit))
            }
            FileError::DossierFull { limit } => format!(
                "Tổng dung lượng tệp của hồ sơ vượt quá mức cho phép ({}).",
                mb(limit)
            ),
            FileError::TooManyFiles { limit } => {
                format!("Mỗi hồ sơ đính kèm tối đa {limit} tệp. Hãy gộp các trang vào một tệp PDF.")
            }
            FileError::WrongType(n) => format!(
                "Tệp \"{n}\" không phải PDF, JPEG hoặc PNG (hệ thống kiểm tra nội dung tệp, không dựa vào tên tệp)."
            ),
        }
    }
}

impl UploadLimits {
    /// Whether one more file of `size` bytes fits beside what the dossier already holds.
    pub fn check_room(&self, held: Held, size: u64) -> Result<(), FileError> {
        if held.files >= self.files {
            return Err(FileError::TooManyFiles { limit: self.files });
        }
        if held.bytes + size > self.per_dossier {
            return Err(FileError::DossierFull {
                limit: self.per_dossier,
            });
        }
        Ok(())
    }

    /// Checks a whole file: `head` is its first bytes, `size` its length, `held` what the
    /// dossier already holds.
    pub fn check(
        &self,
        name: &str,
        head: &[u8],
        size: u64,
        held: Held,
    ) -> Result<FileKind, FileError> {
        if size == 0 {
            return Err(FileError::Empty(name.to_owned()));
        }
        if size > self.per_file {
            return Err(FileError::TooLarge {
                name: name.to_owned(),
                limit: self.per_file,
            });
        }
        self.check_room(held, size)?;
        FileKind::sniff(head).ok_or_else(|| FileError::WrongType(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PDF: &[u8] = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n";
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0";
    const EXE: &[u8] = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xFF\xFF\0\0";

    #[test]
    fn files_are_recognised_by_content_not_name() {
        let l = UploadLimits::default();
        assert_eq!(
            l.check("a.pdf", PDF, 30, Held::default()),
            Ok(FileKind::Pdf)
        );
        assert_eq!(
            l.check("scan.bin", PNG, 30, Held::default()),
            Ok(FileKind::Png)
        );
        assert_eq!(
            l.check("photo", JPEG, 30, Held::default()),
            Ok(FileKind::Jpeg)
        );
        assert_eq!(
            l.check("setup.pdf", EXE, 30, Held::default()),
            Err(FileError::WrongType("setup.pdf".into()))
        );
    }

    #[test]
    fn sizes_are_limited_per_file_and_per_dossier() {
        let l = UploadLimits {
            per_file: 100,
            per_dossier: 150,
            files: 3,
        };
        let bytes = |bytes| Held { bytes, files: 0 };
        assert_eq!(
            l.check("a.pdf", PDF, 0, bytes(0)).unwrap_err().code(),
            "empty_file"
        );
        assert_eq!(
            l.check("a.pdf", PDF, 101, bytes(0)).unwrap_err().code(),
            "file_too_large"
        );
        assert_eq!(
            l.check("a.pdf", PDF, 100, bytes(60)).unwrap_err().code(),
            "dossier_too_large"
        );
        assert_eq!(l.check("a.pdf", PDF, 100, bytes(50)), Ok(FileKind::Pdf));
        let two = Held { bytes: 2, files: 2 };
        assert_eq!(l.check("a.pdf", PDF, 1, two), Ok(FileKind::Pdf));
        let three = Held { bytes: 3, files: 3 };
        assert_eq!(
            l.check("a.pdf", PDF, 1, three),
            Err(FileError::TooManyFiles { limit: 3 })
        );
        assert!(FileError::TooManyFiles { limit: 3 }
            .message_vi()
            .contains("tối đa 3 tệp"));
        assert!(l
            .check("a.pdf", PDF, 101, bytes(0))
            .unwrap_err()
            .message_vi()
            .contains("a.pdf"));
    }
}
