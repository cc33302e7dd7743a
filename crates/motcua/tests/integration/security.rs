//! What a hostile probe tried, as tests on both databases: guessing one-time codes, message
//! bombing, parallel guesses against throttles, open redirects, control characters, formula
//! injection, upload races, files whose name contradicts their content, slow clients.

use crate::harness::{Session, TestApp};
use crate::on_both_databases;
use motcua_store::demo::{DEMO_CITIZEN_PHONE, DEMO_PASSWORD};

/// The newest code sent to `recipient`, from the outbox.
async fn last_code(app: &TestApp, recipient: &str) -> Option<String> {
    let messages = app.store.outbox(500).await.unwrap();
    messages
        .iter()
        .filter(|m| m.recipient == recipient)
        .find_map(|m| {
            let at = m.body.find(" là ")? + " là ".len();
            Some(m.body[at..at + 6].to_owned())
        })
}

async fn messages_to(app: &TestApp, recipient: &str) -> usize {
    let messages = app.store.outbox(500).await.unwrap();
    messages.iter().filter(|m| m.recipient == recipient).count()
}

/// A wrong code for `code`: the next one, modulo a million.
fn wrong(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}

async fn reset(s: &Session, contact: &str, code: &str) -> (u16, String, Option<String>) {
    s.post(
        "/password/reset",
        &[
            ("contact", contact),
            ("code", code),
            ("password", "Đồng Đăng chợ phiên 2026"),
            ("password2", "Đồng Đăng chợ phiên 2026"),
        ],
    )
    .await
}

on_both_databases!(
    fresh_reset_codes_bring_no_fresh_guesses_and_a_lock_stays_after_a_reset,
    |app: TestApp| async move {
        let s = Session::new(&app);
        // The code goes to the verified phone, whichever name the account was asked by.
        let (status, _, _) = s.post("/password/forgot", &[("contact", "congdan")]).await;
        assert_eq!(status, 303);
        let first = last_code(&app, DEMO_CITIZEN_PHONE)
            .await
            .expect("a code to the phone");
        assert_eq!(
            messages_to(&app, "congdan").await,
            0,
            "never to the login name"
        );
        // Five wrong guesses void this code; a fresh code gives only five more before the
        // account's code entry locks (ten an hour, across codes).
        for i in 0..5 {
            let (status, _, _) = reset(&s, "congdan", &wrong(&first)).await;
            assert_eq!(status, 422, "guess {i}");
        }
        s.post("/password/forgot", &[("contact", DEMO_CITIZEN_PHONE)])
            .await;
        let second = last_code(&app, DEMO_CITIZEN_PHONE).await.unwrap();
        for i in 0..5 {
            let (status, _, _) = reset(&s, DEMO_CITIZEN_PHONE, &wrong(&second)).await;
            assert_eq!(status, 422, "guess {}", i + 5);
        }
        s.post("/password/forgot", &[("contact", "+84915000001")])
            .await;
        let third = last_code(&app, DEMO_CITIZEN_PHONE).await.unwrap();
        let (status, html, _) = reset(&s, "congdan", &third).await;
        assert_eq!(status, 429, "even the right code waits: {html}");
        assert!(html.contains("Bạn đã nhập sai mã quá nhiều lần. Vui lòng thử lại sau"));
        // A fourth code in a quarter hour is not sent, however the account is named.
        let before = messages_to(&app, DEMO_CITIZEN_PHONE).await;
        let (status, html, _) = s.post("/password/forgot", &[("contact", "congdan")]).await;
        assert_eq!(status, 429);
        assert!(html.contains("Vui lòng thử lại sau"), "{html}");
        assert_eq!(messages_to(&app, DEMO_CITIZEN_PHONE).await, before);
        // The password is unchanged.
        Session::login(&app, "congdan", DEMO_PASSWORD).await;

        // An official has no verified contact: nothing is sent, the log says why.
        let (status, _, location) = s.post("/password/forgot", &[("contact", "tiepnhan")]).await;
        assert_eq!(
            (status, location.is_some()),
            (303, true),
            "same answer as for anyone"
        );
        assert_eq!(messages_to(&app, "tiepnhan").await, 0);
        let logged = app
            .store
            .security_events(Some("password_reset_no_contact"), Some("tiepnhan"), 5)
            .await
            .unwrap();
        assert_eq!(logged.len(), 1);

        // A lock set by wrong passwords stays after a reset, and the log says so.
        let o = Session::new(&app);
        let email = "lienhe@xulang.test";
        let password = "Mẫu Sơn mây trắng 2026";
        o.post(
            "/register",
            &[
                ("kind", "organisation"),
                ("display_name", "Công ty TNHH Mẫu Sơn"),
                ("contact", email),
                ("password", password),
                ("password2", password),
            ],
        )
        .await;
        let code = last_code(&app, email).await.expect("a verification code");
        let (_, _, location) = o
            .post("/register/verify", &[("contact", email), ("code", &code)])
            .await;
        assert_eq!(location.as_deref(), Some("/login?msg=verified"));
        for _ in 0..20 {
            o.post(
                "/login",
                &[("identifier", email), ("password", "sai-mat-khau-123")],
            )
            .await;
        }
        o.post("/password/forgot", &[("contact", email)]).await;
        let code = last_code(&app, email).await.unwrap();
        let (status, _, location) = reset(&o, email, &code).await;
        assert_eq!(
            (status, location.as_deref()),
            (303, Some("/login?msg=reset_locked"))
        );
        let (status, html, _) = o
            .post(
                "/login",
                &[
                    ("identifier", email),
                    ("password", "Đồng Đăng chợ phiên 2026"),
                ],
            )
            .await;
        assert_eq!(status, 429, "{html}");
        let logged = app
            .store
            .security_events(Some("password_reset"), Some(email), 5)
            .await
            .unwrap();
        assert!(logged[0]
            .detail
            .contains("login lock set by failed logins stays until"));
    }
);

on_both_databases!(
    codes_to_one_recipient_and_from_one_address_are_capped_and_counted,
    |app: TestApp| async move {
        let s = Session::new(&app);
        let (status, _, _) = s
            .post(
                "/register",
                &[
                    ("kind", "citizen"),
                    ("display_name", "Hoàng Văn Nam"),
                    ("contact", "0912345678"),
                    ("password", "Mẫu Sơn mây trắng 2026"),
                    ("password2", "Mẫu Sơn mây trắng 2026"),
                ],
            )
            .await;
        assert_eq!(status, 303);
        for _ in 0..2 {
            let (status, _, _) = s
                .post("/register/resend", &[("contact", "0912345678")])
                .await;
            assert_eq!(status, 303);
        }
        let r = s
            .client
            .post(format!("{}/register/resend", s.base))
            .form(&[("csrf", s.csrf().await.as_str()), ("contact", "0912345678")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 429);
        let wait: i64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=900).contains(&wait), "Retry-After {wait}");
        let html = r.text().await.unwrap();
        assert!(
            html.contains(
                "Bạn đã yêu cầu gửi mã quá nhiều lần trong thời gian ngắn. Vui lòng thử lại sau"
            ),
            "{html}"
        );
        assert_eq!(messages_to(&app, "0912345678").await, 3);
        // From one address: ten requests a quarter hour, whatever contacts they name.
        let mut refused = 0;
        for i in 0..12 {
            let (status, _, _) = s
                .post(
                    "/password/forgot",
                    &[("contact", &format!("khong-co-{i}@example.test"))],
                )
                .await;
            if status == 429 {
                refused += 1;
            }
        }
        // Four of the ten went to the registration and its resends.
        assert_eq!(refused, 12 - 6);
        let (_, metrics) = app.get_text("/metrics").await;
        assert!(
            metrics.contains(r#"motcua_limit_refusals_total{limit="messages_to_recipient"} 1"#),
            "{metrics}"
        );
        assert!(metrics.contains(r#"motcua_limit_refusals_total{limit="messages_from_address"} 6"#));
    }
);

on_both_databases!(
    parallel_guesses_are_counted_one_by_one,
    |app: TestApp| async move {
        // 60 wrong passwords at once: at most 20 are checked, the rest wait for the lock.
        let mut sessions = Vec::new();
        for _ in 0..60 {
            let s = Session::new(&app);
            let csrf = s.csrf().await;
            sessions.push((s, csrf));
        }
        let attempts = sessions.iter().map(|(s, csrf)| async move {
            s.client
                .post(format!("{}/login", s.base))
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("identifier", "congdan"),
                    ("password", "sai-mat-khau-123"),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
        let statuses = futures_util::future::join_all(attempts).await;
        let checked = statuses.iter().filter(|s| **s == 200).count();
        let refused = statuses.iter().filter(|s| **s == 429).count();
        assert_eq!(checked + refused, 60, "{statuses:?}");
        assert!(checked <= 20, "{checked} wrong passwords were checked");
        // 64 lookups of one code at once: at most 20 answered before the 429.
        let lookups = (0..64).map(|i| {
            let client = app.client.clone();
            let url = app.url(&format!(
                "/api/v1/lookup?code=000.00.00.H00-261130-0001&phone_last4={:04}",
                i
            ));
            async move { client.get(url).send().await.unwrap().status().as_u16() }
        });
        let statuses = futures_util::future::join_all(lookups).await;
        let answered = statuses.iter().filter(|s| **s == 404).count();
        assert!(answered <= 20, "{answered} lookups answered: {statuses:?}");
        assert_eq!(
            statuses.iter().filter(|s| **s == 429).count(),
            64 - answered
        );
    }
);
