//! Providers' callbacks: delivery receipts of the SMS brandname gateway and Zalo's webhook events.
//! Neither carries a session: an SMS receipt proves itself by the secret token of the URL it was
//! given, a Zalo event by its signature (SHA-256 of the app id, the body, the event's timestamp
//! and the OA's secret key). A receipt for no message awaiting it is answered 409 and changes
//! nothing: the provider tries again later, which settles a receipt that overtook the record of
//! its message's acceptance (a node killed in between, a slow commit).

use crate::http::routes::{post, RouteDef};
use crate::http::state::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use motcua_core::accounts::Access;
use motcua_store::outbox::Receipt;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub(crate) fn routes() -> Vec<RouteDef> {
    vec![
        post("/hooks/receipts/sms", Access::Public, sms_receipt),
        post("/hooks/receipts/zalo", Access::Public, zalo_event),
        post("/hooks/inbound/sms", Access::Public, inbound_sms),
    ]
}

fn refused(code: &str, message: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(serde_json::json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

/// Where no provider is configured, its hook does not exist.
fn off(message: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(serde_json::json!({"error": {"code": "receipts_off", "message": message}})),
    )
        .into_response()
}

fn bad(code: &str, message: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

/// Why `value` of `field` is not a short printable ASCII token, if it is not.
fn plain(field: &str, value: &str, max: usize) -> Option<String> {
    let ok = !value.is_empty() && value.len() <= max && value.bytes().all(|b| b.is_ascii_graphic());
    (!ok).then(|| format!("{field}: expected 1 to {max} printable characters"))
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// An SMS provider's delivery receipt.
#[derive(Deserialize)]
struct SmsReceipt {
    provider: String,
    #[serde(rename = "REQID")]
    request_id: String,
    #[serde(rename = "STATUS")]
    status: String,
}

async fn sms_receipt(
    State(state): State<AppState>,
    Query(q): Query<TokenQuery>,
    body: String,
) -> Response {
    let Some(expected) = state.gateways.receipts.sms_token.as_deref() else {
        return off("this site takes no SMS receipts");
    };
    if !q.token.as_deref().is_some_and(|t| same(t, expected)) {
        return refused("bad_token", "the receipt's token is wrong");
    }
    let r: SmsReceipt = match serde_json::from_str(&body) {
        Ok(r) => r,
        Err(e) => return bad("bad_receipt", format!("the receipt does not parse: {e}")),
    };
    if !matches!(r.provider.as_str(), "vnpt" | "viettel") {
        return bad(
            "bad_receipt",
            "provider: expected vnpt or viettel".to_owned(),
        );
    }
    // What is stored from a receipt is short and printable, whoever sent it.
    if let Some(e) = plain("REQID", &r.request_id, 100).or_else(|| plain("STATUS", &r.status, 32)) {
        return bad("bad_receipt", e);
    }
    // DELIVRD is the handset's confirmation; every other final state (EXPIRED, UNDELIV,
    // REJECTD) means it did not reach the phone in the provider's own retry time.
    let receipt = if r.status == "DELIVRD" {
        Receipt::Delivered
    } else {
        Receipt::Undelivered
    };
    apply(&state, &r.provider, &r.request_id, receipt, &r.status).await
}

async fn apply(
    state: &AppState,
    provider: &str,
    reference: &str,
    receipt: Receipt,
    status: &str,
) -> Response {
    match state
        .store
        .outbox_receipt(provider, reference, receipt, status)
        .await
    {
        Ok(true) => Json(serde_json::json!({"matched": true})).into_response(),
        Ok(false) => (
            StatusCode::CONFLICT,
            Json(serde_json::json!({"matched": false})),
        )
            .into_response(),
        Err(e) => crate::http::error::WebError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
struct ZaloEvent {
    event_name: String,
    app_id: String,
    timestamp: String,
    #[serde(default)]
    message: Option<ZaloMessage>,
}

#[derive(Deserialize)]
struct ZaloMessage {
    msg_id: String,
}

async fn zalo_event(State(state): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let Some((app_id, secret)) = state.gateways.receipts.zalo.clone() else {
        return off("this site takes no Zalo events");
    };
    let event: ZaloEvent = match serde_json::from_str(&body) {
        Ok(e) => e,
        Err(e) => return bad("bad_event", format!("the event does not parse: {e}")),
    };
    let sent = headers
        .get("X-ZEvent-Signature")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("mac="))
        .unwrap_or_default();
    let mac = hex::encode(Sha256::digest(format!(
        "{app_id}{body}{}{secret}",
        event.timestamp
    )));
    if event.app_id != app_id || !same(sent, &mac) {
        return refused("bad_signature", "the event's signature is wrong");
    }
    match (event.event_name.as_str(), event.message) {
        ("user_received_message", Some(m)) if plain("msg_id", &m.msg_id, 100).is_some() => bad(
            "bad_event",
            "msg_id: expected up to 100 printable characters".to_owned(),
        ),
        ("user_received_message", Some(m)) => {
            apply(
                &state,
                "zns",
                &m.msg_id,
                Receipt::Delivered,
                "user_received_message",
            )
            .await
        }
        // Other events (follows, messages from users) are not receipts.
        _ => Json(serde_json::json!({"matched": false})).into_response(),
    }
}

/// An SMS a person sent to the brandname, as the provider forwards it.
#[derive(Deserialize)]
struct Inbound {
    /// The sender's number (`84…`).
    from: String,
    /// What they wrote.
    text: String,
}

/// A reply of `TC`, `HUY`, `STOP` or `DUNG` withdraws the number's consent to outreach, at no
/// cost to the person (Decree 91/2020); anything else is not for this hook.
async fn inbound_sms(
    State(state): State<AppState>,
    Query(q): Query<TokenQuery>,
    body: String,
) -> Response {
    let Some(expected) = state.gateways.receipts.sms_token.as_deref() else {
        return off("this site takes no inbound SMS");
    };
    if !q.token.as_deref().is_some_and(|t| same(t, expected)) {
        return refused("bad_token", "the message's token is wrong");
    }
    let m: Inbound = match serde_json::from_str(&body) {
        Ok(m) => m,
        Err(e) => return bad("bad_message", format!("the message does not parse: {e}")),
    };
    let Ok(phone) = motcua_core::accounts::normalise_phone(&m.from) else {
        return bad("bad_number", format!("'{}' is not a mobile number", m.from));
    };
    if !motcua_core::delivery::outreach::is_opt_out(&m.text) {
        return Json(serde_json::json!({"opted_out": false})).into_response();
    }
    match state
        .store
        .set_consent(
            &phone,
            motcua_core::delivery::MessageKind::Outreach,
            false,
            motcua_store::outbox::ConsentWay::SmsKeyword,
        )
        .await
    {
        Ok(_) => Json(serde_json::json!({"opted_out": true})).into_response(),
        Err(e) => crate::http::error::WebError::from(e).into_response(),
    }
}
