//! A catalogue CSV file (motcua's columns or a province's published list), as `procedures
//! import` and the admin's upload read it: each row becomes a procedure, which is validated.
#![no_main]

use libfuzzer_sys::fuzz_target;
use motcua_core::catalogue::files::{motcua_row, read_csv, CsvFormat};

fuzz_target!(|data: &[u8]| {
    let Ok((format, rows)) = read_csv(data) else {
        return;
    };
    if format != CsvFormat::Motcua {
        return;
    }
    for row in &rows {
        let mut errors = Vec::new();
        let procedure = motcua_row(row, &mut errors);
        if errors.is_empty() {
            let _ = procedure.validate();
        }
    }
});
