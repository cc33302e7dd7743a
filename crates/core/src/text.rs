//! Text normalisation shared by every boundary that stores or compares Vietnamese text.

use unicode_normalization::UnicodeNormalization;

/// Returns `s` in Unicode NFC, the one form motcua stores and compares.
///
/// Vietnamese can be typed with precomposed or combining marks (IMEs differ); without one form,
/// equal words would compare unequal and a search would miss them.
pub fn nfc(s: &str) -> String {
    s.nfc().collect()
}

/// True when `s` holds no control character (C0, DEL or C1): what a one-line field such as a
/// name, a login, a contact or a file name may hold. Tabs and line breaks belong in notes only.
pub fn is_single_line(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

/// Characters that make a spreadsheet read a cell as a formula (or, for tab and carriage
/// return, shift it into one).
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A CSV cell that a spreadsheet shows as text: one starting with a formula character gets a
/// leading apostrophe (OWASP's advice against formula injection), and so does one already
/// starting with an apostrophe, so that [`from_csv_cell`] gives back exactly what was written.
pub fn csv_cell(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(FORMULA_START) || s.starts_with('\'') {
        std::borrow::Cow::Owned(format!("'{s}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// The value of a cell written by [`csv_cell`]; other cells (older files, hand-made ones) are
/// taken as they are.
pub fn from_csv_cell(s: &str) -> &str {
    match s.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_START) || rest.starts_with('\'') => rest,
        _ => s,
    }
}

/// True when `s` is already NFC.
pub fn is_nfc(s: &str) -> bool {
    unicode_normalization::is_nfc(s)
}

#[cfg(test)]
mod csv_tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formula_cells_are_written_as_text() {
        assert_eq!(
            csv_cell("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        for s in ["+84912", "-1", "@SUM(A1)", "\tx", "\rx", "'quoted"] {
            assert!(csv_cell(s).starts_with('\''), "{s:?}");
        }
        assert_eq!(csv_cell("Nguyễn Văn An"), "Nguyễn Văn An");
        assert_eq!(
            from_csv_cell("'abc"),
            "'abc",
            "an apostrophe we did not add stays"
        );
    }

    proptest! {
        #[test]
        fn a_written_cell_reads_back_and_never_starts_a_formula(s in "['=+@\t\r-]{0,3}\\PC{0,10}") {
            let written = csv_cell(&s);
            prop_assert!(!written.starts_with(FORMULA_START));
            prop_assert_eq!(from_csv_cell(&written), s.as_str());
        }
    }
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

/// Folds Vietnamese text to the form search compares: decomposed, combining marks dropped,
/// đ/Đ → d, lower case, and y → i (kí/ký, lí/lý are spelling variants of one word).
///
/// `đ` has no Unicode decomposition, so stripping marks alone would miss "Đăng ký" for "dang ky";
/// folding here, in Rust, gives the same result on every database.
pub fn fold_vi(s: &str) -> String {
    fold_marks(s).replace('y', "i")
}

/// Folds without unifying i/y: for reading published text, where "ngày" must stay "ngay".
pub fn fold_marks(s: &str) -> String {
    s.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .map(|c| match c {
            'đ' | 'Đ' => 'd',
            c => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// Splits text into words (letters and digits) with their byte ranges in `s`.
pub fn words(s: &str) -> impl Iterator<Item = (usize, &str)> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(move |w| (w.as_ptr() as usize - s.as_ptr() as usize, w))
}

#[cfg(test)]
mod fold_tests {
    use super::*;

    #[test]
    fn folding_removes_marks_and_d_stroke_and_unifies_i_y() {
        assert_eq!(fold_vi("Đăng ký khai sinh"), "dang ki khai sinh");
        assert_eq!(fold_vi("ĐĂNG KÍ KHAI SINH"), "dang ki khai sinh");
        assert_eq!(fold_vi("Lý lịch tư pháp"), fold_vi("lí lịch tư pháp"));
        assert_eq!(fold_vi("Chứng thực bản sao"), "chung thuc ban sao");
        // Decomposed input folds the same as precomposed input.
        assert_eq!(fold_vi("Le\u{0302}\u{0323} phi\u{0301}"), fold_vi("Lệ phí"));
    }

    #[test]
    fn words_keep_their_positions() {
        let s = "Cấp bản sao, trích lục";
        let w: Vec<_> = words(s).collect();
        assert_eq!(w.len(), 5);
        for (at, word) in w {
            assert_eq!(&s[at..at + word.len()], word);
        }
    }
}
