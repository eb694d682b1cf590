//! Business objects in SQLite.

use flow::catalogue::ObjectKind;
use flow::objects::{BusinessObject, kind_key};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use crate::sqlite::{backend, map_err, ms, ts, uuid};
use crate::{ObjectWrite, Page, PageRequest, Result, SqliteStore, StoreError};

fn kind_of(key: &str) -> Result<ObjectKind> {
    flow::objects::STORED
        .iter()
        .copied()
        .find(|k| kind_key(*k) == key)
        .ok_or_else(|| backend(format!("bad object kind {key}")))
}

fn object_from(row: &SqliteRow) -> Result<BusinessObject> {
    let data: String = row.try_get("data").map_err(backend)?;
    let kind: String = row.try_get("kind").map_err(backend)?;
    Ok(BusinessObject {
        id: uuid(row.try_get("id").map_err(backend)?)?,
        kind: kind_of(&kind)?,
        reference: row.try_get("reference").map_err(backend)?,
        name: row.try_get("name").map_err(backend)?,
        description: row.try_get("description").map_err(backend)?,
        data: serde_json::from_str(&data).map_err(backend)?,
        secret: row.try_get("secret").map_err(backend)?,
        webhook_secret: row.try_get("webhook_secret").map_err(backend)?,
        revision: row.try_get::<i64, _>("revision").map_err(backend)? as u64,
        created_at: ts(row.try_get("created_at").map_err(backend)?)?,
        updated_at: ts(row.try_get("updated_at").map_err(backend)?)?,
    })
}

impl SqliteStore {
    pub(crate) async fn objects_page(
        &self,
        kind: ObjectKind,
        page: &PageRequest,
    ) -> Result<Page<BusinessObject>> {
        let limit = page.limit.clamp(1, 1_000);
        let rows = sqlx::query("SELECT * FROM business_objects WHERE kind = ?1 AND (?2 IS NULL OR id > ?2) ORDER BY id LIMIT ?3")
            .bind(kind_key(kind))
            .bind(page.after.map(|a| a.to_string()))
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        let mut items = rows.iter().map(object_from).collect::<Result<Vec<_>>>()?;
        let next_after = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|o| o.id)
        } else {
            None
        };
        Ok(Page { items, next_after })
    }

    pub(crate) async fn all_objects_rows(&self) -> Result<Vec<BusinessObject>> {
        let rows = sqlx::query("SELECT * FROM business_objects")
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(object_from).collect()
    }

    pub(crate) async fn count_objects_of(&self, kind: ObjectKind) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM business_objects WHERE kind = ?")
            .bind(kind_key(kind))
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(n as u64)
    }

    pub(crate) async fn object_row(
        &self,
        kind: ObjectKind,
        id: Uuid,
    ) -> Result<Option<BusinessObject>> {
        let row = sqlx::query("SELECT * FROM business_objects WHERE kind = ? AND id = ?")
            .bind(kind_key(kind))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(object_from).transpose()
    }

    pub(crate) async fn object_by_reference_row(
        &self,
        kind: ObjectKind,
        reference: &str,
    ) -> Result<Option<BusinessObject>> {
        let row = sqlx::query("SELECT * FROM business_objects WHERE kind = ? AND reference = ?")
            .bind(kind_key(kind))
            .bind(reference)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(object_from).transpose()
    }

    pub(crate) async fn write_object_row(&self, write: ObjectWrite) -> Result<()> {
        let done = match &write {
            ObjectWrite::Insert(o) => sqlx::query(
                "INSERT INTO business_objects (id, kind, reference, name, description, data, secret, webhook_secret, revision, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(o.id.to_string())
            .bind(kind_key(o.kind))
            .bind(&o.reference)
            .bind(&o.name)
            .bind(&o.description)
            .bind(serde_json::to_string(&o.data).map_err(backend)?)
            .bind(&o.secret)
            .bind(&o.webhook_secret)
            .bind(o.revision as i64)
            .bind(ms(o.created_at))
            .bind(ms(o.updated_at))
            .execute(&self.pool)
            .await
            .map_err(map_err)?,
            ObjectWrite::Update { object: o, expected_revision } => sqlx::query(
                "UPDATE business_objects SET reference = ?, name = ?, description = ?, data = ?, secret = ?, webhook_secret = ?, revision = ?, updated_at = ? WHERE kind = ? AND id = ? AND revision = ?",
            )
            .bind(&o.reference)
            .bind(&o.name)
            .bind(&o.description)
            .bind(serde_json::to_string(&o.data).map_err(backend)?)
            .bind(&o.secret)
            .bind(&o.webhook_secret)
            .bind(o.revision as i64)
            .bind(ms(o.updated_at))
            .bind(kind_key(o.kind))
            .bind(o.id.to_string())
            .bind(*expected_revision as i64)
            .execute(&self.pool)
            .await
            .map_err(map_err)?,
            ObjectWrite::Delete { kind, id } => {
                // a database's rows go with it; a case type stays while cases are of it
                let mut tx = self.pool.begin().await.map_err(map_err)?;
                if *kind == ObjectKind::CaseType {
                    let cases: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM (SELECT 1 FROM cases WHERE case_type_id = ? LIMIT 1)",
                    )
                    .bind(id.to_string())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_err)?;
                    if cases > 0 {
                        return Err(StoreError::InUse(
                            "cases are of this case type: delete them first".into(),
                        ));
                    }
                }
                let done = sqlx::query("DELETE FROM business_objects WHERE kind = ? AND id = ?")
                    .bind(kind_key(*kind))
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                if *kind == ObjectKind::Database {
                    crate::sqlite_databases::drop_rows(&mut tx, *id).await?;
                }
                tx.commit().await.map_err(map_err)?;
                done
            }
        };
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict);
        }
        Ok(())
    }
}

fn file_info_from(row: &SqliteRow) -> Result<crate::FileInfo> {
    Ok(crate::FileInfo {
        id: uuid(row.try_get("id").map_err(backend)?)?,
        name: row.try_get("name").map_err(backend)?,
        content_type: row.try_get("content_type").map_err(backend)?,
        size: row.try_get::<i64, _>("size").map_err(backend)? as u64,
        created_at: ts(row.try_get("created_at").map_err(backend)?)?,
    })
}

impl SqliteStore {
    pub(crate) async fn put_file_row(&self, f: &crate::StoredFile) -> Result<()> {
        sqlx::query("INSERT INTO files (id, name, content_type, size, data, created_at) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(f.info.id.to_string())
            .bind(&f.info.name)
            .bind(&f.info.content_type)
            .bind(f.info.size as i64)
            .bind(&f.data)
            .bind(ms(f.info.created_at))
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn file_row(&self, id: Uuid) -> Result<Option<crate::StoredFile>> {
        let row = sqlx::query("SELECT * FROM files WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.map(|r| {
            Ok(crate::StoredFile {
                info: file_info_from(&r)?,
                data: r.try_get("data").map_err(backend)?,
            })
        })
        .transpose()
    }

    pub(crate) async fn files_page(&self, page: &PageRequest) -> Result<Page<crate::FileInfo>> {
        let limit = page.limit.clamp(1, 1_000);
        let rows = sqlx::query("SELECT id, name, content_type, size, created_at FROM files WHERE (?1 IS NULL OR id > ?1) ORDER BY id LIMIT ?2")
        .bind(page.after.map(|a| a.to_string()))
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let mut items = rows
            .iter()
            .map(file_info_from)
            .collect::<Result<Vec<_>>>()?;
        let next_after = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|f| f.id)
        } else {
            None
        };
        Ok(Page { items, next_after })
    }

    pub(crate) async fn file_info_rows(&self, ids: &[Uuid]) -> Result<Vec<crate::FileInfo>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let row = sqlx::query(
                "SELECT id, name, content_type, size, created_at FROM files WHERE id = ?",
            )
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
            if let Some(r) = row {
                out.push(file_info_from(&r)?);
            }
        }
        Ok(out)
    }

    pub(crate) async fn count_file_rows(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM files")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(n as u64)
    }

    pub(crate) async fn delete_file_row(&self, id: Uuid) -> Result<()> {
        let done = sqlx::query("DELETE FROM files WHERE id = ?")
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
