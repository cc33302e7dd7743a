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
/// A word found nowhere in the catalogue only nudges the ranking towards near spellings.
const NEAR: f32 = 0.3;
const TYPO_MIN_LEN: usize = 5;
const NEAR_MIN_LEN: usize = 3;
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
    /// Each name's words: byte offset, byte length, folded form.
    name_words: Vec<Vec<(usize, usize, String)>>,
    /// Sorted vocabulary; a term's id is its position.
    terms: Vec<String>,
    postings: Vec<Vec<Posting>>,
    /// Each term of [`NEAR_MIN_LEN`]+ letters under itself and each of its one-letter deletions.
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
            index.name_words.push(
                words(&doc.name)
                    .map(|(at, w)| (at, w.len(), fold_vi(w)))
                    .collect(),
            );
        }
        let mut terms: Vec<(String, Vec<Posting>)> = by_term.into_iter().collect();
        terms.sort_by(|a, b| a.0.cmp(&b.0));
        for (id, (term, postings)) in terms.into_iter().enumerate() {
            let id = u32::try_from(id).unwrap_or(u32::MAX);
            if term.chars().count() >= NEAR_MIN_LEN {
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

    /// Terms within one typo of `word`, excluding `word` itself.
    fn near(&self, word: &str) -> Vec<u32> {
        let mut keys: Vec<String> = deletions_of(word).collect();
        keys.push(word.to_owned());
        let mut out: Vec<u32> = Vec::new();
        for key in keys {
            for &id in self
                .deletions
                .get(&key)
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                let term = &self.terms[id as usize];
                if term != word && !out.contains(&id) && within_one_typo(word, term) {
                    out.push(id);
                }
            }
        }
        out
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
            SCRATCH.with(|cell| {
                let mut scratch = cell.borrow_mut();
                self.score(&tokens, q, &mut scratch, &mut matched_terms)
            })
        };
        let total = ranked.len();
        // Only the requested page needs ordering: select it, then sort just that much.
        let wanted = page.saturating_mul(per_page).min(total);
        let order = |a: &(usize, f32), b: &(usize, f32)| {
            b.1.total_cmp(&a.1)
                .then(self.name_len[a.0].cmp(&self.name_len[b.0]))
                .then_with(|| self.names[a.0].cmp(&self.names[b.0]))
        };
        if wanted > 0 && wanted < total {
            ranked.select_nth_unstable_by(wanted - 1, order);
            ranked.truncate(wanted);
        }
        ranked.sort_by(order);
        matched_terms.sort();
        matched_terms.dedup();
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

    /// The postings of `term` for document `d` (postings are sorted by document).
    fn postings_of(&self, term: u32, d: u32) -> &[Posting] {
        let list = &self.postings[term as usize];
        let from = list.partition_point(|p| p.doc < d);
        let to = from + list[from..].partition_point(|p| p.doc == d);
        &list[from..to]
    }

    /// Scores the documents that contain every known query word. Work follows the rarest word:
    /// its documents are the candidates, the other words only check those (by probing their
    /// sorted postings, or by marking when they are rarer than the candidates), and scores and
    /// phrases are computed for the survivors alone.
    fn score(
        &self,
        tokens: &[String],
        q: &Query<'_>,
        scratch: &mut Scratch,
        matched_terms: &mut Vec<String>,
    ) -> Vec<(usize, f32)> {
        struct Token {
            terms: Vec<(u32, f32)>,
            known: bool,
            size: usize,
        }
        let infos: Vec<Token> = tokens
            .iter()
            .enumerate()
            .map(|(i, token)| {
                let mut terms = self.candidates(token, i + 1 == tokens.len());
                // A word the catalogue never uses is a typo or noise: it is not required, but
                // near spellings still rank higher ("khai snh" → "khai sinh" before "khai tử").
                let known = !terms.is_empty();
                if !known && token.chars().count() >= NEAR_MIN_LEN {
                    terms = self.near(token).into_iter().map(|id| (id, NEAR)).collect();
                }
                let size = terms
                    .iter()
                    .map(|(t, _)| self.postings[*t as usize].len())
                    .sum();
                matched_terms.extend(terms.iter().map(|(t, _)| self.terms[*t as usize].clone()));
                Token { terms, known, size }
            })
            .collect();
        let mut order: Vec<usize> = (0..infos.len()).filter(|&i| infos[i].known).collect();
        order.sort_by_key(|&i| infos[i].size);
        let Some((&rarest, rest)) = order.split_first() else {
            return Vec::new();
        };

        if scratch.mark.len() < self.len() {
            scratch.mark.resize(self.len(), 0);
        }
        let mut generation = scratch.generation;
        let mut next_generation = || {
            generation = generation.wrapping_add(1).max(1);
            generation
        };
        let g = next_generation();
        let mut candidates: Vec<u32> = Vec::new();
        for (term, _) in &infos[rarest].terms {
            for p in &self.postings[*term as usize] {
                if scratch.mark[p.doc as usize] != g {
                    scratch.mark[p.doc as usize] = g;
                    if self.passes(p.doc as usize, q) {
                        candidates.push(p.doc);
                    }
                }
            }
        }
        for &i in rest {
            if candidates.is_empty() {
                break;
            }
            let token = &infos[i];
            if token.size < candidates.len() * 8 {
                let g = next_generation();
                for (term, _) in &token.terms {
                    for p in &self.postings[*term as usize] {
                        scratch.mark[p.doc as usize] = g;
                    }
                }
                candidates.retain(|&d| scratch.mark[d as usize] == g);
            } else {
                candidates.retain(|&d| {
                    token
                        .terms
                        .iter()
                        .any(|(t, _)| !self.postings_of(*t, d).is_empty())
                });
            }
        }
        scratch.generation = generation;

        let count = tokens.len();
        candidates
            .into_iter()
            .map(|d| {
                let mut score = 0.0;
                let mut in_name = 0;
                let mut phrase = 0.0;
                let mut prev_mask = 0_u64;
                for token in &infos {
                    let mut best = 0.0_f32;
                    let mut mask = 0_u64;
                    for (term, quality) in &token.terms {
                        for p in self.postings_of(*term, d) {
                            let weight = if p.field == NAME {
                                NAME_WEIGHT
                            } else {
                                OTHER_WEIGHT
                            };
                            best = best.max(quality * weight);
                            if p.field == NAME && p.pos < 64 {
                                mask |= 1 << p.pos;
                            }
                        }
                    }
                    score += best;
                    in_name += usize::from(mask != 0);
                    // Consecutive query words at consecutive name positions: a phrase.
                    if (prev_mask << 1) & mask != 0 {
                        phrase += 1.0;
                    }
                    prev_mask = mask;
                }
                let all_in_name = if in_name == count { 2.0 } else { 0.0 };
                (
                    d as usize,
                    score + phrase + all_in_name - f32::from(self.name_len[d as usize]) * 0.01,
                )
            })
            .collect()
    }

    /// The name of document `doc` split into segments, the matched words marked. Uses the words
    /// folded at build time, so it costs no Unicode work per request.
    pub fn highlight_name(&self, doc: usize, results: &Results) -> Vec<Segment> {
        let name = &self.names[doc];
        let hit = |folded: &str| {
            results
                .matched
                .binary_search_by(|m| m.as_str().cmp(folded))
                .is_ok()
                || results
                    .prefix
                    .as_ref()
                    .is_some_and(|p| folded.starts_with(p.as_str()))
        };
        segments(
            name,
            self.name_words[doc]
                .iter()
                .map(|(at, len, folded)| (*at, *len, hit(folded))),
        )
    }
}

#[derive(Debug, Default)]
struct Scratch {
    mark: Vec<u32>,
    generation: u32,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
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
    let marks = words(text).map(|(at, word)| {
        let folded = fold_vi(word);
        let hit = results.matched.binary_search(&folded).is_ok()
            || results
                .prefix
                .as_ref()
                .is_some_and(|p| folded.starts_with(p.as_str()));
        (at, word.len(), hit)
    });
    segments(text, marks)
}

/// Builds segments from word spans (offset, length, marked).
fn segments(text: &str, marks: impl Iterator<Item = (usize, usize, bool)>) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
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
    let mut last = 0;
    for (at, len, hit) in marks {
        if hit {
            push(&mut out, &text[last..at], false);
            push(&mut out, &text[at..at + len], true);
            last = at + len;
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
        assert!(
            r.hits
                .iter()
                .all(|h| !docs[h.doc].name.starts_with("Chứng thực chữ ký")),
            "every known word is required: 'bản sao' is not in 'Chứng thực chữ ký…'"
        );
    }

    #[test]
    fn a_word_the_catalogue_never_uses_is_dropped_but_still_ranks_near_spellings() {
        let mut docs = catalogue();
        docs.push(doc("Thủ tục đăng ký khai tử", "Hộ tịch"));
        let index = SearchIndex::build(&docs);
        let r = index.search(&Query {
            text: "dang ky khai snh",
            page: 1,
            per_page: 10,
            ..Query::default()
        });
        let position = |name: &str| r.hits.iter().position(|h| docs[h.doc].name == name);
        assert_eq!(position("Thủ tục đăng ký khai sinh"), Some(0));
        assert!(
            position("Thủ tục đăng ký khai tử").is_some(),
            "still listed, lower"
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
        let doc = r.hits[0].doc;
        assert_eq!(docs[doc].name, "Thủ tục đăng ký khai sinh");
        assert_eq!(
            index.highlight_name(doc, &r),
            segs,
            "precomputed and on-the-fly highlighting agree"
        );
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

    /// The rules written the slow, obvious way: a document matches when every query word that
    /// the catalogue uses at all appears in it — exactly, as a prefix (last word), or within one
    /// typo (words of 5+ letters).
    fn reference(docs: &[Document], text: &str, field: Option<&str>) -> Vec<usize> {
        let words_of = |d: &Document| -> Vec<String> {
            std::iter::once(d.name.as_str())
                .chain(d.other.iter().map(String::as_str))
                .flat_map(fold_words)
                .collect()
        };
        let vocabulary: Vec<String> = docs.iter().flat_map(words_of).collect();
        let tokens = fold_words(text);
        let matches = |token: &str, last: bool, word: &str| {
            word == token
                || (last && word.starts_with(token))
                || (token.chars().count() >= TYPO_MIN_LEN
                    && word.chars().count() >= NEAR_MIN_LEN
                    && within_one_typo(token, word))
        };
        let known: Vec<(usize, &String)> = tokens
            .iter()
            .enumerate()
            .filter(|(i, t)| {
                vocabulary
                    .iter()
                    .any(|w| matches(t, i + 1 == tokens.len(), w))
            })
            .collect();
        if known.is_empty() {
            return Vec::new();
        }
        (0..docs.len())
            .filter(|&d| field.is_none_or(|f| docs[d].facets.field == f))
            .filter(|&d| {
                let words = words_of(&docs[d]);
                known
                    .iter()
                    .all(|(i, t)| words.iter().any(|w| matches(t, i + 1 == tokens.len(), w)))
            })
            .collect()
    }

    const WORDS: [&str; 16] = [
        "đăng",
        "ký",
        "khai",
        "sinh",
        "kết",
        "hôn",
        "chứng",
        "thực",
        "bản",
        "sao",
        "giấy",
        "phép",
        "xây",
        "dựng",
        "thường",
        "trú",
    ];

    proptest::proptest! {
        #[test]
        fn the_engine_finds_exactly_what_the_rules_say(
            names in proptest::collection::vec(proptest::collection::vec(0usize..16, 1..7), 1..40),
            query in proptest::collection::vec(0usize..16, 1..4),
            cut in 0usize..3,
            typo in proptest::bool::ANY,
            field in proptest::option::of(0usize..2),
        ) {
            let fields = ["Hộ tịch", "Xây dựng"];
            let docs: Vec<Document> = names
                .iter()
                .enumerate()
                .map(|(i, ws)| doc(&ws.iter().map(|w| WORDS[*w]).collect::<Vec<_>>().join(" "), fields[i % 2]))
                .collect();
            let mut words: Vec<String> = query.iter().map(|w| WORDS[*w].to_owned()).collect();
            if let Some(last) = words.last_mut() {
                let keep = last.chars().count().saturating_sub(cut).max(1);
                *last = last.chars().take(keep).collect();
            }
            if typo {
                words.push("thuongg".into());
            }
            let text = words.join(" ");
            let index = SearchIndex::build(&docs);
            let q = Query { text: &text, field: field.map(|f| fields[f]), page: 1, per_page: 100, ..Query::default() };
            let mut got: Vec<usize> = index.search(&q).hits.iter().map(|h| h.doc).collect();
            got.sort_unstable();
            proptest::prop_assert_eq!(got, reference(&docs, &text, q.field), "query {:?}", text);
        }
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
