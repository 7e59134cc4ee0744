//! Against the real local servers (PostgreSQL 127.0.0.1:5432 trust auth, MariaDB 127.0.0.1:3306 root without a
//! password; `scripts/ensure-databases.sh` starts them). Each test creates and drops its own database.

mod mysql;
mod postgres;

use std::io::Read;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use cqube_source::{Backend, ConnectionUrl, Request};

/// A database that exists for one test and is dropped afterwards, even when the test fails.
#[derive(Debug)]
pub struct TempDb {
    pub name: String,
    backend: Backend,
}

impl TempDb {
    pub fn new(backend: Backend) -> TempDb {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let name = format!("cqube_src_{}_{}_{nanos}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        let db = TempDb { name, backend };
        db.admin(&format!("CREATE DATABASE {}", db.name));
        db
    }

    pub fn url(&self) -> ConnectionUrl {
        ConnectionUrl::new(&match self.backend {
            Backend::Postgres => format!("postgresql://postgres@127.0.0.1:5432/{}", self.name),
            Backend::Mysql => format!("mysql://root@127.0.0.1:3306/{}", self.name),
        })
    }

    fn client(&self, database: Option<&str>) -> Command {
        match self.backend {
            Backend::Postgres => {
                let mut c = Command::new("psql");
                c.args(["-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-X"]);
                c.args(["-d", database.unwrap_or("postgres")]);
                c
            }
            Backend::Mysql => {
                let mut c = Command::new("mysql");
                c.args(["-h", "127.0.0.1", "-P", "3306", "-u", "root", "--default-character-set=utf8mb4"]);
                c.args(database);
                c
            }
        }
    }

    fn flag(&self) -> &'static str {
        if self.backend == Backend::Postgres { "-c" } else { "-e" }
    }

    fn admin(&self, sql: &str) {
        run(self.client(None).arg(self.flag()).arg(sql), sql);
    }

    /// Runs SQL in this database (psql -c / mysql -e).
    pub fn sql(&self, sql: &str) {
        run(self.client(Some(&self.name)).arg(self.flag()).arg(sql), sql);
    }

    pub fn request(&self, query: &str) -> Request {
        Request::new("tricky_test", self.backend, self.url(), query)
    }
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().expect("database client runs");
    assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let drop = match self.backend {
            Backend::Postgres => format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            Backend::Mysql => format!("DROP DATABASE IF EXISTS {}", self.name),
        };
        let _ = self.client(None).arg(self.flag()).arg(drop).output();
    }
}

/// The whole stream as text, or the error that ended it.
pub fn read_all(request: &Request) -> Result<(String, Option<String>), String> {
    let opened = cqube_source::open(request).map_err(|e| e.to_string())?;
    let mut reader = opened.reader;
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    Ok((String::from_utf8(bytes).expect("utf-8"), opened.watermark))
}

/// The connection refused at once: nothing listens on port 1.
pub fn dead_url(backend: Backend) -> ConnectionUrl {
    ConnectionUrl::new(match backend {
        Backend::Postgres => "postgresql://postgres:pw-not-shown@127.0.0.1:1/x",
        Backend::Mysql => "mysql://root:pw-not-shown@127.0.0.1:1/x",
    })
}
