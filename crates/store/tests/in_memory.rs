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

fn insert_row(db: Uuid, n: u64, limit: u64) -> DbWrite {
    let now: Timestamp = "2026-06-01T08:00:00Z".parse().unwrap();
    let mut values = serde_json::Map::new();
    values.insert("number".into(), n.into());
    values.insert("note".into(), format!("é \"{n}\"").into());
    DbWrite::Insert {
        row: DbRow {
            id: Uuid::now_v7(),
            database_id: db,
            values,
            revision: 1,
            created_at: now,
            updated_at: now,
        },
        keys: vec![
            DbKey {
                column: "number".into(),
                key: n.to_string(),
                unique: true,
            },
            DbKey {
                column: "note".into(),
                key: format!("e \"{n}\""),
                unique: false,
            },
        ],
        limit,
    }
}

#[tokio::test]
async fn rows_added_together_are_as_rows_added_one_by_one() {
    let s = SqliteStore::in_memory().await.unwrap();
    let db = Uuid::now_v7();
    let batch: Vec<DbWrite> = (1..=300).map(|n| insert_row(db, n, 1_000)).collect();
    s.db_write(&batch).await.unwrap();
    assert_eq!(s.db_count(db).await.unwrap(), 300);
    let DbWrite::Insert { row, .. } = &batch[41] else {
        unreachable!()
    };
    assert_eq!(s.db_row(db, row.id).await.unwrap().as_ref(), Some(row));
    let by_unique = s
        .db_rows_by_key(db, "number", "42", true, None, 10)
        .await
        .unwrap();
    assert_eq!(by_unique.items, vec![row.clone()]);
    let by_index = s
        .db_rows_by_key(db, "note", "e \"42\"", false, None, 10)
        .await
        .unwrap();
    assert_eq!(by_index.items.len(), 1);
    let held = s
        .db_unique_held(
            db,
            &[
                ("number".into(), "42".into()),
                ("number".into(), "999".into()),
            ],
        )
        .await
        .unwrap();
    assert_eq!(held, vec![("number".to_owned(), "42".to_owned())]);
    // a batch with one taken unique value is refused whole
    let taken = vec![insert_row(db, 301, 1_000), insert_row(db, 7, 1_000)];
    assert!(matches!(
        s.db_write(&taken).await,
        Err(StoreError::Unique(_))
    ));
    assert_eq!(s.db_count(db).await.unwrap(), 300);
    // so is one that would pass the database's limit
    let over: Vec<DbWrite> = (400..402).map(|n| insert_row(db, n, 301)).collect();
    assert!(matches!(s.db_write(&over).await, Err(StoreError::Full)));
    let fits: Vec<DbWrite> = (400..402).map(|n| insert_row(db, n, 302)).collect();
    s.db_write(&fits).await.unwrap();
    assert_eq!(s.db_count(db).await.unwrap(), 302);
}
