//! The SQLite store: one file in the data directory, WAL journal, versioned migrations.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use flow::tree::Tree;
use flow::{
    ChannelFamily, Routing, RoutingId, RoutingKind, ScheduleFailure, Version, VersionId,
    VersionRecord, VersionStatus,
};
use jiff::Timestamp;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};
use uuid::Uuid;

use crate::{
    Changes, Page, PageRequest, Result, RoutingFilter, RoutingWrite, Store, StoreError,
    StoredResponse, VersionWrite,
};

/// Creates the database file readable by its owner only, and takes other users' rights away
/// from an existing one and its journal files (SQLite gives the journal files the database
/// file's mode).
fn owner_only(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            if let Ok(meta) = std::fs::metadata(&p)
                && meta.permissions().mode() & 0o077 != 0
            {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Schema migrations, in order; version N is entry N - 1. Append, never edit.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/sqlite/0001_routings.sql"),
    include_str!("../migrations/sqlite/0002_interactions.sql"),
    include_str!("../migrations/sqlite/0003_objects.sql"),
    include_str!("../migrations/sqlite/0004_uploads.sql"),
    include_str!("../migrations/sqlite/0005_customers.sql"),
    include_str!("../migrations/sqlite/0006_acd.sql"),
    include_str!("../migrations/sqlite/0007_outbox_customer.sql"),
    include_str!("../migrations/sqlite/0008_inbound_per_customer.sql"),
    include_str!("../migrations/sqlite/0009_retention.sql"),
    include_str!("../migrations/sqlite/0010_api_tokens.sql"),
    include_str!("../migrations/sqlite/0011_accounts.sql"),
    include_str!("../migrations/sqlite/0012_audit.sql"),
    include_str!("../migrations/sqlite/0013_entry_point_secret.sql"),
    include_str!("../migrations/sqlite/0014_agents_are_accounts.sql"),
    include_str!("../migrations/sqlite/0015_sessions.sql"),
    include_str!("../migrations/sqlite/0016_provider_channels.sql"),
    include_str!("../migrations/sqlite/0017_email.sql"),
    include_str!("../migrations/sqlite/0018_files.sql"),
    include_str!("../migrations/sqlite/0019_object_secret.sql"),
    include_str!("../migrations/sqlite/0020_call_marks.sql"),
    include_str!("../migrations/sqlite/0021_web_calls.sql"),
    include_str!("../migrations/sqlite/0022_database_rows.sql"),
    include_str!("../migrations/sqlite/0023_cases.sql"),
    include_str!("../migrations/sqlite/0024_invoices.sql"),
    include_str!("../migrations/sqlite/0025_payments.sql"),
    include_str!("../migrations/sqlite/0026_campaign_targets.sql"),
    include_str!("../migrations/sqlite/0027_crm_links.sql"),
    include_str!("../migrations/sqlite/0028_tasks.sql"),
    include_str!("../migrations/sqlite/0029_survey_responses.sql"),
    include_str!("../migrations/sqlite/0030_crm_record_links.sql"),
];

/// The SQLite implementation of [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
}

pub(crate) fn backend(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
    StoreError::Backend(e.into())
}

pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        let msg = db.message();
        if msg.contains("UNIQUE")
            && (msg.contains("routings.reference")
                || msg.contains("entry_points.reference")
                || msg.contains("business_objects.reference"))
        {
            return StoreError::Unique("reference");
        }
        if msg.contains("UNIQUE") && msg.contains("users.reference") {
            return StoreError::Unique("reference");
        }
        if msg.contains("UNIQUE") && msg.contains("customers.reference") {
            return StoreError::Unique("reference");
        }
        if msg.contains("UNIQUE") && msg.contains("customers.channel") {
            return StoreError::Unique("address");
        }
        if msg.contains("UNIQUE") && msg.contains("cases.reference") {
            return StoreError::Unique("reference");
        }
        if msg.contains("UNIQUE") && msg.contains("invoices.number") {
            return StoreError::Unique("number");
        }
        if msg.contains("UNIQUE") && msg.contains("database_unique") {
            return StoreError::Unique("value");
        }
        if msg.contains("FOREIGN KEY") || msg.contains("UNIQUE") {
            return StoreError::Conflict;
        }
    }
    backend(e)
}

pub(crate) fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

pub(crate) fn ts(ms: i64) -> Result<Timestamp> {
    Timestamp::from_millisecond(ms).map_err(backend)
}

pub(crate) fn uuid(s: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(backend)
}

fn routing_from(row: &SqliteRow) -> Result<Routing> {
    let failure: Option<String> = row.try_get("schedule_failure").map_err(backend)?;
    let schedule_failure: Option<ScheduleFailure> = match failure {
        Some(s) => Some(serde_json::from_str(&s).map_err(backend)?),
        None => None,
    };
    let kind: String = row.try_get("kind").map_err(backend)?;
    let family: String = row.try_get("channel_family").map_err(backend)?;
    Ok(Routing {
        id: uuid(row.try_get("id").map_err(backend)?)?,
        reference: row.try_get("reference").map_err(backend)?,
        name: row.try_get("name").map_err(backend)?,
        description: row.try_get("description").map_err(backend)?,
        kind: RoutingKind::parse(&kind).ok_or_else(|| backend(format!("bad kind {kind}")))?,
        channel_family: ChannelFamily::parse(&family)
            .ok_or_else(|| backend(format!("bad family {family}")))?,
        revision: row.try_get::<i64, _>("revision").map_err(backend)? as u64,
        created_at: ts(row.try_get("created_at").map_err(backend)?)?,
        updated_at: ts(row.try_get("updated_at").map_err(backend)?)?,
        schedule_failure,
    })
}

fn record_from(row: &SqliteRow) -> Result<VersionRecord> {
    let status: String = row.try_get("status").map_err(backend)?;
    let scheduled: Option<i64> = row.try_get("scheduled_at").map_err(backend)?;
    Ok(VersionRecord {
        id: uuid(row.try_get("id").map_err(backend)?)?,
        routing_id: uuid(row.try_get("routing_id").map_err(backend)?)?,
        number: row.try_get::<i64, _>("number").map_err(backend)? as u32,
        name: row.try_get("name").map_err(backend)?,
        description: row.try_get("description").map_err(backend)?,
        status: VersionStatus::parse(&status)
            .ok_or_else(|| backend(format!("bad status {status}")))?,
        in_test: row.try_get::<i64, _>("in_test").map_err(backend)? != 0,
        scheduled_at: scheduled.map(ts).transpose()?,
        revision: row.try_get::<i64, _>("revision").map_err(backend)? as u64,
        created_at: ts(row.try_get("created_at").map_err(backend)?)?,
        updated_at: ts(row.try_get("updated_at").map_err(backend)?)?,
    })
}

const RECORD_COLUMNS: &str = "id, routing_id, number, name, description, status, in_test, scheduled_at, revision, created_at, updated_at";

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self> {
        owner_only(path).map_err(backend)?;
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(backend)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // the schema is brought up to date on a connection of its own, closed before the pool
        // opens: a pooled connection that read the schema before a migration changed a table
        // would prepare `SELECT *` with the old columns, and the re-prepared statement would
        // hand back more values than its rows have columns (sqlx panics on that)
        let migrating =
            Self::connect(SqlitePoolOptions::new().max_connections(1), options.clone()).await?;
        migrating.pool.close().await;
        let pool = SqlitePoolOptions::new()
            .max_connections(16)
            .connect_with(options)
            .await
            .map_err(backend)?;
        Ok(SqliteStore { pool })
    }

    /// A database that lives in memory only, gone when the store is dropped: same schema, same
    /// SQL and the same guarantees as the file (the one implementation, so the two cannot drift),
    /// without the disk. For simulations and tests that do not restart from disk.
    pub async fn in_memory() -> Result<Self> {
        // One connection, never reaped: the database lives as long as its connection, and a
        // single connection serialises statements as the file's one writer does (a shared-cache
        // database would answer concurrent writers with table locks the file never takes).
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(backend)?
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
        Self::connect(pool, options).await
    }

    /// Connects the pool and brings the schema up to date.
    async fn connect(pool: SqlitePoolOptions, options: SqliteConnectOptions) -> Result<Self> {
        let pool = pool.connect_with(options).await.map_err(backend)?;
        let store = SqliteStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the migrations this database has not seen yet, each in its own transaction.
    /// Refuses a database written by a newer Switchyard.
    async fn migrate(&self) -> Result<()> {
        sqlx::raw_sql("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        let current: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        let current = current.unwrap_or(0);
        if current > MIGRATIONS.len() as i64 {
            return Err(backend(format!(
                "the database schema is at version {current}, newer than this build knows ({}); use a newer Switchyard",
                MIGRATIONS.len()
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            let mut tx = self.pool.begin().await.map_err(map_err)?;
            sqlx::raw_sql(*sql)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)")
                .bind(i as i64 + 1)
                .bind(ms(Timestamp::now()))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            tx.commit().await.map_err(map_err)?;
            tracing::info!(version = i + 1, "applied SQLite migration");
        }
        Ok(())
    }

    /// Closes every connection (checkpointing the WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ready(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn routing(&self, id: RoutingId) -> Result<Option<Routing>> {
        let row = sqlx::query("SELECT * FROM routings WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(routing_from).transpose()
    }

    async fn routing_by_reference(&self, reference: &str) -> Result<Option<Routing>> {
        let row = sqlx::query("SELECT * FROM routings WHERE reference = ?")
            .bind(reference)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(routing_from).transpose()
    }

    async fn routings(&self, filter: &RoutingFilter, page: &PageRequest) -> Result<Page<Routing>> {
        let limit = page.limit.clamp(1, 1_000);
        let rows = sqlx::query(
            "SELECT * FROM routings
             WHERE (?1 IS NULL OR channel_family = ?1) AND (?2 IS NULL OR kind = ?2) AND (?3 IS NULL OR id > ?3)
             ORDER BY id LIMIT ?4",
        )
        .bind(filter.channel_family.map(|f| f.as_str()))
        .bind(filter.kind.map(|k| k.as_str()))
        .bind(page.after.map(|a| a.to_string()))
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let mut items = rows.iter().map(routing_from).collect::<Result<Vec<_>>>()?;
        let next_after = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|r| r.id)
        } else {
            None
        };
        Ok(Page { items, next_after })
    }

    async fn count_routings(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM routings")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(n as u64)
    }

    async fn versions(&self, routing: RoutingId) -> Result<Vec<VersionRecord>> {
        let sql =
            format!("SELECT {RECORD_COLUMNS} FROM versions WHERE routing_id = ? ORDER BY number");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(routing.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(record_from).collect()
    }

    async fn version(&self, id: VersionId) -> Result<Option<Version>> {
        let row = sqlx::query("SELECT * FROM versions WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        let tree: String = row.try_get("tree").map_err(backend)?;
        let tree: Tree = serde_json::from_str(&tree).map_err(backend)?;
        Ok(Some(Version {
            record: record_from(&row)?,
            tree,
        }))
    }

    async fn due_schedules(&self, now: Timestamp, limit: u32) -> Result<Vec<VersionRecord>> {
        let sql = format!(
            "SELECT {RECORD_COLUMNS} FROM versions WHERE scheduled_at IS NOT NULL AND scheduled_at <= ? ORDER BY scheduled_at LIMIT ?"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(ms(now))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(record_from).collect()
    }

    async fn production_versions(&self) -> Result<Vec<(Routing, Version)>> {
        let rows = sqlx::query(
            "SELECT v.*, r.reference AS r_reference, r.name AS r_name, r.description AS r_description, r.kind AS r_kind,
                    r.channel_family AS r_channel_family, r.revision AS r_revision, r.created_at AS r_created_at,
                    r.updated_at AS r_updated_at, r.schedule_failure AS r_schedule_failure
             FROM versions v JOIN routings r ON r.id = v.routing_id WHERE v.status = 'production'",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|row| {
                let tree: String = row.try_get("tree").map_err(backend)?;
                let version = Version {
                    record: record_from(row)?,
                    tree: serde_json::from_str(&tree).map_err(backend)?,
                };
                let kind: String = row.try_get("r_kind").map_err(backend)?;
                let family: String = row.try_get("r_channel_family").map_err(backend)?;
                let failure: Option<String> = row.try_get("r_schedule_failure").map_err(backend)?;
                let routing = Routing {
                    id: version.record.routing_id,
                    reference: row.try_get("r_reference").map_err(backend)?,
                    name: row.try_get("r_name").map_err(backend)?,
                    description: row.try_get("r_description").map_err(backend)?,
                    kind: RoutingKind::parse(&kind)
                        .ok_or_else(|| backend(format!("bad kind {kind}")))?,
                    channel_family: ChannelFamily::parse(&family)
                        .ok_or_else(|| backend(format!("bad family {family}")))?,
                    revision: row.try_get::<i64, _>("r_revision").map_err(backend)? as u64,
                    created_at: ts(row.try_get("r_created_at").map_err(backend)?)?,
                    updated_at: ts(row.try_get("r_updated_at").map_err(backend)?)?,
                    schedule_failure: failure
                        .map(|f| serde_json::from_str(&f))
                        .transpose()
                        .map_err(backend)?,
                };
                Ok((routing, version))
            })
            .collect()
    }

    async fn next_schedule(&self) -> Result<Option<Timestamp>> {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(scheduled_at) FROM versions WHERE scheduled_at IS NOT NULL",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        next.map(ts).transpose()
    }

    async fn apply(&self, changes: Changes) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let guard = |n: u64| {
            if n == 0 {
                Err(StoreError::Conflict)
            } else {
                Ok(())
            }
        };
        match &changes.routing {
            None => {}
            Some(RoutingWrite::Insert(r)) => {
                sqlx::query(
                    "INSERT INTO routings (id, reference, name, description, kind, channel_family, revision, created_at, updated_at, schedule_failure)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(r.id.to_string())
                .bind(&r.reference)
                .bind(&r.name)
                .bind(&r.description)
                .bind(r.kind.as_str())
                .bind(r.channel_family.as_str())
                .bind(r.revision as i64)
                .bind(ms(r.created_at))
                .bind(ms(r.updated_at))
                .bind(failure_json(&r.schedule_failure)?)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            }
            Some(RoutingWrite::Update {
                routing: r,
                expected_revision,
            }) => {
                let done = sqlx::query(
                    "UPDATE routings SET reference = ?, name = ?, description = ?, revision = ?, updated_at = ?, schedule_failure = ?
                     WHERE id = ? AND revision = ?",
                )
                .bind(&r.reference)
                .bind(&r.name)
                .bind(&r.description)
                .bind(r.revision as i64)
                .bind(ms(r.updated_at))
                .bind(failure_json(&r.schedule_failure)?)
                .bind(r.id.to_string())
                .bind(*expected_revision as i64)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                guard(done.rows_affected())?;
            }
            Some(RoutingWrite::Delete {
                id,
                expected_revision,
            }) => {
                let done = sqlx::query("DELETE FROM routings WHERE id = ? AND revision = ?")
                    .bind(id.to_string())
                    .bind(*expected_revision as i64)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                guard(done.rows_affected())?;
            }
        }
        // Versions leaving production are written first so that the one-production index holds
        // at every statement.
        let mut writes: Vec<&VersionWrite> = changes.versions.iter().collect();
        writes.sort_by_key(|w| match w {
            VersionWrite::Delete(_) => 0,
            VersionWrite::Update { record, .. } if record.status != VersionStatus::Production => 1,
            _ => 2,
        });
        for w in writes {
            match w {
                VersionWrite::Insert(v) => {
                    let r = &v.record;
                    sqlx::query(
                        "INSERT INTO versions (id, routing_id, number, name, description, status, in_test, scheduled_at, revision, created_at, updated_at, tree)
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    )
                    .bind(r.id.to_string())
                    .bind(r.routing_id.to_string())
                    .bind(i64::from(r.number))
                    .bind(&r.name)
                    .bind(&r.description)
                    .bind(r.status.as_str())
                    .bind(i64::from(r.in_test))
                    .bind(r.scheduled_at.map(ms))
                    .bind(r.revision as i64)
                    .bind(ms(r.created_at))
                    .bind(ms(r.updated_at))
                    .bind(serde_json::to_string(&v.tree).map_err(backend)?)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                }
                VersionWrite::Update {
                    record: r,
                    tree,
                    expected_revision,
                } => {
                    let tree = tree
                        .as_ref()
                        .map(serde_json::to_string)
                        .transpose()
                        .map_err(backend)?;
                    let done = sqlx::query(
                        "UPDATE versions SET name = ?, description = ?, status = ?, in_test = ?, scheduled_at = ?, revision = ?, updated_at = ?,
                                tree = COALESCE(?, tree)
                         WHERE id = ? AND revision = ?",
                    )
                    .bind(&r.name)
                    .bind(&r.description)
                    .bind(r.status.as_str())
                    .bind(i64::from(r.in_test))
                    .bind(r.scheduled_at.map(ms))
                    .bind(r.revision as i64)
                    .bind(ms(r.updated_at))
                    .bind(tree)
                    .bind(r.id.to_string())
                    .bind(*expected_revision as i64)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                    guard(done.rows_affected())?;
                }
                VersionWrite::Delete(id) => {
                    let done = sqlx::query("DELETE FROM versions WHERE id = ?")
                        .bind(id.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                    guard(done.rows_affected())?;
                }
            }
        }
        tx.commit().await.map_err(map_err)
    }

    async fn objects(
        &self,
        kind: flow::catalogue::ObjectKind,
        page: &PageRequest,
    ) -> Result<Page<flow::objects::BusinessObject>> {
        self.objects_page(kind, page).await
    }

    async fn all_objects(&self) -> Result<Vec<flow::objects::BusinessObject>> {
        self.all_objects_rows().await
    }

    async fn count_objects(&self, kind: flow::catalogue::ObjectKind) -> Result<u64> {
        self.count_objects_of(kind).await
    }

    async fn object(
        &self,
        kind: flow::catalogue::ObjectKind,
        id: Uuid,
    ) -> Result<Option<flow::objects::BusinessObject>> {
        self.object_row(kind, id).await
    }

    async fn object_by_reference(
        &self,
        kind: flow::catalogue::ObjectKind,
        reference: &str,
    ) -> Result<Option<flow::objects::BusinessObject>> {
        self.object_by_reference_row(kind, reference).await
    }

    async fn write_object(&self, write: crate::ObjectWrite) -> Result<()> {
        self.write_object_row(write).await
    }

    async fn reshape_database(
        &self,
        object: &flow::objects::BusinessObject,
        expected_revision: u64,
        reshape: &crate::Reshape<'_>,
        shown: usize,
    ) -> Result<Vec<crate::Refusal>> {
        self.db_reshape_rows(object, expected_revision, reshape, shown)
            .await
    }

    async fn put_file(&self, file: &crate::StoredFile) -> Result<()> {
        self.put_file_row(file).await
    }

    async fn file(&self, id: Uuid) -> Result<Option<crate::StoredFile>> {
        self.file_row(id).await
    }

    async fn files(&self, page: &PageRequest) -> Result<Page<crate::FileInfo>> {
        self.files_page(page).await
    }

    async fn file_infos(&self, ids: &[Uuid]) -> Result<Vec<crate::FileInfo>> {
        self.file_info_rows(ids).await
    }

    async fn count_files(&self) -> Result<u64> {
        self.count_file_rows().await
    }

    async fn delete_file(&self, id: Uuid) -> Result<()> {
        self.delete_file_row(id).await
    }

    async fn stored_response(&self, key: &str) -> Result<Option<StoredResponse>> {
        let row = sqlx::query("SELECT * FROM idempotency_keys WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(StoredResponse {
            key: row.try_get("key").map_err(backend)?,
            fingerprint: row.try_get("fingerprint").map_err(backend)?,
            status: row.try_get::<i64, _>("status").map_err(backend)? as u16,
            content_type: row.try_get("content_type").map_err(backend)?,
            body: row.try_get("body").map_err(backend)?,
            created_at: ts(row.try_get("created_at").map_err(backend)?)?,
        }))
    }

    async fn store_response(&self, r: StoredResponse, expire_before: Timestamp) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at < ?")
            .bind(ms(expire_before))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        sqlx::query(
            "INSERT INTO idempotency_keys (key, fingerprint, status, content_type, body, created_at) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(&r.key)
        .bind(&r.fingerprint)
        .bind(i64::from(r.status))
        .bind(&r.content_type)
        .bind(&r.body)
        .bind(ms(r.created_at))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }
}

fn failure_json(f: &Option<ScheduleFailure>) -> Result<Option<String>> {
    f.as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(backend)
}

pub(crate) fn opt_uuid(row: &SqliteRow, col: &str) -> Result<Option<Uuid>> {
    let v: Option<String> = row.try_get(col).map_err(backend)?;
    v.as_deref().map(uuid).transpose()
}

pub(crate) fn page_of<T>(mut items: Vec<T>, limit: u32, id: impl Fn(&T) -> Uuid) -> Page<T> {
    let next_after = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(id)
    } else {
        None
    };
    Page { items, next_after }
}
