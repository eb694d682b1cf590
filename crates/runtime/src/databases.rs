//! Custom databases' rows: the three database actions performed for a turn, and the rows API
//! (CRUD, filtered pages, CSV import and export).
//!
//! Values are checked and put in canonical form by `flow::database` against the database's
//! definition; each row's indexed and unique columns keep their search keys beside it, so a
//! search with an assertion on such a column reads only the rows with that key (else every
//! row). The writes of an action are not made at once: they join the turn's [`store::TurnWrite`]
//! and are committed with the interaction's own rows, so a crash before the commit applies
//! none and the turn run again decides afresh; a later action of the same turn sees them
//! (`pending`). A write the store refuses at commit — a unique value another interaction took
//! meanwhile, a row changed — refuses the turn as a conflict, and it is stepped again from a
//! fresh load. A preview performs every check and answers as it would, but keeps no write.

use flow::catalogue::ObjectKind;
use flow::database::{DatabaseData, Search, limits as db_limits};
use flow::effect::{DatabaseOutcome, DatabaseRequest, ObjectName};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};
use store::{DbRow, DbWrite, Page};
use uuid::Uuid;

use crate::conversations::{Conversations, Result};
use crate::error::ConversationError;
use crate::maker::MakerError;

/// Bounds of the rows API and of the actions.
pub mod limits {
    /// Most rows one *Modify the values of a database* changes ("All values found").
    pub const MODIFIED_PER_ACTION: usize = 1_000;
    /// Most rows of a page.
    pub const PAGE: u32 = 200;
    /// Most rows one filtered page reads when no index serves its filters (the page then
    /// ends early, with a cursor to go on).
    pub const READ_PER_PAGE: usize = 20_000;
    /// Longest line of an imported CSV file, in bytes; most fields on a line.
    pub const CSV_LINE: usize = 256 * 1024;
    pub const CSV_FIELDS: usize = 100;
    /// Most refused lines an import report lists (it counts them all).
    pub const IMPORT_ERRORS: usize = 1_000;
    /// Rows written by one transaction of an import.
    pub const IMPORT_BATCH: usize = 500;
    /// Rows read by one statement of a search or an export.
    pub const READ_BATCH: u32 = 500;
}

/// A database: its business object's id and reference, and its definition.
#[derive(Clone, Debug)]
pub struct Database {
    pub id: Uuid,
    pub reference: String,
    pub def: DatabaseData,
}

/// A row as the rows API shows it (the store's row, seen through the runtime).
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub id: Uuid,
    pub database_id: Uuid,
    /// Column → value, in canonical form; columns without value are absent.
    pub values: Map<String, Value>,
    pub revision: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<DbRow> for Row {
    fn from(r: DbRow) -> Self {
        Row {
            id: r.id,
            database_id: r.database_id,
            values: r.values,
            revision: r.revision,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// What a CSV import did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ImportReport {
    /// Rows added.
    pub inserted: u64,
    /// Lines refused (each listed in `errors`, up to [`limits::IMPORT_ERRORS`]).
    pub refused: u64,
    pub errors: Vec<ImportError>,
}

/// A refused line of an import.
#[derive(Clone, Debug, Serialize)]
pub struct ImportError {
    /// Its line in the file (the header is line 1).
    pub line: u64,
    pub message: String,
}

fn invalid(message: impl Into<String>) -> ConversationError {
    ConversationError::Invalid("invalid_row", message.into())
}

/// The rows of `db` as seen through writes not yet committed: store rows replaced by their
/// pending versions, pending inserts added, pending deletes removed, in the order rows were
/// added; only those `keep` holds.
fn overlaid<'a>(
    db: Uuid,
    rows: Vec<DbRow>,
    pending: impl Iterator<Item = &'a DbWrite>,
    keep: impl Fn(&DbRow) -> bool,
) -> Vec<DbRow> {
    let mut all: std::collections::BTreeMap<Uuid, DbRow> =
        rows.into_iter().map(|r| (r.id, r)).collect();
    for w in pending {
        match w {
            DbWrite::Insert { row, .. } | DbWrite::Update { row, .. } if row.database_id == db => {
                all.insert(row.id, row.clone());
            }
            DbWrite::Delete {
                database_id, id, ..
            } if *database_id == db => {
                all.remove(id);
            }
            _ => {}
        }
    }
    all.into_values().filter(|r| keep(r)).collect()
}

/// Change in a database's row count by pending writes.
fn pending_growth<'a>(db: Uuid, pending: impl Iterator<Item = &'a DbWrite>) -> i64 {
    pending
        .map(|w| match w {
            DbWrite::Insert { row, .. } if row.database_id == db => 1,
            DbWrite::Delete { database_id, .. } if *database_id == db => -1,
            _ => 0,
        })
        .sum()
}

/// `(column, value)` pairs as a row to check.
fn as_map(values: &[(String, String)]) -> Map<String, Value> {
    values
        .iter()
        .map(|(c, v)| (c.clone(), Value::String(v.clone())))
        .collect()
}

impl Conversations {
    /// The database a request names (`None`: there is none).
    pub(crate) async fn database_named(&self, name: &ObjectName) -> Result<Option<Database>> {
        let Some(o) = self
            .maker()
            .object_named(ObjectKind::Database, name)
            .await?
        else {
            return Ok(None);
        };
        let def = serde_json::from_value(o.data)
            .map_err(|e| ConversationError::NotRecorded(format!("a stored database: {e}")))?;
        Ok(Some(Database {
            id: o.id,
            reference: o.reference,
            def,
        }))
    }

    /// The database with this id.
    pub async fn database(&self, id: Uuid) -> Result<Database> {
        self.database_named(&ObjectName::Entity { id: id.to_string() })
            .await?
            .ok_or_else(|| ConversationError::NotFound(format!("database {id}")))
    }

    /// Rows meeting `search` read from the store, in the order rows were added, after
    /// `after`: through the index when one serves it, else every row. At most `limit` rows,
    /// reading at most `max_read`; the cursor to go on when it stopped before the end.
    async fn scan(
        &self,
        db: &Database,
        search: &Search,
        key: Option<(&str, &str, bool)>,
        mut after: Option<Uuid>,
        limit: usize,
        max_read: usize,
    ) -> Result<(Vec<DbRow>, Option<Uuid>)> {
        let mut found = Vec::new();
        let mut read = 0usize;
        loop {
            let page = match key {
                Some((column, key, unique)) => {
                    self.store
                        .db_rows_by_key(db.id, column, key, unique, after, limits::READ_BATCH)
                        .await?
                }
                None => self.store.db_rows(db.id, after, limits::READ_BATCH).await?,
            };
            for row in page.items {
                read += 1;
                let id = row.id;
                if search.matches(&db.def, &row.values) {
                    found.push(row);
                    if found.len() >= limit {
                        return Ok((found, Some(id)));
                    }
                }
                if read >= max_read {
                    return Ok((found, Some(id)));
                }
            }
            match page.next_after {
                Some(next) => after = Some(next),
                None => return Ok((found, None)),
            }
        }
    }

    /// The first `limit` rows meeting `search`, seen through `pending` writes.
    pub(crate) async fn matching(
        &self,
        db: &Database,
        search: &Search,
        limit: usize,
        pending: &[&[DbWrite]],
    ) -> Result<Vec<DbRow>> {
        let queued = || pending.iter().flat_map(|p| p.iter());
        // a pending write may hide a stored match: read as many more
        let want = limit + queued().count();
        let mut stored = Vec::new();
        match search.lookups() {
            Some(lookups) => {
                for (column, key, unique) in lookups {
                    let (rows, _) = self
                        .scan(
                            db,
                            search,
                            Some((column, key, unique)),
                            None,
                            want,
                            usize::MAX,
                        )
                        .await?;
                    stored.extend(rows);
                }
            }
            None => {
                stored = self.scan(db, search, None, None, want, usize::MAX).await?.0;
            }
        }
        let mut rows = overlaid(db.id, stored, queued(), |r| {
            search.matches(&db.def, &r.values)
        });
        rows.truncate(limit);
        Ok(rows)
    }

    /// Why `values` cannot be a row (other than `except`): a unique column's value another row
    /// has, seen through `pending` writes.
    async fn unique_taken(
        &self,
        db: &Database,
        values: &Map<String, Value>,
        except: Option<Uuid>,
        pending: &[&[DbWrite]],
    ) -> Result<Option<String>> {
        // the latest pending version of each row the writes touch: its keys (none: deleted)
        let mut touched: std::collections::HashMap<Uuid, Option<&[store::DbKey]>> =
            std::collections::HashMap::new();
        for w in pending.iter().flat_map(|p| p.iter()) {
            match w {
                DbWrite::Insert { row, keys, .. } | DbWrite::Update { row, keys, .. }
                    if row.database_id == db.id =>
                {
                    touched.insert(row.id, Some(keys));
                }
                DbWrite::Delete {
                    database_id, id, ..
                } if *database_id == db.id => {
                    touched.insert(*id, None);
                }
                _ => {}
            }
        }
        for key in db.def.keys(values).into_iter().filter(|k| k.unique) {
            let (stored, _) = self
                .scan(
                    db,
                    &Search {
                        terms: Vec::new(),
                        any: false,
                    },
                    Some((&key.column, &key.key, true)),
                    None,
                    2,
                    usize::MAX,
                )
                .await?;
            let holds = |keys: &[store::DbKey]| {
                keys.iter()
                    .any(|k| k.unique && k.column == key.column && k.key == key.key)
            };
            let taken: Vec<Uuid> = stored
                .iter()
                .filter(|r| !touched.contains_key(&r.id))
                .map(|r| r.id)
                .chain(
                    touched
                        .iter()
                        .filter(|(_, keys)| keys.is_some_and(holds))
                        .map(|(id, _)| *id),
                )
                .filter(|id| Some(*id) != except)
                .collect();
            if !taken.is_empty() {
                return Ok(Some(format!(
                    "{}: another row has the value {}, and the column is unique",
                    key.column,
                    values.get(&key.column).cloned().unwrap_or(Value::Null)
                )));
            }
        }
        Ok(None)
    }

    /// Why a new row cannot be added to `db`: the database full.
    async fn full(&self, db: &Database, pending: &[&[DbWrite]]) -> Result<Option<String>> {
        let stored = self.store.db_count(db.id).await? as i64;
        let growth = pending_growth(db.id, pending.iter().flat_map(|p| p.iter()));
        Ok((stored + growth >= db_limits::ROWS as i64).then(|| {
            format!(
                "the database holds its largest number of rows ({})",
                db_limits::ROWS
            )
        }))
    }

    /// Performs a database action's request for a turn: reads now, writes added to `pending`
    /// (committed with the turn), the history told what was done.
    pub(crate) async fn database_request(
        &self,
        request: &DatabaseRequest,
        preview: bool,
        pending: &mut Vec<DbWrite>,
        turn: &mut engine::Turn,
        now: Timestamp,
    ) -> Result<DatabaseOutcome> {
        let (name, op) = match request {
            DatabaseRequest::Find { database, .. } => (database, "find"),
            DatabaseRequest::Insert { database, .. } => (database, "insert"),
            DatabaseRequest::Modify { database, .. } => (database, "modify"),
        };
        let db = self.database_named(name).await?;
        let outcome = match &db {
            None => DatabaseOutcome::Error {
                reason: "no such database".into(),
            },
            Some(db) => self.perform(db, request, pending, now).await?,
        };
        let rows = match &outcome {
            DatabaseOutcome::Found { .. } => 1,
            DatabaseOutcome::Written { rows } | DatabaseOutcome::NoModification { rows } => *rows,
            _ => 0,
        };
        let error = match &outcome {
            DatabaseOutcome::Error { reason } => Some(reason.clone()),
            DatabaseOutcome::ColumnsNotFound { columns } => {
                Some(format!("no column {}", columns.join(", ")))
            }
            _ => None,
        };
        let wrote = matches!(outcome, DatabaseOutcome::Written { .. });
        turn.events.push(engine::Event::Channel {
            detail: engine::ChannelNote::Database {
                database: db.map(|d| d.reference).unwrap_or_else(|| match name {
                    ObjectName::Entity { id } => id.clone(),
                    ObjectName::Reference { reference } => reference.clone(),
                }),
                op: op.into(),
                rows,
                written: !(preview && wrote),
                error,
            },
        });
        Ok(outcome)
    }

    pub(crate) async fn perform(
        &self,
        db: &Database,
        request: &DatabaseRequest,
        pending: &mut Vec<DbWrite>,
        now: Timestamp,
    ) -> Result<DatabaseOutcome> {
        let unknown = |names: &mut dyn Iterator<Item = &String>| -> Vec<String> {
            let mut out: Vec<String> = Vec::new();
            for n in names {
                if db.def.column(n).is_none() && !out.contains(n) {
                    out.push(n.clone());
                }
            }
            out
        };
        let error = |reason: String| DatabaseOutcome::Error { reason };
        match request {
            DatabaseRequest::Find {
                any,
                assertions,
                columns,
                ..
            } => {
                let missing = unknown(&mut assertions.iter().map(|(c, _)| c).chain(columns));
                if !missing.is_empty() {
                    return Ok(DatabaseOutcome::ColumnsNotFound { columns: missing });
                }
                let search = db.def.search(assertions, *any).unwrap_or(Search {
                    terms: Vec::new(),
                    any: false,
                });
                let found = self.matching(db, &search, 1, &[pending]).await?;
                Ok(match found.into_iter().next() {
                    None => DatabaseOutcome::NotFound,
                    Some(row) => DatabaseOutcome::Found {
                        values: columns
                            .iter()
                            .filter_map(|c| Some((c.clone(), row.values.get(c)?.clone())))
                            .collect(),
                    },
                })
            }
            DatabaseRequest::Insert { values, .. } => {
                let missing = unknown(&mut values.iter().map(|(c, _)| c));
                if !missing.is_empty() {
                    return Ok(DatabaseOutcome::ColumnsNotFound { columns: missing });
                }
                let row = match db.def.check_row(&as_map(values), true) {
                    Ok(r) => r,
                    Err(e) => return Ok(error(e.message)),
                };
                if let Some(why) = self.full(db, &[pending]).await? {
                    return Ok(error(why));
                }
                if let Some(why) = self.unique_taken(db, &row, None, &[pending]).await? {
                    return Ok(error(why));
                }
                pending.push(DbWrite::Insert {
                    keys: db.def.keys(&row),
                    row: DbRow {
                        id: Uuid::now_v7(),
                        database_id: db.id,
                        values: row,
                        revision: 1,
                        created_at: now,
                        updated_at: now,
                    },
                    limit: db_limits::ROWS,
                });
                Ok(DatabaseOutcome::Written { rows: 1 })
            }
            DatabaseRequest::Modify {
                any,
                every,
                assertions,
                values,
                ..
            } => {
                let missing = unknown(
                    &mut assertions
                        .iter()
                        .map(|(c, _)| c)
                        .chain(values.iter().map(|(c, _)| c)),
                );
                if !missing.is_empty() {
                    return Ok(DatabaseOutcome::ColumnsNotFound { columns: missing });
                }
                let change = match db.def.check_row(&as_map(values), false) {
                    Ok(c) => c,
                    Err(e) => return Ok(error(e.message)),
                };
                let search = db.def.search(assertions, *any).unwrap_or(Search {
                    terms: Vec::new(),
                    any: false,
                });
                let limit = if *every {
                    limits::MODIFIED_PER_ACTION + 1
                } else {
                    1
                };
                let rows = self.matching(db, &search, limit, &[pending]).await?;
                if rows.is_empty() {
                    return Ok(DatabaseOutcome::NotFound);
                }
                if rows.len() > limits::MODIFIED_PER_ACTION {
                    return Ok(error(format!(
                        "more than {} rows match: one action changes at most that many",
                        limits::MODIFIED_PER_ACTION
                    )));
                }
                let mut mine: Vec<DbWrite> = Vec::new();
                for row in &rows {
                    let next = match db.def.apply(&row.values, &change) {
                        Ok(Some(next)) => next,
                        Ok(None) => continue,
                        Err(e) => return Ok(error(e.message)),
                    };
                    if let Some(why) = self
                        .unique_taken(db, &next, Some(row.id), &[pending, &mine])
                        .await?
                    {
                        return Ok(error(why));
                    }
                    mine.push(DbWrite::Update {
                        keys: db.def.keys(&next),
                        row: DbRow {
                            values: next,
                            revision: row.revision + 1,
                            updated_at: now,
                            ..row.clone()
                        },
                        expected_revision: row.revision,
                    });
                }
                if mine.is_empty() {
                    return Ok(DatabaseOutcome::NoModification {
                        rows: rows.len() as u64,
                    });
                }
                let changed = mine.len() as u64;
                pending.extend(mine);
                Ok(DatabaseOutcome::Written { rows: changed })
            }
        }
    }
}

/// The rows API.
impl Conversations {
    /// A page of a database's rows, those meeting every `(column, value)` filter (compared as
    /// searches compare), in the order they were added.
    pub async fn database_rows(
        &self,
        id: Uuid,
        filters: &[(String, String)],
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Page<Row>> {
        let db = self.database(id).await?;
        let limit = limit.clamp(1, limits::PAGE);
        let search = db.def.search(filters, false).map_err(|unknown| {
            ConversationError::Invalid(
                "unknown_column",
                format!("the database has no column {}", unknown.join(", ")),
            )
        })?;
        if search.terms.is_empty() {
            let page = self.store.db_rows(id, after, limit).await?;
            return Ok(Page {
                items: page.items.into_iter().map(Row::from).collect(),
                next_after: page.next_after,
            });
        }
        let (items, next_after) = match search.lookups() {
            Some(lookups) => match lookups.first() {
                None => (Vec::new(), None),
                Some(&key) => {
                    self.scan(
                        &db,
                        &search,
                        Some(key),
                        after,
                        limit as usize,
                        limits::READ_PER_PAGE,
                    )
                    .await?
                }
            },
            None => {
                self.scan(
                    &db,
                    &search,
                    None,
                    after,
                    limit as usize,
                    limits::READ_PER_PAGE,
                )
                .await?
            }
        };
        Ok(Page {
            items: items.into_iter().map(Row::from).collect(),
            next_after,
        })
    }

    /// One row.
    pub async fn database_row(&self, id: Uuid, row: Uuid) -> Result<Row> {
        self.stored_row(id, row).await.map(Row::from)
    }

    async fn stored_row(&self, id: Uuid, row: Uuid) -> Result<DbRow> {
        self.database(id).await?;
        self.store
            .db_row(id, row)
            .await?
            .ok_or_else(|| ConversationError::NotFound(format!("row {row}")))
    }

    /// How many rows a database holds.
    pub async fn database_size(&self, id: Uuid) -> Result<u64> {
        Ok(self.store.db_count(id).await?)
    }

    /// Adds a row (`values`: column → value, checked for the columns' types).
    pub async fn insert_database_row(&self, id: Uuid, values: &Map<String, Value>) -> Result<Row> {
        let db = self.database(id).await?;
        let values = db
            .def
            .check_row(values, true)
            .map_err(|e| invalid(e.message))?;
        if let Some(why) = self.full(&db, &[]).await? {
            return Err(ConversationError::Conflict("database_full", why));
        }
        if let Some(why) = self.unique_taken(&db, &values, None, &[]).await? {
            return Err(ConversationError::Conflict("unique_value_taken", why));
        }
        let now = self.now();
        let row = DbRow {
            id: Uuid::now_v7(),
            database_id: id,
            values,
            revision: 1,
            created_at: now,
            updated_at: now,
        };
        self.write_rows(&[DbWrite::Insert {
            keys: db.def.keys(&row.values),
            row: row.clone(),
            limit: db_limits::ROWS,
        }])
        .await?;
        Ok(row.into())
    }

    /// Changes a row: `values` holds the columns changed (null removes a value), the row must
    /// still be at `if_match` when given.
    pub async fn update_database_row(
        &self,
        id: Uuid,
        row: Uuid,
        values: &Map<String, Value>,
        if_match: Option<u64>,
    ) -> Result<Row> {
        let db = self.database(id).await?;
        let current = self.stored_row(id, row).await?;
        if let Some(expected) = if_match
            && expected != current.revision
        {
            return Err(MakerError::PreconditionFailed {
                current: current.revision,
            }
            .into());
        }
        let change = db
            .def
            .check_row(values, false)
            .map_err(|e| invalid(e.message))?;
        let Some(next) = db
            .def
            .apply(&current.values, &change)
            .map_err(|e| invalid(e.message))?
        else {
            return Ok(current.into());
        };
        if let Some(why) = self.unique_taken(&db, &next, Some(row), &[]).await? {
            return Err(ConversationError::Conflict("unique_value_taken", why));
        }
        let updated = DbRow {
            values: next,
            revision: current.revision + 1,
            updated_at: self.now(),
            ..current.clone()
        };
        self.write_rows(&[DbWrite::Update {
            keys: db.def.keys(&updated.values),
            row: updated.clone(),
            expected_revision: current.revision,
        }])
        .await
        .map_err(|e| e.stale_after(current.revision))?;
        Ok(updated.into())
    }

    /// Removes a row.
    pub async fn delete_database_row(&self, id: Uuid, row: Uuid) -> Result<()> {
        self.database(id).await?;
        match self
            .store
            .db_write(&[DbWrite::Delete {
                database_id: id,
                id: row,
                expected_revision: None,
            }])
            .await
        {
            Ok(()) => Ok(()),
            Err(store::StoreError::Conflict) => {
                Err(ConversationError::NotFound(format!("row {row}")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Writes rows outside any turn (the rows API), a refusal the checks could not foresee
    /// (a value taken meanwhile) said as such.
    async fn write_rows(&self, writes: &[DbWrite]) -> Result<()> {
        match self.store.db_write(writes).await {
            Ok(()) => Ok(()),
            Err(store::StoreError::Unique(_)) => Err(ConversationError::Conflict(
                "unique_value_taken",
                "another row has a value of a unique column of this one".into(),
            )),
            Err(store::StoreError::Full) => Err(ConversationError::Conflict(
                "database_full",
                format!(
                    "the database holds its largest number of rows ({})",
                    db_limits::ROWS
                ),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// An import of CSV text into a database: feed it the file as it comes, then finish.
    pub async fn database_import(&self, id: Uuid) -> Result<Import<'_>> {
        let db = self.database(id).await?;
        Ok(Import {
            conversations: self,
            db,
            reader: csv_core::Reader::new(),
            out: vec![0; 4096],
            out_len: 0,
            ends: vec![0; 16],
            ends_len: 0,
            line: 0,
            header: None,
            batch: Vec::new(),
            report: ImportReport::default(),
        })
    }

    /// A page of a database's rows as CSV lines (with the header when `after` is `None`), and
    /// the cursor of the next page.
    pub async fn database_export_page(
        &self,
        db: &Database,
        after: Option<Uuid>,
    ) -> Result<(Vec<u8>, Option<Uuid>)> {
        let page = self.store.db_rows(db.id, after, limits::READ_BATCH).await?;
        let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
        let csv_error = |e: csv::Error| ConversationError::NotRecorded(e.to_string());
        if after.is_none() {
            w.write_record(db.def.columns.iter().map(|c| c.name.as_str()))
                .map_err(csv_error)?;
        }
        for row in &page.items {
            w.write_record(
                db.def
                    .columns
                    .iter()
                    .map(|c| match row.values.get(&c.name) {
                        None | Some(Value::Null) => String::new(),
                        Some(Value::String(s)) => s.clone(),
                        Some(other) => other.to_string(),
                    }),
            )
            .map_err(csv_error)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| ConversationError::NotRecorded(e.to_string()))?;
        Ok((bytes, page.next_after))
    }
}

/// A CSV import under way: the first line names the columns (each one of the database's),
/// every other line is a row, checked as the rows API checks one; refused lines are reported,
/// the others written by batches of [`limits::IMPORT_BATCH`].
pub struct Import<'a> {
    conversations: &'a Conversations,
    db: Database,
    reader: csv_core::Reader,
    out: Vec<u8>,
    out_len: usize,
    ends: Vec<usize>,
    ends_len: usize,
    /// Lines read so far.
    line: u64,
    /// The columns of the header, in order.
    header: Option<Vec<String>>,
    /// Checked rows waiting for their transaction, with their lines.
    batch: Vec<(u64, Map<String, Value>)>,
    report: ImportReport,
}

impl Import<'_> {
    /// Reads a chunk of the file.
    pub async fn feed(&mut self, mut input: &[u8]) -> Result<()> {
        while !input.is_empty() {
            self.step(&mut input).await?;
        }
        Ok(())
    }

    /// Reads the end of the file, writes what is left and says what was done.
    pub async fn finish(mut self) -> Result<ImportReport> {
        let mut end: &[u8] = &[];
        // an empty input tells the reader the file ended
        while !self.step(&mut end).await? {}
        self.flush().await?;
        if self.header.is_none() {
            return Err(invalid(
                "the file is empty: its first line names the columns",
            ));
        }
        self.report.errors.sort_by_key(|e| e.line);
        Ok(self.report)
    }

    /// One call of the reader; `true` once the file has ended.
    async fn step(&mut self, input: &mut &[u8]) -> Result<bool> {
        use csv_core::ReadRecordResult as R;
        let (res, nin, nout, nend) = self.reader.read_record(
            input,
            &mut self.out[self.out_len..],
            &mut self.ends[self.ends_len..],
        );
        *input = &input[nin..];
        self.out_len += nout;
        self.ends_len += nend;
        match res {
            R::InputEmpty => Ok(false),
            R::OutputFull => {
                if self.out.len() >= limits::CSV_LINE {
                    return Err(invalid(format!(
                        "line {}: longer than {} bytes",
                        self.line + 1,
                        limits::CSV_LINE
                    )));
                }
                let n = (self.out.len() * 2).min(limits::CSV_LINE);
                self.out.resize(n, 0);
                Ok(false)
            }
            R::OutputEndsFull => {
                if self.ends.len() >= limits::CSV_FIELDS {
                    return Err(invalid(format!(
                        "line {}: more than {} fields",
                        self.line + 1,
                        limits::CSV_FIELDS
                    )));
                }
                let n = (self.ends.len() * 2).min(limits::CSV_FIELDS);
                self.ends.resize(n, 0);
                Ok(false)
            }
            R::Record => {
                self.line += 1;
                let mut fields = Vec::with_capacity(self.ends_len);
                let mut start = 0;
                for &end in &self.ends[..self.ends_len] {
                    fields.push(String::from_utf8_lossy(&self.out[start..end]).into_owned());
                    start = end;
                }
                self.out_len = 0;
                self.ends_len = 0;
                self.record(fields).await?;
                Ok(false)
            }
            R::End => Ok(true),
        }
    }

    fn refuse(&mut self, line: u64, message: String) {
        self.report.refused += 1;
        if self.report.errors.len() < limits::IMPORT_ERRORS {
            self.report.errors.push(ImportError { line, message });
        }
    }

    async fn record(&mut self, fields: Vec<String>) -> Result<()> {
        let Some(header) = &self.header else {
            // the header's names are the columns' in any case (columns differ without case);
            // each is kept as the column's own spelling, so a repeat is a repeat whatever its case
            let mut seen: Vec<String> = Vec::new();
            for name in &fields {
                let name = name.trim().trim_start_matches('\u{feff}');
                let Some(column) = self.db.def.column(name).or_else(|| {
                    self.db
                        .def
                        .columns
                        .iter()
                        .find(|c| c.name.eq_ignore_ascii_case(name))
                }) else {
                    return Err(invalid(format!(
                        "line 1: the database has no column '{name}'"
                    )));
                };
                if seen.contains(&column.name) {
                    return Err(invalid(format!(
                        "line 1: '{name}' names the column {} again",
                        column.name
                    )));
                }
                seen.push(column.name.clone());
            }
            self.header = Some(seen);
            return Ok(());
        };
        // a blank line is no row
        if fields.len() == 1 && fields[0].trim().is_empty() {
            return Ok(());
        }
        if fields.len() != header.len() {
            let message = format!(
                "{} fields where the header names {}",
                fields.len(),
                header.len()
            );
            self.refuse(self.line, message);
            return Ok(());
        }
        let values: Map<String, Value> = header
            .iter()
            .cloned()
            .zip(fields.into_iter().map(Value::String))
            .collect();
        match self.db.def.check_row(&values, true) {
            Ok(row) => self.batch.push((self.line, row)),
            Err(e) => self.refuse(self.line, e.message),
        }
        if self.batch.len() >= limits::IMPORT_BATCH {
            self.flush().await?;
        }
        Ok(())
    }

    /// Writes the checked rows waiting: those whose unique values are taken (by a stored row
    /// or an earlier line) or past the database's limit are refused, the rest written in one
    /// transaction.
    async fn flush(&mut self) -> Result<()> {
        let batch = std::mem::take(&mut self.batch);
        if batch.is_empty() {
            return Ok(());
        }
        let c = self.conversations;
        let now = c.now();
        let mut writes: Vec<DbWrite> = Vec::with_capacity(batch.len());
        let mut lines: Vec<u64> = Vec::with_capacity(batch.len());
        let mut size = c.store.db_count(self.db.id).await?;
        let batch: Vec<(u64, Map<String, Value>, Vec<store::DbKey>)> = batch
            .into_iter()
            .map(|(line, values)| {
                let keys = self.db.def.keys(&values);
                (line, values, keys)
            })
            .collect();
        // the unique keys stored rows hold, read for the whole batch at once
        let asked: Vec<(String, String)> = batch
            .iter()
            .flat_map(|(_, _, keys)| keys.iter().filter(|k| k.unique))
            .map(|k| (k.column.clone(), k.key.clone()))
            .collect::<std::collections::HashSet<_>>()
            .into_iter()
            .collect();
        let held: std::collections::HashSet<(String, String)> = c
            .store
            .db_unique_held(self.db.id, &asked)
            .await?
            .into_iter()
            .collect();
        // the unique keys of the lines written in this batch so far
        let mut batch_keys: std::collections::HashSet<(String, String)> =
            std::collections::HashSet::new();
        for (line, values, keys) in batch {
            if size >= db_limits::ROWS {
                self.refuse(
                    line,
                    format!(
                        "the database holds its largest number of rows ({})",
                        db_limits::ROWS
                    ),
                );
                continue;
            }
            let unique_of = |k: &store::DbKey| (k.column.clone(), k.key.clone());
            if let Some(k) = keys
                .iter()
                .find(|k| k.unique && held.contains(&unique_of(k)))
            {
                let message = format!(
                    "{}: another row has the value {}, and the column is unique",
                    k.column,
                    values.get(&k.column).cloned().unwrap_or(Value::Null)
                );
                self.refuse(line, message);
                continue;
            }
            if let Some(k) = keys
                .iter()
                .find(|k| k.unique && batch_keys.contains(&unique_of(k)))
            {
                let message = format!(
                    "{}: an earlier line has the value {}, and the column is unique",
                    k.column,
                    values.get(&k.column).cloned().unwrap_or(Value::Null)
                );
                self.refuse(line, message);
                continue;
            }
            batch_keys.extend(
                keys.iter()
                    .filter(|k| k.unique)
                    .map(|k| (k.column.clone(), k.key.clone())),
            );
            size += 1;
            lines.push(line);
            writes.push(DbWrite::Insert {
                keys,
                row: DbRow {
                    id: Uuid::now_v7(),
                    database_id: self.db.id,
                    values,
                    revision: 1,
                    created_at: now,
                    updated_at: now,
                },
                limit: db_limits::ROWS,
            });
        }
        match c.write_rows(&writes).await {
            Ok(()) => {
                self.report.inserted += writes.len() as u64;
                Ok(())
            }
            // another writer took a unique value or the last places meanwhile: each line is
            // written alone, so that only the lines it concerns are refused
            Err(ConversationError::Conflict(_, _)) => {
                for (line, write) in lines.into_iter().zip(writes) {
                    match c.write_rows(std::slice::from_ref(&write)).await {
                        Ok(()) => self.report.inserted += 1,
                        Err(ConversationError::Conflict(_, why)) => self.refuse(line, why),
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}
