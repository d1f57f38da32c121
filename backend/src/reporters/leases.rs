//! How the reporters are divided among the server processes, whatever the database: each
//! process holds about its share (the unpaused reporters over the processes forwarding now),
//! takes reporters nobody holds up to it, and gives up what it holds beyond it plus a little
//! slack, so a process that starts takes over part of the work and a small change of the count
//! does not move reporters back and forth.

use crate::db::LeaseCensus;

/// What a process does with its leases at one scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Reporters nobody holds to take, at most.
    pub take: i64,
    /// Leases to give up (another process takes them at its next scan).
    pub give_up: i64,
}

/// A share is exceeded by this part of it (at least one reporter) before leases are given up.
const SLACK_PER_MILLE: i64 = 10;

/// The step for `census`, taking at most `max_take` at once.
pub fn step(census: LeaseCensus, max_take: i64) -> Step {
    let holders = census.holders.max(1);
    let reporters = census.reporters.max(0);
    let share = (reporters + holders - 1) / holders;
    let slack = (share * SLACK_PER_MILLE / 1000).max(1);
    let take = (share - census.held).clamp(0, max_take.max(0));
    let give_up = if census.held > share + slack {
        census.held - share
    } else {
        0
    };
    Step { take, give_up }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn census(reporters: i64, holders: i64, held: i64) -> LeaseCensus {
        LeaseCensus {
            reporters,
            holders,
            held,
            leader: false,
        }
    }

    #[rstest]
    #[case::alone_takes_everything(census(10_000, 1, 0), 20_000, Step { take: 10_000, give_up: 0 })]
    #[case::alone_a_few_at_a_time(census(10_000, 1, 0), 500, Step { take: 500, give_up: 0 })]
    #[case::alone_holding_all(census(10_000, 1, 10_000), 20_000, Step { take: 0, give_up: 0 })]
    #[case::a_second_process_came(census(10_000, 2, 10_000), 20_000, Step { take: 0, give_up: 5_000 })]
    #[case::the_newcomer_takes_its_half(census(10_000, 2, 0), 20_000, Step { take: 5_000, give_up: 0 })]
    #[case::three_share_rounding_up(census(10_000, 3, 0), 20_000, Step { take: 3_334, give_up: 0 })]
    #[case::one_of_three_died(census(10_000, 2, 3_334), 20_000, Step { take: 1_666, give_up: 0 })]
    #[case::within_slack_nothing_moves(census(10_000, 3, 3_360), 20_000, Step { take: 0, give_up: 0 })]
    #[case::past_slack_down_to_the_share(census(10_000, 3, 3_400), 20_000, Step { take: 0, give_up: 66 })]
    #[case::one_reporter_two_processes(census(1, 2, 1), 20_000, Step { take: 0, give_up: 0 })]
    #[case::deleted_reporters_shrink_the_share(census(3, 1, 5), 20_000, Step { take: 0, give_up: 2 })]
    #[case::nothing_to_forward(census(0, 3, 0), 20_000, Step { take: 0, give_up: 0 })]
    #[case::no_holders_counted_is_one(census(4, 0, 0), 20_000, Step { take: 4, give_up: 0 })]
    fn each_process_holds_about_its_share(
        #[case] census: LeaseCensus,
        #[case] max_take: i64,
        #[case] want: Step,
    ) {
        assert_eq!(step(census, max_take), want);
    }

    #[test]
    fn shares_cover_every_reporter() {
        for reporters in 0..200 {
            for holders in 1..7 {
                let take = step(census(reporters, holders, 0), i64::MAX).take;
                assert!(take * holders >= reporters, "{reporters} over {holders}");
            }
        }
    }
}
