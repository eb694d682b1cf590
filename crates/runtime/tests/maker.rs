//! The Maker service on a real SQLite file with a manual clock.

use std::sync::Arc;
use std::time::Duration;

use flow::tree::{NewAction, Position};
use flow::{ChannelFamily, RoutingKind, VersionStatus};
use jiff::{SignedDuration, Timestamp};
use runtime::maker::NewRouting;
use runtime::{Maker, MakerError, ManualClock};
use serde_json::json;
use store::SqliteStore;
use tokio::sync::watch;
use uuid::Uuid;

struct Env {
    dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
            clock: Arc::new(ManualClock::new("2026-06-01T08:00:00Z".parse().unwrap())),
        }
    }

    async fn maker(&self) -> (Arc<Maker>, SqliteStore) {
        let store = SqliteStore::open(&self.dir.path().join("db.sqlite"))
            .await
            .unwrap();
        let maker = Maker::new(
            Arc::new(store.clone()),
            self.clock.clone(),
            jiff::tz::TimeZone::get("Europe/Paris").unwrap(),
        );
        (Arc::new(maker), store)
    }

    fn now(&self) -> Timestamp {
        use runtime::Clock;
        self.clock.now()
    }
}

async fn routing(maker: &Maker, reference: &str) -> Uuid {
    maker
        .create_routing(NewRouting {
            name: format!("Routing {reference}"),
            reference: reference.into(),
            description: String::new(),
            kind: RoutingKind::InteractionStart,
            channel_family: ChannelFamily::Messaging,
        })
        .await
        .unwrap()
        .routing
        .id
}

/// A development version with Start → Simple message.
async fn deployable_version(maker: &Maker, routing: Uuid, name: &str) -> Uuid {
    let v = maker.create_version(routing, name, "", None).await.unwrap();
    let id = v.version.record.id;
    let start = v.version.tree.actions[0].id;
    maker
        .edit(id, None, |v, family| {
            let new = NewAction {
                id: Uuid::now_v7(),
                action_type: "simple_message".into(),
                name: None,
                params: json!({"message": format!("Hi from {name}")}),
                record_passage: true,
                position: Position { x: 0.0, y: 120.0 },
            };
            Ok(v.tree
                .add_action(family, new, Some((start, "ok".into(), Uuid::now_v7())))?)
        })
        .await
        .unwrap();
    id
}

async fn status(maker: &Maker, id: Uuid) -> VersionStatus {
    maker.version(id).await.unwrap().version.record.status
}

async fn wait_for(mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not reached in time");
}

#[tokio::test]
async fn a_scheduled_production_fires_at_its_time_and_a_cancelled_one_does_not() {
    let env = Env::new();
    let (maker, _store) = env.maker().await;
    let r = routing(&maker, "SCHED").await;
    let v1 = deployable_version(&maker, r, "one").await;
    let v2 = deployable_version(&maker, r, "two").await;
    maker
        .schedule(v1, env.now() + SignedDuration::from_hours(2))
        .await
        .unwrap();
    maker
        .schedule(v2, env.now() + SignedDuration::from_hours(26))
        .await
        .unwrap();
    maker.unschedule(v2).await.unwrap();
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(runtime::scheduler::run(maker.clone(), stopped));

    env.clock.advance(SignedDuration::from_mins(119));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        status(&maker, v1).await,
        VersionStatus::Development,
        "not before its time"
    );

    env.clock.advance(SignedDuration::from_mins(1));
    wait_for(async || status(&maker, v1).await == VersionStatus::Production).await;
    let view = maker.routing(r).await.unwrap();
    assert!(view.schedules().is_empty());
    assert!(view.routing.schedule_failure.is_none());

    env.clock.advance(SignedDuration::from_hours(48));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        status(&maker, v2).await,
        VersionStatus::Development,
        "the cancelled plan never fires"
    );
    stop.send(true).unwrap();
    task.await.unwrap();
}

#[tokio::test]
async fn a_production_due_while_the_server_was_stopped_fires_at_start_up() {
    let env = Env::new();
    let (maker, store) = env.maker().await;
    let r = routing(&maker, "DOWN").await;
    let v = deployable_version(&maker, r, "night").await;
    maker
        .schedule(v, env.now() + SignedDuration::from_hours(1))
        .await
        .unwrap();
    drop(maker);
    store.close().await;

    env.clock.advance(SignedDuration::from_hours(3));
    let (maker, _store) = env.maker().await;
    assert_eq!(status(&maker, v).await, VersionStatus::Development);
    let (_stop, stopped) = watch::channel(false);
    tokio::spawn(runtime::scheduler::run(maker.clone(), stopped));
    wait_for(async || status(&maker, v).await == VersionStatus::Production).await;
}

#[tokio::test]
async fn a_plan_that_became_invalid_records_its_failure_and_changes_nothing() {
    let env = Env::new();
    let (maker, _store) = env.maker().await;
    let r = routing(&maker, "BROKEN").await;
    let prod = deployable_version(&maker, r, "live").await;
    maker.put_in_production(prod).await.unwrap();
    let v = deployable_version(&maker, r, "next").await;
    maker
        .schedule(v, env.now() + SignedDuration::from_hours(1))
        .await
        .unwrap();
    // the version is emptied after it was planned: it is blank at its time
    let message = maker.version(v).await.unwrap().version.tree.actions[1].id;
    maker
        .edit(v, None, |v, _| Ok(v.tree.delete_action(message)?))
        .await
        .unwrap();

    env.clock.advance(SignedDuration::from_hours(2));
    assert_eq!(maker.fire_due().await.unwrap(), 1);
    assert_eq!(status(&maker, prod).await, VersionStatus::Production);
    let after = maker.version(v).await.unwrap().version.record;
    assert_eq!(
        (after.status, after.scheduled_at),
        (VersionStatus::Development, None)
    );
    let failure = maker
        .routing(r)
        .await
        .unwrap()
        .routing
        .schedule_failure
        .expect("failure recorded");
    assert_eq!(
        (failure.version_id, failure.code.as_str()),
        (v, "blank_version")
    );
    assert_eq!(
        maker.fire_due().await.unwrap(),
        0,
        "a refused plan does not fire again"
    );

    // a planned version that is deleted records that too
    let w = deployable_version(&maker, r, "later").await;
    maker
        .schedule(w, env.now() + SignedDuration::from_hours(1))
        .await
        .unwrap();
    maker.delete_version(w).await.unwrap();
    let failure = maker
        .routing(r)
        .await
        .unwrap()
        .routing
        .schedule_failure
        .unwrap();
    assert_eq!(
        (failure.version_id, failure.code.as_str()),
        (w, "version_deleted")
    );
}

#[tokio::test]
async fn if_match_refuses_stale_edits_and_concurrent_edits_are_not_lost() {
    let env = Env::new();
    let (maker, _store) = env.maker().await;
    let r = routing(&maker, "EDIT").await;
    let v = maker.create_version(r, "v", "", None).await.unwrap();
    let id = v.version.record.id;
    let rev = v.version.record.revision;
    let add = |maker: Arc<Maker>, if_match: Option<u64>| async move {
        maker
            .edit(id, if_match, |v, family| {
                let new = NewAction {
                    id: Uuid::now_v7(),
                    action_type: "node".into(),
                    name: None,
                    params: json!({}),
                    record_passage: false,
                    position: Position::default(),
                };
                Ok(v.tree.add_action(family, new, None)?)
            })
            .await
    };
    add(maker.clone(), Some(rev)).await.unwrap();
    match add(maker.clone(), Some(rev)).await {
        Err(MakerError::PreconditionFailed { current }) => assert_eq!(current, rev + 1),
        other => panic!("expected a precondition failure, got {other:?}"),
    }
    let tasks: Vec<_> = (0..8)
        .map(|_| tokio::spawn(add(maker.clone(), None)))
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let after = maker.version(id).await.unwrap().version;
    assert_eq!(after.tree.actions.len(), 1 + 1 + 8, "no edit was lost");
    assert_eq!(after.record.revision, rev + 9);
}

#[tokio::test]
async fn export_import_export_is_identical() {
    let env = Env::new();
    let (maker, _store) = env.maker().await;
    let r = routing(&maker, "DOC").await;
    let a = deployable_version(&maker, r, "a").await;
    let b = deployable_version(&maker, r, "b").await;
    maker.put_in_production(a).await.unwrap();
    maker.put_in_production(b).await.unwrap();
    let c = deployable_version(&maker, r, "c").await;
    maker.put_in_test(c).await.unwrap();
    maker
        .schedule(c, env.now() + SignedDuration::from_hours(30))
        .await
        .unwrap();
    let first = maker.export(r).await.unwrap();

    let other = Env::new();
    let (maker2, _store2) = other.maker().await;
    let imported = maker2.import(first.clone()).await.unwrap();
    let second = maker2.export(imported.routing.id).await.unwrap();
    assert_eq!(
        serde_json::to_string_pretty(&first).unwrap(),
        serde_json::to_string_pretty(&second).unwrap()
    );
    // the same reference cannot be imported twice
    assert!(matches!(
        maker2.import(first).await,
        Err(MakerError::ReferenceTaken(_))
    ));
}

#[tokio::test]
async fn copying_a_routing_makes_every_version_a_development_version() {
    let env = Env::new();
    let (maker, _store) = env.maker().await;
    let r = routing(&maker, "SRC").await;
    let a = deployable_version(&maker, r, "a").await;
    maker.put_in_production(a).await.unwrap();
    let b = deployable_version(&maker, r, "b").await;
    maker.put_in_test(b).await.unwrap();
    let copy = maker
        .copy_routing(r, "Copy", "SRC-COPY", None)
        .await
        .unwrap();
    assert_eq!(copy.versions.len(), 2);
    assert!(
        copy.versions
            .iter()
            .all(|v| v.status == VersionStatus::Development
                && !v.in_test
                && v.scheduled_at.is_none())
    );
    let original = maker.version(a).await.unwrap().version.tree;
    let copied = maker
        .version(copy.versions[0].id)
        .await
        .unwrap()
        .version
        .tree;
    assert_eq!(original.actions.len(), copied.actions.len());
    assert!(
        original
            .actions
            .iter()
            .all(|o| copied.action(o.id).is_none()),
        "fresh identifiers"
    );
    assert!(matches!(
        maker.copy_routing(r, "Again", "SRC", None).await,
        Err(MakerError::ReferenceTaken(_))
    ));
}
