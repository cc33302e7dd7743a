//! Outbox delivery against a real SMTP conversation: a small SMTP server the test starts records
//! what it receives and can be told to answer 451 (try later) or 550 (no such mailbox).

use crate::harness::{Db, Session, TestApp};
use motcua_store::outbox::{Delivery, OutboxStatus};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[derive(Debug, Clone)]
struct Received {
    to: Vec<String>,
    data: String,
}

#[derive(Clone, Default)]
struct SmtpServer {
    addr: String,
    received: Arc<Mutex<Vec<Received>>>,
    /// Answers to give to RCPT TO for an address, in order; then 250.
    answers: Arc<Mutex<HashMap<String, Vec<u16>>>>,
}

impl SmtpServer {
    async fn start() -> SmtpServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = SmtpServer {
            addr: listener.local_addr().unwrap().to_string(),
            ..SmtpServer::default()
        };
        let s = server.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(s.clone().session(socket));
            }
        });
        server
    }

    async fn session(self, socket: tokio::net::TcpStream) {
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read).lines();
        let _ = write.write_all(b"220 test ESMTP\r\n").await;
        let mut to = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            let upper = line.to_ascii_uppercase();
            let reply: String = if upper.starts_with("EHLO") {
                "250-test\r\n250 8BITMIME\r\n".into()
            } else if upper.starts_with("MAIL FROM") {
                to.clear();
                "250 ok\r\n".into()
            } else if upper.starts_with("RCPT TO") {
                let address = line
                    [line.find('<').map_or(0, |i| i + 1)..line.find('>').unwrap_or(line.len())]
                    .to_owned();
                let code = self
                    .answers
                    .lock()
                    .unwrap()
                    .get_mut(&address)
                    .and_then(|q| (!q.is_empty()).then(|| q.remove(0)))
                    .unwrap_or(250);
                if code == 250 {
                    to.push(address);
                }
                format!(
                    "{code} {}\r\n",
                    if code == 250 {
                        "ok"
                    } else {
                        "refused for the test"
                    }
                )
            } else if upper == "DATA" {
                let _ = write.write_all(b"354 go on\r\n").await;
                let mut data = String::new();
                while let Ok(Some(l)) = lines.next_line().await {
                    if l == "." {
                        break;
                    }
                    data.push_str(&l);
                    data.push('\n');
                }
                self.received.lock().unwrap().push(Received {
                    to: std::mem::take(&mut to),
                    data,
                });
                "250 queued\r\n".into()
            } else if upper == "QUIT" {
                let _ = write.write_all(b"221 bye\r\n").await;
                return;
            } else {
                "250 ok\r\n".into()
            };
            if write.write_all(reply.as_bytes()).await.is_err() {
                return;
            }
        }
    }

    /// Waits (up to 10 s) for a message to `address`.
    async fn wait_for(&self, address: &str) -> Received {
        for _ in 0..200 {
            if let Some(r) = self
                .received
                .lock()
                .unwrap()
                .iter()
                .find(|r| r.to.iter().any(|t| t == address))
            {
                return r.clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no message reached {address}");
    }
}

/// The text of a single-part message, whatever transfer encoding the sender chose.
fn decode_body(data: &str) -> String {
    use base64::Engine;
    let (headers, body) = data.split_once("\n\n").unwrap_or((data, ""));
    let encoding = headers
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-transfer-encoding:")
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_default();
    match encoding.as_str() {
        "base64" => {
            let joined: String = body.lines().map(str::trim).collect();
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(joined)
                    .unwrap(),
            )
            .unwrap()
        }
        "quoted-printable" => {
            let text = body.replace("=\n", "");
            let mut bytes = Vec::new();
            let raw = text.as_bytes();
            let mut i = 0;
            while i < raw.len() {
                if raw[i] == b'=' && i + 2 < raw.len() {
                    bytes.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
                    i += 3;
                } else {
                    bytes.push(raw[i]);
                    i += 1;
                }
            }
            String::from_utf8(bytes).unwrap()
        }
        _ => body.to_owned(),
    }
}

async fn register(app: &TestApp, email: &str) {
    let s = Session::new(app);
    let (status, _, _) = s
        .post(
            "/register",
            &[
                ("kind", "citizen"),
                ("display_name", "Hoàng Thị Thu"),
                ("contact", email),
                ("password", "Thác Bản Giốc 2026"),
                ("password2", "Thác Bản Giốc 2026"),
            ],
        )
        .await;
    assert_eq!(status, 303, "registration of {email}");
}

async fn outbox_row(app: &TestApp, email: &str) -> Delivery {
    let id = app
        .store
        .outbox(50)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.recipient == email)
        .unwrap()
        .id;
    app.store.outbox_status(&id).await.unwrap().unwrap()
}

async fn a_registration_code_arrives_by_email_and_verifies_the_account(db: Db) {
    let smtp = SmtpServer::start().await;
    let Some(app) = TestApp::start_mail(db, &format!("smtp://{}", smtp.addr)).await else {
        return;
    };
    register(&app, "thu.hoang@example.vn").await;
    let mail = smtp.wait_for("thu.hoang@example.vn").await;
    assert!(
        mail.data.contains("Subject: =?utf-8?") || mail.data.contains("Subject: Mã xác thực"),
        "{}",
        mail.data
    );
    assert!(
        mail.data.contains("@motcua>"),
        "Message-ID carries the outbox id: {}",
        mail.data
    );
    let body = decode_body(&mail.data);
    let at = body
        .find("Mã xác thực tài khoản của bạn là ")
        .expect("the code is in the body")
        + "Mã xác thực tài khoản của bạn là ".len();
    let code = &body[at..at + 6];
    let s = Session::new(&app);
    let (_, _, location) = s
        .post(
            "/register/verify",
            &[("contact", "thu.hoang@example.vn"), ("code", code)],
        )
        .await;
    assert_eq!(location.as_deref(), Some("/login?msg=verified"));
    Session::login(&app, "thu.hoang@example.vn", "Thác Bản Giốc 2026").await;
    for _ in 0..100 {
        if outbox_row(&app, "thu.hoang@example.vn").await.status == OutboxStatus::Delivered {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let row = outbox_row(&app, "thu.hoang@example.vn").await;
    assert_eq!(
        (row.status, row.attempts, row.last_error),
        (OutboxStatus::Delivered, 1, None)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_code_arrives_by_email_and_verifies_the_account_sqlite() {
    a_registration_code_arrives_by_email_and_verifies_the_account(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_code_arrives_by_email_and_verifies_the_account_postgres() {
    a_registration_code_arrives_by_email_and_verifies_the_account(Db::Postgres).await;
}

async fn temporary_failures_are_retried_and_permanent_ones_given_up(db: Db) {
    let smtp = SmtpServer::start().await;
    smtp.answers
        .lock()
        .unwrap()
        .insert("retry@example.vn".into(), vec![451, 451]);
    smtp.answers
        .lock()
        .unwrap()
        .insert("nobody@example.vn".into(), vec![550]);
    let Some(app) = TestApp::start_mail(db, &format!("smtp://{}", smtp.addr)).await else {
        return;
    };
    register(&app, "retry@example.vn").await;
    register(&app, "nobody@example.vn").await;
    smtp.wait_for("retry@example.vn").await;
    let mut last = outbox_row(&app, "nobody@example.vn").await;
    for _ in 0..100 {
        last = outbox_row(&app, "nobody@example.vn").await;
        if last.status == OutboxStatus::PermanentFailure
            && outbox_row(&app, "retry@example.vn").await.status == OutboxStatus::Delivered
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let retried = outbox_row(&app, "retry@example.vn").await;
    assert_eq!(
        (retried.status, retried.attempts, retried.last_error),
        (OutboxStatus::Delivered, 3, None),
        "two 451 answers, then delivered"
    );
    assert_eq!(
        (last.status, last.attempts),
        (OutboxStatus::PermanentFailure, 1),
        "550 is not retried"
    );
    assert!(last.last_error.unwrap_or_default().contains("550"));
    assert_eq!(
        last.provider_status.as_deref(),
        Some("550"),
        "the server's own code is kept"
    );
    assert!(smtp
        .received
        .lock()
        .unwrap()
        .iter()
        .all(|r| !r.to.contains(&"nobody@example.vn".to_owned())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_failures_are_retried_and_permanent_ones_given_up_sqlite() {
    temporary_failures_are_retried_and_permanent_ones_given_up(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_failures_are_retried_and_permanent_ones_given_up_postgres() {
    temporary_failures_are_retried_and_permanent_ones_given_up(Db::Postgres).await;
}

/// A dossier's steps reach an applicant who gave an email, through the same outbox and worker.
async fn a_dossier_step_reaches_the_applicant_by_email(db: Db) {
    let smtp = SmtpServer::start().await;
    let Some(app) = TestApp::start_mail(db, &format!("smtp://{}", smtp.addr)).await else {
        return;
    };
    let citizen = Session::login(&app, "congdan", motcua_store::demo::DEMO_PASSWORD).await;
    let id = crate::dossiers::draft(&citizen).await;
    let fields = [
        ("applicant_name", "Nguyễn Văn An"),
        ("applicant_id", "020190000123"),
        ("applicant_phone", motcua_store::demo::DEMO_CITIZEN_PHONE),
        ("applicant_email", "an.nguyen@example.vn"),
        ("applicant_address", "Phường Lương Văn Tri"),
    ];
    let (status, _, _) = crate::dossiers::post_files(
        &citizen,
        &format!("/dossiers/{id}/edit"),
        &fields,
        &[("doc_other", "don.pdf", crate::dossiers::pdf(800))],
    )
    .await;
    assert_eq!(status, 303);
    let (status, _, _) = citizen.post(&format!("/dossiers/{id}/submit"), &[]).await;
    assert_eq!(status, 303);
    let code = app
        .store
        .dossier(&id)
        .await
        .unwrap()
        .unwrap()
        .life
        .code
        .unwrap();
    let mail = smtp.wait_for("an.nguyen@example.vn").await;
    let body = decode_body(&mail.data);
    assert!(body.contains("Cấp bản sao từ sổ gốc"), "{body}");
    assert!(
        mail.data.contains(&code) || body.contains(&code),
        "{}",
        mail.data
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dossier_step_reaches_the_applicant_by_email_sqlite() {
    a_dossier_step_reaches_the_applicant_by_email(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dossier_step_reaches_the_applicant_by_email_postgres() {
    a_dossier_step_reaches_the_applicant_by_email(Db::Postgres).await;
}

/// Dossiers filed with someone else's email must not flood them: whatever wrote the messages,
/// one recipient gets three a quarter hour; the rest wait, untried, for the next window.
async fn one_recipient_gets_at_most_three_messages_a_quarter_hour(db: Db) {
    let smtp = SmtpServer::start().await;
    let Some(app) = TestApp::start_mail(db, &format!("smtp://{}", smtp.addr)).await else {
        return;
    };
    let citizen = app.store.login_record("congdan").await.unwrap().unwrap().id;
    let token = app.store.create_api_token(&citizen, "t", "").await.unwrap();
    let victim = "nan.nhan@example.vn";
    for i in 0..8 {
        let form = serde_json::json!({
            "applicant_name": "Nguyễn Văn An", "applicant_id": "020190000123",
            "applicant_phone": "0915000001", "applicant_address": "Lạng Sơn",
            "applicant_email": victim});
        let r = app
            .client
            .post(app.url("/api/v1/dossiers"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"agency": "ubnd-xa", "procedure_code": "2.000908", "form": form}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201, "filing {i}");
    }
    let to_victim = || async {
        app.store
            .outbox(100)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.recipient == victim)
            .map(|m| m.status)
            .collect::<Vec<_>>()
    };
    for _ in 0..100 {
        let statuses = to_victim().await;
        if statuses
            .iter()
            .all(|s| *s != OutboxStatus::Created && *s != OutboxStatus::Sending)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let statuses = to_victim().await;
    assert_eq!(statuses.len(), 8, "every filing wrote its notice");
    let delivered = statuses
        .iter()
        .filter(|s| **s == OutboxStatus::Delivered)
        .count();
    let waiting = statuses
        .iter()
        .filter(|s| **s == OutboxStatus::TemporaryFailure)
        .count();
    assert_eq!((delivered, waiting), (3, 5), "{statuses:?}");
    let received = smtp
        .received
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.to.iter().any(|t| t == victim))
        .count();
    assert_eq!(received, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_recipient_gets_at_most_three_messages_a_quarter_hour_sqlite() {
    one_recipient_gets_at_most_three_messages_a_quarter_hour(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_recipient_gets_at_most_three_messages_a_quarter_hour_postgres() {
    one_recipient_gets_at_most_three_messages_a_quarter_hour(Db::Postgres).await;
}
