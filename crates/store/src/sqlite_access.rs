//! [`AccessStore`] on SQLite.

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use crate::access::*;
use crate::sqlite::{backend, map_err, ms, page_of, ts, uuid};
use crate::{Page, PageRequest, Result, SqliteStore, StoreError};

fn token_from(row: &SqliteRow) -> Result<TokenRow> {
    let at = |column: &str| -> Result<Option<Timestamp>> {
        let v: Option<i64> = row.try_get(column).map_err(backend)?;
        v.map(ts).transpose()
    };
    Ok(TokenRow {
        id: uuid(row.try_get("id").map_err(backend)?)?,
        name: row.try_get("name").map_err(backend)?,
        token_hash: row.try_get("token_hash").map_err(backend)?,
        role: row.try_get("role").map_err(backend)?,
        expires_at: at("expires_at")?,
        revoked_at: at("revoked_at")?,
        created_at: ts(row.try_get("created_at").map_err(backend)?)?,
    })
}

fn account_from(row: &SqliteRow) -> Result<AccountRow> {
    Ok(AccountRow {
        id: uuid(row.try_get("id").map_err(backend)?)?,
        email: row.try_get("email").map_err(backend)?,
        name: row.try_get("name").map_err(backend)?,
        password_hash: row.try_get("password_hash").map_err(backend)?,
        role: row.try_get("role").map_err(backend)?,
        status: row.try_get("status").map_err(backend)?,
        revision: row.try_get::<i64, _>("revision").map_err(backend)? as u64,
        created_at: ts(row.try_get("created_at").map_err(backend)?)?,
        updated_at: ts(row.try_get("updated_at").map_err(backend)?)?,
    })
}

fn email_taken(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.message().contains("accounts.email") => {
            StoreError::Unique("email")
        }
        _ => map_err(e),
    }
}

/// An account's write: the same parameters for an insert and an update (`?9`, its creation
/// time, is not changed by an update; `?10` is then the expected revision).
fn account_query<'q>(
    sql: &'static str,
    a: &'q AccountRow,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    sqlx::query(sql)
        .bind(&a.email)
        .bind(&a.name)
        .bind(&a.password_hash)
        .bind(&a.role)
        .bind(&a.status)
        .bind(a.revision as i64)
        .bind(ms(a.updated_at))
        .bind(a.id.to_string())
        .bind(ms(a.created_at))
}

/// Inserts an account inside an open transaction.
pub(crate) async fn insert_account_in(
    conn: &mut sqlx::SqliteConnection,
    a: &AccountRow,
) -> Result<()> {
    account_query(
        "INSERT INTO accounts (email, name, password_hash, role, status, revision, updated_at, id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        a,
    )
    .execute(&mut *conn)
    .await
        .map_err(email_taken)?;
    Ok(())
}

fn role_from(row: &SqliteRow) -> Result<RoleRow> {
    let permissions: String = row.try_get("permissions").map_err(backend)?;
    Ok(RoleRow {
        reference: row.try_get("reference").map_err(backend)?,
        name: row.try_get("name").map_err(backend)?,
        permissions: serde_json::from_str(&permissions).map_err(backend)?,
        revision: row.try_get::<i64, _>("revision").map_err(backend)? as u64,
        created_at: ts(row.try_get("created_at").map_err(backend)?)?,
        updated_at: ts(row.try_get("updated_at").map_err(backend)?)?,
    })
}

fn audit_from(row: &SqliteRow) -> Result<AuditRow> {
    let opt = |c: &str| -> Result<Option<u64>> {
        Ok(row
            .try_get::<Option<i64>, _>(c)
            .map_err(backend)?
            .map(|v| v as u64))
    };
    Ok(AuditRow {
        id: uuid(row.try_get("id").map_err(backend)?)?,
        at: ts(row.try_get("at").map_err(backend)?)?,
        actor: row.try_get("actor").map_err(backend)?,
        action: row.try_get("action").map_err(backend)?,
        method: row.try_get("method").map_err(backend)?,
        path: row.try_get("path").map_err(backend)?,
        target: row.try_get("target").map_err(backend)?,
        status: row.try_get::<i64, _>("status").map_err(backend)? as u16,
        revision_before: opt("revision_before")?,
        revision_after: opt("revision_after")?,
    })
}

#[async_trait]
impl AccessStore for SqliteStore {
    async fn append_audit(&self, e: &AuditRow) -> Result<()> {
        sqlx::query("INSERT INTO audit (id, at, actor, action, method, path, target, status, revision_before, revision_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(e.id.to_string())
            .bind(ms(e.at))
            .bind(&e.actor)
            .bind(&e.action)
            .bind(&e.method)
            .bind(&e.path)
            .bind(&e.target)
            .bind(i64::from(e.status))
            .bind(e.revision_before.map(|r| r as i64))
            .bind(e.revision_after.map(|r| r as i64))
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn audit(&self, f: &AuditFilter, page: &PageRequest) -> Result<Page<AuditRow>> {
        let limit = page.limit.clamp(1, 1_000);
        let rows = sqlx::query(
            "SELECT * FROM audit
             WHERE (?1 IS NULL OR id > ?1) AND (?2 IS NULL OR actor = ?2) AND (?3 IS NULL OR action = ?3)
               AND (?4 IS NULL OR target = ?4) AND (?5 IS NULL OR at >= ?5) AND (?6 IS NULL OR at < ?6)
             ORDER BY id LIMIT ?7",
        )
        .bind(page.after.map(|a| a.to_string()))
        .bind(&f.actor)
        .bind(&f.action)
        .bind(&f.target)
        .bind(f.since.map(ms))
        .bind(f.until.map(ms))
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let items = rows.iter().map(audit_from).collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, limit, |a| a.id))
    }

    async fn insert_account(&self, a: &AccountRow) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        insert_account_in(&mut tx, a).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn account(&self, id: Uuid) -> Result<Option<AccountRow>> {
        let row = sqlx::query("SELECT * FROM accounts WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(account_from).transpose()
    }

    async fn account_by_email(&self, email: &str) -> Result<Option<AccountRow>> {
        let row = sqlx::query("SELECT * FROM accounts WHERE email = ?")
            .bind(email)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(account_from).transpose()
    }

    async fn accounts(&self, page: &PageRequest) -> Result<Page<AccountRow>> {
        let limit = page.limit.clamp(1, 1_000);
        let rows = sqlx::query(
            "SELECT * FROM accounts WHERE (?1 IS NULL OR id > ?1) ORDER BY id LIMIT ?2",
        )
        .bind(page.after.map(|a| a.to_string()))
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let items = rows.iter().map(account_from).collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, limit, |a| a.id))
    }

    async fn count_accounts(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(n as u64)
    }

    async fn update_account(&self, a: &AccountRow, expected_revision: u64) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let done = account_query(
            "UPDATE accounts SET email = ?1, name = ?2, password_hash = ?3, role = ?4, status = ?5, revision = ?6, updated_at = ?7 WHERE id = ?8 AND revision = ?10",
            a,
        )
        .bind(expected_revision as i64)
            .execute(&mut *tx)
            .await
            .map_err(email_taken)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        // an agent's name is their account's
        sqlx::query("UPDATE users SET name = ? WHERE id = ?")
            .bind(&a.name)
            .bind(a.id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    async fn delete_account(&self, id: Uuid) -> Result<()> {
        let done = sqlx::query("DELETE FROM accounts WHERE id = ?")
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        Ok(())
    }

    async fn roles(&self) -> Result<Vec<RoleRow>> {
        let rows = sqlx::query("SELECT * FROM roles ORDER BY reference")
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(role_from).collect()
    }

    async fn insert_role(&self, r: &RoleRow) -> Result<()> {
        sqlx::query("INSERT INTO roles (reference, name, permissions, revision, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(&r.reference)
            .bind(&r.name)
            .bind(serde_json::to_string(&r.permissions).map_err(backend)?)
            .bind(r.revision as i64)
            .bind(ms(r.created_at))
            .bind(ms(r.updated_at))
            .execute(&self.pool)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.message().contains("roles.reference") => {
                    StoreError::Unique("reference")
                }
                _ => map_err(e),
            })?;
        Ok(())
    }

    async fn update_role(&self, r: &RoleRow, expected_revision: u64) -> Result<()> {
        let done = sqlx::query("UPDATE roles SET name = ?, permissions = ?, revision = ?, updated_at = ? WHERE reference = ? AND revision = ?")
            .bind(&r.name)
            .bind(serde_json::to_string(&r.permissions).map_err(backend)?)
            .bind(r.revision as i64)
            .bind(ms(r.updated_at))
            .bind(&r.reference)
            .bind(expected_revision as i64)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        Ok(())
    }

    async fn delete_role(&self, reference: &str) -> Result<()> {
        // one statement: the check and the delete cannot be parted by another write
        let done = sqlx::query(
            "DELETE FROM roles WHERE reference = ?1 AND NOT EXISTS (SELECT 1 FROM accounts WHERE role = ?1) AND NOT EXISTS (SELECT 1 FROM api_tokens WHERE role = ?1 AND revoked_at IS NULL)",
        )
        .bind(reference)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM roles WHERE reference = ?")
            .bind(reference)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        Err(if exists == 0 {
            StoreError::Conflict
        } else {
            StoreError::Unique("role")
        })
    }

    async fn insert_session(
        &self,
        session: &SessionRow,
        idle_before: Timestamp,
        created_before: Timestamp,
        keep: u64,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        sqlx::query("INSERT INTO sessions (secret_hash, account_id, created_at, seen_at) VALUES (?, ?, ?, ?)")
            .bind(&session.secret_hash)
            .bind(session.account_id.to_string())
            .bind(ms(session.created_at))
            .bind(ms(session.seen_at))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        sqlx::query("DELETE FROM sessions WHERE seen_at < ? OR created_at < ?")
            .bind(ms(idle_before))
            .bind(ms(created_before))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        sqlx::query("DELETE FROM sessions WHERE secret_hash IN (SELECT secret_hash FROM sessions ORDER BY seen_at DESC LIMIT -1 OFFSET ?)")
            .bind(keep as i64)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    async fn session(&self, secret_hash: &str) -> Result<Option<SessionRow>> {
        let row = sqlx::query("SELECT s.secret_hash, s.account_id, s.created_at, s.seen_at, a.role, a.status FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.secret_hash = ?")
            .bind(secret_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.map(|r| {
            Ok(SessionRow {
                secret_hash: r.try_get("secret_hash").map_err(backend)?,
                account_id: uuid(r.try_get("account_id").map_err(backend)?)?,
                created_at: ts(r.try_get("created_at").map_err(backend)?)?,
                seen_at: ts(r.try_get("seen_at").map_err(backend)?)?,
                role: r.try_get("role").map_err(backend)?,
                status: r.try_get("status").map_err(backend)?,
            })
        })
        .transpose()
    }

    async fn touch_session(&self, secret_hash: &str, seen_at: Timestamp) -> Result<()> {
        sqlx::query("UPDATE sessions SET seen_at = ? WHERE secret_hash = ?")
            .bind(ms(seen_at))
            .bind(secret_hash)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn delete_session(&self, secret_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE secret_hash = ?")
            .bind(secret_hash)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn delete_sessions_of(&self, account: Uuid) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE account_id = ?")
            .bind(account.to_string())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn insert_token(&self, t: &TokenRow) -> Result<()> {
        sqlx::query("INSERT INTO api_tokens (id, name, token_hash, role, expires_at, revoked_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(t.id.to_string())
            .bind(&t.name)
            .bind(&t.token_hash)
            .bind(&t.role)
            .bind(t.expires_at.map(ms))
            .bind(t.revoked_at.map(ms))
            .bind(ms(t.created_at))
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRow>> {
        let row = sqlx::query("SELECT * FROM api_tokens WHERE token_hash = ?")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(token_from).transpose()
    }

    async fn tokens(&self, page: &PageRequest) -> Result<Page<TokenRow>> {
        let limit = page.limit.clamp(1, 1_000);
        let rows = sqlx::query(
            "SELECT * FROM api_tokens WHERE (?1 IS NULL OR id > ?1) ORDER BY id LIMIT ?2",
        )
        .bind(page.after.map(|a| a.to_string()))
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let items = rows.iter().map(token_from).collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, limit, |t| t.id))
    }

    async fn count_tokens(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(n as u64)
    }

    async fn revoke_token(&self, id: Uuid, at: Timestamp) -> Result<()> {
        let done =
            sqlx::query("UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?")
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
}
