//! Test support, not API: a fresh Postgres database per test on the server `scripts/test`
//! starts (`BITROUTER_TEST_POSTGRES`, a superuser's URL), so the ledger's suites run on
//! SQLite and on Postgres alike. Without that variable the Postgres tests skip (saying so),
//! unless `BITROUTER_REQUIRE_POSTGRES=1` (set by `scripts/test`) makes that a failure.

use std::io::Write as _;

use sqlx::Connection as _;

/// The test server's URL.
pub const URL_VAR: &str = "BITROUTER_TEST_POSTGRES";
/// `1`: a missing test server fails the test instead of skipping it.
pub const REQUIRE_VAR: &str = "BITROUTER_REQUIRE_POSTGRES";

/// The URL of a new, empty database `bitrouter_test_<name>` (dropped first if an earlier run
/// left it), or `None` when there is no test server and none is required.
///
/// # Panics
/// When the server is required but not given, or cannot create the database.
pub async fn postgres(name: &str) -> Option<String> {
    let Some(base) = std::env::var(URL_VAR).ok().filter(|s| !s.is_empty()) else {
        if std::env::var(REQUIRE_VAR).as_deref() == Ok("1") {
            panic!(
                "{REQUIRE_VAR}=1 but {URL_VAR} is not set: scripts/test could not start a \
                 Postgres (its output says why)"
            );
        }
        // Straight to stderr, not through the test harness's capture: the skip shows.
        let _ = writeln!(
            std::io::stderr(),
            "skipped: the Postgres half of a ledger test ({name}): {URL_VAR} is not set \
             (scripts/test starts a server and sets it)"
        );
        return None;
    };
    let db: String = format!("bitrouter_test_{name}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(63)
        .collect();
    let mut admin = sqlx::PgConnection::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test Postgres {base}: {e}"));
    for sql in [
        format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
        format!("CREATE DATABASE {db}"),
    ] {
        sqlx::raw_sql(&sql)
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("{sql} on the test Postgres: {e}"));
    }
    let _ = admin.close().await;
    Some(with_database(&base, &db))
}

/// `url` naming database `db` instead of its own.
fn with_database(url: &str, db: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let after_scheme = head.find("://").map_or(0, |i| i + 3);
    let authority_end = head[after_scheme..]
        .find('/')
        .map_or(head.len(), |i| after_scheme + i);
    let mut out = format!("{}/{db}", &head[..authority_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_database_is_swapped_in_the_url() {
        let w = super::with_database;
        assert_eq!(w("postgres://u@h:1/base", "t"), "postgres://u@h:1/t");
        assert_eq!(w("postgres://u@h:1", "t"), "postgres://u@h:1/t");
        assert_eq!(
            w("postgres://u:p@h:1/base?sslmode=disable", "t"),
            "postgres://u:p@h:1/t?sslmode=disable"
        );
    }
}
