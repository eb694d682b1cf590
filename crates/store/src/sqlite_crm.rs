//! CRM card links in SQLite: `crm_links`.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use crate::crm::CardLink;
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

impl SqliteStore {
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
