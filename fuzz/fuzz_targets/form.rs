//! A procedure's online form filled in by anyone: fields of every kind, any values, checked as
//! a draft and as a submission.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use motcua_core::catalogue::{FieldKind, FormField};
use motcua_core::dossier::validate_form;
use std::collections::BTreeMap;

#[derive(Debug, Arbitrary)]
struct Field {
    kind: u8,
    required: bool,
    max_length: Option<u32>,
    options: Vec<String>,
    value: Option<String>,
}

fuzz_target!(|input: (Vec<Field>, Vec<(String, String)>)| {
    let (spec, extra) = input;
    let mut fields = Vec::new();
    let mut values: BTreeMap<String, String> = extra.into_iter().collect();
    for (i, f) in spec.into_iter().take(32).enumerate() {
        let kind = match f.kind % 10 {
            0 => FieldKind::Text,
            1 => FieldKind::Textarea,
            2 => FieldKind::Number,
            3 => FieldKind::Date,
            4 => FieldKind::Cccd,
            5 => FieldKind::Phone,
            6 => FieldKind::Email,
            7 => FieldKind::Select { options: f.options },
            _ => FieldKind::AdminUnit,
        };
        let key = format!("f{i}");
        if let Some(v) = f.value {
            values.insert(key.clone(), v);
        }
        fields.push(FormField {
            key,
            label: format!("Trường {i}"),
            kind,
            required: f.required,
            help: String::new(),
            max_length: f.max_length,
        });
    }
    let known_unit = |code: &str| code.len() == 5 && code.bytes().all(|b| b.is_ascii_digit());
    for complete in [false, true] {
        if let Ok(normalised) = validate_form(&fields, &values, complete, &known_unit) {
            // What was accepted is accepted again as it was stored.
            assert!(validate_form(&fields, &normalised, complete, &known_unit).is_ok());
        }
    }
});
