//! The back office end to end, on SQLite and PostgreSQL: the whole lifecycle through the HTTP
//! stack (reception, assignment, examination, approval, the issued result, hand-over, the
//! citizen's download), the official forms as text, two officers at once, every (state, action,
//! role) combination against the store, and the audit chain checked by `motcua audit verify`.

use crate::dossiers::{pdftotext, submit_to};
use crate::harness::{Session, TestApp, TestData};
use crate::on_both_databases;
use motcua_core::dossier::{
    Action, Actor, ConsultMode, FileKind, HandOverMethod, Outcome, Status, Step, StepKind, Workflow,
};
use motcua_core::dossier::{Command, Inputs, ResultDoc};
use motcua_store::accounts::Account;
use motcua_store::demo::DEMO_PASSWORD;
use motcua_store::dossiers::{Act, ActError, CodeSettings};
use motcua_store::processing::{actor_for, capacities};
use motcua_store::Store;
use std::collections::BTreeMap;

/// A full-online procedure of Sở Xây dựng (where the demo specialist and leader work); it
/// publishes no processing time, so reception types one.
pub const PROCEDURE: &str = "/procedures/so-xd/1.013237";
pub(crate) const PROCEDURE_CODE: &str = "1.013237";

async fn get_bytes(s: &Session, path: &str) -> (u16, String, Vec<u8>) {
    let r = s
        .client
        .get(format!("{}{path}", s.base))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let kind = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, r.bytes().await.unwrap().to_vec())
}

async fn version(app: &TestApp, id: &str) -> String {
    app.store
        .dossier(id)
        .await
        .unwrap()
        .unwrap()
        .version
        .to_string()
}

/// Reception receives dossier `id`, giving the 20 working days the procedure does not publish;
/// returns the month of reception in Vietnam's time (the ledger's month for it).
pub async fn receive(app: &TestApp, desk: &Session, id: &str) -> motcua_core::plan::Month {
    let v = version(app, id).await;
    let (status, body, _) = desk
        .post(
            &format!("/office/dossiers/{id}/receive"),
            &[("version", &v), ("time_limit", "20 ngày làm việc")],
        )
        .await;
    assert_eq!(status, 303, "{body}");
    let received = app
        .store
        .dossier(id)
        .await
        .unwrap()
        .unwrap()
        .received_at
        .unwrap();
    motcua_core::plan::Month::of(
        received
            .to_offset(motcua_core::calendar::deadline::VIETNAM)
            .date(),
    )
}

/// Posts an action with the dossier's current version; returns (status, body, location).
async fn act(
    app: &TestApp,
    s: &Session,
    id: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> (u16, String, Option<String>) {
    let v = version(app, id).await;
    let mut all = vec![("version", v.as_str())];
    all.extend_from_slice(fields);
    s.post(&format!("/office/process/{id}/{action}"), &all)
        .await
}

on_both_databases!(
    reception_to_handover_through_the_web_with_forms_and_audit,
    |app: TestApp| async move {
        let citizen = Session::login(&app, "congdan", DEMO_PASSWORD).await;
        let desk = Session::login(&app, "tiepnhan", DEMO_PASSWORD).await;
        let specialist = Session::login(&app, "chuyenvien", DEMO_PASSWORD).await;
        let leader = Session::login(&app, "lanhdao", DEMO_PASSWORD).await;
        let (id, code) = submit_to(&app, &citizen, PROCEDURE).await;

        // Reception receives it, giving the processing time the procedure does not publish.
        let month = receive(&app, &desk, &id).await;
        let d = app.store.dossier(&id).await.unwrap().unwrap();
        assert_eq!(d.status, Status::Received);
        assert_eq!(d.workflow.as_ref(), Some(&Workflow::default()));

        // The specialist cannot propose before being assigned; the page says why.
        let (status, body, _) =
            act(&app, &specialist, &id, "propose", &[("outcome", "grant")]).await;
        assert_eq!(status, 422, "{body}");
        assert!(body.contains("Không thể thực hiện"), "{body}");
        // The leader's queue shows it awaiting assignment; the leader assigns the specialist.
        let (_, queue, _) = leader.get("/office/work?tab=assign").await;
        assert!(queue.contains(&code), "{queue}");
        let (_, queue, _) = leader
            .get("/office/work?tab=assign&q=chung+chi+hanh+nghe")
            .await;
        assert!(queue.contains(&code), "typed without diacritics: {queue}");
        let (_, queue, _) = leader.get("/office/work?tab=assign&q=khai+sinh").await;
        assert!(!queue.contains(&code), "{queue}");
        let (_, queue, _) = leader.get("/office/work?tab=assign&due=overdue").await;
        assert!(!queue.contains(&code), "not overdue: {queue}");
        let specialist_id = app
            .store
            .login_record("chuyenvien")
            .await
            .unwrap()
            .unwrap()
            .id;
        let (status, body, location) = act(
            &app,
            &leader,
            &id,
            "assign",
            &[("assignee", &specialist_id)],
        )
        .await;
        assert_eq!(status, 303, "{body}");
        assert_eq!(location.unwrap(), format!("/dossiers/{id}?notice=assigned"));
        let (_, mine, _) = specialist.get("/office/work?tab=mine").await;
        assert!(mine.contains(&code), "{mine}");
        assert!(app
            .store
            .dossier(&id)
            .await
            .unwrap()
            .unwrap()
            .step_due_at
            .is_some());

        // Wrong, empty, huge and unknown input: a clear message, nothing changes.
        let before = app.store.dossier(&id).await.unwrap().unwrap();
        let huge = "x".repeat(1001);
        for (action, fields, says) in [
            (
                "apologise_and_reschedule",
                vec![("reason", huge.as_str()), ("new_due", "2027-03-31")],
                "Nội dung quá dài",
            ),
            (
                "apologise_and_reschedule",
                vec![("reason", "Chậm"), ("new_due", "31-31-2027")],
                "Không hiểu ngày",
            ),
            (
                "apologise_and_reschedule",
                vec![("reason", "Chậm"), ("new_due", "2020-01-01")],
                "Ngày hẹn mới phải sau hạn trả kết quả",
            ),
            (
                "apologise_and_reschedule",
                vec![("reason", ""), ("new_due", "2027-03-31")],
                "Cần ghi rõ lý do",
            ),
            (
                "assign",
                vec![("assignee", "no-such-officer")],
                "không phải chuyên viên của cơ quan giải quyết",
            ),
            ("transfer", vec![("step", "abc")], "không hợp lệ"),
        ] {
            let (status, body, _) = act(&app, &leader, &id, action, &fields).await;
            assert_eq!(status, 422, "{action} {fields:?}: {body}");
            assert!(body.contains(says), "{action}: {says}: {body}");
        }
        assert_eq!(app.store.dossier(&id).await.unwrap().unwrap(), before);
        assert_eq!(act(&app, &leader, &id, "explode", &[]).await.0, 404);
        assert_eq!(act(&app, &leader, &id, "submit", &[]).await.0, 404);

        // Late: an apology with one new appointment (Mẫu 04), and never a second.
        let (status, body, _) = act(
            &app,
            &leader,
            &id,
            "apologise_and_reschedule",
            &[
                ("reason", "Cần xác minh thực địa công trình"),
                ("new_due", "2027-03-31"),
            ],
        )
        .await;
        assert_eq!(status, 303, "{body}");
        let (status, body, _) = act(
            &app,
            &leader,
            &id,
            "apologise_and_reschedule",
            &[("reason", "Lần hai"), ("new_due", "2027-04-30")],
        )
        .await;
        assert_eq!(status, 422);
        assert!(body.contains("không được hẹn lại lần thứ hai"), "{body}");
        let d = app.store.dossier(&id).await.unwrap().unwrap();
        assert_eq!(d.reschedules, 1);
        assert_eq!(
            motcua_store::dossiers::format_local(d.due_at.unwrap()),
            "17:00 31/03/2027"
        );
        let (status, kind, pdf) = get_bytes(&citizen, &format!("/dossiers/{id}/apology.pdf")).await;
        assert_eq!((status, kind.as_str()), (200, "application/pdf"));
        if let Some(text) = pdftotext(&pdf) {
            assert!(
                text.contains("PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ"),
                "{text}"
            );
            assert!(
                text.contains(&code) && text.contains("Cần xác minh thực địa công trình"),
                "{text}"
            );
            assert!(text.contains("17:00 31/03/2027"), "{text}");
        }

        // Examination, proposal, a send-back with a reason, proposal again, approval.
        let (status, body, _) = act(
            &app,
            &specialist,
            &id,
            "propose",
            &[("outcome", "grant"), ("reason", "Hồ sơ đủ điều kiện")],
        )
        .await;
        assert_eq!(status, 303, "{body}");
        let (status, body, _) = act(&app, &leader, &id, "send_back", &[]).await;
        assert_eq!(status, 422, "a send-back needs a reason: {body}");
        assert!(body.contains("Cần ghi rõ lý do"), "{body}");
        let (status, _, _) = act(
            &app,
            &leader,
            &id,
            "send_back",
            &[("reason", "Bổ sung ý kiến về chứng chỉ")],
        )
        .await;
        assert_eq!(status, 303);
        assert_eq!(
            app.store.dossier(&id).await.unwrap().unwrap().status,
            Status::InProgress
        );
        let (status, _, _) = act(&app, &specialist, &id, "propose", &[("outcome", "grant")]).await;
        assert_eq!(status, 303);
        // The citizen can neither approve nor see the result yet.
        let (status, _, _) = act(&app, &citizen, &id, "approve", &[]).await;
        assert_ne!(status, 303);
        let (status, _, _) = act(&app, &leader, &id, "approve", &[("reason", "Đồng ý")]).await;
        assert_eq!(status, 303);

        // The leader issues the result; the system generates it (no file uploaded).
        let token = leader.csrf().await;
        let v = version(&app, &id).await;
        let r = leader
            .client
            .post(format!(
                "{}/office/process/{id}/result?csrf={token}",
                app.base
            ))
            .multipart(reqwest::multipart::Form::new().text("version", v).text(
                "reason",
                "Cấp chứng chỉ hành nghề hoạt động xây dựng hạng II",
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
        let d = app.store.dossier(&id).await.unwrap().unwrap();
        assert_eq!(d.status, Status::Decided);
        assert_eq!(
            get_bytes(&citizen, &format!("/dossiers/{id}/result"))
                .await
                .0,
            404,
            "not the citizen's before hand-over"
        );

        // Reception hands it over online; the citizen downloads it.
        let (_, page, _) = desk.get(&format!("/dossiers/{id}")).await;
        assert!(page.contains("Trả kết quả"), "{page}");
        let (status, body, _) = act(&app, &desk, &id, "hand_over", &[("method", "online")]).await;
        assert_eq!(status, 303, "{body}");
        let (status, kind, result) = get_bytes(&citizen, &format!("/dossiers/{id}/result")).await;
        assert_eq!((status, kind.as_str()), (200, "application/pdf"));
        if let Some(text) = pdftotext(&result) {
            assert!(
                text.contains("THÔNG BÁO KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"),
                "{text}"
            );
            assert!(text.contains(&code), "{text}");
            assert!(
                text.contains("Cấp chứng chỉ hành nghề hoạt động xây dựng hạng II"),
                "{text}"
            );
        }

        // Every step is in the timeline, the citizen was told at each step concerning them,
        // and the chain verifies.
        let (_, page, _) = citizen.get(&format!("/dossiers/{id}")).await;
        for label in [
            "Tiếp nhận hồ sơ",
            "Phân công xử lý",
            "Xin lỗi và hẹn lại ngày trả kết quả",
            "Trình kết quả giải quyết",
            "Trả lại bước trước",
            "Phê duyệt kết quả",
            "Ban hành kết quả",
            "Trả kết quả",
            "Đã trả kết quả",
        ] {
            assert!(page.contains(label), "{label}: {page}");
        }
        let (_, inbox, _) = citizen.get("/notifications").await;
        for title in [
            format!("Hồ sơ {code} đã được tiếp nhận"),
            format!("Thư xin lỗi và hẹn lại ngày trả kết quả hồ sơ {code}"),
            format!("Hồ sơ {code} đã có kết quả"),
            format!("Đã trả kết quả hồ sơ {code}"),
        ] {
            assert!(inbox.contains(&title), "{title}: {inbox}");
        }
        assert!(
            !inbox.contains("Phân công"),
            "internal steps are not sent to citizens"
        );
        let kinds = app.event_kinds(&id).await;
        assert_eq!(
            kinds,
            [
                "create",
                "submit",
                "receive",
                "assign",
                "apologise_and_reschedule",
                "propose",
                "send_back",
                "propose",
                "approve",
                "issue_result",
                "hand_over"
            ]
        );
        assert_eq!(app.store.verify_events().await.unwrap().1, None);

        // The control sheet Mẫu 05 (officials only) and the ledger Mẫu 06.
        assert_eq!(
            get_bytes(&citizen, &format!("/dossiers/{id}/control-sheet.pdf"))
                .await
                .0,
            404
        );
        let (status, _, sheet) =
            get_bytes(&leader, &format!("/dossiers/{id}/control-sheet.pdf")).await;
        assert_eq!(status, 200);
        if let Some(text) = pdftotext(&sheet) {
            assert!(
                text.contains("PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ"),
                "{text}"
            );
            assert!(text.contains(&code), "{text}");
            assert!(
                text.contains("Sở Xây dựng") && text.contains("Lý Văn Cường"),
                "{text}"
            );
            assert!(text.contains("Phê duyệt kết quả"), "{text}");
        }
        // The month is named: by default the ledger shows the current month in Vietnam's time,
        // which is the next one if the run straddles local midnight at a month's end.
        let (status, kind, csv) =
            get_bytes(&desk, &format!("/office/ledger?format=csv&from={month}")).await;
        assert_eq!((status, kind.as_str()), (200, "text/csv; charset=utf-8"));
        let csv = String::from_utf8(csv).unwrap();
        let line = csv
            .lines()
            .find(|l| l.contains(&code))
            .expect("ledger line");
        assert!(
            line.contains("Cấp mới chứng chỉ hành nghề hoạt động xây dựng"),
            "{line}"
        );
        assert!(line.contains("Trực tuyến"), "{line}");
        let (status, _, xlsx) = get_bytes(&leader, "/office/ledger?unit=so-xd&format=xlsx").await;
        assert_eq!((status, &xlsx[..2]), (200, &b"PK"[..]));
        assert_eq!(get_bytes(&desk, "/office/ledger?unit=so-xd").await.0, 404);
        assert_eq!(get_bytes(&desk, "/office/ledger?from=2026-13").await.0, 400);
        assert_eq!(get_bytes(&citizen, "/office/ledger").await.0, 403);
        assert_eq!(get_bytes(&citizen, "/office/work").await.0, 403);
    }
);

on_both_databases!(
    a_refusal_prints_mau_03_and_two_officers_acting_at_once_get_one_winner,
    |app: TestApp| async move {
        let citizen = Session::login(&app, "congdan", DEMO_PASSWORD).await;
        let desk = Session::login(&app, "tiepnhan", DEMO_PASSWORD).await;
        let (id, code) = submit_to(&app, &citizen, PROCEDURE).await;
        let (status, _, _) = act(
            &app,
            &desk,
            &id,
            "refuse",
            &[("reason", "Không thuộc thẩm quyền giải quyết của Sở")],
        )
        .await;
        assert_eq!(status, 303);
        let (status, _, pdf) = get_bytes(&citizen, &format!("/dossiers/{id}/refusal.pdf")).await;
        assert_eq!(status, 200);
        if let Some(text) = pdftotext(&pdf) {
            assert!(
                text.contains("PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ"),
                "{text}"
            );
            assert!(
                text.contains(&code) && text.contains("Không thuộc thẩm quyền giải quyết của Sở"),
                "{text}"
            );
        }

        // Two leaders' tabs: one approves while the other sends back, from the same version.
        let (id, _) = {
            let (id2, code2) = submit_to(&app, &citizen, PROCEDURE).await;
            let leader = Session::login(&app, "lanhdao", DEMO_PASSWORD).await;
            let specialist = Session::login(&app, "chuyenvien", DEMO_PASSWORD).await;
            let v = version(&app, &id2).await;
            desk.post(
                &format!("/office/dossiers/{id2}/receive"),
                &[("version", &v), ("time_limit", "10 ngày làm việc")],
            )
            .await;
            let sid = app
                .store
                .login_record("chuyenvien")
                .await
                .unwrap()
                .unwrap()
                .id;
            assert_eq!(
                act(&app, &leader, &id2, "assign", &[("assignee", &sid)])
                    .await
                    .0,
                303
            );
            assert_eq!(
                act(
                    &app,
                    &specialist,
                    &id2,
                    "propose",
                    &[("outcome", "reject"), ("reason", "Thiếu kinh nghiệm")]
                )
                .await
                .0,
                303
            );
            (id2, code2)
        };
        let tab_a = Session::login(&app, "lanhdao", DEMO_PASSWORD).await;
        let tab_b = Session::login(&app, "lanhdao", DEMO_PASSWORD).await;
        let v = version(&app, &id).await;
        let path = |a: &str| format!("/office/process/{id}/{a}");
        let (pa, pb) = (path("approve"), path("send_back"));
        let fields_a = [("version", v.as_str()), ("reason", "Đồng ý")];
        let fields_b = [("version", v.as_str()), ("reason", "Xem lại")];
        let (a, b) = tokio::join!(tab_a.post(&pa, &fields_a), tab_b.post(&pb, &fields_b));
        let locations = [a.2.unwrap_or_default(), b.2.unwrap_or_default()];
        let conflicts = locations
            .iter()
            .filter(|l| l.ends_with("notice=conflict"))
            .count();
        assert_eq!(conflicts, 1, "{locations:?}");
        let (_, page, _) = tab_a.get(&format!("/dossiers/{id}?notice=conflict")).await;
        assert!(
            page.contains("Hồ sơ vừa được người khác cập nhật"),
            "{page}"
        );
        let events = app.store.dossier_events(&id).await.unwrap();
        let last = events.last().unwrap().kind.as_str();
        assert!(last == "approve" || last == "send_back", "{last}");
        assert_eq!(
            events
                .iter()
                .filter(|e| e.kind.as_str() == "approve" || e.kind.as_str() == "send_back")
                .count(),
            1
        );
    }
);

/// A workflow with one optional step at Sở Tài chính, so that transfers and answers are possible.
pub(crate) fn workflow_with_consult() -> Workflow {
    let mut w = Workflow::default();
    w.steps[0].share_percent = 50;
    w.steps.insert(
        1,
        Step {
            name: "Lấy ý kiến Sở Tài chính".into(),
            kind: StepKind::Consult {
                agency: "so-tc".into(),
                mode: ConsultMode::Parallel,
                optional: true,
            },
            share_percent: 20,
        },
    );
    w
}

pub(crate) struct People {
    pub citizen: Account,
    pub reception: Account,
    pub specialist: Account,
    pub leader: Account,
    pub consulted: Account,
}

impl People {
    pub fn all(&self) -> [(&'static str, &Account); 5] {
        [
            ("citizen", &self.citizen),
            ("reception", &self.reception),
            ("specialist", &self.specialist),
            ("leader", &self.leader),
            ("consulted", &self.consulted),
        ]
    }
}

pub(crate) async fn account(store: &Store, username: &str) -> Account {
    let id = store.login_record(username).await.unwrap().unwrap().id;
    store.account(&id).await.unwrap().unwrap()
}

pub(crate) async fn people(store: &Store) -> People {
    store
        .create_official(
            "cv.taichinh",
            "Hà Thị Tài",
            "Đồng Đăng 2026 mới",
            &[(motcua_core::Role::Specialist, Some("so-tc".to_owned()))],
        )
        .await
        .unwrap();
    People {
        citizen: account(store, "congdan").await,
        reception: account(store, "tiepnhan").await,
        specialist: account(store, "chuyenvien").await,
        leader: account(store, "lanhdao").await,
        consulted: account(store, "cv.taichinh").await,
    }
}

pub(crate) struct Env<'a> {
    pub store: &'a Store,
    pub codes: CodeSettings,
    pub hours: motcua_core::calendar::deadline::OfficeHours,
    pub procedure_id: String,
    pub people: People,
    pub result_sha: String,
}

impl<'a> Env<'a> {
    /// Acting on dossiers of `procedure_id` with the province's codes and default office hours.
    pub fn new(store: &'a Store, procedure_id: String, people: People, result_sha: String) -> Self {
        Env {
            store,
            codes: CodeSettings {
                prefix: "000.00.00.H37".parse().unwrap(),
                width: 4,
            },
            hours: Default::default(),
            procedure_id,
            people,
            result_sha,
        }
    }

    /// Takes `action` as `who` with every input the action may need.
    pub async fn try_act(
        &self,
        id: &str,
        action: Action,
        who: &Account,
    ) -> Result<Status, ActError> {
        let d = self.store.dossier(id).await?.ok_or(ActError::NotFound)?;
        let pending = self.store.pending_agencies(id).await?;
        let caps = capacities(who, &d, &pending);
        // Without any capacity the account claims the one its role has; the store refuses it.
        let actor = actor_for(action, &caps).unwrap_or(match who.roles[0].0 {
            motcua_core::Role::Reception => Actor::Reception,
            motcua_core::Role::Leader => Actor::Leader,
            motcua_core::Role::Specialist if who.id == self.people.consulted.id => Actor::Consulted,
            motcua_core::Role::Specialist => Actor::Specialist,
            _ => Actor::Applicant,
        });
        let inputs = Inputs {
            note: "Lý do ghi rõ".to_owned(),
            items: vec!["Bản sao chứng chỉ đào tạo".to_owned()],
            time_limit: Some(motcua_core::calendar::deadline::TimeLimit::working_days(20)),
            assignee: Some(self.people.specialist.id.clone()),
            outcome: Some(Outcome::Grant),
            result: Some(ResultDoc {
                sha256: self.result_sha.clone(),
                size: 100,
                file_name: "ket-qua.pdf".to_owned(),
                kind: FileKind::Pdf,
            }),
            hand_over: Some(HandOverMethod::Counter),
            new_due: d.due_at.map(|t| t + time::Duration::days(10)),
            step: None,
        };
        let act = Act::new(id, Command::from_inputs(action, inputs)?, actor, who);
        self.store
            .act(act, &self.codes, &self.hours)
            .await
            .map(|d| d.status)
    }

    /// A fresh dossier brought to `target` by the usual path.
    pub async fn dossier_in(&self, target: Status) -> String {
        let p = &self.people;
        let form: BTreeMap<String, String> = [
            ("applicant_name", "Nguyễn Văn An"),
            ("applicant_phone", "0915000001"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let id = self
            .store
            .create_draft(&p.citizen, &self.procedure_id, &form)
            .await
            .unwrap();
        let path = path_to(target, p);
        for (action, who) in path {
            self.try_act(&id, action, who)
                .await
                .unwrap_or_else(|e| panic!("{action:?} on the way to {target:?}: {e}"));
        }
        assert_eq!(
            self.store.dossier(&id).await.unwrap().unwrap().status,
            target
        );
        id
    }
}

/// The usual actions, and by whom, that bring a new draft to `target`.
fn path_to(target: Status, p: &People) -> Vec<(Action, &Account)> {
    use Action::*;
    let before = |s: Status, step: (Action, &'static str)| {
        let mut v = path_to(s, p);
        let who = match step.1 {
            "citizen" => &p.citizen,
            "reception" => &p.reception,
            "leader" => &p.leader,
            _ => &p.specialist,
        };
        v.push((step.0, who));
        v
    };
    match target {
        Status::Draft => vec![],
        Status::Submitted => vec![(Submit, &p.citizen)],
        Status::Received => before(Status::Submitted, (Receive, "reception")),
        Status::InProgress => before(Status::Received, (Assign, "leader")),
        Status::Consulting => before(Status::InProgress, (Transfer, "specialist")),
        Status::AwaitingApproval => before(Status::InProgress, (Propose, "specialist")),
        Status::Approved => before(Status::AwaitingApproval, (Approve, "leader")),
        Status::Decided => before(Status::Approved, (IssueResult, "leader")),
        Status::HandedOver => before(Status::Decided, (HandOver, "reception")),
        Status::SupplementRequested => before(Status::Submitted, (RequestSupplement, "reception")),
        Status::Refused => before(Status::Submitted, (Refuse, "reception")),
        Status::Withdrawn => before(Status::Submitted, (Withdraw, "citizen")),
    }
}

/// The one-stop rules as a table, for a fresh dossier in `from` (assigned to the specialist once
/// past assignment, within every time window, the optional step at the other agency not sent).
fn allowed(from: Status, action: Action, role: &str) -> bool {
    use Action::*;
    use Status::*;
    let withdraw = matches!(role, "citizen" | "reception");
    match from {
        Draft => action == Submit && role == "citizen",
        Submitted => match action {
            Receive | RequestSupplement | Refuse => role == "reception",
            Withdraw => withdraw,
            _ => false,
        },
        Received => match action {
            RequestSupplement => role == "reception",
            Withdraw => withdraw,
            Assign | ApologiseAndReschedule => role == "leader",
            _ => false,
        },
        InProgress => match action {
            RequestSupplement | Transfer | SendBack | Propose => role == "specialist",
            Withdraw => withdraw,
            Assign => role == "leader",
            ApologiseAndReschedule => matches!(role, "leader" | "specialist"),
            _ => false,
        },
        Consulting => match action {
            Withdraw => withdraw,
            Assign => role == "leader",
            Answer => role == "consulted",
            ApologiseAndReschedule => matches!(role, "leader" | "specialist"),
            _ => false,
        },
        AwaitingApproval => match action {
            Withdraw => withdraw,
            SendBack | Approve => role == "leader",
            ApologiseAndReschedule => matches!(role, "leader" | "specialist"),
            _ => false,
        },
        Approved => match action {
            IssueResult | ApologiseAndReschedule => matches!(role, "leader" | "specialist"),
            _ => false,
        },
        Decided => action == HandOver && role == "reception",
        SupplementRequested => match action {
            Resubmit => role == "citizen",
            Withdraw => withdraw,
            _ => false,
        },
        HandedOver | Refused | Withdrawn => false,
    }
}

async fn every_state_action_and_role(db: crate::harness::Db) {
    let Some(data) = TestData::new(db).await else {
        return;
    };
    let store = Store::open_and_migrate(&data.store_config()).await.unwrap();
    store.seed_demo().await.unwrap();
    let p = store
        .procedure(PROCEDURE_CODE, "so-xd")
        .await
        .unwrap()
        .unwrap();
    let admin = account(&store, "quantricoquan").await;
    store
        .save_workflow(&p.id, &workflow_with_consult(), &admin)
        .await
        .unwrap();
    let (result_sha, _) = store.put_blob(b"%PDF-1.4 result".to_vec()).await.unwrap();
    let env = Env::new(&store, p.id.clone(), people(&store).await, result_sha);
    let mut successes = 0;
    for from in Status::ALL {
        // One dossier takes every refused combination: each must change nothing.
        let id = env.dossier_in(from).await;
        let before = store.dossier(&id).await.unwrap().unwrap();
        let events = store.dossier_events(&id).await.unwrap().len();
        for action in Action::ALL {
            for (role, who) in env.people.all() {
                if allowed(from, action, role) {
                    continue;
                }
                match env.try_act(&id, action, who).await {
                    Ok(to) => panic!("{from:?} {action:?} by {role} was allowed (→ {to:?})"),
                    Err(e) => {
                        let said = e
                            .message_vi()
                            .unwrap_or_else(|| panic!("{from:?} {action:?} {role}: {e}"));
                        assert!(!said.is_empty());
                        assert_ne!(e.code(), "store_failed");
                    }
                }
                let after = store.dossier(&id).await.unwrap().unwrap();
                assert_eq!(
                    after, before,
                    "{from:?} {action:?} by {role} changed the dossier"
                );
                assert_eq!(store.dossier_events(&id).await.unwrap().len(), events);
            }
        }
        // Each allowed combination on a fresh dossier in the same state.
        for action in Action::ALL {
            for (role, who) in env.people.all() {
                if !allowed(from, action, role) {
                    continue;
                }
                let id = env.dossier_in(from).await;
                let n = store.dossier_events(&id).await.unwrap().len();
                env.try_act(&id, action, who)
                    .await
                    .unwrap_or_else(|e| panic!("{from:?} {action:?} by {role} was refused: {e}"));
                let events = store.dossier_events(&id).await.unwrap();
                assert_eq!(events.len(), n + 1);
                assert_eq!(events.last().unwrap().kind.as_str(), action.as_str());
                successes += 1;
            }
        }
    }
    assert_eq!(successes, 40);

    // A supplement asked by the specialist: the completed dossier returns to them, and the clock
    // restarts from zero (Decree 61/2018 Art. 19(4)).
    let id = env.dossier_in(Status::InProgress).await;
    let before = store.dossier(&id).await.unwrap().unwrap();
    env.try_act(&id, Action::RequestSupplement, &env.people.specialist)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let to = env
        .try_act(&id, Action::Resubmit, &env.people.citizen)
        .await
        .unwrap();
    assert_eq!(to, Status::InProgress);
    let after = store.dossier(&id).await.unwrap().unwrap();
    assert_eq!(after.assignee_id, before.assignee_id);
    assert!(after.deadline.as_ref().unwrap().received > before.deadline.as_ref().unwrap().received);
    assert!(after.step_due_at.is_some());
    // A leader of another agency claiming to act as leader is refused by the store itself.
    store
        .create_official(
            "ld.khac",
            "Lãnh đạo cơ quan khác",
            "unused",
            &[(motcua_core::Role::Leader, Some("so-yt".to_owned()))],
        )
        .await
        .unwrap();
    let stranger = account(&store, "ld.khac").await;
    let waiting = env.dossier_in(Status::AwaitingApproval).await;
    let before_stranger = store.dossier(&waiting).await.unwrap().unwrap();
    let approve = Command::Approve {
        note: String::new(),
    };
    let act = Act::new(&waiting, approve, Actor::Leader, &stranger);
    let refused = store.act(act, &env.codes, &env.hours).await.unwrap_err();
    assert_eq!(refused.code(), "not_allowed", "{refused}");
    assert_eq!(
        store.dossier(&waiting).await.unwrap().unwrap(),
        before_stranger
    );
    assert_eq!(
        env.try_act(&id, Action::RequestSupplement, &env.people.specialist)
            .await
            .unwrap_err()
            .code(),
        "supplement_already_requested"
    );
    assert_eq!(store.verify_events().await.unwrap().1, None);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_state_action_and_role_sqlite() {
    every_state_action_and_role(crate::harness::Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_state_action_and_role_postgres() {
    every_state_action_and_role(crate::harness::Db::Postgres).await;
}

async fn audit_verify_names_a_changed_event(db: crate::harness::Db) {
    let Some(data) = TestData::new(db).await else {
        return;
    };
    let store = Store::open_and_migrate(&data.store_config()).await.unwrap();
    store.seed_demo().await.unwrap();
    let p = store
        .procedure(PROCEDURE_CODE, "so-xd")
        .await
        .unwrap()
        .unwrap();
    let (result_sha, _) = store.put_blob(b"%PDF-1.4 result".to_vec()).await.unwrap();
    let env = Env::new(&store, p.id.clone(), people(&store).await, result_sha);
    let id = env.dossier_in(Status::HandedOver).await;
    let code = store
        .dossier(&id)
        .await
        .unwrap()
        .unwrap()
        .life
        .code
        .unwrap();
    store.close().await;

    let (status, out, err) = crate::catalogue::cli(&["audit", "verify"], &data).await;
    assert_eq!(status, 0, "{out}{err}");
    assert!(out.contains("every chain intact"), "{out}");

    // Someone edits the approval's note in the database by hand.
    let sql = format!(
        "UPDATE dossier_events SET note = 'Đã sửa' WHERE dossier_id = '{id}' AND kind = 'approve'"
    );
    match &data.pg {
        Some(pg) => {
            let pool = sqlx::PgPool::connect(&pg.url).await.unwrap();
            assert_eq!(
                sqlx::query(&sql)
                    .execute(&pool)
                    .await
                    .unwrap()
                    .rows_affected(),
                1
            );
            pool.close().await;
        }
        None => {
            let url = format!(
                "sqlite://{}",
                data.dir.path().join("motcua.sqlite3").display()
            );
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            assert_eq!(
                sqlx::query(&sql)
                    .execute(&pool)
                    .await
                    .unwrap()
                    .rows_affected(),
                1
            );
            pool.close().await;
        }
    }
    let (status, out, err) = crate::catalogue::cli(&["audit", "verify"], &data).await;
    assert_eq!(status, 3, "{out}{err}");
    // create, submit, receive, assign, propose, approve: the approval is event #6.
    assert!(err.contains(&code), "{err}");
    assert!(err.contains("event #6"), "{err}");
    assert!(err.contains("changed after it was written"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_names_a_changed_event_sqlite() {
    audit_verify_names_a_changed_event(crate::harness::Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_names_a_changed_event_postgres() {
    audit_verify_names_a_changed_event(crate::harness::Db::Postgres).await;
}

async fn demo_dossiers_fill_the_back_office_queues(db: crate::harness::Db) {
    let Some((_data, store)) = crate::harness::demo_store(db).await else {
        return;
    };
    let settings = motcua_web::DossierSettings::default();
    let specialist = account(&store, "chuyenvien").await;
    let mine = store
        .work_queue(
            "so-xd",
            &[Status::InProgress],
            Some(&specialist.id),
            false,
            500,
        )
        .await
        .unwrap();
    assert!(
        !mine.is_empty(),
        "the demo specialist has dossiers to examine"
    );
    for status in [Status::AwaitingApproval, Status::Approved, Status::Received] {
        let any = store
            .work_queue("so-xd", &[status], None, false, 500)
            .await
            .unwrap();
        assert!(!any.is_empty(), "no demo dossier {status:?} at so-xd");
    }
    // Demo dossiers follow the same rules: the demo leader can approve a waiting one.
    let leader = account(&store, "lanhdao").await;
    let waiting = store
        .work_queue("so-xd", &[Status::AwaitingApproval], None, false, 1)
        .await
        .unwrap();
    let approve = Command::Approve {
        note: String::new(),
    };
    let act = Act::new(&waiting[0].id, approve, Actor::Leader, &leader);
    let d = store
        .act(act, &settings.codes, &settings.hours)
        .await
        .unwrap();
    assert_eq!(d.status, Status::Approved);
    let (checked, broken) = store.verify_events().await.unwrap();
    assert_eq!(broken, None);
    assert!(checked > 1000, "{checked}");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_dossiers_fill_the_back_office_queues_sqlite() {
    demo_dossiers_fill_the_back_office_queues(crate::harness::Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_dossiers_fill_the_back_office_queues_postgres() {
    demo_dossiers_fill_the_back_office_queues(crate::harness::Db::Postgres).await;
}

on_both_databases!(
    the_agency_admin_edits_a_workflow_and_other_agencies_answer_through_it,
    |app: TestApp| async move {
        let citizen = Session::login(&app, "congdan", DEMO_PASSWORD).await;
        let desk = Session::login(&app, "tiepnhan", DEMO_PASSWORD).await;
        let admin = Session::login(&app, "quantricoquan", DEMO_PASSWORD).await;
        let leader = Session::login(&app, "lanhdao", DEMO_PASSWORD).await;
        let specialist = Session::login(&app, "chuyenvien", DEMO_PASSWORD).await;
        let receive = |id: String| {
            let (app, desk) = (&app, &desk);
            async move {
                receive(app, desk, &id).await;
            }
        };
        // A dossier received under the default workflow keeps it.
        let (before, _) = submit_to(&app, &citizen, PROCEDURE).await;
        receive(before.clone()).await;

        let path = format!("/admin/procedures/so-xd/{PROCEDURE_CODE}/workflow");
        let (status, page, _) = admin.get(&path).await;
        assert_eq!(status, 200);
        assert!(page.contains("Thẩm định hồ sơ"), "{page}");
        // Shares that do not add up are refused, with the reason, and nothing is saved.
        let bad = [
            ("step_0_name", "Thẩm định"),
            ("step_0_kind", "examine"),
            ("step_0_share", "60"),
            ("step_1_name", "Phê duyệt"),
            ("step_1_kind", "approve"),
            ("step_1_share", "30"),
        ];
        let (status, page, _) = admin.post(&path, &bad).await;
        assert_eq!(status, 422);
        assert!(
            page.contains("Tổng tỷ lệ thời gian các bước là 90%, phải bằng 100%."),
            "{page}"
        );
        let p = app
            .store
            .procedure(PROCEDURE_CODE, "so-xd")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(app.store.workflow(&p.id).await.unwrap().version, 0);
        let good = [
            ("step_0_name", "Thẩm định hồ sơ"),
            ("step_0_kind", "examine"),
            ("step_0_share", "50"),
            ("step_1_name", "Lấy ý kiến Sở Tài chính"),
            ("step_1_kind", "consult"),
            ("step_1_agency", "so-tc"),
            ("step_1_parallel", "on"),
            ("step_1_share", "20"),
            ("step_2_name", "Phê duyệt"),
            ("step_2_kind", "approve"),
            ("step_2_share", "30"),
        ];
        let (status, _, location) = admin.post(&path, &good).await;
        assert_eq!(status, 303);
        assert_eq!(location.unwrap(), format!("{path}?saved=1"));
        assert_eq!(app.store.workflow(&p.id).await.unwrap().version, 1);
        // Another agency's procedure does not exist for this admin.
        assert_eq!(
            admin
                .get("/admin/procedures/ubnd-xa/2.000908/workflow")
                .await
                .0,
            404
        );
        assert_eq!(
            app.store.dossier(&before).await.unwrap().unwrap().workflow,
            Some(Workflow::default())
        );

        // A dossier received now follows version 1: the mandatory step at Sở Tài chính must
        // answer before the specialist may propose.
        let (id, code) = submit_to(&app, &citizen, PROCEDURE).await;
        receive(id.clone()).await;
        let d = app.store.dossier(&id).await.unwrap().unwrap();
        assert_eq!(d.workflow_version, 1);
        let sid = app
            .store
            .login_record("chuyenvien")
            .await
            .unwrap()
            .unwrap()
            .id;
        assert_eq!(
            act(&app, &leader, &id, "assign", &[("assignee", &sid)])
                .await
                .0,
            303
        );
        let (status, body, _) =
            act(&app, &specialist, &id, "propose", &[("outcome", "grant")]).await;
        assert_eq!(status, 422);
        assert!(
            body.contains("Chưa có ý kiến của cơ quan phối hợp bắt buộc"),
            "{body}"
        );
        app.store
            .create_official(
                "cv.taichinh",
                "Hà Thị Tài",
                &motcua_store::password::hash("Đồng Đăng 2026 mới").unwrap(),
                &[(motcua_core::Role::Specialist, Some("so-tc".to_owned()))],
            )
            .await
            .unwrap();
        let other = Session::login(&app, "cv.taichinh", "Đồng Đăng 2026 mới").await;
        assert_eq!(other.get(&format!("/dossiers/{id}")).await.0, 404);
        let (status, body, _) = act(&app, &specialist, &id, "transfer", &[("step", "2")]).await;
        assert_eq!(status, 303, "{body}");
        assert_eq!(
            app.store.dossier(&id).await.unwrap().unwrap().status,
            Status::Consulting
        );

        // An officer of Sở Tài chính sees it only now, and answers.
        let (_, queue, _) = other.get("/office/work?tab=consult").await;
        assert!(queue.contains(&code), "{queue}");
        let (status, page, _) = other.get(&format!("/dossiers/{id}")).await;
        assert_eq!(status, 200);
        assert!(page.contains("Ý kiến của cơ quan phối hợp"), "{page}");
        let (status, _, _) = act(
            &app,
            &other,
            &id,
            "answer",
            &[("reason", "Thống nhất, không có ý kiến khác")],
        )
        .await;
        assert_eq!(status, 303);
        assert_eq!(
            app.store.dossier(&id).await.unwrap().unwrap().status,
            Status::InProgress
        );
        let consults = app.store.consultations(&id).await.unwrap();
        assert_eq!(consults.len(), 1);
        assert_eq!(consults[0].answer, "Thống nhất, không có ý kiến khác");
        // The answer is in; the proposal goes through. The other agency cannot approve.
        assert_eq!(
            act(&app, &specialist, &id, "propose", &[("outcome", "grant")])
                .await
                .0,
            303
        );
        assert_ne!(act(&app, &other, &id, "approve", &[]).await.0, 303);
        let events = app.store.dossier_events(&id).await.unwrap();
        let answer = events.iter().find(|e| e.kind.as_str() == "answer").unwrap();
        assert_eq!(answer.agency_code, "so-tc");

        // The leader approves and uploads the signed result: a renamed executable is refused by
        // its content, a PDF is issued under its name.
        assert_eq!(act(&app, &leader, &id, "approve", &[]).await.0, 303);
        let upload = |name: &'static str, bytes: Vec<u8>| {
            let (app, leader, id) = (&app, &leader, id.clone());
            async move {
                let token = leader.csrf().await;
                let v = version(app, &id).await;
                let r = leader
                    .client
                    .post(format!(
                        "{}/office/process/{id}/result?csrf={token}",
                        app.base
                    ))
                    .multipart(reqwest::multipart::Form::new().text("version", v).part(
                        "result",
                        reqwest::multipart::Part::bytes(bytes).file_name(name),
                    ))
                    .send()
                    .await
                    .unwrap();
                (r.status().as_u16(), r.text().await.unwrap())
            }
        };
        let (status, body) = upload("ket-qua.pdf", b"MZ\x90\x00 not a pdf".to_vec()).await;
        assert_eq!(status, 422);
        assert!(body.contains("không phải PDF, JPEG hoặc PNG"), "{body}");
        assert_eq!(
            app.store.dossier(&id).await.unwrap().unwrap().status,
            Status::Approved
        );
        let (status, body) = upload("chung-chi-da-ky.pdf", crate::dossiers::pdf(5000)).await;
        assert_eq!(status, 303, "{body}");
        let d = app.store.dossier(&id).await.unwrap().unwrap();
        assert_eq!(d.status, Status::Decided);
        assert_eq!(d.result_file_name.as_deref(), Some("chung-chi-da-ky.pdf"));
        let (status, kind, bytes) = get_bytes(&leader, &format!("/dossiers/{id}/result")).await;
        assert_eq!(
            (status, kind.as_str(), bytes.len()),
            (200, "application/pdf", 5000)
        );
    }
);
