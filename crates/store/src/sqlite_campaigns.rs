//! Campaign targets in SQLite: `campaign_targets`.

use serde_json::{Map, Value};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use crate::campaigns::{TargetInsert, TargetRow};
use crate::sqlite::{backend, map_err, ms, opt_uuid, page_of, ts, uuid};
use crate::{Page, PageRequest, Result, SqliteStore};

fn target_from(row: &SqliteRow) -> Result<TargetRow> {
    let fields: String = row.try_get("fields").map_err(backend)?;
    Ok(TargetRow {
        id: uuid(row.try_get("id").map_err(backend)?)?,
        key: row.try_get("key").map_err(backend)?,
        campaign_id: uuid(row.try_get("campaign_id").map_err(backend)?)?,
        phone: row.try_get("phone").map_err(backend)?,
        start_at: ts(row.try_get("start_at").map_err(backend)?)?,
        priority: row.try_get("priority").map_err(backend)?,
        layout: row.try_get("layout").map_err(backend)?,
        fields: match serde_json::from_str(&fields).map_err(backend)? {
            Value::Object(m) => m,
            _ => Map::new(),
        },
        status: row.try_get("status").map_err(backend)?,
        customer_id: opt_uuid(row, "customer_id")?,
        interaction_id: opt_uuid(row, "interaction_id")?,
        created_at: ts(row.try_get("created_at").map_err(backend)?)?,
    })
}

impl SqliteStore {
    /// Inserts a target once per key, within the campaign's `limit` (written first, counted
    /// after: the transaction takes the write lock with its first statement).
    pub(crate) async fn target_insert_once(
        &self,
        t: &TargetRow,
        limit: u64,
    ) -> Result<TargetInsert> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let done = sqlx::query("INSERT INTO campaign_targets (id, key, campaign_id, phone, start_at, priority, layout, fields, status, customer_id, interaction_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING")
            .bind(t.id.to_string())
            .bind(&t.key)
            .bind(t.campaign_id.to_string())
            .bind(&t.phone)
            .bind(ms(t.start_at))
            .bind(t.priority)
            .bind(&t.layout)
            .bind(serde_json::to_string(&t.fields).map_err(backend)?)
            .bind(&t.status)
            .bind(t.customer_id.map(|u| u.to_string()))
            .bind(t.interaction_id.map(|u| u.to_string()))
            .bind(ms(t.created_at))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Ok(TargetInsert::Again);
        }
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM campaign_targets WHERE campaign_id = ?")
                .bind(t.campaign_id.to_string())
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?;
        if n.max(0) as u64 > limit {
            return Ok(TargetInsert::Full);
        }
        tx.commit().await.map_err(map_err)?;
        Ok(TargetInsert::Inserted)
    }

    /// Whether a campaign has a target of this number (only one still pending when
    /// `pending_only`).
    pub(crate) async fn target_held_by(
        &self,
        campaign: Uuid,
        phone: &str,
        pending_only: bool,
    ) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM campaign_targets WHERE campaign_id = ? AND phone = ? AND (? = 0 OR status = 'pending') LIMIT 1",
        )
        .bind(campaign.to_string())
        .bind(phone)
        .bind(i64::from(pending_only))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(found.is_some())
    }

    /// A campaign's targets in the order they were inserted.
    pub(crate) async fn targets_page(
        &self,
        campaign: Uuid,
        page: &PageRequest,
    ) -> Result<Page<TargetRow>> {
        let rows = sqlx::query(
            "SELECT * FROM campaign_targets WHERE campaign_id = ? AND (? IS NULL OR id > ?) ORDER BY id LIMIT ?",
        )
        .bind(campaign.to_string())
        .bind(page.after.map(|u| u.to_string()))
        .bind(page.after.map(|u| u.to_string()))
        .bind(i64::from(page.limit) + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let items = rows.iter().map(target_from).collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, page.limit, |t| t.id))
    }
}
