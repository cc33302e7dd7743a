//! "Follow this dossier on Zalo": the applicant sends a short code to the province's Official
//! Account; the OA's webhook brings the message, and the code links the sender's Zalo id to the
//! dossier. The code is the only secret: eight characters of an alphabet without look-alikes
//! (0/O, 1/I/L), about 40 bits, living a few days, and the hook counts failed tries per sender.

/// Characters of a follow code: no 0, O, 1, I or L, which people misread.
const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// Length of a follow code.
pub const LEN: usize = 8;

/// The word a follow message starts with, as shown to people (diacritics are optional).
pub const KEYWORD: &str = "THEODOI";

/// A follow code from eight random bytes.
pub fn code_from(bytes: [u8; LEN]) -> String {
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// The message a person sends to follow with `code`.
pub fn message(code: &str) -> String {
    format!("{KEYWORD} {code}")
}

/// The follow code a message to the OA carries, if it is a follow message: `THEODOI K7P2QX9M`,
/// `theo dõi k7p2qx9m`, or the code alone; spaces and case do not matter.
pub fn code_in(text: &str) -> Option<String> {
    let folded: String = crate::text::fold_marks(text)
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '.')
        .collect::<String>()
        .to_ascii_uppercase();
    let rest = folded.strip_prefix(KEYWORD).unwrap_or(&folded);
    (rest.len() == LEN && rest.bytes().all(|b| ALPHABET.contains(&b))).then(|| rest.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn people_write_the_keyword_in_many_ways() {
        for text in [
            "THEODOI K7P2QX9M",
            "theo dõi k7p2qx9m",
            "Theo doi K7P2-QX9M",
            "k7p2qx9m",
            "  THEODOI   K7P2QX9M \n",
        ] {
            assert_eq!(code_in(text).as_deref(), Some("K7P2QX9M"), "{text}");
        }
        for text in [
            "THEODOI",
            "THEODOI K7P2QX9",
            "THEODOI K7P2QX9MM",
            "xin chào",
            "THEODOI K7P2QX0M",
        ] {
            assert_eq!(code_in(text), None, "{text}");
        }
    }

    proptest! {
        #[test]
        fn every_code_made_is_read_back(bytes in proptest::array::uniform8(any::<u8>())) {
            let code = code_from(bytes);
            prop_assert_eq!(code.len(), LEN);
            prop_assert_eq!(code_in(&message(&code)), Some(code.clone()));
            prop_assert_eq!(code_in(&code.to_lowercase()), Some(code));
        }
    }
}
