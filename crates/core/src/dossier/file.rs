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

    /// The file-name extension a file of this kind is served with.
    pub fn extension(self) -> &'static str {
        match self {
            FileKind::Pdf => "pdf",
            FileKind::Jpeg => "jpg",
            FileKind::Png => "png",
        }
    }

    /// Whether `bytes` are a whole, readable file of this kind: a PDF whose objects and cross
    /// references parse (a password-protected one does not), an image that decodes. First bytes
    /// alone are easy to fake: `%PDF-1.4` followed by a web page is no PDF.
    pub fn parses(self, bytes: &[u8]) -> bool {
        match self {
            FileKind::Pdf => lopdf::Document::load_mem(bytes).is_ok(),
            FileKind::Jpeg | FileKind::Png => {
                let format = if self == FileKind::Jpeg {
                    image::ImageFormat::Jpeg
                } else {
                    image::ImageFormat::Png
                };
                let mut reader =
                    image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
                // A small file can claim a huge picture: bound what decoding may allocate.
                let mut limits = image::Limits::default();
                limits.max_image_width = Some(20_000);
                limits.max_image_height = Some(20_000);
                limits.max_alloc = Some(512 << 20);
                reader.limits(limits);
                reader.decode().is_ok()
            }
        }
    }

    /// The name to serve a file of this kind under: `name` with its extension made to match
    /// the checked type (`hoso.html` becomes `hoso.pdf`, `anh.jpeg` stays), so that no
    /// program opens it as anything else.
    pub fn served_name(self, name: &str) -> String {
        let (stem, ext) = match name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => (stem, ext.to_ascii_lowercase()),
            _ => (name, String::new()),
        };
        let fits = match self {
            FileKind::Pdf => ext == "pdf",
            FileKind::Jpeg => ext == "jpg" || ext == "jpeg",
            FileKind::Png => ext == "png",
        };
        if fits {
            return name.to_owned();
        }
        let stem = if stem.trim().is_empty() { "tep" } else { stem };
        format!("{stem}.{}", self.extension())
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

/// A blank one-page PDF that carries `note` in a comment and is padded to `len` bytes (or is
/// as short as it can be, when that is longer),
/// with a correct cross-reference table: a real PDF for demo data, benchmarks and tests that
/// need one of a given size (different notes give different files).
pub fn minimal_pdf(note: &str, len: usize) -> Vec<u8> {
    let note: String = note.chars().filter(|c| !c.is_control()).collect();
    let build = |pad: usize| {
        let objects = [
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        ];
        let mut out = b"%PDF-1.4\n".to_vec();
        let mut offsets = Vec::new();
        for (i, o) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
        }
        let mut stream = format!("% {note}\n").into_bytes();
        stream.resize(stream.len() + pad, b' ');
        offsets.push(out.len());
        out.extend_from_slice(
            format!("4 0 obj\n<< /Length {} >>\nstream\n", stream.len()).as_bytes(),
        );
        out.extend_from_slice(&stream);
        out.extend_from_slice(b"\nendstream\nendobj\n");
        let xref = out.len();
        out.extend_from_slice(b"xref\n0 5\n0000000000 65535 f \n");
        for o in offsets {
            out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!("trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
        );
        out
    };
    let mut out = build(0);
    let mut pad = 0usize;
    // Padding also lengthens the numbers that locate things, so adjust until the length is
    // exact (two rounds at most in practice).
    for _ in 0..4 {
        if out.len() >= len && (out.len() == len || pad == 0) {
            break;
        }
        pad = (pad + len).saturating_sub(out.len());
        out = build(pad);
    }
    out
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
    /// Begins like a PDF, JPEG or PNG file but does not parse as one (damaged, faked or
    /// password-protected).
    #[error("the file '{name}' begins like a {kind} file but is not a readable one (damaged, faked or password-protected)")]
    Unreadable {
        /// File name.
        name: String,
        /// What its first bytes claim.
        kind: &'static str,
    },
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
            FileError::Unreadable { .. } => "unreadable_file",
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
            FileError::Unreadable { name, kind } => format!(
                "Tệp \"{name}\" không đọc được như một tệp {kind} (tệp bị hỏng, bị đặt mật khẩu hoặc không đúng định dạng). Hãy xuất lại tệp và gửi lại."
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

    /// [`UploadLimits::check`] on the whole content, which must also parse as the kind its first
    /// bytes claim (see [`FileKind::parses`]).
    pub fn check_whole(&self, name: &str, bytes: &[u8], held: Held) -> Result<FileKind, FileError> {
        let kind = self.check(name, bytes, bytes.len() as u64, held)?;
        if !kind.parses(bytes) {
            return Err(FileError::Unreadable {
                name: name.to_owned(),
                kind: match kind {
                    FileKind::Pdf => "PDF",
                    FileKind::Jpeg => "JPEG",
                    FileKind::Png => "PNG",
                },
            });
        }
        Ok(kind)
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
    fn a_file_must_parse_as_what_its_first_bytes_claim() {
        let l = UploadLimits::default();
        let pdf = minimal_pdf("tờ khai", 2048);
        assert_eq!(pdf.len(), 2048);
        for len in [0, 300, 999, 1000, 10_000, 100 * 1024] {
            assert!(FileKind::Pdf.parses(&minimal_pdf("x", len)));
            assert!(len < 400 || minimal_pdf("x", len).len() == len, "{len}");
        }
        assert_eq!(
            l.check_whole("to-khai.pdf", &pdf, Held::default()),
            Ok(FileKind::Pdf)
        );
        let mut html = b"%PDF-1.4\n<html><script>alert(1)</script></html>".to_vec();
        html.resize(600, b' ');
        assert_eq!(
            l.check_whole("hoso.html", &html, Held::default())
                .unwrap_err()
                .code(),
            "unreadable_file"
        );
        let mut png = Vec::new();
        image::RgbImage::new(4, 3)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        assert_eq!(
            l.check_whole("anh", &png, Held::default()),
            Ok(FileKind::Png)
        );
        let mut cut = png.clone();
        cut.truncate(40);
        assert!(l.check_whole("anh.png", &cut, Held::default()).is_err());
        assert!(!FileKind::Jpeg.parses(JPEG));
    }

    #[test]
    fn a_file_is_served_under_the_extension_of_its_checked_type() {
        assert_eq!(FileKind::Pdf.served_name("hoso.html"), "hoso.pdf");
        assert_eq!(FileKind::Pdf.served_name("chay.bat"), "chay.pdf");
        assert_eq!(FileKind::Pdf.served_name("setup.exe"), "setup.pdf");
        assert_eq!(FileKind::Pdf.served_name("Tờ khai.PDF"), "Tờ khai.PDF");
        assert_eq!(FileKind::Jpeg.served_name("anh.jpeg"), "anh.jpeg");
        assert_eq!(FileKind::Png.served_name("scan"), "scan.png");
        assert_eq!(FileKind::Png.served_name(".htaccess"), ".htaccess.png");
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
