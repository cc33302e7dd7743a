//! Durable submissions: full online submissions through the HTTP API (announce an upload, send
//! 100 KB, file the dossier), each acknowledged only once it is on disk, against the raw storage
//! rate measured in the same run on the same database and disk: write a 100 KB file, fsync it and
//! its directory, insert one row and commit.
//!
//! The series are measured in interleaved slices (baseline, then each kind of submission, again
//! and again), so that a slow spell of the shared disk or CPU weighs on all of them alike instead
//! of on whichever series ran at that moment.
//!
//! The ratio depends on the filesystem under `TMPDIR`. A submission syncs its file with others in
//! one pack and is bound by CPU; the baseline syncs one new file and its directory per operation
//! and is bound by those syncs. Without a journal (as on some build machines) a sync is cheap and
//! the baseline fast: on one such machine, multipart submissions were 45–49 % of the baseline on
//! SQLite and 37–42 % on PostgreSQL, and 58–71 % and 52–70 % on a journalled ext4 (the usual
//! server filesystem) in the same hour. On another machine of the same kind a day later, without
//! a journal, they were 61–84 % and 47–64 %, and on a third, 63–110 % and 43–68 %. On a fourth,
//! 68–79 % and 54–67 % without a journal, and 96–102 % and 80–87 % with `TMPDIR` on a journalled
//! ext4 (a loop-mounted file on the same disk; PostgreSQL's own files stay where they are). Runs
//! back to back drift: each run deletes its files at the end, and there the SQLite baseline fell
//! by 5–10 % a run (1 860/s, then 1 745, 1 716, 1 611; see docs/performance.md, the benchmarks' own baseline), so the
//! first run on a quiet machine is the fairest.

use motcua_store::{Backend, Store, StoreConfig};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const FILE: usize = 100 * 1024;
pub(crate) const CONCURRENCY: usize = 8;
/// The same statement on whichever pool the store has (the two pool types share no trait that
/// would let one function take both).
macro_rules! on_pool {
    ($backend:expr, $pool:ident => $body:expr) => {
        match $backend {
            Backend::Sqlite($pool) => $body.map(|_| ()),
            Backend::Postgres($pool) => $body.map(|_| ()),
        }
    };
}

/// Slices per series: each series runs `seconds / SLICES` at a time, `SLICES` times.
const SLICES: u64 = 5;

/// Numbers operations across slices, so no two submissions send the same file.
static NEXT_OP: AtomicUsize = AtomicUsize::new(0);

/// Latencies of one series and the time they took, gathered over one or more slices.
#[derive(Default)]
pub(crate) struct Series {
    latencies: Vec<Duration>,
    elapsed: f64,
    cpu: crate::cpu::Used,
}

impl Series {
    fn extend(&mut self, slice: Series) {
        self.latencies.extend(slice.latencies);
        self.elapsed += slice.elapsed;
        self.cpu += slice.cpu;
    }

    /// Throughput, percentiles and CPU per operation over everything gathered.
    pub(crate) fn stats(mut self) -> Stats {
        self.latencies.sort();
        let all = &self.latencies;
        let pick = |q: f64| {
            all.get(((all.len() as f64 - 1.0) * q) as usize)
                .copied()
                .unwrap_or_default()
        };
        let per_op = |d: Duration| d.as_secs_f64() * 1e3 / all.len().max(1) as f64;
        Stats {
            ops: all.len(),
            per_second: all.len() as f64 / self.elapsed,
            p50: pick(0.5),
            p99: pick(0.99),
            cpu_ms: per_op(self.cpu.machine),
            process_cpu_ms: per_op(self.cpu.process),
        }
    }
}

pub(crate) struct Stats {
    ops: usize,
    per_second: f64,
    p50: Duration,
    p99: Duration,
    /// Busy CPU of the whole machine per operation (0 where it cannot be read).
    cpu_ms: f64,
    /// Of which this process's.
    process_cpu_ms: f64,
}

pub(crate) fn print(name: &str, s: &Stats, base: &Stats) {
    println!(
        "{name:<44} {:>8.1}/s  p50 {:>7.2} ms  p99 {:>7.2} ms  ({:>5.1} % of baseline, {} ops)  CPU/op {:.2} ms, this process {:.2} ms",
        s.per_second,
        s.p50.as_secs_f64() * 1e3,
        s.p99.as_secs_f64() * 1e3,
        100.0 * s.per_second / base.per_second,
        s.ops,
        s.cpu_ms,
        s.process_cpu_ms,
    );
}

/// Runs `op` from `CONCURRENCY` loops for `seconds`; each call gets a number never given before.
pub(crate) async fn closed_loop<F, Fut>(seconds: u64, op: F) -> anyhow::Result<Series>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let cpu = crate::cpu::read();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                op(NEXT_OP.fetch_add(1, Ordering::Relaxed)).await?;
                lat.push(t.elapsed());
            }
            anyhow::Ok(lat)
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    Ok(Series {
        latencies,
        elapsed: started.elapsed().as_secs_f64(),
        cpu: crate::cpu::since(cpu),
    })
}

/// The baseline: per operation, `rows` committed single-row inserts and one durable file of
/// `file_size` bytes (written, synced, its directory synced) in `store`'s staging directory,
/// where the server creates every file it receives. On ext4 a new file's inode is taken near its
/// directory's, and finding a free one can cost a scan past recently deleted files (the previous
/// run's, for one): measured from another directory, the baseline escaped a cost the server paid
/// (perf: `recently_deleted` 10 % of the server's samples, 0.03 % of the baseline's).
pub(crate) async fn raw_insert(
    store: Arc<Store>,
    seconds: u64,
    rows: usize,
    file_size: usize,
) -> anyhow::Result<Series> {
    let create = "CREATE TABLE IF NOT EXISTS bench_raw (id TEXT PRIMARY KEY, sha TEXT NOT NULL, size BIGINT NOT NULL)";
    on_pool!(store.backend(), p => sqlx::query(create).execute(p).await)?;
    let dir = store.blobs().staging_dir().to_path_buf();
    std::fs::create_dir_all(&dir)?;
    let run = run_prefix();
    closed_loop(seconds, move |n| {
        let store = store.clone();
        let dir = dir.clone();
        let run = run.clone();
        async move {
            let mut bytes = format!("%PDF-1.4 raw {n}\n").into_bytes();
            bytes.resize(file_size, b'.');
            let path = dir.join(format!("{run}-{n}.pdf"));
            let d = dir.clone();
            tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                use std::io::Write;
                let mut f = std::fs::File::create(&path)?;
                f.write_all(&bytes)?;
                f.sync_all()?;
                std::fs::File::open(&d)?.sync_all()
            })
            .await??;
            let sql = "INSERT INTO bench_raw (id, sha, size) VALUES ($1, $2, $3)";
            for r in 0..rows {
                let id = format!("{run}-{n}-{r}");
                on_pool!(store.backend(), p => sqlx::query(sql)
                    .bind(&id)
                    .bind(&id)
                    .bind(file_size as i64)
                    .execute(p)
                    .await)?;
            }
            anyhow::Ok(())
        }
    })
    .await
}

/// A prefix that keeps the rows and files of two baseline runs apart.
fn run_prefix() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
        .to_string()
}

/// A database the store can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Database {
    Sqlite,
    Postgres,
}

/// What a run is limited to (`--database`, `--series`); by default, everything.
#[derive(Debug, Default)]
pub(crate) struct Only {
    pub(crate) database: Option<Database>,
    /// Indexes into [`LABELS`] besides the baseline's (0).
    pub(crate) series: Option<Vec<usize>>,
}

/// The `--series` names, in the order of [`LABELS`] after the baseline.
const SERIES: [&str; 8] = [
    "bare",
    "upload",
    "filing",
    "multipart",
    "whole",
    "chunked",
    "multipart-s3",
    "chunked-s3",
];

/// The series a comma-separated list names, as indexes into [`LABELS`].
pub(crate) fn series_named(names: &str) -> anyhow::Result<Vec<usize>> {
    names
        .split(',')
        .map(|n| {
            SERIES
                .iter()
                .position(|s| *s == n.trim())
                .map(|i| i + 1)
                .ok_or_else(|| {
                    anyhow::anyhow!("unknown series '{n}'; --series takes {}", SERIES.join(", "))
                })
        })
        .collect()
}

/// Runs `bench` on SQLite in a temporary data dir, then on a fresh PostgreSQL database when one
/// answers (see [`with_postgres`]); or on `database` alone, where a PostgreSQL that does not
/// answer is an error.
pub(crate) async fn on_both_backends<F, Fut>(
    what: &str,
    database: Option<Database>,
    bench: F,
) -> anyhow::Result<()>
where
    F: Fn(&'static str, StoreConfig) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let dir = tempfile::tempdir()?;
    if database != Some(Database::Postgres) {
        let sqlite = StoreConfig {
            files: Default::default(),
            data_dir: dir.path().join("sqlite"),
            database: None,
        };
        bench("SQLite (WAL, synchronous=FULL)", sqlite).await?;
    }
    if database == Some(Database::Sqlite) {
        return Ok(());
    }
    with_postgres(what, database.is_some(), |url| {
        bench(
            "PostgreSQL",
            StoreConfig {
                files: Default::default(),
                data_dir: dir.path().join("pg"),
                database: Some(url),
            },
        )
    })
    .await
}

/// Runs `f` against a fresh PostgreSQL database (dropped afterwards), or says it was skipped
/// (fails instead when it was `required`).
pub(crate) async fn with_postgres<F, Fut>(what: &str, required: bool, f: F) -> anyhow::Result<()>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let server = std::env::var("MOTCUA_BENCH_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());
    match sqlx::PgPool::connect(&format!("{server}/postgres")).await {
        Ok(admin) => {
            let name = format!("motcua_bench_{what}_{}", std::process::id());
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&admin)
                .await?;
            let result = f(format!("{server}/{name}")).await;
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&admin)
                .await?;
            result
        }
        Err(e) if required => anyhow::bail!("PostgreSQL at {server} is not reachable: {e}"),
        Err(e) => {
            println!("-- PostgreSQL skipped: {server} not reachable ({e})");
            Ok(())
        }
    }
}

/// One submission through the API, as another portal makes it: the file whole in one request,
/// or (`resumable`) announced and then sent as a chunk, as a client on a weak line does.
async fn submit(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    n: usize,
    resumable: bool,
) -> anyhow::Result<()> {
    let file = motcua_core::dossier::minimal_pdf(&format!("submission {n}"), FILE);
    let id = if resumable {
        let up: serde_json::Value = client
            .post(format!("{base}/api/v1/uploads"))
            .bearer_auth(token)
            .json(&serde_json::json!({"file_name": "don.pdf", "size": FILE}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let id = up["id"].as_str().unwrap_or_default().to_owned();
        client
            .put(format!("{base}/api/v1/uploads/{id}"))
            .bearer_auth(token)
            .header("upload-offset", "0")
            .body(file)
            .send()
            .await?
            .error_for_status()?;
        id
    } else {
        upload_whole(client, base, token, n).await?
    };
    file_dossier(client, base, token, &id).await
}

/// One submission as a single multipart request: the dossier's JSON and its file together.
async fn submit_multipart(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    n: usize,
) -> anyhow::Result<()> {
    let file = motcua_core::dossier::minimal_pdf(&format!("submission {n}"), FILE);
    let meta = serde_json::json!({
        "agency": "ubnd-xa", "procedure_code": "2.000908",
        "form": {"applicant_name": "Nguyễn Văn An", "applicant_id": "020190000123",
                 "applicant_phone": "0915000001", "applicant_address": "Lạng Sơn"}});
    let form = reqwest::multipart::Form::new()
        .text("dossier", meta.to_string())
        .part(
            "don",
            reqwest::multipart::Part::bytes(file).file_name("don.pdf"),
        );
    let r = client
        .post(format!("{base}/api/v1/dossiers"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await?;
    anyhow::ensure!(r.status() == 201, "submission refused: {}", r.text().await?);
    Ok(())
}

/// The HTTP transport alone: 100 KB posted to a handler that stores nothing.
async fn post_bare(client: &reqwest::Client, bare: &str, n: usize) -> anyhow::Result<()> {
    let mut file = format!("%PDF-1.4\n% transport {n}\n").into_bytes();
    file.resize(FILE, b'.');
    client
        .post(format!("{bare}/upload"))
        .header("content-type", "application/octet-stream")
        .body(file)
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

async fn upload_whole(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    n: usize,
) -> anyhow::Result<String> {
    let file = motcua_core::dossier::minimal_pdf(&format!("submission {n}"), FILE);
    let up: serde_json::Value = client
        .post(format!("{base}/api/v1/uploads?file_name=don.pdf"))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(file)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(up["id"].as_str().unwrap_or_default().to_owned())
}

async fn file_dossier(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    id: &str,
) -> anyhow::Result<()> {
    let r = client
        .post(format!("{base}/api/v1/dossiers"))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "agency": "ubnd-xa", "procedure_code": "2.000908",
            "form": {"applicant_name": "Nguyễn Văn An", "applicant_id": "020190000123",
                     "applicant_phone": "0915000001", "applicant_address": "Lạng Sơn"},
            "attachments": [{"upload_id": id}]}))
        .send()
        .await?;
    anyhow::ensure!(r.status() == 201, "submission refused: {}", r.text().await?);
    Ok(())
}

/// What each series measures, the baseline first ([`SERIES`] names the others).
const LABELS: [&str; 9] = [
    "raw: 100 KB file + fsync + row insert (baseline)",
    "  part: 100 KB POST to a bare axum handler",
    "  part: 100 KB upload in one request",
    "  part: filing with an uploaded file",
    "submission: one multipart request",
    "submission: file in one request + dossier",
    "submission: announce + chunk + dossier",
    "submission: one multipart request, S3",
    "submission: announce + chunk + dossier, S3",
];

/// The series that need the object store.
const OBJECT_SERIES: [usize; 2] = [7, 8];

/// A number no operation has used yet.
fn fresh() -> usize {
    NEXT_OP.fetch_add(1, Ordering::Relaxed)
}

/// What every series' clients talk to, shared by all of them.
struct Target {
    client: reqwest::Client,
    /// The server under test.
    base: String,
    /// The citizen's API token.
    token: String,
    /// An upload filed again and again by the filing-only series.
    uploaded: String,
    /// The bare axum handler.
    bare: String,
    /// A second server on the same database with its files in an object store.
    objects: String,
}

async fn one_backend(
    name: &str,
    config: StoreConfig,
    seconds: u64,
    series_only: Option<&[usize]>,
) -> anyhow::Result<()> {
    let store = Store::open_and_migrate(&config).await?;
    store.seed_demo().await?;
    let store = Arc::new(store);
    let citizen = store
        .login_record("congdan")
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo citizen missing"))?
        .id;
    let token = store.create_api_token(&citizen, "bench", "").await?;
    let base = crate::http::serve_store(store.clone()).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()?;
    // One request of each kind first, so that connections and caches are warm.
    let (c, b, t) = (&client, base.as_str(), token.as_str());
    let one = upload_whole(c, b, t, fresh()).await?;
    submit_multipart(c, b, t, fresh()).await?;
    for resumable in [false, true] {
        submit(c, b, t, fresh(), resumable).await?;
    }
    file_dossier(c, b, t, &one).await?;

    let bare = crate::http::serve_bare().await?;
    // The same database, served again with its files in an object store, when one can be run.
    let wanted = |i: usize| i == 0 || series_only.is_none_or(|only| only.contains(&i));
    let object_store = if OBJECT_SERIES.iter().any(|&i| wanted(i)) {
        match crate::objects::S3sFs::start().await {
            Ok(s3) => Some(s3),
            Err(e) => {
                println!("-- object store series skipped: {e}");
                None
            }
        }
    } else {
        None
    };
    let objects = match &object_store {
        Some(s3) => {
            let store = Store::open_shared(&StoreConfig {
                files: motcua_store::files::FilesConfig::Objects(s3.settings()),
                ..config.clone()
            })
            .await?;
            store.blobs().check().await?;
            let objects = crate::http::serve_store(Arc::new(store)).await?;
            submit_multipart(c, &objects, t, fresh()).await?;
            submit(c, &objects, t, fresh(), true).await?;
            objects
        }
        None => String::new(),
    };
    let target = Arc::new(Target {
        client,
        base,
        token,
        uploaded: one,
        bare,
        objects,
    });
    let runs = |i: usize| wanted(i) && (object_store.is_some() || !OBJECT_SERIES.contains(&i));
    let mut series: Vec<Series> = LABELS.iter().map(|_| Series::default()).collect();
    let slice = (seconds / SLICES).max(1);
    for _ in 0..SLICES {
        for (i, s) in series.iter_mut().enumerate().filter(|(i, _)| runs(*i)) {
            let target = target.clone();
            let run = move |n: usize| {
                let t = target.clone();
                async move {
                    let (c, b, k) = (&t.client, t.base.as_str(), t.token.as_str());
                    match i {
                        1 => post_bare(c, &t.bare, n).await,
                        2 => upload_whole(c, b, k, n).await.map(|_| ()),
                        3 => file_dossier(c, b, k, &t.uploaded).await,
                        4 => submit_multipart(c, b, k, n).await,
                        5 => submit(c, b, k, n, false).await,
                        6 => submit(c, b, k, n, true).await,
                        7 => submit_multipart(c, &t.objects, k, n).await,
                        _ => submit(c, &t.objects, k, n, true).await,
                    }
                }
            };
            s.extend(if i == 0 {
                raw_insert(store.clone(), slice, 1, FILE).await?
            } else {
                closed_loop(slice, run).await?
            });
        }
    }
    println!("-- {name}");
    let mut stats = series.into_iter().map(Series::stats);
    let base_stats = stats
        .next()
        .ok_or_else(|| anyhow::anyhow!("no baseline measured"))?;
    print(LABELS[0], &base_stats, &base_stats);
    for ((i, label), s) in LABELS.iter().enumerate().skip(1).zip(stats) {
        if runs(i) {
            print(label, &s, &base_stats);
        }
    }
    Ok(())
}

pub(crate) async fn run(seconds: u64, only: &Only) -> anyhow::Result<()> {
    println!("== durable submissions ({seconds} s each in {SLICES} interleaved slices, {CONCURRENCY} concurrent clients, one 100 KB PDF each)");
    on_both_backends("submit", only.database, |name, config| {
        one_backend(name, config, seconds, only.series.as_deref())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_names_pick_their_labels_and_unknown_ones_are_refused() {
        let picked = series_named("multipart, filing").expect("known names");
        assert_eq!(picked, [4, 3]);
        assert_eq!(LABELS[picked[0]], "submission: one multipart request");
        assert_eq!(LABELS[picked[1]], "  part: filing with an uploaded file");
        for bad in ["", "multipart,", "baseline", "Multipart"] {
            let e = series_named(bad).expect_err(bad).to_string();
            assert!(e.contains("--series takes bare, upload"), "{bad}: {e}");
        }
    }
}
