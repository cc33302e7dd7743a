//! The Zalo Official Account: its followers get notices as OA messages; anyone with a dossier's
//! follow code (from the dossier page, or from the lookup the receipt's QR opens) can follow the
//! dossier on Zalo, and stop; guessing codes is cut off. Also the applicant's choice of notice
//! channels and the providers' rates, shared through the database and never dropping a message.

use crate::back_office::receive;
use crate::harness::{Db, Session, TestApp};
use crate::phones::{file_for, message_to, msisdn, settle, texts};
use motcua_core::delivery::{DeliveryChannel, MessageKind};
use motcua_sandbox::recipients;
use motcua_store::demo::{DEMO_CITIZEN_PHONE, DEMO_PASSWORD};
use motcua_store::outbox::{ConsentWay, OutboxStatus};
use std::time::Duration;

async fn phones(db: Db) -> Option<(TestApp, motcua_sandbox::Sandbox)> {
    TestApp::start_phones(
        db,
        motcua_sandbox::Settings::default(),
        time::Duration::minutes(5),
    )
    .await
}

/// Waits until `check` holds, for up to ten seconds.
async fn eventually<F: std::future::Future<Output = bool>>(what: &str, check: impl Fn() -> F) {
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never: {what}");
}

/// The follow message a page shows (`THEODOI XXXXXXXX`).
fn follow_message(page: &str) -> String {
    let at = page
        .find("THEODOI ")
        .expect("the page shows the follow message");
    page[at..at + "THEODOI ".len() + 8].to_owned()
}

/// Writes `text` to the OA as the Zalo user with `phone`, through the sandbox's phone page.
async fn write_to_oa(sandbox: &motcua_sandbox::Sandbox, phone: &str, text: &str) {
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/sandbox/zalo/write", sandbox.url()))
        .form(&[("phone", phone), ("text", text)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
}

/// A person who follows the province's OA gets a dossier's notice as an OA message (cheaper than
/// ZNS), confirmed by Zalo's webhook, its cost recorded.
async fn an_oa_follower_gets_notices_from_the_oa(db: Db) {
    let Some((app, sandbox)) = phones(db).await else {
        return;
    };
    file_for(&app, recipients::OA_FOLLOWER).await;
    let d = settle(&app, recipients::OA_FOLLOWER, |d| {
        d.status == OutboxStatus::Delivered
    })
    .await;
    assert_eq!(
        (d.channel, d.provider.as_deref()),
        (DeliveryChannel::Zalo, Some("zalo_oa"))
    );
    assert_eq!(texts(&sandbox, recipients::OA_FOLLOWER, "zalo_oa").len(), 1);
    assert!(texts(&sandbox, recipients::OA_FOLLOWER, "zns").is_empty());
    assert!(texts(&sandbox, recipients::OA_FOLLOWER, "vnpt").is_empty());
    // Someone who does not follow the OA still gets ZNS.
    file_for(&app, recipients::DELIVERED).await;
    let d = settle(&app, recipients::DELIVERED, |d| {
        d.status == OutboxStatus::Delivered
    })
    .await;
    assert_eq!(d.provider.as_deref(), Some("zns"));
    let since = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    let report = app.store.delivery_report(since).await.unwrap();
    let zalo = report
        .iter()
        .find(|r| r.channel == DeliveryChannel::Zalo)
        .unwrap();
    assert_eq!(zalo.cost, 100 + 300, "one OA message and one ZNS message");
}

/// The applicant follows a dossier on Zalo from its page; anyone with the code and the phone's
/// last digits gets the same code from the lookup; a relative sends it to the OA and receives
/// the dossier's next step, then stops with DUNG.
async fn a_dossier_is_followed_on_zalo_and_unfollowed(db: Db) {
    let Some((app, sandbox)) = phones(db).await else {
        return;
    };
    let citizen = Session::login(&app, "congdan", DEMO_PASSWORD).await;
    let desk = Session::login(&app, "tiepnhan", DEMO_PASSWORD).await;
    let (id, code) = crate::dossiers::submit_one(&app, &citizen).await;
    let (status, page, _) = citizen.get(&format!("/dossiers/{id}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Theo dõi hồ sơ trên Zalo"), "{page}");
    let (status, page, _) = citizen.post(&format!("/dossiers/{id}/zalo"), &[]).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("<svg"),
        "the OA's QR code is drawn in the page"
    );
    let message = follow_message(&page);

    // From the lookup (the receipt's QR): the same live code, with the same proof as the lookup.
    let anyone = Session::new(&app);
    let last4 = &DEMO_CITIZEN_PHONE[DEMO_CITIZEN_PHONE.len() - 4..];
    let (status, page, _) = anyone
        .post("/lookup/zalo", &[("code", &code), ("phone", last4)])
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(follow_message(&page), message);
    let (status, _, _) = anyone
        .post("/lookup/zalo", &[("code", &code), ("phone", "0000")])
        .await;
    assert_eq!(status, 404, "a wrong phone gets nothing");
    for bad in [
        vec![],
        vec![("code", "x".repeat(10_000)), ("phone", "12a4".into())],
    ] {
        let fields: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, page, _) = anyone.post("/lookup/zalo", &fields).await;
        assert_eq!(status, 400, "{page}");
        assert!(page.contains("không đúng dạng"), "{page}");
    }
    // Someone else's dossier page offers nothing.
    let other = Session::login(&app, "doanhnghiep", DEMO_PASSWORD).await;
    assert_eq!(
        other.post(&format!("/dossiers/{id}/zalo"), &[]).await.0,
        404
    );

    let relative = "0987000111";
    let uid = motcua_sandbox::zalo_user_id(&msisdn(relative));
    write_to_oa(
        &sandbox,
        relative,
        &message.to_lowercase().replace("theodoi", "theo dõi"),
    )
    .await;
    eventually("the relative follows the dossier", || async {
        app.store.dossier_followers(&id).await.unwrap() == 1
    })
    .await;
    eventually("the OA confirms", || async {
        texts(&sandbox, relative, "zalo_oa")
            .iter()
            .any(|t| t.contains(&format!("Bạn sẽ nhận thông báo về hồ sơ {code}")))
    })
    .await;

    receive(&app, &desk, &id).await;
    eventually("the relative gets the step", || async {
        texts(&sandbox, relative, "zalo_oa")
            .iter()
            .any(|t| t.contains("tiếp nhận"))
    })
    .await;
    let follower = format!("zalo:{uid}");
    let d = settle(&app, &follower, |d| d.status == OutboxStatus::Delivered).await;
    assert_eq!(d.provider.as_deref(), Some("zalo_oa"), "{d:?}");

    write_to_oa(&sandbox, relative, "DUNG").await;
    eventually("the relative stops", || async {
        app.store.dossier_followers(&id).await.unwrap() == 0
    })
    .await;

    // A stranger guessing codes is cut off after ten tries, even with the right code.
    let stranger = "0987000222";
    let stranger_id = format!("zalo:{}", motcua_sandbox::zalo_user_id(&msisdn(stranger)));
    for last in "ABCDEFGHJK".chars() {
        write_to_oa(&sandbox, stranger, &format!("THEODOI AAAAAAA{last}")).await;
    }
    eventually("ten wrong codes answered", || async {
        app.store
            .outbox(500)
            .await
            .unwrap()
            .iter()
            .filter(|m| m.recipient == stranger_id)
            .count()
            == 10
    })
    .await;
    write_to_oa(&sandbox, stranger, &message).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        app.store.dossier_followers(&id).await.unwrap(),
        0,
        "the eleventh try is refused"
    );
    // The owner's page can stop every follower too.
    write_to_oa(&sandbox, relative, &message).await;
    eventually("the relative follows again", || async {
        app.store.dossier_followers(&id).await.unwrap() == 1
    })
    .await;
    let (status, _, location) = citizen
        .post(&format!("/dossiers/{id}/zalo/stop"), &[])
        .await;
    assert_eq!(status, 303);
    assert_eq!(
        location.as_deref(),
        Some(format!("/dossiers/{id}?notice=zalo_stopped").as_str())
    );
    assert_eq!(app.store.dossier_followers(&id).await.unwrap(), 0);

    // A code passed around widely reaches at most five Zalo accounts (each notice is paid).
    let crowd: Vec<String> = (0..6).map(|i| format!("098700030{i}")).collect();
    for p in &crowd {
        write_to_oa(&sandbox, p, &message).await;
    }
    let ids: Vec<String> = crowd
        .iter()
        .map(|p| format!("zalo:{}", motcua_sandbox::zalo_user_id(&msisdn(p))))
        .collect();
    eventually("six answers", || async {
        app.store
            .outbox(500)
            .await
            .unwrap()
            .iter()
            .filter(|m| ids.contains(&m.recipient))
            .count()
            == 6
    })
    .await;
    assert_eq!(
        app.store.dossier_followers(&id).await.unwrap(),
        motcua_store::followers::MAX_FOLLOWERS
    );
}

/// The applicant chooses the channels of their dossiers' notices: without Zalo a notice goes by
/// SMS at once; with neither it is not sent (the portal's inbox keeps it); the account page saves
/// the choice.
async fn notices_take_only_the_channels_the_applicant_chose(db: Db) {
    let Some((app, sandbox)) = phones(db).await else {
        return;
    };
    let no_zalo = "0912000201";
    let nothing = "0912000202";
    for (phone, channels) in [
        (no_zalo, vec![DeliveryChannel::Zalo]),
        (nothing, vec![DeliveryChannel::Zalo, DeliveryChannel::Sms]),
    ] {
        for c in channels {
            app.store
                .set_channel_consent(
                    phone,
                    MessageKind::Notice,
                    Some(c),
                    false,
                    ConsentWay::Account,
                )
                .await
                .unwrap();
        }
    }
    file_for(&app, no_zalo).await;
    file_for(&app, nothing).await;
    let d = settle(&app, no_zalo, |d| d.status == OutboxStatus::Delivered).await;
    assert_eq!(
        (d.channel, d.provider.as_deref()),
        (DeliveryChannel::Sms, Some("vnpt"))
    );
    assert!(texts(&sandbox, no_zalo, "zns").is_empty());
    assert!(texts(&sandbox, no_zalo, "zalo_oa").is_empty());
    let d = settle(&app, nothing, |d| {
        d.status == OutboxStatus::PermanentFailure
    })
    .await;
    assert!(
        d.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("declined"),
        "{d:?}"
    );
    assert!(sandbox.received().iter().all(|r| r.to != msisdn(nothing)));

    // The account page: unticking SMS declines it for the account's phone.
    let s = Session::login(&app, "congdan", DEMO_PASSWORD).await;
    let (_, page, _) = s.get("/account").await;
    assert!(page.contains("name=\"notice_sms\""), "{page}");
    let (status, _, _) = s
        .post(
            "/account/outreach",
            &[("notice_zalo", "on"), ("notice_email", "on")],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(
        app.store
            .declined_notice_channels(DEMO_CITIZEN_PHONE)
            .await
            .unwrap(),
        vec![DeliveryChannel::Sms]
    );
}

/// Our pace for the SMS contract (5 a second over all nodes) keeps under the provider's rate: no
/// request is throttled, and every message is delivered, the last only after the windows it
/// needed.
async fn the_contract_rate_is_kept_without_dropping_messages(db: Db) {
    let Some((app, sandbox)) = TestApp::start_phones_with(
        db,
        motcua_sandbox::Settings {
            sms_rate_per_second: Some(12),
            ..motcua_sandbox::Settings::default()
        },
        time::Duration::minutes(5),
        |g| {
            g.sms_pace = motcua_delivery::Pace {
                per_second: Some(5),
                per_day: Some(1000),
            }
        },
    )
    .await
    else {
        return;
    };
    let started = std::time::Instant::now();
    let phones: Vec<String> = (0..20).map(|i| format!("09120003{i:02}")).collect();
    for p in &phones {
        app.store
            .queue_message(
                p,
                "Mã",
                "Ma xac thuc 123456",
                &format!("pace:{p}"),
                MessageKind::Code,
            )
            .await
            .unwrap();
    }
    for p in &phones {
        settle(&app, p, |d| d.status == OutboxStatus::Delivered).await;
    }
    assert_eq!(sandbox.throttled(), 0, "never over the provider's rate");
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "20 messages at 5 a second take at least three more windows: {:?}",
        started.elapsed()
    );
}

/// A provider that throttles (HTTP 429) gets the messages back in the queue, untried: every one
/// is delivered, none fails, and their attempts are not spent.
async fn a_throttling_provider_never_loses_a_message(db: Db) {
    let Some((app, sandbox)) = TestApp::start_phones(
        db,
        motcua_sandbox::Settings {
            sms_rate_per_second: Some(4),
            ..motcua_sandbox::Settings::default()
        },
        time::Duration::minutes(5),
    )
    .await
    else {
        return;
    };
    let phones: Vec<String> = (0..16).map(|i| format!("09120004{i:02}")).collect();
    for p in &phones {
        app.store
            .queue_message(
                p,
                "Mã",
                "Ma xac thuc 123456",
                &format!("throttle:{p}"),
                MessageKind::Code,
            )
            .await
            .unwrap();
    }
    let mut deferred = 0;
    for p in &phones {
        let d = settle(&app, p, |d| d.status == OutboxStatus::Delivered).await;
        assert!(d.attempts <= 1, "a throttled try is not an attempt: {d:?}");
        let id = message_to(&app, p).await.unwrap();
        deferred += app
            .store
            .outbox_history(&id)
            .await
            .unwrap()
            .iter()
            .filter(|a| a.outcome == "deferred")
            .count();
    }
    assert!(sandbox.throttled() > 0, "the provider throttled");
    assert!(deferred > 0, "throttled messages waited");
}

macro_rules! both {
    ($name:ident) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(Db::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(Db::Postgres).await;
            }
        }
    };
}

both!(an_oa_follower_gets_notices_from_the_oa);
both!(a_dossier_is_followed_on_zalo_and_unfollowed);
both!(notices_take_only_the_channels_the_applicant_chose);
both!(the_contract_rate_is_kept_without_dropping_messages);
both!(a_throttling_provider_never_loses_a_message);

/// A wrong follow code, distinct for each `i` below 4,096.
fn wrong_code(i: usize) -> String {
    let d = |n: usize| char::from(b'2' + u8::try_from(n % 8).unwrap());
    format!("BBBB{}{}{}{}", d(i / 512), d(i / 64), d(i / 8), d(i))
}

/// Fifty follow messages with wrong codes from one Zalo user at once: exactly ten are tried and
/// answered (the quota holds under concurrency); and fifty budget draws at once never grant more
/// than a provider's window allows.
async fn limits_hold_under_fifty_at_once(db: Db) {
    let Some((app, _sandbox)) = phones(db).await else {
        return;
    };
    let uid = "1234567890123456789";
    let posts = (0..50).map(|i| {
        let app = &app;
        async move {
            let ts = format!("{}", 1_700_000_000_000_u64 + i as u64);
            let body = serde_json::json!({
                "event_name": "user_send_text",
                "app_id": motcua_sandbox::credentials::ZALO_APP_ID,
                "timestamp": ts,
                "sender": {"id": uid},
                "message": {"text": format!("THEODOI {}", wrong_code(i)), "msg_id": format!("m{i}")},
            })
            .to_string();
            let mac = motcua_sandbox::zalo_signature(
                motcua_sandbox::credentials::ZALO_APP_ID,
                &body,
                &ts,
                motcua_sandbox::credentials::ZALO_SECRET,
            );
            app.client
                .post(app.url("/hooks/receipts/zalo"))
                .header("X-ZEvent-Signature", format!("mac={mac}"))
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(posts).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let answered = app
        .store
        .outbox(500)
        .await
        .unwrap()
        .iter()
        .filter(|m| m.recipient == format!("zalo:{uid}"))
        .count();
    assert_eq!(answered, 10, "ten tries an hour, each answered");

    let quota = motcua_core::accounts::Quota {
        max: 20,
        window: time::Duration::minutes(5),
    };
    let draws = (0..50).map(|_| {
        let store = app.store.clone();
        async move {
            store
                .quota_take_up_to("provider:test:second", quota, 3)
                .await
                .unwrap()
                .0
        }
    });
    let granted: u32 = futures_util::future::join_all(draws)
        .await
        .into_iter()
        .sum();
    assert_eq!(
        granted, 20,
        "fifty draws at once share the window's budget exactly"
    );
}

both!(limits_hold_under_fifty_at_once);
