//! A sandbox of motcua's messaging providers: local HTTP servers that take the same requests as
//! VNPT's and Viettel's SMS brandname gateways, Zalo's ZNS and Official Account API (with its
//! OAuth token renewal), answer in the same shapes and codes, and later post delivery receipts
//! and webhook events as the providers do. Its phone page can also play a person who follows the
//! OA and writes to it (the events Zalo would post).
//! `serve --demo` and the tests send through the real client code to it; `motcua sandbox` runs
//! it alone.
//!
//! Simulated recipients behave the same way every time (see [`recipients`]); every other number
//! is delivered. Latency, a share of requests answered with HTTP 500, and the receipts' delay
//! are settings.

mod oa;
pub mod recipients;

pub use oa::user_id as zalo_user_id;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use motcua_gateways::sms::{viettel, vnpt};
use motcua_gateways::zalo;
use recipients::Behaviour;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The sandbox's published test credentials: the demo's configuration names them.
pub mod credentials {
    /// VNPT `APIUSER`.
    pub const VNPT_USER: &str = "sandbox";
    /// VNPT `APIPASS`.
    pub const VNPT_PASS: &str = "sandbox-pass";
    /// Viettel `User`.
    pub const VIETTEL_USER: &str = "sandbox";
    /// Viettel `Password`.
    pub const VIETTEL_PASS: &str = "sandbox-pass";
    /// The Zalo app's id.
    pub const ZALO_APP_ID: &str = "1000000000000000001";
    /// The Zalo app's secret key.
    pub const ZALO_SECRET: &str = "sandbox-secret";
    /// The OA's first refresh token (single use, like Zalo's).
    pub const ZALO_FIRST_REFRESH: &str = "sandbox-refresh-0";
    /// The approved ZNS template of the demo.
    pub const ZNS_TEMPLATE: &str = "300001";
    /// The Official Account's id.
    pub const ZALO_OA_ID: &str = "2000000000000000001";
}

/// How the sandbox behaves.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Added before every answer.
    pub latency: Duration,
    /// Share (0–1) of send requests answered with HTTP 500, whoever the recipient.
    pub failure_rate: f64,
    /// Where delivery receipts of SMS go (`…/hooks/receipts/sms?token=…`), if anywhere.
    pub sms_receipts: Option<String>,
    /// Where Zalo's webhook events go, if anywhere.
    pub zalo_webhook: Option<String>,
    /// How long after acceptance a receipt is posted.
    pub receipt_delay: Duration,
    /// Lifetime of the access tokens it hands out.
    pub token_lifetime: Duration,
    /// SMS requests a second it takes before answering HTTP 429 (a provider throttling).
    pub sms_rate_per_second: Option<u32>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            latency: Duration::ZERO,
            failure_rate: 0.0,
            sms_receipts: None,
            zalo_webhook: None,
            receipt_delay: Duration::from_millis(200),
            token_lifetime: Duration::from_secs(25 * 3600),
            sms_rate_per_second: None,
        }
    }
}

/// A message the sandbox took, as a phone would show it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Received {
    /// `vnpt`, `viettel` or `zns`.
    pub provider: &'static str,
    /// The provider's id of the message.
    pub id: String,
    /// The number (`84…`).
    pub to: String,
    /// What reached the phone.
    pub text: String,
    /// Unix milliseconds.
    pub at_ms: u128,
}

#[derive(Default)]
struct Log {
    received: Vec<Received>,
    /// Requests by provider, accepted or not.
    requests: u64,
    /// Receipts the receiver acknowledged.
    receipts: u64,
    /// SMS requests in the current second, and which second.
    sms_second: (u64, u128),
    /// Requests answered 429.
    throttled: u64,
}

struct Tokens {
    access: String,
    refresh: String,
    counter: u64,
}

struct Inner {
    settings: Settings,
    log: Mutex<Log>,
    /// The OA's followers: phone (`84…`) to Zalo user id.
    followers: Mutex<std::collections::HashMap<String, String>>,
    tokens: Mutex<Tokens>,
    http: reqwest::Client,
}

/// A running sandbox.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
    addr: SocketAddr,
}

impl Sandbox {
    /// Binds `addr` (port 0: any free port) and serves until the task is dropped with the runtime.
    pub async fn start(addr: SocketAddr, settings: Settings) -> std::io::Result<Sandbox> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner {
            settings,
            log: Mutex::new(Log::default()),
            followers: Mutex::new(oa::first_followers()),
            tokens: Mutex::new(Tokens {
                access: String::new(),
                refresh: credentials::ZALO_FIRST_REFRESH.to_owned(),
                counter: 0,
            }),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .map_err(std::io::Error::other)?,
        });
        let app = router(inner.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "sandbox stopped");
            }
        });
        Ok(Sandbox { inner, addr })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A VNPT SMS client's settings for this sandbox, with its published test credentials and a
    /// contract without diacritics priced for two segments.
    pub fn vnpt_config(&self) -> vnpt::VnptConfig {
        vnpt::VnptConfig {
            url: format!("{}/vnpt/send_sms_list", self.url()),
            contract: motcua_gateways::sms::Contract {
                brandname: "UBND LANGSON".into(),
                unicode: false,
                max_segments: 2,
                price_per_segment: 800,
            },
            label_id: "1".into(),
            contract_type_id: "1".into(),
            contract_id: "1".into(),
            template_id: "1".into(),
            agent_id: "1".into(),
            api_user: credentials::VNPT_USER.into(),
            api_pass: credentials::VNPT_PASS.into(),
            username: "langson".into(),
        }
    }

    /// Messages taken so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.inner
            .log
            .lock()
            .map(|l| l.received.clone())
            .unwrap_or_default()
    }

    /// How many messages it took so far (without copying them: a benchmark polls this).
    pub fn received_count(&self) -> usize {
        self.inner
            .log
            .lock()
            .map(|l| l.received.len())
            .unwrap_or_default()
    }

    /// Receipts the receiver acknowledged so far.
    pub fn receipts(&self) -> u64 {
        self.inner
            .log
            .lock()
            .map(|l| l.receipts)
            .unwrap_or_default()
    }

    /// SMS requests answered 429 (over `sms_rate_per_second`).
    pub fn throttled(&self) -> u64 {
        self.inner
            .log
            .lock()
            .map(|l| l.throttled)
            .unwrap_or_default()
    }

    /// Send requests so far, accepted or not.
    pub fn requests(&self) -> u64 {
        self.inner
            .log
            .lock()
            .map(|l| l.requests)
            .unwrap_or_default()
    }
}

fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .route("/", get(phone_page))
        .route("/sandbox/messages", get(messages))
        .route("/vnpt/send_sms_list", post(vnpt_send))
        .route("/viettel/CcApi", post(viettel_send))
        .route("/zalo/message/template", post(zns_send))
        .route("/zalo/oauth/access_token", post(zalo_renew))
        .route("/zalo/v2.0/oa/getprofile", get(oa::profile))
        .route("/zalo/v3.0/oa/message/transaction", post(oa::send))
        .route("/sandbox/zalo/write", post(oa::write))
        .route("/sandbox/zalo/unfollow", post(oa::unfollow))
        .with_state(inner)
}

pub(crate) fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

/// The latency and the random 500s every send request goes through; `true` when this request
/// is to fail.
pub(crate) async fn before_answer(inner: &Inner) -> bool {
    if !inner.settings.latency.is_zero() {
        tokio::time::sleep(inner.settings.latency).await;
    }
    if let Ok(mut log) = inner.log.lock() {
        log.requests += 1;
    }
    inner.settings.failure_rate > 0.0 && rand::random::<f64>() < inner.settings.failure_rate
}

pub(crate) fn take(inner: &Inner, provider: &'static str, id: &str, to: &str, text: &str) {
    if let Ok(mut log) = inner.log.lock() {
        log.received.push(Received {
            provider,
            id: id.to_owned(),
            to: to.to_owned(),
            text: text.to_owned(),
            at_ms: now_ms(),
        });
    }
}

/// A delivery receipt of an SMS, as the sandbox posts it: the provider's request id, the
/// number, and the handset's status (`DELIVRD`, `UNDELIV`, `EXPIRED`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SmsReceipt {
    /// `vnpt` or `viettel`.
    pub provider: String,
    /// The request id the message was sent with.
    #[serde(rename = "REQID")]
    pub request_id: String,
    /// The number.
    #[serde(rename = "MOBILE")]
    pub mobile: String,
    /// `DELIVRD`, `UNDELIV` or `EXPIRED`.
    #[serde(rename = "STATUS")]
    pub status: String,
}

pub(crate) fn post_later(
    inner: &Arc<Inner>,
    url: Option<String>,
    body: String,
    headers: Vec<(String, String)>,
) {
    let Some(url) = url else { return };
    let inner = inner.clone();
    tokio::spawn(async move {
        tokio::time::sleep(inner.settings.receipt_delay).await;
        // Like a provider, it tries again while the receiver is down (a restart, say) or
        // answers 409 or 5xx, for a minute; any other answer ends it.
        for _ in 0..120 {
            let mut request = inner
                .http
                .post(&url)
                .header("Content-Type", "application/json");
            for (k, v) in &headers {
                request = request.header(k, v);
            }
            match request.body(body.clone()).send().await {
                Ok(r) if r.status().is_success() => {
                    if let Ok(mut log) = inner.log.lock() {
                        log.receipts += 1;
                    }
                    return;
                }
                Ok(r) if r.status() == StatusCode::CONFLICT || r.status().is_server_error() => {}
                Ok(r) => {
                    tracing::warn!(status = %r.status(), "sandbox: receipt refused");
                    return;
                }
                Err(_) => {}
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        tracing::warn!("sandbox: receipt not delivered after a minute of tries");
    });
}

fn sms_receipt(inner: &Arc<Inner>, provider: &str, id: &str, to: &str, behaviour: Behaviour) {
    let status = match behaviour {
        Behaviour::TemporaryFailure => "EXPIRED",
        Behaviour::Silent => return,
        _ => "DELIVRD",
    };
    let receipt = SmsReceipt {
        provider: provider.to_owned(),
        request_id: id.to_owned(),
        mobile: to.to_owned(),
        status: status.to_owned(),
    };
    if let Ok(body) = serde_json::to_string(&receipt) {
        post_later(inner, inner.settings.sms_receipts.clone(), body, Vec::new());
    }
}

/// Whether this SMS request is over the sandbox's rate: answered 429 like a throttling provider.
fn over_sms_rate(inner: &Inner) -> bool {
    let Some(max) = inner.settings.sms_rate_per_second else {
        return false;
    };
    let second = now_ms() / 1000;
    let Ok(mut log) = inner.log.lock() else {
        return false;
    };
    if log.sms_second.1 != second {
        log.sms_second = (0, second);
    }
    log.sms_second.0 += 1;
    let over = log.sms_second.0 > u64::from(max);
    if over {
        log.throttled += 1;
    }
    over
}

fn throttled() -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [("Retry-After", "1")],
        "sandbox: rate limit",
    )
        .into_response()
}

async fn vnpt_send(State(inner): State<Arc<Inner>>, body: String) -> Response {
    if over_sms_rate(&inner) {
        return throttled();
    }
    if before_answer(&inner).await {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "sandbox: simulated failure",
        )
            .into_response();
    }
    let reply = |code: &str, desc: &str| {
        Json(serde_json::json!({"RPLY": {"name": "send_sms_list", "ERROR": code, "ERROR_DESC": desc}}))
            .into_response()
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) else {
        return reply("2", "request is not JSON");
    };
    let r = &v["RQST"];
    let field = |k: &str| r[k].as_str().unwrap_or_default();
    if field("APIUSER") != credentials::VNPT_USER || field("APIPASS") != credentials::VNPT_PASS {
        return reply(vnpt::codes::AUTH, "authentication failed");
    }
    let (id, to) = (field("REQID"), field("MOBILELIST"));
    let text = r["PARAMS"][0]["CONTENT"].as_str().unwrap_or_default();
    if id.is_empty() || to.is_empty() || field("TEMPLATEID").is_empty() {
        return reply("2", "REQID, MOBILELIST and TEMPLATEID are required");
    }
    if field("DATACODING") == "0" && !motcua_gateways::sms::is_gsm7(text) {
        return reply(
            vnpt::codes::TEMPLATE,
            "DATACODING 0 but the text has characters outside GSM-7",
        );
    }
    match recipients::behaviour(to) {
        Behaviour::PermanentFailure => reply(vnpt::codes::BAD_NUMBER, "invalid subscriber"),
        Behaviour::Technical => {
            (StatusCode::BAD_GATEWAY, "sandbox: upstream failure").into_response()
        }
        b => {
            take(&inner, "vnpt", id, to, text);
            sms_receipt(&inner, "vnpt", id, to, b);
            reply(vnpt::codes::OK, "success")
        }
    }
}

fn soap(result: &str, message: &str) -> Response {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><S:Envelope \
         xmlns:S=\"http://schemas.xmlsoap.org/soap/envelope/\"><S:Body><ns2:wsCpMtResponse \
         xmlns:ns2=\"http://impl.bulkSms.ws/\"><return><message>{message}</message>\
         <result>{result}</result></return></ns2:wsCpMtResponse></S:Body></S:Envelope>"
    );
    ([("Content-Type", "text/xml; charset=utf-8")], xml).into_response()
}

async fn viettel_send(State(inner): State<Arc<Inner>>, body: String) -> Response {
    if over_sms_rate(&inner) {
        return throttled();
    }
    if before_answer(&inner).await {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "sandbox: simulated failure",
        )
            .into_response();
    }
    let names = [
        "User",
        "Password",
        "RequestID",
        "ReceiverID",
        "Content",
        "ContentType",
    ];
    let Ok(v) = viettel::texts(&body, &names) else {
        return (StatusCode::BAD_REQUEST, "sandbox: not a SOAP envelope").into_response();
    };
    let get = |i: usize| v[i].clone().unwrap_or_default();
    if get(0) != credentials::VIETTEL_USER || get(1) != credentials::VIETTEL_PASS {
        return soap(viettel::codes::AUTH, "Authentication failed");
    }
    let (id, to, text) = (get(2), get(3), get(4));
    if get(5) == "0" && !motcua_gateways::sms::is_gsm7(&text) {
        return soap(
            viettel::codes::CONTENT,
            "ContentType 0 with characters outside GSM-7",
        );
    }
    match recipients::behaviour(&to) {
        Behaviour::PermanentFailure => soap(viettel::codes::BAD_NUMBER, "Invalid receiver"),
        Behaviour::Technical => {
            (StatusCode::BAD_GATEWAY, "sandbox: upstream failure").into_response()
        }
        b => {
            take(&inner, "viettel", &id, &to, &text);
            sms_receipt(&inner, "viettel", &id, &to, b);
            soap(viettel::codes::OK, "Success")
        }
    }
}

/// Zalo's webhook signature: SHA-256 of app id, body, timestamp and the OA's secret key, hex.
pub fn zalo_signature(app_id: &str, body: &str, timestamp: &str, secret: &str) -> String {
    hex::encode(Sha256::digest(format!("{app_id}{body}{timestamp}{secret}")))
}

async fn zns_send(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: String) -> Response {
    if before_answer(&inner).await {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "sandbox: simulated failure",
        )
            .into_response();
    }
    let reply = |error: i64, message: &str, data: serde_json::Value| {
        Json(serde_json::json!({"error": error, "message": message, "data": data})).into_response()
    };
    let token = headers
        .get("access_token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let valid = inner
        .tokens
        .lock()
        .map(|t| !t.access.is_empty() && t.access == token)
        .unwrap_or(false);
    if !valid {
        return reply(
            zalo::codes::TOKEN,
            "Access token is invalid",
            serde_json::Value::Null,
        );
    }
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) else {
        return reply(-100, "request is not JSON", serde_json::Value::Null);
    };
    let phone = v["phone"].as_str().unwrap_or_default();
    if v["template_id"].as_str() != Some(credentials::ZNS_TEMPLATE) {
        return reply(
            zalo::codes::NO_TEMPLATE,
            "Template not found",
            serde_json::Value::Null,
        );
    }
    let data = v["template_data"].as_object();
    let text = data
        .map(|d| {
            d.values()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    if text.is_empty() {
        return reply(
            zalo::codes::BAD_TEMPLATE_DATA,
            "Template data is empty",
            serde_json::Value::Null,
        );
    }
    match recipients::zalo_behaviour(phone) {
        Behaviour::PermanentFailure => reply(
            zalo::codes::NO_ZALO_ACCOUNT,
            "Zalo account not existed or disabled",
            serde_json::Value::Null,
        ),
        Behaviour::Technical => {
            (StatusCode::BAD_GATEWAY, "sandbox: upstream failure").into_response()
        }
        b => {
            let msg_id = format!("zns{}", rand::random::<u64>());
            take(&inner, "zns", &msg_id, phone, &text);
            if b == Behaviour::Delivered {
                oa::post_event(
                    &inner,
                    serde_json::json!({
                        "event_name": "user_received_message",
                        "message": {
                            "msg_id": msg_id,
                            "tracking_id": v["tracking_id"],
                            "delivery_time": now_ms().to_string(),
                        },
                    }),
                );
            }
            reply(
                zalo::codes::OK,
                "Success",
                serde_json::json!({"msg_id": msg_id, "sent_time": now_ms().to_string(),
                    "quota": {"dailyQuota": "500000", "remainingQuota": "499999"}}),
            )
        }
    }
}

#[derive(Deserialize)]
struct RenewForm {
    refresh_token: String,
    app_id: String,
    grant_type: String,
}

async fn zalo_renew(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    axum::Form(f): axum::Form<RenewForm>,
) -> Response {
    let secret = headers.get("secret_key").and_then(|v| v.to_str().ok());
    if secret != Some(credentials::ZALO_SECRET) || f.app_id != credentials::ZALO_APP_ID {
        return Json(serde_json::json!({"error": -14014, "error_name": "Invalid app", "error_description": "app_id or secret_key is wrong"})).into_response();
    }
    let Ok(mut t) = inner.tokens.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if f.grant_type != "refresh_token" || f.refresh_token != t.refresh {
        // Zalo's refresh tokens are single use: a spent one is refused.
        return Json(serde_json::json!({"error": -14020, "error_name": "Invalid refresh token", "error_description": "refresh token is invalid or already used"})).into_response();
    }
    t.counter += 1;
    t.access = format!("sandbox-access-{}-{}", t.counter, rand::random::<u32>());
    t.refresh = format!("sandbox-refresh-{}", t.counter);
    Json(serde_json::json!({
        "access_token": t.access,
        "refresh_token": t.refresh,
        "expires_in": inner.settings.token_lifetime.as_secs().to_string(),
    }))
    .into_response()
}

#[derive(Deserialize)]
struct ToQuery {
    to: Option<String>,
}

fn filtered(inner: &Inner, to: Option<&str>) -> Vec<Received> {
    let wanted = to.and_then(motcua_gateways::sms::msisdn);
    let mut list: Vec<Received> = inner
        .log
        .lock()
        .map(|l| l.received.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|r| wanted.as_ref().is_none_or(|w| &r.to == w))
        .collect();
    list.reverse();
    list.truncate(200);
    list
}

async fn messages(
    State(inner): State<Arc<Inner>>,
    Query(q): Query<ToQuery>,
) -> Json<Vec<Received>> {
    Json(filtered(&inner, q.to.as_deref()))
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The simulated phones: what each number received, newest first.
async fn phone_page(State(inner): State<Arc<Inner>>, Query(q): Query<ToQuery>) -> Html<String> {
    let rows: String = filtered(&inner, q.to.as_deref())
        .iter()
        .map(|r| {
            format!(
                "<tr><td>{}</td><td>{}</td><td class=\"text\">{}</td></tr>",
                escape_html(&r.to),
                r.provider,
                escape_html(&r.text)
            )
        })
        .collect();
    Html(format!(
        "<!doctype html><html lang=\"vi\"><meta charset=\"utf-8\"><title>Điện thoại mô phỏng</title>\
         <h1>Điện thoại mô phỏng (môi trường thử)</h1>\
         <p>Tin nhắn SMS và Zalo mà các nhà cung cấp mô phỏng đã nhận, mới nhất trước.</p>\
         <form><label>Số điện thoại <input name=\"to\" value=\"{to}\"></label> <button>Lọc</button></form>\
         <table><thead><tr><th>Số nhận</th><th>Kênh</th><th>Nội dung</th></tr></thead><tbody>{rows}</tbody></table>\
         <h2>Nhắn tin tới Official Account trên Zalo</h2>\
         <p>Người dùng với số này quan tâm OA (nếu chưa) và gửi tin nhắn, ví dụ mã theo dõi hồ sơ «THEODOI …».</p>\
         <form method=\"post\" action=\"/sandbox/zalo/write\"><label>Số điện thoại <input name=\"phone\" value=\"{to}\" required></label> \
         <label>Tin nhắn <input name=\"text\" id=\"oa-text\"></label> <button>Gửi tới OA</button></form>\
         <form method=\"post\" action=\"/sandbox/zalo/unfollow\"><label>Số điện thoại <input name=\"phone\" value=\"{to}\" required></label> \
         <button>Bỏ quan tâm OA</button></form></html>",
        to = escape_html(q.to.as_deref().unwrap_or_default())
    ))
}
