//! Identity numbers and contact details as citizens type them.

use serde::{Deserialize, Serialize};
use time::Date;

/// Why an identity value is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// Not 12 digits.
    #[error("a CCCD number has exactly 12 digits")]
    CccdLength,
    /// The first three digits are no province's code.
    #[error("a CCCD number starts with the code of a province (001–096); {0} is none")]
    CccdProvince(String),
    /// Century/sex digit or year digits disagree with the date of birth.
    #[error("the CCCD number does not match the date of birth")]
    CccdBirth,
    /// Not a Vietnamese phone number.
    #[error("a phone number has 10 digits starting with 0 (or +84)")]
    Phone,
    /// Not an email address.
    #[error("not a valid email address")]
    Email,
}

impl IdentityError {
    /// The message shown on pages.
    pub fn message_vi(&self) -> &'static str {
        match self {
            IdentityError::CccdLength => "Số CCCD phải gồm đúng 12 chữ số.",
            IdentityError::CccdProvince(_) => {
                "Ba chữ số đầu của số CCCD không phải mã tỉnh, thành phố nào."
            }
            IdentityError::CccdBirth => "Số CCCD không khớp với ngày sinh.",
            IdentityError::Phone => "Số điện thoại phải gồm 10 chữ số, bắt đầu bằng 0.",
            IdentityError::Email => "Địa chỉ email không hợp lệ.",
        }
    }
}

/// Province codes that open a CCCD number (Circular 07/2016/TT-BCA, 63 provinces before 2025).
const PROVINCES: [u16; 63] = [
    1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31, 33, 34, 35, 36, 37,
    38, 40, 42, 44, 45, 46, 48, 49, 51, 52, 54, 56, 58, 60, 62, 64, 66, 67, 68, 70, 72, 74, 75, 77,
    79, 80, 82, 83, 84, 86, 87, 89, 91, 92, 93, 94, 95, 96,
];

/// A citizen identification number (căn cước công dân), 12 digits: province of birth
/// registration (3), century and sex (1), year of birth (2), serial (6).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cccd(String);

impl Cccd {
    /// Checks the structure; with a date of birth, also the century digit and the year digits.
    pub fn parse(text: &str, birth: Option<Date>) -> Result<Cccd, IdentityError> {
        let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.len() != 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdentityError::CccdLength);
        }
        let province: u16 = digits[..3].parse().unwrap_or(0);
        if !PROVINCES.contains(&province) {
            return Err(IdentityError::CccdProvince(digits[..3].to_owned()));
        }
        if let Some(birth) = birth {
            let century_digit = digits.as_bytes()[3] - b'0';
            let century = match century_digit {
                0 | 1 => 1900,
                2 | 3 => 2000,
                4 | 5 => 2100,
                6 | 7 => 2200,
                _ => 1800,
            };
            let year = century + i32::from(digits[4..6].parse::<u8>().unwrap_or(0));
            if year != birth.year() {
                return Err(IdentityError::CccdBirth);
            }
        }
        Ok(Cccd(digits))
    }

    /// The 12 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Shown on pages where the full number is not needed: the last 4 digits.
    pub fn masked(&self) -> String {
        format!("********{}", &self.0[8..])
    }
}

impl TryFrom<String> for Cccd {
    type Error = IdentityError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Cccd::parse(&s, None)
    }
}

impl From<Cccd> for String {
    fn from(c: Cccd) -> String {
        c.0
    }
}

/// `0912 345 678`, `+84 912345678`, `84912345678` → `0912345678`.
pub fn normalise_phone(text: &str) -> Result<String, IdentityError> {
    let digits: String = text
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect();
    let national = if let Some(rest) = digits.strip_prefix("+84") {
        format!("0{rest}")
    } else if digits.len() == 11 && digits.starts_with("84") {
        format!("0{}", &digits[2..])
    } else {
        digits
    };
    let ok = national.len() == 10
        && national.starts_with('0')
        && matches!(
            national.as_bytes()[1],
            b'2' | b'3' | b'5' | b'7' | b'8' | b'9'
        )
        && national.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(national)
    } else {
        Err(IdentityError::Phone)
    }
}

/// Trims and lower-cases an email address after a structural check.
pub fn normalise_email(text: &str) -> Result<String, IdentityError> {
    let e = text.trim().to_lowercase();
    let valid = e.len() <= 254
        && !e.chars().any(char::is_whitespace)
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if valid {
        Ok(e)
    } else {
        Err(IdentityError::Email)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    #[test]
    fn cccd_numbers_are_checked() {
        assert!(
            Cccd::parse("020095001234", Some(date!(1995 - 03 - 02))).is_ok(),
            "Lạng Sơn, male, 1995"
        );
        assert!(
            Cccd::parse("020 301 001 234", Some(date!(2001 - 01 - 01))).is_ok(),
            "female born 2001"
        );
        assert_eq!(
            Cccd::parse("02009500123", None),
            Err(IdentityError::CccdLength)
        );
        assert_eq!(
            Cccd::parse("02009500123a", None),
            Err(IdentityError::CccdLength)
        );
        assert_eq!(
            Cccd::parse("003095001234", None),
            Err(IdentityError::CccdProvince("003".into()))
        );
        assert_eq!(
            Cccd::parse("020095001234", Some(date!(1996 - 03 - 02))),
            Err(IdentityError::CccdBirth)
        );
        assert_eq!(
            Cccd::parse("020295001234", Some(date!(1995 - 03 - 02))),
            Err(IdentityError::CccdBirth),
            "2 = 2000s"
        );
        assert_eq!(
            Cccd::parse("020095001234", None).map(|c| c.masked()),
            Ok("********1234".into())
        );
    }

    #[test]
    fn phones_are_normalised() {
        for t in [
            "0912345678",
            "0912 345 678",
            "+84 912 345 678",
            "84912345678",
            "091.234.5678",
        ] {
            assert_eq!(normalise_phone(t), Ok("0912345678".into()), "{t}");
        }
        for t in [
            "091234567",
            "1912345678",
            "0112345678",
            "09123456789",
            "abc",
        ] {
            assert_eq!(normalise_phone(t), Err(IdentityError::Phone), "{t}");
        }
    }

    #[test]
    fn emails_are_normalised() {
        assert_eq!(
            normalise_email("  An.Nguyen@Example.VN "),
            Ok("an.nguyen@example.vn".into())
        );
        for t in [
            "", "an", "an@", "@vn", "an@vn", "an@@x.vn", "a n@x.vn", "an@x.vn.",
        ] {
            assert!(normalise_email(t).is_err(), "{t}");
        }
    }

    proptest! {
        #[test]
        fn any_province_and_matching_birth_year_is_accepted(p in 0usize..63, year in 1900i32..2100, serial in 0u32..1_000_000, female in any::<bool>()) {
            let century = if year < 2000 { 0 } else { 2 } + u8::from(female);
            let text = format!("{:03}{}{:02}{:06}", PROVINCES[p], century, year % 100, serial);
            let birth = Date::from_calendar_date(year, time::Month::June, 1).ok();
            prop_assert!(Cccd::parse(&text, birth).is_ok(), "{}", text);
        }
    }
}
