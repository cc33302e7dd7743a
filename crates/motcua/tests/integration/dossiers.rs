//! Online submission end to end through the real HTTP stack, on SQLite and PostgreSQL: drafts,
//! uploads checked by content, submission with a code, reception with a due moment, the receipt
//! PDF, tracking and the public lookup, supplements, withdrawal, paper dossiers, the API with
//! resumable uploads, and who may see what.

use crate::harness::{stored_bytes, Session, TestApp};
use crate::on_both_databases;
use motcua_core::dossier::{Actor, Command, Status};
use motcua_store::demo::{DEMO_CITIZEN_PHONE, DEMO_PASSWORD};
use motcua_store::dossiers::{Act, ActError};
use reqwest::multipart::{Form, Part};

/// A full-online procedure of the demo catalogue with a published time ("same day"), received
/// by the provincial centre where the demo reception officer works.
const PROCEDURE: &str = "/procedures/ubnd-xa/2.000908";

const APPLICANT: [(&str, &str); 4] = [
    ("applicant_name", "Nguyễn Văn An"),
    ("applicant_id", "020190000123"),
    ("applicant_phone", DEMO_CITIZEN_PHONE),
    (
        "applicant_address",
        "Số 12 phố Lê Lợi, phường Lương Văn Tri",
    ),
];

/// A real one-page PDF of `len` bytes.
pub fn pdf(len: usize) -> Vec<u8> {
    motcua_core::dossier::minimal_pdf("hồ sơ thử", len)
}

/// A real PNG of `width` × `height` pixels.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    image::RgbImage::new(width, height)
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    bytes
}

/// Posts a multipart form the way a browser without JavaScript does (token in the action URL).
pub async fn post_files(
    s: &Session,
    path: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &str, Vec<u8>)],
) -> (u16, String, Option<String>) {
    let token = s.csrf().await;
    let mut form = Form::new();
    for (k, v) in fields {
        form = form.text((*k).to_owned(), (*v).to_owned());
    }
    for (field, name, bytes) in files {
        form = form.part(
            (*field).to_owned(),
            Part::bytes(bytes.clone()).file_name((*name).to_owned()),
        );
    }
    let r = s
        .client
        .post(format!("{}{path}?csrf={token}", s.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    (status, r.text().await.unwrap(), location)
}

/// Opens (or resumes) the citizen's draft; returns its id.
pub async fn draft(s: &Session) -> String {
    draft_of(s, PROCEDURE).await
}

/// Opens (or resumes) the citizen's draft of the procedure at `procedure` (its page's path).
pub async fn draft_of(s: &Session, procedure: &str) -> String {
    let (status, _, location) = s.get(&format!("{procedure}/apply")).await;
    assert_eq!(status, 303);
    let location = location.unwrap();
    location
        .strip_prefix("/dossiers/")
        .and_then(|l| l.strip_suffix("/edit"))
        .unwrap_or_else(|| panic!("unexpected redirect {location}"))
        .to_owned()
}

/// Fills, attaches a PDF and submits; returns (id, code).
pub async fn submit_one(app: &TestApp, s: &Session) -> (String, String) {
    submit_to(app, s, PROCEDURE).await
}

/// Fills a draft of `procedure`, attaches a PDF and submits; returns (id, code).
pub async fn submit_to(app: &TestApp, s: &Session, procedure: &str) -> (String, String) {
    submit_as(app, s, procedure, "Nguyễn Văn An").await
}

/// Like [`submit_to`], with the applicant's name as given.
pub async fn submit_as(
    app: &TestApp,
    s: &Session,
    procedure: &str,
    applicant_name: &str,
) -> (String, String) {
    let id = draft_of(s, procedure).await;
    let mut fields = APPLICANT.to_vec();
    fields[0] = ("applicant_name", applicant_name);
    fields.push(("intent", "review"));
    let (status, body, location) = post_files(
        s,
        &format!("/dossiers/{id}/edit"),
        &fields,
        &[("doc_other", "to-khai.pdf", pdf(2000))],
    )
    .await;
    assert_eq!(status, 303, "{body}");
    assert_eq!(
        location.as_deref(),
        Some(format!("/dossiers/{id}/review").as_str())
    );
    let version = app
        .store
        .dossier(&id)
        .await
        .unwrap()
        .unwrap()
        .version
        .to_string();
    let (status, _, location) = s
        .post(&format!("/dossiers/{id}/submit"), &[("version", &version)])
        .await;
    assert_eq!(status, 303);
    assert_eq!(
        location.as_deref(),
        Some(format!("/dossiers/{id}?notice=submitted").as_str())
    );
    let d = app.store.dossier(&id).await.unwrap().unwrap();
    assert_eq!(d.status, Status::Submitted);
    (id, d.life.code.unwrap())
}

pub fn pdftotext(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.pdf");
    std::fs::write(&path, pdf).unwrap();
    match std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
    {
        Ok(out) if out.status.success() => Some(String::from_utf8(out.stdout).unwrap()),
        Ok(out) => panic!("pdftotext failed: {}", String::from_utf8_lossy(&out.stderr)),
        Err(e) => {
            crate::harness::skip("PDF text check", &format!("pdftotext not found: {e}"));
            None
        }
    }
}

on_both_databases!(
    a_citizen_files_online_reception_receives_and_the_public_can_track_it,
    |app: TestApp| async move {
        let citizen = Session::login(&app, "congdan", DEMO_PASSWORD).await;
        // The form is prefilled from the profile.
        let id = draft(&citizen).await;
        let (_, edit, _) = citizen.get(&format!("/dossiers/{id}/edit")).await;
        assert!(edit.contains(r#"value="Nguyễn Văn An""#), "{edit}");
        assert!(edit.contains(&format!(r#"value="{DEMO_CITIZEN_PHONE}""#)));
        let (id2, code) = submit_one(&app, &citizen).await;
        assert_eq!(id, id2, "the open draft is resumed, not duplicated");
        assert!(code.starts_with("000.00.00.H00-"), "{code}");

        // Confirmation, "Hồ sơ của tôi", in-app and outbox notifications.
        let (_, page, _) = citizen
            .get(&format!("/dossiers/{id}?notice=submitted"))
            .await;
        assert!(page.contains(&code) && page.contains("Đã nộp trực tuyến, chờ tiếp nhận"));
        let (_, mine, _) = citizen.get("/dossiers").await;
        assert!(mine.contains(&code));
        let (_, inbox, _) = citizen.get("/notifications").await;
        assert!(inbox.contains(&format!("Đã nộp hồ sơ {code}")), "{inbox}");
        let outbox = app.store.outbox(20).await.unwrap();
        assert!(outbox
            .iter()
            .any(|m| m.recipient == DEMO_CITIZEN_PHONE && m.subject.contains(&code)));

        // Reception sees it in its queue and receives it: the due moment is set.
        let desk = Session::login(&app, "tiepnhan", DEMO_PASSWORD).await;
        let (_, queue, _) = desk.get("/office").await;
        assert!(queue.contains(&code));
        let version = app
            .store
            .dossier(&id)
            .await
            .unwrap()
            .unwrap()
            .version
            .to_string();
        let (status, _, location) = desk
            .post(
                &format!("/office/dossiers/{id}/receive"),
                &[("version", &version)],
            )
            .await;
        assert_eq!(
            (status, location.as_deref()),
            (
                303,
                Some(format!("/dossiers/{id}?notice=received").as_str())
            )
        );
        let d = app.store.dossier(&id).await.unwrap().unwrap();
        assert_eq!(d.status, Status::Received);
        let due = d.due_at.expect("due moment");
        assert!(due > d.received_at.unwrap());

        // The receipt (Mẫu 01) opens for the citizen, with the code and the applicant in it.
        let r = citizen
            .client
            .get(format!("{}/dossiers/{id}/receipt.pdf", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/pdf");
        let bytes = r.bytes().await.unwrap();
        if let Some(text) = pdftotext(&bytes) {
            assert!(
                text.contains("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ"),
                "{text}"
            );
            assert!(text.contains(&code), "{text}");
            assert!(text.contains("Nguyễn Văn An"), "{text}");
            assert!(
                text.contains(&motcua_store::dossiers::format_local(due)),
                "{text}"
            );
        }

        // The public lookup shows status and timeline, and nothing personal.
        let anonymous = Session::new(&app);
        let last4 = &DEMO_CITIZEN_PHONE[6..];
        let (status, found, _) = anonymous
            .get(&format!("/lookup?code={code}&phone={last4}"))
            .await;
        assert_eq!(status, 200);
        assert!(found.contains("Đã tiếp nhận, chờ phân công xử lý"));
        assert!(found.contains("Tiếp nhận hồ sơ"));
        for private in [
            "Nguyễn Văn An",
            DEMO_CITIZEN_PHONE,
            "Lê Lợi",
            "020190000123",
            "Hoàng Thị Bình",
        ] {
            assert!(!found.contains(private), "lookup leaks {private}");
        }
        let (status, _, _) = anonymous
            .get(&format!("/lookup?code={code}&phone=9999"))
            .await;
        assert_eq!(status, 404);
        let api: serde_json::Value = app
            .client
            .get(app.url(&format!("/api/v1/lookup?code={code}&phone_last4={last4}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(api["status"], "received");
        assert!(!api.to_string().contains("Nguyễn Văn An"));

        // Every change left a hash-chained event.
        let (checked, broken) = app.store.verify_events().await.unwrap();
        assert!(checked >= 3);
        assert_eq!(broken, None);
    }
);

on_both_databases!(
    bad_files_and_missing_fields_are_refused_with_reasons_and_the_draft_is_kept,
    |app: TestApp| async move {
        let citizen = Session::login(&app, "congdan", DEMO_PASSWORD).await;
        let id = draft(&citizen).await;
        let exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00This program cannot be run in DOS mode".to_vec();
        let oversize = pdf(10_000_001);
        let (status, page, _) = post_files(
            &citizen,
            &format!("/dossiers/{id}/edit"),
            &[
                ("applicant_address", "Thôn Bản Chắt, xã Đình Lập"),
                ("applicant_phone", "12345"),
                ("intent", "review"),
            ],
            &[
                ("doc_other", "hoa-don.pdf", exe),
                ("doc_other", "trong.pdf", Vec::new()),
                ("doc_other", "qua-lon.pdf", oversize),
            ],
        )
        .await;
        assert_eq!(status, 422);
        assert!(
            page.contains("Tệp &#34;hoa-don.pdf&#34; không phải PDF, JPEG hoặc PNG"),
            "{page}"
        );
        assert!(
            page.contains("Tệp &#34;trong.pdf&#34; rỗng (0 byte)"),
            "{page}"
        );
        assert!(
            page.contains("Tệp &#34;qua-lon.pdf&#34; vượt quá dung lượng cho phép (10 MB)"),
            "{page}"
        );
        assert!(page.contains("Số điện thoại phải gồm 10 chữ số"), "{page}");
        // Nothing was attached or left behind; what was valid is in the draft.
        assert!(app.store.attachments(&id).await.unwrap().is_empty());
        let staging = app.store.blobs().staging_dir().to_path_buf();
        let left = std::fs::read_dir(&staging).map(|d| d.count()).unwrap_or(0);
        assert_eq!(left, 0, "staging files left in {}", staging.display());
        let d = app.store.dossier(&id).await.unwrap().unwrap();
        assert_eq!(d.form["applicant_address"], "Thôn Bản Chắt, xã Đình Lập");
        assert_eq!(
            d.form["applicant_phone"], "12345",
            "typed text is kept to be corrected"
        );
        assert_eq!(d.status, Status::Draft);

        // A text field past 64 KiB stops the reading there; what came before it is kept.
        let huge = "x".repeat(100 * 1024);
        let (status, page, _) = post_files(
            &citizen,
            &format!("/dossiers/{id}/edit"),
            &[
                ("applicant_address", "Thôn Nà Lầm"),
                ("applicant_name", huge.as_str()),
            ],
            &[],
        )
        .await;
        assert_eq!(status, 422);
        assert!(page.contains("vượt quá dung lượng cho phép"), "{page}");
        let d = app.store.dossier(&id).await.unwrap().unwrap();
        assert_eq!(d.form["applicant_address"], "Thôn Nà Lầm");
        assert!(d.form["applicant_name"].len() < 1000);
        post_files(
            &citizen,
            &format!("/dossiers/{id}/edit"),
            &[("applicant_address", "Thôn Bản Chắt, xã Đình Lập")],
            &[],
        )
        .await;

        // Submitting with a missing required field is refused and says which.
        let (status, _, _) = post_files(
            &citizen,
            &format!("/dossiers/{id}/edit"),
            &[
                ("applicant_phone", DEMO_CITIZEN_PHONE),
                ("applicant_id", ""),
            ],
            &[],
        )
        .await;
        assert_eq!(status, 303);
        let (status, page, _) = citizen.post(&format!("/dossiers/{id}/submit"), &[]).await;
        assert_eq!(status, 422);
        assert!(
            page.contains("Số định danh cá nhân (CCCD): chưa nhập (bắt buộc)."),
            "{page}"
        );
        let d = app.store.dossier(&id).await.unwrap().unwrap();
        assert_eq!((d.status, d.code.clone()), (Status::Draft, None));
        assert_eq!(d.form["applicant_address"], "Thôn Bản Chắt, xã Đình Lập");

        // The API says the same in English and codes.
        let token = app
            .store
            .create_api_token(&d.applicant_id.clone().unwrap(), "test", "")
            .await
            .unwrap();
        let api = |method: reqwest::Method, path: &str| {
            app.client
                .request(method, app.url(path))
                .bearer_auth(&token)
        };
        let r = api(reqwest::Method::POST, "/api/v1/uploads")
            .json(&serde_json::json!({"file_name": "a.pdf", "size": 0}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        assert_eq!(
            r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
            "empty_file"
        );
        let r = api(reqwest::Method::POST, "/api/v1/uploads")
            .json(&serde_json::json!({"file_name": "a.pdf", "size": 20_000_000}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413);
        assert_eq!(
            r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
            "file_too_large"
        );
        let fake = b"MZ\x90\x00 not a pdf at all".to_vec();
        let up: serde_json::Value = api(reqwest::Method::POST, "/api/v1/uploads")
            .json(&serde_json::json!({"file_name": "setup.pdf", "size": fake.len()}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let r = api(
            reqwest::Method::PUT,
            &format!("/api/v1/uploads/{}", up["id"].as_str().unwrap()),
        )
        .header("upload-offset", "0")
        .body(fake)
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), 422);
        assert_eq!(
            r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
            "unsupported_file_type"
        );
        let r = api(reqwest::Method::POST, "/api/v1/dossiers")
            .json(&serde_json::json!({"agency": "ubnd-xa", "procedure_code": "2.000908", "form": {"applicant_phone": "0915000001"}}))
            .send().await.unwrap();
        assert_eq!(r.status(), 422);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_form");
        let fields: Vec<&str> = body["error"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap())
            .collect();
        assert_eq!(
            fields,
            ["applicant_name", "applicant_id", "applicant_address"]
        );
    }
);

on_both_databases!(
    a_dossier_exists_only_for_its_applicant_and_the_officials_it_is_routed_to,
    |app: TestApp| async move {
        let citizen = Session::login(&app, "congdan", DEMO_PASSWORD).await;
        let (id, _) = submit_one(&app, &citizen).await;
        let att = app.store.attachments(&id).await.unwrap()[0].id.clone();
        let hash = motcua_store::password::hash(DEMO_PASSWORD).unwrap();
        app.store
            .create_official(
                "tiepnhan-xa",
                "Cán bộ xã",
                &hash,
                &[(motcua_core::Role::Reception, Some("ttpvhcc-05977".into()))],
            )
            .await
            .unwrap();
        let other_citizen = Session::login(&app, "doanhnghiep", DEMO_PASSWORD).await;
        let other_desk = Session::login(&app, "tiepnhan-xa", DEMO_PASSWORD).await;
        for s in [&other_citizen, &other_desk] {
            for path in [
                format!("/dossiers/{id}"),
                format!("/dossiers/{id}/files/{att}"),
                format!("/dossiers/{id}/receipt.pdf"),
            ] {
                assert_eq!(s.get(&path).await.0, 404, "{path}");
            }
        }
        for path in [
            format!("/dossiers/{id}/edit"),
            format!("/dossiers/{id}/review"),
        ] {
            assert_eq!(other_citizen.get(&path).await.0, 404, "{path}");
        }
        assert_eq!(
            other_citizen
                .post(&format!("/dossiers/{id}/withdraw"), &[("reason", "x")])
                .await
                .0,
            404
        );
        assert_eq!(
            other_desk
                .post(&format!("/office/dossiers/{id}/receive"), &[])
                .await
                .0,
            404
        );
        let desk = Session::login(&app, "tiepnhan", DEMO_PASSWORD).await;
        assert_eq!(desk.get(&format!("/dossiers/{id}")).await.0, 200);
        let (status, body, _) = citizen.get(&format!("/dossiers/{id}/files/{att}")).await;
        assert_eq!(
            (status, body.as_bytes()[..5].to_vec()),
            (200, b"%PDF-".to_vec())
        );
        // Through the API too.
        let other = app
            .store
            .login_record("doanhnghiep")
            .await
            .unwrap()
            .unwrap()
            .id;
        let token = app.store.create_api_token(&other, "t", "").await.unwrap();
        let r = app
            .client
            .get(app.url(&format!("/api/v1/dossiers/{id}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(
            app.store.dossier(&id).await.unwrap().unwrap().status,
            Status::Submitted
        );
    }
);

on_both_databases!(
    supplements_are_asked_once_the_clock_restarts_and_withdrawal_stops_processing,
    |app: TestApp| async move {
        let citizen = Session::login(&app, "congdan", DEMO_PASSWORD).await;
        let desk = Session::login(&app, "tiepnhan", DEMO_PASSWORD).await;
        let (id, _) = submit_one(&app, &citizen).await;
        let v = |d: motcua_store::dossiers::Dossier| d.version.to_string();
        let version = v(app.store.dossier(&id).await.unwrap().unwrap());
        desk.post(
            &format!("/office/dossiers/{id}/receive"),
            &[("version", &version)],
        )
        .await;
        let received = app.store.dossier(&id).await.unwrap().unwrap();
        let (status, _, _) = desk
            .post(
                &format!("/office/dossiers/{id}/request-supplement"),
                &[
                    ("items", "Bản sao sổ hộ khẩu\nGiấy ủy quyền"),
                    ("reason", "Thiếu giấy tờ"),
                    ("version", &v(received.clone())),
                ],
            )
            .await;
        assert_eq!(status, 303);
        let (_, page, _) = citizen.get(&format!("/dossiers/{id}")).await;
        assert!(page.contains("Bản sao sổ hộ khẩu") && page.contains("Giấy ủy quyền"));
        assert!(page.contains("Bổ sung giấy tờ theo yêu cầu và nộp lại"));
        // Mẫu 02 is available as a PDF.
        let r = citizen
            .client
            .get(format!("{}/dossiers/{id}/supplement.pdf", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        if let Some(text) = pdftotext(&r.bytes().await.unwrap()) {
            assert!(
                text.contains("PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ")
                    && text.contains("Giấy ủy quyền"),
                "{text}"
            );
        }
        // Resubmitting without a new file is refused; with one it is received again, clock from zero.
        let (status, page, _) = citizen.post(&format!("/dossiers/{id}/submit"), &[]).await;
        assert_eq!(status, 422);
        assert!(page.contains("Chưa đính kèm giấy tờ bổ sung"));
        let (status, _, _) = post_files(
            &citizen,
            &format!("/dossiers/{id}/edit"),
            &[],
            &[("doc_other", "ho-khau.pdf", pdf(500))],
        )
        .await;
        assert_eq!(status, 303);
        let (status, _, _) = citizen.post(&format!("/dossiers/{id}/submit"), &[]).await;
        assert_eq!(status, 303);
        let again = app.store.dossier(&id).await.unwrap().unwrap();
        assert_eq!(again.status, Status::Received);
        assert!(
            again.deadline.as_ref().unwrap().received
                > received.deadline.as_ref().unwrap().received
        );
        assert!(again.supplement_items.is_empty());
        // Supplements are asked for once.
        let (status, page, _) = desk
            .post(
                &format!("/office/dossiers/{id}/request-supplement"),
                &[("items", "Thêm nữa"), ("version", &v(again.clone()))],
            )
            .await;
        assert_eq!(status, 422, "{page}");
        assert!(page.contains("yêu cầu bổ sung một lần"));
        // Withdrawal stops it; a second one is refused with the reason.
        let (status, _, _) = citizen
            .post(
                &format!("/dossiers/{id}/withdraw"),
                &[("reason", "Không còn nhu cầu")],
            )
            .await;
        assert_eq!(status, 303);
        assert_eq!(
            app.store.dossier(&id).await.unwrap().unwrap().status,
            Status::Withdrawn
        );
        let (status, page, _) = citizen
            .post(
                &format!("/dossiers/{id}/withdraw"),
                &[("reason", "Lần nữa")],
            )
            .await;
        assert_eq!(status, 422);
        assert!(page.contains("Không thể thực hiện"));
        let kinds = app.event_kinds(&id).await;
        assert_eq!(
            kinds,
            [
                "create",
                "submit",
                "receive",
                "request_supplement",
                "resubmit",
                "withdraw"
            ]
        );
    }
);

on_both_databases!(
    a_paper_dossier_gets_the_same_code_receipt_and_tracking_with_its_reason,
    |app: TestApp| async move {
        let desk = Session::login(&app, "tiepnhan", DEMO_PASSWORD).await;
        let procedure = demo_procedure(&app).await;
        let (status, page, _) = desk
            .post("/office/register", &[("procedure_id", &procedure.id)])
            .await;
        assert_eq!(status, 422);
        assert!(
            page.contains("Hãy chọn hình thức nộp") && page.contains("Hãy chọn lý do"),
            "{page}"
        );
        let (status, _, location) = desk
            .post(
                "/office/register",
                &[
                    ("procedure_id", &procedure.id),
                    ("channel", "counter"),
                    ("offline_reason", "no_smartphone"),
                    ("applicant_name", "Hoàng Văn Tám"),
                    ("applicant_id", "020170000456"),
                    ("applicant_phone", "0987000456"),
                    ("applicant_address", "Xã Mẫu Sơn"),
                ],
            )
            .await;
        assert_eq!(status, 303);
        let id = location
            .unwrap()
            .trim_start_matches("/dossiers/")
            .split('?')
            .next()
            .unwrap()
            .to_owned();
        let d = app.store.dossier(&id).await.unwrap().unwrap();
        assert_eq!(d.status, Status::Received);
        assert_eq!(d.channel.as_str(), "counter");
        assert_eq!(d.offline_reason.unwrap().as_str(), "no_smartphone");
        assert!(d.due_at.is_some());
        let code = d.life.code.unwrap();
        assert_eq!(
            desk.client
                .get(format!("{}/dossiers/{id}/receipt.pdf", app.base))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        let (status, page, _) = Session::new(&app)
            .get(&format!("/lookup?code={code}&phone=0456"))
            .await;
        assert_eq!(status, 200);
        assert!(page.contains("Tiếp nhận hồ sơ giấy") && !page.contains("Hoàng Văn Tám"));
    }
);

/// The procedure of [`PROCEDURE`], as the catalogue stores it.
async fn demo_procedure(app: &TestApp) -> motcua_store::catalogue::StoredProcedure {
    app.store
        .procedure("2.000908", "ubnd-xa")
        .await
        .unwrap()
        .unwrap()
}

/// What filing straight through the store takes: the demo citizen's account, the demo procedure
/// and its applicant form.
async fn direct_filing(
    app: &TestApp,
) -> (
    motcua_store::accounts::Account,
    motcua_store::catalogue::StoredProcedure,
    std::collections::BTreeMap<String, String>,
) {
    let citizen = app.store.login_record("congdan").await.unwrap().unwrap().id;
    let account = app.store.account(&citizen).await.unwrap().unwrap();
    let procedure = demo_procedure(app).await;
    let form = APPLICANT
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    (account, procedure, form)
}

on_both_databases!(
    concurrent_submissions_get_distinct_codes_and_concurrent_officers_one_winner,
    |app: TestApp| async move {
        let (account, procedure, form) = direct_filing(&app).await;
        let mut handles = Vec::new();
        for _ in 0..24 {
            let store = app.store.clone();
            let account = account.clone();
            let pid = procedure.id.clone();
            let form = form.clone();
            let settings = app.state.site.dossiers.clone();
            handles.push(tokio::spawn(async move {
                let id = store.create_draft(&account, &pid, &form).await.unwrap();
                store.save_form(&id, &form, None).await.unwrap();
                let act = Act::new(&id, Command::Submit, Actor::Applicant, &account);
                match store.act(act, &settings.codes, &settings.hours).await {
                    Ok(d) => d.life.code.unwrap(),
                    Err(e) => panic!("{e}"),
                }
            }));
        }
        let mut codes = Vec::new();
        for h in handles {
            codes.push(h.await.unwrap());
        }
        assert_eq!(codes.len(), 24);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), codes.len(), "{codes:?}");

        // Filings committed together: one that fails (its applicant does not exist) is rolled
        // back alone, the others are kept.
        let mut filings = Vec::new();
        for i in 0..12 {
            let store = app.store.clone();
            let mut account = account.clone();
            if i == 5 {
                account.id = "no-such-account".into();
            }
            let procedure = procedure.clone();
            let form = form.clone();
            let codes = app.state.site.dossiers.codes.clone();
            filings.push(tokio::spawn(async move {
                store
                    .file_dossier(&account, &procedure, &form, &[], &codes)
                    .await
                    .map(|(d, _)| d.life.code.unwrap())
            }));
        }
        let mut filed = Vec::new();
        for (i, f) in filings.into_iter().enumerate() {
            match f.await.unwrap() {
                Ok(code) => filed.push(code),
                Err(e) => assert_eq!(i, 5, "{e}"),
            }
        }
        assert_eq!(filed.len(), 11);
        for code in &filed {
            assert!(!codes.contains(code), "{code} given twice");
            assert!(app.store.dossier_by_code(code).await.unwrap().is_some());
        }

        // Two officers receive the same dossier at once: one wins, the other changes nothing.
        let desk = app
            .store
            .login_record("tiepnhan")
            .await
            .unwrap()
            .unwrap()
            .id;
        let desk = app.store.account(&desk).await.unwrap().unwrap();
        let d = app.store.dossier_by_code(&codes[0]).await.unwrap().unwrap();
        let settings = app.state.site.dossiers.clone();
        let attempt = || {
            let store = app.store.clone();
            let desk = desk.clone();
            let id = d.id.clone();
            let version = d.version;
            let settings = settings.clone();
            async move {
                let act = Act {
                    expected_version: Some(version),
                    ..Act::new(
                        &id,
                        Command::Receive {
                            time_limit: None,
                            note: String::new(),
                        },
                        Actor::Reception,
                        &desk,
                    )
                };
                store.act(act, &settings.codes, &settings.hours).await
            }
        };
        let (a, b) = tokio::join!(attempt(), attempt());
        let wins = [a.is_ok(), b.is_ok()].iter().filter(|w| **w).count();
        assert_eq!(wins, 1, "{a:?} {b:?}");
        let loser = if a.is_ok() { b } else { a };
        assert!(
            matches!(loser, Err(ActError::Conflict(_)) | Err(ActError::Rule(_))),
            "{loser:?}"
        );
        let events = app.store.dossier_events(&d.id).await.unwrap();
        assert_eq!(
            events
                .iter()
                .filter(|e| e.kind.as_str() == "receive")
                .count(),
            1
        );
    }
);

on_both_databases!(
    a_changed_event_breaks_the_chain_and_is_named,
    |app: TestApp| async move {
        let citizen = Session::login(&app, "congdan", DEMO_PASSWORD).await;
        let (id, code) = submit_one(&app, &citizen).await;
        assert_eq!(app.store.verify_events().await.unwrap().1, None);
        let sql = "UPDATE dossier_events SET note = 'sửa tay' WHERE dossier_id = $1 AND seq = 2";
        match app.store.backend() {
            motcua_store::Backend::Sqlite(p) => {
                sqlx::query(sql).bind(&id).execute(p).await.unwrap();
            }
            motcua_store::Backend::Postgres(p) => {
                sqlx::query(sql).bind(&id).execute(p).await.unwrap();
            }
        }
        let broken = app
            .store
            .verify_events()
            .await
            .unwrap()
            .1
            .expect("tampering found");
        assert_eq!(
            (broken.dossier_id, broken.code.as_deref(), broken.seq),
            (id, Some(code.as_str()), 2)
        );
    }
);

on_both_databases!(
    another_portal_files_through_the_api_with_a_resumed_upload,
    |app: TestApp| async move {
        let citizen = app.store.login_record("congdan").await.unwrap().unwrap().id;
        let token = app
            .store
            .create_api_token(&citizen, "portal", "")
            .await
            .unwrap();
        let call = |method: reqwest::Method, path: &str| {
            app.client
                .request(method, app.url(path))
                .bearer_auth(&token)
        };
        let file = pdf(300 * 1024);
        let up: serde_json::Value = call(reqwest::Method::POST, "/api/v1/uploads")
            .json(&serde_json::json!({"file_name": "don.pdf", "size": file.len()}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let uid = up["id"].as_str().unwrap().to_owned();
        let put = |offset: usize, chunk: &[u8]| {
            call(reqwest::Method::PUT, &format!("/api/v1/uploads/{uid}"))
                .header("upload-offset", offset.to_string())
                .body(chunk.to_vec())
        };
        let r: serde_json::Value = put(0, &file[..100 * 1024])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            (r["received"].as_i64(), r["complete"].as_bool()),
            (Some(100 * 1024), Some(false))
        );
        // The connection broke; the client resends from a wrong offset and is told where to go on.
        let r = put(50 * 1024, &file[50 * 1024..]).send().await.unwrap();
        assert_eq!(r.status(), 409);
        assert_eq!(
            r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
            "offset_mismatch"
        );
        let state: serde_json::Value =
            call(reqwest::Method::GET, &format!("/api/v1/uploads/{uid}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        let from = usize::try_from(state["received"].as_i64().unwrap()).unwrap();
        assert_eq!(from, 100 * 1024);
        let r: serde_json::Value = put(from, &file[from..])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            (r["complete"].as_bool(), r["media_type"].as_str()),
            (Some(true), Some("application/pdf"))
        );

        let mut form = serde_json::Map::new();
        for (k, v) in APPLICANT {
            form.insert(k.to_owned(), v.into());
        }
        let r = call(reqwest::Method::POST, "/api/v1/dossiers")
            .json(&serde_json::json!({"agency": "ubnd-xa", "procedure_code": "2.000908", "form": form, "attachments": [{"upload_id": uid}]}))
            .send().await.unwrap();
        assert_eq!(r.status(), 201);
        let d: serde_json::Value = r.json().await.unwrap();
        assert_eq!(d["status"], "submitted");
        assert_eq!(d["national_status"], 1);
        let id = d["id"].as_str().unwrap();
        let atts = app.store.attachments(id).await.unwrap();
        assert_eq!(
            (atts.len(), atts[0].size),
            (1, i64::try_from(file.len()).unwrap())
        );
        let list: serde_json::Value = call(reqwest::Method::GET, "/api/v1/dossiers")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(list
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["code"] == d["code"]));
        let r = call(
            reqwest::Method::POST,
            &format!("/api/v1/dossiers/{id}/withdraw"),
        )
        .json(&serde_json::json!({"reason": "Nộp nhầm"}))
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), 200);
        let r = call(
            reqwest::Method::POST,
            &format!("/api/v1/dossiers/{id}/withdraw"),
        )
        .json(&serde_json::json!({"reason": "Lần nữa"}))
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), 409);
        assert_eq!(
            r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
            "invalid_state"
        );
        // A draft filed by the portal, finished later: files attached, then submitted.
        let r = call(reqwest::Method::POST, "/api/v1/dossiers")
            .json(&serde_json::json!({"agency": "ubnd-xa", "procedure_code": "2.000908", "form": form, "submit": false}))
            .send().await.unwrap();
        assert_eq!(r.status(), 201);
        let draft: serde_json::Value = r.json().await.unwrap();
        assert_eq!(
            (draft["status"].as_str(), draft["code"].as_str()),
            (Some("draft"), None)
        );
        let draft_id = draft["id"].as_str().unwrap().to_owned();
        let r = call(
            reqwest::Method::POST,
            &format!("/api/v1/dossiers/{draft_id}/attachments"),
        )
        .json(&serde_json::json!({"upload_id": uid}))
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), 200);
        let r = call(
            reqwest::Method::POST,
            &format!("/api/v1/dossiers/{draft_id}/submit"),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), 200);
        let done: serde_json::Value = r.json().await.unwrap();
        assert_eq!(done["status"], "submitted");
        assert!(done["code"].as_str().is_some());
        // Or all in one multipart request: the JSON and the files together.
        let meta =
            serde_json::json!({"agency": "ubnd-xa", "procedure_code": "2.000908", "form": form})
                .to_string();
        let multipart = |file: Vec<u8>| {
            Form::new()
                .text("dossier", meta.clone())
                .part("to_khai", Part::bytes(file).file_name("to-khai.pdf"))
        };
        let r = call(reqwest::Method::POST, "/api/v1/dossiers")
            .multipart(multipart(b"MZ\x90\x00 program".to_vec()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        assert_eq!(
            r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
            "unsupported_file_type"
        );
        // More files than a dossier holds: refused as a whole, with the JSON sent after them
        // still read, and nothing left behind.
        let limit = app.state.site.dossiers.limits.files;
        let mut many = Form::new();
        for i in 0..=limit {
            many = many.part(
                format!("trang_{i}"),
                Part::bytes(pdf(10)).file_name("trang.pdf"),
            );
        }
        let r = call(reqwest::Method::POST, "/api/v1/dossiers")
            .multipart(many.text("dossier", meta.clone()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "too_many_files", "{body}");
        let staging = app.store.blobs().staging_dir().to_path_buf();
        let left = std::fs::read_dir(&staging).map(|d| d.count()).unwrap_or(0);
        assert_eq!(left, 0, "staging files left in {}", staging.display());
        let r = call(reqwest::Method::POST, "/api/v1/dossiers")
            .multipart(multipart(pdf(3000)))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let one: serde_json::Value = r.json().await.unwrap();
        let atts = app
            .store
            .attachments(one["id"].as_str().unwrap())
            .await
            .unwrap();
        assert_eq!(
            (atts.len(), atts[0].size, atts[0].file_name.as_str()),
            (1, 3000, "to-khai.pdf")
        );
        // The same scan sent for two documents: both are attached, the content is kept once.
        let scan = pdf(2000);
        let r = call(reqwest::Method::POST, "/api/v1/dossiers")
            .multipart(
                multipart(scan.clone())
                    .part("giay_to_khac", Part::bytes(scan).file_name("ban-sao.pdf")),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let two: serde_json::Value = r.json().await.unwrap();
        let mut atts = app
            .store
            .attachments(two["id"].as_str().unwrap())
            .await
            .unwrap();
        atts.sort_by(|x, y| x.file_name.cmp(&y.file_name));
        assert_eq!(
            atts.iter()
                .map(|a| (a.file_name.as_str(), a.size))
                .collect::<Vec<_>>(),
            [("ban-sao.pdf", 2000), ("to-khai.pdf", 2000)]
        );
        assert_eq!(atts[0].sha256, atts[1].sha256);
        // Files that came with the filing are kept in a pack, and read back whole from it.
        let session = Session::login(&app, "congdan", DEMO_PASSWORD).await;
        let two_id = two["id"].as_str().unwrap();
        for a in &atts {
            let (status, body, _) = session
                .get(&format!("/dossiers/{two_id}/files/{}", a.id))
                .await;
            assert_eq!((status, body.as_bytes()), (200, pdf(2000).as_slice()));
        }
        // A small file may also come whole in one request; its content is checked the same way.
        let whole = |bytes: Vec<u8>| {
            call(reqwest::Method::POST, "/api/v1/uploads?file_name=anh.png")
                .header("content-type", "application/octet-stream")
                .body(bytes)
        };
        let r = whole(b"MZ\x90\x00 renamed program".to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        assert_eq!(
            r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
            "unsupported_file_type"
        );
        let r = whole(png(1, 1)).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let up: serde_json::Value = r.json().await.unwrap();
        assert_eq!(
            (up["complete"].as_bool(), up["media_type"].as_str()),
            (Some(true), Some("image/png"))
        );
        // The OpenAPI document describes the dossier API.
        let doc: serde_json::Value = app
            .client
            .get(app.url("/api/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for path in ["/api/v1/dossiers", "/api/v1/uploads/{id}", "/api/v1/lookup"] {
            assert!(doc["paths"][path].is_object(), "{path}");
        }
    }
);

on_both_databases!(
    a_new_day_off_moves_the_due_moment_of_open_dossiers,
    |app: TestApp| async move {
        let citizen = Session::login(&app, "congdan", DEMO_PASSWORD).await;
        let desk = Session::login(&app, "tiepnhan", DEMO_PASSWORD).await;
        let (id, _) = submit_one(&app, &citizen).await;
        let version = app
            .store
            .dossier(&id)
            .await
            .unwrap()
            .unwrap()
            .version
            .to_string();
        desk.post(
            &format!("/office/dossiers/{id}/receive"),
            &[("version", &version)],
        )
        .await;
        let before = app
            .store
            .dossier(&id)
            .await
            .unwrap()
            .unwrap()
            .due_at
            .unwrap();
        let day = before
            .to_offset(motcua_core::calendar::deadline::VIETNAM)
            .date();
        // The due day becomes a day off (as a yearly announcement can make it).
        let calendar = app.store.holiday_calendar().await.unwrap();
        let mut schedule = calendar.schedule(day.year()).cloned().unwrap_or(
            motcua_core::calendar::holidays::YearSchedule {
                year: day.year(),
                source: String::new(),
                overrides: Vec::new(),
                days_off: Vec::new(),
                working_days: Vec::new(),
            },
        );
        schedule.source = "Thông báo nghỉ đột xuất (kiểm thử)".into();
        schedule.days_off.push(
            serde_json::from_value(serde_json::json!({
                "date": day.to_string(), "name": "Nghỉ đột xuất"
            }))
            .unwrap(),
        );
        app.store
            .add_holiday_schedule(&schedule, "quantri")
            .await
            .unwrap();
        let moved = app
            .store
            .recompute_due_moments(&app.state.site.dossiers.hours)
            .await
            .unwrap();
        assert!(moved >= 1);
        let after = app.store.dossier(&id).await.unwrap().unwrap();
        assert!(
            after.due_at.unwrap() > before,
            "{before} → {:?}",
            after.due_at
        );
        let last = app.store.dossier_events(&id).await.unwrap().pop().unwrap();
        assert_eq!(last.kind.as_str(), "recompute_due");
        assert_eq!(app.store.verify_events().await.unwrap().1, None);
    }
);

on_both_databases!(
    abandoned_uploads_are_swept_and_finished_ones_kept,
    |app: TestApp| async move {
        let citizen = app.store.login_record("congdan").await.unwrap().unwrap().id;
        let token = app
            .store
            .create_api_token(&citizen, "portal", "")
            .await
            .unwrap();
        let call = |method: reqwest::Method, path: &str| {
            app.client
                .request(method, app.url(path))
                .bearer_auth(&token)
        };
        let started: serde_json::Value = call(reqwest::Method::POST, "/api/v1/uploads")
            .json(&serde_json::json!({"file_name": "nua-chung.pdf", "size": 5000}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let half = started["id"].as_str().unwrap().to_owned();
        let r = call(reqwest::Method::PUT, &format!("/api/v1/uploads/{half}"))
            .header("upload-offset", "0")
            .body(pdf(5000)[..2000].to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let done: serde_json::Value =
            call(reqwest::Method::POST, "/api/v1/uploads?file_name=xong.pdf")
                .header("content-type", "application/octet-stream")
                .body(pdf(3000))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        let leftover = app.store.blobs().staging_dir().join("crash-leftover.part");
        std::fs::write(&leftover, b"partial").unwrap();
        let (rows, files) = app.store.sweep_uploads(time::Duration::ZERO).await.unwrap();
        assert_eq!((rows, files), (1, 1));
        assert!(!leftover.exists());
        let gone = call(reqwest::Method::GET, &format!("/api/v1/uploads/{half}"))
            .send()
            .await
            .unwrap();
        assert_eq!(gone.status(), 404);
        let kept = call(
            reqwest::Method::GET,
            &format!("/api/v1/uploads/{}", done["id"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(kept.status(), 200);
    }
);

on_both_databases!(
    guessing_the_phone_digits_is_stopped_and_the_desk_records_a_withdrawal,
    |app: TestApp| async move {
        let citizen = Session::login(&app, "congdan", DEMO_PASSWORD).await;
        let (id, code) = submit_one(&app, &citizen).await;
        let guesser = Session::new(&app);
        for n in 5000..5020 {
            let (status, _, _) = guesser.get(&format!("/lookup?code={code}&phone={n}")).await;
            assert_eq!(status, 404);
        }
        // Even the right digits are refused now, from this address and for this code.
        let right = &DEMO_CITIZEN_PHONE[6..];
        let (status, page, _) = guesser
            .get(&format!("/lookup?code={code}&phone={right}"))
            .await;
        assert_eq!(status, 429);
        assert!(page.contains("Đã tra cứu sai quá nhiều lần"));
        let r = app
            .client
            .get(app.url(&format!("/api/v1/lookup?code={code}&phone_last4={right}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 429);

        // The applicant asks at the counter to stop: the desk records it with the reason.
        let desk = Session::login(&app, "tiepnhan", DEMO_PASSWORD).await;
        let (status, page, _) = desk
            .post(&format!("/office/dossiers/{id}/withdraw"), &[])
            .await;
        assert_eq!(status, 422);
        assert!(page.contains("Hãy ghi lý do người nộp yêu cầu rút hồ sơ."));
        let (status, _, _) = desk
            .post(
                &format!("/office/dossiers/{id}/withdraw"),
                &[("reason", "Đơn xin rút hồ sơ nộp trực tiếp")],
            )
            .await;
        assert_eq!(status, 303);
        let d = app.store.dossier(&id).await.unwrap().unwrap();
        assert_eq!(d.status, Status::Withdrawn);
        let last = app.store.dossier_events(&id).await.unwrap().pop().unwrap();
        assert_eq!(
            (last.kind.as_str(), last.actor_name.as_str()),
            ("withdraw", "Hoàng Thị Bình")
        );
    }
);

on_both_databases!(
    filings_go_to_the_right_desk_and_two_servers_never_share_a_number,
    |app: TestApp| async move {
        let (account, any_level, applicant) = direct_filing(&app).await;
        let codes = app.state.site.dossiers.codes.clone();
        let form = |commune: Option<&str>| {
            let mut f = applicant.clone();
            if let Some(c) = commune {
                f.insert("applicant_commune".into(), c.into());
            }
            f
        };
        // A commune-level procedure goes to the centre of the commune chosen; without a commune,
        // or for a procedure of another level, to the provincial centre.
        let commune_level = app
            .store
            .procedure("2.001035", "ubnd-xa")
            .await
            .unwrap()
            .unwrap();
        for (procedure, commune, desk) in [
            (&commune_level, Some("05977"), "ttpvhcc-05977"),
            (&commune_level, None, "ttpvhcc-tinh"),
            (&any_level, Some("05977"), "ttpvhcc-tinh"),
        ] {
            let (d, _) = app
                .store
                .file_dossier(&account, procedure, &form(commune), &[], &codes)
                .await
                .unwrap();
            assert_eq!(d.desk_code.as_deref(), Some(desk), "{commune:?}");
            let stored = app.store.dossier(&d.id).await.unwrap().unwrap();
            assert_eq!(stored.desk_code.as_deref(), Some(desk));
        }

        // A second server on the same data, filings on both at once, then the second restarted:
        // every number is new.
        let config = app.store_config();
        let second = std::sync::Arc::new(motcua_store::Store::open_shared(&config).await.unwrap());
        let mut all = Vec::new();
        for round in 0..2 {
            let other = if round == 0 {
                second.clone()
            } else {
                std::sync::Arc::new(motcua_store::Store::open_shared(&config).await.unwrap())
            };
            let mut filings = Vec::new();
            for i in 0..40 {
                let store = if i % 2 == 0 {
                    app.store.clone()
                } else {
                    other.clone()
                };
                let (account, procedure, form, codes) = (
                    account.clone(),
                    any_level.clone(),
                    form(None),
                    codes.clone(),
                );
                filings.push(tokio::spawn(async move {
                    store
                        .file_dossier(&account, &procedure, &form, &[], &codes)
                        .await
                        .map(|(d, _)| d.life.code.unwrap())
                }));
            }
            for f in filings {
                all.push(f.await.unwrap().unwrap());
            }
        }
        let mut unique = all.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 80, "{all:?}");
        for code in &all {
            assert!(app.store.dossier_by_code(code).await.unwrap().is_some());
        }
    }
);

on_both_databases!(
    a_filing_whose_files_fail_to_sync_is_refused_and_nothing_of_it_is_kept,
    |app: TestApp| async move {
        use sha2::Digest;
        let (account, procedure, form) = direct_filing(&app).await;
        let citizen = account.id.clone();
        let token = app
            .store
            .create_api_token(&citizen, "portal", "")
            .await
            .unwrap();
        let meta =
            serde_json::json!({"agency": "ubnd-xa", "procedure_code": "2.000908", "form": form})
                .to_string();
        // Each file its own content, so a stored blob is told apart from a refused one.
        let file = |i: usize| {
            let mut f = pdf(100 * 1024);
            f.extend_from_slice(format!("% {i}").as_bytes());
            f
        };
        let submit = |content: Vec<u8>| {
            let request = app
                .client
                .post(app.url("/api/v1/dossiers"))
                .bearer_auth(&token)
                .multipart(
                    Form::new()
                        .text("dossier", meta.clone())
                        .part("to_khai", Part::bytes(content).file_name("to-khai.pdf")),
                );
            async move {
                let r = request.send().await.unwrap();
                let status = r.status().as_u16();
                (status, r.json::<serde_json::Value>().await.unwrap())
            }
        };
        let mine = || async { app.store.dossiers_of(&citizen).await.unwrap().len() };
        let stored = |content: &[u8]| {
            let sha = hex::encode(sha2::Sha256::digest(content));
            let store = app.store.clone();
            async move { store.open_blob(&sha).await.is_ok() }
        };
        let before = mine().await;

        // Alone: the write-back of its pack fails, so the citizen is told and nothing is kept.
        app.store.fail_next_pack_sync();
        let (status, body) = submit(file(0)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (500, Some("internal"))
        );
        assert_eq!(mine().await, before);
        assert!(!stored(&file(0)).await);

        // In a burst, filings without files and those whose pack synced are kept; only those
        // whose pack failed are refused.
        app.store.fail_next_pack_sync();
        let bare: Vec<_> = (0..4)
            .map(|_| {
                let store = app.store.clone();
                let (account, procedure, form) = (account.clone(), procedure.clone(), form.clone());
                let codes = app.state.site.dossiers.codes.clone();
                tokio::spawn(async move {
                    store
                        .file_dossier(&account, &procedure, &form, &[], &codes)
                        .await
                        .map(|(d, _)| d.life.code)
                })
            })
            .collect();
        let with_files: Vec<_> = (1..=6).map(|i| tokio::spawn(submit(file(i)))).collect();
        for b in bare {
            assert!(b.await.unwrap().is_ok());
        }
        let mut kept = 0;
        for (i, sent) in (1..=6).zip(with_files) {
            let (status, body) = sent.await.unwrap();
            match status {
                201 => {
                    kept += 1;
                    let id = body["id"].as_str().unwrap();
                    let atts = app.store.attachments(id).await.unwrap();
                    let back = stored_bytes(&app.store, &atts[0].sha256).await;
                    assert_eq!(back, file(i), "file {i} reads back");
                }
                500 => assert!(!stored(&file(i)).await, "file {i} was refused but stored"),
                other => panic!("file {i}: {other} {body}"),
            }
        }
        assert!(kept < 6, "the failed sync refused none of the burst");
        assert_eq!(mine().await, before + 4 + kept);
        // The pack is written to again afterwards.
        assert_eq!(submit(file(7)).await.0, 201);
    }
);
