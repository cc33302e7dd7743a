//! Refusals by throttles and quotas, as pages: 429 with the time to wait, in Vietnamese, a
//! `Retry-After` header, and a count in `/metrics` by limit.

use crate::http::error::WebError;
use crate::http::views::Ctx;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use motcua_core::accounts::Quota;
use time::OffsetDateTime;

/// A request refused until `until`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Refusal {
    /// When it may be tried again.
    pub until: OffsetDateTime,
}

impl Refusal {
    /// Whole minutes to wait, at least one.
    pub fn minutes(&self) -> i64 {
        let secs = (self.until - OffsetDateTime::now_utc())
            .whole_seconds()
            .max(1);
        (secs + 59) / 60
    }

    /// "Vui lòng thử lại sau 12 phút (lúc 10:45 ngày 04/12/2026)."
    pub fn wait_vi(&self) -> String {
        let l = self
            .until
            .to_offset(motcua_core::calendar::deadline::VIETNAM);
        format!(
            "Vui lòng thử lại sau {} phút (lúc {:02}:{:02} ngày {:02}/{:02}/{}).",
            self.minutes(),
            l.hour(),
            l.minute(),
            l.day(),
            u8::from(l.month()),
            l.year()
        )
    }

    /// Seconds for `Retry-After`.
    fn retry_after(&self) -> HeaderValue {
        let secs = (self.until - OffsetDateTime::now_utc())
            .whole_seconds()
            .max(1);
        HeaderValue::from(secs)
    }

    /// `page` with status 429 and `Retry-After`.
    pub fn respond(&self, page: impl IntoResponse) -> Response {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, self.retry_after())],
            page,
        )
            .into_response()
    }
}

/// Takes one event of each quota in turn; the first one used up refuses the request (and is
/// counted in the metrics), and the quotas after it are not touched.
pub(crate) async fn take(
    ctx: &Ctx,
    quotas: &[(String, Quota, &'static str)],
) -> Result<Result<(), Refusal>, WebError> {
    for (key, quota, limit) in quotas {
        if let Err(until) = ctx.state.store.quota_take(key, *quota).await? {
            ctx.state.metrics.refused(limit);
            return Ok(Err(Refusal { until }));
        }
    }
    Ok(Ok(()))
}

/// Counts a refusal by a throttle (a lock in force) under the metrics label `limit`.
pub(crate) fn locked(ctx: &Ctx, until: OffsetDateTime, limit: &'static str) -> Refusal {
    ctx.state.metrics.refused(limit);
    Refusal { until }
}
