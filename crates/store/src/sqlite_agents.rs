//! Agents and the distribution's state in SQLite.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use crate::agents::*;
use crate::sqlite::page_of;
use crate::sqlite::{backend, map_err, ms, ts, uuid};
use crate::{Page, PageRequest, Result, SqliteStore, StoreError};

fn user_from(row: &SqliteRow) -> Result<UserRow> {
    let last: Option<i64> = row.try_get("last_message_at").map_err(backend)?;
    Ok(UserRow {
        id: uuid(row.try_get("id").map_err(backend)?)?,
        reference: row.try_get("reference").map_err(backend)?,
        name: row.try_get("name").map_err(backend)?,
        token_hash: row.try_get("token_hash").map_err(backend)?,
        presence: row.try_get("presence").map_err(backend)?,
        capacity: row.try_get::<i64, _>("capacity").map_err(backend)? as u32,
        auto_accept: row.try_get::<i64, _>("auto_accept").map_err(backend)? != 0,
        last_message_at: last.map(ts).transpose()?,
        revision: row.try_get::<i64, _>("revision").map_err(backend)? as u64,
        created_at: ts(row.try_get("created_at").map_err(backend)?)?,
        updated_at: ts(row.try_get("updated_at").map_err(backend)?)?,
        email: row.try_get("email").map_err(backend)?,
    })
}

/// Users with their account's email, and the rest of the query.
macro_rules! users_where {
    ($tail:literal) => {
        concat!(
            "SELECT users.*, accounts.email AS email FROM users LEFT JOIN accounts ON accounts.id = users.id ",
            $tail
        )
    };
}

/// Writes distribution rows inside an open transaction.
pub(crate) async fn write_acd_rows(conn: &mut sqlx::SqliteConnection, w: &AcdWrite) -> Result<()> {
    for (interaction, entry) in &w.entries {
        match entry {
            Some((user, value)) => {
                sqlx::query("INSERT INTO acd_entries (interaction_id, user_id, entry) VALUES (?, ?, ?) ON CONFLICT (interaction_id) DO UPDATE SET user_id = excluded.user_id, entry = excluded.entry")
                    .bind(interaction.to_string())
                    .bind(user.map(|u| u.to_string()))
                    .bind(serde_json::to_string(value).map_err(backend)?)
                    .execute(&mut *conn)
                    .await
                    .map_err(map_err)?;
            }
            None => {
                sqlx::query("DELETE FROM acd_entries WHERE interaction_id = ?")
                    .bind(interaction.to_string())
                    .execute(&mut *conn)
                    .await
                    .map_err(map_err)?;
            }
        }
    }
    for (group, rotation, handling) in &w.groups {
        sqlx::query("INSERT INTO acd_groups (group_id, rotation, handling) VALUES (?, ?, ?) ON CONFLICT (group_id) DO UPDATE SET rotation = excluded.rotation, handling = excluded.handling")
            .bind(group.to_string())
            .bind(*rotation as i64)
            .bind(serde_json::to_string(handling).map_err(backend)?)
            .execute(&mut *conn)
            .await
            .map_err(map_err)?;
    }
    if let Some(rng) = w.rng {
        sqlx::query("INSERT INTO acd_meta (key, value) VALUES ('rng', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(rng.to_string())
            .execute(&mut *conn)
            .await
            .map_err(map_err)?;
    }
    Ok(())
}

#[async_trait]
impl AgentStore for SqliteStore {
    async fn users(&self, page: &PageRequest) -> Result<Page<UserRow>> {
        let limit = page.limit.clamp(1, 1_000);
        let rows = sqlx::query(users_where!(
            "WHERE (?1 IS NULL OR users.id > ?1) ORDER BY users.id LIMIT ?2"
        ))
        .bind(page.after.map(|a| a.to_string()))
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let items = rows.iter().map(user_from).collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, limit, |u| u.id))
    }

    async fn all_users(&self) -> Result<Vec<UserRow>> {
        let rows = sqlx::query(users_where!("ORDER BY users.id"))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(user_from).collect()
    }

    async fn user(&self, id: Uuid) -> Result<Option<UserRow>> {
        let row = sqlx::query(users_where!("WHERE users.id = ?"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(user_from).transpose()
    }

    async fn user_by_reference(&self, reference: &str) -> Result<Option<UserRow>> {
        let row = sqlx::query(users_where!("WHERE users.reference = ?"))
            .bind(reference)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(user_from).transpose()
    }

    async fn user_by_token(&self, token_hash: &str) -> Result<Option<UserRow>> {
        let row = sqlx::query(users_where!("WHERE users.token_hash = ?"))
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(user_from).transpose()
    }

    async fn write_user(&self, write: UserWrite) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let done = match &write {
            UserWrite::Insert { user: u, .. } | UserWrite::Update { user: u, .. } => {
                // the same parameters for both: ?10 (created_at) is not changed by an update
                let (sql, expected) = match &write {
                    UserWrite::Update {
                        expected_revision, ..
                    } => (
                        "UPDATE users SET reference = ?1, name = ?2, token_hash = ?3, presence = ?4, capacity = ?5, auto_accept = ?6, last_message_at = ?7, revision = ?8, updated_at = ?9 WHERE id = ?11 AND revision = ?12",
                        Some(*expected_revision as i64),
                    ),
                    _ => (
                        "INSERT INTO users (reference, name, token_hash, presence, capacity, auto_accept, last_message_at, revision, updated_at, created_at, id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                        None,
                    ),
                };
                let mut q = sqlx::query(sql)
                    .bind(&u.reference)
                    .bind(&u.name)
                    .bind(&u.token_hash)
                    .bind(&u.presence)
                    .bind(i64::from(u.capacity))
                    .bind(i64::from(u.auto_accept))
                    .bind(u.last_message_at.map(ms))
                    .bind(u.revision as i64)
                    .bind(ms(u.updated_at))
                    .bind(ms(u.created_at))
                    .bind(u.id.to_string());
                if let Some(e) = expected {
                    q = q.bind(e);
                }
                let done = q.execute(&mut *tx).await.map_err(map_err)?;
                match &write {
                    UserWrite::Insert { account, .. } => {
                        crate::sqlite_access::insert_account_in(&mut tx, account).await?;
                    }
                    _ => {
                        sqlx::query("UPDATE accounts SET name = ? WHERE id = ?")
                            .bind(&u.name)
                            .bind(u.id.to_string())
                            .execute(&mut *tx)
                            .await
                            .map_err(map_err)?;
                    }
                }
                done
            }
            UserWrite::Delete { id } => {
                sqlx::query("DELETE FROM accounts WHERE id = ?")
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                sqlx::query("DELETE FROM users WHERE id = ?")
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?
            }
        };
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        tx.commit().await.map_err(map_err)?;
        Ok(())
    }

    async fn set_user_state(
        &self,
        id: Uuid,
        presence: &str,
        last_message_at: Option<jiff::Timestamp>,
    ) -> Result<()> {
        sqlx::query("UPDATE users SET presence = ?, last_message_at = ? WHERE id = ?")
            .bind(presence)
            .bind(last_message_at.map(ms))
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn acd_snapshot(&self) -> Result<AcdSnapshot> {
        let entries: Vec<String> = sqlx::query_scalar("SELECT entry FROM acd_entries")
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        let groups = sqlx::query("SELECT * FROM acd_groups")
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        let rng: Option<String> =
            sqlx::query_scalar("SELECT value FROM acd_meta WHERE key = 'rng'")
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        Ok(AcdSnapshot {
            entries: entries
                .iter()
                .map(|e| serde_json::from_str(e).map_err(backend))
                .collect::<Result<_>>()?,
            groups: groups
                .iter()
                .map(|r| {
                    let handling: String = r.try_get("handling").map_err(backend)?;
                    Ok((
                        uuid(r.try_get("group_id").map_err(backend)?)?,
                        r.try_get::<i64, _>("rotation").map_err(backend)? as u64,
                        serde_json::from_str(&handling).map_err(backend)?,
                    ))
                })
                .collect::<Result<_>>()?,
            rng: rng.and_then(|r| r.parse().ok()),
        })
    }

    async fn write_acd(&self, write: &AcdWrite) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        write_acd_rows(&mut tx, write).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(())
    }
}
