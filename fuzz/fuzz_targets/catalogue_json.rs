//! A catalogue JSON file, as `procedures import --format json` reads it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use motcua_core::catalogue::files::read_json;

fuzz_target!(|data: &[u8]| {
    if let Ok(read) = read_json(data) {
        for r in &read {
            let _ = r.procedure.validate();
        }
    }
});
