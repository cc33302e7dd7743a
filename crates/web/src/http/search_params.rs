//! Catalogue search parameters, shared by the portal page and the API: one parser, one set of
//! messages (Vietnamese on pages, English with a code in the API).

use motcua_core::catalogue::search::Query;
use motcua_core::catalogue::{Level, OnlineMode};
use serde::{Deserialize, Serialize};

/// Hits per page.
pub const PER_PAGE: usize = 20;
const MAX_QUERY_CHARS: usize = 200;
const MAX_PAGE: usize = 1_000;

/// Raw query-string parameters as they arrive.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// What the citizen typed: diacritics optional, any word order, the last word may be cut.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Field (lĩnh vực), exactly as listed.
    pub field: Option<String>,
    /// Agency code, e.g. `ubnd-xa`.
    pub agency: Option<String>,
    /// Implementing level: `province`, `commune` or `other`.
    #[param(pattern = r"^(province|commune|other)?$")]
    pub level: Option<String>,
    /// Online mode: `full`, `partial` or `none`.
    #[param(pattern = r"^(full|partial|none)?$")]
    pub mode: Option<String>,
    /// Page from 1 to 1000; empty for the first.
    #[param(pattern = r"^([1-9][0-9]{0,2}|1000)?$")]
    pub page: Option<String>,
}

/// Parameters after validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRequest {
    pub q: String,
    pub field: Option<String>,
    pub agency: Option<String>,
    pub level: Option<Level>,
    pub mode: Option<OnlineMode>,
    pub page: usize,
}

/// A parameter that is not valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    pub parameter: &'static str,
    pub message_en: String,
    pub message_vi: String,
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl SearchParams {
    /// Validates every parameter; empty values mean "any".
    pub fn validate(&self) -> Result<SearchRequest, ParamError> {
        let typed = non_empty(&self.q).unwrap_or_default();
        // Counted as typed: composing can lengthen a few characters, and the API document
        // promises the limit on what is sent.
        if typed.chars().count() > MAX_QUERY_CHARS {
            return Err(ParamError {
                parameter: "q",
                message_en: format!("q is longer than {MAX_QUERY_CHARS} characters"),
                message_vi: format!("Từ khóa tìm kiếm dài quá {MAX_QUERY_CHARS} ký tự."),
            });
        }
        let q = motcua_core::text::nfc(typed);
        let level = match non_empty(&self.level) {
            None => None,
            Some(l) => Some(Level::parse(l).ok_or_else(|| ParamError {
                parameter: "level",
                message_en: format!("level '{l}' is not one of province, commune, other"),
                message_vi: "Cấp thực hiện không hợp lệ.".into(),
            })?),
        };
        let mode = match non_empty(&self.mode) {
            None => None,
            Some(m) => Some(OnlineMode::parse(m).ok_or_else(|| ParamError {
                parameter: "mode",
                message_en: format!("mode '{m}' is not one of full, partial, none"),
                message_vi: "Mức độ trực tuyến không hợp lệ.".into(),
            })?),
        };
        let page = match non_empty(&self.page) {
            None => 1,
            Some(p) => p
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_PAGE).contains(n))
                .ok_or_else(|| ParamError {
                    parameter: "page",
                    message_en: format!("page '{p}' is not a whole number from 1 to {MAX_PAGE}"),
                    message_vi: "Số trang không hợp lệ.".into(),
                })?,
        };
        Ok(SearchRequest {
            q,
            field: non_empty(&self.field).map(motcua_core::text::nfc),
            agency: non_empty(&self.agency).map(str::to_owned),
            level,
            mode,
            page,
        })
    }
}

impl SearchRequest {
    /// The engine's query.
    pub fn query(&self) -> Query<'_> {
        Query {
            text: &self.q,
            field: self.field.as_deref(),
            agency: self.agency.as_deref(),
            level: self.level,
            mode: self.mode,
            page: self.page,
            per_page: PER_PAGE,
        }
    }

    /// The query string of this search at another page.
    pub fn query_string(&self, page: usize) -> String {
        let params = SearchParams {
            q: Some(self.q.clone()).filter(|s| !s.is_empty()),
            field: self.field.clone(),
            agency: self.agency.clone(),
            level: self.level.map(|l| l.as_str().to_owned()),
            mode: self.mode.map(|m| m.as_str().to_owned()),
            page: (page > 1).then(|| page.to_string()),
        };
        serde_urlencoded::to_string(&params).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(level: &str, mode: &str, page: &str) -> SearchParams {
        SearchParams {
            q: Some("khai sinh".into()),
            level: Some(level.into()),
            mode: Some(mode.into()),
            page: Some(page.into()),
            ..SearchParams::default()
        }
    }

    #[test]
    fn empty_values_mean_any() {
        let r = params("", "", "").validate();
        assert_eq!(r.map(|r| (r.level, r.mode, r.page)), Ok((None, None, 1)));
    }

    #[test]
    fn bad_values_name_their_parameter() {
        assert_eq!(
            params("district", "", "")
                .validate()
                .err()
                .map(|e| e.parameter),
            Some("level")
        );
        assert_eq!(
            params("", "online", "")
                .validate()
                .err()
                .map(|e| e.parameter),
            Some("mode")
        );
        for page in ["0", "-1", "abc", "1001"] {
            assert_eq!(
                params("", "", page).validate().err().map(|e| e.parameter),
                Some("page"),
                "{page}"
            );
        }
        let long = SearchParams {
            q: Some("a".repeat(201)),
            ..SearchParams::default()
        };
        assert_eq!(long.validate().err().map(|e| e.parameter), Some("q"));
    }

    #[test]
    fn query_strings_keep_the_filters() {
        let r = params("commune", "full", "2")
            .validate()
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            r.query_string(3),
            "q=khai+sinh&level=commune&mode=full&page=3"
        );
        assert_eq!(r.query_string(1), "q=khai+sinh&level=commune&mode=full");
    }
}
