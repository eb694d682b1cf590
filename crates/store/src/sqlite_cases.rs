//! Cases in SQLite: `cases`, `case_links` (every link of an interaction to a case, one current
//! per interaction) and `case_numbers` (the numbers of new references).

use serde_json::{Map, Value};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use crate::cases::{CaseFilter, CaseLink, CaseRow, CaseWrite};
use crate::sqlite::{backend, map_err, ms, opt_uuid, page_of, ts, uuid};
use crate::{Page, PageRequest, Result, SqliteStore, StoreError};

fn case_from(row: &SqliteRow) -> Result<CaseRow> {
    let fields: String = row.try_get("fields").map_err(backend)?;
    Ok(CaseRow {
        id: uuid(row.try_get("id").map_err(backend)?)?,
        reference: row.try_get("reference").map_err(backend)?,
        case_type_id: uuid(row.try_get("case_type_id").map_err(backend)?)?,
        title: row.try_get("title").map_err(backend)?,
        status: row.try_get("status").map_err(backend)?,
        fields: match serde_json::from_str(&fields).map_err(backend)? {
            Value::Object(m) => m,
            _ => Map::new(),
        },
        customer_id: opt_uuid(row, "customer_id")?,
        revision: row.try_get::<i64, _>("revision").map_err(backend)? as u64,
        created_at: ts(row.try_get("created_at").map_err(backend)?)?,
        updated_at: ts(row.try_get("updated_at").map_err(backend)?)?,
    })
}

fn link_from(row: &SqliteRow) -> Result<CaseLink> {
    Ok(CaseLink {
        case_id: uuid(row.try_get("case_id").map_err(backend)?)?,
        interaction_id: uuid(row.try_get("interaction_id").map_err(backend)?)?,
        linked_at: ts(row.try_get("linked_at").map_err(backend)?)?,
        unlinked_at: row
            .try_get::<Option<i64>, _>("unlinked_at")
            .map_err(backend)?
            .map(ts)
            .transpose()?,
    })
}

fn fields_text(fields: &Map<String, Value>) -> Result<String> {
    serde_json::to_string(fields).map_err(backend)
}

/// Applies one write inside the open transaction: `Unique("reference")` when a reference is
/// taken, `Conflict` when the case changed or is gone.
pub(crate) async fn write_case(tx: &mut sqlx::SqliteConnection, w: &CaseWrite) -> Result<()> {
    match w {
        CaseWrite::Insert(c) => {
            sqlx::query("INSERT INTO cases (id, reference, case_type_id, title, status, fields, customer_id, revision, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
                .bind(c.id.to_string())
                .bind(&c.reference)
                .bind(c.case_type_id.to_string())
                .bind(&c.title)
                .bind(&c.status)
                .bind(fields_text(&c.fields)?)
                .bind(c.customer_id.map(|u| u.to_string()))
                .bind(c.revision as i64)
                .bind(ms(c.created_at))
                .bind(ms(c.updated_at))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            Ok(())
        }
        CaseWrite::Update {
            case: c,
            expected_revision,
        } => {
            let done = sqlx::query("UPDATE cases SET reference = ?, title = ?, status = ?, fields = ?, customer_id = ?, revision = ?, updated_at = ? WHERE id = ? AND revision = ?")
                .bind(&c.reference)
                .bind(&c.title)
                .bind(&c.status)
                .bind(fields_text(&c.fields)?)
                .bind(c.customer_id.map(|u| u.to_string()))
                .bind(c.revision as i64)
                .bind(ms(c.updated_at))
                .bind(c.id.to_string())
                .bind(*expected_revision as i64)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::Conflict);
            }
            Ok(())
        }
        CaseWrite::Delete {
            id,
            expected_revision,
        } => {
            let done =
                sqlx::query("DELETE FROM cases WHERE id = ? AND (? IS NULL OR revision = ?)")
                    .bind(id.to_string())
                    .bind(expected_revision.map(|r| r as i64))
                    .bind(expected_revision.map(|r| r as i64))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::Conflict);
            }
            sqlx::query("DELETE FROM case_links WHERE case_id = ?")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            Ok(())
        }
        CaseWrite::Link {
            interaction_id,
            case_id,
            at,
        } => {
            let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM cases WHERE id = ?")
                .bind(case_id.to_string())
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
            if exists.is_none() {
                return Err(StoreError::Conflict);
            }
            let current: Option<String> = sqlx::query_scalar(
                "SELECT case_id FROM case_links WHERE interaction_id = ? AND unlinked_at IS NULL",
            )
            .bind(interaction_id.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
            if current.as_deref() == Some(case_id.to_string().as_str()) {
                return Ok(());
            }
            unlink(tx, *interaction_id, *at).await?;
            sqlx::query("INSERT INTO case_links (case_id, interaction_id, linked_at, unlinked_at) VALUES (?, ?, ?, NULL)")
                .bind(case_id.to_string())
                .bind(interaction_id.to_string())
                .bind(ms(*at))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            Ok(())
        }
        CaseWrite::Unlink { interaction_id, at } => unlink(tx, *interaction_id, *at).await,
    }
}

async fn unlink(
    tx: &mut sqlx::SqliteConnection,
    interaction_id: Uuid,
    at: jiff::Timestamp,
) -> Result<()> {
    sqlx::query(
        "UPDATE case_links SET unlinked_at = ? WHERE interaction_id = ? AND unlinked_at IS NULL",
    )
    .bind(ms(at))
    .bind(interaction_id.to_string())
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    Ok(())
}

impl SqliteStore {
    pub(crate) async fn case_write_all(&self, writes: &[CaseWrite]) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        for w in writes {
            write_case(&mut tx, w).await?;
        }
        tx.commit().await.map_err(map_err)
    }

    pub(crate) async fn case_of_id(&self, id: Uuid) -> Result<Option<CaseRow>> {
        let row = sqlx::query("SELECT * FROM cases WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(case_from).transpose()
    }

    pub(crate) async fn case_of_reference(&self, reference: &str) -> Result<Option<CaseRow>> {
        let row = sqlx::query("SELECT * FROM cases WHERE reference = ?")
            .bind(reference)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(case_from).transpose()
    }

    /// Cases, newest first.
    pub(crate) async fn cases_page(
        &self,
        filter: &CaseFilter,
        page: &PageRequest,
    ) -> Result<Page<CaseRow>> {
        let rows = sqlx::query(
            "SELECT * FROM cases
             WHERE (? IS NULL OR customer_id = ?) AND (? IS NULL OR case_type_id = ?)
               AND (? IS NULL OR status = ?) AND (? IS NULL OR id < ?)
             ORDER BY id DESC LIMIT ?",
        )
        .bind(filter.customer_id.map(|u| u.to_string()))
        .bind(filter.customer_id.map(|u| u.to_string()))
        .bind(filter.case_type_id.map(|u| u.to_string()))
        .bind(filter.case_type_id.map(|u| u.to_string()))
        .bind(filter.status.as_deref())
        .bind(filter.status.as_deref())
        .bind(page.after.map(|u| u.to_string()))
        .bind(page.after.map(|u| u.to_string()))
        .bind(i64::from(page.limit) + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let items = rows.iter().map(case_from).collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, page.limit, |c| c.id))
    }

    pub(crate) async fn case_linked_to(&self, interaction: Uuid) -> Result<Option<CaseRow>> {
        let row = sqlx::query(
            "SELECT c.* FROM case_links l JOIN cases c ON c.id = l.case_id
             WHERE l.interaction_id = ? AND l.unlinked_at IS NULL",
        )
        .bind(interaction.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(case_from).transpose()
    }

    /// A case's links in the order they were made, after the first `offset`.
    pub(crate) async fn case_links_of(
        &self,
        case: Uuid,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<CaseLink>> {
        let rows = sqlx::query(
            "SELECT * FROM case_links WHERE case_id = ? ORDER BY linked_at, rowid LIMIT ? OFFSET ?",
        )
        .bind(case.to_string())
        .bind(i64::from(limit))
        .bind(offset as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(link_from).collect()
    }

    pub(crate) async fn case_link_count_of(&self, case: Uuid) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM case_links WHERE case_id = ?")
            .bind(case.to_string())
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(n.max(0) as u64)
    }

    pub(crate) async fn case_number_next(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(
            "INSERT INTO case_numbers (id, last) VALUES (1, 1)
             ON CONFLICT (id) DO UPDATE SET last = last + 1 RETURNING last",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(n.max(0) as u64)
    }
}
