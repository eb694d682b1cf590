//! Invoices in SQLite: `invoices`, each identifier indexed.

use flow::catalogue::params::{InvoiceKey, InvoicePick};
use flow::invoices::{InvoiceStatus, InvoiceValues};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use crate::invoices::{InvoiceFilter, InvoiceRow, InvoiceWrite};
use crate::sqlite::{backend, map_err, ms, page_of, ts, uuid};
use crate::{Page, PageRequest, Result, SqliteStore, StoreError};

fn invoice_from(row: &SqliteRow) -> Result<InvoiceRow> {
    let status: String = row.try_get("status").map_err(backend)?;
    let due: Option<String> = row.try_get("due_date").map_err(backend)?;
    Ok(InvoiceRow {
        id: uuid(row.try_get("id").map_err(backend)?)?,
        values: InvoiceValues {
            number: row.try_get("number").map_err(backend)?,
            name: row.try_get("name").map_err(backend)?,
            customer_number: row.try_get("customer_number").map_err(backend)?,
            mobile_phone: row.try_get("mobile_phone").map_err(backend)?,
            landline: row.try_get("landline").map_err(backend)?,
            email: row.try_get("email").map_err(backend)?,
            amount_minor: row.try_get("amount_minor").map_err(backend)?,
            currency: row.try_get("currency").map_err(backend)?,
            due_date: due.map(|d| d.parse().map_err(backend)).transpose()?,
            status: InvoiceStatus::parse(&status)
                .ok_or_else(|| backend(format!("invoice status {status}")))?,
        },
        revision: row.try_get::<i64, _>("revision").map_err(backend)? as u64,
        created_at: ts(row.try_get("created_at").map_err(backend)?)?,
        updated_at: ts(row.try_get("updated_at").map_err(backend)?)?,
    })
}

/// The column of each identifier.
fn column(key: InvoiceKey) -> &'static str {
    match key {
        InvoiceKey::InvoiceNumber => "number",
        InvoiceKey::MobilePhone => "mobile_phone",
        InvoiceKey::Landline => "landline",
        InvoiceKey::CustomerNumber => "customer_number",
        InvoiceKey::InvoiceId => "id",
        InvoiceKey::Email => "email",
    }
}

async fn insert(tx: &mut sqlx::SqliteConnection, i: &InvoiceRow) -> Result<()> {
    let v = &i.values;
    sqlx::query("INSERT INTO invoices (id, number, name, customer_number, mobile_phone, landline, email, amount_minor, currency, due_date, status, revision, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(i.id.to_string())
        .bind(&v.number)
        .bind(&v.name)
        .bind(&v.customer_number)
        .bind(&v.mobile_phone)
        .bind(&v.landline)
        .bind(&v.email)
        .bind(v.amount_minor)
        .bind(&v.currency)
        .bind(v.due_date.map(|d| d.to_string()))
        .bind(v.status.as_str())
        .bind(i.revision as i64)
        .bind(ms(i.created_at))
        .bind(ms(i.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
    Ok(())
}

impl SqliteStore {
    pub(crate) async fn invoice_write_all(&self, w: &InvoiceWrite) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        match w {
            // written first, counted after: the transaction takes the write lock with its first
            // statement (a read first could not become a write once another writer committed)
            InvoiceWrite::Insert { invoices, limit } => {
                for i in invoices {
                    insert(&mut tx, i).await?;
                }
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM invoices")
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_err)?;
                if n.max(0) as u64 > *limit {
                    return Err(StoreError::Full);
                }
            }
            InvoiceWrite::Update {
                invoice: i,
                expected_revision,
            } => {
                let v = &i.values;
                let done = sqlx::query("UPDATE invoices SET number = ?, name = ?, customer_number = ?, mobile_phone = ?, landline = ?, email = ?, amount_minor = ?, currency = ?, due_date = ?, status = ?, revision = ?, updated_at = ? WHERE id = ? AND revision = ?")
                    .bind(&v.number)
                    .bind(&v.name)
                    .bind(&v.customer_number)
                    .bind(&v.mobile_phone)
                    .bind(&v.landline)
                    .bind(&v.email)
                    .bind(v.amount_minor)
                    .bind(&v.currency)
                    .bind(v.due_date.map(|d| d.to_string()))
                    .bind(v.status.as_str())
                    .bind(i.revision as i64)
                    .bind(ms(i.updated_at))
                    .bind(i.id.to_string())
                    .bind(*expected_revision as i64)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::Conflict);
                }
            }
            InvoiceWrite::Delete { id } => {
                let done = sqlx::query("DELETE FROM invoices WHERE id = ?")
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::Conflict);
                }
            }
        }
        tx.commit().await.map_err(map_err)
    }

    pub(crate) async fn invoice_of_id(&self, id: Uuid) -> Result<Option<InvoiceRow>> {
        let row = sqlx::query("SELECT * FROM invoices WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(invoice_from).transpose()
    }

    /// The invoice whose identifier `key` is `value`, the oldest or most recent by due date
    /// (none last), then by creation; only open ones when `open_only`.
    pub(crate) async fn invoice_lookup(
        &self,
        key: InvoiceKey,
        value: &str,
        pick: InvoicePick,
        open_only: bool,
    ) -> Result<Option<InvoiceRow>> {
        let order = match pick {
            InvoicePick::Oldest => "ORDER BY due_date IS NULL, due_date, id",
            InvoicePick::MostRecent => "ORDER BY due_date IS NOT NULL, due_date DESC, id DESC",
        };
        // the column and order are this file's constants, the value a parameter
        let sql = format!(
            "SELECT * FROM invoices WHERE {} = ? AND (? = 0 OR status = 'open') {order} LIMIT 1",
            column(key)
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(value)
            .bind(i64::from(open_only))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(invoice_from).transpose()
    }

    /// Which of these numbers invoices hold.
    pub(crate) async fn invoice_numbers_in(&self, numbers: &[String]) -> Result<Vec<String>> {
        let list = serde_json::to_string(numbers).map_err(backend)?;
        sqlx::query_scalar(
            "SELECT number FROM invoices WHERE number IN (SELECT value FROM json_each(?))",
        )
        .bind(list)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)
    }

    /// Invoices, newest first.
    pub(crate) async fn invoices_page(
        &self,
        filter: &InvoiceFilter,
        page: &PageRequest,
    ) -> Result<Page<InvoiceRow>> {
        let status = filter.status.map(InvoiceStatus::as_str);
        let rows = sqlx::query(
            "SELECT * FROM invoices
             WHERE (? IS NULL OR status = ?) AND (? IS NULL OR customer_number = ?)
               AND (? IS NULL OR id < ?)
             ORDER BY id DESC LIMIT ?",
        )
        .bind(status)
        .bind(status)
        .bind(filter.customer_number.as_deref())
        .bind(filter.customer_number.as_deref())
        .bind(page.after.map(|u| u.to_string()))
        .bind(page.after.map(|u| u.to_string()))
        .bind(i64::from(page.limit) + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let items = rows.iter().map(invoice_from).collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, page.limit, |c| c.id))
    }
}
