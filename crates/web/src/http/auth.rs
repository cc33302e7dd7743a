//! Who is asking: sessions (cookie) for pages, bearer tokens for the API, CSRF for forms, and the
//! check of every request against its route's access rule.

use crate::http::error::WebError;
use crate::http::state::AppState;
use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use cookie::{Cookie, SameSite};
use motcua_core::accounts::Access;
use motcua_store::accounts::Account;
use std::net::SocketAddr;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "motcua_session";
/// Name of the CSRF cookie (double-submit).
pub const CSRF_COOKIE: &str = "motcua_csrf";
/// A session ends after this long without a request.
pub const IDLE_TIMEOUT: time::Duration = time::Duration::minutes(30);
/// A session ends this long after login, whatever happens.
pub const ABSOLUTE_TIMEOUT: time::Duration = time::Duration::hours(12);
const MAX_FORM_BYTES: usize = 1 << 20;

/// The signed-in account of this request.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// The account.
    pub account: Account,
    /// The session secret (pages) — `None` for API tokens.
    pub session: Option<String>,
    /// Token scopes (API) — empty for sessions.
    pub scopes: Vec<String>,
}

/// This browser's CSRF token, to put in every form.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

/// The client's address.
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

/// Reads a cookie.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Path=/, Secure behind TLS.
pub fn set_cookie(
    name: &str,
    value: &str,
    secure: bool,
    max_age: Option<time::Duration>,
) -> HeaderValue {
    let mut c = Cookie::build((name.to_owned(), value.to_owned()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(secure);
    if let Some(age) = max_age {
        c = c.max_age(age);
    }
    HeaderValue::from_str(&c.build().to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Opens a session for `user_id` and redirects to `to`, setting the session cookie and a fresh
/// CSRF token: every sign-in, by password or single sign-on, starts with new secrets.
/// `next` if it is a path on this site that is safe to put in `Location`, else `None`. Browsers
/// drop tabs and newlines inside a URL and read `\\` as `/`, so `/\t/evil.example/` or
/// `/\\evil.example` would lead to another host: only a plain ASCII path and query that parses as
/// a relative reference, starting with one `/` and holding no control character, space or
/// backslash, is taken.
pub(crate) fn local_path(next: &str) -> Option<&str> {
    let plain = next.len() <= 2000
        && next.starts_with('/')
        && !next.starts_with("//")
        && next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    (plain && next.parse::<axum::http::uri::PathAndQuery>().is_ok()).then_some(next)
}

pub(crate) async fn sign_in(
    state: &AppState,
    user_id: &str,
    to: &str,
) -> Result<Response, WebError> {
    let secret = state
        .store
        .create_session(user_id, ABSOLUTE_TIMEOUT)
        .await?;
    let secure = state.site.cookie_secure;
    let mut response =
        axum::response::Redirect::to(local_path(to).unwrap_or("/account")).into_response();
    let h = response.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, &secret, secure, Some(ABSOLUTE_TIMEOUT)),
    );
    h.append(
        header::SET_COOKIE,
        set_cookie(
            CSRF_COOKIE,
            &motcua_store::accounts::new_secret(),
            secure,
            None,
        ),
    );
    Ok(response)
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// Middleware: identifies the caller (session cookie on pages, bearer token on the API), sets the
/// CSRF cookie, and refuses unsafe page requests whose CSRF token does not match.
pub(crate) async fn identify(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    // Probes, metrics and static files have no caller to identify and no forms: no cookies.
    if matches!(path.as_str(), "/healthz" | "/readyz" | "/metrics") || path.starts_with("/static/")
    {
        return next.run(request).await;
    }
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "-".to_owned(), |c| c.0.ip().to_string());
    request.extensions_mut().insert(ClientIp(ip.clone()));
    if path.starts_with("/hooks/") {
        // Providers' receipts prove themselves (a token, a signature); no cookie, no CSRF.
        return next.run(request).await;
    }
    if is_api(&path) {
        // The API authenticates by bearer token only, never by cookie: no CSRF exposure.
        let bearer = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_owned);
        if let Some(secret) = bearer {
            match state.store.token_account(&secret).await {
                Ok(Some((account, scopes, new_period))) => {
                    // Logged once per period of use, not per call: the log stays readable and
                    // the API does not write on every request.
                    if new_period {
                        let _ = state
                            .store
                            .log_security(
                                "token_used",
                                Some(&account.id),
                                Some(&account.username),
                                Some(&ip),
                                &path,
                            )
                            .await;
                    }
                    request.extensions_mut().insert(CurrentUser {
                        account,
                        session: None,
                        scopes,
                    });
                }
                Ok(None) => {
                    return crate::http::api_error::unauthenticated(
                        "invalid_token",
                        "the bearer token is unknown or revoked".into(),
                        None,
                    )
                    .into_response()
                }
                Err(e) => return WebError::from(e).into_response(),
            }
        }
        return next.run(request).await;
    }

    if let Some(secret) = cookie(request.headers(), SESSION_COOKIE) {
        match state.store.session_account(&secret, IDLE_TIMEOUT).await {
            Ok(Some(account)) => {
                request.extensions_mut().insert(CurrentUser {
                    account,
                    session: Some(secret),
                    scopes: Vec::new(),
                });
            }
            Ok(None) => {}
            Err(e) => return WebError::from(e).into_response(),
        }
    }
    let existing = cookie(request.headers(), CSRF_COOKIE);
    let token = existing
        .clone()
        .unwrap_or_else(motcua_store::accounts::new_secret);
    request.extensions_mut().insert(CsrfToken(token.clone()));

    let unsafe_method = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if unsafe_method {
        let (parts, body) = request.into_parts();
        let header_token = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let urlencoded = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        // Uploads (multipart forms, file chunks) are streamed, never buffered here: their token
        // comes in the header or, for forms without JavaScript, in the action's query string.
        let (sent, body) = if urlencoded && header_token.is_none() {
            let bytes = match axum::body::to_bytes(body, MAX_FORM_BYTES).await {
                Ok(b) => b,
                Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "form too large").into_response(),
            };
            (form_field(&bytes, "csrf"), Body::from(bytes))
        } else {
            let from_query = parts
                .uri
                .query()
                .and_then(|q| form_field(q.as_bytes(), "csrf"));
            (header_token.or(from_query), body)
        };
        let valid = existing
            .as_deref()
            .is_some_and(|cookie| sent.as_deref() == Some(cookie));
        if !valid {
            let user = parts
                .extensions
                .get::<CurrentUser>()
                .map(|u| u.account.username.clone());
            let _ = state
                .store
                .log_security("csrf_rejected", None, user.as_deref(), Some(&ip), &path)
                .await;
            return WebError::Csrf.into_response();
        }
        request = Request::from_parts(parts, body);
    }
    let mut response = next.run(request).await;
    if existing.is_none() {
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(CSRF_COOKIE, &token, state.site.cookie_secure, None),
        );
    }
    response
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Middleware (after routing): checks the caller against the route's access rule.
pub(crate) async fn authorize(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    let Some(route) = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
    else {
        return next.run(request).await;
    };
    let Some(access) = state.routes.access(&method, &route) else {
        if state.routes.has_path(&route) {
            // A method this path does not take: the router answers 405 with `Allow`.
            return next.run(request).await;
        }
        tracing::error!(%method, route, "route without an access rule: refused");
        return WebError::Forbidden.into_response();
    };
    let user = request.extensions().get::<CurrentUser>();
    let api = is_api(&route);
    let login = || -> Response {
        if api {
            crate::http::api_error::unauthenticated(
                "unauthenticated",
                "a bearer token is required".into(),
                None,
            )
            .into_response()
        } else {
            let target = request.uri().path_and_query().map_or("/", |p| p.as_str());
            Redirect::to(&format!(
                "/login?next={}",
                serde_urlencoded::to_string([("", target)])
                    .unwrap_or_default()
                    .trim_start_matches('=')
            ))
            .into_response()
        }
    };
    let forbidden = || -> Response {
        if api {
            crate::http::api_error::forbidden(
                "forbidden",
                "your roles do not allow this".into(),
                None,
            )
            .into_response()
        } else {
            WebError::Forbidden.into_response()
        }
    };
    match access {
        Access::Public => {}
        Access::Anonymous if user.is_some() => return Redirect::to("/account").into_response(),
        Access::Anonymous => {}
        Access::SignedIn if user.is_none() => return login(),
        Access::SignedIn => {}
        Access::Needs(p) => match user {
            None => return login(),
            Some(u) if !u.account.can(p) => return forbidden(),
            Some(_) => {}
        },
        Access::DemoOnly if !state.site.demo => return WebError::NotFound.into_response(),
        Access::DemoOnly => {}
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_plain_paths_of_this_site_are_followed_after_signing_in() {
        for good in [
            "/account",
            "/dossiers?status=draft",
            "/procedures/ubnd-xa/1.001193",
            "/%09x",
        ] {
            assert_eq!(local_path(good), Some(good), "{good}");
        }
        for bad in [
            "",
            "account",
            "//evil.example/",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example/",
            "/\n/evil.example/",
            "/\r/x",
            "/\x0b/x",
            "/\x0c/x",
            "/ /x",
            "/thủ-tục",
            "https://evil.example/",
            "/a\0",
            "/\x7f",
        ] {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn whatever_is_followed_stays_on_this_host(next in "[/\\\\\t\n\r a-z.:@%?#\x00-\x1f]{0,12}") {
            if let Some(path) = local_path(&next) {
                let base = reqwest::Url::parse("http://portal.test/").unwrap();
                let target = base.join(path).unwrap();
                proptest::prop_assert_eq!(target.host_str(), Some("portal.test"));
                proptest::prop_assert!(axum::http::HeaderValue::from_str(path).is_ok());
            }
        }
    }
}
