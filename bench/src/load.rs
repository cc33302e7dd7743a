//! A small closed-loop HTTP load generator: C connections, each sending its next request when the
//! previous answer arrived, for a fixed time.

use std::time::{Duration, Instant};

/// What one load run measured.
pub struct LoadStats {
    pub requests: u64,
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
}

/// Sends GET `url` from `concurrency` loops for `seconds`; every answer must be 200.
pub async fn run(url: &str, concurrency: usize, seconds: u64) -> anyhow::Result<LoadStats> {
    run_urls(&[url.to_owned()], concurrency, seconds).await
}

/// Like [`run`], each loop cycling through `urls` from its own starting point.
pub async fn run_urls(
    urls: &[String],
    concurrency: usize,
    seconds: u64,
) -> anyhow::Result<LoadStats> {
    anyhow::ensure!(!urls.is_empty(), "no URL to load");
    let url = &urls[0];
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    // Warm up connections and caches.
    for _ in 0..50 {
        client
            .get(url)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let client = client.clone();
        let urls = urls.to_vec();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = worker * urls.len() / concurrency.max(1);
            while Instant::now() < deadline {
                let t = Instant::now();
                i = (i + 1) % urls.len();
                client
                    .get(&urls[i])
                    .send()
                    .await?
                    .error_for_status()?
                    .bytes()
                    .await?;
                latencies.push(t.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    let pick = |q: f64| {
        all.get(((all.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or_default()
    };
    Ok(LoadStats {
        requests: all.len() as u64,
        per_second: all.len() as f64 / elapsed,
        p50: pick(0.50),
        p99: pick(0.99),
    })
}
