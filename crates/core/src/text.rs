//! Text normalisation shared by every boundary that stores or compares Vietnamese text.

use unicode_normalization::UnicodeNormalization;

/// Returns `s` in Unicode NFC, the one form motcua stores and compares.
///
/// Vietnamese can be typed with precomposed or combining marks (IMEs differ); without one form,
/// equal words would compare unequal and a search would miss them.
pub fn nfc(s: &str) -> String {
    s.nfc().collect()
}

/// True when `s` is already NFC.
pub fn is_nfc(s: &str) -> bool {
    unicode_normalization::is_nfc(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combining_marks_are_composed() {
        let decomposed = "Le\u{0302}\u{0323}"; // "Lệ" typed with combining marks
        assert_eq!(nfc(decomposed), "Lệ");
        assert!(!is_nfc(decomposed));
        assert!(is_nfc(&nfc(decomposed)));
    }
}
