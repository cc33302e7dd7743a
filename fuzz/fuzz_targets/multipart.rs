//! A multipart filing as the API and the portal receive it: the body split into parts by the
//! same reader the server uses (multer, under axum), the dossier's JSON parsed, and every file
//! checked as a received file is (type by content, and a PDF or image that must parse as one).
#![no_main]

use libfuzzer_sys::fuzz_target;
use motcua_core::dossier::{Held, UploadLimits};

const BOUNDARY: &str = "motcua-fuzz-boundary";

fuzz_target!(|data: &[u8]| {
    let body = bytes::Bytes::copy_from_slice(data);
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, BOUNDARY);
    let limits = UploadLimits::default();
    futures_executor::block_on(async {
        let mut held = Held::default();
        while let Ok(Some(field)) = multipart.next_field().await {
            let name = field.name().unwrap_or_default().to_owned();
            let file_name = field.file_name().map(str::to_owned);
            let Ok(bytes) = field.bytes().await else {
                return;
            };
            match file_name {
                Some(file) => {
                    if limits.check_whole(&file, &bytes, held).is_ok() {
                        held.bytes += bytes.len() as u64;
                        held.files += 1;
                    }
                }
                None if name == "dossier" => {
                    let _ = serde_json::from_slice::<serde_json::Value>(&bytes);
                }
                None => {}
            }
        }
    });
});
