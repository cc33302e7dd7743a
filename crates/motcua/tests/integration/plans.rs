//! The communication plan through the real HTTP stack, on both databases: agencies file progress
//! reports, bad reports change nothing, the monitor sees progress and downloads the report.

use crate::dossiers::{pdf, post_files};
use crate::harness::{Session, TestApp};
use crate::on_both_databases;
use motcua_store::demo::DEMO_PASSWORD;

/// Adds a reporter at the provincial radio and television station (lead of task 2.1).
pub async fn radio_official(app: &TestApp) -> Session {
    let hash = motcua_store::password::hash(DEMO_PASSWORD).unwrap();
    app.store
        .create_official(
            "dai-ptth",
            "Lộc Văn Sơn",
            &hash,
            &[(motcua_core::Role::Specialist, Some("dai-ptth".into()))],
        )
        .await
        .unwrap();
    Session::login(app, "dai-ptth", DEMO_PASSWORD).await
}

pub async fn plan_id(app: &TestApp) -> String {
    app.store.plans().await.unwrap()[0].id.clone()
}

on_both_databases!(
    agencies_report_progress_and_bad_reports_change_nothing,
    |app: TestApp| async move {
        let plan = plan_id(&app).await;
        let radio = radio_official(&app).await;
        let task = format!("/plans/{plan}/tasks/2.1");
        let (status, page, _) = radio.get(&task).await;
        assert_eq!(status, 200);
        assert!(
            page.contains("Mỗi tháng") || page.contains("phóng sự"),
            "{page}"
        );
        assert!(page.contains("Báo cáo tiến độ của Đài Phát thanh và Truyền hình tỉnh Lạng Sơn"));
        let report = |month: &'static str, quantity: &'static str| {
            vec![
                ("month", month),
                ("target", "reportage"),
                ("quantity", quantity),
                ("done", "Phóng sự \"Nộp hồ sơ không cần đến cơ quan\""),
                ("cost_vnd", "4.500.000"),
                ("evidence_url", "https://langsontv.vn/phong-su-dvctt"),
            ]
        };
        let (status, _, location) = post_files(
            &radio,
            &format!("{task}/reports"),
            &report("2019-03", "1"),
            &[("evidence", "kich-ban.pdf", pdf(1200))],
        )
        .await;
        assert_eq!(
            (status, location.as_deref()),
            (303, Some(format!("{task}?notice=reported").as_str()))
        );
        let stored = app.store.progress_reports(&plan).await.unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(
            (
                stored[0].quantity,
                stored[0].cost_vnd,
                stored[0].evidence_name.as_deref()
            ),
            (1, 4_500_000, Some("kich-ban.pdf"))
        );

        // Refused with a clear message, nothing stored: another agency's task, a negative
        // quantity, a month before the task began.
        for (path, fields, message) in [
            (
                format!("/plans/{plan}/tasks/2.3/reports"),
                report("2018-11", "1"),
                "không chủ trì hoặc phối hợp",
            ),
            (
                format!("{task}/reports"),
                report("2019-04", "-2"),
                "Số lượng không được âm.",
            ),
            (
                format!("{task}/reports"),
                report("2018-09", "1"),
                "nằm ngoài thời gian thực hiện",
            ),
        ] {
            let (status, page, _) = post_files(&radio, &path, &fields, &[]).await;
            assert_eq!(status, 422, "{path}");
            assert!(page.contains(message), "{message}: {page}");
        }
        assert_eq!(app.store.progress_reports(&plan).await.unwrap().len(), 1);

        // The merged department reports for its predecessor's task (Sở TT&TT → Sở KH&CN).
        let monitor = Session::login(&app, "theodoikehoach", DEMO_PASSWORD).await;
        let (status, page, _) = monitor.get(&format!("/plans/{plan}/tasks/2.2")).await;
        assert_eq!(status, 200);
        assert!(
            page.contains("Sở Thông tin và Truyền thông (nay: Sở Khoa học và Công nghệ)"),
            "{page}"
        );
        let clip = vec![
            ("month", "2018-11"),
            ("target", "clip"),
            ("quantity", "1"),
            ("done", "Video clip hướng dẫn sử dụng DVCTT"),
        ];
        let (status, _, _) = post_files(
            &monitor,
            &format!("/plans/{plan}/tasks/2.2/reports"),
            &clip,
            &[],
        )
        .await;
        assert_eq!(status, 303);
        // The dashboard and the consolidated report show it.
        let (_, dash, _) = monitor.get(&format!("/plans/{plan}?as_of=2019-04")).await;
        assert!(dash.contains("1/6 phóng sự"), "{dash}");
        assert!(dash.contains("1/1 video clip (100 %)"), "{dash}");
        let r = monitor
            .client
            .get(format!("{}/plans/{plan}/report.pdf", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/pdf");
        let bytes = r.bytes().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("r.pdf"), &bytes).unwrap();
        match std::process::Command::new("pdftotext")
            .arg(dir.path().join("r.pdf"))
            .arg("-")
            .output()
        {
            Ok(out) => {
                let text = String::from_utf8(out.stdout).unwrap();
                assert!(
                    text.contains("BÁO CÁO") && text.contains("147/KH-UBND"),
                    "{text}"
                );
                assert!(
                    text.contains("Video clip hướng dẫn sử dụng DVCTT"),
                    "{text}"
                );
            }
            Err(e) => crate::harness::skip("PDF text check", &format!("pdftotext: {e}")),
        }
        // And as a workbook.
        let r = monitor
            .client
            .get(format!("{}/plans/{plan}/report.xlsx", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let xlsx = r.bytes().await.unwrap();
        assert_eq!(&xlsx[..2], b"PK", "an XLSX is a zip archive");
        // Only the monitor downloads the consolidated report.
        assert_eq!(radio.get(&format!("/plans/{plan}/report.pdf")).await.0, 403);
    }
);

on_both_databases!(
    difficulties_are_answered_and_budgets_go_through_approval,
    |app: TestApp| async move {
        let plan = plan_id(&app).await;
        let radio = radio_official(&app).await;
        let monitor = Session::login(&app, "theodoikehoach", DEMO_PASSWORD).await;
        let task = format!("/plans/{plan}/tasks/2.1");
        // A difficulty goes to the monitor and comes back answered.
        let (status, _, _) = radio
            .post(
                &format!("{task}/difficulties"),
                &[("text", "Thiếu thiết bị quay phim 4K")],
            )
            .await;
        assert_eq!(status, 303);
        let d = app.store.difficulties(&plan).await.unwrap();
        assert_eq!((d.len(), d[0].response.is_none()), (1, true));
        let (_, dash, _) = monitor.get(&format!("/plans/{plan}")).await;
        assert!(dash.contains("Thiếu thiết bị quay phim 4K"));
        let respond = format!("/plans/{plan}/difficulties/{}/respond", d[0].id);
        let (status, _, location) = monitor
            .post(&respond, &[("text", "Sở KH&CN hỗ trợ thiết bị trong quý")])
            .await;
        assert_eq!(
            (status, location.unwrap().contains("notice=answered")),
            (303, true)
        );
        let (_, _, location) = monitor.post(&respond, &[("text", "lần hai")]).await;
        assert!(
            location.unwrap().contains("already_answered"),
            "an answer is given once"
        );
        assert_eq!(
            app.store.difficulties(&plan).await.unwrap()[0]
                .response
                .as_deref(),
            Some("Sở KH&CN hỗ trợ thiết bị trong quý")
        );
        // Only the monitor answers.
        assert_eq!(radio.post(&respond, &[("text", "x")]).await.0, 403);

        // A budget: bad amount refused; drafted and submitted; returned needs a reason; approved.
        let (status, page, _) = radio
            .post(
                &format!("{task}/budgets"),
                &[("year", "2019"), ("amount_vnd", "-5"), ("intent", "submit")],
            )
            .await;
        assert_eq!(status, 422);
        assert!(page.contains("Số tiền dự toán phải là số nguyên dương"));
        assert!(app.store.estimates(&plan).await.unwrap().is_empty());
        let (status, _, _) = radio
            .post(
                &format!("{task}/budgets"),
                &[
                    ("year", "2019"),
                    ("amount_vnd", "60.000.000"),
                    ("funding", "province"),
                    ("note", "12 phóng sự"),
                    ("intent", "submit"),
                ],
            )
            .await;
        assert_eq!(status, 303);
        let b = app.store.estimates(&plan).await.unwrap().remove(0);
        assert_eq!((b.status.as_str(), b.amount_vnd), ("submitted", 60_000_000));
        let decide = format!("/plans/{plan}/budgets/{}/decide", b.id);
        let (_, _, location) = monitor.post(&decide, &[("decision", "return")]).await;
        assert!(location.unwrap().contains("return_needs_reason"));
        assert_eq!(radio.post(&decide, &[("decision", "approve")]).await.0, 403);
        monitor
            .post(
                &decide,
                &[
                    ("decision", "return"),
                    ("note", "Tách chi phí thuê thiết bị"),
                ],
            )
            .await;
        assert_eq!(
            app.store.estimates(&plan).await.unwrap()[0].status,
            "returned"
        );
        let (status, _, _) = radio
            .post(&format!("/plans/{plan}/budgets/{}/submit", b.id), &[])
            .await;
        assert_eq!(status, 303);
        monitor.post(&decide, &[("decision", "approve")]).await;
        assert_eq!(
            app.store.estimates(&plan).await.unwrap()[0].status,
            "approved"
        );
        let (_, dash, _) = monitor.get(&format!("/plans/{plan}")).await;
        assert!(
            dash.contains("Ngân sách tỉnh: đã duyệt 60.000.000 đồng"),
            "{dash}"
        );
    }
);

on_both_databases!(
    agencies_are_reminded_once_before_a_period_closes,
    |app: TestApp| async move {
        let plan = plan_id(&app).await;
        let radio = radio_official(&app).await;
        let radio_id = app
            .store
            .login_record("dai-ptth")
            .await
            .unwrap()
            .unwrap()
            .id;
        let march_27 = time::macros::date!(2019 - 03 - 27);
        let n = app.store.send_plan_reminders(march_27).await.unwrap();
        assert!(n >= 1);
        let mine = app.store.notifications(&radio_id).await.unwrap();
        assert!(
            mine.iter()
                .any(|m| m.title == "Sắp hết kỳ báo cáo nhiệm vụ 2.1 (3/2019)"),
            "{mine:?}"
        );
        // Running again writes nothing new.
        assert_eq!(app.store.send_plan_reminders(march_27).await.unwrap(), 0);
        // Once March is reported, the next day brings no reminder for it.
        let fields = [
            ("month", "2019-03"),
            ("target", "reportage"),
            ("quantity", "1"),
            ("done", "Phóng sự tháng 3"),
        ];
        let (status, _, _) = post_files(
            &radio,
            &format!("/plans/{plan}/tasks/2.1/reports"),
            &fields,
            &[],
        )
        .await;
        assert_eq!(status, 303);
        let before = app.store.notifications(&radio_id).await.unwrap().len();
        app.store
            .send_plan_reminders(time::macros::date!(2019 - 03 - 28))
            .await
            .unwrap();
        let after = app.store.notifications(&radio_id).await.unwrap();
        assert_eq!(after.len(), before, "{after:?}");
        // The official sees the reminder in the app.
        let (_, page, _) = radio.get("/notifications").await;
        assert!(page.contains("Sắp hết kỳ báo cáo nhiệm vụ 2.1"));
    }
);

async fn plans_round_trip_through_json_files(db: crate::harness::Db) {
    let Some(data) = crate::harness::TestData::new(db).await else {
        return;
    };
    {
        let store = motcua_store::Store::open_and_migrate(&data.store_config())
            .await
            .unwrap();
        store.seed_demo().await.unwrap();
        store.close().await;
    }
    let args = data.args();
    let motcua = crate::calendar_cli::motcua;
    let (code, out, err) = motcua(&["plans", "export", "147/KH-UBND"], &args).await;
    assert_eq!(code, 0, "{err}");
    let mut plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(plan["tasks"].as_array().unwrap().len(), 6);
    // A task with an unknown agency and an empty title: both named, nothing stored.
    plan["tasks"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "code": "5", "title": "", "lead_agencies": ["so-khong-co"], "start": "2027-01",
            "period_text": "Năm 2027", "recurrence": "yearly", "funding": "province"
        }));
    let file = data.dir.path().join("plan.json");
    std::fs::write(&file, plan.to_string()).unwrap();
    let (code, _, err) = motcua(&["plans", "import", file.to_str().unwrap()], &args).await;
    assert_ne!(code, 0);
    assert!(err.contains("task 5: the task has no title"), "{err}");
    assert!(
        err.contains("task 5: agency 'so-khong-co' is unknown"),
        "{err}"
    );
    assert!(err.contains("nothing was stored"), "{err}");
    let (_, unchanged, _) = motcua(&["plans", "export", "147/KH-UBND"], &args).await;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&unchanged).unwrap()["tasks"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
    // Corrected, it is stored.
    let task = &mut plan["tasks"][6];
    task["title"] = "Tuyên truyền trên Zalo OA của tỉnh".into();
    task["lead_agencies"] = serde_json::json!(["so-khcn"]);
    std::fs::write(&file, plan.to_string()).unwrap();
    let (code, _, err) = motcua(&["plans", "import", file.to_str().unwrap()], &args).await;
    assert_eq!(code, 0, "{err}");
    let (_, after, _) = motcua(&["plans", "export", "147/KH-UBND"], &args).await;
    assert!(after.contains("Tuyên truyền trên Zalo OA của tỉnh"));
}

#[tokio::test]
async fn plans_round_trip_through_json_files_sqlite() {
    plans_round_trip_through_json_files(crate::harness::Db::Sqlite).await;
}

#[tokio::test]
async fn plans_round_trip_through_json_files_postgres() {
    plans_round_trip_through_json_files(crate::harness::Db::Postgres).await;
}

on_both_databases!(
    the_monitor_edits_a_task_and_bad_edits_change_nothing,
    |app: TestApp| async move {
        let plan = plan_id(&app).await;
        let monitor = Session::login(&app, "theodoikehoach", DEMO_PASSWORD).await;
        let edit = format!("/plans/{plan}/tasks/2.1/edit");
        let (status, page, _) = monitor.get(&edit).await;
        assert_eq!(status, 200);
        assert!(
            page.contains("reportage | 1 | phóng sự | monthly"),
            "{page}"
        );
        let base = [
            ("title", "Xây dựng phóng sự tuyên truyền về DVCTT"),
            ("lead", "dai-ptth"),
            ("coord", "so-tttt"),
            ("start", "2018-10"),
            ("period_text", "Quý IV/2018 và những năm tiếp theo"),
            ("recurrence", "monthly"),
            ("funding", "province"),
        ];
        // An end before the start and a broken target line: both named, nothing stored.
        let mut bad = base.to_vec();
        bad.push(("end", "2017-01"));
        bad.push(("targets", "reportage | một | phóng sự | monthly"));
        let (status, page, _) = monitor.post(&edit, &bad).await;
        assert_eq!(status, 422);
        assert!(page.contains("Chỉ tiêu dòng 1"), "{page}");
        let stored = app.store.plan(&plan).await.unwrap().unwrap().plan;
        assert_eq!(stored.task("2.1").unwrap().targets[0].quantity, 1);
        // Two reportages a month from now on.
        let mut good = base.to_vec();
        good.push((
            "targets",
            "reportage | 2 | phóng sự | monthly |  |  | thời lượng từ 03 - 05 phút",
        ));
        let (status, _, location) = monitor.post(&edit, &good).await;
        assert_eq!(
            (status, location.unwrap().contains("notice=edited")),
            (303, true)
        );
        let stored = app.store.plan(&plan).await.unwrap().unwrap().plan;
        let task = stored.task("2.1").unwrap();
        assert_eq!(
            (task.targets[0].quantity, task.title.as_str()),
            (2, "Xây dựng phóng sự tuyên truyền về DVCTT")
        );
        // Agencies may report but not edit.
        let radio = radio_official(&app).await;
        assert_eq!(radio.post(&edit, &good).await.0, 403);
        // The whole plan downloads as JSON.
        let (status, json, _) = monitor.get(&format!("/plans/{plan}/plan.json")).await;
        assert_eq!(status, 200);
        assert!(serde_json::from_str::<serde_json::Value>(&json).unwrap()["tasks"].is_array());
    }
);
