//! The in-memory store is the SQLite store without the file: each one is its own database, it
//! keeps what it was given for as long as it lives, and guarded writes refuse stale revisions
//! exactly as the file does.

use flow::{ChannelFamily, Routing, RoutingKind};
use jiff::Timestamp;
use store::*;
use uuid::Uuid;

fn routing(reference: &str) -> Routing {
    let now: Timestamp = "2026-06-01T08:00:00Z".parse().unwrap();
    Routing {
        id: Uuid::now_v7(),
        reference: reference.into(),
        name: reference.into(),
        description: String::new(),
        kind: RoutingKind::InteractionStart,
        channel_family: ChannelFamily::Messaging,
        revision: 1,
        created_at: now,
        updated_at: now,
        schedule_failure: None,
    }
}

fn insert(r: &Routing) -> Changes {
    Changes {
        routing: Some(RoutingWrite::Insert(r.clone())),
        versions: vec![],
    }
}

#[tokio::test]
async fn keeps_its_data_apart_and_refuses_stale_writes() {
    let a = SqliteStore::in_memory().await.unwrap();
    let b = SqliteStore::in_memory().await.unwrap();
    let r = routing("R1");
    a.apply(insert(&r)).await.unwrap();
    assert_eq!(a.count_routings().await.unwrap(), 1);
    assert_eq!(
        b.count_routings().await.unwrap(),
        0,
        "each store is its own database"
    );
    assert_eq!(
        a.apply(insert(&routing("R1")))
            .await
            .unwrap_err()
            .to_string(),
        StoreError::Unique("reference").to_string()
    );

    let mut changed = r.clone();
    changed.name = "renamed".into();
    changed.revision = 2;
    let update = |expected_revision| Changes {
        routing: Some(RoutingWrite::Update {
            routing: changed.clone(),
            expected_revision,
        }),
        versions: vec![],
    };
    a.apply(update(1)).await.unwrap();
    assert!(matches!(
        a.apply(update(1)).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(a.routing(r.id).await.unwrap().unwrap().name, "renamed");

    // still there after the pool has been idle
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(
        a.routing_by_reference("R1").await.unwrap().unwrap().id,
        r.id
    );
}
