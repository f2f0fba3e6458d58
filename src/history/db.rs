//! The two stores behind one small interface: statements run in one transaction, reads,
//! and migrations — over values that are integers or text, all the schema has. The SQL
//! is one text for both, with PostgreSQL's `$1` parameters; for SQLite they become
//! `?1`, its own numbered parameters, meaning the same thing.

use postgres::types::ToSql as PgToSql;

/// A value in or out of the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum V {
    I(i64),
    T(String),
}

impl V {
    pub fn int(&self) -> i64 {
        match self {
            V::I(i) => *i,
            V::T(t) => t.parse().unwrap_or(0),
        }
    }

    pub fn text(&self) -> &str {
        match self {
            V::T(t) => t,
            V::I(_) => "",
        }
    }

    pub fn take(&mut self) -> String {
        match self {
            V::T(t) => std::mem::take(t),
            V::I(i) => i.to_string(),
        }
    }
}

impl From<&str> for V {
    fn from(t: &str) -> V {
        V::T(t.to_string())
    }
}

impl From<&String> for V {
    fn from(t: &String) -> V {
        V::T(t.clone())
    }
}

impl rusqlite::ToSql for V {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(match self {
            V::I(i) => rusqlite::types::ToSqlOutput::from(*i),
            V::T(t) => rusqlite::types::ToSqlOutput::from(t.as_str()),
        })
    }
}

/// How long connecting (and the server's first answer) may take.
const CONNECT_WAIT: std::time::Duration = std::time::Duration::from_secs(15);

pub enum Db {
    Sqlite(rusqlite::Connection),
    /// The synchronous client owns a small tokio runtime inside: callers stay
    /// synchronous (ARCHITECTURE.md).
    Postgres(Box<postgres::Client>),
}

fn lite(sql: &str) -> String {
    sql.replace('$', "?")
}

impl Db {
    pub fn sqlite(path: &std::path::Path) -> Result<Db, String> {
        let e = |e: rusqlite::Error| e.to_string();
        let conn = rusqlite::Connection::open(path).map_err(e)?;
        // A `history show` may read while a `send` records; writers wait, not fail.
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(e)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(e)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(e)?;
        Ok(Db::Sqlite(conn))
    }

    /// `url` has no password (the campaign check refuses one); it comes from
    /// `PGPASSWORD`, as for psql.
    pub fn postgres(url: &str) -> Result<Db, String> {
        let mut config: postgres::Config = url.parse().map_err(|e: postgres::Error| {
            format!("{e} (expected postgres://USER@HOST:PORT/DATABASE)")
        })?;
        if let Ok(pw) = std::env::var("PGPASSWORD") {
            config.password(pw);
        }
        // A server that stops answering must not hang a send: a lost network shows as
        // unacknowledged data (tcp_user_timeout, keepalives), a stuck statement is
        // ended by the server (statement_timeout), and a server that accepts the
        // connection but never answers is given up on after CONNECT_WAIT.
        config
            .connect_timeout(CONNECT_WAIT)
            .tcp_user_timeout(std::time::Duration::from_secs(60))
            .keepalives(true)
            .keepalives_idle(std::time::Duration::from_secs(30))
            .options("-c statement_timeout=300000");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(config.connect(postgres::NoTls).map_err(|e| pg_err(&e)));
        });
        let client = rx.recv_timeout(CONNECT_WAIT).map_err(|_| {
            format!(
                "no answer within {} s (is it a PostgreSQL server?)",
                CONNECT_WAIT.as_secs()
            )
        })??;
        Ok(Db::Postgres(Box::new(client)))
    }

    pub fn migrate(&mut self, migrations: &[refinery_core::Migration]) -> Result<(), String> {
        let runner = refinery_core::Runner::new(migrations)
            .set_abort_divergent(true)
            .set_abort_missing(true);
        match self {
            Db::Sqlite(c) => runner.run(c).map(|_| ()),
            Db::Postgres(c) => runner.run(&mut **c).map(|_| ()),
        }
        .map_err(|e| e.to_string())
    }

    /// Each statement once per row of parameters, all in one transaction; the rows
    /// changed per statement.
    pub fn write(&mut self, steps: &[(&str, Vec<Vec<V>>)]) -> Result<Vec<u64>, String> {
        let mut changed = Vec::with_capacity(steps.len());
        match self {
            Db::Sqlite(c) => {
                let e = |e: rusqlite::Error| e.to_string();
                let tx = c.transaction().map_err(e)?;
                for (sql, rows) in steps {
                    let mut st = tx.prepare(&lite(sql)).map_err(e)?;
                    let mut n = 0;
                    for row in rows {
                        n += st
                            .execute(rusqlite::params_from_iter(row.iter()))
                            .map_err(e)? as u64;
                    }
                    changed.push(n);
                }
                tx.commit().map_err(e)?;
            }
            Db::Postgres(c) => {
                let e = |e: postgres::Error| pg_err(&e);
                let mut tx = c.transaction().map_err(e)?;
                for (sql, rows) in steps {
                    let st = tx.prepare(sql).map_err(e)?;
                    let mut n = 0;
                    for row in rows {
                        let params = pg_params(row);
                        let refs: Vec<&(dyn PgToSql + Sync)> =
                            params.iter().map(|p| p.as_ref()).collect();
                        n += tx.execute(&st, &refs).map_err(e)?;
                    }
                    changed.push(n);
                }
                tx.commit().map_err(e)?;
            }
        }
        Ok(changed)
    }

    pub fn read(&mut self, sql: &str, params: &[V]) -> Result<Vec<Vec<V>>, String> {
        let mut out = Vec::new();
        self.each(sql, params, &mut |row| {
            out.push(row);
            Ok(())
        })?;
        Ok(out)
    }

    /// Each row of a query, as it comes: memory holds one row, whatever the result's
    /// size (a run reads every delivered contact of every earlier run).
    pub fn each(
        &mut self,
        sql: &str,
        params: &[V],
        f: &mut dyn FnMut(Vec<V>) -> Result<(), String>,
    ) -> Result<(), String> {
        match self {
            Db::Sqlite(c) => {
                let e = |e: rusqlite::Error| e.to_string();
                let mut st = c.prepare(&lite(sql)).map_err(e)?;
                let n = st.column_count();
                let mut rows = st
                    .query(rusqlite::params_from_iter(params.iter()))
                    .map_err(e)?;
                while let Some(r) = rows.next().map_err(e)? {
                    let row = (0..n)
                        .map(|k| {
                            Ok(match r.get_ref(k)? {
                                rusqlite::types::ValueRef::Integer(i) => V::I(i),
                                rusqlite::types::ValueRef::Null => V::T(String::new()),
                                other => V::T(other.as_str()?.to_string()),
                            })
                        })
                        .collect::<rusqlite::Result<Vec<V>>>()
                        .map_err(e)?;
                    f(row)?;
                }
                Ok(())
            }
            Db::Postgres(c) => {
                use postgres::fallible_iterator::FallibleIterator;
                let e = |e: postgres::Error| pg_err(&e);
                let params = pg_params(params);
                let refs = params.iter().map(|p| p.as_ref() as &(dyn PgToSql + Sync));
                let mut rows = c.query_raw(sql, refs).map_err(e)?;
                while let Some(r) = rows.next().map_err(e)? {
                    let row = (0..r.len())
                        .map(|k| {
                            use postgres::types::Type;
                            let t = r.columns()[k].type_();
                            Ok(if *t == Type::INT8 {
                                V::I(r.try_get::<_, i64>(k).map_err(e)?)
                            } else if *t == Type::INT4 {
                                V::I(i64::from(r.try_get::<_, i32>(k).map_err(e)?))
                            } else {
                                V::T(
                                    r.try_get::<_, Option<String>>(k)
                                        .map_err(e)?
                                        .unwrap_or_default(),
                                )
                            })
                        })
                        .collect::<Result<Vec<V>, String>>()?;
                    f(row)?;
                }
                Ok(())
            }
        }
    }
}

/// The error with its cause: postgres says "error connecting to server" and keeps the
/// why ("Connection refused", the server's message) in its source.
fn pg_err(e: &postgres::Error) -> String {
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

fn pg_params(row: &[V]) -> Vec<Box<dyn PgToSql + Sync>> {
    row.iter()
        .map(|v| -> Box<dyn PgToSql + Sync> {
            match v {
                V::I(i) => Box::new(*i),
                V::T(t) => Box::new(t.clone()),
            }
        })
        .collect()
}
