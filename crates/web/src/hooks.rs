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
    /// Who wrote to the OA (`user_send_text`).
    #[serde(default)]
    sender: Option<ZaloUser>,
    /// Who followed or unfollowed it.
    #[serde(default)]
    follower: Option<ZaloUser>,
}

#[derive(Deserialize)]
struct ZaloMessage {
    #[serde(default)]
    msg_id: String,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
struct ZaloUser {
    id: String,
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
            // ZNS and the OA confirm with the same event: the message id tells whose it is.
            let first = apply(
                &state,
                "zns",
                &m.msg_id,
                Receipt::Delivered,
                "user_received_message",
            )
            .await;
            if first.status() != StatusCode::CONFLICT {
                return first;
            }
            apply(
                &state,
                "zalo_oa",
                &m.msg_id,
                Receipt::Delivered,
                "user_received_message",
            )
            .await
        }
        ("user_send_text", Some(m)) => match (event.sender, m.text) {
            (Some(sender), Some(text)) => zalo_text(&state, &sender.id, &text).await,
            _ => bad(
                "bad_event",
                "user_send_text: expected sender.id and message.text".to_owned(),
            ),
        },
        ("unfollow", _) => match event.follower {
            Some(f) if plain("follower.id", &f.id, 64).is_none() => {
                match state.store.unfollow_dossiers(&f.id).await {
                    Ok(n) => Json(serde_json::json!({"unfollowed": n})).into_response(),
                    Err(e) => crate::http::error::WebError::from(e).into_response(),
                }
            }
            _ => bad(
                "bad_event",
                "unfollow: expected follower.id of up to 64 printable characters".to_owned(),
            ),
        },
        // Other events (a follow, stickers, images) ask nothing of us: a follow alone links no
        // dossier until the person sends its code.
        _ => Json(serde_json::json!({"matched": false})).into_response(),
    }
}

/// Failed follow codes one Zalo user may send in an hour: a code is 40 bits, and this keeps
/// guessing one hopeless.
const FOLLOW_TRIES: motcua_core::accounts::Quota = motcua_core::accounts::Quota {
    max: 10,
    window: time::Duration::HOUR,
};

/// A person wrote to the OA: a follow code links them to its dossier, a stop word unlinks them
/// from every dossier; each gets an answer through the OA. Anything else is for the people who
/// read the OA's inbox, not for us.
async fn zalo_text(state: &AppState, user_id: &str, text: &str) -> Response {
    use motcua_core::delivery::{follow, outreach, MessageKind, ZALO_FOLLOWER};
    use motcua_store::followers::{Follow, MAX_FOLLOWERS};
    if let Some(e) = plain("sender.id", user_id, 64) {
        return bad("bad_event", e);
    }
    let to = format!("{ZALO_FOLLOWER}{user_id}");
    let reply = |key: String, body: String| async move {
        state
            .store
            .queue_message(&to, "Cổng Dịch vụ công", &body, &key, MessageKind::Notice)
            .await
    };
    let result = if outreach::is_opt_out(text) {
        match state.store.unfollow_dossiers(user_id).await {
            Ok(n) => reply(
                format!(
                    "zalo-unfollow:{user_id}:{}",
                    crate::http::state::now_in_vietnam().unix_timestamp()
                ),
                format!("Bạn đã ngừng nhận thông báo của {n} hồ sơ qua Zalo."),
            )
            .await
            .map(|()| serde_json::json!({"unfollowed": n})),
            Err(e) => Err(e),
        }
    } else if let Some(code) = follow::code_in(text) {
        match state.store.quota_take(&format!("zalo-follow:{user_id}"), FOLLOW_TRIES).await {
            Ok(Err(_)) => Ok(serde_json::json!({"followed": false, "reason": "too_many_tries"})),
            Err(e) => Err(e),
            Ok(Ok(())) => match state.store.follow_with_code(&code, user_id).await {
                Ok(Follow::Full(f)) => reply(
                    format!("zalo-follow-full:{user_id}:{}", f.dossier_id),
                    format!(
                        "Hồ sơ {} đã có đủ {MAX_FOLLOWERS} tài khoản Zalo theo dõi. Người nộp hồ sơ có thể ngừng gửi cho các tài khoản cũ trên trang hồ sơ.",
                        f.dossier_code
                    ),
                )
                .await
                .map(|()| serde_json::json!({"followed": false, "reason": "full"})),
                Ok(Follow::Followed(f)) => reply(
                    format!("zalo-follow:{user_id}:{}", f.dossier_id),
                    format!(
                        "Bạn sẽ nhận thông báo về hồ sơ {} qua Zalo. Gửi «DUNG» để ngừng nhận.",
                        f.dossier_code
                    ),
                )
                .await
                .map(|()| serde_json::json!({"followed": true})),
                Ok(Follow::Unknown) => reply(
                    format!("zalo-follow-unknown:{user_id}:{code}"),
                    "Mã theo dõi không đúng hoặc đã hết hạn. Hãy lấy mã mới trên trang hồ sơ hoặc trang tra cứu hồ sơ."
                        .to_owned(),
                )
                .await
                .map(|()| serde_json::json!({"followed": false})),
                Err(e) => Err(e),
            },
        }
    } else {
        Ok(serde_json::json!({"matched": false}))
    };
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => crate::http::error::WebError::from(e).into_response(),
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
