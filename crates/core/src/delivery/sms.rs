//! What an SMS costs and how it is written. Brandname contracts price by segment and many require
//! text without diacritics: a text is measured in the encoding it will travel in — GSM-7 (160
//! characters alone, 153 a segment when concatenated; a character of the extension table takes
//! two) or UCS-2 (70 alone, 67 a segment; counted in UTF-16 units) — and folded to GSM-7 when the
//! contract says so, keeping case and punctuation so that a code or a dossier number reads the same.

use unicode_normalization::UnicodeNormalization;

/// GSM 03.38 basic character set (without the escape to the extension table).
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// Characters of the extension table: each costs an escape and itself, two septets.
const GSM_EXTENDED: &str = "\u{c}^{}\\[~]|€";

/// How an SMS is encoded on the air.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// 7-bit default alphabet: no Vietnamese diacritics.
    Gsm7,
    /// 16-bit: any character, fewer per segment.
    Ucs2,
}

impl Encoding {
    /// Characters (septets or UTF-16 units) in a message of one segment.
    pub fn single(self) -> usize {
        match self {
            Encoding::Gsm7 => 160,
            Encoding::Ucs2 => 70,
        }
    }

    /// Characters in each segment of a concatenated message (the rest is the header).
    pub fn per_segment(self) -> usize {
        match self {
            Encoding::Gsm7 => 153,
            Encoding::Ucs2 => 67,
        }
    }

    /// The provider's data-coding flag: `0` for GSM-7, `8` for UCS-2 (VNPT's `DATACODING`).
    pub fn data_coding(self) -> &'static str {
        match self {
            Encoding::Gsm7 => "0",
            Encoding::Ucs2 => "8",
        }
    }
}

/// The septets one character costs in GSM-7, or `None` when it has no GSM-7 form.
fn gsm_septets(c: char) -> Option<usize> {
    if GSM_BASIC.contains(c) {
        Some(1)
    } else if GSM_EXTENDED.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Whether every character of `text` has a GSM-7 form.
pub fn is_gsm7(text: &str) -> bool {
    text.chars().all(|c| gsm_septets(c).is_some())
}

/// A text measured for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measured {
    /// The encoding it travels in.
    pub encoding: Encoding,
    /// Septets (GSM-7) or UTF-16 units (UCS-2).
    pub units: usize,
    /// Segments billed.
    pub segments: usize,
}

/// Measures `text`: GSM-7 when every character allows it, else UCS-2. A concatenated message
/// never splits a character across segments (an extension character's escape and itself, or a
/// surrogate pair), so the count is what the handset and the bill see, not a plain division.
pub fn measure(text: &str) -> Measured {
    let (encoding, costs): (Encoding, Vec<usize>) = if is_gsm7(text) {
        (
            Encoding::Gsm7,
            text.chars().map(|c| gsm_septets(c).unwrap_or(1)).collect(),
        )
    } else {
        (Encoding::Ucs2, text.chars().map(char::len_utf16).collect())
    };
    let units: usize = costs.iter().sum();
    // An empty text is still one message.
    let segments = if units <= encoding.single() {
        1
    } else {
        let (mut segments, mut used) = (1, 0);
        for c in costs {
            if used + c > encoding.per_segment() {
                segments += 1;
                used = 0;
            }
            used += c;
        }
        segments
    };
    Measured {
        encoding,
        units,
        segments,
    }
}

/// Folds `text` to GSM-7 for a contract that forbids diacritics: marks dropped, đ → d and
/// Đ → D, case and punctuation kept; typographic quotes and dashes become their plain forms and
/// anything else without a GSM-7 form becomes `?`.
pub fn fold_gsm7(text: &str) -> String {
    text.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .map(|c| match c {
            'đ' => 'd',
            'Đ' => 'D',
            '‘' | '’' | '‚' | '′' => '\'',
            '“' | '”' | '„' | '″' => '"',
            '–' | '—' | '‑' | '−' => '-',
            '\u{a0}' | '\t' => ' ',
            '…' => '.',
            c if gsm_septets(c).is_some() => c,
            _ => '?',
        })
        .collect()
}

/// A text made ready for one SMS contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// What is sent.
    pub text: String,
    /// Its measure.
    pub measured: Measured,
    /// More segments than the template allows: sent anyway (a notice must reach its reader),
    /// and reported so the template can be shortened.
    pub over_budget: bool,
}

/// Prepares `text` for a contract that does (`unicode`) or does not allow diacritics, whose
/// template is priced for at most `max_segments`.
pub fn prepare(text: &str, unicode: bool, max_segments: usize) -> Prepared {
    let text = if unicode {
        crate::text::nfc(text)
    } else {
        fold_gsm7(text)
    };
    let measured = measure(&text);
    Prepared {
        over_budget: measured.segments > max_segments.max(1),
        text,
        measured,
    }
}

/// The number as SMS and Zalo providers want it (`84…`, no `+`) from the product's national form
/// (`0…`, see `accounts::normalise_phone`); `None` for anything that is not a mobile number.
pub fn msisdn(phone: &str) -> Option<String> {
    let national = crate::accounts::normalise_phone(phone).ok()?;
    Some(format!("84{}", &national[1..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_texts_fit_one_gsm_segment_up_to_160() {
        let t = "a".repeat(160);
        assert_eq!(
            measure(&t),
            Measured {
                encoding: Encoding::Gsm7,
                units: 160,
                segments: 1
            }
        );
        assert_eq!(measure(&"a".repeat(161)).segments, 2);
        assert_eq!(measure(&"a".repeat(306)).segments, 2);
        assert_eq!(measure(&"a".repeat(307)).segments, 3);
    }

    #[test]
    fn one_diacritic_makes_the_text_ucs2() {
        let t = format!("Mã {}", "a".repeat(60));
        let m = measure(&t);
        assert_eq!(m.encoding, Encoding::Ucs2);
        assert_eq!(m.units, 63);
        assert_eq!(m.segments, 1);
        assert_eq!(measure(&"ã".repeat(71)).segments, 2);
        assert_eq!(measure(&"ã".repeat(134)).segments, 2);
        assert_eq!(measure(&"ã".repeat(135)).segments, 3);
    }

    #[test]
    fn extension_characters_cost_two_and_never_straddle_segments() {
        assert_eq!(measure("[]").units, 4);
        assert_eq!(measure(&"€".repeat(80)).segments, 1);
        // 152 plain septets, then a two-septet character: it opens the second segment.
        let t = format!("{}{}", "a".repeat(152), "€".repeat(5));
        assert_eq!(measure(&t).units, 162);
        assert_eq!(measure(&t).segments, 2);
    }

    #[test]
    fn folding_keeps_case_codes_and_punctuation() {
        assert_eq!(
            fold_gsm7("Mã xác thực của bạn là 012345. Đừng chia sẻ!"),
            "Ma xac thuc cua ban la 012345. Dung chia se!"
        );
        assert_eq!(
            fold_gsm7("Hồ sơ “000.00.00.H00-261207-0001” — đã tiếp nhận…"),
            "Ho so \"000.00.00.H00-261207-0001\" - da tiep nhan."
        );
        assert_eq!(fold_gsm7("Hồ sơ ✓"), "Ho so ?");
    }

    #[test]
    fn a_template_priced_for_one_segment_warns_when_longer() {
        let p = prepare(&"Hồ sơ của bạn đã có kết quả. ".repeat(4), false, 1);
        assert!(is_gsm7(&p.text));
        assert!(!p.over_budget);
        let p = prepare(&"Hồ sơ của bạn đã có kết quả. ".repeat(4), true, 1);
        assert_eq!(p.measured.encoding, Encoding::Ucs2);
        assert!(p.over_budget);
    }

    #[test]
    fn numbers_go_out_in_international_form() {
        assert_eq!(msisdn("0912 345 678").as_deref(), Some("84912345678"));
        assert_eq!(msisdn("+84912345678").as_deref(), Some("84912345678"));
        assert_eq!(msisdn("0112345678"), None);
        assert_eq!(msisdn("hello"), None);
    }

    proptest! {
        #[test]
        fn segments_hold_every_unit_and_are_never_wasted(s in "[a-zA-Z0-9 ăâđêôơưáàảãạ€\\[\\]😀]{0,400}") {
            let m = measure(&s);
            let per = m.encoding.per_segment();
            // Enough room for every unit, and no segment fewer than a full one would do.
            if m.segments > 1 {
                prop_assert!(m.units > m.encoding.single());
                prop_assert!(m.segments * per >= m.units);
                // At most one unit lost per boundary to a character that did not fit.
                prop_assert!((m.segments - 1) * (per - 1) < m.units);
            } else {
                prop_assert!(m.units <= m.encoding.single());
            }
            prop_assert_eq!(m.encoding == Encoding::Gsm7, is_gsm7(&s));
        }

        #[test]
        fn folded_vietnamese_is_gsm7_letter_for_letter_with_its_case(
            s in "[a-zA-Z0-9 .,:;!?àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđĐÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚĂĨŨƠƯẠẢẤẦẨẪẬẮẰẲẴẶẸẺẼẾỀỂỄỆỈỊỌỎỐỒỔỖỘỚỜỞỠỢỤỦỨỪỬỮỰỲỴỶỸ]{0,200}"
        ) {
            let f = fold_gsm7(&s);
            prop_assert!(is_gsm7(&f));
            prop_assert_eq!(f.chars().count(), s.chars().count());
            for (a, b) in f.chars().zip(s.chars()) {
                prop_assert_eq!(a.is_uppercase(), b.is_uppercase());
            }
        }
    }
}
