//! A dossier's history is its events: a store written before events carried payloads opens,
//! migrates, verifies and shows its timeline as it did; and every dossier a sequence of commands
//! leaves behind is exactly the fold of its events' payloads, with a chain that verifies.

use crate::back_office::{people, workflow_with_consult, Env, PROCEDURE_CODE};
use crate::harness::{Db, Session, TestApp, TestData};
use motcua_core::dossier::{Action, EventKind, Lifecycle, Status};
use motcua_store::demo::DEMO_PASSWORD;
use motcua_store::dossiers::Act;
use motcua_store::Store;
use proptest::prelude::*;
use std::io::Read;
use std::sync::Arc;

/// A SQLite data dir holding the store that the release before typed payloads wrote: the demo
/// with its sample dossiers, and every back-office action taken once through `Store::act`.
async fn store_before_payloads() -> TestData {
    let data = TestData::new(Db::Sqlite)
        .await
        .expect("SQLite needs nothing");
    let gz = include_bytes!("fixtures/store-before-transitions.sqlite3.gz");
    let mut db = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut db)
        .unwrap();
    std::fs::write(data.dir.path().join("motcua.sqlite3"), db).unwrap();
    data
}

/// Dossier ids and their events' kinds and notes, read from the file as it was written.
async fn old_events(data: &TestData) -> Vec<(String, String, String)> {
    let path = data.dir.path().join("motcua.sqlite3");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let rows = sqlx::query_as(
        "SELECT dossier_id, kind, note FROM dossier_events ORDER BY dossier_id, seq",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_written_before_payloads_migrates_verifies_and_shows_its_timeline_as_before() {
    let data = store_before_payloads().await;
    let before = old_events(&data).await;
    assert!(before.len() > 2000, "the fixture holds a real history");
    let (status, out, err) = crate::catalogue::cli(&["migrate"], &data).await;
    assert_eq!(status, 0, "migrate: {out}{err}");
    let (status, out, err) = crate::catalogue::cli(&["audit", "verify"], &data).await;
    assert_eq!(status, 0, "audit verify: {out}{err}");

    let app = TestApp::on(Db::Sqlite, data).await;
    let store = &app.store;
    // Every old event reads as it was written: no payload, its note is its text.
    let mut kinds = std::collections::BTreeSet::new();
    let mut by_dossier = std::collections::BTreeMap::<&str, Vec<&str>>::new();
    for (id, kind, note) in &before {
        by_dossier.entry(id).or_default().push(note);
        kinds.insert(kind.as_str());
    }
    for kind in [
        "register",
        "request_supplement",
        "transfer",
        "answer",
        "apologise_and_reschedule",
        "hand_over",
        "send_back",
    ] {
        assert!(kinds.contains(kind), "the fixture has a {kind} event");
    }
    for (id, notes) in &by_dossier {
        let events = store.dossier_events(id).await.unwrap();
        assert_eq!(events.len(), notes.len());
        for (e, note) in events.iter().zip(notes) {
            assert!(e.payload.is_empty() && e.payload().is_none());
            assert_eq!(e.text_vi(), *note);
        }
    }
    // The forms find the reason inside the old text, where it used to be split out.
    let (supplement, note) = before
        .iter()
        .find(|(_, k, _)| k == "request_supplement" && k.contains("Lý do"))
        .or_else(|| {
            before
                .iter()
                .find(|(_, k, n)| k == "request_supplement" && n.contains(" — Lý do: "))
        })
        .map(|(id, _, n)| (id.clone(), n.clone()))
        .unwrap();
    let events = store.dossier_events(&supplement).await.unwrap();
    let request = events
        .iter()
        .rev()
        .find(|e| e.kind == EventKind::Act(Action::RequestSupplement))
        .unwrap();
    assert_eq!(
        request.reason_vi(),
        note.split(" — Lý do: ").nth(1).unwrap()
    );
    let (apology, apology_note) = before
        .iter()
        .find(|(_, k, _)| k == "apologise_and_reschedule")
        .map(|(id, _, n)| (id.clone(), n.clone()))
        .unwrap();
    let events = store.dossier_events(&apology).await.unwrap();
    let e = events.last().unwrap();
    assert_eq!(
        e.reason_vi(),
        apology_note.rsplit_once(" — Hẹn lại: ").unwrap().0
    );

    // The timeline pages show the old text as before.
    let leader = Session::login(&app, "lanhdao", DEMO_PASSWORD).await;
    for (id, note) in [(&supplement, &note), (&apology, &apology_note)] {
        let (status, page, _) = leader.get(&format!("/dossiers/{id}")).await;
        assert_eq!(status, 200);
        assert!(
            page.contains(note.as_str()),
            "the timeline of {id} shows «{note}»"
        );
    }

    // An old dossier takes new actions; its chain goes on and verifies, old and new together.
    let waiting = store
        .desk_dossiers("ttpvhcc-tinh", Status::Submitted, 1)
        .await
        .unwrap();
    let d = waiting
        .first()
        .expect("the fixture has a dossier waiting at the desk");
    let reception = crate::back_office::account(store, "tiepnhan").await;
    let receive = motcua_core::dossier::Command::Receive {
        time_limit: Some(motcua_core::calendar::deadline::TimeLimit::working_days(15)),
        note: String::new(),
    };
    let settings = motcua_web::DossierSettings::default();
    let act = Act::new(
        &d.id,
        receive,
        motcua_core::dossier::Actor::Reception,
        &reception,
    );
    store
        .act(act, &settings.codes, &settings.hours)
        .await
        .unwrap();
    let events = store.dossier_events(&d.id).await.unwrap();
    assert!(events[..events.len() - 1]
        .iter()
        .all(|e| e.payload.is_empty()));
    assert!(events.last().unwrap().payload().is_some());
    assert_eq!(store.verify_events().await.unwrap().1, None);
}

/// Folds a dossier's events and compares the result with its row.
async fn replays_to_its_row(store: &Store, id: &str) -> Result<(), String> {
    let events = store.dossier_events(id).await.map_err(|e| e.to_string())?;
    let payloads: Vec<_> = events
        .iter()
        .map(|e| {
            e.payload()
                .ok_or_else(|| format!("event {} of {id} has no payload", e.seq))
        })
        .collect::<Result<_, _>>()?;
    let statuses: Vec<Status> = events.iter().map(|e| e.status).collect();
    let folded = Lifecycle::replay(
        statuses
            .into_iter()
            .zip(payloads.iter().map(|p| &p.changes)),
    )
    .map_err(|e| e.to_string())?;
    let row = store
        .dossier(id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no row")?;
    if folded != row.life {
        return Err(format!(
            "{id}: replayed {folded:#?}\nstored {:#?}",
            row.life
        ));
    }
    Ok(())
}

/// Random sequences of commands, by random people, on random dossiers (most allowed, some not):
/// each dossier is the fold of its events, and the chain verifies. The demo's sample dossiers,
/// whose histories are written through the same transitions, fold to their rows too.
async fn replaying_payloads_rebuilds_every_dossier(db: Db) {
    let Some((_data, store)) = crate::harness::demo_store(db).await else {
        return;
    };
    let store = Arc::new(store);
    let p = store
        .procedure(PROCEDURE_CODE, "so-xd")
        .await
        .unwrap()
        .unwrap();
    let admin = crate::back_office::account(&store, "quantricoquan").await;
    store
        .save_workflow(&p.id, &workflow_with_consult(), &admin)
        .await
        .unwrap();
    let (result_sha, _) = store
        .put_blob(motcua_core::dossier::minimal_pdf("kết quả", 600))
        .await
        .unwrap();
    let people = people(&store).await;

    let mut demo = Vec::new();
    for status in Status::ALL {
        let at_desk = store
            .desk_dossiers("ttpvhcc-tinh", status, 1000)
            .await
            .unwrap();
        demo.extend(at_desk.into_iter().map(|d| d.id));
    }
    assert!(demo.len() > 100, "most samples reach the province's desk");
    for id in &demo {
        replays_to_its_row(&store, id).await.unwrap();
    }

    let runtime = tokio::runtime::Handle::current();
    let env_store = store.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let env = Env::new(&env_store, p.id.clone(), people, result_sha);
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases: 6,
            failure_persistence: None,
            ..ProptestConfig::default()
        });
        // Per dossier, a list of (pick, person): pick < 220 takes an action the person may take
        // now, otherwise any action (which the rules usually refuse, changing nothing).
        let sequences =
            prop::collection::vec(prop::collection::vec((0u8..255, 0usize..5), 1..16), 1..4);
        runner.run(&sequences, |dossiers| {
            runtime.block_on(async {
                for steps in &dossiers {
                    let id = env.dossier_in(Status::Draft).await;
                    for (pick, person) in steps {
                        let (_, who) = env.people.all()[*person];
                        let d = env.store.dossier(&id).await.unwrap().unwrap();
                        let allowed = env
                            .store
                            .available_actions(&d, who, &env.hours)
                            .await
                            .unwrap();
                        let action = if *pick < 220 && !allowed.is_empty() {
                            allowed[usize::from(*pick) % allowed.len()].0
                        } else {
                            Action::ALL[usize::from(*pick) % Action::ALL.len()]
                        };
                        let n = env.store.dossier_events(&id).await.unwrap().len();
                        let after = env.try_act(&id, action, who).await;
                        let m = env.store.dossier_events(&id).await.unwrap().len();
                        prop_assert_eq!(
                            m,
                            n + usize::from(after.is_ok()),
                            "{:?} by {}",
                            action,
                            who.display_name
                        );
                    }
                    if let Err(e) = replays_to_its_row(env.store, &id).await {
                        return Err(TestCaseError::fail(e));
                    }
                }
                prop_assert_eq!(env.store.verify_events().await.unwrap().1, None);
                Ok(())
            })
        })
    })
    .await
    .unwrap();
    if let Err(e) = outcome {
        panic!("{e}");
    }
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_payloads_rebuilds_every_dossier_sqlite() {
    replaying_payloads_rebuilds_every_dossier(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_payloads_rebuilds_every_dossier_postgres() {
    replaying_payloads_rebuilds_every_dossier(Db::Postgres).await;
}
