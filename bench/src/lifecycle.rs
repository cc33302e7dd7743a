//! Full dossier lifecycles in the back office, reception to hand-over: receive, assign, propose,
//! approve, issue a 100 KB result (a durable file), hand over — six rule-checked transactions,
//! each with its hash-chained event (and, where the citizen is concerned, the notification and
//! outbox rows). The baseline, measured in the same run on the same database and disk, is what
//! those six steps cost at the least: six committed single-row inserts and one 100 KB file
//! written and synced.

use crate::submit::{closed_loop, print, raw_insert, CONCURRENCY};
use motcua_core::dossier::{
    Action, Actor, Command, FileKind, HandOverMethod, Inputs, Outcome, ResultDoc,
};
use motcua_core::Role;
use motcua_store::accounts::Account;
use motcua_store::dossiers::Act;
use motcua_store::{Store, StoreConfig};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const RESULT: usize = 100 * 1024;
/// Dossiers filed before the clock starts (the run stops early if they run out).
const POOL: usize = 3000;

async fn account(store: &Store, username: &str) -> anyhow::Result<Account> {
    let id = store
        .login_record(username)
        .await?
        .ok_or_else(|| anyhow::anyhow!("{username} missing"))?
        .id;
    store
        .account(&id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("{username} missing"))
}

struct People {
    citizen: Account,
    reception: Account,
    specialist: Account,
    leader: Account,
}

async fn one_backend(name: &str, config: StoreConfig, seconds: u64) -> anyhow::Result<()> {
    let store = Store::open_and_migrate(&config).await?;
    store.seed_demo().await?;
    let store = Arc::new(store);
    for (user, role) in [("bench.cv", Role::Specialist), ("bench.ld", Role::Leader)] {
        store
            .create_official(user, user, "unused", &[(role, Some("ubnd-xa".to_owned()))])
            .await?;
    }
    let people = Arc::new(People {
        citizen: account(&store, "congdan").await?,
        reception: account(&store, "tiepnhan").await?,
        specialist: account(&store, "bench.cv").await?,
        leader: account(&store, "bench.ld").await?,
    });
    let settings = motcua_web::DossierSettings::default();
    let procedure = store
        .procedure("2.000908", "ubnd-xa")
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo procedure missing"))?;
    let form: BTreeMap<String, String> = [
        ("applicant_name", "Nguyễn Văn An"),
        ("applicant_phone", "0915000001"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let mut filed = Vec::with_capacity(POOL);
    for chunk in 0..POOL / 100 {
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let (store, people, procedure, form, codes) = (
                store.clone(),
                people.clone(),
                procedure.clone(),
                form.clone(),
                settings.codes.clone(),
            );
            tasks.push(tokio::spawn(async move {
                store
                    .file_dossier(&people.citizen, &procedure, &form, &[], &codes)
                    .await
                    .map(|(d, _)| d.id)
            }));
        }
        for t in tasks {
            filed.push(t.await??);
        }
        let _ = chunk;
    }
    let filed = Arc::new(filed);

    let base_stats = raw_insert(store.clone(), seconds, 6, RESULT).await?.stats();
    let next = Arc::new(AtomicUsize::new(0));
    let s = closed_loop(seconds, {
        let (store, people, filed, next) =
            (store.clone(), people.clone(), filed.clone(), next.clone());
        let settings = settings.clone();
        move |n| {
            let (store, people, filed, next) =
                (store.clone(), people.clone(), filed.clone(), next.clone());
            let settings = settings.clone();
            async move {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(id) = filed.get(i) else {
                    // The pool ran out: idle until the clock ends rather than count nothing.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    anyhow::bail!("pool exhausted");
                };
                let step = |action, actor, by: &'static str| (action, actor, by);
                let mut bytes = format!("%PDF-1.4\n% result {n}\n").into_bytes();
                bytes.resize(RESULT, b'.');
                let (sha, size) = store.put_blob(bytes).await?;
                for (action, actor, who) in [
                    step(Action::Receive, Actor::Reception, "reception"),
                    step(Action::Assign, Actor::Leader, "leader"),
                    step(Action::Propose, Actor::Specialist, "specialist"),
                    step(Action::Approve, Actor::Leader, "leader"),
                    step(Action::IssueResult, Actor::Leader, "leader"),
                    step(Action::HandOver, Actor::Reception, "reception"),
                ] {
                    let by = match who {
                        "reception" => &people.reception,
                        "leader" => &people.leader,
                        _ => &people.specialist,
                    };
                    let inputs = Inputs {
                        assignee: Some(people.specialist.id.clone()),
                        outcome: Some(Outcome::Grant),
                        result: Some(ResultDoc {
                            sha256: sha.clone(),
                            size,
                            file_name: "ket-qua.pdf".to_owned(),
                            kind: FileKind::Pdf,
                        }),
                        hand_over: Some(HandOverMethod::Online),
                        ..Inputs::default()
                    };
                    let act = Act::new(id, Command::from_inputs(action, inputs)?, actor, by);
                    store.act(act, &settings.codes, &settings.hours).await?;
                }
                anyhow::Ok(())
            }
        }
    })
    .await;
    println!("-- {name}");
    print(
        "raw: 6 committed inserts + 100 KB file + fsync (baseline)",
        &base_stats,
        &base_stats,
    );
    match s {
        Ok(s) => print(
            "lifecycle: receive → … → hand over",
            &s.stats(),
            &base_stats,
        ),
        Err(e) if e.to_string().contains("pool exhausted") => {
            println!(
                "lifecycle: the {POOL} pre-filed dossiers ran out before {seconds} s; raise POOL"
            )
        }
        Err(e) => return Err(e),
    }
    Ok(())
}

pub async fn run(seconds: u64, database: Option<crate::submit::Database>) -> anyhow::Result<()> {
    println!(
        "== back-office lifecycles ({seconds} s each, {CONCURRENCY} concurrent officers, 6 steps and a 100 KB result each)"
    );
    crate::submit::on_both_backends("lifecycle", database, |name, config| {
        one_backend(name, config, seconds)
    })
    .await
}
