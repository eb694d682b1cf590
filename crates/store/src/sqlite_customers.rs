//! Customers in SQLite.

use flow::customer::Customer;
use flow::entry_point::Channel;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use crate::interactions::{CustomerFilter, CustomerWrite};
use crate::sqlite::page_of;
use crate::sqlite::{backend, map_err, ms, ts, uuid};
use crate::{Page, PageRequest, Result, SqliteStore, StoreError};

fn customer_from(row: &SqliteRow) -> Result<Customer> {
    let channel: String = row.try_get("channel").map_err(backend)?;
    let fields: String = row.try_get("fields").map_err(backend)?;
    Ok(Customer {
        id: uuid(row.try_get("id").map_err(backend)?)?,
        channel: Channel::parse(&channel)
            .ok_or_else(|| backend(format!("bad channel {channel}")))?,
        address: row.try_get("address").map_err(backend)?,
        reference: row.try_get("reference").map_err(backend)?,
        name: row.try_get("name").map_err(backend)?,
        fields: serde_json::from_str(&fields).map_err(backend)?,
        owner_id: crate::sqlite::opt_uuid(row, "owner_id")?,
        revision: row.try_get::<i64, _>("revision").map_err(backend)? as u64,
        created_at: ts(row.try_get("created_at").map_err(backend)?)?,
        updated_at: ts(row.try_get("updated_at").map_err(backend)?)?,
    })
}

/// Inserts a customer; with `keep_existing`, one already there (by id or address) is left as
/// it is and nothing is refused.
pub(crate) async fn insert(
    conn: &mut sqlx::SqliteConnection,
    c: &Customer,
    keep_existing: bool,
) -> Result<()> {
    let sql = if keep_existing {
        "INSERT INTO customers (id, channel, address, reference, name, fields, revision, created_at, updated_at, owner_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
    } else {
        "INSERT INTO customers (id, channel, address, reference, name, fields, revision, created_at, updated_at, owner_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    };
    let fields = serde_json::to_string(&c.fields).map_err(backend)?;
    sqlx::query(sql)
        .bind(c.id.to_string())
        .bind(c.channel.as_str())
        .bind(&c.address)
        .bind(&c.reference)
        .bind(&c.name)
        .bind(fields)
        .bind(c.revision as i64)
        .bind(ms(c.created_at))
        .bind(ms(c.updated_at))
        .bind(c.owner_id.map(|o| o.to_string()))
        .execute(conn)
        .await
        .map_err(|e| match map_err(e) {
            // the same id is the same channel and address
            StoreError::Conflict => StoreError::Unique("address"),
            other => other,
        })?;
    Ok(())
}

impl SqliteStore {
    pub(crate) async fn customer_row(&self, id: Uuid) -> Result<Option<Customer>> {
        let row = sqlx::query("SELECT * FROM customers WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(customer_from).transpose()
    }

    pub(crate) async fn customers_page(
        &self,
        f: &CustomerFilter,
        page: &PageRequest,
    ) -> Result<Page<Customer>> {
        let limit = page.limit.clamp(1, 1_000);
        let rows = sqlx::query(
            "SELECT * FROM customers
             WHERE (?1 IS NULL OR channel = ?1) AND (?2 IS NULL OR address = ?2) AND (?3 IS NULL OR reference = ?3)
               AND (?4 IS NULL OR id > ?4)
             ORDER BY id LIMIT ?5",
        )
        .bind(f.channel.map(Channel::as_str))
        .bind(f.address.clone())
        .bind(f.reference.clone())
        .bind(page.after.map(|a| a.to_string()))
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let items = rows.iter().map(customer_from).collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, limit, |c| c.id))
    }

    pub(crate) async fn customer_write(&self, write: CustomerWrite) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        match &write {
            CustomerWrite::Insert(c) => insert(&mut tx, c, false).await?,
            CustomerWrite::Update {
                customer: c,
                expected_revision,
            } => {
                let done = sqlx::query(
                    "UPDATE customers SET reference = ?, name = ?, fields = ?, owner_id = ?, revision = ?, updated_at = ?
                     WHERE id = ? AND revision = ?",
                )
                .bind(&c.reference)
                .bind(&c.name)
                .bind(serde_json::to_string(&c.fields).map_err(backend)?)
                .bind(c.owner_id.map(|o| o.to_string()))
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
            }
            CustomerWrite::Delete { id } => {
                let done = sqlx::query("DELETE FROM customers WHERE id = ?")
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::Conflict);
                }
                sqlx::query("UPDATE interactions SET customer_id = NULL WHERE customer_id = ?")
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
            }
        }
        tx.commit().await.map_err(map_err)?;
        Ok(())
    }
}
