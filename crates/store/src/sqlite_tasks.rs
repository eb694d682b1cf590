//! Tasks in SQLite: `tasks`.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use crate::sqlite::{backend, map_err, ms, opt_uuid, page_of, ts, uuid};
use crate::tasks::{TaskFilter, TaskRow};
use crate::{Page, PageRequest, Result, SqliteStore, StoreError, TargetInsert};

fn opt_ts(row: &SqliteRow, column: &str) -> Result<Option<jiff::Timestamp>> {
    row.try_get::<Option<i64>, _>(column)
        .map_err(backend)?
        .map(ts)
        .transpose()
}

fn task_from(row: &SqliteRow) -> Result<TaskRow> {
    Ok(TaskRow {
        id: uuid(row.try_get("id").map_err(backend)?)?,
        key: row.try_get("key").map_err(backend)?,
        name: row.try_get("name").map_err(backend)?,
        category: row.try_get("category").map_err(backend)?,
        start_at: opt_ts(row, "start_at")?,
        due_at: opt_ts(row, "due_at")?,
        status: row.try_get("status").map_err(backend)?,
        interaction_id: opt_uuid(row, "interaction_id")?,
        customer_id: opt_uuid(row, "customer_id")?,
        created_at: ts(row.try_get("created_at").map_err(backend)?)?,
        updated_at: ts(row.try_get("updated_at").map_err(backend)?)?,
    })
}

impl SqliteStore {
    /// Inserts a task once per key, within `limit` tasks in all (written first, counted after).
    pub(crate) async fn task_insert_once(&self, t: &TaskRow, limit: u64) -> Result<TargetInsert> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let done = sqlx::query("INSERT INTO tasks (id, key, name, category, start_at, due_at, status, interaction_id, customer_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING")
            .bind(t.id.to_string())
            .bind(&t.key)
            .bind(&t.name)
            .bind(&t.category)
            .bind(t.start_at.map(ms))
            .bind(t.due_at.map(ms))
            .bind(&t.status)
            .bind(t.interaction_id.map(|u| u.to_string()))
            .bind(t.customer_id.map(|u| u.to_string()))
            .bind(ms(t.created_at))
            .bind(ms(t.updated_at))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Ok(TargetInsert::Again);
        }
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tasks")
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?;
        if n.max(0) as u64 > limit {
            return Ok(TargetInsert::Full);
        }
        tx.commit().await.map_err(map_err)?;
        Ok(TargetInsert::Inserted)
    }

    pub(crate) async fn task_of_key(&self, key: &str) -> Result<Option<TaskRow>> {
        let row = sqlx::query("SELECT * FROM tasks WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(task_from).transpose()
    }

    pub(crate) async fn task_of_id(&self, id: Uuid) -> Result<Option<TaskRow>> {
        let row = sqlx::query("SELECT * FROM tasks WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(task_from).transpose()
    }

    /// A task's status set (`Conflict` when it is gone).
    pub(crate) async fn task_status(
        &self,
        id: Uuid,
        status: &str,
        at: jiff::Timestamp,
    ) -> Result<()> {
        let done = sqlx::query("UPDATE tasks SET status = ?, updated_at = ? WHERE id = ?")
            .bind(status)
            .bind(ms(at))
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        Ok(())
    }

    pub(crate) async fn task_remove(&self, id: Uuid) -> Result<()> {
        let done = sqlx::query("DELETE FROM tasks WHERE id = ?")
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        Ok(())
    }

    /// Tasks, newest first.
    pub(crate) async fn tasks_page(
        &self,
        filter: &TaskFilter,
        page: &PageRequest,
    ) -> Result<Page<TaskRow>> {
        let customer = filter.customer_id.map(|u| u.to_string());
        let rows = sqlx::query(
            "SELECT * FROM tasks WHERE (? IS NULL OR status = ?) AND (? IS NULL OR customer_id = ?)
               AND (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?",
        )
        .bind(filter.status.as_deref())
        .bind(filter.status.as_deref())
        .bind(customer.as_deref())
        .bind(customer.as_deref())
        .bind(page.after.map(|u| u.to_string()))
        .bind(page.after.map(|u| u.to_string()))
        .bind(i64::from(page.limit) + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let items = rows.iter().map(task_from).collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, page.limit, |t| t.id))
    }
}
