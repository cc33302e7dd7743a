//! The `motcua` binary as an operator runs it: crashes, locks and bad configuration.

use crate::harness::{stored_bytes, Db, TestData};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

fn motcua() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_motcua"));
    c.env_remove("MOTCUA_CONFIG")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    c
}

pub(crate) struct Server {
    child: Child,
    pub(crate) base: String,
    banner: Vec<String>,
}

/// Starts `motcua serve` on a random port and waits for its "listening" line.
pub(crate) async fn spawn_server(extra: &[String]) -> Server {
    spawn_server_on(extra, "127.0.0.1:0").await
}

/// Starts `motcua serve` on `addr` and waits for its "listening" line.
pub(crate) async fn spawn_server_on(extra: &[String], addr: &str) -> Server {
    crate::harness::init();
    let mut child = motcua()
        .args(["serve", "--addr", addr])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn motcua");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = Vec::new();
    let base = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.strip_prefix("motcua: listening on ") {
                return url.to_owned();
            }
            banner.push(line);
        }
        panic!("motcua exited before listening: {banner:?}");
    })
    .await
    .expect("motcua did not start in time");
    Server {
        child,
        base,
        banner,
    }
}

impl Server {
    async fn get(&self, path: &str) -> String {
        let r = reqwest::get(format!("{}{path}", self.base)).await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r.text().await.unwrap()
    }

    /// SIGKILL: no shutdown code runs.
    pub(crate) async fn kill_9(mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
    }
}

/// Runs the binary to completion; returns its exit code and stderr lines.
async fn run(args: &[String]) -> (i32, Vec<String>) {
    let out = motcua().args(args).output().await.expect("run motcua");
    let stderr = String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_owned)
        .collect();
    (out.status.code().unwrap_or(-1), stderr)
}

/// Asserts a configuration failure: non-zero exit, exactly one line, naming `key`.
fn assert_one_line_error(result: (i32, Vec<String>), key: &str, words: &str) {
    let (code, stderr) = result;
    assert_ne!(code, 0, "{stderr:?}");
    assert_eq!(stderr.len(), 1, "one line only: {stderr:?}");
    let line = &stderr[0];
    assert!(
        line.starts_with(&format!("motcua: error: {key}:")),
        "{line}"
    );
    assert!(line.contains(words), "{line} should mention '{words}'");
}

pub(crate) fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

async fn kill_9_then_restart_keeps_data(db: Db) {
    let Some(data) = TestData::new(db).await else {
        return;
    };
    let mut args = data.args();
    args.push("--demo".to_owned());
    let first = spawn_server(&args).await;
    assert!(
        first
            .banner
            .iter()
            .any(|l| l.contains("demo data of Lạng Sơn loaded")),
        "{:?}",
        first.banner
    );
    assert!(first.banner.iter().any(|l| l.contains("DEMO ACCOUNTS")));
    let agencies = first.get("/agencies").await;
    let units = first.get("/admin-units").await;

    if db == Db::Sqlite {
        // A second server on the same data dir must refuse while the first runs.
        let mut second = strings(&["serve", "--addr", "127.0.0.1:0"]);
        second.extend(data.args());
        assert_one_line_error(
            run(&second).await,
            "data-dir",
            "in use by another motcua process",
        );
        assert_eq!(
            first.get("/agencies").await,
            agencies,
            "the refused server changed nothing"
        );
    }

    first.kill_9().await;
    let again = spawn_server(&args).await;
    assert!(
        again.banner.iter().any(|l| l.contains("already present")),
        "{:?}",
        again.banner
    );
    assert_eq!(again.get("/agencies").await, agencies);
    assert_eq!(again.get("/admin-units").await, units);
    assert_eq!(again.get("/healthz").await, "ok");
}

#[tokio::test]
async fn kill_9_then_restart_keeps_data_sqlite() {
    kill_9_then_restart_keeps_data(Db::Sqlite).await;
}

#[tokio::test]
async fn kill_9_then_restart_keeps_data_postgres() {
    kill_9_then_restart_keeps_data(Db::Postgres).await;
}

#[tokio::test]
async fn sigterm_stops_the_server_cleanly() {
    let data = TestData::new(Db::Sqlite).await.unwrap();
    let server = spawn_server(&data.args()).await;
    let pid = server.child.id().unwrap();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut child = server.child;
    let exit = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("stops within the grace period")
        .unwrap();
    assert!(exit.success(), "{exit:?}");
    assert!(
        !data.dir.path().join("motcua.sqlite3-wal").exists()
            || std::fs::metadata(data.dir.path().join("motcua.sqlite3-wal"))
                .unwrap()
                .len()
                == 0,
        "the WAL is checkpointed at shutdown"
    );
}

#[tokio::test]
async fn an_unknown_setting_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("motcua.toml");
    std::fs::write(&file, "addr = \"127.0.0.1:0\"\ncolour = \"red\"\n").unwrap();
    let args = strings(&["serve", "--config", file.to_str().unwrap()]);
    assert_one_line_error(run(&args).await, "colour", "unknown setting");
}

#[tokio::test]
async fn single_sign_on_needs_every_setting_and_https() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("motcua.toml");
    std::fs::write(&file, "addr = \"127.0.0.1:0\"\noidc_issuer = \"https://sso.example.vn\"\noidc_client_id = \"motcua\"\n").unwrap();
    let args = strings(&[
        "serve",
        "--config",
        file.to_str().unwrap(),
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_one_line_error(
        run(&args).await,
        "oidc_client_secret",
        "required when oidc_issuer is set",
    );
    assert!(
        !dir.path().join("motcua.sqlite3").exists(),
        "nothing was created"
    );
    std::fs::write(
        &file,
        "addr = \"127.0.0.1:0\"\noidc_issuer = \"http://sso.example.vn\"\n",
    )
    .unwrap();
    assert_one_line_error(run(&args).await, "oidc_issuer", "must be an https:// URL");
    // The authority to trust for the provider must be a certificate, and say so otherwise.
    let not_pem = dir.path().join("ca.txt");
    std::fs::write(&not_pem, "not a certificate").unwrap();
    std::fs::write(
        &file,
        format!(
            "addr = \"127.0.0.1:0\"\noidc_issuer = \"https://sso.example.vn\"\n\
             oidc_client_id = \"motcua\"\noidc_client_secret = \"s\"\n\
             oidc_redirect_url = \"https://dvc.example.vn/login/oidc/callback\"\n\
             oidc_ca_file = \"{}\"\n",
            not_pem.display()
        ),
    )
    .unwrap();
    assert_one_line_error(run(&args).await, "oidc_ca_file", "holds no PEM certificate");
}

#[tokio::test]
async fn a_missing_config_file_is_named() {
    let args = strings(&["serve", "--config", "/nonexistent/motcua.toml"]);
    assert_one_line_error(run(&args).await, "config", "does not exist");
}

#[tokio::test]
async fn a_malformed_database_url_is_named() {
    let dir = tempfile::tempdir().unwrap();
    for url in [
        "mysql://root@localhost/motcua",
        "postgres://user@host:notaport/db",
    ] {
        let args = strings(&[
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--database",
            url,
        ]);
        assert_one_line_error(run(&args).await, "database", "malformed URL");
    }
}

#[tokio::test]
async fn a_port_in_use_is_named() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let args = strings(&[
        "serve",
        "--addr",
        &addr,
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_one_line_error(run(&args).await, "addr", "already in use");
    assert!(
        !dir.path().join("motcua.sqlite3").exists(),
        "nothing was created"
    );
}

#[tokio::test]
async fn an_unwritable_data_dir_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let inside_a_file = file.join("data");
    let args = strings(&[
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--data-dir",
        inside_a_file.to_str().unwrap(),
    ]);
    assert_one_line_error(run(&args).await, "data-dir", "not a writable directory");
}

#[tokio::test]
async fn an_environment_setting_with_a_bad_value_is_named() {
    let out = motcua()
        .args(["serve"])
        .env("MOTCUA_ADDR", "not-an-address")
        .output()
        .await
        .unwrap();
    let stderr: Vec<String> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_one_line_error(
        (out.status.code().unwrap_or(-1), stderr),
        "addr",
        "MOTCUA_ADDR",
    );
}

async fn a_newer_schema_is_refused_and_left_alone(db: Db) {
    let Some(data) = TestData::new(db).await else {
        return;
    };
    let mut migrate = vec!["migrate".to_owned()];
    migrate.extend(data.args());
    let (code, stderr) = run(&migrate).await;
    assert_eq!(code, 0, "{stderr:?}");

    // Pretend a newer motcua migrated this database.
    let future = 99_990_101_000_000_i64;
    let insert =
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                  VALUES ($1, 'from the future', TRUE, $2, 0)";
    let count = "SELECT COUNT(*) FROM _sqlx_migrations";
    let before: i64 = match &data.pg {
        Some(pg) => {
            let pool = sqlx::PgPool::connect(&pg.url).await.unwrap();
            sqlx::query(insert)
                .bind(future)
                .bind(vec![0_u8])
                .execute(&pool)
                .await
                .unwrap();
            let n = sqlx::query_scalar(count).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        }
        None => {
            let url = format!(
                "sqlite://{}",
                data.dir.path().join("motcua.sqlite3").display()
            );
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            sqlx::query(insert)
                .bind(future)
                .bind(vec![0_u8])
                .execute(&pool)
                .await
                .unwrap();
            let n = sqlx::query_scalar(count).fetch_one(&pool).await.unwrap();
            pool.close().await;
            n
        }
    };

    let mut serve = strings(&["serve", "--addr", "127.0.0.1:0", "--demo"]);
    serve.extend(data.args());
    assert_one_line_error(run(&serve).await, "database", "newer than this motcua");
    assert_one_line_error(run(&migrate).await, "database", "newer than this motcua");

    let after: (i64, i64) = match &data.pg {
        Some(pg) => {
            let pool = sqlx::PgPool::connect(&pg.url).await.unwrap();
            let n = sqlx::query_scalar(count).fetch_one(&pool).await.unwrap();
            let agencies = sqlx::query_scalar("SELECT COUNT(*) FROM agencies")
                .fetch_one(&pool)
                .await
                .unwrap();
            pool.close().await;
            (n, agencies)
        }
        None => {
            let url = format!(
                "sqlite://{}",
                data.dir.path().join("motcua.sqlite3").display()
            );
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            let n = sqlx::query_scalar(count).fetch_one(&pool).await.unwrap();
            let agencies = sqlx::query_scalar("SELECT COUNT(*) FROM agencies")
                .fetch_one(&pool)
                .await
                .unwrap();
            pool.close().await;
            (n, agencies)
        }
    };
    assert_eq!(
        after,
        (before, 0),
        "no migration ran and no demo data was written"
    );
}

#[tokio::test]
async fn a_newer_schema_is_refused_and_left_alone_sqlite() {
    a_newer_schema_is_refused_and_left_alone(Db::Sqlite).await;
}

#[tokio::test]
async fn a_newer_schema_is_refused_and_left_alone_postgres() {
    a_newer_schema_is_refused_and_left_alone(Db::Postgres).await;
}

/// Signs in as the demo citizen over HTTP and creates an API token.
/// A client signed in as the demo citizen on the server at `base` (a cookie session).
pub(crate) async fn citizen_client(base: &str) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client
        .get(format!("{base}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = crate::harness::csrf_of(&page);
    let r = client
        .post(format!("{base}/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("identifier", "congdan"),
            ("password", motcua_store::demo::DEMO_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    client
}

/// A bearer token of the demo citizen, made on the server at `base`.
pub(crate) async fn citizen_token(base: &str) -> String {
    let client = citizen_client(base).await;
    // Signing in issues a fresh CSRF token.
    let page = client
        .get(format!("{base}/account/tokens"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = crate::harness::csrf_of(&page);
    let r = client
        .post(format!("{base}/account/tokens"))
        .form(&[("csrf", csrf.as_str()), ("name", "crash")])
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    let at = html.find(r#"id="new-token">"#).unwrap() + r#"id="new-token">"#.len();
    html[at..].split('<').next().unwrap().to_owned()
}

/// One submission through the API with a 100 KB attachment, uploaded first and then named by
/// the filing, or (`multipart`) sent in the filing's own request, which stores it in a pack with
/// the filing's batch. `Some(code)` when the server said it succeeded.
pub(crate) async fn submit_via_api(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    n: usize,
    multipart: bool,
) -> Option<String> {
    let file = motcua_core::dossier::minimal_pdf(&format!("submission {n}"), 100 * 1024);
    let name = format!("don-{n}.pdf");
    let mut dossier = serde_json::json!({
        "agency": "ubnd-xa", "procedure_code": "2.000908",
        "form": {"applicant_name": "Nguyễn Văn An", "applicant_id": "020190000123",
                 "applicant_phone": "0915000001", "applicant_address": "Lạng Sơn"}});
    let filing = client
        .post(format!("{base}/api/v1/dossiers"))
        .bearer_auth(token);
    let filing = if multipart {
        let part = reqwest::multipart::Part::bytes(file).file_name(name);
        filing.multipart(
            reqwest::multipart::Form::new()
                .text("dossier", dossier.to_string())
                .part("don", part),
        )
    } else {
        let up: serde_json::Value = client
            .post(format!("{base}/api/v1/uploads"))
            .bearer_auth(token)
            .json(&serde_json::json!({"file_name": name, "size": file.len()}))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let id = up["id"].as_str()?.to_owned();
        let r = client
            .put(format!("{base}/api/v1/uploads/{id}"))
            .bearer_auth(token)
            .header("upload-offset", "0")
            .body(file)
            .send()
            .await
            .ok()?;
        if r.status() != 200 {
            return None;
        }
        dossier["attachments"] = serde_json::json!([{ "upload_id": id }]);
        filing.json(&dossier)
    };
    let r = filing.send().await.ok()?;
    if r.status() != 201 {
        return None;
    }
    let d: serde_json::Value = r.json().await.ok()?;
    d["code"].as_str().map(str::to_owned)
}

/// kill -9 during a stream of submissions, by upload then filing and by one multipart request
/// (files in a pack): every submission that got a success answer is there after a restart,
/// with its file, and no code was given twice.
async fn killed_during_submissions_loses_no_acknowledged_dossier(db: Db) {
    let Some(data) = TestData::new(db).await else {
        return;
    };
    let mut args = data.args();
    args.push("--demo".to_owned());
    let server = spawn_server(&args).await;
    let token = citizen_token(&server.base).await;
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut writers = Vec::new();
    for w in 0..3 {
        let (base, token, acked) = (server.base.clone(), token.clone(), acknowledged.clone());
        writers.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            for n in 0.. {
                let n = w * 100_000 + n;
                match submit_via_api(&client, &base, &token, n, n % 2 == 1).await {
                    Some(code) => acked.lock().unwrap().push(code),
                    // The server is gone.
                    None => break,
                }
            }
        }));
    }
    // Let a stream build up, then pull the plug in the middle of it.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    server.kill_9().await;
    for w in writers {
        w.await.unwrap();
    }
    let acked = acknowledged.lock().unwrap().clone();
    assert!(
        acked.len() >= 3,
        "the stream was too short to test anything: {acked:?}"
    );

    let again = spawn_server(&args).await;
    let store = motcua_store::Store::open_shared(&data.store_config())
        .await
        .unwrap();
    for code in &acked {
        let d = store
            .dossier_by_code(code)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged dossier {code} is lost"));
        let files = store.attachments(&d.id).await.unwrap();
        assert_eq!(files.len(), 1, "{code}");
        let bytes = stored_bytes(&store, &files[0].sha256).await;
        assert_eq!(bytes.len(), 100 * 1024, "{code}");
        use sha2::Digest;
        assert_eq!(
            hex::encode(sha2::Sha256::digest(&bytes)),
            files[0].sha256,
            "{code}: the file on disk is the one acknowledged"
        );
    }
    let all = store.verify_events().await.unwrap();
    assert_eq!(all.1, None, "event chains intact after the crash");
    let codes: Vec<String> = match store.backend() {
        motcua_store::Backend::Sqlite(p) => {
            sqlx::query_scalar("SELECT code FROM dossiers WHERE code IS NOT NULL")
                .fetch_all(p)
                .await
                .unwrap()
        }
        motcua_store::Backend::Postgres(p) => {
            sqlx::query_scalar("SELECT code FROM dossiers WHERE code IS NOT NULL")
                .fetch_all(p)
                .await
                .unwrap()
        }
    };
    let packed = "SELECT count(*) FROM blobs WHERE pack IS NOT NULL";
    let packed: i64 = match store.backend() {
        motcua_store::Backend::Sqlite(p) => sqlx::query_scalar(packed).fetch_one(p).await,
        motcua_store::Backend::Postgres(p) => sqlx::query_scalar(packed).fetch_one(p).await,
    }
    .unwrap();
    assert!(packed > 0, "no multipart submission was acknowledged");
    let mut unique = codes.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), codes.len(), "a code was given twice");
    // The restarted server goes on numbering after the last code, and appends to the pack after
    // whatever the crash left at its end.
    let client = reqwest::Client::new();
    let next = submit_via_api(&client, &again.base, &token, 999_998, false)
        .await
        .expect("submission after restart");
    assert!(!codes.contains(&next), "{next} reused");
    let next = submit_via_api(&client, &again.base, &token, 999_999, true)
        .await
        .expect("multipart submission after restart");
    assert!(!codes.contains(&next), "{next} reused");
    let d = store.dossier_by_code(&next).await.unwrap().unwrap();
    let files = store.attachments(&d.id).await.unwrap();
    let bytes = stored_bytes(&store, &files[0].sha256).await;
    assert!(
        bytes == motcua_core::dossier::minimal_pdf("submission 999999", 100 * 1024),
        "the file filed after the restart reads back whole"
    );
    store.close().await;
    again.kill_9().await;
}

#[tokio::test]
async fn killed_during_submissions_loses_no_acknowledged_dossier_sqlite() {
    killed_during_submissions_loses_no_acknowledged_dossier(Db::Sqlite).await;
}

#[tokio::test]
async fn killed_during_submissions_loses_no_acknowledged_dossier_postgres() {
    killed_during_submissions_loses_no_acknowledged_dossier(Db::Postgres).await;
}

/// SIGKILL in the middle of dispatching 10,000 messages, then a restart: every message ends
/// delivered (receipts included), none is lost; a message is sent twice only when the kill fell
/// between the provider's acceptance and its record (at most the batches one worker has in
/// progress).
async fn killed_during_dispatch_loses_no_message(db: Db) {
    use motcua_core::delivery::MessageKind;
    use motcua_store::outbox::OutboxStatus;
    const N: usize = 10_000;
    let Some(data) = TestData::new(db).await else {
        return;
    };
    crate::harness::init();
    {
        let store = motcua_store::Store::open_and_migrate(&data.store_config())
            .await
            .unwrap();
        for i in 0..N {
            let phone = format!("091{i:07}");
            store
                .queue_message(
                    &phone,
                    "Mã",
                    "Ma xac thuc la 123456",
                    &format!("k:{i}"),
                    MessageKind::Code,
                )
                .await
                .unwrap();
        }
        store.close().await;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let token = "kill-test-token";
    let sandbox = motcua_sandbox::Sandbox::start(
        "127.0.0.1:0".parse().unwrap(),
        motcua_sandbox::Settings {
            sms_receipts: Some(format!(
                "http://127.0.0.1:{port}/hooks/receipts/sms?token={token}"
            )),
            ..motcua_sandbox::Settings::default()
        },
    )
    .await
    .unwrap();
    let config = data.dir.path().join("motcua.toml");
    std::fs::write(
        &config,
        format!(
            "[sms]\nprovider = \"vnpt\"\nurl = \"{}/vnpt/send_sms_list\"\nbrandname = \"UBND LANGSON\"\n\
             user = \"{}\"\npassword = \"{}\"\nlabel_id = \"1\"\ncontract_id = \"1\"\ntemplate_id = \"1\"\n\
             agent_id = \"1\"\nusername = \"langson\"\nreceipt_token = \"{token}\"\n",
            sandbox.url(),
            motcua_sandbox::credentials::VNPT_USER,
            motcua_sandbox::credentials::VNPT_PASS,
        ),
    )
    .unwrap();
    let mut args = data.args();
    args.extend(strings(&["--config", config.to_str().unwrap()]));
    // The same port both times: the sandbox's receipts find the restarted server.
    let addr = format!("127.0.0.1:{port}");
    let first = spawn_server_on(&args, &addr).await;
    while sandbox.requests() < (N / 3) as u64 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill_9().await;
    let at_kill = sandbox.requests();
    let again = spawn_server_on(&args, &addr).await;
    let unique = || {
        sandbox
            .received()
            .iter()
            .map(|r| r.id.clone())
            .collect::<std::collections::HashSet<_>>()
            .len()
    };
    // Claims of the killed server wait out their lease (a minute), then go again.
    for _ in 0..1800 {
        if unique() == N && sandbox.receipts() >= N as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(unique(), N, "every message reached the provider");
    again.kill_9().await;
    let store = motcua_store::Store::open(&data.store_config())
        .await
        .unwrap();
    let report = store
        .delivery_report(time::OffsetDateTime::now_utc() - time::Duration::hours(1))
        .await
        .unwrap();
    let sms = report
        .iter()
        .find(|r| r.channel == motcua_core::delivery::DeliveryChannel::Sms)
        .unwrap();
    let delivered: i64 = sms
        .by_status
        .iter()
        .filter(|(s, _)| *s == OutboxStatus::Delivered)
        .map(|(_, n)| *n)
        .sum();
    let duplicates = sandbox.received().len() - N;
    println!(
        "kill -9 during dispatch ({db:?}): killed after {at_kill} requests; {delivered} of {N} delivered; {duplicates} sent twice"
    );
    assert_eq!(delivered as usize, N, "{:?}", sms.by_status);
    assert!(
        duplicates <= motcua_delivery::MAX_UNRECORDED,
        "{duplicates} duplicates: more than the batches in progress"
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_during_dispatch_loses_no_message_sqlite() {
    killed_during_dispatch_loses_no_message(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_during_dispatch_loses_no_message_postgres() {
    killed_during_dispatch_loses_no_message(Db::Postgres).await;
}

/// `motcua doctor` names what a real installation must not keep from the demo: the demo accounts
/// with their public password, the placeholder dossier code prefix; exit status 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_names_demo_accounts_and_placeholders() {
    crate::harness::init();
    let data = TestData::new(Db::Sqlite).await.unwrap();
    let store = motcua_store::Store::open_and_migrate(&data.store_config())
        .await
        .unwrap();
    store.seed_demo().await.unwrap();
    store.close().await;
    let out = motcua()
        .arg("doctor")
        .arg("--data-dir")
        .arg(data.dir.path())
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("demo accounts") && said.contains("quantri"),
        "{said}"
    );
    assert!(said.contains("dossier_code_prefix"), "{said}");
}

/// With `backup_dir`, the server takes its first backup at start, and `/metrics` reports its age.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_backs_itself_up_and_reports_the_backups_age() {
    let dir = tempfile::tempdir().unwrap();
    let backups = dir.path().join("backups");
    let config = dir.path().join("motcua.toml");
    std::fs::write(
        &config,
        format!(
            "backup_dir = {:?}\nbackup_keep = 3\n",
            backups.display().to_string()
        ),
    )
    .unwrap();
    let server = spawn_server(&[
        "--config".into(),
        config.display().to_string(),
        "--data-dir".into(),
        dir.path().join("data").display().to_string(),
    ])
    .await;
    let mut age = None;
    for _ in 0..100 {
        let metrics = server.get("/metrics").await;
        age = metrics
            .lines()
            .find_map(|l| l.strip_prefix("motcua_backup_age_seconds "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|a| a.is_finite());
        if age.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let age = age.expect("a backup was taken at start and /metrics reports its age");
    assert!(age < 60.0, "{age}");
    assert_eq!(motcua_store::backup::complete_backups(&backups).len(), 1);
    server.kill_9().await;
}
