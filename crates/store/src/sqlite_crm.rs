//! CRM card links in SQLite: `crm_links`.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use crate::crm::{CardLink, RecordLink};
use crate::sqlite::{backend, map_err, ms, opt_uuid, ts, uuid};
use crate::{Result, SqliteStore, StoreError};

fn link_from(row: &SqliteRow) -> Result<CardLink> {
    Ok(CardLink {
        card_id: uuid(row.try_get("card_id").map_err(backend)?)?,
        database_id: uuid(row.try_get("database_id").map_err(backend)?)?,
        directory_id: uuid(row.try_get("directory_id").map_err(backend)?)?,
        object: row.try_get("object").map_err(backend)?,
        interaction_id: uuid(row.try_get("interaction_id").map_err(backend)?)?,
        customer_id: opt_uuid(row, "customer_id")?,
        linked_at: ts(row.try_get("linked_at").map_err(backend)?)?,
    })
}

/// Writes one link inside the open transaction (nothing when the interaction has the card
/// already): `Conflict` when the card is gone.
pub(crate) async fn write_link(tx: &mut sqlx::SqliteConnection, l: &CardLink) -> Result<()> {
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM database_rows WHERE id = ? AND database_id = ?")
            .bind(l.card_id.to_string())
            .bind(l.database_id.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
    if exists.is_none() {
        return Err(StoreError::Conflict);
    }
    sqlx::query("INSERT INTO crm_links (card_id, database_id, directory_id, object, interaction_id, customer_id, linked_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")
        .bind(l.card_id.to_string())
        .bind(l.database_id.to_string())
        .bind(l.directory_id.to_string())
        .bind(&l.object)
        .bind(l.interaction_id.to_string())
        .bind(l.customer_id.map(|u| u.to_string()))
        .bind(ms(l.linked_at))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    Ok(())
}

/// Writes one Salesforce record's link inside the open transaction (nothing when the
/// interaction has it already).
pub(crate) async fn write_record_link(
    tx: &mut sqlx::SqliteConnection,
    l: &RecordLink,
) -> Result<()> {
    sqlx::query("INSERT INTO crm_record_links (record_id, object, directory_id, interaction_id, customer_id, fields, linked_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")
        .bind(&l.record_id)
        .bind(&l.object)
        .bind(l.directory_id.to_string())
        .bind(l.interaction_id.to_string())
        .bind(l.customer_id.map(|u| u.to_string()))
        .bind(serde_json::to_string(&l.fields).map_err(backend)?)
        .bind(ms(l.linked_at))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    Ok(())
}

fn record_link_from(row: &SqliteRow) -> Result<RecordLink> {
    let fields: String = row.try_get("fields").map_err(backend)?;
    Ok(RecordLink {
        record_id: row.try_get("record_id").map_err(backend)?,
        object: row.try_get("object").map_err(backend)?,
        directory_id: uuid(row.try_get("directory_id").map_err(backend)?)?,
        interaction_id: uuid(row.try_get("interaction_id").map_err(backend)?)?,
        customer_id: opt_uuid(row, "customer_id")?,
        fields: match serde_json::from_str(&fields).map_err(backend)? {
            serde_json::Value::Object(m) => m,
            _ => serde_json::Map::new(),
        },
        linked_at: ts(row.try_get("linked_at").map_err(backend)?)?,
    })
}

impl SqliteStore {
    /// A customer's Salesforce records, most recently linked first, one per record (at most
    /// `limit`), as read when last linked.
    pub(crate) async fn record_links_of_customer(
        &self,
        customer: Uuid,
        limit: u32,
    ) -> Result<Vec<RecordLink>> {
        let rows = sqlx::query(
            "SELECT * FROM crm_record_links l WHERE customer_id = ?
               AND linked_at = (SELECT MAX(linked_at) FROM crm_record_links m WHERE m.customer_id = l.customer_id AND m.directory_id = l.directory_id AND m.record_id = l.record_id)
             GROUP BY directory_id, record_id ORDER BY linked_at DESC LIMIT ?",
        )
        .bind(customer.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(record_link_from).collect()
    }

    /// A customer's card links, most recent first, one per card (at most `limit`).
    pub(crate) async fn card_links_of_customer(
        &self,
        customer: Uuid,
        limit: u32,
    ) -> Result<Vec<CardLink>> {
        let rows = sqlx::query(
            "SELECT * FROM crm_links l WHERE customer_id = ?
               AND linked_at = (SELECT MAX(linked_at) FROM crm_links m WHERE m.customer_id = l.customer_id AND m.card_id = l.card_id)
             GROUP BY card_id ORDER BY linked_at DESC LIMIT ?",
        )
        .bind(customer.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(link_from).collect()
    }

    /// An interaction's card links, in the order they were made.
    pub(crate) async fn card_links_of_interaction(
        &self,
        interaction: Uuid,
    ) -> Result<Vec<CardLink>> {
        let rows = sqlx::query(
            "SELECT * FROM crm_links WHERE interaction_id = ? ORDER BY linked_at, rowid",
        )
        .bind(interaction.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(link_from).collect()
    }
}
