//! The check of a submitted online form: the applicant block every dossier carries (Mẫu 01
//! prints it) plus the procedure's own fields. Values come back normalised (NFC, phone as
//! 0xxxxxxxxx, dates as YYYY-MM-DD) so what is stored is what every later step can rely on.

use crate::accounts::identity::{normalise_email, normalise_phone, Cccd};
use crate::catalogue::{FieldKind, FormField};
use crate::text::nfc;
use std::collections::BTreeMap;

/// One field that is wrong, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Key of the field.
    pub key: String,
    /// Stable reason code for the API.
    pub code: &'static str,
    /// What the page says.
    pub message_vi: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.code)
    }
}

fn field(key: &str, label: &str, kind: FieldKind, required: bool, max: Option<u32>) -> FormField {
    FormField {
        key: key.to_owned(),
        label: label.to_owned(),
        kind,
        required,
        help: String::new(),
        max_length: max,
    }
}

/// The applicant block, the same for every procedure.
pub fn applicant_fields() -> Vec<FormField> {
    vec![
        field(
            "applicant_name",
            "Họ và tên người nộp",
            FieldKind::Text,
            true,
            Some(120),
        ),
        field(
            "applicant_id",
            "Số định danh cá nhân (CCCD)",
            FieldKind::Cccd,
            true,
            None,
        ),
        field(
            "applicant_phone",
            "Số điện thoại",
            FieldKind::Phone,
            true,
            None,
        ),
        field("applicant_email", "Email", FieldKind::Email, false, None),
        field(
            "applicant_address",
            "Địa chỉ",
            FieldKind::Text,
            true,
            Some(250),
        ),
        field(
            "applicant_commune",
            "Xã, phường nơi giải quyết (thủ tục cấp xã)",
            FieldKind::AdminUnit,
            false,
            None,
        ),
    ]
}

const DEFAULT_MAX: usize = 2000;

fn check(
    f: &FormField,
    raw: &str,
    known_unit: &dyn Fn(&str) -> bool,
) -> Result<String, FieldError> {
    let fail = |code: &'static str, message: String| FieldError {
        key: f.key.clone(),
        code,
        message_vi: format!("{}: {message}", f.label),
    };
    let value = nfc(raw.trim());
    let max = f.max_length.map_or(DEFAULT_MAX, |m| m as usize);
    if value.chars().count() > max {
        return Err(fail("too_long", format!("tối đa {max} ký tự.")));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(fail("control_characters", "có ký tự không hợp lệ.".into()));
    }
    match &f.kind {
        FieldKind::Text | FieldKind::Textarea => Ok(value),
        FieldKind::Number => value
            .parse::<i64>()
            .map(|n| n.to_string())
            .map_err(|_| fail("not_a_number", "phải là một số nguyên.".into())),
        FieldKind::Date => parse_date(&value)
            .ok_or_else(|| fail("not_a_date", "ngày phải theo dạng ngày/tháng/năm.".into())),
        FieldKind::Cccd => Cccd::parse(&value, None)
            .map(|c| c.as_str().to_owned())
            .map_err(|e| fail("invalid_cccd", e.message_vi().to_owned())),
        FieldKind::Phone => {
            normalise_phone(&value).map_err(|e| fail("invalid_phone", e.message_vi().to_owned()))
        }
        FieldKind::Email => {
            normalise_email(&value).map_err(|e| fail("invalid_email", e.message_vi().to_owned()))
        }
        FieldKind::Select { options } => {
            if options.iter().any(|o| nfc(o) == value) {
                Ok(value)
            } else {
                Err(fail(
                    "not_an_option",
                    "hãy chọn một giá trị trong danh sách.".into(),
                ))
            }
        }
        FieldKind::AdminUnit => {
            if known_unit(&value) {
                Ok(value)
            } else {
                Err(fail(
                    "unknown_admin_unit",
                    "không có xã, phường này.".into(),
                ))
            }
        }
    }
}

fn parse_date(s: &str) -> Option<String> {
    let iso = time::macros::format_description!("[year]-[month]-[day]");
    let vn = time::macros::format_description!("[day]/[month]/[year]");
    time::Date::parse(s, iso)
        .or_else(|_| time::Date::parse(s, vn))
        .ok()
        .and_then(|d| d.format(iso).ok())
}

/// Checks `input` against `fields`. With `complete`, required fields must be filled (submission);
/// without, only what is filled is checked (saving a draft). Returns the normalised values of
/// the known fields, or every error at once.
pub fn validate_form(
    fields: &[FormField],
    input: &BTreeMap<String, String>,
    complete: bool,
    known_unit: &dyn Fn(&str) -> bool,
) -> Result<BTreeMap<String, String>, Vec<FieldError>> {
    let mut values = BTreeMap::new();
    let mut errors = Vec::new();
    for f in fields {
        let raw = input.get(&f.key).map_or("", |s| s.as_str());
        if raw.trim().is_empty() {
            if complete && f.required {
                errors.push(FieldError {
                    key: f.key.clone(),
                    code: "required",
                    message_vi: format!("{}: chưa nhập (bắt buộc).", f.label),
                });
            }
            continue;
        }
        match check(f, raw, known_unit) {
            Ok(v) => {
                values.insert(f.key.clone(), v);
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn input(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn any_unit(_: &str) -> bool {
        true
    }

    #[test]
    fn a_complete_applicant_block_is_normalised() {
        let v = validate_form(
            &applicant_fields(),
            &input(&[
                ("applicant_name", "  Nguyễn Văn An "),
                ("applicant_id", "020 190 000 123"),
                ("applicant_phone", "+84 912 345 678"),
                ("applicant_address", "Phường Lương Văn Tri"),
            ]),
            true,
            &any_unit,
        )
        .expect("valid");
        assert_eq!(v["applicant_name"], "Nguyễn Văn An");
        assert_eq!(v["applicant_id"], "020190000123");
        assert_eq!(v["applicant_phone"], "0912345678");
        assert!(!v.contains_key("applicant_email"));
    }

    #[test]
    fn every_error_is_reported_at_once_and_drafts_may_be_incomplete() {
        let partial = input(&[("applicant_name", "An"), ("applicant_phone", "123")]);
        let errors = validate_form(&applicant_fields(), &partial, true, &any_unit).unwrap_err();
        let codes: Vec<(&str, &str)> = errors.iter().map(|e| (e.key.as_str(), e.code)).collect();
        assert_eq!(
            codes,
            vec![
                ("applicant_id", "required"),
                ("applicant_phone", "invalid_phone"),
                ("applicant_address", "required")
            ]
        );
        // A draft skips what is missing but still refuses what is wrong.
        let errors = validate_form(&applicant_fields(), &partial, false, &any_unit).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message_vi.starts_with("Số điện thoại"));
    }

    #[test]
    fn typed_fields_are_checked() {
        let fields = vec![
            field("born", "Ngày sinh", FieldKind::Date, true, None),
            field("n", "Số bản", FieldKind::Number, true, None),
            field(
                "sex",
                "Giới tính",
                FieldKind::Select {
                    options: vec!["Nam".into(), "Nữ".into()],
                },
                true,
                None,
            ),
            field("unit", "Xã", FieldKind::AdminUnit, true, None),
        ];
        let known = |u: &str| u == "05977";
        let ok = validate_form(
            &fields,
            &input(&[
                ("born", "05/03/2020"),
                ("n", "2"),
                ("sex", "Nữ"),
                ("unit", "05977"),
            ]),
            true,
            &known,
        )
        .expect("valid");
        assert_eq!(ok["born"], "2020-03-05");
        let bad = validate_form(
            &fields,
            &input(&[
                ("born", "31/02/2020"),
                ("n", "hai"),
                ("sex", "Khác"),
                ("unit", "99999"),
            ]),
            true,
            &known,
        )
        .unwrap_err();
        let codes: Vec<&str> = bad.iter().map(|e| e.code).collect();
        assert_eq!(
            codes,
            vec![
                "not_a_date",
                "not_a_number",
                "not_an_option",
                "unknown_admin_unit"
            ]
        );
    }

    proptest! {
        #[test]
        fn accepted_text_is_nfc_trimmed_and_within_the_limit(s in "\\PC{0,300}") {
            let fields = vec![field("t", "Nội dung", FieldKind::Text, false, Some(200))];
            if let Ok(v) = validate_form(&fields, &input(&[("t", &s)]), false, &any_unit) {
                if let Some(t) = v.get("t") {
                    prop_assert!(t.chars().count() <= 200);
                    prop_assert_eq!(t, &nfc(t.trim()));
                }
            }
        }
    }
}
