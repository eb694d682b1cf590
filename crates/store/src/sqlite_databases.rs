//! Rows of custom databases in SQLite: `database_rows`, their keys (`database_keys`, and
//! `database_unique` whose primary key refuses a taken unique value) and the row count of each
//! database (`database_sizes`).

use serde_json::{Map, Value};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use crate::databases::{DbKey, DbRow, DbWrite, Refusal, Reshape};
use crate::sqlite::{backend, map_err, ms, ts, uuid};
use crate::{Page, Result, SqliteStore, StoreError};

/// Rows read by one statement while a definition change rewrites them.
const RESHAPE_PAGE: i64 = 500;

fn row_from(row: &SqliteRow) -> Result<DbRow> {
    let values: String = row.try_get("values").map_err(backend)?;
    let values: Value = serde_json::from_str(&values).map_err(backend)?;
    Ok(DbRow {
        id: uuid(row.try_get("id").map_err(backend)?)?,
        database_id: uuid(row.try_get("database_id").map_err(backend)?)?,
        values: match values {
            Value::Object(m) => m,
            _ => Map::new(),
        },
        revision: row.try_get::<i64, _>("revision").map_err(backend)? as u64,
        created_at: ts(row.try_get("created_at").map_err(backend)?)?,
        updated_at: ts(row.try_get("updated_at").map_err(backend)?)?,
    })
}

fn values_text(values: &Map<String, Value>) -> Result<String> {
    serde_json::to_string(values).map_err(backend)
}

async fn insert_keys(
    tx: &mut sqlx::SqliteConnection,
    database_id: Uuid,
    row_id: Uuid,
    keys: &[DbKey],
) -> Result<()> {
    for k in keys {
        let table = if k.unique {
            "database_unique"
        } else {
            "database_keys"
        };
        let sql = format!(
            "INSERT INTO {table} (database_id, \"column\", key, row_id) VALUES (?, ?, ?, ?)"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(database_id.to_string())
            .bind(&k.column)
            .bind(&k.key)
            .bind(row_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
    }
    Ok(())
}

async fn delete_keys(tx: &mut sqlx::SqliteConnection, row_id: Uuid) -> Result<()> {
    for sql in [
        "DELETE FROM database_keys WHERE row_id = ?",
        "DELETE FROM database_unique WHERE row_id = ?",
    ] {
        sqlx::query(sql)
            .bind(row_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
    }
    Ok(())
}

/// Applies one write inside the open transaction: `Unique` when a unique key is taken, `Full`
/// at the database's limit, `Conflict` when the row changed or is gone.
pub(crate) async fn write_db(tx: &mut sqlx::SqliteConnection, w: &DbWrite) -> Result<()> {
    match w {
        DbWrite::Insert { row, keys, limit } => {
            let db = row.database_id.to_string();
            let grown = sqlx::query(
                "INSERT INTO database_sizes (database_id, rows) VALUES (?, 1)
                 ON CONFLICT (database_id) DO UPDATE SET rows = rows + 1 WHERE rows < ?",
            )
            .bind(&db)
            .bind(*limit as i64)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
            if grown.rows_affected() == 0 || *limit == 0 {
                return Err(StoreError::Full);
            }
            sqlx::query("INSERT INTO database_rows (id, database_id, \"values\", revision, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)")
                .bind(row.id.to_string())
                .bind(&db)
                .bind(values_text(&row.values)?)
                .bind(row.revision as i64)
                .bind(ms(row.created_at))
                .bind(ms(row.updated_at))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            insert_keys(tx, row.database_id, row.id, keys).await
        }
        DbWrite::Update {
            row,
            keys,
            expected_revision,
        } => {
            let done = sqlx::query("UPDATE database_rows SET \"values\" = ?, revision = ?, updated_at = ? WHERE id = ? AND database_id = ? AND revision = ?")
                .bind(values_text(&row.values)?)
                .bind(row.revision as i64)
                .bind(ms(row.updated_at))
                .bind(row.id.to_string())
                .bind(row.database_id.to_string())
                .bind(*expected_revision as i64)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::Conflict);
            }
            delete_keys(tx, row.id).await?;
            insert_keys(tx, row.database_id, row.id, keys).await
        }
        DbWrite::Delete {
            database_id,
            id,
            expected_revision,
        } => {
            let done = sqlx::query("DELETE FROM database_rows WHERE id = ? AND database_id = ? AND (? IS NULL OR revision = ?)")
                .bind(id.to_string())
                .bind(database_id.to_string())
                .bind(expected_revision.map(|r| r as i64))
                .bind(expected_revision.map(|r| r as i64))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::Conflict);
            }
            delete_keys(tx, *id).await?;
            sqlx::query("UPDATE database_sizes SET rows = rows - 1 WHERE database_id = ?")
                .bind(database_id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            Ok(())
        }
    }
}

/// Removes every row of a database (its object is deleted in the same transaction).
pub(crate) async fn drop_rows(tx: &mut sqlx::SqliteConnection, database_id: Uuid) -> Result<()> {
    for table in [
        "database_keys",
        "database_unique",
        "database_rows",
        "database_sizes",
    ] {
        let sql = format!("DELETE FROM {table} WHERE database_id = ?");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(database_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
    }
    Ok(())
}

/// Inserts new rows inside the open transaction in a few statements whatever their number
/// (each statement reads its rows from one JSON array): the row counts grown, the rows, their
/// keys. `Full` when a database would pass its limit, `Unique` when a unique key is taken.
async fn insert_many(tx: &mut sqlx::SqliteConnection, writes: &[DbWrite]) -> Result<()> {
    let mut growth: std::collections::BTreeMap<Uuid, (u64, u64)> = Default::default();
    let mut rows: Vec<Value> = Vec::with_capacity(writes.len());
    let (mut keys, mut unique): (Vec<Value>, Vec<Value>) = (Vec::new(), Vec::new());
    for w in writes {
        let DbWrite::Insert {
            row,
            keys: k,
            limit,
        } = w
        else {
            continue;
        };
        let g = growth.entry(row.database_id).or_insert((0, *limit));
        g.0 += 1;
        g.1 = g.1.min(*limit);
        rows.push(Value::Array(vec![
            row.id.to_string().into(),
            row.database_id.to_string().into(),
            values_text(&row.values)?.into(),
            row.revision.into(),
            ms(row.created_at).into(),
            ms(row.updated_at).into(),
        ]));
        for key in k {
            let entry = Value::Array(vec![
                row.database_id.to_string().into(),
                key.column.clone().into(),
                key.key.clone().into(),
                row.id.to_string().into(),
            ]);
            if key.unique {
                unique.push(entry);
            } else {
                keys.push(entry);
            }
        }
    }
    for (db, (n, limit)) in growth {
        if n > limit {
            return Err(StoreError::Full);
        }
        let grown = sqlx::query(
            "INSERT INTO database_sizes (database_id, rows) VALUES (?, ?)
             ON CONFLICT (database_id) DO UPDATE SET rows = rows + excluded.rows
             WHERE rows + excluded.rows <= ?",
        )
        .bind(db.to_string())
        .bind(n as i64)
        .bind(limit as i64)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if grown.rows_affected() == 0 {
            return Err(StoreError::Full);
        }
    }
    let json = |items: &[Value]| serde_json::to_string(items).map_err(backend);
    sqlx::query(
        "INSERT INTO database_rows (id, database_id, \"values\", revision, created_at, updated_at)
         SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
                json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]')
         FROM json_each(?)",
    )
    .bind(json(&rows)?)
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    for (table, items) in [("database_keys", &keys), ("database_unique", &unique)] {
        if items.is_empty() {
            continue;
        }
        let sql = format!(
            "INSERT INTO {table} (database_id, \"column\", key, row_id)
             SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'),
                    json_extract(value, '$[2]'), json_extract(value, '$[3]')
             FROM json_each(?)"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(json(items)?)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
    }
    Ok(())
}

impl SqliteStore {
    pub(crate) async fn db_write_rows(&self, writes: &[DbWrite]) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // new rows only (an import's batch): a few statements for them all
        if writes.len() > 1 && writes.iter().all(|w| matches!(w, DbWrite::Insert { .. })) {
            insert_many(&mut tx, writes).await?;
        } else {
            for w in writes {
                write_db(&mut tx, w).await?;
            }
        }
        tx.commit().await.map_err(map_err)
    }

    pub(crate) async fn db_row_of(&self, database_id: Uuid, id: Uuid) -> Result<Option<DbRow>> {
        let row = sqlx::query("SELECT * FROM database_rows WHERE id = ? AND database_id = ?")
            .bind(id.to_string())
            .bind(database_id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(row_from).transpose()
    }

    pub(crate) async fn db_page_of(
        &self,
        database_id: Uuid,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Page<DbRow>> {
        let rows = sqlx::query(
            "SELECT * FROM database_rows WHERE database_id = ? AND id > ? ORDER BY id LIMIT ?",
        )
        .bind(database_id.to_string())
        .bind(after.map(|a| a.to_string()).unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        page(rows, limit)
    }

    pub(crate) async fn db_by_key_of(
        &self,
        database_id: Uuid,
        column: &str,
        key: &str,
        unique: bool,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Page<DbRow>> {
        let table = if unique {
            "database_unique"
        } else {
            "database_keys"
        };
        let sql = format!(
            "SELECT r.* FROM {table} k JOIN database_rows r ON r.id = k.row_id
             WHERE k.database_id = ? AND k.\"column\" = ? AND k.key = ? AND k.row_id > ?
             ORDER BY k.row_id LIMIT ?"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(database_id.to_string())
            .bind(column)
            .bind(key)
            .bind(after.map(|a| a.to_string()).unwrap_or_default())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        page(rows, limit)
    }

    pub(crate) async fn db_unique_held_of(
        &self,
        database_id: Uuid,
        keys: &[(String, String)],
    ) -> Result<Vec<(String, String)>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        // the pairs travel as one JSON array of [column, key]: one statement, one bound value
        let pairs = serde_json::to_string(keys).map_err(backend)?;
        let rows = sqlx::query(
            "SELECT u.\"column\", u.key FROM database_unique u
             WHERE u.database_id = ?
               AND (u.\"column\", u.key) IN
                   (SELECT json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]')
                    FROM json_each(?) j)",
        )
        .bind(database_id.to_string())
        .bind(pairs)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get::<String, _>(0).map_err(backend)?,
                    r.try_get::<String, _>(1).map_err(backend)?,
                ))
            })
            .collect()
    }

    pub(crate) async fn db_count_of(&self, database_id: Uuid) -> Result<u64> {
        let n: Option<i64> =
            sqlx::query_scalar("SELECT rows FROM database_sizes WHERE database_id = ?")
                .bind(database_id.to_string())
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(n.unwrap_or(0).max(0) as u64)
    }

    /// Writes a database's new definition and rewrites each of its rows with `reshape`, in one
    /// transaction; nothing is written if a row is refused (at most `shown` refusals returned).
    pub(crate) async fn db_reshape_rows(
        &self,
        object: &flow::objects::BusinessObject,
        expected_revision: u64,
        reshape: &Reshape<'_>,
        shown: usize,
    ) -> Result<Vec<Refusal>> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let done = sqlx::query("UPDATE business_objects SET reference = ?, name = ?, description = ?, data = ?, secret = ?, revision = ?, updated_at = ? WHERE id = ? AND revision = ?")
            .bind(&object.reference)
            .bind(&object.name)
            .bind(&object.description)
            .bind(serde_json::to_string(&object.data).map_err(backend)?)
            .bind(&object.secret)
            .bind(object.revision as i64)
            .bind(ms(object.updated_at))
            .bind(object.id.to_string())
            .bind(expected_revision as i64)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        let db = object.id.to_string();
        for table in ["database_keys", "database_unique"] {
            let sql = format!("DELETE FROM {table} WHERE database_id = ?");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(&db)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        let mut refused = Vec::new();
        let mut after = String::new();
        loop {
            let rows = sqlx::query(
                "SELECT * FROM database_rows WHERE database_id = ? AND id > ? ORDER BY id LIMIT ?",
            )
            .bind(&db)
            .bind(&after)
            .bind(RESHAPE_PAGE)
            .fetch_all(&mut *tx)
            .await
            .map_err(map_err)?;
            let Some(last) = rows.last() else { break };
            after = last.try_get("id").map_err(backend)?;
            for r in &rows {
                let row = row_from(r)?;
                let (values, keys) = match reshape(&row.values) {
                    Ok(v) => v,
                    Err(message) => {
                        refused.push(Refusal {
                            row_id: row.id,
                            message,
                        });
                        if refused.len() >= shown {
                            return Ok(refused);
                        }
                        continue;
                    }
                };
                if values != row.values {
                    sqlx::query("UPDATE database_rows SET \"values\" = ?, revision = revision + 1, updated_at = ? WHERE id = ?")
                        .bind(values_text(&values)?)
                        .bind(ms(object.updated_at))
                        .bind(row.id.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err(map_err)?;
                }
                for k in &keys {
                    match insert_keys(&mut tx, row.database_id, row.id, std::slice::from_ref(k))
                        .await
                    {
                        Ok(()) => {}
                        Err(StoreError::Unique(_)) => {
                            refused.push(Refusal {
                                row_id: row.id,
                                message: format!(
                                    "{}: another row has the same value, and the column is unique",
                                    k.column
                                ),
                            });
                            if refused.len() >= shown {
                                return Ok(refused);
                            }
                            break;
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        if refused.is_empty() {
            tx.commit().await.map_err(map_err)?;
        }
        Ok(refused)
    }
}

fn page(rows: Vec<SqliteRow>, limit: u32) -> Result<Page<DbRow>> {
    let items = rows.iter().map(row_from).collect::<Result<Vec<_>>>()?;
    let next_after = (items.len() as u32 == limit && limit > 0)
        .then(|| items.last().map(|r| r.id))
        .flatten();
    Ok(Page { items, next_after })
}
