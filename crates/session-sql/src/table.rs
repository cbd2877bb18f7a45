//! The session table: its validated name, and every SQL statement the store sends, written
//! once per backend with the table's name in it.

use crate::SqlStoreError;

/// The longest table name: PostgreSQL's 63-byte identifiers, less the index suffix.
pub(crate) const MAX_TABLE_NAME: usize = 48;

/// A table name that is a plain identifier: `[a-z_][a-z0-9_]*`, at most [`MAX_TABLE_NAME`]
/// bytes. Lowercase only, so the name means the same quoted or not (PostgreSQL folds
/// unquoted names to lowercase), and it is always quoted, so reserved words work too.
pub(crate) fn validate_table_name(name: &str) -> Result<(), SqlStoreError> {
    let mut bytes = name.bytes();
    let valid = (1..=MAX_TABLE_NAME).contains(&name.len())
        && bytes
            .next()
            .is_some_and(|first| first.is_ascii_lowercase() || first == b'_')
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(SqlStoreError::InvalidTableName {
            name: name.to_owned(),
        })
    }
}

/// The statements of one backend for one table.
#[derive(Debug)]
pub(crate) struct Statements {
    /// `CREATE TABLE IF NOT EXISTS …` and `CREATE INDEX IF NOT EXISTS …`.
    pub(crate) schema: [String; 2],
    pub(crate) load: String,
    pub(crate) save: String,
    pub(crate) replace: String,
    pub(crate) compare_and_swap: String,
    pub(crate) delete: String,
    pub(crate) touch: String,
    pub(crate) sweep: String,
}

/// PostgreSQL: the expiry is a `timestamptz`, compared with the server's `now()`, so every
/// instance of the app shares one clock; time to live in milliseconds as `$n`.
#[cfg(feature = "postgres")]
pub(crate) fn postgres(table: &str) -> Statements {
    let t = format!("\"{table}\"");
    let expiry = |n: u8| format!("now() + ${n}::float8 * INTERVAL '1 millisecond'");
    Statements {
        schema: [
            format!(
                "CREATE TABLE IF NOT EXISTS {t} (\n    \
                 id TEXT COLLATE \"C\" PRIMARY KEY,\n    \
                 data TEXT NOT NULL,\n    \
                 expires_at TIMESTAMPTZ NOT NULL\n)"
            ),
            format!("CREATE INDEX IF NOT EXISTS \"{table}_expires_at_idx\" ON {t} (expires_at)"),
        ],
        load: format!(
            "SELECT data, (EXTRACT(EPOCH FROM expires_at) * 1000)::BIGINT FROM {t} \
             WHERE id = $1 AND expires_at > now()"
        ),
        save: format!(
            "INSERT INTO {t} (id, data, expires_at) VALUES ($1, $2, {}) \
             ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, expires_at = EXCLUDED.expires_at",
            expiry(3)
        ),
        replace: format!(
            "UPDATE {t} SET data = $2, expires_at = {} WHERE id = $1 AND expires_at > now()",
            expiry(3)
        ),
        compare_and_swap: format!(
            "UPDATE {t} SET data = $3, expires_at = {} \
             WHERE id = $1 AND data = $2 AND expires_at > now()",
            expiry(4)
        ),
        delete: format!("DELETE FROM {t} WHERE id = $1"),
        touch: format!(
            "UPDATE {t} SET expires_at = {} WHERE id = $1 AND expires_at > now()",
            expiry(2)
        ),
        // The outer condition is checked again on a row another transaction changed meanwhile
        // (a `touch`), so a session refreshed between the two is never deleted; SKIP LOCKED
        // lets the sweepers of several instances share the work instead of queueing.
        sweep: format!(
            "DELETE FROM {t} WHERE id IN \
             (SELECT id FROM {t} WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED) \
             AND expires_at <= now()"
        ),
    }
}

/// SQLite: the expiry is an integer, milliseconds since the Unix epoch, compared with the
/// time the store passes (one host, one clock); `?n` parameters.
#[cfg(feature = "sqlite")]
pub(crate) fn sqlite(table: &str) -> Statements {
    let t = format!("\"{table}\"");
    Statements {
        schema: [
            format!(
                "CREATE TABLE IF NOT EXISTS {t} (\n    \
                 id TEXT PRIMARY KEY NOT NULL,\n    \
                 data TEXT NOT NULL,\n    \
                 expires_at INTEGER NOT NULL\n)"
            ),
            format!("CREATE INDEX IF NOT EXISTS \"{table}_expires_at_idx\" ON {t} (expires_at)"),
        ],
        load: format!("SELECT data, expires_at FROM {t} WHERE id = ?1 AND expires_at > ?2"),
        save: format!(
            "INSERT INTO {t} (id, data, expires_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at"
        ),
        replace: format!(
            "UPDATE {t} SET data = ?2, expires_at = ?3 WHERE id = ?1 AND expires_at > ?4"
        ),
        compare_and_swap: format!(
            "UPDATE {t} SET data = ?3, expires_at = ?4 \
             WHERE id = ?1 AND data = ?2 AND expires_at > ?5"
        ),
        delete: format!("DELETE FROM {t} WHERE id = ?1"),
        touch: format!("UPDATE {t} SET expires_at = ?2 WHERE id = ?1 AND expires_at > ?3"),
        sweep: format!(
            "DELETE FROM {t} WHERE rowid IN \
             (SELECT rowid FROM {t} WHERE expires_at <= ?1 LIMIT ?2)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lowercase_identifiers_are_accepted() {
        for name in [
            "sessions",
            "_s",
            "app_sessions_2",
            &"a".repeat(MAX_TABLE_NAME),
        ] {
            assert!(validate_table_name(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn anything_that_could_break_out_of_the_quotes_is_refused() {
        for name in [
            "",
            "1sessions",
            "Sessions",
            "web sessions",
            "sessions\"; DROP TABLE users; --",
            "public.sessions",
            "séssions",
            "a-b",
            &"a".repeat(MAX_TABLE_NAME + 1),
        ] {
            assert!(
                matches!(
                    validate_table_name(name),
                    Err(SqlStoreError::InvalidTableName { name: refused }) if refused == name
                ),
                "{name:?}"
            );
        }
    }
}
