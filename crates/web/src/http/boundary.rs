//! Text that no field takes is refused where it enters, before any handler or database sees it:
//! a NUL anywhere (PostgreSQL refuses it in text and answered 500; SQLite stored it in login
//! names and outbox recipients), and any control character in the path. Fields that take only
//! one line check the rest themselves (see [`motcua_core::text::single_line`]).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Form and JSON bodies larger than this are not looked into here; handlers bound them lower.
const MAX_CHECKED_BODY: usize = 4 << 20;

/// Where a refused character was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found {
    /// In the path.
    Path,
    /// In the query string, in this parameter.
    Query(String),
    /// In the body, in this field (empty for a JSON body).
    Body(String),
}

impl Found {
    fn parameter(&self) -> &str {
        match self {
            Found::Path => "path",
            Found::Query(p) | Found::Body(p) => p,
        }
    }
}

/// The API's refusal of a request with a NUL or control character where `found` says.
pub(crate) fn api_refusal(found: &Found) -> crate::http::api_error::ApiError {
    let what = match found {
        Found::Path => "the path".to_owned(),
        Found::Query(p) => format!("query parameter '{p}'"),
        Found::Body(p) if p.is_empty() => "the request body".to_owned(),
        Found::Body(p) => format!("field '{p}'"),
    };
    crate::http::api_error::bad_request(
        "control_character",
        format!("{what} contains a NUL or control character, which no field accepts"),
        Some(found.parameter()),
    )
}

/// The answer to a refused request: JSON on the API, a Vietnamese page elsewhere.
pub(crate) fn refusal(api: bool, found: &Found) -> Response {
    if api {
        return api_refusal(found).into_response();
    }
    crate::http::error::WebError::ControlCharacter.into_response()
}

/// Whether `s` holds a NUL, raw or as the JSON escape `\u0000`.
pub(crate) fn has_nul(s: &[u8]) -> bool {
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            0 => return true,
            // An escape: `\u0000` is a NUL; any other escaped character is skipped whole, so
            // that `\\u0000` (a backslash, then text) is not taken for one.
            b'\\' => {
                if s.get(i + 1) == Some(&b'u') && s.get(i + 2..i + 6) == Some(b"0000") {
                    return true;
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    false
}

/// The first name or value of a URL-encoded list with a NUL, if any.
fn nul_in_pairs(encoded: &[u8]) -> Option<String> {
    form_urlencoded::parse(encoded)
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        .map(|(k, _)| k.replace('\0', ""))
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// Middleware: refuses NUL in the path, the query and form or JSON bodies, and any control
/// character in the path, with 400 and the place it was found.
pub(crate) async fn refuse_control_characters(request: Request, next: Next) -> Response {
    let api = is_api(request.uri().path());
    let path_bad = percent_decoded(request.uri().path())
        .iter()
        .any(|b| b.is_ascii_control());
    if path_bad {
        return refusal(api, &Found::Path);
    }
    if let Some(q) = request.uri().query() {
        if let Some(p) = nul_in_pairs(q.as_bytes()) {
            return refusal(api, &Found::Query(p));
        }
    }
    let kind = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let form = kind.starts_with("application/x-www-form-urlencoded");
    let json = kind.starts_with("application/json");
    if !form && !json {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_CHECKED_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return if api {
                crate::http::api_error::too_large(
                    "body_too_large",
                    format!("a form or JSON body is at most {MAX_CHECKED_BODY} bytes"),
                    None,
                )
                .into_response()
            } else {
                StatusCode::PAYLOAD_TOO_LARGE.into_response()
            }
        }
    };
    let found = if form {
        nul_in_pairs(&bytes).map(Found::Body)
    } else {
        has_nul(&bytes).then(|| Found::Body(String::new()))
    };
    if let Some(found) = found {
        return refusal(api, &found);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn percent_decoded(path: &str) -> Vec<u8> {
    percent_encoding::percent_decode_str(path).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_is_found_raw_or_escaped_but_not_in_an_escaped_backslash() {
        assert!(has_nul(b"{\"a\":\"x\\u0000\"}"));
        assert!(has_nul(b"ab\0c"));
        assert!(!has_nul(b"{\"a\":\"x\\\\u0000\"}"));
        assert!(!has_nul(b"{\"a\":\"\\u00e1\\n\"}"));
        assert_eq!(nul_in_pairs(b"a=1&code=x%00"), Some("code".into()));
        assert_eq!(nul_in_pairs(b"a=1&b=%0A"), None);
    }
}
