//! The Redis commands of each storage operation: one round trip each.
//!
//! The conditional update is a Lua script on the one key, which Redis runs without
//! interleaving any other command. `WATCH`/`MULTI` could not do it: the connection is
//! multiplexed between concurrent requests, and `WATCH` state belongs to the connection.
//! (`MULTI`/`EXEC` alone is fine: the transaction is written in one piece.)

use std::time::{Duration, SystemTime};

use redis::{Cmd, Pipeline};

/// The longest time to live sent to Redis: 100 years, "practically never".
///
/// Redis rejects an expiry whose deadline in milliseconds overflows a signed 64-bit integer,
/// so larger TTLs (up to [`Duration::MAX`]) are clamped to this.
pub(crate) const MAX_TTL_MILLIS: u64 = 100 * 365 * 24 * 3600 * 1000;

/// The time to live in whole milliseconds, between 1 (Redis refuses 0) and
/// [`MAX_TTL_MILLIS`].
pub(crate) fn ttl_millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_TTL_MILLIS)
}

/// `GET key`: the text, or nil.
pub(crate) fn get(key: &str) -> Cmd {
    let mut cmd = redis::cmd("GET");
    cmd.arg(key);
    cmd
}

/// `GET key; PTTL key` pipelined: the text and its remaining time to live in one round trip
/// and two commands (a `MULTI`/`EXEC` would double the commands Redis runs). A write landing
/// between the two only skews the expiry the middleware uses to decide on a refresh; an entry
/// expiring between them reads as "no expiry known", which makes the next `touch` find nothing.
pub(crate) fn get_with_pttl(key: &str) -> Pipeline {
    let mut pipe = redis::pipe();
    pipe.cmd("GET").arg(key).cmd("PTTL").arg(key);
    pipe
}

/// When an entry expires, from its `PTTL` read at `now`: `None` when it has no expiry (`-1`,
/// a key written by someone else) or no longer exists (`-2`).
pub(crate) fn expires_at(now: SystemTime, pttl_millis: i64) -> Option<SystemTime> {
    let millis = u64::try_from(pttl_millis).ok()?;
    now.checked_add(Duration::from_millis(millis))
}

/// `SET key text PX ttl`: insert or replace, with native expiry.
pub(crate) fn set(key: &str, text: &str, ttl: Duration) -> Cmd {
    let mut cmd = redis::cmd("SET");
    cmd.arg(key).arg(text).arg("PX").arg(ttl_millis(ttl));
    cmd
}

/// Replaces the text with `ARGV[2]` (time to live `ARGV[3]` ms) only if it is exactly
/// `ARGV[1]`; 1 if it did, 0 if not (a missing key is never created).
const COMPARE_AND_SWAP: &str = "\
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0";

/// `EVAL <compare and swap> 1 key expected new ttl`: atomic, as every script is.
///
/// Sent as `EVAL` each time rather than `EVALSHA`: the script is small next to the two texts
/// it carries, and there is no `NOSCRIPT` round trip after a restart or failover.
pub(crate) fn compare_and_swap(key: &str, expected: &str, new: &str, ttl: Duration) -> Cmd {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(COMPARE_AND_SWAP)
        .arg(1)
        .arg(key)
        .arg(expected)
        .arg(new)
        .arg(ttl_millis(ttl));
    cmd
}

/// `DEL key`: 0 or 1, both success.
pub(crate) fn del(key: &str) -> Cmd {
    let mut cmd = redis::cmd("DEL");
    cmd.arg(key);
    cmd
}

/// `PEXPIRE key ttl`: 1 when the key exists (its TTL was set), 0 when it does not.
pub(crate) fn pexpire(key: &str, ttl: Duration) -> Cmd {
    let mut cmd = redis::cmd("PEXPIRE");
    cmd.arg(key).arg(ttl_millis(ttl));
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(cmd: &Cmd) -> Vec<String> {
        cmd.args_iter()
            .map(|arg| match arg {
                redis::Arg::Simple(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                _ => "<other>".to_owned(),
            })
            .collect()
    }

    #[test]
    fn ttl_is_whole_milliseconds() {
        assert_eq!(ttl_millis(Duration::from_secs(90)), 90_000);
        assert_eq!(ttl_millis(Duration::from_micros(2_500)), 2);
    }

    #[test]
    fn zero_and_sub_millisecond_ttls_become_one_millisecond() {
        assert_eq!(ttl_millis(Duration::ZERO), 1);
        assert_eq!(ttl_millis(Duration::from_nanos(1)), 1);
        assert_eq!(ttl_millis(Duration::from_micros(999)), 1);
    }

    #[test]
    fn huge_ttls_are_clamped() {
        assert_eq!(ttl_millis(Duration::MAX), MAX_TTL_MILLIS);
        assert_eq!(
            ttl_millis(Duration::from_secs(u64::MAX / 1000)),
            MAX_TTL_MILLIS
        );
        // Far from overflowing Redis's deadline arithmetic (now + ttl in i64 milliseconds).
        assert!(MAX_TTL_MILLIS < (i64::MAX as u64) / 2);
    }

    #[test]
    fn expiry_comes_from_the_remaining_ttl() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(
            expires_at(now, 1_500),
            Some(now + Duration::from_millis(1_500))
        );
        assert_eq!(expires_at(now, 0), Some(now));
        assert_eq!(expires_at(now, -1), None, "no expiry");
        assert_eq!(expires_at(now, -2), None, "no key");
    }

    #[test]
    fn load_entry_is_one_transaction() {
        let pipe = get_with_pttl("p:id");
        let commands: Vec<Vec<String>> = pipe.cmd_iter().map(args).collect();
        assert_eq!(commands, [vec!["GET", "p:id"], vec!["PTTL", "p:id"]]);
        assert!(!pipe.is_transaction(), "two commands, not four");
    }

    #[test]
    fn commands_are_single_round_trips() {
        assert_eq!(args(&get("p:id")), ["GET", "p:id"]);
        assert_eq!(
            args(&set("p:id", "{}", Duration::from_secs(2))),
            ["SET", "p:id", "{}", "PX", "2000"]
        );
        assert_eq!(args(&del("p:id")), ["DEL", "p:id"]);
        assert_eq!(
            args(&pexpire("p:id", Duration::ZERO)),
            ["PEXPIRE", "p:id", "1"]
        );
        let cas = args(&compare_and_swap(
            "p:id",
            "old",
            "new",
            Duration::from_secs(1),
        ));
        assert_eq!(cas[0], "EVAL");
        assert_eq!(cas[1], COMPARE_AND_SWAP);
        assert_eq!(cas[2..], ["1", "p:id", "old", "new", "1000"]);
    }
}
