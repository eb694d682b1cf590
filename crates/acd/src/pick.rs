//! The four algorithms: which of a group's eligible users gets an interaction.

use jiff::Timestamp;

use crate::model::Algorithm;

/// An eligible member of a group.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Candidate {
    /// Position among the group's members.
    pub member: usize,
    /// Open conversations (assigned or offered).
    pub load: u32,
    pub last_message_at: Option<Timestamp>,
}

/// What *least chats* and *most waiting* order candidates by: open conversations, last
/// message to a customer (never first), member position.
type Rank = (u32, Option<Timestamp>, usize);

/// splitmix64: the state's random generator.
pub(crate) fn next_u64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Index into `candidates` of the chosen user. `rotation` is the member position after the one
/// *in order* served last; `members` is the group's size.
pub(crate) fn pick(
    algorithm: Algorithm,
    candidates: &[Candidate],
    members: usize,
    rotation: usize,
    rng: &mut u64,
) -> Option<usize> {
    if candidates.is_empty() {
        return None;
    }
    let best_by = |key: &dyn Fn(&Candidate) -> Rank| {
        (0..candidates.len()).min_by_key(|&i| key(&candidates[i]))
    };
    match algorithm {
        Algorithm::Random => {
            // multiply-shift: uniform enough for any group size here (≤ 1 000)
            let i = ((u128::from(next_u64(rng)) * candidates.len() as u128) >> 64) as usize;
            Some(i)
        }
        Algorithm::InOrder => {
            let n = members.max(1);
            best_by(&|c| (0, None, (c.member + n - rotation % n) % n))
        }
        Algorithm::MostWaiting => best_by(&|c| (0, c.last_message_at, c.member)),
        Algorithm::LeastChats => best_by(&|c| (c.load, c.last_message_at, c.member)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(member: usize, load: u32, last: Option<i64>) -> Candidate {
        Candidate {
            member,
            load,
            last_message_at: last.map(|s| Timestamp::from_second(s).unwrap()),
        }
    }

    #[test]
    fn in_order_starts_after_the_last_served() {
        let all = [c(0, 0, None), c(2, 0, None), c(3, 0, None)];
        let mut rng = 1;
        let pick_at =
            |rotation| pick(Algorithm::InOrder, &all, 4, rotation, &mut 1).map(|i| all[i].member);
        assert_eq!(pick_at(0), Some(0));
        assert_eq!(
            pick_at(1),
            Some(2),
            "member 1 is not eligible: the next one is"
        );
        assert_eq!(pick_at(3), Some(3));
        assert_eq!(pick_at(4), Some(0), "wraps around");
        assert_eq!(pick(Algorithm::InOrder, &[], 4, 0, &mut rng), None);
    }

    #[test]
    fn most_waiting_and_least_chats() {
        let all = [
            c(0, 2, Some(50)),
            c(1, 1, Some(10)),
            c(2, 1, Some(30)),
            c(3, 3, None),
        ];
        let mut rng = 1;
        let mut got = |a| all[pick(a, &all, 4, 0, &mut rng).unwrap()].member;
        assert_eq!(got(Algorithm::MostWaiting), 3, "never messaged comes first");
        assert_eq!(
            got(Algorithm::LeastChats),
            1,
            "fewest chats; the tie goes to the most waiting"
        );
        let tie = [c(0, 1, Some(10)), c(1, 1, Some(10))];
        assert_eq!(
            pick(Algorithm::MostWaiting, &tie, 2, 0, &mut rng),
            Some(0),
            "then member order"
        );
    }

    #[test]
    fn random_is_uniform_within_bounds_and_replayable() {
        let all: Vec<Candidate> = (0..5).map(|m| c(m, 0, None)).collect();
        let mut rng = 42;
        let mut counts = [0u32; 5];
        for _ in 0..50_000 {
            counts[pick(Algorithm::Random, &all, 5, 0, &mut rng).unwrap()] += 1;
        }
        // 10 000 expected each; 5 standard deviations ≈ 450
        for n in counts {
            assert!((9_550..=10_450).contains(&n), "{counts:?}");
        }
        let (mut a, mut b) = (7, 7);
        let run = |s: &mut u64| {
            (0..20)
                .map(|_| pick(Algorithm::Random, &all, 5, 0, s).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(&mut a), run(&mut b));
    }
}
