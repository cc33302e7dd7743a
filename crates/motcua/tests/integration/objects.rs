//! Files in an S3-compatible object store: a real S3 server (`s3s-fs`, which `.ci/run`
//! installs) started for each test, reached by the product's own client. One server on one node,
//! then two `motcua serve` nodes on one PostgreSQL and one object store.

use crate::harness::{init, skip, Db, TestApp, TestData};
use crate::process::{citizen_client, citizen_token, spawn_server, strings, submit_via_api};
use motcua_store::files::FilesConfig;
use motcua_store::objects::ObjectSettings;
use motcua_store::Store;
use std::path::PathBuf;
use std::time::Duration;
use tempfile::TempDir;

const BUCKET: &str = "motcua-test";
const PREFIX: &str = "langson";
const ACCESS_KEY: &str = "motcua";
const SECRET_KEY: &str = "bi-mat-cua-kho-tep";

/// An `s3s-fs` server on a free port, storing under a temp dir; stopped when dropped.
pub struct ObjectServer {
    child: Option<std::process::Child>,
    port: u16,
    root: TempDir,
}

impl ObjectServer {
    /// Starts the server, or `None` (after [`skip`]) when `s3s-fs` is not installed.
    pub async fn start() -> Option<ObjectServer> {
        let root = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(root.path().join(BUCKET)).expect("bucket dir");
        let mut server = ObjectServer {
            child: None,
            port: 0,
            root,
        };
        if let Err(why) = server.run().await {
            skip("object store (s3s-fs)", &why);
            return None;
        }
        Some(server)
    }

    async fn run(&mut self) -> Result<(), String> {
        let bin = std::env::var("MOTCUA_TEST_S3S_FS").unwrap_or_else(|_| "s3s-fs".to_owned());
        if self.port == 0 {
            self.port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| e.to_string())?
                .port();
        }
        let child = std::process::Command::new(&bin)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(self.root.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| {
                format!(
                    "{bin}: {e}; install it with `cargo install s3s-fs --version 0.14.1 --features binary --locked`"
                )
            })?;
        self.child = Some(child);
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Err(format!("{bin} did not listen on port {}", self.port))
    }

    /// Stops the server (the stored objects stay on disk).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port and data.
    pub async fn restart(&mut self) {
        self.run().await.expect("s3s-fs restarts");
    }

    /// The product's settings for this server.
    pub fn settings(&self) -> ObjectSettings {
        ObjectSettings {
            bucket: BUCKET.to_owned(),
            prefix: PREFIX.to_owned(),
            endpoint: format!("http://127.0.0.1:{}", self.port),
            region: "us-east-1".to_owned(),
            access_key_id: ACCESS_KEY.to_owned(),
            secret_access_key: SECRET_KEY.to_owned(),
            allow_http: true,
        }
    }

    /// The `[files]` section of a config file for this server.
    pub fn toml(&self) -> String {
        format!(
            "[files]\nstore = \"s3\"\nbucket = \"{BUCKET}\"\nprefix = \"{PREFIX}\"\n\
             endpoint = \"http://127.0.0.1:{}\"\naccess_key_id = \"{ACCESS_KEY}\"\n\
             secret_access_key = \"{SECRET_KEY}\"\n",
            self.port
        )
    }

    /// Files the server keeps under `rel` of the installation's prefix (its own bookkeeping
    /// files left out).
    pub fn objects_under(&self, rel: &str) -> Vec<PathBuf> {
        fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if !p.to_string_lossy().contains(".metadata") {
                    out.push(p);
                }
            }
        }
        let mut out = Vec::new();
        walk(
            &self.root.path().join(BUCKET).join(PREFIX).join(rel),
            &mut out,
        );
        out
    }
}

impl Drop for ObjectServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A demo app whose files are in `server`.
async fn app_on_objects(db: Db, server: &ObjectServer) -> Option<TestApp> {
    init();
    let mut data = TestData::new(db).await?;
    data.files = FilesConfig::Objects(server.settings());
    {
        let store = Store::open_and_migrate(&data.store_config())
            .await
            .expect("open store");
        store.seed_demo().await.expect("seed demo");
        store.close().await;
    }
    Some(TestApp::on(db, data).await)
}

fn sha(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Sends `file` as a resumable upload in `parts` chunks, the n-th to `bases[n % len]`; returns
/// the upload's id once the server says it is complete.
async fn upload_in_chunks(
    client: &reqwest::Client,
    bases: &[&str],
    token: &str,
    name: &str,
    file: &[u8],
    parts: usize,
) -> String {
    let up: serde_json::Value = client
        .post(format!("{}/api/v1/uploads", bases[0]))
        .bearer_auth(token)
        .json(&serde_json::json!({"file_name": name, "size": file.len()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = up["id"].as_str().unwrap().to_owned();
    let step = file.len().div_ceil(parts);
    let mut last = serde_json::Value::Null;
    for (n, chunk) in file.chunks(step).enumerate() {
        let r = client
            .put(format!("{}/api/v1/uploads/{id}", bases[n % bases.len()]))
            .bearer_auth(token)
            .header("upload-offset", (n * step).to_string())
            .body(chunk.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "chunk {n}");
        last = r.json().await.unwrap();
    }
    assert_eq!(last["received"], file.len(), "{last}");
    assert_eq!(last["complete"], true, "complete and checked: {last}");
    id
}

/// Files a dossier naming finished upload `upload`; its code.
async fn file_with_upload(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    upload: &str,
) -> String {
    let r = client
        .post(format!("{base}/api/v1/dossiers"))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "agency": "ubnd-xa", "procedure_code": "2.000908",
            "form": {"applicant_name": "Nguyễn Văn An", "applicant_id": "020190000123",
                     "applicant_phone": "0915000001", "applicant_address": "Lạng Sơn"},
            "attachments": [{"upload_id": upload}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let d: serde_json::Value = r.json().await.unwrap();
    d["code"].as_str().unwrap().to_owned()
}

/// The attachment of dossier `code` as the applicant downloads it from the portal at `base`.
async fn download(store: &Store, client: &reqwest::Client, base: &str, code: &str) -> Vec<u8> {
    let d = store.dossier_by_code(code).await.unwrap().unwrap();
    let files = store.attachments(&d.id).await.unwrap();
    let r = client
        .get(format!("{base}/dossiers/{}/files/{}", d.id, files[0].id))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{code}");
    let length: usize = r.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = r.bytes().await.unwrap().to_vec();
    assert_eq!(body.len(), length);
    body
}

async fn dossier_count(store: &Store) -> i64 {
    let sql = "SELECT count(*) FROM dossiers WHERE code IS NOT NULL";
    match store.backend() {
        motcua_store::Backend::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await,
        motcua_store::Backend::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await,
    }
    .unwrap()
}

/// Filed, uploaded in chunks, downloaded: every file goes to the bucket and nothing to the data
/// dir; a store that stops answering refuses a filing instead of committing it without its file.
async fn files_live_in_the_object_store(db: Db) {
    let Some(mut server) = ObjectServer::start().await else {
        return;
    };
    let Some(app) = app_on_objects(db, &server).await else {
        return;
    };
    let token = citizen_token(&app.base).await;
    let client = reqwest::Client::new();
    // In the filing's own request (the batch path), and uploaded first.
    let packed = submit_via_api(&client, &app.base, &token, 1, true)
        .await
        .expect("multipart filing");
    let uploaded = submit_via_api(&client, &app.base, &token, 2, false)
        .await
        .expect("filing of an upload");
    // In four chunks.
    let scan = motcua_core::dossier::minimal_pdf("ban chup bon phan", 300 * 1024);
    let id = upload_in_chunks(&client, &[&app.base], &token, "scan.pdf", &scan, 4).await;
    assert!(
        server.objects_under(&format!("uploads/{id}")).is_empty(),
        "the chunks are removed once they became a blob"
    );
    let chunked = file_with_upload(&client, &app.base, &token, &id).await;

    let citizen = citizen_client(&app.base).await;
    for (code, n) in [(&packed, 1), (&uploaded, 2)] {
        let expected = motcua_core::dossier::minimal_pdf(&format!("submission {n}"), 100 * 1024);
        assert!(
            download(&app.store, &citizen, &app.base, code).await == expected,
            "{code}"
        );
    }
    assert!(download(&app.store, &citizen, &app.base, &chunked).await == scan);
    let blobs = server.objects_under("blobs");
    for file in [
        motcua_core::dossier::minimal_pdf("submission 1", 100 * 1024),
        scan.clone(),
    ] {
        let hash = sha(&file);
        assert!(
            blobs
                .iter()
                .any(|p| p.ends_with(format!("{}/{hash}", &hash[..2]))),
            "{hash} is in the bucket: {blobs:?}"
        );
    }
    let data_dir = app.store.data_dir().to_owned();
    assert!(!data_dir.join("packs").exists() && !data_dir.join("blobs").exists());
    assert_eq!(app.store.verify_blobs().await.unwrap(), 3);

    if db == Db::Sqlite {
        // A backup downloads the files, so it stands alone and checks like any other.
        let dest = tempfile::tempdir().unwrap().path().join("backup");
        app.store.backup_to(&dest).await.unwrap();
        let (_, _, checked) = motcua_store::backup::verify(&dest).await.unwrap();
        assert_eq!(checked, 3, "every stored file read back from the backup");
    }

    // The store stops answering: the filing fails and nothing of it is committed.
    let before = dossier_count(&app.store).await;
    server.stop();
    let refused = submit_via_api(&client, &app.base, &token, 3, true).await;
    assert_eq!(
        refused, None,
        "a filing whose file is not stored is refused"
    );
    assert_eq!(dossier_count(&app.store).await, before);
    server.restart().await;
    let after = submit_via_api(&client, &app.base, &token, 4, true).await;
    assert!(after.is_some(), "filings go on once the store is back");
}

#[tokio::test]
async fn files_live_in_the_object_store_sqlite() {
    files_live_in_the_object_store(Db::Sqlite).await;
}

#[tokio::test]
async fn files_live_in_the_object_store_postgres() {
    files_live_in_the_object_store(Db::Postgres).await;
}

/// Two `motcua serve` nodes on one PostgreSQL and one object store.
#[tokio::test]
async fn two_nodes_share_the_database_and_the_files() {
    use motcua_core::delivery::MessageKind;
    const MESSAGES: usize = 300;
    let Some(server) = ObjectServer::start().await else {
        return;
    };
    let Some(mut data) = TestData::new(Db::Postgres).await else {
        return;
    };
    init();
    data.files = FilesConfig::Objects(server.settings());
    let store = Store::open_and_migrate(&data.store_config()).await.unwrap();
    // Messages waiting before the nodes start: both nodes' workers take from one queue.
    for i in 0..MESSAGES {
        store
            .queue_message(
                &format!("097{i:07}"),
                "Thông báo",
                "Ho so cua ong/ba da duoc tiep nhan",
                &format!("two-nodes:{i}"),
                MessageKind::Notice,
            )
            .await
            .unwrap();
    }
    let sandbox = motcua_sandbox::Sandbox::start(
        "127.0.0.1:0".parse().unwrap(),
        motcua_sandbox::Settings::default(),
    )
    .await
    .unwrap();
    let config = data.dir.path().join("motcua.toml");
    std::fs::write(
        &config,
        format!(
            "{}\n[sms]\nprovider = \"vnpt\"\nurl = \"{}/vnpt/send_sms_list\"\n\
             brandname = \"UBND LANGSON\"\nuser = \"{}\"\npassword = \"{}\"\nlabel_id = \"1\"\n\
             contract_id = \"1\"\ntemplate_id = \"1\"\nagent_id = \"1\"\nusername = \"langson\"\n",
            server.toml(),
            sandbox.url(),
            motcua_sandbox::credentials::VNPT_USER,
            motcua_sandbox::credentials::VNPT_PASS,
        ),
    )
    .unwrap();
    let mut args = data.args();
    args.extend(strings(&["--config", config.to_str().unwrap()]));
    let mut first = args.clone();
    first.push("--demo".to_owned());
    let a = spawn_server(&first).await;
    let b = spawn_server(&args).await;
    let nodes = [a.base.as_str(), b.base.as_str()];
    let token = citizen_token(&a.base).await;
    let client = reqwest::Client::new();

    // Uploaded through one node, served by the other.
    let code = submit_via_api(&client, &a.base, &token, 10, true)
        .await
        .expect("filed on A");
    let on_b = citizen_client(&b.base).await;
    let expected = motcua_core::dossier::minimal_pdf("submission 10", 100 * 1024);
    assert!(download(&store, &on_b, &b.base, &code).await == expected);
    // A chunked upload that goes on on either node, filed on B, read on A.
    let scan = motcua_core::dossier::minimal_pdf("ban chup hai may", 400 * 1024);
    let id = upload_in_chunks(&client, &nodes, &token, "scan.pdf", &scan, 5).await;
    let code = file_with_upload(&client, &b.base, &token, &id).await;
    let on_a = citizen_client(&a.base).await;
    assert!(download(&store, &on_a, &a.base, &code).await == scan);

    // A catalogue change made elsewhere shows on both nodes within their refresh period.
    let mut edited = store
        .procedure("1.001193", "ubnd-xa")
        .await
        .unwrap()
        .unwrap()
        .procedure;
    edited.name = format!("{} (hai máy chủ)", edited.name);
    let json = serde_json::to_vec(&vec![edited]).unwrap();
    store
        .import_procedures(
            &json,
            motcua_store::catalogue::FileFormat::Json,
            "test",
            false,
            &|_, _| {},
        )
        .await
        .unwrap();
    for base in nodes {
        let mut seen = false;
        for _ in 0..100 {
            let r: serde_json::Value = client
                .get(format!("{base}/api/v1/procedures?q=hai+may+chu"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if r["items"].as_array().is_some_and(|i| !i.is_empty()) {
                seen = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(seen, "{base} refreshed its catalogue");
    }

    // Node B killed in the middle of uploads: every chunk it acknowledged is there, and the
    // uploads finish on A.
    let big = motcua_core::dossier::minimal_pdf("tep lon", 600 * 1024);
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, usize)>::new()));
    let mut writers = Vec::new();
    for w in 0..3 {
        let (base, token, big, acked) = (b.base.clone(), token.clone(), big.clone(), acked.clone());
        writers.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            for n in 0.. {
                let Ok(r) = client
                    .post(format!("{base}/api/v1/uploads"))
                    .bearer_auth(&token)
                    .json(&serde_json::json!({"file_name": format!("{w}-{n}.pdf"), "size": big.len()}))
                    .send()
                    .await
                else {
                    return;
                };
                let Ok(up) = r.json::<serde_json::Value>().await else {
                    return;
                };
                let id = up["id"].as_str().unwrap().to_owned();
                for (i, chunk) in big.chunks(64 * 1024).enumerate() {
                    let sent = client
                        .put(format!("{base}/api/v1/uploads/{id}"))
                        .bearer_auth(&token)
                        .header("upload-offset", (i * 64 * 1024).to_string())
                        .body(chunk.to_vec())
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status() == 200 => {
                            let done = i * 64 * 1024 + chunk.len();
                            let mut a = acked.lock().unwrap();
                            a.retain(|(u, _)| u != &id);
                            a.push((id.clone(), done));
                        }
                        _ => return,
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    b.kill_9().await;
    for w in writers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 3, "the stream was too short: {acked:?}");
    for (id, at_least) in &acked {
        let state: serde_json::Value = client
            .get(format!("{}/api/v1/uploads/{id}", a.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let received = state["received"].as_u64().unwrap() as usize;
        assert!(received >= *at_least, "{id}: {state}");
        if received < big.len() {
            let r = client
                .put(format!("{}/api/v1/uploads/{id}", a.base))
                .bearer_auth(&token)
                .header("upload-offset", received.to_string())
                .body(big[received..].to_vec())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{id} finishes on A");
        }
        let code = file_with_upload(&client, &a.base, &token, id).await;
        assert!(download(&store, &on_a, &a.base, &code).await == big, "{id}");
    }

    // The outbox: every waiting message sent once, though two nodes' workers took from it.
    let mut delivered = 0;
    for _ in 0..300 {
        delivered = sandbox
            .received()
            .iter()
            .filter(|r| r.to.starts_with("8497"))
            .count();
        if delivered >= MESSAGES {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        delivered, MESSAGES,
        "each waiting message sent exactly once"
    );
    drop(server);
    store.close().await;
    drop(a);
}
