//! `motcua calendar …` as an operator uses it.

use crate::harness::{Db, TestData};

pub async fn motcua(args: &[&str], extra: &[String]) -> (i32, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_motcua"))
        .args(args)
        .args(extra)
        .env_remove("MOTCUA_CONFIG")
        .current_dir(std::env::temp_dir())
        .output()
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn holidays_2026_are_the_official_ones() {
    let empty = tempfile::tempdir().unwrap();
    let dir = vec![
        "--data-dir".to_owned(),
        empty.path().join("none").display().to_string(),
    ];
    let (code, out, err) = motcua(&["calendar", "holidays", "2026"], &dir).await;
    assert_eq!(code, 0, "{err}");
    let expected = "2026-01-01\tTết Dương lịch\n\
        2026-02-16\tTết Nguyên đán\n2026-02-17\tTết Nguyên đán\n2026-02-18\tTết Nguyên đán\n\
        2026-02-19\tTết Nguyên đán\n2026-02-20\tTết Nguyên đán\n\
        2026-04-26\tGiỗ Tổ Hùng Vương\n2026-04-27\tNghỉ bù Giỗ Tổ Hùng Vương\n\
        2026-04-30\tNgày Chiến thắng\n2026-05-01\tNgày Quốc tế Lao động\n\
        2026-08-31\tNghỉ hoán đổi (làm bù thứ Bảy 22/8/2026)\n\
        2026-09-01\tQuốc khánh\n2026-09-02\tQuốc khánh\n";
    assert_eq!(out, expected);
    assert!(
        !empty.path().join("none").exists(),
        "reading the calendar creates no data dir"
    );
}

#[tokio::test]
async fn conversions_and_due_moments_print_as_documented() {
    let none = tempfile::tempdir().unwrap();
    let dir = vec![
        "--data-dir".to_owned(),
        none.path().join("x").display().to_string(),
    ];
    assert_eq!(
        motcua(&["calendar", "due", "2027-02-03T09:00", "5d"], &dir)
            .await
            .1,
        "2027-02-17T17:00+07:00\n"
    );
    assert_eq!(
        motcua(&["calendar", "lunar", "2025-07-25"], &[]).await.1,
        "1/6/2025 (nhuận)\n"
    );
    assert_eq!(
        motcua(&["calendar", "lunar", "2030-02-02"], &[]).await.1,
        "1/1/2030\n"
    );
    assert_eq!(
        motcua(&["calendar", "solar", "1/6/2025L"], &[]).await.1,
        "2025-07-25\n"
    );
    assert_eq!(
        motcua(&["calendar", "solar", "10/3/2026"], &[]).await.1,
        "2026-04-26\n"
    );
}

#[tokio::test]
async fn impossible_input_is_refused_with_one_line() {
    for (args, words) in [
        (vec!["calendar", "solar", "30/12/2024"], "has 29 days"),
        (vec!["calendar", "solar", "1/4/2026L"], "no leap month 4"),
        (vec!["calendar", "solar", "hôm qua"], "not a lunar date"),
        (vec!["calendar", "lunar", "2025-02-30"], "not a date"),
        (
            vec!["calendar", "due", "2027-02-03T09:00", "5 ngày"],
            "duration:",
        ),
        (vec!["calendar", "due", "tomorrow", "5d"], "start:"),
        (vec!["calendar", "holidays", "1990"], "year:"),
    ] {
        let (code, out, err) = motcua(&args, &[]).await;
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty());
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(words), "{args:?}: {err}");
    }
}

async fn a_stored_schedule_changes_due_moments(db: Db) {
    let Some(data) = TestData::new(db).await else {
        return;
    };
    let args = data.args();
    // 5 working days from Mon 1/3/2027: due Mon 8/3.
    let (_, before, _) = motcua(&["calendar", "due", "2027-03-01T09:00", "5d"], &args).await;
    assert_eq!(before, "2027-03-08T17:00+07:00\n");
    let file = data.dir.path().join("2027.json");
    std::fs::write(
        &file,
        r#"{"year": 2027, "source": "Thông báo thử nghiệm",
            "overrides": [{"rule": "tet", "days": ["2027-02-05","2027-02-08","2027-02-09","2027-02-10","2027-02-11"]}],
            "days_off": [{"date": "2027-03-03", "name": "Nghỉ đột xuất"}], "working_days": []}"#,
    )
    .unwrap();
    let (code, out, err) = motcua(
        &[
            "calendar",
            "set-schedule",
            file.to_str().unwrap(),
            "--by",
            "quantri",
        ],
        &args,
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "schedule 2027 stored as version 1\n0 open dossier(s) got a new due moment\n"
    );
    let (_, after, _) = motcua(&["calendar", "due", "2027-03-01T09:00", "5d"], &args).await;
    assert_eq!(
        after, "2027-03-09T17:00+07:00\n",
        "the new day off moves the deadline"
    );
    let (_, holidays, _) = motcua(&["calendar", "holidays", "2027"], &args).await;
    assert!(
        holidays.contains("2027-03-03\tNghỉ đột xuất\n"),
        "{holidays}"
    );

    // A second version replaces the first; both stay in the history.
    std::fs::write(&file, r#"{"year": 2027, "source": "Thông báo sửa đổi"}"#).unwrap();
    let (_, out, _) = motcua(
        &[
            "calendar",
            "set-schedule",
            file.to_str().unwrap(),
            "--by",
            "quantri",
        ],
        &args,
    )
    .await;
    assert_eq!(
        out,
        "schedule 2027 stored as version 2\n0 open dossier(s) got a new due moment\n"
    );
    assert_eq!(
        motcua(&["calendar", "due", "2027-03-01T09:00", "5d"], &args)
            .await
            .1,
        before
    );
    let (_, history, _) = motcua(&["calendar", "schedules"], &args).await;
    assert_eq!(history.lines().count(), 2, "{history}");
    assert!(
        history.contains("\tv1\t") && history.contains("\tv2\t") && history.contains("quantri")
    );

    // A schedule naming a day of another year is refused and nothing is stored.
    std::fs::write(
        &file,
        r#"{"year": 2027, "source": "sai", "days_off": [{"date": "2028-01-03", "name": "x"}]}"#,
    )
    .unwrap();
    let (code, _, err) = motcua(
        &[
            "calendar",
            "set-schedule",
            file.to_str().unwrap(),
            "--by",
            "quantri",
        ],
        &args,
    )
    .await;
    assert_eq!(code, 2);
    assert!(err.contains("2028-01-03 is not in 2027"), "{err}");
    assert_eq!(
        motcua(&["calendar", "schedules"], &args)
            .await
            .1
            .lines()
            .count(),
        2
    );
}

#[tokio::test]
async fn a_stored_schedule_changes_due_moments_sqlite() {
    a_stored_schedule_changes_due_moments(Db::Sqlite).await;
}

#[tokio::test]
async fn a_stored_schedule_changes_due_moments_postgres() {
    a_stored_schedule_changes_due_moments(Db::Postgres).await;
}

crate::on_both_databases!(
    a_system_admin_enters_a_schedule_on_the_web,
    |app: crate::harness::TestApp| async move {
        use crate::harness::Session;
        let s = Session::login(&app, "quantri", motcua_store::demo::DEMO_PASSWORD).await;
        let (status, html, _) = s.get("/admin/calendar?year=2026").await;
        assert_eq!(status, 200);
        assert!(
            html.contains("<td>2026-04-27</td><td>Nghỉ bù Giỗ Tổ Hùng Vương</td>"),
            "{html}"
        );
        let bad = [
            ("year", "2027"),
            ("source", "Thông báo thử"),
            ("days_off", "03/03/2027 | Nghỉ"),
        ];
        let (status, html, _) = s.post("/admin/calendar", &bad).await;
        assert_eq!(status, 422);
        assert!(html.contains("không phải ngày dạng YYYY-MM-DD"), "{html}");
        let wrong_year = [
            ("year", "2027"),
            ("source", "Thông báo thử"),
            ("days_off", "2028-01-03 | Nghỉ"),
        ];
        let (status, html, _) = s.post("/admin/calendar", &wrong_year).await;
        assert_eq!(status, 422);
        assert!(html.contains("2028-01-03 is not in 2027"), "{html}");
        assert!(
            app.store
                .holiday_schedule_history()
                .await
                .unwrap()
                .is_empty(),
            "nothing stored"
        );
        let good = [
            ("year", "2027"),
            ("source", "Thông báo thử nghiệm"),
            (
                "overrides",
                "tet | 2027-02-04, 2027-02-05, 2027-02-08, 2027-02-09, 2027-02-10",
            ),
            ("days_off", "2027-03-03 | Nghỉ đột xuất"),
            ("working_days", "2027-02-20 | Làm bù"),
        ];
        let (status, _, location) = s.post("/admin/calendar", &good).await;
        assert_eq!(
            (status, location.as_deref()),
            (303, Some("/admin/calendar?year=2027&saved=1"))
        );
        let calendar = app.store.holiday_calendar().await.unwrap();
        assert!(!calendar.is_working_day(time::macros::date!(2027 - 03 - 03)));
        assert!(
            calendar.is_working_day(time::macros::date!(2027 - 02 - 20)),
            "a make-up Saturday"
        );
        assert!(
            calendar.is_working_day(time::macros::date!(2027 - 02 - 11)),
            "the notice moved Tết"
        );
        let history = app.store.holiday_schedule_history().await.unwrap();
        assert_eq!(
            (history.len(), history[0].entered_by.as_str()),
            (1, "quantri")
        );
        assert_eq!(
            app.store
                .security_events(Some("calendar_schedule"), None, 5)
                .await
                .unwrap()
                .len(),
            1
        );
    }
);
