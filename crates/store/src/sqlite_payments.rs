//! Payments in SQLite: `payments` and `payment_events`.

use flow::payments::PaymentStatus;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use crate::payments::{PaymentEventWrite, PaymentFilter, PaymentRow};
use crate::sqlite::{backend, map_err, ms, opt_uuid, page_of, ts, uuid};
use crate::{Page, PageRequest, Result, SqliteStore};

fn payment_from(row: &SqliteRow) -> Result<PaymentRow> {
    let status: String = row.try_get("status").map_err(backend)?;
    Ok(PaymentRow {
        id: uuid(row.try_get("id").map_err(backend)?)?,
        key: row.try_get("key").map_err(backend)?,
        module_id: uuid(row.try_get("module_id").map_err(backend)?)?,
        interaction_id: opt_uuid(row, "interaction_id")?,
        invoice_id: opt_uuid(row, "invoice_id")?,
        amount_minor: row.try_get("amount_minor").map_err(backend)?,
        currency: row.try_get("currency").map_err(backend)?,
        reference: row.try_get("reference").map_err(backend)?,
        mode: row.try_get("mode").map_err(backend)?,
        session: row.try_get("session").map_err(backend)?,
        url: row.try_get("url").map_err(backend)?,
        status: PaymentStatus::parse(&status)
            .ok_or_else(|| backend(format!("payment status {status}")))?,
        reason: row.try_get("reason").map_err(backend)?,
        created_at: ts(row.try_get("created_at").map_err(backend)?)?,
        updated_at: ts(row.try_get("updated_at").map_err(backend)?)?,
    })
}

impl SqliteStore {
    /// The payment of `p.key`: `p` written if there is none yet, else the one there is.
    pub(crate) async fn payment_insert_once(&self, p: &PaymentRow) -> Result<PaymentRow> {
        sqlx::query("INSERT INTO payments (id, key, module_id, interaction_id, invoice_id, amount_minor, currency, reference, mode, session, url, status, reason, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING")
            .bind(p.id.to_string())
            .bind(&p.key)
            .bind(p.module_id.to_string())
            .bind(p.interaction_id.map(|u| u.to_string()))
            .bind(p.invoice_id.map(|u| u.to_string()))
            .bind(p.amount_minor)
            .bind(&p.currency)
            .bind(&p.reference)
            .bind(&p.mode)
            .bind(&p.session)
            .bind(&p.url)
            .bind(p.status.as_str())
            .bind(&p.reason)
            .bind(ms(p.created_at))
            .bind(ms(p.updated_at))
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        let row = sqlx::query("SELECT * FROM payments WHERE key = ?")
            .bind(&p.key)
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        payment_from(&row)
    }

    /// A payment's link, status and reason recorded.
    pub(crate) async fn payment_update(&self, p: &PaymentRow) -> Result<()> {
        sqlx::query("UPDATE payments SET session = ?, url = ?, status = ?, reason = ?, updated_at = ? WHERE id = ?")
            .bind(&p.session)
            .bind(&p.url)
            .bind(p.status.as_str())
            .bind(&p.reason)
            .bind(ms(p.updated_at))
            .bind(p.id.to_string())
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    pub(crate) async fn payment_of_id(&self, id: Uuid) -> Result<Option<PaymentRow>> {
        let row = sqlx::query("SELECT * FROM payments WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(payment_from).transpose()
    }

    /// Takes a provider's event once: `false` (nothing written) when it was taken already.
    pub(crate) async fn payment_event_take(&self, e: &PaymentEventWrite) -> Result<bool> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let taken = sqlx::query(
            "INSERT INTO payment_events (event_id, module_id, payment_id, received_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(&e.event_id)
        .bind(e.module_id.to_string())
        .bind(e.payment_id.to_string())
        .bind(ms(e.at))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if taken.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE payments SET status = ?, reason = ?, updated_at = ? WHERE id = ? AND status != 'succeeded'",
        )
        .bind(e.status.as_str())
        .bind(&e.reason)
        .bind(ms(e.at))
        .bind(e.payment_id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if let Some(invoice) = e.paid_invoice {
            sqlx::query(
                "UPDATE invoices SET status = 'paid', revision = revision + 1, updated_at = ? WHERE id = ? AND status != 'paid'",
            )
            .bind(ms(e.at))
            .bind(invoice.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }

    /// Payments, newest first.
    pub(crate) async fn payments_page(
        &self,
        filter: &PaymentFilter,
        page: &PageRequest,
    ) -> Result<Page<PaymentRow>> {
        let status = filter.status.map(PaymentStatus::as_str);
        let invoice = filter.invoice_id.map(|u| u.to_string());
        let rows = sqlx::query(
            "SELECT * FROM payments
             WHERE (? IS NULL OR status = ?) AND (? IS NULL OR invoice_id = ?)
               AND (? IS NULL OR id < ?)
             ORDER BY id DESC LIMIT ?",
        )
        .bind(status)
        .bind(status)
        .bind(invoice.as_deref())
        .bind(invoice.as_deref())
        .bind(page.after.map(|u| u.to_string()))
        .bind(page.after.map(|u| u.to_string()))
        .bind(i64::from(page.limit) + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let items = rows.iter().map(payment_from).collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, page.limit, |p| p.id))
    }
}
