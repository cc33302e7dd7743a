//! Reaching phones: the real VNPT SMS and Zalo ZNS clients over HTTP against the providers'
//! sandbox, whose receipts and webhook events come back to the app's hooks. Each simulated
//! recipient ends in its own status, on both databases.

use crate::harness::{Db, Session, TestApp};
use motcua_core::delivery::{DeliveryChannel, MessageKind};
use motcua_sandbox::{recipients, Sandbox};
use motcua_store::outbox::{Delivery, OutboxStatus};
use std::time::Duration;

pub(crate) fn msisdn(national: &str) -> String {
    format!("84{}", &national[1..])
}

/// The outbox id of the newest message to `recipient`.
pub(crate) async fn message_to(app: &TestApp, recipient: &str) -> Option<String> {
    app.store
        .outbox(500)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.recipient == recipient)
        .map(|m| m.id)
}

/// Waits until the newest message to `recipient` satisfies `done`; its last state either way.
pub(crate) async fn settle(
    app: &TestApp,
    recipient: &str,
    done: impl Fn(&Delivery) -> bool,
) -> Delivery {
    let mut last = None;
    for _ in 0..200 {
        if let Some(id) = message_to(app, recipient).await {
            let d = app.store.outbox_status(&id).await.unwrap().unwrap();
            if done(&d) {
                return d;
            }
            last = Some(d);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("message to {recipient} never settled: {last:?}");
}

/// The texts a number received through `provider`.
pub(crate) fn texts(sandbox: &Sandbox, national: &str, provider: &str) -> Vec<String> {
    sandbox
        .received()
        .into_iter()
        .filter(|r| r.to == msisdn(national) && r.provider == provider)
        .map(|r| r.text)
        .collect()
}

/// Files a dossier through the API whose applicant's phone is `phone` (no email, no account).
pub(crate) async fn file_for(app: &TestApp, phone: &str) {
    let citizen = app.store.login_record("congdan").await.unwrap().unwrap().id;
    let token = app.store.create_api_token(&citizen, "t", "").await.unwrap();
    let form = serde_json::json!({
        "applicant_name": "Nguyễn Văn An", "applicant_id": "020190000123",
        "applicant_phone": phone, "applicant_address": "Lạng Sơn"});
    let r = app
        .client
        .post(app.url("/api/v1/dossiers"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"agency": "ubnd-xa", "procedure_code": "2.000908", "form": form}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
}

async fn phones(db: Db, fallback: time::Duration) -> Option<(TestApp, Sandbox)> {
    TestApp::start_phones(db, motcua_sandbox::Settings::default(), fallback).await
}

/// A citizen who registers with a phone number only gets the code by SMS — without diacritics,
/// as the brandname contract requires — and the account verifies with it.
async fn phone_only_registration_verifies_with_the_sms_code(db: Db) {
    let Some((app, sandbox)) = phones(db, time::Duration::minutes(5)).await else {
        return;
    };
    let phone = "0912345678";
    let s = Session::new(&app);
    let (status, _, _) = s
        .post(
            "/register",
            &[
                ("kind", "citizen"),
                ("display_name", "Hoàng Văn Nam"),
                ("contact", "0912 345 678"),
                ("password", "Mẫu Sơn mây trắng 2026"),
                ("password2", "Mẫu Sơn mây trắng 2026"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let d = settle(&app, phone, |d| d.status == OutboxStatus::Delivered).await;
    assert_eq!(
        (d.channel, d.provider.as_deref(), d.billed_units),
        (DeliveryChannel::Sms, Some("vnpt"), 1),
        "a code goes by SMS at once, one segment"
    );
    assert_eq!(d.provider_status.as_deref(), Some("DELIVRD"), "{d:?}");
    let text = texts(&sandbox, phone, "vnpt")
        .pop()
        .expect("the SMS reached the phone");
    assert!(
        text.starts_with("Ma xac thuc tai khoan cua ban la "),
        "{text}"
    );
    let code: String = text["Ma xac thuc tai khoan cua ban la ".len()..]
        .chars()
        .take(6)
        .collect();
    let (_, _, location) = s
        .post("/register/verify", &[("contact", phone), ("code", &code)])
        .await;
    assert_eq!(location.as_deref(), Some("/login?msg=verified"));
    assert!(
        texts(&sandbox, phone, "zns").is_empty(),
        "codes never go by Zalo"
    );
}

/// A dossier's notice reaches a Zalo user through ZNS, confirmed by Zalo's signed webhook event.
async fn a_dossier_notice_reaches_a_zalo_user(db: Db) {
    let Some((app, sandbox)) = phones(db, time::Duration::minutes(5)).await else {
        return;
    };
    file_for(&app, recipients::DELIVERED).await;
    let d = settle(&app, recipients::DELIVERED, |d| {
        d.status == OutboxStatus::Delivered
    })
    .await;
    assert_eq!(
        (d.channel, d.provider.as_deref(), d.billed_units),
        (DeliveryChannel::Zalo, Some("zns"), 1)
    );
    let zalo = texts(&sandbox, recipients::DELIVERED, "zns");
    assert_eq!(zalo.len(), 1);
    assert!(
        zalo[0].contains("Hồ sơ"),
        "Zalo keeps the diacritics: {}",
        zalo[0]
    );
    assert!(
        texts(&sandbox, recipients::DELIVERED, "vnpt").is_empty(),
        "no SMS once Zalo delivered"
    );
}

/// A number without Zalo gets the notice by SMS at once; a Zalo user who never opens it gets it
/// by SMS once the set time has passed without a receipt.
async fn unreachable_zalo_falls_back_to_sms(db: Db) {
    let Some((app, sandbox)) = phones(db, time::Duration::seconds(1)).await else {
        return;
    };
    file_for(&app, recipients::NO_ZALO).await;
    file_for(&app, recipients::ZALO_SILENT).await;
    for phone in [recipients::NO_ZALO, recipients::ZALO_SILENT] {
        let d = settle(&app, phone, |d| d.status == OutboxStatus::Delivered).await;
        assert_eq!(
            (d.channel, d.provider.as_deref()),
            (DeliveryChannel::Sms, Some("vnpt")),
            "{phone}"
        );
        assert_eq!(texts(&sandbox, phone, "vnpt").len(), 1, "{phone}: one SMS");
        let id = message_to(&app, phone).await.unwrap();
        let history: Vec<String> = app
            .store
            .outbox_history(&id)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.outcome)
            .collect();
        assert!(
            history.contains(&"fell_back".to_owned()),
            "{phone}: {history:?}"
        );
    }
    assert!(texts(&sandbox, recipients::NO_ZALO, "zns").is_empty());
    assert_eq!(texts(&sandbox, recipients::ZALO_SILENT, "zns").len(), 1);
}

/// Codes to the simulated recipients: each ends in its own status with the provider's code kept,
/// and a provider failing with 5xx keeps the message for another try.
async fn every_simulated_recipient_ends_in_its_status(db: Db) {
    let Some((app, _sandbox)) = phones(db, time::Duration::minutes(5)).await else {
        return;
    };
    for phone in [
        recipients::TEMPORARY_FAILURE,
        recipients::PERMANENT_FAILURE,
        recipients::TECHNICAL,
    ] {
        app.store
            .queue_message(
                phone,
                "Mã",
                "Ma xac thuc la 123456",
                &format!("t:{phone}"),
                MessageKind::Code,
            )
            .await
            .unwrap();
    }
    let d = settle(&app, recipients::TEMPORARY_FAILURE, |d| {
        d.status == OutboxStatus::TemporaryFailure
    })
    .await;
    assert_eq!(
        d.provider_status.as_deref(),
        Some("EXPIRED"),
        "the receipt's status is kept"
    );
    let d = settle(&app, recipients::PERMANENT_FAILURE, |d| {
        d.status == OutboxStatus::PermanentFailure
    })
    .await;
    assert_eq!(
        (d.provider_status.as_deref(), d.attempts),
        (Some("3"), 1),
        "not retried"
    );
    let d = settle(&app, recipients::TECHNICAL, |d| d.attempts >= 2).await;
    assert!(
        matches!(
            d.status,
            OutboxStatus::TemporaryFailure | OutboxStatus::Sending
        ),
        "a 502 is retried, never dropped: {d:?}"
    );
    assert_eq!(d.provider_status.as_deref(), Some("502"));
}

/// The system admin sees each channel's figures and a failed message's history, with the
/// recipient masked and no body; sending it again puts it back in the queue.
async fn the_admin_watches_deliveries_and_sends_a_failed_message_again(db: Db) {
    let Some((app, sandbox)) = phones(db, time::Duration::minutes(5)).await else {
        return;
    };
    app.store
        .queue_message(
            recipients::PERMANENT_FAILURE,
            "Mã xác thực",
            "Ma xac thuc la 654321",
            "admin-test",
            MessageKind::Code,
        )
        .await
        .unwrap();
    settle(&app, recipients::PERMANENT_FAILURE, |d| {
        d.status == OutboxStatus::PermanentFailure
    })
    .await;
    let id = message_to(&app, recipients::PERMANENT_FAILURE)
        .await
        .unwrap();
    let admin = Session::login(&app, "quantri", motcua_store::demo::DEMO_PASSWORD).await;
    let (status, html, _) = admin.get("/admin/delivery").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Tin nhắn SMS") && html.contains("0900***003"),
        "{html}"
    );
    assert!(!html.contains("0900000003"), "recipients are masked");
    let (status, html, _) = admin.get(&format!("/admin/delivery/{id}")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("permanent_failure") && html.contains("vnpt"),
        "{html}"
    );
    assert!(!html.contains("654321"), "a code is never shown");
    let (status, _, location) = admin
        .post(&format!("/admin/delivery/{id}/resend"), &[])
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/admin/delivery?msg=resent"))
    );
    // Sent again, and refused again by the same provider.
    let d = settle(&app, recipients::PERMANENT_FAILURE, |d| {
        d.status == OutboxStatus::PermanentFailure && d.attempts == 1
    })
    .await;
    assert_eq!(d.provider_status.as_deref(), Some("3"));
    assert_eq!(
        texts(&sandbox, recipients::PERMANENT_FAILURE, "vnpt").len(),
        0,
        "refused numbers receive nothing"
    );
    let history = app.store.outbox_history(&id).await.unwrap();
    assert!(history
        .iter()
        .any(|a| a.outcome == "resent" && a.detail.contains("quantri")));
    let (status, _, _) = Session::login(&app, "quantricoquan", motcua_store::demo::DEMO_PASSWORD)
        .await
        .get("/admin/delivery")
        .await;
    assert_eq!(status, 403, "an agency admin does not watch deliveries");
}

/// Outreach goes only to who agreed (on the account page), labelled [QC], only in the day's
/// hours; a reply of TC by SMS and the link in a message both withdraw the consent.
async fn outreach_needs_consent_and_stops_on_tc_or_the_link(db: Db) {
    let Some((app, sandbox)) = phones(db, time::Duration::minutes(5)).await else {
        return;
    };
    let phone = motcua_store::demo::DEMO_CITIZEN_PHONE;
    let outreach = |key: &'static str| {
        let store = app.store.clone();
        async move {
            store
                .queue_message(
                    phone,
                    "Dịch vụ công",
                    "Nop ho so truc tuyen tai dichvucong",
                    key,
                    MessageKind::Outreach,
                )
                .await
                .unwrap();
        }
    };
    // Never asked: not sent.
    outreach("o1").await;
    let d = settle(&app, phone, |d| d.status == OutboxStatus::PermanentFailure).await;
    assert!(d.last_error.unwrap_or_default().contains("not agreed"));
    // Agreed on the account page.
    let citizen = Session::login(&app, "congdan", motcua_store::demo::DEMO_PASSWORD).await;
    let (_, _, location) = citizen
        .post("/account/outreach", &[("outreach", "on")])
        .await;
    assert_eq!(location.as_deref(), Some("/account?msg=outreach_on"));
    let (_, html, _) = citizen.get("/account").await;
    assert!(
        html.contains(r#"name="outreach" checked"#),
        "the choice shows"
    );
    outreach("o2").await;
    let held = motcua_core::delivery::outreach::OutreachRules::default()
        .held_until(time::OffsetDateTime::now_utc())
        .is_some();
    if held {
        let d = settle(&app, phone, |d| d.status == OutboxStatus::TemporaryFailure).await;
        assert!(d.last_error.unwrap_or_default().contains("07:00"));
    } else {
        settle(&app, phone, |d| d.status == OutboxStatus::Delivered).await;
        let texts = texts(&sandbox, phone, "vnpt");
        assert!(
            texts.iter().any(|t| t.starts_with("[QC] Nop ho so")),
            "{texts:?}"
        );
    }
    // TC by SMS withdraws it.
    let r = app
        .client
        .post(app.url("/hooks/inbound/sms?token=receipt-token-of-the-tests"))
        .body(format!(r#"{{"from": "84{}", "text": "TC"}}"#, &phone[1..]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(!app
        .store
        .consents(phone, MessageKind::Outreach)
        .await
        .unwrap());
    outreach("o3").await;
    let d = settle(&app, phone, |d| d.status == OutboxStatus::PermanentFailure).await;
    assert!(d.last_error.unwrap_or_default().contains("opted out"));
    // The link: agree again, then withdraw through the link without signing in.
    let token = app
        .store
        .set_consent(
            phone,
            MessageKind::Outreach,
            true,
            motcua_store::outbox::ConsentWay::Account,
        )
        .await
        .unwrap();
    let visitor = Session::new(&app);
    let (status, html, _) = visitor.get(&format!("/opt-out/{token}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("0915***") || html.contains("***"), "{html}");
    assert!(
        app.store
            .consents(phone, MessageKind::Outreach)
            .await
            .unwrap(),
        "a visit changes nothing"
    );
    let (status, html, _) = visitor.post(&format!("/opt-out/{token}"), &[]).await;
    assert_eq!(status, 200);
    assert!(html.contains("sẽ không nhận tin"));
    assert!(!app
        .store
        .consents(phone, MessageKind::Outreach)
        .await
        .unwrap());
}

/// Receipts and events must prove where they come from: a wrong token or signature changes
/// nothing.
async fn forged_receipts_are_refused(db: Db) {
    let Some((app, _sandbox)) = phones(db, time::Duration::minutes(5)).await else {
        return;
    };
    let r = app
        .client
        .post(app.url("/hooks/receipts/sms?token=guess"))
        .body(r#"{"provider":"vnpt","REQID":"x","MOBILE":"84900000001","STATUS":"DELIVRD"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let body = r#"{"event_name":"user_received_message","app_id":"1000000000000000001","timestamp":"1","message":{"msg_id":"zns1"}}"#;
    let r = app
        .client
        .post(app.url("/hooks/receipts/zalo"))
        .header("X-ZEvent-Signature", "mac=00")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    for body in [
        "not json".to_owned(),
        r#"{"provider":"vnpt","REQID":"x\u0000y","MOBILE":"1","STATUS":"DELIVRD"}"#.to_owned(),
        format!(
            r#"{{"provider":"vnpt","REQID":"x","MOBILE":"1","STATUS":"{}"}}"#,
            "D".repeat(5000)
        ),
        r#"{"provider":"smtp","REQID":"x","MOBILE":"1","STATUS":"DELIVRD"}"#.to_owned(),
    ] {
        let r = app
            .client
            .post(app.url("/hooks/receipts/sms?token=receipt-token-of-the-tests"))
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "{body:.60}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_only_registration_verifies_with_the_sms_code_sqlite() {
    phone_only_registration_verifies_with_the_sms_code(Db::Sqlite).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_only_registration_verifies_with_the_sms_code_postgres() {
    phone_only_registration_verifies_with_the_sms_code(Db::Postgres).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dossier_notice_reaches_a_zalo_user_sqlite() {
    a_dossier_notice_reaches_a_zalo_user(Db::Sqlite).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dossier_notice_reaches_a_zalo_user_postgres() {
    a_dossier_notice_reaches_a_zalo_user(Db::Postgres).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_zalo_falls_back_to_sms_sqlite() {
    unreachable_zalo_falls_back_to_sms(Db::Sqlite).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_zalo_falls_back_to_sms_postgres() {
    unreachable_zalo_falls_back_to_sms(Db::Postgres).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_simulated_recipient_ends_in_its_status_sqlite() {
    every_simulated_recipient_ends_in_its_status(Db::Sqlite).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_simulated_recipient_ends_in_its_status_postgres() {
    every_simulated_recipient_ends_in_its_status(Db::Postgres).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_watches_deliveries_and_sends_a_failed_message_again_sqlite() {
    the_admin_watches_deliveries_and_sends_a_failed_message_again(Db::Sqlite).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_watches_deliveries_and_sends_a_failed_message_again_postgres() {
    the_admin_watches_deliveries_and_sends_a_failed_message_again(Db::Postgres).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outreach_needs_consent_and_stops_on_tc_or_the_link_sqlite() {
    outreach_needs_consent_and_stops_on_tc_or_the_link(Db::Sqlite).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outreach_needs_consent_and_stops_on_tc_or_the_link_postgres() {
    outreach_needs_consent_and_stops_on_tc_or_the_link(Db::Postgres).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_receipts_are_refused_sqlite() {
    forged_receipts_are_refused(Db::Sqlite).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_receipts_are_refused_postgres() {
    forged_receipts_are_refused(Db::Postgres).await;
}

/// Two nodes on one PostgreSQL database, each with its own worker, dispatch 10,000 messages
/// through the sandbox: every message is sent, none twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_postgresql_never_send_a_message_twice() {
    use motcua_gateways::sms::SmsGateway;
    crate::harness::init();
    let Some(data) = crate::harness::TestData::new(Db::Postgres).await else {
        return;
    };
    let one = std::sync::Arc::new(
        motcua_store::Store::open_and_migrate(&data.store_config())
            .await
            .unwrap(),
    );
    let other_dir = tempfile::tempdir().unwrap();
    let two = std::sync::Arc::new(
        motcua_store::Store::open(&motcua_store::StoreConfig {
            files: Default::default(),
            data_dir: other_dir.path().to_path_buf(),
            database: data.store_config().database,
        })
        .await
        .unwrap(),
    );
    let sandbox = Sandbox::start(
        "127.0.0.1:0".parse().unwrap(),
        motcua_sandbox::Settings::default(),
    )
    .await
    .unwrap();
    const N: usize = 10_000;
    for i in 0..N {
        let phone = format!("091{:07}", i);
        one.queue_message(
            &phone,
            "Mã",
            "Ma xac thuc la 123456",
            &format!("n:{i}"),
            MessageKind::Code,
        )
        .await
        .unwrap();
    }
    let gateways =
        crate::harness::phone_gateways(&one, &sandbox, "t", time::Duration::minutes(5)).await;
    let sms = gateways.sms.clone().unwrap();
    let workers: Vec<_> = [one.clone(), two.clone()]
        .into_iter()
        .map(|store| {
            motcua_delivery::spawn_worker(
                store,
                DeliveryChannel::Sms,
                motcua_delivery::Phone::<SmsGateway, SmsGateway> {
                    sms: sms.clone(),
                    zalo: None,
                    oa: None,
                },
                gateways.pace,
            )
        })
        .collect();
    let since = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    let mut accepted = 0;
    for _ in 0..1200 {
        let report = one.delivery_report(since).await.unwrap();
        accepted = report
            .iter()
            .filter(|r| r.channel == DeliveryChannel::Sms)
            .map(|r| r.accepted)
            .sum::<i64>();
        if accepted as usize == N {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for w in workers {
        w.abort();
    }
    assert_eq!(
        accepted as usize, N,
        "every message was taken by the provider"
    );
    let received = sandbox.received();
    let ids: std::collections::HashSet<&str> = received.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), N);
    assert_eq!(received.len(), N, "no message was sent twice");
    assert_eq!(one.outbox_duplicate_sends().await.unwrap(), 0);
}

/// Fifty delivery batches at once, each taking the same recipient's quota of three a quarter
/// hour: exactly three pass, on both databases (the batched take locks what it reads).
async fn a_recipient_quota_holds_under_fifty_concurrent_batches(db: Db) {
    use motcua_core::accounts::Quota;
    crate::harness::init();
    let Some(data) = crate::harness::TestData::new(db).await else {
        return;
    };
    let store = std::sync::Arc::new(
        motcua_store::Store::open_and_migrate(&data.store_config())
            .await
            .unwrap(),
    );
    // The row exists before they come (a first message went): its lock, not the insert of a
    // new row, is what must order them.
    let first = store
        .quota_take_many(&[(
            "deliver:window:0912345678".to_owned(),
            Quota::MESSAGES_TO_RECIPIENT,
        )])
        .await
        .unwrap();
    assert!(first[0].is_ok());
    let takes = (0..50).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            // Each batch also takes a key of its own, as batches do.
            store
                .quota_take_many(&[
                    (
                        "deliver:window:0912345678".to_owned(),
                        Quota::MESSAGES_TO_RECIPIENT,
                    ),
                    (
                        format!("deliver:window:09{i:08}"),
                        Quota::MESSAGES_TO_RECIPIENT,
                    ),
                ])
                .await
                .unwrap()
        })
    });
    let mut passed = 0;
    for t in futures_util::future::join_all(takes).await {
        let answers = t.unwrap();
        assert!(answers[1].is_ok(), "a fresh recipient always passes");
        passed += usize::from(answers[0].is_ok());
    }
    assert_eq!(
        passed, 2,
        "three a quarter hour, the first included, however many batches ask at once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recipient_quota_holds_under_fifty_concurrent_batches_sqlite() {
    a_recipient_quota_holds_under_fifty_concurrent_batches(Db::Sqlite).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recipient_quota_holds_under_fifty_concurrent_batches_postgres() {
    a_recipient_quota_holds_under_fifty_concurrent_batches(Db::Postgres).await;
}
