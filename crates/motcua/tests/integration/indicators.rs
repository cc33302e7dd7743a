//! The Decision 766 index recounted from the stored histories of the demo's year of dossiers, on
//! both databases: the period filter of the recount loses no dossier that a count over every
//! history finds, the agencies' parts add up to the province, and what cannot be measured says so.

use crate::harness::{demo_store, Db};
use motcua_core::catalogue::OnlineMode;
use motcua_core::dossier::status::Status;
use motcua_core::dossier::Payload;
use motcua_core::indicators::{score, DossierFacts, Period};
use motcua_store::indicators::{IndexError, Scope};
use motcua_store::Store;

/// Every received dossier's facts, read one history at a time.
async fn every_dossier(store: &Store) -> Vec<(String, DossierFacts)> {
    let sql = "SELECT id FROM dossiers WHERE received_at IS NOT NULL";
    let ids: Vec<String> = match store.backend() {
        motcua_store::Backend::Sqlite(p) => sqlx::query_scalar(sql).fetch_all(p).await,
        motcua_store::Backend::Postgres(p) => sqlx::query_scalar(sql).fetch_all(p).await,
    }
    .unwrap();
    let mut all = Vec::new();
    for id in ids {
        let d = store.dossier(&id).await.unwrap().unwrap();
        let mode = store
            .procedure(&d.procedure_code, &d.agency_code)
            .await
            .unwrap()
            .and_then(|p| p.procedure.online_mode)
            .unwrap_or(OnlineMode::None);
        let events = store.dossier_events(&id).await.unwrap();
        let payloads: Vec<(time::OffsetDateTime, Status, Payload)> = events
            .iter()
            .map(|e| (e.at, e.status, e.payload().expect("typed history")))
            .collect();
        let steps: Vec<_> = payloads.iter().map(|(a, s, p)| (*a, *s, p)).collect();
        if let Some(f) =
            DossierFacts::from_history(&d.procedure_code, mode, d.channel, &steps).unwrap()
        {
            all.push((d.agency_code.clone(), f));
        }
    }
    all
}

async fn the_index_recounts_the_histories(db: Db) {
    let Some((_data, store)) = demo_store(db).await else {
        return;
    };
    let all = every_dossier(&store).await;
    assert!(all.len() > 50, "the demo's year of dossiers: {}", all.len());
    let facts: Vec<DossierFacts> = all.iter().map(|(_, f)| f.clone()).collect();
    let today = time::OffsetDateTime::now_utc().to_offset(motcua_core::calendar::deadline::VIETNAM);
    let mut months_with_data = 0;
    for back in 1..=6 {
        let (mut y, mut m) = (today.year(), u8::from(today.month()) as i32 - back);
        while m < 1 {
            m += 12;
            y -= 1;
        }
        let month = Period::month(y, m as u8).unwrap();
        let index = match store.index(&month, &Scope::default()).await {
            Ok(i) => i,
            Err(IndexError::NotCovered(_)) => continue,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(index.unreadable, 0);
        let offered: Vec<String> = Vec::new();
        let expected = score(
            &facts,
            &month,
            &offered.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        let got = &index.score;
        for (e, g) in expected.indicators.iter().zip(&got.indicators) {
            assert_eq!(e.ratio, g.ratio, "{y}-{m}: indicator {}", e.code);
        }
        match (expected.average_days, got.average_days) {
            // Summed in another order: equal to the last bits.
            (Some(e), Some(g)) => assert!((e - g).abs() < 1e-9, "{y}-{m}: 2.2 {e} {g}"),
            (e, g) => assert_eq!(e, g, "{y}-{m}: 2.2"),
        }
        assert_eq!(expected.online_share, got.online_share, "{y}-{m}");
        if got
            .indicators
            .iter()
            .any(|i| i.ratio.is_some_and(|r| r.denominator > 0))
        {
            months_with_data += 1;
        }
        // The agencies' parts add up to the province.
        let province = got
            .indicators
            .iter()
            .find(|i| i.code == "2.1")
            .and_then(|i| i.ratio)
            .unwrap();
        let mut sum = (0, 0);
        let agencies: std::collections::BTreeSet<&str> =
            all.iter().map(|(a, _)| a.as_str()).collect();
        for a in agencies {
            let scope = Scope {
                agency: Some(a.to_owned()),
                commune: None,
            };
            match store.index(&month, &scope).await {
                Ok(i) => {
                    let r = i
                        .score
                        .indicators
                        .iter()
                        .find(|i| i.code == "2.1")
                        .unwrap()
                        .ratio
                        .unwrap();
                    sum = (sum.0 + r.numerator, sum.1 + r.denominator);
                }
                Err(IndexError::NotCovered(_)) => {}
                Err(e) => panic!("{a}: {e}"),
            }
        }
        assert_eq!(sum, (province.numerator, province.denominator), "{y}-{m}");
    }
    assert!(months_with_data >= 3, "the demo covers the recent months");

    // What cannot be measured says why, instead of a zero.
    let month = Period::month(today.year(), u8::from(today.month())).unwrap();
    let unknown = Scope {
        agency: Some("khong-ton-tai".into()),
        commune: None,
    };
    assert!(matches!(
        store.index(&month, &unknown).await,
        Err(IndexError::UnknownAgency(_))
    ));
    let unknown = Scope {
        agency: None,
        commune: Some("00000".into()),
    };
    assert!(matches!(
        store.index(&month, &unknown).await,
        Err(IndexError::UnknownCommune(_))
    ));
    let long_ago = Period::year(2001).unwrap();
    let e = store.index(&long_ago, &Scope::default()).await.unwrap_err();
    assert!(e.to_string().contains("the data starts on"), "{e}");
    let ahead = Period::year(today.year() + 2).unwrap();
    assert!(matches!(
        store.index(&ahead, &Scope::default()).await,
        Err(IndexError::NotCovered(_))
    ));
    store.close().await;
}

#[tokio::test]
async fn the_index_recounts_the_histories_sqlite() {
    the_index_recounts_the_histories(Db::Sqlite).await;
}

#[tokio::test]
async fn the_index_recounts_the_histories_postgres() {
    the_index_recounts_the_histories(Db::Postgres).await;
}

/// The public page shows, for the last complete month, the figures its CSV gives, agency by
/// agency; a period that cannot be read is refused in Vietnamese, and one before the data says
/// there is none instead of showing zeros.
async fn the_public_page_and_its_csv_agree(db: Db) {
    let Some((data, store)) = demo_store(db).await else {
        return;
    };
    store.close().await;
    drop(store);
    let app = crate::harness::TestApp::on(db, data).await;
    let page = app.get("/statistics").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let at = html.find(r#"name="period" value=""#).unwrap() + r#"name="period" value=""#.len();
    let period = html[at..].split('"').next().unwrap().to_owned();
    let csv = app.get(&format!("/statistics.csv?period={period}")).await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let mut rows = ::csv::Reader::from_reader(text.as_bytes());
    let mut n = 0;
    for row in rows.records() {
        let row = row.unwrap();
        n += 1;
        let vi = |cell: &str| {
            if cell.is_empty() {
                "—".to_owned()
            } else {
                format!("{cell} %").replace('.', ",")
            }
        };
        let line = html
            .split("<tr data-agency=\"")
            .find(|l| l.starts_with(&format!("{}\"", &row[1])))
            .unwrap_or_else(|| panic!("{} is on the page", &row[2]));
        let line = line.split("</tr>").next().unwrap();
        assert!(line.contains(&format!(">{}</th>", &row[2])), "{line}");
        assert!(line.contains(&format!(">{}</td>", &row[3])), "{line}");
        for cell in [&row[4], &row[5], &row[6]] {
            assert!(
                line.contains(&format!(">{}</td>", vi(cell))),
                "{cell}: {line}"
            );
        }
    }
    assert!(n >= 2, "the province and at least one agency: {text}");
    // The JSON open data says the same, with null where the CSV cell is empty.
    let json: serde_json::Value = app
        .get(&format!("/statistics.json?period={period}"))
        .await
        .json()
        .await
        .unwrap();
    let lines = json["lines"].as_array().unwrap();
    assert_eq!(lines.len(), n);
    let mut rows = ::csv::Reader::from_reader(text.as_bytes());
    for (row, line) in rows.records().zip(lines) {
        let row = row.unwrap();
        assert_eq!(line["agency"], &row[2]);
        assert_eq!(line["handled"].to_string(), &row[3]);
        for (key, cell) in [("on_time_percent", &row[4]), ("online_percent", &row[5])] {
            match line[key].as_f64() {
                Some(v) => assert_eq!(format!("{v:.1}"), cell, "{key}"),
                None => assert_eq!(cell, "", "{key}"),
            }
        }
    }
    let bad: serde_json::Value = app
        .get("/statistics.json?period=2026-13")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(bad["error"], "bad_period");

    let bad = app.get("/statistics?period=2026-13").await;
    assert_eq!(bad.status(), 400);
    assert!(bad
        .text()
        .await
        .unwrap()
        .contains("Kỳ thống kê không hợp lệ"));
    // Hostile text in the period is refused, and never echoed raw into the page.
    let long = "9".repeat(5000);
    for hostile in [
        "%00",
        "2026-11%0D%0ALocation:%20x",
        "%3Cscript%3E",
        long.as_str(),
    ] {
        let r = app.get(&format!("/statistics?period={hostile}")).await;
        assert_eq!(r.status(), 400, "{hostile}");
        let page = r.text().await.unwrap();
        assert!(
            !page.contains("<script>") && !page.contains('\0'),
            "{hostile}"
        );
        let r = app.get(&format!("/statistics.csv?period={hostile}")).await;
        assert_eq!(r.status(), 400, "{hostile}");
        assert!(r.headers().get("location").is_none());
    }
    let before = app
        .get("/statistics?period=2001")
        .await
        .text()
        .await
        .unwrap();
    assert!(before.contains("Chưa có dữ liệu cho kỳ này") && !before.contains("0,0 %"));
    assert_eq!(app.get("/statistics.csv?period=2001").await.status(), 404);
}

#[tokio::test]
async fn the_public_page_and_its_csv_agree_sqlite() {
    the_public_page_and_its_csv_agree(Db::Sqlite).await;
}

#[tokio::test]
async fn the_public_page_and_its_csv_agree_postgres() {
    the_public_page_and_its_csv_agree(Db::Postgres).await;
}
