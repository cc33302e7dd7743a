//! The procedure catalogue through the store, the HTTP API, the portal and the CLI.

use crate::harness::TestApp;
use crate::on_both_databases;
use motcua_store::catalogue::{FileFormat, ImportError, ImportSummary};
use motcua_store::demo::{PROCEDURES_CSV, PUBLISHED_CSV};

fn names(json: &serde_json::Value) -> Vec<String> {
    json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn api(app: &TestApp, query: &str) -> serde_json::Value {
    let r = app
        .client
        .get(app.url("/api/v1/procedures"))
        .query(&[("q", query)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

const HEADER: &str = "code,name,field,levels,agency_code,time_amount,time_unit,time_text,fees,fee_text,online_mode,proactive_level,applicants,result,legal_basis,steps,required_documents,form\n";

async fn import(
    app: &TestApp,
    bytes: &[u8],
    format: FileFormat,
) -> Result<ImportSummary, ImportError> {
    app.store
        .import_procedures(bytes, format, "test", false, &|_, _| {})
        .await
}

on_both_databases!(
    birth_registration_is_found_however_it_is_typed,
    |app: TestApp| async move {
        for q in [
            "dang ky khai sinh",
            "DANG KY KHAI SINH",
            "đăng kí khai sinh",
            "dang ky khai snh",
        ] {
            let json = api(&app, q).await;
            assert_eq!(names(&json)[0], "Thủ tục đăng ký khai sinh", "{q}");
            assert_eq!(json["items"][0]["code"], "1.001193");
        }
    }
);

on_both_databases!(
    certified_copy_procedures_come_first,
    |app: TestApp| async move {
        let json = api(&app, "chung thuc ban sao").await;
        let first_two = &names(&json)[..2];
        for name in first_two {
            assert!(
                name.contains("bản sao") && name.contains("hứng thực"),
                "{name}"
            );
        }
    }
);

on_both_databases!(
    filters_pages_and_bad_parameters,
    |app: TestApp| async move {
        let r: serde_json::Value = app
            .client
            .get(app.url("/api/v1/procedures?mode=full&level=province"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(r["total"].as_u64().unwrap() > 0);
        for item in r["items"].as_array().unwrap() {
            assert_eq!(item["online_mode"], "full");
            assert!(item["levels"]
                .as_array()
                .unwrap()
                .contains(&serde_json::json!("province")));
        }
        let p1: serde_json::Value = app
            .client
            .get(app.url("/api/v1/procedures"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let p2: serde_json::Value = app
            .client
            .get(app.url("/api/v1/procedures?page=2"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(p1["total"], 142);
        assert_eq!(p1["items"].as_array().unwrap().len(), 20);
        assert_ne!(p1["items"][0]["code"], p2["items"][0]["code"]);
        for (query, parameter) in [
            ("level=district", "level"),
            ("mode=online", "mode"),
            ("page=0", "page"),
            ("page=x", "page"),
        ] {
            let r = app
                .client
                .get(app.url(&format!("/api/v1/procedures?{query}")))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 400, "{query}");
            let body: serde_json::Value = r.json().await.unwrap();
            assert_eq!(body["error"]["code"], "invalid_parameter");
            assert_eq!(body["error"]["parameter"], parameter);
        }
        let r = app.get("/api/v1/procedures/ubnd-xa/9.999999").await;
        assert_eq!(r.status(), 404);
        let r: serde_json::Value = app
            .get("/api/v1/procedures/ubnd-xa/1.001193")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(r["name"], "Thủ tục đăng ký khai sinh");
        assert_eq!(r["version"], 1);
    }
);

on_both_databases!(
    the_openapi_document_describes_the_search,
    |app: TestApp| async move {
        let doc: serde_json::Value = app.get("/api/openapi.json").await.json().await.unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        let params: Vec<&str> = doc["paths"]["/api/v1/procedures"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            params,
            vec!["q", "field", "agency", "level", "mode", "page"]
        );
        assert!(doc["paths"]["/api/v1/procedures/{agency}/{code}"].is_object());
    }
);

on_both_databases!(
    the_portal_search_highlights_and_the_procedure_page_says_what_is_missing,
    |app: TestApp| async move {
        let (status, html) = app.get_text("/procedures?q=khai+sinh").await;
        assert_eq!(status, 200);
        assert!(
            html.contains("<mark>khai</mark> <mark>sinh</mark>"),
            "{html}"
        );
        let (status, html) = app.get_text("/procedures?level=district").await;
        assert_eq!(status, 400);
        assert!(html.contains("Cấp thực hiện không hợp lệ."));
        let (status, html) = app.get_text("/procedures/ubnd-xa/1.001193").await;
        assert_eq!(status, 200);
        assert!(html.contains("<h1>Thủ tục đăng ký khai sinh</h1>"));
        assert!(html.contains("Miễn phí"), "exempt fee shown as free");
        assert!(
            html.contains("<em>chưa cập nhật</em>"),
            "missing values are said to be missing"
        );
        let (status, _) = app.get_text("/procedures/so-tp/1.001193").await;
        assert_eq!(status, 404);
        let (_, home) = app.get_text("/").await;
        assert!(home.contains(r#"action="/procedures""#));
        assert!(home.contains("Thủ tục nộp trực tuyến toàn trình"));
    }
);

on_both_databases!(
    a_file_with_bad_rows_changes_nothing_and_reports_every_row,
    |app: TestApp| async move {
        let before = app.store.procedures().await.unwrap();
        let mut csv = HEADER.as_bytes().to_vec();
        csv.extend_from_slice(
            ",Thiếu mã,Hộ tịch,commune,ubnd-xa,3,working_days,,,,full,,,,,,,\n".as_bytes(),
        );
        csv.extend_from_slice(
            "1.000001,Thời hạn âm,Hộ tịch,commune,ubnd-xa,-3,working_days,,,,full,,,,,,,\n"
                .as_bytes(),
        );
        csv.extend_from_slice(
            "1.000002,Cơ quan lạ,Hộ tịch,commune,so-khong-co,3,working_days,,,,full,,,,,,,\n"
                .as_bytes(),
        );
        csv.extend_from_slice(b"1.000003,T\xff\xfe sai UTF-8,H\xc3\xb4,commune,ubnd-xa,3,working_days,,,,full,,,,,,,\n");
        csv.extend_from_slice(
            "1.000004,Hợp lệ,Hộ tịch,commune,ubnd-xa,3,working_days,,,,full,,,,,,,\n".as_bytes(),
        );
        let Err(ImportError::Rows(rows)) = import(&app, &csv, FileFormat::Csv).await else {
            panic!("must fail")
        };
        let found: Vec<(u64, &str)> = rows.iter().map(|r| (r.line, r.column.as_str())).collect();
        assert!(
            found.contains(&(5, "name")),
            "invalid UTF-8 is located: {rows:?}"
        );
        // The UTF-8 error stops reading before rows are checked; without it every other row is reported.
        let valid_utf8: Vec<u8> = String::from_utf8_lossy(&csv)
            .replace('\u{FFFD}', "x")
            .into_bytes();
        let Err(ImportError::Rows(rows)) = import(&app, &valid_utf8, FileFormat::Csv).await else {
            panic!("must fail")
        };
        let text: Vec<String> = rows.iter().map(ToString::to_string).collect();
        assert!(
            text.iter().any(|t| t.starts_with("line 2, column code:")
                && t.contains("not a national procedure code")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("line 3, column time_amount:") && t.contains("positive")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("line 4, column agency_code:") && t.contains("so-khong-co")),
            "{text:?}"
        );
        assert_eq!(rows.len(), 3, "{text:?}");
        assert_eq!(
            app.store.procedures().await.unwrap(),
            before,
            "nothing changed"
        );
    }
);

on_both_databases!(
    the_raw_published_list_is_refused_with_its_duplicates_and_unreadable_cells,
    |app: TestApp| async move {
        let before = app.store.procedures().await.unwrap().len();
        let Err(ImportError::Rows(rows)) =
            import(&app, PUBLISHED_CSV.as_bytes(), FileFormat::Csv).await
        else {
            panic!("must fail")
        };
        let text: Vec<String> = rows.iter().map(ToString::to_string).collect();
        let has = |needle: &str| text.iter().any(|t| t.contains(needle));
        assert!(has("duplicate: 2.001035"), "duplicates are reported");
        assert!(has("duplicate: 2.001406"));
        assert!(has(
            "column level_vi: 'Áp dụng chung (nhiều cấp/cơ quan)' is not a level"
        ));
        assert!(has(
            "column fee_vi: cannot read amounts from 'Theo quy mô lưu lượng"
        ));
        assert!(has(
            "column processing_time_vi: cannot read a processing time"
        ));
        assert!(has("column competent_agency_vi: is empty"));
        assert!(has(
            "column competent_agency_vi: 'UBND cấp xã' is not a known agency"
        ));
        assert_eq!(app.store.procedures().await.unwrap().len(), before);
    }
);

on_both_databases!(
    imports_are_idempotent_and_versioned,
    |app: TestApp| async move {
        let again = import(&app, PROCEDURES_CSV.as_bytes(), FileFormat::Csv)
            .await
            .unwrap();
        assert_eq!(
            again,
            ImportSummary {
                created: 0,
                updated: 0,
                unchanged: 142
            }
        );
        let revision = app.store.catalogue_revision().await.unwrap();

        let old = app
            .store
            .procedure("1.001193", "ubnd-xa")
            .await
            .unwrap()
            .unwrap();
        // A search answered (and kept) before the edit...
        let search = "/api/v1/procedures?q=khai+sinh+mau+son";
        let codes = |v: &serde_json::Value| -> Vec<String> {
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["code"].as_str().unwrap().to_owned())
                .collect()
        };
        let before: serde_json::Value = app.get(search).await.json().await.unwrap();
        assert!(!codes(&before).contains(&"1.001193".to_owned()), "{before}");
        let mut edited = old.procedure.clone();
        edited.result = "Giấy khai sinh".into();
        edited.name = format!("{} tại xã Mẫu Sơn", old.procedure.name);
        let json = serde_json::to_vec(&vec![edited.clone()]).unwrap();
        let summary = import(&app, &json, FileFormat::Json).await.unwrap();
        assert_eq!(
            summary,
            ImportSummary {
                created: 0,
                updated: 1,
                unchanged: 0
            }
        );
        let now = app
            .store
            .procedure("1.001193", "ubnd-xa")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (now.version, now.procedure.result.as_str()),
            (2, "Giấy khai sinh")
        );
        let v1 = app
            .store
            .procedure_version(&old.id, 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            v1, old.procedure,
            "the old version is kept for dossiers submitted under it"
        );
        assert!(app.store.catalogue_revision().await.unwrap() > revision);

        // The portal sees the change once the snapshot refreshes (every node does it every 5 s).
        assert!(
            app.state.catalogue.refresh(&app.store).await.unwrap(),
            "the revision moved"
        );
        let seen = app
            .get("/api/v1/procedures/ubnd-xa/1.001193")
            .await
            .json::<serde_json::Value>()
            .await
            .unwrap();
        assert_eq!(
            (seen["version"].as_i64(), seen["result"].as_str()),
            (Some(2), Some("Giấy khai sinh"))
        );
        // ...is not served stale after it: answers are kept per catalogue revision.
        let after: serde_json::Value = app.get(search).await.json().await.unwrap();
        assert!(codes(&after).contains(&"1.001193".to_owned()), "{after}");
        assert!(
            !app.state.catalogue.refresh(&app.store).await.unwrap(),
            "nothing to do when nothing moved"
        );

        // A dry run reports and changes nothing.
        edited.result = "Bản chính Giấy khai sinh".into();
        let json = serde_json::to_vec(&vec![edited]).unwrap();
        let dry = app
            .store
            .import_procedures(&json, FileFormat::Json, "test", true, &|_, _| {})
            .await
            .unwrap();
        assert_eq!(dry.updated, 1);
        assert_eq!(
            app.store
                .procedure("1.001193", "ubnd-xa")
                .await
                .unwrap()
                .unwrap()
                .version,
            2
        );
    }
);

on_both_databases!(
    csv_export_imports_back_unchanged,
    |app: TestApp| async move {
        let all: Vec<_> = app
            .store
            .procedures()
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.procedure)
            .collect();
        let csv = motcua_store::catalogue::files::write_csv(&all).unwrap();
        assert_eq!(
            import(&app, &csv, FileFormat::Csv).await.unwrap().unchanged,
            142
        );
        let json = serde_json::to_vec(&all).unwrap();
        assert_eq!(
            import(&app, &json, FileFormat::Json)
                .await
                .unwrap()
                .unchanged,
            142
        );
        let Err(ImportError::Rows(rows)) = import(&app, b"[{\"code\": 1}]", FileFormat::Json).await
        else {
            panic!()
        };
        assert!(rows[0].to_string().starts_with("item 1:"), "{rows:?}");
    }
);

pub async fn cli(args: &[&str], data: &crate::harness::TestData) -> (i32, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_motcua"))
        .args(args)
        .args(data.args())
        .env_remove("MOTCUA_CONFIG")
        .output()
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn the_cli_imports_exports_and_searches(db: crate::harness::Db) {
    let Some(data) = crate::harness::TestData::new(db).await else {
        return;
    };
    // Seed the demo (agencies and catalogue) through the library, as `serve --demo` would.
    let store = motcua_store::Store::open_and_migrate(&data.store_config())
        .await
        .unwrap();
    store.seed_demo().await.unwrap();
    store.close().await;

    let bad = data.dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        format!(
            "{HEADER}1.000001,Thời hạn âm,Hộ tịch,commune,ubnd-xa,-3,working_days,,,,full,,,,,,,\n"
        ),
    )
    .unwrap();
    let (code, out, err) = cli(&["procedures", "import", bad.to_str().unwrap()], &data).await;
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(
        err.contains("bad.csv: line 2, column time_amount:"),
        "{err}"
    );
    assert!(
        err.lines()
            .last()
            .unwrap()
            .contains("1 bad row(s); nothing was imported"),
        "{err}"
    );

    let good = data.dir.path().join("new.csv");
    std::fs::write(&good, format!("{HEADER}1.000004,Thủ tục thử nghiệm xylophon,Hộ tịch,commune,ubnd-xa,3,working_days,,,,full,,,,,,,\n")).unwrap();
    let (code, out, _) = cli(
        &["procedures", "import", good.to_str().unwrap(), "--dry-run"],
        &data,
    )
    .await;
    assert_eq!(
        (code, out.as_str()),
        (0, "would import: 1 created, 0 updated, 0 unchanged\n")
    );
    let (_, out, _) = cli(&["procedures", "search", "xylophon"], &data).await;
    assert!(out.is_empty(), "a dry run stores nothing: {out}");
    let (code, out, _) = cli(&["procedures", "import", good.to_str().unwrap()], &data).await;
    assert_eq!(
        (code, out.as_str()),
        (0, "imported: 1 created, 0 updated, 0 unchanged\n")
    );
    let (_, out, _) = cli(
        &["procedures", "search", "thu nghiem xilophon", "--json"],
        &data,
    )
    .await;
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["items"][0]["code"], "1.000004");

    let (code, csv, _) = cli(&["procedures", "export", "--format", "csv"], &data).await;
    assert_eq!(code, 0);
    assert_eq!(csv.lines().count(), 1 + 143);
    let (_, json, _) = cli(&["procedures", "export", "--format", "json"], &data).await;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&json)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        143
    );
}

#[tokio::test]
async fn the_cli_imports_exports_and_searches_sqlite() {
    the_cli_imports_exports_and_searches(crate::harness::Db::Sqlite).await;
}

#[tokio::test]
async fn the_cli_imports_exports_and_searches_postgres() {
    the_cli_imports_exports_and_searches(crate::harness::Db::Postgres).await;
}

on_both_databases!(
    agency_admins_edit_only_their_agency_s_procedures,
    |app: TestApp| async move {
        use crate::harness::Session;
        let s = Session::login(&app, "quantricoquan", motcua_store::demo::DEMO_PASSWORD).await;
        // Another agency's procedure: not there for this admin, and a post changes nothing.
        assert_eq!(s.get("/admin/procedures/ubnd-xa/1.001193").await.0, 404);
        assert_eq!(
            s.post(
                "/admin/procedures/ubnd-xa/1.001193",
                &[("name", "Đổi tên trái phép")]
            )
            .await
            .0,
            404
        );
        assert_eq!(
            app.store
                .procedure("1.001193", "ubnd-xa")
                .await
                .unwrap()
                .unwrap()
                .version,
            1
        );
        let (status, html, _) = s
            .post(
                "/admin/procedures/new",
                &[
                    ("code", "1.000100"),
                    ("agency", "ubnd-xa"),
                    ("name", "Không được phép"),
                ],
            )
            .await;
        assert_eq!(status, 422);
        assert!(html.contains("Bạn chỉ được thêm thủ tục của cơ quan mình."));

        // Bad input is reported line by line and nothing is stored.
        let bad = [
            ("code", "ABC"),
            ("agency", "so-xd"),
            ("name", "Cấp Phiếu lý lịch tư pháp"),
            ("time_amount", "-2"),
            ("time_unit", "working_days"),
            ("documents", "Tờ khai | bản nháp | 1"),
            ("form", "ho_ten | Họ và tên | chữ | bắt buộc"),
        ];
        let (status, html, _) = s.post("/admin/procedures/new", &bad).await;
        assert_eq!(status, 422);
        for message in [
            "Thời hạn giải quyết: nhập một số nguyên dương",
            "Thành phần hồ sơ dòng 1",
            "Tờ khai dòng 1: kiểu &#34;chữ&#34; không hợp lệ",
            "Mã thủ tục &#34;ABC&#34;",
        ] {
            assert!(html.contains(message), "{message}: {html}");
        }
        assert!(app.store.procedure("ABC", "so-xd").await.unwrap().is_none());

        let good = [("code", "2.000488"), ("agency", "so-xd"), ("name", "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam"), ("field", "Lý lịch tư pháp"),
        ("level_province", "on"), ("time_amount", "10"), ("time_unit", "working_days"), ("online_mode", "full"),
        ("fees", "Lệ phí | 200000"), ("documents", "Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp | bản chính | 1\nCăn cước công dân | xuất trình | 1"),
        ("steps", "Nộp hồ sơ trực tuyến\nNhận kết quả"), ("form", "ho_ten | Họ và tên | text | bắt buộc\nmuc_dich | Mục đích sử dụng | select: Xin việc, Du học | bắt buộc")];
        let (status, _, location) = s.post("/admin/procedures/new", &good).await;
        assert_eq!(
            (status, location.as_deref()),
            (303, Some("/admin/procedures?saved=2.000488"))
        );
        let stored = app
            .store
            .procedure("2.000488", "so-xd")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.version, 1);
        assert_eq!(stored.procedure.required_documents.len(), 2);
        assert_eq!(stored.procedure.form.len(), 2);
        assert_eq!(stored.procedure.fees[0].amount_vnd, Some(200_000));

        // The edit form shows what is stored; saving a change makes version 2 and the portal shows it.
        let (_, form, _) = s.get("/admin/procedures/so-xd/2.000488").await;
        assert!(
            form.contains("muc_dich | Mục đích sử dụng | select: Xin việc, Du học | bắt buộc"),
            "{form}"
        );
        let mut edited = good.to_vec();
        edited.retain(|(k, _)| *k != "code" && *k != "agency");
        edited.retain(|(k, _)| *k != "time_amount");
        edited.push(("time_amount", "7"));
        let (status, _, _) = s.post("/admin/procedures/so-xd/2.000488", &edited).await;
        assert_eq!(status, 303);
        let now = app
            .store
            .procedure("2.000488", "so-xd")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(now.version, 2);
        assert_eq!(
            app.store
                .procedure_version(&now.id, 1)
                .await
                .unwrap()
                .unwrap()
                .time_limit
                .map(|t| t.amount),
            Some(10)
        );
        let (_, page) = app.get_text("/procedures/so-xd/2.000488").await;
        assert!(
            page.contains("7 ngày làm việc") && page.contains("200.000 đồng"),
            "{page}"
        );
        let found = app
            .client
            .get(app.url("/api/v1/procedures"))
            .query(&[("q", "ly lich tu phap")])
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap();
        assert_eq!(found["items"][0]["code"], "2.000488");
    }
);
