//! The dossier code (mã số hồ sơ), Circular 01/2018/TT-VPCP Art. 19: the receiving agency's
//! identifier, the date as YYMMDD, and the sequence number of that day, e.g.
//! `000.00.00.H37-261130-0001`. The sequence has at least four digits and grows when a day needs
//! more (Circular 04/2025 allows it), so a code never wraps round to an earlier one.

use std::fmt;
use std::str::FromStr;
use time::Date;

/// Why a code or a prefix was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// The agency identifier is not dot-separated groups of digits and capital letters.
    #[error("agency identifier '{0}' must be dot-separated groups of 1–4 digits or capital letters, e.g. 000.00.00.H37")]
    Prefix(String),
    /// The text is not `PREFIX-YYMMDD-NNNN`.
    #[error("'{0}' is not a dossier code of the form PREFIX-YYMMDD-NNNN")]
    Shape(String),
    /// The sequence width is outside 4..=8.
    #[error("sequence width {0} must be between 4 and 8 digits")]
    Width(usize),
}

/// The receiving agency's identifier (QCVN 102:2016 shape), the first part of every code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CodePrefix(String);

impl FromStr for CodePrefix {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, CodeError> {
        let groups: Vec<&str> = s.split('.').collect();
        let ok = groups.len() >= 2
            && groups.iter().all(|g| {
                (1..=4).contains(&g.len())
                    && g.bytes()
                        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
            });
        if ok {
            Ok(CodePrefix(s.to_owned()))
        } else {
            Err(CodeError::Prefix(s.to_owned()))
        }
    }
}

impl CodePrefix {
    /// The identifier as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A dossier code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DossierCode {
    /// Receiving agency's identifier.
    pub prefix: CodePrefix,
    /// Day of the code (local date).
    pub date: Date,
    /// Sequence number within the day, from 1.
    pub seq: u32,
    /// Minimum digits of the sequence.
    pub width: usize,
}

impl DossierCode {
    /// The code of the `seq`-th dossier of `date`.
    pub fn new(prefix: CodePrefix, date: Date, seq: u32, width: usize) -> Result<Self, CodeError> {
        if !(4..=8).contains(&width) {
            return Err(CodeError::Width(width));
        }
        Ok(DossierCode {
            prefix,
            date,
            seq,
            width,
        })
    }

    /// The date part, YYMMDD: the key of the daily sequence.
    pub fn day_key(date: Date) -> String {
        format!(
            "{:02}{:02}{:02}",
            date.year().rem_euclid(100),
            u8::from(date.month()),
            date.day()
        )
    }
}

impl fmt::Display for DossierCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}-{:0width$}",
            self.prefix.0,
            Self::day_key(self.date),
            self.seq,
            width = self.width
        )
    }
}

impl FromStr for DossierCode {
    type Err = CodeError;
    /// Reads a code (any sequence width of 4+ digits); surrounding spaces are ignored, letters
    /// are taken in any case.
    fn from_str(text: &str) -> Result<Self, CodeError> {
        let s = text.trim().to_ascii_uppercase();
        let shape = || CodeError::Shape(text.trim().to_owned());
        let mut parts = s.rsplitn(3, '-');
        let (seq, day, prefix) = (
            parts.next().ok_or_else(shape)?,
            parts.next().ok_or_else(shape)?,
            parts.next().ok_or_else(shape)?,
        );
        if seq.len() < 4 || seq.len() > 9 || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return Err(shape());
        }
        if day.len() != 6 || !day.bytes().all(|b| b.is_ascii_digit()) {
            return Err(shape());
        }
        let n = |r: std::ops::Range<usize>| day[r].parse::<u8>().map_err(|_| shape());
        let month = time::Month::try_from(n(2..4)?).map_err(|_| shape())?;
        let date = Date::from_calendar_date(2000 + i32::from(n(0..2)?), month, n(4..6)?)
            .map_err(|_| shape())?;
        Ok(DossierCode {
            prefix: prefix.parse()?,
            date,
            seq: seq.parse().map_err(|_| shape())?,
            width: seq.len().clamp(4, 8),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    fn prefix() -> CodePrefix {
        "000.00.00.H37".parse().expect("prefix")
    }

    #[test]
    fn codes_follow_circular_01_2018() {
        let c = DossierCode::new(prefix(), date!(2026 - 11 - 30), 7, 4).expect("code");
        assert_eq!(c.to_string(), "000.00.00.H37-261130-0007");
        let big = DossierCode::new(prefix(), date!(2026 - 11 - 30), 12345, 4).expect("code");
        assert_eq!(big.to_string(), "000.00.00.H37-261130-12345");
    }

    #[test]
    fn bad_prefixes_and_codes_are_refused_with_the_reason() {
        for bad in [
            "",
            "H37",
            "000..H37",
            "000.00.00.h37",
            "000.00.00.H37 ",
            "00000.1",
        ] {
            assert!(bad.parse::<CodePrefix>().is_err(), "{bad}");
        }
        for bad in [
            "000.00.00.H37-261130-007",
            "000.00.00.H37-261330-0007",
            "000.00.00.H37-0007",
            "261130-0007",
            "000.00.00.H37-261130-00a7",
        ] {
            assert!(bad.parse::<DossierCode>().is_err(), "{bad}");
        }
        assert_eq!(
            DossierCode::new(prefix(), date!(2026 - 1 - 1), 1, 3),
            Err(CodeError::Width(3))
        );
    }

    proptest! {
        #[test]
        fn every_code_reads_back_to_itself(
            days in 0i64..36_000, seq in 1u32..10_000_000, width in 4usize..=8
        ) {
            let date = date!(2000 - 01 - 01) + time::Duration::days(days % 36_500);
            let c = DossierCode::new(prefix(), date, seq, width).expect("code");
            let back: DossierCode = c.to_string().parse().expect("parse");
            prop_assert_eq!(back.to_string(), c.to_string());
            prop_assert_eq!((back.date, back.seq), (c.date, c.seq));
        }

        #[test]
        fn distinct_sequence_numbers_give_distinct_codes(a in 1u32..100_000, b in 1u32..100_000) {
            prop_assume!(a != b);
            let d = date!(2026 - 11 - 30);
            let (x, y) = (
                DossierCode::new(prefix(), d, a, 4).expect("code").to_string(),
                DossierCode::new(prefix(), d, b, 4).expect("code").to_string(),
            );
            prop_assert_ne!(x, y);
        }
    }
}
