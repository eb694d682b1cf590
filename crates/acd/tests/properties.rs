//! Many users toggling presence while many interactions arrive, are offered, accepted,
//! declined, transferred and closed, in any order: no user above capacity, no offer held by a
//! user who is not online, no interaction lost or answered twice, queues in order and nobody
//! eligible left idle while work waits.

use std::collections::{HashMap, HashSet};

use acd::*;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use uuid::Uuid;

const USERS: u128 = 8;
const GROUPS: u128 = 3;

#[derive(Clone, Debug)]
enum Op {
    Presence(u8, u8),
    Enqueue { groups: Vec<u8>, priority: bool },
    ToUser(u8),
    Accept(u8),
    Decline(u8),
    Close(u8),
    Transfer(u8, u8),
    Release(u8),
    Say(u8, bool),
    Tick(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..USERS as u8, 0..3u8).prop_map(|(u, p)| Op::Presence(u, p)),
        (
            prop::collection::vec(0..GROUPS as u8 + 1, 1..3),
            any::<bool>()
        )
            .prop_map(|(groups, priority)| Op::Enqueue { groups, priority }),
        (0..USERS as u8).prop_map(Op::ToUser),
        any::<u8>().prop_map(Op::Accept),
        any::<u8>().prop_map(Op::Decline),
        any::<u8>().prop_map(Op::Close),
        (any::<u8>(), 0..GROUPS as u8).prop_map(|(i, g)| Op::Transfer(i, g)),
        any::<u8>().prop_map(Op::Release),
        (any::<u8>(), any::<bool>()).prop_map(|(i, g)| Op::Say(i, g)),
        (1..200u16).prop_map(Op::Tick),
    ]
}

fn uid(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn group_id(g: u128) -> Uuid {
    uid(1_000 + g)
}

fn check(a: &Acd, known: &HashSet<Uuid>, ended: &HashSet<Uuid>) -> Result<(), TestCaseError> {
    for u in 0..USERS {
        let spec = a.user(uid(u)).unwrap();
        prop_assert!(a.load(uid(u)) <= spec.capacity, "user {u} above capacity");
    }
    for e in a.entries() {
        if let EntryStatus::Offered { user, .. } = e.status {
            prop_assert_eq!(
                a.user(user).unwrap().presence,
                Presence::Online,
                "offer held by a user not online"
            );
        }
    }
    for i in known {
        prop_assert!(
            a.entry(*i).is_some() != ended.contains(i),
            "interaction {i} lost or both ended and present"
        );
    }
    for g in 0..GROUPS {
        let waiting = a.waiting(group_id(g));
        let keys: Vec<(bool, u64)> = waiting
            .iter()
            .map(|i| {
                let e = a.entry(*i).unwrap();
                (!e.priority, e.seq)
            })
            .collect();
        prop_assert!(keys.windows(2).all(|w| w[0] < w[1]), "queue out of order");
        // nobody eligible stays idle while an interaction they did not decline waits
        for i in waiting.iter().take(limits::DISPATCH_SCAN) {
            let e = a.entry(*i).unwrap();
            for m in 0..USERS {
                let member = (m % GROUPS) == g || m == 7;
                let spec = a.user(uid(m)).unwrap();
                let idle = spec.presence == Presence::Online && a.load(uid(m)) < spec.capacity;
                prop_assert!(
                    !(member && idle && !e.declined.contains(&uid(m))),
                    "user {m} idle while {i} waits in group {g}"
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]
    #[test]
    fn invariants_hold_under_any_sequence(ops in prop::collection::vec(op(), 1..80), seed in any::<u64>()) {
        let mut now = Timestamp::from_second(1_780_000_000).unwrap();
        let mut a = Acd::new(Settings::default(), seed);
        for u in 0..USERS {
            a.upsert_user(UserSpec { id: uid(u), presence: Presence::Online, capacity: 1 + (u % 3) as u32, auto_accept: u == 5, last_message_at: None }, now);
        }
        for g in 0..GROUPS {
            // user 7 is in every group
            let members = (0..USERS).filter(|m| m % GROUPS == g || *m == 7).map(uid).collect();
            let algorithm = [Algorithm::Random, Algorithm::InOrder, Algorithm::LeastChats][g as usize];
            let limits = GroupLimits { max_waiting: Some(10), max_wait: Some(SignedDuration::from_secs(300)), give_up_words: vec!["stop".into()], ..GroupLimits::default() };
            a.upsert_group(GroupSpec { id: group_id(g), members, algorithm, limits }, now);
        }
        let mut known: HashSet<Uuid> = HashSet::new();
        let mut ended: HashSet<Uuid> = HashSet::new();
        let mut resolved: HashMap<Uuid, u32> = HashMap::new();
        let mut next = 0u128;
        for op in ops {
            let list: Vec<Entry> = { let mut l: Vec<Entry> = a.entries().cloned().collect(); l.sort_by_key(|e| e.seq); l };
            let pick = |n: u8| (!list.is_empty()).then(|| list[n as usize % list.len()].clone());
            let events: Vec<Event> = match op {
                Op::Presence(u, p) => a.set_presence(uid(u as u128), [Presence::Online, Presence::Away, Presence::Offline][p as usize], now),
                Op::Enqueue { groups, priority } => {
                    next += 1;
                    let i = uid(10_000 + next);
                    let target = Target::Queues { groups: groups.iter().map(|g| group_id(*g as u128)).collect(), priority };
                    match a.enqueue(i, target, now) { Ok(ev) => { known.insert(i); ev } Err(_) => vec![] }
                }
                Op::ToUser(u) => {
                    next += 1;
                    let i = uid(10_000 + next);
                    match a.enqueue(i, Target::User { user: uid(u as u128), keep: u % 2 == 0 }, now) { Ok(ev) => { known.insert(i); ev } Err(_) => vec![] }
                }
                Op::Accept(n) => match pick(n) { Some(Entry { interaction, status: EntryStatus::Offered { user, .. }, .. }) => a.accept(interaction, user, now).unwrap(), _ => vec![] },
                Op::Decline(n) => match pick(n) { Some(Entry { interaction, status: EntryStatus::Offered { user, .. }, .. }) => a.decline(interaction, user, now).unwrap(), _ => vec![] },
                Op::Close(n) => match pick(n) { Some(e) => a.close(e.interaction, now), None => vec![] },
                Op::Transfer(n, g) => match pick(n) {
                    Some(Entry { interaction, status: EntryStatus::Assigned { user, .. }, .. }) => {
                        a.transfer(interaction, user, Target::Queues { groups: vec![group_id(g as u128)], priority: false }, now).unwrap_or_default()
                    }
                    _ => vec![],
                },
                Op::Release(n) => match pick(n) {
                    Some(Entry { interaction, status: EntryStatus::Assigned { user, .. }, .. }) => a.release(interaction, user, now).unwrap(),
                    _ => vec![],
                },
                Op::Say(n, give_up) => match pick(n) { Some(e) => a.customer_message(e.interaction, if give_up { "Stop!" } else { "hello" }, now), None => vec![] },
                Op::Tick(s) => { now += SignedDuration::from_secs(i64::from(s)); a.tick(now) }
            };
            for e in &events {
                match e {
                    Event::Closed { interaction, .. } => { prop_assert!(ended.insert(*interaction), "closed twice"); }
                    Event::Resolved { interaction, .. } => {
                        let n = resolved.entry(*interaction).or_default();
                        *n += 1;
                        prop_assert_eq!(*n, 1, "answered twice");
                    }
                    Event::Offered { user, .. } => {
                        prop_assert_eq!(a.user(*user).unwrap().presence, Presence::Online);
                    }
                    _ => {}
                }
            }
            check(&a, &known, &ended)?;
        }
    }
}
