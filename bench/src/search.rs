//! Catalogue search over 10,000 procedures: in-process latency of the engine, and requests/s of
//! the search API against a bare axum handler served by the same process in the same run.

use crate::load;
use motcua_core::catalogue::search::Query;
use motcua_core::catalogue::Procedure;
use motcua_store::catalogue::files::write_csv;
use motcua_store::catalogue::FileFormat;
use motcua_store::demo::PROCEDURES_CSV;
use motcua_store::{Store, StoreConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};

const QUERIES: [&str; 12] = [
    "dang ky khai sinh",
    "đăng kí kết hôn",
    "chung thuc ban sao",
    "dang ky khai snh",
    "cap giay phep xay dung",
    "tam tru",
    "giay thong hanh bien gioi",
    "khai thac nuoc duoi dat",
    "thanh lap doanh nghiep",
    "ho tro xa hoi tre em",
    "chứng thực chữ k",
    "dang kiem",
];

/// 10,000 procedures: the 142 of the demo, then synthetic ones whose names mix the demo's words.
async fn synthetic(store: &Store, count: usize) -> anyhow::Result<()> {
    store.seed_demo().await?;
    let demo: Vec<Procedure> = store
        .procedures()
        .await?
        .into_iter()
        .map(|s| s.procedure)
        .collect();
    let words: Vec<&str> = demo
        .iter()
        .flat_map(|p| p.name.split_whitespace())
        .collect();
    let mut seed: u64 = 0x1234_5678_9ABC_DEF1;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut out = Vec::with_capacity(count);
    for i in 0..count.saturating_sub(demo.len()) {
        let base = &demo[i % demo.len()];
        let len = 4 + usize::try_from(next() % 8).unwrap_or(0);
        let name: Vec<&str> = (0..len)
            .map(|_| words[usize::try_from(next()).unwrap_or(0) % words.len()])
            .collect();
        let mut p = base.clone();
        p.code = format!("9.{:06}", i);
        p.name = name.join(" ");
        out.push(p);
    }
    let csv = write_csv(&out)?;
    store
        .import_procedures(&csv, FileFormat::Csv, "bench", false, &|_, _| {})
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let _ = PROCEDURES_CSV;
    Ok(())
}

pub async fn run(seconds: u64) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = Store::open_and_migrate(&StoreConfig {
        files: Default::default(),
        data_dir: dir.path().to_path_buf(),
        database: None,
    })
    .await?;
    synthetic(&store, 10_000).await?;
    let store = Arc::new(store);
    let index = store.catalogue_index().await?;
    println!(
        "== search ({} procedures, {} query shapes)",
        index.procedures.len(),
        QUERIES.len()
    );

    let mut latencies = Vec::new();
    for round in 0..200 {
        for q in QUERIES {
            let started = Instant::now();
            let r = index.search(&Query {
                text: q,
                page: 1 + round % 2,
                per_page: 20,
                ..Query::default()
            });
            latencies.push(started.elapsed());
            std::hint::black_box(r);
        }
    }
    latencies.sort();
    let pick = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    println!(
        "{:<40} p50 {:>7.3} ms  p99 {:>7.3} ms  ({} searches)",
        "in-process search",
        pick(0.5).as_secs_f64() * 1e3,
        pick(0.99).as_secs_f64() * 1e3,
        latencies.len()
    );

    for q in QUERIES {
        let started = Instant::now();
        let mut total = 0;
        for _ in 0..200 {
            let r = index.search(&Query {
                text: q,
                page: 1,
                per_page: 20,
                ..Query::default()
            });
            total = r.total;
            for h in &r.hits {
                std::hint::black_box(index.highlight_name(h.doc, &r));
            }
        }
        println!(
            "  {q:<32} {:>8.1} µs incl. highlighting, {total} matches",
            started.elapsed().as_secs_f64() * 1e6 / 200.0
        );
    }

    let motcua = crate::http::serve_store(store).await?;
    let bare = crate::http::serve_bare().await?;
    // Wait until the server has loaded its catalogue snapshot.
    for _ in 0..100 {
        let r: serde_json::Value = reqwest::get(format!("{motcua}/api/v1/procedures?q=khai+sinh"))
            .await?
            .json()
            .await?;
        if r["total"].as_u64().unwrap_or(0) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let concurrency = 16;
    let base = load::run(&format!("{bare}/healthz"), concurrency, seconds).await?;
    crate::http::report("bare axum server (no middleware)", &base, &base);
    let same = load::run(&format!("{motcua}/healthz"), concurrency, seconds).await?;
    crate::http::report("bare handler, same server", &same, &base);
    println!(
        "ratios below: against the bare axum server / against the bare handler on the same server"
    );
    for q in [
        "dang+ky+khai+sinh",
        "chung+thuc+ban+sao",
        "dang+ky+khai+snh",
    ] {
        let s = load::run(
            &format!("{motcua}/api/v1/procedures?q={q}"),
            concurrency,
            seconds,
        )
        .await?;
        crate::http::report(&format!("search API q={q} (repeated)"), &s, &base);
        println!(
            "{:>90}",
            format!(
                "{:.1} % of the same-server bare handler",
                100.0 * s.per_second / same.per_second
            )
        );
    }
    // Every request a different search (more than the answer cache holds): the engine and the
    // JSON on every request.
    let distinct: Vec<String> = (1..=500)
        .flat_map(|page| QUERIES.iter().map(move |q| (page, q)))
        .map(|(page, q)| {
            format!(
                "{motcua}/api/v1/procedures?q={}&page={page}",
                q.replace(' ', "+")
            )
        })
        .collect();
    let s = load::run_urls(&distinct, concurrency, seconds).await?;
    crate::http::report(
        &format!("search API, {} distinct searches", distinct.len()),
        &s,
        &base,
    );
    println!(
        "{:>90}",
        format!(
            "{:.1} % of the same-server bare handler",
            100.0 * s.per_second / same.per_second
        )
    );
    Ok(())
}
