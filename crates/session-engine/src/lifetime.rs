//! Idle and absolute timeouts: when a session ends and when extending it is worth a write.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use session_core::Clock;

/// Far enough to mean "never" without overflowing any clock arithmetic.
const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

#[derive(Clone)]
pub(crate) struct Lifetime {
    /// A session unused this long ends; each use extends it.
    pub(crate) idle: Duration,
    /// A session ends this long after it started (login), whatever its use.
    pub(crate) absolute: Option<Duration>,
    pub(crate) clock: Arc<dyn Clock>,
}

impl fmt::Debug for Lifetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lifetime")
            .field("idle", &self.idle)
            .field("absolute", &self.absolute)
            .finish_non_exhaustive()
    }
}

fn after(time: SystemTime, duration: Duration) -> SystemTime {
    time.checked_add(duration.min(FAR_FUTURE)).unwrap_or(time)
}

impl Lifetime {
    pub(crate) fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// How long a session that started at `created_at` may live if used `now`: the idle
    /// window, cut short by the absolute lifetime. `None` once the absolute lifetime is over.
    pub(crate) fn deadline(&self, created_at: SystemTime, now: SystemTime) -> Option<SystemTime> {
        let idle_deadline = after(now, self.idle);
        match self.absolute {
            None => Some(idle_deadline),
            Some(absolute) => {
                let hard = after(created_at, absolute);
                (hard > now).then(|| idle_deadline.min(hard))
            }
        }
    }

    /// Whether moving an expiry from `current` to `deadline` gains more than a quarter of the
    /// idle window, which is when a refresh is worth a write. Unknown expiry: always.
    pub(crate) fn refresh_due(&self, current: Option<SystemTime>, deadline: SystemTime) -> bool {
        current.is_none_or(|current| {
            deadline
                .duration_since(current)
                .is_ok_and(|gain| gain > self.idle / 4)
        })
    }
}

#[cfg(test)]
mod tests {
    use session_core::ManualClock;

    use super::*;

    fn lifetime(idle: u64, absolute: Option<u64>) -> Lifetime {
        Lifetime {
            idle: Duration::from_secs(idle),
            absolute: absolute.map(Duration::from_secs),
            clock: Arc::new(ManualClock::starting_now()),
        }
    }

    #[test]
    fn deadline_is_the_idle_window_cut_by_the_absolute_lifetime() {
        let now = SystemTime::now();
        let secs = Duration::from_secs;
        let l = lifetime(100, Some(1000));
        assert_eq!(l.deadline(now, now), Some(now + secs(100)));
        assert_eq!(l.deadline(now - secs(950), now), Some(now + secs(50)));
        assert_eq!(l.deadline(now - secs(1000), now), None);
        assert_eq!(
            lifetime(100, None).deadline(now - secs(10_000_000), now),
            Some(now + secs(100))
        );
        assert!(lifetime(u64::MAX, None).deadline(now, now).is_some());
    }

    #[test]
    fn refresh_only_when_a_quarter_of_the_window_is_gained() {
        let now = SystemTime::now();
        let secs = Duration::from_secs;
        let l = lifetime(100, None);
        let deadline = now + secs(100);
        assert!(!l.refresh_due(Some(now + secs(90)), deadline));
        assert!(!l.refresh_due(Some(now + secs(75)), deadline));
        assert!(l.refresh_due(Some(now + secs(74)), deadline));
        assert!(l.refresh_due(None, deadline));
        assert!(!l.refresh_due(Some(now + secs(200)), deadline));
    }
}
