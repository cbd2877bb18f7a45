//! Which session IDs each user has, so "log out everywhere else" of `session-login` (and its
//! axum twin) knows what to invalidate.
//!
//! An entry is keyed by the session's ID at login (kept in the session's value as
//! [`LoginSession::login_id`]) and holds its current ID: with periodic ID rotation
//! (`SESSION_ROTATE_ID_SECS`) the session moves to new IDs, and each use records the one it
//! has now. An ID a rotation moved a moment ago, before the device's next use told the list,
//! still ends the session: `invalidate_id` follows its forward.
//!
//! Each entry lives as long as its session can: until the idle timeout after its last use, and
//! no longer than the absolute timeout after login. Every write drops the entries whose session
//! must have ended, so the list holds the live sessions only, and it never holds more than
//! [`CAPACITY`] entries: past that, a login ends the session closest to its end.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use session_core::SessionId;

use crate::LoginSession;

/// The most entries kept (sessions tracked at once, all users together).
pub const CAPACITY: usize = 10_000;

/// Kept past the computed end: the session's own clock starts a moment after ours (its expiry
/// is written when the response leaves), and an entry must never end before its session, or
/// "log out everywhere else" would miss it.
const GRACE: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct Entry {
    username: String,
    /// The session's ID now (its login ID until an ID rotation moves it).
    current: SessionId,
    /// Login: the start of the absolute timeout.
    started: SystemTime,
    /// The last request that used the session: the start of the idle timeout.
    last_seen: SystemTime,
}

/// The live session IDs of each user (this process only; with several instances keep it in
/// the same shared store as the sessions).
#[derive(Debug)]
pub struct Devices {
    idle: Duration,
    absolute: Duration,
    capacity: usize,
    entries: Mutex<HashMap<SessionId, Entry>>,
}

impl Devices {
    /// A list for sessions with these idle and absolute timeouts.
    pub fn new(idle: Duration, absolute: Duration) -> Self {
        Self {
            idle,
            absolute,
            capacity: CAPACITY,
            entries: Mutex::default(),
        }
    }

    #[cfg(test)]
    fn with_capacity(self, capacity: usize) -> Self {
        Self { capacity, ..self }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// When the entry's session must have ended; `None` if too far to represent.
    fn ends(&self, entry: &Entry) -> Option<SystemTime> {
        let idle = entry.last_seen.checked_add(self.idle.saturating_add(GRACE));
        let hard = entry
            .started
            .checked_add(self.absolute.saturating_add(GRACE));
        match (idle, hard) {
            (Some(idle), Some(hard)) => Some(idle.min(hard)),
            (idle, hard) => idle.or(hard),
        }
    }

    fn prune(&self, entries: &mut HashMap<SessionId, Entry>, now: SystemTime) {
        entries.retain(|_, entry| self.ends(entry).is_none_or(|end| end > now));
    }

    /// Records a login of `username` under `id`, its login ID. Returns the current IDs of the
    /// entries dropped to stay within the capacity (the sessions closest to their end): the
    /// caller must end those sessions.
    pub fn add(&self, username: &str, id: SessionId, now: SystemTime) -> Vec<SessionId> {
        let mut entries = self.lock();
        self.prune(&mut entries, now);
        let mut evicted = Vec::new();
        while entries.len() >= self.capacity {
            let soonest = entries
                .iter()
                .min_by_key(|(_, entry)| self.ends(entry).map_or((1, None), |end| (0, Some(end))))
                .map(|(id, _)| id.clone());
            let Some(soonest) = soonest.and_then(|login| entries.remove(&login)) else {
                break;
            };
            evicted.push(soonest.current);
        }
        let entry = Entry {
            username: username.to_owned(),
            current: id.clone(),
            started: now,
            last_seen: now,
        };
        entries.insert(id, entry);
        evicted
    }

    /// Records a use of `user`'s session, now under `current` (a new ID if it rotated), which
    /// extends its idle timeout. Never adds an entry.
    pub fn seen(&self, user: &LoginSession, current: SessionId, now: SystemTime) {
        let Some(login) = &user.login_id else { return };
        if let Some(entry) = self.lock().get_mut(login) {
            entry.last_seen = entry.last_seen.max(now);
            entry.current = current;
        }
    }

    /// Forgets `user`'s session (it ended).
    pub fn remove(&self, user: &LoginSession, now: SystemTime) {
        let mut entries = self.lock();
        if let Some(login) = &user.login_id {
            entries.remove(login);
        }
        self.prune(&mut entries, now);
    }

    /// Forgets every live session of `user`'s username but `user`'s own, and returns their
    /// current IDs.
    pub fn take_others(&self, user: &LoginSession, now: SystemTime) -> Vec<SessionId> {
        let mut entries = self.lock();
        self.prune(&mut entries, now);
        let others: Vec<SessionId> = entries
            .iter()
            .filter(|(login, entry)| {
                entry.username == user.username && Some(*login) != user.login_id.as_ref()
            })
            .map(|(login, _)| login.clone())
            .collect();
        others
            .iter()
            .filter_map(|login| entries.remove(login))
            .map(|entry| entry.current)
            .collect()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE: Duration = Duration::from_secs(60);
    const ABSOLUTE: Duration = Duration::from_secs(600);

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    /// `username`'s session value, logged in under `login`.
    fn user(username: &str, login: &SessionId) -> LoginSession {
        LoginSession {
            username: username.to_owned(),
            visits: 0,
            login_id: Some(login.clone()),
        }
    }

    /// A value of `username` whose session is not in the list.
    fn stranger(username: &str) -> LoginSession {
        user(username, &SessionId::generate())
    }

    #[test]
    fn entries_of_idle_sessions_are_gone_after_the_next_write() {
        let devices = Devices::new(IDLE, ABSOLUTE);
        let t0 = SystemTime::now();
        let (used, idle) = (SessionId::generate(), SessionId::generate());
        devices.add("alice", used.clone(), t0);
        devices.add("bob", idle.clone(), t0);
        devices.seen(&user("alice", &used), used.clone(), t0 + secs(50));
        // At the end of bob's idle window his session may still be alive: kept.
        devices.add("carol", SessionId::generate(), t0 + IDLE);
        assert_eq!(devices.len(), 3);
        // Past it (and the grace second) the session is gone for sure: so is the entry.
        devices.add("carol", SessionId::generate(), t0 + IDLE + GRACE + secs(1));
        assert_eq!(devices.len(), 3, "bob's entry went, carol's second came");
        let others = devices.take_others(&stranger("bob"), t0 + secs(70));
        assert!(others.is_empty(), "bob's idle session is not listed");
        let others = devices.take_others(&stranger("alice"), t0 + secs(70));
        assert_eq!(others, [used], "alice's used session lives on");
    }

    #[test]
    fn entries_end_at_the_absolute_timeout_however_active() {
        let devices = Devices::new(IDLE, ABSOLUTE);
        let t0 = SystemTime::now();
        let active = SessionId::generate();
        devices.add("alice", active.clone(), t0);
        for minute in 1..=11 {
            devices.seen(
                &user("alice", &active),
                active.clone(),
                t0 + secs(60 * minute - 10),
            );
        }
        devices.remove(&stranger("bob"), t0 + ABSOLUTE);
        assert_eq!(devices.len(), 1);
        devices.remove(&stranger("bob"), t0 + ABSOLUTE + GRACE + secs(1));
        assert_eq!(devices.len(), 0, "absolute timeout over");
    }

    #[test]
    fn a_full_list_ends_the_session_closest_to_its_end() {
        let devices = Devices::new(IDLE, ABSOLUTE).with_capacity(3);
        let t0 = SystemTime::now();
        let ids: Vec<SessionId> = (0..3).map(|_| SessionId::generate()).collect();
        for id in &ids {
            assert!(devices.add("alice", id.clone(), t0).is_empty());
        }
        devices.seen(&user("alice", &ids[0]), ids[0].clone(), t0 + secs(20));
        devices.seen(&user("alice", &ids[2]), ids[2].clone(), t0 + secs(10));
        let evicted = devices.add("bob", SessionId::generate(), t0 + secs(30));
        assert_eq!(evicted, [ids[1].clone()]);
        assert_eq!(devices.len(), 3);
    }

    #[test]
    fn huge_timeouts_do_not_overflow() {
        let devices = Devices::new(Duration::MAX, Duration::MAX).with_capacity(1);
        let now = SystemTime::now();
        let first = SessionId::generate();
        devices.add("alice", first.clone(), now);
        assert_eq!(devices.add("alice", SessionId::generate(), now), [first]);
    }

    #[test]
    fn take_others_keeps_the_current_session_and_other_users() {
        let devices = Devices::new(IDLE, ABSOLUTE);
        let now = SystemTime::now();
        let (laptop, phone, bob) = (
            SessionId::generate(),
            SessionId::generate(),
            SessionId::generate(),
        );
        devices.add("alice", laptop.clone(), now);
        devices.add("alice", phone.clone(), now);
        devices.add("bob", bob, now);
        assert_eq!(devices.take_others(&user("alice", &phone), now), [laptop]);
        assert!(devices.take_others(&user("alice", &phone), now).is_empty());
        assert_eq!(devices.len(), 2);
        devices.seen(&stranger("alice"), SessionId::generate(), now);
        assert_eq!(devices.len(), 2, "seen never adds");
    }

    /// A session whose ID rotated is invalidated under the ID it has now, and found by its
    /// login ID; its idle timeout follows its uses under the new ID.
    #[test]
    fn entries_follow_rotated_ids() {
        let devices = Devices::new(IDLE, ABSOLUTE);
        let t0 = SystemTime::now();
        let (laptop, phone) = (SessionId::generate(), SessionId::generate());
        devices.add("alice", laptop.clone(), t0);
        devices.add("alice", phone.clone(), t0);
        let (rotated, again) = (SessionId::generate(), SessionId::generate());
        devices.seen(&user("alice", &laptop), rotated, t0 + secs(30));
        devices.seen(&user("alice", &laptop), again.clone(), t0 + secs(50));
        devices.seen(&user("alice", &phone), SessionId::generate(), t0 + secs(50));
        let later = t0 + IDLE + GRACE + secs(10);
        assert_eq!(devices.take_others(&user("alice", &phone), later), [again]);
    }
}
