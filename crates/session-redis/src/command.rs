//! The Redis commands of each storage operation: one round trip each.
//!
//! The conditional update is a Lua script on the one key, which Redis runs without
//! interleaving any other command. `WATCH`/`MULTI` could not do it: the connection is
//! multiplexed between concurrent requests, and `WATCH` state belongs to the connection.
//! (`MULTI`/`EXEC` alone is fine: the transaction is written in one piece.)

use std::time::{Duration, SystemTime};

use redis::Cmd;

use crate::value;

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

/// `SET key <value> PX ttl`: insert or replace `text`, with native expiry and the same
/// expiry in the value ([`value`](crate::value)).
pub(crate) fn set(key: &str, text: &str, ttl: Duration, now: SystemTime) -> Cmd {
    let ttl = ttl_millis(ttl);
    let mut cmd = redis::cmd("SET");
    cmd.arg(key)
        .arg(value::encode(text, value::expiry_millis(now, ttl)))
        .arg("PX")
        .arg(ttl);
    cmd
}

/// `SET key <value> PX ttl XX`: like [`set`], but only over a live key; nil (nothing written)
/// when the key is missing, whether it was deleted or expired. Sent a second time after a
/// dropped connection, it writes the same value again, or nothing if the key was deleted in
/// between: never a key that is gone.
pub(crate) fn replace(key: &str, text: &str, ttl: Duration, now: SystemTime) -> Cmd {
    let mut cmd = set(key, text, ttl, now);
    cmd.arg("XX");
    cmd
}

/// Replaces the value with `ARGV[2]` (time to live `ARGV[3]` ms) only if its text is exactly
/// `ARGV[1]`; 1 if it did, 0 if not (a missing key is never created). A value in another form
/// than this store's is all text.
const COMPARE_AND_SWAP: &str = "\
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local text = v
if string.match(v, '^@%d+ ') then
  local space = string.find(v, ' ', 1, true)
  text = string.sub(v, space + 1)
end
if text == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0";

/// `EVAL <compare and swap> 1 key expected new ttl`: atomic, as every script is.
///
/// Sent as `EVAL` each time rather than `EVALSHA`: the script is small next to the two texts
/// it carries, and there is no `NOSCRIPT` round trip after a restart or failover.
pub(crate) fn compare_and_swap(
    key: &str,
    expected: &str,
    new: &str,
    ttl: Duration,
    now: SystemTime,
) -> Cmd {
    let ttl = ttl_millis(ttl);
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(COMPARE_AND_SWAP)
        .arg(1)
        .arg(key)
        .arg(expected)
        .arg(value::encode(new, value::expiry_millis(now, ttl)))
        .arg(ttl);
    cmd
}

/// Sets the time to live to `ARGV[1]` ms and the expiry in the value to `ARGV[2]`, keeping the
/// text; 1 when the key exists, 0 when it does not (nothing is created). A value in another
/// form (written before the expiry was kept in the value) is all text: it is given the form.
const TOUCH: &str = "\
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local text = ' ' .. v
if string.match(v, '^@%d+ ') then
  local space = string.find(v, ' ', 1, true)
  text = string.sub(v, space)
end
redis.call('SET', KEYS[1], '@' .. ARGV[2] .. text, 'PX', ARGV[1])
return 1";

/// `EVAL <touch> 1 key ttl expiry`: extends the session without changing its text, keeping
/// the expiry in the value equal to the key's.
pub(crate) fn touch(key: &str, ttl: Duration, now: SystemTime) -> Cmd {
    let ttl = ttl_millis(ttl);
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(TOUCH)
        .arg(1)
        .arg(key)
        .arg(ttl)
        .arg(value::expiry_millis(now, ttl));
    cmd
}

/// `DEL key`: 0 or 1, both success.
pub(crate) fn del(key: &str) -> Cmd {
    let mut cmd = redis::cmd("DEL");
    cmd.arg(key);
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
    fn commands_are_single_round_trips() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        assert_eq!(args(&get("p:id")), ["GET", "p:id"]);
        assert_eq!(
            args(&set("p:id", "{}", Duration::from_secs(2), now)),
            ["SET", "p:id", "@1002000 {}", "PX", "2000"]
        );
        assert_eq!(
            args(&replace("p:id", "{}", Duration::from_secs(2), now)),
            ["SET", "p:id", "@1002000 {}", "PX", "2000", "XX"]
        );
        assert_eq!(args(&del("p:id")), ["DEL", "p:id"]);
        let touch = args(&touch("p:id", Duration::ZERO, now));
        assert_eq!(touch[..2], ["EVAL", TOUCH]);
        assert_eq!(touch[2..], ["1", "p:id", "1", "1000001"]);
        let cas = args(&compare_and_swap(
            "p:id",
            "old",
            "new",
            Duration::from_secs(1),
            now,
        ));
        assert_eq!(cas[..2], ["EVAL", COMPARE_AND_SWAP]);
        assert_eq!(cas[2..], ["1", "p:id", "old", "@1001000 new", "1000"]);
    }
}
