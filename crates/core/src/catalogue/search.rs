//! Catalogue search as people type it on a phone: case- and diacritic-insensitive (đ → d), i/y
//! variants equal, any word order, prefix match on the last word (search-as-you-type), one typo in
//! words of five or more letters, ranked with the name before other text, filtered, with the
//! matched words highlighted.
//!
//! The index lives in memory and is built from the catalogue, so SQLite and PostgreSQL deployments
//! return the same results in the same order: neither FTS5 nor `tsvector` folds đ, equates i/y or
//! tolerates typos, and a second engine such as tantivy would double build time for a few thousand
//! documents.

use super::procedure::{Level, OnlineMode};
use crate::text::{fold_vi, words};
use std::collections::HashMap;

/// What a document is filtered by.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Facets {
    /// Field (lĩnh vực).
    pub field: String,
    /// Agency code.
    pub agency: String,
    /// Implementing levels.
    pub levels: Vec<Level>,
    /// Online mode, if known.
    pub mode: Option<OnlineMode>,
}

/// A document to index: its name (ranked first) and any other searchable text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Name.
    pub name: String,
    /// Other searchable text (code, field, agency, result, legal basis…).
    pub other: Vec<String>,
    /// Filters.
    pub facets: Facets,
}

/// A search request.
#[derive(Debug, Clone, Default)]
pub struct Query<'a> {
    /// What the person typed.
    pub text: &'a str,
    /// Only this field.
    pub field: Option<&'a str>,
    /// Only this agency.
    pub agency: Option<&'a str>,
    /// Only this level.
    pub level: Option<Level>,
    /// Only this online mode.
    pub mode: Option<OnlineMode>,
    /// Page number from 1.
    pub page: usize,
    /// Hits per page (1–100).
    pub per_page: usize,
}

/// One result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Index of the document in the order it was given to [`SearchIndex::build`].
    pub doc: usize,
    /// Relevance; higher is better.
    pub score: f32,
}

/// One page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct Results {
    /// Documents matching in all.
    pub total: usize,
    /// This page.
    pub hits: Vec<Hit>,
    /// Folded words that matched, to highlight.
    pub matched: Vec<String>,
    /// The last query word, folded, which also matches as a prefix.
    pub prefix: Option<String>,
}

const NAME: u8 = 0;
const OTHER: u8 = 1;
const NAME_WEIGHT: f32 = 3.0;
const OTHER_WEIGHT: f32 = 1.0;
const EXACT: f32 = 1.0;
const PREFIX: f32 = 0.75;
const TYPO: f32 = 0.6;
const TYPO_MIN_LEN: usize = 5;
const PREFIX_EXPANSION_CAP: usize = 256;

#[derive(Debug, Clone, Copy)]
struct Posting {
    doc: u32,
    field: u8,
    pos: u16,
}

/// The in-memory index.
#[derive(Debug, Default)]
pub struct SearchIndex {
    facets: Vec<Facets>,
    name_len: Vec<u16>,
    names: Vec<String>,
    /// Sorted vocabulary; a term's id is its position.
    terms: Vec<String>,
    postings: Vec<Vec<Posting>>,
    /// Each term of [`TYPO_MIN_LEN`]+ letters under itself and each of its one-letter deletions.
    deletions: HashMap<String, Vec<u32>>,
}

fn deletions_of(word: &str) -> impl Iterator<Item = String> + '_ {
    let chars: Vec<char> = word.chars().collect();
    (0..chars.len()).map(move |i| {
        chars
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, c)| c)
            .collect()
    })
}

/// Whether `a` and `b` differ by at most one insertion, deletion, substitution or swap of
/// neighbours.
fn within_one_typo(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let (la, lb) = (a.len(), b.len());
    if la.abs_diff(lb) > 1 {
        return false;
    }
    let first = a
        .iter()
        .zip(&b)
        .position(|(x, y)| x != y)
        .unwrap_or(la.min(lb));
    if la == lb {
        if first == la {
            return true;
        }
        // substitution, or a swap of neighbours
        a[first + 1..] == b[first + 1..]
            || (first + 1 < la
                && a[first] == b[first + 1]
                && a[first + 1] == b[first]
                && a[first + 2..] == b[first + 2..])
    } else {
        let (long, short) = if la > lb { (&a, &b) } else { (&b, &a) };
        long[first + 1..] == short[first..]
    }
}

fn fold_words(text: &str) -> Vec<String> {
    words(text).map(|(_, w)| fold_vi(w)).collect()
}

impl SearchIndex {
    /// Indexes `docs`; hits refer to them by position.
    pub fn build(docs: &[Document]) -> SearchIndex {
        let mut by_term: HashMap<String, Vec<Posting>> = HashMap::new();
        let mut index = SearchIndex::default();
        for (d, doc) in docs.iter().enumerate() {
            let d = u32::try_from(d).unwrap_or(u32::MAX);
            let name = fold_words(&doc.name);
            for (pos, w) in name.iter().enumerate() {
                by_term.entry(w.clone()).or_default().push(Posting {
                    doc: d,
                    field: NAME,
                    pos: u16::try_from(pos).unwrap_or(u16::MAX),
                });
            }
            for (pos, w) in doc.other.iter().flat_map(|t| fold_words(t)).enumerate() {
                by_term.entry(w).or_default().push(Posting {
                    doc: d,
                    field: OTHER,
                    pos: u16::try_from(pos).unwrap_or(u16::MAX),
                });
            }
            index
                .name_len
                .push(u16::try_from(name.len()).unwrap_or(u16::MAX));
            index.facets.push(doc.facets.clone());
            index.names.push(doc.name.clone());
        }
        let mut terms: Vec<(String, Vec<Posting>)> = by_term.into_iter().collect();
        terms.sort_by(|a, b| a.0.cmp(&b.0));
        for (id, (term, postings)) in terms.into_iter().enumerate() {
            let id = u32::try_from(id).unwrap_or(u32::MAX);
            if term.chars().count() >= TYPO_MIN_LEN {
                index.deletions.entry(term.clone()).or_default().push(id);
                for del in deletions_of(&term) {
                    index.deletions.entry(del).or_default().push(id);
                }
            }
            index.terms.push(term);
            index.postings.push(postings);
        }
        index
    }

    /// Number of indexed documents.
    pub fn len(&self) -> usize {
        self.facets.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.facets.is_empty()
    }

    fn term_id(&self, t: &str) -> Option<u32> {
        self.terms
            .binary_search_by(|x| x.as_str().cmp(t))
            .ok()
            .and_then(|i| u32::try_from(i).ok())
    }

    /// Terms a query word stands for, each with its match quality.
    fn candidates(&self, word: &str, last: bool) -> Vec<(u32, f32)> {
        let mut out: Vec<(u32, f32)> = Vec::new();
        if let Some(id) = self.term_id(word) {
            out.push((id, EXACT));
        }
        if last {
            let start = self.terms.partition_point(|t| t.as_str() < word);
            for (i, t) in self.terms[start..]
                .iter()
                .enumerate()
                .take(PREFIX_EXPANSION_CAP)
            {
                if !t.starts_with(word) {
                    break;
                }
                if t != word {
                    out.push((u32::try_from(start + i).unwrap_or(u32::MAX), PREFIX));
                }
            }
        }
        if word.chars().count() >= TYPO_MIN_LEN {
            let mut keys: Vec<String> = deletions_of(word).collect();
            keys.push(word.to_owned());
            for key in keys {
                for &id in self
                    .deletions
                    .get(&key)
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                {
                    let term = &self.terms[id as usize];
                    if term != word
                        && !out.iter().any(|(o, _)| *o == id)
                        && within_one_typo(word, term)
                    {
                        out.push((id, TYPO));
                    }
                }
            }
        }
        out
    }

    fn passes(&self, doc: usize, q: &Query<'_>) -> bool {
        let f = &self.facets[doc];
        q.field.is_none_or(|x| f.field == x)
            && q.agency.is_none_or(|x| f.agency == x)
            && q.level.is_none_or(|x| f.levels.contains(&x))
            && q.mode.is_none_or(|x| f.mode == Some(x))
    }

    /// Runs a query. An empty query lists every document that passes the filters, by name.
    pub fn search(&self, q: &Query<'_>) -> Results {
        let per_page = q.per_page.clamp(1, 100);
        let page = q.page.max(1);
        let mut tokens = fold_words(q.text);
        tokens.truncate(16);
        let prefix = tokens.last().cloned();
        let mut matched_terms: Vec<String> = Vec::new();
        let mut ranked: Vec<(usize, f32)> = if tokens.is_empty() {
            (0..self.len())
                .filter(|&d| self.passes(d, q))
                .map(|d| (d, 0.0))
                .collect()
        } else {
            let n = self.len();
            let mut score = vec![0.0_f32; n];
            let mut matched = vec![0_u8; n];
            let mut in_name = vec![0_u8; n];
            let mut prev_mask: Vec<u64> = vec![0; n];
            let mut phrase = vec![0.0_f32; n];
            for (i, token) in tokens.iter().enumerate() {
                let mut best = vec![0.0_f32; n];
                let mut name_hit = vec![false; n];
                let mut mask: Vec<u64> = vec![0; n];
                for (term, quality) in self.candidates(token, i + 1 == tokens.len()) {
                    matched_terms.push(self.terms[term as usize].clone());
                    for p in &self.postings[term as usize] {
                        let d = p.doc as usize;
                        let weight = if p.field == NAME {
                            NAME_WEIGHT
                        } else {
                            OTHER_WEIGHT
                        };
                        best[d] = best[d].max(quality * weight);
                        if p.field == NAME {
                            name_hit[d] = true;
                            if p.pos < 64 {
                                mask[d] |= 1 << p.pos;
                            }
                        }
                    }
                }
                for d in 0..n {
                    if best[d] > 0.0 {
                        score[d] += best[d];
                        matched[d] += 1;
                        in_name[d] += u8::from(name_hit[d]);
                        if i > 0 && (prev_mask[d] << 1) & mask[d] != 0 {
                            phrase[d] += 1.0;
                        }
                    }
                }
                prev_mask = mask;
            }
            let count = tokens.len();
            // One word may miss (a typo in a short word, a word the catalogue does not use).
            let needed = if count <= 2 { count } else { count - 1 };
            (0..n)
                .filter(|&d| usize::from(matched[d]) >= needed && self.passes(d, q))
                .map(|d| {
                    let all_in_name = if usize::from(in_name[d]) == count {
                        2.0
                    } else {
                        0.0
                    };
                    (
                        d,
                        score[d] + phrase[d] + all_in_name - f32::from(self.name_len[d]) * 0.01,
                    )
                })
                .collect()
        };
        ranked.sort_by(|a, b| {
            b.1.total_cmp(&a.1)
                .then(self.name_len[a.0].cmp(&self.name_len[b.0]))
                .then_with(|| self.names[a.0].cmp(&self.names[b.0]))
        });
        matched_terms.sort();
        matched_terms.dedup();
        let total = ranked.len();
        let hits = ranked
            .into_iter()
            .skip((page - 1).saturating_mul(per_page))
            .take(per_page)
            .map(|(doc, score)| Hit { doc, score })
            .collect();
        Results {
            total,
            hits,
            matched: matched_terms,
            prefix,
        }
    }
}

/// A piece of text, marked when it matched the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The text, unescaped: templates escape it.
    pub text: String,
    /// Whether to highlight it.
    pub marked: bool,
}

/// Splits `text` into segments, marking the words that matched.
pub fn highlight(text: &str, results: &Results) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    let mut last = 0;
    let push = |out: &mut Vec<Segment>, s: &str, marked: bool| {
        if s.is_empty() {
            return;
        }
        match out.last_mut() {
            Some(seg) if seg.marked == marked => seg.text.push_str(s),
            _ => out.push(Segment {
                text: s.to_owned(),
                marked,
            }),
        }
    };
    for (at, word) in words(text) {
        let folded = fold_vi(word);
        let hit = results.matched.binary_search(&folded).is_ok()
            || results
                .prefix
                .as_ref()
                .is_some_and(|p| folded.starts_with(p.as_str()));
        if hit {
            push(&mut out, &text[last..at], false);
            push(&mut out, word, true);
            last = at + word.len();
        }
    }
    push(&mut out, &text[last..], false);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(name: &str, field: &str) -> Document {
        Document {
            name: name.into(),
            other: vec![field.into()],
            facets: Facets {
                field: field.into(),
                ..Facets::default()
            },
        }
    }

    fn catalogue() -> Vec<Document> {
        vec![
            doc("Thủ tục đăng ký lại khai sinh", "Hộ tịch"),
            doc(
                "Thủ tục đăng ký khai sinh kết hợp đăng ký nhận cha, mẹ, con",
                "Hộ tịch",
            ),
            doc("Thủ tục đăng ký khai sinh", "Hộ tịch"),
            doc("Thủ tục đăng ký kết hôn", "Hộ tịch"),
            doc("Cấp bản sao từ sổ gốc", "Chứng thực"),
            doc(
                "Chứng thực bản sao từ bản chính giấy tờ, văn bản",
                "Chứng thực",
            ),
            doc("Chứng thực chữ ký trong các giấy tờ, văn bản", "Chứng thực"),
            doc("Cấp Phiếu lý lịch tư pháp", "Lý lịch tư pháp"),
            doc("Đăng ký thường trú", "Đăng ký, quản lý cư trú"),
        ]
    }

    fn first(index: &SearchIndex, docs: &[Document], text: &str) -> Option<String> {
        let r = index.search(&Query {
            text,
            page: 1,
            per_page: 10,
            ..Query::default()
        });
        r.hits.first().map(|h| docs[h.doc].name.clone())
    }

    #[test]
    fn people_find_birth_registration_however_they_type_it() {
        let docs = catalogue();
        let index = SearchIndex::build(&docs);
        for text in [
            "dang ky khai sinh",
            "DANG KY KHAI SINH",
            "đăng kí khai sinh",
            "dang ky khai snh",
            "khai sinh dang ky",
            "dang ky khai si",
            "đăng ký khai sinhh",
        ] {
            assert_eq!(
                first(&index, &docs, text).as_deref(),
                Some("Thủ tục đăng ký khai sinh"),
                "{text}"
            );
        }
    }

    #[test]
    fn certified_copy_procedures_come_first() {
        let docs = catalogue();
        let index = SearchIndex::build(&docs);
        let r = index.search(&Query {
            text: "chung thuc ban sao",
            page: 1,
            per_page: 10,
            ..Query::default()
        });
        assert_eq!(
            docs[r.hits[0].doc].name,
            "Chứng thực bản sao từ bản chính giấy tờ, văn bản"
        );
    }

    #[test]
    fn i_and_y_spellings_match_each_other() {
        let docs = catalogue();
        let index = SearchIndex::build(&docs);
        assert_eq!(
            first(&index, &docs, "li lich tu phap").as_deref(),
            Some("Cấp Phiếu lý lịch tư pháp")
        );
        assert_eq!(
            first(&index, &docs, "phiếu lí lịch").as_deref(),
            Some("Cấp Phiếu lý lịch tư pháp")
        );
    }

    #[test]
    fn a_query_that_matches_nothing_finds_nothing() {
        let docs = catalogue();
        let index = SearchIndex::build(&docs);
        let r = index.search(&Query {
            text: "xuất khẩu lao động",
            page: 1,
            per_page: 10,
            ..Query::default()
        });
        assert_eq!(r.total, 0);
        assert!(index
            .search(&Query {
                text: "khaisinh",
                page: 1,
                per_page: 10,
                ..Query::default()
            })
            .hits
            .is_empty());
    }

    #[test]
    fn filters_and_pages_apply() {
        let docs = catalogue();
        let index = SearchIndex::build(&docs);
        let r = index.search(&Query {
            text: "",
            field: Some("Chứng thực"),
            page: 1,
            per_page: 2,
            ..Query::default()
        });
        assert_eq!(r.total, 3);
        assert_eq!(r.hits.len(), 2);
        let p2 = index.search(&Query {
            text: "",
            field: Some("Chứng thực"),
            page: 2,
            per_page: 2,
            ..Query::default()
        });
        assert_eq!(p2.hits.len(), 1);
        assert!(index
            .search(&Query {
                text: "khai sinh",
                field: Some("Chứng thực"),
                page: 1,
                per_page: 10,
                ..Query::default()
            })
            .hits
            .is_empty());
    }

    #[test]
    fn matched_words_are_highlighted_in_the_original_text() {
        let docs = catalogue();
        let index = SearchIndex::build(&docs);
        let r = index.search(&Query {
            text: "dang ky khai si",
            page: 1,
            per_page: 10,
            ..Query::default()
        });
        let segs = highlight("Thủ tục đăng ký khai sinh", &r);
        let marked: Vec<&str> = segs
            .iter()
            .filter(|s| s.marked)
            .map(|s| s.text.as_str())
            .collect();
        assert_eq!(marked, vec!["đăng", "ký", "khai", "sinh"]);
        assert!(!segs[0].marked && segs[0].text == "Thủ tục ");
        assert_eq!(
            segs.iter().map(|s| s.text.as_str()).collect::<String>(),
            "Thủ tục đăng ký khai sinh"
        );
    }

    #[test]
    fn one_typo_means_one_edit() {
        assert!(within_one_typo("khaisinh", "khaisin"));
        assert!(within_one_typo("thuong", "thuogn"));
        assert!(within_one_typo("chung", "chumg"));
        assert!(!within_one_typo("chung", "chmug"));
        assert!(!within_one_typo("sinh", "snhi"));
    }
}
