//! The Zalo Official Account API as the sandbox plays it: a follower's profile looked up by phone,
//! transaction messages to followers, and the webhook events Zalo posts when a person follows,
//! unfollows or writes to the OA, or receives a message.

use crate::recipients::{self, Behaviour};
use crate::{before_answer, credentials, now_ms, post_later, take, zalo_signature, Inner};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use motcua_gateways::zalo::codes;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The Zalo id the sandbox gives the person with `msisdn`: digits, stable across runs.
pub fn user_id(msisdn: &str) -> String {
    let digest = Sha256::digest(msisdn.as_bytes());
    let mut first = [0_u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) % 9_000_000_000_000_000_000 + 1_000_000_000_000_000_000).to_string()
}

/// Followers from the start.
pub(crate) fn first_followers() -> std::collections::HashMap<String, String> {
    let phone = recipients::msisdn(recipients::OA_FOLLOWER);
    std::iter::once((phone.clone(), user_id(&phone))).collect()
}

fn reply(error: i64, message: &str, data: serde_json::Value) -> Response {
    Json(serde_json::json!({"error": error, "message": message, "data": data})).into_response()
}

pub(crate) fn token_valid(inner: &Inner, headers: &HeaderMap) -> bool {
    let token = headers
        .get("access_token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    inner
        .tokens
        .lock()
        .map(|t| !t.access.is_empty() && t.access == token)
        .unwrap_or(false)
}

/// Posts a webhook event to the receiver, signed as Zalo signs it.
pub(crate) fn post_event(inner: &Arc<Inner>, mut event: serde_json::Value) {
    let ts = now_ms().to_string();
    event["app_id"] = credentials::ZALO_APP_ID.into();
    event["timestamp"] = ts.clone().into();
    let body = event.to_string();
    let mac = zalo_signature(
        credentials::ZALO_APP_ID,
        &body,
        &ts,
        credentials::ZALO_SECRET,
    );
    post_later(
        inner,
        inner.settings.zalo_webhook.clone(),
        body,
        vec![
            ("X-ZEvent-Signature".to_owned(), format!("mac={mac}")),
            ("X-ZEvent-Timestamp".to_owned(), ts),
        ],
    );
}

#[derive(Deserialize)]
pub(crate) struct DataQuery {
    data: String,
}

/// `GET /v2.0/oa/getprofile?data={"user_id":"84…"}`: a follower's profile, found by phone.
pub(crate) async fn profile(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Query(q): Query<DataQuery>,
) -> Response {
    if !token_valid(&inner, &headers) {
        return reply(
            codes::OA_TOKEN,
            "Access token is invalid",
            serde_json::Value::Null,
        );
    }
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&q.data) else {
        return reply(
            codes::OA_BAD_PARAMS,
            "data is not JSON",
            serde_json::Value::Null,
        );
    };
    let asked = v["user_id"].as_str().unwrap_or_default();
    let found = inner
        .followers
        .lock()
        .ok()
        .and_then(|f| f.get(asked).cloned());
    match found {
        Some(id) => reply(
            codes::OK,
            "Success",
            serde_json::json!({"user_id": id, "display_name": "Người dùng thử", "user_is_follower": true}),
        ),
        None => reply(
            codes::OA_NOT_FOLLOWER,
            "User has not followed OA",
            serde_json::Value::Null,
        ),
    }
}

/// `POST /v3.0/oa/message/transaction`: a message to a follower.
pub(crate) async fn send(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if before_answer(&inner).await {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "sandbox: simulated failure",
        )
            .into_response();
    }
    if !token_valid(&inner, &headers) {
        return reply(
            codes::OA_TOKEN,
            "Access token is invalid",
            serde_json::Value::Null,
        );
    }
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) else {
        return reply(
            codes::OA_BAD_PARAMS,
            "request is not JSON",
            serde_json::Value::Null,
        );
    };
    let id = v["recipient"]["user_id"].as_str().unwrap_or_default();
    let phone = inner.followers.lock().ok().and_then(|f| {
        f.iter()
            .find(|(_, uid)| uid.as_str() == id)
            .map(|(p, _)| p.clone())
    });
    let Some(phone) = phone else {
        return reply(
            codes::OA_NOT_FOLLOWER,
            "User has not followed OA",
            serde_json::Value::Null,
        );
    };
    let text: Vec<&str> = v["message"]["attachment"]["payload"]["elements"]
        .as_array()
        .map(|e| e.iter().filter_map(|x| x["content"].as_str()).collect())
        .unwrap_or_default();
    if text.is_empty() {
        return reply(
            codes::OA_BAD_PARAMS,
            "message has no elements with content",
            serde_json::Value::Null,
        );
    }
    let msg_id = format!("oa{}", rand::random::<u64>());
    take(&inner, "zalo_oa", &msg_id, &phone, &text.join("\n"));
    if recipients::zalo_behaviour(&phone) != Behaviour::Silent {
        post_event(
            &inner,
            serde_json::json!({
                "event_name": "user_received_message",
                "sender": {"id": credentials::ZALO_OA_ID},
                "recipient": {"id": id},
                "message": {"msg_id": msg_id},
            }),
        );
    }
    reply(
        codes::OK,
        "Success",
        serde_json::json!({"message_id": msg_id, "user_id": id}),
    )
}

#[derive(Deserialize)]
pub(crate) struct Write {
    phone: String,
    #[serde(default)]
    text: String,
}

/// The phone page's "write to the OA": the person follows the OA if they did not yet, and their
/// message reaches the OA's webhook, as Zalo would post it.
pub(crate) async fn write(
    State(inner): State<Arc<Inner>>,
    axum::Form(w): axum::Form<Write>,
) -> Response {
    let Some(phone) = motcua_gateways::sms::msisdn(&w.phone) else {
        return (StatusCode::BAD_REQUEST, "sandbox: not a mobile number").into_response();
    };
    let id = user_id(&phone);
    let new = inner
        .followers
        .lock()
        .map(|mut f| f.insert(phone.clone(), id.clone()).is_none())
        .unwrap_or(false);
    if new {
        post_event(
            &inner,
            serde_json::json!({
                "event_name": "follow",
                "oa_id": credentials::ZALO_OA_ID,
                "follower": {"id": id},
                "source": "sandbox",
            }),
        );
    }
    if !w.text.trim().is_empty() {
        take(
            &inner,
            "zalo_oa_in",
            &format!("in{}", rand::random::<u64>()),
            &phone,
            &format!("→ OA: {}", w.text),
        );
        post_event(
            &inner,
            serde_json::json!({
                "event_name": "user_send_text",
                "sender": {"id": id},
                "recipient": {"id": credentials::ZALO_OA_ID},
                "message": {"text": w.text, "msg_id": format!("in{}", rand::random::<u64>())},
            }),
        );
    }
    Redirect::to(&format!("/?to={phone}")).into_response()
}

/// The phone page's "unfollow the OA".
pub(crate) async fn unfollow(
    State(inner): State<Arc<Inner>>,
    axum::Form(w): axum::Form<Write>,
) -> Response {
    let Some(phone) = motcua_gateways::sms::msisdn(&w.phone) else {
        return (StatusCode::BAD_REQUEST, "sandbox: not a mobile number").into_response();
    };
    let gone = inner
        .followers
        .lock()
        .ok()
        .and_then(|mut f| f.remove(&phone));
    if let Some(id) = gone {
        post_event(
            &inner,
            serde_json::json!({
                "event_name": "unfollow",
                "oa_id": credentials::ZALO_OA_ID,
                "follower": {"id": id},
            }),
        );
    }
    Redirect::to(&format!("/?to={phone}")).into_response()
}
