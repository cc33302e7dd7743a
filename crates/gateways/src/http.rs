//! The HTTP client every provider is reached with: TLS on ring with the Mozilla roots (set here,
//! not through a process-wide provider), a bounded time per request, no redirects (a provider
//! that redirects an API call is misconfigured, and a redirect could carry credentials away).

use crate::DeliveryError;
use std::sync::Arc;
use std::time::Duration;

/// A client builder with TLS on ring, trusting the Mozilla roots and `extra_roots` (a
/// province's own certificate authority, for a service on its private network), and following
/// no redirect.
pub fn builder(
    extra_roots: &[rustls::pki_types::CertificateDer<'static>],
) -> Result<reqwest::ClientBuilder, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for cert in extra_roots {
        roots
            .add(cert.clone())
            .map_err(|e| format!("a trusted certificate is unusable: {e}"))?;
    }
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(reqwest::redirect::Policy::none()))
}

/// A client for provider APIs with `timeout` per request.
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    builder(&[])?
        .timeout(timeout)
        .build()
        .map_err(|e| e.to_string())
}

/// The body of a provider's answer, or the technical failure that kept us from it: a request
/// that could not be sent or timed out, or an HTTP status other than success. A 429 is the
/// provider throttling us: temporary, never dropped.
pub(crate) async fn answer(
    sent: Result<reqwest::Response, reqwest::Error>,
) -> Result<bytes::Bytes, DeliveryError> {
    let response = sent.map_err(|e| {
        // reqwest's error names the URL, never the body (where credentials travel).
        DeliveryError::technical(None, format!("provider unreachable: {}", e.without_url()))
    })?;
    let status = response.status();
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        // Retry-After in seconds when given (the HTTP-date form is rare among these providers).
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map_or(Duration::from_secs(1), |s| {
                Duration::from_secs(s.clamp(1, 3600))
            });
        return Err(DeliveryError::Throttled {
            provider_status: Some(status.as_u16().to_string()),
            message: "the provider is throttling: try later".to_owned(),
            retry_after,
        });
    }
    if !status.is_success() {
        return Err(DeliveryError::technical(
            Some(status.as_u16().to_string()),
            format!("provider answered HTTP {status}"),
        ));
    }
    response.bytes().await.map_err(|e| {
        DeliveryError::technical(None, format!("answer cut short: {}", e.without_url()))
    })
}

/// Reads a configured secret: `env:NAME` from the environment, `file:/path` from a file (its
/// first line), anything else as given (for the sandbox's published test credentials).
pub fn secret(value: &str) -> Result<String, String> {
    if let Some(name) = value.strip_prefix("env:") {
        std::env::var(name).map_err(|_| format!("environment variable {name} is not set"))
    } else if let Some(path) = value.strip_prefix("file:") {
        std::fs::read_to_string(path)
            .map(|s| s.lines().next().unwrap_or_default().trim().to_owned())
            .map_err(|e| format!("{path}: {e}"))
    } else {
        Ok(value.to_owned())
    }
}
