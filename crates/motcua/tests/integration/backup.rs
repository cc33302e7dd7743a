//! Backups of the embedded installation: taken while dossiers are being filed, restored into a
//! new data dir with every acknowledged dossier and file byte for byte and the audit chains
//! intact; and the ways a backup or a restore must refuse or fail without leaving anything that
//! passes for a good backup.

use crate::dossiers::submit_one;
use crate::harness::{stored_bytes, Db, Session, TestApp};
use motcua_store::backup::{self, BackupError};
use motcua_store::demo::DEMO_PASSWORD;
use motcua_store::{Store, StoreConfig};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_restores_every_acknowledged_dossier() {
    let Some(app) = TestApp::start(Db::Sqlite).await else {
        return;
    };
    let app = Arc::new(app);
    let citizen = Session::login(&app, "congdan", DEMO_PASSWORD).await;
    let mut acknowledged = Vec::new();
    for _ in 0..2 {
        acknowledged.push(submit_one(&app, &citizen).await);
    }
    // Filings keep coming while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let filed = Arc::new(Mutex::new(Vec::new()));
    let load = {
        let (app, stop, filed) = (app.clone(), stop.clone(), filed.clone());
        tokio::spawn(async move {
            let s = Session::login(&app, "congdan", DEMO_PASSWORD).await;
            while !stop.load(Ordering::Relaxed) {
                let one = submit_one(&app, &s).await;
                filed.lock().unwrap().push(one);
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    acknowledged.extend(filed.lock().unwrap().iter().cloned());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("backup");
    let taken = app.store.backup_to(&dest).await.unwrap();
    stop.store(true, Ordering::Relaxed);
    load.await.unwrap();
    assert!(
        filed.lock().unwrap().len() > acknowledged.len() - 2,
        "filings went on during the backup"
    );
    assert!(taken.files > 1, "{taken:?}");

    let (summary, events, files) = backup::verify(&dest).await.unwrap();
    assert_eq!(summary, taken);
    assert!(events > 0 && files > 0, "{events} events, {files} files");

    let restored_dir = dir.path().join("restored");
    backup::restore_files(&dest, &restored_dir).unwrap();
    let restored = Store::open_and_migrate(&StoreConfig {
        files: Default::default(),
        data_dir: restored_dir.clone(),
        database: None,
    })
    .await
    .unwrap();
    for (id, code) in &acknowledged {
        let d =
            restored.dossier(id).await.unwrap().unwrap_or_else(|| {
                panic!("dossier {code} acknowledged before the backup is in it")
            });
        assert_eq!(d.code.as_deref(), Some(code.as_str()));
        let atts = app.store.attachments(id).await.unwrap();
        assert!(!atts.is_empty());
        assert_eq!(restored.attachments(id).await.unwrap(), atts);
        for a in atts {
            assert_eq!(
                stored_bytes(&restored, &a.sha256).await,
                stored_bytes(&app.store, &a.sha256).await,
                "{}",
                a.file_name
            );
        }
    }
    let (_, broken) = restored.verify_events().await.unwrap();
    assert!(broken.is_none(), "{broken:?}");
    restored.close().await;

    // A restore goes only into a new or empty data dir.
    assert!(matches!(
        backup::restore_files(&dest, &restored_dir),
        Err(BackupError::NotEmpty(_))
    ));
    // One changed byte of a stored file and the backup is no longer good.
    let (manifest, _) = backup::check_files(&dest).unwrap();
    let file = manifest
        .files
        .iter()
        .find(|e| e.path != backup::DATABASE && e.size > 0)
        .unwrap();
    let path = dest.join(&file.path);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    match backup::verify(&dest).await {
        Err(BackupError::Bad(why)) => assert!(why.contains(&file.path), "{why}"),
        other => panic!("a changed byte passed: {other:?}"),
    }
}

fn motcua() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_motcua"));
    c.env_remove("MOTCUA_CONFIG");
    c
}

/// A backup cut short (here by a file-size limit, as a full disk would) leaves no manifest,
/// so `backup verify` refuses it; an unwritable place is named; PostgreSQL is sent to its tools.
#[test]
fn a_failed_backup_never_passes_for_a_good_one() {
    crate::harness::init();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = motcua()
        .args(["migrate", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");

    let cut = dir.path().join("cut");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -f 64 && exec {} backup --to {} --data-dir {}",
            env!("CARGO_BIN_EXE_motcua"),
            cut.display(),
            data.display()
        ))
        .env_remove("MOTCUA_CONFIG")
        .output()
        .unwrap();
    assert!(!out.status.success(), "a backup over the limit failed");
    let out = motcua()
        .args(["backup", "verify"])
        .arg(&cut)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("never completed"), "{err}");

    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let out = motcua()
        .args(["backup", "--to"])
        .arg(file.join("backup"))
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("a-file/backup") && err.contains("Not a directory"),
        "{err}"
    );

    let out = motcua()
        .args(["backup", "--to"])
        .arg(dir.path().join("pg"))
        .args(["--database", "postgres://postgres@127.0.0.1:5432/none"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pg_dump"), "{err}");

    // A good one, for contrast: written, verified, restored once.
    let good = dir.path().join("good");
    let out = motcua()
        .args(["backup", "--to"])
        .arg(&good)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = motcua()
        .args(["backup", "verify"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = motcua()
        .arg("restore")
        .arg(&good)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "a restore over a data dir in use is refused"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
}

/// The server's daily backups: one a day, the newest `backup_keep` kept, crashed ones removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_backups_come_once_a_day_and_only_the_newest_are_kept() {
    crate::harness::init();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_and_migrate(&StoreConfig {
        files: Default::default(),
        data_dir: dir.path().join("data"),
        database: None,
    })
    .await
    .unwrap();
    let backups = dir.path().join("backups");
    let first = store.scheduled_backup(&backups, 2).await.unwrap().unwrap();
    assert!(
        store.scheduled_backup(&backups, 2).await.unwrap().is_none(),
        "not twice a day"
    );
    // Two older complete backups and one a crash left without its manifest.
    let (manifest, _) = backup::check_files(&first).unwrap();
    for days in [2, 3] {
        let old = backups.join(format!("motcua-old-{days}"));
        std::fs::create_dir_all(&old).unwrap();
        let mut m = manifest.clone();
        m.created_at = (time::OffsetDateTime::now_utc() - time::Duration::days(days))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        std::fs::write(old.join(backup::MANIFEST), serde_json::to_vec(&m).unwrap()).unwrap();
    }
    std::fs::create_dir_all(backups.join("motcua-crashed")).unwrap();
    assert_eq!(
        backup::prune(&backups, 2),
        2,
        "the oldest and the crashed one"
    );
    let kept: Vec<String> = backup::complete_backups(&backups)
        .iter()
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[1], "motcua-old-2");
    assert!(!backups.join("motcua-crashed").exists());
    // A day after the newest, the next one comes.
    std::fs::remove_dir_all(&first).unwrap();
    let next = store.scheduled_backup(&backups, 2).await.unwrap();
    assert!(next.is_some(), "the newest left is two days old");
    assert_eq!(backup::complete_backups(&backups).len(), 2);
    store.close().await;
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    if !from.exists() {
        return;
    }
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// The documented PostgreSQL procedure (docs/operations.md): pg_dump, the data dir's files
/// after it, pg_restore into an empty database, and `backup verify` on the restored pair.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgresql_procedure_restores_a_pair_that_verifies() {
    let Some(app) = TestApp::start(Db::Postgres).await else {
        return;
    };
    let citizen = Session::login(&app, "congdan", DEMO_PASSWORD).await;
    let mut filed = Vec::new();
    for _ in 0..2 {
        filed.push(submit_one(&app, &citizen).await);
    }
    let source = app.store_config();
    let url = source.database.clone().unwrap();
    let work = tempfile::tempdir().unwrap();
    let dump = work.path().join("motcua.dump");
    let out = std::process::Command::new("pg_dump")
        .args(["--format=custom", "--file"])
        .arg(&dump)
        .arg(&url)
        .output()
        .expect("pg_dump is installed with PostgreSQL");
    assert!(out.status.success(), "{out:?}");
    let files = work.path().join("files");
    for dir in ["blobs", "packs"] {
        copy_tree(&source.data_dir.join(dir), &files.join(dir));
    }

    let target = crate::harness::PgDatabase::create().await.unwrap();
    let out = std::process::Command::new("pg_restore")
        .args(["--no-owner", "--dbname", &target.url])
        .arg(&dump)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let data = work.path().join("data");
    copy_tree(&files, &data);

    let verify = |data: &std::path::Path| {
        motcua()
            .args(["backup", "verify", "--database", &target.url, "--data-dir"])
            .arg(data)
            .output()
            .unwrap()
    };
    let out = verify(&data);
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("intact chains") && !said.contains(" 0 stored files"),
        "{said}"
    );

    let restored = Store::open_and_migrate(&StoreConfig {
        files: Default::default(),
        data_dir: data.clone(),
        database: Some(target.url.clone()),
    })
    .await
    .unwrap();
    for (id, code) in &filed {
        let d = restored.dossier(id).await.unwrap().unwrap();
        assert_eq!(d.code.as_deref(), Some(code.as_str()));
        for a in app.store.attachments(id).await.unwrap() {
            assert_eq!(
                stored_bytes(&restored, &a.sha256).await,
                stored_bytes(&app.store, &a.sha256).await
            );
        }
    }
    restored.close().await;

    // A pair whose files were not restored does not pass.
    let bare = work.path().join("no-files");
    std::fs::create_dir_all(&bare).unwrap();
    let out = verify(&bare);
    assert!(!out.status.success(), "{out:?}");
}
