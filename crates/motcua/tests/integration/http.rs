//! The foundation through the real HTTP stack, on both databases.

use crate::on_both_databases;
use motcua_store::demo::SeedOutcome;

on_both_databases!(
    healthz_and_readyz_report_the_database,
    |app: TestApp| async move {
        assert_eq!(app.get_text("/healthz").await, (200, "ok".to_owned()));
        let r = app.get("/readyz").await;
        assert_eq!(r.status(), 200);
        let body: serde_json::Value = r.json().await.unwrap();
        let backend = match app.db {
            Db::Sqlite => "sqlite",
            Db::Postgres => "postgres",
        };
        assert_eq!(body["backend"], backend);
        assert_eq!(body["schema"], "current");
        assert_eq!(body["ready"], true);
    }
);

on_both_databases!(
    metrics_count_requests_by_route_template,
    |app: TestApp| async move {
        app.get("/").await;
        app.get("/agencies").await;
        app.get("/agencies").await;
        app.get("/no-such-page/05983").await;
        let r = app.get("/metrics").await;
        assert_eq!(r.status(), 200);
        let text = r.text().await.unwrap();
        assert!(
            text.contains(
                r#"motcua_http_requests_total{route="/agencies",method="GET",status="200"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"motcua_http_requests_total{route="unmatched",method="GET",status="404"} 1"#
            ),
            "{text}"
        );
        assert!(
            !text.contains("05983"),
            "raw paths must not become label values"
        );
        assert!(text.contains("motcua_http_request_duration_seconds_bucket"));
        assert!(text.contains(r#"motcua_db_pool_connections{state="idle"}"#));
    }
);

on_both_databases!(
    home_page_names_the_province_and_its_units,
    |app: TestApp| async move {
        let (status, html) = app.get_text("/").await;
        assert_eq!(status, 200);
        assert!(html.contains("<title>Cổng Dịch vụ công tỉnh Lạng Sơn</title>"));
        assert!(
            html.contains("<strong>61</strong><span>xã</span>"),
            "{html}"
        );
        assert!(html.contains("<strong>4</strong><span>phường</span>"));
        assert!(html.contains("Bản trình diễn"), "demo installations say so");
        assert!(html.contains(r#"href="/agencies""#));
    }
);

on_both_databases!(
    merged_agencies_keep_history_and_name_their_successor,
    |app: TestApp| async move {
        let (status, html) = app.get_text("/agencies").await;
        assert_eq!(status, 200);
        assert!(
            html.contains(
                "<tr><td>Sở Thông tin và Truyền thông</td><td>Sở Khoa học và Công nghệ</td></tr>"
            ),
            "{html}"
        );
        assert!(html.contains("<li>Trung tâm Phục vụ hành chính công phường Lương Văn Tri</li>"));
        assert!(html.contains("<li>Trung tâm Phục vụ hành chính công tỉnh Lạng Sơn</li>"));
    }
);

on_both_databases!(
    admin_units_list_65_communes_and_11_former_districts,
    |app: TestApp| async move {
        let (_, html) = app.get_text("/admin-units").await;
        let current = html.matches("<tr><td>0").count();
        assert_eq!(current, 65, "{html}");
        assert!(html.contains("<tr><td>Huyện Cao Lộc</td><td>30/06/2025</td></tr>"));
        assert_eq!(html.matches("<td>30/06/2025</td>").count(), 11);
    }
);

on_both_databases!(
    unknown_pages_get_a_vietnamese_404,
    |app: TestApp| async move {
        let (status, html) = app.get_text("/khong-co").await;
        assert_eq!(status, 404);
        assert!(html.contains("Không tìm thấy trang"));
    }
);

on_both_databases!(
    every_response_carries_a_request_id_and_security_headers,
    |app: TestApp| async move {
        let r = app.get("/").await;
        let id = r
            .headers()
            .get("x-request-id")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(id.len(), 36, "a UUID: {id}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        assert_eq!(r.headers()["x-frame-options"], "DENY");
        assert!(r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'"));
        let r = app
            .client
            .get(app.url("/healthz"))
            .header("x-request-id", "trace-me-42")
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.headers()["x-request-id"],
            "trace-me-42",
            "a caller's id is kept"
        );
    }
);

on_both_databases!(demo_data_loads_once, |app: TestApp| async move {
    let before = app.store.agencies().await.unwrap().len();
    assert_eq!(
        app.store.seed_demo().await.unwrap(),
        SeedOutcome::AlreadyPresent
    );
    assert_eq!(app.store.agencies().await.unwrap().len(), before);
    assert_eq!(before, 158);
});
