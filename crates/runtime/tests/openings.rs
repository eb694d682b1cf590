//! An agent acting on a conversation while the customer's turn that opened it is still being
//! written: the action waits for that turn instead of finding no interaction and being lost.
//! The opening turn is held between its step and its commit (`store::Faulty::hold_next`)
//! while the agent frees their place (the waiting conversation is offered and accepted at once)
//! and closes it.

use std::sync::Arc;
use std::time::Duration;

use acd::Presence;
use flow::catalogue::ObjectKind;
use flow::entry_point::Channel;
use flow::exec::Inbound;
use flow::interaction::InteractionStatus;
use runtime::distribution::{Distribution, DistributionSettings, UserFields};
use runtime::entry_points::EntryPointFields;
use runtime::objects::ObjectFields;
use runtime::{Conversations, InboundMessage, Maker, ManualClock};
use serde_json::json;
use store::{Faulty, InteractionStore, SqliteStore};
use uuid::Uuid;

fn message(id: &str, customer: &str) -> InboundMessage {
    InboundMessage {
        profile_name: None,
        message_id: id.into(),
        customer: customer.into(),
        message: Inbound {
            text: "hello".into(),
            ..Inbound::default()
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_closing_a_conversation_offered_during_its_first_turn_is_not_lost() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("switchyard.db"))
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new("2026-06-01T08:00:00Z".parse().unwrap()));
    let maker = Arc::new(Maker::new(
        Arc::new(sqlite.clone()),
        clock,
        jiff::tz::TimeZone::UTC,
    ));
    let faulty = Arc::new(Faulty::new(sqlite.clone()));
    // the (unused) callback is on loopback: allowed explicitly
    let settings = runtime::conversations::Settings {
        outbound: runtime::outbound::OutboundPolicy::allowing_loopback(),
        ..Default::default()
    };
    let conv = Conversations::start(faulty.clone(), maker.clone(), settings);
    let d = Distribution::load(
        Arc::new(sqlite.clone()),
        maker.clone(),
        DistributionSettings::default(),
    )
    .await
    .unwrap();
    conv.attach_distribution(d.clone());

    let (ann, _) = d
        .create_user(
            UserFields {
                reference: Some("ann".into()),
                name: Some("Ann".into()),
                capacity: Some(1),
                auto_accept: Some(true),
            },
            Default::default(),
        )
        .await
        .unwrap();
    conv.agent_presence(ann.id, Presence::Online).await.unwrap();
    maker
        .create_object(
            ObjectKind::Queue,
            ObjectFields {
                reference: Some("Q".into()),
                name: Some("Queue".into()),
                description: None,
                data: Some(json!({"members": [ann.id]})),
                secret: None,
                webhook_secret: None,
            },
        )
        .await
        .unwrap();
    let id = |n: u128| Uuid::from_u128(n).to_string();
    let doc = json!({
        "format": "switchyard.routing", "format_version": 1,
        "routing": {"reference": "R", "name": "R", "kind": "interaction_start", "channel_family": "messaging"},
        "versions": [{"number": 1, "name": "v1", "status": "production", "tree": {
            "actions": [
                {"id": id(1), "type": "start", "params": {}},
                {"id": id(2), "type": "distribute_to_queue", "params": {"target": {"to": "queue", "queue": {"by": "reference", "reference": "Q"}}}},
                {"id": id(3), "type": "simple_message", "params": {"message": "handled"}}
            ],
            "links": [
                {"id": id(11), "from": id(1), "branch": "ok", "to": id(2)},
                {"id": id(12), "from": id(2), "branch": "processed", "to": id(3)}
            ]
        }}]
    });
    let routing = maker
        .import(flow::document::from_value(doc).unwrap())
        .await
        .unwrap()
        .routing
        .id;
    conv.create_entry_point(EntryPointFields {
        reference: Some("ep".into()),
        name: Some("Entry".into()),
        channel: Some(Channel::Http),
        start_routing_id: Some(Some(routing)),
        // replies wait in the outbox: no dispatcher runs here
        callback_url: Some(Some("http://127.0.0.1:9/replies".into())),
        secret: Some("simulation-channel-secret-0123456789abcdef".into()),
        ..Default::default()
    })
    .await
    .unwrap();

    // ann holds the first conversation: her only place is taken
    let x1 = conv.receive("ep", message("m1", "c1")).await.unwrap();
    let x1 = x1.interaction_id;
    assert_eq!(d.holder(x1).await, Some((ann.id, true)));

    // the second customer's first turn queues its interaction, then is held before its commit
    let hold = faulty.hold_next();
    let second = tokio::spawn({
        let conv = conv.clone();
        async move { conv.receive("ep", message("m2", "c2")).await }
    });
    tokio::time::timeout(Duration::from_secs(10), hold.reached.notified())
        .await
        .expect("the second turn reaches its commit");

    // ann closes the first: her place goes to the second, accepted at once, before its row is
    // written; she closes that one too
    let close_first = tokio::spawn({
        let conv = conv.clone();
        async move { conv.agent_close(ann.id, x1).await }
    });
    let mut x2 = None;
    for _ in 0..500 {
        let mine: Vec<Uuid> = d
            .read(|a| a.conversations_of(ann.id))
            .await
            .into_iter()
            .filter(|i| *i != x1)
            .collect();
        if let Some(i) = mine.first()
            && d.holder(*i).await == Some((ann.id, true))
        {
            x2 = Some(*i);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let x2 = x2.expect("the second conversation is assigned to ann during its first turn");
    assert!(
        faulty.interaction(x2).await.unwrap().is_none(),
        "its row is not written yet"
    );
    let close_second = tokio::spawn({
        let conv = conv.clone();
        async move { conv.agent_close(ann.id, x2).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    hold.release.notify_one();

    let second = second.await.unwrap().unwrap();
    assert_eq!(second.interaction_id, x2);
    close_first.await.unwrap().unwrap();
    close_second.await.unwrap().unwrap();
    for x in [x1, x2] {
        let row = faulty.interaction(x).await.unwrap().unwrap();
        assert_eq!(row.status, InteractionStatus::Closed, "{x}");
        let events = faulty.events(x, 0, 100).await.unwrap();
        let handled = events.iter().any(|e| {
            matches!(
                serde_json::from_value::<engine::Event>(e.event.clone()),
                Ok(engine::Event::MessageOut {
                    message: flow::exec::Outbound::Text { text }
                }) if text == "handled"
            )
        });
        assert!(handled, "{x} went to Processed: {events:?}");
    }
    assert!(d.read(|a| a.conversations_of(ann.id)).await.is_empty());
}
