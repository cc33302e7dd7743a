//! An S3-compatible object store for the `submit` benchmark: `s3s-fs` (crates.io; `.ci/run`
//! installs it), started on a free port over a temp dir, so that submissions with their files in
//! an object store are measured beside those with files in the data dir, against one baseline.
//!
//! `s3s-fs` writes an object with a plain write, without syncing it: its figures are those of the
//! product's client and the protocol's round trips, not of a store's durability (a real store
//! syncs, or replicates, before it answers a PUT).

use motcua_store::objects::ObjectSettings;
use std::time::Duration;

/// A running `s3s-fs`, stopped when dropped.
pub(crate) struct S3sFs {
    child: std::process::Child,
    port: u16,
    _root: tempfile::TempDir,
}

const BUCKET: &str = "motcua-bench";
const KEY: &str = "bench";
const SECRET: &str = "bench-secret-key";

impl S3sFs {
    /// Starts it, or says why it could not (`s3s-fs` not installed, say).
    pub(crate) async fn start() -> anyhow::Result<S3sFs> {
        let root = tempfile::tempdir()?;
        std::fs::create_dir_all(root.path().join(BUCKET))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let bin = std::env::var("MOTCUA_BENCH_S3S_FS").unwrap_or_else(|_| "s3s-fs".to_owned());
        let child = std::process::Command::new(&bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", KEY, "--secret-key", SECRET])
            .arg(root.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| anyhow::anyhow!("{bin}: {e}"))?;
        let server = S3sFs {
            child,
            port,
            _root: root,
        };
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        anyhow::bail!("{bin} did not listen on port {port}")
    }

    /// The product's settings for it.
    pub(crate) fn settings(&self) -> ObjectSettings {
        ObjectSettings {
            bucket: BUCKET.to_owned(),
            prefix: "submit".to_owned(),
            endpoint: format!("http://127.0.0.1:{}", self.port),
            region: String::new(),
            access_key_id: KEY.to_owned(),
            secret_access_key: SECRET.to_owned(),
            allow_http: true,
        }
    }
}

impl Drop for S3sFs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
